/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * proxy-remote-probe: drives proxy_ssh_connect() and proxy_ssh_run()
 * from the command line for tests/blackbox/test_proxy_ssh.sh.
 *
 *   proxy-remote-probe --host H --port P --user U [--key-file F]
 *       [--host-key FP] [--legacy] [--timeout-ms N] [--run-timeout-ms N]
 *       [--stdin FILE] [--out FILE] [--sudo-marker M] [COMMAND]
 *
 * Password from $VIGIL_DEVICE_PASSWORD, key passphrase from
 * $VIGIL_KEY_PASSPHRASE, sudo password from $PROBE_SUDO_PASSWORD.
 * Prints "fp FINGERPRINT", then for COMMAND one "chunk MS LEN" line per
 * stdout chunk as it arrives (MS since the command started; the bytes go
 * to --out), "status N" and "stderr ESCAPED-TAIL". Errors: "error NAME:
 * MESSAGE" (NAME from vg_strerror) and exit 1.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remote.h"
#include "vg_err.h"
#include "vg_util.h"

struct sink {
	int fd;
	double start;
};

static int
on_out(void *arg, const char *buf, size_t len)
{
	struct sink *k = arg;

	printf("chunk %.0f %zu\n", (vg_now() - k->start) * 1000.0, len);
	fflush(stdout);
	if (k->fd >= 0 && vg_write_all(k->fd, buf, len) != 0)
		return VG_ERR_IO;
	return 0;
}

static char *
env_dup(const char *name)
{
	const char *v = getenv(name);

	return v != NULL ? strdup(v) : NULL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'P' },
		{ "user", required_argument, NULL, 'u' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "host-key", required_argument, NULL, 'K' },
		{ "legacy", no_argument, NULL, 'L' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "run-timeout-ms", required_argument, NULL, 'R' },
		{ "stdin", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "sudo-marker", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct proxy_credentials cred;
	struct proxy_target t;
	struct proxy_ssh *s = NULL;
	struct sink k = { -1, 0 };
	const char *key_file = NULL, *in_file = NULL, *marker = NULL;
	char fp[PROXY_FP_LEN], err[2048], errout[4096], *in = NULL, *esc;
	char *sudo_pw;
	size_t in_len = 0, klen;
	long v, run_ms = 30000;
	int c, r, status;

	memset(&t, 0, sizeof(t));
	memset(&cred, 0, sizeof(cred));
	t.protocol = PROXY_PROTO_SSH;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': t.host = optarg; break;
		case 'P':
			if (vg_parse_long(optarg, 1, 65535, &v) != 0)
				return 2;
			t.port = (unsigned int)v;
			break;
		case 'u': cred.username = strdup(optarg); break;
		case 'k': key_file = optarg; break;
		case 'K': t.known_host_key = optarg; break;
		case 'L': t.legacy = 1; break;
		case 't':
			if (vg_parse_long(optarg, 1, 3600000, &v) != 0)
				return 2;
			t.connect_timeout_ms = (unsigned int)v;
			break;
		case 'R':
			if (vg_parse_long(optarg, 1, 3600000, &run_ms) != 0)
				return 2;
			break;
		case 'i': in_file = optarg; break;
		case 'o':
			k.fd = open(optarg, O_WRONLY | O_CREAT | O_TRUNC |
			    O_CLOEXEC, 0600);
			if (k.fd < 0)
				return 2;
			break;
		case 'm': marker = optarg; break;
		default:
			fprintf(stderr, "proxy-remote-probe: bad usage\n");
			return 2;
		}
	}
	cred.password = env_dup("VIGIL_DEVICE_PASSWORD");
	cred.passphrase = env_dup("VIGIL_KEY_PASSPHRASE");
	sudo_pw = env_dup("PROBE_SUDO_PASSWORD");
	if (key_file != NULL && vg_read_file(key_file, 1 << 20,
	    &cred.private_key, &klen, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (in_file != NULL && vg_read_file(in_file, 1 << 26, &in, &in_len,
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (proxy_remote_init() != 0)
		return 2;
	r = proxy_ssh_connect(&t, &cred, &s, fp, err, sizeof(err));
	if (fp[0] != '\0')
		printf("fp %s\n", fp);
	if (r != 0)
		goto fail;
	if (optind < argc) {
		k.start = vg_now();
		r = proxy_ssh_run(s, argv[optind], in, in_len, on_out, &k,
		    marker, sudo_pw, errout, sizeof(errout), &status,
		    (unsigned int)run_ms);
		esc = vg_escape(errout, strlen(errout));
		printf("status %d\nstderr %s\n", status, esc != NULL ? esc :
		    "");
		free(esc);
		if (r != 0) {
			snprintf(err, sizeof(err), "run: %s", vg_strerror(r));
			goto fail;
		}
	}
	printf("ok\n");
out:
	proxy_ssh_close(s);
	proxy_credentials_wipe(&cred);
	free(sudo_pw);
	free(in);
	if (k.fd >= 0)
		close(k.fd);
	return r == 0 ? 0 : 1;
fail:
	printf("error %s: %s\n", vg_strerror(r), err);
	goto out;
}
