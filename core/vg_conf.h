/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef VG_CONF_H
#define VG_CONF_H

#include <stddef.h>
#include <stdint.h>

/*
 * Configuration files of the daemons (hub.conf, agent.conf): one
 * "key = value" per line; blank lines and lines whose first non-blank
 * character is '#' are ignored. The value is the rest of the line with
 * surrounding blanks removed (so a path may hold '#' or spaces). A UTF-8
 * byte order mark is skipped. At most VG_CONF_FILE_MAX bytes, lines of at
 * most VG_CONF_LINE_MAX, values of at most VG_CONF_VALUE_MAX.
 */

#define VG_CONF_FILE_MAX (1024 * 1024)
#define VG_CONF_LINE_MAX 4096
#define VG_CONF_VALUE_MAX 2048

/*
 * Called for each setting, in file order. Returns 0, or a VG_ERR code
 * with msg set ("threads: expected ..."); the reader prefixes FILE:LINE.
 */
typedef int (*vg_conf_set_fn)(void *arg, const char *key,
    const char *value, char *msg, size_t msglen);

/*
 * Reads file and hands each setting to set. A key given twice is an
 * error ("FILE:12: 'threads' is already set on line 3"). Returns 0,
 * VG_ERR_NOTFOUND when the file does not exist (err "FILE: No such file
 * or directory"), VG_ERR_INVAL for a bad line, VG_ERR_TOOBIG, VG_ERR_IO,
 * VG_ERR_NOMEM, or what set returned.
 */
int vg_conf_read(const char *file, vg_conf_set_fn set, void *arg,
    char *err, size_t errlen);

/* Checks a value for key: at most VG_CONF_VALUE_MAX bytes, no control
 * characters. 0 or VG_ERR_INVAL with err set ("KEY: ..."). */
int vg_conf_value_ok(const char *key, const char *value, char *err,
    size_t errlen);

/*
 * Typed values, with the messages both daemons give: "KEY: expected a
 * whole number from MIN to MAX, not 'V'", "KEY: expected a size from MIN
 * to MAX bytes (K, M, G suffixes allowed), not 'V'", "KEY: expected
 * error, warn, info or debug, not 'V'". 0 or VG_ERR_INVAL with err set.
 */
int vg_conf_long(const char *key, const char *value, long long min,
    long long max, long *out, char *err, size_t errlen);
int vg_conf_size(const char *key, const char *value, long long min,
    long long max, uint64_t *out, char *err, size_t errlen);
int vg_conf_level(const char *key, const char *value, int *out, char *err,
    size_t errlen);

#endif
