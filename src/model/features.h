/* The feature layer: embedding tables for every sparse field and the three
 * dense inputs the models read, assembled from a batch.
 *
 *   x_t (teacher):     every field (user, item, context, cross; single then
 *                      multi-valued, schema order) and the dense columns;
 *   x_u (user tower):  user and context fields;
 *   x_i (item towers): item fields.
 * Each block is embedding_dim wide and written in place into its slice of
 * the row. The teacher and the student own separate tables (the student is
 * the cheap retrieval model and never reads cross fields). Each table has
 * its own lazy sparse optimiser state: only rows seen in a batch change. */
#ifndef DMMP_MODEL_FEATURES_H
#define DMMP_MODEL_FEATURES_H

#include "core/rng.h"
#include "data/batch.h"
#include "data/schema.h"
#include "nn/embedding.h"
#include "nn/optim.h"
#include "nn/sparse_grad.h"
#include "model/table_shard.h"

typedef enum feature_view_id { VIEW_TEACHER = 0, VIEW_USER = 1, VIEW_ITEM = 2, VIEW_COUNT = 3 } feature_view_id;

#define FEATURES_MAX_WORKERS 64

typedef struct feature_table {
    int field;           /* schema index */
    int view;            /* the one view that reads it */
    int hashed;          /* 1: ids are hashed into emb.rows rows (features_row_of); 0: id i is row i */
    embedding_table emb; /* weight owned here */
    sparse_grad grad;    /* rows touched by the last backward */
    sparse_opt opt;
    /* Sharded across the ranks of a job (model/table_shard.h): emb.rows is
     * the whole table's, emb.weight and opt hold only this rank's block,
     * rows [row_lo, row_hi), and a lookup fetches the batch's distinct rows
     * (want, ascending) into got; the backward gives global rows, which the
     * exchange sends to their owners, and the step sees the owner's rows as
     * local rows (global - row_lo). Replicated: 0 and emb.rows. */
    int sharded;
    int64_t row_lo, row_hi;
    int32_t *want;
    int64_t n_want, want_cap;
    float *got;
    int64_t got_cap;
} feature_table;

typedef struct feature_slot {
    int table;    /* index into tables, or -1 for the dense block */
    int multi;    /* 1: batch.multi[source]; 0: column source of batch.side[side] */
    int side;
    int source;
    int offset;   /* first column in the view's row */
} feature_slot;

typedef struct feature_view {
    int width;          /* floats per row (0: the view is not used) */
    int max_rows;       /* rows x holds */
    int n_slots;
    feature_slot *slots;
    float *x;           /* max_rows x width */
} feature_view;

typedef struct features {
    int dim;
    pool_mode pool;
    int max_batch;
    int n_tables;
    feature_table *tables;
    feature_view view[VIEW_COUNT];
    int n_dense;                 /* dense columns in the teacher view */
    int32_t *ids;                /* max_batch: one column of ids, contiguous */
    int32_t *bag_ids;            /* the rows of one multi-valued field's ids (hashed tables) */
    int64_t bag_cap;
    embedding_scratch scratch;
    /* The backward runs the single-valued slots of a view in parallel, one
     * table per thread at a time: each worker has its own id column and
     * scratch (n_workers = the threads at init, at most FEATURES_MAX_WORKERS). */
    int n_workers, most_rows;
    int32_t *worker_ids;               /* n_workers x most_rows */
    embedding_scratch *worker_scratch; /* n_workers */
    /* Sharded tables (none with one process). */
    int n_sharded;
    shard_comm comm;
    shard_lookup *lookups;       /* n_tables: one fetch's tables */
    int32_t *sort_tmp, *remap;   /* the distinct rows' sort buffer; ids as rows of the fetched table */
    int64_t sort_cap, remap_cap;
} features;

/* Where the tables live in a job of several processes. */
typedef enum features_placement {
    FEATURES_REPLICATED = 0, /* every rank holds every table */
    FEATURES_SHARDED = 1,    /* every table in one block of rows per rank */
    FEATURES_AUTO = 2        /* sharded from shard_min_rows rows */
} features_placement;

typedef struct features_config {
    int dim;                /* embedding width */
    pool_mode pool;         /* multi-valued fields */
    int teacher;            /* build the teacher view */
    int student;            /* build the user and item views */
    int dense;              /* feed the dataset's dense columns to the teacher */
    int max_batch;
    int view_rows[VIEW_COUNT]; /* rows a view holds at most, 0: max_batch (the item view of sampled
                                  negatives holds the impressions and their sampled items) */
    float init_stddev;      /* N(0, s^2) initialisation */
    sparse_opt_kind optimizer;
    sparse_opt_config opt;
    int64_t hash_buckets;   /* 0: a row per id; >= 2: a field with a larger vocabulary gets this many rows */
    features_placement placement; /* with one process every table is whole, whatever it says */
    int64_t shard_min_rows;  /* FEATURES_AUTO */
} features_config;

/* Row of id in table t: id itself, or for a hashed table row 0 for id 0 (the
 * unknown id) and 1 + splitmix64(id ^ field * golden ratio) mod (rows - 1)
 * for the others, so train and eval agree whatever the batch. */
int32_t features_row_of(const feature_table *t, int32_t id);

/* Builds tables and views for schema: a table per field and view with
 * vocab_size rows, or hash_buckets rows when hash_buckets is set and below
 * the vocabulary size (data.hash_buckets). */
dmmp_status features_init(features *f, const dataset_schema *schema, const features_config *cfg, uint64_t seed);

/* 1 when a table of rows rows is sharded in a job of ranks ranks (the
 * rule of features_init): never with one rank. */
int features_table_sharded(const features_config *cfg, int64_t rows, int ranks);

/* Fills every used view's x from batch b. */
dmmp_status features_forward(features *f, const batch *b);

/* Fills one view's x from b (an unused view is left empty); b needs only the
 * sides that view reads, e.g. the item corpus for VIEW_ITEM. b may have up
 * to the view's max_rows rows. */
dmmp_status features_forward_view(features *f, const batch *b, feature_view_id view);

/* The lookups of a rank without rows in a step: the fetches of every
 * view with sharded tables, in the order the step runs them (teacher,
 * user, item), with nothing requested. Collective with the other ranks'
 * features_forward_view calls; nothing to do without sharded tables. */
dmmp_status features_take_part(features *f);

/* Gathers table i's weights on rank 0 into weight (emb.rows x dim; NULL on
 * the other ranks) and, with with_opt, its optimiser state: lazy Adam's m,
 * v (rows x dim) and steps (rows), or Adagrad's accumulator into m (NULL
 * on the other ranks). Collective for a sharded table (every rank calls it
 * with the same i and with_opt); a replicated one is copied. */
dmmp_status features_gather_table(const features *f, int i, int with_opt, float *weight, float *m, float *v,
                                  int64_t *steps);

/* Sparse gradients of every table from the views' input gradients (dx of an
 * unused view may be NULL, and a view whose dx is NULL is left alone, so
 * two calls with different batches may serve different views of a step). */
dmmp_status features_backward(features *f, const batch *b, const float *const dx[VIEW_COUNT]);

/* One optimiser step on every table with its last sparse gradient. */
dmmp_status features_step(features *f);

/* Total floats of all tables (for logging and checkpoints). */
int64_t features_param_count(const features *f);

/* Frees everything. */
void features_free(features *f);

#endif
