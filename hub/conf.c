/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "vg_conf.h"
#include "vg_err.h"
#include "vg_util.h"

enum conf_type {
	CT_INT,         /* int field, whole number in [min, max] */
	CT_SIZE,        /* size_t field, "16M" or bytes in [min, max] */
	CT_STRING,      /* char * field, non-empty */
	CT_OPTSTRING,   /* char * field, empty = NULL (the default) */
	CT_ANYSTRING,   /* char * field, may be empty ("") */
	CT_LISTEN,      /* listen_host + port */
	CT_LEVEL,       /* log_level */
	CT_URL,         /* public_url: https://... or empty */
};

struct conf_key {
	const char *key;
	enum conf_type type;
	size_t off;
	long long min, max;
};

#define F(field) offsetof(struct hub_conf, field)

static const struct conf_key conf_keys[] = {
	{ "listen", CT_LISTEN, 0, 0, 0 },
	{ "data_dir", CT_STRING, F(data_dir), 0, 0 },
	{ "database", CT_ANYSTRING, F(database), 0, 0 },
	{ "tls_cert", CT_OPTSTRING, F(tls_cert), 0, 0 },
	{ "tls_key", CT_OPTSTRING, F(tls_key), 0, 0 },
	{ "url", CT_URL, F(public_url), 0, 0 },
	{ "log_level", CT_LEVEL, F(log_level), 0, 0 },
	{ "threads", CT_INT, F(threads), 1, 256 },
	{ "retention_days", CT_INT, F(retention_days), 1, 36500 },
	{ "offline_grace", CT_INT, F(offline_grace), 10, 30 * 86400 },
	{ "poll_period", CT_INT, F(poll_period), 10, 86400 },
	{ "batch_size", CT_INT, F(batch_size), 1, 100000 },
	{ "max_body", CT_SIZE, F(max_body), 1024, 1024LL * 1024 * 1024 },
	{ "max_body_anonymous", CT_SIZE, F(max_body_anonymous), 1024,
	    1024LL * 1024 * 1024 },
	{ "max_body_total", CT_SIZE, F(max_body_total), 1024,
	    64LL * 1024 * 1024 * 1024 },
	{ "max_header", CT_SIZE, F(max_header), 1024, 1024 * 1024 },
	{ "client_timeout", CT_INT, F(client_timeout), 1, 3600 },
	{ "max_connections", CT_INT, F(max_connections), 1, 1000000 },
	{ "max_per_ip", CT_INT, F(max_per_ip), 0, 1000000 },
	{ "lockout_attempts", CT_INT, F(lockout_attempts), 1, 1000 },
	{ "lockout_window", CT_INT, F(lockout_window), 1, 7 * 86400 },
	{ "lockout_seconds", CT_INT, F(lockout_seconds), 1, 7 * 86400 },
	{ "session_idle", CT_INT, F(session_idle), 60, 30 * 86400 },
	{ "session_max", CT_INT, F(session_max), 60, 366 * 86400 },
	{ "backoff_inflight", CT_INT, F(backoff_inflight), 1, 1000000 },
	{ "console_dir", CT_OPTSTRING, F(console_dir), 0, 0 },
	{ "profiles_dir", CT_STRING, F(profiles_dir), 0, 0 },
	{ "credential_key", CT_OPTSTRING, F(credential_key), 0, 0 },
};

#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

#undef F

int
hub_conf_defaults(struct hub_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->port = 443;
	c->log_level = HUB_LOG_INFO;
	c->threads = 4;
	c->retention_days = 120;
	c->offline_grace = 300;
	c->poll_period = 300;
	c->batch_size = 1000;
	c->max_body = 16 * 1024 * 1024;
	c->max_body_anonymous = 64 * 1024;
	c->max_body_total = 64 * 1024 * 1024;
	c->max_header = 16 * 1024;
	c->client_timeout = 30;
	c->max_connections = 4096;
	c->max_per_ip = 64;
	c->lockout_attempts = 5;
	c->lockout_window = 600;
	c->lockout_seconds = 600;
	c->session_idle = 3600;
	c->session_max = 43200;
	c->backoff_inflight = 256;
	if ((c->listen_host = strdup("0.0.0.0")) == NULL ||
	    (c->data_dir = strdup(HUB_CONF_DEFAULT_DATA_DIR)) == NULL ||
	    (c->database = strdup("")) == NULL ||
	    (c->profiles_dir = strdup(HUB_CONF_DEFAULT_PROFILES_DIR)) ==
	    NULL) {
		hub_conf_free(c);
		return VG_ERR_NOMEM;
	}
	return 0;
}

