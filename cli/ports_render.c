/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vigil ports: the port matrix as a table or JSON, and the firewall rules
 * that let exactly its flows through, per host role, for nftables,
 * iptables, firewalld, ufw and Windows Firewall.
 *
 * Rules name addresses, never names: a name is resolved here and kept
 * in a comment. Whatever goes into a comment passes safe_text() first,
 * so no host name can end a quoted string or a comment in any of the
 * five languages. The output is built in memory and written to the
 * caller's stream only when complete: an error (a name that does not
 * resolve) leaves nothing half written.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "ports.h"
#include "vg_err.h"

#define TABLE_WIDTH       99   /* the table fits a 100-column terminal */
#define TABLE_HOSTS_SHOWN 3    /* "a, b, c and 12 more" */
#define TEXT_WIDTH        78   /* comment lines and notes */
#define COMMENT_MAX       128  /* nft refuses longer rule comments */
#define SET_PER_LINE      6    /* nft set elements per line */
#define ADDR_MAX          64   /* an address or network as text */
#define NAME_MAX_LEN      253  /* a DNS name */

static const char NOTE[] = "Agents and proxy agents need no inbound port: "
    "they open every connection themselves. The hub opens no connection.";

static const char *const format_names[] = {
	[PORTS_FMT_TABLE] = "table",
	[PORTS_FMT_JSON] = "json",
	[PORTS_FMT_NFTABLES] = "nftables",
	[PORTS_FMT_IPTABLES] = "iptables",
	[PORTS_FMT_FIREWALLD] = "firewalld",
	[PORTS_FMT_UFW] = "ufw",
	[PORTS_FMT_WINDOWS] = "windows",
};

int
ports_format_parse(const char *s, enum ports_format *out)
{
	size_t i;

	if (s == NULL || out == NULL)
		return -1;
	for (i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(s, format_names[i]) == 0) {
			*out = (enum ports_format)i;
			return 0;
		}
	}
	return -1;
}

/* ---- common helpers ---- */

struct render {
	FILE *f;                        /* the memory stream */
	const struct ports_matrix *m;
	const struct ports_render_opts *o;
	const char *source;             /* for messages */
	char *err;
	size_t errlen;
};

static int render_error(struct render *rd, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
render_error(struct render *rd, int code, const char *fmt, ...)
{
	va_list ap;

	if (rd->err != NULL && rd->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(rd->err, rd->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* snprintf for text that may be cut on purpose (comments have a
 * length limit). */
static void cut_format(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cut_format(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/*
 * Copies s to buf (len > 0), keeping only characters that are inert
 * wherever a comment or a name goes: inside nft, shell and PowerShell
 * double quotes, shell single quotes and '#' lines. Others become '_'.
 * Cut to len - 1 bytes.
 */
static void
safe_text(char *buf, size_t len, const char *s)
{
	static const char extra[] = " .-_:/,()>=+[]@";
	size_t i;

	if (len == 0)
		return;
	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != '\0' && strchr(extra, c)))
			buf[i] = (char)c;
		else
			buf[i] = '_';
	}
	buf[i] = '\0';
}

/* Copies s to buf (len > 0) for a terminal: printable ASCII stays,
 * anything else (escape sequences) becomes '?'. */
static void
term_text(char *buf, size_t len, const char *s)
{
	size_t i;

	if (len == 0)
		return;
	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < len; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
}

/* "deploy.conf:7" or "deploy.conf" when the line is unknown. */
static void
where(const struct render *rd, int line, char *buf, size_t len)
{
	if (line > 0)
		snprintf(buf, len, "%s:%d", rd->source, line);
	else
		snprintf(buf, len, "%s", rd->source);
}

/* How the table and the comments name the hosts of a role. */
static const char *
role_title(enum ports_role r)
{
	switch (r) {
	case PORTS_ROLE_HUB: return "hub";
	case PORTS_ROLE_AGENT: return "agents";
	case PORTS_ROLE_PROXY: return "proxy";
	case PORTS_ROLE_CONSOLE: return "console users";
	case PORTS_ROLE_DEVICE: return "devices";
	}
	return "?";
}

/* "vigil: agents -> hub (HTTPS)": a rule's comment, at most
 * COMMENT_MAX characters, safe. */
static void
flow_label(const struct ports_flow *fl, char *buf, size_t len)
{
	char who[COMMENT_MAX + 1], name[COMMENT_MAX + 1];
	const char *what;

	if (fl->from_role == PORTS_ROLE_PROXY && fl->proxy != NULL) {
		safe_text(name, sizeof(name), fl->proxy->name);
		cut_format(who, sizeof(who), "proxy %s", name);
	} else if (fl->from_role == PORTS_ROLE_CONSOLE) {
		snprintf(who, sizeof(who), "console");
	} else {
		snprintf(who, sizeof(who), "%s", role_title(fl->from_role));
	}
	if (fl->to_role == PORTS_ROLE_HUB)
		what = "hub (HTTPS)";
	else if (fl->service == PORTS_SSH)
		what = "SSH devices";
	else if (fl->service == PORTS_TELNET)
		what = "Telnet devices (insecure)";
	else if (fl->service == PORTS_SMB)
		what = "Windows hosts (SMB)";
	else
		what = role_title(fl->to_role);
	if (len > COMMENT_MAX + 1)
		len = COMMENT_MAX + 1;
	cut_format(buf, len, "vigil: %s -> %s", who, what);
}

/*
 * Writes "prefix a, b, c" to f as lines of at most width columns, the
 * lines after the first starting with cont. Items are made safe.
 */
static void
write_list(FILE *f, const char *prefix, const char *cont,
    const char *const *items, size_t n, size_t width)
{
	char item[NAME_MAX_LEN + 1];
	size_t i, col;

	fputs(prefix, f);
	col = strlen(prefix);
	for (i = 0; i < n; i++) {
		size_t l;

		safe_text(item, sizeof(item), items[i]);
		l = strlen(item) + (i + 1 < n ? 1 : 0);
		if (i > 0 && col + 1 + l > width) {
			fprintf(f, "\n%s", cont);
			col = strlen(cont);
		} else if (i > 0) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%s%s", item, i + 1 < n ? "," : "");
		col += l;
	}
	fputc('\n', f);
}

/*
 * The next line of at most width columns of s, from *pos: its start
 * and length. Breaks at blanks; a word longer than width is cut.
 * Returns 0 when nothing is left.
 */
static int
wrap_next(const char *s, size_t *pos, size_t width, size_t *start,
    size_t *len)
{
	size_t p = *pos, i, cut;

	while (s[p] == ' ')
		p++;
	if (s[p] == '\0') {
		*pos = p;
		return 0;
	}
	cut = p;
	for (i = p; s[i] != '\0' && i - p < width; i++)
		if (s[i] == ' ')
			cut = i;
	if (s[i] == '\0' || s[i] == ' ' || cut == p)
		cut = i;
	*start = p;
	*len = cut - p;
	*pos = cut;
	return 1;
}

/* Writes s wrapped to width, lines after the first indented. */
static void
write_wrapped(FILE *f, const char *s, size_t width, const char *indent)
{
	size_t pos = 0, start, len, w = width;
	int first = 1;

	while (wrap_next(s, &pos, w, &start, &len)) {
		fprintf(f, "%s%.*s\n", first ? "" : indent, (int)len, s + start);
		if (first)
			w = width > strlen(indent) + 10 ? width - strlen(indent)
			                                 : 10;
		first = 0;
	}
}

/* ---- addresses: hosts as written, names resolved ---- */

struct addr {
	char text[ADDR_MAX];
	int v6;
	const char *name;    /* the name it was resolved from, or NULL */
};

struct addrs {
	struct addr *v;
	size_t n, cap;
	int any;             /* no address match: any source or destination */
};

static int
addrs_push(struct addrs *a, const char *text, int v6, const char *name)
{
	if (strlen(text) >= ADDR_MAX)
		return VG_ERR_INVAL;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct addr *v = realloc(a->v, cap * sizeof(*v));

		if (v == NULL)
			return VG_ERR_NOMEM;
		a->v = v;
		a->cap = cap;
	}
	snprintf(a->v[a->n].text, ADDR_MAX, "%s", text);
	a->v[a->n].v6 = v6;
	a->v[a->n].name = name;
	a->n++;
	return 0;
}

static int
addr_ptr_cmp(const void *x, const void *y)
{
	const struct addr *a = *(const struct addr *const *)x;
	const struct addr *b = *(const struct addr *const *)y;
	int c = strcmp(a->text, b->text);

	if (c != 0)
		return c;
	return a < b ? -1 : a > b;
}

/* Drops repeated addresses, keeping the first of each, in order. */
static int
addrs_dedupe(struct addrs *a)
{
	struct addr **p;
	char *dup;
	size_t i, j;

	if (a->n < 2)
		return 0;
	p = malloc(a->n * sizeof(*p));
	dup = calloc(a->n, 1);
	if (p == NULL || dup == NULL) {
		free(p);
		free(dup);
		return VG_ERR_NOMEM;
	}
	for (i = 0; i < a->n; i++)
		p[i] = &a->v[i];
	/* equal texts sort by position: the first stays */
	qsort(p, a->n, sizeof(*p), addr_ptr_cmp);
	for (i = 1; i < a->n; i++)
		if (strcmp(p[i]->text, p[i - 1]->text) == 0)
			dup[p[i] - a->v] = 1;
	for (i = j = 0; i < a->n; i++) {
		if (dup[i])
			continue;
		if (i != j)
			a->v[j] = a->v[i];
		j++;
	}
	a->n = j;
	free(p);
	free(dup);
	return 0;
}

enum host_kind { HOST_ADDR, HOST_NET, HOST_NAME, HOST_BAD };

/* What a host as written is: an address, a network with a prefix
 * length, a DNS name, or none of them. */
static enum host_kind
host_kind(const char *s, int *v6)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char part[ADDR_MAX];
	const char *slash = strchr(s, '/');
	size_t i, n = strlen(s);

	*v6 = strchr(s, ':') != NULL;
	if (slash != NULL) {
		size_t al = (size_t)(slash - s), pl = n - al - 1;
		long prefix = 0;

		if (al == 0 || al >= sizeof(part) || pl == 0 || pl > 3)
			return HOST_BAD;
		memcpy(part, s, al);
		part[al] = '\0';
		for (i = 0; i < pl; i++) {
			if (slash[1 + i] < '0' || slash[1 + i] > '9')
				return HOST_BAD;
			prefix = prefix * 10 + (slash[1 + i] - '0');
		}
		if (inet_pton(*v6 ? AF_INET6 : AF_INET, part, bin) != 1 ||
		    prefix > (*v6 ? 128 : 32))
			return HOST_BAD;
		return HOST_NET;
	}
	if (inet_pton(*v6 ? AF_INET6 : AF_INET, s, bin) == 1)
		return HOST_ADDR;
	if (*v6 || n == 0 || n > NAME_MAX_LEN)
		return HOST_BAD;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return HOST_BAD;
	}
	return HOST_NAME;
}

