/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vigil ports check: probes, from this machine, every flow of the
 * matrix that starts here (the hub's own port on the hub; the agent's
 * connection to the hub; a proxy's connections to the hub and to its
 * devices), a few at a time in threads, and says in one sentence per
 * failure what to open or fix, and where. It also looks at this
 * machine's sockets to confirm that no vigil-agent listens: agents open
 * every connection themselves and need no inbound port.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <jansson.h>

#include "ports.h"
#include "vg_err.h"

#define CHECK_DEFAULT_TIMEOUT_MS 3000
#define CHECK_DEFAULT_JOBS 64
#define CHECK_MAX_JOBS 1024
#define LISTEN_MAX 1048576   /* sockets kept from /proc/net: a bound */
#define AGENT_COMM "vigil-agent"

/* One destination of one flow: a row of the table. */
struct check_row {
	const struct ports_flow *flow;
	const char *host;      /* as written, without the port */
	int port;
	int is_net;            /* a network: skipped */
	size_t probe;          /* its probe in check_work.probes */
};

/* The probes, shared by the threads: each takes the next one. */
struct check_work {
	struct ports_probe *probes;
	size_t n;
	atomic_size_t next;
};

/* What the look at this machine's sockets found. */
struct agent_listen {
	int ok;
	char detail[512];
	char advice[512];
};

/* ---- which flows start here ---- */

static int
flow_starts_here(const struct ports_flow *fl, int from,
    const struct ports_proxy *proxy)
{
	switch (from) {
	case PORTS_ROLE_HUB:
		return fl->to_role == PORTS_ROLE_HUB;
	case PORTS_ROLE_AGENT:
		return fl->from_role == PORTS_ROLE_AGENT &&
		    fl->to_role == PORTS_ROLE_HUB;
	case PORTS_ROLE_PROXY:
		if (fl->from_role == PORTS_ROLE_AGENT)
			return fl->to_role == PORTS_ROLE_HUB;
		return fl->from_role == PORTS_ROLE_PROXY &&
		    fl->proxy != NULL && proxy != NULL &&
		    (fl->proxy == proxy ||
		    strcmp(fl->proxy->name, proxy->name) == 0);
	}
	return 0;
}

/* The proxy the check runs from: the one named, or the only one. */
static int
pick_proxy(const struct ports_matrix *m, const struct ports_check_opts *o,
    const struct ports_proxy **out, char *err, size_t errlen)
{
	const struct ports_deploy *d = m->d;
	const char *src = d->source != NULL ? d->source : "the deployment";
	char names[400];

	*out = NULL;
	ports_proxy_names(d, names, sizeof(names));
	if (o->proxy != NULL) {
		if ((*out = ports_proxy_find(d, o->proxy)) != NULL)
			return 0;
		if (d->nproxies == 0)
			snprintf(err, errlen, "%s names no proxy agent, so "
			    "there is no proxy '%s' to check from", src,
			    o->proxy);
		else
			snprintf(err, errlen, "%s has no proxy '%s' (its "
			    "proxies: %s)", src, o->proxy, names);
		return VG_ERR_INVAL;
	}
	if (d->nproxies == 1) {
		*out = &d->proxies[0];
		return 0;
	}
	if (d->nproxies == 0)
		snprintf(err, errlen, "%s names no proxy agent: check --from "
		    "agent or hub instead", src);
	else
		snprintf(err, errlen, "%s has %zu proxies: name the one this "
		    "machine is with --proxy (%s)", src, d->nproxies, names);
	return VG_ERR_INVAL;
}

/* ---- names for the table and the sentences ---- */

/* "#2 agents->hub", "#4 px1->ssh" */
static void
flow_short(const struct ports_flow *fl, char *out, size_t len)
{
	const char *from = "?";

	if (fl->from_role == PORTS_ROLE_PROXY && fl->proxy != NULL)
		from = fl->proxy->name;
	else if (fl->from_role == PORTS_ROLE_AGENT)
		from = "agents";
	else
		from = ports_role_name(fl->from_role);
	snprintf(out, len, "#%d %s->%s", fl->id, from,
	    fl->to_role == PORTS_ROLE_HUB ? "hub" :
	    ports_service_name(fl->service));
}

