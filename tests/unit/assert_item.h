/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Shared by the unit tests: include after <cmocka.h> and "vg_item.h". */
#ifndef ASSERT_ITEM_H
#define ASSERT_ITEM_H

static void
assert_str_or_null_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/* Every field of two items is equal. */
static void
assert_items_equal(const struct vg_item *a, const struct vg_item *b)
{
	size_t i;

	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->path_len, b->path_len);
	assert_memory_equal(a->path, b->path, a->path_len + 1);
	assert_int_equal(a->have, b->have);
	assert_int_equal(a->ftype, b->ftype);
	assert_true(a->size == b->size);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
	assert_str_or_null_equal(a->user, b->user);
	assert_str_or_null_equal(a->group, b->group);
	assert_true(a->mtime_ns == b->mtime_ns);
	assert_true(a->ctime_ns == b->ctime_ns);
	assert_true(a->inode == b->inode);
	assert_true(a->dev == b->dev);
	assert_true(a->nlink == b->nlink);
	assert_str_or_null_equal(a->target, b->target);
	assert_str_or_null_equal(a->xattrs, b->xattrs);
	assert_str_or_null_equal(a->acl, b->acl);
	assert_str_or_null_equal(a->selinux, b->selinux);
	assert_int_equal(a->hash_alg, b->hash_alg);
	assert_int_equal(a->hash_state, b->hash_state);
	assert_memory_equal(a->hash, b->hash, vg_hash_len(a->hash_alg));
	assert_int_equal(a->nprops, b->nprops);
	for (i = 0; i < a->nprops; i++) {
		assert_string_equal(a->props[i].name, b->props[i].name);
		assert_string_equal(a->props[i].value, b->props[i].value);
	}
}

#endif
