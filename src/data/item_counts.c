#include "data/item_counts.h"

#include <stdlib.h>
#include <string.h>

dmmp_status dataset_item_counts(const dataset *d, data_split split, int64_t *counts, int64_t *total)
{
    int64_t n = dataset_n_samples(d), ni = dataset_n_items(d), block = dataset_chunk_rows(d);
    if (block < 1) block = 16384;
    memset(counts, 0, (size_t)ni * sizeof *counts);
    *total = 0;
    uint8_t *sp = malloc((size_t)block);
    int32_t *item = malloc((size_t)block * sizeof *item);
    dmmp_status s = sp && item ? DMMP_OK : dmmp_fail(DMMP_ENOMEM, "item counts: out of memory for %lld rows", (long long)block);
    for (int64_t start = 0; s == DMMP_OK && start < n; start += block) {
        int64_t m = n - start < block ? n - start : block;
        s = dataset_read_split(d, start, m, sp);
        if (s == DMMP_OK) s = dataset_read_i32(d, "/samples/item", start, m, item);
        for (int64_t r = 0; s == DMMP_OK && r < m; r++) {
            if (sp[r] != split) continue;
            if (item[r] < 0 || item[r] >= ni)
                s = dmmp_fail(DMMP_EFORMAT, "%s: /samples/item row %lld is %d, outside the %lld items",
                              dataset_path(d), (long long)(start + r), (int)item[r], (long long)ni);
            else {
                counts[item[r]]++;
                (*total)++;
            }
        }
    }
    free(sp);
    free(item);
    return s;
}
