/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of agent/watch: changes reported once after the quiet
 * period, new directories watched with what was created in them before
 * the watch, exclude rules, renames in and out, roots that appear later
 * or are files, and the two ways events are lost (queue overflow and the
 * watch limit), forced through the inotify sysctls when running as root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vg_err.h"
#include "vg_rules.h"
#include "watch.h"

#define WAIT_MS 5000

struct rec {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char **paths;      /* every path reported, repeats included */
	size_t n, cap;
	size_t batches, overflows, limits;
	int unsorted;      /* a batch out of order or with a repeat */
	int limit_errno;
	int block, in_dirty;
};

static char tmp[256];

/*
 * Lowering an inotify sysctl affects every program of the user: test
 * programs of other build trees running at the same time hold this lock
 * shared for each test, and exclusively while a limit is lowered.
 */
#define LOCK_FILE "/tmp/vigil_test_watch.lock"
static int sysctl_lock = -1;

static void
rec_init(struct rec *r)
{
	pthread_condattr_t ca;

	memset(r, 0, sizeof(*r));
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&r->mu, NULL);
}

static void
rec_free(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->paths[i]);
	free(r->paths);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
}

static void
on_dirty(void *arg, char *const *paths, size_t n)
{
	struct rec *r = arg;
	size_t i;

	pthread_mutex_lock(&r->mu);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(paths[i - 1], paths[i]) >= 0)
			r->unsorted = 1;
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 64;
			r->paths = realloc(r->paths, r->cap * sizeof(char *));
			if (r->paths == NULL)
				abort();
		}
		if ((r->paths[r->n++] = strdup(paths[i])) == NULL)
			abort();
	}
	r->batches++;
	pthread_cond_broadcast(&r->cv);
	if (r->block) {
		r->in_dirty = 1;
		pthread_cond_broadcast(&r->cv);
		while (r->block)
			pthread_cond_wait(&r->cv, &r->mu);
	}
	pthread_mutex_unlock(&r->mu);
}

static void
on_overflow(void *arg)
{
	struct rec *r = arg;

	pthread_mutex_lock(&r->mu);
	r->overflows++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static void
on_limit(void *arg, const char *dir, int errnum)
{
	struct rec *r = arg;

	(void)dir;
	pthread_mutex_lock(&r->mu);
	r->limits++;
	r->limit_errno = errnum;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

static size_t
count_locked(const struct rec *r, const char *path)
{
	size_t i, c = 0;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->paths[i], path) == 0)
			c++;
	return c;
}

static size_t
rec_count(struct rec *r, const char *path)
{
	size_t c;

	pthread_mutex_lock(&r->mu);
	c = count_locked(r, path);
	pthread_mutex_unlock(&r->mu);
	return c;
}

static void
deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits until path was reported at least n times, or, with path NULL,
 * until *field (guarded by r->mu) reaches n; returns the count. */
static size_t
wait_count(struct rec *r, const char *path, const size_t *field, size_t n)
{
	struct timespec ts;
	size_t c;

	deadline_in(&ts, WAIT_MS);
	pthread_mutex_lock(&r->mu);
	while ((c = path ? count_locked(r, path) : *field) < n &&
	    pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0)
		;
	c = path ? count_locked(r, path) : *field;
	pthread_mutex_unlock(&r->mu);
	return c;
}

static size_t
wait_path(struct rec *r, const char *path, size_t n)
{
	return wait_count(r, path, NULL, n);
}

static const char *
p(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmp, rel);
	return buf[k];
}

