/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vg_err.h"
#include "vg_json.h"
#include "vg_util.h"

#include "api.h"
#include "auth.h"
#include "policy.h"
#include "store.h"

/* Caps of registration. */
#define REG_MAX_ADDRS 64
#define REG_MACHINE_ID_MAX 128
#define REG_CREDENTIAL_MAX 128
#define POLL_PERIOD_MIN 10
#define POLL_PERIOD_MAX 86400

/* Caps of agent events. */
#define AGENT_CODE_MAX 64
#define AGENT_MESSAGE_MAX 4096

/* Back-off told to agents when the hub is busy: from BACKOFF_MIN seconds
 * at the threshold up to BACKOFF_MAX at twice it, plus a few seconds of
 * jitter so that they do not all come back at once. */
#define BACKOFF_MIN 5
#define BACKOFF_MAX 60
#define BACKOFF_JITTER 5

static void
server_time(char buf[32])
{
	hub_api_time(hub_now(), buf);
}

void
hub_api_health(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	char now[32], err[256] = "", *value = NULL;
	int r;

	server_time(now);
	/* A cheap read proves the store answers (counting rows would not
	 * be cheap with millions of events). */
	r = st->ops->setting_get(st, "schema_version", &value, err,
	    sizeof(err));
	free(value);
	if (r != 0 && r != VG_ERR_NOTFOUND) {
		hub_log(HUB_LOG_ERROR, "health: the store cannot be read: %s",
		    err);
		hub_resp_json(rs, 503, json_pack("{s:s, s:s, s:s, s:s, s:s}",
		    "status", "unavailable", "error", "unavailable",
		    "message", "the hub's store cannot be read", "version",
		    VIGIL_VERSION, "time", now));
		return;
	}
	hub_resp_json(rs, 200, json_pack("{s:s, s:s, s:s}", "status", "ok",
	    "version", VIGIL_VERSION, "time", now));
}

/* ---- POST /agent/register ---- */

static int
machine_id_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= REG_MACHINE_ID_MAX || !((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return i > 0;
}

/* A hardware address: hex digits with ':', '-' or '.' between them. */
static int
mac_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F') || c == ':' || c == '-' ||
		    c == '.'))
			return 0;
	}
	return i > 0;
}

/*
 * Checks an optional array of address strings (ips or macs) and returns
 * it as compact JSON in *out (freed by the caller); macs are lower-cased.
 */
static int
address_list(struct hub_resp *rs, const json_t *body, const char *key,
    int macs, char **out)
{
	const json_t *arr = json_object_get(body, key), *e;
	json_t *norm = NULL;
	char buf[HUB_API_MAX_STRING + 1];
	size_t i, j, len;
	int r = -1;

	*out = NULL;
	if ((norm = json_array()) == NULL)
		goto nomem;
	if (arr != NULL && !json_is_null(arr)) {
		if (!json_is_array(arr)) {
			hub_api_bad(rs, "%s: expected an array of strings",
			    key);
			goto out;
		}
		if (json_array_size(arr) > REG_MAX_ADDRS) {
			hub_api_bad(rs, "%s: more than %d entries", key,
			    REG_MAX_ADDRS);
			goto out;
		}
		json_array_foreach(arr, i, e) {
			len = json_string_length(e);
			if (!json_is_string(e) || len == 0 ||
			    len > HUB_API_MAX_STRING ||
			    strlen(json_string_value(e)) != len) {
				hub_api_bad(rs, "%s[%zu]: expected a string of "
				    "1 to %d bytes", key, i,
				    HUB_API_MAX_STRING);
				goto out;
			}
			memcpy(buf, json_string_value(e), len + 1);
			if (macs) {
				if (!mac_valid(buf)) {
					hub_api_bad(rs, "%s[%zu]: not a "
					    "hardware address (hex digits "
					    "and : - .)", key, i);
					goto out;
				}
				for (j = 0; j < len; j++)
					if (buf[j] >= 'A' && buf[j] <= 'F')
						buf[j] = (char)(buf[j] - 'A' +
						    'a');
			} else {
				for (j = 0; j < len; j++)
					if ((unsigned char)buf[j] <= ' ' ||
					    buf[j] == 0x7f)
						break;
				if (j < len) {
					hub_api_bad(rs, "%s[%zu]: not an "
					    "address (spaces or control "
					    "characters)", key, i);
					goto out;
				}
			}
			if (json_array_append_new(norm, json_string(buf)) != 0)
				goto nomem;
		}
	}
	if ((*out = json_dumps(norm, JSON_COMPACT)) == NULL)
		goto nomem;
	r = 0;
	goto out;
nomem:
	hub_api_nomem(rs);
out:
	json_decref(norm);
	return r;
}

