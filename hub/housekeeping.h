/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef HUB_HOUSEKEEPING_H
#define HUB_HOUSEKEEPING_H

#include <stddef.h>

#include "hub.h"

/*
 * The hub's background thread: every 5 s it writes the buffered
 * last-seen times (store flush) and marks offline the devices that
 * stopped polling; every 60 s it purges expired sessions and deletes
 * events older than retention_days, in short chunks so ingest is never
 * held up. Failures are logged and retried at the next round; they never
 * stop the hub.
 */

/* Starts the thread on h (h->store must be open). Returns 0, or an error
 * with a message. */
int hub_housekeeping_start(struct hub *h, char *err, size_t errlen);

/* Wakes the thread, waits for the step it is in to end and joins it.
 * Does nothing when it is not running. */
void hub_housekeeping_stop(void);

#endif
