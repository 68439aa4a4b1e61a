/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The agent's file monitoring: the policy, scans against the baseline and
 * realtime changes from the watcher, each change queued once (monitor.h).
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "monitor.h"
#include "vg_baseline.h"
#include "vg_diff.h"
#include "vg_err.h"
#include "vg_json.h"
#include "vg_log.h"
#include "vg_scan.h"
#include "vg_util.h"
#include "watch.h"

#define SCHEDULE_DEFAULT 3600
#define CONTENT_MAX (4u << 20)        /* bytes of a content-tracked file */
#define BATCH_EVENTS 1000             /* changes per queue transaction */
#define BATCH_SECONDS 0.2             /* or at the latest after this */
#define BATCH_CONTENT (32u << 20)     /* or this much content held */
#define RATE_SLEEP_MAX 0.5            /* seconds of one rate-limit pause */
#define POLICY_MAX_ENTRIES 10000      /* entries of a list, as the hub merges */
#define POLICY_MAX_COMMANDS 100       /* distinct commands, the hub's limit */
#define WATCH_READY_MS 30000          /* the watcher's first walk, at most */
#define HELD_MAX 65536                /* realtime paths held before the first
                                         baseline; beyond: a rescan */
#define HELD_BYTES (16u << 20)        /* or this much path text held */

/* ---- the policy ---- */

static int
field_error(char *err, size_t errlen, const char *field, long idx,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
field_error(char *err, size_t errlen, const char *field, long idx,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (idx >= 0)
		snprintf(err, errlen, "%s[%ld]: %s", field, idx, msg);
	else
		snprintf(err, errlen, "%s: %s", field, msg);
	return VG_ERR_INVAL;
}

/* An optional array of strings: *out NULL when absent (or null). */
static int
string_array(const json_t *doc, const char *field, const json_t **out,
    char *err, size_t errlen)
{
	const json_t *a = json_object_get(doc, field), *v;
	size_t i;

	*out = NULL;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return field_error(err, errlen, field, -1, "not an array");
	if (json_array_size(a) > POLICY_MAX_ENTRIES)
		return field_error(err, errlen, field, -1, "more than %d "
		    "entries", POLICY_MAX_ENTRIES);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return field_error(err, errlen, field, (long)i,
			    "not a string");
		if (json_string_length(v) == 0 ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return field_error(err, errlen, field, (long)i,
			    "empty or holding a NUL byte");
	}
	*out = a;
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts n strings and frees the duplicates: the number left. */
static size_t
sort_unique(char **v, size_t n)
{
	size_t i, o;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), str_cmp);
	for (i = 1, o = 1; i < n; i++) {
		if (strcmp(v[i], v[o - 1]) == 0)
			free(v[i]);
		else
			v[o++] = v[i];
	}
	return o;
}

/* Copies an array of strings; sorted without duplicates when sort. */
static int
copy_strings(const json_t *a, int sort, char ***out, size_t *n)
{
	size_t i;
	char **v;

	*out = NULL;
	*n = 0;
	if (a == NULL || json_array_size(a) == 0)
		return 0;
	if ((v = calloc(json_array_size(a), sizeof(*v))) == NULL)
		return VG_ERR_NOMEM;
	*out = v;
	for (i = 0; i < json_array_size(a); i++) {
		if ((v[i] = strdup(json_string_value(json_array_get(a, i)))) ==
		    NULL)
			return VG_ERR_NOMEM;
		(*n)++;
	}
	if (sort)
		*n = sort_unique(v, *n);
	return 0;
}

static void
free_strings(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
add_patterns(struct vg_rules *r, const json_t *a, int include,
    const char *field, char *err, size_t errlen)
{
	const json_t *v;
	char msg[512];
	size_t i;
	int rv;

	json_array_foreach(a, i, v) {
		/* A path ("/var/cache") is a glob with '/': the whole path. */
		if ((rv = vg_rules_add_rule(r, include, 0,
		    json_string_value(v), msg, sizeof(msg))) != 0) {
			if (rv == VG_ERR_INVAL)
				field_error(err, errlen, field, (long)i, "%s",
				    msg);
			return rv;
		}
	}
	return 0;
}

static int
policy_hash(struct vg_rules *r, const json_t *doc, char *err, size_t errlen)
{
	const json_t *v;
	uint64_t size;

	if ((v = json_object_get(doc, "hash")) != NULL) {
		if (!json_is_string(v))
			return field_error(err, errlen, "hash", -1,
			    "not a string");
		if (vg_hash_parse(json_string_value(v), &r->hash) != 0 ||
		    r->hash == VG_HASH_NONE)
			return field_error(err, errlen, "hash", -1,
			    "unknown algorithm \"%.64s\"",
			    json_string_value(v));
		if (vg_hash_is_weak(r->hash))
			return field_error(err, errlen, "hash", -1,
			    "%s is weak", json_string_value(v));
	}
	if ((v = json_object_get(doc, "max_hash_size")) != NULL) {
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			r->max_hash_size = (uint64_t)json_integer_value(v);
		else if (json_is_string(v) &&
		    vg_parse_size(json_string_value(v), &size) == 0)
			r->max_hash_size = size;
		else
			return field_error(err, errlen, "max_hash_size", -1,
			    "not a size (bytes, or a number with K, M, G, T)");
	}
	return 0;
}

/* paths, exclude then include, hash, max_hash_size: *out NULL when there
 * are no paths (the other fields are still checked). */
static int
policy_rules(const json_t *doc, struct vg_rules **out, char *err,
    size_t errlen)
{
	const json_t *paths, *inc, *exc, *v;
	struct vg_rules *r = NULL;
	char msg[512];
	size_t i;
	int rv;

	*out = NULL;
	if ((rv = string_array(doc, "paths", &paths, err, errlen)) != 0 ||
	    (rv = string_array(doc, "include", &inc, err, errlen)) != 0 ||
	    (rv = string_array(doc, "exclude", &exc, err, errlen)) != 0)
		return rv;
	if ((rv = vg_rules_new(&r)) != 0)
		return rv;
	json_array_foreach(paths, i, v) {
		if (json_string_value(v)[0] != '/') {
			rv = field_error(err, errlen, "paths", (long)i,
			    "not an absolute path");
			goto out;
		}
		if ((rv = vg_rules_add_root(r, json_string_value(v), msg,
		    sizeof(msg))) != 0) {
			if (rv == VG_ERR_INVAL)
				field_error(err, errlen, "paths", (long)i,
				    "%s", msg);
			goto out;
		}
	}
	/* Tried from the last: an include takes back what an exclude
	 * left out. */
	if ((rv = add_patterns(r, exc, 0, "exclude", err, errlen)) != 0 ||
	    (rv = add_patterns(r, inc, 1, "include", err, errlen)) != 0 ||
	    (rv = policy_hash(r, doc, err, errlen)) != 0)
		goto out;
	if (r->nroots == 0)
		goto out;
	if ((rv = vg_rules_finish(r, msg, sizeof(msg))) != 0) {
		field_error(err, errlen, "paths", -1, "%s", msg);
		goto out;
	}
	*out = r;
	r = NULL;
out:
	vg_rules_free(r);
	return rv;
}

static int
policy_system(struct agent_policy *p, const json_t *doc, char *err,
    size_t errlen)
{
	const json_t *sys, *cmds, *v;
	unsigned bit;
	size_t i;
	int rv;

	if ((rv = string_array(doc, "system", &sys, err, errlen)) != 0 ||
	    (rv = string_array(doc, "commands", &cmds, err, errlen)) != 0)
		return rv;
	json_array_foreach(sys, i, v) {
		if (collect_parse(json_string_value(v), &bit) != 0)
			return field_error(err, errlen, "system", (long)i,
			    "unknown collector \"%.64s\"",
			    json_string_value(v));
		p->collect |= bit;
	}
	if ((rv = copy_strings(cmds, 1, &p->commands, &p->ncommands)) != 0)
		return rv;
	if (p->ncommands > POLICY_MAX_COMMANDS)
		return field_error(err, errlen, "commands", -1, "more than %d "
		    "distinct commands", POLICY_MAX_COMMANDS);
	if (p->ncommands > 0)
		p->collect |= COLLECT_COMMANDS;
	return 0;
}

int
agent_policy_parse(const json_t *doc, const char *version,
    struct agent_policy **out, char *err, size_t errlen)
{
	struct agent_policy *p = NULL;
	const json_t *content, *v;
	size_t i;
	int rv;

	*out = NULL;
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "policy: not a JSON object");
		return VG_ERR_INVAL;
	}
	if (version != NULL && strlen(version) >= sizeof(p->version)) {
		snprintf(err, errlen, "version: longer than %zu bytes",
		    sizeof(p->version) - 1);
		return VG_ERR_INVAL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return VG_ERR_NOMEM;
	p->doc = json_incref((json_t *)doc);
	snprintf(p->version, sizeof(p->version), "%s", version ? version :
	    "");
	p->schedule = SCHEDULE_DEFAULT;
	if ((rv = policy_rules(doc, &p->rules, err, errlen)) != 0 ||
	    (rv = string_array(doc, "content", &content, err, errlen)) != 0)
		goto out;
	json_array_foreach(content, i, v) {
		if (json_string_value(v)[0] != '/') {
			rv = field_error(err, errlen, "content", (long)i,
			    "not an absolute path");
			goto out;
		}
	}
	if ((rv = copy_strings(content, 1, &p->content, &p->ncontent)) != 0)
		goto out;
	if ((v = json_object_get(doc, "realtime")) != NULL) {
		if (!json_is_boolean(v)) {
			rv = field_error(err, errlen, "realtime", -1,
			    "not a boolean");
			goto out;
		}
		p->realtime = json_is_true(v);
	}
	if ((v = json_object_get(doc, "schedule")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 366L * 86400) {
			rv = field_error(err, errlen, "schedule", -1,
			    "not a number of seconds from 1 to a year");
			goto out;
		}
		p->schedule = (long)json_integer_value(v);
	}
	if ((rv = policy_system(p, doc, err, errlen)) != 0)
		goto out;
	*out = p;
	p = NULL;
out:
	agent_policy_free(p);
	return rv;
}

