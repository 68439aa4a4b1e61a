/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Telnet to devices: a TCP socket of our own (collect.c) and libtelnet,
 * which has no I/O of its own: received bytes go through telnet_recv(),
 * whose events hand us the clean data and the bytes to send.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <libtelnet.h>

#include "remote_int.h"
#include "vg_err.h"
#include "vg_util.h"

#define RECV_CHUNK 16384
#define RX_MAX (1024 * 1024) /* decoded data waiting for a read */

/* Every option refused but the server's ECHO and SUPPRESS-GO-AHEAD, and
 * our terminal type and window size when the server asks for them. */
static const telnet_telopt_t telopts[] = {
	{ TELNET_TELOPT_ECHO, TELNET_WONT, TELNET_DO },
	{ TELNET_TELOPT_SGA, TELNET_WONT, TELNET_DO },
	{ TELNET_TELOPT_TTYPE, TELNET_WILL, TELNET_DONT },
	{ TELNET_TELOPT_NAWS, TELNET_WILL, TELNET_DONT },
	{ -1, 0, 0 },
};

struct telnet_conn {
	int fd;
	telnet_t *tn;
	unsigned int step_ms;   /* longest stall of a write */
	char *rx;               /* decoded data not read yet */
	size_t rx_len, rx_cap;
	int werr;               /* the first send error, sticky */
	int proto_err;          /* libtelnet found a broken stream */
};

/* Sends all len bytes, waiting while the socket is full. */
static int
send_all(struct telnet_conn *c, const char *buf, size_t len)
{
	struct pollfd pfd;
	double deadline = vg_now() + c->step_ms / 1000.0;
	ssize_t n;
	int left;

	while (len > 0) {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return errno == EPIPE || errno == ECONNRESET ?
			    VG_ERR_CLOSED : VG_ERR_IO;
		if ((left = proxy_remote_ms_left(deadline)) == 0)
			return VG_ERR_TIMEOUT;
		pfd.fd = c->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			return VG_ERR_IO;
	}
	return 0;
}

static void
rx_add(struct telnet_conn *c, const char *data, size_t len)
{
	if (c->werr == 0 && vg_buf_append(&c->rx, &c->rx_len, &c->rx_cap,
	    data, len, RX_MAX) != 0)
		c->werr = VG_ERR_TOOBIG;
}

static void
on_event(telnet_t *tn, telnet_event_t *ev, void *ud)
{
	/* Columns 511 (0x01FF: telnet_send doubles the 0xFF), rows 24. */
	static const char naws[] = { 0x01, (char)0xFF, 0x00, 0x18 };
	struct telnet_conn *c = ud;

	switch (ev->type) {
	case TELNET_EV_DATA:
		rx_add(c, ev->data.buffer, ev->data.size);
		break;
	case TELNET_EV_SEND:
		if (c->werr == 0)
			c->werr = send_all(c, ev->data.buffer, ev->data.size);
		break;
	case TELNET_EV_TTYPE:
		if (ev->ttype.cmd == TELNET_TTYPE_SEND)
			telnet_ttype_is(tn, "VT100");
		break;
	case TELNET_EV_DO:
		if (ev->neg.telopt == TELNET_TELOPT_NAWS) {
			telnet_begin_sb(tn, TELNET_TELOPT_NAWS);
			telnet_send(tn, naws, sizeof(naws));
			telnet_finish_sb(tn);
		}
		break;
	case TELNET_EV_ERROR:
		c->proto_err = 1;
		break;
	default:
		break;
	}
}

static int
tn_read(void *ctx, char *buf, size_t cap, int timeout_ms, size_t *got)
{
	struct telnet_conn *c = ctx;
	double deadline = vg_now() + (timeout_ms > 0 ? timeout_ms : 0) /
	    1000.0;
	struct pollfd pfd;
	char in[RECV_CHUNK];
	ssize_t n;
	size_t take;
	int left;

	*got = 0;
	for (;;) {
		if (c->rx_len > 0) {
			take = c->rx_len < cap ? c->rx_len : cap;
			memcpy(buf, c->rx, take);
			memmove(c->rx, c->rx + take, c->rx_len - take);
			c->rx_len -= take;
			OPENSSL_cleanse(c->rx + c->rx_len, take);
			*got = take;
			return 0;
		}
		if (c->werr != 0)
			return c->werr;
		if (c->proto_err)
			return VG_ERR_FORMAT;
		n = recv(c->fd, in, sizeof(in), 0);
		if (n > 0) {
			telnet_recv(c->tn, in, (size_t)n);
			OPENSSL_cleanse(in, (size_t)n);
			/* A peer sending only negotiation must not hold
			 * the read past its time. */
			if (c->rx_len == 0 &&
			    proxy_remote_ms_left(deadline) == 0)
				return c->werr != 0 ? c->werr : 0;
			continue;
		}
		if (n == 0)
			return VG_ERR_CLOSED;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return errno == ECONNRESET ? VG_ERR_CLOSED : VG_ERR_IO;
		if ((left = proxy_remote_ms_left(deadline)) == 0)
			return 0;
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			return VG_ERR_IO;
	}
}

/* "\r" not followed by "\n" becomes "\r\0" (NVT); telnet_send escapes
 * the IAC byte 0xFF. */
static int
tn_write(void *ctx, const void *data, size_t len)
{
	static const char cr_nul[] = { '\r', '\0' };
	struct telnet_conn *c = ctx;
	const char *b = data;
	size_t i, start = 0;

	for (i = 0; i < len && c->werr == 0; i++) {
		if (b[i] != '\r' || (i + 1 < len && b[i + 1] == '\n'))
			continue;
		if (i > start)
			telnet_send(c->tn, b + start, i - start);
		telnet_send(c->tn, cr_nul, sizeof(cr_nul));
		start = i + 1;
	}
	if (c->werr == 0 && len > start)
		telnet_send(c->tn, b + start, len - start);
	return c->werr;
}

static void
tn_close(void *ctx)
{
	struct telnet_conn *c = ctx;

	if (c == NULL)
		return;
	if (c->tn != NULL)
		telnet_free(c->tn);
	if (c->fd >= 0)
		close(c->fd);
	if (c->rx != NULL)
		OPENSSL_cleanse(c->rx, c->rx_cap);
	free(c->rx);
	free(c);
}

int
proxy_telnet_open(const struct proxy_target *t,
    struct proxy_transport *out, char *err, size_t errlen)
{
	struct telnet_conn *c;
	char where[PROXY_WHERE_MAX];
	unsigned int ms = t->connect_timeout_ms != 0 ?
	    t->connect_timeout_ms : PROXY_CONNECT_TIMEOUT_MS;
	int r;

	memset(out, 0, sizeof(*out));
	proxy_remote_where(t, where, sizeof(where));
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", where);
		return VG_ERR_NOMEM;
	}
	c->fd = -1;
	c->step_ms = ms;
	if ((r = proxy_remote_tcp_connect(t, ms, &c->fd, err, errlen)) != 0)
		goto fail;
	if ((c->tn = telnet_init(telopts, on_event, 0, c)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", where);
		r = VG_ERR_NOMEM;
		goto fail;
	}
	out->ctx = c;
	out->read = tn_read;
	out->write = tn_write;
	out->exec = NULL;
	out->close = tn_close;
	return 0;
fail:
	tn_close(c);
	return r;
}
