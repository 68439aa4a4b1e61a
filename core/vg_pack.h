/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef VG_PACK_H
#define VG_PACK_H

#include <stddef.h>

#include "vg_item.h"

/*
 * A compact binary form of an item's attributes, for stores that keep
 * millions of them (the hub keeps the old and new attributes of every
 * event this way). The kind and path are not part of it: the caller
 * stores them beside it.
 *
 * Layout (all integers LEB128 varints, shortest form only):
 *   version byte (1)
 *   have                        VG_A_* bits recorded
 *   then each recorded attribute, in bit order:
 *     type                      one byte, enum vg_ftype
 *     size, mode, uid, gid,
 *     inode, dev, nlink         unsigned varint
 *     mtime, ctime              zigzag varint of the nanoseconds
 *     user, group, target,
 *     xattrs, acl, selinux      varint (length + 1) then the bytes;
 *                               0 stands for "no value" (NULL)
 *     hash                      algorithm byte, state byte, then the
 *                               digest (vg_hash_len() bytes) only when the
 *                               state is VG_HS_OK
 *     props                     varint count, then (name, value) pairs as
 *                               strings, names strictly ascending
 *
 * The reader is strict: what it accepts, vg_pack_attrs() writes back
 * byte for byte, and what vg_pack_attrs() writes, it accepts.
 */

#define VG_PACK_VERSION 1
#define VG_PACK_MAX_PROPS 4096

/*
 * Packs the attributes it records into a malloc'd buffer *out of *len
 * bytes; the caller frees it. Returns 0, VG_ERR_NOMEM, VG_ERR_TOOBIG (a
 * string longer than VG_ITEM_PATH_MAX or more than VG_PACK_MAX_PROPS
 * properties) or VG_ERR_INVAL (a value the reader would refuse: unknown
 * type, hash algorithm or state, unsorted properties). Does not block.
 */
int vg_pack_attrs(const struct vg_item *it, unsigned char **out,
    size_t *len);

/*
 * Reads len bytes at p as written by vg_pack_attrs() into a new item of
 * the given kind and path (path_len bytes, at most VG_ITEM_PATH_MAX);
 * the caller frees *out with vg_item_free(). Returns 0, VG_ERR_CORRUPT
 * (truncated, overlong, out of range or trailing bytes; err names the
 * problem and its offset), VG_ERR_VERSION (unknown version byte),
 * VG_ERR_INVAL (bad path) or VG_ERR_NOMEM. *out is NULL on failure.
 */
int vg_unpack_attrs(const unsigned char *p, size_t len,
    enum vg_item_kind kind, const char *path, size_t path_len,
    struct vg_item **out, char *err, size_t errlen);

#endif
