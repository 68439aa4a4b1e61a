/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of core/vg_item: allocation and deep copies, properties,
 * the attribute diff (one test per attribute bit) and the name tables.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vg_err.h"
#include "vg_hash.h"
#include "vg_item.h"

/* A file item recording every attribute, all set to distinct values. */
static struct vg_item *
full_item(void)
{
	static const char path[] = "/srv/data/\xff" "file";
	struct vg_item *it;

	it = vg_item_new(VG_KIND_FILE, path, sizeof(path) - 1);
	assert_non_null(it);
	it->have = VG_A_ALL;
	it->ftype = VG_FT_REG;
	it->size = 1234567;
	it->mode = 04755;
	it->uid = 1000;
	it->gid = 100;
	assert_int_equal(vg_item_set_str(&it->user, "alice"), 0);
	assert_int_equal(vg_item_set_str(&it->group, "users"), 0);
	it->mtime_ns = 1700000000123456789LL;
	it->ctime_ns = -5;
	it->inode = 424242;
	it->dev = 2049;
	it->nlink = 3;
	assert_int_equal(vg_item_set_str(&it->target, "/elsewhere"), 0);
	assert_int_equal(vg_item_set_str(&it->xattrs, "user.k=0x6869"), 0);
	assert_int_equal(vg_item_set_str(&it->acl, "u::rwx,g::r-x,o::---"),
	    0);
	assert_int_equal(vg_item_set_str(&it->selinux,
	    "system_u:object_r:var_t:s0"), 0);
	it->hash_alg = VG_HASH_SHA256;
	it->hash_state = VG_HS_OK;
	assert_int_equal(vg_hash_buffer(VG_HASH_SHA256, "abc", 3, it->hash),
	    0);
	assert_int_equal(vg_item_set_prop(it, "origin", "test"), 0);
	return it;
}

static void
test_new(void **state)
{
	static const char path[] = "/a/\n/\xfe\xff";
	struct vg_item *it;
	size_t i;

	(void)state;
	it = vg_item_new(VG_KIND_PACKAGE, path, sizeof(path) - 1);
	assert_non_null(it);
	assert_int_equal(it->kind, VG_KIND_PACKAGE);
	assert_int_equal(it->path_len, sizeof(path) - 1);
	assert_memory_equal(it->path, path, sizeof(path));   /* with NUL */
	assert_int_equal(it->have, 0);
	assert_int_equal(it->ftype, VG_FT_NONE);
	assert_true(it->size == 0 && it->mode == 0 && it->uid == 0 &&
	    it->gid == 0 && it->mtime_ns == 0 && it->ctime_ns == 0 &&
	    it->inode == 0 && it->dev == 0 && it->nlink == 0);
	assert_null(it->user);
	assert_null(it->group);
	assert_null(it->target);
	assert_null(it->xattrs);
	assert_null(it->acl);
	assert_null(it->selinux);
	assert_int_equal(it->hash_alg, VG_HASH_NONE);
	assert_int_equal(it->hash_state, VG_HS_NONE);
	for (i = 0; i < VG_HASH_MAX_LEN; i++)
		assert_int_equal(it->hash[i], 0);
	assert_null(it->props);
	assert_int_equal(it->nprops, 0);
	vg_item_free(it);

	/* Only len bytes are taken. */
	it = vg_item_new(VG_KIND_FILE, "/etc/passwd", 4);
	assert_non_null(it);
	assert_string_equal(it->path, "/etc");
	assert_int_equal(it->path_len, 4);
	vg_item_free(it);
	vg_item_free(NULL);
}

static void
test_set_str(void **state)
{
	char *field = NULL;
	char buf[] = "abc";

	(void)state;
	assert_int_equal(vg_item_set_str(&field, buf), 0);
	assert_string_equal(field, "abc");
	assert_ptr_not_equal(field, buf);   /* a copy */
	assert_int_equal(vg_item_set_str(&field, "longer value"), 0);
	assert_string_equal(field, "longer value");
	assert_int_equal(vg_item_set_str(&field, NULL), 0);
	assert_null(field);
}

