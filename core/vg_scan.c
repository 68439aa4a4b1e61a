/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include <acl/libacl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <time.h>
#include <unistd.h>

#include "vg_err.h"
#include "vg_hash.h"
#include "vg_scan.h"
#include "vg_util.h"

#define BATCH_MAX 128                /* jobs handed over at once */
#define BATCH_BYTES (8u << 20)       /* or this much content to hash */
#define INFLIGHT_MAX 16              /* batches between walker and main */
#define READ_BUF (1u << 20)
#define READ_TRIES 3
#define NAME_CACHE 32
#define WALK_DEPTH_MAX 4096          /* folder levels below a root */
#define WALKER_STACK (64u << 20)     /* room for WALK_DEPTH_MAX levels */

enum job_kind {
	J_ITEM = 0,      /* cur from the walk, old when the baseline has it */
	J_UNCHANGED,     /* fast mode: the walker saw no metadata move */
	J_REMOVED,       /* old only */
	J_CARRY,         /* old only, kept: its folder could not be read */
	J_VANISHED,      /* gone between readdir and stat; old maybe */
};

struct job {
	enum job_kind kind;
	struct vg_item *cur;
	struct vg_item *old;
	uint32_t changed;
	int fd;          /* regular file opened by the walker, or -1 */
	char *problem;   /* malloc'd message */
};

struct batch {
	struct batch *next;
	size_t n;
	uint64_t bytes;
	struct job jobs[BATCH_MAX];
};

struct name_cache {
	uint32_t id[NAME_CACHE];
	char *name[NAME_CACHE];
	unsigned next;
};

struct scan {
	const struct vg_scan_opts *o;
	const struct vg_rules *rules;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv, space_cv;
	struct batch *work_head, *work_tail;
	struct batch *done_head, *done_tail;
	unsigned inflight;
	int walker_done;
	int workers_exit;
	atomic_int abort;           /* stop everything: error or signal */
	atomic_int fds;             /* walker-opened files in the queues */
	int fd_budget;              /* how many of those at most */
	int err;
	char errmsg[512];

	/* walker state */
	struct batch *cur_batch;
	struct vg_item *old_next;   /* look-ahead of the old baseline */
	int64_t racy_ns;            /* fast mode trusts stat only before this */
	int old_eof;
	char *path;
	size_t path_cap;
	char **pseudo;              /* mount points of pseudo file systems */
	size_t npseudo;
	dev_t root_dev;
	struct {
		dev_t dev;
		ino_t ino;
	} *stack;
	size_t depth_cap;
};

struct worker {
	struct scan *s;
	pthread_t tid;
	struct vg_hasher *hasher;
	unsigned char *buf;
	struct name_cache users, groups;
};

uint32_t
vg_scan_ignore_mask(enum vg_ftype t, uint32_t ignore)
{
	if (t == VG_FT_DIR)
		ignore |= VG_A_SIZE | VG_A_MTIME | VG_A_CTIME | VG_A_NLINK;
	return ignore;
}

static void
set_error(struct scan *s, int err, const char *msg)
{
	pthread_mutex_lock(&s->mu);
	if (s->err == 0) {
		s->err = err;
		snprintf(s->errmsg, sizeof(s->errmsg), "%s", msg);
	}
	s->abort = 1;
	pthread_cond_broadcast(&s->space_cv);
	pthread_mutex_unlock(&s->mu);
}

static int
stopping(struct scan *s)
{
	if (s->o->stop != NULL && *s->o->stop && !s->abort)
		set_error(s, VG_ERR_INTERRUPTED, "interrupted");
	return s->abort;
}

/* ---- pseudo file systems ---- */

static int
pseudo_type(const char *t)
{
	static const char *const names[] = { "proc", "sysfs", "devtmpfs",
		"devpts", "cgroup", "cgroup2", "debugfs", "tracefs",
		"securityfs", "pstore", "bpf", "configfs", "fusectl", "mqueue",
		"hugetlbfs", "autofs", "binfmt_misc", "selinuxfs", "efivarfs",
		"rpc_pipefs", "nsfs", NULL };
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(t, names[i]) == 0)
			return 1;
	return 0;
}

/* Decodes mountinfo's octal escapes ("\040" for a space) in place. */
static void
unescape_mount(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
			    (s[3] - '0'));
			s += 4;
		} else
			*o++ = *s++;
	}
	*o = '\0';
}

static void
load_pseudo_mounts(struct scan *s)
{
	char *line = NULL, *mp, *sep, *fstype, *save;
	size_t cap = 0;
	char **p;
	FILE *f;
	int i;

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return;  /* statfs() below still catches the common ones */
	while (getline(&line, &cap, f) != -1) {
		/* id parent maj:min root mountpoint opts... - fstype src */
		mp = strtok_r(line, " ", &save);
		for (i = 0; i < 4 && mp != NULL; i++)
			mp = strtok_r(NULL, " ", &save);
		if (mp == NULL || (sep = strstr(save, " - ")) == NULL)
			continue;
		fstype = strtok_r(sep + 3, " ", &save);
		if (fstype == NULL || !pseudo_type(fstype))
			continue;
		unescape_mount(mp);
		if ((p = reallocarray(s->pseudo, s->npseudo + 1,
		    sizeof(*p))) == NULL)
			break;
		s->pseudo = p;
		if ((p[s->npseudo] = strdup(mp)) != NULL)
			s->npseudo++;
	}
	free(line);
	fclose(f);
}

int
vg_pseudo_fs_fd(int fd)
{
	struct statfs sf;

	if (fd < 0 || fstatfs(fd, &sf) != 0)
		return 0;
	switch ((unsigned long)sf.f_type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case DEVPTS_SUPER_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case SECURITYFS_MAGIC:
	case BPF_FS_MAGIC:
		return 1;
	}
	return 0;
}

static int
is_pseudo_dir(struct scan *s, const char *path, int fd)
{
	size_t i;

	for (i = 0; i < s->npseudo; i++)
		if (strcmp(s->pseudo[i], path) == 0)
			return 1;
	return vg_pseudo_fs_fd(fd);
}

/* ---- the pipeline ---- */

static struct batch *
batch_new(void)
{
	return calloc(1, sizeof(struct batch));
}

static void
job_clear(struct scan *s, struct job *j)
{
	if (j->fd >= 0) {
		close(j->fd);
		atomic_fetch_sub(&s->fds, 1);
	}
	vg_item_free(j->cur);
	vg_item_free(j->old);
	free(j->problem);
	memset(j, 0, sizeof(*j));
}

