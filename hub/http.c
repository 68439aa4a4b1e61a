/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <zlib.h>

#include "auth.h"
#include "console.h"
#include "http.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_util.h"

/*
 * TLS 1.2 and 1.3 only; in TLS 1.2 only forward-secret key exchanges and
 * AEAD ciphers. GnuTLS priority syntax.
 */
#define TLS_PRIORITIES \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
	"-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:" \
	"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

/*
 * libmicrohttpd keeps the request line, the headers, the read buffer and
 * the answer's header lines in one pool per connection. Headers that do
 * not fit in the pool get 431 from libmicrohttpd; those that fit but pass
 * max_header get 431 from us (request_begin). The pool is twice
 * max_header (at least max_header + CONN_POOL_MIN_EXTRA) so that answer
 * fits too; only headers within a few hundred bytes of the pool's size
 * leave no room for any answer, and then the connection is closed.
 */
#define CONN_POOL_MIN_EXTRA (8 * 1024)

/* The body of a request must arrive within 2 * client_timeout, plus one
 * second per MIN_UPLOAD_RATE bytes of its announced length. */
#define MIN_UPLOAD_RATE (64.0 * 1024)

/* Retry-After, in seconds, of a request refused because the bodies held
 * in memory reach max_body_total (uploads in progress end soon). */
#define BODY_BUDGET_RETRY 2

/* The block libmicrohttpd is asked to take from a streamed body (struct
 * hub_stream). It takes less when the connection's buffer, carved from
 * its memory pool (2 * max_header), is smaller: about 32 KiB by
 * default. */
#define STREAM_BLOCK (64 * 1024)

/* How long hub_http_stop() lets requests in progress finish. */
#define STOP_GRACE_SECONDS 10

#define SECURITY_HSTS "max-age=31536000"
#define CONSOLE_CSP \
	"default-src 'self'; frame-ancestors 'none'; base-uri 'self'; " \
	"form-action 'self'"

/* A block of the per-request pool: the request's allocations, freed
 * together when it ends. */
struct hub_pool_chunk {
	struct hub_pool_chunk *next;
	max_align_t data[];
};

enum body_coding { CODING_NONE, CODING_GZIP, CODING_DEFLATE };

/* Per-request state, from the first call of the handler to the
 * completion callback. */
struct http_request {
	struct hub_req rq;
	char *buf;                 /* the body, inflated; NUL-terminated */
	size_t len, cap;
	size_t limit;              /* the body's cap: max_body_anonymous
	                              until a valid credential is seen */
	int limit_final;           /* the credential was looked at */
	size_t budget;             /* bytes taken from max_body_total */
	size_t raw;                /* bytes received on the wire */
	enum body_coding coding;
	z_stream zs;
	int z_ready, z_ended;
	double deadline;           /* vg_now() by which the body is in */
	double started;
	/* An error found while the body streams in, answered once the
	 * upload ends (libmicrohttpd cannot answer in the middle). */
	int err_status;
	const char *err_code;
	char err_msg[256];
	int err_retry;             /* Retry-After of that answer, 0: none */
	int status;                /* what was answered, for the log */
};

/*
 * Every open connection, for the reaper: libmicrohttpd's timeout counts
 * silence, so a client sending a byte now and then would keep a
 * connection forever. The reaper shuts down connections that take longer
 * than 2 * client_timeout for a TLS handshake and request headers (from
 * the connection's start or the end of its previous request), or for a
 * request body; never one whose request is being handled, nor one whose
 * answer (from memory) is going out: libmicrohttpd's timeout drops a
 * client that reads nothing for client_timeout.
 *
 * A streamed answer (struct hub_stream: an export, which may take
 * minutes) has no deadline as a whole, since its size is unknown and may
 * be large. It holds the store's work open, though, so its client must
 * keep reading: each block taken from fill() (see STREAM_BLOCK) moves the
 * deadline to 2 * client_timeout later. With the defaults a client that
 * reads 1 KiB/s or more keeps its export to the end; one that stops
 * reading is dropped by libmicrohttpd's timeout (nothing could be sent
 * for client_timeout), one that reads a trickle by the reaper.
 */
enum conn_phase { PHASE_WAITING, PHASE_BODY, PHASE_HANDLING, PHASE_STREAM };

struct conn_track {
	struct conn_track *prev, *next;
	int fd;
	enum conn_phase phase;
	double deadline;           /* vg_now() */
	int reaped;
};

/* Bytes of request bodies held in memory now, by every request together;
 * conf.max_body_total caps it. */
static atomic_size_t http_body_held;

static pthread_mutex_t track_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn_track *track_head;
static pthread_t reaper_thread;
static pthread_cond_t reaper_cond;
static int reaper_running, reaper_stop;

/*
 * One libmicrohttpd daemon per worker thread, each on its own listening
 * socket bound to the same address with SO_REUSEPORT, so that the kernel
 * spreads connections over the workers. (With one socket shared by a
 * thread pool, a burst of connections is often accepted by one thread and
 * the others idle: measured, that halved the ingest rate.)
 */
#define HTTP_MAX_WORKERS 64
static struct MHD_Daemon *http_daemon[HTTP_MAX_WORKERS];
static int http_nworkers;
static struct hub *http_hub;
/* The last message libmicrohttpd logged while starting, for the error. */
static char http_start_msg[256];
static atomic_int http_starting;
static atomic_llong http_limit_logged;

/* ---- the per-request pool ---- */

void *
hub_req_alloc(struct hub_req *rq, size_t len)
{
	struct hub_pool_chunk *c;

	if (len > SIZE_MAX - sizeof(*c))
		return NULL;
	if ((c = malloc(sizeof(*c) + (len == 0 ? 1 : len))) == NULL)
		return NULL;
	c->next = rq->pool;
	rq->pool = c;
	return c->data;
}

