/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vigil ports: the deployment (ports.h) from a deployment file, from the
 * hub's configuration and database, from the hub's API or from an agent's
 * HubDetails.xml; and the port matrix built from it.
 *
 * The deployment file is outside data: every line, word and host is
 * checked with explicit bounds (PD_MAX_FILE, PD_MAX_LINE, PD_MAX_HOSTS),
 * and every error names the file, the line and the word.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "client.h"
#include "conf.h"
#include "hubdetails.h"
#include "ports.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_util.h"

#define PD_MAX_FILE (1024 * 1024)
#define PD_MAX_LINE 4096
#define PD_MAX_HOSTS 65536
#define PD_MAX_NAME 253
#define PD_SHOW 80              /* bytes of a word quoted in a message */
#define PD_DEFAULT_PATH "/api/"

#define API_MAX_ANSWER (16L * 1024 * 1024)
#define API_PAGE 1000
#define API_MAX_PAGES 100000

/* ---- names ---- */

const char *
ports_service_name(enum ports_service s)
{
	switch (s) {
	case PORTS_HTTPS: return "https";
	case PORTS_SSH: return "ssh";
	case PORTS_TELNET: return "telnet";
	case PORTS_SMB: return "smb";
	}
	return "?";
}

const char *
ports_service_title(enum ports_service s)
{
	switch (s) {
	case PORTS_HTTPS: return "HTTPS";
	case PORTS_SSH: return "SSH";
	case PORTS_TELNET: return "Telnet";
	case PORTS_SMB: return "SMB";
	}
	return "?";
}

const char *
ports_role_name(enum ports_role r)
{
	switch (r) {
	case PORTS_ROLE_HUB: return "hub";
	case PORTS_ROLE_AGENT: return "agent";
	case PORTS_ROLE_PROXY: return "proxy";
	case PORTS_ROLE_CONSOLE: return "console";
	case PORTS_ROLE_DEVICE: return "device";
	}
	return "?";
}

/* ---- host lists ---- */

static void
hosts_free(struct ports_hosts *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		free(h->v[i].text);
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

/*
 * Appends x, taking x->text. The array grows in powers of two (never
 * below 4), so the capacity follows from n and needs no field. On
 * VG_ERR_NOMEM x->text stays the caller's.
 */
static int
hosts_push(struct ports_hosts *h, struct ports_host *x)
{
	struct ports_host *v;
	size_t cap;

	if (h->n == 0 || (h->n >= 4 && (h->n & (h->n - 1)) == 0)) {
		cap = h->n == 0 ? 4 : 2 * h->n;
		if ((v = reallocarray(h->v, cap, sizeof(*v))) == NULL)
			return VG_ERR_NOMEM;
		h->v = v;
	}
	h->v[h->n++] = *x;
	return 0;
}

/* Appends a copy of x. */
static int
hosts_push_copy(struct ports_hosts *h, const struct ports_host *x)
{
	struct ports_host c = *x;

	if ((c.text = strdup(x->text)) == NULL)
		return VG_ERR_NOMEM;
	if (hosts_push(h, &c) != 0) {
		free(c.text);
		return VG_ERR_NOMEM;
	}
	return 0;
}

static int
host_cmp(const void *a, const void *b)
{
	const struct ports_host *x = a, *y = b;
	int c = strcasecmp(x->text, y->text);

	return c != 0 ? c : x->port - y->port;
}

/* Sorts h by text and port and drops repeated hosts (case aside). */
static void
hosts_sort_unique(struct ports_hosts *h)
{
	size_t i, j;

	if (h->n < 2)
		return;
	qsort(h->v, h->n, sizeof(h->v[0]), host_cmp);
	for (i = 1, j = 1; i < h->n; i++) {
		if (host_cmp(&h->v[i], &h->v[j - 1]) == 0)
			free(h->v[i].text);
		else
			h->v[j++] = h->v[i];
	}
	h->n = j;
}

void
ports_deploy_free(struct ports_deploy *d)
{
	size_t i;

	if (d == NULL)
		return;
	free(d->source);
	free(d->hub_host);
	free(d->hub_path);
	hosts_free(&d->console);
	hosts_free(&d->agents);
	for (i = 0; i < d->nproxies; i++) {
		free(d->proxies[i].name);
		free(d->proxies[i].addr);
		hosts_free(&d->proxies[i].ssh);
		hosts_free(&d->proxies[i].telnet);
		hosts_free(&d->proxies[i].smb);
	}
	free(d->proxies);
	memset(d, 0, sizeof(*d));
}

const struct ports_proxy *
ports_proxy_find(const struct ports_deploy *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nproxies; i++)
		if (strcasecmp(d->proxies[i].name, name) == 0)
			return &d->proxies[i];
	return NULL;
}

void
ports_proxy_names(const struct ports_deploy *d, char *buf, size_t len)
{
	size_t i, n = 0;
	int w;

	if (len == 0)
		return;
	snprintf(buf, len, "%s", d->nproxies == 0 ? "none" : "");
	for (i = 0; i < d->nproxies; i++) {
		w = snprintf(buf + n, len - n, "%s%s", i > 0 ? ", " : "",
		    d->proxies[i].name);
		if (w < 0 || (size_t)w >= len - n) {
			if (len > 4)
				snprintf(buf + len - 4, 4, "...");
			break;
		}
		n += (size_t)w;
	}
}

/* ---- words: addresses, networks, names, ports ---- */

/* A word as a message quotes it: at most PD_SHOW bytes, cut at a UTF-8
 * character boundary, "..." after a cut. */
static const char *
word_show(const char *w, char *buf, size_t buflen)
{
	size_t n = strlen(w), cut;

	if (n <= PD_SHOW || buflen < PD_SHOW + 4) {
		snprintf(buf, buflen, "%s", w);
		return buf;
	}
	cut = PD_SHOW;
	while (cut > 0 && ((unsigned char)w[cut] & 0xc0) == 0x80)
		cut--;
	snprintf(buf, buflen, "%.*s...", (int)cut, w);
	return buf;
}

/* A DNS name: letters, digits, '-' and '.', labels of 1 to 63 that
 * neither start nor end with '-' (so no name reads as an option in a
 * firewall command), at most 253 in all; one final '.' allowed. */
static int
name_valid(const char *s)
{
	size_t len = strlen(s), label = 0, i;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > PD_MAX_NAME)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) ||
		    (s[i] == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && s[len - 1] != '-';
}

/* A port: 1 to 5 digits, 1..65535. */
static int
port_parse(const char *s, int *port)
{
	long v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 5 || !isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0 || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* What a word may be. */
#define HW_PORT 0x1     /* HOST:PORT, [V6]:PORT */
#define HW_NET 0x2      /* ADDRESS/PREFIX */

/*
 * Checks an address or network (host, without brackets or port). 0, or
 * -1 with why set. A network must have no bit set past its prefix, as
 * firewalls read it otherwise or refuse it.
 */
static int
addr_check(const char *host, int allow, int *is_net, char *why,
    size_t whylen)
{
	unsigned char a[16];
	char addr[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN];
	const char *slash = strchr(host, '/');
	size_t alen, i, nbytes;
	int af, max, prefix = 0, bad = 0;

	*is_net = slash != NULL;
	if (slash == NULL) {
		if (inet_pton(AF_INET, host, a) == 1 ||
		    inet_pton(AF_INET6, host, a) == 1)
			return 0;
		goto not_addr;
	}
	if (!(allow & HW_NET)) {
		snprintf(why, whylen, "a network is not allowed here (name one "
		    "host)");
		return -1;
	}
	alen = (size_t)(slash - host);
	if (alen >= sizeof(addr))
		goto not_net;
	memcpy(addr, host, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, a) == 1) {
		af = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		af = AF_INET6;
		max = 128;
	} else {
		goto not_net;
	}
	for (i = 1; slash[i] != '\0'; i++) {
		if (i > 3 || !isdigit((unsigned char)slash[i]))
			bad = 1;
		else
			prefix = prefix * 10 + (slash[i] - '0');
	}
	if (bad || i == 1 || prefix > max) {
		snprintf(why, whylen, "prefix length must be 0 to %d", max);
		return -1;
	}
	nbytes = af == AF_INET ? 4 : 16;
	for (i = 0; i < nbytes; i++) {
		int keep = prefix - (int)i * 8;
		unsigned char mask = keep >= 8 ? 0xff : keep <= 0 ? 0 :
		    (unsigned char)(0xff << (8 - keep));

		if (a[i] & ~mask) {
			a[i] &= mask;
			bad = 1;
		}
	}
	if (bad) {
		inet_ntop(af, a, net, sizeof(net));
		snprintf(why, whylen, "bits set past the prefix length (the "
		    "network is %s/%d)", net, prefix);
		return -1;
	}
	return 0;
not_net:
	snprintf(why, whylen, "not a network (IPv4 or IPv6 address, '/', "
	    "prefix length)");
	return -1;
not_addr:
	if (strchr(host, ':') != NULL) {
		snprintf(why, whylen, "not a valid IPv6 address");
		return -1;
	}
	if (host[strspn(host, "0123456789.")] == '\0') {
		snprintf(why, whylen, "not a valid IPv4 address");
		return -1;
	}
	return 1;   /* not an address: maybe a name */
}