void
hub_conf_free(struct hub_conf *c)
{
	if (c == NULL)
		return;
	free(c->conf_path);
	free(c->listen_host);
	free(c->data_dir);
	free(c->database);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->public_url);
	free(c->console_dir);
	free(c->profiles_dir);
	free(c->credential_key);
	c->conf_path = c->listen_host = c->data_dir = c->database = NULL;
	c->tls_cert = c->tls_key = c->public_url = c->console_dir = NULL;
	c->profiles_dir = c->credential_key = NULL;
}

/* A host name as DNS allows it: labels of letters, digits and '-'. */
static int
valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)*s) || *s == '-') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return 1;
}

int
hub_conf_parse_listen(const char *s, char **host, int *port)
{
	unsigned char addr[16];
	const char *colon;
	char *h = NULL;
	size_t hlen;
	long p;

	*host = NULL;
	if (s == NULL || strlen(s) > 300)
		return VG_ERR_INVAL;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || end[1] != ':')
			return VG_ERR_INVAL;
		hlen = (size_t)(end - s - 1);
		if ((h = strndup(s + 1, hlen)) == NULL)
			return VG_ERR_NOMEM;
		colon = end + 1;
		if (inet_pton(AF_INET6, h, addr) != 1)
			goto bad;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return VG_ERR_INVAL;
		hlen = (size_t)(colon - s);
		/* ":443" listens on every IPv4 address. */
		if ((h = hlen == 0 ? strdup("0.0.0.0") : strndup(s, hlen)) ==
		    NULL)
			return VG_ERR_NOMEM;
		/* An unbracketed IPv6 address is ambiguous with the port. */
		if (strchr(h, ':') != NULL)
			goto bad;
		if (inet_pton(AF_INET, h, addr) != 1 && !valid_hostname(h))
			goto bad;
	}
	if (vg_parse_long(colon + 1, 1, 65535, &p) != 0)
		goto bad;
	*host = h;
	*port = (int)p;
	return 0;
bad:
	free(h);
	return VG_ERR_INVAL;
}

static int
set_string(char **field, const char *value, int optional)
{
	char *copy = NULL;

	if (!(optional && *value == '\0') && (copy = strdup(value)) == NULL)
		return VG_ERR_NOMEM;
	free(*field);
	*field = copy;
	return 0;
}

int
hub_conf_set(struct hub_conf *c, const char *key, const char *value,
    char *err, size_t errlen)
{
	const struct conf_key *k = NULL;
	char *base = (char *)c, *host = NULL;
	uint64_t size;
	size_t i;
	long n;
	int r, port, level;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].key, key) == 0)
			k = &conf_keys[i];
	if (k == NULL) {
		snprintf(err, errlen, "unknown setting '%s'", key);
		return VG_ERR_INVAL;
	}
	if ((r = vg_conf_value_ok(key, value, err, errlen)) != 0)
		return r;
	switch (k->type) {
	case CT_INT:
		if ((r = vg_conf_long(key, value, k->min, k->max, &n, err,
		    errlen)) != 0)
			return r;
		*(int *)(void *)(base + k->off) = (int)n;
		return 0;
	case CT_SIZE:
		if ((r = vg_conf_size(key, value, k->min, k->max, &size, err,
		    errlen)) != 0)
			return r;
		*(size_t *)(void *)(base + k->off) = (size_t)size;
		return 0;
	case CT_STRING:
		if (*value == '\0') {
			snprintf(err, errlen, "%s: empty value", key);
			return VG_ERR_INVAL;
		}
		/* FALLTHROUGH */
	case CT_OPTSTRING:
	case CT_ANYSTRING:
		if (set_string((char **)(void *)(base + k->off), value,
		    k->type == CT_OPTSTRING) != 0)
			goto nomem;
		return 0;
	case CT_LISTEN:
		if ((r = hub_conf_parse_listen(value, &host, &port)) != 0) {
			if (r == VG_ERR_NOMEM)
				goto nomem;
			snprintf(err, errlen, "%s: expected HOST:PORT or "
			    "[IPV6]:PORT with a port from 1 to 65535, not '%s'",
			    key, value);
			return VG_ERR_INVAL;
		}
		free(c->listen_host);
		c->listen_host = host;
		c->port = port;
		return 0;
	case CT_LEVEL:
		if ((r = vg_conf_level(key, value, &level, err, errlen)) != 0)
			return r;
		c->log_level = level;
		return 0;
	case CT_URL:
		if (*value != '\0' && (strncmp(value, "https://", 8) != 0 ||
		    value[8] == '\0' || strpbrk(value, " \"<>\\") != NULL)) {
			snprintf(err, errlen, "%s: expected an https:// URL "
			    "without spaces or quotes, not '%s'", key, value);
			return VG_ERR_INVAL;
		}
		if (set_string(&c->public_url, value, 1) != 0)
			goto nomem;
		return 0;
	}
	snprintf(err, errlen, "%s: internal error", key);
	return VG_ERR_INTERNAL;
