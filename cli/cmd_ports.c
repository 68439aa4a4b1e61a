/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * "vigil ports [list|check] ...": the command line of vigil ports. Picks
 * the deployment's source, builds the port matrix, then renders it
 * (ports_render) or checks it live from this machine (ports_check).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cmd_scan.h"
#include "conf.h"
#include "ports.h"
#include "report.h"
#include "vg_err.h"
#include "vg_util.h"

#define HUBDETAILS_DEFAULT_PATH "/etc/vigil/HubDetails.xml"
#define PORTS_TIMEOUT_DEFAULT_MS 3000
#define PORTS_JOBS_DEFAULT 64
#define PORTS_JOBS_MAX 1024

enum ports_op { OP_LIST, OP_CHECK };

struct ports_args {
	enum ports_op op;
	int op_given;
	/* source */
	const char *deployment, *hub_conf, *data_dir, *api, *user,
	    *thumbprint, *hubdetails;
	int insecure;
	/* list */
	const char *format, *role, *policy;
	/* check */
	const char *from, *timeout, *jobs;
	int json;
	/* both */
	const char *proxy;
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: vigil ports [list] [SOURCE] [--format F] [--role ROLE] [--proxy NAME]\n"
"                   [--policy accept|drop]\n"
"       vigil ports check [SOURCE] [--from hub|agent|proxy] [--proxy NAME]\n"
"                   [--json] [--timeout SECONDS] [--jobs N]\n"
"\n"
"The network flows a deployment needs and the firewall rules that let\n"
"exactly those through (list); a live test of each flow that starts on\n"
"this machine (check).\n"
"\n"
"SOURCE, one of:\n"
"      --deployment FILE    a deployment file (format in vigil(1))\n"
"      --hub-conf FILE      on the hub: its hub.conf and database, read only\n"
"      --data-dir DIR       with --hub-conf: the hub's data folder (default:\n"
"                           hub.conf's data_dir)\n"
"      --api URL            the hub's API (https://HOST:PORT/api/), with\n"
"      --user NAME          a console user; password from $VIGIL_PASSWORD\n"
"      --thumbprint HEX     accept the hub's certificate by its SHA-256 (or\n"
"                           SHA-1) fingerprint, as HubDetails.xml pins it\n"
"      --insecure           accept any certificate from the hub\n"
"      --hubdetails FILE    on an agent: its HubDetails.xml\n"
"  With none: %s if it exists (on the hub), else\n"
"  %s (on an agent).\n"
"\n"
"list:\n"
"  -f, --format F           table (default), json, nftables, iptables,\n"
"                           firewalld, ufw, windows\n"
"      --role ROLE          only the rules of hub, agent, proxy or device\n"
"      --proxy NAME         only this proxy agent (implies --role proxy)\n"
"      --policy P           accept (default): rules that let the flows in\n"
"                           and out; drop: they also refuse everything else\n"
"check:\n"
"      --from ROLE          what this machine is: hub, agent or proxy\n"
"                           (default: from the source, or found among this\n"
"                           machine's names and addresses)\n"
"      --proxy NAME         which proxy this machine is\n"
"      --json               machine-readable results on stdout\n"
"      --timeout SECONDS    for each step of a probe, 0.1 to 60 (default 3)\n"
"      --jobs N             probes at once, 1 to %d (default %d)\n"
"  -h, --help               this text\n"
"\n"
"Exit status: 0 all well, 1 a needed flow failed (check), 2 trouble.\n",
	    HUB_CONF_DEFAULT_PATH, HUBDETAILS_DEFAULT_PATH, PORTS_JOBS_MAX,
	    PORTS_JOBS_DEFAULT);
}

/* "vigil ports: MESSAGE" on stderr; returns EXIT_TROUBLE. */
#define trouble(...) report_trouble("ports", __VA_ARGS__)

static int
exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/* Parses the options into a; 0, or EXIT_TROUBLE after a message, or -1
 * for --help (shown). */
