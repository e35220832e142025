/* Whole-model gradient checks: every variant of the ablation on a tiny
 * configuration, the analytic gradient of the total weighted loss against
 * central finite differences for parameters sampled from every group
 * (teacher experts, gates, towers, student towers, the preference gate,
 * biases, loss-weighting s_i) and for the three inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "model/model.h"
#include "suites.h"
#include "train/recipe.h"
#include "testutil.h"

enum { B = 6, DT = 10, DU = 7, DI = 5 };

static int gate_user_bias; /* check_variant's dmmp with the gate's per-user bias */

static void tiny_config(dmmp_config *c, config_model_kind kind)
{
    config_defaults(c);
    c->model.kind = kind;
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
    if (kind != CONFIG_MODEL_DMMP) {
        c->kd.enabled = 0;
        c->student.gate = 0;
    }
}

typedef struct fd_inputs {
    float x_t[B * DT], x_u[B * DU], x_i[B * DI];
    uint8_t click[B], conv[B];
} fd_inputs;

static void make_inputs(fd_inputs *in, uint64_t seed)
{
    rng r;
    rng_seed(&r, seed);
    tu_fill(&r, in->x_t, B * DT, -1, 1);
    tu_fill(&r, in->x_u, B * DU, -1, 1);
    tu_fill(&r, in->x_i, B * DI, -1, 1);
    for (int b = 0; b < B; b++) {
        in->click[b] = (uint8_t)(b % 2 == 0 || b == 3);
        in->conv[b] = (uint8_t)(in->click[b] && b % 4 == 0);
    }
}

static double total_loss(model *m, fd_inputs *in)
{
    CU_ASSERT_EQUAL_FATAL(model_forward(m, in->x_t, in->x_u, in->x_i, B), DMMP_OK);
    CU_ASSERT_EQUAL_FATAL(model_backward(m, in->x_t, in->x_u, in->x_i, in->click, in->conv, B, 1000), DMMP_OK);
    return m->total_loss;
}

/* Central differences of the total loss (accumulated in double) in float
 * parameters. With eps = 1e-3 truncation and rounding stay around 1e-4 of the
 * loss, so the tolerance is 2e-3 absolute + 3% relative. A step that crosses
 * a ReLU kink makes the difference meaningless; such points are detected by
 * disagreement between eps and eps/2 and skipped (and counted: the caller
 * asserts they are rare). */
static int kinks;

static double central_difference(model *m, fd_inputs *in, float *x, float eps)
{
    float keep = *x;
    *x = keep + eps;
    double lp = total_loss(m, in);
    *x = keep - eps;
    double lm = total_loss(m, in);
    *x = keep;
    return (lp - lm) / (2.0 * (double)eps);
}

static int check_one(model *m, fd_inputs *in, float *x, double analytic, const char *what, size_t idx)
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

static void check_variant(config_model_kind kind, config_teacher_kind tk, config_weighting_kind wk, int aux, int l2,
                          config_kd_loss kdl)
{
    dmmp_config c;
    tiny_config(&c, kind);
    c.teacher.kind = tk;
    if (tk == CONFIG_TEACHER_PLE) c.teacher.levels = 2;
    if (tk == CONFIG_TEACHER_MMOE) {
        c.teacher.specific_experts = 0;
        c.teacher.shared_experts = 3;
    }
    if (tk == CONFIG_TEACHER_SHARED_BOTTOM) {
        c.teacher.specific_experts = 0;
        c.teacher.shared_experts = 1;
    }
    c.teacher.aux = aux;
    c.weighting.kind = wk;
    c.student.l2norm = l2;
    c.kd.loss = kdl;
    c.student.gate_user_bias = kind == CONFIG_MODEL_DMMP && gate_user_bias;
    if (kdl == CONFIG_KD_LOSS_BCE && kind == CONFIG_MODEL_DMMP) c.kd.temperature = 2.0;
    TU_ASSERT_MSG(config_validate(&c) == DMMP_OK, "%s", dmmp_errmsg());
    model m;
    model_dims dims = {kind == CONFIG_MODEL_TEACHER_ONLY || kind == CONFIG_MODEL_DMMP ? DT : 0,
                       kind == CONFIG_MODEL_TEACHER_ONLY ? 0 : DU, kind == CONFIG_MODEL_TEACHER_ONLY ? 0 : DI};
    model_spec spec;
    recipe_model_spec(&c, &spec);
    dmmp_status s = model_init(&m, &spec, dims, B, 7);
    TU_ASSERT_MSG(s == DMMP_OK, "%s", dmmp_errmsg());
    if (s != DMMP_OK) return;
    /* Move the s_i away from 0 so the uncertainty weights differ per term. */
    float *logvar = m.weighting.log_var;
    if (logvar)
        for (int t = 0; t < TERM_COUNT; t++) logvar[t] = 0.1f * (float)(t - 3);
    m.bias[0] = 0.2f;
    m.bias[1] = -0.3f;
    m.bias[2] = 0.1f;
    fd_inputs in;
    make_inputs(&in, 11);
    total_loss(&m, &in);
    /* The KD terms treat the teacher's outputs as constants: hold the
     * targets fixed so the finite differences see the same function. */
    m.kd_targets_frozen = 1;
    size_t n = m.params.total;
    float *grads = malloc(n * sizeof(float));
    memcpy(grads, m.params.grads, n * sizeof(float));
    float dxt[B * DT], dxu[B * DU], dxi[B * DI];
    if (dims.teacher_in) memcpy(dxt, m.dx_t, sizeof dxt);
    if (dims.user_in) {
        memcpy(dxu, m.dx_u, sizeof dxu);
        memcpy(dxi, m.dx_i, sizeof dxi);
    }
    /* Parameters: a stride through the whole buffer reaches every group; the
     * last blocks (biases and s_i) are checked one by one. */
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
    for (int i = 0; i < B * DT && dims.teacher_in; i += 3) ok &= check_one(&m, &in, &in.x_t[i], dxt[i], "x_t", (size_t)i);
    for (int i = 0; i < B * DU && dims.user_in; i += 2) ok &= check_one(&m, &in, &in.x_u[i], dxu[i], "x_u", (size_t)i);
    for (int i = 0; i < B * DI && dims.user_in; i += 2) ok &= check_one(&m, &in, &in.x_i[i], dxi[i], "x_i", (size_t)i);
    TU_ASSERT_MSG(kinks * 20 < checked, "%d of %d points sat on a ReLU kink", kinks, checked);
    TU_ASSERT_MSG(ok, "variant %d teacher %d weighting %d aux %d l2 %d kd %d", kind, tk, wk, aux, l2, kdl);
    CU_ASSERT(checked > 100);
    free(grads);
    model_free(&m);
}

