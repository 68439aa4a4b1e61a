/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "vg_err.h"
#include "vg_util.h"

#define LINE_MAX_BYTES (64 * 1024) /* a longer line is broken in two */
#define CSI_MAX 64
#define OSC_MAX 4096
#define PAGER_ANSWERS_MAX 1000000  /* per step: a device stuck in a pager */

/* ------------------------------------------------------------------ */
/* The screen */

enum esc_state { ST_TEXT, ST_ESC, ST_INTER, ST_CSI, ST_OSC, ST_OSC_ESC };

struct proxy_screen {
	char *text;
	size_t text_len, text_cap, cap;
	char *line;
	size_t line_len, line_cap, col;
	unsigned char *erased; /* per cell of line: a blank the cursor went
	                          back over (a pager's "\b \b" erase) */
	size_t erased_cap;
	enum esc_state st;
	char csi[CSI_MAX];
	size_t csi_len, osc_len;
	int over;
};

struct proxy_screen *
proxy_screen_new(size_t cap)
{
	struct proxy_screen *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->cap = cap;
	return s;
}

void
proxy_screen_free(struct proxy_screen *s)
{
	if (s == NULL)
		return;
	/* Device output may hold an echoed secret. */
	if (s->text != NULL)
		OPENSSL_cleanse(s->text, s->text_cap);
	if (s->line != NULL)
		OPENSSL_cleanse(s->line, s->line_cap);
	free(s->text);
	free(s->line);
	free(s->erased);
	free(s);
}

static int
reserve(char **buf, size_t *cap, size_t need)
{
	size_t ncap = *cap == 0 ? 256 : *cap;
	char *g;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if ((g = realloc(*buf, ncap)) == NULL)
		return VG_ERR_NOMEM;
	*buf = g;
	*cap = ncap;
	return 0;
}

static int newline(struct proxy_screen *s);

/*
 * Moves the cursor n cells left. Blanks it passes over are marked
 * erased: IOS wipes " --More-- " with backspaces, blanks, backspaces, and
 * a shorter line written there next must not keep those blanks (a
 * terminal shows nothing; kept, the same config would differ with where
 * the page breaks fell). Writing a cell clears its mark.
 */
static void
back(struct proxy_screen *s, size_t n)
{
	while (n-- > 0 && s->col > 0) {
		s->col--;
		if (s->col < s->line_len && s->line[s->col] == ' ')
			s->erased[s->col] = 1;
	}
}

/* The current line without its trailing erased blanks. */
static size_t
visible_len(const struct proxy_screen *s)
{
	size_t n = s->line_len;

	while (n > 0 && s->line[n - 1] == ' ' && s->erased[n - 1])
		n--;
	return n;
}

int
proxy_screen_flush(struct proxy_screen *s)
{
	int r;

	if (s->line_len == 0) {
		s->col = 0;
		return 0;
	}
	if ((r = newline(s)) != 0)
		return r;
	return s->over ? VG_ERR_TOOBIG : 0;
}

/* Ends the current line into the finished text. */
static int
newline(struct proxy_screen *s)
{
	int r;

	s->line_len = visible_len(s);
	if (s->text_len + s->line_len + 1 > s->cap) {
		s->over = 1;
	} else {
		if ((r = reserve(&s->text, &s->text_cap,
		    s->text_len + s->line_len + 2)) != 0)
			return r;
		if (s->line_len > 0)
			memcpy(s->text + s->text_len, s->line, s->line_len);
		s->text_len += s->line_len;
		s->text[s->text_len++] = '\n';
		s->text[s->text_len] = '\0';
	}
	s->line_len = 0;
	s->col = 0;
	return 0;
}

static int
put(struct proxy_screen *s, char c)
{
	int r;

	if (s->col >= LINE_MAX_BYTES && (r = newline(s)) != 0)
		return r;
	if ((r = reserve(&s->line, &s->line_cap, s->col + 2)) != 0)
		return r;
	if ((r = reserve((char **)&s->erased, &s->erased_cap,
	    s->line_cap)) != 0)
		return r;
	while (s->line_len < s->col) {
		s->erased[s->line_len] = 0;
		s->line[s->line_len++] = ' ';
	}
	s->erased[s->col] = 0;
	s->line[s->col++] = c;
	if (s->col > s->line_len)
		s->line_len = s->col;
	return 0;
}

