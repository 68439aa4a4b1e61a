/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unified line diff.
 *
 * People read our diffs next to the output of "diff -u" and feed them to
 * patch(1), so the aim is byte-identical output, not merely a valid edit
 * script. Two edit scripts of equal length can print very differently, so
 * the analysis takes the same steps GNU diff takes:
 *
 *  1. Skip the identical leading and trailing bytes, keeping "horizon"
 *     lines (as many as the context) next to the difference so that the
 *     boundary shifting of step 5 has room to work.
 *  2. Give each remaining line an equivalence class.
 *  3. Set aside lines that cannot be matched (absent from the other file,
 *     or very frequent there and surrounded by such lines); they are
 *     changes for certain and would only slow the search down.
 *  4. Myers' O(ND) search in its linear-space form (middle snake, divide
 *     and conquer) over the remaining lines, settling for a non-minimal
 *     split when a sub-problem gets too expensive.
 *  5. Slide each run of changes up and down over equal lines so that
 *     runs merge and the same edit always prints the same way.
 *  6. Print hunks, joining changes at most 2 * context lines apart.
 *
 * Memory is linear in the number of input lines (about 50 bytes per
 * line at the peak); time is bounded by the edit budget (max_edit) and by
 * the "too expensive" cut-off of step 4.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg_diff.h"
#include "vg_err.h"

/* Line numbers and diagonals; signed because diagonals are. */
typedef ptrdiff_t lin;
#define LIN_MAX PTRDIFF_MAX

#define DIFF_NO_NEWLINE "\\ No newline at end of file\n"
#define DIFF_MARK_HEAD  "[diff truncated: "
#define DIFF_MARK_TAIL  "]\n"

static const char why_input[] = "input exceeds cap";
static const char why_output[] = "output exceeds cap";
static const char why_edits[] = "too many differences";

struct diff_file {
	const char *buf;
	size_t len;
	int missing_nl;   /* the last line has no '\n' */
	size_t *off;      /* start of each line, plus len at [nlines] */
	lin nlines;
	lin first;        /* first analysed line; those before are common */
	lin nbuf;         /* number of analysed lines */
	lin *equiv;       /* equivalence class of each analysed line */
	char *flags;      /* nbuf + 2 bytes backing "changed" */
	char *changed;    /* flags + 1, so [-1] and [nbuf] are 0 sentinels */
	lin *undisc;      /* classes of the lines left for the search */
	lin *realidx;     /* their index among the analysed lines */
	lin nundisc;
};

struct diff_search {
	const lin *xv, *yv;
	lin *fd;          /* furthest x reached per diagonal, forward */
	lin *bd;          /* smallest x reached per diagonal, backward */
	lin too_expensive;
	size_t max_edit;  /* 0: no budget */
	size_t edits;     /* changes decided so far */
	struct diff_file *fa, *fb;
};

struct diff_part {
	lin xmid, ymid;
	int lo_minimal, hi_minimal;
};

struct diff_change {
	lin line0, line1; /* first line of the change in each file */
	lin del, ins;
};

struct diff_out {
	char *p;
	size_t len, size;
	size_t limit;     /* max_output; 0: none */
	int full;         /* a line did not fit under the limit */
};

struct line_key {
	uint64_t hash;
	lin id;           /* analysed line id of a, or nbuf of a + id of b */
};

/* The two files, for comparing line_keys by their bytes. */
struct line_set {
	const struct diff_file *fa, *fb;
};

static int
out_grow(struct diff_out *o, size_t n)
{
	size_t want, size;
	char *p;

	/* Room for n more bytes and the terminating NUL. */
	if (n > SIZE_MAX - 1 - o->len)
		return VG_ERR_NOMEM;
	want = o->len + n + 1;
	if (want <= o->size)
		return 0;
	size = o->size ? o->size : 256;
	while (size < want)
		size = size > SIZE_MAX / 2 ? want : size * 2;
	if ((p = realloc(o->p, size)) == NULL)
		return VG_ERR_NOMEM;
	o->p = p;
	o->size = size;
	o->p[o->len] = '\0';
	return 0;
}

static void
out_put(struct diff_out *o, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(o->p + o->len, p, n);
	o->len += n;
	o->p[o->len] = '\0';
}

/*
 * Makes room for one output line of n bytes. Returns 0 when the line may
 * be written, 1 when it would pass the output cap (the buffer is then
 * marked full and nothing more is written), or an error.
 */
static int
out_room(struct diff_out *o, size_t n)
{
	if (o->full)
		return 1;
	if (o->limit != 0 && (n > o->limit || o->len > o->limit - n)) {
		o->full = 1;
		return 1;
	}
	return out_grow(o, n);
}

