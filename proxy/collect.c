/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What both transports share (the TCP connection, names of peers in
 * messages) and proxy_collect(), the one call a proxy makes per device.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "remote_int.h"
#include "vg_err.h"
#include "vg_util.h"

int
proxy_remote_init(void)
{
	return ssh_init() == SSH_OK ? 0 : VG_ERR_CRYPTO;
}

unsigned int
proxy_remote_port(const struct proxy_target *t)
{
	if (t->port != 0)
		return t->port;
	return t->protocol == PROXY_PROTO_TELNET ? 23 : 22;
}

void
proxy_remote_where(const struct proxy_target *t, char *out, size_t outlen)
{
	const char *h = t->host != NULL ? t->host : "";

	snprintf(out, outlen, strchr(h, ':') != NULL ? "[%s]:%u" : "%s:%u",
	    h, proxy_remote_port(t));
}

int
proxy_remote_ms_left(double deadline)
{
	double left = (deadline - vg_now()) * 1000.0;

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left + 1;
}

/* One address: 0 and *fd, or the errno of the failure (ETIMEDOUT when
 * the deadline passed). */
static int
connect_one(const struct addrinfo *ai, double deadline, int *fd)
{
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	int s, e = 0, one = 1, n;

	s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (s < 0)
		return errno;
	if (connect(s, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS) {
			e = errno;
			goto fail;
		}
		pfd.fd = s;
		pfd.events = POLLOUT;
		for (;;) {
			n = poll(&pfd, 1, proxy_remote_ms_left(deadline));
			if (n > 0)
				break;
			if (n == 0) {
				e = ETIMEDOUT;
				goto fail;
			}
			if (errno != EINTR) {
				e = errno;
				goto fail;
			}
		}
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &sl) != 0)
			e = errno;
		if (e != 0)
			goto fail;
	}
	/* Commands and answers are small writes: do not hold them back. */
	(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*fd = s;
	return 0;
fail:
	close(s);
	return e;
}

int
proxy_remote_tcp_connect(const struct proxy_target *t,
    unsigned int timeout_ms, int *fd, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char where[PROXY_WHERE_MAX], port[16];
	double deadline = vg_now() + timeout_ms / 1000.0;
	int e = 0, g;

	*fd = -1;
	proxy_remote_where(t, where, sizeof(where));
	if (t->host == NULL || t->host[0] == '\0') {
		snprintf(err, errlen, "no host name or address given");
		return VG_ERR_INVAL;
	}
	snprintf(port, sizeof(port), "%u", proxy_remote_port(t));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((g = getaddrinfo(t->host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: the name does not resolve (%s)",
		    where, g == EAI_SYSTEM ? strerror(errno) :
		    gai_strerror(g));
		return g == EAI_MEMORY ? VG_ERR_NOMEM : VG_ERR_NOTFOUND;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((e = connect_one(ai, deadline, fd)) == 0)
			break;
		if (e == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (e == 0)
		return 0;
	if (e == ETIMEDOUT) {
		snprintf(err, errlen, "%s: no answer to the TCP connection "
		    "within %u ms", where, timeout_ms);
		return VG_ERR_TIMEOUT;
	}
	snprintf(err, errlen, "%s: TCP connection failed: %s", where,
	    e == ECONNREFUSED ? "connection refused (nothing listens on "
	    "that port)" : strerror(e));
	return VG_ERR_IO;
}

int
proxy_collect(const struct proxy_profile *p,
    const struct proxy_target *t, const struct proxy_credentials *cred,
    const struct proxy_session_opts *o, struct proxy_capture **out,
    char *fp, char *err, size_t errlen)
{
	struct proxy_transport tr;
	struct proxy_ssh *s = NULL;
	char where[PROXY_WHERE_MAX], serr[1024];
	int r;

	*out = NULL;
	fp[0] = '\0';
	proxy_remote_where(t, where, sizeof(where));
	if (t->protocol == PROXY_PROTO_TELNET) {
		if (p->mode == PROXY_MODE_EXEC) {
			snprintf(err, errlen, "%s: profile %s runs commands "
			    "on SSH exec channels: it cannot work over Telnet",
			    where, p->name);
			return VG_ERR_INVAL;
		}
		if ((r = proxy_telnet_open(t, &tr, err, errlen)) != 0)
			return r;
	} else {
		if ((r = proxy_ssh_connect(t, cred, &s, fp, err, errlen)) != 0)
			return r;
		if ((r = proxy_ssh_transport(s, p->mode, &tr, err,
		    errlen)) != 0) {
			proxy_ssh_close(s);
			return r;
		}
	}
	serr[0] = '\0';
	if ((r = proxy_session_run(p, &tr, cred, o, out, serr,
	    sizeof(serr))) != 0)
		snprintf(err, errlen, "%s: %s", where, serr);
	return r;
}
