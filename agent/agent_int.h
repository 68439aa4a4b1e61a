/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef AGENT_AGENT_INT_H
#define AGENT_AGENT_INT_H

#include <sys/types.h>

/* Shared by agent.c and status.c. */

#define AGENT_PID_FILE "agent.pid"
#define AGENT_CREDENTIAL_FILE "credential"

/*
 * Whether another process holds the write lock of DIR/agent.pid: 1 with
 * *pid the holder, 0 when nobody does (or the file does not exist), -1
 * on error (errno set).
 */
int agent_lock_holder(const char *data_dir, pid_t *pid);

#endif
