/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "conf.h"
#include "creds.h"
#include "housekeeping.h"
#include "http.h"
#include "hub.h"
#include "store.h"
#include "tls.h"
#include "vg_err.h"

/*
 * vigil-hub: the daemon (no command) and "vigil-hub init", which prepares
 * the data directory: database, certificate, the first administrator and
 * the agents' enrolment account.
 */

#define EXIT_FAIL 1
#define EXIT_USAGE 2

#define ADMIN_PASSWORD_LEN 20
#define ENROL_PASSWORD_LEN 24
#define PASSWORD_MIN 12
#define PASSWORD_MAX 1024
#define HASH_MAX 256

enum {
	OPT_LISTEN = 256, OPT_DATA_DIR, OPT_CERT, OPT_KEY, OPT_LOG_LEVEL,
	OPT_FOREGROUND, OPT_VERSION, OPT_URL, OPT_ADMIN, OPT_ADMIN_PWFILE,
	OPT_ENROL_USER,
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: vigil-hub [-c FILE] [--listen HOST:PORT] [--data-dir DIR]\n"
"                 [--cert FILE --key FILE] [--log-level LEVEL] [--foreground]\n"
"       vigil-hub init [-c FILE] [--data-dir DIR] [--listen HOST:PORT]\n"
"                 [--url URL] [--admin NAME] [--admin-password-file FILE]\n"
"                 [--enrol-user NAME]\n"
"       vigil-hub --version | --help\n"
"\n"
"Without a command, runs the hub (in the foreground). \"init\" prepares the\n"
"data directory once. The configuration file is %s\n"
"unless -c names another; options override it. See vigil-hub(8).\n",
	    HUB_CONF_DEFAULT_PATH);
}

/* Options shared by the daemon and init; the rest are parsed by each. */
struct opts {
	const char *conf_file;
	const char *listen, *data_dir, *cert, *key, *log_level, *url;
	const char *admin, *admin_pwfile, *enrol_user;
};

/* Loads the configuration and applies the command line over it. */
static int
load_conf(struct hub_conf *c, const struct opts *o)
{
	static const struct { const char *key, *flag; size_t off; } flags[] = {
		{ "listen", "--listen", offsetof(struct opts, listen) },
		{ "data_dir", "--data-dir", offsetof(struct opts, data_dir) },
		{ "tls_cert", "--cert", offsetof(struct opts, cert) },
		{ "tls_key", "--key", offsetof(struct opts, key) },
		{ "log_level", "--log-level", offsetof(struct opts, log_level) },
		{ "url", "--url", offsetof(struct opts, url) },
	};
	const char *file = o->conf_file != NULL ? o->conf_file :
	    HUB_CONF_DEFAULT_PATH;
	char err[1024];
	size_t i;
	int r;

	if (hub_conf_defaults(c) != 0) {
		hub_log(HUB_LOG_ERROR, "out of memory");
		return -1;
	}
	r = hub_conf_load(c, file, err, sizeof(err));
	/* The default file is optional; one named with -c is not. */
	if (r != 0 && !(r == VG_ERR_NOTFOUND && o->conf_file == NULL)) {
		hub_log(HUB_LOG_ERROR, "%s", err);
		return -1;
	}
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		const char *v = *(const char *const *)(const void *)
		    ((const char *)o + flags[i].off);

		if (v == NULL)
			continue;
		if (hub_conf_set(c, flags[i].key, v, err, sizeof(err)) != 0) {
			/* The message starts with the key; name the flag. */
			const char *colon = strchr(err, ':');

			hub_log(HUB_LOG_ERROR, "%s%s", flags[i].flag,
			    colon != NULL ? colon : err);
			return -1;
		}
	}
	if (hub_conf_check(c, err, sizeof(err)) != 0) {
		hub_log(HUB_LOG_ERROR, "%s", err);
		return -1;
	}
	hub_log_set_level(c->log_level);
	return 0;
}

/* Opens the store named by the configuration. create: whether a missing
 * database may be made (init) or means "not initialised" (daemon). */
