/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of agent/conf.c (agent.conf) and of the generic reader in
 * core/vg_conf.c it uses: defaults, every key, the errors a person sees
 * (file, line, key, what was expected), an optional or required file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "vg_conf.h"
#include "vg_err.h"
#include "vg_log.h"

static char tmpdir[] = "/tmp/test_agent_conf.XXXXXX";
static char path[256];

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/agent.conf", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(tmpdir);
}

static void
write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Loads text as the file; returns the result, err holds the message. */
static int
load(struct agent_conf *c, const char *text, char *err, size_t errlen)
{
	write_file(text);
	assert_int_equal(agent_conf_defaults(c), 0);
	err[0] = '\0';
	return agent_conf_load(c, path, 1, err, errlen);
}

static void
test_defaults(void **state)
{
	struct agent_conf c;

	(void)state;
	assert_int_equal(agent_conf_defaults(&c), 0);
	assert_string_equal(c.hub_details, "/etc/vigil/HubDetails.xml");
	assert_string_equal(c.data_dir, "/var/lib/vigil-agent");
	assert_null(c.ca_file);
	assert_null(c.approved_commands);
	assert_int_equal(c.queue_max_events, 1000000);
	assert_int_equal(c.queue_max_bytes, 1024ULL * 1024 * 1024);
	assert_int_equal(c.poll_period, 0);
	assert_int_equal(c.scan_nice, 10);
	assert_int_equal(c.scan_idle_io, 1);
	assert_int_equal(c.scan_rate, 0);
	assert_int_equal(c.debounce_ms, 100);
	assert_int_equal(c.proxy_parallel, 16);
	assert_int_equal(c.proxy_timeout, 300);
	assert_non_null(c.profiles_dir);
	assert_non_null(strstr(c.profiles_dir, "/share/vigil/profiles"));
	assert_int_equal(c.log_level, VG_LOG_INFO);
	assert_int_equal(c.once, 0);
	agent_conf_free(&c);
	agent_conf_free(&c);   /* twice is harmless */
}

static void
test_every_key(void **state)
{
	struct agent_conf c;
	char err[512];

	(void)state;
	assert_int_equal(load(&c,
	    "\xef\xbb\xbf# a comment\n"
	    "\n"
	    "  hub_details = /srv/vigil/Hub Details.xml  \n"
	    "data_dir=/srv/agent#1\n"
	    "ca_file = /etc/ssl/hub-ca.pem\n"
	    "approved_commands = /etc/vigil/cmds\n"
	    "queue_max_events = 5000\n"
	    "queue_max_bytes = 64M\n"
	    "poll_period = 60\n"
	    "scan_nice = 19\n"
	    "scan_io = best-effort\n"
	    "scan_rate = 50M\n"
	    "realtime_debounce_ms = 250\r\n"
	    "proxy_parallel = 64\n"
	    "profiles_dir = /srv/profiles\n"
	    "proxy_timeout = 120\n"
	    "log_level = debug\n", err, sizeof(err)), 0);
	assert_string_equal(c.hub_details, "/srv/vigil/Hub Details.xml");
	assert_string_equal(c.data_dir, "/srv/agent#1");
	assert_string_equal(c.ca_file, "/etc/ssl/hub-ca.pem");
	assert_string_equal(c.approved_commands, "/etc/vigil/cmds");
	assert_int_equal(c.queue_max_events, 5000);
	assert_int_equal(c.queue_max_bytes, 64ULL * 1024 * 1024);
	assert_int_equal(c.poll_period, 60);
	assert_int_equal(c.scan_nice, 19);
	assert_int_equal(c.scan_idle_io, 0);
	assert_int_equal(c.scan_rate, 50ULL * 1024 * 1024);
	assert_int_equal(c.debounce_ms, 250);
	assert_int_equal(c.proxy_parallel, 64);
	assert_string_equal(c.profiles_dir, "/srv/profiles");
	assert_int_equal(c.proxy_timeout, 120);
	assert_int_equal(c.log_level, VG_LOG_DEBUG);
	agent_conf_free(&c);
}

