/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the SSH and Telnet transports (proxy/remote.h): the
 * fingerprint format, the algorithm tables (and that libssh takes every
 * name), the algorithm-mismatch message, the sudo marker rule, peer
 * names, the TCP connection's errors, SSH failures that need no server,
 * and the Telnet option negotiation and NVT encoding against a socket
 * of the test's own. Real sshd and telnetd: tests/blackbox/
 * test_proxy_ssh.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "remote_int.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_util.h"

static void
test_fingerprint(void **state)
{
	unsigned char md[32];
	char fp[PROXY_FP_LEN];

	(void)state;
	/* SHA-256 of "abc": its base64 ends in one '=', which goes. */
	assert_int_equal(vg_hash_buffer(VG_HASH_SHA256, "abc", 3, md), 0);
	assert_int_equal(proxy_ssh_fp_format(md, sizeof(md), fp), 0);
	assert_string_equal(fp,
	    "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0");
	assert_true(strlen(fp) < PROXY_FP_LEN);
	assert_int_equal(proxy_ssh_fp_format(md, 20, fp), VG_ERR_INVAL);
}

/* Every name of list is accepted by libssh for opt on its own. */
static void
names_supported(enum ssh_options_e opt, const char *list)
{
	char *copy = strdup(list), *name, *save = NULL;
	ssh_session s = ssh_new();

	assert_non_null(copy);
	assert_non_null(s);
	for (name = strtok_r(copy, ",", &save); name != NULL;
	    name = strtok_r(NULL, ",", &save)) {
		if (ssh_options_set(s, opt, name) != 0)
			fail_msg("libssh refuses %s", name);
	}
	free(copy);
	ssh_free(s);
}

static int
list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' ||
		    p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

static void
test_algorithms(void **state)
{
	static const struct {
		enum proxy_ssh_algo kind;
		enum ssh_options_e opt;
		const char *legacy[4];
	} t[] = {
		{ PROXY_SSH_KEX, SSH_OPTIONS_KEY_EXCHANGE,
		    { "diffie-hellman-group14-sha1",
		    "diffie-hellman-group1-sha1",
		    "diffie-hellman-group-exchange-sha1", NULL } },
		{ PROXY_SSH_HOSTKEY, SSH_OPTIONS_HOSTKEYS,
		    { "ssh-rsa", NULL } },
		{ PROXY_SSH_PUBKEY, SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES,
		    { "ssh-rsa", NULL } },
		{ PROXY_SSH_CIPHER, SSH_OPTIONS_CIPHERS_C_S,
		    { "aes128-cbc", "aes256-cbc", "3des-cbc", NULL } },
		{ PROXY_SSH_MAC, SSH_OPTIONS_HMAC_C_S, { "hmac-sha1", NULL } },
	};
	const char *modern, *legacy;
	size_t i, j;

	(void)state;
	assert_int_equal(proxy_remote_init(), 0);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		modern = proxy_ssh_algorithms(t[i].kind, 0);
		legacy = proxy_ssh_algorithms(t[i].kind, 1);
		/* Legacy mode appends: the modern ones stay preferred. */
		assert_int_equal(strncmp(legacy, modern, strlen(modern)), 0);
		assert_int_equal(legacy[strlen(modern)], ',');
		for (j = 0; t[i].legacy[j] != NULL; j++) {
			assert_false(list_has(modern, t[i].legacy[j]));
			assert_true(list_has(legacy, t[i].legacy[j]));
			assert_true(proxy_ssh_algo_is_legacy(t[i].legacy[j],
			    strlen(t[i].legacy[j])));
		}
		names_supported(t[i].opt, legacy);
	}
	/* No SHA-1 and no CBC in what we offer by default. */
	assert_null(strstr(proxy_ssh_algorithms(PROXY_SSH_KEX, 0), "sha1"));
	assert_null(strstr(proxy_ssh_algorithms(PROXY_SSH_CIPHER, 0), "cbc"));
	assert_false(list_has(proxy_ssh_algorithms(PROXY_SSH_HOSTKEY, 0),
	    "ssh-rsa"));
	assert_true(list_has(proxy_ssh_algorithms(PROXY_SSH_HOSTKEY, 0),
	    "rsa-sha2-256"));
	assert_false(proxy_ssh_algo_is_legacy("aes128-ctr", 10));
	assert_false(proxy_ssh_algo_is_legacy("ssh-rs", 6));
	assert_false(proxy_ssh_algo_is_legacy("ssh-rsa", 0));
}

