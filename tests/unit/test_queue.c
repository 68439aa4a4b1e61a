/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the agent's durable state (agent/queue.c) in a temporary
 * folder: events through peek and ack, sequence numbers, the bounds and
 * the drop summary, overlay, system items, content, reopening, foreign
 * and newer files, read-only opening, a crash inside a transaction, a
 * full disk, threads, and the throughput of queueing and sending.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "queue.h"
#include "vg_err.h"
#include "vg_item.h"
#include "vg_util.h"

struct fixture {
	char dir[64];
	char sub[96];       /* dir/state: made by aq_open() */
	char db[128];       /* sub/state.db */
};

static char err[512];

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-queue-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sub, sizeof(f->sub), "%s/state", f->dir);
	snprintf(f->db, sizeof(f->db), "%s/state.db", f->sub);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[160];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->db, sfx[i]);
		unlink(p);
	}
	rmdir(f->sub);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct aq *
open_q(struct fixture *f, uint64_t max_events, uint64_t max_bytes)
{
	struct aq_limits lim = { max_events, max_bytes };
	struct aq *q = NULL;
	int r;

	r = aq_open(f->sub, &lim, &q, err, sizeof(err));
	if (r != 0)
		fail_msg("aq_open: %d: %s", r, err);
	return q;
}

