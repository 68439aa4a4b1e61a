/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of core/vg_rules: the glob matcher (including patterns that
 * would make a backtracking matcher exponential), the rules text format,
 * roots, matching decisions and the canonical text form.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vg_err.h"
#include "vg_hash.h"
#include "vg_item.h"
#include "vg_rules.h"

static const struct {
	const char *pattern, *s;
	int match;
} globs[] = {
	/* '*' and '?' stay within one component */
	{ "*", "abc", 1 }, { "*", "", 1 }, { "*", "a/b", 0 },
	{ "*.c", "main.c", 1 }, { "*.c", "main.h", 0 }, { "*.c", ".c", 1 },
	{ "*.c", "dir/main.c", 0 }, { "/a/*", "/a/b", 1 },
	{ "/a/*", "/a/b/c", 0 }, { "/a/*/x", "/a/b/x", 1 },
	{ "/a/*/x", "/a/b/c/x", 0 }, { "/a/*/x", "/a//x", 1 },
	{ "a*b*c", "aXbYc", 1 }, { "a*b*c", "abc", 1 }, { "a*b*c", "acb", 0 },
	{ "?", "a", 1 }, { "?", "", 0 }, { "?", "/", 0 }, { "?", "ab", 0 },
	{ "a?c", "abc", 1 }, { "a?c", "a/c", 0 }, { "??", "\xc3\xa9", 1 },
	/* literals are exact */
	{ "abc", "abc", 1 }, { "abc", "abcd", 0 }, { "abc", "ab", 0 },
	{ "abc", "ABC", 0 }, { "", "", 1 }, { "", "a", 0 },
	/* classes */
	{ "[a-z]", "m", 1 }, { "[a-z]", "M", 0 }, { "[a-z]", "-", 0 },
	{ "[abc]", "b", 1 }, { "[abc]", "d", 0 }, { "[!a]", "b", 1 },
	{ "[!a]", "a", 0 }, { "[^a]", "b", 1 }, { "[!a]", "/", 0 },
	{ "[/]", "/", 0 }, { "[]]", "]", 1 }, { "[!]]", "]", 0 },
	{ "[a-]", "-", 1 }, { "[a-]", "a", 1 }, { "[0-9][0-9]", "42", 1 },
	{ "core.[0-9]*", "core.1234", 1 }, { "core.[0-9]*", "core.x", 0 },
	{ "[a-c][!x]?", "bya", 1 },
	/* '**' crosses '/' */
	{ "**", "a/b/c", 1 }, { "**", "", 1 }, { "/a/**", "/a/b/c", 1 },
	{ "/a/**", "/a/", 1 },
	{ "/a/**", "/a", 0 },      /* below /a, not /a itself */
	{ "/a/**/x", "/a/x", 1 }, { "/a/**/x", "/a/b/x", 1 },
	{ "/a/**/x", "/a/b/c/x", 1 }, { "/a/**/x", "/a/b/c/y", 0 },
	{ "/a/**/x", "/a/bx", 0 }, { "/a/**/x", "/ax", 0 },
	{ "/a/**/x", "/a/x/y", 0 }, { "/a/**/x/**/y", "/a/x/y", 1 },
	{ "/a/**/x/**/y", "/a/1/x/2/3/y", 1 }, { "**/x", "/x", 1 },
	{ "**/x", "/a/b/x", 1 }, { "**/x", "x", 1 }, { "**/x", "/a/bx", 0 },
	{ "/a/**/", "/a/", 1 }, { "/a/**/", "/a/b/", 1 },
	{ "/a/**/", "/a/b", 0 },
	{ "/**.conf", "/etc/x/y.conf", 1 }, { "/**.conf", "/etc/x/y.cnf", 0 },
	{ "/a***/b", "/a/x/b", 1 },
	{ "/usr/share/doc/**/copyright", "/usr/share/doc/bash/copyright", 1 },
	/* escapes */
	{ "\\*", "*", 1 }, { "\\*", "a", 0 }, { "a\\?b", "a?b", 1 },
	{ "a\\?b", "axb", 0 }, { "\\[a]", "[a]", 1 }, { "\\[a]", "a", 0 },
	{ "\\\\", "\\", 1 }, { "a\\", "a\\", 1 }, { "\\**", "*xyz", 1 },
	{ "\\**", "x", 0 }, { "\\*\\*/x", "**/x", 1 }, { "\\*\\*/x", "/x", 0 },
	/* an unterminated '[' is literal */
	{ "[a", "[a", 1 }, { "[a", "a", 0 }, { "x[", "x[", 1 },
	{ "[!", "[!", 1 }, { "[*", "[abc", 1 },
};

