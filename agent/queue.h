/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef AGENT_QUEUE_H
#define AGENT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vg_item.h"

/*
 * The agent's durable state: one SQLite file, DATA_DIR/state.db, in WAL
 * mode with synchronous=FULL (a commit is on disk before it returns),
 * application_id 0x56474741 ("VGGA"), a versioned schema. It holds
 *
 *   queue    events waiting for the hub's acknowledgement, by sequence
 *            number (the event id the hub sees, unique per device)
 *   kv       small state: device_id, policy, policy_version, next_seq,
 *            last_contact, last_error, dropped, dropped_since, rescan
 *   overlay  the last state reported for a file path since the baseline
 *            was written (vg_pack of its attributes; NULL = removed), so
 *            a change is reported once however the agent stops
 *   sysitem  the last state of each system-configuration item
 *   content  the last content of each content-tracked file (for diffs)
 *
 * Every change is written with its overlay/sysitem/content update in one
 * transaction: after a crash either both are there or neither. Thread
 * safe: one connection behind a mutex; a transaction holds the mutex
 * from aq_begin() to aq_commit()/aq_rollback() (keep them short).
 *
 * Bounds: at most max_events events or max_bytes bytes of event bodies.
 * An event that does not fit is not stored: aq_event() returns
 * VG_ERR_TOOBIG, counts it in kv "dropped" (with "dropped_since" the time
 * of the first) and sets kv "rescan" to "1". The caller must then not
 * write the overlay for it. Agent-health events (body {"agent":...}) may
 * use a reserve of 1000 events above max_events so the summary always
 * fits (and 1 MiB above max_bytes).
 *
 * kv "dropped" counts the events dropped since the last summary,
 * "dropped_since" is the time (ns since the epoch) of the first of them;
 * "next_seq" never goes back (see aq_seq_at_least()).
 *
 * Every function may be called outside a transaction: one that writes
 * then commits on its own. A failure leaves a message for
 * aq_last_error().
 */

struct aq;

struct aq_limits {
	uint64_t max_events;   /* default 1,000,000 */
	uint64_t max_bytes;    /* default 1 GiB */
};

struct aq_stats {
	uint64_t events, bytes;      /* in the queue */
	uint64_t dropped;            /* since the last summary */
	int64_t oldest_seq, newest_seq;  /* 0 when empty */
};

/* Opens (creating) DIR/state.db. VG_ERR_FORMAT (not ours),
 * VG_ERR_VERSION (newer), VG_ERR_CORRUPT, VG_ERR_PERM, VG_ERR_DB. */
int aq_open(const char *dir, const struct aq_limits *lim, struct aq **out,
    char *err, size_t errlen);
/* Opens read-only (vigil-agent status); NOTFOUND when absent. */
int aq_open_readonly(const char *dir, struct aq **out, char *err,
    size_t errlen);
void aq_close(struct aq *q);

/* kv: value copied into a malloc'd string (*out NULL when absent). */
int aq_get(struct aq *q, const char *key, char **out);
/* VG_ERR_CORRUPT when the value is not a whole number. */
int aq_get_i64(struct aq *q, const char *key, int64_t def, int64_t *out);
/* Outside a transaction each set commits on its own; value NULL deletes
 * the key. "next_seq" is
 * special: setting it is aq_seq_at_least() (VG_ERR_INVAL if the value is
 * not a number of at least 1). */
int aq_set(struct aq *q, const char *key, const char *value);
int aq_set_i64(struct aq *q, const char *key, int64_t v);

/*
 * Moves next_seq forward to at least v (the hub's next_event_id after a
 * registration): never back, since the hub takes an id it already holds
 * for a duplicate and would drop the event.
 */
int aq_seq_at_least(struct aq *q, int64_t v);

/*
 * aq_begin() takes the mutex (blocking while another thread holds a
 * transaction) and starts a write transaction; the same thread may call
 * every other function until aq_commit() or aq_rollback() releases it.
 * Transactions do not nest (VG_ERR_INVAL). aq_commit() returns 0,
 * VG_ERR_NOSPACE (disk full: err names the file), VG_ERR_DB, or the error
 * of an earlier write in the transaction that failed (the rest of it then
 * fails the same way); on failure everything since aq_begin() is rolled
 * back and the transaction is over.
 */
int aq_begin(struct aq *q);
int aq_commit(struct aq *q, char *err, size_t errlen);  /* NOSPACE, DB */
void aq_rollback(struct aq *q);

/*
 * fn(arg) is called, in the committing thread and after the mutex is
 * released, each time a commit added events (to wake the sender). NULL
 * removes it.
 */
void aq_set_notify(struct aq *q, void (*fn)(void *arg), void *arg);

/* Copies the message of the last failure into buf ("" when none). */
void aq_last_error(struct aq *q, char *buf, size_t len);

/*
 * Inside a transaction: appends one event. origin is "scan" or
 * "realtime"; body is {"change": {...}} or {"agent": {...}} (borrowed);
 * time_ns its time. Its id is kv next_seq (then incremented). Returns 0
 * (*seq set if seq is not NULL), VG_ERR_TOOBIG when the queue is full
 * (see above), VG_ERR_NOMEM, VG_ERR_DB.
 */
