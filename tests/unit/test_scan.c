/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of core/vg_scan: vg_scan_one() reads a path exactly as a
 * scan records it, and vg_scan_covers() decides as the walk does. Each
 * test works in its own temporary tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vg_err.h"
#include "vg_hash.h"
#include "vg_item.h"
#include "vg_rules.h"
#include "vg_scan.h"

#include "assert_item.h"

struct fixture {
	char dir[64];
	struct vg_item **items;     /* what a scan recorded */
	size_t nitems;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vg-scan-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	size_t i;
	int r;

	r = nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	for (i = 0; i < f->nitems; i++)
		vg_item_free(f->items[i]);
	free(f->items);
	free(f);
	return r;
}

static void
make_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static struct vg_rules *
rules_for(const char *text)
{
	struct vg_rules *r = NULL;
	char err[512] = "";

	assert_int_equal(vg_rules_new(&r), 0);
	if (vg_rules_parse(r, text, strlen(text), "t.rules", err,
	    sizeof(err)) != 0 || vg_rules_finish(r, err, sizeof(err)) != 0)
		fail_msg("rules: %s", err);
	return r;
}

static int
keep_item(void *arg, const struct vg_item *it)
{
	struct fixture *f = arg;
	struct vg_item **n;

	n = reallocarray(f->items, f->nitems + 1, sizeof(*n));
	if (n == NULL)
		return VG_ERR_NOMEM;
	f->items = n;
	if ((n[f->nitems] = vg_item_dup(it)) == NULL)
		return VG_ERR_NOMEM;
	f->nitems++;
	return 0;
}

static const struct vg_item *
scanned(const struct fixture *f, const char *path)
{
	size_t i;

	for (i = 0; i < f->nitems; i++)
		if (strcmp(f->items[i]->path, path) == 0)
			return f->items[i];
	fail_msg("%s not scanned", path);
	return NULL;
}

