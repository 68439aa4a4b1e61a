/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "vg_baseline.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_util.h"

#define APP_ID 1447512396  /* 0x5647494c, "VGIL": PRAGMA application_id */
#define STR(x) STR2(x)
#define STR2(x) #x
#define FORMAT_NAME "vigil-baseline"

#define COLS "key, have, ftype, size, mode, uid, gid, user, grp, mtime, " \
	"ctime, inode, dev, nlink, target, xattrs, acl, selinux, hash_alg, " \
	"hash_state, hash"

static const char schema[] =
    "PRAGMA application_id = " STR(APP_ID) ";"
    "PRAGMA user_version = " STR(VG_BASELINE_FORMAT) ";"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) "
    "WITHOUT ROWID;"
    "CREATE TABLE item(key BLOB PRIMARY KEY, have INT NOT NULL, "
    "ftype INT NOT NULL, size INT, mode INT, uid INT, gid INT, user TEXT, "
    "grp TEXT, mtime INT, ctime INT, inode INT, dev INT, nlink INT, "
    "target BLOB, xattrs TEXT, acl TEXT, selinux TEXT, hash_alg INT, "
    "hash_state INT, hash BLOB) WITHOUT ROWID;";

/* The sum, mod 2^256, of the SHA-256 of every row: independent of the
 * order rows were written in, so workers may finish in any order. */
struct row_sum {
	struct vg_hasher *h;
	unsigned char sum[32];
	uint64_t count;
};

struct vg_baseline {
	sqlite3 *db;
	sqlite3_stmt *cur;
	sqlite3_stmt *get;   /* vg_baseline_get(), prepared on first use */
	sqlite3_stmt *below; /* vg_baseline_has_below(), likewise */
	char *path;
	char **meta;     /* key, value pairs, NULL-terminated */
	struct row_sum rs;
	int done;
};

struct vg_baseline_writer {
	sqlite3 *db;
	sqlite3_stmt *ins;
	char *path;      /* final path */
	char *tmp;       /* "<path>.new" */
	int lockfd;
	int own_tmp;     /* we hold the lock: tmp is ours to remove */
	struct row_sum rs;
	uint64_t bytes;
};

int
vg_path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i, n = alen < blen ? alen : blen;
	unsigned char ca, cb;

	for (i = 0; i < n; i++) {
		if (a[i] == b[i])
			continue;
		ca = a[i] == '/' ? 0 : (unsigned char)a[i];
		cb = b[i] == '/' ? 0 : (unsigned char)b[i];
		return ca < cb ? -1 : 1;
	}
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* The stored key: the path with '/' as 0, so that SQLite's memcmp order
 * of BLOBs is vg_path_cmp() order. */
static void
path_to_key(const char *path, size_t len, char *key)
{
	size_t i;

	for (i = 0; i < len; i++)
		key[i] = path[i] == '/' ? '\0' : path[i];
}

static int
db_err(sqlite3 *db, const char *file, const char *what, char *err,
    size_t errlen)
{
	int code = db ? sqlite3_errcode(db) : SQLITE_ERROR;

	switch (code) {
	case SQLITE_FULL:
		snprintf(err, errlen, "%s: disk full while %s", file, what);
		return VG_ERR_NOSPACE;
	case SQLITE_NOTADB:
		snprintf(err, errlen, "%s: not a vigil baseline (not an "
		    "SQLite database)", file);
		return VG_ERR_FORMAT;
	case SQLITE_CORRUPT:
		snprintf(err, errlen, "%s: baseline is corrupt (%s)", file,
		    sqlite3_errmsg(db));
		return VG_ERR_CORRUPT;
	case SQLITE_CANTOPEN:
		snprintf(err, errlen, "%s: cannot open: %s", file,
		    strerror(errno ? errno : ENOENT));
		return vg_err_from_errno(errno ? errno : ENOENT);
	case SQLITE_IOERR:
		if (sqlite3_system_errno(db) == ENOSPC ||
		    sqlite3_system_errno(db) == EDQUOT) {
			snprintf(err, errlen, "%s: disk full while %s", file,
			    what);
			return VG_ERR_NOSPACE;
		}
		break;
	}
	snprintf(err, errlen, "%s: database error while %s: %s", file, what,
	    db ? sqlite3_errmsg(db) : "out of memory");
	return VG_ERR_DB;
}

