#include "nn/dnnl_ctx.h"

#include <oneapi/dnnl/dnnl_debug.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

dmmp_status nn_dnnl_check(dnnl_status_t st, const char *call, const char *layer, const char *role)
{
    if (st == dnnl_success) return DMMP_OK;
    /* Report only the function name, not its argument list. */
    int name_len = (int)strcspn(call, "(");
    return dmmp_fail(DMMP_EDNNL, "layer '%s' (%s): oneDNN %.*s failed: %s", layer ? layer : "?",
                     role ? role : "?", name_len, call, dnnl_status2str(st));
}

dmmp_status nn_ctx_create(nn_ctx **out)
{
    *out = NULL;
    nn_ctx *c = calloc(1, sizeof *c);
    if (!c) return dmmp_fail(DMMP_ENOMEM, "nn_ctx_create: out of memory");
    dnnl_status_t st = dnnl_engine_create(&c->engine, dnnl_cpu, 0);
    if (st != dnnl_success) {
        free(c);
        return nn_dnnl_check(st, "dnnl_engine_create", "context", "cpu engine");
    }
    int slots = omp_get_num_procs();
    if (omp_get_max_threads() > slots) slots = omp_get_max_threads();
    c->n_slots = slots < 1 ? 1 : slots > NN_CTX_MAX_SLOTS ? NN_CTX_MAX_SLOTS : slots;
    for (int i = 0; i < c->n_slots; i++) {
        st = dnnl_stream_create(&c->slot_stream[i], c->engine, dnnl_stream_default_flags);
        if (st != dnnl_success) {
            nn_ctx_destroy(c);
            return nn_dnnl_check(st, "dnnl_stream_create", "context", "worker stream");
        }
    }
    *out = c;
    return DMMP_OK;
}

dmmp_status nn_ctx_reserve_scratch(nn_ctx *c, size_t bytes, const char *layer, const char *role)
{
    if (bytes <= c->scratch_bytes) return DMMP_OK;
    size_t rounded = (bytes + 63) / 64 * 64;
    int used = c->n_slots < NN_CTX_TEAM_SLOTS ? c->n_slots : NN_CTX_TEAM_SLOTS;
    for (int i = 0; i < used; i++) {
        void *buf = NULL;
        if (posix_memalign(&buf, 64, rounded) != 0)
            return dmmp_fail(DMMP_ENOMEM, "layer '%s' (%s): out of memory for a %zu-byte matmul scratchpad", layer,
                             role, rounded);
        free(c->slot_scratch[i]);
        c->slot_scratch[i] = buf;
    }
    c->scratch_bytes = rounded;
    return DMMP_OK;
}

void nn_ctx_destroy(nn_ctx *c)
{
    if (!c) return;
    for (int i = 0; i < c->n_slots; i++) {
        if (c->slot_stream[i]) dnnl_stream_destroy(c->slot_stream[i]);
        free(c->slot_scratch[i]);
    }
    if (c->engine) dnnl_engine_destroy(c->engine);
    free(c);
}
