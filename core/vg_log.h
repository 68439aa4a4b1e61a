/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef VG_LOG_H
#define VG_LOG_H

#include <stdarg.h>

/*
 * Logging of the daemons (hub, agent): one line per message on stderr,
 * "PROGRAM: LEVEL: message", written with one write(2) under a lock so
 * lines of several threads never interleave. When stderr is the journal
 * stream systemd named in JOURNAL_STREAM the line starts with a "<N>"
 * syslog priority and no time stamp (the journal has its own); else with
 * an RFC 3339 UTC time stamp. Control bytes in the message become '?',
 * so a peer's string cannot forge a line. Never pass a secret.
 */

enum vg_log_level { VG_LOG_ERROR = 0, VG_LOG_WARN, VG_LOG_INFO,
	VG_LOG_DEBUG };

void vg_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void vg_vlog(int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Messages above level are not written (default VG_LOG_INFO). */
void vg_log_set_level(int level);
/* "error", "warn" (or "warning"), "info", "debug" -> level; -1 if
 * unknown. */
int vg_log_parse_level(const char *s);
/* The name lines start with (copied, at most 63 bytes); default the
 * program's name. */
void vg_log_set_program(const char *name);

/* Replaces control bytes in s (in place) by '?', so that text from a
 * peer stays one line on a terminal or in a log and cannot forge
 * another or send escape sequences. */
void vg_log_sanitize(char *s);

#endif
