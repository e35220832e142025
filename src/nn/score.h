/* Tower scores of the student: s[b] = <u[b], v[b]> / tau + bias,
 * optionally on L2-normalised towers (cosine similarity over tau).
 *
 * u, v, u_n, v_n are batch x k row-major. With l2norm, u_n[b] = u[b] /
 * max(||u[b]||, SCORE_L2_EPS) (likewise v_n) is written by the forward and
 * read by the backward; without it u_n and v_n are unused and may be NULL.
 * Preconditions (not checked per batch): batch >= 0, k >= 1, tau > 0. */
#ifndef DMMP_NN_SCORE_H
#define DMMP_NN_SCORE_H

/* Below this norm a tower output is scaled by 1 / SCORE_L2_EPS instead of
 * normalised, so a zero vector scores 0 instead of NaN. */
#define SCORE_L2_EPS 1e-6f

/* s[b] = <u_n[b], v_n[b]> / tau + bias (u_n = u, v_n = v without l2norm); s OVERWRITTEN. */
void tower_score_forward(const float *u, const float *v, int batch, int k, float tau, int l2norm, float bias,
                         float *s, float *u_n, float *v_n);

/* From ds: du and dv ACCUMULATED (+=; the user vector u feeds both s_c and s_v), and
 * *dbias += sum_b ds[b] (dbias may be NULL). u_n, v_n are the forward's outputs. */
void tower_score_backward(const float *u, const float *v, const float *u_n, const float *v_n, int batch, int k,
                          float tau, int l2norm, const float *ds, float *du, float *dv, float *dbias);

#endif
