/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of core/vg_diff: exact expected texts for the formatting
 * rules and the caps, and a property test that our output equals GNU
 * diff's byte for byte on random inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vg_diff.h"
#include "vg_err.h"

#define GNU_DIFF "/usr/bin/diff"

static void
opts_nocap(struct vg_diff_opts *o)
{
	vg_diff_opts_default(o);
	o->max_output = 0;
	o->max_input = 0;
	o->max_edit = 0;
}

/* Diffs a against b (NUL-free strings) and checks the exact result. */
static void
check(const char *a, const char *b, const struct vg_diff_opts *o,
    const char *want, size_t added, size_t removed)
{
	struct vg_diff_result res;

	assert_int_equal(vg_diff_unified(a, strlen(a), b, strlen(b), "a", "b",
	    o, &res), 0);
	assert_non_null(res.text);
	assert_string_equal(res.text, want);
	assert_int_equal(res.len, strlen(want));
	assert_int_equal(res.added, added);
	assert_int_equal(res.removed, removed);
	assert_int_equal(res.truncated, 0);
	assert_null(res.why);
	vg_diff_result_free(&res);
	assert_null(res.text);
}

static void
check3(const char *a, const char *b, const char *want, size_t added,
    size_t removed)
{
	struct vg_diff_opts o;

	opts_nocap(&o);
	check(a, b, &o, want, added, removed);
}

/* "1\n2\n...n\n" with line k replaced by repl (k 1-based, 0: none). */
static char *
numbered(int n, int k, const char *repl, int k2, const char *repl2)
{
	size_t size = (size_t)n * 16 + 64, len = 0;
	char *s = malloc(size);
	int i, w;

	assert_non_null(s);
	for (i = 1; i <= n; i++) {
		if (i == k)
			w = snprintf(s + len, size - len, "%s\n", repl);
		else if (i == k2)
			w = snprintf(s + len, size - len, "%s\n", repl2);
		else
			w = snprintf(s + len, size - len, "%d\n", i);
		assert_true(w > 0 && (size_t)w < size - len);
		len += (size_t)w;
	}
	s[len] = '\0';
	return s;
}

static void
test_equal(void **state)
{
	struct vg_diff_result res;
	struct vg_diff_opts o;

	(void)state;
	check3("a\nb\n", "a\nb\n", "", 0, 0);
	check3("", "", "", 0, 0);
	check3("no newline", "no newline", "", 0, 0);
	/* NULL with length 0 is an empty input, not an error. */
	vg_diff_opts_default(&o);
	assert_int_equal(vg_diff_unified(NULL, 0, NULL, 0, "a", "b", &o,
	    &res), 0);
	assert_string_equal(res.text, "");
	assert_int_equal(res.len, 0);
	vg_diff_result_free(&res);
	assert_int_equal(vg_diff_unified(NULL, 0, "x\n", 2, "a", "b", &o,
	    &res), 0);
	assert_string_equal(res.text, "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n");
	vg_diff_result_free(&res);
}

static void
test_add_delete(void **state)
{
	(void)state;
	check3("a\nb\n", "a\nb\nc\n",
	    "--- a\n+++ b\n@@ -1,2 +1,3 @@\n a\n b\n+c\n", 1, 0);
	check3("a\nb\nc\n", "a\nc\n",
	    "--- a\n+++ b\n@@ -1,3 +1,2 @@\n a\n-b\n c\n", 0, 1);
	check3("x\n", "a\nx\n", "--- a\n+++ b\n@@ -1 +1,2 @@\n+a\n x\n", 1, 0);
}

static void
test_change_context(void **state)
{
	char *a = numbered(10, 0, NULL, 0, NULL);
	char *b = numbered(10, 5, "five", 0, NULL);

	(void)state;
	check3(a, b, "--- a\n+++ b\n@@ -2,7 +2,7 @@\n"
	    " 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n", 1, 1);
	free(a);
	free(b);
}

