/* dataset_content_hash: the file's size and 64 evenly spread 4 KiB blocks. */
#include "data/dataset_hash.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/text_scan.h"

#define HASH_BLOCKS 64
#define HASH_BLOCK_BYTES 4096

dmmp_status dataset_content_hash(const char *path, char out[DATASET_HASH_LEN])
{
    FILE *f = fopen(path, "rb");
    if (!f) return dmmp_fail(errno == ENOENT ? DMMP_EINVAL : DMMP_EIO, "%s: cannot read: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return dmmp_fail(DMMP_EIO, "%s: cannot read its size: %s", path, strerror(errno));
    }
    uint64_t size = (uint64_t)st.st_size;
    size_t cap = sizeof size + (size_t)HASH_BLOCKS * HASH_BLOCK_BYTES;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return dmmp_fail(DMMP_ENOMEM, "%s: out of memory hashing the file", path);
    }
    memcpy(buf, &size, sizeof size);
    size_t used = sizeof size;
    dmmp_status s = DMMP_OK;
    uint64_t whole = (uint64_t)HASH_BLOCKS * HASH_BLOCK_BYTES;
    for (int b = 0; b < HASH_BLOCKS && s == DMMP_OK; b++) {
        /* Small file: its bytes in order; else block b starts at b/(B-1) of
         * the way to the last full block, so the first and last are in. */
        uint64_t at = size <= whole ? (uint64_t)b * HASH_BLOCK_BYTES
                                    : (size - HASH_BLOCK_BYTES) * (uint64_t)b / (HASH_BLOCKS - 1);
        if (at >= size) break;
        if (fseeko(f, (off_t)at, SEEK_SET) != 0) {
            s = dmmp_fail(DMMP_EIO, "%s: cannot seek to byte %" PRIu64 ": %s", path, at, strerror(errno));
            break;
        }
        size_t got = fread(buf + used, 1, HASH_BLOCK_BYTES, f);
        if (got < HASH_BLOCK_BYTES && ferror(f)) s = dmmp_fail(DMMP_EIO, "%s: read failed at byte %" PRIu64, path, at);
        used += got;
    }
    fclose(f);
    if (s == DMMP_OK) snprintf(out, DATASET_HASH_LEN, "sample-64x4KiB:%016" PRIx64, text_hash64(buf, used));
    free(buf);
    return s;
}