/* "agents -> hub", "proxy px1 -> SSH devices", "proxy px1 -> SMB hosts" */
static void
flow_long(const struct ports_flow *fl, char *out, size_t len)
{
	if (fl->to_role == PORTS_ROLE_HUB)
		snprintf(out, len, "%s -> hub",
		    fl->from_role == PORTS_ROLE_AGENT ? "agents" :
		    fl->from_role == PORTS_ROLE_PROXY && fl->proxy != NULL ?
		    fl->proxy->name : ports_role_name(fl->from_role));
	else
		snprintf(out, len, "proxy %s -> %s %s",
		    fl->proxy != NULL ? fl->proxy->name : "?",
		    ports_service_title(fl->service),
		    fl->service == PORTS_SMB ? "hosts" : "devices");
}

/* "10.0.0.7:22", "[fd00::7]:22" */
static void
host_port(const char *host, int port, char *out, size_t len)
{
	if (strchr(host, ':') != NULL)
		snprintf(out, len, "[%s]:%d", host, port);
	else
		snprintf(out, len, "%s:%d", host, port);
}

/* ---- advice: one sentence per failure ---- */

/* What to start on a host for a service. */
static const char *
service_daemon(enum ports_service s)
{
	switch (s) {
	case PORTS_HTTPS: return "vigil-hub";
	case PORTS_SSH: return "the SSH server";
	case PORTS_TELNET: return "the Telnet server";
	case PORTS_SMB: return "the Server service (File and Printer "
	    "Sharing)";
	}
	return "the service";
}

/* The --role of `vigil ports --format nftables` whose rules let this
 * flow in at its destination. */
static const char *
dest_role(const struct ports_flow *fl)
{
	return fl->to_role == PORTS_ROLE_HUB ? "hub" : "device";
}

/* What to do about a failed probe, without the "host:port (flow):
 * result: " that the sentence starts with. */
static void
check_advice(const struct ports_matrix *m, const struct ports_flow *fl,
    const char *host, int port, const struct ports_probe *p, char *out,
    size_t len)
{
	const char *src = m->d != NULL && m->d->source != NULL ?
	    m->d->source : "the deployment";
	const char *svc = service_daemon(fl->service);
	const char *title = ports_service_title(fl->service);
	const char *addr = p->address[0] != '\0' ? p->address : host;
	char hp[300];

	host_port(host, port, hp, sizeof(hp));
	switch (p->result) {
	case PORTS_REFUSED:
		snprintf(out, len, "nothing listens there or a firewall "
		    "rejects the connection; start %s on %s or open %d/tcp "
		    "to it from this host (see `vigil ports --format nftables "
		    "--role %s`).", svc, host, port, dest_role(fl));
		break;
	case PORTS_FILTERED:
		snprintf(out, len, "a firewall between this host and %s drops "
		    "%d/tcp: allow it from this host (see `vigil ports "
		    "--format nftables --role %s`).", host, port,
		    dest_role(fl));
		break;
	case PORTS_NO_ROUTE:
		snprintf(out, len, "this host cannot reach %s: check the "
		    "address, this host's routes and gateway (`ip route get "
		    "%s`) and its own outbound firewall rules.", host, addr);
		break;
	case PORTS_UNRESOLVED:
		snprintf(out, len, "the name %s does not resolve on this "
		    "host: add it to DNS or /etc/hosts, or write its address "
		    "in %s.", host, src);
		break;
	case PORTS_WRONG_SERVICE:
		switch (fl->service) {
		case PORTS_HTTPS:
			snprintf(out, len, "something else than the vigil hub "
			    "answers there: check that vigil-hub listens on "
			    "port %d of %s (listen in hub.conf) and that the "
			    "agents' HubDetails.xml Url names that port and "
			    "the API path.", port, host);
			break;
		case PORTS_SMB:
			/* ports_smb_parse's words for an SMB server that
			 * answered with an error status. */
			if (strncmp(p->detail, "the SMB2 server refused",
			    23) == 0) {
				snprintf(out, len, "an SMB server answers but "
				    "refuses SMB 2.0.2 to 3.0.2: allow SMB "
				    "3.0.2 on %s (Windows: "
				    "Set-SmbServerConfiguration "
				    "-Smb2DialectMin; Samba: server min "
				    "protocol).", host);
				break;
			}
			snprintf(out, len, "no SMB server answers there: check "
			    "that %s is the Windows host meant and that its "
			    "Server service (File and Printer Sharing) serves "
			    "port %d.", host, port);
			break;
		default:
			snprintf(out, len, "no %s server answers there: write "
			    "%s's %s port in %s (HOST:PORT), or make %s "
			    "listen on %d.", title, host, title, src, svc,
			    port);
			break;
		}
		break;
	case PORTS_TLS_FAILURE:
		snprintf(out, len, "the agents' TLS handshake would fail the "
		    "same way: check that vigil-hub, not another TLS server, "
		    "answers at %s with its certificate (tls_cert, tls_key in "
		    "hub.conf), and that nothing between intercepts TLS.", hp);
		break;
	case PORTS_THUMBPRINT_MISMATCH:
		snprintf(out, len, "the hub's certificate is not the one "
		    "pinned: if the hub's certificate was renewed, put the "
		    "new Thumbprint (%s) in HubDetails.xml; otherwise "
		    "something else answers at %s (another server or a "
		    "TLS-intercepting proxy) and the agents must not trust "
		    "it.", p->fingerprint[0] != '\0' ? p->fingerprint : "?",
		    hp);
		break;
	case PORTS_OK:
	case PORTS_SKIPPED:
		out[0] = '\0';
		break;
	}
}

