/* What a path holds: the file system first, then the HDF5 layout. */
#include "data/file_kind.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "data/h5_integrity.h"
#include "data/h5_open.h"

/* HDF5 prints its error stack on every failed call; a probe expects failures. */
typedef struct quiet_h5 {
    H5E_auto2_t func;
    void *data;
} quiet_h5;

static quiet_h5 quiet_begin(void)
{
    quiet_h5 q = {NULL, NULL};
    H5Eget_auto2(H5E_DEFAULT, &q.func, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}

static void quiet_end(quiet_h5 q)
{
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, q.func, q.data);
}

static int has_group(hid_t file, const char *name)
{
    H5O_info_t info;
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0) return 0;
    if (H5Oget_info_by_name2(file, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return 0;
    return info.type == H5O_TYPE_GROUP;
}

/* H5Literate callback: stops (1) at the first top-level group carrying the
 * machine attribute of a benchmark record. */
static herr_t find_bench_group(hid_t root, const char *name, const H5L_info_t *info, void *op_data)
{
    (void)info;
    (void)op_data;
    return has_group(root, name) && H5Aexists_by_name(root, name, "machine", H5P_DEFAULT) > 0;
}

file_kind file_kind_of_h5(hid_t file)
{
    quiet_h5 q = quiet_begin();
    file_kind k = FILE_KIND_OTHER_HDF5;
    if (has_group(file, "/model") && has_group(file, "/optim")) k = FILE_KIND_RUN_STATE;
    else if (has_group(file, "/fields") && has_group(file, "/samples")) k = FILE_KIND_DATASET;
    else if (H5Aexists(file, "variant") > 0 && (has_group(file, "/train") || has_group(file, "/eval")))
        k = FILE_KIND_RESULTS;
    else {
        hsize_t at = 0;
        if (H5Literate(file, H5_INDEX_NAME, H5_ITER_NATIVE, &at, find_bench_group, NULL) > 0) k = FILE_KIND_BENCH;
    }
    quiet_end(q);
    return k;
}

file_kind file_kind_of_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return errno == EACCES ? FILE_KIND_UNREADABLE : FILE_KIND_MISSING;
    if (S_ISDIR(st.st_mode)) return FILE_KIND_DIRECTORY;
    FILE *probe = fopen(path, "rb");
    if (!probe) return FILE_KIND_UNREADABLE;
    fclose(probe);
    return h5_path_has_checksums(path) < 0 ? FILE_KIND_NOT_HDF5 : FILE_KIND_OTHER_HDF5;
}

/* The kind of path, opening it checked (data/h5_open.h) when it is HDF5:
 * *file is left open when file is not NULL and the kind came from the
 * layout; *damage is the failure of a damaged file. */
static file_kind kind_open(const char *path, hid_t fapl, hid_t *file, dmmp_status *damage)
{
    *damage = DMMP_OK;
    if (file) *file = H5I_INVALID_HID;
    file_kind k = file_kind_of_path(path);
    if (k != FILE_KIND_OTHER_HDF5) return k;
    hid_t f;
    *damage = h5_open_read(path, fapl, &f);
    if (*damage != DMMP_OK) return FILE_KIND_DAMAGED;
    k = file_kind_of_h5(f);
    if (file) *file = f;
    else H5Fclose(f);
    return k;
}

file_kind file_kind_of(const char *path)
{
    dmmp_status damage;
    return kind_open(path, H5P_DEFAULT, NULL, &damage);
}

const char *file_kind_name(file_kind k)
{
    switch (k) {
    case FILE_KIND_MISSING: return "no such file";
    case FILE_KIND_DIRECTORY: return "a directory";
    case FILE_KIND_UNREADABLE: return "not readable";
    case FILE_KIND_NOT_HDF5: return "not an HDF5 file";
    case FILE_KIND_DAMAGED: return "a damaged HDF5 file";
    case FILE_KIND_DATASET: return "a dataset";
    case FILE_KIND_RUN_STATE: return "a checkpoint of a run (checkpoint.h5 or last.h5)";
    case FILE_KIND_RESULTS: return "the results of a run (results.h5)";
    case FILE_KIND_BENCH: return "a benchmark record";
    default: return "an HDF5 file of an unknown kind";
    }
}

/* The failure for a path of kind k when want was expected. */
static dmmp_status kind_failure(const char *path, file_kind k, file_kind want)
{
    dmmp_status code = k == FILE_KIND_MISSING || k == FILE_KIND_DIRECTORY ? DMMP_EINVAL : DMMP_EFORMAT;
    if (k == FILE_KIND_MISSING || k == FILE_KIND_UNREADABLE || k == FILE_KIND_NOT_HDF5)
        return dmmp_fail(code, "%s: %s, expected %s", path, file_kind_name(k), file_kind_name(want));
    return dmmp_fail(code, "%s is %s, expected %s", path, file_kind_name(k), file_kind_name(want));
}

dmmp_status file_kind_expect(const char *path, file_kind want)
{
    dmmp_status damage;
    file_kind k = kind_open(path, H5P_DEFAULT, NULL, &damage);
    if (damage != DMMP_OK) return damage;
    if (k == want || k == FILE_KIND_OTHER_HDF5) return DMMP_OK;
    return kind_failure(path, k, want);
}

dmmp_status file_kind_open(const char *path, file_kind want, hid_t fapl, hid_t *file)
{
    dmmp_status damage;
    hid_t f;
    file_kind k = kind_open(path, fapl, &f, &damage);
    *file = H5I_INVALID_HID;
    if (damage != DMMP_OK) return damage;
    if (k == want || k == FILE_KIND_OTHER_HDF5) {
        *file = f;
        return DMMP_OK;
    }
    if (f >= 0) H5Fclose(f);
    return kind_failure(path, k, want);
}
