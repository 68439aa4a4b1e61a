/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef AGENT_CLIENT_H
#define AGENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "hubdetails.h"

/*
 * The agent's side of the hub API (docs/api/openapi.yaml), over libcurl
 * HTTPS. One struct hc per thread (a curl easy handle keeps its
 * connection alive between requests). The agent only ever connects; it
 * opens no listening socket.
 *
 * TLS: with a Thumbprint, the hub's leaf certificate must have that
 * SHA-256 (or SHA-1) fingerprint, checked in the handshake before any
 * byte of a request is sent (an OpenSSL verify callback through
 * CURLOPT_SSL_CTX_FUNCTION); the CA chain and host name are then not
 * checked. Without one, the usual verification against ca_file (or the
 * system's CAs). Proxy settings from HubDetails go to libcurl;
 * UseDefaultProxy false and no Proxy means no proxy at all (the
 * environment is ignored). Request bodies over 1 KiB are sent gzipped.
 */

enum hc_result {
	HC_OK = 0,
	HC_UNREACHABLE,   /* connect/resolve/timeout/reset: retry later */
	HC_TLS,           /* TLS failure other than a pin mismatch */
	HC_PIN_MISMATCH,  /* the hub's fingerprint is not the Thumbprint */
	HC_HTTP,          /* an HTTP error status; see status, error code */
	HC_PROTOCOL,      /* an answer we cannot read */
	HC_NOMEM,
};

struct hc_answer {
	long status;          /* HTTP status, 0 when none */
	json_t *body;         /* parsed JSON body or NULL */
	long retry_after;     /* Retry-After seconds, -1 when absent */
	char message[512];    /* what went wrong, for logs and status:
	                         "hub https://h:8443/api/ unreachable: ...",
	                         "certificate fingerprint mismatch: hub has
	                         SHA-256 AB:CD..., HubDetails.xml pins
	                         12:34...", "HTTP 401 unauthorized: ..." */
	char seen_fp[96];     /* the hub's SHA-256 fingerprint, colon hex,
	                         when a handshake got that far */
};

struct hc;

struct hc_opts {
	const struct hubdetails *hd;
	const char *ca_file;       /* NULL: system CAs */
	long connect_timeout;      /* seconds, default 10 */
	long timeout;              /* whole request, default 60 */
};

int hc_new(const struct hc_opts *o, struct hc **out, char *err,
    size_t errlen);
void hc_free(struct hc *c);

/* Sets the bearer credential used by poll and events (copied; NULL
 * clears). The copy is zeroed when replaced or freed. */
int hc_set_credential(struct hc *c, const char *credential);

/*
 * POST {Url}v1/{endpoint} with body (may be NULL): endpoint is
 * "agent/register" (HTTP Basic from HubDetails), "agent/poll" or
 * "agent/events" (Bearer), or GET "health" with body NULL. Fills a
 * (free with hc_answer_clear()). Returns the hc_result; HC_OK only for a
 * 2xx status with a JSON object body.
 */
int hc_request(struct hc *c, const char *endpoint, const json_t *body,
    struct hc_answer *a);
void hc_answer_clear(struct hc_answer *a);

/* The same with a ready body: len bytes of JSON text (gzipped here when
 * over 1 KiB), or a body already gzipped by hc_gzip() (so that it can be
 * made while another request is in flight). */
int hc_request_text(struct hc *c, const char *endpoint, const char *body,
    size_t len, struct hc_answer *a);
int hc_request_gz(struct hc *c, const char *endpoint, const void *gz,
    size_t len, struct hc_answer *a);
/* gzip (RFC 1952, fastest level) of len bytes into *out (caller frees).
 * VG_ERR_NOMEM, VG_ERR_TOOBIG. */
int hc_gzip(const char *in, size_t len, unsigned char **out,
    size_t *outlen);

/*
 * Back-off while the hub is unreachable: the delay before attempt n
 * (n >= 1) is min(cap, base * 2^(n-1)) with full jitter in [d/2, d],
 * and never less than a Retry-After the hub gave. Seconds.
 */
double hc_backoff(unsigned attempt, double base, double cap,
    long retry_after);

/*
 * Certificate pinning on a libcurl handle, for every client of the hub
 * (the agent; vigil ports --api). An OpenSSL verify callback runs inside
 * the handshake, at the leaf certificate: it notes the leaf's SHA-256
 * fingerprint and, with a thumbprint, accepts the handshake only when the
 * leaf's SHA-256 (or SHA-1, for a 20-byte thumbprint) is that one; the CA
 * chain and the host name are then not checked, as the pin replaces
 * them. Without a thumbprint, curl's own verification decides.
 */
struct hc_pin {
	unsigned char thumbprint[32];
	size_t thumbprint_len;   /* 0: not pinned, 20 SHA-1, 32 SHA-256 */
	/* Set by the handshakes since hc_pin_reset(): */
	int failed;              /* the certificate is not the pinned one */
	int have_fp;
	char seen_fp[96];        /* the leaf's SHA-256, "AB:CD:..." */
};

/* Initialises libcurl and the callback's OpenSSL index, once for the
 * process; thread-safe. 0 or VG_ERR_INTERNAL. */
int hc_global_init(void);

/* Installs pin's callback on curl (CURLOPT_SSL_CTX_FUNCTION), turns TLS
 * session reuse off (a resumed session skips the callback) and, with a
 * thumbprint, curl's CA and host name checks. pin must outlive curl's
 * transfers. CURLE_OK or curl's error. */
CURLcode hc_pin_use(CURL *curl, struct hc_pin *pin);

/* Clears what the last handshake set, before a new request. */
void hc_pin_reset(struct hc_pin *pin);

#endif
