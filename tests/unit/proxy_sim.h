/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Test helpers for the proxy: a reader of the recorded device sessions
 * (tests/fixtures/device-sessions, libyaml) and a scripted transport that
 * replays them to the real session engine, plus quirks (slow device,
 * device that ignores exit, login dialogue, chunking).
 */
#ifndef PROXY_SIM_H
#define PROXY_SIM_H

#include <yaml.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session.h"
#include "vg_err.h"

struct sim_cmd {
	char *cmd; /* with its "\n" */
	char *resp;
	size_t resp_len;
};

struct sim_login_step {
	const char *prompt; /* sent by the device */
	const char *expect; /* the line it wants back */
};

struct sim {
	char *init;
	size_t init_len;
	struct sim_cmd *cmds;
	size_t ncmds;

	/* Behaviour */
	size_t chunk;          /* bytes per read at most (0: all) */
	int delay_ms;          /* waiting before each chunk */
	int ignore_exit;       /* never closes */
	const char *logout;    /* closes after this command (exit, quit) */
	const struct sim_login_step *login;
	size_t nlogin;
	size_t truncate_at;    /* 0, or cut the connection after N bytes */

	/* State */
	char *pending;
	size_t pend_len, pend_off;
	char *held; /* the rest of an answer after a password prompt */
	size_t held_len;
	char in[4096];
	size_t in_len;
	size_t login_step;
	int closing, closed, exec_open;
	size_t sent_total;
	int close_calls;
	int waited_ms;
	char last_prompt[256];
	char *unknown[64];
	size_t nunknown;
	char *lines_in[64]; /* lines received (logins, commands) */
	size_t nlines_in;
};

/* Decodes the Ruby-style escapes the fixtures keep in block scalars. */
static __attribute__((unused)) char *
sim_unescape(const char *s, size_t len, size_t *outlen)
{
	char *o = malloc(len + 1);
	size_t i, n = 0;
	unsigned int v;

	if (o == NULL)
		abort();
	for (i = 0; i < len; i++) {
		if (s[i] != '\\' || i + 1 >= len) {
			o[n++] = s[i];
			continue;
		}
		switch (s[i + 1]) {
		case 'r': o[n++] = '\r'; i++; break;
		case 'n': o[n++] = '\n'; i++; break;
		case 't': o[n++] = '\t'; i++; break;
		case 'e': o[n++] = '\033'; i++; break;
		case '"': o[n++] = '"'; i++; break;
		case '\\': o[n++] = '\\'; i++; break;
		case 'x':
			if (i + 3 < len + 0 && sscanf(s + i + 2, "%2x", &v) == 1) {
				o[n++] = (char)v;
				i += 3;
				break;
			}
			/* FALLTHROUGH */
		default: o[n++] = s[i]; break;
		}
	}
	o[n] = '\0';
	*outlen = n;
	return o;
}

