/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The agent's durable state (queue.h): one SQLite connection behind a
 * recursive mutex, so that the thread holding a transaction may call any
 * function while others wait. Write transactions start with BEGIN
 * IMMEDIATE, so the busy timeout covers every wait for the file lock and
 * no transaction fails half-way for want of it.
 *
 * The number of queued events and their bytes, the next sequence number
 * and the drop count live in memory too (loaded at open), so the bound
 * check of every event costs nothing; a rollback restores them. next_seq
 * is written to kv once per transaction, at commit, not once per event.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "queue.h"
#include "vg_err.h"
#include "vg_pack.h"
#include "vg_util.h"

#define AQ_APPLICATION_ID 0x56474741   /* "VGGA" */
#define AQ_SCHEMA_VERSION 2
#define AQ_FILE "state.db"
#define AQ_BUSY_MS 10000
#define AQ_CACHE_KIB 512               /* the agent idles in a few MB */
#define AQ_WAL_LIMIT (4 * 1024 * 1024) /* WAL size kept after checkpoints */
#define AQ_DEFAULT_EVENTS 1000000
#define AQ_DEFAULT_BYTES (1024ULL * 1024 * 1024)
#define AQ_RESERVE_EVENTS 1000
#define AQ_RESERVE_BYTES (1024 * 1024)
#define AQ_ERRLEN 512

/*
 * The schema, one entry per version: migration i brings a file from
 * user_version i to i + 1. Never edit a released entry; append one.
 * Tables whose rows may be large (content, system items with long
 * command output) keep their rowid: WITHOUT ROWID suits small rows only.
 */
static const char *const migrations[] = {
	/* 1: the initial schema. */
	"CREATE TABLE queue ("
	" seq INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" origin TEXT NOT NULL,"
	" body TEXT NOT NULL,"
	" size INTEGER NOT NULL);"
	"CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE TABLE overlay (path BLOB PRIMARY KEY, state BLOB,"
	" stamp INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE sysitem (kind INTEGER NOT NULL, name BLOB NOT NULL,"
	" state BLOB NOT NULL, PRIMARY KEY (kind, name));"
	"CREATE TABLE sysknown (kind INTEGER PRIMARY KEY);"
	"CREATE TABLE content (path BLOB PRIMARY KEY, data BLOB NOT NULL);",
	/* 2: overlay stamps are scan generations, no longer wall-clock
	 * times: entries of the old kind are older than any scan to come. */
	"UPDATE overlay SET stamp = 0;",
};
#define AQ_NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

enum {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_KV_GET, ST_KV_SET, ST_KV_DEL, ST_DROP_COUNT, ST_DROP_SINCE,
	ST_EV_INSERT, ST_EV_PEEK, ST_EV_PEEK_AFTER, ST_EV_DELETE,
	ST_EV_DELETE_RUN, ST_EV_RANGE,
	ST_OV_PUT, ST_OV_GET, ST_OV_PRUNE, ST_OV_LIST, ST_OV_RESTAMP,
	ST_SYS_LOAD, ST_SYS_DEL, ST_SYS_INS, ST_SYS_KNOWN, ST_SYS_MARK,
	ST_CT_GET, ST_CT_PUT, ST_CT_DEL,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_KV_GET] = "SELECT value FROM kv WHERE key = ?1",
	[ST_KV_SET] = "INSERT OR REPLACE INTO kv (key, value) VALUES (?1, ?2)",
	[ST_KV_DEL] = "DELETE FROM kv WHERE key = ?1",
	[ST_DROP_COUNT] = "INSERT INTO kv (key, value) VALUES ('dropped', "
	    "'1') ON CONFLICT (key) DO UPDATE SET value = "
	    "CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
	[ST_DROP_SINCE] = "INSERT OR IGNORE INTO kv (key, value) VALUES "
	    "('dropped_since', CAST(?1 AS TEXT))",
	[ST_EV_INSERT] = "INSERT INTO queue (seq, time, origin, body, size) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_EV_PEEK] = "SELECT seq, time, origin, body, size FROM queue "
	    "ORDER BY seq LIMIT ?1",
	[ST_EV_PEEK_AFTER] = "SELECT seq, time, origin, body, size FROM queue "
	    "WHERE seq > ?2 ORDER BY seq LIMIT ?1",
	[ST_EV_DELETE] = "DELETE FROM queue WHERE seq = ?1 RETURNING size",
	[ST_EV_DELETE_RUN] = "DELETE FROM queue WHERE seq BETWEEN ?1 AND ?2 "
	    "RETURNING size",
	/* Two subqueries: SQLite reads min() and max() of the key in
	 * O(log n) only when each is alone in its query. */
	[ST_EV_RANGE] = "SELECT (SELECT min(seq) FROM queue), "
	    "(SELECT max(seq) FROM queue)",
	/* Never over an entry with a newer stamp. */
	[ST_OV_PUT] = "INSERT INTO overlay (path, state, stamp) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT (path) DO UPDATE SET "
	    "state = excluded.state, stamp = excluded.stamp "
	    "WHERE excluded.stamp >= overlay.stamp",
	[ST_OV_GET] = "SELECT state, stamp FROM overlay WHERE path = ?1",
	[ST_OV_PRUNE] = "DELETE FROM overlay WHERE stamp < ?1",
	[ST_OV_LIST] = "SELECT path, state, stamp FROM overlay ORDER BY path",
	[ST_OV_RESTAMP] = "UPDATE overlay SET stamp = ?2 WHERE path = ?1 "
	    "AND stamp < ?2",
	[ST_SYS_LOAD] = "SELECT name, state FROM sysitem WHERE kind = ?1 "
	    "ORDER BY name",
	[ST_SYS_DEL] = "DELETE FROM sysitem WHERE kind = ?1",
	[ST_SYS_INS] = "INSERT INTO sysitem (kind, name, state) "
	    "VALUES (?1, ?2, ?3)",
	[ST_SYS_KNOWN] = "SELECT 1 FROM sysknown WHERE kind = ?1",
	[ST_SYS_MARK] = "INSERT OR IGNORE INTO sysknown (kind) VALUES (?1)",
	[ST_CT_GET] = "SELECT data FROM content WHERE path = ?1",
	[ST_CT_PUT] = "INSERT OR REPLACE INTO content (path, data) "
	    "VALUES (?1, ?2)",
	[ST_CT_DEL] = "DELETE FROM content WHERE path = ?1",
};

/* What a rollback puts back. */
struct aq_mem {
	uint64_t events, bytes, dropped;
	int64_t next_seq;
};

struct aq {
	sqlite3 *db;
	char *path;
	pthread_mutex_t mu;        /* recursive: see the top of the file */
	int readonly;
	int in_tx;                 /* a transaction is open (by the holder) */
	int broken;                /* its error once a statement in it failed */
	int added;                 /* events added in the open transaction */
	uint64_t tx_drops;         /* events dropped in it: kept on rollback */
	int64_t tx_drop_time;      /* the time of the first of them */
	struct aq_limits lim;
	struct aq_mem mem, saved;  /* now, and at aq_begin() */
	int64_t stored_seq;        /* next_seq as written in kv */
	void (*notify)(void *);
	void *notify_arg;
	sqlite3_stmt *st[ST_COUNT];
	char err[AQ_ERRLEN];
};

