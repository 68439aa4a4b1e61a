/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef CMD_SCAN_H
#define CMD_SCAN_H

/* Exit codes, as diff(1): no change, changes found, trouble. */
#define EXIT_SAME 0
#define EXIT_CHANGES 1
#define EXIT_TROUBLE 2

/* "vigil scan init|check|update ...": argv[0] is the subcommand. */
int cmd_scan(int argc, char **argv);

#endif
