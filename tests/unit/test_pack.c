/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of core/vg_pack: round trips of every kind of item, the
 * exact bytes of a small item, and the strict reader's refusals
 * (truncated, overlong, out of range, trailing input).
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
#include "vg_item.h"
#include "vg_pack.h"

#include "assert_item.h"

static const char file_path[] = "/srv/data/\xff" "file";

/* A file item recording every file attribute, all set. */
static struct vg_item *
full_file(void)
{
	struct vg_item *it;

	it = vg_item_new(VG_KIND_FILE, file_path, sizeof(file_path) - 1);
	assert_non_null(it);
	it->have = VG_A_ALL & ~VG_A_PROPS;
	it->ftype = VG_FT_REG;
	it->size = UINT64_MAX;
	it->mode = 04755;
	it->uid = UINT32_MAX;
	it->gid = 100;
	assert_int_equal(vg_item_set_str(&it->user, "alice"), 0);
	assert_int_equal(vg_item_set_str(&it->group, ""), 0);
	it->mtime_ns = 1700000000123456789LL;
	it->ctime_ns = INT64_MIN;
	it->inode = 424242;
	it->dev = 2049;
	it->nlink = 3;
	assert_int_equal(vg_item_set_str(&it->target, "/elsewhere"), 0);
	assert_int_equal(vg_item_set_str(&it->xattrs, "user.k=0x6869"), 0);
	assert_int_equal(vg_item_set_str(&it->acl, "u::rwx,g::r-x,o::---"),
	    0);
	/* selinux stays NULL: "no value" must survive, distinct from "". */
	it->hash_alg = VG_HASH_SHA512;
	it->hash_state = VG_HS_OK;
	assert_int_equal(vg_hash_buffer(VG_HASH_SHA512, "abc", 3, it->hash),
	    0);
	return it;
}

/* A copy of it holding only what it records: what unpacking gives. */
static struct vg_item *
recorded_only(const struct vg_item *it)
{
	struct vg_item *c = vg_item_dup(it);
	uint32_t h;

	assert_non_null(c);
	h = c->have;
#define DROP(bit, field, zero) if (!(h & (bit))) c->field = zero
	DROP(VG_A_TYPE, ftype, VG_FT_NONE);
	DROP(VG_A_SIZE, size, 0);
	DROP(VG_A_MODE, mode, 0);
	DROP(VG_A_UID, uid, 0);
	DROP(VG_A_GID, gid, 0);
	DROP(VG_A_MTIME, mtime_ns, 0);
	DROP(VG_A_CTIME, ctime_ns, 0);
	DROP(VG_A_INODE, inode, 0);
	DROP(VG_A_DEV, dev, 0);
	DROP(VG_A_NLINK, nlink, 0);
#undef DROP
#define DROP_STR(bit, field) \
	if (!(h & (bit))) assert_int_equal(vg_item_set_str(&c->field, NULL), 0)
	DROP_STR(VG_A_USER, user);
	DROP_STR(VG_A_GROUP, group);
	DROP_STR(VG_A_TARGET, target);
	DROP_STR(VG_A_XATTRS, xattrs);
	DROP_STR(VG_A_ACL, acl);
	DROP_STR(VG_A_SELINUX, selinux);
#undef DROP_STR
	if (!(h & VG_A_HASH)) {
		c->hash_alg = VG_HASH_NONE;
		c->hash_state = VG_HS_NONE;
	}
	if (c->hash_state != VG_HS_OK)
		memset(c->hash, 0, sizeof(c->hash));
	return c;
}

/* Packs it, unpacks the bytes, checks the items are equal (in what it
 * records) and that packing the copy gives the same bytes. Returns the
 * packed length. */
