/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg_err.h"
#include "vg_pack.h"

/* ---- writing ---- */

struct pack_buf {
	unsigned char *p;
	size_t len, cap;
};

static int
buf_reserve(struct pack_buf *b, size_t n)
{
	unsigned char *np;
	size_t ncap;

	if (n <= b->cap - b->len)
		return 0;
	if (n > SIZE_MAX / 2 - b->len)
		return VG_ERR_TOOBIG;
	ncap = b->cap ? b->cap : 128;
	while (ncap - b->len < n)
		ncap *= 2;
	if ((np = realloc(b->p, ncap)) == NULL)
		return VG_ERR_NOMEM;
	b->p = np;
	b->cap = ncap;
	return 0;
}

static int
put_bytes(struct pack_buf *b, const void *data, size_t n)
{
	int r;

	if ((r = buf_reserve(b, n)) != 0)
		return r;
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

static int
put_byte(struct pack_buf *b, unsigned v)
{
	unsigned char c = (unsigned char)v;

	return put_bytes(b, &c, 1);
}

static int
put_uint(struct pack_buf *b, uint64_t v)
{
	unsigned char tmp[10];
	size_t n = 0;

	do {
		tmp[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			tmp[n] |= 0x80;
		n++;
	} while (v != 0);
	return put_bytes(b, tmp, n);
}

/* Zigzag: small magnitudes of either sign stay short. */
static int
put_int(struct pack_buf *b, int64_t v)
{
	uint64_t u = (uint64_t)v;

	return put_uint(b, (u << 1) ^ (v < 0 ? UINT64_MAX : 0));
}

static int
put_str(struct pack_buf *b, const char *s)
{
	size_t n;
	int r;

	if (s == NULL)
		return put_uint(b, 0);
	if ((n = strlen(s)) > VG_ITEM_PATH_MAX)
		return VG_ERR_TOOBIG;
	if ((r = put_uint(b, (uint64_t)n + 1)) != 0)
		return r;
	return put_bytes(b, s, n);
}

static int
put_hash(struct pack_buf *b, const struct vg_item *it)
{
	size_t n = vg_hash_len(it->hash_alg);
	int r;

	if (vg_hash_name(it->hash_alg) == NULL ||
	    vg_hash_state_name(it->hash_state) == NULL ||
	    (it->hash_state == VG_HS_OK && n == 0))
		return VG_ERR_INVAL;
	if ((r = put_byte(b, it->hash_alg)) != 0 ||
	    (r = put_byte(b, it->hash_state)) != 0)
		return r;
	return it->hash_state == VG_HS_OK ? put_bytes(b, it->hash, n) : 0;
}

static int
put_props(struct pack_buf *b, const struct vg_item *it)
{
	size_t i;
	int r;

	if (it->nprops > VG_PACK_MAX_PROPS)
		return VG_ERR_TOOBIG;
	if ((r = put_uint(b, it->nprops)) != 0)
		return r;
	for (i = 0; i < it->nprops; i++) {
		if (it->props[i].name == NULL || it->props[i].value == NULL ||
		    (i > 0 && strcmp(it->props[i - 1].name,
		    it->props[i].name) >= 0))
			return VG_ERR_INVAL;
		if ((r = put_str(b, it->props[i].name)) != 0 ||
		    (r = put_str(b, it->props[i].value)) != 0)
			return r;
	}
	return 0;
}

static int
put_attr(struct pack_buf *b, const struct vg_item *it, uint32_t bit)
{
	switch (bit) {
	case VG_A_TYPE:
		if ((unsigned)it->ftype > VG_FT_BLK)
			return VG_ERR_INVAL;
		return put_byte(b, it->ftype);
	case VG_A_SIZE: return put_uint(b, it->size);
	case VG_A_MODE: return put_uint(b, it->mode);
	case VG_A_UID: return put_uint(b, it->uid);
	case VG_A_GID: return put_uint(b, it->gid);
	case VG_A_USER: return put_str(b, it->user);
	case VG_A_GROUP: return put_str(b, it->group);
	case VG_A_MTIME: return put_int(b, it->mtime_ns);
	case VG_A_CTIME: return put_int(b, it->ctime_ns);
	case VG_A_INODE: return put_uint(b, it->inode);
	case VG_A_DEV: return put_uint(b, it->dev);
	case VG_A_NLINK: return put_uint(b, it->nlink);
	case VG_A_TARGET: return put_str(b, it->target);
	case VG_A_XATTRS: return put_str(b, it->xattrs);
	case VG_A_ACL: return put_str(b, it->acl);
	case VG_A_SELINUX: return put_str(b, it->selinux);
	case VG_A_HASH: return put_hash(b, it);
	case VG_A_PROPS: return put_props(b, it);
	}
	return VG_ERR_INTERNAL;
}

int
vg_pack_attrs(const struct vg_item *it, unsigned char **out, size_t *len)
{
	struct pack_buf b = { NULL, 0, 0 };
	uint32_t have = it->have & VG_A_ALL, bit;
	int r;

	*out = NULL;
	*len = 0;
	if ((r = put_byte(&b, VG_PACK_VERSION)) != 0 ||
	    (r = put_uint(&b, have)) != 0)
		goto out;
	for (bit = 1; bit & VG_A_ALL; bit <<= 1)
		if ((have & bit) && (r = put_attr(&b, it, bit)) != 0)
			goto out;
	*out = b.p;
	*len = b.len;
	b.p = NULL;
	r = 0;
out:
	free(b.p);
	return r;
}

/* ---- reading ---- */

struct unpack {
	const unsigned char *p;
	size_t len, off;
	char *err;
	size_t errlen;
};

#define BAD(u, ...) do { \
	snprintf((u)->err, (u)->errlen, __VA_ARGS__); \
	return VG_ERR_CORRUPT; \
} while (0)

/* A varint in its shortest form: a longer one would not pack back to the
 * same bytes. */
static int
get_uint(struct unpack *u, const char *what, uint64_t *v)
{
	size_t start = u->off, n = 0;
	uint64_t x = 0;
	unsigned char c;

	for (;;) {
		if (u->off >= u->len)
			BAD(u, "%s: truncated varint at offset %zu", what,
			    start);
		c = u->p[u->off++];
		if (n == 9 && c > 1)
			BAD(u, "%s: varint at offset %zu exceeds 64 bits",
			    what, start);
		x |= (uint64_t)(c & 0x7f) << (7 * n);
		n++;
		if (!(c & 0x80))
			break;
	}
	if (n > 1 && c == 0)
		BAD(u, "%s: overlong varint at offset %zu", what, start);
	*v = x;
	return 0;
}

static int
get_u32(struct unpack *u, const char *what, uint32_t *v)
{
	uint64_t x;
	int r;

	if ((r = get_uint(u, what, &x)) != 0)
		return r;
	if (x > UINT32_MAX)
		BAD(u, "%s: value %llu out of range", what,
		    (unsigned long long)x);
	*v = (uint32_t)x;
	return 0;
}

static int
get_int(struct unpack *u, const char *what, int64_t *v)
{
	uint64_t x;
	int r;

	if ((r = get_uint(u, what, &x)) != 0)
		return r;
	*v = (int64_t)((x >> 1) ^ (0 - (x & 1)));
	return 0;
}

static int
get_byte(struct unpack *u, const char *what, unsigned *v)
{
	if (u->off >= u->len)
		BAD(u, "%s: truncated at offset %zu", what, u->off);
	*v = u->p[u->off++];
	return 0;
}

/* A string into *s (NULL for "no value"); *s must be NULL on entry. */
static int
get_str(struct unpack *u, const char *what, char **s)
{
	uint64_t n;
	size_t start;
	int r;

	if ((r = get_uint(u, what, &n)) != 0)
		return r;
	if (n == 0)
		return 0;
	n--;
	start = u->off;
	if (n > VG_ITEM_PATH_MAX)
		BAD(u, "%s: length %llu exceeds %d bytes", what,
		    (unsigned long long)n, VG_ITEM_PATH_MAX);
	if (n > u->len - u->off)
		BAD(u, "%s: %llu bytes at offset %zu run past the end (%zu)",
		    what, (unsigned long long)n, start, u->len);
	if (memchr(u->p + start, '\0', (size_t)n) != NULL)
		BAD(u, "%s: NUL byte in the string at offset %zu", what,
		    start);
	if ((*s = malloc((size_t)n + 1)) == NULL)
		return VG_ERR_NOMEM;
	memcpy(*s, u->p + start, (size_t)n);
	(*s)[n] = '\0';
	u->off += (size_t)n;
	return 0;
}

static int
get_hash(struct unpack *u, struct vg_item *it)
{
	unsigned alg, state;
	size_t n;
	int r;

	if ((r = get_byte(u, "hash algorithm", &alg)) != 0 ||
	    (r = get_byte(u, "hash state", &state)) != 0)
		return r;
	if (vg_hash_name((enum vg_hash_alg)alg) == NULL)
		BAD(u, "hash: unknown algorithm %u", alg);
	if (vg_hash_state_name((enum vg_hash_state)state) == NULL)
		BAD(u, "hash: unknown state %u", state);
	it->hash_alg = (enum vg_hash_alg)alg;
	it->hash_state = (enum vg_hash_state)state;
	if (state != VG_HS_OK)
		return 0;
	if ((n = vg_hash_len(it->hash_alg)) == 0)
		BAD(u, "hash: state ok without an algorithm");
	if (n > u->len - u->off)
		BAD(u, "hash: %zu-byte digest at offset %zu runs past the end",
		    n, u->off);
	memcpy(it->hash, u->p + u->off, n);
	u->off += n;
	return 0;
}

static int
get_props(struct unpack *u, struct vg_item *it)
{
	struct vg_prop *props;
	uint64_t n;
	size_t i;
	int r;

	if ((r = get_uint(u, "props count", &n)) != 0)
		return r;
	if (n > VG_PACK_MAX_PROPS)
		BAD(u, "props: %llu properties exceed %d",
		    (unsigned long long)n, VG_PACK_MAX_PROPS);
	/* Each pair takes at least two bytes: a cheap check before the
	 * allocation. */
	if (n > (u->len - u->off) / 2)
		BAD(u, "props: %llu properties cannot fit in %zu bytes",
		    (unsigned long long)n, u->len - u->off);
	if (n == 0)
		return 0;
	if ((props = calloc((size_t)n, sizeof(*props))) == NULL)
		return VG_ERR_NOMEM;
	it->props = props;
	for (i = 0; i < n; i++) {
		if ((r = get_str(u, "property name", &props[i].name)) != 0)
			return r;
		it->nprops = i + 1;   /* so vg_item_free() frees the name */
		if ((r = get_str(u, "property value", &props[i].value)) != 0)
			return r;
		if (props[i].name == NULL || props[i].value == NULL)
			BAD(u, "props: property %zu has no name or value", i);
		if (i > 0 && strcmp(props[i - 1].name, props[i].name) >= 0)
			BAD(u, "props: \"%s\" is out of order", props[i].name);
	}
	return 0;
}

static int
get_attr(struct unpack *u, struct vg_item *it, uint32_t bit)
{
	unsigned t;
	int r;

	switch (bit) {
	case VG_A_TYPE:
		if ((r = get_byte(u, "type", &t)) != 0)
			return r;
		if (t > VG_FT_BLK)
			BAD(u, "type: unknown file type %u", t);
		it->ftype = (enum vg_ftype)t;
		return 0;
	case VG_A_SIZE: return get_uint(u, "size", &it->size);
	case VG_A_MODE: return get_u32(u, "mode", &it->mode);
	case VG_A_UID: return get_u32(u, "uid", &it->uid);
	case VG_A_GID: return get_u32(u, "gid", &it->gid);
	case VG_A_USER: return get_str(u, "user", &it->user);
	case VG_A_GROUP: return get_str(u, "group", &it->group);
	case VG_A_MTIME: return get_int(u, "mtime", &it->mtime_ns);
	case VG_A_CTIME: return get_int(u, "ctime", &it->ctime_ns);
	case VG_A_INODE: return get_uint(u, "inode", &it->inode);
	case VG_A_DEV: return get_uint(u, "dev", &it->dev);
	case VG_A_NLINK: return get_uint(u, "nlink", &it->nlink);
	case VG_A_TARGET: return get_str(u, "target", &it->target);
	case VG_A_XATTRS: return get_str(u, "xattrs", &it->xattrs);
	case VG_A_ACL: return get_str(u, "acl", &it->acl);
	case VG_A_SELINUX: return get_str(u, "selinux", &it->selinux);
	case VG_A_HASH: return get_hash(u, it);
	case VG_A_PROPS: return get_props(u, it);
	}
	return VG_ERR_INTERNAL;
}

int
vg_unpack_attrs(const unsigned char *p, size_t len, enum vg_item_kind kind,
    const char *path, size_t path_len, struct vg_item **out, char *err,
    size_t errlen)
{
	struct unpack u = { p, len, 0, err, errlen };
	struct vg_item *it = NULL;
	uint64_t have;
	uint32_t bit;
	int r;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (path_len > VG_ITEM_PATH_MAX) {
		snprintf(err, errlen, "path is longer than %d bytes",
		    VG_ITEM_PATH_MAX);
		return VG_ERR_INVAL;
	}
	if (len == 0) {
		snprintf(err, errlen, "packed attributes are empty");
		return VG_ERR_CORRUPT;
	}
	if (p[0] != VG_PACK_VERSION) {
		snprintf(err, errlen, "packed attributes have version %u, "
		    "expected %d", p[0], VG_PACK_VERSION);
		return VG_ERR_VERSION;
	}
	u.off = 1;
	if ((it = vg_item_new(kind, path, path_len)) == NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	if ((r = get_uint(&u, "attribute mask", &have)) != 0)
		goto out;
	if (have & ~(uint64_t)VG_A_ALL) {
		snprintf(err, errlen, "attribute mask 0x%llx has unknown bits",
		    (unsigned long long)have);
		r = VG_ERR_CORRUPT;
		goto out;
	}
	it->have = (uint32_t)have;
	for (bit = 1; bit & VG_A_ALL; bit <<= 1)
		if ((have & bit) && (r = get_attr(&u, it, bit)) != 0)
			goto out;
	if (u.off != len) {
		snprintf(err, errlen, "%zu trailing bytes after the attributes",
		    len - u.off);
		r = VG_ERR_CORRUPT;
		goto out;
	}
	*out = it;
	it = NULL;
	r = 0;
out:
	if (r == VG_ERR_NOMEM)
		snprintf(err, errlen, "out of memory");
	vg_item_free(it);
	return r;
}
