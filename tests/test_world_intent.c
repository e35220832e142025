/* data_synth_intent: the world with per-user purchase intent. At spread 0
 * the generator writes the world it wrote before intent existed (a content
 * digest recorded from the generator of that time); with a spread the intent
 * is stored under /truth and recomputes the stored probabilities. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/synth.h"
#include "data/synth_truth.h"
#include "suites.h"
#include "testutil.h"

/* ---- a content digest of the world's objects -----------------------------
 * FNV-1a over the objects a synthetic dataset held before intent existed
 * (world_objects): each one's name, every attribute (name and value, in name
 * order) and, for a dataset, its values read in the native form of its type.
 * On the root group only the dataset attributes below count (created_with
 * names the program version, not the world). An object another part of the
 * writer adds later does not change the digest; a change to any of these
 * does, and so does a new attribute on one of them (such as an intent
 * parameter on /truth). */

static const char *const world_objects[] = {
    "/fields/multi", "/fields/name", "/fields/side", "/fields/vocab_size", "/items/sparse", "/samples",
    "/samples/click", "/samples/conversion", "/samples/item", "/samples/multi/cat_interest/indices",
    "/samples/multi/cat_interest/offsets", "/samples/multi/cat_interest/weights", "/samples/sparse",
    "/samples/split", "/samples/user", "/truth", "/truth/item_appeal", "/truth/item_bait", "/truth/item_quality",
    "/truth/item_qvec", "/truth/item_taste", "/truth/p_click", "/truth/p_conv", "/truth/position_effect",
    "/truth/scenario_effect", "/truth/user_clickiness", "/truth/user_taste",
    "/users/multi/cat_interest/indices", "/users/multi/cat_interest/offsets",
    "/users/multi/cat_interest/weights", "/users/sparse",
};
static const char *const root_attrs[] = {"format_version", "name", "n_samples", "n_users", "n_items", "source"};

typedef struct digest {
    uint64_t h;
    int failed;
} digest;

static void digest_bytes(digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        d->h ^= b[i];
        d->h *= 1099511628211ULL;
    }
}

static void digest_str(digest *d, const char *s) { digest_bytes(d, s, strlen(s) + 1); }

static hid_t memory_type(hid_t ftype)
{
    if (H5Tget_class(ftype) == H5T_STRING) return H5Tcopy(ftype);
    return H5Tget_native_type(ftype, H5T_DIR_ASCEND);
}

static void digest_attr_named(digest *d, hid_t loc, const char *name)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) {
        d->failed = 1;
        return;
    }
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
    hid_t mt = memory_type(ft);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    size_t bytes = (size_t)n * H5Tget_size(mt);
    unsigned char *buf = calloc(1, bytes + 1);
    if (!buf || H5Aread(a, mt, buf) < 0) d->failed = 1;
    else {
        digest_str(d, name);
        digest_bytes(d, buf, bytes);
    }
    free(buf);
    H5Tclose(mt);
    H5Tclose(ft);
    H5Sclose(sp);
    H5Aclose(a);
}

static herr_t digest_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    digest_attr_named(data, loc, name);
    return 0;
}

static void digest_object(digest *d, hid_t file, const char *name)
{
    digest_str(d, name);
    hid_t obj = H5Oopen(file, name, H5P_DEFAULT);
    if (obj < 0) {
        d->failed = 1;
        return;
    }
    hsize_t idx = 0;
    H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, digest_attr, d);
    if (H5Iget_type(obj) == H5I_DATASET) {
        hid_t ft = H5Dget_type(obj), sp = H5Dget_space(obj);
        hid_t mt = memory_type(ft);
        hssize_t n = H5Sget_simple_extent_npoints(sp);
        size_t bytes = (size_t)n * H5Tget_size(mt);
        unsigned char *buf = malloc(bytes + 1);
        if (!buf || (n > 0 && H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)) d->failed = 1;
        else digest_bytes(d, buf, bytes);
        free(buf);
        H5Tclose(mt);
        H5Tclose(ft);
        H5Sclose(sp);
    }
    H5Oclose(obj);
}

static int file_digest(const char *path, uint64_t *out)
{
    digest d = {14695981039346656037ULL, 0};
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return -1;
    for (size_t i = 0; i < sizeof root_attrs / sizeof root_attrs[0]; i++) digest_attr_named(&d, f, root_attrs[i]);
    for (size_t i = 0; i < sizeof world_objects / sizeof world_objects[0]; i++) digest_object(&d, f, world_objects[i]);
    H5Fclose(f);
    *out = d.h;
    return d.failed ? -1 : 0;
}

static void small_world(synth_config *c, uint64_t seed)
{
    synth_config_default(c);
    c->n_users = 2000;
    c->n_items = 500;
    c->n_impressions = 60000;
    c->seed = seed;
    c->chunk_rows = 4096;
}

/* The digest of small_world(5) and small_world(6) with bait share 0.3, as
 * the generator wrote them before purchase intent existed (commit a81971e). */
#define DIGEST_SEED5 0x9b03b1f00450d473ULL
#define DIGEST_SEED6_BAIT30 0x6e543521672815dfULL

static void test_spread0_is_the_old_world(void)
{
    char dir[512], path[600];
    tu_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/w.h5", dir);
    synth_config c;
    small_world(&c, 5);
    uint64_t h = 0;
    CU_ASSERT_EQUAL_FATAL(synth_generate(&c, path, NULL), DMMP_OK);
    CU_ASSERT_EQUAL(file_digest(path, &h), 0);
    TU_ASSERT_MSG(h == DIGEST_SEED5, "digest 0x%016llx, expected 0x%016llx", (unsigned long long)h,
                  (unsigned long long)DIGEST_SEED5);
    small_world(&c, 6);
    c.bait_share = 0.3;
    CU_ASSERT_EQUAL_FATAL(synth_generate(&c, path, NULL), DMMP_OK);
    CU_ASSERT_EQUAL(file_digest(path, &h), 0);
    TU_ASSERT_MSG(h == DIGEST_SEED6_BAIT30, "digest 0x%016llx, expected 0x%016llx", (unsigned long long)h,
                  (unsigned long long)DIGEST_SEED6_BAIT30);
    unlink(path);
    rmdir(dir);
}

int register_world_intent_suites(void)
{
    static const char *const names[] = {
        "spread 0 writes the world of before, value for value",
    };
    static const CU_TestFunc fns[] = {test_spread0_is_the_old_world};
    return tu_add_suite("data_synth_intent", names, fns, sizeof fns / sizeof fns[0]);
}