static int
row_sum_init(struct row_sum *rs)
{
	memset(rs, 0, sizeof(*rs));
	return vg_hasher_new(VG_HASH_SHA256, &rs->h);
}

/* A row's canonical bytes, built up before one hash update: fixed-width
 * little-endian numbers, strings as length + bytes. */
struct rowbuf {
	unsigned char *p;     /* starts as the caller's stack buffer */
	size_t len, cap;
	int failed;
	int heap;             /* p was allocated here */
};

static void
put_bytes(struct rowbuf *rb, const void *data, size_t n)
{
	unsigned char *np;
	size_t cap;

	if (rb->failed)
		return;
	if (rb->len + n > rb->cap) {
		cap = (rb->len + n) * 2;
		if ((np = rb->heap ? realloc(rb->p, cap) : malloc(cap)) ==
		    NULL) {
			rb->failed = 1;
			return;
		}
		if (!rb->heap)
			memcpy(np, rb->p, rb->len);
		rb->p = np;
		rb->cap = cap;
		rb->heap = 1;
	}
	memcpy(rb->p + rb->len, data, n);
	rb->len += n;
}

static void
put_u64(struct rowbuf *rb, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put_bytes(rb, b, 8);
}

static void
put_str(struct rowbuf *rb, const char *s)
{
	size_t n = s ? strlen(s) + 1 : 0;

	put_u64(rb, n);
	if (s)
		put_bytes(rb, s, n);
}

/* Adds SHA-256(data) to sum, modulo 2^256. */
static int
sum_add(struct row_sum *rs, unsigned char sum[32], const void *data,
    size_t len)
{
	unsigned char md[32];
	unsigned carry = 0;
	int i;

	if (vg_hasher_start(rs->h) != 0 ||
	    vg_hasher_update(rs->h, data, len) != 0 ||
	    vg_hasher_finish(rs->h, md) != 0)
		return VG_ERR_CRYPTO;
	for (i = 0; i < 32; i++) {
		carry += (unsigned)sum[i] + md[i];
		sum[i] = (unsigned char)carry;
		carry >>= 8;
	}
	return 0;
}

static int
row_sum_add(struct row_sum *rs, const struct vg_item *it)
{
	unsigned char stackbuf[1024];
	struct rowbuf rb = { stackbuf, 0, sizeof(stackbuf), 0, 0 };
	int r = VG_ERR_NOMEM;

	put_u64(&rb, it->path_len);
	put_bytes(&rb, it->path, it->path_len);
	put_u64(&rb, it->have);
	put_u64(&rb, (uint64_t)it->ftype);
	put_u64(&rb, it->size);
	put_u64(&rb, it->mode);
	put_u64(&rb, it->uid);
	put_u64(&rb, it->gid);
	put_str(&rb, it->user);
	put_str(&rb, it->group);
	put_u64(&rb, (uint64_t)it->mtime_ns);
	put_u64(&rb, (uint64_t)it->ctime_ns);
	put_u64(&rb, it->inode);
	put_u64(&rb, it->dev);
	put_u64(&rb, it->nlink);
	put_str(&rb, it->target);
	put_str(&rb, it->xattrs);
	put_str(&rb, it->acl);
	put_str(&rb, it->selinux);
	put_u64(&rb, (uint64_t)it->hash_alg);
	put_u64(&rb, (uint64_t)it->hash_state);
	put_bytes(&rb, it->hash, vg_hash_len(it->hash_alg));
	if (rb.failed)
		goto out;
	if ((r = sum_add(rs, rs->sum, rb.p, rb.len)) == 0)
		rs->count++;
out:
	if (rb.heap)
		free(rb.p);
	return r;
}

/* The metadata as one more "row": key and value pairs sorted by key,
 * without the checksum itself. keys/values are n parallel arrays. */
