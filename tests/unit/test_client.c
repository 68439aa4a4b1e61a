/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of agent/client against a small TLS server in a thread of
 * this program (a self-signed certificate for 127.0.0.1 made here): the
 * pin accepted and refused (and then not one byte of the request
 * received), CA verification, the authentication of each endpoint, gzip
 * bodies, ready (text and gzipped) bodies, error answers with
 * Retry-After, the socket close-on-exec;
 * hc_backoff.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include "client.h"
#include "hubdetails.h"
#include "vg_hash.h"

/* The server: one connection per request, answering with `answer`. */
struct server {
	int lfd, port;
	SSL_CTX *ctx;
	X509 *cert;
	unsigned char sha256[32], sha1[20];
	char cafile[256];
	pthread_t thread;
	const char *answer;
	int handshake_ok;
	char req[65536];    /* the request received, headers and body */
	size_t reqlen;
	int client_cloexec; /* the client's socket: 1 close-on-exec, 0 not,
	                       -1 not found */
};

static struct server srv;

static X509 *
make_cert(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX v3;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    "IP:127.0.0.1");
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static int
setup_server(void **state)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	unsigned int n;
	EVP_PKEY *key;
	FILE *f;
	int fd;

	(void)state;
	memset(&srv, 0, sizeof(srv));
	key = EVP_EC_gen("P-256");
	if (key == NULL)
		return -1;
	srv.cert = make_cert(key);
	srv.ctx = SSL_CTX_new(TLS_server_method());
	if (srv.ctx == NULL || SSL_CTX_use_certificate(srv.ctx, srv.cert) != 1 ||
	    SSL_CTX_use_PrivateKey(srv.ctx, key) != 1)
		return -1;
	EVP_PKEY_free(key);
	/* No TLS 1.3 tickets: written after the handshake, they would meet
	 * a client that has gone (SIGPIPE, which is left at its default to
	 * show that the client never raises it). */
	SSL_CTX_set_num_tickets(srv.ctx, 0);
	X509_digest(srv.cert, EVP_sha256(), srv.sha256, &n);
	X509_digest(srv.cert, EVP_sha1(), srv.sha1, &n);
	snprintf(srv.cafile, sizeof(srv.cafile), "%s/test_client.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if ((fd = mkstemp(srv.cafile)) < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	PEM_write_X509(f, srv.cert);
	fclose(f);

	srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(srv.lfd, 8) != 0 ||
	    getsockname(srv.lfd, (struct sockaddr *)&sa, &salen) != 0)
		return -1;
	srv.port = ntohs(sa.sin_port);
	return 0;
}

static int
teardown_server(void **state)
{
	(void)state;
	close(srv.lfd);
	unlink(srv.cafile);
	X509_free(srv.cert);
	SSL_CTX_free(srv.ctx);
	return 0;
}

/* Content-Length of the request read so far, -1 before its headers end. */
static long
request_body_left(void)
{
	const char *end = memmem(srv.req, srv.reqlen, "\r\n\r\n", 4), *cl;
	long want = 0;

	if (end == NULL)
		return -1;
	if ((cl = strcasestr(srv.req, "\r\nContent-Length:")) != NULL &&
	    cl < end)
		want = strtol(cl + 17, NULL, 10);
	return want - (long)(srv.reqlen - (size_t)(end + 4 - srv.req));
}

/* The client's end of the connection is a descriptor of this process
 * too: the one bound to the peer's port. Is it close-on-exec? */
static int
client_cloexec(const struct sockaddr_in *peer)
{
	struct sockaddr_in sa;
	socklen_t len;
	int fd, fl;

	for (fd = 0; fd < 1024; fd++) {
		len = sizeof(sa);
		if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0 ||
		    sa.sin_family != AF_INET || sa.sin_port != peer->sin_port)
			continue;
		if ((fl = fcntl(fd, F_GETFD)) == -1)
			return -1;
		return (fl & FD_CLOEXEC) != 0;
	}
	return -1;
}

static void *
serve_one(void *arg)
{
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	SSL *ssl;
	int fd, n;

	(void)arg;
	if ((fd = accept(srv.lfd, (struct sockaddr *)&peer, &plen)) < 0)
		return NULL;
	srv.client_cloexec = client_cloexec(&peer);
	ssl = SSL_new(srv.ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) == 1) {
		srv.handshake_ok = 1;
		while (srv.reqlen < sizeof(srv.req) - 1 &&
		    request_body_left() != 0) {
			n = SSL_read(ssl, srv.req + srv.reqlen,
			    (int)(sizeof(srv.req) - 1 - srv.reqlen));
			if (n <= 0)
				break;
			srv.reqlen += (size_t)n;
			srv.req[srv.reqlen] = '\0';
		}
		/* No answer to a client that left without asking. */
		if (srv.reqlen > 0) {
			SSL_write(ssl, srv.answer, (int)strlen(srv.answer));
			SSL_shutdown(ssl);
		}
	} else {
		/* Whatever came after a failed handshake is not a request. */
		n = (int)recv(fd, srv.req, sizeof(srv.req) - 1, MSG_DONTWAIT);
		srv.reqlen = n > 0 ? (size_t)n : 0;
	}
	SSL_free(ssl);
	close(fd);
	return NULL;
}

