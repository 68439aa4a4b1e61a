/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vg_baseline.h"
#include "vg_err.h"
#include "vg_item.h"
#include "vg_rules.h"
#include "vg_util.h"

int
vg_rules_new(struct vg_rules **out)
{
	struct vg_rules *r;

	if ((*out = r = calloc(1, sizeof(*r))) == NULL)
		return VG_ERR_NOMEM;
	r->max_depth = -1;
	r->skip_pseudo_fs = 1;
	r->hash = VG_HASH_SHA256;
	r->ignore = VG_A_DEV;
	return 0;
}

void
vg_rules_free(struct vg_rules *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nroots; i++)
		free(r->roots[i]);
	free(r->roots);
	for (i = 0; i < r->nrules; i++) {
		free(r->rules[i].pattern);
		if (r->rules[i].re != NULL)
			regfree(r->rules[i].re);
		free(r->rules[i].re);
	}
	free(r->rules);
	free(r);
}

/* Resolves "." and "..", repeated and trailing slashes, without touching
 * the file system (a root may not exist yet, and symlinks in it are the
 * user's choice). path must be absolute; writes into out (PATH_MAX). */
/*
 * glibc's regcomp() copies the subexpression under every "+" and "{m,n}"
 * (a+ is a a*, a{3} is a a a), so stacked or nested repetitions grow its
 * tree exponentially: a rules file with "a+++++..." once took gigabytes.
 * This estimates the size of that tree before compiling and refuses
 * patterns over REGEX_COST_MAX, and repetition of a repetition (which
 * POSIX leaves undefined anyway).
 */
#define REGEX_COST_MAX 20000
#define REGEX_DEPTH_MAX 32

static int
regex_cost_ok(const char *p, char *why, size_t whylen)
{
	double seq[REGEX_DEPTH_MAX + 1], last[REGEX_DEPTH_MAX + 1];
	int depth = 0, quantified = 0;
	unsigned long m, n;
	double f;
	char *end;

	seq[0] = last[0] = 0;
	for (; *p != '\0'; p++) {
		f = 0;
		switch (*p) {
		case '\\':
			if (p[1] != '\0')
				p++;
			goto atom;
		case '[':
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p != '\0' && *p != ']') {
				if (*p == '[' && (p[1] == ':' || p[1] == '.' ||
				    p[1] == '=')) {
					end = strchr(p + 2, ']');
					p = end != NULL ? end : p + strlen(p) - 1;
				}
				p++;
			}
			if (*p == '\0')
				return 1;     /* regcomp() reports it */
			goto atom;
		case '(':
			if (depth == REGEX_DEPTH_MAX) {
				snprintf(why, whylen, "groups nested more than "
				    "%d deep", REGEX_DEPTH_MAX);
				return 0;
			}
			depth++;
			seq[depth] = last[depth] = 0;
			quantified = 0;
			continue;
		case ')':
			if (depth == 0)
				goto atom;
			depth--;
			last[depth] = seq[depth + 1] + 1;
			seq[depth] += last[depth];
			quantified = 0;
			continue;
		case '|':
			quantified = 0;
			last[depth] = 0;
			continue;
		case '*':
		case '?':
			f = 1;
			break;
		case '+':
			f = 2;
			break;
		case '{':
			m = strtoul(p + 1, &end, 10);
			n = m;
			if (*end == ',')
				n = end[1] == '}' ? m + 1 :
				    strtoul(end + 1, &end, 10);
			else
				end--;
			if ((end = strchr(p, '}')) == NULL)
				return 1;     /* regcomp() reports it */
			p = end;
			f = (double)(n > m ? n : m) + 1;
			break;
		default:
		atom:
			last[depth] = 1;
			seq[depth] += 1;
			quantified = 0;
			continue;
		}
		if (quantified) {
			snprintf(why, whylen, "a repetition of a repetition");
			return 0;
		}
		quantified = 1;
		seq[depth] += last[depth] * (f - 1);
		last[depth] *= f;
		if (seq[depth] > REGEX_COST_MAX) {
			snprintf(why, whylen, "its repetitions make it too large "
			    "to compile (over %d nodes)", REGEX_COST_MAX);
			return 0;
		}
	}
	return 1;
}