static __attribute__((unused)) char *
sim_scalar(yaml_node_t *node, size_t *len)
{
	char *s;

	if (node == NULL || node->type != YAML_SCALAR_NODE)
		return NULL;
	if (node->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
	    node->data.scalar.style == YAML_FOLDED_SCALAR_STYLE ||
	    node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return sim_unescape((const char *)node->data.scalar.value,
		    node->data.scalar.length, len);
	/* Quoted scalars: libyaml has applied the escapes. */
	*len = node->data.scalar.length;
	if ((s = malloc(*len + 1)) == NULL)
		abort();
	memcpy(s, node->data.scalar.value, *len);
	s[*len] = '\0';
	return s;
}

static __attribute__((unused)) void
sim_add_cmd(struct sim *sm, yaml_document_t *doc, yaml_node_pair_t *pair)
{
	size_t len;

	sm->cmds = realloc(sm->cmds, (sm->ncmds + 1) * sizeof(*sm->cmds));
	if (sm->cmds == NULL)
		abort();
	sm->cmds[sm->ncmds].cmd = sim_scalar(yaml_document_get_node(doc,
	    pair->key), &len);
	sm->cmds[sm->ncmds].resp = sim_scalar(yaml_document_get_node(doc,
	    pair->value), &sm->cmds[sm->ncmds].resp_len);
	if (sm->cmds[sm->ncmds].resp == NULL) {
		sm->cmds[sm->ncmds].resp = strdup("");
		sm->cmds[sm->ncmds].resp_len = 0;
	}
	if (sm->cmds[sm->ncmds].cmd != NULL)
		sm->ncmds++;
}

/* Loads a list file (prompt.yaml, secret.yaml...): the strings of key. */
static size_t sim_yaml_list(const char *file, const char *key, char ***out)
    __attribute__((unused));

static __attribute__((unused)) size_t
sim_yaml_list(const char *file, const char *key, char ***out)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *k, *v;
	yaml_node_pair_t *pair;
	yaml_node_item_t *item;
	FILE *f;
	size_t n = 0, len;

	*out = NULL;
	if ((f = fopen(file, "r")) == NULL)
		return 0;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc))
		abort();
	root = yaml_document_get_root_node(&doc);
	if (root != NULL && root->type == YAML_MAPPING_NODE) {
		for (pair = root->data.mapping.pairs.start;
		    pair < root->data.mapping.pairs.top; pair++) {
			k = yaml_document_get_node(&doc, pair->key);
			v = yaml_document_get_node(&doc, pair->value);
			if (k->type != YAML_SCALAR_NODE || strcmp((char *)
			    k->data.scalar.value, key) != 0 ||
			    v->type != YAML_SEQUENCE_NODE)
				continue;
			for (item = v->data.sequence.items.start;
			    item < v->data.sequence.items.top; item++) {
				*out = realloc(*out, (n + 1) * sizeof(**out));
				if (*out == NULL)
					abort();
				(*out)[n++] = sim_scalar(
				    yaml_document_get_node(&doc, *item), &len);
			}
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return n;
}

static void sim_list_free(char **l, size_t n) __attribute__((unused));

static __attribute__((unused)) void
sim_list_free(char **l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static __attribute__((unused)) struct sim *
sim_load(const char *file)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *k, *v, *m;
	yaml_node_pair_t *pair, *p2;
	yaml_node_item_t *item;
	struct sim *sm;
	FILE *f;

	if ((sm = calloc(1, sizeof(*sm))) == NULL)
		abort();
	if ((f = fopen(file, "r")) == NULL) {
		fprintf(stderr, "%s: cannot open\n", file);
		abort();
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		fprintf(stderr, "%s: %s\n", file, parser.problem);
		abort();
	}
	root = yaml_document_get_root_node(&doc);
	for (pair = root->data.mapping.pairs.start;
	    pair < root->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(&doc, pair->key);
		v = yaml_document_get_node(&doc, pair->value);
		if (strcmp((char *)k->data.scalar.value, "init_prompt") == 0) {
			sm->init = sim_scalar(v, &sm->init_len);
		} else if (strcmp((char *)k->data.scalar.value,
		    "commands") == 0) {
			if (v->type == YAML_MAPPING_NODE) {
				for (p2 = v->data.mapping.pairs.start;
				    p2 < v->data.mapping.pairs.top; p2++)
					sim_add_cmd(sm, &doc, p2);
			} else if (v->type == YAML_SEQUENCE_NODE) {
				for (item = v->data.sequence.items.start;
				    item < v->data.sequence.items.top; item++) {
					m = yaml_document_get_node(&doc, *item);
					if (m->type == YAML_MAPPING_NODE)
						sim_add_cmd(sm, &doc,
						    m->data.mapping.pairs.start);
				}
			}
		}
	}
	if (sm->init == NULL)
		sm->init = strdup("");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	sm->logout = "exit";
	return sm;
}

/* A simulation built in the test: init text, then command/answer pairs
 * (NULL-terminated). */
static struct sim *sim_new(const char *init, const char *const *pairs)
    __attribute__((unused));

static __attribute__((unused)) struct sim *
sim_new(const char *init, const char *const *pairs)
{
	struct sim *sm = calloc(1, sizeof(*sm));
	size_t i;

	if (sm == NULL || (sm->init = strdup(init)) == NULL)
		abort();
	sm->init_len = strlen(init);
	for (i = 0; pairs[i] != NULL; i += 2) {
		sm->cmds = realloc(sm->cmds, (sm->ncmds + 1) *
		    sizeof(*sm->cmds));
		if (sm->cmds == NULL)
			abort();
		sm->cmds[sm->ncmds].cmd = strdup(pairs[i]);
		sm->cmds[sm->ncmds].resp = strdup(pairs[i + 1]);
		sm->cmds[sm->ncmds].resp_len = strlen(pairs[i + 1]);
		sm->ncmds++;
	}
	sm->logout = "exit";
	return sm;
}

static __attribute__((unused)) void
sim_free(struct sim *sm)
{
	size_t i;

	if (sm == NULL)
		return;
	for (i = 0; i < sm->ncmds; i++) {
		free(sm->cmds[i].cmd);
		free(sm->cmds[i].resp);
	}
	for (i = 0; i < sm->nunknown; i++)
		free(sm->unknown[i]);
	for (i = 0; i < sm->nlines_in; i++)
		free(sm->lines_in[i]);
	free(sm->cmds);
	free(sm->init);
	free(sm->pending);
	free(sm->held);
	free(sm);
}

static __attribute__((unused)) void
sim_queue(struct sim *sm, const char *data, size_t len)
{
	char *g;
	const char *nl;
	size_t plen, i;

	if ((g = realloc(sm->pending, sm->pend_len + len + 1)) == NULL)
		abort();
	sm->pending = g;
	memcpy(sm->pending + sm->pend_len, data, len);
	sm->pend_len += len;
	/* The last line of what the device says is its prompt. */
	for (nl = NULL, i = 0; i < len; i++)
		if (data[i] == '\n')
			nl = data + i;
	if (nl != NULL || len > 0) {
		nl = nl != NULL ? nl + 1 : data;
		plen = (size_t)(data + len - nl);
		if (plen > 0 && plen < sizeof(sm->last_prompt)) {
			memcpy(sm->last_prompt, nl, plen);
			sm->last_prompt[plen] = '\0';
		}
	}
}

/* Queues an answer; a '\001' in it is a pager: the rest waits for the
 * next keystroke. */
static __attribute__((unused)) void
sim_queue_resp(struct sim *sm, const char *data, size_t len)
{
	const char *pause = memchr(data, '\001', len);

	if (pause == NULL) {
		sim_queue(sm, data, len);
		return;
	}
	sim_queue(sm, data, (size_t)(pause - data));
	free(sm->held);
	sm->held_len = len - (size_t)(pause - data) - 1;
	if ((sm->held = malloc(sm->held_len + 1)) == NULL)
		abort();
	memcpy(sm->held, pause + 1, sm->held_len);
}

static __attribute__((unused)) void
sim_start(struct sim *sm)
{
	if (sm->nlogin > 0)
		sim_queue(sm, sm->login[0].prompt, strlen(sm->login[0].prompt));
	else
		sim_queue(sm, sm->init, sm->init_len);
}

static __attribute__((unused)) void
sim_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	if (ms > 0)
		nanosleep(&ts, NULL);
}

