/* The preprocessed Ali-CCP CSV layout (the layout open-source toolkits publish): click, purchase,
 * the sparse fields by their Ali-CCP ids, D-prefixed dense columns. The four
 * weighted multi-valued fields arrive here as one id each, so they are
 * single-valued fields on the user side; their weights, like the cross
 * weights, are the D* dense columns. Column order is taken from the header;
 * the fields go to the dataset in the Ali-CCP order. The import itself is
 * the schema-driven csv importer with the schema described here
 * (experiments/schemas/aliccp-csv.ini writes the same for the published
 * column order). */
#include <stdio.h>
#include <string.h>

#include "data/csv_schema.h"
#include "data/import.h"
#include "data/import_rows.h"
#include "data/parse_aliccp_raw.h"

static dmmp_status describe_aliccp_csv(csv_schema *sc, const csv_field *header, int n, const text_loc *loc,
                                       const void *arg)
{
    const char *hash_spec = arg;
    snprintf(sc->name, sizeof sc->name, "aliccp");
    snprintf(sc->source, sizeof sc->source, "aliccp-csv");
    int seen_click = 0, seen_conv = 0;
    int field_col[ALICCP_N_FIELDS];
    for (int f = 0; f < ALICCP_N_FIELDS; f++) field_col[f] = -1;
    char dense[CSV_SCHEMA_MAX_FIELDS][DATASET_NAME_LEN];
    int n_dense = 0;
    for (int c = 0; c < n; c++) {
        const char *a = header[c].start, *b = header[c].end;
        int len = (int)(b - a);
        if (len == 5 && !memcmp(a, "click", 5)) {
            seen_click++;
        } else if (len == 8 && !memcmp(a, "purchase", 8)) {
            seen_conv++;
        } else if (len > 1 && a[0] == 'D') {
            if (len >= DATASET_NAME_LEN || n_dense == CSV_SCHEMA_MAX_FIELDS)
                return text_fail(loc, a, "dense column '%.*s': too long or too many", len > 32 ? 32 : len, a);
            snprintf(dense[n_dense++], DATASET_NAME_LEN, "%.*s", len, a);
        } else {
            int f = aliccp_field_index(a, b);
            if (f < 0) return text_fail(loc, a, "column '%.*s' is not a declared Ali-CCP field", len > 32 ? 32 : len, a);
            if (field_col[f] >= 0) return text_fail(loc, a, "column '%.*s' appears twice", len, a);
            field_col[f] = c;
        }
    }
    if (seen_click != 1 || seen_conv != 1)
        return text_fail(loc, header[0].start, "the header needs one 'click' and one 'purchase' column");
    if (field_col[0] < 0 || field_col[13] < 0)
        return text_fail(loc, header[0].start, "the header needs the user id column 101 and the item id column 205");
    csv_schema_label_column(&sc->click, "click");
    csv_schema_label_column(&sc->conversion, "purchase");
    snprintf(sc->user.name, sizeof sc->user.name, "101");
    snprintf(sc->item.name, sizeof sc->item.name, "205");
    const char *names[ALICCP_N_FIELDS];
    int n_names = 0;
    for (int f = 0; f < ALICCP_N_FIELDS; f++) {
        if (field_col[f] < 0) continue;
        names[n_names++] = aliccp_fields[f].name;
        DMMP_TRY(csv_schema_add_field(sc, aliccp_fields[f].name, aliccp_fields[f].side, CSV_KIND_CATEGORICAL));
        DMMP_TRY(import_hash_buckets(hash_spec, aliccp_fields[f].name, &sc->fields[sc->n_fields - 1].hash_buckets));
    }
    DMMP_TRY(import_check_hash_spec(hash_spec, names, n_names));
    for (int k = 0; k < n_dense; k++) DMMP_TRY(csv_schema_add_field(sc, dense[k], SIDE_USER, CSV_KIND_DENSE));
    return DMMP_OK;
}

dmmp_status import_aliccp_csv(const char *train, const char *val, const char *test, const import_options *opt,
                              import_report *rep)
{
    csv_import_args a = {NULL, train, val, test, IMPORT_SPLIT_RANDOM, NULL, describe_aliccp_csv, opt->hash_spec};
    return import_csv(&a, opt, rep);
}