static int
parse_args(int argc, char **argv, struct ports_args *a)
{
	static const struct option longopts[] = {
		{ "deployment", required_argument, NULL, 'd' },
		{ "hub-conf", required_argument, NULL, 'c' },
		{ "data-dir", required_argument, NULL, 'D' },
		{ "api", required_argument, NULL, 'a' },
		{ "user", required_argument, NULL, 'u' },
		{ "thumbprint", required_argument, NULL, 'T' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "hubdetails", required_argument, NULL, 'H' },
		{ "format", required_argument, NULL, 'f' },
		{ "role", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'P' },
		{ "proxy", required_argument, NULL, 'p' },
		{ "from", required_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "jobs", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, i;

	memset(a, 0, sizeof(*a));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': a->deployment = optarg; break;
		case 'c': a->hub_conf = optarg; break;
		case 'D': a->data_dir = optarg; break;
		case 'a': a->api = optarg; break;
		case 'u': a->user = optarg; break;
		case 'T': a->thumbprint = optarg; break;
		case 'k': a->insecure = 1; break;
		case 'H': a->hubdetails = optarg; break;
		case 'f': a->format = optarg; break;
		case 'r': a->role = optarg; break;
		case 'P': a->policy = optarg; break;
		case 'p': a->proxy = optarg; break;
		case 'F': a->from = optarg; break;
		case 'j': a->json = 1; break;
		case 't': a->timeout = optarg; break;
		case 'J': a->jobs = optarg; break;
		case 'h':
			usage(stdout);
			return -1;
		case ':':
			return trouble("%s needs a value", argv[optind - 1]);
		default:
			fprintf(stderr, "vigil ports: unknown option %s\n",
			    argv[optind - 1]);
			usage(stderr);
			return EXIT_TROUBLE;
		}
	}
	/* getopt moved the words after the options: list or check first. */
	for (i = optind; i < argc; i++) {
		if (i == optind && strcmp(argv[i], "list") == 0) {
			a->op = OP_LIST;
		} else if (i == optind && strcmp(argv[i], "check") == 0) {
			a->op = OP_CHECK;
		} else {
			fprintf(stderr, "vigil ports: unexpected argument "
			    "'%s'\n", argv[i]);
			usage(stderr);
			return EXIT_TROUBLE;
		}
		a->op_given = 1;
	}
	return 0;
}

/* Options that belong to the other command, and contradictions. */
static int
check_args(const struct ports_args *a)
{
	int nsrc = (a->deployment != NULL) + (a->hub_conf != NULL ||
	    a->data_dir != NULL) + (a->api != NULL) + (a->hubdetails != NULL);

	if (nsrc > 1)
		return trouble("name one source: --deployment, --hub-conf "
		    "(--data-dir), --api or --hubdetails");
	if (a->api == NULL && (a->user != NULL || a->thumbprint != NULL ||
	    a->insecure))
		return trouble("--user, --thumbprint and --insecure go with "
		    "--api");
	if (a->api != NULL && a->user == NULL)
		return trouble("--api needs --user NAME (the password comes "
		    "from $VIGIL_PASSWORD)");
	if (a->thumbprint != NULL && a->insecure)
		return trouble("--thumbprint or --insecure, not both");
	if (a->op == OP_LIST && (a->from != NULL || a->timeout != NULL ||
	    a->jobs != NULL))
		return trouble("--from, --timeout and --jobs are for 'vigil "
		    "ports check'");
	if (a->op == OP_CHECK && (a->format != NULL || a->role != NULL ||
	    a->policy != NULL))
		return trouble("--format, --role and --policy are for 'vigil "
		    "ports list'");
	if (a->op == OP_LIST && a->json && a->format != NULL &&
	    strcmp(a->format, "json") != 0)
		return trouble("--json and --format %s: choose one", a->format);
	return 0;
}