static void
test_kex_message(void **state)
{
	char err[2048];

	(void)state;
	assert_int_equal(proxy_ssh_kex_message("r1:22", "kex error : no "
	    "match for method kex algos: server [diffie-hellman-group14-sha1,"
	    "kex-strict-s-v00@openssh.com], client [curve25519-sha256,"
	    "ext-info-c]", 0, err, sizeof(err)), 1);
	assert_string_equal(err, "r1:22: no common key exchange algorithm: "
	    "the server offers diffie-hellman-group14-sha1; we offer "
	    "curve25519-sha256. The server's are legacy (SHA-1, ssh-rsa or "
	    "CBC) algorithms: enable legacy SSH algorithms for this device "
	    "(legacy_ssh, or vigil collect --legacy-ssh) if it cannot be "
	    "upgraded");
	/* Already in legacy mode: no advice to turn it on. */
	assert_int_equal(proxy_ssh_kex_message("r1:22", "kex error : no "
	    "match for method encryption client->server: server "
	    "[blowfish-cbc,aes128-cbc], client [aes128-ctr,aes128-cbc]", 1,
	    err, sizeof(err)), 1);
	assert_non_null(strstr(err, "no common cipher: the server offers "
	    "blowfish-cbc, aes128-cbc"));
	assert_null(strstr(err, "legacy"));
	/* Nothing legacy on offer: no advice either. */
	assert_int_equal(proxy_ssh_kex_message("r1:22", "no match for "
	    "method server host key algo: server [ssh-dss], client "
	    "[ssh-ed25519]", 0, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "no common host key algorithm: the "
	    "server offers ssh-dss; we offer ssh-ed25519"));
	assert_null(strstr(err, "legacy"));
	assert_int_equal(proxy_ssh_kex_message("r1:22", "Socket error: "
	    "disconnected", 0, err, sizeof(err)), 0);
	/* A small buffer is cut, never overrun. */
	assert_int_equal(proxy_ssh_kex_message("r1:22", "no match for "
	    "method kex algos: server [a,b], client [c]", 0, err, 10), 1);
	assert_int_equal(strlen(err), 9);
}

static void
test_marker(void **state)
{
	static const char m[] = "[sudo-x1]";

	(void)state;
	assert_true(proxy_ssh_marker_at_end(m, strlen(m), m));
	assert_true(proxy_ssh_marker_at_end("warn\n[sudo-x1]", 14, m));
	assert_true(proxy_ssh_marker_at_end("warn\r[sudo-x1]", 14, m));
	assert_false(proxy_ssh_marker_at_end("x[sudo-x1]", 10, m));
	assert_false(proxy_ssh_marker_at_end("[sudo-x1]\n", 10, m));
	assert_false(proxy_ssh_marker_at_end("[sudo-x1", 8, m));
	assert_false(proxy_ssh_marker_at_end("", 0, m));
	assert_false(proxy_ssh_marker_at_end("abc", 3, ""));
}

static void
test_where(void **state)
{
	struct proxy_target t = { 0 };
	char w[PROXY_WHERE_MAX];

	(void)state;
	t.host = "r1.example.net";
	t.protocol = PROXY_PROTO_SSH;
	proxy_remote_where(&t, w, sizeof(w));
	assert_string_equal(w, "r1.example.net:22");
	t.protocol = PROXY_PROTO_TELNET;
	proxy_remote_where(&t, w, sizeof(w));
	assert_string_equal(w, "r1.example.net:23");
	t.host = "fd00::1";
	t.port = 2222;
	proxy_remote_where(&t, w, sizeof(w));
	assert_string_equal(w, "[fd00::1]:2222");
}

