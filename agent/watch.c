/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The inotify watcher. One thread owns the inotify descriptor and an
 * eventfd that stops it; it sleeps in poll() until an event arrives or
 * the next pending path is due, never longer and never in a busy loop.
 *
 * Watches are kept in a table from watch descriptor to directory path
 * (open addressing, one small allocation per directory). Paths waiting
 * to be reported are kept in a hash table and in two lists, one ordered
 * by their latest event (for the quiet period) and one by their first
 * (for the maximum delay), so that finding what is due costs nothing
 * per waiting path.
 *
 * A root that is not a directory, or not there yet, is watched through
 * its nearest existing ancestor (an "anchor"); when the missing part
 * appears the anchor moves down and the root is watched in full.
 */
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vg_err.h"
#include "vg_item.h"
#include "vg_scan.h"
#include "vg_util.h"
#include "watch.h"

#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | \
	IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | \
	IN_MOVE_SELF | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_ONLYDIR)
#define PENDING_MAX 65536      /* paths waiting; more counts as overflow */
#define READ_BUFLEN (64 * 1024)
#define READS_PER_TURN 64      /* then flush what is due before reading on */
#define RESOLVE_TRIES 16       /* a root path that keeps changing */

struct wdir {
	int wd;
	uint32_t depth;    /* below its root; 0 for the root itself */
	uint32_t root;     /* index into the roots (tree watches) */
	uint32_t gen;      /* the pass that last walked it */
	uint8_t tree;      /* a directory of a root's tree */
	uint8_t anchor;    /* watched for roots that are not a tree (yet) */
	uint8_t excluded;  /* excluded, walked for includes below */
	char path[];
};

struct wdtab {
	struct wdir **slot;
	size_t cap;        /* a power of two */
	size_t n;
};

struct pend {
	struct pend *hnext;
	TAILQ_ENTRY(pend) bylast;
	TAILQ_ENTRY(pend) byfirst;
	uint64_t first, last;  /* ms, monotonic */
	uint64_t hash;
	char path[];
};
TAILQ_HEAD(pendq, pend);

struct root {
	const char *path;
	size_t len;
	dev_t dev;         /* of the root directory, for one_fs */
	int anchor;        /* the anchor's watch, or -1 */
};

struct walk_item {
	char *path;
	dev_t pdev;        /* the parent's device */
	uint32_t depth;
	uint8_t excluded;
};

struct walk_stack {
	struct walk_item *v;
	size_t n, cap;
};

struct watch {
	const struct vg_rules *rules;
	struct watch_cb cb;
	uint64_t debounce_ms, max_delay_ms;
	int ifd, stopfd;
	pthread_t thread;
	int started;

	struct wdtab wds;
	struct root *roots;
	size_t nroots;
	uint32_t gen;

	struct pend **buckets;
	size_t nbuckets, npend;
	struct pendq bylast, byfirst;
	int lost;          /* events dropped: report an overflow */

	/* The current watch pass: the first add that hit the limit. */
	int pass_errno;
	char *pass_dir;
	size_t pass_unwatched;

	char *evpath;      /* VG_ITEM_PATH_MAX + 1 bytes each */
	char *walkpath;
	char *anchorpath;
	void *readbuf;

	_Atomic size_t count;
	_Atomic size_t unwatched;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ready;
};

static uint64_t
now_ms(void)
{
	return (uint64_t)(vg_now() * 1000.0);
}

/* Joins dir and name into buf; returns the length, or -1 when the path
 * would be longer than VG_ITEM_PATH_MAX. */
static int
path_join(char *buf, const char *dir, size_t dlen, const char *name,
    size_t nlen)
{
	size_t sep = (dlen == 1 && dir[0] == '/') ? 0 : 1;

	if (dlen + sep + nlen > VG_ITEM_PATH_MAX)
		return -1;
	if (buf != dir)
		memmove(buf, dir, dlen);
	if (sep)
		buf[dlen] = '/';
	memcpy(buf + dlen + sep, name, nlen);
	buf[dlen + sep + nlen] = '\0';
	return (int)(dlen + sep + nlen);
}

static int
depth_walked(const struct watch *w, uint32_t depth)
{
	return w->rules->max_depth < 0 || (long)depth < w->rules->max_depth;
}