/* ---- the probes, in threads ---- */

static void *
check_worker(void *arg)
{
	struct check_work *w = arg;
	size_t i;

	while ((i = atomic_fetch_add(&w->next, 1)) < w->n)
		ports_probe_run(&w->probes[i]);
	return NULL;
}

/* Runs every probe, jobs at once: jobs - 1 threads and this one. A
 * thread that cannot be started leaves its share to the others. */
static void
check_run(struct check_work *w, int jobs)
{
	pthread_t *th = NULL;
	size_t nth = 0, want, i;

	if (w->n == 0)
		return;
	/* The probes parse JSON (the health answer): jansson seeds its
	 * hash function on first use, which is safe only before threads. */
	json_object_seed(0);
	want = (size_t)jobs < w->n ? (size_t)jobs : w->n;
	if (want > 1 && (th = calloc(want - 1, sizeof(*th))) != NULL)
		for (nth = 0; nth < want - 1; nth++)
			if (pthread_create(&th[nth], NULL, check_worker,
			    w) != 0)
				break;
	check_worker(w);
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	free(th);
}

/* Same destination, same probe: the console's and the agents' flows
 * both go to the hub's port. */
static int
row_cmp(const void *a, const void *b)
{
	const struct check_row *x = *(const struct check_row *const *)a;
	const struct check_row *y = *(const struct check_row *const *)b;
	int c;

	if (x->flow->service != y->flow->service)
		return x->flow->service < y->flow->service ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if ((c = strcmp(x->host, y->host)) != 0)
		return c;
	return 0;
}

/* Gives each row that is not a network a probe (one per distinct
 * service, port and host), filled in for ports_probe_run. */
static int
make_probes(const struct ports_matrix *m, struct check_row *rows,
    size_t nrows, int timeout_ms, struct check_work *w)
{
	const struct ports_deploy *d = m->d;
	struct check_row **sorted;
	struct ports_probe *p;
	size_t i, n = 0;

	if ((sorted = calloc(nrows + 1, sizeof(*sorted))) == NULL)
		return VG_ERR_NOMEM;
	for (i = 0; i < nrows; i++)
		if (!rows[i].is_net)
			sorted[n++] = &rows[i];
	qsort(sorted, n, sizeof(*sorted), row_cmp);
	if ((w->probes = calloc(n + 1, sizeof(*w->probes))) == NULL) {
		free(sorted);
		return VG_ERR_NOMEM;
	}
	w->n = 0;
	for (i = 0; i < n; i++) {
		if (i > 0 && row_cmp(&sorted[i - 1], &sorted[i]) == 0) {
			sorted[i]->probe = sorted[i - 1]->probe;
			continue;
		}
		p = &w->probes[w->n];
		p->host = sorted[i]->host;
		p->port = sorted[i]->port;
		p->service = sorted[i]->flow->service;
		p->timeout_ms = timeout_ms;
		if (p->service == PORTS_HTTPS) {
			p->http_path = d->hub_path != NULL ? d->hub_path :
			    "/api/";
			if (d->thumbprint_len == 20 ||
			    d->thumbprint_len == 32) {
				p->thumbprint = d->thumbprint;
				p->thumbprint_len = d->thumbprint_len;
			}
		}
		sorted[i]->probe = w->n++;
	}
	atomic_init(&w->next, 0);
	free(sorted);
	return 0;
}

