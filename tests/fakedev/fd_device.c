/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy_sim.h"

#include "fakedev.h"
#include "fd_device.h"
#include "fd_synth.h"
#include "vg_err.h"
#include "vg_util.h"

#define FD_LINE_MAX 4096
#define FD_PROMPT_MAX 256
#define FD_TRIES 3

/* What IOS prints for its pager, and how it erases it. */
static const char more_text[] = " --More-- ";
static const char more_erase[] = "\b\b\b\b\b\b\b\b\b\b          "
    "\b\b\b\b\b\b\b\b\b\b";

enum fd_state {
	ST_LOGIN_USER,
	ST_LOGIN_PASS,
	ST_SHELL,
	ST_ENABLE_PASS,
	ST_PAGER,
};

struct fd_buf {
	char *p;
	size_t len, cap;
};

struct fd_dev {
	const struct fd_conf *c;
	fd_out_fn out;
	void *arg;
	enum fd_state state;
	char name[FD_NAME_MAX];
	char enable[FD_ENABLE_MAX];
	char login_user[FD_NAME_MAX];
	int login_failures, enable_failures;
	int started;
	char prompt[FD_PROMPT_MAX];
	char line[FD_LINE_MAX];
	size_t line_len;
	int after_cr;
	size_t sent;           /* bytes of answers, for the truncate quirk */
	/* A pager's rest of the answer, or a recorded enable's rest. */
	char *held;
	size_t held_len, held_off;
	size_t held_plen;      /* the prompt at the end of a pager's rest */
};

static int
buf_add(struct fd_buf *b, const void *data, size_t len)
{
	return vg_buf_append(&b->p, &b->len, &b->cap, data, len,
	    FD_ANSWER_MAX);
}

static int
buf_str(struct fd_buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

static void
buf_free(struct fd_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static void
sleep_ms(unsigned int ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
	    (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && !fd_stopping)
		;
}

struct fd_dev *
fd_dev_new(const struct fd_conf *c, fd_out_fn out, void *arg)
{
	struct fd_dev *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->c = c;
	d->out = out;
	d->arg = arg;
	d->state = ST_SHELL;
	return d;
}

void
fd_dev_free(struct fd_dev *d)
{
	if (d == NULL)
		return;
	free(d->held);
	explicit_bzero(d, sizeof(*d));
	free(d);
}

const char *
fd_dev_name(const struct fd_dev *d)
{
	return d->name;
}

/*
 * The wire: the slow quirk's chunks and delays, and the truncate quirk's
 * cut (answers only: the login dialogue and banner do not count).
 */
static int
send_bytes(struct fd_dev *d, const char *buf, size_t len, int answer)
{
	const struct fd_quirks *q = &d->c->q;
	size_t n, off = 0;
	int cut = 0, r;

	if (answer && q->truncate > 0) {
		if (d->sent + len >= q->truncate) {
			len = q->truncate - d->sent;
			cut = 1;
		}
		d->sent += len;
	}
	while (off < len) {
		n = len - off;
		if (q->slow_ms > 0) {
			if (n > FD_SLOW_CHUNK)
				n = FD_SLOW_CHUNK;
			sleep_ms(q->slow_ms);
		}
		if ((r = d->out(d->arg, buf + off, n)) != 0)
			return r;
		off += n;
	}
	return cut ? FD_CLOSE : 0;
}

/* Device text: with the escapes quirk, "\r\n" line ends and each line
 * in colour. */
static int
send_text(struct fd_dev *d, const char *s, size_t len, int answer)
{
	struct fd_buf b = { 0 };
	size_t i, start = 0;
	int r;

	if (!d->c->q.escapes || len == 0)
		return send_bytes(d, s, len, answer);
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '\n')
			continue;
		if (i > start && (r = buf_str(&b, "\033[0;36m")) != 0)
			goto out;
		if ((r = buf_add(&b, s + start, i - start)) != 0)
			goto out;
		if (i > start && (r = buf_str(&b, "\033[0m")) != 0)
			goto out;
		if (i < len && (r = buf_str(&b, i > start && s[i - 1] == '\r' ?
		    "\n" : "\r\n")) != 0)
			goto out;
		start = i + 1;
	}
	r = send_bytes(d, b.p, b.len, answer);
out:
	buf_free(&b);
	return r;
}