/* ---- watch descriptor table ---- */

static size_t
wd_home(int wd, size_t cap)
{
	return ((uint32_t)wd * 2654435761u) & (cap - 1);
}

static struct wdir *
wd_find(const struct wdtab *t, int wd)
{
	size_t i = wd_home(wd, t->cap);

	while (t->slot[i] != NULL) {
		if (t->slot[i]->wd == wd)
			return t->slot[i];
		i = (i + 1) & (t->cap - 1);
	}
	return NULL;
}

static void
wd_place(struct wdir **slot, size_t cap, struct wdir *d)
{
	size_t i = wd_home(d->wd, cap);

	while (slot[i] != NULL)
		i = (i + 1) & (cap - 1);
	slot[i] = d;
}

static int
wd_insert(struct wdtab *t, struct wdir *d)
{
	struct wdir **ns;
	size_t i, ncap;

	if ((t->n + 1) * 2 > t->cap) {
		ncap = t->cap * 2;
		if ((ns = calloc(ncap, sizeof(*ns))) == NULL)
			return VG_ERR_NOMEM;
		for (i = 0; i < t->cap; i++)
			if (t->slot[i] != NULL)
				wd_place(ns, ncap, t->slot[i]);
		free(t->slot);
		t->slot = ns;
		t->cap = ncap;
	}
	wd_place(t->slot, t->cap, d);
	t->n++;
	return 0;
}

/* Takes d out of the table (linear probing: later entries of the run
 * move back so that lookups still find them). */
