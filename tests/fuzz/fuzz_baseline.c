/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzzes the baseline reader: the input bytes become a file, which is
 * opened and read to the end as vigil scan check would. Any outcome but
 * a crash, a leak or a hang is fine; errors must come with a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vg_baseline.h"
#include "vg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/vigil-fuzz-baseline.XXXXXX", err[512];
	struct vg_baseline *b = NULL;
	struct vg_item *it;
	int fd, r, n = 0;

	if ((fd = mkstemp(path)) == -1)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	err[0] = '\0';
	if ((r = vg_baseline_open(path, &b, err, sizeof(err))) == 0) {
		(void)vg_baseline_meta(b, "rules");
		while ((r = vg_baseline_next(b, &it, err, sizeof(err))) == 0 &&
		    it != NULL && n++ < 100000)
			vg_item_free(it);
		if (r == 0 && it != NULL)
			vg_item_free(it);
		vg_baseline_close(b);
	}
	if (r != 0 && err[0] == '\0')
		abort();   /* every failure must say what is wrong */
	unlink(path);
	return 0;
}
