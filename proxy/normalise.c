/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalise.h"
#include "vg_err.h"
#include "vg_hash.h"

/* A growing byte buffer. */
struct buf {
	char *p;
	size_t len, cap;
};

static int
buf_add(struct buf *b, const char *s, size_t n)
{
	size_t ncap;
	char *g;

	if (b->len + n + 1 > b->cap) {
		ncap = b->cap == 0 ? 1024 : b->cap;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((g = realloc(b->p, ncap)) == NULL)
			return VG_ERR_NOMEM;
		b->p = g;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

struct nline {
	char *s;
	size_t len;
	int is_volatile;
};

static int
any_match(const struct proxy_profile *p, const struct proxy_regex *res,
    size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (proxy_regex_match(p, &res[i], s, len, NULL, NULL) == 1)
			return 1;
	return 0;
}

/* Appends the replacement of value: the hash marker for secrets. */
static int
replace(struct buf *out, const char *value, size_t vlen, const char *repl)
{
	unsigned char md[VG_HASH_MAX_LEN];
	char hex[17], mark[64];
	size_t pl = sizeof(PROXY_SECRET_PREFIX) - 1;

	if (repl != NULL)
		return buf_add(out, repl, strlen(repl));
	/* Already masked by an earlier secret pattern. */
	if (vlen >= pl && memcmp(value, PROXY_SECRET_PREFIX, pl) == 0)
		return buf_add(out, value, vlen);
	if (vg_hash_buffer(VG_HASH_SHA256, value, vlen, md) != 0)
		return VG_ERR_CRYPTO;
	vg_hex_encode(md, 8, hex);
	snprintf(mark, sizeof(mark), "%s%s>", PROXY_SECRET_PREFIX, hex);
	return buf_add(out, mark, strlen(mark));
}

/* 1 when [gs, ge) touches a secret marker already in the line: a later
 * pattern must not mask (or reveal the shape of) a marker. */
static int
in_marker(const struct nline *line, size_t gs, size_t ge)
{
	const char *p = line->s, *end = line->s + line->len, *m, *close;
	size_t pl = sizeof(PROXY_SECRET_PREFIX) - 1, ms, me;

	while ((m = memmem(p, (size_t)(end - p), PROXY_SECRET_PREFIX, pl)) !=
	    NULL) {
		close = memchr(m, '>', (size_t)(end - m));
		ms = (size_t)(m - line->s);
		me = close != NULL ? (size_t)(close - line->s) + 1 : line->len;
		if (gs < me && ge > ms)
			return 1;
		p = line->s + me;
	}
	return 0;
}

/*
 * Replaces, on every match of re in line, each set capture group (the
 * whole match without groups) by repl, or by the secret marker when repl
 * is NULL. *line is replaced when anything changed.
 */
static int
substitute(const struct proxy_profile *p, const struct proxy_regex *re,
    const char *repl, struct nline *line)
{
	struct buf out = { 0 };
	pcre2_match_data *md;
	PCRE2_SIZE *ov, start = 0, copied = 0, gs, ge;
	int rc, g, r = 0, changed = 0;

	if ((md = pcre2_match_data_create_from_pattern(re->re, NULL)) == NULL)
		return VG_ERR_NOMEM;
	while (start <= line->len) {
		rc = pcre2_match(re->re, (PCRE2_SPTR)line->s, line->len, start,
		    0, md, p->mctx);
		if (rc <= 0)
			break;
		ov = pcre2_get_ovector_pointer(md);
		for (g = rc > 1 ? 1 : 0; g < (rc > 1 ? rc : 1); g++) {
			gs = ov[2 * g];
			ge = ov[2 * g + 1];
			if (gs == PCRE2_UNSET || gs < copied || ge <= gs ||
			    in_marker(line, gs, ge))
				continue;
			if ((r = buf_add(&out, line->s + copied, gs - copied))
			    != 0 || (r = replace(&out, line->s + gs, ge - gs,
			    repl)) != 0)
				goto out;
			copied = ge;
			changed = 1;
		}
		/* An empty match must not loop forever. */
		start = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
	}
	if (!changed)
		goto out;
	if ((r = buf_add(&out, line->s + copied, line->len - copied)) != 0)
		goto out;
	free(line->s);
	line->s = out.p;
	line->len = out.len;
	out.p = NULL;
out:
	free(out.p);
	pcre2_match_data_free(md);
	return r;
}

static int
cmp_line(const void *a, const void *b)
{
	const struct nline *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);

	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static void
sort_blocks(const struct proxy_profile *p, struct nline *lines, size_t n)
{
	size_t i, j, k;

	for (k = 0; k < p->nsorts; k++) {
		for (i = 0; i < n; i++) {
			if (proxy_regex_match(p, &p->sorts[k].begin,
			    lines[i].s, lines[i].len, NULL, NULL) != 1)
				continue;
			for (j = i + 1; j < n; j++)
				if (proxy_regex_match(p, &p->sorts[k].end,
				    lines[j].s, lines[j].len, NULL, NULL) == 1)
					break;
			/* A block without its end is left as it is. */
			if (j == n)
				break;
			if (j - i > 2)
				qsort(lines + i + 1, j - i - 1, sizeof(*lines),
				    cmp_line);
			i = j;
		}
	}
}

/*
 * Joins lines the device wrapped (RouterOS ends them with '\\'): where
 * the continuation pattern matches, the match is removed and the next
 * line, without its leading blanks, follows. A new text in *out (caller
 * frees), or NULL when the profile has no continuation pattern.
 */
static int
join_lines(const struct proxy_profile *p, const char *text, size_t len,
    char **out, size_t *outlen)
{
	struct buf b = { 0 };
	const char *s = text, *end = text + len, *nl;
	size_t ll, ms;
	int r, joining = 0;

	*out = NULL;
	if (p->continuation.re == NULL)
		return 0;
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		ll = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
		if (joining)
			while (ll > 0 && (*s == ' ' || *s == '\t'))
				s++, ll--;
		if (nl != NULL && proxy_regex_match(p, &p->continuation, s, ll,
		    &ms, NULL) == 1) {
			r = buf_add(&b, s, ms);
			joining = 1;
		} else {
			if ((r = buf_add(&b, s, ll)) == 0)
				r = buf_add(&b, "\n", 1);
			joining = 0;
		}
		if (r != 0) {
			free(b.p);
			return r;
		}
		s += ll + 1;
	}
	if ((r = buf_add(&b, "", 0)) != 0)
		return r;
	*out = b.p;
	*outlen = b.len;
	return 0;
}

/* Splits and filters one command's output into *out (n lines). */
static int
filter_output(const struct proxy_profile *p, const char *text, size_t len,
    struct nline **out, size_t *nout)
{
	struct nline *lines = NULL, *g;
	const char *s, *end, *nl;
	char *joined = NULL;
	size_t n = 0, cap = 0, ll, i;
	int r;

	if ((r = join_lines(p, text, len, &joined, &len)) != 0)
		goto out;
	s = joined != NULL ? joined : text;
	end = s + len;
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		ll = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
		if (!any_match(p, p->drops, p->ndrops, s, ll)) {
			if (n == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				if ((g = reallocarray(lines, cap,
				    sizeof(*lines))) == NULL) {
					r = VG_ERR_NOMEM;
					goto out;
				}
				lines = g;
			}
			if ((lines[n].s = malloc(ll + 1)) == NULL) {
				r = VG_ERR_NOMEM;
				goto out;
			}
			memcpy(lines[n].s, s, ll);
			lines[n].s[ll] = '\0';
			lines[n].len = ll;
			lines[n].is_volatile = any_match(p, p->volatiles,
			    p->nvolatiles, s, ll);
			n++;
			for (i = 0; i < p->nsecrets; i++)
				if ((r = substitute(p, &p->secrets[i], NULL,
				    &lines[n - 1])) != 0)
					goto out;
			for (i = 0; i < p->nmasks; i++)
				if ((r = substitute(p, &p->masks[i].re,
				    p->masks[i].replacement,
				    &lines[n - 1])) != 0)
					goto out;
		}
		s += ll + 1;
	}
	sort_blocks(p, lines, n);
out:
	free(joined);
	*out = lines;
	*nout = n;
	return r;
}