/* Adds the addresses name resolves to (both families) to a. */
static int
resolve_name(struct render *rd, const struct ports_host *h, struct addrs *a)
{
	struct addrinfo hints, *res = NULL, *ai;
	char text[INET6_ADDRSTRLEN], loc[512], ebuf[128];
	size_t before = a->n;
	int r, gai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(h->text, NULL, &hints, &res)) != 0) {
		where(rd, h->line, loc, sizeof(loc));
		return render_error(rd, VG_ERR_NOTFOUND,
		    "%s: %s: name not resolved (%s)", loc, h->text,
		    gai == EAI_SYSTEM ? strerror_r(errno, ebuf, sizeof(ebuf)) :
		    gai_strerror(gai));
	}
	r = 0;
	for (ai = res; ai != NULL && r == 0; ai = ai->ai_next) {
		const void *bin;

		if (ai->ai_family == AF_INET)
			bin = &((const struct sockaddr_in *)(const void *)
			    ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			bin = &((const struct sockaddr_in6 *)(const void *)
			    ai->ai_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(ai->ai_family, bin, text, sizeof(text)) == NULL)
			continue;
		r = addrs_push(a, text, ai->ai_family == AF_INET6, h->text);
	}
	freeaddrinfo(res);
	if (r != 0)
		return render_error(rd, r, "out of memory");
	/* A rule without an address would match any: never written. */
	if (a->n == before) {
		where(rd, h->line, loc, sizeof(loc));
		return render_error(rd, VG_ERR_NOTFOUND, "%s: %s: name not "
		    "resolved (no IPv4 or IPv6 address)", loc, h->text);
	}
	return 0;
}

/* The addresses a rule matches for hosts: as written, names resolved,
 * no repeats; any set when the list is empty or says "any". */
static int
peers(struct render *rd, const struct ports_hosts *hosts, struct addrs *a)
{
	char loc[512], text[NAME_MAX_LEN + 1];
	size_t i;
	int r, v6;

	a->n = 0;
	a->any = 0;
	for (i = 0; i < hosts->n; i++) {
		if (strcasecmp(hosts->v[i].text, "any") == 0) {
			a->n = 0;
			break;
		}
	}
	if (hosts->n == 0 || i < hosts->n) {
		a->any = 1;
		return 0;
	}
	for (i = 0; i < hosts->n; i++) {
		const struct ports_host *h = &hosts->v[i];

		switch (host_kind(h->text, &v6)) {
		case HOST_ADDR:
		case HOST_NET:
			if (addrs_push(a, h->text, v6, NULL) != 0)
				return render_error(rd, VG_ERR_NOMEM,
				    "out of memory");
			break;
		case HOST_NAME:
			if ((r = resolve_name(rd, h, a)) != 0)
				return r;
			break;
		case HOST_BAD:
		default:
			where(rd, h->line, loc, sizeof(loc));
			safe_text(text, sizeof(text), h->text);
			return render_error(rd, VG_ERR_INVAL,
			    "%s: '%s': not an address, network or host name",
			    loc, text);
		}
	}
	if (addrs_dedupe(a) != 0)
		return render_error(rd, VG_ERR_NOMEM, "out of memory");
	return 0;
}

