/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of agent/proxied_windows (and the per-device store it
 * shares with Linux hosts, agent/proxied_store): a fake Windows host
 * stands in for proxy_win_collect() and a fake hub takes the events.
 * Checks: the first collection is a silent baseline; added, changed and
 * removed keys, values and files give exactly their events, with old
 * and new data, once; what is below an unread key stays in the baseline
 * and its problem is said once; a batch the hub did not take is sent
 * again with the same ids before anything new; policy widening and
 * narrowing are silent; the policy's options reach the collector; a
 * host that cannot be collected gives its result code; a database of
 * another collector starts a new baseline without reusing event ids.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "proxied_store.h"
#include "proxied_windows.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_item.h"

#define DEV_ID 7

/* ---- the fake host ---- */

struct list {
	struct vg_item **v;
	size_t n;
};

struct host {
	struct list keys, values, files;
	char *unread[4];
	char *problems[4];
	int fail;                     /* a VG_ERR_* to fail with, or 0 */
	int calls;
	/* the options of the last call */
	unsigned int depth;
	size_t nkeys, nfiles, ninclude, nexclude;
	char first_key[128];
	enum vg_hash_alg hash;
	uint64_t max_hash_size;
};

static int
item_cmp(const void *a, const void *b)
{
	return vg_item_path_cmp(*(struct vg_item *const *)a,
	    *(struct vg_item *const *)b);
}

static struct list *
list_of(struct host *h, enum vg_item_kind kind)
{
	return kind == VG_KIND_REGKEY ? &h->keys : kind == VG_KIND_REGVALUE ?
	    &h->values : &h->files;
}

static void
host_del(struct host *h, enum vg_item_kind kind, const char *path)
{
	struct list *l = list_of(h, kind);
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i]->path, path) == 0) {
			vg_item_free(l->v[i]);
			memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) *
			    sizeof(*l->v));
			l->n--;
			return;
		}
	fail_msg("no %s on the fake host", path);
}

static void
host_put(struct host *h, struct vg_item *it)
{
	struct list *l = list_of(h, it->kind);
	size_t i;

	assert_non_null(it);
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i]->path, it->path) == 0) {
			vg_item_free(l->v[i]);
			l->v[i] = it;
			return;
		}
	assert_non_null(l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v)));
	l->v[l->n++] = it;
	qsort(l->v, l->n, sizeof(*l->v), item_cmp);
}

static void
key(struct host *h, const char *path, const char *sddl)
{
	struct vg_item *it = vg_item_new(VG_KIND_REGKEY, path, strlen(path));

	assert_non_null(it);
	assert_int_equal(vg_item_set_prop(it, "security", sddl), 0);
	it->have = VG_A_PROPS;
	host_put(h, it);
}

static void
value(struct host *h, const char *path, const char *type, const char *data)
{
	struct vg_item *it = vg_item_new(VG_KIND_REGVALUE, path,
	    strlen(path));

	assert_non_null(it);
	assert_int_equal(vg_item_set_prop(it, "type", type), 0);
	assert_int_equal(vg_item_set_prop(it, "data", data), 0);
	it->have = VG_A_PROPS;
	host_put(h, it);
}

static void
file(struct host *h, const char *path, uint64_t size, unsigned char fill)
{
	struct vg_item *it = vg_item_new(VG_KIND_FILE, path, strlen(path));

	assert_non_null(it);
	it->ftype = VG_FT_REG;
	it->size = size;
	it->mtime_ns = 1700000000000000000LL + (int64_t)size;
	it->ctime_ns = it->mtime_ns;
	it->hash_alg = VG_HASH_SHA256;
	it->hash_state = VG_HS_OK;
	memset(it->hash, fill, vg_hash_len(VG_HASH_SHA256));
	assert_int_equal(vg_item_set_prop(it, "attributes", "A"), 0);
	it->have = VG_A_TYPE | VG_A_SIZE | VG_A_MTIME | VG_A_CTIME |
	    VG_A_HASH | VG_A_PROPS;
	host_put(h, it);
}

static void
host_free(struct host *h)
{
	struct list *l[] = { &h->keys, &h->values, &h->files };
	size_t i, k;

	for (k = 0; k < 3; k++) {
		for (i = 0; i < l[k]->n; i++)
			vg_item_free(l[k]->v[i]);
		free(l[k]->v);
	}
	for (i = 0; i < 4; i++) {
		free(h->unread[i]);
		free(h->problems[i]);
	}
}

