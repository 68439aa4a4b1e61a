/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Writes a reproducible benchmark tree: from a fixed seed, FILES files of
 * mostly small sizes with a few large ones, in folders both deep and wide,
 * about TOTAL bytes in all. Same seed, same tree, byte for byte.
 *   gen_corpus DIR [FILES [TOTAL_MB [SEED]]]
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng;

static uint64_t
next(void)
{
	/* xorshift64*: fast and good enough for file contents and sizes */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static int
mkdirs(char *path)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, 0755) == -1 && errno != EEXIST ? -1 : 0;
}

static int
write_file(const char *path, uint64_t size, unsigned char *buf, size_t buflen)
{
	uint64_t left = size;
	size_t n, i;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		return -1;
	while (left > 0) {
		n = left < buflen ? (size_t)left : buflen;
		for (i = 0; i + 8 <= n; i += 8) {
			uint64_t v = next();
			memcpy(buf + i, &v, 8);
		}
		for (; i < n; i++)
			buf[i] = (unsigned char)next();
		if (write(fd, buf, n) != (ssize_t)n) {
			close(fd);
			return -1;
		}
		left -= n;
	}
	return close(fd);
}

int
main(int argc, char **argv)
{
	unsigned long files = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	unsigned long total_mb = argc > 3 ? strtoul(argv[3], NULL, 10) : 2048;
	uint64_t budget, small_total = 0, size;
	unsigned long i, nlarge, dirs;
	static unsigned char buf[1 << 20];
	char dir[4096], path[4200];
	int depth, d;

	if (argc < 2) {
		fprintf(stderr, "usage: gen_corpus DIR [FILES [TOTAL_MB [SEED]]]\n");
		return 2;
	}
	rng = argc > 4 ? strtoull(argv[4], NULL, 10) : 20261126;
	if (rng == 0)
		rng = 1;
	budget = (uint64_t)total_mb << 20;
	/* About 1 in 1000 files is large and they hold ~60% of the bytes. */
	nlarge = files / 1000 + 1;
	dirs = files / 40 + 1;
	for (i = 0; i < files; i++) {
		/* Folder: one of `dirs`, 1 to 8 levels deep. */
		unsigned long dn = next() % dirs;
		int n = snprintf(dir, sizeof(dir), "%s", argv[1]);

		depth = 1 + (int)(dn % 8);
		for (d = 0; d < depth; d++)
			n += snprintf(dir + n, sizeof(dir) - (size_t)n,
			    "/d%lu", (dn >> (3 * d)) % 23);
		if (mkdirs(dir) == -1) {
			perror(dir);
			return 1;
		}
		if (i < nlarge)
			size = (budget * 6 / 10) / nlarge;
		else {
			/* Small files: mostly under 16 KiB, a tail to 1 MiB. */
			uint64_t r = next() % 100;
			uint64_t cap = r < 70 ? 4096 : r < 95 ? 65536 : 1 << 20;

			size = next() % cap;
			if (small_total + size > budget * 4 / 10)
				size = 0;
		}
		small_total += i < nlarge ? 0 : size;
		snprintf(path, sizeof(path), "%s/f%lu.dat", dir, i);
		if (write_file(path, size, buf, sizeof(buf)) == -1) {
			perror(path);
			return 1;
		}
	}
	return 0;
}
