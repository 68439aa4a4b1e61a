/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vigil-proxy-linux-probe: drives the Linux-over-SSH collector without a
 * hub, for tests/blackbox/test_proxy_linux.sh.
 *
 *   items   runs the collection script over SSH and prints each file
 *           item as `vigil scan list --json` does (one JSON a line)
 *   collect apl_collect_with() on DATA_DIR: the events a hub would get
 *           are appended to --events (one JSON a line) and acknowledged,
 *           or not with --no-ack
 *
 * Options: --host H --port P --user U [--password-file F] [--key-file F]
 * [--host-key SHA256:..] --policy FILE.json [--data-dir D] [--device-id N]
 * [--events FILE] [--no-ack] [--timeout S]. Exit 0 ok, 1 failed (code and
 * message on stderr), 2 usage.
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "linux.h"
#include "monitor.h"
#include "proxied_linux.h"
#include "remote.h"
#include "vg_err.h"
#include "vg_json.h"
#include "vg_util.h"

static FILE *events_out;
static int no_ack;

static int
file_send(void *arg, int64_t device_id, const json_t *events,
    int64_t **acked, size_t *nacked, char *err, size_t errlen)
{
	const json_t *ev;
	size_t i;

	(void)arg;
	(void)device_id;
	*acked = NULL;
	*nacked = 0;
	json_array_foreach(events, i, ev) {
		if (json_dumpf(ev, events_out, JSON_COMPACT | JSON_SORT_KEYS) !=
		    0 || fputc('\n', events_out) == EOF) {
			snprintf(err, errlen, "cannot write the events");
			return VG_ERR_IO;
		}
	}
	fflush(events_out);
	if (no_ack)
		return 0;
	if ((*acked = calloc(json_array_size(events) + 1,
	    sizeof(**acked))) == NULL)
		return VG_ERR_NOMEM;
	json_array_foreach(events, i, ev)
		(*acked)[(*nacked)++] = (int64_t)json_integer_value(
		    json_object_get(ev, "id"));
	return 0;
}

static char *
read_secret(const char *path)
{
	char *s = NULL;
	size_t len;

	if (path == NULL)
		return NULL;
	if (vg_read_file(path, 1 << 20, &s, &len, NULL, 0) != 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

static int
print_items(const json_t *pol, const struct proxy_target *t,
    const struct proxy_credentials *cred, unsigned timeout_ms, char *fp)
{
	struct agent_policy *p = NULL;
	struct proxy_linux_opts lo;
	struct proxy_linux_parser *pp = NULL;
	struct proxy_linux_result *res = NULL;
	struct proxy_ssh *ssh = NULL;
	char *script = NULL, err[512], errout[4096];
	size_t len, i;
	json_t *j;
	int r, status;

	if ((r = agent_policy_parse(pol, "", &p, err, sizeof(err))) != 0)
		goto out;
	memset(&lo, 0, sizeof(lo));
	lo.rules = p->rules;
	lo.content = p->content;
	lo.ncontent = p->ncontent;
	if ((r = proxy_linux_script(&lo, &script, &len, err,
	    sizeof(err))) != 0 ||
	    (r = proxy_linux_parser_new(&lo, &pp)) != 0 ||
	    (r = proxy_ssh_connect(t, cred, &ssh, fp, err, sizeof(err))) != 0)
		goto out;
	if ((r = proxy_ssh_run(ssh, "LC_ALL=C exec /bin/sh -s", script, len,
	    proxy_linux_parser_feed, pp, NULL, NULL, errout, sizeof(errout),
	    &status, timeout_ms)) != 0) {
		snprintf(err, sizeof(err), "%s: %s", vg_strerror(r),
		    proxy_linux_parser_error(pp));
		goto out;
	}
	if ((r = proxy_linux_parser_finish(pp, &res, err, sizeof(err))) != 0)
		goto out;
	for (i = 0; i < res->nfiles; i++) {
		if ((j = vg_item_to_json(res->files[i])) == NULL) {
			r = VG_ERR_NOMEM;
			goto out;
		}
		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	}
out:
	if (r != 0)
		fprintf(stderr, "error: %s\n", err);
	proxy_linux_result_free(res);
	proxy_linux_parser_free(pp);
	proxy_ssh_close(ssh);
	free(script);
	agent_policy_free(p);
	return r == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'w' },
		{ "enable-file", required_argument, NULL, 'E' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "host-key", required_argument, NULL, 'H' },
		{ "policy", required_argument, NULL, 'P' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "device-id", required_argument, NULL, 'i' },
		{ "events", required_argument, NULL, 'e' },
		{ "no-ack", no_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct proxy_target t;
	struct proxy_credentials cred;
	const char *policy = NULL, *data_dir = NULL, *events = NULL;
	const char *code = "";
	char fp[PROXY_FP_LEN], err[1024];
	long port = 22, id = 1, timeout = 120;
	json_t *pol, *dev;
	json_error_t je;
	int c, r;

	memset(&t, 0, sizeof(t));
	memset(&cred, 0, sizeof(cred));
	t.protocol = PROXY_PROTO_SSH;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h': t.host = optarg; break;
		case 'p': vg_parse_long(optarg, 1, 65535, &port); break;
		case 'u': cred.username = strdup(optarg); break;
		case 'w': cred.password = read_secret(optarg); break;
		case 'E': cred.enable_secret = read_secret(optarg); break;
		case 'k': cred.private_key = read_secret(optarg); break;
		case 'H': t.known_host_key = optarg; break;
		case 'P': policy = optarg; break;
		case 'd': data_dir = optarg; break;
		case 'i': vg_parse_long(optarg, 1, 1L << 40, &id); break;
		case 'e': events = optarg; break;
		case 'n': no_ack = 1; break;
		case 't': vg_parse_long(optarg, 1, 3600, &timeout); break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || t.host == NULL || policy == NULL ||
	    cred.username == NULL) {
		fprintf(stderr, "usage: vigil-proxy-linux-probe items|collect "
		    "--host H --port P --user U --policy FILE ...\n");
		return 2;
	}
	t.port = (unsigned)port;
	if ((pol = json_load_file(policy, 0, &je)) == NULL) {
		fprintf(stderr, "%s: %s\n", policy, je.text);
		return 2;
	}
	if (proxy_remote_init() != 0)
		return 1;
	if (strcmp(argv[optind], "items") == 0) {
		r = print_items(pol, &t, &cred, (unsigned)timeout * 1000, fp);
	} else if (strcmp(argv[optind], "collect") == 0 && data_dir != NULL &&
	    events != NULL) {
		/* the agent's DATA_DIR exists before it collects */
		if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
			perror(data_dir);
			return 2;
		}
		if ((events_out = fopen(events, "a")) == NULL) {
			perror(events);
			return 2;
		}
		dev = json_pack("{s:I, s:O, s:s}", "id", (json_int_t)id,
		    "policy", pol, "policy_version", "v1");
		r = apl_collect_with(data_dir, file_send, NULL, dev, &t, &cred,
		    (unsigned)timeout * 1000, fp, &code, err, sizeof(err));
		json_decref(dev);
		fclose(events_out);
		if (r != 0)
			fprintf(stderr, "error: %s: %s\n", code, err);
		r = r == 0 ? 0 : 1;
	} else {
		fprintf(stderr, "unknown command %s (or --data-dir/--events "
		    "missing)\n", argv[optind]);
		r = 2;
	}
	fprintf(stderr, "host key: %s\n", fp);
	json_decref(pol);
	proxy_credentials_wipe(&cred);
	return r;
}