static int
meta_sum_add(struct row_sum *rs, unsigned char sum[32], char **kv, size_t n)
{
	unsigned char stackbuf[4096] = { 0 };
	struct rowbuf rb = { stackbuf, 0, sizeof(stackbuf), 0, 0 };
	size_t i;
	int r = VG_ERR_NOMEM;

	for (i = 0; i < n; i++) {
		put_str(&rb, kv[2 * i]);
		put_str(&rb, kv[2 * i + 1]);
	}
	if (!rb.failed)
		r = sum_add(rs, sum, rb.p, rb.len);
	if (rb.heap)
		free(rb.p);
	return r;
}

/* ---- reading ---- */

static int
load_meta(struct vg_baseline *b, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	char **m;
	int rc, r = VG_ERR_NOMEM;

	if (sqlite3_prepare_v2(b->db, "SELECT key, value FROM meta", -1, &st,
	    NULL) != SQLITE_OK)
		return db_err(b->db, b->path, "reading metadata", err, errlen);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_TEXT ||
		    sqlite3_column_type(st, 1) != SQLITE_TEXT) {
			snprintf(err, errlen, "%s: baseline is corrupt (bad "
			    "metadata)", b->path);
			r = VG_ERR_CORRUPT;
			goto out;
		}
		if ((m = reallocarray(b->meta, 2 * n + 3, sizeof(*m))) ==
		    NULL)
			goto out;
		b->meta = m;
		m[2 * n] = strdup((const char *)sqlite3_column_text(st, 0));
		m[2 * n + 1] = strdup((const char *)sqlite3_column_text(st,
		    1));
		m[2 * n + 2] = NULL;
		n++;
		if (m[2 * n - 2] == NULL || m[2 * n - 1] == NULL)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = db_err(b->db, b->path, "reading metadata", err, errlen);
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

const char *
vg_baseline_meta(const struct vg_baseline *b, const char *key)
{
	size_t i;

	for (i = 0; b->meta != NULL && b->meta[i] != NULL; i += 2)
		if (strcmp(b->meta[i], key) == 0)
			return b->meta[i + 1];
	return NULL;
}

static int
pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
vg_baseline_open(const char *path, struct vg_baseline **out, char *err,
    size_t errlen)
{
	struct vg_baseline *b = NULL;
	struct stat st;
	int64_t v;
	const char *f;
	int r = VG_ERR_NOMEM;

	*out = NULL;
	if (stat(path, &st) == -1) {
		r = vg_err_from_errno(errno);
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
		    errno == ENOENT ? " (make one with 'vigil scan init')" :
				      "");
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a vigil baseline (not a regular "
		    "file)", path);
		return VG_ERR_FORMAT;
	}
	if (access(path, R_OK) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return vg_err_from_errno(errno);
	}
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->path = strdup(path)) == NULL)
		goto out;
	if ((r = row_sum_init(&b->rs)) != 0)
		goto out;
	/* One thread uses a connection: no SQLite mutexes. */
	if (sqlite3_open_v2(path, &b->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		r = db_err(b->db, path, "opening", err, errlen);
		goto out;
	}
	sqlite3_extended_result_codes(b->db, 0);
	if (pragma_int(b->db, "PRAGMA application_id", &v) != 0) {
		r = db_err(b->db, path, "opening", err, errlen);
		goto out;
	}
	r = VG_ERR_FORMAT;
	if (v != APP_ID) {
		snprintf(err, errlen, "%s: not a vigil baseline (an SQLite "
		    "database of another program)", path);
		goto out;
	}
	if (pragma_int(b->db, "PRAGMA user_version", &v) != 0) {
		r = db_err(b->db, path, "opening", err, errlen);
		goto out;
	}
	if (v != VG_BASELINE_FORMAT) {
		snprintf(err, errlen, "%s: baseline format %" PRId64 " is not "
		    "supported by this vigil (it reads format %d)", path, v,
		    VG_BASELINE_FORMAT);
		r = VG_ERR_VERSION;
		goto out;
	}
	if ((r = load_meta(b, err, errlen)) != 0)
		goto out;
	if ((f = vg_baseline_meta(b, "format")) == NULL ||
	    strcmp(f, FORMAT_NAME) != 0 || vg_baseline_meta(b, "rules") ==
	    NULL || vg_baseline_meta(b, "checksum") == NULL ||
	    vg_baseline_meta(b, "items") == NULL) {
		snprintf(err, errlen, "%s: baseline is corrupt (metadata "
		    "missing)", path);
		r = VG_ERR_CORRUPT;
		goto out;
	}
	if (sqlite3_prepare_v2(b->db, "SELECT " COLS " FROM item ORDER BY key",
	    -1, &b->cur, NULL) != SQLITE_OK) {
		if (sqlite3_errcode(b->db) == SQLITE_ERROR) {
			/* Our ids, but not our tables. */
			snprintf(err, errlen, "%s: baseline is corrupt (its "
			    "tables are not those of format %d: %s)", path,
			    VG_BASELINE_FORMAT, sqlite3_errmsg(b->db));
			r = VG_ERR_CORRUPT;
		} else
			r = db_err(b->db, path, "reading items", err, errlen);
		goto out;
	}
	*out = b;
	b = NULL;
	r = 0;
out:
	vg_baseline_close(b);
	return r;
}

