/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Linux hosts over SSH for the proxy agent (proxied_linux.h): run the
 * collection script of proxy/linux.h, compare with the device's baseline,
 * send the events, and move the baseline once the hub has them.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "collect.h"
#include "collect_int.h"
#include "linux.h"
#include "monitor.h"
#include "proxied_linux.h"
#include "vg_diff.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_json.h"
#include "vg_pack.h"
#include "vg_scan.h"
#include "vg_util.h"

#define APL_DIR "proxied"
#define APL_BUSY_MS 10000
#define APL_SEND_BATCH 500            /* events per request */
#define APL_COMMAND "LC_ALL=C exec /bin/sh -s"

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

/* The system kinds a Linux host gives over SSH (sysctl and commands are
 * the local agent's only). */
static const struct {
	unsigned collect, proxy;
	enum vg_item_kind kind;
	const char *name;
} sys_kinds[] = {
	{ COLLECT_PACKAGES, PROXY_LINUX_PACKAGES, VG_KIND_PACKAGE, "packages" },
	{ COLLECT_SERVICES, PROXY_LINUX_SERVICES, VG_KIND_SERVICE, "services" },
	{ COLLECT_USERS, PROXY_LINUX_USERS, VG_KIND_USER, "users" },
	{ COLLECT_GROUPS, PROXY_LINUX_GROUPS, VG_KIND_GROUP, "groups" },
	{ COLLECT_PORTS, PROXY_LINUX_PORTS, VG_KIND_PORT, "ports" },
};
#define NSYS (sizeof(sys_kinds) / sizeof(sys_kinds[0]))

struct apl {
	sqlite3 *db;
	int64_t id;
	char path[PATH_MAX];
	char *err;
	size_t errlen;
	/* this collection */
	int64_t next_seq, now;
	size_t nevents;
	sqlite3_stmt *ins_event, *ins_item, *ins_content;
};

static int aerr(struct apl *a, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
aerr(struct apl *a, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->err, a->errlen, fmt, ap);
	va_end(ap);
	return r;
}

static int
db_err(struct apl *a, const char *what)
{
	int rc = sqlite3_errcode(a->db);

	aerr(a, VG_ERR_DB, "%s: %s: %s", a->path, what, sqlite3_errmsg(a->db));
	return rc == SQLITE_FULL ? VG_ERR_NOSPACE : VG_ERR_DB;
}