#define OK_ANSWER "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" \
	"Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}"

static void
hd_for_server(struct hubdetails *hd, size_t pin)
{
	char url[64];

	memset(hd, 0, sizeof(*hd));
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/", srv.port);
	hd->url = strdup(url);
	hd->username = strdup("agent");
	hd->password = strdup("enrol-pw");
	if (pin == 32)
		memcpy(hd->thumbprint, srv.sha256, 32);
	else if (pin == 20)
		memcpy(hd->thumbprint, srv.sha1, 20);
	hd->thumbprint_len = pin;
}

/* How request() sends its body: as JSON (hc_request), or these bytes
 * through hc_request_text() or, gzipped, hc_request_gz(). */
static enum { VIA_JSON, VIA_TEXT, VIA_GZ } via;
static const void *via_data;
static size_t via_len;

/* One request through a new client; the server thread answers answer. */
static int
request(struct hubdetails *hd, const char *ca, const char *cred,
    const char *endpoint, json_t *body, const char *answer,
    struct hc_answer *a)
{
	struct hc_opts o = { hd, ca, 5, 20 };
	struct hc *c;
	char err[256];
	int r;

	srv.answer = answer;
	srv.handshake_ok = 0;
	srv.client_cloexec = -1;
	srv.reqlen = 0;
	srv.req[0] = '\0';
	assert_int_equal(pthread_create(&srv.thread, NULL, serve_one, NULL),
	    0);
	assert_int_equal(hc_new(&o, &c, err, sizeof(err)), 0);
	if (cred != NULL)
		assert_int_equal(hc_set_credential(c, cred), 0);
	if (via == VIA_TEXT)
		r = hc_request_text(c, endpoint, via_data, via_len, a);
	else if (via == VIA_GZ)
		r = hc_request_gz(c, endpoint, via_data, via_len, a);
	else
		r = hc_request(c, endpoint, body, a);
	hc_free(c);
	pthread_join(srv.thread, NULL);
	return r;
}

static void
test_pin_match(void **state)
{
	struct hubdetails hd;
	struct hc_answer a;
	char fp[96];

	(void)state;
	vg_hex_format(srv.sha256, 32, ':', 1, fp, sizeof(fp));
	hd_for_server(&hd, 32);
	assert_int_equal(request(&hd, NULL, NULL, "health", NULL, OK_ANSWER,
	    &a), HC_OK);
	assert_int_equal(a.status, 200);
	assert_true(json_is_true(json_object_get(a.body, "ok")));
	assert_string_equal(a.seen_fp, fp);
	assert_int_equal(a.retry_after, -1);
	assert_non_null(strstr(srv.req, "GET /api/v1/health HTTP/1.1\r\n"));
	assert_null(strcasestr(srv.req, "Authorization:"));
	/* A command the agent runs does not inherit the connection. */
	assert_int_equal(srv.client_cloexec, 1);
	hc_answer_clear(&a);
	hd_free(&hd);

	hd_for_server(&hd, 20);
	assert_int_equal(request(&hd, NULL, NULL, "health", NULL, OK_ANSWER,
	    &a), HC_OK);
	hc_answer_clear(&a);
	hd_free(&hd);
}

static void
test_pin_mismatch(void **state)
{
	struct hubdetails hd;
	struct hc_answer a;
	char seen[96], want[256];
	json_t *body = json_pack("{s:s}", "hostname", "h");

	(void)state;
	hd_for_server(&hd, 32);
	hd.thumbprint[31] ^= 1;
	assert_int_equal(request(&hd, NULL, NULL, "agent/register", body,
	    OK_ANSWER, &a), HC_PIN_MISMATCH);
	assert_int_equal(srv.handshake_ok, 0);
	/* Not one byte of the request (or the password) reached it. */
	assert_int_equal(srv.reqlen, 0);
	vg_hex_format(srv.sha256, 32, ':', 1, seen, sizeof(seen));
	snprintf(want, sizeof(want), "certificate fingerprint mismatch: the "
	    "hub at %s presents SHA-256 %s, HubDetails.xml pins ", hd.url,
	    seen);
	assert_memory_equal(a.message, want, strlen(want));
	assert_string_equal(a.seen_fp, seen);
	hc_answer_clear(&a);
	hd_free(&hd);

	hd_for_server(&hd, 20);
	hd.thumbprint[0] ^= 0x80;
	assert_int_equal(request(&hd, NULL, NULL, "health", NULL, OK_ANSWER,
	    &a), HC_PIN_MISMATCH);
	assert_non_null(strstr(a.message, "pins SHA-1 "));
	hc_answer_clear(&a);
	hd_free(&hd);
	json_decref(body);
}