/* The rows: each destination host of each flow that starts here. */
static int
make_rows(const struct ports_matrix *m, int from,
    const struct ports_proxy *proxy, struct check_row **out, size_t *nout)
{
	const struct ports_flow *fl;
	struct check_row *rows = NULL, *r;
	size_t i, j, n = 0, cap = 0;

	for (i = 0; i < m->n; i++)
		if (flow_starts_here(&m->v[i], from, proxy))
			cap += m->v[i].to.n > 0 ? m->v[i].to.n : 1;
	if ((rows = calloc(cap + 1, sizeof(*rows))) == NULL)
		return VG_ERR_NOMEM;
	for (i = 0; i < m->n; i++) {
		fl = &m->v[i];
		if (!flow_starts_here(fl, from, proxy))
			continue;
		if (fl->to.n == 0) {
			/* A flow to the hub with its host left out: the
			 * hub's own name. */
			if (fl->to_role != PORTS_ROLE_HUB ||
			    m->d->hub_host == NULL)
				continue;
			r = &rows[n++];
			r->flow = fl;
			r->host = m->d->hub_host;
			r->port = fl->port;
			continue;
		}
		for (j = 0; j < fl->to.n; j++) {
			r = &rows[n++];
			r->flow = fl;
			r->host = fl->to.v[j].text;
			r->port = fl->to.v[j].port > 0 ? fl->to.v[j].port :
			    fl->port;
			r->is_net = fl->to.v[j].is_net;
		}
	}
	*out = rows;
	*nout = n;
	return 0;
}

/* ---- does a vigil-agent listen here? ---- */

struct listen_sock {
	unsigned long inode;
	char where[80];        /* "0.0.0.0:8080/tcp" */
};

struct listen_set {
	struct listen_sock *v;
	size_t n, cap;
};

static int
listen_add(struct listen_set *s, unsigned long inode, const char *where)
{
	struct listen_sock *v;
	size_t cap;

	if (s->n == s->cap) {
		if (s->cap >= LISTEN_MAX)
			return 0;
		cap = s->cap == 0 ? 64 : s->cap * 2;
		if ((v = realloc(s->v, cap * sizeof(*v))) == NULL)
			return VG_ERR_NOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n].inode = inode;
	snprintf(s->v[s->n].where, sizeof(s->v[s->n].where), "%s", where);
	s->n++;
	return 0;
}

/* "0100007F" (as /proc/net prints an address: each 32-bit word in the
 * host's byte order) to "127.0.0.1"; v6: 32 digits to "::1". */
static int
proc_addr_text(const char *hex, int v6, char *out, size_t len)
{
	unsigned char a[16];
	uint32_t word;
	char part[9];
	size_t i, words = v6 ? 4 : 1;
	char *end;

	if (strlen(hex) != words * 8)
		return -1;
	for (i = 0; i < words; i++) {
		memcpy(part, hex + 8 * i, 8);
		part[8] = '\0';
		word = (uint32_t)strtoul(part, &end, 16);
		if (*end != '\0')
			return -1;
		memcpy(a + 4 * i, &word, 4);
	}
	return inet_ntop(v6 ? AF_INET6 : AF_INET, a, out, (socklen_t)len) ==
	    NULL ? -1 : 0;
}

/* Reads one of /proc/net/{tcp,tcp6,udp,udp6}: the sockets that wait for
 * connections (TCP state 0A, LISTEN) or for datagrams (UDP bound to a
 * port and not connected, state 07). A file that cannot be opened (no
 * IPv6 here) adds nothing. */