/* "# rtr1.example.net: 10.0.0.7, fd00::7" for each name in a, so the
 * rules that hold only addresses still say where they came from. */
static void
write_names(FILE *f, const char *indent, const struct addrs *a)
{
	char name[NAME_MAX_LEN + 1];
	size_t i, j;

	for (i = 0; i < a->n; i = j) {
		if (a->v[i].name == NULL) {
			j = i + 1;
			continue;
		}
		safe_text(name, sizeof(name), a->v[i].name);
		fprintf(f, "%s# %s:", indent, name);
		for (j = i; j < a->n && a->v[j].name == a->v[i].name; j++)
			fprintf(f, "%s %s", j > i ? "," : "", a->v[j].text);
		fputc('\n', f);
	}
}

/* The rule comment for one address of a: the flow's label, and the
 * name the address came from. */
static void
addr_comment(const char *label, const struct addr *ad, char *buf,
    size_t len)
{
	char name[NAME_MAX_LEN + 1];

	if (ad == NULL || ad->name == NULL) {
		snprintf(buf, len, "%s", label);
		return;
	}
	safe_text(name, sizeof(name), ad->name);
	if (len > COMMENT_MAX + 1)
		len = COMMENT_MAX + 1;
	cut_format(buf, len, "%s (%s)", label, name);
}

/* ---- sections: the rules of one host role ---- */

struct section {
	enum ports_role role;
	const char *proxy;              /* PORTS_ROLE_PROXY: its name */
	int inbound;                    /* input (hub, device) or output */
	const struct ports_flow **flows;
	size_t nflows;
	const char *const *hosts;       /* the hosts it is for; n 0: any */
	size_t nhosts;
};

struct rules_ops {
	const char *shebang;            /* NULL: none */
	const char *indent;             /* of a comment among the rules */
	void (*begin)(struct render *, const struct section *);
	void (*rule)(struct render *, const struct section *,
	    const struct ports_flow *, const struct addrs *);
	void (*end)(struct render *, const struct section *);
};

static void
section_header(struct render *rd, const struct section *s)
{
	FILE *f = rd->f;
	char name[NAME_MAX_LEN + 1];
	size_t i;

	if (s->role == PORTS_ROLE_PROXY || s->role == PORTS_ROLE_HUB) {
		safe_text(name, sizeof(name),
		    s->role == PORTS_ROLE_PROXY ? s->proxy : rd->m->d->hub_host);
		fprintf(f, "# ---- role: %s %s ----\n",
		    ports_role_name(s->role), name);
	} else {
		fprintf(f, "# ---- role: %s ----\n", ports_role_name(s->role));
		if (s->nhosts == 0)
			fprintf(f, "# for: every %s host\n",
			    ports_role_name(s->role));
		else
			write_list(f, "# for: ", "#      ", s->hosts, s->nhosts,
			    TEXT_WIDTH);
	}
	for (i = 0; s->role == PORTS_ROLE_DEVICE && i < s->nflows; i++) {
		const struct ports_flow *fl = s->flows[i];

		safe_text(name, sizeof(name), fl->proxy ? fl->proxy->name : "?");
		fprintf(f, "# %s on %d/tcp from proxy %s%s\n",
		    ports_service_title(fl->service), fl->port, name,
		    fl->insecure ? " (INSECURE)" : "");
	}
	fprintf(f, "# %s connections %s this host\n",
	    s->inbound ? "inbound" : "outbound", s->inbound ? "to" : "from");
	if (rd->o->policy_drop && s->inbound)
		fputs("# --policy drop: every other inbound connection is "
		      "refused, SSH to this host\n# too: add the rules you "
		      "need to reach it before loading these.\n", f);
	else if (rd->o->policy_drop)
		fputs("# --policy drop: every other outbound connection is "
		      "refused (DNS stays open).\n", f);
}

/* -- nftables -- */

static const char *
nft_table(const struct section *s)
{
	return s->role == PORTS_ROLE_HUB     ? "vigil_hub"
	       : s->role == PORTS_ROLE_AGENT ? "vigil_agent"
	       : s->role == PORTS_ROLE_PROXY ? "vigil_proxy"
	                                     : "vigil_device";
}

static void
nft_begin(struct render *rd, const struct section *s)
{
	FILE *f = rd->f;
	const char *t = nft_table(s);

	section_header(rd, s);
	fprintf(f, "table inet %s {}\nflush table inet %s\n", t, t);
	fprintf(f, "table inet %s {\n\tchain %s {\n", t,
	    s->inbound ? "input" : "output");
	fprintf(f, "\t\ttype filter hook %s priority filter; policy %s;\n",
	    s->inbound ? "input" : "output",
	    rd->o->policy_drop ? "drop" : "accept");
	if (!rd->o->policy_drop)
		return;
	fprintf(f, "\t\tct state established,related accept\n"
	           "\t\tct state invalid drop\n"
	           "\t\t%s \"lo\" accept\n"
	           "\t\tmeta l4proto { icmp, ipv6-icmp } accept\n",
	    s->inbound ? "iif" : "oif");
	if (!s->inbound)
		fputs("\t\tudp dport 53 accept comment \"vigil: DNS\"\n"
		      "\t\ttcp dport 53 accept comment \"vigil: DNS\"\n", f);
}

static void
nft_rule(struct render *rd, const struct section *s,
    const struct ports_flow *fl, const struct addrs *a)
{
	FILE *f = rd->f;
	char label[COMMENT_MAX + 1];
	size_t i, k;
	int v6;

	flow_label(fl, label, sizeof(label));
	if (a->any) {
		fprintf(f, "\t\ttcp dport %d accept comment \"%s\"\n",
		    fl->port, label);
		return;
	}
	write_names(f, "\t\t", a);
	for (v6 = 0; v6 <= 1; v6++) {
		size_t count = 0;

		for (i = 0; i < a->n; i++)
			count += a->v[i].v6 == v6;
		if (count == 0)
			continue;
		fprintf(f, "\t\t%s %s ", v6 ? "ip6" : "ip",
		    s->inbound ? "saddr" : "daddr");
		if (count > 1)
			fputs("{ ", f);
		for (i = k = 0; i < a->n; i++) {
			if (a->v[i].v6 != v6)
				continue;
			if (k > 0)
				fputs(k % SET_PER_LINE ? ", " : ",\n\t\t\t", f);
			fputs(a->v[i].text, f);
			k++;
		}
		fprintf(f, "%s tcp dport %d accept comment \"%s\"\n",
		    count > 1 ? " }" : "", fl->port, label);
	}
}

static void
nft_end(struct render *rd, const struct section *s)
{
	(void)s;
	fputs("\t}\n}\n", rd->f);
}

/* -- iptables -- */

static const char *const ipt_cmd[2] = { "iptables", "ip6tables" };