/* A change body like those the collectors queue (about 300 bytes). */
static json_t *
change_body(int i)
{
	char path[64];

	snprintf(path, sizeof(path), "/etc/file-%06d", i);
	return json_pack("{s:{s:s, s:s, s:s, s:[s,s], s:{s:s, s:i, s:s}, "
	    "s:{s:s, s:i, s:s, s:s}}}", "change", "change", "changed", "kind",
	    "file", "path", path, "changed", "size", "mtime", "old", "type",
	    "file", "size", 1234, "mtime", "2026-11-20T08:00:00.000000000Z",
	    "new", "type", "file", "size", 1250 + i, "mtime",
	    "2026-11-26T10:59:57.500000000Z", "hash", "sha256:9f86d081884c7d659"
	    "a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

static json_t *
agent_body(const char *code)
{
	return json_pack("{s:{s:s, s:s}}", "agent", "code", code, "message",
	    "something the agent noticed");
}

/* Queues one event in a transaction of its own; returns its id. */
static int64_t
queue_one(struct aq *q, json_t *body, int64_t t)
{
	int64_t seq = 0;

	assert_int_equal(aq_begin(q), 0);
	assert_int_equal(aq_event(q, "scan", t, body, &seq), 0);
	assert_int_equal(aq_commit(q, err, sizeof(err)), 0);
	json_decref(body);
	return seq;
}

static void
test_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct aq *q = open_q(f, 0, 0);
	json_t *b1 = change_body(1), *b2 = agent_body("watch-limit"), *arr;
	json_t *ev;
	struct aq_stats st;
	int64_t s1, s2, s3, ids[3];
	char tbuf[VG_TIME_BUFLEN];
	size_t n;

	assert_int_equal(aq_begin(q), 0);
	assert_int_equal(aq_event(q, "scan", 1764154798123456789LL, b1, &s1),
	    0);
	assert_int_equal(aq_event(q, "realtime", 1764154799000000000LL, b2,
	    &s2), 0);
	assert_int_equal(aq_event(q, "scan", 1764154799000000001LL, b1, &s3),
	    0);
	assert_int_equal(aq_commit(q, err, sizeof(err)), 0);
	assert_int_equal(s1, 1);
	assert_int_equal(s2, 2);
	assert_int_equal(s3, 3);

	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.events, 3);
	assert_true(st.bytes > 300);
	assert_int_equal(st.oldest_seq, 1);
	assert_int_equal(st.newest_seq, 3);

	assert_int_equal(aq_peek(q, 100, 1 << 20, &arr, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(json_array_size(arr), 3);
	ev = json_array_get(arr, 0);
	assert_int_equal(json_integer_value(json_object_get(ev, "id")), 1);
	assert_string_equal(json_string_value(json_object_get(ev, "time")),
	    "2025-11-26T10:59:58.123456789Z");
	assert_string_equal(json_string_value(json_object_get(ev, "origin")),
	    "scan");
	assert_true(json_equal(json_object_get(ev, "change"),
	    json_object_get(b1, "change")));
	assert_null(json_object_get(ev, "agent"));
	assert_int_equal(json_object_size(ev), 4);
	ev = json_array_get(arr, 1);
	assert_int_equal(json_integer_value(json_object_get(ev, "id")), 2);
	assert_string_equal(json_string_value(json_object_get(ev, "origin")),
	    "realtime");
	assert_true(json_equal(json_object_get(ev, "agent"),
	    json_object_get(b2, "agent")));
	vg_time_format(1764154799000000001LL, tbuf);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(arr, 2), "time")), tbuf);
	json_decref(arr);

	/* At most max_events, about max_bytes but at least one. */
	assert_int_equal(aq_peek(q, 2, 1 << 20, &arr, &n), 0);
	assert_int_equal(n, 2);
	json_decref(arr);
	assert_int_equal(aq_peek(q, 100, 1, &arr, &n), 0);
	assert_int_equal(n, 1);
	json_decref(arr);
	assert_int_equal(aq_peek(q, 0, 1 << 20, &arr, &n), 0);
	assert_int_equal(n, 0);
	json_decref(arr);

	/* Unknown ids are ignored. */
	ids[0] = 1;
	ids[1] = 3;
	ids[2] = 999;
	assert_int_equal(aq_ack(q, ids, 3), 0);
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.events, 1);
	assert_int_equal(st.oldest_seq, 2);
	assert_int_equal(st.newest_seq, 2);
	assert_int_equal(aq_peek(q, 100, 1 << 20, &arr, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(arr, 0), "id")), 2);
	json_decref(arr);
	ids[0] = 2;
	assert_int_equal(aq_ack(q, ids, 1), 0);
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.events, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.oldest_seq, 0);
	assert_int_equal(st.newest_seq, 0);
	assert_int_equal(aq_peek(q, 100, 1 << 20, &arr, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(json_array_size(arr), 0);
	json_decref(arr);

	/* Not a body, not an origin. */
	assert_int_equal(aq_begin(q), 0);
	assert_int_equal(aq_event(q, "hub", 1, b1, NULL), VG_ERR_INVAL);
	arr = json_pack("{s:{}, s:{}}", "change", "agent");
	assert_int_equal(aq_event(q, "scan", 1, arr, NULL), VG_ERR_INVAL);
	json_decref(arr);
	arr = json_pack("{s:s}", "change", "x");
	assert_int_equal(aq_event(q, "scan", 1, arr, NULL), VG_ERR_INVAL);
	json_decref(arr);
	aq_rollback(q);

	json_decref(b1);
	json_decref(b2);
	aq_close(q);
}

/* The text batch of aq_peek_text() as parsed JSON, checked against
 * aq_peek() of the same events; its ids into ids. */
static json_t *
peek_text_checked(struct aq *q, int64_t after, size_t max, int strict,
    int64_t *ids, size_t *n)
{
	struct aq_batch b;
	json_t *doc, *arr, *ev;
	size_t i, m;

	assert_int_equal(aq_peek_text(q, after, max, 1 << 20, strict, &b), 0);
	assert_non_null(b.text);
	assert_int_equal(strlen(b.text), b.len);
	doc = json_loadb(b.text, b.len, JSON_REJECT_DUPLICATES, NULL);
	if (doc == NULL)
		fail_msg("not JSON: %s", b.text);
	assert_int_equal(json_object_size(doc), 1);
	arr = json_object_get(doc, "events");
	assert_int_equal(json_array_size(arr), b.n);
	for (i = 0; i < b.n; i++) {
		ev = json_array_get(arr, i);
		assert_int_equal(json_integer_value(json_object_get(ev, "id")),
		    b.ids[i]);
		ids[i] = b.ids[i];
	}
	*n = b.n;
	if (after == 0) {
		assert_int_equal(aq_peek(q, max, 1 << 20, &ev, &m), 0);
		assert_int_equal(m, b.n);
		assert_true(json_equal(ev, arr));
		json_decref(ev);
	}
	json_incref(arr);
	json_decref(doc);
	aq_batch_free(&b);
	return arr;
}

/* Stored bodies spliced into the batch as text; a body that is not of
 * the stored shape becomes the queue-damaged agent event. */
static void
test_peek_text(void **state)
{
	static const char *const damaged[] = {
		"{\"change\":{\"path\":\"/a\"",          /* cut short */
		"{\"change\":{\"path\":\"/a\"},\"x\":1}",  /* two members */
		"{\"change\":{\"path\":\"/a}}",           /* open string */
		"{\"change\":{\"path\":[\"/a\"}}",        /* mismatched */
		"{\"change\":{\"path\":\"\xff\"}}",       /* not UTF-8 */
		"{\"change\":{\"path\":\"a\nb\"}}",        /* raw newline */
		"{\"other\":{}}",
		"{\"change\":\"x\"}",
		"",
	};
	struct fixture *f = *state;
	struct aq *q = open_q(f, 0, 0);
	json_t *b1 = change_body(1), *arr, *ev, *deep;
	int64_t ids[16];
	sqlite3 *db;
	sqlite3_stmt *s;
	char *text;
	size_t n, i;
	int d;

	queue_one(q, json_incref(b1), 1764154798123456789LL);
	queue_one(q, agent_body("watch-limit"), 1764154799000000000LL);
	queue_one(q, json_incref(b1), 1764154799000000001LL);

	arr = peek_text_checked(q, 0, 100, 0, ids, &n);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[2], 3);
	json_decref(arr);
	arr = peek_text_checked(q, 0, 100, 1, ids, &n);
	assert_int_equal(n, 3);
	json_decref(arr);
	/* After an id, at most max_events, nothing after the newest. */
	arr = peek_text_checked(q, 1, 100, 0, ids, &n);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], 2);
	json_decref(arr);
	arr = peek_text_checked(q, 1, 1, 0, ids, &n);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 2);
	json_decref(arr);
	arr = peek_text_checked(q, 3, 100, 0, ids, &n);
	assert_int_equal(n, 0);
	json_decref(arr);

	/* Event 2's body damaged in the file in each way. */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE queue SET body = ?1 "
	    "WHERE seq = 2", -1, &s, NULL), SQLITE_OK);
	for (i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		sqlite3_bind_text(s, 1, damaged[i], -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(s), SQLITE_DONE);
		sqlite3_reset(s);
		arr = peek_text_checked(q, 0, 100, 0, ids, &n);
		assert_int_equal(n, 3);
		ev = json_object_get(json_array_get(arr, 1), "agent");
		if (ev == NULL)
			fail_msg("body %zu not taken as damaged", i);
		assert_string_equal(json_string_value(json_object_get(ev,
		    "code")), "queue-damaged");
		assert_true(json_equal(json_object_get(json_array_get(arr, 2),
		    "change"), json_object_get(b1, "change")));
		json_decref(arr);
	}
	/* Nested deeper than the text check follows: the parser decides. */
	deep = json_array();
	for (d = 0; d < 300; d++)
		deep = json_pack("[o]", deep);
	ev = json_pack("{s:{s:o}}", "change", "deep", deep);
	text = json_dumps(ev, JSON_COMPACT);
	sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_DONE);
	sqlite3_reset(s);
	arr = peek_text_checked(q, 0, 100, 0, ids, &n);
	assert_true(json_equal(json_object_get(json_array_get(arr, 1),
	    "change"), json_object_get(ev, "change")));
	json_decref(arr);
	free(text);
	json_decref(ev);
	sqlite3_finalize(s);
	sqlite3_close(db);

	json_decref(b1);
	aq_close(q);
}

