/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of core/vg_json: items and changes go to JSON text and back
 * unchanged, and the strict readers refuse bad input with a message that
 * names the field.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vg_err.h"
#include "vg_hash.h"
#include "vg_item.h"
#include "vg_json.h"
#include "vg_pack.h"
#include "vg_util.h"

#include "assert_item.h"

/* A file item with every attribute recorded. */
static struct vg_item *
full_file(const char *path, size_t len)
{
	struct vg_item *it = vg_item_new(VG_KIND_FILE, path, len);

	assert_non_null(it);
	it->have = VG_A_ALL;
	it->ftype = VG_FT_REG;
	it->size = 9007199254740993ULL;   /* 2^53 + 1: not a double */
	it->mode = 04755;
	it->uid = 4294967295u;
	it->gid = 0;
	assert_int_equal(vg_item_set_str(&it->user, "r\xc3\xb6ot"), 0);
	assert_int_equal(vg_item_set_str(&it->group, "wheel"), 0);
	it->mtime_ns = 1700000000123456789LL;
	it->ctime_ns = -1500000000LL;
	it->inode = 1234567890123ULL;
	it->dev = 2049;
	it->nlink = 7;
	assert_int_equal(vg_item_set_str(&it->target, "../lib/x.so.1"), 0);
	assert_int_equal(vg_item_set_str(&it->xattrs,
	    "user.a=0x6869\nuser.b=0x"), 0);
	assert_int_equal(vg_item_set_str(&it->acl,
	    "u::rwx,u:bob:r--,g::r-x,m::r-x,o::---"), 0);
	assert_int_equal(vg_item_set_str(&it->selinux,
	    "system_u:object_r:bin_t:s0"), 0);
	it->hash_alg = VG_HASH_SHA256;
	it->hash_state = VG_HS_OK;
	assert_int_equal(vg_hash_buffer(VG_HASH_SHA256, "abc", 3, it->hash),
	    0);
	assert_int_equal(vg_item_set_prop(it, "note", "line1\nline2"), 0);
	return it;
}

/* JSON value -> text -> value, as it travels. */
static json_t *
through_text(json_t *j)
{
	json_error_t jerr;
	json_t *back;
	char *s;

	assert_non_null(j);
	s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	assert_non_null(s);
	back = json_loads(s, 0, &jerr);
	assert_non_null(back);
	free(s);
	json_decref(j);
	return back;
}

static struct vg_item *
item_round_trip(const struct vg_item *it, json_t **jout)
{
	struct vg_item *back = NULL;
	char err[256] = "";
	json_t *j;

	j = through_text(vg_item_to_json(it));
	if (vg_item_from_json(j, &back, err, sizeof(err)) != 0)
		fail_msg("vg_item_from_json: %s", err);
	assert_non_null(back);
	if (jout != NULL)
		*jout = j;
	else
		json_decref(j);
	return back;
}

static const char *
attr_str(const json_t *j, const char *key)
{
	const json_t *v = json_object_get(json_object_get(j, "attrs"), key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static void
test_file_item_every_attribute(void **state)
{
	struct vg_item *it, *back;
	json_t *j, *attrs;

	(void)state;
	it = full_file("/usr/bin/su", 11);
	back = item_round_trip(it, &j);
	assert_items_equal(it, back);

	/* The canonical form of each attribute. */
	assert_string_equal(json_string_value(json_object_get(j, "kind")),
	    "file");
	assert_string_equal(json_string_value(json_object_get(j, "path")),
	    "/usr/bin/su");
	assert_null(json_object_get(j, "path_b64"));
	attrs = json_object_get(j, "attrs");
	assert_int_equal(json_object_size(attrs), VG_A_COUNT);
	assert_string_equal(attr_str(j, "type"), "file");
	assert_string_equal(attr_str(j, "mode"), "4755");
	assert_true(json_integer_value(json_object_get(attrs, "size")) ==
	    9007199254740993LL);
	assert_true(json_integer_value(json_object_get(attrs, "uid")) ==
	    4294967295LL);
	assert_string_equal(attr_str(j, "mtime"),
	    "2023-11-14T22:13:20.123456789Z");
	assert_string_equal(attr_str(j, "ctime"),
	    "1969-12-31T23:59:58.500000000Z");
	assert_string_equal(attr_str(j, "hash"), "sha256:"
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    attrs, "props"), "note")), "line1\nline2");
	assert_null(json_object_get(attrs, "hash_state"));
	json_decref(j);
	vg_item_free(back);
	vg_item_free(it);
}

