/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vigil ports check: one probe of one destination. Resolve the name,
 * connect over TCP, then speak just enough of the service's protocol to
 * know that the right thing answers: the hub's TLS handshake and
 * GET <api prefix>v1/health, an SSH server's banner, a Telnet server's
 * option negotiation or login prompt, an SMB server's answer to an SMB2
 * NEGOTIATE. Every step is bounded by the probe's timeout, every byte a
 * peer sends is read into a capped buffer and parsed with its lengths
 * checked: the peer may be anything, hostile included.
 *
 * The classification comes from what the system and the peer said:
 * errno of connect(), getaddrinfo's code, the first bytes read, the TLS
 * alert or OpenSSL's reason. Nothing is guessed from timing but
 * "filtered" (no answer to the SYN before the timeout).
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ports.h"
#include "vg_hash.h"

#define PROBE_DEFAULT_TIMEOUT_MS 3000
#define PROBE_MAX_ADDRS 8      /* addresses of one name tried in turn */
#define SSH_BANNER_MAX 255     /* RFC 4253 4.2: the line is at most 255 */
#define TELNET_READ_MAX 512
#define SMB_READ_MAX 4096      /* the negotiate answer is a few hundred */
#define HTTP_READ_MAX 65536    /* a health answer is under 200 bytes */
#define PEEK_MAX 64            /* first bytes kept to say what answered */

/* SMB2 NEGOTIATE as sent: NetBIOS header, SMB2 header, the request with
 * its four dialects. */
#define SMB_HDR_LEN 64
#define SMB_NEG_REQ_LEN (36 + 4 * 2)
#define SMB_NEGOTIATE_LEN (4 + SMB_HDR_LEN + SMB_NEG_REQ_LEN)

static const uint16_t smb_dialects[] = { 0x0202, 0x0210, 0x0300, 0x0302 };

const char *
ports_result_name(enum ports_result r)
{
	switch (r) {
	case PORTS_OK: return "ok";
	case PORTS_REFUSED: return "refused";
	case PORTS_FILTERED: return "filtered";
	case PORTS_NO_ROUTE: return "no route";
	case PORTS_UNRESOLVED: return "unresolved";
	case PORTS_WRONG_SERVICE: return "wrong service";
	case PORTS_TLS_FAILURE: return "TLS failure";
	case PORTS_THUMBPRINT_MISMATCH: return "thumbprint mismatch";
	case PORTS_SKIPPED: return "skipped";
	}
	return "unknown";
}

const char *
ports_result_id(enum ports_result r)
{
	switch (r) {
	case PORTS_OK: return "ok";
	case PORTS_REFUSED: return "refused";
	case PORTS_FILTERED: return "filtered";
	case PORTS_NO_ROUTE: return "no_route";
	case PORTS_UNRESOLVED: return "unresolved";
	case PORTS_WRONG_SERVICE: return "wrong_service";
	case PORTS_TLS_FAILURE: return "tls_failure";
	case PORTS_THUMBPRINT_MISMATCH: return "thumbprint_mismatch";
	case PORTS_SKIPPED: return "skipped";
	}
	return "unknown";
}

