/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "agent_int.h"
#include "hubdetails.h"
#include "queue.h"
#include "vg_err.h"
#include "vg_log.h"

/* `vigil-agent status`: what the running agent wrote in its state. */

#define STATUS_RUNNING 0
#define STATUS_FAIL 1
#define STATUS_STOPPED 3     /* as systemctl and LSB scripts say */

int
agent_lock_holder(const char *data_dir, pid_t *pid)
{
	char path[PATH_MAX];
	struct flock fl;
	int fd, r;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", data_dir,
	    AGENT_PID_FILE) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return errno == ENOENT ? 0 : -1;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	r = fcntl(fd, F_GETLK, &fl);
	close(fd);
	if (r != 0)
		return -1;
	if (fl.l_type == F_UNLCK)
		return 0;
	*pid = fl.l_pid;
	return 1;
}

/* "2026-11-26T11:00:00Z" of an epoch time. */
static void
format_epoch(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%" PRId64, t);
}

struct status {
	int running;
	pid_t pid;
	char *hub, *device, *last_error, *policy_version, *connection;
	json_t *proxied;        /* the proxy's summary (proxied.h), or NULL */
	int64_t last_contact, last_scan;
	struct aq_stats st;
	int have_queue;
};

static void
status_free(struct status *s)
{
	free(s->hub);
	free(s->device);
	free(s->last_error);
	free(s->policy_version);
	free(s->connection);
	json_decref(s->proxied);
}

/* The hub's URL: as the agent last recorded it, else from HubDetails. */
static char *
hub_url(const struct agent_conf *c, char *kv)
{
	struct hubdetails hd;
	char err[256], *url;

	if (kv != NULL && kv[0] != '\0')
		return kv;
	free(kv);
	memset(&hd, 0, sizeof(hd));
	if (hd_load(c->hub_details, &hd, err, sizeof(err)) != 0)
		return NULL;
	url = hd.url;
	hd.url = NULL;
	hd_free(&hd);
	return url;
}

static int
status_read(const struct agent_conf *c, struct status *s)
{
	struct aq *q = NULL;
	char err[512], *hub = NULL, *proxied = NULL;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = agent_lock_holder(c->data_dir, &s->pid)) < 0) {
		fprintf(stderr, "vigil-agent: %s/%s: %s\n", c->data_dir,
		    AGENT_PID_FILE, strerror(errno));
		return -1;
	}
	s->running = r;
	err[0] = '\0';
	r = aq_open_readonly(c->data_dir, &q, err, sizeof(err));
	if (r != 0 && r != VG_ERR_NOTFOUND) {
		fprintf(stderr, "vigil-agent: %s\n", err[0] != '\0' ? err :
		    vg_strerror(r));
		return -1;
	}
	if (q != NULL) {
		s->have_queue = aq_stats(q, &s->st) == 0;
		if (aq_get(q, "hub_url", &hub) != 0 ||
		    aq_get(q, "device_id", &s->device) != 0 ||
		    aq_get(q, "last_error", &s->last_error) != 0 ||
		    aq_get(q, "policy_version", &s->policy_version) != 0 ||
		    aq_get(q, "state", &s->connection) != 0 ||
		    aq_get_i64(q, "last_contact", 0, &s->last_contact) != 0 ||
		    aq_get_i64(q, "last_scan", 0, &s->last_scan) != 0 ||
		    aq_get(q, "proxied", &proxied) != 0) {
			aq_last_error(q, err, sizeof(err));
			fprintf(stderr, "vigil-agent: %s\n", err);
			aq_close(q);
			free(hub);
			return -1;
		}
		aq_close(q);
	}
	if (proxied != NULL && s->running)
		s->proxied = json_loads(proxied, 0, NULL);
	free(proxied);
	s->hub = hub_url(c, hub);
	return 0;
}

static void
print_time(const char *label, int64_t t, time_t now)
{
	char buf[64];

	if (t <= 0) {
		printf("%s: never\n", label);
		return;
	}
	format_epoch(t, buf, sizeof(buf));
	printf("%s: %s (%lld s ago)\n", label, buf,
	    (long long)(now - (time_t)t));
}