void
vg_baseline_close(struct vg_baseline *b)
{
	size_t i;

	if (b == NULL)
		return;
	sqlite3_finalize(b->cur);
	sqlite3_finalize(b->get);
	sqlite3_finalize(b->below);
	sqlite3_close(b->db);
	for (i = 0; b->meta != NULL && b->meta[i] != NULL; i++)
		free(b->meta[i]);
	free(b->meta);
	vg_hasher_free(b->rs.h);
	free(b->path);
	free(b);
}

static int
col_str(sqlite3_stmt *st, int col, char **out)
{
	const unsigned char *s;

	*out = NULL;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	s = sqlite3_column_text(st, col);
	if (s == NULL || (*out = strdup((const char *)s)) == NULL)
		return VG_ERR_NOMEM;
	return 0;
}

static int
pair_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks the rows read, and the metadata, against the stored count and
 * checksum. */
static int
verify_sum(struct vg_baseline *b, char *err, size_t errlen)
{
	char hex[65], **kv = NULL;
	const char *want = vg_baseline_meta(b, "checksum");
	const char *items = vg_baseline_meta(b, "items");
	char count[32];
	unsigned char sum[32];
	size_t i, n = 0;
	int r;

	/* Pairs sorted by key, as the writer read them back from SQLite. */
	for (i = 0; b->meta[i] != NULL; i += 2)
		n++;
	if ((kv = calloc(2 * n + 1, sizeof(*kv))) == NULL)
		return VG_ERR_NOMEM;
	for (i = 0, n = 0; b->meta[i] != NULL; i += 2) {
		if (strcmp(b->meta[i], "checksum") == 0)
			continue;
		kv[2 * n] = b->meta[i];
		kv[2 * n + 1] = b->meta[i + 1];
		n++;
	}
	qsort(kv, n, 2 * sizeof(*kv), pair_cmp);
	memcpy(sum, b->rs.sum, 32);
	r = meta_sum_add(&b->rs, sum, kv, n);
	free(kv);
	if (r != 0)
		return r;
	vg_hex_encode(sum, 32, hex);
	snprintf(count, sizeof(count), "%" PRIu64, b->rs.count);
	if (strcmp(count, items) != 0) {
		snprintf(err, errlen, "%s: baseline is corrupt (%s items "
		    "stored, %s expected)", b->path, count, items);
		return VG_ERR_CORRUPT;
	}
	if (strcmp(hex, want) != 0) {
		snprintf(err, errlen, "%s: baseline is corrupt (checksum "
		    "mismatch: its items or settings were altered)", b->path);
		return VG_ERR_CORRUPT;
	}
	return 0;
}

/* The item of the row st is on (cols as COLS). */
static int
row_to_item(const struct vg_baseline *b, sqlite3_stmt *st,
    struct vg_item **out, char *err, size_t errlen)
{
	struct vg_item *it = NULL;
	const char *key;
	size_t len, i, hlen;
	int r = VG_ERR_NOMEM;