static void
wd_remove(struct wdtab *t, const struct wdir *d)
{
	size_t mask = t->cap - 1, i, j, k;

	for (i = wd_home(d->wd, t->cap); t->slot[i] != d; i = (i + 1) & mask)
		if (t->slot[i] == NULL)
			return;
	t->slot[i] = NULL;
	t->n--;
	for (j = (i + 1) & mask; t->slot[j] != NULL; j = (j + 1) & mask) {
		k = wd_home(t->slot[j]->wd, t->cap);
		/* Stays when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->slot[i] = t->slot[j];
		t->slot[j] = NULL;
		i = j;
	}
}

/* Forgets a watch; rm also removes it from the kernel (not needed once
 * IN_IGNORED said it is gone). */
static void
wdir_drop(struct watch *w, struct wdir *d, int rm)
{
	if (rm)
		inotify_rm_watch(w->ifd, d->wd);
	wd_remove(&w->wds, d);
	free(d);
	atomic_fetch_sub(&w->count, 1);
}

/* Records a new watch, or returns the one the kernel already had for
 * that directory. NULL on allocation failure. */
static struct wdir *
wdir_get(struct watch *w, int wd, const char *path, int *is_new)
{
	struct wdir *d;
	size_t len = strlen(path);

	*is_new = 0;
	if ((d = wd_find(&w->wds, wd)) != NULL) {
		if (strcmp(d->path, path) == 0)
			return d;
		/* Renamed while we were not looking: keep the new name. */
		struct wdir *nd = malloc(sizeof(*nd) + len + 1);

		if (nd == NULL)
			return NULL;
		memcpy(nd, d, sizeof(*nd));
		memcpy(nd->path, path, len + 1);
		wd_remove(&w->wds, d);
		free(d);
		if (wd_insert(&w->wds, nd) != 0) {
			/* Cannot fail: a slot was just freed. */
			free(nd);
			return NULL;
		}
		return nd;
	}
	if ((d = calloc(1, sizeof(*d) + len + 1)) == NULL)
		return NULL;
	d->wd = wd;
	memcpy(d->path, path, len + 1);
	if (wd_insert(&w->wds, d) != 0) {
		free(d);
		return NULL;
	}
	atomic_fetch_add(&w->count, 1);
	*is_new = 1;
	return d;
}

/* ---- pending paths ---- */

static uint64_t
path_hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void
pend_unlink(struct watch *w, struct pend *p)
{
	struct pend **pp = &w->buckets[p->hash & (w->nbuckets - 1)];

	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
	TAILQ_REMOVE(&w->bylast, p, bylast);
	TAILQ_REMOVE(&w->byfirst, p, byfirst);
	w->npend--;
}

static void
pend_clear(struct watch *w)
{
	struct pend *p;

	while ((p = TAILQ_FIRST(&w->byfirst)) != NULL) {
		pend_unlink(w, p);
		free(p);
	}
}

static int
pend_grow(struct watch *w)
{
	struct pend **nb, *p, *next;
	size_t i, ncap = w->nbuckets * 2;

	if ((nb = calloc(ncap, sizeof(*nb))) == NULL)
		return VG_ERR_NOMEM;
	for (i = 0; i < w->nbuckets; i++)
		for (p = w->buckets[i]; p != NULL; p = next) {
			next = p->hnext;
			p->hnext = nb[p->hash & (ncap - 1)];
			nb[p->hash & (ncap - 1)] = p;
		}
	free(w->buckets);
	w->buckets = nb;
	w->nbuckets = ncap;
	return 0;
}

/* Marks a path dirty: a new one waits from now, a known one waits again
 * for the quiet period (its first event still bounds the delay). */
static void
pend_add(struct watch *w, const char *path, size_t len)
{
	uint64_t h = path_hash(path, len), now = now_ms();
	struct pend *p, **b;

	for (p = w->buckets[h & (w->nbuckets - 1)]; p != NULL; p = p->hnext)
		if (p->hash == h && strcmp(p->path, path) == 0) {
			p->last = now;
			TAILQ_REMOVE(&w->bylast, p, bylast);
			TAILQ_INSERT_TAIL(&w->bylast, p, bylast);
			return;
		}
	if (w->npend >= PENDING_MAX ||
	    (w->npend >= w->nbuckets && pend_grow(w) != 0) ||
	    (p = malloc(sizeof(*p) + len + 1)) == NULL) {
		w->lost = 1;
		return;
	}
	p->first = p->last = now;
	p->hash = h;
	memcpy(p->path, path, len);
	p->path[len] = '\0';
	b = &w->buckets[h & (w->nbuckets - 1)];
	p->hnext = *b;
	*b = p;
	TAILQ_INSERT_TAIL(&w->bylast, p, bylast);
	TAILQ_INSERT_TAIL(&w->byfirst, p, byfirst);
	w->npend++;
}

/* When the next pending path is due, or UINT64_MAX when none waits. */
static uint64_t
pend_deadline(const struct watch *w)
{
	const struct pend *l = TAILQ_FIRST(&w->bylast);
	const struct pend *f = TAILQ_FIRST(&w->byfirst);
	uint64_t a, b;

	if (l == NULL)
		return UINT64_MAX;
	a = l->last + w->debounce_ms;
	b = f->first + w->max_delay_ms;
	return a < b ? a : b;
}

static int
pend_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hands the paths that are due to the callback in one sorted batch. */
static void
pend_flush(struct watch *w, uint64_t now)
{
	struct pend **due, *p;
	char **v;
	size_t n = 0, i;

	if (w->npend == 0)
		return;
	if ((due = malloc(w->npend * (sizeof(*due) + sizeof(*v)))) == NULL) {
		w->lost = 1;
		return;
	}
	v = (char **)(void *)(due + w->npend);
	while ((p = TAILQ_FIRST(&w->bylast)) != NULL &&
	    now >= p->last + w->debounce_ms) {
		pend_unlink(w, p);
		due[n++] = p;
	}
	while ((p = TAILQ_FIRST(&w->byfirst)) != NULL &&
	    now >= p->first + w->max_delay_ms) {
		pend_unlink(w, p);
		due[n++] = p;
	}
	for (i = 0; i < n; i++)
		v[i] = due[i]->path;
	if (n > 1)
		qsort(v, n, sizeof(*v), pend_cmp);
	if (n > 0 && w->cb.dirty != NULL)
		w->cb.dirty(w->cb.arg, v, n);
	for (i = 0; i < n; i++)
		free(due[i]);
	free(due);
}

/* ---- watch passes and tree walks ---- */

static void
pass_begin(struct watch *w)
{
	w->gen++;
	w->pass_errno = 0;
	w->pass_unwatched = 0;
}

static void
pass_end(struct watch *w)
{
	if (w->pass_errno == 0)
		return;
	atomic_store(&w->unwatched, w->pass_unwatched);
	if (w->cb.watch_limit != NULL)
		w->cb.watch_limit(w->cb.arg, w->pass_dir ? w->pass_dir : "",
		    w->pass_errno);
	free(w->pass_dir);
	w->pass_dir = NULL;
	w->pass_errno = 0;
}

/*
 * Adds a watch for path. Returns the descriptor, or -1: after the limit
 * was hit in this pass no more are tried, and the directory counts as
 * unwatched; *limited then says so (its entries are still walked).
 */
static int
add_watch(struct watch *w, const char *path, int *limited)
{
	int wd;

	*limited = 0;
	if (w->pass_errno == 0) {
		if ((wd = inotify_add_watch(w->ifd, path, WATCH_MASK)) != -1)
			return wd;
		if (errno != ENOSPC && errno != ENOMEM)
			return -1;
		w->pass_errno = errno;
		w->pass_dir = strdup(path);
	}
	w->pass_unwatched++;
	*limited = 1;
	return -1;
}

static int
stack_push(struct walk_stack *s, const char *path, dev_t pdev,
    uint32_t depth, int excluded)
{
	struct walk_item *nv;
	size_t ncap;

	if (s->n == s->cap) {
		ncap = s->cap ? s->cap * 2 : 64;
		if ((nv = reallocarray(s->v, ncap, sizeof(*nv))) == NULL)
			return VG_ERR_NOMEM;
		s->v = nv;
		s->cap = ncap;
	}
	if ((s->v[s->n].path = strdup(path)) == NULL)
		return VG_ERR_NOMEM;
	s->v[s->n].pdev = pdev;
	s->v[s->n].depth = depth;
	s->v[s->n].excluded = (uint8_t)excluded;
	s->n++;
	return 0;
}

/* Reads the entries of the directory (open as fd, closed here) after its
 * watch was placed, so nothing created in between is missed. */
static int
walk_entries(struct watch *w, struct walk_stack *s, int fd,
    const struct walk_item *it, dev_t dev, int report)
{
	const struct vg_rules *r = w->rules;
	size_t plen = strlen(it->path);
	struct dirent *de;
	struct stat cs;
	enum vg_match m;
	int clen, is_dir, rc = 0;
	DIR *d;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if ((clen = path_join(w->walkpath, it->path, plen, de->d_name,
		    strlen(de->d_name))) < 0) {
			/* Too long to record: the scan says so on the dir. */
			if (report)
				pend_add(w, it->path, plen);
			continue;
		}
		is_dir = de->d_type == DT_DIR;
		if (de->d_type == DT_UNKNOWN && fstatat(dirfd(d), de->d_name,
		    &cs, AT_SYMLINK_NOFOLLOW) == 0)
			is_dir = S_ISDIR(cs.st_mode);
		m = vg_rules_match(r, w->walkpath, (size_t)clen, is_dir,
		    it->excluded);
		if (m == VG_MATCH_EXCLUDE)
			continue;
		if (report && m == VG_MATCH_INCLUDE)
			pend_add(w, w->walkpath, (size_t)clen);
		if (is_dir && depth_walked(w, it->depth + 1) &&
		    (rc = stack_push(s, w->walkpath, dev, it->depth + 1,
		    m != VG_MATCH_INCLUDE)) != 0)
			break;
	}
	closedir(d);
	return rc;
}

/* Watches one directory of root ri and queues its subdirectories. */
static int
walk_one(struct watch *w, struct walk_stack *s, const struct walk_item *it,
    uint32_t ri, int report)
{
	const struct vg_rules *r = w->rules;
	struct root *rt = &w->roots[ri];
	struct wdir *d;
	struct stat sb;
	int fd, wd, limited, is_new;

	fd = open(it->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd == -1)
		return 0;     /* gone, or unreadable: the scan says which */
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return 0;
	}
	if (it->depth == 0)
		rt->dev = sb.st_dev;
	else if (sb.st_dev != it->pdev &&
	    ((r->one_fs && sb.st_dev != rt->dev) ||
	    (r->skip_pseudo_fs && vg_pseudo_fs_fd(fd)))) {
		close(fd);
		return 0;
	}
	if ((wd = add_watch(w, it->path, &limited)) == -1 && !limited) {
		close(fd);
		return 0;
	}
	if (wd != -1) {
		if ((d = wdir_get(w, wd, it->path, &is_new)) == NULL) {
			close(fd);
			return VG_ERR_NOMEM;
		}
		if (!is_new && d->tree && d->gen == w->gen) {
			/* Met twice in one pass (a bind mount): once is
			 * enough. */
			close(fd);
			return 0;
		}
		d->tree = 1;
		d->depth = it->depth;
		d->root = ri;
		d->gen = w->gen;
		d->excluded = it->excluded;
	}
	return walk_entries(w, s, fd, it, sb.st_dev, report);
}