static __attribute__((unused)) int
sim_read(void *ctx, char *buf, size_t cap, int timeout_ms, size_t *got)
{
	struct sim *sm = ctx;
	size_t n = sm->pend_len - sm->pend_off;

	*got = 0;
	if (sm->closed)
		return VG_ERR_CLOSED;
	if (n == 0) {
		if (sm->exec_open) {
			sm->exec_open = 0;
			return VG_ERR_CLOSED;
		}
		if (sm->closing) {
			sm->closed = 1;
			return VG_ERR_CLOSED;
		}
		sim_sleep_ms(timeout_ms < 50 ? timeout_ms : 50);
		return 0;
	}
	if (sm->delay_ms > 0) {
		if (sm->waited_ms + timeout_ms < sm->delay_ms) {
			sim_sleep_ms(timeout_ms);
			sm->waited_ms += timeout_ms;
			return 0;
		}
		sim_sleep_ms(sm->delay_ms - sm->waited_ms);
		sm->waited_ms = 0;
	}
	if (sm->chunk > 0 && n > sm->chunk)
		n = sm->chunk;
	if (n > cap)
		n = cap;
	if (sm->truncate_at > 0 && sm->sent_total + n >= sm->truncate_at) {
		n = sm->truncate_at - sm->sent_total;
		if (n == 0) {
			sm->closed = 1;
			return VG_ERR_CLOSED;
		}
	}
	memcpy(buf, sm->pending + sm->pend_off, n);
	sm->pend_off += n;
	sm->sent_total += n;
	if (sm->pend_off == sm->pend_len)
		sm->pend_off = sm->pend_len = 0;
	*got = n;
	return 0;
}

static __attribute__((unused)) const struct sim_cmd *
sim_find(const struct sim *sm, const char *line)
{
	size_t i, n = strlen(line);

	for (i = 0; i < sm->ncmds; i++)
		if (strncmp(sm->cmds[i].cmd, line, n) == 0 &&
		    strcmp(sm->cmds[i].cmd + n, "\n") == 0)
			return &sm->cmds[i];
	return NULL;
}

