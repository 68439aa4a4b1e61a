/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect_int.h"
#include "vg_err.h"

/*
 * Listening ports from /proc/net and kernel parameters from /proc/sys.
 * Both name things that stay the same across a restart: a port's owner
 * is the command name, never the pid.
 */

/* Bounds on the walk of /proc: processes, and descriptors in all. */
#define PROC_MAX 100000
#define FDS_MAX 2000000
#define SOCKS_MAX 100000

struct sock {
	char name[80];
	uid_t uid;
	unsigned long inode;
	char comm[32];           /* the least owner name found, "" if none */
};

struct socks {
	struct sock *v;
	size_t n, cap;
};

/* The kernel prints the address words as host-order integers. */
static int
parse_addr(const char *hex, int v6, char *out, size_t outlen)
{
	unsigned char a[16];
	char word[9], txt[INET6_ADDRSTRLEN];
	size_t i, words = v6 ? 4 : 1;
	unsigned long w;
	uint32_t w32;
	char *end;

	if (strlen(hex) != words * 8)
		return VG_ERR_INVAL;
	for (i = 0; i < words; i++) {
		memcpy(word, hex + i * 8, 8);
		word[8] = '\0';
		w = strtoul(word, &end, 16);
		if (*end != '\0')
			return VG_ERR_INVAL;
		w32 = (uint32_t)w;
		memcpy(a + i * 4, &w32, 4);
	}
	if (inet_ntop(v6 ? AF_INET6 : AF_INET, a, txt, sizeof(txt)) == NULL)
		return VG_ERR_INVAL;
	snprintf(out, outlen, v6 ? "[%s]" : "%s", txt);
	return 0;
}

static int
socks_add(struct socks *ss, const struct sock *k)
{
	if (ss->n >= SOCKS_MAX)
		return 0;
	if (col_grow(&ss->v, &ss->cap, ss->n, sizeof(*ss->v)) != 0)
		return VG_ERR_NOMEM;
	ss->v[ss->n++] = *k;
	return 0;
}

static int table_parse(char *buf, size_t len, const char *proto, int v6,
    int udp, struct socks *ss);

/* One /proc/net table: TCP sockets in LISTEN, UDP ones not connected. */
static int
read_table(const struct collect_opts *o, const char *proto, int v6, int udp,
    struct socks *ss)
{
	char path[PATH_MAX], file[64], *buf;
	size_t len;
	int r;

	snprintf(file, sizeof(file), "/proc/net/%s", proto);
	if (col_path(o, file, path, sizeof(path)) != 0 ||
	    col_read_file(path, COL_FILE_MAX, &buf, &len) != 0)
		return 0;   /* no IPv6, or no /proc: nothing listens there */
	r = table_parse(buf, len, proto, v6, udp, ss);
	free(buf);
	return r;
}

/* The lines of one /proc/net table (buf changed in place). */
static int
table_parse(char *buf, size_t len, const char *proto, int v6, int udp,
    struct socks *ss)
{
	char addr[64], *line, *f[10], *colon, *save, *t;
	size_t pos = 0, n;
	struct sock k;
	unsigned long port;
	int r;

	col_next_line(buf, len, &pos);      /* the header */
	while ((line = col_next_line(buf, len, &pos)) != NULL) {
		save = NULL;
		n = 0;
		for (t = strtok_r(line, " ", &save); t != NULL && n < 10;
		    t = strtok_r(NULL, " ", &save))
			f[n++] = t;
		if (n < 10)
			continue;
		/* f: sl local rem st queues timer retrnsmt uid timeout inode */
		if (udp ? strcmp(f[3], "07") != 0 ||
		    strstr(f[2], ":0000") == NULL : strcmp(f[3], "0A") != 0)
			continue;
		if ((colon = strchr(f[1], ':')) == NULL)
			continue;
		*colon = '\0';
		port = strtoul(colon + 1, NULL, 16);
		if (parse_addr(f[1], v6, addr, sizeof(addr)) != 0)
			continue;
		memset(&k, 0, sizeof(k));
		snprintf(k.name, sizeof(k.name), "%s/%s:%lu", proto, addr,
		    port);
		k.uid = (uid_t)strtoul(f[7], NULL, 10);
		k.inode = strtoul(f[9], NULL, 10);
		if ((r = socks_add(ss, &k)) != 0)
			return r;
	}
	return 0;
}

