/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for core/vg_diff. The input is split at its first 0xff
 * byte into the two sides (no 0xff: b is empty). Beyond not crashing:
 *  - the uncapped diff, applied to a, must give b, and its line counts
 *    must match the '+' and '-' lines;
 *  - with small caps the text must be the uncapped text, or a prefix of
 *    it cut at a line end within the cap, followed by the marker.
 * A failed check aborts, which libFuzzer reports as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vg_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

#define NO_NEWLINE "\\ No newline at end of file\n"

struct reader {
	const char *p, *end;
};

/* Next line of the diff text, '\n' included; every line has one. */
static size_t
next_line(struct reader *rd, const char **line)
{
	const char *nl = memchr(rd->p, '\n', (size_t)(rd->end - rd->p));
	size_t n;

	CHECK(nl != NULL);
	*line = rd->p;
	n = (size_t)(nl + 1 - rd->p);
	rd->p = nl + 1;
	return n;
}

static size_t
parse_num(const char **s, const char *end)
{
	size_t v = 0;

	CHECK(*s < end && **s >= '0' && **s <= '9');
	while (*s < end && **s >= '0' && **s <= '9') {
		CHECK(v < SIZE_MAX / 16);
		v = v * 10 + (size_t)(**s - '0');
		(*s)++;
	}
	return v;
}

/* "l" or "l,n" of a hunk header; returns the first line, 0-based. */
static size_t
parse_range(const char **s, const char *end, size_t *count)
{
	size_t start = parse_num(s, end);

	*count = 1;
	if (*s < end && **s == ',') {
		(*s)++;
		*count = parse_num(s, end);
	}
	/* An empty range names the line before it. */
	if (*count == 0)
		return start;
	CHECK(start > 0);
	return start - 1;
}

/* Copies lines of a into out until line number "to". */
static void
copy_until(const char *a, size_t alen, size_t *pa, size_t *la, size_t to,
    char *out, size_t *olen, size_t *lb)
{
	const char *nl;
	size_t n;

	CHECK(*la <= to);
	while (*la < to) {
		CHECK(*pa < alen);
		nl = memchr(a + *pa, '\n', alen - *pa);
		n = nl != NULL ? (size_t)(nl + 1 - (a + *pa)) : alen - *pa;
		memcpy(out + *olen, a + *pa, n);
		*olen += n;
		*pa += n;
		(*la)++;
		(*lb)++;
	}
}

/* Applies the unified diff in text to a and checks the result is b. */
static void
check_apply(const char *a, size_t alen, const char *b, size_t blen,
    const struct vg_diff_result *res)
{
	struct reader rd = { res->text, res->text + res->len };
	const char *line, *s, *lend;
	size_t n, pa = 0, la = 0, lb = 0, olen = 0, plus = 0, minus = 0;
	size_t s0, n0, s1, n1, c0, c1;
	char *out;

	if (res->len == 0) {
		CHECK(alen == blen && memcmp(a, b, alen) == 0);
		CHECK(res->added == 0 && res->removed == 0);
		return;
	}
	CHECK((out = malloc(alen + res->len + 1)) != NULL);
	n = next_line(&rd, &line);
	CHECK(n == 6 && memcmp(line, "--- a\n", 6) == 0);
	n = next_line(&rd, &line);
	CHECK(n == 6 && memcmp(line, "+++ b\n", 6) == 0);
	CHECK(rd.p < rd.end);
	while (rd.p < rd.end) {
		n = next_line(&rd, &line);
		lend = line + n;
		CHECK(n > 4 && memcmp(line, "@@ -", 4) == 0);
		s = line + 4;
		s0 = parse_range(&s, lend, &n0);
		CHECK(s + 2 < lend && s[0] == ' ' && s[1] == '+');
		s += 2;
		s1 = parse_range(&s, lend, &n1);
		CHECK(lend - s == 4 && memcmp(s, " @@\n", 4) == 0);

		copy_until(a, alen, &pa, &la, s0, out, &olen, &lb);
		CHECK(lb == s1);
		for (c0 = 0, c1 = 0; c0 < n0 || c1 < n1;) {
			char tag;
			const char *body;
			size_t blen1;

			n = next_line(&rd, &line);
			tag = line[0];
			body = line + 1;
			blen1 = n - 1;
			/* The note means the line really has no '\n'. */
			if ((size_t)(rd.end - rd.p) >= sizeof(NO_NEWLINE) - 1 &&
			    memcmp(rd.p, NO_NEWLINE, sizeof(NO_NEWLINE) - 1) ==
			    0) {
				rd.p += sizeof(NO_NEWLINE) - 1;
				blen1--;
			}
			if (tag == ' ' || tag == '-') {
				CHECK(alen - pa >= blen1);
				CHECK(memcmp(a + pa, body, blen1) == 0);
				/* A line without '\n' must be the last. */
				CHECK(blen1 == n - 1 || pa + blen1 == alen);
				pa += blen1;
				la++;
				c0++;
			}
			if (tag == ' ' || tag == '+') {
				memcpy(out + olen, body, blen1);
				olen += blen1;
				lb++;
				c1++;
			}
			if (tag == '-')
				minus++;
			else if (tag == '+')
				plus++;
			else
				CHECK(tag == ' ');
			CHECK(c0 <= n0 && c1 <= n1);
		}
	}
	memcpy(out + olen, a + pa, alen - pa);
	olen += alen - pa;
	CHECK(olen == blen && memcmp(out, b, blen) == 0);
	CHECK(plus == res->added && minus == res->removed);
	free(out);
}