static void
ipt_begin(struct render *rd, const struct section *s)
{
	FILE *f = rd->f;
	const char *chain = s->inbound ? "INPUT" : "OUTPUT";
	int v6;

	section_header(rd, s);
	if (!rd->o->policy_drop)
		return;
	for (v6 = 0; v6 <= 1; v6++) {
		fprintf(f, "%s -A %s -%c lo -j ACCEPT\n", ipt_cmd[v6], chain,
		    s->inbound ? 'i' : 'o');
		fprintf(f, "%s -A %s -m conntrack --ctstate "
		           "ESTABLISHED,RELATED -j ACCEPT\n", ipt_cmd[v6], chain);
		fprintf(f, "%s -A %s -p %s -j ACCEPT\n", ipt_cmd[v6], chain,
		    v6 ? "ipv6-icmp" : "icmp");
		if (s->inbound)
			continue;
		fprintf(f, "%s -A OUTPUT -p udp --dport 53 -m comment "
		           "--comment \"vigil: DNS\" -j ACCEPT\n", ipt_cmd[v6]);
		fprintf(f, "%s -A OUTPUT -p tcp --dport 53 -m comment "
		           "--comment \"vigil: DNS\" -j ACCEPT\n", ipt_cmd[v6]);
	}
}

static void
ipt_rule(struct render *rd, const struct section *s,
    const struct ports_flow *fl, const struct addrs *a)
{
	FILE *f = rd->f;
	const char *chain = s->inbound ? "INPUT" : "OUTPUT";
	char label[COMMENT_MAX + 1], comment[COMMENT_MAX + 1];
	size_t i;
	int v6;

	flow_label(fl, label, sizeof(label));
	if (a->any) {
		for (v6 = 0; v6 <= 1; v6++)
			fprintf(f, "%s -A %s -p tcp --dport %d -m comment "
			           "--comment \"%s\" -j ACCEPT\n",
			    ipt_cmd[v6], chain, fl->port, label);
		return;
	}
	for (i = 0; i < a->n; i++) {
		addr_comment(label, &a->v[i], comment, sizeof(comment));
		fprintf(f, "%s -A %s -p tcp -%c %s --dport %d -m comment "
		           "--comment \"%s\" -j ACCEPT\n",
		    ipt_cmd[a->v[i].v6], chain, s->inbound ? 's' : 'd',
		    a->v[i].text, fl->port, comment);
	}
}

static void
ipt_end(struct render *rd, const struct section *s)
{
	int v6;

	if (!rd->o->policy_drop)
		return;
	for (v6 = 0; v6 <= 1; v6++)
		fprintf(rd->f, "%s -P %s DROP\n", ipt_cmd[v6],
		    s->inbound ? "INPUT" : "OUTPUT");
}

/* -- ufw -- */

static void
ufw_begin(struct render *rd, const struct section *s)
{
	section_header(rd, s);
	if (rd->o->policy_drop && !s->inbound)
		fputs("ufw allow out to any port 53 comment 'vigil: DNS'\n",
		    rd->f);
}

static void
ufw_rule(struct render *rd, const struct section *s,
    const struct ports_flow *fl, const struct addrs *a)
{
	FILE *f = rd->f;
	char label[COMMENT_MAX + 1], comment[COMMENT_MAX + 1];
	size_t i;

	flow_label(fl, label, sizeof(label));
	for (i = 0; i < (a->any ? 1 : a->n); i++) {
		const char *addr = a->any ? "any" : a->v[i].text;

		addr_comment(label, a->any ? NULL : &a->v[i], comment,
		    sizeof(comment));
		if (s->inbound)
			fprintf(f, "ufw allow proto tcp from %s to any port %d "
			           "comment '%s'\n", addr, fl->port, comment);
		else
			fprintf(f, "ufw allow out proto tcp to %s port %d "
			           "comment '%s'\n", addr, fl->port, comment);
	}
}

static void
ufw_end(struct render *rd, const struct section *s)
{
	if (rd->o->policy_drop)
		fprintf(rd->f, "ufw default deny %s\n",
		    s->inbound ? "incoming" : "outgoing");
	fputs("# when ufw is not active yet: ufw enable\n", rd->f);
}

/* -- firewalld -- */

/* Outbound rules go to a policy object from the HOST zone: zones only
 * filter what comes in. */
static void
fwd_policy(const struct section *s, char *buf, size_t len)
{
	snprintf(buf, len, "vigil-%s-out", ports_role_name(s->role));
}

static void
fwd_begin(struct render *rd, const struct section *s)
{
	FILE *f = rd->f;
	char pol[32];

	section_header(rd, s);
	if (s->inbound) {
		fputs("# in the default zone (add --zone=ZONE for another)\n",
		    f);
		if (rd->o->policy_drop)
			fputs("# --policy drop: firewalld zones already reject "
			      "inbound connections they do\n# not allow; check "
			      "what else the zone allows: firewall-cmd "
			      "--list-all\n", f);
		return;
	}
	fwd_policy(s, pol, sizeof(pol));
	fprintf(f, "firewall-cmd --permanent --delete-policy=%s "
	           "2>/dev/null || true\n", pol);
	fprintf(f, "firewall-cmd --permanent --new-policy=%s\n", pol);
	fprintf(f, "firewall-cmd --permanent --policy=%s "
	           "--add-ingress-zone=HOST\n", pol);
	fprintf(f, "firewall-cmd --permanent --policy=%s "
	           "--add-egress-zone=ANY\n", pol);
	fprintf(f, "firewall-cmd --permanent --policy=%s --set-target=%s\n",
	    pol, rd->o->policy_drop ? "REJECT" : "CONTINUE");
	if (!rd->o->policy_drop)
		return;
	fprintf(f, "firewall-cmd --permanent --policy=%s --add-service=dns\n",
	    pol);
	fprintf(f, "firewall-cmd --permanent --policy=%s --add-protocol=icmp\n",
	    pol);
	fprintf(f, "firewall-cmd --permanent --policy=%s "
	           "--add-protocol=ipv6-icmp\n", pol);
}

static void
fwd_rule(struct render *rd, const struct section *s,
    const struct ports_flow *fl, const struct addrs *a)
{
	FILE *f = rd->f;
	char label[COMMENT_MAX + 1], pol[48] = "";
	size_t i;

	if (!s->inbound) {
		char name[32];

		fwd_policy(s, name, sizeof(name));
		snprintf(pol, sizeof(pol), " --policy=%s", name);
	}
	flow_label(fl, label, sizeof(label));
	fprintf(f, "# %s\n", label);
	if (a->any) {
		fprintf(f, "firewall-cmd --permanent%s --add-port=%d/tcp\n",
		    pol, fl->port);
		return;
	}
	write_names(f, "", a);
	for (i = 0; i < a->n; i++)
		fprintf(f, "firewall-cmd --permanent%s --add-rich-rule='rule "
		           "family=\"%s\" %s address=\"%s\" port port=\"%d\" "
		           "protocol=\"tcp\" accept'\n",
		    pol, a->v[i].v6 ? "ipv6" : "ipv4",
		    s->inbound ? "source" : "destination", a->v[i].text,
		    fl->port);
}

static void
fwd_end(struct render *rd, const struct section *s)
{
	(void)s;
	fputs("firewall-cmd --reload\n", rd->f);
}

/* -- Windows Firewall (PowerShell) -- */

