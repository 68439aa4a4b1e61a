/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef VG_ERR_H
#define VG_ERR_H

/*
 * Project-wide error codes. Functions that can fail return int: 0 on
 * success, one of these (negative) otherwise.
 */
enum vg_err {
	VG_OK = 0,
	VG_ERR_INTERNAL = -1,    /* a bug: should not happen */
	VG_ERR_NOMEM = -2,       /* allocation failed */
	VG_ERR_INVAL = -3,       /* bad argument or malformed input */
	VG_ERR_IO = -4,          /* read/write error; errno-style detail in message */
	VG_ERR_NOSPACE = -5,     /* disk full or quota exceeded */
	VG_ERR_NOTFOUND = -6,    /* file or item does not exist */
	VG_ERR_PERM = -7,        /* permission denied */
	VG_ERR_FORMAT = -8,      /* file is not of the expected format */
	VG_ERR_CORRUPT = -9,     /* file is of our format but damaged */
	VG_ERR_VERSION = -10,    /* format version not supported */
	VG_ERR_TOOBIG = -11,     /* input exceeds a size cap */
	VG_ERR_BUSY = -12,       /* resource locked by another process */
	VG_ERR_INTERRUPTED = -13, /* stopped by a signal */
	VG_ERR_CRYPTO = -14,     /* OpenSSL failure */
	VG_ERR_DB = -15,         /* database error not covered above */
	VG_ERR_TIMEOUT = -16,    /* a peer did not answer in time */
	VG_ERR_CLOSED = -17,     /* a peer closed the connection */
	VG_ERR_AUTH = -18,       /* a peer refused our credentials */
	VG_ERR_INCOMPLETE = -19, /* output cut short (no end marker, too short) */
	VG_ERR_HOSTKEY = -20,    /* a peer's host key is not the trusted one */
};

/* A short static description of an error code; never NULL. */
const char *vg_strerror(int err);

#include <stddef.h>

/* Writes a printf-style message to err (errlen bytes, always
 * terminated); does nothing when err is NULL or errlen 0. */
void vg_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Maps an errno value to the closest vg_err code. */
int vg_err_from_errno(int errnum);

#endif