/* Watches the tree at path (a directory at depth below root ri); with
 * report, marks every included entry found dirty. */
static int
walk_tree(struct watch *w, const char *path, dev_t pdev, uint32_t depth,
    int excluded, uint32_t ri, int report)
{
	struct walk_stack s = { NULL, 0, 0 };
	struct walk_item it;
	int rc;

	rc = stack_push(&s, path, pdev, depth, excluded);
	while (rc == 0 && s.n > 0) {
		it = s.v[--s.n];
		rc = walk_one(w, &s, &it, ri, report);
		free(it.path);
	}
	while (s.n > 0)
		free(s.v[--s.n].path);
	free(s.v);
	return rc;
}

/* 1 when the tree watch d is to go: below path (len bytes), or, with
 * path NULL, not met by the latest pass. */
static int
drop_this(const struct watch *w, const struct wdir *d, const char *path,
    size_t len)
{
	if (!d->tree)
		return 0;
	if (path == NULL)
		return d->gen != w->gen;
	return strncmp(d->path, path, len) == 0 && (d->path[len] == '\0' ||
	    d->path[len] == '/' || len == 1);
}

/* Drops the tree watches of path and of everything below it; with path
 * NULL, those the latest pass did not meet (their directories went away
 * while events were lost, IN_IGNORED with them). */