static void
test_file_item_partial_and_hash_states(void **state)
{
	static const enum vg_hash_state states[] = { VG_HS_NONE,
		VG_HS_SIZE_CAP, VG_HS_UNREADABLE, VG_HS_UNSTABLE };
	struct vg_item *it, *back;
	json_t *j;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		it = vg_item_new(VG_KIND_FILE, "/var/log/big", 12);
		assert_non_null(it);
		it->have = VG_A_TYPE | VG_A_SIZE | VG_A_HASH | VG_A_USER;
		it->ftype = VG_FT_REG;
		it->size = 1ULL << 40;
		it->hash_state = states[i];   /* no digest, for a reason */
		back = item_round_trip(it, &j);
		assert_items_equal(it, back);
		assert_true(json_is_null(json_object_get(json_object_get(j,
		    "attrs"), "hash")));
		assert_true(json_is_null(json_object_get(json_object_get(j,
		    "attrs"), "user")));
		assert_string_equal(attr_str(j, "hash_state"),
		    vg_hash_state_name(states[i]));
		json_decref(j);
		vg_item_free(back);
		vg_item_free(it);
	}
}

static void
test_file_item_other_types_and_algs(void **state)
{
	static const enum vg_hash_alg algs[] = { VG_HASH_SHA384,
		VG_HASH_SHA512, VG_HASH_SHA1, VG_HASH_MD5 };
	struct vg_item *it, *back;
	enum vg_ftype t;
	size_t i;

	(void)state;
	for (t = VG_FT_REG; t <= VG_FT_BLK; t++) {
		it = vg_item_new(VG_KIND_FILE, "/dev/x", 6);
		assert_non_null(it);
		it->have = VG_A_TYPE | VG_A_MODE;
		it->ftype = t;
		it->mode = 0;
		back = item_round_trip(it, NULL);
		assert_items_equal(it, back);
		vg_item_free(back);
		vg_item_free(it);
	}
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		it = vg_item_new(VG_KIND_FILE, "/f", 2);
		assert_non_null(it);
		it->have = VG_A_HASH;
		it->hash_alg = algs[i];
		it->hash_state = VG_HS_OK;
		memset(it->hash, 0xa5, vg_hash_len(algs[i]));
		back = item_round_trip(it, NULL);
		assert_items_equal(it, back);
		vg_item_free(back);
		vg_item_free(it);
	}
}

static void
test_non_utf8_path(void **state)
{
	static const char path[] = "/home/u/caf\xe9 \xff\xfe/x";
	struct vg_item *it, *back;
	unsigned char *raw;
	const char *shown;
	size_t rawlen;
	json_t *j;

	(void)state;
	it = full_file(path, sizeof(path) - 1);
	back = item_round_trip(it, &j);
	/* The exact bytes come back. */
	assert_int_equal(back->path_len, sizeof(path) - 1);
	assert_memory_equal(back->path, path, sizeof(path));
	assert_items_equal(it, back);
	/* "path" is for display: valid UTF-8 with U+FFFD; "path_b64" holds
	 * the bytes. */
	shown = json_string_value(json_object_get(j, "path"));
	assert_non_null(shown);
	assert_string_equal(shown, "/home/u/caf\xef\xbf\xbd \xef\xbf\xbd"
	    "\xef\xbf\xbd/x");
	assert_int_equal(vg_base64_decode(json_string_value(json_object_get(j,
	    "path_b64")), json_string_length(json_object_get(j, "path_b64")),
	    &raw, &rawlen), 0);
	assert_int_equal(rawlen, sizeof(path) - 1);
	assert_memory_equal(raw, path, rawlen);
	free(raw);
	json_decref(j);
	vg_item_free(back);
	vg_item_free(it);
}

static void
test_non_utf8_strings_encode(void **state)
{
	struct vg_item *it, *back;
	json_t *j;

	(void)state;
	/* Strings that are not UTF-8 still give JSON (shown with U+FFFD),
	 * rather than no JSON at all. */
	it = vg_item_new(VG_KIND_FILE, "/l", 2);
	assert_non_null(it);
	it->have = VG_A_TARGET | VG_A_USER | VG_A_XATTRS | VG_A_ACL |
	    VG_A_SELINUX;
	assert_int_equal(vg_item_set_str(&it->target, "t\xff"), 0);
	assert_int_equal(vg_item_set_str(&it->user, "u\xff"), 0);
	assert_int_equal(vg_item_set_str(&it->xattrs, "x\xff"), 0);
	assert_int_equal(vg_item_set_str(&it->acl, "a\xff"), 0);
	assert_int_equal(vg_item_set_str(&it->selinux, "s\xff"), 0);
	back = item_round_trip(it, &j);
	assert_string_equal(attr_str(j, "target"), "t\xef\xbf\xbd");
	assert_string_equal(attr_str(j, "xattrs"), "x\xef\xbf\xbd");
	assert_string_equal(attr_str(j, "acl"), "a\xef\xbf\xbd");
	assert_string_equal(attr_str(j, "selinux"), "s\xef\xbf\xbd");
	assert_string_equal(back->user, "u\xef\xbf\xbd");
	json_decref(j);
	vg_item_free(back);
	vg_item_free(it);
}