static int
listen_scan(const char *path, int v6, int udp, struct listen_set *s)
{
	FILE *fp;
	char line[512], hex[40], addr[INET6_ADDRSTRLEN], where[80];
	unsigned int port, st;
	unsigned long inode;
	int r = 0, whole, c;

	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		whole = strchr(line, '\n') != NULL;
		if (!whole)
			while ((c = getc(fp)) != EOF && c != '\n')
				;
		if (sscanf(line, " %*s %39[0-9A-Fa-f]:%x %*s %x %*s %*s %*s "
		    "%*s %*s %lu", hex, &port, &st, &inode) != 4)
			continue;   /* the header line */
		if (inode == 0 || port == 0 || port > 65535)
			continue;
		if (udp ? st != 0x07 : st != 0x0A)
			continue;
		if (proc_addr_text(hex, v6, addr, sizeof(addr)) != 0)
			continue;
		snprintf(where, sizeof(where), "%s%s%s:%u/%s", v6 ? "[" : "",
		    addr, v6 ? "]" : "", port, udp ? "udp" : "tcp");
		if ((r = listen_add(s, inode, where)) != 0)
			break;
	}
	fclose(fp);
	return r;
}

static int
inode_cmp(const void *a, const void *b)
{
	const struct listen_sock *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

/*
 * Is /proc/PID in this process's network namespace? The socket tables
 * read (PROC/net/...) are this namespace's, so an agent in another one
 * (a container, a test's namespace) is not this host's to judge. When
 * either link cannot be read (a copy of /proc's layout in the tests,
 * another user's process), the process counts as here.
 */
static int
same_netns(const char *proc, const char *pid)
{
	char path[512];
	struct stat self, other;

	snprintf(path, sizeof(path), "%s/self/ns/net", proc);
	if (stat(path, &self) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/%s/ns/net", proc, pid);
	if (stat(path, &other) != 0)
		return 1;
	return self.st_dev == other.st_dev && self.st_ino == other.st_ino;
}

/* Is /proc/PID a process named vigil-agent, in this network namespace? */
static int
is_agent(const char *proc, const char *pid)
{
	char path[512], comm[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s/comm", proc, pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	if (strcmp(comm, AGENT_COMM) != 0)
		return 0;
	return same_netns(proc, pid);
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Appends text to out (len), with ", " between items. */
static void
append_item(char *out, size_t len, const char *text)
{
	size_t o = strlen(out), l = strlen(text);

	if (o > 0 && o + 2 < len) {
		out[o++] = ',';
		out[o++] = ' ';
	}
	if (l > len - 1 - o)
		l = len - 1 - o;   /* cut short: a long list is enough */
	memcpy(out + o, text, l);
	out[o + l] = '\0';
}

/* Is item one of the items of a ", " separated list? */
static int
list_has(const char *list, const char *item)
{
	size_t l = strlen(item);
	const char *p = list;

	while ((p = strstr(p, item)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[l] == '\0' ||
		    p[l] == ','))
			return 1;
		p += l;
	}
	return 0;
}

/* Walks /proc/PID/fd of one agent: its sockets that listen go to
 * where. -1 when the folder cannot be read (not root). */
static int
agent_sockets(const char *proc, const char *pid,
    const struct listen_set *s, char *where, size_t wlen, int *found)
{
	char path[512], link[64];
	struct listen_sock key, *hit;
	struct dirent *e;
	DIR *dir;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s/fd", proc, pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(dir), e->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%lu]", &key.inode) != 1)
			continue;
		hit = s->n > 0 ? bsearch(&key, s->v, s->n, sizeof(*s->v),
		    inode_cmp) : NULL;
		if (hit != NULL) {
			(*found)++;
			append_item(where, wlen, hit->where);
		}
	}
	closedir(dir);
	return 0;
}

/* Looks for sockets that listen (TCP) or wait for datagrams (UDP), IPv4
 * or IPv6, held by a process named vigil-agent. proc is "/proc" (a copy
 * of its layout in the tests). */
