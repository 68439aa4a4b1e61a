/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The hub API over libcurl (see client.h). Certificate pinning is an
 * OpenSSL verify callback installed through CURLOPT_SSL_CTX_FUNCTION:
 * curl's own checks are off then (the hub's certificate is self-signed),
 * but the callback runs inside the handshake, so a hub with another
 * certificate fails it before the request, and its credentials, leave.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <zlib.h>

#include "client.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_util.h"

#define HC_MAX_ANSWER (16L * 1024 * 1024)
#define HC_GZIP_OVER 1024
#define HC_MAX_URL 4096

struct hc {
	CURL *curl;
	const struct hubdetails *hd;
	char *credential;
	char errbuf[CURL_ERROR_SIZE];
	struct hc_pin pin;         /* HubDetails' Thumbprint; what was seen */
	/* The answer being received. */
	char *buf;
	size_t len, cap;
	int too_big;
	long retry_after;
};

static pthread_once_t hc_once = PTHREAD_ONCE_INIT;
static int hc_ex_index = -1;
static int hc_global_ok;

static void
hc_global_once(void)
{
	hc_global_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	hc_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

int
hc_global_init(void)
{
	pthread_once(&hc_once, hc_global_once);
	return hc_global_ok && hc_ex_index >= 0 ? 0 : VG_ERR_INTERNAL;
}

/*
 * Runs for each certificate of the chain. At the leaf (depth 0): records
 * its SHA-256 fingerprint and, when pinned, accepts the handshake only if
 * the pinned digest matches. Above the leaf nothing is checked when
 * pinned: a pin replaces the CA chain.
 */
static int
hc_verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
	unsigned char md[EVP_MAX_MD_SIZE], pin[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, pinlen = 0;
	struct hc_pin *p;
	X509 *cert;
	SSL *ssl;

	ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl == NULL ||
	    (p = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), hc_ex_index)) ==
	    NULL)
		return 0;
	if (X509_STORE_CTX_get_error_depth(xs) != 0)
		return p->thumbprint_len > 0 ? 1 : preverify_ok;
	cert = X509_STORE_CTX_get_current_cert(xs);
	if (cert == NULL || !X509_digest(cert, EVP_sha256(), md, &mdlen)) {
		p->failed = p->thumbprint_len > 0;
		return 0;
	}
	vg_hex_format(md, mdlen, ':', 1, p->seen_fp, sizeof(p->seen_fp));
	p->have_fp = 1;
	if (p->thumbprint_len == 0)
		return preverify_ok;
	if (p->thumbprint_len == 20) {
		if (!X509_digest(cert, EVP_sha1(), pin, &pinlen)) {
			p->failed = 1;
			return 0;
		}
	} else {
		memcpy(pin, md, mdlen);
		pinlen = mdlen;
	}
	if (pinlen != p->thumbprint_len ||
	    CRYPTO_memcmp(pin, p->thumbprint, pinlen) != 0) {
		p->failed = 1;
		return 0;
	}
	return 1;
}

static CURLcode
hc_ssl_ctx_cb(CURL *curl, void *sslctx, void *ud)
{
	struct hc_pin *p = ud;
	SSL_CTX *ctx = sslctx;

	(void)curl;
	if (!SSL_CTX_set_ex_data(ctx, hc_ex_index, p))
		return CURLE_OUT_OF_MEMORY;
	/* Pinned: the callback's verdict decides the handshake. Not pinned:
	 * SSL_VERIFY_NONE as curl sets it (curl checks the result itself
	 * afterwards); the callback only notes the fingerprint. */
	SSL_CTX_set_verify(ctx, p->thumbprint_len > 0 ? SSL_VERIFY_PEER :
	    SSL_VERIFY_NONE, hc_verify_cb);
	return CURLE_OK;
}

