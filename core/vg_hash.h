/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef VG_HASH_H
#define VG_HASH_H

#include <stddef.h>

/* Content hash algorithms. SHA-1 and MD5 exist for policies that ask for
 * them (legacy compliance); nothing picks them by default. */
enum vg_hash_alg {
	VG_HASH_NONE = 0,
	VG_HASH_SHA256 = 1,
	VG_HASH_SHA384 = 2,
	VG_HASH_SHA512 = 3,
	VG_HASH_SHA1 = 4,
	VG_HASH_MD5 = 5,
};

#define VG_HASH_MAX_LEN 64 /* bytes of the longest digest (SHA-512) */

/* "sha256" etc.; "none" for VG_HASH_NONE; NULL for an unknown value. */
const char *vg_hash_name(enum vg_hash_alg alg);

/* Parses a name as printed by vg_hash_name() (case-insensitive, "sha-256"
 * accepted too). Returns 0 or VG_ERR_INVAL. */
int vg_hash_parse(const char *name, enum vg_hash_alg *alg);

/* Digest length in bytes; 0 for VG_HASH_NONE or unknown. */
size_t vg_hash_len(enum vg_hash_alg alg);

/* 1 for SHA-1 and MD5, which a policy must ask for explicitly. */
int vg_hash_is_weak(enum vg_hash_alg alg);

/*
 * An incremental hasher. One per thread: it is not thread-safe, but it can
 * be reused for any number of files (vg_hasher_start() resets it).
 */
struct vg_hasher;

/* Creates a hasher for alg (not NONE). Returns 0, VG_ERR_INVAL or
 * VG_ERR_CRYPTO; the caller frees *out with vg_hasher_free(). */
int vg_hasher_new(enum vg_hash_alg alg, struct vg_hasher **out);
void vg_hasher_free(struct vg_hasher *h);
int vg_hasher_start(struct vg_hasher *h);
int vg_hasher_update(struct vg_hasher *h, const void *data, size_t len);
/* Writes vg_hash_len() bytes to md. */
int vg_hasher_finish(struct vg_hasher *h, unsigned char *md);

/* One-shot digest of a buffer. */
int vg_hash_buffer(enum vg_hash_alg alg, const void *data, size_t len,
    unsigned char *md);

/* Lower-case hex of len bytes into out (2*len+1 bytes, NUL-terminated). */
void vg_hex_encode(const unsigned char *in, size_t len, char *out);

/* Parses exactly 2*len hex digits into out. Returns 0 or VG_ERR_INVAL. */
int vg_hex_decode(const char *hex, size_t hexlen, unsigned char *out,
    size_t outlen);

/* The value of one hex digit (either case), or -1. */
int vg_hex_digit(int c);

/*
 * Hex of len bytes into out (outlen > 0; always terminated), upper case
 * when upper is set, with sep between bytes unless sep is '\0': "AB:CD:EF"
 * for a certificate fingerprint (3 * len bytes hold it), "16 03 01" for
 * the first bytes a peer sent. When out is too small, as many whole bytes
 * as fit.
 */
void vg_hex_format(const unsigned char *in, size_t len, char sep, int upper,
    char *out, size_t outlen);

/* The pin of a certificate as people paste it: its SHA-256 (32 bytes) or
 * SHA-1 (20) in hex, with ':', blanks and U+200E marks (Windows'
 * certificate dialog copies one) ignored. */
#define VG_THUMBPRINT_MAX 32

/* Parses a thumbprint into out; *outlen becomes 20 or 32. Returns 0 or
 * VG_ERR_INVAL (out and *outlen then untouched). */
int vg_thumbprint_parse(const char *s, unsigned char out[VG_THUMBPRINT_MAX],
    size_t *outlen);

#endif