char *
hub_req_strdup(struct hub_req *rq, const char *s)
{
	size_t len = strlen(s);
	char *p;

	if ((p = hub_req_alloc(rq, len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len + 1);
	return p;
}

static void
pool_free(struct hub_req *rq)
{
	struct hub_pool_chunk *c, *next;

	for (c = rq->pool; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	rq->pool = NULL;
}

/* ---- request accessors ---- */

/* A request made without a connection (a unit test of a handler) has no
 * headers, arguments or cookies. */
static const char *
lookup(struct hub_req *rq, enum MHD_ValueKind kind, const char *name)
{
	if (rq == NULL || rq->conn == NULL || name == NULL)
		return NULL;
	return MHD_lookup_connection_value(rq->conn, kind, name);
}

const char *
hub_req_header(struct hub_req *rq, const char *name)
{
	return lookup(rq, MHD_HEADER_KIND, name);
}

const char *
hub_req_query(struct hub_req *rq, const char *name)
{
	return lookup(rq, MHD_GET_ARGUMENT_KIND, name);
}

const char *
hub_req_cookie(struct hub_req *rq, const char *name)
{
	return lookup(rq, MHD_COOKIE_KIND, name);
}

/* ---- responses ---- */

/* Ends a streamed body that was never handed to libmicrohttpd. */
static void
resp_stream_end(struct hub_resp *rs)
{
	if (rs->stream.done != NULL)
		rs->stream.done(rs->stream.ctx);
	memset(&rs->stream, 0, sizeof(rs->stream));
}

void
hub_resp_clear(struct hub_resp *rs)
{
	int i;

	json_decref(rs->json);
	free(rs->body);
	for (i = 0; i < rs->nhdr && i < HUB_RESP_MAX_HEADERS; i++)
		free(rs->hdr[i].value);
	resp_stream_end(rs);
	memset(rs, 0, sizeof(*rs));
}

void
hub_resp_json(struct hub_resp *rs, int status, json_t *body)
{
	json_decref(rs->json);
	free(rs->body);
	resp_stream_end(rs);
	rs->json = body;
	rs->body = NULL;
	rs->body_len = 0;
	rs->content_type = NULL;
	rs->status = status;
}

void
hub_resp_error(struct hub_resp *rs, int status, const char *code,
    const char *fmt, ...)
{
	char msg[1024], *clean = NULL;
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The message may quote what a client sent; JSON needs UTF-8. */
	if (!vg_utf8_valid(msg, strlen(msg)))
		clean = vg_utf8_sanitize(msg, strlen(msg));
	j = json_pack("{s:s, s:s}", "error", code, "message",
	    clean != NULL ? clean : msg);
	free(clean);
	/* Out of memory: the status alone still says what happened. */
	hub_resp_json(rs, status, j);
}

int
hub_resp_header(struct hub_resp *rs, const char *name, const char *value)
{
	char *copy;

	if (rs->nhdr >= HUB_RESP_MAX_HEADERS)
		return VG_ERR_TOOBIG;
	/* A line break would let a value forge another header. */
	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		return VG_ERR_INVAL;
	if ((copy = strdup(value)) == NULL)
		return VG_ERR_NOMEM;
	rs->hdr[rs->nhdr].name = name;
	rs->hdr[rs->nhdr].value = copy;
	rs->nhdr++;
	return 0;
}

/* ---- JSON bodies ---- */

/* Offset of the first byte that is not part of valid UTF-8, or len. */
static size_t
utf8_invalid_at(const char *s, size_t len)
{
	size_t lo = 0, n;

	if (vg_utf8_valid(s, len))
		return len;
	/* Grow a valid prefix sequence by sequence; vg_utf8_valid() judges
	 * each sequence of 1 to 4 bytes. */
	while (lo < len) {
		for (n = 1; n <= 4 && lo + n <= len; n++)
			if (vg_utf8_valid(s + lo, n))
				break;
		if (n > 4 || lo + n > len)
			return lo;
		lo += n;
	}
	return len;
}

/* Whether a Content-Type value names JSON: "application/json", with an
 * optional "; charset=utf-8". */
static int
is_json_type(const char *ct)
{
	static const char json[] = "application/json";
	const char *p;

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, json, sizeof(json) - 1) != 0)
		return 0;
	p = ct + sizeof(json) - 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 1;
	if (*p != ';')
		return 0;
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "charset=", 8) != 0)
		return 0;
	p += 8;
	if (*p == '"')
		p++;
	return strncasecmp(p, "utf-8", 5) == 0 &&
	    strspn(p + 5, "\" \t") == strlen(p + 5);
}

int
hub_req_json(struct hub_req *rq, struct hub_resp *rs, json_t **out)
{
	json_error_t jerr;
	json_t *j;
	size_t bad;

	*out = NULL;
	if (rq->conn != NULL &&
	    !is_json_type(hub_req_header(rq, "Content-Type"))) {
		hub_resp_error(rs, 415, "unsupported_media_type",
		    "the request body must be JSON (Content-Type: "
		    "application/json)");
		return -1;
	}
	if (rq->body == NULL || rq->body_len == 0) {
		hub_resp_error(rs, 400, "bad_request",
		    "the request has no body; expected a JSON object");
		return -1;
	}
	/* jansson checks UTF-8 as it parses; only a failure is worth a
	 * second pass, for a message that names the byte. */
	j = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL && (bad = utf8_invalid_at(rq->body, rq->body_len)) <
	    rq->body_len) {
		hub_resp_error(rs, 400, "bad_request",
		    "body is not valid UTF-8 (byte %zu)", bad);
		return -1;
	}
	if (j == NULL) {
		hub_resp_error(rs, 400, "bad_request",
		    "malformed JSON at line %d column %d: %s", jerr.line,
		    jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		hub_resp_error(rs, 400, "bad_request",
		    "expected a JSON object at the top level of the body");
		return -1;
	}
	*out = j;
	return 0;
}

