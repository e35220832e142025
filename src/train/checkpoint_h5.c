#include "train/checkpoint_h5.h"

#include <stdio.h>
#include <string.h>

#include "data/h5_integrity.h"

const char *ckpt_dtype_name(ckpt_dtype t)
{
    switch (t) {
    case CKPT_F32: return "float32";
    case CKPT_F64: return "float64";
    case CKPT_I64: return "int64";
    case CKPT_I32: return "int32";
    case CKPT_U8: return "uint8";
    }
    return "?";
}

size_t ckpt_dtype_size(ckpt_dtype t)
{
    switch (t) {
    case CKPT_F32: return 4;
    case CKPT_F64: return 8;
    case CKPT_I64: return 8;
    case CKPT_I32: return 4;
    case CKPT_U8: return 1;
    }
    return 0;
}

/* Little-endian on disk whatever the host, so files move between machines
 * and readers (h5py, h5dump) see the same bytes. */
hid_t ckpt_dtype_file_type(ckpt_dtype t)
{
    switch (t) {
    case CKPT_F32: return H5T_IEEE_F32LE;
    case CKPT_F64: return H5T_IEEE_F64LE;
    case CKPT_I64: return H5T_STD_I64LE;
    case CKPT_I32: return H5T_STD_I32LE;
    case CKPT_U8: return H5T_STD_U8LE;
    }
    return H5I_INVALID_HID;
}

hid_t ckpt_dtype_mem_type(ckpt_dtype t)
{
    switch (t) {
    case CKPT_F32: return H5T_NATIVE_FLOAT;
    case CKPT_F64: return H5T_NATIVE_DOUBLE;
    case CKPT_I64: return H5T_NATIVE_INT64;
    case CKPT_I32: return H5T_NATIVE_INT32;
    case CKPT_U8: return H5T_NATIVE_UINT8;
    }
    return H5I_INVALID_HID;
}

int ckpt_dtype_matches(ckpt_dtype t, hid_t h)
{
    H5T_class_t cls = H5Tget_class(h);
    size_t size = H5Tget_size(h);
    if (size != ckpt_dtype_size(t)) return 0;
    if (t == CKPT_F32 || t == CKPT_F64) return cls == H5T_FLOAT;
    if (cls != H5T_INTEGER) return 0;
    H5T_sign_t sign = H5Tget_sign(h);
    return t == CKPT_U8 ? sign == H5T_SGN_NONE : sign == H5T_SGN_2;
}

void ckpt_describe_h5_type(hid_t h, char *buf, size_t len)
{
    H5T_class_t cls = H5Tget_class(h);
    size_t bits = H5Tget_size(h) * 8;
    switch (cls) {
    case H5T_INTEGER:
        snprintf(buf, len, "%sint%zu", H5Tget_sign(h) == H5T_SGN_NONE ? "u" : "", bits);
        return;
    case H5T_FLOAT: snprintf(buf, len, "float%zu", bits); return;
    case H5T_STRING: snprintf(buf, len, "%sstring", H5Tis_variable_str(h) > 0 ? "variable-length " : ""); return;
    case H5T_COMPOUND: snprintf(buf, len, "compound"); return;
    case H5T_ENUM: snprintf(buf, len, "enum"); return;
    case H5T_ARRAY: snprintf(buf, len, "array"); return;
    default: snprintf(buf, len, "HDF5 type class %d", (int)cls); return;
    }
}

typedef struct innermost_error {
    char *buf;
    size_t len;
    int found;
} innermost_error;

static herr_t take_innermost(unsigned n, const H5E_error2_t *e, void *client)
{
    innermost_error *ie = client;
    if (n != 0 || ie->found) return 0;
    char minor[256] = "";
    H5Eget_msg(e->min_num, NULL, minor, sizeof minor);
    if (e->desc && *e->desc) snprintf(ie->buf, ie->len, "%s (%s)", e->desc, minor[0] ? minor : e->func_name);
    else snprintf(ie->buf, ie->len, "%s", minor[0] ? minor : e->func_name);
    ie->found = 1;
    return 0;
}

/* HDF5's low-level write errors come as one long multi-line dump ("file
 * write failed: time = ...\n, filename = ..., errno = 27, error message =
 * 'File too large', buf = 0x..., ..."). A user needs what failed and why:
 * "file write failed: File too large (errno 27)". Other texts only lose
 * their line breaks, so a message stays one line. */
static void condense_errno_text(char *buf, size_t len)
{
    const char *msg = strstr(buf, "error message = '"), *num = strstr(buf, "errno = ");
    const char *head_end = strstr(buf, ": time =");
    int err = 0;
    if (msg && num && head_end && sscanf(num, "errno = %d", &err) == 1) {
        char why[128];
        msg += strlen("error message = '");
        const char *close = strchr(msg, '\'');
        size_t n = close ? (size_t)(close - msg) : strlen(msg);
        if (n >= sizeof why) n = sizeof why - 1;
        memcpy(why, msg, n);
        why[n] = '\0';
        size_t head = (size_t)(head_end - buf);
        char out[512];
        snprintf(out, sizeof out, "%.*s: %s (errno %d)", (int)(head < 200 ? head : 200), buf, why, err);
        snprintf(buf, len, "%s", out);
    }
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
}

void ckpt_h5_error_text(char *buf, size_t len)
{
    innermost_error ie = {buf, len, 0};
    snprintf(buf, len, "no HDF5 detail");
    /* A copy of the stack: walking it calls no API function that would
     * reset the stack under us, and taking it clears the live one. */
    hid_t stack = H5Eget_current_stack();
    if (stack < 0) return;
    H5Ewalk2(stack, H5E_WALK_UPWARD, take_innermost, &ie);
    H5Eclose_stack(stack);
    condense_errno_text(buf, len);
}

dmmp_status ckpt_check_name(const char *file, const char *name)
{
    if (!name || !*name) return dmmp_fail(DMMP_EINVAL, "checkpoint %s: empty dataset name", file);
    size_t n = strlen(name);
    if (n > 1023) return dmmp_fail(DMMP_EINVAL, "checkpoint %s: dataset name of %zu bytes (at most 1023)", file, n);
    const char *p = name[0] == '/' ? name + 1 : name;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t c = end ? (size_t)(end - p) : strlen(p);
        if (c == 0 || (c == 1 && p[0] == '.') || (c == 2 && p[0] == '.' && p[1] == '.'))
            return dmmp_fail(DMMP_EINVAL, "checkpoint %s: dataset name \"%s\" has an empty, \".\" or \"..\" component",
                             file, name);
        if (!end) break;
        p = end + 1;
    }
    return DMMP_OK;
}

int ckpt_h5_path_exists(hid_t loc, const char *name)
{
    char prefix[1024];
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof prefix) return 0;
    memcpy(prefix, name, n + 1);
    /* H5Lexists needs every intermediate group to exist, so test each prefix. */
    for (size_t i = 1; i <= n; i++) {
        if (i < n && prefix[i] != '/') continue;
        char saved = prefix[i];
        prefix[i] = '\0';
        htri_t e = H5Lexists(loc, prefix, H5P_DEFAULT);
        prefix[i] = saved;
        if (e <= 0) {
            /* A checksum mismatch stays on the stack for the caller to name. */
            if (e == 0 || !h5_error_is_checksum(NULL, 0)) H5Eclear2(H5E_DEFAULT);
            return 0;
        }
    }
    return 1;
}

void ckpt_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