static int
inode_cmp(const void *a, const void *b)
{
	const struct sock *x = a, *y = b;

	return (x->inode > y->inode) - (x->inode < y->inode);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sock *)a)->name,
	    ((const struct sock *)b)->name);
}

/* The command name of a process ("" when it is gone). */
static void
read_comm(const char *proc, const char *pid, char *comm, size_t len)
{
	char path[PATH_MAX], *buf;
	size_t n;

	comm[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/%s/comm", proc, pid) >=
	    (int)sizeof(path) || col_read_file(path, 4096, &buf, &n) != 0)
		return;
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(comm, len, "%s", buf);
	free(buf);
}

/* Marks the sockets one process holds with its name. */
static void
scan_fds(const char *proc, const char *pid, struct socks *ss, size_t *fds)
{
	char path[PATH_MAX], link[64], comm[32];
	struct sock key, *k;
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int dfd;

	comm[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/%s/fd", proc, pid) >=
	    (int)sizeof(path) || (d = opendir(path)) == NULL)
		return;     /* not permitted, or gone */
	dfd = dirfd(d);
	while (*fds < FDS_MAX && (de = readdir(d)) != NULL) {
		(*fds)++;
		if ((n = readlinkat(dfd, de->d_name, link,
		    sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, "socket:[", 8) != 0)
			continue;
		key.inode = strtoul(link + 8, NULL, 10);
		if ((k = bsearch(&key, ss->v, ss->n, sizeof(*ss->v),
		    inode_cmp)) == NULL)
			continue;
		if (comm[0] == '\0')
			read_comm(proc, pid, comm, sizeof(comm));
		/* Among processes sharing a socket (a server's workers),
		 * the least name: the same whichever pid reads first. */
		if (comm[0] != '\0' && (k->comm[0] == '\0' ||
		    strcmp(comm, k->comm) < 0))
			snprintf(k->comm, sizeof(k->comm), "%s", comm);
	}
	closedir(d);
}

static void
find_owners(const struct collect_opts *o, struct socks *ss)
{
	char proc[PATH_MAX];
	struct dirent *de;
	size_t procs = 0, fds = 0;
	DIR *d;

	if (ss->n == 0 || col_path(o, "/proc", proc, sizeof(proc)) != 0 ||
	    (d = opendir(proc)) == NULL)
		return;
	qsort(ss->v, ss->n, sizeof(*ss->v), inode_cmp);
	while (procs < PROC_MAX && fds < FDS_MAX &&
	    (de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		procs++;
		scan_fds(proc, de->d_name, ss, &fds);
	}
	closedir(d);
}

/* The name of uid in the text of a passwd file, or NULL. */
static const char *
passwd_name(const char *passwd, uid_t uid, char *buf, size_t len)
{
	const char *line = passwd, *nl, *c1, *c2;
	char *end;
	unsigned long v;

	for (; line != NULL && *line != '\0'; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if ((c1 = strchr(line, ':')) == NULL || (nl && c1 > nl) ||
		    (c2 = strchr(c1 + 1, ':')) == NULL || (nl && c2 > nl))
			continue;
		v = strtoul(c2 + 1, &end, 10);
		if (end == c2 + 1 || *end != ':' || v != (unsigned long)uid ||
		    (size_t)(c1 - line) >= len)
			continue;
		memcpy(buf, line, (size_t)(c1 - line));
		buf[c1 - line] = '\0';
		return buf;
	}
	return NULL;
}

/* passwd: the text of the host's passwd file, or NULL for this one. */
static int
port_item(struct col_set *s, const struct sock *first, size_t n,
    const char *passwd)
{
	struct col_props pr = { 0 };
	struct passwd pw, *res = NULL;
	const char *comm = "";
	char pwbuf[4096];
	uid_t uid = first->uid;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (first[i].comm[0] != '\0' && (comm[0] == '\0' ||
		    strcmp(first[i].comm, comm) < 0))
			comm = first[i].comm;
		if (first[i].uid < uid)
			uid = first[i].uid;
	}
	if (comm[0] != '\0' && (r = col_prop(&pr, "process", comm)) != 0)
		goto fail;
	if (passwd != NULL) {
		const char *name = passwd_name(passwd, uid, pwbuf,
		    sizeof(pwbuf));

		r = name != NULL ? col_prop(&pr, "user", name) :
		    col_propf(&pr, "user", "%lu", (unsigned long)uid);
	} else if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 &&
	    res != NULL)
		r = col_prop(&pr, "user", pw.pw_name);
	else
		r = col_propf(&pr, "user", "%lu", (unsigned long)uid);
	if (r != 0)
		goto fail;
	return col_set_add(s, VG_KIND_PORT, first->name, &pr, NULL, 0);
fail:
	col_props_clear(&pr);
	return r;
}

