/* The layout table of a checkpoint (format_version 2): what every part of
 * /model/params and every embedding table means, written beside them so the
 * weights can be read with nothing but an HDF5 reader (README: Checkpoints).
 *
 *   /model/layout/params/{name, offset, rows, cols, activation}
 *       one row per block of /model/params (model/model_layout.h), sorted
 *       by offset, covering the buffer exactly once (padding included);
 *   /model/layout/embeddings/{table, field, side, input, input_offset,
 *                             rows, dim, multi, hashed, default_id, vocab}
 *       one row per embedding table: its dataset in the file
 *       (/features/<input>.<field>/weight), the field it embeds and that
 *       field's side, the input (teacher, user or item) it feeds and the
 *       column of that input where its dim floats start, whether the field
 *       is multi-valued (pooled), whether ids are hashed into the rows, the
 *       id a retrieval query uses for a context field (its most frequent
 *       training value; 0 elsewhere), and the path of the field's raw-id
 *       vocabulary ("" when the dataset had none);
 *   /model/layout/inputs/{name, width, dense_offset, dense_cols}
 *       the three inputs' widths; the teacher's dense columns, if any;
 *   /model/layout/vocab/<field>/{offsets, bytes}
 *       the raw id of every index of the field (data/raw_ids.h layout);
 *   /model/layout/hash/<input>.<field>/row
 *       for a hashed table, the row of every index of the field;
 *   /model/layout/{variant, model_kind, pooling} (strings) and
 *   {k, l2norm, learned_gate, temperature} (scalars). */
#ifndef DMMP_TRAIN_CHECKPOINT_LAYOUT_H
#define DMMP_TRAIN_CHECKPOINT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"
#include "model/features.h"
#include "model/model.h"
#include "train/checkpoint.h"

/* What the layout needs of the dataset, read once before training starts
 * (the batcher then owns the file). */
typedef struct layout_vocab {
    int n_fields;
    raw_ids *field;      /* per schema field; n = 0 when the dataset has no vocabulary for it */
    int32_t *default_id; /* per field: dataset_default_id (0 for all but context fields) */
} layout_vocab;

dmmp_status layout_vocab_load(layout_vocab *v, const dataset *d);
void layout_vocab_free(layout_vocab *v);

/* "features/<table name>/<what>", '/' in the table name replaced by '_'. */
void ckpt_table_key(char *buf, size_t len, const feature_table *t, const char *what);

/* Writes /model/layout for m and f (schema: the fields they were built
 * for; vocab may be NULL: no vocabularies, default ids 0). */
dmmp_status ckpt_put_layout(ckpt_writer *w, const model *m, const features *f, const dataset_schema *schema,
                            const char *variant, const layout_vocab *vocab);

#endif