void
agent_policy_free(struct agent_policy *p)
{
	if (p == NULL)
		return;
	json_decref(p->doc);
	vg_rules_free(p->rules);
	free_strings(p->content, p->ncontent);
	free_strings(p->commands, p->ncommands);
	free(p);
}

/* ---- the monitor's state ---- */

/*
 * What a scan or the watcher works with: copies taken from a policy and
 * shared by reference, so that a new policy never pulls them from under
 * a scan or a watcher still running.
 */
struct snap {
	unsigned refs;             /* under mon.mu */
	struct vg_rules *rules;    /* NULL: no paths */
	char *rules_text;          /* canonical form, to compare policies */
	char **content;            /* sorted */
	size_t ncontent;
	/* content-refused said for content[i] (once per path and policy) */
	atomic_uchar *refused;
	int realtime;
};

/* The realtime watcher of one snap. */
struct rt {
	struct mon *m;
	struct snap *s;
	struct watch *w;
	int limit_reported;        /* watch-limit said once; watcher thread */
	atomic_int fail_logged;    /* a failure logged */
};

struct mon {
	char *baseline_path;
	struct aq *q;
	unsigned debounce_ms;
	int workers;
	uint64_t rate_limit;
	void (*queued)(void *arg);
	void (*rescan_cb)(void *arg);
	void *arg;

	pthread_mutex_t mu;        /* cur, rt, rescan, snap refs */
	struct snap *cur;
	struct rt *rt;
	int rescan;
	_Atomic uint64_t rt_events;
	/* The scan generation (kv "scan_gen"): overlay entries are stamped
	 * 2 * gen by a scan and 2 * gen + 1 by realtime, so that what the
	 * watcher wrote while a scan runs outranks the scan's view. */
	_Atomic int64_t gen;

	/* The baseline as realtime sees it: reopened after each scan that
	 * wrote one. */
	pthread_mutex_t lookup_mu;
	struct vg_baseline *lookup;
	/* Under lookup_mu: the paths realtime saw while there was no
	 * baseline (a first scan running), checked against the baseline
	 * once it is committed. A change after the scan read a file would
	 * be missed until the next scheduled scan otherwise. Sorted and
	 * without duplicates up to nsorted. */
	char **held;
	size_t nheld, capheld, nsorted, held_bytes;
	int held_over;             /* too many: a rescan instead */
};

static void
snap_free(struct snap *s)
{
	if (s == NULL)
		return;
	vg_rules_free(s->rules);
	free(s->rules_text);
	free_strings(s->content, s->ncontent);
	free(s->refused);
	free(s);
}

/* Rules read back from their canonical text: a copy of their own. */
static int
rules_from_text(const char *text, const char *source, struct vg_rules **out,
    char *err, size_t errlen)
{
	struct vg_rules *r = NULL;
	int rv;

	*out = NULL;
	if ((rv = vg_rules_new(&r)) != 0)
		return rv;
	if ((rv = vg_rules_parse(r, text, strlen(text), source, err,
	    errlen)) != 0 || (rv = vg_rules_finish(r, err, errlen)) != 0) {
		vg_rules_free(r);
		return rv;
	}
	*out = r;
	return 0;
}

static int
snap_new(const struct agent_policy *p, struct snap **out, char *err,
    size_t errlen)
{
	struct snap *s;
	size_t i;
	int rv = VG_ERR_NOMEM;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return VG_ERR_NOMEM;
	s->refs = 1;
	s->realtime = p->realtime;
	if (p->rules != NULL) {
		if ((s->rules_text = vg_rules_serialize(p->rules)) == NULL)
			goto fail;
		if ((rv = rules_from_text(s->rules_text, "policy", &s->rules,
		    err, errlen)) != 0)
			goto fail;
	}
	rv = VG_ERR_NOMEM;
	if (p->ncontent > 0 &&
	    ((s->content = calloc(p->ncontent, sizeof(char *))) == NULL ||
	    (s->refused = calloc(p->ncontent, sizeof(*s->refused))) == NULL))
		goto fail;
	for (i = 0; i < p->ncontent; i++) {
		if ((s->content[i] = strdup(p->content[i])) == NULL)
			goto fail;
		s->ncontent++;
	}
	*out = s;
	return 0;
fail:
	if (rv == VG_ERR_NOMEM)
		snprintf(err, errlen, "out of memory");
	snap_free(s);
	return rv;
}

static struct snap *
snap_get(struct mon *m)
{
	struct snap *s;

	pthread_mutex_lock(&m->mu);
	if ((s = m->cur) != NULL)
		s->refs++;
	pthread_mutex_unlock(&m->mu);
	return s;
}

