/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg_err.h"
#include "vg_json.h"
#include "vg_pack.h"
#include "vg_util.h"

json_t *
vg_json_bytes(const char *s, size_t len)
{
	json_t *j;
	char *clean;

	if (vg_utf8_valid(s, len))
		return json_stringn(s, len);
	if ((clean = vg_utf8_sanitize(s, len)) == NULL)
		return NULL;
	j = json_string(clean);
	free(clean);
	return j;
}

static json_t *
json_time(int64_t ns)
{
	char buf[VG_TIME_BUFLEN];

	vg_time_format(ns, buf);
	return json_string(buf);
}

json_t *
vg_attr_to_json(const struct vg_item *it, uint32_t bit)
{
	char buf[2 * VG_HASH_MAX_LEN + 16];
	const char *name;
	json_t *o;
	size_t i;

	if (!(it->have & bit))
		return NULL;
	switch (bit) {
	case VG_A_TYPE: return json_string(vg_ftype_name(it->ftype));
	case VG_A_SIZE: return json_integer((json_int_t)it->size);
	case VG_A_MODE:
		snprintf(buf, sizeof(buf), "%04o", it->mode & 07777);
		return json_string(buf);
	case VG_A_UID: return json_integer(it->uid);
	case VG_A_GID: return json_integer(it->gid);
	case VG_A_USER:
		return it->user ? vg_json_bytes(it->user, strlen(it->user)) :
				  json_null();
	case VG_A_GROUP:
		return it->group ? vg_json_bytes(it->group, strlen(it->group)) :
				   json_null();
	case VG_A_MTIME: return json_time(it->mtime_ns);
	case VG_A_CTIME: return json_time(it->ctime_ns);
	case VG_A_INODE: return json_integer((json_int_t)it->inode);
	case VG_A_DEV: return json_integer((json_int_t)it->dev);
	case VG_A_NLINK: return json_integer((json_int_t)it->nlink);
	case VG_A_TARGET:
		return it->target ?
		    vg_json_bytes(it->target, strlen(it->target)) : json_null();
	case VG_A_XATTRS:
		return it->xattrs ? vg_json_bytes(it->xattrs,
		    strlen(it->xattrs)) : json_string("");
	case VG_A_ACL:
		return it->acl ? vg_json_bytes(it->acl, strlen(it->acl)) :
				 json_string("");
	case VG_A_SELINUX:
		return it->selinux ? vg_json_bytes(it->selinux,
		    strlen(it->selinux)) : json_string("");
	case VG_A_HASH:
		if (it->hash_state != VG_HS_OK ||
		    (name = vg_hash_name(it->hash_alg)) == NULL)
			return json_null();
		i = (size_t)snprintf(buf, sizeof(buf), "%s:", name);
		vg_hex_encode(it->hash, vg_hash_len(it->hash_alg), buf + i);
		return json_string(buf);
	case VG_A_PROPS:
		if ((o = json_object()) == NULL)
			return NULL;
		for (i = 0; i < it->nprops; i++) {
			if (json_object_set_new(o, it->props[i].name,
			    vg_json_bytes(it->props[i].value,
			    strlen(it->props[i].value))) != 0) {
				json_decref(o);
				return NULL;
			}
		}
		return o;
	}
	return NULL;
}

