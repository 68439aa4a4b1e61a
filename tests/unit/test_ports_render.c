/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of cli/ports_render: the port matrix as a table and JSON,
 * and the firewall rules of each format, for three deployments built by
 * hand (hub only; hub and agents on port 8443; one proxy with SSH,
 * Telnet on 23 and 2323, and SMB). Loading the nftables output into a
 * kernel is the black-box test's job (tests/blackbox); here the text is
 * checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ports.h"
#include "vg_err.h"

#define MAXH 1100

/* A deployment and its matrix, filled by hand. */
struct fx {
	struct ports_deploy d;
	struct ports_proxy px;
	struct ports_host hub;
	struct ports_host console[4];
	struct ports_host agents[MAXH];
	struct ports_host proxy_host;
	struct ports_host ssh[MAXH], telnet[4], smb[4];
	struct ports_flow v[8];
	struct ports_matrix m;
	char names[MAXH][32];
};

static const char TELNET_ADVICE[] = "Telnet sends passwords and "
    "configurations in clear text: move these devices to SSH (port 22) "
    "when they support it";

static void
host(struct ports_host *h, const char *text, int line)
{
	memset(h, 0, sizeof(*h));
	h->text = (char *)text;
	h->is_net = strchr(text, '/') != NULL;
	h->line = line;
}

static struct ports_flow *
add_flow(struct fx *f, enum ports_role from, enum ports_role to, int port,
    enum ports_service svc)
{
	struct ports_flow *fl = &f->v[f->m.n];

	memset(fl, 0, sizeof(*fl));
	fl->id = (int)++f->m.n;
	fl->from_role = from;
	fl->to_role = to;
	fl->port = port;
	fl->service = svc;
	return fl;
}

/* console -> hub and agent -> hub, as ports_matrix_build makes them. */
static void
hub_flows(struct fx *f, const struct ports_host *agent_src, size_t nagent)
{
	struct ports_flow *fl;

	f->m.d = &f->d;
	f->m.v = f->v;
	fl = add_flow(f, PORTS_ROLE_CONSOLE, PORTS_ROLE_HUB, f->d.hub_port,
	    PORTS_HTTPS);
	fl->from = f->d.console;
	fl->to = (struct ports_hosts){ &f->hub, 1 };
	fl->opened_by = "the user's browser";
	fl->purpose = "the web console and REST API (HTTPS)";
	fl = add_flow(f, PORTS_ROLE_AGENT, PORTS_ROLE_HUB, f->d.hub_port,
	    PORTS_HTTPS);
	fl->from = (struct ports_hosts){ (struct ports_host *)agent_src,
		nagent };
	fl->to = (struct ports_hosts){ &f->hub, 1 };
	fl->opened_by = "the agent";
	fl->purpose = "agents report changes and poll for policy (HTTPS)";
}

static void
deploy(struct fx *f, const char *hub, int port)
{
	memset(f, 0, sizeof(*f));
	f->d.source = (char *)"deploy.conf";
	f->d.hub_host = (char *)hub;
	f->d.hub_port = port;
	f->d.hub_path = (char *)"/api/";
	host(&f->hub, hub, 1);
}

/* Shape 1: "hub 10.5.0.1", nothing else. */
static void
shape_hub_only(struct fx *f)
{
	deploy(f, "10.5.0.1", 443);
	hub_flows(f, NULL, 0);
}

/* Shape 2: the hub on 8443, agents in two networks and one address. */
static void
shape_agents(struct fx *f)
{
	deploy(f, "10.5.0.1", 8443);
	host(&f->agents[0], "10.1.0.0/16", 2);
	host(&f->agents[1], "10.2.0.5", 2);
	host(&f->agents[2], "fd00:2::/64", 2);
	f->d.agents = (struct ports_hosts){ f->agents, 3 };
	f->d.agents_known = 1;
	hub_flows(f, f->agents, 3);
}

static struct ports_flow *
device_flow(struct fx *f, enum ports_service svc, int port,
    struct ports_host *to, size_t n)
{
	static const char *const purpose[] = {
		[PORTS_SSH] = "SSH: Linux hosts and network devices",
		[PORTS_TELNET] = "Telnet: legacy network devices",
		[PORTS_SMB] = "SMB: Windows hosts (Remote Registry, admin "
		              "shares)",
	};
	struct ports_flow *fl = add_flow(f, PORTS_ROLE_PROXY,
	    PORTS_ROLE_DEVICE, port, svc);

	fl->proxy = &f->px;
	fl->from = (struct ports_hosts){ &f->proxy_host, 1 };
	fl->to = (struct ports_hosts){ to, n };
	fl->opened_by = "the proxy agent";
	fl->purpose = purpose[svc];
	if (svc == PORTS_TELNET) {
		fl->insecure = 1;
		fl->advice = TELNET_ADVICE;
	}
	return fl;
}

/* Shape 3: proxy 10.0.0.2 with ssh 10.0.0.7 10.0.0.8, telnet 10.0.0.20
 * 10.0.0.21:2323, smb 10.0.0.30 fd00::30. */