/* ---- the body ---- */

/*
 * Takes bytes from the budget of body memory (max_body_total) until this
 * request holds total. Returns 0, or VG_ERR_BUSY when that would pass the
 * budget (nothing taken).
 */
static int
budget_take(struct http_request *hr, size_t total)
{
	size_t max = http_hub->conf.max_body_total, more, held;

	if (total <= hr->budget)
		return 0;
	more = total - hr->budget;
	held = atomic_load(&http_body_held);
	do {
		if (held > max || more > max - held)
			return VG_ERR_BUSY;
	} while (!atomic_compare_exchange_weak(&http_body_held, &held,
	    held + more));
	hr->budget = total;
	return 0;
}

/* Frees the body and gives its bytes back to the budget. */
static void
body_release(struct http_request *hr)
{
	free(hr->buf);
	hr->buf = NULL;
	hr->len = hr->cap = 0;
	hr->rq.body = NULL;
	hr->rq.body_len = 0;
	if (hr->budget > 0) {
		atomic_fetch_sub(&http_body_held, hr->budget);
		hr->budget = 0;
	}
}

/*
 * Remembers the first error met while the body streams in, and drops what
 * was kept of the body: the rest is read and thrown away, so that the
 * client reads the answer.
 */
static void
body_fail(struct http_request *hr, int status, const char *code,
    int retry_after, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
body_fail(struct http_request *hr, int status, const char *code,
    int retry_after, const char *fmt, ...)
{
	va_list ap;

	body_release(hr);
	if (hr->z_ready) {
		inflateEnd(&hr->zs);
		hr->z_ready = 0;
	}
	if (hr->err_status != 0)
		return;
	hr->err_status = status;
	hr->err_code = code;
	hr->err_retry = retry_after;
	va_start(ap, fmt);
	vsnprintf(hr->err_msg, sizeof(hr->err_msg), fmt, ap);
	va_end(ap);
}

static void
body_too_large(struct http_request *hr)
{
	const char *verb = hr->coding != CODING_NONE ? "inflates to more" :
	    "is larger";

	if (hr->limit < http_hub->conf.max_body)
		body_fail(hr, 413, "too_large", 0, "the request body %s than "
		    "%zu bytes, the most accepted without a valid credential",
		    verb, hr->limit);
	else
		body_fail(hr, 413, "too_large", 0, "the request body %s than "
		    "%zu bytes", verb, hr->limit);
}

/*
 * The body has reached hr->limit. While that is the cap for requests
 * without a credential, looks at the request's credential once (a store
 * lookup, no side effects) and raises the cap to max_body when it is
 * valid. Returns 1 when raised, 0 when not (413), or -1 with the error
 * recorded (the store failed: 503).
 */
static int
body_raise_limit(struct http_request *hr)
{
	struct MHD_Connection *conn = hr->rq.conn;
	int r;

	if (hr->limit_final || hr->limit >= http_hub->conf.max_body)
		return 0;
	hr->limit_final = 1;
	r = hub_auth_peek(http_hub, MHD_lookup_connection_value(conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
	    MHD_lookup_connection_value(conn, MHD_COOKIE_KIND,
	    "vigil_session"));
	if (r < 0) {
		hub_log(HUB_LOG_WARN, "%s: cannot check a credential: %s",
		    hr->rq.peer, vg_strerror(r));
		body_fail(hr, 503, "unavailable", BODY_BUDGET_RETRY,
		    "cannot check the credential now; try again later");
		return -1;
	}
	if (r == 1)
		hr->limit = http_hub->conf.max_body;
	return r;
}

/*
 * Makes room for at least want more bytes of body in hr->buf, growing it
 * geometrically up to hr->limit + 2 bytes: one beyond the cap, to notice
 * that a body is over it, and the terminating NUL. Returns 0,
 * VG_ERR_TOOBIG at the cap, VG_ERR_BUSY when the budget of body memory is
 * spent, or VG_ERR_NOMEM.
 */
static int
body_reserve(struct http_request *hr, size_t want)
{
	size_t limit = hr->limit + 2, ncap;
	char *nbuf;
	int r;

	if (hr->cap - hr->len >= want + 1)
		return 0;
	if (hr->cap >= limit)
		return hr->cap - hr->len > 1 ? 0 : VG_ERR_TOOBIG;
	ncap = hr->cap < 16384 ? 16384 : hr->cap;
	while (ncap - hr->len < want + 1 && ncap < limit)
		ncap = ncap > limit / 2 ? limit : ncap * 2;
	if (ncap > limit)
		ncap = limit;
	if ((r = budget_take(hr, ncap)) != 0)
		return r;
	if ((nbuf = realloc(hr->buf, ncap)) == NULL)
		return VG_ERR_NOMEM;
	hr->buf = nbuf;
	hr->cap = ncap;
	return 0;
}

/* Records the error of a failed body_reserve(). */
static void
body_reserve_failed(struct http_request *hr, int r)
{
	if (r == VG_ERR_TOOBIG)
		body_too_large(hr);
	else if (r == VG_ERR_BUSY)
		body_fail(hr, 503, "unavailable", BODY_BUDGET_RETRY, "the hub "
		    "holds too many request bodies at once; try again in "
		    "%d s", BODY_BUDGET_RETRY);
	else
		body_fail(hr, 503, "unavailable", BODY_BUDGET_RETRY, "out of "
		    "memory for the request body");
}

/* Adds bytes received on the wire to the body, inflating them when the
 * body is compressed. Errors are left in hr (body_fail). */
static void
body_append(struct http_request *hr, const char *data, size_t n)
{
	size_t room, before;
	int r, zr;

	if (hr->coding == CODING_NONE) {
		while (hr->len + n > hr->limit) {
			if ((r = body_raise_limit(hr)) < 0)
				return;
			if (r == 0) {
				body_too_large(hr);
				return;
			}
		}
		if ((r = body_reserve(hr, n)) != 0) {
			body_reserve_failed(hr, r);
			return;
		}
		memcpy(hr->buf + hr->len, data, n);
		hr->len += n;
		return;
	}
	hr->zs.next_in = (Bytef *)(uintptr_t)data;
	hr->zs.avail_in = (uInt)n;
	while (hr->zs.avail_in > 0) {
		if (hr->z_ended) {
			/* gzip allows several members one after another. */
			if (hr->coding != CODING_GZIP ||
			    inflateReset(&hr->zs) != Z_OK) {
				body_fail(hr, 400, "bad_request", 0, "data "
				    "after the end of the compressed body");
				return;
			}
			hr->z_ended = 0;
		}
		if ((r = body_reserve(hr, 1)) != 0) {
			body_reserve_failed(hr, r);
			return;
		}
		/* Leave the byte for the NUL out of inflate's reach. */
		room = hr->cap - hr->len - 1;
		hr->zs.next_out = (Bytef *)hr->buf + hr->len;
		hr->zs.avail_out = (uInt)(room > UINT32_MAX ? UINT32_MAX : room);
		before = hr->zs.avail_out;
		zr = inflate(&hr->zs, Z_NO_FLUSH);
		hr->len += before - hr->zs.avail_out;
		if (hr->len > hr->limit) {
			if ((r = body_raise_limit(hr)) < 0)
				return;
			if (r == 0) {
				body_too_large(hr);
				return;
			}
		}
		if (zr == Z_STREAM_END) {
			hr->z_ended = 1;
		} else if (zr == Z_BUF_ERROR) {
			if (hr->zs.avail_out != 0)
				break;      /* needs more input */
		} else if (zr != Z_OK) {
			body_fail(hr, 400, "bad_request", 0, "the compressed "
			    "body is damaged: %s", hr->zs.msg != NULL ?
			    hr->zs.msg : "inflate failed");
			return;
		}
	}
}

/* ---- the reaper of slow connections ---- */

static double
phase_deadline(void)
{
	return vg_now() + 2.0 * http_hub->conf.client_timeout;
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *ci;
	struct conn_track *t = *socket_context;

	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		/* Untracked (out of memory) only means not reaped. */
		if (ci == NULL || (t = calloc(1, sizeof(*t))) == NULL)
			return;
		t->fd = ci->connect_fd;
		t->phase = PHASE_WAITING;
		t->deadline = phase_deadline();
		pthread_mutex_lock(&track_lock);
		t->next = track_head;
		if (track_head != NULL)
			track_head->prev = t;
		track_head = t;
		pthread_mutex_unlock(&track_lock);
		*socket_context = t;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && t != NULL) {
		/* libmicrohttpd closes the socket after this returns, so
		 * the reaper never shuts down a reused descriptor. */
		pthread_mutex_lock(&track_lock);
		if (t->prev != NULL)
			t->prev->next = t->next;
		else
			track_head = t->next;
		if (t->next != NULL)
			t->next->prev = t->prev;
		pthread_mutex_unlock(&track_lock);
		free(t);
		*socket_context = NULL;
	}
}

static void
track_phase(struct MHD_Connection *conn, enum conn_phase phase,
    double deadline)
{
	const union MHD_ConnectionInfo *ci;
	struct conn_track *t;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci == NULL || (t = ci->socket_context) == NULL)
		return;
	pthread_mutex_lock(&track_lock);
	t->phase = phase;
	t->deadline = deadline;
	pthread_mutex_unlock(&track_lock);
}

