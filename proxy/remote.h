/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef PROXY_REMOTE_H
#define PROXY_REMOTE_H

#include <stddef.h>

#include "session.h"

/*
 * Connections to devices: SSH (libssh) and Telnet (libtelnet over a TCP
 * socket of our own). Both hand the session engine a struct
 * proxy_transport; SSH also runs commands with stdin for the Linux
 * collector. The proxy only ever connects (outbound 22/23 or the port a
 * device is given); nothing here listens.
 *
 * Threads: a connection belongs to one thread at a time; any number of
 * connections may run at once in different threads. proxy_remote_init()
 * must have been called once before.
 */

enum proxy_protocol {
	PROXY_PROTO_SSH = 1,
	PROXY_PROTO_TELNET = 2,
	PROXY_PROTO_SMB = 3,       /* Windows hosts: proxy/windows.h */
};

/* "SHA256:" + unpadded base64 of the digest, as OpenSSH prints it. */
#define PROXY_FP_LEN 64

struct proxy_target {
	const char *host;              /* name or address */
	unsigned int port;             /* 0: 22 or 23 */
	enum proxy_protocol protocol;
	int legacy;                    /* SSH: also offer SHA-1 key exchange
	                                  (diffie-hellman-group14-sha1,
	                                  -group1-sha1, -group-exchange-sha1),
	                                  ssh-rsa host keys and CBC ciphers;
	                                  off by default */
	const char *known_host_key;    /* SSH: the trusted host key
	                                  fingerprint (SHA256:...), or NULL
	                                  to trust on first use */
	unsigned int connect_timeout_ms; /* TCP connect + SSH handshake +
	                                  authentication (default 15 s) */
};

/* Once per process, before any other call (libssh's ssh_init). */
int proxy_remote_init(void);

/* ---- SSH ---- */

struct proxy_ssh;

/*
 * Connects, checks the host key, then authenticates with cred: the
 * private key (cred->private_key, OpenSSH or PEM text, with
 * cred->passphrase) when given, else the password (method "password",
 * then "keyboard-interactive" answering every prompt with the password).
 *
 * The server's host key fingerprint is written to fp (at least
 * PROXY_FP_LEN bytes) as soon as the key exchange is done, whatever
 * happens next. When t->known_host_key is set and differs, returns
 * VG_ERR_HOSTKEY before any credential is sent.
 *
 * Returns 0 and *out, or VG_ERR_TIMEOUT, VG_ERR_CLOSED, VG_ERR_IO
 * (refused, unreachable: err says which), VG_ERR_NOTFOUND (name does not
 * resolve), VG_ERR_HOSTKEY, VG_ERR_AUTH (credentials refused: err names
 * the methods the server offers), VG_ERR_CRYPTO (no common algorithm:
 * err names both sides' key exchange / host key / cipher lists and says
 * to enable legacy algorithms for the device when the server's are
 * legacy ones), VG_ERR_FORMAT (the peer does not speak SSH),
 * VG_ERR_INVAL (no user name), VG_ERR_NOMEM. A private key that cannot
 * be read (wrong passphrase) is VG_ERR_AUTH, found before connecting.
 * err never contains a secret.
 */
int proxy_ssh_connect(const struct proxy_target *t,
    const struct proxy_credentials *cred, struct proxy_ssh **out,
    char *fp, char *err, size_t errlen);

/*
 * A transport over s for the session engine. mode PROXY_MODE_SHELL:
 * an interactive shell on a PTY ("vt100", 511 columns, 24 rows) opened
 * now; PROXY_MODE_EXEC: no channel until t->exec runs a command (one
 * channel per command; read gives its stdout then VG_ERR_CLOSED).
 * The transport's close frees s: after proxy_session_run() s is gone.
 * On failure (err says why) s is still the caller's to close.
 */
int proxy_ssh_transport(struct proxy_ssh *s, enum proxy_mode mode,
    struct proxy_transport *out, char *err, size_t errlen);

/*
 * Runs command on an exec channel (no PTY), writes the in_len bytes of
 * in to its stdin then sends EOF, and hands each chunk of stdout to
 * on_out as it arrives (streamed: never held whole). on_out returns 0 to
 * go on, or an error that stops the command (the channel is closed and
 * that error returned). stderr is kept (its last 4 KiB) in errout
 * (NUL-terminated, at most errout_len bytes). *status receives the exit
 * status (-1 when the server sent none). The command is killed (channel
 * closed) after timeout_ms in total. Returns 0 (whatever the exit
 * status), VG_ERR_TIMEOUT, VG_ERR_CLOSED, VG_ERR_IO, on_out's error.
 *
 * When sudo_password is not NULL, the stderr stream is watched for
 * sudo_marker at the end of what arrived, and each time it shows the
 * password plus "\n" is written to stdin (the script itself must run
 * sudo -S -p MARKER so the password prompt comes that way). The marker
 * is matched only as a whole (at the start of stderr or of a line),
 * never a substring of other text. stdin then gets no EOF after in (the
 * password may be asked for at any time): the command must end by
 * itself (a script for sh -s ends with "exit").
 */
int proxy_ssh_run(struct proxy_ssh *s, const char *command,
    const char *in, size_t in_len,
    int (*on_out)(void *arg, const char *buf, size_t len), void *arg,
    const char *sudo_marker, const char *sudo_password,
    char *errout, size_t errout_len, int *status, unsigned int timeout_ms);

/* Disconnects and frees; accepts NULL. Not after proxy_ssh_transport(). */
void proxy_ssh_close(struct proxy_ssh *s);

/* ---- Telnet ---- */

/*
 * Connects over TCP (timeout t->connect_timeout_ms) and returns a
 * transport that speaks Telnet through libtelnet: every option is
 * refused except the server's ECHO and SUPPRESS-GO-AHEAD (and our
 * TTYPE "VT100" and NAWS 511x24 when asked); IAC sequences never reach
 * the engine; a data byte 0xFF is escaped on the way out; "\r" alone is
 * sent as "\r\0" (NVT). The transport's close shuts the socket.
 * Returns 0, VG_ERR_TIMEOUT, VG_ERR_IO, VG_ERR_NOTFOUND, VG_ERR_NOMEM.
 */
int proxy_telnet_open(const struct proxy_target *t,
    struct proxy_transport *out, char *err, size_t errlen);

/* ---- both ---- */

/*
 * Connects to t and runs the whole session of profile p (login, setup,
 * commands, logout), then closes: the one call a proxy makes per network
 * device. fp receives the SSH host key fingerprint ("" for Telnet).
 * Returns proxy_ssh_connect()'s, proxy_telnet_open()'s or
 * proxy_session_run()'s errors.
 */
int proxy_collect(const struct proxy_profile *p,
    const struct proxy_target *t, const struct proxy_credentials *cred,
    const struct proxy_session_opts *o, struct proxy_capture **out,
    char *fp, char *err, size_t errlen);

#endif