static void
shape_proxy(struct fx *f, const char *proxy_name)
{
	deploy(f, "10.5.0.1", 443);
	f->px.name = (char *)proxy_name;
	f->px.line = 3;
	host(&f->proxy_host, proxy_name, 3);
	host(&f->ssh[0], "10.0.0.7", 4);
	host(&f->ssh[1], "10.0.0.8", 4);
	host(&f->telnet[0], "10.0.0.20", 5);
	host(&f->telnet[1], "10.0.0.21", 5);
	f->telnet[1].port = 2323;
	host(&f->smb[0], "10.0.0.30", 6);
	host(&f->smb[1], "fd00::30", 6);
	f->px.ssh = (struct ports_hosts){ f->ssh, 2 };
	f->px.telnet = (struct ports_hosts){ f->telnet, 2 };
	f->px.smb = (struct ports_hosts){ f->smb, 2 };
	f->d.proxies = &f->px;
	f->d.nproxies = 1;
	f->d.agents_known = 1;
	hub_flows(f, &f->proxy_host, 1);
	device_flow(f, PORTS_SSH, 22, f->ssh, 2);
	device_flow(f, PORTS_TELNET, 23, &f->telnet[0], 1);
	device_flow(f, PORTS_TELNET, 2323, &f->telnet[1], 1);
	device_flow(f, PORTS_SMB, 445, f->smb, 2);
}

/* Renders m; returns ports_render()'s result, the text in *out (always
 * set, caller frees) and the message in err. */
static int
render(const struct ports_matrix *m, enum ports_format fmt, int role,
    const char *proxy, int drop, char **out, char *err, size_t errlen)
{
	struct ports_render_opts o = { fmt, role, proxy, drop };
	size_t len = 0;
	FILE *f = open_memstream(out, &len);
	int r;

	assert_non_null(f);
	r = ports_render(f, m, &o, err, errlen);
	assert_int_equal(fclose(f), 0);
	return r;
}

/* Renders and expects success. */
static char *
render_ok(const struct ports_matrix *m, enum ports_format fmt, int role,
    const char *proxy, int drop)
{
	char err[512] = "", *out = NULL;
	int r = render(m, fmt, role, proxy, drop, &out, err, sizeof(err));

	if (r != 0)
		fail_msg("ports_render: %d: %s", r, err);
	return out;
}

static size_t
count(const char *s, const char *needle)
{
	size_t n = 0, l = strlen(needle);

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += l;
	}
	return n;
}

#define assert_has(s, needle)                                              \
	do {                                                               \
		if (strstr((s), (needle)) == NULL)                         \
			fail_msg("missing: %s\n--- in:\n%s", (needle), (s)); \
	} while (0)
#define assert_lacks(s, needle)                                            \
	do {                                                               \
		if (strstr((s), (needle)) != NULL)                         \
			fail_msg("unexpected: %s\n--- in:\n%s", (needle),   \
			    (s));                                          \
	} while (0)

/* No line wider than width. */
static void
assert_width(const char *s, size_t width)
{
	const char *p = s, *nl;

	while (*p != '\0') {
		size_t l;

		nl = strchr(p, '\n');
		l = nl ? (size_t)(nl - p) : strlen(p);
		if (l > width)
			fail_msg("line of %zu columns: %.*s", l, (int)l, p);
		p += l + (nl != NULL);
	}
}

/*
 * The text of one cell of the table: the column under header col, in
 * the lines of row id (the first line has the id, the continuation
 * lines a blank first column), joined with blanks.
 */
static char *
table_cell(const char *table, int id, const char *col)
{
	const char *head = strstr(table, "#  FROM"), *p, *nl;
	size_t start, end, hl, used = 0;
	char *cell = calloc(1, 4096), idtext[16];
	int in_row = 0;

	assert_non_null(cell);
	assert_non_null(head);
	nl = strchr(head, '\n');
	hl = (size_t)(nl - head);
	p = strstr(head, col);
	assert_true(p != NULL && p < nl);
	start = (size_t)(p - head);
	/* the next header starts after two blanks */
	for (end = start + strlen(col); end + 1 < hl; end++)
		if (head[end] == ' ' && head[end + 1] == ' ')
			break;
	while (end < hl && head[end] == ' ')
		end++;
	if (end >= hl)
		end = 4096;
	snprintf(idtext, sizeof(idtext), "%d ", id);
	for (p = nl + 1; *p != '\0' && *p != '\n'; p = nl + 1) {
		size_t l, a, b;

		nl = strchr(p, '\n');
		l = (size_t)(nl - p);
		if (strncmp(p, idtext, strlen(idtext)) == 0)
			in_row = 1;
		else if (p[0] != ' ')
			in_row = 0;
		if (!in_row || l <= start)
			continue;
		a = start;
		b = l < end ? l : end;
		while (b > a && p[b - 1] == ' ')
			b--;
		if (b > a && used + 1 + (b - a) < 4096) {
			if (used > 0)
				cell[used++] = ' ';
			memcpy(cell + used, p + a, b - a);
			used += b - a;
			cell[used] = '\0';
		}
	}
	return cell;
}

static void
assert_cell(const char *table, int id, const char *col, const char *want)
{
	char *got = table_cell(table, id, col);

	if (strcmp(got, want) != 0)
		fail_msg("row %d %s: '%s', expected '%s'\n%s", id, col, got,
		    want, table);
	free(got);
}

/* ---- format names ---- */

static void
test_format_parse(void **state)
{
	static const char *const names[] = { "table", "json", "nftables",
		"iptables", "firewalld", "ufw", "windows" };
	enum ports_format fmt;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(ports_format_parse(names[i], &fmt), 0);
		assert_int_equal(fmt, (enum ports_format)i);
	}
	assert_int_equal(ports_format_parse("TABLE", &fmt), -1);
	assert_int_equal(ports_format_parse("nft", &fmt), -1);
	assert_int_equal(ports_format_parse("", &fmt), -1);
	assert_int_equal(ports_format_parse(NULL, &fmt), -1);
}