static void *
reaper_main(void *arg)
{
	struct timespec ts;
	struct conn_track *t;
	double now;
	int n, nstream;

	(void)arg;
	pthread_mutex_lock(&track_lock);
	while (!reaper_stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&reaper_cond, &track_lock, &ts);
		if (reaper_stop)
			break;
		now = vg_now();
		n = nstream = 0;
		for (t = track_head; t != NULL; t = t->next) {
			if (t->phase == PHASE_HANDLING || t->reaped ||
			    now <= t->deadline)
				continue;
			/* The thread owning the connection sees the end of
			 * the stream and closes it. */
			shutdown(t->fd, SHUT_RDWR);
			t->reaped = 1;
			if (t->phase == PHASE_STREAM)
				nstream++;
			else
				n++;
		}
		if (n > 0 || nstream > 0) {
			pthread_mutex_unlock(&track_lock);
			if (n > 0)
				hub_log(HUB_LOG_INFO, "dropped %d connection%s "
				    "too slow to send a request", n,
				    n == 1 ? "" : "s");
			if (nstream > 0)
				hub_log(HUB_LOG_INFO, "dropped %d connection%s "
				    "too slow to read a streamed answer",
				    nstream, nstream == 1 ? "" : "s");
			pthread_mutex_lock(&track_lock);
		}
	}
	pthread_mutex_unlock(&track_lock);
	return NULL;
}

