/* Files as the framework wrote them before checksums, made from files it
 * writes now: the same groups, links, attributes and values, but the HDF5
 * library's default format (superblock 0, version 1 object headers and
 * symbol-table groups where nothing newer is needed), chunked datasets
 * without Fletcher32, small datasets contiguous instead of compact, and a
 * long text as a contiguous fixed-length string. Groups that track link
 * creation order (results.h5) keep it, as they did. Used by the tests and by
 * tests/h5_old_format (for tests/bitflip.sh). */
#ifndef DMMP_TESTS_OLD_FORMAT_H
#define DMMP_TESTS_OLD_FORMAT_H

/* Writes dst (replaced) from src; 0 on success, -1 with a message on stderr. */
int old_format_copy(const char *src, const char *dst);

#endif