static void
win_begin(struct render *rd, const struct section *s)
{
	section_header(rd, s);
	if (!rd->o->policy_drop || s->inbound)
		return;
	fputs("New-NetFirewallRule -DisplayName \"vigil: DNS\" -Group "
	      "\"vigil\" -Direction Outbound -Protocol UDP -RemotePort 53 "
	      "-Action Allow\n"
	      "New-NetFirewallRule -DisplayName \"vigil: DNS\" -Group "
	      "\"vigil\" -Direction Outbound -Protocol TCP -RemotePort 53 "
	      "-Action Allow\n", rd->f);
}

static void
win_rule(struct render *rd, const struct section *s,
    const struct ports_flow *fl, const struct addrs *a)
{
	FILE *f = rd->f;
	char label[COMMENT_MAX + 1];
	size_t i;

	flow_label(fl, label, sizeof(label));
	write_names(f, "", a);
	fprintf(f, "New-NetFirewallRule -DisplayName \"%s\" -Group \"vigil\" "
	           "-Direction %s -Protocol TCP -%s %d",
	    label, s->inbound ? "Inbound" : "Outbound",
	    s->inbound ? "LocalPort" : "RemotePort", fl->port);
	if (!a->any) {
		fputs(" -RemoteAddress ", f);
		for (i = 0; i < a->n; i++)
			fprintf(f, "%s\"%s\"", i ? "," : "", a->v[i].text);
	}
	fputs(" -Action Allow\n", f);
}

static void
win_end(struct render *rd, const struct section *s)
{
	if (rd->o->policy_drop)
		fprintf(rd->f, "Set-NetFirewallProfile -Profile "
		               "Domain,Private,Public -Default%sAction Block\n",
		    s->inbound ? "Inbound" : "Outbound");
}

static const struct rules_ops nft_ops = {
	"#!/usr/sbin/nft -f", "\t\t", nft_begin, nft_rule, nft_end
};
static const struct rules_ops ipt_ops = {
	"#!/bin/sh", "", ipt_begin, ipt_rule, ipt_end
};
static const struct rules_ops fwd_ops = {
	"#!/bin/sh", "", fwd_begin, fwd_rule, fwd_end
};
static const struct rules_ops ufw_ops = {
	"#!/bin/sh", "", ufw_begin, ufw_rule, ufw_end
};
static const struct rules_ops win_ops = {
	NULL, "", win_begin, win_rule, win_end
};

static int
emit_section(struct render *rd, const struct rules_ops *ops,
    const struct section *s, int *first)
{
	struct addrs a = { NULL, 0, 0, 0 };
	char label[COMMENT_MAX + 1];
	size_t i, j;
	int r = 0;

	if (!*first)
		fputc('\n', rd->f);
	*first = 0;
	ops->begin(rd, s);
	for (i = 0; i < s->nflows; i++) {
		const struct ports_flow *fl = s->flows[i];

		if ((r = peers(rd, s->inbound ? &fl->from : &fl->to, &a)) != 0)
			goto out;
		/* console and agents both from anywhere: one rule is enough
		 * (firewalld and ufw complain about the second) */
		for (j = 0; a.any && j < i; j++)
			if (s->flows[j]->port == fl->port &&
			    (s->inbound ? s->flows[j]->from.n
			                : s->flows[j]->to.n) == 0)
				break;
		if (a.any && j < i) {
			flow_label(fl, label, sizeof(label));
			fprintf(rd->f, "%s# %s: open to any %s by the rule "
			               "above\n", ops->indent, label,
			    s->inbound ? "source" : "destination");
			continue;
		}
		ops->rule(rd, s, fl, &a);
	}
	ops->end(rd, s);
out:
	free(a.v);
	return r;
}

static int
same_proxy(const struct ports_flow *fl, const struct ports_proxy *p)
{
	return fl->proxy == p || (fl->proxy != NULL && p != NULL &&
	    fl->proxy->name != NULL && p->name != NULL &&
	    strcmp(fl->proxy->name, p->name) == 0);
}

static int
is_device_flow(const struct ports_flow *fl, const struct ports_proxy *only)
{
	return fl->from_role == PORTS_ROLE_PROXY &&
	    fl->to_role == PORTS_ROLE_DEVICE &&
	    (only == NULL || same_proxy(fl, only));
}

/* The flows of the matrix that match: to the hub (hub), from the agents
 * (agent, proxy), from proxy p to its devices (proxy). */
static size_t
pick_flows(const struct ports_matrix *m, enum ports_role role,
    const struct ports_proxy *p, const struct ports_flow **out)
{
	size_t i, n = 0;

	for (i = 0; i < m->n; i++) {
		const struct ports_flow *fl = &m->v[i];
		int take;

		if (role == PORTS_ROLE_HUB)
			take = fl->to_role == PORTS_ROLE_HUB;
		else if (role == PORTS_ROLE_AGENT)
			take = fl->from_role == PORTS_ROLE_AGENT;
		else
			take = fl->from_role == PORTS_ROLE_AGENT ||
			    is_device_flow(fl, p);
		if (take)
			out[n++] = fl;
	}
	return n;
}

static int
emit_role(struct render *rd, const struct rules_ops *ops,
    enum ports_role role, const struct ports_proxy *p, int *first)
{
	const struct ports_deploy *d = rd->m->d;
	const struct ports_flow **flows;
	const char **hosts = NULL;
	struct section s;
	size_t i;
	int r;

	if ((flows = calloc(rd->m->n + 1, sizeof(*flows))) == NULL)
		return render_error(rd, VG_ERR_NOMEM, "out of memory");
	memset(&s, 0, sizeof(s));
	s.role = role;
	s.flows = flows;
	s.nflows = pick_flows(rd->m, role, p, flows);
	s.inbound = role == PORTS_ROLE_HUB;
	if (role == PORTS_ROLE_HUB) {
		s.hosts = (const char *const *)&d->hub_host;
		s.nhosts = 1;
	} else if (role == PORTS_ROLE_PROXY) {
		s.proxy = p->name;
		s.hosts = (const char *const *)&p->name;
		s.nhosts = 1;
	} else if (d->agents.n > 0) {
		hosts = calloc(d->agents.n, sizeof(*hosts));
		if (hosts == NULL) {
			free(flows);
			return render_error(rd, VG_ERR_NOMEM, "out of memory");
		}
		for (i = 0; i < d->agents.n; i++)
			hosts[i] = d->agents.v[i].text;
		s.hosts = hosts;
		s.nhosts = d->agents.n;
	}
	r = emit_section(rd, ops, &s, first);
	free(hosts);
	free(flows);
	return r;
}

/* ---- device sections: hosts grouped by the flows that reach them ---- */

struct dev_pair {
	const char *text;
	size_t flow;        /* index in the selected device flows */
	size_t order;       /* where it was written */
};

struct dev {
	const char *text;
	size_t order;
	const size_t *sig;  /* the flows that reach it, ascending */
	size_t nsig;
};