static void
test_dup_is_deep(void **state)
{
	struct vg_item *a, *b;

	(void)state;
	a = full_item();
	assert_int_equal(vg_item_set_prop(a, "zeta", "last"), 0);
	b = vg_item_dup(a);
	assert_non_null(b);
	assert_int_equal(b->kind, a->kind);
	assert_int_equal(b->path_len, a->path_len);
	assert_memory_equal(b->path, a->path, a->path_len + 1);
	assert_int_equal(b->have, a->have);
	assert_int_equal(vg_item_diff(a, b, 0), 0);
	/* Every string is a copy of its own. */
	assert_ptr_not_equal(b->user, a->user);
	assert_ptr_not_equal(b->group, a->group);
	assert_ptr_not_equal(b->target, a->target);
	assert_ptr_not_equal(b->xattrs, a->xattrs);
	assert_ptr_not_equal(b->acl, a->acl);
	assert_ptr_not_equal(b->selinux, a->selinux);
	assert_ptr_not_equal(b->props, a->props);
	assert_string_equal(b->user, "alice");
	assert_string_equal(b->selinux, "system_u:object_r:var_t:s0");
	assert_int_equal(b->nprops, 2);
	assert_string_equal(b->props[0].name, "origin");
	assert_string_equal(b->props[1].name, "zeta");
	assert_string_equal(b->props[1].value, "last");
	assert_memory_equal(b->hash, a->hash, VG_HASH_MAX_LEN);
	/* Changing the copy leaves the original alone. */
	assert_int_equal(vg_item_set_str(&b->user, "mallory"), 0);
	assert_int_equal(vg_item_set_prop(b, "origin", "changed"), 0);
	assert_string_equal(a->user, "alice");
	assert_string_equal(vg_item_prop(a, "origin"), "test");
	vg_item_free(a);   /* b must not share anything with a */
	assert_string_equal(b->group, "users");
	vg_item_free(b);

	/* An item without strings or properties. */
	a = vg_item_new(VG_KIND_PORT, "tcp/22", 6);
	assert_non_null(a);
	b = vg_item_dup(a);
	assert_non_null(b);
	assert_string_equal(b->path, "tcp/22");
	assert_null(b->user);
	assert_null(b->props);
	assert_int_equal(b->nprops, 0);
	vg_item_free(a);
	vg_item_free(b);
}

static void
test_set_prop_sorted_and_replaces(void **state)
{
	static const char *const order[] = { "arch", "name", "section",
		"version" };
	struct vg_item *it;
	size_t i;

	(void)state;
	it = vg_item_new(VG_KIND_PACKAGE, "openssl", 7);
	assert_non_null(it);
	assert_null(vg_item_prop(it, "version"));
	assert_int_equal(vg_item_set_prop(it, "version", "3.0.11"), 0);
	assert_int_equal(it->have, VG_A_PROPS);
	assert_int_equal(vg_item_set_prop(it, "arch", "amd64"), 0);
	assert_int_equal(vg_item_set_prop(it, "section", "libs"), 0);
	assert_int_equal(vg_item_set_prop(it, "name", "openssl"), 0);
	assert_int_equal(it->nprops, 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(it->props[i].name, order[i]);
	/* Replacing keeps the count and the order. */
	assert_int_equal(vg_item_set_prop(it, "section", "utils"), 0);
	assert_int_equal(vg_item_set_prop(it, "arch", ""), 0);
	assert_int_equal(it->nprops, 4);
	for (i = 0; i < 4; i++)
		assert_string_equal(it->props[i].name, order[i]);
	assert_string_equal(vg_item_prop(it, "section"), "utils");
	assert_string_equal(vg_item_prop(it, "arch"), "");
	assert_string_equal(vg_item_prop(it, "version"), "3.0.11");
	assert_string_equal(vg_item_prop(it, "name"), "openssl");
	assert_null(vg_item_prop(it, "Arch"));
	assert_null(vg_item_prop(it, "missing"));
	/* Byte order, not locale order. */
	assert_int_equal(vg_item_set_prop(it, "Zulu", "1"), 0);
	assert_int_equal(vg_item_set_prop(it, "zulu", "2"), 0);
	assert_int_equal(it->nprops, 6);
	assert_string_equal(it->props[0].name, "Zulu");
	assert_string_equal(it->props[5].name, "zulu");
	vg_item_free(it);
}

static struct vg_prop *
props_of(const char *const *kv, size_t n)
{
	struct vg_prop *p = calloc(n, sizeof(*p));
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		p[i].name = strdup(kv[2 * i]);
		p[i].value = strdup(kv[2 * i + 1]);
		assert_non_null(p[i].name);
		assert_non_null(p[i].value);
	}
	return p;
}

