/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fills an agent's queue (DATA_DIR/state.db) with N file-change events,
 * as a scan finding N changed files would, for bench/agent-bench's
 * catch-up run:
 *
 *   agent_fill DATA_DIR N
 *
 * Each event is a "changed" change of /srv/bench/fNNNNNNN with full file
 * attributes and SHA-256 digests on both sides (about 700 bytes of JSON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "queue.h"
#include "vg_item.h"
#include "vg_json.h"

static struct vg_item *
file_item(const char *path, int64_t t, unsigned char fill)
{
	struct vg_item *it = vg_item_new(VG_KIND_FILE, path, strlen(path));

	if (it == NULL)
		return NULL;
	it->have = VG_A_TYPE | VG_A_SIZE | VG_A_MODE | VG_A_UID | VG_A_GID |
	    VG_A_USER | VG_A_GROUP | VG_A_MTIME | VG_A_CTIME | VG_A_INODE |
	    VG_A_NLINK | VG_A_HASH;
	it->ftype = VG_FT_REG;
	it->size = 4096 + fill;
	it->mode = 0644;
	vg_item_set_str(&it->user, "root");
	vg_item_set_str(&it->group, "root");
	it->mtime_ns = it->ctime_ns = t;
	it->inode = 100000 + fill;
	it->nlink = 1;
	it->hash_alg = VG_HASH_SHA256;
	it->hash_state = VG_HS_OK;
	memset(it->hash, fill, 32);
	return it;
}

int
main(int argc, char **argv)
{
	struct aq_limits lim = { 2000000, 4ULL << 30 };
	struct aq *q;
	char err[512], path[64];
	long n, i;
	int64_t now;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: agent_fill DATA_DIR N\n");
		return 2;
	}
	if (aq_open(argv[1], &lim, &q, err, sizeof(err)) != 0) {
		fprintf(stderr, "agent_fill: %s\n", err);
		return 1;
	}
	now = (int64_t)time(NULL) * 1000000000LL;
	for (i = 0; i < n; i++) {
		struct vg_change c = { 0 };
		json_t *body;
		int r;

		if (i % 1000 == 0 && aq_begin(q) != 0)
			goto fail;
		snprintf(path, sizeof(path), "/srv/bench/f%07ld", i);
		c.type = VG_CHANGE_CHANGED;
		c.old = file_item(path, now - 60000000000LL, 1);
		c.new = file_item(path, now, 2);
		if (c.old == NULL || c.new == NULL)
			goto fail;
		c.changed = vg_item_diff(c.old, c.new, 0);
		body = json_pack("{s:o}", "change", vg_change_to_json(&c));
		r = body != NULL ? aq_event(q, "scan", now, body, NULL) : -1;
		json_decref(body);
		vg_change_clear(&c);
		if (r != 0)
			goto fail;
		if ((i % 1000 == 999 || i == n - 1) &&
		    aq_commit(q, err, sizeof(err)) != 0) {
			fprintf(stderr, "agent_fill: %s\n", err);
			aq_close(q);
			return 1;
		}
	}
	aq_close(q);
	return 0;
fail:
	fprintf(stderr, "agent_fill: cannot queue event %ld\n", i);
	aq_close(q);
	return 1;
}