	*out = NULL;
	key = sqlite3_column_blob(st, 0);
	len = (size_t)sqlite3_column_bytes(st, 0);
	if (key == NULL || len == 0 || len > VG_ITEM_PATH_MAX) {
		snprintf(err, errlen, "%s: baseline is corrupt (bad item key)",
		    b->path);
		return VG_ERR_CORRUPT;
	}
	if ((it = vg_item_new(VG_KIND_FILE, key, len)) == NULL)
		goto out;
	for (i = 0; i < len; i++)
		if (it->path[i] == '\0')
			it->path[i] = '/';
	it->have = (uint32_t)sqlite3_column_int64(st, 1);
	it->ftype = (enum vg_ftype)sqlite3_column_int(st, 2);
	it->size = (uint64_t)sqlite3_column_int64(st, 3);
	it->mode = (uint32_t)sqlite3_column_int64(st, 4);
	it->uid = (uint32_t)sqlite3_column_int64(st, 5);
	it->gid = (uint32_t)sqlite3_column_int64(st, 6);
	if (col_str(st, 7, &it->user) != 0 ||
	    col_str(st, 8, &it->group) != 0)
		goto out;
	it->mtime_ns = sqlite3_column_int64(st, 9);
	it->ctime_ns = sqlite3_column_int64(st, 10);
	it->inode = (uint64_t)sqlite3_column_int64(st, 11);
	it->dev = (uint64_t)sqlite3_column_int64(st, 12);
	it->nlink = (uint64_t)sqlite3_column_int64(st, 13);
	if (col_str(st, 14, &it->target) != 0 ||
	    col_str(st, 15, &it->xattrs) != 0 ||
	    col_str(st, 16, &it->acl) != 0 ||
	    col_str(st, 17, &it->selinux) != 0)
		goto out;
	it->hash_alg = (enum vg_hash_alg)sqlite3_column_int(st, 18);
	it->hash_state = (enum vg_hash_state)sqlite3_column_int(st, 19);
	hlen = (size_t)sqlite3_column_bytes(st, 20);
	if (hlen != vg_hash_len(it->hash_alg) || it->ftype > VG_FT_BLK ||
	    it->hash_state > VG_HS_UNSTABLE) {
		snprintf(err, errlen, "%s: baseline is corrupt (bad values for "
		    "an item)", b->path);
		r = VG_ERR_CORRUPT;
		goto out;
	}
	if (hlen > 0)
		memcpy(it->hash, sqlite3_column_blob(st, 20), hlen);
	*out = it;
	it = NULL;
	r = 0;
out:
	vg_item_free(it);
	return r;
}

int
vg_baseline_next(struct vg_baseline *b, struct vg_item **out, char *err,
    size_t errlen)
{
	struct vg_item *it = NULL;
	int rc, r;

	*out = NULL;
	if (b->done)
		return 0;
	if ((rc = sqlite3_step(b->cur)) == SQLITE_DONE) {
		b->done = 1;
		return verify_sum(b, err, errlen);
	}
	if (rc != SQLITE_ROW)
		return db_err(b->db, b->path, "reading items", err, errlen);
	if ((r = row_to_item(b, b->cur, &it, err, errlen)) != 0)
		return r;
	if ((r = row_sum_add(&b->rs, it)) != 0) {
		vg_item_free(it);
		return r;
	}
	*out = it;
	return 0;
}

int
vg_baseline_get(struct vg_baseline *b, const char *path, size_t len,
    struct vg_item **out, char *err, size_t errlen)
{
	char stackkey[512], *key = stackkey;
	int rc, r;

	*out = NULL;
	if (len == 0 || len > VG_ITEM_PATH_MAX)
		return 0;    /* no such item can be stored */
	if (b->get == NULL && sqlite3_prepare_v2(b->db, "SELECT " COLS
	    " FROM item WHERE key = ?", -1, &b->get, NULL) != SQLITE_OK)
		return db_err(b->db, b->path, "looking up an item", err,
		    errlen);
	if (len > sizeof(stackkey) && (key = malloc(len)) == NULL)
		return VG_ERR_NOMEM;
	path_to_key(path, len, key);
	sqlite3_bind_blob(b->get, 1, key, (int)len, SQLITE_STATIC);
	if ((rc = sqlite3_step(b->get)) == SQLITE_ROW)
		r = row_to_item(b, b->get, out, err, errlen);
	else if (rc == SQLITE_DONE)
		r = 0;
	else
		r = db_err(b->db, b->path, "looking up an item", err, errlen);
	sqlite3_reset(b->get);
	sqlite3_clear_bindings(b->get);
	if (key != stackkey)
		free(key);
	return r;
}