static void test_teacher_only_kinds(void)
{
    check_variant(CONFIG_MODEL_TEACHER_ONLY, CONFIG_TEACHER_CGC, CONFIG_WEIGHTING_UNCERTAINTY, 1, 0, CONFIG_KD_LOSS_BCE);
    check_variant(CONFIG_MODEL_TEACHER_ONLY, CONFIG_TEACHER_CGC, CONFIG_WEIGHTING_FIXED, 0, 0, CONFIG_KD_LOSS_BCE);
    check_variant(CONFIG_MODEL_TEACHER_ONLY, CONFIG_TEACHER_MMOE, CONFIG_WEIGHTING_UNCERTAINTY, 1, 0, CONFIG_KD_LOSS_BCE);
    check_variant(CONFIG_MODEL_TEACHER_ONLY, CONFIG_TEACHER_PLE, CONFIG_WEIGHTING_UNCERTAINTY, 1, 0, CONFIG_KD_LOSS_BCE);
    check_variant(CONFIG_MODEL_TEACHER_ONLY, CONFIG_TEACHER_SHARED_BOTTOM, CONFIG_WEIGHTING_DWA, 1, 0,
                  CONFIG_KD_LOSS_BCE);
}

static void test_towers(void)
{
    check_variant(CONFIG_MODEL_TWO_TOWER, CONFIG_TEACHER_CGC, CONFIG_WEIGHTING_UNCERTAINTY, 1, 0, CONFIG_KD_LOSS_BCE);
    check_variant(CONFIG_MODEL_TWO_TOWER, CONFIG_TEACHER_CGC, CONFIG_WEIGHTING_FIXED, 1, 1, CONFIG_KD_LOSS_BCE);
    check_variant(CONFIG_MODEL_THREE_TOWER, CONFIG_TEACHER_CGC, CONFIG_WEIGHTING_UNCERTAINTY, 1, 0, CONFIG_KD_LOSS_BCE);
    check_variant(CONFIG_MODEL_THREE_TOWER, CONFIG_TEACHER_CGC, CONFIG_WEIGHTING_DWA, 1, 1, CONFIG_KD_LOSS_BCE);
}

static void test_dmmp(void)
{
    check_variant(CONFIG_MODEL_DMMP, CONFIG_TEACHER_CGC, CONFIG_WEIGHTING_UNCERTAINTY, 1, 0, CONFIG_KD_LOSS_BCE);
    check_variant(CONFIG_MODEL_DMMP, CONFIG_TEACHER_CGC, CONFIG_WEIGHTING_UNCERTAINTY, 1, 1, CONFIG_KD_LOSS_MSE);
    check_variant(CONFIG_MODEL_DMMP, CONFIG_TEACHER_PLE, CONFIG_WEIGHTING_FIXED, 0, 0, CONFIG_KD_LOSS_BCE);
    check_variant(CONFIG_MODEL_DMMP, CONFIG_TEACHER_MMOE, CONFIG_WEIGHTING_DWA, 1, 0, CONFIG_KD_LOSS_BCE);
    gate_user_bias = 1;
    check_variant(CONFIG_MODEL_DMMP, CONFIG_TEACHER_CGC, CONFIG_WEIGHTING_UNCERTAINTY, 1, 0, CONFIG_KD_LOSS_BCE);
    check_variant(CONFIG_MODEL_DMMP, CONFIG_TEACHER_CGC, CONFIG_WEIGHTING_FIXED, 1, 1, CONFIG_KD_LOSS_MSE);
    gate_user_bias = 0;
}

int register_model_suites(void)
{
    static const char *const names[] = {"teacher_only: cgc, mmoe, ple, shared_bottom, aux on/off",
                                        "two_tower and three_tower, l2 norm on/off", "dmmp: gate (and its per-user bias), kd bce/mse, weightings"};
    static const CU_TestFunc fns[] = {test_teacher_only_kinds, test_towers, test_dmmp};
    return tu_add_suite("layer_model", names, fns, sizeof fns / sizeof fns[0]);
}