/* Whether the walk o asks for reaches path: at or under one of the
 * named keys or files (enough for these tests). */
static int
asked(char *const *roots, size_t n, const char *path)
{
	size_t i, len;

	for (i = 0; i < n; i++) {
		len = strlen(roots[i]);
		if (strncmp(path, roots[i], len) == 0 && (path[len] == '\0' ||
		    path[len] == '\\' || roots[i][len - 1] == '\\'))
			return 1;
	}
	return 0;
}

static void
copy_list(const struct list *l, char *const *roots, size_t nroots,
    struct vg_item ***out, size_t *n)
{
	size_t i;

	assert_non_null(*out = calloc(l->n + 1, sizeof(**out)));
	*n = 0;
	for (i = 0; i < l->n; i++)
		if (asked(roots, nroots, l->v[i]->path))
			assert_non_null((*out)[(*n)++] =
			    vg_item_dup(l->v[i]));
}

static char **
copy_strs(char *const *v, size_t *n)
{
	char **c = calloc(5, sizeof(*c));
	size_t i;

	assert_non_null(c);
	for (i = 0, *n = 0; i < 4 && v[i] != NULL; i++)
		assert_non_null(c[(*n)++] = strdup(v[i]));
	return c;
}

static int
fake_source(void *arg, const struct proxy_target *t,
    const struct proxy_credentials *cred, const struct proxy_win_opts *o,
    unsigned int timeout_ms, struct proxy_win_result **out, char *err,
    size_t errlen)
{
	struct host *h = arg;
	struct proxy_win_result *r;

	assert_string_equal(t->host, "win1.example");
	assert_string_equal(cred->username, "EXAMPLE\\audit");
	assert_true(timeout_ms > 0);
	h->calls++;
	h->depth = o->depth;
	h->nkeys = o->nkeys;
	h->nfiles = o->nfiles;
	h->ninclude = o->ninclude;
	h->nexclude = o->nexclude;
	h->hash = o->hash;
	h->max_hash_size = o->max_hash_size;
	snprintf(h->first_key, sizeof(h->first_key), "%s", o->nkeys > 0 ?
	    o->keys[0] : "");
	if (h->fail != 0) {
		snprintf(err, errlen, "win1.example:445: logon failure");
		return h->fail;
	}
	assert_non_null(r = calloc(1, sizeof(*r)));
	copy_list(&h->keys, o->keys, o->nkeys, &r->keys, &r->nkeys);
	copy_list(&h->values, o->keys, o->nkeys, &r->values, &r->nvalues);
	copy_list(&h->files, o->files, o->nfiles, &r->files, &r->nfiles);
	r->unread = copy_strs(h->unread, &r->nunread);
	r->problems = copy_strs(h->problems, &r->nproblems);
	*out = r;
	return 0;
}

/* ---- the fake hub ---- */

struct hub {
	json_t *events;               /* every event received, in order */
	int ack;                      /* acknowledge what it gets */
	int down;                     /* refuse the request */
	int bogus;                    /* acknowledge ids it was not sent */
};

static int
fake_send(void *arg, int64_t device_id, const json_t *events,
    int64_t **acked, size_t *nacked, char *err, size_t errlen)
{
	struct hub *hub = arg;
	const json_t *ev;
	size_t i;

	assert_int_equal(device_id, DEV_ID);
	*acked = NULL;
	*nacked = 0;
	if (hub->down) {
		snprintf(err, errlen, "hub away");
		return VG_ERR_IO;
	}
	assert_non_null(*acked = calloc(json_array_size(events) + 1,
	    sizeof(**acked)));
	json_array_foreach(events, i, ev) {
		assert_int_equal(json_array_append(hub->events, (json_t *)ev),
		    0);
		if (hub->bogus)
			(*acked)[(*nacked)++] = 999999;
		else if (hub->ack)
			(*acked)[(*nacked)++] = json_integer_value(
			    json_object_get(ev, "id"));
	}
	return 0;
}

/* ---- the fixture ---- */

struct fx {
	char dir[64];
	struct host host;
	struct hub hub;
	json_t *policy;
	size_t seen;                  /* events before the last collection */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vg-pxwin-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	f->hub.events = json_array();
	f->hub.ack = 1;
	f->policy = json_pack("{s:[s], s:[s], s:i}", "registry",
	    "HKLM\\SOFTWARE\\Test", "windows_files", "C:\\app", "schedule",
	    60);
	*state = f;
	return f->hub.events != NULL && f->policy != NULL ? 0 : -1;
}