static int
send_prompt(struct fd_dev *d, const char *prompt, size_t len, int answer)
{
	struct fd_buf b = { 0 };
	int r;

	if (!d->c->q.escapes)
		return send_bytes(d, prompt, len, answer);
	/* Bracketed paste on, as a Debian bash sends, and a bold prompt. */
	if ((r = buf_str(&b, "\033[?2004h\033[1;32m")) != 0 ||
	    (r = buf_add(&b, prompt, len)) != 0 ||
	    (r = buf_str(&b, "\033[0m")) != 0)
		goto out;
	r = send_bytes(d, b.p, b.len, answer);
out:
	buf_free(&b);
	return r;
}

/* The prompt is the last line of what the device says. */
static void
keep_prompt(struct fd_dev *d, const char *s, size_t len)
{
	const char *nl = NULL;
	size_t i, plen;

	for (i = 0; i < len; i++)
		if (s[i] == '\n')
			nl = s + i;
	nl = nl != NULL ? nl + 1 : s;
	plen = (size_t)(s + len - nl);
	if (plen > 0 && plen < sizeof(d->prompt)) {
		memcpy(d->prompt, nl, plen);
		d->prompt[plen] = '\0';
	}
}

static int
privileged(const struct fd_dev *d)
{
	size_t n = strlen(d->prompt);

	while (n > 0 && d->prompt[n - 1] == ' ')
		n--;
	return n > 0 && d->prompt[n - 1] == '#';
}

/* Offset just after the nth '\n' of s, or len. */
static size_t
after_lines(const char *s, size_t len, size_t n)
{
	size_t i;

	for (i = 0; i < len && n > 0; i++)
		if (s[i] == '\n' && --n == 0)
			return i + 1;
	return len;
}

/*
 * Sends an answer: body (echo and output, whole lines) then the prompt.
 * With the pager quirk, a body longer than a page stops at "--More--"
 * and the rest waits in held for a key.
 */
static int
answer(struct fd_dev *d, const char *body, size_t blen, const char *prompt,
    size_t plen)
{
	size_t first;
	int r;

	if (d->c->q.pager && (first = after_lines(body, blen,
	    FD_PAGE_LINES)) < blen) {
		free(d->held);
		d->held_len = blen - first + plen;
		if ((d->held = malloc(d->held_len + 1)) == NULL)
			return VG_ERR_NOMEM;
		memcpy(d->held, body + first, blen - first);
		memcpy(d->held + blen - first, prompt, plen);
		d->held[d->held_len] = '\0';
		d->held_off = 0;
		d->held_plen = plen;
		d->state = ST_PAGER;
		if ((r = send_text(d, body, first, 1)) != 0)
			return r;
		return send_bytes(d, more_text, sizeof(more_text) - 1, 1);
	}
	if ((r = send_text(d, body, blen, 1)) != 0)
		return r;
	return send_prompt(d, prompt, plen, 1);
}

/* A recorded answer: what precedes its last line is the body. */
static int
answer_recorded(struct fd_dev *d, const char *s, size_t len)
{
	const char *p = s + len;

	while (p > s && p[-1] != '\n')
		p--;
	keep_prompt(d, s, len);
	return answer(d, s, (size_t)(p - s), p, (size_t)(s + len - p));
}

/* The next page (lines: FD_PAGE_LINES, or 1 for Enter), or nothing
 * more (abort) after the pager text is erased. */
