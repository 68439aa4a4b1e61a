/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The bare hashing floor: THREADS threads, each taking the next file from
 * a list (one path per line on stdin), open + read 1 MiB at a time +
 * OpenSSL SHA-256, no output. What no scanner can beat on this machine.
 *   find TREE -type f | hash_floor THREADS
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

static char **paths;
static size_t npaths;
static atomic_size_t next_path;

static void *
worker(void *arg)
{
	unsigned char *buf = malloc(1 << 20), md[EVP_MAX_MD_SIZE];
	EVP_MD *sha = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i;
	ssize_t n;
	int fd;

	(void)arg;
	while ((i = atomic_fetch_add(&next_path, 1)) < npaths) {
		if ((fd = open(paths[i], O_RDONLY)) == -1)
			continue;
		EVP_DigestInit_ex2(ctx, sha, NULL);
		while ((n = read(fd, buf, 1 << 20)) > 0)
			EVP_DigestUpdate(ctx, buf, (size_t)n);
		EVP_DigestFinal_ex(ctx, md, NULL);
		close(fd);
	}
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(sha);
	free(buf);
	return NULL;
}

int
main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 2, i;
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t n;
	pthread_t tid[64];

	if (threads < 1 || threads > 64)
		threads = 2;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (npaths == alloc) {
			alloc = alloc ? alloc * 2 : 4096;
			paths = realloc(paths, alloc * sizeof(*paths));
		}
		paths[npaths++] = strdup(line);
	}
	for (i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, NULL);
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	return 0;
}
