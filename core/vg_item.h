/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef VG_ITEM_H
#define VG_ITEM_H

#include <stddef.h>
#include <stdint.h>

#include "vg_hash.h"

/*
 * The tracked-item model shared by the scanner, the agent and the hub.
 *
 * An item is one thing whose state is tracked: a file system object, or
 * (for the other collectors) a registry key or value, a package, a service,
 * a user, a group, a listening port, the output of a command or a device
 * configuration. File system objects carry fixed, typed attributes, because
 * the scanner handles millions of them; other kinds carry a sorted list of
 * named string properties. Its canonical JSON form is in vg_json.h and
 * docs/protocol.md.
 */

enum vg_item_kind {
	VG_KIND_FILE = 1,     /* file, directory, symlink, device node ... */
	VG_KIND_REGKEY,
	VG_KIND_REGVALUE,
	VG_KIND_PACKAGE,
	VG_KIND_SERVICE,
	VG_KIND_USER,
	VG_KIND_GROUP,
	VG_KIND_PORT,
	VG_KIND_COMMAND,
	VG_KIND_DEVCONFIG,
	VG_KIND_SYSCTL,       /* a kernel parameter */
};

enum vg_ftype {
	VG_FT_NONE = 0,
	VG_FT_REG,
	VG_FT_DIR,
	VG_FT_LNK,
	VG_FT_FIFO,
	VG_FT_SOCK,
	VG_FT_CHR,
	VG_FT_BLK,
};

/* Why an item has, or lacks, a content hash. */
enum vg_hash_state {
	VG_HS_NONE = 0,       /* not hashed: not a regular file, or policy */
	VG_HS_OK,             /* hash holds the digest of the whole content */
	VG_HS_SIZE_CAP,       /* larger than the policy's size cap */
	VG_HS_UNREADABLE,     /* could not be read (permission, I/O error) */
	VG_HS_UNSTABLE,       /* kept changing while being read */
};

/* Attribute bits: which attributes an item records, or which differ. */
enum vg_attr {
	VG_A_TYPE = 1u << 0,
	VG_A_SIZE = 1u << 1,
	VG_A_MODE = 1u << 2,
	VG_A_UID = 1u << 3,
	VG_A_GID = 1u << 4,
	VG_A_USER = 1u << 5,
	VG_A_GROUP = 1u << 6,
	VG_A_MTIME = 1u << 7,
	VG_A_CTIME = 1u << 8,
	VG_A_INODE = 1u << 9,
	VG_A_DEV = 1u << 10,
	VG_A_NLINK = 1u << 11,
	VG_A_TARGET = 1u << 12,
	VG_A_XATTRS = 1u << 13,
	VG_A_ACL = 1u << 14,
	VG_A_SELINUX = 1u << 15,
	VG_A_HASH = 1u << 16,
	VG_A_PROPS = 1u << 17,
};
#define VG_A_COUNT 18
#define VG_A_ALL ((1u << VG_A_COUNT) - 1)

/* A named property of a non-file item. */
struct vg_prop {
	char *name;
	char *value;
};

struct vg_item {
	enum vg_item_kind kind;
	uint32_t have;             /* VG_A_* bits recorded in this item */
	size_t path_len;           /* bytes in path, without the NUL */
	enum vg_ftype ftype;
	uint64_t size;
	uint32_t mode;             /* permission bits incl. setuid/gid/sticky */
	uint32_t uid, gid;
	char *user, *group;        /* names, NULL when unknown */
	int64_t mtime_ns, ctime_ns; /* nanoseconds since the epoch */
	uint64_t inode, dev, nlink;
	char *target;              /* symlink target */
	char *xattrs;              /* canonical text, see vg_item_xattrs_add() */
	char *acl;                 /* POSIX ACL, short text form */
	char *selinux;             /* SELinux context */
	enum vg_hash_alg hash_alg;
	enum vg_hash_state hash_state;
	unsigned char hash[VG_HASH_MAX_LEN];
	struct vg_prop *props;     /* sorted by name, for non-file kinds */
	size_t nprops;
	char path[];               /* the item's name: a path for files; any
	                              bytes but NUL (need not be UTF-8) */
};

enum vg_change_type {
	VG_CHANGE_ADDED = 1,
	VG_CHANGE_REMOVED,
	VG_CHANGE_CHANGED,
};