static int
open_store(struct hub *h, int create)
{
	char err[512], *where;
	int r;

	if ((where = hub_conf_database(&h->conf)) == NULL) {
		hub_log(HUB_LOG_ERROR, "out of memory");
		return -1;
	}
	if (!create && strstr(where, "://") == NULL &&
	    access(where, F_OK) != 0) {
		hub_log(HUB_LOG_ERROR, "%s: %s; run vigil-hub init first",
		    where, strerror(errno));
		free(where);
		return -1;
	}
	err[0] = '\0';
	if ((r = hub_store_open(where, &h->store, err, sizeof(err))) != 0) {
		hub_log(HUB_LOG_ERROR, "cannot open the database %s: %s", where,
		    err[0] != '\0' ? err : vg_strerror(r));
		free(where);
		return -1;
	}
	free(where);
	return 0;
}

/* 1 when init has completed on this store, 0 when not, -1 on error. */
static int
is_initialised(struct hub *h)
{
	char err[512], *v = NULL;
	int r;

	err[0] = '\0';
	r = h->store->ops->setting_get(h->store, "initialised", &v, err,
	    sizeof(err));
	if (r == VG_ERR_NOTFOUND)
		return 0;
	if (r != 0) {
		hub_log(HUB_LOG_ERROR, "cannot read the database: %s",
		    err[0] != '\0' ? err : vg_strerror(r));
		return -1;
	}
	r = strcmp(v, "1") == 0;
	free(v);
	return r;
}

static void
close_store(struct hub *h)
{
	char err[512];
	int r;

	if (h->store == NULL)
		return;
	err[0] = '\0';
	if ((r = h->store->ops->flush(h->store, err, sizeof(err))) != 0)
		hub_log(HUB_LOG_ERROR, "cannot write the last poll times: %s",
		    err[0] != '\0' ? err : vg_strerror(r));
	hub_store_close(h->store);
	h->store = NULL;
}

/*
 * Opens the key that seals proxied devices' credentials, made on first
 * need. Without it the hub runs on, but credentials can be neither
 * stored nor handed to proxies: a hub whose key file is unsafe or lost
 * must not seal new secrets under another key. required: fail (init).
 */
static int
open_creds(struct hub *h, int required)
{
	char err[1024], *keyfile;
	int r;

	if ((keyfile = hub_conf_credential_key(&h->conf)) == NULL) {
		hub_log(HUB_LOG_ERROR, "out of memory");
		return -1;
	}
	err[0] = '\0';
	if ((r = hub_creds_open(keyfile, 1, &h->creds, err,
	    sizeof(err))) != 0) {
		hub_log(HUB_LOG_ERROR, "%s%s", err[0] != '\0' ? err :
		    vg_strerror(r), required ? "" : "; proxied devices' "
		    "credentials cannot be used until this is fixed");
		free(keyfile);
		return required ? -1 : 0;
	}
	free(keyfile);
	return 0;
}

/* Zeroes h and loads the configuration: how both commands start. */
static int
hub_prepare(struct hub *h, const struct opts *o)
{
	memset(h, 0, sizeof(*h));
	atomic_init(&h->inflight, 0);
	atomic_init(&h->requests, 0);
	return load_conf(&h->conf, o);
}

/* Sets up authentication, then loads the TLS certificate or makes one;
 * the store is open. *auth is set once hub_auth_free() is due. */
static int
start_auth_tls(struct hub *h, int *auth)
{
	char err[1024];
	int r;

	if ((r = hub_auth_init(h)) != 0) {
		hub_log(HUB_LOG_ERROR, "cannot set up authentication: %s",
		    vg_strerror(r));
		return -1;
	}
	*auth = 1;
	if (hub_tls_load_or_create(h, err, sizeof(err)) != 0) {
		hub_log(HUB_LOG_ERROR, "%s", err);
		return -1;
	}
	return 0;
}

/* Releases what hub_prepare(), open_store() and start_auth_tls() set
 * up. */
static void
hub_release(struct hub *h, int auth)
{
	close_store(h);
	hub_creds_close(h->creds);
	h->creds = NULL;
	if (auth)
		hub_auth_free(h);
	hub_tls_free(h);
	hub_conf_free(&h->conf);
}

