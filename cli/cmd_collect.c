/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * "vigil collect ...": collects one network device over SSH or Telnet
 * with a profile, as a proxy agent would, and prints the normalised
 * configuration (or the raw outputs); or, with --type windows, one
 * Windows host over SMB (registry keys and files), printing its items
 * as JSON lines. For profile authors, policy authors and tests.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_collect.h"
#include "cmd_scan.h"
#include "normalise.h"
#include "profile.h"
#include "remote.h"
#include "report.h"
#include "session.h"
#include "vg_err.h"
#include "vg_json.h"
#include "vg_util.h"
#include "windows.h"

#ifndef VIGIL_PROFILES_DIR
#define VIGIL_PROFILES_DIR "/usr/share/vigil/profiles"
#endif
#define SECRET_FILE_MAX (64 * 1024)
#define KEY_FILE_MAX (1024 * 1024)
#define EXIT_FAILED 1
#define WIN_DEPTH_DEFAULT 8

/* A repeatable option's values (pointers into argv). */
struct arg_list {
	char **v;
	size_t n;
};

struct collect_args {
	const char *profile, *profiles_dir, *host, *user, *password_file,
	    *key_file, *enable_file, *host_key;
	unsigned int port, timeout_s;
	int telnet, legacy, raw;
	int windows;                   /* --type windows */
	struct arg_list registry, files, include, exclude;
	unsigned int depth;
	int depth_set;
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: vigil collect --profile NAME|FILE [--profiles-dir DIR] --host HOST\n"
"                     [--port PORT] [--telnet] [--user NAME]\n"
"                     [--password-file FILE] [--key-file FILE]\n"
"                     [--enable-file FILE] [--legacy-ssh]\n"
"                     [--host-key SHA256:...] [--raw] [--timeout SECONDS]\n"
"       vigil collect --type windows --host HOST [--port PORT]\n"
"                     --user [DOMAIN\\]NAME [--password-file FILE]\n"
"                     [--registry KEY]... [--file PATH]... [--depth N]\n"
"                     [--include GLOB]... [--exclude GLOB]...\n"
"                     [--timeout SECONDS]\n"
"\n"
"Collects one network device as a proxy agent would and prints its\n"
"normalised configuration (--raw: each command's output as received).\n"
"The SSH host key fingerprint goes to stderr. With --type windows,\n"
"collects registry keys (HKLM\\..., HKU\\...) and files (C:\\...) of a\n"
"Windows host over SMB and prints each item as a JSON line; problems\n"
"(a key or file the account may not read) go to stderr. Secrets come\n"
"from files or the environment, never the command line:\n"
"VIGIL_DEVICE_PASSWORD, VIGIL_ENABLE_SECRET, VIGIL_KEY_PASSPHRASE.\n"
"Exit 0 ok, 1 collection failed, 2 bad usage. See vigil(1).\n");
}

/* "vigil collect: MESSAGE" on stderr; returns EXIT_TROUBLE. */
#define trouble(...) report_trouble("collect", __VA_ARGS__)

/* Appends optarg to l (room for argc values was made). */
static void
list_add(struct arg_list *l, char *value)
{
	l->v[l->n++] = value;
}

