/* The ground truth of the synthetic world: its parameters and the true click
 * and conversion probabilities of any (user, item) pair.
 *
 *   pCTR(u, i, pos, scen) = sigmoid(base_click + taste_scale * <taste_u, taste_i>
 *                                   + appeal_i + clickiness_u
 *                                   + position_effect[pos] + scenario_effect[scen]
 *                                   - intent_click * intent_u
 *                                   - intent_bait * intent_u * bait_i)
 *   pCVR(u, i)            = sigmoid(base_conv + quality_scale * <taste_u, qvec_i>
 *                                   + quality_i - bait_penalty * bait_i
 *                                   + intent_conv * intent_u)
 *
 * intent_u is the user's purchase intent (a world made with an intent
 * spread, synth.h); a world without it (spread 0, and every file written
 * before intent existed) has no /truth/user_intent, and the intent terms are
 * absent, not added as zeros.
 *
 * pCVR is the probability of a conversion given a click. The generator
 * (synth.c) uses these same functions on the same float parameters it stores
 * in /truth, so probabilities recomputed from a file equal the per-sample
 * /truth/p_click and /truth/p_conv up to float32 rounding. The retrieval
 * metrics use the default context (position and scenario 1: the top slot of
 * the main feed, also the most frequent context in the data). */
#ifndef DMMP_DATA_SYNTH_TRUTH_H
#define DMMP_DATA_SYNTH_TRUTH_H

#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"

#define SYNTH_DIM 8
#define SYNTH_POSITIONS 10 /* position ids 1..10 */
#define SYNTH_SCENARIOS 3  /* scenario ids 1..3 */

typedef struct synth_world {
    int64_t n_users, n_items;
    float *user_taste;      /* n_users x SYNTH_DIM */
    float *user_clickiness; /* n_users */
    float *item_taste;      /* n_items x SYNTH_DIM */
    float *item_qvec;       /* n_items x SYNTH_DIM */
    float *item_appeal;     /* n_items (baits have a high appeal) */
    float *item_quality;    /* n_items */
    uint8_t *item_bait;     /* n_items: 1 for click baits */
    float *user_intent;     /* n_users purchase intents; all 0 when !has_intent */
    float position_effect[SYNTH_POSITIONS + 1]; /* index 0 (unknown) = 0 */
    float scenario_effect[SYNTH_SCENARIOS + 1];
    float base_click, base_conv, taste_scale, quality_scale, bait_penalty;
    int has_intent;         /* 1: the intent terms are part of the probabilities */
    float intent_spread, intent_click, intent_bait, intent_conv;
    int32_t default_position, default_scenario;
} synth_world;

/* Allocates the per-user and per-item arrays of w (zeroed) for the sizes set in w. */
dmmp_status synth_world_alloc(synth_world *w, int64_t n_users, int64_t n_items);

/* Frees the arrays (the struct is the caller's). */
void synth_world_free(synth_world *w);

/* True click probability of item for user in context (position, scenario). */
double synth_world_p_click(const synth_world *w, int64_t user, int64_t item, int32_t position, int32_t scenario);

/* True conversion probability given a click. */
double synth_world_p_conv(const synth_world *w, int64_t user, int64_t item);

/* True pCTR and pCVR of every item for user in the default context
 * (arrays of n_items; either may be NULL). */
void synth_world_user_scores(const synth_world *w, int64_t user, float *p_click, float *p_conv);

/* The purchase value share of user u in personal_utility@K:
 * sigmoid(intent_u), 0.5 for everyone in a world without intent. */
double synth_world_purchase_share(const synth_world *w, int64_t user);

/* Writes the parameters under the open group loc (hid_t), the /truth group;
 * user_intent and the intent attributes only when has_intent. */
dmmp_status synth_world_save(const synth_world *w, int64_t loc);

/* Loads the world from a dataset's /truth; names what is missing. A /truth
 * without user_intent loads with has_intent = 0. */
dmmp_status synth_world_load(synth_world *w, const dataset *d);

#endif
