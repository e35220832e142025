/* Users carry the user fields (101 ... 129 and the four weighted
 * multi-valued fields) on their common-features line; items carry
 * 205 ... 216; each sample adds the position (301) and the cross fields.
 * Clicks depend on item appeal and conversions on a per-item quality, so the
 * labels are not pure noise. Formatting is by hand: writing gigabytes with
 * fprintf would dominate a throughput measurement's setup. */
#include "data/gen_aliccp_raw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/rng.h"

typedef struct out_buf {
    FILE *f;
    char *buf;
    size_t n, cap;
    const char *path;
    char tmp[4200]; /* written here, renamed to path when complete */
    int failed;
} out_buf;

static void ob_flush(out_buf *o)
{
    if (o->n && fwrite(o->buf, 1, o->n, o->f) != o->n) o->failed = 1;
    o->n = 0;
}

static void ob_reserve(out_buf *o, size_t extra)
{
    if (o->n + extra > o->cap) ob_flush(o);
}

static void ob_str(out_buf *o, const char *s)
{
    size_t len = strlen(s);
    ob_reserve(o, len);
    memcpy(o->buf + o->n, s, len);
    o->n += len;
}

static void ob_char(out_buf *o, char c)
{
    ob_reserve(o, 1);
    o->buf[o->n++] = c;
}

static void ob_u64(out_buf *o, uint64_t v)
{
    char tmp[24];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    ob_reserve(o, (size_t)k);
    while (k) o->buf[o->n++] = tmp[--k];
}

/* A weight in (0, 1) with six decimals, as in the released files. */
static void ob_weight(out_buf *o, uint32_t micro)
{
    char tmp[9] = "0.000000";
    for (int k = 7; k >= 2; k--) {
        tmp[k] = (char)('0' + micro % 10);
        micro /= 10;
    }
    ob_str(o, tmp);
}

static void ob_entry(out_buf *o, int first, const char *field, uint64_t fid, int weighted, uint32_t micro)
{
    if (!first) ob_char(o, 0x01);
    ob_str(o, field);
    ob_char(o, 0x02);
    ob_u64(o, fid);
    ob_char(o, 0x03);
    if (weighted) ob_weight(o, micro);
    else ob_str(o, "1.0");
}

/* The CSV goes to a temporary beside path (core/atomic_file.h) so a killed
 * generator never leaves a short file that an import would take as whole. */
static dmmp_status ob_open(out_buf *o, const char *dir, const char *name, char *path, size_t path_len)
{
    snprintf(path, path_len, "%s/%s", dir, name);
    memset(o, 0, sizeof *o);
    o->path = path;
    DMMP_TRY(atomic_clean_stale(path, NULL));
    DMMP_TRY(atomic_tmp_path(path, o->tmp, sizeof o->tmp));
    o->f = fopen(o->tmp, "wbx");
    if (!o->f) return dmmp_fail(DMMP_EIO, "%s: cannot create %s: %s", path, o->tmp, strerror(errno));
    o->cap = 1 << 20;
    o->buf = malloc(o->cap);
    if (!o->buf) {
        fclose(o->f);
        atomic_discard(o->tmp);
        return dmmp_fail(DMMP_ENOMEM, "%s: out of memory", path);
    }
    return DMMP_OK;
}

static dmmp_status ob_close(out_buf *o)
{
    ob_flush(o);
    free(o->buf);
    int err = o->failed ? errno : 0;
    if (fclose(o->f) != 0 && !err) err = errno ? errno : EIO;
    if (o->failed || err) {
        atomic_discard(o->tmp);
        return dmmp_fail(DMMP_EIO, "%s: write failed: %s", o->path, strerror(err ? err : EIO));
    }
    return atomic_commit(o->tmp, o->path);
}

static const char *const user_single[] = {"121", "122", "124", "125", "126", "127", "128", "129"};
static const int user_single_card[] = {98, 14, 3, 8, 4, 4, 3, 5};
static const char *const user_multi[] = {"109_14", "110_14", "127_14", "150_14"};

/* The common-features key of user u in a file: 16 hex digits. */
static void user_key(char *key, uint64_t seed, int is_test, int64_t u)
{
    uint64_t st = seed ^ ((uint64_t)is_test << 62) ^ ((uint64_t)u * 0x9e3779b97f4a7c15ULL);
    uint64_t h = rng_splitmix64(&st);
    snprintf(key, 17, "%016llx", (unsigned long long)h);
}

