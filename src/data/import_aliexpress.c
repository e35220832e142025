/* AliExpress (the public multi-country search log): search_id,
 * categorical_1..16, numerical_1..63, click, conversion, columns found by
 * name. The release does not say which categorical column describes the
 * user and which the item, so the user side is an import option
 * (ALIEXPRESS_DEFAULT_USER_FIELDS: the first six, our choice) and the other
 * categoricals are item side. There is no user or item id: a user is the
 * tuple of its user-side ids and an item the tuple of its item-side ids.
 * search_id only groups impressions of one search and is not a feature. */
#include <stdio.h>
#include <string.h>

#include "data/import.h"
#include "data/import_csv_table.h"

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

static dmmp_status describe_aliexpress(csv_plan *p, const csv_field *header, int n, const text_loc *loc,
                                       const void *arg)
{
    const char *user_fields = arg ? arg : ALIEXPRESS_DEFAULT_USER_FIELDS;
    memset(p, 0, sizeof *p);
    p->n_cols = n;
    p->user_field = p->item_field = -1;
    p->name = "aliexpress";
    p->source = "aliexpress";
    int seen_click = 0, seen_conv = 0, n_user = 0;
    for (int c = 0; c < n; c++) {
        const char *a = header[c].start;
        int len = (int)(header[c].end - a);
        if (len == 5 && !memcmp(a, "click", 5)) {
            p->kind[c] = CSV_CLICK;
            seen_click++;
        } else if (len == 10 && !memcmp(a, "conversion", 10)) {
            p->kind[c] = CSV_CONVERSION;
            seen_conv++;
        } else if (len == 9 && !memcmp(a, "search_id", 9)) {
            p->kind[c] = CSV_IGNORE;
        } else if (len > 12 && !memcmp(a, "categorical_", 12)) {
            dataset_field *df = &p->fields[p->n_fields];
            snprintf(df->name, sizeof df->name, "%.*s", len, a);
            df->side = in_list(user_fields, a, len) ? SIDE_USER : SIDE_ITEM;
            n_user += df->side == SIDE_USER;
            p->kind[c] = CSV_SPARSE;
            p->target[c] = p->n_fields++;
        } else if (len > 10 && !memcmp(a, "numerical_", 10)) {
            p->kind[c] = CSV_DENSE;
            p->target[c] = p->n_dense;
            snprintf(p->dense_names[p->n_dense++], DATASET_NAME_LEN, "%.*s", len, a);
        } else {
            return text_fail(loc, a, "column '%.*s' is not an AliExpress column", len > 32 ? 32 : len, a);
        }
    }
    if (seen_click != 1 || seen_conv != 1)
        return text_fail(loc, header[0].start, "the header needs one 'click' and one 'conversion' column");
    /* Every name in the user list must be a categorical column of the file. */
    for (const char *q = user_fields; *q;) {
        const char *comma = strchr(q, ',');
        int len = comma ? (int)(comma - q) : (int)strlen(q);
        int found = 0;
        for (int f = 0; f < p->n_fields; f++)
            found |= (int)strlen(p->fields[f].name) == len && !memcmp(p->fields[f].name, q, (size_t)len);
        if (!found) return dmmp_fail(DMMP_EINVAL, "--user-fields: '%.*s' is not a categorical column of %s", len, q, loc->file);
        if (!comma) break;
        q = comma + 1;
    }
    if (n_user == 0 || n_user == p->n_fields)
        return dmmp_fail(DMMP_EINVAL, "--user-fields must leave at least one categorical column on each side");
    return DMMP_OK;
}

dmmp_status import_aliexpress(const char *train, const char *test, const char *user_fields, const import_options *opt,
                              import_report *rep)
{
    if (!test) return dmmp_fail(DMMP_EINVAL, "aliexpress: --test is required");
    return import_csv_table(train, NULL, test, describe_aliexpress, user_fields, opt, rep);
}