/* ---- small helpers ---- */

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline (mono_ms) passes:
 * 1 ready (or in error: the next call says which), 0 timed out, -1 poll
 * failed (errno). */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int r;

	for (;;) {
		left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

/* "3 s", "0.5 s" */
static void
fmt_secs(int ms, char *buf, size_t len)
{
	snprintf(buf, len, "%g s", ms / 1000.0);
}

static void set_detail(struct ports_probe *p, enum ports_result r,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
set_detail(struct ports_probe *p, enum ports_result r, const char *fmt, ...)
{
	va_list ap;

	p->result = r;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

static const char *
errno_text(int e, char *buf, size_t len)
{
	return strerror_r(e, buf, len);
}

static int
starts_with(const unsigned char *b, size_t n, const char *prefix)
{
	size_t l = strlen(prefix);

	return n >= l && memcmp(b, prefix, l) == 0;
}

static int
is_text_byte(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\r' || c == '\n' || c == '\t';
}

/* Copies the first line of b (at most max characters) as printable
 * ASCII: the line ends at CR or LF, other control bytes and bytes over
 * 0x7e become '?'. out is always terminated. */
static void
printable_line(const unsigned char *b, size_t n, size_t max, char *out,
    size_t len)
{
	size_t i, o = 0;

	if (len == 0)
		return;
	for (i = 0; i < n && i < max && o + 1 < len; i++) {
		if (b[i] == '\r' || b[i] == '\n')
			break;
		out[o++] = (b[i] >= 0x20 && b[i] < 0x7f) ? (char)b[i] : '?';
	}
	out[o] = '\0';
}

static const char *
telnet_option_name(unsigned char opt)
{
	switch (opt) {
	case 0: return "BINARY";
	case 1: return "ECHO";
	case 3: return "SUPPRESS-GO-AHEAD";
	case 5: return "STATUS";
	case 6: return "TIMING-MARK";
	case 24: return "TERMINAL-TYPE";
	case 31: return "NAWS";
	case 32: return "TERMINAL-SPEED";
	case 33: return "TOGGLE-FLOW-CONTROL";
	case 34: return "LINEMODE";
	case 35: return "X-DISPLAY-LOCATION";
	case 36: return "OLD-ENVIRON";
	case 37: return "AUTHENTICATION";
	case 38: return "ENCRYPT";
	case 39: return "NEW-ENVIRON";
	}
	return NULL;
}

/* Telnet: IAC (0xFF) then WILL, WONT, DO or DONT and an option. The
 * offset of the first such triple, or -1. */
static long
telnet_negotiation_at(const unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i + 2 < n; i++)
		if (b[i] == 0xff && b[i + 1] >= 251 && b[i + 1] <= 254)
			return (long)i;
	return -1;
}

/* Does b hold a login prompt ("login:", "username:", "user name:",
 * "password:"), in any case? */
static int
telnet_has_prompt(const unsigned char *b, size_t n)
{
	static const char *const prompts[] = { "login:", "username:",
		"user name:", "password:" };
	size_t i, k, l;

	for (k = 0; k < sizeof(prompts) / sizeof(prompts[0]); k++) {
		l = strlen(prompts[k]);
		for (i = 0; i + l <= n; i++)
			if (strncasecmp((const char *)b + i, prompts[k],
			    l) == 0)
				return 1;
	}
	return 0;
}

/* Names what answered from the first bytes it sent, for "wrong service"
 * details: an HTTP, SSH, Telnet, TLS or SMB server, the text it sent, or
 * its first bytes in hex. */
static void
describe_peer(const unsigned char *b, size_t n, char *out, size_t len)
{
	char text[96];
	size_t i;

	if (n == 0) {
		snprintf(out, len, "nothing");
		return;
	}
	if (starts_with(b, n, "HTTP/")) {
		printable_line(b, n, 80, text, sizeof(text));
		snprintf(out, len, "an HTTP server (\"%s\")", text);
		return;
	}
	if (starts_with(b, n, "SSH-")) {
		printable_line(b, n, 80, text, sizeof(text));
		snprintf(out, len, "an SSH server (\"%s\")", text);
		return;
	}
	if (telnet_negotiation_at(b, n) == 0) {
		snprintf(out, len, "a Telnet server (option negotiation)");
		return;
	}
	if (n >= 3 && b[0] >= 0x14 && b[0] <= 0x18 && b[1] == 0x03) {
		snprintf(out, len, "a TLS server");
		return;
	}
	if (n >= 8 && b[0] == 0x00 && (memcmp(b + 4, "\xfeSMB", 4) == 0 ||
	    memcmp(b + 4, "\xffSMB", 4) == 0)) {
		snprintf(out, len, "an SMB server");
		return;
	}
	for (i = 0; i < n && i < PEEK_MAX; i++)
		if (!is_text_byte(b[i]))
			break;
	if (i == n || i == PEEK_MAX) {
		printable_line(b, n, 80, text, sizeof(text));
		snprintf(out, len, "\"%s\"", text);
		return;
	}
	vg_hex_format(b, n < 16 ? n : 16, ' ', 0, text, sizeof(text));
	snprintf(out, len, "bytes %s", text);
}

/* ---- reading and writing with a deadline ---- */

enum read_end { READ_DONE, READ_FULL, READ_EOF, READ_TIMEOUT, READ_ERROR };

typedef int (*read_done_fn)(const unsigned char *b, size_t n);

/* Reads into b (cap bytes) until done(b, n) says the answer is whole,
 * the buffer is full, the peer closes, the deadline passes or a read
 * fails (errno in *err). Returns the bytes read; *end says why it
 * stopped. */
static size_t
read_until(int fd, unsigned char *b, size_t cap, long long deadline,
    read_done_fn done, enum read_end *end, int *err)
{
	size_t n = 0;
	ssize_t r;
	int w;

	*err = 0;
	for (;;) {
		if (n > 0 && done(b, n)) {
			*end = READ_DONE;
			return n;
		}
		if (n == cap) {
			*end = READ_FULL;
			return n;
		}
		if ((w = wait_fd(fd, POLLIN, deadline)) == 0) {
			*end = READ_TIMEOUT;
			return n;
		}
		if (w < 0) {
			*err = errno;
			*end = READ_ERROR;
			return n;
		}
		r = recv(fd, b + n, cap - n, 0);
		if (r > 0) {
			n += (size_t)r;
		} else if (r == 0) {
			*end = READ_EOF;
			return n;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			*err = errno;
			*end = READ_ERROR;
			return n;
		}
	}
}

/* Sends all of b before the deadline: 0, 1 timed out, -1 failed (*err).
 * MSG_NOSIGNAL: a peer that closes must not raise SIGPIPE. */
static int
send_all(int fd, const unsigned char *b, size_t n, long long deadline,
    int *err)
{
	size_t off = 0;
	ssize_t r;
	int w;

	while (off < n) {
		r = send(fd, b + off, n - off, MSG_NOSIGNAL);
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			*err = errno;
			return -1;
		}
		if ((w = wait_fd(fd, POLLOUT, deadline)) == 0)
			return 1;
		if (w < 0) {
			*err = errno;
			return -1;
		}
	}
	return 0;
}

/* ---- resolving and connecting ---- */

struct resolve_req {
	struct gaicb cb;
	struct addrinfo hints;
	char host[256];
	char port[8];
};

/* Resolves host and port into *out (freeaddrinfo). An address needs no
 * lookup. A name is looked up in the background (getaddrinfo_a) and
 * waited for until the timeout, since getaddrinfo() itself may wait for
 * the resolver's own timeouts, several times ours. A lookup still
 * running then is abandoned: its request stays allocated, as the
 * resolver's thread still writes to it. 0, or an EAI_* code (EAI_AGAIN
 * with *timed_out set when the time ran out). */
static int
resolve(const char *host, int port, int timeout_ms, struct addrinfo **out,
    int *timed_out)
{
	struct addrinfo hints;
	struct resolve_req *req;
	struct gaicb *list[1];
	struct timespec ts;
	long long deadline, left;
	char portstr[8];
	int r, c;

	*out = NULL;
	*timed_out = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
	snprintf(portstr, sizeof(portstr), "%d", port);
	r = getaddrinfo(host, portstr, &hints, out);
	if (r != EAI_NONAME)
		return r;

	if (strlen(host) >= sizeof(req->host))
		return EAI_NONAME;
	if ((req = calloc(1, sizeof(*req))) == NULL)
		return EAI_MEMORY;
	memcpy(req->host, host, strlen(host) + 1);
	memcpy(req->port, portstr, sizeof(portstr));
	req->hints = hints;
	req->hints.ai_flags = AI_NUMERICSERV;
	req->cb.ar_name = req->host;
	req->cb.ar_service = req->port;
	req->cb.ar_request = &req->hints;
	list[0] = &req->cb;
	if ((r = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL)) != 0) {
		free(req);
		return r;
	}
	deadline = mono_ms() + timeout_ms;
	while ((r = gai_error(&req->cb)) == EAI_INPROGRESS) {
		if ((left = deadline - mono_ms()) <= 0)
			break;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		gai_suspend((const struct gaicb *const *)list, 1, &ts);
	}
	if (r == EAI_INPROGRESS) {
		c = gai_cancel(&req->cb);
		if (c == EAI_ALLDONE) {
			r = gai_error(&req->cb);
		} else {
			if (c == EAI_CANCELED)
				free(req);
			*timed_out = 1;
			return EAI_AGAIN;
		}
	}
	if (r == 0)
		*out = req->cb.ar_result;
	free(req);
	return r;
}

static enum ports_result
connect_errno_result(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return PORTS_REFUSED;
	case ETIMEDOUT:
		return PORTS_FILTERED;
	default:
		/* EHOSTUNREACH, ENETUNREACH, EACCES/EPERM (this host's
		 * firewall), ENETDOWN, EADDRNOTAVAIL, EAFNOSUPPORT ... */
		return PORTS_NO_ROUTE;
	}
}

/* Connects to one address within timeout_ms: fd, or -1 with the result
 * and detail set in p. */
static int
connect_addr(struct ports_probe *p, const struct addrinfo *ai,
    const char *addr, int timeout_ms)
{
	char ebuf[128], secs[32];
	const char *why;
	socklen_t elen;
	int fd, e = 0, w;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		e = errno;
		set_detail(p, PORTS_NO_ROUTE, "cannot open a socket for %s: %s",
		    addr, errno_text(e, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		e = errno;
	} else if ((w = wait_fd(fd, POLLOUT, mono_ms() + timeout_ms)) == 0) {
		close(fd);
		fmt_secs(timeout_ms, secs, sizeof(secs));
		set_detail(p, PORTS_FILTERED, "connect to %s port %d: no "
		    "answer within %s", addr, p->port, secs);
		return -1;
	} else if (w < 0) {
		e = errno;
	} else {
		elen = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0)
			e = errno;
		if (e == 0)
			return fd;
	}
	close(fd);
	why = "";
	if (e == EPERM || e == EACCES)
		why = " (refused on this host: a firewall rule or a "
		    "prohibit route)";
	set_detail(p, connect_errno_result(e), "connect to %s port %d: %s%s",
	    addr, p->port, errno_text(e, ebuf, sizeof(ebuf)), why);
	return -1;
}

/* Resolves p->host and connects to its addresses in turn until one
 * answers; the last failure is the one reported. Connecting is one step:
 * all the addresses share its timeout, each one waited for at most an
 * even share of what is left. fd, or -1 with p's result set. */
static int
probe_connect(struct ports_probe *p, int timeout_ms)
{
	struct addrinfo *res = NULL, *ai;
	char addr[INET6_ADDRSTRLEN + 16], secs[32];
	long long deadline, left;
	int r, timed_out, fd = -1, tried = 0, naddr = 0;

	r = resolve(p->host, p->port, timeout_ms, &res, &timed_out);
	if (r != 0) {
		fmt_secs(timeout_ms, secs, sizeof(secs));
		if (timed_out)
			set_detail(p, PORTS_UNRESOLVED, "%s: no answer from "
			    "the resolver within %s", p->host, secs);
		else
			set_detail(p, PORTS_UNRESOLVED, "%s: %s", p->host,
			    gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL && naddr < PROBE_MAX_ADDRS; ai = ai->ai_next)
		naddr++;
	deadline = mono_ms() + timeout_ms;
	for (ai = res; ai != NULL && tried < naddr; ai = ai->ai_next) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr),
		    NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(addr, sizeof(addr), "?");
		snprintf(p->address, sizeof(p->address), "%s", addr);
		left = (deadline - mono_ms()) / (naddr - tried);
		tried++;
		if ((fd = connect_addr(p, ai, addr, left > 0 ? (int)left :
		    1)) >= 0) {
			/* An earlier address's failure is not the result. */
			p->result = PORTS_OK;
			p->detail[0] = '\0';
			break;
		}
	}
	if (tried == 0)
		set_detail(p, PORTS_UNRESOLVED, "%s: no address", p->host);
	freeaddrinfo(res);
	return fd;
}