static int
normalize_path(const char *path, char *out, size_t outlen)
{
	size_t o = 0, n;
	const char *p = path, *seg;

	if (*p != '/')
		return VG_ERR_INVAL;
	while (*p != '\0') {
		while (*p == '/')
			p++;
		seg = p;
		while (*p != '/' && *p != '\0')
			p++;
		n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		if (o + 1 + n + 1 > outlen)
			return VG_ERR_TOOBIG;
		out[o++] = '/';
		memcpy(out + o, seg, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

int
vg_rules_add_root(struct vg_rules *r, const char *path, char *err,
    size_t errlen)
{
	char abs[PATH_MAX], norm[PATH_MAX], cwd[PATH_MAX];
	char **roots;
	int n;

	if (*path == '\0' || strchr(path, '\n') != NULL) {
		snprintf(err, errlen, "root must be a non-empty path without "
		    "newlines");
		return VG_ERR_INVAL;
	}
	if (*path != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			snprintf(err, errlen, "cannot resolve relative root "
			    "\"%s\": %s", path, strerror(errno));
			return VG_ERR_INVAL;
		}
		n = snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
		if (n < 0 || (size_t)n >= sizeof(abs))
			goto toolong;
		path = abs;
	}
	if (normalize_path(path, norm, sizeof(norm)) != 0)
		goto toolong;
	if ((roots = reallocarray(r->roots, r->nroots + 1,
	    sizeof(*roots))) == NULL)
		return VG_ERR_NOMEM;
	r->roots = roots;
	if ((roots[r->nroots] = strdup(norm)) == NULL)
		return VG_ERR_NOMEM;
	r->nroots++;
	return 0;
toolong:
	snprintf(err, errlen, "root path too long: %.60s...", path);
	return VG_ERR_INVAL;
}

int
vg_rules_add_rule(struct vg_rules *r, int include, int regex,
    const char *pattern, char *err, size_t errlen)
{
	struct vg_rule *rules, *ru;
	size_t len = strlen(pattern);
	char msg[128];
	int e;

	if (len == 0 || strchr(pattern, '\n') != NULL) {
		snprintf(err, errlen, "empty pattern");
		return VG_ERR_INVAL;
	}
	/* A rules file trims blanks around a value: such a pattern would
	 * not read back the same from the rules stored in a baseline. */
	if (isspace((unsigned char)pattern[0]) ||
	    isspace((unsigned char)pattern[len - 1])) {
		snprintf(err, errlen, "pattern \"%s\" starts or ends with "
		    "white space", pattern);
		return VG_ERR_INVAL;
	}
	if ((rules = reallocarray(r->rules, r->nrules + 1,
	    sizeof(*rules))) == NULL)
		return VG_ERR_NOMEM;
	r->rules = rules;
	ru = &rules[r->nrules];
	memset(ru, 0, sizeof(*ru));
	ru->include = include;
	ru->regex = regex;
	if ((ru->pattern = strdup(pattern)) == NULL)
		return VG_ERR_NOMEM;
	if (regex) {
		if (!regex_cost_ok(pattern, msg, sizeof(msg))) {
			snprintf(err, errlen, "regex \"%s\" refused: %s",
			    pattern, msg);
			free(ru->pattern);
			return VG_ERR_INVAL;
		}
		if ((ru->re = calloc(1, sizeof(regex_t))) == NULL) {
			free(ru->pattern);
			return VG_ERR_NOMEM;
		}
		if ((e = regcomp(ru->re, pattern, REG_EXTENDED | REG_NOSUB)) !=
		    0) {
			regerror(e, ru->re, msg, sizeof(msg));
			snprintf(err, errlen, "bad regex \"%s\": %s", pattern,
			    msg);
			free(ru->re);
			free(ru->pattern);
			return VG_ERR_INVAL;
		}
	} else {
		if (len > 1 && pattern[len - 1] == '/') {
			ru->dir_only = 1;
			ru->pattern[--len] = '\0';
		}
		ru->basename = strchr(ru->pattern, '/') == NULL;
		if (!ru->basename && ru->pattern[0] != '/' &&
		    ru->pattern[0] != '*') {
			snprintf(err, errlen, "glob \"%s\" has a '/' but does "
			    "not start with '/' or '**'", pattern);
			free(ru->pattern);
			return VG_ERR_INVAL;
		}
	}
	r->nrules++;
	return 0;
}

static int
parse_bool(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "on") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "off") == 0)
		*out = 0;
	else
		return VG_ERR_INVAL;
	return 0;
}

