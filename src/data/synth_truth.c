#include "data/synth_truth.h"

#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/h5_column.h"

dmmp_status synth_world_alloc(synth_world *w, int64_t n_users, int64_t n_items)
{
    w->n_users = n_users;
    w->n_items = n_items;
    size_t nu = (size_t)(n_users > 0 ? n_users : 1), ni = (size_t)(n_items > 0 ? n_items : 1);
    w->user_taste = calloc(nu * SYNTH_DIM, sizeof(float));
    w->user_clickiness = calloc(nu, sizeof(float));
    w->item_taste = calloc(ni * SYNTH_DIM, sizeof(float));
    w->item_qvec = calloc(ni * SYNTH_DIM, sizeof(float));
    w->item_appeal = calloc(ni, sizeof(float));
    w->item_quality = calloc(ni, sizeof(float));
    w->item_bait = calloc(ni, 1);
    w->user_intent = calloc(nu, sizeof(float));
    if (!w->user_intent || !w->user_taste || !w->user_clickiness || !w->item_taste || !w->item_qvec || !w->item_appeal ||
        !w->item_quality || !w->item_bait) {
        synth_world_free(w);
        return dmmp_fail(DMMP_ENOMEM, "synthetic world of %lld users and %lld items: out of memory",
                         (long long)n_users, (long long)n_items);
    }
    return DMMP_OK;
}

void synth_world_free(synth_world *w)
{
    free(w->user_taste);
    free(w->user_clickiness);
    free(w->item_taste);
    free(w->item_qvec);
    free(w->item_appeal);
    free(w->item_quality);
    free(w->item_bait);
    free(w->user_intent);
    w->user_intent = NULL;
    w->user_taste = w->user_clickiness = w->item_taste = w->item_qvec = w->item_appeal = w->item_quality = NULL;
    w->item_bait = NULL;
}

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static double dot(const float *a, const float *b)
{
    double s = 0;
    for (int k = 0; k < SYNTH_DIM; k++) s += (double)a[k] * (double)b[k];
    return s;
}

double synth_world_p_click(const synth_world *w, int64_t user, int64_t item, int32_t position, int32_t scenario)
{
    double pos = position >= 0 && position <= SYNTH_POSITIONS ? w->position_effect[position] : 0.0;
    double scen = scenario >= 0 && scenario <= SYNTH_SCENARIOS ? w->scenario_effect[scenario] : 0.0;
    double z = (double)w->base_click +
               (double)w->taste_scale * dot(w->user_taste + user * SYNTH_DIM, w->item_taste + item * SYNTH_DIM) +
               (double)w->item_appeal[item] + (double)w->user_clickiness[user] + pos + scen;
    if (w->has_intent) {
        double intent = (double)w->user_intent[user];
        z -= (double)w->intent_click * intent + (double)w->intent_bait * intent * (double)w->item_bait[item];
    }
    return sigmoid(z);
}

double synth_world_p_conv(const synth_world *w, int64_t user, int64_t item)
{
    double z = (double)w->base_conv +
               (double)w->quality_scale * dot(w->user_taste + user * SYNTH_DIM, w->item_qvec + item * SYNTH_DIM) +
               (double)w->item_quality[item] - (double)w->bait_penalty * (double)w->item_bait[item];
    if (w->has_intent) z += (double)w->intent_conv * (double)w->user_intent[user];
    return sigmoid(z);
}

void synth_world_user_scores(const synth_world *w, int64_t user, float *p_click, float *p_conv)
{
    for (int64_t i = 0; i < w->n_items; i++) {
        if (p_click) p_click[i] = (float)synth_world_p_click(w, user, i, w->default_position, w->default_scenario);
        if (p_conv) p_conv[i] = (float)synth_world_p_conv(w, user, i);
    }
}

double synth_world_purchase_share(const synth_world *w, int64_t user)
{
    return w->has_intent ? sigmoid((double)w->user_intent[user]) : 0.5;
}