static void
test_take_props(void **state)
{
	static const char *const kv[] = { "version", "3", "arch", "amd64",
		"Zulu", "z", "name", "openssl" };
	static const char *const twice[] = { "b", "1", "a", "2", "b", "3" };
	struct vg_item *it, *c;
	struct vg_prop *p;
	const char *dup = NULL;

	(void)state;
	it = vg_item_new(VG_KIND_PACKAGE, "openssl", 7);
	assert_non_null(it);
	assert_int_equal(vg_item_set_prop(it, "old", "gone"), 0);
	/* Sorted by bytes, replacing what was there. */
	assert_int_equal(vg_item_take_props(it, props_of(kv, 4), 4, NULL), 0);
	assert_int_equal(it->have, VG_A_PROPS);
	assert_int_equal(it->nprops, 4);
	assert_string_equal(it->props[0].name, "Zulu");
	assert_string_equal(it->props[1].name, "arch");
	assert_string_equal(it->props[2].name, "name");
	assert_string_equal(it->props[3].name, "version");
	assert_null(vg_item_prop(it, "old"));
	assert_string_equal(vg_item_prop(it, "name"), "openssl");
	assert_string_equal(vg_item_prop(it, "Zulu"), "z");
	/* set_prop keeps working on the result. */
	assert_int_equal(vg_item_set_prop(it, "b", "between"), 0);
	assert_string_equal(it->props[2].name, "b");
	assert_int_equal(it->nprops, 5);

	/* A name twice: refused, named, nothing taken. */
	p = props_of(twice, 3);
	assert_int_equal(vg_item_take_props(it, p, 3, &dup), VG_ERR_INVAL);
	assert_non_null(dup);
	assert_string_equal(dup, "b");
	assert_int_equal(it->nprops, 5);
	vg_props_free(p, 3);

	/* A copy is deep and in the same order. */
	c = vg_item_new(VG_KIND_PACKAGE, "x", 1);
	assert_non_null(c);
	assert_int_equal(vg_item_set_prop(c, "dropped", "1"), 0);
	assert_int_equal(vg_item_copy_props(c, it), 0);
	assert_int_equal(c->nprops, 5);
	assert_ptr_not_equal(c->props[0].name, it->props[0].name);
	assert_string_equal(c->props[4].value, "3");
	assert_null(vg_item_prop(c, "dropped"));

	/* None at all: an empty, recorded set. */
	assert_int_equal(vg_item_take_props(c, NULL, 0, NULL), 0);
	assert_int_equal(c->nprops, 0);
	assert_null(c->props);
	assert_true(c->have & VG_A_PROPS);
	vg_item_free(c);
	vg_item_free(it);
}

