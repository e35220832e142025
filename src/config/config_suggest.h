/* "Did you mean ...?": the nearest valid key or section to a misspelt one,
 * by edit distance, so a typo in a config names its likely fix. */
#ifndef DMMP_CONFIG_CONFIG_SUGGEST_H
#define DMMP_CONFIG_CONFIG_SUGGEST_H

#include <stddef.h>

/* Edit distance (insertions, deletions, substitutions and transpositions of
 * adjacent characters each cost 1) between a and b. */
int config_edit_distance(const char *a, const char *b);

/* Hint for unknown key name in a known section: the nearest key in the
 * section or across sections ("did you mean train.learning_rate?"), or the
 * section's keys when nothing is close. */
void config_suggest_key(const char *section, const char *name, char *buf, size_t len);

/* Hint for an unknown section ("did you mean [train]?"), or the list of
 * sections when nothing is close. */
void config_suggest_section(const char *section, char *buf, size_t len);

/* Hint for an unknown "section.key" whose section does not exist: the
 * nearest full key, else the nearest section, else the list of sections. */
void config_suggest_dotted(const char *dotted, char *buf, size_t len);

#endif
