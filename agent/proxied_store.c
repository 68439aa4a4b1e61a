/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The per-device state of the proxy agent's item collectors
 * (proxied_store.h): the SQLite baseline, the pending batch and the
 * events of a collection.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect_int.h"
#include "proxied_store.h"
#include "vg_err.h"
#include "vg_json.h"
#include "vg_pack.h"
#include "vg_util.h"

#define APS_DIR "proxied"
#define APS_BUSY_MS 10000
#define APS_SEND_BATCH "500"          /* events per request */

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS item(kind INTEGER NOT NULL, path BLOB NOT "
    "NULL, attrs BLOB NOT NULL, PRIMARY KEY(kind, path)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS content(path BLOB PRIMARY KEY, data BLOB "
    "NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS refused(path BLOB PRIMARY KEY) WITHOUT "
    "ROWID;"
    /* the batch waiting for the hub, and the baseline changes it
     * stands for (attrs / data NULL: delete) */
    "CREATE TABLE IF NOT EXISTS pending(seq INTEGER PRIMARY KEY, body TEXT "
    "NOT NULL);"
    "CREATE TABLE IF NOT EXISTS pending_item(kind INTEGER NOT NULL, path "
    "BLOB NOT NULL, attrs BLOB, PRIMARY KEY(kind, path)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS pending_content(path BLOB PRIMARY KEY, "
    "data BLOB) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS pending_meta(key TEXT PRIMARY KEY, value "
    "TEXT);";

static const char apply_sql[] =
    "DELETE FROM item WHERE (kind, path) IN (SELECT kind, path FROM "
    "pending_item WHERE attrs IS NULL);"
    "INSERT OR REPLACE INTO item SELECT kind, path, attrs FROM pending_item "
    "WHERE attrs IS NOT NULL;"
    "DELETE FROM content WHERE path IN (SELECT path FROM pending_content "
    "WHERE data IS NULL);"
    "INSERT OR REPLACE INTO content SELECT path, data FROM pending_content "
    "WHERE data IS NOT NULL;"
    "INSERT OR REPLACE INTO meta SELECT key, value FROM pending_meta;"
    "DELETE FROM pending_item; DELETE FROM pending_content;"
    "DELETE FROM pending_meta;";

/* Another collector's state: everything but next_seq. */
static const char reset_sql[] =
    "DELETE FROM item; DELETE FROM content; DELETE FROM refused;"
    "DELETE FROM pending; DELETE FROM pending_item;"
    "DELETE FROM pending_content; DELETE FROM pending_meta;"
    "DELETE FROM meta WHERE key != 'next_seq';";

int
aps_err(struct aps *a, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->err, a->errlen, fmt, ap);
	va_end(ap);
	return r;
}

int
aps_db_err(struct aps *a, const char *what)
{
	int rc = sqlite3_errcode(a->db);

	aps_err(a, VG_ERR_DB, "%s: %s: %s", a->path, what,
	    sqlite3_errmsg(a->db));
	return rc == SQLITE_FULL ? VG_ERR_NOSPACE : VG_ERR_DB;
}