/* Changes exactly one attribute of it (the one bit stands for). */
static void
alter(struct vg_item *it, uint32_t bit)
{
	switch (bit) {
	case VG_A_TYPE: it->ftype = VG_FT_DIR; break;
	case VG_A_SIZE: it->size++; break;
	case VG_A_MODE: it->mode ^= 0001; break;
	case VG_A_UID: it->uid = 0; break;
	case VG_A_GID: it->gid = 0; break;
	case VG_A_USER:
		assert_int_equal(vg_item_set_str(&it->user, "bob"), 0);
		break;
	case VG_A_GROUP:
		assert_int_equal(vg_item_set_str(&it->group, NULL), 0);
		break;
	case VG_A_MTIME: it->mtime_ns++; break;
	case VG_A_CTIME: it->ctime_ns = 5; break;
	case VG_A_INODE: it->inode = 1; break;
	case VG_A_DEV: it->dev = 2050; break;
	case VG_A_NLINK: it->nlink = 1; break;
	case VG_A_TARGET:
		assert_int_equal(vg_item_set_str(&it->target, "/elsewhere/"),
		    0);
		break;
	case VG_A_XATTRS:
		assert_int_equal(vg_item_set_str(&it->xattrs, ""), 0);
		break;
	case VG_A_ACL:
		assert_int_equal(vg_item_set_str(&it->acl,
		    "u::rwx,g::r-x,o::r--"), 0);
		break;
	case VG_A_SELINUX:
		assert_int_equal(vg_item_set_str(&it->selinux,
		    "system_u:object_r:etc_t:s0"), 0);
		break;
	case VG_A_HASH: it->hash[31] ^= 1; break;
	case VG_A_PROPS:
		assert_int_equal(vg_item_set_prop(it, "origin", "other"), 0);
		break;
	default:
		fail();
	}
}

static void
test_diff_each_attribute(void **state)
{
	struct vg_item *a, *b;
	uint32_t bit;
	int n = 0;

	(void)state;
	a = full_item();
	assert_int_equal(vg_item_diff(a, a, 0), 0);
	for (bit = 1; bit & VG_A_ALL; bit <<= 1, n++) {
		b = vg_item_dup(a);
		assert_non_null(b);
		alter(b, bit);
		print_message("attribute %s\n", vg_attr_name(bit));
		assert_int_equal(vg_item_diff(a, b, 0), bit);
		assert_int_equal(vg_item_diff(b, a, 0), bit);
		/* Ignored: no difference. */
		assert_int_equal(vg_item_diff(a, b, bit), 0);
		assert_int_equal(vg_item_diff(a, b, VG_A_ALL), 0);
		/* Ignoring the others does not hide it. */
		assert_int_equal(vg_item_diff(a, b, VG_A_ALL & ~bit), bit);
		/* Not recorded by one side: not compared. */
		b->have &= ~bit;
		assert_int_equal(vg_item_diff(a, b, 0), 0);
		assert_int_equal(vg_item_diff(b, a, 0), 0);
		vg_item_free(b);
	}
	assert_int_equal(n, VG_A_COUNT);
	vg_item_free(a);
}

static void
test_diff_many_attributes(void **state)
{
	struct vg_item *a, *b;

	(void)state;
	a = full_item();
	b = vg_item_dup(a);
	assert_non_null(b);
	alter(b, VG_A_SIZE);
	alter(b, VG_A_MTIME);
	alter(b, VG_A_HASH);
	alter(b, VG_A_USER);
	assert_int_equal(vg_item_diff(a, b, 0),
	    VG_A_SIZE | VG_A_MTIME | VG_A_HASH | VG_A_USER);
	assert_int_equal(vg_item_diff(a, b, VG_A_MTIME | VG_A_USER),
	    VG_A_SIZE | VG_A_HASH);
	vg_item_free(a);
	vg_item_free(b);
}

static void
test_diff_strings_null(void **state)
{
	struct vg_item *a, *b;

	(void)state;
	a = vg_item_new(VG_KIND_FILE, "/x", 2);
	b = vg_item_new(VG_KIND_FILE, "/x", 2);
	assert_non_null(a);
	assert_non_null(b);
	a->have = b->have = VG_A_USER | VG_A_TARGET;
	/* Both unknown: equal. */
	assert_int_equal(vg_item_diff(a, b, 0), 0);
	/* Unknown against known: different. */
	assert_int_equal(vg_item_set_str(&b->user, "root"), 0);
	assert_int_equal(vg_item_diff(a, b, 0), VG_A_USER);
	assert_int_equal(vg_item_diff(b, a, 0), VG_A_USER);
	/* Empty is not unknown. */
	assert_int_equal(vg_item_set_str(&a->target, ""), 0);
	assert_int_equal(vg_item_diff(a, b, 0), VG_A_USER | VG_A_TARGET);
	vg_item_free(a);
	vg_item_free(b);
}

