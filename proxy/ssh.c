/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SSH to devices through libssh, in its non-blocking mode: every wait is
 * a poll() of our own on the session's socket, bounded by a deadline, so
 * no step can hang on a silent peer. The TCP connection is ours
 * (collect.c) and handed to libssh, which closes it.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <libssh/libssh.h>

#include "remote_int.h"
#include "vg_err.h"
#include "vg_util.h"

#define PTY_TERM "vt100"
#define PTY_COLS 511
#define PTY_ROWS 24
#define WRITE_CHUNK 32768
#define STDERR_TAIL 4096
#define KBDINT_ROUNDS_MAX 10

/* The lists we offer. Order is preference: a server that has both
 * kinds gets a modern one, so legacy mode never weakens a session (nor
 * changes which host key, hence which fingerprint, a server shows). */
#define KEX_MODERN "curve25519-sha256,curve25519-sha256@libssh.org," \
	"ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," \
	"diffie-hellman-group18-sha512,diffie-hellman-group16-sha512," \
	"diffie-hellman-group-exchange-sha256,diffie-hellman-group14-sha256"
#define KEX_LEGACY "diffie-hellman-group14-sha1," \
	"diffie-hellman-group1-sha1,diffie-hellman-group-exchange-sha1"
#define HOSTKEY_MODERN "ssh-ed25519,ecdsa-sha2-nistp521," \
	"ecdsa-sha2-nistp384,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"
#define HOSTKEY_LEGACY "ssh-rsa"
#define CIPHER_MODERN "chacha20-poly1305@openssh.com," \
	"aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr," \
	"aes192-ctr,aes128-ctr"
#define CIPHER_LEGACY "aes128-cbc,aes256-cbc,3des-cbc"
#define MAC_MODERN "hmac-sha2-256-etm@openssh.com," \
	"hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512"
#define MAC_LEGACY "hmac-sha1"

static const char *const algo_lists[][2] = {
	[PROXY_SSH_KEX] = { KEX_MODERN, KEX_MODERN "," KEX_LEGACY },
	[PROXY_SSH_HOSTKEY] = { HOSTKEY_MODERN,
	    HOSTKEY_MODERN "," HOSTKEY_LEGACY },
	[PROXY_SSH_CIPHER] = { CIPHER_MODERN,
	    CIPHER_MODERN "," CIPHER_LEGACY },
	[PROXY_SSH_MAC] = { MAC_MODERN, MAC_MODERN "," MAC_LEGACY },
	[PROXY_SSH_PUBKEY] = { HOSTKEY_MODERN,
	    HOSTKEY_MODERN "," HOSTKEY_LEGACY },
};

static const char legacy_names[] = KEX_LEGACY "," HOSTKEY_LEGACY ","
    CIPHER_LEGACY "," MAC_LEGACY;

struct proxy_ssh {
	ssh_session ses;
	ssh_channel ch;          /* the transport's shell or exec channel */
	enum proxy_mode mode;
	unsigned int step_ms;    /* a channel request's longest wait */
	char where[PROXY_WHERE_MAX];
};

const char *
proxy_ssh_algorithms(enum proxy_ssh_algo kind, int legacy)
{
	if ((size_t)kind >= sizeof(algo_lists) / sizeof(algo_lists[0]))
		return "";
	return algo_lists[kind][legacy ? 1 : 0];
}

/* 1 when the len bytes at name are one of the comma-separated list. */
static int
in_list(const char *list, const char *name, size_t len)
{
	const char *p = list, *e;

	while (*p != '\0') {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) == len && memcmp(p, name, len) == 0)
			return 1;
		p = *e == ',' ? e + 1 : e;
	}
	return 0;
}

int
proxy_ssh_algo_is_legacy(const char *name, size_t len)
{
	return len > 0 && in_list(legacy_names, name, len);
}

int
proxy_ssh_fp_format(const unsigned char *md, size_t len,
    char fp[PROXY_FP_LEN])
{
	char *b64;
	size_t n;

	if (len != 32)
		return VG_ERR_INVAL;
	if ((b64 = vg_base64_encode(md, len)) == NULL)
		return VG_ERR_NOMEM;
	n = strlen(b64);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(fp, PROXY_FP_LEN, "SHA256:%.*s", (int)n, b64);
	free(b64);
	return 0;
}