int
vg_baseline_has_below(struct vg_baseline *b, const char *path, size_t len,
    int *found, char *err, size_t errlen)
{
	char *lo, *hi;
	int rc, r;

	*found = 0;
	if (len == 0 || len >= VG_ITEM_PATH_MAX)
		return 0;
	if (b->below == NULL && sqlite3_prepare_v2(b->db, "SELECT 1 FROM item "
	    "WHERE key > ? AND key < ? LIMIT 1", -1, &b->below, NULL) !=
	    SQLITE_OK)
		return db_err(b->db, b->path, "looking up items", err, errlen);
	/* The keys below "/a" ("\0a") lie between "\0a\0" and "\0a\1";
	 * below "/", between "\0" and "\1". */
	if (len == 1 && path[0] == '/')
		len = 0;
	if ((lo = malloc(2 * (len + 1))) == NULL)
		return VG_ERR_NOMEM;
	hi = lo + len + 1;
	path_to_key(path, len, lo);
	memcpy(hi, lo, len);
	lo[len] = '\0';
	hi[len] = '\1';
	sqlite3_bind_blob(b->below, 1, lo, (int)len + 1, SQLITE_STATIC);
	sqlite3_bind_blob(b->below, 2, hi, (int)len + 1, SQLITE_STATIC);
	if ((rc = sqlite3_step(b->below)) == SQLITE_ROW)
		*found = 1;
	r = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(b->db, b->path,
	    "looking up items", err, errlen);
	sqlite3_reset(b->below);
	sqlite3_clear_bindings(b->below);
	free(lo);
	return r;
}

/* ---- writing ---- */

