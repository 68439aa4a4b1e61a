/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef HUB_HTTP_H
#define HUB_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "hub.h"

/*
 * The HTTPS server of the hub, on libmicrohttpd (GnuTLS): TLS 1.2 and 1.3
 * only, keep-alive, one libmicrohttpd daemon per worker thread
 * (conf.threads, at most 64), each on its own listening socket bound to
 * the same address with SO_REUSEPORT so that the kernel spreads
 * connections over them. conf.max_connections is shared out among the
 * workers; conf.max_per_ip holds per worker.
 *
 * http.c owns the connection: it reads the headers (capped by
 * conf.max_header) and the body, gunzipped or inflated when
 * Content-Encoding is gzip or deflate, the inflated size being what is
 * capped: by conf.max_body_anonymous until the request is seen to carry a
 * valid agent credential or session (Bearer or the vigil_session cookie,
 * hub_auth_peek(), looked up only once the body outgrows that cap), then
 * by conf.max_body. A Content-Length over the cap is refused (413) before
 * the body is read; a chunked or compressed body found over it is read to
 * its end and thrown away, then refused, within the request's deadline.
 * A credential that cannot be checked is 503. All the bodies held at once
 * are capped by conf.max_body_total (503 with Retry-After beyond, nothing
 * kept). http.c drops slow clients, then builds a struct hub_req and
 * calls hub_api_dispatch() for paths under /api/, or
 * hub_console_serve() (console.h: the web console's files, built in or
 * from conf.console_dir) for the rest. Whatever the handler puts in
 * struct hub_resp is sent, a body in memory or one streamed as it is made
 * (struct hub_stream); a handler never touches libmicrohttpd. Every
 * answer carries HSTS, nosniff, X-Frame-Options: DENY and
 * Referrer-Policy: no-referrer; API answers Cache-Control: no-store, the
 * console's the Content-Security-Policy (default-src 'self').
 */

/* Who made the request, after authentication (api.c fills it). */
enum hub_principal_kind {
	HUB_PRINCIPAL_NONE = 0,
	HUB_PRINCIPAL_USER,        /* console session: cookie or bearer */
	HUB_PRINCIPAL_AGENT,       /* agent credential (bearer) */
	HUB_PRINCIPAL_ENROL,       /* the enrolment account (HTTP Basic) */
};

struct hub_principal {
	enum hub_principal_kind kind;
	int64_t user_id;           /* USER, ENROL */
	char user_name[128];
	int role;                  /* HS_ROLE_* (store.h) for USER */
	int64_t agent_id;          /* AGENT: the agent's own device id */
	int via_cookie;            /* USER: authenticated by the session
	                              cookie, so CSRF rules apply */
	char csrf[64];             /* USER: the session's CSRF token */
	unsigned char session[32]; /* USER: SHA-256 of the session token */
};

#define HUB_REQ_MAX_PARAMS 4

struct hub_pool_chunk;

struct hub_req {
	struct hub *hub;
	void *conn;                /* struct MHD_Connection *, for http.c */
	const char *method;        /* "GET", "POST", ... */
	const char *path;          /* URL path without the query string */
	const char *body;          /* request body, gunzipped, NUL-terminated
	                              (NULL when there is none) */
	size_t body_len;
	char peer[64];             /* client address, text form */
	int64_t param[HUB_REQ_MAX_PARAMS]; /* numeric {id}s of the route */
	int nparam;
	struct hub_principal who;
	struct hub_pool_chunk *pool; /* freed when the request ends */
};

/* One extra response header. */
struct hub_resp_header {
	const char *name;
	char *value;               /* owned by the response */
};

#define HUB_RESP_MAX_HEADERS 8