static void
check_capped(const struct vg_diff_result *full,
    const struct vg_diff_result *cut, const struct vg_diff_opts *o)
{
	size_t ml, keep;

	CHECK(cut->text != NULL && cut->text[cut->len] == '\0');
	if (!cut->truncated) {
		CHECK(cut->why == NULL);
		CHECK(cut->len == full->len &&
		    memcmp(cut->text, full->text, full->len) == 0);
		return;
	}
	CHECK(cut->why != NULL);
	ml = strlen("[diff truncated: ") + strlen(cut->why) + 2;
	CHECK(cut->len >= ml);
	keep = cut->len - ml;
	CHECK(memcmp(cut->text + keep, "[diff truncated: ", 17) == 0);
	CHECK(memcmp(cut->text + keep + 17, cut->why, strlen(cut->why)) == 0);
	CHECK(memcmp(cut->text + cut->len - 2, "]\n", 2) == 0);
	if (strcmp(cut->why, "output exceeds cap") == 0) {
		/* A prefix of the full text, whole lines, within the cap. */
		CHECK(keep <= o->max_output && keep < full->len);
		CHECK(memcmp(cut->text, full->text, keep) == 0);
		CHECK(keep == 0 || cut->text[keep - 1] == '\n');
		CHECK(cut->added == full->added &&
		    cut->removed == full->removed);
	} else {
		CHECK(strcmp(cut->why, "too many differences") == 0 ||
		    strcmp(cut->why, "input exceeds cap") == 0);
		CHECK(full->added + full->removed > o->max_edit ||
		    strcmp(cut->why, "input exceeds cap") == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memchr(data, 0xff, size);
	const char *a = (const char *)data, *b;
	size_t alen, blen;
	struct vg_diff_result full, cut;
	struct vg_diff_opts o;

	if (sep != NULL) {
		alen = (size_t)(sep - data);
		b = (const char *)sep + 1;
		blen = size - alen - 1;
	} else {
		alen = size;
		b = "";
		blen = 0;
	}

	vg_diff_opts_default(&o);
	o.context = size % 5;
	o.max_output = 0;
	o.max_input = 0;
	o.max_edit = 0;
	CHECK(vg_diff_unified(a, alen, b, blen, "a", "b", &o, &full) == 0);
	CHECK(full.text != NULL && full.text[full.len] == '\0');
	CHECK(!full.truncated && full.why == NULL);
	check_apply(a, alen, b, blen, &full);

	o.max_output = 256;
	o.max_input = 2048;
	o.max_edit = 16;
	CHECK(vg_diff_unified(a, alen, b, blen, "a", "b", &o, &cut) == 0);
	/* The edit budget cuts exactly the diffs that need more edits. */
	if (alen <= o.max_input && blen <= o.max_input) {
		int over = full.added + full.removed > o.max_edit;

		CHECK(over == (cut.why != NULL &&
		    strcmp(cut.why, "too many differences") == 0));
	}
	check_capped(&full, &cut, &o);

	vg_diff_result_free(&full);
	vg_diff_result_free(&cut);
	return 0;
}
