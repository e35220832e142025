/* Fuzz target: the INI configuration loader (config_load_string in
 * src/config/config.h) and the --set parser (config_set).
 *
 * The first byte picks the entry point; the rest is the text. Properties: a
 * failure leaves the struct exactly as it was and has a message; a success
 * renders (config_to_ini) to text that loads back to an equal struct, and
 * config_validate returns a status without crashing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail_property(const char *what)
{
    fprintf(stderr, "config property violated: %s\n", what);
    abort();
}

static void check_round_trip(const dmmp_config *c)
{
    char *ini = NULL;
    if (config_to_ini(c, &ini) != DMMP_OK) fail_property("config_to_ini failed on a loaded config");
    dmmp_config back;
    config_defaults(&back);
    if (config_load_string(&back, ini, "rendered") != DMMP_OK) {
        fprintf(stderr, "%s\n", dmmp_errmsg());
        fail_property("the rendered INI does not load");
    }
    if (!config_equal(c, &back)) fail_property("the rendered INI loads to another config");
    free(ini);
    (void)config_validate(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192) return 0;
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    dmmp_config c, before;
    config_defaults(&c);
    /* A non-default starting point shows whether a failed call touched it. */
    if (config_set(&c, "train.batch_size=77", "fuzz") != DMMP_OK) fail_property("a valid --set failed");
    memcpy(&before, &c, sizeof c);
    dmmp_error_clear();
    dmmp_status s = data[0] & 1 ? config_set(&c, text, "--set") : config_load_string(&c, text, "fuzz.ini");
    if (s != DMMP_OK) {
        if (memcmp(&c, &before, sizeof c)) fail_property("a failed load changed the config");
        if (!dmmp_errmsg()[0]) fail_property("a failure without a message");
    } else {
        check_round_trip(&c);
    }
    free(text);
    return 0;
}
