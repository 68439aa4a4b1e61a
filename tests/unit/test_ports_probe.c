/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of cli/ports_probe.c and cli/ports_check.c (vigil ports
 * check). The parsers of what a peer sends get hostile input: SMB2
 * answers truncated at every length, oversized, with the wrong magic or
 * lengths that point outside; SSH banners and Telnet greetings of every
 * kind; HTTP heads and chunked bodies. The probes run against peers in
 * this process on 127.0.0.1 (an SSH banner, Telnet negotiation, an SMB2
 * answer, a TLS server with a certificate made here, a silent peer, a
 * peer that floods), and ports_check against a deployment of them: the
 * table, the sentences, the JSON, the exit status, and the look at
 * /proc for a listening vigil-agent on a copy of /proc's layout.
 *
 * The CLI's sources are not a library: the test includes them, which
 * also lets it call their static parsers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../cli/ports_deploy.c"
#include "../../cli/ports_probe.c"
#include "../../cli/ports_check.c"

#define assert_contains(hay, needle) do { \
	const char *h_ = (hay), *n_ = (needle); \
	if (strstr(h_, n_) == NULL) \
		fail_msg("\"%s\" does not contain \"%s\"", h_, n_); \
} while (0)

/* Every byte of a detail is printable ASCII: it goes to a terminal. */
static void
assert_printable(const char *s, size_t cap)
{
	size_t i;

	assert_true(strnlen(s, cap) < cap);
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			fail_msg("byte 0x%02x at %zu in \"%s\"",
			    (unsigned char)s[i], i, s);
}

/* ---- SMB2 answers ---- */

static void
le16(unsigned char *b, unsigned v)
{
	b[0] = (unsigned char)v;
	b[1] = (unsigned char)(v >> 8);
}

static void
le32(unsigned char *b, uint32_t v)
{
	le16(b, v & 0xffff);
	le16(b + 2, v >> 16);
}

/* A NEGOTIATE answer as a server sends one: NetBIOS header, SMB2 header
 * (a response: flags 1), the fixed part, then a security buffer of
 * seclen bytes right after it. Its length. */
static size_t
smb_answer(unsigned char *b, uint16_t dialect, uint16_t secmode,
    uint32_t status, size_t seclen)
{
	size_t len = 4 + 64 + 64 + seclen, nb = len - 4;
	unsigned char *h = b + 4, *q = b + 4 + 64;

	memset(b, 0, len);
	b[1] = (unsigned char)(nb >> 16);
	b[2] = (unsigned char)(nb >> 8);
	b[3] = (unsigned char)nb;
	memcpy(h, "\xfeSMB", 4);
	le16(h + 4, 64);
	le32(h + 8, status);
	le32(h + 16, 1);
	le16(q, 65);
	le16(q + 2, secmode);
	le16(q + 4, dialect);
	le16(q + 56, 128);
	le16(q + 58, (unsigned)seclen);
	memset(q + 64, 0x60, seclen);
	return len;
}

static int
smb(const unsigned char *b, size_t n, char *detail)
{
	int r = ports_smb_parse(b, n, detail, 512);

	assert_printable(detail, 512);
	assert_true(detail[0] != '\0');
	return r;
}

static void
test_smb_ok(void **state)
{
	unsigned char b[512];
	char d[512];
	size_t n;

	(void)state;
	n = smb_answer(b, 0x0302, 1, 0, 74);
	assert_int_equal(smb(b, n, d), PORTS_OK);
	assert_string_equal(d, "SMB 3.0.2 negotiated");
	n = smb_answer(b, 0x0202, 3, 0, 0);
	assert_int_equal(smb(b, n, d), PORTS_OK);
	assert_string_equal(d, "SMB 2.0.2 negotiated, signing required");
	n = smb_answer(b, 0x0210, 1, 0, 10);
	assert_int_equal(smb(b, n, d), PORTS_OK);
	assert_string_equal(d, "SMB 2.1 negotiated");
	/* Bytes after the message the header announces are not read. */
	n = smb_answer(b, 0x0300, 1, 0, 10);
	memset(b + n, 0xee, 40);
	assert_int_equal(smb(b, n + 40, d), PORTS_OK);
	assert_string_equal(d, "SMB 3.0 negotiated");
}