/* "HOST:PORT", bracketing an IPv6 address. */
static void
format_listen(const struct hub_conf *c, char *out, size_t outlen)
{
	snprintf(out, outlen, strchr(c->listen_host, ':') != NULL ?
	    "[%s]:%d" : "%s:%d", c->listen_host, c->port);
}

/* ---- the daemon ---- */

static int
run_daemon(const struct opts *o)
{
	struct hub h;
	struct stat st;
	sigset_t sigs;
	char err[1024], where[320];
	int r, sig, ret = EXIT_FAIL, http = 0, hk = 0, auth = 0;

	if (hub_prepare(&h, o) != 0)
		goto out;

	/* Every thread started from here on inherits the mask; the signals
	 * are taken by sigwait() below, never by a handler. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (stat(h.conf.data_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		hub_log(HUB_LOG_ERROR, "data directory %s: %s; run vigil-hub "
		    "init first", h.conf.data_dir, errno == 0 ||
		    S_ISDIR(st.st_mode) ? "not a directory" : strerror(errno));
		goto out;
	}
	if (open_store(&h, 0) != 0)
		goto out;
	if ((r = is_initialised(&h)) <= 0) {
		if (r == 0)
			hub_log(HUB_LOG_ERROR, "%s is not initialised; run "
			    "vigil-hub init first", h.conf.data_dir);
		goto out;
	}
	if (start_auth_tls(&h, &auth) != 0 || open_creds(&h, 0) != 0)
		goto out;
	if (hub_http_start(&h, err, sizeof(err)) != 0) {
		hub_log(HUB_LOG_ERROR, "%s", err);
		goto out;
	}
	http = 1;
	if (hub_housekeeping_start(&h, err, sizeof(err)) != 0) {
		hub_log(HUB_LOG_ERROR, "%s", err);
		goto out;
	}
	hk = 1;
	format_listen(&h.conf, where, sizeof(where));
	hub_log(HUB_LOG_INFO, "vigil-hub %s listening on https://%s/ (TLS "
	    "SHA-256 fingerprint %s)", VIGIL_VERSION, where, h.fingerprint);

	while (!h.stop) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			hub_log(HUB_LOG_INFO, "SIGHUP ignored: restart the hub "
			    "to apply a new configuration");
			continue;
		}
		hub_log(HUB_LOG_INFO, "stopping (%s)", strsignal(sig));
		h.stop = 1;
	}
	ret = 0;
out:
	if (http)
		hub_http_stop();
	if (hk)
		hub_housekeeping_stop();
	hub_release(&h, auth);
	if (http)
		hub_log(HUB_LOG_INFO, "stopped after %lld requests",
		    (long long)atomic_load(&h.requests));
	return ret;
}

/* ---- init ---- */

/* A user name as the API accepts it: 1..64 of [A-Za-z0-9._@-]. */
static int
valid_user_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._@-", *s) == NULL)
			return 0;
	return 1;
}

