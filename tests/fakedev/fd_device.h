/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef FD_DEVICE_H
#define FD_DEVICE_H

#include <stddef.h>

#include "fakedev.h"

/*
 * One device session, whatever carries it (SSH channel, Telnet socket):
 * the login dialogue (Telnet), the prompt, enable, the answers of the
 * recorded fixture or of the synthetic IOS device, and the quirks
 * (pager, escapes, slow, truncate, ignore-exit). It takes the bytes the
 * client typed and writes what the device says through out(), which
 * returns 0 or an error. Not thread-safe: one session, one thread.
 *
 * The functions that take input return 0 (go on), FD_CLOSE (the
 * connection must end now) or out()'s error.
 */

typedef int (*fd_out_fn)(void *arg, const char *buf, size_t len);

struct fd_dev;

/* A new session (NULL when out of memory); free with fd_dev_free(). */
struct fd_dev *fd_dev_new(const struct fd_conf *c, fd_out_fn out,
    void *arg);
void fd_dev_free(struct fd_dev *d);

/* Telnet: sends the login question (user name, or only the password). */
int fd_dev_login_start(struct fd_dev *d);

/* SSH: the user authenticated as name (with enable secret enable): the
 * banner and the first prompt. */
int fd_dev_shell_start(struct fd_dev *d, const char *name,
    const char *enable);

/* Bytes typed by the client. */
int fd_dev_input(struct fd_dev *d, const char *buf, size_t len);

/* SSH exec channel: writes command's output (no echo, no prompt) and
 * sets *status to its exit status (0, or 1 for an unknown command). */
int fd_dev_exec(struct fd_dev *d, const char *name, const char *command,
    int *status);

/* The device name once logged in ("" before), for logs. */
const char *fd_dev_name(const struct fd_dev *d);

#endif