int
proxy_ssh_marker_at_end(const char *tail, size_t len, const char *marker)
{
	size_t ml = strlen(marker);

	if (ml == 0 || ml > len || memcmp(tail + len - ml, marker, ml) != 0)
		return 0;
	return len == ml || tail[len - ml - 1] == '\n' ||
	    tail[len - ml - 1] == '\r';
}

/* Appends the names of the bracketed list at p (up to ']') to out,
 * without the protocol markers that are not algorithms; *legacy_seen
 * set when one of them is a legacy algorithm. */
static void
list_names(const char *p, char *out, size_t outlen, int *legacy_seen)
{
	const char *e, *end = strchr(p, ']');
	size_t used = 0, len;
	int n;

	if (end == NULL)
		end = p + strlen(p);
	out[0] = '\0';
	while (p < end) {
		e = memchr(p, ',', (size_t)(end - p));
		if (e == NULL)
			e = end;
		len = (size_t)(e - p);
		if (len > 0 && strncmp(p, "ext-info-", 9) != 0 &&
		    strncmp(p, "kex-strict-", 11) != 0) {
			if (proxy_ssh_algo_is_legacy(p, len))
				*legacy_seen = 1;
			n = snprintf(out + used, outlen - used, "%s%.*s",
			    used > 0 ? ", " : "", (int)len, p);
			if (n < 0 || (size_t)n >= outlen - used)
				return;
			used += (size_t)n;
		}
		p = e + 1;
	}
}

int
proxy_ssh_kex_message(const char *where, const char *libssh_err,
    int legacy, char *err, size_t errlen)
{
	static const struct {
		const char *libssh, *what;
	} methods[] = {
		{ "kex algos", "key exchange algorithm" },
		{ "server host key algo", "host key algorithm" },
		{ "encryption client->server", "cipher" },
		{ "encryption server->client", "cipher" },
		{ "mac algo client->server", "MAC algorithm" },
		{ "mac algo server->client", "MAC algorithm" },
		{ "compression algo client->server", "compression method" },
		{ "compression algo server->client", "compression method" },
	};
	const char *m, *srv, *cli, *what = "algorithm";
	char theirs[1024], ours[1024];
	int legacy_seen = 0, dummy = 0;
	size_t i;

	if ((m = strstr(libssh_err, "no match for method ")) == NULL)
		return 0;
	m += strlen("no match for method ");
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strncmp(m, methods[i].libssh,
		    strlen(methods[i].libssh)) == 0) {
			what = methods[i].what;
			break;
		}
	}
	if ((srv = strstr(m, "server [")) == NULL ||
	    (cli = strstr(m, "client [")) == NULL)
		return 0;
	list_names(srv + 8, theirs, sizeof(theirs), &legacy_seen);
	list_names(cli + 8, ours, sizeof(ours), &dummy);
	snprintf(err, errlen, "%s: no common %s: the server offers %s; we "
	    "offer %s%s", where, what, theirs[0] != '\0' ? theirs :
	    "nothing", ours, !legacy && legacy_seen ? ". The server's are "
	    "legacy (SHA-1, ssh-rsa or CBC) algorithms: enable legacy SSH "
	    "algorithms for this device (legacy_ssh, or vigil collect "
	    "--legacy-ssh) if it cannot be upgraded" : "");
	return 1;
}

/*
 * Waits until the session's socket can be read (or written, when libssh
 * has output pending) or the deadline passes. libssh then does the I/O
 * in its next call. Returns 0, VG_ERR_TIMEOUT (deadline passed),
 * VG_ERR_CLOSED (no socket any more).
 */
static int
ssh_wait(struct proxy_ssh *s, double deadline)
{
	struct pollfd pfd;
	int left;

	if ((left = proxy_remote_ms_left(deadline)) == 0)
		return VG_ERR_TIMEOUT;
	if ((pfd.fd = ssh_get_fd(s->ses)) < 0)
		return VG_ERR_CLOSED;
	pfd.events = POLLIN;
	if ((ssh_get_poll_flags(s->ses) & SSH_WRITE_PENDING) != 0)
		pfd.events |= POLLOUT;
	pfd.revents = 0;
	if (poll(&pfd, 1, left) < 0 && errno != EINTR)
		return VG_ERR_IO;
	return 0;
}

/* The error of a failed libssh call: the session is gone (closed by the
 * peer or broken) or something else. */
