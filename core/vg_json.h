/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef VG_JSON_H
#define VG_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "vg_item.h"

/*
 * The canonical JSON form of items and changes (docs/protocol.md): what the
 * scanner prints with --json and what agents send to the hub. Readers are
 * strict: a wrong type, an unknown field or a bad value is an error whose
 * message names the field. They take nothing vg_pack_attrs() would refuse
 * (strings of more than VG_ITEM_PATH_MAX bytes, more than
 * VG_PACK_MAX_PROPS properties), so what they accept can be stored, and a
 * change has only the sides its type allows (added: "new"; removed:
 * "old"; changed: both).
 */

/* A JSON string of len bytes that may not be UTF-8 (device output, file
 * names): invalid sequences become U+FFFD (where the exact bytes matter
 * they travel in a *_b64 field beside it). New reference, or NULL on
 * allocation failure. */
json_t *vg_json_bytes(const char *s, size_t len);

/* The JSON value of one attribute (a VG_A_* bit) of it, or NULL when the
 * item does not record it or on allocation failure. New reference. */
json_t *vg_attr_to_json(const struct vg_item *it, uint32_t bit);

/* {"type":..., "size":..., ...}: every attribute it records, plus
 * "hash_state" when the item has no digest for a stated reason. New
 * reference or NULL on allocation failure. */
json_t *vg_attrs_to_json(const struct vg_item *it);

/* {"kind":..., "path":..., ["path_b64":...,] "attrs":{...}}. */
json_t *vg_item_to_json(const struct vg_item *it);

/* {"change":..., "kind":..., "path":..., "changed":[...], "old":{...},
 *  "new":{...}, "diff":..., "diff_truncated":...}. */
json_t *vg_change_to_json(const struct vg_change *c);

/* Parse the forms above. On success return 0 and hand the caller a new
 * item (free with vg_item_free()) or fill *c (clear with
 * vg_change_clear()). On failure return VG_ERR_INVAL (or VG_ERR_NOMEM)
 * and write a message naming the offending field to err. */
int vg_item_from_json(const json_t *j, struct vg_item **out, char *err,
    size_t errlen);
int vg_change_from_json(const json_t *j, struct vg_change *c, char *err,
    size_t errlen);

#endif
