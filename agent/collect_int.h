/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef AGENT_COLLECT_INT_H
#define AGENT_COLLECT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "collect.h"
#include "vg_item.h"

/*
 * What the collectors (collect_sys.c, collect_proc.c, collect_cmd.c)
 * share with collect.c; not part of the agent's contract.
 */

/* Files of the system read whole are capped (dpkg's status is the
 * largest: a few MiB on a full desktop). */
#define COL_FILE_MAX (256u * 1024 * 1024)

/* One collected item; data is the output of a command (else NULL). */
struct col_entry {
	struct vg_item *it;
	char *data;
	size_t dlen;
	size_t seq;              /* order of addition: the first of equal
	                            names is kept */
};

/* A problem that is not fatal, with the agent event code it becomes. */
struct col_problem {
	const char *code;        /* static: "collect-error", ... */
	char *msg;
};

struct col_set {
	struct col_entry *e;
	size_t n, cap;
	struct col_problem *p;
	size_t np, pcap;
	int keep;                /* incomplete: keep the stored state */
};

/* Properties being gathered for one item. */
struct col_props {
	struct vg_prop *p;
	size_t n, cap;
};

/* Makes room for one more element in *arr (n used of *cap, each size
 * bytes), doubling it. 0 or VG_ERR_NOMEM (*arr unchanged). */
int col_grow(void *arr, size_t *cap, size_t n, size_t size);

void col_set_free(struct col_set *s);
/* Frees n items and the array; accepts NULL. */
void col_items_free(struct vg_item **v, size_t n);
/* Adds an item of kind named name with the props (taken, even on
 * failure) and, for commands, data (taken). 0 or VG_ERR_NOMEM /
 * VG_ERR_TOOBIG (a name longer than VG_ITEM_PATH_MAX). */
int col_set_add(struct col_set *s, enum vg_item_kind kind, const char *name,
    struct col_props *pr, char *data, size_t dlen);
/* Sorts by name (bytes) and keeps the first added of equal names. */
void col_set_sort(struct col_set *s);
/* Records a problem (printf-style message). 0 or VG_ERR_NOMEM. */
int col_problem(struct col_set *s, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a copy of name=value; values longer than a stored string allows
 * are cut (each collector keeps its values short: this is a guard). */
int col_prop(struct col_props *pr, const char *name, const char *value);
int col_propf(struct col_props *pr, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void col_props_clear(struct col_props *pr);

/* root + path into buf (path absolute). 0 or VG_ERR_TOOBIG. */
int col_path(const struct collect_opts *o, const char *path, char *buf,
    size_t len);
/* 1 when o->root is the live system. */
int col_live(const struct collect_opts *o);
/* Reads a whole file (at most max bytes) into a NUL-terminated buffer.
 * 0, VG_ERR_NOTFOUND, VG_ERR_PERM, VG_ERR_TOOBIG, VG_ERR_IO, NOMEM. */
int col_read_file(const char *path, size_t max, char **data, size_t *len);
/* The same from an open descriptor (read to its end). */
int col_read_fd(int fd, size_t max, char **data, size_t *len);
/* Next line of the buffer at *pos (NUL-terminated in place, without
 * '\n'), or NULL at the end. */
char *col_next_line(char *buf, size_t len, size_t *pos);
/* s without its leading and trailing blanks (in place). */
char *col_trim(char *s);
/* Splits s on sep into at most max fields (in place); returns how many. */
size_t col_split(char *s, char sep, char **f, size_t max);
/* Lower-case hex SHA-256 of the bytes into hex[65]. */
int col_sha256_hex(const void *data, size_t len, char hex[65]);

/* The result of one command run by col_run(). */
struct col_run_result {
	char *out;               /* stdout and stderr, NUL-terminated */
	size_t len;
	int truncated;           /* more than the cap was written */
	int timed_out;
	int status;              /* waitpid() status when not timed out */
};

/* Runs argv (argv[0] searched in the clean PATH when it has no '/')
 * without a shell; see collect.h for the environment. timeout_ms and
 * cap 0 mean the defaults (60 s, 4 MiB). Blocks until it ends or the
 * timeout kills its process group. 0 or an error (fork, pipe: err). */
int col_run(char *const *argv, int timeout_ms, size_t cap,
    struct col_run_result *res, char *err, size_t errlen);
void col_run_result_free(struct col_run_result *res);
/* In a child after fork(): closes every descriptor from 3 up but keep
 * (> 2), with close_range(2), else (a kernel before 5.9, or slow, for
 * the tests) those listed in /proc/self/fd, else each one below maxfd.
 * Async-signal-safe. */
void col_close_from3(int keep, int maxfd, int slow);

/* The collectors: each fills s (unsorted is fine) or returns a fatal
 * error with err set. */
int col_packages(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen);
int col_services(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen);
int col_users(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen);
int col_groups(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen);
int col_ports(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen);
int col_sysctl(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen);
int col_commands(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen);

/*
 * The same parsers over text another host sent (the proxy's Linux hosts
 * over SSH, proxy/linux.h): each buffer NUL-terminated, len bytes,
 * changed in place, still owned by the caller. NULL for a secret file
 * (shadow, gshadow) that could not be read. 0 or VG_ERR_NOMEM /
 * VG_ERR_TOOBIG.
 */
int col_dpkg_parse(char *buf, size_t len, struct col_set *s);
/* rpm -qa --qf "%{NAME}\t%{ARCH}\t%{VERSION}-%{RELEASE}\n" */
int col_rpm_parse(char *buf, size_t len, struct col_set *s);
int col_users_parse(char *passwd, size_t plen, char *shadow, size_t slen,
    struct col_set *s);
int col_groups_parse(char *group, size_t glen, char *gshadow,
    size_t gslen, struct col_set *s);
/* systemctl list-unit-files and list-units --all (--type=service
 * --plain --no-legend --full) */
int col_services_parse(char *unit_files, size_t ulen, char *units,
    size_t nlen, struct col_set *s);
/* /proc/net/{tcp,tcp6,udp,udp6} (NULL: absent), ls -l /proc/[0-9]*\/fd,
 * grep -H '' /proc/[0-9]*\/comm and the host's passwd (for user names)
 * text; fds and comms may be NULL (no owners). */
int col_ports_parse(char *const tables[4], const size_t lens[4], char *fds,
    size_t fdlen, const char *comms, const char *passwd,
    struct col_set *s);

#endif