/* Reads the deployment from the source named, or the one found here. */
static int
load_source(const struct ports_args *a, struct ports_deploy *d,
    int *default_from)
{
	const char *password;
	char err[1024] = "";
	int r;

	*default_from = -1;
	if (a->deployment != NULL) {
		r = ports_deploy_load(a->deployment, d, err, sizeof(err));
	} else if (a->api != NULL) {
		password = getenv("VIGIL_PASSWORD");
		if (password == NULL || *password == '\0')
			return trouble("--api: set the password of %s in "
			    "$VIGIL_PASSWORD (never on the command line)",
			    a->user);
		r = ports_deploy_from_api(a->api, a->user, password,
		    a->thumbprint, a->insecure, d, err, sizeof(err));
	} else if (a->hubdetails != NULL) {
		*default_from = PORTS_ROLE_AGENT;
		r = ports_deploy_from_hubdetails(a->hubdetails, d, err,
		    sizeof(err));
	} else if (a->hub_conf != NULL || a->data_dir != NULL ||
	    exists(HUB_CONF_DEFAULT_PATH)) {
		*default_from = PORTS_ROLE_HUB;
		if (a->hub_conf != NULL && !exists(a->hub_conf))
			fprintf(stderr, "vigil ports: %s does not exist: the "
			    "hub's defaults are used\n", a->hub_conf);
		r = ports_deploy_from_hub(a->hub_conf, a->data_dir, d, err,
		    sizeof(err));
	} else if (exists(HUBDETAILS_DEFAULT_PATH)) {
		*default_from = PORTS_ROLE_AGENT;
		r = ports_deploy_from_hubdetails(HUBDETAILS_DEFAULT_PATH, d,
		    err, sizeof(err));
	} else {
		return trouble("name the deployment: --deployment FILE, "
		    "--hub-conf FILE, --api URL or --hubdetails FILE (neither "
		    "%s nor %s exists here)", HUB_CONF_DEFAULT_PATH,
		    HUBDETAILS_DEFAULT_PATH);
	}
	if (r != 0)
		return trouble("%s", err);
	return 0;
}

/* The roles --from and --role take, a bit per enum ports_role. */
#define ROLE_BIT(r) (1u << (r))
#define ROLES_FROM (ROLE_BIT(PORTS_ROLE_HUB) | ROLE_BIT(PORTS_ROLE_AGENT) | \
    ROLE_BIT(PORTS_ROLE_PROXY))
#define ROLES_RULES (ROLES_FROM | ROLE_BIT(PORTS_ROLE_DEVICE))

/* A role by its name (ports_role_name), among those allowed: 0, or -1. */
static int
role_parse(const char *s, unsigned int allowed, int *out)
{
	int r;

	for (r = PORTS_ROLE_HUB; r <= PORTS_ROLE_DEVICE; r++)
		if ((allowed & ROLE_BIT(r)) &&
		    strcmp(s, ports_role_name((enum ports_role)r)) == 0) {
			*out = r;
			return 0;
		}
	return -1;
}

/* ---- this machine's names and addresses ---- */

struct local {
	struct ifaddrs *ifa;
	char host[256];
};

static void
local_init(struct local *l)
{
	memset(l, 0, sizeof(*l));
	if (getifaddrs(&l->ifa) != 0)
		l->ifa = NULL;
	if (gethostname(l->host, sizeof(l->host)) != 0)
		l->host[0] = '\0';
	l->host[sizeof(l->host) - 1] = '\0';
}

static int
addr_is_local(const struct local *l, const struct sockaddr *sa)
{
	const struct ifaddrs *i;

	if (sa->sa_family == AF_INET) {
		const struct in_addr *a =
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;

		if ((ntohl(a->s_addr) >> 24) == 127)
			return 1;
		for (i = l->ifa; i != NULL; i = i->ifa_next)
			if (i->ifa_addr != NULL &&
			    i->ifa_addr->sa_family == AF_INET &&
			    memcmp(&((const struct sockaddr_in *)(const void *)
			    i->ifa_addr)->sin_addr, a, sizeof(*a)) == 0)
				return 1;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return 1;
		for (i = l->ifa; i != NULL; i = i->ifa_next)
			if (i->ifa_addr != NULL &&
			    i->ifa_addr->sa_family == AF_INET6 &&
			    memcmp(&((const struct sockaddr_in6 *)(const void *)
			    i->ifa_addr)->sin6_addr, a, sizeof(*a)) == 0)
				return 1;
	}
	return 0;
}

/* 1 when name is a name of this machine: its host name (or the first
 * label of one against the other), or a name or address that resolves
 * to one of its addresses. */