/* A listening socket on 127.0.0.1 and its port. */
static int
listener(unsigned int *port, int backlog)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int s;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	if (backlog >= 0)
		assert_int_equal(listen(s, backlog), 0);
	*port = ntohs(a.sin_port);
	return s;
}

static void
test_tcp_connect(void **state)
{
	struct proxy_target t = { 0 };
	char err[512];
	unsigned int port;
	int l, fd;

	(void)state;
	t.host = "127.0.0.1";
	t.protocol = PROXY_PROTO_SSH;
	/* Bound but not listening: refused. */
	l = listener(&port, -1);
	t.port = port;
	assert_int_equal(proxy_remote_tcp_connect(&t, 2000, &fd, err,
	    sizeof(err)), VG_ERR_IO);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err, "127.0.0.1:"));
	assert_non_null(strstr(err, "connection refused"));
	close(l);
	l = listener(&port, 4);
	t.port = port;
	assert_int_equal(proxy_remote_tcp_connect(&t, 2000, &fd, err,
	    sizeof(err)), 0);
	assert_true(fd >= 0);
	close(fd);
	close(l);
	t.host = "";
	assert_int_equal(proxy_remote_tcp_connect(&t, 2000, &fd, err,
	    sizeof(err)), VG_ERR_INVAL);
}