/* ---- SSH ---- */

/* Finds the server's identification line ("SSH-2.0-..."), which may
 * follow other lines (RFC 4253 4.2), and copies it printable to out.
 * An unfinished last line counts only when final is set. 1 found, 0
 * not. */
static int
ssh_banner_find(const unsigned char *b, size_t n, int final, char *out,
    size_t len)
{
	size_t start = 0, i;

	while (start < n) {
		for (i = start; i < n && b[i] != '\n'; i++)
			;
		if (i == n && !final)
			return 0;
		if (starts_with(b + start, i - start, "SSH-")) {
			printable_line(b + start, i - start, SSH_BANNER_MAX,
			    out, len);
			return 1;
		}
		start = i + 1;
	}
	return 0;
}

/* Read on until the banner line is whole, or until a byte shows that
 * no text line is coming (Telnet's IAC, a binary protocol). */
static int
ssh_done(const unsigned char *b, size_t n)
{
	char line[8];
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] < 0x80 && !is_text_byte(b[i]))
			return 1;
		else if (b[i] == 0xff)
			return 1;
	return ssh_banner_find(b, n, 0, line, sizeof(line));
}

/* Classifies what an SSH port said: PORTS_OK with the banner, or
 * PORTS_WRONG_SERVICE saying what came instead. */
static enum ports_result
ssh_classify(const unsigned char *b, size_t n, enum read_end end,
    int timeout_ms, char *detail, size_t len)
{
	char what[160], secs[32];

	if (ssh_banner_find(b, n, 1, detail, len))
		return PORTS_OK;
	fmt_secs(timeout_ms, secs, sizeof(secs));
	if (n == 0 && end == READ_TIMEOUT)
		snprintf(detail, len, "no SSH banner: the server said "
		    "nothing within %s", secs);
	else if (n == 0)
		snprintf(detail, len, "no SSH banner: the server closed the "
		    "connection without a word");
	else {
		describe_peer(b, n, what, sizeof(what));
		snprintf(detail, len, "no SSH banner: %s answered", what);
	}
	return PORTS_WRONG_SERVICE;
}

static void
probe_ssh(struct ports_probe *p, int fd, int timeout_ms)
{
	unsigned char b[SSH_BANNER_MAX];
	char ebuf[128];
	enum read_end end;
	size_t n;
	int err;

	n = read_until(fd, b, sizeof(b), mono_ms() + timeout_ms, ssh_done,
	    &end, &err);
	p->result = ssh_classify(b, n, end, timeout_ms, p->detail,
	    sizeof(p->detail));
	if (p->result != PORTS_OK && n == 0 && end == READ_ERROR)
		snprintf(p->detail, sizeof(p->detail), "no SSH banner: "
		    "reading from %s port %d failed: %s", p->address, p->port,
		    errno_text(err, ebuf, sizeof(ebuf)));
}

/* ---- Telnet ---- */

/* What a Telnet port said: PORTS_OK for option negotiation or a login
 * prompt, PORTS_WRONG_SERVICE otherwise. With final unset, PORTS_SKIPPED
 * means "nothing decisive yet, read on". */
static enum ports_result
telnet_classify(const unsigned char *b, size_t n, int final, char *detail,
    size_t len)
{
	static const char *const verbs[] = { "WILL", "WONT", "DO", "DONT" };
	char what[160];
	const char *name;
	long at;

	if ((at = telnet_negotiation_at(b, n)) >= 0) {
		name = telnet_option_name(b[at + 2]);
		if (name != NULL)
			snprintf(detail, len, "option negotiation (IAC %s %s)",
			    verbs[b[at + 1] - 251], name);
		else
			snprintf(detail, len, "option negotiation (IAC %s "
			    "option %u)", verbs[b[at + 1] - 251], b[at + 2]);
		return PORTS_OK;
	}
	if (telnet_has_prompt(b, n)) {
		snprintf(detail, len, "login prompt");
		return PORTS_OK;
	}
	if (!final)
		return PORTS_SKIPPED;
	if (n == 0) {
		snprintf(detail, len, "no Telnet negotiation or login prompt: "
		    "the server said nothing");
		return PORTS_WRONG_SERVICE;
	}
	describe_peer(b, n, what, sizeof(what));
	snprintf(detail, len, "no Telnet negotiation or login prompt: %s "
	    "answered", what);
	return PORTS_WRONG_SERVICE;
}

/* Read on until the answer is decisive: Telnet, or a whole first line
 * that another protocol starts with (an SSH banner, an HTTP answer). */
static int
telnet_done(const unsigned char *b, size_t n)
{
	char d[8];

	if (telnet_classify(b, n, 0, d, sizeof(d)) != PORTS_SKIPPED)
		return 1;
	return (starts_with(b, n, "SSH-") || starts_with(b, n, "HTTP/")) &&
	    memchr(b, '\n', n) != NULL;
}

static void
probe_telnet(struct ports_probe *p, int fd, int timeout_ms)
{
	unsigned char b[TELNET_READ_MAX];
	char secs[32], ebuf[128];
	enum read_end end;
	size_t n;
	int err;

	n = read_until(fd, b, sizeof(b), mono_ms() + timeout_ms, telnet_done,
	    &end, &err);
	p->result = telnet_classify(b, n, 1, p->detail, sizeof(p->detail));
	if (p->result != PORTS_OK && n == 0 && end == READ_TIMEOUT) {
		fmt_secs(timeout_ms, secs, sizeof(secs));
		snprintf(p->detail, sizeof(p->detail), "no Telnet negotiation "
		    "or login prompt: the server said nothing within %s",
		    secs);
	} else if (p->result != PORTS_OK && n == 0 && end == READ_ERROR) {
		snprintf(p->detail, sizeof(p->detail), "no Telnet negotiation "
		    "or login prompt: reading from %s port %d failed: %s",
		    p->address, p->port, errno_text(err, ebuf, sizeof(ebuf)));
	} else if (p->result != PORTS_OK && n == 0) {
		snprintf(p->detail, sizeof(p->detail), "no Telnet negotiation "
		    "or login prompt: the server closed the connection "
		    "without a word");
	}
}

/* ---- SMB ---- */

static void
put_le16(unsigned char *b, uint16_t v)
{
	b[0] = (unsigned char)(v & 0xff);
	b[1] = (unsigned char)(v >> 8);
}