static int
reaper_start(void)
{
	pthread_condattr_t ca;
	int e;

	if ((e = pthread_condattr_init(&ca)) != 0)
		return e;
	if ((e = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) != 0 ||
	    (e = pthread_cond_init(&reaper_cond, &ca)) != 0) {
		pthread_condattr_destroy(&ca);
		return e;
	}
	pthread_condattr_destroy(&ca);
	reaper_stop = 0;
	if ((e = pthread_create(&reaper_thread, NULL, reaper_main, NULL)) !=
	    0) {
		pthread_cond_destroy(&reaper_cond);
		return e;
	}
	reaper_running = 1;
	return 0;
}

static void
reaper_end(void)
{
	if (!reaper_running)
		return;
	pthread_mutex_lock(&track_lock);
	reaper_stop = 1;
	pthread_cond_signal(&reaper_cond);
	pthread_mutex_unlock(&track_lock);
	pthread_join(reaper_thread, NULL);
	pthread_cond_destroy(&reaper_cond);
	reaper_running = 0;
}

/* ---- sending ---- */

static int
is_api_path(const char *path)
{
	return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0;
}

/* A streamed body handed to libmicrohttpd, which owns it from then on. */
struct http_stream {
	struct hub_stream s;
	struct MHD_Connection *conn;
};

/* libmicrohttpd asks for the next block of a streamed body: the client
 * has taken the previous one. */
static ssize_t
stream_fill(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream *hs = cls;
	ssize_t n;

	(void)pos;
	n = hs->s.fill(hs->s.ctx, buf, max);
	/* The reaper's deadline: each block taken buys more time. */
	track_phase(hs->conn, PHASE_STREAM, phase_deadline());
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if ((size_t)n > max) {
		hub_log(HUB_LOG_ERROR, "a streamed body gave %zd bytes for a "
		    "block of %zu", n, max);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	return n;
}

/* libmicrohttpd is done with the response (sent, failed, the client went
 * away, or it was never queued): the one call of done(). */
static void
stream_free(void *cls)
{
	struct http_stream *hs = cls;

	if (hs->s.done != NULL)
		hs->s.done(hs->s.ctx);
	free(hs);
}

/*
 * Queues rs on the connection with the security headers every answer
 * carries. Consumes rs. A streamed body goes out in chunked transfer
 * encoding (HTTP/1.1; to an HTTP/1.0 client, up to the connection's
 * close), its connection watched by the reaper as described there.
 */
static enum MHD_Result
send_response(struct MHD_Connection *conn, struct http_request *hr,
    struct hub_resp *rs)
{
	struct MHD_Response *resp = NULL;
	struct http_stream *hs = NULL;
	const char *ctype = rs->content_type;
	char *body = NULL;
	size_t len = 0;
	enum MHD_Result ret = MHD_NO;
	int i, api = hr->rq.path == NULL || is_api_path(hr->rq.path);

	if (rs->status < 100 || rs->status > 599) {
		hub_log(HUB_LOG_ERROR, "%s %s: the handler set no status "
		    "(%d)", hr->rq.method, hr->rq.path, rs->status);
		hub_resp_error(rs, 500, "internal", "internal error");
	}
	if (rs->status == 204 || rs->status == 304) {
		/* No body, whatever the handler left. */
	} else if (rs->stream.fill != NULL) {
		/* Out of memory: hub_resp_clear() below ends the stream. */
		if ((hs = calloc(1, sizeof(*hs))) == NULL)
			goto out;
		hs->s = rs->stream;
		hs->conn = conn;
		memset(&rs->stream, 0, sizeof(rs->stream));
		/* The response owns hs now; when it cannot be made,
		 * stream_free() is ours to call. */
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
		    STREAM_BLOCK, stream_fill, hs, stream_free);
		if (resp == NULL) {
			stream_free(hs);
			goto out;
		}
	} else if (rs->json != NULL) {
		if ((body = json_dumps(rs->json, JSON_COMPACT)) == NULL) {
			hub_log(HUB_LOG_ERROR, "%s %s: cannot serialise the "
			    "answer", hr->rq.method, hr->rq.path);
			goto out;
		}
		len = strlen(body);
		if (ctype == NULL)
			ctype = "application/json";
	} else if (rs->body != NULL) {
		body = rs->body;
		len = rs->body_len;
		rs->body = NULL;
	}
	if (resp == NULL && (resp = MHD_create_response_from_buffer(len, body,
	    MHD_RESPMEM_MUST_FREE)) == NULL) {
		free(body);
		goto out;
	}
	if (((len > 0 || hs != NULL) && ctype != NULL &&
	    MHD_add_response_header(resp,
	    MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES) ||
	    MHD_add_response_header(resp, "Strict-Transport-Security",
	    SECURITY_HSTS) != MHD_YES ||
	    MHD_add_response_header(resp, "X-Content-Type-Options",
	    "nosniff") != MHD_YES ||
	    MHD_add_response_header(resp, "X-Frame-Options", "DENY") !=
	    MHD_YES ||
	    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer") !=
	    MHD_YES ||
	    MHD_add_response_header(resp, api ? "Cache-Control" :
	    "Content-Security-Policy", api ? "no-store" : CONSOLE_CSP) !=
	    MHD_YES)
		goto out;
	for (i = 0; i < rs->nhdr && i < HUB_RESP_MAX_HEADERS; i++) {
		if (MHD_add_response_header(resp, rs->hdr[i].name,
		    rs->hdr[i].value) != MHD_YES)
			hub_log(HUB_LOG_WARN, "%s %s: header %s refused",
			    hr->rq.method, hr->rq.path, rs->hdr[i].name);
	}
	hr->status = rs->status;
	ret = MHD_queue_response(conn, (unsigned int)rs->status, resp);
	if (ret == MHD_YES && hs != NULL)
		track_phase(conn, PHASE_STREAM, phase_deadline());
out:
	/* The connection holds its own reference once queued; else this
	 * frees the response (and a stream's stream_free() runs). */
	if (resp != NULL)
		MHD_destroy_response(resp);
	hub_resp_clear(rs);
	return ret;
}

/* An error answer; retry_after > 0 adds a Retry-After header. */
static enum MHD_Result
send_error(struct MHD_Connection *conn, struct http_request *hr,
    int status, const char *code, const char *msg, int retry_after)
{
	struct hub_resp rs;
	char secs[24];

	memset(&rs, 0, sizeof(rs));
	hub_resp_error(&rs, status, code, "%s", msg);
	if (retry_after > 0) {
		snprintf(secs, sizeof(secs), "%d", retry_after);
		hub_resp_header(&rs, "Retry-After", secs);
	}
	return send_response(conn, hr, &rs);
}

/* ---- the request handler ---- */

static void
peer_text(struct MHD_Connection *conn, char *out, size_t outlen)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(out, outlen, "unknown");
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, out, (socklen_t)outlen);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		/* On a dual-stack socket IPv4 peers come as ::ffff:a.b.c.d;
		 * name them the IPv4 way so lockouts see one address. */
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out,
			    (socklen_t)outlen);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
	}
}

