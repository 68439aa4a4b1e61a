/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Windows hosts over SMB (proxy/windows.h): the registry through the
 * Remote Registry service (MS-RRP PDUs from proxy/msrrp.h carried over
 * \PIPE\winreg on IPC$) and files through the administrative shares,
 * both with Samba's libsmbclient.
 *
 * libsmbclient keeps process-wide state: its configuration and its
 * debug log. Debian builds it without thread support (no
 * smbc_thread_posix()), which also makes its "once" initialisation run
 * at every smbc_new_context(): each new context reloads the user's
 * ~/.smb/smb.conf or the system's smb.conf. So:
 *  - one process-wide lock is held from a collection's first
 *    libsmbclient call to its last (its talloc stack frames are plain
 *    globals too);
 *  - each new context reloads the configuration from /dev/null at once
 *    (built-in defaults: nothing of ~/.smb/smb.conf, nor of a system
 *    smb.conf that may name log files or "client" options, applies);
 *  - debug messages go to a function that drops them (the library would
 *    print them on stdout, where `vigil collect` prints items), set
 *    before the first context;
 *  - one context is kept for the life of the process, so the library is
 *    never torn down and set up again between collections.
 *
 * Each collection has its own context: Kerberos and its credential
 * caches off, no anonymous fallback (a wrong password would otherwise
 * quietly become a guest or anonymous session), names resolved here (the
 * library would broadcast NetBIOS queries for an unknown name).
 *
 * The pipe is read with exact lengths: a read asking for more than the
 * server has waiting blocks until the library's timeout. So each answer
 * is read as its 16-byte header, then the rest of that fragment, until
 * the last fragment.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libsmbclient.h>

#include "msrrp.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_item.h"
#include "vg_util.h"
#include "windows.h"

#define WIN_TIMEOUT_MS 60000            /* when the caller gives none */
#define WIN_RETRY_MS 1000               /* before the second pipe open */
#define WIN_NAME_BUF_MIN 512            /* bytes of an EnumKey/EnumValue
                                           name buffer at least */
#define WIN_NAME_BUF_MAX 65534          /* 32767 UTF-16 units */
#define WIN_DATA_MIN 256                /* bytes of a value buffer at least */
#define WIN_DATA_MAX (MSRRP_STUB_MAX - 4096) /* a value's data at most */
#define WIN_SD_MIN 1024                 /* a key security buffer at least */
#define WIN_SD_MAX 262144               /* and at most */
#define WIN_IO_CHUNK (256u * 1024)      /* bytes per file read */
#define WIN_PROBLEMS_MAX 1000           /* problem lines kept */
#define WIN_CLASS_BUF 512               /* QueryInfoKey's class buffer */
#define WIN_FAULT_NDR 0x000006f7u     /* nca_s_fault_ndr */

/* DOS attributes (MS-FSCC 2.6) in the order of the "attributes" text. */
static const struct {
	unsigned int bit;
	char letter;
} dos_attrs[] = {
	{ 0x0001, 'R' },                /* read-only */
	{ 0x0002, 'H' },                /* hidden */
	{ 0x0004, 'S' },                /* system */
	{ 0x0010, 'D' },                /* directory */
	{ 0x0020, 'A' },                /* archive */
	{ 0x0080, 'N' },                /* normal */
	{ 0x0100, 'T' },                /* temporary */
	{ 0x0200, 'P' },                /* sparse */
	{ 0x0400, 'L' },                /* reparse point (link, junction) */
	{ 0x0800, 'C' },                /* compressed */
	{ 0x1000, 'O' },                /* offline */
	{ 0x2000, 'I' },                /* not content indexed */
	{ 0x4000, 'E' },                /* encrypted */
};
#define DOS_DIRECTORY 0x0010
#define DOS_REPARSE 0x0400

struct win_items {
	struct vg_item **v;
	size_t n, cap;
};

struct win_strs {
	char **v;
	size_t n, cap;
};

struct win {
	SMBCCTX *smb;
	const struct proxy_win_opts *o;
	const char *host;               /* as the caller named it */
	char addr[INET6_ADDRSTRLEN + 24]; /* resolved, for URLs */
	unsigned int port;
	char user[256], domain[256];
	const char *password;
	double deadline;
	size_t max_items;
	unsigned int depth;
	/* the winreg pipe */
	SMBCFILE *pipe;
	int pipe_broken;                /* a transport error: no more calls */
	uint32_t call_id;
	uint16_t max_xmit;
	uint32_t key_access;
	uint16_t class_max;             /* QueryInfoKey's class buffer */
	uint32_t fault;                 /* the last call's fault status */
	struct msrrp_buf req, stub;
	uint8_t *ans;                   /* the reassembled answer stub */
	size_t anslen, anscap;
	uint8_t *frag;                  /* one fragment, MSRRP_FRAG_MAX */
	/* files */
	struct vg_hasher *hasher;
	enum vg_hash_alg alg;
	uint8_t *iobuf;
	/* results */
	struct win_items keys, values, files;
	struct win_strs unread, problems;
	size_t problems_dropped;
	uint32_t rrp_version;
	unsigned long rpc_calls;
	char *err;
	size_t errlen;
};

/* ---- libsmbclient, once per process ---- */

static pthread_once_t smb_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t smb_lock = PTHREAD_MUTEX_INITIALIZER;
static SMBCCTX *smb_anchor;
static int smb_init_err;

