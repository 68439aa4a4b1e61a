/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of agent/monitor: the policy parser, and scans and realtime
 * changes queued once each, with a real queue, baseline and watcher on a
 * temporary tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "collect.h"
#include "monitor.h"
#include "queue.h"
#include "vg_err.h"
#include "vg_item.h"
#include "vg_json.h"
#include "vg_rules.h"
#include "vg_scan.h"
#include "vg_util.h"

struct fixture {
	char dir[64];
	char data[96];
	char tree[96];
	struct aq *q;
	struct mon *m;
	struct agent_policy *p;
	_Atomic int rescans;       /* mon_opts.rescan calls */
	/* Called by mon_opts.queued, on the thread that queued. */
	void (*on_queued)(struct fixture *);
};

static void
count_rescan(void *arg)
{
	struct fixture *f = arg;

	atomic_fetch_add(&f->rescans, 1);
}

static void
queued_hook(void *arg)
{
	struct fixture *f = arg;

	if (f->on_queued != NULL)
		f->on_queued(f);
}

static int
open_monitor(struct fixture *f, const struct aq_limits *lim)
{
	struct mon_opts o;
	char err[512];

	if (aq_open(f->data, lim, &f->q, err, sizeof(err)) != 0)
		return -1;
	memset(&o, 0, sizeof(o));
	o.data_dir = f->data;
	o.q = f->q;
	o.debounce_ms = 20;
	o.rescan = count_rescan;
	o.queued = queued_hook;
	o.arg = f;
	return mon_new(&o, &f->m, err, sizeof(err));
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vg-monitor-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	snprintf(f->tree, sizeof(f->tree), "%s/tree", f->dir);
	if (mkdir(f->data, 0700) != 0 || mkdir(f->tree, 0755) != 0)
		return -1;
	*state = f;
	return open_monitor(f, NULL);
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
	struct fixture *f = *state;
	int r;

	mon_free(f->m);
	agent_policy_free(f->p);
	aq_close(f->q);
	r = nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r;
}

/* ---- common steps ---- */

static void
put_file(const struct fixture *f, const char *rel, const char *text)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->tree, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static void
put_dir(const struct fixture *f, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", f->tree, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static struct agent_policy *
parse(const char *text, char *err, size_t errlen, int *rv)
{
	struct agent_policy *p = NULL;
	json_error_t je;
	json_t *doc;

	doc = json_loads(text, 0, &je);
	if (doc == NULL)
		fail_msg("test JSON: %s: %s", text, je.text);
	*rv = agent_policy_parse(doc, "7", &p, err, errlen);
	json_decref(doc);
	return p;
}

/* Applies a policy given as printf of JSON ("%s" the tree). */
static void
set_policy(struct fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_policy(struct fixture *f, const char *fmt, ...)
{
	struct agent_policy *p;
	char text[2048], err[512] = "";
	va_list ap;
	int rv;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	p = parse(text, err, sizeof(err), &rv);
	if (rv != 0)
		fail_msg("policy %s: %s", text, err);
	if (mon_set_policy(f->m, p, err, sizeof(err)) != 0)
		fail_msg("set policy: %s", err);
	/* The previous one may go now. */
	agent_policy_free(f->p);
	f->p = p;
}

static void
scan(struct fixture *f, struct mon_scan_result *res)
{
	char err[512] = "";

	if (mon_scan(f->m, NULL, res, err, sizeof(err)) != 0)
		fail_msg("scan: %s", err);
}

/* Every queued event (taken out of the queue). */
static json_t *
drain(struct fixture *f)
{
	json_t *evs, *ev;
	int64_t *ids;
	size_t n, i;

	assert_int_equal(aq_peek(f->q, 1000000, (size_t)1 << 30, &evs, &n),
	    0);
	if (n == 0) {
		json_decref(evs);
		return json_array();
	}
	ids = calloc(n, sizeof(*ids));
	assert_non_null(ids);
	json_array_foreach(evs, i, ev)
		ids[i] = json_integer_value(json_object_get(ev, "id"));
	assert_int_equal(aq_ack(f->q, ids, n), 0);
	free(ids);
	return evs;
}

static void
expect_no_events(struct fixture *f)
{
	json_t *evs = drain(f);

	if (json_array_size(evs) != 0) {
		char *s = json_dumps(evs, 0);

		fail_msg("unexpected events: %s", s);
	}
	json_decref(evs);
}

/* The one change queued: type and path (relative to the tree). */
static json_t *
expect_one_change(struct fixture *f, const char *type, const char *rel,
    const char *origin)
{
	json_t *evs = drain(f), *ev, *c;
	char path[256], *s;

	snprintf(path, sizeof(path), "%s/%s", f->tree, rel);
	if (json_array_size(evs) != 1) {
		s = json_dumps(evs, 0);
		fail_msg("want one %s of %s, got %s", type, rel, s);
	}
	ev = json_array_get(evs, 0);
	assert_string_equal(json_string_value(json_object_get(ev, "origin")),
	    origin);
	c = json_object_get(ev, "change");
	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "change")),
	    type);
	assert_string_equal(json_string_value(json_object_get(c, "path")),
	    path);
	json_incref(c);
	json_decref(evs);
	return c;
}

/* ---- the policy ---- */