static void
test_hunks(void **state)
{
	char *a = numbered(20, 0, NULL, 0, NULL);
	char *b;

	(void)state;
	/* 7 unchanged lines between the changes: two hunks. */
	b = numbered(20, 3, "x", 11, "y");
	check3(a, b, "--- a\n+++ b\n"
	    "@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+x\n 4\n 5\n 6\n"
	    "@@ -8,7 +8,7 @@\n 8\n 9\n 10\n-11\n+y\n 12\n 13\n 14\n", 2, 2);
	free(b);
	/* 6 unchanged lines: the contexts touch and the hunks merge. */
	b = numbered(20, 3, "x", 10, "y");
	check3(a, b, "--- a\n+++ b\n"
	    "@@ -1,13 +1,13 @@\n 1\n 2\n-3\n+x\n 4\n 5\n 6\n 7\n 8\n 9\n"
	    "-10\n+y\n 11\n 12\n 13\n", 2, 2);
	free(b);
	free(a);
}

static void
test_context_option(void **state)
{
	struct vg_diff_opts o;
	char *a = numbered(20, 0, NULL, 0, NULL);
	char *b = numbered(20, 3, "x", 7, "y");
	char *c = numbered(20, 3, "x", 6, "y");

	(void)state;
	opts_nocap(&o);
	o.context = 0;
	check(a, b, &o, "--- a\n+++ b\n@@ -3 +3 @@\n-3\n+x\n"
	    "@@ -7 +7 @@\n-7\n+y\n", 2, 2);
	check("a\nb\n", "a\nx\nb\n", &o, "--- a\n+++ b\n@@ -1,0 +2 @@\n+x\n",
	    1, 0);
	check("a\nx\nb\n", "a\nb\n", &o, "--- a\n+++ b\n@@ -2 +1,0 @@\n-x\n",
	    0, 1);
	/* With one line of context, a gap of 3 splits and 2 merges. */
	o.context = 1;
	check(a, b, &o, "--- a\n+++ b\n@@ -2,3 +2,3 @@\n 2\n-3\n+x\n 4\n"
	    "@@ -6,3 +6,3 @@\n 6\n-7\n+y\n 8\n", 2, 2);
	check(a, c, &o, "--- a\n+++ b\n@@ -2,6 +2,6 @@\n 2\n-3\n+x\n 4\n"
	    " 5\n-6\n+y\n 7\n", 2, 2);
	/* Far more context than lines must not overflow anything. */
	o.context = SIZE_MAX;
	check("a\nb\nc\n", "a\nx\nc\n", &o,
	    "--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\n-b\n+x\n c\n", 1, 1);
	free(a);
	free(b);
	free(c);
}

static void
test_no_newline(void **state)
{
	(void)state;
	check3("a\nb", "a\nc", "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n"
	    "\\ No newline at end of file\n+c\n"
	    "\\ No newline at end of file\n", 1, 1);
	/* Only the final newline differs: the last line changes. */
	check3("x", "x\n", "--- a\n+++ b\n@@ -1 +1 @@\n-x\n"
	    "\\ No newline at end of file\n+x\n", 1, 1);
	check3("a\nb\n", "a\nb", "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n+b\n"
	    "\\ No newline at end of file\n", 1, 1);
	/* An unchanged last line without newline shows up as context. */
	check3("a\nb\nc", "x\nb\nc", "--- a\n+++ b\n@@ -1,3 +1,3 @@\n-a\n+x\n"
	    " b\n c\n\\ No newline at end of file\n", 1, 1);
}

static void
test_empty(void **state)
{
	(void)state;
	check3("", "x\ny\n", "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n", 2, 0);
	check3("x\ny\n", "", "--- a\n+++ b\n@@ -1,2 +0,0 @@\n-x\n-y\n", 0, 2);
	check3("", "z", "--- a\n+++ b\n@@ -0,0 +1 @@\n+z\n"
	    "\\ No newline at end of file\n", 1, 0);
}

