/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the parser of what the Linux collection script
 * prints (proxy/linux): a host over SSH is outside data. The input is a
 * header then the stream:
 *   byte 0      the options: which rules (SHA-256 under /srv; SHA-1
 *               under /srv with an exclude and a size cap; MD5 under /
 *               with a depth; no hash; no files at all), and a max_items
 *               of 3 or the default
 *   bytes 1-4   chunk sizes, used in turn (0: the rest at once), so
 *               records and fields are cut anywhere
 * Beyond not crashing or leaking: the stream fed in those chunks gives
 * the same outcome as fed at once (same code, message, result); an
 * error is one of the documented codes, comes with a message and sticks;
 * a result holds only what its records may make: sorted files under the
 * rules and within max_items, digests of regular files only, known and
 * unique sections, NUL-terminated blobs, at most 100 problems. A failed
 * check aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_item.h"
#include "vg_rules.h"
#include "vg_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

#define HEADER 5
#define NRULES 5    /* the last: no rules */

static struct vg_rules *rules[NRULES];

static struct vg_rules *
make_rules(const char *root, enum vg_hash_alg alg, const char *exclude,
    uint64_t max_hash_size, long max_depth)
{
	struct vg_rules *r;
	char err[256];

	CHECK(vg_rules_new(&r) == 0);
	CHECK(vg_rules_add_root(r, root, err, sizeof(err)) == 0);
	if (exclude != NULL)
		CHECK(vg_rules_add_rule(r, 0, 0, exclude, err,
		    sizeof(err)) == 0);
	r->hash = alg;
	r->allow_weak_hash = 1;
	r->max_hash_size = max_hash_size;
	r->max_depth = max_depth;
	if (vg_rules_finish(r, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	return r;
}

static void
load_rules(void)
{
	if (rules[0] != NULL)
		return;
	rules[0] = make_rules("/srv", VG_HASH_SHA256, NULL, 0, -1);
	rules[1] = make_rules("/srv", VG_HASH_SHA1, "*.log", 4, -1);
	rules[2] = make_rules("/", VG_HASH_MD5, NULL, 0, 3);
	rules[3] = make_rules("/srv", VG_HASH_NONE, NULL, 0, -1);
	rules[4] = NULL;
}

/* Feeds the stream in the given chunk sizes (0: the rest at once);
 * returns the parser's code and, on success, the result. */
static int
parse(const struct proxy_linux_opts *o, const char *buf, size_t len,
    const uint8_t *chunks, size_t nchunks, struct proxy_linux_result **out,
    char *err, size_t errlen)
{
	struct proxy_linux_parser *p;
	size_t off = 0, n, i = 0;
	int r = 0, fr;

	*out = NULL;
	err[0] = '\0';
	CHECK(proxy_linux_parser_new(o, &p) == 0);
	while (off < len && r == 0) {
		n = chunks[i++ % nchunks];
		if (n == 0 || n > len - off)
			n = len - off;
		r = proxy_linux_parser_feed(p, buf + off, n);
		off += n;
	}
	if (r != 0) {
		/* the error sticks, with its message */
		CHECK(proxy_linux_parser_error(p)[0] != '\0');
		CHECK(proxy_linux_parser_feed(p, "P", 1) == r);
	}
	fr = proxy_linux_parser_finish(p, out, err, errlen);
	/* finish fails with the feed's error, or when the end record is
	 * missing; a message either way, never a result */
	CHECK(r == 0 ? fr == 0 || fr == VG_ERR_INCOMPLETE : fr == r);
	CHECK((fr == 0) == (*out != NULL));
	CHECK(fr == 0 || err[0] != '\0');
	if (fr == 0) {
		/* once finished, the parser takes nothing more */
		CHECK(proxy_linux_parser_started(p) == 1);
		CHECK(proxy_linux_parser_feed(p, "E", 1) != 0);
	}
	proxy_linux_parser_free(p);
	return fr;
}

static int
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
check_items_equal(const struct vg_item *a, const struct vg_item *b)
{
	CHECK(a->kind == b->kind && a->path_len == b->path_len);
	CHECK(memcmp(a->path, b->path, a->path_len + 1) == 0);
	CHECK(a->have == b->have && a->ftype == b->ftype);
	CHECK(a->size == b->size && a->mode == b->mode);
	CHECK(a->uid == b->uid && a->gid == b->gid);
	CHECK(str_equal(a->user, b->user) && str_equal(a->group, b->group));
	CHECK(a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns);
	CHECK(a->inode == b->inode && a->dev == b->dev &&
	    a->nlink == b->nlink);
	CHECK(str_equal(a->target, b->target));
	CHECK(a->hash_alg == b->hash_alg && a->hash_state == b->hash_state);
	CHECK(memcmp(a->hash, b->hash, sizeof(a->hash)) == 0);
}

static void
check_blobs_equal(const struct proxy_linux_blob *a,
    const struct proxy_linux_blob *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		CHECK(strcmp(a[i].name, b[i].name) == 0);
		CHECK(a[i].len == b[i].len);
		CHECK(memcmp(a[i].data, b[i].data, a[i].len + 1) == 0);
	}
}

static void
check_results_equal(const struct proxy_linux_result *a,
    const struct proxy_linux_result *b)
{
	size_t i;

	CHECK(a->euid == b->euid);
	CHECK(a->nfiles == b->nfiles && a->ncontent == b->ncontent &&
	    a->nsections == b->nsections && a->nproblems == b->nproblems);
	for (i = 0; i < a->nfiles; i++)
		check_items_equal(a->files[i], b->files[i]);
	check_blobs_equal(a->content, b->content, a->ncontent);
	check_blobs_equal(a->sections, b->sections, a->nsections);
	for (i = 0; i < a->nproblems; i++)
		CHECK(strcmp(a->problems[i], b->problems[i]) == 0);
}

static int
known_section(const char *name)
{
	static const char *const names[] = { "dpkg", "rpm", "passwd",
		"shadow", "group", "gshadow", "unit_files", "units", "tcp",
		"tcp6", "udp", "udp6", "fds", "comms" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

static void
check_result(const struct proxy_linux_opts *o,
    const struct proxy_linux_result *res)
{
	const struct vg_item *it;
	size_t i, j;

	CHECK(res->euid >= 0 && res->euid <= (long)UINT32_MAX);
	CHECK(o->rules != NULL || res->nfiles == 0);
	CHECK(res->nfiles <= (o->max_items > 0 ? o->max_items :
	    PROXY_LINUX_ITEMS_MAX));
	for (i = 0; i < res->nfiles; i++) {
		it = res->files[i];
		CHECK(it->kind == VG_KIND_FILE && it->path[0] == '/');
		CHECK(it->path_len == strlen(it->path) &&
		    it->path_len <= VG_ITEM_PATH_MAX);
		CHECK(vg_scan_covers(o->rules, it->path, it->path_len,
		    it->ftype == VG_FT_DIR) == 1);
		CHECK(it->mode <= 07777);
		/* sorted, no path twice */
		CHECK(i == 0 || vg_item_path_cmp(res->files[i - 1], it) < 0);
		if (it->have & VG_A_HASH) {
			CHECK(it->ftype == VG_FT_REG);
			CHECK(it->hash_alg == o->rules->hash);
			CHECK(it->hash_state == VG_HS_OK ||
			    it->hash_state == VG_HS_SIZE_CAP ||
			    it->hash_state == VG_HS_UNREADABLE);
			CHECK(it->hash_state != VG_HS_SIZE_CAP ||
			    (o->rules->max_hash_size > 0 &&
			    it->size > o->rules->max_hash_size));
		} else
			CHECK(it->hash_state == VG_HS_NONE);
		CHECK(it->ftype == VG_FT_LNK || it->target == NULL);
	}
	for (i = 0; i < res->ncontent; i++) {
		CHECK(res->content[i].name[0] == '/');
		CHECK(res->content[i].data[res->content[i].len] == '\0');
		CHECK(i == 0 || strcmp(res->content[i - 1].name,
		    res->content[i].name) <= 0);
	}
	for (i = 0; i < res->nsections; i++) {
		CHECK(known_section(res->sections[i].name));
		CHECK(res->sections[i].data[res->sections[i].len] == '\0');
		CHECK(proxy_linux_section(res, res->sections[i].name) ==
		    &res->sections[i]);
		for (j = 0; j < i; j++)
			CHECK(strcmp(res->sections[j].name,
			    res->sections[i].name) != 0);
	}
	CHECK(res->nproblems <= 100);
	for (i = 0; i < res->nproblems; i++)
		CHECK(res->problems[i] != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t whole[] = { 0 };
	struct proxy_linux_opts o = { 0 };
	struct proxy_linux_result *res, *ref;
	char err[512], ref_err[512];
	const char *buf;
	size_t len;
	int r, ref_r;

	if (size < HEADER)
		return 0;
	load_rules();
	o.rules = rules[data[0] % NRULES];
	o.max_items = data[0] / NRULES % 2 ? 3 : 0;
	buf = (const char *)data + HEADER;
	len = size - HEADER;

	r = parse(&o, buf, len, data + 1, HEADER - 1, &res, err, sizeof(err));
	ref_r = parse(&o, buf, len, whole, 1, &ref, ref_err, sizeof(ref_err));
	/* any split gives what the whole stream gives */
	CHECK(r == ref_r && strcmp(err, ref_err) == 0);
	if (r != 0) {
		CHECK(res == NULL && ref == NULL);
		CHECK(r == VG_ERR_INVAL || r == VG_ERR_INCOMPLETE ||
		    r == VG_ERR_TOOBIG || r == VG_ERR_NOMEM);
		return 0;
	}
	CHECK(res != NULL && ref != NULL);
	check_result(&o, res);
	check_results_equal(res, ref);
	proxy_linux_result_free(res);
	proxy_linux_result_free(ref);
	return 0;
}
