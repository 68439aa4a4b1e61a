/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of core/vg_util: UTF-8 validation, escaping and sanitizing,
 * base64, RFC 3339 times, sizes and bounded numbers, whole and atomic
 * writes. Every case checks an exact result.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vg_err.h"
#include "vg_util.h"

/* A byte string with its length, so that NUL bytes can be part of it. */
struct bytes {
	const char *s;
	size_t len;
};
#define B(lit) { lit, sizeof(lit) - 1 }

static void
test_utf8_valid_accepts(void **state)
{
	static const struct bytes ok[] = {
		B(""), B("plain ascii"), B("a\0b"),
		B("\xc2\x80"),              /* U+0080, first 2-byte */
		B("\xdf\xbf"),              /* U+07FF, last 2-byte */
		B("\xe0\xa0\x80"),          /* U+0800, first 3-byte */
		B("\xed\x9f\xbf"),          /* U+D7FF, below surrogates */
		B("\xee\x80\x80"),          /* U+E000, above surrogates */
		B("\xef\xbf\xbf"),          /* U+FFFF */
		B("\xf0\x90\x80\x80"),      /* U+10000, first 4-byte */
		B("\xf4\x8f\xbf\xbf"),      /* U+10FFFF, the last one */
		B("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(vg_utf8_valid(ok[i].s, ok[i].len), 1);
}

static void
test_utf8_valid_rejects(void **state)
{
	static const struct bytes bad[] = {
		/* overlong forms */
		B("\xc0\x80"), B("\xc1\xbf"), B("\xe0\x80\x80"),
		B("\xe0\x9f\xbf"), B("\xf0\x80\x80\x80"), B("\xf0\x8f\xbf\xbf"),
		/* UTF-16 surrogates */
		B("\xed\xa0\x80"), B("\xed\xbf\xbf"),
		/* above U+10FFFF */
		B("\xf4\x90\x80\x80"), B("\xf5\x80\x80\x80"),
		B("\xf8\x88\x80\x80\x80"), B("\xfe"), B("\xff"),
		/* truncated sequences */
		B("\xc3"), B("\xe2\x82"), B("\xf0\x9f\x98"), B("ok\xe2"),
		/* stray or wrong continuation bytes */
		B("\x80"), B("\xbf"), B("\xc3\x28"), B("\xe2\x28\xa1"),
		B("\xf0\x9f\x28\x80"),
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vg_utf8_valid(bad[i].s, bad[i].len), 0);
	/* The length is honoured: a sequence cut by it is truncated. */
	assert_int_equal(vg_utf8_valid("\xc3\xa9", 1), 0);
	assert_int_equal(vg_utf8_valid("\xc3\xa9", 2), 1);
}

static void
check_escape(const char *in, size_t len, const char *want)
{
	char *out = vg_escape(in, len);

	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void
test_escape(void **state)
{
	(void)state;
	check_escape("", 0, "");
	check_escape("/etc/passwd", 11, "/etc/passwd");
	check_escape("a\\b", 3, "a\\\\b");
	check_escape("l1\nl2\tx\r", 8, "l1\\nl2\\tx\\r");
	check_escape("\x01\x1b[0m\x1f", 6, "\\x01\\x1b[0m\\x1f");
	check_escape("a\0b", 3, "a\\x00b");
	check_escape("del\x7f", 4, "del\\x7f");
	check_escape(" ~", 2, " ~");
	/* Valid multi-byte UTF-8 passes unchanged. */
	check_escape("caf\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80", 13,
	    "caf\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80");
	/* Every byte of invalid UTF-8 becomes \xNN. */
	check_escape("\xff\xfe", 2, "\\xff\\xfe");
	check_escape("\xc0\xaf", 2, "\\xc0\\xaf");
	check_escape("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");
	check_escape("\xe2\x82x", 3, "\\xe2\\x82x");
	check_escape("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80");
	/* A sequence cut by the length is invalid too. */
	check_escape("\xc3\xa9", 1, "\\xc3");
	/* Worst case: every byte escaped (4 bytes out per byte in). */
	check_escape("\x80\x80\x80", 3, "\\x80\\x80\\x80");
}

static void
check_sanitize(const char *in, size_t len, const char *want)
{
	char *out = vg_utf8_sanitize(in, len);

	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(vg_utf8_valid(out, strlen(out)), 1);
	free(out);
}

#define FFFD "\xef\xbf\xbd"

static void
test_utf8_sanitize(void **state)
{
	(void)state;
	check_sanitize("", 0, "");
	check_sanitize("plain", 5, "plain");
	check_sanitize("caf\xc3\xa9", 5, "caf\xc3\xa9");
	check_sanitize("a\xff" "b", 3, "a" FFFD "b");
	check_sanitize("\xe2\x82", 2, FFFD FFFD);
	check_sanitize("\xed\xa0\x80z", 4, FFFD FFFD FFFD "z");
	check_sanitize("\xc0\x80", 2, FFFD FFFD);
	/* A NUL could not survive in a C string: it is replaced too. */
	check_sanitize("a\0b", 3, "a" FFFD "b");
}

static void
test_base64_vectors(void **state)
{
	/* RFC 4648, section 10: lengths 0 to 6. */
	static const char *const plain[] = { "", "f", "fo", "foo", "foob",
		"fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v",
		"Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	unsigned char *dec;
	size_t i, n;
	char *e;

	(void)state;
	for (i = 0; i < 7; i++) {
		e = vg_base64_encode(plain[i], strlen(plain[i]));
		assert_non_null(e);
		assert_string_equal(e, enc[i]);
		free(e);
		assert_int_equal(vg_base64_decode(enc[i], strlen(enc[i]), &dec,
		    &n), 0);
		assert_non_null(dec);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(dec, plain[i], n);
		free(dec);
	}
}

static void
test_base64_round_trip_binary(void **state)
{
	static const size_t lens[] = { 0, 1, 2, 3, 4, 5, 6, 7, 259, 260 };
	unsigned char in[260], *dec;
	size_t len, n, i, k;
	char *e;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7 + 3);
	in[1] = 0;
	for (k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		len = lens[k];
		e = vg_base64_encode(in, len);
		assert_non_null(e);
		assert_int_equal(strlen(e), 4 * ((len + 2) / 3));
		assert_int_equal(vg_base64_decode(e, strlen(e), &dec, &n), 0);
		assert_int_equal(n, len);
		if (len > 0)
			assert_memory_equal(dec, in, len);
		free(dec);
		free(e);
	}
}

static void
test_base64_invalid(void **state)
{
	static const char *const bad[] = {
		"Zg=",        /* not a multiple of 4 */
		"Zg",
		"Z",
		"Zm9v!A==",   /* not in the alphabet */
		"Zm9v\nYg==", /* line breaks are not taken */
		"Zm9vYg== ",
		" Zm9vYg==",
		"Zm9v    ",   /* white space padding */
		"    Zm9v",
		"Zg=a",       /* '=' followed by data */
		"=m9v",       /* '=' as data */
		"Z===",
		"====",
		"Zg==Zg==",   /* padding in the middle */
		"Zm9-Yg==",   /* base64url is not base64 */
	};
	unsigned char *dec = (unsigned char *)"sentinel";
	size_t i, n = 99;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vg_base64_decode(bad[i], strlen(bad[i]), &dec,
		    &n), VG_ERR_INVAL);
		assert_null(dec);
		assert_int_equal(n, 0);
	}
}

static void
check_time(int64_t ns, const char *want)
{
	char buf[VG_TIME_BUFLEN];
	int64_t back = 0;

	vg_time_format(ns, buf);
	assert_string_equal(buf, want);
	assert_int_equal(vg_time_parse(buf, &back), 0);
	assert_true(back == ns);
}

static void
test_time_format_round_trip(void **state)
{
	(void)state;
	check_time(0, "1970-01-01T00:00:00.000000000Z");
	check_time(1, "1970-01-01T00:00:00.000000001Z");
	check_time(-1, "1969-12-31T23:59:59.999999999Z");
	check_time(-1000000000, "1969-12-31T23:59:59.000000000Z");
	check_time(-1500000000, "1969-12-31T23:59:58.500000000Z");
	check_time(1700000000123456789LL, "2023-11-14T22:13:20.123456789Z");
	check_time(951782400000000000LL, "2000-02-29T00:00:00.000000000Z");
	check_time(-2208988800000000000LL, "1900-01-01T00:00:00.000000000Z");
	/* The ends of the int64 range of nanoseconds. */
	check_time(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
	check_time(INT64_MIN, "1677-09-21T00:12:43.145224192Z");
}

static void
test_time_parse_fraction_digits(void **state)
{
	static const char *const in[] = {
		"2026-11-26T08:18:34Z",
		"2026-11-26T08:18:34.1Z",
		"2026-11-26T08:18:34.12Z",
		"2026-11-26T08:18:34.123Z",
		"2026-11-26T08:18:34.1234Z",
		"2026-11-26T08:18:34.12345Z",
		"2026-11-26T08:18:34.123456Z",
		"2026-11-26T08:18:34.1234567Z",
		"2026-11-26T08:18:34.12345678Z",
		"2026-11-26T08:18:34.123456789Z",
	};
	static const int64_t frac[] = { 0, 100000000, 120000000, 123000000,
		123400000, 123450000, 123456000, 123456700, 123456780,
		123456789 };
	const int64_t base = 1795681114LL * 1000000000;
	int64_t ns;
	size_t i;

	(void)state;
	for (i = 0; i < 10; i++) {
		ns = -1;
		assert_int_equal(vg_time_parse(in[i], &ns), 0);
		assert_true(ns == base + frac[i]);
	}
	/* Ten digits are more than a nanosecond. */
	assert_int_equal(vg_time_parse("2026-11-26T08:18:34.1234567891Z",
	    &ns), VG_ERR_INVAL);
	/* Before 1970 a fraction still counts forward in time. */
	assert_int_equal(vg_time_parse("1969-12-31T23:59:59.25Z", &ns), 0);
	assert_true(ns == -750000000);
}

static void
test_time_parse_rejects_junk(void **state)
{
	static const char *const bad[] = {
		"", "junk", "2026-11-26", "2026-11-26T08:18:34",
		"2026-11-26T08:18:34z", "2026-11-26 08:18:34Z",
		"2026-11-26T08:18:34Zjunk", "2026-11-26T08:18:34+00:00",
		" 2026-11-26T08:18:34Z", "2026-11-26T08:18:34Z ",
		"2026-1-26T08:18:34Z", "26-11-26T08:18:34Z",
		"+2026-11-26T08:18:34Z", "2026-11-26T8:18:34Z",
		"2026-11-26T08:18:34.Z", "2026-11-26T08:18:34.12aZ",
		"2026-11-26T08:18:34,5Z",
		/* out of range fields: refused, not normalised */
		"2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
		"2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-11-00T00:00:00Z", "2026-11-26T24:00:00Z",
		"2026-11-26T08:60:00Z", "2026-11-26T08:18:60Z",
		/* outside the int64 range of nanoseconds */
		"9999-12-31T23:59:59Z", "2262-04-11T23:47:16.854775808Z",
		"1677-09-21T00:12:43.145224191Z", "0001-01-01T00:00:00Z",
	};
	int64_t ns = 42;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vg_time_parse(bad[i], &ns), VG_ERR_INVAL);
		assert_true(ns == 42);
	}
	/* A leap day that exists is fine. */
	assert_int_equal(vg_time_parse("2024-02-29T00:00:00Z", &ns), 0);
	assert_true(ns == 1709164800LL * 1000000000);
}

