/* h5_open_read: the contained walk for files written before checksums, the
 * open, the structure check. */
#include "data/h5_open.h"

#include <stdio.h>
#include <sys/stat.h>

#include "data/h5_integrity.h"
#include "data/h5_verify.h"

dmmp_status h5_open_read(const char *path, hid_t fapl, hid_t *file)
{
    *file = H5I_INVALID_HID;
    if (h5_path_has_checksums(path) == 0) DMMP_TRY(h5_check_structure_contained(path));
    H5E_auto2_t func = NULL;
    void *data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &func, &data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    dmmp_status s = DMMP_OK;
    if (f < 0) {
        char detail[512];
        struct stat st;
        long long bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
        if (h5_error_is_checksum(detail, sizeof detail)) s = h5_damage(path, "the superblock or the root group");
        else s = dmmp_fail(DMMP_EFORMAT, "%s: HDF5 cannot open it (%lld bytes; truncated or damaged?): %s", path,
                           bytes, detail);
    } else {
        s = h5_check_structure(f, path);
        if (s != DMMP_OK) H5Fclose(f);
    }
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, func, data);
    if (s == DMMP_OK) *file = f;
    return s;
}