int
proxy_normalise(const struct proxy_profile *p,
    const struct proxy_capture *cap, struct proxy_norm *res, char *err,
    size_t errlen)
{
	struct buf text = { 0 }, sig = { 0 }, hdr = { 0 };
	struct nline *lines = NULL;
	size_t i, j, n = 0, kept = 0, k;
	int r, end_seen = 0;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < cap->n; i++) {
		if (cap->out[i].text == NULL) {
			snprintf(err, errlen, "'%s': no output captured",
			    cap->out[i].command);
			r = VG_ERR_INCOMPLETE;
			goto out;
		}
		hdr.len = 0;
		if ((r = buf_add(&hdr, "=== ", 4)) != 0 ||
		    (r = buf_add(&hdr, cap->out[i].command,
		    strlen(cap->out[i].command))) != 0 ||
		    (r = buf_add(&hdr, " ===\n", 5)) != 0 ||
		    (r = buf_add(&text, hdr.p, hdr.len)) != 0 ||
		    (r = buf_add(&sig, hdr.p, hdr.len)) != 0)
			goto out;
		if ((r = filter_output(p, cap->out[i].text, cap->out[i].len,
		    &lines, &n)) != 0)
			goto out;
		for (j = 0; j < n; j++) {
			for (k = 0; k < lines[j].len && (lines[j].s[k] == ' ' ||
			    lines[j].s[k] == '\t'); k++)
				;
			if (k < lines[j].len)
				kept++;
			if (p->end_marker.re != NULL && !end_seen &&
			    proxy_regex_match(p, &p->end_marker, lines[j].s,
			    lines[j].len, NULL, NULL) == 1)
				end_seen = 1;
			if ((r = buf_add(&text, lines[j].s, lines[j].len)) != 0
			    || (r = buf_add(&text, "\n", 1)) != 0)
				goto out;
			if (lines[j].is_volatile || cap->out[i].is_volatile)
				continue;
			if ((r = buf_add(&sig, lines[j].s, lines[j].len)) != 0
			    || (r = buf_add(&sig, "\n", 1)) != 0)
				goto out;
		}
		for (j = 0; j < n; j++)
			free(lines[j].s);
		free(lines);
		lines = NULL;
		n = 0;
	}
	if (p->end_marker.re != NULL && !end_seen) {
		snprintf(err, errlen, "output incomplete: no line matches the "
		    "end marker '%s' of profile %s", p->end_marker.src,
		    p->name);
		r = VG_ERR_INCOMPLETE;
		goto out;
	}
	if (kept < p->min_lines) {
		snprintf(err, errlen, "output incomplete: %zu lines, profile "
		    "%s expects at least %zu", kept, p->name, p->min_lines);
		r = VG_ERR_INCOMPLETE;
		goto out;
	}
	/* An empty capture still gives strings, not NULL. */
	if ((r = buf_add(&text, "", 0)) != 0 || (r = buf_add(&sig, "", 0)) != 0)
		goto out;
	res->text = text.p;
	res->len = text.len;
	res->significant = sig.p;
	res->sig_len = sig.len;
	res->lines = kept;
	text.p = sig.p = NULL;
	r = 0;
out:
	if (r == VG_ERR_NOMEM)
		snprintf(err, errlen, "normalise: out of memory");
	for (j = 0; j < n; j++)
		free(lines[j].s);
	free(lines);
	free(text.p);
	free(sig.p);
	free(hdr.p);
	return r;
}

void
proxy_norm_free(struct proxy_norm *res)
{
	if (res == NULL)
		return;
	free(res->text);
	free(res->significant);
	memset(res, 0, sizeof(*res));
}

int
proxy_norm_changed(const struct proxy_norm *a, const struct proxy_norm *b)
{
	return a->sig_len != b->sig_len ||
	    memcmp(a->significant, b->significant, a->sig_len) != 0;
}

int
proxy_norm_diff(const struct proxy_norm *old, const struct proxy_norm *cur,
    const struct vg_diff_opts *opts, struct vg_diff_result *res)
{
	return vg_diff_unified(old->text, old->len, cur->text, cur->len,
	    "previous", "current", opts, res);
}
