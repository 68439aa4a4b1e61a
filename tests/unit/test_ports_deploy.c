/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of cli/ports_deploy.c: the deployment file (every field,
 * every error message with the line and word it names, the limits, BOM,
 * CRLF, comments, IPv6 with a port, networks), the port matrix built
 * from it, and the hub.conf + database (agents, proxied devices, an
 * older schema without them) and HubDetails.xml sources.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ports.h"
#include "vg_err.h"

/* Room for a file of 1 MiB and a few bytes more. */
#define PD_TEST_BIG (1024 * 1024 + 16)

static char tmpdir[] = "/tmp/test_ports_deploy.XXXXXX";

static int
setup_dir(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
parse(const char *text, struct ports_deploy *d, char *err, size_t errlen)
{
	err[0] = '\0';
	return ports_deploy_parse(text, strlen(text), "deploy.conf", d, err,
	    errlen);
}

/* text must fail with exactly msg. */
static void
expect_error(const char *text, int code, const char *msg)
{
	struct ports_deploy d;
	char err[512];
	int r = parse(text, &d, err, sizeof(err));

	if (r != code || strcmp(err, msg) != 0)
		fail_msg("input:\n%s\ngot %d '%s'\nwanted %d '%s'", text, r,
		    err, code, msg);
	/* Nothing is left behind on failure. */
	assert_null(d.hub_host);
	assert_null(d.source);
	assert_null(d.proxies);
	assert_int_equal(d.console.n, 0);
}

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_full_file(void **state)
{
	static const char text[] =
	    "# the deployment of example.net\n"
	    "hub hub.example.net:8443   # the HUBURL's host\n"
	    "thumbprint 9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15 "
	    "A3BF4F1B2B0B822CD15D6C15B0F00A08\n"
	    "\n"
	    "console 10.1.0.0/16 fd00:1::/64\n"
	    "console admin.example.net\n"
	    "agents 10.2.0.0/24 10.2.1.5 fd00::5\n"
	    "\t proxy px1.example.net\n"
	    "ssh 10.3.0.1 [fd00::1]:2222 rtr1.example.net:2200 10.3.1.0/24\n"
	    "telnet 10.3.0.9\n"
	    "proxy 10.4.0.1\n"
	    "smb win1 10.4.0.0/28:4445\n";
	static const unsigned char fp[32] = { 0x9f, 0x86, 0xd0, 0x81, 0x88,
		0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea, 0xa0, 0xc5, 0x5a, 0xd0,
		0x15, 0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b, 0x82, 0x2c, 0xd1,
		0x5d, 0x6c, 0x15, 0xb0, 0xf0, 0x0a, 0x08 };
	struct ports_deploy d;
	const struct ports_proxy *p;
	char err[512];

	(void)state;
	assert_int_equal(parse(text, &d, err, sizeof(err)), 0);
	assert_string_equal(d.source, "deploy.conf");
	assert_string_equal(d.hub_host, "hub.example.net");
	assert_int_equal(d.hub_port, 8443);
	assert_int_equal(d.hub_line, 2);
	assert_string_equal(d.hub_path, "/api/");
	assert_int_equal(d.thumbprint_len, 32);
	assert_memory_equal(d.thumbprint, fp, 32);

	assert_int_equal(d.console.n, 3);
	assert_string_equal(d.console.v[0].text, "10.1.0.0/16");
	assert_int_equal(d.console.v[0].is_net, 1);
	assert_int_equal(d.console.v[0].line, 5);
	assert_string_equal(d.console.v[1].text, "fd00:1::/64");
	assert_int_equal(d.console.v[1].is_net, 1);
	assert_string_equal(d.console.v[2].text, "admin.example.net");
	assert_int_equal(d.console.v[2].is_net, 0);
	assert_int_equal(d.console.v[2].line, 6);

	assert_int_equal(d.agents.n, 3);
	assert_string_equal(d.agents.v[2].text, "fd00::5");
	assert_int_equal(d.agents.v[2].port, 0);
	assert_int_equal(d.agents_known, 1);

	assert_int_equal(d.nproxies, 2);
	p = &d.proxies[0];
	assert_string_equal(p->name, "px1.example.net");
	assert_int_equal(p->line, 8);
	assert_int_equal(p->ssh.n, 4);
	assert_string_equal(p->ssh.v[0].text, "10.3.0.1");
	assert_int_equal(p->ssh.v[0].port, 0);
	assert_string_equal(p->ssh.v[1].text, "fd00::1");
	assert_int_equal(p->ssh.v[1].port, 2222);
	assert_string_equal(p->ssh.v[2].text, "rtr1.example.net");
	assert_int_equal(p->ssh.v[2].port, 2200);
	assert_string_equal(p->ssh.v[3].text, "10.3.1.0/24");
	assert_int_equal(p->ssh.v[3].is_net, 1);
	assert_int_equal(p->ssh.v[3].line, 9);
	assert_int_equal(p->telnet.n, 1);
	assert_int_equal(p->smb.n, 0);
	p = &d.proxies[1];
	assert_string_equal(p->name, "10.4.0.1");
	assert_int_equal(p->ssh.n, 0);
	assert_int_equal(p->smb.n, 2);
	assert_string_equal(p->smb.v[1].text, "10.4.0.0/28");
	assert_int_equal(p->smb.v[1].port, 4445);
	assert_int_equal(p->smb.v[1].is_net, 1);

	ports_deploy_free(&d);
	assert_null(d.hub_host);
	assert_int_equal(d.nproxies, 0);
	ports_deploy_free(&d);
	ports_deploy_free(NULL);
}

static void
test_hub_forms(void **state)
{
	static const struct {
		const char *line, *host, *path;
		int port;
	} cases[] = {
		{ "hub 10.0.0.1", "10.0.0.1", "/api/", 443 },
		{ "hub 10.0.0.1:8443", "10.0.0.1", "/api/", 8443 },
		{ "hub fd00::1", "fd00::1", "/api/", 443 },
		{ "hub [fd00::1]:8443", "fd00::1", "/api/", 8443 },
		{ "hub [fd00::1]", "fd00::1", "/api/", 443 },
		{ "hub hub.example.net.", "hub.example.net.", "/api/", 443 },
		{ "hub https://hub.example.net", "hub.example.net", "/api/",
		    443 },
		{ "hub https://hub.example.net/", "hub.example.net", "/api/",
		    443 },
		{ "hub https://hub:8443/api/", "hub", "/api/", 8443 },
		{ "hub HTTPS://hub:8443/vigil/api", "hub", "/vigil/api/",
		    8443 },
		{ "hub https://[fd00::7]:9443/api/", "fd00::7", "/api/",
		    9443 },
		{ "hub h:65535", "h", "/api/", 65535 },
		{ "hub h:1", "h", "/api/", 1 },
	};
	struct ports_deploy d;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(cases[i].line, &d, err, sizeof(err)) != 0)
			fail_msg("%s: %s", cases[i].line, err);
		assert_string_equal(d.hub_host, cases[i].host);
		assert_string_equal(d.hub_path, cases[i].path);
		assert_int_equal(d.hub_port, cases[i].port);
		assert_int_equal(d.hub_line, 1);
		assert_int_equal(d.thumbprint_len, 0);
		assert_int_equal(d.console.n, 0);
		assert_int_equal(d.agents_known, 0);
		ports_deploy_free(&d);
	}
}