static void
args_free(struct collect_args *a)
{
	free(a->registry.v);
	free(a->files.v);
	free(a->include.v);
	free(a->exclude.v);
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* The checks of --type windows. */
static int
check_windows_args(const struct collect_args *a)
{
	char err[512];
	size_t i;

	if (a->profile != NULL || a->profiles_dir != NULL || a->telnet ||
	    a->legacy || a->host_key != NULL || a->key_file != NULL ||
	    a->enable_file != NULL || a->raw)
		return trouble("%s", "--profile, --profiles-dir, --telnet, "
		    "--legacy-ssh, --host-key, --key-file, --enable-file and "
		    "--raw are for network devices, not --type windows");
	if (a->user == NULL)
		return trouble("%s", "Windows hosts need a user name: --user "
		    "[DOMAIN\\]NAME");
	if (a->registry.n + a->files.n == 0)
		return trouble("%s", "name what to collect: --registry KEY "
		    "and/or --file PATH");
	for (i = 0; i < a->registry.n; i++)
		if (proxy_win_key_check(a->registry.v[i], err,
		    sizeof(err)) != 0)
			return trouble("--registry: %s", err);
	for (i = 0; i < a->files.n; i++)
		if (proxy_win_file_check(a->files.v[i], err, sizeof(err)) != 0)
			return trouble("--file: %s", err);
	return 0;
}

/* 0, EXIT_TROUBLE after a message, or -1 after --help. */
static int
parse_args(int argc, char **argv, struct collect_args *a)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "profiles-dir", required_argument, NULL, 'd' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'P' },
		{ "telnet", no_argument, NULL, 'T' },
		{ "user", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'w' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "enable-file", required_argument, NULL, 'e' },
		{ "legacy-ssh", no_argument, NULL, 'L' },
		{ "host-key", required_argument, NULL, 'K' },
		{ "raw", no_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "type", required_argument, NULL, 'y' },
		{ "registry", required_argument, NULL, 'R' },
		{ "file", required_argument, NULL, 'f' },
		{ "depth", required_argument, NULL, 'D' },
		{ "include", required_argument, NULL, 'i' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	memset(a, 0, sizeof(*a));
	if ((a->registry.v = calloc((size_t)argc, sizeof(char *))) == NULL ||
	    (a->files.v = calloc((size_t)argc, sizeof(char *))) == NULL ||
	    (a->include.v = calloc((size_t)argc, sizeof(char *))) == NULL ||
	    (a->exclude.v = calloc((size_t)argc, sizeof(char *))) == NULL)
		return trouble("%s", "out of memory");
	a->depth = WIN_DEPTH_DEFAULT;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': a->profile = optarg; break;
		case 'd': a->profiles_dir = optarg; break;
		case 'H': a->host = optarg; break;
		case 'P':
			if (vg_parse_long(optarg, 1, 65535, &v) != 0)
				return trouble("--port: '%s' is not a port "
				    "(1-65535)", optarg);
			a->port = (unsigned int)v;
			break;
		case 'T': a->telnet = 1; break;
		case 'u': a->user = optarg; break;
		case 'w': a->password_file = optarg; break;
		case 'k': a->key_file = optarg; break;
		case 'e': a->enable_file = optarg; break;
		case 'L': a->legacy = 1; break;
		case 'K': a->host_key = optarg; break;
		case 'r': a->raw = 1; break;
		case 't':
			if (vg_parse_long(optarg, 1, 3600, &v) != 0)
				return trouble("--timeout: '%s' is not a "
				    "number of seconds (1-3600)", optarg);
			a->timeout_s = (unsigned int)v;
			break;
		case 'y':
			if (strcmp(optarg, "windows") == 0)
				a->windows = 1;
			else if (strcmp(optarg, "network") != 0)
				return trouble("--type: '%s' is not a device "
				    "type (network or windows)", optarg);
			break;
		case 'R': list_add(&a->registry, optarg); break;
		case 'f': list_add(&a->files, optarg); break;
		case 'i':
		case 'x':
			if (optarg[0] == '\0' || strlen(optarg) > 4096 ||
			    has_control(optarg))
				return trouble("--%s: a glob of 1 to 4096 "
				    "bytes without control characters",
				    c == 'i' ? "include" : "exclude");
			list_add(c == 'i' ? &a->include : &a->exclude, optarg);
			break;
		case 'D':
			if (vg_parse_long(optarg, 0, PROXY_WIN_DEPTH_MAX,
			    &v) != 0)
				return trouble("--depth: '%s' is not a number "
				    "of levels (0-%d)", optarg,
				    PROXY_WIN_DEPTH_MAX);
			a->depth = (unsigned int)v;
			a->depth_set = 1;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case ':':
			return trouble("%s needs a value", argv[optind - 1]);
		default:
			fprintf(stderr, "vigil collect: unknown option %s\n",
			    argv[optind - 1]);
			usage(stderr);
			return EXIT_TROUBLE;
		}
	}
	if (optind < argc)
		return trouble("unexpected argument '%s'", argv[optind]);
	if (a->host == NULL)
		return trouble("%s", "name the device: --host HOST");
	if (a->windows)
		return check_windows_args(a);
	if (a->registry.n + a->files.n + a->include.n + a->exclude.n > 0 ||
	    a->depth_set)
		return trouble("%s", "--registry, --file, --depth, --include "
		    "and --exclude are for --type windows");
	if (a->profile == NULL)
		return trouble("%s", "name a profile: --profile NAME|FILE");
	if (a->telnet && (a->key_file != NULL || a->legacy ||
	    a->host_key != NULL))
		return trouble("%s", "--key-file, --legacy-ssh and --host-key "
		    "are for SSH, not --telnet");
	if (!a->telnet && a->user == NULL)
		return trouble("%s", "SSH needs a user name: --user NAME");
	if (a->host_key != NULL && strncmp(a->host_key, "SHA256:", 7) != 0)
		return trouble("--host-key: '%s' is not a fingerprint as "
		    "ssh-keygen -l prints it (SHA256:...)", a->host_key);
	return 0;
}

