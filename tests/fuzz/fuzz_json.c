/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for core/vg_json: the input is JSON as an agent might
 * send it, read both as an item and as a change. Beyond not crashing:
 *  - whatever the strict readers accept can be written back (the writers
 *    only fail on allocation failure), and the written JSON, as text,
 *    is accepted again;
 *  - writing what was read back a second time gives the same JSON: one
 *    pass normalises, the next changes nothing.
 * A failed check aborts, which libFuzzer reports as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vg_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

/* j written out as text and read back, as it travels; consumes j. */
static json_t *
through_text(json_t *j)
{
	json_t *back;
	char *s;

	CHECK(j != NULL);
	s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	CHECK(s != NULL);
	back = json_loads(s, JSON_ALLOW_NUL, NULL);
	CHECK(back != NULL);
	free(s);
	json_decref(j);
	return back;
}

static void
item_round_trip(const json_t *j)
{
	struct vg_item *it = NULL, *it2 = NULL;
	json_t *enc1, *enc2;
	char err[512];

	if (vg_item_from_json(j, &it, err, sizeof(err)) != 0) {
		CHECK(it == NULL && err[0] != '\0');
		return;
	}
	CHECK(it != NULL && it->path_len > 0);
	CHECK(memchr(it->path, '\0', it->path_len) == NULL);
	enc1 = through_text(vg_item_to_json(it));
	CHECK(vg_item_from_json(enc1, &it2, err, sizeof(err)) == 0);
	CHECK(it2->kind == it->kind && it2->path_len == it->path_len &&
	    memcmp(it2->path, it->path, it->path_len) == 0);
	enc2 = vg_item_to_json(it2);
	CHECK(enc2 != NULL);
	CHECK(json_equal(enc1, enc2));
	json_decref(enc1);
	json_decref(enc2);
	vg_item_free(it);
	vg_item_free(it2);
}

static void
change_round_trip(const json_t *j)
{
	struct vg_change c, c2;
	json_t *enc1, *enc2;
	char err[512];

	if (vg_change_from_json(j, &c, err, sizeof(err)) != 0) {
		CHECK(c.old == NULL && c.new == NULL && c.diff == NULL);
		CHECK(err[0] != '\0');
		return;
	}
	CHECK(c.old != NULL || c.new != NULL);
	enc1 = through_text(vg_change_to_json(&c));
	CHECK(vg_change_from_json(enc1, &c2, err, sizeof(err)) == 0);
	CHECK(c2.type == c.type);
	enc2 = vg_change_to_json(&c2);
	CHECK(enc2 != NULL);
	CHECK(json_equal(enc1, enc2));
	json_decref(enc1);
	json_decref(enc2);
	vg_change_clear(&c);
	vg_change_clear(&c2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j;

	if ((j = json_loadb((const char *)data, size, JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, NULL)) == NULL)
		return 0;
	item_round_trip(j);
	change_round_trip(j);
	json_decref(j);
	return 0;
}