/* Numeric first parameter of the CSI sequence, def when absent. */
static size_t
csi_param(const struct proxy_screen *s, size_t def)
{
	size_t i, v = 0;
	int any = 0;

	for (i = 0; i < s->csi_len && s->csi[i] >= '0' && s->csi[i] <= '9';
	    i++) {
		if (v < 100000)
			v = v * 10 + (size_t)(s->csi[i] - '0');
		any = 1;
	}
	return any ? v : def;
}

static void
csi_final(struct proxy_screen *s, char f)
{
	size_t n;

	/* A private sequence ("?2004h") moves nothing on the line. */
	if (s->csi_len > 0 && (s->csi[0] == '?' || s->csi[0] == '>' ||
	    s->csi[0] == '<' || s->csi[0] == '='))
		return;
	switch (f) {
	case 'K':
		n = csi_param(s, 0);
		if (n == 0) {
			if (s->col < s->line_len)
				s->line_len = s->col;
		} else if (n == 1) {
			for (n = 0; n < s->col && n < s->line_len; n++)
				s->line[n] = ' ';
		} else {
			s->line_len = 0;
		}
		break;
	case 'D':
		back(s, csi_param(s, 1));
		break;
	case 'C':
		n = csi_param(s, 1);
		s->col = s->col + n > LINE_MAX_BYTES ? LINE_MAX_BYTES :
		    s->col + n;
		break;
	case 'G':
		n = csi_param(s, 1);
		s->col = n == 0 ? 0 : (n - 1 > LINE_MAX_BYTES ?
		    LINE_MAX_BYTES : n - 1);
		break;
	default:
		break;
	}
}

int
proxy_screen_feed(struct proxy_screen *s, const char *data, size_t len)
{
	unsigned char c;
	size_t i;
	int r;

	for (i = 0; i < len; i++) {
		c = (unsigned char)data[i];
		switch (s->st) {
		case ST_TEXT:
			if (c == 0x1b) {
				s->st = ST_ESC;
			} else if (c == '\n') {
				if ((r = newline(s)) != 0)
					return r;
			} else if (c == '\r') {
				s->col = 0;
			} else if (c == '\b') {
				back(s, 1);
			} else if (c == '\t' || (c >= 0x20 && c != 0x7f)) {
				if ((r = put(s, (char)c)) != 0)
					return r;
			}
			break;
		case ST_ESC:
			if (c == '[') {
				s->st = ST_CSI;
				s->csi_len = 0;
			} else if (c == ']' || c == 'P' || c == 'X' ||
			    c == '^' || c == '_') {
				s->st = ST_OSC;
				s->osc_len = 0;
			} else if (c >= 0x20 && c <= 0x2f) {
				s->st = ST_INTER;
			} else {
				s->st = ST_TEXT;
			}
			break;
		case ST_INTER:
			if (c < 0x20 || c > 0x2f)
				s->st = ST_TEXT;
			break;
		case ST_CSI:
			if (c >= 0x40 && c <= 0x7e) {
				csi_final(s, (char)c);
				s->st = ST_TEXT;
			} else if (c >= 0x20 && c <= 0x3f &&
			    s->csi_len < CSI_MAX) {
				s->csi[s->csi_len++] = (char)c;
			} else {
				/* Not a CSI after all: drop it. */
				s->st = ST_TEXT;
			}
			break;
		case ST_OSC:
			if (c == 0x07 || ++s->osc_len > OSC_MAX)
				s->st = ST_TEXT;
			else if (c == 0x1b)
				s->st = ST_OSC_ESC;
			break;
		case ST_OSC_ESC:
			s->st = ST_TEXT;
			break;
		}
	}
	return s->over ? VG_ERR_TOOBIG : 0;
}

const char *
proxy_screen_line(const struct proxy_screen *s, size_t *len)
{
	*len = visible_len(s);
	return s->line != NULL ? s->line : "";
}

void
proxy_screen_cut(struct proxy_screen *s, size_t at)
{
	if (at < s->line_len)
		s->line_len = at;
	s->col = s->line_len;
}

const char *
proxy_screen_text(const struct proxy_screen *s, size_t *len)
{
	*len = s->text_len;
	return s->text != NULL ? s->text : "";
}

void
proxy_screen_clear_text(struct proxy_screen *s)
{
	if (s->text != NULL)
		OPENSSL_cleanse(s->text, s->text_len);
	s->text_len = 0;
	s->over = 0;
}