static void
smb_log_drop(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

static void
smb_auth_none(SMBCCTX *c, const char *srv, const char *shr, char *wg,
    int wglen, char *un, int unlen, char *pw, int pwlen)
{
	(void)c;
	(void)srv;
	(void)shr;
	(void)wg;
	(void)wglen;
	(void)un;
	(void)unlen;
	if (pwlen > 0)
		pw[0] = '\0';
}

static void
smb_setup(void)
{
	if ((smb_anchor = smbc_new_context()) == NULL) {
		smb_init_err = VG_ERR_NOMEM;
		return;
	}
	smbc_setLogCallback(smb_anchor, NULL, smb_log_drop);
	smbc_setDebug(smb_anchor, 0);
	smbc_setConfiguration(smb_anchor, "/dev/null");
	smbc_setFunctionAuthDataWithContext(smb_anchor, smb_auth_none);
	smbc_setUser(smb_anchor, "nobody");
	if (smbc_init_context(smb_anchor) == NULL) {
		smbc_free_context(smb_anchor, 1);
		smb_anchor = NULL;
		smb_init_err = VG_ERR_INTERNAL;
	}
}

/* ---- small helpers ---- */

static int
fail(struct win *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct win *w, int code, const char *fmt, ...)
{
	va_list ap;

	if (w->err != NULL && w->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(w->err, w->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static int
strs_add(struct win_strs *s, char *str)
{
	char **v;
	size_t cap;

	if (str == NULL)
		return VG_ERR_NOMEM;
	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 16;
		if ((v = realloc(s->v, cap * sizeof(*v))) == NULL) {
			free(str);
			return VG_ERR_NOMEM;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = str;
	return 0;
}

static void
strs_free(struct win_strs *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static char *
str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
str_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* A problem line "PATH: what", one line of valid UTF-8 whatever the
 * server named things (control characters become '?'). Past
 * WIN_PROBLEMS_MAX lines only a count is kept. */
static int
problem(struct win *w, const char *path, const char *what)
{
	char *line, *p;

	if (w->problems.n >= WIN_PROBLEMS_MAX) {
		w->problems_dropped++;
		return 0;
	}
	if ((p = str_printf("%s: %s", path, what)) == NULL)
		return VG_ERR_NOMEM;
	line = vg_utf8_sanitize(p, strlen(p));
	free(p);
	if (line == NULL)
		return VG_ERR_NOMEM;
	for (p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return strs_add(&w->problems, line);
}

/* Access denied or a failed read at path: a problem, and what a baseline
 * holds at or below path is kept. */
static int
unreadable(struct win *w, const char *path, const char *what)
{
	int r;

	if ((r = problem(w, path, what)) != 0)
		return r;
	if (w->unread.n >= w->max_items)
		return fail(w, VG_ERR_TOOBIG, "%s: more than %zu unreadable "
		    "paths", w->host, w->max_items);
	return strs_add(&w->unread, strdup(path));
}

static size_t
nitems(const struct win *w)
{
	return w->keys.n + w->values.n + w->files.n;
}

static int
items_add(struct win *w, struct win_items *l, struct vg_item *it)
{
	struct vg_item **v;
	size_t cap;

	if (nitems(w) >= w->max_items) {
		vg_item_free(it);
		return fail(w, VG_ERR_TOOBIG, "%s: more than %zu items (the "
		    "policy's registry keys and files name too much)",
		    w->host, w->max_items);
	}
	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 64;
		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL) {
			vg_item_free(it);
			return VG_ERR_NOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = it;
	return 0;
}

static void
items_truncate(struct win_items *l, size_t n)
{
	while (l->n > n)
		vg_item_free(l->v[--l->n]);
}

static void
items_free(struct win_items *l)
{
	items_truncate(l, 0);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Whether an item at path is recorded (include/exclude). */
static int
recorded(const struct win *w, const char *path)
{
	size_t i;

	for (i = 0; i < w->o->nexclude; i++)
		if (proxy_win_glob(w->o->exclude[i], path))
			return 0;
	if (w->o->ninclude == 0)
		return 1;
	for (i = 0; i < w->o->ninclude; i++)
		if (proxy_win_glob(w->o->include[i], path))
			return 1;
	return 0;
}

/* Whether a key or folder at path is walked (exclude only). */
static int
excluded(const struct win *w, const char *path)
{
	size_t i;

	for (i = 0; i < w->o->nexclude; i++)
		if (proxy_win_glob(w->o->exclude[i], path))
			return 1;
	return 0;
}

/* parent + "\\" + name ("C:\\" + name for a drive's root). */
static char *
path_join(const char *parent, const char *name)
{
	size_t n = strlen(parent);

	return str_printf("%s%s%s", parent, n > 0 && parent[n - 1] == '\\' ?
	    "" : "\\", name);
}

static int
take_props(struct vg_item *it, struct vg_prop *props, size_t n)
{
	const char *dup;
	int r;

	if ((r = vg_item_take_props(it, props, n, &dup)) != 0)
		vg_props_free(props, n);
	return r;
}

static int
deadline_passed(struct win *w)
{
	if (vg_now() <= w->deadline)
		return 0;
	return 1;
}

/*
 * The library's timeout set to what is left of the collection's time.
 * libsmbclient hands it to a connection when it makes one (a share's
 * first use: IPC$, then each X$), so this goes before each call that
 * may connect; without it a connection made late could block for the
 * whole timeout again, well past the deadline.
 */
static void
smb_timeout_left(struct win *w)
{
	double left = w->deadline - vg_now();

	smbc_setTimeout(w->smb, left <= 0 ? 1 : left > 3600 ? 3600000 :
	    (int)(left * 1000) + 1);
}

/* libsmbclient's errno as an error code for the whole collection. */
static int
errno_code(int e)
{
	switch (e) {
	case ETIMEDOUT:
		return VG_ERR_TIMEOUT;
	case EACCES:
	case EPERM:
		return VG_ERR_AUTH;
	case ENOMEM:
		return VG_ERR_NOMEM;
	default:
		return VG_ERR_IO;
	}
}

/* The errors that say the connection itself is gone or was never
 * made: nothing more can be read from the host. */
static int
errno_is_connection(int e)
{
	switch (e) {
	case ECONNREFUSED:
	case ECONNRESET:
	case ECONNABORTED:
	case EHOSTUNREACH:
	case EHOSTDOWN:
	case ENETUNREACH:
	case ENETDOWN:
	case ETIMEDOUT:
	case EPIPE:
	case ENOTCONN:
		return 1;
	default:
		return 0;
	}
}

static const char *
errno_text(int e)
{
	return e == EACCES || e == EPERM ? "access denied" : strerror(e);
}

/* ---- the winreg pipe ---- */

static int
pipe_error(struct win *w, int e, const char *what)
{
	w->pipe_broken = 1;
	if (e == 0)
		return fail(w, VG_ERR_CLOSED, "%s:%u: the winreg pipe closed "
		    "while %s", w->host, w->port, what);
	return fail(w, e == ETIMEDOUT ? VG_ERR_TIMEOUT : VG_ERR_IO,
	    "%s:%u: %s the winreg pipe: %s", w->host, w->port, what,
	    strerror(e));
}

static int
pipe_write(struct win *w, const uint8_t *buf, size_t len)
{
	smbc_write_fn wr = smbc_getFunctionWrite(w->smb);
	ssize_t n;

	while (len > 0) {
		errno = 0;
		n = wr(w->smb, w->pipe, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pipe_error(w, n < 0 ? errno : EIO, "writing to");
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Exactly len bytes: never more than the server has waiting. */
static int
pipe_read(struct win *w, uint8_t *buf, size_t len)
{
	smbc_read_fn rd = smbc_getFunctionRead(w->smb);
	ssize_t n;

	while (len > 0) {
		errno = 0;
		n = rd(w->smb, w->pipe, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pipe_error(w, errno, "reading from");
		if (n == 0)
			return pipe_error(w, 0, "reading an answer");
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes the PDUs in w->req one fragment at a time. */
static int
pipe_send(struct win *w)
{
	size_t off = 0, flen;
	int r;

	while (off < w->req.len) {
		if (w->req.len - off < MSRRP_HEADER_LEN)
			return fail(w, VG_ERR_INTERNAL, "a request fragment "
			    "shorter than its header");
		flen = (size_t)w->req.data[off + 8] |
		    (size_t)w->req.data[off + 9] << 8;
		if (flen < MSRRP_HEADER_LEN || flen > w->req.len - off)
			return fail(w, VG_ERR_INTERNAL, "a request fragment "
			    "of %zu bytes", flen);
		if ((r = pipe_write(w, w->req.data + off, flen)) != 0)
			return r;
		off += flen;
	}
	return 0;
}

/* One fragment into w->frag: its header, then exactly the rest. */
static int
pipe_fragment(struct win *w, struct msrrp_frag *f)
{
	char e[256];
	int r;

	if ((r = pipe_read(w, w->frag, MSRRP_HEADER_LEN)) != 0)
		return r;
	if ((r = msrrp_frag_header(w->frag, f, e, sizeof(e))) != 0) {
		w->pipe_broken = 1;
		return fail(w, r, "%s:%u: winreg answer: %s", w->host,
		    w->port, e);
	}
	return pipe_read(w, w->frag + MSRRP_HEADER_LEN,
	    (size_t)f->frag_len - MSRRP_HEADER_LEN);
}

static int
ans_append(struct win *w, const uint8_t *p, size_t len)
{
	uint8_t *a;
	size_t cap;

	if (len > MSRRP_STUB_MAX - w->anslen) {
		w->pipe_broken = 1;
		return fail(w, VG_ERR_INVAL, "%s:%u: a winreg answer of more "
		    "than %u bytes", w->host, w->port, MSRRP_STUB_MAX);
	}
	if (w->anslen + len > w->anscap) {
		cap = w->anscap ? w->anscap : 4096;
		while (cap < w->anslen + len)
			cap *= 2;
		if ((a = realloc(w->ans, cap)) == NULL)
			return VG_ERR_NOMEM;
		w->ans = a;
		w->anscap = cap;
	}
	memcpy(w->ans + w->anslen, p, len);
	w->anslen += len;
	return 0;
}

static const char *
op_name(uint16_t opnum)
{
	switch (opnum) {
	case MSRRP_OPEN_HKLM: return "OpenLocalMachine";
	case MSRRP_OPEN_HKU: return "OpenUsers";
	case MSRRP_CLOSE_KEY: return "CloseKey";
	case MSRRP_ENUM_KEY: return "EnumKey";
	case MSRRP_ENUM_VALUE: return "EnumValue";
	case MSRRP_GET_KEY_SECURITY: return "GetKeySecurity";
	case MSRRP_OPEN_KEY: return "OpenKey";
	case MSRRP_QUERY_INFO_KEY: return "QueryInfoKey";
	case MSRRP_QUERY_VALUE: return "QueryValue";
	case MSRRP_GET_VERSION: return "GetVersion";
	default: return "request";
	}
}

/*
 * One call: the request stub in w->stub, the answer stub in w->ans.
 * A fault saying access denied returns VG_ERR_AUTH (the pipe stays
 * usable: the caller treats it as the operation's access denied).
 */
static int
rpc_call(struct win *w, uint16_t opnum)
{
	struct msrrp_frag f;
	const uint8_t *s;
	size_t slen;
	char e[256];
	int r, first = 1;

	if (w->pipe_broken)
		return fail(w, VG_ERR_IO, "%s:%u: the winreg pipe is "
		    "unusable", w->host, w->port);
	if (deadline_passed(w))
		return fail(w, VG_ERR_TIMEOUT, "%s:%u: the collection took "
		    "longer than its timeout", w->host, w->port);
	w->req.len = 0;
	w->call_id++;
	if ((r = msrrp_request(&w->req, w->call_id, opnum, w->stub.data,
	    w->stub.len, w->max_xmit)) != 0)
		return fail(w, r, "%s: cannot build a %s request: %s",
		    w->host, op_name(opnum), vg_strerror(r));
	if ((r = pipe_send(w)) != 0)
		return r;
	w->rpc_calls++;
	w->anslen = 0;
	w->fault = 0;
	for (;;) {
		if ((r = pipe_fragment(w, &f)) != 0)
			return r;
		r = msrrp_response_stub(w->frag, f.frag_len, &f, w->call_id,
		    &s, &slen, e, sizeof(e));
		if (r == VG_ERR_AUTH && (f.flags & MSRRP_PFC_LAST))
			return VG_ERR_AUTH;
		/* Only a fault of this call leaves the pipe usable: one
		 * with another call id means the answers are out of step
		 * with the requests (msrrp_response_stub() refused it). */
		if (r != 0 && f.ptype == MSRRP_PT_FAULT &&
		    f.call_id == w->call_id &&
		    (f.flags & MSRRP_PFC_LAST) && f.frag_len >= 28) {
			/* The call failed, the pipe goes on: the caller
			 * decides (its status is at byte 24). */
			w->fault = (uint32_t)w->frag[24] |
			    (uint32_t)w->frag[25] << 8 |
			    (uint32_t)w->frag[26] << 16 |
			    (uint32_t)w->frag[27] << 24;
			return fail(w, VG_ERR_INVAL, "%s:%u: %s answer: %s",
			    w->host, w->port, op_name(opnum), e);
		}
		if (r != 0) {
			w->pipe_broken = 1;
			return fail(w, r == VG_ERR_NOMEM ? r : VG_ERR_INVAL,
			    "%s:%u: %s answer: %s", w->host, w->port,
			    op_name(opnum), e);
		}
		if (first && !(f.flags & MSRRP_PFC_FIRST)) {
			w->pipe_broken = 1;
			return fail(w, VG_ERR_INVAL, "%s:%u: %s answer: the "
			    "first fragment lacks the first-fragment flag",
			    w->host, w->port, op_name(opnum));
		}
		first = 0;
		if ((r = ans_append(w, s, slen)) != 0)
			return r;
		if (f.flags & MSRRP_PFC_LAST)
			return 0;
	}
}

/* A decoding failure: the server broke the protocol. */
static int
bad_answer(struct win *w, uint16_t opnum, int r, const char *e)
{
	w->pipe_broken = 1;
	return fail(w, r == VG_ERR_NOMEM ? r : VG_ERR_INVAL, "%s:%u: %s "
	    "answer: %s", w->host, w->port, op_name(opnum), e);
}

static int
rpc_bind(struct win *w)
{
	struct msrrp_frag f;
	uint16_t max_recv;
	char e[256];
	int r;

	w->req.len = 0;
	w->call_id++;
	if ((r = msrrp_bind(&w->req, w->call_id)) != 0)
		return fail(w, r, "cannot build the bind: %s", vg_strerror(r));
	if ((r = pipe_send(w)) != 0 || (r = pipe_fragment(w, &f)) != 0)
		return r;
	w->rpc_calls++;
	if ((r = msrrp_bind_ack(w->frag, f.frag_len, w->call_id, &max_recv,
	    e, sizeof(e))) != 0) {
		w->pipe_broken = 1;
		return fail(w, r, "%s:%u: the winreg bind: %s", w->host,
		    w->port, e);
	}
	w->max_xmit = max_recv < MSRRP_MAX_FRAG ? max_recv : MSRRP_MAX_FRAG;
	return 0;
}

/* Calls that answer a handle: OpenLocalMachine, OpenUsers, OpenKey. */
static int
rpc_handle(struct win *w, uint16_t opnum, struct msrrp_handle *h,
    uint32_t *werr)
{
	char e[256];
	int r;

	if ((r = rpc_call(w, opnum)) == VG_ERR_AUTH) {
		*werr = MSRRP_ERROR_ACCESS_DENIED;
		return 0;
	}
	if (r != 0)
		return r;
	if ((r = msrrp_dec_handle(w->ans, w->anslen, h, werr, e,
	    sizeof(e))) != 0)
		return bad_answer(w, opnum, r, e);
	return 0;
}

static int
rrp_open_hive(struct win *w, int hku, struct msrrp_handle *h,
    uint32_t *werr)
{
	int r;

	w->stub.len = 0;
	if ((r = msrrp_enc_open_hive(&w->stub, MSRRP_MAXIMUM_ALLOWED)) != 0)
		return r;
	return rpc_handle(w, hku ? MSRRP_OPEN_HKU : MSRRP_OPEN_HKLM, h,
	    werr);
}

static int
rrp_open_key(struct win *w, const struct msrrp_handle *parent,
    const char *name, struct msrrp_handle *h, uint32_t *werr)
{
	int r;

	w->stub.len = 0;
	if ((r = msrrp_enc_open_key(&w->stub, parent, name,
	    w->key_access)) != 0)
		return fail(w, r, "%s: cannot ask for key '%s': %s", w->host,
		    name, vg_strerror(r));
	return rpc_handle(w, MSRRP_OPEN_KEY, h, werr);
}

/* Closes h unless the pipe broke (the server then drops every handle). */
static int
rrp_close(struct win *w, const struct msrrp_handle *h)
{
	uint32_t werr;
	char e[256];
	int r;

	if (w->pipe_broken)
		return 0;
	w->stub.len = 0;
	if ((r = msrrp_enc_handle(&w->stub, h)) != 0)
		return r;
	if ((r = rpc_call(w, MSRRP_CLOSE_KEY)) == VG_ERR_AUTH)
		return 0;
	if (r != 0)
		return r;
	if ((r = msrrp_dec_close(w->ans, w->anslen, &werr, e,
	    sizeof(e))) != 0)
		return bad_answer(w, MSRRP_CLOSE_KEY, r, e);
	return 0;
}

static int
rrp_version(struct win *w, const struct msrrp_handle *h)
{
	uint32_t werr, v;
	char e[256];
	int r;

	w->stub.len = 0;
	if ((r = msrrp_enc_handle(&w->stub, h)) != 0)
		return r;
	if ((r = rpc_call(w, MSRRP_GET_VERSION)) == VG_ERR_AUTH)
		return 0;
	if (r != 0)
		return r;
	if ((r = msrrp_dec_get_version(w->ans, w->anslen, &v, &werr, e,
	    sizeof(e))) != 0)
		return bad_answer(w, MSRRP_GET_VERSION, r, e);
	if (werr == MSRRP_OK)
		w->rrp_version = v;
	return 0;
}

/*
 * QueryInfoKey with a class buffer (Windows fills it in), or without one
 * for a server that faults on an empty class string (Samba, whose IDL
 * wants it NUL-terminated; it has no key classes anyway): found on the
 * first call and kept for the session.
 */
static int
rrp_query_info(struct win *w, const struct msrrp_handle *h,
    struct msrrp_key_info *info, uint32_t *werr)
{
	char e[256];
	int r, tries;

	for (tries = 0; tries < 3; tries++) {
		w->stub.len = 0;
		if ((r = msrrp_enc_query_info_key(&w->stub, h,
		    w->class_max)) != 0)
			return r;
		r = rpc_call(w, MSRRP_QUERY_INFO_KEY);
		if (r == VG_ERR_AUTH) {
			*werr = MSRRP_ERROR_ACCESS_DENIED;
			return 0;
		}
		if (r != 0 && w->fault == WIN_FAULT_NDR &&
		    w->class_max != 0 && !w->pipe_broken) {
			w->class_max = 0;
			continue;
		}
		if (r != 0)
			return r;
		if ((r = msrrp_dec_query_info_key(w->ans, w->anslen, info,
		    werr, e, sizeof(e))) != 0)
			return bad_answer(w, MSRRP_QUERY_INFO_KEY, r, e);
		if (*werr != MSRRP_ERROR_MORE_DATA || w->class_max == 0 ||
		    w->class_max == WIN_NAME_BUF_MAX)
			return 0;
		free(info->klass);
		info->klass = NULL;
		w->class_max = WIN_NAME_BUF_MAX;   /* a long class */
	}
	return 0;
}

/* The key's owner, group and DACL as SDDL (*text NULL when the key's
 * descriptor could not be had: *werr says why). */
static int
rrp_security(struct win *w, const struct msrrp_handle *h, uint32_t hint,
    char **text, uint32_t *werr, char *why, size_t whylen)
{
	uint32_t size, needed;
	uint8_t *sd = NULL;
	size_t sdlen;
	char e[256];
	int r, tries;

	*text = NULL;
	size = hint < WIN_SD_MIN ? WIN_SD_MIN : hint > WIN_SD_MAX ?
	    WIN_SD_MAX : hint;
	for (tries = 0; tries < 2; tries++) {
		w->stub.len = 0;
		if ((r = msrrp_enc_get_key_security(&w->stub, h,
		    MSRRP_OWNER_SECURITY | MSRRP_GROUP_SECURITY |
		    MSRRP_DACL_SECURITY, size)) != 0)
			return r;
		if ((r = rpc_call(w, MSRRP_GET_KEY_SECURITY)) ==
		    VG_ERR_AUTH) {
			*werr = MSRRP_ERROR_ACCESS_DENIED;
			return 0;
		}
		if (r != 0)
			return r;
		if ((r = msrrp_dec_key_security(w->ans, w->anslen, &sd,
		    &sdlen, &needed, werr, e, sizeof(e))) != 0)
			return bad_answer(w, MSRRP_GET_KEY_SECURITY, r, e);
		if (*werr != MSRRP_ERROR_INSUFFICIENT_BUFFER)
			break;
		free(sd);
		sd = NULL;
		if (needed <= size || needed > WIN_SD_MAX)
			break;
		size = needed;
	}
	if (*werr != MSRRP_OK) {
		free(sd);
		return 0;
	}
	r = msrrp_sd_text(sd, sdlen, text, e, sizeof(e));
	free(sd);
	if (r == VG_ERR_NOMEM)
		return r;
	if (r != 0) {
		/* A descriptor that does not hold together: this key's
		 * problem, not the collection's. */
		*werr = MSRRP_ERROR_INVALID_HANDLE;
		snprintf(why, whylen, "security descriptor: %s", e);
		*text = NULL;
	}
	return 0;
}

/* Buffer sizes from QueryInfoKey's maxima (UTF-16 units, bytes). */
static uint16_t
name_buf(uint32_t max_chars)
{
	uint64_t n = ((uint64_t)max_chars + 1) * 2;

	if (n < WIN_NAME_BUF_MIN)
		n = WIN_NAME_BUF_MIN;
	return n > WIN_NAME_BUF_MAX ? WIN_NAME_BUF_MAX : (uint16_t)n;
}

static uint32_t
data_buf(uint32_t max_bytes)
{
	if (max_bytes < WIN_DATA_MIN)
		return WIN_DATA_MIN;
	return max_bytes > WIN_DATA_MAX ? WIN_DATA_MAX : max_bytes;
}

/* A REGVALUE item for name's data. */
static int
value_item(struct win *w, const char *keypath, const char *name,
    uint32_t type, const uint8_t *data, size_t len)
{
	struct vg_prop *props = NULL;
	struct vg_item *it = NULL;
	unsigned char md[VG_HASH_MAX_LEN];
	char hex[2 * VG_HASH_MAX_LEN + 1], tname[32], *path, *text = NULL;
	const char *tn;
	size_t n = 0;
	int r;

	if ((path = path_join(keypath, name)) == NULL)
		return VG_ERR_NOMEM;
	if (!recorded(w, path)) {
		free(path);
		return 0;
	}
	r = VG_ERR_NOMEM;
	if ((it = vg_item_new(VG_KIND_REGVALUE, path, strlen(path))) == NULL ||
	    (props = calloc(3, sizeof(*props))) == NULL)
		goto out;
	if ((tn = msrrp_type_name(type)) == NULL) {
		snprintf(tname, sizeof(tname), "REG_TYPE_%u", type);
		tn = tname;
	}
	if ((props[n].name = strdup("type")) == NULL ||
	    (props[n++].value = strdup(tn)) == NULL)
		goto out;
	r = msrrp_value_text(type, data, len, PROXY_WIN_DATA_TEXT_MAX, &text);
	if (r == 0) {
		if ((props[n].name = strdup("data")) == NULL)
			goto out;
		props[n++].value = text;
		text = NULL;
	} else if (r == VG_ERR_TOOBIG) {
		if ((r = vg_hash_buffer(VG_HASH_SHA256, data, len, md)) != 0)
			goto out;
		vg_hex_encode(md, vg_hash_len(VG_HASH_SHA256), hex);
		r = VG_ERR_NOMEM;
		if ((props[n].name = strdup("data_sha256")) == NULL ||
		    (props[n++].value = strdup(hex)) == NULL ||
		    (props[n].name = strdup("size")) == NULL ||
		    (props[n++].value = str_printf("%zu", len)) == NULL)
			goto out;
	} else
		goto out;
	it->have = VG_A_PROPS;
	r = take_props(it, props, n);
	props = NULL;
	if (r != 0)
		goto out;
	r = items_add(w, &w->values, it);
	it = NULL;
out:
	if (props != NULL)
		vg_props_free(props, 3);
	vg_item_free(it);
	free(text);
	free(path);
	return r;
}

/* The REGKEY item of a key read whole. */
static int
key_item(struct win *w, const char *path, char *security, const char *klass)
{
	struct vg_prop *props;
	struct vg_item *it;
	size_t n = 0;
	int r;

	if ((it = vg_item_new(VG_KIND_REGKEY, path, strlen(path))) == NULL)
		return VG_ERR_NOMEM;
	if ((props = calloc(2, sizeof(*props))) == NULL) {
		vg_item_free(it);
		return VG_ERR_NOMEM;
	}
	props[n].name = strdup("security");
	props[n++].value = strdup(security);
	if (klass != NULL && klass[0] != '\0') {
		props[n].name = strdup("class");
		props[n++].value = strdup(klass);
	}
	if (props[0].name == NULL || props[0].value == NULL ||
	    (n == 2 && (props[1].name == NULL || props[1].value == NULL))) {
		vg_props_free(props, 2);
		vg_item_free(it);
		return VG_ERR_NOMEM;
	}
	it->have = VG_A_PROPS;
	if ((r = take_props(it, props, n)) != 0) {
		vg_item_free(it);
		return r;
	}
	return items_add(w, &w->keys, it);
}

/*
 * The values of the key h: EnumValue from index 0 until
 * ERROR_NO_MORE_ITEMS. *werr is the failing status (0 when all came),
 * with why describing it.
 */
static int
walk_values(struct win *w, const struct msrrp_handle *h, const char *path,
    const struct msrrp_key_info *info, uint32_t *werr, char *why,
    size_t whylen)
{
	uint16_t nbuf = name_buf(info->max_value_name_len);
	uint32_t dbuf = data_buf(info->max_value_len), index, type, needed;
	uint8_t *data = NULL;
	size_t datalen;
	char *name = NULL, e[256];
	int r, tries;

	*werr = MSRRP_OK;
	for (index = 0;; index++) {
		if (index >= w->max_items)
			return fail(w, VG_ERR_TOOBIG, "%s: %s: more than %zu "
			    "values", w->host, path, w->max_items);
		for (tries = 0; tries < 2; tries++) {
			w->stub.len = 0;
			if ((r = msrrp_enc_enum_value(&w->stub, h, index, nbuf,
			    dbuf)) != 0)
				return r;
			if ((r = rpc_call(w, MSRRP_ENUM_VALUE)) ==
			    VG_ERR_AUTH) {
				*werr = MSRRP_ERROR_ACCESS_DENIED;
				break;
			}
			if (r != 0)
				return r;
			if ((r = msrrp_dec_value(w->ans, w->anslen, 1, &name,
			    &type, &data, &datalen, &needed, werr, e,
			    sizeof(e))) != 0)
				return bad_answer(w, MSRRP_ENUM_VALUE, r, e);
			if (*werr != MSRRP_ERROR_MORE_DATA)
				break;
			free(name);
			free(data);
			name = NULL;
			data = NULL;
			/* Once more with the size asked for; a name longer
			 * than the buffer also answers ERROR_MORE_DATA. */
			if (needed > WIN_DATA_MAX) {
				snprintf(why, whylen, "a value of %u bytes "
				    "(more than %u)", needed, WIN_DATA_MAX);
				*werr = MSRRP_ERROR_MORE_DATA;
				return 0;
			}
			if (needed > dbuf)
				dbuf = needed;
			else {
				/* Samba answers ERROR_MORE_DATA without the
				 * size; and a long name says it too. */
				nbuf = WIN_NAME_BUF_MAX;
				dbuf = dbuf >= WIN_DATA_MAX / 4 ? WIN_DATA_MAX :
				    dbuf * 4 < 65536 ? 65536 : dbuf * 4;
			}
		}
		if (*werr == MSRRP_ERROR_NO_MORE_ITEMS) {
			*werr = MSRRP_OK;
			break;
		}
		if (*werr != MSRRP_OK) {
			snprintf(why, whylen, "%s (EnumValue %u)",
			    msrrp_werr_text(*werr), index);
			break;
		}
		r = value_item(w, path, name != NULL ? name : "", type, data,
		    datalen);
		free(name);
		free(data);
		name = NULL;
		data = NULL;
		if (r != 0)
			return r;
	}
	free(name);
	free(data);
	return 0;
}

/* The names of the subkeys of h (EnumKey until ERROR_NO_MORE_ITEMS). */
static int
enum_subkeys(struct win *w, const struct msrrp_handle *h, const char *path,
    const struct msrrp_key_info *info, struct win_strs *names,
    uint32_t *werr, char *why, size_t whylen)
{
	uint16_t nbuf = name_buf(info->max_subkey_len);
	uint32_t index;
	uint64_t lw;
	char *name, *klass, e[256];
	int r, tries;

	*werr = MSRRP_OK;
	for (index = 0;; index++) {
		if (index >= w->max_items)
			return fail(w, VG_ERR_TOOBIG, "%s: %s: more than %zu "
			    "subkeys", w->host, path, w->max_items);
		name = klass = NULL;
		for (tries = 0; tries < 2; tries++) {
			w->stub.len = 0;
			/* With a class buffer: Samba answers invalid
			 * parameter to a NULL one. */
			if ((r = msrrp_enc_enum_key(&w->stub, h, index, nbuf,
			    WIN_CLASS_BUF)) != 0)
				return r;
			if ((r = rpc_call(w, MSRRP_ENUM_KEY)) == VG_ERR_AUTH) {
				*werr = MSRRP_ERROR_ACCESS_DENIED;
				break;
			}
			if (r != 0)
				return r;
			if ((r = msrrp_dec_enum_key(w->ans, w->anslen, &name,
			    &klass, &lw, werr, e, sizeof(e))) != 0)
				return bad_answer(w, MSRRP_ENUM_KEY, r, e);
			free(klass);
			klass = NULL;
			if (*werr != MSRRP_ERROR_MORE_DATA ||
			    nbuf == WIN_NAME_BUF_MAX)
				break;
			free(name);
			name = NULL;
			nbuf = WIN_NAME_BUF_MAX;
		}
		if (*werr == MSRRP_ERROR_NO_MORE_ITEMS) {
			free(name);
			*werr = MSRRP_OK;
			return 0;
		}
		if (*werr != MSRRP_OK || name == NULL || name[0] == '\0' ||
		    strchr(name, '\\') != NULL) {
			if (*werr == MSRRP_OK) {
				*werr = MSRRP_ERROR_INVALID_HANDLE;
				snprintf(why, whylen, "EnumKey %u answered "
				    "an unusable name", index);
			} else
				snprintf(why, whylen, "%s (EnumKey %u)",
				    msrrp_werr_text(*werr), index);
			free(name);
			return 0;
		}
		if ((r = strs_add(names, name)) != 0)
			return r;
	}
}

static int walk_key(struct win *w, const struct msrrp_handle *h,
    const char *path, unsigned int depth);

/* Opens, walks and closes the subkey name of h. */
static int
walk_subkey(struct win *w, const struct msrrp_handle *h, const char *path,
    const char *name, unsigned int depth)
{
	struct msrrp_handle sub;
	uint32_t werr;
	char *child;
	int r, r2;

	if ((child = path_join(path, name)) == NULL)
		return VG_ERR_NOMEM;
	if (excluded(w, child)) {
		free(child);
		return 0;
	}
	if ((r = rrp_open_key(w, h, name, &sub, &werr)) != 0)
		goto out;
	if (werr == MSRRP_ERROR_FILE_NOT_FOUND)
		goto out;                /* gone since it was listed */
	if (werr != MSRRP_OK) {
		r = unreadable(w, child, msrrp_werr_text(werr));
		goto out;
	}
	r = walk_key(w, &sub, child, depth);
	if ((r2 = rrp_close(w, &sub)) != 0 && r == 0)
		r = r2;
out:
	free(child);
	return r;
}

/*
 * Records the open key h at path (its item, its values) and, depth
 * permitting, its subkeys. A key that cannot be read whole is a problem
 * and unread, and nothing of it or below it is recorded.
 */
static int
walk_key(struct win *w, const struct msrrp_handle *h, const char *path,
    unsigned int depth)
{
	struct msrrp_key_info info;
	struct win_strs names;
	size_t nk = w->keys.n, nv = w->values.n, i;
	uint32_t werr;
	char *security = NULL, why[512];
	int r;

	memset(&info, 0, sizeof(info));
	memset(&names, 0, sizeof(names));
	why[0] = '\0';
	if ((r = rrp_query_info(w, h, &info, &werr)) != 0)
		goto out;
	if (werr != MSRRP_OK)
		goto unread;
	if ((r = rrp_security(w, h, info.sd_len, &security, &werr, why,
	    sizeof(why))) != 0)
		goto out;
	if (werr != MSRRP_OK)
		goto unread;
	if (recorded(w, path) &&
	    (r = key_item(w, path, security, info.klass)) != 0)
		goto out;
	if ((r = walk_values(w, h, path, &info, &werr, why,
	    sizeof(why))) != 0)
		goto out;
	if (werr != MSRRP_OK)
		goto unread;
	if (depth == 0)
		goto out;
	if ((r = enum_subkeys(w, h, path, &info, &names, &werr, why,
	    sizeof(why))) != 0)
		goto out;
	if (werr != MSRRP_OK)
		goto unread;
	for (i = 0; i < names.n; i++)
		if ((r = walk_subkey(w, h, path, names.v[i], depth - 1)) != 0)
			goto out;
	goto out;
unread:
	items_truncate(&w->keys, nk);
	items_truncate(&w->values, nv);
	r = unreadable(w, path, why[0] != '\0' ? why :
	    msrrp_werr_text(werr));
out:
	strs_free(&names);
	free(security);
	free(info.klass);
	return r;
}

/* Splits a policy key into its hive (1: HKU) and the path below it;
 * *canon gets "HKLM\..." or "HKU\...". */
static int
key_split(const char *key, int *hku, const char **sub, char **canon)
{
	size_t n = strcspn(key, "\\");

	*hku = (n == 3 && strncasecmp(key, "HKU", 3) == 0) ||
	    (n == 10 && strncasecmp(key, "HKEY_USERS", 10) == 0);
	*sub = key[n] == '\\' ? key + n + 1 : key + n;
	*canon = str_printf("%s%s%s", *hku ? "HKU" : "HKLM",
	    **sub != '\0' ? "\\" : "", *sub);
	return *canon == NULL ? VG_ERR_NOMEM : 0;
}

/*
 * Opens the pipe to winreg on IPC$. The first open also logs on: EACCES
 * there is a logon failure (any account that may log on reaches IPC$
 * and its pipes; Windows checks registry access in the RPC calls).
 * Returns 0 (w->pipe set, or NULL with *open_errno when the pipe is not
 * there after the retry), or the collection's failure.
 */
static int
pipe_open(struct win *w, int retry, int *open_errno)
{
	smbc_open_fn op = smbc_getFunctionOpen(w->smb);
	struct timespec ts = { WIN_RETRY_MS / 1000,
	    (WIN_RETRY_MS % 1000) * 1000000L };
	char url[sizeof(w->addr) + 32];
	int tries, e = 0;

	snprintf(url, sizeof(url), "smb://%s/IPC$/winreg", w->addr);
	for (tries = 0; tries < 2; tries++) {
		smb_timeout_left(w);
		errno = 0;
		if ((w->pipe = op(w->smb, url, O_RDWR, 0)) != NULL)
			return 0;
		e = errno != 0 ? errno : EIO;
		if (e == EACCES || e == EPERM)
			return fail(w, VG_ERR_AUTH, "%s:%u: logon failure as "
			    "%s%s%s (user name or password refused, or the "
			    "account is disabled, locked or may not log on "
			    "from the network)", w->host, w->port,
			    w->domain, w->domain[0] != '\0' ? "\\" : "",
			    w->user);
		/* The TCP connection was made (tcp_probe()): a timeout is
		 * a server that does not speak, anything else the pipe's
		 * (a refused connection too: Samba's, to a stopped
		 * samba-dcerpcd). */
		if (e == ETIMEDOUT)
			return fail(w, VG_ERR_TIMEOUT, "%s:%u: no answer to "
			    "SMB in time", w->host, w->port);
		if (e == ENOMEM)
			return VG_ERR_NOMEM;
		/* The Remote Registry service may start on demand. */
		if (!retry)
			break;
		if (tries == 0)
			nanosleep(&ts, NULL);
	}
	*open_errno = e;
	return 0;
}

static void
pipe_close(struct win *w)
{
	if (w->pipe != NULL)
		smbc_getFunctionClose(w->smb)(w->smb, w->pipe);
	w->pipe = NULL;
}

/* Walks every key the policy names. */
static int
collect_registry(struct win *w)
{
	struct msrrp_handle hives[2], key;
	int have_hive[2] = { 0, 0 }, hku, r = 0, r2;
	const char *sub;
	uint32_t werr;
	char *canon = NULL, why[300];
	size_t i;

	if ((r = rpc_bind(w)) != 0)
		return r;
	/* KEY_READ alone: the Remote Registry service of a 64-bit Windows
	 * is a 64-bit process and shows the 64-bit view anyway, and Samba
	 * answers access denied to KEY_WOW64_64KEY. */
	w->key_access = MSRRP_KEY_READ;
	w->class_max = WIN_CLASS_BUF;
	for (i = 0; i < w->o->nkeys; i++) {
		free(canon);
		if ((r = key_split(w->o->keys[i], &hku, &sub, &canon)) != 0)
			break;
		if (excluded(w, canon))
			continue;
		if (!have_hive[hku]) {
			if ((r = rrp_open_hive(w, hku, &hives[hku],
			    &werr)) != 0)
				break;
			if (werr != MSRRP_OK) {
				snprintf(why, sizeof(why), "%s: %s",
				    op_name(hku ? MSRRP_OPEN_HKU :
				    MSRRP_OPEN_HKLM), msrrp_werr_text(werr));
				if ((r = unreadable(w, canon, why)) != 0)
					break;
				continue;
			}
			have_hive[hku] = 1;
			if (w->rrp_version == 0 &&
			    (r = rrp_version(w, &hives[hku])) != 0)
				break;
		}
		if (*sub == '\0') {
			if ((r = walk_key(w, &hives[hku], canon, w->depth)) != 0)
				break;
			continue;
		}
		if ((r = rrp_open_key(w, &hives[hku], sub, &key, &werr)) != 0)
			break;
		if (werr == MSRRP_ERROR_FILE_NOT_FOUND)
			continue;
		if (werr != MSRRP_OK) {
			if ((r = unreadable(w, canon,
			    msrrp_werr_text(werr))) != 0)
				break;
			continue;
		}
		r = walk_key(w, &key, canon, w->depth);
		if ((r2 = rrp_close(w, &key)) != 0 && r == 0)
			r = r2;
		if (r != 0)
			break;
	}
	free(canon);
	for (i = 0; i < 2; i++)
		if (have_hive[i] && (r2 = rrp_close(w, &hives[i])) != 0 &&
		    r == 0)
			r = r2;
	return r;
}

/* ---- files over the administrative shares ---- */

/* "smb://ADDR/X$/a/b" for "X:\a\b" (rel: "a\b", "" for the root), each
 * name percent-encoded. */
static char *
file_url(const struct win *w, char drive, const char *rel)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(rel), i, o;
	unsigned char c;
	char *u;

	if ((u = malloc(sizeof(w->addr) + 16 + 3 * n)) == NULL)
		return NULL;
	o = (size_t)sprintf(u, "smb://%s/%c$/", w->addr, drive);
	for (i = 0; i < n; i++) {
		c = (unsigned char)rel[i];
		if (c == '\\')
			u[o++] = '/';
		else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || c == '$') {
			u[o++] = (char)c;
		} else {
			u[o++] = '%';
			u[o++] = hex[c >> 4];
			u[o++] = hex[c & 15];
		}
	}
	u[o] = '\0';
	return u;
}

static int64_t
ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* The digest of the regular file at url into it (state and hash).
 * *gone is set when the file was removed since it was listed. */
static int
file_hash(struct win *w, struct vg_item *it, const char *url, int *gone)
{
	smbc_open_fn op = smbc_getFunctionOpen(w->smb);
	smbc_read_fn rd = smbc_getFunctionRead(w->smb);
	smbc_close_fn cl = smbc_getFunctionClose(w->smb);
	SMBCFILE *f;
	uint64_t total = 0;
	ssize_t n;
	char why[300];
	int r, e;

	*gone = 0;
	it->hash_alg = w->alg;
	if (w->o->max_hash_size != 0 && it->size > w->o->max_hash_size) {
		it->hash_state = VG_HS_SIZE_CAP;
		return 0;
	}
	smb_timeout_left(w);
	errno = 0;
	if ((f = op(w->smb, url, O_RDONLY, 0)) == NULL) {
		e = errno != 0 ? errno : EIO;
		if (errno_is_connection(e))
			return fail(w, errno_code(e), "%s:%u: %s: %s",
			    w->host, w->port, it->path, strerror(e));
		/* Removed since the listing: no item (as walk_dir() does
		 * for a folder gone), rather than one whose digest looks
		 * changed and a problem said for it. */
		if (e == ENOENT || e == ENOTDIR) {
			*gone = 1;
			return 0;
		}
		it->hash_state = VG_HS_UNREADABLE;
		snprintf(why, sizeof(why), "cannot read: %s", errno_text(e));
		return problem(w, it->path, why);
	}
	if ((r = vg_hasher_start(w->hasher)) != 0)
		goto out;
	for (;;) {
		if (deadline_passed(w)) {
			r = fail(w, VG_ERR_TIMEOUT, "%s:%u: the collection "
			    "took longer than its timeout (reading %s)",
			    w->host, w->port, it->path);
			goto out;
		}
		errno = 0;
		n = rd(w->smb, f, w->iobuf, WIN_IO_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno != 0 ? errno : EIO;
			if (errno_is_connection(e)) {
				r = fail(w, errno_code(e), "%s:%u: %s: %s",
				    w->host, w->port, it->path, strerror(e));
				goto out;
			}
			it->hash_state = VG_HS_UNREADABLE;
			snprintf(why, sizeof(why), "cannot read: %s",
			    errno_text(e));
			r = problem(w, it->path, why);
			goto out;
		}
		if (n == 0)
			break;
		if ((r = vg_hasher_update(w->hasher, w->iobuf,
		    (size_t)n)) != 0)
			goto out;
		total += (uint64_t)n;
		/* Grown since it was listed: the digest can be of no one
		 * version, and a file that keeps growing (or a server that
		 * never says end of file) must not be read on and on. */
		if (total > it->size)
			break;
	}
	if ((r = vg_hasher_finish(w->hasher, it->hash)) != 0)
		goto out;
	/* Written to while read (shrunk, or grown): the digest is of no
	 * one version. */
	it->hash_state = total == it->size ? VG_HS_OK : VG_HS_UNSTABLE;
out:
	cl(w->smb, f);
	return r;
}

/* A FILE item for a directory entry (info from readdirplus2). */
static int
file_item(struct win *w, const char *path, const char *url,
    const struct libsmb_file_info *fi)
{
	struct vg_prop *props = NULL;
	struct vg_item *it;
	char attrs[sizeof(dos_attrs) / sizeof(dos_attrs[0]) + 1];
	char when[VG_TIME_BUFLEN];
	size_t i, n = 0;
	int r = VG_ERR_NOMEM, gone = 0;

	if ((it = vg_item_new(VG_KIND_FILE, path, strlen(path))) == NULL)
		return VG_ERR_NOMEM;
	it->ftype = (fi->attrs & DOS_DIRECTORY) ? VG_FT_DIR : VG_FT_REG;
	it->size = fi->size;
	it->mtime_ns = ts_ns(&fi->mtime_ts);
	it->ctime_ns = ts_ns(&fi->ctime_ts);
	it->have = VG_A_TYPE | VG_A_SIZE | VG_A_MTIME | VG_A_CTIME |
	    VG_A_PROPS;
	for (i = 0; i < sizeof(dos_attrs) / sizeof(dos_attrs[0]); i++)
		if (fi->attrs & dos_attrs[i].bit)
			attrs[n++] = dos_attrs[i].letter;
	attrs[n] = '\0';
	vg_time_format(ts_ns(&fi->btime_ts), when);
	if ((props = calloc(2, sizeof(*props))) == NULL ||
	    (props[0].name = strdup("attributes")) == NULL ||
	    (props[0].value = strdup(attrs)) == NULL ||
	    (props[1].name = strdup("created")) == NULL ||
	    (props[1].value = strdup(when)) == NULL) {
		vg_props_free(props, 2);
		goto out;
	}
	if ((r = take_props(it, props, 2)) != 0)
		goto out;
	if (it->ftype == VG_FT_REG) {
		it->have |= VG_A_HASH;
		if ((r = file_hash(w, it, url, &gone)) != 0 || gone)
			goto out;
	}
	r = items_add(w, &w->files, it);
	it = NULL;
out:
	vg_item_free(it);
	return r;
}

struct dir_entry {
	char *name;
	struct libsmb_file_info fi;    /* name and short_name not kept */
};

static void
entries_free(struct dir_entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

/*
 * Lists the folder at url (whole, then closed: a walk never holds more
 * than one directory handle). *err_no is the opendir failure (0 when
 * listed); failures of the connection are the collection's.
 */
static int
list_dir(struct win *w, const char *path, const char *url,
    struct dir_entry **out, size_t *nout, int *err_no)
{
	smbc_opendir_fn od = smbc_getFunctionOpendir(w->smb);
	smbc_readdirplus2_fn rd = smbc_getFunctionReaddirPlus2(w->smb);
	smbc_closedir_fn cd = smbc_getFunctionClosedir(w->smb);
	const struct libsmb_file_info *fi;
	struct dir_entry *v = NULL, *nv;
	size_t n = 0, cap = 0;
	struct stat st;
	SMBCFILE *d;
	int e, r = 0;

	*out = NULL;
	*nout = 0;
	*err_no = 0;
	if (deadline_passed(w))
		return fail(w, VG_ERR_TIMEOUT, "%s:%u: the collection took "
		    "longer than its timeout (listing %s)", w->host, w->port,
		    path);
	smb_timeout_left(w);
	errno = 0;
	if ((d = od(w->smb, url)) == NULL) {
		e = errno != 0 ? errno : EIO;
		if (errno_is_connection(e))
			return fail(w, errno_code(e), "%s:%u: %s: %s",
			    w->host, w->port, path, strerror(e));
		if (e == ENOMEM)
			return VG_ERR_NOMEM;
		*err_no = e;
		return 0;
	}
	while ((fi = rd(w->smb, d, &st)) != NULL) {
		if (fi->name == NULL)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = VG_ERR_NOMEM;
				break;
			}
			v = nv;
		}
		if (n >= w->max_items) {
			r = fail(w, VG_ERR_TOOBIG, "%s: %s: more than %zu "
			    "entries", w->host, path, w->max_items);
			break;
		}
		v[n].fi = *fi;
		v[n].fi.name = NULL;
		v[n].fi.short_name = NULL;
		if ((v[n].name = strdup(fi->name)) == NULL) {
			r = VG_ERR_NOMEM;
			break;
		}
		n++;
	}
	cd(w->smb, d);
	if (r != 0) {
		entries_free(v, n);
		return r;
	}
	*out = v;
	*nout = n;
	return 0;
}

static int
is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* Records the entries of the folder path (url) and walks its subfolders
 * depth levels further. */
static int
walk_dir(struct win *w, char drive, const char *path, const char *rel,
    unsigned int depth)
{
	struct dir_entry *v;
	size_t n, i;
	char *url, *cpath = NULL, *crel = NULL, *curl = NULL;
	int e, r;

	if ((url = file_url(w, drive, rel)) == NULL)
		return VG_ERR_NOMEM;
	r = list_dir(w, path, url, &v, &n, &e);
	free(url);
	if (r != 0)
		return r;
	if (e == ENOENT || e == ENOTDIR)
		return 0;               /* gone since it was seen */
	if (e != 0)
		return unreadable(w, path, errno_text(e));
	for (i = 0; i < n && r == 0; i++) {
		if (is_dot(v[i].name))
			continue;
		/* A name no Windows file system allows, from a server that
		 * means harm or is broken: "a\\b" would pose as the entry b
		 * of a folder a (a fake path), and '/' or "%2F" would take
		 * the URL into another folder. Said, and skipped. */
		if (v[i].name[0] == '\0' ||
		    strpbrk(v[i].name, "\\/") != NULL) {
			if ((r = problem(w, path, "a directory entry with an "
			    "unusable name (empty, or holding '\\' or '/')"))
			    != 0)
				break;
			continue;
		}
		free(cpath);
		free(crel);
		free(curl);
		cpath = path_join(path, v[i].name);
		crel = rel[0] != '\0' ? path_join(rel, v[i].name) :
		    strdup(v[i].name);
		curl = crel != NULL ? file_url(w, drive, crel) : NULL;
		if (cpath == NULL || crel == NULL || curl == NULL) {
			r = VG_ERR_NOMEM;
			break;
		}
		if (excluded(w, cpath))
			continue;
		if (recorded(w, cpath) &&
		    (r = file_item(w, cpath, curl, &v[i].fi)) != 0)
			break;
		/* Junctions and links are not followed (loops, and
		 * "C:\Documents and Settings" is one). */
		if ((v[i].fi.attrs & DOS_DIRECTORY) &&
		    !(v[i].fi.attrs & DOS_REPARSE) && depth > 0)
			r = walk_dir(w, drive, cpath, crel, depth - 1);
	}
	free(cpath);
	free(crel);
	free(curl);
	entries_free(v, n);
	return r;
}

/* Whether the share of drive can be reached: 0 and *ok, or a failure
 * of the connection. A share that cannot be used is a problem and
 * unread for every path on it. */
static int
share_check(struct win *w, char drive, int *ok)
{
	struct dir_entry *v;
	size_t n;
	char *url, path[4] = { drive, ':', '\\', '\0' }, why[300];
	int e, r;

	*ok = 0;
	if ((url = file_url(w, drive, "")) == NULL)
		return VG_ERR_NOMEM;
	r = list_dir(w, path, url, &v, &n, &e);
	free(url);
	if (r != 0)
		return r;
	entries_free(v, n);
	if (e == 0) {
		*ok = 1;
		return 0;
	}
	snprintf(why, sizeof(why), "share %c$: %s", drive, e == ENOENT ?
	    "not found (administrative shares off?)" : errno_text(e));
	return problem(w, path, why);
}

/* One path the policy names ("X:\..." checked, drive upper case). */
static int
collect_file(struct win *w, const char *path)
{
	struct dir_entry *v = NULL;
	const char *rel = path + 3, *base;
	char drive = path[0], *parent = NULL, *purl = NULL, *url = NULL;
	size_t n = 0, i, found;
	int e, r;

	if (excluded(w, path))
		return 0;
	base = strrchr(path, '\\') + 1;
	if (rel[0] == '\0') {
		/* The drive itself: its "." entry describes it. */
		if ((url = file_url(w, drive, "")) == NULL)
			return VG_ERR_NOMEM;
		if ((r = list_dir(w, path, url, &v, &n, &e)) != 0)
			goto out;
		base = ".";
	} else {
		if ((parent = strndup(rel, base > rel ?
		    (size_t)(base - 1 - rel) : 0)) == NULL ||
		    (purl = file_url(w, drive, parent)) == NULL ||
		    (url = file_url(w, drive, rel)) == NULL) {
			r = VG_ERR_NOMEM;
			goto out;
		}
		if ((r = list_dir(w, path, purl, &v, &n, &e)) != 0)
			goto out;
	}
	if (e == ENOENT || e == ENOTDIR)
		goto out;               /* not there: simply absent */
	if (e != 0) {
		r = unreadable(w, path, errno_text(e));
		goto out;
	}
	/* Windows names are case-insensitive: the exact spelling first. */
	found = n;
	for (i = 0; i < n && found == n; i++)
		if (strcmp(v[i].name, base) == 0)
			found = i;
	for (i = 0; i < n && found == n; i++)
		if (strcasecmp(v[i].name, base) == 0)
			found = i;
	if (found == n)
		goto out;
	if (recorded(w, path) &&
	    (r = file_item(w, path, url, &v[found].fi)) != 0)
		goto out;
	/* A folder the policy names is walked even when it is a
	 * junction: only those met on the way are not followed. */
	if (v[found].fi.attrs & DOS_DIRECTORY)
		r = walk_dir(w, drive, path, rel, w->depth);
out:
	entries_free(v, n);
	free(parent);
	free(purl);
	free(url);
	return r;
}

static int
collect_files(struct win *w, int *any_share)
{
	int checked[26] = { 0 }, usable[26] = { 0 }, r, d;
	char *path = NULL;
	size_t i;

	*any_share = 0;
	for (i = 0; i < w->o->nfiles; i++) {
		free(path);
		if ((path = strdup(w->o->files[i])) == NULL)
			return VG_ERR_NOMEM;
		if (path[0] >= 'a' && path[0] <= 'z')
			path[0] = (char)(path[0] - 'a' + 'A');
		d = path[0] - 'A';
		if (!checked[d]) {
			checked[d] = 1;
			if ((r = share_check(w, path[0], &usable[d])) != 0)
				goto out;
		}
		if (!usable[d]) {
			if ((r = strs_add(&w->unread, strdup(path))) != 0)
				goto out;
			continue;
		}
		*any_share = 1;
		if ((r = collect_file(w, path)) != 0)
			goto out;
	}
	r = 0;
out:
	free(path);
	return r;
}

/* ---- the collection ---- */

static void
smb_auth(SMBCCTX *c, const char *srv, const char *shr, char *wg, int wglen,
    char *un, int unlen, char *pw, int pwlen)
{
	struct win *w = smbc_getOptionUserData(c);

	(void)srv;
	(void)shr;
	if (w == NULL)
		return;
	if (w->domain[0] != '\0' && wglen > 0)
		snprintf(wg, (size_t)wglen, "%s", w->domain);
	if (unlen > 0)
		snprintf(un, (size_t)unlen, "%s", w->user);
	if (pwlen > 0)
		snprintf(pw, (size_t)pwlen, "%s", w->password);
}

/* "DOMAIN\user", "user@domain" (kept whole) or "user". */
static int
split_user(struct win *w, const char *user)
{
	const char *bs = strchr(user, '\\');
	size_t dn;

	if (bs != NULL) {
		dn = (size_t)(bs - user);
		if (dn == 0 || dn >= sizeof(w->domain) ||
		    strlen(bs + 1) >= sizeof(w->user) || bs[1] == '\0')
			return fail(w, VG_ERR_INVAL, "user name '%s' is not "
			    "DOMAIN\\user", user);
		memcpy(w->domain, user, dn);
		w->domain[dn] = '\0';
		snprintf(w->user, sizeof(w->user), "%s", bs + 1);
		return 0;
	}
	if (strlen(user) >= sizeof(w->user))
		return fail(w, VG_ERR_INVAL, "user name of %zu bytes is too "
		    "long", strlen(user));
	snprintf(w->user, sizeof(w->user), "%s", user);
	return 0;
}

/*
 * A TCP connection to the address, closed at once: connection errors
 * (refused, unreachable, no answer) said plainly before libsmbclient,
 * whose errno cannot tell a refused TCP connection from a pipe whose
 * server is down.
 */
static int
tcp_probe(struct win *w, const struct sockaddr *sa, socklen_t salen)
{
	struct pollfd pfd;
	socklen_t elen = sizeof(int);
	double left;
	int fd, e = 0, n;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0)
		return fail(w, VG_ERR_IO, "%s: socket: %s", w->host,
		    strerror(errno));
	if (connect(fd, sa, salen) == 0)
		goto out;
	if (errno != EINPROGRESS) {
		e = errno;
		goto out;
	}
	for (;;) {
		left = w->deadline - vg_now();
		if (left <= 0) {
			e = ETIMEDOUT;
			break;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > 3600 ? 3600000 :
		    (int)(left * 1000) + 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			break;
		}
		if (n == 0)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0)
			e = errno;
		break;
	}
out:
	close(fd);
	if (e == 0)
		return 0;
	return fail(w, e == ETIMEDOUT ? VG_ERR_TIMEOUT : VG_ERR_IO,
	    "%s:%u: cannot connect: %s", w->host, w->port, strerror(e));
}

/* Resolves the host here (the library would also try NetBIOS
 * broadcasts) into w->addr, and checks that it takes TCP connections on
 * the port. */
static int
resolve(struct win *w)
{
	struct addrinfo hints, *ai = NULL;
	char buf[INET6_ADDRSTRLEN], port[8], *p;
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", w->port);
	if ((r = getaddrinfo(w->host, port, &hints, &ai)) != 0)
		return fail(w, VG_ERR_IO, "%s: cannot resolve: %s", w->host,
		    gai_strerror(r));
	r = getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof(buf), NULL,
	    0, NI_NUMERICHOST);
	if (r != 0) {
		freeaddrinfo(ai);
		return fail(w, VG_ERR_IO, "%s: cannot resolve: %s", w->host,
		    gai_strerror(r));
	}
	if (ai->ai_family == AF_INET6) {
		/* libsmbclient's URLs take no "[v6]"; Samba reads the
		 * Windows form "fe80--1s2.ipv6-literal.net". */
		for (p = buf; *p != '\0'; p++)
			if (*p == ':')
				*p = '-';
			else if (*p == '%')
				*p = 's';
		snprintf(w->addr, sizeof(w->addr), "%s.ipv6-literal.net",
		    buf);
	} else
		snprintf(w->addr, sizeof(w->addr), "%s", buf);
	r = tcp_probe(w, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return r;
}

static int
smb_context(struct win *w, unsigned int timeout_ms)
{
	SMBCCTX *c;
	int r = 0;

	if ((c = smbc_new_context()) == NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	/* Undoes the smb.conf files smbc_new_context() just read. */
	smbc_setConfiguration(c, "/dev/null");
	smbc_setOptionUserData(c, w);
	smbc_setFunctionAuthDataWithContext(c, smb_auth);
	smbc_setOptionUseKerberos(c, 0);
	smbc_setOptionFallbackAfterKerberos(c, 0);
	smbc_setOptionUseCCache(c, 0);
	smbc_setOptionNoAutoAnonymousLogin(c, 1);
	smbc_setOptionUrlEncodeReaddirEntries(c, 0);
	smbc_setPort(c, (uint16_t)w->port);
	smbc_setTimeout(c, (int)(timeout_ms > 3600000 ? 3600000 : timeout_ms));
	smbc_setUser(c, w->user);
	if (w->domain[0] != '\0')
		smbc_setWorkgroup(c, w->domain);
	if (smbc_init_context(c) == NULL) {
		smbc_free_context(c, 1);
		r = VG_ERR_INTERNAL;
		goto out;
	}
	w->smb = c;
out:
	if (r != 0)
		return fail(w, r, "cannot start libsmbclient: %s",
		    vg_strerror(r));
	return 0;
}

static int
item_cmp(const void *a, const void *b)
{
	return vg_item_path_cmp(*(struct vg_item *const *)a,
	    *(struct vg_item *const *)b);
}

/* Sorted, each path once (policies may name a key and one below it). */
static void
items_sort(struct win_items *l)
{
	size_t i, o = 0;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), item_cmp);
	for (i = 1; i < l->n; i++) {
		if (vg_item_path_cmp(l->v[o], l->v[i]) == 0)
			vg_item_free(l->v[i]);
		else
			l->v[++o] = l->v[i];
	}
	l->n = o + 1;
}

static int
check_opts(const struct proxy_win_opts *o, char *err, size_t errlen)
{
	char e[512];
	size_t i;

	if (o->nkeys + o->nfiles == 0) {
		snprintf(err, errlen, "nothing to collect: no registry key "
		    "and no file");
		return VG_ERR_INVAL;
	}
	for (i = 0; i < o->nkeys; i++)
		if (proxy_win_key_check(o->keys[i], e, sizeof(e)) != 0) {
			snprintf(err, errlen, "registry key: %s", e);
			return VG_ERR_INVAL;
		}
	for (i = 0; i < o->nfiles; i++)
		if (proxy_win_file_check(o->files[i], e, sizeof(e)) != 0) {
			snprintf(err, errlen, "file: %s", e);
			return VG_ERR_INVAL;
		}
	if (o->hash != VG_HASH_NONE && vg_hash_len(o->hash) == 0) {
		snprintf(err, errlen, "unknown hash algorithm %d", o->hash);
		return VG_ERR_INVAL;
	}
	return 0;
}

static void
win_free(struct win *w)
{
	pipe_close(w);
	if (w->smb != NULL) {
		smbc_setOptionUserData(w->smb, NULL);
		smbc_free_context(w->smb, 1);
		w->smb = NULL;
	}
	msrrp_buf_free(&w->req);
	msrrp_buf_free(&w->stub);
	free(w->ans);
	free(w->frag);
	free(w->iobuf);
	vg_hasher_free(w->hasher);
	items_free(&w->keys);
	items_free(&w->values);
	items_free(&w->files);
	strs_free(&w->unread);
	strs_free(&w->problems);
}

int
proxy_win_collect(const struct proxy_target *t,
    const struct proxy_credentials *cred, const struct proxy_win_opts *o,
    unsigned int timeout_ms, struct proxy_win_result **out, char *err,
    size_t errlen)
{
	struct proxy_win_result *res = NULL;
	struct win w;
	char why[600];
	size_t i;
	int r, pipe_errno = 0, any_share = 0, registry_ok = 0;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	memset(&w, 0, sizeof(w));
	w.err = err;
	w.errlen = errlen;
	if (t == NULL || t->host == NULL || t->host[0] == '\0')
		return fail(&w, VG_ERR_INVAL, "no host");
	if (cred == NULL || cred->username == NULL ||
	    cred->username[0] == '\0')
		return fail(&w, VG_ERR_INVAL, "%s: no user name", t->host);
	if (o == NULL)
		return fail(&w, VG_ERR_INVAL, "%s: no options", t->host);
	if ((r = check_opts(o, err, errlen)) != 0)
		return r;
	if (t->port > 65535)
		return fail(&w, VG_ERR_INVAL, "%s: port %u", t->host,
		    t->port);
	if (timeout_ms == 0)
		timeout_ms = WIN_TIMEOUT_MS;
	/* Held until win_free(): see the top of this file. The timeout
	 * starts once it is ours. */
	pthread_mutex_lock(&smb_lock);
	pthread_once(&smb_once, smb_setup);
	if (smb_init_err != 0) {
		pthread_mutex_unlock(&smb_lock);
		return fail(&w, smb_init_err, "libsmbclient cannot start");
	}
	w.o = o;
	w.host = t->host;
	w.port = t->port != 0 ? t->port : PROXY_WIN_PORT;
	w.password = cred->password != NULL ? cred->password : "";
	w.deadline = vg_now() + timeout_ms / 1000.0;
	w.max_items = o->max_items != 0 ? o->max_items : PROXY_WIN_ITEMS_MAX;
	w.depth = o->depth > PROXY_WIN_DEPTH_MAX ? PROXY_WIN_DEPTH_MAX :
	    o->depth;
	w.alg = o->hash != VG_HASH_NONE ? o->hash : VG_HASH_SHA256;
	if ((r = split_user(&w, cred->username)) != 0 ||
	    (r = resolve(&w)) != 0)
		goto out;
	r = VG_ERR_NOMEM;
	if ((w.frag = malloc(MSRRP_FRAG_MAX)) == NULL ||
	    (w.iobuf = malloc(WIN_IO_CHUNK)) == NULL)
		goto out;
	if ((r = vg_hasher_new(w.alg, &w.hasher)) != 0) {
		fail(&w, r, "cannot hash with %s", vg_hash_name(w.alg));
		goto out;
	}
	if ((r = smb_context(&w, timeout_ms)) != 0)
		goto out;

	/* The registry first: its pipe open is also the logon check. */
	if ((r = pipe_open(&w, o->nkeys > 0, &pipe_errno)) != 0)
		goto out;
	if (o->nkeys > 0) {
		if (w.pipe != NULL) {
			if ((r = collect_registry(&w)) != 0)
				goto out;
			registry_ok = 1;
		} else {
			snprintf(why, sizeof(why), "the winreg pipe cannot be "
			    "opened (is the Remote Registry service "
			    "disabled?): %s", strerror(pipe_errno));
			for (i = 0; i < o->nkeys; i++) {
				char *canon;
				const char *sub;
				int hku;

				if ((r = key_split(o->keys[i], &hku, &sub,
				    &canon)) != 0)
					goto out;
				r = unreadable(&w, canon, why);
				free(canon);
				if (r != 0)
					goto out;
			}
		}
	}
	pipe_close(&w);
	if (o->nfiles > 0 && (r = collect_files(&w, &any_share)) != 0)
		goto out;
	if (!registry_ok && !any_share) {
		r = fail(&w, VG_ERR_IO, "%s:%u: %s", w.host, w.port,
		    w.problems.n > 0 ? w.problems.v[0] : "nothing could be "
		    "read");
		goto out;
	}
	if (w.problems_dropped > 0 && (r = strs_add(&w.problems,
	    str_printf("%s: %zu more problems not listed", w.host,
	    w.problems_dropped))) != 0)
		goto out;

	if ((res = calloc(1, sizeof(*res))) == NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	items_sort(&w.keys);
	items_sort(&w.values);
	items_sort(&w.files);
	res->keys = w.keys.v;
	res->nkeys = w.keys.n;
	res->values = w.values.v;
	res->nvalues = w.values.n;
	res->files = w.files.v;
	res->nfiles = w.files.n;
	res->unread = w.unread.v;
	res->nunread = w.unread.n;
	res->problems = w.problems.v;
	res->nproblems = w.problems.n;
	res->rrp_version = w.rrp_version;
	res->rpc_calls = w.rpc_calls;
	memset(&w.keys, 0, sizeof(w.keys));
	memset(&w.values, 0, sizeof(w.values));
	memset(&w.files, 0, sizeof(w.files));
	memset(&w.unread, 0, sizeof(w.unread));
	memset(&w.problems, 0, sizeof(w.problems));
	*out = res;
	r = 0;
out:
	if (r != 0 && errlen > 0 && err[0] == '\0')
		snprintf(err, errlen, "%s: %s", t->host, vg_strerror(r));
	win_free(&w);
	pthread_mutex_unlock(&smb_lock);
	return r;
}

void
proxy_win_result_free(struct proxy_win_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nkeys; i++)
		vg_item_free(r->keys[i]);
	for (i = 0; i < r->nvalues; i++)
		vg_item_free(r->values[i]);
	for (i = 0; i < r->nfiles; i++)
		vg_item_free(r->files[i]);
	for (i = 0; i < r->nunread; i++)
		free(r->unread[i]);
	for (i = 0; i < r->nproblems; i++)
		free(r->problems[i]);
	free(r->keys);
	free(r->values);
	free(r->files);
	free(r->unread);
	free(r->problems);
	free(r);
}
