/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of proxy/profile (the profile format, its errors, the
 * shipped profiles against the recorded prompt lists), the screen
 * cleaning of proxy/session and the filters of proxy/normalise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>

#include "normalise.h"
#include "profile.h"
#include "proxy_sim.h"
#include "session.h"
#include "vg_hash.h"

#define FIX VIGIL_FIXTURES "/"

static struct proxy_profile *
parse(const char *text)
{
	struct proxy_profile *p = NULL;
	char err[512];

	if (proxy_profile_parse(text, strlen(text), "t.profile", &p, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		fail();
	}
	return p;
}

static void
parse_fails(const char *text, const char *want_err)
{
	struct proxy_profile *p = NULL;
	char err[512] = "";

	assert_int_equal(proxy_profile_parse(text, strlen(text), "t.profile",
	    &p, err, sizeof(err)), VG_ERR_INVAL);
	assert_null(p);
	if (strstr(err, want_err) == NULL)
		fprintf(stderr, "got '%s', want '%s'\n", err, want_err);
	assert_non_null(strstr(err, want_err));
}

static void
test_every_shipped_profile_loads(void **state)
{
	struct proxy_profile *p;
	struct dirent *de;
	char path[1024], err[512];
	size_t n = 0;
	DIR *d;

	(void)state;
	assert_non_null(d = opendir(VIGIL_PROFILES));
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".profile") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", VIGIL_PROFILES,
		    de->d_name);
		if (proxy_profile_load(path, &p, err, sizeof(err)) != 0)
			fprintf(stderr, "%s\n", err);
		assert_non_null(p);
		assert_non_null(p->description);
		assert_true(p->ncommands > 0);
		assert_true(p->mode == PROXY_MODE_EXEC || p->prompt.re);
		proxy_profile_free(p);
		n++;
	}
	closedir(d);
	/* IOS/IOS-XE, NX-OS, ASA, Junos, EOS, FortiOS, PAN-OS, RouterOS,
	 * Linux. */
	assert_int_equal(n, 9);
}

static void
test_format(void **state)
{
	struct proxy_profile *p;

	(void)state;
	p = parse("\xef\xbb\xbf# a comment\n\n  mode shell  \r\n"
	    "prompt ^R\\d+[#>]\\s?$\nnewline \\r\\n\n"
	    "setup terminal length 0\nsetup terminal width 0\n"
	    "command show run\ncommand_volatile show clock\n"
	    "pager \\s --More--\npager a \\(Press 'a' to accept\\):\n"
	    "mask <n> ^ntp clock-period (\\d+)\nsort_begin ^ntp\n"
	    "sort_end ^!\nmin_lines 3\nstep_timeout 60\n");
	assert_string_equal(p->name, "t");
	assert_int_equal(p->mode, PROXY_MODE_SHELL);
	assert_string_equal(p->newline, "\r\n");
	assert_int_equal(p->nsetup, 2);
	assert_string_equal(p->setup[1], "terminal width 0");
	assert_int_equal(p->ncommands, 2);
	assert_false(p->commands[0].is_volatile);
	assert_true(p->commands[1].is_volatile);
	assert_int_equal(p->npagers, 2);
	assert_int_equal(p->pagers[0].answer_len, 1);
	assert_string_equal(p->pagers[0].answer, " ");
	assert_string_equal(p->pagers[1].answer, "a");
	assert_string_equal(p->pagers[1].re.src, "\\(Press 'a' to accept\\):");
	assert_string_equal(p->masks[0].replacement, "<n>");
	assert_int_equal(p->nsorts, 1);
	assert_int_equal(p->min_lines, 3);
	assert_int_equal(p->step_timeout_s, 60);
	/* Built-in login patterns. */
	assert_true(proxy_regex_match(p, &p->username_prompt, "Username: ", 10,
	    NULL, NULL));
	assert_true(proxy_regex_match(p, &p->username_prompt, "User:", 5,
	    NULL, NULL));
	assert_true(proxy_regex_match(p, &p->password_prompt, "Passwort: ",
	    10, NULL, NULL));
	assert_false(proxy_regex_match(p, &p->password_prompt,
	    "password encryption aes", 23, NULL, NULL));
	proxy_profile_free(p);

	p = parse("name my-box\nmode exec\ncommand /export\n");
	assert_string_equal(p->name, "my-box");
	assert_string_equal(p->newline, "\n");
	proxy_profile_free(p);
}

