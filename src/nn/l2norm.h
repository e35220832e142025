/* Row-wise L2 normalisation y_r = x_r / max(||x_r||, SCORE_L2_EPS) of a
 * rows x k matrix, the cosine form of the in-batch score matrix
 * (student.l2norm; the paired scores of nn/score.h normalise the same way).
 * Preconditions (not checked per batch): rows >= 0, k >= 1. */
#ifndef DMMP_NN_L2NORM_H
#define DMMP_NN_L2NORM_H

/* y OVERWRITTEN; y must not alias x. */
void l2norm_rows_forward(const float *x, int rows, int k, float *y);

/* From dy = dL/dy and the forward's x and y: dx ACCUMULATED (+=) with
 * (dy - y <dy, y>) / ||x||, or dy / eps for a row whose norm was clamped. */
void l2norm_rows_backward(const float *x, const float *y, const float *dy, int rows, int k, float *dx);

#endif