static int
remove_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	nftw(f->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	host_free(&f->host);
	json_decref(f->hub.events);
	json_decref(f->policy);
	free(f);
	return 0;
}

/* One collection of the device: its return, *code and err. */
static int
collect_code(struct fx *f, const char **code, char *err, size_t errlen)
{
	struct proxy_target t = { .host = "win1.example", .port = 445,
		.protocol = PROXY_PROTO_SMB };
	struct proxy_credentials cred = { .username = "EXAMPLE\\audit",
		.password = "s3cret-pw" };
	json_t *dev;
	int r;

	f->seen = json_array_size(f->hub.events);
	assert_non_null(dev = json_pack("{s:i, s:s, s:O}", "id", DEV_ID,
	    "type", "windows", "policy", f->policy));
	r = apw_collect_from(f->dir, fake_send, &f->hub, fake_source,
	    &f->host, dev, &t, &cred, 30000, code, err, errlen);
	json_decref(dev);
	return r;
}

static void
collect(struct fx *f)
{
	const char *code = NULL;
	char err[512];
	int r = collect_code(f, &code, err, sizeof(err));

	if (r != 0)
		fail_msg("collection failed: %s: %s", code, err);
}

/* The events of the last collection. */
static size_t
fresh(const struct fx *f)
{
	return json_array_size(f->hub.events) - f->seen;
}

static const json_t *
fresh_event(const struct fx *f, size_t i)
{
	return json_array_get(f->hub.events, f->seen + i);
}

/* How many of the last collection's events are the change type of
 * path (type NULL: any change of it). */
static size_t
changes(const struct fx *f, const char *type, const char *path)
{
	const json_t *c;
	size_t i, n = 0;

	for (i = 0; i < fresh(f); i++) {
		c = json_object_get(fresh_event(f, i), "change");
		if (c != NULL && strcmp(json_string_value(json_object_get(c,
		    "path")), path) == 0 && (type == NULL ||
		    strcmp(json_string_value(json_object_get(c, "change")),
		    type) == 0))
			n++;
	}
	return n;
}

static const json_t *
change_of(const struct fx *f, const char *path)
{
	const json_t *c;
	size_t i;

	for (i = 0; i < fresh(f); i++) {
		c = json_object_get(fresh_event(f, i), "change");
		if (c != NULL && strcmp(json_string_value(json_object_get(c,
		    "path")), path) == 0)
			return c;
	}
	fail_msg("no change of %s", path);
	return NULL;
}

static size_t
agent_events(const struct fx *f, const char *code)
{
	const json_t *a;
	size_t i, n = 0;

	for (i = 0; i < fresh(f); i++) {
		a = json_object_get(fresh_event(f, i), "agent");
		if (a != NULL && strcmp(json_string_value(json_object_get(a,
		    "code")), code) == 0)
			n++;
	}
	return n;
}

static const char *
prop(const json_t *change, const char *side, const char *name)
{
	return json_string_value(json_object_get(json_object_get(
	    json_object_get(change, side), "props"), name));
}

#define K "HKLM\\SOFTWARE\\Test"
#define SD "O:BAG:SYD:(A;;KA;;;BA)"

/* The host every test starts from. */
static void
seed(struct fx *f)
{
	key(&f->host, K, SD);
	key(&f->host, K "\\Sub", SD);
	key(&f->host, K "\\Old", SD);
	value(&f->host, K "\\", "REG_SZ", "default");
	value(&f->host, K "\\Name", "REG_SZ", "one");
	value(&f->host, K "\\Count", "REG_DWORD", "7");
	value(&f->host, K "\\Old\\Gone", "REG_BINARY", "00ff");
	value(&f->host, K "\\Sub\\Keep", "REG_MULTI_SZ", "a\nb");
	file(&f->host, "C:\\app", 0, 0);
	file(&f->host, "C:\\app\\app.ini", 10, 1);
	file(&f->host, "C:\\app\\keep.dll", 20, 2);
}

/* ---- tests ---- */