/* Each mistake names the file, the line and the key. */
static void
test_errors(void **state)
{
	(void)state;
	parse_fails("command x\nprompt ([\n",
	    "t.profile:2: prompt: bad regular expression: missing "
	    "terminating ] for character class at offset 2");
	parse_fails("prompt x\nprompt y\ncommand x\n",
	    "t.profile:2: prompt: already set on line 1");
	parse_fails("command x\nprompt x\nfrobnicate 1\n",
	    "t.profile:3: frobnicate: unknown key");
	parse_fails("mode telnet\n", "t.profile:1: mode: expected shell or "
	    "exec, not 'telnet'");
	parse_fails("newline \\n\\n\n", "t.profile:1: newline: expected");
	parse_fails("pager \\q --More--\n", "t.profile:1: pager: bad escape");
	parse_fails("pager --More--\n", "t.profile:1: pager: expected a word");
	parse_fails("sort_end ^!\n", "t.profile:1: sort_end: expected a "
	    "sort_begin before");
	parse_fails("command x\nprompt x\nsort_begin ^a\n",
	    "t.profile:3: sort_begin: has no sort_end");
	parse_fails("prompt x\n", "command: a profile needs at least one "
	    "command");
	parse_fails("command x\n", "prompt: a shell-mode profile needs a "
	    "prompt");
	parse_fails("command x\nprompt x\nenable_command enable\n",
	    "enable_prompt: enable_command needs an enable_prompt");
	parse_fails("min_lines many\n", "t.profile:1: min_lines: expected a "
	    "whole number");
	parse_fails("step_timeout 0\n", "t.profile:1: step_timeout: expected "
	    "seconds");
	parse_fails("command a\x01\n", "t.profile:1: profile: control "
	    "character");
	parse_fails("command \xff\n", "t.profile:1: profile: not valid UTF-8");
	parse_fails("name ../x\n", "t.profile:1: name: expected letters");
}

static void
test_load_named(void **state)
{
	struct proxy_profile *p;
	char err[512];

	(void)state;
	assert_int_equal(proxy_profile_load_named(VIGIL_PROFILES, "../x", &p,
	    err, sizeof(err)), VG_ERR_INVAL);
	assert_int_equal(proxy_profile_load_named(VIGIL_PROFILES, "nosuch",
	    &p, err, sizeof(err)), VG_ERR_NOTFOUND);
	assert_non_null(strstr(err, "nosuch.profile"));
	assert_int_equal(proxy_profile_load_named(VIGIL_PROFILES, "ios", &p,
	    err, sizeof(err)), 0);
	assert_string_equal(p->name, "ios");
	proxy_profile_free(p);
}

/* The line a prompt shows on the screen after cleaning. */
static void
screen_line(const char *raw, char *out, size_t cap)
{
	struct proxy_screen *s = proxy_screen_new(4096);
	const char *l;
	size_t n;

	assert_int_equal(proxy_screen_feed(s, raw, strlen(raw)), 0);
	l = proxy_screen_line(s, &n);
	assert_true(n < cap);
	memcpy(out, l, n);
	out[n] = '\0';
	proxy_screen_free(s);
}

/* Every "pass" prompt of the recordings matches the profile's prompt
 * once cleaned; no "fail" line does. */
static void
check_prompts(const char *profile, const char *model)
{
	struct proxy_profile *p;
	char path[512], err[512], line[512], **l;
	size_t i, n;

	assert_int_equal(proxy_profile_load_named(VIGIL_PROFILES, profile, &p,
	    err, sizeof(err)), 0);
	snprintf(path, sizeof(path), FIX "%s#generic#prompt.yaml", model);
	n = sim_yaml_list(path, "pass", &l);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		screen_line(l[i], line, sizeof(line));
		if (proxy_regex_match(p, &p->prompt, line, strlen(line), NULL,
		    NULL) != 1)
			fprintf(stderr, "%s: '%s' not a prompt\n", profile,
			    line);
		assert_int_equal(proxy_regex_match(p, &p->prompt, line,
		    strlen(line), NULL, NULL), 1);
	}
	sim_list_free(l, n);
	n = sim_yaml_list(path, "fail", &l);
	for (i = 0; i < n; i++) {
		screen_line(l[i], line, sizeof(line));
		assert_int_equal(proxy_regex_match(p, &p->prompt, line,
		    strlen(line), NULL, NULL), 0);
	}
	sim_list_free(l, n);
	proxy_profile_free(p);
}

static void
test_recorded_prompts(void **state)
{
	(void)state;
	check_prompts("ios", "ios");
	check_prompts("asa", "asa");
	check_prompts("fortios", "fortios");
	check_prompts("linux", "linuxgeneric");
}

static void
test_screen(void **state)
{
	struct proxy_screen *s = proxy_screen_new(64);
	const char *t;
	char line[256];
	size_t n;

	(void)state;
	/* Escapes cut between chunks, CR LF, erase-line, backspace. */
	assert_int_equal(proxy_screen_feed(s, "ab\033[1", 5), 0);
	assert_int_equal(proxy_screen_feed(s, ";31mc\033]0;ti", 11), 0);
	assert_int_equal(proxy_screen_feed(s, "tle\007d\r\n", 7), 0);
	assert_int_equal(proxy_screen_feed(s, "xyz\b\bQ\r\n12345\r9\033[K\n",
	    19), 0);
	t = proxy_screen_text(s, &n);
	assert_int_equal(n, strlen("abcd\nxQz\n9\n"));
	assert_memory_equal(t, "abcd\nxQz\n9\n", n);
	/* The cap. */
	assert_int_equal(proxy_screen_feed(s, "0123456789012345678901234567890"
	    "123456789012345678901234567890123\n", 65), VG_ERR_TOOBIG);
	proxy_screen_free(s);

	screen_line("\r\033[K\033[?1l\033>user@fw1:~$ ", line, sizeof(line));
	assert_string_equal(line, "user@fw1:~$ ");
	screen_line(" --More-- \b\b\b\b\b\b\b\b\b\b          \b\b\b\b\b\b\b\b"
	    "\b\bR1#", line, sizeof(line));
	assert_string_equal(line, "R1#");
}

