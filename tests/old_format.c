/* old_format_copy: a walk of the new file that writes each object again
 * with the older layout. */
#include "old_format.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct copy_ctx {
    hid_t dst_file;
    int failed;
} copy_ctx;

static int fail(const char *what, const char *name)
{
    fprintf(stderr, "old_format_copy: %s %s failed\n", what, name);
    return -1;
}

static herr_t copy_attr(hid_t src, const char *name, const H5A_info_t *info, void *op)
{
    (void)info;
    hid_t dst = *(hid_t *)op;
    hid_t a = H5Aopen(src, name, H5P_DEFAULT);
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    size_t size = H5Tget_size(t);
    void *buf = calloc((size_t)(n > 0 ? n : 1), size ? size : 1);
    int ok = a >= 0 && t >= 0 && sp >= 0 && buf && H5Aread(a, t, buf) >= 0;
    hid_t b = ok ? H5Acreate2(dst, name, t, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    ok = b >= 0 && H5Awrite(b, t, buf) >= 0;
    if (b >= 0) H5Aclose(b);
    free(buf);
    H5Sclose(sp);
    H5Tclose(t);
    H5Aclose(a);
    return ok ? 0 : fail("copying attribute", name);
}

static int copy_attrs(hid_t src, hid_t dst)
{
    hsize_t at = 0;
    return H5Aiterate2(src, H5_INDEX_NAME, H5_ITER_INC, &at, copy_attr, &dst) < 0 ? -1 : 0;
}

/* A long text (rank-1 uint8 with the text attribute) becomes the scalar
 * fixed-length string the older writers stored. */
static int is_long_text(hid_t d, hid_t t, hid_t sp)
{
    return H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) == 1 && H5Sget_simple_extent_ndims(sp) == 1 &&
           H5Aexists(d, "text") > 0;
}

static int copy_dataset(hid_t src_parent, const char *name, hid_t dst_parent)
{
    hid_t d = H5Dopen2(src_parent, name, H5P_DEFAULT);
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d), dcpl = H5Dget_create_plist(d);
    if (d < 0 || t < 0 || sp < 0 || dcpl < 0) return fail("opening dataset", name);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    size_t size = H5Tget_size(t);
    void *buf = calloc((size_t)(n > 0 ? n : 1) + 1, size);
    int ok = buf && (n == 0 || H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    hid_t out_t = H5Tcopy(t), out_sp = H5Scopy(sp);
    hid_t out_dcpl = H5Pcopy(dcpl);
    if (ok && is_long_text(d, t, sp)) {
        H5Tclose(out_t);
        H5Sclose(out_sp);
        H5Pclose(out_dcpl);
        out_t = H5Tcopy(H5T_C_S1);
        H5Tset_size(out_t, (size_t)n + 1);
        out_sp = H5Screate(H5S_SCALAR);
        out_dcpl = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_layout(out_dcpl, H5D_CONTIGUOUS);
    } else if (ok) {
        H5D_layout_t layout = H5Pget_layout(out_dcpl);
        if (layout == H5D_COMPACT) H5Pset_layout(out_dcpl, H5D_CONTIGUOUS);
        if (layout == H5D_CHUNKED && H5Pall_filters_avail(out_dcpl) >= 0) {
            int nf = H5Pget_nfilters(out_dcpl);
            for (int i = 0; i < nf; i++) {
                unsigned flags = 0;
                size_t ne = 0;
                if (H5Pget_filter2(out_dcpl, (unsigned)i, &flags, &ne, NULL, 0, NULL, NULL) == H5Z_FILTER_FLETCHER32) {
                    H5Premove_filter(out_dcpl, H5Z_FILTER_FLETCHER32);
                    break;
                }
            }
        }
    }
    H5Pset_obj_track_times(out_dcpl, 0);
    hid_t o = ok ? H5Dcreate2(dst_parent, name, out_t, out_sp, H5P_DEFAULT, out_dcpl, H5P_DEFAULT) : -1;
    ok = o >= 0 && (n == 0 || H5Dwrite(o, out_t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    ok = ok && copy_attrs(d, o) == 0;
    if (o >= 0 && is_long_text(d, t, sp)) H5Adelete(o, "text");
    if (o >= 0) H5Dclose(o);
    free(buf);
    H5Pclose(out_dcpl);
    H5Sclose(out_sp);
    H5Tclose(out_t);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Tclose(t);
    H5Dclose(d);
    return ok ? 0 : fail("copying dataset", name);
}

static int copy_group(hid_t src, hid_t dst);

static herr_t copy_member(hid_t src, const char *name, const H5L_info_t *info, void *op)
{
    hid_t dst = *(hid_t *)op;
    if (info->type != H5L_TYPE_HARD) return fail("copying a soft or external link", name);
    H5O_info_t oi;
    if (H5Oget_info_by_name2(src, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return fail("inspecting", name);
    if (oi.type == H5O_TYPE_DATASET) return copy_dataset(src, name, dst);
    if (oi.type != H5O_TYPE_GROUP) return fail("copying an object of another type", name);
    hid_t g = H5Gopen2(src, name, H5P_DEFAULT);
    hid_t gcpl = H5Gget_create_plist(g);
    hid_t out_gcpl = H5Pcreate(H5P_GROUP_CREATE);
    unsigned crt = 0;
    H5Pget_link_creation_order(gcpl, &crt);
    if (crt) H5Pset_link_creation_order(out_gcpl, crt);
    H5Pset_obj_track_times(out_gcpl, 0);
    hid_t o = H5Gcreate2(dst, name, H5P_DEFAULT, out_gcpl, H5P_DEFAULT);
    int ok = o >= 0 && copy_attrs(g, o) == 0 && copy_group(g, o) == 0;
    if (o >= 0) H5Gclose(o);
    H5Pclose(out_gcpl);
    H5Pclose(gcpl);
    H5Gclose(g);
    return ok ? 0 : fail("copying group", name);
}

/* Members in creation order when the group tracks it (so a reader that
 * lists them that way sees the same order), else by name. */
static int copy_group(hid_t src, hid_t dst)
{
    hid_t gcpl = H5Gget_create_plist(src);
    unsigned crt = 0;
    H5Pget_link_creation_order(gcpl, &crt);
    H5Pclose(gcpl);
    hsize_t at = 0;
    H5_index_t index = (crt & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
    return H5Literate(src, index, H5_ITER_INC, &at, copy_member, &dst) < 0 ? -1 : 0;
}

int old_format_copy(const char *src, const char *dst)
{
    hid_t in = H5Fopen(src, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (in < 0) return fail("opening", src);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    H5Pset_obj_track_times(fcpl, 0);
    hid_t out = H5Fcreate(dst, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT); /* the library's default format bounds */
    H5Pclose(fcpl);
    int rc = -1;
    if (out >= 0) {
        hid_t rin = H5Gopen2(in, "/", H5P_DEFAULT), rout = H5Gopen2(out, "/", H5P_DEFAULT);
        rc = copy_attrs(rin, rout) == 0 && copy_group(rin, rout) == 0 ? 0 : -1;
        H5Gclose(rin);
        H5Gclose(rout);
        if (H5Fclose(out) < 0) rc = fail("closing", dst);
    } else {
        fail("creating", dst);
    }
    H5Fclose(in);
    return rc;
}