static void
batch_free(struct scan *s, struct batch *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++)
		job_clear(s, &b->jobs[i]);
	free(b);
}

/* Hands the walker's batch to the workers; waits while too many are in
 * flight. */
static int
flush_batch(struct scan *s)
{
	struct batch *b = s->cur_batch;

	if (b == NULL || b->n == 0)
		return 0;
	s->cur_batch = NULL;
	pthread_mutex_lock(&s->mu);
	while (s->inflight >= INFLIGHT_MAX && !s->abort)
		pthread_cond_wait(&s->space_cv, &s->mu);
	if (s->abort) {
		pthread_mutex_unlock(&s->mu);
		batch_free(s, b);
		return -1;
	}
	s->inflight++;
	if (s->work_tail)
		s->work_tail->next = b;
	else
		s->work_head = b;
	s->work_tail = b;
	pthread_cond_signal(&s->work_cv);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int
push_job_fd(struct scan *s, enum job_kind kind, struct vg_item *cur,
    struct vg_item *old, const char *problem, int fd)
{
	struct job *j;

	if (s->cur_batch == NULL && (s->cur_batch = batch_new()) == NULL) {
		if (fd >= 0) {
			close(fd);
			atomic_fetch_sub(&s->fds, 1);
		}
		vg_item_free(cur);
		vg_item_free(old);
		set_error(s, VG_ERR_NOMEM, "out of memory");
		return -1;
	}
	j = &s->cur_batch->jobs[s->cur_batch->n++];
	j->kind = kind;
	j->cur = cur;
	j->old = old;
	j->fd = fd;
	if (problem != NULL)
		j->problem = strdup(problem);
	if (kind == J_ITEM && cur->ftype == VG_FT_REG)
		s->cur_batch->bytes += cur->size;
	if (s->cur_batch->n == BATCH_MAX || s->cur_batch->bytes >= BATCH_BYTES)
		return flush_batch(s);
	return 0;
}

static int
push_job(struct scan *s, enum job_kind kind, struct vg_item *cur,
    struct vg_item *old, const char *problem)
{
	return push_job_fd(s, kind, cur, old, problem, -1);
}

/* ---- the old baseline, as a stream ---- */

static int
old_advance(struct scan *s)
{
	char msg[512];
	int r;

	s->old_next = NULL;
	if (s->o->old == NULL || s->old_eof)
		return 0;
	if ((r = vg_baseline_next(s->o->old, &s->old_next, msg,
	    sizeof(msg))) != 0) {
		set_error(s, r, msg);
		return -1;
	}
	if (s->old_next == NULL)
		s->old_eof = 1;
	return 0;
}

/* Takes the look-ahead item out of the stream: the caller owns it. */
static struct vg_item *
old_take(struct scan *s)
{
	struct vg_item *it = s->old_next;

	s->old_next = NULL;
	return it;
}

/* Emits old items that sort before path as removed; returns the old item
 * for path itself (taken from the stream) or NULL. */
static int
old_merge(struct scan *s, const char *path, size_t len, struct vg_item **match)
{
	int c;

	*match = NULL;
	while (s->old_next != NULL) {
		c = vg_path_cmp(s->old_next->path, s->old_next->path_len, path,
		    len);
		if (c > 0)
			break;
		if (c == 0) {
			*match = s->old_next;
			if (old_advance(s) == 0)
				return 0;
			vg_item_free(*match);
			*match = NULL;
			return -1;
		}
		if (push_job(s, J_REMOVED, NULL, old_take(s), NULL) != 0 ||
		    old_advance(s) != 0)
			return -1;
	}
	return 0;
}

/*
 * Keeps the old items of dir and below it as they were: dir could not be
 * read (fully). What sorts before dir is settled first, so an earlier
 * sibling is still reported as removed.
 */
static int
old_carry_below(struct scan *s, const char *dir, size_t len)
{
	struct vg_item *own;

	if (old_merge(s, dir, len, &own) != 0)
		return -1;
	if (own != NULL && push_job(s, J_CARRY, NULL, own, NULL) != 0)
		return -1;
	while (s->old_next != NULL && s->old_next->path_len > len &&
	    memcmp(s->old_next->path, dir, len) == 0 &&
	    (s->old_next->path[len] == '/' || len == 1)) {
		if (push_job(s, J_CARRY, NULL, old_take(s), NULL) != 0 ||
		    old_advance(s) != 0)
			return -1;
	}
	return 0;
}

/* The baseline's item for path, or an empty placeholder naming it when
 * the baseline has none (have == 0 tells the main thread so). */
static int
old_or_placeholder(struct scan *s, const char *path, size_t len,
    struct vg_item **out)
{
	if (old_merge(s, path, len, out) != 0)
		return -1;
	if (*out == NULL && (*out = vg_item_new(VG_KIND_FILE, path, len)) ==
	    NULL) {
		set_error(s, VG_ERR_NOMEM, "out of memory");
		return -1;
	}
	return 0;
}

/* Pushes a problem with path, keeping what the baseline had there and
 * below it (nothing is reported removed for want of reading it). */
static int
carry_problem(struct scan *s, const char *path, size_t len, const char *msg)
{
	struct vg_item *old;

	if (old_or_placeholder(s, path, len, &old) != 0 ||
	    push_job(s, J_CARRY, NULL, old, msg) != 0)
		return -1;
	return old_carry_below(s, path, len);
}

/* ---- the walk ---- */

static void
item_set_stat(struct vg_item *it, const struct stat *st)
{
	it->have |= VG_A_TYPE | VG_A_SIZE | VG_A_MODE | VG_A_UID | VG_A_GID |
	    VG_A_MTIME | VG_A_CTIME | VG_A_INODE | VG_A_DEV | VG_A_NLINK;
	it->ftype = vg_ftype_from_mode(st->st_mode);
	it->size = (uint64_t)st->st_size;
	it->mode = st->st_mode & 07777;
	it->uid = st->st_uid;
	it->gid = st->st_gid;
	it->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
	    st->st_mtim.tv_nsec;
	it->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 +
	    st->st_ctim.tv_nsec;
	it->inode = st->st_ino;
	it->dev = st->st_dev;
	it->nlink = st->st_nlink;
}

/*
 * Fast mode: nothing that a content or attribute change moves has moved.
 * (Changing xattrs, ACLs or labels moves ctime.) Not trusted for a file
 * the baseline could not read, nor for one whose times fall within a
 * second of the baseline's start: a rewrite in the same clock tick after
 * it was read would leave its stat as it was (git's "racily clean").
 */
static int
stat_unchanged(const struct scan *s, const struct vg_item *old,
    const struct vg_item *cur)
{
	if (old->hash_state == VG_HS_UNREADABLE ||
	    old->hash_state == VG_HS_UNSTABLE ||
	    old->mtime_ns >= s->racy_ns || old->ctime_ns >= s->racy_ns)
		return 0;
	return old->ftype == cur->ftype && old->size == cur->size &&
	    old->mode == cur->mode && old->uid == cur->uid &&
	    old->gid == cur->gid && old->mtime_ns == cur->mtime_ns &&
	    old->ctime_ns == cur->ctime_ns && old->inode == cur->inode &&
	    old->nlink == cur->nlink;
}

/* Records one entry (already stat'ed) as a job; fd, when not -1, is the
 * regular file opened by the walker, handed on to a worker. */
static int
emit(struct scan *s, const char *path, size_t len, const struct stat *st,
    int fd)
{
	struct vg_item *cur, *old = NULL;

	if (old_merge(s, path, len, &old) != 0 ||
	    (cur = vg_item_new(VG_KIND_FILE, path, len)) == NULL) {
		if (fd >= 0) {
			close(fd);
			atomic_fetch_sub(&s->fds, 1);
		}
		vg_item_free(old);
		if (!s->abort)
			set_error(s, VG_ERR_NOMEM, "out of memory");
		return -1;
	}
	item_set_stat(cur, st);
	if (old != NULL && s->o->fast && stat_unchanged(s, old, cur)) {
		vg_item_free(cur);
		return push_job(s, J_UNCHANGED, NULL, old, NULL);
	}
	return push_job_fd(s, J_ITEM, cur, old, NULL, fd);
}

/*
 * Opens a regular file for its worker, relative to the folder the walker
 * holds open: one path component to resolve instead of the whole path,
 * and fstat() on the result replaces a separate fstatat(). Only where the
 * file will be read (every file unless this is a fast comparison) and
 * while fewer than fd_budget such files wait in the queues. Returns the
 * descriptor with *st filled, or -1: then the caller goes by name.
 */
static int
open_for_worker(struct scan *s, int dfd, const char *name, struct stat *st)
{
	int fd, flags = O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC | O_NOATIME;

	if (s->rules->hash == VG_HASH_NONE || (s->o->fast && s->o->old) ||
	    atomic_load(&s->fds) >= s->fd_budget)
		return -1;
	if ((fd = openat(dfd, name, flags)) == -1 && errno == EPERM)
		fd = openat(dfd, name, flags & ~O_NOATIME);
	if (fd == -1)
		return -1;
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	atomic_fetch_add(&s->fds, 1);
	return fd;
}

static int
vanished(struct scan *s, const char *path, size_t len)
{
	struct vg_item *old;

	if (old_or_placeholder(s, path, len, &old) != 0)
		return -1;
	return push_job(s, J_VANISHED, NULL, old,
	    "vanished during the scan");
}

static int
path_set(struct scan *s, size_t at, const char *name, size_t nlen)
{
	char *p;
	size_t need = at + 1 + nlen + 1;

	if (need > VG_ITEM_PATH_MAX + 1)
		return -2;
	if (need > s->path_cap) {
		if ((p = realloc(s->path, need * 2)) == NULL) {
			set_error(s, VG_ERR_NOMEM, "out of memory");
			return -1;
		}
		s->path = p;
		s->path_cap = need * 2;
	}
	if (at == 1 && s->path[0] == '/')
		at = 0;   /* children of "/" are "/x", not "//x" */
	s->path[at] = '/';
	memcpy(s->path + at + 1, name, nlen + 1);
	return (int)(at + 1 + nlen);
}

/* Names carry their d_type in the first byte. */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + 1, *(char *const *)b + 1);
}