/* ---- table ---- */

static void
test_table_hub_only(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *out;

	(void)state;
	shape_hub_only(f);
	out = render_ok(&f->m, PORTS_FMT_TABLE, -1, NULL, 0);
	assert_has(out, "Flows of deploy.conf: hub 10.5.0.1, port 443/tcp\n");
	assert_cell(out, 1, "FROM", "console users (any)");
	assert_cell(out, 1, "TO", "hub 10.5.0.1");
	assert_cell(out, 1, "PORT", "443/tcp");
	assert_cell(out, 1, "OPENED BY", "the user's browser");
	assert_cell(out, 2, "FROM", "agents (any)");
	assert_cell(out, 2, "PURPOSE",
	    "agents report changes and poll for policy (HTTPS)");
	assert_lacks(out, "INSECURE");
	assert_has(out, "Agents and proxy agents need no inbound port");
	assert_has(out, "The hub opens\nno connection.\n");
	assert_width(out, 99);
	free(out);
	free(f);
}

static void
test_table_agents_8443(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *out;

	(void)state;
	shape_agents(f);
	out = render_ok(&f->m, PORTS_FMT_TABLE, -1, NULL, 0);
	assert_has(out, "hub 10.5.0.1, port 8443/tcp");
	assert_cell(out, 2, "FROM", "agents 10.1.0.0/16, 10.2.0.5, fd00:2::/64");
	assert_cell(out, 2, "PORT", "8443/tcp");
	assert_cell(out, 1, "PORT", "8443/tcp");
	assert_width(out, 99);
	free(out);
	free(f);
}

static void
test_table_proxy_insecure_telnet(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *out;

	(void)state;
	shape_proxy(f, "10.0.0.2");
	out = render_ok(&f->m, PORTS_FMT_TABLE, -1, NULL, 0);
	assert_cell(out, 2, "FROM", "agents 10.0.0.2");
	assert_cell(out, 3, "FROM", "proxy 10.0.0.2");
	assert_cell(out, 3, "TO", "devices 10.0.0.7, 10.0.0.8");
	assert_cell(out, 3, "PORT", "22/tcp");
	assert_cell(out, 3, "OPENED BY", "the proxy agent");
	assert_cell(out, 4, "PORT", "23/tcp");
	assert_cell(out, 4, "PURPOSE",
	    "Telnet: legacy network devices INSECURE");
	assert_cell(out, 5, "TO", "devices 10.0.0.21");
	assert_cell(out, 5, "PORT", "2323/tcp");
	assert_cell(out, 5, "PURPOSE",
	    "Telnet: legacy network devices INSECURE");
	assert_cell(out, 6, "TO", "devices 10.0.0.30, fd00::30");
	assert_cell(out, 6, "PURPOSE",
	    "SMB: Windows hosts (Remote Registry, admin shares)");
	/* the two Telnet rows end with INSECURE, and only they */
	assert_int_equal(count(out, "INSECURE\n"), 2);
	/* one piece of advice for both Telnet flows */
	assert_has(out, "Flows 4, 5 (INSECURE): Telnet sends passwords and "
	                "configurations in clear text: move these devices\n"
	                "  to SSH (port 22) when they support it.\n");
	assert_int_equal(count(out, "Telnet sends"), 1);
	assert_width(out, 99);
	free(out);
	free(f);
}

/* Long host lists: "a, b, c and 17 more" in the table, all in JSON. */
static void
test_table_abbreviates_json_keeps_all(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	json_t *root, *hosts;
	json_error_t jerr;
	char *out;
	size_t i;

	(void)state;
	deploy(f, "10.5.0.1", 443);
	for (i = 0; i < 20; i++) {
		snprintf(f->names[i], sizeof(f->names[i]), "10.3.0.%zu", i + 1);
		host(&f->agents[i], f->names[i], 2);
	}
	f->d.agents = (struct ports_hosts){ f->agents, 20 };
	f->d.agents_known = 1;
	hub_flows(f, f->agents, 20);
	out = render_ok(&f->m, PORTS_FMT_TABLE, -1, NULL, 0);
	assert_cell(out, 2, "FROM",
	    "agents 10.3.0.1, 10.3.0.2, 10.3.0.3 and 17 more");
	assert_lacks(out, "10.3.0.4");
	assert_width(out, 99);
	free(out);

	/* four are shown as they are: "and 1 more" would say less */
	f->v[1].from.n = 4;
	out = render_ok(&f->m, PORTS_FMT_TABLE, -1, NULL, 0);
	assert_cell(out, 2, "FROM",
	    "agents 10.3.0.1, 10.3.0.2, 10.3.0.3, 10.3.0.4");
	free(out);
	f->v[1].from.n = 20;

	out = render_ok(&f->m, PORTS_FMT_JSON, -1, NULL, 0);
	root = json_loads(out, 0, &jerr);
	assert_non_null(root);
	hosts = json_object_get(json_object_get(json_array_get(
	    json_object_get(root, "flows"), 1), "from"), "hosts");
	assert_int_equal(json_array_size(hosts), 20);
	assert_string_equal(json_string_value(json_array_get(hosts, 19)),
	    "10.3.0.20");
	json_decref(root);
	free(out);
	free(f);
}

/* ---- JSON ---- */

static json_t *
json_of(const struct ports_matrix *m)
{
	json_error_t jerr;
	char *out = render_ok(m, PORTS_FMT_JSON, -1, NULL, 0);
	json_t *root = json_loads(out, 0, &jerr);

	if (root == NULL)
		fail_msg("not JSON: %s\n%s", jerr.text, out);
	free(out);
	return root;
}

