/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of agent/hubdetails: every field of a valid file, each error
 * with the line it names, and hd_remove_password keeping the rest of the
 * file byte for byte with its mode (hd_remove_password_if only when the
 * Password is the one used).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hubdetails.h"
#include "vg_err.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static int
parse(const char *xml, struct hubdetails *hd, char *err, size_t errlen)
{
	return hd_parse(xml, strlen(xml), "HubDetails.xml", hd, err, errlen);
}

static void
test_all_fields(void **state)
{
	static const char xml[] = HEAD
	    "<!-- written by hand -->\n"
	    "<HubDetails>\n"
	    "  <Url>\n    https://hub.example.net:8443/api\n  </Url>\n"
	    "  <Username>agent</Username>\n"
	    "  <Password> p&amp;ss &lt;w&gt; </Password>\n"
	    "  <Proxy>http://proxy:3128</Proxy>\n"
	    "  <ProxyUsername>pu</ProxyUsername>\n"
	    "  <ProxyPassword><![CDATA[a<b>&c]]></ProxyPassword>\n"
	    "  <UseDefaultProxy>True</UseDefaultProxy>\n"
	    "  <NamePrefix>pre-</NamePrefix>\n"
	    "  <NameSuffix>-suf</NameSuffix>\n"
	    "  <Thumbprint>22:4E:B5:92:8B:A1:2A:6C:7A:E4:E4:F4:E2:B0:BC:32 "
	    "D0:68:46:23:D4:0D:E8:17:35:56:F5:C7:92:57:bf:5c</Thumbprint>\n"
	    "</HubDetails>\n";
	static const unsigned char fp[32] = { 0x22, 0x4e, 0xb5, 0x92, 0x8b,
		0xa1, 0x2a, 0x6c, 0x7a, 0xe4, 0xe4, 0xf4, 0xe2, 0xb0, 0xbc,
		0x32, 0xd0, 0x68, 0x46, 0x23, 0xd4, 0x0d, 0xe8, 0x17, 0x35,
		0x56, 0xf5, 0xc7, 0x92, 0x57, 0xbf, 0x5c };
	struct hubdetails hd;
	char err[512];

	(void)state;
	assert_int_equal(parse(xml, &hd, err, sizeof(err)), 0);
	assert_string_equal(hd.url, "https://hub.example.net:8443/api/");
	assert_string_equal(hd.username, "agent");
	/* Passwords keep their spaces; entities are decoded. */
	assert_string_equal(hd.password, " p&ss <w> ");
	assert_string_equal(hd.proxy, "http://proxy:3128");
	assert_string_equal(hd.proxy_username, "pu");
	assert_string_equal(hd.proxy_password, "a<b>&c");
	assert_int_equal(hd.use_default_proxy, 1);
	assert_string_equal(hd.name_prefix, "pre-");
	assert_string_equal(hd.name_suffix, "-suf");
	assert_int_equal(hd.thumbprint_len, 32);
	assert_memory_equal(hd.thumbprint, fp, 32);
	hd_free(&hd);
	assert_null(hd.url);
	assert_null(hd.password);
}

static void
test_minimal_and_empty(void **state)
{
	static const char xml[] = "<HubDetails><Url>https://h/api/</Url>"
	    "<Password/><Proxy></Proxy><Thumbprint> </Thumbprint>"
	    "<UseDefaultProxy>false</UseDefaultProxy></HubDetails>";
	static const char sha1[] = "<HubDetails><Url>https://[::1]:1/x/api"
	    "</Url><Thumbprint>\xe2\x80\x8e" "0123456789abcdef0123456789ABCDEF"
	    "01234567</Thumbprint></HubDetails>";
	struct hubdetails hd;
	char err[512];

	(void)state;
	assert_int_equal(parse(xml, &hd, err, sizeof(err)), 0);
	assert_string_equal(hd.url, "https://h/api/");
	assert_null(hd.username);
	assert_null(hd.password);
	assert_null(hd.proxy);
	assert_int_equal(hd.use_default_proxy, 0);
	assert_int_equal(hd.thumbprint_len, 0);
	hd_free(&hd);

	assert_int_equal(parse(sha1, &hd, err, sizeof(err)), 0);
	assert_string_equal(hd.url, "https://[::1]:1/x/api/");
	assert_int_equal(hd.thumbprint_len, 20);
	assert_int_equal(hd.thumbprint[0], 0x01);
	assert_int_equal(hd.thumbprint[19], 0x67);
	hd_free(&hd);
}

struct bad {
	const char *xml;
	const char *msg;    /* the whole message, or its start */
};