static size_t
round_trip(const struct vg_item *it)
{
	unsigned char *p = NULL, *p2 = NULL;
	struct vg_item *back = NULL, *want = recorded_only(it);
	size_t len, len2;
	char err[256];

	assert_int_equal(vg_pack_attrs(it, &p, &len), 0);
	assert_non_null(p);
	assert_int_equal(vg_unpack_attrs(p, len, it->kind, it->path,
	    it->path_len, &back, err, sizeof(err)), 0);
	assert_items_equal(want, back);
	vg_item_free(want);
	assert_int_equal(vg_pack_attrs(back, &p2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(p, p2, len);
	free(p);
	free(p2);
	vg_item_free(back);
	return len;
}

/* Expects vg_unpack_attrs() to refuse the bytes with code and a message
 * containing what. */
static void
refused(const unsigned char *p, size_t len, int code, const char *what)
{
	struct vg_item *it = (struct vg_item *)1;
	char err[256];

	assert_int_equal(vg_unpack_attrs(p, len, VG_KIND_FILE, "/x", 2, &it,
	    err, sizeof(err)), code);
	assert_null(it);
	if (strstr(err, what) == NULL)
		fail_msg("message \"%s\" does not mention \"%s\"", err, what);
}

static void
test_file_every_attr(void **state)
{
	struct vg_item *it = full_file();

	(void)state;
	round_trip(it);
	vg_item_free(it);
}

static void
test_symlink(void **state)
{
	struct vg_item *it;

	(void)state;
	it = vg_item_new(VG_KIND_FILE, "/etc/localtime", 14);
	assert_non_null(it);
	it->have = VG_A_TYPE | VG_A_MODE | VG_A_UID | VG_A_GID | VG_A_USER |
	    VG_A_GROUP | VG_A_MTIME | VG_A_CTIME | VG_A_TARGET | VG_A_HASH;
	it->ftype = VG_FT_LNK;
	it->mode = 0777;
	/* Unknown owner names are NULL. */
	it->mtime_ns = -1;
	it->ctime_ns = 1;
	assert_int_equal(vg_item_set_str(&it->target,
	    "/usr/share/zoneinfo/\xc3\xa9t\xff"), 0);
	it->hash_state = VG_HS_NONE;
	round_trip(it);
	vg_item_free(it);
}

/* The file "/f" recording only a hash, in state hs with algorithm alg. */
static struct vg_item *
hash_only(enum vg_hash_state hs, enum vg_hash_alg alg)
{
	struct vg_item *it = vg_item_new(VG_KIND_FILE, "/f", 2);

	assert_non_null(it);
	it->have = VG_A_HASH;
	it->hash_state = hs;
	it->hash_alg = alg;
	return it;
}

static void
test_hash_states(void **state)
{
	static const enum vg_hash_alg algs[] = { VG_HASH_SHA256,
		VG_HASH_SHA384, VG_HASH_SHA512, VG_HASH_SHA1, VG_HASH_MD5 };
	struct vg_item *it;
	size_t i, base, len;

	(void)state;
	it = hash_only(VG_HS_SIZE_CAP, VG_HASH_SHA256);
	/* Without a digest only the two bytes of algorithm and state. */
	base = round_trip(it);
	assert_int_equal(base, 1 + 3 + 2);
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		it->hash_alg = algs[i];
		it->hash_state = VG_HS_OK;
		memset(it->hash, 0xa5, sizeof(it->hash));
		memset(it->hash + vg_hash_len(algs[i]), 0,
		    sizeof(it->hash) - vg_hash_len(algs[i]));
		len = round_trip(it);
		assert_int_equal(len, base + vg_hash_len(algs[i]));
	}
	vg_item_free(it);
}

static void
test_props(void **state)
{
	static const enum vg_item_kind kinds[] = { VG_KIND_PACKAGE,
		VG_KIND_SERVICE, VG_KIND_REGVALUE, VG_KIND_PORT };
	struct vg_item *it;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		it = vg_item_new(kinds[i], "openssh-server", 14);
		assert_non_null(it);
		assert_int_equal(vg_item_set_prop(it, "version", "1:9.2p1-2"),
		    0);
		assert_int_equal(vg_item_set_prop(it, "arch", "amd64"), 0);
		assert_int_equal(vg_item_set_prop(it, "", "empty name"), 0);
		assert_int_equal(vg_item_set_prop(it, "note", ""), 0);
		assert_true(it->have == VG_A_PROPS);
		round_trip(it);
		vg_item_free(it);
	}
	/* PROPS recorded but none set. */
	it = vg_item_new(VG_KIND_USER, "bob", 3);
	assert_non_null(it);
	it->have = VG_A_PROPS;
	assert_int_equal(round_trip(it), 1 + 3 + 1);
	vg_item_free(it);
}

static void
test_missing_attrs(void **state)
{
	struct vg_item *full = full_file(), *it;
	uint32_t bit;

	(void)state;
	/* Nothing recorded: version and an empty mask. */
	it = vg_item_new(VG_KIND_FILE, "/gone", 5);
	assert_non_null(it);
	assert_int_equal(round_trip(it), 2);
	vg_item_free(it);
	/* Every attribute alone, and every attribute but one. */
	for (bit = 1; bit & VG_A_ALL; bit <<= 1) {
		if (bit == VG_A_PROPS)
			continue;
		full->have = bit;
		round_trip(full);
		full->have = (VG_A_ALL & ~VG_A_PROPS) & ~bit;
		round_trip(full);
	}
	vg_item_free(full);
}

/* Attributes not recorded are not written, whatever their fields hold. */
static void
test_ignores_unrecorded(void **state)
{
	struct vg_item *it = full_file(), *back = NULL;
	unsigned char *p = NULL;
	size_t len;
	char err[128];

	(void)state;
	it->have = VG_A_SIZE;
	assert_int_equal(vg_pack_attrs(it, &p, &len), 0);
	assert_int_equal(len, 1 + 1 + 10);
	assert_int_equal(vg_unpack_attrs(p, len, VG_KIND_FILE, "/x", 2,
	    &back, err, sizeof(err)), 0);
	assert_true(back->size == UINT64_MAX);
	assert_null(back->user);
	assert_int_equal(back->hash_alg, VG_HASH_NONE);
	free(p);
	vg_item_free(back);
	vg_item_free(it);
}

