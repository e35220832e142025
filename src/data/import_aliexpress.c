/* AliExpress (the public multi-country search log): search_id,
 * categorical_1..16, numerical_1..63, click, conversion, columns found by
 * name. The release does not say which categorical column describes the
 * user and which the item, so the user side is an import option
 * (ALIEXPRESS_DEFAULT_USER_FIELDS: the first six, our choice) and the other
 * categoricals are item side. There is no user or item id: a user is the
 * tuple of its user-side ids and an item the tuple of its item-side ids.
 * search_id only groups impressions of one search and is not a feature. The
 * import is the schema-driven csv importer with the schema described here
 * (experiments/schemas/aliexpress.ini is the default one as a file). */
#include <stdio.h>
#include <string.h>

#include "data/csv_schema.h"
#include "data/import.h"
#include "data/import_rows.h"

/* 1 when name (len bytes) is an entry of the comma-separated list. */
static int in_list(const char *list, const char *name, int len)
{
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        int n = comma ? (int)(comma - p) : (int)strlen(p);
        if (n == len && !memcmp(p, name, (size_t)len)) return 1;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

typedef struct aliexpress_arg {
    const char *user_fields, *hash_spec;
} aliexpress_arg;

static dmmp_status describe_aliexpress(csv_schema *sc, const csv_field *header, int n, const text_loc *loc,
                                       const void *arg)
{
    const aliexpress_arg *x = arg;
    const char *user_fields = x->user_fields ? x->user_fields : ALIEXPRESS_DEFAULT_USER_FIELDS;
    snprintf(sc->name, sizeof sc->name, "aliexpress");
    snprintf(sc->source, sizeof sc->source, "aliexpress");
    int seen_click = 0, seen_conv = 0, n_user = 0, n_cat = 0;
    const char *names[CSV_SCHEMA_MAX_FIELDS];
    for (int pass = 0; pass < 2; pass++) /* the categoricals first, then the dense columns, each in header order */
        for (int c = 0; c < n; c++) {
            const char *a = header[c].start;
            int len = (int)(header[c].end - a);
            char name[DATASET_NAME_LEN];
            snprintf(name, sizeof name, "%.*s", len < DATASET_NAME_LEN ? len : DATASET_NAME_LEN - 1, a);
            if (len == 5 && !memcmp(a, "click", 5)) {
                seen_click += pass == 0;
            } else if (len == 10 && !memcmp(a, "conversion", 10)) {
                seen_conv += pass == 0;
            } else if (len == 9 && !memcmp(a, "search_id", 9)) {
                continue;
            } else if (len > 12 && !memcmp(a, "categorical_", 12)) {
                if (pass) continue;
                field_side side = in_list(user_fields, a, len) ? SIDE_USER : SIDE_ITEM;
                n_user += side == SIDE_USER;
                DMMP_TRY(csv_schema_add_field(sc, name, side, CSV_KIND_CATEGORICAL));
                DMMP_TRY(import_hash_buckets(x->hash_spec, name, &sc->fields[sc->n_fields - 1].hash_buckets));
                names[n_cat++] = sc->fields[sc->n_fields - 1].name;
            } else if (len > 10 && !memcmp(a, "numerical_", 10)) {
                if (pass) DMMP_TRY(csv_schema_add_field(sc, name, SIDE_USER, CSV_KIND_DENSE));
            } else {
                return text_fail(loc, a, "column '%.*s' is not an AliExpress column", len > 32 ? 32 : len, a);
            }
        }
    if (seen_click != 1 || seen_conv != 1)
        return text_fail(loc, header[0].start, "the header needs one 'click' and one 'conversion' column");
    DMMP_TRY(import_check_hash_spec(x->hash_spec, names, n_cat));
    /* Every name in the user list must be a categorical column of the file. */
    for (const char *q = user_fields; *q;) {
        const char *comma = strchr(q, ',');
        int len = comma ? (int)(comma - q) : (int)strlen(q);
        int found = 0;
        for (int f = 0; f < n_cat; f++) found |= (int)strlen(names[f]) == len && !memcmp(names[f], q, (size_t)len);
        if (!found)
            return dmmp_fail(DMMP_EINVAL, "--user-fields: '%.*s' is not a categorical column of %s", len, q, loc->file);
        if (!comma) break;
        q = comma + 1;
    }
    if (n_user == 0 || n_user == n_cat)
        return dmmp_fail(DMMP_EINVAL, "--user-fields must leave at least one categorical column on each side");
    csv_schema_label_column(&sc->click, "click");
    csv_schema_label_column(&sc->conversion, "conversion");
    return DMMP_OK;
}

dmmp_status import_aliexpress(const char *train, const char *test, const char *user_fields, const import_options *opt,
                              import_report *rep)
{
    aliexpress_arg x = {user_fields, opt->hash_spec};
    csv_import_args a = {NULL, train, NULL, test, IMPORT_SPLIT_RANDOM, NULL, describe_aliexpress, &x};
    return import_csv(&a, opt, rep);
}