static void
test_parse_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 }, { "1", 1 }, { "4096", 4096 },
		{ "1K", 1024 }, { "1k", 1024 }, { "1KB", 1024 },
		{ "1kb", 1024 }, { "1Kb", 1024 },
		{ "3M", 3ull << 20 }, { "3MB", 3ull << 20 },
		{ "5G", 5ull << 30 }, { "7T", 7ull << 40 }, { "7tb", 7ull << 40 },
		{ "0T", 0 },
		{ "16777215T", 16777215ull << 40 },
		{ "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad[] = {
		"", "K", "KB", "-1", "+1", " 1", "1 ", "1 K", "1X", "1B",
		"1KBB", "1KiB", "1.5M", "0x10", "1e3",
		"16777216T",               /* overflows after the shift */
		"18014398509481984K",
		"18446744073709551616",    /* overflows strtoull */
	};
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 12345;
		assert_int_equal(vg_parse_size(ok[i].s, &v), 0);
		assert_true(v == ok[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		assert_int_equal(vg_parse_size(bad[i], &v), VG_ERR_INVAL);
		assert_true(v == 12345);
	}
	assert_int_equal(vg_parse_size(NULL, &v), VG_ERR_INVAL);
}

static void
test_parse_long(void **state)
{
	long v = 7;

	(void)state;
	assert_int_equal(vg_parse_long("5", 0, 10, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(vg_parse_long("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vg_parse_long("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(vg_parse_long("-1", -1, 1000000, &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(vg_parse_long("9223372036854775807", LONG_MIN,
	    LONG_MAX, &v), 0);
	assert_true(v == LONG_MAX);
	assert_int_equal(vg_parse_long("-9223372036854775808", LONG_MIN,
	    LONG_MAX, &v), 0);
	assert_true(v == LONG_MIN);

	v = 7;
	assert_int_equal(vg_parse_long("11", 0, 10, &v), VG_ERR_INVAL);
	assert_int_equal(vg_parse_long("-2", -1, 10, &v), VG_ERR_INVAL);
	assert_int_equal(vg_parse_long("", 0, 10, &v), VG_ERR_INVAL);
	assert_int_equal(vg_parse_long(NULL, 0, 10, &v), VG_ERR_INVAL);
	assert_int_equal(vg_parse_long("5x", 0, 10, &v), VG_ERR_INVAL);
	assert_int_equal(vg_parse_long("x5", 0, 10, &v), VG_ERR_INVAL);
	assert_int_equal(vg_parse_long("5 ", 0, 10, &v), VG_ERR_INVAL);
	assert_int_equal(vg_parse_long("1.0", 0, 10, &v), VG_ERR_INVAL);
	assert_int_equal(vg_parse_long("9223372036854775808", LONG_MIN,
	    LONG_MAX, &v), VG_ERR_INVAL);
	assert_int_equal(vg_parse_long("-9223372036854775809", LONG_MIN,
	    LONG_MAX, &v), VG_ERR_INVAL);
	assert_int_equal(v, 7);
}

static void
test_now_monotonic(void **state)
{
	double a, b;

	(void)state;
	a = vg_now();
	b = vg_now();
	assert_true(a > 0);
	assert_true(b >= a);
}

/* ---- vg_write_all, vg_write_file_atomic ---- */

static char wdir[64];

static int
wdir_setup(void **state)
{
	(void)state;
	snprintf(wdir, sizeof(wdir), "/tmp/vg-util-XXXXXX");
	return mkdtemp(wdir) == NULL ? -1 : 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int
wdir_teardown(void **state)
{
	char mnt[128];

	(void)state;
	/* A failed assertion must not leave the small file system behind. */
	snprintf(mnt, sizeof(mnt), "%s/small", wdir);
	(void)umount2(mnt, MNT_DETACH);
	if (chmod(wdir, 0700) != 0)
		return -1;
	return nftw(wdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The file's whole content, NUL-terminated, in a static buffer; NULL
 * when it cannot be read. */
static const char *
slurp(const char *path, size_t *lenp)
{
	static char buf[300 * 1024];
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n < 0)
		return NULL;
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

static void
put(const char *path, const char *text, mode_t mode)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(vg_write_all(fd, text, strlen(text)), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* Entries in dir other than . and .., to catch a temporary file left. */
static int
entries(const char *dir)
{
	struct dirent *e;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static volatile sig_atomic_t alarms;
static int go_fd = -1;

/* Lets the reader start only after 20 signals: until then the writer
 * sits blocked on a full pipe, and each signal makes write() fail with
 * EINTR. */
static void
on_alarm(int sig)
{
	(void)sig;
	if (++alarms == 20)
		(void)!write(go_fd, "g", 1);
}

/* vg_read_all(): short reads through a pipe written in bites, a file
 * shorter than the size asked (stops at its end), and a read error. */
static void
test_read_all(void **state)
{
	char *buf = NULL;
	size_t len = 0, i;
	pid_t pid;
	int p[2], status, fd;

	(void)state;
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		for (i = 0; i < 100; i++)
			if (write(p[1], "0123456789", 10) != 10)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(vg_read_all(p[0], 2000, &buf, &len), 0);
	assert_int_equal(len, 1000);
	assert_int_equal(buf[len], '\0');
	assert_memory_equal(buf + 990, "0123456789", 10);
	free(buf);
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);

	/* Exactly the size asked, nothing after it. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "abcdef", 6), 6);
	close(p[1]);
	assert_int_equal(vg_read_all(p[0], 3, &buf, &len), 0);
	assert_int_equal(len, 3);
	assert_string_equal(buf, "abc");
	free(buf);
	close(p[0]);

	/* A folder cannot be read: the error, nothing allocated. */
	assert_true((fd = open("/", O_RDONLY | O_DIRECTORY)) >= 0);
	buf = (char *)1;
	assert_int_not_equal(vg_read_all(fd, 10, &buf, &len), 0);
	assert_int_equal(errno, EISDIR);
	assert_null(buf);
	assert_int_equal(len, 0);
	close(fd);
}

static void
test_write_all(void **state)
{
	enum { TOTAL = 8 * 1024 * 1024 };
	struct itimerval it = { { 0, 200 }, { 0, 200 } }, off = { { 0, 0 },
		{ 0, 0 } };
	struct sigaction sa, old;
	unsigned char *buf, rb[1000];
	unsigned long sum = 0, got[2];
	size_t i;
	ssize_t n;
	pid_t pid;
	int p[2], q[2], go[2], status, r, saved;

	(void)state;
	assert_non_null(buf = malloc(TOTAL));
	for (i = 0; i < TOTAL; i++) {
		buf[i] = (unsigned char)(i * 7 + i / 251);
		sum += buf[i];
	}
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	assert_int_equal(pipe(go), 0);
	/* Timer signals without SA_RESTART interrupt the writer: EINTR
	 * while the pipe is full, then short writes while the child reads
	 * in small bites. Every byte must still arrive, once. */
	if ((pid = fork()) == 0) {
		unsigned long s = 0, count = 0;
		char c;

		close(p[1]);
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		while ((n = read(p[0], rb, sizeof(rb))) > 0) {
			for (i = 0; i < (size_t)n; i++)
				s += rb[i];
			count += (unsigned long)n;
		}
		got[0] = s;
		got[1] = count;
		_exit(write(q[1], got, sizeof(got)) == sizeof(got) ? 0 : 1);
	}
	assert_true(pid > 0);
	close(p[0]);
	close(q[1]);
	close(go[0]);
	go_fd = go[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	alarms = 0;
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	r = vg_write_all(p[1], buf, TOTAL);
	saved = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	close(p[1]);
	close(go[1]);
	assert_int_equal(read(q[0], got, sizeof(got)), sizeof(got));
	close(q[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	free(buf);
	if (r != 0)
		print_error("vg_write_all: %s\n", strerror(saved));
	assert_int_equal(r, 0);
	assert_true(alarms >= 20);
	assert_int_equal(got[1], TOTAL);
	assert_int_equal(got[0], sum);

	/* A descriptor that cannot be written: -1 and errno. */
	errno = 0;
	assert_int_equal(vg_write_all(-1, "x", 1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(vg_write_all(-1, "", 0), 0);
}

static void
test_write_atomic_mode(void **state)
{
	char path[128], err[256];
	struct stat sb;
	mode_t mask;

	(void)state;
	snprintf(path, sizeof(path), "%s/cred", wdir);
	/* The mode is what was asked, whatever the umask. */
	mask = umask(0077);
	assert_int_equal(vg_write_file_atomic(path, "public\n", 7, 0644, err,
	    sizeof(err)), 0);
	umask(mask);
	assert_string_equal(slurp(path, NULL), "public\n");
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0644);
	assert_int_equal(sb.st_uid, geteuid());

	/* Replaced with a narrower mode; the binary content is whole. */
	mask = umask(0);
	assert_int_equal(vg_write_file_atomic(path, "se\0cret", 7, 0600, err,
	    sizeof(err)), 0);
	umask(mask);
	assert_int_equal(lstat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_size, 7);
	assert_memory_equal(slurp(path, NULL), "se\0cret", 7);
	assert_int_equal(entries(wdir), 1);

	/* Empty content is a file too. */
	assert_int_equal(vg_write_file_atomic(path, "", 0, 0640, err,
	    sizeof(err)), 0);
	assert_int_equal(lstat(path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(sb.st_mode & 07777, 0640);

	/* A name in the current folder has "." as its folder. */
	assert_int_equal(chdir(wdir), 0);
	assert_int_equal(vg_write_file_atomic("here", "h", 1, 0600, err,
	    sizeof(err)), 0);
	assert_int_equal(chdir("/"), 0);
	snprintf(path, sizeof(path), "%s/here", wdir);
	assert_string_equal(slurp(path, NULL), "h");
	assert_int_equal(entries(wdir), 2);
}

static void
test_write_atomic_keep(void **state)
{
	char path[128], link[128], err[256];
	struct stat before, after;
	uid_t uid = geteuid();
	gid_t gid = getegid();

	(void)state;
	snprintf(path, sizeof(path), "%s/HubDetails.xml", wdir);
	put(path, "<old/>\n", 0640);
	/* Root can give the file another owner, which must then be kept. */
	if (uid == 0)
		assert_int_equal(chown(path, 1234, 5678), 0);
	assert_int_equal(lstat(path, &before), 0);
	assert_int_equal(vg_write_file_atomic(path, "<new/>\n", 7,
	    VG_MODE_KEEP, err, sizeof(err)), 0);
	assert_string_equal(slurp(path, NULL), "<new/>\n");
	assert_int_equal(lstat(path, &after), 0);
	assert_true(after.st_ino != before.st_ino);
	assert_int_equal(after.st_mode & 07777, 0640);
	assert_int_equal(after.st_uid, uid == 0 ? 1234 : uid);
	assert_int_equal(after.st_gid, uid == 0 ? 5678 : gid);

	/* An explicit mode: neither the old mode nor the old owner. */
	assert_int_equal(vg_write_file_atomic(path, "<x/>", 4, 0600, err,
	    sizeof(err)), 0);
	assert_int_equal(lstat(path, &after), 0);
	assert_int_equal(after.st_mode & 07777, 0600);
	assert_int_equal(after.st_uid, uid);
	assert_int_equal(after.st_gid, gid);
	assert_int_equal(entries(wdir), 1);

	/* Nothing to keep: private. */
	snprintf(path, sizeof(path), "%s/fresh", wdir);
	assert_int_equal(vg_write_file_atomic(path, "f", 1, VG_MODE_KEEP, err,
	    sizeof(err)), 0);
	assert_int_equal(lstat(path, &after), 0);
	assert_int_equal(after.st_mode & 07777, 0600);

	/* A link's mode means nothing: refused, the link left alone. */
	snprintf(link, sizeof(link), "%s/link", wdir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(vg_write_file_atomic(link, "l", 1, VG_MODE_KEEP, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, link));
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(lstat(link, &after), 0);
	assert_true(S_ISLNK(after.st_mode));
	assert_string_equal(slurp(path, NULL), "f");
	assert_int_equal(entries(wdir), 3);
}

static void
test_write_atomic_failures(void **state)
{
	char path[128], err[256];

	(void)state;
	/* No such folder. */
	snprintf(path, sizeof(path), "%s/missing/cred", wdir);
	err[0] = '\0';
	assert_int_equal(vg_write_file_atomic(path, "x", 1, 0600, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	assert_non_null(strstr(err, path));

	/* A folder in the way: the rename fails, the folder stays and the
	 * temporary file goes. */
	snprintf(path, sizeof(path), "%s/adir", wdir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_not_equal(vg_write_file_atomic(path, "x", 1, 0600, err,
	    sizeof(err)), 0);
	assert_non_null(strstr(err, path));
	assert_int_equal(entries(path), 0);
	assert_int_equal(entries(wdir), 1);

	/* Names that are no file's. */
	assert_int_equal(vg_write_file_atomic("", "x", 1, 0600, err,
	    sizeof(err)), VG_ERR_INVAL);
	snprintf(path, sizeof(path), "%s/", wdir);
	assert_int_equal(vg_write_file_atomic(path, "x", 1, 0600, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_int_equal(entries(wdir), 1);

	/* A folder we may not write: root may, so only for others. */
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/cred", wdir);
		put(path, "old", 0600);
		assert_int_equal(chmod(wdir, 0500), 0);
		assert_int_equal(vg_write_file_atomic(path, "new", 3, 0600,
		    err, sizeof(err)), VG_ERR_PERM);
		assert_int_equal(chmod(wdir, 0700), 0);
		assert_non_null(strstr(err, path));
		assert_string_equal(slurp(path, NULL), "old");
	}
}

/* A full disk: a 64 KB tmpfs, which only root can mount. */
static void
test_write_atomic_nospace(void **state)
{
	static char big[256 * 1024];
	char mnt[128], path[160], err[256], got[16] = "";
	const char *s;
	int r, n;

	(void)state;
	snprintf(mnt, sizeof(mnt), "%s/small", wdir);
	snprintf(path, sizeof(path), "%s/cred", mnt);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (geteuid() != 0 || mount("tmpfs", mnt, "tmpfs", 0,
	    "size=64k") != 0) {
		print_message("skipped: cannot mount a tmpfs (%s)\n",
		    geteuid() != 0 ? "not root" : strerror(errno));
		skip();
	}
	memset(big, 'b', sizeof(big));
	/* Results first, assertions after the unmount, so that a failure
	 * does not leave the mount behind (the teardown detaches it too). */
	r = vg_write_file_atomic(path, "old", 3, 0600, err, sizeof(err));
	if (r == 0)
		r = vg_write_file_atomic(path, big, sizeof(big), 0600, err,
		    sizeof(err));
	if ((s = slurp(path, NULL)) != NULL)
		snprintf(got, sizeof(got), "%s", s);
	n = entries(mnt);
	assert_int_equal(umount(mnt), 0);
	assert_int_equal(r, VG_ERR_NOSPACE);
	assert_non_null(strstr(err, path));
	assert_string_equal(got, "old");
	assert_int_equal(n, 1);
}

/* Two writers of one path never mix, and a reader always sees one whole
 * version. */
static void
test_write_atomic_concurrent(void **state)
{
	enum { SIZE = 64 * 1024, ROUNDS = 500 };
	static char data[2][SIZE];
	char path[128], err[256];
	const char *s;
	size_t len, i;
	pid_t pid[2];
	int k, status, bad = 0, reads = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/shared", wdir);
	memset(data[0], 'a', SIZE);
	memset(data[1], 'b', SIZE);
	assert_int_equal(vg_write_file_atomic(path, data[0], SIZE, 0600, err,
	    sizeof(err)), 0);
	for (k = 0; k < 2; k++) {
		if ((pid[k] = fork()) == 0) {
			for (i = 0; i < ROUNDS; i++)
				if (vg_write_file_atomic(path, data[k], SIZE,
				    0600, err, sizeof(err)) != 0)
					_exit(1);
			_exit(0);
		}
		assert_true(pid[k] > 0);
	}
	while (waitpid(pid[0], &status, WNOHANG) == 0 ||
	    waitpid(pid[1], &status, WNOHANG) == 0) {
		if ((s = slurp(path, &len)) == NULL || len != SIZE ||
		    (memcmp(s, data[0], SIZE) != 0 &&
		    memcmp(s, data[1], SIZE) != 0))
			bad++;
		reads++;
	}
	for (k = 0; k < 2; k++) {
		waitpid(pid[k], &status, 0);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(bad, 0);
	assert_true(reads > 0);
	assert_int_equal(entries(wdir), 1);
}

static void
test_read_file(void **state)
{
	char path[128], err[256], *out = (char *)"x";
	size_t len = 9;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/f", wdir);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs("hello", f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(vg_read_file(path, 5, &out, &len, err, sizeof(err)),
	    0);
	assert_int_equal(len, 5);
	assert_string_equal(out, "hello");
	free(out);

	/* Over the cap, a folder, nothing there: refused, naming the path. */
	assert_int_equal(vg_read_file(path, 4, &out, &len, err, sizeof(err)),
	    VG_ERR_TOOBIG);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ": larger than 4 bytes"));
	assert_int_equal(vg_read_file(path, 2, &out, &len, err, sizeof(err)),
	    VG_ERR_TOOBIG);
	assert_non_null(strstr(err, ": larger than 2 bytes"));
	assert_int_equal(vg_read_file(wdir, 1024 * 1024, &out, &len, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, ": not a regular file"));
	snprintf(path, sizeof(path), "%s/none", wdir);
	assert_int_equal(vg_read_file(path, 1024, &out, &len, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	assert_non_null(strstr(err, path));
}

static void
test_buf_append(void **state)
{
	char *buf = NULL;
	size_t used = 0, cap = 0, i;

	(void)state;
	assert_int_equal(vg_buf_append(&buf, &used, &cap, "ab", 2, 10), 0);
	assert_string_equal(buf, "ab");
	/* Growing keeps what was there, terminated. */
	for (i = 0; i < 100; i++)
		assert_int_equal(vg_buf_append(&buf, &used, &cap, "c", 1,
		    1000), 0);
	assert_int_equal(used, 102);
	assert_true(cap > used);
	assert_int_equal(buf[0], 'a');
	assert_int_equal(buf[101], 'c');
	assert_int_equal(buf[102], '\0');
	/* The cap: refused whole, the buffer as it was. */
	assert_int_equal(vg_buf_append(&buf, &used, &cap, "0123456789", 10,
	    110), VG_ERR_TOOBIG);
	assert_int_equal(used, 102);
	assert_int_equal(vg_buf_append(&buf, &used, &cap, "01234567", 8,
	    110), 0);
	assert_int_equal(used, 110);
	assert_int_equal(vg_buf_append(&buf, &used, &cap, "x", SIZE_MAX,
	    SIZE_MAX - 1), VG_ERR_TOOBIG);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid_accepts),
		cmocka_unit_test(test_utf8_valid_rejects),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_utf8_sanitize),
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_round_trip_binary),
		cmocka_unit_test(test_base64_invalid),
		cmocka_unit_test(test_time_format_round_trip),
		cmocka_unit_test(test_time_parse_fraction_digits),
		cmocka_unit_test(test_time_parse_rejects_junk),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_long),
		cmocka_unit_test(test_now_monotonic),
		cmocka_unit_test(test_read_all),
		cmocka_unit_test(test_write_all),
		cmocka_unit_test_setup_teardown(test_write_atomic_mode,
		    wdir_setup, wdir_teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_keep,
		    wdir_setup, wdir_teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_failures,
		    wdir_setup, wdir_teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_nospace,
		    wdir_setup, wdir_teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_concurrent,
		    wdir_setup, wdir_teardown),
		cmocka_unit_test_setup_teardown(test_read_file, wdir_setup,
		    wdir_teardown),
		cmocka_unit_test(test_buf_append),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
