/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef AGENT_WATCH_H
#define AGENT_WATCH_H

#include <stddef.h>

#include "vg_rules.h"

/*
 * Realtime watching with inotify. Every directory under the roots that
 * the rules include gets a watch (IN_CREATE, IN_DELETE, IN_MODIFY,
 * IN_CLOSE_WRITE, IN_ATTRIB, IN_MOVED_FROM, IN_MOVED_TO, IN_DELETE_SELF,
 * IN_MOVE_SELF, IN_DONT_FOLLOW, IN_EXCL_UNLINK, IN_ONLYDIR for dirs).
 * A new directory is watched and walked at once (entries created before
 * its watch existed are reported as dirty too).
 *
 * Events are coalesced per path and reported once the path has been quiet
 * for debounce_ms (and at the latest max_delay_ms after its first event),
 * in batches through the callback, on the watcher's own thread.
 *
 * Nothing is missed silently:
 *  - IN_Q_OVERFLOW: callback overflow with the root "*" (every root):
 *    the caller reports an agent event "realtime-overflow" and rescans;
 *  - inotify_add_watch() failing with ENOSPC (the watch limit,
 *    fs.inotify.max_user_watches) or ENOMEM: callback watch_limit with the
 *    directory; the watcher keeps the watches it has, and the caller
 *    reports "watch-limit" and relies on scheduled scans for the rest;
 *  - a watched directory moved away or removed: its paths are reported
 *    dirty (the caller treats a dirty directory that vanished as a
 *    subtree to check).
 */

struct watch;

/* The callbacks run on the watcher's thread, which waits for them; they
 * must not call watch_stop(). */
struct watch_cb {
	void *arg;
	/* Paths that changed (absolute, NUL-terminated), deduplicated. */
	void (*dirty)(void *arg, char *const *paths, size_t n);
	void (*overflow)(void *arg);
	void (*watch_limit)(void *arg, const char *dir, int errnum);
};

struct watch_opts {
	const struct vg_rules *rules;   /* roots and include/exclude */
	unsigned debounce_ms;           /* default 100 */
	unsigned max_delay_ms;          /* default 1000 */
};

/* Starts the watcher thread; adding the first watches happens on it.
 * o->rules must stay valid until watch_stop(). Symbolic links are never
 * followed. Returns 0, or an error with err saying what failed
 * (inotify_init1 hitting fs.inotify.max_user_instances ...). */
int watch_start(const struct watch_opts *o, const struct watch_cb *cb,
    struct watch **out, char *err, size_t errlen);
/* Stops the thread, closes the inotify descriptor, frees w. */
void watch_stop(struct watch *w);
/* Number of watches held (for status). */
size_t watch_count(struct watch *w);
/* Directories the latest pass that hit the watch limit left unwatched
 * (set before the watch_limit callback runs); 0 when none did. A pass is
 * the first walk of the roots, the walk of one new or moved-in directory
 * tree, or the new walk after an overflow: watch_limit is called once per
 * pass, with the first directory that could not be watched. */
size_t watch_unwatched(struct watch *w);
/* Waits up to timeout_ms for the first watches to be in place. Returns 1
 * when they are, 0 on timeout. */
int watch_wait_ready(struct watch *w, unsigned timeout_ms);

#endif
