/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdint.h>
#include <time.h>

#include "hub.h"

/* Log lines are written by core's vg_log() (hub.h maps hub_log to it). */

int64_t
hub_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return (int64_t)time(NULL);
	return (int64_t)ts.tv_sec;
}