static void
drop_tree_watches(struct watch *w, const char *path, size_t len)
{
	struct wdir **v, *d;
	size_t i, n = 0;

	if ((v = malloc(w->wds.n * sizeof(*v) + 1)) == NULL) {
		w->lost = 1;
		return;
	}
	for (i = 0; i < w->wds.cap; i++)
		if ((d = w->wds.slot[i]) != NULL && drop_this(w, d, path, len))
			v[n++] = d;
	for (i = 0; i < n; i++) {
		if (v[i]->anchor)
			v[i]->tree = 0;
		else
			wdir_drop(w, v[i], 1);
	}
	free(v);
}

/* ---- roots ---- */

static void
anchor_release(struct watch *w, uint32_t ri)
{
	struct wdir *d;
	int wd = w->roots[ri].anchor;
	size_t i;

	if (wd == -1)
		return;
	w->roots[ri].anchor = -1;
	for (i = 0; i < w->nroots; i++)
		if (w->roots[i].anchor == wd)
			return;
	if ((d = wd_find(&w->wds, wd)) == NULL)
		return;
	d->anchor = 0;
	if (!d->tree)
		wdir_drop(w, d, 1);
}

/*
 * Where root ri is watched from: 1 when it is a directory to watch whole,
 * else 0 with the nearest existing ancestor directory in buf (the parent
 * of a file). -1 when there is none (the root "/" is not a directory).
 */
static int
root_place(const struct watch *w, uint32_t ri, char *buf)
{
	const struct root *rt = &w->roots[ri];
	struct stat sb;
	int exists;
	char *slash;

	exists = lstat(rt->path, &sb) == 0;
	if (exists && S_ISDIR(sb.st_mode) && w->rules->max_depth != 0)
		return 1;
	memcpy(buf, rt->path, rt->len + 1);
	for (;;) {
		if ((slash = strrchr(buf, '/')) == NULL || buf[1] == '\0')
			return -1;
		slash[slash == buf ? 1 : 0] = '\0';
		if (lstat(buf, &sb) == 0 && S_ISDIR(sb.st_mode))
			return 0;
	}
}