static void
test_json_hub_only(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	json_t *root, *fl, *from;

	(void)state;
	shape_hub_only(f);
	root = json_of(&f->m);
	assert_string_equal(json_string_value(json_object_get(root, "source")),
	    "deploy.conf");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(root, "hub"), "host")), "10.5.0.1");
	assert_int_equal(json_integer_value(json_object_get(
	    json_object_get(root, "hub"), "port")), 443);
	assert_int_equal(json_array_size(json_object_get(root, "flows")), 2);
	fl = json_array_get(json_object_get(root, "flows"), 0);
	from = json_object_get(fl, "from");
	assert_int_equal(json_integer_value(json_object_get(fl, "id")), 1);
	assert_string_equal(json_string_value(json_object_get(from, "role")),
	    "console");
	assert_true(json_is_null(json_object_get(from, "proxy")));
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(from, "hosts"), 0)), "any");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(fl, "to"), "role")), "hub");
	assert_int_equal(json_integer_value(json_object_get(fl, "port")), 443);
	assert_string_equal(json_string_value(json_object_get(fl,
	    "protocol")), "tcp");
	assert_string_equal(json_string_value(json_object_get(fl, "service")),
	    "https");
	assert_string_equal(json_string_value(json_object_get(fl,
	    "opened_by")), "the user's browser");
	assert_true(json_is_false(json_object_get(fl, "insecure")));
	assert_true(json_is_null(json_object_get(fl, "advice")));
	assert_true(json_is_array(json_object_get(root, "inbound_on_agents")));
	assert_int_equal(json_array_size(json_object_get(root,
	    "inbound_on_agents")), 0);
	assert_non_null(strstr(json_string_value(json_object_get(root,
	    "note")), "need no inbound port"));
	json_decref(root);
	free(f);
}

static void
test_json_proxy(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	json_t *root, *flows, *fl;

	(void)state;
	shape_proxy(f, "10.0.0.2");
	root = json_of(&f->m);
	flows = json_object_get(root, "flows");
	assert_int_equal(json_array_size(flows), 6);
	fl = json_array_get(flows, 4);    /* Telnet on 2323 */
	assert_int_equal(json_integer_value(json_object_get(fl, "id")), 5);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(fl, "from"), "role")), "proxy");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(fl, "from"), "proxy")), "10.0.0.2");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(fl, "to"), "role")), "device");
	/* the host as written, its :PORT on the flow */
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    json_object_get(fl, "to"), "hosts"), 0)), "10.0.0.21");
	assert_int_equal(json_integer_value(json_object_get(fl, "port")),
	    2323);
	assert_string_equal(json_string_value(json_object_get(fl, "service")),
	    "telnet");
	assert_true(json_is_true(json_object_get(fl, "insecure")));
	assert_string_equal(json_string_value(json_object_get(fl, "advice")),
	    TELNET_ADVICE);
	fl = json_array_get(flows, 5);    /* SMB */
	assert_true(json_is_false(json_object_get(fl, "insecure")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    json_object_get(fl, "to"), "hosts"), 1)), "fd00::30");
	json_decref(root);
	free(f);
}

/* ---- nftables ---- */

static void
test_nft_hub_only(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *out;

	(void)state;
	shape_hub_only(f);
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, -1, NULL, 0);
	assert_true(strncmp(out, "#!/usr/sbin/nft -f\n", 19) == 0);
	assert_has(out, "# ---- role: hub 10.5.0.1 ----\n");
	assert_has(out, "table inet vigil_hub {}\n"
	                "flush table inet vigil_hub\n"
	                "table inet vigil_hub {\n"
	                "\tchain input {\n"
	                "\t\ttype filter hook input priority filter; "
	                "policy accept;\n"
	                "\t\ttcp dport 443 accept comment "
	                "\"vigil: console -> hub (HTTPS)\"\n");
	/* agents from anywhere too: the console's rule covers them */
	assert_has(out, "\t\t# vigil: agents -> hub (HTTPS): open to any "
	                "source by the rule above\n");
	assert_has(out, "# ---- role: agent ----\n# for: every agent host\n");
	assert_has(out, "\tchain output {\n"
	                "\t\ttype filter hook output priority filter; "
	                "policy accept;\n"
	                "\t\tip daddr 10.5.0.1 tcp dport 443 accept comment "
	                "\"vigil: agents -> hub (HTTPS)\"\n\t}\n}\n");
	assert_lacks(out, "saddr");
	assert_lacks(out, "vigil_proxy");
	assert_lacks(out, "vigil_device");
	free(out);
	free(f);
}

static void
test_nft_agents_ipv6(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *out;

	(void)state;
	shape_agents(f);
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_HUB, NULL, 0);
	assert_has(out, "\t\ttcp dport 8443 accept comment "
	                "\"vigil: console -> hub (HTTPS)\"\n");
	assert_has(out, "\t\tip saddr { 10.1.0.0/16, 10.2.0.5 } tcp dport "
	                "8443 accept comment \"vigil: agents -> hub "
	                "(HTTPS)\"\n");
	assert_has(out, "\t\tip6 saddr fd00:2::/64 tcp dport 8443 accept "
	                "comment \"vigil: agents -> hub (HTTPS)\"\n");
	assert_lacks(out, "ip saddr fd00");
	assert_lacks(out, "vigil_agent");
	free(out);

	/* an IPv6 hub: agents' rules use ip6 daddr */
	f->d.hub_host = (char *)"fd00::1";
	f->hub.text = (char *)"fd00::1";
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_AGENT, NULL, 0);
	assert_has(out, "# for: 10.1.0.0/16, 10.2.0.5, fd00:2::/64\n");
	assert_has(out, "\t\tip6 daddr fd00::1 tcp dport 8443 accept");
	assert_lacks(out, "ip daddr");
	free(out);
	free(f);
}

