/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_util.h"

#define PEM_FILE_MAX (1024 * 1024)   /* a certificate chain or a key */
#define SAN_MAX 128                  /* names in a generated certificate */
#define CERT_DAYS 3652               /* ten years */

/* One subjectAltName entry of a certificate being made. */
struct san {
	int type;                    /* GEN_DNS or GEN_IPADD */
	unsigned char data[256];     /* name, or 4/16 address bytes */
	size_t len;
};

struct san_list {
	struct san e[SAN_MAX];
	size_t n;
};

/* Frees a private key in PEM (NULL-safe), overwritten first. */
static void
free_key_pem(char *pem)
{
	if (pem != NULL) {
		explicit_bzero(pem, strlen(pem));
		free(pem);
	}
}

/* Appends OpenSSL's first queued error to msg, then clears the queue. */
static void
ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
	} else {
		snprintf(err, errlen, "%s", what);
	}
	ERR_clear_error();
}

static void
san_add(struct san_list *l, int type, const void *data, size_t len)
{
	size_t i;

	if (len == 0 || len > sizeof(l->e[0].data) || l->n >= SAN_MAX)
		return;
	for (i = 0; i < l->n; i++)
		if (l->e[i].type == type && l->e[i].len == len &&
		    (type == GEN_DNS ?
		    strncasecmp((const char *)l->e[i].data, data, len) :
		    memcmp(l->e[i].data, data, len)) == 0)
			return;
	l->e[l->n].type = type;
	memcpy(l->e[l->n].data, data, len);
	l->e[l->n].len = len;
	l->n++;
}

/* Host names only: a certificate name must not carry anything else. */
static int
is_dns_name(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
			return 0;
	return n > 0 && n <= 253;
}

/* Adds a host given as text: an IPv4 or IPv6 address, or a DNS name. */
static void
san_add_host(struct san_list *l, const char *host)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, host, addr) == 1)
		san_add(l, GEN_IPADD, addr, 4);
	else if (inet_pton(AF_INET6, host, addr) == 1)
		san_add(l, GEN_IPADD, addr, 16);
	else if (is_dns_name(host))
		san_add(l, GEN_DNS, host, strlen(host));
}

/* The host of "https://HOST[:PORT]/..." or "https://[V6]:PORT/...". */
static void
san_add_url(struct san_list *l, const char *url)
{
	char host[256];
	const char *p, *end;
	size_t len;

	if (url == NULL || strncmp(url, "https://", 8) != 0)
		return;
	p = url + 8;
	if (*p == '[') {
		p++;
		end = strchr(p, ']');
	} else {
		end = p + strcspn(p, ":/?#");
	}
	if (end == NULL || (len = (size_t)(end - p)) == 0 ||
	    len >= sizeof(host))
		return;
	memcpy(host, p, len);
	host[len] = '\0';
	san_add_host(l, host);
}

/*
 * The names agents and browsers may reach this hub by: the host name and
 * its fully qualified form, localhost, the loopback addresses, every
 * address of the machine, and the configured listen address and URL.
 * cn receives the host name (or "vigil-hub" when it is unusable).
 */
static void
collect_names(const struct hub_conf *conf, struct san_list *l, char *cn,
    size_t cnlen)
{
	static const unsigned char lo4[4] = { 127, 0, 0, 1 };
	static const unsigned char lo6[16] = { [15] = 1 };
	struct addrinfo hints, *res = NULL;
	struct ifaddrs *ifa = NULL, *i;
	char host[256];

	snprintf(cn, cnlen, "vigil-hub");
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		if (is_dns_name(host)) {
			/* X.509 caps the common name at 64 characters. */
			if (strlen(host) <= 64 && strlen(host) < cnlen)
				memcpy(cn, host, strlen(host) + 1);
			san_add(l, GEN_DNS, host, strlen(host));
			memset(&hints, 0, sizeof(hints));
			hints.ai_flags = AI_CANONNAME;
			hints.ai_socktype = SOCK_STREAM;
			if (getaddrinfo(host, NULL, &hints, &res) == 0 &&
			    res->ai_canonname != NULL &&
			    is_dns_name(res->ai_canonname))
				san_add(l, GEN_DNS, res->ai_canonname,
				    strlen(res->ai_canonname));
			if (res != NULL)
				freeaddrinfo(res);
		}
	}
	san_add(l, GEN_DNS, "localhost", 9);
	san_add(l, GEN_IPADD, lo4, 4);
	san_add(l, GEN_IPADD, lo6, 16);
	if (getifaddrs(&ifa) == 0) {
		for (i = ifa; i != NULL; i = i->ifa_next) {
			if (i->ifa_addr == NULL)
				continue;
			if (i->ifa_addr->sa_family == AF_INET) {
				const struct sockaddr_in *sin =
				    (const void *)i->ifa_addr;
				const unsigned char *a =
				    (const void *)&sin->sin_addr;

				if (a[0] != 127)
					san_add(l, GEN_IPADD, a, 4);
			} else if (i->ifa_addr->sa_family == AF_INET6) {
				const struct sockaddr_in6 *sin6 =
				    (const void *)i->ifa_addr;

				if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
					san_add(l, GEN_IPADD,
					    &sin6->sin6_addr, 16);
			}
		}
		freeifaddrs(ifa);
	}
	if (conf->listen_host != NULL &&
	    strcmp(conf->listen_host, "0.0.0.0") != 0 &&
	    strcmp(conf->listen_host, "::") != 0)
		san_add_host(l, conf->listen_host);
	san_add_url(l, conf->public_url);
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static int
add_san(X509 *x, const struct san_list *l)
{
	GENERAL_NAMES *names;
	GENERAL_NAME *g = NULL;
	ASN1_STRING *s = NULL;
	size_t i;
	int ok = 0;

	if ((names = sk_GENERAL_NAME_new_null()) == NULL)
		return 0;
	for (i = 0; i < l->n; i++) {
		s = l->e[i].type == GEN_DNS ? ASN1_IA5STRING_new() :
		    ASN1_OCTET_STRING_new();
		if (s == NULL || (g = GENERAL_NAME_new()) == NULL ||
		    !ASN1_STRING_set(s, l->e[i].data, (int)l->e[i].len))
			goto out;
		GENERAL_NAME_set0_value(g, l->e[i].type, s);
		s = NULL;
		if (!sk_GENERAL_NAME_push(names, g))
			goto out;
		g = NULL;
	}
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0,
	    X509V3_ADD_DEFAULT) == 1;