static void
test_baseline_silent(void **state)
{
	struct fx *f = *state;
	size_t i;

	seed(f);
	collect(f);
	assert_int_equal(f->host.calls, 1);
	assert_int_equal(fresh(f), 1);
	assert_int_equal(agent_events(f, "baseline"), 1);
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(fresh_event(f, 0), "agent"), "message")),
	    "3 registry keys, 5 registry values and 3 files"));
	for (i = 0; i < fresh(f); i++)
		assert_null(json_object_get(fresh_event(f, i), "change"));
	/* nothing changed: nothing sent, the host still asked */
	collect(f);
	collect(f);
	assert_int_equal(f->host.calls, 3);
	assert_int_equal(fresh(f), 0);
	assert_int_equal(json_array_size(f->hub.events), 1);
}

static void
test_changes_once(void **state)
{
	struct fx *f = *state;
	const json_t *c, *ev;
	size_t i;
	int64_t last = 0;

	seed(f);
	collect(f);
	key(&f->host, K "\\New", SD);
	value(&f->host, K "\\New\\Q", "REG_QWORD", "18446744073709551615");
	host_del(&f->host, VG_KIND_REGVALUE, K "\\Old\\Gone");
	host_del(&f->host, VG_KIND_REGKEY, K "\\Old");
	value(&f->host, K "\\Name", "REG_SZ", "two");
	value(&f->host, K "\\Count", "REG_DWORD", "7");        /* same */
	value(&f->host, K "\\Exp", "REG_EXPAND_SZ", "%SystemRoot%\\x");
	host_del(&f->host, VG_KIND_REGVALUE, K "\\");
	key(&f->host, K "\\Sub", "O:BAG:SYD:(A;;KR;;;WD)");    /* its SD */
	file(&f->host, "C:\\app\\app.ini", 11, 9);
	file(&f->host, "C:\\app\\new.txt", 1, 3);
	collect(f);

	assert_int_equal(fresh(f), 10);
	assert_int_equal(changes(f, "added", K "\\New"), 1);
	assert_int_equal(changes(f, "added", K "\\New\\Q"), 1);
	assert_int_equal(changes(f, "removed", K "\\Old"), 1);
	assert_int_equal(changes(f, "removed", K "\\Old\\Gone"), 1);
	assert_int_equal(changes(f, "changed", K "\\Name"), 1);
	assert_int_equal(changes(f, "added", K "\\Exp"), 1);
	assert_int_equal(changes(f, "removed", K "\\"), 1);
	assert_int_equal(changes(f, "changed", K "\\Sub"), 1);
	assert_int_equal(changes(f, "changed", "C:\\app\\app.ini"), 1);
	assert_int_equal(changes(f, "added", "C:\\app\\new.txt"), 1);
	assert_int_equal(changes(f, NULL, K "\\Count"), 0);
	assert_int_equal(changes(f, NULL, "C:\\app\\keep.dll"), 0);

	/* old and new data, kinds, what changed */
	c = change_of(f, K "\\Name");
	assert_string_equal(json_string_value(json_object_get(c, "kind")),
	    "regvalue");
	assert_string_equal(prop(c, "old", "data"), "one");
	assert_string_equal(prop(c, "new", "data"), "two");
	assert_string_equal(prop(c, "new", "type"), "REG_SZ");
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(c, "changed"), 0)), "props");
	c = change_of(f, K "\\Sub");
	assert_string_equal(json_string_value(json_object_get(c, "kind")),
	    "regkey");
	assert_string_equal(prop(c, "old", "security"), SD);
	assert_string_equal(prop(c, "new", "security"),
	    "O:BAG:SYD:(A;;KR;;;WD)");
	c = change_of(f, K "\\Old\\Gone");
	assert_string_equal(prop(c, "old", "data"), "00ff");
	assert_null(json_object_get(c, "new"));
	c = change_of(f, K "\\New\\Q");
	assert_string_equal(prop(c, "new", "type"), "REG_QWORD");
	assert_null(json_object_get(c, "old"));
	c = change_of(f, "C:\\app\\app.ini");
	assert_string_equal(json_string_value(json_object_get(c, "kind")),
	    "file");
	assert_int_equal(json_integer_value(json_object_get(
	    json_object_get(c, "old"), "size")), 10);
	assert_int_equal(json_integer_value(json_object_get(
	    json_object_get(c, "new"), "size")), 11);
	{
		int hash = 0, size = 0;
		const json_t *n;

		json_array_foreach(json_object_get(c, "changed"), i, n) {
			hash |= strcmp(json_string_value(n), "hash") == 0;
			size |= strcmp(json_string_value(n), "size") == 0;
		}
		assert_true(hash && size);
	}
	/* ids go up, each once */
	for (i = 0; i < json_array_size(f->hub.events); i++) {
		ev = json_array_get(f->hub.events, i);
		assert_true(json_integer_value(json_object_get(ev, "id")) >
		    last);
		last = json_integer_value(json_object_get(ev, "id"));
		assert_string_equal(json_string_value(json_object_get(ev,
		    "origin")), "scan");
	}
	/* and none of it again */
	collect(f);
	assert_int_equal(fresh(f), 0);
	collect(f);
	assert_int_equal(fresh(f), 0);
}