/*
 * Watches root ri: its tree when it is a directory, else its nearest
 * existing ancestor, re-checked after the watch is placed so that what
 * appeared in between is not missed. With report, the root and what is
 * found below it are marked dirty.
 */
static int
root_resolve(struct watch *w, uint32_t ri, int report)
{
	struct root *rt = &w->roots[ri];
	struct wdir *d;
	int tries, place, wd, limited, is_new;

	anchor_release(w, ri);
	if (report)
		pend_add(w, rt->path, rt->len);
	for (tries = 0; tries < RESOLVE_TRIES; tries++) {
		if ((place = root_place(w, ri, w->anchorpath)) == 1)
			return walk_tree(w, rt->path, 0, 0, 0, ri, report);
		if (place < 0)
			return 0;
		if ((wd = add_watch(w, w->anchorpath, &limited)) == -1) {
			if (limited || (errno != ENOENT && errno != ENOTDIR))
				return 0;
			continue;    /* the ancestor just went away */
		}
		if ((d = wdir_get(w, wd, w->anchorpath, &is_new)) == NULL)
			return VG_ERR_NOMEM;
		d->anchor = 1;
		rt->anchor = wd;
		if (root_place(w, ri, w->walkpath) == 0 &&
		    strcmp(w->walkpath, w->anchorpath) == 0)
			return 0;
		anchor_release(w, ri);
	}
	return 0;
}

/* 1 when name, in directory dir, is on the way to root rt; *last says
 * it is the root itself. */
static int
on_root_path(const char *dir, const char *name, size_t nlen,
    const struct root *rt, int *last)
{
	size_t dlen = strlen(dir), base = dlen == 1 ? 1 : dlen + 1;

	if (rt->len < base + nlen || memcmp(rt->path, dir, dlen) != 0 ||
	    (dlen > 1 && rt->path[dlen] != '/') ||
	    memcmp(rt->path + base, name, nlen) != 0)
		return 0;
	if (rt->path[base + nlen] != '\0' && rt->path[base + nlen] != '/')
		return 0;
	*last = rt->path[base + nlen] == '\0';
	return 1;
}

/* ---- events ---- */

static void
note(struct watch *w, int rc)
{
	if (rc != 0)
		w->lost = 1;   /* out of memory: the caller rescans */
}

static void
anchor_event(struct watch *w, int wd, const char *dir,
    const struct inotify_event *ev, size_t nlen)
{
	struct root *rt;
	size_t i;
	int last;

	for (i = 0; i < w->nroots; i++) {
		rt = &w->roots[i];
		if (rt->anchor != wd)
			continue;
		if (nlen == 0) {
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF |
			    IN_UNMOUNT | IN_IGNORED))
				note(w, root_resolve(w, (uint32_t)i, 1));
			continue;
		}
		if (!on_root_path(dir, ev->name, nlen, rt, &last))
			continue;
		if (last)
			pend_add(w, rt->path, rt->len);
		if ((ev->mask & IN_ISDIR) &&
		    (ev->mask & (IN_CREATE | IN_MOVED_TO)))
			note(w, root_resolve(w, (uint32_t)i, 1));
	}
}

static void
tree_event(struct watch *w, const struct wdir *d,
    const struct inotify_event *ev, size_t nlen)
{
	uint32_t depth = d->depth, ri = d->root;
	int excluded = d->excluded, is_dir = (ev->mask & IN_ISDIR) != 0;
	enum vg_match m;
	int len;

	if (nlen == 0) {
		if (depth != 0)
			return;   /* the parent's watch tells */
		if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
			pass_begin(w);
			drop_tree_watches(w, w->roots[ri].path, w->roots[ri].len);
			note(w, root_resolve(w, ri, 1));
			pass_end(w);
		} else if (ev->mask & (IN_ATTRIB | IN_MODIFY))
			pend_add(w, w->roots[ri].path, w->roots[ri].len);
		return;
	}
	if ((len = path_join(w->evpath, d->path, strlen(d->path), ev->name,
	    nlen)) < 0) {
		pend_add(w, d->path, strlen(d->path));
		return;
	}
	m = vg_rules_match(w->rules, w->evpath, (size_t)len, is_dir, excluded);
	if (m == VG_MATCH_EXCLUDE)
		return;
	if (m == VG_MATCH_INCLUDE ||
	    (is_dir && (ev->mask & (IN_MOVED_FROM | IN_DELETE))))
		pend_add(w, w->evpath, (size_t)len);
	if (!is_dir)
		return;
	if (ev->mask & IN_MOVED_FROM)
		drop_tree_watches(w, w->evpath, (size_t)len);
	if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) &&
	    depth_walked(w, depth + 1)) {
		pass_begin(w);
		note(w, walk_tree(w, w->evpath, w->roots[ri].dev, depth + 1,
		    m != VG_MATCH_INCLUDE, ri, 1));
		pass_end(w);
	}
}