/* Answers one line the engine typed. */
static __attribute__((unused)) void
sim_line(struct sim *sm, const char *line)
{
	const struct sim_cmd *c;
	const char *pw;
	char msg[512];
	size_t n;

	if (sm->nlines_in < 64)
		sm->lines_in[sm->nlines_in++] = strdup(line);
	if (sm->login_step < sm->nlogin) {
		if (strcmp(line, sm->login[sm->login_step].expect) != 0) {
			/* Refused: the dialogue starts again. */
			sm->login_step = 0;
			sim_queue(sm, "\nLogin incorrect\n", 17);
			sim_queue(sm, sm->login[0].prompt,
			    strlen(sm->login[0].prompt));
			return;
		}
		if (++sm->login_step < sm->nlogin)
			sim_queue(sm, sm->login[sm->login_step].prompt,
			    strlen(sm->login[sm->login_step].prompt));
		else
			sim_queue(sm, sm->init, sm->init_len);
		return;
	}
	if (sm->held != NULL) {
		char *h = sm->held;

		sm->held = NULL;
		sim_queue_resp(sm, h, sm->held_len);
		free(h);
		return;
	}
	if ((c = sim_find(sm, line)) == NULL) {
		if (sm->nunknown < 64)
			sm->unknown[sm->nunknown++] = strdup(line);
		snprintf(msg, sizeof(msg), "%s\n%% Invalid input\n%s", line,
		    sm->last_prompt);
		sim_queue(sm, msg, strlen(msg));
		return;
	}
	/* A password prompt inside an answer (enable) waits for the
	 * password before the rest comes. */
	pw = strstr(c->resp, "assword:");
	if (pw != NULL) {
		n = (size_t)(pw + 8 - c->resp);
		while (n < c->resp_len && c->resp[n] == ' ')
			n++;
		if (n < c->resp_len) {
			sim_queue(sm, c->resp, n);
			sm->held_len = c->resp_len - n;
			if ((sm->held = malloc(sm->held_len)) == NULL)
				abort();
			memcpy(sm->held, c->resp + n, sm->held_len);
			return;
		}
	}
	sim_queue_resp(sm, c->resp, c->resp_len);
	if (sm->logout != NULL && strcmp(line, sm->logout) == 0 &&
	    !sm->ignore_exit)
		sm->closing = 1;
}

static __attribute__((unused)) int
sim_write(void *ctx, const void *data, size_t len)
{
	struct sim *sm = ctx;
	const char *p = data;
	size_t i;

	if (sm->closed)
		return VG_ERR_CLOSED;
	/* A keystroke without a newline answers a pager. */
	if (sm->held != NULL && memchr(data, '\n', len) == NULL &&
	    memchr(data, '\r', len) == NULL) {
		char *h = sm->held;

		if (sm->nlines_in < 64)
			sm->lines_in[sm->nlines_in++] = strndup(data, len);
		sm->held = NULL;
		sim_queue_resp(sm, h, sm->held_len);
		free(h);
		return 0;
	}
	for (i = 0; i < len; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			/* "\r\n" ends one line. */
			if (p[i] == '\n' && i > 0 && p[i - 1] == '\r')
				continue;
			sm->in[sm->in_len] = '\0';
			sim_line(sm, sm->in);
			sm->in_len = 0;
		} else if (sm->in_len + 1 < sizeof(sm->in)) {
			sm->in[sm->in_len++] = p[i];
		}
	}
	return 0;
}

static __attribute__((unused)) int
sim_exec(void *ctx, const char *command)
{
	struct sim *sm = ctx;
	const struct sim_cmd *c = sim_find(sm, command);

	sm->exec_open = 1;
	if (c == NULL) {
		if (sm->nunknown < 64)
			sm->unknown[sm->nunknown++] = strdup(command);
		sim_queue(sm, "syntax error\n", 13);
		return 0;
	}
	sim_queue(sm, c->resp, c->resp_len);
	return 0;
}

static __attribute__((unused)) void
sim_close(void *ctx)
{
	struct sim *sm = ctx;

	sm->close_calls++;
	sm->closed = 1;
}

static __attribute__((unused)) void
sim_transport(struct sim *sm, struct proxy_transport *t)
{
	t->ctx = sm;
	t->read = sim_read;
	t->write = sim_write;
	t->exec = sim_exec;
	t->close = sim_close;
}

#endif
