/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakedev.h"
#include "fd_device.h"
#include "fd_ssh.h"
#include "vg_err.h"
#include "vg_util.h"

#define INPUT_MAX (64 * 1024)
#define AUTH_TRIES 6
#define POLL_MS 200
#define CLOSE_WAIT_MS 1000

struct fd_pubkeys {
	ssh_key *keys;
	size_t n;
};

/*
 * One connection. libssh's callbacks only note what the client asked
 * for; the loop in fd_ssh_serve() acts on it, outside the callbacks, so
 * that writes (which may wait for the client's window) never run inside
 * libssh's packet handling.
 */
struct conn {
	const struct fd_conf *c;
	ssh_session s;
	ssh_channel chan;
	ssh_event ev;
	struct ssh_channel_callbacks_struct ccb;
	struct fd_dev *dev;
	char user[FD_NAME_MAX];
	const char *enable;
	int authed, auth_failures;
	int want_shell, shell, eof, closed;
	char *exec;
	char input[INPUT_MAX];
	size_t input_len;
};

/* ---- authorized keys ---- */

int
fd_ssh_load_keys(const char *file, void **out, char *err, size_t errlen)
{
	struct fd_pubkeys *pk;
	char *text = NULL, *p, *type, *b64;
	size_t len, lineno = 0;
	ssh_key k, *g;
	int r;

	*out = NULL;
	if ((r = vg_read_file(file, 1024 * 1024, &text, &len, err,
	    errlen)) != 0)
		return r;
	if ((pk = calloc(1, sizeof(*pk))) == NULL) {
		free(text);
		return VG_ERR_NOMEM;
	}
	p = text;
	while ((type = fd_next_line(&p, &lineno)) != NULL) {
		/* "TYPE BASE64 [COMMENT]" */
		b64 = type + strcspn(type, " \t");
		if (*b64 != '\0')
			*b64++ = '\0';
		b64 += strspn(b64, " \t");
		b64[strcspn(b64, " \t")] = '\0';
		if (*b64 == '\0' || ssh_pki_import_pubkey_base64(b64,
		    ssh_key_type_from_name(type), &k) != SSH_OK) {
			snprintf(err, errlen, "%s:%zu: not a public key line",
			    file, lineno);
			r = VG_ERR_FORMAT;
			goto out;
		}
		if ((g = realloc(pk->keys, (pk->n + 1) * sizeof(*g))) == NULL) {
			ssh_key_free(k);
			r = VG_ERR_NOMEM;
			goto out;
		}
		pk->keys = g;
		pk->keys[pk->n++] = k;
	}
	*out = pk;
	pk = NULL;
	r = 0;
out:
	fd_ssh_free_keys(pk);
	free(text);
	return r;
}

void
fd_ssh_free_keys(void *keys)
{
	struct fd_pubkeys *pk = keys;
	size_t i;

	if (pk == NULL)
		return;
	for (i = 0; i < pk->n; i++)
		ssh_key_free(pk->keys[i]);
	free(pk->keys);
	free(pk);
}

/* ---- libssh callbacks ---- */

static int
auth_password(ssh_session s, const char *user, const char *password,
    void *arg)
{
	struct conn *cn = arg;
	const struct fd_user *u;
	const char *name = NULL;

	(void)s;
	if ((u = fd_login(cn->c, user, password, &name)) == NULL ||
	    !fd_name_ok(name)) {
		cn->auth_failures++;
		return SSH_AUTH_DENIED;
	}
	fd_copy(cn->user, sizeof(cn->user), name);
	cn->enable = u->enable;
	cn->authed = 1;
	return SSH_AUTH_SUCCESS;
}

static int
auth_pubkey(ssh_session s, const char *user, struct ssh_key_struct *key,
    char state, void *arg)
{
	struct conn *cn = arg;
	const struct fd_pubkeys *pk = cn->c->pubkeys;
	const struct fd_user *u;
	size_t i;

	(void)s;
	if (pk == NULL || !fd_name_ok(user) ||
	    (cn->c->nusers > 0 && fd_user_find(cn->c, user) == NULL))
		goto denied;
	for (i = 0; i < pk->n; i++)
		if (ssh_key_cmp(key, pk->keys[i], SSH_KEY_CMP_PUBLIC) == 0)
			break;
	if (i == pk->n)
		goto denied;
	/* A probe (no signature yet) is answered "this key would do". */
	if (state == SSH_PUBLICKEY_STATE_NONE)
		return SSH_AUTH_SUCCESS;
	if (state != SSH_PUBLICKEY_STATE_VALID)
		goto denied;
	u = fd_user_find(cn->c, user);
	fd_copy(cn->user, sizeof(cn->user), user);
	cn->enable = u != NULL ? u->enable : NULL;
	cn->authed = 1;
	return SSH_AUTH_SUCCESS;
denied:
	cn->auth_failures++;
	return SSH_AUTH_DENIED;
}