out:
	ASN1_STRING_free(s);
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(names);
	return ok;
}

/* A positive random 128-bit serial number (RFC 5280 allows 20 octets). */
static int
set_serial(X509 *x)
{
	unsigned char rnd[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return 0;
	rnd[0] &= 0x7f;
	rnd[0] |= 0x40;     /* never zero, always 16 octets */
	if ((bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL)
		return 0;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

/* Text of a memory BIO as a new NUL-terminated string. */
static char *
bio_strdup(BIO *b)
{
	char *data, *s;
	long len = BIO_get_mem_data(b, &data);

	if (len < 0 || (s = malloc((size_t)len + 1)) == NULL)
		return NULL;
	memcpy(s, data, (size_t)len);
	s[len] = '\0';
	return s;
}

/* Makes a key and a self-signed certificate and writes both files. */
static int
generate(const struct hub_conf *conf, const char *crt_path,
    const char *key_path, char *err, size_t errlen)
{
	struct san_list *names = NULL;
	char cn[128], *crt_pem = NULL, *key_pem = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	X509_NAME *subject;
	BIO *kb = NULL, *cb = NULL;
	int r = VG_ERR_CRYPTO;

	if ((names = calloc(1, sizeof(*names))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	collect_names(conf, names, cn, sizeof(cn));
	if ((key = EVP_EC_gen("P-256")) == NULL) {
		ssl_err(err, errlen, "cannot generate an ECDSA P-256 key");
		goto out;
	}
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !set_serial(x) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL) ==
	    NULL ||
	    (subject = X509_get_subject_name(x)) == NULL ||
	    !X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8,
	    (const unsigned char *)"vigil hub", -1, -1, 0) ||
	    !X509_set_issuer_name(x, subject) || !X509_set_pubkey(x, key) ||
	    !add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(x, NID_ext_key_usage, "serverAuth") ||
	    !add_ext(x, NID_subject_key_identifier, "hash") ||
	    !add_san(x, names) || X509_sign(x, key, EVP_sha256()) <= 0) {
		ssl_err(err, errlen, "cannot make the TLS certificate");
		goto out;
	}
	/* The secure-heap BIO wipes the key text when freed. */
	if ((kb = BIO_new(BIO_s_secmem())) == NULL ||
	    (cb = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509(cb, x) ||
	    (key_pem = bio_strdup(kb)) == NULL ||
	    (crt_pem = bio_strdup(cb)) == NULL) {
		ssl_err(err, errlen, "cannot encode the TLS certificate");
		goto out;
	}
	/* The key first: a certificate never exists without its key. The
	 * atomic write means a reader never sees half a key. */
	if ((r = vg_write_file_atomic(key_path, key_pem, strlen(key_pem),
	    0600, err, errlen)) != 0 ||
	    (r = vg_write_file_atomic(crt_path, crt_pem, strlen(crt_pem),
	    0644, err, errlen)) != 0)
		goto out;
	hub_log(HUB_LOG_INFO, "generated a self-signed TLS certificate for "
	    "%s with %zu names: %s", cn, names->n, crt_path);
	r = 0;
out:
	free_key_pem(key_pem);
	free(crt_pem);
	BIO_free(kb);
	BIO_free(cb);
	X509_free(x);
	EVP_PKEY_free(key);
	free(names);
	return r;
}

/* Refuses to prompt for a passphrase: the daemon has no terminal. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/*
 * Parses the certificate (chain) and key files, checks them and fills h.
 * The key is handed to the TLS layer re-encoded as unencrypted PKCS#8,
 * which GnuTLS reads whatever form the file had.
 */
static int
load(struct hub *h, const char *crt_path, const char *key_path, char *err,
    size_t errlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *crt_pem = NULL, *key_file = NULL, *key_pem = NULL;
	size_t crt_len = 0, key_len = 0;
	struct stat st;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	BIO *b = NULL, *kb = NULL;
	int r, type;

	if ((r = vg_read_file(crt_path, PEM_FILE_MAX, &crt_pem, &crt_len, err,
	    errlen)) != 0 || (r = vg_read_file(key_path, PEM_FILE_MAX,
	    &key_file, &key_len, err, errlen)) != 0)
		goto out;
	r = VG_ERR_FORMAT;
	if ((b = BIO_new_mem_buf(crt_pem, (int)crt_len)) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: not a PEM certificate", crt_path);
		goto out;
	}
	BIO_free(b);
	if ((b = BIO_new_mem_buf(key_file, (int)key_len)) == NULL ||
	    (key = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL)) ==
	    NULL) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: not a PEM private key, or one "
		    "encrypted with a passphrase (not supported)", key_path);
		goto out;
	}
	type = EVP_PKEY_get_base_id(key);
	if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC &&
	    type != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "%s: key type %s not supported (use "
		    "ECDSA, RSA or Ed25519)", key_path,
		    OBJ_nid2sn(type));
		goto out;
	}
	if (X509_check_private_key(x, key) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s does not match the certificate %s",
		    key_path, crt_path);
		r = VG_ERR_INVAL;
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		hub_log(HUB_LOG_WARN, "the TLS certificate %s has expired",
		    crt_path);
	if (stat(key_path, &st) == 0 && (st.st_mode & 077) != 0)
		hub_log(HUB_LOG_WARN, "the TLS key %s can be read by other "
		    "users (mode %04o); chmod 600 it", key_path,
		    (unsigned int)(st.st_mode & 07777));
	if ((kb = BIO_new(BIO_s_secmem())) == NULL ||
	    !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) ||
	    (key_pem = bio_strdup(kb)) == NULL) {
		ssl_err(err, errlen, "cannot encode the TLS key");
		r = VG_ERR_CRYPTO;
		goto out;
	}
	if (!X509_digest(x, EVP_sha256(), md, &mdlen) || mdlen != 32) {
		ssl_err(err, errlen, "cannot hash the TLS certificate");
		r = VG_ERR_CRYPTO;
		goto out;
	}
	vg_hex_format(md, mdlen, ':', 1, h->fingerprint,
	    sizeof(h->fingerprint));
	vg_hex_format(md, mdlen, '\0', 1, h->thumbprint, sizeof(h->thumbprint));
	hub_tls_free(h);
	h->cert_pem = crt_pem;
	h->key_pem = key_pem;
	crt_pem = key_pem = NULL;
	r = 0;