static void
test_policy_valid(void **state)
{
	struct agent_policy *p;
	char err[512] = "";
	int rv;

	(void)state;
	p = parse("{\"paths\": [\"/etc\", \"/srv/www\", \"/etc/ssh\"], "
	    "\"exclude\": [\"*.swp\", \"/srv/www/cache\"], "
	    "\"include\": [\"/srv/www/cache/keep\"], \"hash\": \"sha512\", "
	    "\"max_hash_size\": 1048576, \"realtime\": true, "
	    "\"content\": [\"/etc/ssh/sshd_config\", \"/etc/hosts\", "
	    "\"/etc/hosts\"], \"schedule\": 600, "
	    "\"system\": [\"packages\", \"users\"], "
	    "\"commands\": [\"uname -a\"], \"groups\": [1, 2], "
	    "\"future_field\": {\"x\": 1}}", err, sizeof(err), &rv);
	if (rv != 0)
		fail_msg("parse: %s", err);
	assert_string_equal(p->version, "7");
	assert_non_null(p->doc);
	assert_non_null(p->rules);
	/* /etc/ssh lies inside /etc. */
	assert_int_equal(p->rules->nroots, 2);
	assert_string_equal(p->rules->roots[0], "/etc");
	assert_string_equal(p->rules->roots[1], "/srv/www");
	assert_int_equal(p->rules->nrules, 3);
	assert_int_equal(p->rules->rules[0].include, 0);
	assert_int_equal(p->rules->rules[2].include, 1);
	assert_int_equal(p->rules->hash, VG_HASH_SHA512);
	assert_true(p->rules->max_hash_size == 1048576);
	/* A path excludes the whole path; the include takes one back. */
	assert_int_equal(vg_scan_covers(p->rules, "/srv/www/cache", 14, 1),
	    0);
	assert_int_equal(vg_scan_covers(p->rules, "/srv/www/cache/keep", 19,
	    0), 1);
	assert_int_equal(vg_scan_covers(p->rules, "/etc/a.swp", 10, 0), 0);
	assert_int_equal(vg_scan_covers(p->rules, "/etc/passwd", 11, 0), 1);
	assert_int_equal(p->ncontent, 2);
	assert_string_equal(p->content[0], "/etc/hosts");
	assert_string_equal(p->content[1], "/etc/ssh/sshd_config");
	assert_int_equal(p->realtime, 1);
	assert_int_equal(p->schedule, 600);
	assert_int_equal(p->collect, COLLECT_PACKAGES | COLLECT_USERS |
	    COLLECT_COMMANDS);
	assert_int_equal(p->ncommands, 1);
	assert_string_equal(p->commands[0], "uname -a");
	agent_policy_free(p);

	/* Empty: no rules, defaults. A size may be a string. */
	p = parse("{}", err, sizeof(err), &rv);
	assert_int_equal(rv, 0);
	assert_null(p->rules);
	assert_int_equal(p->schedule, 3600);
	assert_int_equal(p->realtime, 0);
	assert_int_equal(p->collect, 0);
	agent_policy_free(p);
	p = parse("{\"paths\": [\"/x\"], \"max_hash_size\": \"512M\"}", err,
	    sizeof(err), &rv);
	assert_int_equal(rv, 0);
	assert_true(p->rules->max_hash_size == 512ull << 20);
	agent_policy_free(p);
}

static void
test_policy_errors(void **state)
{
	static const struct {
		const char *doc, *want;
	} cases[] = {
		{ "[]", "policy: not a JSON object" },
		{ "{\"paths\": \"/etc\"}", "paths: not an array" },
		{ "{\"paths\": [\"/etc\", 3]}", "paths[1]: not a string" },
		{ "{\"paths\": [\"etc\"]}", "paths[0]: not an absolute" },
		{ "{\"paths\": [\"\"]}", "paths[0]: empty" },
		{ "{\"exclude\": [true]}", "exclude[0]: not a string" },
		{ "{\"exclude\": [\"*.a\", \" b\"]}", "exclude[1]: " },
		{ "{\"include\": {}}", "include: not an array" },
		{ "{\"hash\": 256}", "hash: not a string" },
		{ "{\"hash\": \"crc32\"}", "hash: unknown algorithm" },
		{ "{\"hash\": \"md5\"}", "hash: md5 is weak" },
		{ "{\"max_hash_size\": -1}", "max_hash_size: not a size" },
		{ "{\"max_hash_size\": \"12Q\"}", "max_hash_size: not a size" },
		{ "{\"max_hash_size\": 1.5}", "max_hash_size: not a size" },
		{ "{\"realtime\": \"yes\"}", "realtime: not a boolean" },
		{ "{\"schedule\": \"hourly\"}", "schedule: not a number" },
		{ "{\"schedule\": 0}", "schedule: not a number" },
		{ "{\"content\": [\"hosts\"]}", "content[0]: not an absolute" },
		{ "{\"system\": [\"packages\", \"kernel\"]}",
		  "system[1]: unknown collector \"kernel\"" },
		{ "{\"system\": \"packages\"}", "system: not an array" },
		{ "{\"commands\": [1]}", "commands[0]: not a string" },
	};
	struct agent_policy *p;
	char err[512];
	size_t i;
	int rv;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		p = parse(cases[i].doc, err, sizeof(err), &rv);
		if (rv != VG_ERR_INVAL || p != NULL ||
		    strstr(err, cases[i].want) != err)
			fail_msg("%s: got %d \"%s\", want \"%s\"",
			    cases[i].doc, rv, err, cases[i].want);
	}
}

/* ---- scans ---- */

