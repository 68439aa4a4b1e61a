/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef HUB_CREDS_H
#define HUB_CREDS_H

#include <stddef.h>

#include <jansson.h>

/*
 * Secrets of proxied devices' credentials, sealed at rest. The key is 32
 * random bytes in a file of its own (hub.conf credential_key, by default
 * DATA_DIR/credentials.key), mode 0600, outside the database: a copy of
 * hub.db alone reveals no secret. A box is nonce || crypto_secretbox_easy
 * (XSalsa20-Poly1305) of the compact JSON object {"password",
 * "private_key", "passphrase", "enable_secret"} (absent members omitted).
 * The key lives in sodium_malloc'd, locked memory; every plaintext buffer
 * is wiped (sodium_memzero) before it is freed.
 *
 * Threads: a struct hub_creds is read-only after hub_creds_open() and may
 * be used by any number of threads.
 */

struct hub_creds;

/*
 * Opens the key file, creating it (O_EXCL, 0600, random key, fsync'd)
 * when create is 1 and it does not exist. Refuses a file that group or
 * others may read or write, or that is not 32 bytes: VG_ERR_PERM or
 * VG_ERR_FORMAT, with err naming the file and what to do. Blocks on disk.
 */
int hub_creds_open(const char *keyfile, int create, struct hub_creds **out,
    char *err, size_t errlen);
void hub_creds_close(struct hub_creds *c);

/*
 * Seals the string members password, private_key, passphrase and
 * enable_secret of secrets (others ignored) into *box (malloc'd, caller
 * frees). VG_ERR_NOMEM, VG_ERR_CRYPTO.
 */
int hub_creds_seal(const struct hub_creds *c, const json_t *secrets,
    unsigned char **box, size_t *boxlen, char *err, size_t errlen);

/*
 * Opens a box into *text: the JSON object's text in sodium_malloc'd
 * memory (free with hub_creds_text_free(), which wipes it). VG_ERR_CORRUPT
 * when the box does not authenticate (another key, or damaged), with err
 * saying so.
 */
int hub_creds_unseal(const struct hub_creds *c, const unsigned char *box,
    size_t boxlen, char **text, size_t *textlen, char *err, size_t errlen);
void hub_creds_text_free(char *text, size_t textlen);

#endif