static void seterr(struct aq *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void replay_drops(struct aq *q, uint64_t n, int64_t time_ns);

static void
seterr(struct aq *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->err, sizeof(q->err), fmt, ap);
	va_end(ap);
}

/*
 * Maps a failed SQLite call to a vg_err, with a message naming the file
 * and what was being done. Any failure inside a transaction breaks it:
 * SQLite may already have rolled it back (disk full, I/O error), and the
 * caller's writes go together or not at all.
 */
static int
fail(struct aq *q, int rc, const char *what)
{
	int sys = sqlite3_system_errno(q->db), r;

	switch (rc & 0xff) {
	case SQLITE_IOERR:
		if (sys != ENOSPC && sys != EDQUOT && sys != EFBIG) {
			seterr(q, "%s: I/O error while %s: %s", q->path, what,
			    sys ? strerror(sys) : sqlite3_errmsg(q->db));
			r = VG_ERR_IO;
			break;
		}
		/* FALLTHROUGH */
	case SQLITE_FULL:
		seterr(q, "%s: disk full while %s", q->path, what);
		r = VG_ERR_NOSPACE;
		break;
	case SQLITE_NOTADB:
		seterr(q, "%s: not a vigil-agent state file (not an SQLite "
		    "database)", q->path);
		r = VG_ERR_FORMAT;
		break;
	case SQLITE_CORRUPT:
		seterr(q, "%s: the agent state is damaged (%s)", q->path,
		    sqlite3_errmsg(q->db));
		r = VG_ERR_CORRUPT;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		seterr(q, "%s: locked by another process while %s", q->path,
		    what);
		r = VG_ERR_BUSY;
		break;
	case SQLITE_NOMEM:
		seterr(q, "%s: out of memory while %s", q->path, what);
		r = VG_ERR_NOMEM;
		break;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		seterr(q, "%s: not writable while %s: %s", q->path, what,
		    sqlite3_errmsg(q->db));
		r = VG_ERR_PERM;
		break;
	case SQLITE_CANTOPEN:
		seterr(q, "%s: cannot open: %s", q->path,
		    sys ? strerror(sys) : sqlite3_errmsg(q->db));
		r = sys ? vg_err_from_errno(sys) : VG_ERR_IO;
		break;
	default:
		seterr(q, "%s: database error while %s: %s", q->path, what,
		    sqlite3_errmsg(q->db));
		r = VG_ERR_DB;
		break;
	}
	if (q->in_tx && !q->broken)
		q->broken = r;
	return r;
}

static int
stmt(struct aq *q, int id, sqlite3_stmt **out)
{
	int rc = SQLITE_OK;

	if (q->st[id] == NULL)
		rc = sqlite3_prepare_v3(q->db, stmt_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &q->st[id], NULL);
	*out = q->st[id];
	return rc == SQLITE_OK ? 0 : fail(q, rc, "preparing a statement");
}

/* Runs a statement that returns no row, then resets it. */
static int
run(struct aq *q, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return fail(q, rc, what);
	return 0;
}

static int
exec(struct aq *q, const char *sql, const char *what)
{
	int rc;

	if ((rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return fail(q, rc, what);
	return 0;
}

static int
bind_blob(sqlite3_stmt *s, int i, const void *p, size_t len)
{
	/* A NULL pointer would bind SQL NULL, not an empty blob. */
	return sqlite3_bind_blob64(s, i, len ? p : "", len, SQLITE_STATIC);
}

/* ---- the lock and transactions ---- */

static void
lock(struct aq *q)
{
	pthread_mutex_lock(&q->mu);
}

static void
unlock(struct aq *q)
{
	pthread_mutex_unlock(&q->mu);
}

/* With the mutex held: BEGIN IMMEDIATE and a snapshot for a rollback. */
static int
tx_start(struct aq *q)
{
	sqlite3_stmt *s;
	int r;

	if (q->readonly) {
		seterr(q, "%s: opened read-only", q->path);
		return VG_ERR_PERM;
	}
	if ((r = stmt(q, ST_BEGIN, &s)) != 0 ||
	    (r = run(q, s, "starting a transaction")) != 0)
		return r;
	q->saved = q->mem;
	q->in_tx = 1;
	q->broken = 0;
	q->added = 0;
	return 0;
}

/*
 * With the mutex held, in a transaction: commits (when commit is 1 and
 * nothing in it failed) or rolls back, and ends it. *woke is set when
 * the commit added events.
 */
static int
tx_end(struct aq *q, int commit, int *woke)
{
	sqlite3_stmt *s;
	int r = q->broken, rc;

	*woke = 0;
	if (commit && r == 0) {
		if (q->mem.next_seq != q->stored_seq) {
			if ((r = stmt(q, ST_KV_SET, &s)) != 0)
				goto rollback;
			sqlite3_bind_text(s, 1, "next_seq", -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, q->mem.next_seq);
			if ((r = run(q, s, "saving next_seq")) != 0)
				goto rollback;
		}
		if ((r = stmt(q, ST_COMMIT, &s)) != 0)
			goto rollback;
		if ((rc = sqlite3_step(s)) != SQLITE_DONE) {
			r = fail(q, rc, "committing");
			sqlite3_reset(s);
			goto rollback;
		}
		sqlite3_reset(s);
		q->stored_seq = q->mem.next_seq;
		*woke = q->added > 0;
		q->in_tx = q->broken = q->added = 0;
		q->tx_drops = 0;
		return 0;
	}
	if (commit && r != 0 && q->err[0] == '\0')
		seterr(q, "%s: a write in the transaction failed", q->path);
rollback:
	/* SQLite may have ended the transaction itself on an I/O error. */
	if (!sqlite3_get_autocommit(q->db) &&
	    stmt(q, ST_ROLLBACK, &s) == 0) {
		sqlite3_step(s);
		sqlite3_reset(s);
	}
	q->mem = q->saved;
	q->in_tx = q->broken = q->added = 0;
	if (q->tx_drops > 0)
		replay_drops(q, q->tx_drops, q->tx_drop_time);
	q->tx_drops = 0;
	return commit ? (r ? r : VG_ERR_DB) : 0;
}

/*
 * Takes the mutex and joins the caller's transaction, or starts one of
 * its own (*own 1). On failure the mutex is released.
 */
static int
tx_enter(struct aq *q, int *own)
{
	int r;

	lock(q);
	*own = 0;
	if (q->in_tx) {
		if (q->broken) {
			r = q->broken;
			unlock(q);
			return r;
		}
		return 0;
	}
	if ((r = tx_start(q)) != 0) {
		unlock(q);
		return r;
	}
	*own = 1;
	return 0;
}

/* Ends what tx_enter() began: commits an own transaction when commit is
 * 1, else rolls it back; releases the mutex, then wakes the sender. */
static int
tx_leave(struct aq *q, int own, int commit, int r)
{
	void (*fn)(void *) = q->notify;
	void *arg = q->notify_arg;
	int woke = 0, r2;

	if (own) {
		r2 = tx_end(q, commit, &woke);
		if (r == 0)
			r = r2;
	}
	unlock(q);
	if (woke && fn != NULL)
		fn(arg);
	return r;
}

int
aq_begin(struct aq *q)
{
	int r;

	lock(q);
	if (q->in_tx) {
		seterr(q, "%s: transactions do not nest", q->path);
		unlock(q);
		return VG_ERR_INVAL;
	}
	q->err[0] = '\0';
	if ((r = tx_start(q)) != 0)
		unlock(q);
	return r;
}

static int
tx_close(struct aq *q, int commit, char *err, size_t errlen)
{
	void (*fn)(void *);
	void *arg;
	int r, woke;

	lock(q);
	if (!q->in_tx) {
		unlock(q);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: no transaction to end",
			    q->path);
		return VG_ERR_INVAL;
	}
	r = tx_end(q, commit, &woke);
	if (r != 0 && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", q->err);
	fn = q->notify;
	arg = q->notify_arg;
	unlock(q);
	unlock(q);       /* the hold of aq_begin() */
	if (woke && fn != NULL)
		fn(arg);
	return r;
}

int
aq_commit(struct aq *q, char *err, size_t errlen)
{
	return tx_close(q, 1, err, errlen);
}

void
aq_rollback(struct aq *q)
{
	tx_close(q, 0, NULL, 0);
}

void
aq_set_notify(struct aq *q, void (*fn)(void *arg), void *arg)
{
	lock(q);
	q->notify = fn;
	q->notify_arg = arg;
	unlock(q);
}

void
aq_last_error(struct aq *q, char *buf, size_t len)
{
	if (len == 0)
		return;
	lock(q);
	snprintf(buf, len, "%s", q->err);
	unlock(q);
}

const char *
aq_path(const struct aq *q)
{
	return q->path;
}

/* ---- kv ---- */

/* With the mutex held. */
static int
kv_get(struct aq *q, const char *key, char **out)
{
	sqlite3_stmt *s;
	const unsigned char *v;
	int r, rc;

	*out = NULL;
	if (strcmp(key, "next_seq") == 0) {
		if (asprintf(out, "%" PRId64, q->mem.next_seq) == -1) {
			*out = NULL;
			return VG_ERR_NOMEM;
		}
		return 0;
	}
	if ((r = stmt(q, ST_KV_GET, &s)) != 0)
		return r;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if ((v = sqlite3_column_text(s, 0)) == NULL ||
		    (*out = strdup((const char *)v)) == NULL)
			r = VG_ERR_NOMEM;
	} else if (rc != SQLITE_DONE)
		r = fail(q, rc, "reading a setting");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return r;
}

static int
parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return VG_ERR_INVAL;
	*out = v;
	return 0;
}