static void
test_nft_proxy_and_devices(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *out;

	(void)state;
	shape_proxy(f, "10.0.0.2");
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_PROXY, NULL, 0);
	assert_has(out, "# ---- role: proxy 10.0.0.2 ----\n");
	assert_has(out, "table inet vigil_proxy {}\n"
	                "flush table inet vigil_proxy\n");
	assert_has(out, "\t\tip daddr 10.5.0.1 tcp dport 443 accept");
	assert_has(out, "\t\tip daddr { 10.0.0.7, 10.0.0.8 } tcp dport 22 "
	                "accept comment \"vigil: proxy 10.0.0.2 -> SSH "
	                "devices\"\n");
	assert_has(out, "\t\tip daddr 10.0.0.20 tcp dport 23 accept comment "
	                "\"vigil: proxy 10.0.0.2 -> Telnet devices "
	                "(insecure)\"\n");
	assert_has(out, "\t\tip daddr 10.0.0.21 tcp dport 2323 accept");
	assert_has(out, "\t\tip daddr 10.0.0.30 tcp dport 445 accept");
	assert_has(out, "\t\tip6 daddr fd00::30 tcp dport 445 accept comment "
	                "\"vigil: proxy 10.0.0.2 -> Windows hosts (SMB)\"\n");
	assert_lacks(out, "chain input");
	assert_lacks(out, "vigil_hub");
	assert_int_equal(count(out, "# ---- role:"), 1);
	free(out);

	/* devices: one section per set of devices the same flows reach */
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_DEVICE, NULL, 0);
	assert_int_equal(count(out, "# ---- role: device ----\n"), 4);
	assert_int_equal(count(out, "table inet vigil_device {}\n"), 4);
	assert_has(out, "# for: 10.0.0.7, 10.0.0.8\n"
	                "# SSH on 22/tcp from proxy 10.0.0.2\n");
	assert_has(out, "# for: 10.0.0.21\n"
	                "# Telnet on 2323/tcp from proxy 10.0.0.2 "
	                "(INSECURE)\n");
	assert_has(out, "# for: 10.0.0.30, fd00::30\n");
	assert_has(out, "\t\tip saddr 10.0.0.2 tcp dport 22 accept comment "
	                "\"vigil: proxy 10.0.0.2 -> SSH devices\"\n");
	assert_has(out, "\t\tip saddr 10.0.0.2 tcp dport 2323 accept");
	assert_has(out, "\t\tip saddr 10.0.0.2 tcp dport 445 accept");
	assert_lacks(out, "daddr");
	free(out);

	/* every role: hub, the proxy, four device sets; no agent section,
	 * the proxy being the only agent */
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, -1, NULL, 0);
	assert_int_equal(count(out, "# ---- role:"), 6);
	assert_int_equal(count(out, "# ---- role: hub 10.5.0.1 ----\n"), 1);
	assert_int_equal(count(out, "# ---- role: proxy 10.0.0.2 ----\n"), 1);
	assert_lacks(out, "role: agent");
	assert_int_equal(count(out, "#!/usr/sbin/nft -f\n"), 1);
	free(out);
	free(f);
}

/* A device reached by SSH and SMB gets both rules in one section. */
static void
test_nft_device_in_two_flows(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *out;

	(void)state;
	shape_proxy(f, "10.0.0.2");
	host(&f->smb[1], "10.0.0.7", 6);   /* also an SSH device */
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_DEVICE, NULL, 0);
	assert_has(out, "# for: 10.0.0.7\n"
	                "# SSH on 22/tcp from proxy 10.0.0.2\n"
	                "# SMB on 445/tcp from proxy 10.0.0.2\n");
	assert_has(out, "# for: 10.0.0.8\n"
	                "# SSH on 22/tcp from proxy 10.0.0.2\n"
	                "# inbound");
	assert_has(out, "# for: 10.0.0.30\n# SMB on 445/tcp");
	assert_int_equal(count(out, "# ---- role: device ----\n"), 5);
	free(out);
	free(f);
}

static void
test_nft_policy_drop(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *out;

	(void)state;
	shape_proxy(f, "10.0.0.2");
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_HUB, NULL, 1);
	assert_has(out, "\t\ttype filter hook input priority filter; "
	                "policy drop;\n"
	                "\t\tct state established,related accept\n"
	                "\t\tct state invalid drop\n"
	                "\t\tiif \"lo\" accept\n"
	                "\t\tmeta l4proto { icmp, ipv6-icmp } accept\n");
	assert_has(out, "SSH to this host\n# too");
	assert_lacks(out, "dport 53");  /* inbound: no DNS rule */
	free(out);
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_PROXY,
	    "10.0.0.2", 1);
	assert_has(out, "\t\ttype filter hook output priority filter; "
	                "policy drop;\n"
	                "\t\tct state established,related accept\n"
	                "\t\tct state invalid drop\n"
	                "\t\toif \"lo\" accept\n"
	                "\t\tmeta l4proto { icmp, ipv6-icmp } accept\n"
	                "\t\tudp dport 53 accept comment \"vigil: DNS\"\n"
	                "\t\ttcp dport 53 accept comment \"vigil: DNS\"\n");
	free(out);
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_PROXY, NULL, 0);
	assert_lacks(out, "drop");
	assert_lacks(out, "ct state");
	free(out);
	free(f);
}

