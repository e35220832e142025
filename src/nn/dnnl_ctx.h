/* The oneDNN execution context: one CPU engine and one in-order stream per
 * worker slot (matmuls run their row tiles on several threads at once, each
 * on its own stream and waiting for it), created once per process (or model)
 * and shared by every layer, plus the mapping of oneDNN status codes to
 * dmmp_status. */
#ifndef DMMP_NN_DNNL_CTX_H
#define DMMP_NN_DNNL_CTX_H

#include <oneapi/dnnl/dnnl.h>

#include "core/status.h"

/* Worker slots (streams) of a context: one per processor, at most this many. */
#define NN_CTX_MAX_SLOTS 64
/* The slots a matmul's team uses (dnnl_matmul.h: NN_MATMUL_MAX_TEAM); only
 * these get a scratchpad. */
#define NN_CTX_TEAM_SLOTS 8

typedef struct nn_ctx {
    dnnl_engine_t engine;
    int n_slots;                             /* worker slots: the processors, at most NN_CTX_MAX_SLOTS */
    dnnl_stream_t slot_stream[NN_CTX_MAX_SLOTS];
    void *slot_scratch[NN_CTX_MAX_SLOTS];    /* each slot's matmul scratchpad, scratch_bytes long */
    size_t scratch_bytes;
} nn_ctx;

/* Creates the CPU engine and the streams into *out; DMMP_EDNNL when oneDNN fails. */
dmmp_status nn_ctx_create(nn_ctx **out);

/* Grows every slot's scratchpad to at least bytes (a matmul tile runs on
 * one slot at a time, so the slot's tiles share one buffer). Call it only
 * while no matmul of c runs; DMMP_ENOMEM names who asked. */
dmmp_status nn_ctx_reserve_scratch(nn_ctx *c, size_t bytes, const char *layer, const char *role);

/* Destroys the stream and engine (NULL is fine); every layer using c must be freed first. */
void nn_ctx_destroy(nn_ctx *c);

/* DMMP_OK when st is dnnl_success, else DMMP_EDNNL with a message naming the
 * oneDNN call, the layer and the role of the operation within the layer. */
dmmp_status nn_dnnl_check(dnnl_status_t st, const char *call, const char *layer, const char *role);

/* Evaluates a oneDNN call and returns DMMP_EDNNL from the enclosing function on failure. */
#define NN_DNNL_TRY(call, layer, role)                                                  \
    do {                                                                                \
        dnnl_status_t nn_dnnl_st_ = (call);                                             \
        if (nn_dnnl_st_ != dnnl_success) return nn_dnnl_check(nn_dnnl_st_, #call, (layer), (role)); \
    } while (0)

#endif