static void
test_first_scan_baseline(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	json_t *evs, *a;
	char path[256];

	put_file(f, "a", "alpha\n");
	put_dir(f, "d");
	put_file(f, "d/b", "beta\n");
	set_policy(f, "{\"paths\": [\"%s\"]}", f->tree);
	assert_int_equal(mon_take_rescan(f->m), 1);
	assert_int_equal(mon_take_rescan(f->m), 0);
	scan(f, &res);
	assert_int_equal(res.baseline_committed, 1);
	assert_true(res.items == 4);
	assert_true(res.added + res.removed + res.changed == 0);
	snprintf(path, sizeof(path), "%s/baseline.db", f->data);
	assert_int_equal(access(path, F_OK), 0);
	evs = drain(f);
	assert_int_equal(json_array_size(evs), 1);
	a = json_object_get(json_array_get(evs, 0), "agent");
	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "code")),
	    "baseline");
	assert_string_equal(json_string_value(json_object_get(a, "message")),
	    "baseline of 4 items created");
	json_decref(evs);
	/* The same policy again: nothing to rescan. */
	set_policy(f, "{\"paths\": [\"%s\"]}", f->tree);
	assert_int_equal(mon_take_rescan(f->m), 0);
}

static void
test_change_reported_once(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	char path[256];
	json_t *c;

	put_file(f, "a", "alpha\n");
	put_file(f, "b", "beta\n");
	set_policy(f, "{\"paths\": [\"%s\"]}", f->tree);
	scan(f, &res);
	json_decref(drain(f));
	put_file(f, "a", "alpha, changed\n");
	scan(f, &res);
	assert_true(res.changed == 1);
	assert_int_equal(res.baseline_committed, 1);
	c = expect_one_change(f, "changed", "a", "scan");
	assert_non_null(json_object_get(c, "old"));
	assert_non_null(json_object_get(c, "new"));
	json_decref(c);
	scan(f, &res);
	assert_true(res.added + res.removed + res.changed == 0);
	expect_no_events(f);
	/* Added and removed too, once each. */
	put_file(f, "new", "n");
	scan(f, &res);
	json_decref(expect_one_change(f, "added", "new", "scan"));
	snprintf(path, sizeof(path), "%s/b", f->tree);
	assert_int_equal(unlink(path), 0);
	scan(f, &res);
	json_decref(expect_one_change(f, "removed", "b", "scan"));
	scan(f, &res);
	expect_no_events(f);
}

/* What a scan queues for rel and writes in the overlay, committed, with
 * the baseline left as it was (the agent then killed): the state it
 * holds is it (NULL: removed; freed), stamped as stamp, or as a scan of
 * the current generation when stamp is 0. */
static void
fake_reported(struct fixture *f, const char *rel, struct vg_item *it,
    int64_t stamp)
{
	struct vg_change c;
	char path[256], err[512];
	json_t *body;
	int64_t gen;

	snprintf(path, sizeof(path), "%s/%s", f->tree, rel);
	assert_int_equal(aq_get_i64(f->q, "scan_gen", 0, &gen), 0);
	memset(&c, 0, sizeof(c));
	c.type = it ? VG_CHANGE_ADDED : VG_CHANGE_REMOVED;
	if (it == NULL)
		c.old = vg_item_new(VG_KIND_FILE, path, strlen(path));
	else
		c.new = it;
	body = json_pack("{s:o}", "change", vg_change_to_json(&c));
	assert_non_null(body);
	assert_int_equal(aq_begin(f->q), 0);
	assert_int_equal(aq_event(f->q, "scan", 1, body, NULL), 0);
	assert_int_equal(aq_overlay_put(f->q, path, strlen(path), it,
	    stamp ? stamp : gen * 2), 0);
	assert_int_equal(aq_commit(f->q, err, sizeof(err)), 0);
	json_decref(body);
	vg_item_free(c.old);
	vg_item_free(it);
	json_decref(drain(f));
}

static struct vg_item *
item_now(struct fixture *f, const char *rel)
{
	struct vg_item *it = NULL;
	char path[256], err[512];

	snprintf(path, sizeof(path), "%s/%s", f->tree, rel);
	if (vg_scan_one(f->p->rules, path, strlen(path), &it, err,
	    sizeof(err)) != 0)
		fail_msg("scan one: %s", err);
	assert_non_null(it);
	return it;
}

/*
 * The agent stopped after a change was queued (with its overlay entry)
 * but before the baseline was written: the next scan finds the change
 * against the old baseline and must not queue it again.
 */
static void
test_crash_before_baseline(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;

	put_file(f, "a", "alpha\n");
	set_policy(f, "{\"paths\": [\"%s\"]}", f->tree);
	scan(f, &res);
	json_decref(drain(f));
	put_file(f, "a", "alpha, changed before the crash\n");
	/* What a scan queues, committed; the baseline left as it was. */
	fake_reported(f, "a", item_now(f, "a"), 0);

	scan(f, &res);
	assert_true(res.suppressed == 1);
	assert_true(res.changed == 0);
	assert_int_equal(res.baseline_committed, 1);
	expect_no_events(f);
	/* Now in the baseline, the overlay entry is gone, and a further
	 * change is reported. */
	scan(f, &res);
	assert_true(res.suppressed == 0);
	expect_no_events(f);
	put_file(f, "a", "alpha, after\n");
	scan(f, &res);
	json_decref(expect_one_change(f, "changed", "a", "scan"));
}