static int
parse_ignore(struct vg_rules *r, char *v, char *err, size_t errlen)
{
	char *save = NULL, *name;
	uint32_t bit;

	if (strcmp(v, "none") == 0) {
		r->ignore = 0;
		return 0;
	}
	for (name = strtok_r(v, ", ", &save); name != NULL;
	    name = strtok_r(NULL, ", ", &save)) {
		if (vg_attr_parse(name, &bit) != 0 || bit == VG_A_TYPE) {
			snprintf(err, errlen, "unknown attribute \"%s\" (one "
			    "of size, mode, uid, gid, user, group, mtime, "
			    "ctime, inode, dev, nlink, target, xattrs, acl, "
			    "selinux, hash)", name);
			return VG_ERR_INVAL;
		}
		r->ignore |= bit;
	}
	return 0;
}

/* Applies one "directive value" line. */
static int
parse_line(struct vg_rules *r, char *key, char *val, char *err,
    size_t errlen)
{
	int b;

	if (strcmp(key, "root") == 0)
		return vg_rules_add_root(r, val, err, errlen);
	if (strcmp(key, "include") == 0 || strcmp(key, "exclude") == 0)
		return vg_rules_add_rule(r, key[0] == 'i', 0, val, err, errlen);
	if (strcmp(key, "include-regex") == 0 ||
	    strcmp(key, "exclude-regex") == 0)
		return vg_rules_add_rule(r, key[0] == 'i', 1, val, err, errlen);
	if (strcmp(key, "max-depth") == 0) {
		if (vg_parse_long(val, -1, 1000000, &r->max_depth) != 0)
			goto badval;
		return 0;
	}
	if (strcmp(key, "hash") == 0) {
		if (vg_hash_parse(val, &r->hash) != 0) {
			snprintf(err, errlen, "unknown hash \"%.100s\" (sha256, "
			    "sha384, sha512, sha1, md5 or none)", val);
			return VG_ERR_INVAL;
		}
		return 0;
	}
	if (strcmp(key, "max-hash-size") == 0) {
		if (vg_parse_size(val, &r->max_hash_size) != 0)
			goto badval;
		return 0;
	}
	if (strcmp(key, "ignore") == 0)
		return parse_ignore(r, val, err, errlen);
	if (parse_bool(val, &b) != 0) {
		if (strcmp(key, "one-file-system") == 0 ||
		    strcmp(key, "follow-symlinks") == 0 ||
		    strcmp(key, "skip-pseudo-fs") == 0 ||
		    strcmp(key, "allow-weak-hash") == 0)
			goto badval;
	} else if (strcmp(key, "one-file-system") == 0) {
		r->one_fs = b;
		return 0;
	} else if (strcmp(key, "follow-symlinks") == 0) {
		r->follow_symlinks = b;
		return 0;
	} else if (strcmp(key, "skip-pseudo-fs") == 0) {
		r->skip_pseudo_fs = b;
		return 0;
	} else if (strcmp(key, "allow-weak-hash") == 0) {
		r->allow_weak_hash = b;
		return 0;
	}
	snprintf(err, errlen, "unknown directive \"%.100s\"", key);
	return VG_ERR_INVAL;
badval:
	snprintf(err, errlen, "bad value \"%.200s\" for %.100s", val, key);
	return VG_ERR_INVAL;
}

int
vg_rules_parse(struct vg_rules *r, const char *text, size_t len,
    const char *source, char *err, size_t errlen)
{
	char line[VG_RULES_MAX_LINE + 1], sub[512];
	const char *p = text, *end = text + len, *nl;
	char *key, *val, *e;
	size_t n, lineno = 0;
	int rv;

	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: not a text file (contains NUL "
		    "bytes)", source);
		return VG_ERR_INVAL;
	}
	while (p < end) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((n = (size_t)(nl - p)) > VG_RULES_MAX_LINE) {
			snprintf(err, errlen, "%s:%zu: line longer than %d "
			    "bytes", source, lineno, VG_RULES_MAX_LINE);
			return VG_ERR_INVAL;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		for (key = line; isspace((unsigned char)*key); key++)
			;
		if (*key == '\0' || *key == '#')
			continue;
		for (val = key; *val && !isspace((unsigned char)*val); val++)
			;
		if (*val != '\0')
			*val++ = '\0';
		while (isspace((unsigned char)*val))
			val++;
		for (e = val + strlen(val); e > val &&
		    isspace((unsigned char)e[-1]); e--)
			e[-1] = '\0';
		if (*val == '\0') {
			snprintf(err, errlen, "%s:%zu: \"%s\" needs a value",
			    source, lineno, key);
			return VG_ERR_INVAL;
		}
		if ((rv = parse_line(r, key, val, sub, sizeof(sub))) != 0) {
			snprintf(err, errlen, "%s:%zu: %s", source, lineno,
			    sub);
			return rv;
		}
	}
	return 0;
}

