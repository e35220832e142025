/* layer_model_negatives: whole-model gradient checks of the sampled terms.
 * Every variant with towers, with sampled pairs (random / popularity: the
 * model does not tell them apart) and with the in-batch softmax (logQ on
 * and off, cosine scores, a softmax temperature), and dmmp with
 * kd.on_sampled: the analytic gradient of the total weighted loss against
 * central finite differences for parameters sampled from every group, the
 * biases, every loss-weighting s_i, the impressions' teacher inputs, the
 * user inputs and every item row (the sampled items' included). The
 * teacher's outputs on the pairs and the gate weights the sampled terms
 * read are held constant, as the training step treats them
 * (kd_targets_frozen, neg.gate_frozen); that the gate gets no gradient
 * from the sampled terms is checked by comparing its gradient with the one
 * of the same step without negatives. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "suites.h"
#include "train/recipe.h"
#include "testutil.h"

enum { B = 6, R = 3, NI = B * (1 + R), DT = 10, DU = 7, DI = 5 };

typedef struct neg_inputs {
    float x_t[NI * DT], x_u[B * DU], x_i[NI * DI];
    uint8_t click[B], conv[B];
    float neg_log_q[B];
    int32_t item[B];
    model_negs negs;
} neg_inputs;

static void make_inputs(neg_inputs *in, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed);
    tu_fill(&r, in->x_t, NI * DT, -1, 1);
    tu_fill(&r, in->x_u, B * DU, -1, 1);
    tu_fill(&r, in->x_i, NI * DI, -1, 1);
    static const int32_t items[B] = {3, 8, 3, 1, 5, 9}; /* rows 0 and 2 show the same item */
    for (int b = 0; b < B; b++) {
        in->click[b] = (uint8_t)(b % 2 == 0 || b == 3);
        in->conv[b] = (uint8_t)(in->click[b] && b % 4 == 0);
        in->item[b] = items[b];
        in->neg_log_q[b] = (float)-log((1.0 + b) / 40.0);
    }
    in->negs.neg_log_q = in->neg_log_q;
    in->negs.item = in->item;
}

static double total_loss(model *m, neg_inputs *in)
{
    CU_ASSERT_EQUAL_FATAL(model_forward_negs(m, in->x_t, in->x_u, in->x_i, B, &in->negs), DMMP_OK);
    dmmp_status s = model_backward_negs(m, in->x_t, in->x_u, in->x_i, in->click, in->conv, B, 1000, &in->negs);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    return m->total_loss;
}

static int kinks;

static double central_difference(model *m, neg_inputs *in, float *x, float eps)
{
    float keep = *x;
    *x = keep + eps;
    double lp = total_loss(m, in);
    *x = keep - eps;
    double lm = total_loss(m, in);
    *x = keep;
    return (lp - lm) / (2.0 * (double)eps);
}

/* As tests/test_model.c: eps 1e-3, 2e-3 absolute + 3% relative, points on
 * a ReLU kink (eps and eps/2 disagree) skipped and counted. */
static int check_one(model *m, neg_inputs *in, float *x, double analytic, const char *what, size_t idx)
{
    double fd = central_difference(m, in, x, 1e-3f);
    double tol = 2e-3 + 3e-2 * fabs(fd);
    if (fabs(fd - analytic) <= tol) return 1;
    double fd_half = central_difference(m, in, x, 5e-4f);
    if (fabs(fd - fd_half) > tol) {
        kinks++;
        return 1;
    }
    printf("\n    %s[%zu]: analytic %.6g, finite difference %.6g\n", what, idx, analytic, fd);
    return 0;
}

typedef struct neg_variant {
    config_model_kind kind;
    config_negatives negatives;
    int l2, logq, kd_on_sampled;
    config_kd_loss kd_loss;
    config_weighting_kind weighting;
    double softmax_temperature;
} neg_variant;