static void
test_comments_bom_crlf(void **state)
{
	static const char text[] =
	    "\xef\xbb\xbf# BOM first\r\n"
	    "hub h:8443\r\n"
	    "   # indented comment\r\n"
	    "\r\n"
	    "\t\r\n"
	    "agents a1 a2#not-a-comment-but-the-next-word-is #comment\r\n"
	    "console any #\r\n"
	    "thumbprint 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b\r\n"
	    "# ends without a newline";
	struct ports_deploy d;
	char err[512];

	(void)state;
	/* '#' inside a word is part of it: a bad name. */
	expect_error(text, VG_ERR_INVAL, "deploy.conf:6: "
	    "'a2#not-a-comment-but-the-next-word-is': not an address, a "
	    "network or a host name (letters, digits, '-' and '.', at most "
	    "253)");
	assert_int_equal(parse("\xef\xbb\xbfhub h\r\nagents a1 a2 #x\r\n"
	    "console any # c\r\n"
	    "thumbprint 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b\r\n"
	    "# last", &d, err, sizeof(err)), 0);
	assert_string_equal(d.hub_host, "h");
	assert_int_equal(d.agents.n, 2);
	assert_string_equal(d.agents.v[1].text, "a2");
	assert_int_equal(d.agents.v[1].line, 2);
	assert_int_equal(d.console.n, 0);
	assert_int_equal(d.thumbprint_len, 20);
	assert_int_equal(d.thumbprint[0], 0x9f);
	assert_int_equal(d.thumbprint[19], 0x1b);
	ports_deploy_free(&d);

	/* A BOM only at the very start; a CR only before the newline. */
	expect_error("hub h\n\xef\xbb\xbf" "agents a\n", VG_ERR_INVAL,
	    "deploy.conf:2: unknown keyword '\xef\xbb\xbf" "agents' "
	    "(expected hub, thumbprint, console, agents, proxy, ssh, telnet, "
	    "smb)");
	expect_error("hub h\ragents a\n", VG_ERR_INVAL,
	    "deploy.conf:1: control character 0x0d in column 6");
	/* An empty file, and one of comments only. */
	expect_error("", VG_ERR_INVAL, "deploy.conf: no 'hub' line");
	expect_error("# nothing\n\n  \n", VG_ERR_INVAL,
	    "deploy.conf: no 'hub' line");
}