/*
 * Parses one host word: ADDRESS, NETWORK, NAME, HOST:PORT, [V6]:PORT,
 * [V6] (what allow permits) into out (text a new string). 0, VG_ERR_INVAL
 * with why set, or VG_ERR_NOMEM.
 */
static int
host_parse(const char *w, int allow, struct ports_host *out, char *why,
    size_t whylen)
{
	const char *host = w, *port = NULL, *close, *colon;
	size_t hlen = strlen(w);
	int r, bracket = 0;
	char *text;

	memset(out, 0, sizeof(*out));
	if (w[0] == '[') {
		if ((close = strchr(w, ']')) == NULL ||
		    (close[1] != '\0' && close[1] != ':')) {
			snprintf(why, whylen, "expected [IPV6] or [IPV6]:PORT");
			return VG_ERR_INVAL;
		}
		host = w + 1;
		hlen = (size_t)(close - host);
		port = close[1] == ':' ? close + 2 : NULL;
		bracket = 1;
	} else if ((colon = strchr(w, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		hlen = (size_t)(colon - w);
		port = colon + 1;
	}
	if (hlen == 0) {
		snprintf(why, whylen, "no host");
		return VG_ERR_INVAL;
	}
	if (port != NULL && !(allow & HW_PORT)) {
		snprintf(why, whylen, "a port is not allowed here");
		return VG_ERR_INVAL;
	}
	if (port != NULL && port_parse(port, &out->port) != 0) {
		snprintf(why, whylen, "port must be 1 to 65535");
		return VG_ERR_INVAL;
	}
	if ((text = strndup(host, hlen)) == NULL)
		return VG_ERR_NOMEM;
	r = addr_check(text, allow, &out->is_net, why, whylen);
	if (r == 0 && bracket && strchr(text, ':') == NULL) {
		snprintf(why, whylen, "brackets are for IPv6 addresses");
		r = -1;
	} else if (r > 0 && (bracket || !name_valid(text))) {
		snprintf(why, whylen, bracket ? "not a valid IPv6 address" :
		    "not an address, a network or a host name (letters, "
		    "digits, '-' and '.', at most 253)");
		r = -1;
	} else if (r > 0) {
		r = 0;
	}
	if (r != 0) {
		free(text);
		return VG_ERR_INVAL;
	}
	out->text = text;
	return 0;
}

/*
 * Splits https://HOST[:PORT][/PATH] into host (brackets dropped), port
 * (443 when absent) and path (PD_DEFAULT_PATH when absent or "/", else
 * ending in '/'). Caller frees host and path. 0, VG_ERR_INVAL with why
 * set, or VG_ERR_NOMEM.
 */
static int
url_split(const char *url, char **host, int *port, char **path, char *why,
    size_t whylen)
{
	struct ports_host h;
	const char *auth, *slash;
	char *hostport = NULL, *p = NULL;
	size_t plen;
	int r;

	*host = *path = NULL;
	*port = PORTS_DEFAULT_HTTPS;
	if (strncasecmp(url, "https://", 8) != 0) {
		snprintf(why, whylen, "%s", strstr(url, "://") != NULL ?
		    "the hub speaks HTTPS only: expected https://" :
		    "expected https://HOST[:PORT]/PATH/");
		return VG_ERR_INVAL;
	}
	auth = url + 8;
	if (strpbrk(auth, "@?#\"'<>\\ \t") != NULL) {
		snprintf(why, whylen, "a URL with a user name, query, "
		    "fragment, quote or space");
		return VG_ERR_INVAL;
	}
	slash = strchr(auth, '/');
	if ((hostport = slash != NULL ? strndup(auth, (size_t)(slash - auth)) :
	    strdup(auth)) == NULL)
		return VG_ERR_NOMEM;
	if ((r = host_parse(hostport, HW_PORT, &h, why, whylen)) != 0)
		goto out;
	if (h.port != 0)
		*port = h.port;
	if (slash == NULL || strcmp(slash, "/") == 0) {
		p = strdup(PD_DEFAULT_PATH);
	} else {
		plen = strlen(slash);
		if ((p = malloc(plen + 2)) != NULL) {
			memcpy(p, slash, plen + 1);
			if (p[plen - 1] != '/') {
				p[plen] = '/';
				p[plen + 1] = '\0';
			}
		}
	}
	if (p == NULL) {
		free(h.text);
		r = VG_ERR_NOMEM;
		goto out;
	}
	*host = h.text;
	*path = p;
	r = 0;
out:
	free(hostport);
	return r;
}

/* ---- the deployment file ---- */

struct pd_state {
	const char *source;
	struct ports_deploy *d;
	int line;
	size_t nhosts;          /* every host, network and proxy so far */
	int hub_seen, thumb_line, console_any, agents_any, agents_line;
	int have_proxy;         /* device lines go to the last proxy */
	char *err;
	size_t errlen;
};

static int pd_fail(struct pd_state *st, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets the message "SOURCE:LINE: ..." (no line when st->line is 0). */
static int
pd_fail(struct pd_state *st, int r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r == VG_ERR_NOMEM) {
		snprintf(st->err, st->errlen, "%s: out of memory", st->source);
		return r;
	}
	if (st->line > 0)
		n = snprintf(st->err, st->errlen, "%s:%d: ", st->source,
		    st->line);
	else
		n = snprintf(st->err, st->errlen, "%s: ", st->source);
	if (n >= 0 && (size_t)n < st->errlen) {
		va_start(ap, fmt);
		vsnprintf(st->err + n, st->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Counts one more host against PD_MAX_HOSTS. */
static int
pd_count(struct pd_state *st)
{
	if (st->nhosts >= PD_MAX_HOSTS)
		return pd_fail(st, VG_ERR_TOOBIG, "more than %d hosts in all",
		    PD_MAX_HOSTS);
	st->nhosts++;
	return 0;
}

/* Parses word w into list (allow: HW_*), naming the word on error. */
static int
pd_host(struct pd_state *st, const char *w, int allow,
    struct ports_hosts *list)
{
	struct ports_host h;
	char why[160], shown[PD_SHOW + 8];
	int r;

	if ((r = pd_count(st)) != 0)
		return r;
	if ((r = host_parse(w, allow, &h, why, sizeof(why))) != 0)
		return pd_fail(st, r, "'%s': %s", word_show(w, shown,
		    sizeof(shown)), why);
	h.line = st->line;
	if (hosts_push(list, &h) != 0) {
		free(h.text);
		return pd_fail(st, VG_ERR_NOMEM, "out of memory");
	}
	return 0;
}

static int
kw_hub(struct pd_state *st, const char *kw, char **w, size_t n)
{
	struct ports_deploy *d = st->d;
	struct ports_host h;
	char why[160], shown[PD_SHOW + 8];
	int r;

	(void)kw;
	if (st->hub_seen)
		return pd_fail(st, VG_ERR_INVAL, "'hub' given again (first on "
		    "line %d)", d->hub_line);
	if (n != 1)
		return pd_fail(st, VG_ERR_INVAL, "'hub' takes one HOST[:PORT] "
		    "or https://HOST[:PORT]/PATH/");
	if (strcmp(w[0], "any") == 0)
		return pd_fail(st, VG_ERR_INVAL, "'any' is not a hub: name the "
		    "hub's host");
	if (strstr(w[0], "://") != NULL) {
		r = url_split(w[0], &d->hub_host, &d->hub_port, &d->hub_path,
		    why, sizeof(why));
	} else if ((r = host_parse(w[0], HW_PORT, &h, why,
	    sizeof(why))) == 0) {
		d->hub_host = h.text;
		d->hub_port = h.port != 0 ? h.port : PORTS_DEFAULT_HTTPS;
		if ((d->hub_path = strdup(PD_DEFAULT_PATH)) == NULL)
			r = VG_ERR_NOMEM;
	}
	if (r != 0)
		return pd_fail(st, r, "'%s': %s", word_show(w[0], shown,
		    sizeof(shown)), why);
	st->hub_seen = 1;
	d->hub_line = st->line;
	return pd_count(st);
}

static int
kw_thumbprint(struct pd_state *st, const char *kw, char **w, size_t n)
{
	char joined[PD_MAX_LINE + 1];
	size_t i, o = 0, l;

	(void)kw;
	if (st->thumb_line != 0)
		return pd_fail(st, VG_ERR_INVAL, "'thumbprint' given again "
		    "(first on line %d)", st->thumb_line);
	/* The words of one line, blanks between: they fit a line's room. */
	joined[0] = '\0';
	for (i = 0; i < n; i++) {
		l = strlen(w[i]);
		if (o + l + 2 > sizeof(joined))
			break;
		if (i > 0)
			joined[o++] = ' ';
		memcpy(joined + o, w[i], l + 1);
		o += l;
	}
	if (n == 0 || i < n || vg_thumbprint_parse(joined, st->d->thumbprint,
	    &st->d->thumbprint_len) != 0)
		return pd_fail(st, VG_ERR_INVAL, "'thumbprint' takes the "
		    "SHA-256 (64 hex digits) or SHA-1 (40) fingerprint of the "
		    "hub's certificate; colons and spaces are ignored");
	st->thumb_line = st->line;
	return 0;
}

/* console and agents: sources, "any" allowed, no port. */
static int
kw_sources(struct pd_state *st, const char *kw, char **w, size_t n)
{
	int is_console = strcmp(kw, "console") == 0;
	struct ports_hosts *list = is_console ? &st->d->console :
	    &st->d->agents;
	size_t i;
	int r;

	if (n == 0)
		return pd_fail(st, VG_ERR_INVAL, "'%s' needs at least one "
		    "host, network or 'any'", kw);
	if (!is_console && st->agents_line == 0)
		st->agents_line = st->line;
	for (i = 0; i < n; i++) {
		if (strcmp(w[i], "any") == 0) {
			*(is_console ? &st->console_any : &st->agents_any) = 1;
			continue;
		}
		if ((r = pd_host(st, w[i], HW_NET, list)) != 0)
			return r;
	}
	return 0;
}

static int
kw_proxy(struct pd_state *st, const char *kw, char **w, size_t n)
{
	struct ports_deploy *d = st->d;
	struct ports_proxy *v;
	struct ports_hosts one = { NULL, 0 };
	int r;

	(void)kw;
	if (n != 1)
		return pd_fail(st, VG_ERR_INVAL, "'proxy' takes one name or "
		    "address: the proxy agent's");
	if (strcmp(w[0], "any") == 0)
		return pd_fail(st, VG_ERR_INVAL, "'any' is not a proxy: name "
		    "the proxy agent's host");
	if ((r = pd_host(st, w[0], 0, &one)) != 0)
		return r;
	if ((v = reallocarray(d->proxies, d->nproxies + 1,
	    sizeof(*v))) == NULL) {
		hosts_free(&one);
		return pd_fail(st, VG_ERR_NOMEM, "out of memory");
	}
	d->proxies = v;
	memset(&v[d->nproxies], 0, sizeof(v[0]));
	v[d->nproxies].name = one.v[0].text;
	v[d->nproxies].line = st->line;
	d->nproxies++;
	free(one.v);
	st->have_proxy = 1;
	return 0;
}

/* ssh, telnet, smb: devices of the last proxy. */
static int
kw_devices(struct pd_state *st, const char *kw, char **w, size_t n)
{
	struct ports_proxy *p;
	struct ports_hosts *list;
	size_t i;
	int r;

	if (!st->have_proxy)
		return pd_fail(st, VG_ERR_INVAL, "'%s' must follow a 'proxy' "
		    "line", kw);
	if (n == 0)
		return pd_fail(st, VG_ERR_INVAL, "'%s' needs at least one "
		    "HOST[:PORT]", kw);
	p = &st->d->proxies[st->d->nproxies - 1];
	list = strcmp(kw, "ssh") == 0 ? &p->ssh : strcmp(kw, "telnet") == 0 ?
	    &p->telnet : &p->smb;
	for (i = 0; i < n; i++) {
		if (strcmp(w[i], "any") == 0)
			return pd_fail(st, VG_ERR_INVAL, "'any' is not a "
			    "device: name the %s devices (addresses, networks "
			    "or names)", kw);
		if ((r = pd_host(st, w[i], HW_PORT | HW_NET, list)) != 0)
			return r;
	}
	return 0;
}

static const struct pd_keyword {
	const char *name;
	int (*fn)(struct pd_state *st, const char *kw, char **w, size_t n);
} pd_keywords[] = {
	{ "hub", kw_hub },
	{ "thumbprint", kw_thumbprint },
	{ "console", kw_sources },
	{ "agents", kw_sources },
	{ "proxy", kw_proxy },
	{ "ssh", kw_devices },
	{ "telnet", kw_devices },
	{ "smb", kw_devices },
};

/*
 * One line (len bytes, no newline, no NUL checked below). Words are
 * separated by blanks; '#' at the start of a word starts a comment.
 */
static int
pd_line(struct pd_state *st, const char *text, size_t len)
{
	char buf[PD_MAX_LINE + 1], shown[PD_SHOW + 8];
	char *words[PD_MAX_LINE / 2 + 1];
	size_t i, n = 0;
	char *p;

	if (len > 0 && text[len - 1] == '\r')
		len--;
	if (len > PD_MAX_LINE)
		return pd_fail(st, VG_ERR_TOOBIG, "line longer than %d bytes",
		    PD_MAX_LINE);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return pd_fail(st, VG_ERR_INVAL, "control character "
			    "0x%02x in column %zu", c, i + 1);
	}
	if (!vg_utf8_valid(text, len))
		return pd_fail(st, VG_ERR_INVAL, "not valid UTF-8");
	memcpy(buf, text, len);
	buf[len] = '\0';
	for (p = buf;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			break;
		words[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p == '\0')
			break;
		*p++ = '\0';
	}
	if (n == 0)
		return 0;
	for (i = 0; i < sizeof(pd_keywords) / sizeof(pd_keywords[0]); i++)
		if (strcmp(words[0], pd_keywords[i].name) == 0)
			return pd_keywords[i].fn(st, words[0], words + 1,
			    n - 1);
	return pd_fail(st, VG_ERR_INVAL, "unknown keyword '%s' (expected hub, "
	    "thumbprint, console, agents, proxy, ssh, telnet, smb)",
	    word_show(words[0], shown, sizeof(shown)));
}

static int
proxy_cmp(const void *a, const void *b)
{
	const struct ports_proxy *const *x = a, *const *y = b;
	int c = strcasecmp((*x)->name, (*y)->name);

	return c != 0 ? c : (*x)->line - (*y)->line;
}

/* A proxy named twice: an error naming the second line (the earliest
 * such line in the file). Sorted by name, then line, so that a file of
 * many proxies costs n log n: the first of each run of one name is its
 * first line, the next one the line that repeats it. */
static int
pd_check_proxies(struct pd_state *st)
{
	const struct ports_proxy **v, *dup = NULL, *first = NULL;
	size_t i, n = st->d->nproxies;

	if (n < 2)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return pd_fail(st, VG_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		v[i] = &st->d->proxies[i];
	qsort(v, n, sizeof(*v), proxy_cmp);
	for (i = 1; i < n; i++)
		if (strcasecmp(v[i]->name, v[i - 1]->name) == 0 &&
		    (i < 2 || strcasecmp(v[i - 2]->name, v[i]->name) != 0) &&
		    (dup == NULL || v[i]->line < dup->line)) {
			dup = v[i];
			first = v[i - 1];
		}
	free(v);
	if (dup == NULL)
		return 0;
	st->line = dup->line;
	return pd_fail(st, VG_ERR_INVAL, "proxy '%s' given again (first on "
	    "line %d)", dup->name, first->line);
}

int
ports_deploy_parse(const char *text, size_t len, const char *source,
    struct ports_deploy *d, char *err, size_t errlen)
{
	struct pd_state st;
	const char *p = text, *end = text + len, *nl;
	int r;

	memset(d, 0, sizeof(*d));
	memset(&st, 0, sizeof(st));
	st.source = source;
	st.d = d;
	st.err = err;
	st.errlen = errlen;
	if (len > PD_MAX_FILE) {
		r = pd_fail(&st, VG_ERR_TOOBIG, "larger than 1 MiB");
		goto out;
	}
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		st.line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((r = pd_line(&st, p, (size_t)(nl - p))) != 0)
			goto out;
		p = nl + 1;
	}
	st.line = 0;
	if (!st.hub_seen) {
		r = pd_fail(&st, VG_ERR_INVAL, "no 'hub' line");
		goto out;
	}
	if ((r = pd_check_proxies(&st)) != 0)
		goto out;
	if (st.console_any)
		hosts_free(&d->console);
	if (st.agents_any)
		hosts_free(&d->agents);
	/* "agents any" says agents may be anywhere: as with no agent
	 * known, the agent flow comes from any source. */
	d->agents_known = !st.agents_any && (d->agents.n > 0 ||
	    d->nproxies > 0);
	if ((d->source = strdup(source)) == NULL) {
		r = pd_fail(&st, VG_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		ports_deploy_free(d);
	return r;
}

int
ports_deploy_load(const char *path, struct ports_deploy *d, char *err,
    size_t errlen)
{
	char *text;
	size_t len;
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = vg_read_file(path, PD_MAX_FILE, &text, &len, err,
	    errlen)) != 0)
		return r;
	r = ports_deploy_parse(text, len, path, d, err, errlen);
	free(text);
	return r;
}

/* ---- the matrix ---- */

static const char *const service_purpose[] = {
	[PORTS_HTTPS] = "the web console and REST API (HTTPS)",
	[PORTS_SSH] = "SSH: Linux hosts and network devices",
	[PORTS_TELNET] = "Telnet: legacy network devices",
	[PORTS_SMB] = "SMB: Windows hosts (Remote Registry, admin shares)",
};

static const char telnet_advice[] = "Telnet sends passwords and "
    "configurations in clear text: move these devices to SSH (port 22) "
    "when they support it";

static void
flow_free(struct ports_flow *f)
{
	hosts_free(&f->from);
	hosts_free(&f->to);
}

void
ports_matrix_free(struct ports_matrix *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		flow_free(&m->v[i]);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static int
hosts_copy(struct ports_hosts *dst, const struct ports_hosts *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		if (hosts_push_copy(dst, &src->v[i]) != 0)
			return VG_ERR_NOMEM;
	return 0;
}

/* The hub as a destination. */
static int
hub_hosts(const struct ports_deploy *d, struct ports_hosts *to)
{
	struct ports_host h = { .text = d->hub_host, .line = d->hub_line };

	return hosts_push_copy(to, &h);
}

/* Where proxy p connects from. */
static char *
proxy_host(const struct ports_proxy *p)
{
	return p->addr != NULL ? p->addr : p->name;
}

/* The proxy as a one-host list. */
static int
proxy_hosts(const struct ports_proxy *p, struct ports_hosts *h)
{
	struct ports_host x = { .text = proxy_host(p), .line = p->line };

	return hosts_push_copy(h, &x);
}

static int
str_casecmp_p(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* Agent sources: the agents, then the proxies not among them. */
static int
agent_sources(const struct ports_deploy *d, struct ports_hosts *from)
{
	const char **sorted = NULL, *key;
	size_t i;
	int r = VG_ERR_NOMEM;

	if (!d->agents_known)
		return 0;
	if (hosts_copy(from, &d->agents) != 0)
		goto out;
	if (d->agents.n > 0 &&
	    (sorted = calloc(d->agents.n, sizeof(*sorted))) == NULL)
		goto out;
	for (i = 0; i < d->agents.n; i++)
		sorted[i] = d->agents.v[i].text;
	if (d->agents.n > 0)
		qsort(sorted, d->agents.n, sizeof(*sorted), str_casecmp_p);
	for (i = 0; i < d->nproxies; i++) {
		key = proxy_host(&d->proxies[i]);
		if (d->agents.n > 0 && bsearch(&key, sorted, d->agents.n,
		    sizeof(*sorted), str_casecmp_p) != NULL)
			continue;
		if (proxy_hosts(&d->proxies[i], from) != 0)
			goto out;
	}
	r = 0;
out:
	free(sorted);
	return r;
}

static int
eff_port(const struct ports_host *h, int dflt)
{
	return h->port != 0 ? h->port : dflt;
}

/* The next flow of m, its fields but the hosts set. The caller made
 * room for it (ports_matrix_build sizes m->v once, so flows never
 * move). */
static struct ports_flow *
flow_add(struct ports_matrix *m, enum ports_role from, enum ports_role to,
    int port, enum ports_service svc, const char *opened_by,
    const char *purpose)
{
	struct ports_flow *f = &m->v[m->n++];

	memset(f, 0, sizeof(*f));
	f->id = (int)m->n;
	f->from_role = from;
	f->to_role = to;
	f->port = port;
	f->service = svc;
	f->opened_by = opened_by;
	f->purpose = purpose;
	return f;
}

/* One flow per distinct port of a proxy's devices of one service, in
 * the order the ports first appear. */
static int
device_flows(struct ports_matrix *m, const struct ports_proxy *p,
    enum ports_service svc, const struct ports_hosts *dev, int dflt)
{
	struct ports_flow *f;
	size_t i, j;
	int port;

	for (i = 0; i < dev->n; i++) {
		port = eff_port(&dev->v[i], dflt);
		for (j = 0; j < i; j++)
			if (eff_port(&dev->v[j], dflt) == port)
				break;
		if (j < i)
			continue;
		f = flow_add(m, PORTS_ROLE_PROXY, PORTS_ROLE_DEVICE, port, svc,
		    "the proxy agent", service_purpose[svc]);
		f->proxy = p;
		if (svc == PORTS_TELNET) {
			f->insecure = 1;
			f->advice = telnet_advice;
		}
		if (proxy_hosts(p, &f->from) != 0)
			return VG_ERR_NOMEM;
		for (j = i; j < dev->n; j++)
			if (eff_port(&dev->v[j], dflt) == port &&
			    hosts_push_copy(&f->to, &dev->v[j]) != 0)
				return VG_ERR_NOMEM;
	}
	return 0;
}

int
ports_matrix_build(const struct ports_deploy *d, struct ports_matrix *m)
{
	const struct ports_proxy *p;
	struct ports_flow *f;
	size_t i, max = 2;
	int r = VG_ERR_NOMEM;

	memset(m, 0, sizeof(*m));
	m->d = d;
	/* At most one flow per device: the allocation is done once, so
	 * flows never move and f stays valid. */
	for (i = 0; i < d->nproxies; i++)
		max += d->proxies[i].ssh.n + d->proxies[i].telnet.n +
		    d->proxies[i].smb.n;
	if ((m->v = calloc(max, sizeof(*m->v))) == NULL)
		return VG_ERR_NOMEM;

	f = flow_add(m, PORTS_ROLE_CONSOLE, PORTS_ROLE_HUB, d->hub_port,
	    PORTS_HTTPS, "the user's browser", service_purpose[PORTS_HTTPS]);
	if (hosts_copy(&f->from, &d->console) != 0 || hub_hosts(d, &f->to) != 0)
		goto out;
	f = flow_add(m, PORTS_ROLE_AGENT, PORTS_ROLE_HUB, d->hub_port,
	    PORTS_HTTPS, "the agent",
	    "agents report changes and poll for policy (HTTPS)");
	if (agent_sources(d, &f->from) != 0 || hub_hosts(d, &f->to) != 0)
		goto out;
	for (i = 0; i < d->nproxies; i++) {
		p = &d->proxies[i];
		if (device_flows(m, p, PORTS_SSH, &p->ssh,
		    PORTS_DEFAULT_SSH) != 0 ||
		    device_flows(m, p, PORTS_TELNET, &p->telnet,
		    PORTS_DEFAULT_TELNET) != 0 ||
		    device_flows(m, p, PORTS_SMB, &p->smb,
		    PORTS_DEFAULT_SMB) != 0)
			goto out;
	}
	r = 0;
out:
	if (r != 0)
		ports_matrix_free(m);
	return r;
}

/* ---- on the hub: hub.conf and its database ---- */

static int
is_wildcard(const char *host)
{
	unsigned char a[16], zero[16] = { 0 };

	if (host == NULL || *host == '\0')
		return 1;
	if (inet_pton(AF_INET, host, a) == 1)
		return memcmp(a, zero, 4) == 0;
	if (inet_pton(AF_INET6, host, a) == 1)
		return memcmp(a, zero, 16) == 0;
	return 0;
}

/* An address an agent may be seen from: a valid address that is not a
 * loopback, unspecified or link-local one (those say nothing a firewall
 * of another machine can use). */
static int
agent_addr_ok(const char *s)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, s, a) == 1)
		return a[0] != 127 && a[0] != 0 &&
		    !(a[0] == 169 && a[1] == 254);
	if (inet_pton(AF_INET6, s, a) == 1) {
		struct in6_addr in;

		memcpy(&in, a, sizeof(in));
		return !IN6_IS_ADDR_LOOPBACK(&in) &&
		    !IN6_IS_ADDR_UNSPECIFIED(&in) &&
		    !IN6_IS_ADDR_LINKLOCAL(&in);
	}
	return 0;
}

/* Adds address s to the agents (once the checks above pass), up to
 * PD_MAX_HOSTS. */
static int
add_agent(struct ports_deploy *d, const char *s)
{
	struct ports_host h = { 0 };

	if (!agent_addr_ok(s) || d->agents.n >= PD_MAX_HOSTS)
		return 0;
	if ((h.text = strdup(s)) == NULL || hosts_push(&d->agents, &h) != 0) {
		free(h.text);
		return VG_ERR_NOMEM;
	}
	return 0;
}

/* The hub's own host name, for a hub listening on every address. */
static int
own_hostname(char **out)
{
	char buf[256];

	if (gethostname(buf, sizeof(buf)) != 0)
		snprintf(buf, sizeof(buf), "localhost");
	buf[sizeof(buf) - 1] = '\0';
	return (*out = strdup(buf)) == NULL ? VG_ERR_NOMEM : 0;
}

/* ---- the hub's proxied devices ---- */

/* One proxied device as the hub holds it, with its proxy agent. */
struct hub_proxied {
	int64_t id, proxy_id;
	char *name;             /* the device's, for messages */
	char *host;             /* as the hub holds it */
	int port;               /* 0: the protocol's default */
	int protocol;           /* HUB_PROTO_* */
	char *proxy_name;       /* the proxy's device name, or NULL */
	char *proxy_addr;       /* where the proxy connects from, or NULL */
};

/* The protocols of the hub's device.protocol column. */
#define HUB_PROTO_SSH 1
#define HUB_PROTO_TELNET 2
#define HUB_PROTO_SMB 3         /* Windows hosts */

struct hub_proxieds {
	struct hub_proxied *v;
	size_t n, cap;
};

static void
hub_proxieds_free(struct hub_proxieds *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].host);
		free(l->v[i].proxy_name);
		free(l->v[i].proxy_addr);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*
 * Where a proxy agent connects from, as rules can name it: the address
 * the hub saw it register from, else the host name it reported; NULL
 * when neither serves (its device name then does, as a deployment
 * file's 'proxy NAME').
 */
static const char *
hub_proxy_addr(const char *peer, const char *hostname)
{
	if (peer != NULL && agent_addr_ok(peer))
		return peer;
	if (hostname != NULL && name_valid(hostname))
		return hostname;
	return NULL;
}

/*
 * Appends a copy of one proxied device (name, proxy_name and proxy_addr
 * may be NULL). Devices without a host or of a protocol this vigil does
 * not know are left out: there is nothing they connect to. 0,
 * VG_ERR_TOOBIG past PD_MAX_HOSTS or VG_ERR_NOMEM, err set.
 */
static int
hub_proxied_add(struct hub_proxieds *l, int64_t id, const char *name,
    const char *host, int port, int protocol, int64_t proxy_id,
    const char *proxy_name, const char *proxy_addr, char *err,
    size_t errlen)
{
	struct hub_proxied *v, *e;
	size_t cap;

	if (host == NULL || *host == '\0' || (protocol != HUB_PROTO_SSH &&
	    protocol != HUB_PROTO_TELNET && protocol != HUB_PROTO_SMB))
		return 0;
	if (l->n >= PD_MAX_HOSTS) {
		snprintf(err, errlen, "more than %d proxied devices",
		    PD_MAX_HOSTS);
		return VG_ERR_TOOBIG;
	}
	if (l->n == l->cap) {
		cap = l->cap == 0 ? 16 : 2 * l->cap;
		if ((v = reallocarray(l->v, cap, sizeof(*v))) == NULL)
			goto nomem;
		l->v = v;
		l->cap = cap;
	}
	e = &l->v[l->n];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->proxy_id = proxy_id;
	e->port = port >= 1 && port <= 65535 ? port : 0;
	e->protocol = protocol;
	l->n++;
	if ((name != NULL && (e->name = strdup(name)) == NULL) ||
	    (e->host = strdup(host)) == NULL ||
	    (proxy_name != NULL && (e->proxy_name = strdup(proxy_name)) ==
	    NULL) ||
	    (proxy_addr != NULL && (e->proxy_addr = strdup(proxy_addr)) ==
	    NULL))
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return VG_ERR_NOMEM;
}

static int
hub_proxied_cmp(const void *a, const void *b)
{
	const struct hub_proxied *x = a, *y = b;

	if (x->proxy_id != y->proxy_id)
		return x->proxy_id < y->proxy_id ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

struct proxy_by_name {
	const char *name;
	size_t i;
};

static int
proxy_by_name_cmp(const void *a, const void *b)
{
	const struct proxy_by_name *x = a, *y = b;
	int c = strcasecmp(x->name, y->name);

	return c != 0 ? c : x->i < y->i ? -1 : x->i > y->i;
}

/*
 * Device names need not be unique: proxy agents of one name are told
 * apart by their device id, "px1#7", so that --proxy names one.
 */
static int
hub_proxy_names_distinct(struct ports_deploy *d, const int64_t *ids)
{
	struct proxy_by_name *v;
	size_t i, j, k, n = d->nproxies;
	char *name;
	int r = VG_ERR_NOMEM;

	if (n < 2)
		return 0;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return VG_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		v[i].name = d->proxies[i].name;
		v[i].i = i;
	}
	qsort(v, n, sizeof(*v), proxy_by_name_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcasecmp(v[j].name,
		    v[i].name) == 0; j++)
			;
		if (j - i < 2)
			continue;
		for (k = i; k < j; k++) {
			if (asprintf(&name, "%s#%lld", v[k].name,
			    (long long)ids[v[k].i]) < 0)
				goto out;
			free(d->proxies[v[k].i].name);
			d->proxies[v[k].i].name = name;
		}
	}
	r = 0;
out:
	free(v);
	return r;
}

/*
 * Adds the proxied devices of l to d as a deployment file's 'proxy'
 * lines with their 'ssh', 'telnet' and 'smb' lines would: one proxy per
 * proxy agent, named by its device name, at its address when known;
 * each device's host at its port. A host that is neither an address nor a
 * host name is an error naming the device, as the deployment file
 * refuses it. Sorts l. 0 or VG_ERR_* with err set.
 */
static int
hub_proxies(struct ports_deploy *d, struct hub_proxieds *l,
    const char *source, char *err, size_t errlen)
{
	const struct hub_proxied *e;
	struct ports_proxy *p = NULL;
	struct ports_host h;
	int64_t *ids = NULL;
	char why[160], shown[PD_SHOW + 8], host[PD_SHOW + 8];
	size_t i, np = 0;
	int r = VG_ERR_NOMEM;

	if (l->n == 0)
		return 0;
	qsort(l->v, l->n, sizeof(l->v[0]), hub_proxied_cmp);
	for (i = 0; i < l->n; i++)
		if (i == 0 || l->v[i].proxy_id != l->v[i - 1].proxy_id)
			np++;
	if ((d->proxies = calloc(np, sizeof(*d->proxies))) == NULL ||
	    (ids = calloc(np, sizeof(*ids))) == NULL)
		goto nomem;
	for (i = 0; i < l->n; i++) {
		e = &l->v[i];
		if (i == 0 || e->proxy_id != l->v[i - 1].proxy_id) {
			ids[d->nproxies] = e->proxy_id;
			p = &d->proxies[d->nproxies++];
			if ((e->proxy_name != NULL && *e->proxy_name != '\0' ?
			    (p->name = strdup(e->proxy_name)) == NULL :
			    asprintf(&p->name, "device %lld",
			    (long long)e->proxy_id) < 0) ||
			    (e->proxy_addr != NULL &&
			    (p->addr = strdup(e->proxy_addr)) == NULL))
				goto nomem;
		}
		if ((r = host_parse(e->host, 0, &h, why, sizeof(why))) != 0) {
			if (r == VG_ERR_NOMEM)
				goto nomem;
			snprintf(err, errlen, "%s: proxied device %lld (%s): "
			    "host '%s': %s", source, (long long)e->id,
			    word_show(e->name != NULL ? e->name : "?", shown,
			    sizeof(shown)), word_show(e->host, host,
			    sizeof(host)), why);
			goto out;
		}
		h.port = e->port;
		if (hosts_push(e->protocol == HUB_PROTO_TELNET ? &p->telnet :
		    e->protocol == HUB_PROTO_SMB ? &p->smb : &p->ssh,
		    &h) != 0) {
			free(h.text);
			goto nomem;
		}
	}
	for (i = 0; i < d->nproxies; i++) {
		hosts_sort_unique(&d->proxies[i].ssh);
		hosts_sort_unique(&d->proxies[i].telnet);
		hosts_sort_unique(&d->proxies[i].smb);
	}
	if (hub_proxy_names_distinct(d, ids) != 0)
		goto nomem;
	r = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
	r = VG_ERR_NOMEM;
out:
	free(ids);
	return r;
}

/*
 * The SHA-256 thumbprint of the hub's certificate (tls_cert, else
 * DATA_DIR/hub.crt; the leaf comes first), which agents pin: the check
 * from the hub then compares what answers with it. A certificate that
 * cannot be read (not root, not made yet) leaves no pin: the check still
 * shows what it saw.
 */
static void
read_thumbprint(const struct hub_conf *c, struct ports_deploy *d)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *path = NULL;
	X509 *cert = NULL;
	FILE *f = NULL;

	if (c->tls_cert != NULL)
		path = strdup(c->tls_cert);
	else if (asprintf(&path, "%s/hub.crt", c->data_dir) < 0)
		path = NULL;
	if (path == NULL || (f = fopen(path, "re")) == NULL)
		goto out;
	if ((cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL &&
	    X509_digest(cert, EVP_sha256(), md, &mdlen) && mdlen == 32) {
		memcpy(d->thumbprint, md, 32);
		d->thumbprint_len = 32;
	}
	ERR_clear_error();
out:
	X509_free(cert);
	if (f != NULL)
		fclose(f);
	free(path);
}

/*
 * Runs sql on the hub's database sq (file db) and calls row for each row
 * it gives; what names the rows in messages ("devices"). 0, row's error,
 * or VG_ERR_DB, err set.
 */
static int
db_rows(sqlite3 *sq, const char *db, const char *sql, const char *what,
    int (*row)(sqlite3_stmt *q, void *ctx, char *err, size_t errlen),
    void *ctx, char *err, size_t errlen)
{
	sqlite3_stmt *q = NULL;
	int rc, r = VG_ERR_DB;

	if (sqlite3_prepare_v2(sq, sql, -1, &q, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot read its %s: %s (is it a "
		    "vigil hub database?)", db, what, sqlite3_errmsg(sq));
		goto out;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if ((r = row(q, ctx, err, errlen)) != 0)
			goto out;
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s: reading its %s: %s", db, what,
		    sqlite3_errmsg(sq));
		r = VG_ERR_DB;
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(q);
	return r;
}

/* A row of peers: an address the hub saw an agent register from. */
static int
peer_row(sqlite3_stmt *q, void *ctx, char *err, size_t errlen)
{
	const char *peer = (const char *)sqlite3_column_text(q, 0);

	if (peer != NULL && add_agent(ctx, peer) != 0) {
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	return 0;
}

/* A row of the count of proxied devices' columns the device table has. */
static int
columns_row(sqlite3_stmt *q, void *ctx, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	*(int *)ctx = sqlite3_column_int(q, 0);
	return 0;
}

/* A row of proxied: a proxied device and its proxy. */
static int
proxied_row(sqlite3_stmt *q, void *ctx, char *err, size_t errlen)
{
	return hub_proxied_add(ctx, sqlite3_column_int64(q, 0),
	    (const char *)sqlite3_column_text(q, 1),
	    (const char *)sqlite3_column_text(q, 2),
	    sqlite3_column_int(q, 3), sqlite3_column_int(q, 4),
	    sqlite3_column_int64(q, 5),
	    (const char *)sqlite3_column_text(q, 6),
	    hub_proxy_addr((const char *)sqlite3_column_text(q, 7),
	    (const char *)sqlite3_column_text(q, 8)), err, errlen);
}

/*
 * The distinct addresses the hub saw agents register from, and the
 * proxied devices with their proxy's name and address. A database older
 * than proxied devices (schema 3: no device.kind) has none.
 */
static int
read_devices(sqlite3 *sq, const char *db, struct ports_deploy *d,
    struct hub_proxieds *l, char *err, size_t errlen)
{
	static const char peers[] = "SELECT DISTINCT peer FROM device WHERE "
	    "peer IS NOT NULL AND peer <> '' ORDER BY peer";
	static const char columns[] = "SELECT count(*) FROM "
	    "pragma_table_info('device') WHERE name IN ('kind', 'proxy', "
	    "'host', 'port', 'protocol')";
	static const char proxied[] = "SELECT d.id, d.name, d.host, d.port, "
	    "d.protocol, d.proxy, p.name, p.peer, p.hostname FROM device d "
	    "LEFT JOIN device p ON p.id = d.proxy WHERE d.kind = 1 AND "
	    "d.proxy IS NOT NULL";
	int r, ncolumns = 0;

	if ((r = db_rows(sq, db, peers, "devices", peer_row, d, err,
	    errlen)) != 0 ||
	    (r = db_rows(sq, db, columns, "schema", columns_row, &ncolumns,
	    err, errlen)) != 0)
		return r;
	if (ncolumns != 5)
		return 0;
	return db_rows(sq, db, proxied, "proxied devices", proxied_row, l, err,
	    errlen);
}

/* The agents' addresses and the proxied devices of the hub's database,
 * opened read only. */
static int
read_db(const char *db, struct ports_deploy *d, char *err, size_t errlen)
{
	struct hub_proxieds l = { NULL, 0, 0 };
	sqlite3 *sq = NULL;
	struct stat sb;
	char ebuf[128];
	int rc, e, r = VG_ERR_DB;

	if (stat(db, &sb) != 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s (the hub's database; name the "
		    "hub's data folder with --data-dir)", db,
		    strerror_r(e, ebuf, sizeof(ebuf)));
		return e == ENOENT ? VG_ERR_NOTFOUND : vg_err_from_errno(e);
	}
	if ((rc = sqlite3_open_v2(db, &sq, SQLITE_OPEN_READONLY,
	    NULL)) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open the hub's database "
		    "read only: %s", db, sq != NULL ? sqlite3_errmsg(sq) :
		    sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(sq, 5000);
	if ((r = read_devices(sq, db, d, &l, err, errlen)) != 0)
		goto out;
	r = hub_proxies(d, &l, db, err, errlen);
out:
	hub_proxieds_free(&l);
	sqlite3_close(sq);
	return r;
}

int
ports_deploy_from_hub(const char *hub_conf, const char *data_dir,
    struct ports_deploy *d, char *err, size_t errlen)
{
	struct hub_conf c;
	const char *path = hub_conf != NULL ? hub_conf : HUB_CONF_DEFAULT_PATH;
	char *db = NULL, *host = NULL, *urlpath = NULL, why[160];
	int r, port, missing = 0;

	memset(d, 0, sizeof(*d));
	if ((r = hub_conf_defaults(&c)) != 0) {
		snprintf(err, errlen, "out of memory");
		return r;
	}
	if ((r = hub_conf_load(&c, path, err, errlen)) == VG_ERR_NOTFOUND) {
		missing = 1;
	} else if (r != 0) {
		goto out;
	}
	r = VG_ERR_NOMEM;
	if (data_dir != NULL) {
		free(c.data_dir);
		if ((c.data_dir = strdup(data_dir)) == NULL)
			goto nomem;
	}
	if ((db = hub_conf_database(&c)) == NULL)
		goto nomem;
	if (strstr(db, "://") != NULL) {
		snprintf(err, errlen, "%s: database %s: only the SQLite "
		    "database is read here; use --api", path, db);
		r = VG_ERR_INVAL;
		goto out;
	}
	if ((r = read_db(db, d, err, errlen)) != 0)
		goto out;
	r = VG_ERR_NOMEM;
	if (c.public_url != NULL) {
		if ((r = url_split(c.public_url, &host, &port, &urlpath, why,
		    sizeof(why))) != 0) {
			if (r == VG_ERR_NOMEM)
				goto nomem;
			snprintf(err, errlen, "%s: url '%s': %s", path,
			    c.public_url, why);
			goto out;
		}
		d->hub_host = host;
		d->hub_path = urlpath;
	} else {
		if (is_wildcard(c.listen_host)) {
			if (own_hostname(&d->hub_host) != 0)
				goto nomem;
		} else if ((d->hub_host = strdup(c.listen_host)) == NULL) {
			goto nomem;
		}
		if ((d->hub_path = strdup(PD_DEFAULT_PATH)) == NULL)
			goto nomem;
	}
	d->hub_port = c.port;
	d->agents_known = d->agents.n > 0;
	read_thumbprint(&c, d);
	/* A missing hub.conf is said only when it was named: the default
	 * one is optional. */
	if ((missing && hub_conf == NULL ? asprintf(&d->source, "the hub's "
	    "defaults and %s", db) : asprintf(&d->source, "%s%s and %s", path,
	    missing ? " (not found: the defaults)" : "", db)) < 0) {
		d->source = NULL;
		goto nomem;
	}
	r = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
	r = VG_ERR_NOMEM;
out:
	if (r != 0)
		ports_deploy_free(d);
	free(db);
	hub_conf_free(&c);
	return r;
}

/* ---- through the hub's API ---- */

struct api {
	CURL *curl;
	char *base;                 /* https://HOST[:PORT]/PATH/ */
	char *buf;                  /* the answer being received */
	size_t len, cap;
	int too_big;
	struct hc_pin pin;          /* --thumbprint; what the hub showed */
	char errbuf[CURL_ERROR_SIZE];
};

static size_t
api_write_cb(char *data, size_t size, size_t n, void *ud)
{
	struct api *a = ud;
	int r;

	/* The old buffer may hold the token: vg_buf_append wipes it. */
	if ((r = vg_buf_append(&a->buf, &a->len, &a->cap, data, size * n,
	    API_MAX_ANSWER)) != 0) {
		a->too_big = r == VG_ERR_TOOBIG;
		return 0;
	}
	return size * n;
}

static void
api_free(struct api *a)
{
	if (a->curl != NULL)
		curl_easy_cleanup(a->curl);
	if (a->buf != NULL) {
		explicit_bzero(a->buf, a->cap);
		free(a->buf);
	}
	free(a->base);
	memset(a, 0, sizeof(*a));
}

/* The base URL: https:// added when no scheme is given, "/api/" when no
 * path is, and a final '/'. */
static int
api_base(const char *url, char **out, char *err, size_t errlen)
{
	char *u = NULL, *host = NULL, *path = NULL, why[160];
	int port, r;

	*out = NULL;
	if (strstr(url, "://") == NULL) {
		if (asprintf(&u, "https://%s", url) < 0)
			return VG_ERR_NOMEM;
	} else if ((u = strdup(url)) == NULL) {
		return VG_ERR_NOMEM;
	}
	if ((r = url_split(u, &host, &port, &path, why, sizeof(why))) != 0) {
		if (r == VG_ERR_INVAL)
			snprintf(err, errlen, "--api '%s': %s", url, why);
		goto out;
	}
	/* Written back from its parts so that the path always ends in '/'. */
	if (asprintf(out, "https://%s%s%s:%d%s", strchr(host, ':') != NULL ?
	    "[" : "", host, strchr(host, ':') != NULL ? "]" : "", port,
	    path) < 0) {
		*out = NULL;
		r = VG_ERR_NOMEM;
	}
out:
	free(u);
	free(host);
	free(path);
	return r;
}

static int
api_open(struct api *a, const char *url, const char *thumbprint,
    int insecure, char *err, size_t errlen)
{
	CURLcode cr = CURLE_OK;
	int r;

	memset(a, 0, sizeof(*a));
	if (hc_global_init() != 0) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return VG_ERR_INTERNAL;
	}
	if (thumbprint != NULL && vg_thumbprint_parse(thumbprint,
	    a->pin.thumbprint, &a->pin.thumbprint_len) != 0) {
		snprintf(err, errlen, "--thumbprint: expected the SHA-256 (64 "
		    "hex digits) or SHA-1 (40) fingerprint of the hub's "
		    "certificate; colons and spaces are ignored");
		return VG_ERR_INVAL;
	}
	if ((r = api_base(url, &a->base, err, errlen)) != 0) {
		if (r == VG_ERR_NOMEM)
			snprintf(err, errlen, "out of memory");
		return r;
	}
	if ((a->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
#define SET(opt, val) do { if (cr == CURLE_OK) \
	cr = curl_easy_setopt(a->curl, opt, val); } while (0)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_ERRORBUFFER, a->errbuf);
	SET(CURLOPT_USERAGENT, "vigil-ports/" VIGIL_VERSION);
	SET(CURLOPT_CONNECTTIMEOUT, 10L);
	SET(CURLOPT_TIMEOUT, 120L);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_WRITEFUNCTION, api_write_cb);
	SET(CURLOPT_WRITEDATA, a);
	/* The pin decides in the handshake, so the password never goes to
	 * a hub with another certificate. */
	if (cr == CURLE_OK)
		cr = hc_pin_use(a->curl, &a->pin);
	if (insecure) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
#undef SET
	if (cr != CURLE_OK) {
		snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(cr));
		return cr == CURLE_OUT_OF_MEMORY ? VG_ERR_NOMEM :
		    VG_ERR_INTERNAL;
	}
	return 0;
}

/*
 * One request: method on base + rel, body (JSON) or NULL, the session
 * token or NULL. 200 gives the answer's JSON object in *ans (caller
 * decrefs); other statuses an error with the hub's message. The buffer
 * is wiped after each answer: it may hold the token.
 */
static int
api_call(struct api *a, const char *method, const char *rel,
    const char *body, const char *token, json_t **ans, char *err,
    size_t errlen)
{
	struct curl_slist *hdr = NULL, *h;
	json_error_t je;
	json_t *j = NULL;
	const char *msg;
	char *url = NULL;
	CURLcode cr = CURLE_OK;
	long status = 0;
	int r = VG_ERR_NOMEM;

	if (ans != NULL)
		*ans = NULL;
	if (a->buf != NULL)
		explicit_bzero(a->buf, a->cap);
	a->len = 0;
	a->too_big = 0;
	a->errbuf[0] = '\0';
	hc_pin_reset(&a->pin);
	if (asprintf(&url, "%s%s", a->base, rel) < 0) {
		url = NULL;
		goto fail_nomem;
	}
	if ((h = curl_slist_append(hdr, "Accept: application/json")) == NULL)
		goto fail_nomem;
	hdr = h;
	if (body != NULL) {
		if ((h = curl_slist_append(hdr,
		    "Content-Type: application/json")) == NULL)
			goto fail_nomem;
		hdr = h;
	}
#define SET(opt, val) do { if (cr == CURLE_OK) \
	cr = curl_easy_setopt(a->curl, opt, val); } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_HTTPHEADER, hdr);
	SET(CURLOPT_CUSTOMREQUEST, method);
	SET(CURLOPT_HTTPGET, 1L);
	if (body != NULL) {
		SET(CURLOPT_POSTFIELDS, body);
		SET(CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	SET(CURLOPT_HTTPAUTH, token != NULL ? CURLAUTH_BEARER : CURLAUTH_NONE);
	SET(CURLOPT_XOAUTH2_BEARER, token);
#undef SET
	if (cr == CURLE_OK)
		cr = curl_easy_perform(a->curl);
	/* The body is the caller's (it holds the password): not kept. */
	curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(a->curl, CURLOPT_POSTFIELDSIZE, -1L);
	curl_easy_setopt(a->curl, CURLOPT_XOAUTH2_BEARER, NULL);
	curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, NULL);
	if (cr != CURLE_OK) {
		if (a->pin.failed) {
			snprintf(err, errlen, "%s: the hub's certificate "
			    "(SHA-256 %s) does not match --thumbprint", a->base,
			    a->pin.have_fp ? a->pin.seen_fp : "?");
			r = VG_ERR_CRYPTO;
		} else if (a->too_big) {
			snprintf(err, errlen, "%s: answer larger than %ld "
			    "bytes", url, API_MAX_ANSWER);
			r = VG_ERR_TOOBIG;
		} else {
			snprintf(err, errlen, "%s: %s", url, a->errbuf[0] !=
			    '\0' ? a->errbuf : curl_easy_strerror(cr));
			r = cr == CURLE_OUT_OF_MEMORY ? VG_ERR_NOMEM :
			    cr == CURLE_PEER_FAILED_VERIFICATION ||
			    cr == CURLE_SSL_CONNECT_ERROR ? VG_ERR_CRYPTO :
			    VG_ERR_IO;
			if (r == VG_ERR_CRYPTO && a->pin.thumbprint_len == 0) {
				size_t n = strlen(err);

				if (a->pin.have_fp)
					snprintf(err + n, errlen > n ? errlen -
					    n : 0, " (it presents SHA-256 %s: "
					    "give it as --thumbprint if it is "
					    "the hub's, as HubDetails.xml pins "
					    "it, or --insecure)",
					    a->pin.seen_fp);
				else
					snprintf(err + n, errlen > n ? errlen -
					    n : 0, " (give the hub's "
					    "--thumbprint, as HubDetails.xml "
					    "pins it, or --insecure)");
			}
		}
		goto out;
	}
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
	if (a->len > 0)
		j = json_loadb(a->buf, a->len, 0, &je);
	if (status != 200 && status != 204) {
		msg = json_string_value(json_object_get(j, "message"));
		snprintf(err, errlen, "%s %s: HTTP %ld%s%.300s", method, url,
		    status, msg != NULL ? ": " : "", msg != NULL ? msg : "");
		r = status == 401 || status == 403 ? VG_ERR_PERM :
		    status == 404 ? VG_ERR_NOTFOUND : VG_ERR_IO;
		goto out;
	}
	if (ans != NULL && !json_is_object(j)) {
		snprintf(err, errlen, "%s %s: the answer is not a JSON object "
		    "(is this a vigil hub?)", method, url);
		r = VG_ERR_FORMAT;
		goto out;
	}
	if (ans != NULL) {
		*ans = j;
		j = NULL;
	}
	r = 0;
	goto out;
fail_nomem:
	snprintf(err, errlen, "out of memory");
	r = VG_ERR_NOMEM;
out:
	if (a->buf != NULL)
		explicit_bzero(a->buf, a->cap);
	json_decref(j);
	curl_slist_free_all(hdr);
	free(url);
	return r;
}

/* Signs in; the token goes to tok (tokmax bytes, wiped by the caller). */
static int
api_sign_in(struct api *a, const char *user, const char *password,
    char *tok, size_t tokmax, char *err, size_t errlen)
{
	json_t *req, *ans = NULL;
	const char *t;
	char *body = NULL;
	int r;

	if ((req = json_pack("{s:s, s:s}", "username", user, "password",
	    password)) == NULL) {
		snprintf(err, errlen, "user name or password is not UTF-8 "
		    "text");
		return VG_ERR_INVAL;
	}
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (body == NULL) {
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	r = api_call(a, "POST", "v1/session", body, NULL, &ans, err, errlen);
	explicit_bzero(body, strlen(body));
	free(body);
	if (r != 0)
		return r;
	t = json_string_value(json_object_get(ans, "token"));
	if (t == NULL || *t == '\0' || strlen(t) >= tokmax) {
		snprintf(err, errlen, "POST %sv1/session: the answer holds no "
		    "token", a->base);
		r = VG_ERR_FORMAT;
	} else {
		snprintf(tok, tokmax, "%s", t);
	}
	json_decref(ans);
	return r;
}

/* Hub host, port, path and thumbprint from GET v1/hub. */
static int
api_hub(struct api *a, const char *tok, struct ports_deploy *d, char *err,
    size_t errlen)
{
	json_t *ans = NULL;
	const char *url, *thumb;
	char why[160];
	int r;

	if ((r = api_call(a, "GET", "v1/hub", NULL, tok, &ans, err,
	    errlen)) != 0)
		return r;
	url = json_string_value(json_object_get(ans, "url"));
	if (url == NULL || *url == '\0')
		url = a->base;
	if ((r = url_split(url, &d->hub_host, &d->hub_port, &d->hub_path, why,
	    sizeof(why))) != 0) {
		if (r == VG_ERR_NOMEM)
			snprintf(err, errlen, "out of memory");
		else
			snprintf(err, errlen, "GET %sv1/hub: url '%.200s': %s",
			    a->base, url, why);
		goto out;
	}
	/* The pin given, else the one agents are given. */
	if (a->pin.thumbprint_len > 0) {
		memcpy(d->thumbprint, a->pin.thumbprint,
		    a->pin.thumbprint_len);
		d->thumbprint_len = a->pin.thumbprint_len;
	} else if ((thumb = json_string_value(json_object_get(ans,
	    "thumbprint"))) != NULL &&
	    vg_thumbprint_parse(thumb, d->thumbprint,
	    &d->thumbprint_len) != 0) {
		d->thumbprint_len = 0;
	}
	r = 0;
out:
	json_decref(ans);
	return r;
}

/* What the device list gives besides the agents' addresses: the
 * proxied devices, and where each agent connects from (by device id). */
struct api_seen {
	struct hub_proxieds proxied;
	struct api_agent {
		int64_t id;
		char *addr;
	} *agents;
	size_t nagents, cap;
};

static void
api_seen_free(struct api_seen *s)
{
	size_t i;

	hub_proxieds_free(&s->proxied);
	for (i = 0; i < s->nagents; i++)
		free(s->agents[i].addr);
	free(s->agents);
	memset(s, 0, sizeof(*s));
}

/* Keeps where agent id connects from, should it be a proxy. */
static int
api_agent_add(struct api_seen *s, int64_t id, const char *addr)
{
	struct api_agent *v;
	size_t cap;

	if (addr == NULL || s->nagents >= PD_MAX_HOSTS)
		return 0;
	if (s->nagents == s->cap) {
		cap = s->cap == 0 ? 16 : 2 * s->cap;
		if ((v = reallocarray(s->agents, cap, sizeof(*v))) == NULL)
			return VG_ERR_NOMEM;
		s->agents = v;
		s->cap = cap;
	}
	if ((s->agents[s->nagents].addr = strdup(addr)) == NULL)
		return VG_ERR_NOMEM;
	s->agents[s->nagents++].id = id;
	return 0;
}

static int
api_agent_cmp(const void *a, const void *b)
{
	const struct api_agent *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Each proxied device's proxy_addr: where its proxy connects from. */
static int
api_proxy_addrs(struct api_seen *s)
{
	struct api_agent key = { 0, NULL }, *found;
	struct hub_proxied *e;
	size_t i;

	if (s->nagents > 1)
		qsort(s->agents, s->nagents, sizeof(s->agents[0]),
		    api_agent_cmp);
	for (i = 0; i < s->proxied.n; i++) {
		e = &s->proxied.v[i];
		key.id = e->proxy_id;
		if (s->nagents == 0 || (found = bsearch(&key, s->agents,
		    s->nagents, sizeof(s->agents[0]), api_agent_cmp)) == NULL)
			continue;
		if ((e->proxy_addr = strdup(found->addr)) == NULL)
			return VG_ERR_NOMEM;
	}
	return 0;
}

/* A proxied device object: its "proxied" member. */
static int
api_proxied(struct api_seen *s, const json_t *dev, char *err,
    size_t errlen)
{
	const json_t *px = json_object_get(dev, "proxied");
	const char *proto;
	json_int_t port;
	int protocol = 0;

	if (!json_is_object(px))
		return 0;
	proto = json_string_value(json_object_get(px, "protocol"));
	if (proto != NULL && strcmp(proto, "ssh") == 0)
		protocol = HUB_PROTO_SSH;
	else if (proto != NULL && strcmp(proto, "telnet") == 0)
		protocol = HUB_PROTO_TELNET;
	else if (proto != NULL && strcmp(proto, "smb") == 0)
		protocol = HUB_PROTO_SMB;
	port = json_integer_value(json_object_get(px, "port"));
	return hub_proxied_add(&s->proxied,
	    json_integer_value(json_object_get(dev, "id")),
	    json_string_value(json_object_get(dev, "name")),
	    json_string_value(json_object_get(px, "host")),
	    port >= 1 && port <= 65535 ? (int)port : 0, protocol,
	    json_integer_value(json_object_get(px, "proxy_id")),
	    json_string_value(json_object_get(px, "proxy")), NULL, err,
	    errlen);
}

/* An agent's addresses: where the hub saw it from, else what it
 * reported. Devices sent by another agent (a proxy's) are not agents;
 * proxied devices are kept in s. */
static int
api_device(struct ports_deploy *d, struct api_seen *s, const json_t *dev,
    char *err, size_t errlen)
{
	const json_t *agent = json_object_get(dev, "agent_id"), *ips, *ip;
	const json_t *id = json_object_get(dev, "id");
	const char *peer, *kind;
	size_t i;
	int r = 0;

	kind = json_string_value(json_object_get(dev, "kind"));
	if (kind != NULL && strcmp(kind, "proxied") == 0)
		return api_proxied(s, dev, err, errlen);
	if (json_is_integer(agent) && json_integer_value(agent) !=
	    json_integer_value(id))
		return 0;
	peer = json_string_value(json_object_get(dev, "peer"));
	if (json_is_integer(id) && (r = api_agent_add(s,
	    json_integer_value(id), hub_proxy_addr(peer, json_string_value(
	    json_object_get(dev, "hostname"))))) != 0)
		goto out;
	if (peer != NULL && agent_addr_ok(peer)) {
		r = add_agent(d, peer);
		goto out;
	}
	ips = json_object_get(dev, "ips");
	json_array_foreach(ips, i, ip) {
		if (json_is_string(ip) &&
		    (r = add_agent(d, json_string_value(ip))) != 0)
			goto out;
	}
out:
	if (r != 0)
		snprintf(err, errlen, "out of memory");
	return r;
}

/* Every page of GET v1/devices (cursor "next"). */
static int
api_devices(struct api *a, const char *tok, struct ports_deploy *d,
    struct api_seen *seen, char *err, size_t errlen)
{
	json_t *ans = NULL, *list, *next, *dev;
	json_int_t after = 0;
	char rel[96];
	size_t i, page;
	int r = 0;

	for (page = 0; page < API_MAX_PAGES; page++) {
		if (page == 0)
			snprintf(rel, sizeof(rel), "v1/devices?limit=%d",
			    API_PAGE);
		else
			snprintf(rel, sizeof(rel), "v1/devices?limit=%d&"
			    "after=%" JSON_INTEGER_FORMAT, API_PAGE, after);
		if ((r = api_call(a, "GET", rel, NULL, tok, &ans, err,
		    errlen)) != 0)
			return r;
		list = json_object_get(ans, "devices");
		next = json_object_get(ans, "next");
		if (!json_is_array(list) || (!json_is_null(next) &&
		    !json_is_integer(next))) {
			snprintf(err, errlen, "GET %s%s: no device list in the "
			    "answer", a->base, rel);
			r = VG_ERR_FORMAT;
			goto out;
		}
		json_array_foreach(list, i, dev) {
			if ((r = api_device(d, seen, dev, err, errlen)) != 0)
				goto out;
		}
		if (json_is_null(next) || json_array_size(list) == 0)
			goto out;
		if (json_integer_value(next) <= after) {
			snprintf(err, errlen, "GET %s%s: the device list does "
			    "not advance (next %" JSON_INTEGER_FORMAT ")",
			    a->base, rel, json_integer_value(next));
			r = VG_ERR_FORMAT;
			goto out;
		}
		after = json_integer_value(next);
		json_decref(ans);
		ans = NULL;
	}
out:
	json_decref(ans);
	return r;
}

int
ports_deploy_from_api(const char *url, const char *user,
    const char *password, const char *thumbprint, int insecure,
    struct ports_deploy *d, char *err, size_t errlen)
{
	struct api a;
	struct api_seen seen;
	char tok[256] = "", ignore[64];
	int r, signed_in = 0;

	memset(d, 0, sizeof(*d));
	memset(&seen, 0, sizeof(seen));
	if ((r = api_open(&a, url, thumbprint, insecure, err, errlen)) != 0)
		goto out;
	if ((r = api_sign_in(&a, user, password, tok, sizeof(tok), err,
	    errlen)) != 0)
		goto out;
	signed_in = 1;
	if ((r = api_hub(&a, tok, d, err, errlen)) != 0 ||
	    (r = api_devices(&a, tok, d, &seen, err, errlen)) != 0)
		goto out;
	if ((r = api_proxy_addrs(&seen)) != 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((r = hub_proxies(d, &seen.proxied, a.base, err, errlen)) != 0)
		goto out;
	hosts_sort_unique(&d->agents);
	d->agents_known = d->agents.n > 0;
	if ((d->source = strdup(a.base)) == NULL) {
		snprintf(err, errlen, "out of memory");
		r = VG_ERR_NOMEM;
		goto out;
	}
	r = 0;
out:
	/* Signing out is a courtesy: its failure changes nothing. */
	if (signed_in)
		api_call(&a, "DELETE", "v1/session", NULL, tok, NULL, ignore,
		    sizeof(ignore));
	explicit_bzero(tok, sizeof(tok));
	api_seen_free(&seen);
	api_free(&a);
	if (r != 0)
		ports_deploy_free(d);
	return r;
}

/* ---- on an agent: HubDetails.xml ---- */

int
ports_deploy_from_hubdetails(const char *path, struct ports_deploy *d,
    char *err, size_t errlen)
{
	struct hubdetails hd;
	char why[160];
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = hd_load(path, &hd, err, errlen)) != 0)
		return r;
	if ((r = url_split(hd.url, &d->hub_host, &d->hub_port, &d->hub_path,
	    why, sizeof(why))) != 0) {
		if (r == VG_ERR_NOMEM)
			snprintf(err, errlen, "out of memory");
		else
			snprintf(err, errlen, "%s: <Url> '%s': %s", path,
			    hd.url, why);
		goto out;
	}
	memcpy(d->thumbprint, hd.thumbprint, hd.thumbprint_len);
	d->thumbprint_len = hd.thumbprint_len;
	if ((d->source = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		r = VG_ERR_NOMEM;
		goto out;
	}
	r = 0;
out:
	hd_free(&hd);
	if (r != 0)
		ports_deploy_free(d);
	return r;
}
