#include "data/h5_out.h"

#include <stdio.h>
#include <string.h>

#include "core/atomic_file.h"
#include "data/h5_column.h"
#include "data/h5_integrity.h"

dmmp_status h5_out_create(h5_out *o, const char *path)
{
    memset(o, 0, sizeof *o);
    o->file = H5I_INVALID_HID;
    if (!path || !*path) return dmmp_fail(DMMP_EINVAL, "output file: empty path");
    if (strlen(path) >= sizeof o->path) return dmmp_fail(DMMP_EINVAL, "%s: path is too long", path);
    snprintf(o->path, sizeof o->path, "%s", path);
    DMMP_TRY(atomic_clean_stale(path, NULL));
    DMMP_TRY(atomic_tmp_path(path, o->tmp, sizeof o->tmp));
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = h5_fapl_checksummed();
    int ok = fcpl >= 0 && fapl >= 0 && H5Pset_obj_track_times(fcpl, 0) >= 0 &&
             H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0;
    if (ok) o->file = H5Fcreate(o->tmp, H5F_ACC_EXCL, fcpl, fapl);
    if (fcpl >= 0) H5Pclose(fcpl);
    if (fapl >= 0) H5Pclose(fapl);
    if (o->file < 0) {
        dmmp_status s = dmmp_fail(DMMP_EIO, "writing %s: cannot create the temporary %s", path, o->tmp);
        atomic_discard(o->tmp);
        o->tmp[0] = '\0';
        return s;
    }
    return DMMP_OK;
}

dmmp_status h5_out_commit(h5_out *o)
{
    dmmp_status s = DMMP_OK;
    if (o->file < 0) return dmmp_fail(DMMP_EINVAL, "%s: output file is not open", o->path);
    if (H5Fflush(o->file, H5F_SCOPE_LOCAL) < 0) s = dmmp_fail(DMMP_EIO, "writing %s: flushing failed", o->path);
    if (H5Fclose(o->file) < 0 && s == DMMP_OK) s = dmmp_fail(DMMP_EIO, "writing %s: closing failed", o->path);
    o->file = H5I_INVALID_HID;
    H5Eclear2(H5E_DEFAULT);
    if (s != DMMP_OK) {
        atomic_discard(o->tmp);
        o->tmp[0] = '\0';
        return s;
    }
    s = atomic_commit(o->tmp, o->path);
    o->tmp[0] = '\0';
    return s;
}

void h5_out_abort(h5_out *o)
{
    if (o->file >= 0) H5Fclose(o->file);
    o->file = H5I_INVALID_HID;
    H5Eclear2(H5E_DEFAULT);
    if (o->tmp[0]) atomic_discard(o->tmp);
    o->tmp[0] = '\0';
}

hid_t h5_out_string_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, len ? len : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

dmmp_status h5_out_strings(hid_t loc, const char *name, const char *buf, int64_t n, size_t len)
{
    hid_t type = h5_out_string_type(len);
    if (type < 0) return dmmp_fail(DMMP_EIO, "dataset %s: cannot make a string type of %zu bytes", name, len);
    if ((size_t)n * len <= H5_COMPACT_MAX_BYTES) {
        dmmp_status cs = h5_write_array(loc, name, type, n, 0, buf); /* compact, in the checksummed header */
        H5Tclose(type);
        return cs;
    }
    h5_column c;
    dmmp_status s = h5_column_create(&c, loc, name, type, 0, n < 16384 ? (n > 0 ? n : 1) : 16384, 1);
    if (s == DMMP_OK) s = h5_column_append(&c, buf, n);
    if (s == DMMP_OK) s = h5_column_close(&c);
    else h5_column_discard(&c);
    H5Tclose(type);
    return s;
}