int
aps_exec(struct aps *a, const char *sql)
{
	return sqlite3_exec(a->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 :
	    aps_db_err(a, sql);
}

static int
db_path(const char *data_dir, int64_t id, char *buf, size_t len, int dir)
{
	int n = dir ? snprintf(buf, len, "%s/" APS_DIR, data_dir) :
	    snprintf(buf, len, "%s/" APS_DIR "/%lld.db", data_dir,
	    (long long)id);

	return n < 0 || (size_t)n >= len ? VG_ERR_TOOBIG : 0;
}

/* The database's collector: a database of before collectors were named
 * is a Linux host's (the only one then). */
static int
claim(struct aps *a, const char *collector)
{
	char *was = NULL, *seq = NULL;
	int r;

	if ((r = aps_exec(a, "BEGIN IMMEDIATE")) != 0)
		return r;
	if ((r = aps_meta_get(a, "collector", &was)) != 0 ||
	    (r = aps_meta_get(a, "next_seq", &seq)) != 0)
		goto fail;
	if (was == NULL && seq != NULL && (was = strdup("linux")) == NULL) {
		r = aps_err(a, VG_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (was != NULL && strcmp(was, collector) == 0) {
		free(was);
		free(seq);
		return aps_exec(a, "COMMIT");
	}
	if ((was != NULL && (r = aps_exec(a, reset_sql)) != 0) ||
	    (r = aps_meta_put(a, 0, "collector", collector)) != 0)
		goto fail;
	free(was);
	free(seq);
	return aps_exec(a, "COMMIT");
fail:
	free(was);
	free(seq);
	aps_exec(a, "ROLLBACK");
	return r;
}

int
aps_open(struct aps *a, const char *data_dir, int64_t id,
    const char *collector, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int fd, r;

	memset(a, 0, sizeof(*a));
	a->id = id;
	a->err = err;
	a->errlen = errlen;
	if (db_path(data_dir, id, dir, sizeof(dir), 1) != 0 ||
	    db_path(data_dir, id, a->path, sizeof(a->path), 0) != 0)
		return aps_err(a, VG_ERR_TOOBIG, "%s: path too long",
		    data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return aps_err(a, vg_err_from_errno(errno), "cannot create "
		    "%s: %s", dir, strerror(errno));
	/* created 0600 before SQLite opens it: it holds content */
	if ((fd = open(a->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		return aps_err(a, vg_err_from_errno(errno), "cannot open %s: "
		    "%s", a->path, strerror(errno));
	close(fd);
	if (sqlite3_open_v2(a->path, &a->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return aps_db_err(a, "open");
	sqlite3_busy_timeout(a->db, APS_BUSY_MS);
	if ((r = aps_exec(a, schema)) != 0)
		return r;
	return claim(a, collector);
}

void
aps_close(struct aps *a)
{
	sqlite3_finalize(a->ins_event);
	sqlite3_finalize(a->ins_item);
	sqlite3_finalize(a->ins_content);
	sqlite3_close(a->db);
	a->ins_event = a->ins_item = a->ins_content = NULL;
	a->db = NULL;
}

int
aps_meta_get(struct aps *a, const char *key, char **out)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	*out = NULL;
	if (sqlite3_prepare_v2(a->db, "SELECT value FROM meta WHERE key = ?",
	    -1, &st, NULL) != SQLITE_OK)
		return aps_db_err(a, "meta");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_text(st, 0) != NULL &&
		    (*out = strdup((const char *)sqlite3_column_text(st,
		    0))) == NULL)
			r = aps_err(a, VG_ERR_NOMEM, "out of memory");
	} else if (rc != SQLITE_DONE)
		r = aps_db_err(a, "meta");
	sqlite3_finalize(st);
	return r;
}

int
aps_meta_put(struct aps *a, int pending, const char *key, const char *value)
{
	const char *table = pending ? "pending_meta" : "meta";
	sqlite3_stmt *st = NULL;
	int r = 0;

	if (sqlite3_prepare_v2(a->db, pending ? "INSERT OR REPLACE INTO "
	    "pending_meta VALUES(?, ?)" : "INSERT OR REPLACE INTO meta "
	    "VALUES(?, ?)", -1, &st, NULL) != SQLITE_OK)
		return aps_db_err(a, table);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = aps_db_err(a, table);
	sqlite3_finalize(st);
	return r;
}

static int
count_rows(struct aps *a, const char *sql, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int r = 0;

	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
		return aps_db_err(a, sql);
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		r = aps_db_err(a, sql);
	sqlite3_finalize(st);
	return r;
}

/* ---- the pending batch ---- */

int
aps_send_pending(struct aps *a, aps_send_fn send, void *arg)
{
	sqlite3_stmt *sel = NULL, *del = NULL;
	json_t *events = NULL, *ev;
	json_error_t je;
	int64_t *acked = NULL, last = 0;
	size_t nacked, ndeleted, i, n;
	int rc, r = 0;

	if (sqlite3_prepare_v2(a->db, "SELECT seq, body FROM pending WHERE "
	    "seq > ? ORDER BY seq LIMIT " APS_SEND_BATCH, -1, &sel, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(a->db, "DELETE FROM pending "
	    "WHERE seq = ?", -1, &del, NULL) != SQLITE_OK) {
		r = aps_db_err(a, "pending");
		goto out;
	}
	for (;;) {
		if ((events = json_array()) == NULL) {
			r = aps_err(a, VG_ERR_NOMEM, "out of memory");
			goto out;
		}
		sqlite3_reset(sel);
		sqlite3_bind_int64(sel, 1, last);
		while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
			last = sqlite3_column_int64(sel, 0);
			if ((ev = json_loads((const char *)
			    sqlite3_column_text(sel, 1), 0, &je)) == NULL ||
			    json_array_append_new(events, ev) != 0) {
				r = aps_err(a, VG_ERR_CORRUPT, "%s: a pending "
				    "event cannot be read", a->path);
				goto out;
			}
		}
		if (rc != SQLITE_DONE) {
			r = aps_db_err(a, "pending");
			goto out;
		}
		if ((n = json_array_size(events)) == 0)
			break;
		if ((r = send(arg, a->id, events, &acked, &nacked, a->err,
		    a->errlen)) != 0)
			goto out;
		if ((r = aps_exec(a, "BEGIN IMMEDIATE")) != 0)
			goto out;
		/* Counted as rows deleted, not ids answered: a hub that
		 * answers an id twice, or one it was not sent, must not
		 * pass for having taken the whole batch (the rest would
		 * then stay pending while a new collection compares
		 * against a baseline that has not moved: events twice). */
		ndeleted = 0;
		for (i = 0; i < nacked; i++) {
			sqlite3_reset(del);
			sqlite3_bind_int64(del, 1, acked[i]);
			if (sqlite3_step(del) != SQLITE_DONE) {
				r = aps_db_err(a, "pending");
				aps_exec(a, "ROLLBACK");
				goto out;
			}
			ndeleted += (size_t)sqlite3_changes(a->db);
		}
		if ((r = aps_exec(a, "COMMIT")) != 0)
			goto out;
		free(acked);
		acked = NULL;
		if (ndeleted < n) {
			r = aps_err(a, VG_ERR_IO, "the hub acknowledged %zu of "
			    "%zu events; the rest are sent again next time",
			    ndeleted, n);
			goto out;
		}
		json_decref(events);
		events = NULL;
	}
out:
	free(acked);
	json_decref(events);
	sqlite3_finalize(sel);
	sqlite3_finalize(del);
	return r;
}

int
aps_apply_pending(struct aps *a)
{
	int64_t n = 0;
	int r;

	if ((r = count_rows(a, "SELECT count(*) FROM pending", &n)) != 0)
		return r;
	if (n > 0)
		return 0;
	if ((r = aps_exec(a, "BEGIN IMMEDIATE")) != 0)
		return r;
	if ((r = aps_exec(a, apply_sql)) != 0) {
		aps_exec(a, "ROLLBACK");
		return r;
	}
	return aps_exec(a, "COMMIT");
}

/* ---- one collection's comparison ---- */

int
aps_begin(struct aps *a)
{
	char *seq = NULL;
	int r;

	if ((r = aps_exec(a, "BEGIN IMMEDIATE")) != 0)
		return r;
	if ((r = aps_meta_get(a, "next_seq", &seq)) != 0)
		goto fail;
	a->next_seq = seq != NULL ? strtoll(seq, NULL, 10) : 1;
	if (a->next_seq < 1)
		a->next_seq = 1;
	free(seq);
	a->now = vg_wall_ns();
	a->nevents = 0;
	if ((a->ins_event == NULL && sqlite3_prepare_v2(a->db, "INSERT INTO "
	    "pending VALUES(?, ?)", -1, &a->ins_event, NULL) != SQLITE_OK) ||
	    (a->ins_item == NULL && sqlite3_prepare_v2(a->db, "INSERT OR "
	    "REPLACE INTO pending_item VALUES(?, ?, ?)", -1, &a->ins_item,
	    NULL) != SQLITE_OK) ||
	    (a->ins_content == NULL && sqlite3_prepare_v2(a->db, "INSERT OR "
	    "REPLACE INTO pending_content VALUES(?, ?)", -1, &a->ins_content,
	    NULL) != SQLITE_OK)) {
		r = aps_db_err(a, "prepare");
		goto fail;
	}
	return 0;
fail:
	aps_exec(a, "ROLLBACK");
	return r;
}

int
aps_commit(struct aps *a)
{
	char buf[32];
	int r;

	snprintf(buf, sizeof(buf), "%lld", (long long)a->next_seq);
	if ((r = aps_meta_put(a, 0, "next_seq", buf)) != 0 ||
	    (r = aps_exec(a, "COMMIT")) != 0) {
		aps_rollback(a);
		return r;
	}
	return 0;
}

void
aps_rollback(struct aps *a)
{
	sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
add_event(struct aps *a, const char *member, json_t *obj)
{
	char t[VG_TIME_BUFLEN], *text = NULL;
	json_t *ev;
	int r;

	vg_time_format(a->now, t);
	if ((ev = json_pack("{s:I, s:s, s:s, s:o}", "id",
	    (json_int_t)a->next_seq, "time", t, "origin", "scan", member,
	    obj)) == NULL || (text = json_dumps(ev, JSON_COMPACT)) == NULL) {
		json_decref(ev);
		return aps_err(a, VG_ERR_NOMEM, "out of memory");
	}
	json_decref(ev);
	sqlite3_reset(a->ins_event);
	sqlite3_bind_int64(a->ins_event, 1, a->next_seq);
	sqlite3_bind_text(a->ins_event, 2, text, -1, SQLITE_TRANSIENT);
	r = sqlite3_step(a->ins_event) == SQLITE_DONE ? 0 :
	    aps_db_err(a, "pending");
	free(text);
	if (r == 0) {
		a->next_seq++;
		a->nevents++;
	}
	return r;
}

int
aps_agent_event(struct aps *a, const char *code, const char *path,
    const char *fmt, ...)
{
	char msg[2048], *clean = NULL, *cpath = NULL;
	json_t *o = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((clean = vg_utf8_sanitize(msg, strlen(msg))) == NULL ||
	    (path != NULL && (cpath = vg_utf8_sanitize(path,
	    strlen(path))) == NULL) ||
	    (o = json_pack("{s:s, s:s}", "code", code, "message", clean)) ==
	    NULL || (cpath != NULL && json_object_set_new(o, "path",
	    json_string(cpath)) != 0)) {
		json_decref(o);
		free(clean);
		free(cpath);
		return aps_err(a, VG_ERR_NOMEM, "out of memory");
	}
	free(clean);
	free(cpath);
	return add_event(a, "agent", o);
}

int
aps_change_event(struct aps *a, const struct vg_change *c)
{
	json_t *cj;

	if ((cj = vg_change_to_json(c)) == NULL)
		return aps_err(a, VG_ERR_NOMEM, "out of memory");
	return add_event(a, "change", cj);
}

int
aps_put_item(struct aps *a, enum vg_item_kind kind, const struct vg_item *it,
    const struct vg_item *gone)
{
	const struct vg_item *x = it != NULL ? it : gone;
	unsigned char *p = NULL;
	size_t len = 0;
	int r;

	if (it != NULL && (r = vg_pack_attrs(it, &p, &len)) != 0)
		return aps_err(a, r, "packing %.200s: %s", it->path,
		    vg_strerror(r));
	sqlite3_reset(a->ins_item);
	sqlite3_bind_int(a->ins_item, 1, (int)kind);
	sqlite3_bind_blob(a->ins_item, 2, x->path, (int)x->path_len,
	    SQLITE_STATIC);
	if (p != NULL)
		sqlite3_bind_blob(a->ins_item, 3, p, (int)len, SQLITE_STATIC);
	else
		sqlite3_bind_null(a->ins_item, 3);
	r = sqlite3_step(a->ins_item) == SQLITE_DONE ? 0 :
	    aps_db_err(a, "pending_item");
	free(p);
	return r;
}

int
aps_put_content(struct aps *a, const char *path, size_t plen,
    const unsigned char *data, size_t dlen)
{
	sqlite3_reset(a->ins_content);
	sqlite3_bind_blob(a->ins_content, 1, path, (int)plen, SQLITE_STATIC);
	if (data != NULL)
		sqlite3_bind_blob(a->ins_content, 2, dlen > 0 ? data :
		    (const unsigned char *)"", (int)dlen, SQLITE_STATIC);
	else
		sqlite3_bind_null(a->ins_content, 2);
	return sqlite3_step(a->ins_content) == SQLITE_DONE ? 0 :
	    aps_db_err(a, "pending_content");
}

int
aps_load_items(struct aps *a, enum vg_item_kind kind, struct vg_item ***out,
    size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct vg_item **v = NULL, **nv, *it;
	size_t cap = 0;
	char msg[256];
	int rc, r = 0;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(a->db, "SELECT path, attrs FROM item WHERE "
	    "kind = ? ORDER BY path", -1, &st, NULL) != SQLITE_OK)
		return aps_db_err(a, "item");
	sqlite3_bind_int(st, 1, (int)kind);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				r = aps_err(a, VG_ERR_NOMEM, "out of memory");
				break;
			}
			v = nv;
		}
		if ((r = vg_unpack_attrs(sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1), kind,
		    sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), &it, msg,
		    sizeof(msg))) != 0) {
			aps_err(a, r, "%s: a stored item: %s", a->path, msg);
			break;
		}
		v[(*n)++] = it;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = aps_db_err(a, "item");
	sqlite3_finalize(st);
	*out = v;
	return r;
}

int
aps_same_packed(const struct vg_item *x, const struct vg_item *y)
{
	unsigned char *p = NULL, *q = NULL;
	size_t lp = 0, lq = 0;
	int same;

	if (vg_pack_attrs(x, &p, &lp) != 0 || vg_pack_attrs(y, &q, &lq) != 0)
		same = 0;
	else
		same = lp == lq && memcmp(p, q, lp) == 0;
	free(p);
	free(q);
	return same;
}

/* One step of aps_compare_kind(): old and it the baseline's and this
 * collection's state of a path (either NULL). */
static int
kind_step(struct aps *a, enum vg_item_kind kind, struct vg_item *old,
    struct vg_item *it, const struct aps_view *v, int known)
{
	struct vg_change ch;
	int r = 0, report = known;

	memset(&ch, 0, sizeof(ch));
	ch.old = old;
	ch.new = it;
	if (old != NULL && v != NULL && v->unread != NULL &&
	    v->unread(v->arg, old))
		return 0;             /* not read: the baseline stays */
	if (old == NULL) {
		ch.type = VG_CHANGE_ADDED;
		if (v != NULL && v->covered != NULL)
			report = report && v->covered(v->arg, 1, it);
	} else if (it == NULL) {
		ch.type = VG_CHANGE_REMOVED;
		if (v != NULL && v->covered != NULL)
			report = report && v->covered(v->arg, 0, old);
	} else {
		ch.type = VG_CHANGE_CHANGED;
		if ((ch.changed = vg_item_diff(old, it, 0)) == 0)
			return 0;
	}
	if ((r = aps_put_item(a, kind, it, old)) == 0 && report)
		r = aps_change_event(a, &ch);
	return r;
}

int
aps_compare_kind(struct aps *a, enum vg_item_kind kind, const char *name,
    struct vg_item *const *items, size_t n, const struct aps_view *view)
{
	struct vg_item **old = NULL;
	char key[64], *known = NULL;
	size_t nold = 0, i = 0, j = 0;
	int c, r;

	snprintf(key, sizeof(key), "known:%s", name);
	if ((r = aps_meta_get(a, key, &known)) != 0 ||
	    (r = aps_load_items(a, kind, &old, &nold)) != 0)
		goto out;
	while (r == 0 && (i < nold || j < n)) {
		if (i >= nold)
			c = 1;
		else if (j >= n)
			c = -1;
		else
			c = vg_item_path_cmp(old[i], items[j]);
		if (c < 0)
			r = kind_step(a, kind, old[i++], NULL, view,
			    known != NULL);
		else if (c > 0)
			r = kind_step(a, kind, NULL, items[j++], view,
			    known != NULL);
		else
			r = kind_step(a, kind, old[i++], items[j++], view,
			    known != NULL);
	}
	if (r == 0)
		r = aps_meta_put(a, 1, key, "1");
out:
	free(known);
	col_items_free(old, nold);
	return r;
}

/* ---- results, delivery, forgetting ---- */

const char *
aps_code(int r)
{
	switch (r) {
	case VG_ERR_TIMEOUT: return "timeout";
	case VG_ERR_AUTH: return "auth";
	case VG_ERR_HOSTKEY: return "hostkey";
	case VG_ERR_IO:
	case VG_ERR_NOTFOUND:
	case VG_ERR_CLOSED:
	case VG_ERR_CRYPTO: return "connect";
	case VG_ERR_INCOMPLETE: return "incomplete";
	case VG_ERR_INVAL: return "protocol";
	}
	return "other";
}

int
aps_hc_send(void *arg, int64_t device_id, const json_t *events,
    int64_t **acked, size_t *nacked, char *err, size_t errlen)
{
	struct hc_answer ans;
	const json_t *list, *v;
	json_t *body;
	size_t i;
	int r;

	*acked = NULL;
	*nacked = 0;
	memset(&ans, 0, sizeof(ans));
	if ((body = json_pack("{s:I, s:O}", "device_id",
	    (json_int_t)device_id, "events", events)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	r = hc_request(arg, "agent/events", body, &ans);
	json_decref(body);
	if (r != HC_OK) {
		snprintf(err, errlen, "sending the events of device %lld: %s",
		    (long long)device_id, ans.message);
		hc_answer_clear(&ans);
		return r == HC_NOMEM ? VG_ERR_NOMEM : VG_ERR_IO;
	}
	list = json_object_get(ans.body, "acked");
	if ((*acked = calloc(json_array_size(list) + 1, sizeof(**acked))) ==
	    NULL) {
		hc_answer_clear(&ans);
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	json_array_foreach(list, i, v)
		if (json_is_integer(v))
			(*acked)[(*nacked)++] = (int64_t)json_integer_value(v);
	hc_answer_clear(&ans);
	return 0;
}

void
aps_forget(const char *data_dir, int64_t device_id)
{
	char path[PATH_MAX + 8];
	size_t n;

	if (db_path(data_dir, device_id, path, PATH_MAX, 0) != 0)
		return;
	unlink(path);
	n = strlen(path);
	snprintf(path + n, sizeof(path) - n, "-wal");
	unlink(path);
	snprintf(path + n, sizeof(path) - n, "-shm");
	unlink(path);
}