static uint16_t
get_le16(const unsigned char *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t
get_le32(const unsigned char *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

/* An SMB2 NEGOTIATE offering dialects 2.0.2 to 3.0.2 (3.1.1 would need
 * negotiate contexts, and every server that speaks it speaks 3.0.2 too
 * unless told not to). [MS-SMB2] 2.2.1.2 and 2.2.3. */
static void
smb_negotiate_request(unsigned char req[SMB_NEGOTIATE_LEN])
{
	unsigned char *h = req + 4, *q = req + 4 + SMB_HDR_LEN;
	size_t i, len = SMB_NEGOTIATE_LEN - 4;

	memset(req, 0, SMB_NEGOTIATE_LEN);
	/* NetBIOS session message: type 0, 24-bit length. */
	req[1] = (unsigned char)(len >> 16);
	req[2] = (unsigned char)(len >> 8);
	req[3] = (unsigned char)len;
	memcpy(h, "\xfeSMB", 4);
	put_le16(h + 4, SMB_HDR_LEN);      /* StructureSize */
	/* CreditCharge, Status, Command (0: NEGOTIATE) stay 0. */
	put_le16(h + 14, 1);               /* CreditRequest */
	/* Flags, NextCommand, MessageId, TreeId, SessionId, Signature: 0 */
	put_le16(q, 36);                   /* StructureSize */
	put_le16(q + 2, sizeof(smb_dialects) / sizeof(smb_dialects[0]));
	put_le16(q + 4, 1);                /* SecurityMode: signing enabled */
	/* Reserved, Capabilities: 0. ClientGuid: */
	if (RAND_bytes(q + 12, 16) != 1)
		memset(q + 12, 0x5a, 16);
	/* ClientStartTime: 0. Then the dialects. */
	for (i = 0; i < sizeof(smb_dialects) / sizeof(smb_dialects[0]); i++)
		put_le16(q + 36 + 2 * i, smb_dialects[i]);
}

static const char *
smb_dialect_name(uint16_t d)
{
	switch (d) {
	case 0x0202: return "2.0.2";
	case 0x0210: return "2.1";
	case 0x0300: return "3.0";
	case 0x0302: return "3.0.2";
	}
	return NULL;
}

static const char *
smb_status_name(uint32_t s)
{
	switch (s) {
	case 0xc00000bbu: return "STATUS_NOT_SUPPORTED: no dialect in common";
	case 0xc0000022u: return "STATUS_ACCESS_DENIED";
	case 0xc000000du: return "STATUS_INVALID_PARAMETER";
	case 0xc0000001u: return "STATUS_UNSUCCESSFUL";
	case 0xc000009au: return "STATUS_INSUFFICIENT_RESOURCES";
	}
	return "an error";
}

int
ports_smb_parse(const unsigned char *b, size_t n, char *detail, size_t len)
{
	const unsigned char *h, *body;
	char what[160];
	size_t nb_len, avail, blen, secoff, seclen;
	uint32_t status, flags;
	uint16_t cmd, dialect, secmode;
	const char *name;

	if (len == 0)
		return PORTS_WRONG_SERVICE;
	if (n < 4) {
		snprintf(detail, len, "not SMB: an answer of %zu byte%s, too "
		    "short for a NetBIOS header", n, n == 1 ? "" : "s");
		return PORTS_WRONG_SERVICE;
	}
	if (b[0] == 0x82 || b[0] == 0x83 || b[0] == 0x85) {
		snprintf(detail, len, "not SMB2: a NetBIOS session service "
		    "answer of type 0x%02x", b[0]);
		return PORTS_WRONG_SERVICE;
	}
	if (b[0] != 0x00) {
		describe_peer(b, n, what, sizeof(what));
		snprintf(detail, len, "not SMB: %s answered", what);
		return PORTS_WRONG_SERVICE;
	}
	nb_len = (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
	avail = n - 4 < nb_len ? n - 4 : nb_len;
	h = b + 4;
	if (avail < 4) {
		snprintf(detail, len, "not SMB: a NetBIOS message of %zu "
		    "byte%s", nb_len, nb_len == 1 ? "" : "s");
		return PORTS_WRONG_SERVICE;
	}
	if (memcmp(h, "\xffSMB", 4) == 0) {
		if (avail < 32) {
			snprintf(detail, len, "a truncated SMB1 answer (%zu of "
			    "32 header bytes)", avail);
			return PORTS_WRONG_SERVICE;
		}
		snprintf(detail, len, "SMB1 only (insecure): the server "
		    "answered SMB2 NEGOTIATE in SMB1 (command 0x%02x)", h[4]);
		return PORTS_OK;
	}
	if (memcmp(h, "\xfeSMB", 4) != 0) {
		vg_hex_format(h, 4, ' ', 0, what, sizeof(what));
		snprintf(detail, len, "not SMB: a NetBIOS message starting "
		    "with %s", what);
		return PORTS_WRONG_SERVICE;
	}
	if (avail < SMB_HDR_LEN) {
		snprintf(detail, len, "a truncated SMB2 answer (%zu of %d "
		    "header bytes)", avail, SMB_HDR_LEN);
		return PORTS_WRONG_SERVICE;
	}
	if (get_le16(h + 4) != SMB_HDR_LEN) {
		snprintf(detail, len, "a malformed SMB2 header (StructureSize "
		    "%u)", get_le16(h + 4));
		return PORTS_WRONG_SERVICE;
	}
	status = get_le32(h + 8);
	cmd = get_le16(h + 12);
	flags = get_le32(h + 16);
	if (!(flags & 0x00000001u)) {
		snprintf(detail, len, "not an SMB server: the answer is an "
		    "SMB2 request (an echo?), not a response");
		return PORTS_WRONG_SERVICE;
	}
	if (cmd != 0) {
		snprintf(detail, len, "an SMB2 answer to command 0x%04x, not "
		    "to NEGOTIATE", cmd);
		return PORTS_WRONG_SERVICE;
	}
	if (status != 0) {
		snprintf(detail, len, "the SMB2 server refused NEGOTIATE of "
		    "dialects 2.0.2 to 3.0.2: status 0x%08x (%s)", status,
		    smb_status_name(status));
		return PORTS_WRONG_SERVICE;
	}
	body = h + SMB_HDR_LEN;
	blen = avail - SMB_HDR_LEN;
	if (blen < 8) {
		snprintf(detail, len, "a truncated SMB2 NEGOTIATE answer (%zu "
		    "bytes after the header)", blen);
		return PORTS_WRONG_SERVICE;
	}
	if (get_le16(body) != 65) {
		snprintf(detail, len, "a malformed SMB2 NEGOTIATE answer "
		    "(StructureSize %u, not 65)", get_le16(body));
		return PORTS_WRONG_SERVICE;
	}
	secmode = get_le16(body + 2);
	dialect = get_le16(body + 4);
	if ((name = smb_dialect_name(dialect)) == NULL) {
		snprintf(detail, len, "the SMB2 server chose dialect 0x%04x, "
		    "which was not offered", dialect);
		return PORTS_WRONG_SERVICE;
	}
	if (blen >= 64) {
		/* The security buffer must lie after the fixed part and
		 * inside the message the server announced. */
		secoff = get_le16(body + 56);
		seclen = get_le16(body + 58);
		if (seclen > 0 && (secoff < SMB_HDR_LEN + 64 ||
		    secoff + seclen > nb_len)) {
			snprintf(detail, len, "a malformed SMB2 NEGOTIATE "
			    "answer: security buffer at %zu+%zu outside the "
			    "%zu-byte message", secoff, seclen, nb_len);
			return PORTS_WRONG_SERVICE;
		}
	}
	snprintf(detail, len, "SMB %s negotiated%s", name,
	    (secmode & 0x0002) ? ", signing required" : "");
	return PORTS_OK;
}

static int
smb_done(const unsigned char *b, size_t n)
{
	size_t nb_len;

	if (n < 4)
		return 0;
	if (b[0] != 0x00)
		return 1;
	nb_len = (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
	return n - 4 >= nb_len;
}

static void
probe_smb(struct ports_probe *p, int fd, int timeout_ms)
{
	unsigned char req[SMB_NEGOTIATE_LEN], b[SMB_READ_MAX];
	char ebuf[128], secs[32];
	long long deadline = mono_ms() + timeout_ms;
	enum read_end end;
	size_t n;
	int r, err = 0;

	fmt_secs(timeout_ms, secs, sizeof(secs));
	smb_negotiate_request(req);
	if ((r = send_all(fd, req, sizeof(req), deadline, &err)) != 0) {
		if (r > 0)
			set_detail(p, PORTS_WRONG_SERVICE, "the SMB2 NEGOTIATE "
			    "could not be sent within %s", secs);
		else
			set_detail(p, PORTS_WRONG_SERVICE, "sending the SMB2 "
			    "NEGOTIATE: %s", errno_text(err, ebuf,
			    sizeof(ebuf)));
		return;
	}
	n = read_until(fd, b, sizeof(b), deadline, smb_done, &end, &err);
	if (n == 0) {
		if (end == READ_TIMEOUT)
			set_detail(p, PORTS_WRONG_SERVICE, "no answer to the "
			    "SMB2 NEGOTIATE within %s", secs);
		else if (end == READ_ERROR)
			set_detail(p, PORTS_WRONG_SERVICE, "no answer to the "
			    "SMB2 NEGOTIATE: %s", errno_text(err, ebuf,
			    sizeof(ebuf)));
		else
			set_detail(p, PORTS_WRONG_SERVICE, "the server closed "
			    "the connection without answering the SMB2 "
			    "NEGOTIATE");
		return;
	}
	p->result = (enum ports_result)ports_smb_parse(b, n, p->detail,
	    sizeof(p->detail));
}

/* ---- HTTPS: TLS, the certificate, GET v1/health ---- */

/*
 * The TLS connection goes through a BIO of our own on the socket: it
 * keeps the first bytes the server sends (so that a failed handshake can
 * say that plain HTTP or SSH answered) and sends with MSG_NOSIGNAL (a
 * server that closes must not kill us with SIGPIPE).
 */
struct tls_peer {
	int fd;
	unsigned char first[PEEK_MAX];
	size_t nfirst;
	int eof;          /* the server closed */
	int sys_err;      /* errno of the last failed send or recv */
	int alert;        /* the last alert the server sent (SSL_CB alert
	                     value), 0 none */
	int cert_asked;   /* the server asked for a client certificate */
};

static BIO_METHOD *tls_bio_method;
static pthread_once_t tls_bio_once = PTHREAD_ONCE_INIT;

static int
tls_bio_write(BIO *bio, const char *data, size_t len, size_t *written)
{
	struct tls_peer *tp = BIO_get_data(bio);
	ssize_t r;

	BIO_clear_retry_flags(bio);
	r = send(tp->fd, data, len, MSG_NOSIGNAL);
	if (r >= 0) {
		*written = (size_t)r;
		return 1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		BIO_set_retry_write(bio);
	else
		tp->sys_err = errno;
	*written = 0;
	return 0;
}

static int
tls_bio_read(BIO *bio, char *data, size_t len, size_t *readbytes)
{
	struct tls_peer *tp = BIO_get_data(bio);
	size_t keep;
	ssize_t r;

	BIO_clear_retry_flags(bio);
	*readbytes = 0;
	r = recv(tp->fd, data, len, 0);
	if (r > 0) {
		if (tp->nfirst < sizeof(tp->first)) {
			keep = sizeof(tp->first) - tp->nfirst;
			if (keep > (size_t)r)
				keep = (size_t)r;
			memcpy(tp->first + tp->nfirst, data, keep);
			tp->nfirst += keep;
		}
		*readbytes = (size_t)r;
		return 1;
	}
	if (r == 0)
		tp->eof = 1;
	else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		BIO_set_retry_read(bio);
	else
		tp->sys_err = errno;
	return 0;
}

static long
tls_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	struct tls_peer *tp = BIO_get_data(bio);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_EOF:
		return tp != NULL && tp->eof;
	}
	return 0;
}

static int
tls_bio_create(BIO *bio)
{
	BIO_set_init(bio, 1);
	return 1;
}

static void
tls_bio_method_init(void)
{
	BIO_METHOD *m;
	int idx;

	if ((idx = BIO_get_new_index()) == -1)
		return;
	if ((m = BIO_meth_new(idx | BIO_TYPE_SOURCE_SINK,
	    "vigil ports probe")) == NULL)
		return;
	if (!BIO_meth_set_write_ex(m, tls_bio_write) ||
	    !BIO_meth_set_read_ex(m, tls_bio_read) ||
	    !BIO_meth_set_ctrl(m, tls_bio_ctrl) ||
	    !BIO_meth_set_create(m, tls_bio_create)) {
		BIO_meth_free(m);
		return;
	}
	tls_bio_method = m;
}

static void
tls_info_cb(const SSL *ssl, int where, int ret)
{
	struct tls_peer *tp = SSL_get_app_data(ssl);

	/* close_notify (0) is the end of a good conversation, not why it
	 * failed. */
	if (tp != NULL && (where & SSL_CB_READ_ALERT) && (ret & 0xff) != 0)
		tp->alert = ret;
}

/* The server asks for a client certificate: note it, send none. */
static int
tls_client_cert_cb(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
	struct tls_peer *tp = SSL_get_app_data(ssl);

	(void)x509;
	(void)pkey;
	if (tp != NULL)
		tp->cert_asked = 1;
	return 0;
}

/* Do these bytes start like a TLS record (content type 20..24, major
 * version 3)? */
static int
tls_record_start(const unsigned char *b, size_t n)
{
	if (n >= 1 && (b[0] < 0x14 || b[0] > 0x18))
		return 0;
	if (n >= 2 && b[1] != 0x03)
		return 0;
	return 1;
}

/* After an SSL call returned rc: waits for the socket as OpenSSL asks.
 * 1: call again; 0: the deadline passed; -1: failed (*err holds
 * SSL_get_error's answer). */
static int
tls_again(SSL *ssl, int rc, int fd, long long deadline, int *err)
{
	int w;

	*err = SSL_get_error(ssl, rc);
	if (*err == SSL_ERROR_WANT_READ)
		w = wait_fd(fd, POLLIN, deadline);
	else if (*err == SSL_ERROR_WANT_WRITE)
		w = wait_fd(fd, POLLOUT, deadline);
	else
		return -1;
	if (w < 0)
		*err = SSL_ERROR_SYSCALL;
	return w;
}

/* The alert's name; OpenSSL 3.0's table stops before TLS 1.3's. */
static const char *
tls_alert_name(int alert)
{
	switch (alert & 0xff) {
	case 109: return "missing extension";
	case 115: return "unknown PSK identity";
	case 116: return "certificate required";
	case 120: return "no application protocol";
	}
	return SSL_alert_desc_string_long(alert);
}

/* Why the TLS conversation failed, in OpenSSL's words where it has
 * some. */
static void
tls_reason(const struct tls_peer *tp, int sslerr, char *out, size_t len)
{
	unsigned long e = ERR_peek_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;
	char ebuf[128];

	if (tp->alert != 0)
		snprintf(out, len, "the server sent the TLS alert \"%s\"%s",
		    tls_alert_name(tp->alert), tp->cert_asked ||
		    (tp->alert & 0xff) == 116 ?
		    " (it wants a client certificate)" : "");
	else if (tp->eof)
		snprintf(out, len, "the server closed the connection in the "
		    "middle of the TLS handshake");
	else if (reason != NULL)
		snprintf(out, len, "%s", reason);
	else if (tp->sys_err != 0)
		snprintf(out, len, "%s", errno_text(tp->sys_err, ebuf,
		    sizeof(ebuf)));
	else
		snprintf(out, len, "OpenSSL error %d", sslerr);
}

/* Reads what else the server already sent without waiting, to describe
 * it better than the 5 bytes OpenSSL looked at. */
static void
tls_peek_more(struct tls_peer *tp)
{
	ssize_t r;

	if (tp->eof || tp->nfirst >= sizeof(tp->first))
		return;
	r = recv(tp->fd, tp->first + tp->nfirst,
	    sizeof(tp->first) - tp->nfirst, MSG_DONTWAIT);
	if (r > 0)
		tp->nfirst += (size_t)r;
}

/* The handshake, within timeout_ms. 0, or -1 with p's result set. */
static int
tls_handshake(struct ports_probe *p, SSL *ssl, struct tls_peer *tp,
    int timeout_ms)
{
	long long deadline = mono_ms() + timeout_ms;
	char what[160], why[256], secs[32];
	int rc, w, err = 0;

	for (;;) {
		ERR_clear_error();
		if ((rc = SSL_connect(ssl)) == 1)
			return 0;
		if ((w = tls_again(ssl, rc, tp->fd, deadline, &err)) <= 0)
			break;
	}
	fmt_secs(timeout_ms, secs, sizeof(secs));
	tls_peek_more(tp);
	if (tp->nfirst > 0 && !tls_record_start(tp->first, tp->nfirst)) {
		/* An HTTP server answers the ClientHello with an error:
		 * a status line, or (taking it for HTTP/0.9) a bare page. */
		if (starts_with(tp->first, tp->nfirst, "HTTP/") ||
		    (tp->nfirst >= 5 && (strncasecmp((const char *)tp->first,
		    "<!doc", 5) == 0 || strncasecmp((const char *)tp->first,
		    "<html", 5) == 0))) {
			printable_line(tp->first, tp->nfirst, 60, what,
			    sizeof(what));
			set_detail(p, PORTS_WRONG_SERVICE, "plain HTTP "
			    "answered on the HTTPS port (\"%s\")", what);
		} else {
			describe_peer(tp->first, tp->nfirst, what,
			    sizeof(what));
			set_detail(p, PORTS_WRONG_SERVICE, "not TLS: %s "
			    "answered on the HTTPS port", what);
		}
	} else if (w == 0 && tp->nfirst == 0) {
		set_detail(p, PORTS_WRONG_SERVICE, "not TLS: no answer to "
		    "the TLS ClientHello within %s", secs);
	} else if (w == 0) {
		set_detail(p, PORTS_TLS_FAILURE, "the TLS handshake did not "
		    "finish within %s", secs);
	} else if (tp->eof && tp->nfirst == 0 && tp->alert == 0) {
		set_detail(p, PORTS_TLS_FAILURE, "the server closed the "
		    "connection without answering the TLS ClientHello");
	} else {
		tls_reason(tp, err, why, sizeof(why));
		set_detail(p, PORTS_TLS_FAILURE, "%s", why);
	}
	ERR_clear_error();
	return -1;
}

/* The digest of the certificate (of its DER encoding), and as
 * "AB:CD:...". 0 or -1. */
static int
cert_fingerprint(X509 *cert, const EVP_MD *md, unsigned char *out,
    unsigned int *outlen, char *text, size_t textlen)
{
	if (X509_digest(cert, md, out, outlen) != 1)
		return -1;
	vg_hex_format(out, *outlen, ':', 1, text, textlen);
	return 0;
}

/* A parsed HTTP/1.x answer head. */
struct http_head {
	int status;
	size_t head_len;            /* through the blank line */
	long long content_length;   /* -1: not given */
	int chunked;
};

/* Case-insensitive: does the value (len bytes) hold the token? */
static int
value_has_token(const char *v, size_t len, const char *token)
{
	size_t l = strlen(token), i;

	for (i = 0; i + l <= len; i++)
		if (strncasecmp(v + i, token, l) == 0)
			return 1;
	return 0;
}

/* Parses the head of an HTTP/1.x answer in b (n bytes, not terminated).
 * 1: the head is whole (h set); 0: more bytes are needed; -1: not an
 * HTTP/1.x answer. */
static int
http_head_parse(const char *b, size_t n, struct http_head *h)
{
	const char *end, *line, *eol, *colon, *v;
	size_t vlen, i;
	long long cl;

	if (memcmp(b, "HTTP/", n < 5 ? n : 5) != 0)
		return -1;
	if (n < 5)
		return 0;
	if ((end = memmem(b, n, "\r\n\r\n", 4)) != NULL)
		h->head_len = (size_t)(end - b) + 4;
	else if ((end = memmem(b, n, "\n\n", 2)) != NULL)
		h->head_len = (size_t)(end - b) + 2;
	else
		return 0;
	/* "HTTP/1.1 200 OK": version digits, a blank, three digits. */
	if (h->head_len < 13 || b[5] < '0' || b[5] > '9' || b[6] != '.' ||
	    b[7] < '0' || b[7] > '9' || b[8] != ' ')
		return -1;
	for (i = 9; i < 12; i++)
		if (b[i] < '0' || b[i] > '9')
			return -1;
	if (b[12] != ' ' && b[12] != '\r' && b[12] != '\n')
		return -1;
	h->status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
	h->content_length = -1;
	h->chunked = 0;
	line = memchr(b, '\n', h->head_len);
	end = b + h->head_len;
	while (line != NULL && ++line < end) {
		if ((eol = memchr(line, '\n', (size_t)(end - line))) == NULL)
			break;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon != NULL) {
			v = colon + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			vlen = (size_t)(eol - v);
			while (vlen > 0 && (v[vlen - 1] == '\r' ||
			    v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (colon - line == 14 &&
			    strncasecmp(line, "content-length", 14) == 0) {
				if (vlen == 0 || vlen > 15)
					return -1;
				for (cl = 0, i = 0; i < vlen; i++) {
					if (v[i] < '0' || v[i] > '9')
						return -1;
					cl = cl * 10 + (v[i] - '0');
				}
				h->content_length = cl;
			} else if (colon - line == 17 &&
			    strncasecmp(line, "transfer-encoding", 17) == 0 &&
			    value_has_token(v, vlen, "chunked")) {
				h->chunked = 1;
			}
		}
		line = eol;
	}
	return 1;
}

/* Decodes a chunked body (in, n) into out (cap bytes). 1: the last chunk
 * was seen; 0: in ends before it; -1: malformed, or more than cap.
 * *outlen: the bytes decoded. */
static int
http_dechunk(const char *in, size_t n, char *out, size_t cap,
    size_t *outlen)
{
	size_t i = 0, o = 0, size, digits, take;
	int d;

	*outlen = 0;
	for (;;) {
		size = 0;
		digits = 0;
		while (i < n && (d = vg_hex_digit((unsigned char)in[i])) >= 0) {
			if (++digits > 8)
				return -1;
			size = size * 16 + (size_t)d;
			i++;
		}
		if (i == n)
			return 0;
		if (digits == 0)
			return -1;
		/* chunk extensions, then CRLF */
		while (i < n && in[i] != '\n')
			i++;
		if (i == n)
			return 0;
		i++;
		if (size == 0)
			return 1;
		if (size > cap - o)
			return -1;
		take = n - i < size ? n - i : size;
		memcpy(out + o, in + i, take);
		o += take;
		*outlen = o;
		i += take;
		if (take < size)
			return 0;
		if (i < n && in[i] == '\r')
			i++;
		if (i == n)
			return 0;
		if (in[i] != '\n')
			return -1;
		i++;
	}
}

/* Is the answer in b whole: its head, then Content-Length bytes or the
 * last chunk? (Otherwise it ends when the server closes.) */
static int
http_complete(const char *b, size_t n, char *scratch, size_t cap)
{
	struct http_head h;
	size_t outlen;

	if (http_head_parse(b, n, &h) != 1)
		return 0;
	if (h.chunked)
		return http_dechunk(b + h.head_len, n - h.head_len, scratch,
		    cap, &outlen) != 0;
	return h.content_length >= 0 &&
	    (long long)(n - h.head_len) >= h.content_length;
}

/* From the body of a health answer: 1 when it is {"status": "ok", ...}
 * (version copied, printable), 0 when not (why says what it held). */
static int
health_json(const char *body, size_t len, char *version, size_t vlen,
    char *why, size_t whylen)
{
	json_t *root, *st, *ver;
	json_error_t jerr;
	int ok = 0;

	version[0] = '\0';
	if ((root = json_loadb(body, len, 0, &jerr)) == NULL) {
		char what[100];

		describe_peer((const unsigned char *)body, len, what,
		    sizeof(what));
		snprintf(why, whylen, "the body is not JSON: %s", what);
		return 0;
	}
	st = json_object_get(root, "status");
	ver = json_object_get(root, "version");
	if (json_is_string(ver))
		printable_line((const unsigned char *)json_string_value(ver),
		    json_string_length(ver), 32, version, vlen);
	if (!json_is_object(root) || !json_is_string(st))
		snprintf(why, whylen, "the JSON holds no \"status\"");
	else if (strcmp(json_string_value(st), "ok") != 0) {
		char s[40];

		printable_line((const unsigned char *)json_string_value(st),
		    json_string_length(st), 32, s, sizeof(s));
		snprintf(why, whylen, "status \"%s\"", s);
	} else
		ok = 1;
	json_decref(root);
	return ok;
}

enum health_end {
	HEALTH_OK,
	HEALTH_NOT_HUB,      /* why: what answered */
	HEALTH_TLS_FAILED,   /* why: the TLS reason */
};

/* "GET {path}v1/health": the API prefix, with anything that cannot go
 * in a request line percent-encoded, and '/' at both ends. 0, or -1 when
 * it does not fit in len (out then holds no target). */
static int
health_target(const char *path, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0, i;
	unsigned char c;
	int w;

	if (path == NULL || path[0] == '\0')
		path = "/api/";
	if (len < 2)
		goto toolong;
	if (path[0] != '/')
		out[o++] = '/';
	for (i = 0; path[i] != '\0'; i++) {
		if (o + 4 > len)
			goto toolong;
		c = (unsigned char)path[i];
		if (c <= 0x20 || c >= 0x7f || c == '#' || c == '?' ||
		    c == '%') {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	w = snprintf(out + o, len - o, "%sv1/health",
	    out[o - 1] != '/' ? "/" : "");
	if (w < 0 || (size_t)w >= len - o)
		goto toolong;
	return 0;
toolong:
	if (len > 0)
		out[0] = '\0';
	return -1;
}

/* Host header: the name or address ([v6]), and the port unless 443. */
static void
host_header(const char *host, int port, char *out, size_t len)
{
	int v6 = strchr(host, ':') != NULL;

	if (port == 443)
		snprintf(out, len, "%s%s%s", v6 ? "[" : "", host,
		    v6 ? "]" : "");
	else
		snprintf(out, len, "%s%s%s:%d", v6 ? "[" : "", host,
		    v6 ? "]" : "", port);
}

/* Lets OpenSSL read the records already received (an alert), without
 * waiting. */
static void
tls_read_pending(SSL *ssl)
{
	char tmp[256];
	size_t got;
	int i;

	for (i = 0; i < 4; i++)
		if (SSL_read_ex(ssl, tmp, sizeof(tmp), &got) != 1)
			break;
	ERR_clear_error();
}

/* Sends GET {path}v1/health and reads the answer (capped), within
 * timeout_ms. */
static enum health_end
https_health(struct ports_probe *p, SSL *ssl, struct tls_peer *tp,
    int timeout_ms, char *version, size_t vlen, char *why, size_t whylen)
{
	long long deadline = mono_ms() + timeout_ms;
	char target[256], hosthdr[300], req[800], secs[32], jwhy[160];
	char *buf = NULL, *scratch = NULL;
	const char *body;
	struct http_head h;
	size_t n = 0, off = 0, got, bodylen;
	enum health_end end = HEALTH_NOT_HUB;
	int rc, w, err, reqlen, timed_out = 0, hp;

	fmt_secs(timeout_ms, secs, sizeof(secs));
	if (health_target(p->http_path, target, sizeof(target)) != 0) {
		snprintf(why, whylen, "the API path of the hub's URL is too "
		    "long for a request (%zu bytes)", strlen(p->http_path));
		return HEALTH_NOT_HUB;
	}
	host_header(p->host, p->port, hosthdr, sizeof(hosthdr));
	reqlen = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\nUser-Agent: vigil-ports/%s\r\n"
	    "Accept: application/json\r\nConnection: close\r\n\r\n",
	    target, hosthdr, VIGIL_VERSION);
	if (reqlen < 0 || (size_t)reqlen >= sizeof(req)) {
		snprintf(why, whylen, "the API path is too long");
		return HEALTH_NOT_HUB;
	}
	if ((buf = malloc(HTTP_READ_MAX)) == NULL ||
	    (scratch = malloc(HTTP_READ_MAX)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}

	while (off < (size_t)reqlen) {
		ERR_clear_error();
		rc = SSL_write_ex(ssl, req + off, (size_t)reqlen - off, &got);
		if (rc == 1) {
			off += got;
			continue;
		}
		if ((w = tls_again(ssl, rc, tp->fd, deadline, &err)) > 0)
			continue;
		/* A server that refuses us after the handshake (TLS 1.3:
		 * no client certificate) has sent its alert and closed:
		 * read it, it says why. */
		tls_read_pending(ssl);
		if (w == 0)
			snprintf(why, whylen, "TLS answered but GET %s could "
			    "not be sent within %s", target, secs);
		else if (tp->alert != 0 || err == SSL_ERROR_SSL) {
			tls_reason(tp, err, why, whylen);
			end = HEALTH_TLS_FAILED;
		} else
			snprintf(why, whylen, "TLS answered but the server "
			    "closed the connection before GET %s", target);
		goto out;
	}

	for (;;) {
		if (n > 0 && http_complete(buf, n, scratch, HTTP_READ_MAX))
			break;
		if (n == HTTP_READ_MAX)
			break;
		ERR_clear_error();
		rc = SSL_read_ex(ssl, buf + n, HTTP_READ_MAX - n, &got);
		if (rc == 1) {
			n += got;
			continue;
		}
		if ((w = tls_again(ssl, rc, tp->fd, deadline, &err)) > 0)
			continue;
		if (w == 0) {
			timed_out = 1;
			break;
		}
		/* TLS 1.3: a server that wants a client certificate says
		 * so only now, after our Finished, then closes. */
		if (n == 0 && tp->alert != 0) {
			tls_reason(tp, err, why, whylen);
			end = HEALTH_TLS_FAILED;
			goto out;
		}
		if (err == SSL_ERROR_ZERO_RETURN || tp->eof)
			break;
		if (n == 0 && err == SSL_ERROR_SSL) {
			tls_reason(tp, err, why, whylen);
			end = HEALTH_TLS_FAILED;
			goto out;
		}
		break;
	}
	ERR_clear_error();

	if (n == 0) {
		if (timed_out)
			snprintf(why, whylen, "TLS answered but GET %s got no "
			    "answer within %s: not a vigil hub", target, secs);
		else
			snprintf(why, whylen, "TLS answered but the server "
			    "closed the connection without answering GET %s: "
			    "not a vigil hub", target);
		goto out;
	}
	if ((hp = http_head_parse(buf, n, &h)) != 1) {
		if (hp < 0) {
			describe_peer((const unsigned char *)buf, n, jwhy,
			    sizeof(jwhy));
			snprintf(why, whylen, "TLS answered but not HTTP: %s "
			    "answered GET %s", jwhy, target);
		} else {
			snprintf(why, whylen, "TLS answered but the answer to "
			    "GET %s was cut short", target);
		}
		goto out;
	}
	if (h.chunked) {
		if (http_dechunk(buf + h.head_len, n - h.head_len, scratch,
		    HTTP_READ_MAX, &bodylen) < 0)
			bodylen = 0;
		body = scratch;
	} else {
		body = buf + h.head_len;
		bodylen = n - h.head_len;
		if (h.content_length >= 0 &&
		    (long long)bodylen > h.content_length)
			bodylen = (size_t)h.content_length;
	}
	if (h.status != 200) {
		if (health_json(body, bodylen, version, vlen, jwhy,
		    sizeof(jwhy)) == 0 && version[0] != '\0')
			snprintf(why, whylen, "the hub (vigil %s) answered GET "
			    "%s with %d (%s)", version, target, h.status,
			    jwhy);
		else
			snprintf(why, whylen, "TLS answered but GET %s gave "
			    "%d: not a vigil hub", target, h.status);
		version[0] = '\0';
		goto out;
	}
	if (health_json(body, bodylen, version, vlen, jwhy,
	    sizeof(jwhy)) == 0) {
		snprintf(why, whylen, "TLS answered but GET %s gave 200 "
		    "without a vigil hub's health (%s)", target, jwhy);
		version[0] = '\0';
		goto out;
	}
	end = HEALTH_OK;
out:
	free(buf);
	free(scratch);
	return end;
}

static int
is_address(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

/* "TLSv1.3" -> "TLS 1.3" */
static void
tls_version_text(const SSL *ssl, char *out, size_t len)
{
	const char *v = SSL_get_version(ssl);

	if (strncmp(v, "TLSv", 4) == 0)
		snprintf(out, len, "TLS %s", v + 4);
	else
		snprintf(out, len, "%s", v);
}

static void
probe_https(struct ports_probe *p, int fd, int timeout_ms)
{
	struct tls_peer tp;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	BIO *bio = NULL;
	X509 *cert = NULL;
	unsigned char md[EVP_MAX_MD_SIZE], pinmd[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, pinlen = 0;
	char tlsver[32], version[40], why[512], pinned[96], seen1[64] = "?";
	enum health_end he;
	int pin = 0, mismatch = 0;

	memset(&tp, 0, sizeof(tp));
	tp.fd = fd;
	pthread_once(&tls_bio_once, tls_bio_method_init);
	if (tls_bio_method == NULL ||
	    (ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    (ssl = SSL_new(ctx)) == NULL ||
	    (bio = BIO_new(tls_bio_method)) == NULL) {
		set_detail(p, PORTS_TLS_FAILURE, "OpenSSL could not be set "
		    "up (out of memory?)");
		goto out;
	}
	/* The agent pins the certificate itself (or trusts the system's
	 * CAs); what matters here is which certificate is served. */
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_client_cert_cb(ctx, tls_client_cert_cb);
	BIO_set_data(bio, &tp);
	SSL_set_bio(ssl, bio, bio);
	bio = NULL;
	SSL_set_app_data(ssl, &tp);
	SSL_set_info_callback(ssl, tls_info_cb);
	if (!is_address(p->host) &&
	    !SSL_set_tlsext_host_name(ssl, p->host)) {
		set_detail(p, PORTS_TLS_FAILURE, "the name %s cannot be sent "
		    "as TLS SNI", p->host);
		goto out;
	}
	SSL_set_connect_state(ssl);
	if (tls_handshake(p, ssl, &tp, timeout_ms) != 0)
		goto out;
	tls_version_text(ssl, tlsver, sizeof(tlsver));

	if ((cert = SSL_get1_peer_certificate(ssl)) == NULL) {
		set_detail(p, PORTS_TLS_FAILURE, "%s, but the server sent no "
		    "certificate", tlsver);
		goto out;
	}
	if (cert_fingerprint(cert, EVP_sha256(), md, &mdlen, p->fingerprint,
	    sizeof(p->fingerprint)) != 0) {
		set_detail(p, PORTS_TLS_FAILURE, "%s, but the certificate "
		    "cannot be encoded", tlsver);
		goto out;
	}
	if (p->thumbprint != NULL && (p->thumbprint_len == 32 ||
	    p->thumbprint_len == 20)) {
		pin = 1;
		if (p->thumbprint_len == 32) {
			memcpy(pinmd, md, mdlen);
			pinlen = mdlen;
		} else if (cert_fingerprint(cert, EVP_sha1(), pinmd, &pinlen,
		    seen1, sizeof(seen1)) != 0) {
			pinlen = 0;
		}
		mismatch = pinlen != p->thumbprint_len ||
		    CRYPTO_memcmp(pinmd, p->thumbprint, pinlen) != 0;
		vg_hex_format(p->thumbprint, p->thumbprint_len, ':', 1, pinned,
		    sizeof(pinned));
	}

	he = https_health(p, ssl, &tp, timeout_ms, version, sizeof(version),
	    why, sizeof(why));
	if (mismatch) {
		set_detail(p, PORTS_THUMBPRINT_MISMATCH, "certificate %s %s "
		    "is not the pinned %s; %s%s",
		    p->thumbprint_len == 32 ? "SHA-256" : "SHA-1",
		    p->thumbprint_len == 32 ? p->fingerprint : seen1, pinned,
		    he == HEALTH_OK ? "it answers as vigil " :
		    "it does not answer as a vigil hub",
		    he == HEALTH_OK ? version : "");
		goto out;
	}
	switch (he) {
	case HEALTH_OK:
		set_detail(p, PORTS_OK, "%s, health ok, vigil %s, SHA-256 %s%s",
		    tlsver, version[0] != '\0' ? version : "?",
		    p->fingerprint, pin ? " (pinned)" : "");
		break;
	case HEALTH_TLS_FAILED:
		set_detail(p, PORTS_TLS_FAILURE, "%s", why);
		break;
	case HEALTH_NOT_HUB:
		set_detail(p, PORTS_WRONG_SERVICE, "%s", why);
		break;
	}
out:
	/* close_notify after a conversation; not in the middle of a
	 * handshake, nor to a server that broke the connection. */
	if (ssl != NULL && SSL_is_init_finished(ssl) &&
	    p->result != PORTS_TLS_FAILURE)
		SSL_shutdown(ssl);
	X509_free(cert);
	BIO_free(bio);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
}

/* ---- the probe ---- */

void
ports_probe_run(struct ports_probe *p)
{
	long long start = mono_ms();
	int timeout_ms, fd;

	p->result = PORTS_OK;
	p->address[0] = '\0';
	p->detail[0] = '\0';
	p->fingerprint[0] = '\0';
	p->elapsed_ms = 0;
	timeout_ms = p->timeout_ms > 0 ? p->timeout_ms :
	    PROBE_DEFAULT_TIMEOUT_MS;
	if (p->host == NULL || p->host[0] == '\0') {
		set_detail(p, PORTS_UNRESOLVED, "no host to probe");
		goto out;
	}
	if (p->port < 1 || p->port > 65535) {
		set_detail(p, PORTS_UNRESOLVED, "%s: port %d is not 1 to 65535",
		    p->host, p->port);
		goto out;
	}
	if ((fd = probe_connect(p, timeout_ms)) < 0)
		goto out;
	switch (p->service) {
	case PORTS_HTTPS:
		probe_https(p, fd, timeout_ms);
		break;
	case PORTS_SSH:
		probe_ssh(p, fd, timeout_ms);
		break;
	case PORTS_TELNET:
		probe_telnet(p, fd, timeout_ms);
		break;
	case PORTS_SMB:
		probe_smb(p, fd, timeout_ms);
		break;
	}
	close(fd);
out:
	p->elapsed_ms = (long)(mono_ms() - start);
}