static void
snap_put(struct mon *m, struct snap *s)
{
	unsigned left;

	if (s == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	left = --s->refs;
	pthread_mutex_unlock(&m->mu);
	if (left == 0)
		snap_free(s);
}

static int
same_str(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static int
same_content(const struct snap *a, const struct snap *b)
{
	size_t i;

	if (a->ncontent != b->ncontent)
		return 0;
	for (i = 0; i < a->ncontent; i++)
		if (strcmp(a->content[i], b->content[i]) != 0)
			return 0;
	return 1;
}

/* The index of a content-tracked path, or -1. */
static long
tracked_at(const struct snap *s, const char *path)
{
	char **p;

	if (s->ncontent == 0 || (p = bsearch(&path, s->content, s->ncontent,
	    sizeof(char *), str_cmp)) == NULL)
		return -1;
	return (long)(p - s->content);
}

static int
tracked(const struct snap *s, const char *path)
{
	return tracked_at(s, path) >= 0;
}

/* ---- queueing: changes in batches, one transaction each ---- */

struct pending {
	struct vg_change c;        /* has_change: the change to queue */
	int has_change;            /* 0: content only */
	int verify;                /* from the overlay: silent when equal */
	int64_t time_ns;
	char *path;                /* of the change or content */
	size_t len;
	int content;               /* 1: store data (NULL: delete) */
	unsigned char *data;
	size_t dlen;
};

struct batch {
	struct pending *v;
	size_t n, cap;
	size_t content_bytes;
	double first;
	uint32_t ignore;           /* the rules' ignored attributes */
};

/* What the flushes of a scan or a realtime round did. */
struct flush_count {
	uint64_t dropped, queued, suppressed;
	uint64_t added, removed, changed;
};

static void
pending_clear(struct pending *pe)
{
	vg_change_clear(&pe->c);
	free(pe->path);
	free(pe->data);
	memset(pe, 0, sizeof(*pe));
}

static void
batch_clear(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		pending_clear(&b->v[i]);
	b->n = 0;
	b->content_bytes = 0;
}

static void
batch_free(struct batch *b)
{
	batch_clear(b);
	free(b->v);
	memset(b, 0, sizeof(*b));
}

static struct pending *
batch_add(struct batch *b)
{
	struct pending *v;
	size_t cap;

	if (b->n == b->cap) {
		cap = b->cap ? b->cap * 2 : 64;
		if ((v = reallocarray(b->v, cap, sizeof(*v))) == NULL)
			return NULL;
		b->v = v;
		b->cap = cap;
	}
	if (b->n == 0)
		b->first = vg_now();
	v = &b->v[b->n++];
	memset(v, 0, sizeof(*v));
	return v;
}

static int
batch_due(const struct batch *b)
{
	return b->n >= BATCH_EVENTS || b->content_bytes >= BATCH_CONTENT ||
	    (b->n > 0 && vg_now() - b->first >= BATCH_SECONDS);
}

/*
 * Sets the type of c from its sides (old NULL: added, new NULL:
 * removed). 0 when there is nothing to report: both sides absent, or
 * equal in what the rules compare.
 */
static int
change_type(struct vg_change *c, uint32_t ignore)
{
	c->changed = 0;
	if (c->old == NULL && c->new == NULL)
		return 0;
	if (c->old == NULL)
		c->type = VG_CHANGE_ADDED;
	else if (c->new == NULL)
		c->type = VG_CHANGE_REMOVED;
	else {
		c->type = VG_CHANGE_CHANGED;
		c->changed = vg_item_diff(c->old, c->new, vg_scan_ignore_mask(
		    c->old->ftype == c->new->ftype ? c->new->ftype : VG_FT_NONE,
		    ignore));
		return c->changed != 0;
	}
	return 1;
}

/*
 * Inside the flush's transaction, so that the other thread cannot write
 * the overlay between this look and the write: the change of pe against
 * the path's overlay entry, which is what the hub was told last. *report
 * 0 when that already is the new state, or when realtime wrote the entry
 * during this scan (stamp lower than the entry's): the watcher reports
 * what follows it.
 */
static int
against_overlay(struct mon *m, struct pending *pe, int64_t stamp,
    uint32_t ignore, int *report)
{
	struct vg_item *ov = NULL;
	int64_t ostamp;
	int found, rv;

	*report = 1;
	if ((rv = aq_overlay_get_stamp(m->q, pe->path, pe->len, &found, &ov,
	    &ostamp)) != 0 || !found)
		return rv;
	if (ostamp > stamp) {
		vg_item_free(ov);
		*report = 0;
		return 0;
	}
	vg_item_free(pe->c.old);
	pe->c.old = ov;
	*report = change_type(&pe->c, ignore);
	return 0;
}

static void
count_change(struct flush_count *fc, enum vg_change_type t)
{
	if (t == VG_CHANGE_ADDED)
		fc->added++;
	else if (t == VG_CHANGE_REMOVED)
		fc->removed++;
	else
		fc->changed++;
}

/* Inside the flush's transaction: queues the change of pe with its
 * overlay entry, unless the overlay says it was reported. */
static int
flush_change(struct mon *m, struct pending *pe, const char *origin,
    int64_t stamp, uint32_t ignore, struct flush_count *fc, int *stored)
{
	json_t *cj, *body;
	int report, rv;

	*stored = 0;
	if ((rv = against_overlay(m, pe, stamp, ignore, &report)) != 0)
		return rv;
	if (!report) {
		if (!pe->verify)
			fc->suppressed++;
		return 0;
	}
	count_change(fc, pe->c.type);
	if ((cj = vg_change_to_json(&pe->c)) == NULL ||
	    (body = json_pack("{s:o}", "change", cj)) == NULL)
		return VG_ERR_NOMEM;
	rv = aq_event(m->q, origin, pe->time_ns, body, NULL);
	json_decref(body);
	if (rv == VG_ERR_TOOBIG) {
		fc->dropped++;
		return 0;
	}
	if (rv != 0 || (rv = aq_overlay_put(m->q, pe->path, pe->len,
	    pe->c.new, stamp)) != 0)
		return rv;
	fc->queued++;
	*stored = 1;
	return 0;
}

/*
 * Queues the batch in one transaction: each change against the overlay
 * as it is inside it, with its overlay entry (stamped from the scan
 * generation) and content. An event the full queue refuses is counted as
 * dropped and writes nothing else. The counts go into *fc on commit.
 */
static int
batch_flush(struct mon *m, struct batch *b, int realtime,
    struct flush_count *fc, char *err, size_t errlen)
{
	struct flush_count n;
	struct pending *pe;
	int64_t stamp;
	size_t i;
	int rv, stored;

	if (b->n == 0)
		return 0;
	memset(&n, 0, sizeof(n));
	if ((rv = aq_begin(m->q)) != 0) {
		snprintf(err, errlen, "cannot start a queue transaction: %s",
		    vg_strerror(rv));
		goto out;
	}
	/* Read under the queue's lock: a scan moves it in a transaction. */
	stamp = atomic_load(&m->gen) * 2 + (realtime ? 1 : 0);
	for (i = 0; i < b->n; i++) {
		pe = &b->v[i];
		stored = 1;
		if (pe->has_change && (rv = flush_change(m, pe, realtime ?
		    "realtime" : "scan", stamp, b->ignore, &n, &stored)) != 0)
			goto fail;
		if (stored && pe->content && (rv = aq_content_put(m->q,
		    pe->path, pe->len, pe->data, pe->dlen)) != 0)
			goto fail;
	}
	if ((rv = aq_commit(m->q, err, errlen)) != 0)
		goto out;
	fc->dropped += n.dropped;
	fc->queued += n.queued;
	fc->suppressed += n.suppressed;
	fc->added += n.added;
	fc->removed += n.removed;
	fc->changed += n.changed;
	if (n.queued > 0 && m->queued != NULL)
		m->queued(m->arg);
	goto out;
fail:
	aq_rollback(m->q);
	snprintf(err, errlen, "cannot queue a change: %s", vg_strerror(rv));
out:
	batch_clear(b);
	return rv;
}

/* One agent-health event in a transaction of its own. path may be NULL. */
static int
queue_agent(struct mon *m, const char *origin, const char *code,
    const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
queue_agent(struct mon *m, const char *origin, const char *code,
    const char *path, const char *fmt, ...)
{
	char msg[2048], *clean = NULL, e[256];
	json_t *body, *a;
	va_list ap;
	int rv = VG_ERR_NOMEM;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* JSON holds UTF-8 only: the path of a file need not be. */
	if ((clean = vg_utf8_sanitize(msg, strlen(msg))) == NULL)
		return VG_ERR_NOMEM;
	body = json_pack("{s:{s:s, s:s}}", "agent", "code", code, "message",
	    clean);
	free(clean);
	clean = NULL;
	if (body == NULL)
		return VG_ERR_NOMEM;
	if (path != NULL) {
		a = json_object_get(body, "agent");
		if ((clean = vg_utf8_sanitize(path, strlen(path))) == NULL ||
		    json_object_set_new(a, "path", json_string(clean)) != 0)
			goto out;
	}
	if ((rv = aq_begin(m->q)) != 0)
		goto out;
	if ((rv = aq_event(m->q, origin, vg_wall_ns(), body, NULL)) != 0) {
		aq_rollback(m->q);
		goto out;
	}
	if ((rv = aq_commit(m->q, e, sizeof(e))) == 0 && m->queued != NULL)
		m->queued(m->arg);
out:
	free(clean);
	json_decref(body);
	return rv;
}

/* ---- content-tracked files ---- */

/*
 * Opens a file for its content without following a symlink anywhere in
 * the path: the content must be the file the scan hashed, not one a
 * symlink swapped into a parent folder points to.
 */
static int
open_nofollow(const char *path)
{
#ifdef SYS_openat2
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
	how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd >= 0 || errno != ENOSYS)
		return (int)fd;
#endif
	/* Before Linux 5.6: only the last component is checked. */
	return open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC);
}

/* The open file is the item scanned: same file, size and mtime. */
static int
same_file(const struct stat *st, const struct vg_item *it)
{
	return S_ISREG(st->st_mode) && (uint64_t)st->st_dev == it->dev &&
	    (uint64_t)st->st_ino == it->inode &&
	    (uint64_t)st->st_size == it->size &&
	    (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec ==
	    it->mtime_ns;
}

/* Reads at most CONTENT_MAX bytes of the regular file it: 0 with the
 * data (malloc'd; NULL for an empty file), or -1 when it cannot be read,
 * is larger, or is not (or no longer) the file scanned: the next change
 * of it brings the content. */
static int
read_content(const struct vg_item *it, unsigned char **data, size_t *len)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd;

	*data = NULL;
	*len = 0;
	if ((fd = open_nofollow(it->path)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !same_file(&st, it) ||
	    (uint64_t)st.st_size > CONTENT_MAX ||
	    (buf = malloc(CONTENT_MAX + 1)) == NULL)
		goto fail;
	while (got <= CONTENT_MAX) {
		if ((n = read(fd, buf + got, CONTENT_MAX + 1 - got)) == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		got += (size_t)n;
	}
	if (got != (size_t)st.st_size || fstat(fd, &st) == -1 ||
	    !same_file(&st, it))
		goto fail;     /* changed while read */
	close(fd);
	if (got == 0) {
		free(buf);
		return 0;
	}
	*data = buf;
	*len = got;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

/*
 * Whether the content of the tracked file it may go to the hub: only
 * that of a file everyone may read, so that a policy cannot fetch
 * secrets (keys, shadow). Said once per path and policy.
 */
static int
content_allowed(struct mon *m, const struct snap *s, const struct vg_item *it,
    const char *origin)
{
	long i;

	if (it->mode & S_IROTH)
		return 1;
	if ((i = tracked_at(s, it->path)) >= 0 &&
	    atomic_exchange(&s->refused[i], 1) == 0)
		queue_agent(m, origin, "content-refused", it->path, "%s is not "
		    "readable by everyone: its content is not sent to the hub",
		    it->path);
	return 0;
}

/*
 * A change of a content-tracked path: the new content goes with it into
 * the queue (pe), and a change of a file whose last content is known
 * carries the diff. A file gone, no longer readable as one, or not
 * readable by everyone drops what was kept.
 */
static int
content_change(struct mon *m, const struct snap *s, const char *origin,
    struct vg_change *c, struct pending *pe)
{
	struct vg_diff_opts opts;
	struct vg_diff_result res;
	unsigned char *old = NULL;
	size_t olen = 0;
	int found = 0, rv;

	pe->content = 1;
	if (c->new == NULL || c->new->ftype != VG_FT_REG ||
	    !content_allowed(m, s, c->new, origin) ||
	    read_content(c->new, &pe->data, &pe->dlen) != 0)
		return 0;        /* pe->data NULL: deletes */
	if (c->type != VG_CHANGE_CHANGED)
		return 0;
	if ((rv = aq_content_get(m->q, c->new->path, c->new->path_len, &found,
	    &old, &olen)) != 0)
		return rv;
	if (!found)
		return 0;
	vg_diff_opts_default(&opts);
	memset(&res, 0, sizeof(res));
	if ((rv = vg_diff_unified((const char *)old, olen,
	    (const char *)pe->data, pe->dlen, c->new->path, c->new->path,
	    &opts, &res)) == 0 && res.len > 0) {
		free(c->diff);
		c->diff = res.text;
		c->diff_truncated = res.truncated;
		res.text = NULL;
	}
	vg_diff_result_free(&res);
	free(old);
	return rv;
}

/*
 * Puts a change into the batch with the content of a tracked file; the
 * flush sets its old side from the overlay. Takes what c holds (c is
 * cleared). verify: a check of the overlay, silent when nothing moved.
 */
static int
batch_change(struct mon *m, const struct snap *s, struct batch *b,
    struct vg_change *c, const char *origin, int verify)
{
	const struct vg_item *it = c->new ? c->new : c->old;
	struct pending *pe;
	int rv = VG_ERR_NOMEM;

	if ((pe = batch_add(b)) == NULL)
		goto out;
	pe->time_ns = vg_wall_ns();
	pe->verify = verify;
	if ((pe->path = strndup(it->path, it->path_len)) == NULL)
		goto out;
	pe->len = it->path_len;
	if (tracked(s, pe->path) &&
	    (rv = content_change(m, s, origin, c, pe)) != 0)
		goto out;
	b->content_bytes += pe->dlen;
	pe->c = *c;
	pe->has_change = 1;
	memset(c, 0, sizeof(*c));
	rv = 0;
out:
	if (rv != 0 && pe != NULL) {
		pending_clear(pe);
		b->n--;
	}
	vg_change_clear(c);
	return rv;
}

/* Content of a tracked file seen with no change to report: kept
 * silently when nothing is known of it yet. */
static int
batch_first_content(struct mon *m, struct batch *b, const struct vg_item *it)
{
	struct pending *pe;
	unsigned char *old = NULL;
	size_t olen;
	int found, rv;

	if ((rv = aq_content_get(m->q, it->path, it->path_len, &found, &old,
	    &olen)) != 0)
		return rv;
	free(old);
	if (found)
		return 0;
	if ((pe = batch_add(b)) == NULL)
		return VG_ERR_NOMEM;
	pe->content = 1;
	pe->len = it->path_len;
	if ((pe->path = strndup(it->path, it->path_len)) == NULL ||
	    read_content(it, &pe->data, &pe->dlen) != 0) {
		rv = pe->path == NULL ? VG_ERR_NOMEM : 0;
		pending_clear(pe);
		b->n--;
		return rv;
	}
	b->content_bytes += pe->dlen;
	return 0;
}

/* ---- scans ---- */

static int held_take(struct mon *m, char ***paths, size_t *n);
static void held_check(struct mon *m, struct snap *s, char **paths,
    size_t n, int over);

/* What a scan learns of an overlay entry (scan_ctx.ovflag). */
#define OV_SEEN 1           /* its path is in the tree */
#define OV_REPORTED 2       /* the scan found a change of it */
#define OV_VERIFIED 4       /* queued against the overlay */

struct scan_ctx {
	struct mon *m;
	struct snap *s;
	struct vg_rules *old_rules;  /* the old baseline's; NULL unknown */
	struct vg_baseline_writer *w;
	struct batch b;
	struct vg_item **seen;       /* tracked files with no change */
	size_t nseen, capseen;
	/* The overlay as the scan started, sorted by path: the old side
	 * of what the hub was told since the baseline. */
	struct aq_overlay_entry *ov;
	unsigned char *ovflag;
	size_t nov;
	int64_t gen, stamp;          /* the scan's generation and stamp */
	char marker[32];             /* kv "rescan" this scan serves */
	double t0;
	volatile sig_atomic_t *stop;
	struct mon_scan_result *res;
	struct flush_count fc;
	int err;                     /* a callback's error */
	char errmsg[512];
};

static int
scan_fail(struct scan_ctx *x, int rv, const char *what)
{
	if (x->err == 0) {
		x->err = rv;
		if (what != NULL)
			snprintf(x->errmsg, sizeof(x->errmsg), "%s", what);
		else
			snprintf(x->errmsg, sizeof(x->errmsg), "%s",
			    vg_strerror(rv));
	}
	return x->err;
}

static int
scan_flush(struct scan_ctx *x)
{
	char msg[512];
	int rv;

	if ((rv = batch_flush(x->m, &x->b, 0, &x->fc, msg, sizeof(msg))) != 0)
		return scan_fail(x, rv, msg);
	return 0;
}

/* The overlay entry of a path, or NULL. */
static long
ov_find(const struct scan_ctx *x, const char *path, size_t len)
{
	size_t lo = 0, hi = x->nov, mid;
	const struct aq_overlay_entry *e;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		e = &x->ov[mid];
		c = memcmp(e->path, path, e->len < len ? e->len : len);
		if (c == 0)
			c = e->len < len ? -1 : e->len > len;
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Queues a change from the overlay's state old to now (either NULL);
 * *queued 0 when they are equal. */
static int
ov_queue(struct scan_ctx *x, const struct vg_item *old,
    const struct vg_item *now, int *queued)
{
	struct vg_change c;
	int rv;

	*queued = 0;
	memset(&c, 0, sizeof(c));
	if ((old != NULL && (c.old = vg_item_dup(old)) == NULL) ||
	    (now != NULL && (c.new = vg_item_dup(now)) == NULL)) {
		vg_change_clear(&c);
		return scan_fail(x, VG_ERR_NOMEM, NULL);
	}
	if (!change_type(&c, x->s->rules->ignore)) {
		vg_change_clear(&c);
		return 0;
	}
	if ((rv = batch_change(x->m, x->s, &x->b, &c, "scan", 1)) != 0)
		return scan_fail(x, rv, NULL);
	*queued = 1;
	return batch_due(&x->b) ? scan_flush(x) : 0;
}

/*
 * An item of the tree whose path has an overlay entry: the scan reports
 * changes against the baseline only, so a state that went back to the
 * baseline's (while the agent was down, or after a baseline the full
 * queue kept from being written) is found here. kept: the item is the
 * baseline's, unread; the entry then stays for the next scan.
 */
static int
ov_item(struct scan_ctx *x, const struct vg_item *it, int kept)
{
	const struct aq_overlay_entry *e;
	long i;
	int rv, queued;

	if (x->nov == 0 || (i = ov_find(x, it->path, it->path_len)) < 0)
		return 0;
	e = &x->ov[i];
	x->ovflag[i] |= OV_SEEN;
	if (kept) {
		if ((rv = aq_overlay_restamp(x->m->q, e->path, e->len,
		    x->stamp)) != 0)
			return scan_fail(x, rv, "cannot keep a file's state");
		return 0;
	}
	if (x->ovflag[i] & OV_REPORTED)
		return 0;
	rv = ov_queue(x, e->state, it, &queued);
	if (queued)
		x->ovflag[i] |= OV_VERIFIED;
	return rv;
}

/* After the walk: the overlay entries of paths no longer in the tree
 * that the scan did not report removed. */
static int
ov_gone(struct scan_ctx *x)
{
	const struct aq_overlay_entry *e;
	size_t i;
	int rv, queued;

	for (i = 0; i < x->nov && x->err == 0; i++) {
		e = &x->ov[i];
		if ((x->ovflag[i] & (OV_SEEN | OV_REPORTED)) || e->state == NULL)
			continue;
		/* Not covered by the rules now: dropped silently. */
		if (vg_scan_covers(x->s->rules, e->path, e->len,
		    e->state->ftype == VG_FT_DIR) != 1)
			continue;
		if ((rv = ov_queue(x, e->state, NULL, &queued)) != 0)
			return rv;
	}
	return x->err;
}

static int
scan_item_kept(struct scan_ctx *x, const struct vg_item *it, int kept)
{
	char msg[512];
	struct vg_item **v;
	size_t cap;
	int rv;

	if (x->err != 0)
		return x->err;
	if ((rv = vg_baseline_put(x->w, it, msg, sizeof(msg))) != 0)
		return scan_fail(x, rv, msg);
	if ((rv = ov_item(x, it, kept)) != 0)
		return rv;
	if (kept || it->ftype != VG_FT_REG || !tracked(x->s, it->path) ||
	    !content_allowed(x->m, x->s, it, "scan"))
		return 0;
	if (x->nseen == x->capseen) {
		cap = x->capseen ? x->capseen * 2 : 16;
		if ((v = reallocarray(x->seen, cap, sizeof(*v))) == NULL)
			return scan_fail(x, VG_ERR_NOMEM, NULL);
		x->seen = v;
		x->capseen = cap;
	}
	if ((x->seen[x->nseen] = vg_item_dup(it)) == NULL)
		return scan_fail(x, VG_ERR_NOMEM, NULL);
	x->nseen++;
	return 0;
}

static int
scan_item(void *arg, const struct vg_item *it)
{
	return scan_item_kept(arg, it, 0);
}

static int
scan_kept(void *arg, const struct vg_item *it)
{
	return scan_item_kept(arg, it, 1);
}

/* A tracked file that had its change queued needs no first content. */
static void
seen_done(struct scan_ctx *x, const char *path)
{
	size_t i;

	for (i = 0; i < x->nseen; i++) {
		if (strcmp(x->seen[i]->path, path) == 0) {
			vg_item_free(x->seen[i]);
			x->seen[i] = x->seen[--x->nseen];
			return;
		}
	}
}

/*
 * Whether a change only reflects a policy change: a path added that the
 * old rules did not cover, or removed that the new ones do not.
 */
static int
policy_silent(const struct scan_ctx *x, const struct vg_change *c)
{
	const struct vg_item *it = c->new ? c->new : c->old;
	int dir = it->ftype == VG_FT_DIR;

	if (c->type == VG_CHANGE_ADDED)
		return x->old_rules != NULL && vg_scan_covers(x->old_rules,
		    it->path, it->path_len, dir) == 0;
	if (c->type == VG_CHANGE_REMOVED)
		return vg_scan_covers(x->s->rules, it->path, it->path_len,
		    dir) == 0;
	return 0;
}

/* A change against the baseline: queued against the overlay (the
 * flush takes its entry as the old side, suppressing what the hub was
 * told already). */
static int
scan_change(void *arg, struct vg_change *c)
{
	struct scan_ctx *x = arg;
	const struct vg_item *it = c->new ? c->new : c->old;
	long i;
	int rv;

	if (x->err != 0 || policy_silent(x, c)) {
		vg_change_clear(c);
		return x->err;
	}
	if ((i = ov_find(x, it->path, it->path_len)) >= 0) {
		/* Queued from the overlay when its item came. */
		if (x->ovflag[i] & OV_VERIFIED) {
			vg_change_clear(c);
			return 0;
		}
		x->ovflag[i] |= OV_REPORTED;
	}
	seen_done(x, it->path);
	if ((rv = batch_change(x->m, x->s, &x->b, c, "scan", 0)) != 0)
		return scan_fail(x, rv, NULL);
	return batch_due(&x->b) ? scan_flush(x) : 0;
}

/* Called about ten times a second on the scan's thread: queues what
 * waits, and holds hashing to the rate limit. */
static void
scan_progress(void *arg, const struct vg_scan_stats *st)
{
	struct scan_ctx *x = arg;
	double ahead;
	struct timespec ts;

	if (x->err == 0 && batch_due(&x->b))
		scan_flush(x);
	if (x->m->rate_limit == 0)
		return;
	ahead = (double)st->bytes_hashed / (double)x->m->rate_limit -
	    (vg_now() - x->t0);
	if (ahead <= 0 || (x->stop != NULL && *x->stop))
		return;
	if (ahead > RATE_SLEEP_MAX)
		ahead = RATE_SLEEP_MAX;
	ts.tv_sec = (time_t)ahead;
	ts.tv_nsec = (long)((ahead - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static int
set_baseline_meta(struct scan_ctx *x, int64_t start_ns, char *err,
    size_t errlen)
{
	char when[VG_TIME_BUFLEN], host[256] = "";
	int rv;

	vg_time_format(start_ns, when);
	gethostname(host, sizeof(host) - 1);
	if ((rv = vg_baseline_set_meta(x->w, "rules", x->s->rules_text, err,
	    errlen)) != 0 ||
	    (rv = vg_baseline_set_meta(x->w, "created", when, err,
	    errlen)) != 0 ||
	    (rv = vg_baseline_set_meta(x->w, "host", host, err, errlen)) != 0 ||
	    (rv = vg_baseline_set_meta(x->w, "vigil_version", VIGIL_VERSION,
	    err, errlen)) != 0)
		return rv;
	return vg_baseline_set_meta(x->w, "mode", "agent", err, errlen);
}

/* The old baseline, or NULL (first scan). One that cannot be read as a
 * baseline is replaced, and said so. */
static int
open_old(struct mon *m, struct vg_baseline **old, char *err, size_t errlen)
{
	char msg[512];
	int rv;

	rv = vg_baseline_open(m->baseline_path, old, msg, sizeof(msg));
	if (rv == VG_ERR_NOTFOUND)
		return 0;
	if (rv == VG_ERR_CORRUPT || rv == VG_ERR_FORMAT ||
	    rv == VG_ERR_VERSION) {
		queue_agent(m, "scan", "baseline-unreadable", NULL, "%s; a "
		    "new baseline is made (changes until now are not "
		    "reported)", msg);
		return 0;
	}
	if (rv != 0)
		snprintf(err, errlen, "%s", msg);
	return rv;
}

/* The content of tracked files no change covered, the batch, then in
 * a first scan the "baseline" event: all before the baseline. */
static int
scan_finish_queue(struct scan_ctx *x, int first, uint64_t items)
{
	size_t i;
	int rv;

	for (i = 0; i < x->nseen; i++) {
		if ((rv = batch_first_content(x->m, &x->b, x->seen[i])) != 0)
			return scan_fail(x, rv, NULL);
		if (batch_due(&x->b) && scan_flush(x) != 0)
			return x->err;
	}
	if (scan_flush(x) != 0)
		return x->err;
	if (first && (rv = queue_agent(x->m, "scan", "baseline", NULL,
	    "baseline of %llu items created", (unsigned long long)items)) !=
	    0) {
		if (rv != VG_ERR_TOOBIG)
			return scan_fail(x, rv, "cannot queue the baseline "
			    "event");
		x->fc.dropped++;
	}
	return 0;
}

static void
scan_ctx_free(struct scan_ctx *x)
{
	size_t i;

	batch_free(&x->b);
	for (i = 0; i < x->nseen; i++)
		vg_item_free(x->seen[i]);
	free(x->seen);
	aq_overlay_list_free(x->ov, x->nov);
	free(x->ovflag);
	vg_rules_free(x->old_rules);
	vg_baseline_abort(x->w);
}

/*
 * In one transaction: the next scan generation, and the kv "rescan" a
 * stop left owed marked as served by this scan (a drop while it runs
 * sets it again). Then the overlay as it is now.
 */
static int
scan_begin(struct scan_ctx *x, char *err, size_t errlen)
{
	struct mon *m = x->m;
	char *owed = NULL;
	int rv;

	if ((rv = aq_begin(m->q)) != 0)
		goto fail;
	if ((rv = aq_get_i64(m->q, "scan_gen", 0, &x->gen)) != 0 ||
	    (rv = aq_set_i64(m->q, "scan_gen", ++x->gen)) != 0 ||
	    (rv = aq_get(m->q, "rescan", &owed)) != 0) {
		aq_rollback(m->q);
		goto fail;
	}
	if (owed != NULL) {
		snprintf(x->marker, sizeof(x->marker), "scan %lld",
		    (long long)x->gen);
		rv = aq_set(m->q, "rescan", x->marker);
		free(owed);
	}
	/* Under the queue's lock: no realtime flush runs in between. */
	atomic_store(&m->gen, x->gen);
	if ((rv = aq_commit(m->q, err, errlen)) != 0)
		return rv;
	x->stamp = x->gen * 2;
	if ((rv = aq_overlay_list(m->q, &x->ov, &x->nov)) != 0)
		goto fail;
	if (x->nov > 0 && (x->ovflag = calloc(x->nov, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot start the scan: ");
	aq_last_error(m->q, err + strlen(err), errlen - strlen(err));
	return rv;
}

/*
 * After the baseline was committed: the overlay entries written before
 * the scan started are in it (the scan compared each with the tree), and
 * the rescan this scan served is no longer owed.
 */
static int
scan_end(struct scan_ctx *x, char *err, size_t errlen)
{
	struct aq *q = x->m->q;
	char *owed = NULL;
	int rv;

	if ((rv = aq_begin(q)) != 0)
		goto fail;
	if ((rv = aq_overlay_prune(q, x->stamp)) == 0 && x->marker[0] &&
	    (rv = aq_get(q, "rescan", &owed)) == 0 && owed != NULL &&
	    strcmp(owed, x->marker) == 0)
		rv = aq_set(q, "rescan", NULL);
	free(owed);
	if (rv != 0) {
		aq_rollback(q);
		goto fail;
	}
	return aq_commit(q, err, errlen);
fail:
	snprintf(err, errlen, "cannot prune the overlay: ");
	aq_last_error(q, err + strlen(err), errlen - strlen(err));
	return rv;
}

int
mon_scan(struct mon *m, volatile sig_atomic_t *stop,
    struct mon_scan_result *res, char *err, size_t errlen)
{
	struct scan_ctx x;
	struct vg_scan_opts o;
	struct vg_scan_cb cb;
	struct vg_scan_stats st;
	struct vg_baseline *old = NULL;
	const char *text;
	char msg[512] = "", **held = NULL;
	size_t nheld = 0;
	int64_t start_ns;
	int rv, owed, first = 0, over = 0;

	memset(res, 0, sizeof(*res));
	memset(&x, 0, sizeof(x));
	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&m->mu);
	owed = m->rescan;
	m->rescan = 0;
	pthread_mutex_unlock(&m->mu);
	if ((x.s = snap_get(m)) == NULL || x.s->rules == NULL) {
		snap_put(m, x.s);
		return 0;
	}
	x.m = m;
	x.res = res;
	x.stop = stop;
	x.t0 = vg_now();
	x.b.ignore = x.s->rules->ignore;
	start_ns = vg_wall_ns();
	if ((rv = scan_begin(&x, err, errlen)) != 0 ||
	    (rv = open_old(m, &old, err, errlen)) != 0)
		goto out;
	first = old == NULL;
	if (old != NULL && (text = vg_baseline_meta(old, "rules")) != NULL)
		rules_from_text(text, "baseline rules", &x.old_rules, msg,
		    sizeof(msg));
	if ((rv = vg_baseline_create(m->baseline_path, &x.w, err, errlen)) !=
	    0)
		goto out;
	memset(&o, 0, sizeof(o));
	o.rules = x.s->rules;
	o.old = old;
	o.workers = m->workers;
	o.stop = stop;
	memset(&cb, 0, sizeof(cb));
	cb.arg = &x;
	cb.item = scan_item;
	cb.kept = scan_kept;
	cb.change = scan_change;
	cb.progress = scan_progress;
	rv = vg_scan_run(&o, &cb, &st, msg, sizeof(msg));
	res->items = st.items;
	res->problems = st.problems;
	if (rv == 0)
		rv = ov_gone(&x);
	if (rv == 0)
		rv = scan_finish_queue(&x, old == NULL, st.items);
	res->added = x.fc.added;
	res->removed = x.fc.removed;
	res->changed = x.fc.changed;
	res->suppressed = x.fc.suppressed;
	if (rv != 0) {
		snprintf(err, errlen, "%s", x.err == rv ? x.errmsg : msg);
		goto out;
	}
	if (x.fc.dropped > 0)
		goto out;   /* the queue is full: this baseline would hide
		               what it could not take */
	if ((rv = set_baseline_meta(&x, start_ns, err, errlen)) != 0)
		goto out;
	rv = vg_baseline_commit(x.w, err, errlen);
	x.w = NULL;
	if (rv != 0)
		goto out;
	res->baseline_committed = 1;
	over = held_take(m, &held, &nheld);
	rv = scan_end(&x, err, errlen);
	held_check(m, x.s, held, nheld, over);
out:
	/* A requested scan that failed (a full disk) is still owed, and so
	 * is a first one (realtime holds its paths until a baseline is
	 * there): polled again (mon_take_rescan()), not run again at once,
	 * so that it does not spin. Events dropped for a full queue have
	 * their own retry (aq_summarize_drops()). */
	if ((owed || first) && rv != 0 && !res->baseline_committed) {
		pthread_mutex_lock(&m->mu);
		m->rescan = 1;
		pthread_mutex_unlock(&m->mu);
	}
	vg_baseline_close(old);
	scan_ctx_free(&x);
	snap_put(m, x.s);
	res->seconds = vg_now() - x.t0;
	return rv;
}

/* ---- realtime ---- */

/* The baseline's item for path, for the old side of a realtime change.
 * VG_ERR_NOTFOUND when there is no baseline yet (the first scan records
 * the state). */
static int
lookup_old(struct mon *m, const char *path, size_t len, int dir_gone,
    struct vg_item **old, int *below)
{
	char msg[512];
	int rv;

	*old = NULL;
	*below = 0;
	pthread_mutex_lock(&m->lookup_mu);
	if ((m->lookup != NULL || (rv = vg_baseline_open(m->baseline_path,
	    &m->lookup, msg, sizeof(msg))) == 0) &&
	    (rv = vg_baseline_get(m->lookup, path, len, old, msg,
	    sizeof(msg))) == 0 && dir_gone)
		rv = vg_baseline_has_below(m->lookup, path, len, below, msg,
		    sizeof(msg));
	pthread_mutex_unlock(&m->lookup_mu);
	return rv;
}

/* ---- realtime before the first baseline ---- */

/* Under lookup_mu: too many paths held; the first baseline is followed
 * by a rescan instead. */
static void
held_overflow(struct mon *m)
{
	free_strings(m->held, m->nheld);
	m->held = NULL;
	m->nheld = m->capheld = m->nsorted = m->held_bytes = 0;
	m->held_over = 1;
}

/* Under lookup_mu: sorts the held paths and drops the duplicates. */
static void
held_compact(struct mon *m)
{
	size_t i;

	m->nheld = m->nsorted = sort_unique(m->held, m->nheld);
	m->held_bytes = 0;
	for (i = 0; i < m->nheld; i++)
		m->held_bytes += strlen(m->held[i]) + 1;
}

/*
 * Under lookup_mu: holds a path, bounded (HELD_MAX, HELD_BYTES). The
 * array is compacted when it fills, and grown or given up when that
 * freed less than an eighth of it, so that each sort stands for many
 * additions; a path in the sorted part is not added twice.
 */
static void
held_add(struct mon *m, const char *path, size_t len)
{
	char **v;
	size_t cap;

	if (m->held_over || (m->nsorted > 0 && bsearch(&path, m->held,
	    m->nsorted, sizeof(char *), str_cmp) != NULL))
		return;
	if (m->nheld == m->capheld || m->held_bytes + len >= HELD_BYTES) {
		held_compact(m);
		if (m->held_bytes + len >= HELD_BYTES - HELD_BYTES / 8) {
			held_overflow(m);
			return;
		}
		if (m->nheld + m->capheld / 8 >= m->capheld) {
			cap = m->capheld ? m->capheld * 2 : 64;
			if (m->capheld == HELD_MAX || (v = reallocarray(
			    m->held, cap < HELD_MAX ? cap : HELD_MAX,
			    sizeof(*v))) == NULL) {
				held_overflow(m);
				return;
			}
			m->held = v;
			m->capheld = cap < HELD_MAX ? cap : HELD_MAX;
		}
	}
	if ((m->held[m->nheld] = strndup(path, len)) == NULL) {
		held_overflow(m);
		return;
	}
	m->nheld++;
	m->held_bytes += len + 1;
}

/*
 * Whether there is no baseline yet (a first scan runs): the path is then
 * held for that scan to check against the baseline it commits, not
 * stat'ed and hashed for nothing.
 */
static int
rt_hold(struct mon *m, const char *path, size_t len)
{
	char msg[512];
	int held = 0;

	pthread_mutex_lock(&m->lookup_mu);
	if (m->lookup == NULL && vg_baseline_open(m->baseline_path,
	    &m->lookup, msg, sizeof(msg)) == VG_ERR_NOTFOUND) {
		held_add(m, path, len);
		held = 1;
	}
	pthread_mutex_unlock(&m->lookup_mu);
	return held;
}

/*
 * Once a baseline was committed: the held paths (the caller's to free)
 * and whether there were too many. Under the lock that rt_hold() holds,
 * and with the realtime lookup closed, so that a path is either taken
 * here or looked up in the new baseline.
 */
static int
held_take(struct mon *m, char ***paths, size_t *n)
{
	int over;

	pthread_mutex_lock(&m->lookup_mu);
	vg_baseline_close(m->lookup);
	m->lookup = NULL;
	*paths = m->held;
	*n = m->nheld;
	over = m->held_over;
	m->held = NULL;
	m->nheld = m->capheld = m->nsorted = m->held_bytes = 0;
	m->held_over = 0;
	pthread_mutex_unlock(&m->lookup_mu);
	return over;
}

/* ---- realtime ---- */

/* The change of one dirty path, into the batch; *rescan when a folder
 * vanished with items below it (their removal was not seen). */
static int
rt_path(struct mon *m, const struct snap *s, struct batch *b,
    const char *path, int *rescan)
{
	const struct vg_rules *r = s->rules;
	struct vg_item *now = NULL, *old = NULL, *base = NULL;
	struct vg_change c;
	size_t len = strlen(path);
	char msg[512];
	int found = 0, below = 0, dir, rv;

	if (rt_hold(m, path, len))
		return 0;
	/* A path that cannot be stat'ed: the next scan says why. */
	if ((rv = vg_scan_one(r, path, len, &now, msg, sizeof(msg))) != 0)
		return rv == VG_ERR_PERM ? 0 : rv;
	if ((rv = aq_overlay_get(m->q, path, len, &found, &old)) != 0)
		goto out;
	if ((rv = lookup_old(m, path, len, now == NULL, &base, &below)) !=
	    0) {
		if (rv == VG_ERR_NOTFOUND)
			rv = 0;
		goto out;
	}
	if (!found) {
		old = base;
		base = NULL;
	}
	dir = (now ? now : old) != NULL && (now ? now : old)->ftype ==
	    VG_FT_DIR;
	if ((now == NULL && old == NULL) ||
	    vg_scan_covers(r, path, len, dir) != 1)
		goto out;
	if (now == NULL && old->ftype == VG_FT_DIR && below)
		*rescan = 1;
	memset(&c, 0, sizeof(c));
	c.old = old;
	c.new = now;
	old = now = NULL;
	if (!change_type(&c, r->ignore)) {
		vg_change_clear(&c);
		goto out;
	}
	rv = batch_change(m, s, b, &c, "realtime", 0);
out:
	vg_item_free(now);
	vg_item_free(old);
	vg_item_free(base);
	return rv;
}

/*
 * A change realtime could not queue: a rescan finds it. Owed across a
 * stop too (kv "rescan", read by mon_new()). Logged once per watcher
 * (*logged).
 */
static void
rt_fail(struct mon *m, atomic_int *logged, const char *path,
    const char *msg)
{
	if (atomic_exchange(logged, 1) == 0)
		vg_log(VG_LOG_WARN, "realtime: %s%s%s; rescanning", path ?
		    path : "", path ? ": " : "", msg);
	aq_set(m->q, "rescan", "1");
	mon_request_rescan(m);
}

static void
rt_flush(struct mon *m, atomic_int *logged, struct batch *b,
    struct flush_count *fc)
{
	char msg[512];

	if (batch_flush(m, b, 1, fc, msg, sizeof(msg)) != 0)
		rt_fail(m, logged, NULL, msg);
}

/* Queues the changes of dirty paths, with the rules and content of s. */
static void
rt_paths(struct mon *m, const struct snap *s, atomic_int *logged,
    char *const *paths, size_t n)
{
	struct flush_count fc;
	struct batch b;
	size_t i;
	int rescan = 0, rv;

	memset(&b, 0, sizeof(b));
	memset(&fc, 0, sizeof(fc));
	b.ignore = s->rules->ignore;
	for (i = 0; i < n; i++) {
		if ((rv = rt_path(m, s, &b, paths[i], &rescan)) != 0)
			rt_fail(m, logged, paths[i], vg_strerror(rv));
		else if (batch_due(&b))
			rt_flush(m, logged, &b, &fc);
	}
	rt_flush(m, logged, &b, &fc);
	batch_free(&b);
	atomic_fetch_add(&m->rt_events, fc.queued);
	/* Dropped for a full queue: the queue owes the rescan (kv
	 * "rescan"), and aq_summarize_drops() asks for it once the queue
	 * has room again; a scan now would only drop again. */
	if (rescan)
		mon_request_rescan(m);
}

static void
rt_dirty(void *arg, char *const *paths, size_t n)
{
	struct rt *t = arg;

	rt_paths(t->m, t->s, &t->fail_logged, paths, n);
}

/*
 * After the first baseline: the paths realtime held while the scan ran
 * go the realtime way against it (a file changed after the scan read it
 * is reported; one as the baseline has it gives nothing). Too many held:
 * a rescan finds them.
 */
static void
held_check(struct mon *m, struct snap *s, char **paths, size_t n, int over)
{
	atomic_int logged = 0;

	n = sort_unique(paths, n);
	if (n > 0)
		rt_paths(m, s, &logged, paths, n);
	free_strings(paths, n);
	if (over) {
		vg_log(VG_LOG_INFO, "realtime: too many paths changed "
		    "during the first scan to check each; rescanning");
		mon_request_rescan(m);
	}
}

static void
rt_overflow(void *arg)
{
	struct rt *t = arg;

	queue_agent(t->m, "realtime", "realtime-overflow", NULL, "the "
	    "kernel's inotify queue overflowed: changes may have been "
	    "missed; rescanning");
	mon_request_rescan(t->m);
}

static void
rt_watch_limit(void *arg, const char *dir, int errnum)
{
	struct rt *t = arg;

	if (t->limit_reported)
		return;
	t->limit_reported = 1;
	if (errnum == ENOSPC)
		queue_agent(t->m, "realtime", "watch-limit", dir, "cannot "
		    "watch %s and what is below it: the limit of inotify "
		    "watches (fs.inotify.max_user_watches) is reached; raise "
		    "it (sysctl -w fs.inotify.max_user_watches=N, and in "
		    "/etc/sysctl.d to keep it). Scans still find changes "
		    "there; rescanning", dir);
	else
		queue_agent(t->m, "realtime", "watch-limit", dir, "cannot "
		    "watch %s and what is below it: %s. Scans still find "
		    "changes there; rescanning", dir, strerror(errnum));
	mon_request_rescan(t->m);
}

static void
rt_stop(struct mon *m, struct rt *t)
{
	if (t == NULL)
		return;
	watch_stop(t->w);
	snap_put(m, t->s);
	free(t);
}

/* Takes a reference to s for the watcher. */
static int
rt_start(struct mon *m, struct snap *s, struct rt **out, char *err,
    size_t errlen)
{
	struct watch_opts wo;
	struct watch_cb cb;
	struct rt *t;
	int rv;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return VG_ERR_NOMEM;
	t->m = m;
	pthread_mutex_lock(&m->mu);
	s->refs++;
	pthread_mutex_unlock(&m->mu);
	t->s = s;
	memset(&wo, 0, sizeof(wo));
	wo.rules = s->rules;
	wo.debounce_ms = m->debounce_ms;
	memset(&cb, 0, sizeof(cb));
	cb.arg = t;
	cb.dirty = rt_dirty;
	cb.overflow = rt_overflow;
	cb.watch_limit = rt_watch_limit;
	if ((rv = watch_start(&wo, &cb, &t->w, err, errlen)) != 0) {
		snap_put(m, s);
		free(t);
		return rv;
	}
	*out = t;
	return 0;
}

/* ---- the monitor ---- */

int
mon_new(const struct mon_opts *o, struct mon **out, char *err,
    size_t errlen)
{
	struct mon *m;
	char *owed = NULL;
	int64_t gen;
	int rv;

	*out = NULL;
	if (o->q == NULL || o->data_dir == NULL) {
		snprintf(err, errlen, "monitor: no queue or data folder");
		return VG_ERR_INVAL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    asprintf(&m->baseline_path, "%s/baseline.db", o->data_dir) ==
	    -1) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	m->q = o->q;
	m->debounce_ms = o->debounce_ms ? o->debounce_ms : 100;
	m->workers = o->workers > 0 ? o->workers : 1;
	m->rate_limit = o->rate_limit;
	m->queued = o->queued;
	m->rescan_cb = o->rescan;
	m->arg = o->arg;
	/* A rescan owed when the agent stopped (dropped events, realtime
	 * failures, or a scan that did not finish) is done first. */
	if ((rv = aq_get_i64(m->q, "scan_gen", 0, &gen)) != 0 ||
	    (rv = aq_get(m->q, "rescan", &owed)) != 0) {
		snprintf(err, errlen, "monitor: ");
		aq_last_error(m->q, err + strlen(err), errlen - strlen(err));
		free(m->baseline_path);
		free(m);
		return rv;
	}
	atomic_store(&m->gen, gen);
	m->rescan = owed != NULL;
	free(owed);
	pthread_mutex_init(&m->mu, NULL);
	pthread_mutex_init(&m->lookup_mu, NULL);
	*out = m;
	return 0;
}

void
mon_free(struct mon *m)
{
	struct rt *t;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	t = m->rt;
	m->rt = NULL;
	pthread_mutex_unlock(&m->mu);
	rt_stop(m, t);
	snap_put(m, m->cur);
	vg_baseline_close(m->lookup);
	free_strings(m->held, m->nheld);
	pthread_mutex_destroy(&m->mu);
	pthread_mutex_destroy(&m->lookup_mu);
	free(m->baseline_path);
	free(m);
}

int
mon_set_policy(struct mon *m, const struct agent_policy *p, char *err,
    size_t errlen)
{
	struct snap *ns, *prev;
	struct rt *old_rt = NULL, *nrt = NULL;
	int restart, rv;

	if ((rv = snap_new(p, &ns, err, errlen)) != 0)
		return rv;
	pthread_mutex_lock(&m->mu);
	prev = m->cur;
	/* The watcher holds the rules and content of its own snap. */
	restart = prev == NULL || !same_str(prev->rules_text,
	    ns->rules_text) || prev->realtime != ns->realtime ||
	    !same_content(prev, ns);
	if (ns->rules != NULL && (prev == NULL ||
	    !same_str(prev->rules_text, ns->rules_text)))
		m->rescan = 1;
	m->cur = ns;
	if (restart) {
		old_rt = m->rt;
		m->rt = NULL;
	}
	pthread_mutex_unlock(&m->mu);
	snap_put(m, prev);
	if (!restart)
		return 0;
	/* Stopped outside the lock: its callbacks take it. */
	rt_stop(m, old_rt);
	if (!ns->realtime || ns->rules == NULL)
		return 0;
	if ((rv = rt_start(m, ns, &nrt, err, errlen)) != 0)
		return rv;
	/* The watcher walks the tree on its own thread, and that walk
	 * reports nothing: a file made in a folder after the next scan read
	 * it but before its watch was placed would be missed by both. */
	if (!watch_wait_ready(nrt->w, WATCH_READY_MS))
		vg_log(VG_LOG_WARN, "realtime: the watches are not all in "
		    "place after %d s; scanning anyway", WATCH_READY_MS / 1000);
	pthread_mutex_lock(&m->mu);
	m->rt = nrt;
	pthread_mutex_unlock(&m->mu);
	return 0;
}

int
mon_take_rescan(struct mon *m)
{
	int r;

	pthread_mutex_lock(&m->mu);
	r = m->rescan;
	m->rescan = 0;
	pthread_mutex_unlock(&m->mu);
	return r;
}

void
mon_request_rescan(struct mon *m)
{
	pthread_mutex_lock(&m->mu);
	m->rescan = 1;
	pthread_mutex_unlock(&m->mu);
	if (m->rescan_cb != NULL)
		m->rescan_cb(m->arg);
}

size_t
mon_watches(struct mon *m)
{
	size_t n = 0;

	pthread_mutex_lock(&m->mu);
	if (m->rt != NULL)
		n = watch_count(m->rt->w);
	pthread_mutex_unlock(&m->mu);
	return n;
}

uint64_t
mon_realtime_events(struct mon *m)
{
	return atomic_load(&m->rt_events);
}

size_t
mon_held(struct mon *m)
{
	size_t n;

	pthread_mutex_lock(&m->lookup_mu);
	n = m->nheld;
	pthread_mutex_unlock(&m->lookup_mu);
	return n;
}