/* ------------------------------------------------------------------ */
/* The session */

void
proxy_credentials_wipe(struct proxy_credentials *c)
{
	char **f[5];
	size_t i;

	if (c == NULL)
		return;
	f[0] = &c->username;
	f[1] = &c->password;
	f[2] = &c->enable_secret;
	f[3] = &c->private_key;
	f[4] = &c->passphrase;
	for (i = 0; i < 5; i++) {
		if (*f[i] != NULL) {
			OPENSSL_cleanse(*f[i], strlen(*f[i]));
			free(*f[i]);
			*f[i] = NULL;
		}
	}
}

void
proxy_session_opts_default(struct proxy_session_opts *o)
{
	o->step_timeout_ms = 20000;
	o->job_timeout_ms = 300000;
	o->logout_grace_ms = 2000;
	o->max_output = 16 * 1024 * 1024;
}

void
proxy_capture_free(struct proxy_capture *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->out[i].command);
		free(c->out[i].text);
	}
	free(c->out);
	free(c->prompt);
	free(c);
}

/* What a wait may end on. */
enum expect {
	EX_USERNAME = 1 << 0,
	EX_PASSWORD = 1 << 1,
	EX_PROMPT = 1 << 2,        /* the profile's prompt regex */
	EX_ENABLE_PASSWORD = 1 << 3,
	EX_ENABLE_PROMPT = 1 << 4,
	EX_LOCKED = 1 << 5,        /* the exact prompt seen */
};

struct session {
	const struct proxy_profile *p;
	const struct proxy_transport *t;
	struct proxy_screen *scr;
	unsigned int step_ms;
	unsigned int grace_ms;
	double job_deadline;
	char *prompt; /* the exact prompt, once locked */
	size_t prompt_len;
	const char *step; /* what we are doing, for messages */
	char *err;
	size_t errlen;
};

static void
session_error(struct session *s, int r, const char *what)
{
	const char *line;
	char *esc;
	size_t len;

	line = proxy_screen_line(s->scr, &len);
	if (len > 120)
		line += len - 120, len = 120;
	esc = vg_escape(line, len);
	snprintf(s->err, s->errlen, "%s: %s (last line seen: \"%s\")",
	    s->step, what != NULL ? what : vg_strerror(r),
	    esc != NULL ? esc : "");
	free(esc);
}

/* Writes data then newline; wipes the copy when secret. */
static int
send_line(struct session *s, const char *data, int secret)
{
	size_t dl = strlen(data), n = dl + s->p->newline_len;
	char *buf;
	int r;

	if ((buf = malloc(n)) == NULL)
		return VG_ERR_NOMEM;
	memcpy(buf, data, dl);
	memcpy(buf + dl, s->p->newline, s->p->newline_len);
	r = s->t->write(s->t->ctx, buf, n);
	if (secret)
		OPENSSL_cleanse(buf, n);
	free(buf);
	if (r != 0)
		session_error(s, r, "write failed");
	return r;
}

static int
line_matches(struct session *s, const struct proxy_regex *re)
{
	const char *line;
	size_t len;

	line = proxy_screen_line(s->scr, &len);
	return proxy_regex_match(s->p, re, line, len, NULL, NULL) == 1;
}

/* Answers a pager shown on the current line; 1 when it did. */
static int
answer_pager(struct session *s, int *r)
{
	const char *line;
	size_t i, len, ms;

	line = proxy_screen_line(s->scr, &len);
	for (i = 0; i < s->p->npagers; i++) {
		if (proxy_regex_match(s->p, &s->p->pagers[i].re, line, len,
		    &ms, NULL) != 1)
			continue;
		/* The device erases its pager text or not; either way it is
		 * not output. */
		proxy_screen_cut(s->scr, ms);
		*r = s->t->write(s->t->ctx, s->p->pagers[i].answer,
		    s->p->pagers[i].answer_len);
		if (*r != 0)
			session_error(s, *r, "write failed");
		return 1;
	}
	return 0;
}

