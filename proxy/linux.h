/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef PROXY_LINUX_H
#define PROXY_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include "vg_item.h"
#include "vg_rules.h"

/*
 * Linux hosts without an agent: the collection script the proxy sends to
 * `LC_ALL=C exec /bin/sh -s` over an SSH exec channel, and the streaming
 * parser of what it prints. Pure code: no network, no files.
 *
 * The script needs /bin/sh, find and the hash tool of the policy's
 * algorithm (sha256sum ...); base64 for content and system sections; GNU
 * find -printf and `sha256sum -z` make it one walk, else it falls back to
 * `stat -c` and one hash per file. Nothing depends on the login shell.
 *
 * Output: a stream of records, each a tag and fields, every field ended
 * by a NUL byte (names may hold any other byte):
 *   V  version, euid                      first, from the collecting shell
 *   F  type (find %y), size, mode (octal), uid, gid, user, group,
 *      mtime, ctime (seconds[.fraction]), inode, nlink, dev, path, target
 *   G  the same with the raw st_mode in hex instead of type and mode
 *      (the stat fallback)
 *   "HEX  path"                           a digest, as `sha256sum -z`
 *                                         prints it, of a file of an F
 *   h  path, HEX                          a digest (fallback; "" when the
 *                                         file could not be read)
 *   C  path, base64                       a content-tracked file
 *   B  name, base64                       a system section (below)
 *   P  message                            a problem on the host
 *   E  "end"                              last: a stream without it is
 *                                         incomplete and refused
 * Section names: dpkg (/var/lib/dpkg/status), rpm (rpm -qa --qf
 * "%{NAME}\t%{ARCH}\t%{VERSION}-%{RELEASE}\n"), passwd, shadow, group,
 * gshadow (the /etc files), unit_files, units (systemctl list-unit-files
 * and list-units --all, services, --plain --no-legend --full), tcp, tcp6,
 * udp, udp6 (/proc/net), fds (`ls -l /proc/[0-9]*\/fd`), comms
 * (`grep -H '' /proc/[0-9]*\/comm`).
 */

/* What to collect beside files (bits). */
enum proxy_linux_system {
	PROXY_LINUX_PACKAGES = 1u << 0,
	PROXY_LINUX_SERVICES = 1u << 1,
	PROXY_LINUX_USERS = 1u << 2,
	PROXY_LINUX_GROUPS = 1u << 3,
	PROXY_LINUX_PORTS = 1u << 4,
};

#define PROXY_LINUX_VERSION "1"
#define PROXY_LINUX_CONTENT_MAX (4u << 20)   /* bytes of a tracked file */
#define PROXY_LINUX_SECTION_MAX (64u << 20)  /* bytes of one section */
#define PROXY_LINUX_TOTAL_MAX (512u << 20)   /* sections and content */
#define PROXY_LINUX_ITEMS_MAX 1000000        /* file items by default */
#define PROXY_LINUX_SCRIPT_MAX (96u * 1024)  /* the collecting part, which
                                                goes in one argument */

struct proxy_linux_opts {
	const struct vg_rules *rules;   /* files: NULL for none */
	char *const *content;           /* content-tracked absolute paths */
	size_t ncontent;
	unsigned system;                /* PROXY_LINUX_* */
	int sudo;                       /* collect as root: sudo -n, else
	                                   sudo -S with the marker */
	const char *sudo_marker;        /* the sudo -p prompt when a
	                                   password is known, else NULL */
	int portable;                   /* the stat fallback even with GNU
	                                   find (tests) */
	size_t max_items;               /* 0: PROXY_LINUX_ITEMS_MAX */
};

/*
 * Writes the script for o into *out (NUL-terminated, *len bytes; the
 * caller frees). Returns 0, VG_ERR_INVAL (a hash algorithm the host has
 * no tool for, a path with a newline: err says which), VG_ERR_TOOBIG
 * (more than PROXY_LINUX_SCRIPT_MAX), VG_ERR_NOMEM. Does not block.
 */
int proxy_linux_script(const struct proxy_linux_opts *o, char **out,
    size_t *len, char *err, size_t errlen);

struct proxy_linux_blob {
	char *name;                     /* section name */
	unsigned char *data;            /* NUL-terminated, len bytes */
	size_t len;
};

/* What one run collected. */
struct proxy_linux_result {
	struct vg_item **files;         /* sorted by path (bytes) */
	size_t nfiles;
	struct proxy_linux_blob *content; /* name = path; sorted */
	size_t ncontent;
	struct proxy_linux_blob *sections;
	size_t nsections;
	char **problems;                /* P records, UTF-8 sanitised */
	size_t nproblems;
	long euid;                      /* of the collecting shell */
};

void proxy_linux_result_free(struct proxy_linux_result *r);

/* The named section, or NULL when the host sent none. */
const struct proxy_linux_blob *proxy_linux_section(
    const struct proxy_linux_result *r, const char *name);

struct proxy_linux_parser;

/* A parser for the output of the script made from o (o and its rules
 * must outlive it). 0 or VG_ERR_NOMEM. */
int proxy_linux_parser_new(const struct proxy_linux_opts *o,
    struct proxy_linux_parser **out);
void proxy_linux_parser_free(struct proxy_linux_parser *p);

/*
 * Feeds the next len bytes of output (any split). Returns 0, or
 * VG_ERR_INCOMPLETE / VG_ERR_INVAL (a malformed record), VG_ERR_TOOBIG
 * (a cap: more items than max_items, a section or field too large),
 * VG_ERR_NOMEM; the message is then in proxy_linux_parser_error(). After
 * an error every call returns it again. Its shape fits proxy_ssh_run's
 * on_out (arg = the parser).
 */
int proxy_linux_parser_feed(void *p, const char *buf, size_t len);

const char *proxy_linux_parser_error(const struct proxy_linux_parser *p);

/* Whether the collecting part started (its header came): 0 after a
 * refused sudo. */
int proxy_linux_parser_started(const struct proxy_linux_parser *p);

/*
 * At the end of the output: the result (the caller frees it), or
 * VG_ERR_INCOMPLETE when the end record is missing (a stream cut
 * short: nothing of it may become a baseline), or the feed's error.
 */
int proxy_linux_parser_finish(struct proxy_linux_parser *p,
    struct proxy_linux_result **out, char *err, size_t errlen);

#endif