/*
 * First call for a request: set up, and refuse at once what the headers
 * alone condemn (so the body is never read): headers over max_header, a
 * Content-Length over max_body, or over max_body_anonymous without a
 * valid credential, or more than the budget of body memory has left.
 */
static enum MHD_Result
request_begin(struct MHD_Connection *conn, struct http_request *hr)
{
	const union MHD_ConnectionInfo *ci;
	const struct hub_conf *c = &http_hub->conf;
	const char *ce, *cl;
	unsigned long long clen = 0;
	char *end, msg[200];
	int r, known = 0;

	hr->started = vg_now();
	/* Until a valid credential is seen (body_raise_limit). */
	hr->limit = c->max_body_anonymous < c->max_body ?
	    c->max_body_anonymous : c->max_body;
	hr->deadline = hr->started + 2.0 * http_hub->conf.client_timeout;
	peer_text(conn, hr->rq.peer, sizeof(hr->rq.peer));

	ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
	if (ci != NULL && ci->header_size > http_hub->conf.max_header) {
		snprintf(msg, sizeof(msg), "the request line and headers "
		    "(%zu bytes) are larger than %zu bytes", ci->header_size,
		    http_hub->conf.max_header);
		return send_error(conn, hr, 431, "too_large", msg, 0);
	}

	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL) {
		errno = 0;
		clen = strtoull(cl, &end, 10);
		if (errno != 0 || end == cl || *end != '\0')
			clen = 0;   /* libmicrohttpd refuses it anyway */
		known = 1;
		if (clen > c->max_body) {
			snprintf(msg, sizeof(msg), "the request body (%llu "
			    "bytes) is larger than %zu bytes", clen,
			    c->max_body);
			return send_error(conn, hr, 413, "too_large", msg, 0);
		}
		if (clen > hr->limit && (r = body_raise_limit(hr)) <= 0) {
			if (r < 0)
				return send_error(conn, hr, hr->err_status,
				    hr->err_code, hr->err_msg, hr->err_retry);
			snprintf(msg, sizeof(msg), "the request body (%llu "
			    "bytes) is larger than %zu bytes, the most "
			    "accepted without a valid credential", clen,
			    hr->limit);
			return send_error(conn, hr, 413, "too_large", msg, 0);
		}
		/* A big body on a slow link gets the time it needs at a
		 * modest rate; a slow drip still runs out of time. */
		hr->deadline += (double)clen / MIN_UPLOAD_RATE;
	}
	track_phase(conn, PHASE_BODY, hr->deadline);

	ce = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_ENCODING);
	if (ce == NULL || *ce == '\0' || strcasecmp(ce, "identity") == 0) {
		hr->coding = CODING_NONE;
	} else if (strcasecmp(ce, "gzip") == 0 ||
	    strcasecmp(ce, "x-gzip") == 0) {
		hr->coding = CODING_GZIP;
	} else if (strcasecmp(ce, "deflate") == 0) {
		hr->coding = CODING_DEFLATE;
	} else {
		snprintf(msg, sizeof(msg), "Content-Encoding '%.64s' is not "
		    "supported; use gzip or none", ce);
		return send_error(conn, hr, 415, "unsupported_media_type", msg,
		    0);
	}
	/* A plain body of announced length needs that much: taken from the
	 * budget now, so that the client is told at once when it is spent,
	 * before sending the body. */
	if (known && clen > 0 && hr->coding == CODING_NONE &&
	    budget_take(hr, (size_t)clen + 2) != 0) {
		snprintf(msg, sizeof(msg), "the hub holds too many request "
		    "bodies at once; try again in %d s", BODY_BUDGET_RETRY);
		return send_error(conn, hr, 503, "unavailable", msg,
		    BODY_BUDGET_RETRY);
	}
	if (hr->coding != CODING_NONE) {
		/* 16 + window bits: gzip header; plain: zlib (RFC 1950),
		 * which is what HTTP calls deflate. */
		if (inflateInit2(&hr->zs, hr->coding == CODING_GZIP ?
		    16 + MAX_WBITS : MAX_WBITS) != Z_OK)
			return send_error(conn, hr, 503, "unavailable",
			    "out of memory", BODY_BUDGET_RETRY);
		hr->z_ready = 1;
	}
	return MHD_YES;
}

