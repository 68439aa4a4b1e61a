/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for cli/ports_deploy.c: the input is a deployment
 * file. Beyond not crashing: a file that parses has a hub with a port of
 * 1..65535 and a path that starts and ends with '/', a thumbprint of 0,
 * 20 or 32 bytes, at most 65536 hosts, every one non-empty and printable
 * with a port of 0..65535, and builds a matrix whose flows have ids in
 * order, a destination, a port and, for Telnet only, the insecure flag;
 * a file that does not gives a message that names the source and leaves
 * nothing allocated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static size_t
check_hosts(const struct ports_hosts *h)
{
	size_t i;
	const char *s;

	CHECK(h->n == 0 || h->v != NULL);
	for (i = 0; i < h->n; i++) {
		s = h->v[i].text;
		CHECK(s != NULL && *s != '\0' && strlen(s) <= 300);
		for (; *s != '\0'; s++)
			CHECK((unsigned char)*s > 0x20 && *s != 0x7f &&
			    *s != '#');
		CHECK(h->v[i].port >= 0 && h->v[i].port <= 65535);
		CHECK(h->v[i].is_net == 0 || h->v[i].is_net == 1);
	}
	return h->n;
}

static void
check_matrix(const struct ports_deploy *d)
{
	struct ports_matrix m;
	size_t i;

	CHECK(ports_matrix_build(d, &m) == 0);
	CHECK(m.n >= 2 && m.d == d);
	for (i = 0; i < m.n; i++) {
		const struct ports_flow *f = &m.v[i];

		CHECK(f->id == (int)i + 1);
		CHECK(f->port >= 1 && f->port <= 65535);
		CHECK(f->to.n > 0);
		check_hosts(&f->from);
		check_hosts(&f->to);
		CHECK(f->insecure == (f->service == PORTS_TELNET));
		CHECK((f->advice != NULL) == f->insecure);
		CHECK(f->opened_by != NULL && f->purpose != NULL);
		CHECK((f->proxy != NULL) == (f->from_role ==
		    PORTS_ROLE_PROXY));
	}
	ports_matrix_free(&m);
	CHECK(m.v == NULL && m.n == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ports_deploy d;
	char err[512];
	size_t i, n = 0, plen;

	if (ports_deploy_parse((const char *)data, size, "f.conf", &d, err,
	    sizeof(err)) != 0) {
		CHECK(strncmp(err, "f.conf:", 7) == 0);
		CHECK(d.hub_host == NULL && d.source == NULL &&
		    d.proxies == NULL && d.console.v == NULL &&
		    d.agents.v == NULL);
		return 0;
	}
	CHECK(d.hub_host != NULL && *d.hub_host != '\0');
	CHECK(d.hub_port >= 1 && d.hub_port <= 65535);
	CHECK(d.hub_line >= 1);
	CHECK(d.hub_path != NULL && d.hub_path[0] == '/');
	plen = strlen(d.hub_path);
	CHECK(d.hub_path[plen - 1] == '/');
	CHECK(d.thumbprint_len == 0 || d.thumbprint_len == 20 ||
	    d.thumbprint_len == 32);
	CHECK(d.source != NULL && strcmp(d.source, "f.conf") == 0);
	n += check_hosts(&d.console) + check_hosts(&d.agents) + 1;
	for (i = 0; i < d.nproxies; i++) {
		CHECK(d.proxies[i].name != NULL && d.proxies[i].line >= 1);
		n += 1 + check_hosts(&d.proxies[i].ssh) +
		    check_hosts(&d.proxies[i].telnet) +
		    check_hosts(&d.proxies[i].smb);
	}
	CHECK(n <= 65536);
	CHECK(d.agents_known == 0 || d.agents_known == 1);
	check_matrix(&d);
	ports_deploy_free(&d);
	return 0;
}