int
vg_rules_load_file(struct vg_rules *r, const char *path, char *err,
    size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		rv = vg_err_from_errno(errno);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rv;
	}
	rv = VG_ERR_TOOBIG;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		rv = VG_ERR_INVAL;
		goto out;
	}
	if (st.st_size > VG_RULES_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    VG_RULES_MAX_FILE);
		goto out;
	}
	if ((rv = vg_read_all(fd, (size_t)st.st_size, &buf, &got)) != 0) {
		if (rv != VG_ERR_NOMEM) {
			rv = VG_ERR_IO;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		}
		goto out;
	}
	rv = vg_rules_parse(r, buf, got, path, err, errlen);
out:
	free(buf);
	close(fd);
	return rv;
}

/* Baseline order ('/' below every other byte): the order in which the
 * scanner must walk the roots for its merge with the baseline, and in
 * which a root's descendants follow it directly. */
static int
root_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;

	return vg_path_cmp(x, strlen(x), y, strlen(y));
}

/* 1 when child lies inside (or is) parent. */
static int
path_within(const char *parent, const char *child)
{
	size_t n = strlen(parent);

	if (strcmp(parent, "/") == 0)
		return 1;
	return strncmp(parent, child, n) == 0 &&
	    (child[n] == '/' || child[n] == '\0');
}

int
vg_rules_finish(struct vg_rules *r, char *err, size_t errlen)
{
	size_t i, o = 0;

	if (r->nroots == 0) {
		snprintf(err, errlen, "no root to scan: name one on the "
		    "command line or with \"root\" in the rules file");
		return VG_ERR_INVAL;
	}
	if (vg_hash_is_weak(r->hash) && !r->allow_weak_hash) {
		snprintf(err, errlen, "hash %s is weak: it needs "
		    "\"allow-weak-hash yes\" (or --allow-weak-hash)",
		    vg_hash_name(r->hash));
		return VG_ERR_INVAL;
	}
	/* Sorted, a root's descendants follow it directly. */
	qsort(r->roots, r->nroots, sizeof(*r->roots), root_cmp);
	for (i = 0; i < r->nroots; i++) {
		if (o > 0 && path_within(r->roots[o - 1], r->roots[i])) {
			free(r->roots[i]);
			continue;
		}
		r->roots[o++] = r->roots[i];
	}
	r->nroots = o;
	return 0;
}

/* Matches one glob class at *pp against c; advances *pp past it. */
static int
class_match(const char **pp, unsigned char c)
{
	const char *p = *pp + 1;
	int neg = 0, hit = 0;
	unsigned char lo, hi;

	if (*p == '!' || *p == '^') {
		neg = 1;
		p++;
	}
	if (*p == ']') {    /* a leading ']' is literal */
		hit |= c == ']';
		p++;
	}
	while (*p != '\0' && *p != ']') {
		lo = (unsigned char)*p++;
		if (*p == '-' && p[1] != '\0' && p[1] != ']') {
			hi = (unsigned char)p[1];
			p += 2;
			hit |= c >= lo && c <= hi;
		} else
			hit |= c == lo;
	}
	if (*p != ']')
		return -1;  /* unterminated: treat '[' literally */
	*pp = p + 1;
	return hit != neg;
}

/* Matches a pattern in which no "**" is followed by '/', by backtracking
 * over its last '*' and "**": fast on the usual patterns. */