static void
test_errors(void **state)
{
	static const struct bad bad[] = {
		{ "<HubDetails>\n<Url>https://h/api/</Url>\n<Thumbprnt>x"
		  "</Thumbprnt>\n</HubDetails>",
		  "HubDetails.xml:3: element <Thumbprnt> is not known "
		  "(expected Url, Username, Password, Proxy, ProxyUsername, "
		  "ProxyPassword, UseDefaultProxy, NamePrefix, NameSuffix, "
		  "Thumbprint)" },
		{ "<HubDetails>\n<Url>https://h/api/</Url>\n\n"
		  "<Url>https://g/api/</Url></HubDetails>",
		  "HubDetails.xml:4: element <Url> is repeated (each may "
		  "appear once)" },
		{ "<HubDetails>\n<Url>https://h/<b>x</b>api/</Url>"
		  "</HubDetails>",
		  "HubDetails.xml:2: element <b> inside <Url>: Url holds text "
		  "only" },
		{ "<HubDetails>\n<Url>https://h/api/</Url>\nstray\n"
		  "</HubDetails>",
		  "HubDetails.xml:3: text outside an element" },
		{ "<HubDetails>\n<Username>a</Username>\n</HubDetails>\n",
		  "HubDetails.xml:3: <HubDetails> has no <Url>" },
		{ "<HubDetails><Url> </Url></HubDetails>",
		  "HubDetails.xml:1: element <Url> is empty" },
		{ "<HubDetails>\n\n<Url>http://h/api/</Url></HubDetails>",
		  "HubDetails.xml:3: element <Url>: 'http://h/api/' does not "
		  "start with https:// (expected https://HOST[:PORT]/api/)" },
		{ "<HubDetails><Url>https:///api/</Url></HubDetails>",
		  "HubDetails.xml:1: element <Url>: 'https:///api/' has no "
		  "host name" },
		{ "<HubDetails><Url>https://h:/api/</Url></HubDetails>",
		  "HubDetails.xml:1: element <Url>: 'https://h:/api/' has a "
		  "bad port" },
		{ "<HubDetails><Url>https://h:70000/api/</Url></HubDetails>",
		  "HubDetails.xml:1: element <Url>: 'https://h:70000/api/' has "
		  "a bad port" },
		{ "<HubDetails><Url>https://h:8443</Url></HubDetails>",
		  "HubDetails.xml:1: element <Url>: 'https://h:8443' has no "
		  "path" },
		{ "<HubDetails><Url>https://h/apis/</Url></HubDetails>",
		  "HubDetails.xml:1: element <Url>: 'https://h/apis/' does not "
		  "end with /api/" },
		{ "<HubDetails><Url>https://u:p@h/api/</Url></HubDetails>",
		  "HubDetails.xml:1: element <Url>: 'https://u:p@h/api/' holds "
		  "a user name" },
		{ "<HubDetails><Url>https://h/api/</Url>\n<Thumbprint>abc"
		  "</Thumbprint></HubDetails>",
		  "HubDetails.xml:2: element <Thumbprint>: not a certificate "
		  "fingerprint (64 hex digits for SHA-256 or 40 for SHA-1; "
		  "colons and spaces allowed)" },
		{ "<HubDetails><Url>https://h/api/</Url>\n<Thumbprint>"
		  "0123456789abcdef0123456789abcdef0123456g</Thumbprint>"
		  "</HubDetails>",
		  "HubDetails.xml:2: element <Thumbprint>: not a certificate" },
		{ "<HubDetails><Url>https://h/api/</Url>\n<UseDefaultProxy>"
		  "yes</UseDefaultProxy></HubDetails>",
		  "HubDetails.xml:2: element <UseDefaultProxy>: 'yes' is not "
		  "true or false" },
		{ "<HubDetails><Url a=\"1\">https://h/api/</Url></HubDetails>",
		  "HubDetails.xml:1: element <Url> has an attribute (a)" },
		{ "<Hub><Url>https://h/api/</Url></Hub>",
		  "HubDetails.xml:1: root element <Hub> is not <HubDetails>" },
		{ "<?xml version=\"1.0\"?>\n<!DOCTYPE HubDetails [\n"
		  "<!ENTITY a \"aaaaaaaaaa\">\n<!ENTITY b \"&a;&a;&a;&a;\">\n"
		  "]>\n<HubDetails><Url>https://h/api/&b;</Url></HubDetails>",
		  "HubDetails.xml:2: a DOCTYPE (<!DOCTYPE HubDetails>) is not "
		  "allowed" },
		{ "<HubDetails>\n<Url>https://h/api/</Url>\n<Username>a"
		  "</Password>\n</HubDetails>",
		  "HubDetails.xml:3: not well-formed XML: mismatched tag" },
		{ "", "HubDetails.xml:1: not well-formed XML: no element found "
		  "(the file is empty)" },
		{ "<HubDetails>\n<Url>https://h/api/</Url>\n",
		  "HubDetails.xml:3: not well-formed XML: no element found "
		  "(element <HubDetails> is not closed)" },
		{ "<HubDetails>\n<Url>https://h/api/",
		  "HubDetails.xml:2: not well-formed XML: no element found "
		  "(element <Url> is not closed)" },
		{ "<HubDetails><Url>https://h/api/</Url><Username>a&#9;b"
		  "</Username></HubDetails>",
		  "HubDetails.xml:1: element <Username> holds a control "
		  "character" },
	};
	struct hubdetails hd;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&hd, 0x55, sizeof(hd));
		if (parse(bad[i].xml, &hd, err, sizeof(err)) != VG_ERR_INVAL ||
		    strncmp(err, bad[i].msg, strlen(bad[i].msg)) != 0) {
			print_error("case %zu: got '%s'\nwanted '%s'\n", i, err,
			    bad[i].msg);
			fail();
		}
		/* A failed parse leaves nothing to free. */
		assert_null(hd.url);
		assert_null(hd.password);
	}
}

