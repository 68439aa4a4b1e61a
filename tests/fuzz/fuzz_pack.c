/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for core/vg_pack: the input is packed attributes as
 * read back from the hub's database. Beyond not crashing:
 *  - a refusal leaves no item and says why;
 *  - whatever the strict reader accepts packs back to exactly the same
 *    bytes, so the format has one spelling per item.
 * A failed check aborts, which libFuzzer reports as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vg_item.h"
#include "vg_pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_item *it = (struct vg_item *)1;
	unsigned char *p = NULL;
	size_t len = 0;
	char err[256];

	err[0] = '\0';
	if (vg_unpack_attrs(data, size, VG_KIND_PACKAGE, "/fuzz", 5, &it,
	    err, sizeof(err)) != 0) {
		CHECK(it == NULL && err[0] != '\0');
		return 0;
	}
	CHECK(it != NULL);
	CHECK(vg_pack_attrs(it, &p, &len) == 0);
	CHECK(len == size && memcmp(p, data, size) == 0);
	free(p);
	vg_item_free(it);
	return 0;
}