/* One change of one item. old is NULL for ADDED, new for REMOVED. */
struct vg_change {
	enum vg_change_type type;
	struct vg_item *old;
	struct vg_item *new;
	uint32_t changed;          /* VG_A_* bits that differ (CHANGED only) */
	char *diff;                /* unified text diff, or NULL */
	int diff_truncated;        /* 1 when a size cap cut the diff */
};

/* The longest item name (path) vigil records, in bytes. Deeper paths are
 * reported as problems by the scanner and refused by every reader. */
#define VG_ITEM_PATH_MAX 32768

/* Allocates a zeroed item of the kind with a copy of path (len bytes, no
 * NUL inside). Returns NULL on allocation failure. Free with
 * vg_item_free(). */
struct vg_item *vg_item_new(enum vg_item_kind kind, const char *path,
    size_t len);

/* Deep copy; NULL on allocation failure. */
struct vg_item *vg_item_dup(const struct vg_item *it);

/* Frees it and everything it owns; accepts NULL. */
void vg_item_free(struct vg_item *it);

/* Replaces *field (one of the item's strings) with a copy of s (NULL
 * clears). Returns 0 or VG_ERR_NOMEM. */
int vg_item_set_str(char **field, const char *s);

/* Sets property name to value on a non-file item, keeping props sorted.
 * Returns 0 or VG_ERR_NOMEM. Finding the place takes O(log n), but an
 * insertion in the middle moves the ones after it: to set many at once,
 * use vg_item_take_props(). */
int vg_item_set_prop(struct vg_item *it, const char *name, const char *value);

/*
 * Replaces the item's properties with props[0..n), in any order: they are
 * sorted once, in O(n log n). props is a malloc'd array whose names and
 * values are malloc'd strings (NULL when n is 0). On success the item owns
 * all of it and records VG_A_PROPS. Two properties of the same name are
 * refused: VG_ERR_INVAL with *dup (if dup is not NULL) set to that name,
 * which stays valid as long as props; the caller then still owns props
 * (now sorted) and frees it with vg_props_free().
 */
int vg_item_take_props(struct vg_item *it, struct vg_prop *props, size_t n,
    const char **dup);

/* Frees n properties and the array; accepts NULL. */
void vg_props_free(struct vg_prop *props, size_t n);

/* Replaces dst's properties with copies of src's, in O(n); dst->have is
 * left to the caller. Returns 0 or VG_ERR_NOMEM (dst then keeps its
 * own). */
int vg_item_copy_props(struct vg_item *dst, const struct vg_item *src);

/* Value of a property or NULL. */
const char *vg_item_prop(const struct vg_item *it, const char *name);

/*
 * The attributes that differ between a and b, among those both record and
 * not in ignore. The hash counts as different only when both hold a digest
 * of the same algorithm. Properties compare as a whole (VG_A_PROPS).
 */
uint32_t vg_item_diff(const struct vg_item *a, const struct vg_item *b,
    uint32_t ignore);

/* Canonical attribute name ("size", "mtime", "hash" ...) of one bit, or
 * NULL. vg_attr_parse() maps a name back; returns 0 or VG_ERR_INVAL. */
const char *vg_attr_name(uint32_t bit);
int vg_attr_parse(const char *name, uint32_t *bit);

/* Orders items by path: bytes, the shorter first when one is the start of
 * the other (the order of baselines and of the hub). */
int vg_item_path_cmp(const struct vg_item *a, const struct vg_item *b);

/* The type of a st_mode value (S_IFREG ...); VG_FT_NONE for another. */
enum vg_ftype vg_ftype_from_mode(unsigned long mode);

/* "file", "dir", "symlink", "fifo", "socket", "chardev", "blockdev". */
const char *vg_ftype_name(enum vg_ftype t);
int vg_ftype_parse(const char *name, enum vg_ftype *t);
/* "file", "regkey", "regvalue", "package", ... */
const char *vg_kind_name(enum vg_item_kind k);
int vg_kind_parse(const char *name, enum vg_item_kind *k);
/* "ok", "none", "size-cap", "unreadable", "unstable". */
const char *vg_hash_state_name(enum vg_hash_state s);
int vg_hash_state_parse(const char *name, enum vg_hash_state *s);

/* Frees what the change owns (items, diff), not the struct itself. */
void vg_change_clear(struct vg_change *c);
const char *vg_change_type_name(enum vg_change_type t);
int vg_change_type_parse(const char *name, enum vg_change_type *t);

#endif
