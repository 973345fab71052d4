/* toml.h: the subset of TOML 1.0 that experiment grids use, parsed into a
 * cJSON tree (Debian packages no C TOML library; see docs/experiments.md).
 *
 * Supported: comments; `key = value` with bare or quoted keys; `[table]` and
 * `[[array of tables]]` headers (one key, not dotted); values: basic strings
 * "..." (escapes \b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX), literal strings
 * '...', decimal integers and floats (with _ between digits), true/false,
 * arrays (may span lines, trailing comma allowed) and one-line inline tables
 * { k = v, ... }. Refused with a located error: dotted keys, multi-line
 * strings, dates and times, hex/octal/binary integers, inf/nan, duplicate
 * keys and tables defined twice.
 *
 * Integers become cJSON numbers (|v| <= 2^53); lines of every key are kept
 * in a mirror tree so that callers can report "file:LINE: ..." for
 * semantic errors too. */
#ifndef PIFI_EXP_TOML_H
#define PIFI_EXP_TOML_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "pifi/err.h"

/* lines mirrors root: for each key of a table, a number (the key's line) for
 * a value, an object for a table (its own line under the key ""), an array of
 * such objects for an array of tables. */
typedef struct {
    cJSON *root;
    cJSON *lines;
} TomlDoc;

/* Parse buf[0..n); what names the text in errors ("grid.toml:LINE: ..."). */
int toml_parse(const char *buf, size_t n, const char *what, TomlDoc *out, PifiErr *err);
void toml_free(TomlDoc *d);

/* The line of key in the table mirrored by lines; 0 if unknown (lines may be NULL). */
int toml_line(const cJSON *lines, const char *key);
/* The mirror of a sub-table (key) or of element i of an array of tables (key, i >= 0). */
const cJSON *toml_sub(const cJSON *lines, const char *key, int i);

#endif