static void
test_any_and_known(void **state)
{
	struct ports_deploy d;
	char err[512];

	(void)state;
	/* "any" wins over hosts on the same list. */
	assert_int_equal(parse("hub h\nconsole 10.0.0.1 any\nagents any\n",
	    &d, err, sizeof(err)), 0);
	assert_int_equal(d.console.n, 0);
	assert_int_equal(d.agents.n, 0);
	assert_int_equal(d.agents_known, 0);
	ports_deploy_free(&d);

	/* Proxies alone make the agents known. */
	assert_int_equal(parse("hub h\nproxy px\n", &d, err, sizeof(err)), 0);
	assert_int_equal(d.agents.n, 0);
	assert_int_equal(d.agents_known, 1);
	ports_deploy_free(&d);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *text;
		int code;
		const char *msg;
	} cases[] = {
		{ "hub h\nhubb x\n", VG_ERR_INVAL, "deploy.conf:2: unknown "
		    "keyword 'hubb' (expected hub, thumbprint, console, "
		    "agents, proxy, ssh, telnet, smb)" },
		{ "HUB h\n", VG_ERR_INVAL, "deploy.conf:1: unknown keyword "
		    "'HUB' (expected hub, thumbprint, console, agents, proxy, "
		    "ssh, telnet, smb)" },
		{ "hub h\n\n\n\n\n\ntelnet 10.0.0.1\n", VG_ERR_INVAL,
		    "deploy.conf:7: 'telnet' must follow a 'proxy' line" },
		{ "hub h\nssh a\n", VG_ERR_INVAL,
		    "deploy.conf:2: 'ssh' must follow a 'proxy' line" },
		{ "hub h\nsmb a\n", VG_ERR_INVAL,
		    "deploy.conf:2: 'smb' must follow a 'proxy' line" },
		{ "hub h\n\nagents 10.0.0.0/33\n", VG_ERR_INVAL,
		    "deploy.conf:3: '10.0.0.0/33': prefix length must be 0 to "
		    "32" },
		{ "hub h\nagents fd00::/129\n", VG_ERR_INVAL,
		    "deploy.conf:2: 'fd00::/129': prefix length must be 0 to "
		    "128" },
		{ "hub h\nagents 10.0.0.0/\n", VG_ERR_INVAL,
		    "deploy.conf:2: '10.0.0.0/': prefix length must be 0 to "
		    "32" },
		{ "hub h\nagents 10.0.0.0/2x\n", VG_ERR_INVAL,
		    "deploy.conf:2: '10.0.0.0/2x': prefix length must be 0 to "
		    "32" },
		{ "hub h\nagents 10.0.0.0/0024\n", VG_ERR_INVAL,
		    "deploy.conf:2: '10.0.0.0/0024': prefix length must be 0 "
		    "to 32" },
		{ "hub h\nagents 10.0.0.5/24\n", VG_ERR_INVAL,
		    "deploy.conf:2: '10.0.0.5/24': bits set past the prefix "
		    "length (the network is 10.0.0.0/24)" },
		{ "hub h\nagents fd00::1/64\n", VG_ERR_INVAL,
		    "deploy.conf:2: 'fd00::1/64': bits set past the prefix "
		    "length (the network is fd00::/64)" },
		{ "hub h\nagents net.example/24\n", VG_ERR_INVAL,
		    "deploy.conf:2: 'net.example/24': not a network (IPv4 or "
		    "IPv6 address, '/', prefix length)" },
		{ "hub h\nagents 10.0.0.256\n", VG_ERR_INVAL,
		    "deploy.conf:2: '10.0.0.256': not a valid IPv4 address" },
		{ "hub h\nagents 10.0.0\n", VG_ERR_INVAL,
		    "deploy.conf:2: '10.0.0': not a valid IPv4 address" },
		{ "hub h\nagents fd00::zz\n", VG_ERR_INVAL,
		    "deploy.conf:2: 'fd00::zz': not a valid IPv6 address" },
		{ "hub h\nagents bad_name\n", VG_ERR_INVAL,
		    "deploy.conf:2: 'bad_name': not an address, a network or a "
		    "host name (letters, digits, '-' and '.', at most 253)" },
		{ "hub h\nagents a..b\n", VG_ERR_INVAL,
		    "deploy.conf:2: 'a..b': not an address, a network or a "
		    "host name (letters, digits, '-' and '.', at most 253)" },
		{ "hub h\nagents -j\n", VG_ERR_INVAL,
		    "deploy.conf:2: '-j': not an address, a network or a "
		    "host name (letters, digits, '-' and '.', at most 253)" },
		{ "hub h\nagents a-.b\n", VG_ERR_INVAL,
		    "deploy.conf:2: 'a-.b': not an address, a network or a "
		    "host name (letters, digits, '-' and '.', at most 253)" },
		{ "hub h\nagents a.-b\n", VG_ERR_INVAL,
		    "deploy.conf:2: 'a.-b': not an address, a network or a "
		    "host name (letters, digits, '-' and '.', at most 253)" },
		{ "hub h\nagents b-\n", VG_ERR_INVAL,
		    "deploy.conf:2: 'b-': not an address, a network or a "
		    "host name (letters, digits, '-' and '.', at most 253)" },
		{ "hub h\nagents 10.0.0.1:22\n", VG_ERR_INVAL,
		    "deploy.conf:2: '10.0.0.1:22': a port is not allowed "
		    "here" },
		{ "hub h\nconsole [fd00::1]:443\n", VG_ERR_INVAL,
		    "deploy.conf:2: '[fd00::1]:443': a port is not allowed "
		    "here" },
		{ "hub h\nconsole\n", VG_ERR_INVAL, "deploy.conf:2: 'console' "
		    "needs at least one host, network or 'any'" },
		{ "hub h\nagents # none\n", VG_ERR_INVAL, "deploy.conf:2: "
		    "'agents' needs at least one host, network or 'any'" },
		{ "hub\n", VG_ERR_INVAL, "deploy.conf:1: 'hub' takes one "
		    "HOST[:PORT] or https://HOST[:PORT]/PATH/" },
		{ "hub a b\n", VG_ERR_INVAL, "deploy.conf:1: 'hub' takes one "
		    "HOST[:PORT] or https://HOST[:PORT]/PATH/" },
		{ "hub a\nhub b\n", VG_ERR_INVAL, "deploy.conf:2: 'hub' given "
		    "again (first on line 1)" },
		{ "hub any\n", VG_ERR_INVAL, "deploy.conf:1: 'any' is not a "
		    "hub: name the hub's host" },
		{ "hub 10.0.0.0/24\n", VG_ERR_INVAL, "deploy.conf:1: "
		    "'10.0.0.0/24': a network is not allowed here (name one "
		    "host)" },
		{ "hub http://h/api/\n", VG_ERR_INVAL, "deploy.conf:1: "
		    "'http://h/api/': the hub speaks HTTPS only: expected "
		    "https://" },
		{ "hub https://u@h/api/\n", VG_ERR_INVAL, "deploy.conf:1: "
		    "'https://u@h/api/': a URL with a user name, query, "
		    "fragment, quote or space" },
		{ "hub https:///api/\n", VG_ERR_INVAL, "deploy.conf:1: "
		    "'https:///api/': no host" },
		{ "hub h:0\n", VG_ERR_INVAL, "deploy.conf:1: 'h:0': port must "
		    "be 1 to 65535" },
		{ "hub h:65536\n", VG_ERR_INVAL, "deploy.conf:1: 'h:65536': "
		    "port must be 1 to 65535" },
		{ "hub h:\n", VG_ERR_INVAL, "deploy.conf:1: 'h:': port must "
		    "be 1 to 65535" },
		{ "hub h:+443\n", VG_ERR_INVAL, "deploy.conf:1: 'h:+443': "
		    "port must be 1 to 65535" },
		{ "hub h:000443\n", VG_ERR_INVAL, "deploy.conf:1: 'h:000443': "
		    "port must be 1 to 65535" },
		{ "hub :443\n", VG_ERR_INVAL, "deploy.conf:1: ':443': no "
		    "host" },
		{ "hub [10.0.0.1]:443\n", VG_ERR_INVAL, "deploy.conf:1: "
		    "'[10.0.0.1]:443': brackets are for IPv6 addresses" },
		{ "hub [fd00::1\n", VG_ERR_INVAL, "deploy.conf:1: '[fd00::1': "
		    "expected [IPV6] or [IPV6]:PORT" },
		{ "hub [fd00::1]x\n", VG_ERR_INVAL, "deploy.conf:1: "
		    "'[fd00::1]x': expected [IPV6] or [IPV6]:PORT" },
		{ "hub [name]:443\n", VG_ERR_INVAL, "deploy.conf:1: "
		    "'[name]:443': not a valid IPv6 address" },
		{ "hub h\nthumbprint 12:34\n", VG_ERR_INVAL, "deploy.conf:2: "
		    "'thumbprint' takes the SHA-256 (64 hex digits) or SHA-1 "
		    "(40) fingerprint of the hub's certificate; colons and "
		    "spaces are ignored" },
		{ "hub h\nthumbprint\n", VG_ERR_INVAL, "deploy.conf:2: "
		    "'thumbprint' takes the SHA-256 (64 hex digits) or SHA-1 "
		    "(40) fingerprint of the hub's certificate; colons and "
		    "spaces are ignored" },
		{ "hub h\nthumbprint 9f86d081884c7d659a2feaa0c55ad015a3bf4f1"
		    "x\n", VG_ERR_INVAL, "deploy.conf:2: 'thumbprint' takes "
		    "the SHA-256 (64 hex digits) or SHA-1 (40) fingerprint of "
		    "the hub's certificate; colons and spaces are ignored" },
		{ "hub h\nthumbprint 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"
		    "\nthumbprint 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b\n",
		    VG_ERR_INVAL, "deploy.conf:3: 'thumbprint' given again "
		    "(first on line 2)" },
		{ "hub h\nproxy\n", VG_ERR_INVAL, "deploy.conf:2: 'proxy' "
		    "takes one name or address: the proxy agent's" },
		{ "hub h\nproxy a b\n", VG_ERR_INVAL, "deploy.conf:2: 'proxy' "
		    "takes one name or address: the proxy agent's" },
		{ "hub h\nproxy any\n", VG_ERR_INVAL, "deploy.conf:2: 'any' is "
		    "not a proxy: name the proxy agent's host" },
		{ "hub h\nproxy 10.0.0.0/8\n", VG_ERR_INVAL, "deploy.conf:2: "
		    "'10.0.0.0/8': a network is not allowed here (name one "
		    "host)" },
		{ "hub h\nproxy p:22\n", VG_ERR_INVAL, "deploy.conf:2: 'p:22': "
		    "a port is not allowed here" },
		{ "hub h\nproxy px1\nssh a\nproxy PX1\n", VG_ERR_INVAL,
		    "deploy.conf:4: proxy 'PX1' given again (first on line "
		    "2)" },
		{ "hub h\nproxy b\nproxy a\nproxy b\nproxy a\n", VG_ERR_INVAL,
		    "deploy.conf:4: proxy 'b' given again (first on line 2)" },
		{ "hub h\nproxy p\nssh\n", VG_ERR_INVAL, "deploy.conf:3: 'ssh' "
		    "needs at least one HOST[:PORT]" },
		{ "hub h\nproxy p\ntelnet any\n", VG_ERR_INVAL,
		    "deploy.conf:3: 'any' is not a device: name the telnet "
		    "devices (addresses, networks or names)" },
		{ "hub h\nproxy p\nssh a:0\n", VG_ERR_INVAL, "deploy.conf:3: "
		    "'a:0': port must be 1 to 65535" },
		{ "hub h\nproxy p\nsmb a:99999\n", VG_ERR_INVAL,
		    "deploy.conf:3: 'a:99999': port must be 1 to 65535" },
		{ "hub h\nproxy p\nssh fd00::1:22x\n", VG_ERR_INVAL,
		    "deploy.conf:3: 'fd00::1:22x': not a valid IPv6 "
		    "address" },
		{ "hub h\nagents a\x01" "b\n", VG_ERR_INVAL,
		    "deploy.conf:2: control character 0x01 in column 9" },
		{ "hub h\nagents a\x7f\n", VG_ERR_INVAL,
		    "deploy.conf:2: control character 0x7f in column 9" },
		{ "hub h\nagents caf\xc3\n", VG_ERR_INVAL,
		    "deploy.conf:2: not valid UTF-8" },
		{ "hub h\nagents caf\xc3\xa9\n", VG_ERR_INVAL,
		    "deploy.conf:2: 'caf\xc3\xa9': not an address, a network "
		    "or a host name (letters, digits, '-' and '.', at most "
		    "253)" },
		{ "console any\n", VG_ERR_INVAL, "deploy.conf: no 'hub' "
		    "line" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].text, cases[i].code, cases[i].msg);
}

static void
test_names(void **state)
{
	char text[600], label[70], name[300];
	struct ports_deploy d;
	char err[512];

	(void)state;
	/* A label of 63 is fine, 64 is not. */
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(text, sizeof(text), "hub %s.net\n", label);
	assert_int_equal(parse(text, &d, err, sizeof(err)), 0);
	ports_deploy_free(&d);
	snprintf(text, sizeof(text), "hub %sa.net\n", label);
	assert_int_equal(parse(text, &d, err, sizeof(err)), VG_ERR_INVAL);

	/* 253 in all is fine, 254 is not. */
	memset(name, 0, sizeof(name));
	memset(name, 'b', 253);
	name[60] = name[121] = name[182] = name[243] = '.';
	snprintf(text, sizeof(text), "hub %s\n", name);
	assert_int_equal(parse(text, &d, err, sizeof(err)), 0);
	assert_int_equal(strlen(d.hub_host), 253);
	ports_deploy_free(&d);
	name[253] = 'b';
	snprintf(text, sizeof(text), "hub %s\n", name);
	assert_int_equal(parse(text, &d, err, sizeof(err)), VG_ERR_INVAL);
	/* The message quotes at most 80 bytes of the word. */
	assert_non_null(strstr(err, "...': not an address"));
	assert_true(strlen(err) < 250);

	/* Hyphens, digits, one final dot. */
	assert_int_equal(parse("hub h\nagents a-1.b-2.c 9host.example. "
	    "EXAMPLE.NET\n", &d, err, sizeof(err)), 0);
	assert_int_equal(d.agents.n, 3);
	assert_string_equal(d.agents.v[2].text, "EXAMPLE.NET");
	ports_deploy_free(&d);
}