/* With the mutex held. */
static int
kv_get_i64(struct aq *q, const char *key, int64_t def, int64_t *out)
{
	char *v = NULL;
	int r;

	*out = def;
	if ((r = kv_get(q, key, &v)) != 0 || v == NULL)
		return r;
	if (parse_i64(v, out) != 0) {
		seterr(q, "%s: setting %s is not a number: \"%.64s\"",
		    q->path, key, v);
		r = VG_ERR_CORRUPT;
		*out = def;
	}
	free(v);
	return r;
}

int
aq_get(struct aq *q, const char *key, char **out)
{
	int r;

	lock(q);
	r = kv_get(q, key, out);
	unlock(q);
	return r;
}

int
aq_get_i64(struct aq *q, const char *key, int64_t def, int64_t *out)
{
	int r;

	lock(q);
	r = kv_get_i64(q, key, def, out);
	unlock(q);
	return r;
}

/* With the mutex held, in a transaction. */
static int
kv_set(struct aq *q, const char *key, const char *value)
{
	sqlite3_stmt *s;
	int r;

	if ((r = stmt(q, value ? ST_KV_SET : ST_KV_DEL, &s)) != 0)
		return r;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (value != NULL)
		sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	return run(q, s, "saving a setting");
}

int
aq_seq_at_least(struct aq *q, int64_t v)
{
	int own, r;

	if ((r = tx_enter(q, &own)) != 0)
		return r;
	if (v > q->mem.next_seq)
		q->mem.next_seq = v;
	return tx_leave(q, own, 1, 0);
}

int
aq_set(struct aq *q, const char *key, const char *value)
{
	int64_t v;
	int own, r;

	if (key == NULL)
		return VG_ERR_INVAL;
	if (strcmp(key, "next_seq") == 0) {
		if (value == NULL || parse_i64(value, &v) != 0 || v < 1)
			return VG_ERR_INVAL;
		return aq_seq_at_least(q, v);
	}
	if ((r = tx_enter(q, &own)) != 0)
		return r;
	r = kv_set(q, key, value);
	return tx_leave(q, own, r == 0, r);
}

int
aq_set_i64(struct aq *q, const char *key, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return aq_set(q, key, buf);
}

/* ---- events ---- */

/* The member of a body, {"change": {...}} or {"agent": {...}}: its name,
 * or NULL when the body is not one of these. */
static const char *
body_kind(const json_t *body, json_t **member)
{
	const char *key;
	json_t *v;

	if (!json_is_object(body) || json_object_size(body) != 1)
		return NULL;
	json_object_foreach((json_t *)body, key, v) {
		if ((strcmp(key, "change") == 0 || strcmp(key, "agent") == 0)
		    && json_is_object(v)) {
			if (member != NULL)
				*member = v;
			return key;
		}
	}
	return NULL;
}

/* With the mutex held, in a transaction: counts a dropped event. */
static int
record_drop(struct aq *q, int64_t time_ns)
{
	sqlite3_stmt *s;
	int r;

	if ((r = stmt(q, ST_DROP_COUNT, &s)) != 0 ||
	    (r = run(q, s, "counting a dropped event")) != 0)
		return r;
	if ((r = stmt(q, ST_DROP_SINCE, &s)) != 0)
		return r;
	sqlite3_bind_int64(s, 1, time_ns);
	if ((r = run(q, s, "counting a dropped event")) != 0 ||
	    (r = kv_set(q, "rescan", "1")) != 0)
		return r;
	q->mem.dropped++;
	if (q->in_tx && q->tx_drops++ == 0)
		q->tx_drop_time = time_ns;
	return 0;
}

/*
 * After a rollback: the drops counted in the transaction are counted
 * again on their own, so that rolling back the changes of a full queue
 * (as the collectors do) never hides that events were dropped.
 */
static void
replay_drops(struct aq *q, uint64_t n, int64_t time_ns)
{
	sqlite3_stmt *s;
	uint64_t i;

	for (i = 0; i < n; i++)
		if (stmt(q, ST_DROP_COUNT, &s) != 0 ||
		    run(q, s, "counting a dropped event") != 0)
			return;
	if (stmt(q, ST_DROP_SINCE, &s) != 0)
		return;
	sqlite3_bind_int64(s, 1, time_ns);
	if (run(q, s, "counting a dropped event") != 0 ||
	    kv_set(q, "rescan", "1") != 0)
		return;
	q->mem.dropped += n;
}

/* Whether an event of size bytes fits; agent events may use the
 * reserve. */
static int
event_fits(const struct aq *q, size_t size, int agent)
{
	uint64_t maxe = q->lim.max_events, maxb = q->lim.max_bytes;

	if (agent) {
		maxe += AQ_RESERVE_EVENTS;
		maxb += AQ_RESERVE_BYTES;
	}
	return q->mem.events < maxe && size <= maxb &&
	    q->mem.bytes <= maxb - size;
}