static void
handle_event(struct watch *w, const struct inotify_event *ev)
{
	struct wdir *d;
	size_t nlen = ev->len ? strnlen(ev->name, ev->len) : 0;
	int wd = ev->wd;

	if (ev->mask & IN_Q_OVERFLOW) {
		w->lost = 1;
		return;
	}
	if ((d = wd_find(&w->wds, wd)) == NULL)
		return;   /* a watch we dropped already */
	if (d->anchor) {
		/* The roots may move the anchor: keep its path. */
		char *dir = strdup(d->path);

		if (dir == NULL) {
			w->lost = 1;
			return;
		}
		pass_begin(w);
		anchor_event(w, wd, dir, ev, nlen);
		pass_end(w);
		free(dir);
		if ((d = wd_find(&w->wds, wd)) == NULL)
			return;
	}
	if (d->tree)
		tree_event(w, d, ev, nlen);
	if ((ev->mask & IN_IGNORED) && (d = wd_find(&w->wds, wd)) != NULL)
		wdir_drop(w, d, 0);
}

/* Events were lost: the caller rescans, the watches are made whole. */
static void
handle_lost(struct watch *w)
{
	size_t i;
	int rc = 0;

	w->lost = 0;
	pend_clear(w);
	if (w->cb.overflow != NULL)
		w->cb.overflow(w->cb.arg);
	pass_begin(w);
	for (i = 0; i < w->nroots && rc == 0; i++)
		rc = root_resolve(w, (uint32_t)i, 0);
	if (rc == 0)
		drop_tree_watches(w, NULL, 0);
	pass_end(w);
	pend_clear(w);
}

static void
read_events(struct watch *w)
{
	const struct inotify_event *ev;
	const char *p;
	ssize_t n;
	int i;

	for (i = 0; i < READS_PER_TURN; i++) {
		if ((n = read(w->ifd, w->readbuf, READ_BUFLEN)) == -1) {
			if (errno == EINTR)
				continue;
			return;   /* EAGAIN: drained */
		}
		for (p = w->readbuf; p < (char *)w->readbuf + n;
		    p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(const void *)p;
			handle_event(w, ev);
		}
	}
}

static void *
watch_main(void *arg)
{
	struct watch *w = arg;
	struct pollfd pfd[2];
	uint64_t deadline, now;
	size_t i;
	int timeout;

	pass_begin(w);
	for (i = 0; i < w->nroots; i++)
		note(w, root_resolve(w, (uint32_t)i, 0));
	pass_end(w);
	pthread_mutex_lock(&w->mu);
	w->ready = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);

	for (;;) {
		if (w->lost)
			handle_lost(w);
		now = now_ms();
		pend_flush(w, now);
		deadline = pend_deadline(w);
		if (deadline == UINT64_MAX)
			timeout = -1;
		else
			timeout = deadline <= now ? 0 : deadline - now > INT_MAX ?
			    INT_MAX : (int)(deadline - now);
		pfd[0].fd = w->ifd;
		pfd[0].events = POLLIN;
		pfd[1].fd = w->stopfd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, timeout) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents & POLLIN)
			read_events(w);
	}
	return NULL;
}

/* ---- the interface ---- */

static void
watch_free(struct watch *w)
{
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->wds.cap; i++)
		free(w->wds.slot[i]);
	free(w->wds.slot);
	if (w->buckets != NULL)
		pend_clear(w);
	free(w->buckets);
	free(w->roots);
	free(w->pass_dir);
	free(w->evpath);
	free(w->walkpath);
	free(w->anchorpath);
	free(w->readbuf);
	if (w->ifd != -1)
		close(w->ifd);
	if (w->stopfd != -1)
		close(w->stopfd);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int
