/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of core/vg_hash: the published digests of "" and "abc"
 * (FIPS 180-4 examples, RFC 3174, RFC 1321), incremental hashing against
 * one-shot, names and hex.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vg_err.h"
#include "vg_hash.h"

static const struct {
	enum vg_hash_alg alg;
	size_t len;
	const char *empty;   /* hex digest of "" */
	const char *abc;     /* hex digest of "abc" */
} kat[] = {
	{ VG_HASH_SHA256, 32,
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ VG_HASH_SHA384, 48,
	  "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da"
	  "274edebfe76f65fbd51ad2f14898b95b",
	  "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
	  "8086072ba1e7cc2358baeca134c825a7" },
	{ VG_HASH_SHA512, 64,
	  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
	  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
	{ VG_HASH_SHA1, 20,
	  "da39a3ee5e6b4b0d3255bfef95601890afd80709",
	  "a9993e364706816aba3e25717850c26c9cd0d89d" },
	{ VG_HASH_MD5, 16,
	  "d41d8cd98f00b204e9800998ecf8427e",
	  "900150983cd24fb0d6963f7d28e17f72" },
};
#define NKAT (sizeof(kat) / sizeof(kat[0]))

static void
check_digest(enum vg_hash_alg alg, const void *data, size_t len,
    const char *want_hex)
{
	unsigned char md[VG_HASH_MAX_LEN];
	char hex[2 * VG_HASH_MAX_LEN + 1];

	memset(md, 0xaa, sizeof(md));
	assert_int_equal(vg_hash_buffer(alg, data, len, md), 0);
	vg_hex_encode(md, vg_hash_len(alg), hex);
	assert_string_equal(hex, want_hex);
}

static void
test_known_answers(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NKAT; i++) {
		assert_int_equal(vg_hash_len(kat[i].alg), kat[i].len);
		check_digest(kat[i].alg, "", 0, kat[i].empty);
		check_digest(kat[i].alg, "abc", 3, kat[i].abc);
	}
}

static void
test_known_answers_hasher(void **state)
{
	unsigned char md[VG_HASH_MAX_LEN];
	char hex[2 * VG_HASH_MAX_LEN + 1];
	struct vg_hasher *h;
	size_t i;

	(void)state;
	for (i = 0; i < NKAT; i++) {
		assert_int_equal(vg_hasher_new(kat[i].alg, &h), 0);
		assert_non_null(h);
		/* One hasher serves many files: start resets it. */
		assert_int_equal(vg_hasher_start(h), 0);
		assert_int_equal(vg_hasher_update(h, "junk", 4), 0);
		assert_int_equal(vg_hasher_start(h), 0);
		assert_int_equal(vg_hasher_update(h, "a", 1), 0);
		assert_int_equal(vg_hasher_update(h, "", 0), 0);
		assert_int_equal(vg_hasher_update(h, "bc", 2), 0);
		assert_int_equal(vg_hasher_finish(h, md), 0);
		vg_hex_encode(md, kat[i].len, hex);
		assert_string_equal(hex, kat[i].abc);
		assert_int_equal(vg_hasher_start(h), 0);
		assert_int_equal(vg_hasher_finish(h, md), 0);
		vg_hex_encode(md, kat[i].len, hex);
		assert_string_equal(hex, kat[i].empty);
		vg_hasher_free(h);
	}
}

static void
test_incremental_equals_one_shot(void **state)
{
	static unsigned char buf[100000];
	unsigned char one[VG_HASH_MAX_LEN], inc[VG_HASH_MAX_LEN];
	struct vg_hasher *h;
	size_t i, k, pos, n, len;
	unsigned seed = 12345;

	(void)state;
	for (i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (unsigned char)(seed >> 16);
	}
	for (i = 0; i < NKAT; i++) {
		assert_int_equal(vg_hasher_new(kat[i].alg, &h), 0);
		for (k = 0; k < 20; k++) {
			/* A random length, cut at random points (some of
			 * them empty, some crossing block boundaries). */
			len = (size_t)rand() % sizeof(buf);
			assert_int_equal(vg_hash_buffer(kat[i].alg, buf, len,
			    one), 0);
			assert_int_equal(vg_hasher_start(h), 0);
			for (pos = 0; pos < len; pos += n) {
				n = (size_t)rand() % 300;
				if (rand() % 8 == 0)
					n = (size_t)rand() % 20000;
				if (n > len - pos)
					n = len - pos;
				assert_int_equal(vg_hasher_update(h, buf + pos,
				    n), 0);
			}
			assert_int_equal(vg_hasher_finish(h, inc), 0);
			assert_memory_equal(one, inc, kat[i].len);
		}
		vg_hasher_free(h);
	}
}

static void
test_hasher_new_rejects(void **state)
{
	struct vg_hasher *h = (struct vg_hasher *)&h;

	(void)state;
	assert_int_equal(vg_hasher_new(VG_HASH_NONE, &h), VG_ERR_INVAL);
	assert_null(h);
	h = (struct vg_hasher *)&h;
	assert_int_equal(vg_hasher_new((enum vg_hash_alg)42, &h),
	    VG_ERR_INVAL);
	assert_null(h);
	vg_hasher_free(NULL);
}