static int walk_dir(struct scan *s, int dfd, size_t len, long depth,
    int excluded);

static int
push_ancestor(struct scan *s, size_t depth, const struct stat *st)
{
	void *p;

	if (depth >= s->depth_cap) {
		if ((p = reallocarray(s->stack, depth * 2 + 16,
		    sizeof(*s->stack))) == NULL) {
			set_error(s, VG_ERR_NOMEM, "out of memory");
			return -1;
		}
		s->stack = p;
		s->depth_cap = depth * 2 + 16;
	}
	s->stack[depth].dev = st->st_dev;
	s->stack[depth].ino = st->st_ino;
	return 0;
}

/* Descends into the directory at s->path (len bytes), opened as fd. */
static int
descend(struct scan *s, int fd, size_t len, long depth, const struct stat *st,
    int excluded)
{
	size_t i;
	char msg[300];

	for (i = 0; i < (size_t)depth; i++) {
		if (s->stack[i].dev == st->st_dev &&
		    s->stack[i].ino == st->st_ino) {
			close(fd);
			snprintf(msg, sizeof(msg), "symlink loop: not "
			    "followed again");
			return push_job(s, J_CARRY, NULL,
			    vg_item_new(VG_KIND_FILE, s->path, len), msg);
		}
	}
	if (push_ancestor(s, (size_t)depth, st) != 0) {
		close(fd);
		return -1;
	}
	return walk_dir(s, fd, len, depth, excluded);
}

/* The entry's own attributes, or with -L those of what a symlink leads
 * to (a dangling one stays a symlink). -1 with errno on failure. */
static int
stat_entry(const struct vg_rules *r, int dfd, const char *name,
    struct stat *st)
{
	struct stat tst;

	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (S_ISLNK(st->st_mode) && r->follow_symlinks &&
	    fstatat(dfd, name, &tst, 0) == 0)
		*st = tst;
	return 0;
}