static void
test_errors_name_the_place(void **state)
{
	static const struct {
		const char *text, *msg;
		int r;
	} cases[] = {
		{ "poll_period = 60\nscan_nicety = 3\n",
		  ":2: unknown setting 'scan_nicety'", VG_ERR_INVAL },
		{ "scan_nice = 20\n", ":1: scan_nice: expected a whole number "
		  "from 0 to 19, not '20'", VG_ERR_INVAL },
		{ "poll_period = 5\n", ":1: poll_period: expected a whole "
		  "number from 10 to 86400, not '5'", VG_ERR_INVAL },
		{ "queue_max_bytes = lots\n", ":1: queue_max_bytes: expected a "
		  "size", VG_ERR_INVAL },
		{ "scan_io = lazy\n", ":1: scan_io: expected idle or "
		  "best-effort, not 'lazy'", VG_ERR_INVAL },
		{ "log_level = loud\n", ":1: log_level: expected error, warn, "
		  "info or debug, not 'loud'", VG_ERR_INVAL },
		{ "data_dir = var/lib\n", ":1: data_dir: expected an absolute "
		  "path, not 'var/lib'", VG_ERR_INVAL },
		{ "data_dir =\n", ":1: data_dir: expected an absolute path",
		  VG_ERR_INVAL },
		{ "# x\nscan_nice 3\n", ":2: expected 'key = value'",
		  VG_ERR_INVAL },
		{ "scan_nice = 3\n\nscan_nice = 4\n", ":3: 'scan_nice' is "
		  "already set on line 1", VG_ERR_INVAL },
		{ "ca_file = /a\tb\n", ":1: ca_file: control character in "
		  "the value", VG_ERR_INVAL },
		{ "queue_max_events = 10\n", ":1: queue_max_events: expected "
		  "a whole number from 1000", VG_ERR_INVAL },
		{ "proxy_parallel = 257\n", ":1: proxy_parallel: expected a "
		  "whole number from 1 to 256, not '257'", VG_ERR_INVAL },
		{ "proxy_parallel = 0\n", ":1: proxy_parallel: expected a "
		  "whole number from 1 to 256", VG_ERR_INVAL },
		{ "profiles_dir = profiles\n", ":1: profiles_dir: expected an "
		  "absolute path", VG_ERR_INVAL },
	};
	struct agent_conf c;
	char err[512], want[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(load(&c, cases[i].text, err, sizeof(err)),
		    cases[i].r);
		snprintf(want, sizeof(want), "%s%s", path, cases[i].msg);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s...\"", i, err,
			    want);
		agent_conf_free(&c);
	}
}

static void
test_long_line_and_nul(void **state)
{
	struct agent_conf c;
	char err[512], *text;
	FILE *f;

	(void)state;
	text = malloc(VG_CONF_LINE_MAX + 64);
	assert_non_null(text);
	memset(text, 'x', VG_CONF_LINE_MAX + 10);
	memcpy(text, "ca_file = /", 11);
	strcpy(text + VG_CONF_LINE_MAX + 10, "\n");
	assert_int_equal(load(&c, text, err, sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, ":1: line longer than 4096 bytes"));
	agent_conf_free(&c);
	free(text);

	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite("scan_nice = 1\0\n", 1, 15, f), 15);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(agent_conf_defaults(&c), 0);
	assert_int_equal(agent_conf_load(&c, path, 1, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_non_null(strstr(err, ":1: NUL byte in the line"));
	agent_conf_free(&c);
}

static void
test_missing_file(void **state)
{
	struct agent_conf c;
	char err[512], missing[300];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/none.conf", tmpdir);
	assert_int_equal(agent_conf_defaults(&c), 0);
	assert_int_equal(agent_conf_load(&c, missing, 0, err, sizeof(err)),
	    0);
	assert_int_equal(agent_conf_load(&c, missing, 1, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
	assert_non_null(strstr(err, "none.conf: No such file"));
	/* A folder is not a configuration file. */
	assert_int_equal(agent_conf_load(&c, tmpdir, 0, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_non_null(strstr(err, "not a regular file"));
	agent_conf_free(&c);
}

static void
test_set(void **state)
{
	struct agent_conf c;
	char err[512];

	(void)state;
	assert_int_equal(agent_conf_defaults(&c), 0);
	assert_int_equal(agent_conf_set(&c, "ca_file", "/x.pem", err,
	    sizeof(err)), 0);
	assert_string_equal(c.ca_file, "/x.pem");
	/* Empty clears an optional path. */
	assert_int_equal(agent_conf_set(&c, "ca_file", "", err, sizeof(err)),
	    0);
	assert_null(c.ca_file);
	assert_int_equal(agent_conf_set(&c, "log_level", "warning", err,
	    sizeof(err)), 0);
	assert_int_equal(c.log_level, VG_LOG_WARN);
	assert_int_equal(agent_conf_set(&c, "scan_io", "idle", err,
	    sizeof(err)), 0);
	assert_int_equal(c.scan_idle_io, 1);
	assert_int_equal(agent_conf_set(&c, "scan_rate", "0", err,
	    sizeof(err)), 0);
	assert_int_equal(c.scan_rate, 0);
	assert_int_equal(agent_conf_set(&c, "once", "1", err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_string_equal(err, "unknown setting 'once'");
	agent_conf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_errors_name_the_place),
		cmocka_unit_test(test_long_line_and_nul),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_set),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