watch_start(const struct watch_opts *o, const struct watch_cb *cb,
    struct watch **out, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	struct watch *w;
	size_t i;
	int r = VG_ERR_NOMEM, e;

	*out = NULL;
	if (o == NULL || o->rules == NULL || o->rules->nroots == 0 ||
	    cb == NULL) {
		snprintf(err, errlen, "watch: no roots to watch");
		return VG_ERR_INVAL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto nomem;
	w->ifd = w->stopfd = -1;
	w->rules = o->rules;
	w->cb = *cb;
	w->debounce_ms = o->debounce_ms ? o->debounce_ms : 100;
	w->max_delay_ms = o->max_delay_ms ? o->max_delay_ms : 1000;
	TAILQ_INIT(&w->bylast);
	TAILQ_INIT(&w->byfirst);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&w->mu, NULL);
	w->wds.cap = 1024;
	w->nbuckets = 1024;
	w->nroots = o->rules->nroots;
	if ((w->wds.slot = calloc(w->wds.cap, sizeof(*w->wds.slot))) == NULL ||
	    (w->buckets = calloc(w->nbuckets, sizeof(*w->buckets))) == NULL ||
	    (w->roots = calloc(w->nroots, sizeof(*w->roots))) == NULL ||
	    (w->evpath = malloc(VG_ITEM_PATH_MAX + 1)) == NULL ||
	    (w->walkpath = malloc(VG_ITEM_PATH_MAX + 1)) == NULL ||
	    (w->anchorpath = malloc(VG_ITEM_PATH_MAX + 1)) == NULL ||
	    (w->readbuf = malloc(READ_BUFLEN)) == NULL)
		goto nomem;
	for (i = 0; i < w->nroots; i++) {
		w->roots[i].path = o->rules->roots[i];
		w->roots[i].len = strlen(o->rules->roots[i]);
		w->roots[i].anchor = -1;
		if (w->roots[i].len > VG_ITEM_PATH_MAX) {
			snprintf(err, errlen, "watch: root longer than %d "
			    "bytes", VG_ITEM_PATH_MAX);
			r = VG_ERR_INVAL;
			goto fail;
		}
	}
	if ((w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		e = errno;
		snprintf(err, errlen, "inotify_init1: %s%s", strerror(e),
		    e == EMFILE ? " (fs.inotify.max_user_instances)" : "");
		r = vg_err_from_errno(e);
		goto fail;
	}
	if ((w->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		e = errno;
		snprintf(err, errlen, "eventfd: %s", strerror(e));
		r = vg_err_from_errno(e);
		goto fail;
	}
	if ((e = pthread_create(&w->thread, NULL, watch_main, w)) != 0) {
		snprintf(err, errlen, "watch: cannot start thread: %s",
		    strerror(e));
		r = VG_ERR_NOMEM;
		goto fail;
	}
	w->started = 1;
	*out = w;
	return 0;
nomem:
	snprintf(err, errlen, "watch: out of memory");
fail:
	watch_free(w);
	return r;
}

void
watch_stop(struct watch *w)
{
	uint64_t one = 1;

	if (w == NULL)
		return;
	if (w->started) {
		/* One write to a fresh eventfd cannot fill its counter. */
		while (write(w->stopfd, &one, sizeof(one)) == -1 &&
		    errno == EINTR)
			;
		pthread_join(w->thread, NULL);
	}
	watch_free(w);
}

size_t
watch_count(struct watch *w)
{
	return atomic_load(&w->count);
}

size_t
watch_unwatched(struct watch *w)
{
	return atomic_load(&w->unwatched);
}

int
watch_wait_ready(struct watch *w, unsigned timeout_ms)
{
	double end = vg_now() + timeout_ms / 1000.0, left;
	int ready;

	pthread_mutex_lock(&w->mu);
	while (!w->ready && (left = end - vg_now()) > 0)
		vg_cond_wait_for(&w->cv, &w->mu, left);
	ready = w->ready;
	pthread_mutex_unlock(&w->mu);
	return ready;
}