static void
test_ssh_without_server(void **state)
{
	struct proxy_credentials c = { 0 };
	struct proxy_target t = { 0 };
	struct proxy_ssh *s = NULL;
	char err[1024], fp[PROXY_FP_LEN];
	unsigned int port;
	double t0;
	int l;

	(void)state;
	t.host = "127.0.0.1";
	t.protocol = PROXY_PROTO_SSH;
	l = listener(&port, 4);
	t.port = port;
	/* No user name: refused before any connection. */
	assert_int_equal(proxy_ssh_connect(&t, &c, &s, fp, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_null(s);
	assert_non_null(strstr(err, "no user name"));
	/* A key that is not one: refused before any connection, and
	 * without a word of it in the message. */
	c.username = "u";
	c.private_key = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key\n";
	assert_int_equal(proxy_ssh_connect(&t, &c, &s, fp, err, sizeof(err)),
	    VG_ERR_AUTH);
	assert_non_null(strstr(err, "private key cannot be read"));
	assert_null(strstr(err, "not-a-key"));
	/* The kernel accepts for the listener, which never speaks: the
	 * handshake times out after connect_timeout_ms. */
	c.private_key = NULL;
	c.password = "pw";
	t.connect_timeout_ms = 300;
	t0 = vg_now();
	assert_int_equal(proxy_ssh_connect(&t, &c, &s, fp, err, sizeof(err)),
	    VG_ERR_TIMEOUT);
	assert_true(vg_now() - t0 < 2.0);
	assert_true(vg_now() - t0 >= 0.25);
	assert_non_null(strstr(err, "no SSH handshake within 300 ms"));
	assert_string_equal(fp, "");
	assert_null(s);
	close(l);
}

/* Reads what the peer sent within ms into buf. */
static size_t
drain(int fd, unsigned char *buf, size_t cap, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	size_t got = 0;
	ssize_t n;

	while (got < cap && poll(&p, 1, ms) == 1) {
		if ((n = read(fd, buf + got, cap - got)) <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static int
contains(const unsigned char *b, size_t n, const unsigned char *s,
    size_t sl)
{
	size_t i;

	for (i = 0; i + sl <= n; i++)
		if (memcmp(b + i, s, sl) == 0)
			return 1;
	return 0;
}

#define HAS(b, n, ...) do { \
	static const unsigned char want_[] = { __VA_ARGS__ }; \
	assert_true(contains(b, n, want_, sizeof(want_))); \
} while (0)

static void
test_telnet(void **state)
{
	/* IAC WILL ECHO, IAC DO TTYPE, IAC DO NAWS, IAC DO NEW-ENVIRON,
	 * IAC WILL STATUS, SB TTYPE SEND, then "login: " with an escaped
	 * 0xFF data byte in it. */
	static const unsigned char hello[] = {
		0xFF, 0xFB, 0x01, 0xFF, 0xFD, 0x18, 0xFF, 0xFD, 0x1F,
		0xFF, 0xFD, 0x27, 0xFF, 0xFB, 0x05,
		0xFF, 0xFA, 0x18, 0x01, 0xFF, 0xF0,
		'l', 'o', 'g', 0xFF, 0xFF, 'i', 'n', ':', ' ',
	};
	struct proxy_target t = { 0 };
	struct proxy_transport tr;
	unsigned char in[512];
	char err[512], buf[256];
	size_t got, n, total = 0;
	unsigned int port;
	double t0;
	int l, srv;

	(void)state;
	l = listener(&port, 4);
	t.host = "127.0.0.1";
	t.port = port;
	t.protocol = PROXY_PROTO_TELNET;
	assert_int_equal(proxy_telnet_open(&t, &tr, err, sizeof(err)), 0);
	assert_null(tr.exec);
	srv = accept(l, NULL, NULL);
	assert_true(srv >= 0);
	/* Nothing yet: the read waits its timeout and returns nothing. */
	t0 = vg_now();
	assert_int_equal(tr.read(tr.ctx, buf, sizeof(buf), 100, &got), 0);
	assert_int_equal(got, 0);
	assert_true(vg_now() - t0 >= 0.09);
	assert_int_equal(write(srv, hello, sizeof(hello)),
	    (ssize_t)sizeof(hello));
	while (total < 8) {
		assert_int_equal(tr.read(tr.ctx, buf + total,
		    sizeof(buf) - total, 1000, &got), 0);
		assert_true(got > 0);
		total += got;
	}
	/* Only data reaches the engine. */
	assert_int_equal(total, 8);
	assert_memory_equal(buf, "log\xff" "in: ", 8);
	n = drain(srv, in, sizeof(in), 200);
	HAS(in, n, 0xFF, 0xFD, 0x01);             /* DO ECHO */
	HAS(in, n, 0xFF, 0xFB, 0x18);             /* WILL TTYPE */
	HAS(in, n, 0xFF, 0xFB, 0x1F);             /* WILL NAWS */
	HAS(in, n, 0xFF, 0xFA, 0x1F, 0x01, 0xFF, 0xFF, 0x00, 0x18, 0xFF,
	    0xF0);                                 /* NAWS 511 x 24 */
	HAS(in, n, 0xFF, 0xFA, 0x18, 0x00, 'V', 'T', '1', '0', '0', 0xFF,
	    0xF0);                                 /* TTYPE IS VT100 */
	HAS(in, n, 0xFF, 0xFC, 0x27);             /* WONT NEW-ENVIRON */
	HAS(in, n, 0xFF, 0xFE, 0x05);             /* DONT STATUS */
	/* NVT: a lone CR gets a NUL, CR LF stays, 0xFF is doubled. */
	assert_int_equal(tr.write(tr.ctx, "a\rb\xff\r\n", 6), 0);
	n = drain(srv, in, sizeof(in), 200);
	assert_int_equal(n, 8);
	assert_memory_equal(in, "a\r\0b\xff\xff\r\n", 8);
	/* The device hangs up. */
	close(srv);
	assert_int_equal(tr.read(tr.ctx, buf, sizeof(buf), 1000, &got),
	    VG_ERR_CLOSED);
	tr.close(tr.ctx);
	close(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_algorithms),
		cmocka_unit_test(test_kex_message),
		cmocka_unit_test(test_marker),
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_tcp_connect),
		cmocka_unit_test(test_ssh_without_server),
		cmocka_unit_test(test_telnet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