static void
test_crlf(void **state)
{
	(void)state;
	check3("a\r\nb\r\nc\r\n", "a\r\nx\r\nc\r\n",
	    "--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\r\n-b\r\n+x\r\n c\r\n", 1, 1);
	/* A line ending change is a change. */
	check3("a\r\n", "a\n", "--- a\n+++ b\n@@ -1 +1 @@\n-a\r\n+a\n", 1, 1);
}

static void
test_binary(void **state)
{
	static const char a[] = "a\0b\nsame\n\xff\xfe\n";
	static const char b[] = "a\0c\nsame\n\xff\xfe\n";
	static const char want[] = "--- a\n+++ b\n@@ -1,3 +1,3 @@\n"
	    "-a\0b\n+a\0c\n same\n \xff\xfe\n";
	struct vg_diff_result res;
	struct vg_diff_opts o;

	(void)state;
	opts_nocap(&o);
	/* Bytes are passed through as they are; len counts the NULs. */
	assert_int_equal(vg_diff_unified(a, sizeof(a) - 1, b, sizeof(b) - 1,
	    "a", "b", &o, &res), 0);
	assert_int_equal(res.len, sizeof(want) - 1);
	assert_memory_equal(res.text, want, sizeof(want) - 1);
	assert_int_equal(res.text[res.len], '\0');
	assert_int_equal(res.added, 1);
	assert_int_equal(res.removed, 1);
	vg_diff_result_free(&res);
}

/* Mirror of line_hash() in vg_diff.c, to build colliding lines. */
static uint64_t
mirror_hash(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

/* The 64-bit state after the first 8-byte block of a 17-byte line. */
static uint64_t
mirror_block1(const char *p)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ 17, w;

	memcpy(&w, p, 8);
	h = (h ^ w) * 0xff51afd7ed558ccdULL;
	return h ^ (h >> 32);
}

/*
 * Lines are grouped by hash; different lines with the same hash must
 * still differ. Colliding 17-byte lines are easy to build for this hash:
 * the second block cancels the difference the first one made. (Should
 * line_hash change, the lines stop colliding and the test still checks
 * a plain change.)
 */
static void
test_hash_collision(void **state)
{
	char x[18] = "aaaaaaaabbbbbbbb\n", y[18] = "cccccccc????????\n";
	char a[64], b[64], want[128];
	uint64_t w;
	size_t k;
	int tries;

	(void)state;
	for (tries = 0; tries < 256; tries++) {
		y[7] = (char)('A' + tries % 26);
		y[6] = (char)('A' + tries / 26);
		memcpy(&w, x + 8, 8);
		w ^= mirror_block1(x) ^ mirror_block1(y);
		memcpy(y + 8, &w, 8);
		if (memchr(y, '\n', 16) == NULL)
			break;
	}
	assert_true(tries < 256);
	assert_true(memcmp(x, y, 17) != 0);
	assert_true(mirror_hash(x, 17) == mirror_hash(y, 17));

	/* x x x against x y x: only the middle line changes. */
	memcpy(a, x, 17);
	memcpy(a + 17, x, 17);
	memcpy(a + 34, x, 17);
	memcpy(b, x, 17);
	memcpy(b + 17, y, 17);
	memcpy(b + 34, x, 17);
	k = strlen("--- a\n+++ b\n@@ -1,3 +1,3 @@\n ");
	memcpy(want, "--- a\n+++ b\n@@ -1,3 +1,3 @@\n ", k);
	memcpy(want + k, x, 17);
	k += 17;
	want[k++] = '-';
	memcpy(want + k, x, 17);
	k += 17;
	want[k++] = '+';
	memcpy(want + k, y, 17);
	k += 17;
	want[k++] = ' ';
	memcpy(want + k, x, 17);
	k += 17;
	{
		struct vg_diff_result res;
		struct vg_diff_opts o;

		opts_nocap(&o);
		assert_int_equal(vg_diff_unified(a, 51, b, 51, "a", "b", &o,
		    &res), 0);
		assert_int_equal(res.len, k);
		assert_memory_equal(res.text, want, k);
		assert_int_equal(res.added, 1);
		assert_int_equal(res.removed, 1);
		vg_diff_result_free(&res);
	}
}