/* The layout is a stored format: pin the exact bytes of a small item. */
static void
test_exact_bytes(void **state)
{
	static const unsigned char want[] = {
		0x01,                   /* version */
		0xc3, 0x01,             /* have: type|size|group|mtime */
		0x01,                   /* type: file */
		0xac, 0x02,             /* size 300 */
		0x05, 'r', 'o', 'o', 't', /* group "root" */
		0x03,                   /* mtime -2, zigzag 3 */
	};
	struct vg_item *it;
	unsigned char *p = NULL;
	size_t len;

	(void)state;
	it = vg_item_new(VG_KIND_FILE, "/x", 2);
	assert_non_null(it);
	it->have = VG_A_TYPE | VG_A_SIZE | VG_A_GROUP | VG_A_MTIME;
	it->ftype = VG_FT_REG;
	it->size = 300;
	assert_int_equal(vg_item_set_str(&it->group, "root"), 0);
	it->mtime_ns = -2;
	assert_int_equal(vg_pack_attrs(it, &p, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(p, want, sizeof(want));
	free(p);
	vg_item_free(it);
}

static void
test_truncated(void **state)
{
	struct vg_item *it = full_file();
	unsigned char *p = NULL;
	size_t len, cut;

	(void)state;
	assert_int_equal(vg_pack_attrs(it, &p, &len), 0);
	refused(p, 0, VG_ERR_CORRUPT, "empty");
	/* Every proper prefix is refused. */
	for (cut = 1; cut < len; cut++)
		refused(p, cut, VG_ERR_CORRUPT, "");
	refused(p, 2, VG_ERR_CORRUPT, "truncated");
	free(p);
	vg_item_free(it);
}

static void
test_trailing(void **state)
{
	struct vg_item *it = full_file();
	unsigned char *p = NULL, *q;
	size_t len;

	(void)state;
	assert_int_equal(vg_pack_attrs(it, &p, &len), 0);
	q = malloc(len + 3);
	assert_non_null(q);
	memcpy(q, p, len);
	memset(q + len, 0, 3);
	refused(q, len + 3, VG_ERR_CORRUPT, "3 trailing bytes");
	free(q);
	free(p);
	vg_item_free(it);
}

static void
test_bad_input(void **state)
{
	/* version 2 */
	static const unsigned char v2[] = { 0x02, 0x00 };
	/* have = size, size as an overlong varint: 0x80 0x00 */
	static const unsigned char overlong[] = { 0x01, 0x02, 0x80, 0x00 };
	/* an overlong mask */
	static const unsigned char mask_overlong[] = { 0x01, 0x82, 0x00, 0x00 };
	/* a varint beyond 64 bits */
	static const unsigned char too_long[] = { 0x01, 0x02, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	/* unknown attribute bit 18 */
	static const unsigned char mask[] = { 0x01, 0x80, 0x80, 0x10 };
	/* uid above 32 bits */
	static const unsigned char uid[] = { 0x01, 0x08, 0x80, 0x80, 0x80,
		0x80, 0x10 };
	/* file type 8 */
	static const unsigned char ftype[] = { 0x01, 0x01, 0x08 };
	/* user: length 5 but 2 bytes left */
	static const unsigned char short_str[] = { 0x01, 0x20, 0x06, 'a',
		'b' };
	/* user: length 32769, above VG_ITEM_PATH_MAX */
	static const unsigned char long_str[] = { 0x01, 0x20, 0x82, 0x80,
		0x02 };
	/* user with a NUL inside */
	static const unsigned char nul_str[] = { 0x01, 0x20, 0x03, 'a', 0 };
	/* hash: unknown algorithm 9 */
	static const unsigned char alg[] = { 0x01, 0x80, 0x80, 0x04, 0x09,
		0x00 };
	/* hash: state 7 */
	static const unsigned char hstate[] = { 0x01, 0x80, 0x80, 0x04, 0x01,
		0x07 };
	/* hash: ok without an algorithm */
	static const unsigned char noalg[] = { 0x01, 0x80, 0x80, 0x04, 0x00,
		0x01 };
	/* hash: sha256 digest cut short */
	static const unsigned char digest[] = { 0x01, 0x80, 0x80, 0x04, 0x01,
		0x01, 0xaa, 0xbb };
	/* props: 4097 entries */
	static const unsigned char nprops[] = { 0x01, 0x80, 0x80, 0x08, 0x81,
		0x20 };
	/* props: 3 entries in 4 bytes */
	static const unsigned char fewbytes[] = { 0x01, 0x80, 0x80, 0x08, 0x03,
		0x01, 0x01, 0x01, 0x01 };
	/* props: "b" then "a" */
	static const unsigned char order[] = { 0x01, 0x80, 0x80, 0x08, 0x02,
		0x02, 'b', 0x01, 0x02, 'a', 0x01 };
	/* props: a name without a value (NULL) */
	static const unsigned char nullval[] = { 0x01, 0x80, 0x80, 0x08, 0x01,
		0x02, 'a', 0x00 };

	(void)state;
	refused(v2, sizeof(v2), VG_ERR_VERSION, "version 2");
	refused(overlong, sizeof(overlong), VG_ERR_CORRUPT, "overlong");
	refused(mask_overlong, sizeof(mask_overlong), VG_ERR_CORRUPT,
	    "overlong");
	refused(too_long, sizeof(too_long), VG_ERR_CORRUPT, "64 bits");
	refused(mask, sizeof(mask), VG_ERR_CORRUPT, "unknown bits");
	refused(uid, sizeof(uid), VG_ERR_CORRUPT, "uid");
	refused(ftype, sizeof(ftype), VG_ERR_CORRUPT, "file type");
	refused(short_str, sizeof(short_str), VG_ERR_CORRUPT, "past the end");
	refused(long_str, sizeof(long_str), VG_ERR_CORRUPT, "exceeds");
	refused(nul_str, sizeof(nul_str), VG_ERR_CORRUPT, "NUL");
	refused(alg, sizeof(alg), VG_ERR_CORRUPT, "algorithm");
	refused(hstate, sizeof(hstate), VG_ERR_CORRUPT, "state");
	refused(noalg, sizeof(noalg), VG_ERR_CORRUPT, "without");
	refused(digest, sizeof(digest), VG_ERR_CORRUPT, "digest");
	refused(nprops, sizeof(nprops), VG_ERR_CORRUPT, "exceed 4096");
	refused(fewbytes, sizeof(fewbytes), VG_ERR_CORRUPT, "cannot fit");
	refused(order, sizeof(order), VG_ERR_CORRUPT, "out of order");
	refused(nullval, sizeof(nullval), VG_ERR_CORRUPT, "no name or value");
}

/* The writer refuses what the reader would refuse. */
static void
test_pack_refuses(void **state)
{
	struct vg_item *it;
	unsigned char *p = (unsigned char *)1;
	size_t len;
	char *big;

	(void)state;
	it = hash_only(VG_HS_OK, VG_HASH_NONE);
	assert_int_equal(vg_pack_attrs(it, &p, &len), VG_ERR_INVAL);
	assert_null(p);
	it->hash_alg = (enum vg_hash_alg)42;
	assert_int_equal(vg_pack_attrs(it, &p, &len), VG_ERR_INVAL);
	it->have = VG_A_TYPE;
	it->ftype = (enum vg_ftype)8;
	assert_int_equal(vg_pack_attrs(it, &p, &len), VG_ERR_INVAL);
	it->have = VG_A_ACL;
	big = malloc(VG_ITEM_PATH_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', VG_ITEM_PATH_MAX + 1);
	big[VG_ITEM_PATH_MAX + 1] = '\0';
	it->acl = big;
	assert_int_equal(vg_pack_attrs(it, &p, &len), VG_ERR_TOOBIG);
	/* Exactly at the cap is fine. */
	big[VG_ITEM_PATH_MAX] = '\0';
	round_trip(it);
	vg_item_free(it);
}

static void
test_path_cap(void **state)
{
	static const unsigned char empty[] = { 0x01, 0x00 };
	struct vg_item *it = NULL;
	char err[128];
	char *path;

	(void)state;
	path = calloc(1, VG_ITEM_PATH_MAX + 1);
	assert_non_null(path);
	memset(path, 'p', VG_ITEM_PATH_MAX + 1);
	assert_int_equal(vg_unpack_attrs(empty, sizeof(empty), VG_KIND_FILE,
	    path, VG_ITEM_PATH_MAX + 1, &it, err, sizeof(err)), VG_ERR_INVAL);
	assert_null(it);
	assert_int_equal(vg_unpack_attrs(empty, sizeof(empty), VG_KIND_FILE,
	    path, VG_ITEM_PATH_MAX, &it, err, sizeof(err)), 0);
	assert_int_equal(it->path_len, VG_ITEM_PATH_MAX);
	vg_item_free(it);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_every_attr),
		cmocka_unit_test(test_symlink),
		cmocka_unit_test(test_hash_states),
		cmocka_unit_test(test_props),
		cmocka_unit_test(test_missing_attrs),
		cmocka_unit_test(test_ignores_unrecorded),
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_pack_refuses),
		cmocka_unit_test(test_path_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