static int
out_header(struct diff_out *o, const char *tag, const char *label)
{
	size_t n = strlen(label);
	int r;

	if ((r = out_room(o, 4 + n + 1)) != 0)
		return r < 0 ? r : 0;
	out_put(o, tag, 4);
	out_put(o, label, n);
	out_put(o, "\n", 1);
	return 0;
}

/* One diff body line: tag, the line, and GNU's marker if it has no '\n'. */
static int
out_line(struct diff_out *o, char tag, const struct diff_file *f, lin i)
{
	const char *p = f->buf + f->off[i];
	size_t n = f->off[i + 1] - f->off[i];
	int nonl = f->missing_nl && i == f->nlines - 1;
	size_t total = 1 + n + (nonl ? 1 + sizeof(DIFF_NO_NEWLINE) - 1 : 0);
	int r;

	if ((r = out_room(o, total)) != 0)
		return r < 0 ? r : 0;
	out_put(o, &tag, 1);
	out_put(o, p, n);
	if (nonl) {
		out_put(o, "\n", 1);
		out_put(o, DIFF_NO_NEWLINE, sizeof(DIFF_NO_NEWLINE) - 1);
	}
	return 0;
}

/* The marker goes in even past the cap so that a reader sees the cut. */
static int
out_mark(struct diff_out *o, const char *why)
{
	size_t n = strlen(why);
	int r;

	if ((r = out_grow(o, sizeof(DIFF_MARK_HEAD) - 1 + n +
	    sizeof(DIFF_MARK_TAIL) - 1)) != 0)
		return r;
	out_put(o, DIFF_MARK_HEAD, sizeof(DIFF_MARK_HEAD) - 1);
	out_put(o, why, n);
	out_put(o, DIFF_MARK_TAIL, sizeof(DIFF_MARK_TAIL) - 1);
	return 0;
}

static int
file_split(struct diff_file *f, const char *buf, size_t len)
{
	const char *p, *end, *nl;
	size_t n = 0;
	lin i;

	f->buf = buf;
	f->len = len;
	f->missing_nl = len > 0 && buf[len - 1] != '\n';
	for (p = buf, end = buf + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		n++;
	}
	n += (size_t)f->missing_nl;
	/* Keeps every later per-line size computation from overflowing. */
	if (n >= (size_t)LIN_MAX / 2 ||
	    n > SIZE_MAX / (4 * sizeof(struct line_key)))
		return VG_ERR_NOMEM;
	if ((f->off = malloc((n + 1) * sizeof(*f->off))) == NULL)
		return VG_ERR_NOMEM;
	f->nlines = (lin)n;
	f->off[0] = 0;
	for (i = 1, p = buf; i < f->nlines; i++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		p = nl + 1;
		f->off[i] = (size_t)(p - buf);
	}
	f->off[f->nlines] = len;
	return 0;
}

static void
file_free(struct diff_file *f)
{
	free(f->off);
	free(f->equiv);
	free(f->flags);
	free(f->undisc);
	free(f->realidx);
}

/*
 * Byte i of the input as GNU diff sees it: a missing final newline is
 * supplied, which is what lets "x" and "x\n" share a prefix below.
 */
static unsigned char
vbyte(const struct diff_file *f, size_t i)
{
	return i < f->len ? (unsigned char)f->buf[i] : '\n';
}