/* Acknowledged runs of consecutive ids go as ranges; the totals follow. */
static void
test_ack_runs(void **state)
{
	static const int64_t acked[] = { 2, 3, 4, 7, 8, 10, 11, 12, 5000 };
	struct fixture *f = *state;
	struct aq *q = open_q(f, 0, 0);
	struct aq_stats st;
	json_t *arr;
	uint64_t bytes;
	size_t n, i;

	for (i = 1; i <= 10; i++)
		queue_one(q, change_body((int)i), (int64_t)i);
	assert_int_equal(aq_stats(q, &st), 0);
	bytes = st.bytes;
	assert_int_equal(aq_ack(q, acked, sizeof(acked) / sizeof(acked[0])),
	    0);
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.events, 4);
	assert_int_equal(aq_peek(q, 100, 1 << 20, &arr, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(arr, 0), "id")), 1);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(arr, 1), "id")), 5);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(arr, 2), "id")), 6);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(arr, 3), "id")), 9);
	json_decref(arr);
	/* Bodies of one length but the path digit: 6 of 10 gone. */
	assert_true(st.bytes < bytes && st.bytes * 10 / 4 == bytes);
	aq_close(q);
	q = open_q(f, 0, 0);     /* the totals as the file has them */
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.events, 4);
	assert_true(st.bytes * 10 / 4 == bytes);
	aq_close(q);
}