static int
ch_data(ssh_session s, ssh_channel ch, void *data, uint32_t len,
    int is_stderr, void *arg)
{
	struct conn *cn = arg;
	size_t n = len;

	(void)s;
	(void)is_stderr;
	if (ch != cn->chan)
		return (int)len;
	/* A client that types faster than we answer waits (window). */
	if (n > sizeof(cn->input) - cn->input_len)
		n = sizeof(cn->input) - cn->input_len;
	memcpy(cn->input + cn->input_len, data, n);
	cn->input_len += n;
	return (int)n;
}

static void
ch_eof(ssh_session s, ssh_channel ch, void *arg)
{
	struct conn *cn = arg;

	(void)s;
	if (ch == cn->chan)
		cn->eof = 1;
}

static void
ch_close(ssh_session s, ssh_channel ch, void *arg)
{
	struct conn *cn = arg;

	(void)s;
	if (ch == cn->chan)
		cn->closed = 1;
}

static int
ch_pty(ssh_session s, ssh_channel ch, const char *term, int w, int h,
    int pw, int ph, void *arg)
{
	(void)s, (void)ch, (void)term, (void)w, (void)h, (void)pw, (void)ph;
	(void)arg;
	return 0;
}

static int
ch_window(ssh_session s, ssh_channel ch, int w, int h, int pw, int ph,
    void *arg)
{
	(void)s, (void)ch, (void)w, (void)h, (void)pw, (void)ph, (void)arg;
	return 0;
}

static int
ch_env(ssh_session s, ssh_channel ch, const char *name, const char *value,
    void *arg)
{
	(void)s, (void)ch, (void)name, (void)value, (void)arg;
	return 0;
}

static int
ch_shell(ssh_session s, ssh_channel ch, void *arg)
{
	struct conn *cn = arg;

	(void)s;
	if (ch != cn->chan || cn->shell || cn->exec != NULL)
		return -1;
	cn->want_shell = 1;
	return 0;
}

static int
ch_exec(ssh_session s, ssh_channel ch, const char *command, void *arg)
{
	struct conn *cn = arg;

	(void)s;
	if (ch != cn->chan || cn->shell || cn->exec != NULL ||
	    (cn->exec = strdup(command)) == NULL)
		return -1;
	return 0;
}

/* One channel at a time: a device's session channel, or the next
 * command's exec channel once the last one is done. */
static ssh_channel
open_session(ssh_session s, void *arg)
{
	struct conn *cn = arg;

	if (cn->chan != NULL || !cn->authed)
		return NULL;
	if ((cn->chan = ssh_channel_new(s)) == NULL)
		return NULL;
	cn->eof = cn->closed = 0;
	memset(&cn->ccb, 0, sizeof(cn->ccb));
	cn->ccb.userdata = cn;
	cn->ccb.channel_data_function = ch_data;
	cn->ccb.channel_eof_function = ch_eof;
	cn->ccb.channel_close_function = ch_close;
	cn->ccb.channel_pty_request_function = ch_pty;
	cn->ccb.channel_pty_window_change_function = ch_window;
	cn->ccb.channel_env_request_function = ch_env;
	cn->ccb.channel_shell_request_function = ch_shell;
	cn->ccb.channel_exec_request_function = ch_exec;
	ssh_callbacks_init(&cn->ccb);
	ssh_set_channel_callbacks(cn->chan, &cn->ccb);
	return cn->chan;
}

/* ---- the connection ---- */

static int
chan_out(void *arg, const char *buf, size_t len)
{
	struct conn *cn = arg;
	size_t off = 0;
	int n;

	while (off < len) {
		if (cn->chan == NULL || fd_stopping)
			return VG_ERR_CLOSED;
		n = ssh_channel_write(cn->chan, buf + off,
		    (uint32_t)(len - off));
		if (n == SSH_ERROR || n < 0)
			return VG_ERR_CLOSED;
		off += (size_t)n;
	}
	return 0;
}