int
aq_event(struct aq *q, const char *origin, int64_t time_ns,
    const json_t *body, int64_t *seq)
{
	sqlite3_stmt *s;
	const char *kind;
	char *text = NULL;
	size_t size;
	int own = 0, r, commit = 0;

	if (origin == NULL || (strcmp(origin, "scan") != 0 &&
	    strcmp(origin, "realtime") != 0) ||
	    (kind = body_kind(body, NULL)) == NULL)
		return VG_ERR_INVAL;
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL)
		return VG_ERR_NOMEM;
	size = strlen(text);
	if ((r = tx_enter(q, &own)) != 0)
		goto out;
	if (!event_fits(q, size, strcmp(kind, "agent") == 0)) {
		if ((r = record_drop(q, time_ns)) == 0) {
			/* The count is kept even though the event is not. */
			commit = 1;
			r = VG_ERR_TOOBIG;
		}
		goto leave;
	}
	if ((r = stmt(q, ST_EV_INSERT, &s)) != 0)
		goto leave;
	sqlite3_bind_int64(s, 1, q->mem.next_seq);
	sqlite3_bind_int64(s, 2, time_ns);
	sqlite3_bind_text(s, 3, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text64(s, 4, text, size, SQLITE_STATIC, SQLITE_UTF8);
	sqlite3_bind_int64(s, 5, (int64_t)size);
	if ((r = run(q, s, "queueing an event")) != 0)
		goto leave;
	if (seq != NULL)
		*seq = q->mem.next_seq;
	q->mem.next_seq++;
	q->mem.events++;
	q->mem.bytes += size;
	q->added++;
	commit = 1;
leave:
	r = tx_leave(q, own, commit, r);
out:
	free(text);
	return r;
}

/* One queued event as sent to the hub. A body that does not read back
 * (a damaged file) becomes an agent event saying so, so that it is
 * acknowledged and leaves the queue instead of blocking it. */
static json_t *
event_json(int64_t seq, int64_t time_ns, const char *origin,
    const char *body, size_t len)
{
	char tbuf[VG_TIME_BUFLEN], msg[128];
	const char *kind = NULL;
	json_t *ev, *b, *member = NULL;

	vg_time_format(time_ns, tbuf);
	if (origin == NULL || (strcmp(origin, "scan") != 0 &&
	    strcmp(origin, "realtime") != 0))
		origin = "realtime";
	if ((ev = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)seq, "time",
	    tbuf, "origin", origin)) == NULL)
		return NULL;
	b = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	if (b != NULL && (kind = body_kind(b, &member)) != NULL) {
		if (json_object_set(ev, kind, member) != 0)
			goto fail;
	} else {
		snprintf(msg, sizeof(msg), "queued event %" PRId64 " was "
		    "damaged and is lost; a rescan reports the changes", seq);
		if (json_object_set_new(ev, "agent", json_pack("{s:s, s:s}",
		    "code", "queue-damaged", "message", msg)) != 0)
			goto fail;
	}
	json_decref(b);
	return ev;
fail:
	json_decref(b);
	json_decref(ev);
	return NULL;
}

int
aq_peek(struct aq *q, size_t max_events, size_t max_bytes,
    json_t **events, size_t *n)
{
	sqlite3_stmt *s;
	json_t *arr, *ev;
	uint64_t total = 0, size;
	size_t count = 0;
	int r, rc;

	*events = NULL;
	*n = 0;
	if ((arr = json_array()) == NULL)
		return VG_ERR_NOMEM;
	lock(q);
	if ((r = stmt(q, ST_EV_PEEK, &s)) != 0)
		goto out;
	sqlite3_bind_int64(s, 1, max_events > INT64_MAX ? INT64_MAX :
	    (int64_t)max_events);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		size = (uint64_t)sqlite3_column_int64(s, 4);
		if (count > 0 && total + size > max_bytes)
			break;
		ev = event_json(sqlite3_column_int64(s, 0),
		    sqlite3_column_int64(s, 1),
		    (const char *)sqlite3_column_text(s, 2),
		    (const char *)sqlite3_column_text(s, 3),
		    (size_t)sqlite3_column_bytes(s, 3));
		if (ev == NULL || json_array_append_new(arr, ev) != 0) {
			r = VG_ERR_NOMEM;
			break;
		}
		total += size;
		count++;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = fail(q, rc, "reading the queue");
	sqlite3_reset(s);
out:
	unlock(q);
	if (r != 0) {
		json_decref(arr);
		return r;
	}
	*events = arr;
	*n = count;
	return 0;
}

/* ---- batches as text ---- */

/* A growing text buffer; on failure it is freed and stays NULL. */
struct tbuf {
	char *p;
	size_t len, cap;
};

static int
tb_add(struct tbuf *t, const char *s, size_t len)
{
	size_t cap;
	char *p;

	if (t->len + len + 1 > t->cap) {
		cap = t->cap ? t->cap : 4096;
		while (cap < t->len + len + 1)
			cap *= 2;
		if ((p = realloc(t->p, cap)) == NULL)
			return VG_ERR_NOMEM;
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, len);
	t->len += len;
	t->p[t->len] = '\0';
	return 0;
}

#define SHAPE_DEPTH 256

/*
 * Whether the len bytes at s are one JSON object or array as far as
 * nesting and strings go: brackets matched and closed only at the end,
 * strings closed, no raw control byte in them. 1 yes, 0 no, -1 nested
 * too deep to tell here. Scalars between are left to the hub's parser:
 * a batch it cannot read as a whole is read back strictly.
 */
static int
json_shape(const char *s, size_t len)
{
	char open[SHAPE_DEPTH];
	size_t depth = 0, i;
	unsigned char ch;
	int in_str = 0;

	for (i = 0; i < len; i++) {
		ch = (unsigned char)s[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = 0;
			else if (ch < 0x20)
				return 0;
			continue;
		}
		if (ch == '"') {
			in_str = 1;
		} else if (ch == '{' || ch == '[') {
			if (depth == SHAPE_DEPTH)
				return -1;
			open[depth++] = (char)ch;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0 || open[depth - 1] != (ch == '}' ? '{' :
			    '['))
				return 0;
			if (--depth == 0 && i + 1 != len)
				return 0;
		} else if (depth == 0) {
			return 0;
		}
	}
	return depth == 0 && !in_str && len > 0;
}

/*
 * Whether a stored body is {"change":{...}} or {"agent":{...}} with
 * nothing else in it, by its text: 1 yes, 0 no, -1 cannot tell here.
 */
static int
body_shape(const char *body, size_t len)
{
	static const char *const kinds[] = { "{\"change\":{", "{\"agent\":{" };
	size_t i, k;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		k = strlen(kinds[i]);
		if (len > k && memcmp(body, kinds[i], k) == 0)
			break;
	}
	if (i == sizeof(kinds) / sizeof(kinds[0]) || body[len - 1] != '}' ||
	    !vg_utf8_valid(body, len))
		return 0;
	/* The member alone, from its '{' to the byte before the last. */
	k--;
	return json_shape(body + k, len - 1 - k);
}

/* Appends one event: the stored body's member spliced in after id, time
 * and origin, or what event_json() makes of a body that needs the
 * parser (strict, or not of the expected shape). */