static int
ssh_failure(struct proxy_ssh *s, const char *what, char *err,
    size_t errlen)
{
	const char *e = ssh_get_error(s->ses);

	if (e == NULL)
		e = "";
	if (err != NULL)
		snprintf(err, errlen, "%s: %s: %s", s->where, what,
		    e != NULL && e[0] != '\0' ? e : "connection lost");
	if (!ssh_is_connected(s->ses) || strstr(e, "Socket error") != NULL ||
	    strstr(e, "closed") != NULL || strstr(e, "disconnect") != NULL)
		return VG_ERR_CLOSED;
	return VG_ERR_IO;
}

static int
set_options(struct proxy_ssh *s, const struct proxy_target *t,
    const char *user, char *err, size_t errlen)
{
	static const struct {
		enum ssh_options_e opt;
		enum proxy_ssh_algo kind;
	} algos[] = {
		{ SSH_OPTIONS_KEY_EXCHANGE, PROXY_SSH_KEX },
		{ SSH_OPTIONS_HOSTKEYS, PROXY_SSH_HOSTKEY },
		{ SSH_OPTIONS_CIPHERS_C_S, PROXY_SSH_CIPHER },
		{ SSH_OPTIONS_CIPHERS_S_C, PROXY_SSH_CIPHER },
		{ SSH_OPTIONS_HMAC_C_S, PROXY_SSH_MAC },
		{ SSH_OPTIONS_HMAC_S_C, PROXY_SSH_MAC },
		{ SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES, PROXY_SSH_PUBKEY },
	};
	int port = (int)proxy_remote_port(t), no = 0;
	size_t i;

	/* Nothing from the proxy's own ~/.ssh (config, known_hosts,
	 * identities) may change what we offer or whom we trust. */
	if (ssh_options_set(s->ses, SSH_OPTIONS_PROCESS_CONFIG, &no) != 0 ||
	    ssh_options_set(s->ses, SSH_OPTIONS_HOST, t->host) != 0 ||
	    ssh_options_set(s->ses, SSH_OPTIONS_PORT, &port) != 0 ||
	    ssh_options_set(s->ses, SSH_OPTIONS_USER, user) != 0 ||
	    ssh_options_set(s->ses, SSH_OPTIONS_KNOWNHOSTS, "/dev/null") != 0 ||
	    ssh_options_set(s->ses, SSH_OPTIONS_GLOBAL_KNOWNHOSTS,
	    "/dev/null") != 0) {
		snprintf(err, errlen, "%s: SSH options refused: %s", s->where,
		    ssh_get_error(s->ses));
		return VG_ERR_INVAL;
	}
	for (i = 0; i < sizeof(algos) / sizeof(algos[0]); i++) {
		if (ssh_options_set(s->ses, algos[i].opt,
		    proxy_ssh_algorithms(algos[i].kind, t->legacy)) != 0) {
			snprintf(err, errlen, "%s: SSH algorithms refused by "
			    "libssh: %s", s->where, ssh_get_error(s->ses));
			return VG_ERR_CRYPTO;
		}
	}
	return 0;
}

/* The handshake failed: which error, in words. */
static int
connect_failure(struct proxy_ssh *s, const struct proxy_target *t,
    char *err, size_t errlen)
{
	const char *e = ssh_get_error(s->ses);

	if (e == NULL)
		e = "";
	if (proxy_ssh_kex_message(s->where, e, t->legacy, err, errlen))
		return VG_ERR_CRYPTO;
	if (strstr(e, "mismatch") != NULL || strstr(e, "banner") != NULL) {
		snprintf(err, errlen, "%s: not an SSH server (%s)", s->where, e);
		return VG_ERR_FORMAT;
	}
	snprintf(err, errlen, "%s: SSH handshake failed: %s", s->where,
	    e[0] != '\0' ? e : "connection lost");
	if (strstr(e, "Socket error") != NULL || strstr(e, "closed") != NULL ||
	    strstr(e, "disconnect") != NULL || strstr(e, "reset") != NULL)
		return VG_ERR_CLOSED;
	return VG_ERR_IO;
}

