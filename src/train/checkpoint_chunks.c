/* Large checkpoint arrays, compressed in parallel.
 *
 * HDF5 runs its filters on one thread, and zlib's default level 1 manages
 * about 50 MB/s on trained float weights (random mantissas), so a 50 MB
 * checkpoint would take a second. Here each chunk is shuffled and deflated by
 * OpenMP threads, with the Z_RLE strategy (about 130 MB/s per thread and
 * slightly smaller output on shuffled floats, since the gain is in the
 * repeated exponent bytes), then written in order with H5Dwrite_chunk. The
 * dataset declares the standard shuffle + deflate filters, so any HDF5 reader
 * (h5dump, h5py) decodes it; a chunk that does not shrink is stored raw with
 * both filters masked off. The bytes do not depend on the thread count. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/h5_integrity.h"
#include "train/checkpoint.h"
#include "train/checkpoint_h5.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define CHUNK_BYTES CKPT_CHUNK_BYTES
#define MAX_SLOTS 16
/* Filter mask of a stored chunk: bit i skips filter i (0 shuffle, 1 deflate,
 * 2 Fletcher32, never skipped). */
#define MASK_RAW 0x3u

void ckpt_chunk_dims(int rank, const hsize_t *dims, size_t elem, hsize_t *chunk)
{
    hsize_t room = CHUNK_BYTES / elem;
    for (int d = rank - 1; d >= 0; d--) {
        if (room == 0) chunk[d] = 1;
        else if (dims[d] <= room) {
            chunk[d] = dims[d] ? dims[d] : 1;
            room /= chunk[d];
        } else {
            /* Equal pieces: 13 chunks of 15754 rows rather than 12 of 16384
             * and a half-empty 13th, which HDF5 would store whole. */
            hsize_t pieces = (dims[d] + room - 1) / room;
            chunk[d] = (dims[d] + pieces - 1) / pieces;
            room = 0;
        }
    }
}

struct ckpt_chunk_pool {
    int threads; /* OpenMP threads at creation */
    int slots;
    unsigned char *shuffled[MAX_SLOTS]; /* CHUNK_BYTES + 4 each */
    unsigned char *packed[MAX_SLOTS];   /* deflateBound(CHUNK_BYTES) each */
    size_t packed_cap;
};

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

dmmp_status ckpt_chunk_pool_create(ckpt_chunk_pool **out)
{
    ckpt_chunk_pool *p = calloc(1, sizeof *p);
    if (!p) return dmmp_fail(DMMP_ENOMEM, "out of memory for the chunk compression buffers");
    p->threads = max_threads();
    /* Two chunks per thread keep threads busy when chunks compress unevenly. */
    p->slots = 2 * p->threads > MAX_SLOTS ? MAX_SLOTS : 2 * p->threads;
    p->packed_cap = compressBound(CHUNK_BYTES) + 64;
    for (int s = 0; s < p->slots; s++) {
        p->shuffled[s] = malloc(CHUNK_BYTES + 4);
        p->packed[s] = malloc(p->packed_cap);
        if (!p->shuffled[s] || !p->packed[s]) {
            int slots = p->slots;
            ckpt_chunk_pool_free(p);
            return dmmp_fail(DMMP_ENOMEM, "out of memory for %d chunk compression buffers of %d bytes", slots,
                             CHUNK_BYTES);
        }
    }
    *out = p;
    return DMMP_OK;
}

void ckpt_chunk_pool_free(ckpt_chunk_pool *p)
{
    if (!p) return;
    for (int s = 0; s < MAX_SLOTS; s++) {
        free(p->shuffled[s]);
        free(p->packed[s]);
    }
    free(p);
}

/* Byte shuffle of n elements of size elem: byte k of element i goes to
 * k * n + i (the layout HDF5's shuffle filter undoes). */
static void shuffle_bytes(const unsigned char *src, unsigned char *dst, size_t n, size_t elem)
{
    if (elem == 1) {
        memcpy(dst, src, n);
        return;
    }
    for (size_t k = 0; k < elem; k++) {
        unsigned char *plane = dst + k * n;
        for (size_t i = 0; i < n; i++) plane[i] = src[i * elem + k];
    }
}

/* Deflates len bytes of in into out (cap bytes); returns the compressed size,
 * or 0 when it does not shrink (or zlib fails: then the chunk goes raw). */
static size_t deflate_rle(const unsigned char *in, size_t len, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK) return 0;
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END && n < len ? n : 0;
}

typedef struct chunk_plan {
    int rank;
    int split;           /* the one dimension cut into pieces, -1 if none */
    hsize_t row_elems;   /* elements per index of split (trailing product) */
    hsize_t split_len;   /* dims[split] */
    hsize_t split_chunk; /* chunk[split] */
    hsize_t per_lead;    /* chunks per index of the leading dimensions */
    hsize_t chunk_elems; /* elements per (padded) chunk */
} chunk_plan;