/* Big sets are written a few elements a line; repeats are dropped. */
static void
test_nft_large_set(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *out;
	size_t i;

	(void)state;
	shape_proxy(f, "10.0.0.2");
	for (i = 0; i < 1000; i++) {
		snprintf(f->names[i], sizeof(f->names[i]), "10.7.%zu.%zu",
		    i / 250, i % 250 + 1);
		host(&f->ssh[i], f->names[i], 4);
	}
	host(&f->ssh[1000], "10.7.0.1", 4);   /* again */
	f->v[2].to.n = 1001;
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_PROXY, NULL, 0);
	assert_has(out, "\t\tip daddr { 10.7.0.1, 10.7.0.2, 10.7.0.3, "
	                "10.7.0.4, 10.7.0.5, 10.7.0.6,\n\t\t\t10.7.0.7, ");
	assert_int_equal(count(out, "10.7.0.1,"), 1);
	assert_int_equal(count(out, "10.7.0.1 "), 0);
	assert_has(out, "10.7.3.250 } tcp dport 22 accept");
	free(out);
	free(f);
}

/* ---- iptables ---- */

static void
test_iptables(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *last_rule, *policy;
	char *out;

	(void)state;
	shape_hub_only(f);
	out = render_ok(&f->m, PORTS_FMT_IPTABLES, -1, NULL, 0);
	assert_has(out, "\niptables -A INPUT -p tcp --dport 443 -m comment "
	                "--comment \"vigil: console -> hub (HTTPS)\" "
	                "-j ACCEPT\n"
	                "ip6tables -A INPUT -p tcp --dport 443 -m comment "
	                "--comment \"vigil: console -> hub (HTTPS)\" "
	                "-j ACCEPT\n");
	assert_has(out, "\niptables -A OUTPUT -p tcp -d 10.5.0.1 --dport 443 "
	                "-m comment --comment \"vigil: agents -> hub "
	                "(HTTPS)\" -j ACCEPT\n");
	assert_lacks(out, " -P ");
	free(out);

	shape_agents(f);
	out = render_ok(&f->m, PORTS_FMT_IPTABLES, PORTS_ROLE_HUB, NULL, 1);
	assert_has(out, "\niptables -A INPUT -p tcp -s 10.1.0.0/16 --dport "
	                "8443 -m comment --comment \"vigil: agents -> hub "
	                "(HTTPS)\" -j ACCEPT\n");
	assert_has(out, "\nip6tables -A INPUT -p tcp -s fd00:2::/64 --dport "
	                "8443 ");
	assert_lacks(out, "iptables -A INPUT -p tcp -s fd00");
	assert_has(out, "iptables -A INPUT -i lo -j ACCEPT\n"
	                "iptables -A INPUT -m conntrack --ctstate "
	                "ESTABLISHED,RELATED -j ACCEPT\n"
	                "iptables -A INPUT -p icmp -j ACCEPT\n"
	                "ip6tables -A INPUT -i lo -j ACCEPT\n");
	assert_has(out, "ip6tables -A INPUT -p ipv6-icmp -j ACCEPT\n");
	/* the policy comes last, when every exception is in */
	last_rule = strstr(out, "ip6tables -A INPUT -p tcp -s fd00:2::/64");
	policy = strstr(out, "iptables -P INPUT DROP\nip6tables -P INPUT "
	                     "DROP\n");
	assert_non_null(policy);
	assert_true(policy > last_rule);
	free(out);

	shape_proxy(f, "10.0.0.2");
	out = render_ok(&f->m, PORTS_FMT_IPTABLES, PORTS_ROLE_PROXY, NULL, 1);
	assert_has(out, "\niptables -A OUTPUT -p tcp -d 10.0.0.21 --dport "
	                "2323 -m comment --comment \"vigil: proxy 10.0.0.2 "
	                "-> Telnet devices (insecure)\" -j ACCEPT\n");
	assert_has(out, "\nip6tables -A OUTPUT -p tcp -d fd00::30 --dport "
	                "445 ");
	assert_has(out, "iptables -A OUTPUT -o lo -j ACCEPT\n");
	assert_has(out, "iptables -A OUTPUT -p udp --dport 53 -m comment "
	                "--comment \"vigil: DNS\" -j ACCEPT\n");
	assert_has(out, "iptables -P OUTPUT DROP\nip6tables -P OUTPUT DROP\n");
	free(out);
	free(f);
}

/* ---- firewalld ---- */

