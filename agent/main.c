/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "agent.h"
#include "vg_err.h"
#include "vg_log.h"

/*
 * vigil-agent: runs the agent in the foreground (systemd's Type=simple),
 * or "vigil-agent status" prints what it is doing.
 */

#define EXIT_FAIL 1
#define EXIT_USAGE 2

enum {
	OPT_HUB_DETAILS = 256, OPT_DATA_DIR, OPT_CONFIG, OPT_ONCE,
	OPT_LOG_LEVEL, OPT_JSON, OPT_VERSION,
};

static volatile sig_atomic_t stop_flag;

/*
 * libcurl's dependencies load GnuTLS (through librtmp and libldap), whose
 * constructor initialises it at load time: PKCS#11 modules, ASN.1 trees,
 * about 0.8 MB resident in a process that speaks HTTPS through OpenSSL
 * only. This is GnuTLS's documented opt-out (GNUTLS_SKIP_GLOBAL_INIT in
 * gnutls.h); its users here call gnutls_global_init() themselves. The
 * symbol is exported by the link (agent/CMakeLists.txt).
 */
int _gnutls_global_init_skip(void);

int
_gnutls_global_init_skip(void)
{
	return 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: vigil-agent [--hub-details PATH] [--data-dir DIR] [--config PATH]\n"
"                   [--once] [--log-level LEVEL]\n"
"       vigil-agent status [--data-dir DIR] [--config PATH] [--json]\n"
"       vigil-agent --version | --help\n"
"\n"
"Without a command, runs the agent in the foreground until SIGTERM; with\n"
"--once, registers if needed, fetches the policy, scans and sends the\n"
"changes, then exits. The configuration file is %s\n"
"unless --config names another; options override it.\n",
	    AGENT_CONF_DEFAULT_PATH);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return -1;
	/* No SA_RESTART: a sleep or a wait ends at once, and the loops
	 * check the flag. */
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0)
		return -1;
	return 0;
}

/* Applies an option over the configuration, naming the flag on error. */
static int
set_option(struct agent_conf *c, const char *key, const char *flag,
    const char *value)
{
	char err[512];
	const char *colon;

	if (value == NULL || agent_conf_set(c, key, value, err,
	    sizeof(err)) == 0)
		return 0;
	colon = strchr(err, ':');
	fprintf(stderr, "vigil-agent: %s%s\n", flag, colon != NULL ? colon :
	    err);
	return -1;
}

/* A core dump would hold the enrolment password, the proxy password and
 * the credential: none is written, and no other user may ptrace us. */
static void
no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "hub-details", required_argument, NULL, OPT_HUB_DETAILS },
		{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *hub_details = NULL, *data_dir = NULL, *config = NULL;
	const char *log_level = NULL;
	struct agent_conf c;
	char err[1024];
	int ch, once = 0, json = 0, status = 0, ret = EXIT_USAGE;

	vg_log_set_program("vigil-agent");
	umask(077);
	no_core_dumps();
	/* Few threads: two arenas keep the idle footprint small. */
	mallopt(M_ARENA_MAX, 2);

	if (argc > 1 && strcmp(argv[1], "status") == 0) {
		status = 1;
		argv++;
		argc--;
	}
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_HUB_DETAILS:
			hub_details = optarg;
			break;
		case OPT_DATA_DIR:
			data_dir = optarg;
			break;
		case OPT_CONFIG:
			config = optarg;
			break;
		case OPT_ONCE:
			once = 1;
			break;
		case OPT_LOG_LEVEL:
			log_level = optarg;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_VERSION:
			printf("vigil-agent %s\n", VIGIL_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vigil-agent: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((status && (once || log_level != NULL)) ||
	    (!status && json)) {
		fprintf(stderr, "vigil-agent: %s\n", status ? "status takes "
		    "--data-dir, --config, --hub-details and --json only" :
		    "--json goes with the status command");
		usage(stderr);
		return EXIT_USAGE;
	}

	if (agent_conf_defaults(&c) != 0) {
		fprintf(stderr, "vigil-agent: out of memory\n");
		return EXIT_FAIL;
	}
	/* The default file is optional; one named with --config is not. */
	if (agent_conf_load(&c, config, config != NULL, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "vigil-agent: %s\n", err);
		/* A bad configuration is fatal, not a usage error: systemd
		 * does not retry exit status 1. */
		ret = EXIT_FAIL;
		goto out;
	}
	if (set_option(&c, "hub_details", "--hub-details", hub_details) != 0 ||
	    set_option(&c, "data_dir", "--data-dir", data_dir) != 0 ||
	    set_option(&c, "log_level", "--log-level", log_level) != 0)
		goto out;
	c.once = once;
	vg_log_set_level(c.log_level);

	if (status) {
		ret = agent_status(&c, json);
		goto out;
	}
	if (install_signals() != 0) {
		fprintf(stderr, "vigil-agent: cannot set up signals\n");
		ret = EXIT_FAIL;
		goto out;
	}
	/* Before libcurl initialises OpenSSL: the configuration and libssl's
	 * error strings as usual, not those of every libcrypto module, whose
	 * loaders are spread over all of libcrypto's code (0.3 MB resident
	 * at idle). TLS errors keep their text ("SSL routines::wrong version
	 * number"); the agent's own messages never use libcrypto's. */
	if (!OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG |
	    OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS, NULL)) {
		fprintf(stderr, "vigil-agent: cannot initialise OpenSSL\n");
		ret = EXIT_FAIL;
		goto out;
	}
	ret = agent_run(&c, &stop_flag);
out:
	agent_conf_free(&c);
	return ret;
}