/* The server's host key fingerprint into fp. */
static int
host_key_fp(struct proxy_ssh *s, char *fp, char *err, size_t errlen)
{
	ssh_key key = NULL;
	unsigned char *md = NULL;
	size_t mdlen = 0;
	int r = VG_ERR_CRYPTO;

	if (ssh_get_server_publickey(s->ses, &key) != SSH_OK ||
	    ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &md,
	    &mdlen) != 0) {
		snprintf(err, errlen, "%s: cannot read the server's host key: "
		    "%s", s->where, ssh_get_error(s->ses));
		goto out;
	}
	if ((r = proxy_ssh_fp_format(md, mdlen, fp)) != 0)
		snprintf(err, errlen, "%s: cannot format the host key "
		    "fingerprint", s->where);
out:
	ssh_clean_pubkey_hash(&md);
	ssh_key_free(key);
	return r;
}

enum auth_kind { AUTH_NONE, AUTH_KEY, AUTH_PASSWORD, AUTH_KBDINT };

static int
auth_call(struct proxy_ssh *s, enum auth_kind k, const void *arg)
{
	switch (k) {
	case AUTH_NONE:
		return ssh_userauth_none(s->ses, NULL);
	case AUTH_KEY:
		return ssh_userauth_publickey(s->ses, NULL,
		    (const ssh_key)arg);
	case AUTH_PASSWORD:
		return ssh_userauth_password(s->ses, NULL, arg);
	case AUTH_KBDINT:
		return ssh_userauth_kbdint(s->ses, NULL, NULL);
	}
	return SSH_AUTH_ERROR;
}

/* One authentication request, again while libssh says "again". */
static int
auth_step(struct proxy_ssh *s, enum auth_kind k, const void *arg,
    double deadline, int *rc)
{
	int r;

	for (;;) {
		if ((*rc = auth_call(s, k, arg)) != SSH_AUTH_AGAIN)
			return 0;
		if ((r = ssh_wait(s, deadline)) != 0)
			return r;
	}
}

/* keyboard-interactive, answering every prompt with the password. */
static int
auth_kbdint(struct proxy_ssh *s, const char *password, double deadline,
    int *rc)
{
	int i, n, r, rounds = 0;

	if ((r = auth_step(s, AUTH_KBDINT, NULL, deadline, rc)) != 0)
		return r;
	while (*rc == SSH_AUTH_INFO && rounds++ < KBDINT_ROUNDS_MAX) {
		n = ssh_userauth_kbdint_getnprompts(s->ses);
		for (i = 0; i < n; i++) {
			if (ssh_userauth_kbdint_setanswer(s->ses,
			    (unsigned int)i, password) < 0)
				return VG_ERR_NOMEM;
		}
		if ((r = auth_step(s, AUTH_KBDINT, NULL, deadline, rc)) != 0)
			return r;
	}
	if (*rc == SSH_AUTH_INFO)
		*rc = SSH_AUTH_DENIED;
	return 0;
}

/* "publickey, password" from libssh's method bits. */
static void
method_names(int m, char *out, size_t outlen)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {
		{ SSH_AUTH_METHOD_PUBLICKEY, "publickey" },
		{ SSH_AUTH_METHOD_PASSWORD, "password" },
		{ SSH_AUTH_METHOD_INTERACTIVE, "keyboard-interactive" },
		{ SSH_AUTH_METHOD_HOSTBASED, "hostbased" },
		{ SSH_AUTH_METHOD_GSSAPI_MIC, "gssapi-with-mic" },
	};
	size_t i, used = 0;
	int n;

	snprintf(out, outlen, "none known");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((m & names[i].bit) == 0)
			continue;
		n = snprintf(out + used, outlen - used, "%s%s",
		    used > 0 ? ", " : "", names[i].name);
		if (n < 0 || (size_t)n >= outlen - used)
			return;
		used += (size_t)n;
	}
}

