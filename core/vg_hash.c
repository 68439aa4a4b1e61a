/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "vg_err.h"
#include "vg_hash.h"

struct vg_hasher {
	enum vg_hash_alg alg;
	EVP_MD *md;       /* fetched once: implicit fetches per file cost */
	EVP_MD_CTX *ctx;
};

static const struct {
	enum vg_hash_alg alg;
	const char *name;
	const char *alias;
	const char *evp;
	size_t len;
} algs[] = {
	{ VG_HASH_NONE, "none", "none", NULL, 0 },
	{ VG_HASH_SHA256, "sha256", "sha-256", "SHA256", 32 },
	{ VG_HASH_SHA384, "sha384", "sha-384", "SHA384", 48 },
	{ VG_HASH_SHA512, "sha512", "sha-512", "SHA512", 64 },
	{ VG_HASH_SHA1, "sha1", "sha-1", "SHA1", 20 },
	{ VG_HASH_MD5, "md5", "md5", "MD5", 16 },
};

#define NALGS (sizeof(algs) / sizeof(algs[0]))

static int
alg_index(enum vg_hash_alg alg)
{
	size_t i;

	for (i = 0; i < NALGS; i++)
		if (algs[i].alg == alg)
			return (int)i;
	return -1;
}

const char *
vg_hash_name(enum vg_hash_alg alg)
{
	int i = alg_index(alg);

	return i < 0 ? NULL : algs[i].name;
}

int
vg_hash_parse(const char *name, enum vg_hash_alg *alg)
{
	size_t i;

	if (name == NULL)
		return VG_ERR_INVAL;
	for (i = 0; i < NALGS; i++) {
		if (strcasecmp(name, algs[i].name) == 0 ||
		    strcasecmp(name, algs[i].alias) == 0) {
			*alg = algs[i].alg;
			return 0;
		}
	}
	return VG_ERR_INVAL;
}

size_t
vg_hash_len(enum vg_hash_alg alg)
{
	int i = alg_index(alg);

	return i < 0 ? 0 : algs[i].len;
}

int
vg_hash_is_weak(enum vg_hash_alg alg)
{
	return alg == VG_HASH_SHA1 || alg == VG_HASH_MD5;
}

int
vg_hasher_new(enum vg_hash_alg alg, struct vg_hasher **out)
{
	struct vg_hasher *h = NULL;
	int i, r = VG_ERR_INVAL;

	*out = NULL;
	if ((i = alg_index(alg)) < 0 || algs[i].evp == NULL)
		goto out;
	r = VG_ERR_NOMEM;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		goto out;
	h->alg = alg;
	r = VG_ERR_CRYPTO;
	if ((h->md = EVP_MD_fetch(NULL, algs[i].evp, NULL)) == NULL ||
	    (h->ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	*out = h;
	h = NULL;
	r = 0;
out:
	vg_hasher_free(h);
	return r;
}

void
vg_hasher_free(struct vg_hasher *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h);
}

int
vg_hasher_start(struct vg_hasher *h)
{
	return EVP_DigestInit_ex2(h->ctx, h->md, NULL) == 1 ? 0 :
							     VG_ERR_CRYPTO;
}

int
vg_hasher_update(struct vg_hasher *h, const void *data, size_t len)
{
	return EVP_DigestUpdate(h->ctx, data, len) == 1 ? 0 : VG_ERR_CRYPTO;
}

int
vg_hasher_finish(struct vg_hasher *h, unsigned char *md)
{
	unsigned int len = 0;

	return EVP_DigestFinal_ex(h->ctx, md, &len) == 1 ? 0 : VG_ERR_CRYPTO;
}

int
vg_hash_buffer(enum vg_hash_alg alg, const void *data, size_t len,
    unsigned char *md)
{
	struct vg_hasher *h = NULL;
	int r;

	if ((r = vg_hasher_new(alg, &h)) != 0 ||
	    (r = vg_hasher_start(h)) != 0 ||
	    (r = vg_hasher_update(h, data, len)) != 0 ||
	    (r = vg_hasher_finish(h, md)) != 0)
		goto out;
out:
	vg_hasher_free(h);
	return r;
}

void
vg_hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

int
vg_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
vg_hex_decode(const char *hex, size_t hexlen, unsigned char *out,
    size_t outlen)
{
	size_t i;
	int hi, lo;

	if (hexlen != 2 * outlen)
		return VG_ERR_INVAL;
	for (i = 0; i < outlen; i++) {
		if ((hi = vg_hex_digit((unsigned char)hex[2 * i])) < 0 ||
		    (lo = vg_hex_digit((unsigned char)hex[2 * i + 1])) < 0)
			return VG_ERR_INVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void
vg_hex_format(const unsigned char *in, size_t len, char sep, int upper,
    char *out, size_t outlen)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t i, o = 0, step = sep != '\0' ? 3 : 2;

	if (outlen == 0)
		return;
	/* A byte takes two digits, and the separator before it. */
	for (i = 0; i < len && o + (i > 0 ? step : 2) < outlen; i++) {
		if (i > 0 && sep != '\0')
			out[o++] = sep;
		out[o++] = digits[in[i] >> 4];
		out[o++] = digits[in[i] & 0x0f];
	}
	out[o] = '\0';
}

int
vg_thumbprint_parse(const char *s, unsigned char out[VG_THUMBPRINT_MAX],
    size_t *outlen)
{
	unsigned char fp[VG_THUMBPRINT_MAX];
	size_t n = 0;
	int hi = -1, d;

	for (; *s != '\0'; s++) {
		if (*s == ':' || *s == ' ' || *s == '\t')
			continue;
		if (strncmp(s, "\xe2\x80\x8e", 3) == 0) {
			s += 2;
			continue;
		}
		if ((d = vg_hex_digit((unsigned char)*s)) < 0 ||
		    (hi < 0 && n == sizeof(fp)))
			return VG_ERR_INVAL;
		if (hi < 0) {
			hi = d;
		} else {
			fp[n++] = (unsigned char)(hi << 4 | d);
			hi = -1;
		}
	}
	if (hi >= 0 || (n != 20 && n != 32))
		return VG_ERR_INVAL;
	memcpy(out, fp, n);
	*outlen = n;
	return 0;
}
