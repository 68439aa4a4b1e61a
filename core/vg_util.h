/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef VG_UTIL_H
#define VG_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* 1 when the len bytes at s are valid UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF), else 0. */
int vg_utf8_valid(const char *s, size_t len);

/*
 * Escapes bytes for a one-line, terminal-safe text report: backslash as
 * "\\", newline, tab, carriage return as "\n", "\t", "\r", other control
 * bytes, DEL and bytes of invalid UTF-8 as "\xNN". Valid multi-byte UTF-8
 * passes unchanged. Returns a NUL-terminated string the caller frees, or
 * NULL on allocation failure.
 */
char *vg_escape(const char *s, size_t len);

/* Copy of s with every invalid UTF-8 sequence replaced by U+FFFD, for
 * display in JSON. Caller frees; NULL on allocation failure. */
char *vg_utf8_sanitize(const char *s, size_t len);

/* Base64 (RFC 4648, padded) through OpenSSL. Encode returns a
 * NUL-terminated string the caller frees. Decode returns 0 and a buffer
 * the caller frees, or VG_ERR_INVAL / VG_ERR_NOMEM. */
char *vg_base64_encode(const void *data, size_t len);
int vg_base64_decode(const char *s, size_t slen, unsigned char **out,
    size_t *outlen);

#define VG_TIME_BUFLEN 64
/* RFC 3339 UTC with nanoseconds: "2026-11-26T08:18:34.123456789Z". */
void vg_time_format(int64_t ns, char buf[VG_TIME_BUFLEN]);
/* Parses what vg_time_format() writes (fraction of 0-9 digits optional).
 * Returns 0 or VG_ERR_INVAL. */
int vg_time_parse(const char *s, int64_t *ns);

/* Parses a size with an optional K/M/G/T suffix (powers of 1024) into
 * *out. Returns 0 or VG_ERR_INVAL. */
int vg_parse_size(const char *s, uint64_t *out);

/* Parses a whole decimal number in [min, max]. Returns 0 or VG_ERR_INVAL. */
int vg_parse_long(const char *s, long min, long max, long *out);

/* Monotonic clock in seconds. */
double vg_now(void);

#endif
