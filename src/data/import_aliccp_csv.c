/* The preprocessed Ali-CCP CSV layout (the layout open-source toolkits publish): click, purchase,
 * the sparse fields by their Ali-CCP ids, D-prefixed dense columns. The four
 * weighted multi-valued fields arrive here as one id each, so they are
 * single-valued fields on the user side; their weights, like the cross
 * weights, are the D* dense columns. Column order is taken from the header. */
#include <stdio.h>
#include <string.h>

#include "data/import.h"
#include "data/import_csv_table.h"
#include "data/parse_aliccp_raw.h"

static dmmp_status describe_aliccp_csv(csv_plan *p, const csv_field *header, int n, const text_loc *loc,
                                       const void *arg)
{
    memset(p, 0, sizeof *p);
    p->n_cols = n;
    p->user_field = p->item_field = -1;
    p->name = "aliccp";
    p->source = "aliccp-csv";
    int seen_click = 0, seen_conv = 0;
    /* Fields go to the schema in the Ali-CCP order, whatever the column order. */
    int field_col[ALICCP_N_FIELDS];
    for (int f = 0; f < ALICCP_N_FIELDS; f++) field_col[f] = -1;
    for (int c = 0; c < n; c++) {
        const char *a = header[c].start, *b = header[c].end;
        int len = (int)(b - a);
        if (len == 5 && !memcmp(a, "click", 5)) {
            p->kind[c] = CSV_CLICK;
            seen_click++;
        } else if (len == 8 && !memcmp(a, "purchase", 8)) {
            p->kind[c] = CSV_CONVERSION;
            seen_conv++;
        } else if (len > 1 && a[0] == 'D') {
            p->kind[c] = CSV_DENSE;
            p->target[c] = p->n_dense;
            snprintf(p->dense_names[p->n_dense++], DATASET_NAME_LEN, "%.*s", len, a);
        } else {
            int f = aliccp_field_index(a, b);
            if (f < 0) return text_fail(loc, a, "column '%.*s' is not a declared Ali-CCP field", len > 32 ? 32 : len, a);
            if (field_col[f] >= 0) return text_fail(loc, a, "column '%.*s' appears twice", len, a);
            field_col[f] = c;
        }
    }
    if (seen_click != 1 || seen_conv != 1)
        return text_fail(loc, header[0].start, "the header needs one 'click' and one 'purchase' column");
    for (int f = 0; f < ALICCP_N_FIELDS; f++) {
        if (field_col[f] < 0) continue;
        int c = field_col[f];
        dataset_field *df = &p->fields[p->n_fields];
        snprintf(df->name, sizeof df->name, "%s", aliccp_fields[f].name);
        df->side = aliccp_fields[f].side;
        df->multi = 0;
        p->kind[c] = CSV_SPARSE;
        p->target[c] = p->n_fields;
        if (f == 0) p->user_field = p->n_fields;
        if (f == 13) p->item_field = p->n_fields;
        p->n_fields++;
    }
    if (p->user_field < 0 || p->item_field < 0)
        return text_fail(loc, header[0].start, "the header needs the user id column 101 and the item id column 205");
    return DMMP_OK;
}

dmmp_status import_aliccp_csv(const char *train, const char *val, const char *test, const import_options *opt,
                              import_report *rep)
{
    return import_csv_table(train, val, test, describe_aliccp_csv, NULL, opt, rep);
}
