/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef PROXY_REMOTE_INT_H
#define PROXY_REMOTE_INT_H

#include <stddef.h>

#include "remote.h"

/*
 * Internals shared by the SSH and Telnet transports (ssh.c, telnet.c,
 * collect.c) and seen by their unit test. Other modules use remote.h.
 */

#define PROXY_CONNECT_TIMEOUT_MS 15000 /* when t->connect_timeout_ms is 0 */
#define PROXY_WHERE_MAX 300            /* "[host]:port" */

/* t's port, or 22 / 23 for its protocol when it is 0. */
unsigned int proxy_remote_port(const struct proxy_target *t);

/* Milliseconds from now until deadline (a vg_now() time) for poll(),
 * rounded up; 0 once it has passed. */
int proxy_remote_ms_left(double deadline);

/* "HOST:PORT" ("[HOST]:PORT" for an IPv6 address) for messages. */
void proxy_remote_where(const struct proxy_target *t, char *out,
    size_t outlen);

/*
 * Resolves t->host and connects to its port over TCP, trying each
 * address until one answers, within timeout_ms in all. *fd is a
 * non-blocking, close-on-exec socket the caller owns. Returns 0,
 * VG_ERR_NOTFOUND (the name does not resolve), VG_ERR_TIMEOUT, VG_ERR_IO
 * (refused, unreachable) with err naming HOST:PORT and the reason.
 * Blocks (name resolution, then at most timeout_ms).
 */
int proxy_remote_tcp_connect(const struct proxy_target *t,
    unsigned int timeout_ms, int *fd, char *err, size_t errlen);

/* "SHA256:" and the unpadded base64 of the len-byte digest md, as
 * ssh-keygen -l prints it, into fp (PROXY_FP_LEN bytes). Returns 0,
 * VG_ERR_INVAL (not a SHA-256 digest) or VG_ERR_NOMEM. */
int proxy_ssh_fp_format(const unsigned char *md, size_t len,
    char fp[PROXY_FP_LEN]);

/* The algorithm lists we offer, strongest first. */
enum proxy_ssh_algo {
	PROXY_SSH_KEX,
	PROXY_SSH_HOSTKEY,
	PROXY_SSH_CIPHER,
	PROXY_SSH_MAC,
	PROXY_SSH_PUBKEY, /* signature types we sign with for key auth */
};

/* The comma-separated list for kind: the modern algorithms, followed
 * by the legacy ones when legacy is set. Static; never NULL. */
const char *proxy_ssh_algorithms(enum proxy_ssh_algo kind, int legacy);

/* 1 when the len bytes at name are one of the legacy algorithms that
 * legacy mode adds, else 0. */
int proxy_ssh_algo_is_legacy(const char *name, size_t len);

/*
 * Turns libssh's "no match for method M: server [A], client [B]" error
 * into a message for a person: what was negotiated, what the server
 * offers and what we offer (protocol markers such as ext-info-s left
 * out), and, when legacy is off and the server offers a legacy
 * algorithm, the advice to enable legacy SSH algorithms for the device.
 * Returns 1 when libssh_err was such an error (err written), else 0.
 */
int proxy_ssh_kex_message(const char *where, const char *libssh_err,
    int legacy, char *err, size_t errlen);

/* 1 when the len bytes at tail end with marker standing alone: at the
 * start of tail or after a line end, else 0. An empty marker never
 * matches. */
int proxy_ssh_marker_at_end(const char *tail, size_t len,
    const char *marker);

#endif