CURLcode
hc_pin_use(CURL *curl, struct hc_pin *pin)
{
	CURLcode cr = CURLE_OK;

	if (hc_global_init() != 0)
		return CURLE_FAILED_INIT;
#define SET(opt, val) do { if (cr == CURLE_OK) \
	cr = curl_easy_setopt(curl, opt, val); } while (0)
	SET(CURLOPT_SSL_CTX_FUNCTION, hc_ssl_ctx_cb);
	SET(CURLOPT_SSL_CTX_DATA, pin);
	/* A resumed session skips the verify callback: every connection
	 * shows its certificate. */
	SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
	if (pin->thumbprint_len > 0) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
#undef SET
	return cr;
}

void
hc_pin_reset(struct hc_pin *pin)
{
	pin->failed = 0;
	pin->have_fp = 0;
	pin->seen_fp[0] = '\0';
}

static size_t
hc_write_cb(char *data, size_t size, size_t n, void *ud)
{
	struct hc *c = ud;
	int r;

	/* An answer may hold the credential: vg_buf_append wipes what it
	 * leaves behind as it grows. */
	if ((r = vg_buf_append(&c->buf, &c->len, &c->cap, data, size * n,
	    HC_MAX_ANSWER)) != 0) {
		c->too_big = r == VG_ERR_TOOBIG;
		return 0;
	}
	return size * n;
}

/* Retry-After in seconds (the hub never sends the date form). */
static size_t
hc_header_cb(char *data, size_t size, size_t n, void *ud)
{
	struct hc *c = ud;
	size_t len = size * n, i = 12;
	long v = 0;

	if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		while (i < len && (data[i] == ' ' || data[i] == '\t'))
			i++;
		if (i < len && data[i] >= '0' && data[i] <= '9') {
			for (; i < len && data[i] >= '0' && data[i] <= '9'; i++)
				if (v < 86400)
					v = v * 10 + (data[i] - '0');
			c->retry_after = v > 86400 ? 86400 : v;
		}
	}
	return len;
}

/*
 * Opens curl's sockets close-on-exec: libcurl before 8.17 does not, and
 * a command the agent runs must not inherit the hub connection. Set
 * atomically, as another thread may fork at any time.
 */
static curl_socket_t
hc_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
	(void)ud;
	(void)purpose;
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC,
	    addr->protocol);
}

int
hc_new(const struct hc_opts *o, struct hc **out, char *err, size_t errlen)
{
	const struct hubdetails *hd = o->hd;
	struct hc *c;
	CURL *h;
	CURLcode cr = CURLE_OK;

	*out = NULL;
	if (hc_global_init() != 0) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return VG_ERR_INTERNAL;
	}
	if (hd == NULL || hd->url == NULL) {
		snprintf(err, errlen, "no hub URL");
		return VG_ERR_INVAL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->curl = curl_easy_init()) == NULL) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	c->hd = hd;
	memcpy(c->pin.thumbprint, hd->thumbprint, hd->thumbprint_len);
	c->pin.thumbprint_len = hd->thumbprint_len;
	h = c->curl;