static int
pager_key(struct fd_dev *d, size_t lines, int abort)
{
	size_t plen = d->held_plen, body = d->held_len - plen, rest, n;
	int r;

	if ((r = send_bytes(d, more_erase, sizeof(more_erase) - 1, 1)) != 0)
		return r;
	rest = body - d->held_off;
	n = abort ? rest : after_lines(d->held + d->held_off, rest, lines);
	if (n < rest) {
		if ((r = send_text(d, d->held + d->held_off, n, 1)) != 0)
			return r;
		d->held_off += n;
		return send_bytes(d, more_text, sizeof(more_text) - 1, 1);
	}
	if (!abort && (r = send_text(d, d->held + d->held_off, rest, 1)) != 0)
		return r;
	r = send_prompt(d, d->held + body, plen, 1);
	free(d->held);
	d->held = NULL;
	d->held_len = d->held_off = 0;
	d->state = ST_SHELL;
	return r;
}

static int
echo_prompt(struct fd_dev *d, const char *line)
{
	struct fd_buf b = { 0 };
	int r;

	if ((r = buf_str(&b, line)) == 0 && (r = buf_str(&b, "\n")) == 0)
		r = answer(d, b.p, b.len, d->prompt, strlen(d->prompt));
	buf_free(&b);
	return r;
}

static int
invalid(struct fd_dev *d, const char *line)
{
	struct fd_buf b = { 0 };
	int r;

	if ((r = buf_str(&b, line)) == 0 && (r = buf_str(&b, "\n% Invalid "
	    "input detected at '^' marker.\n\n")) == 0)
		r = answer(d, b.p, b.len, d->prompt, strlen(d->prompt));
	buf_free(&b);
	return r;
}

/* Logged in as name: the banner and the first prompt. */
static int
begin(struct fd_dev *d, const char *name, const char *enable)
{
	const struct sim *f = d->c->fixture;

	if (fd_copy(d->name, sizeof(d->name), name) != 0 ||
	    fd_copy(d->enable, sizeof(d->enable), enable != NULL ? enable :
	    "enable") != 0)
		return VG_ERR_INVAL;
	if (!d->started) {
		d->started = 1;
		fd_count_session(d->c, d->name);
	}
	d->state = ST_SHELL;
	if (f != NULL) {
		keep_prompt(d, f->init, f->init_len);
		return send_text(d, f->init, f->init_len, 0);
	}
	snprintf(d->prompt, sizeof(d->prompt), "%s>", d->name);
	if ((d->c->q.escapes ? send_bytes(d, "\r\n", 2, 0) :
	    send_bytes(d, "\n", 1, 0)) != 0)
		return VG_ERR_IO;
	return send_prompt(d, d->prompt, strlen(d->prompt), 0);
}

int
fd_dev_login_start(struct fd_dev *d)
{
	const char *q;

	d->state = d->c->q.password_only ? ST_LOGIN_PASS : ST_LOGIN_USER;
	q = d->c->q.password_only ? "Password: " : d->c->q.user_prompt;
	if (send_text(d, "\n\nUser Access Verification\n\n", 28, 0) != 0)
		return VG_ERR_IO;
	return send_bytes(d, q, strlen(q), 0);
}

int
fd_dev_shell_start(struct fd_dev *d, const char *name, const char *enable)
{
	return begin(d, name, enable);
}

