/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/random.h>

#include <inttypes.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fakedev.h"
#include "fd_synth.h"
#include "vg_err.h"
#include "vg_util.h"

#define EXTRA_MAX (1024 * 1024)

struct out {
	char **buf;
	size_t *used, *cap;
};

static int
put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
put(struct out *o, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return VG_ERR_INTERNAL;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	return vg_buf_append(o->buf, o->used, o->cap, line, (size_t)n,
	    FD_ANSWER_MAX);
}

/* The device's own numbers: the same for a name at every session. */
static uint64_t
seed_of(const char *name)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return h;
}

static uint64_t
next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* What changes at every session. */
static uint64_t
session_random(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint64_t)time(NULL) ^ (uint64_t)clock();
	return v;
}

/* n characters of a crypt-like alphabet. */
static void
crypt_chars(uint64_t *s, char *out, size_t n)
{
	static const char a[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz";
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = a[next(s) % (sizeof(a) - 1)];
	out[n] = '\0';
}

static int
show_version(struct out *o, const char *name)
{
	static _Atomic uint64_t sessions;
	uint64_t s = seed_of(name) ^ 0x7e57, up;
	char board[16];

	/* Days from the name, then one more minute at every session of
	 * this server: the uptime is never the same twice. */
	up = (next(&s) % 400) * 86400 + (uint64_t)time(NULL) % 86400 +
	    atomic_fetch_add(&sessions, 1) * 60;
	crypt_chars(&s, board, 11);
	return put(o, "Cisco IOS XE Software, Version 17.09.04a\n"
	    "Cisco IOS Software [Cupertino], Catalyst L3 Switch Software "
	    "(CAT9K_LITE_IOSXE), Version 17.9.4a, RELEASE SOFTWARE (fc3)\n"
	    "Technical Support: http://www.cisco.com/techsupport\n"
	    "Copyright (c) 1986-2023 by Cisco Systems, Inc.\n"
	    "Compiled Fri 20-Oct-23 10:33 by mcpre\n\n"
	    "ROM: IOS-XE ROMMON\n") != 0 ||
	    put(o, "%s uptime is %" PRIu64 " weeks, %" PRIu64 " days, %"
	    PRIu64 " hours, %" PRIu64 " minutes\n", name, up / 604800,
	    up / 86400 % 7, up / 3600 % 24, up / 60 % 60) != 0 ||
	    put(o, "Uptime for this control processor is %" PRIu64 " days, %"
	    PRIu64 " minutes\n", up / 86400, up / 60 % 60) != 0 ||
	    put(o, "System returned to ROM by Reload Command\n"
	    "System image file is \"flash:packages.conf\"\n\n"
	    "cisco C9200L-24P-4G (ARM64) processor with 868521K/6147K "
	    "bytes of memory.\nProcessor board ID %s\n"
	    "24 Gigabit Ethernet interfaces\n4 Ten Gigabit Ethernet "
	    "interfaces\nConfiguration register is 0x102\n", board) != 0 ?
	    VG_ERR_NOMEM : 0;
}

static int
show_inventory(struct out *o, const char *name)
{
	uint64_t s = seed_of(name) ^ 0x5a5a;

	return put(o, "NAME: \"c92xxL Stack\", DESCR: \"c92xxL Stack\"\n"
	    "PID: C9200L-24P-4G     , VID: V01  , SN: JAE%08" PRIX64 "\n\n",
	    next(&s) & 0xffffffffu) != 0 ||
	    put(o, "NAME: \"Switch 1\", DESCR: \"C9200L-24P-4G\"\n"
	    "PID: C9200L-24P-4G     , VID: V01  , SN: JAE%08" PRIX64 "\n\n",
	    next(&s) & 0xffffffffu) != 0 ||
	    put(o, "NAME: \"Switch 1 - Power Supply A\", DESCR: \"Switch 1 - "
	    "Power Supply A\"\nPID: PWR-C5-600WAC    , VID: V02  , SN: "
	    "DCB%08" PRIX64 "\n", next(&s) & 0xffffffffu) != 0 ?
	    VG_ERR_NOMEM : 0;
}

/* The lines of STATE_DIR/NAME.extra, each ended by '\n'. */
static int
extra_lines(const struct fd_conf *c, const char *name, struct out *o,
    size_t *lines)
{
	char path[4096], err[256], *text = NULL, *p, *nl;
	size_t len;
	int r;

	*lines = 0;
	if (c->state_dir == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s.extra", c->state_dir, name);
	if (vg_read_file(path, EXTRA_MAX, &text, &len, err, sizeof(err)) != 0)
		return 0;
	r = 0;
	for (p = text; *p != '\0' && r == 0; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		else
			nl = p + strlen(p);
		len = strlen(p);
		if (len > 0 && p[len - 1] == '\r')
			p[--len] = '\0';
		r = put(o, "%s\n", p);
		(*lines)++;
	}
	free(text);
	return r;
}

/*
 * The running configuration: a fixed head, interface blocks up to the
 * requested size, a fixed tail, the .extra lines before "end". Built
 * without its "Current configuration" header, whose size it gives.
 */
static int
config_body(const struct fd_conf *c, const char *name, struct out *o)
{
	uint64_t s = seed_of(name), rnd = session_random();
	char salt[5], hash[23], salt2[5], hash2[23], comm[13], comm2[13];
	char when[64];
	struct tm tm;
	time_t now = time(NULL);
	size_t lines, extra, target = (size_t)c->synthetic_lines, i;
	int r;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S UTC %a %b %d %Y", &tm);
	crypt_chars(&s, salt, 4);
	crypt_chars(&s, hash, 22);
	crypt_chars(&s, salt2, 4);
	crypt_chars(&s, hash2, 22);
	crypt_chars(&s, comm, 12);
	crypt_chars(&s, comm2, 12);
	if ((r = put(o, "!\n! Last configuration change at %s by admin\n"
	    "! NVRAM config last updated at %s by admin\n!\n", when,
	    when)) != 0 ||
	    (r = put(o, "version 17.9\nservice timestamps debug datetime "
	    "msec\nservice timestamps log datetime msec\nservice "
	    "password-encryption\n!\nhostname %s\n!\nboot-start-marker\n"
	    "boot-end-marker\n!\n", name)) != 0 ||
	    (r = put(o, "enable secret 5 $1$%s$%s\n!\n", salt, hash)) != 0 ||
	    (r = put(o, "username admin privilege 15 secret 5 $1$%s$%s\n"
	    "aaa new-model\n!\nclock timezone UTC 0 0\nip domain name "
	    "example.net\nip name-server 192.0.2.53\n!\n", salt2,
	    hash2)) != 0)
		return r;
	/* 3 lines of header, 23 so far, 14 in the tail: the rest is
	 * interfaces, 5 lines each, then "!" fillers. */
	lines = 3 + 23 + 14;
	for (i = 1; lines + 5 <= target; i++, lines += 5) {
		if ((r = put(o, "interface GigabitEthernet1/0/%zu\n description "
		    "port %zu of %s\n switchport access vlan %u\n switchport "
		    "mode access\n!\n", i, i, name,
		    (unsigned int)(next(&s) % 4000 + 2))) != 0)
			return r;
	}
	for (; lines < target; lines++)
		if ((r = put(o, "!\n")) != 0)
			return r;
	if ((r = put(o, "ip ssh version 2\nsnmp-server community %s RO\n"
	    "snmp-server community %s RW\nsnmp-server location rack %u\n",
	    comm, comm2, (unsigned int)(next(&s) % 100))) != 0 ||
	    (r = put(o, "ntp clock-period %u\nntp server 192.0.2.123\n!\n",
	    (unsigned int)(17179000 + rnd % 1000))) != 0 ||
	    (r = put(o, "line con 0\n stopbits 1\nline vty 0 4\n transport "
	    "input ssh telnet\n!\n")) != 0 ||
	    (r = extra_lines(c, name, o, &extra)) != 0)
		return r;
	return put(o, "end\n\n");
}

static int
running_config(const struct fd_conf *c, const char *name, struct out *o)
{
	char *body = NULL;
	size_t used = 0, cap = 0;
	struct out bo = { &body, &used, &cap };
	int r;

	if ((r = config_body(c, name, &bo)) == 0 &&
	    (r = put(o, "Building configuration...\n\nCurrent configuration "
	    ": %zu bytes\n", used)) == 0)
		r = vg_buf_append(o->buf, o->used, o->cap, body, used,
		    FD_ANSWER_MAX);
	free(body);
	return r;
}

int
fd_synth_output(const struct fd_conf *c, const char *name,
    const char *command, int privileged, char **buf, size_t *used,
    size_t *cap, int *known)
{
	struct out o = { buf, used, cap };

	*known = 1;
	if (strncmp(command, "terminal length ", 16) == 0 ||
	    strncmp(command, "terminal width ", 15) == 0)
		return 0;
	if (strcmp(command, "show version") == 0)
		return show_version(&o, name);
	if (strcmp(command, "show inventory") == 0)
		return show_inventory(&o, name);
	if (privileged && (strcmp(command, "show running-config") == 0 ||
	    strcmp(command, "show run") == 0))
		return running_config(c, name, &o);
	*known = 0;
	return 0;
}
