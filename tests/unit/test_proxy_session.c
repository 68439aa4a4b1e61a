/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of proxy/session and proxy/normalise on recorded sessions:
 * each shipped profile that has a recording is driven by the real engine
 * through login, setup, capture and logout against a scripted transport
 * that replays the recording, and the normalised result is checked
 * against the recorded expectations:
 *  - secret.yaml: no "fail" string survives in the normalised document;
 *    each "pass" pattern matches a line, Oxidized's "<secret hidden>"
 *    (and "<secret removed>", "<configuration removed>") standing for our
 *    "<secret sha256:16 hex>" marker;
 *  - significant_changes.yaml: each "pass" line is in the significant
 *    view, no "fail" line is (each also tried without the "! " or "# "
 *    comment prefix Oxidized adds to command output it keeps);
 *  - output.txt is Oxidized's own rendering (command output as comments,
 *    its own filters), so only the configuration part is compared: from
 *    our configuration section's first line, each of our lines must be
 *    the next line of output.txt, except that a line we masked (secret or
 *    mask) must match up to the marker.
 * Then the quirks: pagers, escape codes, password-only login, a device
 * that ignores exit, a slow device, truncated output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "normalise.h"
#include "profile.h"
#include "proxy_sim.h"
#include "session.h"
#include "vg_util.h"

#define FIX VIGIL_FIXTURES "/"