static int
event_text(struct tbuf *t, int64_t seq, int64_t time_ns, const char *origin,
    const char *body, size_t len, int strict)
{
	char head[96 + VG_TIME_BUFLEN], tbuf[VG_TIME_BUFLEN], *text;
	json_t *ev;
	int n, r;

	if (!strict && body != NULL && body_shape(body, len) == 1) {
		vg_time_format(time_ns, tbuf);
		if (origin == NULL || (strcmp(origin, "scan") != 0 &&
		    strcmp(origin, "realtime") != 0))
			origin = "realtime";
		n = snprintf(head, sizeof(head), "{\"id\":%" PRId64 ",\"time\":"
		    "\"%s\",\"origin\":\"%s\",", seq, tbuf, origin);
		if (n < 0 || (size_t)n >= sizeof(head))
			return VG_ERR_INTERNAL;
		if ((r = tb_add(t, head, (size_t)n)) != 0)
			return r;
		return tb_add(t, body + 1, len - 1);
	}
	if ((ev = event_json(seq, time_ns, origin, body, len)) == NULL)
		return VG_ERR_NOMEM;
	text = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (text == NULL)
		return VG_ERR_NOMEM;
	r = tb_add(t, text, strlen(text));
	free(text);
	return r;
}

/* Room in b->ids for one more id after count. */
static int
ids_room(struct aq_batch *b, size_t count)
{
	size_t cap = b->cap ? b->cap : 256;
	int64_t *p;

	if (count < b->cap)
		return 0;
	while (cap <= count)
		cap *= 2;
	if ((p = realloc(b->ids, cap * sizeof(*p))) == NULL)
		return VG_ERR_NOMEM;
	b->ids = p;
	b->cap = cap;
	return 0;
}

void
aq_batch_free(struct aq_batch *b)
{
	if (b == NULL)
		return;
	free(b->text);
	free(b->ids);
	memset(b, 0, sizeof(*b));
}

int
aq_peek_text(struct aq *q, int64_t after_id, size_t max_events,
    size_t max_bytes, int strict, struct aq_batch *b)
{
	struct tbuf t = { NULL, 0, 0 };
	sqlite3_stmt *s;
	uint64_t total = 0, size;
	size_t count = 0;
	int64_t seq;
	int r, rc;

	memset(b, 0, sizeof(*b));
	if (max_events > INT64_MAX)
		max_events = INT64_MAX;
	if ((r = tb_add(&t, "{\"events\":[", 11)) != 0)
		goto done;
	lock(q);
	if ((r = stmt(q, ST_EV_PEEK_AFTER, &s)) != 0)
		goto out;
	sqlite3_bind_int64(s, 1, (int64_t)max_events);
	sqlite3_bind_int64(s, 2, after_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		size = (uint64_t)sqlite3_column_int64(s, 4);
		if (count > 0 && total + size > max_bytes)
			break;
		seq = sqlite3_column_int64(s, 0);
		if ((r = ids_room(b, count)) != 0 || (count > 0 && (r = tb_add(&t, ",", 1)) != 0) ||
		    (r = event_text(&t, seq, sqlite3_column_int64(s, 1),
		    (const char *)sqlite3_column_text(s, 2),
		    (const char *)sqlite3_column_text(s, 3),
		    (size_t)sqlite3_column_bytes(s, 3), strict)) != 0)
			break;
		b->ids[count++] = seq;
		total += size;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = fail(q, rc, "reading the queue");
	sqlite3_reset(s);
out:
	unlock(q);
	if (r == 0)
		r = tb_add(&t, "]}", 2);
done:
	if (r != 0) {
		free(t.p);
		aq_batch_free(b);
		return r;
	}
	b->text = t.p;
	b->len = t.len;
	b->n = count;
	return 0;
}

/* The number of ids from ids[0] on that are consecutive. */
static size_t
run_length(const int64_t *ids, size_t n)
{
	size_t k = 1;

	while (k < n && ids[k - 1] < INT64_MAX && ids[k] == ids[k - 1] + 1)
		k++;
	return k;
}

int
aq_ack(struct aq *q, const int64_t *ids, size_t n)
{
	sqlite3_stmt *s;
	uint64_t size;
	size_t i, k;
	int own, r, rc;

	if (n == 0)
		return 0;
	if ((r = tx_enter(q, &own)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i += k) {
		/* A batch acknowledged whole is one range: one b-tree
		 * descent instead of one per event. */
		k = run_length(ids + i, n - i);
		if ((r = stmt(q, k > 1 ? ST_EV_DELETE_RUN : ST_EV_DELETE,
		    &s)) != 0)
			break;
		sqlite3_bind_int64(s, 1, ids[i]);
		if (k > 1)
			sqlite3_bind_int64(s, 2, ids[i + k - 1]);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			size = (uint64_t)sqlite3_column_int64(s, 0);
			q->mem.bytes -= size < q->mem.bytes ? size :
			    q->mem.bytes;
			if (q->mem.events > 0)
				q->mem.events--;
		}
		if (rc != SQLITE_DONE)
			r = fail(q, rc, "removing acknowledged events");
		sqlite3_reset(s);
	}
	if (r == 0 && q->mem.events == 0)
		r = exec(q, "PRAGMA incremental_vacuum", "freeing space");
	return tx_leave(q, own, r == 0, r);
}

int
aq_stats(struct aq *q, struct aq_stats *st)
{
	sqlite3_stmt *s;
	int r, rc;

	memset(st, 0, sizeof(*st));
	lock(q);
	st->events = q->mem.events;
	st->bytes = q->mem.bytes;
	st->dropped = q->mem.dropped;
	if ((r = stmt(q, ST_EV_RANGE, &s)) != 0)
		goto out;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		st->oldest_seq = sqlite3_column_int64(s, 0);
		st->newest_seq = sqlite3_column_int64(s, 1);
	} else
		r = fail(q, rc, "reading the queue");
	sqlite3_reset(s);
out:
	unlock(q);
	return r;
}

/* Below 90% of both bounds. */
static int
below_90(const struct aq *q)
{
	return q->mem.events < q->lim.max_events - q->lim.max_events / 10 &&
	    q->mem.bytes < q->lim.max_bytes - q->lim.max_bytes / 10;
}

int
aq_summarize_drops(struct aq *q)
{
	char msg[512], since[VG_TIME_BUFLEN];
	json_t *body = NULL;
	int64_t first;
	int own, r, due;

	/* Cheap check first: this runs after every acknowledgement. */
	lock(q);
	due = q->mem.dropped > 0 && below_90(q);
	unlock(q);
	if (!due)
		return 0;
	if ((r = tx_enter(q, &own)) != 0)
		return r;
	if (q->mem.dropped == 0 || !below_90(q)) {
		tx_leave(q, own, 0, 0);
		return 0;
	}
	if ((r = kv_get_i64(q, "dropped_since", vg_wall_ns(), &first)) != 0)
		goto leave;
	vg_time_format(first, since);
	snprintf(msg, sizeof(msg), "%" PRIu64 " events dropped since %s: "
	    "the queue held %" PRIu64 " events/%" PRIu64 " bytes; a rescan "
	    "reports the changes", q->mem.dropped, since, q->lim.max_events,
	    q->lim.max_bytes);
	if ((body = json_pack("{s:{s:s, s:s}}", "agent", "code",
	    "queue-full", "message", msg)) == NULL) {
		r = VG_ERR_NOMEM;
		goto leave;
	}
	if ((r = aq_event(q, "realtime", vg_wall_ns(), body, NULL)) != 0 ||
	    (r = kv_set(q, "dropped", NULL)) != 0 ||
	    (r = kv_set(q, "dropped_since", NULL)) != 0)
		goto leave;
	q->mem.dropped = 0;
leave:
	r = tx_leave(q, own, r == 0, r);
	json_decref(body);
	return r == 0 ? 1 : r;
}