static void
agent_listen_check(const char *proc, struct agent_listen *al)
{
	static const struct { const char *file; int v6, udp; } nets[] = {
		{ "net/tcp", 0, 0 }, { "net/tcp6", 1, 0 },
		{ "net/udp", 0, 1 }, { "net/udp6", 1, 1 },
	};
	struct listen_set s = { 0 };
	char path[512], pids[96] = "", where[300] = "", first[24] = "";
	struct dirent *e;
	DIR *dir;
	size_t i;
	int agents = 0, unreadable = 0, found = 0;

	al->ok = 1;
	al->advice[0] = '\0';
	for (i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", proc, nets[i].file);
		if (listen_scan(path, nets[i].v6, nets[i].udp, &s) != 0) {
			snprintf(al->detail, sizeof(al->detail), "out of memory "
			    "reading %.300s: not checked", path);
			free(s.v);
			return;
		}
	}
	if (s.n > 0)
		qsort(s.v, s.n, sizeof(*s.v), inode_cmp);
	if ((dir = opendir(proc)) == NULL) {
		snprintf(al->detail, sizeof(al->detail), "%s cannot be read: "
		    "not checked", proc);
		free(s.v);
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		if (!all_digits(e->d_name) || !is_agent(proc, e->d_name))
			continue;
		if (agents++ == 0)
			snprintf(first, sizeof(first), "%.20s", e->d_name);
		append_item(pids, sizeof(pids), e->d_name);
		if (agent_sockets(proc, e->d_name, &s, where, sizeof(where),
		    &found) != 0)
			unreadable++;
	}
	closedir(dir);
	free(s.v);

	if (agents == 0) {
		snprintf(al->detail, sizeof(al->detail), "no %s runs here",
		    AGENT_COMM);
	} else if (found > 0) {
		al->ok = 0;
		snprintf(al->detail, sizeof(al->detail), "%s (pid %s) listens "
		    "on %s", AGENT_COMM, pids, where);
		snprintf(al->advice, sizeof(al->advice), "an agent opens every "
		    "connection itself and should not listen: check that "
		    "/proc/%s/exe is the real %s and what opened the socket "
		    "(`ss -lntup`); open no inbound port for it.", first,
		    AGENT_COMM);
	} else if (unreadable == agents) {
		snprintf(al->detail, sizeof(al->detail), "%s (pid %s) runs, "
		    "but its sockets can be seen only as root or its user: not "
		    "checked", AGENT_COMM, pids);
	} else {
		snprintf(al->detail, sizeof(al->detail), "%s (pid %s) has no "
		    "listening socket (TCP or UDP, IPv4 or IPv6)", AGENT_COMM,
		    pids);
	}
}

/* ---- output ---- */

/* The cells of one row, as printed. */
struct row_text {
	char flow[80], to[300], address[64], result[32], time[24];
	const char *detail;
};

static void
row_text(const struct check_row *r, const struct check_work *w,
    struct row_text *t)
{
	const struct ports_probe *p = r->is_net ? NULL : &w->probes[r->probe];

	flow_short(r->flow, t->flow, sizeof(t->flow));
	host_port(r->host, r->port, t->to, sizeof(t->to));
	if (p == NULL) {
		snprintf(t->address, sizeof(t->address), "-");
		snprintf(t->result, sizeof(t->result), "%s",
		    ports_result_name(PORTS_SKIPPED));
		snprintf(t->time, sizeof(t->time), "-");
		t->detail = "a network: name its hosts to probe them";
		return;
	}
	snprintf(t->address, sizeof(t->address), "%s",
	    p->address[0] != '\0' ? p->address : "-");
	snprintf(t->result, sizeof(t->result), "%s",
	    ports_result_name(p->result));
	snprintf(t->time, sizeof(t->time), "%ld ms", p->elapsed_ms);
	t->detail = p->detail;
}

static enum ports_result
row_result(const struct check_row *r, const struct check_work *w)
{
	return r->is_net ? PORTS_SKIPPED : w->probes[r->probe].result;
}

static size_t
max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

static void
print_table(FILE *f, const struct check_row *rows, size_t n,
    const struct check_work *w)
{
	struct row_text t;
	size_t wf = 4, wt = 2, wa = 7, wr = 6, wm = 4, i;

	for (i = 0; i < n; i++) {
		row_text(&rows[i], w, &t);
		wf = max_size(wf, strlen(t.flow));
		wt = max_size(wt, strlen(t.to));
		wa = max_size(wa, strlen(t.address));
		wr = max_size(wr, strlen(t.result));
		wm = max_size(wm, strlen(t.time));
	}
	fprintf(f, "%-*s  %-*s  %-*s  %-*s  %*s  %s\n", (int)wf, "FLOW",
	    (int)wt, "TO", (int)wa, "ADDRESS", (int)wr, "RESULT", (int)wm,
	    "TIME", "DETAIL");
	for (i = 0; i < n; i++) {
		row_text(&rows[i], w, &t);
		fprintf(f, "%-*s  %-*s  %-*s  %-*s  %*s  %s\n", (int)wf,
		    t.flow, (int)wt, t.to, (int)wa, t.address, (int)wr,
		    t.result, (int)wm, t.time, t.detail);
	}
}