/* The secret in file (its first line when one_line) or else in the
 * environment variable env, as a string the caller wipes; NULL in *out
 * when neither is given. */
static int
read_secret(const char *file, const char *env, int one_line, size_t max,
    char **out)
{
	char err[512], *s;
	size_t len;
	int r;

	*out = NULL;
	if (file == NULL) {
		if (env == NULL || (s = getenv(env)) == NULL)
			return 0;
		if ((*out = strdup(s)) == NULL)
			return trouble("%s", "out of memory");
		return 0;
	}
	if ((r = vg_read_file(file, max, out, &len, err, sizeof(err))) != 0)
		return trouble("%s", err);
	if (one_line)
		(*out)[strcspn(*out, "\r\n")] = '\0';
	return 0;
}

static int
load_profile(const struct collect_args *a, struct proxy_profile **p)
{
	char err[1024];
	size_t n = strlen(a->profile);
	int r;

	if (strchr(a->profile, '/') != NULL || (n > 8 &&
	    strcmp(a->profile + n - 8, ".profile") == 0))
		r = proxy_profile_load(a->profile, p, err, sizeof(err));
	else
		r = proxy_profile_load_named(a->profiles_dir != NULL ?
		    a->profiles_dir : VIGIL_PROFILES_DIR, a->profile, p, err,
		    sizeof(err));
	if (r != 0)
		return trouble("%s", err);
	return 0;
}

static void
print_raw(const struct proxy_capture *cap)
{
	size_t i;

	for (i = 0; i < cap->n; i++) {
		printf("=== %s ===\n", cap->out[i].command);
		fwrite(cap->out[i].text, 1, cap->out[i].len, stdout);
		if (cap->out[i].len > 0 &&
		    cap->out[i].text[cap->out[i].len - 1] != '\n')
			putchar('\n');
	}
}

/* One item as a JSON line (as `vigil scan list --json` prints). */
static int
print_item(const struct vg_item *it)
{
	json_t *j;
	char *s;

	j = vg_item_to_json(it);
	s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(j);
	if (s == NULL)
		return -1;
	puts(s);
	free(s);
	return 0;
}

/* The items of the three sorted lists, merged in path order. */
static int
print_windows(const struct proxy_win_result *res)
{
	struct vg_item **lists[3] = { res->keys, res->values, res->files };
	size_t n[3] = { res->nkeys, res->nvalues, res->nfiles };
	size_t at[3] = { 0, 0, 0 };
	int i, best;

	for (;;) {
		best = -1;
		for (i = 0; i < 3; i++)
			if (at[i] < n[i] && (best < 0 ||
			    vg_item_path_cmp(lists[i][at[i]],
			    lists[best][at[best]]) < 0))
				best = i;
		if (best < 0)
			break;
		if (print_item(lists[best][at[best]++]) != 0)
			return trouble("%s", "out of memory");
	}
	return fflush(stdout) == 0 ? 0 : trouble("%s", "cannot write the "
	    "output");
}