/* Visits one entry of a directory (dfd) whose path is s->path[0..len). */
static int
visit(struct scan *s, int dfd, const char *name, unsigned char dtype,
    size_t len, long depth, dev_t parent_dev, int excluded)
{
	const struct vg_rules *r = s->rules;
	struct stat st;
	enum vg_match m;
	int fd, is_dir, flags;
	char msg[300];

	if (dtype == DT_REG) {
		/* The common case: a file. Rules first, then opened for its
		 * worker if it will be read. */
		if (vg_rules_match(r, s->path, len, 0, excluded) !=
		    VG_MATCH_INCLUDE)
			return 0;
		if ((fd = open_for_worker(s, dfd, name, &st)) >= 0)
			return emit(s, s->path, len, &st, fd);
	}
	if (stat_entry(r, dfd, name, &st) == -1) {
		if (errno == ENOENT)
			return vanished(s, s->path, len);
		snprintf(msg, sizeof(msg), "cannot stat: %s", strerror(errno));
		return carry_problem(s, s->path, len, msg);
	}
	is_dir = S_ISDIR(st.st_mode);
	if (is_dir && st.st_dev != parent_dev && r->skip_pseudo_fs &&
	    is_pseudo_dir(s, s->path, -1))
		return 0;
	m = vg_rules_match(r, s->path, len, is_dir, excluded);
	if (m == VG_MATCH_EXCLUDE)
		return 0;
	if (m == VG_MATCH_INCLUDE && emit(s, s->path, len, &st, -1) != 0)
		return -1;
	if (!is_dir || (r->max_depth >= 0 && depth >= r->max_depth) ||
	    (r->one_fs && st.st_dev != s->root_dev))
		return 0;
	flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK;
	if (!r->follow_symlinks)
		flags |= O_NOFOLLOW;
	if ((fd = openat(dfd, name, flags)) == -1) {
		if (errno == ENOENT)
			return 0;    /* gone: its entries show as removed */
		snprintf(msg, sizeof(msg), "cannot read directory: %s",
		    strerror(errno));
		return carry_problem(s, s->path, len, msg);
	}
	if (depth >= WALK_DEPTH_MAX) {
		close(fd);
		snprintf(msg, sizeof(msg), "nested deeper than %d levels: "
		    "not walked further", WALK_DEPTH_MAX);
		return carry_problem(s, s->path, len, msg);
	}
	if (st.st_dev != parent_dev && r->skip_pseudo_fs &&
	    is_pseudo_dir(s, s->path, fd)) {
		close(fd);
		return 0;
	}
	return descend(s, fd, len, depth, &st, m != VG_MATCH_INCLUDE);
}

/* Walks the open directory fd (closed here), path s->path[0..len). */
static int
walk_dir(struct scan *s, int fd, size_t len, long depth, int excluded)
{
	struct stat dst;
	struct dirent *de;
	char **names = NULL, **nn;
	size_t n = 0, cap = 0, i;
	DIR *d;
	int r = -1, plen, rderr;
	char msg[300], *esc;

	if (fstat(fd, &dst) == -1 || (d = fdopendir(fd)) == NULL) {
		snprintf(msg, sizeof(msg), "cannot read directory: %s",
		    strerror(errno));
		close(fd);
		return carry_problem(s, s->path, len, msg);
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nn = reallocarray(names, cap, sizeof(*nn))) ==
			    NULL)
				goto nomem;
			names = nn;
		}
		/* The d_type byte, then the name. */
		if ((names[n] = malloc(strlen(de->d_name) + 2)) == NULL)
			goto nomem;
		names[n][0] = (char)de->d_type;
		memcpy(names[n] + 1, de->d_name, strlen(de->d_name) + 1);
		n++;
		errno = 0;
	}
	rderr = errno;
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if (stopping(s))
			goto out;
		if ((plen = path_set(s, len, names[i] + 1,
		    strlen(names[i] + 1))) == -2) {
			/* Too long to record: said on the folder. */
			s->path[len] = '\0';
			esc = vg_escape(names[i] + 1, strlen(names[i] + 1));
			snprintf(msg, sizeof(msg), "entry \"%.200s\": path "
			    "longer than %d bytes, not scanned", esc ? esc :
			    "?", VG_ITEM_PATH_MAX);
			free(esc);
			if (push_job(s, J_CARRY, NULL, vg_item_new(
			    VG_KIND_FILE, s->path, len), msg) != 0)
				goto out;
			continue;
		}
		if (plen < 0)
			goto out;
		if (visit(s, dirfd(d), names[i] + 1,
		    (unsigned char)names[i][0], (size_t)plen, depth + 1,
		    dst.st_dev, excluded) != 0)
			goto out;
		s->path[len > 1 ? len : 1] = '\0';
	}
	s->path[len] = '\0';
	if (rderr != 0) {
		/* What was not read is kept, not reported removed. */
		snprintf(msg, sizeof(msg), "error reading directory: %s",
		    strerror(rderr));
		if (carry_problem(s, s->path, len, msg) != 0)
			goto out;
	}
	r = 0;
	goto out;
nomem:
	set_error(s, VG_ERR_NOMEM, "out of memory");
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

static int
walk_root(struct scan *s, const char *root)
{
	const struct vg_rules *r = s->rules;
	struct stat st;
	size_t len = strlen(root);
	int fd, flags;
	char msg[300];

	if (len + 1 > s->path_cap) {
		char *p = realloc(s->path, len + 256);

		if (p == NULL) {
			set_error(s, VG_ERR_NOMEM, "out of memory");
			return -1;
		}
		s->path = p;
		s->path_cap = len + 256;
	}
	memcpy(s->path, root, len + 1);
	if ((r->follow_symlinks ? stat(root, &st) : lstat(root, &st)) == -1) {
		/* A missing root is reported once; what the baseline had
		 * there shows as removed. */
		snprintf(msg, sizeof(msg), "root cannot be scanned: %s",
		    strerror(errno));
		return push_job(s, J_CARRY, NULL, vg_item_new(VG_KIND_FILE,
		    root, len), msg);
	}
	s->root_dev = st.st_dev;
	if (emit(s, root, len, &st, -1) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode) || r->max_depth == 0)
		return 0;
	flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK;
	if ((fd = open(root, flags)) == -1) {
		snprintf(msg, sizeof(msg), "cannot read directory: %s",
		    strerror(errno));
		if (push_job(s, J_CARRY, NULL, vg_item_new(VG_KIND_FILE, root,
		    len), msg) != 0)
			return -1;
		return old_carry_below(s, root, len);
	}
	if (push_ancestor(s, 0, &st) != 0) {
		close(fd);
		return -1;
	}
	return walk_dir(s, fd, len, 0, 0);
}