static void
test_cap_output(void **state)
{
	static const char full[] = "--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\n-b\n+x\n"
	    " c\n";
	static const char cut[] = "--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\n-b\n"
	    "[diff truncated: output exceeds cap]\n";
	static const char cut2[] = "--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\n-b\n"
	    "+x\n[diff truncated: output exceeds cap]\n";
	struct vg_diff_result res;
	struct vg_diff_opts o;
	size_t cap;

	(void)state;
	opts_nocap(&o);
	/* The whole text fits exactly: no truncation. */
	o.max_output = sizeof(full) - 1;
	check("a\nb\nc\n", "a\nx\nc\n", &o, full, 1, 1);

	/* A cap that cuts "+x\n" stops after "-b\n"... */
	for (cap = sizeof(full) - 7; cap < sizeof(full) - 1; cap++) {
		o.max_output = cap;
		assert_int_equal(vg_diff_unified("a\nb\nc\n", 6, "a\nx\nc\n", 6,
		    "a", "b", &o, &res), 0);
		/* ...and one that cuts " c\n" after "+x\n". */
		assert_string_equal(res.text, cap < sizeof(full) - 4 ? cut :
		    cut2);
		assert_int_equal(res.truncated, 1);
		assert_string_equal(res.why, "output exceeds cap");
		/* The counts are those of the whole diff. */
		assert_int_equal(res.added, 1);
		assert_int_equal(res.removed, 1);
		vg_diff_result_free(&res);
	}

	/* A line and its "\ No newline" note are cut as one. */
	o.max_output = strlen("--- a\n+++ b\n@@ -1 +1 @@\n-x\n");
	assert_int_equal(vg_diff_unified("x", 1, "y\n", 2, "a", "b", &o,
	    &res), 0);
	assert_string_equal(res.text, "--- a\n+++ b\n@@ -1 +1 @@\n"
	    "[diff truncated: output exceeds cap]\n");
	vg_diff_result_free(&res);

	/* Too small even for the headers: only the marker. */
	o.max_output = 3;
	assert_int_equal(vg_diff_unified("a\n", 2, "b\n", 2, "a", "b", &o,
	    &res), 0);
	assert_string_equal(res.text, "[diff truncated: output exceeds cap]\n");
	assert_int_equal(res.truncated, 1);
	vg_diff_result_free(&res);
}

static void
test_cap_input(void **state)
{
	struct vg_diff_result res;
	struct vg_diff_opts o;

	(void)state;
	opts_nocap(&o);
	o.max_input = 4;
	/* Exactly at the cap is fine. */
	check("abc\n", "abd\n", &o, "--- a\n+++ b\n@@ -1 +1 @@\n-abc\n+abd\n",
	    1, 1);
	assert_int_equal(vg_diff_unified("abc\n", 4, "abcd\n", 5, "a", "b", &o,
	    &res), 0);
	assert_string_equal(res.text, "--- a\n+++ b\n"
	    "[diff truncated: input exceeds cap]\n");
	assert_int_equal(res.truncated, 1);
	assert_string_equal(res.why, "input exceeds cap");
	assert_int_equal(res.added, 0);
	assert_int_equal(res.removed, 0);
	vg_diff_result_free(&res);
	/* Even equal inputs over the cap are not compared. */
	assert_int_equal(vg_diff_unified("abcde", 5, "abcde", 5, "a", "b", &o,
	    &res), 0);
	assert_int_equal(res.truncated, 1);
	vg_diff_result_free(&res);
}