static int
authenticate(struct proxy_ssh *s, const struct proxy_credentials *cred,
    ssh_key key, double deadline, char *err, size_t errlen)
{
	char methods[128], tried[96] = "";
	int rc, r, m;

	if ((r = auth_step(s, AUTH_NONE, NULL, deadline, &rc)) != 0)
		goto wait_failed;
	if (rc == SSH_AUTH_SUCCESS)
		return 0;
	if (rc == SSH_AUTH_ERROR)
		return ssh_failure(s, "authentication failed", err, errlen);
	m = ssh_userauth_list(s->ses, NULL);
	if (key != NULL) {
		snprintf(tried, sizeof(tried), "publickey");
		if ((r = auth_step(s, AUTH_KEY, key, deadline, &rc)) != 0)
			goto wait_failed;
	} else if (cred->password != NULL) {
		rc = SSH_AUTH_DENIED;
		if ((m & SSH_AUTH_METHOD_PASSWORD) != 0) {
			snprintf(tried, sizeof(tried), "password");
			if ((r = auth_step(s, AUTH_PASSWORD, cred->password,
			    deadline, &rc)) != 0)
				goto wait_failed;
		}
		if ((rc == SSH_AUTH_DENIED || rc == SSH_AUTH_PARTIAL) &&
		    (m & SSH_AUTH_METHOD_INTERACTIVE) != 0) {
			snprintf(tried + strlen(tried), sizeof(tried) -
			    strlen(tried), "%skeyboard-interactive",
			    tried[0] != '\0' ? ", " : "");
			if ((r = auth_kbdint(s, cred->password, deadline,
			    &rc)) != 0)
				goto wait_failed;
		}
	} else {
		snprintf(err, errlen, "%s: no password or private key to "
		    "log in as %s", s->where, cred->username);
		return VG_ERR_AUTH;
	}
	if (rc == SSH_AUTH_SUCCESS)
		return 0;
	if (rc == SSH_AUTH_ERROR)
		return ssh_failure(s, "authentication failed", err, errlen);
	method_names(ssh_userauth_list(s->ses, NULL), methods,
	    sizeof(methods));
	snprintf(err, errlen, "%s: authentication as %s refused%s (tried: "
	    "%s; the server accepts: %s)", s->where, cred->username,
	    rc == SSH_AUTH_PARTIAL ? ": the server wants a further method" :
	    "", tried[0] != '\0' ? tried : "nothing it accepts", methods);
	return VG_ERR_AUTH;
wait_failed:
	if (r == VG_ERR_TIMEOUT)
		snprintf(err, errlen, "%s: authentication timed out",
		    s->where);
	else
		r = ssh_failure(s, "authentication failed", err, errlen);
	return r;
}

void
proxy_ssh_close(struct proxy_ssh *s)
{
	if (s == NULL)
		return;
	if (s->ch != NULL) {
		ssh_channel_close(s->ch);
		ssh_channel_free(s->ch);
	}
	if (s->ses != NULL) {
		ssh_disconnect(s->ses);
		ssh_free(s->ses);
	}
	free(s);
}

int
proxy_ssh_connect(const struct proxy_target *t,
    const struct proxy_credentials *cred, struct proxy_ssh **out,
    char *fp, char *err, size_t errlen)
{
	struct proxy_ssh *s = NULL;
	ssh_key key = NULL;
	unsigned int ms = t->connect_timeout_ms != 0 ?
	    t->connect_timeout_ms : PROXY_CONNECT_TIMEOUT_MS;
	double deadline = vg_now() + ms / 1000.0;
	int fd = -1, rc, r = VG_ERR_NOMEM;

	*out = NULL;
	fp[0] = '\0';
	if (errlen > 0)
		err[0] = '\0';
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	proxy_remote_where(t, s->where, sizeof(s->where));
	s->step_ms = ms;
	if (cred == NULL || cred->username == NULL ||
	    cred->username[0] == '\0') {
		snprintf(err, errlen, "%s: no user name to log in with",
		    s->where);
		r = VG_ERR_INVAL;
		goto out;
	}
	/* A key that cannot be read is known before the network is
	 * touched. */
	if (cred->private_key != NULL && ssh_pki_import_privkey_base64(
	    cred->private_key, cred->passphrase, NULL, NULL, &key) !=
	    SSH_OK) {
		snprintf(err, errlen, "%s: the private key cannot be read "
		    "(%s, or not an OpenSSH or PEM private key)", s->where,
		    cred->passphrase != NULL ? "wrong passphrase" :
		    "it needs a passphrase");
		key = NULL;
		r = VG_ERR_AUTH;
		goto out;
	}
	if ((s->ses = ssh_new()) == NULL) {
		snprintf(err, errlen, "%s: out of memory", s->where);
		goto out;
	}
	if ((r = set_options(s, t, cred->username, err, errlen)) != 0)
		goto out;
	if ((r = proxy_remote_tcp_connect(t, ms, &fd, err, errlen)) != 0)
		goto out;
	ssh_set_blocking(s->ses, 0);
	if (ssh_options_set(s->ses, SSH_OPTIONS_FD, &fd) != 0) {
		snprintf(err, errlen, "%s: libssh refused the socket",
		    s->where);
		r = VG_ERR_INTERNAL;
		goto out;
	}
	for (;;) {
		rc = ssh_connect(s->ses);
		/* From the first call on, the socket is libssh's. */
		if (ssh_get_fd(s->ses) == fd)
			fd = -1;
		if (rc == SSH_OK)
			break;
		if (rc == SSH_ERROR) {
			r = connect_failure(s, t, err, errlen);
			goto out;
		}
		if ((r = ssh_wait(s, deadline)) != 0) {
			if (r == VG_ERR_TIMEOUT)
				snprintf(err, errlen, "%s: no SSH handshake "
				    "within %u ms (is it an SSH server?)",
				    s->where, ms);
			else
				r = connect_failure(s, t, err, errlen);
			goto out;
		}
	}
	if ((r = host_key_fp(s, fp, err, errlen)) != 0)
		goto out;
	if (t->known_host_key != NULL && t->known_host_key[0] != '\0' &&
	    strcmp(fp, t->known_host_key) != 0) {
		snprintf(err, errlen, "%s: host key %s is not the trusted %s: "
		    "the device's key changed, or another machine answers; "
		    "nothing was sent", s->where, fp, t->known_host_key);
		r = VG_ERR_HOSTKEY;
		goto out;
	}
	if ((r = authenticate(s, cred, key, deadline, err, errlen)) != 0)
		goto out;
	*out = s;
	s = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	ssh_key_free(key);
	proxy_ssh_close(s);
	return r;
}

