/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef FD_SYNTH_H
#define FD_SYNTH_H

#include <stddef.h>

#include "fakedev.h"

/*
 * The synthetic device: an IOS-like switch named after the user name,
 * whose configuration (c->synthetic_lines lines) is the same at every
 * session except for its volatile lines (last change time, NVRAM time,
 * "Current configuration" size, ntp clock-period, uptime), with secrets
 * (enable secret, user secrets, SNMP communities) and, with a state
 * folder, the lines of STATE_DIR/NAME.extra before "end".
 *
 * Appends the output of command (no echo, no prompt, '\n' line ends) to
 * the buffer *buf (*used bytes of *cap, as vg_buf_append()). *known is 0
 * for a command the device does not know, or one that needs privilege
 * when privileged is 0 (nothing appended then). Returns 0, VG_ERR_NOMEM
 * or VG_ERR_TOOBIG. Thread-safe; reads the .extra file.
 */
int fd_synth_output(const struct fd_conf *c, const char *name,
    const char *command, int privileged, char **buf, size_t *used,
    size_t *cap, int *known);

/* Most bytes one answer may take (the generated config included). */
#define FD_ANSWER_MAX (64u * 1024 * 1024)

#endif