static void
test_content_diff(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	const char *diff;
	json_t *c;

	put_file(f, "conf", "one\ntwo\nthree\n");
	put_file(f, "other", "x\n");
	set_policy(f, "{\"paths\": [\"%s\"], \"content\": [\"%s/conf\"]}",
	    f->tree, f->tree);
	scan(f, &res);
	json_decref(drain(f));
	put_file(f, "conf", "one\nTWO\nthree\n");
	put_file(f, "other", "y\n");
	scan(f, &res);
	c = NULL;
	{
		json_t *evs = drain(f), *ev;
		size_t i;

		assert_int_equal(json_array_size(evs), 2);
		json_array_foreach(evs, i, ev) {
			json_t *ch = json_object_get(ev, "change");
			const char *p = json_string_value(json_object_get(ch,
			    "path"));

			if (strcmp(p + strlen(p) - 5, "/conf") == 0)
				c = json_incref(ch);
			else
				assert_null(json_object_get(ch, "diff"));
		}
		json_decref(evs);
	}
	assert_non_null(c);
	diff = json_string_value(json_object_get(c, "diff"));
	assert_non_null(diff);
	assert_non_null(strstr(diff, "\n-two\n+TWO\n"));
	assert_non_null(strstr(diff, "@@ -1,3 +1,3 @@"));
	json_decref(c);
	/* The next change diffs against the content just reported. */
	put_file(f, "conf", "one\nTWO\nthree\nfour\n");
	scan(f, &res);
	c = expect_one_change(f, "changed", "conf", "scan");
	diff = json_string_value(json_object_get(c, "diff"));
	assert_non_null(diff);
	assert_non_null(strstr(diff, "\n+four\n"));
	assert_null(strstr(diff, "-two"));
	json_decref(c);
}

static void
test_policy_add_root_silent(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;

	put_dir(f, "A");
	put_dir(f, "B");
	put_file(f, "A/1", "1");
	put_file(f, "B/2", "2");
	put_file(f, "B/3", "3");
	set_policy(f, "{\"paths\": [\"%s/A\"]}", f->tree);
	scan(f, &res);
	json_decref(drain(f));
	set_policy(f, "{\"paths\": [\"%s/A\", \"%s/B\"]}", f->tree, f->tree);
	assert_int_equal(mon_take_rescan(f->m), 1);
	scan(f, &res);
	assert_int_equal(res.baseline_committed, 1);
	assert_true(res.items == 5);
	assert_true(res.added == 0);
	expect_no_events(f);
	/* B is watched now. */
	put_file(f, "B/2", "two");
	scan(f, &res);
	json_decref(expect_one_change(f, "changed", "B/2", "scan"));
	/* An include taking files back is no flood either. */
	set_policy(f, "{\"paths\": [\"%s\"], \"exclude\": [\"3\"]}", f->tree);
	scan(f, &res);
	expect_no_events(f);
	set_policy(f, "{\"paths\": [\"%s\"]}", f->tree);
	scan(f, &res);
	expect_no_events(f);
	put_file(f, "B/3", "three");
	scan(f, &res);
	json_decref(expect_one_change(f, "changed", "B/3", "scan"));
}

static void
test_policy_remove_root_silent(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	char path[256];

	put_dir(f, "A");
	put_dir(f, "B");
	put_file(f, "A/1", "1");
	put_file(f, "B/2", "2");
	put_file(f, "B/3.log", "3");
	set_policy(f, "{\"paths\": [\"%s/A\", \"%s/B\"]}", f->tree, f->tree);
	scan(f, &res);
	json_decref(drain(f));
	set_policy(f, "{\"paths\": [\"%s/A\"]}", f->tree);
	scan(f, &res);
	assert_int_equal(res.baseline_committed, 1);
	assert_true(res.removed == 0);
	assert_true(res.items == 2);
	expect_no_events(f);
	/* Excluded by a new rule: dropped silently; a real removal is
	 * still reported. */
	set_policy(f, "{\"paths\": [\"%s\"], \"exclude\": [\"*.log\"]}",
	    f->tree);
	scan(f, &res);
	json_decref(drain(f));
	set_policy(f, "{\"paths\": [\"%s\"], \"exclude\": [\"*.log\", "
	    "\"%s/B\"]}", f->tree, f->tree);
	scan(f, &res);
	expect_no_events(f);
	snprintf(path, sizeof(path), "%s/A/1", f->tree);
	assert_int_equal(unlink(path), 0);
	scan(f, &res);
	json_decref(expect_one_change(f, "removed", "A/1", "scan"));
}

/* A change the full queue refuses keeps the old baseline, so that the
 * next scan reports it again. */
static void
test_queue_full_keeps_baseline(void **state)
{
	struct fixture *f = *state;
	struct aq_limits lim = { 3, 0 };
	struct mon_scan_result res;
	struct aq_stats st;
	char name[16];
	int i;

	mon_free(f->m);
	aq_close(f->q);
	f->m = NULL;
	f->q = NULL;
	assert_int_equal(open_monitor(f, &lim), 0);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		put_file(f, name, "x");
	}
	set_policy(f, "{\"paths\": [\"%s\"]}", f->tree);
	scan(f, &res);
	assert_int_equal(res.baseline_committed, 1);
	json_decref(drain(f));
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		put_file(f, name, "changed");
	}
	scan(f, &res);
	assert_int_equal(res.baseline_committed, 0);
	assert_int_equal(aq_stats(f->q, &st), 0);
	assert_true(st.events == 3);
	assert_true(st.dropped == 2);
	/* Room again: the three queued are suppressed, the rest reported. */
	json_decref(drain(f));
	scan(f, &res);
	assert_int_equal(res.baseline_committed, 1);
	assert_true(res.suppressed == 3);
	assert_true(res.changed == 2);
	assert_int_equal(aq_stats(f->q, &st), 0);
	assert_true(st.events == 2);
}

