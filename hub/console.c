/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "console.h"
#include "http.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_util.h"

/* Bytes of the SHA-256 that make the ETag: 128 bits. */
#define ETAG_BYTES 16

static const struct {
	const char *ext;
	const char *type;
} console_types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "json", "application/json" },
	{ "map", "application/json" },
	{ "webmanifest", "application/manifest+json" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "ico", "image/x-icon" },
	{ "woff2", "font/woff2" },
	{ "woff", "font/woff" },
	{ "txt", "text/plain; charset=utf-8" },
};

const struct hub_console_asset *
hub_console_find(const char *path)
{
	const struct hub_console_asset *a;

	for (a = hub_console_assets; a->path != NULL; a++)
		if (strcmp(a->path, path) == 0)
			return a;
	return NULL;
}

/* A character no path of the console holds: control characters, '\',
 * and '%', which only an escape left encoded (%00) or a malformed one
 * leaves in a decoded path. */
static int
bad_char(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '\\' || c == '%';
}

static int
file_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	    c == '/';
}

int
hub_console_resolve(const char *url, char *out, size_t outlen)
{
	static const char index_path[] = "/index.html";
	const char *p, *last;
	size_t len;

	if (url == NULL || url[0] != '/')
		return VG_ERR_INVAL;
	for (p = url; *p != '\0'; p++) {
		if (bad_char((unsigned char)*p))
			return VG_ERR_INVAL;
		/* "..", "." and hidden names, wherever they are. */
		if (*p == '/' && p[1] == '.')
			return VG_ERR_INVAL;
	}
	last = strrchr(url, '/') + 1;
	if (strchr(last, '.') == NULL) {
		if (outlen < sizeof(index_path))
			return VG_ERR_TOOBIG;
		memcpy(out, index_path, sizeof(index_path));
		return 0;
	}
	for (p = url; *p != '\0'; p++) {
		if (!file_char((unsigned char)*p) || (*p == '/' && p[1] == '/'))
			return VG_ERR_INVAL;
	}
	if ((len = strlen(url)) >= outlen)
		return VG_ERR_TOOBIG;
	memcpy(out, url, len + 1);
	return 0;
}

const char *
hub_console_type(const char *path)
{
	const char *dot = strrchr(path, '.');
	size_t i;

	if (dot != NULL && strchr(dot, '/') == NULL) {
		for (i = 0; i < sizeof(console_types) / sizeof(console_types[0]);
		    i++)
			if (strcasecmp(dot + 1, console_types[i].ext) == 0)
				return console_types[i].type;
	}
	return "application/octet-stream";
}

int
hub_console_etag(const unsigned char *data, size_t len,
    char out[HUB_CONSOLE_ETAG_SIZE])
{
	unsigned char md[VG_HASH_MAX_LEN];
	int r;

	if ((r = vg_hash_buffer(VG_HASH_SHA256, data, len, md)) != 0)
		return r;
	out[0] = '"';
	vg_hex_encode(md, ETAG_BYTES, out + 1);
	out[1 + 2 * ETAG_BYTES] = '"';
	out[2 + 2 * ETAG_BYTES] = '\0';
	return 0;
}

int
hub_console_etag_match(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = inm, *end;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p != '"' || (end = strchr(p + 1, '"')) == NULL)
			return 0;
		if ((size_t)(end + 1 - p) == elen && memcmp(p, etag, elen) == 0)
			return 1;
		p = end + 1;
	}
}

/*
 * Opens rel (no leading '/') below the folder dirfd for reading, never
 * outside it. openat2() refuses any step out of the folder, by "..",
 * an absolute symbolic link or a relative one that climbs out (EXDEV).
 * Where the kernel lacks it (before Linux 5.6, or a filter hides it):
 * realpath() of both and a prefix check, then open with O_NOFOLLOW;
 * a link swapped in between the check and the open could still escape,
 * which is why openat2() comes first. O_NONBLOCK: opening a FIFO must not
 * wait for a writer.
 */
static int
open_beneath(const char *dir, int dirfd, const char *rel, int *fd_out)
{
	struct open_how how;
	char *rdir = NULL, *full = NULL, *rfull = NULL;
	size_t dlen;
	long fd;
	int r = VG_ERR_INTERNAL;

	*fd_out = -1;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd >= 0) {
		*fd_out = (int)fd;
		return 0;
	}
	if (errno == EXDEV)
		return VG_ERR_PERM;
	/* ENOSYS: no openat2(); EPERM: a seccomp filter that refuses
	 * system calls it does not know (older container runtimes). */
	if (errno != ENOSYS && errno != EPERM)
		return errno == ELOOP ? VG_ERR_PERM :
		    vg_err_from_errno(errno);

	if ((rdir = realpath(dir, NULL)) == NULL) {
		r = vg_err_from_errno(errno);
		goto out;
	}
	if (asprintf(&full, "%s/%s", rdir, rel) < 0) {
		full = NULL;
		r = VG_ERR_NOMEM;
		goto out;
	}
	if ((rfull = realpath(full, NULL)) == NULL) {
		r = errno == ELOOP ? VG_ERR_PERM : vg_err_from_errno(errno);
		goto out;
	}
	dlen = strlen(rdir);
	if (strncmp(rfull, rdir, dlen) != 0 ||
	    (rfull[dlen] != '/' && strcmp(rdir, "/") != 0)) {
		r = VG_ERR_PERM;
		goto out;
	}
	if ((fd = open(rfull, (int)how.flags | O_NOFOLLOW)) < 0) {
		r = errno == ELOOP ? VG_ERR_PERM : vg_err_from_errno(errno);
		goto out;
	}
	*fd_out = (int)fd;
	r = 0;