static void
test_firewalld(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *out;

	(void)state;
	shape_hub_only(f);
	out = render_ok(&f->m, PORTS_FMT_FIREWALLD, PORTS_ROLE_HUB, NULL, 0);
	assert_has(out, "\nfirewall-cmd --permanent --add-port=443/tcp\n");
	assert_int_equal(count(out, "--add-port=443/tcp"), 1);
	assert_has(out, "firewall-cmd --reload\n");
	free(out);

	shape_agents(f);
	out = render_ok(&f->m, PORTS_FMT_FIREWALLD, PORTS_ROLE_HUB, NULL, 1);
	assert_has(out, "\nfirewall-cmd --permanent --add-rich-rule='rule "
	                "family=\"ipv4\" source address=\"10.1.0.0/16\" port "
	                "port=\"8443\" protocol=\"tcp\" accept'\n");
	assert_has(out, "family=\"ipv6\" source address=\"fd00:2::/64\"");
	assert_has(out, "zones already reject");
	free(out);

	shape_proxy(f, "10.0.0.2");
	out = render_ok(&f->m, PORTS_FMT_FIREWALLD, PORTS_ROLE_PROXY, NULL, 0);
	assert_has(out, "firewall-cmd --permanent --new-policy=vigil-proxy-out\n"
	                "firewall-cmd --permanent --policy=vigil-proxy-out "
	                "--add-ingress-zone=HOST\n"
	                "firewall-cmd --permanent --policy=vigil-proxy-out "
	                "--add-egress-zone=ANY\n"
	                "firewall-cmd --permanent --policy=vigil-proxy-out "
	                "--set-target=CONTINUE\n");
	assert_has(out, "firewall-cmd --permanent --policy=vigil-proxy-out "
	                "--add-rich-rule='rule family=\"ipv4\" destination "
	                "address=\"10.0.0.21\" port port=\"2323\" "
	                "protocol=\"tcp\" accept'\n");
	assert_has(out, "family=\"ipv6\" destination address=\"fd00::30\"");
	assert_lacks(out, "--add-service=dns");
	free(out);
	out = render_ok(&f->m, PORTS_FMT_FIREWALLD, PORTS_ROLE_PROXY, NULL, 1);
	assert_has(out, "--set-target=REJECT\n");
	assert_has(out, "--policy=vigil-proxy-out --add-service=dns\n");
	free(out);
	free(f);
}

/* ---- ufw ---- */

static void
test_ufw(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *out;

	(void)state;
	shape_agents(f);
	out = render_ok(&f->m, PORTS_FMT_UFW, -1, NULL, 0);
	assert_has(out, "\nufw allow proto tcp from any to any port 8443 "
	                "comment 'vigil: console -> hub (HTTPS)'\n");
	assert_has(out, "\nufw allow proto tcp from fd00:2::/64 to any port "
	                "8443 comment 'vigil: agents -> hub (HTTPS)'\n");
	assert_has(out, "\nufw allow out proto tcp to 10.5.0.1 port 8443 "
	                "comment 'vigil: agents -> hub (HTTPS)'\n");
	assert_lacks(out, "ufw default");
	free(out);

	shape_proxy(f, "10.0.0.2");
	out = render_ok(&f->m, PORTS_FMT_UFW, PORTS_ROLE_PROXY, NULL, 1);
	assert_has(out, "\nufw allow out to any port 53 comment 'vigil: "
	                "DNS'\n");
	assert_has(out, "\nufw allow out proto tcp to 10.0.0.21 port 2323 "
	                "comment 'vigil: proxy 10.0.0.2 -> Telnet devices "
	                "(insecure)'\n");
	assert_has(out, "\nufw default deny outgoing\n");
	free(out);
	out = render_ok(&f->m, PORTS_FMT_UFW, PORTS_ROLE_DEVICE, NULL, 1);
	assert_has(out, "\nufw allow proto tcp from 10.0.0.2 to any port 23 ");
	assert_int_equal(count(out, "\nufw default deny incoming\n"), 4);
	free(out);
	free(f);
}

/* ---- Windows ---- */

static void
test_windows(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *out;

	(void)state;
	shape_agents(f);
	out = render_ok(&f->m, PORTS_FMT_WINDOWS, PORTS_ROLE_HUB, NULL, 0);
	assert_has(out, "\nNew-NetFirewallRule -DisplayName \"vigil: console "
	                "-> hub (HTTPS)\" -Group \"vigil\" -Direction Inbound "
	                "-Protocol TCP -LocalPort 8443 -Action Allow\n");
	assert_has(out, "\nNew-NetFirewallRule -DisplayName \"vigil: agents "
	                "-> hub (HTTPS)\" -Group \"vigil\" -Direction Inbound "
	                "-Protocol TCP -LocalPort 8443 -RemoteAddress "
	                "\"10.1.0.0/16\",\"10.2.0.5\",\"fd00:2::/64\" "
	                "-Action Allow\n");
	assert_lacks(out, "Set-NetFirewallProfile");
	free(out);
	out = render_ok(&f->m, PORTS_FMT_WINDOWS, PORTS_ROLE_HUB, NULL, 1);
	assert_has(out, "\nSet-NetFirewallProfile -Profile "
	                "Domain,Private,Public -DefaultInboundAction Block\n");
	free(out);

	shape_proxy(f, "10.0.0.2");
	out = render_ok(&f->m, PORTS_FMT_WINDOWS, PORTS_ROLE_PROXY, NULL, 1);
	assert_has(out, "-Direction Outbound -Protocol TCP -RemotePort 2323 "
	                "-RemoteAddress \"10.0.0.21\" -Action Allow\n");
	assert_has(out, "-RemotePort 445 -RemoteAddress "
	                "\"10.0.0.30\",\"fd00::30\" -Action Allow\n");
	assert_has(out, "-Direction Outbound -Protocol UDP -RemotePort 53 ");
	assert_has(out, "\nSet-NetFirewallProfile -Profile "
	                "Domain,Private,Public -DefaultOutboundAction Block\n");
	free(out);
	free(f);
}

/* ---- selection and errors ---- */