static int
glob_backtrack(const char *p, const char *s)
{
	const char *sp = NULL, *ss = NULL;   /* last '*': resume points */
	const char *dp = NULL, *ds = NULL;   /* last '**' */
	const char *q;
	int m;

	/*
	 * Iterative matching with two resume points, so that no pattern can
	 * make it exponential: a failed '*' first grows by one byte (never
	 * over a '/'); when it cannot, the last '**' grows instead.
	 */
	while (*s != '\0') {
		if (*p == '*') {
			if (p[1] == '*') {
				while (*p == '*')
					p++;
				dp = p;
				ds = s;
				sp = NULL;
			} else {
				p++;
				sp = p;
				ss = s;
			}
			continue;
		}
		if (*p == '?' && *s != '/') {
			p++;
			s++;
			continue;
		}
		if (*p == '[' && *s != '/') {
			q = p;
			if ((m = class_match(&q, (unsigned char)*s)) == 1) {
				p = q;
				s++;
				continue;
			}
			if (m == -1 && *s == '[') {
				p++;
				s++;
				continue;
			}
		} else if (*p == '\\' && p[1] != '\0') {
			if (p[1] == *s) {
				p += 2;
				s++;
				continue;
			}
		} else if (*p != '\0' && *p != '?' && *p != '[' && *p == *s) {
			p++;
			s++;
			continue;
		}
		if (sp != NULL && *ss != '/') {
			s = ++ss;
			p = sp;
		} else if (dp != NULL) {
			sp = NULL;
			s = ++ds;
			p = dp;
		} else
			return 0;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/*
 * Adds to set (one byte per offset in p) what the states in it reach
 * without reading a byte: a run of stars may match nothing, and a "**"
 * entered just now (bit 1; bit 2 marks one that has matched bytes) that
 * is followed by '/' may match no folder at all, skipping the '/'. Such
 * moves only go forward, so one pass from lo suffices.
 */
static void
glob_closure(const char *p, size_t plen, unsigned char *set, size_t lo)
{
	size_t i, j;

	for (i = lo; i < plen; i++) {
		if (!set[i] || p[i] != '*')
			continue;
		for (j = i; p[j] == '*'; j++)
			;
		set[j] |= 1;
		if ((set[i] & 1) && j - i > 1 && p[j] == '/')
			set[j + 1] |= 1;
	}
}

/* Matches any pattern by running it as an automaton. */
static int
glob_automaton(const char *p, const char *s)
{
	unsigned char stackbuf[2 * 1024], *buf = stackbuf, *cur, *next, *tmp;
	size_t plen = strlen(p), i, j, lo, nlo;
	const char *q;
	unsigned char c;
	int m, r = 0;

	/* Most paths already differ in the literal start. */
	for (lo = 0; p[lo] != '\0' && strchr("*?[\\", p[lo]) == NULL; lo++)
		if (s[lo] != p[lo])
			return 0;
	/* The states are offsets in p, always at the start of a token:
	 * O(strlen(p) * strlen(s)) steps for any pattern. */
	if (2 * (plen + 1) > sizeof(stackbuf) &&
	    (buf = malloc(2 * (plen + 1))) == NULL)
		return 0;
	cur = buf;
	next = buf + plen + 1;
	memset(cur, 0, plen + 1);
	cur[lo] = 1;
	glob_closure(p, plen, cur, lo);
	for (s += lo; *s != '\0'; s++) {
		c = (unsigned char)*s;
		memset(next + lo, 0, plen + 1 - lo);
		nlo = plen + 1;
		for (i = lo; i < plen; i++) {
			if (!cur[i])
				continue;
			j = plen + 1;   /* where the byte leads; none */
			switch (p[i]) {
			case '*':
				/* The star grows ('*' not over a '/'). */
				if (p[i + 1] == '*' || c != '/') {
					next[i] |= 2;
					if (i < nlo)
						nlo = i;
				}
				break;
			case '?':
				if (c != '/')
					j = i + 1;
				break;
			case '[':
				q = p + i;
				m = class_match(&q, c);
				if (m == 1 && c != '/')
					j = (size_t)(q - p);
				else if (m == -1 && c == '[')
					j = i + 1;  /* unterminated: literal */
				break;
			case '\\':
				if (p[i + 1] == '\0') {
					if (c == '\\')
						j = i + 1;
				} else if (c == (unsigned char)p[i + 1])
					j = i + 2;
				break;
			default:
				if (c == (unsigned char)p[i])
					j = i + 1;
				break;
			}
			if (j <= plen) {
				next[j] |= 1;
				if (j < nlo)
					nlo = j;
			}
		}
		if (nlo > plen)
			goto out;
		glob_closure(p, plen, next, nlo);
		/* States only move forward: nothing below nlo is read
		 * again, so next is cleared from there on. */
		tmp = cur;
		cur = next;
		next = tmp;
		lo = nlo;
	}
	r = cur[plen];
out:
	if (buf != stackbuf)
		free(buf);
	return r;
}

int
vg_glob_match(const char *p, const char *s)
{
	/*
	 * "**" then '/' may also match no folder at all. Backtracking
	 * would have to try that as a second branch at every such "**",
	 * which is exponential in their number (a pattern repeating '/'
	 * and "**" a few dozen times); such patterns run as an automaton.
	 */
	if (strstr(p, "**/") != NULL)
		return glob_automaton(p, s);
	return glob_backtrack(p, s);
}
static int
rule_matches(const struct vg_rule *ru, const char *path, size_t len,
    int is_dir)
{
	const char *base;

	if (ru->regex)
		return regexec(ru->re, path, 0, NULL, 0) == 0;
	if (ru->dir_only && !is_dir)
		return 0;
	if (ru->basename) {
		base = memrchr(path, '/', len);
		return vg_glob_match(ru->pattern, base ? base + 1 : path);
	}
	return vg_glob_match(ru->pattern, path);
}

/* 1 when an include rule might match something below directory dir. */
static int
include_below(const struct vg_rules *r, const char *dir, size_t len)
{
	const struct vg_rule *ru;
	size_t i, lit;

	for (i = 0; i < r->nrules; i++) {
		ru = &r->rules[i];
		if (!ru->include)
			continue;
		if (ru->regex || ru->basename)
			return 1;
		lit = strcspn(ru->pattern, "*?[\\");
		/* The pattern's fixed start lies in dir, or dir in it. */
		if ((lit > len && strncmp(ru->pattern, dir, len) == 0 &&
		    ru->pattern[len] == '/') ||
		    (lit <= len && strncmp(ru->pattern, dir, lit) == 0))
			return 1;
	}
	return 0;
}

enum vg_match
vg_rules_match(const struct vg_rules *r, const char *path, size_t len,
    int is_dir, int in_excluded)
{
	size_t i = r->nrules;

	while (i-- > 0) {
		if (!rule_matches(&r->rules[i], path, len, is_dir))
			continue;
		if (r->rules[i].include)
			return VG_MATCH_INCLUDE;
		in_excluded = 1;
		break;
	}
	if (!in_excluded)
		return VG_MATCH_INCLUDE;
	return is_dir && include_below(r, path, len) ?
	    VG_MATCH_EXCLUDE_DESCEND : VG_MATCH_EXCLUDE;
}

/* Appends formatted text to a growing buffer. */
static int
append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *nb;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return VG_ERR_INTERNAL;
		if ((size_t)n < *cap - *len) {
			*len += (size_t)n;
			return 0;
		}
		if ((nb = realloc(*buf, *cap * 2 + (size_t)n)) == NULL)
			return VG_ERR_NOMEM;
		*buf = nb;
		*cap = *cap * 2 + (size_t)n;
	}
}