/* ---- overlay, system items, content ---- */

static int
check_path(struct aq *q, const char *path, size_t len)
{
	if (path == NULL || len == 0 || len > VG_ITEM_PATH_MAX ||
	    memchr(path, '\0', len) != NULL) {
		seterr(q, "%s: bad path of %zu bytes", q->path, len);
		return VG_ERR_INVAL;
	}
	return 0;
}

/* Unpacks a stored state into a new item; CORRUPT with the item named. */
static int
unpack(struct aq *q, sqlite3_stmt *s, int col, enum vg_item_kind kind,
    const char *name, size_t len, struct vg_item **out)
{
	char err[256];
	char *shown;
	int r;

	if ((r = vg_unpack_attrs(sqlite3_column_blob(s, col),
	    (size_t)sqlite3_column_bytes(s, col), kind, name, len, out, err,
	    sizeof(err))) != 0 && r != VG_ERR_NOMEM) {
		shown = vg_escape(name, len);
		seterr(q, "%s: stored state of %s %s is damaged: %s",
		    q->path, vg_kind_name(kind), shown ? shown : "?", err);
		free(shown);
		r = VG_ERR_CORRUPT;
	}
	return r;
}

int
aq_overlay_put(struct aq *q, const char *path, size_t len,
    const struct vg_item *it, int64_t stamp_ns)
{
	sqlite3_stmt *s;
	unsigned char *packed = NULL;
	size_t plen = 0;
	int own, r;

	if ((r = check_path(q, path, len)) != 0)
		return r;
	if (it != NULL && (r = vg_pack_attrs(it, &packed, &plen)) != 0)
		return r;
	if ((r = tx_enter(q, &own)) != 0)
		goto out;
	if ((r = stmt(q, ST_OV_PUT, &s)) == 0) {
		bind_blob(s, 1, path, len);
		if (packed != NULL)
			bind_blob(s, 2, packed, plen);
		sqlite3_bind_int64(s, 3, stamp_ns);
		r = run(q, s, "saving the state of a file");
	}
	r = tx_leave(q, own, r == 0, r);
out:
	free(packed);
	return r;
}

/*
 * With the mutex held: looks a path up with statement id. 0 with *s on
 * the row, or with *s NULL when there is none; the caller calls
 * lookup_done() after reading the row.
 */
static int
lookup(struct aq *q, int id, const char *path, size_t len,
    sqlite3_stmt **s, const char *what)
{
	sqlite3_stmt *st;
	int r, rc;

	*s = NULL;
	if ((r = stmt(q, id, &st)) != 0)
		return r;
	bind_blob(st, 1, path, len);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*s = st;
		return 0;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : fail(q, rc, what);
}

static void
lookup_done(sqlite3_stmt *s)
{
	if (s != NULL) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
}

int
aq_overlay_get(struct aq *q, const char *path, size_t len, int *found,
    struct vg_item **out)
{
	int64_t stamp;

	return aq_overlay_get_stamp(q, path, len, found, out, &stamp);
}

int
aq_overlay_get_stamp(struct aq *q, const char *path, size_t len,
    int *found, struct vg_item **out, int64_t *stamp)
{
	sqlite3_stmt *s;
	int r;

	*found = 0;
	*out = NULL;
	*stamp = 0;
	if ((r = check_path(q, path, len)) != 0)
		return r;
	lock(q);
	if ((r = lookup(q, ST_OV_GET, path, len, &s, "reading the state of "
	    "a file")) == 0 && s != NULL) {
		if (sqlite3_column_type(s, 0) != SQLITE_NULL)
			r = unpack(q, s, 0, VG_KIND_FILE, path, len, out);
		*stamp = sqlite3_column_int64(s, 1);
		*found = r == 0;
	}
	lookup_done(s);
	unlock(q);
	return r;
}

void
aq_overlay_list_free(struct aq_overlay_entry *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].path);
		vg_item_free(v[i].state);
	}
	free(v);
}

/* With the mutex held: appends the row of s to *v. */
static int
overlay_row(struct aq *q, sqlite3_stmt *s, struct aq_overlay_entry **v,
    size_t *n, size_t *cap)
{
	struct aq_overlay_entry *e, *nv;
	size_t len = (size_t)sqlite3_column_bytes(s, 0), c;
	const void *p = sqlite3_column_blob(s, 0);
	int r;

	if (*n == *cap) {
		c = *cap ? *cap * 2 : 64;
		if ((nv = reallocarray(*v, c, sizeof(*nv))) == NULL)
			return VG_ERR_NOMEM;
		*v = nv;
		*cap = c;
	}
	e = &(*v)[*n];
	memset(e, 0, sizeof(*e));
	if ((e->path = malloc(len + 1)) == NULL)
		return VG_ERR_NOMEM;
	memcpy(e->path, p, len);
	e->path[len] = '\0';
	e->len = len;
	e->stamp = sqlite3_column_int64(s, 2);
	(*n)++;
	if (sqlite3_column_type(s, 1) != SQLITE_NULL &&
	    (r = unpack(q, s, 1, VG_KIND_FILE, e->path, len, &e->state)) != 0)
		return r;
	return 0;
}

int
aq_overlay_list(struct aq *q, struct aq_overlay_entry **out, size_t *n)
{
	struct aq_overlay_entry *v = NULL;
	sqlite3_stmt *s;
	size_t cnt = 0, cap = 0;
	int r, rc;

	*out = NULL;
	*n = 0;
	lock(q);
	if ((r = stmt(q, ST_OV_LIST, &s)) != 0)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((r = overlay_row(q, s, &v, &cnt, &cap)) != 0)
			break;
	if (r == 0 && rc != SQLITE_DONE)
		r = fail(q, rc, "listing file states");
	sqlite3_reset(s);
out:
	unlock(q);
	if (r != 0) {
		aq_overlay_list_free(v, cnt);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int
aq_overlay_restamp(struct aq *q, const char *path, size_t len,
    int64_t stamp)
{
	sqlite3_stmt *s;
	int own, r;

	if ((r = check_path(q, path, len)) != 0)
		return r;
	if ((r = tx_enter(q, &own)) != 0)
		return r;
	if ((r = stmt(q, ST_OV_RESTAMP, &s)) == 0) {
		bind_blob(s, 1, path, len);
		sqlite3_bind_int64(s, 2, stamp);
		r = run(q, s, "restamping the state of a file");
	}
	return tx_leave(q, own, r == 0, r);
}

int
aq_overlay_prune(struct aq *q, int64_t stamp_ns)
{
	sqlite3_stmt *s;
	int own, r;

	if ((r = tx_enter(q, &own)) != 0)
		return r;
	if ((r = stmt(q, ST_OV_PRUNE, &s)) == 0) {
		/* INT64_MAX drops all, stamped INT64_MAX or not. */
		if (stamp_ns == INT64_MAX)
			sqlite3_bind_double(s, 1, 1e300);
		else
			sqlite3_bind_int64(s, 1, stamp_ns);
		r = run(q, s, "pruning file states");
	}
	return tx_leave(q, own, r == 0, r);
}

static void
free_items(struct vg_item **items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		vg_item_free(items[i]);
	free(items);
}

int
aq_sys_load(struct aq *q, enum vg_item_kind kind, struct vg_item ***items,
    size_t *n)
{
	sqlite3_stmt *s;
	struct vg_item **v = NULL, **nv, *it;
	size_t cnt = 0, cap = 0;
	int r, rc;

	*items = NULL;
	*n = 0;
	lock(q);
	if ((r = stmt(q, ST_SYS_LOAD, &s)) != 0)
		goto out;
	sqlite3_bind_int(s, 1, (int)kind);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				r = VG_ERR_NOMEM;
				break;
			}
			v = nv;
		}
		if ((r = unpack(q, s, 1, kind, sqlite3_column_blob(s, 0),
		    (size_t)sqlite3_column_bytes(s, 0), &it)) != 0)
			break;
		v[cnt++] = it;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = fail(q, rc, "reading system items");
	sqlite3_reset(s);
out:
	unlock(q);
	if (r != 0) {
		free_items(v, cnt);
		return r;
	}
	*items = v;
	*n = cnt;
	return 0;
}