/* Index of the line starting at byte pos (pos is a line start or the end). */
static lin
file_line_at(const struct diff_file *f, size_t pos)
{
	lin lo = 0, hi = f->nlines, mid;

	if (pos >= f->len)
		return f->nlines;
	while (lo < hi) {
		mid = lo + (hi - lo + 1) / 2;
		if (f->off[mid] <= pos)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/*
 * Step 1. The common prefix and suffix are found on bytes, not lines,
 * and trimmed exactly as GNU diff trims them: which lines take part in
 * the analysis changes the class counts of step 3 and how far step 5 may
 * slide a change, hence the output.
 */
static void
diff_trim(struct diff_file *fa, struct diff_file *fb, lin horizon)
{
	size_t n0 = fa->len + (size_t)fa->missing_nl;
	size_t n1 = fb->len + (size_t)fb->missing_nl;
	size_t nmin = n0 < n1 ? n0 : n1;
	size_t p = 0, q0 = n0, q1 = n1, beg0;
	int at_start;
	lin i;

	while (p < nmin && vbyte(fa, p) == vbyte(fb, p))
		p++;
	/* A supplied newline must not make "x" and "x\n" a common line. */
	if ((n0 - (size_t)fa->missing_nl < p) !=
	    (n1 - (size_t)fb->missing_nl < p))
		p--;
	i = horizon;
	while (p > 0 && (vbyte(fa, p - 1) != '\n' || i-- > 0))
		p--;

	/* With one final newline missing, the last lines always differ. */
	if (fa->missing_nl == fb->missing_nl) {
		beg0 = p + (n0 < n1 ? 0 : n0 - n1);
		while (q0 != beg0) {
			q0--;
			q1--;
			if (vbyte(fa, q0) != vbyte(fb, q1)) {
				q0++;
				q1++;
				beg0 = q0;
				break;
			}
		}
		/* A suffix starting mid-line gives back the rest of it. */
		at_start = (q0 == 0 || vbyte(fa, q0 - 1) == '\n') &&
		    (q1 == 0 || vbyte(fb, q1 - 1) == '\n');
		i = horizon + !at_start;
		while (i-- > 0 && q0 != n0)
			while (vbyte(fa, q0++) != '\n')
				continue;
		q1 += q0 - beg0;
	}
	fa->first = fb->first = file_line_at(fa, p);
	fa->nbuf = file_line_at(fa, q0) - fa->first;
	fb->nbuf = file_line_at(fb, q1) - fb->first;
}

/* Bytes of the line with the given line_key id. */
static const char *
line_bytes(const struct line_set *ls, lin id, size_t *n)
{
	const struct diff_file *f = ls->fa;
	lin li;

	if (id >= f->nbuf) {
		id -= f->nbuf;
		f = ls->fb;
	}
	li = f->first + id;
	*n = f->off[li + 1] - f->off[li];
	return f->buf + f->off[li];
}

/* Orders lines by bytes; used only within a group of equal hashes. */
static int
line_key_cmp(const void *x, const void *y, void *arg)
{
	const struct line_key *a = x, *b = y;
	const char *pa, *pb;
	size_t na, nb;
	int c;

	pa = line_bytes(arg, a->id, &na);
	pb = line_bytes(arg, b->id, &nb);
	c = memcmp(pa, pb, na < nb ? na : nb);
	if (c != 0)
		return c;
	return (na > nb) - (na < nb);
}

#define RADIX_BITS   11
#define RADIX_MASK   ((1u << RADIX_BITS) - 1)
#define RADIX_PASSES 6    /* even, so the result ends up back in keys */

/*
 * Sorts keys by hash: least significant digit first, RADIX_BITS at a
 * time. Linear in n and independent of the input's shape.
 */
static int
line_keys_sort(struct line_key *keys, size_t n)
{
	struct line_key *tmp, *src = keys, *dst, *t;
	size_t count[RADIX_MASK + 1], i, sum, c;
	unsigned int pass, shift;

	if ((tmp = malloc(n * sizeof(*tmp))) == NULL)
		return VG_ERR_NOMEM;
	dst = tmp;
	for (pass = 0; pass < RADIX_PASSES; pass++) {
		shift = pass * RADIX_BITS;
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(src[i].hash >> shift) & RADIX_MASK]++;
		for (i = 0, sum = 0; i <= RADIX_MASK; i++) {
			c = count[i];
			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[(src[i].hash >> shift) & RADIX_MASK]++] =
			    src[i];
		t = src;
		src = dst;
		dst = t;
	}
	free(tmp);
	return 0;
}

/* A quick 64-bit mix of the line; it only speeds up the sort below. */
static uint64_t
line_hash(const char *p, size_t n)
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

/*
 * Step 2. Lines are sorted by hash, not put in a hash table, and lines
 * with equal hashes are checked to be equal; only a group that holds
 * different lines (a collision) is sorted by bytes. So even crafted
 * collisions cost O(n log n) compares, never a quadratic probe. A line
 * keeps its '\n', so an incomplete last line only equals an incomplete
 * last line, as in GNU diff.
 */
static int
diff_classes(struct diff_file *fa, struct diff_file *fb, lin *nclass)
{
	struct line_set ls = { fa, fb };
	struct line_key *keys = NULL;
	size_t n = (size_t)fa->nbuf + (size_t)fb->nbuf, k, g, h, len;
	const char *p;
	lin cls = 0;
	int r = VG_ERR_NOMEM, same;

	if ((fa->equiv = malloc(((size_t)fa->nbuf + 1) * sizeof(lin))) ==
	    NULL ||
	    (fb->equiv = malloc(((size_t)fb->nbuf + 1) * sizeof(lin))) ==
	    NULL ||
	    (keys = malloc((n + 1) * sizeof(*keys))) == NULL)
		goto out;
	for (k = 0; k < n; k++) {
		keys[k].id = (lin)k;
		p = line_bytes(&ls, keys[k].id, &len);
		keys[k].hash = line_hash(p, len);
	}
	if (n > 1 && (r = line_keys_sort(keys, n)) != 0)
		goto out;
	for (g = 0; g < n; g = h) {
		for (h = g + 1; h < n && keys[h].hash == keys[g].hash; h++)
			continue;
		for (k = g + 1; k < h &&
		    line_key_cmp(&keys[g], &keys[k], &ls) == 0; k++)
			continue;
		same = k == h;
		/* Different lines with one hash: order them by bytes. */
		if (!same)
			qsort_r(keys + g, h - g, sizeof(*keys), line_key_cmp,
			    &ls);
		for (k = g; k < h; k++) {
			if (k == g || (!same &&
			    line_key_cmp(&keys[k - 1], &keys[k], &ls) != 0))
				cls++;
			if (keys[k].id < fa->nbuf)
				fa->equiv[keys[k].id] = cls;
			else
				fb->equiv[keys[k].id - fa->nbuf] = cls;
		}
	}
	*nclass = cls + 1;
	r = 0;
out:
	free(keys);
	return r;
}

/*
 * Keeps the provisional discards (2) of the run disc[i..j) of discardable
 * lines only where they sit well inside the run; returns the run length.
 */
static lin
discard_run(char *disc, lin i, lin end)
{
	lin j, k, length, provisional = 0, minimum, tem, consec;

	for (j = i; j < end && disc[j] != 0; j++)
		if (disc[j] == 2)
			provisional++;
	while (j > i && disc[j - 1] == 2) {
		disc[--j] = 0;
		provisional--;
	}
	length = j - i;

	/* A run that is a quarter provisional is not clearly a change. */
	if (provisional * 4 > length) {
		for (k = i; k < j; k++)
			if (disc[k] == 2)
				disc[k] = 0;
		return length;
	}

	/* Long stretches of frequent lines may well match: keep them. */
	minimum = 1;
	for (tem = length >> 2; (tem >>= 2) > 0;)
		minimum <<= 1;
	minimum++;
	for (k = 0, consec = 0; k < length; k++) {
		if (disc[i + k] != 2)
			consec = 0;
		else if (minimum == ++consec)
			k -= consec;    /* back to cancel the whole stretch */
		else if (minimum < consec)
			disc[i + k] = 0;
	}

	/* Likewise near each end of the run, until it is clearly a change. */
	for (k = 0, consec = 0; k < length; k++) {
		if (k >= 8 && disc[i + k] == 1)
			break;
		if (disc[i + k] == 2) {
			consec = 0;
			disc[i + k] = 0;
		} else if (disc[i + k] == 0)
			consec = 0;
		else
			consec++;
		if (consec == 3)
			break;
	}
	for (k = 0, consec = 0; k < length; k++) {
		if (k >= 8 && disc[j - 1 - k] == 1)
			break;
		if (disc[j - 1 - k] == 2) {
			consec = 0;
			disc[j - 1 - k] = 0;
		} else if (disc[j - 1 - k] == 0)
			consec = 0;
		else
			consec++;
		if (consec == 3)
			break;
	}
	return length;
}

/*
 * Step 3. Marks discarded lines changed and fills undisc/realidx with
 * the others. Lines that appear nowhere in the other file are certain
 * changes; lines appearing more than "many" times there are dropped only
 * inside runs of certain changes.
 */
static int
diff_discard(struct diff_file *fa, struct diff_file *fb, lin nclass,
    size_t *ndiscarded)
{
	struct diff_file *fs[2] = { fa, fb };
	lin *count = NULL, *cnt[2];
	char *disc = NULL, *d[2];
	lin i, j, many, tem, end;
	int r = VG_ERR_NOMEM, f;

	*ndiscarded = 0;
	if ((count = calloc(2 * (size_t)nclass, sizeof(*count))) == NULL)
		goto out;
	cnt[0] = count;
	cnt[1] = count + nclass;
	if ((disc = calloc((size_t)fa->nbuf + (size_t)fb->nbuf + 1, 1)) == NULL)
		goto out;
	d[0] = disc;
	d[1] = disc + fa->nbuf;
	for (f = 0; f < 2; f++) {
		for (i = 0; i < fs[f]->nbuf; i++)
			cnt[f][fs[f]->equiv[i]]++;
		if ((fs[f]->undisc = malloc(((size_t)fs[f]->nbuf + 1) *
		    sizeof(lin))) == NULL ||
		    (fs[f]->realidx = malloc(((size_t)fs[f]->nbuf + 1) *
		    sizeof(lin))) == NULL)
			goto out;
	}

	for (f = 0; f < 2; f++) {
		end = fs[f]->nbuf;
		/* "Many" grows with the square root of the file length. */
		many = 5;
		for (tem = end / 64; (tem >>= 2) > 0;)
			many *= 2;
		for (i = 0; i < end; i++) {
			lin nmatch = cnt[1 - f][fs[f]->equiv[i]];

			if (nmatch == 0)
				d[f][i] = 1;
			else if (nmatch > many)
				d[f][i] = 2;
		}
	}

	for (f = 0; f < 2; f++) {
		end = fs[f]->nbuf;
		for (i = 0; i < end; i++) {
			/* A provisional discard cannot start a run. */
			if (d[f][i] == 2)
				d[f][i] = 0;
			else if (d[f][i] != 0)
				i += discard_run(d[f], i, end) - 1;
		}
	}

	for (f = 0; f < 2; f++) {
		for (i = 0, j = 0; i < fs[f]->nbuf; i++) {
			if (d[f][i] == 0) {
				fs[f]->undisc[j] = fs[f]->equiv[i];
				fs[f]->realidx[j++] = i;
			} else {
				fs[f]->changed[i] = 1;
				(*ndiscarded)++;
			}
		}
		fs[f]->nundisc = j;
	}
	r = 0;
out:
	free(count);
	free(disc);
	return r;
}

/* Picks the split point after the search has run too long (GNU's cut). */
static void
midsnake_give_up(const struct diff_search *s, lin xoff, lin xlim, lin yoff,
    lin ylim, lin fmin, lin fmax, lin bmin, lin bmax, struct diff_part *part)
{
	lin d, x, y, fxybest = -1, fxbest = 0, bxybest = LIN_MAX, bxbest = 0;

	/* The forward diagonal that got furthest. */
	for (d = fmax; d >= fmin; d -= 2) {
		x = s->fd[d] < xlim ? s->fd[d] : xlim;
		y = x - d;
		if (ylim < y) {
			x = ylim + d;
			y = ylim;
		}
		if (fxybest < x + y) {
			fxybest = x + y;
			fxbest = x;
		}
	}
	/* The backward diagonal that got furthest. */
	for (d = bmax; d >= bmin; d -= 2) {
		x = s->bd[d] > xoff ? s->bd[d] : xoff;
		y = x - d;
		if (y < yoff) {
			x = yoff + d;
			y = yoff;
		}
		if (x + y < bxybest) {
			bxybest = x + y;
			bxbest = x;
		}
	}
	if ((xlim + ylim) - bxybest < fxybest - (xoff + yoff)) {
		part->xmid = fxbest;
		part->ymid = fxybest - fxbest;
		part->lo_minimal = 1;
		part->hi_minimal = 0;
	} else {
		part->xmid = bxbest;
		part->ymid = bxybest - bxbest;
		part->lo_minimal = 0;
		part->hi_minimal = 1;
	}
}

/*
 * Finds the middle snake of xv[xoff..xlim) against yv[yoff..ylim) by
 * searching forward from the start and backward from the end, one edit
 * at a time, until the two frontiers meet. Returns 0 with *part set, or
 * 1 when the edits of this sub-problem alone overrun the budget.
 */
static int
diff_midsnake(struct diff_search *s, lin xoff, lin xlim, lin yoff, lin ylim,
    int find_minimal, struct diff_part *part)
{
	lin *fd = s->fd, *bd = s->bd;
	const lin *xv = s->xv, *yv = s->yv;
	lin dmin = xoff - ylim, dmax = xlim - yoff;
	lin fmid = xoff - yoff, bmid = xlim - ylim;
	lin fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
	lin c, d, x, y, x0, lo, hi;
	int odd = (fmid - bmid) % 2 != 0;

	fd[fmid] = xoff;
	bd[bmid] = xlim;
	for (c = 1;; c++) {
		/* Widen the forward frontier; -1 marks unreached diagonals. */
		if (fmin > dmin)
			fd[--fmin - 1] = -1;
		else
			fmin++;
		if (fmax < dmax)
			fd[++fmax + 1] = -1;
		else
			fmax--;
		for (d = fmax; d >= fmin; d -= 2) {
			lo = fd[d - 1];
			hi = fd[d + 1];
			x0 = lo < hi ? hi : lo + 1;
			for (x = x0, y = x0 - d; x < xlim && y < ylim &&
			    xv[x] == yv[y]; x++, y++)
				continue;
			fd[d] = x;
			if (odd && bmin <= d && d <= bmax && bd[d] <= x) {
				part->xmid = x;
				part->ymid = y;
				part->lo_minimal = part->hi_minimal = 1;
				return 0;
			}
		}

		/* The same backward; LIN_MAX marks unreached diagonals. */
		if (bmin > dmin)
			bd[--bmin - 1] = LIN_MAX;
		else
			bmin++;
		if (bmax < dmax)
			bd[++bmax + 1] = LIN_MAX;
		else
			bmax--;
		for (d = bmax; d >= bmin; d -= 2) {
			lo = bd[d - 1];
			hi = bd[d + 1];
			x0 = lo < hi ? lo : hi - 1;
			for (x = x0, y = x0 - d; xoff < x && yoff < y &&
			    xv[x - 1] == yv[y - 1]; x--, y--)
				continue;
			bd[d] = x;
			if (!odd && fmin <= d && d <= fmax && x <= fd[d]) {
				part->xmid = x;
				part->ymid = y;
				part->lo_minimal = part->hi_minimal = 1;
				return 0;
			}
		}

		/*
		 * The frontiers have not met, so this sub-problem needs more
		 * than 2c edits; with those already decided elsewhere that
		 * may already overrun the budget.
		 */
		if (s->max_edit != 0 &&
		    (size_t)c * 2 + 1 > s->max_edit - s->edits)
			return 1;
		if (!find_minimal && c >= s->too_expensive) {
			midsnake_give_up(s, xoff, xlim, yoff, ylim, fmin, fmax,
			    bmin, bmax, part);
			return 0;
		}
	}
}

/* Counts n more changes; returns 1 when that overruns the budget. */
static int
search_spend(struct diff_search *s, lin n)
{
	s->edits += (size_t)n;
	return s->max_edit != 0 && s->edits > s->max_edit;
}

/*
 * Step 4. Marks the changed lines of the sub-problem; returns 0, or 1
 * when the edit budget ran out. Recursion goes into the smaller half and
 * the loop takes the larger one, so the stack stays O(log n) deep.
 */
static int
diff_compare(struct diff_search *s, lin xoff, lin xlim, lin yoff, lin ylim,
    int find_minimal)
{
	struct diff_part part;
	lin x, y;

	for (;;) {
		while (xoff < xlim && yoff < ylim &&
		    s->xv[xoff] == s->yv[yoff]) {
			xoff++;
			yoff++;
		}
		while (xoff < xlim && yoff < ylim &&
		    s->xv[xlim - 1] == s->yv[ylim - 1]) {
			xlim--;
			ylim--;
		}
		if (xoff == xlim) {
			for (y = yoff; y < ylim; y++)
				s->fb->changed[s->fb->realidx[y]] = 1;
			return search_spend(s, ylim - yoff);
		}
		if (yoff == ylim) {
			for (x = xoff; x < xlim; x++)
				s->fa->changed[s->fa->realidx[x]] = 1;
			return search_spend(s, xlim - xoff);
		}
		if (diff_midsnake(s, xoff, xlim, yoff, ylim, find_minimal,
		    &part) != 0)
			return 1;
		if ((xlim + ylim) - (part.xmid + part.ymid) <
		    (part.xmid + part.ymid) - (xoff + yoff)) {
			if (diff_compare(s, part.xmid, xlim, part.ymid, ylim,
			    part.hi_minimal) != 0)
				return 1;
			xlim = part.xmid;
			ylim = part.ymid;
			find_minimal = part.lo_minimal;
		} else {
			if (diff_compare(s, xoff, part.xmid, yoff, part.ymid,
			    part.lo_minimal) != 0)
				return 1;
			xoff = part.xmid;
			yoff = part.ymid;
			find_minimal = part.hi_minimal;
		}
	}
}

/*
 * Step 5. Each run of changed lines in f is slid up while the line above
 * equals its last line, then down while the line below equals its first,
 * merging with neighbouring runs on the way; finally it is moved back up
 * to line up with a run of changes in the other file, if it passed one.
 * j tracks the line of o that corresponds to line i of f.
 */
static void
diff_shift(struct diff_file *f, const struct diff_file *o)
{
	char *chg = f->changed;
	const char *ochg = o->changed;
	const lin *eq = f->equiv;
	lin i = 0, j = 0, end = f->nbuf, start, runlength, corresponding;

	for (;;) {
		while (i < end && !chg[i]) {
			while (ochg[j++])
				continue;
			i++;
		}
		if (i == end)
			break;
		start = i;
		while (chg[++i])
			continue;
		while (ochg[j])
			j++;
		do {
			runlength = i - start;
			while (start > 0 && eq[start - 1] == eq[i - 1]) {
				chg[--start] = 1;
				chg[--i] = 0;
				while (chg[start - 1])
					start--;
				while (ochg[--j])
					continue;
			}
			corresponding = ochg[j - 1] ? i : end;
			while (i != end && eq[start] == eq[i]) {
				chg[start++] = 0;
				chg[i++] = 1;
				while (chg[i])
					i++;
				while (ochg[++j])
					corresponding = i;
			}
		} while (runlength != i - start);
		while (corresponding < i) {
			chg[--start] = 1;
			chg[--i] = 0;
			while (ochg[--j])
				continue;
		}
	}
}

/*
 * Steps 1 to 5: sets the changed flags of both files. *too_many is set
 * when the edit budget ran out (the flags are then incomplete).
 */
static int
diff_analyse(struct diff_file *fa, struct diff_file *fb, lin horizon,
    size_t max_edit, int *too_many)
{
	struct diff_search s;
	lin nclass, diags, te;
	size_t ndisc, nd;
	int r;

	*too_many = 0;
	memset(&s, 0, sizeof(s));
	diff_trim(fa, fb, horizon);
	if ((r = diff_classes(fa, fb, &nclass)) != 0)
		goto out;
	if ((fa->flags = calloc((size_t)fa->nbuf + 2, 1)) == NULL ||
	    (fb->flags = calloc((size_t)fb->nbuf + 2, 1)) == NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	fa->changed = fa->flags + 1;
	fb->changed = fb->flags + 1;
	if ((r = diff_discard(fa, fb, nclass, &ndisc)) != 0)
		goto out;
	if (max_edit != 0 && ndisc > max_edit) {
		*too_many = 1;
		goto out;
	}

	diags = fa->nundisc + fb->nundisc + 3;
	nd = (size_t)diags;
	if (nd > SIZE_MAX / 2 / sizeof(lin) ||
	    (s.fd = malloc(2 * nd * sizeof(lin))) == NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	/* Diagonals run from -(nundisc of b) - 1 to nundisc of a + 1. */
	s.bd = s.fd + nd + fb->nundisc + 1;
	s.fd += fb->nundisc + 1;
	/* About the square root of the input size, as GNU diff uses. */
	for (te = 1; diags != 0; diags >>= 2)
		te <<= 1;
	s.too_expensive = te > 4096 ? te : 4096;
	s.xv = fa->undisc;
	s.yv = fb->undisc;
	s.max_edit = max_edit;
	s.edits = ndisc;
	s.fa = fa;
	s.fb = fb;
	if (diff_compare(&s, 0, fa->nundisc, 0, fb->nundisc, 0) != 0) {
		*too_many = 1;
		goto out;
	}
	diff_shift(fa, fb);
	diff_shift(fb, fa);
	r = 0;
out:
	if (s.fd != NULL)
		free(s.fd - (fb->nundisc + 1));
	return r;
}

/*
 * Counts the changes and, when ch is not NULL, stores them. A change is a
 * run of deleted lines and the run of inserted lines at the same place.
 */
static size_t
diff_walk(const struct diff_file *fa, const struct diff_file *fb,
    struct diff_change *ch)
{
	size_t n = 0;
	lin i0 = 0, i1 = 0, s0, s1;

	while (i0 < fa->nbuf || i1 < fb->nbuf) {
		if (!fa->changed[i0] && !fb->changed[i1]) {
			i0++;
			i1++;
			continue;
		}
		for (s0 = i0; fa->changed[i0]; i0++)
			continue;
		for (s1 = i1; fb->changed[i1]; i1++)
			continue;
		if (ch != NULL) {
			ch[n].line0 = fa->first + s0;
			ch[n].line1 = fb->first + s1;
			ch[n].del = i0 - s0;
			ch[n].ins = i1 - s1;
		}
		n++;
	}
	return n;
}

/*
 * Lists the changes in whole-file line numbers and counts the lines
 * added and removed. The caller frees *out (NULL when there are none).
 */
static int
diff_changes(const struct diff_file *fa, const struct diff_file *fb,
    struct diff_change **out, size_t *nout, size_t *added, size_t *removed)
{
	struct diff_change *ch;
	size_t n, k;

	*out = NULL;
	*nout = 0;
	*added = *removed = 0;
	if ((n = diff_walk(fa, fb, NULL)) == 0)
		return 0;
	if ((ch = calloc(n, sizeof(*ch))) == NULL)
		return VG_ERR_NOMEM;
	diff_walk(fa, fb, ch);
	for (k = 0; k < n; k++) {
		*removed += (size_t)ch[k].del;
		*added += (size_t)ch[k].ins;
	}
	*out = ch;
	*nout = n;
	return 0;
}

/* One side of a hunk header: GNU's "l,n", "l" for one line, "l-1,0". */
static void
range_fmt(char *buf, size_t size, lin first, lin last)
{
	if (last < first)
		snprintf(buf, size, "%td,0", last + 1);
	else if (last == first)
		snprintf(buf, size, "%td", first + 1);
	else
		snprintf(buf, size, "%td,%td", first + 1, last - first + 1);
}

/* Step 6. Stops quietly at the output cap (o->full). */
static int
diff_print(struct diff_out *o, const struct diff_file *fa,
    const struct diff_file *fb, const struct diff_change *ch, size_t nch,
    lin ctx)
{
	char r0[48], r1[48], hdr[128];
	size_t s = 0, e, k;
	lin first0, first1, last0, last1, i, j, n;
	int r, len;

	while (s < nch && !o->full) {
		for (e = s; e + 1 < nch && ch[e + 1].line0 -
		    (ch[e].line0 + ch[e].del) <= 2 * ctx; e++)
			continue;
		first0 = ch[s].line0 - ctx > 0 ? ch[s].line0 - ctx : 0;
		first1 = ch[s].line1 - ctx > 0 ? ch[s].line1 - ctx : 0;
		last0 = ch[e].line0 + ch[e].del - 1 + ctx;
		if (last0 > fa->nlines - 1)
			last0 = fa->nlines - 1;
		last1 = ch[e].line1 + ch[e].ins - 1 + ctx;
		if (last1 > fb->nlines - 1)
			last1 = fb->nlines - 1;

		range_fmt(r0, sizeof(r0), first0, last0);
		range_fmt(r1, sizeof(r1), first1, last1);
		len = snprintf(hdr, sizeof(hdr), "@@ -%s +%s @@\n", r0, r1);
		if (len < 0 || (size_t)len >= sizeof(hdr))
			return VG_ERR_INTERNAL;
		if ((r = out_room(o, (size_t)len)) != 0)
			return r < 0 ? r : 0;
		out_put(o, hdr, (size_t)len);

		for (i = first0, j = first1, k = s;
		    (i <= last0 || j <= last1) && !o->full;) {
			if (k > e || i < ch[k].line0) {
				if ((r = out_line(o, ' ', fa, i)) != 0)
					return r;
				i++;
				j++;
				continue;
			}
			for (n = 0; n < ch[k].del; n++, i++)
				if ((r = out_line(o, '-', fa, i)) != 0)
					return r;
			for (n = 0; n < ch[k].ins; n++, j++)
				if ((r = out_line(o, '+', fb, j)) != 0)
					return r;
			k++;
		}
		s = e + 1;
	}
	return 0;
}

void
vg_diff_opts_default(struct vg_diff_opts *opts)
{
	if (opts == NULL)
		return;
	opts->context = 3;
	opts->max_output = 64 * 1024;
	opts->max_input = 16 * 1024 * 1024;
	opts->max_edit = 100000;
}

int
vg_diff_unified(const char *a, size_t alen, const char *b, size_t blen,
    const char *label_a, const char *label_b, const struct vg_diff_opts *opts,
    struct vg_diff_result *res)
{
	struct diff_file fa, fb;
	struct diff_out o;
	struct diff_change *ch = NULL;
	size_t nch = 0, added = 0, removed = 0;
	const char *why = NULL;
	lin ctx = 0;
	int r = VG_ERR_INTERNAL, too_many = 0;

	if (res == NULL)
		return VG_ERR_INVAL;
	memset(res, 0, sizeof(*res));
	if ((a == NULL && alen != 0) || (b == NULL && blen != 0) ||
	    label_a == NULL || label_b == NULL || opts == NULL)
		return VG_ERR_INVAL;
	/* An empty input may come as NULL; avoid arithmetic on it. */
	if (a == NULL)
		a = "";
	if (b == NULL)
		b = "";
	memset(&fa, 0, sizeof(fa));
	memset(&fb, 0, sizeof(fb));
	memset(&o, 0, sizeof(o));
	o.limit = opts->max_output;

	/* The text is always allocated, even when empty. */
	if ((r = out_grow(&o, 0)) != 0)
		goto out;
	if (opts->max_input != 0 &&
	    (alen > opts->max_input || blen > opts->max_input)) {
		why = why_input;
	} else if (alen == blen && (alen == 0 || memcmp(a, b, alen) == 0)) {
		r = 0;
		goto out;
	} else {
		if ((r = file_split(&fa, a, alen)) != 0 ||
		    (r = file_split(&fb, b, blen)) != 0)
			goto out;
		/* More context than lines changes nothing; clamp it. */
		ctx = fa.nlines + fb.nlines + 1;
		if (opts->context < (size_t)ctx)
			ctx = (lin)opts->context;
		if ((r = diff_analyse(&fa, &fb, ctx, opts->max_edit,
		    &too_many)) != 0)
			goto out;
		if (too_many)
			why = why_edits;
		else if ((r = diff_changes(&fa, &fb, &ch, &nch, &added,
		    &removed)) != 0)
			goto out;
		else if (nch == 0)
			goto out;
	}

	if ((r = out_header(&o, "--- ", label_a)) != 0 ||
	    (r = out_header(&o, "+++ ", label_b)) != 0)
		goto out;
	if (why == NULL) {
		if ((r = diff_print(&o, &fa, &fb, ch, nch, ctx)) != 0)
			goto out;
		if (o.full)
			why = why_output;
	}
	if (why != NULL && (r = out_mark(&o, why)) != 0)
		goto out;
	r = 0;
out:
	file_free(&fa);
	file_free(&fb);
	free(ch);
	if (r != 0) {
		free(o.p);
		return r;
	}
	res->text = o.p;
	res->len = o.len;
	res->added = added;
	res->removed = removed;
	res->truncated = why != NULL;
	res->why = why;
	return 0;
}

void
vg_diff_result_free(struct vg_diff_result *res)
{
	if (res == NULL)
		return;
	free(res->text);
	memset(res, 0, sizeof(*res));
}