static int
exec(struct vg_baseline_writer *w, const char *sql, const char *what,
    char *err, size_t errlen)
{
	if (sqlite3_exec(w->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_err(w->db, w->tmp, what, err, errlen);
	return 0;
}

int
vg_baseline_create(const char *path, struct vg_baseline_writer **out,
    char *err, size_t errlen)
{
	struct vg_baseline_writer *w = NULL;
	char lock[PATH_MAX];
	int r = VG_ERR_NOMEM, n;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return VG_ERR_NOMEM;
	w->lockfd = -1;
	if ((w->path = strdup(path)) == NULL ||
	    asprintf(&w->tmp, "%s.new", path) == -1) {
		w->tmp = NULL;
		goto out;
	}
	if ((r = row_sum_init(&w->rs)) != 0)
		goto out;
	n = snprintf(lock, sizeof(lock), "%s.lock", path);
	if (n < 0 || (size_t)n >= sizeof(lock)) {
		snprintf(err, errlen, "%s: path too long", path);
		r = VG_ERR_TOOBIG;
		goto out;
	}
	if ((w->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		r = vg_err_from_errno(errno);
		snprintf(err, errlen, "cannot write baseline %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (flock(w->lockfd, LOCK_EX | LOCK_NB) == -1) {
		r = VG_ERR_BUSY;
		snprintf(err, errlen, "%s: another vigil run is writing this "
		    "baseline (lock %s is held)", path, lock);
		goto out;
	}
	w->own_tmp = 1;
	/* A leftover from a killed run is ours to replace: we hold the lock. */
	if (unlink(w->tmp) == -1 && errno != ENOENT) {
		r = vg_err_from_errno(errno);
		snprintf(err, errlen, "%s: %s", w->tmp, strerror(errno));
		goto out;
	}
	/* Created here, not by SQLite, so that it is 0600 whatever the
	 * umask: a baseline names files and holds their hashes. */
	if ((n = open(w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) ==
	    -1) {
		r = vg_err_from_errno(errno);
		snprintf(err, errlen, "cannot write baseline %s: %s", w->tmp,
		    strerror(errno));
		goto out;
	}
	close(n);
	if (sqlite3_open_v2(w->tmp, &w->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		r = db_err(w->db, w->tmp, "creating", err, errlen);
		goto out;
	}
	sqlite3_extended_result_codes(w->db, 0);
	/* No journal: the file is new and is thrown away on any failure;
	 * durability comes from the fsync and rename at commit. */
	if ((r = exec(w, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
	    "PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-8192;",
	    "creating", err, errlen)) != 0 ||
	    (r = exec(w, schema, "creating", err, errlen)) != 0 ||
	    (r = exec(w, "BEGIN", "creating", err, errlen)) != 0)
		goto out;
	if (sqlite3_prepare_v2(w->db, "INSERT INTO item(" COLS ") VALUES "
	    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &w->ins, NULL) !=
	    SQLITE_OK) {
		r = db_err(w->db, w->tmp, "creating", err, errlen);
		goto out;
	}
	*out = w;
	w = NULL;
	r = 0;
out:
	vg_baseline_abort(w);
	return r;
}

static void
bind_str(sqlite3_stmt *st, int col, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
}

int
vg_baseline_put(struct vg_baseline_writer *w, const struct vg_item *it,
    char *err, size_t errlen)
{
	sqlite3_stmt *st = w->ins;
	char stackkey[512], *key = stackkey;
	int r, rc;

	if (it->path_len == 0 || it->path_len > VG_ITEM_PATH_MAX) {
		snprintf(err, errlen, "%s: item path of %zu bytes is not "
		    "1 to %d bytes long", w->tmp, it->path_len,
		    VG_ITEM_PATH_MAX);
		return VG_ERR_TOOBIG;
	}
	if (it->path_len > sizeof(stackkey) &&
	    (key = malloc(it->path_len)) == NULL)
		return VG_ERR_NOMEM;
	path_to_key(it->path, it->path_len, key);
	sqlite3_bind_blob(st, 1, key, (int)it->path_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, it->have);
	sqlite3_bind_int(st, 3, (int)it->ftype);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)it->size);
	sqlite3_bind_int64(st, 5, it->mode);
	sqlite3_bind_int64(st, 6, it->uid);
	sqlite3_bind_int64(st, 7, it->gid);
	bind_str(st, 8, it->user);
	bind_str(st, 9, it->group);
	sqlite3_bind_int64(st, 10, it->mtime_ns);
	sqlite3_bind_int64(st, 11, it->ctime_ns);
	sqlite3_bind_int64(st, 12, (sqlite3_int64)it->inode);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)it->dev);
	sqlite3_bind_int64(st, 14, (sqlite3_int64)it->nlink);
	bind_str(st, 15, it->target);
	bind_str(st, 16, it->xattrs);
	bind_str(st, 17, it->acl);
	bind_str(st, 18, it->selinux);
	sqlite3_bind_int(st, 19, (int)it->hash_alg);
	sqlite3_bind_int(st, 20, (int)it->hash_state);
	sqlite3_bind_blob(st, 21, it->hash, (int)vg_hash_len(it->hash_alg),
	    SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (key != stackkey)
		free(key);
	if (rc == SQLITE_CONSTRAINT) {
		snprintf(err, errlen, "%s: duplicate item", w->tmp);
		return VG_ERR_INVAL;
	}
	if (rc != SQLITE_DONE)
		return db_err(w->db, w->tmp, "writing items", err, errlen);
	if ((r = row_sum_add(&w->rs, it)) != 0)
		return r;
	if (it->ftype == VG_FT_REG)
		w->bytes += it->size;
	return 0;
}

int
vg_baseline_set_meta(struct vg_baseline_writer *w, const char *key,
    const char *value, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(w->db, "INSERT OR REPLACE INTO meta(key, value) "
	    "VALUES (?, ?)", -1, &st, NULL) != SQLITE_OK)
		return db_err(w->db, w->tmp, "writing metadata", err, errlen);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(w->db, w->tmp, "writing metadata", err, errlen);
	return 0;
}

static int
fsync_path(const char *path, int dir)
{
	int fd, r = 0;

	if ((fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fsync(fd) == -1)
		r = -1;
	close(fd);
	return r;
}

/* The final checksum, in hex: the rows' sum plus the metadata (all but
 * the checksum), read back sorted by key. */
static int
meta_checksum(struct vg_baseline_writer *w, char hex[65], char *err,
    size_t errlen)
{
	sqlite3_stmt *st = NULL;
	unsigned char sum[32];
	char **kv = NULL, **nkv;
	size_t n = 0, i;
	int rc, r = VG_ERR_NOMEM;

	if (sqlite3_prepare_v2(w->db, "SELECT key, value FROM meta WHERE "
	    "key <> 'checksum' ORDER BY key", -1, &st, NULL) != SQLITE_OK)
		return db_err(w->db, w->tmp, "writing metadata", err, errlen);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nkv = reallocarray(kv, 2 * n + 2, sizeof(*kv))) == NULL)
			goto out;
		kv = nkv;
		kv[2 * n] = strdup((const char *)sqlite3_column_text(st, 0));
		kv[2 * n + 1] = strdup((const char *)sqlite3_column_text(st,
		    1));
		n++;
		if (kv[2 * n - 2] == NULL || kv[2 * n - 1] == NULL)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		r = db_err(w->db, w->tmp, "writing metadata", err, errlen);
		goto out;
	}
	memcpy(sum, w->rs.sum, 32);
	if ((r = meta_sum_add(&w->rs, sum, kv, n)) != 0)
		goto out;
	vg_hex_encode(sum, 32, hex);
out:
	for (i = 0; i < 2 * n; i++)
		free(kv[i]);
	free(kv);
	sqlite3_finalize(st);
	return r;
}