static void
put(const char *rel, const char *text)
{
	int fd = open(p(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static void
mkdirs(const char *rel)
{
	assert_int_equal(mkdir(p(rel), 0755), 0);
}

/* Writes a marker and waits for it: every event made before it has been
 * handled and would have been reported by then. */
static void
sync_marker(struct rec *r, const char *rel)
{
	put(rel, "m");
	assert_int_equal(wait_path(r, p(rel), 1), 1);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static int
setup(void **state)
{
	char t[] = "/tmp/vg_watch_XXXXXX", rp[PATH_MAX];

	(void)state;
	if (mkdtemp(t) == NULL || realpath(t, rp) == NULL ||
	    strlen(rp) >= sizeof(tmp))
		return -1;
	memcpy(tmp, rp, strlen(rp) + 1);
	/* Without the lock (not root, read-only /tmp) tests run alone. */
	if ((sysctl_lock = open(LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) != -1 && flock(sysctl_lock, LOCK_SH) != 0) {
		close(sysctl_lock);
		sysctl_lock = -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (sysctl_lock != -1)
		close(sysctl_lock);
	sysctl_lock = -1;
	return nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct vg_rules *
rules_for(const char *root)
{
	struct vg_rules *ru;
	char err[256];

	assert_int_equal(vg_rules_new(&ru), 0);
	assert_int_equal(vg_rules_add_root(ru, p(root), err, sizeof(err)), 0);
	return ru;
}

/* Starts a watcher on finished rules and waits for its first watches;
 * 0 or -1, without asserting (used while a sysctl is lowered). */
static int
try_start(struct vg_rules *ru, struct rec *r, struct watch **w)
{
	struct watch_opts o = { ru, 30, 1000 };
	struct watch_cb cb = { r, on_dirty, on_overflow, on_limit };
	char err[256];

	*w = NULL;
	if (watch_start(&o, &cb, w, err, sizeof(err)) != 0)
		return -1;
	return watch_wait_ready(*w, WAIT_MS) ? 0 : -1;
}

static struct watch *
start(struct vg_rules *ru, struct rec *r)
{
	struct watch *w;
	char err[256];

	assert_int_equal(vg_rules_finish(ru, err, sizeof(err)), 0);
	assert_int_equal(try_start(ru, r, &w), 0);
	return w;
}

static void
test_file_events(void **state)
{
	struct vg_rules *ru;
	struct watch *w;
	struct rec r;
	int fd, i;

	(void)state;
	rec_init(&r);
	mkdirs("root");
	ru = rules_for("root");
	w = start(ru, &r);
	assert_int_equal(watch_count(w), 1);

	/* Many writes, one report. */
	fd = open(p("root/f"), O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	for (i = 0; i < 50; i++)
		assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(close(fd), 0);
	sync_marker(&r, "root/m1");
	assert_int_equal(rec_count(&r, p("root/f")), 1);

	assert_int_equal(chmod(p("root/f"), 0600), 0);
	assert_int_equal(wait_path(&r, p("root/f"), 2), 2);
	put("root/f", "changed");
	assert_int_equal(wait_path(&r, p("root/f"), 3), 3);
	assert_int_equal(unlink(p("root/f")), 0);
	assert_int_equal(wait_path(&r, p("root/f"), 4), 4);
	/* Names are bytes, not necessarily UTF-8. */
	put("root/\xff\x01 n\xc3(", "odd");
	assert_int_equal(wait_path(&r, p("root/\xff\x01 n\xc3("), 1), 1);
	sync_marker(&r, "root/m2");
	assert_int_equal(rec_count(&r, p("root/f")), 4);
	assert_int_equal(rec_count(&r, p("root/m1")), 1);
	assert_false(r.unsorted);

	watch_stop(w);
	vg_rules_free(ru);
	rec_free(&r);
}

static void
test_mkdir_p(void **state)
{
	struct vg_rules *ru;
	struct watch *w;
	struct rec r;

	(void)state;
	rec_init(&r);
	mkdirs("root");
	ru = rules_for("root");
	w = start(ru, &r);

	/* The file is written before the watcher can have watched c. */
	mkdirs("root/a");
	mkdirs("root/a/b");
	mkdirs("root/a/b/c");
	put("root/a/b/c/x", "x");
	assert_int_equal(wait_path(&r, p("root/a/b/c/x"), 1), 1);
	assert_true(wait_path(&r, p("root/a"), 1) >= 1);
	assert_true(wait_path(&r, p("root/a/b"), 1) >= 1);
	assert_true(wait_path(&r, p("root/a/b/c"), 1) >= 1);
	assert_int_equal(watch_count(w), 4);

	/* And c is watched now. */
	put("root/a/b/c/y", "y");
	assert_int_equal(wait_path(&r, p("root/a/b/c/y"), 1), 1);
	assert_false(r.unsorted);

	watch_stop(w);
	vg_rules_free(ru);
	rec_free(&r);
}

static void
test_exclude(void **state)
{
	struct vg_rules *ru;
	struct watch *w;
	struct rec r;
	char err[256], pat[PATH_MAX + 16];

	(void)state;
	rec_init(&r);
	mkdirs("root");
	mkdirs("root/skip");
	mkdirs("root/ex");
	ru = rules_for("root");
	assert_int_equal(vg_rules_add_rule(ru, 0, 0, "*.tmp", err,
	    sizeof(err)), 0);
	assert_int_equal(vg_rules_add_rule(ru, 0, 0, "skip/", err,
	    sizeof(err)), 0);
	snprintf(pat, sizeof(pat), "%s/", p("root/ex"));
	assert_int_equal(vg_rules_add_rule(ru, 0, 0, pat, err,
	    sizeof(err)), 0);
	assert_int_equal(vg_rules_add_rule(ru, 1, 0, p("root/ex/keep"), err,
	    sizeof(err)), 0);
	w = start(ru, &r);
	/* root and ex (walked for the include below it), not skip */
	assert_int_equal(watch_count(w), 2);

	put("root/x.tmp", "x");
	put("root/skip/y", "y");
	put("root/ex/other", "o");
	put("root/ex/keep", "k");
	mkdirs("root/skip2");
	assert_int_equal(rename(p("root/skip2"), p("root/skip/inner")), 0);
	put("root/z", "z");
	sync_marker(&r, "root/m");
	assert_int_equal(rec_count(&r, p("root/z")), 1);
	assert_int_equal(rec_count(&r, p("root/ex/keep")), 1);
	assert_int_equal(rec_count(&r, p("root/x.tmp")), 0);
	assert_int_equal(rec_count(&r, p("root/skip/y")), 0);
	assert_int_equal(rec_count(&r, p("root/skip/inner")), 0);
	assert_int_equal(rec_count(&r, p("root/ex/other")), 0);
	assert_int_equal(watch_count(w), 2);

	watch_stop(w);
	vg_rules_free(ru);
	rec_free(&r);
}

static void
test_rename(void **state)
{
	struct vg_rules *ru;
	struct watch *w;
	struct rec r;

	(void)state;
	rec_init(&r);
	mkdirs("root");
	mkdirs("out");
	mkdirs("root/sub");
	put("root/sub/f1", "1");
	ru = rules_for("root");
	w = start(ru, &r);
	assert_int_equal(watch_count(w), 2);

	/* Out: reported, and its watch dropped. */
	assert_int_equal(rename(p("root/sub"), p("out/sub")), 0);
	assert_int_equal(wait_path(&r, p("root/sub"), 1), 1);
	assert_int_equal(watch_count(w), 1);
	put("out/sub/g", "g");
	sync_marker(&r, "root/m1");
	assert_int_equal(rec_count(&r, p("root/sub/g")), 0);
	assert_int_equal(rec_count(&r, p("out/sub/g")), 0);

	/* In: the moved tree is watched and every entry reported. */
	mkdirs("out/d2");
	mkdirs("out/d2/e");
	put("out/d2/h", "h");
	put("out/d2/e/i", "i");
	assert_int_equal(rename(p("out/d2"), p("root/d2")), 0);
	assert_int_equal(wait_path(&r, p("root/d2/e/i"), 1), 1);
	assert_int_equal(wait_path(&r, p("root/d2/h"), 1), 1);
	assert_int_equal(wait_path(&r, p("root/d2/e"), 1), 1);
	assert_true(wait_path(&r, p("root/d2"), 1) >= 1);
	assert_int_equal(watch_count(w), 3);
	put("root/d2/e/j", "j");
	assert_int_equal(wait_path(&r, p("root/d2/e/j"), 1), 1);

	/* Within the tree: the old name and the new one. */
	assert_int_equal(rename(p("root/d2"), p("root/d3")), 0);
	assert_true(wait_path(&r, p("root/d3/e/j"), 1) >= 1);
	assert_true(wait_path(&r, p("root/d2"), 2) >= 2);
	assert_int_equal(watch_count(w), 3);
	put("root/d3/e/k", "k");
	assert_int_equal(wait_path(&r, p("root/d3/e/k"), 1), 1);
	assert_int_equal(rec_count(&r, p("root/d2/e/k")), 0);

	watch_stop(w);
	vg_rules_free(ru);
	rec_free(&r);
}

static void
test_missing_root(void **state)
{
	struct vg_rules *ru;
	struct watch *w;
	struct rec r;

	(void)state;
	rec_init(&r);
	ru = rules_for("later/deep");
	w = start(ru, &r);
	assert_int_equal(watch_count(w), 1);   /* the anchor */

	mkdirs("later");
	mkdirs("later/deep");
	put("later/deep/f", "f");
	assert_true(wait_path(&r, p("later/deep"), 1) >= 1);
	assert_int_equal(wait_path(&r, p("later/deep/f"), 1), 1);
	assert_int_equal(watch_count(w), 1);   /* the root, anchors gone */
	put("later/deep/g", "g");
	assert_int_equal(wait_path(&r, p("later/deep/g"), 1), 1);

	/* Removed and made again. */
	assert_int_equal(unlink(p("later/deep/f")), 0);
	assert_int_equal(unlink(p("later/deep/g")), 0);
	assert_int_equal(rmdir(p("later/deep")), 0);
	assert_int_equal(wait_path(&r, p("later/deep/g"), 2), 2);
	mkdirs("later/deep");
	put("later/deep/h", "h");
	assert_int_equal(wait_path(&r, p("later/deep/h"), 1), 1);
	put("later/deep/h", "h2");
	assert_int_equal(wait_path(&r, p("later/deep/h"), 2), 2);
	assert_int_equal(watch_count(w), 1);
	put("later/other", "o");
	sync_marker(&r, "later/deep/m");
	assert_int_equal(rec_count(&r, p("later/other")), 0);

	watch_stop(w);
	vg_rules_free(ru);
	rec_free(&r);
}

static void
test_file_root(void **state)
{
	struct vg_rules *ru;
	struct watch *w;
	struct rec r;

	(void)state;
	rec_init(&r);
	mkdirs("dir");
	put("dir/file.txt", "1");
	ru = rules_for("dir/file.txt");
	w = start(ru, &r);
	assert_int_equal(watch_count(w), 1);

	put("dir/other", "o");
	put("dir/file.txt", "2");
	assert_int_equal(wait_path(&r, p("dir/file.txt"), 1), 1);
	assert_int_equal(rec_count(&r, p("dir/other")), 0);
	assert_int_equal(unlink(p("dir/file.txt")), 0);
	assert_int_equal(wait_path(&r, p("dir/file.txt"), 2), 2);

	watch_stop(w);
	vg_rules_free(ru);
	rec_free(&r);
}

/* Reads a sysctl number; -1 when it cannot be read. */
static long
sysctl_get(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int
sysctl_set(const char *path, long v)
{
	FILE *f = fopen(path, "we");
	int ok;

	if (f == NULL)
		return -1;
	ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Where the value before lowering is kept while it is lowered, so that
 * a run that died in between is undone by the next one. */
static void
saved_name(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/vigil_test_watch.%s.saved",
	    strrchr(path, '/') + 1);
}

/* Sets a sysctl to v; *old gets the value to put back. -1 when that is
 * not possible (not root, no /proc/sys). Test programs running at the
 * same time (other build trees) take turns through a lock. */
static int
sysctl_lower(const char *path, long v, long *old)
{
	char saved[128];

	saved_name(path, saved, sizeof(saved));
	if (geteuid() != 0)
		return -1;
	if (sysctl_lock == -1 || flock(sysctl_lock, LOCK_EX) != 0)
		return -1;
	if ((*old = sysctl_get(saved)) > 0)
		sysctl_set(path, *old);   /* left behind by a crash */
	if ((*old = sysctl_get(path)) < 0 || sysctl_set(saved, *old) != 0)
		goto fail;
	if (sysctl_set(path, v) != 0) {
		unlink(saved);
		goto fail;
	}
	return 0;
fail:
	flock(sysctl_lock, LOCK_SH);
	return -1;
}

static void
sysctl_restore(const char *path, long old)
{
	char saved[128];

	saved_name(path, saved, sizeof(saved));
	if (sysctl_set(path, old) == 0)
		unlink(saved);
	flock(sysctl_lock, LOCK_SH);
}

/*
 * Finishes the rules and starts a watcher with the sysctl at path set to
 * v, put back as soon as the first watches are placed (nothing that can
 * jump out of the test runs in between). 0 started, -1 failed to start,
 * 1 when the sysctl cannot be set (the test is skipped).
 */
static int
start_lowered(struct vg_rules *ru, struct rec *r, const char *path, long v,
    struct watch **w)
{
	char err[256];
	long old;
	int rc;

	*w = NULL;
	if (vg_rules_finish(ru, err, sizeof(err)) != 0)
		return -1;
	if (sysctl_lower(path, v, &old) != 0)
		return 1;
	rc = try_start(ru, r, w);
	sysctl_restore(path, old);
	return rc;
}

#define QUEUED "/proc/sys/fs/inotify/max_queued_events"
#define WATCHES "/proc/sys/fs/inotify/max_user_watches"

static void
test_overflow(void **state)
{
	struct vg_rules *ru;
	struct watch *w;
	struct rec r;
	char name[64];
	int rc, i, in_dirty;
	struct timespec ts;

	(void)state;
	rec_init(&r);
	mkdirs("root");
	mkdirs("root/sub");
	mkdirs("root/keep");
	ru = rules_for("root");
	/* The queue size is taken at inotify_init1(). */
	if ((rc = start_lowered(ru, &r, QUEUED, 16, &w)) == 1) {
		vg_rules_free(ru);
		rec_free(&r);
		skip();   /* needs root and a writable fs.inotify sysctl */
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(watch_count(w), 3);

	/* Hold the watcher inside a callback while the queue fills; the
	 * end of sub's watch may be among the events lost. */
	pthread_mutex_lock(&r.mu);
	r.block = 1;
	pthread_mutex_unlock(&r.mu);
	put("root/first", "1");
	deadline_in(&ts, WAIT_MS);
	pthread_mutex_lock(&r.mu);
	while (!r.in_dirty &&
	    pthread_cond_timedwait(&r.cv, &r.mu, &ts) == 0)
		;
	in_dirty = r.in_dirty;
	pthread_mutex_unlock(&r.mu);
	if (in_dirty) {
		for (i = 0; i < 40; i++) {
			snprintf(name, sizeof(name), "root/n%d", i);
			put(name, "x");
		}
		rc = rmdir(p("root/sub"));
	}
	pthread_mutex_lock(&r.mu);
	r.block = 0;
	pthread_cond_broadcast(&r.cv);
	pthread_mutex_unlock(&r.mu);
	assert_true(in_dirty);
	assert_int_equal(rc, 0);
	assert_true(wait_count(&r, NULL, &r.overflows, 1) >= 1);

	/* Still watching afterwards, sub's watch forgotten. */
	put("root/after", "a");
	assert_int_equal(wait_path(&r, p("root/after"), 1), 1);
	put("root/keep/after", "a");
	assert_int_equal(wait_path(&r, p("root/keep/after"), 1), 1);
	assert_int_equal(watch_count(w), 2);

	watch_stop(w);
	vg_rules_free(ru);
	rec_free(&r);
}

/* Inotify watches held by processes of uid 0 (fdinfo "inotify wd:"). */
static long
root_watches(void)
{
	char path[PATH_MAX], line[512];
	struct dirent *pe, *fe;
	struct stat st;
	DIR *pd, *fd;
	FILE *f;
	long n = 0;

	if ((pd = opendir("/proc")) == NULL)
		return -1;
	while ((pe = readdir(pd)) != NULL) {
		if (pe->d_name[0] < '0' || pe->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s", pe->d_name);
		if (stat(path, &st) != 0 || st.st_uid != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo", pe->d_name);
		if ((fd = opendir(path)) == NULL)
			continue;
		while ((fe = readdir(fd)) != NULL) {
			if (fe->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s",
			    pe->d_name, fe->d_name);
			if ((f = fopen(path, "re")) == NULL)
				continue;
			while (fgets(line, sizeof(line), f) != NULL)
				if (strncmp(line, "inotify wd:", 11) == 0)
					n++;
			fclose(f);
		}
		closedir(fd);
	}
	closedir(pd);
	return n;
}

static void
test_watch_limit(void **state)
{
	struct vg_rules *ru;
	struct watch *w;
	struct rec r;
	char name[64];
	long used;
	int rc, i;

	(void)state;
	rec_init(&r);
	mkdirs("root");
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "root/d%02d", i);
		mkdirs(name);
	}
	ru = rules_for("root");
	if ((used = root_watches()) < 0 ||
	    (rc = start_lowered(ru, &r, WATCHES, used + 5, &w)) == 1) {
		vg_rules_free(ru);
		rec_free(&r);
		skip();   /* needs root and a writable fs.inotify sysctl */
		return;
	}
	assert_int_equal(rc, 0);

	/* One callback for the pass, not one per directory. */
	assert_int_equal(wait_count(&r, NULL, &r.limits, 1), 1);
	assert_int_equal(r.limit_errno, ENOSPC);
	assert_true(watch_unwatched(w) >= 10);
	assert_int_equal(watch_unwatched(w) + watch_count(w), 21);

	watch_stop(w);
	vg_rules_free(ru);
	rec_free(&r);
}

static void
test_bad_args(void **state)
{
	struct watch_opts o = { NULL, 0, 0 };
	struct watch_cb cb = { NULL, on_dirty, on_overflow, on_limit };
	struct watch *w = (struct watch *)&o;
	char err[256];

	(void)state;
	assert_int_equal(watch_start(&o, &cb, &w, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_null(w);
	watch_stop(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_events, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exclude, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_root, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_root, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_overflow, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_watch_limit, setup,
		    teardown),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