#define SET(opt, val) do { if (cr == CURLE_OK) \
	cr = curl_easy_setopt(h, opt, val); } while (0)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_OPENSOCKETFUNCTION, hc_open_socket);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SET(CURLOPT_USERAGENT, "vigil-agent/" VIGIL_VERSION);
	SET(CURLOPT_CONNECTTIMEOUT, o->connect_timeout > 0 ?
	    o->connect_timeout : 10L);
	SET(CURLOPT_TIMEOUT, o->timeout > 0 ? o->timeout : 60L);
	/* A stalled connection is given up well before the timeout. */
	SET(CURLOPT_LOW_SPEED_LIMIT, 16L);
	SET(CURLOPT_LOW_SPEED_TIME, 30L);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_TCP_KEEPIDLE, 60L);
	SET(CURLOPT_TCP_KEEPINTVL, 30L);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_WRITEFUNCTION, hc_write_cb);
	SET(CURLOPT_WRITEDATA, c);
	SET(CURLOPT_HEADERFUNCTION, hc_header_cb);
	SET(CURLOPT_HEADERDATA, c);
	if (cr == CURLE_OK)
		cr = hc_pin_use(h, &c->pin);
	if (hd->thumbprint_len == 0 && o->ca_file != NULL)
		SET(CURLOPT_CAINFO, o->ca_file);
	if (hd->proxy != NULL) {
		SET(CURLOPT_PROXY, hd->proxy);
		if (hd->proxy_username != NULL)
			SET(CURLOPT_PROXYUSERNAME, hd->proxy_username);
		if (hd->proxy_password != NULL)
			SET(CURLOPT_PROXYPASSWORD, hd->proxy_password);
		/* The Proxy named is used for the hub whatever no_proxy in
		 * the environment says, unless UseDefaultProxy asks for the
		 * environment's settings. */
		if (!hd->use_default_proxy)
			SET(CURLOPT_NOPROXY, "");
	} else if (!hd->use_default_proxy) {
		/* Not even https_proxy and friends from the environment. */
		SET(CURLOPT_PROXY, "");
		SET(CURLOPT_NOPROXY, "*");
	}
#undef SET
	if (cr != CURLE_OK) {
		snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(cr));
		hc_free(c);
		return cr == CURLE_OUT_OF_MEMORY ? VG_ERR_NOMEM : VG_ERR_INTERNAL;
	}
	*out = c;
	return 0;
}

static void
zero_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
hc_free(struct hc *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	zero_free(c->credential);
	free(c->buf);
	free(c);
}

int
hc_set_credential(struct hc *c, const char *credential)
{
	char *copy = NULL;

	if (credential != NULL && (copy = strdup(credential)) == NULL)
		return VG_ERR_NOMEM;
	zero_free(c->credential);
	c->credential = copy;
	return 0;
}

void
hc_answer_clear(struct hc_answer *a)
{
	if (a == NULL)
		return;
	json_decref(a->body);
	memset(a, 0, sizeof(*a));
	a->retry_after = -1;
}

/* gzip (RFC 1952) of len bytes at in into *out (caller frees), at the
 * fastest level: on a fast link the time to compress is the cost, and
 * level 1 takes a third of the default's for a batch a few % larger. */
int
hc_gzip(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	z_stream zs;
	unsigned char *buf;
	uLong bound;

	*out = NULL;
	memset(&zs, 0, sizeof(zs));
	if (len > UINT32_MAX)
		return VG_ERR_TOOBIG;
	if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return VG_ERR_NOMEM;
	bound = deflateBound(&zs, (uLong)len);
	if ((buf = malloc(bound)) == NULL) {
		deflateEnd(&zs);
		return VG_ERR_NOMEM;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = buf;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&zs);
		free(buf);
		return VG_ERR_INTERNAL;
	}
	*outlen = zs.total_out;
	deflateEnd(&zs);
	*out = buf;
	return 0;
}