static void
test_cap_edit(void **state)
{
	static const char marker[] = "--- a\n+++ b\n"
	    "[diff truncated: too many differences]\n";
	struct vg_diff_result res;
	struct vg_diff_opts o;

	(void)state;
	opts_nocap(&o);
	/* 2 changed lines = 4 edits: a budget of 4 is enough. */
	o.max_edit = 4;
	check("a\nb\nc\nd\n", "x\nb\ny\nd\n", &o, "--- a\n+++ b\n"
	    "@@ -1,4 +1,4 @@\n-a\n+x\n b\n-c\n+y\n d\n", 2, 2);
	o.max_edit = 3;
	assert_int_equal(vg_diff_unified("a\nb\nc\nd\n", 8, "x\nb\ny\nd\n", 8,
	    "a", "b", &o, &res), 0);
	assert_string_equal(res.text, marker);
	assert_int_equal(res.truncated, 1);
	assert_string_equal(res.why, "too many differences");
	vg_diff_result_free(&res);

	/* Plain deletions of lines that also occur in b count too. */
	o.max_edit = 2;
	assert_int_equal(vg_diff_unified("a\na\na\na\n", 8, "a\n", 2, "a",
	    "b", &o, &res), 0);
	assert_string_equal(res.text, marker);
	assert_int_equal(res.truncated, 1);
	vg_diff_result_free(&res);
	assert_int_equal(vg_diff_unified("a\n", 2, "a\na\na\na\n", 8, "a",
	    "b", &o, &res), 0);
	assert_string_equal(res.text, marker);
	vg_diff_result_free(&res);
	o.max_edit = 3;
	check("a\na\na\na\n", "a\n", &o, "--- a\n+++ b\n@@ -1,4 +1 @@\n"
	    " a\n-a\n-a\n-a\n", 0, 3);

	/* Reordered lines are not discarded: the search itself gives up. */
	o.max_edit = 5;
	assert_int_equal(vg_diff_unified("a\nb\nc\nd\ne\nf\n", 12,
	    "f\ne\nd\nc\nb\na\n", 12, "a", "b", &o, &res), 0);
	assert_string_equal(res.text, marker);
	assert_int_equal(res.truncated, 1);
	vg_diff_result_free(&res);
	o.max_edit = 10;
	assert_int_equal(vg_diff_unified("a\nb\nc\nd\ne\nf\n", 12,
	    "f\ne\nd\nc\nb\na\n", 12, "a", "b", &o, &res), 0);
	assert_int_equal(res.truncated, 0);
	assert_int_equal(res.added + res.removed, 10);
	vg_diff_result_free(&res);
}

static void
test_invalid(void **state)
{
	struct vg_diff_result res;
	struct vg_diff_opts o;

	(void)state;
	vg_diff_opts_default(&o);
	assert_int_equal(o.context, 3);
	assert_int_equal(o.max_output, 64 * 1024);
	assert_int_equal(o.max_input, 16 * 1024 * 1024);
	assert_int_equal(o.max_edit, 100000);
	assert_int_equal(vg_diff_unified("a", 1, "b", 1, "a", "b", &o, NULL),
	    VG_ERR_INVAL);
	assert_int_equal(vg_diff_unified(NULL, 1, "b", 1, "a", "b", &o, &res),
	    VG_ERR_INVAL);
	assert_null(res.text);
	assert_int_equal(vg_diff_unified("a", 1, "b", 1, NULL, "b", &o, &res),
	    VG_ERR_INVAL);
	assert_int_equal(vg_diff_unified("a", 1, "b", 1, "a", "b", NULL, &res),
	    VG_ERR_INVAL);
	/* Freeing a zeroed or NULL result is harmless. */
	vg_diff_result_free(&res);
	vg_diff_result_free(NULL);
}

/* Property test against GNU diff. */

struct rng {
	uint64_t s;
};