static void
test_role_selection(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512], *out = NULL;

	(void)state;
	shape_proxy(f, "10.0.0.2");
	out = render_ok(&f->m, PORTS_FMT_IPTABLES, PORTS_ROLE_PROXY,
	    "10.0.0.2", 0);
	assert_int_equal(count(out, "# ---- role:"), 1);
	assert_has(out, "# ---- role: proxy 10.0.0.2 ----\n");
	free(out);
	out = render_ok(&f->m, PORTS_FMT_IPTABLES, PORTS_ROLE_AGENT, NULL, 0);
	assert_int_equal(count(out, "# ---- role:"), 1);
	assert_has(out, "# ---- role: agent ----\n");
	free(out);

	assert_int_equal(render(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_PROXY,
	    "px9", 0, &out, err, sizeof(err)), VG_ERR_NOTFOUND);
	assert_string_equal(err, "deploy.conf: no proxy 'px9'");
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(render(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_CONSOLE,
	    NULL, 0, &out, err, sizeof(err)), VG_ERR_INVAL);
	free(out);

	shape_hub_only(f);
	assert_int_equal(render(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_PROXY,
	    NULL, 0, &out, err, sizeof(err)), VG_ERR_NOTFOUND);
	assert_string_equal(err, "deploy.conf names no proxy agent");
	free(out);
	assert_int_equal(render(&f->m, PORTS_FMT_UFW, PORTS_ROLE_DEVICE,
	    NULL, 0, &out, err, sizeof(err)), VG_ERR_NOTFOUND);
	assert_string_equal(err, "deploy.conf names no device behind a proxy");
	free(out);
	free(f);
}

/* A name is resolved at render time and kept in the comments; one that
 * does not resolve is an error naming it and its line, and nothing is
 * written. */
static void
test_names(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[512], *out = NULL;

	(void)state;
	shape_proxy(f, "10.0.0.2");
	host(&f->ssh[1], "localhost", 4);
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_PROXY, NULL, 0);
	assert_has(out, "\t\t# localhost: 127.0.0.1");
	assert_has(out, "ip daddr { 10.0.0.7, 127.0.0.1 } tcp dport 22");
	assert_lacks(out, "daddr localhost");
	free(out);
	out = render_ok(&f->m, PORTS_FMT_IPTABLES, PORTS_ROLE_PROXY, NULL, 0);
	assert_has(out, "-d 127.0.0.1 --dport 22 -m comment --comment "
	                "\"vigil: proxy 10.0.0.2 -> SSH devices "
	                "(localhost)\" -j ACCEPT\n");
	free(out);

	host(&f->telnet[0], "rtr1.invalid", 7);
	assert_int_equal(render(&f->m, PORTS_FMT_NFTABLES, -1, NULL, 0, &out,
	    err, sizeof(err)), VG_ERR_NOTFOUND);
	{
		static const char want[] =
		    "deploy.conf:7: rtr1.invalid: name not resolved (";

		if (strncmp(err, want, sizeof(want) - 1) != 0 ||
		    err[strlen(err) - 1] != ')')
			fail_msg("message: %s", err);
	}
	assert_string_equal(out, "");
	free(out);
	/* the table and JSON show names as written: nothing to resolve */
	out = render_ok(&f->m, PORTS_FMT_TABLE, -1, NULL, 0);
	assert_cell(out, 4, "TO", "devices rtr1.invalid");
	free(out);
	free(f);
}

/* Whatever a name holds, comments stay comments and strings strings;
 * something that is no host is refused, not pasted into a rule. */
static void
test_hostile_names(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	static char longname[201];
	char err[512], *out = NULL, *p;

	(void)state;
	shape_proxy(f, "px\"; rm -rf / #'$(id)`\n");
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_PROXY, NULL, 0);
	assert_has(out, "# ---- role: proxy px__ rm -rf / ___(id)__ ----\n");
	assert_has(out, "comment \"vigil: proxy px__ rm -rf / ___(id)__ -> SSH "
	                "devices\"\n");
	free(out);
	out = render_ok(&f->m, PORTS_FMT_UFW, PORTS_ROLE_PROXY, NULL, 0);
	assert_lacks(out, "$(");
	assert_lacks(out, "`");
	assert_int_equal(count(out, "'") % 2, 0);
	free(out);
	/* as a source address it is refused */
	assert_int_equal(render(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_DEVICE,
	    NULL, 0, &out, err, sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "deploy.conf:3: 'px__ rm -rf / ___(id)__': "
	                            "not an address, network or host name"));
	free(out);

	/* a comment never passes nft's 128 characters */
	memset(longname, 'a', 200);
	shape_proxy(f, longname);
	out = render_ok(&f->m, PORTS_FMT_NFTABLES, PORTS_ROLE_PROXY, NULL, 0);
	for (p = strstr(out, "comment \""); p != NULL;
	     p = strstr(p + 1, "comment \"")) {
		size_t l = strcspn(p + 9, "\"");

		assert_true(l <= 128);
	}
	free(out);
	free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_table_hub_only),
		cmocka_unit_test(test_table_agents_8443),
		cmocka_unit_test(test_table_proxy_insecure_telnet),
		cmocka_unit_test(test_table_abbreviates_json_keeps_all),
		cmocka_unit_test(test_json_hub_only),
		cmocka_unit_test(test_json_proxy),
		cmocka_unit_test(test_nft_hub_only),
		cmocka_unit_test(test_nft_agents_ipv6),
		cmocka_unit_test(test_nft_proxy_and_devices),
		cmocka_unit_test(test_nft_device_in_two_flows),
		cmocka_unit_test(test_nft_policy_drop),
		cmocka_unit_test(test_nft_large_set),
		cmocka_unit_test(test_iptables),
		cmocka_unit_test(test_firewalld),
		cmocka_unit_test(test_ufw),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_role_selection),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_hostile_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