/* ---- channels ---- */

enum chan_op { OP_OPEN, OP_PTY, OP_SHELL, OP_EXEC };

static int
chan_call(ssh_channel ch, enum chan_op op, const char *command)
{
	switch (op) {
	case OP_OPEN:
		return ssh_channel_open_session(ch);
	case OP_PTY:
		return ssh_channel_request_pty_size(ch, PTY_TERM, PTY_COLS,
		    PTY_ROWS);
	case OP_SHELL:
		return ssh_channel_request_shell(ch);
	case OP_EXEC:
		return ssh_channel_request_exec(ch, command);
	}
	return SSH_ERROR;
}

/* One channel request, again while libssh says "again". err may be
 * NULL. */
static int
chan_request(struct proxy_ssh *s, ssh_channel ch, enum chan_op op,
    const char *command, double deadline, char *err, size_t errlen)
{
	static const char *const what[] = {
		[OP_OPEN] = "opening a session channel",
		[OP_PTY] = "asking for a terminal",
		[OP_SHELL] = "starting a shell",
		[OP_EXEC] = "running a command",
	};
	int rc, r;

	for (;;) {
		if ((rc = chan_call(ch, op, command)) == SSH_OK)
			return 0;
		if (rc != SSH_AGAIN)
			break;
		if ((r = ssh_wait(s, deadline)) != 0) {
			if (err != NULL)
				snprintf(err, errlen, "%s: %s: %s", s->where,
				    what[op], r == VG_ERR_TIMEOUT ?
				    "no answer in time" : vg_strerror(r));
			return r;
		}
	}
	return ssh_failure(s, what[op], err, errlen);
}

/* A new session channel with op (and command) requested on it. */
static int
chan_start(struct proxy_ssh *s, enum chan_op op, const char *command,
    double deadline, ssh_channel *out, char *err, size_t errlen)
{
	ssh_channel ch;
	int r;

	*out = NULL;
	if ((ch = ssh_channel_new(s->ses)) == NULL) {
		if (err != NULL)
			snprintf(err, errlen, "%s: out of memory", s->where);
		return VG_ERR_NOMEM;
	}
	if ((r = chan_request(s, ch, OP_OPEN, NULL, deadline, err,
	    errlen)) != 0)
		goto fail;
	if (op == OP_SHELL && (r = chan_request(s, ch, OP_PTY, NULL,
	    deadline, err, errlen)) != 0)
		goto fail;
	if ((r = chan_request(s, ch, op, command, deadline, err,
	    errlen)) != 0)
		goto fail;
	*out = ch;
	return 0;
fail:
	ssh_channel_close(ch);
	ssh_channel_free(ch);
	return r;
}

/* Reads and forgets what the channel has on stderr (an exec transport
 * has no use for it, but it must not fill the window). */