static void
test_unread_kept(void **state)
{
	struct fx *f = *state;
	const json_t *a;
	size_t i;

	seed(f);
	key(&f->host, K "\\Secret", SD);
	key(&f->host, K "\\Secret\\Deeper", SD);
	value(&f->host, K "\\Secret\\Pw", "REG_SZ", "hidden");
	value(&f->host, K "\\Secret\\Deeper\\X", "REG_DWORD", "1");
	/* a sibling whose name starts the same is not below it */
	key(&f->host, K "\\SecretNot", SD);
	collect(f);

	/* denied: the walk gives nothing of it or below it */
	host_del(&f->host, VG_KIND_REGKEY, K "\\Secret");
	host_del(&f->host, VG_KIND_REGKEY, K "\\Secret\\Deeper");
	host_del(&f->host, VG_KIND_REGVALUE, K "\\Secret\\Pw");
	host_del(&f->host, VG_KIND_REGVALUE, K "\\Secret\\Deeper\\X");
	host_del(&f->host, VG_KIND_REGKEY, K "\\SecretNot");
	/* (and other unread paths, unsorted, that hold nothing) */
	f->host.unread[0] = strdup("HKLM\\SOFTWARE\\Zzz");
	f->host.unread[1] = strdup(K "\\Secret");
	f->host.unread[2] = strdup(K "\\Sec");
	f->host.problems[0] = strdup(K "\\Secret: access denied");
	collect(f);
	assert_int_equal(fresh(f), 2);
	assert_int_equal(agent_events(f, "collect-error"), 1);
	assert_int_equal(changes(f, "removed", K "\\SecretNot"), 1);
	a = json_object_get(fresh_event(f, 0), "agent");
	if (a == NULL)
		a = json_object_get(fresh_event(f, 1), "agent");
	assert_string_equal(json_string_value(json_object_get(a, "message")),
	    K "\\Secret: access denied");
	assert_string_equal(json_string_value(json_object_get(a, "path")),
	    K "\\Secret");

	/* still denied: said once, nothing removed */
	collect(f);
	assert_int_equal(fresh(f), 0);
	collect(f);
	assert_int_equal(fresh(f), 0);

	/* readable again, one value changed meanwhile: that change only,
	 * against the baseline kept */
	for (i = 0; i < 4; i++) {
		free(f->host.unread[i]);
		free(f->host.problems[i]);
		f->host.unread[i] = f->host.problems[i] = NULL;
	}
	key(&f->host, K "\\Secret", SD);
	key(&f->host, K "\\Secret\\Deeper", SD);
	value(&f->host, K "\\Secret\\Pw", "REG_SZ", "changed");
	value(&f->host, K "\\Secret\\Deeper\\X", "REG_DWORD", "1");
	collect(f);
	assert_int_equal(fresh(f), 1);
	assert_int_equal(changes(f, "changed", K "\\Secret\\Pw"), 1);
	assert_string_equal(prop(change_of(f, K "\\Secret\\Pw"), "old",
	    "data"), "hidden");

	/* denied again: a problem again (it went away in between) */
	f->host.unread[0] = strdup(K "\\Secret");
	f->host.problems[0] = strdup(K "\\Secret: access denied");
	host_del(&f->host, VG_KIND_REGVALUE, K "\\Secret\\Pw");
	collect(f);
	assert_int_equal(fresh(f), 1);
	assert_int_equal(agent_events(f, "collect-error"), 1);
}

/* A whole drive named ("C:\\"): its share unusable for a time, what
 * the baseline holds below it is kept, neither removed nor changed. */
