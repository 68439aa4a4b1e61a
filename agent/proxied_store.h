/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef AGENT_PROXIED_STORE_H
#define AGENT_PROXIED_STORE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "client.h"
#include "vg_item.h"

/*
 * The state of one host the proxy agent collects item by item (Linux
 * hosts over SSH, proxied_linux.h; Windows hosts over SMB,
 * proxied_windows.h), and the way its changes reach the hub.
 *
 * DATA_DIR/proxied/<device id>.db (SQLite, WAL, 0600) holds the baseline
 * (items packed with vg_pack), the last content of tracked files, meta
 * (next_seq, what each collector remembers) and the pending batch: the
 * events of a collection with the baseline changes they stand for
 * (pending_item, pending_content, pending_meta). The baseline changes
 * only once the hub acknowledged every event of the batch; until then
 * the batch is re-sent first, with the same ids, at the next collection,
 * and nothing new is collected: nothing lost, nothing doubled.
 *
 * A collection goes:
 *   aps_open(); aps_send_pending(); aps_apply_pending();
 *   ... collect ...
 *   aps_begin(); aps_compare_kind() / aps_agent_event() / ...;
 *   aps_commit() (or aps_rollback());
 *   aps_send_pending(); aps_apply_pending(); aps_close().
 * One struct aps is used by one thread at a time.
 */

struct aps {
	sqlite3 *db;
	int64_t id;                  /* the proxied device */
	char path[PATH_MAX];         /* of the database, for messages */
	char *err;                   /* the caller's message buffer */
	size_t errlen;
	/* between aps_begin() and aps_commit() */
	int64_t next_seq, now;
	size_t nevents;              /* events added */
	sqlite3_stmt *ins_event, *ins_item, *ins_content;
};

/*
 * The delivery of one batch: events is the JSON array of {"id", "time",
 * "origin", "change"|"agent"} for device_id; the ids the hub acknowledged
 * go to *acked (malloc'd, *nacked of them). 0, or an error with err set.
 */
typedef int (*aps_send_fn)(void *arg, int64_t device_id,
    const json_t *events, int64_t **acked, size_t *nacked, char *err,
    size_t errlen);

/* The result code for the hub of a host that could not be collected
 * (VG_ERR_*): "connect", "timeout", "auth", "hostkey", "incomplete",
 * "protocol" or "other". */
const char *aps_code(int r);

/* The delivery through a hub connection (arg: struct hc *): POST
 * agent/events with device_id. */
int aps_hc_send(void *arg, int64_t device_id, const json_t *events,
    int64_t **acked, size_t *nacked, char *err, size_t errlen);

/*
 * Opens (creating it and DATA_DIR/proxied, 0700, if needed) the database
 * of device id for the collector named collector ("linux", "windows").
 * A database another collector wrote (the device changed type) starts a
 * new baseline: its items, contents, pending batch and meta go, only
 * next_seq stays (event ids never go back). Messages go to err. 0 or
 * VG_ERR_* with err set; aps_close() in every case.
 */
int aps_open(struct aps *a, const char *data_dir, int64_t id,
    const char *collector, char *err, size_t errlen);
void aps_close(struct aps *a);

/* Sets a->err to the message and returns r. */
int aps_err(struct aps *a, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* VG_ERR_DB (VG_ERR_NOSPACE when the disk is full) with what failed
 * and the database's message in err. */
int aps_db_err(struct aps *a, const char *what);

/* Runs sql; VG_ERR_DB (VG_ERR_NOSPACE when the disk is full) with the
 * database's message in err. */
int aps_exec(struct aps *a, const char *sql);

/* meta's value for key: *out malloc'd, or NULL when absent. */
int aps_meta_get(struct aps *a, const char *key, char **out);

/* key = value in meta now (pending 0) or once the batch is acknowledged
 * (pending 1). */
int aps_meta_put(struct aps *a, int pending, const char *key,
    const char *value);

/* Sends the pending events, oldest first, and forgets those
 * acknowledged. VG_ERR_IO when the hub did not take them all. */
int aps_send_pending(struct aps *a, aps_send_fn send, void *arg);

/* Once no event is pending: the baseline changes they stood for. */
int aps_apply_pending(struct aps *a);

/* Starts the comparison of a collection (one transaction): next_seq,
 * the time of its events. */
int aps_begin(struct aps *a);

/* Ends it: next_seq kept, COMMIT. On failure the transaction is rolled
 * back. */
int aps_commit(struct aps *a);

/* Ends it without a trace. */
void aps_rollback(struct aps *a);

/* The events of this collection ("scan" origin). */
int aps_agent_event(struct aps *a, const char *code, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int aps_change_event(struct aps *a, const struct vg_change *c);

/* A baseline change once acknowledged: it stands for its path of kind,
 * or with it NULL the path of gone leaves. */
int aps_put_item(struct aps *a, enum vg_item_kind kind,
    const struct vg_item *it, const struct vg_item *gone);

/* The tracked content of path once acknowledged (data NULL: none). */
int aps_put_content(struct aps *a, const char *path, size_t plen,
    const unsigned char *data, size_t dlen);

/* The baseline's items of a kind, sorted by path (bytes, shorter
 * first); the caller frees them with col_items_free(). */
int aps_load_items(struct aps *a, enum vg_item_kind kind,
    struct vg_item ***out, size_t *n);

/* 1 when two items pack the same (the baseline then stays). */
int aps_same_packed(const struct vg_item *x, const struct vg_item *y);

/*
 * How aps_compare_kind() treats some paths; NULL, or any member NULL,
 * for none of this.
 *  - unread: 1 when what the baseline holds at path was not read this
 *    time; the baseline's item stays as it is (neither removed nor
 *    changed);
 *  - covered: 1 when the collection options before (was 1) or now (was
 *    0) took path in: an item that comes into view through wider options
 *    is added to the baseline silently, one that leaves it through
 *    narrower ones removed silently.
 */
struct aps_view {
	int (*unread)(void *arg, const struct vg_item *it);
	int (*covered)(void *arg, int was, const struct vg_item *it);
	void *arg;
};

/*
 * Compares the n items of kind (sorted by vg_item_path_cmp, unique) with
 * the baseline: an added, removed or changed (vg_item_diff) item is an
 * event and a baseline change. The first comparison of a kind (meta
 * "known:" name) is silent: the baseline. Between aps_begin() and
 * aps_commit().
 */
int aps_compare_kind(struct aps *a, enum vg_item_kind kind,
    const char *name, struct vg_item *const *items, size_t n,
    const struct aps_view *view);

/* Removes DATA_DIR/proxied/<id>.db (and its WAL) of a device no longer
 * assigned. */
void aps_forget(const char *data_dir, int64_t device_id);

#endif