out:
	free(rdir);
	free(full);
	free(rfull);
	return r;
}

int
hub_console_read(const char *dir, const char *path, unsigned char **data,
    size_t *len)
{
	char *buf = NULL;
	struct stat st;
	int dirfd = -1, fd = -1, r = VG_ERR_INTERNAL;

	*data = NULL;
	*len = 0;
	while (*path == '/')
		path++;
	if (*path == '\0')
		return VG_ERR_NOTFOUND;
	if ((dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = vg_err_from_errno(errno);
		goto out;
	}
	if ((r = open_beneath(dir, dirfd, path, &fd)) != 0)
		goto out;
	if (fstat(fd, &st) != 0) {
		r = vg_err_from_errno(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = VG_ERR_NOTFOUND;
		goto out;
	}
	if (st.st_size > HUB_CONSOLE_MAX_FILE) {
		r = VG_ERR_TOOBIG;
		goto out;
	}
	/* A file that grows while it is read is cut at the size it had. */
	if ((r = vg_read_all(fd, (size_t)st.st_size, &buf, len)) == 0)
		*data = (unsigned char *)buf;
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

/* The file's bytes (a copy the response owns) and ETag, from console_dir
 * or the built-in files. Fills rs with the error and returns -1 when
 * there is none. */
static int
console_load(struct hub_req *rq, struct hub_resp *rs, const char *file,
    unsigned char **data, size_t *len, char etag[HUB_CONSOLE_ETAG_SIZE])
{
	const struct hub_console_asset *a;
	const char *dir = rq->hub != NULL ? rq->hub->conf.console_dir : NULL;
	int r;

	if (dir == NULL) {
		if ((a = hub_console_find(file)) == NULL) {
			hub_resp_error(rs, 404, "not_found", "no such file: %s",
			    file);
			return -1;
		}
		if ((*data = malloc(a->len + 1)) == NULL) {
			hub_resp_error(rs, 503, "unavailable", "out of memory");
			return -1;
		}
		memcpy(*data, a->data, a->len);
		*len = a->len;
		snprintf(etag, HUB_CONSOLE_ETAG_SIZE, "%s", a->etag);
		return 0;
	}
	if ((r = hub_console_read(dir, file, data, len)) != 0) {
		if (r == VG_ERR_NOMEM) {
			hub_resp_error(rs, 503, "unavailable", "out of memory");
		} else if (r == VG_ERR_NOTFOUND || r == VG_ERR_PERM ||
		    r == VG_ERR_TOOBIG) {
			if (r != VG_ERR_NOTFOUND)
				hub_log(HUB_LOG_DEBUG, "console_dir %s: %s: "
				    "refused: %s", dir, file, r == VG_ERR_PERM ?
				    "unreadable, or it leads outside the folder" :
				    "larger than 16 MiB");
			hub_resp_error(rs, 404, "not_found", "no such file: %s",
			    file);
		} else {
			hub_log(HUB_LOG_ERROR, "console_dir %s: %s: %s", dir,
			    file, vg_strerror(r));
			hub_resp_error(rs, 500, "internal", "cannot read %s",
			    file);
		}
		return -1;
	}
	if (hub_console_etag(*data, *len, etag) != 0) {
		free(*data);
		*data = NULL;
		hub_resp_error(rs, 500, "internal", "cannot hash %s", file);
		return -1;
	}
	return 0;
}

void
hub_console_serve(struct hub_req *rq, struct hub_resp *rs)
{
	char file[HUB_CONSOLE_MAX_PATH], etag[HUB_CONSOLE_ETAG_SIZE];
	unsigned char *data = NULL;
	const char *inm;
	size_t len = 0;

	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
		hub_resp_error(rs, 405, "method_not_allowed",
		    "%s is not allowed here; use GET", rq->method);
		hub_resp_header(rs, "Allow", "GET, HEAD");
		return;
	}
	if (hub_console_resolve(rq->path, file, sizeof(file)) != 0) {
		hub_resp_error(rs, 404, "not_found", "no such file");
		return;
	}
	if (console_load(rq, rs, file, &data, &len, etag) != 0)
		return;
	if (hub_resp_header(rs, "ETag", etag) != 0 ||
	    hub_resp_header(rs, "Cache-Control", "no-cache") != 0) {
		free(data);
		hub_resp_clear(rs);
		hub_resp_error(rs, 503, "unavailable", "out of memory");
		return;
	}
	inm = hub_req_header(rq, "If-None-Match");
	if (inm != NULL && hub_console_etag_match(inm, etag)) {
		free(data);
		hub_resp_json(rs, 304, NULL);
		return;
	}
	hub_resp_json(rs, 200, NULL);
	rs->body = (char *)data;
	rs->body_len = len;
	rs->content_type = hub_console_type(file);
}