static void
test_names(void **state)
{
	static const struct {
		enum vg_hash_alg alg;
		const char *name;
	} names[] = {
		{ VG_HASH_NONE, "none" }, { VG_HASH_SHA256, "sha256" },
		{ VG_HASH_SHA384, "sha384" }, { VG_HASH_SHA512, "sha512" },
		{ VG_HASH_SHA1, "sha1" }, { VG_HASH_MD5, "md5" },
	};
	static const struct {
		const char *in;
		enum vg_hash_alg alg;
	} aliases[] = {
		{ "SHA-256", VG_HASH_SHA256 }, { "sha-256", VG_HASH_SHA256 },
		{ "SHA256", VG_HASH_SHA256 }, { "Sha384", VG_HASH_SHA384 },
		{ "SHA-384", VG_HASH_SHA384 }, { "SHA-512", VG_HASH_SHA512 },
		{ "SHA-1", VG_HASH_SHA1 }, { "SHA1", VG_HASH_SHA1 },
		{ "MD5", VG_HASH_MD5 }, { "NONE", VG_HASH_NONE },
	};
	static const char *const unknown[] = { "", "sha", "sha3", "sha-3",
		"sha256 ", " sha256", "sha2-256", "sha224", "md4", "crc32",
		"sha256x" };
	enum vg_hash_alg alg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_string_equal(vg_hash_name(names[i].alg), names[i].name);
		alg = (enum vg_hash_alg)99;
		assert_int_equal(vg_hash_parse(names[i].name, &alg), 0);
		assert_int_equal(alg, names[i].alg);
	}
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		alg = (enum vg_hash_alg)99;
		assert_int_equal(vg_hash_parse(aliases[i].in, &alg), 0);
		assert_int_equal(alg, aliases[i].alg);
	}
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		alg = VG_HASH_SHA512;
		assert_int_equal(vg_hash_parse(unknown[i], &alg), VG_ERR_INVAL);
		assert_int_equal(alg, VG_HASH_SHA512);
	}
	assert_int_equal(vg_hash_parse(NULL, &alg), VG_ERR_INVAL);
	assert_null(vg_hash_name((enum vg_hash_alg)6));
	assert_null(vg_hash_name((enum vg_hash_alg)-1));
	assert_int_equal(vg_hash_len(VG_HASH_NONE), 0);
	assert_int_equal(vg_hash_len((enum vg_hash_alg)6), 0);
}

static void
test_is_weak(void **state)
{
	(void)state;
	assert_int_equal(vg_hash_is_weak(VG_HASH_SHA1), 1);
	assert_int_equal(vg_hash_is_weak(VG_HASH_MD5), 1);
	assert_int_equal(vg_hash_is_weak(VG_HASH_SHA256), 0);
	assert_int_equal(vg_hash_is_weak(VG_HASH_SHA384), 0);
	assert_int_equal(vg_hash_is_weak(VG_HASH_SHA512), 0);
	assert_int_equal(vg_hash_is_weak(VG_HASH_NONE), 0);
}

static void
test_hex_encode(void **state)
{
	static const unsigned char in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab,
		0xcd, 0xef, 0xff };
	char out[2 * sizeof(in) + 1];

	(void)state;
	memset(out, 'x', sizeof(out));
	vg_hex_encode(in, sizeof(in), out);
	assert_string_equal(out, "00017f80abcdefff");
	memset(out, 'x', sizeof(out));
	vg_hex_encode(in, 0, out);
	assert_string_equal(out, "");
}

static void
test_hex_decode(void **state)
{
	unsigned char out[8], want[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd,
		0xef, 0xff };

	(void)state;
	memset(out, 0x55, sizeof(out));
	assert_int_equal(vg_hex_decode("00017f80abcdefff", 16, out, 8), 0);
	assert_memory_equal(out, want, 8);
	memset(out, 0x55, sizeof(out));
	/* Upper case is accepted too. */
	assert_int_equal(vg_hex_decode("00017F80ABCDEFFF", 16, out, 8), 0);
	assert_memory_equal(out, want, 8);
	assert_int_equal(vg_hex_decode("", 0, out, 0), 0);

	/* Wrong length: exactly 2 * outlen digits. */
	assert_int_equal(vg_hex_decode("00017f80abcdef", 14, out, 8),
	    VG_ERR_INVAL);
	assert_int_equal(vg_hex_decode("00017f80abcdefff00", 18, out, 8),
	    VG_ERR_INVAL);
	assert_int_equal(vg_hex_decode("0", 1, out, 1), VG_ERR_INVAL);
	/* Bad digits, in either half of a byte and at either end. */
	assert_int_equal(vg_hex_decode("g0", 2, out, 1), VG_ERR_INVAL);
	assert_int_equal(vg_hex_decode("0g", 2, out, 1), VG_ERR_INVAL);
	assert_int_equal(vg_hex_decode("000000000000000z", 16, out, 8),
	    VG_ERR_INVAL);
	assert_int_equal(vg_hex_decode(" 0", 2, out, 1), VG_ERR_INVAL);
	assert_int_equal(vg_hex_decode("0x", 2, out, 1), VG_ERR_INVAL);
	assert_int_equal(vg_hex_decode("-1", 2, out, 1), VG_ERR_INVAL);
	assert_int_equal(vg_hex_decode("\xff" "0", 2, out, 1), VG_ERR_INVAL);
	assert_int_equal(vg_hex_decode("0\0", 2, out, 1), VG_ERR_INVAL);
}

