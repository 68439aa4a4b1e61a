/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the hub's store (hub/store.c, hub/store_sqlite.c) on
 * SQLite databases in a temporary folder: users, sessions, devices and
 * clones, events (idempotency, queries, paging, windowed searches and
 * their budget, ack and accept, purge), the rollup and the overview,
 * groups and policies, online/offline marking, audit, settings, the
 * database file itself (reopening, newer schemas, foreign files, threads),
 * and proxied devices (migration from schema 3, credentials, collection
 * results, host keys, configuration versions).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_item.h"
#include "vg_json.h"

struct fixture {
	char dir[64];
	char path[128];
	struct hub_store *s;
};

static char err[512];

static void
remove_db(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[256];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
		unlink(p);
	}
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/hub.db", f->dir);
	if (hub_store_open(f->path, &f->s, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	hub_store_close(f->s);
	remove_db(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

#define OPS(f) ((f)->s->ops)
#define OK(call) do { \
	int r_ = (call); \
	if (r_ != 0) \
		fail_msg("%s: %d %s", #call, r_, err); \
} while (0)

static int64_t
jint(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_integer(v))
		fail_msg("\"%s\" is not an integer", k);
	return json_integer_value(v);
}

static const char *
jstr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_string(v))
		fail_msg("\"%s\" is not a string", k);
	return json_string_value(v);
}

/* How reg_ex() registers: the new credential hash is 32 bytes of cred
 * (host[0] when 0), the agent gives old_cred (32 bytes of it; 0: none),
 * at time now (0: the clock), with poll_period (0: 300), from peer
 * (NULL: 10.0.0.5); the hub's default poll period is 300, its grace 60. */
struct reg_opts {
	unsigned char cred, old_cred;
	int64_t now;
	int poll_period;
	const char *peer;
};

#define REG_GRACE 60

/* Registers a device; returns its id. */
static int64_t
reg_ex(struct fixture *f, const char *host, const char *machine,
    const char *macs, const struct reg_opts *o,
    struct hs_register_result *res)
{
	struct hs_register_result tmp;
	unsigned char cred[32], old[32];
	struct hs_register in;

	memset(&in, 0, sizeof(in));
	memset(cred, o->cred != 0 ? o->cred : host[0], sizeof(cred));
	memset(old, o->old_cred, sizeof(old));
	in.old_cred_hash = o->old_cred != 0 ? old : NULL;
	in.now = o->now;
	in.default_poll_period = 300;
	in.offline_grace = REG_GRACE;
	in.name = host;
	in.hostname = host;
	in.os = "Debian GNU/Linux 12 (bookworm)";
	in.machine_id = machine;
	in.agent_version = "0.2.0";
	in.ips_json = "[\"10.0.0.5\"]";
	in.macs_json = macs;
	in.poll_period = o->poll_period != 0 ? o->poll_period : 300;
	in.cred_hash = cred;
	in.peer = o->peer != NULL ? o->peer : "10.0.0.5";
	if (res == NULL)
		res = &tmp;
	OK(OPS(f)->device_register(f->s, &in, res, err, sizeof(err)));
	return res->device_id;
}

/* reg_ex() with the defaults: no old credential. */
static int64_t
reg(struct fixture *f, const char *host, const char *machine,
    const char *macs, struct hs_register_result *res)
{
	static const struct reg_opts o = { 0, 0, 0, 0, NULL };

	return reg_ex(f, host, machine, macs, &o, res);
}

/* reg_ex() of an agent that gives the credential hash of 32 bytes of
 * old_cred. */
static int64_t
reg_cred(struct fixture *f, const char *host, const char *machine,
    const char *macs, unsigned char old_cred, struct hs_register_result *res)
{
	struct reg_opts o = { 0, old_cred, 0, 0, NULL };

	return reg_ex(f, host, machine, macs, &o, res);
}

/* A file item with typical attributes. */
static struct vg_item *
file_item(const char *path, uint64_t size, int64_t mtime)
{
	struct vg_item *it = vg_item_new(VG_KIND_FILE, path, strlen(path));

	assert_non_null(it);
	it->have = VG_A_TYPE | VG_A_SIZE | VG_A_MODE | VG_A_UID | VG_A_GID |
	    VG_A_USER | VG_A_GROUP | VG_A_MTIME | VG_A_CTIME | VG_A_INODE |
	    VG_A_DEV | VG_A_NLINK | VG_A_XATTRS | VG_A_ACL | VG_A_SELINUX |
	    VG_A_HASH;
	it->ftype = VG_FT_REG;
	it->size = size;
	it->mode = 0644;
	it->uid = 0;
	it->gid = 0;
	assert_int_equal(vg_item_set_str(&it->user, "root"), 0);
	assert_int_equal(vg_item_set_str(&it->group, "root"), 0);
	it->mtime_ns = mtime;
	it->ctime_ns = mtime + 7;
	it->inode = 1311021;
	it->dev = 65024;
	it->nlink = 1;
	assert_int_equal(vg_item_set_str(&it->xattrs, ""), 0);
	assert_int_equal(vg_item_set_str(&it->acl, ""), 0);
	assert_int_equal(vg_item_set_str(&it->selinux, ""), 0);
	it->hash_alg = VG_HASH_SHA256;
	it->hash_state = VG_HS_OK;
	assert_int_equal(vg_hash_buffer(VG_HASH_SHA256, &size, sizeof(size),
	    it->hash), 0);
	return it;
}

/* A batch of n CHANGED events of one device, seqs from seq0, of paths
 * prefix<seq>suffix. */
struct batch {
	struct hs_event_in *ev;
	struct vg_change *ch;
	unsigned char *stored;
	size_t n;
};

static void
batch_make(struct batch *b, int64_t device, uint64_t seq0, size_t n,
    const char *prefix, const char *suffix)
{
	char path[128];
	size_t i;

	b->n = n;
	b->ev = calloc(n, sizeof(*b->ev));
	b->ch = calloc(n, sizeof(*b->ch));
	b->stored = calloc(n, 1);
	assert_true(b->ev && b->ch && b->stored);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s%u%s", prefix,
		    (unsigned)(seq0 + i), suffix);
		b->ch[i].type = VG_CHANGE_CHANGED;
		b->ch[i].old = file_item(path, 100 + i, 1700000000000000000LL);
		b->ch[i].new = file_item(path, 200 + i, 1700000001000000000LL);
		b->ch[i].changed = VG_A_SIZE | VG_A_MTIME | VG_A_CTIME |
		    VG_A_HASH;
		b->ev[i].device_id = device;
		b->ev[i].seq = seq0 + i;
		b->ev[i].time_ns = 1764145114123456789LL + (int64_t)i;
		b->ev[i].origin = 1;
		b->ev[i].type = HS_EV_CHANGED;
		b->ev[i].change = &b->ch[i];
	}
}

static void
batch_free(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		vg_change_clear(&b->ch[i]);
	free(b->ev);
	free(b->ch);
	free(b->stored);
}

static int64_t
count_events(struct fixture *f)
{
	json_t *st;
	int64_t n;

	OK(OPS(f)->stats(f->s, &st, err, sizeof(err)));
	n = jint(st, "events");
	json_decref(st);
	return n;
}

static void
exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* The integer a query of one row and column gives, read beside the
 * store. */
