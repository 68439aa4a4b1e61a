/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef FD_TELNET_H
#define FD_TELNET_H

#include "fakedev.h"

/*
 * The Telnet side: our own accepted socket, libtelnet as the server
 * (WILL ECHO, WILL SUPPRESS-GO-AHEAD, every other option refused), the
 * device's login dialogue. Serves the connection on fd until the client
 * leaves, the device closes, the idle time passes or the program stops.
 * The caller closes fd. Blocks.
 */
void fd_telnet_serve(const struct fd_conf *c, int fd, const char *peer);

#endif