static void
test_too_big(void **state)
{
	struct hubdetails hd;
	char err[256], *big;

	(void)state;
	big = calloc(1, HD_MAX_FILE + 2);
	assert_non_null(big);
	memset(big, ' ', HD_MAX_FILE + 1);
	assert_int_equal(hd_parse(big, HD_MAX_FILE + 1, "x.xml", &hd, err,
	    sizeof(err)), VG_ERR_TOOBIG);
	free(big);
}

/* A private folder for the file tests. */
static char tmpdir[256];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_hubdetails.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static char *
read_text(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

struct removal {
	const char *before, *after;
};

static void
test_remove_password(void **state)
{
	static const struct removal cases[] = {
		/* Its own line goes, CRLF line ends and all. */
		{ HEAD "<HubDetails>\r\n  <!-- c -->\r\n  <Url>https://h/api/"
		  "</Url>\r\n\t<Password>s3cr&amp;t</Password>  \r\n"
		  "  <Username>a</Username>\r\n</HubDetails>\r\n",
		  HEAD "<HubDetails>\r\n  <!-- c -->\r\n  <Url>https://h/api/"
		  "</Url>\r\n  <Username>a</Username>\r\n</HubDetails>\r\n" },
		/* Sharing a line: only the element goes. */
		{ "<HubDetails><Url>https://h/api/</Url><Password>x"
		  "</Password><Username>a</Username></HubDetails>",
		  "<HubDetails><Url>https://h/api/</Url><Username>a</Username>"
		  "</HubDetails>" },
		/* An empty element. */
		{ "<HubDetails>\n  <Password/>\n  <Url>https://h/api/</Url>\n"
		  "</HubDetails>\n",
		  "<HubDetails>\n  <Url>https://h/api/</Url>\n</HubDetails>\n" },
		/* No Password: left alone. */
		{ "<HubDetails><Url>https://h/api/</Url></HubDetails>\n"
		  "<!-- end -->\n",
		  "<HubDetails><Url>https://h/api/</Url></HubDetails>\n"
		  "<!-- end -->\n" },
		/* CDATA, on the last line without a newline. */
		{ "<HubDetails><Url>https://h/api/</Url>\n"
		  "<Password><![CDATA[<x>]]></Password></HubDetails>",
		  "<HubDetails><Url>https://h/api/</Url>\n</HubDetails>" },
	};
	char path[512], err[512], tmp[520];
	struct hubdetails hd;
	struct stat sb;
	size_t i;

	(void)state;
	snprintf(path, sizeof(path), "%s/HubDetails.xml", tmpdir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_text(path, cases[i].before, 0640);
		if (hd_remove_password(path, err, sizeof(err)) != 0) {
			print_error("case %zu: %s\n", i, err);
			fail();
		}
		assert_string_equal(read_text(path), cases[i].after);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0640);
		assert_int_equal(access(tmp, F_OK), -1);
		assert_int_equal(hd_load(path, &hd, err, sizeof(err)), 0);
		assert_null(hd.password);
		hd_free(&hd);
	}
}

