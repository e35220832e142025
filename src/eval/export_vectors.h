/* `dmmp export vectors`: the vectors the retrieval of a tower model
 * searches, as files that numpy, h5py and FAISS read directly.
 *
 * Items: every corpus item (batch_item_corpus: the unknown item 0 of
 * imported data is left out), in ascending item index, with the vector
 * retrieval_item_vectors computes: [v_c, v_v] (2k floats) for three_tower
 * and dmmp, v_c (k) for two_tower, each tower output L2-normalised when
 * student.l2norm is on. Users: every user with a sample in some split (the
 * users `dmmp retrieve` takes), in ascending user index, with the query
 * retrieval_queries computes from the user's fields, user bags and the
 * context fields' default ids: [w_c u, w_v u] (w the gate weights; 0.5,
 * 0.5 for three_tower and dmmp without the learned gate) or u, u normalised
 * as the items are. `dmmp retrieve` ranks items by the float32 inner
 * product of the two, so an exact inner-product search (numpy, FAISS
 * IndexFlatIP) over these rows gives its top K.
 *
 * npy (PREFIX.items.npy, .items_index.npy, .items_raw_id.npy,
 * PREFIX.users.npy, .users_index.npy, .users_raw_id.npy): float32 n x dim,
 * int32 indices, fixed-length byte strings 'S<n>' of raw ids ("#<index>"
 * when the dataset has none). h5 (one file): /items/{vector,index,raw_id},
 * /users/{vector,index,raw_id} and root attributes naming the variant,
 * dimension, scoring rule, run, checkpoint and dataset. Every file is
 * written to a temporary; all are renamed into place at the end, so a
 * failure leaves none of them. */
#ifndef DMMP_EVAL_EXPORT_VECTORS_H
#define DMMP_EVAL_EXPORT_VECTORS_H

#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"
#include "model/features.h"
#include "model/model.h"

typedef enum export_vectors_format { EXPORT_VECTORS_NPY = 0, EXPORT_VECTORS_H5 = 1 } export_vectors_format;

#define EXPORT_VECTORS_FILES 6

typedef struct export_vectors_request {
    const char *prefix;           /* --out */
    export_vectors_format format;
    const char *variant;          /* recorded in the h5 attributes */
    const char *run, *checkpoint; /* run directory and checkpoint (checkpoint or last) */
    const char *data;             /* the dataset's path */
} export_vectors_request;

typedef struct export_vectors_summary {
    int64_t n_items, n_users;
    int dim;
    int n_files;
    char files[EXPORT_VECTORS_FILES][4200];
} export_vectors_summary;

/* The file names a request writes (before any work, so the CLI can check
 * they can be written). */
dmmp_status export_vectors_paths(const export_vectors_request *rq, export_vectors_summary *out);

/* Writes the vectors of m (a tower model: teacher_only is refused with
 * DMMP_EINVAL) over the corpus and users of d. */
dmmp_status export_vectors(model *m, features *f, const dataset *d, const export_vectors_request *rq,
                           export_vectors_summary *out);

#endif