static struct proxy_capture *
capture1(const char *cmd, const char *text)
{
	struct proxy_capture *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->out = calloc(1, sizeof(*c->out));
	assert_non_null(c->out);
	c->n = 1;
	c->out[0].command = strdup(cmd);
	c->out[0].text = strdup(text);
	c->out[0].len = strlen(text);
	return c;
}

static void
test_normalise_filters(void **state)
{
	struct proxy_profile *p;
	struct proxy_capture *c;
	struct proxy_norm n, m;
	unsigned char md[32];
	char hex[65], want[512], err[512];

	(void)state;
	p = parse("mode exec\ncommand show\ndrop ^Building\n"
	    "mask <n> ^ntp clock-period (\\d+)$\n"
	    "secret ^snmp-server community (\\S+)\n"
	    "secret \\bsecret(?: \\d)? (\\S+)\n"
	    "secret x*\n"
	    "volatile ^! Last change\n"
	    "sort_begin ^! ntp servers$\nsort_end ^!$\n"
	    "continuation \\\\$\n"
	    "end_marker ^end$\nmin_lines 4\n");
	c = capture1("show", "Building configuration...\n! Last change now\n"
	    "ntp clock-period 17179\n! ntp servers\nntp server 3\n"
	    "ntp server 1\nntp server 2\n!\nsnmp-server community s3cret RO\n"
	    "add name=a \\\n    comment=b\nend\n");
	assert_int_equal(proxy_normalise(p, c, &n, err, sizeof(err)), 0);
	assert_int_equal(vg_hash_buffer(VG_HASH_SHA256, "s3cret", 6, md), 0);
	vg_hex_encode(md, 8, hex);
	snprintf(want, sizeof(want), "=== show ===\n! Last change now\n"
	    "ntp clock-period <n>\n! ntp servers\nntp server 1\nntp server 2\n"
	    "ntp server 3\n!\nsnmp-server community <secret sha256:%s> RO\n"
	    "add name=a comment=b\nend\n", hex);
	assert_string_equal(n.text, want);
	/* The volatile line is not significant. */
	assert_null(strstr(n.significant, "Last change"));
	assert_non_null(strstr(n.significant, "ntp server 3"));
	assert_int_equal(n.lines, 10);
	proxy_capture_free(c);

	/* A changed volatile line or clock-period is no change; a changed
	 * secret is. */
	c = capture1("show", "! Last change later\nntp clock-period 1\n"
	    "! ntp servers\nntp server 2\nntp server 1\nntp server 3\n!\n"
	    "snmp-server community s3cret RO\nadd name=a comment=b\nend\n");
	assert_int_equal(proxy_normalise(p, c, &m, err, sizeof(err)), 0);
	assert_false(proxy_norm_changed(&n, &m));
	proxy_norm_free(&m);
	proxy_capture_free(c);
	c = capture1("show", "! Last change now\nntp clock-period 1\n"
	    "! ntp servers\nntp server 2\nntp server 1\nntp server 3\n!\n"
	    "snmp-server community other RO\nadd name=a comment=b\nend\n");
	assert_int_equal(proxy_normalise(p, c, &m, err, sizeof(err)), 0);
	assert_true(proxy_norm_changed(&n, &m));
	{
		struct vg_diff_result d;
		struct vg_diff_opts o;

		vg_diff_opts_default(&o);
		assert_int_equal(proxy_norm_diff(&n, &m, &o, &d), 0);
		assert_int_equal(d.added, 1);
		assert_int_equal(d.removed, 1);
		assert_null(strstr(d.text, "other"));
		vg_diff_result_free(&d);
	}
	proxy_norm_free(&m);
	proxy_capture_free(c);

	/* Truncated: no end marker; too few lines. */
	c = capture1("show", "ntp server 1\nntp server 2\nntp server 3\n"
	    "ntp server 4\n");
	assert_int_equal(proxy_normalise(p, c, &m, err, sizeof(err)),
	    VG_ERR_INCOMPLETE);
	assert_non_null(strstr(err, "end marker '^end$'"));
	proxy_capture_free(c);
	c = capture1("show", "\n\nend\n");
	assert_int_equal(proxy_normalise(p, c, &m, err, sizeof(err)),
	    VG_ERR_INCOMPLETE);
	assert_non_null(strstr(err, "1 lines, profile t expects at least 4"));
	proxy_capture_free(c);
	proxy_norm_free(&n);
	proxy_profile_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_shipped_profile_loads),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load_named),
		cmocka_unit_test(test_recorded_prompts),
		cmocka_unit_test(test_screen),
		cmocka_unit_test(test_normalise_filters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