/* Which of want the current line shows, or 0. */
static int
check_line(struct session *s, int want)
{
	const char *line;
	size_t len;

	if ((want & EX_LOCKED) != 0) {
		line = proxy_screen_line(s->scr, &len);
		if (len == s->prompt_len && memcmp(line, s->prompt, len) == 0)
			return EX_LOCKED;
	}
	if ((want & EX_USERNAME) != 0 &&
	    line_matches(s, &s->p->username_prompt))
		return EX_USERNAME;
	if ((want & EX_PASSWORD) != 0 &&
	    line_matches(s, &s->p->password_prompt))
		return EX_PASSWORD;
	if ((want & EX_ENABLE_PASSWORD) != 0 &&
	    line_matches(s, &s->p->enable_password_prompt))
		return EX_ENABLE_PASSWORD;
	if ((want & EX_ENABLE_PROMPT) != 0 &&
	    line_matches(s, &s->p->enable_prompt))
		return EX_ENABLE_PROMPT;
	if ((want & EX_PROMPT) != 0 && line_matches(s, &s->p->prompt))
		return EX_PROMPT;
	return 0;
}

/* Milliseconds until the earlier of the two deadlines; <= 0 when past. */
static long
ms_left(double step_deadline, double job_deadline)
{
	double d = step_deadline < job_deadline ? step_deadline :
	    job_deadline;

	return (long)((d - vg_now()) * 1000.0);
}

/* Reads until the current line shows one of want; *got says which. */
static int
wait_for(struct session *s, int want, int *got)
{
	double step_deadline = vg_now() + s->step_ms / 1000.0;
	char buf[16384];
	size_t n;
	long left, pagers = 0;
	int r;

	for (;;) {
		while (answer_pager(s, &r)) {
			if (r != 0)
				return r;
			if (++pagers > PAGER_ANSWERS_MAX) {
				session_error(s, VG_ERR_TOOBIG, "too many "
				    "pager prompts");
				return VG_ERR_TOOBIG;
			}
		}
		if ((*got = check_line(s, want)) != 0)
			return 0;
		if ((left = ms_left(step_deadline, s->job_deadline)) <= 0) {
			session_error(s, VG_ERR_TIMEOUT,
			    s->job_deadline <= step_deadline ?
			    "whole-job timeout" : "timed out waiting for the "
			    "device");
			return VG_ERR_TIMEOUT;
		}
		r = s->t->read(s->t->ctx, buf, sizeof(buf),
		    left > 0x7fffffff ? 0x7fffffff : (int)left, &n);
		if (r != 0) {
			session_error(s, r, r == VG_ERR_CLOSED ?
			    "the device closed the connection" : NULL);
			return r;
		}
		/* The step timeout is a silence: a slow device that keeps
		 * talking is bounded by the whole-job timeout only. */
		if (n > 0)
			step_deadline = vg_now() + s->step_ms / 1000.0;
		if (n > 0 && (r = proxy_screen_feed(s->scr, buf, n)) != 0) {
			session_error(s, r, r == VG_ERR_TOOBIG ?
			    "output larger than the cap" : NULL);
			OPENSSL_cleanse(buf, n);
			return r;
		}
		OPENSSL_cleanse(buf, n);
	}
}

static int
lock_prompt(struct session *s)
{
	const char *line;
	size_t len;

	line = proxy_screen_line(s->scr, &len);
	free(s->prompt);
	if ((s->prompt = malloc(len + 1)) == NULL)
		return VG_ERR_NOMEM;
	memcpy(s->prompt, line, len);
	s->prompt[len] = '\0';
	s->prompt_len = len;
	return 0;
}

/* Forgets the current line (a login prompt just answered). */
static void
consume_line(struct session *s)
{
	proxy_screen_cut(s->scr, 0);
}

static int
login(struct session *s, const struct proxy_credentials *cred)
{
	int got, r, user_sent = 0, pass_sent = 0;

	s->step = "login";
	for (;;) {
		if ((r = wait_for(s, EX_USERNAME | EX_PASSWORD | EX_PROMPT,
		    &got)) != 0)
			return r;
		if (got == EX_PROMPT)
			return lock_prompt(s);
		if (got == EX_USERNAME) {
			if (user_sent || cred->username == NULL) {
				session_error(s, VG_ERR_AUTH, user_sent ?
				    "asked for the user name again: login "
				    "refused" : "the device asks for a user "
				    "name and none is configured");
				return VG_ERR_AUTH;
			}
			consume_line(s);
			if ((r = send_line(s, cred->username, 1)) != 0)
				return r;
			user_sent = 1;
		} else {
			if (pass_sent || cred->password == NULL) {
				session_error(s, VG_ERR_AUTH, pass_sent ?
				    "asked for the password again: login "
				    "refused" : "the device asks for a "
				    "password and none is configured");
				return VG_ERR_AUTH;
			}
			consume_line(s);
			if ((r = send_line(s, cred->password, 1)) != 0)
				return r;
			pass_sent = 1;
		}
	}
}

