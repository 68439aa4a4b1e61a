/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef FAKEDEV_H
#define FAKEDEV_H

#include <stddef.h>

/*
 * vigil-fakedev: a fake network device server for tests and benches.
 * What the whole program shares: its configuration (read-only once the
 * listeners are up), the accounts, the state folder and the stop flag.
 * The device itself is fd_device.h; the two servers fd_ssh.c and
 * fd_telnet.c; the generated IOS device fd_synth.h.
 */

struct sim;

/* Returned by the device when the connection must end now (logout,
 * truncate quirk): not an error. */
#define FD_CLOSE 1

/* An account: "user:password[:enable]" in --users. */
struct fd_user {
	char *name;
	char *password;
	char *enable;
};

struct fd_quirks {
	int pager;             /* "--More--" every FD_PAGE_LINES lines */
	int escapes;           /* colours around prompt and output, \r\n */
	int password_only;     /* Telnet: only "Password:" */
	int ignore_exit;       /* exit/quit/logout never close */
	unsigned int slow_ms;  /* delay before each FD_SLOW_CHUNK bytes */
	size_t truncate;       /* close after this many bytes of answers */
	char user_prompt[64];  /* Telnet user name question */
};

#define FD_PAGE_LINES 24
#define FD_SLOW_CHUNK 512
#define FD_NAME_MAX 64

struct fd_conf {
	const struct sim *fixture;  /* --fixture (read-only), or NULL */
	long synthetic_lines;       /* --synthetic LINES, 0 when off */
	struct fd_quirks q;
	const char *state_dir;      /* --state-dir, or NULL */
	struct fd_user *users;      /* --users; none: any user, "test" */
	size_t nusers;
	void *pubkeys;              /* fd_ssh's authorized keys */
	unsigned int idle_s;        /* a silent client is dropped after */
	int verbose;
};

/* Set by SIGTERM/SIGINT: every session ends soon after. */
extern volatile int fd_stopping;

/*
 * Checks a login. user may be NULL (password-only Telnet): then any
 * account with that password matches. On success returns the account
 * (NULL user and no --users: a static default) and sets *name to the
 * device name (the user name, or "router" for a password-only login
 * without accounts); returns NULL when refused. Thread-safe.
 */
const struct fd_user *fd_login(const struct fd_conf *c, const char *user,
    const char *password, const char **name);

/* The account of user without checking a password (SSH public key
 * logins), or NULL when --users does not list it. */
const struct fd_user *fd_user_find(const struct fd_conf *c,
    const char *user);

/* A device name usable as a file name ([A-Za-z0-9._-], no leading dot,
 * at most FD_NAME_MAX - 1 bytes): 1, else 0. */
int fd_name_ok(const char *name);

/* The next line of the NUL-terminated text at *p (split in place),
 * trimmed, passing over blank lines and '#' comments; NULL at the end.
 * *lineno counts the lines read. */
char *fd_next_line(char **p, size_t *lineno);

/* Copies src into dst (cap bytes) when it fits: 0; else dst becomes ""
 * and -1 (a name cut short would be another device). */
int fd_copy(char *dst, size_t cap, const char *src);

#define FD_ENABLE_MAX 128

/* Adds one to STATE_DIR/NAME.count (nothing without --state-dir).
 * Thread-safe; blocks on the disk. */
void fd_count_session(const struct fd_conf *c, const char *name);

/* Each connection's socket is registered so that a stop can shut them
 * all down (their threads then end promptly). */
void fd_conn_register(int fd);
void fd_conn_unregister(int fd);

#endif
