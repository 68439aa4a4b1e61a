/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>

#include "progress.h"
#include "vg_util.h"

void
progress_start(struct progress *p, int enabled)
{
	p->enabled = enabled;
	p->start = vg_now();
	p->drawn = 0;
}

void
progress_update(struct progress *p, const struct vg_scan_stats *st)
{
	double el = vg_now() - p->start, rate, mbs, frac = -1, eta;
	char etabuf[32] = "";

	if (!p->enabled || el < 0.2)
		return;
	rate = (double)st->items / el;
	mbs = (double)st->bytes_hashed / el / 1e6;
	/* Bytes predict best when a full check re-reads everything. */
	if (st->expect_bytes > 0)
		frac = (double)st->bytes_hashed / (double)st->expect_bytes;
	else if (st->expect_items > 0)
		frac = (double)st->items / (double)st->expect_items;
	if (frac > 0.01 && frac < 1) {
		eta = el / frac - el;
		snprintf(etabuf, sizeof(etabuf), "  ETA %d:%02d  %3.0f%%",
		    (int)eta / 60, (int)eta % 60, frac * 100);
	}
	fprintf(stderr, "\r\033[K%llu items  %.0f files/s  %.1f MB/s  "
	    "%d:%02d elapsed%s", (unsigned long long)st->items, rate, mbs,
	    (int)el / 60, (int)el % 60, etabuf);
	fflush(stderr);
	p->drawn = 1;
}

void
progress_end(struct progress *p)
{
	if (p->enabled && p->drawn)
		fprintf(stderr, "\r\033[K");
	p->drawn = 0;
}