static int
login_line(struct fd_dev *d, const char *line)
{
	const struct fd_user *u;
	const char *name = NULL, *q;

	if (d->state == ST_LOGIN_USER) {
		/* Too long a name becomes "", which no login accepts. */
		fd_copy(d->login_user, sizeof(d->login_user), line);
		d->state = ST_LOGIN_PASS;
		/* The echo of the name (we said WILL ECHO), not of the
		 * password. */
		if (send_text(d, line, strlen(line), 0) != 0 ||
		    send_text(d, "\n", 1, 0) != 0)
			return VG_ERR_IO;
		return send_bytes(d, "Password: ", 10, 0);
	}
	u = fd_login(d->c, d->c->q.password_only ? NULL : d->login_user,
	    line, &name);
	if (u != NULL && fd_name_ok(name))
		return begin(d, name, u->enable);
	if (++d->login_failures >= FD_TRIES) {
		send_text(d, "\n% Login invalid\n", 17, 0);
		return FD_CLOSE;
	}
	if (send_text(d, "\n% Login invalid\n\n", 18, 0) != 0)
		return VG_ERR_IO;
	d->state = d->c->q.password_only ? ST_LOGIN_PASS : ST_LOGIN_USER;
	q = d->c->q.password_only ? "Password: " : d->c->q.user_prompt;
	return send_bytes(d, q, strlen(q), 0);
}

/* "enable": a recorded dialogue, or IOS's own. */
static int
enable_start(struct fd_dev *d, const char *line)
{
	const struct sim_cmd *c;
	const char *pw;
	size_t n;
	int r;

	if (d->c->fixture != NULL &&
	    (c = sim_find(d->c->fixture, line)) != NULL) {
		pw = strstr(c->resp, "assword:");
		if (pw == NULL)
			return answer_recorded(d, c->resp, c->resp_len);
		n = (size_t)(pw + 8 - c->resp);
		while (n < c->resp_len && c->resp[n] == ' ')
			n++;
		free(d->held);
		d->held_len = c->resp_len - n;
		if ((d->held = malloc(d->held_len + 1)) == NULL)
			return VG_ERR_NOMEM;
		memcpy(d->held, c->resp + n, d->held_len);
		d->held[d->held_len] = '\0';
		d->state = ST_ENABLE_PASS;
		return send_text(d, c->resp, n, 1);
	}
	if (privileged(d))
		return echo_prompt(d, line);
	d->state = ST_ENABLE_PASS;
	if ((r = send_text(d, line, strlen(line), 1)) != 0)
		return r;
	return send_text(d, "\nPassword: ", 11, 1);
}

static int
enable_line(struct fd_dev *d, const char *line)
{
	int ok = strcmp(line, d->enable) == 0, r;
	char *p;

	d->state = ST_SHELL;
	if (d->held != NULL) {
		/* The recorded rest: asterisks, the privileged prompt. */
		if (ok)
			r = answer_recorded(d, d->held, d->held_len);
		else
			r = answer(d, "\n% Invalid password\n", 20,
			    d->prompt, strlen(d->prompt));
		free(d->held);
		d->held = NULL;
		return r;
	}
	if (ok) {
		d->enable_failures = 0;
		if ((p = strrchr(d->prompt, '>')) != NULL)
			*p = '#';
		return answer(d, "\n", 1, d->prompt, strlen(d->prompt));
	}
	if (++d->enable_failures < FD_TRIES) {
		d->state = ST_ENABLE_PASS;
		return send_text(d, "\nPassword: ", 11, 1);
	}
	d->enable_failures = 0;
	return answer(d, "\n% Bad secrets\n\n", 16, d->prompt,
	    strlen(d->prompt));
}

static int
is_logout(const char *s)
{
	return strcmp(s, "exit") == 0 || strcmp(s, "quit") == 0 ||
	    strcmp(s, "logout") == 0;
}