static void
test_diff_hash_only_when_both_ok(void **state)
{
	static const enum vg_hash_state states[] = { VG_HS_NONE,
		VG_HS_SIZE_CAP, VG_HS_UNREADABLE, VG_HS_UNSTABLE };
	struct vg_item *a, *b;
	size_t i;

	(void)state;
	a = full_item();
	b = vg_item_dup(a);
	assert_non_null(b);
	b->hash[0] ^= 0xff;
	assert_int_equal(vg_item_diff(a, b, 0), VG_A_HASH);
	/* Only one side holds a digest: no verdict on the content. */
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		b->hash_state = states[i];
		assert_int_equal(vg_item_diff(a, b, 0), 0);
		assert_int_equal(vg_item_diff(b, a, 0), 0);
		a->hash_state = states[i];
		assert_int_equal(vg_item_diff(a, b, 0), 0);
		a->hash_state = VG_HS_OK;
	}
	b->hash_state = VG_HS_OK;
	/* Digests of different algorithms are not comparable. */
	b->hash_alg = VG_HASH_SHA512;
	assert_int_equal(vg_hash_buffer(VG_HASH_SHA512, "xyz", 3, b->hash),
	    0);
	assert_int_equal(vg_item_diff(a, b, 0), 0);
	/* Same algorithm, same digest: equal, even if bytes past the
	 * digest length differ. */
	b->hash_alg = VG_HASH_SHA256;
	memcpy(b->hash, a->hash, 32);
	b->hash[40] = 0x77;
	assert_int_equal(vg_item_diff(a, b, 0), 0);
	vg_item_free(a);
	vg_item_free(b);
}

static void
test_diff_props(void **state)
{
	struct vg_item *a, *b;

	(void)state;
	a = vg_item_new(VG_KIND_SERVICE, "sshd", 4);
	b = vg_item_new(VG_KIND_SERVICE, "sshd", 4);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(vg_item_set_prop(a, "state", "running"), 0);
	assert_int_equal(vg_item_set_prop(b, "state", "running"), 0);
	assert_int_equal(vg_item_diff(a, b, 0), 0);
	/* An extra property. */
	assert_int_equal(vg_item_set_prop(b, "enabled", "yes"), 0);
	assert_int_equal(vg_item_diff(a, b, 0), VG_A_PROPS);
	/* Same names, one value differs. */
	assert_int_equal(vg_item_set_prop(a, "enabled", "no"), 0);
	assert_int_equal(vg_item_diff(a, b, 0), VG_A_PROPS);
	assert_int_equal(vg_item_set_prop(a, "enabled", "yes"), 0);
	assert_int_equal(vg_item_diff(a, b, 0), 0);
	assert_int_equal(vg_item_diff(a, b, VG_A_PROPS), 0);
	vg_item_free(a);
	vg_item_free(b);
}

