/* Long texts as checksummed uint8 datasets. */
#include "data/h5_text.h"

#include <stdlib.h>
#include <string.h>

#include "data/h5_integrity.h"

dmmp_status h5_text_write_long(hid_t loc, const char *name, const char *text, size_t len, const char *file)
{
    hsize_t dims[1] = {(hsize_t)len}, chunk[1] = {len < H5_TEXT_CHUNK_BYTES ? (hsize_t)len : H5_TEXT_CHUNK_BYTES};
    if (len == 0) return dmmp_fail(DMMP_EINVAL, "%s: %s: a long text of 0 bytes", file, name);
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int ok = space >= 0 && dcpl >= 0 && H5Pset_obj_track_times(dcpl, 0) >= 0 && H5Pset_chunk(dcpl, 1, chunk) >= 0;
    if (ok && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) ok = H5Pset_deflate(dcpl, 1) >= 0;
    ok = ok && h5_dcpl_add_checksum(dcpl) >= 0; /* last in the pipeline */
    hid_t d = ok ? H5Dcreate2(loc, name, H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT) : H5I_INVALID_HID;
    ok = d >= 0 && H5Dwrite(d, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) >= 0;
    if (ok) {
        hid_t t = H5Tcopy(H5T_C_S1), sc = H5Screate(H5S_SCALAR);
        hid_t a = t >= 0 && sc >= 0 && H5Tset_size(t, 6) >= 0 ? H5Acreate2(d, "text", t, sc, H5P_DEFAULT, H5P_DEFAULT)
                                                               : H5I_INVALID_HID;
        ok = a >= 0 && H5Awrite(a, t, "utf-8") >= 0;
        if (a >= 0) H5Aclose(a);
        if (sc >= 0) H5Sclose(sc);
        if (t >= 0) H5Tclose(t);
    }
    if (d >= 0 && H5Dclose(d) < 0) ok = 0;
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    return ok ? DMMP_OK : dmmp_fail(DMMP_EIO, "%s: cannot write the text %s (%zu bytes)", file, name, len);
}

int h5_text_is_long(hid_t d)
{
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    int yes = t >= 0 && sp >= 0 && H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) == 1 &&
              H5Tget_sign(t) == H5T_SGN_NONE && H5Sget_simple_extent_ndims(sp) == 1 && H5Aexists(d, "text") > 0;
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    H5Eclear2(H5E_DEFAULT);
    return yes;
}

dmmp_status h5_text_read_long(hid_t d, const char *file, const char *object, char **out)
{
    *out = NULL;
    hid_t sp = H5Dget_space(d);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    if (n < 0) return h5_read_failure(file, object);
    char *buf = malloc((size_t)n + 1);
    if (!buf) return dmmp_fail(DMMP_ENOMEM, "%s: out of memory reading %s (%lld bytes)", file, object, (long long)n);
    if (n > 0 && H5Dread(d, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        return h5_read_failure(file, object);
    }
    buf[n] = '\0';
    if (memchr(buf, '\0', (size_t)n)) {
        free(buf);
        return dmmp_fail(DMMP_EFORMAT, "%s: the text %s holds a NUL byte", file, object);
    }
    *out = buf;
    return DMMP_OK;
}