json_t *
vg_attrs_to_json(const struct vg_item *it)
{
	json_t *o, *v;
	uint32_t bit;

	if ((o = json_object()) == NULL)
		return NULL;
	for (bit = 1; bit & VG_A_ALL; bit <<= 1) {
		if (!(it->have & bit))
			continue;
		if ((v = vg_attr_to_json(it, bit)) == NULL ||
		    json_object_set_new(o, vg_attr_name(bit), v) != 0)
			goto fail;
	}
	if ((it->have & VG_A_HASH) && it->hash_state != VG_HS_OK &&
	    json_object_set_new(o, "hash_state",
	    json_string(vg_hash_state_name(it->hash_state))) != 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* Adds "path" (and "path_b64" when the bytes are not UTF-8). */
static int
set_path(json_t *o, const struct vg_item *it)
{
	char *b64;
	int r;

	if (json_object_set_new(o, "kind",
	    json_string(vg_kind_name(it->kind))) != 0 ||
	    json_object_set_new(o, "path", vg_json_bytes(it->path,
	    it->path_len)) != 0)
		return VG_ERR_NOMEM;
	if (vg_utf8_valid(it->path, it->path_len))
		return 0;
	if ((b64 = vg_base64_encode(it->path, it->path_len)) == NULL)
		return VG_ERR_NOMEM;
	r = json_object_set_new(o, "path_b64", json_string(b64));
	free(b64);
	return r == 0 ? 0 : VG_ERR_NOMEM;
}

json_t *
vg_item_to_json(const struct vg_item *it)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (set_path(o, it) != 0 ||
	    json_object_set_new(o, "attrs", vg_attrs_to_json(it)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
vg_change_to_json(const struct vg_change *c)
{
	const struct vg_item *it = c->new ? c->new : c->old;
	json_t *o, *names;
	uint32_t bit;

	if (it == NULL || (o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "change",
	    json_string(vg_change_type_name(c->type))) != 0 ||
	    set_path(o, it) != 0)
		goto fail;
	if (c->type == VG_CHANGE_CHANGED) {
		if ((names = json_array()) == NULL ||
		    json_object_set_new(o, "changed", names) != 0)
			goto fail;
		for (bit = 1; bit & VG_A_ALL; bit <<= 1)
			if ((c->changed & bit) && json_array_append_new(names,
			    json_string(vg_attr_name(bit))) != 0)
				goto fail;
	}
	if (c->old && json_object_set_new(o, "old",
	    vg_attrs_to_json(c->old)) != 0)
		goto fail;
	if (c->new && json_object_set_new(o, "new",
	    vg_attrs_to_json(c->new)) != 0)
		goto fail;
	if (c->diff && (json_object_set_new(o, "diff",
	    vg_json_bytes(c->diff, strlen(c->diff))) != 0 ||
	    json_object_set_new(o, "diff_truncated",
	    json_boolean(c->diff_truncated)) != 0))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* ---- reading ---- */

#define FAIL(...) do { \
	snprintf(err, errlen, __VA_ARGS__); \
	r = VG_ERR_INVAL; \
	goto out; \
} while (0)

static int
get_uint(const json_t *v, const char *key, uint64_t *out, char *err,
    size_t errlen)
{
	int r = 0;

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		FAIL("\"%s\" must be a non-negative integer", key);
	*out = (uint64_t)json_integer_value(v);
out:
	return r;
}

static int
get_str(const json_t *v, const char *key, char **field, char *err,
    size_t errlen)
{
	int r = 0;

	if (json_is_null(v)) {
		free(*field);
		*field = NULL;
		return 0;
	}
	if (!json_is_string(v))
		FAIL("\"%s\" must be a string", key);
	if (memchr(json_string_value(v), '\0', json_string_length(v)))
		FAIL("\"%s\" must not contain NUL", key);
	/* What the stores can keep (vg_pack). */
	if (json_string_length(v) > VG_ITEM_PATH_MAX)
		FAIL("\"%s\" is longer than %d bytes", key, VG_ITEM_PATH_MAX);
	if (vg_item_set_str(field, json_string_value(v)) != 0)
		return VG_ERR_NOMEM;
out:
	return r;
}

static int
get_time(const json_t *v, const char *key, int64_t *ns, char *err,
    size_t errlen)
{
	int r = 0;

	if (!json_is_string(v) || vg_time_parse(json_string_value(v), ns) != 0)
		FAIL("\"%s\" must be a time like 2026-01-31T12:00:00.5Z", key);
out:
	return r;
}

static int
parse_hash(const json_t *v, struct vg_item *it, char *err, size_t errlen)
{
	const char *s, *colon;
	char name[16];
	size_t n;
	int r = 0;

	if (json_is_null(v))
		return 0;
	if (!json_is_string(v) ||
	    (colon = strchr(s = json_string_value(v), ':')) == NULL ||
	    (n = (size_t)(colon - s)) >= sizeof(name))
		FAIL("\"hash\" must be a string like \"sha256:<hex>\"");
	memcpy(name, s, n);
	name[n] = '\0';
	if (vg_hash_parse(name, &it->hash_alg) != 0 ||
	    it->hash_alg == VG_HASH_NONE)
		FAIL("\"hash\": unknown algorithm \"%s\"", name);
	if (vg_hex_decode(colon + 1, strlen(colon + 1), it->hash,
	    vg_hash_len(it->hash_alg)) != 0)
		FAIL("\"hash\": expected %zu hex digits after \"%s:\"",
		    2 * vg_hash_len(it->hash_alg), name);
	it->hash_state = VG_HS_OK;
out:
	return r;
}

/*
 * The "props" object: every property checked against what the stores can
 * keep (vg_pack: at most VG_PACK_MAX_PROPS, strings of at most
 * VG_ITEM_PATH_MAX bytes) before any is copied, then sorted once.
 */
static int
parse_props(const json_t *v, struct vg_item *it, char *err, size_t errlen)
{
	struct vg_prop *props = NULL;
	const char *key, *dup = NULL;
	size_t n = 0, len;
	json_t *pv;
	int r = 0;

	if (!json_is_object(v))
		FAIL("\"props\" must be an object of strings");
	if (json_object_size(v) > VG_PACK_MAX_PROPS)
		FAIL("\"props\": %zu properties, at most %d",
		    json_object_size(v), VG_PACK_MAX_PROPS);
	json_object_foreach((json_t *)v, key, pv) {
		if (strlen(key) > VG_ITEM_PATH_MAX)
			FAIL("\"props\": a property name is longer than %d "
			    "bytes", VG_ITEM_PATH_MAX);
		if (!json_is_string(pv))
			FAIL("\"props\": \"%s\" must be a string", key);
		len = json_string_length(pv);
		if (memchr(json_string_value(pv), '\0', len) != NULL)
			FAIL("\"props\": \"%s\" must not contain NUL", key);
		if (len > VG_ITEM_PATH_MAX)
			FAIL("\"props\": \"%s\" is longer than %d bytes", key,
			    VG_ITEM_PATH_MAX);
	}
	if (json_object_size(v) > 0 &&
	    (props = calloc(json_object_size(v), sizeof(*props))) == NULL)
		return VG_ERR_NOMEM;
	json_object_foreach((json_t *)v, key, pv) {
		if ((props[n].name = strdup(key)) == NULL ||
		    (props[n].value = strdup(json_string_value(pv))) == NULL) {
			n++;
			r = VG_ERR_NOMEM;
			goto out;
		}
		n++;
	}
	if ((r = vg_item_take_props(it, props, n, &dup)) == 0)
		props = NULL;
	else if (r == VG_ERR_INVAL)
		FAIL("\"props\": \"%s\" appears twice", dup);
out:
	vg_props_free(props, n);
	return r;
}

static int
parse_attrs(const json_t *attrs, struct vg_item *it, char *err,
    size_t errlen)
{
	const char *key, *s;
	json_t *v;
	uint32_t bit;
	uint64_t u;
	int r = 0;

	if (!json_is_object(attrs))
		FAIL("\"attrs\" must be an object");
	json_object_foreach((json_t *)attrs, key, v) {
		if (strcmp(key, "hash_state") == 0) {
			if (!json_is_string(v) || vg_hash_state_parse(
			    json_string_value(v), &it->hash_state) != 0)
				FAIL("\"hash_state\" must be one of none, ok, "
				    "size-cap, unreadable, unstable");
			it->have |= VG_A_HASH;
			continue;
		}
		if (vg_attr_parse(key, &bit) != 0)
			FAIL("unknown attribute \"%s\"", key);
		it->have |= bit;
		switch (bit) {
		case VG_A_TYPE:
			if (!json_is_string(v) || vg_ftype_parse(
			    json_string_value(v), &it->ftype) != 0)
				FAIL("\"type\" must be one of file, dir, "
				    "symlink, fifo, socket, chardev, blockdev");
			break;
		case VG_A_MODE: {
			char *end;
			unsigned long m;

			if (!json_is_string(v))
				FAIL("\"mode\" must be an octal string");
			s = json_string_value(v);
			m = strtoul(s, &end, 8);
			/* strtoul() would also take blanks and a sign. */
			if (*s == '\0' || s[strspn(s, "01234567")] != '\0' ||
			    *end != '\0' || m > 07777)
				FAIL("\"mode\" must be octal, at most 7777");
			it->mode = (uint32_t)m;
			break;
		}
		case VG_A_SIZE:
		case VG_A_UID:
		case VG_A_GID:
		case VG_A_INODE:
		case VG_A_DEV:
		case VG_A_NLINK:
			if ((r = get_uint(v, key, &u, err, errlen)) != 0)
				goto out;
			if ((bit == VG_A_UID || bit == VG_A_GID) &&
			    u > UINT32_MAX)
				FAIL("\"%s\" is out of range", key);
			if (bit == VG_A_SIZE) it->size = u;
			else if (bit == VG_A_UID) it->uid = (uint32_t)u;
			else if (bit == VG_A_GID) it->gid = (uint32_t)u;
			else if (bit == VG_A_INODE) it->inode = u;
			else if (bit == VG_A_DEV) it->dev = u;
			else it->nlink = u;
			break;
		case VG_A_USER:
			r = get_str(v, key, &it->user, err, errlen);
			break;
		case VG_A_GROUP:
			r = get_str(v, key, &it->group, err, errlen);
			break;
		case VG_A_TARGET:
			r = get_str(v, key, &it->target, err, errlen);
			break;
		case VG_A_XATTRS:
			r = get_str(v, key, &it->xattrs, err, errlen);
			break;
		case VG_A_ACL:
			r = get_str(v, key, &it->acl, err, errlen);
			break;
		case VG_A_SELINUX:
			r = get_str(v, key, &it->selinux, err, errlen);
			break;
		case VG_A_MTIME:
			r = get_time(v, key, &it->mtime_ns, err, errlen);
			break;
		case VG_A_CTIME:
			r = get_time(v, key, &it->ctime_ns, err, errlen);
			break;
		case VG_A_HASH:
			r = parse_hash(v, it, err, errlen);
			break;
		case VG_A_PROPS:
			r = parse_props(v, it, err, errlen);
			break;
		}
		if (r != 0)
			goto out;
	}
	/* Written back, "ok" without a digest would not parse again. */
	if (it->hash_state == VG_HS_OK && it->hash_alg == VG_HASH_NONE)
		FAIL("\"hash_state\" is \"ok\" but there is no \"hash\"");
out:
	return r;
}

/* Reads kind and path (preferring the exact bytes of path_b64). */
static int
parse_head(const json_t *j, struct vg_item **out, char *err, size_t errlen)
{
	enum vg_item_kind kind;
	const json_t *k, *p, *b;
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	const char *path;
	size_t plen;
	int r = 0;

	*out = NULL;
	k = json_object_get(j, "kind");
	if (!json_is_string(k) || vg_kind_parse(json_string_value(k),
	    &kind) != 0)
		FAIL("\"kind\" is missing or not a known item kind");
	p = json_object_get(j, "path");
	if (!json_is_string(p) || json_string_length(p) == 0)
		FAIL("\"path\" is missing or not a non-empty string");
	path = json_string_value(p);
	plen = json_string_length(p);
	if ((b = json_object_get(j, "path_b64")) != NULL) {
		/* Too long for any path: refused before decoding. */
		if (json_is_string(b) && json_string_length(b) / 4 * 3 >
		    VG_ITEM_PATH_MAX + 3)
			FAIL("\"path_b64\" is longer than a path of %d bytes",
			    VG_ITEM_PATH_MAX);
		if (!json_is_string(b) || vg_base64_decode(json_string_value(b),
		    json_string_length(b), &raw, &rawlen) != 0 || rawlen == 0)
			FAIL("\"path_b64\" must be base64 of the path");
		path = (const char *)raw;
		plen = rawlen;
	}
	if (memchr(path, '\0', plen) != NULL)
		FAIL("\"path\" must not contain NUL");
	if (plen > VG_ITEM_PATH_MAX)
		FAIL("\"path\" is longer than %d bytes", VG_ITEM_PATH_MAX);
	if ((*out = vg_item_new(kind, path, plen)) == NULL)
		r = VG_ERR_NOMEM;
out:
	free(raw);
	return r;
}

static int
check_keys(const json_t *j, const char *const *allowed, char *err,
    size_t errlen)
{
	const char *key;
	json_t *v;
	size_t i;
	int r = 0;

	if (!json_is_object(j))
		FAIL("expected a JSON object");
	json_object_foreach((json_t *)j, key, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			FAIL("unknown field \"%s\"", key);
	}
out:
	return r;
}

int
vg_item_from_json(const json_t *j, struct vg_item **out, char *err,
    size_t errlen)
{
	static const char *const keys[] = { "kind", "path", "path_b64",
		"attrs", NULL };
	struct vg_item *it = NULL;
	const json_t *attrs;
	int r;

	*out = NULL;
	if ((r = check_keys(j, keys, err, errlen)) != 0 ||
	    (r = parse_head(j, &it, err, errlen)) != 0)
		goto out;
	if ((attrs = json_object_get(j, "attrs")) != NULL &&
	    (r = parse_attrs(attrs, it, err, errlen)) != 0)
		goto out;
	*out = it;
	it = NULL;
out:
	vg_item_free(it);
	return r;
}

/* A copy of head with the attributes of the object at key. */
static int
side_from_json(const json_t *j, const char *key, const struct vg_item *head,
    struct vg_item **out, char *err, size_t errlen)
{
	const json_t *attrs = json_object_get(j, key);
	char sub[200];
	int r;

	*out = NULL;
	if (attrs == NULL)
		return 0;
	if ((*out = vg_item_new(head->kind, head->path, head->path_len)) ==
	    NULL)
		return VG_ERR_NOMEM;
	if ((r = parse_attrs(attrs, *out, sub, sizeof(sub))) != 0) {
		snprintf(err, errlen, "\"%s\": %s", key, sub);
		vg_item_free(*out);
		*out = NULL;
	}
	return r;
}

int
vg_change_from_json(const json_t *j, struct vg_change *c, char *err,
    size_t errlen)
{
	static const char *const keys[] = { "change", "kind", "path",
		"path_b64", "changed", "old", "new", "diff", "diff_truncated",
		NULL };
	struct vg_item *head = NULL;
	const json_t *v, *names;
	uint32_t bit;
	size_t i;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = check_keys(j, keys, err, errlen)) != 0 ||
	    (r = parse_head(j, &head, err, errlen)) != 0)
		goto out;
	v = json_object_get(j, "change");
	if (!json_is_string(v) || vg_change_type_parse(json_string_value(v),
	    &c->type) != 0)
		FAIL("\"change\" must be one of added, removed, changed");
	if ((r = side_from_json(j, "old", head, &c->old, err, errlen)) != 0 ||
	    (r = side_from_json(j, "new", head, &c->new, err, errlen)) != 0)
		goto out;
	if (c->type != VG_CHANGE_ADDED && c->old == NULL)
		FAIL("a \"%s\" change needs \"old\"", json_string_value(v));
	if (c->type != VG_CHANGE_REMOVED && c->new == NULL)
		FAIL("a \"%s\" change needs \"new\"", json_string_value(v));
	/* docs/protocol.md: an addition has no old side, a removal no new
	 * one (what would the hub show or accept from it?). */
	if (c->type == VG_CHANGE_ADDED && c->old != NULL)
		FAIL("\"old\": not allowed in an \"added\" change");
	if (c->type == VG_CHANGE_REMOVED && c->new != NULL)
		FAIL("\"new\": not allowed in a \"removed\" change");
	if ((names = json_object_get(j, "changed")) != NULL) {
		if (!json_is_array(names))
			FAIL("\"changed\" must be an array of attribute names");
		for (i = 0; i < json_array_size(names); i++) {
			v = json_array_get(names, i);
			if (!json_is_string(v) ||
			    vg_attr_parse(json_string_value(v), &bit) != 0)
				FAIL("\"changed\"[%zu] is not an attribute "
				    "name", i);
			c->changed |= bit;
		}
	}
	if ((v = json_object_get(j, "diff")) != NULL) {
		if (!json_is_string(v))
			FAIL("\"diff\" must be a string");
		if ((c->diff = strdup(json_string_value(v))) == NULL) {
			r = VG_ERR_NOMEM;
			goto out;
		}
	}
	if ((v = json_object_get(j, "diff_truncated")) != NULL) {
		if (!json_is_boolean(v))
			FAIL("\"diff_truncated\" must be true or false");
		c->diff_truncated = json_is_true(v);
	}
	r = 0;
out:
	vg_item_free(head);
	if (r != 0)
		vg_change_clear(c);
	return r;
}