static void tiny_config(dmmp_config *c, const neg_variant *v)
{
    config_defaults(c);
    c->model.kind = v->kind;
    c->teacher.expert_dims.n = 2;
    c->teacher.expert_dims.v[0] = 8;
    c->teacher.expert_dims.v[1] = 5;
    c->teacher.tower_dims.n = 1;
    c->teacher.tower_dims.v[0] = 4;
    c->student.user_tower.n = 2;
    c->student.user_tower.v[0] = 8;
    c->student.user_tower.v[1] = 4;
    c->student.item_tower = c->student.user_tower;
    c->student.gate_dims.n = 1;
    c->student.gate_dims.v[0] = 4;
    if (v->kind != CONFIG_MODEL_DMMP) {
        c->kd.enabled = 0;
        c->student.gate = 0;
    }
    c->student.negatives = v->negatives;
    c->student.neg_ratio = R;
    c->student.l2norm = v->l2;
    c->student.logq_correction = v->logq;
    c->student.softmax_temperature = v->softmax_temperature;
    c->student.temperature = 0.8;
    c->kd.on_sampled = v->kd_on_sampled;
    c->kd.loss = v->kd_loss;
    if (v->kind == CONFIG_MODEL_DMMP && v->kd_loss == CONFIG_KD_LOSS_BCE) c->kd.temperature = 2.0;
    c->weighting.kind = v->weighting;
    c->weighting.w_sampled_ctr = 0.7;
}

/* The gate's parameters: [first, end) of the buffer. */
static void gate_range(const model *m, size_t *first, size_t *end)
{
    *first = *end = 0;
    if (!m->learned_gate) return;
    const dense_layer *l0 = &m->gate.layers[0], *ll = &m->gate.layers[m->gate.n_layers - 1];
    *first = (size_t)(l0->W - m->params.values);
    *end = (size_t)(ll->b - m->params.values) + (size_t)ll->out;
}

