/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef VG_SCAN_H
#define VG_SCAN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "vg_baseline.h"
#include "vg_item.h"
#include "vg_rules.h"

/*
 * The file system scanner. One walker thread visits the roots in baseline
 * order (directory entries sorted, '/' lowest), merging with the old
 * baseline as a stream; worker threads (one per core by default) read
 * attributes and hash content; every callback runs on the caller's thread.
 *
 * Read path per regular file: open with O_NOATIME (falling back without
 * it), fstat, posix_fadvise(SEQUENTIAL), one read pass into the hash,
 * fstat again. A file that changed while being read is read again, up to
 * three times, then recorded as "unstable".
 *
 * Modes: without an old baseline every item is read (init). With one,
 * "full" re-reads every file, "fast" only those whose type, size, mode,
 * owner, mtime, ctime, inode or link count moved; the others are taken
 * from the baseline unread.
 */

struct vg_scan_stats {
	uint64_t items;          /* items in the tree now */
	uint64_t files_hashed;
	uint64_t bytes_hashed;
	uint64_t added, removed, changed;
	uint64_t problems;       /* paths that could not be fully read */
	uint64_t expect_items;   /* from the old baseline, for an ETA; 0 */
	uint64_t expect_bytes;
};

struct vg_scan_cb {
	void *arg;
	/* Each item of the tree as it is now, in no particular order; it
	 * is borrowed. A non-zero return stops the scan with that error. */
	int (*item)(void *arg, const struct vg_item *it);
	/* A change against the old baseline; the callee owns what c holds
	 * (clear it with vg_change_clear()). Non-zero stops the scan. */
	int (*change)(void *arg, struct vg_change *c);
	/* A path that could not be read fully: msg says why. */
	void (*problem)(void *arg, const char *path, size_t len,
	    const char *msg);
	/* Called about ten times a second; may be NULL. */
	void (*progress)(void *arg, const struct vg_scan_stats *st);
	/* When not NULL, called instead of item for an item the old
	 * baseline had that is kept unread, its folder unreadable: it says
	 * nothing of the state now. */
	int (*kept)(void *arg, const struct vg_item *it);
};

struct vg_scan_opts {
	const struct vg_rules *rules;
	struct vg_baseline *old;   /* NULL: no comparison (init) */
	int fast;                  /* with old: the fast mode */
	int workers;               /* hashing threads; 0: one per core */
	volatile sig_atomic_t *stop; /* set non-zero to interrupt; or NULL */
};

/*
 * Runs a scan. Returns 0 when the walk completed (problems with single
 * paths are reported through cb->problem and counted, not fatal), or an
 * error: VG_ERR_INTERRUPTED when *stop was set, the error a callback
 * returned, a baseline read error (VG_ERR_CORRUPT ...), VG_ERR_NOMEM;
 * err then says what happened. Blocks until done.
 */
int vg_scan_run(const struct vg_scan_opts *o, const struct vg_scan_cb *cb,
    struct vg_scan_stats *st, char *err, size_t errlen);

/*
 * Reads one path (len bytes, absolute, as a scan records it) the way a
 * scan does: lstat (stat through symlinks with follow_symlinks), the
 * content hash under the rules' algorithm and size cap with the re-reads
 * of a file changing meanwhile, xattrs, ACL, SELinux label and owner
 * names. Returns 0 with *out the item (the caller frees it), 0 with *out
 * NULL when the path does not exist (ENOENT, ENOTDIR, or vanished while
 * read), or an error with err set (VG_ERR_PERM when it cannot be stat'ed,
 * VG_ERR_INVAL, VG_ERR_NOMEM). A file that cannot be read is an item with
 * hash_state "unreadable", as in a scan. Blocks while it reads.
 */
int vg_scan_one(const struct vg_rules *r, const char *path, size_t len,
    struct vg_item **out, char *err, size_t errlen);

/*
 * Whether a scan with rules r would record path (len bytes, absolute,
 * normalised): it lies in a root, within max_depth, no folder on the way
 * is excluded for good, and the rules include it (is_dir: it is a
 * directory). Symlinks, file system boundaries and pseudo file systems
 * are not looked at. 1 or 0; VG_ERR_NOMEM.
 */
int vg_scan_covers(const struct vg_rules *r, const char *path, size_t len,
    int is_dir);

/* 1 when the open folder fd is on a pseudo file system a scan does not
 * enter (proc, sysfs, devpts, cgroup, debugfs, tracefs, securityfs,
 * bpf); 0 otherwise or when it cannot tell. */
int vg_pseudo_fs_fd(int fd);

/* Attributes compared for an item of type t under rules ignoring
 * `ignore`: directories leave out size, times and link count, which move
 * whenever an entry is added or removed (reported on their own). */
uint32_t vg_scan_ignore_mask(enum vg_ftype t, uint32_t ignore);

#endif