static int
is_local(const struct local *l, const char *name)
{
	struct addrinfo hints, *res = NULL, *ai;
	size_t hl = strlen(l->host), nl = strlen(name);
	int found = 0;

	if (hl > 0 && (strcasecmp(name, l->host) == 0 ||
	    (nl > hl && name[hl] == '.' && strncasecmp(name, l->host,
	    hl) == 0 && strchr(l->host, '.') == NULL) ||
	    (hl > nl && l->host[nl] == '.' && strncasecmp(name, l->host,
	    nl) == 0 && strchr(name, '.') == NULL)))
		return 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL && !found; ai = ai->ai_next)
		found = addr_is_local(l, ai->ai_addr);
	freeaddrinfo(res);
	return found;
}

/* The proxy this machine is, when exactly one of them is. */
static const struct ports_proxy *
local_proxy(const struct ports_deploy *d, const struct local *l, int *many)
{
	const struct ports_proxy *found = NULL;
	size_t i;

	*many = 0;
	for (i = 0; i < d->nproxies; i++) {
		if (!is_local(l, d->proxies[i].name) &&
		    (d->proxies[i].addr == NULL ||
		    !is_local(l, d->proxies[i].addr)))
			continue;
		if (found != NULL) {
			*many = 1;
			return NULL;
		}
		found = &d->proxies[i];
	}
	return found;
}

/*
 * --from and --proxy for check: given, the source's default, or found
 * among this machine's names and addresses. 0 or EXIT_TROUBLE.
 */
static int
pick_from(const struct ports_args *a, const struct ports_deploy *d,
    int default_from, struct ports_check_opts *o)
{
	const struct ports_proxy *p = NULL;
	struct local l;
	char names[512];
	int many = 0, r = 0;

	if (a->from != NULL) {
		if (role_parse(a->from, ROLES_FROM, &o->from) != 0)
			return trouble("--from: expected hub, agent or proxy, "
			    "not '%s'", a->from);
	} else if (a->proxy != NULL) {
		o->from = PORTS_ROLE_PROXY;
	} else if (default_from >= 0) {
		o->from = default_from;
	} else {
		o->from = -1;
	}
	if (a->proxy != NULL && o->from != PORTS_ROLE_PROXY)
		return trouble("--proxy goes with --from proxy");
	if (a->proxy != NULL) {
		if ((p = ports_proxy_find(d, a->proxy)) == NULL) {
			ports_proxy_names(d, names, sizeof(names));
			return trouble("--proxy: %s names no proxy '%s' "
			    "(proxies: %s)", d->source, a->proxy, names);
		}
		o->proxy = p->name;
		return 0;
	}
	if (o->from >= 0 && o->from != PORTS_ROLE_PROXY)
		return 0;
	local_init(&l);
	if (o->from == PORTS_ROLE_PROXY) {
		if (d->nproxies == 0) {
			r = trouble("--from proxy: %s names no proxy",
			    d->source);
		} else if (d->nproxies == 1) {
			o->proxy = d->proxies[0].name;
		} else if ((p = local_proxy(d, &l, &many)) != NULL) {
			o->proxy = p->name;
		} else {
			ports_proxy_names(d, names, sizeof(names));
			r = trouble("--from proxy: which proxy is this "
			    "machine? Name it with --proxy (%s)", names);
		}
	} else if ((p = local_proxy(d, &l, &many)) != NULL) {
		o->from = PORTS_ROLE_PROXY;
		o->proxy = p->name;
	} else if (many) {
		ports_proxy_names(d, names, sizeof(names));
		r = trouble("this machine has the name or address of several "
		    "proxies (%s): name one with --proxy", names);
	} else if (d->hub_host != NULL && is_local(&l,
	    d->hub_host)) {
		o->from = PORTS_ROLE_HUB;
	} else {
		r = trouble("which flows start here? This machine is neither "
		    "the hub (%s) nor one of the proxies: give --from hub, "
		    "agent or proxy", d->hub_host != NULL ? d->hub_host : "?");
	}
	if (l.ifa != NULL)
		freeifaddrs(l.ifa);
	return r;
}

static int
parse_timeout(const char *s, int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(v) ||
	    v < 0.1 || v > 60)
		return -1;
	*ms = (int)lround(v * 1000);
	return 0;
}