char *
vg_rules_serialize(const struct vg_rules *r)
{
	size_t len = 0, cap = 256, i;
	char *buf;
	uint32_t bit;
	int rv = 0;

	if ((buf = malloc(cap)) == NULL)
		return NULL;
	buf[0] = '\0';
	/* A root ending in a blank gets a '/', which keeps the blank from
	 * being trimmed when read back; normalisation drops the '/'. */
	for (i = 0; i < r->nroots && rv == 0; i++)
		rv = append(&buf, &len, &cap, "root %s%s\n", r->roots[i],
		    isspace((unsigned char)r->roots[i][strlen(r->roots[i]) -
		    1]) ? "/" : "");
	for (i = 0; i < r->nrules && rv == 0; i++)
		rv = append(&buf, &len, &cap, "%s%s %s%s\n",
		    r->rules[i].include ? "include" : "exclude",
		    r->rules[i].regex ? "-regex" : "", r->rules[i].pattern,
		    r->rules[i].dir_only ? "/" : "");
	if (rv == 0)
		rv = append(&buf, &len, &cap, "max-depth %ld\n"
		    "one-file-system %s\nfollow-symlinks %s\n"
		    "skip-pseudo-fs %s\nhash %s\nallow-weak-hash %s\n"
		    "max-hash-size %llu\nignore none\n", r->max_depth,
		    r->one_fs ? "yes" : "no",
		    r->follow_symlinks ? "yes" : "no",
		    r->skip_pseudo_fs ? "yes" : "no", vg_hash_name(r->hash),
		    r->allow_weak_hash ? "yes" : "no",
		    (unsigned long long)r->max_hash_size);
	for (bit = 1; (bit & VG_A_ALL) && rv == 0; bit <<= 1)
		if (r->ignore & bit)
			rv = append(&buf, &len, &cap, "ignore %s\n",
			    vg_attr_name(bit));
	if (rv != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