static void
test_props_item(void **state)
{
	struct vg_item *it, *back;
	json_t *j, *props;

	(void)state;
	it = vg_item_new(VG_KIND_PACKAGE, "openssl", 7);
	assert_non_null(it);
	assert_int_equal(vg_item_set_prop(it, "version", "3.0.11-1~deb12u2"),
	    0);
	assert_int_equal(vg_item_set_prop(it, "arch", "amd64"), 0);
	assert_int_equal(vg_item_set_prop(it, "summary",
	    "Secure Sockets Layer toolkit \xe2\x80\x94 binary"), 0);
	assert_int_equal(vg_item_set_prop(it, "empty", ""), 0);
	back = item_round_trip(it, &j);
	assert_items_equal(it, back);
	assert_int_equal(back->kind, VG_KIND_PACKAGE);
	assert_string_equal(json_string_value(json_object_get(j, "kind")),
	    "package");
	assert_int_equal(json_object_size(json_object_get(j, "attrs")), 1);
	props = json_object_get(json_object_get(j, "attrs"), "props");
	assert_int_equal(json_object_size(props), 4);
	assert_string_equal(json_string_value(json_object_get(props, "arch")),
	    "amd64");
	assert_string_equal(vg_item_prop(back, "version"), "3.0.11-1~deb12u2");
	json_decref(j);
	vg_item_free(back);
	vg_item_free(it);
}

/* change -> JSON text -> change, and the fields that must match. */
static void
change_round_trip(const struct vg_change *c, struct vg_change *back,
    json_t **jout)
{
	char err[256] = "";
	json_t *j;

	j = through_text(vg_change_to_json(c));
	if (vg_change_from_json(j, back, err, sizeof(err)) != 0)
		fail_msg("vg_change_from_json: %s", err);
	assert_int_equal(back->type, c->type);
	assert_int_equal(back->changed, c->changed);
	assert_int_equal(back->diff_truncated, c->diff_truncated);
	assert_str_or_null_equal(back->diff, c->diff);
	if (c->old == NULL)
		assert_null(back->old);
	else
		assert_items_equal(c->old, back->old);
	if (c->new == NULL)
		assert_null(back->new);
	else
		assert_items_equal(c->new, back->new);
	*jout = j;
}

static void
test_change_added_removed(void **state)
{
	struct vg_change c, back;
	json_t *j;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.type = VG_CHANGE_ADDED;
	c.new = full_file("/etc/new", 8);
	change_round_trip(&c, &back, &j);
	assert_string_equal(json_string_value(json_object_get(j, "change")),
	    "added");
	assert_string_equal(json_string_value(json_object_get(j, "path")),
	    "/etc/new");
	assert_null(json_object_get(j, "old"));
	assert_null(json_object_get(j, "changed"));
	assert_null(json_object_get(j, "diff"));
	json_decref(j);
	vg_change_clear(&back);
	vg_change_clear(&c);

	c.type = VG_CHANGE_REMOVED;
	c.old = full_file("/etc/\xffgone", 10);
	change_round_trip(&c, &back, &j);
	assert_string_equal(json_string_value(json_object_get(j, "change")),
	    "removed");
	assert_non_null(json_object_get(j, "path_b64"));
	assert_null(json_object_get(j, "new"));
	json_decref(j);
	vg_change_clear(&back);
	vg_change_clear(&c);
}

static void
test_change_changed(void **state)
{
	struct vg_change c, back;
	json_t *j, *names;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.type = VG_CHANGE_CHANGED;
	c.old = full_file("/etc/hosts", 10);
	c.new = vg_item_dup(c.old);
	assert_non_null(c.new);
	c.new->size = 10;
	c.new->mtime_ns += 1000;
	c.new->hash[0] ^= 1;
	c.changed = vg_item_diff(c.old, c.new, 0);
	assert_int_equal(c.changed, VG_A_SIZE | VG_A_MTIME | VG_A_HASH);
	c.diff = strdup("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n");
	assert_non_null(c.diff);
	c.diff_truncated = 1;
	change_round_trip(&c, &back, &j);
	names = json_object_get(j, "changed");
	assert_int_equal(json_array_size(names), 3);
	assert_string_equal(json_string_value(json_array_get(names, 0)),
	    "size");
	assert_string_equal(json_string_value(json_array_get(names, 1)),
	    "mtime");
	assert_string_equal(json_string_value(json_array_get(names, 2)),
	    "hash");
	assert_true(json_is_true(json_object_get(j, "diff_truncated")));
	json_decref(j);
	vg_change_clear(&back);

	/* A diff of bytes that are not UTF-8 still gives JSON. */
	free(c.diff);
	c.diff = strdup("-caf\xe9\n+cafe\n");
	assert_non_null(c.diff);
	j = vg_change_to_json(&c);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "diff")),
	    "-caf\xef\xbf\xbd\n+cafe\n");
	json_decref(j);
	vg_change_clear(&c);
}

