/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sealing of proxied devices' secrets (creds.h) with libsodium's
 * crypto_secretbox (XSalsa20-Poly1305) under a key of its own file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "creds.h"
#include "vg_err.h"
#include "vg_util.h"

#define KEY_LEN crypto_secretbox_KEYBYTES

struct hub_creds {
	unsigned char *key;             /* sodium_malloc'd, read-only */
};

/* The members a box holds; others are not secrets of a credential. */
static const char *const secret_names[] = {
	"password", "private_key", "passphrase", "enable_secret",
};

void
hub_creds_close(struct hub_creds *c)
{
	if (c == NULL)
		return;
	/* sodium_free() wipes it. */
	sodium_free(c->key);
	free(c);
}

/* Makes the folder entry of a new file durable. */
static int
sync_folder(const char *path)
{
	char copy[PATH_MAX];
	int fd, r = 0;

	if ((size_t)snprintf(copy, sizeof(copy), "%s", path) >= sizeof(copy))
		return VG_ERR_INVAL;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return vg_err_from_errno(errno);
	if (fsync(fd) != 0)
		r = vg_err_from_errno(errno);
	close(fd);
	return r;
}

/*
 * Creates keyfile with a new random key (into key), mode 0600, never
 * over an existing file or through a link. VG_ERR_BUSY when it exists
 * (made meanwhile by another process: read it instead).
 */
static int
key_create(const char *keyfile, unsigned char *key, char *err,
    size_t errlen)
{
	int fd, r;

	if ((fd = open(keyfile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC | O_NOCTTY, 0600)) < 0) {
		if (errno == EEXIST)
			return VG_ERR_BUSY;
		r = vg_err_from_errno(errno);
		snprintf(err, errlen, "cannot create the credential key %s: %s",
		    keyfile, strerror(errno));
		return r;
	}
	randombytes_buf(key, KEY_LEN);
	/* umask may have taken bits away, never added: 0600 exactly. */
	if (fchmod(fd, 0600) != 0 || vg_write_all(fd, key, KEY_LEN) != 0 ||
	    fsync(fd) != 0) {
		r = vg_err_from_errno(errno);
		snprintf(err, errlen, "cannot write the credential key %s: %s",
		    keyfile, strerror(errno));
		close(fd);
		unlink(keyfile);
		return r;
	}
	if (close(fd) != 0) {
		r = vg_err_from_errno(errno);
		snprintf(err, errlen, "cannot write the credential key %s: %s",
		    keyfile, strerror(errno));
		unlink(keyfile);
		return r;
	}
	if ((r = sync_folder(keyfile)) != 0) {
		snprintf(err, errlen, "cannot make the credential key %s "
		    "durable: %s", keyfile, vg_strerror(r));
		unlink(keyfile);
		return r;
	}
	return 0;
}

/* Reads the key of an existing key file, refusing one that others may
 * use or that is not a key. */
static int
key_read(int fd, const char *keyfile, unsigned char *key, char *err,
    size_t errlen)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", keyfile, strerror(errno));
		return vg_err_from_errno(errno);
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "credential key %s is not a regular file",
		    keyfile);
		return VG_ERR_FORMAT;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "credential key %s may be used by other "
		    "users (mode %04o): refused; make it private with "
		    "\"chmod 600 %s\"", keyfile,
		    (unsigned int)(st.st_mode & 07777), keyfile);
		return VG_ERR_PERM;
	}
	if (st.st_size != (off_t)KEY_LEN) {
		snprintf(err, errlen, "credential key %s has %lld bytes, "
		    "not %d: it is not a vigil credential key (restore the "
		    "one from your backup)", keyfile, (long long)st.st_size,
		    KEY_LEN);
		return VG_ERR_FORMAT;
	}
	while (got < KEY_LEN) {
		n = read(fd, key + got, KEY_LEN - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "cannot read the credential key "
			    "%s: %s", keyfile, n < 0 ? strerror(errno) :
			    "shorter than its size");
			return n < 0 ? vg_err_from_errno(errno) : VG_ERR_FORMAT;
		}
		got += (size_t)n;
	}
	return 0;
}