/* Zeroes the header lines (one holds the credential) and frees them. */
static void
hc_headers_free(struct curl_slist *l)
{
	struct curl_slist *p;

	for (p = l; p != NULL; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static int
hc_add_header(struct curl_slist **l, const char *line)
{
	struct curl_slist *n;

	if ((n = curl_slist_append(*l, line)) == NULL)
		return VG_ERR_NOMEM;
	*l = n;
	return 0;
}

static const char *
status_text(long status)
{
	switch (status) {
	case 400: return "bad request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not found";
	case 405: return "method not allowed";
	case 409: return "conflict";
	case 410: return "gone";
	case 413: return "request too large";
	case 415: return "unsupported media type";
	case 429: return "too many requests";
	case 500: return "internal server error";
	case 502: return "bad gateway";
	case 503: return "service unavailable";
	case 504: return "gateway timeout";
	default: return "error";
	}
}

/* The proxy in use, for messages: Proxy without any user name and
 * password written into it, or the environment's. */
static void
hc_proxy_name(const struct hubdetails *hd, char *out, size_t outlen)
{
	const char *p = hd->proxy, *host, *at = NULL, *q;

	if (p == NULL) {
		snprintf(out, outlen, "from the environment (https_proxy)");
		return;
	}
	host = strstr(p, "://");
	host = host != NULL ? host + 3 : p;
	/* The user information ends at the last '@' of the authority. */
	for (q = host; *q != '\0' && strchr("/?#", *q) == NULL; q++)
		if (*q == '@')
			at = q;
	if (at == NULL)
		snprintf(out, outlen, "%s", p);
	else
		snprintf(out, outlen, "%.*s%s", (int)(host - p), p, at + 1);
}

/*
 * The proxy answered the CONNECT with an error: the hub was never
 * reached. Retried like an unreachable hub (a == 0 status: a proxy's
 * 401 must not be taken for the hub refusing our credential).
 */
static int
hc_proxy_refused(struct hc *c, long code, struct hc_answer *a)
{
	const struct hubdetails *hd = c->hd;
	char proxy[256];
	const char *why;

	hc_proxy_name(hd, proxy, sizeof(proxy));
	if (code == 407 || code == 401) {
		/* 401 is what some proxies (tinyproxy) answer to a wrong
		 * password. */
		why = hd->proxy != NULL && hd->proxy_username != NULL ?
		    "proxy authentication failed: check ProxyUsername and "
		    "ProxyPassword in HubDetails.xml" :
		    hd->proxy != NULL ? "proxy authentication required: set "
		    "ProxyUsername and ProxyPassword in HubDetails.xml" :
		    "proxy authentication required";
	} else if (code == 403) {
		why = "the proxy does not allow a tunnel to the hub's host "
		    "and port";
	} else {
		why = status_text(code);
	}
	snprintf(a->message, sizeof(a->message), "proxy %s refused the "
	    "connection to hub %s: HTTP %ld (%s)", proxy, hd->url, code, why);
	return HC_UNREACHABLE;
}

static int
hc_classify_curl(struct hc *c, CURLcode cr, struct hc_answer *a)
{
	const struct hubdetails *hd = c->hd;
	const char *detail = c->errbuf[0] != '\0' ? c->errbuf :
	    curl_easy_strerror(cr);
	char pinned[96];
	long connect_code = 0;

	if (c->pin.failed) {
		vg_hex_format(hd->thumbprint, hd->thumbprint_len, ':', 1, pinned,
		    sizeof(pinned));
		snprintf(a->message, sizeof(a->message), "certificate "
		    "fingerprint mismatch: the hub at %s presents SHA-256 %s, "
		    "HubDetails.xml pins %s%s", hd->url,
		    c->pin.have_fp ? c->pin.seen_fp : "(unknown)",
		    hd->thumbprint_len == 20 ? "SHA-1 " : "", pinned);
		return HC_PIN_MISMATCH;
	}
	if (curl_easy_getinfo(c->curl, CURLINFO_HTTP_CONNECTCODE,
	    &connect_code) == CURLE_OK && connect_code >= 300)
		return hc_proxy_refused(c, connect_code, a);
	switch (cr) {
	case CURLE_OUT_OF_MEMORY:
		snprintf(a->message, sizeof(a->message), "out of memory");
		return HC_NOMEM;
	case CURLE_WRITE_ERROR:
		if (c->too_big) {
			snprintf(a->message, sizeof(a->message), "hub %s: "
			    "answer larger than %ld bytes", hd->url,
			    HC_MAX_ANSWER);
			return HC_PROTOCOL;
		}
		snprintf(a->message, sizeof(a->message), "out of memory");
		return HC_NOMEM;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_USE_SSL_FAILED:
		if (c->pin.have_fp && hd->thumbprint_len == 0)
			snprintf(a->message, sizeof(a->message), "TLS with "
			    "hub %s failed: %s (it presents SHA-256 %s; a "
			    "Thumbprint in HubDetails.xml pins it)", hd->url,
			    detail, c->pin.seen_fp);
		else
			snprintf(a->message, sizeof(a->message), "TLS with "
			    "hub %s failed: %s", hd->url, detail);
		return HC_TLS;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_TOO_MANY_REDIRECTS:
		snprintf(a->message, sizeof(a->message), "hub %s: %s", hd->url,
		    detail);
		return HC_PROTOCOL;
	default:
		/* Resolve, connect, proxy, timeout, reset: worth a retry. */
		snprintf(a->message, sizeof(a->message), "hub %s unreachable: "
		    "%s", hd->url, detail);
		return HC_UNREACHABLE;
	}
}

static int
hc_classify_answer(struct hc *c, const char *endpoint, struct hc_answer *a)
{
	const char *hub_msg = NULL, *code = NULL;
	json_error_t je;

	if (c->len > 0)
		a->body = json_loadb(c->buf, c->len, JSON_REJECT_DUPLICATES,
		    &je);
	if (a->status >= 200 && a->status < 300) {
		if (json_is_object(a->body))
			return HC_OK;
		snprintf(a->message, sizeof(a->message), "hub %s: the answer "
		    "to %s is not a JSON object (HTTP %ld%s%s)", c->hd->url,
		    endpoint, a->status, a->body == NULL && c->len > 0 ?
		    ", " : "", a->body == NULL && c->len > 0 ? je.text : "");
		return HC_PROTOCOL;
	}
	if (json_is_object(a->body)) {
		hub_msg = json_string_value(json_object_get(a->body,
		    "message"));
		code = json_string_value(json_object_get(a->body, "error"));
	}
	snprintf(a->message, sizeof(a->message), "HTTP %ld %s: %s%s%s%s",
	    a->status, status_text(a->status), hub_msg != NULL ? hub_msg :
	    "no message from the hub", code != NULL ? " (" : "",
	    code != NULL ? code : "", code != NULL ? ")" : "");
	return HC_HTTP;
}

/*
 * The request: a body of textlen bytes at text (NULL: none), or
 * already gzipped (gz), else gzipped here when over HC_GZIP_OVER.
 */
static int
hc_post(struct hc *c, const char *endpoint, const char *text,
    size_t textlen, const unsigned char *given_gz, size_t gzlen,
    struct hc_answer *a)
{
	const struct hubdetails *hd = c->hd;
	struct curl_slist *hdrs = NULL;
	unsigned char *gz = NULL;
	const unsigned char *send_gz = given_gz;
	char url[HC_MAX_URL], *auth = NULL;
	size_t authlen = 0;
	int basic = 0, get, r = HC_NOMEM;
	CURLcode cr = CURLE_OK;
	CURL *h = c->curl;

	memset(a, 0, sizeof(*a));
	a->retry_after = -1;
	c->errbuf[0] = '\0';
	hc_pin_reset(&c->pin);
	c->len = 0;
	c->too_big = 0;
	c->retry_after = -1;

	if ((size_t)snprintf(url, sizeof(url), "%sv1/%s", hd->url,
	    endpoint) >= sizeof(url)) {
		snprintf(a->message, sizeof(a->message), "hub URL too long");
		return HC_PROTOCOL;
	}
	get = text == NULL && given_gz == NULL &&
	    strcmp(endpoint, "health") == 0;
	if (hc_add_header(&hdrs, "Expect:") != 0 ||
	    hc_add_header(&hdrs, "Accept: application/json") != 0)
		goto nomem;
	if (!get && hc_add_header(&hdrs, "Content-Type: application/json") !=
	    0)
		goto nomem;
	if (send_gz == NULL && textlen > HC_GZIP_OVER) {
		if (hc_gzip(text, textlen, &gz, &gzlen) != 0)
			goto nomem;
		send_gz = gz;
	}
	if (send_gz != NULL &&
	    hc_add_header(&hdrs, "Content-Encoding: gzip") != 0)
		goto nomem;
	if (strcmp(endpoint, "agent/register") == 0) {
		basic = 1;
	} else if (c->credential != NULL && strcmp(endpoint, "health") != 0) {
		authlen = strlen(c->credential) + 32;
		if ((auth = malloc(authlen)) == NULL)
			goto nomem;
		snprintf(auth, authlen, "Authorization: Bearer %s",
		    c->credential);
		if (hc_add_header(&hdrs, auth) != 0)
			goto nomem;
	}

	cr = curl_easy_setopt(h, CURLOPT_URL, url);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (cr == CURLE_OK && basic) {
		cr = curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		if (cr == CURLE_OK)
			cr = curl_easy_setopt(h, CURLOPT_USERNAME,
			    hd->username != NULL ? hd->username : "");
		if (cr == CURLE_OK)
			cr = curl_easy_setopt(h, CURLOPT_PASSWORD,
			    hd->password != NULL ? hd->password : "");
	}
	if (cr == CURLE_OK && get) {
		cr = curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else if (cr == CURLE_OK) {
		cr = curl_easy_setopt(h, CURLOPT_POST, 1L);
		if (cr == CURLE_OK)
			cr = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)(send_gz != NULL ? gzlen : textlen));
		if (cr == CURLE_OK)
			cr = curl_easy_setopt(h, CURLOPT_POSTFIELDS,
			    send_gz != NULL ? (const char *)send_gz :
			    text != NULL ? text : "");
	}
	if (cr == CURLE_OK)
		cr = curl_easy_perform(h);
	/* The enrolment password is for registration alone. */
	if (basic) {
		curl_easy_setopt(h, CURLOPT_USERNAME, NULL);
		curl_easy_setopt(h, CURLOPT_PASSWORD, NULL);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	a->retry_after = c->retry_after;
	if (c->pin.have_fp)
		snprintf(a->seen_fp, sizeof(a->seen_fp), "%s", c->pin.seen_fp);
	if (cr != CURLE_OK) {
		r = hc_classify_curl(c, cr, a);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
	r = hc_classify_answer(c, endpoint, a);
	goto out;
nomem:
	snprintf(a->message, sizeof(a->message), "out of memory");
	r = HC_NOMEM;
out:
	hc_headers_free(hdrs);
	if (auth != NULL) {
		explicit_bzero(auth, authlen);
		free(auth);
	}
	free(gz);
	if (c->buf != NULL)
		explicit_bzero(c->buf, c->len);
	c->len = 0;
	return r;
}

int
hc_request(struct hc *c, const char *endpoint, const json_t *body,
    struct hc_answer *a)
{
	char *text = NULL;
	int r;

	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		memset(a, 0, sizeof(*a));
		a->retry_after = -1;
		snprintf(a->message, sizeof(a->message), "out of memory");
		return HC_NOMEM;
	}
	r = hc_post(c, endpoint, text, text != NULL ? strlen(text) : 0, NULL,
	    0, a);
	free(text);
	return r;
}

int
hc_request_text(struct hc *c, const char *endpoint, const char *body,
    size_t len, struct hc_answer *a)
{
	return hc_post(c, endpoint, body != NULL ? body : "", len, NULL, 0, a);
}

int
hc_request_gz(struct hc *c, const char *endpoint, const void *gz,
    size_t len, struct hc_answer *a)
{
	return hc_post(c, endpoint, NULL, 0, gz, len, a);
}

/* A uniform double in [0, 1) from the system's random source. */
static double
hc_random_unit(void)
{
	uint64_t v = 0;

	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		v = (uint64_t)random() << 32 ^ (uint64_t)random();
	return (double)(v >> 11) * (1.0 / 9007199254740992.0);
}

double
hc_backoff(unsigned attempt, double base, double cap, long retry_after)
{
	double d = base;
	unsigned i;

	if (attempt < 1)
		attempt = 1;
	for (i = 1; i < attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	d = d / 2 + hc_random_unit() * (d / 2);
	if (retry_after > 0 && d < (double)retry_after)
		d = (double)retry_after;
	return d;
}