/* Last call: the whole body is in; answer. */
static enum MHD_Result
request_end(struct MHD_Connection *conn, struct http_request *hr,
    const char *url, const char *method)
{
	struct hub_resp rs;

	track_phase(conn, PHASE_HANDLING, 0);
	if (hr->err_status != 0)
		return send_error(conn, hr, hr->err_status, hr->err_code,
		    hr->err_msg, hr->err_retry);
	if (hr->coding != CODING_NONE && hr->raw > 0 && !hr->z_ended) {
		body_release(hr);
		return send_error(conn, hr, 400, "bad_request", "the "
		    "compressed body ends before the end of its stream", 0);
	}
	hr->rq.method = method;
	hr->rq.path = url;
	if (hr->raw > 0 && hr->buf != NULL) {
		hr->buf[hr->len] = '\0';
		hr->rq.body = hr->buf;
		hr->rq.body_len = hr->len;
	}
	memset(&rs, 0, sizeof(rs));
	if (is_api_path(url))
		hub_api_dispatch(&hr->rq, &rs);
	else
		hub_console_serve(&hr->rq, &rs);
	/* Handled: the body's memory is not held while the answer goes
	 * out to a client that may read it slowly. */
	body_release(hr);
	return send_response(conn, hr, &rs);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_request *hr = *con_cls;
	size_t n = *upload_data_size;

	(void)cls, (void)version;
	if (hr == NULL) {
		if ((hr = calloc(1, sizeof(*hr))) == NULL)
			return MHD_NO;
		hr->rq.hub = http_hub;
		hr->rq.conn = conn;
		hr->rq.method = method;
		hr->rq.path = url;
		*con_cls = hr;
		atomic_fetch_add(&http_hub->inflight, 1);
		return request_begin(conn, hr);
	}
	if (n == 0)
		return request_end(conn, hr, url, method);

	*upload_data_size = 0;
	hr->raw += n;
	if (vg_now() > hr->deadline) {
		/* A slow drip: each byte resets the idle timeout, this
		 * does not. */
		hub_log(HUB_LOG_INFO, "%s: dropped: the body of %s %s took "
		    "longer than %.0f s", hr->rq.peer, method, url,
		    hr->deadline - hr->started);
		return MHD_NO;
	}
	if (hr->err_status != 0) {
		/* Already refused: read the rest and throw it away, so that
		 * the client reads the answer (libmicrohttpd can only answer
		 * once the body is in). Nothing is kept; the deadline above
		 * bounds how long this may go on. */
		return MHD_YES;
	}
	body_append(hr, upload_data, n);
	return MHD_YES;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_request *hr = *con_cls;

	(void)cls;
	if (hr == NULL)
		return;
	*con_cls = NULL;
	/* The next request on this connection gets its own time. */
	track_phase(conn, PHASE_WAITING, phase_deadline());
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		hub_log(HUB_LOG_DEBUG, "%s \"%s %s\" %d %zu %.1f ms",
		    hr->rq.peer, hr->rq.method != NULL ? hr->rq.method : "-",
		    hr->rq.path != NULL ? hr->rq.path : "-", hr->status,
		    hr->raw, (vg_now() - hr->started) * 1000.0);
	else
		hub_log(HUB_LOG_DEBUG, "%s \"%s %s\" ended early (%d)",
		    hr->rq.peer, hr->rq.method != NULL ? hr->rq.method : "-",
		    hr->rq.path != NULL ? hr->rq.path : "-", (int)toe);
	if (hr->z_ready)
		inflateEnd(&hr->zs);
	pool_free(&hr->rq);
	body_release(hr);
	free(hr);
	atomic_fetch_sub(&http_hub->inflight, 1);
	atomic_fetch_add(&http_hub->requests, 1);
}

/*
 * libmicrohttpd's messages: while starting they explain a failure; later
 * nearly all are about misbehaving clients (TLS handshakes that fail,
 * malformed requests), so they go to the debug level, except that a
 * connection cap being reached is a warning (once a minute at most).
 */
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t len;
	long long now, last;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	if (atomic_load(&http_starting)) {
		if (len >= sizeof(http_start_msg))
			len = sizeof(http_start_msg) - 1;
		memcpy(http_start_msg, msg, len);
		http_start_msg[len] = '\0';
		hub_log(HUB_LOG_DEBUG, "libmicrohttpd: %s", msg);
		return;
	}
	if (strstr(msg, "limit") != NULL) {
		now = (long long)vg_now();
		last = atomic_load(&http_limit_logged);
		if (now - last >= 60 && atomic_compare_exchange_strong(
		    &http_limit_logged, &last, now)) {
			hub_log(HUB_LOG_WARN, "%s (max_connections = %d, "
			    "max_per_ip = %d; not repeated for a minute)", msg,
			    http_hub->conf.max_connections,
			    http_hub->conf.max_per_ip);
			return;
		}
	}
	hub_log(HUB_LOG_DEBUG, "libmicrohttpd: %s", msg);
}

/*
 * Decodes %XX in the path and the query arguments, in place, except %00:
 * the handlers see C strings, and a NUL byte would cut "/devices/1%00x"
 * to "/devices/1". Left encoded, it makes the value plainly invalid.
 * Malformed escapes stay as they are.
 */
