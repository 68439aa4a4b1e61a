/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef PROGRESS_H
#define PROGRESS_H

#include "vg_scan.h"

/* A one-line progress display on stderr (files/s, MB/s, ETA), redrawn in
 * place. Only used when stderr is a terminal. */
struct progress {
	int enabled;
	double start;
	int drawn;
};

void progress_start(struct progress *p, int enabled);
void progress_update(struct progress *p, const struct vg_scan_stats *st);
/* Erases the line so that the report starts clean. */
void progress_end(struct progress *p);

#endif
