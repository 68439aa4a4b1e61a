/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef HUB_CONSOLE_H
#define HUB_CONSOLE_H

#include <stddef.h>

/*
 * The web console's files: the HTML, CSS and JavaScript modules under
 * console/ in the source tree, built into the hub by
 * cmake/embed_console.cmake (so they ship with the binary), or, when
 * conf.console_dir is set, read from that folder on every request, to
 * work on the console without rebuilding the hub.
 *
 * Every request outside /api/ is the console's (http.c). "/" and every
 * path whose last segment holds no '.' get /index.html, so that the
 * console's own addresses ("/devices/12", "/events?type=changed") load
 * the application, which reads the address itself (history routing). A
 * path with a '.' in its last segment names a file: it is served, or 404.
 * Only GET and HEAD (405 with Allow otherwise). Answers carry a strong
 * ETag (the first 128 bits of the SHA-256 of the bytes) and
 * Cache-Control: no-cache, so a browser asks each time and gets 304 when
 * its copy is current.
 *
 * Refused (404) whatever the source: a segment starting with '.' ("..",
 * ".", ".git"), control characters, '\' and '%' (libmicrohttpd's decoding
 * leaves an encoded NUL as "%00", see http.c); a file's path must also be
 * made of A-Z a-z 0-9 . _ - and non-empty segments. From console_dir,
 * only regular files of at most HUB_CONSOLE_MAX_FILE bytes are served,
 * and nothing that resolves outside the folder: a symbolic link may point
 * within it, never out (openat2() with RESOLVE_BENEATH; where the kernel
 * lacks openat2, realpath() and a prefix check).
 */

struct hub_req;
struct hub_resp;

/* One built-in file. */
struct hub_console_asset {
	const char *path;            /* "/pages/devices.js"; NULL ends the
	                                table */
	const unsigned char *data;   /* len bytes */
	size_t len;
	const char *etag;            /* "\"<32 hex digits>\"" */
};

/* The built-in files, in the order of their paths, ending with an entry
 * whose path is NULL (console_assets.c, generated at build time). */
extern const struct hub_console_asset hub_console_assets[];

#define HUB_CONSOLE_MAX_FILE (16 * 1024 * 1024)
#define HUB_CONSOLE_MAX_PATH 1024       /* bytes of a file's path, NUL
                                           included */
#define HUB_CONSOLE_ETAG_SIZE 35        /* quotes, 32 digits, NUL */

/* The built-in file at path ("/app.js"), or NULL. */
const struct hub_console_asset *hub_console_find(const char *path);

/*
 * The file that a request path (decoded, without the query string)
 * asks for: "/index.html" for "/" and every path whose last segment has
 * no '.', else the path itself. Returns 0 with the file's path in out;
 * VG_ERR_INVAL for a path refused (above), VG_ERR_TOOBIG when the file's
 * path does not fit in outlen bytes.
 */
int hub_console_resolve(const char *url, char *out, size_t outlen);

/* The Content-Type of a file, by its extension ("text/javascript;
 * charset=utf-8" for .js); application/octet-stream when unknown. A
 * static string. */
const char *hub_console_type(const char *path);

/* The ETag of a file's bytes into out, the same that the build gives a
 * built-in file. Returns 0 or VG_ERR_CRYPTO. */
int hub_console_etag(const unsigned char *data, size_t len,
    char out[HUB_CONSOLE_ETAG_SIZE]);

/* Whether an If-None-Match header value matches etag: "*", or a list
 * holding etag (W/ ignored: the weak comparison that RFC 9110 asks of
 * If-None-Match). A malformed value matches nothing. */
int hub_console_etag_match(const char *if_none_match, const char *etag);

/*
 * Reads the file at path (as hub_console_resolve() gives it) below the
 * folder dir, never outside it. Returns 0 with *data (len bytes and a NUL
 * after them; the caller frees it) and *len; VG_ERR_NOTFOUND when there
 * is no such file or it is not a regular file, VG_ERR_PERM when it
 * resolves outside dir or cannot be read, VG_ERR_TOOBIG above
 * HUB_CONSOLE_MAX_FILE, VG_ERR_NOMEM or VG_ERR_IO. Blocks on the file
 * system.
 */
int hub_console_read(const char *dir, const char *path, unsigned char **data,
    size_t *len);

/*
 * Answers a request for the console (a path outside /api/) into rs, as
 * described above, from console_dir when rq->hub sets one, else from the
 * built-in files. Never fails: errors are answers (404, 405, 500, 503).
 */
void hub_console_serve(struct hub_req *rq, struct hub_resp *rs);

#endif
