/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef CMD_COLLECT_H
#define CMD_COLLECT_H

/* "vigil collect ...": argv[0] is "collect". Collects one device and
 * prints its configuration. Returns the exit status: 0 collected, 1 the
 * collection failed (connection, authentication, host key, incomplete
 * output), 2 bad usage or an unusable profile. Blocks on the network. */
int cmd_collect(int argc, char **argv);

#endif