static uint32_t
rng_next(struct rng *r)
{
	/* splitmix64: fixed seed, same sequence on every run. */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static uint32_t
rng_below(struct rng *r, uint32_t n)
{
	return rng_next(r) % n;
}

struct text {
	char *p;
	size_t len, size;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->size) {
		t->size = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->size);
		assert_non_null(t->p);
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

/* How random lines are drawn. */
struct gen {
	uint32_t alpha;   /* number of common words in use */
	uint32_t unique;  /* 1 in unique lines is seen nowhere else */
	uint32_t freq;    /* percentage of lines that are "x" */
	int binary;       /* raw bytes instead of words */
};

/* A line from a small alphabet, or now and then one seen nowhere else. */
static void
random_line(struct rng *r, struct text *t, const struct gen *g)
{
	static const char *const words[] = {
		"a", "b", "c", "d", "e", "f", "g", "h", "}", "",
		"  x = 1;", "\tfoo", "a\r", "b\r", "ab",
	};
	static const char bin[] = { '\0', '\r', '\t', (char)0xff, 'a', 'b' };
	char buf[32];
	uint32_t k;
	int n;

	if (rng_below(r, g->unique) == 0) {
		n = snprintf(buf, sizeof(buf), "u%u", rng_next(r));
		text_add(t, buf, (size_t)n);
	} else if (rng_below(r, 100) < g->freq) {
		text_add(t, "x", 1);
	} else if (g->binary) {
		for (k = rng_below(r, 3); k > 0; k--)
			text_add(t, &bin[rng_below(r, sizeof(bin))], 1);
	} else {
		k = rng_below(r, g->alpha);
		text_add(t, words[k], strlen(words[k]));
	}
	text_add(t, "\n", 1);
}

static void
random_file(struct rng *r, struct text *t, uint32_t n, const struct gen *g)
{
	while (n-- > 0)
		random_line(r, t, g);
}

/* b from a: copy lines of a with random deletions, inserts, changes. */
static void
mutate(struct rng *r, const struct text *a, struct text *b,
    const struct gen *g)
{
	const char *p = a->p, *end = a->p + a->len, *nl;
	uint32_t rate = 2 + rng_below(r, 8);

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl == NULL ? end : nl + 1;
		switch (rng_below(r, rate)) {
		case 0:
			break;
		case 1:
			random_line(r, b, g);
			text_add(b, p, (size_t)(nl - p));
			break;
		case 2:
			random_line(r, b, g);
			break;
		default:
			text_add(b, p, (size_t)(nl - p));
			break;
		}
		p = nl;
	}
	if (rng_below(r, 4) == 0)
		random_line(r, b, g);
}

static void
write_file(const char *path, const struct text *t)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	if (t->len > 0)
		assert_int_equal(fwrite(t->p, 1, t->len, fp), t->len);
	assert_int_equal(fclose(fp), 0);
}

/* Runs GNU diff on the two files and returns its standard output. */
static void
gnu_diff(const char *pa, const char *pb, size_t context, int text,
    struct text *out)
{
	char uarg[32], buf[4096];
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (context == 3)
		snprintf(uarg, sizeof(uarg), "-u");
	else
		snprintf(uarg, sizeof(uarg), "-U%zu", context);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[10], **ap = argv;

		*ap++ = "diff";
		*ap++ = uarg;
		if (text)
			*ap++ = "-a";
		*ap++ = "--label";
		*ap++ = "a";
		*ap++ = "--label";
		*ap++ = "b";
		*ap++ = (char *)pa;
		*ap++ = (char *)pb;
		*ap = NULL;
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(GNU_DIFF, argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n >= 0);
		if (n == 0)
			break;
		text_add(out, buf, (size_t)n);
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* 0: same, 1: different, anything else: diff failed. */
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) <= 1);
}

static void
dump(const char *what, const struct text *t)
{
	print_message("---- %s (%zu bytes) ----\n", what, t->len);
	if (t->len > 0)
		fwrite(t->p, 1, t->len, stdout);
	print_message("---- end %s ----\n", what);
}