static void check_variant(const neg_variant *v)
{
    dmmp_config c;
    tiny_config(&c, v);
    TU_ASSERT_MSG(config_validate(&c) == DMMP_OK, "%s", dmmp_errmsg());
    int has_teacher = v->kind == CONFIG_MODEL_DMMP;
    model_dims dims = {has_teacher ? DT : 0, DU, DI};
    model_spec spec;
    recipe_model_spec(&c, &spec);
    model m;
    dmmp_status s = model_init(&m, &spec, dims, B, 7);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    int pairs = v->negatives != CONFIG_NEGATIVES_IN_BATCH;
    CU_ASSERT(m.term_active[TERM_SAMPLED_CTR]);
    CU_ASSERT_EQUAL(m.term_active[TERM_SAMPLED_FUSED], v->kind != CONFIG_MODEL_TWO_TOWER);
    CU_ASSERT_EQUAL(m.term_active[TERM_KD_SAMPLED_CTCVR], v->kd_on_sampled);
    float *logvar = m.weighting.log_var;
    if (logvar)
        for (int t = 0; t < TERM_COUNT; t++) logvar[t] = 0.1f * (float)(t - 3) - 0.05f * (float)(t > 8);
    m.bias[0] = 0.2f;
    m.bias[1] = -0.3f;
    m.bias[2] = 0.1f;
    neg_inputs in;
    make_inputs(&in, 11);
    total_loss(&m, &in);
    for (int t = TERM_SAMPLED_CTR; t < TERM_COUNT; t++)
        if (m.term_active[t]) TU_ASSERT_MSG(m.term_loss[t] > 0, "term %s has loss %g", loss_term_name((loss_term)t), m.term_loss[t]);
    m.kd_targets_frozen = 1;
    m.neg.gate_frozen = 1;
    size_t n = m.params.total;
    float *grads = malloc(n * sizeof(float));
    memcpy(grads, m.params.grads, n * sizeof(float));
    static float dxt[B * DT], dxu[B * DU], dxi[NI * DI];
    if (has_teacher) memcpy(dxt, m.dx_t, sizeof dxt);
    memcpy(dxu, m.dx_u, sizeof dxu);
    int item_rows = pairs ? NI : B;
    memcpy(dxi, m.dx_i, (size_t)item_rows * DI * sizeof(float));

    /* The gate's gradient is the one of the step without negatives. */
    size_t g0, g1;
    gate_range(&m, &g0, &g1);
    if (g1 > g0) {
        CU_ASSERT_EQUAL_FATAL(model_forward(&m, in.x_t, in.x_u, in.x_i, B), DMMP_OK);
        CU_ASSERT_EQUAL_FATAL(model_backward(&m, in.x_t, in.x_u, in.x_i, in.click, in.conv, B, 1000), DMMP_OK);
        TU_ASSERT_MSG(memcmp(grads + g0, m.params.grads + g0, (g1 - g0) * sizeof(float)) == 0,
                      "the sampled terms reached the gate");
    }

    int ok = 1, checked = 0;
    kinks = 0;
    size_t stride = n / 150 + 1;
    for (size_t i = 0; i < n; i += stride) {
        ok &= check_one(&m, &in, &m.params.values[i], grads[i], "param", i);
        checked++;
    }
    size_t bias_off = (size_t)(m.bias - m.params.values);
    for (int j = 0; j < 3; j++) ok &= check_one(&m, &in, &m.bias[j], grads[bias_off + (size_t)j], "bias", (size_t)j);
    if (logvar) {
        size_t lv_off = (size_t)(logvar - m.params.values);
        for (int t = 0; t < TERM_COUNT; t++)
            ok &= check_one(&m, &in, &logvar[t], grads[lv_off + (size_t)t], "log_var", (size_t)t);
    }
    for (int i = 0; has_teacher && i < B * DT; i += 3) ok &= check_one(&m, &in, &in.x_t[i], dxt[i], "x_t", (size_t)i);
    for (int i = 0; i < B * DU; i += 2) ok &= check_one(&m, &in, &in.x_u[i], dxu[i], "x_u", (size_t)i);
    for (int i = 0; i < item_rows * DI; i += 2) {
        ok &= check_one(&m, &in, &in.x_i[i], dxi[i], "x_i", (size_t)i);
        checked++;
    }
    TU_ASSERT_MSG(kinks * 20 < checked, "%d of %d points sat on a ReLU kink", kinks, checked);
    TU_ASSERT_MSG(ok, "variant %d negatives %d l2 %d logq %d kd_on_sampled %d kd %d weighting %d", v->kind,
                  v->negatives, v->l2, v->logq, v->kd_on_sampled, v->kd_loss, v->weighting);
    free(grads);
    model_free(&m);
}

static void test_pairs(void)
{
    const neg_variant vs[] = {
        {CONFIG_MODEL_TWO_TOWER, CONFIG_NEGATIVES_RANDOM, 0, 1, 0, CONFIG_KD_LOSS_BCE, CONFIG_WEIGHTING_UNCERTAINTY, 1.0},
        {CONFIG_MODEL_THREE_TOWER, CONFIG_NEGATIVES_POPULARITY, 1, 1, 0, CONFIG_KD_LOSS_BCE, CONFIG_WEIGHTING_FIXED, 1.0},
        {CONFIG_MODEL_DMMP, CONFIG_NEGATIVES_RANDOM, 0, 1, 0, CONFIG_KD_LOSS_BCE, CONFIG_WEIGHTING_UNCERTAINTY, 1.0},
    };
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) check_variant(&vs[i]);
}

static void test_kd_on_sampled(void)
{
    const neg_variant vs[] = {
        {CONFIG_MODEL_DMMP, CONFIG_NEGATIVES_POPULARITY, 0, 1, 1, CONFIG_KD_LOSS_BCE, CONFIG_WEIGHTING_UNCERTAINTY, 1.0},
        {CONFIG_MODEL_DMMP, CONFIG_NEGATIVES_RANDOM, 1, 1, 1, CONFIG_KD_LOSS_MSE, CONFIG_WEIGHTING_FIXED, 1.0},
    };
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) check_variant(&vs[i]);
}

