/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef FD_SSH_H
#define FD_SSH_H

#include <libssh/libssh.h>

#include <stddef.h>

#include "fakedev.h"

/*
 * The SSH side (libssh server): password and public key logins, one
 * channel at a time, a PTY shell (the device's terminal) or exec
 * requests (one per command, for exec-mode profiles).
 */

/* Reads authorized keys ("TYPE BASE64 [COMMENT]" lines) into *out, for
 * fd_conf.pubkeys. Returns 0, or an error with err naming the file. */
int fd_ssh_load_keys(const char *file, void **out, char *err,
    size_t errlen);
void fd_ssh_free_keys(void *keys);

/* Serves one accepted session (ssh_bind_accept_fd done) until the
 * client leaves, the device closes, the idle time passes or the program
 * stops, then disconnects; the caller frees s. peer names the client in
 * logs. Blocks. */
void fd_ssh_serve(const struct fd_conf *c, ssh_session s,
    const char *peer);

#endif
