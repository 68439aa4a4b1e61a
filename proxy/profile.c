/* SPDX-License-Identifier: GPL-3.0-or-later */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile.h"
#include "vg_err.h"
#include "vg_util.h"

/* Limits that keep a hostile or mistaken pattern from stalling a session
 * on device output. */
#define MATCH_LIMIT 200000
#define DEPTH_LIMIT 10000
#define LIST_MAX 512

/* Built-in login patterns, used when a profile does not name its own:
 * "Username:", "User:", "login:", localised "Passwort:". */
#define DEFAULT_USERNAME_PROMPT \
	"(?i)(^|\\s)(user ?name|user|login)\\s*:\\s*$"
#define DEFAULT_PASSWORD_PROMPT \
	"(?i)(^|\\s)(password|passwort|passcode)\\s*:\\s*$"

struct parser {
	struct proxy_profile *p;
	const char *source;
	unsigned int line;
	const char *key;
	char *err;
	size_t errlen;
	/* Line each single-valued key was set on, for "already set". */
	unsigned int seen[32];
	int sort_open; /* a sort_begin waits for its sort_end */
};

static int fail(struct parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct parser *ps, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ps->err, ps->errlen, "%s:%u: %s: %s", ps->source, ps->line,
	    ps->key, msg);
	return VG_ERR_INVAL;
}

static int
compile(struct parser *ps, const char *src, struct proxy_regex *re)
{
	PCRE2_UCHAR msg[256];
	char detail[400];
	PCRE2_SIZE off;
	int code;

	if (*src == '\0')
		return fail(ps, "expected a regular expression");
	re->re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
	if (re->re == NULL) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(detail, sizeof(detail), "%s at offset %zu",
		    (const char *)msg, (size_t)off);
		return fail(ps, "bad regular expression: %s", detail);
	}
	/* JIT is an optimisation; without it matching still works. */
	(void)pcre2_jit_compile(re->re, PCRE2_JIT_COMPLETE);
	if ((re->src = strdup(src)) == NULL)
		return VG_ERR_NOMEM;
	re->line = ps->line;
	return 0;
}

static void
regex_clear(struct proxy_regex *re)
{
	free(re->src);
	pcre2_code_free(re->re);
	re->src = NULL;
	re->re = NULL;
}

long
proxy_unescape(const char *s, char *out, size_t outcap)
{
	size_t n = 0;
	unsigned int v;
	int i, d;
	char c;

	while (*s != '\0') {
		c = *s++;
		if (c == '\\') {
			switch (*s++) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'e': c = '\033'; break;
			case 'a': c = '\a'; break;
			case 'b': c = '\b'; break;
			case 's': c = ' '; break;
			case '\\': c = '\\'; break;
			case 'x':
				for (v = 0, i = 0; i < 2; i++, s++) {
					if (*s >= '0' && *s <= '9')
						d = *s - '0';
					else if (*s >= 'a' && *s <= 'f')
						d = *s - 'a' + 10;
					else if (*s >= 'A' && *s <= 'F')
						d = *s - 'A' + 10;
					else
						return -1;
					v = v * 16 + (unsigned int)d;
				}
				c = (char)v;
				break;
			default: return -1;
			}
		}
		if (n >= outcap)
			return -1;
		out[n++] = c;
	}
	return (long)n;
}

/* Decodes an escaped text value into a new string (*out, *outlen). */
static int
text_value(struct parser *ps, const char *v, char **out, size_t *outlen)
{
	char buf[PROXY_PROFILE_LINE_MAX];
	long n;

	if ((n = proxy_unescape(v, buf, sizeof(buf) - 1)) < 0)
		return fail(ps, "bad escape (use \\n \\r \\t \\e \\s \\\\ "
		    "\\xHH)");
	buf[n] = '\0';
	if ((*out = malloc((size_t)n + 1)) == NULL)
		return VG_ERR_NOMEM;
	memcpy(*out, buf, (size_t)n + 1);
	if (outlen != NULL)
		*outlen = (size_t)n;
	return 0;
}