static void
test_glob_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(globs) / sizeof(globs[0]); i++) {
		if (vg_glob_match(globs[i].pattern, globs[i].s) !=
		    globs[i].match)
			fail_msg("glob \"%s\" against \"%s\": want %d",
			    globs[i].pattern, globs[i].s, globs[i].match);
	}
}

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_glob_pathological_is_fast(void **state)
{
	static char s[4002], pat[4096], path[4096];
	double t0;
	size_t i;

	(void)state;
	memset(s, 'a', 4000);
	s[4000] = '\0';
	t0 = seconds();
	assert_int_equal(vg_glob_match("**a**a**a**a**a**b", s), 0);
	assert_int_equal(vg_glob_match("*a*a*a*a*a*a*a*a*b", s), 0);
	s[4000] = 'b';
	assert_int_equal(vg_glob_match("**a**a**a**a**a**b", s), 1);
	s[4000] = '\0';

	/* Many "**" followed by '/': each may match no folder at all,
	 * which backtracking would try both ways at every one. */
	pat[0] = path[0] = '\0';
	for (i = 0; i < 60; i++)
		strcat(pat, "/**");
	strcat(pat, "/x");
	for (i = 0; i < 60; i++)
		strcat(path, "/a");
	strcat(path, "/b");
	assert_int_equal(vg_glob_match(pat, path), 0);
	path[strlen(path) - 1] = 'x';
	assert_int_equal(vg_glob_match(pat, path), 1);
	pat[0] = '\0';
	for (i = 0; i < 60; i++)
		strcat(pat, "a**/");
	strcat(pat, "x");
	assert_int_equal(vg_glob_match(pat, s), 0);
	/* Very long patterns too. */
	memset(pat, '*', 4000);
	pat[4000] = '\0';
	assert_int_equal(vg_glob_match(pat, s), 1);
	/* The whole lot in well under a second (exponential: never). */
	assert_true(seconds() - t0 < 2.0);
}

static struct vg_rules *
parse_ok(const char *text)
{
	struct vg_rules *r;
	char err[512] = "";

	assert_int_equal(vg_rules_new(&r), 0);
	if (vg_rules_parse(r, text, strlen(text), "t.rules", err,
	    sizeof(err)) != 0)
		fail_msg("parse: %s", err);
	return r;
}

static void
test_defaults(void **state)
{
	struct vg_rules *r;

	(void)state;
	assert_int_equal(vg_rules_new(&r), 0);
	assert_int_equal(r->nroots, 0);
	assert_int_equal(r->nrules, 0);
	assert_int_equal(r->max_depth, -1);
	assert_int_equal(r->one_fs, 0);
	assert_int_equal(r->follow_symlinks, 0);
	assert_int_equal(r->skip_pseudo_fs, 1);
	assert_int_equal(r->hash, VG_HASH_SHA256);
	assert_int_equal(r->allow_weak_hash, 0);
	assert_true(r->max_hash_size == 0);
	assert_int_equal(r->ignore, VG_A_DEV);
	vg_rules_free(r);
	vg_rules_free(NULL);
}

static const char every_directive[] =
    "# vigil rules\n"
    "root /etc\n"
    "   root   /var/lib/  \n"
    "\n"
    "\t# indented comment\n"
    "include *.conf\n"
    "exclude *.bak\n"
    "include-regex ^/etc/ssl/.*\\.pem$\n"
    "exclude-regex ^/var/lib/cache(/.*)?$\n"
    "exclude /var/lib/tmp/\n"
    "exclude cache/\n"
    "include /usr/share/doc/**/copyright\n"
    "max-depth 5\n"
    "one-file-system yes\n"
    "follow-symlinks true\n"
    "skip-pseudo-fs off\n"
    "hash SHA-512\n"
    "allow-weak-hash no\n"
    "max-hash-size 10M\n"
    "ignore mtime, ctime\n"
    "ignore inode";      /* no newline at the end */

