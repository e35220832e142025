#include "bench/bench_gemm.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/mem.h"
#include "core/rng.h"

#define GEMM_TRY(call)                                                                                       \
    do {                                                                                                     \
        dnnl_status_t gemm_st_ = (call);                                                                     \
        if (gemm_st_ != dnnl_success)                                                                        \
            return dmmp_fail(DMMP_EDNNL, "gemm ceiling: %s failed with oneDNN status %d", #call, (int)gemm_st_); \
    } while (0)

dmmp_status gemm_ceiling_init(gemm_ceiling *g, int n)
{
    memset(g, 0, sizeof *g);
    if (n < 16 || n > 16384) return dmmp_fail(DMMP_EINVAL, "gemm size %d outside [16, 16384]", n);
    g->n = n;
    rng r;
    rng_stream(&r, 1, 2);
    for (int i = 0; i < 3; i++) {
        DMMP_TRY(mem_alloc_f32(&g->buf[i], (size_t)n * n, "gemm ceiling matrix"));
        rng_fill_uniform(&r, g->buf[i], (size_t)n * n, -1.0f, 1.0f);
    }
    dnnl_dims_t dims = {n, n};
    dnnl_memory_desc_t md;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd = NULL;
    GEMM_TRY(dnnl_engine_create(&g->engine, dnnl_cpu, 0));
    GEMM_TRY(dnnl_stream_create(&g->stream, g->engine, dnnl_stream_default_flags));
    GEMM_TRY(dnnl_memory_desc_init_by_tag(&md, 2, dims, dnnl_f32, dnnl_ab));
    GEMM_TRY(dnnl_matmul_desc_init(&desc, &md, &md, NULL, &md));
    GEMM_TRY(dnnl_primitive_desc_create(&pd, &desc, NULL, g->engine, NULL));
    dnnl_status_t st = dnnl_primitive_create(&g->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    GEMM_TRY(st);
    for (int i = 0; i < 3; i++) GEMM_TRY(dnnl_memory_create(&g->mem[i], &md, g->engine, g->buf[i]));
    return DMMP_OK;
}

dmmp_status gemm_ceiling_run(gemm_ceiling *g, double *seconds)
{
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, g->mem[0]}, {DNNL_ARG_WEIGHTS, g->mem[1]}, {DNNL_ARG_DST, g->mem[2]}};
    double t0 = clock_wall_seconds();
    GEMM_TRY(dnnl_primitive_execute(g->prim, g->stream, 3, args));
    GEMM_TRY(dnnl_stream_wait(g->stream));
    *seconds = clock_wall_seconds() - t0;
    return DMMP_OK;
}

double gemm_ceiling_flops(const gemm_ceiling *g) { return 2.0 * (double)g->n * (double)g->n * (double)g->n; }

void gemm_ceiling_free(gemm_ceiling *g)
{
    for (int i = 0; i < 3; i++) {
        if (g->mem[i]) dnnl_memory_destroy(g->mem[i]);
        mem_free(g->buf[i]);
    }
    if (g->prim) dnnl_primitive_destroy(g->prim);
    if (g->stream) dnnl_stream_destroy(g->stream);
    if (g->engine) dnnl_engine_destroy(g->engine);
    memset(g, 0, sizeof *g);
}

static dmmp_status gemm_runs(gemm_ceiling *g, const bench_gemm_options *o, bench_report *r)
{
    double t[1000];
    int n = o->repeat;
    if (n < 1 || n > 1000) return dmmp_fail(DMMP_EINVAL, "gemm: repeat %d outside [1, 1000]", n);
    DMMP_TRY(gemm_ceiling_init(g, o->size));
    for (int run = -1; run < n; run++) {
        double s;
        DMMP_TRY(gemm_ceiling_run(g, &s));
        if (run >= 0) t[run] = s;
    }
    char shape[64];
    snprintf(shape, sizeof shape, "%d x %d x %d fp32", o->size, o->size, o->size);
    DMMP_TRY(bench_add_note(r, "shape", shape));
    return bench_add_rate(r, "gflops", "GFLOP/s", gemm_ceiling_flops(g) * 1e-9, t, n);
}

dmmp_status bench_gemm(const bench_gemm_options *o, bench_report *r)
{
    gemm_ceiling g;
    memset(&g, 0, sizeof g);
    dmmp_status st = gemm_runs(&g, o, r);
    gemm_ceiling_free(&g);
    return st;
}