/* Splits "TOKEN rest" into a first word and the rest. */
static int
split_word(struct parser *ps, char *v, char **word, char **rest)
{
	char *sp = v + strcspn(v, " \t");

	if (*sp == '\0')
		return fail(ps, "expected a word, a blank, then a regular "
		    "expression");
	*sp++ = '\0';
	sp += strspn(sp, " \t");
	*word = v;
	*rest = sp;
	return 0;
}

static int
grow(void **arr, size_t *n, size_t size, struct parser *ps)
{
	void *g;

	if (*n >= LIST_MAX)
		return fail(ps, "more than 512 entries");
	if ((g = reallocarray(*arr, *n + 1, size)) == NULL)
		return VG_ERR_NOMEM;
	memset((char *)g + *n * size, 0, size);
	*arr = g;
	(*n)++;
	return 0;
}

static int
once(struct parser *ps, unsigned int slot)
{
	char detail[64];

	if (ps->seen[slot] != 0) {
		snprintf(detail, sizeof(detail), "%u", ps->seen[slot]);
		return fail(ps, "already set on line %s", detail);
	}
	ps->seen[slot] = ps->line;
	return 0;
}

static int
set_string(struct parser *ps, unsigned int slot, const char *v, char **dst)
{
	int r;

	if ((r = once(ps, slot)) != 0)
		return r;
	if (*v == '\0')
		return fail(ps, "expected a value");
	return (*dst = strdup(v)) == NULL ? VG_ERR_NOMEM : 0;
}

static int
set_regex(struct parser *ps, unsigned int slot, const char *v,
    struct proxy_regex *dst)
{
	int r;

	if ((r = once(ps, slot)) != 0)
		return r;
	return compile(ps, v, dst);
}

static int
set_seconds(struct parser *ps, unsigned int slot, const char *v,
    unsigned int *dst)
{
	long n;
	int r;

	if ((r = once(ps, slot)) != 0)
		return r;
	if (vg_parse_long(v, 1, 86400, &n) != 0)
		return fail(ps, "expected seconds from 1 to 86400, not '%s'", v);
	*dst = (unsigned int)n;
	return 0;
}