/* One item per address and port: sockets on the same one (SO_REUSEPORT)
 * are one. */
static int
ports_add(struct col_set *s, struct socks *ss, const char *passwd)
{
	size_t i, j;
	int r;

	if (ss->n > 1)
		qsort(ss->v, ss->n, sizeof(*ss->v), name_cmp);
	for (i = 0; i < ss->n; i = j) {
		for (j = i + 1; j < ss->n && strcmp(ss->v[i].name,
		    ss->v[j].name) == 0; j++)
			;
		if ((r = port_item(s, &ss->v[i], j - i, passwd)) != 0)
			return r;
	}
	return 0;
}

int
col_ports(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen)
{
	static const struct {
		const char *proto;
		int v6, udp;
	} tables[] = {
		{ "tcp", 0, 0 }, { "tcp6", 1, 0 }, { "udp", 0, 1 },
		{ "udp6", 1, 1 },
	};
	struct socks ss = { 0 };
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if ((r = read_table(o, tables[i].proto, tables[i].v6,
		    tables[i].udp, &ss)) != 0)
			goto out;
	find_owners(o, &ss);
	r = ports_add(s, &ss, NULL);
out:
	if (r != 0)
		snprintf(err, errlen, "ports: %s", vg_strerror(r));
	free(ss.v);
	return r;
}

/* The command name of pid in the output of grep -H '' /proc/[0-9]*\/comm
 * ("/proc/PID/comm:NAME" lines), or "". */
static void
comm_of(const char *comms, const char *pid, size_t pidlen, char *out,
    size_t len)
{
	const char *line = comms, *nl;
	size_t n;

	out[0] = '\0';
	for (; line != NULL && *line != '\0'; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (strncmp(line, "/proc/", 6) != 0 ||
		    strncmp(line + 6, pid, pidlen) != 0 ||
		    strncmp(line + 6 + pidlen, "/comm:", 6) != 0)
			continue;
		line += 12 + pidlen;
		n = nl != NULL ? (size_t)(nl - line) : strlen(line);
		snprintf(out, len, "%.*s", (int)n, line);
		return;
	}
}

/* The owners from the output of ls -l /proc/[0-9]*\/fd: a "/proc/PID/fd:"
 * line, then "... N -> socket:[INODE]" lines. */
static void
owners_parse(char *fds, size_t len, const char *comms, struct socks *ss)
{
	char *line, *lnk, comm[32];
	const char *pid = NULL;
	size_t pos = 0, pidlen = 0, n;
	struct sock key, *k;

	if (ss->n == 0)
		return;
	qsort(ss->v, ss->n, sizeof(*ss->v), inode_cmp);
	while ((line = col_next_line(fds, len, &pos)) != NULL) {
		n = strlen(line);
		if (strncmp(line, "/proc/", 6) == 0 && n > 10 &&
		    strcmp(line + n - 4, "/fd:") == 0) {
			pid = line + 6;
			pidlen = n - 10;
			continue;
		}
		if (pid == NULL || (lnk = strstr(line, " -> socket:[")) == NULL)
			continue;
		key.inode = strtoul(lnk + 12, NULL, 10);
		if ((k = bsearch(&key, ss->v, ss->n, sizeof(*ss->v),
		    inode_cmp)) == NULL)
			continue;
		comm_of(comms, pid, pidlen, comm, sizeof(comm));
		if (comm[0] != '\0' && (k->comm[0] == '\0' ||
		    strcmp(comm, k->comm) < 0))
			snprintf(k->comm, sizeof(k->comm), "%s", comm);
	}
}