static int64_t
sql_int(const char *path, const char *sql)
{
	sqlite3_stmt *q;
	sqlite3 *db;
	int64_t v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

/* The events of a page of event_query() (a new reference); the page is
 * freed. */
static json_t *
page_events(json_t *page)
{
	json_t *a = json_object_get(page, "events");

	assert_true(json_is_array(a));
	json_incref(a);
	json_decref(page);
	return a;
}

/* The page event_query() answers for flt. */
static json_t *
query_page(struct fixture *f, struct hs_event_filter *flt)
{
	json_t *page;

	OK(OPS(f)->event_query(f->s, flt, &page, err, sizeof(err)));
	assert_true(json_is_object(page));
	assert_true(json_is_boolean(json_object_get(page, "partial")));
	return page;
}

/* Events matching the filter (limit 1000), searched without a budget. */
static json_t *
query(struct fixture *f, struct hs_event_filter *flt)
{
	if (flt->limit == 0)
		flt->limit = 1000;
	flt->budget_ms = HS_NO_BUDGET;
	return page_events(query_page(f, flt));
}

/* ---- store.c ---- */

static void
test_names(void **state)
{
	int v;

	(void)state;
	assert_string_equal(hs_event_type_name(HS_EV_CHANGED), "changed");
	assert_string_equal(hs_event_type_name(HS_EV_REGISTERED),
	    "registered");
	assert_null(hs_event_type_name(4));
	assert_null(hs_event_type_name(-1));
	assert_null(hs_event_type_name(99));
	assert_int_equal(hs_event_type_parse("clone", &v), 0);
	assert_int_equal(v, HS_EV_CLONE);
	assert_int_equal(hs_event_type_parse("bogus", &v), VG_ERR_INVAL);
	assert_string_equal(hs_role_name(HS_ROLE_ENROL), "enrol");
	assert_null(hs_role_name(0));
	assert_int_equal(hs_role_parse("readonly", &v), 0);
	assert_int_equal(v, HS_ROLE_READONLY);
	assert_int_equal(hs_role_parse("root", &v), VG_ERR_INVAL);
}

static void
test_same_machine(void **state)
{
	(void)state;
	assert_int_equal(hs_same_machine("web01", "[]", "WEB01", "[]"), 1);
	assert_int_equal(hs_same_machine("web01", "[\"52:54:00:12:34:56\"]",
	    "web02", "[\"52:54:00:12:34:56\", \"aa:bb:cc:dd:ee:ff\"]"), 1);
	assert_int_equal(hs_same_machine("web01", "[\"52:54:00:12:34:56\"]",
	    "web02", "[\"52:54:00:12:34:57\"]"), 0);
	/* An all-zero MAC says nothing about the machine. */
	assert_int_equal(hs_same_machine("web01", "[\"00:00:00:00:00:00\"]",
	    "web02", "[\"00:00:00:00:00:00\"]"), 0);
	assert_int_equal(hs_same_machine("web01", "not json", "web02",
	    "[]"), 0);
}

static void
test_postgresql_refused(void **state)
{
	struct hub_store *s = (struct hub_store *)1;

	(void)state;
	assert_int_equal(hub_store_open("postgresql://db/vigil", &s, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_null(s);
	assert_string_equal(err, "PostgreSQL is not supported in this release");
}

/* ---- users and sessions ---- */

static void
test_users(void **state)
{
	struct fixture *f = *state;
	unsigned char tok[32];
	int64_t id, id2;
	json_t *u, *a, *sess;

	OK(OPS(f)->user_create(f->s, "admin", "$argon2id$hash1",
	    HS_ROLE_ADMIN, &id, err, sizeof(err)));
	OK(OPS(f)->user_create(f->s, "viewer", "$argon2id$hash2",
	    HS_ROLE_READONLY, &id2, err, sizeof(err)));
	assert_true(id > 0 && id2 > id);
	assert_int_equal(OPS(f)->user_create(f->s, "admin", "x",
	    HS_ROLE_ADMIN, NULL, err, sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "already taken"));

	OK(OPS(f)->user_get_by_name(f->s, "admin", &u, err, sizeof(err)));
	assert_int_equal(jint(u, "id"), id);
	assert_string_equal(jstr(u, "role"), "admin");
	assert_string_equal(jstr(u, "pwhash"), "$argon2id$hash1");
	assert_true(json_is_false(json_object_get(u, "disabled")));
	assert_true(jint(u, "created") > 0);
	json_decref(u);
	assert_int_equal(OPS(f)->user_get_by_name(f->s, "nobody", &u, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	assert_null(u);

	OK(OPS(f)->user_list(f->s, &a, err, sizeof(err)));
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(jstr(json_array_get(a, 1), "name"), "viewer");
	/* The hash is for the auth module only. */
	assert_null(json_object_get(json_array_get(a, 0), "pwhash"));
	json_decref(a);

	/* Changing the password only. */
	OK(OPS(f)->user_update(f->s, id2, 0, "$argon2id$hash3", -1, err,
	    sizeof(err)));
	OK(OPS(f)->user_get(f->s, id2, &u, err, sizeof(err)));
	assert_string_equal(jstr(u, "pwhash"), "$argon2id$hash3");
	assert_string_equal(jstr(u, "role"), "readonly");
	json_decref(u);
	/* Disabling signs the user out. */
	memset(tok, 7, sizeof(tok));
	OK(OPS(f)->session_create(f->s, tok, id2, "csrf", 1000, 2000,
	    "10.0.0.1", err, sizeof(err)));
	OK(OPS(f)->user_update(f->s, id2, HS_ROLE_ADMIN, NULL, 1, err,
	    sizeof(err)));
	OK(OPS(f)->user_get(f->s, id2, &u, err, sizeof(err)));
	assert_string_equal(jstr(u, "role"), "admin");
	assert_true(json_is_true(json_object_get(u, "disabled")));
	json_decref(u);
	assert_int_equal(OPS(f)->session_get(f->s, tok, &sess, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	assert_int_equal(OPS(f)->user_update(f->s, 999, 0, NULL, 0, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	assert_int_equal(OPS(f)->user_update(f->s, id, 9, NULL, -1, err,
	    sizeof(err)), VG_ERR_INVAL);

	/* Deleting takes the sessions along. */
	OK(OPS(f)->session_create(f->s, tok, id, "csrf", 1000, 2000, NULL,
	    err, sizeof(err)));
	OK(OPS(f)->user_delete(f->s, id, err, sizeof(err)));
	assert_int_equal(OPS(f)->session_get(f->s, tok, &sess, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	assert_int_equal(OPS(f)->user_get(f->s, id, &u, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
	assert_int_equal(OPS(f)->user_delete(f->s, id, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
}

/* 1 when the session of token byte t exists. */
static int
session_exists(struct fixture *f, unsigned char t)
{
	unsigned char tok[32];
	json_t *sess;
	int r;

	memset(tok, t, sizeof(tok));
	r = OPS(f)->session_get(f->s, tok, &sess, err, sizeof(err));
	json_decref(sess);
	if (r != 0 && r != VG_ERR_NOTFOUND)
		fail_msg("session_get: %s", err);
	return r == 0;
}

static void
new_session(struct fixture *f, unsigned char t, int64_t uid)
{
	unsigned char tok[32];

	memset(tok, t, sizeof(tok));
	OK(OPS(f)->session_create(f->s, tok, uid, "csrf", 1000, 2000, NULL,
	    err, sizeof(err)));
}

/* A session was opened with the old password, role or state: a change of
 * any of them ends every session of the user, and only that user's. */
static void
test_user_update_sessions(void **state)
{
	struct fixture *f = *state;
	int64_t id, other;

	OK(OPS(f)->user_create(f->s, "alice", "h1", HS_ROLE_ADMIN, &id, err,
	    sizeof(err)));
	OK(OPS(f)->user_create(f->s, "bob", "h2", HS_ROLE_ADMIN, &other, err,
	    sizeof(err)));
	new_session(f, 1, id);
	new_session(f, 2, id);
	new_session(f, 9, other);
	/* Nothing that matters changes: the sessions stay. */
	OK(OPS(f)->user_update(f->s, id, HS_ROLE_ADMIN, NULL, 0, err,
	    sizeof(err)));
	OK(OPS(f)->user_update(f->s, id, 0, NULL, -1, err, sizeof(err)));
	assert_true(session_exists(f, 1) && session_exists(f, 2));
	/* A new password. */
	OK(OPS(f)->user_update(f->s, id, 0, "h3", -1, err, sizeof(err)));
	assert_false(session_exists(f, 1));
	assert_false(session_exists(f, 2));
	assert_true(session_exists(f, 9));
	/* Another role. */
	new_session(f, 3, id);
	OK(OPS(f)->user_update(f->s, id, HS_ROLE_READONLY, NULL, -1, err,
	    sizeof(err)));
	assert_false(session_exists(f, 3));
	/* Disabled. */
	new_session(f, 4, id);
	OK(OPS(f)->user_update(f->s, id, 0, NULL, 1, err, sizeof(err)));
	assert_false(session_exists(f, 4));
	assert_true(session_exists(f, 9));
	/* An unknown user with a role change is not found. */
	assert_int_equal(OPS(f)->user_update(f->s, 999, HS_ROLE_ADMIN, NULL,
	    -1, err, sizeof(err)), VG_ERR_NOTFOUND);
}

static void
test_sessions(void **state)
{
	struct fixture *f = *state;
	unsigned char t1[32], t2[32], t3[32];
	json_t *o;
	int64_t uid;

	OK(OPS(f)->user_create(f->s, "admin", "h", HS_ROLE_ADMIN, &uid, err,
	    sizeof(err)));
	memset(t1, 1, 32);
	memset(t2, 2, 32);
	memset(t3, 3, 32);
	OK(OPS(f)->session_create(f->s, t1, uid, "c1", 1000, 1000 + 43200,
	    "::1", err, sizeof(err)));
	OK(OPS(f)->session_create(f->s, t2, uid, "c2", 1000, 1500, NULL, err,
	    sizeof(err)));
	OK(OPS(f)->session_create(f->s, t3, uid, "c3", 1000, 1000 + 43200,
	    NULL, err, sizeof(err)));
	assert_int_equal(OPS(f)->session_create(f->s, t1, uid, "c", 1, 2,
	    NULL, err, sizeof(err)), VG_ERR_INVAL);
	assert_int_equal(OPS(f)->session_create(f->s, (unsigned char *)
	    "0123456789abcdef0123456789abcdef", 77, "c", 1, 2, NULL, err,
	    sizeof(err)), VG_ERR_NOTFOUND);

	OK(OPS(f)->session_get(f->s, t1, &o, err, sizeof(err)));
	assert_int_equal(jint(o, "user_id"), uid);
	assert_string_equal(jstr(o, "csrf"), "c1");
	assert_int_equal(jint(o, "created"), 1000);
	assert_int_equal(jint(o, "expires"), 1000 + 43200);
	assert_int_equal(jint(o, "last_used"), 1000);
	json_decref(o);

	OK(OPS(f)->session_touch(f->s, t1, 4000, err, sizeof(err)));
	OK(OPS(f)->session_touch(f->s, t1, 4000, err, sizeof(err)));
	OK(OPS(f)->session_get(f->s, t1, &o, err, sizeof(err)));
	assert_int_equal(jint(o, "last_used"), 4000);
	json_decref(o);

	/* At 5000 with 3600 s idle: t2 expired, t3 idle since 1000, t1
	 * used at 4000 stays. */
	OK(OPS(f)->session_purge(f->s, 5000, 3600, err, sizeof(err)));
	OK(OPS(f)->session_get(f->s, t1, &o, err, sizeof(err)));
	json_decref(o);
	assert_int_equal(OPS(f)->session_get(f->s, t2, &o, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
	assert_int_equal(OPS(f)->session_get(f->s, t3, &o, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
	assert_int_equal(OPS(f)->session_touch(f->s, t2, 6000, err,
	    sizeof(err)), VG_ERR_NOTFOUND);

	OK(OPS(f)->session_delete(f->s, t1, err, sizeof(err)));
	assert_int_equal(OPS(f)->session_delete(f->s, t1, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
}

/* ---- devices ---- */

/* The events of a device of one type. */
static json_t *
device_events(struct fixture *f, int64_t device, int type)
{
	struct hs_event_filter flt;

	memset(&flt, 0, sizeof(flt));
	flt.device_id = device;
	flt.type = type;
	return query(f, &flt);
}

static void
test_register_and_clone(void **state)
{
	struct fixture *f = *state;
	struct hs_register_result res;
	struct reg_opts moved = { 0, 'w', 0, 0, "192.0.2.7" };
	int64_t a, b, c;
	json_t *d, *evs, *auth;
	char hex[65];
	unsigned char cred[32];

	a = reg(f, "web01", "m-1", "[\"52:54:00:00:00:01\"]", &res);
	assert_true(a > 0);
	assert_int_equal(res.created, 1);
	assert_int_equal(res.clone_of, 0);
	evs = device_events(f, a, HS_EV_REGISTERED);
	assert_int_equal(json_array_size(evs), 1);
	assert_string_equal(jstr(json_array_get(evs, 0), "origin"), "hub");
	json_decref(evs);

	/* Same machine id and host name, and the device's credential: the
	 * same device comes back, with an event saying so. */
	assert_int_equal(reg_cred(f, "web01", "m-1",
	    "[\"52:54:00:00:00:01\"]", 'w', &res), a);
	assert_int_equal(res.created, 0);
	assert_int_equal(res.with_credential, 1);
	assert_int_equal(res.clone_of, 0);
	evs = device_events(f, a, HS_EV_REGISTERED);
	assert_int_equal(json_array_size(evs), 2);
	assert_non_null(strstr(jstr(json_array_get(evs, 0), "message"),
	    "registered again from 10.0.0.5 with its credential"));
	json_decref(evs);
	/* A new host name but a MAC in common: still the same machine. */
	assert_int_equal(reg_cred(f, "web01-renamed", "m-1",
	    "[\"52:54:00:00:00:01\"]", 'w', &res), a);
	assert_int_equal(res.created, 0);
	OK(OPS(f)->device_get(f->s, a, &d, err, sizeof(err)));
	assert_string_equal(jstr(d, "hostname"), "web01-renamed");
	assert_int_equal(jint(d, "agent_id"), a);
	assert_true(json_is_null(json_object_get(d, "clone_of")));
	assert_true(json_is_true(json_object_get(d, "online")));
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(d, "ips"), 0)), "10.0.0.5");
	assert_int_equal(jint(d, "poll_period"), 300);
	/* The address the hub saw it register from. */
	assert_string_equal(jstr(d, "peer"), "10.0.0.5");
	json_decref(d);
	/* Registering again from elsewhere: the last address is kept. */
	assert_int_equal(reg_ex(f, "web01-renamed", "m-1",
	    "[\"52:54:00:00:00:01\"]", &moved, &res), a);
	OK(OPS(f)->device_get(f->s, a, &d, err, sizeof(err)));
	assert_string_equal(jstr(d, "peer"), "192.0.2.7");
	json_decref(d);

	/* Same machine id, other host name, disjoint MACs: a clone. */
	b = reg(f, "web02", "m-1", "[\"52:54:00:00:00:02\"]", &res);
	assert_true(b != a);
	assert_int_equal(res.created, 1);
	assert_int_equal(res.clone_of, a);
	OK(OPS(f)->device_get(f->s, b, &d, err, sizeof(err)));
	assert_int_equal(jint(d, "clone_of"), a);
	json_decref(d);
	evs = device_events(f, b, HS_EV_CLONE);
	assert_int_equal(json_array_size(evs), 1);
	assert_non_null(strstr(jstr(json_array_get(evs, 0), "message"),
	    "cloned"));
	json_decref(evs);
	evs = device_events(f, a, HS_EV_CLONE);
	assert_int_equal(json_array_size(evs), 1);
	json_decref(evs);
	/* The clone registering again is recognised as itself. */
	assert_int_equal(reg_cred(f, "web02", "m-1", "[]", 'w', &res), b);
	assert_int_equal(res.created, 0);
	assert_int_equal(res.clone_of, 0);

	/* Another machine id: unrelated. */
	c = reg(f, "db01", "m-2", "[]", &res);
	assert_int_equal(res.clone_of, 0);

	/* The credential is the last registration's. */
	OK(OPS(f)->agent_auth(f->s, c, &auth, err, sizeof(err)));
	memset(cred, 'd', sizeof(cred));
	vg_hex_encode(cred, 32, hex);
	assert_string_equal(jstr(auth, "cred_hash"), hex);
	assert_true(json_is_false(json_object_get(auth, "deleted")));
	json_decref(auth);
	assert_int_equal(OPS(f)->agent_auth(f->s, 999, &auth, err,
	    sizeof(err)), VG_ERR_NOTFOUND);

	assert_int_equal(OPS(f)->device_owned(f->s, a, a), 0);
	assert_int_equal(OPS(f)->device_owned(f->s, a, b), VG_ERR_PERM);
	assert_int_equal(OPS(f)->device_owned(f->s, a, 999), VG_ERR_NOTFOUND);

	/* Deleting a device ends its credential and events. */
	OK(OPS(f)->device_delete(f->s, b, err, sizeof(err)));
	assert_int_equal(OPS(f)->agent_auth(f->s, b, &auth, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	evs = device_events(f, b, 0);
	assert_int_equal(json_array_size(evs), 0);
	json_decref(evs);
	assert_int_equal(OPS(f)->device_delete(f->s, b, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
}

static void
test_device_list(void **state)
{
	struct fixture *f = *state;
	struct hs_device_filter flt;
	int64_t a, b, c, g;
	json_t *l, *d;

	a = reg(f, "web01", "m-1", "[]", NULL);
	b = reg(f, "web02", "m-2", "[]", NULL);
	c = reg(f, "DB01", "m-3", "[]", NULL);
	OK(OPS(f)->group_create(f->s, "web", &g, err, sizeof(err)));
	OK(OPS(f)->group_member(f->s, g, a, 1, err, sizeof(err)));
	OK(OPS(f)->group_member(f->s, g, b, 1, err, sizeof(err)));

	memset(&flt, 0, sizeof(flt));
	flt.limit = 2;
	OK(OPS(f)->device_list(f->s, &flt, &l, err, sizeof(err)));
	assert_int_equal(json_array_size(l), 2);
	assert_int_equal(jint(json_array_get(l, 0), "id"), a);
	d = json_object_get(json_array_get(l, 0), "groups");
	assert_int_equal(json_array_size(d), 1);
	assert_string_equal(jstr(json_array_get(d, 0), "name"), "web");
	/* The column after the groups: the registering address. */
	assert_string_equal(jstr(json_array_get(l, 1), "peer"), "10.0.0.5");
	flt.after_id = jint(json_array_get(l, 1), "id");
	json_decref(l);
	OK(OPS(f)->device_list(f->s, &flt, &l, err, sizeof(err)));
	assert_int_equal(json_array_size(l), 1);
	assert_int_equal(jint(json_array_get(l, 0), "id"), c);
	json_decref(l);

	memset(&flt, 0, sizeof(flt));
	flt.group_id = g;
	OK(OPS(f)->device_list(f->s, &flt, &l, err, sizeof(err)));
	assert_int_equal(json_array_size(l), 2);
	json_decref(l);
	memset(&flt, 0, sizeof(flt));
	flt.text = "db0";
	OK(OPS(f)->device_list(f->s, &flt, &l, err, sizeof(err)));
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
	memset(&flt, 0, sizeof(flt));
	flt.os = "bookworm";
	flt.status = 2;
	OK(OPS(f)->device_list(f->s, &flt, &l, err, sizeof(err)));
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	flt.status = 1;
	OK(OPS(f)->device_list(f->s, &flt, &l, err, sizeof(err)));
	assert_int_equal(json_array_size(l), 3);
	json_decref(l);
}

/* ---- events ---- */

static void
test_events_idempotent(void **state)
{
	struct fixture *f = *state;
	struct batch b, b2;
	int64_t dev, before;
	size_t i;

	dev = reg(f, "web01", "m-1", "[]", NULL);
	before = count_events(f);
	batch_make(&b, dev, 1, 50, "/srv/data/file", ".txt");
	OK(OPS(f)->events_insert(f->s, b.ev, b.n, 1000, b.stored, err,
	    sizeof(err)));
	for (i = 0; i < b.n; i++)
		assert_int_equal(b.stored[i], 1);
	assert_int_equal(count_events(f), before + 50);
	/* The agent did not get the answer and sends it all again. */
	OK(OPS(f)->events_insert(f->s, b.ev, b.n, 1001, b.stored, err,
	    sizeof(err)));
	for (i = 0; i < b.n; i++)
		assert_int_equal(b.stored[i], 2);
	assert_int_equal(count_events(f), before + 50);
	/* Half old, half new. */
	batch_make(&b2, dev, 26, 50, "/srv/data/file", ".txt");
	OK(OPS(f)->events_insert(f->s, b2.ev, b2.n, 1002, b2.stored, err,
	    sizeof(err)));
	for (i = 0; i < b2.n; i++)
		assert_int_equal(b2.stored[i], i < 25 ? 2 : 1);
	assert_int_equal(count_events(f), before + 75);
	batch_free(&b2);

	/* A batch naming a missing device stores nothing. */
	b.ev[10].device_id = 999;
	b.ev[10].seq = 5000;
	assert_int_equal(OPS(f)->events_insert(f->s, b.ev, b.n, 1003,
	    b.stored, err, sizeof(err)), VG_ERR_NOTFOUND);
	for (i = 0; i < b.n; i++)
		assert_int_equal(b.stored[i], 0);
	assert_int_equal(count_events(f), before + 75);
	/* So does a batch with a malformed event. */
	b.ev[10].device_id = dev;
	b.ev[10].change = NULL;
	assert_int_equal(OPS(f)->events_insert(f->s, b.ev, b.n, 1003,
	    b.stored, err, sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "events[10]"));
	b.ev[10].change = &b.ch[10];
	batch_free(&b);
}

/* event_get gives back exactly the attributes that went in. */
static void
check_detail(struct fixture *f, int64_t id, const struct vg_change *c)
{
	json_t *d, *want;

	OK(OPS(f)->event_get(f->s, id, &d, err, sizeof(err)));
	if (c->old != NULL) {
		want = vg_attrs_to_json(c->old);
		assert_true(json_equal(want, json_object_get(d, "old")));
		json_decref(want);
	} else
		assert_true(json_is_null(json_object_get(d, "old")));
	if (c->new != NULL) {
		want = vg_attrs_to_json(c->new);
		if (!json_equal(want, json_object_get(d, "new"))) {
			char *a = json_dumps(want, JSON_SORT_KEYS);
			char *b = json_dumps(json_object_get(d, "new"),
			    JSON_SORT_KEYS);
			fail_msg("new differs:\n%s\n%s", a, b);
		}
		json_decref(want);
	} else
		assert_true(json_is_null(json_object_get(d, "new")));
	json_decref(d);
}

static void
test_event_detail(void **state)
{
	struct fixture *f = *state;
	static const char bad_path[] = "/srv/\xff\xfe/x";
	struct hs_event_in ev[5];
	struct vg_change ch[4];
	unsigned char stored[5];
	struct hs_event_filter flt;
	int64_t dev;
	json_t *a, *d, *e;
	size_t i;

	dev = reg(f, "web01", "m-1", "[]", NULL);
	memset(ev, 0, sizeof(ev));
	memset(ch, 0, sizeof(ch));
	/* 0: changed, same attributes recorded on both sides */
	ch[0].type = VG_CHANGE_CHANGED;
	ch[0].old = file_item("/etc/passwd", 1234, 1700000000000000000LL);
	ch[0].new = file_item("/etc/passwd", 1250, 1700000005000000000LL);
	ch[0].changed = VG_A_SIZE | VG_A_MTIME | VG_A_CTIME | VG_A_HASH;
	ch[0].diff = strdup("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n");
	/* 1: changed, the new side records other attributes (no hash,
	 * a user name gone) */
	ch[1].type = VG_CHANGE_CHANGED;
	ch[1].old = file_item("/etc/shadow", 10, 5);
	ch[1].new = file_item("/etc/shadow", 10, 5);
	ch[1].new->have &= ~(VG_A_HASH | VG_A_SELINUX);
	assert_int_equal(vg_item_set_str(&ch[1].new->user, NULL), 0);
	ch[1].changed = VG_A_USER;
	/* 2: added, a path that is not UTF-8 */
	ch[2].type = VG_CHANGE_ADDED;
	ch[2].new = vg_item_new(VG_KIND_FILE, bad_path, sizeof(bad_path) - 1);
	ch[2].new->have = VG_A_TYPE;
	ch[2].new->ftype = VG_FT_DIR;
	/* 3: removed, a package */
	ch[3].type = VG_CHANGE_REMOVED;
	ch[3].old = vg_item_new(VG_KIND_PACKAGE, "openssl", 7);
	assert_int_equal(vg_item_set_prop(ch[3].old, "version", "3.0.15"), 0);
	for (i = 0; i < 4; i++) {
		ev[i].device_id = dev;
		ev[i].seq = 10 + i;
		ev[i].time_ns = 1764145114123456789LL;
		ev[i].type = (int)ch[i].type;
		ev[i].change = &ch[i];
	}
	ev[4].device_id = dev;
	ev[4].seq = 14;
	ev[4].time_ns = 1764145114000000000LL;
	ev[4].origin = 1;
	ev[4].type = HS_EV_AGENT;
	ev[4].message = "inotify watch limit reached";
	ev[4].path = "/srv";
	OK(OPS(f)->events_insert(f->s, ev, 5, 1764145120, stored, err,
	    sizeof(err)));

	memset(&flt, 0, sizeof(flt));
	flt.device_id = dev;
	flt.before_id = INT64_MAX;
	a = query(f, &flt);
	/* Newest first; the registered event is the oldest. */
	assert_int_equal(json_array_size(a), 6);
	e = json_array_get(a, 0);
	assert_string_equal(jstr(e, "type"), "agent");
	assert_string_equal(jstr(e, "message"), "inotify watch limit reached");
	assert_string_equal(jstr(e, "path"), "/srv");
	assert_true(json_is_null(json_object_get(e, "kind")));
	e = json_array_get(a, 2);
	assert_string_equal(jstr(e, "type"), "added");
	assert_string_equal(jstr(e, "path"), "/srv/\xef\xbf\xbd\xef\xbf\xbd/x");
	assert_string_equal(jstr(e, "path_b64"), "L3Nydi///i94");
	e = json_array_get(a, 4);
	assert_string_equal(jstr(e, "type"), "changed");
	assert_string_equal(jstr(e, "kind"), "file");
	assert_string_equal(jstr(e, "device"), "web01");
	assert_int_equal(jint(e, "device_id"), dev);
	assert_int_equal(jint(e, "seq"), 10);
	assert_int_equal(jint(e, "received"), 1764145120);
	assert_string_equal(jstr(e, "time"), "2025-11-26T08:18:34.123456789Z");
	assert_string_equal(jstr(e, "origin"), "scan");
	assert_string_equal(jstr(e, "state"), "new");
	d = json_object_get(e, "changed");
	assert_int_equal(json_array_size(d), 4);
	assert_string_equal(json_string_value(json_array_get(d, 0)), "size");
	assert_string_equal(json_string_value(json_array_get(d, 3)), "hash");
	assert_null(json_object_get(e, "old"));

	for (i = 0; i < 4; i++)
		check_detail(f, jint(json_array_get(a, 4 - i), "id"), &ch[i]);
	OK(OPS(f)->event_get(f->s, jint(json_array_get(a, 4), "id"), &d, err,
	    sizeof(err)));
	assert_string_equal(jstr(d, "diff"), ch[0].diff);
	assert_true(json_is_false(json_object_get(d, "diff_truncated")));
	assert_true(json_is_null(json_object_get(d, "ack_by")));
	json_decref(d);
	assert_int_equal(OPS(f)->event_get(f->s, 99999, &d, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	json_decref(a);
	for (i = 0; i < 4; i++)
		vg_change_clear(&ch[i]);
}

static void
test_query_filters(void **state)
{
	struct fixture *f = *state;
	struct hs_event_filter flt;
	struct batch b1, b2;
	int64_t d1, d2, g;
	json_t *a;

	d1 = reg(f, "web01", "m-1", "[]", NULL);
	d2 = reg(f, "web02", "m-2", "[]", NULL);
	OK(OPS(f)->group_create(f->s, "g", &g, err, sizeof(err)));
	OK(OPS(f)->group_member(f->s, g, d2, 1, err, sizeof(err)));
	batch_make(&b1, d1, 1, 30, "/srv/a_b/file", ".txt");
	batch_make(&b2, d2, 1, 20, "/srv/a%b/file", ".log");
	OK(OPS(f)->events_insert(f->s, b1.ev, b1.n, 1000, b1.stored, err,
	    sizeof(err)));
	OK(OPS(f)->events_insert(f->s, b2.ev, b2.n, 2000, b2.stored, err,
	    sizeof(err)));

	memset(&flt, 0, sizeof(flt));
	flt.device_id = d1;
	flt.type = HS_EV_CHANGED;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 30);
	json_decref(a);
	memset(&flt, 0, sizeof(flt));
	flt.group_id = g;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 21);   /* + registered */
	json_decref(a);
	/* Text is bytes, not a pattern: "_" and "%" match themselves. */
	memset(&flt, 0, sizeof(flt));
	flt.text = "a_b";
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 30);
	json_decref(a);
	flt.text = "a%b";
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 20);
	json_decref(a);
	/* ASCII letters match without regard to case. */
	flt.text = "SRV/A_B/FILE1";
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 11);
	json_decref(a);
	flt.text = "a_b/FILE1.TXT";
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
	flt.text = "a_c";
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	flt.text = "file1";
	flt.device_id = d1;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 11);   /* 1, 10..19 */
	json_decref(a);
	memset(&flt, 0, sizeof(flt));
	flt.since = 1500;
	flt.type = HS_EV_CHANGED;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 20);
	json_decref(a);
	memset(&flt, 0, sizeof(flt));
	flt.since = 500;
	flt.until = 1500;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 30);
	json_decref(a);
	flt.limit = 7;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 7);
	json_decref(a);
	batch_free(&b1);
	batch_free(&b2);
}

/* Pages by the before cursor while new events keep arriving: every event
 * present at the start is seen exactly once. */
static void
test_query_paging(void **state)
{
	struct fixture *f = *state;
	struct hs_event_filter flt;
	struct batch b;
	int64_t dev, last = INT64_MAX, id, before;
	unsigned char seen[400];
	json_t *a;
	size_t i, total = 0, pages = 0;
	uint64_t seq = 1000;

	dev = reg(f, "web01", "m-1", "[]", NULL);
	batch_make(&b, dev, 1, 300, "/f", "");
	OK(OPS(f)->events_insert(f->s, b.ev, b.n, 1000, b.stored, err,
	    sizeof(err)));
	batch_free(&b);
	memset(seen, 0, sizeof(seen));
	memset(&flt, 0, sizeof(flt));
	flt.device_id = dev;
	flt.type = HS_EV_CHANGED;
	flt.limit = 37;
	before = 0;
	for (;;) {
		flt.before_id = before;
		a = query(f, &flt);
		pages++;
		for (i = 0; i < json_array_size(a); i++) {
			id = jint(json_array_get(a, i), "id");
			assert_true(id < last);
			last = id;
			if (jint(json_array_get(a, i), "seq") < 1000) {
				assert_true(id < (int64_t)sizeof(seen));
				assert_int_equal(seen[id], 0);
				seen[id] = 1;
				total++;
			}
		}
		if (json_array_size(a) < (size_t)flt.limit) {
			json_decref(a);
			break;
		}
		before = jint(json_array_get(a, json_array_size(a) - 1), "id");
		json_decref(a);
		/* Newer events arrive between two pages. */
		batch_make(&b, dev, seq, 5, "/new", "");
		seq += 5;
		OK(OPS(f)->events_insert(f->s, b.ev, b.n, 1001, b.stored, err,
		    sizeof(err)));
		batch_free(&b);
	}
	assert_int_equal(total, 300);
	assert_int_equal(pages, 9);
}

static void
test_ack_accept(void **state)
{
	struct fixture *f = *state;
	struct hs_event_filter flt;
	struct hs_event_in ev[2];
	struct vg_change ch[2];
	unsigned char stored[2];
	int64_t dev, id_changed, id_removed, id_reg;
	sqlite3 *db;
	sqlite3_stmt *q;
	json_t *a, *d;

	dev = reg(f, "web01", "m-1", "[]", NULL);
	memset(ev, 0, sizeof(ev));
	memset(ch, 0, sizeof(ch));
	ch[0].type = VG_CHANGE_CHANGED;
	ch[0].old = file_item("/etc/hosts", 100, 1);
	ch[0].new = file_item("/etc/hosts", 120, 2);
	ch[1].type = VG_CHANGE_REMOVED;
	ch[1].old = file_item("/etc/hosts", 120, 2);
	ev[0].device_id = ev[1].device_id = dev;
	ev[0].seq = 1;
	ev[1].seq = 2;
	ev[0].type = HS_EV_CHANGED;
	ev[1].type = HS_EV_REMOVED;
	ev[0].change = &ch[0];
	ev[1].change = &ch[1];
	OK(OPS(f)->events_insert(f->s, ev, 2, 1000, stored, err,
	    sizeof(err)));
	memset(&flt, 0, sizeof(flt));
	flt.device_id = dev;
	a = query(f, &flt);
	id_removed = jint(json_array_get(a, 0), "id");
	id_changed = jint(json_array_get(a, 1), "id");
	id_reg = jint(json_array_get(a, 2), "id");
	json_decref(a);

	OK(OPS(f)->event_ack(f->s, id_changed, "alice", "expected", 5000, err,
	    sizeof(err)));
	OK(OPS(f)->event_get(f->s, id_changed, &d, err, sizeof(err)));
	assert_string_equal(jstr(d, "state"), "acknowledged");
	assert_string_equal(jstr(d, "ack_by"), "alice");
	assert_int_equal(jint(d, "ack_at"), 5000);
	assert_string_equal(jstr(d, "comment"), "expected");
	json_decref(d);
	assert_int_equal(OPS(f)->event_ack(f->s, 99999, "alice", "", 1, err,
	    sizeof(err)), VG_ERR_NOTFOUND);

	OK(OPS(f)->event_accept(f->s, id_changed, "bob", 6000, err,
	    sizeof(err)));
	OK(OPS(f)->event_get(f->s, id_changed, &d, err, sizeof(err)));
	assert_string_equal(jstr(d, "state"), "accepted");
	assert_string_equal(jstr(d, "accepted_by"), "bob");
	assert_int_equal(jint(d, "accepted_at"), 6000);
	json_decref(d);
	/* Acknowledging later does not undo the acceptance. */
	OK(OPS(f)->event_ack(f->s, id_changed, "carol", "", 7000, err,
	    sizeof(err)));
	OK(OPS(f)->event_get(f->s, id_changed, &d, err, sizeof(err)));
	assert_string_equal(jstr(d, "state"), "accepted");
	json_decref(d);
	assert_int_equal(OPS(f)->event_accept(f->s, id_reg, "bob", 6000, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_int_equal(OPS(f)->event_accept(f->s, 99999, "bob", 6000, err,
	    sizeof(err)), VG_ERR_NOTFOUND);

	/* The hub's baseline holds the accepted state of /etc/hosts ... */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), "
	    "max(event) FROM hub_baseline WHERE device = ?1", -1, &q, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(q, 1, dev);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 1);
	assert_int_equal(sqlite3_column_int64(q, 1), id_changed);
	sqlite3_reset(q);
	/* ... until its removal is accepted. */
	OK(OPS(f)->event_accept(f->s, id_removed, "bob", 6001, err,
	    sizeof(err)));
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	vg_change_clear(&ch[0]);
	vg_change_clear(&ch[1]);
}

static void
test_purge(void **state)
{
	struct fixture *f = *state;
	struct batch b;
	int64_t dev, base;
	int deleted;

	dev = reg(f, "web01", "m-1", "[]", NULL);
	base = count_events(f);   /* the registered event, received now */
	batch_make(&b, dev, 1, 100, "/f", "");
	OK(OPS(f)->events_insert(f->s, b.ev, 40, 1000, b.stored, err,
	    sizeof(err)));
	OK(OPS(f)->events_insert(f->s, b.ev + 40, 60, 2000, b.stored, err,
	    sizeof(err)));
	batch_free(&b);
	OK(OPS(f)->events_purge(f->s, 1500, 25, &deleted, err, sizeof(err)));
	assert_int_equal(deleted, 25);
	OK(OPS(f)->events_purge(f->s, 1500, 25, &deleted, err, sizeof(err)));
	assert_int_equal(deleted, 15);
	OK(OPS(f)->events_purge(f->s, 1500, 25, &deleted, err, sizeof(err)));
	assert_int_equal(deleted, 0);
	assert_int_equal(count_events(f), base + 60);
	OK(OPS(f)->events_purge(f->s, 2001, 1000, &deleted, err,
	    sizeof(err)));
	assert_int_equal(deleted, 60);
	assert_int_equal(count_events(f), base);
}

/* The storage budget: typical file changes (size, mtime, ctime and
 * hash differ; paths of about 50 bytes) cost at most 300 bytes each,
 * indexes included. Counts pages, not time. */
static void
test_bytes_per_event(void **state)
{
	struct fixture *f = *state;
	int64_t dev, before, after;
	struct batch b;
	json_t *st;
	double per;
	int i;

	dev = reg(f, "web01", "m-1", "[]", NULL);
	OK(OPS(f)->stats(f->s, &st, err, sizeof(err)));
	before = jint(st, "db_bytes");
	json_decref(st);
	for (i = 0; i < 20; i++) {
		batch_make(&b, dev, 10000 + (uint64_t)i * 1000, 1000,
		    "/srv/data/projects/dir123/subdir45/file", ".txt");
		OK(OPS(f)->events_insert(f->s, b.ev, b.n, 1000 + i, b.stored,
		    err, sizeof(err)));
		batch_free(&b);
	}
	OK(OPS(f)->stats(f->s, &st, err, sizeof(err)));
	after = jint(st, "db_bytes");
	json_decref(st);
	per = (double)(after - before) / 20000;
	print_message("%.1f bytes per event\n", per);
	assert_true(per <= 300);
}

/* ---- groups and policies ---- */

static void
test_groups_policies(void **state)
{
	struct fixture *f = *state;
	int64_t g1, g2, dev, v;
	json_t *p, *o, *l;

	dev = reg(f, "web01", "m-1", "[]", NULL);
	OK(OPS(f)->group_create(f->s, "web", &g1, err, sizeof(err)));
	OK(OPS(f)->group_create(f->s, "linux", &g2, err, sizeof(err)));
	assert_int_equal(OPS(f)->group_create(f->s, "web", NULL, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_int_equal(OPS(f)->group_rename(f->s, g2, "web", err,
	    sizeof(err)), VG_ERR_INVAL);
	OK(OPS(f)->group_rename(f->s, g2, "servers", err, sizeof(err)));
	assert_int_equal(OPS(f)->group_rename(f->s, 999, "x", err,
	    sizeof(err)), VG_ERR_NOTFOUND);

	/* No policy yet: {} at version 0. */
	OK(OPS(f)->policy_get(f->s, g1, &p, &v, err, sizeof(err)));
	assert_int_equal(v, 0);
	assert_int_equal(json_object_size(p), 0);
	json_decref(p);
	assert_int_equal(OPS(f)->policy_get(f->s, 999, &p, &v, err,
	    sizeof(err)), VG_ERR_NOTFOUND);

	p = json_pack("{s:[s,s], s:s}", "paths", "/etc", "/usr/bin", "hash",
	    "sha256");
	OK(OPS(f)->policy_set(f->s, g1, p, &v, err, sizeof(err)));
	assert_int_equal(v, 1);
	json_object_set_new(p, "realtime", json_true());
	OK(OPS(f)->policy_set(f->s, g1, p, &v, err, sizeof(err)));
	assert_int_equal(v, 2);
	OK(OPS(f)->policy_get(f->s, g1, &o, &v, err, sizeof(err)));
	assert_int_equal(v, 2);
	assert_true(json_equal(o, p));
	json_decref(o);
	assert_int_equal(OPS(f)->policy_set(f->s, 999, p, &v, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	OK(OPS(f)->policy_set(f->s, g2, p, &v, err, sizeof(err)));
	assert_int_equal(v, 1);

	OK(OPS(f)->group_member(f->s, g1, dev, 1, err, sizeof(err)));
	OK(OPS(f)->group_member(f->s, g1, dev, 1, err, sizeof(err)));
	assert_int_equal(OPS(f)->group_member(f->s, g1, 999, 1, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	assert_int_equal(OPS(f)->group_member(f->s, 999, dev, 1, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	OK(OPS(f)->group_get(f->s, g1, &o, err, sizeof(err)));
	assert_string_equal(jstr(o, "name"), "web");
	assert_int_equal(jint(o, "devices"), 1);
	assert_int_equal(jint(o, "policy_version"), 2);
	json_decref(o);

	OK(OPS(f)->device_policies(f->s, dev, &l, err, sizeof(err)));
	assert_int_equal(json_array_size(l), 1);
	o = json_array_get(l, 0);
	assert_int_equal(jint(o, "group_id"), g1);
	assert_string_equal(jstr(o, "group"), "web");
	assert_int_equal(jint(o, "version"), 2);
	assert_true(json_equal(json_object_get(o, "policy"), p));
	json_decref(l);
	OK(OPS(f)->group_member(f->s, g2, dev, 1, err, sizeof(err)));
	OK(OPS(f)->device_policies(f->s, dev, &l, err, sizeof(err)));
	assert_int_equal(json_array_size(l), 2);
	json_decref(l);
	OK(OPS(f)->group_member(f->s, g2, dev, 0, err, sizeof(err)));
	OK(OPS(f)->group_member(f->s, g2, dev, 0, err, sizeof(err)));
	OK(OPS(f)->device_policies(f->s, dev, &l, err, sizeof(err)));
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
	assert_int_equal(OPS(f)->device_policies(f->s, 999, &l, err,
	    sizeof(err)), VG_ERR_NOTFOUND);

	OK(OPS(f)->group_list(f->s, &l, err, sizeof(err)));
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(jstr(json_array_get(l, 1), "name"), "servers");
	json_decref(l);
	/* Deleting the group takes its memberships and policy along. */
	OK(OPS(f)->group_delete(f->s, g1, err, sizeof(err)));
	OK(OPS(f)->device_policies(f->s, dev, &l, err, sizeof(err)));
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	assert_int_equal(OPS(f)->group_get(f->s, g1, &o, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
	assert_int_equal(OPS(f)->group_delete(f->s, g1, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
	json_decref(p);
}

/* ---- online and offline ---- */

static int64_t
device_int(struct fixture *f, int64_t id, const char *k)
{
	json_t *d;
	int64_t v;

	OK(OPS(f)->device_get(f->s, id, &d, err, sizeof(err)));
	v = json_is_boolean(json_object_get(d, k)) ?
	    json_is_true(json_object_get(d, k)) : jint(d, k);
	json_decref(d);
	return v;
}

static size_t
count_type(struct fixture *f, int64_t dev, int type)
{
	json_t *a = device_events(f, dev, type);
	size_t n = json_array_size(a);

	json_decref(a);
	return n;
}

static void
test_online_offline(void **state)
{
	struct fixture *f = *state;
	int64_t dev, dev2, now = time(NULL);
	int count;

	dev = reg(f, "web01", "m-1", "[]", NULL);
	dev2 = reg(f, "web02", "m-2", "[]", NULL);
	OK(OPS(f)->device_touch(f->s, dev, now + 10, err, sizeof(err)));
	/* Buffered, but already visible. */
	assert_int_equal(device_int(f, dev, "last_seen"), now + 10);
	assert_int_equal(OPS(f)->device_touch(f->s, 999, now, err,
	    sizeof(err)), VG_ERR_NOTFOUND);

	/* dev2 last polled at registration: offline after the grace. */
	OK(OPS(f)->devices_mark_offline(f->s, now + 305, 0, 300, 0, &count,
	    err, sizeof(err)));
	assert_int_equal(count, 1);
	assert_int_equal(device_int(f, dev, "online"), 1);
	assert_int_equal(device_int(f, dev2, "online"), 0);
	assert_int_equal(count_type(f, dev2, HS_EV_OFFLINE), 1);
	assert_int_equal(count_type(f, dev, HS_EV_OFFLINE), 0);
	/* Marking again finds nothing new. */
	OK(OPS(f)->devices_mark_offline(f->s, now + 305, 0, 300, 0, &count,
	    err, sizeof(err)));
	assert_int_equal(count, 0);

	/* A poll brings it back with an ONLINE event, at once. */
	OK(OPS(f)->device_touch(f->s, dev2, now + 500, err, sizeof(err)));
	assert_int_equal(device_int(f, dev2, "online"), 1);
	assert_int_equal(count_type(f, dev2, HS_EV_ONLINE), 1);
	OK(OPS(f)->device_touch(f->s, dev2, now + 510, err, sizeof(err)));
	assert_int_equal(count_type(f, dev2, HS_EV_ONLINE), 1);

	/* A poll buffered in memory keeps a device online. */
	OK(OPS(f)->device_touch(f->s, dev, now + 900, err, sizeof(err)));
	OK(OPS(f)->devices_mark_offline(f->s, now + 1100, 0, 300, 0, &count,
	    err, sizeof(err)));
	assert_int_equal(count, 1);   /* dev2 (510), not dev (900) */
	assert_int_equal(device_int(f, dev, "online"), 1);
	assert_int_equal(device_int(f, dev2, "online"), 0);
	assert_int_equal(count_type(f, dev2, HS_EV_OFFLINE), 2);
	OK(OPS(f)->flush(f->s, err, sizeof(err)));
}

/* The credential hash stored for an agent, as hex. */
static void
assert_cred(struct fixture *f, int64_t id, unsigned char byte)
{
	unsigned char cred[32];
	char hex[65];
	json_t *auth;

	OK(OPS(f)->agent_auth(f->s, id, &auth, err, sizeof(err)));
	memset(cred, byte, sizeof(cred));
	vg_hex_encode(cred, 32, hex);
	assert_string_equal(jstr(auth, "cred_hash"), hex);
	json_decref(auth);
}

/*
 * Knowing a machine's id and host name (and the enrolment password) is
 * not enough to take its device over: while the device is alive only its
 * credential gets it back; anyone else gets a new device, a clone, and
 * the device keeps its credential. Once it has missed its polls, its
 * agent is taken to be gone and a registration without the credential
 * gets it back.
 */
static void
test_register_takeover(void **state)
{
	static const char mac[] = "[\"52:54:00:00:00:01\"]";
	struct fixture *f = *state;
	struct hs_register_result res;
	struct reg_opts o = { 'a', 0, 0, 0, NULL };
	int64_t a, x, y, now = time(NULL);
	json_t *evs;

	a = reg_ex(f, "web01", "m-1", mac, &o, &res);
	assert_int_equal(res.created, 1);

	/* Alive, no credential: a clone, and a keeps its credential. */
	o.cred = 'x';
	x = reg_ex(f, "web01", "m-1", mac, &o, &res);
	assert_true(x != a);
	assert_int_equal(res.created, 1);
	assert_int_equal(res.clone_of, a);
	assert_int_equal(res.clone_alive, 1);
	assert_cred(f, a, 'a');
	assert_cred(f, x, 'x');
	assert_int_equal(count_type(f, a, HS_EV_CLONE), 1);
	assert_int_equal(count_type(f, x, HS_EV_CLONE), 1);
	assert_int_equal(count_type(f, a, HS_EV_REGISTERED), 1);
	evs = device_events(f, a, HS_EV_CLONE);
	assert_non_null(strstr(jstr(json_array_get(evs, 0), "message"),
	    "without its credential"));
	json_decref(evs);

	/* A wrong credential is no credential. */
	o.cred = 'y';
	o.old_cred = 'z';
	y = reg_ex(f, "web01", "m-1", mac, &o, &res);
	assert_true(y != a && y != x);
	assert_int_equal(res.clone_of, a);
	assert_cred(f, a, 'a');

	/* The right one gets the device back even though it is alive. */
	o.cred = 'b';
	o.old_cred = 'a';
	assert_int_equal(reg_ex(f, "web01", "m-1", mac, &o, &res), a);
	assert_int_equal(res.created, 0);
	assert_int_equal(res.with_credential, 1);
	assert_cred(f, a, 'b');
	/* The credential of one device does not get another one. */
	o.cred = 'c';
	o.old_cred = 'x';
	assert_int_equal(reg_ex(f, "web01", "m-1", mac, &o, &res), x);
	assert_cred(f, a, 'b');

	/* A poll (buffered in memory) keeps a device alive for its poll
	 * period and the grace. */
	OK(OPS(f)->device_touch(f->s, a, now + 1000, err, sizeof(err)));
	OK(OPS(f)->device_touch(f->s, x, now + 1000, err, sizeof(err)));
	OK(OPS(f)->device_touch(f->s, y, now + 1000, err, sizeof(err)));
	o.cred = 'd';
	o.old_cred = 0;
	o.now = now + 1000 + 300 + REG_GRACE;
	assert_int_equal(reg_ex(f, "web01", "m-1", mac, &o, &res) != a, 1);
	assert_int_equal(res.created, 1);
	assert_cred(f, a, 'b');

	/* Past it, the agent is gone: the first such device comes back
	 * without a credential, with an event that says how. */
	o.cred = 'e';
	o.now = now + 1000 + 300 + REG_GRACE + 1;
	assert_int_equal(reg_ex(f, "web01", "m-1", mac, &o, &res), a);
	assert_int_equal(res.created, 0);
	assert_int_equal(res.with_credential, 0);
	assert_int_equal(res.clone_of, 0);
	assert_cred(f, a, 'e');
	evs = device_events(f, a, HS_EV_REGISTERED);
	assert_int_equal(json_array_size(evs), 3);
	assert_non_null(strstr(jstr(json_array_get(evs, 0), "message"),
	    "registered again from 10.0.0.5 without its credential"));
	json_decref(evs);

	/* A device's own poll period counts, not the default one. */
	o.cred = 'f';
	o.now = 0;
	o.poll_period = 3600;
	a = reg_ex(f, "db01", "m-2", "[]", &o, &res);
	o.cred = 'g';
	o.now = now + 300 + REG_GRACE + 100;
	assert_true(reg_ex(f, "db01", "m-2", "[]", &o, &res) != a);
	assert_int_equal(res.clone_of, a);
	o.cred = 'h';
	o.now = now + 3600 + REG_GRACE + 100;
	assert_int_equal(reg_ex(f, "db01", "m-2", "[]", &o, &res), a);
	OK(OPS(f)->flush(f->s, err, sizeof(err)));
}

/* Rows in the hub's baseline, read beside the store. */
static int
baseline_rows(struct fixture *f)
{
	sqlite3_stmt *q;
	sqlite3 *db;
	int n;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM"
	    " hub_baseline", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

/* Deleting a device: its credential goes first, in a transaction of its
 * own, then its events a chunk per transaction; a failure half-way
 * leaves a device nobody can send for, and deleting again finishes. */
static void
test_device_delete_chunks(void **state)
{
	struct fixture *f = *state;
	struct hs_event_filter flt;
	struct batch b;
	sqlite3 *db;
	json_t *auth, *evs;
	int64_t dev, other, n;
	char *msg = NULL;
	int i;

	dev = reg(f, "web01", "m-1", "[]", NULL);
	other = reg(f, "web02", "m-2", "[]", NULL);
	for (i = 0; i < 5; i++) {
		batch_make(&b, dev, 1 + (uint64_t)i * 1000, 1000, "/f", "");
		OK(OPS(f)->events_insert(f->s, b.ev, b.n, 1000, b.stored, err,
		    sizeof(err)));
		batch_free(&b);
	}
	batch_make(&b, other, 1, 10, "/g", "");
	OK(OPS(f)->events_insert(f->s, b.ev, b.n, 1000, b.stored, err,
	    sizeof(err)));
	batch_free(&b);
	n = count_events(f);
	assert_int_equal(n, 2 + 5000 + 10);
	/* An accepted change puts a row in the hub's baseline. */
	memset(&flt, 0, sizeof(flt));
	flt.device_id = dev;
	flt.type = HS_EV_CHANGED;
	flt.limit = 1;
	evs = query(f, &flt);
	OK(OPS(f)->event_accept(f->s, jint(json_array_get(evs, 0), "id"),
	    "admin", 2000, err, sizeof(err)));
	json_decref(evs);
	assert_int_equal(baseline_rows(f), 1);

	/* The last event refuses to go: what came before it is gone. */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	if (sqlite3_exec(db, "CREATE TRIGGER stuck BEFORE DELETE ON event"
	    " WHEN old.seq = 5000 BEGIN SELECT RAISE(ABORT, 'stuck'); END",
	    NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("trigger: %s", msg);
	assert_true(OPS(f)->device_delete(f->s, dev, err, sizeof(err)) != 0);
	OK(OPS(f)->agent_auth(f->s, dev, &auth, err, sizeof(err)));
	assert_string_equal(jstr(auth, "cred_hash"), "");
	json_decref(auth);
	assert_int_equal(device_int(f, dev, "id"), dev);
	assert_true(count_events(f) < n - 1000);
	assert_true(count_events(f) > 10 + 2);

	/* Deleting again finishes; the other device keeps everything. */
	assert_int_equal(sqlite3_exec(db, "DROP TRIGGER stuck", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	OK(OPS(f)->device_delete(f->s, dev, err, sizeof(err)));
	assert_int_equal(count_events(f), 1 + 10);
	assert_cred(f, other, 'w');
	assert_int_equal(baseline_rows(f), 0);
	assert_int_equal(OPS(f)->device_delete(f->s, dev, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
}

/* Each device is late after its own poll period (the default for one
 * that has none) and the grace, and never sooner than that after the
 * hub started. */
static void
test_offline_per_device(void **state)
{
	struct fixture *f = *state;
	struct reg_opts o = { 0, 0, 0, 60, NULL };
	int64_t fast, slow, dflt, now = time(NULL);
	int count;

	fast = reg_ex(f, "fast", "m-1", "[]", &o, NULL);
	o.poll_period = 3600;
	slow = reg_ex(f, "slow", "m-2", "[]", &o, NULL);
	dflt = reg(f, "dflt", "m-3", "[]", NULL);
	OK(OPS(f)->device_touch(f->s, fast, now, err, sizeof(err)));
	OK(OPS(f)->device_touch(f->s, slow, now, err, sizeof(err)));
	OK(OPS(f)->device_touch(f->s, dflt, now, err, sizeof(err)));
	/* dflt registered with 300 (reg()); make it have none. */
	{
		sqlite3 *db;

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "UPDATE device SET"
		    " poll_period = NULL WHERE hostname = 'dflt'", NULL, NULL,
		    NULL), SQLITE_OK);
		sqlite3_close(db);
	}

	/* 60 + 10 s: only the one that polls every minute is late. */
	OK(OPS(f)->devices_mark_offline(f->s, now + 71, 0, 120, 10, &count,
	    err, sizeof(err)));
	assert_int_equal(count, 1);
	assert_int_equal(device_int(f, fast, "online"), 0);
	assert_int_equal(device_int(f, slow, "online"), 1);
	assert_int_equal(device_int(f, dflt, "online"), 1);
	/* On time to the second is not late. */
	OK(OPS(f)->devices_mark_offline(f->s, now + 130, 0, 120, 10, &count,
	    err, sizeof(err)));
	assert_int_equal(count, 0);
	OK(OPS(f)->devices_mark_offline(f->s, now + 131, 0, 120, 10, &count,
	    err, sizeof(err)));
	assert_int_equal(count, 1);
	assert_int_equal(device_int(f, dflt, "online"), 0);
	assert_int_equal(device_int(f, slow, "online"), 1);
	/* The hub was down until now + 3000: slow is given its period
	 * from then on. */
	OK(OPS(f)->devices_mark_offline(f->s, now + 3700, now + 3000, 120, 10,
	    &count, err, sizeof(err)));
	assert_int_equal(count, 0);
	OK(OPS(f)->devices_mark_offline(f->s, now + 3700, 0, 120, 10,
	    &count, err, sizeof(err)));
	assert_int_equal(count, 1);
	assert_int_equal(device_int(f, slow, "online"), 0);
	assert_int_equal(count_type(f, slow, HS_EV_OFFLINE), 1);
	OK(OPS(f)->flush(f->s, err, sizeof(err)));
}

/* flush() writes last_seen to the database, where a new store (a restart)
 * finds it. */
static void
test_flush_reopen(void **state)
{
	struct fixture *f = *state;
	int64_t dev, now = time(NULL);
	json_t *d;

	dev = reg(f, "web01", "m-1", "[]", NULL);
	OK(OPS(f)->device_touch(f->s, dev, now + 100, err, sizeof(err)));
	OK(OPS(f)->flush(f->s, err, sizeof(err)));
	OK(OPS(f)->device_touch(f->s, dev, now + 200, err, sizeof(err)));
	OK(OPS(f)->audit_add(f->s, "admin", "::1", "user.create", "user 1",
	    NULL, now, err, sizeof(err)));
	OK(OPS(f)->setting_set(f->s, "enrol_user", "agent", err,
	    sizeof(err)));
	/* close() flushes too. */
	hub_store_close(f->s);
	f->s = NULL;
	OK(hub_store_open(f->path, &f->s, err, sizeof(err)));
	OK(OPS(f)->device_get(f->s, dev, &d, err, sizeof(err)));
	assert_int_equal(jint(d, "last_seen"), now + 200);
	assert_string_equal(jstr(d, "name"), "web01");
	json_decref(d);
	OK(OPS(f)->audit_list(f->s, 0, 10, &d, err, sizeof(err)));
	assert_int_equal(json_array_size(d), 1);
	json_decref(d);
	assert_int_equal(count_events(f), 1);
}

/* ---- audit and settings ---- */

static void
test_audit(void **state)
{
	struct fixture *f = *state;
	json_t *detail, *a, *e;
	int i;

	detail = json_pack("{s:s, s:i}", "role", "admin", "n", 3);
	for (i = 0; i < 5; i++)
		OK(OPS(f)->audit_add(f->s, "admin", "10.0.0.1",
		    i == 4 ? "user.create" : "session.create", "user 2",
		    i == 4 ? detail : NULL, 1000 + i, err, sizeof(err)));
	OK(OPS(f)->audit_list(f->s, 0, 3, &a, err, sizeof(err)));
	assert_int_equal(json_array_size(a), 3);
	e = json_array_get(a, 0);
	assert_string_equal(jstr(e, "action"), "user.create");
	assert_string_equal(jstr(e, "user"), "admin");
	assert_string_equal(jstr(e, "peer"), "10.0.0.1");
	assert_string_equal(jstr(e, "target"), "user 2");
	assert_int_equal(jint(e, "time"), 1004);
	assert_true(json_equal(json_object_get(e, "detail"), detail));
	assert_true(json_is_null(json_object_get(json_array_get(a, 1),
	    "detail")));
	i = (int)jint(json_array_get(a, 2), "id");
	json_decref(a);
	OK(OPS(f)->audit_list(f->s, i, 10, &a, err, sizeof(err)));
	assert_int_equal(json_array_size(a), 2);
	assert_int_equal(jint(json_array_get(a, 1), "time"), 1000);
	json_decref(a);
	json_decref(detail);
}

static void
test_settings(void **state)
{
	struct fixture *f = *state;
	char *v;

	assert_int_equal(OPS(f)->setting_get(f->s, "x", &v, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
	assert_null(v);
	OK(OPS(f)->setting_set(f->s, "x", "1", err, sizeof(err)));
	OK(OPS(f)->setting_set(f->s, "x", "two", err, sizeof(err)));
	OK(OPS(f)->setting_get(f->s, "x", &v, err, sizeof(err)));
	assert_string_equal(v, "two");
	free(v);
	OK(OPS(f)->setting_set(f->s, "x", NULL, err, sizeof(err)));
	assert_int_equal(OPS(f)->setting_get(f->s, "x", &v, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
}

/* ---- the database file ---- */


static void
test_file(void **state)
{
	struct fixture *f = *state;
	struct hub_store *s = (struct hub_store *)1;
	char other[160], sql[64];
	int64_t version;
	struct stat st;
	FILE *fp;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(strcmp(OPS(f)->name, "sqlite"), 0);

	/* Not SQLite at all. */
	snprintf(other, sizeof(other), "%s/notes.txt", f->dir);
	fp = fopen(other, "w");
	assert_non_null(fp);
	fputs("these are not the tables you are looking for\n", fp);
	for (int i = 0; i < 200; i++)
		fputs("padding padding padding padding\n", fp);
	fclose(fp);
	assert_int_equal(hub_store_open(other, &s, err, sizeof(err)),
	    VG_ERR_FORMAT);
	assert_null(s);
	assert_non_null(strstr(err, other));
	unlink(other);

	/* SQLite, but somebody else's. */
	snprintf(other, sizeof(other), "%s/other.db", f->dir);
	exec_sql(other, "CREATE TABLE t(x)");
	assert_int_equal(hub_store_open(other, &s, err, sizeof(err)),
	    VG_ERR_FORMAT);
	assert_non_null(strstr(err, other));
	assert_non_null(strstr(err, "not a vigil-hub database"));
	remove_db(other);

	/* Ours, from a newer release. */
	hub_store_close(f->s);
	f->s = NULL;
	version = sql_int(f->path, "PRAGMA user_version");
	assert_true(version >= 2);
	exec_sql(f->path, "PRAGMA user_version = 99");
	assert_int_equal(hub_store_open(f->path, &s, err, sizeof(err)),
	    VG_ERR_VERSION);
	assert_non_null(strstr(err, "newer"));
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld",
	    (long long)version);
	exec_sql(f->path, sql);
	OK(hub_store_open(f->path, &f->s, err, sizeof(err)));

	/* A missing folder. */
	assert_int_equal(hub_store_open("/nonexistent-dir/hub.db", &s, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	assert_non_null(strstr(err, "/nonexistent-dir/hub.db"));
}

/* ---- searches, the rollup and the overview ---- */

static int64_t
page_int(const json_t *page, const char *k)
{
	return jint(page, k);
}

/* A search walks the ids newest first in windows; a budget stops it at
 * the end of a window (0: after the first), and "next" continues it
 * where it stopped. Empty stretches of ids cost nothing, and a device's
 * search follows the device's own events. */
static void
test_query_windows(void **state)
{
	struct fixture *f = *state;
	struct hs_event_filter flt;
	struct batch b;
	json_t *page, *a;
	int64_t d1, d2, next;

	d1 = reg(f, "web01", "m-1", "[]", NULL);
	d2 = reg(f, "web02", "m-2", "[]", NULL);
	batch_make(&b, d1, 1, 10, "/old/f", "");
	OK(OPS(f)->events_insert(f->s, b.ev, b.n, 1000, b.stored, err,
	    sizeof(err)));
	batch_free(&b);
	/* 200,000 ids nobody will have: three windows and more. */
	exec_sql(f->path, "UPDATE sqlite_sequence SET seq = seq + 200000"
	    " WHERE name = 'event'");
	batch_make(&b, d2, 1, 10, "/new/f", "");
	OK(OPS(f)->events_insert(f->s, b.ev, b.n, 2000, b.stored, err,
	    sizeof(err)));
	batch_free(&b);

	/* Without a budget: all there is. */
	memset(&flt, 0, sizeof(flt));
	flt.text = "/OLD/";
	flt.limit = 100;
	flt.budget_ms = HS_NO_BUDGET;
	page = query_page(f, &flt);
	assert_int_equal(json_array_size(json_object_get(page, "events")),
	    10);
	assert_true(json_is_false(json_object_get(page, "partial")));
	assert_true(json_is_null(json_object_get(page, "next")));
	assert_true(json_is_null(json_object_get(page, "searched_to")));
	json_decref(page);

	/* One window: the new events only, so nothing yet. */
	flt.budget_ms = 0;
	page = query_page(f, &flt);
	assert_int_equal(json_array_size(json_object_get(page, "events")), 0);
	assert_true(json_is_true(json_object_get(page, "partial")));
	/* Below the new events, above the old ones. */
	next = page_int(page, "next");
	assert_true(next > 12 && next < 200000);
	assert_int_equal(page_int(page, "searched_to"), 2000);
	json_decref(page);
	/* Keep searching: the next window starts at the old events. */
	flt.before_id = next;
	page = query_page(f, &flt);
	a = json_object_get(page, "events");
	assert_int_equal(json_array_size(a), 10);
	assert_string_equal(jstr(json_array_get(a, 0), "path"), "/old/f10");
	assert_true(json_is_false(json_object_get(page, "partial")));
	assert_true(json_is_null(json_object_get(page, "next")));
	json_decref(page);

	/* A full page: next is its last id, searched_to its receipt. */
	flt.before_id = 0;
	flt.limit = 4;
	flt.budget_ms = HS_NO_BUDGET;
	page = query_page(f, &flt);
	a = json_object_get(page, "events");
	assert_int_equal(json_array_size(a), 4);
	assert_int_equal(page_int(page, "next"), jint(json_array_get(a, 3),
	    "id"));
	assert_int_equal(page_int(page, "searched_to"), 1000);
	assert_true(json_is_false(json_object_get(page, "partial")));
	json_decref(page);

	/* The device's own events, past the empty ids, in one window. */
	memset(&flt, 0, sizeof(flt));
	flt.device_id = d1;
	flt.limit = 100;
	flt.budget_ms = 0;
	page = query_page(f, &flt);
	assert_int_equal(json_array_size(json_object_get(page, "events")),
	    11);
	assert_true(json_is_false(json_object_get(page, "partial")));
	json_decref(page);

	/* Everything, one window at a time. */
	flt.device_id = 0;
	page = query_page(f, &flt);
	assert_int_equal(json_array_size(json_object_get(page, "events")),
	    10);
	assert_true(json_is_true(json_object_get(page, "partial")));
	json_decref(page);
}

/* since and until are exact even where receipt times are out of id
 * order (within the two minutes the store allows for), and with the
 * id windows. */
static void
test_query_times(void **state)
{
	struct fixture *f = *state;
	struct hs_event_filter flt;
	struct batch b;
	json_t *a;
	int64_t dev;

	dev = reg(f, "web01", "m-1", "[]", NULL);
	batch_make(&b, dev, 1, 15, "/f", "");
	OK(OPS(f)->events_insert(f->s, b.ev, 5, 5000, b.stored, err,
	    sizeof(err)));
	/* Received earlier, stored later. */
	OK(OPS(f)->events_insert(f->s, b.ev + 5, 5, 4990, b.stored, err,
	    sizeof(err)));
	exec_sql(f->path, "UPDATE sqlite_sequence SET seq = seq + 100000"
	    " WHERE name = 'event'");
	OK(OPS(f)->events_insert(f->s, b.ev + 10, 5, 5200, b.stored, err,
	    sizeof(err)));
	batch_free(&b);

	memset(&flt, 0, sizeof(flt));
	flt.type = HS_EV_CHANGED;
	flt.since = 4995;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 10);
	json_decref(a);
	flt.since = 0;
	flt.until = 4995;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 5);
	assert_int_equal(jint(json_array_get(a, 0), "received"), 4990);
	json_decref(a);
	flt.since = 4990;
	flt.until = 5001;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 10);
	json_decref(a);
	flt.since = 5100;
	flt.until = 0;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 5);
	assert_int_equal(jint(json_array_get(a, 4), "received"), 5200);
	json_decref(a);
	flt.since = 6000;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
}

/* The state filter: new, acknowledged, accepted. */
static void
test_query_state(void **state)
{
	struct fixture *f = *state;
	struct hs_event_filter flt;
	struct batch b;
	json_t *a;
	int64_t dev, id1, id2;

	dev = reg(f, "web01", "m-1", "[]", NULL);
	batch_make(&b, dev, 1, 5, "/f", "");
	OK(OPS(f)->events_insert(f->s, b.ev, b.n, 1000, b.stored, err,
	    sizeof(err)));
	batch_free(&b);
	memset(&flt, 0, sizeof(flt));
	flt.type = HS_EV_CHANGED;
	a = query(f, &flt);
	id1 = jint(json_array_get(a, 0), "id");
	id2 = jint(json_array_get(a, 1), "id");
	json_decref(a);
	OK(OPS(f)->event_ack(f->s, id1, "alice", "", 1, err, sizeof(err)));
	OK(OPS(f)->event_accept(f->s, id2, "alice", 2, err, sizeof(err)));
	flt.state = HS_STATE_NEW;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 3);
	json_decref(a);
	flt.state = HS_STATE_ACKED;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 1);
	assert_int_equal(jint(json_array_get(a, 0), "id"), id1);
	json_decref(a);
	flt.state = HS_STATE_ACCEPTED;
	a = query(f, &flt);
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(jstr(json_array_get(a, 0), "state"), "accepted");
	json_decref(a);
	flt.state = 9;
	assert_int_equal(OPS(f)->event_query(f->s, &flt, &a, err,
	    sizeof(err)), VG_ERR_INVAL);
}

/* Rows where the rollup and a count of the events differ. */
static int64_t
rollup_mismatch(struct fixture *f)
{
	return sql_int(f->path, "SELECT (SELECT count(*) FROM ("
	    " SELECT received / 3600, device, type, count(*) FROM event"
	    " GROUP BY 1, 2, 3 EXCEPT"
	    " SELECT hour, device, type, n FROM event_rollup)) +"
	    " (SELECT count(*) FROM ("
	    " SELECT hour, device, type, n FROM event_rollup EXCEPT"
	    " SELECT received / 3600, device, type, count(*) FROM event"
	    " GROUP BY 1, 2, 3))");
}

/* The rollup follows inserts (re-sent events not counted twice; the
 * hub's own events too), retention and device deletion, and an older
 * database gets it filled in from its events. */
/* What takes a database of schema 4 back to schema 3. */
static const char undo_schema4[] =
	"DROP TABLE device_config; DROP INDEX device_proxy;"
	" DROP INDEX device_credential;"
	" ALTER TABLE device DROP COLUMN kind;"
	" ALTER TABLE device DROP COLUMN proxy;"
	" ALTER TABLE device DROP COLUMN ptype;"
	" ALTER TABLE device DROP COLUMN host;"
	" ALTER TABLE device DROP COLUMN port;"
	" ALTER TABLE device DROP COLUMN protocol;"
	" ALTER TABLE device DROP COLUMN profile;"
	" ALTER TABLE device DROP COLUMN credential;"
	" ALTER TABLE device DROP COLUMN legacy_ssh;"
	" ALTER TABLE device DROP COLUMN host_key;"
	" ALTER TABLE device DROP COLUMN host_key_state;"
	" ALTER TABLE device DROP COLUMN host_key_offered;"
	" ALTER TABLE device DROP COLUMN last_collect;"
	" ALTER TABLE device DROP COLUMN last_error;"
	" ALTER TABLE device DROP COLUMN last_error_code;"
	" ALTER TABLE device DROP COLUMN config_sha;"
	" ALTER TABLE device DROP COLUMN config_version;"
	" DROP TABLE credential; PRAGMA user_version = 3;";

static void
test_rollup(void **state)
{
	struct fixture *f = *state;
	struct hs_event_in ev[3];
	unsigned char stored[3];
	struct batch b;
	int64_t d1, d2, d3, now = (int64_t)time(NULL);
	int deleted, i, count;

	d1 = reg(f, "web01", "m-1", "[]", NULL);
	d2 = reg(f, "web02", "m-2", "[]", NULL);
	/* The hub's events: registered (above), clone, offline, online. */
	d3 = reg(f, "web03", "m-1", "[]", NULL);
	OK(OPS(f)->device_touch(f->s, d1, now + 1000, err, sizeof(err)));
	OK(OPS(f)->device_touch(f->s, d2, now + 1000, err, sizeof(err)));
	OK(OPS(f)->devices_mark_offline(f->s, now + 1000, now, 300, 60,
	    &count, err, sizeof(err)));
	assert_int_equal(count, 1);
	OK(OPS(f)->device_touch(f->s, d3, now + 1001, err, sizeof(err)));
	assert_int_equal(rollup_mismatch(f), 0);
	assert_int_equal(sql_int(f->path, "SELECT sum(n) FROM event_rollup"
	    " WHERE type IN (10, 11, 13, 14)"), 2 + 1 + 1 + 3);
	OK(OPS(f)->device_delete(f->s, d3, err, sizeof(err)));
	/* Agents' events of several devices and types in one batch. */
	memset(ev, 0, sizeof(ev));
	for (i = 0; i < 3; i++) {
		ev[i].device_id = i == 1 ? d2 : d1;
		ev[i].seq = 90000 + (uint64_t)i;
		ev[i].type = HS_EV_AGENT;
		ev[i].message = "overflow";
	}
	OK(OPS(f)->events_insert(f->s, ev, 3, 45000, stored, err,
	    sizeof(err)));
	assert_int_equal(rollup_mismatch(f), 0);
	assert_int_equal(sql_int(f->path, "SELECT n FROM event_rollup"
	    " WHERE hour = 12 AND device = 1 AND type = 12"), 2);
	for (i = 0; i < 6; i++) {
		batch_make(&b, i % 2 ? d1 : d2, 1 + (uint64_t)i * 100, 50,
		    "/f", "");
		OK(OPS(f)->events_insert(f->s, b.ev, b.n, 36000 + i * 1800,
		    b.stored, err, sizeof(err)));
		/* Sent again: nothing new. */
		OK(OPS(f)->events_insert(f->s, b.ev, b.n, 99999, b.stored,
		    err, sizeof(err)));
		assert_int_equal(b.stored[0], 2);
		batch_free(&b);
	}
	assert_int_equal(rollup_mismatch(f), 0);
	assert_int_equal(count_events(f), 2 + 1 + 3 + 300);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM event_rollup"
	    " WHERE hour = 10"), 2);
	/* Retention, a few at a time, across hours. */
	OK(OPS(f)->events_purge(f->s, 36000 + 3 * 1800, 70, &deleted, err,
	    sizeof(err)));
	assert_int_equal(deleted, 70);
	assert_int_equal(rollup_mismatch(f), 0);
	OK(OPS(f)->events_purge(f->s, 36000 + 3 * 1800, 100, &deleted, err,
	    sizeof(err)));
	assert_int_equal(deleted, 80);
	assert_int_equal(rollup_mismatch(f), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM event_rollup"
	    " WHERE hour = 10"), 0);
	assert_int_equal(count_events(f), 2 + 1 + 3 + 150);
	/* A device and its events. */
	OK(OPS(f)->device_delete(f->s, d1, err, sizeof(err)));
	assert_int_equal(rollup_mismatch(f), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM event_rollup"
	    " WHERE device = 1"), 0);
	assert_int_equal(count_events(f), 1 + 1 + 50);

	/* A database of schema 1: no rollup, no triggers. Opening it
	 * brings it up to date, with the rollup of what it holds. */
	hub_store_close(f->s);
	f->s = NULL;
	exec_sql(f->path, undo_schema4);
	exec_sql(f->path, "DROP TRIGGER event_rollup_remove;"
	    " DROP INDEX event_notice; DROP INDEX event_state;"
	    "DROP TABLE event_rollup; PRAGMA user_version = 1");
	exec_sql(f->path, "INSERT INTO event(device, time_ns, received, type,"
	    " origin) VALUES (2, 0, 50000, 3, 0), (2, 0, 50001, 12, 0)");
	OK(hub_store_open(f->path, &f->s, err, sizeof(err)));
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 4);
	assert_int_equal(rollup_mismatch(f), 0);
	assert_int_equal(count_events(f), 1 + 1 + 50 + 2);
	batch_make(&b, d2, 5000, 3, "/g", "");
	OK(OPS(f)->events_insert(f->s, b.ev, b.n, 50000, b.stored, err,
	    sizeof(err)));
	batch_free(&b);
	assert_int_equal(rollup_mismatch(f), 0);
	assert_int_equal(sql_int(f->path, "SELECT n FROM event_rollup"
	    " WHERE hour = 13 AND type = 3"), 4);
	(void)d2;
}

/* The problem of a device in an overview, or NULL. */
static const json_t *
problem_of(const json_t *dash, int64_t device, const char *type)
{
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(dash, "problems"), i, p)
		if (jint(p, "device_id") == device &&
		    strcmp(jstr(p, "type"), type) == 0)
			return p;
	return NULL;
}

static void
test_dashboard(void **state)
{
	struct fixture *f = *state;
	struct hs_event_in ev;
	struct batch b;
	json_t *dash, *pts, *top, *p;
	int64_t now = (int64_t)time(NULL), hour = now / 3600 * 3600;
	int64_t from = hour - 23 * 3600, d1, d2, d3, d4, clone_ev;
	unsigned char stored;
	const json_t *pr;
	int count;
	size_t i;

	d1 = reg(f, "web01", "m-1", "[]", NULL);
	d2 = reg(f, "web02", "m-2", "[]", NULL);
	d3 = reg(f, "web03", "m-3", "[]", NULL);
	batch_make(&b, d1, 1, 5, "/a", "");
	OK(OPS(f)->events_insert(f->s, b.ev, b.n, now, b.stored, err,
	    sizeof(err)));
	batch_free(&b);
	batch_make(&b, d1, 100, 3, "/b", "");
	for (i = 0; i < b.n; i++)
		b.ev[i].type = HS_EV_ADDED;
	OK(OPS(f)->events_insert(f->s, b.ev, b.n, hour - 2 * 3600, b.stored,
	    err, sizeof(err)));
	batch_free(&b);
	batch_make(&b, d2, 1, 4, "/c", "");
	OK(OPS(f)->events_insert(f->s, b.ev, b.n, hour - 5 * 3600 + 10,
	    b.stored, err, sizeof(err)));
	batch_free(&b);
	/* Before the window: not in it. */
	batch_make(&b, d2, 100, 2, "/d", "");
	for (i = 0; i < b.n; i++)
		b.ev[i].type = HS_EV_REMOVED;
	OK(OPS(f)->events_insert(f->s, b.ev, b.n, from - 1, b.stored, err,
	    sizeof(err)));
	batch_free(&b);
	/* An agent's health event of d3; a clone of d1 (on both). */
	memset(&ev, 0, sizeof(ev));
	ev.device_id = d3;
	ev.seq = 1;
	ev.type = HS_EV_AGENT;
	ev.message = "inotify watch limit reached";
	OK(OPS(f)->events_insert(f->s, &ev, 1, now - 60, &stored, err,
	    sizeof(err)));
	d4 = reg(f, "web04", "m-1", "[]", NULL);
	/* d2 stops polling; the others poll. */
	OK(OPS(f)->device_touch(f->s, d1, now + 10000, err, sizeof(err)));
	OK(OPS(f)->device_touch(f->s, d3, now + 10000, err, sizeof(err)));
	OK(OPS(f)->device_touch(f->s, d4, now + 10000, err, sizeof(err)));
	OK(OPS(f)->devices_mark_offline(f->s, now + 10000, now, 300, 60,
	    &count, err, sizeof(err)));
	assert_int_equal(count, 1);

	OK(OPS(f)->dashboard(f->s, from, 3600, now, &dash, err,
	    sizeof(err)));
	assert_int_equal(jint(json_object_get(dash, "devices"), "total"), 4);
	assert_int_equal(jint(json_object_get(dash, "devices"), "online"), 3);
	assert_int_equal(jint(json_object_get(dash, "devices"), "offline"),
	    1);
	assert_int_equal(jint(json_object_get(dash, "events"), "total"),
	    count_events(f));
	assert_int_equal(jint(json_object_get(dash, "changes"), "bucket"),
	    3600);
	pts = json_object_get(json_object_get(dash, "changes"), "points");
	assert_int_equal(json_array_size(pts), 24);
	assert_int_equal(jint(json_array_get(pts, 0), "t"), from);
	p = json_array_get(pts, 23);
	assert_int_equal(jint(p, "t"), hour);
	assert_int_equal(jint(p, "changed"), 5);
	assert_int_equal(jint(p, "added"), 0);
	assert_int_equal(jint(json_array_get(pts, 21), "added"), 3);
	assert_int_equal(jint(json_array_get(pts, 18), "changed"), 4);
	json_array_foreach(pts, i, p)
		assert_int_equal(jint(p, "removed"), 0);
	top = json_object_get(dash, "top_devices");
	assert_int_equal(json_array_size(top), 2);
	assert_int_equal(jint(json_array_get(top, 0), "id"), d1);
	assert_int_equal(jint(json_array_get(top, 0), "changes"), 8);
	assert_string_equal(jstr(json_array_get(top, 0), "name"), "web01");
	assert_int_equal(jint(json_array_get(top, 1), "changes"), 4);
	assert_int_equal(json_array_size(json_object_get(dash, "latest")),
	    10);
	json_array_foreach(json_object_get(dash, "latest"), i, p)
		assert_non_null(strstr("added removed changed",
		    jstr(p, "type")));
	pr = problem_of(dash, d2, "offline");
	assert_non_null(pr);
	assert_non_null(strstr(jstr(pr, "message"), "no poll since"));
	assert_int_equal(jint(pr, "time"), now + 10000);
	assert_true(jint(pr, "event_id") > 0);
	assert_string_equal(jstr(json_array_get(json_object_get(dash,
	    "problems"), 0), "type"), "offline");
	pr = problem_of(dash, d3, "agent");
	assert_non_null(pr);
	assert_string_equal(jstr(pr, "message"), "inotify watch limit reached");
	assert_int_equal(jint(pr, "time"), now - 60);
	assert_non_null(problem_of(dash, d4, "clone"));
	pr = problem_of(dash, d1, "clone");
	assert_non_null(pr);
	clone_ev = jint(pr, "event_id");
	assert_int_equal(json_array_size(json_object_get(dash, "problems")),
	    4);
	json_decref(dash);

	/* Acknowledged: no longer a problem. */
	OK(OPS(f)->event_ack(f->s, clone_ev, "alice", "known", now, err,
	    sizeof(err)));
	OK(OPS(f)->dashboard(f->s, from, 3600, now, &dash, err,
	    sizeof(err)));
	assert_null(problem_of(dash, d1, "clone"));
	assert_int_equal(json_array_size(json_object_get(dash, "problems")),
	    3);
	json_decref(dash);

	/* Days: the removals of the day before are in a week's window. */
	OK(OPS(f)->dashboard(f->s, now / 86400 * 86400 - 6 * 86400, 86400,
	    now, &dash, err, sizeof(err)));
	pts = json_object_get(json_object_get(dash, "changes"), "points");
	assert_int_equal(json_array_size(pts), 7);
	count = 0;
	json_array_foreach(pts, i, p)
		count += (int)(jint(p, "added") + jint(p, "removed") +
		    jint(p, "changed"));
	assert_int_equal(count, 5 + 3 + 4 + 2);
	json_decref(dash);
	assert_int_equal(OPS(f)->dashboard(f->s, from + 1, 3600, now, &dash,
	    err, sizeof(err)), VG_ERR_INVAL);
}

/* seen_before and seen_after see the polls still buffered in memory. */
static void
test_device_seen(void **state)
{
	struct fixture *f = *state;
	struct hs_device_filter flt;
	int64_t now = (int64_t)time(NULL), a, b;
	json_t *l;
	int pass;

	a = reg(f, "web01", "m-1", "[]", NULL);
	b = reg(f, "web02", "m-2", "[]", NULL);
	OK(OPS(f)->device_touch(f->s, a, now + 1000, err, sizeof(err)));
	for (pass = 0; pass < 2; pass++) {
		memset(&flt, 0, sizeof(flt));
		flt.seen_after = now + 500;
		OK(OPS(f)->device_list(f->s, &flt, &l, err, sizeof(err)));
		assert_int_equal(json_array_size(l), 1);
		assert_int_equal(jint(json_array_get(l, 0), "id"), a);
		json_decref(l);
		flt.seen_after = 0;
		flt.seen_before = now + 500;
		OK(OPS(f)->device_list(f->s, &flt, &l, err, sizeof(err)));
		assert_int_equal(json_array_size(l), 1);
		assert_int_equal(jint(json_array_get(l, 0), "id"), b);
		json_decref(l);
		flt.seen_after = now - 10;
		OK(OPS(f)->device_list(f->s, &flt, &l, err, sizeof(err)));
		assert_int_equal(json_array_size(l), 1);
		json_decref(l);
		OK(OPS(f)->flush(f->s, err, sizeof(err)));
	}
}

/* ---- threads ---- */

struct ingester {
	struct hub_store *s;
	int64_t device;
	int failures;
	char err[256];
};

#define INGEST_BATCHES 20
#define INGEST_BATCH 100

static void *
ingest_run(void *arg)
{
	struct ingester *w = arg;
	struct hs_event_in ev[INGEST_BATCH];
	struct vg_change ch[INGEST_BATCH];
	unsigned char stored[INGEST_BATCH];
	char path[64];
	int b, i, k;
	json_t *a;
	struct hs_event_filter flt;

	for (b = 0; b < INGEST_BATCHES; b++) {
		memset(ev, 0, sizeof(ev));
		memset(ch, 0, sizeof(ch));
		for (i = 0; i < INGEST_BATCH; i++) {
			snprintf(path, sizeof(path), "/t/%d", i);
			ch[i].type = VG_CHANGE_ADDED;
			ch[i].new = vg_item_new(VG_KIND_FILE, path,
			    strlen(path));
			if (ch[i].new == NULL) {
				w->failures++;
				return NULL;
			}
			ch[i].new->have = VG_A_SIZE;
			ch[i].new->size = (uint64_t)i;
			ev[i].device_id = w->device;
			ev[i].seq = (uint64_t)(b * INGEST_BATCH + i + 1);
			ev[i].type = HS_EV_ADDED;
			ev[i].change = &ch[i];
		}
		if (w->s->ops->events_insert(w->s, ev, INGEST_BATCH, 1000,
		    stored, w->err, sizeof(w->err)) != 0)
			w->failures++;
		for (i = 0; i < INGEST_BATCH; i++) {
			if (stored[i] != 1)
				w->failures++;
			vg_change_clear(&ch[i]);
		}
		for (k = 0; k < 5; k++)
			if (w->s->ops->device_touch(w->s, w->device,
			    time(NULL) + b, w->err, sizeof(w->err)) != 0)
				w->failures++;
		memset(&flt, 0, sizeof(flt));
		flt.device_id = w->device;
		flt.limit = 10;
		flt.budget_ms = 150;
		if (w->s->ops->event_query(w->s, &flt, &a, w->err,
		    sizeof(w->err)) != 0)
			w->failures++;
		else
			json_decref(a);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct fixture *f = *state;
	struct ingester w[4];
	pthread_t t[4];
	char host[16], mid[16];
	int i;

	for (i = 0; i < 4; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		snprintf(host, sizeof(host), "host%d", i);
		snprintf(mid, sizeof(mid), "m-%d", i);
		w[i].s = f->s;
		w[i].device = reg(f, host, mid, "[]", NULL);
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, ingest_run, &w[i]),
		    0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (w[i].failures != 0)
			fail_msg("thread %d: %d failures, last: %s", i,
			    w[i].failures, w[i].err);
	}
	assert_int_equal(count_events(f), 4 + 4 * INGEST_BATCHES *
	    INGEST_BATCH);
	OK(OPS(f)->flush(f->s, err, sizeof(err)));
}

/* ---- proxied devices (schema 4) ---- */

/* Schema 3 as released (migrations 1 to 3), frozen: what a database
 * made before proxied devices holds. */
static const char schema3[] =
	"CREATE TABLE user ( id INTEGER PRIMARY KEY AUTOINCREMENT, "
	"name TEXT NOT NULL UNIQUE, pwhash TEXT NOT NULL, role "
	"INTEGER NOT NULL, created INTEGER NOT NULL, disabled INTEGER "
	"NOT NULL DEFAULT 0);"
	"CREATE TABLE session ( token_hash BLOB PRIMARY KEY, user_id "
	"INTEGER NOT NULL REFERENCES user(id) ON DELETE CASCADE, csrf "
	"TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT "
	"NULL, last_used INTEGER NOT NULL, peer TEXT) WITHOUT ROWID;"
	"CREATE INDEX session_user ON session(user_id);"
	"CREATE TABLE device ( id INTEGER PRIMARY KEY AUTOINCREMENT, "
	"agent_id INTEGER, name TEXT NOT NULL, hostname TEXT NOT "
	"NULL, os TEXT NOT NULL DEFAULT '', machine_id TEXT, "
	"agent_version TEXT, ips TEXT NOT NULL DEFAULT '[]', macs "
	"TEXT NOT NULL DEFAULT '[]', poll_period INTEGER, cred_hash "
	"BLOB, created INTEGER NOT NULL, last_seen INTEGER, online "
	"INTEGER NOT NULL DEFAULT 1, clone_of INTEGER, peer TEXT);"
	"CREATE INDEX device_machine ON device(machine_id);"
	"CREATE INDEX device_agent ON device(agent_id);"
	"CREATE TABLE grp ( id INTEGER PRIMARY KEY AUTOINCREMENT, "
	"name TEXT NOT NULL UNIQUE, created INTEGER NOT NULL);"
	"CREATE TABLE grp_device ( grp INTEGER NOT NULL REFERENCES "
	"grp(id) ON DELETE CASCADE, device INTEGER NOT NULL "
	"REFERENCES device(id) ON DELETE CASCADE, PRIMARY KEY (grp, "
	"device)) WITHOUT ROWID;"
	"CREATE INDEX grp_device_device ON grp_device(device);"
	"CREATE TABLE policy ( grp INTEGER PRIMARY KEY REFERENCES "
	"grp(id) ON DELETE CASCADE, doc TEXT NOT NULL, version "
	"INTEGER NOT NULL);"
	"CREATE TABLE event ( id INTEGER PRIMARY KEY AUTOINCREMENT, "
	"device INTEGER NOT NULL REFERENCES device(id) ON DELETE "
	"CASCADE, seq INTEGER, time_ns INTEGER NOT NULL, received "
	"INTEGER NOT NULL, type INTEGER NOT NULL, origin INTEGER NOT "
	"NULL, kind INTEGER, path BLOB, changed INTEGER, old BLOB, "
	"new BLOB, same INTEGER, message TEXT, diff TEXT, "
	"diff_truncated INTEGER, state INTEGER, ack_by TEXT, ack_at "
	"INTEGER, comment TEXT, accepted_by TEXT, accepted_at "
	"INTEGER);"
	"CREATE UNIQUE INDEX event_seq ON event(device, seq);"
	"CREATE INDEX event_device ON event(device);"
	"CREATE INDEX event_received ON event(received);"
	"CREATE TABLE hub_baseline ( device INTEGER NOT NULL "
	"REFERENCES device(id) ON DELETE CASCADE, kind INTEGER NOT "
	"NULL, path BLOB NOT NULL, attrs BLOB NOT NULL, event "
	"INTEGER, accepted_at INTEGER, PRIMARY KEY (device, kind, "
	"path)) WITHOUT ROWID;"
	"CREATE TABLE audit ( id INTEGER PRIMARY KEY, time INTEGER "
	"NOT NULL, user TEXT, peer TEXT, action TEXT NOT NULL, target "
	"TEXT, detail TEXT);"
	"CREATE TABLE setting ( key TEXT PRIMARY KEY, value TEXT NOT "
	"NULL) WITHOUT ROWID;"
	"CREATE TABLE event_rollup ( hour INTEGER NOT NULL, device "
	"INTEGER NOT NULL, type INTEGER NOT NULL, n INTEGER NOT NULL, "
	"PRIMARY KEY (hour, device, type)) WITHOUT ROWID;"
	"INSERT INTO event_rollup(hour, device, type, n) SELECT "
	"received / 3600, device, type, count(*) FROM event GROUP BY "
	"1, 2, 3;"
	"CREATE TRIGGER event_rollup_remove AFTER DELETE ON event "
	"BEGIN UPDATE event_rollup SET n = n - 1 WHERE hour = "
	"old.received / 3600 AND device = old.device AND type = "
	"old.type; DELETE FROM event_rollup WHERE hour = old.received "
	"/ 3600 AND device = old.device AND type = old.type AND n <= "
	"0; END;"
	"CREATE INDEX event_notice ON event(type, device) WHERE type "
	">= 10;"
	"CREATE INDEX event_state ON event(state) WHERE state IS NOT "
	"NULL;"
	"PRAGMA user_version = 3;"
	"PRAGMA application_id = 1447512130;";

/* The "proxied" object of a device (borrowed from d). */
static const json_t *
proxied_of(const json_t *d)
{
	const json_t *p = json_object_get(d, "proxied");

	assert_true(json_is_object(p));
	return p;
}

static int64_t
make_credential(struct fixture *f, const char *name)
{
	static const unsigned char box[] = "sealed, not plaintext";
	int64_t id;

	OK(OPS(f)->credential_create(f->s, name, "netops", box, sizeof(box),
	    1000, &id, err, sizeof(err)));
	return id;
}

/* A network device over SSH on port 22, collected every 60 s. */
static void
proxied_in(struct hs_proxied *in, const char *name, int64_t cred,
    int64_t proxy)
{
	memset(in, 0, sizeof(*in));
	in->name = name;
	in->ptype = HS_PT_NETWORK;
	in->host = "192.0.2.10";
	in->port = 22;
	in->protocol = 1;
	in->profile = "ios";
	in->credential_id = cred;
	in->proxy_id = proxy;
	in->schedule = 60;
	in->legacy_ssh = 0;
}

static int64_t
make_proxied(struct fixture *f, const char *name, int64_t cred,
    int64_t proxy)
{
	struct hs_proxied in;
	int64_t id;

	proxied_in(&in, name, cred, proxy);
	OK(OPS(f)->proxied_create(f->s, &in, 0, &id, err, sizeof(err)));
	return id;
}

/* An update that keeps everything. */
static void
proxied_keep(struct hs_proxied *in)
{
	memset(in, 0, sizeof(*in));
	in->ptype = HS_KEEP;
	in->port = HS_KEEP;
	in->protocol = HS_KEEP;
	in->credential_id = HS_KEEP;
	in->proxy_id = HS_KEEP;
	in->schedule = HS_KEEP;
	in->legacy_ssh = HS_KEEP;
}

static void
test_proxied_migration(void **state)
{
	struct fixture *f = *state;
	struct hub_store *s;
	json_t *d, *a;
	int64_t proxy;

	/* A database of schema 3 with a device and an event in it. */
	hub_store_close(f->s);
	f->s = NULL;
	remove_db(f->path);
	exec_sql(f->path, schema3);
	exec_sql(f->path, "INSERT INTO device(id, agent_id, name, hostname,"
	    " created, last_seen) VALUES(7, 7, 'old', 'old', 100, 100);"
	    "INSERT INTO event(device, seq, time_ns, received, type, origin,"
	    " message) VALUES(7, 1, 1, 100, 12, 0, 'before');"
	    "INSERT INTO event_rollup VALUES(0, 7, 12, 1);");
	if (hub_store_open(f->path, &s, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	f->s = s;
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 4);
	OK(OPS(f)->device_get(f->s, 7, &d, err, sizeof(err)));
	assert_string_equal(jstr(d, "kind"), "agent");
	assert_null(json_object_get(d, "proxied"));
	assert_string_equal(jstr(d, "name"), "old");
	json_decref(d);
	assert_int_equal(count_events(f), 1);
	/* The old device can be a proxy at once. */
	proxy = 7;
	make_proxied(f, "r1", make_credential(f, "c"), proxy);
	assert_int_equal(OPS(f)->device_owned(f->s, 7, 8), 0);
	/* Opened again: nothing to migrate, nothing lost. */
	hub_store_close(f->s);
	if (hub_store_open(f->path, &f->s, err, sizeof(err)) != 0)
		fail_msg("reopen: %s", err);
	OK(OPS(f)->proxied_for_proxy(f->s, 7, &a, err, sizeof(err)));
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
}

static void
test_credentials(void **state)
{
	struct fixture *f = *state;
	static const unsigned char box2[] = { 0, 1, 2, 3, 250 };
	unsigned char *box = NULL;
	size_t boxlen = 0;
	json_t *o, *a;
	int64_t cred, cred2, agent, dev;

	cred = make_credential(f, "core-routers");
	assert_int_equal(OPS(f)->credential_create(f->s, "core-routers", "x",
	    box2, sizeof(box2), 0, &cred2, err, sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "already taken"));
	assert_int_equal(OPS(f)->credential_create(f->s, "empty", "x", NULL,
	    0, 0, &cred2, err, sizeof(err)), VG_ERR_INVAL);
	cred2 = make_credential(f, "switches");

	OK(OPS(f)->credential_get(f->s, cred, &o, &box, &boxlen, err,
	    sizeof(err)));
	assert_string_equal(jstr(o, "name"), "core-routers");
	assert_string_equal(jstr(o, "username"), "netops");
	assert_int_equal(jint(o, "created"), 1000);
	assert_int_equal(jint(o, "devices"), 0);
	assert_null(json_object_get(o, "box"));
	assert_int_equal(boxlen, 22);
	assert_memory_equal(box, "sealed, not plaintext", 22);
	free(box);
	json_decref(o);

	/* A new box and user name, the name kept. */
	OK(OPS(f)->credential_update(f->s, cred, NULL, "admin", box2,
	    sizeof(box2), 2000, err, sizeof(err)));
	OK(OPS(f)->credential_get(f->s, cred, &o, &box, &boxlen, err,
	    sizeof(err)));
	assert_string_equal(jstr(o, "name"), "core-routers");
	assert_string_equal(jstr(o, "username"), "admin");
	assert_int_equal(jint(o, "updated"), 2000);
	assert_int_equal(boxlen, sizeof(box2));
	assert_memory_equal(box, box2, sizeof(box2));
	free(box);
	json_decref(o);
	assert_int_equal(OPS(f)->credential_update(f->s, cred, "switches",
	    NULL, NULL, 0, 0, err, sizeof(err)), VG_ERR_INVAL);
	assert_int_equal(OPS(f)->credential_update(f->s, 999, "x", NULL,
	    NULL, 0, 0, err, sizeof(err)), VG_ERR_NOTFOUND);
	assert_int_equal(OPS(f)->credential_get(f->s, 999, &o, NULL, NULL,
	    err, sizeof(err)), VG_ERR_NOTFOUND);

	/* In use: refused, naming the count. */
	agent = reg(f, "proxy01", "m-p", "[]", NULL);
	dev = make_proxied(f, "r1", cred, agent);
	make_proxied(f, "r2", cred, agent);
	OK(OPS(f)->credential_list(f->s, &a, err, sizeof(err)));
	assert_int_equal(json_array_size(a), 2);
	assert_int_equal(jint(json_array_get(a, 0), "devices"), 2);
	assert_int_equal(jint(json_array_get(a, 1), "devices"), 0);
	json_decref(a);
	assert_int_equal(OPS(f)->credential_delete(f->s, cred, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_string_equal(err, "credential core-routers is used by 2 "
	    "devices");
	OK(OPS(f)->device_delete(f->s, dev, err, sizeof(err)));
	assert_int_equal(OPS(f)->credential_delete(f->s, cred, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_string_equal(err, "credential core-routers is used by 1 "
	    "device");
	OK(OPS(f)->credential_delete(f->s, cred2, err, sizeof(err)));
	assert_int_equal(OPS(f)->credential_delete(f->s, cred2, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	OK(OPS(f)->credential_list(f->s, &a, err, sizeof(err)));
	assert_int_equal(json_array_size(a), 1);
	json_decref(a);
}

static void
test_proxied_devices(void **state)
{
	struct fixture *f = *state;
	struct hs_proxied in;
	json_t *d, *a;
	const json_t *p;
	int64_t cred, agent, agent2, dev, dev2, id;

	cred = make_credential(f, "c");
	agent = reg(f, "proxy01", "m-p", "[]", NULL);
	agent2 = reg(f, "web01", "m-w", "[]", NULL);
	proxied_in(&in, "core-sw1", cred, agent);
	in.legacy_ssh = 1;
	OK(OPS(f)->proxied_create(f->s, &in, 5000, &dev, err, sizeof(err)));

	OK(OPS(f)->device_get(f->s, dev, &d, err, sizeof(err)));
	assert_string_equal(jstr(d, "kind"), "proxied");
	assert_string_equal(jstr(d, "name"), "core-sw1");
	assert_string_equal(jstr(d, "hostname"), "192.0.2.10");
	assert_int_equal(jint(d, "agent_id"), agent);
	assert_int_equal(jint(d, "created"), 5000);
	assert_int_equal(jint(d, "poll_period"), 60);
	assert_true(json_is_false(json_object_get(d, "online")));
	p = proxied_of(d);
	assert_string_equal(jstr(p, "type"), "network");
	assert_string_equal(jstr(p, "host"), "192.0.2.10");
	assert_int_equal(jint(p, "port"), 22);
	assert_string_equal(jstr(p, "protocol"), "ssh");
	assert_string_equal(jstr(p, "profile"), "ios");
	assert_int_equal(jint(p, "credential_id"), cred);
	assert_string_equal(jstr(p, "credential"), "c");
	assert_int_equal(jint(p, "proxy_id"), agent);
	assert_string_equal(jstr(p, "proxy"), "proxy01");
	assert_int_equal(jint(p, "schedule"), 60);
	assert_true(json_is_true(json_object_get(p, "legacy_ssh")));
	assert_true(json_is_null(json_object_get(p, "host_key")));
	assert_string_equal(jstr(p, "host_key_state"), "unknown");
	assert_true(json_is_null(json_object_get(p, "last_collect")));
	assert_true(json_is_null(json_object_get(p, "last_error")));
	assert_int_equal(jint(p, "config_version"), 0);
	json_decref(d);

	/* What is refused. */
	proxied_in(&in, "x", cred, dev);
	assert_int_equal(OPS(f)->proxied_create(f->s, &in, 0, &id, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "is a proxied device"));
	proxied_in(&in, "x", cred, 999);
	assert_int_equal(OPS(f)->proxied_create(f->s, &in, 0, &id, err,
	    sizeof(err)), VG_ERR_INVAL);
	proxied_in(&in, "x", 999, agent);
	assert_int_equal(OPS(f)->proxied_create(f->s, &in, 0, &id, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_string_equal(err, "no credential 999");
	proxied_in(&in, "x", cred, agent);
	in.ptype = HS_PT_LINUX;
	in.protocol = 2;
	assert_int_equal(OPS(f)->proxied_create(f->s, &in, 0, &id, err,
	    sizeof(err)), VG_ERR_INVAL);
	proxied_in(&in, "x", cred, agent);
	in.profile = NULL;
	assert_int_equal(OPS(f)->proxied_create(f->s, &in, 0, &id, err,
	    sizeof(err)), VG_ERR_INVAL);
	proxied_in(&in, "x", cred, agent);
	in.port = 70000;
	assert_int_equal(OPS(f)->proxied_create(f->s, &in, 0, &id, err,
	    sizeof(err)), VG_ERR_INVAL);
	proxied_in(&in, "x", cred, agent);
	in.host = "a b";
	assert_int_equal(OPS(f)->proxied_create(f->s, &in, 0, &id, err,
	    sizeof(err)), VG_ERR_INVAL);

	/* A linux device over SSH needs no profile. */
	proxied_in(&in, "db01", cred, agent);
	in.ptype = HS_PT_LINUX;
	in.profile = NULL;
	OK(OPS(f)->proxied_create(f->s, &in, 0, &dev2, err, sizeof(err)));

	/* Updates: given fields only; agents' devices refused. */
	proxied_keep(&in);
	in.name = "core-sw1b";
	in.schedule = 3600;
	in.legacy_ssh = 0;
	in.proxy_id = agent2;
	OK(OPS(f)->proxied_update(f->s, dev, &in, err, sizeof(err)));
	OK(OPS(f)->device_get(f->s, dev, &d, err, sizeof(err)));
	assert_string_equal(jstr(d, "name"), "core-sw1b");
	assert_int_equal(jint(d, "poll_period"), 3600);
	assert_int_equal(jint(d, "agent_id"), agent2);
	p = proxied_of(d);
	assert_string_equal(jstr(p, "host"), "192.0.2.10");
	assert_string_equal(jstr(p, "profile"), "ios");
	assert_false(json_is_true(json_object_get(p, "legacy_ssh")));
	assert_int_equal(jint(p, "proxy_id"), agent2);
	json_decref(d);
	proxied_keep(&in);
	in.name = "x";
	assert_int_equal(OPS(f)->proxied_update(f->s, agent, &in, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_int_equal(OPS(f)->proxied_update(f->s, 999, &in, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	proxied_keep(&in);
	in.proxy_id = dev2;
	assert_int_equal(OPS(f)->proxied_update(f->s, dev, &in, err,
	    sizeof(err)), VG_ERR_INVAL);

	/* Ownership: the proxy's own device id, as device_owned() takes
	 * an agent's id. */
	assert_int_equal(OPS(f)->device_owned(f->s, agent2, dev), 0);
	assert_int_equal(OPS(f)->device_owned(f->s, agent, dev),
	    VG_ERR_PERM);
	assert_int_equal(OPS(f)->device_owned(f->s, agent, dev2), 0);
	assert_int_equal(OPS(f)->proxied_owned(f->s, agent2, dev), 0);
	assert_int_equal(OPS(f)->proxied_owned(f->s, agent, dev),
	    VG_ERR_PERM);
	assert_int_equal(OPS(f)->proxied_owned(f->s, agent, agent),
	    VG_ERR_PERM);
	assert_int_equal(OPS(f)->proxied_owned(f->s, agent, 999),
	    VG_ERR_NOTFOUND);
	/* A proxied device is no agent: it cannot authenticate. */
	assert_int_equal(OPS(f)->agent_auth(f->s, dev, &d, err, sizeof(err)),
	    VG_ERR_NOTFOUND);

	/* The kind filter. */
	{
		struct hs_device_filter flt;

		memset(&flt, 0, sizeof(flt));
		flt.kind = 1;
		OK(OPS(f)->device_list(f->s, &flt, &a, err, sizeof(err)));
		assert_int_equal(json_array_size(a), 2);
		assert_string_equal(jstr(json_array_get(a, 0), "kind"),
		    "agent");
		json_decref(a);
		flt.kind = 2;
		OK(OPS(f)->device_list(f->s, &flt, &a, err, sizeof(err)));
		assert_int_equal(json_array_size(a), 2);
		assert_int_equal(jint(json_array_get(a, 0), "id"), dev);
		assert_non_null(json_object_get(json_array_get(a, 1),
		    "proxied"));
		json_decref(a);
		flt.kind = 0;
		OK(OPS(f)->device_list(f->s, &flt, &a, err, sizeof(err)));
		assert_int_equal(json_array_size(a), 4);
		json_decref(a);
		flt.kind = 3;
		assert_int_equal(OPS(f)->device_list(f->s, &flt, &a, err,
		    sizeof(err)), VG_ERR_INVAL);
	}
}

static void
test_proxied_for_proxy(void **state)
{
	struct fixture *f = *state;
	struct hs_proxied in;
	json_t *a, *o;
	int64_t cred, agent, agent2, d1, d2, d3;

	cred = make_credential(f, "c");
	agent = reg(f, "proxy01", "m-p", "[]", NULL);
	agent2 = reg(f, "proxy02", "m-q", "[]", NULL);
	d1 = make_proxied(f, "r1", cred, agent);
	d2 = make_proxied(f, "r2", cred, agent2);
	proxied_in(&in, "db1", cred, agent);
	in.ptype = HS_PT_LINUX;
	in.profile = NULL;
	in.port = 2222;
	OK(OPS(f)->proxied_create(f->s, &in, 0, &d3, err, sizeof(err)));

	OK(OPS(f)->proxied_for_proxy(f->s, agent, &a, err, sizeof(err)));
	assert_int_equal(json_array_size(a), 2);
	o = json_array_get(a, 0);
	assert_int_equal(jint(o, "id"), d1);
	assert_string_equal(jstr(o, "name"), "r1");
	assert_string_equal(jstr(o, "type"), "network");
	assert_string_equal(jstr(o, "host"), "192.0.2.10");
	assert_int_equal(jint(o, "port"), 22);
	assert_string_equal(jstr(o, "protocol"), "ssh");
	assert_string_equal(jstr(o, "profile"), "ios");
	assert_int_equal(jint(o, "schedule"), 60);
	assert_true(json_is_false(json_object_get(o, "legacy_ssh")));
	assert_true(json_is_null(json_object_get(o, "host_key")));
	assert_true(json_is_true(json_object_get(o, "collect")));
	assert_true(json_is_null(json_object_get(o, "config_sha256")));
	assert_int_equal(jint(o, "credential_id"), cred);
	assert_int_equal(jint(o, "credential_updated"), 1000);
	o = json_array_get(a, 1);
	assert_int_equal(jint(o, "id"), d3);
	assert_string_equal(jstr(o, "type"), "linux");
	assert_int_equal(jint(o, "port"), 2222);
	assert_true(json_is_null(json_object_get(o, "profile")));
	json_decref(a);

	OK(OPS(f)->proxied_for_proxy(f->s, agent2, &a, err, sizeof(err)));
	assert_int_equal(json_array_size(a), 1);
	assert_int_equal(jint(json_array_get(a, 0), "id"), d2);
	json_decref(a);
	/* A device that proxies nothing gets an empty list. */
	OK(OPS(f)->proxied_for_proxy(f->s, d1, &a, err, sizeof(err)));
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);

	/* A new secret shows in credential_updated. */
	OK(OPS(f)->credential_update(f->s, cred, NULL, NULL,
	    (const unsigned char *)"new", 3, 3000, err, sizeof(err)));
	OK(OPS(f)->proxied_for_proxy(f->s, agent2, &a, err, sizeof(err)));
	assert_int_equal(jint(json_array_get(a, 0), "credential_updated"),
	    3000);
	json_decref(a);
}

/* A result at time t (ok when config is not NULL or sha is given). */
struct res {
	struct hs_result r;
	struct hs_result_out o;
};

static void
res_ok(struct res *x, const char *key, const char *config,
    const char *sha, int64_t t)
{
	memset(x, 0, sizeof(*x));
	x->r.status = 0;
	x->r.time = t;
	x->r.now = t;
	x->r.host_key = key;
	x->r.config = config;
	x->r.config_len = config ? strlen(config) : 0;
	x->r.significant = config;
	x->r.significant_len = x->r.config_len;
	x->r.sha256 = sha;
	x->r.lines = 3;
}

static void
res_error(struct res *x, const char *key, const char *msg, int64_t t)
{
	memset(x, 0, sizeof(*x));
	x->r.status = 1;
	x->r.time = t;
	x->r.now = t;
	x->r.host_key = key;
	x->r.code = "auth";
	x->r.message = msg;
}

static int
send_result(struct fixture *f, int64_t dev, struct res *x)
{
	return OPS(f)->proxied_result(f->s, dev, &x->r, &x->o, err,
	    sizeof(err));
}

/* The event's message (a new reference to the event). */
static json_t *
event_of(struct fixture *f, int64_t id)
{
	json_t *e;

	assert_true(id > 0);
	OK(OPS(f)->event_get(f->s, id, &e, err, sizeof(err)));
	return e;
}

/* The "proxied" object's string k of a device. */
static void
assert_proxied_str(struct fixture *f, int64_t dev, const char *k,
    const char *want)
{
	json_t *d, *v;

	OK(OPS(f)->device_get(f->s, dev, &d, err, sizeof(err)));
	v = json_object_get(proxied_of(d), k);
	if (want == NULL)
		assert_true(json_is_null(v));
	else
		assert_string_equal(json_string_value(v), want);
	json_decref(d);
}

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_C "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"

static void
test_proxied_configs(void **state)
{
	struct fixture *f = *state;
	const char *cfg1 = "hostname r1\ninterface Gi0/1\n description up\n";
	const char *cfg2 = "hostname r1\ninterface Gi0/1\n description down\n";
	struct res x;
	json_t *e, *a, *o;
	int64_t agent, dev, t = 1764000000;
	int count;

	agent = reg(f, "proxy01", "m-p", "[]", NULL);
	dev = make_proxied(f, "r1", make_credential(f, "c"), agent);

	/* The first version is the baseline: stored, no change event. */
	res_ok(&x, "SHA256:key1", cfg1, SHA_A, t);
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.version, 1);
	assert_int_equal(x.o.changed, 1);
	assert_int_equal(x.o.event_id, 0);
	assert_int_equal(x.o.host_key_state, HS_HK_TRUSTED);
	assert_int_equal(count_type(f, dev, HS_EV_CHANGED), 0);
	/* Collected: online, with its event, like a poll. */
	assert_int_equal(device_int(f, dev, "online"), 1);
	assert_int_equal(device_int(f, dev, "last_seen"), t);
	assert_int_equal(count_type(f, dev, HS_EV_ONLINE), 1);
	assert_proxied_str(f, dev, "host_key", "SHA256:key1");
	assert_proxied_str(f, dev, "host_key_state", "trusted");

	/* The same configuration: nothing new. */
	res_ok(&x, "SHA256:key1", NULL, SHA_A, t + 60);
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.version, 1);
	assert_int_equal(x.o.changed, 0);
	assert_int_equal(x.o.event_id, 0);
	assert_int_equal(x.o.config_required, 0);

	/* Another sha256 without its configuration: asked for, nothing
	 * stored. */
	res_ok(&x, "SHA256:key1", NULL, SHA_B, t + 120);
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.config_required, 1);
	assert_int_equal(x.o.changed, 0);
	assert_int_equal(x.o.version, 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
	    "device_config"), 1);
	assert_int_equal(sql_int(f->path, "SELECT last_collect FROM device "
	    "WHERE kind = 1"), t + 60);

	/* With it: version 2 and a change event with the diff. */
	res_ok(&x, "SHA256:key1", cfg2, SHA_B, t + 180);
	x.r.lines = 4;
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.version, 2);
	assert_int_equal(x.o.changed, 1);
	e = event_of(f, x.o.event_id);
	assert_string_equal(jstr(e, "type"), "changed");
	assert_string_equal(jstr(e, "kind"), "devconfig");
	assert_string_equal(jstr(e, "path"), "config");
	assert_int_equal(jint(e, "device_id"), dev);
	assert_non_null(strstr(jstr(e, "diff"), "- description up\n"));
	assert_non_null(strstr(jstr(e, "diff"), "+ description down\n"));
	assert_non_null(strstr(jstr(e, "diff"), "--- version 1\n"));
	o = json_object_get(json_object_get(e, "old"), "props");
	assert_string_equal(jstr(o, "version"), "1");
	assert_string_equal(jstr(o, "sha256"), SHA_A);
	assert_string_equal(jstr(o, "lines"), "3");
	o = json_object_get(json_object_get(e, "new"), "props");
	assert_string_equal(jstr(o, "version"), "2");
	assert_string_equal(jstr(o, "sha256"), SHA_B);
	assert_string_equal(jstr(o, "lines"), "4");
	json_decref(e);
	assert_int_equal(count_type(f, dev, HS_EV_CHANGED), 1);

	/* Upper-case hex is the same digest. */
	res_ok(&x, "SHA256:key1", cfg1, SHA_C, t + 190);
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.version, 3);
	res_ok(&x, "SHA256:key1", NULL,
	    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
	    t + 200);
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.changed, 0);
	res_ok(&x, NULL, NULL, "xyz", t + 200);
	assert_int_equal(send_result(f, dev, &x), VG_ERR_INVAL);

	/* The versions, newest first, and one of them whole. */
	OK(OPS(f)->config_list(f->s, dev, &a, err, sizeof(err)));
	assert_int_equal(json_array_size(a), 3);
	assert_int_equal(jint(json_array_get(a, 0), "version"), 3);
	o = json_array_get(a, 2);
	assert_int_equal(jint(o, "version"), 1);
	assert_int_equal(jint(o, "time"), t);
	assert_string_equal(jstr(o, "sha256"), SHA_A);
	assert_int_equal(jint(o, "lines"), 3);
	assert_int_equal(jint(o, "bytes"), (int64_t)strlen(cfg1));
	json_decref(a);
	OK(OPS(f)->config_get(f->s, dev, 2, &o, err, sizeof(err)));
	assert_int_equal(jint(o, "version"), 2);
	assert_string_equal(jstr(o, "text"), cfg2);
	assert_string_equal(jstr(o, "significant"), cfg2);
	assert_int_equal(jint(o, "lines"), 4);
	json_decref(o);
	assert_int_equal(OPS(f)->config_get(f->s, dev, 9, &o, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	assert_int_equal(OPS(f)->config_list(f->s, 999, &a, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	OK(OPS(f)->config_list(f->s, agent, &a, err, sizeof(err)));
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);

	/* Offline detection by the schedule (60 s), as for polls. */
	OK(OPS(f)->devices_mark_offline(f->s, t + 200 + 60 + 30 + 1, 0, 300,
	    30, &count, err, sizeof(err)));
	assert_int_equal(device_int(f, dev, "online"), 0);
	res_ok(&x, "SHA256:key1", NULL, SHA_C, t + 400);
	OK(send_result(f, dev, &x));
	assert_int_equal(device_int(f, dev, "online"), 1);
	assert_int_equal(count_type(f, dev, HS_EV_ONLINE), 2);

	/* A result for an agent's own device is refused. */
	res_ok(&x, NULL, NULL, NULL, t);
	assert_int_equal(send_result(f, agent, &x), VG_ERR_INVAL);
	assert_int_equal(send_result(f, 999, &x), VG_ERR_NOTFOUND);
}

/* Every event of the device, summaries newest first. */
static json_t *
all_events(struct fixture *f, int64_t dev)
{
	struct hs_event_filter flt;

	memset(&flt, 0, sizeof(flt));
	flt.device_id = dev;
	return query(f, &flt);
}

static void
test_proxied_errors(void **state)
{
	struct fixture *f = *state;
	struct res x;
	json_t *e, *a;
	int64_t agent, dev, t = 1764000000;
	size_t i;

	agent = reg(f, "proxy01", "m-p", "[]", NULL);
	dev = make_proxied(f, "r1", make_credential(f, "c"), agent);
	res_ok(&x, NULL, "a\n", SHA_A, t);
	OK(send_result(f, dev, &x));

	/* An error: said once, however often it repeats. */
	res_error(&x, NULL, "authentication failed", t + 60);
	OK(send_result(f, dev, &x));
	e = event_of(f, x.o.event_id);
	assert_string_equal(jstr(e, "type"), "agent");
	assert_string_equal(jstr(e, "message"),
	    "collection_error: authentication failed");
	json_decref(e);
	assert_proxied_str(f, dev, "last_error", "authentication failed");
	res_error(&x, NULL, "authentication failed", t + 120);
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.event_id, 0);
	assert_int_equal(count_type(f, dev, HS_EV_AGENT), 1);
	/* The same kind of failure with other words is not (a cut-off
	 * device names the last line it saw), but the text is kept. */
	res_error(&x, NULL, "authentication failed for admin", t + 150);
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.event_id, 0);
	assert_int_equal(count_type(f, dev, HS_EV_AGENT), 1);
	assert_proxied_str(f, dev, "last_error",
	    "authentication failed for admin");
	/* Another kind of error is news. */
	res_error(&x, NULL, "connection timed out", t + 180);
	x.r.code = "timeout";
	OK(send_result(f, dev, &x));
	assert_true(x.o.event_id > 0);
	assert_int_equal(count_type(f, dev, HS_EV_AGENT), 2);
	/* No error is ever a poll: last_collect stays the good one. */
	assert_int_equal(sql_int(f->path, "SELECT last_collect FROM device "
	    "WHERE kind = 1"), t);
	/* Working again: said once. */
	res_ok(&x, NULL, NULL, SHA_A, t + 240);
	OK(send_result(f, dev, &x));
	e = event_of(f, x.o.event_id);
	assert_string_equal(jstr(e, "message"),
	    "collection_ok: collection works again");
	json_decref(e);
	assert_proxied_str(f, dev, "last_error", NULL);
	res_ok(&x, NULL, NULL, SHA_A, t + 300);
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.event_id, 0);
	assert_int_equal(count_type(f, dev, HS_EV_AGENT), 3);

	/* The hub's own events take no seq (the proxy numbers a Linux
	 * device's events: a number taken here could make one of those look
	 * re-sent), and the rollup counts them all. */
	a = all_events(f, dev);
	for (i = 0; i < json_array_size(a); i++)
		assert_true(json_is_null(json_object_get(json_array_get(a, i),
		    "seq")));
	assert_true(json_array_size(a) >= 3);
	json_decref(a);
	assert_int_equal(sql_int(f->path, "SELECT coalesce(sum(n), 0) FROM "
	    "event_rollup WHERE device = 2"), sql_int(f->path,
	    "SELECT count(*) FROM event WHERE device = 2"));
	assert_int_equal(dev, 2);
}

static void
test_proxied_host_key(void **state)
{
	struct fixture *f = *state;
	struct hs_proxied in;
	struct res x;
	json_t *e, *a, *o;
	int64_t agent, dev, t = 1764000000;

	agent = reg(f, "proxy01", "m-p", "[]", NULL);
	dev = make_proxied(f, "r1", make_credential(f, "c"), agent);
	/* Trust on first use, even from a failed login. */
	res_error(&x, "SHA256:first", "authentication failed", t);
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.host_key_state, HS_HK_TRUSTED);
	assert_proxied_str(f, dev, "host_key", "SHA256:first");
	res_ok(&x, "SHA256:first", "a\n", SHA_A, t + 10);
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.version, 1);

	/* Another key: alert, result dropped, collection stopped. */
	res_ok(&x, "SHA256:second", "b\n", SHA_B, t + 20);
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.host_key_state, HS_HK_CHANGED);
	assert_int_equal(x.o.changed, 0);
	assert_int_equal(x.o.version, 1);
	e = event_of(f, x.o.event_id);
	assert_string_equal(jstr(e, "message"), "hostkey_changed: host key "
	    "of 192.0.2.10:22 changed from SHA256:first to SHA256:second; "
	    "collection stopped until an administrator trusts the new key");
	json_decref(e);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
	    "device_config"), 1);
	assert_proxied_str(f, dev, "host_key", "SHA256:first");
	assert_proxied_str(f, dev, "host_key_state", "changed");
	assert_proxied_str(f, dev, "host_key_offered", "SHA256:second");
	OK(OPS(f)->proxied_for_proxy(f->s, agent, &a, err, sizeof(err)));
	o = json_array_get(a, 0);
	assert_true(json_is_false(json_object_get(o, "collect")));
	assert_string_equal(jstr(o, "host_key"), "SHA256:first");
	json_decref(a);
	/* The proxy says so again (hostkey_changed): no second alert. */
	memset(&x, 0, sizeof(x));
	x.r.status = 2;
	x.r.host_key = "SHA256:second";
	x.r.now = t + 30;
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.event_id, 0);
	assert_int_equal(x.o.host_key_state, HS_HK_CHANGED);
	/* The error, its end and the alert. */
	assert_int_equal(count_type(f, dev, HS_EV_AGENT), 3);
	x.r.host_key = NULL;
	assert_int_equal(send_result(f, dev, &x), VG_ERR_INVAL);

	/* Trusted by an administrator: collection resumes. */
	OK(OPS(f)->host_key_set(f->s, dev, "trust", err, sizeof(err)));
	assert_proxied_str(f, dev, "host_key", "SHA256:second");
	assert_proxied_str(f, dev, "host_key_state", "trusted");
	assert_proxied_str(f, dev, "host_key_offered", NULL);
	assert_int_equal(OPS(f)->host_key_set(f->s, dev, "trust", err,
	    sizeof(err)), VG_ERR_INVAL);
	res_ok(&x, "SHA256:second", "b\n", SHA_B, t + 40);
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.version, 2);
	assert_true(x.o.event_id > 0);

	/* Forgotten: the next key is trusted on first use. */
	OK(OPS(f)->host_key_set(f->s, dev, "forget", err, sizeof(err)));
	assert_proxied_str(f, dev, "host_key", NULL);
	assert_proxied_str(f, dev, "host_key_state", "unknown");
	res_ok(&x, "SHA256:third", NULL, SHA_B, t + 50);
	OK(send_result(f, dev, &x));
	assert_int_equal(x.o.host_key_state, HS_HK_TRUSTED);
	assert_proxied_str(f, dev, "host_key", "SHA256:third");

	/* Another address forgets the key too; the name alone does not. */
	proxied_keep(&in);
	in.name = "r1-renamed";
	OK(OPS(f)->proxied_update(f->s, dev, &in, err, sizeof(err)));
	assert_proxied_str(f, dev, "host_key", "SHA256:third");
	proxied_keep(&in);
	in.port = 2222;
	OK(OPS(f)->proxied_update(f->s, dev, &in, err, sizeof(err)));
	assert_proxied_str(f, dev, "host_key", NULL);
	assert_proxied_str(f, dev, "host_key_state", "unknown");

	assert_int_equal(OPS(f)->host_key_set(f->s, dev, "drop", err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_int_equal(OPS(f)->host_key_set(f->s, agent, "forget", err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_int_equal(OPS(f)->host_key_set(f->s, 999, "forget", err,
	    sizeof(err)), VG_ERR_NOTFOUND);
}

/* A Windows host over SMB: stored and listed as such, smb for it and
 * it alone, no legacy SSH, and no host key ever kept for it. */
static void
test_proxied_windows(void **state)
{
	struct fixture *f = *state;
	struct hs_proxied in;
	struct res x;
	json_t *d, *a, *o;
	const json_t *p;
	int64_t cred, agent, win, lx, id, t = 1764000000;

	cred = make_credential(f, "c");
	agent = reg(f, "proxy01", "m-p", "[]", NULL);
	proxied_in(&in, "win1", cred, agent);
	in.ptype = HS_PT_WINDOWS;
	in.protocol = 3;
	in.port = 445;
	/* A profile given is not kept: only network devices have one. */
	OK(OPS(f)->proxied_create(f->s, &in, 0, &win, err, sizeof(err)));
	OK(OPS(f)->device_get(f->s, win, &d, err, sizeof(err)));
	assert_string_equal(jstr(d, "kind"), "proxied");
	p = proxied_of(d);
	assert_string_equal(jstr(p, "type"), "windows");
	assert_string_equal(jstr(p, "protocol"), "smb");
	assert_int_equal(jint(p, "port"), 445);
	assert_true(json_is_null(json_object_get(p, "profile")));
	assert_true(json_is_false(json_object_get(p, "legacy_ssh")));
	assert_true(json_is_null(json_object_get(p, "host_key")));
	assert_string_equal(jstr(p, "host_key_state"), "unknown");
	json_decref(d);

	OK(OPS(f)->proxied_for_proxy(f->s, agent, &a, err, sizeof(err)));
	assert_int_equal(json_array_size(a), 1);
	o = json_array_get(a, 0);
	assert_int_equal(jint(o, "id"), win);
	assert_string_equal(jstr(o, "type"), "windows");
	assert_string_equal(jstr(o, "protocol"), "smb");
	assert_true(json_is_null(json_object_get(o, "profile")));
	json_decref(a);

	/* smb is for windows devices, and they have nothing else. */
	proxied_in(&in, "x", cred, agent);
	in.ptype = HS_PT_WINDOWS;
	assert_int_equal(OPS(f)->proxied_create(f->s, &in, 0, &id, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_string_equal(err, "a windows device is collected over SMB, "
	    "and only windows devices are");
	proxied_in(&in, "x", cred, agent);
	in.protocol = 3;
	assert_int_equal(OPS(f)->proxied_create(f->s, &in, 0, &id, err,
	    sizeof(err)), VG_ERR_INVAL);
	proxied_in(&in, "x", cred, agent);
	in.ptype = HS_PT_LINUX;
	in.protocol = 3;
	assert_int_equal(OPS(f)->proxied_create(f->s, &in, 0, &id, err,
	    sizeof(err)), VG_ERR_INVAL);
	proxied_in(&in, "x", cred, agent);
	in.ptype = HS_PT_WINDOWS;
	in.protocol = 3;
	in.legacy_ssh = 1;
	assert_int_equal(OPS(f)->proxied_create(f->s, &in, 0, &id, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "legacy_ssh"));
	proxied_in(&in, "x", cred, agent);
	in.ptype = 4;
	assert_int_equal(OPS(f)->proxied_create(f->s, &in, 0, &id, err,
	    sizeof(err)), VG_ERR_INVAL);
	proxied_keep(&in);
	in.protocol = 1;
	assert_int_equal(OPS(f)->proxied_update(f->s, win, &in, err,
	    sizeof(err)), VG_ERR_INVAL);

	/* A result that names a host key keeps none (SMB has none). */
	res_ok(&x, "SHA256:key1", NULL, NULL, t);
	OK(send_result(f, win, &x));
	assert_int_equal(x.o.host_key_state, HS_HK_UNKNOWN);
	assert_int_equal(x.o.version, 0);
	assert_proxied_str(f, win, "host_key", NULL);
	assert_proxied_str(f, win, "host_key_state", "unknown");
	OK(OPS(f)->device_get(f->s, win, &d, err, sizeof(err)));
	assert_true(json_is_true(json_object_get(d, "online")));
	json_decref(d);

	/* A linux host with a trusted key made a windows one on the same
	 * address and port forgets the key. */
	proxied_in(&in, "lx", cred, agent);
	in.ptype = HS_PT_LINUX;
	in.profile = NULL;
	in.host = "192.0.2.11";
	in.port = 445;
	OK(OPS(f)->proxied_create(f->s, &in, 0, &lx, err, sizeof(err)));
	res_ok(&x, "SHA256:key2", NULL, NULL, t);
	OK(send_result(f, lx, &x));
	assert_proxied_str(f, lx, "host_key", "SHA256:key2");
	proxied_keep(&in);
	in.ptype = HS_PT_WINDOWS;
	in.protocol = 3;
	OK(OPS(f)->proxied_update(f->s, lx, &in, err, sizeof(err)));
	assert_proxied_str(f, lx, "type", "windows");
	assert_proxied_str(f, lx, "protocol", "smb");
	assert_proxied_str(f, lx, "host_key", NULL);
	assert_proxied_str(f, lx, "host_key_state", "unknown");
	/* And back: ssh again, a linux device. */
	proxied_keep(&in);
	in.ptype = HS_PT_LINUX;
	in.protocol = 1;
	in.port = 22;
	OK(OPS(f)->proxied_update(f->s, lx, &in, err, sizeof(err)));
	assert_proxied_str(f, lx, "type", "linux");
	assert_proxied_str(f, lx, "protocol", "ssh");
}

static void
test_proxied_delete(void **state)
{
	struct fixture *f = *state;
	struct res x;
	int64_t agent, dev, dev2, cred;

	cred = make_credential(f, "c");
	agent = reg(f, "proxy01", "m-p", "[]", NULL);
	dev = make_proxied(f, "r1", cred, agent);
	dev2 = make_proxied(f, "r2", cred, agent);
	res_ok(&x, NULL, "a\n", SHA_A, 1764000000);
	OK(send_result(f, dev, &x));
	res_ok(&x, NULL, "b\n", SHA_B, 1764000060);
	OK(send_result(f, dev, &x));

	/* A proxy with devices to collect stays. */
	assert_int_equal(OPS(f)->device_delete(f->s, agent, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "proxy of 2 proxied devices"));
	assert_int_equal(device_int(f, agent, "id"), agent);

	/* A proxied device goes with its versions and events. */
	OK(OPS(f)->device_delete(f->s, dev, err, sizeof(err)));
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM "
	    "device_config"), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM event "
	    "WHERE device = 2"), 0);
	assert_int_equal(dev, 2);
	OK(OPS(f)->device_delete(f->s, dev2, err, sizeof(err)));
	OK(OPS(f)->device_delete(f->s, agent, err, sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_same_machine),
		cmocka_unit_test(test_postgresql_refused),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_update_sessions,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_register_takeover, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_device_delete_chunks,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_per_device, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_register_and_clone,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_list, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_events_idempotent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_event_detail, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_filters, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_paging, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ack_accept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bytes_per_event, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_groups_policies, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_online_offline, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flush_reopen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_windows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_times, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_state, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rollup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dashboard, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_device_seen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_proxied_migration, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_credentials, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_proxied_devices, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_proxied_for_proxy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_proxied_configs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_proxied_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_proxied_host_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_proxied_windows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_proxied_delete, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