static void
check_every_directive(const struct vg_rules *r)
{
	assert_int_equal(r->nroots, 2);
	assert_string_equal(r->roots[0], "/etc");
	assert_string_equal(r->roots[1], "/var/lib");
	assert_int_equal(r->nrules, 7);

	assert_int_equal(r->rules[0].include, 1);
	assert_int_equal(r->rules[0].regex, 0);
	assert_int_equal(r->rules[0].basename, 1);
	assert_int_equal(r->rules[0].dir_only, 0);
	assert_string_equal(r->rules[0].pattern, "*.conf");
	assert_null(r->rules[0].re);

	assert_int_equal(r->rules[1].include, 0);
	assert_string_equal(r->rules[1].pattern, "*.bak");

	assert_int_equal(r->rules[2].include, 1);
	assert_int_equal(r->rules[2].regex, 1);
	assert_non_null(r->rules[2].re);
	assert_string_equal(r->rules[2].pattern, "^/etc/ssl/.*\\.pem$");

	assert_int_equal(r->rules[3].include, 0);
	assert_int_equal(r->rules[3].regex, 1);

	assert_int_equal(r->rules[4].include, 0);
	assert_int_equal(r->rules[4].dir_only, 1);
	assert_int_equal(r->rules[4].basename, 0);
	assert_string_equal(r->rules[4].pattern, "/var/lib/tmp");

	assert_int_equal(r->rules[5].dir_only, 1);
	assert_int_equal(r->rules[5].basename, 1);
	assert_string_equal(r->rules[5].pattern, "cache");

	assert_int_equal(r->rules[6].include, 1);
	assert_int_equal(r->rules[6].basename, 0);

	assert_int_equal(r->max_depth, 5);
	assert_int_equal(r->one_fs, 1);
	assert_int_equal(r->follow_symlinks, 1);
	assert_int_equal(r->skip_pseudo_fs, 0);
	assert_int_equal(r->hash, VG_HASH_SHA512);
	assert_int_equal(r->allow_weak_hash, 0);
	assert_true(r->max_hash_size == 10ull << 20);
	/* dev stays ignored by default; the lines add to it. */
	assert_int_equal(r->ignore, VG_A_DEV | VG_A_MTIME | VG_A_CTIME |
	    VG_A_INODE);
}

static void
test_parse_every_directive(void **state)
{
	struct vg_rules *r;

	(void)state;
	r = parse_ok(every_directive);
	check_every_directive(r);
	vg_rules_free(r);
}

static void
test_parse_crlf(void **state)
{
	char crlf[2 * sizeof(every_directive)];
	struct vg_rules *r;
	size_t i, o = 0;

	(void)state;
	for (i = 0; every_directive[i] != '\0'; i++) {
		if (every_directive[i] == '\n')
			crlf[o++] = '\r';
		crlf[o++] = every_directive[i];
	}
	memcpy(crlf + o, "\r\n", 3);
	r = parse_ok(crlf);
	check_every_directive(r);
	vg_rules_free(r);
}

static void
test_parse_values(void **state)
{
	static const struct {
		const char *text;
		size_t off;   /* the field, as an int or long */
		long want;
	} bools[] = {
		{ "one-file-system on", offsetof(struct vg_rules, one_fs), 1 },
		{ "one-file-system false", offsetof(struct vg_rules, one_fs),
		  0 },
		{ "follow-symlinks yes",
		  offsetof(struct vg_rules, follow_symlinks), 1 },
		{ "skip-pseudo-fs no",
		  offsetof(struct vg_rules, skip_pseudo_fs), 0 },
		{ "allow-weak-hash on",
		  offsetof(struct vg_rules, allow_weak_hash), 1 },
	};
	struct vg_rules *r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		r = parse_ok(bools[i].text);
		assert_int_equal(*(int *)((char *)r + bools[i].off),
		    bools[i].want);
		vg_rules_free(r);
	}
	r = parse_ok("max-depth -1\nmax-depth 0\n");
	assert_int_equal(r->max_depth, 0);
	vg_rules_free(r);
	r = parse_ok("max-hash-size 1KB\n");
	assert_true(r->max_hash_size == 1024);
	vg_rules_free(r);
	r = parse_ok("hash none\n");
	assert_int_equal(r->hash, VG_HASH_NONE);
	vg_rules_free(r);
	r = parse_ok("ignore none\n");
	assert_int_equal(r->ignore, 0);
	vg_rules_free(r);
	r = parse_ok("ignore none\nignore hash,size\n");
	assert_int_equal(r->ignore, VG_A_HASH | VG_A_SIZE);
	vg_rules_free(r);
	/* Empty text, only comments: nothing changes. */
	r = parse_ok("");
	assert_int_equal(r->nroots + r->nrules, 0);
	vg_rules_free(r);
	r = parse_ok("# a\n\n   \n#root /x\n\r\n");
	assert_int_equal(r->nroots + r->nrules, 0);
	vg_rules_free(r);
	/* A value keeps inner blanks. */
	r = parse_ok("root /srv/my files\nexclude *.tmp file\n");
	assert_string_equal(r->roots[0], "/srv/my files");
	assert_string_equal(r->rules[0].pattern, "*.tmp file");
	vg_rules_free(r);
}