/* The first line of a file, for a password given without a terminal. */
static int
read_password_file(const char *path, char *out, size_t outlen)
{
	char buf[PASSWORD_MAX + 2];
	ssize_t n;
	size_t len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		hub_log(HUB_LOG_ERROR, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		hub_log(HUB_LOG_ERROR, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	if (len < PASSWORD_MIN || len > PASSWORD_MAX || len >= outlen) {
		hub_log(HUB_LOG_ERROR, "%s: the first line must hold a "
		    "password of %d to %d characters", path, PASSWORD_MIN,
		    PASSWORD_MAX);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	memcpy(out, buf, len + 1);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/*
 * Creates the account, or, when an init that did not finish made it
 * already, gives it the new password and role (the password printed is
 * then the valid one).
 */
static int
make_user(struct hub *h, const char *name, const char *password, int role)
{
	struct hub_store *s = h->store;
	char hash[HASH_MAX], err[512];
	json_t *u = NULL;
	int64_t id;
	int r;

	if ((r = hub_auth_hash_password(password, hash, sizeof(hash))) != 0) {
		hub_log(HUB_LOG_ERROR, "cannot hash the password of %s: %s",
		    name, vg_strerror(r));
		return -1;
	}
	err[0] = '\0';
	if (s->ops->user_get_by_name(s, name, &u, err, sizeof(err)) == 0) {
		id = json_integer_value(json_object_get(u, "id"));
		json_decref(u);
		r = s->ops->user_update(s, id, role, hash, 0, err, sizeof(err));
	} else {
		err[0] = '\0';
		r = s->ops->user_create(s, name, hash, role, &id, err,
		    sizeof(err));
	}
	explicit_bzero(hash, sizeof(hash));
	if (r != 0) {
		hub_log(HUB_LOG_ERROR, "cannot create the user %s: %s", name,
		    err[0] != '\0' ? err : vg_strerror(r));
		return -1;
	}
	return 0;
}

/* Writes s with the five XML special characters escaped. */
/* Creates dir (mode 0700) and any missing parent (0755). */
static int
make_data_dir(const char *dir)
{
	char path[PATH_MAX], *p;
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s", dir) >= sizeof(path)) {
		hub_log(HUB_LOG_ERROR, "%s: path too long", dir);
		return -1;
	}
	for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			hub_log(HUB_LOG_ERROR, "cannot create %s: %s", path,
			    strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		hub_log(HUB_LOG_ERROR, "cannot create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		hub_log(HUB_LOG_ERROR, "%s is not a directory", path);
		return -1;
	}
	if ((st.st_mode & 077) != 0)
		hub_log(HUB_LOG_WARN, "%s can be read by other users (mode "
		    "%04o); it will hold the database and the TLS key",
		    path, (unsigned int)(st.st_mode & 07777));
	return 0;
}

static int
run_init(const struct opts *o)
{
	const char *admin = o->admin != NULL ? o->admin : "admin";
	const char *enrol = o->enrol_user != NULL ? o->enrol_user : "agent";
	char admin_pw[PASSWORD_MAX + 1], enrol_pw[ENROL_PASSWORD_LEN + 1];
	char err[1024], url[2200], console[2200], host[256], details[PATH_MAX];
	struct hub h;
	size_t len;
	int r, ret = EXIT_FAIL, auth = 0;

	admin_pw[0] = enrol_pw[0] = '\0';
	if (hub_prepare(&h, o) != 0)
		goto out;
	if (!valid_user_name(admin) || !valid_user_name(enrol)) {
		hub_log(HUB_LOG_ERROR, "user names are 1 to 64 characters of "
		    "A-Z a-z 0-9 . _ @ -");
		goto out;
	}
	if (strcmp(admin, enrol) == 0) {
		hub_log(HUB_LOG_ERROR, "the administrator and the enrolment "
		    "account need different names");
		goto out;
	}
	/* Before anything is made: a bad file leaves no trace. */
	if (o->admin_pwfile != NULL && read_password_file(o->admin_pwfile,
	    admin_pw, sizeof(admin_pw)) != 0)
		goto out;
	if (make_data_dir(h.conf.data_dir) != 0 || open_store(&h, 1) != 0)
		goto out;
	if ((r = is_initialised(&h)) != 0) {
		if (r > 0)
			hub_log(HUB_LOG_ERROR, "already initialised: %s "
			    "(delete it to start again)", h.conf.data_dir);
		goto out;
	}
	if (start_auth_tls(&h, &auth) != 0 || open_creds(&h, 1) != 0)
		goto out;

	if (o->admin_pwfile == NULL)
		hub_auth_random_password(admin_pw, ADMIN_PASSWORD_LEN);
	hub_auth_random_password(enrol_pw, ENROL_PASSWORD_LEN);
	if (make_user(&h, admin, admin_pw, HS_ROLE_ADMIN) != 0 ||
	    make_user(&h, enrol, enrol_pw, HS_ROLE_ENROL) != 0)
		goto out;
	err[0] = '\0';
	if ((r = h.store->ops->setting_set(h.store, "enrol_user", enrol, err,
	    sizeof(err))) != 0) {
		hub_log(HUB_LOG_ERROR, "cannot write to the database: %s",
		    err[0] != '\0' ? err : vg_strerror(r));
		goto out;
	}

	if (h.conf.public_url != NULL) {
		snprintf(url, sizeof(url), "%s", h.conf.public_url);
	} else {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(url, sizeof(url), "https://%s:%d/api/", host,
		    h.conf.port);
	}
	err[0] = '\0';
	if (hub_write_hubdetails(&h, url, enrol, enrol_pw, err,
	    sizeof(err)) != 0) {
		hub_log(HUB_LOG_ERROR, "%s", err);
		goto out;
	}
	snprintf(details, sizeof(details), "%s/HubDetails.xml",
	    h.conf.data_dir);

	/* Last: a daemon never starts on a half-made data directory. */
	err[0] = '\0';
	if ((r = h.store->ops->setting_set(h.store, "initialised", "1", err,
	    sizeof(err))) != 0) {
		hub_log(HUB_LOG_ERROR, "cannot write to the database: %s",
		    err[0] != '\0' ? err : vg_strerror(r));
		goto out;
	}

	/* The console is the site root; the configured URL is the API's. */
	snprintf(console, sizeof(console), "%s", url);
	len = strlen(console);
	if (len > 4 && strcmp(console + len - 4, "api/") == 0)
		console[len - 4] = '\0';
	printf("vigil hub initialised in %s\n", h.conf.data_dir);
	printf("console: %s\n", console);
	printf("admin user: %s\n", admin);
	if (o->admin_pwfile != NULL)
		printf("admin password: (from %s)\n", o->admin_pwfile);
	else
		printf("admin password: %s\n", admin_pw);
	printf("enrolment user: %s\n", enrol);
	printf("enrolment password: %s\n", enrol_pw);
	printf("TLS certificate SHA-256 fingerprint: %s\n", h.fingerprint);
	printf("agent enrolment file: %s\n", details);
	if (fflush(stdout) != 0) {
		hub_log(HUB_LOG_ERROR, "cannot write to stdout: %s",
		    strerror(errno));
		goto out;
	}
	ret = 0;
out:
	explicit_bzero(admin_pw, sizeof(admin_pw));
	explicit_bzero(enrol_pw, sizeof(enrol_pw));
	hub_release(&h, auth);
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "foreground", no_argument, NULL, OPT_FOREGROUND },
		{ "url", required_argument, NULL, OPT_URL },
		{ "admin", required_argument, NULL, OPT_ADMIN },
		{ "admin-password-file", required_argument, NULL,
		    OPT_ADMIN_PWFILE },
		{ "enrol-user", required_argument, NULL, OPT_ENROL_USER },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	int init = 0, ch;

	memset(&o, 0, sizeof(o));
	if (argc > 1 && strcmp(argv[1], "init") == 0) {
		init = 1;
		argc--;
		argv++;
	}
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.conf_file = optarg; break;
		case OPT_LISTEN: o.listen = optarg; break;
		case OPT_DATA_DIR: o.data_dir = optarg; break;
		case OPT_CERT: o.cert = optarg; break;
		case OPT_KEY: o.key = optarg; break;
		case OPT_LOG_LEVEL: o.log_level = optarg; break;
		case OPT_FOREGROUND: break;     /* the only way it runs */
		case OPT_URL: o.url = optarg; break;
		case OPT_ADMIN: o.admin = optarg; break;
		case OPT_ADMIN_PWFILE: o.admin_pwfile = optarg; break;
		case OPT_ENROL_USER: o.enrol_user = optarg; break;
		case OPT_VERSION:
			printf("vigil-hub %s\n", VIGIL_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil-hub: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	/* Each command takes only its own options. */
	if (!init && (o.url != NULL || o.admin != NULL ||
	    o.admin_pwfile != NULL || o.enrol_user != NULL)) {
		fprintf(stderr, "vigil-hub: --url, --admin, "
		    "--admin-password-file and --enrol-user belong to "
		    "\"vigil-hub init\"\n");
		return EXIT_USAGE;
	}
	/* A certificate of one's own goes in the configuration file, where
	 * the daemon finds the same one init took the thumbprint of. */
	if (init && (o.cert != NULL || o.key != NULL)) {
		fprintf(stderr, "vigil-hub init: set tls_cert and tls_key in "
		    "the configuration file instead of --cert and --key\n");
		return EXIT_USAGE;
	}
	return init ? run_init(&o) : run_daemon(&o);
}
