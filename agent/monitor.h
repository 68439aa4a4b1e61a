/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef AGENT_MONITOR_H
#define AGENT_MONITOR_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "queue.h"
#include "vg_rules.h"

/*
 * The agent's policy, from the hub's merged policy (docs/api/openapi.yaml
 * MergedPolicy): paths, include, exclude, hash, max_hash_size become
 * vg_rules (one root per path; exclude before include, so an include
 * takes back what an exclude left out); content the content-tracked
 * files; realtime; schedule (seconds between scans, default 3600 when
 * absent); system (collector names, collect.h) and commands.
 */
struct agent_policy {
	json_t *doc;                 /* the merged policy as received */
	char version[65];
	struct vg_rules *rules;      /* NULL when there are no paths */
	char **content;              /* sorted absolute paths */
	size_t ncontent;
	int realtime;
	long schedule;
	unsigned collect;            /* COLLECT_* bits */
	char **commands;
	size_t ncommands;
};

/* 0, or VG_ERR_INVAL naming the field ("exclude[2]: ...") /
 * VG_ERR_NOMEM. doc is borrowed (a reference is taken). */
int agent_policy_parse(const json_t *doc, const char *version,
    struct agent_policy **out, char *err, size_t errlen);
void agent_policy_free(struct agent_policy *p);

/*
 * File monitoring: the baseline (DATA_DIR/baseline.db, vg_baseline), the
 * overlay in the queue database, scans and realtime.
 *
 * A change is reported once, whatever stops the agent:
 *  - every change queued (scan or realtime) writes the overlay entry of
 *    its path, with the new state, in the same transaction;
 *  - a change found against the baseline whose new state equals the
 *    overlay entry was already reported and is not queued again;
 *  - the old side of a realtime change is the overlay entry, else the
 *    baseline's item (vg_baseline_get());
 *  - a scan also compares each overlay entry with the path's state now:
 *    a file back in its baseline state after a change was reported (or
 *    gone after it was reported added) is reported from the overlay's
 *    state;
 *  - the overlay is read and written in the transaction that queues the
 *    change, so the scan and the watcher never report one change twice;
 *    an entry realtime wrote during a scan outranks the scan's view;
 *  - a scan commits its new baseline only when no event was dropped for
 *    a full queue; then the overlay entries of earlier scan generations
 *    (kv "scan_gen", counted up at each scan start: not the wall clock)
 *    are pruned;
 *  - a change realtime could not queue requests a rescan; kv "rescan"
 *    (set too by a full queue) makes mon_new() request one, and the
 *    first scan to commit a baseline afterwards clears it.
 * Policy changes: items under paths the previous rules did not cover are
 * added to the baseline silently, and items no longer covered are
 * dropped from it silently (no flood of added/removed events).
 * The first scan (no baseline) stores the baseline and queues one agent
 * event "baseline" ("baseline of N items created"). The paths the
 * watcher reports while there is no baseline are held (up to 65,536)
 * and, once the first baseline is committed, checked against it the
 * realtime way: a file changed after the scan read it is reported then,
 * not at the next scheduled scan. More paths than that request a rescan
 * after the first baseline instead; a first scan that fails requests
 * one too.
 *
 * Content-tracked files (policy content, at most 4 MiB each): their last
 * content is kept in the queue database; a change of their hash carries
 * a unified diff (vg_diff, labels the path). Only files everyone may read
 * (S_IROTH) have their content kept: the others are monitored without
 * diffs, and one agent event "content-refused" per path and policy says
 * so. Content is read with no symlink on the way (openat2) and only when
 * the file is the item scanned (device, inode, size, mtime).
 *
 * agent_policy_parse() refuses lists of more than 10,000 entries, and
 * more than 100 distinct commands (sorted, duplicates dropped).
 */

struct mon;

struct mon_opts {
	const char *data_dir;
	struct aq *q;
	unsigned debounce_ms;        /* realtime quiet time, default 100 */
	int workers;                 /* hashing threads of a scan, default 1 */
	uint64_t rate_limit;         /* bytes/s hashed by a scan; 0: none */
	/* Called (from any thread) after events were queued. */
	void (*queued)(void *arg);
	/* Called (from any thread, no lock of the monitor held) when a
	 * scan is requested (mon_request_rescan(): realtime overflow, watch
	 * limit, dropped events), so the caller runs it now rather than at
	 * its next look at mon_take_rescan(). May be NULL. */
	void (*rescan)(void *arg);
	void *arg;
};

int mon_new(const struct mon_opts *o, struct mon **out, char *err,
    size_t errlen);
void mon_free(struct mon *m);

/*
 * Sets the policy (borrowed: it must outlive the next mon_set_policy()
 * or mon_free()). Starts, restarts or stops the realtime watcher when
 * the rules or realtime changed, and requests a scan when the rules
 * changed. A watcher it starts has its watches in place on return (or
 * after 30 s at most), so a scan that follows misses nothing: what
 * changes after the scan read a folder is seen by the watcher.
 */
int mon_set_policy(struct mon *m, const struct agent_policy *p, char *err,
    size_t errlen);

/* Whether a scan was requested (policy change, realtime overflow, watch
 * limit, dropped events) since the last mon_scan(); clears it. */
int mon_take_rescan(struct mon *m);
/* Requests one (thread safe). */
void mon_request_rescan(struct mon *m);

struct mon_scan_result {
	uint64_t items, added, removed, changed, problems;
	uint64_t suppressed;         /* already reported (overlay) */
	int baseline_committed;
	double seconds;
};

/*
 * Scans the policy's paths now against the baseline, queues the changes
 * (origin "scan") and writes the new baseline. Blocks; run it on its own
 * thread (with nice/ioprio applied there). *stop interrupts. 0 or a VG_ERR
 * with err set; with no paths in the policy it does nothing.
 */
int mon_scan(struct mon *m, volatile sig_atomic_t *stop,
    struct mon_scan_result *r, char *err, size_t errlen);

/* Realtime watches held, and realtime events queued so far. */
size_t mon_watches(struct mon *m);
uint64_t mon_realtime_events(struct mon *m);
/* Realtime paths held until the first baseline exists (monitor.h). */
size_t mon_held(struct mon *m);

#endif
