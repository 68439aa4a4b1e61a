/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of core/vg_baseline: path order, writing and reading back,
 * the writer lock, atomic replacement, and how damaged or foreign files
 * are refused. Each test works in its own temporary folder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "vg_baseline.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_item.h"

#include "assert_item.h"

struct fixture {
	char dir[64];
	char path[128];       /* dir/base.db */
	char tmp[160];        /* dir/base.db.new */
	char lock[160];       /* dir/base.db.lock */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vg-baseline-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/base.db", f->dir);
	snprintf(f->tmp, sizeof(f->tmp), "%s.new", f->path);
	snprintf(f->lock, sizeof(f->lock), "%s.lock", f->path);
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
	int r;

	r = nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r;
}

/* Paths in no particular order, of every shape that matters for order
 * and storage: '/' against lower bytes, prefixes, non-UTF-8, newlines. */
static const char *const paths[] = {
	"/a/b", "/a.b", "/a", "/a-b", "/a/b/c", "/a b", "/a/\xff\xfe",
	"/a/b c", "/", "/z\nnewline", "/a/b/c/d/e/f/g/h", "/0", "/~",
	"/a/\x01", "/a/B",
};
#define NPATHS (sizeof(paths) / sizeof(paths[0]))

static int
cmp_paths(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	return vg_path_cmp(x, strlen(x), y, strlen(y));
}

/* An item for paths[i], with values that vary by i. */
static struct vg_item *
make_item(size_t i, int variant)
{
	struct vg_item *it;

	it = vg_item_new(VG_KIND_FILE, paths[i], strlen(paths[i]));
	assert_non_null(it);
	it->have = VG_A_ALL & ~VG_A_PROPS;
	it->ftype = (enum vg_ftype)(1 + i % 7);
	it->size = (uint64_t)i * 1000003 + (uint64_t)variant;
	it->mode = (uint32_t)(i * 0111) & 07777;
	it->uid = (uint32_t)(4294967295u - i);
	it->gid = (uint32_t)i;
	if (i % 3 != 0)
		assert_int_equal(vg_item_set_str(&it->user, "user\xc3\xa9"), 0);
	if (i % 4 != 0)
		assert_int_equal(vg_item_set_str(&it->group, "grp"), 0);
	it->mtime_ns = i % 2 ? -1500000001LL * (int64_t)i :
	    1700000000123456789LL + (int64_t)i;
	it->ctime_ns = INT64_MIN + (int64_t)i;
	it->inode = UINT64_MAX - i;     /* above INT64_MAX */
	it->dev = 0x800000000000ULL + i;
	it->nlink = i + 1;
	if (it->ftype == VG_FT_LNK)
		assert_int_equal(vg_item_set_str(&it->target, "../t\xff"), 0);
	if (i % 5 == 1)
		assert_int_equal(vg_item_set_str(&it->xattrs,
		    "user.x=0x01ff\nuser.y=0x"), 0);
	if (i % 5 == 2)
		assert_int_equal(vg_item_set_str(&it->acl,
		    "u::rw-,u:bob:r--,g::r--,m::r--,o::---"), 0);
	if (i % 5 == 3)
		assert_int_equal(vg_item_set_str(&it->selinux,
		    "system_u:object_r:etc_t:s0"), 0);
	switch (i % 4) {
	case 0:
		it->hash_alg = VG_HASH_SHA256;
		it->hash_state = VG_HS_OK;
		break;
	case 1:
		it->hash_alg = VG_HASH_SHA512;
		it->hash_state = VG_HS_OK;
		break;
	case 2:
		it->hash_alg = VG_HASH_NONE;
		it->hash_state = VG_HS_SIZE_CAP;
		break;
	default:
		it->hash_alg = VG_HASH_MD5;
		it->hash_state = VG_HS_UNREADABLE;
		break;
	}
	if (it->hash_alg != VG_HASH_NONE) {
		assert_int_equal(vg_hash_buffer(it->hash_alg, paths[i],
		    strlen(paths[i]), it->hash), 0);
		it->hash[1] ^= (unsigned char)variant;
	}
	return it;
}