static void
test_unread_drive_root(void **state)
{
	struct fx *f = *state;

	json_object_set_new(f->policy, "windows_files", json_pack("[s]",
	    "C:\\"));
	file(&f->host, "C:\\", 0, 0);
	file(&f->host, "C:\\boot.ini", 10, 1);
	file(&f->host, "C:\\app", 0, 0);
	file(&f->host, "C:\\app\\app.ini", 20, 2);
	collect(f);
	assert_int_equal(changes(f, "added", "C:\\boot.ini"), 0);

	host_del(&f->host, VG_KIND_FILE, "C:\\");
	host_del(&f->host, VG_KIND_FILE, "C:\\boot.ini");
	host_del(&f->host, VG_KIND_FILE, "C:\\app");
	host_del(&f->host, VG_KIND_FILE, "C:\\app\\app.ini");
	f->host.unread[0] = strdup("C:\\");
	f->host.problems[0] = strdup("C:\\: share C$: access denied");
	collect(f);
	assert_int_equal(fresh(f), 1);
	assert_int_equal(agent_events(f, "collect-error"), 1);
	assert_int_equal(changes(f, "removed", "C:\\boot.ini"), 0);
	assert_int_equal(changes(f, "removed", "C:\\app\\app.ini"), 0);

	/* readable again, one file changed meanwhile: that change only */
	free(f->host.unread[0]);
	free(f->host.problems[0]);
	f->host.unread[0] = f->host.problems[0] = NULL;
	file(&f->host, "C:\\", 0, 0);
	file(&f->host, "C:\\boot.ini", 10, 1);
	file(&f->host, "C:\\app", 0, 0);
	file(&f->host, "C:\\app\\app.ini", 21, 3);
	collect(f);
	assert_int_equal(fresh(f), 1);
	assert_int_equal(changes(f, "changed", "C:\\app\\app.ini"), 1);
}

static void
test_problems_once(void **state)
{
	struct fx *f = *state;

	seed(f);
	f->host.problems[0] = strdup("C:\\: share C$: not found");
	collect(f);
	/* the baseline and the problem */
	assert_int_equal(fresh(f), 2);
	assert_int_equal(agent_events(f, "collect-error"), 1);
	collect(f);
	assert_int_equal(fresh(f), 0);
	f->host.problems[1] = strdup(K "\\X: access denied");
	collect(f);
	assert_int_equal(fresh(f), 1);
	assert_int_equal(agent_events(f, "collect-error"), 1);
	collect(f);
	assert_int_equal(fresh(f), 0);
}

static void
test_pending_resent(void **state)
{
	struct fx *f = *state;
	json_t *first;

	seed(f);
	collect(f);
	value(&f->host, K "\\Name", "REG_SZ", "two");
	f->hub.ack = 0;
	{
		const char *code;
		char err[256];

		/* the hub takes nothing: the collection says so */
		assert_int_equal(collect_code(f, &code, err, sizeof(err)),
		    VG_ERR_IO);
	}
	assert_int_equal(fresh(f), 1);
	assert_non_null(first = json_deep_copy(fresh_event(f, 0)));
	assert_int_equal(f->host.calls, 2);

	/* the hub away: nothing new is collected */
	f->hub.down = 1;
	value(&f->host, K "\\Name", "REG_SZ", "three");
	{
		const char *code;
		char err[256];

		assert_int_equal(collect_code(f, &code, err, sizeof(err)),
		    VG_ERR_IO);
		assert_non_null(strstr(err, "hub away"));
	}
	assert_int_equal(f->host.calls, 2);

	/* back: the same event first, then the next change */
	f->hub.down = 0;
	f->hub.ack = 1;
	collect(f);
	assert_int_equal(f->host.calls, 3);
	assert_int_equal(fresh(f), 2);
	assert_true(json_equal(fresh_event(f, 0), first));
	assert_string_equal(prop(json_object_get(fresh_event(f, 1), "change"),
	    "old", "data"), "two");
	assert_string_equal(prop(json_object_get(fresh_event(f, 1), "change"),
	    "new", "data"), "three");
	assert_int_equal(changes(f, "changed", K "\\Name"), 2);
	json_decref(first);
	collect(f);
	assert_int_equal(fresh(f), 0);
}

/* A hub that answers as many ids as it was sent, but not theirs: the
 * batch is not taken, and the change is neither lost nor made twice. */