static void
test_attr_names(void **state)
{
	static const char *const names[VG_A_COUNT] = { "type", "size", "mode",
		"uid", "gid", "user", "group", "mtime", "ctime", "inode", "dev",
		"nlink", "target", "xattrs", "acl", "selinux", "hash", "props" };
	uint32_t bit;
	int i;

	(void)state;
	for (i = 0; i < VG_A_COUNT; i++) {
		assert_string_equal(vg_attr_name(1u << i), names[i]);
		bit = 0;
		assert_int_equal(vg_attr_parse(names[i], &bit), 0);
		assert_int_equal(bit, 1u << i);
	}
	assert_int_equal(VG_A_ALL, 0x3ffff);
	assert_null(vg_attr_name(0));
	assert_null(vg_attr_name(VG_A_SIZE | VG_A_MODE));
	assert_null(vg_attr_name(1u << VG_A_COUNT));
	bit = 7;
	assert_int_equal(vg_attr_parse("bogus", &bit), VG_ERR_INVAL);
	assert_int_equal(vg_attr_parse("", &bit), VG_ERR_INVAL);
	assert_int_equal(vg_attr_parse("Size", &bit), VG_ERR_INVAL);
	assert_int_equal(vg_attr_parse("hash_state", &bit), VG_ERR_INVAL);
	assert_int_equal(bit, 7);
}

static void
test_ftype_names(void **state)
{
	static const char *const names[] = { "file", "dir", "symlink", "fifo",
		"socket", "chardev", "blockdev" };
	enum vg_ftype t;
	int i;

	(void)state;
	for (i = 0; i < 7; i++) {
		assert_string_equal(vg_ftype_name((enum vg_ftype)(i + 1)),
		    names[i]);
		t = VG_FT_NONE;
		assert_int_equal(vg_ftype_parse(names[i], &t), 0);
		assert_int_equal(t, (enum vg_ftype)(i + 1));
	}
	assert_int_equal(VG_FT_REG, 1);
	assert_int_equal(VG_FT_BLK, 7);
	assert_string_equal(vg_ftype_name(VG_FT_NONE), "none");
	assert_string_equal(vg_ftype_name((enum vg_ftype)8), "none");
	t = VG_FT_DIR;
	assert_int_equal(vg_ftype_parse("regular", &t), VG_ERR_INVAL);
	assert_int_equal(vg_ftype_parse("", &t), VG_ERR_INVAL);
	assert_int_equal(vg_ftype_parse("FILE", &t), VG_ERR_INVAL);
	assert_int_equal(t, VG_FT_DIR);
}

static void
test_kind_names(void **state)
{
	static const char *const names[] = { "file", "regkey", "regvalue",
		"package", "service", "user", "group", "port", "command",
		"devconfig", "sysctl" };
	enum vg_item_kind k;
	int i;

	(void)state;
	for (i = 0; i < 11; i++) {
		assert_string_equal(vg_kind_name((enum vg_item_kind)(i + 1)),
		    names[i]);
		k = (enum vg_item_kind)0;
		assert_int_equal(vg_kind_parse(names[i], &k), 0);
		assert_int_equal(k, (enum vg_item_kind)(i + 1));
	}
	assert_int_equal(VG_KIND_DEVCONFIG, 10);
	assert_int_equal(VG_KIND_SYSCTL, 11);
	assert_null(vg_kind_name((enum vg_item_kind)0));
	assert_null(vg_kind_name((enum vg_item_kind)12));
	k = VG_KIND_USER;
	assert_int_equal(vg_kind_parse("files", &k), VG_ERR_INVAL);
	assert_int_equal(vg_kind_parse("", &k), VG_ERR_INVAL);
	assert_int_equal(k, VG_KIND_USER);
}

static void
test_hash_state_names(void **state)
{
	static const char *const names[] = { "none", "ok", "size-cap",
		"unreadable", "unstable" };
	enum vg_hash_state s;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		assert_string_equal(vg_hash_state_name((enum vg_hash_state)i),
		    names[i]);
		s = (enum vg_hash_state)99;
		assert_int_equal(vg_hash_state_parse(names[i], &s), 0);
		assert_int_equal(s, (enum vg_hash_state)i);
	}
	assert_int_equal(VG_HS_UNSTABLE, 4);
	assert_null(vg_hash_state_name((enum vg_hash_state)5));
	s = VG_HS_OK;
	assert_int_equal(vg_hash_state_parse("size_cap", &s), VG_ERR_INVAL);
	assert_int_equal(vg_hash_state_parse("OK", &s), VG_ERR_INVAL);
	assert_int_equal(s, VG_HS_OK);
}