int
aq_sys_known(struct aq *q, enum vg_item_kind kind, int *known)
{
	sqlite3_stmt *s;
	int r, rc;

	*known = 0;
	lock(q);
	if ((r = stmt(q, ST_SYS_KNOWN, &s)) == 0) {
		sqlite3_bind_int(s, 1, (int)kind);
		if ((rc = sqlite3_step(s)) == SQLITE_ROW)
			*known = 1;
		else if (rc != SQLITE_DONE)
			r = fail(q, rc, "reading system items");
		sqlite3_reset(s);
	}
	unlock(q);
	return r;
}

/* With the mutex held, in a transaction: stores one item. */
static int
sys_insert(struct aq *q, sqlite3_stmt *s, enum vg_item_kind kind,
    const struct vg_item *it)
{
	unsigned char *packed;
	size_t plen;
	int r;

	if (it == NULL || it->kind != kind || check_path(q, it->path,
	    it->path_len) != 0) {
		seterr(q, "%s: bad %s item", q->path, vg_kind_name(kind));
		return VG_ERR_INVAL;
	}
	if ((r = vg_pack_attrs(it, &packed, &plen)) != 0)
		return r;
	sqlite3_bind_int(s, 1, (int)kind);
	bind_blob(s, 2, it->path, it->path_len);
	bind_blob(s, 3, packed, plen);
	r = run(q, s, "saving system items");
	free(packed);
	return r;
}

int
aq_sys_replace(struct aq *q, enum vg_item_kind kind,
    struct vg_item *const *items, size_t n)
{
	sqlite3_stmt *s;
	size_t i;
	int own, r;

	if (vg_kind_name(kind) == NULL || kind == VG_KIND_FILE)
		return VG_ERR_INVAL;
	if ((r = tx_enter(q, &own)) != 0)
		return r;
	if ((r = stmt(q, ST_SYS_DEL, &s)) != 0)
		goto out;
	sqlite3_bind_int(s, 1, (int)kind);
	if ((r = run(q, s, "replacing system items")) != 0 ||
	    (r = stmt(q, ST_SYS_INS, &s)) != 0)
		goto out;
	for (i = 0; i < n && r == 0; i++)
		r = sys_insert(q, s, kind, items[i]);
	if (r != 0 || (r = stmt(q, ST_SYS_MARK, &s)) != 0)
		goto out;
	sqlite3_bind_int(s, 1, (int)kind);
	r = run(q, s, "replacing system items");
out:
	return tx_leave(q, own, r == 0, r);
}

int
aq_content_get(struct aq *q, const char *path, size_t len, int *found,
    unsigned char **data, size_t *dlen)
{
	sqlite3_stmt *s;
	size_t n;
	int r;

	*found = 0;
	*data = NULL;
	*dlen = 0;
	if ((r = check_path(q, path, len)) != 0)
		return r;
	lock(q);
	if ((r = lookup(q, ST_CT_GET, path, len, &s, "reading file "
	    "content")) == 0 && s != NULL) {
		n = (size_t)sqlite3_column_bytes(s, 0);
		if ((*data = malloc(n ? n : 1)) == NULL)
			r = VG_ERR_NOMEM;
		else {
			if (n > 0)
				memcpy(*data, sqlite3_column_blob(s, 0), n);
			*dlen = n;
			*found = 1;
		}
	}
	lookup_done(s);
	unlock(q);
	return r;
}

int
aq_content_put(struct aq *q, const char *path, size_t len,
    const void *data, size_t dlen)
{
	sqlite3_stmt *s;
	int own, r;

	if ((r = check_path(q, path, len)) != 0)
		return r;
	if ((r = tx_enter(q, &own)) != 0)
		return r;
	if ((r = stmt(q, data ? ST_CT_PUT : ST_CT_DEL, &s)) == 0) {
		bind_blob(s, 1, path, len);
		if (data != NULL)
			bind_blob(s, 2, data, dlen);
		r = run(q, s, "saving file content");
	}
	return tx_leave(q, own, r == 0, r);
}

/* ---- opening ---- */

static int
pragma_i64(struct aq *q, const char *sql, int64_t *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = sqlite3_prepare_v2(q->db, sql, -1, &s, NULL)) != SQLITE_OK)
		return fail(q, rc, "opening");
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : fail(q, rc, "opening");
}

/* The file's identity and version: FORMAT when another program's,
 * VERSION when newer. *empty when it is a new, empty database. */
static int
check_identity(struct aq *q, int *empty)
{
	int64_t appid = 0, tables = 0, version = 0;
	int r;

	if ((r = pragma_i64(q, "PRAGMA application_id", &appid)) != 0 ||
	    (r = pragma_i64(q, "SELECT count(*) FROM sqlite_schema",
	    &tables)) != 0 ||
	    (r = pragma_i64(q, "PRAGMA user_version", &version)) != 0)
		return r;
	*empty = appid == 0 && tables == 0;
	if (appid != AQ_APPLICATION_ID && !*empty) {
		seterr(q, "%s: an SQLite database but not a vigil-agent state "
		    "file (application_id 0x%08" PRIx64 ")", q->path,
		    (uint64_t)appid & 0xffffffffu);
		return VG_ERR_FORMAT;
	}
	if (version > AQ_SCHEMA_VERSION) {
		seterr(q, "%s: state schema version %" PRId64 " is newer than "
		    "this vigil-agent knows (%d): use a newer vigil-agent",
		    q->path, version, AQ_SCHEMA_VERSION);
		return VG_ERR_VERSION;
	}
	if (version < 0 || (!*empty && version == 0)) {
		seterr(q, "%s: the agent state is damaged (schema version "
		    "%" PRId64 ")", q->path, version);
		return VG_ERR_CORRUPT;
	}
	return 0;
}