/* Every item of a scan, read again one by one, is the same. */
static void
test_one_matches_scan(void **state)
{
	struct fixture *f = *state;
	struct vg_scan_opts o;
	struct vg_scan_cb cb;
	struct vg_scan_stats st;
	struct vg_rules *r;
	struct vg_item *it;
	char text[256], path[256], err[512] = "";
	size_t i;

	make_file(f->dir, "small", "hello\n");
	make_file(f->dir, "big", "0123456789abcdef0123456789abcdef");
	snprintf(path, sizeof(path), "%s/sub", f->dir);
	assert_int_equal(mkdir(path, 0750), 0);
	make_file(path, "inner", "x");
	snprintf(path, sizeof(path), "%s/link", f->dir);
	assert_int_equal(symlink("small", path), 0);
	snprintf(path, sizeof(path), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(text, sizeof(text), "root %s\nmax-hash-size 16\n", f->dir);
	r = rules_for(text);

	memset(&o, 0, sizeof(o));
	memset(&cb, 0, sizeof(cb));
	o.rules = r;
	o.workers = 2;
	cb.arg = f;
	cb.item = keep_item;
	if (vg_scan_run(&o, &cb, &st, err, sizeof(err)) != 0)
		fail_msg("scan: %s", err);
	assert_int_equal(f->nitems, 7);
	for (i = 0; i < f->nitems; i++) {
		it = NULL;
		if (vg_scan_one(r, f->items[i]->path, f->items[i]->path_len,
		    &it, err, sizeof(err)) != 0)
			fail_msg("one %s: %s", f->items[i]->path, err);
		assert_non_null(it);
		assert_items_equal(f->items[i], it);
		vg_item_free(it);
	}
	snprintf(path, sizeof(path), "%s/small", f->dir);
	assert_int_equal(scanned(f, path)->hash_state, VG_HS_OK);
	snprintf(path, sizeof(path), "%s/big", f->dir);
	assert_int_equal(scanned(f, path)->hash_state, VG_HS_SIZE_CAP);
	snprintf(path, sizeof(path), "%s/link", f->dir);
	assert_string_equal(scanned(f, path)->target, "small");
	vg_rules_free(r);
}

static void
test_one_absent(void **state)
{
	struct fixture *f = *state;
	struct vg_rules *r;
	struct vg_item *it;
	char text[256], path[256], err[512] = "";

	snprintf(text, sizeof(text), "root %s\n", f->dir);
	r = rules_for(text);
	make_file(f->dir, "file", "data");
	/* ENOENT */
	snprintf(path, sizeof(path), "%s/missing", f->dir);
	it = (struct vg_item *)&it;
	assert_int_equal(vg_scan_one(r, path, strlen(path), &it, err,
	    sizeof(err)), 0);
	assert_null(it);
	/* ENOTDIR: below a file */
	snprintf(path, sizeof(path), "%s/file/below", f->dir);
	it = (struct vg_item *)&it;
	assert_int_equal(vg_scan_one(r, path, strlen(path), &it, err,
	    sizeof(err)), 0);
	assert_null(it);
	/* Not an absolute path. */
	assert_int_equal(vg_scan_one(r, "rel", 3, &it, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_null(it);
	vg_rules_free(r);
}

/* A file that changes is read again: what vg_scan_one() gives is the
 * content now, with a digest of it. */
static void
test_one_follows_content(void **state)
{
	struct fixture *f = *state;
	struct vg_rules *r;
	struct vg_item *a = NULL, *b = NULL;
	unsigned char want[VG_HASH_MAX_LEN];
	char text[256], path[256], err[512] = "";

	snprintf(text, sizeof(text), "root %s\nhash sha512\n", f->dir);
	r = rules_for(text);
	snprintf(path, sizeof(path), "%s/f", f->dir);
	make_file(f->dir, "f", "one");
	assert_int_equal(vg_scan_one(r, path, strlen(path), &a, err,
	    sizeof(err)), 0);
	make_file(f->dir, "f", "two, longer");
	assert_int_equal(vg_scan_one(r, path, strlen(path), &b, err,
	    sizeof(err)), 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(b->hash_alg, VG_HASH_SHA512);
	assert_int_equal(b->hash_state, VG_HS_OK);
	assert_int_equal(vg_hash_buffer(VG_HASH_SHA512, "two, longer", 11,
	    want), 0);
	assert_memory_equal(b->hash, want, 64);
	assert_true(vg_item_diff(a, b, 0) & VG_A_HASH);
	assert_true(vg_item_diff(a, b, 0) & VG_A_SIZE);
	vg_item_free(a);
	vg_item_free(b);
	vg_rules_free(r);
}

static int
covers(const struct vg_rules *r, const char *path, int is_dir)
{
	return vg_scan_covers(r, path, strlen(path), is_dir);
}

static void
test_covers(void **state)
{
	struct vg_rules *r;

	(void)state;
	r = rules_for("root /etc\nroot /srv/www\nexclude *.swp\n"
	    "exclude /etc/ssl\nexclude /srv/www/cache/\n"
	    "exclude /etc/skip/**\ninclude /etc/skip/**/keep\n");
	/* Roots, always; outside them, never. */
	assert_int_equal(covers(r, "/etc", 1), 1);
	assert_int_equal(covers(r, "/srv/www", 1), 1);
	assert_int_equal(covers(r, "/srv", 1), 0);
	assert_int_equal(covers(r, "/etcetera", 0), 0);
	assert_int_equal(covers(r, "/srv/wwwx/a", 0), 0);
	assert_int_equal(covers(r, "/usr/bin/ls", 0), 0);
	/* Rules on the entry itself. */
	assert_int_equal(covers(r, "/etc/passwd", 0), 1);
	assert_int_equal(covers(r, "/etc/a/.x.swp", 0), 0);
	/* An excluded folder takes its subtree along. */
	assert_int_equal(covers(r, "/etc/ssl", 1), 0);
	assert_int_equal(covers(r, "/etc/ssl/certs/a.pem", 0), 0);
	assert_int_equal(covers(r, "/etc/ssl.d/x", 0), 1);
	/* A folder-only rule does not touch a file of that name. */
	assert_int_equal(covers(r, "/srv/www/cache", 1), 0);
	assert_int_equal(covers(r, "/srv/www/cache", 0), 1);
	assert_int_equal(covers(r, "/srv/www/cache/page", 0), 0);
	/* An include takes back what is below an excluded folder. */
	assert_int_equal(covers(r, "/etc/skip/a/b", 0), 0);
	assert_int_equal(covers(r, "/etc/skip/a/keep", 0), 1);
	vg_rules_free(r);

	r = rules_for("root /\nmax-depth 2\n");
	assert_int_equal(covers(r, "/", 1), 1);
	assert_int_equal(covers(r, "/a", 1), 1);
	assert_int_equal(covers(r, "/a/b", 0), 1);
	assert_int_equal(covers(r, "/a/b/c", 0), 0);
	vg_rules_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_matches_scan, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_one_absent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_one_follows_content,
		    setup, teardown),
		cmocka_unit_test(test_covers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