/*
 * A body made while it is sent (exports): http.c calls fill() from the
 * worker thread whenever the client can take more. fill() writes up to max
 * bytes to buf and returns how many (> 0), 0 at the end of the body, or -1
 * on an error (the connection is closed, so the client sees a truncated
 * body, never a short one that looks whole). done() is called exactly once,
 * when the body ends, fails or the client goes away, to free ctx; also
 * when the stream is never sent (a HEAD request, a 304, hub_resp_json()
 * or hub_resp_clear() over it, a failure to queue it), and even at the
 * hub's stop. fill() and done() run on the worker thread that ran the
 * handler, between other requests of that thread: fill() must not block
 * for long, and should not hold a database read open from one call to
 * the next. max is up to 64 KiB (about 32 KiB with the default
 * max_header, from which libmicrohttpd sizes the buffer). The body is sent
 * with chunked transfer encoding; Content-Type is rs->content_type, none
 * when NULL. A client must take each block within 2 * client_timeout, or
 * is dropped (the reaper, http.c).
 */
struct hub_stream {
	ssize_t (*fill)(void *ctx, char *buf, size_t max);
	void (*done)(void *ctx);
	void *ctx;
};

struct hub_resp {
	int status;                /* HTTP status; 0 = not set (500) */
	json_t *json;              /* body as JSON (owned), or NULL */
	char *body;                /* or a raw body (owned, free()d) */
	size_t body_len;
	const char *content_type;  /* static string; default for json:
	                              "application/json" */
	struct hub_resp_header hdr[HUB_RESP_MAX_HEADERS];
	int nhdr;
	struct hub_stream stream;  /* when stream.fill is set: the body,
	                              streamed (json and body unused);
	                              hub_resp_clear() calls stream.done */
};

/*
 * Starts the server on conf.listen_host:conf.port with the hub's
 * certificate and key and returns at once (the workers run in their own
 * threads). Returns 0, or an error with a message in err (e.g. the port is
 * in use, the key does not match the certificate).
 */
int hub_http_start(struct hub *h, char *err, size_t errlen);
/* Stops accepting, finishes requests in progress, joins the threads. */
void hub_http_stop(void);

/* The value of a request header, a query-string argument or a cookie;
 * NULL when absent. Valid until the request ends. */
const char *hub_req_header(struct hub_req *rq, const char *name);
const char *hub_req_query(struct hub_req *rq, const char *name);
const char *hub_req_cookie(struct hub_req *rq, const char *name);

/* Allocates len bytes that are freed when the request ends; NULL when out
 * of memory. hub_req_strdup() likewise. */
void *hub_req_alloc(struct hub_req *rq, size_t len);
char *hub_req_strdup(struct hub_req *rq, const char *s);

/*
 * Parses the body as a JSON object. Checks the Content-Type
 * (application/json, else 415), UTF-8 and syntax (400 naming the line and
 * column), that the top level is an object (400). On failure fills rs
 * with the error and returns -1; on success *out holds a new reference
 * the caller must json_decref().
 */
int hub_req_json(struct hub_req *rq, struct hub_resp *rs, json_t **out);

/* Sets a JSON answer; takes ownership of body (may be NULL for none).
 * A raw body or a stream set before is dropped (the stream's done()
 * called). */
void hub_resp_json(struct hub_resp *rs, int status, json_t *body);

/* Sets the answer {"error": code, "message": message} with the status;
 * code is a short machine-readable word ("bad_request", "unauthorized",
 * "forbidden", "not_found", "too_large", "locked", "conflict" ...). */
void hub_resp_error(struct hub_resp *rs, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Adds a response header (copied). Returns 0 or VG_ERR_NOMEM/TOOBIG. */
int hub_resp_header(struct hub_resp *rs, const char *name,
    const char *value);

/* Frees what the response owns; ends a stream not sent (done()). */
void hub_resp_clear(struct hub_resp *rs);

/* The router (api.c): handles one /api/ request. Never fails: an
 * unknown path is a 404 answer, an internal error a 500 answer. */
void hub_api_dispatch(struct hub_req *rq, struct hub_resp *rs);

#endif