/* Writes a baseline at path holding all paths (variant changes values). */
static void
write_baseline(const char *path, int variant, const char *rules)
{
	struct vg_baseline_writer *w = NULL;
	struct vg_item *it;
	char err[512] = "";
	size_t i, k;

	if (vg_baseline_create(path, &w, err, sizeof(err)) != 0)
		fail_msg("create: %s", err);
	assert_non_null(w);
	/* Not in path order: the baseline sorts. */
	for (k = 0; k < NPATHS; k++) {
		i = (k * 7 + 3) % NPATHS;
		it = make_item(i, variant);
		if (vg_baseline_put(w, it, err, sizeof(err)) != 0)
			fail_msg("put %s: %s", paths[i], err);
		vg_item_free(it);
	}
	assert_int_equal(vg_baseline_set_meta(w, "rules", rules, err,
	    sizeof(err)), 0);
	assert_int_equal(vg_baseline_set_meta(w, "host", "testhost", err,
	    sizeof(err)), 0);
	/* Setting a key twice keeps the last value. */
	assert_int_equal(vg_baseline_set_meta(w, "mode", "init", err,
	    sizeof(err)), 0);
	assert_int_equal(vg_baseline_set_meta(w, "mode", "full", err,
	    sizeof(err)), 0);
	if (vg_baseline_commit(w, err, sizeof(err)) != 0)
		fail_msg("commit: %s", err);
}

/* Reads path back and checks it holds exactly what write_baseline()
 * wrote, in baseline order. */
static void
check_baseline(const char *path, int variant, const char *rules)
{
	const char *sorted[NPATHS];
	struct vg_baseline *b = NULL;
	struct vg_item *it, *want;
	char err[512] = "", num[32];
	uint64_t bytes = 0;
	size_t i, k;

	memcpy(sorted, paths, sizeof(paths));
	qsort(sorted, NPATHS, sizeof(sorted[0]), cmp_paths);
	if (vg_baseline_open(path, &b, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	assert_non_null(b);
	assert_string_equal(vg_baseline_meta(b, "rules"), rules);
	assert_string_equal(vg_baseline_meta(b, "host"), "testhost");
	assert_string_equal(vg_baseline_meta(b, "mode"), "full");
	snprintf(num, sizeof(num), "%zu", NPATHS);
	assert_string_equal(vg_baseline_meta(b, "items"), num);
	assert_null(vg_baseline_meta(b, "no-such-key"));
	for (k = 0; k < NPATHS; k++) {
		it = NULL;
		if (vg_baseline_next(b, &it, err, sizeof(err)) != 0)
			fail_msg("next: %s", err);
		assert_non_null(it);
		for (i = 0; strcmp(paths[i], sorted[k]) != 0; i++)
			;
		want = make_item(i, variant);
		assert_items_equal(want, it);
		if (want->ftype == VG_FT_REG)
			bytes += want->size;
		vg_item_free(want);
		vg_item_free(it);
	}
	/* The end, checked, and it stays the end. */
	it = (struct vg_item *)&it;
	assert_int_equal(vg_baseline_next(b, &it, err, sizeof(err)), 0);
	assert_null(it);
	it = (struct vg_item *)&it;
	assert_int_equal(vg_baseline_next(b, &it, err, sizeof(err)), 0);
	assert_null(it);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)bytes);
	assert_string_equal(vg_baseline_meta(b, "bytes"), num);
	vg_baseline_close(b);
}