static void
test_remove_password_refuses(void **state)
{
	static const char broken[] = "<HubDetails><Password>x</Password>"
	    "<Url>https://h/api/</Url>";
	char path[512], link[512], err[512];
	struct hubdetails hd;

	(void)state;
	snprintf(path, sizeof(path), "%s/broken.xml", tmpdir);
	write_text(path, broken, 0600);
	assert_int_equal(hd_remove_password(path, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_non_null(strstr(err, "broken.xml:1: not well-formed XML"));
	assert_string_equal(read_text(path), broken);

	snprintf(path, sizeof(path), "%s/missing.xml", tmpdir);
	assert_int_equal(hd_remove_password(path, err, sizeof(err)),
	    VG_ERR_NOTFOUND);
	assert_non_null(strstr(err, "missing.xml"));
	assert_int_equal(hd_load(path, &hd, err, sizeof(err)),
	    VG_ERR_NOTFOUND);

	/* A link is not replaced by a file behind the user's back. */
	snprintf(path, sizeof(path), "%s/target.xml", tmpdir);
	snprintf(link, sizeof(link), "%s/link.xml", tmpdir);
	write_text(path, "<HubDetails><Url>https://h/api/</Url><Password>x"
	    "</Password></HubDetails>", 0600);
	assert_int_equal(symlink(path, link), 0);
	assert_int_not_equal(hd_remove_password(link, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(hd_load(link, &hd, err, sizeof(err)), 0);
	assert_string_equal(hd.password, "x");
	hd_free(&hd);
}

/*
 * hd_remove_password_if: the Password the registration used goes; one an
 * administrator put in meanwhile stays, and so does the file byte for
 * byte.
 */
static void
test_remove_password_if(void **state)
{
	static const char used[] = "<HubDetails>\n  <Url>https://h/api/</Url>\n"
	    "  <Password>old pw</Password>\n</HubDetails>\n";
	static const char gone[] = "<HubDetails>\n  <Url>https://h/api/</Url>\n"
	    "</HubDetails>\n";
	static const char *const others[] = {
		/* A new one, one a prefix of the other, one longer. */
		"<HubDetails><Url>https://h/api/</Url><Password>new pw"
		"</Password></HubDetails>",
		"<HubDetails><Url>https://h/api/</Url><Password>old p"
		"</Password></HubDetails>",
		"<HubDetails><Url>https://h/api/</Url><Password>old pw "
		"</Password></HubDetails>",
	};
	char path[512], err[512];
	struct hubdetails hd;
	size_t i;

	(void)state;
	snprintf(path, sizeof(path), "%s/HubDetails.xml", tmpdir);
	write_text(path, used, 0600);
	assert_int_equal(hd_remove_password_if(path, "old pw", err,
	    sizeof(err)), 0);
	assert_string_equal(read_text(path), gone);

	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		write_text(path, others[i], 0600);
		err[0] = '\0';
		assert_int_equal(hd_remove_password_if(path, "old pw", err,
		    sizeof(err)), 1);
		assert_string_equal(read_text(path), others[i]);
		/* The note names the file, never either password. */
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, "Password was changed"));
		assert_null(strstr(err, "old p"));
		assert_null(strstr(err, "new pw"));
		assert_int_equal(hd_load(path, &hd, err, sizeof(err)), 0);
		assert_non_null(hd.password);
		hd_free(&hd);
	}

	/* No Password, or an empty one: left alone, nothing to say. */
	write_text(path, gone, 0600);
	assert_int_equal(hd_remove_password_if(path, "old pw", err,
	    sizeof(err)), 0);
	assert_string_equal(read_text(path), gone);
	write_text(path, "<HubDetails><Url>https://h/api/</Url><Password/>"
	    "</HubDetails>", 0600);
	assert_int_equal(hd_remove_password_if(path, "old pw", err,
	    sizeof(err)), 0);
	assert_string_equal(read_text(path), "<HubDetails><Url>https://h/api/"
	    "</Url><Password/></HubDetails>");

	/* used NULL: whatever is there goes, as hd_remove_password. */
	write_text(path, used, 0600);
	assert_int_equal(hd_remove_password_if(path, NULL, err, sizeof(err)),
	    0);
	assert_string_equal(read_text(path), gone);

	/* Errors are those of hd_remove_password. */
	snprintf(path, sizeof(path), "%s/missing-if.xml", tmpdir);
	assert_int_equal(hd_remove_password_if(path, "old pw", err,
	    sizeof(err)), VG_ERR_NOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_fields),
		cmocka_unit_test(test_minimal_and_empty),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_remove_password),
		cmocka_unit_test(test_remove_password_refuses),
		cmocka_unit_test(test_remove_password_if),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