static void
test_sequence(void **state)
{
	struct fixture *f = *state;
	struct aq *q = open_q(f, 0, 0);
	int64_t seq, v;
	json_t *body;
	char *s;

	assert_int_equal(aq_get_i64(q, "next_seq", 0, &v), 0);
	assert_int_equal(v, 1);
	/* A rolled-back event gives its id back. */
	body = change_body(1);
	assert_int_equal(aq_begin(q), 0);
	assert_int_equal(aq_event(q, "scan", 1, body, &seq), 0);
	json_decref(body);
	assert_int_equal(seq, 1);
	assert_int_equal(aq_begin(q), VG_ERR_INVAL);   /* no nesting */
	aq_rollback(q);
	seq = queue_one(q, change_body(1), 1);
	assert_int_equal(seq, 1);

	/* After a registration: forward only. */
	assert_int_equal(aq_seq_at_least(q, 1000), 0);
	assert_int_equal(aq_set_i64(q, "next_seq", 500), 0);
	assert_int_equal(aq_set(q, "next_seq", "x"), VG_ERR_INVAL);
	assert_int_equal(aq_get(q, "next_seq", &s), 0);
	assert_string_equal(s, "1000");
	free(s);
	assert_int_equal(queue_one(q, change_body(2), 2), 1000);
	assert_int_equal(aq_set_i64(q, "next_seq", 2000), 0);
	assert_int_equal(queue_one(q, change_body(3), 3), 2000);
	aq_close(q);

	q = open_q(f, 0, 0);
	assert_int_equal(queue_one(q, change_body(4), 4), 2001);
	/* Even once the queue is empty. */
	{
		int64_t ids[] = { 1, 1000, 2000, 2001 };

		assert_int_equal(aq_ack(q, ids, 4), 0);
	}
	aq_close(q);
	q = open_q(f, 0, 0);
	assert_int_equal(queue_one(q, change_body(5), 5), 2002);

	/* Other settings. */
	assert_int_equal(aq_get(q, "device_id", &s), 0);
	assert_null(s);
	assert_int_equal(aq_get_i64(q, "device_id", -1, &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(aq_set(q, "device_id", "42"), 0);
	assert_int_equal(aq_get_i64(q, "device_id", -1, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(aq_set(q, "policy", "{\"x\":1}"), 0);
	assert_int_equal(aq_get_i64(q, "policy", 0, &v), VG_ERR_CORRUPT);
	assert_int_equal(aq_set(q, "policy", NULL), 0);
	assert_int_equal(aq_get(q, "policy", &s), 0);
	assert_null(s);
	aq_close(q);
}

static void
test_bounds(void **state)
{
	struct fixture *f = *state;
	struct aq *q = open_q(f, 10, 1 << 20);
	struct aq_stats st;
	json_t *arr, *last;
	int64_t ids[3], v;
	const char *msg;
	size_t n;
	int i;
	char *s;

	for (i = 0; i < 10; i++)
		queue_one(q, change_body(i), 1000 + i);
	assert_int_equal(aq_summarize_drops(q), 0);   /* nothing dropped */
	assert_int_equal(aq_begin(q), 0);
	arr = change_body(10);
	assert_int_equal(aq_event(q, "scan", 777000000000LL, arr, NULL),
	    VG_ERR_TOOBIG);
	assert_int_equal(aq_event(q, "scan", 778000000000LL, arr, NULL),
	    VG_ERR_TOOBIG);
	json_decref(arr);
	/* Agent events use the reserve. */
	arr = agent_body("watch-limit");
	assert_int_equal(aq_event(q, "realtime", 779, arr, NULL), 0);
	json_decref(arr);
	assert_int_equal(aq_commit(q, err, sizeof(err)), 0);

	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.events, 11);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(aq_get(q, "rescan", &s), 0);
	assert_string_equal(s, "1");
	free(s);
	assert_int_equal(aq_get_i64(q, "dropped", 0, &v), 0);
	assert_int_equal(v, 2);

	/* A transaction rolled back because of a full queue (what the
	 * collectors do) still leaves its drops counted. */
	assert_int_equal(aq_begin(q), 0);
	arr = change_body(11);
	assert_int_equal(aq_event(q, "scan", 780000000000LL, arr, NULL),
	    VG_ERR_TOOBIG);
	json_decref(arr);
	aq_rollback(q);
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(aq_get_i64(q, "dropped", 0, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(aq_get_i64(q, "dropped_since", 0, &v), 0);
	assert_int_equal(v, 777000000000LL);

	/* 11 events: not below 90% of 10. */
	assert_int_equal(aq_summarize_drops(q), 0);
	ids[0] = 1;
	ids[1] = 2;
	assert_int_equal(aq_ack(q, ids, 2), 0);
	assert_int_equal(aq_summarize_drops(q), 0);   /* 9: still 90% */
	ids[0] = 3;
	assert_int_equal(aq_ack(q, ids, 1), 0);
	assert_int_equal(aq_summarize_drops(q), 1);   /* 8 */
	assert_int_equal(aq_summarize_drops(q), 0);   /* once */
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.events, 9);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(aq_get(q, "dropped", &s), 0);
	assert_null(s);
	assert_int_equal(aq_peek(q, 100, 1 << 20, &arr, &n), 0);
	assert_int_equal(n, 9);
	last = json_object_get(json_array_get(arr, 8), "agent");
	assert_non_null(last);
	assert_string_equal(json_string_value(json_object_get(last, "code")),
	    "queue-full");
	msg = json_string_value(json_object_get(last, "message"));
	assert_non_null(strstr(msg, "3 events dropped since "
	    "1970-01-01T00:12:57.000000000Z"));
	assert_non_null(strstr(msg, "rescan"));
	json_decref(arr);
	aq_close(q);

	/* The byte bound: three ~300-byte events in 1000 bytes. */
	teardown(state);
	setup(state);
	f = *state;
	q = open_q(f, 1000, 1000);
	for (i = 0; i < 3; i++)
		queue_one(q, change_body(i), i);
	assert_int_equal(aq_begin(q), 0);
	arr = change_body(3);
	assert_int_equal(aq_event(q, "scan", 5, arr, NULL), VG_ERR_TOOBIG);
	json_decref(arr);
	assert_int_equal(aq_commit(q, err, sizeof(err)), 0);
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.events, 3);
	assert_int_equal(st.dropped, 1);
	assert_true(st.bytes <= 1000);
	/* Outside a transaction, the drop is counted all the same. */
	arr = change_body(4);
	assert_int_equal(aq_event(q, "scan", 6, arr, NULL), VG_ERR_TOOBIG);
	json_decref(arr);
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.dropped, 2);
	aq_close(q);
	/* The count survives a restart. */
	q = open_q(f, 1000, 1000);
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.events, 3);
	aq_close(q);
}

static struct vg_item *
file_item(const char *path, uint64_t size)
{
	struct vg_item *it = vg_item_new(VG_KIND_FILE, path, strlen(path));

	assert_non_null(it);
	it->have = VG_A_TYPE | VG_A_SIZE | VG_A_MODE | VG_A_USER;
	it->ftype = VG_FT_REG;
	it->size = size;
	it->mode = 0640;
	assert_int_equal(vg_item_set_str(&it->user, "root"), 0);
	return it;
}

static void
test_overlay(void **state)
{
	struct fixture *f = *state;
	struct aq *q = open_q(f, 0, 0);
	struct vg_item *a = file_item("/etc/a", 10), *got;
	int found;

	assert_int_equal(aq_overlay_get(q, "/etc/a", 6, &found, &got), 0);
	assert_int_equal(found, 0);
	assert_null(got);
	assert_int_equal(aq_begin(q), 0);
	assert_int_equal(aq_overlay_put(q, "/etc/a", 6, a, 10), 0);
	assert_int_equal(aq_overlay_put(q, "/etc/b", 6, NULL, 20), 0);
	assert_int_equal(aq_commit(q, err, sizeof(err)), 0);

	assert_int_equal(aq_overlay_get(q, "/etc/a", 6, &found, &got), 0);
	assert_int_equal(found, 1);
	assert_non_null(got);
	assert_int_equal(got->kind, VG_KIND_FILE);
	assert_int_equal(got->path_len, 6);
	assert_memory_equal(got->path, "/etc/a", 6);
	assert_int_equal(got->size, 10);
	assert_int_equal(got->mode, 0640);
	assert_string_equal(got->user, "root");
	assert_int_equal(vg_item_diff(a, got, 0), 0);
	vg_item_free(got);
	assert_int_equal(aq_overlay_get(q, "/etc/b", 6, &found, &got), 0);
	assert_int_equal(found, 1);
	assert_null(got);

	/* Replaced, then pruned by stamp. */
	a->size = 11;
	assert_int_equal(aq_overlay_put(q, "/etc/a", 6, a, 15), 0);
	assert_int_equal(aq_overlay_get(q, "/etc/a", 6, &found, &got), 0);
	assert_int_equal(got->size, 11);
	vg_item_free(got);
	assert_int_equal(aq_overlay_prune(q, 16), 0);
	assert_int_equal(aq_overlay_get(q, "/etc/a", 6, &found, &got), 0);
	assert_int_equal(found, 0);
	assert_int_equal(aq_overlay_get(q, "/etc/b", 6, &found, &got), 0);
	assert_int_equal(found, 1);
	assert_int_equal(aq_overlay_put(q, "/etc/c", 6, a, INT64_MAX), 0);
	assert_int_equal(aq_overlay_prune(q, INT64_MAX), 0);
	assert_int_equal(aq_overlay_get(q, "/etc/b", 6, &found, &got), 0);
	assert_int_equal(found, 0);
	assert_int_equal(aq_overlay_get(q, "/etc/c", 6, &found, &got), 0);
	assert_int_equal(found, 0);

	/* Paths are bytes: not NUL, not empty. */
	assert_int_equal(aq_overlay_put(q, "", 0, a, 1), VG_ERR_INVAL);
	assert_int_equal(aq_overlay_put(q, "a\0b", 3, a, 1), VG_ERR_INVAL);
	assert_int_equal(aq_overlay_put(q, "/\xff\xfe", 3, a, 1), 0);
	assert_int_equal(aq_overlay_get(q, "/\xff\xfe", 3, &found, &got), 0);
	assert_int_equal(found, 1);
	vg_item_free(got);

	/* A damaged state is named. */
	aq_close(q);
	{
		sqlite3 *db;

		assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "UPDATE overlay SET state = "
		    "x'0102'", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	q = open_q(f, 0, 0);
	assert_int_equal(aq_overlay_get(q, "/\xff\xfe", 3, &found, &got),
	    VG_ERR_CORRUPT);
	assert_int_equal(found, 0);
	assert_null(got);
	aq_last_error(q, err, sizeof(err));
	assert_non_null(strstr(err, "damaged"));
	assert_non_null(strstr(err, "\\xff\\xfe"));
	vg_item_free(a);
	aq_close(q);
}

static struct vg_item *
package(const char *name, const char *version)
{
	struct vg_item *it = vg_item_new(VG_KIND_PACKAGE, name, strlen(name));

	assert_non_null(it);
	assert_int_equal(vg_item_set_prop(it, "version", version), 0);
	assert_int_equal(vg_item_set_prop(it, "arch", "amd64"), 0);
	it->have = VG_A_PROPS;
	return it;
}

static void
test_sysitem(void **state)
{
	struct fixture *f = *state;
	struct aq *q = open_q(f, 0, 0);
	struct vg_item *items[3], **got;
	size_t n, i;
	int known;

	assert_int_equal(aq_sys_known(q, VG_KIND_PACKAGE, &known), 0);
	assert_int_equal(known, 0);
	assert_int_equal(aq_sys_load(q, VG_KIND_PACKAGE, &got, &n), 0);
	assert_int_equal(n, 0);
	free(got);

	items[0] = package("zlib1g", "1.2.13");
	items[1] = package("bash", "5.2.15");
	items[2] = package("openssl", "3.0.11");
	assert_int_equal(aq_begin(q), 0);
	assert_int_equal(aq_sys_replace(q, VG_KIND_PACKAGE, items, 3), 0);
	assert_int_equal(aq_commit(q, err, sizeof(err)), 0);
	assert_int_equal(aq_sys_known(q, VG_KIND_PACKAGE, &known), 0);
	assert_int_equal(known, 1);
	assert_int_equal(aq_sys_known(q, VG_KIND_SERVICE, &known), 0);
	assert_int_equal(known, 0);

	assert_int_equal(aq_sys_load(q, VG_KIND_PACKAGE, &got, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(got[0]->path, "bash");
	assert_string_equal(got[1]->path, "openssl");
	assert_string_equal(got[2]->path, "zlib1g");
	assert_int_equal(got[0]->kind, VG_KIND_PACKAGE);
	assert_string_equal(vg_item_prop(got[0], "version"), "5.2.15");
	assert_string_equal(vg_item_prop(got[2], "arch"), "amd64");
	for (i = 0; i < n; i++)
		vg_item_free(got[i]);
	free(got);

	/* Replaced as a whole; a wrong kind is refused and changes
	 * nothing. */
	assert_int_equal(aq_sys_replace(q, VG_KIND_PACKAGE, items + 1, 1), 0);
	assert_int_equal(aq_sys_replace(q, VG_KIND_SERVICE, items, 1),
	    VG_ERR_INVAL);
	assert_int_equal(aq_sys_known(q, VG_KIND_SERVICE, &known), 0);
	assert_int_equal(known, 0);
	assert_int_equal(aq_sys_load(q, VG_KIND_PACKAGE, &got, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(got[0]->path, "bash");
	vg_item_free(got[0]);
	free(got);
	assert_int_equal(aq_sys_replace(q, VG_KIND_PACKAGE, NULL, 0), 0);
	assert_int_equal(aq_sys_load(q, VG_KIND_PACKAGE, &got, &n), 0);
	assert_int_equal(n, 0);
	free(got);
	assert_int_equal(aq_sys_known(q, VG_KIND_PACKAGE, &known), 0);
	assert_int_equal(known, 1);
	for (i = 0; i < 3; i++)
		vg_item_free(items[i]);
	aq_close(q);
}

static void
test_content(void **state)
{
	struct fixture *f = *state;
	struct aq *q = open_q(f, 0, 0);
	unsigned char *data;
	size_t dlen;
	int found;

	assert_int_equal(aq_content_get(q, "/etc/x", 6, &found, &data, &dlen),
	    0);
	assert_int_equal(found, 0);
	assert_null(data);
	assert_int_equal(aq_begin(q), 0);
	assert_int_equal(aq_content_put(q, "/etc/x", 6, "a\0b\n", 4), 0);
	assert_int_equal(aq_content_put(q, "/etc/empty", 10, "", 0), 0);
	assert_int_equal(aq_commit(q, err, sizeof(err)), 0);
	assert_int_equal(aq_content_get(q, "/etc/x", 6, &found, &data, &dlen),
	    0);
	assert_int_equal(found, 1);
	assert_int_equal(dlen, 4);
	assert_memory_equal(data, "a\0b\n", 4);
	free(data);
	assert_int_equal(aq_content_get(q, "/etc/empty", 10, &found, &data,
	    &dlen), 0);
	assert_int_equal(found, 1);
	assert_int_equal(dlen, 0);
	assert_non_null(data);
	free(data);
	assert_int_equal(aq_content_put(q, "/etc/x", 6, NULL, 0), 0);
	assert_int_equal(aq_content_get(q, "/etc/x", 6, &found, &data, &dlen),
	    0);
	assert_int_equal(found, 0);
	aq_close(q);
}

static void
test_reopen(void **state)
{
	struct fixture *f = *state;
	struct aq *q = open_q(f, 0, 0);
	struct vg_item *a = file_item("/etc/a", 10), *got, *pkg, **items;
	unsigned char *data;
	struct aq_stats st;
	struct stat sb;
	json_t *arr;
	size_t n, dlen;
	int found, i;
	char *s;

	assert_int_equal(stat(f->sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(stat(f->db, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	pkg = package("bash", "5.2");
	assert_int_equal(aq_begin(q), 0);
	for (i = 0; i < 5; i++) {
		arr = change_body(i);
		assert_int_equal(aq_event(q, "scan", i, arr, NULL), 0);
		json_decref(arr);
	}
	assert_int_equal(aq_overlay_put(q, "/etc/a", 6, a, 1), 0);
	assert_int_equal(aq_sys_replace(q, VG_KIND_PACKAGE, &pkg, 1), 0);
	assert_int_equal(aq_content_put(q, "/etc/a", 6, "hello", 5), 0);
	assert_int_equal(aq_set(q, "device_id", "7"), 0);
	assert_int_equal(aq_commit(q, err, sizeof(err)), 0);
	aq_close(q);

	q = open_q(f, 0, 0);
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.events, 5);
	assert_true(st.bytes > 1000);
	assert_int_equal(st.newest_seq, 5);
	assert_int_equal(aq_peek(q, 100, 1 << 20, &arr, &n), 0);
	assert_int_equal(n, 5);
	json_decref(arr);
	assert_int_equal(aq_overlay_get(q, "/etc/a", 6, &found, &got), 0);
	assert_int_equal(found, 1);
	assert_int_equal(got->size, 10);
	vg_item_free(got);
	assert_int_equal(aq_sys_load(q, VG_KIND_PACKAGE, &items, &n), 0);
	assert_int_equal(n, 1);
	vg_item_free(items[0]);
	free(items);
	assert_int_equal(aq_content_get(q, "/etc/a", 6, &found, &data, &dlen),
	    0);
	assert_int_equal(dlen, 5);
	free(data);
	assert_int_equal(aq_get(q, "device_id", &s), 0);
	assert_string_equal(s, "7");
	free(s);
	/* The totals read at open match what was queued. */
	{
		int64_t ids[] = { 1, 2, 3, 4, 5 };

		assert_int_equal(aq_ack(q, ids, 5), 0);
	}
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.events, 0);
	assert_int_equal(st.bytes, 0);
	vg_item_free(a);
	vg_item_free(pkg);
	aq_close(q);
}

static void
test_foreign(void **state)
{
	struct fixture *f = *state;
	struct aq *q = NULL;
	sqlite3 *db;
	int fd;

	assert_int_equal(mkdir(f->sub, 0700), 0);
	fd = open(f->db, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "this is not a database at all, not "
	    "even close; it goes on for a while to be sure.........", 90), 90);
	close(fd);
	assert_int_equal(aq_open(f->sub, NULL, &q, err, sizeof(err)),
	    VG_ERR_FORMAT);
	assert_null(q);
	assert_non_null(strstr(err, f->db));
	assert_non_null(strstr(err, "not an SQLite database"));
	assert_int_equal(aq_open_readonly(f->sub, &q, err, sizeof(err)),
	    VG_ERR_FORMAT);
	unlink(f->db);

	/* Another program's database. */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA application_id = 305419896;"
	    "CREATE TABLE t(x);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(aq_open(f->sub, NULL, &q, err, sizeof(err)),
	    VG_ERR_FORMAT);
	assert_non_null(strstr(err, f->db));
	assert_non_null(strstr(err, "not a vigil-agent state file"));
	assert_non_null(strstr(err, "0x12345678"));
	assert_int_equal(aq_open_readonly(f->sub, &q, err, sizeof(err)),
	    VG_ERR_FORMAT);
	unlink(f->db);

	/* Ours but newer. */
	q = open_q(f, 0, 0);
	aq_close(q);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(aq_open(f->sub, NULL, &q, err, sizeof(err)),
	    VG_ERR_VERSION);
	assert_non_null(strstr(err, "99"));
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(aq_open_readonly(f->sub, &q, err, sizeof(err)),
	    VG_ERR_VERSION);
	assert_null(q);
}

static void
test_readonly(void **state)
{
	struct fixture *f = *state;
	struct aq *q = NULL, *ro = NULL;
	struct aq_stats st;
	json_t *body;
	char *s;

	assert_int_equal(aq_open_readonly(f->sub, &ro, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
	assert_null(ro);
	assert_non_null(strstr(err, f->db));
	assert_int_equal(access(f->sub, F_OK), -1);   /* made nothing */

	q = open_q(f, 0, 0);
	queue_one(q, change_body(1), 1);
	assert_int_equal(aq_set(q, "device_id", "3"), 0);
	/* While the agent runs. */
	assert_int_equal(aq_open_readonly(f->sub, &ro, err, sizeof(err)), 0);
	assert_int_equal(aq_stats(ro, &st), 0);
	assert_int_equal(st.events, 1);
	assert_int_equal(aq_get(ro, "device_id", &s), 0);
	assert_string_equal(s, "3");
	free(s);
	body = change_body(2);
	assert_int_equal(aq_event(ro, "scan", 1, body, NULL), VG_ERR_PERM);
	assert_int_equal(aq_begin(ro), VG_ERR_PERM);
	assert_int_equal(aq_set(ro, "x", "y"), VG_ERR_PERM);
	json_decref(body);
	aq_close(ro);
	aq_close(q);

	/* And after it stopped. */
	assert_int_equal(aq_open_readonly(f->sub, &ro, err, sizeof(err)), 0);
	assert_int_equal(aq_stats(ro, &st), 0);
	assert_int_equal(st.events, 1);
	assert_int_equal(st.newest_seq, 1);
	aq_close(ro);
}

/* A child writes in a transaction and dies before the commit. */
static void
test_crash(void **state)
{
	struct fixture *f = *state;
	struct aq *q = open_q(f, 0, 0);
	struct vg_item *got;
	struct aq_stats st;
	pid_t pid;
	int status, found;

	queue_one(q, change_body(0), 0);
	aq_close(q);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vg_item *it = file_item("/etc/crash", 1);
		json_t *b;
		int i;

		if (aq_open(f->sub, NULL, &q, err, sizeof(err)) != 0 ||
		    aq_begin(q) != 0)
			_exit(2);
		/* Enough to spill pages to the WAL before the commit. */
		for (i = 0; i < 5000; i++) {
			b = change_body(i);
			if (aq_event(q, "scan", i, b, NULL) != 0)
				_exit(3);
			json_decref(b);
		}
		if (aq_overlay_put(q, "/etc/crash", 10, it, 1) != 0 ||
		    aq_set(q, "device_id", "9") != 0)
			_exit(4);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	q = open_q(f, 0, 0);
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.events, 1);
	assert_int_equal(st.newest_seq, 1);
	assert_int_equal(aq_overlay_get(q, "/etc/crash", 10, &found, &got), 0);
	assert_int_equal(found, 0);
	{
		char *s;

		assert_int_equal(aq_get(q, "device_id", &s), 0);
		assert_null(s);
	}
	assert_int_equal(queue_one(q, change_body(1), 1), 2);
	aq_close(q);
}

/*
 * A full disk, made with a file size limit in a child: the commit (or
 * the write that spills) fails with NOSPACE naming the file, and what
 * was committed before stays whole.
 */
static void
test_nospace(void **state)
{
	struct fixture *f = *state;
	struct aq *q = open_q(f, 0, 0);
	struct aq_stats st;
	pid_t pid;
	int status;

	queue_one(q, change_body(0), 0);
	aq_close(q);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 256 * 1024, 256 * 1024 };
		json_t *b;
		int i, r = 0;

		signal(SIGXFSZ, SIG_IGN);
		if (aq_open(f->sub, NULL, &q, err, sizeof(err)) != 0)
			_exit(2);
		setrlimit(RLIMIT_FSIZE, &rl);
		if (aq_begin(q) != 0)
			_exit(3);
		for (i = 0; i < 5000 && r == 0; i++) {
			b = change_body(i);
			r = aq_event(q, "scan", i, b, NULL);
			json_decref(b);
		}
		if (r == 0)
			r = aq_commit(q, err, sizeof(err));
		else {
			/* The rest of the transaction fails the same way. */
			aq_last_error(q, err, sizeof(err));
			if (aq_commit(q, NULL, 0) != r)
				_exit(5);
		}
		if (r != VG_ERR_NOSPACE || strstr(err, f->db) == NULL ||
		    strstr(err, "disk full") == NULL)
			_exit(4);
		/* Still usable for small things (the WAL has room again). */
		aq_close(q);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	q = open_q(f, 0, 0);
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.events, 1);
	assert_int_equal(queue_one(q, change_body(1), 1), 2);
	aq_close(q);
}

struct writer {
	struct aq *q;
	int n;
	int64_t last;
	int ordered;
};

static void *
writer_run(void *arg)
{
	struct writer *w = arg;
	int64_t seq;
	json_t *b;
	int i;

	w->ordered = 1;
	for (i = 0; i < w->n; i++) {
		b = change_body(i);
		if (aq_begin(w->q) != 0 ||
		    aq_event(w->q, "realtime", i, b, &seq) != 0 ||
		    aq_commit(w->q, NULL, 0) != 0)
			w->ordered = 0;
		json_decref(b);
		if (seq <= w->last)
			w->ordered = 0;
		w->last = seq;
	}
	return NULL;
}

static void
count_wake(void *arg)
{
	__atomic_add_fetch((int *)arg, 1, __ATOMIC_SEQ_CST);
}

static void
test_threads(void **state)
{
	struct fixture *f = *state;
	struct aq *q = open_q(f, 0, 0);
	struct writer w[4];
	pthread_t th[4];
	struct aq_stats st;
	int i, wakes = 0;
	json_t *arr, *b;
	size_t n;

	aq_set_notify(q, count_wake, &wakes);
	memset(w, 0, sizeof(w));
	for (i = 0; i < 4; i++) {
		w[i].q = q;
		w[i].n = 300;
		assert_int_equal(pthread_create(&th[i], NULL, writer_run,
		    &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_true(w[i].ordered);
	}
	assert_int_equal(wakes, 1200);
	assert_int_equal(aq_stats(q, &st), 0);
	assert_int_equal(st.events, 1200);
	assert_int_equal(st.oldest_seq, 1);
	assert_int_equal(st.newest_seq, 1200);
	assert_int_equal(aq_peek(q, 2000, 1 << 30, &arr, &n), 0);
	assert_int_equal(n, 1200);
	for (i = 0; i < 1200; i++)
		assert_int_equal(json_integer_value(json_object_get(
		    json_array_get(arr, (size_t)i), "id")), i + 1);
	json_decref(arr);

	/* No wake for a rollback or a commit without events. */
	assert_int_equal(aq_begin(q), 0);
	b = change_body(1);
	assert_int_equal(aq_event(q, "scan", 1, b, NULL), 0);
	json_decref(b);
	aq_rollback(q);
	assert_int_equal(aq_set(q, "k", "v"), 0);
	assert_int_equal(wakes, 1200);
	aq_set_notify(q, NULL, NULL);
	aq_close(q);
}

/* Not a timed test: prints the rates for the record. */
static void
test_throughput(void **state)
{
	struct fixture *f = *state;
	struct aq *q = open_q(f, 0, 0);
	enum { TOTAL = 20000, BATCH = 1000 };
	int64_t *ids = malloc(BATCH * sizeof(*ids));
	json_t *bodies[BATCH], *arr;
	double t0, t1, t2;
	struct stat sb;
	off_t full;
	size_t n, i, total = 0;
	int b;

	assert_non_null(ids);
	for (i = 0; i < BATCH; i++)
		bodies[i] = change_body((int)i);
	t0 = vg_now();
	for (b = 0; b < TOTAL / BATCH; b++) {
		assert_int_equal(aq_begin(q), 0);
		for (i = 0; i < BATCH; i++)
			assert_int_equal(aq_event(q, "scan", (int64_t)i,
			    bodies[i], NULL), 0);
		assert_int_equal(aq_commit(q, err, sizeof(err)), 0);
	}
	t1 = vg_now();
	assert_int_equal(stat(f->db, &sb), 0);
	full = sb.st_size;
	for (;;) {
		assert_int_equal(aq_peek(q, BATCH, 1 << 30, &arr, &n), 0);
		if (n == 0) {
			json_decref(arr);
			break;
		}
		for (i = 0; i < n; i++)
			ids[i] = json_integer_value(json_object_get(
			    json_array_get(arr, i), "id"));
		json_decref(arr);
		assert_int_equal(aq_ack(q, ids, n), 0);
		total += n;
	}
	t2 = vg_now();
	assert_int_equal(total, TOTAL);
	print_message("queue: %d events in batches of %d: %.0f events/s "
	    "queued, %.0f events/s peeked and acknowledged\n", TOTAL, BATCH,
	    TOTAL / (t1 - t0), TOTAL / (t2 - t1));
	for (i = 0; i < BATCH; i++)
		json_decref(bodies[i]);
	free(ids);
	aq_close(q);
	/* Drained, the file gives its space back (at the last checkpoint). */
	assert_int_equal(stat(f->db, &sb), 0);
	assert_true(full > 1024 * 1024);
	assert_true(sb.st_size < full / 10);
}

/* An entry is never replaced by an older stamp (a scan's view written
 * after the watcher's newer one); the list is sorted by path bytes. */
static void
test_overlay_stamps(void **state)
{
	struct fixture *f = *state;
	struct aq *q = open_q(f, 0, 0);
	struct vg_item *a = file_item("/etc/a", 10), *got;
	struct aq_overlay_entry *v;
	int64_t stamp;
	size_t n;
	int found;

	assert_int_equal(aq_overlay_put(q, "/etc/a", 6, a, 5), 0);
	a->size = 11;
	assert_int_equal(aq_overlay_put(q, "/etc/a", 6, a, 4), 0);
	assert_int_equal(aq_overlay_get_stamp(q, "/etc/a", 6, &found, &got,
	    &stamp), 0);
	assert_int_equal(found, 1);
	assert_int_equal(got->size, 10);
	assert_true(stamp == 5);
	vg_item_free(got);
	/* The same stamp replaces. */
	assert_int_equal(aq_overlay_put(q, "/etc/a", 6, a, 5), 0);
	assert_int_equal(aq_overlay_get(q, "/etc/a", 6, &found, &got), 0);
	assert_int_equal(got->size, 11);
	vg_item_free(got);
	/* Restamped up, never down. */
	assert_int_equal(aq_overlay_restamp(q, "/etc/a", 6, 3), 0);
	assert_int_equal(aq_overlay_restamp(q, "/etc/a", 6, 8), 0);
	assert_int_equal(aq_overlay_get_stamp(q, "/etc/a", 6, &found, &got,
	    &stamp), 0);
	assert_true(stamp == 8);
	vg_item_free(got);
	assert_int_equal(aq_overlay_put(q, "/etc", 4, NULL, 1), 0);
	assert_int_equal(aq_overlay_put(q, "/etc/\xff", 6, a, 1), 0);
	assert_int_equal(aq_overlay_list(q, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].path, "/etc");
	assert_null(v[0].state);
	assert_string_equal(v[1].path, "/etc/a");
	assert_true(v[1].stamp == 8);
	assert_int_equal(v[1].state->size, 11);
	assert_int_equal(v[2].len, 6);
	aq_overlay_list_free(v, n);
	vg_item_free(a);
	aq_close(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_peek_text, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ack_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysitem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay_stamps, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nospace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throughput, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