static void
test_path_cmp(void **state)
{
	static const char *const order[] = { "/", "/a", "/a/b", "/a/b/c",
		"/a/bb", "/a b", "/a-b", "/a.b", "/a0", "/aa", "/b",
		"/\xc3\xa9", "/\xff" };
	const char *shuffled[sizeof(order) / sizeof(order[0])];
	size_t i, j, n = sizeof(order) / sizeof(order[0]);

	(void)state;
	/* '/' is below every other byte: "/a/b" < "/a-b" < "/a.b". */
	assert_true(vg_path_cmp("/a/b", 4, "/a-b", 4) < 0);
	assert_true(vg_path_cmp("/a-b", 4, "/a.b", 4) < 0);
	assert_true(vg_path_cmp("/a/b", 4, "/a.b", 4) < 0);
	assert_true(vg_path_cmp("/a.b", 4, "/a/b", 4) > 0);
	assert_true(vg_path_cmp("/a/z", 4, "/a\x01", 3) < 0);
	/* A prefix comes first; equal is 0. */
	assert_true(vg_path_cmp("/a", 2, "/a/b", 4) < 0);
	assert_true(vg_path_cmp("/a/b", 4, "/a", 2) > 0);
	assert_int_equal(vg_path_cmp("/a/b", 4, "/a/b", 4), 0);
	assert_int_equal(vg_path_cmp("", 0, "", 0), 0);
	/* Only len bytes count; bytes compare unsigned. */
	assert_int_equal(vg_path_cmp("/a/bX", 4, "/a/bY", 4), 0);
	assert_true(vg_path_cmp("/\x7f", 2, "/\x80", 2) < 0);
	/* Pairwise, the table is in order. */
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			int c = vg_path_cmp(order[i], strlen(order[i]),
			    order[j], strlen(order[j]));

			assert_true(i < j ? c < 0 : i > j ? c > 0 : c == 0);
		}
	/* And sorting a shuffle gives it back. */
	for (i = 0; i < n; i++)
		shuffled[i] = order[(i * 5 + 2) % n];
	qsort(shuffled, n, sizeof(shuffled[0]), cmp_paths);
	for (i = 0; i < n; i++)
		assert_string_equal(shuffled[i], order[i]);
}