/* Parses j as an item (or a change): it must fail with VG_ERR_INVAL and
 * a message containing want. desc names the input in a failure. */
static void
check_bad_json(int change, const json_t *j, const char *desc,
    const char *want)
{
	struct vg_item *it = (struct vg_item *)&it;
	struct vg_change c;
	char err[512] = "";
	int r;

	if (change) {
		r = vg_change_from_json(j, &c, err, sizeof(err));
		assert_null(c.old);
		assert_null(c.new);
		assert_null(c.diff);
	} else {
		r = vg_item_from_json(j, &it, err, sizeof(err));
		assert_null(it);
	}
	if (r != VG_ERR_INVAL || strstr(err, want) == NULL)
		fail_msg("%s: got %d \"%s\", want VG_ERR_INVAL naming %s",
		    desc, r, err, want);
}

/* check_bad_json() of JSON text. */
static void
check_bad(int change, const char *text, const char *want)
{
	json_error_t jerr;
	json_t *j;

	j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (j == NULL)
		fail_msg("test input is not JSON: %s: %s", text, jerr.text);
	check_bad_json(change, j, text, want);
	json_decref(j);
}

#define ITEM(attrs) "{\"kind\":\"file\",\"path\":\"/a\",\"attrs\":{" attrs "}}"

static void
test_item_reader_errors(void **state)
{
	static const struct {
		const char *json, *want;
	} bad[] = {
		{ "[1,2]", "object" },
		{ "\"file\"", "object" },
		{ "{\"kind\":\"file\",\"path\":\"/a\",\"bogus\":1}", "\"bogus\"" },
		{ "{\"path\":\"/a\"}", "\"kind\"" },
		{ "{\"kind\":\"gadget\",\"path\":\"/a\"}", "\"kind\"" },
		{ "{\"kind\":7,\"path\":\"/a\"}", "\"kind\"" },
		{ "{\"kind\":\"file\"}", "\"path\"" },
		{ "{\"kind\":\"file\",\"path\":\"\"}", "\"path\"" },
		{ "{\"kind\":\"file\",\"path\":5}", "\"path\"" },
		{ "{\"kind\":\"file\",\"path\":\"/a\\u0000b\"}", "\"path\"" },
		{ "{\"kind\":\"file\",\"path\":\"/a\",\"path_b64\":\"!!!!\"}",
		  "\"path_b64\"" },
		{ "{\"kind\":\"file\",\"path\":\"/a\",\"path_b64\":\"L2E\"}",
		  "\"path_b64\"" },
		{ "{\"kind\":\"file\",\"path\":\"/a\",\"path_b64\":\"\"}",
		  "\"path_b64\"" },
		{ "{\"kind\":\"file\",\"path\":\"/a\",\"path_b64\":\"YQBi\"}",
		  "\"path\"" },                      /* "a\0b" */
		{ "{\"kind\":\"file\",\"path\":\"/a\",\"attrs\":[]}",
		  "\"attrs\"" },
		{ ITEM("\"colour\":\"red\""), "\"colour\"" },
		{ ITEM("\"Size\":1"), "\"Size\"" },
		{ ITEM("\"size\":\"12\""), "\"size\"" },
		{ ITEM("\"size\":-1"), "\"size\"" },
		{ ITEM("\"size\":1.5"), "\"size\"" },
		{ ITEM("\"nlink\":true"), "\"nlink\"" },
		{ ITEM("\"inode\":null"), "\"inode\"" },
		{ ITEM("\"dev\":\"0\""), "\"dev\"" },
		{ ITEM("\"uid\":4294967296"), "\"uid\"" },
		{ ITEM("\"gid\":4294967296"), "\"gid\"" },
		{ ITEM("\"uid\":-1"), "\"uid\"" },
		{ ITEM("\"mode\":644"), "\"mode\"" },
		{ ITEM("\"mode\":\"\""), "\"mode\"" },
		{ ITEM("\"mode\":\"0x1ff\""), "\"mode\"" },
		{ ITEM("\"mode\":\"0o644\""), "\"mode\"" },
		{ ITEM("\"mode\":\"8\""), "\"mode\"" },
		{ ITEM("\"mode\":\"0649\""), "\"mode\"" },
		{ ITEM("\"mode\":\"10000\""), "\"mode\"" },
		{ ITEM("\"mode\":\"-0\""), "\"mode\"" },
		{ ITEM("\"mode\":\"+644\""), "\"mode\"" },
		{ ITEM("\"mode\":\" 644\""), "\"mode\"" },
		{ ITEM("\"type\":\"pipe\""), "\"type\"" },
		{ ITEM("\"type\":\"none\""), "\"type\"" },
		{ ITEM("\"user\":5"), "\"user\"" },
		{ ITEM("\"group\":\"a\\u0000b\""), "\"group\"" },
		{ ITEM("\"target\":[]"), "\"target\"" },
		{ ITEM("\"mtime\":\"yesterday\""), "\"mtime\"" },
		{ ITEM("\"mtime\":1700000000"), "\"mtime\"" },
		{ ITEM("\"ctime\":\"2026-02-30T00:00:00Z\""), "\"ctime\"" },
		{ ITEM("\"ctime\":\"2026-01-01T00:00:00\""), "\"ctime\"" },
		{ ITEM("\"mtime\":\"9999-01-01T00:00:00Z\""), "\"mtime\"" },
		{ ITEM("\"hash\":5"), "\"hash\"" },
		{ ITEM("\"hash\":\"ba7816bf\""), "\"hash\"" },
		{ ITEM("\"hash\":\"md6:00\""), "\"hash\"" },
		{ ITEM("\"hash\":\"none:\""), "\"hash\"" },
		{ ITEM("\"hash\":\"averyveryverylongname:00\""), "\"hash\"" },
		{ ITEM("\"hash\":\"sha256:abc\""), "\"hash\"" },
		{ ITEM("\"hash\":\"md5:d41d8cd98f00b204e9800998ecf8427\""),
		  "\"hash\"" },
		{ ITEM("\"hash\":\"md5:d41d8cd98f00b204e9800998ecf8427e0\""),
		  "\"hash\"" },
		{ ITEM("\"hash\":\"md5:d41d8cd98f00b204e9800998ecf8427g\""),
		  "\"hash\"" },
		{ ITEM("\"hash_state\":\"broken\""), "\"hash_state\"" },
		{ ITEM("\"hash_state\":1"), "\"hash_state\"" },
		{ ITEM("\"hash_state\":\"ok\""), "\"hash_state\"" },
		{ ITEM("\"props\":[]"), "\"props\"" },
		{ ITEM("\"props\":{\"version\":3}"), "\"version\"" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad(0, bad[i].json, bad[i].want);
}

static void
test_item_reader_accepts(void **state)
{
	struct vg_item *it;
	char err[256];
	json_t *j;

	(void)state;
	/* Aliases and edge values that are fine. */
	j = json_loads(ITEM("\"hash\":\"SHA-256:BA7816BF8F01CFEA414140DE5DAE"
	    "2223B00361A396177A9CB410FF61F20015AD\",\"mode\":\"7777\","
	    "\"uid\":4294967295,\"mtime\":\"2026-01-31T12:00:00.5Z\"")
	    , 0, NULL);
	assert_non_null(j);
	assert_int_equal(vg_item_from_json(j, &it, err, sizeof(err)), 0);
	assert_int_equal(it->have, VG_A_HASH | VG_A_MODE | VG_A_UID |
	    VG_A_MTIME);
	assert_int_equal(it->hash_alg, VG_HASH_SHA256);
	assert_int_equal(it->hash_state, VG_HS_OK);
	assert_int_equal(it->hash[0], 0xba);
	assert_int_equal(it->hash[31], 0xad);
	assert_int_equal(it->mode, 07777);
	assert_int_equal(it->uid, 4294967295u);
	assert_true(it->mtime_ns == 1769860800500000000LL);
	vg_item_free(it);
	json_decref(j);

	/* No attrs at all: an item with nothing recorded. */
	j = json_loads("{\"kind\":\"user\",\"path\":\"alice\"}", 0, NULL);
	assert_non_null(j);
	assert_int_equal(vg_item_from_json(j, &it, err, sizeof(err)), 0);
	assert_int_equal(it->kind, VG_KIND_USER);
	assert_string_equal(it->path, "alice");
	assert_int_equal(it->have, 0);
	vg_item_free(it);
	json_decref(j);
}

#define CHANGE(head) "{\"kind\":\"file\",\"path\":\"/a\"," head "}"

static void
test_change_reader_errors(void **state)
{
	static const struct {
		const char *json, *want;
	} bad[] = {
		{ "[]", "object" },
		{ CHANGE("\"change\":\"changed\",\"new\":{}"), "\"old\"" },
		{ CHANGE("\"change\":\"removed\",\"new\":{}"), "\"old\"" },
		{ CHANGE("\"change\":\"added\",\"old\":{}"), "\"new\"" },
		{ CHANGE("\"change\":\"changed\",\"old\":{}"), "\"new\"" },
		{ CHANGE("\"change\":\"moved\",\"new\":{}"), "\"change\"" },
		{ CHANGE("\"new\":{}"), "\"change\"" },
		{ CHANGE("\"change\":1,\"new\":{}"), "\"change\"" },
		{ CHANGE("\"change\":\"added\",\"new\":{},\"extra\":1"),
		  "\"extra\"" },
		{ CHANGE("\"change\":\"added\",\"new\":{},\"attrs\":{}"),
		  "\"attrs\"" },
		{ CHANGE("\"change\":\"changed\",\"old\":{\"size\":\"x\"},"
		  "\"new\":{}"), "\"size\"" },
		{ CHANGE("\"change\":\"changed\",\"old\":{},"
		  "\"new\":{\"bogus\":1}"), "\"bogus\"" },
		{ CHANGE("\"change\":\"changed\",\"old\":[],\"new\":{}"),
		  "\"attrs\"" },
		{ CHANGE("\"change\":\"changed\",\"old\":{},\"new\":{},"
		  "\"changed\":\"size\""), "\"changed\"" },
		{ CHANGE("\"change\":\"changed\",\"old\":{},\"new\":{},"
		  "\"changed\":[\"size\",\"colour\"]"), "\"changed\"[1]" },
		{ CHANGE("\"change\":\"changed\",\"old\":{},\"new\":{},"
		  "\"diff\":5"), "\"diff\"" },
		{ CHANGE("\"change\":\"changed\",\"old\":{},\"new\":{},"
		  "\"diff\":\"x\",\"diff_truncated\":\"yes\""),
		  "\"diff_truncated\"" },
		{ "{\"change\":\"added\",\"path\":\"/a\",\"new\":{}}", "\"kind\"" },
		{ "{\"change\":\"added\",\"kind\":\"file\",\"new\":{}}",
		  "\"path\"" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_bad(1, bad[i].json, bad[i].want);
	/* The side is named as well as the field inside it. */
	check_bad(1, CHANGE("\"change\":\"changed\",\"old\":{\"size\":\"x\"},"
	    "\"new\":{}"), "\"old\"");
	check_bad(1, CHANGE("\"change\":\"changed\",\"old\":{},"
	    "\"new\":{\"bogus\":1}"), "\"new\"");
}

/* An addition carries only the new side, a removal only the old one. */
static void
test_change_shapes(void **state)
{
	(void)state;
	check_bad(1, CHANGE("\"change\":\"added\",\"old\":{},\"new\":{}"),
	    "\"old\"");
	check_bad(1, CHANGE("\"change\":\"added\",\"old\":{\"size\":1},"
	    "\"new\":{\"size\":2}"), "not allowed");
	check_bad(1, CHANGE("\"change\":\"removed\",\"old\":{},\"new\":{}"),
	    "\"new\"");
	check_bad(1, CHANGE("\"change\":\"removed\",\"old\":{\"size\":1},"
	    "\"new\":{\"size\":2}"), "not allowed");
}

/* A string of n bytes of c (malloc'd). */
static char *
filled(size_t n, char c)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* {"kind":"package","path":"p","attrs":{key: value}} (steals value). */
static json_t *
item_with(const char *key, json_t *value)
{
	json_t *j = json_pack("{s:s, s:s, s:{s:o}}", "kind", "package",
	    "path", "p", "attrs", key, value);

	assert_non_null(j);
	return j;
}

/* A props object of n properties "p00000".."pNNNNN", in descending order
 * of name. */
static json_t *
many_props(size_t n)
{
	json_t *o = json_object();
	char name[32], value[32];
	size_t i;

	assert_non_null(o);
	for (i = n; i > 0; i--) {
		snprintf(name, sizeof(name), "p%05zu", i - 1);
		snprintf(value, sizeof(value), "v%zu", i - 1);
		assert_int_equal(json_object_set_new(o, name,
		    json_string(value)), 0);
	}
	return o;
}

/* What the stores cannot keep (vg_pack) is refused by the readers, with
 * the field named, and what is at the limits is taken. */
static void
test_reader_caps(void **state)
{
	static const char *const strs[] = { "user", "group", "target",
		"xattrs", "acl", "selinux" };
	struct vg_item *it;
	unsigned char *packed;
	char err[512], *s;
	size_t i, len;
	json_t *j;

	(void)state;
	/* At most VG_PACK_MAX_PROPS properties, sorted however they came. */
	j = item_with("props", many_props(VG_PACK_MAX_PROPS));
	if (vg_item_from_json(j, &it, err, sizeof(err)) != 0)
		fail_msg("%d properties: %s", VG_PACK_MAX_PROPS, err);
	assert_int_equal(it->nprops, VG_PACK_MAX_PROPS);
	assert_int_equal(it->have, VG_A_PROPS);
	for (i = 1; i < it->nprops; i++)
		assert_true(strcmp(it->props[i - 1].name,
		    it->props[i].name) < 0);
	assert_string_equal(vg_item_prop(it, "p04095"), "v4095");
	assert_int_equal(vg_pack_attrs(it, &packed, &len), 0);
	free(packed);
	vg_item_free(it);
	json_decref(j);
	j = item_with("props", many_props(VG_PACK_MAX_PROPS + 1));
	check_bad_json(0, j, "4097 properties", "\"props\"");
	json_decref(j);
	/* An empty props object is a recorded (empty) attribute. */
	j = item_with("props", json_object());
	assert_int_equal(vg_item_from_json(j, &it, err, sizeof(err)), 0);
	assert_int_equal(it->have, VG_A_PROPS);
	assert_int_equal(it->nprops, 0);
	vg_item_free(it);
	json_decref(j);

	/* Strings: VG_ITEM_PATH_MAX bytes, not one more. */
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		s = filled(VG_ITEM_PATH_MAX, 'x');
		j = item_with(strs[i], json_string(s));
		if (vg_item_from_json(j, &it, err, sizeof(err)) != 0)
			fail_msg("%s at the limit: %s", strs[i], err);
		assert_int_equal(vg_pack_attrs(it, &packed, &len), 0);
		free(packed);
		vg_item_free(it);
		json_decref(j);
		free(s);
		s = filled(VG_ITEM_PATH_MAX + 1, 'x');
		j = item_with(strs[i], json_string(s));
		check_bad_json(0, j, strs[i], strs[i]);
		json_decref(j);
		free(s);
	}
	s = filled(VG_ITEM_PATH_MAX + 1, 'x');
	j = item_with("props", json_pack("{s:s}", "name", s));
	check_bad_json(0, j, "long property value", "\"props\": \"name\"");
	json_decref(j);
	j = item_with("props", json_pack("{s:s}", s, "value"));
	check_bad_json(0, j, "long property name", "\"props\"");
	json_decref(j);
	free(s);
	j = item_with("props", json_pack("{s:s%}", "name", "a\0b", (size_t)3));
	check_bad_json(0, j, "property value with NUL", "\"props\": \"name\"");
	json_decref(j);

	/* A path_b64 too long for any path. */
	s = filled(VG_ITEM_PATH_MAX / 3 * 4 + 8, 'A');
	j = json_pack("{s:s, s:s, s:s}", "kind", "file", "path", "/a",
	    "path_b64", s);
	assert_non_null(j);
	check_bad_json(0, j, "long path_b64", "\"path_b64\"");
	json_decref(j);
	free(s);
}

/* Properties go into an item in O(n log n): 100000 of them in reverse
 * order take well under a second (quadratic insertion took 20 s). */
static void
test_many_props_fast(void **state)
{
	struct vg_item *it;
	struct vg_prop *p;
	char name[32];
	size_t i, n = 100000;
	double t0;

	(void)state;
	it = vg_item_new(VG_KIND_PACKAGE, "p", 1);
	assert_non_null(it);
	p = calloc(n, sizeof(*p));
	assert_non_null(p);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "k%06zu", n - i);
		p[i].name = strdup(name);
		p[i].value = strdup("v");
		assert_non_null(p[i].name);
		assert_non_null(p[i].value);
	}
	t0 = vg_now();
	assert_int_equal(vg_item_take_props(it, p, n, NULL), 0);
	assert_true(vg_now() - t0 < 5.0);
	assert_string_equal(it->props[0].name, "k000001");
	assert_string_equal(it->props[n - 1].name, "k100000");
	vg_item_free(it);
}

/* A small deterministic generator (xorshift) for the change fuzzer below. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned
rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

/* A string whose length is near one of the limits, or short. */
static json_t *
rnd_string(void)
{
	static const size_t lens[] = { 0, 1, 7, 300, VG_ITEM_PATH_MAX - 1,
		VG_ITEM_PATH_MAX, VG_ITEM_PATH_MAX + 1, VG_ITEM_PATH_MAX + 2 };
	size_t len = lens[rnd(4) == 0 ? 4 + rnd(4) : rnd(4)];
	char *s = filled(len, (char)('a' + rnd(26)));
	json_t *j = json_string(s);

	free(s);
	return j;
}

static json_t *
rnd_props(void)
{
	static const size_t counts[] = { 0, 1, 5, VG_PACK_MAX_PROPS - 1,
		VG_PACK_MAX_PROPS, VG_PACK_MAX_PROPS + 1 };
	size_t n = counts[rnd(8) == 0 ? 3 + rnd(3) : rnd(3)], i;
	json_t *o = json_object();
	char name[32];

	assert_non_null(o);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%c%zu", 'a' + rnd(26), i);
		assert_int_equal(json_object_set_new(o, name,
		    n < 10 ? rnd_string() : json_string("v")), 0);
	}
	if (n < 10 && rnd(6) == 0) {
		char *s = filled(VG_ITEM_PATH_MAX + rnd(2), 'n');

		json_object_set_new(o, s, json_string(""));
		free(s);
	}
	return o;
}