static void
test_pending_bogus_ack(void **state)
{
	struct fx *f = *state;
	const char *code;
	char err[256];
	json_t *first;

	seed(f);
	collect(f);
	value(&f->host, K "\\Name", "REG_SZ", "two");
	f->hub.bogus = 1;
	assert_int_equal(collect_code(f, &code, err, sizeof(err)), VG_ERR_IO);
	assert_int_equal(fresh(f), 1);
	assert_non_null(first = json_deep_copy(fresh_event(f, 0)));
	assert_int_equal(f->host.calls, 2);
	/* still not taken: sent again, and no new collection */
	assert_int_equal(collect_code(f, &code, err, sizeof(err)), VG_ERR_IO);
	assert_int_equal(fresh(f), 1);
	assert_true(json_equal(fresh_event(f, 0), first));
	assert_int_equal(f->host.calls, 2);
	/* taken: that one event once more, and nothing new */
	f->hub.bogus = 0;
	collect(f);
	assert_int_equal(fresh(f), 1);
	assert_true(json_equal(fresh_event(f, 0), first));
	collect(f);
	assert_int_equal(fresh(f), 0);
	json_decref(first);
}

static void
test_policy_widen_narrow(void **state)
{
	struct fx *f = *state;

	seed(f);
	key(&f->host, "HKLM\\SOFTWARE\\Other", SD);
	value(&f->host, "HKLM\\SOFTWARE\\Other\\V", "REG_SZ", "v");
	collect(f);
	assert_int_equal(f->host.nkeys, 1);

	/* a second key: its items join the baseline silently */
	json_array_append_new(json_object_get(f->policy, "registry"),
	    json_string("HKLM\\SOFTWARE\\Other"));
	collect(f);
	assert_int_equal(f->host.nkeys, 2);
	assert_int_equal(fresh(f), 0);
	/* ... and are watched from then on */
	value(&f->host, "HKLM\\SOFTWARE\\Other\\V", "REG_SZ", "w");
	collect(f);
	assert_int_equal(fresh(f), 1);
	assert_int_equal(changes(f, "changed", "HKLM\\SOFTWARE\\Other\\V"), 1);

	/* the first key dropped: its items leave silently */
	json_array_remove(json_object_get(f->policy, "registry"), 0);
	collect(f);
	assert_int_equal(f->host.nkeys, 1);
	assert_string_equal(f->host.first_key, "HKLM\\SOFTWARE\\Other");
	assert_int_equal(fresh(f), 0);

	/* an exclude: what it names leaves silently, and a removal
	 * under the key still shows */
	json_object_set_new(f->policy, "windows_exclude",
	    json_pack("[s]", "*\\v"));
	host_del(&f->host, VG_KIND_REGVALUE, "HKLM\\SOFTWARE\\Other\\V");
	collect(f);
	assert_int_equal(fresh(f), 0);
	host_del(&f->host, VG_KIND_REGKEY, "HKLM\\SOFTWARE\\Other");
	collect(f);
	assert_int_equal(fresh(f), 1);
	assert_int_equal(changes(f, "removed", "HKLM\\SOFTWARE\\Other"), 1);
}

