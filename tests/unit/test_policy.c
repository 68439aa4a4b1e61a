/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of hub/policy: validation of group policy documents (the
 * message names the field), the merge of several groups' policies, and
 * the version string (stable, and independent of key and group order).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vg_err.h"

#include "policy.h"

static json_t *
parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &e);

	if (j == NULL)
		fail_msg("bad test JSON %s: %s", text, e.text);
	return j;
}

static void
check_valid(const char *text)
{
	json_t *doc = parse(text);
	char err[256] = "";

	if (hub_policy_validate(doc, err, sizeof(err)) != 0)
		fail_msg("%s rejected: %s", text, err);
	json_decref(doc);
}

static void
check_invalid(const char *text, const char *want)
{
	json_t *doc = parse(text);
	char err[256] = "";

	assert_int_equal(hub_policy_validate(doc, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_string_equal(err, want);
	json_decref(doc);
}

/* Refused with a message that starts with want (the rest is the key or
 * path check's own, proxy/winpath.c). */
static void
check_invalid_prefix(const char *text, const char *want)
{
	json_t *doc = parse(text);
	char err[512] = "";

	assert_int_equal(hub_policy_validate(doc, err, sizeof(err)),
	    VG_ERR_INVAL);
	if (strncmp(err, want, strlen(want)) != 0 || strlen(err) <=
	    strlen(want))
		fail_msg("%s: got \"%s\", wanted \"%s...\"", text, err, want);
	json_decref(doc);
}

static void
test_validate_accepts(void **state)
{
	(void)state;
	check_valid("{}");
	check_valid("{\"paths\":[\"/etc\",\"/usr/bin\"],"
	    "\"include\":[\"*.conf\"],\"exclude\":[\"/etc/mtab\",\"*.swp\"],"
	    "\"hash\":\"sha256\",\"realtime\":true,"
	    "\"content\":[\"/etc/ssh/sshd_config\"],"
	    "\"schedule\":3600,\"max_hash_size\":\"1G\"}");
	check_valid("{\"hash\":\"sha384\",\"realtime\":false}");
	check_valid("{\"hash\":\"sha512\"}");
	check_valid("{\"schedule\":60}");
	check_valid("{\"schedule\":604800}");
	check_valid("{\"max_hash_size\":0}");
	check_valid("{\"max_hash_size\":1048576}");
	check_valid("{\"max_hash_size\":\"512M\"}");
	check_valid("{\"paths\":[]}");
	check_valid("{\"paths\":[\"C:\\\\Windows\\\\System32\"]}");
	check_valid("{\"system\":[\"packages\",\"services\",\"users\","
	    "\"groups\",\"ports\",\"sysctl\"]}");
	check_valid("{\"system\":[],\"commands\":[]}");
	check_valid("{\"commands\":[\"/usr/sbin/iptables-save\","
	    "\"/usr/bin/ls -la '/etc/cron.d'\",\"/bin/date\",\"/bin/date\"]}");
	/* Windows devices' fields. */
	check_valid("{\"registry\":[\"HKLM\\\\SOFTWARE\\\\Test\","
	    "\"HKEY_USERS\\\\.DEFAULT\",\"hku\",\"HKEY_LOCAL_MACHINE\"],"
	    "\"registry_depth\":0,"
	    "\"windows_files\":[\"C:\\\\Windows\\\\win.ini\",\"D:\\\\\"],"
	    "\"windows_include\":[\"*\\\\Run*\",\"HKLM\\\\*\"],"
	    "\"windows_exclude\":[\"*.tmp\"]}");
	check_valid("{\"registry_depth\":64,\"registry\":[],"
	    "\"windows_files\":[],\"windows_include\":[],"
	    "\"windows_exclude\":[]}");
}

/* field with one entry "/aaa...": max bytes pass, one more is want. */
static void
check_length_cap(const char *field, size_t max, const char *want)
{
	char *big = malloc(max + 2);
	json_t *doc;
	char err[256];

	assert_non_null(big);
	big[0] = '/';
	memset(big + 1, 'a', max);
	big[max + 1] = '\0';
	doc = json_pack("{s:[s]}", field, big);
	assert_int_equal(hub_policy_validate(doc, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_string_equal(err, want);
	json_decref(doc);
	big[max] = '\0';
	doc = json_pack("{s:[s]}", field, big);
	assert_int_equal(hub_policy_validate(doc, err, sizeof(err)), 0);
	json_decref(doc);
	free(big);
}

/* field with max copies of entry passes, one more is want. */
static void
check_count_cap(const char *field, const char *entry, size_t max,
    const char *want)
{
	json_t *doc = json_object(), *arr = json_array();
	char err[256];
	size_t i;

	assert_non_null(doc);
	assert_non_null(arr);
	for (i = 0; i < max; i++)
		assert_int_equal(json_array_append_new(arr,
		    json_string(entry)), 0);
	assert_int_equal(json_object_set(doc, field, arr), 0);
	assert_int_equal(hub_policy_validate(doc, err, sizeof(err)), 0);
	assert_int_equal(json_array_append_new(arr, json_string(entry)), 0);
	assert_int_equal(hub_policy_validate(doc, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_string_equal(err, want);
	json_decref(arr);
	json_decref(doc);
}

static void
test_validate_rejects(void **state)
{
	(void)state;
	check_invalid("[]", "policy: must be a JSON object");
	check_invalid("{\"path\":[\"/etc\"]}", "unknown field \"path\"");
	check_invalid("{\"groups\":[1]}", "unknown field \"groups\"");
	check_invalid("{\"paths\":\"/etc\"}",
	    "paths: must be an array of strings");
	check_invalid("{\"paths\":[\"/etc\",3]}",
	    "paths[1]: must be a string");
	check_invalid("{\"paths\":[\"etc\"]}",
	    "paths[0]: must be an absolute path");
	check_invalid("{\"content\":[\"/a\",\"relative/b\"]}",
	    "content[1]: must be an absolute path");
	check_invalid("{\"include\":[\"\"]}", "include[0]: must not be empty");
	check_invalid("{\"exclude\":[\"a\\u0000b\"]}",
	    "exclude[0]: contains a NUL byte");
	/* Patterns need not be absolute. */
	check_valid("{\"include\":[\"*.conf\"],\"exclude\":[\"tmp\"]}");
	check_invalid("{\"hash\":\"sha1\"}",
	    "hash: sha1 is weak; use sha256, sha384 or sha512");
	check_invalid("{\"hash\":\"md5\"}",
	    "hash: md5 is weak; use sha256, sha384 or sha512");
	check_invalid("{\"hash\":\"crc32\"}",
	    "hash: must be one of sha256, sha384, sha512");
	check_invalid("{\"hash\":256}",
	    "hash: must be one of sha256, sha384, sha512");
	check_invalid("{\"realtime\":1}", "realtime: must be true or false");
	check_invalid("{\"realtime\":\"yes\"}",
	    "realtime: must be true or false");
	check_invalid("{\"schedule\":59}",
	    "schedule: must be an integer from 60 to 604800 (seconds)");
	check_invalid("{\"schedule\":604801}",
	    "schedule: must be an integer from 60 to 604800 (seconds)");
	check_invalid("{\"schedule\":3600.0}",
	    "schedule: must be an integer from 60 to 604800 (seconds)");
	check_invalid("{\"schedule\":\"3600\"}",
	    "schedule: must be an integer from 60 to 604800 (seconds)");
	check_invalid("{\"max_hash_size\":\"1X\"}", "max_hash_size: must be "
	    "a size such as \"512M\" or \"1G\", or a number of bytes");
	check_invalid("{\"max_hash_size\":-1}", "max_hash_size: must be "
	    "a size such as \"512M\" or \"1G\", or a number of bytes");
	check_invalid("{\"max_hash_size\":true}", "max_hash_size: must be "
	    "a size such as \"512M\" or \"1G\", or a number of bytes");
	check_invalid("{\"system\":\"packages\"}",
	    "system: must be an array of strings");
	check_invalid("{\"system\":[\"ports\",7]}",
	    "system[1]: must be a string");
	check_invalid("{\"system\":[\"ports\",\"users\",\"foo\"]}",
	    "system[2]: \"foo\" is not a collector (packages, services, "
	    "users, groups, ports, sysctl)");
	check_invalid("{\"system\":[\"Packages\"]}",
	    "system[0]: \"Packages\" is not a collector (packages, services, "
	    "users, groups, ports, sysctl)");
	check_invalid("{\"system\":[\"commands\"]}",
	    "system[0]: \"commands\" is not a collector (packages, services, "
	    "users, groups, ports, sysctl)");
	check_invalid("{\"system\":[\"ports\",\"users\",\"ports\"]}",
	    "system[2]: \"ports\" is already in system[0]");
	check_invalid("{\"system\":[\"\"]}", "system[0]: must not be empty");
	check_invalid("{\"commands\":\"/bin/date\"}",
	    "commands: must be an array of strings");
	check_invalid("{\"commands\":[\"/bin/date\",null]}",
	    "commands[1]: must be a string");
	check_invalid("{\"commands\":[\"\"]}",
	    "commands[0]: must not be empty");
	check_invalid("{\"commands\":[\"/bin/date\",\"iptables -L\"]}",
	    "commands[1]: must start with an absolute path");
	check_invalid("{\"commands\":[\" /bin/date\"]}",
	    "commands[0]: must start with an absolute path");
	/* Commands run on Linux agents: no drive letters. */
	check_invalid("{\"commands\":[\"C:/Windows/ipconfig.exe\"]}",
	    "commands[0]: must start with an absolute path");
	check_invalid("{\"commands\":[\"/bin/a\\u0000b\"]}",
	    "commands[0]: contains a NUL byte");
	check_invalid("{\"commands\":[\"/bin/true\",\"/bin/date\\n/bin/sh\"]}",
	    "commands[1]: contains a control character (0x0a at byte 9)");
	check_invalid("{\"commands\":[\"/bin/echo\\ta\"]}",
	    "commands[0]: contains a control character (0x09 at byte 9)");
	check_invalid("{\"commands\":[\"/bin/echo \\u007f\"]}",
	    "commands[0]: contains a control character (0x7f at byte 10)");
	check_invalid("{\"commands\":[\"/bin/echo \\u001b[2J\"]}",
	    "commands[0]: contains a control character (0x1b at byte 10)");
	/* UTF-8 is not a control character. */
	check_valid("{\"commands\":[\"/bin/echo h\u00e9\"]}");
	check_invalid("{\"max_hash_size\":\"99999999999T\"}", "max_hash_size: "
	    "must be a size such as \"512M\" or \"1G\", or a number of "
	    "bytes");

	/* Windows devices' fields: the entry named, the key or path check
	 * saying what is wrong. */
	check_invalid("{\"registry_depth\":65}",
	    "registry_depth: must be an integer from 0 to 64 (levels)");
	check_invalid("{\"registry_depth\":-1}",
	    "registry_depth: must be an integer from 0 to 64 (levels)");
	check_invalid("{\"registry_depth\":\"8\"}",
	    "registry_depth: must be an integer from 0 to 64 (levels)");
	check_invalid("{\"registry_depth\":8.0}",
	    "registry_depth: must be an integer from 0 to 64 (levels)");
	check_invalid("{\"registry\":\"HKLM\"}",
	    "registry: must be an array of strings");
	check_invalid("{\"registry\":[\"HKLM\",1]}",
	    "registry[1]: must be a string");
	check_invalid("{\"registry\":[\"\"]}",
	    "registry[0]: must not be empty");
	check_invalid_prefix("{\"registry\":[\"HKLM\",\"HKCU\\\\Software\"]}",
	    "registry[1]: ");
	check_invalid_prefix("{\"registry\":[\"HKLM\\\\\\\\SOFTWARE\"]}",
	    "registry[0]: ");
	check_invalid_prefix("{\"registry\":[\"HKLM\\\\SOFTWARE\\\\\"]}",
	    "registry[0]: ");
	check_invalid_prefix("{\"registry\":[\"/etc\"]}", "registry[0]: ");
	check_invalid_prefix("{\"registry\":[\"HKLM\\\\a\\u0001b\"]}",
	    "registry[0]: ");
	check_invalid_prefix("{\"windows_files\":[\"C:\\\\a\","
	    "\"/etc/passwd\"]}", "windows_files[1]: ");
	check_invalid_prefix("{\"windows_files\":[\"C:\\\\a\\\\..\\\\b\"]}",
	    "windows_files[0]: ");
	check_invalid_prefix("{\"windows_files\":[\"C:/Windows\"]}",
	    "windows_files[0]: ");
	check_invalid_prefix("{\"windows_files\":[\"Windows\\\\win.ini\"]}",
	    "windows_files[0]: ");
	check_invalid("{\"windows_files\":[\"\"]}",
	    "windows_files[0]: must not be empty");
	check_invalid("{\"windows_include\":[\"*\\\\Run\\u0007\"]}",
	    "windows_include[0]: contains a control character (0x07 at byte "
	    "5)");
	check_invalid("{\"windows_exclude\":[\"a\",\"b\\u007f\"]}",
	    "windows_exclude[1]: contains a control character (0x7f at byte "
	    "1)");
	check_invalid("{\"windows_exclude\":[\"\"]}",
	    "windows_exclude[0]: must not be empty");
	check_invalid("{\"windows_include\":[\"a\\u0000b\"]}",
	    "windows_include[0]: contains a NUL byte");
	check_invalid("{\"windows_exclude\":\"*.tmp\"}",
	    "windows_exclude: must be an array of strings");

	/* The caps: 4096 bytes a string, 1000 entries a list; commands
	 * 1024 bytes and 100 lines. */
	check_length_cap("paths", HUB_POLICY_MAX_STRING,
	    "paths[0]: longer than 4096 bytes");
	check_count_cap("exclude", "x", HUB_POLICY_MAX_ENTRIES,
	    "exclude: more than 1000 entries");
	check_length_cap("commands", HUB_POLICY_MAX_COMMAND,
	    "commands[0]: longer than 1024 bytes");
	check_count_cap("commands", "/bin/date", HUB_POLICY_MAX_COMMANDS,
	    "commands: more than 100 entries");
	check_length_cap("windows_include", HUB_POLICY_MAX_STRING,
	    "windows_include[0]: longer than 4096 bytes");
	check_count_cap("registry", "HKLM\\SOFTWARE", HUB_POLICY_MAX_ENTRIES,
	    "registry: more than 1000 entries");
	check_count_cap("windows_files", "C:\\x", HUB_POLICY_MAX_ENTRIES,
	    "windows_files: more than 1000 entries");
	check_count_cap("windows_exclude", "*", HUB_POLICY_MAX_ENTRIES,
	    "windows_exclude: more than 1000 entries");
}

/* Merges the policies given as a JSON array of {"group_id","policy"}. */
static json_t *
merge(const char *list_text)
{
	json_t *list = parse(list_text), *out = NULL;
	char err[256] = "";

	if (hub_policy_merge(list, &out, err, sizeof(err)) != 0)
		fail_msg("merge failed: %s", err);
	json_decref(list);
	return out;
}

static void
check_merge(const char *list_text, const char *want)
{
	json_t *got = merge(list_text);
	char *text = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);

	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
	json_decref(got);
}

static void
test_merge_rules(void **state)
{
	(void)state;
	/* No group, or groups without a policy: {}. */
	check_merge("[]", "{}");
	check_merge("[{\"group_id\":3,\"group\":\"a\",\"version\":0,"
	    "\"policy\":{}}]", "{}");
	check_merge("[{\"group_id\":3,\"policy\":null}]", "{}");

	/* One group: itself, with its id. */
	check_merge("[{\"group_id\":7,\"policy\":{\"paths\":[\"/usr\","
	    "\"/etc\",\"/etc\"],\"hash\":\"sha384\"}}]",
	    "{\"groups\":[7],\"hash\":\"sha384\",\"paths\":[\"/etc\","
	    "\"/usr\"]}");

	/* Lists: sorted union; hash: strongest; realtime: any; schedule:
	 * smallest; max_hash_size: largest, in bytes. */
	check_merge("[{\"group_id\":2,\"policy\":{\"paths\":[\"/etc\","
	    "\"/usr/bin\"],\"include\":[\"*.conf\"],\"exclude\":[\"*.swp\"],"
	    "\"hash\":\"sha512\",\"realtime\":false,\"schedule\":3600,"
	    "\"max_hash_size\":\"512M\",\"content\":[\"/etc/hosts\"]}},"
	    "{\"group_id\":1,\"policy\":{\"paths\":[\"/etc\",\"/boot\"],"
	    "\"exclude\":[\"/etc/mtab\",\"*.swp\"],\"hash\":\"sha256\","
	    "\"realtime\":true,\"schedule\":600,\"max_hash_size\":\"1G\"}},"
	    "{\"group_id\":5,\"policy\":{}}]",
	    "{\"content\":[\"/etc/hosts\"],\"exclude\":[\"*.swp\","
	    "\"/etc/mtab\"],\"groups\":[1,2],\"hash\":\"sha512\","
	    "\"include\":[\"*.conf\"],\"max_hash_size\":1073741824,"
	    "\"paths\":[\"/boot\",\"/etc\",\"/usr/bin\"],\"realtime\":true,"
	    "\"schedule\":600}");

	/* realtime false everywhere stays false; a field no group sets
	 * stays absent. */
	check_merge("[{\"group_id\":1,\"policy\":{\"realtime\":false}},"
	    "{\"group_id\":2,\"policy\":{\"schedule\":120}}]",
	    "{\"groups\":[1,2],\"realtime\":false,\"schedule\":120}");
	check_merge("[{\"group_id\":1,\"policy\":{\"max_hash_size\":10}},"
	    "{\"group_id\":2,\"policy\":{\"max_hash_size\":\"1K\"}}]",
	    "{\"groups\":[1,2],\"max_hash_size\":1024}");

	/* system and commands: sorted union without duplicates, like
	 * paths; a group with only these counts. */
	check_merge("[{\"group_id\":4,\"policy\":{\"system\":[\"users\","
	    "\"packages\"],\"commands\":[\"/usr/sbin/nft list ruleset\","
	    "\"/bin/date\",\"/bin/date\"]}},"
	    "{\"group_id\":3,\"policy\":{\"system\":[\"sysctl\",\"users\"],"
	    "\"commands\":[\"/usr/sbin/iptables-save\","
	    "\"/usr/sbin/nft list ruleset\"]}},"
	    "{\"group_id\":9,\"policy\":{\"paths\":[\"/etc\"]}}]",
	    "{\"commands\":[\"/bin/date\",\"/usr/sbin/iptables-save\","
	    "\"/usr/sbin/nft list ruleset\"],\"groups\":[3,4,9],"
	    "\"paths\":[\"/etc\"],\"system\":[\"packages\",\"sysctl\","
	    "\"users\"]}");
	check_merge("[{\"group_id\":1,\"policy\":{\"system\":[]}},"
	    "{\"group_id\":2,\"policy\":{\"commands\":[\"/bin/date\"]}}]",
	    "{\"commands\":[\"/bin/date\"],\"groups\":[1,2],"
	    "\"system\":[]}");

	/* Windows devices' fields: lists a sorted union, registry_depth the
	 * largest; 0 is a depth like any other. */
	check_merge("[{\"group_id\":2,\"policy\":{\"registry\":"
	    "[\"HKLM\\\\SOFTWARE\\\\B\",\"HKLM\\\\SOFTWARE\\\\A\"],"
	    "\"registry_depth\":3,\"windows_files\":[\"C:\\\\b\"],"
	    "\"windows_include\":[\"*\\\\Run*\"]}},"
	    "{\"group_id\":1,\"policy\":{\"registry\":"
	    "[\"HKLM\\\\SOFTWARE\\\\A\",\"HKU\\\\S-1-5-18\"],"
	    "\"registry_depth\":10,\"windows_files\":[\"C:\\\\a\",\"C:\\\\b\"],"
	    "\"windows_exclude\":[\"*.log\"]}},"
	    "{\"group_id\":3,\"policy\":{\"registry_depth\":0}}]",
	    "{\"groups\":[1,2,3],\"registry\":[\"HKLM\\\\SOFTWARE\\\\A\","
	    "\"HKLM\\\\SOFTWARE\\\\B\",\"HKU\\\\S-1-5-18\"],"
	    "\"registry_depth\":10,\"windows_exclude\":[\"*.log\"],"
	    "\"windows_files\":[\"C:\\\\a\",\"C:\\\\b\"],"
	    "\"windows_include\":[\"*\\\\Run*\"]}");
	check_merge("[{\"group_id\":4,\"policy\":{\"registry_depth\":0}},"
	    "{\"group_id\":5,\"policy\":{\"paths\":[\"/etc\"]}}]",
	    "{\"groups\":[4,5],\"paths\":[\"/etc\"],\"registry_depth\":0}");
}

static void
test_merge_rejects_invalid(void **state)
{
	json_t *list = parse("[{\"group_id\":4,\"policy\":{\"hash\":"
	    "\"md5\"}}]"), *out = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(hub_policy_merge(list, &out, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_null(out);
	assert_string_equal(err, "policy of group 4: hash: md5 is weak; use "
	    "sha256, sha384 or sha512");
	json_decref(list);

	list = parse("[{\"group_id\":1,\"policy\":{}},{\"group_id\":6,"
	    "\"policy\":{\"system\":[\"kernel\"]}}]");
	assert_int_equal(hub_policy_merge(list, &out, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_null(out);
	assert_string_equal(err, "policy of group 6: system[0]: \"kernel\" "
	    "is not a collector (packages, services, users, groups, ports, "
	    "sysctl)");
	json_decref(list);
}

static void
version_of(const char *list_text, char version[HUB_POLICY_VERSION_LEN])
{
	json_t *m = merge(list_text);

	assert_int_equal(hub_policy_version(m, version), 0);
	json_decref(m);
}

static void
test_version(void **state)
{
	char a[HUB_POLICY_VERSION_LEN], b[HUB_POLICY_VERSION_LEN];
	json_t *empty = json_object();

	(void)state;
	/* SHA-256 of "{}". */
	assert_int_equal(hub_policy_version(empty, a), 0);
	assert_string_equal(a, "44136fa355b3678a1146ad16f7e8649e"
	    "94fb4fc21fe77e8310c060f61caaff8a");
	json_decref(empty);

	/* Key order and group order do not matter... */
	version_of("[{\"group_id\":1,\"policy\":{\"paths\":[\"/etc\"],"
	    "\"hash\":\"sha256\"}},{\"group_id\":2,\"policy\":{\"paths\":"
	    "[\"/usr\"],\"schedule\":600}}]", a);
	version_of("[{\"group_id\":2,\"policy\":{\"schedule\":600,\"paths\":"
	    "[\"/usr\"]}},{\"group_id\":1,\"policy\":{\"hash\":\"sha256\","
	    "\"paths\":[\"/etc\"]}}]", b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);

	/* ...nor the spelling of a size, but every real change does. */
	version_of("[{\"group_id\":1,\"policy\":{\"max_hash_size\":\"1K\"}}]",
	    a);
	version_of("[{\"group_id\":1,\"policy\":{\"max_hash_size\":1024}}]",
	    b);
	assert_string_equal(a, b);
	version_of("[{\"group_id\":1,\"policy\":{\"max_hash_size\":1025}}]",
	    b);
	assert_string_not_equal(a, b);
	version_of("[{\"group_id\":1,\"policy\":{\"paths\":[\"/etc\"]}}]", a);
	version_of("[{\"group_id\":2,\"policy\":{\"paths\":[\"/etc\"]}}]", b);
	assert_string_not_equal(a, b);

	/* The new fields count as well. */
	version_of("[{\"group_id\":1,\"policy\":{\"system\":[\"ports\"]}}]",
	    a);
	version_of("[{\"group_id\":1,\"policy\":{\"system\":[\"ports\"],"
	    "\"commands\":[\"/bin/date\"]}}]", b);
	assert_string_not_equal(a, b);

	version_of("[{\"group_id\":1,\"policy\":{\"registry_depth\":8}}]",
	    a);
	version_of("[{\"group_id\":1,\"policy\":{\"registry_depth\":9}}]",
	    b);
	assert_string_not_equal(a, b);

	/* The version is the hash of exactly this text. */
	version_of("[{\"group_id\":1,\"policy\":{\"realtime\":true}}]", a);
	assert_string_equal(a, "998cf844b49ea4ad5ad78a086bf22737"
	    "872c7aef01acac0acfe59f234055a651");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_accepts),
		cmocka_unit_test(test_validate_rejects),
		cmocka_unit_test(test_merge_rules),
		cmocka_unit_test(test_merge_rejects_invalid),
		cmocka_unit_test(test_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
