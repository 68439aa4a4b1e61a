/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "vg_err.h"
#include "vg_item.h"

struct vg_item *
vg_item_new(enum vg_item_kind kind, const char *path, size_t len)
{
	struct vg_item *it;

	if ((it = calloc(1, sizeof(*it) + len + 1)) == NULL)
		return NULL;
	it->kind = kind;
	it->path_len = len;
	memcpy(it->path, path, len);
	it->path[len] = '\0';
	return it;
}

static int
dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (src != NULL && (*dst = strdup(src)) == NULL)
		return VG_ERR_NOMEM;
	return 0;
}

struct vg_item *
vg_item_dup(const struct vg_item *it)
{
	struct vg_item *c;

	if ((c = vg_item_new(it->kind, it->path, it->path_len)) == NULL)
		return NULL;
	memcpy(c, it, sizeof(*c));
	c->user = c->group = c->target = c->xattrs = c->acl = c->selinux =
	    NULL;
	c->props = NULL;
	c->nprops = 0;
	if (dup_str(&c->user, it->user) != 0 ||
	    dup_str(&c->group, it->group) != 0 ||
	    dup_str(&c->target, it->target) != 0 ||
	    dup_str(&c->xattrs, it->xattrs) != 0 ||
	    dup_str(&c->acl, it->acl) != 0 ||
	    dup_str(&c->selinux, it->selinux) != 0)
		goto fail;
	if (vg_item_copy_props(c, it) != 0)
		goto fail;
	return c;
fail:
	vg_item_free(c);
	return NULL;
}

void
vg_item_free(struct vg_item *it)
{
	if (it == NULL)
		return;
	free(it->user);
	free(it->group);
	free(it->target);
	free(it->xattrs);
	free(it->acl);
	free(it->selinux);
	vg_props_free(it->props, it->nprops);
	free(it);
}

int
vg_item_set_str(char **field, const char *s)
{
	char *c = NULL;

	if (s != NULL && (c = strdup(s)) == NULL)
		return VG_ERR_NOMEM;
	free(*field);
	*field = c;
	return 0;
}

/* The index of name in the sorted props, or where it would go (*found 0). */
static size_t
prop_find(const struct vg_item *it, const char *name, int *found)
{
	size_t lo = 0, hi = it->nprops, mid;
	int cmp;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((cmp = strcmp(it->props[mid].name, name)) == 0) {
			*found = 1;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
vg_item_set_prop(struct vg_item *it, const char *name, const char *value)
{
	struct vg_prop *p;
	char *n, *v;
	size_t i;
	int found;

	i = prop_find(it, name, &found);
	if ((v = strdup(value)) == NULL)
		return VG_ERR_NOMEM;
	if (found) {
		free(it->props[i].value);
		it->props[i].value = v;
		return 0;
	}
	if ((n = strdup(name)) == NULL) {
		free(v);
		return VG_ERR_NOMEM;
	}
	if ((p = reallocarray(it->props, it->nprops + 1, sizeof(*p))) ==
	    NULL) {
		free(n);
		free(v);
		return VG_ERR_NOMEM;
	}
	it->props = p;
	memmove(&p[i + 1], &p[i], (it->nprops - i) * sizeof(*p));
	p[i].name = n;
	p[i].value = v;
	it->nprops++;
	it->have |= VG_A_PROPS;
	return 0;
}

void
vg_props_free(struct vg_prop *props, size_t n)
{
	size_t i;

	if (props == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(props[i].name);
		free(props[i].value);
	}
	free(props);
}

static int
prop_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vg_prop *)a)->name,
	    ((const struct vg_prop *)b)->name);
}

int
vg_item_take_props(struct vg_item *it, struct vg_prop *props, size_t n,
    const char **dup)
{
	size_t i;

	if (n > 1)
		qsort(props, n, sizeof(*props), prop_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(props[i - 1].name, props[i].name) == 0) {
			if (dup != NULL)
				*dup = props[i].name;
			return VG_ERR_INVAL;
		}
	}
	vg_props_free(it->props, it->nprops);
	it->props = n > 0 ? props : NULL;
	it->nprops = n;
	if (n == 0)
		free(props);
	it->have |= VG_A_PROPS;
	return 0;
}

int
vg_item_copy_props(struct vg_item *dst, const struct vg_item *src)
{
	struct vg_prop *p = NULL;
	size_t i, n = src->nprops;

	if (n > 0 && (p = calloc(n, sizeof(*p))) == NULL)
		return VG_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		if ((p[i].name = strdup(src->props[i].name)) == NULL ||
		    (p[i].value = strdup(src->props[i].value)) == NULL) {
			vg_props_free(p, n);
			return VG_ERR_NOMEM;
		}
	}
	vg_props_free(dst->props, dst->nprops);
	dst->props = p;
	dst->nprops = n;
	return 0;
}

const char *
vg_item_prop(const struct vg_item *it, const char *name)
{
	size_t i;
	int found;

	i = prop_find(it, name, &found);
	return found ? it->props[i].value : NULL;
}