static int
run_list(const struct ports_args *a, const struct ports_matrix *m)
{
	struct ports_render_opts o;
	enum ports_format fmt = PORTS_FMT_TABLE;
	char err[1024] = "";

	memset(&o, 0, sizeof(o));
	if (a->format != NULL && ports_format_parse(a->format, &fmt) != 0)
		return trouble("--format: expected table, json, nftables, "
		    "iptables, firewalld, ufw or windows, not '%s'", a->format);
	if (a->json)
		fmt = PORTS_FMT_JSON;
	o.format = fmt;
	o.role = -1;
	if (a->role != NULL && role_parse(a->role, ROLES_RULES, &o.role) != 0)
		return trouble("--role: expected hub, agent, proxy or device, "
		    "not '%s'", a->role);
	if (a->proxy != NULL) {
		const struct ports_proxy *p = ports_proxy_find(m->d, a->proxy);
		char names[512];

		if (o.role == -1)
			o.role = PORTS_ROLE_PROXY;
		if (o.role != PORTS_ROLE_PROXY && o.role != PORTS_ROLE_DEVICE)
			return trouble("--proxy goes with --role proxy or "
			    "device");
		if (p == NULL) {
			ports_proxy_names(m->d, names, sizeof(names));
			return trouble("--proxy: %s names no proxy '%s' "
			    "(proxies: %s)", m->d->source, a->proxy, names);
		}
		o.proxy = p->name;
	}
	if (a->policy != NULL) {
		if (strcmp(a->policy, "drop") == 0)
			o.policy_drop = 1;
		else if (strcmp(a->policy, "accept") != 0)
			return trouble("--policy: expected accept or drop, not "
			    "'%s'", a->policy);
	}
	if (ports_render(stdout, m, &o, err, sizeof(err)) != 0)
		return trouble("%s", err);
	if (fflush(stdout) != 0 || ferror(stdout))
		return trouble("writing the output: %s", strerror(errno));
	return 0;
}

static int
run_check(const struct ports_args *a, const struct ports_matrix *m,
    int default_from)
{
	struct ports_check_opts o;
	char err[1024] = "";
	long jobs;
	int r;

	memset(&o, 0, sizeof(o));
	o.json = a->json;
	o.timeout_ms = PORTS_TIMEOUT_DEFAULT_MS;
	o.jobs = PORTS_JOBS_DEFAULT;
	if (a->timeout != NULL && parse_timeout(a->timeout,
	    &o.timeout_ms) != 0)
		return trouble("--timeout: expected seconds from 0.1 to 60, "
		    "not '%s'", a->timeout);
	if (a->jobs != NULL) {
		if (vg_parse_long(a->jobs, 1, PORTS_JOBS_MAX, &jobs) != 0)
			return trouble("--jobs: expected a whole number from 1 "
			    "to %d, not '%s'", PORTS_JOBS_MAX, a->jobs);
		o.jobs = (int)jobs;
	}
	if ((r = pick_from(a, m->d, default_from, &o)) != 0)
		return r;
	r = ports_check(stdout, m, &o, err, sizeof(err));
	if (fflush(stdout) != 0 || ferror(stdout))
		return trouble("writing the output: %s", strerror(errno));
	if (r != 0 && r != 1) {
		if (err[0] != '\0')
			fprintf(stderr, "vigil ports: %s\n", err);
		return EXIT_TROUBLE;
	}
	return r;
}

int
cmd_ports(int argc, char **argv)
{
	struct ports_args a;
	struct ports_deploy d;
	struct ports_matrix m;
	int r, default_from;

	memset(&d, 0, sizeof(d));
	memset(&m, 0, sizeof(m));
	if ((r = parse_args(argc, argv, &a)) != 0)
		return r < 0 ? 0 : r;
	if ((r = check_args(&a)) != 0)
		return r;
	if ((r = load_source(&a, &d, &default_from)) != 0)
		return r;
	if (ports_matrix_build(&d, &m) != 0) {
		r = trouble("out of memory");
		goto out;
	}
	r = a.op == OP_CHECK ? run_check(&a, &m, default_from) :
	    run_list(&a, &m);
out:
	ports_matrix_free(&m);
	ports_deploy_free(&d);
	return r;
}
