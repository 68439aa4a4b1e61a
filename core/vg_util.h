/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef VG_UTIL_H
#define VG_UTIL_H

#include <sys/types.h>

#include <pthread.h>
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

/* Removes blanks (' ', '\t') and line ends ('\r', '\n') at both ends
 * of s, in place; returns the first kept character. */
char *vg_trim(char *s);

/* Monotonic clock in seconds. */
double vg_now(void);

/* pthread_cond_timedwait() for at most `seconds` (negative: 0; capped at
 * 1e9) on a condition variable whose clock is CLOCK_MONOTONIC, with mu
 * held. Returns on a signal, a spurious wake-up or the timeout alike:
 * callers recheck their condition. Blocks. */
void vg_cond_wait_for(pthread_cond_t *cond, pthread_mutex_t *mu,
    double seconds);

/* Wall-clock time, nanoseconds since the epoch (for event times). */
int64_t vg_wall_ns(void);

/* Writes all len bytes to fd, again after EINTR and short writes. Returns
 * 0, or -1 with errno set. May block. */
int vg_write_all(int fd, const void *buf, size_t len);

/* Reads at most size bytes from fd (the size the caller found with fstat
 * and capped), again after EINTR and short reads, stopping early at end
 * of file, into *out: NUL-terminated, *outlen bytes, the caller frees.
 * Returns 0, VG_ERR_NOMEM, or the read error (vg_err_from_errno) with
 * errno kept; on failure the bytes read are wiped before they are freed
 * (they may be a key). */
int vg_read_all(int fd, size_t size, char **out, size_t *outlen);

/*
 * Reads the regular file path, of at most max bytes, with vg_read_all()
 * (so the bytes are wiped if the read fails: they may be a key) into
 * *out, NUL-terminated, *outlen bytes; the caller frees. Errors name the
 * file in err: "PATH: No such file or directory", "PATH: not a regular
 * file", "PATH: larger than 1 MiB". Returns 0, VG_ERR_INVAL,
 * VG_ERR_TOOBIG, VG_ERR_NOMEM, or the open or read error
 * (vg_err_from_errno). Blocks on the disk.
 */
int vg_read_file(const char *path, size_t max, char **out, size_t *outlen,
    char *err, size_t errlen);

/*
 * Appends len bytes at data to the buffer *buf (*used bytes of *cap
 * allocated, kept NUL-terminated; all three zero to start), doubling it
 * as needed, for at most max bytes in all. The buffer may hold a secret
 * (a token, a password): when it grows, the old one is wiped before it is
 * freed. Returns 0, VG_ERR_TOOBIG (nothing appended) or VG_ERR_NOMEM.
 * The caller wipes and frees *buf.
 */
int vg_buf_append(char **buf, size_t *used, size_t *cap, const void *data,
    size_t len, size_t max);

/* For vg_write_file_atomic(): the new file takes the existing file's mode
 * and owner (0600 and ours when there is none). */
#define VG_MODE_KEEP ((mode_t)0)

/*
 * Replaces path with the len bytes at data so that a crash or a full disk
 * leaves either the old file or the new one, never half of either: a
 * temporary file of a unique name next to path (created O_EXCL, so it is
 * never a planted link), written, fsync'ed, renamed over path, then the
 * folder fsync'ed. The new file gets mode (umask does not apply), or with
 * VG_MODE_KEEP the mode and owner of the file it replaces, which must then
 * be a regular file, not a link. Concurrent writers of one path do not
 * mix: the last rename wins. data stays the caller's.
 * Returns 0, or VG_ERR_NOSPACE (disk full, quota), VG_ERR_PERM,
 * VG_ERR_NOTFOUND (no such folder), VG_ERR_INVAL, VG_ERR_IO... with a
 * message naming path in err; the temporary file is then removed and path
 * untouched. Blocks on the disk.
 */
int vg_write_file_atomic(const char *path, const void *data, size_t len,
    mode_t mode, char *err, size_t errlen);

#endif
