/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef CLI_PORTS_H
#define CLI_PORTS_H

#include <stddef.h>
#include <stdio.h>

/*
 * vigil ports: the network flows a deployment needs (the port matrix),
 * the firewall rules that let exactly those through, and a live check
 * of each flow from the machine it starts on. See vigil(1) and
 * docs/ports.md.
 *
 * A deployment is described by one of four sources:
 *  - a deployment file (ports_deploy_load): hub address and port,
 *    console and agent networks, proxy agents and their devices;
 *  - the hub's configuration and data directory, on the hub
 *    (ports_deploy_from_hub): port from hub.conf, agent sources and
 *    proxied devices from the devices table of hub.db (read only);
 *  - the hub's API (ports_deploy_from_api): GET /api/v1/hub and
 *    /api/v1/devices after signing in;
 *  - an agent's HubDetails.xml (ports_deploy_from_hubdetails): the hub
 *    it reports to and the pinned Thumbprint.
 */

enum ports_service {
	PORTS_HTTPS,   /* the hub: console and REST API */
	PORTS_SSH,     /* proxy to Linux hosts and network devices */
	PORTS_TELNET,  /* proxy to legacy network devices (insecure) */
	PORTS_SMB,     /* proxy to Windows hosts (Remote Registry, C$) */
};

enum ports_role {
	PORTS_ROLE_HUB,
	PORTS_ROLE_AGENT,    /* agents (proxies are agents too) */
	PORTS_ROLE_PROXY,    /* one proxy agent (flow->proxy names which) */
	PORTS_ROLE_CONSOLE,  /* console users' browsers */
	PORTS_ROLE_DEVICE,   /* a proxied device */
};

#define PORTS_DEFAULT_HTTPS 443
#define PORTS_DEFAULT_SSH 22
#define PORTS_DEFAULT_TELNET 23
#define PORTS_DEFAULT_SMB 445

/* One host as written: an address ("10.0.0.5", "fd00::5"), a network
 * ("10.0.0.0/24"), or a name ("rtr1.example.net"). */
struct ports_host {
	char *text;    /* without the port */
	int port;      /* given as HOST:PORT or [V6]:PORT, else 0 */
	int is_net;    /* a network with a prefix length */
	int line;      /* deployment file line, 0 when not from a file */
};

/* A list of hosts; n == 0 means any source. */
struct ports_hosts {
	struct ports_host *v;
	size_t n;
};

struct ports_proxy {
	char *name;    /* the proxy agent's host name or address; from the
	                  hub, its device name */
	char *addr;    /* NULL: name is where it connects from; from the
	                  hub, the address it registered from (else the
	                  host name it reported) */
	int line;
	struct ports_hosts ssh, telnet, smb;   /* its devices */
};

struct ports_deploy {
	char *source;        /* what it was read from, for messages */
	char *hub_host;      /* name or address agents use for the hub */
	int hub_port;        /* PORTS_DEFAULT_HTTPS unless given */
	char *hub_path;      /* the API prefix of the HUBURL, "/api/" */
	unsigned char thumbprint[32];
	size_t thumbprint_len;   /* 0 none, 20 SHA-1, 32 SHA-256 */
	struct ports_hosts console;   /* console users' sources; n 0: any */
	struct ports_hosts agents;    /* agent hosts and networks; n 0: any */
	int agents_known;    /* 0: no agent is known (hub only, no devices
	                        yet): the agent flow is still listed, from
	                        any source */
	struct ports_proxy *proxies;
	size_t nproxies;
	int hub_line;        /* the deployment file's 'hub' line, else 0 */
};

/* One flow: sources to destinations on one TCP port. */
struct ports_flow {
	int id;                      /* 1-based, in matrix order */
	enum ports_role from_role, to_role;
	const struct ports_proxy *proxy;    /* PORTS_ROLE_PROXY: which */
	struct ports_hosts from, to;        /* copies; from.n 0: any */
	int port;
	enum ports_service service;
	const char *opened_by;       /* "the user's browser", "the agent",
	                                "the proxy agent" */
	const char *purpose;         /* one line */
	int insecure;                /* Telnet */
	const char *advice;          /* NULL, or for Telnet "move ... to SSH" */
};