static void *
walker_main(void *arg)
{
	struct scan *s = arg;
	size_t i;

	if (old_advance(s) != 0)
		goto done;
	for (i = 0; i < s->rules->nroots; i++)
		if (stopping(s) || walk_root(s, s->rules->roots[i]) != 0)
			goto done;
	/* What is left of the baseline is gone from the tree. */
	while (s->old_next != NULL && !stopping(s))
		if (push_job(s, J_REMOVED, NULL, old_take(s), NULL) != 0 ||
		    old_advance(s) != 0)
			goto done;
	flush_batch(s);
done:
	if (s->abort) {
		batch_free(s, s->cur_batch);
		s->cur_batch = NULL;
		vg_item_free(s->old_next);
		s->old_next = NULL;
	}
	pthread_mutex_lock(&s->mu);
	s->walker_done = 1;
	pthread_cond_broadcast(&s->done_cv);
	pthread_cond_broadcast(&s->work_cv);
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- workers ---- */

static char *
cached_name(struct name_cache *c, uint32_t id, int group)
{
	char buf[4096], *name = NULL;
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	unsigned i, slot;

	for (i = 0; i < NAME_CACHE && i < c->next; i++)
		if (c->id[i] == id)
			return c->name[i] ? strdup(c->name[i]) : NULL;
	if (group) {
		if (getgrgid_r(id, &gr, buf, sizeof(buf), &grp) == 0 && grp)
			name = grp->gr_name;
	} else if (getpwuid_r(id, &pw, buf, sizeof(buf), &pwp) == 0 && pwp)
		name = pwp->pw_name;
	slot = c->next++ % NAME_CACHE;
	if (c->next > NAME_CACHE)
		free(c->name[slot]);
	c->id[slot] = id;
	c->name[slot] = name ? strdup(name) : NULL;
	return name ? strdup(name) : NULL;
}

static int
xattr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#define XATTR_MAX (64 * 1024)   /* the VFS limit on one value */

/* By descriptor, else by path: through a symlink only with -L, where
 * the item is what the link points to. */
static ssize_t
xlist(const struct vg_item *it, int fd, int follow, char *buf, size_t len)
{
	if (fd >= 0)
		return flistxattr(fd, buf, len);
	return follow ? listxattr(it->path, buf, len) :
			llistxattr(it->path, buf, len);
}

static ssize_t
xget(const struct vg_item *it, int fd, int follow, const char *name,
    void *buf, size_t len)
{
	if (fd >= 0)
		return fgetxattr(fd, name, buf, len);
	return follow ? getxattr(it->path, name, buf, len) :
			lgetxattr(it->path, name, buf, len);
}

/* Appends "name=0xHEX" (a line of its own) to *out. */
static int
xattr_append(char **out, size_t *len, const char *name,
    const unsigned char *val, size_t vl)
{
	char *esc, *o;
	size_t need;
	int n;

	if ((esc = vg_escape(name, strlen(name))) == NULL)
		return -1;
	need = *len + strlen(esc) + 2 * vl + 5;
	if ((o = realloc(*out, need)) == NULL) {
		free(esc);
		return -1;
	}
	*out = o;
	n = snprintf(o + *len, need - *len, "%s%s=0x", *len ? "\n" : "", esc);
	vg_hex_encode(val, vl, o + *len + n);
	*len += (size_t)n + 2 * vl;
	free(esc);
	return 0;
}

/*
 * Reads extended attributes into it: POSIX ACLs are only noted (read with
 * libacl after), the SELinux label goes to its own attribute, the rest
 * become "name=0xHEX" lines sorted by name. fd is the open file, or -1 to
 * go by path without following a symlink. Sizes are asked first, so no
 * attribute is lost to a fixed buffer.
 */
static void
read_xattrs(struct vg_item *it, int fd, int follow, int *has_acl)
{
	char *list = NULL, **names = NULL, *out = NULL, *p;
	unsigned char *val = NULL;
	size_t nn = 0, i, outlen = 0;
	ssize_t n, vl;

	*has_acl = 0;
	it->have |= VG_A_XATTRS | VG_A_SELINUX | VG_A_ACL;
	if ((n = xlist(it, fd, follow, NULL, 0)) <= 0 ||
	    (list = malloc((size_t)n)) == NULL ||
	    (n = xlist(it, fd, follow, list, (size_t)n)) <= 0)
		goto out;
	for (p = list; p < list + n; p += strlen(p) + 1)
		nn++;
	if ((names = calloc(nn, sizeof(*names))) == NULL ||
	    (val = malloc(XATTR_MAX)) == NULL)
		goto out;
	nn = 0;
	for (p = list; p < list + n; p += strlen(p) + 1)
		names[nn++] = p;
	qsort(names, nn, sizeof(*names), xattr_cmp);
	for (i = 0; i < nn; i++) {
		if (strncmp(names[i], "system.posix_acl_", 17) == 0) {
			*has_acl = 1;
			continue;
		}
		if ((vl = xget(it, fd, follow, names[i], val, XATTR_MAX)) < 0)
			continue;   /* removed meanwhile */
		if (strcmp(names[i], "security.selinux") == 0) {
			while (vl > 0 && val[vl - 1] == '\0')
				vl--;
			free(it->selinux);
			it->selinux = strndup((char *)val, (size_t)vl);
		} else if (xattr_append(&out, &outlen, names[i], val,
		    (size_t)vl) != 0)
			break;
	}
out:
	it->xattrs = out;
	free(val);
	free(names);
	free(list);
}

/* The POSIX ACL in short text form ("u::rw-,u:bob:r--,..."), default ACL
 * of a directory after "default:". Only called when the xattrs exist. */
static void
read_acl(struct vg_item *it, int fd)
{
	acl_t acc, def = NULL;
	char *a = NULL, *d = NULL;

	it->have |= VG_A_ACL;
	acc = fd >= 0 ? acl_get_fd(fd) : acl_get_file(it->path,
	    ACL_TYPE_ACCESS);
	if (it->ftype == VG_FT_DIR)
		def = acl_get_file(it->path, ACL_TYPE_DEFAULT);
	if (acc != NULL)
		a = acl_to_any_text(acc, NULL, ',', TEXT_ABBREVIATE);
	if (def != NULL && acl_entries(def) > 0)
		d = acl_to_any_text(def, NULL, ',', TEXT_ABBREVIATE);
	free(it->acl);
	it->acl = NULL;
	if (a != NULL || d != NULL) {
		if (asprintf(&it->acl, "%s%s%s", a ? a : "", d ?
		    ";default:" : "", d ? d : "") == -1)
			it->acl = NULL;
	}
	acl_free(a);
	acl_free(d);
	if (acc)
		acl_free(acc);
	if (def)
		acl_free(def);
}

static int
same_content_stat(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * Reads a regular file once into the hash. Sets hash_state, refreshes the
 * stat attributes to what was read, and reads xattrs through the same fd.
 * Returns 0, or -1 with j->problem set (or ENOENT: vanished).
 */
static int
hash_file(struct worker *w, struct job *j, uint64_t *hashed)
{
	const struct vg_rules *r = w->s->rules;
	struct vg_item *it = j->cur;
	struct stat a, b;
	uint64_t got, want_dev = it->dev, want_ino = it->inode;
	ssize_t n;
	int fd = -1, tries, has_acl, flags, e, follow = r->follow_symlinks;

	it->have |= VG_A_HASH;
	for (tries = 0; tries < READ_TRIES; tries++) {
		flags = O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC |
		    O_NOATIME | (follow ? 0 : O_NOFOLLOW);
		if (j->fd >= 0) {
			/* Opened by the walker; a retry goes by name. */
			fd = j->fd;
			j->fd = -1;
			atomic_fetch_sub(&w->s->fds, 1);
		} else if ((fd = open(it->path, flags)) == -1 && errno == EPERM)
			fd = open(it->path, flags & ~O_NOATIME);
		if (fd == -1) {
			e = errno;
			if (e == ENOENT)
				return -1;   /* vanished */
			if (e == ELOOP || e == ENOTDIR)
				goto replaced;
			it->hash_state = VG_HS_UNREADABLE;
			if (asprintf(&j->problem, "cannot read: %s",
			    strerror(e)) == -1)
				j->problem = NULL;
			read_xattrs(it, -1, follow, &has_acl);
			if (has_acl)
				read_acl(it, -1);
			return 0;
		}
		/* Opened by name, the path may now lead elsewhere (a folder
		 * swapped for a link): read only the file that was walked. */
		if (fstat(fd, &a) == -1 || !S_ISREG(a.st_mode) ||
		    (uint64_t)a.st_dev != want_dev ||
		    (uint64_t)a.st_ino != want_ino) {
			close(fd);
			goto replaced;
		}
		item_set_stat(it, &a);
		if (r->max_hash_size > 0 &&
		    (uint64_t)a.st_size > r->max_hash_size) {
			it->hash_state = VG_HS_SIZE_CAP;
			break;
		}
		/* One read takes a small file whole: advice would only
		 * cost a system call. */
		if (a.st_size > READ_BUF)
			posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		if (vg_hasher_start(w->hasher) != 0)
			goto ioerr;
		got = 0;
		while ((n = read(fd, w->buf, READ_BUF)) != 0) {
			if (n < 0) {
				if (errno == EINTR)
					continue;
				goto ioerr;
			}
			vg_hasher_update(w->hasher, w->buf, (size_t)n);
			got += (uint64_t)n;
			if (w->s->abort)
				break;
		}
		if (fstat(fd, &b) == -1)
			goto ioerr;
		*hashed += got;
		if (same_content_stat(&a, &b) && got == (uint64_t)b.st_size) {
			vg_hasher_finish(w->hasher, it->hash);
			it->hash_alg = r->hash;
			it->hash_state = VG_HS_OK;
			break;
		}
		close(fd);    /* it changed while we read: again */
		fd = -1;
	}
	if (tries == READ_TRIES) {
		it->hash_state = VG_HS_UNSTABLE;
		if (asprintf(&j->problem, "changed while being read, %d times",
		    READ_TRIES) == -1)
			j->problem = NULL;
		read_xattrs(it, -1, follow, &has_acl);
		if (has_acl)
			read_acl(it, -1);
		return 0;
	}
	read_xattrs(it, fd, follow, &has_acl);
	if (has_acl)
		read_acl(it, fd);
	close(fd);
	return 0;
replaced:
	/* Recorded as walked, without a hash; the next scan reads it. */
	it->hash_state = VG_HS_UNSTABLE;
	if ((j->problem = strdup("replaced during the scan: not read")) ==
	    NULL)
		return 0;
	return 0;
ioerr:
	e = errno;
	close(fd);
	it->hash_state = VG_HS_UNREADABLE;
	if (asprintf(&j->problem, "read error: %s", strerror(e)) == -1)
		j->problem = NULL;
	return 0;
}

static void
work_item(struct worker *w, struct job *j, uint64_t *hashed)
{
	const struct vg_rules *r = w->s->rules;
	struct vg_item *it = j->cur;
	char link[4096];
	ssize_t n;
	int has_acl;

	if (it->ftype == VG_FT_REG && r->hash != VG_HASH_NONE) {
		if (hash_file(w, j, hashed) != 0) {
			j->kind = J_VANISHED;
			if (j->old == NULL)
				j->old = vg_item_new(VG_KIND_FILE, it->path,
				    it->path_len);
			vg_item_free(j->cur);
			j->cur = NULL;
			free(j->problem);
			j->problem = strdup("vanished during the scan");
			return;
		}
	} else {
		if (it->ftype == VG_FT_LNK) {
			it->have |= VG_A_TARGET;
			if ((n = readlink(it->path, link, sizeof(link) - 1)) >=
			    0) {
				link[n] = '\0';
				it->target = strdup(link);
			}
		}
		read_xattrs(it, -1, r->follow_symlinks, &has_acl);
		if (has_acl && it->ftype != VG_FT_LNK)
			read_acl(it, -1);
	}
	it->have |= VG_A_USER | VG_A_GROUP;
	if (j->old != NULL && j->old->uid == it->uid && j->old->user != NULL &&
	    w->s->o->fast)
		it->user = strdup(j->old->user);
	else
		it->user = cached_name(&w->users, it->uid, 0);
	if (j->old != NULL && j->old->gid == it->gid && j->old->group != NULL &&
	    w->s->o->fast)
		it->group = strdup(j->old->group);
	else
		it->group = cached_name(&w->groups, it->gid, 1);
	if (j->old != NULL)
		j->changed = vg_item_diff(j->old, it, vg_scan_ignore_mask(
		    it->ftype == j->old->ftype ? it->ftype : VG_FT_NONE,
		    r->ignore));
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct scan *s = w->s;
	struct batch *b;
	uint64_t hashed;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (s->work_head == NULL && !s->workers_exit)
			pthread_cond_wait(&s->work_cv, &s->mu);
		if ((b = s->work_head) == NULL) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		if ((s->work_head = b->next) == NULL)
			s->work_tail = NULL;
		pthread_mutex_unlock(&s->mu);
		b->next = NULL;
		hashed = 0;
		for (i = 0; i < b->n && !s->abort; i++)
			if (b->jobs[i].kind == J_ITEM)
				work_item(w, &b->jobs[i], &hashed);
		b->bytes = hashed;
		pthread_mutex_lock(&s->mu);
		if (s->done_tail)
			s->done_tail->next = b;
		else
			s->done_head = b;
		s->done_tail = b;
		pthread_cond_signal(&s->done_cv);
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

/* ---- the caller's side ---- */

static int
give_change(const struct vg_scan_cb *cb, enum vg_change_type t,
    struct vg_item **old, struct vg_item **cur, uint32_t changed)
{
	struct vg_change c;

	memset(&c, 0, sizeof(c));
	c.type = t;
	c.changed = changed;
	if (old != NULL) {
		c.old = *old;
		*old = NULL;
	}
	if (cur != NULL) {
		c.new = *cur;
		*cur = NULL;
	}
	if (cb->change == NULL) {
		vg_change_clear(&c);
		return 0;
	}
	return cb->change(cb->arg, &c);
}

static int
finish_job(struct scan *s, const struct vg_scan_cb *cb, struct job *j,
    struct vg_scan_stats *st)
{
	const char *p;
	int r = 0;

	if (j->problem != NULL && cb->problem != NULL) {
		p = j->cur ? j->cur->path : j->old ? j->old->path : "?";
		cb->problem(cb->arg, p, strlen(p), j->problem);
	}
	if (j->problem != NULL)
		st->problems++;
	switch (j->kind) {
	case J_UNCHANGED:
	case J_CARRY:
		/* A placeholder made for a message has no attributes. */
		if (j->old == NULL || j->old->have == 0)
			return 0;
		st->items++;
		if (j->kind == J_CARRY && cb->kept != NULL)
			return cb->kept(cb->arg, j->old);
		return cb->item ? cb->item(cb->arg, j->old) : 0;
	case J_REMOVED:
	case J_VANISHED:
		if (j->old == NULL || j->old->have == 0)
			return 0;
		st->removed++;
		return give_change(cb, VG_CHANGE_REMOVED, &j->old, NULL, 0);
	case J_ITEM:
		break;
	}
	st->items++;
	if (j->cur->ftype == VG_FT_REG && j->cur->hash_state == VG_HS_OK)
		st->files_hashed++;
	if (cb->item != NULL && (r = cb->item(cb->arg, j->cur)) != 0)
		return r;
	if (s->o->old == NULL)
		return 0;
	if (j->old == NULL) {
		st->added++;
		return give_change(cb, VG_CHANGE_ADDED, NULL, &j->cur, 0);
	}
	if (j->changed != 0) {
		st->changed++;
		return give_change(cb, VG_CHANGE_CHANGED, &j->old, &j->cur,
		    j->changed);
	}
	return 0;
}

static void
worker_clear(struct worker *w)
{
	size_t k;

	vg_hasher_free(w->hasher);
	free(w->buf);
	for (k = 0; k < NAME_CACHE; k++) {
		free(w->users.name[k]);
		free(w->groups.name[k]);
	}
}

static int
online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

int
vg_scan_run(const struct vg_scan_opts *o, const struct vg_scan_cb *cb,
    struct vg_scan_stats *st, char *err, size_t errlen)
{
	struct scan s;
	struct worker *w = NULL;
	pthread_t walker;
	pthread_attr_t ta;
	pthread_condattr_t ca;
	int64_t created;
	struct batch *b;
	struct rlimit rl;
	double last = 0, now;
	int nw = o->workers > 0 ? o->workers : online_cpus();
	int i, started = 0, walker_started = 0, r = 0;
	size_t k;
	const char *v;

	memset(st, 0, sizeof(*st));
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.rules = o->rules;
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.work_cv, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s.done_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s.space_cv, NULL);
	s.racy_ns = INT64_MAX;
	if (o->old != NULL && (v = vg_baseline_meta(o->old, "created")) !=
	    NULL && vg_time_parse(v, &created) == 0)
		s.racy_ns = created - 1000000000;
	if (o->old != NULL) {
		if ((v = vg_baseline_meta(o->old, "items")) != NULL)
			st->expect_items = strtoull(v, NULL, 10);
		if ((v = vg_baseline_meta(o->old, "bytes")) != NULL && !o->fast)
			st->expect_bytes = strtoull(v, NULL, 10);
	}
	/* The walk keeps one descriptor per directory level open. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Enough for every queued file, leaving half the descriptors to
	 * the folders being walked and the rest of the process. */
	s.fd_budget = INFLIGHT_MAX * BATCH_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur / 2 < (rlim_t)s.fd_budget)
		s.fd_budget = (int)(rl.rlim_cur / 2);
	if (o->rules->skip_pseudo_fs)
		load_pseudo_mounts(&s);
	if ((w = calloc((size_t)nw, sizeof(*w))) == NULL) {
		r = VG_ERR_NOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < nw; i++) {
		w[i].s = &s;
		if ((o->rules->hash != VG_HASH_NONE &&
		    vg_hasher_new(o->rules->hash, &w[i].hasher) != 0) ||
		    (w[i].buf = malloc(READ_BUF)) == NULL) {
			r = VG_ERR_NOMEM;
			snprintf(err, errlen, "cannot set up hashing");
			goto out;
		}
	}
	for (i = 0; i < nw; i++) {
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0)
			break;
		started++;
	}
	/* The walk recurses once per folder level, up to WALK_DEPTH_MAX. */
	pthread_attr_init(&ta);
	pthread_attr_setstacksize(&ta, WALKER_STACK);
	if (started == 0 ||
	    pthread_create(&walker, &ta, walker_main, &s) != 0) {
		pthread_attr_destroy(&ta);
		set_error(&s, VG_ERR_NOMEM, "cannot start threads");
		goto join;
	}
	walker_started = 1;
	pthread_attr_destroy(&ta);

	pthread_mutex_lock(&s.mu);
	for (;;) {
		while (s.done_head == NULL && !(s.walker_done &&
		    s.inflight == 0)) {
			vg_cond_wait_for(&s.done_cv, &s.mu, 0.1);
			if (s.done_head == NULL)
				break;
		}
		if ((b = s.done_head) != NULL) {
			if ((s.done_head = b->next) == NULL)
				s.done_tail = NULL;
		} else if (s.walker_done && s.inflight == 0)
			break;
		pthread_mutex_unlock(&s.mu);
		if (o->stop != NULL && *o->stop)
			stopping(&s);
		if (b != NULL) {
			st->bytes_hashed += b->bytes;
			for (k = 0; k < b->n; k++) {
				if (s.abort)
					break;
				if ((r = finish_job(&s, cb, &b->jobs[k],
				    st)) != 0) {
					set_error(&s, r, "");
					r = 0;
				}
			}
			batch_free(&s, b);
		}
		now = vg_now();
		if (cb->progress != NULL && now - last >= 0.1) {
			cb->progress(cb->arg, st);
			last = now;
		}
		pthread_mutex_lock(&s.mu);
		if (b != NULL) {
			s.inflight--;
			pthread_cond_signal(&s.space_cv);
		}
	}
	pthread_mutex_unlock(&s.mu);
join:
	pthread_mutex_lock(&s.mu);
	s.workers_exit = 1;
	pthread_cond_broadcast(&s.work_cv);
	pthread_cond_broadcast(&s.space_cv);
	pthread_mutex_unlock(&s.mu);
	if (walker_started)
		pthread_join(walker, NULL);
	for (i = 0; i < started; i++)
		pthread_join(w[i].tid, NULL);
	/* After an abort, batches may be left in either queue. */
	while ((b = s.work_head) != NULL) {
		s.work_head = b->next;
		batch_free(&s, b);
	}
	while ((b = s.done_head) != NULL) {
		s.done_head = b->next;
		batch_free(&s, b);
	}
	if (cb->progress != NULL)
		cb->progress(cb->arg, st);
	if (s.err != 0) {
		r = s.err;
		if (s.errmsg[0] != '\0')
			snprintf(err, errlen, "%s", s.errmsg);
	}
out:
	for (i = 0; w != NULL && i < nw; i++)
		worker_clear(&w[i]);
	free(w);
	for (k = 0; k < s.npseudo; k++)
		free(s.pseudo[k]);
	free(s.pseudo);
	free(s.path);
	free(s.stack);
	pthread_mutex_destroy(&s.mu);
	pthread_cond_destroy(&s.work_cv);
	pthread_cond_destroy(&s.done_cv);
	pthread_cond_destroy(&s.space_cv);
	return r;
}

