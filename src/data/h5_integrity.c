#include "data/h5_integrity.h"

#include <stdio.h>
#include <string.h>

hid_t h5_fapl_checksummed(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return fapl;
    /* Both bounds at 1.10: the low bound gives superblock 3, object header
     * 2 and the 1.10 chunk indexes (all checksummed); the high bound keeps
     * the bytes the same when built against a newer library. */
    if (H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) < 0) {
        H5Pclose(fapl);
        return H5I_INVALID_HID;
    }
    return fapl;
}

herr_t h5_dcpl_add_checksum(hid_t dcpl) { return H5Pset_fletcher32(dcpl); }

herr_t h5_dcpl_small(hid_t dcpl, int rank, const hsize_t *dims, size_t bytes)
{
    int empty = 0;
    for (int d = 0; d < rank; d++)
        if (dims[d] == 0) empty = 1;
    if (rank == 0 || empty || bytes <= H5_COMPACT_MAX_BYTES) return H5Pset_layout(dcpl, H5D_COMPACT);
    if (H5Pset_chunk(dcpl, rank, dims) < 0) return -1;
    return H5Pset_fletcher32(dcpl);
}

uint32_t h5_fletcher32(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t a = 0, b = 0;
    size_t words = len / 2;
    while (words > 0) {
        /* 360 words keep both 32-bit sums from overflowing between folds. */
        size_t n = words < 360 ? words : 360;
        words -= n;
        for (size_t i = 0; i < n; i++, p += 2) {
            a += ((uint32_t)p[0] << 8) | p[1];
            b += a;
        }
        a = (a & 0xffffu) + (a >> 16);
        b = (b & 0xffffu) + (b >> 16);
    }
    if (len & 1) {
        a += (uint32_t)p[0] << 8;
        b += a;
        a = (a & 0xffffu) + (a >> 16);
        b = (b & 0xffffu) + (b >> 16);
    }
    a = (a & 0xffffu) + (a >> 16);
    b = (b & 0xffffu) + (b >> 16);
    return (b << 16) | a;
}

void h5_append_fletcher32(unsigned char *buf, size_t len)
{
    uint32_t c = h5_fletcher32(buf, len);
    buf[len] = (unsigned char)c;
    buf[len + 1] = (unsigned char)(c >> 8);
    buf[len + 2] = (unsigned char)(c >> 16);
    buf[len + 3] = (unsigned char)(c >> 24);
}

typedef struct stack_scan {
    int checksum;
    char *detail;
    size_t len;
    int have_detail;
} stack_scan;

static herr_t scan_entry(unsigned n, const H5E_error2_t *e, void *client)
{
    (void)n;
    stack_scan *sc = client;
    char minor[256] = "";
    H5Eget_msg(e->min_num, NULL, minor, sizeof minor);
    const char *desc = e->desc ? e->desc : "";
    if (strstr(desc, "checksum") || strstr(desc, "Fletcher32") || strstr(minor, "checksum")) sc->checksum = 1;
    if (sc->detail && !sc->have_detail) {
        snprintf(sc->detail, sc->len, "%s%s%s%s", desc, *desc && *minor ? " (" : "", minor, *desc && *minor ? ")" : "");
        for (char *c = sc->detail; *c; c++)
            if (*c == '\n' || *c == '\r') *c = ' ';
        sc->have_detail = 1;
    }
    return 0;
}

int h5_error_is_checksum(char *detail, size_t len)
{
    stack_scan sc = {0, detail, len, 0};
    if (detail && len) snprintf(detail, len, "no HDF5 detail");
    hid_t stack = H5Eget_current_stack();
    if (stack < 0) return 0;
    H5Ewalk2(stack, H5E_WALK_UPWARD, scan_entry, &sc);
    /* Taking the stack cleared the live one: put it back for the caller. */
    H5Eset_current_stack(stack);
    return sc.checksum;
}

int h5_file_has_checksums(hid_t file)
{
    H5F_info2_t info;
    if (H5Fget_info2(file, &info) < 0) return -1;
    return info.super.version >= 2;
}

int h5_path_has_checksums(const char *path)
{
    static const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int answer = -1;
    for (long at = 0; answer < 0; at = at ? 2 * at : 512) {
        unsigned char head[9];
        if (fseek(f, at, SEEK_SET) != 0 || fread(head, 1, sizeof head, f) != sizeof head) break;
        if (!memcmp(head, signature, sizeof signature)) answer = head[8] >= 2;
    }
    fclose(f);
    return answer;
}

dmmp_status h5_damage(const char *file, const char *object)
{
    H5Eclear2(H5E_DEFAULT);
    return dmmp_fail(DMMP_EFORMAT, "%s: checksum mismatch in %s: the file is damaged", file, object);
}

dmmp_status h5_read_failure(const char *file, const char *object)
{
    char detail[512];
    if (h5_error_is_checksum(detail, sizeof detail)) {
        H5Eclear2(H5E_DEFAULT);
        return dmmp_fail(DMMP_EFORMAT, "%s: checksum mismatch in %s: the file is damaged", file, object);
    }
    H5Eclear2(H5E_DEFAULT);
    return dmmp_fail(DMMP_EFORMAT, "%s: reading %s failed: %s (damaged file?)", file, object, detail);
}

int h5_link_present(hid_t loc, const char *name, const char *file)
{
    H5Eclear2(H5E_DEFAULT);
    htri_t e = H5Lexists(loc, name, H5P_DEFAULT);
    if (e >= 0 && H5Eget_num(H5E_DEFAULT) == 0) return e > 0;
    h5_read_failure(file, name);
    return -1;
}

int h5_attr_present(hid_t loc, const char *name, const char *file, const char *object)
{
    H5Eclear2(H5E_DEFAULT);
    htri_t e = H5Aexists(loc, name);
    if (e >= 0 && H5Eget_num(H5E_DEFAULT) == 0) return e > 0;
    char what[1200];
    snprintf(what, sizeof what, "the attribute %s of %s", name, object);
    h5_read_failure(file, what);
    return -1;
}