static void
test_options(void **state)
{
	struct fx *f = *state;
	const char *code = NULL;
	char err[512];

	collect(f);
	assert_int_equal(f->host.depth, 8);
	assert_int_equal(f->host.nkeys, 1);
	assert_int_equal(f->host.nfiles, 1);
	assert_int_equal(f->host.hash, VG_HASH_SHA256);
	assert_int_equal(f->host.max_hash_size, 0);

	json_object_set_new(f->policy, "registry", json_pack("[s, s, s]",
	    "HKEY_USERS\\.DEFAULT", "HKLM\\B", "HKLM\\B"));
	json_object_set_new(f->policy, "registry_depth", json_integer(0));
	json_object_set_new(f->policy, "windows_include",
	    json_pack("[s]", "*.ini"));
	json_object_set_new(f->policy, "max_hash_size", json_string("1M"));
	json_object_set_new(f->policy, "hash", json_string("sha512"));
	/* what other devices use: ignored here */
	json_object_set_new(f->policy, "paths", json_pack("[s]", "/etc"));
	collect(f);
	assert_int_equal(f->host.depth, 0);
	assert_int_equal(f->host.nkeys, 2);           /* sorted, unique */
	assert_string_equal(f->host.first_key, "HKEY_USERS\\.DEFAULT");
	assert_int_equal(f->host.ninclude, 1);
	assert_int_equal(f->host.max_hash_size, 1024 * 1024);
	assert_int_equal(f->host.hash, VG_HASH_SHA512);

	/* a bad policy: refused naming the field, the host not asked */
	json_object_set_new(f->policy, "registry", json_pack("[s]",
	    "HKCU\\Software"));
	assert_int_equal(collect_code(f, &code, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_string_equal(code, "other");
	assert_non_null(strstr(err, "registry[0]"));
	assert_int_equal(f->host.calls, 2);
	json_object_set_new(f->policy, "registry", json_pack("[]"));
	json_object_set_new(f->policy, "registry_depth", json_integer(65));
	assert_int_equal(collect_code(f, &code, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_non_null(strstr(err, "registry_depth"));
	json_object_set_new(f->policy, "registry_depth", json_integer(3));
	json_object_set_new(f->policy, "hash", json_string("md5"));
	assert_int_equal(collect_code(f, &code, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_non_null(strstr(err, "hash"));
}

static void
test_host_fails(void **state)
{
	struct fx *f = *state;
	const char *code = NULL;
	char err[512];

	seed(f);
	f->host.fail = VG_ERR_AUTH;
	assert_int_equal(collect_code(f, &code, err, sizeof(err)),
	    VG_ERR_AUTH);
	assert_string_equal(code, "auth");
	assert_non_null(strstr(err, "logon failure"));
	assert_null(strstr(err, "s3cret-pw"));
	assert_int_equal(fresh(f), 0);
	f->host.fail = VG_ERR_IO;
	assert_int_equal(collect_code(f, &code, err, sizeof(err)),
	    VG_ERR_IO);
	assert_string_equal(code, "connect");
	f->host.fail = VG_ERR_TIMEOUT;
	collect_code(f, &code, err, sizeof(err));
	assert_string_equal(code, "timeout");
	f->host.fail = VG_ERR_INVAL;
	collect_code(f, &code, err, sizeof(err));
	assert_string_equal(code, "protocol");
	/* back: the first collection that works is the baseline */
	f->host.fail = 0;
	collect(f);
	assert_int_equal(fresh(f), 1);
	assert_int_equal(agent_events(f, "baseline"), 1);
}

static void
test_other_collector(void **state)
{
	struct fx *f = *state;
	struct aps a;
	char err[256];
	json_int_t last;

	seed(f);
	collect(f);
	value(&f->host, K "\\Name", "REG_SZ", "two");
	collect(f);
	assert_int_equal(fresh(f), 1);
	last = json_integer_value(json_object_get(fresh_event(f, 0), "id"));
	/* the device became a Linux host and back */
	assert_int_equal(aps_open(&a, f->dir, DEV_ID, "linux", err,
	    sizeof(err)), 0);
	aps_close(&a);
	value(&f->host, K "\\Name", "REG_SZ", "three");
	collect(f);
	/* a new baseline, not a change against the old one */
	assert_int_equal(fresh(f), 1);
	assert_int_equal(agent_events(f, "baseline"), 1);
	assert_true(json_integer_value(json_object_get(fresh_event(f, 0),
	    "id")) > last);
	apw_forget(f->dir, DEV_ID);
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/proxied/%d.db", f->dir,
		    DEV_ID);
		assert_int_equal(access(path, F_OK), -1);
	}
}

/* No secret reaches the device's state. */
static void
test_no_secret_stored(void **state)
{
	struct fx *f = *state;
	char path[128], *buf;
	FILE *fp;
	size_t n;

	seed(f);
	collect(f);
	value(&f->host, K "\\Name", "REG_SZ", "two");
	collect(f);
	snprintf(path, sizeof(path), "%s/proxied/%d.db", f->dir, DEV_ID);
	assert_non_null(fp = fopen(path, "rb"));
	assert_non_null(buf = calloc(1, 1 << 22));
	n = fread(buf, 1, (1 << 22) - 1, fp);
	fclose(fp);
	assert_true(n > 0);
	assert_null(memmem(buf, n, "s3cret-pw", 9));
	free(buf);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_baseline_silent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_changes_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unread_kept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unread_drive_root, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_problems_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pending_resent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pending_bogus_ack, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_policy_widen_narrow,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_options, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_host_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_other_collector, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_secret_stored, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