/* WAL mode, then the schema brought up to date under the write lock. */
static int
schema_setup(struct aq *q)
{
	sqlite3_stmt *s;
	const char *mode;
	char sql[64];
	int64_t version;
	int empty, r, rc, wal, own;
	size_t i;

	/* A queue that held a long disconnection gives the space back once
	 * it drains (aq_ack()). Only a new file takes this setting, and only
	 * before WAL mode is set. */
	if ((r = check_identity(q, &empty)) != 0 || (empty &&
	    (r = exec(q, "PRAGMA auto_vacuum = INCREMENTAL",
	    "creating the schema")) != 0))
		return r;
	if ((rc = sqlite3_prepare_v2(q->db, "PRAGMA journal_mode = WAL", -1,
	    &s, NULL)) != SQLITE_OK)
		return fail(q, rc, "setting WAL mode");
	rc = sqlite3_step(s);
	mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) :
	    NULL;
	wal = mode != NULL && sqlite3_stricmp(mode, "wal") == 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return fail(q, rc, "setting WAL mode");
	if (!wal) {
		seterr(q, "%s: cannot use write-ahead logging (a local file "
		    "system is needed)", q->path);
		return VG_ERR_IO;
	}
	if ((r = tx_enter(q, &own)) != 0)
		return r;
	/* Again under the write lock: another process may have just made
	 * the schema. */
	if ((r = check_identity(q, &empty)) != 0 ||
	    (r = pragma_i64(q, "PRAGMA user_version", &version)) != 0)
		goto out;
	for (i = (size_t)version; i < AQ_NMIGRATIONS && r == 0; i++)
		r = exec(q, migrations[i], "creating the schema");
	if (r == 0 && (size_t)version < AQ_NMIGRATIONS) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;"
		    "PRAGMA application_id = %d", AQ_SCHEMA_VERSION,
		    AQ_APPLICATION_ID);
		r = exec(q, sql, "creating the schema");
	}
out:
	return tx_leave(q, own, r == 0, r);
}

/* The in-memory totals, from the file. */
static int
load_totals(struct aq *q)
{
	sqlite3_stmt *s;
	int64_t v, newest = 0;
	int r, rc;

	if ((rc = sqlite3_prepare_v2(q->db, "SELECT count(*), "
	    "coalesce(sum(size), 0), coalesce(max(seq), 0) FROM queue", -1,
	    &s, NULL)) != SQLITE_OK)
		return fail(q, rc, "reading the queue");
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		q->mem.events = (uint64_t)sqlite3_column_int64(s, 0);
		q->mem.bytes = (uint64_t)sqlite3_column_int64(s, 1);
		newest = sqlite3_column_int64(s, 2);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return fail(q, rc, "reading the queue");
	q->mem.next_seq = 1;     /* kv_get() answers next_seq from here */
	if ((r = stmt(q, ST_KV_GET, &s)) != 0)
		return r;
	sqlite3_bind_text(s, 1, "next_seq", -1, SQLITE_STATIC);
	v = 1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW &&
	    parse_i64((const char *)sqlite3_column_text(s, 0), &v) != 0)
		v = 1;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(q, rc, "reading next_seq");
	q->stored_seq = rc == SQLITE_ROW ? v : 0;
	/* Never behind what is queued, whatever kv says. */
	q->mem.next_seq = v > newest ? v : newest + 1;
	if ((r = kv_get_i64(q, "dropped", 0, &v)) != 0)
		return r;
	q->mem.dropped = v > 0 ? (uint64_t)v : 0;
	return 0;
}

static void
aq_free(struct aq *q)
{
	size_t i;

	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(q->st[i]);
	sqlite3_close(q->db);
	pthread_mutex_destroy(&q->mu);
	free(q->path);
	free(q);
}

static int
aq_new(const char *dir, int readonly, struct aq **out, char *err,
    size_t errlen)
{
	pthread_mutexattr_t ma;
	struct aq *q;

	*out = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    asprintf(&q->path, "%s/" AQ_FILE, dir) == -1) {
		free(q);
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&q->mu, &ma);
	pthread_mutexattr_destroy(&ma);
	q->readonly = readonly;
	q->lim.max_events = AQ_DEFAULT_EVENTS;
	q->lim.max_bytes = AQ_DEFAULT_BYTES;
	*out = q;
	return 0;
}

/* Opens the connection and applies what every use needs. */
static int
db_connect(struct aq *q)
{
	char sql[128];
	int rc;

	rc = sqlite3_open_v2(q->path, &q->db, (q->readonly ?
	    SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (q->db == NULL) {
			seterr(q, "%s: out of memory", q->path);
			return VG_ERR_NOMEM;
		}
		return fail(q, rc, "opening");
	}
	sqlite3_busy_timeout(q->db, AQ_BUSY_MS);
	snprintf(sql, sizeof(sql), "PRAGMA foreign_keys = OFF;"
	    "PRAGMA synchronous = FULL; PRAGMA cache_size = -%d;"
	    "PRAGMA journal_size_limit = %d", AQ_CACHE_KIB, AQ_WAL_LIMIT);
	return exec(q, sql, "applying settings");
}

static int
finish_open(struct aq *q, int r, struct aq **out, char *err, size_t errlen)
{
	if (r != 0) {
		snprintf(err, errlen, "%s", q->err);
		aq_free(q);
		return r;
	}
	q->err[0] = '\0';
	*out = q;
	return 0;
}

int
aq_open(const char *dir, const struct aq_limits *lim, struct aq **out,
    char *err, size_t errlen)
{
	struct aq *q;
	struct stat st;
	int fd, r;

	*out = NULL;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		r = vg_err_from_errno(errno);
		snprintf(err, errlen, "cannot create the state directory %s: "
		    "%s", dir, strerror(errno));
		return r;
	}
	if ((r = aq_new(dir, 0, &q, err, errlen)) != 0)
		return r;
	if (lim != NULL && lim->max_events > 0)
		q->lim.max_events = lim->max_events;
	if (lim != NULL && lim->max_bytes > 0)
		q->lim.max_bytes = lim->max_bytes;
	/* Created here so that it is private from the start; SQLite gives
	 * the -wal and -shm files the same mode. */
	if ((fd = open(q->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY |
	    O_NOFOLLOW, 0600)) == -1) {
		r = vg_err_from_errno(errno);
		seterr(q, "%s: cannot open: %s", q->path, strerror(errno));
		return finish_open(q, r, out, err, errlen);
	}
	r = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? 0 : VG_ERR_FORMAT;
	close(fd);
	if (r != 0) {
		seterr(q, "%s: not a vigil-agent state file (not a regular "
		    "file)", q->path);
		return finish_open(q, r, out, err, errlen);
	}
	if ((r = db_connect(q)) == 0 && (r = schema_setup(q)) == 0)
		r = load_totals(q);
	return finish_open(q, r, out, err, errlen);
}

int
aq_open_readonly(const char *dir, struct aq **out, char *err,
    size_t errlen)
{
	struct aq *q;
	int r, empty;

	*out = NULL;
	if ((r = aq_new(dir, 1, &q, err, errlen)) != 0)
		return r;
	if (access(q->path, F_OK) == -1) {
		r = vg_err_from_errno(errno);
		seterr(q, "%s: %s%s", q->path, strerror(errno), errno ==
		    ENOENT ? " (the agent has not run yet)" : "");
		return finish_open(q, r, out, err, errlen);
	}
	if ((r = db_connect(q)) == 0 && (r = check_identity(q, &empty)) == 0) {
		if (empty) {
			seterr(q, "%s: no agent state yet", q->path);
			r = VG_ERR_NOTFOUND;
		} else
			r = load_totals(q);
	}
	return finish_open(q, r, out, err, errlen);
}

void
aq_close(struct aq *q)
{
	int woke;

	if (q == NULL)
		return;
	lock(q);
	if (q->in_tx) {
		/* Closed by the holder of a transaction: release the hold of
		 * aq_begin() too. */
		tx_end(q, 0, &woke);
		unlock(q);
	}
	unlock(q);
	aq_free(q);
}
