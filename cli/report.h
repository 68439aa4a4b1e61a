/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

#include "vg_item.h"

/* Prints one change for a person: "changed: PATH" then one indented line
 * per changed attribute, "old -> new". Paths and values are escaped so a
 * hostile file name cannot forge report lines. */
void report_change_text(FILE *f, const struct vg_change *c);

/* A byte count for people: "9.1 GB". */
void report_bytes(char *buf, size_t len, unsigned long long n);

/* Prints "vigil CMD: MESSAGE" on stderr for a subcommand's trouble (bad
 * usage, an unusable input) and returns EXIT_TROUBLE, so a caller can
 * `return report_trouble(...)`. */
int report_trouble(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
