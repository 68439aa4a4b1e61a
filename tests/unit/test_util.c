/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of core/vg_util: UTF-8 validation, escaping and sanitizing,
 * base64, RFC 3339 times, sizes and bounded numbers. Every case checks an
 * exact result.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
