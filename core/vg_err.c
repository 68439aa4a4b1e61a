/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "vg_err.h"

const char *
vg_strerror(int err)
{
	switch (err) {
	case VG_OK: return "success";
	case VG_ERR_INTERNAL: return "internal error";
	case VG_ERR_NOMEM: return "out of memory";
	case VG_ERR_INVAL: return "invalid argument or input";
	case VG_ERR_IO: return "input/output error";
	case VG_ERR_NOSPACE: return "no space left on device";
	case VG_ERR_NOTFOUND: return "not found";
	case VG_ERR_PERM: return "permission denied";
	case VG_ERR_FORMAT: return "unexpected file format";
	case VG_ERR_CORRUPT: return "file is corrupt";
	case VG_ERR_VERSION: return "unsupported format version";
	case VG_ERR_TOOBIG: return "input too large";
	case VG_ERR_BUSY: return "in use by another process";
	case VG_ERR_INTERRUPTED: return "interrupted";
	case VG_ERR_CRYPTO: return "cryptographic library failure";
	case VG_ERR_DB: return "database error";
	case VG_ERR_TIMEOUT: return "timed out";
	case VG_ERR_CLOSED: return "connection closed by peer";
	case VG_ERR_AUTH: return "authentication refused";
	case VG_ERR_INCOMPLETE: return "output incomplete";
	case VG_ERR_HOSTKEY: return "host key changed";
	}
	return "unknown error";
}

int
vg_err_from_errno(int errnum)
{
	switch (errnum) {
	case 0: return VG_OK;
	case ENOMEM: return VG_ERR_NOMEM;
	case ENOSPC:
	case EDQUOT:
	case EFBIG: return VG_ERR_NOSPACE;
	case ENOENT:
	case ENOTDIR: return VG_ERR_NOTFOUND;
	case EACCES:
	case EPERM:
	case EROFS: return VG_ERR_PERM;
	case EINVAL: return VG_ERR_INVAL;
	case EINTR: return VG_ERR_INTERRUPTED;
	case EWOULDBLOCK: return VG_ERR_BUSY;
	case ENAMETOOLONG: return VG_ERR_TOOBIG;
	}
	return VG_ERR_IO;
}

void
vg_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