/* Random attributes, mostly valid, some at or past the limits. */
static json_t *
rnd_attrs(void)
{
	static const char *const names[] = { "type", "size", "mode", "uid",
		"gid", "user", "group", "mtime", "ctime", "inode", "dev",
		"nlink", "target", "xattrs", "acl", "selinux", "hash",
		"hash_state", "props" };
	static const char *const types[] = { "file", "dir", "symlink",
		"fifo", "socket", "chardev", "blockdev" };
	static const char *const states[] = { "none", "ok", "size-cap",
		"unreadable", "unstable" };
	static const char sha256_abc[] = "sha256:ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad";
	static const char *const hashes[] = {
		sha256_abc,
		"md5:d41d8cd98f00b204e9800998ecf8427e",
		"sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
	};
	json_t *o = json_object(), *v;
	size_t i;

	assert_non_null(o);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (rnd(3) != 0)
			continue;
		switch (i) {
		case 0: v = json_string(types[rnd(7)]); break;
		case 2: v = json_string(rnd(2) ? "0644" : "7777"); break;
		case 3: case 4:
			v = json_integer(rnd(2) ? 0 : 4294967295LL);
			break;
		case 1: case 9: case 10: case 11:
			v = json_integer(rnd(2) ? (json_int_t)rnd(1000) :
			    INT64_MAX);
			break;
		case 7: case 8:
			v = json_string(rnd(2) ? "2026-01-31T12:00:00.5Z" :
			    "1960-01-01T00:00:00Z");
			break;
		case 16:
			v = rnd(4) == 0 ? json_null() :
			    json_string(hashes[rnd(3)]);
			break;
		case 17: v = json_string(states[rnd(5)]); break;
		case 18: v = rnd_props(); break;
		default: v = rnd(8) == 0 ? json_null() : rnd_string(); break;
		}
		assert_int_equal(json_object_set_new(o, names[i], v), 0);
	}
	return o;
}