static int
dev_pair_cmp(const void *x, const void *y)
{
	const struct dev_pair *a = x, *b = y;
	int c = strcmp(a->text, b->text);

	if (c != 0)
		return c;
	if (a->flow != b->flow)
		return a->flow < b->flow ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static int
dev_sig_cmp(const struct dev *a, const struct dev *b)
{
	size_t i;

	for (i = 0; i < a->nsig && i < b->nsig; i++)
		if (a->sig[i] != b->sig[i])
			return a->sig[i] < b->sig[i] ? -1 : 1;
	return a->nsig < b->nsig ? -1 : a->nsig > b->nsig;
}

static int
dev_cmp(const void *x, const void *y)
{
	const struct dev *a = x, *b = y;
	int c = dev_sig_cmp(a, b);

	if (c != 0)
		return c;
	return a->order < b->order ? -1 : a->order > b->order;
}

/*
 * One section per set of devices that the same flows reach, so that a
 * device named under SSH and under SMB gets both rules in one loadable
 * set, and a thousand switches behind one proxy share one section.
 */
static int
emit_devices(struct render *rd, const struct rules_ops *ops,
    const struct ports_proxy *only, int *first)
{
	const struct ports_matrix *m = rd->m;
	const struct ports_flow **sel = NULL, **flows = NULL;
	struct dev_pair *pairs = NULL;
	struct dev *devs = NULL;
	const char **hosts = NULL;
	size_t *sigs = NULL;
	size_t i, j, k, nsel = 0, npairs = 0, ndevs = 0, nsigs = 0;
	int r = VG_ERR_NOMEM;

	if ((sel = calloc(m->n + 1, sizeof(*sel))) == NULL)
		goto out;
	for (i = 0; i < m->n; i++) {
		if (is_device_flow(&m->v[i], only)) {
			sel[nsel++] = &m->v[i];
			npairs += m->v[i].to.n;
		}
	}
	if (npairs == 0) {
		r = 0;
		goto out;
	}
	pairs = calloc(npairs, sizeof(*pairs));
	devs = calloc(npairs, sizeof(*devs));
	sigs = calloc(npairs, sizeof(*sigs));
	hosts = calloc(npairs, sizeof(*hosts));
	flows = calloc(nsel, sizeof(*flows));
	if (!pairs || !devs || !sigs || !hosts || !flows)
		goto out;
	for (i = k = 0; i < nsel; i++)
		for (j = 0; j < sel[i]->to.n; j++, k++)
			pairs[k] = (struct dev_pair){ sel[i]->to.v[j].text, i,
				k };
	qsort(pairs, npairs, sizeof(*pairs), dev_pair_cmp);
	for (i = 0; i < npairs; i = j) {
		struct dev *dv = &devs[ndevs++];

		dv->text = pairs[i].text;
		dv->order = pairs[i].order;
		dv->sig = &sigs[nsigs];
		for (j = i; j < npairs &&
		     strcmp(pairs[j].text, pairs[i].text) == 0; j++) {
			if (pairs[j].order < dv->order)
				dv->order = pairs[j].order;
			if (dv->nsig == 0 ||
			    dv->sig[dv->nsig - 1] != pairs[j].flow) {
				sigs[nsigs++] = pairs[j].flow;
				dv->nsig++;
			}
		}
	}
	qsort(devs, ndevs, sizeof(*devs), dev_cmp);
	r = 0;
	for (i = 0; i < ndevs && r == 0; i = j) {
		struct section s;

		for (j = i; j < ndevs && dev_sig_cmp(&devs[i], &devs[j]) == 0;
		     j++)
			hosts[j - i] = devs[j].text;
		for (k = 0; k < devs[i].nsig; k++)
			flows[k] = sel[devs[i].sig[k]];
		memset(&s, 0, sizeof(s));
		s.role = PORTS_ROLE_DEVICE;
		s.inbound = 1;
		s.flows = flows;
		s.nflows = devs[i].nsig;
		s.hosts = hosts;
		s.nhosts = j - i;
		r = emit_section(rd, ops, &s, first);
	}
out:
	if (r == VG_ERR_NOMEM)
		render_error(rd, r, "out of memory");
	free(sel);
	free(flows);
	free(pairs);
	free(devs);
	free(sigs);
	free(hosts);
	return r;
}

static int
has_flow(const struct ports_matrix *m, enum ports_role role,
    const struct ports_proxy *only)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		const struct ports_flow *fl = &m->v[i];

		if ((role == PORTS_ROLE_HUB && fl->to_role == PORTS_ROLE_HUB) ||
		    (role == PORTS_ROLE_AGENT &&
		        fl->from_role == PORTS_ROLE_AGENT) ||
		    (role == PORTS_ROLE_DEVICE && is_device_flow(fl, only)))
			return 1;
	}
	return 0;
}

/* Checks the role and proxy asked for; *only: the one proxy, or NULL. */
static int
check_selection(struct render *rd, const struct ports_proxy **only)
{
	const struct ports_deploy *d = rd->m->d;
	const struct ports_render_opts *o = rd->o;
	char name[NAME_MAX_LEN + 1];

	*only = NULL;
	if (o->role < -1 || o->role > PORTS_ROLE_DEVICE)
		return render_error(rd, VG_ERR_INVAL, "unknown role %d",
		    o->role);
	if (o->role == PORTS_ROLE_CONSOLE)
		return render_error(rd, VG_ERR_INVAL,
		    "console users' machines need no rule of their own: "
		    "their browsers connect out to the hub");
	if (o->proxy != NULL) {
		if ((*only = ports_proxy_find(d, o->proxy)) == NULL) {
			safe_text(name, sizeof(name), o->proxy);
			return render_error(rd, VG_ERR_NOTFOUND,
			    "%s: no proxy '%s'%s", rd->source, name,
			    d->nproxies ? "" : " (it names no proxy)");
		}
	}
	if (o->role == PORTS_ROLE_PROXY && d->nproxies == 0)
		return render_error(rd, VG_ERR_NOTFOUND,
		    "%s names no proxy agent", rd->source);
	if (o->role == PORTS_ROLE_DEVICE &&
	    !has_flow(rd->m, PORTS_ROLE_DEVICE, *only)) {
		if (*only == NULL)
			return render_error(rd, VG_ERR_NOTFOUND,
			    "%s names no device behind a proxy", rd->source);
		safe_text(name, sizeof(name), o->proxy);
		return render_error(rd, VG_ERR_NOTFOUND,
		    "%s names no device behind proxy %s", rd->source, name);
	}
	if ((o->role == PORTS_ROLE_HUB || o->role == PORTS_ROLE_AGENT) &&
	    !has_flow(rd->m, (enum ports_role)o->role, NULL))
		return render_error(rd, VG_ERR_NOTFOUND,
		    "%s: no flow for the %s", rd->source,
		    ports_role_name((enum ports_role)o->role));
	return 0;
}

/* Whether "every role" shows the agent section: not when the proxies
 * are the only agents, as their own sections cover them. */
static int
agent_section_wanted(const struct ports_deploy *d)
{
	return d->agents.n > 0 || !d->agents_known || d->nproxies == 0;
}