static void
test_hex_round_trip(void **state)
{
	unsigned char in[VG_HASH_MAX_LEN], back[VG_HASH_MAX_LEN];
	char hex[2 * VG_HASH_MAX_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(255 - 3 * i);
	vg_hex_encode(in, sizeof(in), hex);
	assert_int_equal(strlen(hex), 2 * sizeof(in));
	assert_int_equal(vg_hex_decode(hex, strlen(hex), back, sizeof(back)),
	    0);
	assert_memory_equal(in, back, sizeof(in));
}

static void
test_hex_format(void **state)
{
	static const unsigned char b[3] = { 0xab, 0x0c, 0xff };
	char out[16];

	(void)state;
	vg_hex_format(b, 3, ':', 1, out, sizeof(out));
	assert_string_equal(out, "AB:0C:FF");
	vg_hex_format(b, 3, ' ', 0, out, sizeof(out));
	assert_string_equal(out, "ab 0c ff");
	vg_hex_format(b, 3, '\0', 1, out, sizeof(out));
	assert_string_equal(out, "AB0CFF");
	vg_hex_format(b, 0, ':', 1, out, sizeof(out));
	assert_string_equal(out, "");
	/* Too small: whole bytes only, always terminated. */
	vg_hex_format(b, 3, ':', 1, out, 8);
	assert_string_equal(out, "AB:0C");
	vg_hex_format(b, 3, ':', 1, out, 3);
	assert_string_equal(out, "AB");
	vg_hex_format(b, 3, ':', 1, out, 2);
	assert_string_equal(out, "");
}

static void
test_hex_digit(void **state)
{
	(void)state;
	assert_int_equal(vg_hex_digit('0'), 0);
	assert_int_equal(vg_hex_digit('9'), 9);
	assert_int_equal(vg_hex_digit('a'), 10);
	assert_int_equal(vg_hex_digit('F'), 15);
	assert_int_equal(vg_hex_digit('g'), -1);
	assert_int_equal(vg_hex_digit(':'), -1);
	assert_int_equal(vg_hex_digit(0xc3), -1);
}

static void
test_thumbprint_parse(void **state)
{
	unsigned char fp[VG_THUMBPRINT_MAX] = { 0 };
	size_t len = 7;

	(void)state;
	assert_int_equal(vg_thumbprint_parse("7E:32:16:87:CC:1E:EC:82:66:B4:"
	    "4F:F8:86:42:DF:90:73:DA:AB:AB:1C:B8:9F:1B:56:54:D1:09:DE:19:BE:"
	    "96", fp, &len), 0);
	assert_int_equal(len, 32);
	assert_int_equal(fp[0], 0x7e);
	assert_int_equal(fp[31], 0x96);
	/* SHA-1, spaced, a U+200E mark first, either case. */
	assert_int_equal(vg_thumbprint_parse("\xe2\x80\x8e" "01 23 45 67 89 ab "
	    "cd ef 01 23 45 67 89 AB CD EF 01 23 45 67", fp, &len), 0);
	assert_int_equal(len, 20);
	assert_int_equal(fp[19], 0x67);
	/* Odd digits, a wrong length, a stray byte, too long: refused and
	 * nothing changed. */
	len = 7;
	assert_int_equal(vg_thumbprint_parse("abc", fp, &len), VG_ERR_INVAL);
	assert_int_equal(vg_thumbprint_parse("0123456789abcdef0123456789abcdef"
	    "012345", fp, &len), VG_ERR_INVAL);
	assert_int_equal(vg_thumbprint_parse("0123456789abcdef0123456789abcdef"
	    "0123456g", fp, &len), VG_ERR_INVAL);
	assert_int_equal(vg_thumbprint_parse("0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef00", fp, &len), VG_ERR_INVAL);
	assert_int_equal(vg_thumbprint_parse("", fp, &len), VG_ERR_INVAL);
	assert_int_equal(len, 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_known_answers_hasher),
		cmocka_unit_test(test_incremental_equals_one_shot),
		cmocka_unit_test(test_hasher_new_rejects),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_is_weak),
		cmocka_unit_test(test_hex_encode),
		cmocka_unit_test(test_hex_decode),
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_hex_format),
		cmocka_unit_test(test_hex_digit),
		cmocka_unit_test(test_thumbprint_parse),
	};

	srand(20261126);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