static int
enable(struct session *s, const struct proxy_credentials *cred)
{
	int got, r, sent = 0;

	if (s->p->enable_command == NULL ||
	    line_matches(s, &s->p->enable_prompt))
		return 0;
	s->step = "enable";
	consume_line(s);
	if ((r = send_line(s, s->p->enable_command, 0)) != 0)
		return r;
	for (;;) {
		if ((r = wait_for(s, EX_ENABLE_PASSWORD | EX_ENABLE_PROMPT |
		    EX_LOCKED, &got)) != 0)
			return r;
		if (got == EX_ENABLE_PROMPT)
			break;
		if (got == EX_LOCKED || sent || cred->enable_secret == NULL) {
			session_error(s, VG_ERR_AUTH, got == EX_LOCKED ||
			    sent ? "enable refused" : "the device asks for "
			    "an enable secret and none is configured");
			return VG_ERR_AUTH;
		}
		consume_line(s);
		if ((r = send_line(s, cred->enable_secret, 1)) != 0)
			return r;
		sent = 1;
	}
	proxy_screen_clear_text(s->scr);
	return lock_prompt(s);
}

/* The command's output: what came after the echo line, before the
 * prompt. */
static int
shell_command(struct session *s, const char *cmd, char **text,
    size_t *tlen)
{
	const char *t, *nl, *end;
	size_t len, cl = strlen(cmd), el;
	int got, r;

	s->step = cmd;
	proxy_screen_clear_text(s->scr);
	/* The prompt on the line is not an answer yet: the echo will
	 * follow. */
	consume_line(s);
	if ((r = send_line(s, cmd, 0)) != 0)
		return r;
	if ((r = wait_for(s, EX_LOCKED, &got)) != 0)
		return r;
	if (text == NULL)
		return 0;
	t = proxy_screen_text(s->scr, &len);
	end = t + len;
	/* The echo line ends with the command (after the prompt or the
	 * rest of the line it was typed on); a device that does not echo
	 * keeps its first line. */
	if ((nl = memchr(t, '\n', len)) != NULL) {
		el = (size_t)(nl - t);
		while (el > 0 && t[el - 1] == ' ')
			el--;
		if (el >= cl && memcmp(t + el - cl, cmd, cl) == 0)
			t = nl + 1;
	}
	len = (size_t)(end - t);
	if ((*text = malloc(len + 1)) == NULL)
		return VG_ERR_NOMEM;
	memcpy(*text, t, len);
	(*text)[len] = '\0';
	*tlen = len;
	return 0;
}

/* Runs cmd on its own exec channel; all it prints is output. */
static int
exec_command(struct session *s, const char *cmd, char **text, size_t *tlen)
{
	double step_deadline;
	char buf[16384];
	const char *t;
	size_t n, len;
	long left;
	int r;

	s->step = cmd;
	proxy_screen_clear_text(s->scr);
	proxy_screen_cut(s->scr, 0);
	if ((r = s->t->exec(s->t->ctx, cmd)) != 0) {
		session_error(s, r, "exec failed");
		return r;
	}
	step_deadline = vg_now() + s->step_ms / 1000.0;
	for (;;) {
		if ((left = ms_left(step_deadline, s->job_deadline)) <= 0) {
			session_error(s, VG_ERR_TIMEOUT, "timed out waiting for "
			    "the end of the output");
			return VG_ERR_TIMEOUT;
		}
		r = s->t->read(s->t->ctx, buf, sizeof(buf),
		    left > 0x7fffffff ? 0x7fffffff : (int)left, &n);
		if (r == VG_ERR_CLOSED)
			break;
		if (r != 0) {
			session_error(s, r, NULL);
			return r;
		}
		if ((r = proxy_screen_feed(s->scr, buf, n)) != 0) {
			session_error(s, r, "output larger than the cap");
			return r;
		}
		/* Output that keeps coming is progress. */
		if (n > 0)
			step_deadline = vg_now() + s->step_ms / 1000.0;
	}
	if ((r = proxy_screen_flush(s->scr)) != 0) {
		session_error(s, r, "output larger than the cap");
		return r;
	}
	if (text == NULL)
		return 0;
	t = proxy_screen_text(s->scr, &len);
	if ((*text = malloc(len + 1)) == NULL)
		return VG_ERR_NOMEM;
	memcpy(*text, t, len);
	(*text)[len] = '\0';
	*tlen = len;
	return 0;
}