int aq_event(struct aq *q, const char *origin, int64_t time_ns,
    const json_t *body, int64_t *seq);

/*
 * Overlay stamps are the monitor's scan generations (kv "scan_gen"), not
 * wall-clock times, so that a clock stepping back prunes nothing early.
 */

/* Inside a transaction: the overlay entry of a file path: the item's
 * state, or it removed (it NULL). An entry with a newer stamp than
 * stamp_ns is left as it is. */
int aq_overlay_put(struct aq *q, const char *path, size_t len,
    const struct vg_item *it, int64_t stamp_ns);
/* The overlay entry: 0 with *found 0 when none; else *found 1 and *out
 * the item (NULL when recorded as removed; caller frees). */
int aq_overlay_get(struct aq *q, const char *path, size_t len, int *found,
    struct vg_item **out);
/* The same, with the entry's stamp (0 when none). */
int aq_overlay_get_stamp(struct aq *q, const char *path, size_t len,
    int *found, struct vg_item **out, int64_t *stamp);
/* Drops the entries stamped before stamp_ns (a baseline written by a scan
 * that started then holds them); stamp_ns INT64_MAX drops all. */
int aq_overlay_prune(struct aq *q, int64_t stamp_ns);
/* Raises the stamp of a path's entry to stamp (never lowers it). */
int aq_overlay_restamp(struct aq *q, const char *path, size_t len,
    int64_t stamp);

struct aq_overlay_entry {
	char *path;                /* NUL-terminated copy, len bytes */
	size_t len;
	struct vg_item *state;     /* NULL: recorded as removed */
	int64_t stamp;
};

/* Every overlay entry, sorted by path (bytes, shorter first on a tie):
 * *out a malloc'd array of n (free with aq_overlay_list_free()). */
int aq_overlay_list(struct aq *q, struct aq_overlay_entry **out, size_t *n);
void aq_overlay_list_free(struct aq_overlay_entry *v, size_t n);

/* The system-configuration items of one kind, sorted by name: *items is
 * a malloc'd array of n items (free each and the array). */
int aq_sys_load(struct aq *q, enum vg_item_kind kind,
    struct vg_item ***items, size_t *n);
/* Whether any item of this kind was ever stored (first collection). */
int aq_sys_known(struct aq *q, enum vg_item_kind kind, int *known);
/* Inside a transaction: replaces every item of the kind. */
int aq_sys_replace(struct aq *q, enum vg_item_kind kind,
    struct vg_item *const *items, size_t n);

/* The stored content of a tracked file (malloc'd, *found 0 if none). */
int aq_content_get(struct aq *q, const char *path, size_t len, int *found,
    unsigned char **data, size_t *dlen);
/* Inside a transaction: stores (data NULL: deletes) a file's content. */
int aq_content_put(struct aq *q, const char *path, size_t len,
    const void *data, size_t dlen);

/*
 * The oldest events, at most max_events and about max_bytes of bodies
 * (at least one): a new JSON array of {"id","time","origin", "change" |
 * "agent"} ready for POST /agent/events. *n how many (0: empty).
 */
int aq_peek(struct aq *q, size_t max_events, size_t max_bytes,
    json_t **events, size_t *n);

/*
 * A batch as the request body of POST /agent/events, built as text: each
 * stored body's member is spliced in after the event's "id", "time" and
 * "origin" without being parsed. A stored body that does not have the
 * shape of {"change":{...}} or {"agent":{...}} (brackets and strings
 * balanced, valid UTF-8) is sent as the "queue-damaged" agent event, as
 * aq_peek() does.
 */
struct aq_batch {
	char *text;          /* {"events":[...]}, NUL-terminated */
	size_t len;          /* strlen(text) */
	int64_t *ids;        /* the events' ids, ascending */
	size_t n;            /* how many (0: nothing after after_id) */
	size_t cap;          /* room in ids */
};

/*
 * The oldest events with ids above after_id (0: from the oldest), at
 * most max_events and about max_bytes of bodies (at least one), into *b
 * (free with aq_batch_free()). strict reads every body back with the
 * JSON parser first (for a batch the hub could not read as a whole).
 * VG_ERR_NOMEM, VG_ERR_DB.
 */
int aq_peek_text(struct aq *q, int64_t after_id, size_t max_events,
    size_t max_bytes, int strict, struct aq_batch *b);
void aq_batch_free(struct aq_batch *b);

/* Deletes the acknowledged ids (one transaction); ids not in the queue
 * are ignored. When that empties the queue, the file gives its free
 * space back to the file system. Runs of consecutive ids (a batch
 * acknowledged whole) are deleted as ranges. */
int aq_ack(struct aq *q, const int64_t *ids, size_t n);

int aq_stats(struct aq *q, struct aq_stats *st);

/*
 * When events were dropped and the queue is below 90% of its bounds
 * again: in one transaction, queues an agent event {"code":
 * "queue-full", "message": "N events dropped since T: the queue held
 * max_events/max_bytes; a rescan reports the changes"} and resets the
 * count. Returns 1 when it did (the caller then rescans), 0 when there
 * was nothing to do.
 */
int aq_summarize_drops(struct aq *q);

/* The file's path (DIR/state.db), for messages. */
const char *aq_path(const struct aq *q);

#endif