/* The sentence for a failed row: "10.0.0.7:22 (proxy px1 -> SSH
 * devices): refused: ...". */
static void
failure_sentence(const struct ports_matrix *m, const struct check_row *r,
    const struct ports_probe *p, char *out, size_t len)
{
	char to[300], desc[200], advice[1024];

	host_port(r->host, r->port, to, sizeof(to));
	flow_long(r->flow, desc, sizeof(desc));
	check_advice(m, r->flow, r->host, r->port, p, advice, sizeof(advice));
	snprintf(out, len, "%s (%s): %s: %s", to, desc,
	    ports_result_name(p->result), advice);
}

static void
print_text(FILE *f, const struct ports_matrix *m,
    const struct ports_check_opts *o, const struct ports_proxy *proxy,
    const struct check_row *rows, size_t n, const struct check_work *w,
    const struct agent_listen *al, size_t counts[3])
{
	char secs[32], sentence[2048], desc[200], ports[200], port[16];
	const struct ports_flow *noted = NULL;
	size_t i;

	snprintf(secs, sizeof(secs), "%g s", o->timeout_ms / 1000.0);
	fprintf(f, "Checking from the %s%s%s (%s), %s per step:\n",
	    ports_role_name(o->from), proxy != NULL ? " " : "",
	    proxy != NULL ? proxy->name : "",
	    m->d->source != NULL ? m->d->source : "deployment", secs);
	print_table(f, rows, n, w);
	fprintf(f, "\nAgents need no inbound port%s %s.\n",
	    al->ok ? ":" : ", but", al->detail);

	fprintf(f, "\n");
	for (i = 0; i < n; i++) {
		enum ports_result res = row_result(&rows[i], w);

		if (res == PORTS_OK || res == PORTS_SKIPPED)
			continue;
		failure_sentence(m, &rows[i], &w->probes[rows[i].probe],
		    sentence, sizeof(sentence));
		fprintf(f, "%s\n", sentence);
	}
	if (!al->ok)
		fprintf(f, "this host: %s: %s\n", al->detail, al->advice);
	/* One note for the insecure flows (Telnet), naming their ports. */
	ports[0] = '\0';
	for (i = 0; i < n; i++) {
		if (!rows[i].flow->insecure || rows[i].flow->advice == NULL)
			continue;
		if (noted == NULL)
			noted = rows[i].flow;
		snprintf(port, sizeof(port), "%d/tcp", rows[i].flow->port);
		if (!list_has(ports, port))
			append_item(ports, sizeof(ports), port);
	}
	if (noted != NULL) {
		flow_long(noted, desc, sizeof(desc));
		fprintf(f, "note: %s (%s) is insecure: %s.\n", desc, ports,
		    noted->advice);
	}
	fprintf(f, "%zu destination%s checked: %zu ok, %zu failed, "
	    "%zu skipped\n",
	    n, n == 1 ? "" : "s", counts[0], counts[1], counts[2]);
}