int
col_ports_parse(char *const tables[4], const size_t lens[4], char *fds,
    size_t fdlen, const char *comms, const char *passwd, struct col_set *s)
{
	static const struct {
		const char *proto;
		int v6, udp;
	} t[] = {
		{ "tcp", 0, 0 }, { "tcp6", 1, 0 }, { "udp", 0, 1 },
		{ "udp6", 1, 1 },
	};
	struct socks ss = { 0 };
	size_t i;
	int r = 0;

	for (i = 0; i < 4; i++)
		if (tables[i] != NULL && (r = table_parse(tables[i], lens[i],
		    t[i].proto, t[i].v6, t[i].udp, &ss)) != 0)
			goto out;
	if (fds != NULL && comms != NULL)
		owners_parse(fds, fdlen, comms, &ss);
	r = ports_add(s, &ss, passwd != NULL ? passwd : "");
out:
	free(ss.v);
	return r;
}

/* ---- sysctl ---- */

#define SYSCTL_MAX 100000
#define SYSCTL_VALUE_MAX (64 * 1024)
#define SYSCTL_DEPTH 16

/* Counters and random values: they change by themselves all the time. */
static int
sysctl_volatile(const char *name)
{
	static const char *const prefixes[] = { "kernel.random.",
	    "fs.quota." };
	static const char *const names[] = { "kernel.ns_last_pid",
	    "fs.dentry-state", "fs.inode-nr", "fs.inode-state", "fs.file-nr",
	    "fs.aio-nr", "kernel.pty.nr", "net.netfilter.nf_conntrack_count" };
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/*
 * Keys and secrets of the kernel. They are mode 0600 and the mode check
 * already skips them; named here too so that a kernel that makes one
 * readable by all still does not send it to the hub.
 */
static int
sysctl_secret(const char *name)
{
	static const char *const patterns[] = { "net.ipv4.tcp_fastopen_key",
	    "net.ipv6.conf.*.stable_secret" };
	size_t i;

	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		if (fnmatch(patterns[i], name, 0) == 0)
			return 1;
	return 0;
}

static int
sysctl_file(struct col_set *s, const char *path, const char *name)
{
	struct col_props pr = { 0 };
	char *buf, *p;
	size_t len;

	if (sysctl_volatile(name) || sysctl_secret(name) ||
	    col_read_file(path, SYSCTL_VALUE_MAX, &buf, &len) != 0)
		return 0;
	len = strlen(buf);  /* a NUL in a value ends it */
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	for (p = buf; *p != '\0'; p++)
		if (*p == '\t')
			*p = ' ';
	if (len > VG_ITEM_PATH_MAX) {
		free(buf);
		return 0;
	}
	if (col_prop(&pr, "value", buf) != 0) {
		free(buf);
		col_props_clear(&pr);
		return VG_ERR_NOMEM;
	}
	free(buf);
	return col_set_add(s, VG_KIND_SYSCTL, name, &pr, NULL, 0);
}

/* path/name is dir/... and key is its sysctl name so far; a '.' within
 * one component is written '/' (as sysctl(8) does, "eth0/100"). */
static int
sysctl_walk(struct col_set *s, char *path, size_t plen, char *key,
    size_t klen, int depth)
{
	struct dirent *de;
	struct stat st;
	size_t nl, i;
	DIR *d;
	int r = 0;

	if (depth > SYSCTL_DEPTH || (d = opendir(path)) == NULL)
		return 0;
	while (r == 0 && s->n < SYSCTL_MAX && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		nl = strlen(de->d_name);
		if (plen + nl + 2 > PATH_MAX || klen + nl + 2 > PATH_MAX)
			continue;
		path[plen] = '/';
		memcpy(path + plen + 1, de->d_name, nl + 1);
		if (klen > 0)
			key[klen] = '.';
		for (i = 0; i <= nl; i++)
			key[klen + (klen > 0) + i] = de->d_name[i] == '.' ?
			    '/' : de->d_name[i];
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			r = sysctl_walk(s, path, plen + 1 + nl, key,
			    klen + (klen > 0) + nl, depth + 1);
		/* Only what every user may read: root reads the 0600
		 * files too, and those are the secret ones. */
		else if (S_ISREG(st.st_mode) && (st.st_mode & S_IROTH) != 0)
			r = sysctl_file(s, path, key);
	}
	closedir(d);
	path[plen] = '\0';
	key[klen] = '\0';
	return r;
}

int
col_sysctl(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen)
{
	char path[PATH_MAX], key[PATH_MAX];
	int r;

	if (col_path(o, "/proc/sys", path, sizeof(path)) != 0)
		return 0;
	key[0] = '\0';
	if ((r = sysctl_walk(s, path, strlen(path), key, 0, 0)) != 0)
		snprintf(err, errlen, "sysctl: %s", vg_strerror(r));
	return r;
}