static void
drain_stderr(ssh_channel ch)
{
	char buf[4096];

	while (ssh_channel_read_nonblocking(ch, buf, sizeof(buf), 1) > 0)
		;
}

/* Writes all len bytes by the deadline. */
static int
chan_write(struct proxy_ssh *s, ssh_channel ch, const char *buf,
    size_t len, double deadline)
{
	uint32_t chunk;
	int n, r;

	while (len > 0) {
		chunk = len > WRITE_CHUNK ? WRITE_CHUNK : (uint32_t)len;
		if ((n = ssh_channel_write(ch, buf, chunk)) == SSH_ERROR)
			return ssh_failure(s, "write", NULL, 0);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		/* The peer's window is full: wait for it to read. */
		if ((r = ssh_wait(s, deadline)) != 0)
			return r;
	}
	return 0;
}

static int
transport_read(void *ctx, char *buf, size_t cap, int timeout_ms,
    size_t *got)
{
	struct proxy_ssh *s = ctx;
	double deadline = vg_now() + (timeout_ms > 0 ? timeout_ms : 0) /
	    1000.0;
	uint32_t want = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
	int n, r;

	*got = 0;
	if (s->ch == NULL)
		return VG_ERR_CLOSED;
	for (;;) {
		if (s->mode == PROXY_MODE_EXEC)
			drain_stderr(s->ch);
		n = ssh_channel_read_nonblocking(s->ch, buf, want, 0);
		if (n > 0) {
			*got = (size_t)n;
			return 0;
		}
		if (n == SSH_EOF || ssh_channel_is_eof(s->ch) ||
		    ssh_channel_is_closed(s->ch))
			return VG_ERR_CLOSED;
		if (n == SSH_ERROR)
			return ssh_failure(s, "read", NULL, 0);
		if ((r = ssh_wait(s, deadline)) == VG_ERR_TIMEOUT)
			return 0;
		if (r != 0)
			return r;
	}
}

static int
transport_write(void *ctx, const void *buf, size_t len)
{
	struct proxy_ssh *s = ctx;

	if (s->ch == NULL)
		return VG_ERR_CLOSED;
	return chan_write(s, s->ch, buf, len,
	    vg_now() + s->step_ms / 1000.0);
}

static int
transport_exec(void *ctx, const char *command)
{
	struct proxy_ssh *s = ctx;

	if (s->ch != NULL) {
		ssh_channel_close(s->ch);
		ssh_channel_free(s->ch);
		s->ch = NULL;
	}
	return chan_start(s, OP_EXEC, command,
	    vg_now() + s->step_ms / 1000.0, &s->ch, NULL, 0);
}

static void
transport_close(void *ctx)
{
	proxy_ssh_close(ctx);
}

int
proxy_ssh_transport(struct proxy_ssh *s, enum proxy_mode mode,
    struct proxy_transport *out, char *err, size_t errlen)
{
	int r;

	memset(out, 0, sizeof(*out));
	s->mode = mode;
	if (mode == PROXY_MODE_SHELL && (r = chan_start(s, OP_SHELL, NULL,
	    vg_now() + s->step_ms / 1000.0, &s->ch, err, errlen)) != 0)
		return r;
	out->ctx = s;
	out->read = transport_read;
	out->write = transport_write;
	out->exec = mode == PROXY_MODE_EXEC ? transport_exec : NULL;
	out->close = transport_close;
	return 0;
}

/* ---- one command with stdin ---- */

struct tail {
	char buf[STDERR_TAIL];
	size_t len;
};