nomem:
	snprintf(err, errlen, "%s: out of memory", key);
	return VG_ERR_NOMEM;
}

/* vg_conf_read() callback: one setting of the file. */
static int
conf_set_cb(void *arg, const char *key, const char *value, char *msg,
    size_t msglen)
{
	return hub_conf_set(arg, key, value, msg, msglen);
}

int
hub_conf_load(struct hub_conf *c, const char *file, char *err,
    size_t errlen)
{
	int r;

	if ((r = vg_conf_read(file, conf_set_cb, c, err, errlen)) != 0)
		return r;
	free(c->conf_path);
	if ((c->conf_path = strdup(file)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	return 0;
}

int
hub_conf_check(const struct hub_conf *c, char *err, size_t errlen)
{
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		snprintf(err, errlen, "tls_cert and tls_key go together: set "
		    "both (a certificate of your own) or neither (a "
		    "certificate generated in %s)", c->data_dir);
		return VG_ERR_INVAL;
	}
	/* Else a body as large as max_body could never be taken in. */
	if (c->max_body_total < c->max_body) {
		snprintf(err, errlen, "max_body_total (%zu bytes) is smaller "
		    "than max_body (%zu bytes)", c->max_body_total,
		    c->max_body);
		return VG_ERR_INVAL;
	}
	/* The hub's working folder is not the operator's. */
	if (c->console_dir != NULL && c->console_dir[0] != '/') {
		snprintf(err, errlen, "console_dir: expected an absolute path, "
		    "not '%s'", c->console_dir);
		return VG_ERR_INVAL;
	}
	if (c->profiles_dir != NULL && c->profiles_dir[0] != '/') {
		snprintf(err, errlen, "profiles_dir: expected an absolute "
		    "path, not '%s'", c->profiles_dir);
		return VG_ERR_INVAL;
	}
	if (c->credential_key != NULL && c->credential_key[0] != '/') {
		snprintf(err, errlen, "credential_key: expected an absolute "
		    "path, not '%s'", c->credential_key);
		return VG_ERR_INVAL;
	}
	if (c->session_idle > c->session_max) {
		snprintf(err, errlen, "session_idle (%d s) is longer than "
		    "session_max (%d s)", c->session_idle, c->session_max);
		return VG_ERR_INVAL;
	}
	return 0;
}

char *
hub_conf_database(const struct hub_conf *c)
{
	char *s;

	if (c->database != NULL && c->database[0] != '\0')
		return strdup(c->database);
	if (asprintf(&s, "%s/hub.db", c->data_dir) < 0)
		return NULL;
	return s;
}

char *
hub_conf_credential_key(const struct hub_conf *c)
{
	char *s;

	if (c->credential_key != NULL)
		return strdup(c->credential_key);
	if (asprintf(&s, "%s/credentials.key", c->data_dir) < 0)
		return NULL;
	return s;
}
