/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "vg_conf.h"
#include "vg_err.h"
#include "vg_log.h"

/* agent.conf: the settings of struct agent_conf (agent.h); the keys and
 * their meaning are in dist/agent.conf. */

enum agent_conf_type {
	AC_PATH,        /* char *, an absolute path */
	AC_OPTPATH,     /* char *, an absolute path or empty (NULL) */
	AC_INT,         /* int in [min, max] */
	AC_UINT,        /* unsigned in [min, max] */
	AC_COUNT,       /* uint64_t whole number in [min, max] */
	AC_SIZE,        /* uint64_t, "50M" or bytes in [min, max] */
	AC_LEVEL,       /* log_level */
	AC_IO,          /* scan_idle_io: idle | best-effort */
};

struct agent_conf_key {
	const char *key;
	enum agent_conf_type type;
	size_t off;
	long long min, max;
};

#define F(field) offsetof(struct agent_conf, field)

static const struct agent_conf_key agent_conf_keys[] = {
	{ "hub_details", AC_PATH, F(hub_details), 0, 0 },
	{ "data_dir", AC_PATH, F(data_dir), 0, 0 },
	{ "ca_file", AC_OPTPATH, F(ca_file), 0, 0 },
	{ "approved_commands", AC_OPTPATH, F(approved_commands), 0, 0 },
	{ "queue_max_events", AC_COUNT, F(queue_max_events), 1000,
	    1000000000LL },
	{ "queue_max_bytes", AC_SIZE, F(queue_max_bytes), 1024 * 1024,
	    1024LL * 1024 * 1024 * 1024 },
	{ "poll_period", AC_INT, F(poll_period), 10, 86400 },
	{ "scan_nice", AC_INT, F(scan_nice), 0, 19 },
	{ "scan_io", AC_IO, F(scan_idle_io), 0, 0 },
	{ "scan_rate", AC_SIZE, F(scan_rate), 0, 1024LL * 1024 * 1024 * 1024 },
	{ "realtime_debounce_ms", AC_UINT, F(debounce_ms), 10, 60000 },
	{ "proxy_parallel", AC_UINT, F(proxy_parallel), 1, 256 },
	{ "profiles_dir", AC_PATH, F(profiles_dir), 0, 0 },
	{ "proxy_timeout", AC_UINT, F(proxy_timeout), 10, 86400 },
	{ "log_level", AC_LEVEL, F(log_level), 0, 0 },
};

#define NKEYS (sizeof(agent_conf_keys) / sizeof(agent_conf_keys[0]))

#undef F

int
agent_conf_defaults(struct agent_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->queue_max_events = 1000000;
	c->queue_max_bytes = 1024ULL * 1024 * 1024;
	c->scan_nice = 10;
	c->scan_idle_io = 1;
	c->debounce_ms = 100;
	c->proxy_parallel = 16;
	c->proxy_timeout = 300;
	c->log_level = VG_LOG_INFO;
	if ((c->hub_details = strdup(AGENT_HUB_DETAILS_DEFAULT_PATH)) ==
	    NULL || (c->data_dir = strdup(AGENT_DATA_DIR_DEFAULT)) == NULL ||
	    (c->profiles_dir = strdup(AGENT_PROFILES_DIR_DEFAULT)) == NULL) {
		agent_conf_free(c);
		return VG_ERR_NOMEM;
	}
	return 0;
}

void
agent_conf_free(struct agent_conf *c)
{
	if (c == NULL)
		return;
	free(c->hub_details);
	free(c->data_dir);
	free(c->ca_file);
	free(c->approved_commands);
	free(c->profiles_dir);
	c->hub_details = c->data_dir = c->ca_file = NULL;
	c->approved_commands = c->profiles_dir = NULL;
}

/* Replaces *field by a copy of value (NULL when value is empty and the
 * setting is optional). */
static int
set_path(char **field, const char *key, const char *value, int optional,
    char *err, size_t errlen)
{
	char *copy = NULL;

	if (*value == '\0' && optional) {
		free(*field);
		*field = NULL;
		return 0;
	}
	if (*value != '/') {
		snprintf(err, errlen, "%s: expected an absolute path, not "
		    "'%s'", key, value);
		return VG_ERR_INVAL;
	}
	if ((copy = strdup(value)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", key);
		return VG_ERR_NOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

int
agent_conf_set(struct agent_conf *c, const char *key, const char *value,
    char *err, size_t errlen)
{
	const struct agent_conf_key *k = NULL;
	char *field;
	size_t i;
	long n;
	int r, level;

	for (i = 0; i < NKEYS && k == NULL; i++)
		if (strcmp(agent_conf_keys[i].key, key) == 0)
			k = &agent_conf_keys[i];
	if (k == NULL) {
		snprintf(err, errlen, "unknown setting '%s'", key);
		return VG_ERR_INVAL;
	}
	if ((r = vg_conf_value_ok(key, value, err, errlen)) != 0)
		return r;
	field = (char *)c + k->off;
	switch (k->type) {
	case AC_PATH:
	case AC_OPTPATH:
		return set_path((char **)(void *)field, key, value,
		    k->type == AC_OPTPATH, err, errlen);
	case AC_INT:
	case AC_UINT:
		if ((r = vg_conf_long(key, value, k->min, k->max, &n, err,
		    errlen)) != 0)
			return r;
		if (k->type == AC_INT)
			*(int *)(void *)field = (int)n;
		else
			*(unsigned *)(void *)field = (unsigned)n;
		return 0;
	case AC_COUNT:
		if ((r = vg_conf_long(key, value, k->min, k->max, &n, err,
		    errlen)) != 0)
			return r;
		*(uint64_t *)(void *)field = (uint64_t)n;
		return 0;
	case AC_SIZE:
		return vg_conf_size(key, value, k->min, k->max,
		    (uint64_t *)(void *)field, err, errlen);
	case AC_LEVEL:
		if ((r = vg_conf_level(key, value, &level, err, errlen)) != 0)
			return r;
		c->log_level = level;
		return 0;
	case AC_IO:
		if (strcmp(value, "idle") == 0)
			c->scan_idle_io = 1;
		else if (strcmp(value, "best-effort") == 0)
			c->scan_idle_io = 0;
		else {
			snprintf(err, errlen, "%s: expected idle or best-effort, "
			    "not '%s'", key, value);
			return VG_ERR_INVAL;
		}
		return 0;
	}
	snprintf(err, errlen, "%s: internal error", key);
	return VG_ERR_INTERNAL;
}

/* vg_conf_read() callback: one setting of the file. */
static int
conf_set_cb(void *arg, const char *key, const char *value, char *msg,
    size_t msglen)
{
	return agent_conf_set(arg, key, value, msg, msglen);
}

int
agent_conf_load(struct agent_conf *c, const char *path, int must_exist,
    char *err, size_t errlen)
{
	int r;

	if (path == NULL)
		path = AGENT_CONF_DEFAULT_PATH;
	r = vg_conf_read(path, conf_set_cb, c, err, errlen);
	if (r == VG_ERR_NOTFOUND && !must_exist)
		return 0;
	return r;
}