/* ---- realtime ---- */

static void
wait_until(int (*cond)(struct fixture *), struct fixture *f,
    const char *what)
{
	double end = vg_now() + 20;
	struct timespec ts = { 0, 10 * 1000000 };

	while (!cond(f)) {
		if (vg_now() > end)
			fail_msg("timed out waiting for %s", what);
		nanosleep(&ts, NULL);
	}
}

static int
has_watches(struct fixture *f)
{
	return mon_watches(f->m) > 0;
}

static int
has_events(struct fixture *f)
{
	struct aq_stats st;

	return aq_stats(f->q, &st) == 0 && st.events > 0;
}

static int
take_rescan(struct fixture *f)
{
	return mon_take_rescan(f->m);
}

static void
test_realtime(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	char path[256];
	json_t *c;

	put_file(f, "a", "alpha\n");
	put_file(f, "conf", "k = 1\n");
	put_dir(f, "d");
	set_policy(f, "{\"paths\": [\"%s\"], \"realtime\": true, "
	    "\"exclude\": [\"*.tmp\"], \"content\": [\"%s/conf\"]}", f->tree,
	    f->tree);
	scan(f, &res);
	json_decref(drain(f));
	wait_until(has_watches, f, "the watches");

	put_file(f, "d/new", "hello\n");
	wait_until(has_events, f, "the realtime event");
	json_decref(expect_one_change(f, "added", "d/new", "realtime"));
	assert_true(mon_realtime_events(f->m) == 1);
	/* A scan does not report it again. */
	scan(f, &res);
	assert_true(res.added == 0);
	assert_true(res.suppressed == 1);
	expect_no_events(f);

	/* Changed against the baseline, with the content diff. */
	put_file(f, "conf", "k = 2\n");
	wait_until(has_events, f, "the realtime change");
	c = expect_one_change(f, "changed", "conf", "realtime");
	assert_non_null(strstr(json_string_value(json_object_get(c, "diff")),
	    "-k = 1\n+k = 2\n"));
	json_decref(c);
	/* Changed again: the old side is what was reported last. */
	put_file(f, "d/new", "hello again\n");
	wait_until(has_events, f, "the second realtime change");
	c = expect_one_change(f, "changed", "d/new", "realtime");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    c, "old"), "size")), 6);
	json_decref(c);
	/* Excluded files are not reported; a removal is. */
	put_file(f, "x.tmp", "t");
	snprintf(path, sizeof(path), "%s/a", f->tree);
	assert_int_equal(unlink(path), 0);
	wait_until(has_events, f, "the realtime removal");
	json_decref(expect_one_change(f, "removed", "a", "realtime"));
	/* Each of the three already reported. */
	scan(f, &res);
	expect_no_events(f);
	assert_true(res.suppressed == 3);
	assert_true(res.added + res.removed + res.changed == 0);
}

/* A directory moved away with files below it needs a rescan: the
 * watcher sees only the directory go. */
static void
test_realtime_dir_gone(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	char from[256], to[256];

	put_dir(f, "d");
	put_file(f, "d/1", "1");
	set_policy(f, "{\"paths\": [\"%s\"], \"realtime\": true}", f->tree);
	scan(f, &res);
	json_decref(drain(f));
	assert_int_equal(mon_take_rescan(f->m), 0);
	wait_until(has_watches, f, "the watches");
	snprintf(from, sizeof(from), "%s/d", f->tree);
	snprintf(to, sizeof(to), "%s/moved", f->dir);
	assert_int_equal(rename(from, to), 0);
	wait_until(has_events, f, "the realtime removal");
	json_decref(expect_one_change(f, "removed", "d", "realtime"));
	wait_until(take_rescan, f, "the rescan request");
	assert_true(atomic_load(&f->rescans) >= 1);
	scan(f, &res);
	json_decref(expect_one_change(f, "removed", "d/1", "scan"));
}

/* ---- the overlay as the old side ---- */

/* The stamp of rel's overlay entry (-1 when none); *got its state. */
static int64_t
overlay_of(struct fixture *f, const char *rel, struct vg_item **got)
{
	char path[256];
	int64_t stamp;
	int found;

	snprintf(path, sizeof(path), "%s/%s", f->tree, rel);
	assert_int_equal(aq_overlay_get_stamp(f->q, path, strlen(path), &found,
	    got, &stamp), 0);
	return found ? stamp : -1;
}

/*
 * The hub was told of a state the baseline never held, and the file
 * went back to the baseline's state while the agent was down: the scan
 * sees no change against the baseline, but the hub must hear of it.
 */