static size_t
unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *in = s, *out = s;
	unsigned char c;

	(void)cls, (void)conn;
	while (*in != '\0') {
		/* vg_hex_decode() stops at the first non-digit: it never
		 * reads past a NUL. */
		if (in[0] == '%' && vg_hex_decode(in + 1, 2, &c, 1) == 0 &&
		    c != 0) {
			*out++ = (char)c;
			in += 3;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
	return (size_t)(out - s);
}

/* ---- start and stop ---- */

/* Opens a listening socket ourselves, so that a port in use or a
 * privileged port reads as the person expects. shared: with SO_REUSEPORT,
 * one of the workers' sockets; else a probe that fails if anything
 * (another hub included) holds the port. */
static int
open_listener(const struct hub_conf *c, int shared, int *fd_out, int *ipv6,
    char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char port[16], where[320];
	int fd = -1, one = 1, zero = 0, r, e;

	snprintf(port, sizeof(port), "%d", c->port);
	snprintf(where, sizeof(where), strchr(c->listen_host, ':') != NULL ?
	    "[%s]:%d" : "%s:%d", c->listen_host, c->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(c->listen_host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", where,
		    gai_strerror(r));
		return VG_ERR_INVAL;
	}
	*ipv6 = res->ai_family == AF_INET6;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, res->ai_protocol);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto fail;
	if (shared && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) != 0)
		goto fail;
	/* "::" takes IPv4 clients as well. */
	if (*ipv6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
	    sizeof(zero)) != 0)
		goto fail;
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    (shared && listen(fd, 1024) != 0))
		goto fail;
	freeaddrinfo(res);
	*fd_out = fd;
	return 0;
fail:
	e = errno;
	snprintf(err, errlen, "cannot listen on %s: %s%s", where, strerror(e),
	    e == EACCES && c->port < 1024 ? " (ports below 1024 need root "
	    "or CAP_NET_BIND_SERVICE)" : "");
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return vg_err_from_errno(e);
}

/* Starts one worker: a daemon with its own polling thread on fd. */
static struct MHD_Daemon *
start_worker(struct hub *h, int fd, int ipv6, int nworkers)
{
	const struct hub_conf *c = &h->conf;
	unsigned int flags, conns;
	size_t pool;

	pool = c->max_header > CONN_POOL_MIN_EXTRA ? 2 * c->max_header :
	    c->max_header + CONN_POOL_MIN_EXTRA;
	/* The connection cap is shared out; a per-address cap holds per
	 * worker (docs/hub.md). */
	conns = (unsigned int)((c->max_connections + nworkers - 1) /
	    nworkers);
	flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ERROR_LOG | MHD_USE_ITC;
	if (ipv6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(flags, 0, NULL, NULL,
	    on_request, NULL,
	    /* First, so that no message escapes it. */
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_HTTPS_MEM_KEY, h->key_pem,
	    MHD_OPTION_HTTPS_MEM_CERT, h->cert_pem,
	    MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool,
	    MHD_OPTION_CONNECTION_LIMIT, conns,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)c->max_per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)c->client_timeout,
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
	    MHD_OPTION_END);
}

/* Stops accepting on every worker (closing their sockets). */
static void
quiesce_workers(void)
{
	MHD_socket fd;
	int i;

	for (i = 0; i < http_nworkers; i++) {
		fd = MHD_quiesce_daemon(http_daemon[i]);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
}

static void
stop_workers(void)
{
	int i;

	for (i = 0; i < http_nworkers; i++)
		MHD_stop_daemon(http_daemon[i]);
	http_nworkers = 0;
}

int
hub_http_start(struct hub *h, char *err, size_t errlen)
{
	const struct hub_conf *c = &h->conf;
	int fd = -1, ipv6 = 0, r, i, n;

	if (http_nworkers > 0) {
		snprintf(err, errlen, "the HTTPS server is already running");
		return VG_ERR_INTERNAL;
	}
	if (h->cert_pem == NULL || h->key_pem == NULL) {
		snprintf(err, errlen, "no TLS certificate loaded");
		return VG_ERR_INVAL;
	}
	/* The probe binds without SO_REUSEPORT: it fails when anything,
	 * another hub included, holds the port; the workers' sockets then
	 * keep every process that does not ask to share it out. */
	if ((r = open_listener(c, 0, &fd, &ipv6, err, errlen)) != 0)
		return r;
	close(fd);
	http_hub = h;
	n = c->threads < 1 ? 1 : c->threads > HTTP_MAX_WORKERS ?
	    HTTP_MAX_WORKERS : c->threads;
	http_start_msg[0] = '\0';
	atomic_store(&http_starting, 1);
	for (i = 0; i < n; i++) {
		if ((r = open_listener(c, 1, &fd, &ipv6, err, errlen)) != 0)
			goto fail;
		if ((http_daemon[i] = start_worker(h, fd, ipv6, n)) == NULL) {
			snprintf(err, errlen, "cannot start the HTTPS server%s%s",
			    http_start_msg[0] != '\0' ? ": " : "",
			    http_start_msg);
			close(fd);
			r = VG_ERR_INTERNAL;
			goto fail;
		}
		http_nworkers = i + 1;
	}
	atomic_store(&http_starting, 0);
	if (c->console_dir != NULL)
		hub_log(HUB_LOG_INFO, "the console is served from %s "
		    "(console_dir), read on each request, not from the files "
		    "built in", c->console_dir);
	if ((r = reaper_start()) != 0) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(r));
		r = VG_ERR_INTERNAL;
		goto fail;
	}
	return 0;
fail:
	atomic_store(&http_starting, 0);
	quiesce_workers();
	stop_workers();
	http_hub = NULL;
	return r;
}

void
hub_http_stop(void)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	double until;

	if (http_nworkers == 0)
		return;
	/* Stop taking connections, let the requests being handled end,
	 * then close what is left (idle keep-alive connections). */
	quiesce_workers();
	until = vg_now() + STOP_GRACE_SECONDS;
	while (atomic_load(&http_hub->inflight) > 0 && vg_now() < until)
		nanosleep(&pause, NULL);
	reaper_end();
	stop_workers();
}