static dmmp_status write_common(const aliccp_gen_options *opt, int is_test, int64_t n_users, const char *name)
{
    char path[4096], key[17];
    out_buf o;
    DMMP_TRY(ob_open(&o, opt->out_dir, name, path, sizeof path));
    /* Users in a shuffled order: the importer must not rely on sorting. */
    for (int64_t i = 0; i < n_users; i++) {
        int64_t u = (i * 7 + 3) % n_users;
        if (n_users % 7 == 0) u = i;
        rng r;
        rng_stream(&r, opt->seed, 1000 + (uint64_t)u); /* the user's features are the same in both files */
        int n_multi[4];
        int count = 1 + 8;
        for (int k = 0; k < 4; k++) count += n_multi[k] = 1 + (int)rng_below(&r, 6);
        user_key(key, opt->seed, is_test, u);
        ob_str(&o, key);
        ob_char(&o, ',');
        ob_u64(&o, (uint64_t)count);
        ob_char(&o, ',');
        ob_entry(&o, 1, "101", 500000 + (uint64_t)u, 0, 0);
        for (int k = 0; k < 8; k++)
            ob_entry(&o, 0, user_single[k], 10000 * (uint64_t)(k + 1) + rng_below(&r, (uint64_t)user_single_card[k]), 0, 0);
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < n_multi[k]; j++)
                ob_entry(&o, 0, user_multi[k], 200000 * (uint64_t)(k + 1) + rng_below(&r, 300), 1,
                         1 + (uint32_t)rng_below(&r, 999999));
        ob_char(&o, '\n');
    }
    return ob_close(&o);
}

static dmmp_status write_skeleton(const aliccp_gen_options *opt, int is_test, int64_t rows, int64_t n_users,
                                  int64_t n_items, const char *name)
{
    char path[4096], key[17];
    out_buf o;
    DMMP_TRY(ob_open(&o, opt->out_dir, name, path, sizeof path));
    rng r;
    rng_stream(&r, opt->seed, is_test ? 2 : 1);
    /* A tenth of the users never appear in samples (only in common files). */
    int64_t active_users = n_users - n_users / 10;
    for (int64_t i = 0; i < rows; i++) {
        int64_t u = (int64_t)rng_below(&r, (uint64_t)active_users);
        /* Popularity bias: the square of a uniform favours low item numbers. */
        double x = rng_uniform(&r);
        int64_t it = (int64_t)(x * x * (double)n_items);
        rng item_r;
        rng_stream(&item_r, opt->seed, 5000000 + (uint64_t)it);
        uint64_t category = rng_below(&item_r, 40), shop = rng_below(&item_r, 200), brand = rng_below(&item_r, 150),
                 intention = rng_below(&item_r, 60);
        double appeal = 0.02 + 0.2 * rng_uniform(&item_r), quality = 0.05 + 0.4 * rng_uniform(&item_r);
        int click = rng_uniform(&r) < appeal;
        int conv = click && rng_uniform(&r) < quality;
        user_key(key, opt->seed, is_test, u);
        ob_u64(&o, (uint64_t)i + 1);
        ob_str(&o, click ? ",1," : ",0,");
        ob_str(&o, conv ? "1," : "0,");
        ob_str(&o, key);
        ob_str(&o, ",10,");
        ob_entry(&o, 1, "205", 1000000 + (uint64_t)it, 0, 0);
        ob_entry(&o, 0, "206", 2000000 + category, 0, 0);
        ob_entry(&o, 0, "207", 3000000 + shop, 0, 0);
        ob_entry(&o, 0, "210", 4000000 + intention, 0, 0);
        ob_entry(&o, 0, "216", 5000000 + brand, 0, 0);
        ob_entry(&o, 0, "301", 1 + rng_below(&r, 5), 0, 0);
        ob_entry(&o, 0, "508", 6000000 + (uint64_t)u % 97 * 40 + category, 0, 0);
        ob_entry(&o, 0, "509", 7000000 + (uint64_t)u % 89 * 200 + shop, 0, 0);
        ob_entry(&o, 0, "702", 8000000 + (uint64_t)u % 83 * 150 + brand, 0, 0);
        ob_entry(&o, 0, "853", 9000000 + (uint64_t)u % 79 * 60 + intention, 0, 0);
        ob_char(&o, '\n');
    }
    return ob_close(&o);
}

dmmp_status gen_aliccp_raw(const aliccp_gen_options *opt)
{
    if (!opt->out_dir) return dmmp_fail(DMMP_EINVAL, "gen-aliccp-raw: --out-dir is required");
    if (opt->rows_train < 1 || opt->rows_test < 0)
        return dmmp_fail(DMMP_EINVAL, "gen-aliccp-raw: rows must be >= 1 (train) and >= 0 (test)");
    int64_t n_users = opt->n_users > 0 ? opt->n_users : opt->rows_train / 20;
    int64_t n_items = opt->n_items > 0 ? opt->n_items : opt->rows_train / 10;
    if (n_users < 10) n_users = 10;
    if (n_items < 10) n_items = 10;
    DMMP_TRY(write_common(opt, 0, n_users, "common_features_train.csv"));
    DMMP_TRY(write_common(opt, 1, n_users, "common_features_test.csv"));
    DMMP_TRY(write_skeleton(opt, 0, opt->rows_train, n_users, n_items, "sample_skeleton_train.csv"));
    return write_skeleton(opt, 1, opt->rows_test, n_users, n_items, "sample_skeleton_test.csv");
}