static void
test_revert_while_down(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	struct vg_item *it;
	char path[256];
	json_t *c;

	put_file(f, "a", "alpha\n");
	set_policy(f, "{\"paths\": [\"%s\"]}", f->tree);
	scan(f, &res);
	json_decref(drain(f));
	/* "a" changed to S1 was reported, then put back. */
	it = item_now(f, "a");
	it->size = 3;
	memset(it->hash, 0x5a, sizeof(it->hash));
	fake_reported(f, "a", it, 0);
	/* "p" added was reported, then deleted. */
	put_file(f, "p", "p\n");
	fake_reported(f, "p", item_now(f, "p"), 0);
	snprintf(path, sizeof(path), "%s/p", f->tree);
	assert_int_equal(unlink(path), 0);

	scan(f, &res);
	assert_int_equal(res.baseline_committed, 1);
	{
		json_t *evs = drain(f), *ev;
		size_t i;
		int changed = 0, removed = 0;

		assert_int_equal(json_array_size(evs), 2);
		json_array_foreach(evs, i, ev) {
			const char *t, *pp;

			c = json_object_get(ev, "change");
			t = json_string_value(json_object_get(c, "change"));
			pp = json_string_value(json_object_get(c, "path"));
			if (strcmp(t, "changed") == 0 &&
			    strcmp(pp + strlen(pp) - 2, "/a") == 0) {
				changed++;
				assert_int_equal(json_integer_value(
				    json_object_get(json_object_get(c, "old"),
				    "size")), 3);
			} else if (strcmp(t, "removed") == 0 &&
			    strcmp(pp + strlen(pp) - 2, "/p") == 0)
				removed++;
		}
		assert_int_equal(changed, 1);
		assert_int_equal(removed, 1);
		json_decref(evs);
	}
	assert_true(res.changed == 1 && res.removed == 1);
	/* Said once. */
	scan(f, &res);
	expect_no_events(f);
	scan(f, &res);
	expect_no_events(f);
}

/*
 * The watcher wrote a path's overlay entry while the scan ran: its state
 * is newer than what the scan read, and the scan must neither report
 * its older view nor write it over the watcher's.
 */
static void
test_realtime_entry_outranks_scan(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	struct vg_item *it, *got;
	int64_t gen;

	put_file(f, "a", "alpha\n");
	set_policy(f, "{\"paths\": [\"%s\"]}", f->tree);
	scan(f, &res);
	json_decref(drain(f));
	put_file(f, "a", "alpha, changed\n");
	it = item_now(f, "a");
	it->size = 99;
	/* Stamped as realtime stamps during the next scan. */
	assert_int_equal(aq_get_i64(f->q, "scan_gen", 0, &gen), 0);
	fake_reported(f, "a", it, (gen + 1) * 2 + 1);
	scan(f, &res);
	expect_no_events(f);
	assert_true(overlay_of(f, "a", &got) == (gen + 1) * 2 + 1);
	assert_int_equal(got->size, 99);
	vg_item_free(got);
}

/* Overlay entries carry the scan generation, not the wall clock: those
 * of generations before a committed scan are pruned. */
static void
test_scan_generation(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	struct vg_item *got;
	int64_t gen;

	put_file(f, "a", "alpha\n");
	set_policy(f, "{\"paths\": [\"%s\"]}", f->tree);
	scan(f, &res);
	assert_int_equal(aq_get_i64(f->q, "scan_gen", 0, &gen), 0);
	assert_true(gen == 1);
	json_decref(drain(f));
	put_file(f, "a", "alpha, changed\n");
	scan(f, &res);
	json_decref(expect_one_change(f, "changed", "a", "scan"));
	assert_true(overlay_of(f, "a", &got) == 4);
	vg_item_free(got);
	scan(f, &res);
	assert_true(overlay_of(f, "a", &got) == -1);
	assert_int_equal(aq_get_i64(f->q, "scan_gen", 0, &gen), 0);
	assert_true(gen == 3);
}

/* ---- rescans owed ---- */

static void
reopen_monitor(struct fixture *f, const struct aq_limits *lim)
{
	mon_free(f->m);
	aq_close(f->q);
	f->m = NULL;
	f->q = NULL;
	assert_int_equal(open_monitor(f, lim), 0);
}

/* A rescan owed when the agent stopped is done first, and no longer
 * owed once a scan wrote its baseline. */
static void
test_rescan_owed(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	char *v;

	put_file(f, "a", "alpha\n");
	assert_int_equal(aq_set(f->q, "rescan", "1"), 0);
	reopen_monitor(f, NULL);
	assert_int_equal(mon_take_rescan(f->m), 1);
	set_policy(f, "{\"paths\": [\"%s\"]}", f->tree);
	scan(f, &res);
	assert_int_equal(res.baseline_committed, 1);
	assert_int_equal(aq_get(f->q, "rescan", &v), 0);
	assert_null(v);
	reopen_monitor(f, NULL);
	assert_int_equal(mon_take_rescan(f->m), 0);
}

static int
has_dropped(struct fixture *f)
{
	struct aq_stats st;

	return aq_stats(f->q, &st) == 0 && st.dropped > 0;
}

/*
 * A realtime change the full queue refuses is owed to the next scan
 * (kv "rescan", and the queue's drop summary asks for it once there is
 * room), but starts no scan now: one would only drop again while the
 * hub is away.
 */
static void
test_realtime_drop_rescans(void **state)
{
	struct fixture *f = *state;
	struct aq_limits lim = { 1, 0 };
	struct mon_scan_result res;
	char *v;

	reopen_monitor(f, &lim);
	set_policy(f, "{\"paths\": [\"%s\"], \"realtime\": true}", f->tree);
	scan(f, &res);     /* the "baseline" event fills the queue */
	assert_int_equal(mon_take_rescan(f->m), 0);
	wait_until(has_watches, f, "the watches");
	put_file(f, "new", "n\n");
	wait_until(has_dropped, f, "the dropped change");
	assert_int_equal(mon_take_rescan(f->m), 0);
	assert_int_equal(aq_get(f->q, "rescan", &v), 0);
	assert_non_null(v);
	free(v);
	json_decref(drain(f));
	assert_int_equal(aq_summarize_drops(f->q), 1);
}