/* "proxied devices: 12 (2 failing)" and the latest errors. */
static void
print_proxied(const json_t *p)
{
	const json_t *e;
	char *msg, *name;
	size_t i;

	if (p == NULL)
		return;
	printf("proxied devices: %lld (%lld failing)\n", (long long)
	    json_integer_value(json_object_get(p, "devices")), (long long)
	    json_integer_value(json_object_get(p, "failing")));
	json_array_foreach(json_object_get(p, "errors"), i, e) {
		name = strdup(json_string_value(json_object_get(e, "name")) ?
		    json_string_value(json_object_get(e, "name")) : "");
		msg = strdup(json_string_value(json_object_get(e, "message")) ?
		    json_string_value(json_object_get(e, "message")) : "");
		if (name != NULL && msg != NULL) {
			vg_log_sanitize(name);
			vg_log_sanitize(msg);
			printf("  device %lld (%s): %s\n", (long long)
			    json_integer_value(json_object_get(e, "id")), name,
			    msg);
		}
		free(name);
		free(msg);
	}
}

static void
print_text(struct status *s)
{
	time_t now = time(NULL);
	char **text[] = { &s->hub, &s->device, &s->last_error,
		&s->policy_version, &s->connection };
	size_t i;

	/* last_error may quote the hub's answer: no escape sequences on
	 * the terminal (JSON output escapes them itself). */
	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (*text[i] != NULL)
			vg_log_sanitize(*text[i]);

	if (s->running)
		printf("state: running (pid %ld)\n", (long)s->pid);
	else
		printf("state: stopped\n");
	if (s->running && s->connection != NULL && s->connection[0] != '\0')
		printf("connection: %s\n", s->connection);
	printf("hub: %s\n", s->hub != NULL ? s->hub : "unknown");
	printf("device: %s\n", s->device != NULL ? s->device :
	    "not registered");
	print_time("last contact", s->last_contact, now);
	printf("last error: %s\n", s->last_error != NULL &&
	    s->last_error[0] != '\0' ? s->last_error : "none");
	printf("queue: %" PRIu64 " events, %" PRIu64 " bytes\n",
	    s->st.events, s->st.bytes);
	printf("dropped: %" PRIu64 "\n", s->st.dropped);
	printf("policy: %s\n", s->policy_version != NULL &&
	    s->policy_version[0] != '\0' ? s->policy_version : "none");
	print_time("last scan", s->last_scan, now);
	print_proxied(s->proxied);
}

/* A time as RFC 3339 text, or JSON null when never. */
static json_t *
json_time(int64_t t)
{
	char buf[64];

	if (t <= 0)
		return json_null();
	format_epoch(t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *
json_opt(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static int
print_json(const struct status *s)
{
	json_t *o;
	char *text;
	long long device = s->device != NULL ? strtoll(s->device, NULL, 10) :
	    0;

	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, "
	    "s:o, s:o}",
	    "state", s->running ? "running" : "stopped",
	    "pid", s->running ? json_integer(s->pid) : json_null(),
	    "connection", s->running ? json_opt(s->connection) : json_null(),
	    "hub", json_opt(s->hub),
	    "device_id", device > 0 ? json_integer(device) : json_null(),
	    "last_contact", json_time(s->last_contact),
	    "last_error", json_opt(s->last_error),
	    "queue_events", (json_int_t)s->st.events,
	    "queue_bytes", (json_int_t)s->st.bytes,
	    "dropped", (json_int_t)s->st.dropped,
	    "policy_version", json_opt(s->policy_version),
	    "last_scan", json_time(s->last_scan));
	if (o != NULL && s->proxied != NULL)
		json_object_set(o, "proxied", s->proxied);
	if (o == NULL || (text = json_dumps(o, JSON_INDENT(2) |
	    JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(o);
		fprintf(stderr, "vigil-agent: out of memory\n");
		return -1;
	}
	printf("%s\n", text);
	free(text);
	json_decref(o);
	return 0;
}

int
agent_status(const struct agent_conf *c, int json)
{
	struct status s;
	int r;

	if (status_read(c, &s) != 0) {
		status_free(&s);
		return STATUS_FAIL;
	}
	r = json ? print_json(&s) : (print_text(&s), 0);
	status_free(&s);
	if (r != 0 || fflush(stdout) != 0)
		return STATUS_FAIL;
	return s.running ? STATUS_RUNNING : STATUS_STOPPED;
}