struct ports_matrix {
	const struct ports_deploy *d;
	struct ports_flow *v;
	size_t n;
};

/* ---- ports_deploy.c ---- */

/* Reads a deployment file (format in docs/ports.md). Errors name the
 * file and line: "deploy.conf:7: 'telnet' must follow a 'proxy' line".
 * 0 or VG_ERR_* with err set. */
int ports_deploy_load(const char *path, struct ports_deploy *d, char *err,
    size_t errlen);
/* The same from text (len bytes); source names it in messages. */
int ports_deploy_parse(const char *text, size_t len, const char *source,
    struct ports_deploy *d, char *err, size_t errlen);

/* On the hub: hub.conf (port, public_url) and the devices of its
 * database, opened read only: the agents' addresses as agent sources,
 * and each proxy agent with its proxied devices as a deployment file's
 * 'proxy' line with its 'ssh', 'telnet' and 'smb' lines (none from a
 * database older than proxied devices). */
int ports_deploy_from_hub(const char *hub_conf, const char *data_dir,
    struct ports_deploy *d, char *err, size_t errlen);

/* Through the API, the same as ports_deploy_from_hub: url is the HUBURL
 * or the hub's address ("https://hub:8443/api/"); user and password
 * sign in; the hub's certificate is accepted when it matches thumbprint
 * (if given) or the system's CAs, or always with insecure set. */
int ports_deploy_from_api(const char *url, const char *user,
    const char *password, const char *thumbprint, int insecure,
    struct ports_deploy *d, char *err, size_t errlen);

/* On an agent: the hub it reports to and the Thumbprint it pins. */
int ports_deploy_from_hubdetails(const char *path, struct ports_deploy *d,
    char *err, size_t errlen);

void ports_deploy_free(struct ports_deploy *d);

/* The proxy of d named name (case aside, as with host names), or NULL. */
const struct ports_proxy *ports_proxy_find(const struct ports_deploy *d,
    const char *name);
/* "px1, px2, px3", "none" without proxies; cut with "..." to fit len
 * (> 4) bytes. For messages. */
void ports_proxy_names(const struct ports_deploy *d, char *buf, size_t len);

/* Builds the flows of d: only those the deployment uses, destinations
 * grouped by port. 0 or VG_ERR_NOMEM. */
int ports_matrix_build(const struct ports_deploy *d, struct ports_matrix *m);
void ports_matrix_free(struct ports_matrix *m);

/* "https", "ssh", "telnet", "smb" */
const char *ports_service_name(enum ports_service s);
/* As a sentence names it: "HTTPS", "SSH", "Telnet", "SMB" */
const char *ports_service_title(enum ports_service s);
/* "hub", "agent", "proxy", "console", "device" */
const char *ports_role_name(enum ports_role r);

/* ---- ports_render.c ---- */

enum ports_format {
	PORTS_FMT_TABLE,
	PORTS_FMT_JSON,
	PORTS_FMT_NFTABLES,
	PORTS_FMT_IPTABLES,
	PORTS_FMT_FIREWALLD,
	PORTS_FMT_UFW,
	PORTS_FMT_WINDOWS,
};

/* Which hosts' rules to render: one role, or every role (-1). For
 * PORTS_ROLE_PROXY, proxy names one proxy (NULL: every proxy). */
struct ports_render_opts {
	enum ports_format format;
	int role;                /* enum ports_role, or -1 for all */
	const char *proxy;
	int policy_drop;         /* --policy drop: the rules also refuse
	                            everything else on the host */
};

/* Parses "table", "json", ... 0 or -1. */
int ports_format_parse(const char *s, enum ports_format *out);