static int
render_rules(struct render *rd, const struct rules_ops *ops)
{
	const struct ports_deploy *d = rd->m->d;
	const struct ports_proxy *only;
	char hub[NAME_MAX_LEN + 1];
	int role = rd->o->role, first = 1, r;
	size_t i;

	if ((r = check_selection(rd, &only)) != 0)
		return r;
	if (ops->shebang != NULL)
		fprintf(rd->f, "%s\n", ops->shebang);
	safe_text(hub, sizeof(hub), d->hub_host);
	fprintf(rd->f, "# vigil ports --format %s --policy %s: hub %s, "
	               "port %d/tcp\n", format_names[rd->o->format],
	    rd->o->policy_drop ? "drop" : "accept", hub, d->hub_port);
	if (ops == &win_ops)
		fputs("# PowerShell, as an administrator; to remove them: "
		      "Remove-NetFirewallRule -Group vigil\n", rd->f);
	fputc('\n', rd->f);
	if ((role == -1 && only == NULL && has_flow(rd->m, PORTS_ROLE_HUB,
	        NULL)) || role == PORTS_ROLE_HUB)
		if ((r = emit_role(rd, ops, PORTS_ROLE_HUB, NULL, &first)) != 0)
			return r;
	if ((role == -1 && only == NULL && agent_section_wanted(d) &&
	        has_flow(rd->m, PORTS_ROLE_AGENT, NULL)) ||
	    role == PORTS_ROLE_AGENT)
		if ((r = emit_role(rd, ops, PORTS_ROLE_AGENT, NULL, &first)) !=
		    0)
			return r;
	if (role == -1 || role == PORTS_ROLE_PROXY) {
		for (i = 0; i < d->nproxies; i++) {
			if (only != NULL && only != &d->proxies[i])
				continue;
			if ((r = emit_role(rd, ops, PORTS_ROLE_PROXY,
			         &d->proxies[i], &first)) != 0)
				return r;
		}
	}
	if (role == -1 || role == PORTS_ROLE_DEVICE)
		if ((r = emit_devices(rd, ops, only, &first)) != 0)
			return r;
	return 0;
}

/* ---- table ---- */

enum { COL_ID, COL_FROM, COL_TO, COL_PORT, COL_BY, COL_PURPOSE, NCOLS };

struct row {
	char cell[NCOLS][1024];
};

/* "agents 10.1.0.0/16, 10.2.0.5", "console users (any)", "devices a,
 * b, c and 12 more". */
static void
hosts_summary(char *buf, size_t len, const char *what,
    const struct ports_hosts *h)
{
	char host[NAME_MAX_LEN + 1];
	size_t i, shown, used;

	if (h->n == 0) {
		snprintf(buf, len, "%s (any)", what);
		return;
	}
	shown = h->n > TABLE_HOSTS_SHOWN + 1 ? TABLE_HOSTS_SHOWN : h->n;
	used = (size_t)snprintf(buf, len, "%s", what);
	for (i = 0; i < shown && used < len; i++) {
		term_text(host, sizeof(host), h->v[i].text);
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
		    i ? ", " : " ", host);
	}
	if (shown < h->n && used < len)
		snprintf(buf + used, len - used, " and %zu more", h->n - shown);
}

static void
flow_row(const struct ports_flow *fl, struct row *rw)
{
	char what[COMMENT_MAX + 1], name[NAME_MAX_LEN + 1];

	snprintf(rw->cell[COL_ID], sizeof(rw->cell[0]), "%d", fl->id);
	if (fl->from_role == PORTS_ROLE_PROXY && fl->proxy != NULL) {
		term_text(name, sizeof(name), fl->proxy->name);
		snprintf(rw->cell[COL_FROM], sizeof(rw->cell[0]), "proxy %s",
		    name);
	} else {
		hosts_summary(rw->cell[COL_FROM], sizeof(rw->cell[0]),
		    role_title(fl->from_role), &fl->from);
	}
	snprintf(what, sizeof(what), "%s", role_title(fl->to_role));
	hosts_summary(rw->cell[COL_TO], sizeof(rw->cell[0]), what, &fl->to);
	snprintf(rw->cell[COL_PORT], sizeof(rw->cell[0]), "%d/tcp", fl->port);
	term_text(rw->cell[COL_BY], sizeof(rw->cell[0]), fl->opened_by);
	term_text(rw->cell[COL_PURPOSE], sizeof(rw->cell[0]), fl->purpose);
	if (fl->insecure) {
		size_t l = strlen(rw->cell[COL_PURPOSE]);

		snprintf(rw->cell[COL_PURPOSE] + l, sizeof(rw->cell[0]) - l,
		    " INSECURE");
	}
}

/*
 * Narrows columns until the table fits TABLE_WIDTH: OPENED BY first
 * (short phrases wrap well), then always the widest of FROM, TO and
 * PURPOSE, none below its minimum.
 */
static void
fit_widths(size_t *w)
{
	static const int flex[] = { COL_FROM, COL_TO, COL_PURPOSE };
	static const size_t min[NCOLS] = { 0, 16, 16, 0, 10, 24 };
	size_t total = 2 * (NCOLS - 1), i, widest;

	for (i = 0; i < NCOLS; i++)
		total += w[i];
	while (total > TABLE_WIDTH && w[COL_BY] > min[COL_BY]) {
		w[COL_BY]--;
		total--;
	}
	while (total > TABLE_WIDTH) {
		widest = NCOLS;
		for (i = 0; i < sizeof(flex) / sizeof(flex[0]); i++) {
			size_t c = (size_t)flex[i];

			if (w[c] > min[c] && (widest == NCOLS ||
			    w[c] - min[c] > w[widest] - min[widest]))
				widest = c;
		}
		if (widest == NCOLS)
			break;  /* as narrow as it gets: let it be wider */
		w[widest]--;
		total--;
	}
}

static void
write_row(FILE *f, const char *const *cells, const size_t *w, char *line,
    size_t linelen)
{
	size_t pos[NCOLS] = { 0 }, start, len, c, used;
	int more = 1;

	while (more) {
		more = 0;
		used = 0;
		for (c = 0; c < NCOLS; c++) {
			start = len = 0;
			if (wrap_next(cells[c], &pos[c], w[c], &start, &len))
				more = 1;
			snprintf(line + used, linelen - used, "%s%-*.*s",
			    c ? "  " : "", (int)w[c], (int)len,
			    cells[c] + start);
			used += strlen(line + used);
		}
		while (used > 0 && line[used - 1] == ' ')
			used--;
		line[used] = '\0';
		if (more)
			fprintf(f, "%s\n", line);
	}
}

static void
write_advice(FILE *f, const struct ports_matrix *m)
{
	char buf[2048];
	size_t i, j, used;

	for (i = 0; i < m->n; i++) {
		const char *adv = m->v[i].advice;
		size_t count = 0;

		if (adv == NULL)
			continue;
		for (j = 0; j < i; j++)
			if (m->v[j].advice && strcmp(m->v[j].advice, adv) == 0)
				break;
		if (j < i)
			continue;    /* said with an earlier flow */
		for (j = i; j < m->n; j++)
			count += m->v[j].advice &&
			    strcmp(m->v[j].advice, adv) == 0;
		used = (size_t)snprintf(buf, sizeof(buf), "%s",
		    count > 1 ? "Flows" : "Flow");
		for (j = i; j < m->n && used < sizeof(buf); j++)
			if (m->v[j].advice && strcmp(m->v[j].advice, adv) == 0)
				used += (size_t)snprintf(buf + used,
				    sizeof(buf) - used, "%s%d",
				    j > i ? ", " : " ", m->v[j].id);
		if (used < sizeof(buf))
			snprintf(buf + used, sizeof(buf) - used, "%s: %s.",
			    m->v[i].insecure ? " (INSECURE)" : "", adv);
		write_wrapped(f, buf, TABLE_WIDTH, "  ");
	}
}