static void
test_ca(void **state)
{
	struct hubdetails hd;
	struct hc_answer a;

	(void)state;
	hd_for_server(&hd, 0);
	assert_int_equal(request(&hd, srv.cafile, NULL, "health", NULL,
	    OK_ANSWER, &a), HC_OK);
	hc_answer_clear(&a);
	/* The system CAs do not know it: refused, its fingerprint shown. */
	assert_int_equal(request(&hd, NULL, NULL, "health", NULL, OK_ANSWER,
	    &a), HC_TLS);
	assert_int_equal(srv.reqlen, 0);
	assert_non_null(strstr(a.message, "TLS with hub https://127.0.0.1:"));
	assert_non_null(strstr(a.message, a.seen_fp));
	assert_true(strlen(a.seen_fp) == 95);
	hc_answer_clear(&a);
	hd_free(&hd);
}

static void
test_auth_and_gzip(void **state)
{
	struct hubdetails hd;
	struct hc_answer a;
	json_t *small = json_pack("{s:s}", "hostname", "h"), *big;
	char pad[3000], out[8192], *hdr_end;
	z_stream zs;

	(void)state;
	hd_for_server(&hd, 32);
	/* Registration: HTTP Basic with the enrolment account, even with a
	 * credential set. */
	assert_int_equal(request(&hd, NULL, "va1.1.s", "agent/register", small,
	    OK_ANSWER, &a), HC_OK);
	assert_non_null(strstr(srv.req, "POST /api/v1/agent/register "));
	assert_non_null(strstr(srv.req, "\r\nAuthorization: Basic "
	    "YWdlbnQ6ZW5yb2wtcHc=\r\n"));
	assert_non_null(strstr(srv.req, "\r\nContent-Type: application/json"));
	assert_non_null(strstr(srv.req, "\r\n\r\n{\"hostname\":\"h\"}"));
	assert_null(strcasestr(srv.req, "Content-Encoding"));
	hc_answer_clear(&a);

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	big = json_pack("{s:s}", "pad", pad);
	assert_int_equal(request(&hd, NULL, "va1.1.s", "agent/events", big,
	    OK_ANSWER, &a), HC_OK);
	assert_non_null(strstr(srv.req, "\r\nAuthorization: Bearer va1.1.s\r\n"));
	assert_null(strstr(srv.req, "Basic"));
	assert_non_null(strstr(srv.req, "\r\nContent-Encoding: gzip\r\n"));
	hdr_end = strstr(srv.req, "\r\n\r\n") + 4;
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 16 + 15), Z_OK);
	zs.next_in = (Bytef *)hdr_end;
	zs.avail_in = (uInt)(srv.reqlen - (size_t)(hdr_end - srv.req));
	zs.next_out = (Bytef *)out;
	zs.avail_out = sizeof(out);
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_int_equal(zs.total_out, strlen(pad) + 10);
	inflateEnd(&zs);
	hc_answer_clear(&a);
	hd_free(&hd);
	json_decref(small);
	json_decref(big);
}

/* The body of the last request, inflated when gzipped, into out. */
static size_t
request_body(char *out, size_t cap)
{
	char *body = strstr(srv.req, "\r\n\r\n") + 4;
	size_t len = srv.reqlen - (size_t)(body - srv.req);
	z_stream zs;

	if (strcasestr(srv.req, "\r\nContent-Encoding: gzip\r\n") == NULL) {
		assert_true(len < cap);
		memcpy(out, body, len);
		return len;
	}
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 16 + 15), Z_OK);
	zs.next_in = (Bytef *)body;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	len = zs.total_out;
	inflateEnd(&zs);
	return len;
}

/* Ready bodies: sent as they are (gzipped over 1 KiB), or gzipped ahead
 * by hc_gzip() and sent with the header that says so. */