/* Element offset and valid element count of chunk q, and its coordinates. */
static void chunk_extent(const chunk_plan *pl, const hsize_t *dims, hsize_t q, hsize_t *coord, size_t *first,
                         size_t *count)
{
    if (pl->split < 0) {
        for (int d = 0; d < pl->rank; d++) coord[d] = 0;
        *first = 0;
        *count = pl->chunk_elems;
        return;
    }
    hsize_t lead = q / pl->per_lead, piece = q % pl->per_lead;
    hsize_t rows = pl->split_len - piece * pl->split_chunk;
    if (rows > pl->split_chunk) rows = pl->split_chunk;
    /* Leading dimensions have chunk extent 1: unravel lead into them. */
    for (int d = pl->rank - 1; d >= 0; d--) {
        if (d > pl->split) coord[d] = 0;
        else if (d == pl->split) coord[d] = piece * pl->split_chunk;
        else {
            coord[d] = lead % dims[d];
            lead /= dims[d];
        }
    }
    hsize_t lead_index = q / pl->per_lead;
    *first = (size_t)((lead_index * pl->split_len + piece * pl->split_chunk) * pl->row_elems);
    *count = (size_t)(rows * pl->row_elems);
}

dmmp_status ckpt_write_chunks(ckpt_chunk_pool *pool, hid_t dset, const void *data, int rank, const hsize_t *dims,
                              const hsize_t *chunk, size_t elem)
{
    chunk_plan pl = {rank, -1, 1, 1, 1, 1, 1};
    for (int d = 0; d < rank; d++) pl.chunk_elems *= chunk[d];
    for (int d = rank - 1; d >= 0; d--)
        if (chunk[d] != dims[d]) {
            pl.split = d;
            break;
        }
    hsize_t n_chunks = 1;
    if (pl.split >= 0) {
        for (int d = pl.split + 1; d < rank; d++) pl.row_elems *= dims[d];
        pl.split_len = dims[pl.split];
        pl.split_chunk = chunk[pl.split];
        pl.per_lead = (pl.split_len + pl.split_chunk - 1) / pl.split_chunk;
        n_chunks = pl.per_lead;
        for (int d = 0; d < pl.split; d++) n_chunks *= dims[d];
    }
    const unsigned char *src = data;
    size_t chunk_bytes = (size_t)pl.chunk_elems * elem;
    if (chunk_bytes > CHUNK_BYTES)
        return dmmp_fail(DMMP_EINVAL, "chunk of %zu bytes exceeds the %d-byte buffers", chunk_bytes, CHUNK_BYTES);
    size_t packed_len[MAX_SLOTS];
    for (hsize_t base = 0; base < n_chunks; base += (hsize_t)pool->slots) {
        int batch = (int)(n_chunks - base < (hsize_t)pool->slots ? n_chunks - base : (hsize_t)pool->slots);
        /* The if clause also keeps a forked child that set one thread (see
         * checkpoint.h) out of libgomp's pool, which does not survive fork. */
#pragma omp parallel for schedule(dynamic, 1) if (batch > 1 && pool->threads > 1)
        for (int s = 0; s < batch; s++) {
            hsize_t coord[CKPT_MAX_RANK];
            size_t first, count;
            chunk_extent(&pl, dims, base + (hsize_t)s, coord, &first, &count);
            unsigned char *buf = pool->shuffled[s];
            /* Edge chunks are stored whole by HDF5: pad with zeros. */
            if (count < pl.chunk_elems) {
                unsigned char *padded = pool->packed[s];
                memcpy(padded, src + first * elem, count * elem);
                memset(padded + count * elem, 0, chunk_bytes - count * elem);
                shuffle_bytes(padded, buf, (size_t)pl.chunk_elems, elem);
            } else {
                shuffle_bytes(src + first * elem, buf, (size_t)pl.chunk_elems, elem);
            }
            packed_len[s] = deflate_rle(buf, chunk_bytes, pool->packed[s], pool->packed_cap - 4);
        }
        for (int s = 0; s < batch; s++) {
            hsize_t coord[CKPT_MAX_RANK];
            size_t first, count;
            chunk_extent(&pl, dims, base + (hsize_t)s, coord, &first, &count);
            unsigned char *out = pool->packed[s];
            size_t out_len = packed_len[s];
            uint32_t mask = 0;
            if (out_len == 0) {
                /* Does not shrink: store the plain bytes, padded if needed. */
                mask = MASK_RAW;
                out_len = chunk_bytes;
                memcpy(pool->shuffled[s], src + first * elem, count * elem);
                if (count < pl.chunk_elems) memset(pool->shuffled[s] + count * elem, 0, chunk_bytes - count * elem);
                out = pool->shuffled[s];
            }
            /* The Fletcher32 filter's 4 bytes after the stored bytes (packed
             * and shuffled both have room for them). */
            h5_append_fletcher32((unsigned char *)out, out_len);
            out_len += 4;
            if (H5Dwrite_chunk(dset, H5P_DEFAULT, mask, coord, out_len, out) < 0) {
                char detail[512];
                ckpt_h5_error_text(detail, sizeof detail);
                return dmmp_fail(DMMP_EIO, "writing chunk %llu of %llu: %s", (unsigned long long)(base + (hsize_t)s),
                                 (unsigned long long)n_chunks, detail);
            }
        }
    }
    return DMMP_OK;
}
