#include "nn/dnnl_matmul.h"

#include <string.h>

/* A rows x cols row-major matrix, or its transpose when stored_transposed
 * (the buffer then holds cols x rows row-major). */
static dnnl_status_t matrix_desc(dnnl_memory_desc_t *md, int rows, int cols, int stored_transposed)
{
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {cols, 1};
    if (stored_transposed) {
        strides[0] = 1;
        strides[1] = rows;
    }
    return dnnl_memory_desc_init_by_strides(md, 2, dims, dnnl_f32, strides);
}

static dmmp_status build_primitive(nn_matmul *mm, nn_ctx *ctx, const dnnl_memory_desc_t *a_md,
                                   const dnnl_memory_desc_t *b_md, const dnnl_memory_desc_t *bias_md,
                                   const dnnl_memory_desc_t *c_md, const char *layer, const char *role)
{
    const nn_matmul_shape *s = &mm->shape;
    dnnl_matmul_desc_t desc;
    NN_DNNL_TRY(dnnl_matmul_desc_init(&desc, a_md, b_md, s->bias ? bias_md : NULL, c_md), layer, role);

    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t st = dnnl_primitive_attr_create(&attr);
    const char *call = "dnnl_primitive_attr_create";
    if (st == dnnl_success) {
        call = "dnnl_post_ops_create";
        st = dnnl_post_ops_create(&post_ops);
    }
    if (st == dnnl_success && s->accumulate) {
        call = "dnnl_post_ops_append_sum";
        st = dnnl_post_ops_append_sum(post_ops, 1.0f);
    }
    if (st == dnnl_success && s->relu) {
        call = "dnnl_post_ops_append_eltwise";
        st = dnnl_post_ops_append_eltwise(post_ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    }
    if (st == dnnl_success) {
        call = "dnnl_primitive_attr_set_post_ops";
        st = dnnl_primitive_attr_set_post_ops(attr, post_ops);
    }
    if (st == dnnl_success) {
        call = "dnnl_primitive_desc_create";
        st = dnnl_primitive_desc_create(&pd, &desc, attr, ctx->engine, NULL);
    }
    if (st == dnnl_success) {
        call = "dnnl_primitive_create";
        st = dnnl_primitive_create(&mm->prim, pd);
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return nn_dnnl_check(st, call, layer, role);
}

static dmmp_status create_memories(nn_matmul *mm, nn_ctx *ctx, const dnnl_memory_desc_t *a_md,
                                   const dnnl_memory_desc_t *b_md, const dnnl_memory_desc_t *bias_md,
                                   const dnnl_memory_desc_t *c_md, const char *layer, const char *role)
{
    /* DNNL_MEMORY_NONE: the handles are the caller's buffers, set per execution. */
    NN_DNNL_TRY(dnnl_memory_create(&mm->a, a_md, ctx->engine, DNNL_MEMORY_NONE), layer, role);
    NN_DNNL_TRY(dnnl_memory_create(&mm->b, b_md, ctx->engine, DNNL_MEMORY_NONE), layer, role);
    NN_DNNL_TRY(dnnl_memory_create(&mm->c, c_md, ctx->engine, DNNL_MEMORY_NONE), layer, role);
    if (mm->shape.bias)
        NN_DNNL_TRY(dnnl_memory_create(&mm->bias, bias_md, ctx->engine, DNNL_MEMORY_NONE), layer, role);
    return DMMP_OK;
}

dmmp_status nn_matmul_create(nn_matmul *mm, nn_ctx *ctx, const nn_matmul_shape *shape, const char *layer,
                             const char *role)
{
    memset(mm, 0, sizeof *mm);
    mm->shape = *shape;
    const nn_matmul_shape *s = &mm->shape;
    if (s->m < 1 || s->k < 1 || s->n < 1)
        return dmmp_fail(DMMP_EINVAL, "layer '%s' (%s): matmul dimensions m=%d k=%d n=%d must be >= 1", layer, role,
                         s->m, s->k, s->n);
    dnnl_memory_desc_t a_md, b_md, c_md, bias_md;
    dnnl_dims_t bias_dims = {1, s->n};
    NN_DNNL_TRY(matrix_desc(&a_md, s->m, s->k, s->a_transposed), layer, role);
    NN_DNNL_TRY(matrix_desc(&b_md, s->k, s->n, s->b_transposed), layer, role);
    NN_DNNL_TRY(matrix_desc(&c_md, s->m, s->n, 0), layer, role);
    NN_DNNL_TRY(dnnl_memory_desc_init_by_tag(&bias_md, 2, bias_dims, dnnl_f32, dnnl_ab), layer, role);

    dmmp_status st = build_primitive(mm, ctx, &a_md, &b_md, &bias_md, &c_md, layer, role);
    if (st == DMMP_OK) st = create_memories(mm, ctx, &a_md, &b_md, &bias_md, &c_md, layer, role);
    if (st != DMMP_OK) nn_matmul_free(mm);
    return st;
}

dmmp_status nn_matmul_execute(nn_matmul *mm, nn_ctx *ctx, const float *a, const float *b, const float *bias,
                              float *c, const char *layer, const char *role)
{
    /* oneDNN takes void * handles; it only reads the source operands. */
    NN_DNNL_TRY(dnnl_memory_set_data_handle(mm->a, (void *)a), layer, role);
    NN_DNNL_TRY(dnnl_memory_set_data_handle(mm->b, (void *)b), layer, role);
    NN_DNNL_TRY(dnnl_memory_set_data_handle(mm->c, c), layer, role);
    dnnl_exec_arg_t args[4] = {
        {DNNL_ARG_SRC, mm->a},
        {DNNL_ARG_WEIGHTS, mm->b},
        {DNNL_ARG_DST, mm->c},
        {DNNL_ARG_BIAS, mm->bias},
    };
    int nargs = 3;
    if (mm->shape.bias) {
        NN_DNNL_TRY(dnnl_memory_set_data_handle(mm->bias, (void *)bias), layer, role);
        nargs = 4;
    }
    NN_DNNL_TRY(dnnl_primitive_execute(mm->prim, ctx->stream, nargs, args), layer, role);
    return DMMP_OK;
}

void nn_matmul_free(nn_matmul *mm)
{
    if (mm->prim) dnnl_primitive_destroy(mm->prim);
    if (mm->a) dnnl_memory_destroy(mm->a);
    if (mm->b) dnnl_memory_destroy(mm->b);
    if (mm->bias) dnnl_memory_destroy(mm->bias);
    if (mm->c) dnnl_memory_destroy(mm->c);
    memset(mm, 0, sizeof *mm);
}