static void
test_write_read(void **state)
{
	struct fixture *f = *state;

	write_baseline(f->path, 0, "root /\nhash sha256\n");
	/* Nothing is left beside it but the lock file. */
	assert_int_equal(access(f->tmp, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	check_baseline(f->path, 0, "root /\nhash sha256\n");
	/* Reading twice gives the same. */
	check_baseline(f->path, 0, "root /\nhash sha256\n");
}

static void
test_commit_replaces(void **state)
{
	struct fixture *f = *state;

	write_baseline(f->path, 0, "first");
	write_baseline(f->path, 5, "second");
	check_baseline(f->path, 5, "second");
	assert_int_equal(access(f->tmp, F_OK), -1);
}

static void
test_empty_baseline(void **state)
{
	struct fixture *f = *state;
	struct vg_baseline_writer *w;
	struct vg_baseline *b;
	struct vg_item *it;
	char err[512] = "";

	assert_int_equal(vg_baseline_create(f->path, &w, err, sizeof(err)), 0);
	assert_int_equal(vg_baseline_set_meta(w, "rules", "", err,
	    sizeof(err)), 0);
	assert_int_equal(vg_baseline_commit(w, err, sizeof(err)), 0);
	assert_int_equal(vg_baseline_open(f->path, &b, err, sizeof(err)), 0);
	assert_string_equal(vg_baseline_meta(b, "items"), "0");
	assert_string_equal(vg_baseline_meta(b, "bytes"), "0");
	it = (struct vg_item *)&it;
	assert_int_equal(vg_baseline_next(b, &it, err, sizeof(err)), 0);
	assert_null(it);
	vg_baseline_close(b);
	vg_baseline_close(NULL);
}

static void
test_duplicate_put(void **state)
{
	struct fixture *f = *state;
	struct vg_baseline_writer *w;
	struct vg_item *it;
	char err[512] = "";

	assert_int_equal(vg_baseline_create(f->path, &w, err, sizeof(err)), 0);
	it = make_item(0, 0);
	assert_int_equal(vg_baseline_put(w, it, err, sizeof(err)), 0);
	assert_int_equal(vg_baseline_put(w, it, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_non_null(strstr(err, "duplicate"));
	vg_item_free(it);
	vg_baseline_abort(w);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(access(f->tmp, F_OK), -1);
}

static void
test_second_writer_busy(void **state)
{
	struct fixture *f = *state;
	struct vg_baseline_writer *w1 = NULL, *w2;
	char err[512] = "";

	assert_int_equal(vg_baseline_create(f->path, &w1, err, sizeof(err)),
	    0);
	w2 = (struct vg_baseline_writer *)&w2;
	assert_int_equal(vg_baseline_create(f->path, &w2, err, sizeof(err)),
	    VG_ERR_BUSY);
	assert_null(w2);
	assert_non_null(strstr(err, f->path));
	assert_non_null(strstr(err, "lock"));
	vg_baseline_abort(w1);
	/* Once the first is gone, the lock is free again. */
	assert_int_equal(vg_baseline_create(f->path, &w2, err, sizeof(err)),
	    0);
	vg_baseline_abort(w2);
	vg_baseline_abort(NULL);
}

static void
test_refused_writer_leaves_first_alone(void **state)
{
	struct fixture *f = *state;
	struct vg_baseline_writer *w1 = NULL, *w2;
	struct vg_item *it;
	char err[512] = "", err2[512] = "";
	int busy = 0, tmp_kept = 0, r = 0;
	size_t i;

	assert_int_equal(vg_baseline_create(f->path, &w1, err, sizeof(err)),
	    0);
	for (i = 0; i < NPATHS; i++) {
		if (i == NPATHS / 2) {
			/* A second run is refused ... */
			busy = vg_baseline_create(f->path, &w2, err2,
			    sizeof(err2));
			tmp_kept = access(f->tmp, F_OK) == 0;
		}
		it = make_item(i, 0);
		if (r == 0)
			r = vg_baseline_put(w1, it, err, sizeof(err));
		vg_item_free(it);
	}
	if (r == 0)
		r = vg_baseline_set_meta(w1, "rules", "r", err, sizeof(err));
	if (r == 0)
		r = vg_baseline_set_meta(w1, "host", "testhost", err,
		    sizeof(err));
	if (r == 0)
		r = vg_baseline_set_meta(w1, "mode", "full", err, sizeof(err));
	if (r == 0)
		r = vg_baseline_commit(w1, err, sizeof(err));
	else
		vg_baseline_abort(w1);
	assert_int_equal(busy, VG_ERR_BUSY);
	/* ... and must leave the first run's "<path>.new" alone, so that
	 * the first run still commits its baseline. */
	assert_true(tmp_kept);
	if (r != 0)
		fail_msg("the first writer failed: %s", err);
	check_baseline(f->path, 0, "r");
}

static unsigned char *
read_file(const char *path, size_t *len)
{
	unsigned char *buf;
	struct stat st;
	FILE *fp;

	assert_int_equal(stat(path, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	*len = fread(buf, 1, (size_t)st.st_size + 1, fp);
	assert_int_equal(*len, (size_t)st.st_size);
	fclose(fp);
	return buf;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void
test_abort_keeps_old(void **state)
{
	struct fixture *f = *state;
	struct vg_baseline_writer *w;
	unsigned char *before, *after;
	size_t blen, alen, i;
	struct vg_item *it;
	char err[512] = "";

	write_baseline(f->path, 0, "old rules");
	before = read_file(f->path, &blen);

	assert_int_equal(vg_baseline_create(f->path, &w, err, sizeof(err)), 0);
	for (i = 0; i < NPATHS; i++) {
		it = make_item(i, 9);
		assert_int_equal(vg_baseline_put(w, it, err, sizeof(err)), 0);
		vg_item_free(it);
	}
	assert_int_equal(vg_baseline_set_meta(w, "rules", "new rules", err,
	    sizeof(err)), 0);
	/* Being written beside the old one ... */
	assert_int_equal(access(f->tmp, F_OK), 0);
	vg_baseline_abort(w);
	/* ... and gone; the old one is as it was, byte for byte. */
	assert_int_equal(access(f->tmp, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	after = read_file(f->path, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);
	check_baseline(f->path, 0, "old rules");
}

static void
test_leftover_new_file_replaced(void **state)
{
	struct fixture *f = *state;

	/* A killed run left "<path>.new" behind: the next one starts over. */
	write_file(f->tmp, "garbage from a killed run", 25);
	write_baseline(f->path, 1, "r");
	check_baseline(f->path, 1, "r");
	assert_int_equal(access(f->tmp, F_OK), -1);
}

static void
test_create_in_missing_folder(void **state)
{
	struct fixture *f = *state;
	struct vg_baseline_writer *w = (struct vg_baseline_writer *)&w;
	char path[256], err[512] = "";

	snprintf(path, sizeof(path), "%s/no/such/dir/base.db", f->dir);
	assert_int_equal(vg_baseline_create(path, &w, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
	assert_null(w);
	assert_true(strlen(err) > 0);
}

/* vg_baseline_open(path) must fail with code and a message naming the
 * file and containing want. */
static void
check_open_fails(const char *path, int code, const char *want)
{
	struct vg_baseline *b = (struct vg_baseline *)&b;
	char err[512] = "";
	int r;

	r = vg_baseline_open(path, &b, err, sizeof(err));
	assert_null(b);
	if (r != code || strstr(err, path) == NULL ||
	    strstr(err, want) == NULL)
		fail_msg("open %s: got %d \"%s\", want %d with \"%s\"", path, r,
		    err, code, want);
}

static void
sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void
test_open_errors(void **state)
{
	struct fixture *f = *state;
	unsigned char junk[8192];
	char path[256];
	size_t i;
	unsigned x = 1;

	/* Missing. */
	check_open_fails(f->path, VG_ERR_NOTFOUND, "No such file");

	/* Random bytes. */
	for (i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (unsigned char)(x >> 16);
	}
	snprintf(path, sizeof(path), "%s/random.db", f->dir);
	write_file(path, junk, sizeof(junk));
	check_open_fails(path, VG_ERR_FORMAT, "not a vigil baseline");

	/* Text. */
	snprintf(path, sizeof(path), "%s/text.db", f->dir);
	write_file(path, "root /etc\n", 10);
	check_open_fails(path, VG_ERR_FORMAT, "not a vigil baseline");

	/* An SQLite database of another program. */
	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	sql_exec(path, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
	check_open_fails(path, VG_ERR_FORMAT, "another program");

	/* A folder. */
	check_open_fails(f->dir, VG_ERR_FORMAT, "not a vigil baseline");
}

static void
copy_file(const char *from, const char *to)
{
	unsigned char *buf;
	size_t len;

	buf = read_file(from, &len);
	write_file(to, buf, len);
	free(buf);
}

static void
test_open_newer_version(void **state)
{
	struct fixture *f = *state;
	char path[256];

	write_baseline(f->path, 0, "r");
	snprintf(path, sizeof(path), "%s/v99.db", f->dir);
	copy_file(f->path, path);
	sql_exec(path, "PRAGMA user_version = 99;");
	check_open_fails(path, VG_ERR_VERSION, "99");
	/* The copy with the right version was fine. */
	check_baseline(f->path, 0, "r");
}

/* Opens path and reads to the end: every item comes back, and the end
 * reports VG_ERR_CORRUPT with want in the message. */
static void
check_corrupt_at_end(const char *path, size_t nitems, const char *want)
{
	struct vg_baseline *b = NULL;
	struct vg_item *it;
	char err[512] = "";
	size_t n = 0;
	int r;

	if (vg_baseline_open(path, &b, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	for (;;) {
		it = NULL;
		r = vg_baseline_next(b, &it, err, sizeof(err));
		if (r != 0 || it == NULL)
			break;
		n++;
		vg_item_free(it);
	}
	assert_int_equal(r, VG_ERR_CORRUPT);
	assert_null(it);
	assert_int_equal(n, nitems);
	if (strstr(err, want) == NULL || strstr(err, path) == NULL)
		fail_msg("message \"%s\" does not name %s and \"%s\"", err,
		    path, want);
	vg_baseline_close(b);
}

/* The stored key of a path: '/' as 0 bytes. */
static void
update_one_row(const char *path, const char *item_path, const char *sql)
{
	char key[256];
	sqlite3_stmt *st;
	sqlite3 *db;
	size_t i, n = strlen(item_path);

	for (i = 0; i < n; i++)
		key[i] = item_path[i] == '/' ? '\0' : item_path[i];
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_bind_blob(st, 1, key, (int)n,
	    SQLITE_TRANSIENT), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void
test_altered_rows_detected(void **state)
{
	struct fixture *f = *state;
	char path[256];

	write_baseline(f->path, 0, "r");

	/* One row changed behind our back. */
	snprintf(path, sizeof(path), "%s/one.db", f->dir);
	copy_file(f->path, path);
	update_one_row(path, "/a/b/c", "UPDATE item SET size = size + 1 "
	    "WHERE key = ?");
	check_corrupt_at_end(path, NPATHS, "checksum");

	/* Every row. */
	snprintf(path, sizeof(path), "%s/all.db", f->dir);
	copy_file(f->path, path);
	sql_exec(path, "UPDATE item SET size = size + 1;");
	check_corrupt_at_end(path, NPATHS, "checksum");

	/* A text attribute. */
	snprintf(path, sizeof(path), "%s/user.db", f->dir);
	copy_file(f->path, path);
	update_one_row(path, "/a", "UPDATE item SET user = 'root' "
	    "WHERE key = ?");
	check_corrupt_at_end(path, NPATHS, "checksum");

	/* A row gone: the count no longer matches. */
	snprintf(path, sizeof(path), "%s/gone.db", f->dir);
	copy_file(f->path, path);
	update_one_row(path, "/a-b", "DELETE FROM item WHERE key = ?");
	check_corrupt_at_end(path, NPATHS - 1, "items");

	/* The original is untouched and fine. */
	check_baseline(f->path, 0, "r");
}

/* Lookups by path find every item, miss absent ones, and do not disturb
 * the stream of vg_baseline_next() they interleave with. */
static void
test_get(void **state)
{
	struct fixture *f = *state;
	struct vg_baseline *b = NULL;
	struct vg_item *it, *got, *want;
	char err[512] = "";
	size_t i, n = 0;
	int found;

	write_baseline(f->path, 2, "root /\n");
	if (vg_baseline_open(f->path, &b, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	for (i = 0; i < NPATHS; i++) {
		got = NULL;
		if (vg_baseline_get(b, paths[i], strlen(paths[i]), &got, err,
		    sizeof(err)) != 0)
			fail_msg("get %s: %s", paths[i], err);
		assert_non_null(got);
		want = make_item(i, 2);
		assert_items_equal(want, got);
		vg_item_free(want);
		vg_item_free(got);
	}
	/* Absent: a prefix, an extension, a '/' that is not a separator. */
	got = (struct vg_item *)&got;
	assert_int_equal(vg_baseline_get(b, "/a/b/c/d", 8, &got, err,
	    sizeof(err)), 0);
	assert_null(got);
	got = (struct vg_item *)&got;
	assert_int_equal(vg_baseline_get(b, "/a/bb", 5, &got, err,
	    sizeof(err)), 0);
	assert_null(got);
	got = (struct vg_item *)&got;
	assert_int_equal(vg_baseline_get(b, "", 0, &got, err, sizeof(err)),
	    0);
	assert_null(got);
	/* Below a folder: "/a" has items, "/a/b/c/d/e/f/g/h" and "/a.b"
	 * none ("/a.b" sorts between "/a/..." keys and is not below). */
	assert_int_equal(vg_baseline_has_below(b, "/a", 2, &found, err,
	    sizeof(err)), 0);
	assert_int_equal(found, 1);
	assert_int_equal(vg_baseline_has_below(b, "/a/b/c/d/e/f/g/h", 16,
	    &found, err, sizeof(err)), 0);
	assert_int_equal(found, 0);
	assert_int_equal(vg_baseline_has_below(b, "/a.b", 4, &found, err,
	    sizeof(err)), 0);
	assert_int_equal(found, 0);
	assert_int_equal(vg_baseline_has_below(b, "/", 1, &found, err,
	    sizeof(err)), 0);
	assert_int_equal(found, 1);
	assert_int_equal(vg_baseline_has_below(b, "/q", 2, &found, err,
	    sizeof(err)), 0);
	assert_int_equal(found, 0);
	/* Interleaved with the stream, which still ends checked. */
	for (;;) {
		it = NULL;
		if (vg_baseline_next(b, &it, err, sizeof(err)) != 0)
			fail_msg("next: %s", err);
		if (it == NULL)
			break;
		n++;
		got = NULL;
		assert_int_equal(vg_baseline_get(b, "/a", 2, &got, err,
		    sizeof(err)), 0);
		assert_non_null(got);
		assert_string_equal(got->path, "/a");
		vg_item_free(got);
		vg_item_free(it);
	}
	assert_int_equal(n, NPATHS);
	vg_baseline_close(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_cmp),
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_read, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commit_replaces, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_empty_baseline, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_put, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_second_writer_busy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_refused_writer_leaves_first_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_keeps_old, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_leftover_new_file_replaced,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_in_missing_folder,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_newer_version, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_altered_rows_detected,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