static void
tail_add(struct tail *t, const char *data, size_t n)
{
	if (n >= sizeof(t->buf)) {
		memcpy(t->buf, data + n - sizeof(t->buf), sizeof(t->buf));
		t->len = sizeof(t->buf);
		return;
	}
	if (t->len + n > sizeof(t->buf)) {
		memmove(t->buf, t->buf + (t->len + n - sizeof(t->buf)),
		    sizeof(t->buf) - n);
		t->len = sizeof(t->buf) - n;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
}

/* Writes the sudo password and a line end. */
static int
answer_sudo(struct proxy_ssh *s, ssh_channel ch, const char *password,
    double deadline)
{
	size_t pl = strlen(password);
	char *line;
	int r;

	if ((line = malloc(pl + 1)) == NULL)
		return VG_ERR_NOMEM;
	memcpy(line, password, pl);
	line[pl] = '\n';
	r = chan_write(s, ch, line, pl + 1, deadline);
	OPENSSL_cleanse(line, pl + 1);
	free(line);
	return r;
}

int
proxy_ssh_run(struct proxy_ssh *s, const char *command,
    const char *in, size_t in_len,
    int (*on_out)(void *arg, const char *buf, size_t len), void *arg,
    const char *sudo_marker, const char *sudo_password,
    char *errout, size_t errout_len, int *status, unsigned int timeout_ms)
{
	double deadline = vg_now() + timeout_ms / 1000.0;
	struct tail *tail = NULL;
	ssh_channel ch = NULL;
	char buf[16384];
	size_t in_off = 0, copy;
	int n, r, progress, out_eof = 0, err_eof = 0, eof_sent = 0;
	int writable = 1, st;
	unsigned long long err_total = 0, answered_at = 0;

	*status = -1;
	if (errout_len > 0)
		errout[0] = '\0';
	if ((tail = calloc(1, sizeof(*tail))) == NULL)
		return VG_ERR_NOMEM;
	if (sudo_password == NULL || sudo_marker == NULL ||
	    sudo_marker[0] == '\0')
		sudo_password = NULL;
	if ((r = chan_start(s, OP_EXEC, command, deadline, &ch, NULL, 0)) != 0)
		goto out;
	while (!out_eof || !err_eof) {
		progress = 0;
		if (writable && in_off < in_len) {
			copy = in_len - in_off;
			if (copy > WRITE_CHUNK)
				copy = WRITE_CHUNK;
			n = ssh_channel_write(ch, in + in_off, (uint32_t)copy);
			if (n > 0) {
				in_off += (size_t)n;
				progress = 1;
			} else if (n == SSH_ERROR) {
				/* The command ended without reading it
				 * all: what it printed still counts. */
				writable = 0;
			}
		}
		/* With a sudo password stdin stays open: the password goes
		 * there whenever sudo asks. */
		if (writable && in_off == in_len && !eof_sent &&
		    sudo_password == NULL) {
			ssh_channel_send_eof(ch);
			eof_sent = 1;
		}
		if (!out_eof) {
			n = ssh_channel_read_nonblocking(ch, buf, sizeof(buf),
			    0);
			if (n > 0) {
				progress = 1;
				if ((r = on_out(arg, buf, (size_t)n)) != 0)
					goto out;
			} else if (n == SSH_EOF) {
				out_eof = 1;
			} else if (n == SSH_ERROR) {
				r = ssh_failure(s, "read", NULL, 0);
				goto out;
			}
		}
		if (!err_eof) {
			n = ssh_channel_read_nonblocking(ch, buf, sizeof(buf),
			    1);
			if (n > 0) {
				progress = 1;
				tail_add(tail, buf, (size_t)n);
				err_total += (unsigned long long)n;
			} else if (n == SSH_EOF) {
				err_eof = 1;
			} else if (n == SSH_ERROR) {
				r = ssh_failure(s, "read", NULL, 0);
				goto out;
			}
		}
		if (sudo_password != NULL && writable &&
		    err_total > answered_at &&
		    proxy_ssh_marker_at_end(tail->buf, tail->len,
		    sudo_marker)) {
			answered_at = err_total;
			if ((r = answer_sudo(s, ch, sudo_password,
			    deadline)) != 0)
				goto out;
			progress = 1;
		}
		if (ssh_channel_is_closed(ch) && !progress)
			break;
		if (!progress && (r = ssh_wait(s, deadline)) != 0)
			goto out;
	}
	/* The exit status comes after the end of the output. */
	for (;;) {
		/* -1 (SSH_ERROR too) until the status came. */
		if ((st = ssh_channel_get_exit_status(ch)) >= 0) {
			*status = st;
			break;
		}
		if (ssh_channel_is_closed(ch) || !ssh_is_connected(s->ses))
			break;
		if ((r = ssh_wait(s, deadline)) != 0)
			goto out;
	}
	r = 0;
out:
	if (ch != NULL) {
		ssh_channel_close(ch);
		ssh_channel_free(ch);
	}
	if (errout_len > 0) {
		copy = tail->len < errout_len - 1 ? tail->len : errout_len - 1;
		memcpy(errout, tail->buf + tail->len - copy, copy);
		errout[copy] = '\0';
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	free(tail);
	return r;
}
