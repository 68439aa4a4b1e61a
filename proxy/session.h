/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef PROXY_SESSION_H
#define PROXY_SESSION_H

#include <stddef.h>

#include "profile.h"

/*
 * The session engine: drives one device through login, enable, setup
 * commands, capture and logout over an abstract transport, following a
 * device profile. It knows nothing of sockets: SSH (libssh) and Telnet
 * (libtelnet, which removes IAC sequences before the engine sees the
 * bytes) plug in as transports, and tests replay recorded sessions
 * through a scripted one.
 */

/*
 * A byte stream to one device. All callbacks get ctx.
 *  - read: waits at most timeout_ms for bytes; returns 0 with *got > 0
 *    for data, 0 with *got == 0 when nothing came in time, VG_ERR_CLOSED
 *    at the end of the stream (or of an exec channel), another VG_ERR on
 *    failure.
 *  - write: writes all len bytes; 0 or a VG_ERR.
 *  - exec: exec mode only (NULL otherwise): runs command on a new
 *    channel; its output then comes through read until VG_ERR_CLOSED.
 *  - close: ends the connection; called exactly once per
 *    proxy_session_run(), whatever happened.
 */
struct proxy_transport {
	void *ctx;
	int (*read)(void *ctx, char *buf, size_t cap, int timeout_ms,
	    size_t *got);
	int (*write)(void *ctx, const void *buf, size_t len);
	int (*exec)(void *ctx, const char *command);
	void (*close)(void *ctx);
};

/*
 * Credentials for one session, owned by the caller. The engine never
 * copies them into anything that outlives a write, never logs them, and
 * wipes its send buffers after each write. NULL fields are absent.
 */
struct proxy_credentials {
	char *username;
	char *password;
	char *enable_secret;
	char *private_key;   /* SSH: OpenSSH or PEM private key text */
	char *passphrase;    /* of private_key */
};

/* Wipes (OPENSSL_cleanse) and frees the strings of c, then sets them to
 * NULL; accepts NULL. */
void proxy_credentials_wipe(struct proxy_credentials *c);

struct proxy_session_opts {
	unsigned int step_timeout_ms;  /* longest silence while waiting for
	                                  a prompt or output (default 20 s) */
	unsigned int job_timeout_ms;   /* whole session (default 300 s) */
	unsigned int logout_grace_ms;  /* wait for the close after logout
	                                  (default 2 s) */
	size_t max_output;             /* bytes kept per command (16 MiB) */
};

/* Defaults above; a profile's step_timeout and job_timeout override the
 * first two in proxy_session_run(). */
void proxy_session_opts_default(struct proxy_session_opts *o);

struct proxy_output {
	char *command;
	char *text;      /* cleaned output: no echo, no prompt; '\n' lines */
	size_t len;
	int is_volatile; /* from command_volatile */
};

struct proxy_capture {
	struct proxy_output *out; /* one per profile command, in order */
	size_t n;
	char *prompt;             /* the exact prompt seen (NULL in exec mode) */
};

/* Frees a capture; accepts NULL. */
void proxy_capture_free(struct proxy_capture *c);

/*
 * Runs the whole job: login (answering user name, password; password-only
 * logins too), enable with the enable secret when the profile has an
 * enable_command, setup commands, each command, then logout, then
 * t->close regardless. Blocks for at most about the job timeout plus the
 * logout grace. Returns 0 and *out (caller frees with
 * proxy_capture_free()), or VG_ERR_TIMEOUT, VG_ERR_CLOSED, VG_ERR_AUTH,
 * VG_ERR_TOOBIG (output over max_output), VG_ERR_NOMEM or the transport's
 * error, with err saying which step failed and the last line seen (never
 * a secret).
 */
int proxy_session_run(const struct proxy_profile *p,
    const struct proxy_transport *t, const struct proxy_credentials *cred,
    const struct proxy_session_opts *o, struct proxy_capture **out,
    char *err, size_t errlen);

/*
 * The screen: turns raw device bytes into text lines the way a terminal
 * would show them. ANSI CSI and OSC sequences are removed (erase-line and
 * cursor moves on the current line are honoured), '\r' returns to the
 * start of the line, backspace moves left, other control bytes vanish.
 * An escape sequence cut between two chunks is completed by the next.
 */
struct proxy_screen;

/* A screen keeping at most cap bytes of finished lines. NULL on
 * allocation failure. */
struct proxy_screen *proxy_screen_new(size_t cap);
void proxy_screen_free(struct proxy_screen *s);

/* Feeds bytes. 0, or VG_ERR_TOOBIG when the finished lines would pass
 * the cap (the bytes over it are dropped), VG_ERR_NOMEM. */
int proxy_screen_feed(struct proxy_screen *s, const char *data, size_t len);

/* The current unfinished line (where prompts and pagers show). */
const char *proxy_screen_line(const struct proxy_screen *s, size_t *len);

/* Cuts the current line at byte at (cursor there too). */
void proxy_screen_cut(struct proxy_screen *s, size_t at);

/* Finished lines so far ("line\n" each), valid until the next call. */
const char *proxy_screen_text(const struct proxy_screen *s, size_t *len);

/* Forgets the finished lines (keeps the current line). */
void proxy_screen_clear_text(struct proxy_screen *s);

/* Ends the current line as if '\n' came (no-op when it is empty). */
int proxy_screen_flush(struct proxy_screen *s);

#endif