static int
set_key(struct parser *ps, const char *key, char *v)
{
	struct proxy_profile *p = ps->p;
	char *word, *rest;
	size_t n;
	long l;
	int r;

	ps->key = key;
	if (strcmp(key, "name") == 0) {
		if ((r = once(ps, 0)) != 0)
			return r;
		if (*v == '\0' || strspn(v, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(v))
			return fail(ps, "expected letters, digits, '_', '.' "
			    "or '-', not '%s'", v);
		free(p->name);
		return (p->name = strdup(v)) == NULL ? VG_ERR_NOMEM : 0;
	}
	if (strcmp(key, "description") == 0)
		return set_string(ps, 1, v, &p->description);
	if (strcmp(key, "mode") == 0) {
		if ((r = once(ps, 2)) != 0)
			return r;
		if (strcmp(v, "shell") == 0)
			p->mode = PROXY_MODE_SHELL;
		else if (strcmp(v, "exec") == 0)
			p->mode = PROXY_MODE_EXEC;
		else
			return fail(ps, "expected shell or exec, not '%s'", v);
		return 0;
	}
	if (strcmp(key, "newline") == 0) {
		if ((r = once(ps, 3)) != 0)
			return r;
		if (strcmp(v, "\\n") == 0)
			memcpy(p->newline, "\n", 2);
		else if (strcmp(v, "\\r\\n") == 0)
			memcpy(p->newline, "\r\n", 3);
		else if (strcmp(v, "\\r") == 0)
			memcpy(p->newline, "\r", 2);
		else
			return fail(ps, "expected \\n, \\r\\n or \\r, not '%s'",
			    v);
		p->newline_len = strlen(p->newline);
		return 0;
	}
	if (strcmp(key, "prompt") == 0)
		return set_regex(ps, 4, v, &p->prompt);
	if (strcmp(key, "username_prompt") == 0)
		return set_regex(ps, 5, v, &p->username_prompt);
	if (strcmp(key, "password_prompt") == 0)
		return set_regex(ps, 6, v, &p->password_prompt);
	if (strcmp(key, "enable_command") == 0)
		return set_string(ps, 7, v, &p->enable_command);
	if (strcmp(key, "enable_password_prompt") == 0)
		return set_regex(ps, 8, v, &p->enable_password_prompt);
	if (strcmp(key, "enable_prompt") == 0)
		return set_regex(ps, 9, v, &p->enable_prompt);
	if (strcmp(key, "logout") == 0)
		return set_string(ps, 10, v, &p->logout);
	if (strcmp(key, "end_marker") == 0)
		return set_regex(ps, 11, v, &p->end_marker);
	if (strcmp(key, "min_lines") == 0) {
		if ((r = once(ps, 12)) != 0)
			return r;
		if (vg_parse_long(v, 0, 10000000, &l) != 0)
			return fail(ps, "expected a whole number from 0 to "
			    "10000000, not '%s'", v);
		p->min_lines = (size_t)l;
		return 0;
	}
	if (strcmp(key, "step_timeout") == 0)
		return set_seconds(ps, 13, v, &p->step_timeout_s);
	if (strcmp(key, "job_timeout") == 0)
		return set_seconds(ps, 14, v, &p->job_timeout_s);
	if (strcmp(key, "continuation") == 0)
		return set_regex(ps, 15, v, &p->continuation);
	if (strcmp(key, "setup") == 0) {
		if (*v == '\0')
			return fail(ps, "expected a command");
		if ((r = grow((void **)&p->setup, &p->nsetup,
		    sizeof(*p->setup), ps)) != 0)
			return r;
		return (p->setup[p->nsetup - 1] = strdup(v)) == NULL ?
		    VG_ERR_NOMEM : 0;
	}
	if (strcmp(key, "command") == 0 ||
	    strcmp(key, "command_volatile") == 0) {
		if (*v == '\0')
			return fail(ps, "expected a command");
		if ((r = grow((void **)&p->commands, &p->ncommands,
		    sizeof(*p->commands), ps)) != 0)
			return r;
		n = p->ncommands - 1;
		p->commands[n].is_volatile = key[7] == '_';
		return (p->commands[n].line = strdup(v)) == NULL ?
		    VG_ERR_NOMEM : 0;
	}
	if (strcmp(key, "pager") == 0) {
		if ((r = split_word(ps, v, &word, &rest)) != 0)
			return r;
		if ((r = grow((void **)&p->pagers, &p->npagers,
		    sizeof(*p->pagers), ps)) != 0)
			return r;
		n = p->npagers - 1;
		if ((r = text_value(ps, word, &p->pagers[n].answer,
		    &p->pagers[n].answer_len)) != 0)
			return r;
		return compile(ps, rest, &p->pagers[n].re);
	}
	if (strcmp(key, "mask") == 0) {
		if ((r = split_word(ps, v, &word, &rest)) != 0)
			return r;
		if ((r = grow((void **)&p->masks, &p->nmasks,
		    sizeof(*p->masks), ps)) != 0)
			return r;
		n = p->nmasks - 1;
		if ((r = text_value(ps, word, &p->masks[n].replacement,
		    NULL)) != 0)
			return r;
		return compile(ps, rest, &p->masks[n].re);
	}
	if (strcmp(key, "drop") == 0) {
		if ((r = grow((void **)&p->drops, &p->ndrops,
		    sizeof(*p->drops), ps)) != 0)
			return r;
		return compile(ps, v, &p->drops[p->ndrops - 1]);
	}
	if (strcmp(key, "volatile") == 0) {
		if ((r = grow((void **)&p->volatiles, &p->nvolatiles,
		    sizeof(*p->volatiles), ps)) != 0)
			return r;
		return compile(ps, v, &p->volatiles[p->nvolatiles - 1]);
	}
	if (strcmp(key, "secret") == 0) {
		if ((r = grow((void **)&p->secrets, &p->nsecrets,
		    sizeof(*p->secrets), ps)) != 0)
			return r;
		return compile(ps, v, &p->secrets[p->nsecrets - 1]);
	}
	if (strcmp(key, "sort_begin") == 0) {
		if (ps->sort_open)
			return fail(ps, "the sort_begin before has no "
			    "sort_end");
		if ((r = grow((void **)&p->sorts, &p->nsorts,
		    sizeof(*p->sorts), ps)) != 0)
			return r;
		ps->sort_open = 1;
		return compile(ps, v, &p->sorts[p->nsorts - 1].begin);
	}
	if (strcmp(key, "sort_end") == 0) {
		if (!ps->sort_open)
			return fail(ps, "expected a sort_begin before");
		ps->sort_open = 0;
		return compile(ps, v, &p->sorts[p->nsorts - 1].end);
	}
	return fail(ps, "unknown key");
}

/* Fills what a profile did not say. */
static int
finish(struct parser *ps)
{
	struct proxy_profile *p = ps->p;
	const char *dot;
	size_t n;
	int r;

	ps->line = 0;
	if (ps->sort_open) {
		ps->key = "sort_begin";
		ps->line = p->sorts[p->nsorts - 1].begin.line;
		return fail(ps, "has no sort_end");
	}
	ps->key = "command";
	if (p->ncommands == 0)
		return fail(ps, "a profile needs at least one command");
	ps->key = "prompt";
	if (p->mode == PROXY_MODE_SHELL && p->prompt.re == NULL)
		return fail(ps, "a shell-mode profile needs a prompt");
	ps->key = "enable_prompt";
	if (p->enable_command != NULL && p->enable_prompt.re == NULL)
		return fail(ps, "enable_command needs an enable_prompt");
	if (p->newline_len == 0) {
		memcpy(p->newline, "\n", 2);
		p->newline_len = 1;
	}
	ps->key = "username_prompt";
	if (p->username_prompt.re == NULL &&
	    (r = compile(ps, DEFAULT_USERNAME_PROMPT, &p->username_prompt)) != 0)
		return r;
	ps->key = "password_prompt";
	if (p->password_prompt.re == NULL &&
	    (r = compile(ps, DEFAULT_PASSWORD_PROMPT, &p->password_prompt)) != 0)
		return r;
	ps->key = "enable_password_prompt";
	if (p->enable_password_prompt.re == NULL && (r = compile(ps,
	    DEFAULT_PASSWORD_PROMPT, &p->enable_password_prompt)) != 0)
		return r;
	if (p->name == NULL) {
		dot = strrchr(ps->source, '/');
		dot = dot != NULL ? dot + 1 : ps->source;
		n = strlen(dot);
		if (n > 8 && strcmp(dot + n - 8, ".profile") == 0)
			n -= 8;
		if ((p->name = strndup(dot, n)) == NULL)
			return VG_ERR_NOMEM;
	}
	if ((p->mctx = pcre2_match_context_create(NULL)) == NULL)
		return VG_ERR_NOMEM;
	pcre2_set_match_limit(p->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(p->mctx, DEPTH_LIMIT);
	return 0;
}

int
proxy_profile_parse(const char *text, size_t len, const char *source,
    struct proxy_profile **out, char *err, size_t errlen)
{
	struct parser ps;
	char line[PROXY_PROFILE_LINE_MAX + 1], *s, *key, *v;
	const char *p = text, *end = text + len, *nl;
	size_t n;
	int r = VG_ERR_NOMEM;

	*out = NULL;
	memset(&ps, 0, sizeof(ps));
	ps.source = source;
	ps.err = err;
	ps.errlen = errlen;
	ps.key = "profile";
	if (len > PROXY_PROFILE_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", source,
		    PROXY_PROFILE_FILE_MAX);
		return VG_ERR_TOOBIG;
	}
	if ((ps.p = calloc(1, sizeof(*ps.p))) == NULL)
		goto out;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		ps.line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > PROXY_PROFILE_LINE_MAX) {
			ps.key = "profile";
			r = fail(&ps, "line longer than 4096 bytes");
			goto out;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl != NULL);
		if (strlen(line) != n) {
			r = fail(&ps, "NUL byte in the line");
			goto out;
		}
		for (s = line; *s != '\0'; s++) {
			if (((unsigned char)*s < 0x20 && *s != '\t' &&
			    *s != '\r') || *s == 0x7f) {
				r = fail(&ps, "control character in the "
				    "line");
				goto out;
			}
		}
		if (!vg_utf8_valid(line, n)) {
			r = fail(&ps, "not valid UTF-8");
			goto out;
		}
		s = vg_trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		key = s;
		v = s + strcspn(s, " \t");
		if (*v != '\0') {
			*v++ = '\0';
			v = vg_trim(v);
		}
		if ((r = set_key(&ps, key, v)) != 0)
			goto out;
	}
	if ((r = finish(&ps)) != 0)
		goto out;
	*out = ps.p;
	ps.p = NULL;
	r = 0;