static void
check_packs(const struct vg_item *it, const char *side, unsigned iter)
{
	struct vg_item *back;
	unsigned char *p, *p2;
	char err[256];
	size_t len, len2;
	int r;

	if (it == NULL)
		return;
	if ((r = vg_pack_attrs(it, &p, &len)) != 0)
		fail_msg("change %u: accepted, but its %s side does not pack: "
		    "%s", iter, side, vg_strerror(r));
	/* And reads back to what packs to the same bytes. */
	if ((r = vg_unpack_attrs(p, len, it->kind, it->path, it->path_len,
	    &back, err, sizeof(err))) != 0)
		fail_msg("change %u: %s side does not unpack: %s", iter, side,
		    err);
	assert_int_equal(vg_pack_attrs(back, &p2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(p2, p, len);
	vg_item_free(back);
	free(p2);
	free(p);
}

/* Every change vg_change_from_json() accepts can be stored: an agent's
 * batch is never refused by the store after the API took it. */
static void
test_accepted_changes_pack(void **state)
{
	static const char *const types[] = { "added", "removed", "changed" };
	struct vg_change c;
	unsigned iter, accepted = 0, refused = 0;
	char err[512];
	json_t *j;
	int r;

	(void)state;
	for (iter = 0; iter < 3000; iter++) {
		j = json_pack("{s:s, s:s, s:s}", "change", types[rnd(3)],
		    "kind", rnd(2) ? "file" : "package", "path", "/p");
		assert_non_null(j);
		if (rnd(4) != 0 || strcmp(json_string_value(json_object_get(j,
		    "change")), "added") != 0)
			json_object_set_new(j, "old", rnd_attrs());
		if (rnd(4) != 0 || strcmp(json_string_value(json_object_get(j,
		    "change")), "removed") != 0)
			json_object_set_new(j, "new", rnd_attrs());
		r = vg_change_from_json(j, &c, err, sizeof(err));
		json_decref(j);
		if (r != 0) {
			if (r != VG_ERR_INVAL)
				fail_msg("change %u: %d %s", iter, r, err);
			refused++;
			continue;
		}
		accepted++;
		check_packs(c.old, "old", iter);
		check_packs(c.new, "new", iter);
		vg_change_clear(&c);
	}
	/* Both paths were taken many times. */
	assert_true(accepted > 300);
	assert_true(refused > 300);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_item_every_attribute),
		cmocka_unit_test(test_file_item_partial_and_hash_states),
		cmocka_unit_test(test_file_item_other_types_and_algs),
		cmocka_unit_test(test_non_utf8_path),
		cmocka_unit_test(test_non_utf8_strings_encode),
		cmocka_unit_test(test_props_item),
		cmocka_unit_test(test_change_added_removed),
		cmocka_unit_test(test_change_changed),
		cmocka_unit_test(test_item_reader_errors),
		cmocka_unit_test(test_item_reader_accepts),
		cmocka_unit_test(test_change_reader_errors),
		cmocka_unit_test(test_change_shapes),
		cmocka_unit_test(test_reader_caps),
		cmocka_unit_test(test_many_props_fast),
		cmocka_unit_test(test_accepted_changes_pack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