/*
 * The watcher is started with its watches in place: the scan that
 * follows a policy (the one at the agent's start) reads each folder
 * after its watch exists, so a file made in a folder the scan has read
 * already is reported by the watcher. Before, the watcher walked the
 * tree while the scan ran, and a file made in a folder between the two
 * was missed by both until the next scheduled scan.
 */
static void
test_watching_before_scan(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;

	put_dir(f, "d");
	put_file(f, "d/1", "1");
	set_policy(f, "{\"paths\": [\"%s\"], \"realtime\": true}", f->tree);
	scan(f, &res);
	json_decref(drain(f));
	/* The agent starts again with the policy it had. */
	reopen_monitor(f, NULL);
	set_policy(f, "{\"paths\": [\"%s\"], \"realtime\": true}", f->tree);
	assert_true(mon_watches(f->m) >= 2);
	scan(f, &res);
	assert_true(res.added + res.removed + res.changed == 0);
	/* Made after the scan read "d": the watcher must tell. */
	put_file(f, "d/2", "2");
	wait_until(has_events, f, "the realtime event");
	json_decref(expect_one_change(f, "added", "d/2", "realtime"));
}

static int
holds_one(struct fixture *f)
{
	return mon_held(f->m) >= 1;
}

static int
holds_two(struct fixture *f)
{
	return mon_held(f->m) >= 2;
}

/*
 * Run on the scan's thread when the first scan queues its "baseline"
 * event: the walk is over and the baseline not yet committed. "a" is
 * changed after the scan read it, and "gone" comes and goes; the watcher
 * holds both paths until the baseline is there.
 */
static void
change_during_first_scan(struct fixture *f)
{
	char path[256];

	f->on_queued = NULL;
	put_file(f, "a", "alpha, changed\n");
	wait_until(holds_one, f, "the held path of a");
	put_file(f, "gone", "g");
	snprintf(path, sizeof(path), "%s/gone", f->tree);
	assert_int_equal(unlink(path), 0);
	wait_until(holds_two, f, "the held path of gone");
}

/* How many events of evs hold an object kind ("change", "agent") whose
 * field is value; *last (when not NULL) the last of them. */
static int
count_where(json_t *evs, const char *kind, const char *field,
    const char *value, json_t **last)
{
	const char *v;
	json_t *ev;
	size_t i;
	int n = 0;

	json_array_foreach(evs, i, ev) {
		v = json_string_value(json_object_get(json_object_get(ev,
		    kind), field));
		if (v != NULL && strcmp(v, value) == 0) {
			n++;
			if (last != NULL)
				*last = ev;
		}
	}
	return n;
}

static int
count_code(json_t *evs, const char *code)
{
	return count_where(evs, "agent", "code", code, NULL);
}

/*
 * A file changed during the first scan, after the scan read it: realtime
 * had no baseline to compare with then, and the change was missed until
 * the next scheduled scan. It is reported once the baseline is there,
 * exactly once; a path back to nothing gives nothing.
 */
static void
test_change_during_first_scan(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	char path[256];
	json_t *evs, *ev = NULL, *c;

	put_file(f, "a", "alpha\n");
	put_dir(f, "d");
	put_file(f, "d/1", "1");
	set_policy(f, "{\"paths\": [\"%s\"], \"realtime\": true, "
	    "\"content\": [\"%s/a\"]}", f->tree, f->tree);
	f->on_queued = change_during_first_scan;
	scan(f, &res);
	assert_null(f->on_queued);
	assert_int_equal(res.baseline_committed, 1);
	assert_int_equal(mon_held(f->m), 0);
	evs = drain(f);
	assert_int_equal(count_code(evs, "baseline"), 1);
	snprintf(path, sizeof(path), "%s/a", f->tree);
	assert_int_equal(count_where(evs, "change", "path", path, &ev), 1);
	/* The realtime way: against the baseline, with the diff. */
	assert_string_equal(json_string_value(json_object_get(ev, "origin")),
	    "realtime");
	c = json_object_get(ev, "change");
	assert_string_equal(json_string_value(json_object_get(c, "change")),
	    "changed");
	assert_non_null(strstr(json_string_value(json_object_get(c, "diff")),
	    "-alpha\n+alpha, changed\n"));
	snprintf(path, sizeof(path), "%s/gone", f->tree);
	assert_int_equal(count_where(evs, "change", "path", path,
	    NULL), 0);
	assert_int_equal(json_array_size(evs), 2);
	json_decref(evs);
	assert_true(mon_realtime_events(f->m) == 1);
	/* Neither the watcher (the events of "a" it may still deliver) nor
	 * the next scan reports it again. */
	scan(f, &res);
	assert_true(res.added + res.removed + res.changed == 0);
	assert_true(res.suppressed == 1);
	expect_no_events(f);
	assert_int_equal(mon_take_rescan(f->m), 0);
}

/* A first scan that fails (here stopped) is owed again: realtime holds
 * its paths until a baseline exists. */
static void
test_first_scan_failed_rescans(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	volatile sig_atomic_t stop = 1;
	char err[512] = "";

	put_file(f, "a", "alpha\n");
	set_policy(f, "{\"paths\": [\"%s\"]}", f->tree);
	assert_int_equal(mon_take_rescan(f->m), 1);
	assert_true(mon_scan(f->m, &stop, &res, err, sizeof(err)) != 0);
	assert_int_equal(res.baseline_committed, 0);
	assert_int_equal(mon_take_rescan(f->m), 1);
	scan(f, &res);
	assert_int_equal(res.baseline_committed, 1);
	assert_int_equal(mon_take_rescan(f->m), 0);
}

