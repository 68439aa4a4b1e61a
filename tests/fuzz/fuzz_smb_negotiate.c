/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for ports_smb_parse (cli/ports_probe.c): the input is
 * what a server sent back to the SMB2 NEGOTIATE of `vigil ports check`,
 * NetBIOS header first. Beyond not crashing or reading past the input:
 * the result is ok or wrong service; ok only for bytes framed as an SMB1
 * or SMB2 message; the detail is never empty, always terminated inside
 * its buffer and printable ASCII (it goes to a terminal), in a buffer of
 * any size.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The CLI is not a library: its probe module is compiled in. */
#include "../../cli/ports_probe.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check_detail(const char *d, size_t cap)
{
	size_t i, n = strnlen(d, cap);

	CHECK(n < cap);
	for (i = 0; i < n; i++)
		CHECK((unsigned char)d[i] >= 0x20 &&
		    (unsigned char)d[i] < 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char detail[512], small[24];
	unsigned char *copy;
	int r;

	/* An exact-size copy: ASan sees any read past the answer. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	r = ports_smb_parse(copy, size, detail, sizeof(detail));
	CHECK(r == PORTS_OK || r == PORTS_WRONG_SERVICE);
	check_detail(detail, sizeof(detail));
	CHECK(detail[0] != '\0');
	if (r == PORTS_OK)
		CHECK(size >= 4 + 32 && copy[0] == 0x00 &&
		    (memcmp(copy + 4, "\xfeSMB", 4) == 0 ||
		    memcmp(copy + 4, "\xffSMB", 4) == 0));
	/* The same answer judged the same with little room to say why. */
	CHECK(ports_smb_parse(copy, size, small, sizeof(small)) == r);
	check_detail(small, sizeof(small));
	free(copy);
	return 0;
}
