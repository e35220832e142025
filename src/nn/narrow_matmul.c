#include "nn/narrow_matmul.h"

#include "simd/narrow.h"

narrow_kind narrow_matmul_kind(const nn_matmul_shape *s)
{
    if (s->a_transposed)
        return !s->b_transposed && !s->bias && !s->relu && s->n <= NARROW_MAX ? NARROW_OUTER : NARROW_NONE;
    if (s->n <= NARROW_MAX) return NARROW_DOT;
    if (s->k <= NARROW_MAX && !s->bias && !s->relu) return NARROW_AXPY;
    return NARROW_NONE;
}

/* dot wants B as n rows of k, axpy as k rows of n: a copy when B is
 * stored the other way round. */
static int needs_copy(const nn_matmul_shape *s, narrow_kind kind)
{
    return (kind == NARROW_DOT && !s->b_transposed) || (kind == NARROW_AXPY && s->b_transposed);
}

size_t narrow_matmul_scratch_bytes(const nn_matmul_shape *s, narrow_kind kind)
{
    return needs_copy(s, kind) ? (size_t)s->k * (size_t)s->n * sizeof(float) : 0;
}

/* out [cols x rows] = in [rows x cols] transposed. */
static void transpose(const float *in, size_t rows, size_t cols, float *out)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < cols; j++) out[j * rows + i] = in[i * cols + j];
}

void narrow_matmul_tile(narrow_kind kind, const nn_matmul_shape *s, int row0, int rows, const float *a,
                        const float *b, const float *bias, float *c, void *scratch)
{
    const narrow_kernels *kern = narrow_kernels_get();
    size_t m = (size_t)s->m, k = (size_t)s->k, n = (size_t)s->n, r0 = (size_t)row0;
    float *ct = c + r0 * n;
    if (needs_copy(s, kind)) {
        /* B stored k x n (dot) or n x k (axpy): the other layout. */
        if (kind == NARROW_DOT) transpose(b, k, n, scratch);
        else transpose(b, n, k, scratch);
        b = scratch;
    }
    switch (kind) {
    case NARROW_DOT:
        kern->dot(a + r0 * k, (size_t)rows, k, b, n, s->bias ? bias : NULL, s->relu, s->accumulate, ct);
        break;
    case NARROW_AXPY: kern->axpy(a + r0 * k, (size_t)rows, k, b, n, s->accumulate, ct); break;
    case NARROW_OUTER: kern->outer(a + r0, m, (size_t)rows, k, b, n, s->accumulate, ct); break;
    case NARROW_NONE: break;
    }
}