static int
print_json(FILE *f, const struct ports_matrix *m,
    const struct ports_check_opts *o, const struct ports_proxy *proxy,
    const struct check_row *rows, size_t n, const struct check_work *w,
    const struct agent_listen *al, size_t counts[3])
{
	json_t *root = NULL, *results, *item;
	char advice[1024];
	const struct ports_probe *p;
	size_t i;
	int r = VG_ERR_NOMEM;

	if ((results = json_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		p = rows[i].is_net ? NULL : &w->probes[rows[i].probe];
		advice[0] = '\0';
		if (p != NULL)
			check_advice(m, rows[i].flow, rows[i].host,
			    rows[i].port, p, advice, sizeof(advice));
		item = json_pack("{s:i, s:s, s:s, s:i, s:s?, s:s, s:s, s:s?, "
		    "s:I}",
		    "flow", rows[i].flow->id,
		    "service", ports_service_name(rows[i].flow->service),
		    "host", rows[i].host,
		    "port", rows[i].port,
		    "address", p != NULL && p->address[0] != '\0' ?
		    p->address : NULL,
		    "result", ports_result_id(row_result(&rows[i], w)),
		    "detail", p != NULL ? p->detail :
		    "a network: name its hosts to probe them",
		    "advice", advice[0] != '\0' ? advice : NULL,
		    "ms", (json_int_t)(p != NULL ? p->elapsed_ms : 0));
		if (item == NULL || json_array_append_new(results, item) != 0) {
			json_decref(results);
			goto out;
		}
	}
	root = json_pack("{s:s, s:s?, s:o, s:{s:b, s:s, s:s?}, s:I, s:I, "
	    "s:I}",
	    "from", ports_role_name(o->from),
	    "proxy", proxy != NULL ? proxy->name : NULL,
	    "results", results,
	    "agent_listening", "ok", al->ok, "detail", al->detail,
	    "advice", al->advice[0] != '\0' ? al->advice : NULL,
	    "ok", (json_int_t)counts[0],
	    "failed", (json_int_t)counts[1],
	    "skipped", (json_int_t)counts[2]);
	if (root == NULL)
		goto out;
	if (json_dumpf(root, f, JSON_INDENT(2)) != 0) {
		r = VG_ERR_IO;
		goto out;
	}
	fputc('\n', f);
	r = 0;
out:
	json_decref(root);
	return r;
}

int
ports_check(FILE *f, const struct ports_matrix *m,
    const struct ports_check_opts *opts, char *err, size_t errlen)
{
	struct ports_check_opts o = *opts;
	const struct ports_proxy *proxy = NULL;
	struct check_work w = { 0 };
	struct check_row *rows = NULL;
	struct agent_listen al;
	size_t nrows = 0, counts[3] = { 0, 0, 0 }, i;
	enum ports_result res;
	int r;

	if (m == NULL || m->d == NULL) {
		snprintf(err, errlen, "no deployment to check");
		return 2;
	}
	if (o.from != PORTS_ROLE_HUB && o.from != PORTS_ROLE_AGENT &&
	    o.from != PORTS_ROLE_PROXY) {
		snprintf(err, errlen, "a check runs from the hub, an agent or "
		    "a proxy, not from a %s", ports_role_name(o.from));
		return 2;
	}
	if (o.timeout_ms <= 0)
		o.timeout_ms = CHECK_DEFAULT_TIMEOUT_MS;
	if (o.jobs <= 0)
		o.jobs = CHECK_DEFAULT_JOBS;
	if (o.jobs > CHECK_MAX_JOBS)
		o.jobs = CHECK_MAX_JOBS;
	if (o.from == PORTS_ROLE_PROXY &&
	    pick_proxy(m, &o, &proxy, err, errlen) != 0)
		return 2;
	if (make_rows(m, o.from, proxy, &rows, &nrows) != 0 ||
	    make_probes(m, rows, nrows, o.timeout_ms, &w) != 0) {
		snprintf(err, errlen, "out of memory");
		r = 2;
		goto out;
	}
	if (nrows == 0) {
		snprintf(err, errlen, "%s: no flow starts at the %s",
		    m->d->source != NULL ? m->d->source : "the deployment",
		    ports_role_name(o.from));
		r = 2;
		goto out;
	}

	check_run(&w, o.jobs);
	agent_listen_check("/proc", &al);
	for (i = 0; i < nrows; i++) {
		res = row_result(&rows[i], &w);
		counts[res == PORTS_OK ? 0 : res == PORTS_SKIPPED ? 2 : 1]++;
	}
	if (o.json) {
		if ((r = print_json(f, m, &o, proxy, rows, nrows, &w, &al,
		    counts)) != 0) {
			snprintf(err, errlen, "%s", r == VG_ERR_NOMEM ?
			    "out of memory" : "writing the results failed");
			r = 2;
			goto out;
		}
	} else {
		print_text(f, m, &o, proxy, rows, nrows, &w, &al, counts);
	}
	r = counts[1] > 0 || !al.ok ? 1 : 0;
out:
	free(w.probes);
	free(rows);
	return r;
}
