/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef AGENT_COLLECT_H
#define AGENT_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "queue.h"
#include "vg_item.h"

/*
 * Linux system configuration beside files. Each collector produces the
 * current items of its kind (name = path field of the item, properties
 * = vg_item props), sorted by name:
 *
 *   packages  VG_KIND_PACKAGE  "dpkg:openssh-server:amd64" {version,
 *             arch, status}; reads /var/lib/dpkg/status directly; rpm
 *             hosts: "rpm:NAME.ARCH" from `rpm -qa --qf` when rpm exists
 *   services  VG_KIND_SERVICE  "ssh.service" {enabled (enabled,
 *             disabled, static, masked, ...), active (active, inactive,
 *             failed ...; "unknown" when systemd is not running)}; unit
 *             files from /etc/systemd/system, /run/systemd/system,
 *             /lib/systemd/system, /usr/lib/systemd/system; the state
 *             from `systemctl show` when systemd runs
 *   users     VG_KIND_USER     "root" {uid, gid, home, shell, gecos,
 *             password (the kind: hashed, locked, none, and the SHA-256
 *             of the shadow hash so a change shows without it),
 *             last_change, max_days ...} from /etc/passwd and /etc/shadow
 *   groups    VG_KIND_GROUP    "sudo" {gid, members (sorted, comma)}
 *             from /etc/group (and /etc/gshadow admins)
 *   ports     VG_KIND_PORT     "tcp/0.0.0.0:22", "udp6/[::]:123"
 *             {process (comm of the owner, when found), user} from
 *             /proc/net/{tcp,tcp6,udp,udp6} listening sockets
 *   sysctl    VG_KIND_SYSCTL   "net.ipv4.ip_forward" {value} for every
 *             file under /proc/sys readable by everyone (S_IROTH: root
 *             could read the 0600 secrets, such as tcp_fastopen_key and
 *             stable_secret, which are also excluded by name), except the
 *             volatile ones: kernel.random.*, fs.*-nr, ... a documented
 *             list
 *   commands  VG_KIND_COMMAND  the command line {exit, output_sha256}
 *             and a unified diff of the output; only commands both in
 *             the policy and in the local approved file (see below)
 *
 * Approved commands: the policy names command lines; the agent runs one
 * only when that exact line is also in the local file (default
 * /etc/vigil/approved-commands, one per line, '#' comments; the file must
 * be owned by root and not writable by group or others, else no command
 * runs and an agent-health event says why). A command runs without a
 * shell (split on spaces, quoting with '...' and "..."), with a clean
 * environment (PATH=/usr/sbin:/usr/bin:/sbin:/bin, LC_ALL=C), stdin
 * /dev/null, a 60 s timeout (killed, then an agent event "command-timeout")
 * and output capped at 4 MiB (kept, marked truncated).
 */

enum collect_which {
	COLLECT_PACKAGES = 1u << 0,
	COLLECT_SERVICES = 1u << 1,
	COLLECT_USERS = 1u << 2,
	COLLECT_GROUPS = 1u << 3,
	COLLECT_PORTS = 1u << 4,
	COLLECT_SYSCTL = 1u << 5,
	COLLECT_COMMANDS = 1u << 6,
};

/* "packages", "services", ... ↔ bit; parse returns 0 or VG_ERR_INVAL. */
const char *collect_name(unsigned bit);
int collect_parse(const char *name, unsigned *bit);

struct collect_opts {
	unsigned which;              /* COLLECT_* bits */
	char *const *commands;       /* the policy's command lines */
	size_t ncommands;
	const char *approved_file;   /* NULL: /etc/vigil/approved-commands */
	const char *root;            /* NULL or "/": the live system; tests of
	                                the parsers may point it elsewhere */
	int timeout_ms;              /* per command; 0: 60 s */
	size_t output_cap;           /* per command output; 0: 4 MiB */
};

/*
 * Collects one kind now: *items sorted by name, n of them (the caller
 * frees). Problems that are not fatal (a command that failed) are
 * returned in *problem (malloc'd message or NULL).
 */
int collect_kind(const struct collect_opts *o, unsigned bit,
    struct vg_item ***items, size_t *n, char **problem, char *err,
    size_t errlen);

/*
 * Runs every collector of o->which, compares with the state stored in q
 * and, in one transaction per kind, queues a change event (origin
 * "scan") for each item added, removed or changed (props compared; for
 * commands a diff of the output), and stores the new state. The first
 * collection of a kind stores it without events. Problems become agent
 * events (code "collect-error", "command-timeout", "approved-commands").
 * Returns 0 or the first fatal error (queue full is not fatal: counted
 * as dropped, and the stored state of that kind is then left unchanged
 * so the next run reports again).
 */
int collect_run(const struct collect_opts *o, struct aq *q, char *err,
    size_t errlen);

#endif