static int
compare_one(struct rng *r, const char *pa, const char *pb, uint32_t maxlines,
    const struct gen *g, size_t context)
{
	struct text a = { 0 }, b = { 0 }, want = { 0 };
	struct vg_diff_result res;
	struct vg_diff_opts o;
	int same;

	text_add(&a, "", 0);
	text_add(&b, "", 0);
	text_add(&want, "", 0);
	random_file(r, &a, rng_below(r, maxlines + 1), g);
	if (rng_below(r, 4) == 0)
		random_file(r, &b, rng_below(r, maxlines + 1), g);
	else
		mutate(r, &a, &b, g);
	/* Now and then drop a final newline (on either side or both). */
	if (a.len > 0 && rng_below(r, 6) == 0)
		a.p[--a.len] = '\0';
	if (b.len > 0 && rng_below(r, 6) == 0)
		b.p[--b.len] = '\0';

	write_file(pa, &a);
	write_file(pb, &b);
	gnu_diff(pa, pb, context, g->binary, &want);

	opts_nocap(&o);
	o.context = context;
	assert_int_equal(vg_diff_unified(a.p, a.len, b.p, b.len, "a", "b", &o,
	    &res), 0);
	same = res.len == want.len && memcmp(res.text, want.p, want.len) == 0;
	if (!same) {
		struct text got = { res.text, res.len, res.len };

		dump("a", &a);
		dump("b", &b);
		dump("GNU diff", &want);
		dump("vg_diff", &got);
	}
	assert_int_equal(res.truncated, 0);
	vg_diff_result_free(&res);
	free(a.p);
	free(b.p);
	free(want.p);
	return same;
}

static void
test_vs_gnu_diff(void **state)
{
	char pa[] = "/tmp/vg_diff_test_a.XXXXXX";
	char pb[] = "/tmp/vg_diff_test_b.XXXXXX";
	struct rng r = { 20240601 };
	int fa, fb, i, bad = 0;

	(void)state;
	assert_true((fa = mkstemp(pa)) >= 0);
	assert_true((fb = mkstemp(pb)) >= 0);
	close(fa);
	close(fb);

	/* "diff -u" on small files made from small alphabets. */
	for (i = 0; i < 200; i++) {
		struct gen g = { 2 + rng_below(&r, 6), 12, 0, 0 };

		bad += !compare_one(&r, pa, pb, 16, &g, 3);
	}
	/* Other amounts of context. */
	for (i = 0; i < 100; i++) {
		struct gen g = { 2 + rng_below(&r, 8), 12, 0, 0 };

		bad += !compare_one(&r, pa, pb, 24, &g, rng_below(&r, 6));
	}
	/* Raw bytes (NUL, CR, 0xff) with "diff -a". */
	for (i = 0; i < 50; i++) {
		struct gen g = { 6, 12, 0, 1 };

		bad += !compare_one(&r, pa, pb, 16, &g, 3);
	}
	/*
	 * Many unmatched lines mixed with a very frequent one: exercises
	 * which frequent lines are set aside before the search.
	 */
	for (i = 0; i < 150; i++) {
		struct gen g = { 2 + rng_below(&r, 4), 2 + rng_below(&r, 3),
		    30 + rng_below(&r, 40), 0 };

		bad += !compare_one(&r, pa, pb, 400, &g, 3);
	}
	/* Long runs of such lines, for the rules inside a run. */
	for (i = 0; i < 50; i++) {
		struct gen g = { 1, 2, 45 + rng_below(&r, 20), 0 };

		bad += !compare_one(&r, pa, pb, 800, &g, 3);
	}
	/*
	 * Longer files, far enough apart for the search to give up on
	 * a minimal diff as GNU diff does.
	 */
	for (i = 0; i < 20; i++) {
		struct gen g = { 2 + rng_below(&r, 14), 12, 0, 0 };

		bad += !compare_one(&r, pa, pb, 3000, &g, 3);
	}
	for (i = 0; i < 3; i++) {
		struct gen g = { 15, 12, 0, 0 };

		bad += !compare_one(&r, pa, pb, 30000, &g, 3);
	}

	unlink(pa);
	unlink(pb);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_add_delete),
		cmocka_unit_test(test_change_context),
		cmocka_unit_test(test_hunks),
		cmocka_unit_test(test_context_option),
		cmocka_unit_test(test_no_newline),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_hash_collision),
		cmocka_unit_test(test_cap_output),
		cmocka_unit_test(test_cap_input),
		cmocka_unit_test(test_cap_edit),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_vs_gnu_diff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