out:
	if (r == VG_ERR_NOMEM)
		snprintf(err, errlen, "%s: out of memory", source);
	proxy_profile_free(ps.p);
	return r;
}

int
proxy_profile_load(const char *file, struct proxy_profile **out,
    char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = vg_read_file(file, PROXY_PROFILE_FILE_MAX, &text, &len, err,
	    errlen)) != 0)
		return r;
	r = proxy_profile_parse(text, len, file, out, err, errlen);
	free(text);
	return r;
}

int
proxy_profile_load_named(const char *dir, const char *name,
    struct proxy_profile **out, char *err, size_t errlen)
{
	char path[4096];

	*out = NULL;
	if (name[0] == '\0' || name[0] == '.' || strspn(name,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    "_.-") != strlen(name)) {
		snprintf(err, errlen, "'%s': not a profile name", name);
		return VG_ERR_INVAL;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.profile", dir,
	    name) >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return VG_ERR_TOOBIG;
	}
	return proxy_profile_load(path, out, err, errlen);
}

void
proxy_profile_free(struct proxy_profile *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->name);
	free(p->description);
	regex_clear(&p->prompt);
	regex_clear(&p->username_prompt);
	regex_clear(&p->password_prompt);
	free(p->enable_command);
	regex_clear(&p->enable_password_prompt);
	regex_clear(&p->enable_prompt);
	for (i = 0; i < p->nsetup; i++)
		free(p->setup[i]);
	free(p->setup);
	for (i = 0; i < p->ncommands; i++)
		free(p->commands[i].line);
	free(p->commands);
	free(p->logout);
	for (i = 0; i < p->npagers; i++) {
		regex_clear(&p->pagers[i].re);
		free(p->pagers[i].answer);
	}
	free(p->pagers);
	for (i = 0; i < p->ndrops; i++)
		regex_clear(&p->drops[i]);
	free(p->drops);
	for (i = 0; i < p->nmasks; i++) {
		regex_clear(&p->masks[i].re);
		free(p->masks[i].replacement);
	}
	free(p->masks);
	for (i = 0; i < p->nsorts; i++) {
		regex_clear(&p->sorts[i].begin);
		regex_clear(&p->sorts[i].end);
	}
	free(p->sorts);
	for (i = 0; i < p->nvolatiles; i++)
		regex_clear(&p->volatiles[i]);
	free(p->volatiles);
	for (i = 0; i < p->nsecrets; i++)
		regex_clear(&p->secrets[i]);
	free(p->secrets);
	regex_clear(&p->end_marker);
	regex_clear(&p->continuation);
	pcre2_match_context_free(p->mctx);
	free(p);
}

int
proxy_regex_match(const struct proxy_profile *p,
    const struct proxy_regex *re, const char *s, size_t len, size_t *mstart,
    size_t *mend)
{
	pcre2_match_data *md;
	PCRE2_SIZE *ov;
	int rc;

	if (re->re == NULL)
		return 0;
	if ((md = pcre2_match_data_create_from_pattern(re->re, NULL)) == NULL)
		return VG_ERR_NOMEM;
	rc = pcre2_match(re->re, (PCRE2_SPTR)s, len, 0, 0, md, p->mctx);
	if (rc >= 0) {
		ov = pcre2_get_ovector_pointer(md);
		if (mstart != NULL)
			*mstart = ov[0];
		if (mend != NULL)
			*mend = ov[1];
	}
	pcre2_match_data_free(md);
	return rc >= 0 ? 1 : 0;
}