/* text must fail to parse with a message starting with prefix and
 * containing want. */
static void
check_parse_error(const char *text, size_t len, const char *prefix,
    const char *want)
{
	struct vg_rules *r;
	char err[512] = "";
	int rv;

	assert_int_equal(vg_rules_new(&r), 0);
	rv = vg_rules_parse(r, text, len, "t.rules", err, sizeof(err));
	if (rv != VG_ERR_INVAL || strncmp(err, prefix, strlen(prefix)) != 0 ||
	    strstr(err, want) == NULL)
		fail_msg("rules \"%.60s\": got %d \"%s\", want \"%s...%s\"",
		    text, rv, err, prefix, want);
	vg_rules_free(r);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *text, *prefix, *want;
	} bad[] = {
		{ "root /a\nfrobnicate yes\n", "t.rules:2: ",
		  "unknown directive \"frobnicate\"" },
		{ "Root /a\n", "t.rules:1: ", "unknown directive" },
		{ "root\n", "t.rules:1: ", "\"root\" needs a value" },
		{ "# c\n\nexclude   \n", "t.rules:3: ", "\"exclude\" needs a value" },
		{ "root /a\r\nhash\r\n", "t.rules:2: ", "needs a value" },
		{ "one-file-system maybe\n", "t.rules:1: ", "bad value \"maybe\"" },
		{ "follow-symlinks 1\n", "t.rules:1: ", "bad value" },
		{ "skip-pseudo-fs YES\n", "t.rules:1: ", "bad value" },
		{ "allow-weak-hash y\n", "t.rules:1: ", "bad value" },
		{ "include-regex (\n", "t.rules:1: ", "bad regex \"(\"" },
		{ "exclude-regex a{2,1}\n", "t.rules:1: ", "bad regex" },
		{ "hash sha3\n", "t.rules:1: ", "unknown hash \"sha3\"" },
		{ "max-depth -2\n", "t.rules:1: ", "bad value" },
		{ "max-depth 1x\n", "t.rules:1: ", "bad value" },
		{ "max-depth 1000001\n", "t.rules:1: ", "bad value" },
		{ "max-hash-size 1Q\n", "t.rules:1: ", "bad value" },
		{ "max-hash-size -1\n", "t.rules:1: ", "bad value" },
		{ "ignore type\n", "t.rules:1: ", "unknown attribute \"type\"" },
		{ "ignore size,bogus\n", "t.rules:1: ",
		  "unknown attribute \"bogus\"" },
		{ "include a/b\n", "t.rules:1: ", "does not start with '/'" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_parse_error(bad[i].text, strlen(bad[i].text),
		    bad[i].prefix, bad[i].want);

	/* A NUL byte: not a text file. */
	check_parse_error("root /a\n\0root /b\n", 17, "t.rules: ", "NUL");
}

static void
test_parse_line_lengths(void **state)
{
	struct vg_rules *r;
	char err[512] = "";
	char *big;
	size_t n;

	(void)state;
	big = malloc(3 * VG_RULES_MAX_LINE);
	assert_non_null(big);
	/* Exactly VG_RULES_MAX_LINE bytes, then a newline: accepted. */
	n = (size_t)snprintf(big, 3 * VG_RULES_MAX_LINE, "root /a\n");
	memset(big + n, 'x', VG_RULES_MAX_LINE);
	memcpy(big + n, "root /", 6);
	big[n + VG_RULES_MAX_LINE] = '\n';
	big[n + VG_RULES_MAX_LINE + 1] = '\0';
	assert_int_equal(vg_rules_new(&r), 0);
	assert_int_equal(vg_rules_parse(r, big, strlen(big), "t.rules", err,
	    sizeof(err)), 0);
	assert_int_equal(r->nroots, 2);
	assert_int_equal(strlen(r->roots[1]), VG_RULES_MAX_LINE - 5);
	vg_rules_free(r);
	/* One byte more on line 2: refused, with the line number. */
	big[n + VG_RULES_MAX_LINE] = 'x';
	big[n + VG_RULES_MAX_LINE + 1] = '\n';
	big[n + VG_RULES_MAX_LINE + 2] = '\0';
	check_parse_error(big, strlen(big), "t.rules:2: ", "line longer than");
	free(big);
}

static void
test_weak_hash_needs_permission(void **state)
{
	struct vg_rules *r;
	char err[512] = "";

	(void)state;
	/* Parsing is fine; the rules are incomplete until finish. */
	r = parse_ok("root /a\nhash md5\n");
	assert_int_equal(r->hash, VG_HASH_MD5);
	assert_int_equal(vg_rules_finish(r, err, sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "weak"));
	assert_non_null(strstr(err, "allow-weak-hash"));
	vg_rules_free(r);

	r = parse_ok("root /a\nhash sha-1\nallow-weak-hash yes\n");
	assert_int_equal(vg_rules_finish(r, err, sizeof(err)), 0);
	assert_int_equal(r->hash, VG_HASH_SHA1);
	vg_rules_free(r);

	/* The order of the two lines does not matter. */
	r = parse_ok("allow-weak-hash yes\nroot /a\nhash md5\n");
	assert_int_equal(vg_rules_finish(r, err, sizeof(err)), 0);
	vg_rules_free(r);

	r = parse_ok("hash sha256\n");
	assert_int_equal(vg_rules_finish(r, err, sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "no root"));
	vg_rules_free(r);
}

static void
check_root(const char *in, const char *want)
{
	struct vg_rules *r;
	char err[256] = "";

	assert_int_equal(vg_rules_new(&r), 0);
	if (vg_rules_add_root(r, in, err, sizeof(err)) != 0)
		fail_msg("add_root %s: %s", in, err);
	assert_int_equal(r->nroots, 1);
	assert_string_equal(r->roots[0], want);
	vg_rules_free(r);
}

static void
test_roots_normalised(void **state)
{
	char cwd[PATH_MAX], want[PATH_MAX + 16];
	struct vg_rules *r;
	char err[256] = "";

	(void)state;
	check_root("/a//b/./c/../d/", "/a/b/d");
	check_root("/", "/");
	check_root("//", "/");
	check_root("/..", "/");
	check_root("/../../x", "/x");
	check_root("/a/b/../..", "/");
	check_root("/a/./././", "/a");
	check_root("/a/..b/.c", "/a/..b/.c");
	check_root("/a/...", "/a/...");

	/* Relative roots are made absolute against the working folder. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "%s/sub", strcmp(cwd, "/") == 0 ? "" :
	    cwd);
	check_root("sub", want);
	check_root("./x/../sub/", want);
	r = parse_ok("root sub\n");
	assert_string_equal(r->roots[0], want);
	vg_rules_free(r);
	check_root(".", cwd);

	assert_int_equal(vg_rules_new(&r), 0);
	assert_int_equal(vg_rules_add_root(r, "", err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_int_equal(vg_rules_add_root(r, "/a\nb", err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_int_equal(r->nroots, 0);
	vg_rules_free(r);
}

static void
test_roots_nested_dropped(void **state)
{
	static const char *const in[] = { "/a/b", "/a", "/a-b", "/a/b/c",
		"/x/y", "/a", "/a.b", "/a b", "/x/y/z", "/w" };
	/* Baseline order: '/' sorts below every other byte. */
	static const char *const want[] = { "/a", "/a b", "/a-b", "/a.b",
		"/w", "/x/y" };
	struct vg_rules *r;
	char err[256] = "";
	size_t i;

	(void)state;
	assert_int_equal(vg_rules_new(&r), 0);
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		assert_int_equal(vg_rules_add_root(r, in[i], err, sizeof(err)),
		    0);
	assert_int_equal(vg_rules_finish(r, err, sizeof(err)), 0);
	assert_int_equal(r->nroots, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < r->nroots; i++)
		assert_string_equal(r->roots[i], want[i]);
	vg_rules_free(r);

	/* The scanner walks roots in this order to merge with the
	 * baseline: "/a/c" comes before "/a b". */
	r = parse_ok("root /a b\nroot /a/c\nroot /a-c\n");
	assert_int_equal(vg_rules_finish(r, err, sizeof(err)), 0);
	assert_int_equal(r->nroots, 3);
	assert_string_equal(r->roots[0], "/a/c");
	assert_string_equal(r->roots[1], "/a b");
	assert_string_equal(r->roots[2], "/a-c");
	vg_rules_free(r);

	/* "/" holds everything. */
	r = parse_ok("root /usr\nroot /\nroot /etc\n");
	assert_int_equal(vg_rules_finish(r, err, sizeof(err)), 0);
	assert_int_equal(r->nroots, 1);
	assert_string_equal(r->roots[0], "/");
	vg_rules_free(r);
}

static enum vg_match
match(const struct vg_rules *r, const char *path, int is_dir, int in_excl)
{
	return vg_rules_match(r, path, strlen(path), is_dir, in_excl);
}

static void
test_match_last_rule_wins(void **state)
{
	struct vg_rules *r;

	(void)state;
	r = parse_ok("exclude *.log\ninclude keep.log\n");
	assert_int_equal(match(r, "/var/log/keep.log", 0, 0),
	    VG_MATCH_INCLUDE);
	assert_int_equal(match(r, "/var/log/syslog.log", 0, 0),
	    VG_MATCH_EXCLUDE);
	assert_int_equal(match(r, "/var/log/syslog", 0, 0), VG_MATCH_INCLUDE);
	vg_rules_free(r);

	r = parse_ok("include keep.log\nexclude *.log\n");
	assert_int_equal(match(r, "/var/log/keep.log", 0, 0),
	    VG_MATCH_EXCLUDE);
	vg_rules_free(r);

	/* No rules: everything is in. */
	assert_int_equal(vg_rules_new(&r), 0);
	assert_int_equal(match(r, "/anything", 1, 0), VG_MATCH_INCLUDE);
	vg_rules_free(r);
}

static void
test_match_basename_and_path_globs(void **state)
{
	struct vg_rules *r;

	(void)state;
	r = parse_ok("exclude *.o\nexclude /src/*.tmp\nexclude /build/**\n");
	/* A glob without '/' sees the last component only. */
	assert_int_equal(match(r, "/src/a.o", 0, 0), VG_MATCH_EXCLUDE);
	assert_int_equal(match(r, "/deep/down/b.o", 0, 0), VG_MATCH_EXCLUDE);
	assert_int_equal(match(r, "/src/a.o/inner", 0, 0), VG_MATCH_INCLUDE);
	assert_int_equal(match(r, "/x.o.c", 0, 0), VG_MATCH_INCLUDE);
	/* A glob with '/' matches the whole path. */
	assert_int_equal(match(r, "/src/x.tmp", 0, 0), VG_MATCH_EXCLUDE);
	assert_int_equal(match(r, "/src/sub/x.tmp", 0, 0), VG_MATCH_INCLUDE);
	assert_int_equal(match(r, "/other/src/x.tmp", 0, 0),
	    VG_MATCH_INCLUDE);
	assert_int_equal(match(r, "/build/a/b", 0, 0), VG_MATCH_EXCLUDE);
	assert_int_equal(match(r, "/build", 1, 0), VG_MATCH_INCLUDE);
	vg_rules_free(r);
}

static void
test_match_dir_only(void **state)
{
	struct vg_rules *r;

	(void)state;
	r = parse_ok("exclude cache/\nexclude /var/tmp/\n");
	assert_int_equal(match(r, "/home/u/cache", 1, 0), VG_MATCH_EXCLUDE);
	assert_int_equal(match(r, "/home/u/cache", 0, 0), VG_MATCH_INCLUDE);
	assert_int_equal(match(r, "/var/tmp", 1, 0), VG_MATCH_EXCLUDE);
	assert_int_equal(match(r, "/var/tmp", 0, 0), VG_MATCH_INCLUDE);
	assert_int_equal(match(r, "/var/tmp/x", 1, 0), VG_MATCH_INCLUDE);
	vg_rules_free(r);
}

static void
test_match_regex(void **state)
{
	struct vg_rules *r;

	(void)state;
	r = parse_ok("exclude-regex ^/var/log/.*\\.gz$\n"
	    "include-regex ^/var/log/keep[0-9]+\\.gz$\n");
	assert_int_equal(match(r, "/var/log/a.gz", 0, 0), VG_MATCH_EXCLUDE);
	assert_int_equal(match(r, "/var/log/sub/a.gz", 0, 0),
	    VG_MATCH_EXCLUDE);
	assert_int_equal(match(r, "/var/log/a.gzip", 0, 0), VG_MATCH_INCLUDE);
	assert_int_equal(match(r, "/x/var/log/a.gz", 0, 0), VG_MATCH_INCLUDE);
	assert_int_equal(match(r, "/var/log/keep12.gz", 0, 0),
	    VG_MATCH_INCLUDE);
	vg_rules_free(r);

	/* Unanchored, a regex may match anywhere in the path. */
	r = parse_ok("exclude-regex \\.swp\n");
	assert_int_equal(match(r, "/a/.x.swp", 0, 0), VG_MATCH_EXCLUDE);
	assert_int_equal(match(r, "/a.swpdir/x", 0, 0), VG_MATCH_EXCLUDE);
	vg_rules_free(r);
}

static void
test_match_exclude_descend(void **state)
{
	struct vg_rules *r;

	(void)state;
	r = parse_ok("exclude /var/lib\ninclude /var/lib/dpkg/status\n"
	    "exclude /tmp\n");
	/* An include lies below the excluded folder: walk it. */
	assert_int_equal(match(r, "/var/lib", 1, 0),
	    VG_MATCH_EXCLUDE_DESCEND);
	/* Not a folder: nothing below it. */
	assert_int_equal(match(r, "/var/lib", 0, 0), VG_MATCH_EXCLUDE);
	/* Inside it, only the way to the include is walked ... */
	assert_int_equal(match(r, "/var/lib/dpkg", 1, 1),
	    VG_MATCH_EXCLUDE_DESCEND);
	assert_int_equal(match(r, "/var/lib/apt", 1, 1), VG_MATCH_EXCLUDE);
	assert_int_equal(match(r, "/var/lib/dpkg-old", 1, 1),
	    VG_MATCH_EXCLUDE);
	/* ... the rest stays out, and the include takes its entry back. */
	assert_int_equal(match(r, "/var/lib/dpkg/status", 0, 1),
	    VG_MATCH_INCLUDE);
	assert_int_equal(match(r, "/var/lib/dpkg/available", 0, 1),
	    VG_MATCH_EXCLUDE);
	assert_int_equal(match(r, "/var/lib/x", 0, 1), VG_MATCH_EXCLUDE);
	/* No include below /tmp: a plain exclude. */
	assert_int_equal(match(r, "/tmp", 1, 0), VG_MATCH_EXCLUDE);
	vg_rules_free(r);

	/* A path glob whose fixed start lies in the folder. */
	r = parse_ok("exclude /home\ninclude /home/*/.ssh/**\n");
	assert_int_equal(match(r, "/home", 1, 0), VG_MATCH_EXCLUDE_DESCEND);
	assert_int_equal(match(r, "/home/bob", 1, 1),
	    VG_MATCH_EXCLUDE_DESCEND);
	assert_int_equal(match(r, "/home/bob/.ssh/id_ed25519", 0, 1),
	    VG_MATCH_INCLUDE);
	assert_int_equal(match(r, "/home/bob/notes", 0, 1), VG_MATCH_EXCLUDE);
	vg_rules_free(r);

	/* Basename includes and regex includes may match anywhere. */
	r = parse_ok("exclude /srv\ninclude *.conf\n");
	assert_int_equal(match(r, "/srv", 1, 0), VG_MATCH_EXCLUDE_DESCEND);
	assert_int_equal(match(r, "/srv/app.conf", 0, 1), VG_MATCH_INCLUDE);
	vg_rules_free(r);
	r = parse_ok("exclude /srv\ninclude-regex ^/srv/keep$\n");
	assert_int_equal(match(r, "/srv", 1, 0), VG_MATCH_EXCLUDE_DESCEND);
	vg_rules_free(r);
	r = parse_ok("exclude /srv\ninclude /opt/x\n");
	assert_int_equal(match(r, "/srv", 1, 0), VG_MATCH_EXCLUDE);
	vg_rules_free(r);
}

static void
test_serialize_canonical(void **state)
{
	struct vg_rules *r;
	char err[256] = "";
	char *s;

	(void)state;
	r = parse_ok("root /etc\nexclude *.bak\n");
	assert_int_equal(vg_rules_finish(r, err, sizeof(err)), 0);
	s = vg_rules_serialize(r);
	assert_non_null(s);
	assert_string_equal(s, "root /etc\n"
	    "exclude *.bak\n"
	    "max-depth -1\n"
	    "one-file-system no\n"
	    "follow-symlinks no\n"
	    "skip-pseudo-fs yes\n"
	    "hash sha256\n"
	    "allow-weak-hash no\n"
	    "max-hash-size 0\n"
	    "ignore none\n"
	    "ignore dev\n");
	free(s);
	vg_rules_free(r);
}

static void
test_serialize_parse_serialize(void **state)
{
	static const char *const texts[] = {
		every_directive,
		"root /a\nhash md5\nallow-weak-hash yes\nignore none\n",
		"root /\nexclude /proc/\ninclude-regex ^/x( y)?$\n"
		"max-depth 0\nmax-hash-size 1T\nignore size,mode,uid,gid,user,"
		"group,mtime,ctime,inode,dev,nlink,target,xattrs,acl,selinux,"
		"hash,props\n",
	};
	struct vg_rules *r, *r2;
	char err[512] = "";
	char *s1, *s2;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		r = parse_ok(texts[i]);
		assert_int_equal(vg_rules_finish(r, err, sizeof(err)), 0);
		s1 = vg_rules_serialize(r);
		assert_non_null(s1);
		r2 = parse_ok(s1);
		assert_int_equal(vg_rules_finish(r2, err, sizeof(err)), 0);
		s2 = vg_rules_serialize(r2);
		assert_non_null(s2);
		assert_string_equal(s1, s2);
		/* And the rules themselves are the same. */
		assert_int_equal(r2->nroots, r->nroots);
		assert_int_equal(r2->nrules, r->nrules);
		assert_int_equal(r2->ignore, r->ignore);
		assert_int_equal(r2->hash, r->hash);
		assert_true(r2->max_hash_size == r->max_hash_size);
		assert_int_equal(r2->max_depth, r->max_depth);
		assert_int_equal(r2->one_fs, r->one_fs);
		assert_int_equal(r2->follow_symlinks, r->follow_symlinks);
		assert_int_equal(r2->skip_pseudo_fs, r->skip_pseudo_fs);
		assert_int_equal(r2->allow_weak_hash, r->allow_weak_hash);
		free(s1);
		free(s2);
		vg_rules_free(r);
		vg_rules_free(r2);
	}
}