/* Writes the matrix or the rules to f. Names in rules are resolved to
 * addresses (getaddrinfo); a name that does not resolve is an error
 * naming it and where it was written. 0 or VG_ERR_* with err set. */
int ports_render(FILE *f, const struct ports_matrix *m,
    const struct ports_render_opts *o, char *err, size_t errlen);

/* ---- ports_probe.c ---- */

enum ports_result {
	PORTS_OK,
	PORTS_REFUSED,       /* RST or port unreachable: nothing listens,
	                        or a firewall REJECT */
	PORTS_FILTERED,      /* no answer before the timeout: a DROP */
	PORTS_NO_ROUTE,      /* host or network unreachable */
	PORTS_UNRESOLVED,    /* the name does not resolve */
	PORTS_WRONG_SERVICE, /* connected, but not the expected protocol */
	PORTS_TLS_FAILURE,   /* the TLS handshake failed (detail: why) */
	PORTS_THUMBPRINT_MISMATCH,
	PORTS_SKIPPED,       /* a network, not a host: nothing to probe */
};

struct ports_probe {
	/* in */
	const char *host;        /* name or address */
	int port;
	enum ports_service service;
	const char *http_path;   /* HTTPS: the API prefix, "/api/" */
	const unsigned char *thumbprint;   /* HTTPS: pinned, or NULL */
	size_t thumbprint_len;
	int timeout_ms;          /* for each step: connect, then protocol */
	/* out */
	enum ports_result result;
	char address[64];        /* the address connected to, if any */
	char detail[512];        /* "SSH-2.0-OpenSSH_9.2p1", "TLS 1.3,
	                            health ok, SHA-256 AB:CD:..." or why it
	                            failed */
	char fingerprint[96];    /* HTTPS: SHA-256 "AB:CD:..." when seen */
	long elapsed_ms;
};

/* Runs one probe: resolve, TCP connect, then the service's protocol.
 * Never fails as a function: everything goes into p->result/detail. */
void ports_probe_run(struct ports_probe *p);

/* "ok", "refused", "filtered", "no route", "unresolved",
 * "wrong service", "TLS failure", "thumbprint mismatch", "skipped" */
const char *ports_result_name(enum ports_result r);

/* Reads a server's answer to the SMB2 NEGOTIATE the probe sends: b holds
 * the n bytes read from the socket, NetBIOS session header first (n may
 * fall short of the length that header announces when the read was cut
 * short). Every length is checked against n. Returns PORTS_OK (detail
 * "SMB 3.0.2 negotiated", or "SMB1 only (insecure): ...") or
 * PORTS_WRONG_SERVICE with detail saying what answered instead. detail
 * (len > 0) is always set. Does not block. */
int ports_smb_parse(const unsigned char *b, size_t n, char *detail,
    size_t len);
/* The JSON spelling: "ok", "refused", "filtered", "no_route",
 * "unresolved", "wrong_service", "tls_failure", "thumbprint_mismatch",
 * "skipped" */
const char *ports_result_id(enum ports_result r);

/* ---- ports_check.c ---- */

struct ports_check_opts {
	int from;                /* enum ports_role: PORTS_ROLE_HUB,
	                            PORTS_ROLE_AGENT or PORTS_ROLE_PROXY */
	const char *proxy;       /* PORTS_ROLE_PROXY: which proxy (NULL:
	                            the only one) */
	int json;
	int timeout_ms;          /* per probe step, default 3000 */
	int jobs;                /* probes at once, default 64 */
};

/* Probes every flow that starts at o->from, in parallel, prints the
 * table (or JSON) and one sentence per failure to f. Also confirms that
 * no vigil-agent process on this machine listens on a port. Returns 0
 * when every needed flow is ok, 1 when one fails, 2 on trouble (err
 * set). */
int ports_check(FILE *f, const struct ports_matrix *m,
    const struct ports_check_opts *o, char *err, size_t errlen);

/* ---- cmd_ports.c ---- */

int cmd_ports(int argc, char **argv);

#endif
