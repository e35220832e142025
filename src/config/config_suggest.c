/* Nearest-name hints for configuration errors. */
#include "config/config_suggest.h"

#include <stdio.h>
#include <string.h>

#include "config/config_schema.h"

/* Names longer than this are not typos of a config key. */
#define SUGGEST_MAX_NAME 64

int config_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > SUGGEST_MAX_NAME || m > SUGGEST_MAX_NAME) return (int)(n > m ? n : m);
    /* Three rows of the optimal-string-alignment table suffice. */
    int rows[3][SUGGEST_MAX_NAME + 1];
    int *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = prev[j - 1] + cost;
            if (prev[j] + 1 < best) best = prev[j] + 1;
            if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        int *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

/* Largest distance still worth suggesting for a name of this length. */
static int close_enough(const char *name, int d)
{
    size_t len = strlen(name);
    int limit = len <= 3 ? 1 : len <= 8 ? 2 : 3;
    return d <= limit && (size_t)d < len;
}

static void list_sections(char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "sections are");
    for (size_t i = 0; i < config_section_count() && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s [%s]", i ? "," : "", config_section_at(i));
}

void config_suggest_key(const char *section, const char *name, char *buf, size_t len)
{
    const config_key *best = NULL;
    int best_d = 0;
    for (size_t i = 0; i < config_schema_size(); i++) {
        const config_key *k = config_schema_at(i);
        int d = config_edit_distance(name, k->name);
        /* Ties go to the key's own section: the user chose that section. */
        int better = !best || d < best_d ||
                     (d == best_d && !strcmp(k->section, section) && strcmp(best->section, section));
        if (better) best = k, best_d = d;
    }
    if (best && close_enough(name, best_d)) {
        snprintf(buf, len, "did you mean %s.%s?", best->section, best->name);
        return;
    }
    size_t used = (size_t)snprintf(buf, len, "keys of [%s] are", section);
    int first = 1;
    for (size_t i = 0; i < config_schema_size() && used < len; i++) {
        const config_key *k = config_schema_at(i);
        if (strcmp(k->section, section)) continue;
        used += (size_t)snprintf(buf + used, len - used, "%s %s", first ? "" : ",", k->name);
        first = 0;
    }
}

void config_suggest_section(const char *section, char *buf, size_t len)
{
    const char *best = NULL;
    int best_d = 0;
    for (size_t i = 0; i < config_section_count(); i++) {
        int d = config_edit_distance(section, config_section_at(i));
        if (!best || d < best_d) best = config_section_at(i), best_d = d;
    }
    if (best && section[0] && close_enough(section, best_d)) {
        snprintf(buf, len, "did you mean [%s]?", best);
        return;
    }
    list_sections(buf, len);
}

void config_suggest_dotted(const char *dotted, char *buf, size_t len)
{
    const config_key *best = NULL;
    int best_d = 0;
    char full[2 * SUGGEST_MAX_NAME + 2];
    for (size_t i = 0; i < config_schema_size(); i++) {
        const config_key *k = config_schema_at(i);
        snprintf(full, sizeof full, "%s.%s", k->section, k->name);
        int d = config_edit_distance(dotted, full);
        if (!best || d < best_d) best = k, best_d = d;
    }
    if (best && close_enough(dotted, best_d)) {
        snprintf(buf, len, "did you mean %s.%s?", best->section, best->name);
        return;
    }
    char section[SUGGEST_MAX_NAME + 1];
    size_t n = strcspn(dotted, ".");
    if (n > SUGGEST_MAX_NAME) n = SUGGEST_MAX_NAME;
    memcpy(section, dotted, n);
    section[n] = '\0';
    config_suggest_section(section, buf, len);
}
