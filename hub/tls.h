/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef HUB_TLS_H
#define HUB_TLS_H

#include <stddef.h>

#include "hub.h"

/*
 * The hub's TLS certificate (OpenSSL). Agents pin it by its SHA-256
 * thumbprint (HubDetails.xml), so a self-signed certificate made once at
 * init is enough; an administrator may configure one of their own
 * (tls_cert/tls_key) instead.
 */

/*
 * With conf.tls_cert and conf.tls_key set, loads them (PEM; the
 * certificate file may hold a chain, the leaf first) and checks that the
 * key matches the certificate. Otherwise uses DATA_DIR/hub.crt and
 * DATA_DIR/hub.key, generating them when neither exists: an ECDSA P-256
 * key (file mode 0600) and a self-signed certificate valid for ten years
 * whose subjectAltName lists this machine's names and addresses.
 *
 * Fills h->cert_pem, h->key_pem (owned by h; hub_tls_free() releases
 * them), h->fingerprint and h->thumbprint. Blocks (file I/O, possibly a
 * DNS look-up of the host name). Returns 0 or an error with a message.
 */
int hub_tls_load_or_create(struct hub *h, char *err, size_t errlen);

/* Frees h->cert_pem and h->key_pem, wiping the key. */
void hub_tls_free(struct hub *h);

#endif