/*
 * One path read as a scan reads it: a job of a scan of its own, done by
 * the same worker code (stat, hash with re-reads, xattrs, ACL, label,
 * owner names), without the walk and the pipeline.
 */
int
vg_scan_one(const struct vg_rules *r, const char *path, size_t len,
    struct vg_item **out, char *err, size_t errlen)
{
	struct vg_scan_opts o;
	struct scan s;
	struct worker w;
	struct job j;
	struct stat st;
	uint64_t hashed = 0;
	int rv = VG_ERR_NOMEM, e;

	*out = NULL;
	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	memset(&w, 0, sizeof(w));
	memset(&j, 0, sizeof(j));
	o.rules = r;
	o.workers = 1;
	s.o = &o;
	s.rules = r;
	w.s = &s;
	j.kind = J_ITEM;
	j.fd = -1;
	if (len == 0 || len > VG_ITEM_PATH_MAX || path[0] != '/' ||
	    memchr(path, '\0', len) != NULL) {
		snprintf(err, errlen, "not an absolute path of 1 to %d bytes",
		    VG_ITEM_PATH_MAX);
		return VG_ERR_INVAL;
	}
	if ((j.cur = vg_item_new(VG_KIND_FILE, path, len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (stat_entry(r, AT_FDCWD, j.cur->path, &st) == -1) {
		e = errno;
		rv = 0;
		if (e == ENOENT || e == ENOTDIR)
			goto out;
		rv = vg_err_from_errno(e);
		snprintf(err, errlen, "%s: cannot stat: %s", j.cur->path,
		    strerror(e));
		goto out;
	}
	item_set_stat(j.cur, &st);
	if (j.cur->ftype == VG_FT_REG && r->hash != VG_HASH_NONE &&
	    (vg_hasher_new(r->hash, &w.hasher) != 0 ||
	    (w.buf = malloc(READ_BUF)) == NULL)) {
		snprintf(err, errlen, "cannot set up hashing");
		goto out;
	}
	work_item(&w, &j, &hashed);
	rv = 0;
	if (j.kind == J_VANISHED)
		goto out;
	*out = j.cur;
	j.cur = NULL;
out:
	job_clear(&s, &j);
	worker_clear(&w);
	return rv;
}

int
vg_scan_covers(const struct vg_rules *r, const char *path, size_t len,
    int is_dir)
{
	char stackbuf[1024], *p = stackbuf;
	size_t i, rlen = 0, start, depth = 0;
	enum vg_match m;
	int in_excluded = 0, rv = 0;

	for (i = 0; i < r->nroots; i++) {
		rlen = strlen(r->roots[i]);
		if (len >= rlen && memcmp(path, r->roots[i], rlen) == 0 &&
		    (len == rlen || rlen == 1 || path[rlen] == '/'))
			break;
	}
	if (i == r->nroots)
		return 0;
	if (len == rlen)
		return 1;            /* a root is always recorded */
	if (len >= sizeof(stackbuf) && (p = malloc(len + 1)) == NULL)
		return VG_ERR_NOMEM;
	memcpy(p, path, len);
	p[len] = '\0';
	/* Each folder on the way decides as the walk would have. */
	start = rlen == 1 ? 1 : rlen + 1;
	for (i = start; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		depth++;
		if (r->max_depth >= 0 && depth > (size_t)r->max_depth)
			goto out;
		if (i == len)
			break;
		p[i] = '\0';
		m = vg_rules_match(r, p, i, 1, in_excluded);
		p[i] = '/';
		if (m == VG_MATCH_EXCLUDE)
			goto out;
		in_excluded = m != VG_MATCH_INCLUDE;
	}
	rv = vg_rules_match(r, p, len, is_dir, in_excluded) ==
	    VG_MATCH_INCLUDE;
out:
	if (p != stackbuf)
		free(p);
	return rv;
}