static int
command(struct fd_dev *d, const char *line)
{
	const struct sim *f = d->c->fixture;
	const struct sim_cmd *c = NULL;
	struct fd_buf b = { 0 };
	char *p;
	int r, known = 0;

	if (f != NULL)
		c = sim_find(f, line);
	if (is_logout(line)) {
		if (c != NULL && (r = answer_recorded(d, c->resp,
		    c->resp_len)) != 0)
			return r;
		if (c == NULL && (r = send_text(d, line, strlen(line),
		    1)) != 0)
			return r;
		if (!d->c->q.ignore_exit)
			return FD_CLOSE;
		/* Stays: a fresh prompt, as such devices do. */
		return answer(d, "\n", 1, d->prompt, strlen(d->prompt));
	}
	if (strcmp(line, "enable") == 0)
		return enable_start(d, line);
	if (line[0] == '\0')
		return answer(d, "\n", 1, d->prompt, strlen(d->prompt));
	if (f != NULL)
		return c != NULL ? answer_recorded(d, c->resp, c->resp_len) :
		    invalid(d, line);
	if (strcmp(line, "disable") == 0) {
		if ((p = strrchr(d->prompt, '#')) != NULL)
			*p = '>';
		return echo_prompt(d, line);
	}
	if ((r = buf_str(&b, line)) != 0 || (r = buf_str(&b, "\n")) != 0 ||
	    (r = fd_synth_output(d->c, d->name, line, privileged(d), &b.p,
	    &b.len, &b.cap, &known)) != 0)
		goto out;
	r = known ? answer(d, b.p, b.len, d->prompt, strlen(d->prompt)) :
	    invalid(d, line);
out:
	buf_free(&b);
	return r;
}

static int
on_line(struct fd_dev *d, char *line)
{
	switch (d->state) {
	case ST_LOGIN_USER:
	case ST_LOGIN_PASS:
		return login_line(d, line);
	case ST_ENABLE_PASS:
		return enable_line(d, line);
	default:
		return command(d, vg_trim(line));
	}
}

int
fd_dev_input(struct fd_dev *d, const char *buf, size_t len)
{
	unsigned char ch;
	size_t i;
	int r;

	for (i = 0; i < len; i++) {
		ch = (unsigned char)buf[i];
		if (d->after_cr && (ch == '\n' || ch == '\0')) {
			d->after_cr = 0;
			continue;
		}
		d->after_cr = ch == '\r';
		if (d->state == ST_PAGER) {
			r = 0;
			if (ch == ' ')
				r = pager_key(d, FD_PAGE_LINES, 0);
			else if (ch == 'q' || ch == 'Q')
				r = pager_key(d, 0, 1);
			else if (ch == '\r' || ch == '\n')
				r = pager_key(d, 1, 0);
			if (r != 0)
				return r;
			continue;
		}
		if (ch == '\r' || ch == '\n') {
			d->line[d->line_len] = '\0';
			d->line_len = 0;
			r = on_line(d, d->line);
			explicit_bzero(d->line, sizeof(d->line));
			if (r != 0)
				return r;
		} else if (ch == '\b' || ch == 0x7f) {
			if (d->line_len > 0)
				d->line_len--;
		} else if ((ch >= 0x20 || ch == '\t') &&
		    d->line_len + 1 < sizeof(d->line)) {
			d->line[d->line_len++] = (char)ch;
		}
	}
	return 0;
}

int
fd_dev_exec(struct fd_dev *d, const char *name, const char *command,
    int *status)
{
	const struct sim_cmd *c;
	struct fd_buf b = { 0 };
	int r, known = 0;

	if (!d->started) {
		if (fd_copy(d->name, sizeof(d->name), name) != 0)
			return VG_ERR_INVAL;
		d->started = 1;
		fd_count_session(d->c, d->name);
	}
	*status = 0;
	if (d->c->fixture != NULL) {
		if ((c = sim_find(d->c->fixture, command)) != NULL)
			return send_bytes(d, c->resp, c->resp_len, 1);
		*status = 1;
		return send_bytes(d, "syntax error\n", 13, 1);
	}
	if ((r = fd_synth_output(d->c, d->name, command, 1, &b.p, &b.len,
	    &b.cap, &known)) != 0)
		goto out;
	if (known) {
		r = send_bytes(d, b.p, b.len, 1);
	} else {
		*status = 1;
		r = send_bytes(d, "% Invalid input\n", 16, 1);
	}
out:
	buf_free(&b);
	return r;
}