/* A required string member: missing answers 400 "KEY: missing". */
static int
required_string(struct hub_resp *rs, const json_t *body, const char *key,
    size_t max, const char **out)
{
	if (hub_api_get_string(rs, body, key, "", max, 1, 0, out) != 0)
		return -1;
	if (*out == NULL) {
		hub_api_bad(rs, "%s: missing", key);
		return -1;
	}
	return 0;
}

void
hub_api_register(struct hub_req *rq, struct hub_resp *rs)
{
	static const char *const fields[] = { "hostname", "name", "os",
		"machine_id", "agent_version", "ips", "macs", "poll_period",
		"credential", NULL };
	struct hub *h = rq->hub;
	struct hub_store *st = h->store;
	struct hs_register in;
	struct hs_register_result res;
	uint64_t last_seq = 0;
	json_t *body = NULL, *other = NULL, *ans = NULL;
	const char *hostname, *name, *os, *machine_id, *version, *old_cred;
	char *ips = NULL, *macs = NULL, secret[64], cred[96], now[32];
	char err[256] = "", warning[768];
	unsigned char hash[32], old_hash[32];
	int64_t period = h->conf.poll_period;
	int r;

	if (hub_api_body(rq, rs, 0, &body) != 0)
		goto out;
	if (hub_api_check_fields(rs, body, fields, "") != 0 ||
	    required_string(rs, body, "hostname", HUB_API_MAX_STRING,
	    &hostname) != 0 ||
	    hub_api_get_string(rs, body, "name", "", HUB_API_MAX_STRING, 1, 0,
	    &name) != 0 ||
	    hub_api_get_string(rs, body, "os", "", HUB_API_MAX_STRING, 0, 0,
	    &os) != 0 ||
	    required_string(rs, body, "machine_id", REG_MACHINE_ID_MAX,
	    &machine_id) != 0 ||
	    required_string(rs, body, "agent_version", HUB_API_MAX_STRING,
	    &version) != 0 ||
	    address_list(rs, body, "ips", 0, &ips) != 0 ||
	    address_list(rs, body, "macs", 1, &macs) != 0 ||
	    hub_api_get_int(rs, body, "poll_period", "", POLL_PERIOD_MIN,
	    POLL_PERIOD_MAX, &period, NULL) != 0 ||
	    hub_api_get_string(rs, body, "credential", "", REG_CREDENTIAL_MAX,
	    1, 0, &old_cred) != 0)
		goto out;
	if (!machine_id_valid(machine_id)) {
		hub_api_bad(rs, "machine_id: expected 1 to %d characters of "
		    "A-Z a-z 0-9 . _ : -", REG_MACHINE_ID_MAX);
		goto out;
	}
	/* The credential the agent still holds, if any: with it, it gets
	 * its device back even while the device is alive; whether it is
	 * the device's is the store's to say, under its lock. */
	if (old_cred != NULL &&
	    hub_auth_agent_cred_hash(old_cred, old_hash) != 0) {
		hub_api_bad(rs, "credential: expected the agent's credential "
		    "(va1.<id>.<secret>)");
		goto out;
	}
	/* The stored hash covers the credential's secret part (see
	 * hub_auth_agent_cred_hash()): the id is not known before the
	 * device is. */
	hub_auth_new_token("", secret, sizeof(secret), hash);
	memset(&in, 0, sizeof(in));
	in.name = name != NULL ? name : hostname;
	in.hostname = hostname;
	in.os = os != NULL ? os : "";
	in.machine_id = machine_id;
	in.agent_version = version;
	in.ips_json = ips;
	in.macs_json = macs;
	in.poll_period = (int)period;
	in.cred_hash = hash;
	in.peer = rq->peer;
	in.old_cred_hash = old_cred != NULL ? old_hash : NULL;
	in.now = hub_now();
	in.default_poll_period = h->conf.poll_period;
	in.offline_grace = h->conf.offline_grace;
	memset(&res, 0, sizeof(res));
	if ((r = st->ops->device_register(st, &in, &res, err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "device", 0);
		goto out;
	}
	/* An agent that registers again may have lost its queue and
	 * restarted its event ids: it is told where to continue. */
	if (!res.created && (r = st->ops->device_last_seq(st, res.device_id,
	    &last_seq, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "device", 0);
		goto out;
	}
	snprintf(cred, sizeof(cred), "va1.%lld.%s", (long long)res.device_id,
	    secret);
	server_time(now);
	ans = json_pack("{s:I, s:I, s:s, s:I, s:i, s:s, s:b, s:n, s:I}",
	    "device_id", (json_int_t)res.device_id,
	    "agent_id", (json_int_t)res.device_id, "credential", cred,
	    "poll_period", (json_int_t)period,
	    "batch_size", h->conf.batch_size, "server_time", now,
	    "created", res.created, "clone_of", "next_event_id",
	    (json_int_t)(last_seq + 1));
	if (ans == NULL) {
		hub_api_nomem(rs);
		goto out;
	}
	if (res.clone_of > 0) {
		const char *other_host = NULL;

		if (st->ops->device_get(st, res.clone_of, &other, err,
		    sizeof(err)) == 0)
			other_host = json_string_value(json_object_get(other,
			    "hostname"));
		if (other_host == NULL)
			other_host = "?";
		if (res.clone_alive)
			snprintf(warning, sizeof(warning), "machine id %s and "
			    "this host name or MAC address belong to device "
			    "%lld (host %s), which still polls, and no "
			    "valid credential of it was given: this looks "
			    "like a cloned machine; registered as a new "
			    "device. An agent that lost its credential gets "
			    "its device back once the device has missed its "
			    "polls (poll period + %d s)", machine_id,
			    (long long)res.clone_of, other_host,
			    h->conf.offline_grace);
		else
			snprintf(warning, sizeof(warning), "machine id %s is "
			    "already used by device %lld (host %s): this "
			    "looks like a cloned machine; registered as a new "
			    "device", machine_id, (long long)res.clone_of,
			    other_host);
		json_object_set_new(ans, "clone_of",
		    json_integer(res.clone_of));
		json_object_set_new(ans, "warning", json_string(warning));
		hub_log(HUB_LOG_WARN, "register from %s: %s", rq->peer,
		    warning);
	}
	hub_log(HUB_LOG_INFO, "device %lld (%s) %s from %s",
	    (long long)res.device_id, hub_api_display(rq, hostname),
	    res.created ? "registered" : res.with_credential ?
	    "registered again with its credential" : "registered again "
	    "without its credential (it had missed its polls)", rq->peer);
	hub_resp_json(rs, res.created ? 201 : 200, ans);
	ans = NULL;
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(cred, sizeof(cred));
	/* The credential given is a secret, like a password. */
	old_cred = json_string_value(json_object_get(body, "credential"));
	if (old_cred != NULL)
		sodium_memzero((char *)old_cred, strlen(old_cred));
	json_decref(ans);
	json_decref(other);
	json_decref(body);
	free(ips);
	free(macs);
}

/* ---- POST /agent/poll and /agent/events ---- */

/*
 * The device an agent speaks for: its own unless the body names another
 * one it owns. Answers 403/404 and returns -1 otherwise.
 */
static int
agent_device(struct hub_req *rq, struct hub_resp *rs, const json_t *body,
    int64_t *device)
{
	struct hub_store *st = rq->hub->store;
	int present, r;

	*device = rq->who.agent_id;
	if (hub_api_get_int(rs, body, "device_id", "", 1, HUB_API_MAX_ID,
	    device, &present) != 0)
		return -1;
	if (!present || *device == rq->who.agent_id)
		return 0;
	r = st->ops->device_owned(st, rq->who.agent_id, *device);
	if (r == 0)
		return 0;
	if (r == VG_ERR_PERM)
		hub_resp_error(rs, 403, "forbidden", "device %lld is not one "
		    "of this agent's devices", (long long)*device);
	else
		hub_api_store_error(rs, r, "", "device", *device);
	return -1;
}

static int
backoff_hint(struct hub *h)
{
	int inflight = atomic_load(&h->inflight);
	int limit = h->conf.backoff_inflight;
	int64_t b;

	if (limit <= 0 || inflight <= limit)
		return 0;
	b = BACKOFF_MIN + (int64_t)(inflight - limit) *
	    (BACKOFF_MAX - BACKOFF_MIN) / limit;
	if (b > BACKOFF_MAX)
		b = BACKOFF_MAX;
	return (int)b + (int)randombytes_uniform(BACKOFF_JITTER);
}

void
hub_api_poll(struct hub_req *rq, struct hub_resp *rs)
{
	static const char *const fields[] = { "device_id", "policy_version",
		"queue", "status", "proxied_version", NULL };
	struct hub *h = rq->hub;
	struct hub_store *st = h->store;
	json_t *body = NULL, *policy = NULL, *dev = NULL, *ans = NULL;
	json_t *proxied = NULL;
	const char *have, *status, *have_proxied;
	char version[HUB_POLICY_VERSION_LEN], now[32], err[256] = "";
	char proxied_version[65];
	int64_t device, queue = 0, period;
	int r;

	if (hub_api_body(rq, rs, 1, &body) != 0 ||
	    hub_api_check_fields(rs, body, fields, "") != 0 ||
	    agent_device(rq, rs, body, &device) != 0 ||
	    hub_api_get_string(rs, body, "policy_version", "", 128, 0, 0,
	    &have) != 0 ||
	    hub_api_get_int(rs, body, "queue", "", 0, INT64_MAX, &queue,
	    NULL) != 0 ||
	    hub_api_get_string(rs, body, "status", "", HUB_API_MAX_STRING, 0,
	    1, &status) != 0 ||
	    hub_api_get_string(rs, body, "proxied_version", "", 128, 0, 0,
	    &have_proxied) != 0)
		goto out;
	/* The devices an agent collects as a proxy go with its own
	 * device's polls. */
	if ((r = st->ops->device_touch(st, device, hub_now(), err,
	    sizeof(err))) != 0 ||
	    (r = hub_api_device_policy(h, device, &dev, &policy, version, err,
	    sizeof(err))) != 0 ||
	    (device == rq->who.agent_id && (r = hub_api_proxied_list(h, device,
	    &proxied, proxied_version, err, sizeof(err))) != 0)) {
		hub_api_store_error(rs, r, err, "device", device);
		goto out;
	}
	period = json_integer_value(json_object_get(dev, "poll_period"));
	if (period <= 0)
		period = h->conf.poll_period;
	if (queue > 0 || (status != NULL && strcmp(status, "ok") != 0))
		hub_log(HUB_LOG_DEBUG, "device %lld: queue %lld, status %s",
		    (long long)device, (long long)queue,
		    status != NULL ? hub_api_display(rq, status) : "-");
	server_time(now);
	ans = json_pack("{s:s, s:s, s:[], s:{s:I, s:i}, s:i}",
	    "server_time", now, "policy_version", version, "tasks",
	    "settings", "poll_period", (json_int_t)period, "batch_size",
	    h->conf.batch_size, "backoff", backoff_hint(h));
	/* The policy goes out only when the agent's copy is not current. */
	if (ans == NULL || ((have == NULL || strcmp(have, version) != 0) &&
	    json_object_set(ans, "policy", policy) != 0)) {
		hub_api_nomem(rs);
		goto out;
	}
	/* Likewise the proxied list, [] included: a proxy with none learns
	 * so once. */
	if (proxied != NULL && (json_object_set_new(ans, "proxied_version",
	    json_string(proxied_version)) != 0 || ((have_proxied == NULL ||
	    strcmp(have_proxied, proxied_version) != 0) &&
	    json_object_set(ans, "proxied", proxied) != 0))) {
		hub_api_nomem(rs);
		goto out;
	}
	hub_resp_json(rs, 200, ans);
	ans = NULL;
out:
	json_decref(ans);
	json_decref(proxied);
	json_decref(dev);
	json_decref(policy);
	json_decref(body);
}

/* Checks one agent-health event object: {code, message, path?}. */
static int
agent_event(struct hub_req *rq, struct hub_resp *rs, const json_t *obj,
    const char *prefix, struct hs_event_in *ev)
{
	static const char *const fields[] = { "code", "message", "path",
		NULL };
	const char *code, *message, *path;
	size_t len;
	char *text;

	if (!json_is_object(obj)) {
		/* The prefix ends with a dot: "events[3].agent.". */
		hub_api_bad(rs, "%.*s: expected an object",
		    (int)strlen(prefix) - 1, prefix);
		return -1;
	}
	if (hub_api_check_fields(rs, obj, fields, prefix) != 0 ||
	    hub_api_get_string(rs, obj, "code", prefix, AGENT_CODE_MAX, 1, 0,
	    &code) != 0 ||
	    hub_api_get_string(rs, obj, "message", prefix, AGENT_MESSAGE_MAX,
	    0, 1, &message) != 0 ||
	    hub_api_get_string(rs, obj, "path", prefix, VG_ITEM_PATH_MAX, 1,
	    1, &path) != 0)
		return -1;
	if (code == NULL || message == NULL) {
		hub_api_bad(rs, "%s%s: missing", prefix, code == NULL ?
		    "code" : "message");
		return -1;
	}
	/* The store keeps one text: "code: message". */
	len = strlen(code) + strlen(message) + 3;
	if ((text = hub_req_alloc(rq, len)) == NULL) {
		hub_api_nomem(rs);
		return -1;
	}
	snprintf(text, len, "%s: %s", code, message);
	ev->type = HS_EV_AGENT;
	ev->message = text;
	ev->path = path;
	return 0;
}

/* The length of a quoted field name ("old") at the start of s, quotes
 * included, or 0. */
static size_t
quoted_name(const char *s)
{
	size_t n = 1;

	if (s[0] != '"')
		return 0;
	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
	    (s[n] >= '0' && s[n] <= '9') || s[n] == '_')
		n++;
	return n > 1 && s[n] == '"' ? n + 1 : 0;
}

/*
 * Answers 400 for a change the core refused, with the field as a path:
 * the core's "\"old\": \"size\" must be ..." becomes
 * "events[3].change.old.size: must be ...".
 */
static void
change_error(struct hub_resp *rs, const char *prefix, const char *msg)
{
	char path[256];
	size_t n, len;

	len = (size_t)snprintf(path, sizeof(path), "%schange", prefix);
	while ((n = quoted_name(msg)) > 0 && len + n < sizeof(path) &&
	    (msg[n] == ':' || msg[n] == ' ')) {
		path[len++] = '.';
		memcpy(path + len, msg + 1, n - 2);
		len += n - 2;
		path[len] = '\0';
		msg += n;
		if (*msg == ':')
			msg++;
		while (*msg == ' ')
			msg++;
	}
	hub_api_bad(rs, "%s: %s", path, msg);
}

/* Checks events[i] and fills ev (and c for a change). */
static int
one_event(struct hub_req *rq, struct hub_resp *rs, const json_t *obj,
    size_t i, struct hs_event_in *ev, struct vg_change *c)
{
	static const char *const fields[] = { "id", "time", "origin",
		"change", "agent", NULL };
	const json_t *change, *agent;
	const char *time, *origin;
	char prefix[48], sub[64], err[512] = "";
	int64_t id;
	int present, r;

	snprintf(prefix, sizeof(prefix), "events[%zu].", i);
	if (!json_is_object(obj)) {
		hub_api_bad(rs, "events[%zu]: expected an object", i);
		return -1;
	}
	if (hub_api_check_fields(rs, obj, fields, prefix) != 0 ||
	    hub_api_get_int(rs, obj, "id", prefix, 1, HUB_API_MAX_ID, &id,
	    &present) != 0 ||
	    hub_api_get_string(rs, obj, "time", prefix, 64, 1, 0,
	    &time) != 0 ||
	    hub_api_get_string(rs, obj, "origin", prefix, 16, 1, 0,
	    &origin) != 0)
		return -1;
	if (!present || time == NULL || origin == NULL) {
		hub_api_bad(rs, "%s%s: missing", prefix, !present ? "id" :
		    time == NULL ? "time" : "origin");
		return -1;
	}
	ev->seq = (uint64_t)id;
	if (vg_time_parse(time, &ev->time_ns) != 0) {
		hub_api_bad(rs, "%stime: expected an RFC 3339 UTC time "
		    "(2026-11-26T10:59:58.123456789Z)", prefix);
		return -1;
	}
	if (strcmp(origin, "scan") == 0) {
		ev->origin = 0;
	} else if (strcmp(origin, "realtime") == 0) {
		ev->origin = 1;
	} else {
		hub_api_bad(rs, "%sorigin: expected \"scan\" or \"realtime\"",
		    prefix);
		return -1;
	}
	change = json_object_get(obj, "change");
	agent = json_object_get(obj, "agent");
	if ((change == NULL) == (agent == NULL)) {
		hub_api_bad(rs, "events[%zu]: needs exactly one of \"change\" "
		    "and \"agent\"", i);
		return -1;
	}
	if (agent != NULL) {
		snprintf(sub, sizeof(sub), "%sagent.", prefix);
		return agent_event(rq, rs, agent, sub, ev);
	}
	if (!json_is_object(change)) {
		hub_api_bad(rs, "%schange: expected an object", prefix);
		return -1;
	}
	if ((r = vg_change_from_json(change, c, err, sizeof(err))) != 0) {
		if (r == VG_ERR_NOMEM)
			hub_api_nomem(rs);
		else
			change_error(rs, prefix, err);
		return -1;
	}
	switch (c->type) {
	case VG_CHANGE_ADDED: ev->type = HS_EV_ADDED; break;
	case VG_CHANGE_REMOVED: ev->type = HS_EV_REMOVED; break;
	case VG_CHANGE_CHANGED: ev->type = HS_EV_CHANGED; break;
	}
	ev->change = c;
	return 0;
}

void
hub_api_events(struct hub_req *rq, struct hub_resp *rs)
{
	static const char *const fields[] = { "device_id", "events", NULL };
	struct hub *h = rq->hub;
	struct hub_store *st = h->store;
	json_t *body = NULL, *list, *acked = NULL;
	struct hs_event_in *ev = NULL;
	struct vg_change *changes = NULL;
	unsigned char *stored = NULL;
	char err[256] = "";
	size_t n = 0, i, cap, nstored = 0, ndup = 0;
	int64_t device;
	int r;

	if (hub_api_body(rq, rs, 0, &body) != 0 ||
	    hub_api_check_fields(rs, body, fields, "") != 0 ||
	    agent_device(rq, rs, body, &device) != 0)
		goto out;
	list = json_object_get(body, "events");
	if (!json_is_array(list)) {
		hub_api_bad(rs, "events: %s", list == NULL ? "missing" :
		    "expected an array");
		goto out;
	}
	n = json_array_size(list);
	cap = h->conf.batch_size > 0 ? (size_t)h->conf.batch_size * 10 : 10000;
	if (n > cap) {
		hub_resp_error(rs, 413, "too_large", "%zu events in one "
		    "request; at most %zu", n, cap);
		goto out;
	}
	if (n > 0 && ((ev = calloc(n, sizeof(*ev))) == NULL ||
	    (changes = calloc(n, sizeof(*changes))) == NULL ||
	    (stored = calloc(n, 1)) == NULL)) {
		hub_api_nomem(rs);
		goto out;
	}
	/* Everything is checked before anything is stored: a bad event
	 * rejects the batch. */
	for (i = 0; i < n; i++) {
		ev[i].device_id = device;
		if (one_event(rq, rs, json_array_get(list, i), i, &ev[i],
		    &changes[i]) != 0)
			goto out;
	}
	if ((r = st->ops->device_touch(st, device, hub_now(), err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "device", device);
		goto out;
	}
	if (n > 0 && (r = st->ops->events_insert(st, ev, n, hub_now(), stored,
	    err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "events", 0);
		goto out;
	}
	if ((acked = json_array()) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if (stored[i] == 0)
			continue;
		if (stored[i] == 1)
			nstored++;
		else
			ndup++;
		if (json_array_append_new(acked,
		    json_integer((json_int_t)ev[i].seq)) != 0)
			goto nomem;
	}
	hub_resp_json(rs, 200, json_pack("{s:o, s:I, s:I}", "acked", acked,
	    "stored", (json_int_t)nstored, "duplicates", (json_int_t)ndup));
	acked = NULL;
	goto out;
nomem:
	hub_api_nomem(rs);
out:
	if (changes != NULL)
		for (i = 0; i < n; i++)
			vg_change_clear(&changes[i]);
	free(changes);
	free(ev);
	free(stored);
	json_decref(acked);
	json_decref(body);
}