static int
render_table(struct render *rd)
{
	static const char *const head[NCOLS] = { "#", "FROM", "TO", "PORT",
		"OPENED BY", "PURPOSE" };
	const struct ports_matrix *m = rd->m;
	const struct ports_deploy *d = m->d;
	char src[512], hub[NAME_MAX_LEN + 1], *line = NULL;
	const char *cells[NCOLS];
	struct row *rows;
	size_t w[NCOLS], i, c, linelen = 1;

	if ((rows = calloc(m->n + 1, sizeof(*rows))) == NULL)
		return render_error(rd, VG_ERR_NOMEM, "out of memory");
	for (c = 0; c < NCOLS; c++)
		w[c] = strlen(head[c]);
	for (i = 0; i < m->n; i++) {
		flow_row(&m->v[i], &rows[i]);
		for (c = 0; c < NCOLS; c++)
			if (strlen(rows[i].cell[c]) > w[c])
				w[c] = strlen(rows[i].cell[c]);
	}
	fit_widths(w);
	for (c = 0; c < NCOLS; c++)
		linelen += w[c] + 2;
	if ((line = malloc(linelen)) == NULL) {
		free(rows);
		return render_error(rd, VG_ERR_NOMEM, "out of memory");
	}
	term_text(src, sizeof(src), rd->source);
	term_text(hub, sizeof(hub), d->hub_host);
	fprintf(rd->f, "Flows of %s: hub %s%s%s, port %d/tcp\n\n", src,
	    strchr(hub, ':') ? "[" : "", hub, strchr(hub, ':') ? "]" : "",
	    d->hub_port);
	write_row(rd->f, head, w, line, linelen);
	for (i = 0; i < m->n; i++) {
		for (c = 0; c < NCOLS; c++)
			cells[c] = rows[i].cell[c];
		write_row(rd->f, cells, w, line, linelen);
	}
	fputc('\n', rd->f);
	write_advice(rd->f, m);
	write_wrapped(rd->f, NOTE, TABLE_WIDTH, "");
	free(line);
	free(rows);
	return 0;
}

/* ---- JSON ---- */

static json_t *
hosts_json(const struct ports_hosts *h)
{
	json_t *a = json_array();
	size_t i;

	if (a == NULL)
		return NULL;
	if (h->n == 0 && json_array_append_new(a, json_string("any")) != 0)
		goto fail;
	for (i = 0; i < h->n; i++)
		if (json_array_append_new(a, json_string(h->v[i].text)) != 0)
			goto fail;
	return a;
fail:
	json_decref(a);
	return NULL;
}

static json_t *
flow_json(const struct ports_flow *fl)
{
	json_t *from_hosts = hosts_json(&fl->from);
	json_t *to_hosts = hosts_json(&fl->to);

	if (from_hosts == NULL || to_hosts == NULL) {
		json_decref(from_hosts);
		json_decref(to_hosts);
		return NULL;
	}
	return json_pack("{s:i, s:{s:s, s:s?, s:o}, s:{s:s, s:o}, s:i, "
	                 "s:s, s:s, s:s?, s:s?, s:b, s:s?}",
	    "id", fl->id,
	    "from", "role", ports_role_name(fl->from_role), "proxy",
	    fl->from_role == PORTS_ROLE_PROXY && fl->proxy ? fl->proxy->name
	                                                   : NULL,
	    "hosts", from_hosts,
	    "to", "role", ports_role_name(fl->to_role), "hosts", to_hosts,
	    "port", fl->port, "protocol", "tcp",
	    "service", ports_service_name(fl->service),
	    "opened_by", fl->opened_by, "purpose", fl->purpose,
	    "insecure", fl->insecure, "advice", fl->advice);
}

static int
render_json(struct render *rd)
{
	const struct ports_matrix *m = rd->m;
	json_t *root, *flows;
	size_t i;
	int r = VG_ERR_NOMEM;

	if ((flows = json_array()) == NULL)
		return render_error(rd, r, "out of memory");
	for (i = 0; i < m->n; i++) {
		if (json_array_append_new(flows, flow_json(&m->v[i])) != 0) {
			json_decref(flows);
			return render_error(rd, r, "out of memory");
		}
	}
	root = json_pack("{s:s?, s:{s:s?, s:i}, s:o, s:[], s:s}", "source",
	    m->d->source, "hub", "host", m->d->hub_host, "port",
	    m->d->hub_port, "flows", flows, "inbound_on_agents", "note", NOTE);
	if (root == NULL)
		return render_error(rd, r, "out of memory");
	if (json_dumpf(root, rd->f, JSON_INDENT(2)) == 0) {
		fputc('\n', rd->f);
		r = 0;
	}
	json_decref(root);
	if (r != 0)
		return render_error(rd, r, "out of memory");
	return 0;
}

/* ---- entry point ---- */

int
ports_render(FILE *f, const struct ports_matrix *m,
    const struct ports_render_opts *o, char *err, size_t errlen)
{
	struct render rd;
	char *buf = NULL;
	size_t len = 0;
	int r;

	memset(&rd, 0, sizeof(rd));
	rd.err = err;
	rd.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (f == NULL || m == NULL || m->d == NULL || o == NULL ||
	    m->d->hub_host == NULL || (unsigned)o->format >=
	        sizeof(format_names) / sizeof(format_names[0]))
		return render_error(&rd, VG_ERR_INVAL, "bad arguments");
	rd.m = m;
	rd.o = o;
	rd.source = m->d->source != NULL ? m->d->source : "deployment";
	if ((rd.f = open_memstream(&buf, &len)) == NULL)
		return render_error(&rd, VG_ERR_NOMEM, "out of memory");
	switch (o->format) {
	case PORTS_FMT_TABLE: r = render_table(&rd); break;
	case PORTS_FMT_JSON: r = render_json(&rd); break;
	case PORTS_FMT_NFTABLES: r = render_rules(&rd, &nft_ops); break;
	case PORTS_FMT_IPTABLES: r = render_rules(&rd, &ipt_ops); break;
	case PORTS_FMT_FIREWALLD: r = render_rules(&rd, &fwd_ops); break;
	case PORTS_FMT_UFW: r = render_rules(&rd, &ufw_ops); break;
	case PORTS_FMT_WINDOWS: r = render_rules(&rd, &win_ops); break;
	default: r = render_error(&rd, VG_ERR_INVAL, "unknown format");
	}
	if (fclose(rd.f) != 0 && r == 0)
		r = render_error(&rd, VG_ERR_NOMEM, "out of memory");
	if (r == 0 && len > 0 &&
	    (fwrite(buf, 1, len, f) != len || fflush(f) != 0))
		r = render_error(&rd, VG_ERR_IO, "writing the output: %s",
		    strerror(errno));
	free(buf);
	return r;
}
