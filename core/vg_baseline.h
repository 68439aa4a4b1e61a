/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef VG_BASELINE_H
#define VG_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "vg_item.h"

/*
 * The scanner's baseline: one SQLite file holding every item of a scan,
 * the rules it was made with, and a checksum over all rows.
 *
 * Writing is atomic: a writer builds "<path>.new" under an exclusive lock
 * on "<path>.lock" and only vg_baseline_commit() renames it over path
 * (after fsync), so an interrupted, failed or killed run never replaces a
 * good baseline. Reading returns items in path order, where '/' sorts
 * before every other byte: the order in which vg_scan walks a tree, so a
 * check is a streaming merge that needs no memory per item.
 */

#define VG_BASELINE_FORMAT 1

struct vg_baseline;          /* open for reading */
struct vg_baseline_writer;   /* being written */

/* Compares two paths in baseline order ('/' below every other byte).
 * Returns <0, 0, >0 like memcmp. */
int vg_path_cmp(const char *a, size_t alen, const char *b, size_t blen);

/*
 * Opens path for reading and checks it is a vigil baseline this version
 * can read. On error returns VG_ERR_NOTFOUND, VG_ERR_PERM, VG_ERR_FORMAT
 * (not a baseline), VG_ERR_VERSION, VG_ERR_CORRUPT or VG_ERR_DB with a
 * message naming the file in err. Caller closes with vg_baseline_close().
 */
int vg_baseline_open(const char *path, struct vg_baseline **out, char *err,
    size_t errlen);
void vg_baseline_close(struct vg_baseline *b);

/* Value of a metadata key ("rules", "created", "items", "bytes", "host",
 * "vigil_version", "mode"), or NULL. Valid until close. */
const char *vg_baseline_meta(const struct vg_baseline *b, const char *key);

/*
 * Next item in path order: 0 with *out set (the caller frees it), or 0
 * with *out NULL at the end. At the end the rows are checked against the
 * stored count and checksum: VG_ERR_CORRUPT when they do not match. Other
 * errors: VG_ERR_CORRUPT, VG_ERR_DB, VG_ERR_NOMEM, message in err.
 */
int vg_baseline_next(struct vg_baseline *b, struct vg_item **out, char *err,
    size_t errlen);

/*
 * The item stored for one path (len bytes), looked up by key: 0 with *out
 * set (the caller frees it), or 0 with *out NULL when the baseline has no
 * such item. Independent of the vg_baseline_next() stream, which it does
 * not move; the checksum is not verified for single lookups. Errors:
 * VG_ERR_CORRUPT, VG_ERR_DB, VG_ERR_NOMEM, message in err.
 */
int vg_baseline_get(struct vg_baseline *b, const char *path, size_t len,
    struct vg_item **out, char *err, size_t errlen);

/* Whether the baseline holds any item below the folder path (len bytes):
 * *found 1 or 0. Errors as vg_baseline_get(). */
int vg_baseline_has_below(struct vg_baseline *b, const char *path,
    size_t len, int *found, char *err, size_t errlen);

/* Starts writing a new baseline for path. VG_ERR_BUSY when another run
 * holds the lock; VG_ERR_PERM / VG_ERR_NOTFOUND when the folder is not
 * writable or missing. */
int vg_baseline_create(const char *path, struct vg_baseline_writer **out,
    char *err, size_t errlen);

/* Adds one item (a file-kind item) to the new baseline. Errors:
 * VG_ERR_NOSPACE (disk full), VG_ERR_INVAL (duplicate path), VG_ERR_DB. */
int vg_baseline_put(struct vg_baseline_writer *w, const struct vg_item *it,
    char *err, size_t errlen);

/* Sets a metadata value (copied). */
int vg_baseline_set_meta(struct vg_baseline_writer *w, const char *key,
    const char *value, char *err, size_t errlen);

/* Finishes, syncs and atomically replaces path; frees w in every case.
 * On failure the old baseline at path is untouched. */
int vg_baseline_commit(struct vg_baseline_writer *w, char *err,
    size_t errlen);

/* Drops the new baseline; the old one is untouched. Accepts NULL. */
void vg_baseline_abort(struct vg_baseline_writer *w);

#endif