dmmp_status synth_world_save(const synth_world *w, int64_t loc_id)
{
    hid_t loc = (hid_t)loc_id;
    DMMP_TRY(h5_write_array(loc, "user_taste", H5T_NATIVE_FLOAT, w->n_users, SYNTH_DIM, w->user_taste));
    DMMP_TRY(h5_write_array(loc, "user_clickiness", H5T_NATIVE_FLOAT, w->n_users, 0, w->user_clickiness));
    DMMP_TRY(h5_write_array(loc, "item_taste", H5T_NATIVE_FLOAT, w->n_items, SYNTH_DIM, w->item_taste));
    DMMP_TRY(h5_write_array(loc, "item_qvec", H5T_NATIVE_FLOAT, w->n_items, SYNTH_DIM, w->item_qvec));
    DMMP_TRY(h5_write_array(loc, "item_appeal", H5T_NATIVE_FLOAT, w->n_items, 0, w->item_appeal));
    DMMP_TRY(h5_write_array(loc, "item_quality", H5T_NATIVE_FLOAT, w->n_items, 0, w->item_quality));
    DMMP_TRY(h5_write_array(loc, "item_bait", H5T_NATIVE_UINT8, w->n_items, 0, w->item_bait));
    DMMP_TRY(h5_write_array(loc, "position_effect", H5T_NATIVE_FLOAT, SYNTH_POSITIONS + 1, 0, w->position_effect));
    DMMP_TRY(h5_write_array(loc, "scenario_effect", H5T_NATIVE_FLOAT, SYNTH_SCENARIOS + 1, 0, w->scenario_effect));
    DMMP_TRY(h5_attr_f64(loc, "base_click", w->base_click));
    DMMP_TRY(h5_attr_f64(loc, "base_conv", w->base_conv));
    DMMP_TRY(h5_attr_f64(loc, "taste_scale", w->taste_scale));
    DMMP_TRY(h5_attr_f64(loc, "quality_scale", w->quality_scale));
    DMMP_TRY(h5_attr_f64(loc, "bait_penalty", w->bait_penalty));
    DMMP_TRY(h5_attr_i64(loc, "default_position", w->default_position));
    DMMP_TRY(h5_attr_i64(loc, "default_scenario", w->default_scenario));
    if (!w->has_intent) {
        /* The world without intent, exactly as it was always written. */
        DMMP_TRY(h5_attr_str(loc, "p_click", "sigmoid(base_click + taste_scale*<user_taste,item_taste> + item_appeal + "
                                             "user_clickiness + position_effect[pos] + scenario_effect[scen])"));
        DMMP_TRY(h5_attr_str(loc, "p_conv", "P(conversion | click) = sigmoid(base_conv + quality_scale*"
                                            "<user_taste,item_qvec> + item_quality - bait_penalty*item_bait)"));
        return DMMP_OK;
    }
    DMMP_TRY(h5_write_array(loc, "user_intent", H5T_NATIVE_FLOAT, w->n_users, 0, w->user_intent));
    DMMP_TRY(h5_attr_f64(loc, "intent_spread", w->intent_spread));
    DMMP_TRY(h5_attr_f64(loc, "intent_click", w->intent_click));
    DMMP_TRY(h5_attr_f64(loc, "intent_bait", w->intent_bait));
    DMMP_TRY(h5_attr_f64(loc, "intent_conv", w->intent_conv));
    DMMP_TRY(h5_attr_str(loc, "p_click", "sigmoid(base_click + taste_scale*<user_taste,item_taste> + item_appeal + "
                                         "user_clickiness + position_effect[pos] + scenario_effect[scen] - "
                                         "intent_click*user_intent - intent_bait*user_intent*item_bait)"));
    DMMP_TRY(h5_attr_str(loc, "p_conv", "P(conversion | click) = sigmoid(base_conv + quality_scale*"
                                        "<user_taste,item_qvec> + item_quality - bait_penalty*item_bait + "
                                        "intent_conv*user_intent)"));
    return DMMP_OK;
}