int
hub_creds_open(const char *keyfile, int create, struct hub_creds **out,
    char *err, size_t errlen)
{
	struct hub_creds *c = NULL;
	int fd = -1, r, tries;

	*out = NULL;
	if (keyfile == NULL || keyfile[0] == '\0') {
		snprintf(err, errlen, "no credential key file given");
		return VG_ERR_INVAL;
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot be initialised");
		return VG_ERR_CRYPTO;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->key = sodium_malloc(KEY_LEN)) == NULL) {
		snprintf(err, errlen, "out of memory");
		r = VG_ERR_NOMEM;
		goto out;
	}
	/* Made by another process between our open and our create: read. */
	for (tries = 0;; tries++) {
		fd = open(keyfile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    O_NOCTTY);
		if (fd >= 0) {
			r = key_read(fd, keyfile, c->key, err, errlen);
			break;
		}
		if (errno != ENOENT || !create || tries > 0) {
			r = errno == ELOOP ? VG_ERR_FORMAT :
			    vg_err_from_errno(errno);
			snprintf(err, errlen, "cannot open the credential "
			    "key %s: %s", keyfile, errno == ELOOP ?
			    "a symbolic link" : strerror(errno));
			break;
		}
		if ((r = key_create(keyfile, c->key, err, errlen)) !=
		    VG_ERR_BUSY)
			break;
	}
	if (r != 0)
		goto out;
	sodium_mprotect_readonly(c->key);
	*out = c;
	c = NULL;
out:
	if (fd >= 0)
		close(fd);
	hub_creds_close(c);
	return r;
}

int
hub_creds_seal(const struct hub_creds *c, const json_t *secrets,
    unsigned char **box, size_t *boxlen, char *err, size_t errlen)
{
	json_t *o = NULL, *v;
	char *text = NULL;
	size_t i, len = 0, n;
	int r = VG_ERR_NOMEM;

	*box = NULL;
	*boxlen = 0;
	if (c == NULL || !json_is_object(secrets)) {
		snprintf(err, errlen, "seal: no key or no secrets object");
		return VG_ERR_INVAL;
	}
	/* The strings are shared with secrets (references), not copied:
	 * the only plaintext copy made here is text, wiped below. */
	if ((o = json_object()) == NULL)
		goto out;
	for (i = 0; i < sizeof(secret_names) / sizeof(secret_names[0]); i++) {
		v = json_object_get(secrets, secret_names[i]);
		if (json_is_string(v) && json_object_set(o, secret_names[i],
		    v) != 0)
			goto out;
	}
	len = json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS);
	if (len == 0 || (text = sodium_malloc(len)) == NULL ||
	    json_dumpb(o, text, len, JSON_COMPACT | JSON_SORT_KEYS) != len)
		goto out;
	n = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	if ((*box = malloc(n)) == NULL)
		goto out;
	randombytes_buf(*box, crypto_secretbox_NONCEBYTES);
	if (crypto_secretbox_easy(*box + crypto_secretbox_NONCEBYTES,
	    (const unsigned char *)text, len, *box, c->key) != 0) {
		r = VG_ERR_CRYPTO;
		goto out;
	}
	*boxlen = n;
	r = 0;
out:
	if (r != 0) {
		free(*box);
		*box = NULL;
		snprintf(err, errlen, r == VG_ERR_NOMEM ? "out of memory" :
		    "cannot seal the credential");
	}
	if (text != NULL)
		sodium_free(text);
	json_decref(o);
	return r;
}

int
hub_creds_unseal(const struct hub_creds *c, const unsigned char *box,
    size_t boxlen, char **text, size_t *textlen, char *err, size_t errlen)
{
	const size_t over = crypto_secretbox_NONCEBYTES +
	    crypto_secretbox_MACBYTES;
	unsigned char *plain;
	size_t len;

	*text = NULL;
	*textlen = 0;
	if (c == NULL || box == NULL) {
		snprintf(err, errlen, "unseal: no key or no box");
		return VG_ERR_INVAL;
	}
	if (boxlen < over) {
		snprintf(err, errlen, "the sealed credential is damaged (%zu "
		    "bytes, shorter than a box)", boxlen);
		return VG_ERR_CORRUPT;
	}
	len = boxlen - over;
	if ((plain = sodium_malloc(len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	if (crypto_secretbox_open_easy(plain, box +
	    crypto_secretbox_NONCEBYTES, boxlen - crypto_secretbox_NONCEBYTES,
	    box, c->key) != 0) {
		sodium_free(plain);
		snprintf(err, errlen, "the sealed credential does not open "
		    "with this credential key: the key is not the one it was "
		    "sealed with, or the database is damaged");
		return VG_ERR_CORRUPT;
	}
	plain[len] = '\0';
	*text = (char *)plain;
	*textlen = len;
	return 0;
}

void
hub_creds_text_free(char *text, size_t textlen)
{
	(void)textlen;
	/* sodium_free() wipes the whole allocation first. */
	if (text != NULL)
		sodium_free(text);
}