static int
str_differ(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static int
props_differ(const struct vg_item *a, const struct vg_item *b)
{
	size_t i;

	if (a->nprops != b->nprops)
		return 1;
	for (i = 0; i < a->nprops; i++)
		if (strcmp(a->props[i].name, b->props[i].name) != 0 ||
		    strcmp(a->props[i].value, b->props[i].value) != 0)
			return 1;
	return 0;
}

uint32_t
vg_item_diff(const struct vg_item *a, const struct vg_item *b, uint32_t ignore)
{
	uint32_t both = a->have & b->have & ~ignore, d = 0;

#define CMP(bit, cond) \
	if ((both & (bit)) && (cond)) \
		d |= (bit)
	CMP(VG_A_TYPE, a->ftype != b->ftype);
	CMP(VG_A_SIZE, a->size != b->size);
	CMP(VG_A_MODE, a->mode != b->mode);
	CMP(VG_A_UID, a->uid != b->uid);
	CMP(VG_A_GID, a->gid != b->gid);
	CMP(VG_A_USER, str_differ(a->user, b->user));
	CMP(VG_A_GROUP, str_differ(a->group, b->group));
	CMP(VG_A_MTIME, a->mtime_ns != b->mtime_ns);
	CMP(VG_A_CTIME, a->ctime_ns != b->ctime_ns);
	CMP(VG_A_INODE, a->inode != b->inode);
	CMP(VG_A_DEV, a->dev != b->dev);
	CMP(VG_A_NLINK, a->nlink != b->nlink);
	CMP(VG_A_TARGET, str_differ(a->target, b->target));
	CMP(VG_A_XATTRS, str_differ(a->xattrs, b->xattrs));
	CMP(VG_A_ACL, str_differ(a->acl, b->acl));
	CMP(VG_A_SELINUX, str_differ(a->selinux, b->selinux));
	CMP(VG_A_HASH, a->hash_state == VG_HS_OK &&
	    b->hash_state == VG_HS_OK && a->hash_alg == b->hash_alg &&
	    memcmp(a->hash, b->hash, vg_hash_len(a->hash_alg)) != 0);
	CMP(VG_A_PROPS, props_differ(a, b));
#undef CMP
	return d;
}

static const char *const attr_names[VG_A_COUNT] = {
	"type", "size", "mode", "uid", "gid", "user", "group", "mtime",
	"ctime", "inode", "dev", "nlink", "target", "xattrs", "acl",
	"selinux", "hash", "props",
};

const char *
vg_attr_name(uint32_t bit)
{
	int i;

	for (i = 0; i < VG_A_COUNT; i++)
		if (bit == 1u << i)
			return attr_names[i];
	return NULL;
}

/* Looks name up in a table of n names; returns its index or -1. */
static int
name_index(const char *const *names, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return i;
	return -1;
}

int
vg_attr_parse(const char *name, uint32_t *bit)
{
	int i = name_index(attr_names, VG_A_COUNT, name);

	if (i < 0)
		return VG_ERR_INVAL;
	*bit = 1u << i;
	return 0;
}

static const char *const ftype_names[] = {
	NULL, "file", "dir", "symlink", "fifo", "socket", "chardev",
	"blockdev",
};

int
vg_item_path_cmp(const struct vg_item *a, const struct vg_item *b)
{
	size_t n = a->path_len < b->path_len ? a->path_len : b->path_len;
	int c = memcmp(a->path, b->path, n);

	if (c != 0)
		return c;
	return (a->path_len > b->path_len) - (a->path_len < b->path_len);
}

enum vg_ftype
vg_ftype_from_mode(unsigned long mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return VG_FT_REG;
	case S_IFDIR: return VG_FT_DIR;
	case S_IFLNK: return VG_FT_LNK;
	case S_IFIFO: return VG_FT_FIFO;
	case S_IFSOCK: return VG_FT_SOCK;
	case S_IFCHR: return VG_FT_CHR;
	case S_IFBLK: return VG_FT_BLK;
	}
	return VG_FT_NONE;
}

const char *
vg_ftype_name(enum vg_ftype t)
{
	return (unsigned)t < 8 && ftype_names[t] ? ftype_names[t] : "none";
}

int
vg_ftype_parse(const char *name, enum vg_ftype *t)
{
	int i = name_index(ftype_names, 8, name);

	if (i < 0)
		return VG_ERR_INVAL;
	*t = (enum vg_ftype)i;
	return 0;
}

static const char *const kind_names[] = {
	NULL, "file", "regkey", "regvalue", "package", "service", "user",
	"group", "port", "command", "devconfig", "sysctl",
};
#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

const char *
vg_kind_name(enum vg_item_kind k)
{
	return (unsigned)k < NKINDS && kind_names[k] ? kind_names[k] : NULL;
}

int
vg_kind_parse(const char *name, enum vg_item_kind *k)
{
	int i = name_index(kind_names, (int)NKINDS, name);

	if (i < 0)
		return VG_ERR_INVAL;
	*k = (enum vg_item_kind)i;
	return 0;
}

static const char *const hs_names[] = {
	"none", "ok", "size-cap", "unreadable", "unstable",
};

const char *
vg_hash_state_name(enum vg_hash_state s)
{
	return (unsigned)s < 5 ? hs_names[s] : NULL;
}

int
vg_hash_state_parse(const char *name, enum vg_hash_state *s)
{
	int i = name_index(hs_names, 5, name);

	if (i < 0)
		return VG_ERR_INVAL;
	*s = (enum vg_hash_state)i;
	return 0;
}

void
vg_change_clear(struct vg_change *c)
{
	if (c == NULL)
		return;
	vg_item_free(c->old);
	vg_item_free(c->new);
	free(c->diff);
	memset(c, 0, sizeof(*c));
}

static const char *const change_names[] = {
	NULL, "added", "removed", "changed",
};

const char *
vg_change_type_name(enum vg_change_type t)
{
	return (unsigned)t < 4 && change_names[t] ? change_names[t] : NULL;
}

int
vg_change_type_parse(const char *name, enum vg_change_type *t)
{
	int i = name_index(change_names, 4, name);

	if (i < 0)
		return VG_ERR_INVAL;
	*t = (enum vg_change_type)i;
	return 0;
}