/* A rescan requested (here by the realtime overflow path's call) is
 * handed to the caller at once, not left for it to poll. */
static void
test_rescan_callback(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(atomic_load(&f->rescans), 0);
	mon_request_rescan(f->m);
	assert_int_equal(atomic_load(&f->rescans), 1);
	assert_int_equal(mon_take_rescan(f->m), 1);
	assert_int_equal(mon_take_rescan(f->m), 0);
}

/* ---- content ---- */

/* The content of a file not everyone may read stays on the host: a
 * hub cannot fetch keys by listing them. */
static void
test_content_refused(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	char path[256];
	json_t *evs, *c;
	int found;
	unsigned char *data;
	size_t dlen;

	put_file(f, "key", "secret 1\n");
	snprintf(path, sizeof(path), "%s/key", f->tree);
	assert_int_equal(chmod(path, 0640), 0);
	set_policy(f, "{\"paths\": [\"%s\"], \"content\": [\"%s\"]}", f->tree,
	    path);
	scan(f, &res);
	evs = drain(f);
	assert_int_equal(count_code(evs, "content-refused"), 1);
	json_decref(evs);
	put_file(f, "key", "secret 2\n");
	scan(f, &res);
	c = expect_one_change(f, "changed", "key", "scan");
	assert_null(json_object_get(c, "diff"));
	json_decref(c);
	put_file(f, "key", "secret 3\n");
	scan(f, &res);
	c = expect_one_change(f, "changed", "key", "scan");
	assert_null(json_object_get(c, "diff"));
	json_decref(c);
	assert_int_equal(aq_content_get(f->q, path, strlen(path), &found,
	    &data, &dlen), 0);
	assert_int_equal(found, 0);
}

/* Content is not read through a symlink on the way to the file. */
static void
test_content_no_symlink(void **state)
{
	struct fixture *f = *state;
	struct mon_scan_result res;
	char link[200], path[256];
	json_t *evs, *c;
	int found;
	unsigned char *data;
	size_t dlen;

	put_dir(f, "d");
	put_file(f, "d/conf", "one\n");
	/* The root lies below a symlink: the scan goes through it. */
	snprintf(link, sizeof(link), "%s/lnk", f->dir);
	assert_int_equal(symlink(f->tree, link), 0);
	snprintf(path, sizeof(path), "%s/d/conf", link);
	set_policy(f, "{\"paths\": [\"%s/d\"], \"content\": [\"%s\"]}",
	    link, path);
	scan(f, &res);
	json_decref(drain(f));
	assert_int_equal(aq_content_get(f->q, path, strlen(path), &found,
	    &data, &dlen), 0);
	assert_int_equal(found, 0);
	put_file(f, "d/conf", "two\n");
	scan(f, &res);
	assert_true(res.changed == 1);
	evs = drain(f);
	c = json_object_get(json_array_get(evs, 0), "change");
	assert_non_null(c);
	assert_null(json_object_get(c, "diff"));
	json_decref(evs);
}

/* ---- policy bounds ---- */

static void
test_policy_bounds(void **state)
{
	struct agent_policy *p = NULL;
	json_t *doc, *a;
	char err[512] = "", cmd[32];
	int i;

	(void)state;
	doc = json_pack("{s:[s,s,s,s]}", "commands", "uname -a", "id",
	    "uname -a", "id");
	assert_int_equal(agent_policy_parse(doc, "1", &p, err, sizeof(err)),
	    0);
	assert_int_equal(p->ncommands, 2);
	assert_string_equal(p->commands[0], "id");
	assert_string_equal(p->commands[1], "uname -a");
	agent_policy_free(p);
	/* 100,000 times the same command is one. */
	a = json_object_get(doc, "commands");
	json_array_clear(a);
	for (i = 0; i < 9000; i++)
		json_array_append_new(a, json_string("id"));
	assert_int_equal(agent_policy_parse(doc, "1", &p, err, sizeof(err)),
	    0);
	assert_int_equal(p->ncommands, 1);
	agent_policy_free(p);
	json_array_clear(a);
	for (i = 0; i < 101; i++) {
		snprintf(cmd, sizeof(cmd), "echo %d", i);
		json_array_append_new(a, json_string(cmd));
	}
	p = NULL;
	assert_int_equal(agent_policy_parse(doc, "1", &p, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_null(p);
	assert_string_equal(err, "commands: more than 100 distinct commands");
	json_decref(doc);
	doc = json_pack("{s:[]}", "exclude");
	a = json_object_get(doc, "exclude");
	for (i = 0; i < 10001; i++)
		json_array_append_new(a, json_string("*.x"));
	assert_int_equal(agent_policy_parse(doc, "1", &p, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_string_equal(err, "exclude: more than 10000 entries");
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_valid),
		cmocka_unit_test(test_policy_errors),
		cmocka_unit_test_setup_teardown(test_first_scan_baseline,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_reported_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_before_baseline,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_content_diff, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_policy_add_root_silent,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_policy_remove_root_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_queue_full_keeps_baseline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_realtime, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_realtime_dir_gone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_watching_before_scan,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_during_first_scan,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_scan_failed_rescans,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rescan_callback, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_revert_while_down, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_realtime_entry_outranks_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_generation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rescan_owed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_realtime_drop_rescans,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_content_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_content_no_symlink, setup,
		    teardown),
		cmocka_unit_test(test_policy_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