static void
test_serialize_blank_edges(void **state)
{
	struct vg_rules *r, *r2;
	char err[512] = "";
	char *s;

	(void)state;
	/* A folder name may end in a blank; its root must read back. */
	assert_int_equal(vg_rules_new(&r), 0);
	assert_int_equal(vg_rules_add_root(r, "/srv/x ", err, sizeof(err)),
	    0);
	assert_int_equal(vg_rules_add_root(r, "/srv/tab\t/", err,
	    sizeof(err)), 0);
	assert_int_equal(vg_rules_finish(r, err, sizeof(err)), 0);
	assert_string_equal(r->roots[0], "/srv/tab\t");
	assert_string_equal(r->roots[1], "/srv/x ");
	s = vg_rules_serialize(r);
	assert_non_null(s);
	assert_non_null(strstr(s, "root /srv/x /\n"));
	r2 = parse_ok(s);
	assert_int_equal(r2->nroots, 2);
	assert_string_equal(r2->roots[0], "/srv/tab\t");
	assert_string_equal(r2->roots[1], "/srv/x ");
	free(s);
	vg_rules_free(r2);

	/* A pattern with blanks at either end could not be written to a
	 * rules file (values are trimmed): refused. */
	assert_int_equal(vg_rules_add_rule(r, 0, 0, "*.tmp ", err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "white space"));
	assert_int_equal(vg_rules_add_rule(r, 1, 1, " ^/x$", err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_int_equal(r->nrules, 0);
	/* Inside, or before a final '/', blanks are fine. */
	assert_int_equal(vg_rules_add_rule(r, 0, 0, "a b", err, sizeof(err)),
	    0);
	vg_rules_free(r);
	r = parse_ok("exclude old /\n");
	assert_string_equal(r->rules[0].pattern, "old ");
	assert_int_equal(r->rules[0].dir_only, 1);
	s = vg_rules_serialize(r);
	assert_non_null(strstr(s, "exclude old /\n"));
	free(s);
	vg_rules_free(r);
}

static void
test_load_file(void **state)
{
	char dir[] = "/tmp/vg-rules-XXXXXX", path[64], err[512] = "";
	struct vg_rules *r;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/scan.rules", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("root /etc\nbogus x\n", f);
	fclose(f);
	assert_int_equal(vg_rules_new(&r), 0);
	assert_int_equal(vg_rules_load_file(r, path, err, sizeof(err)),
	    VG_ERR_INVAL);
	/* Messages name the file and the line. */
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ":2: "));
	vg_rules_free(r);
	unlink(path);
	assert_int_equal(vg_rules_new(&r), 0);
	assert_int_equal(vg_rules_load_file(r, path, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
	vg_rules_free(r);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob_table),
		cmocka_unit_test(test_glob_pathological_is_fast),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_parse_every_directive),
		cmocka_unit_test(test_parse_crlf),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_line_lengths),
		cmocka_unit_test(test_weak_hash_needs_permission),
		cmocka_unit_test(test_roots_normalised),
		cmocka_unit_test(test_roots_nested_dropped),
		cmocka_unit_test(test_match_last_rule_wins),
		cmocka_unit_test(test_match_basename_and_path_globs),
		cmocka_unit_test(test_match_dir_only),
		cmocka_unit_test(test_match_regex),
		cmocka_unit_test(test_match_exclude_descend),
		cmocka_unit_test(test_serialize_canonical),
		cmocka_unit_test(test_serialize_parse_serialize),
		cmocka_unit_test(test_serialize_blank_edges),
		cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