static void
test_smb_truncated(void **state)
{
	unsigned char b[512];
	char d[512];
	size_t n, i;

	(void)state;
	n = smb_answer(b, 0x0302, 1, 0, 74);
	/* Cut short anywhere before the fields read: never ok, never a
	 * read past n (ASan in the sanitizer build). */
	for (i = 0; i < 4 + 64 + 8; i++) {
		unsigned char *copy = malloc(i + 1);

		assert_non_null(copy);
		memcpy(copy, b, i);
		assert_int_equal(smb(copy, i, d), PORTS_WRONG_SERVICE);
		free(copy);
	}
	assert_int_equal(smb(b, 3, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "too short");
	assert_int_equal(smb(b, 40, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "truncated SMB2 answer (36 of 64");
	assert_int_equal(smb(b, 4 + 64 + 4, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "truncated SMB2 NEGOTIATE answer");
	/* A header that announces less than the fields need. */
	b[1] = 0;
	b[2] = 0;
	b[3] = 50;
	assert_int_equal(smb(b, n, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "truncated");
}

static void
test_smb_hostile(void **state)
{
	unsigned char b[512];
	char d[512];
	size_t n;

	(void)state;
	/* Security buffer beyond the message. */
	n = smb_answer(b, 0x0302, 1, 0, 74);
	le16(b + 4 + 64 + 58, 60000);
	assert_int_equal(smb(b, n, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "outside");
	/* ... or inside the fixed part. */
	n = smb_answer(b, 0x0302, 1, 0, 74);
	le16(b + 4 + 64 + 56, 64);
	assert_int_equal(smb(b, n, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "security buffer");
	/* The largest length a NetBIOS header holds, with little read. */
	n = smb_answer(b, 0x0302, 1, 0, 0);
	b[1] = b[2] = b[3] = 0xff;
	assert_int_equal(smb(b, n, d), PORTS_OK);
	/* Wrong magic. */
	n = smb_answer(b, 0x0302, 1, 0, 0);
	b[4] = 0xfd;
	assert_int_equal(smb(b, n, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "not SMB: a NetBIOS message starting with fd 53 4d "
	    "42");
	/* StructureSize of the header, then of the answer. */
	n = smb_answer(b, 0x0302, 1, 0, 0);
	le16(b + 8, 65);
	assert_int_equal(smb(b, n, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "StructureSize 65");
	n = smb_answer(b, 0x0302, 1, 0, 0);
	le16(b + 4 + 64, 9);
	assert_int_equal(smb(b, n, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "StructureSize 9, not 65");
	/* An answer to another command. */
	n = smb_answer(b, 0x0302, 1, 0, 0);
	le16(b + 4 + 12, 1);
	assert_int_equal(smb(b, n, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "command 0x0001");
	/* A dialect that was not offered. */
	n = smb_answer(b, 0x0311, 1, 0, 0);
	assert_int_equal(smb(b, n, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "dialect 0x0311, which was not offered");
	n = smb_answer(b, 0x02ff, 1, 0, 0);
	assert_int_equal(smb(b, n, d), PORTS_WRONG_SERVICE);
	/* An error status. */
	n = smb_answer(b, 0, 0, 0xc00000bbu, 0);
	assert_int_equal(smb(b, n, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "status 0xc00000bb (STATUS_NOT_SUPPORTED");
	/* NetBIOS session answers and other protocols. */
	memcpy(b, "\x83\x00\x00\x01\x80", 5);
	assert_int_equal(smb(b, 5, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "type 0x83");
	memcpy(b, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
	assert_int_equal(smb(b, 28, d), PORTS_WRONG_SERVICE);
	assert_string_equal(d, "not SMB: an HTTP server (\"HTTP/1.1 400 Bad "
	    "Request\") answered");
	memcpy(b, "SSH-2.0-x\r\n", 11);
	assert_int_equal(smb(b, 11, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "an SSH server");
	memcpy(b, "\x15\x03\x03\x00\x02\x02\x46", 7);
	assert_int_equal(smb(b, 7, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "a TLS server");
	memcpy(b, "\xfe\x01\x02\x7f\x00", 5);
	assert_int_equal(smb(b, 5, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "bytes fe 01 02 7f 00");
	/* A detail buffer of one byte holds the terminator only. */
	assert_int_equal(ports_smb_parse(b, 5, d, 1), PORTS_WRONG_SERVICE);
	assert_string_equal(d, "");
}

static void
test_smb_smb1_and_echo(void **state)
{
	unsigned char b[512], req[SMB_NEGOTIATE_LEN];
	char d[512];
	size_t i;

	(void)state;
	memset(b, 0, sizeof(b));
	b[3] = 40;
	memcpy(b + 4, "\xffSMB\x72", 5);
	assert_int_equal(smb(b, 44, d), PORTS_OK);
	assert_contains(d, "SMB1 only (insecure)");
	assert_int_equal(smb(b, 4 + 20, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "truncated SMB1");

	/* The request as built: NetBIOS length, SMB2 header, four
	 * dialects 2.0.2 to 3.0.2. An echo of it is not an answer. */
	smb_negotiate_request(req);
	assert_int_equal(sizeof(req), 112);
	assert_memory_equal(req, "\x00\x00\x00\x6c\xfeSMB\x40\x00", 10);
	assert_int_equal(get_le16(req + 4 + 12), 0);     /* NEGOTIATE */
	assert_int_equal(get_le16(req + 68), 36);
	assert_int_equal(get_le16(req + 70), 4);
	assert_int_equal(get_le16(req + 72), 1);
	for (i = 0; i < 4; i++)
		assert_int_equal(get_le16(req + 104 + 2 * i),
		    smb_dialects[i]);
	assert_int_equal(smb(req, sizeof(req), d), PORTS_WRONG_SERVICE);
	assert_contains(d, "an SMB2 request");
}

/* Random bytes and random mutations of a good answer: the parser
 * returns one of its two results with a printable detail, and says ok
 * only for an SMB answer. */
static void
test_smb_random(void **state)
{
	unsigned char good[512], b[600];
	char d[512];
	size_t goodlen, n, k;
	int i, r;

	(void)state;
	srand(6);
	goodlen = smb_answer(good, 0x0302, 1, 0, 74);
	for (i = 0; i < 20000; i++) {
		if (i % 2 == 0) {
			n = (size_t)rand() % sizeof(b);
			for (k = 0; k < n; k++)
				b[k] = (unsigned char)rand();
		} else {
			n = goodlen;
			memcpy(b, good, n);
			for (k = 0; k < 1 + (size_t)rand() % 4; k++)
				b[(size_t)rand() % n] = (unsigned char)rand();
			n = (size_t)rand() % (n + 1);
		}
		r = smb(b, n, d);
		assert_true(r == PORTS_OK || r == PORTS_WRONG_SERVICE);
		if (r == PORTS_OK)
			assert_true(n >= 4 + 32 && (memcmp(b + 4, "\xfeSMB",
			    4) == 0 || memcmp(b + 4, "\xffSMB", 4) == 0));
	}
}

/* ---- SSH banners, Telnet greetings ---- */

static enum ports_result
ssh(const char *text, size_t n, enum read_end end, char *d)
{
	enum ports_result r;

	r = ssh_classify((const unsigned char *)text, n, end, 3000, d, 512);
	assert_printable(d, 512);
	return r;
}

static void
test_ssh_banner(void **state)
{
	char d[512];

	(void)state;
	assert_int_equal(ssh("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 32,
	    READ_DONE, d), PORTS_OK);
	assert_string_equal(d, "SSH-2.0-OpenSSH_9.2p1 Debian-2");
	/* Lines before the identification (RFC 4253 4.2). */
	assert_int_equal(ssh("Welcome\r\nto here\nSSH-1.99-Cisco-1.25\r\n",
	    38, READ_DONE, d), PORTS_OK);
	assert_string_equal(d, "SSH-1.99-Cisco-1.25");
	/* A banner without its line end, then silence. */
	assert_int_equal(ssh("SSH-2.0-dropbear", 16, READ_TIMEOUT, d),
	    PORTS_OK);
	/* Control bytes in a banner do not reach the terminal. */
	assert_int_equal(ssh("SSH-2.0-x\x1b[2J\x07y\n", 16, READ_DONE, d),
	    PORTS_OK);
	assert_string_equal(d, "SSH-2.0-x?[2J?y");
	/* What is not an SSH server. */
	assert_int_equal(ssh("HTTP/1.0 400 Bad Request\r\n", 26, READ_EOF,
	    d), PORTS_WRONG_SERVICE);
	assert_string_equal(d, "no SSH banner: an HTTP server (\"HTTP/1.0 "
	    "400 Bad Request\") answered");
	assert_int_equal(ssh("\xff\xfd\x18\xff\xfd\x20", 6, READ_DONE, d),
	    PORTS_WRONG_SERVICE);
	assert_contains(d, "a Telnet server");
	assert_int_equal(ssh("", 0, READ_TIMEOUT, d), PORTS_WRONG_SERVICE);
	assert_string_equal(d, "no SSH banner: the server said nothing "
	    "within 3 s");
	assert_int_equal(ssh("", 0, READ_EOF, d), PORTS_WRONG_SERVICE);
	assert_contains(d, "closed the connection without a word");
	assert_int_equal(ssh("220 mail ESMTP\r\n", 16, READ_DONE, d),
	    PORTS_WRONG_SERVICE);
	assert_string_equal(d, "no SSH banner: \"220 mail ESMTP\" answered");
	assert_int_equal(ssh("\x00\x01\x02\x03", 4, READ_EOF, d),
	    PORTS_WRONG_SERVICE);
	assert_contains(d, "bytes 00 01 02 03");
	/* "SSH-" inside a line is not a banner. */
	assert_int_equal(ssh("xSSH-2.0-a\n", 11, READ_EOF, d),
	    PORTS_WRONG_SERVICE);

	/* Reading stops at the banner's line end, at Telnet's IAC, at a
	 * binary byte, and not before. */
	assert_true(ssh_done((const unsigned char *)"SSH-2.0-x\r\n", 11));
	assert_false(ssh_done((const unsigned char *)"SSH-2.0-x", 9));
	assert_false(ssh_done((const unsigned char *)"hello\r\n", 7));
	assert_true(ssh_done((const unsigned char *)"\xff\xfb\x01", 3));
	assert_true(ssh_done((const unsigned char *)"ab\x01", 3));
}

static enum ports_result
telnet(const char *text, size_t n, int final, char *d)
{
	enum ports_result r;

	d[0] = '\0';
	r = telnet_classify((const unsigned char *)text, n, final, d, 512);
	assert_printable(d, 512);
	return r;
}

static void
test_telnet(void **state)
{
	char d[512];

	(void)state;
	assert_int_equal(telnet("\xff\xfd\x18", 3, 1, d), PORTS_OK);
	assert_string_equal(d, "option negotiation (IAC DO TERMINAL-TYPE)");
	assert_int_equal(telnet("\xff\xfb\x25\xff\xfd\x18", 6, 1, d),
	    PORTS_OK);
	assert_string_equal(d, "option negotiation (IAC WILL "
	    "AUTHENTICATION)");
	assert_int_equal(telnet("\xff\xfc\xc8", 3, 1, d), PORTS_OK);
	assert_string_equal(d, "option negotiation (IAC WONT option 200)");
	/* Text first, then negotiation. */
	assert_int_equal(telnet("Router\r\n\xff\xfe\x01", 11, 1, d),
	    PORTS_OK);
	assert_string_equal(d, "option negotiation (IAC DONT ECHO)");
	/* Login prompts, in any case. */
	assert_int_equal(telnet("\r\nUser Access Verification\r\n\r\n"
	    "Username: ", 40, 1, d), PORTS_OK);
	assert_string_equal(d, "login prompt");
	assert_int_equal(telnet("debian login: ", 14, 1, d), PORTS_OK);
	assert_int_equal(telnet("PASSWORD:", 9, 1, d), PORTS_OK);
	assert_int_equal(telnet("User Name:", 10, 1, d), PORTS_OK);
	/* Not negotiation: IAC IAC (a data 0xff), IAC with no option yet,
	 * IAC and a command that is not WILL/WONT/DO/DONT. */
	assert_int_equal(telnet("\xff\xff\x01", 3, 1, d),
	    PORTS_WRONG_SERVICE);
	assert_int_equal(telnet("\xff\xfb", 2, 0, d), PORTS_SKIPPED);
	assert_int_equal(telnet("\xff\xf1\x00", 3, 1, d),
	    PORTS_WRONG_SERVICE);
	/* Undecided until final; then what answered. */
	assert_int_equal(telnet("Welcome to", 10, 0, d), PORTS_SKIPPED);
	assert_int_equal(telnet("Welcome to", 10, 1, d),
	    PORTS_WRONG_SERVICE);
	assert_string_equal(d, "no Telnet negotiation or login prompt: "
	    "\"Welcome to\" answered");
	assert_int_equal(telnet("SSH-2.0-OpenSSH_9.2\r\n", 21, 1, d),
	    PORTS_WRONG_SERVICE);
	assert_contains(d, "an SSH server (\"SSH-2.0-OpenSSH_9.2\")");
	assert_int_equal(telnet("", 0, 1, d), PORTS_WRONG_SERVICE);
	/* An SSH banner line ends the reading; half a line does not. */
	assert_true(telnet_done((const unsigned char *)"SSH-2.0-x\n", 10));
	assert_false(telnet_done((const unsigned char *)"SSH-2.0-x", 9));
	assert_true(telnet_done((const unsigned char *)"login:", 6));
}

/* ---- HTTP answers ---- */

static int
head(const char *s, struct http_head *h)
{
	return http_head_parse(s, strlen(s), h);
}

static void
test_http_head(void **state)
{
	struct http_head h;

	(void)state;
	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Type: x\r\n"
	    "content-LENGTH:  42 \r\n\r\nbody", &h), 1);
	assert_int_equal(h.status, 200);
	assert_int_equal(h.content_length, 42);
	assert_int_equal(h.chunked, 0);
	assert_int_equal(h.head_len, strlen("HTTP/1.1 200 OK\r\nContent-Type:"
	    " x\r\ncontent-LENGTH:  42 \r\n\r\n"));
	assert_int_equal(head("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: "
	    "gzip, Chunked\r\n\r\n", &h), 1);
	assert_int_equal(h.status, 404);
	assert_int_equal(h.chunked, 1);
	assert_int_equal(h.content_length, -1);
	assert_int_equal(head("HTTP/1.0 503\n\n", &h), 1);
	assert_int_equal(h.status, 503);
	/* More needed. */
	assert_int_equal(head("HTT", &h), 0);
	assert_int_equal(head("HTTP/1.1 200 OK\r\nA: b\r\n", &h), 0);
	/* Not HTTP, or a bad status line or length. */
	assert_int_equal(head("SSH-2.0-x\r\n\r\n", &h), -1);
	assert_int_equal(head("HTTX", &h), -1);
	assert_int_equal(head("HTTP/1.1 2x0 OK\r\n\r\n", &h), -1);
	assert_int_equal(head("HTTP/1.1 200OK\r\n\r\n", &h), -1);
	assert_int_equal(head("HTTP/11 200 OK\r\n\r\n", &h), -1);
	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
	    &h), -1);
	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length: "
	    "99999999999999999999\r\n\r\n", &h), -1);
	assert_int_equal(head("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
	    &h), -1);
}

static int
complete(const char *s)
{
	char scratch[64];

	return http_complete(s, strlen(s), scratch, sizeof(scratch));
}

static void
test_http_chunked(void **state)
{
	char out[64], big[100];
	size_t n;
	const char *full = "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
	size_t i;

	(void)state;
	assert_int_equal(http_dechunk(full, strlen(full), out, sizeof(out),
	    &n), 1);
	assert_int_equal(n, 12);
	assert_memory_equal(out, "hello, world", 12);
	/* Every cut: incomplete, never malformed, until the last chunk's
	 * line is whole (the trailer is not waited for). */
	for (i = 0; i <= strlen(full); i++) {
		int r = http_dechunk(full, i, out, sizeof(out), &n);

		assert_int_equal(r, i >= strlen(full) - 2 ? 1 : 0);
		assert_true(n <= 12);
	}
	assert_int_equal(http_dechunk("zz\r\n", 4, out, sizeof(out), &n), -1);
	assert_int_equal(http_dechunk("5\r\nhelloX", 9, out, sizeof(out), &n),
	    -1);
	/* A chunk larger than the room, or than 8 digits can say. */
	assert_int_equal(http_dechunk("41\r\n", 4, out, sizeof(out), &n), -1);
	assert_int_equal(http_dechunk("100000000\r\n", 11, out, sizeof(out),
	    &n), -1);
	memset(big, 'a', sizeof(big));
	assert_int_equal(http_dechunk(big, sizeof(big), out, sizeof(out), &n),
	    -1);

	assert_true(complete("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
	    "\r\nok"));
	assert_false(complete("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
	    "\r\nok"));
	assert_false(complete("HTTP/1.1 200 OK\r\n\r\nok"));
	assert_true(complete("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"));
	assert_false(complete("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n2\r\nok\r\n"));
}

static int
health(const char *body, char *v, char *why)
{
	return health_json(body, strlen(body), v, 40, why, 160);
}

static void
test_health_json(void **state)
{
	char v[40], why[160];

	(void)state;
	assert_int_equal(health("{\"status\":\"ok\",\"version\":\"0.2.0\"}", v,
	    why), 1);
	assert_string_equal(v, "0.2.0");
	assert_int_equal(health("{\"status\":\"unavailable\",\"version\":"
	    "\"0.2.0\"}", v, why), 0);
	assert_string_equal(why, "status \"unavailable\"");
	assert_int_equal(health("[1]", v, why), 0);
	assert_string_equal(why, "the JSON holds no \"status\"");
	assert_int_equal(health("{\"status\":1}", v, why), 0);
	assert_int_equal(health("<html>", v, why), 0);
	assert_string_equal(why, "the body is not JSON: \"<html>\"");
	assert_int_equal(health("", v, why), 0);
	/* A version with control bytes, and a long one, are cut clean. */
	assert_int_equal(health("{\"status\":\"ok\",\"version\":"
	    "\"1\\u001b[2J\"}", v, why), 1);
	assert_string_equal(v, "1?[2J");
	assert_int_equal(health("{\"status\":\"ok\",\"version\":\""
	    "0123456789012345678901234567890123456789\"}", v, why), 1);
	assert_int_equal(strlen(v), 32);
}

static void
test_request_parts(void **state)
{
	char t[300];

	(void)state;
	health_target("/api/", t, sizeof(t));
	assert_string_equal(t, "/api/v1/health");
	health_target(NULL, t, sizeof(t));
	assert_string_equal(t, "/api/v1/health");
	health_target("vigil/api", t, sizeof(t));
	assert_string_equal(t, "/vigil/api/v1/health");
	/* Nothing that could end the request line or add a header. */
	health_target("/a b/\r\nX: y/", t, sizeof(t));
	assert_string_equal(t, "/a%20b/%0D%0AX:%20y/v1/health");
	health_target("/%?#/", t, sizeof(t));
	assert_string_equal(t, "/%25%3F%23/v1/health");
	/* Too long for the request line: said, not cut into another path. */
	assert_int_equal(health_target("/api/", t, 15), 0);
	assert_string_equal(t, "/api/v1/health");
	assert_int_equal(health_target("/api/", t, 14), -1);
	assert_string_equal(t, "");
	assert_int_equal(health_target("/a b/", t, 16), -1);
	assert_string_equal(t, "");

	host_header("hub.example.net", 443, t, sizeof(t));
	assert_string_equal(t, "hub.example.net");
	host_header("10.0.0.1", 8443, t, sizeof(t));
	assert_string_equal(t, "10.0.0.1:8443");
	host_header("fd00::1", 8443, t, sizeof(t));
	assert_string_equal(t, "[fd00::1]:8443");
	host_header("fd00::1", 443, t, sizeof(t));
	assert_string_equal(t, "[fd00::1]");
}

/* ---- peers on 127.0.0.1, in threads ---- */

enum peer_mode {
	PEER_SAY,          /* send say at once, then wait for the close */
	PEER_ANSWER,       /* read the request, then send say and close */
	PEER_SILENT,       /* accept and say nothing */
	PEER_FLOOD,        /* send say over and over until the client goes */
	PEER_TLS,          /* TLS, read the request, send say */
};

struct peer {
	enum peer_mode mode;
	const unsigned char *say;
	size_t saylen;
	SSL_CTX *ctx;
	int lfd;
	int port;
	atomic_int stop;
	atomic_int served;
	pthread_t th;
};

static void
peer_serve(struct peer *pe, int fd)
{
	char buf[4096];
	struct timeval tv = { 2, 0 };
	SSL *ssl;
	size_t k;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	switch (pe->mode) {
	case PEER_SAY:
		send(fd, pe->say, pe->saylen, MSG_NOSIGNAL);
		while (recv(fd, buf, sizeof(buf), 0) > 0)
			;
		break;
	case PEER_ANSWER:
		if (recv(fd, buf, sizeof(buf), 0) > 0)
			send(fd, pe->say, pe->saylen, MSG_NOSIGNAL);
		break;
	case PEER_SILENT:
		while (recv(fd, buf, sizeof(buf), 0) > 0)
			;
		break;
	case PEER_FLOOD:
		for (k = 0; k < 4096; k++)
			if (send(fd, pe->say, pe->saylen, MSG_NOSIGNAL) <= 0)
				break;
		break;
	case PEER_TLS:
		if ((ssl = SSL_new(pe->ctx)) == NULL)
			break;
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1) {
			size_t n = 0;
			int r;

			while (n < sizeof(buf) - 1 && (r = SSL_read(ssl,
			    buf + n, (int)(sizeof(buf) - 1 - n))) > 0) {
				n += (size_t)r;
				buf[n] = '\0';
				if (strstr(buf, "\r\n\r\n") != NULL)
					break;
			}
			SSL_write(ssl, pe->say, (int)pe->saylen);
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		break;
	}
	close(fd);
}

static void *
peer_main(void *arg)
{
	struct peer *pe = arg;
	struct pollfd pfd;
	int fd;

	while (!atomic_load(&pe->stop)) {
		pfd.fd = pe->lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if ((fd = accept(pe->lfd, NULL, NULL)) < 0)
			continue;
		peer_serve(pe, fd);
		atomic_fetch_add(&pe->served, 1);
	}
	return NULL;
}

/* A socket on 127.0.0.1 with a free port; listening when asked. */
static int
loopback_socket(int listening, int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
peer_start(struct peer *pe, enum peer_mode mode, const void *say,
    size_t saylen, SSL_CTX *ctx)
{
	memset(pe, 0, sizeof(*pe));
	pe->mode = mode;
	pe->say = say;
	pe->saylen = saylen;
	pe->ctx = ctx;
	pe->lfd = loopback_socket(1, &pe->port);
	atomic_init(&pe->stop, 0);
	atomic_init(&pe->served, 0);
	assert_int_equal(pthread_create(&pe->th, NULL, peer_main, pe), 0);
}

static void
peer_stop(struct peer *pe)
{
	atomic_store(&pe->stop, 1);
	pthread_join(pe->th, NULL);
	close(pe->lfd);
}

static void
probe(struct ports_probe *p, enum ports_service svc, int port,
    int timeout_ms)
{
	memset(p, 0, sizeof(*p));
	p->host = "127.0.0.1";
	p->port = port;
	p->service = svc;
	p->http_path = "/api/";
	p->timeout_ms = timeout_ms;
	ports_probe_run(p);
	assert_printable(p->detail, sizeof(p->detail));
}

/* A self-signed certificate made here (P-256), and its SHA-256. */
static SSL_CTX *
tls_server_ctx(unsigned char fp[32])
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	unsigned int fplen = 32;

	assert_non_null(key);
	assert_non_null(x);
	assert_non_null(ctx);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 6);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"test hub", -1, -1, 0);
	X509_set_issuer_name(x, name);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
	assert_int_equal(X509_digest(x, EVP_sha256(), fp, &fplen), 1);
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

static const char health_ok[] = "HTTP/1.1 200 OK\r\n"
    "Content-Type: application/json\r\nContent-Length: 48\r\n\r\n"
    "{\"status\":\"ok\",\"version\":\"9.8.7\",\"time\":\"now\"} \n";

static void
test_probe_plain_peers(void **state)
{
	static const char banner[] = "SSH-2.0-OpenSSH_9.2p1\r\n";
	static const unsigned char iac[] = { 0xff, 0xfd, 0x18, 0xff, 0xfd,
		0x20 };
	static const char flood[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	static const char http400[] = "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Length: 0\r\n\r\n";
	unsigned char smbans[512];
	struct ports_probe p;
	struct peer pe;
	int fd, port;

	(void)state;
	/* Refused: a bound port that does not listen. */
	fd = loopback_socket(0, &port);
	probe(&p, PORTS_SSH, port, 1000);
	assert_int_equal(p.result, PORTS_REFUSED);
	assert_string_equal(p.address, "127.0.0.1");
	assert_contains(p.detail, "Connection refused");
	close(fd);

	peer_start(&pe, PEER_SAY, banner, strlen(banner), NULL);
	probe(&p, PORTS_SSH, pe.port, 1000);
	assert_int_equal(p.result, PORTS_OK);
	assert_string_equal(p.detail, "SSH-2.0-OpenSSH_9.2p1");
	/* An SSH server on the Telnet, HTTPS and SMB ports. */
	probe(&p, PORTS_TELNET, pe.port, 1000);
	assert_int_equal(p.result, PORTS_WRONG_SERVICE);
	assert_contains(p.detail, "an SSH server");
	assert_true(p.elapsed_ms < 900);
	probe(&p, PORTS_HTTPS, pe.port, 1000);
	assert_int_equal(p.result, PORTS_WRONG_SERVICE);
	assert_contains(p.detail, "an SSH server (\"SSH-2.0-OpenSSH_9.2p1\") "
	    "answered on the HTTPS port");
	probe(&p, PORTS_SMB, pe.port, 1000);
	assert_int_equal(p.result, PORTS_WRONG_SERVICE);
	assert_contains(p.detail, "an SSH server");
	peer_stop(&pe);

	peer_start(&pe, PEER_SAY, iac, sizeof(iac), NULL);
	probe(&p, PORTS_TELNET, pe.port, 1000);
	assert_int_equal(p.result, PORTS_OK);
	assert_string_equal(p.detail, "option negotiation (IAC DO "
	    "TERMINAL-TYPE)");
	probe(&p, PORTS_SSH, pe.port, 1000);
	assert_int_equal(p.result, PORTS_WRONG_SERVICE);
	assert_true(p.elapsed_ms < 900);
	peer_stop(&pe);

	peer_start(&pe, PEER_ANSWER, smbans, smb_answer(smbans, 0x0302, 1, 0,
	    74), NULL);
	probe(&p, PORTS_SMB, pe.port, 1000);
	assert_int_equal(p.result, PORTS_OK);
	assert_string_equal(p.detail, "SMB 3.0.2 negotiated");
	peer_stop(&pe);

	/* Plain HTTP on the HTTPS port. */
	peer_start(&pe, PEER_ANSWER, http400, strlen(http400), NULL);
	probe(&p, PORTS_HTTPS, pe.port, 1000);
	assert_int_equal(p.result, PORTS_WRONG_SERVICE);
	assert_string_equal(p.detail, "plain HTTP answered on the HTTPS port "
	    "(\"HTTP/1.1 400 Bad Request\")");
	peer_stop(&pe);

	/* A flood: the reads are capped, the answer is no banner. */
	peer_start(&pe, PEER_FLOOD, flood, strlen(flood), NULL);
	probe(&p, PORTS_SSH, pe.port, 1000);
	assert_int_equal(p.result, PORTS_WRONG_SERVICE);
	assert_contains(p.detail, "no SSH banner: \"AAAA");
	probe(&p, PORTS_TELNET, pe.port, 1000);
	assert_int_equal(p.result, PORTS_WRONG_SERVICE);
	probe(&p, PORTS_SMB, pe.port, 1000);
	assert_int_equal(p.result, PORTS_WRONG_SERVICE);
	peer_stop(&pe);
}

/* A peer that says nothing: each protocol gives up after its timeout,
 * not much later. */
static void
test_probe_silent(void **state)
{
	static const enum ports_service svcs[] = { PORTS_SSH, PORTS_TELNET,
		PORTS_SMB, PORTS_HTTPS };
	struct ports_probe p;
	struct peer pe;
	size_t i;

	(void)state;
	peer_start(&pe, PEER_SILENT, NULL, 0, NULL);
	for (i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++) {
		probe(&p, svcs[i], pe.port, 300);
		assert_int_equal(p.result, PORTS_WRONG_SERVICE);
		assert_contains(p.detail, "0.3 s");
		assert_in_range(p.elapsed_ms, 290, 800);
	}
	peer_stop(&pe);
}

static void
test_probe_unresolved(void **state)
{
	struct ports_probe p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.host = "no-such-host.invalid";
	p.port = 22;
	p.service = PORTS_SSH;
	p.timeout_ms = 2000;
	ports_probe_run(&p);
	assert_int_equal(p.result, PORTS_UNRESOLVED);
	assert_string_equal(p.address, "");
	assert_contains(p.detail, "no-such-host.invalid: ");
	p.host = "";
	ports_probe_run(&p);
	assert_int_equal(p.result, PORTS_UNRESOLVED);
	p.host = "127.0.0.1";
	p.port = 70000;
	ports_probe_run(&p);
	assert_int_equal(p.result, PORTS_UNRESOLVED);
	assert_contains(p.detail, "port 70000 is not 1 to 65535");
}

static void
test_probe_https(void **state)
{
	static const char notfound[] = "HTTP/1.1 404 Not Found\r\n"
	    "Content-Length: 9\r\n\r\nnot found";
	static const char chunked[] = "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "10\r\n{\"status\":\"ok\",\"\r\n"
	    "11\r\nversion\":\"1.2.3\"}\r\n0\r\n\r\n";
	static const char unavailable[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Length: 44\r\n\r\n"
	    "{\"status\":\"unavailable\",\"version\":\"0.2.0\"}\n\n";
	unsigned char fp[32], other[32];
	char fptext[96];
	struct ports_probe p;
	struct peer pe;
	SSL_CTX *ctx = tls_server_ctx(fp);
	char *big;
	size_t i;

	(void)state;
	vg_hex_format(fp, 32, ':', 1, fptext, sizeof(fptext));
	peer_start(&pe, PEER_TLS, health_ok, strlen(health_ok), ctx);
	probe(&p, PORTS_HTTPS, pe.port, 2000);
	assert_int_equal(p.result, PORTS_OK);
	assert_string_equal(p.fingerprint, fptext);
	assert_contains(p.detail, "TLS 1.3, health ok, vigil 9.8.7, SHA-256 ");
	assert_contains(p.detail, fptext);

	/* Pinned: the same SHA-256 is ok; another is a mismatch that says
	 * both, and that the server answers as a vigil hub. */
	memset(&p, 0, sizeof(p));
	p.host = "127.0.0.1";
	p.port = pe.port;
	p.service = PORTS_HTTPS;
	p.thumbprint = fp;
	p.thumbprint_len = 32;
	p.timeout_ms = 2000;
	ports_probe_run(&p);
	assert_int_equal(p.result, PORTS_OK);
	assert_contains(p.detail, "(pinned)");
	memcpy(other, fp, 32);
	other[31] ^= 1;
	p.thumbprint = other;
	ports_probe_run(&p);
	assert_int_equal(p.result, PORTS_THUMBPRINT_MISMATCH);
	assert_contains(p.detail, fptext);
	assert_contains(p.detail, "is not the pinned ");
	assert_contains(p.detail, "it answers as vigil 9.8.7");
	/* A SHA-1 pin is compared as SHA-1. */
	p.thumbprint_len = 20;
	ports_probe_run(&p);
	assert_int_equal(p.result, PORTS_THUMBPRINT_MISMATCH);
	assert_contains(p.detail, "certificate SHA-1 ");
	peer_stop(&pe);

	peer_start(&pe, PEER_TLS, notfound, strlen(notfound), ctx);
	probe(&p, PORTS_HTTPS, pe.port, 2000);
	assert_int_equal(p.result, PORTS_WRONG_SERVICE);
	assert_string_equal(p.detail, "TLS answered but GET /api/v1/health "
	    "gave 404: not a vigil hub");
	peer_stop(&pe);

	peer_start(&pe, PEER_TLS, chunked, strlen(chunked), ctx);
	probe(&p, PORTS_HTTPS, pe.port, 2000);
	assert_int_equal(p.result, PORTS_OK);
	assert_contains(p.detail, "vigil 1.2.3");
	peer_stop(&pe);

	peer_start(&pe, PEER_TLS, unavailable, strlen(unavailable), ctx);
	probe(&p, PORTS_HTTPS, pe.port, 2000);
	assert_int_equal(p.result, PORTS_WRONG_SERVICE);
	assert_string_equal(p.detail, "the hub (vigil 0.2.0) answered GET "
	    "/api/v1/health with 503 (status \"unavailable\")");
	peer_stop(&pe);

	/* An answer larger than the cap: read up to it, then judged. */
	big = malloc(200000);
	assert_non_null(big);
	i = (size_t)snprintf(big, 200000, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 190000\r\n\r\n{\"status\":\"ok\",\"x\":\"");
	memset(big + i, 'x', 200000 - i);
	peer_start(&pe, PEER_TLS, big, 200000, ctx);
	probe(&p, PORTS_HTTPS, pe.port, 2000);
	assert_int_equal(p.result, PORTS_WRONG_SERVICE);
	assert_contains(p.detail, "the body is not JSON");
	peer_stop(&pe);
	free(big);

	/* A TLS server that wants a client certificate. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	peer_start(&pe, PEER_TLS, health_ok, strlen(health_ok), ctx);
	probe(&p, PORTS_HTTPS, pe.port, 2000);
	assert_int_equal(p.result, PORTS_TLS_FAILURE);
	assert_contains(p.detail, "the server sent the TLS alert "
	    "\"certificate required\" (it wants a client certificate)");
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	probe(&p, PORTS_HTTPS, pe.port, 2000);
	assert_int_equal(p.result, PORTS_TLS_FAILURE);
	assert_contains(p.detail, "(it wants a client certificate)");
	peer_stop(&pe);

	/* A server that speaks only TLS 1.1: below our minimum. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, TLS1_1_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
	peer_start(&pe, PEER_TLS, health_ok, strlen(health_ok), ctx);
	probe(&p, PORTS_HTTPS, pe.port, 2000);
	assert_int_equal(p.result, PORTS_TLS_FAILURE);
	assert_contains(p.detail, "protocol version");
	peer_stop(&pe);
	SSL_CTX_free(ctx);
}

/* ---- ports_check: flows, advice, output ---- */

struct deploy {
	struct ports_deploy d;
	struct ports_matrix m;
};

static void
deploy(struct deploy *t, const char *text)
{
	char err[512];

	memset(t, 0, sizeof(*t));
	if (ports_deploy_parse(text, strlen(text), "deploy.conf", &t->d, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(ports_matrix_build(&t->d, &t->m), 0);
}

static void
deploy_free(struct deploy *t)
{
	ports_matrix_free(&t->m);
	ports_deploy_free(&t->d);
}

static const char deploy_text[] =
    "hub hub.example.net:8443\n"
    "agents 10.0.0.0/24\n"
    "proxy px1\n"
    "ssh 10.0.0.7 10.0.0.8:2222 10.1.0.0/24\n"
    "telnet 10.0.0.9\n"
    "proxy px2\n"
    "smb 10.0.0.20\n";

static void
test_check_flows(void **state)
{
	struct ports_check_opts o = { 0 };
	const struct ports_proxy *px;
	struct check_row *rows;
	struct check_work w = { 0 };
	struct deploy t;
	char err[512];
	size_t n, i;

	(void)state;
	deploy(&t, deploy_text);
	/* The hub: both flows to it, one probe. */
	assert_int_equal(make_rows(&t.m, PORTS_ROLE_HUB, NULL, &rows, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].flow->id, 1);
	assert_int_equal(rows[1].flow->id, 2);
	assert_string_equal(rows[0].host, "hub.example.net");
	assert_int_equal(rows[0].port, 8443);
	assert_int_equal(make_probes(&t.m, rows, n, 500, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(rows[0].probe, rows[1].probe);
	assert_string_equal(w.probes[0].http_path, "/api/");
	assert_null(w.probes[0].thumbprint);
	free(w.probes);
	free(rows);

	/* An agent: its flow to the hub only. */
	assert_int_equal(make_rows(&t.m, PORTS_ROLE_AGENT, NULL, &rows, &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].flow->from_role, PORTS_ROLE_AGENT);
	free(rows);

	/* A proxy: the hub, then its own devices, the network skipped. */
	o.from = PORTS_ROLE_PROXY;
	o.proxy = "px1";
	assert_int_equal(pick_proxy(&t.m, &o, &px, err, sizeof(err)), 0);
	assert_string_equal(px->name, "px1");
	assert_int_equal(make_rows(&t.m, PORTS_ROLE_PROXY, px, &rows, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(rows[1].host, "10.0.0.7");
	assert_int_equal(rows[1].port, 22);
	assert_int_equal(rows[1].flow->service, PORTS_SSH);
	for (i = 0; i < n; i++)
		if (strcmp(rows[i].host, "10.0.0.8") == 0)
			assert_int_equal(rows[i].port, 2222);
		else if (strcmp(rows[i].host, "10.1.0.0/24") == 0)
			assert_true(rows[i].is_net);
		else
			assert_false(rows[i].is_net);
	assert_string_equal(rows[4].host, "10.0.0.9");
	assert_int_equal(rows[4].flow->service, PORTS_TELNET);
	assert_int_equal(make_probes(&t.m, rows, n, 500, &w), 0);
	assert_int_equal(w.n, 4);
	free(w.probes);
	free(rows);

	/* Which proxy: named, the only one, or an error naming them. */
	o.proxy = NULL;
	assert_int_not_equal(pick_proxy(&t.m, &o, &px, err, sizeof(err)), 0);
	assert_string_equal(err, "deploy.conf has 2 proxies: name the one this "
	    "machine is with --proxy (px1, px2)");
	o.proxy = "px3";
	assert_int_not_equal(pick_proxy(&t.m, &o, &px, err, sizeof(err)), 0);
	assert_string_equal(err, "deploy.conf has no proxy 'px3' (its "
	    "proxies: px1, px2)");
	assert_int_equal(ports_check(stdout, &t.m, &o, err, sizeof(err)), 2);
	deploy_free(&t);

	deploy(&t, "hub h\nproxy only\nssh 10.0.0.1\n");
	o.proxy = NULL;
	assert_int_equal(pick_proxy(&t.m, &o, &px, err, sizeof(err)), 0);
	assert_string_equal(px->name, "only");
	deploy_free(&t);
	deploy(&t, "hub h\n");
	assert_int_not_equal(pick_proxy(&t.m, &o, &px, err, sizeof(err)), 0);
	assert_contains(err, "names no proxy agent");
	deploy_free(&t);
}

/* The sentence for a failed probe of a flow of deploy_text. */
static void
sentence(struct deploy *t, int flow, const char *host, int port,
    enum ports_result res, const char *fp, char *out, size_t len)
{
	struct check_row r = { 0 };
	struct ports_probe p;

	memset(&p, 0, sizeof(p));
	r.flow = &t->m.v[flow - 1];
	r.host = host;
	r.port = port;
	p.result = res;
	snprintf(p.address, sizeof(p.address), "%s", host);
	snprintf(p.fingerprint, sizeof(p.fingerprint), "%s", fp);
	failure_sentence(&t->m, &r, &p, out, len);
	assert_printable(out, len);
}

static void
test_check_advice(void **state)
{
	struct deploy t;
	char s[2048];

	(void)state;
	deploy(&t, deploy_text);
	assert_int_equal(t.m.v[2].service, PORTS_SSH);
	sentence(&t, 3, "10.0.0.7", 22, PORTS_REFUSED, "", s, sizeof(s));
	assert_string_equal(s, "10.0.0.7:22 (proxy px1 -> SSH devices): "
	    "refused: nothing listens there or a firewall rejects the "
	    "connection; start the SSH server on 10.0.0.7 or open 22/tcp to "
	    "it from this host (see `vigil ports --format nftables --role "
	    "device`).");
	sentence(&t, 3, "10.0.0.7", 22, PORTS_FILTERED, "", s, sizeof(s));
	assert_string_equal(s, "10.0.0.7:22 (proxy px1 -> SSH devices): "
	    "filtered: a firewall between this host and 10.0.0.7 drops "
	    "22/tcp: allow it from this host (see `vigil ports --format "
	    "nftables --role device`).");
	sentence(&t, 2, "hub.example.net", 8443, PORTS_FILTERED, "", s,
	    sizeof(s));
	assert_contains(s, "hub.example.net:8443 (agents -> hub): filtered: ");
	assert_contains(s, "--role hub`).");
	sentence(&t, 1, "hub.example.net", 8443, PORTS_REFUSED, "", s,
	    sizeof(s));
	assert_contains(s, "(console -> hub): refused: ");
	assert_contains(s, "start vigil-hub on hub.example.net or open "
	    "8443/tcp");
	sentence(&t, 2, "hub.example.net", 8443, PORTS_THUMBPRINT_MISMATCH,
	    "AB:CD", s, sizeof(s));
	assert_string_equal(s, "hub.example.net:8443 (agents -> hub): "
	    "thumbprint mismatch: the hub's certificate is not the one "
	    "pinned: if the hub's certificate was renewed, put the new "
	    "Thumbprint (AB:CD) in HubDetails.xml; otherwise something else "
	    "answers at hub.example.net:8443 (another server or a "
	    "TLS-intercepting proxy) and the agents must not trust it.");
	sentence(&t, 2, "hub.example.net", 8443, PORTS_TLS_FAILURE, "", s,
	    sizeof(s));
	assert_contains(s, "TLS failure: the agents' TLS handshake would fail");
	sentence(&t, 2, "hub.example.net", 8443, PORTS_WRONG_SERVICE, "", s,
	    sizeof(s));
	assert_contains(s, "wrong service: something else than the vigil hub "
	    "answers there");
	sentence(&t, 2, "hub.example.net", 8443, PORTS_UNRESOLVED, "", s,
	    sizeof(s));
	assert_contains(s, "unresolved: the name hub.example.net does not "
	    "resolve on this host: add it to DNS or /etc/hosts, or write its "
	    "address in deploy.conf.");
	sentence(&t, 3, "10.0.0.7", 22, PORTS_NO_ROUTE, "", s, sizeof(s));
	assert_contains(s, "no route: this host cannot reach 10.0.0.7");
	assert_contains(s, "`ip route get 10.0.0.7`");
	sentence(&t, 3, "10.0.0.7", 22, PORTS_WRONG_SERVICE, "", s,
	    sizeof(s));
	assert_contains(s, "no SSH server answers there: write 10.0.0.7's SSH "
	    "port in deploy.conf (HOST:PORT), or make the SSH server listen "
	    "on 22.");
	assert_int_equal(t.m.v[5].service, PORTS_SMB);
	sentence(&t, 6, "10.0.0.20", 445, PORTS_WRONG_SERVICE, "", s,
	    sizeof(s));
	assert_contains(s, "10.0.0.20:445 (proxy px2 -> SMB hosts): wrong "
	    "service: no SMB server answers there");
	{
		struct check_row r = { 0 };
		struct ports_probe p;
		unsigned char b[512];

		memset(&p, 0, sizeof(p));
		r.flow = &t.m.v[5];
		r.host = "10.0.0.20";
		r.port = 445;
		p.result = (enum ports_result)ports_smb_parse(b,
		    smb_answer(b, 0, 0, 0xc00000bbu, 0), p.detail,
		    sizeof(p.detail));
		failure_sentence(&t.m, &r, &p, s, sizeof(s));
		assert_contains(s, "wrong service: an SMB server answers but "
		    "refuses SMB 2.0.2 to 3.0.2: allow SMB 3.0.2 on 10.0.0.20");
	}
	sentence(&t, 6, "fd00::20", 445, PORTS_REFUSED, "", s, sizeof(s));
	assert_contains(s, "[fd00::20]:445 (proxy px2 -> SMB hosts): refused: "
	    "nothing listens there or a firewall rejects the connection; "
	    "start the Server service (File and Printer Sharing) on fd00::20");
	deploy_free(&t);
}

/* ports_check against peers of this process: the hub (TLS), SSH,
 * Telnet, SMB, a refused port and a network. */
static void
test_check_run(void **state)
{
	static const char banner[] = "SSH-2.0-test\r\n";
	static const unsigned char iac[] = { 0xff, 0xfb, 0x01 };
	unsigned char fp[32], smbans[512];
	char text[2048], hex[80], err[512], *out = NULL;
	struct peer hub, sshd, telnetd, smbd;
	struct ports_check_opts o = { 0 };
	struct deploy t;
	json_t *j, *res;
	json_error_t jerr;
	SSL_CTX *ctx = tls_server_ctx(fp);
	size_t outlen = 0, i;
	FILE *f;
	int closed, closed_port;

	(void)state;
	peer_start(&hub, PEER_TLS, health_ok, strlen(health_ok), ctx);
	peer_start(&sshd, PEER_SAY, banner, strlen(banner), NULL);
	peer_start(&telnetd, PEER_SAY, iac, sizeof(iac), NULL);
	peer_start(&smbd, PEER_ANSWER, smbans, smb_answer(smbans, 0x0210, 1,
	    0, 10), NULL);
	closed = loopback_socket(0, &closed_port);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", fp[i]);
	snprintf(text, sizeof(text), "hub https://127.0.0.1:%d/api/\n"
	    "thumbprint %s\nproxy px1\nssh 127.0.0.1:%d 127.0.0.1:%d "
	    "10.9.0.0/24\ntelnet 127.0.0.1:%d\nsmb 127.0.0.1:%d\n"
	    "proxy px2\nssh 127.0.0.1:%d\n", hub.port, hex, sshd.port,
	    closed_port, telnetd.port, smbd.port, sshd.port);
	deploy(&t, text);

	o.from = PORTS_ROLE_PROXY;
	o.proxy = "px1";
	o.timeout_ms = 2000;
	o.jobs = 3;
	assert_non_null(f = open_memstream(&out, &outlen));
	assert_int_equal(ports_check(f, &t.m, &o, err, sizeof(err)), 1);
	fclose(f);
	assert_contains(out, "Checking from the proxy px1 (deploy.conf), 2 s "
	    "per step:\nFLOW ");
	assert_contains(out, "#2 agents->hub  127.0.0.1:");
	assert_contains(out, "  ok  ");
	assert_contains(out, "TLS 1.3, health ok, vigil 9.8.7, SHA-256 ");
	assert_contains(out, "(pinned)");
	assert_contains(out, "SSH-2.0-test");
	assert_contains(out, "option negotiation (IAC WILL ECHO)");
	assert_contains(out, "SMB 2.1 negotiated");
	assert_contains(out, "10.9.0.0/24:22");
	assert_contains(out, "skipped");
	assert_contains(out, "\nAgents need no inbound port");
	snprintf(text, sizeof(text), "\n127.0.0.1:%d (proxy px1 -> SSH "
	    "devices): refused: nothing listens there", closed_port);
	assert_contains(out, text);
	assert_contains(out, "\nnote: proxy px1 -> Telnet devices (");
	assert_contains(out, "\n6 destinations checked: 4 ok, 1 failed, 1 skipped\n");
	/* Aligned: RESULT starts in the same column on every row. */
	{
		const char *line = strstr(out, "FLOW "), *cell;
		long col = strstr(line, "RESULT") - line;

		for (i = 0; i < 6; i++) {
			line = strchr(line, '\n') + 1;
			cell = line + col;
			assert_true(cell[-1] == ' ' && cell[-2] == ' ');
			assert_true(strncmp(cell, "ok ", 3) == 0 ||
			    strncmp(cell, "refused ", 8) == 0 ||
			    strncmp(cell, "skipped ", 8) == 0);
		}
	}
	free(out);

	/* JSON */
	out = NULL;
	o.json = 1;
	assert_non_null(f = open_memstream(&out, &outlen));
	assert_int_equal(ports_check(f, &t.m, &o, err, sizeof(err)), 1);
	fclose(f);
	j = json_loads(out, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "from")),
	    "proxy");
	assert_string_equal(json_string_value(json_object_get(j, "proxy")),
	    "px1");
	assert_int_equal(json_integer_value(json_object_get(j, "ok")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "failed")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "skipped")), 1);
	assert_true(json_is_boolean(json_object_get(json_object_get(j,
	    "agent_listening"), "ok")));
	res = json_object_get(j, "results");
	assert_int_equal(json_array_size(res), 6);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(res,
	    0), "flow")), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(res, 0), "service")), "https");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(res, 2), "result")), "refused");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(res,
	    2), "port")), closed_port);
	assert_contains(json_string_value(json_object_get(json_array_get(res,
	    2), "advice")), "nothing listens there");
	assert_true(json_is_null(json_object_get(json_array_get(res, 1),
	    "advice")));
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(res, 3), "result")), "skipped");
	assert_true(json_is_null(json_object_get(json_array_get(res, 3),
	    "address")));
	json_decref(j);
	free(out);

	/* From the hub: both flows to it, ok; then with another pin. */
	out = NULL;
	o.json = 0;
	o.from = PORTS_ROLE_HUB;
	o.proxy = NULL;
	assert_non_null(f = open_memstream(&out, &outlen));
	assert_int_equal(ports_check(f, &t.m, &o, err, sizeof(err)), 0);
	fclose(f);
	assert_contains(out, "#1 console->hub");
	assert_contains(out, "#2 agents->hub");
	assert_contains(out, "\n2 destinations checked: 2 ok, 0 failed, 0 skipped\n");
	free(out);
	t.d.thumbprint[0] ^= 0xff;
	out = NULL;
	assert_non_null(f = open_memstream(&out, &outlen));
	assert_int_equal(ports_check(f, &t.m, &o, err, sizeof(err)), 1);
	fclose(f);
	assert_contains(out, "thumbprint mismatch");
	assert_contains(out, "(agents -> hub): thumbprint mismatch: the hub's "
	    "certificate is not the one pinned: if the hub's certificate was "
	    "renewed, put the new Thumbprint (");
	free(out);

	deploy_free(&t);
	close(closed);
	peer_stop(&hub);
	peer_stop(&sshd);
	peer_stop(&telnetd);
	peer_stop(&smbd);
	SSL_CTX_free(ctx);
}

/* ---- a listening vigil-agent, on a copy of /proc's layout ---- */

static char proc_dir[64];

static void
write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", proc_dir, rel);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static void
make_dir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", proc_dir, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void
make_link(const char *target, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", proc_dir, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* An address as /proc/net prints it: each 32-bit word as the host
 * holds it, in hex. */
static void
proc_hex(int af, const char *addr, char *out)
{
	unsigned char a[16];
	uint32_t word;
	size_t i, words = af == AF_INET6 ? 4 : 1;

	assert_int_equal(inet_pton(af, addr, a), 1);
	for (i = 0; i < words; i++) {
		memcpy(&word, a + 4 * i, 4);
		snprintf(out + 8 * i, 9, "%08X", word);
	}
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
test_agent_listening(void **state)
{
	static const char head4[] = "  sl  local_address rem_address   st "
	    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
	char lo[40], any6[40], net[1024];
	struct agent_listen al;

	(void)state;
	snprintf(proc_dir, sizeof(proc_dir), "/tmp/test_ports_proc.XXXXXX");
	assert_non_null(mkdtemp(proc_dir));
	make_dir("net");
	proc_hex(AF_INET, "127.0.0.1", lo);
	proc_hex(AF_INET6, "::", any6);
	/* TCP: 1001 listens on 127.0.0.1:8080; 1002 is a connection. */
	snprintf(net, sizeof(net), "%s"
	    "   0: %s:1F90 00000000:0000 0A 00000000:00000000 00:00000000 "
	    "00000000     0        0 1001 1 0000000000000000 100 0 0 10 0\n"
	    "   1: %s:D431 %s:20FB 01 00000000:00000000 00:00000000 "
	    "00000000     0        0 1002 1 0000000000000000 20 4 30 10 -1\n",
	    head4, lo, lo, lo);
	write_file("net/tcp", net);
	/* UDP6: 1003 bound to [::]:5353; 1004 connected. */
	snprintf(net, sizeof(net), "%s"
	    "  10: %s:14E9 00000000000000000000000000000000:0000 07 "
	    "00000000:00000000 00:00000000 00000000     0        0 1003 2 "
	    "0000000000000000 0\n"
	    "  11: %s:9C41 %s:0035 01 00000000:00000000 00:00000000 00000000"
	    "     0        0 1004 2 0000000000000000 0\n", head4, any6, any6,
	    any6);
	write_file("net/udp6", net);
	write_file("net/udp", "garbage\n\n   0: zz:zz\n");
	/* no net/tcp6: a host without IPv6 */

	/* Nothing named vigil-agent. */
	make_dir("77");
	write_file("77/comm", "sshd\n");
	make_dir("77/fd");
	make_link("socket:[1001]", "77/fd/3");
	agent_listen_check(proc_dir, &al);
	assert_true(al.ok);
	assert_string_equal(al.detail, "no vigil-agent runs here");

	/* An agent with a connection only. */
	make_dir("123");
	write_file("123/comm", "vigil-agent\n");
	make_dir("123/fd");
	make_link("/dev/null", "123/fd/0");
	make_link("socket:[1002]", "123/fd/5");
	make_link("socket:[1004]", "123/fd/6");
	make_link("socket:[99999]", "123/fd/7");
	agent_listen_check(proc_dir, &al);
	assert_true(al.ok);
	assert_string_equal(al.detail, "vigil-agent (pid 123) has no listening "
	    "socket (TCP or UDP, IPv4 or IPv6)");

	/* ... and with sockets that wait for others. */
	make_link("socket:[1001]", "123/fd/8");
	make_link("socket:[1003]", "123/fd/9");
	agent_listen_check(proc_dir, &al);
	assert_false(al.ok);
	assert_contains(al.detail, "vigil-agent (pid 123) listens on ");
	assert_contains(al.detail, "127.0.0.1:8080/tcp");
	assert_contains(al.detail, "[::]:5353/udp");
	assert_contains(al.advice, "/proc/123/exe");

	assert_int_equal(nftw(proc_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);

	assert_int_equal(proc_addr_text("0100007", 0, lo, sizeof(lo)), -1);
	assert_int_equal(proc_addr_text("0100007G", 0, lo, sizeof(lo)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smb_ok),
		cmocka_unit_test(test_smb_truncated),
		cmocka_unit_test(test_smb_hostile),
		cmocka_unit_test(test_smb_smb1_and_echo),
		cmocka_unit_test(test_smb_random),
		cmocka_unit_test(test_ssh_banner),
		cmocka_unit_test(test_telnet),
		cmocka_unit_test(test_http_head),
		cmocka_unit_test(test_http_chunked),
		cmocka_unit_test(test_health_json),
		cmocka_unit_test(test_request_parts),
		cmocka_unit_test(test_probe_plain_peers),
		cmocka_unit_test(test_probe_silent),
		cmocka_unit_test(test_probe_unresolved),
		cmocka_unit_test(test_probe_https),
		cmocka_unit_test(test_check_flows),
		cmocka_unit_test(test_check_advice),
		cmocka_unit_test(test_check_run),
		cmocka_unit_test(test_agent_listening),
	};

	/* The peers write to clients that may have gone. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