out:
	if (key_file != NULL) {
		explicit_bzero(key_file, key_len);
		free(key_file);
	}
	free_key_pem(key_pem);
	free(crt_pem);
	BIO_free(b);
	BIO_free(kb);
	EVP_PKEY_free(key);
	X509_free(x);
	return r;
}

int
hub_tls_load_or_create(struct hub *h, char *err, size_t errlen)
{
	const struct hub_conf *c = &h->conf;
	char crt[PATH_MAX], key[PATH_MAX];
	int have_crt, have_key, r;

	if (c->tls_cert != NULL && c->tls_key != NULL)
		return load(h, c->tls_cert, c->tls_key, err, errlen);
	if ((size_t)snprintf(crt, sizeof(crt), "%s/hub.crt", c->data_dir) >=
	    sizeof(crt) ||
	    (size_t)snprintf(key, sizeof(key), "%s/hub.key", c->data_dir) >=
	    sizeof(key)) {
		snprintf(err, errlen, "%s: path too long", c->data_dir);
		return VG_ERR_INVAL;
	}
	have_crt = access(crt, F_OK) == 0;
	have_key = access(key, F_OK) == 0;
	if (have_crt && !have_key) {
		/* Agents pin this certificate: a new one would lock them
		 * out, so making it is left to a person. */
		snprintf(err, errlen, "%s exists but its key %s is missing; "
		    "restore the key, or delete %s to make a new certificate "
		    "(agents will then need the new thumbprint)", crt, key,
		    crt);
		return VG_ERR_NOTFOUND;
	}
	/* A key alone is what an interrupted generation leaves. */
	if (!have_crt && (r = generate(c, crt, key, err, errlen)) != 0)
		return r;
	return load(h, crt, key, err, errlen);
}

void
hub_tls_free(struct hub *h)
{
	free_key_pem(h->key_pem);
	free(h->cert_pem);
	h->key_pem = h->cert_pem = NULL;
}
