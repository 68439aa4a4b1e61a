/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/socket.h>

#include <errno.h>
#include <libtelnet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakedev.h"
#include "fd_device.h"
#include "fd_telnet.h"
#include "vg_err.h"
#include "vg_util.h"

#define POLL_MS 200

/* We echo and suppress go-ahead; the client may do neither, and every
 * other option is refused. */
static const telnet_telopt_t telopts[] = {
	{ TELNET_TELOPT_ECHO, TELNET_WILL, TELNET_DONT },
	{ TELNET_TELOPT_SGA, TELNET_WILL, TELNET_DO },
	{ -1, 0, 0 },
};

struct tconn {
	const struct fd_conf *c;
	int fd;
	telnet_t *tn;
	struct fd_dev *dev;
	int result;    /* the device's last non-zero answer */
	int failed;    /* the socket failed */
};

static void
on_event(telnet_t *tn, telnet_event_t *ev, void *arg)
{
	struct tconn *tc = arg;

	(void)tn;
	switch (ev->type) {
	case TELNET_EV_DATA:
		if (tc->result == 0 && !tc->failed)
			tc->result = fd_dev_input(tc->dev, ev->data.buffer,
			    ev->data.size);
		break;
	case TELNET_EV_SEND:
		if (!tc->failed && vg_write_all(tc->fd, ev->data.buffer,
		    ev->data.size) != 0)
			tc->failed = 1;
		break;
	case TELNET_EV_ERROR:
		tc->failed = 1;
		break;
	default:
		break;
	}
}

static int
tel_out(void *arg, const char *buf, size_t len)
{
	struct tconn *tc = arg;

	if (fd_stopping)
		return VG_ERR_CLOSED;
	telnet_send(tc->tn, buf, len);
	return tc->failed ? VG_ERR_CLOSED : 0;
}

void
fd_telnet_serve(const struct fd_conf *c, int fd, const char *peer)
{
	struct tconn tc = { 0 };
	struct pollfd pfd;
	char buf[4096];
	double last;
	ssize_t n;
	int pr;

	tc.c = c;
	tc.fd = fd;
	if ((tc.dev = fd_dev_new(c, tel_out, &tc)) == NULL ||
	    (tc.tn = telnet_init(telopts, on_event, 0, &tc)) == NULL)
		goto out;
	telnet_negotiate(tc.tn, TELNET_WILL, TELNET_TELOPT_ECHO);
	telnet_negotiate(tc.tn, TELNET_WILL, TELNET_TELOPT_SGA);
	tc.result = fd_dev_login_start(tc.dev);
	last = vg_now();
	while (!fd_stopping && tc.result == 0 && !tc.failed) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if ((pr = poll(&pfd, 1, POLL_MS)) < 0 && errno != EINTR)
			break;
		if (pr <= 0) {
			if (vg_now() - last > (double)c->idle_s)
				break;
			continue;
		}
		if ((n = recv(fd, buf, sizeof(buf), 0)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		last = vg_now();
		telnet_recv(tc.tn, buf, (size_t)n);
	}
	if (c->verbose)
		fprintf(stderr, "vigil-fakedev: telnet %s: %s: session ends "
		    "(%s)\n", peer, fd_dev_name(tc.dev)[0] != '\0' ?
		    fd_dev_name(tc.dev) : "(no login)", tc.result == FD_CLOSE ?
		    "closed by the device" : tc.result < 0 ?
		    vg_strerror(tc.result) : "client left");
out:
	if (tc.tn != NULL)
		telnet_free(tc.tn);
	fd_dev_free(tc.dev);
	explicit_bzero(buf, sizeof(buf));
}