int
vg_baseline_commit(struct vg_baseline_writer *w, char *err, size_t errlen)
{
	char hex[65], num[32], dirbuf[PATH_MAX];
	int r;

	snprintf(num, sizeof(num), "%" PRIu64, w->rs.count);
	if ((r = vg_baseline_set_meta(w, "format", FORMAT_NAME, err,
	    errlen)) != 0 ||
	    (r = vg_baseline_set_meta(w, "items", num, err, errlen)) != 0)
		goto out;
	snprintf(num, sizeof(num), "%" PRIu64, w->bytes);
	if ((r = vg_baseline_set_meta(w, "bytes", num, err, errlen)) != 0 ||
	    (r = meta_checksum(w, hex, err, errlen)) != 0 ||
	    (r = vg_baseline_set_meta(w, "checksum", hex, err, errlen)) != 0 ||
	    (r = exec(w, "COMMIT", "finishing", err, errlen)) != 0)
		goto out;
	sqlite3_finalize(w->ins);
	w->ins = NULL;
	if (sqlite3_close(w->db) != SQLITE_OK) {
		r = db_err(w->db, w->tmp, "closing", err, errlen);
		goto out;
	}
	w->db = NULL;
	r = VG_ERR_IO;
	if (fsync_path(w->tmp, 0) == -1) {
		r = vg_err_from_errno(errno);
		snprintf(err, errlen, "%s: %s while syncing", w->tmp,
		    strerror(errno));
		goto out;
	}
	if (rename(w->tmp, w->path) == -1) {
		r = vg_err_from_errno(errno);
		snprintf(err, errlen, "cannot replace %s: %s", w->path,
		    strerror(errno));
		goto out;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", w->path);
	fsync_path(dirname(dirbuf), 1);
	r = 0;
out:
	vg_baseline_abort(w);
	return r;
}

void
vg_baseline_abort(struct vg_baseline_writer *w)
{
	if (w == NULL)
		return;
	sqlite3_finalize(w->ins);
	if (w->db != NULL)
		sqlite3_close(w->db);
	if (w->own_tmp)
		unlink(w->tmp);     /* gone already after a commit */
	if (w->lockfd != -1)
		close(w->lockfd);
	vg_hasher_free(w->rs.h);
	free(w->tmp);
	free(w->path);
	free(w);
}
_Static_assert(APP_ID == 0x5647494c, "application id");