static int
collect_windows(const struct collect_args *a)
{
	struct proxy_credentials cred;
	struct proxy_win_result *res = NULL;
	struct proxy_win_opts o;
	struct proxy_target t;
	char err[2048];
	size_t i;
	int r, rc;

	memset(&cred, 0, sizeof(cred));
	if ((cred.username = strdup(a->user)) == NULL) {
		rc = trouble("%s", "out of memory");
		goto out;
	}
	if ((rc = read_secret(a->password_file, "VIGIL_DEVICE_PASSWORD", 1,
	    SECRET_FILE_MAX, &cred.password)) != 0)
		goto out;
	memset(&t, 0, sizeof(t));
	t.host = a->host;
	t.port = a->port;
	t.protocol = PROXY_PROTO_SMB;
	memset(&o, 0, sizeof(o));
	o.keys = a->registry.v;
	o.nkeys = a->registry.n;
	o.files = a->files.v;
	o.nfiles = a->files.n;
	o.depth = a->depth;
	o.include = a->include.v;
	o.ninclude = a->include.n;
	o.exclude = a->exclude.v;
	o.nexclude = a->exclude.n;
	o.hash = VG_HASH_SHA256;
	err[0] = '\0';
	r = proxy_win_collect(&t, &cred, &o, a->timeout_s * 1000, &res, err,
	    sizeof(err));
	if (r != 0) {
		fprintf(stderr, "vigil collect: %s\n", err[0] != '\0' ? err :
		    vg_strerror(r));
		rc = EXIT_FAILED;
		goto out;
	}
	for (i = 0; i < res->nproblems; i++)
		fprintf(stderr, "vigil collect: %s\n", res->problems[i]);
	rc = print_windows(res);
out:
	proxy_credentials_wipe(&cred);
	proxy_win_result_free(res);
	return rc;
}

int
cmd_collect(int argc, char **argv)
{
	struct collect_args a;
	struct proxy_credentials cred;
	struct proxy_profile *p = NULL;
	struct proxy_capture *cap = NULL;
	struct proxy_session_opts o;
	struct proxy_target t;
	struct proxy_norm norm;
	char fp[PROXY_FP_LEN], err[2048];
	int r, rc;

	memset(&cred, 0, sizeof(cred));
	memset(&norm, 0, sizeof(norm));
	if ((rc = parse_args(argc, argv, &a)) != 0) {
		args_free(&a);
		return rc < 0 ? 0 : rc;
	}
	if (a.windows) {
		rc = collect_windows(&a);
		args_free(&a);
		return rc;
	}
	if ((rc = load_profile(&a, &p)) != 0)
		goto out;
	if ((a.user != NULL && (cred.username = strdup(a.user)) == NULL) ||
	    (rc = read_secret(a.password_file, "VIGIL_DEVICE_PASSWORD", 1,
	    SECRET_FILE_MAX, &cred.password)) != 0 ||
	    (rc = read_secret(a.enable_file, "VIGIL_ENABLE_SECRET", 1,
	    SECRET_FILE_MAX, &cred.enable_secret)) != 0 ||
	    (rc = read_secret(a.key_file, NULL, 0, KEY_FILE_MAX,
	    &cred.private_key)) != 0 ||
	    (rc = read_secret(NULL, "VIGIL_KEY_PASSPHRASE", 1, 0,
	    &cred.passphrase)) != 0) {
		if (rc == 0)
			rc = trouble("%s", "out of memory");
		goto out;
	}
	memset(&t, 0, sizeof(t));
	t.host = a.host;
	t.port = a.port;
	t.protocol = a.telnet ? PROXY_PROTO_TELNET : PROXY_PROTO_SSH;
	t.legacy = a.legacy;
	t.known_host_key = a.host_key;
	proxy_session_opts_default(&o);
	if (a.timeout_s != 0) {
		t.connect_timeout_ms = a.timeout_s * 1000;
		o.step_timeout_ms = a.timeout_s * 1000;
	}
	if (proxy_remote_init() != 0) {
		rc = trouble("%s", "libssh cannot start");
		goto out;
	}
	err[0] = '\0';
	r = proxy_collect(p, &t, &cred, &o, &cap, fp, err, sizeof(err));
	if (fp[0] != '\0')
		fprintf(stderr, "host key: %s\n", fp);
	if (r != 0) {
		fprintf(stderr, "vigil collect: %s\n", err[0] != '\0' ? err :
		    vg_strerror(r));
		rc = EXIT_FAILED;
		goto out;
	}
	if (a.raw) {
		print_raw(cap);
		rc = 0;
		goto out;
	}
	if ((r = proxy_normalise(p, cap, &norm, err, sizeof(err))) != 0) {
		fprintf(stderr, "vigil collect: %s: %s\n", a.host,
		    err[0] != '\0' ? err : vg_strerror(r));
		rc = EXIT_FAILED;
		goto out;
	}
	fwrite(norm.text, 1, norm.len, stdout);
	rc = fflush(stdout) == 0 ? 0 : trouble("%s", "cannot write the "
	    "output");
out:
	args_free(&a);
	proxy_credentials_wipe(&cred);
	proxy_norm_free(&norm);
	proxy_capture_free(cap);
	proxy_profile_free(p);
	return rc;
}