/* Sends the logout and waits a little for the close; errors do not
 * matter any more. */
static void
logout(struct session *s)
{
	double deadline;
	char buf[4096];
	size_t n;
	long left;

	if (s->p->mode != PROXY_MODE_SHELL || s->p->logout == NULL)
		return;
	s->step = "logout";
	if (send_line(s, s->p->logout, 0) != 0)
		return;
	deadline = vg_now() + s->grace_ms / 1000.0;
	/* The grace is short and bounded whatever the device does. */
	for (;;) {
		if ((left = ms_left(deadline, s->job_deadline)) <= 0)
			return;
		if (s->t->read(s->t->ctx, buf, sizeof(buf),
		    left > 0x7fffffff ? 0x7fffffff : (int)left, &n) != 0)
			return;
	}
}

int
proxy_session_run(const struct proxy_profile *p,
    const struct proxy_transport *t, const struct proxy_credentials *cred,
    const struct proxy_session_opts *o, struct proxy_capture **out,
    char *err, size_t errlen)
{
	static const struct proxy_credentials none;
	struct proxy_capture *cap = NULL;
	struct session s;
	unsigned int job_ms;
	size_t i;
	int r = VG_ERR_NOMEM;

	*out = NULL;
	memset(&s, 0, sizeof(s));
	s.p = p;
	s.t = t;
	s.err = err;
	s.errlen = errlen;
	s.step = "start";
	if (cred == NULL)
		cred = &none;
	s.step_ms = p->step_timeout_s != 0 ? p->step_timeout_s * 1000 :
	    o->step_timeout_ms;
	job_ms = p->job_timeout_s != 0 ? p->job_timeout_s * 1000 :
	    o->job_timeout_ms;
	s.grace_ms = o->logout_grace_ms;
	s.job_deadline = vg_now() + job_ms / 1000.0;
	if ((s.scr = proxy_screen_new(o->max_output)) == NULL)
		goto nomem;
	if ((cap = calloc(1, sizeof(*cap))) == NULL ||
	    (cap->out = calloc(p->ncommands, sizeof(*cap->out))) == NULL)
		goto nomem;
	if (p->mode == PROXY_MODE_EXEC && t->exec == NULL) {
		snprintf(err, errlen, "profile %s: exec mode needs a "
		    "transport with exec channels", p->name);
		r = VG_ERR_INVAL;
		goto out;
	}
	if (p->mode == PROXY_MODE_SHELL) {
		if ((r = login(&s, cred)) != 0 || (r = enable(&s, cred)) != 0)
			goto out;
	}
	for (i = 0; i < p->nsetup; i++) {
		r = p->mode == PROXY_MODE_SHELL ?
		    shell_command(&s, p->setup[i], NULL, NULL) :
		    exec_command(&s, p->setup[i], NULL, NULL);
		if (r != 0)
			goto out;
	}
	for (i = 0; i < p->ncommands; i++) {
		if ((cap->out[i].command = strdup(p->commands[i].line)) ==
		    NULL)
			goto nomem;
		cap->out[i].is_volatile = p->commands[i].is_volatile;
		cap->n = i + 1;
		r = p->mode == PROXY_MODE_SHELL ?
		    shell_command(&s, p->commands[i].line, &cap->out[i].text,
		    &cap->out[i].len) :
		    exec_command(&s, p->commands[i].line, &cap->out[i].text,
		    &cap->out[i].len);
		if (r != 0)
			goto out;
	}
	logout(&s);
	if (s.prompt != NULL && (cap->prompt = strdup(s.prompt)) == NULL)
		goto nomem;
	*out = cap;
	cap = NULL;
	r = 0;
	goto out;
nomem:
	r = VG_ERR_NOMEM;
	snprintf(err, errlen, "%s: out of memory", s.step);
out:
	t->close(t->ctx);
	proxy_capture_free(cap);
	proxy_screen_free(s.scr);
	free(s.prompt);
	return r;
}
