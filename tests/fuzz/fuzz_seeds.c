/* Writes the seed corpus of every fuzz target: valid inputs made by the
 * library itself (the raw Ali-CCP generator, the default configuration
 * rendered as INI, the repository's experiment configs) and hand-made
 * malformed variants of each. Nothing is copied from external data.
 *
 * usage: fuzz_seeds OUT_DIR [CONFIG.ini ...]
 * creates OUT_DIR/<target>/seed-N for the targets text_scan, aliccp_raw,
 * csv, csv_import and config. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/gen_aliccp_raw.h"
#include "config/config.h"

static int write_seed(const char *dir, const char *target, int *counter, unsigned char prefix, int has_prefix,
                      const char *text, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/seed-%03d", dir, target, (*counter)++);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "fuzz_seeds: cannot write %s: %s\n", path, strerror(errno));
        return 0;
    }
    if (has_prefix) fputc(prefix, f);
    fwrite(text, 1, len, f);
    return fclose(f) == 0;
}

#define SEED(target, prefix, text) write_seed(dir, #target, &n_##target, (unsigned char)(prefix), 1, text, strlen(text))
#define SEED_RAW(target, text) write_seed(dir, #target, &n_##target, 0, 0, text, strlen(text))

/* The first `lines` lines of path, or NULL. */
static char *head_lines(const char *path, int lines)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    int c, seen = 0;
    while (buf && n < cap && (c = fgetc(f)) != EOF) {
        buf[n++] = (char)c;
        if (c == '\n' && ++seen == lines) break;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

static int seeds_raw(const char *dir, int *counter)
{
    char gen_dir[4096];
    snprintf(gen_dir, sizeof gen_dir, "%s/.gen-aliccp-raw", dir);
    mkdir(gen_dir, 0755);
    aliccp_gen_options g = {gen_dir, 40, 10, 8, 12, 7};
    if (gen_aliccp_raw(&g) != DMMP_OK) {
        fprintf(stderr, "fuzz_seeds: %s\n", dmmp_errmsg());
        return 0;
    }
    static const char *files[] = {"sample_skeleton_train.csv", "common_features_train.csv", "sample_skeleton_test.csv",
                                  "common_features_test.csv"};
    int ok = 1;
    for (int common = 0; common <= 1; common++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", gen_dir, files[common]);
        for (int lines = 1; lines <= 8; lines *= 2) {
            char *text = head_lines(path, lines);
            if (!text) return 0;
            ok &= write_seed(dir, "aliccp_raw", counter, (unsigned char)common, 1, text, strlen(text));
            /* The same lines cut short in the middle of the last one. */
            ok &= write_seed(dir, "aliccp_raw", counter, (unsigned char)common, 1, text, strlen(text) * 3 / 4);
            free(text);
        }
    }
    for (int i = 0; i < 4; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", gen_dir, files[i]);
        unlink(path);
    }
    rmdir(gen_dir);
    /* Malformed lines, one per error the parser names. */
    static const char *bad_skeleton[] = {
        "1,1,0,abc,2,101\x02" "5\x03" "1.0\x01" "205\x02" "7\x03" "1\n", /* valid */
        "1,0,1,abc,1,101\x02" "5\x03" "1\n",                             /* conversion without click */
        "1,1,0,abc,2,101\x02" "5\x03" "1\n",                             /* count says 2 */
        "1,1,0,abc,1,999\x02" "5\x03" "1\n",                             /* undeclared field */
        "1,1,0,abc,1,101\x02" "5\n",                                     /* missing 0x03 */
        "1,1,0,abc,1,101" "5\x03" "1\n",                                 /* missing 0x02 */
        "1,1,0,,1,101\x02" "5\x03" "1\n",                                /* empty key */
        "1,1,0\n",                                                        /* short line */
        "99999999999999999999,1,0,k,0,\n",                                /* overflow */
        "1,1,0,k,1,109_14\x02" "5\x03" "1e39\n",                         /* value out of range */
        "1,1,0,k,2,110_14\x02" "5\x03" "0.5\x01" "127_14\x02" "6\x03" "-.5e-3\r\n",
    };
    for (size_t i = 0; i < sizeof bad_skeleton / sizeof bad_skeleton[0]; i++)
        ok &= write_seed(dir, "aliccp_raw", counter, 0, 1, bad_skeleton[i], strlen(bad_skeleton[i]));
    static const char *bad_common[] = {"k,1,101\x02" "5\x03" "1\n", "k,1\n", ",1,101\x02" "5\x03" "1\n",
                                       "k,1000001,\n"};
    for (size_t i = 0; i < sizeof bad_common / sizeof bad_common[0]; i++)
        ok &= write_seed(dir, "aliccp_raw", counter, 1, 1, bad_common[i], strlen(bad_common[i]));
    return ok;
}

static const char aliccp_csv[] = "click,purchase,101,121,205,206,207,216,301,109_14,D109_14,D508\n"
                                 "1,1,7,2,50,3,9,4,1,11,0.5,0.25\n"
                                 "0,0,9,1,51,3,8,4,2,12,1.5,-1e-3\n"
                                 "1,0,7,2,50,4,9,5,1,11,2,3.5\r\n"
                                 "0,0,8,3,52,5,7,6,3,13,0,0\n";
static const char aliexpress_csv[] = "search_id,categorical_1,categorical_2,categorical_7,numerical_1,click,conversion\n"
                                     "1,3,4,10,0.5,1,0\n"
                                     "1,3,4,11,0.25,0,0\n"
                                     "2,5,4,10,1e2,1,1\n";

static int seeds_config(const char *dir, int *counter, int argc, char **argv)
{
    dmmp_config c;
    config_defaults(&c);
    char *ini;
    if (config_to_ini(&c, &ini) != DMMP_OK) return 0;
    int ok = write_seed(dir, "config", counter, 0, 1, ini, strlen(ini));
    free(ini);
    for (int i = 0; i < argc; i++) {
        char *text = head_lines(argv[i], 1000);
        if (!text) {
            fprintf(stderr, "fuzz_seeds: cannot read %s\n", argv[i]);
            return 0;
        }
        ok &= write_seed(dir, "config", counter, 0, 1, text, strlen(text));
        free(text);
    }
    static const char *texts[] = {
        "[train]\nbatch_size = -4\n", "[teacher]\nshared_experts = 0\n", "[nope]\nkey = 1\n", "[train]\nbatchsize=5\n",
        "[train\nepochs=1\n", "epochs=1\n", "[student]\nuser_tower = 256,128,64\n", "[train]\nlearning_rate = 1e-3 ; c\n",
        "[data]\npath = " "/a/very/long/path/that/goes/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/"
        "and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        ok &= write_seed(dir, "config", counter, 0, 1, texts[i], strlen(texts[i]));
    static const char *sets[] = {"train.batch_size=512", "teacher.kind=ple", "kd.temperature=nan", "model.kind",
                                 "=1", "train.epochs=99999999999999999999", "student.user_tower=1,2,3,4,5,6,7,8,9"};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        ok &= write_seed(dir, "config", counter, 1, 1, sets[i], strlen(sets[i]));
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_seeds OUT_DIR [CONFIG.ini ...]\n");
        return 2;
    }
    const char *dir = argv[1];
    static const char *targets[] = {"text_scan", "aliccp_raw", "csv", "csv_import", "config"};
    mkdir(dir, 0755);
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, targets[i]);
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "fuzz_seeds: cannot create %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    int n_text_scan = 0, n_aliccp_raw = 0, n_csv = 0, n_csv_import = 0, n_config = 0;
    int ok = 1;
    /* text_scan: selector 0 u64, 1 i64, 2 f32, 3 label, 4 lines. */
    static const char *u64s[] = {"0", "42", "18446744073709551615", "18446744073709551616", "-1", "", "1a"};
    static const char *i64s[] = {"-9223372036854775808", "9223372036854775807", "+5", "-", "--1"};
    static const char *f32s[] = {"3.25", "-1e-5", ".5", "5.", "1e39", "3.4028235e38", "1.17549435e-38", "1e-45",
                                 "0.000000000000000000000000000000001234567890123456789012e10", "1e", "nan", "0x10",
                                 "12345678901234567890123", "-0", "."};
    for (size_t i = 0; i < sizeof u64s / sizeof u64s[0]; i++) ok &= SEED(text_scan, 0, u64s[i]);
    for (size_t i = 0; i < sizeof i64s / sizeof i64s[0]; i++) ok &= SEED(text_scan, 1, i64s[i]);
    for (size_t i = 0; i < sizeof f32s / sizeof f32s[0]; i++) ok &= SEED(text_scan, 2, f32s[i]);
    ok &= SEED(text_scan, 3, "1") && SEED(text_scan, 3, "2") && SEED(text_scan, 4, "a\r\nb\n\nc");
    ok &= seeds_raw(dir, &n_aliccp_raw);
    /* csv: the options byte (delimiter, quoting), then lines; each line is checked. */
    for (int flags = 0; flags < 4; flags++) ok &= SEED(csv, flags, aliccp_csv);
    ok &= SEED(csv, 0, aliexpress_csv) && SEED(csv, 0, "a,\"b\",c\n,,\n\n") &&
          SEED(csv, 0, "1,\"a,\"\"b\"\"\",x\"y,\"\"\n\"open,1\n\"a\"b,c\n") && SEED(csv, 1, "a\t\"b\tc\"\td\n");
    /* csv_import: the options byte, then a file (see fuzz_csv_import.c). */
    for (int flags = 0; flags < 8; flags++) ok &= SEED(csv_import, flags, aliccp_csv);
    for (int flags = 8; flags < 16; flags += 3) ok &= SEED(csv_import, flags, aliexpress_csv);
    ok &= SEED(csv_import, 0, "click,purchase,101,205\n1,1,1,1\n0,1,2,2\n");          /* conversion without click */
    ok &= SEED(csv_import, 1, "click,purchase,101,205,D1\n1,0,1,1,nan\n0,0,2,2,1\n"); /* bad dense value */
    ok &= SEED(csv_import, 0, "click,purchase,101,205\n");                             /* no rows */
    ok &= SEED(csv_import, 0, "click,purchase,101\n1,0,1\n");                          /* no item column */
    ok &= SEED(csv_import, 0, "click,purchase,101,205,205\n1,0,1,1,1\n");              /* duplicate column */
    ok &= seeds_config(dir, &n_config, argc - 2, argv + 2);
    if (!ok) return 1;
    printf("fuzz_seeds: %d text_scan, %d aliccp_raw, %d csv, %d csv_import, %d config seeds in %s\n", n_text_scan,
           n_aliccp_raw, n_csv, n_csv_import, n_config, dir);
    return 0;
}