static void test_in_batch(void)
{
    const neg_variant vs[] = {
        {CONFIG_MODEL_TWO_TOWER, CONFIG_NEGATIVES_IN_BATCH, 0, 1, 0, CONFIG_KD_LOSS_BCE, CONFIG_WEIGHTING_UNCERTAINTY, 1.0},
        {CONFIG_MODEL_TWO_TOWER, CONFIG_NEGATIVES_IN_BATCH, 1, 0, 0, CONFIG_KD_LOSS_BCE, CONFIG_WEIGHTING_FIXED, 0.5},
        {CONFIG_MODEL_THREE_TOWER, CONFIG_NEGATIVES_IN_BATCH, 0, 0, 0, CONFIG_KD_LOSS_BCE, CONFIG_WEIGHTING_UNCERTAINTY, 1.0},
        {CONFIG_MODEL_DMMP, CONFIG_NEGATIVES_IN_BATCH, 0, 1, 0, CONFIG_KD_LOSS_BCE, CONFIG_WEIGHTING_UNCERTAINTY, 0.5},
        {CONFIG_MODEL_DMMP, CONFIG_NEGATIVES_IN_BATCH, 1, 1, 0, CONFIG_KD_LOSS_MSE, CONFIG_WEIGHTING_DWA, 2.0},
    };
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) check_variant(&vs[i]);
}

/* The logQ correction changes the in-batch loss (it is read), and a model
 * stepped without negatives leaves the sampled terms out. */
static void test_logq_read_and_terms_off(void)
{
    neg_variant v = {CONFIG_MODEL_TWO_TOWER, CONFIG_NEGATIVES_IN_BATCH, 0, 1, 0, CONFIG_KD_LOSS_BCE,
                     CONFIG_WEIGHTING_FIXED, 1.0};
    double loss[2];
    for (int logq = 0; logq < 2; logq++) {
        v.logq = logq;
        dmmp_config c;
        tiny_config(&c, &v);
        model_spec spec;
        recipe_model_spec(&c, &spec);
        model m;
        model_dims dims = {0, DU, DI};
        CU_ASSERT_EQUAL_FATAL(model_init(&m, &spec, dims, B, 7), DMMP_OK);
        neg_inputs in;
        make_inputs(&in, 3);
        total_loss(&m, &in);
        loss[logq] = m.term_loss[TERM_SAMPLED_CTR];
        CU_ASSERT_EQUAL_FATAL(model_forward(&m, NULL, in.x_u, in.x_i, B), DMMP_OK);
        CU_ASSERT_EQUAL_FATAL(model_backward(&m, NULL, in.x_u, in.x_i, in.click, in.conv, B, 0), DMMP_OK);
        CU_ASSERT_EQUAL(m.term_loss[TERM_SAMPLED_CTR], 0.0);
        model_free(&m);
    }
    TU_ASSERT_MSG(fabs(loss[0] - loss[1]) > 1e-3, "logQ off %g, on %g", loss[0], loss[1]);
}

int register_model_negatives_suites(void)
{
    static const char *const names[] = {
        "sampled pairs: two_tower, three_tower (l2, fixed weights), dmmp",
        "dmmp with kd.on_sampled: bce at T = 2, mse",
        "in-batch softmax: logQ on/off, l2 on/off, softmax temperature, every variant",
        "logQ changes the loss; a step without negatives leaves the sampled terms out",
    };
    static const CU_TestFunc fns[] = {test_pairs, test_kd_on_sampled, test_in_batch, test_logq_read_and_terms_off};
    return tu_add_suite("layer_model_negatives", names, fns, sizeof fns / sizeof fns[0]);
}