static dmmp_status load_attr(const dataset *d, hid_t g, const char *name, double *v)
{
    if (H5Aexists(g, name) <= 0)
        return dmmp_fail(DMMP_EFORMAT, "%s: attribute /truth:%s is missing", dataset_path(d), name);
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    herr_t r = H5Aread(a, H5T_NATIVE_DOUBLE, v);
    H5Aclose(a);
    if (r < 0) return dmmp_fail(DMMP_EFORMAT, "%s: attribute /truth:%s is not a number", dataset_path(d), name);
    return DMMP_OK;
}

static dmmp_status load_all(synth_world *w, const dataset *d)
{
    int64_t nu = w->n_users, ni = w->n_items;
    DMMP_TRY(dataset_read_all(d, "/truth/user_taste", 1, nu * SYNTH_DIM, w->user_taste));
    DMMP_TRY(dataset_read_all(d, "/truth/user_clickiness", 1, nu, w->user_clickiness));
    DMMP_TRY(dataset_read_all(d, "/truth/item_taste", 1, ni * SYNTH_DIM, w->item_taste));
    DMMP_TRY(dataset_read_all(d, "/truth/item_qvec", 1, ni * SYNTH_DIM, w->item_qvec));
    DMMP_TRY(dataset_read_all(d, "/truth/item_appeal", 1, ni, w->item_appeal));
    DMMP_TRY(dataset_read_all(d, "/truth/item_quality", 1, ni, w->item_quality));
    DMMP_TRY(dataset_read_all(d, "/truth/item_bait", 2, ni, w->item_bait));
    DMMP_TRY(dataset_read_all(d, "/truth/position_effect", 1, SYNTH_POSITIONS + 1, w->position_effect));
    DMMP_TRY(dataset_read_all(d, "/truth/scenario_effect", 1, SYNTH_SCENARIOS + 1, w->scenario_effect));
    hid_t g = H5Gopen2((hid_t)dataset_file(d), "/truth", H5P_DEFAULT);
    double v[7];
    static const char *names[] = {"base_click", "base_conv", "taste_scale", "quality_scale", "bait_penalty",
                                  "default_position", "default_scenario"};
    dmmp_status s = DMMP_OK;
    for (int k = 0; k < 7 && s == DMMP_OK; k++) s = load_attr(d, g, names[k], &v[k]);
    H5Gclose(g);
    DMMP_TRY(s);
    w->base_click = (float)v[0];
    w->base_conv = (float)v[1];
    w->taste_scale = (float)v[2];
    w->quality_scale = (float)v[3];
    w->bait_penalty = (float)v[4];
    w->default_position = (int32_t)v[5];
    w->default_scenario = (int32_t)v[6];
    if (H5Lexists((hid_t)dataset_file(d), "/truth/user_intent", H5P_DEFAULT) <= 0) return DMMP_OK;
    DMMP_TRY(dataset_read_all(d, "/truth/user_intent", 1, nu, w->user_intent));
    g = H5Gopen2((hid_t)dataset_file(d), "/truth", H5P_DEFAULT);
    static const char *intent_names[] = {"intent_spread", "intent_click", "intent_bait", "intent_conv"};
    for (int k = 0; k < 4 && s == DMMP_OK; k++) s = load_attr(d, g, intent_names[k], &v[k]);
    H5Gclose(g);
    DMMP_TRY(s);
    w->has_intent = 1;
    w->intent_spread = (float)v[0];
    w->intent_click = (float)v[1];
    w->intent_bait = (float)v[2];
    w->intent_conv = (float)v[3];
    return DMMP_OK;
}

dmmp_status synth_world_load(synth_world *w, const dataset *d)
{
    memset(w, 0, sizeof *w);
    if (!dataset_has_truth(d))
        return dmmp_fail(DMMP_EFORMAT, "%s: no /truth group (only synthetic datasets carry the ground truth)",
                         dataset_path(d));
    DMMP_TRY(synth_world_alloc(w, dataset_n_users(d), dataset_n_items(d)));
    dmmp_status s = load_all(w, d);
    if (s != DMMP_OK) synth_world_free(w);
    return s;
}