static int
db_exec(struct apl *a, const char *sql)
{
	return sqlite3_exec(a->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 :
	    db_err(a, sql);
}

static int
db_path(const char *data_dir, int64_t id, char *buf, size_t len, int dir)
{
	int n = dir ? snprintf(buf, len, "%s/" APL_DIR, data_dir) :
	    snprintf(buf, len, "%s/" APL_DIR "/%lld.db", data_dir,
	    (long long)id);

	return n < 0 || (size_t)n >= len ? VG_ERR_TOOBIG : 0;
}

static int
apl_open(struct apl *a, const char *data_dir)
{
	char dir[PATH_MAX];
	int fd;

	if (db_path(data_dir, a->id, dir, sizeof(dir), 1) != 0 ||
	    db_path(data_dir, a->id, a->path, sizeof(a->path), 0) != 0)
		return aerr(a, VG_ERR_TOOBIG, "%s: path too long", data_dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return aerr(a, vg_err_from_errno(errno), "cannot create %s: %s",
		    dir, strerror(errno));
	/* created 0600 before SQLite opens it: it holds content */
	if ((fd = open(a->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		return aerr(a, vg_err_from_errno(errno), "cannot open %s: %s",
		    a->path, strerror(errno));
	close(fd);
	if (sqlite3_open_v2(a->path, &a->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		return db_err(a, "open");
	sqlite3_busy_timeout(a->db, APL_BUSY_MS);
	return db_exec(a, schema);
}

static void
apl_close(struct apl *a)
{
	sqlite3_finalize(a->ins_event);
	sqlite3_finalize(a->ins_item);
	sqlite3_finalize(a->ins_content);
	sqlite3_close(a->db);
}

static int
meta_get(struct apl *a, const char *key, char **out)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	*out = NULL;
	if (sqlite3_prepare_v2(a->db, "SELECT value FROM meta WHERE key = ?",
	    -1, &st, NULL) != SQLITE_OK)
		return db_err(a, "meta");
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_text(st, 0) != NULL &&
		    (*out = strdup((const char *)sqlite3_column_text(st,
		    0))) == NULL)
			r = aerr(a, VG_ERR_NOMEM, "out of memory");
	} else if (rc != SQLITE_DONE)
		r = db_err(a, "meta");
	sqlite3_finalize(st);
	return r;
}

/* key=value into table (meta or pending_meta). */
static int
meta_put(struct apl *a, const char *table, const char *key,
    const char *value)
{
	sqlite3_stmt *st = NULL;
	char sql[128];
	int r = 0;

	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO %s VALUES(?, ?)",
	    table);
	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_err(a, table);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_err(a, table);
	sqlite3_finalize(st);
	return r;
}

static int
count_rows(struct apl *a, const char *sql, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int r = 0;

	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_err(a, sql);
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		r = db_err(a, sql);
	sqlite3_finalize(st);
	return r;
}

/* ---- the pending batch ---- */

/* Sends the pending events, oldest first, and forgets those acknowledged.
 * VG_ERR_IO when the hub did not take them all. */
static int
send_pending(struct apl *a, apl_send_fn send, void *arg)
{
	sqlite3_stmt *sel = NULL, *del = NULL;
	json_t *events = NULL, *ev;
	json_error_t je;
	int64_t *acked = NULL, last = 0;
	size_t nacked, i, n;
	int rc, r = 0;

	if (sqlite3_prepare_v2(a->db, "SELECT seq, body FROM pending WHERE "
	    "seq > ? ORDER BY seq LIMIT " "500", -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(a->db, "DELETE FROM pending WHERE seq = ?", -1,
	    &del, NULL) != SQLITE_OK) {
		r = db_err(a, "pending");
		goto out;
	}
	for (;;) {
		if ((events = json_array()) == NULL) {
			r = aerr(a, VG_ERR_NOMEM, "out of memory");
			goto out;
		}
		sqlite3_reset(sel);
		sqlite3_bind_int64(sel, 1, last);
		while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
			last = sqlite3_column_int64(sel, 0);
			if ((ev = json_loads((const char *)
			    sqlite3_column_text(sel, 1), 0, &je)) == NULL ||
			    json_array_append_new(events, ev) != 0) {
				r = aerr(a, VG_ERR_CORRUPT, "%s: a pending event "
				    "cannot be read", a->path);
				goto out;
			}
		}
		if (rc != SQLITE_DONE) {
			r = db_err(a, "pending");
			goto out;
		}
		if ((n = json_array_size(events)) == 0)
			break;
		if ((r = send(arg, a->id, events, &acked, &nacked, a->err,
		    a->errlen)) != 0)
			goto out;
		if ((r = db_exec(a, "BEGIN IMMEDIATE")) != 0)
			goto out;
		for (i = 0; i < nacked; i++) {
			sqlite3_reset(del);
			sqlite3_bind_int64(del, 1, acked[i]);
			if (sqlite3_step(del) != SQLITE_DONE) {
				r = db_err(a, "pending");
				db_exec(a, "ROLLBACK");
				goto out;
			}
		}
		if ((r = db_exec(a, "COMMIT")) != 0)
			goto out;
		free(acked);
		acked = NULL;
		if (nacked < n) {
			r = aerr(a, VG_ERR_IO, "the hub acknowledged %zu of %zu "
			    "events; the rest are sent again next time",
			    nacked, n);
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

/* Once no event is pending: the baseline changes they stood for. */
static int
apply_pending(struct apl *a)
{
	int64_t n = 0;
	int r;

	if ((r = count_rows(a, "SELECT count(*) FROM pending", &n)) != 0)
		return r;
	if (n > 0)
		return 0;
	if ((r = db_exec(a, "BEGIN IMMEDIATE")) != 0)
		return r;
	if ((r = db_exec(a, apply_sql)) != 0) {
		db_exec(a, "ROLLBACK");
		return r;
	}
	return db_exec(a, "COMMIT");
}

/* ---- this collection's events and baseline changes ---- */

static int
add_event(struct apl *a, const char *member, json_t *obj)
{
	char t[VG_TIME_BUFLEN], *text = NULL;
	json_t *ev;
	int r = VG_ERR_NOMEM;

	vg_time_format(a->now, t);
	if ((ev = json_pack("{s:I, s:s, s:s, s:o}", "id",
	    (json_int_t)a->next_seq, "time", t, "origin", "scan", member,
	    obj)) == NULL || (text = json_dumps(ev, JSON_COMPACT)) == NULL) {
		json_decref(ev);
		return aerr(a, r, "out of memory");
	}
	json_decref(ev);
	sqlite3_reset(a->ins_event);
	sqlite3_bind_int64(a->ins_event, 1, a->next_seq);
	sqlite3_bind_text(a->ins_event, 2, text, -1, SQLITE_TRANSIENT);
	r = sqlite3_step(a->ins_event) == SQLITE_DONE ? 0 :
	    db_err(a, "pending");
	free(text);
	if (r == 0) {
		a->next_seq++;
		a->nevents++;
	}
	return r;
}

static int
agent_event(struct apl *a, const char *code, const char *path,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
agent_event(struct apl *a, const char *code, const char *path,
    const char *fmt, ...)
{
	char msg[2048], *clean = NULL, *cpath = NULL;
	json_t *o;
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
		free(clean);
		free(cpath);
		return aerr(a, VG_ERR_NOMEM, "out of memory");
	}
	free(clean);
	free(cpath);
	return add_event(a, "agent", o);
}

static int
change_event(struct apl *a, const struct vg_change *c)
{
	json_t *cj;

	if ((cj = vg_change_to_json(c)) == NULL)
		return aerr(a, VG_ERR_NOMEM, "out of memory");
	return add_event(a, "change", cj);
}

/* A baseline change: it (packed) stands for path of kind, or it NULL
 * removes it. */
static int
put_item(struct apl *a, enum vg_item_kind kind, const struct vg_item *it,
    const struct vg_item *gone)
{
	const struct vg_item *x = it != NULL ? it : gone;
	unsigned char *p = NULL;
	size_t len = 0;
	int r;

	if (it != NULL && (r = vg_pack_attrs(it, &p, &len)) != 0)
		return aerr(a, r, "packing %.200s: %s", it->path,
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
	    db_err(a, "pending_item");
	free(p);
	return r;
}

static int
put_content(struct apl *a, const char *path, size_t plen,
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
	    db_err(a, "pending_content");
}

/* The stored items of a kind, sorted by path (bytes, shorter first). */
static int
load_items(struct apl *a, enum vg_item_kind kind, struct vg_item ***out,
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
		return db_err(a, "item");
	sqlite3_bind_int(st, 1, (int)kind);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				r = aerr(a, VG_ERR_NOMEM, "out of memory");
				break;
			}
			v = nv;
		}
		if ((r = vg_unpack_attrs(sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1), kind,
		    sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), &it, msg,
		    sizeof(msg))) != 0) {
			aerr(a, r, "%s: a stored item: %s", a->path, msg);
			break;
		}
		v[(*n)++] = it;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = db_err(a, "item");
	sqlite3_finalize(st);
	*out = v;
	return r;
}

/* Whether two items pack the same (the baseline then stays). */
static int
same_packed(const struct vg_item *x, const struct vg_item *y)
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

/* ---- files ---- */

struct file_ctx {
	struct apl *a;
	const struct agent_policy *p;
	struct vg_rules *old_rules;   /* the baseline's, NULL: none */
	const struct proxy_linux_result *res;
	int known;
};

static int
str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int
tracked(const struct agent_policy *p, const struct vg_item *it)
{
	const char *path = it->path;

	return p->ncontent > 0 && strlen(path) == it->path_len &&
	    bsearch(&path, p->content, p->ncontent, sizeof(char *),
	    str_cmp) != NULL;
}

static int
blob_name_cmp(const void *x, const void *y)
{
	return strcmp(((const struct proxy_linux_blob *)x)->name,
	    ((const struct proxy_linux_blob *)y)->name);
}

/* The content the host sent for a file (sorted by path). */
static const struct proxy_linux_blob *
content_of(const struct proxy_linux_result *res, const struct vg_item *it)
{
	struct proxy_linux_blob key;

	memset(&key, 0, sizeof(key));
	key.name = (char *)it->path;
	return res->ncontent == 0 ? NULL : bsearch(&key, res->content,
	    res->ncontent, sizeof(*res->content), blob_name_cmp);
}

static int
refused_once(struct apl *a, const struct vg_item *it)
{
	sqlite3_stmt *st = NULL;
	int r = 0, fresh = 0;

	if (sqlite3_prepare_v2(a->db, "INSERT OR IGNORE INTO refused "
	    "VALUES(?)", -1, &st, NULL) != SQLITE_OK)
		return db_err(a, "refused");
	sqlite3_bind_blob(st, 1, it->path, (int)it->path_len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_err(a, "refused");
	else
		fresh = sqlite3_changes(a->db) > 0;
	sqlite3_finalize(st);
	if (r == 0 && fresh)
		r = agent_event(a, "content-refused", it->path, "%s is not "
		    "readable by everyone: its content is not sent to the hub",
		    it->path);
	return r;
}

/*
 * The content side of one file: the diff of a changed tracked file
 * whose last content is known, and the content kept for the next
 * comparison. it is the new state (NULL: gone), c the change or NULL.
 */
static int
file_content(struct file_ctx *x, const struct vg_item *it,
    const struct vg_item *old, struct vg_change *c)
{
	const struct vg_item *any = it != NULL ? it : old;
	const struct proxy_linux_blob *b = NULL;
	struct vg_diff_opts opts;
	struct vg_diff_result res;
	sqlite3_stmt *st = NULL;
	int r = 0, found = 0;

	if (!tracked(x->p, any))
		return 0;
	if (it != NULL && it->ftype == VG_FT_REG) {
		if (!(it->mode & S_IROTH)) {
			if ((r = refused_once(x->a, it)) != 0)
				return r;
		} else
			b = content_of(x->res, it);
	}
	if (sqlite3_prepare_v2(x->a->db, "SELECT data FROM content WHERE "
	    "path = ?", -1, &st, NULL) != SQLITE_OK)
		return db_err(x->a, "content");
	sqlite3_bind_blob(st, 1, any->path, (int)any->path_len,
	    SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		if (b != NULL && c != NULL && c->type == VG_CHANGE_CHANGED &&
		    (c->changed & VG_A_HASH)) {
			vg_diff_opts_default(&opts);
			memset(&res, 0, sizeof(res));
			if ((r = vg_diff_unified(sqlite3_column_blob(st, 0),
			    (size_t)sqlite3_column_bytes(st, 0),
			    (const char *)b->data, b->len, any->path,
			    any->path, &opts, &res)) == 0 && res.len > 0) {
				c->diff = res.text;
				c->diff_truncated = res.truncated;
				res.text = NULL;
			}
			vg_diff_result_free(&res);
		}
		if (r == 0 && b != NULL && ((size_t)sqlite3_column_bytes(st,
		    0) != b->len || memcmp(sqlite3_column_blob(st, 0) ?
		    sqlite3_column_blob(st, 0) : "", b->data, b->len) != 0))
			found = 0;   /* to be replaced */
	}
	sqlite3_finalize(st);
	if (r != 0)
		return aerr(x->a, r, "diff of %.200s: %s", any->path,
		    vg_strerror(r));
	if (b != NULL && !found)
		return put_content(x->a, any->path, any->path_len, b->data,
		    b->len);
	if (b == NULL && found)
		return put_content(x->a, any->path, any->path_len, NULL, 0);
	return 0;
}

/* One step of the walk over the old and new files. */
static int
file_step(struct file_ctx *x, struct vg_item *old, struct vg_item *it)
{
	const struct vg_item *any = it != NULL ? it : old;
	struct vg_change c;
	int r = 0, report = 0;
	uint32_t ignore;

	memset(&c, 0, sizeof(c));
	c.old = old;
	c.new = it;
	if (old == NULL) {
		c.type = VG_CHANGE_ADDED;
		/* widened policy: no flood of "added" */
		report = x->old_rules == NULL || vg_scan_covers(x->old_rules,
		    it->path, it->path_len, it->ftype == VG_FT_DIR) == 1;
	} else if (it == NULL) {
		c.type = VG_CHANGE_REMOVED;
		report = x->p->rules == NULL || vg_scan_covers(x->p->rules,
		    old->path, old->path_len, old->ftype == VG_FT_DIR) == 1;
	} else {
		c.type = VG_CHANGE_CHANGED;
		ignore = vg_scan_ignore_mask(old->ftype == it->ftype ?
		    it->ftype : VG_FT_NONE, x->p->rules->ignore);
		c.changed = vg_item_diff(old, it, ignore);
		report = c.changed != 0;
	}
	report = report && x->known;
	if ((r = file_content(x, it, old, report ? &c : NULL)) == 0 &&
	    report)
		r = change_event(x->a, &c);
	free(c.diff);
	if (r == 0 && (old == NULL || it == NULL || !same_packed(old, it)))
		r = put_item(x->a, VG_KIND_FILE, it, any);
	return r;
}

static int
compare_files(struct apl *a, const struct agent_policy *p,
    const struct proxy_linux_result *res)
{
	struct file_ctx x = { a, p, NULL, res, 0 };
	struct vg_item **old = NULL;
	char *rules_text = NULL, *now_text = NULL, msg[512];
	size_t nold = 0, i = 0, j = 0;
	int c, r;

	if ((r = meta_get(a, "rules", &rules_text)) != 0 ||
	    (r = load_items(a, VG_KIND_FILE, &old, &nold)) != 0)
		goto out;
	x.known = rules_text != NULL;
	if (rules_text != NULL && strcmp(rules_text, "") != 0 &&
	    (vg_rules_new(&x.old_rules) != 0 || vg_rules_parse(x.old_rules,
	    rules_text, strlen(rules_text), "stored rules", msg,
	    sizeof(msg)) != 0 || vg_rules_finish(x.old_rules, msg,
	    sizeof(msg)) != 0)) {
		/* unreadable old rules: compare without widening */
		vg_rules_free(x.old_rules);
		x.old_rules = NULL;
	}
	while (r == 0 && (i < nold || j < res->nfiles)) {
		if (i >= nold)
			c = 1;
		else if (j >= res->nfiles)
			c = -1;
		else
			c = vg_item_path_cmp(old[i], res->files[j]);
		if (c < 0)
			r = file_step(&x, old[i++], NULL);
		else if (c > 0)
			r = file_step(&x, NULL, res->files[j++]);
		else
			r = file_step(&x, old[i++], res->files[j++]);
	}
	if (r != 0)
		goto out;
	if (!x.known && (r = agent_event(a, "baseline", NULL, "baseline of "
	    "%zu items created", res->nfiles)) != 0)
		goto out;
	if ((now_text = vg_rules_serialize(p->rules)) == NULL) {
		r = aerr(a, VG_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = meta_put(a, "pending_meta", "rules", now_text);
out:
	vg_rules_free(x.old_rules);
	free(rules_text);
	free(now_text);
	col_items_free(old, nold);
	return r;
}

/* ---- system configuration ---- */

static char *
section(const struct proxy_linux_result *res, const char *name,
    size_t *len)
{
	const struct proxy_linux_blob *b = proxy_linux_section(res, name);

	*len = b != NULL ? b->len : 0;
	return b != NULL ? (char *)b->data : NULL;
}

/* The items of one kind from the host's sections; *have 0 when the host
 * sent nothing to tell (the stored state then stays). */
static int
sys_set(unsigned bit, const struct proxy_linux_result *res,
    struct col_set *s, int *have)
{
	char *a, *b, *tables[4];
	size_t la, lb, lens[4], lf;
	static const char *const tn[4] = { "tcp", "tcp6", "udp", "udp6" };
	int i;

	*have = 0;
	switch (bit) {
	case PROXY_LINUX_PACKAGES:
		a = section(res, "dpkg", &la);
		b = section(res, "rpm", &lb);
		if (a == NULL && b == NULL)
			return 0;
		*have = 1;
		if (a != NULL && (i = col_dpkg_parse(a, la, s)) != 0)
			return i;
		return b != NULL ? col_rpm_parse(b, lb, s) : 0;
	case PROXY_LINUX_USERS:
		if ((a = section(res, "passwd", &la)) == NULL)
			return 0;
		*have = 1;
		b = section(res, "shadow", &lb);
		return col_users_parse(a, la, b, lb, s);
	case PROXY_LINUX_GROUPS:
		if ((a = section(res, "group", &la)) == NULL)
			return 0;
		*have = 1;
		b = section(res, "gshadow", &lb);
		return col_groups_parse(a, la, b, lb, s);
	case PROXY_LINUX_SERVICES:
		if ((a = section(res, "unit_files", &la)) == NULL ||
		    (b = section(res, "units", &lb)) == NULL)
			return 0;
		*have = 1;
		return col_services_parse(a, la, b, lb, s);
	case PROXY_LINUX_PORTS:
		for (i = 0; i < 4; i++)
			if ((tables[i] = section(res, tn[i], &lens[i])) != NULL)
				*have = 1;
		if (!*have)
			return 0;
		a = section(res, "passwd", &la);
		b = section(res, "fds", &lf);
		return col_ports_parse(tables, lens, b, lf,
		    section(res, "comms", &lb), a, s);
	}
	return 0;
}

static int
compare_kind(struct apl *a, enum vg_item_kind kind, const char *name,
    const struct col_set *s)
{
	struct vg_item **old = NULL, *it;
	struct vg_change ch;
	char key[64], *known = NULL;
	size_t nold = 0, i = 0, j = 0;
	int c, r;

	snprintf(key, sizeof(key), "known:%s", name);
	if ((r = meta_get(a, key, &known)) != 0 ||
	    (r = load_items(a, kind, &old, &nold)) != 0)
		goto out;
	while (r == 0 && (i < nold || j < s->n)) {
		it = j < s->n ? s->e[j].it : NULL;
		if (i >= nold)
			c = 1;
		else if (j >= s->n)
			c = -1;
		else
			c = vg_item_path_cmp(old[i], it);
		memset(&ch, 0, sizeof(ch));
		if (c < 0) {
			ch.type = VG_CHANGE_REMOVED;
			ch.old = old[i];
			r = put_item(a, kind, NULL, old[i]);
			i++;
		} else if (c > 0) {
			ch.type = VG_CHANGE_ADDED;
			ch.new = it;
			r = put_item(a, kind, it, NULL);
			j++;
		} else {
			if (vg_item_diff(old[i], it, 0) != 0) {
				ch.type = VG_CHANGE_CHANGED;
				ch.changed = VG_A_PROPS;
				ch.old = old[i];
				ch.new = it;
				r = put_item(a, kind, it, NULL);
			}
			i++;
			j++;
		}
		if (r == 0 && ch.type != 0 && known != NULL)
			r = change_event(a, &ch);
	}
	if (r == 0)
		r = meta_put(a, "pending_meta", key, "1");
out:
	free(known);
	col_items_free(old, nold);
	return r;
}

static int
compare_system(struct apl *a, const struct agent_policy *p,
    const struct proxy_linux_result *res)
{
	struct col_set s;
	size_t k;
	int have, r = 0;

	for (k = 0; r == 0 && k < NSYS; k++) {
		if (!(p->collect & sys_kinds[k].collect))
			continue;
		memset(&s, 0, sizeof(s));
		if ((r = sys_set(sys_kinds[k].proxy, res, &s, &have)) != 0)
			r = aerr(a, r, "%s: %s", sys_kinds[k].name,
			    vg_strerror(r));
		else if (have) {
			col_set_sort(&s);
			r = compare_kind(a, sys_kinds[k].kind,
			    sys_kinds[k].name, &s);
		}
		col_set_free(&s);
	}
	return r;
}

/* In one transaction: the events of res against the baseline, and the
 * baseline changes they stand for. */
static int
compare_all(struct apl *a, const struct agent_policy *p,
    const struct proxy_linux_result *res, const char *policy_version)
{
	char *seq = NULL, *pv = NULL, buf[32];
	size_t i;
	int r;

	if ((r = db_exec(a, "BEGIN IMMEDIATE")) != 0)
		return r;
	if ((r = meta_get(a, "next_seq", &seq)) != 0 ||
	    (r = meta_get(a, "policy_version", &pv)) != 0)
		goto fail;
	a->next_seq = seq != NULL ? strtoll(seq, NULL, 10) : 1;
	if (a->next_seq < 1)
		a->next_seq = 1;
	a->now = vg_wall_ns();
	a->nevents = 0;
	/* content-refused is said once per path and policy */
	if ((pv == NULL || strcmp(pv, policy_version) != 0) &&
	    ((r = db_exec(a, "DELETE FROM refused")) != 0 ||
	    (r = meta_put(a, "meta", "policy_version", policy_version)) != 0))
		goto fail;
	if (sqlite3_prepare_v2(a->db, "INSERT INTO pending VALUES(?, ?)", -1,
	    &a->ins_event, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(a->db, "INSERT OR REPLACE INTO pending_item "
	    "VALUES(?, ?, ?)", -1, &a->ins_item, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(a->db, "INSERT OR REPLACE INTO pending_content "
	    "VALUES(?, ?)", -1, &a->ins_content, NULL) != SQLITE_OK) {
		r = db_err(a, "prepare");
		goto fail;
	}
	for (i = 0; i < res->nproblems; i++)
		if ((r = agent_event(a, "collect-error", NULL, "%s",
		    res->problems[i])) != 0)
			goto fail;
	if (p->rules != NULL && (r = compare_files(a, p, res)) != 0)
		goto fail;
	if ((r = compare_system(a, p, res)) != 0)
		goto fail;
	snprintf(buf, sizeof(buf), "%lld", (long long)a->next_seq);
	if ((r = meta_put(a, "meta", "next_seq", buf)) != 0)
		goto fail;
	free(seq);
	free(pv);
	return db_exec(a, "COMMIT");
fail:
	free(seq);
	free(pv);
	db_exec(a, "ROLLBACK");
	return r;
}

/* ---- the host ---- */

static const char *
code_of(int r)
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

/* The policy's "sudo" (linux devices). */
static int
policy_sudo(const struct agent_policy *p)
{
	return json_is_true(json_object_get(p->doc, "sudo"));
}

static int
random_marker(char *buf, size_t len)
{
	unsigned char rnd[12];
	char hex[25];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return VG_ERR_IO;
	vg_hex_encode(rnd, sizeof(rnd), hex);
	snprintf(buf, len, "[vigil-sudo-%s]", hex);
	return 0;
}

static void
clean_tail(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = ' ';
	vg_trim(s);
}

/* Runs the script on the host: *out the parsed output (the caller
 * frees it). */
static int
run_host(struct apl *a, const struct proxy_linux_opts *lo,
    const struct proxy_target *t, const struct proxy_credentials *cred,
    unsigned int timeout_ms, double start, char *fp, const char **code,
    struct proxy_linux_result **out)
{
	struct proxy_linux_parser *pp = NULL;
	struct proxy_ssh *ssh = NULL;
	const char *sudo_pw = NULL;
	char *script = NULL, errout[4096] = "", msg[512] = "";
	const char *sep;
	double left;
	size_t slen;
	int r, status = -1;

	*out = NULL;
	*code = "other";
	if ((r = proxy_linux_script(lo, &script, &slen, msg,
	    sizeof(msg))) != 0)
		return aerr(a, r, "%s", msg);
	if (lo->sudo_marker != NULL)
		sudo_pw = cred->enable_secret != NULL &&
		    cred->enable_secret[0] != '\0' ? cred->enable_secret :
		    cred->password;
	if ((r = proxy_linux_parser_new(lo, &pp)) != 0) {
		r = aerr(a, r, "out of memory");
		goto out;
	}
	if ((r = proxy_ssh_connect(t, cred, &ssh, fp, msg, sizeof(msg))) !=
	    0) {
		*code = code_of(r);
		r = aerr(a, r, "%s", msg);
		goto out;
	}
	left = timeout_ms / 1000.0 - (vg_now() - start);
	if (left < 1)
		left = 1;
	r = proxy_ssh_run(ssh, APL_COMMAND, script, slen,
	    proxy_linux_parser_feed, pp, sudo_pw != NULL ? lo->sudo_marker :
	    NULL, sudo_pw, errout, sizeof(errout), &status,
	    (unsigned int)(left * 1000));
	clean_tail(errout);
	sep = errout[0] != '\0' ? "; stderr: " : "";
	if (r != 0 && r == proxy_linux_parser_feed(pp, "", 0)) {
		/* the parser stopped the command */
		*code = r == VG_ERR_TOOBIG ? "other" : "protocol";
		r = aerr(a, r, "the output of %s: %s", t->host,
		    proxy_linux_parser_error(pp));
		goto out;
	}
	if (r != 0) {
		*code = code_of(r);
		r = aerr(a, r, "running the collection script: %s%s%.300s",
		    vg_strerror(r), sep, errout);
		goto out;
	}
	if ((r = proxy_linux_parser_finish(pp, out, msg, sizeof(msg))) != 0) {
		*code = r == VG_ERR_INCOMPLETE ? "incomplete" : "protocol";
		if (lo->sudo && !proxy_linux_parser_started(pp))
			*code = "auth";   /* sudo refused */
		r = aerr(a, r, "the output of %s: %s (exit status %d)%s%.300s",
		    t->host, msg, status, sep, errout);
		goto out;
	}
	if (lo->sudo && (*out)->euid != 0) {
		*code = "auth";
		r = aerr(a, VG_ERR_AUTH, "sudo did not make the collection run "
		    "as root on %s (user id %ld)%s%.300s", t->host,
		    (*out)->euid, sep, errout);
		proxy_linux_result_free(*out);
		*out = NULL;
	}
out:
	free(script);
	proxy_ssh_close(ssh);
	proxy_linux_parser_free(pp);
	return r;
}

/* The delivery through the hub client. */
static int
hc_send(void *arg, int64_t device_id, const json_t *events, int64_t **acked,
    size_t *nacked, char *err, size_t errlen)
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

int
apl_collect_with(const char *data_dir, apl_send_fn send, void *arg,
    const json_t *dev, const struct proxy_target *t,
    const struct proxy_credentials *cred, unsigned int timeout_ms,
    char *fp, const char **code, char *err, size_t errlen)
{
	struct apl a;
	struct agent_policy *p = NULL;
	struct proxy_linux_opts lo;
	struct proxy_linux_result *res = NULL;
	const json_t *id, *pol, *pv;
	json_t *empty = NULL;
	char marker[64];
	double start = vg_now();
	size_t k;
	int r;

	memset(&a, 0, sizeof(a));
	a.err = err;
	a.errlen = errlen;
	err[0] = '\0';
	fp[0] = '\0';
	*code = "other";
	id = json_object_get(dev, "id");
	pol = json_object_get(dev, "policy");
	pv = json_object_get(dev, "policy_version");
	if (!json_is_integer(id) || json_integer_value(id) < 1)
		return aerr(&a, VG_ERR_INVAL, "device: no id");
	a.id = (int64_t)json_integer_value(id);
	if (!json_is_object(pol) && (pol = empty = json_object()) == NULL)
		return aerr(&a, VG_ERR_NOMEM, "out of memory");
	r = agent_policy_parse(pol, json_is_string(pv) ?
	    json_string_value(pv) : "", &p, err, errlen);
	json_decref(empty);
	if (r != 0)
		return r;
	if ((r = apl_open(&a, data_dir)) != 0)
		goto out;
	/* what the hub has not acknowledged goes first, and only then may
	 * the baseline move */
	if ((r = send_pending(&a, send, arg)) != 0 ||
	    (r = apply_pending(&a)) != 0)
		goto out;
	memset(&lo, 0, sizeof(lo));
	lo.rules = p->rules;
	lo.content = p->content;
	lo.ncontent = p->ncontent;
	for (k = 0; k < NSYS; k++)
		if (p->collect & sys_kinds[k].collect)
			lo.system |= sys_kinds[k].proxy;
	if ((lo.sudo = policy_sudo(p))) {
		if ((cred->password != NULL && cred->password[0] != '\0') ||
		    (cred->enable_secret != NULL &&
		    cred->enable_secret[0] != '\0')) {
			if ((r = random_marker(marker, sizeof(marker))) != 0) {
				aerr(&a, r, "no random bytes for the sudo "
				    "marker");
				goto out;
			}
			lo.sudo_marker = marker;
		}
	}
	if ((r = run_host(&a, &lo, t, cred, timeout_ms, start, fp, code,
	    &res)) != 0)
		goto out;
	*code = "other";
	if ((r = compare_all(&a, p, res, p->version)) != 0 ||
	    (r = send_pending(&a, send, arg)) != 0 ||
	    (r = apply_pending(&a)) != 0)
		goto out;
out:
	proxy_linux_result_free(res);
	apl_close(&a);
	agent_policy_free(p);
	return r;
}

int
apl_collect(const char *data_dir, struct hc *hc, const json_t *dev,
    const struct proxy_target *t, const struct proxy_credentials *cred,
    unsigned int timeout_ms, char *fp, const char **code, char *err,
    size_t errlen)
{
	return apl_collect_with(data_dir, hc_send, hc, dev, t, cred,
	    timeout_ms, fp, code, err, errlen);
}

void
apl_forget(const char *data_dir, int64_t device_id)
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