static void
test_text_bodies(void **state)
{
	static const char small[] = "{\"events\":[]}";
	struct hubdetails hd;
	struct hc_answer a;
	unsigned char *gz;
	char big[4000], out[8192];
	size_t gzlen;

	(void)state;
	hd_for_server(&hd, 32);
	via = VIA_TEXT;
	via_data = small;
	via_len = strlen(small);
	assert_int_equal(request(&hd, NULL, "va1.1.s", "agent/events", NULL,
	    OK_ANSWER, &a), HC_OK);
	assert_non_null(strstr(srv.req, "POST /api/v1/agent/events "));
	assert_non_null(strstr(srv.req, "\r\nAuthorization: Bearer va1.1.s\r\n"));
	assert_non_null(strstr(srv.req, "\r\n\r\n{\"events\":[]}"));
	assert_null(strcasestr(srv.req, "Content-Encoding"));
	hc_answer_clear(&a);

	snprintf(big, sizeof(big), "{\"events\":[{\"pad\":\"%0*d\"}]}",
	    3000, 7);
	via_data = big;
	via_len = strlen(big);
	assert_int_equal(request(&hd, NULL, "va1.1.s", "agent/events", NULL,
	    OK_ANSWER, &a), HC_OK);
	assert_non_null(strstr(srv.req, "\r\nContent-Encoding: gzip\r\n"));
	assert_int_equal(request_body(out, sizeof(out)), strlen(big));
	assert_memory_equal(out, big, strlen(big));
	hc_answer_clear(&a);

	assert_int_equal(hc_gzip(big, strlen(big), &gz, &gzlen), 0);
	assert_true(gzlen < 200);
	via = VIA_GZ;
	via_data = gz;
	via_len = gzlen;
	assert_int_equal(request(&hd, NULL, "va1.1.s", "agent/events", NULL,
	    OK_ANSWER, &a), HC_OK);
	assert_non_null(strstr(srv.req, "\r\nContent-Encoding: gzip\r\n"));
	assert_non_null(strstr(srv.req, "\r\nContent-Type: application/json"));
	assert_int_equal(request_body(out, sizeof(out)), strlen(big));
	assert_memory_equal(out, big, strlen(big));
	hc_answer_clear(&a);
	via = VIA_JSON;
	free(gz);
	hd_free(&hd);
}

static void
test_errors(void **state)
{
	struct hubdetails hd;
	struct hc_answer a;
	struct hc_opts o = { &hd, NULL, 5, 20 };
	struct hc *c;
	char err[256], url[64];
	int fd;

	(void)state;
	hd_for_server(&hd, 32);
	assert_int_equal(request(&hd, NULL, "va1.1.s", "agent/poll", NULL,
	    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\n"
	    "Content-Type: application/json\r\nContent-Length: 37\r\n"
	    "Connection: close\r\n\r\n{\"error\":\"busy\",\"message\":\"too "
	    "busy\"}", &a), HC_HTTP);
	assert_int_equal(a.status, 503);
	assert_int_equal(a.retry_after, 7);
	assert_string_equal(a.message, "HTTP 503 service unavailable: too "
	    "busy (busy)");
	hc_answer_clear(&a);

	assert_int_equal(request(&hd, NULL, NULL, "health", NULL,
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n"
	    "\r\nhello", &a), HC_PROTOCOL);
	assert_non_null(strstr(a.message, "not a JSON object"));
	hc_answer_clear(&a);

	/* A port nobody listens on: bound, never listened to. */
	free(hd.url);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	{
		struct sockaddr_in sa;
		socklen_t salen = sizeof(sa);

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)),
		    0);
		assert_int_equal(getsockname(fd, (struct sockaddr *)&sa,
		    &salen), 0);
		snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/",
		    ntohs(sa.sin_port));
	}
	hd.url = strdup(url);
	assert_int_equal(hc_new(&o, &c, err, sizeof(err)), 0);
	assert_int_equal(hc_request(c, "health", NULL, &a), HC_UNREACHABLE);
	assert_non_null(strstr(a.message, "unreachable"));
	assert_non_null(strstr(a.message, url));
	hc_answer_clear(&a);
	hc_free(c);
	close(fd);
	hd_free(&hd);
}

static void
test_backoff(void **state)
{
	double d, lo = 1e9, hi = 0;
	int i;

	(void)state;
	for (i = 0; i < 2000; i++) {
		d = hc_backoff(1, 10, 600, -1);
		assert_true(d >= 5 && d <= 10);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	/* Jitter spreads over the range. */
	assert_true(lo < 5.5 && hi > 9.5);
	for (i = 0; i < 100; i++) {
		d = hc_backoff(4, 10, 600, -1);
		assert_true(d >= 40 && d <= 80);
		d = hc_backoff(50, 10, 600, 0);
		assert_true(d >= 300 && d <= 600);
		d = hc_backoff(4000000000u, 10, 600, -1);
		assert_true(d >= 300 && d <= 600);
		assert_true(hc_backoff(1, 10, 600, 900) == 900);
		d = hc_backoff(0, 2, 600, -1);
		assert_true(d >= 1 && d <= 2);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_match),
		cmocka_unit_test(test_pin_mismatch),
		cmocka_unit_test(test_ca),
		cmocka_unit_test(test_auth_and_gzip),
		cmocka_unit_test(test_text_bodies),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