/* Ends the current channel: exit status, EOF, close. Before the
 * connection ends (last), a moment for the client's close, as sshd: a
 * client that finds the connection gone before it closed its side
 * reports an error. An exec channel does not wait: the client may
 * already be opening the next. */
static void
end_channel(struct conn *cn, int status, int last)
{
	double until = vg_now() + CLOSE_WAIT_MS / 1000.0;

	if (cn->chan == NULL)
		return;
	if (!cn->closed) {
		ssh_channel_request_send_exit_status(cn->chan, status);
		ssh_channel_send_eof(cn->chan);
		ssh_channel_close(cn->chan);
		while (last && !cn->closed && cn->ev != NULL && !fd_stopping &&
		    vg_now() < until && ssh_is_connected(cn->s) &&
		    ssh_event_dopoll(cn->ev, 100) != SSH_ERROR)
			;
	}
	ssh_channel_free(cn->chan);
	cn->chan = NULL;
}

static int
run_exec(struct conn *cn)
{
	int status = 0, r;

	r = fd_dev_exec(cn->dev, cn->user, cn->exec, &status);
	free(cn->exec);
	cn->exec = NULL;
	if (r < 0)
		return r;
	end_channel(cn, status, 0);
	return r;
}

void
fd_ssh_serve(const struct fd_conf *c, ssh_session s, const char *peer)
{
	struct ssh_server_callbacks_struct scb = { 0 };
	struct conn *cn;
	ssh_event ev = NULL;
	double last;
	long timeout = (long)c->idle_s;
	int r = 0;

	if ((cn = calloc(1, sizeof(*cn))) == NULL)
		goto out;
	cn->c = c;
	cn->s = s;
	if ((cn->dev = fd_dev_new(c, chan_out, cn)) == NULL)
		goto out;
	scb.userdata = cn;
	scb.auth_password_function = auth_password;
	scb.auth_pubkey_function = auth_pubkey;
	scb.channel_open_request_session_function = open_session;
	ssh_callbacks_init(&scb);
	ssh_set_server_callbacks(s, &scb);
	ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout);
	if (ssh_handle_key_exchange(s) != SSH_OK) {
		if (c->verbose)
			fprintf(stderr, "vigil-fakedev: ssh %s: key exchange: "
			    "%s\n", peer, ssh_get_error(s));
		goto out;
	}
	ssh_set_auth_methods(s, SSH_AUTH_METHOD_PASSWORD |
	    (c->pubkeys != NULL ? SSH_AUTH_METHOD_PUBLICKEY : 0));
	if ((ev = ssh_event_new()) == NULL || ssh_event_add_session(ev, s) !=
	    SSH_OK)
		goto out;
	cn->ev = ev;
	last = vg_now();
	while (!fd_stopping && r == 0) {
		if (ssh_event_dopoll(ev, POLL_MS) == SSH_ERROR ||
		    !ssh_is_connected(s))
			break;
		if (cn->auth_failures >= AUTH_TRIES)
			break;
		if (cn->exec != NULL) {
			r = run_exec(cn);
			last = vg_now();
			continue;
		}
		if (cn->want_shell && !cn->shell) {
			cn->shell = 1;
			r = fd_dev_shell_start(cn->dev, cn->user, cn->enable);
			last = vg_now();
		}
		if (r == 0 && cn->input_len > 0 && cn->shell) {
			r = fd_dev_input(cn->dev, cn->input, cn->input_len);
			explicit_bzero(cn->input, cn->input_len);
			cn->input_len = 0;
			last = vg_now();
		}
		if (cn->shell && (cn->eof || cn->closed))
			break;
		if (cn->chan != NULL && cn->closed && !cn->shell)
			end_channel(cn, 0, 0);
		if (vg_now() - last > (double)c->idle_s)
			break;
	}
	if (c->verbose)
		fprintf(stderr, "vigil-fakedev: ssh %s: %s: session ends (%s)\n",
		    peer, cn->user[0] != '\0' ? cn->user : "(no login)",
		    r == FD_CLOSE ? "closed by the device" : r < 0 ?
		    vg_strerror(r) : "client left");
	end_channel(cn, 0, 1);
	ssh_disconnect(s);
out:
	if (ev != NULL) {
		ssh_event_remove_session(ev, s);
		ssh_event_free(ev);
	}
	if (cn != NULL) {
		fd_dev_free(cn->dev);
		free(cn->exec);
		explicit_bzero(cn, sizeof(*cn));
		free(cn);
	}
}