static struct proxy_profile *
profile(const char *name)
{
	struct proxy_profile *p;
	char err[512];

	if (proxy_profile_load_named(VIGIL_PROFILES, name, &p, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		fail();
	}
	return p;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Runs the engine over sm with the usual test credentials. */
static int
run(const struct proxy_profile *p, struct sim *sm,
    const struct proxy_session_opts *o, struct proxy_capture **cap,
    char *err, size_t errlen)
{
	struct proxy_credentials cred = { .username = "oxidized",
	    .password = "pw-login", .enable_secret = "pw-enable" };
	struct proxy_session_opts def;
	struct proxy_transport t;

	if (o == NULL) {
		proxy_session_opts_default(&def);
		def.step_timeout_ms = 2000;
		def.logout_grace_ms = 100;
		o = &def;
	}
	sim_transport(sm, &t);
	if (p->mode == PROXY_MODE_SHELL)
		sim_start(sm);
	return proxy_session_run(p, &t, &cred, o, cap, err, errlen);
}

/* Oxidized's masked-secret placeholders become our marker. */
static char *
secret_pattern(const char *pass)
{
	static const char *const ph[] = { "<secret hidden>",
	    "<secret removed>", "<configuration removed>" };
	const char *mark = "<secret sha256:[0-9a-f]{16}>";
	char *out = malloc(strlen(pass) * 3 + 64), *o;
	const char *s = pass;
	size_t i;

	assert_non_null(out);
	o = out;
	while (*s != '\0') {
		for (i = 0; i < 3; i++) {
			if (strncmp(s, ph[i], strlen(ph[i])) == 0)
				break;
		}
		if (i < 3) {
			memcpy(o, mark, strlen(mark));
			o += strlen(mark);
			s += strlen(ph[i]);
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static int
text_matches(const char *re_src, const char *text)
{
	pcre2_match_data *md;
	pcre2_code *re;
	PCRE2_SIZE off;
	int code, rc;

	re = pcre2_compile((PCRE2_SPTR)re_src, PCRE2_ZERO_TERMINATED,
	    PCRE2_MULTILINE, &code, &off, NULL);
	assert_non_null(re);
	md = pcre2_match_data_create_from_pattern(re, NULL);
	rc = pcre2_match(re, (PCRE2_SPTR)text, strlen(text), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc >= 0;
}

/* s, or s without a leading "! " / "# " comment prefix, is in text. */
static int
in_text(const char *text, const char *s)
{
	if (strstr(text, s) != NULL)
		return 1;
	if ((s[0] == '!' || s[0] == '#') && s[1] == ' ')
		return strstr(text, s + 2) != NULL;
	return 0;
}

static void
check_secrets(const char *base, const struct proxy_norm *n)
{
	char path[512], **l, *re;
	size_t i, k;

	snprintf(path, sizeof(path), FIX "%s#secret.yaml", base);
	k = sim_yaml_list(path, "fail", &l);
	for (i = 0; i < k; i++) {
		if (strstr(n->text, l[i]) != NULL)
			fprintf(stderr, "%s: secret '%s' not masked\n", base,
			    l[i]);
		assert_null(strstr(n->text, l[i]));
	}
	sim_list_free(l, k);
	k = sim_yaml_list(path, "pass", &l);
	for (i = 0; i < k; i++) {
		re = secret_pattern(l[i]);
		if (!text_matches(re, n->text))
			fprintf(stderr, "%s: no line matches '%s'\n", base, re);
		assert_true(text_matches(re, n->text));
		free(re);
	}
	sim_list_free(l, k);
}

static void
check_significant(const char *base, const struct proxy_norm *n)
{
	char path[512], **l;
	size_t i, k;

	snprintf(path, sizeof(path), FIX "%s#significant_changes.yaml", base);
	k = sim_yaml_list(path, "pass", &l);
	for (i = 0; i < k; i++) {
		/* "! Processor ID: X" is Oxidized's rewording of show
		 * version's "Processor board ID X": the value must be
		 * significant. */
		if (strncmp(l[i], "! ", 2) == 0 && !in_text(n->significant,
		    l[i]) && strrchr(l[i], ' ') != NULL)
			memmove(l[i], strrchr(l[i], ' ') + 1,
			    strlen(strrchr(l[i], ' ')));
		if (!in_text(n->significant, l[i]))
			fprintf(stderr, "%s: '%s' not significant\n", base,
			    l[i]);
		assert_true(in_text(n->significant, l[i]));
	}
	sim_list_free(l, k);
	k = sim_yaml_list(path, "fail", &l);
	for (i = 0; i < k; i++) {
		if (in_text(n->significant, l[i]))
			fprintf(stderr, "%s: '%s' is significant\n", base,
			    l[i]);
		assert_false(in_text(n->significant, l[i]));
	}
	sim_list_free(l, k);
}

/* Our line equals theirs, or both agree up to where we masked. */
static int
line_agrees(const char *ours, size_t olen, const char *theirs, size_t tlen)
{
	const char *m = memmem(ours, olen, "<secret sha256:", 15);
	const char *n = memmem(ours, olen, "<n>", 3);
	size_t k;

	const char *their_mask[] = { "<value removed>", "<secret hidden>",
	    "<secret removed>", "<configuration removed>", "<removed>" };
	const char *q;
	size_t i;

	if (olen == tlen && memcmp(ours, theirs, olen) == 0)
		return 1;
	/* Oxidized masked something (its own filters): agree up to it. */
	for (i = 0; i < sizeof(their_mask) / sizeof(their_mask[0]); i++) {
		q = memmem(theirs, tlen, their_mask[i], strlen(their_mask[i]));
		if (q != NULL) {
			k = (size_t)(q - theirs);
			return olen >= k && memcmp(ours, theirs, k) == 0;
		}
	}
	if (m == NULL || (n != NULL && n < m))
		m = n;
	if (m == NULL)
		return 0;
	k = (size_t)(m - ours);
	return tlen >= k && memcmp(ours, theirs, k) == 0;
}

/* Splits text into lines (pointers into text, which is modified). */
static size_t
split_lines(char *text, char ***out)
{
	size_t n = 0, cap = 64;
	char *p = text, *nl;

	*out = malloc(cap * sizeof(**out));
	assert_non_null(*out);
	while (*p != '\0') {
		if (n == cap) {
			cap *= 2;
			*out = realloc(*out, cap * sizeof(**out));
			assert_non_null(*out);
		}
		(*out)[n++] = p;
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return n;
}

/*
 * The configuration section of our document against output.txt, which
 * ends with the configuration: from the first of our lines found there,
 * every later line of output.txt must come, in order, in our section (we
 * lost and mangled nothing). We may keep a few lines Oxidized drops (the
 * ASA's ": Saved" comments, the end marker): at most 16. What Oxidized
 * adds after the configuration as comments (output of commands our
 * profile does not run) is not compared.
 */
static void
check_output(const char *base, const struct proxy_norm *n,
    const char *config_cmd)
{
	char path[512], hdr[256], *want, *ours, **ol, **tl;
	const char *o, *oend;
	size_t wlen, on, tn, i, j = 0, extra = 0, checked = 0;

	snprintf(path, sizeof(path), FIX "%s#output.txt", base);
	if ((want = read_file(path, &wlen)) == NULL)
		return;
	snprintf(hdr, sizeof(hdr), "=== %s ===\n", config_cmd);
	o = strstr(n->text, hdr);
	assert_non_null(o);
	o += strlen(hdr);
	oend = strstr(o, "\n=== ");
	oend = oend != NULL ? oend + 1 : n->text + n->len;
	ours = strndup(o, (size_t)(oend - o));
	assert_non_null(ours);
	on = split_lines(ours, &ol);
	tn = split_lines(want, &tl);
	/* Where the configuration starts in theirs. */
	for (i = 0; i < on; i++) {
		if (ol[i][0] == '\0')
			continue;
		for (j = 0; j < tn; j++)
			if (line_agrees(ol[i], strlen(ol[i]), tl[j],
			    strlen(tl[j])))
				break;
		if (j < tn)
			break;
		extra++;
	}
	assert_true(i < on);
	for (; j < tn; j++) {
		while (i < on && !line_agrees(ol[i], strlen(ol[i]), tl[j],
		    strlen(tl[j]))) {
			i++;
			extra++;
		}
		/* Output of commands we do not run, rendered as comments
		 * after the configuration (Junos cluster status). */
		if (i == on && strspn(tl[j], "#! ") > 0) {
			while (j < tn && (tl[j][0] == '\0' ||
			    strspn(tl[j], "#! ") > 0))
				j++;
			if (j == tn)
				break;
		}
		if (i == on) {
			fprintf(stderr, "%s: output.txt line %zu not in ours, "
			    "in order: '%s'\n", base, j + 1, tl[j]);
			fail();
		}
		i++;
		checked++;
	}
	extra += on - i;
	if (extra > 16)
		fprintf(stderr, "%s: %zu lines of ours not in output.txt\n",
		    base, extra);
	assert_true(extra <= 16);
	assert_true(checked >= 10);
	free(ol);
	free(tl);
	free(ours);
	free(want);
}

struct recording {
	const char *profile;
	const char *base;       /* fixture name without "#kind" */
	const char *config_cmd; /* the section compared with output.txt */
};

static const struct recording recordings[] = {
	{ "ios", "ios#C9200L-24P-4G_17.09.04a", "show running-config" },
	{ "ios", "ios#C9800-L-F-K9_17.06.05", "show running-config" },
	{ "ios", "ios#asr920_16.8.1b", "show running-config" },
	{ "nxos", "nxos#C93180YC-FX3J_10.4.5", "show running-config" },
	{ "nxos", "nxos#N5548_7.3.13", "show running-config" },
	{ "asa", "asa#5512_9.12-4-67_single-context",
	    "more system:running-config" },
	{ "eos", "eos#DCS-7050SX3-48YC8_4.29.2F",
	    "show running-config | no-more | exclude ! Time:" },
	{ "fortios", "fortios#FMG-VM64_7.4.6", "show" },
	{ "junos", "junos#srx300_22.4", "show configuration | display omit" },
	{ "junos", "junos#srx300_22.4_wo_cluster",
	    "show configuration | display omit" },
	{ "routeros", "routeros#CHR_7.10.1", "/export show-sensitive" },
	{ "routeros", "routeros#CHR_7.16", "/export show-sensitive" },
	{ "routeros", "routeros#L009UiGS_7.15.2", "/export show-sensitive" },
	{ "routeros", "routeros#RB5009UPr+S+_7.18.2",
	    "/export show-sensitive" },
};

static void
replay(const struct recording *rc, size_t chunk)
{
	struct proxy_profile *p = profile(rc->profile);
	struct proxy_capture *cap = NULL;
	struct proxy_norm n, again;
	struct sim *sm;
	char path[512], err[1024];
	size_t i;
	int r;

	snprintf(path, sizeof(path), FIX "%s#simulation.yaml", rc->base);
	sm = sim_load(path);
	sm->logout = p->logout;
	sm->chunk = chunk;
	r = run(p, sm, NULL, &cap, err, sizeof(err));
	if (r != 0)
		fprintf(stderr, "%s: %s\n", rc->base, err);
	assert_int_equal(r, 0);
	for (i = 0; i < sm->nunknown; i++)
		fprintf(stderr, "%s: command not in the recording: '%s'\n",
		    rc->base, sm->unknown[i]);
	assert_int_equal(sm->nunknown, 0);
	assert_int_equal(sm->close_calls, 1);
	assert_int_equal(cap->n, p->ncommands);
	/* The secrets never went to the device unless asked for. */
	for (i = 0; i < sm->nlines_in; i++)
		assert_null(strstr(sm->lines_in[i], "pw-login"));
	if (p->mode == PROXY_MODE_SHELL)
		assert_non_null(cap->prompt);
	r = proxy_normalise(p, cap, &n, err, sizeof(err));
	if (r != 0)
		fprintf(stderr, "%s: %s\n", rc->base, err);
	assert_int_equal(r, 0);
	/* Nothing of the terminal is left. */
	assert_null(memchr(n.text, '\r', n.len));
	assert_null(memchr(n.text, '\033', n.len));
	check_secrets(rc->base, &n);
	check_significant(rc->base, &n);
	check_output(rc->base, &n, rc->config_cmd);
	/* Normalising is a function of the capture. */
	assert_int_equal(proxy_normalise(p, cap, &again, err, sizeof(err)), 0);
	assert_false(proxy_norm_changed(&n, &again));
	proxy_norm_free(&again);
	proxy_norm_free(&n);
	proxy_capture_free(cap);
	sim_free(sm);
	proxy_profile_free(p);
}

static void
test_recordings(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(recordings) / sizeof(recordings[0]); i++)
		replay(&recordings[i], 0);
}

/* Bytes arriving one at a time cut every escape and prompt in two. */
static void
test_recordings_bytewise(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(recordings) / sizeof(recordings[0]); i++)
		replay(&recordings[i], i % 2 == 0 ? 1 : 7);
}

/* A small IOS device built in the test. */
#define CFG_LINES \
	"hostname R1\r\n!\r\ninterface Gi0/1\r\n description uplink\r\n" \
	" ip address 192.0.2.1 255.255.255.0\r\n!\r\ninterface Gi0/2\r\n" \
	" shutdown\r\n!\r\nntp server 192.0.2.9\r\n" \
	"snmp-server community s3cret RO\r\n!\r\n"

static const char *const small_ios[] = {
	"terminal length 0\n", "terminal length 0\r\nR1#",
	"terminal width 0\n", "terminal width 0\r\nR1#",
	"show version\n", "show version\r\nCisco IOS Software\r\n"
	    "R1 uptime is 1 week\r\nR1#",
	"show inventory\n", "show inventory\r\nNAME: \"Chassis\"\r\nR1#",
	"show running-config\n", "show running-config\r\n"
	    "Building configuration...\r\n" CFG_LINES "end\r\n\r\nR1#",
	"enable\n", "enable\r\nPassword: \r\nR1#",
	"exit\n", "exit\r\n",
	NULL,
};

static const char *
section(const struct proxy_norm *n, const char *cmd)
{
	char hdr[256];
	const char *s;

	snprintf(hdr, sizeof(hdr), "=== %s ===\n", cmd);
	s = strstr(n->text, hdr);
	assert_non_null(s);
	return s + strlen(hdr);
}

/* The running config as the small device's normalised text. */
static void
check_small_config(const struct proxy_profile *p,
    const struct proxy_capture *cap)
{
	struct proxy_norm n;
	char err[512];
	const char *s;

	assert_int_equal(proxy_normalise(p, cap, &n, err, sizeof(err)), 0);
	s = section(&n, "show running-config");
	assert_true(strncmp(s, "hostname R1\n!\ninterface Gi0/1\n description "
	    "uplink\n", 43) == 0);
	assert_non_null(strstr(s, "snmp-server community <secret sha256:"));
	assert_null(strstr(n.text, "s3cret"));
	assert_null(strstr(n.text, "Building configuration"));
	assert_non_null(strstr(s, "\nend\n"));
	/* "uptime is" is shown but not significant. */
	assert_non_null(strstr(n.text, "R1 uptime is 1 week"));
	assert_null(strstr(n.significant, "uptime"));
	proxy_norm_free(&n);
}

/* "--More--" pagers with the erasing backspaces IOS sends, colours and
 * bracketed-paste codes around the prompt. */
static void
test_pager_and_escapes(void **state)
{
	const char *const pairs[] = {
		"terminal length 0\n", "terminal length 0\r\n\033[?2004hR1#",
		"terminal width 0\n", "terminal width 0\r\n\033[?2004hR1#",
		"show version\n", "show version\r\n\033[1mCisco IOS "
		    "Software\033[0m\r\nR1 uptime is 1 week\r\n\033[?2004hR1#",
		"show inventory\n", "show inventory\r\nNAME: \"Chassis\"\r\n"
		    "\033]0;R1 title\007\033[?2004hR1#",
		"show running-config\n", "show running-config\r\n"
		    "Building configuration...\r\nhostname R1\r\n!\r\n"
		    " --More-- \001\b\b\b\b\b\b\b\b\b\b          \b\b\b\b\b"
		    "\b\b\b\b\binterface Gi0/1\r\n description uplink\r\n"
		    " ip address 192.0.2.1 255.255.255.0\r\n!\r\n"
		    " --More-- \001\r          \rinterface Gi0/2\r\n"
		    " shutdown\r\n!\r\nntp server 192.0.2.9\r\n"
		    "snmp-server community s3cret RO\r\n!\r\n"
		    "end\r\n\r\n\033[?2004hR1#",
		"exit\n", "exit\r\n",
		NULL,
	};
	struct proxy_profile *p = profile("ios");
	struct proxy_capture *cap = NULL;
	struct sim *sm = sim_new("\r\n\033[?2004hR1#", pairs);
	char err[512];
	size_t i, spaces = 0;

	(void)state;
	sm->chunk = 3;
	assert_int_equal(run(p, sm, NULL, &cap, err, sizeof(err)), 0);
	assert_string_equal(cap->prompt, "R1#");
	for (i = 0; i < sm->nlines_in; i++)
		spaces += strcmp(sm->lines_in[i], " ") == 0;
	assert_int_equal(spaces, 2);
	assert_null(strstr(cap->out[2].text, "More"));
	assert_null(strchr(cap->out[0].text, '\033'));
	check_small_config(p, cap);
	proxy_capture_free(cap);
	sim_free(sm);
	proxy_profile_free(p);
}

/* Telnet: no user name asked, only a password, then enable with the
 * second secret. */
static void
test_password_only_login(void **state)
{
	static const struct sim_login_step steps[] = {
		{ "\r\n\r\nUser Access Verification\r\n\r\nPassword: ",
		    "pw-login" },
	};
	struct proxy_profile *p = profile("ios");
	struct proxy_capture *cap = NULL;
	struct sim *sm = sim_new("\r\nR1>", small_ios);
	char err[512];
	size_t i;
	int enable_sent = 0;

	(void)state;
	sm->login = steps;
	sm->nlogin = 1;
	assert_int_equal(run(p, sm, NULL, &cap, err, sizeof(err)), 0);
	assert_string_equal(cap->prompt, "R1#");
	assert_string_equal(sm->lines_in[0], "pw-login");
	for (i = 0; i < sm->nlines_in; i++)
		enable_sent += strcmp(sm->lines_in[i], "pw-enable") == 0;
	assert_int_equal(enable_sent, 1);
	check_small_config(p, cap);
	proxy_capture_free(cap);
	sim_free(sm);
	proxy_profile_free(p);
}

/* "User:" and "Passwort:" variants; a refused password is not retried. */
static void
test_login_variants(void **state)
{
	static const struct sim_login_step ok[] = {
		{ "User: ", "oxidized" }, { "Passwort: ", "pw-login" },
	};
	static const struct sim_login_step bad[] = {
		{ "Username: ", "oxidized" }, { "Password: ", "other" },
	};
	struct proxy_profile *p = profile("ios");
	struct proxy_capture *cap = NULL;
	struct sim *sm = sim_new("\r\nR1#", small_ios);
	char err[512];

	(void)state;
	sm->login = ok;
	sm->nlogin = 2;
	assert_int_equal(run(p, sm, NULL, &cap, err, sizeof(err)), 0);
	proxy_capture_free(cap);
	sim_free(sm);

	sm = sim_new("\r\nR1#", small_ios);
	sm->login = bad;
	sm->nlogin = 2;
	assert_int_equal(run(p, sm, NULL, &cap, err, sizeof(err)),
	    VG_ERR_AUTH);
	assert_null(cap);
	assert_non_null(strstr(err, "login refused"));
	/* The secret is not in the message. */
	assert_null(strstr(err, "pw-login"));
	assert_int_equal(sm->close_calls, 1);
	sim_free(sm);
	proxy_profile_free(p);
}

/* A device that ignores exit: the job ends after the short grace and
 * the connection is closed all the same. */
static void
test_ignores_exit(void **state)
{
	struct proxy_profile *p = profile("ios");
	struct proxy_capture *cap = NULL;
	struct proxy_session_opts o;
	struct sim *sm = sim_new("\r\nR1#", small_ios);
	char err[512];
	double t0;

	(void)state;
	sm->ignore_exit = 1;
	proxy_session_opts_default(&o);
	o.logout_grace_ms = 300;
	t0 = vg_now();
	assert_int_equal(run(p, sm, &o, &cap, err, sizeof(err)), 0);
	assert_true(vg_now() - t0 < 2.0);
	assert_int_equal(sm->close_calls, 1);
	check_small_config(p, cap);
	proxy_capture_free(cap);
	sim_free(sm);
	proxy_profile_free(p);
}

/* A slow device within the step timeout is fine; beyond it, or beyond
 * the whole-job timeout, the job fails promptly and closes. */
static void
test_slow_device(void **state)
{
	struct proxy_profile *p = profile("ios");
	struct proxy_capture *cap = NULL;
	struct proxy_session_opts o;
	struct sim *sm = sim_new("\r\nR1#", small_ios);
	char err[512];
	double t0;

	(void)state;
	proxy_session_opts_default(&o);
	o.step_timeout_ms = 400;
	o.logout_grace_ms = 50;
	sm->delay_ms = 150;
	sm->chunk = 64;
	assert_int_equal(run(p, sm, &o, &cap, err, sizeof(err)), 0);
	check_small_config(p, cap);
	proxy_capture_free(cap);
	sim_free(sm);

	sm = sim_new("\r\nR1#", small_ios);
	sm->delay_ms = 600;
	t0 = vg_now();
	assert_int_equal(run(p, sm, &o, &cap, err, sizeof(err)),
	    VG_ERR_TIMEOUT);
	assert_true(vg_now() - t0 < 1.5);
	assert_non_null(strstr(err, "login"));
	assert_int_equal(sm->close_calls, 1);
	sim_free(sm);

	sm = sim_new("\r\nR1#", small_ios);
	sm->delay_ms = 100;
	sm->chunk = 16;
	o.job_timeout_ms = 500;
	t0 = vg_now();
	assert_int_equal(run(p, sm, &o, &cap, err, sizeof(err)),
	    VG_ERR_TIMEOUT);
	assert_true(vg_now() - t0 < 1.5);
	assert_non_null(strstr(err, "whole-job timeout"));
	assert_int_equal(sm->close_calls, 1);
	sim_free(sm);
	proxy_profile_free(p);
}

/* Output cut short never becomes a version: a connection lost mid-way
 * fails the session; a prompt that comes back before the end marker is
 * refused by normalisation. */
static void
test_truncated_output(void **state)
{
	static const char *const cut[] = {
		"terminal length 0\n", "terminal length 0\r\nR1#",
		"terminal width 0\n", "terminal width 0\r\nR1#",
		"show version\n", "show version\r\nCisco IOS Software\r\nR1#",
		"show inventory\n", "show inventory\r\nNAME: \"x\"\r\nR1#",
		"show running-config\n", "show running-config\r\n"
		    CFG_LINES "R1#",
		"exit\n", "exit\r\n",
		NULL,
	};
	struct proxy_profile *p = profile("ios");
	struct proxy_capture *cap = NULL;
	struct proxy_norm n;
	struct sim *sm = sim_new("\r\nR1#", small_ios);
	char err[512];

	(void)state;
	sm->truncate_at = sm->init_len + 200;
	assert_int_equal(run(p, sm, NULL, &cap, err, sizeof(err)),
	    VG_ERR_CLOSED);
	assert_null(cap);
	assert_int_equal(sm->close_calls, 1);
	sim_free(sm);

	sm = sim_new("\r\nR1#", cut);
	assert_int_equal(run(p, sm, NULL, &cap, err, sizeof(err)), 0);
	assert_int_equal(proxy_normalise(p, cap, &n, err, sizeof(err)),
	    VG_ERR_INCOMPLETE);
	assert_non_null(strstr(err, "end marker"));
	assert_null(n.text);
	proxy_capture_free(cap);
	sim_free(sm);
	proxy_profile_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recordings),
		cmocka_unit_test(test_recordings_bytewise),
		cmocka_unit_test(test_pager_and_escapes),
		cmocka_unit_test(test_password_only_login),
		cmocka_unit_test(test_login_variants),
		cmocka_unit_test(test_ignores_exit),
		cmocka_unit_test(test_slow_device),
		cmocka_unit_test(test_truncated_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