static void
test_change_names_and_clear(void **state)
{
	static const char *const names[] = { "added", "removed", "changed" };
	enum vg_change_type t;
	struct vg_change c;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_string_equal(vg_change_type_name(
		    (enum vg_change_type)(i + 1)), names[i]);
		t = (enum vg_change_type)0;
		assert_int_equal(vg_change_type_parse(names[i], &t), 0);
		assert_int_equal(t, (enum vg_change_type)(i + 1));
	}
	assert_null(vg_change_type_name((enum vg_change_type)0));
	assert_null(vg_change_type_name((enum vg_change_type)4));
	t = VG_CHANGE_ADDED;
	assert_int_equal(vg_change_type_parse("modified", &t), VG_ERR_INVAL);
	assert_int_equal(t, VG_CHANGE_ADDED);

	/* Clear frees what the change owns and zeroes it. */
	c.type = VG_CHANGE_CHANGED;
	c.old = full_item();
	c.new = full_item();
	c.changed = VG_A_SIZE;
	c.diff = strdup("@@ -1 +1 @@\n-a\n+b\n");
	c.diff_truncated = 1;
	assert_non_null(c.diff);
	vg_change_clear(&c);
	assert_null(c.old);
	assert_null(c.new);
	assert_null(c.diff);
	assert_int_equal(c.type, 0);
	assert_int_equal(c.changed, 0);
	assert_int_equal(c.diff_truncated, 0);
	vg_change_clear(&c);
	vg_change_clear(NULL);
}

/* Path order: bytes, then the shorter first; types from st_mode. */
static void
test_path_cmp_and_mode(void **state)
{
	struct vg_item *a = vg_item_new(VG_KIND_FILE, "/a", 2);
	struct vg_item *ab = vg_item_new(VG_KIND_FILE, "/a/b", 4);
	struct vg_item *hi = vg_item_new(VG_KIND_FILE, "/\xff", 2);

	(void)state;
	assert_true(vg_item_path_cmp(a, ab) < 0);
	assert_true(vg_item_path_cmp(ab, a) > 0);
	assert_int_equal(vg_item_path_cmp(a, a), 0);
	/* unsigned bytes: 0xff after 'a' */
	assert_true(vg_item_path_cmp(ab, hi) < 0);
	assert_int_equal(vg_ftype_from_mode(S_IFREG | 0644), VG_FT_REG);
	assert_int_equal(vg_ftype_from_mode(S_IFDIR | 01777), VG_FT_DIR);
	assert_int_equal(vg_ftype_from_mode(S_IFLNK), VG_FT_LNK);
	assert_int_equal(vg_ftype_from_mode(S_IFIFO), VG_FT_FIFO);
	assert_int_equal(vg_ftype_from_mode(S_IFSOCK), VG_FT_SOCK);
	assert_int_equal(vg_ftype_from_mode(S_IFCHR), VG_FT_CHR);
	assert_int_equal(vg_ftype_from_mode(S_IFBLK), VG_FT_BLK);
	assert_int_equal(vg_ftype_from_mode(0644), VG_FT_NONE);
	vg_item_free(a);
	vg_item_free(ab);
	vg_item_free(hi);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new),
		cmocka_unit_test(test_set_str),
		cmocka_unit_test(test_dup_is_deep),
		cmocka_unit_test(test_set_prop_sorted_and_replaces),
		cmocka_unit_test(test_take_props),
		cmocka_unit_test(test_diff_each_attribute),
		cmocka_unit_test(test_diff_many_attributes),
		cmocka_unit_test(test_diff_strings_null),
		cmocka_unit_test(test_diff_hash_only_when_both_ok),
		cmocka_unit_test(test_diff_props),
		cmocka_unit_test(test_attr_names),
		cmocka_unit_test(test_ftype_names),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_hash_state_names),
		cmocka_unit_test(test_change_names_and_clear),
		cmocka_unit_test(test_path_cmp_and_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
