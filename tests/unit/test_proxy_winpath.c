/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of proxy/winpath.c: the registry key and Windows file path
 * checks of policies, and the case-insensitive glob of the include and
 * exclude rules (including patterns that would take exponential time in
 * a naive backtracking matcher).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vg_err.h"
#include "windows.h"

static void
key_ok(const char *key)
{
	char err[512] = "";

	if (proxy_win_key_check(key, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", key, err);
}

/* Refused, with a message containing want. */
static void
key_bad(const char *key, const char *want)
{
	char err[512] = "";

	assert_int_equal(proxy_win_key_check(key, err, sizeof(err)),
	    VG_ERR_INVAL);
	if (strstr(err, want) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'", key, err, want);
}

static void
file_ok(const char *path)
{
	char err[512] = "";

	if (proxy_win_file_check(path, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", path, err);
}

static void
file_bad(const char *path, const char *want)
{
	char err[512] = "";

	assert_int_equal(proxy_win_file_check(path, err, sizeof(err)),
	    VG_ERR_INVAL);
	if (strstr(err, want) == NULL)
		fail_msg("'%s': message '%s' lacks '%s'", path, err, want);
}

static void
test_key_check(void **state)
{
	char *long_key, *long_name;

	(void)state;
	key_ok("HKLM");
	key_ok("HKLM\\SOFTWARE\\Test");
	key_ok("hklm\\software");
	key_ok("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet");
	key_ok("HKU\\.DEFAULT\\Control Panel");
	key_ok("HKEY_USERS\\S-1-5-18");
	key_ok("HKLM\\SOFTWARE\\a/b (x86) *?");
	key_ok("HKLM\\SOFTWARE\\Ключ");
	key_bad("", "empty");
	key_bad(NULL, "empty");
	key_bad("HKCU\\Software", "is not a registry hive");
	key_bad("HKLMX\\Software", "is not a registry hive");
	key_bad("SOFTWARE\\Test", "is not a registry hive");
	key_bad("HKLM\\", "empty key name");
	key_bad("HKLM\\SOFTWARE\\\\Test", "empty key name");
	key_bad("HKLM\\SOFTWARE\\Test\\", "empty key name");
	key_bad("HKLM\\SOFT\nWARE", "control character");
	key_bad("HKLM\\SOFT\x7fWARE", "control character");
	key_bad("HKLM\\\xff\xfe", "not valid UTF-8");

	/* 255 characters a name (not bytes), 4096 bytes in all. */
	assert_non_null(long_name = malloc(5 + 256 + 1));
	memcpy(long_name, "HKLM\\", 5);
	memset(long_name + 5, 'k', 255);
	long_name[5 + 255] = '\0';
	key_ok(long_name);
	long_name[5 + 255] = 'k';
	long_name[5 + 256] = '\0';
	key_bad(long_name, "more than 255 characters");
	free(long_name);
	assert_non_null(long_key = malloc(4098));
	memcpy(long_key, "HKLM", 4);
	for (size_t i = 4; i < 4097; i += 2) {
		long_key[i] = '\\';
		long_key[i + 1] = 'x';
	}
	long_key[4096] = '\0';
	key_ok(long_key);
	long_key[4096] = 'x';
	long_key[4097] = '\0';
	key_bad(long_key, "at most 4096");
	free(long_key);
}

static void
test_file_check(void **state)
{
	(void)state;
	file_ok("C:\\");
	file_ok("C:\\Windows\\win.ini");
	file_ok("d:\\data\\file name with spaces.txt");
	file_ok("C:\\Program Files (x86)\\App\\app.exe");
	file_ok("C:\\données\\été.txt");
	file_ok("C:\\a\\.hidden");
	file_bad("", "empty");
	file_bad("Windows\\win.ini", "not an absolute Windows path");
	file_bad("C:Windows", "not an absolute Windows path");
	file_bad("C:/Windows", "not an absolute Windows path");
	file_bad("\\\\server\\share\\x", "not an absolute Windows path");
	file_bad("1:\\x", "not an absolute Windows path");
	file_bad("C:\\Windows\\", "empty, '.' or '..'");
	file_bad("C:\\Windows\\\\x", "empty, '.' or '..'");
	file_bad("C:\\Windows\\..\\x", "empty, '.' or '..'");
	file_bad("C:\\.\\x", "empty, '.' or '..'");
	file_bad("C:\\a/b", "cannot be in a Windows file name");
	file_bad("C:\\a*", "cannot be in a Windows file name");
	file_bad("C:\\a:b", "cannot be in a Windows file name");
	file_bad("C:\\a\tb", "control character");
	file_bad("C:\\\xc3", "not valid UTF-8");
}

static void
test_glob(void **state)
{
	(void)state;
	assert_true(proxy_win_glob("*", ""));
	assert_true(proxy_win_glob("*", "HKLM\\SOFTWARE\\X"));
	assert_true(proxy_win_glob("HKLM\\*", "HKLM\\SOFTWARE\\X\\Y"));
	assert_true(proxy_win_glob("*\\run", "HKLM\\Software\\Run"));
	assert_true(proxy_win_glob("*\\RUN*", "HKLM\\Software\\RunOnce"));
	assert_false(proxy_win_glob("*\\Run", "HKLM\\Software\\RunOnce"));
	assert_true(proxy_win_glob("C:\\Windows\\*.INI", "c:\\windows\\win.ini"));
	assert_true(proxy_win_glob("*.log", "C:\\a\\b\\c.LOG"));
	assert_false(proxy_win_glob("*.log", "C:\\a\\b\\c.LOG\\d"));
	assert_true(proxy_win_glob("?:\\x", "D:\\x"));
	assert_false(proxy_win_glob("?:\\x", "DD:\\x"));
	assert_true(proxy_win_glob("*\\v?", "K\\V1"));
	assert_false(proxy_win_glob("*\\v?", "K\\V12"));
	assert_true(proxy_win_glob("*\\[abc]x", "K\\Bx"));
	assert_false(proxy_win_glob("*\\[abc]x", "K\\dx"));
	assert_true(proxy_win_glob("*\\[!abc]x", "K\\dx"));
	assert_true(proxy_win_glob("*\\[^abc]x", "K\\dx"));
	assert_false(proxy_win_glob("*\\[!abc]x", "K\\ax"));
	assert_true(proxy_win_glob("[a-c]*", "Bzz"));
	assert_false(proxy_win_glob("[a-c]*", "dzz"));
	assert_true(proxy_win_glob("[]]", "]"));
	assert_true(proxy_win_glob("[a-]", "-"));
	/* An unclosed '[' is an ordinary character. */
	assert_true(proxy_win_glob("a[b", "A[B"));
	assert_false(proxy_win_glob("a[b", "Ab"));
	/* '?' is one character, not one byte. */
	assert_true(proxy_win_glob("K\\?", "K\\Ü"));
	assert_true(proxy_win_glob("K\\?\\x", "K\\Я\\x"));
	assert_true(proxy_win_glob("*Ключ*", "HKLM\\Ключ\\V"));
	assert_true(proxy_win_glob("K\\[ÜÖ]", "K\\Ö"));
	assert_false(proxy_win_glob("K\\[ÜÖ]", "K\\Ä"));
	assert_true(proxy_win_glob("", ""));
	assert_false(proxy_win_glob("", "x"));
	assert_false(proxy_win_glob("x", ""));
	assert_false(proxy_win_glob(NULL, "x"));
	assert_false(proxy_win_glob("x", NULL));
}

/* A pattern that takes exponential time in a naive recursive matcher. */
static void
test_glob_no_blowup(void **state)
{
	char pat[200], path[200];
	size_t i;

	(void)state;
	for (i = 0; i < 40; i++) {
		pat[2 * i] = '*';
		pat[2 * i + 1] = 'a';
	}
	pat[80] = 'b';
	pat[81] = '\0';
	memset(path, 'a', 150);
	path[150] = '\0';
	assert_false(proxy_win_glob(pat, path));
	path[149] = 'b';
	assert_true(proxy_win_glob(pat, path));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_check),
		cmocka_unit_test(test_file_check),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_glob_no_blowup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