static void
test_networks(void **state)
{
	struct ports_deploy d;
	char err[512];

	(void)state;
	assert_int_equal(parse("hub h\nagents 0.0.0.0/0 ::/0 10.0.0.0/8 "
	    "10.1.2.3/32 fd00::/64 fd00::1/128 10.0.0.128/25\n", &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.agents.n, 7);
	assert_int_equal(d.agents.v[0].is_net, 1);
	assert_string_equal(d.agents.v[4].text, "fd00::/64");
	assert_int_equal(d.agents.v[4].is_net, 1);
	ports_deploy_free(&d);

	/* Devices: a network with a port, IPv6 with and without one. */
	assert_int_equal(parse("hub h\nproxy p\nssh 10.0.0.0/24:2222 "
	    "[fd00::/120]:22 fd00::1 [fd00::2] [fd00::3]:830\n", &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.proxies[0].ssh.n, 5);
	assert_string_equal(d.proxies[0].ssh.v[0].text, "10.0.0.0/24");
	assert_int_equal(d.proxies[0].ssh.v[0].port, 2222);
	assert_string_equal(d.proxies[0].ssh.v[1].text, "fd00::/120");
	assert_int_equal(d.proxies[0].ssh.v[1].is_net, 1);
	assert_int_equal(d.proxies[0].ssh.v[1].port, 22);
	assert_string_equal(d.proxies[0].ssh.v[2].text, "fd00::1");
	assert_int_equal(d.proxies[0].ssh.v[2].port, 0);
	assert_string_equal(d.proxies[0].ssh.v[3].text, "fd00::2");
	assert_int_equal(d.proxies[0].ssh.v[3].port, 0);
	assert_string_equal(d.proxies[0].ssh.v[4].text, "fd00::3");
	assert_int_equal(d.proxies[0].ssh.v[4].port, 830);
	ports_deploy_free(&d);
}

/* A buffer of text the tests build up. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static void
sb_add(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

/* "hub h" then n more hosts on agents lines of at most ~4000 bytes. */
static void
many_hosts(struct sbuf *b, size_t n)
{
	char w[32];
	size_t i, linelen = 0;

	sb_add(b, "hub h\n");
	for (i = 0; i < n; i++) {
		if (linelen == 0) {
			sb_add(b, "agents");
			linelen = 6;
		}
		snprintf(w, sizeof(w), " h%zx", i);
		sb_add(b, w);
		linelen += strlen(w);
		if (linelen > 4000) {
			sb_add(b, "\n");
			linelen = 0;
		}
	}
	sb_add(b, "\n");
}

static void
test_limits(void **state)
{
	struct sbuf b = { NULL, 0, 0 };
	struct ports_deploy d;
	char err[512], *big;
	int r;

	(void)state;
	/* 65536 hosts in all (the hub is one), not one more. */
	many_hosts(&b, 65535);
	r = ports_deploy_parse(b.s, b.len, "deploy.conf", &d, err,
	    sizeof(err));
	assert_int_equal(r, 0);
	assert_int_equal(d.agents.n, 65535);
	ports_deploy_free(&d);
	free(b.s);
	memset(&b, 0, sizeof(b));
	many_hosts(&b, 65536);
	r = ports_deploy_parse(b.s, b.len, "deploy.conf", &d, err,
	    sizeof(err));
	assert_int_equal(r, VG_ERR_TOOBIG);
	assert_non_null(strstr(err, ": more than 65536 hosts in all"));
	assert_int_equal(strncmp(err, "deploy.conf:", 12), 0);
	free(b.s);

	/* Lines of 4096 bytes, CR aside, and not one more. */
	assert_non_null(big = malloc(PD_TEST_BIG));
	memset(big, ' ', PD_TEST_BIG);
	memcpy(big, "hub h\n", 6);
	big[6 + 4096] = '\r';
	big[6 + 4097] = '\n';
	assert_int_equal(ports_deploy_parse(big, 6 + 4098, "deploy.conf", &d,
	    err, sizeof(err)), 0);
	ports_deploy_free(&d);
	big[6 + 4096] = ' ';
	assert_int_equal(ports_deploy_parse(big, 6 + 4098, "deploy.conf", &d,
	    err, sizeof(err)), VG_ERR_TOOBIG);
	assert_string_equal(err, "deploy.conf:2: line longer than 4096 "
	    "bytes");

	/* A file of 1 MiB, and not one byte more. */
	memset(big, '\n', PD_TEST_BIG);
	memcpy(big, "hub h\n", 6);
	assert_int_equal(ports_deploy_parse(big, 1024 * 1024, "deploy.conf",
	    &d, err, sizeof(err)), 0);
	ports_deploy_free(&d);
	assert_int_equal(ports_deploy_parse(big, 1024 * 1024 + 1,
	    "deploy.conf", &d, err, sizeof(err)), VG_ERR_TOOBIG);
	assert_string_equal(err, "deploy.conf: larger than 1 MiB");
	/* A NUL byte is a control character. */
	big[7] = '\0';
	assert_int_equal(ports_deploy_parse(big, 100, "deploy.conf", &d, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_string_equal(err, "deploy.conf:3: control character 0x00 in "
	    "column 1");
	free(big);
}

static void
test_load(void **state)
{
	struct ports_deploy d;
	char path[256], err[512], *big;

	(void)state;
	snprintf(path, sizeof(path), "%s/deploy.conf", tmpdir);
	write_file(path, "hub h\nproxy p\nssh x\n", 20);
	assert_int_equal(ports_deploy_load(path, &d, err, sizeof(err)), 0);
	assert_string_equal(d.source, path);
	assert_int_equal(d.nproxies, 1);
	ports_deploy_free(&d);

	write_file(path, "hub h\ntelnet x\n", 15);
	assert_int_equal(ports_deploy_load(path, &d, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_non_null(strstr(err, "/deploy.conf:2: 'telnet' must follow a "
	    "'proxy' line"));
	assert_int_equal(strncmp(err, path, strlen(path)), 0);

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	assert_int_equal(ports_deploy_load(path, &d, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
	assert_non_null(strstr(err, "missing.conf: No such file or "
	    "directory"));

	assert_int_equal(ports_deploy_load(tmpdir, &d, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_non_null(strstr(err, ": not a regular file"));

	snprintf(path, sizeof(path), "%s/big.conf", tmpdir);
	assert_non_null(big = calloc(1, PD_TEST_BIG));
	memset(big, '\n', PD_TEST_BIG);
	write_file(path, big, 1024 * 1024 + 1);
	free(big);
	assert_int_equal(ports_deploy_load(path, &d, err, sizeof(err)),
	    VG_ERR_TOOBIG);
	assert_non_null(strstr(err, "big.conf: larger than 1 MiB"));
}

/* ---- the matrix ---- */

static void
build(const char *text, struct ports_deploy *d, struct ports_matrix *m)
{
	char err[512];

	if (parse(text, d, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(ports_matrix_build(d, m), 0);
	assert_ptr_equal(m->d, d);
}

static void
check_flow(const struct ports_flow *f, int id, enum ports_role from,
    enum ports_role to, int port, enum ports_service svc)
{
	assert_int_equal(f->id, id);
	assert_int_equal(f->from_role, from);
	assert_int_equal(f->to_role, to);
	assert_int_equal(f->port, port);
	assert_int_equal(f->service, svc);
	assert_non_null(f->opened_by);
	assert_non_null(f->purpose);
	assert_true(f->to.n > 0);
}

static void
test_matrix_hub_only(void **state)
{
	struct ports_deploy d;
	struct ports_matrix m;

	(void)state;
	build("hub hub.example.net\n", &d, &m);
	assert_int_equal(m.n, 2);
	check_flow(&m.v[0], 1, PORTS_ROLE_CONSOLE, PORTS_ROLE_HUB, 443,
	    PORTS_HTTPS);
	assert_int_equal(m.v[0].from.n, 0);
	assert_int_equal(m.v[0].to.n, 1);
	assert_string_equal(m.v[0].to.v[0].text, "hub.example.net");
	assert_int_equal(m.v[0].to.v[0].line, 1);
	assert_string_equal(m.v[0].opened_by, "the user's browser");
	assert_string_equal(m.v[0].purpose,
	    "the web console and REST API (HTTPS)");
	assert_int_equal(m.v[0].insecure, 0);
	assert_null(m.v[0].advice);
	assert_null(m.v[0].proxy);
	check_flow(&m.v[1], 2, PORTS_ROLE_AGENT, PORTS_ROLE_HUB, 443,
	    PORTS_HTTPS);
	assert_int_equal(m.v[1].from.n, 0);
	assert_string_equal(m.v[1].opened_by, "the agent");
	assert_string_equal(m.v[1].purpose,
	    "agents report changes and poll for policy (HTTPS)");
	ports_matrix_free(&m);
	assert_null(m.v);
	assert_int_equal(m.n, 0);
	ports_matrix_free(&m);
	ports_matrix_free(NULL);
	ports_deploy_free(&d);
}

static void
test_matrix_custom_port(void **state)
{
	struct ports_deploy d;
	struct ports_matrix m;

	(void)state;
	build("hub 10.0.0.1:8443\nconsole 10.9.0.0/16\n"
	    "agents 10.1.0.0/24 web01\n", &d, &m);
	assert_int_equal(m.n, 2);
	check_flow(&m.v[0], 1, PORTS_ROLE_CONSOLE, PORTS_ROLE_HUB, 8443,
	    PORTS_HTTPS);
	assert_int_equal(m.v[0].from.n, 1);
	assert_string_equal(m.v[0].from.v[0].text, "10.9.0.0/16");
	assert_int_equal(m.v[0].from.v[0].is_net, 1);
	check_flow(&m.v[1], 2, PORTS_ROLE_AGENT, PORTS_ROLE_HUB, 8443,
	    PORTS_HTTPS);
	assert_int_equal(m.v[1].from.n, 2);
	assert_string_equal(m.v[1].from.v[0].text, "10.1.0.0/24");
	assert_string_equal(m.v[1].from.v[1].text, "web01");
	assert_string_equal(m.v[1].to.v[0].text, "10.0.0.1");
	/* Copies: the matrix outlives nothing of d's lists. */
	assert_ptr_not_equal(m.v[1].from.v[0].text, d.agents.v[0].text);
	ports_matrix_free(&m);
	ports_deploy_free(&d);
}

static void
test_matrix_proxy(void **state)
{
	struct ports_deploy d;
	struct ports_matrix m;
	const struct ports_flow *f;

	(void)state;
	build("hub hub:8443\n"
	    "agents 10.1.0.0/24 px1\n"
	    "proxy px1\n"
	    "ssh 10.2.0.1 rtr1:2222 10.2.0.2\n"
	    "telnet sw1 sw2:2323 sw3\n"
	    "smb win1 win2\n"
	    "ssh 10.2.0.3:2222\n"
	    "proxy px2\n"
	    "ssh lin1\n", &d, &m);
	assert_int_equal(m.n, 8);
	/* The proxies are agents: px1 once, px2 added. */
	f = &m.v[1];
	assert_int_equal(f->from.n, 3);
	assert_string_equal(f->from.v[0].text, "10.1.0.0/24");
	assert_string_equal(f->from.v[1].text, "px1");
	assert_string_equal(f->from.v[2].text, "px2");
	assert_int_equal(f->from.v[2].line, 8);

	f = &m.v[2];
	check_flow(f, 3, PORTS_ROLE_PROXY, PORTS_ROLE_DEVICE, 22, PORTS_SSH);
	assert_ptr_equal(f->proxy, &d.proxies[0]);
	assert_int_equal(f->from.n, 1);
	assert_string_equal(f->from.v[0].text, "px1");
	assert_int_equal(f->from.v[0].line, 3);
	assert_int_equal(f->to.n, 2);
	assert_string_equal(f->to.v[0].text, "10.2.0.1");
	assert_string_equal(f->to.v[1].text, "10.2.0.2");
	assert_string_equal(f->opened_by, "the proxy agent");
	assert_string_equal(f->purpose, "SSH: Linux hosts and network "
	    "devices");
	assert_int_equal(f->insecure, 0);

	f = &m.v[3];
	check_flow(f, 4, PORTS_ROLE_PROXY, PORTS_ROLE_DEVICE, 2222, PORTS_SSH);
	assert_int_equal(f->to.n, 2);
	assert_string_equal(f->to.v[0].text, "rtr1");
	assert_string_equal(f->to.v[1].text, "10.2.0.3");
	assert_int_equal(f->to.v[1].line, 7);

	/* Two Telnet ports: two flows, both insecure. */
	f = &m.v[4];
	check_flow(f, 5, PORTS_ROLE_PROXY, PORTS_ROLE_DEVICE, 23,
	    PORTS_TELNET);
	assert_int_equal(f->to.n, 2);
	assert_string_equal(f->to.v[1].text, "sw3");
	assert_int_equal(f->insecure, 1);
	assert_string_equal(f->purpose, "Telnet: legacy network devices");
	assert_string_equal(f->advice, "Telnet sends passwords and "
	    "configurations in clear text: move these devices to SSH (port "
	    "22) when they support it");
	f = &m.v[5];
	check_flow(f, 6, PORTS_ROLE_PROXY, PORTS_ROLE_DEVICE, 2323,
	    PORTS_TELNET);
	assert_int_equal(f->to.n, 1);
	assert_string_equal(f->to.v[0].text, "sw2");
	assert_int_equal(f->insecure, 1);
	assert_non_null(f->advice);

	f = &m.v[6];
	check_flow(f, 7, PORTS_ROLE_PROXY, PORTS_ROLE_DEVICE, 445, PORTS_SMB);
	assert_int_equal(f->to.n, 2);
	assert_string_equal(f->purpose, "SMB: Windows hosts (Remote Registry, "
	    "admin shares)");
	assert_null(f->advice);

	f = &m.v[7];
	check_flow(f, 8, PORTS_ROLE_PROXY, PORTS_ROLE_DEVICE, 22, PORTS_SSH);
	assert_ptr_equal(f->proxy, &d.proxies[1]);
	assert_string_equal(f->from.v[0].text, "px2");
	ports_matrix_free(&m);
	ports_deploy_free(&d);
}

static void
test_matrix_no_telnet(void **state)
{
	struct ports_deploy d;
	struct ports_matrix m;
	size_t i;

	(void)state;
	build("hub hub\nproxy px\nssh a\nsmb w\n", &d, &m);
	assert_int_equal(m.n, 4);
	for (i = 0; i < m.n; i++) {
		assert_int_not_equal(m.v[i].service, PORTS_TELNET);
		assert_int_equal(m.v[i].insecure, 0);
	}
	/* No agents line: the proxy is the only agent source. */
	assert_int_equal(m.v[1].from.n, 1);
	assert_string_equal(m.v[1].from.v[0].text, "px");
	assert_int_equal(m.v[2].service, PORTS_SSH);
	assert_int_equal(m.v[3].service, PORTS_SMB);
	ports_matrix_free(&m);
	ports_deploy_free(&d);

	/* A proxy without devices: the agent flow only. */
	build("hub hub\nagents any\nproxy px\n", &d, &m);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.v[1].from.n, 0);
	ports_matrix_free(&m);
	ports_deploy_free(&d);
}

static void
test_names_of_enums(void **state)
{
	(void)state;
	assert_string_equal(ports_service_name(PORTS_HTTPS), "https");
	assert_string_equal(ports_service_name(PORTS_SSH), "ssh");
	assert_string_equal(ports_service_name(PORTS_TELNET), "telnet");
	assert_string_equal(ports_service_name(PORTS_SMB), "smb");
	assert_string_equal(ports_role_name(PORTS_ROLE_HUB), "hub");
	assert_string_equal(ports_role_name(PORTS_ROLE_AGENT), "agent");
	assert_string_equal(ports_role_name(PORTS_ROLE_PROXY), "proxy");
	assert_string_equal(ports_role_name(PORTS_ROLE_CONSOLE), "console");
	assert_string_equal(ports_role_name(PORTS_ROLE_DEVICE), "device");
	assert_string_equal(ports_service_title(PORTS_HTTPS), "HTTPS");
	assert_string_equal(ports_service_title(PORTS_SSH), "SSH");
	assert_string_equal(ports_service_title(PORTS_TELNET), "Telnet");
	assert_string_equal(ports_service_title(PORTS_SMB), "SMB");
}

static void
test_proxy_lookup(void **state)
{
	struct ports_deploy d;
	char err[512], names[14];

	(void)state;
	assert_int_equal(parse("hub h\n", &d, err, sizeof(err)), 0);
	ports_proxy_names(&d, names, sizeof(names));
	assert_string_equal(names, "none");
	assert_null(ports_proxy_find(&d, "px1"));
	ports_deploy_free(&d);

	assert_int_equal(parse("hub h\nproxy px1\nproxy PX-two.example\n"
	    "proxy 10.0.0.3\n", &d, err, sizeof(err)), 0);
	/* Host names: case aside. */
	assert_ptr_equal(ports_proxy_find(&d, "PX1"), &d.proxies[0]);
	assert_ptr_equal(ports_proxy_find(&d, "px-two.example"),
	    &d.proxies[1]);
	assert_null(ports_proxy_find(&d, "px"));
	/* Cut to fit, and said so. */
	ports_proxy_names(&d, names, sizeof(names));
	assert_string_equal(names, "px1, PX-tw...");
	ports_deploy_free(&d);
}

/* ---- the other sources ---- */

static void
make_db(const char *path, const char *rows)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, rows, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s", msg);
	sqlite3_close(db);
}

/* A self-signed certificate and its SHA-256 fingerprint. */
static const char hub_crt[] = "-----BEGIN CERTIFICATE-----\n"
    "MIIBfTCCASOgAwIBAgIUIhHMLj/c8dWNP9kbm6Ror0Lti6IwCgYIKoZIzj0EAwIw\n"
    "EzERMA8GA1UEAwwIaHViLnRlc3QwIBcNMjYxMTI3MDI0NTI4WhgPMjEyNjExMDMw\n"
    "MjQ1MjhaMBMxETAPBgNVBAMMCGh1Yi50ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0D\n"
    "AQcDQgAEF2uxJQg7V59mQZen9HVsRBlSXDbiU6TAjdInUif+E5p4ckUnE7lhg6X1\n"
    "OSskx2fYKF1ent5ATRpCdEi1Qe7IY6NTMFEwHQYDVR0OBBYEFEw11nZVuIouJbbV\n"
    "4SMqL5mDSdmXMB8GA1UdIwQYMBaAFEw11nZVuIouJbbV4SMqL5mDSdmXMA8GA1Ud\n"
    "EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgPLYP6loAdsrR/I+ravNpc5UO\n"
    "Tr74JA30KIpHNE7u/xACIQDZXew5XwYwUOomWUr5qL9SN3sWIYTkXN9WwAw7jPJY\n"
    "vg==\n"
    "-----END CERTIFICATE-----\n";
static const unsigned char hub_crt_sha256[32] = { 0xc7, 0x21, 0xe0, 0x68,
	0xe8, 0x79, 0xcc, 0x37, 0xcc, 0xd2, 0x7d, 0xce, 0x0b, 0xd6, 0x74,
	0xb1, 0x23, 0x9d, 0xf5, 0x77, 0x31, 0x79, 0x5a, 0x6a, 0x48, 0xa4,
	0x20, 0x38, 0xac, 0x2d, 0xc7, 0x04 };

/* The pin ports_deploy_from_hub() finds for hub.conf conf. */
static size_t
d_thumb_len_then_free(const char *conf)
{
	struct ports_deploy d;
	char err[512];
	size_t n;

	assert_int_equal(ports_deploy_from_hub(conf, NULL, &d, err,
	    sizeof(err)), 0);
	n = d.thumbprint_len;
	ports_deploy_free(&d);
	return n;
}

static void
test_from_hub(void **state)
{
	struct ports_deploy d;
	char conf[256], dir[256], db[300], text[600], err[512], want[700];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/hubdata", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(db, sizeof(db), "%s/hub.db", dir);
	make_db(db, "CREATE TABLE device (id INTEGER PRIMARY KEY, peer TEXT);"
	    "INSERT INTO device(peer) VALUES ('10.0.0.7'), ('10.0.0.5'),"
	    " ('10.0.0.7'), (NULL), (''), ('unknown'), ('127.0.0.1'),"
	    " ('fd00::9'), ('fe80::1');");
	snprintf(conf, sizeof(conf), "%s/hub.conf", tmpdir);

	/* Listening on every address: the host name. */
	snprintf(text, sizeof(text), "listen = 0.0.0.0:8443\ndata_dir = %s\n",
	    dir);
	write_file(conf, text, strlen(text));
	assert_int_equal(ports_deploy_from_hub(conf, NULL, &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.hub_port, 8443);
	assert_non_null(d.hub_host);
	assert_true(strlen(d.hub_host) > 0);
	assert_string_equal(d.hub_path, "/api/");
	assert_int_equal(d.agents.n, 3);
	assert_string_equal(d.agents.v[0].text, "10.0.0.5");
	assert_string_equal(d.agents.v[1].text, "10.0.0.7");
	assert_string_equal(d.agents.v[2].text, "fd00::9");
	assert_int_equal(d.agents_known, 1);
	/* A database older than proxied devices (no device.kind): none. */
	assert_int_equal(d.nproxies, 0);
	snprintf(want, sizeof(want), "%s and %s", conf, db);
	assert_string_equal(d.source, want);
	ports_deploy_free(&d);

	/* No certificate in the data folder: no pin. */
	assert_int_equal(d_thumb_len_then_free(conf), 0);

	/* The certificate agents pin: its SHA-256 becomes the pin. */
	snprintf(want, sizeof(want), "%s/hub.crt", dir);
	write_file(want, hub_crt, strlen(hub_crt));
	assert_int_equal(ports_deploy_from_hub(conf, NULL, &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.thumbprint_len, 32);
	assert_memory_equal(d.thumbprint, hub_crt_sha256, 32);
	ports_deploy_free(&d);

	/* A listen address, then the public URL, win over the host name. */
	snprintf(text, sizeof(text), "listen = 10.0.0.1:9443\ndata_dir = "
	    "%s\n", dir);
	write_file(conf, text, strlen(text));
	assert_int_equal(ports_deploy_from_hub(conf, NULL, &d, err,
	    sizeof(err)), 0);
	assert_string_equal(d.hub_host, "10.0.0.1");
	assert_int_equal(d.hub_port, 9443);
	ports_deploy_free(&d);
	snprintf(text, sizeof(text), "listen = [::]:9443\nurl = "
	    "https://hub.example.net:443/vigil/api/\ndata_dir = %s\n", dir);
	write_file(conf, text, strlen(text));
	assert_int_equal(ports_deploy_from_hub(conf, NULL, &d, err,
	    sizeof(err)), 0);
	assert_string_equal(d.hub_host, "hub.example.net");
	assert_int_equal(d.hub_port, 9443);
	assert_string_equal(d.hub_path, "/vigil/api/");
	ports_deploy_free(&d);

	/* --data-dir over hub.conf's; a missing database is an error. */
	snprintf(text, sizeof(text), "data_dir = %s/nowhere\n", tmpdir);
	write_file(conf, text, strlen(text));
	assert_int_equal(ports_deploy_from_hub(conf, NULL, &d, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	snprintf(want, sizeof(want), "%s/nowhere/hub.db: No such file or "
	    "directory (the hub's database; name the hub's data folder with "
	    "--data-dir)", tmpdir);
	assert_string_equal(err, want);
	assert_null(d.source);
	assert_int_equal(ports_deploy_from_hub(conf, dir, &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.hub_port, 443);
	ports_deploy_free(&d);

	/* A hub.conf named that does not exist: the defaults, said so. */
	snprintf(conf, sizeof(conf), "%s/none.conf", tmpdir);
	assert_int_equal(ports_deploy_from_hub(conf, dir, &d, err,
	    sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s (not found: the defaults) and %s",
	    conf, db);
	assert_string_equal(d.source, want);
	ports_deploy_free(&d);

	/* A bad hub.conf line is its error; a database without devices. */
	snprintf(conf, sizeof(conf), "%s/bad.conf", tmpdir);
	write_file(conf, "listen = nope\n", 14);
	assert_int_equal(ports_deploy_from_hub(conf, dir, &d, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "bad.conf:1: listen"));
	snprintf(db, sizeof(db), "%s/other", tmpdir);
	assert_int_equal(mkdir(db, 0700), 0);
	snprintf(db, sizeof(db), "%s/other/hub.db", tmpdir);
	make_db(db, "CREATE TABLE t (x);");
	snprintf(db, sizeof(db), "%s/other", tmpdir);
	snprintf(conf, sizeof(conf), "%s/none.conf", tmpdir);
	assert_int_equal(ports_deploy_from_hub(conf, db, &d, err,
	    sizeof(err)), VG_ERR_DB);
	assert_non_null(strstr(err, "is it a vigil hub database?"));
}

/* The device table of a hub with proxied devices (schema 4), the
 * columns read here. */
#define DEVICE_V4 "CREATE TABLE device (id INTEGER PRIMARY KEY," \
	" agent_id INTEGER, name TEXT NOT NULL, hostname TEXT NOT NULL," \
	" peer TEXT, kind INTEGER NOT NULL DEFAULT 0, proxy INTEGER," \
	" host TEXT, port INTEGER, protocol INTEGER);"

/* A hub folder in tmpdir/sub holding a database made of sql; conf the
 * hub.conf naming it. */
static void
hub_with(const char *sub, const char *sql, char *conf, size_t conflen)
{
	char dir[256], db[300], text[400];

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, sub);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(db, sizeof(db), "%s/hub.db", dir);
	make_db(db, sql);
	snprintf(conf, conflen, "%s/%s.conf", tmpdir, sub);
	snprintf(text, sizeof(text), "listen = 10.0.0.1:8443\ndata_dir = "
	    "%s\n", dir);
	write_file(conf, text, strlen(text));
}

static void
test_from_hub_proxied(void **state)
{
	struct ports_deploy d;
	struct ports_matrix m;
	const struct ports_flow *f;
	char conf[256], err[512], want[700];

	(void)state;
	/* px1 seen at 10.0.0.5; px2 from loopback, so at the host name it
	 * reported; agent3 proxies nothing. Of the proxied devices, one
	 * repeats another, one has a protocol this vigil does not know and
	 * one no host: left out. win1 and win2 are Windows hosts (SMB). */
	hub_with("proxied", DEVICE_V4
	    "INSERT INTO device(id, agent_id, name, hostname, peer) VALUES"
	    " (1, 1, 'px1', 'px1.lan', '10.0.0.5'),"
	    " (2, 2, 'px2', 'px2.example.net', '127.0.0.1'),"
	    " (3, 3, 'agent3', 'agent3', '10.0.0.9');"
	    "INSERT INTO device(id, agent_id, name, hostname, kind, proxy,"
	    " host, port, protocol) VALUES"
	    " (4, 1, 'r1', '', 1, 1, '10.2.0.1', 22, 1),"
	    " (5, 1, 'sw1', '', 1, 1, 'sw1.example.net', 2323, 2),"
	    " (6, 1, 'r1 again', '', 1, 1, '10.2.0.1', 22, 1),"
	    " (7, 2, 'lin', '', 1, 2, 'fd00::7', 2222, 1),"
	    " (8, 3, 'odd', '', 1, 3, '10.2.0.8', 22, 9),"
	    " (9, 3, 'none', '', 1, 3, NULL, 22, 1),"
	    " (10, 1, 'r3', '', 1, 1, 'r3.example.net', NULL, 2),"
	    " (11, 2, 'win1', '', 1, 2, '10.2.0.11', 445, 3),"
	    " (12, 2, 'win2', '', 1, 2, 'win2.example.net', NULL, 3);",
	    conf, sizeof(conf));
	assert_int_equal(ports_deploy_from_hub(conf, NULL, &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.nproxies, 2);
	assert_string_equal(d.proxies[0].name, "px1");
	assert_string_equal(d.proxies[0].addr, "10.0.0.5");
	assert_int_equal(d.proxies[0].ssh.n, 1);
	assert_string_equal(d.proxies[0].ssh.v[0].text, "10.2.0.1");
	assert_int_equal(d.proxies[0].ssh.v[0].port, 22);
	assert_int_equal(d.proxies[0].telnet.n, 2);
	assert_string_equal(d.proxies[0].telnet.v[0].text, "r3.example.net");
	assert_int_equal(d.proxies[0].telnet.v[0].port, 0);
	assert_string_equal(d.proxies[0].telnet.v[1].text, "sw1.example.net");
	assert_int_equal(d.proxies[0].telnet.v[1].port, 2323);
	assert_int_equal(d.proxies[0].smb.n, 0);
	assert_string_equal(d.proxies[1].name, "px2");
	assert_string_equal(d.proxies[1].addr, "px2.example.net");
	assert_int_equal(d.proxies[1].smb.n, 2);
	assert_string_equal(d.proxies[1].smb.v[0].text, "10.2.0.11");
	assert_int_equal(d.proxies[1].smb.v[0].port, 445);
	assert_string_equal(d.proxies[1].smb.v[1].text, "win2.example.net");
	assert_int_equal(d.proxies[1].smb.v[1].port, 0);
	assert_ptr_equal(ports_proxy_find(&d, "PX2"), &d.proxies[1]);
	assert_int_equal(d.agents.n, 2);

	/* The matrix a deployment file naming them would give. */
	assert_int_equal(ports_matrix_build(&d, &m), 0);
	assert_int_equal(m.n, 7);
	f = &m.v[1];
	check_flow(f, 2, PORTS_ROLE_AGENT, PORTS_ROLE_HUB, 8443, PORTS_HTTPS);
	/* The proxies are agents: px1 at its address once, px2 added. */
	assert_int_equal(f->from.n, 3);
	assert_string_equal(f->from.v[0].text, "10.0.0.5");
	assert_string_equal(f->from.v[1].text, "10.0.0.9");
	assert_string_equal(f->from.v[2].text, "px2.example.net");
	f = &m.v[2];
	check_flow(f, 3, PORTS_ROLE_PROXY, PORTS_ROLE_DEVICE, 22, PORTS_SSH);
	assert_ptr_equal(f->proxy, &d.proxies[0]);
	assert_int_equal(f->from.n, 1);
	assert_string_equal(f->from.v[0].text, "10.0.0.5");
	assert_int_equal(f->to.n, 1);
	assert_string_equal(f->to.v[0].text, "10.2.0.1");
	assert_int_equal(f->insecure, 0);
	f = &m.v[3];
	check_flow(f, 4, PORTS_ROLE_PROXY, PORTS_ROLE_DEVICE, 23,
	    PORTS_TELNET);
	assert_string_equal(f->to.v[0].text, "r3.example.net");
	assert_int_equal(f->insecure, 1);
	assert_non_null(f->advice);
	f = &m.v[4];
	check_flow(f, 5, PORTS_ROLE_PROXY, PORTS_ROLE_DEVICE, 2323,
	    PORTS_TELNET);
	assert_string_equal(f->to.v[0].text, "sw1.example.net");
	assert_int_equal(f->insecure, 1);
	f = &m.v[5];
	check_flow(f, 6, PORTS_ROLE_PROXY, PORTS_ROLE_DEVICE, 2222, PORTS_SSH);
	assert_ptr_equal(f->proxy, &d.proxies[1]);
	assert_string_equal(f->from.v[0].text, "px2.example.net");
	assert_string_equal(f->to.v[0].text, "fd00::7");
	/* The Windows hosts: one SMB flow to port 445, not insecure. */
	f = &m.v[6];
	check_flow(f, 7, PORTS_ROLE_PROXY, PORTS_ROLE_DEVICE, 445, PORTS_SMB);
	assert_ptr_equal(f->proxy, &d.proxies[1]);
	assert_string_equal(f->from.v[0].text, "px2.example.net");
	assert_int_equal(f->to.n, 2);
	assert_string_equal(f->to.v[0].text, "10.2.0.11");
	assert_string_equal(f->to.v[1].text, "win2.example.net");
	assert_int_equal(f->insecure, 0);
	ports_matrix_free(&m);
	ports_deploy_free(&d);

	/* Two proxy agents of one name are told apart by device id; one
	 * known by its name alone (no peer, no valid host name) is at it. */
	hub_with("twins", DEVICE_V4
	    "INSERT INTO device(id, agent_id, name, hostname, peer) VALUES"
	    " (3, 3, 'px', 'a b', NULL), (12, 12, 'PX', '', '10.0.0.12'),"
	    " (20, 20, 'solo', '', NULL);"
	    "INSERT INTO device(id, agent_id, name, hostname, kind, proxy,"
	    " host, port, protocol) VALUES"
	    " (30, 12, 'a', '', 1, 12, '10.3.0.1', 22, 1),"
	    " (31, 3, 'b', '', 1, 3, '10.3.0.2', 22, 1),"
	    " (32, 20, 'c', '', 1, 20, '10.3.0.3', 22, 1);",
	    conf, sizeof(conf));
	assert_int_equal(ports_deploy_from_hub(conf, NULL, &d, err,
	    sizeof(err)), 0);
	assert_int_equal(d.nproxies, 3);
	assert_string_equal(d.proxies[0].name, "px#3");
	assert_null(d.proxies[0].addr);
	assert_string_equal(d.proxies[1].name, "PX#12");
	assert_string_equal(d.proxies[1].addr, "10.0.0.12");
	assert_string_equal(d.proxies[2].name, "solo");
	assert_null(d.proxies[2].addr);
	assert_int_equal(ports_matrix_build(&d, &m), 0);
	assert_string_equal(m.v[4].from.v[0].text, "solo");
	ports_matrix_free(&m);
	ports_deploy_free(&d);

	/* A host that is neither an address nor a host name: an error
	 * naming the device, as a deployment file's line. */
	hub_with("badhost", DEVICE_V4
	    "INSERT INTO device(id, agent_id, name, hostname, peer) VALUES"
	    " (1, 1, 'px1', 'px1', '10.0.0.5');"
	    "INSERT INTO device(id, agent_id, name, hostname, kind, proxy,"
	    " host, port, protocol) VALUES"
	    " (2, 1, 'r1', '', 1, 1, 'lab_rtr1', 22, 1);",
	    conf, sizeof(conf));
	assert_int_equal(ports_deploy_from_hub(conf, NULL, &d, err,
	    sizeof(err)), VG_ERR_INVAL);
	snprintf(want, sizeof(want), "%s/badhost/hub.db: proxied device 2 "
	    "(r1): host 'lab_rtr1': not an address, a network or a host name "
	    "(letters, digits, '-' and '.', at most 253)", tmpdir);
	assert_string_equal(err, want);
	assert_null(d.proxies);
	assert_null(d.source);
}

static void
test_from_hubdetails(void **state)
{
	static const char xml[] = "<HubDetails>"
	    "<Url>https://[fd00::1]:8443/api/</Url>"
	    "<Thumbprint>9f86d081884c7d659a2feaa0c55ad015a3bf4f1b</Thumbprint>"
	    "</HubDetails>";
	struct ports_deploy d;
	char path[256], err[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/HubDetails.xml", tmpdir);
	write_file(path, xml, strlen(xml));
	assert_int_equal(ports_deploy_from_hubdetails(path, &d, err,
	    sizeof(err)), 0);
	assert_string_equal(d.hub_host, "fd00::1");
	assert_int_equal(d.hub_port, 8443);
	assert_string_equal(d.hub_path, "/api/");
	assert_int_equal(d.thumbprint_len, 20);
	assert_int_equal(d.thumbprint[0], 0x9f);
	assert_string_equal(d.source, path);
	assert_int_equal(d.agents_known, 0);
	ports_deploy_free(&d);

	snprintf(path, sizeof(path), "%s/none.xml", tmpdir);
	assert_int_equal(ports_deploy_from_hubdetails(path, &d, err,
	    sizeof(err)), VG_ERR_NOTFOUND);
	assert_non_null(strstr(err, "none.xml"));
	assert_null(d.hub_host);
}

/* Errors the API source finds before it connects. */
static void
test_from_api_args(void **state)
{
	struct ports_deploy d;
	char err[512];

	(void)state;
	assert_int_equal(ports_deploy_from_api("https://127.0.0.1:1/api/",
	    "admin", "pw", "12:34", 0, &d, err, sizeof(err)), VG_ERR_INVAL);
	assert_string_equal(err, "--thumbprint: expected the SHA-256 (64 hex "
	    "digits) or SHA-1 (40) fingerprint of the hub's certificate; "
	    "colons and spaces are ignored");
	assert_int_equal(ports_deploy_from_api("http://hub/api/", "admin",
	    "pw", NULL, 0, &d, err, sizeof(err)), VG_ERR_INVAL);
	assert_string_equal(err, "--api 'http://hub/api/': the hub speaks "
	    "HTTPS only: expected https://");
	/* Nothing listens on port 1: an error naming the URL, no secret. */
	assert_int_equal(ports_deploy_from_api("127.0.0.1:1", "admin",
	    "s3cret-pw", NULL, 1, &d, err, sizeof(err)), VG_ERR_IO);
	assert_non_null(strstr(err, "https://127.0.0.1:1/api/v1/session"));
	assert_null(strstr(err, "s3cret-pw"));
	assert_null(d.hub_host);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_hub_forms),
		cmocka_unit_test(test_comments_bom_crlf),
		cmocka_unit_test(test_any_and_known),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_matrix_hub_only),
		cmocka_unit_test(test_matrix_custom_port),
		cmocka_unit_test(test_matrix_proxy),
		cmocka_unit_test(test_matrix_no_telnet),
		cmocka_unit_test(test_names_of_enums),
		cmocka_unit_test(test_proxy_lookup),
		cmocka_unit_test(test_from_hub),
		cmocka_unit_test(test_from_hub_proxied),
		cmocka_unit_test(test_from_hubdetails),
		cmocka_unit_test(test_from_api_args),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
