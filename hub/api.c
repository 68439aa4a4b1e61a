/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "vg_err.h"
#include "vg_util.h"

#include "api.h"
#include "auth.h"
#include "policy.h"
#include "store.h"

/* Who may use a route once authenticated. */
enum route_role {
	ROLE_NONE = 0,             /* no user: public, agent or enrolment */
	ROLE_ANY,                  /* every signed-in user, read-only too */
	ROLE_ADMIN,                /* administrators only */
};

struct route {
	const char *method;
	const char *pattern;       /* after /api/v1; "{id}" = numeric id */
	enum hub_auth_need need;
	enum route_role role;
	hub_api_handler *handler;
};

/*
 * Every endpoint of API v1. A GET that everyone signed in may read is
 * ROLE_ANY; every change is ROLE_ADMIN except signing out and changing
 * one's own password.
 */
static const struct route routes[] = {
	{ "GET", "/health", HUB_AUTH_NONE, ROLE_NONE, hub_api_health },
	{ "POST", "/agent/register", HUB_AUTH_ENROL, ROLE_NONE,
	    hub_api_register },
	{ "POST", "/agent/poll", HUB_AUTH_AGENT, ROLE_NONE, hub_api_poll },
	{ "POST", "/agent/events", HUB_AUTH_AGENT, ROLE_NONE,
	    hub_api_events },
	{ "POST", "/agent/proxied/{id}/credential", HUB_AUTH_AGENT, ROLE_NONE,
	    hub_api_proxied_credential },
	{ "POST", "/agent/proxied/{id}/result", HUB_AUTH_AGENT, ROLE_NONE,
	    hub_api_proxied_result },

	{ "POST", "/session", HUB_AUTH_NONE, ROLE_NONE,
	    hub_api_session_create },
	{ "GET", "/session", HUB_AUTH_USER, ROLE_ANY, hub_api_session_get },
	{ "DELETE", "/session", HUB_AUTH_USER, ROLE_ANY,
	    hub_api_session_delete },

	{ "GET", "/users", HUB_AUTH_USER, ROLE_ADMIN, hub_api_users_list },
	{ "POST", "/users", HUB_AUTH_USER, ROLE_ADMIN, hub_api_user_create },
	{ "PUT", "/users/me/password", HUB_AUTH_USER, ROLE_ANY,
	    hub_api_password_change },
	{ "PATCH", "/users/{id}", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_user_update },
	{ "DELETE", "/users/{id}", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_user_delete },

	{ "GET", "/devices", HUB_AUTH_USER, ROLE_ANY, hub_api_devices_list },
	{ "POST", "/devices", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_proxied_create },
	{ "GET", "/devices/{id}", HUB_AUTH_USER, ROLE_ANY,
	    hub_api_device_get },
	{ "PATCH", "/devices/{id}", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_proxied_update },
	{ "GET", "/devices/{id}/policy", HUB_AUTH_USER, ROLE_ANY,
	    hub_api_device_policy_get },
	{ "DELETE", "/devices/{id}", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_device_delete },
	{ "POST", "/devices/{id}/host-key", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_host_key },
	{ "GET", "/devices/{id}/configs", HUB_AUTH_USER, ROLE_ANY,
	    hub_api_configs_list },
	{ "GET", "/devices/{id}/configs/compare", HUB_AUTH_USER, ROLE_ANY,
	    hub_api_configs_compare },
	{ "GET", "/devices/{id}/configs/{id}", HUB_AUTH_USER, ROLE_ANY,
	    hub_api_config_get },

	{ "GET", "/credentials", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_credentials_list },
	{ "POST", "/credentials", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_credential_create },
	{ "GET", "/credentials/{id}", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_credential_get },
	{ "PATCH", "/credentials/{id}", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_credential_update },
	{ "DELETE", "/credentials/{id}", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_credential_delete },
	{ "GET", "/profiles", HUB_AUTH_USER, ROLE_ANY, hub_api_profiles_list },

	{ "GET", "/groups", HUB_AUTH_USER, ROLE_ANY, hub_api_groups_list },
	{ "POST", "/groups", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_group_create },
	{ "GET", "/groups/{id}", HUB_AUTH_USER, ROLE_ANY, hub_api_group_get },
	{ "PATCH", "/groups/{id}", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_group_update },
	{ "DELETE", "/groups/{id}", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_group_delete },
	{ "PUT", "/groups/{id}/devices/{id}", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_member_add },
	{ "DELETE", "/groups/{id}/devices/{id}", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_member_remove },
	{ "GET", "/groups/{id}/policy", HUB_AUTH_USER, ROLE_ANY,
	    hub_api_policy_get },
	{ "PUT", "/groups/{id}/policy", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_policy_set },

	{ "GET", "/events", HUB_AUTH_USER, ROLE_ANY, hub_api_events_list },
	/* Before /events/{id}: a fixed segment is never taken for an id
	 * ({id} matches digits only), and the first match wins. */
	{ "GET", "/events/export", HUB_AUTH_USER, ROLE_ANY,
	    hub_api_events_export },
	{ "GET", "/events/{id}", HUB_AUTH_USER, ROLE_ANY, hub_api_event_get },
	{ "POST", "/events/{id}/ack", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_event_ack },
	{ "POST", "/events/{id}/accept", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_event_accept },

	{ "GET", "/dashboard", HUB_AUTH_USER, ROLE_ANY, hub_api_dashboard },

	{ "GET", "/audit", HUB_AUTH_USER, ROLE_ADMIN, hub_api_audit_list },
	{ "GET", "/hub", HUB_AUTH_USER, ROLE_ANY, hub_api_hub_info },
	{ "GET", "/hub/hubdetails.xml", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_hubdetails },
	{ "POST", "/hub/enrolment", HUB_AUTH_USER, ROLE_ADMIN,
	    hub_api_enrolment_rotate },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))
#define API_PREFIX "/api/v1"

int
hub_api_parse_id(const char *s, size_t len, int64_t max, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	/* At most 16 digits: 2^53 has 16, so nothing can overflow. */
	if (len == 0 || len > 16 || (len > 1 && s[0] == '0'))
		return VG_ERR_INVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return VG_ERR_INVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return VG_ERR_INVAL;
	*out = v;
	return 0;
}

/*
 * Matches path (after the prefix) against pattern, segment by segment,
 * and collects the numeric ids. 1 on a match.
 */
static int
route_match(const char *pattern, const char *path, int64_t *param,
    int *nparam)
{
	const char *p = pattern, *q = path, *pe, *qe;
	size_t plen, qlen;
	int n = 0;

	while (*p == '/' && *q == '/') {
		p++;
		q++;
		pe = p + strcspn(p, "/");
		qe = q + strcspn(q, "/");
		plen = (size_t)(pe - p);
		qlen = (size_t)(qe - q);
		if (plen == 4 && memcmp(p, "{id}", 4) == 0) {
			if (n == HUB_REQ_MAX_PARAMS ||
			    hub_api_parse_id(q, qlen, HUB_API_MAX_ID,
			    &param[n]) != 0 || param[n] == 0)
				return 0;
			n++;
		} else if (plen != qlen || memcmp(p, q, plen) != 0) {
			return 0;
		}
		p = pe;
		q = qe;
	}
	if (*p != '\0' || *q != '\0')
		return 0;
	*nparam = n;
	return 1;
}

static int
is_read(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* The X-CSRF-Token of a change made with the session cookie must match
 * the session's token. */
static int
csrf_ok(struct hub_req *rq)
{
	const char *got = hub_req_header(rq, "X-CSRF-Token");
	size_t len = strlen(rq->who.csrf);

	if (got == NULL || len == 0 || strlen(got) != len)
		return 0;
	return sodium_memcmp(got, rq->who.csrf, len) == 0;
}

void
hub_api_dispatch(struct hub_req *rq, struct hub_resp *rs)
{
	const struct route *rt = NULL;
	const char *path = rq->path, *method = rq->method;
	char allow[128] = "";
	int64_t param[HUB_REQ_MAX_PARAMS];
	int nparam = 0, known = 0;
	size_t i, used;

	if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) != 0) {
		hub_resp_error(rs, 404, "not_found", "no API endpoint %s "
		    "(this hub speaks /api/v1/)", hub_api_display(rq, path));
		return;
	}
	path += strlen(API_PREFIX);
	/* HEAD is GET without the body, which the server drops. */
	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	for (i = 0; i < NROUTES; i++) {
		if (!route_match(routes[i].pattern, path, param, &nparam))
			continue;
		known = 1;
		used = strlen(allow);
		snprintf(allow + used, sizeof(allow) - used, "%s%s%s",
		    used ? ", " : "", routes[i].method,
		    strcmp(routes[i].method, "GET") == 0 ? ", HEAD" : "");
		if (rt == NULL && strcmp(routes[i].method, method) == 0) {
			rt = &routes[i];
			memcpy(rq->param, param, sizeof(param));
			rq->nparam = nparam;
		}
	}
	if (!known) {
		hub_resp_error(rs, 404, "not_found", "no API endpoint %s",
		    hub_api_display(rq, rq->path));
		return;
	}
	if (rt == NULL) {
		used = strlen(allow);
		snprintf(allow + used, sizeof(allow) - used, ", OPTIONS");
		if (strcmp(method, "OPTIONS") == 0) {
			hub_resp_json(rs, 204, NULL);
		} else {
			hub_resp_error(rs, 405, "method_not_allowed",
			    "%s is not allowed on %s; use %s",
			    hub_api_display(rq, rq->method),
			    hub_api_display(rq, rq->path), allow);
		}
		hub_resp_header(rs, "Allow", allow);
		return;
	}
	if (hub_auth_request(rq, rs, rt->need) != 0)
		return;
	if (rt->need == HUB_AUTH_USER) {
		if (rq->who.role != HS_ROLE_ADMIN &&
		    rq->who.role != HS_ROLE_READONLY) {
			hub_resp_error(rs, 403, "forbidden", "account %s may "
			    "not use the console API",
			    hub_api_display(rq, rq->who.user_name));
			return;
		}
		if (rt->role == ROLE_ADMIN && rq->who.role != HS_ROLE_ADMIN) {
			if (is_read(method))
				hub_resp_error(rs, 403, "forbidden", "only "
				    "administrators may read this");
			else
				hub_resp_error(rs, 403, "forbidden", "account "
				    "%s is read-only: it cannot change "
				    "anything", hub_api_display(rq,
				    rq->who.user_name));
			return;
		}
		if (rq->who.via_cookie && !is_read(method) && !csrf_ok(rq)) {
			hub_resp_error(rs, 403, "csrf", "missing or wrong "
			    "X-CSRF-Token header (a change made with the "
			    "session cookie needs the session's csrf token)");
			return;
		}
	}
	rt->handler(rq, rs);
	if (rs->status == 0)
		hub_resp_error(rs, 500, "internal", "no answer was made");
}

/* ---- helpers shared by the handlers ---- */

void
hub_api_audit(struct hub_req *rq, const char *who, const char *what,
    const char *target, json_t *detail)
{
	struct hub_store *st = rq->hub->store;
	char err[256] = "";

	if (who == NULL)
		who = rq->who.user_name[0] != '\0' ? rq->who.user_name : "-";
	if (st->ops->audit_add(st, who, rq->peer, what, target, detail,
	    hub_now(), err, sizeof(err)) != 0)
		hub_log(HUB_LOG_ERROR, "audit entry %s %s by %s not written: "
		    "%s", what, target, who, err);
	json_decref(detail);
}

void
hub_api_audit_id(struct hub_req *rq, const char *what, const char *kind,
    int64_t id, json_t *detail)
{
	char target[64];

	snprintf(target, sizeof(target), "%s %lld", kind, (long long)id);
	hub_api_audit(rq, NULL, what, target, detail);
}

void
hub_api_answer_object(struct hub_req *rq, struct hub_resp *rs,
    hub_api_store_get_fn *get, const char *what, int64_t id, int status)
{
	json_t *obj = NULL;
	char err[256] = "";
	int r;

	if ((r = get(rq->hub->store, id, &obj, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, what, id);
		return;
	}
	json_object_del(obj, "pwhash");
	hub_resp_json(rs, status, obj);
}

void
hub_api_answer_list(struct hub_resp *rs, int r, const char *err,
    const char *what, int64_t id, const char *key, json_t *list)
{
	json_t *ans;

	if (r != 0) {
		json_decref(list);
		hub_api_store_error(rs, r, err, what, id);
		return;
	}
	if ((ans = json_pack("{s:o}", key, list)) == NULL)
		hub_api_nomem(rs);
	else
		hub_resp_json(rs, 200, ans);
}

void
hub_api_wipe(json_t *body, const char *key)
{
	json_t *v = json_object_get(body, key);

	if (json_is_string(v))
		sodium_memzero((char *)json_string_value(v),
		    json_string_length(v));
}

void
hub_api_audit_failure(struct hub_req *rq, const char *name,
    const char *reason, const struct hub_lockout *lk)
{
	char target[128];
	const char *shown = hub_api_display(rq, name);

	snprintf(target, sizeof(target), "user %s", shown);
	hub_api_audit(rq, shown, "session.fail", target,
	    json_pack("{s:s}", "reason", reason));
	if (lk != NULL && lk->started)
		hub_api_audit(rq, shown, "session.lockout", target,
		    json_pack("{s:s, s:i}", "locked", lk->by_account ?
		    "account" : "address", "seconds", lk->retry_after));
}

void
hub_api_store_error(struct hub_resp *rs, int r, const char *err,
    const char *what, int64_t id)
{
	const char *msg = err != NULL && *err != '\0' ? err : vg_strerror(r);

	switch (r) {
	case VG_ERR_NOTFOUND:
		if (id > 0)
			hub_resp_error(rs, 404, "not_found", "no %s %lld", what,
			    (long long)id);
		else
			hub_resp_error(rs, 404, "not_found", "no such %s",
			    what);
		break;
	case VG_ERR_INVAL:
		hub_resp_error(rs, 400, "bad_request", "%s", msg);
		break;
	case VG_ERR_PERM:
		hub_resp_error(rs, 409, "conflict", "%s", msg);
		break;
	case VG_ERR_TOOBIG:
		hub_resp_error(rs, 413, "too_large", "%s", msg);
		break;
	case VG_ERR_BUSY:
		hub_log(HUB_LOG_WARN, "%s: busy: %s", what, msg);
		hub_api_unavailable(rs, HUB_API_RETRY_AFTER, "the hub is busy; "
		    "try again in %d s", HUB_API_RETRY_AFTER);
		break;
	case VG_ERR_NOMEM:
		hub_log(HUB_LOG_ERROR, "%s: out of memory", what);
		hub_api_unavailable(rs, HUB_API_RETRY_AFTER, "the hub is out "
		    "of memory; try again later");
		break;
	default:
		hub_log(HUB_LOG_ERROR, "%s: %s: %s", what, vg_strerror(r),
		    err != NULL ? err : "");
		hub_resp_error(rs, 500, "internal", "internal error (%s); "
		    "the hub's log has the details", vg_strerror(r));
		break;
	}
}

void
hub_api_unavailable(struct hub_resp *rs, int retry_after, const char *fmt,
    ...)
{
	char msg[512], secs[24];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hub_resp_error(rs, 503, "unavailable", "%s", msg);
	snprintf(secs, sizeof(secs), "%d", retry_after);
	hub_resp_header(rs, "Retry-After", secs);
}

void
hub_api_nomem(struct hub_resp *rs)
{
	hub_resp_error(rs, 503, "unavailable", "out of memory");
}

void
hub_api_bad(struct hub_resp *rs, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hub_resp_error(rs, 400, "bad_request", "%s", msg);
}

int
hub_api_check_fields(struct hub_resp *rs, const json_t *obj,
    const char *const *allowed, const char *prefix)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)obj, key, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			char *shown = vg_escape(key, strnlen(key, 64));
			size_t plen = strlen(prefix);

			/* "events[3]." names the object: drop the dot. */
			if (plen > 0 && prefix[plen - 1] == '.')
				plen--;
			if (plen > 0)
				hub_api_bad(rs, "%.*s: unknown field \"%s\"",
				    (int)plen, prefix, shown != NULL ? shown :
				    "?");
			else
				hub_api_bad(rs, "unknown field \"%s\"",
				    shown != NULL ? shown : "?");
			free(shown);
			return -1;
		}
	}
	return 0;
}

static int
has_control(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

int
hub_api_get_string(struct hub_resp *rs, const json_t *obj, const char *key,
    const char *prefix, size_t max, int nonempty, int allow_ctl,
    const char **out)
{
	const json_t *v = json_object_get(obj, key);
	size_t len;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		hub_api_bad(rs, "%s%s: expected a string", prefix, key);
		return -1;
	}
	len = json_string_length(v);
	if (len > max) {
		hub_api_bad(rs, "%s%s: longer than %zu bytes", prefix, key,
		    max);
		return -1;
	}
	if (nonempty && len == 0) {
		hub_api_bad(rs, "%s%s: must not be empty", prefix, key);
		return -1;
	}
	if (strlen(json_string_value(v)) != len ||
	    (!allow_ctl && has_control(json_string_value(v), len))) {
		hub_api_bad(rs, "%s%s: contains control characters", prefix,
		    key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int
hub_api_get_int(struct hub_resp *rs, const json_t *obj, const char *key,
    const char *prefix, int64_t min, int64_t max, int64_t *out,
    int *present)
{
	const json_t *v = json_object_get(obj, key);

	if (present != NULL)
		*present = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v)) {
		hub_api_bad(rs, "%s%s: expected an integer", prefix, key);
		return -1;
	}
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		hub_api_bad(rs, "%s%s: must be from %lld to %lld", prefix, key,
		    (long long)min, (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	if (present != NULL)
		*present = 1;
	return 0;
}

int
hub_api_query_int(struct hub_req *rq, struct hub_resp *rs, const char *name,
    int64_t min, int64_t max, int64_t *out)
{
	const char *s = hub_req_query(rq, name);
	int64_t v;

	if (s == NULL)
		return 0;
	if (hub_api_parse_id(s, strlen(s), INT64_MAX / 16, &v) != 0 ||
	    v < min || v > max) {
		hub_api_bad(rs, "query parameter %s: expected an integer from "
		    "%lld to %lld", name, (long long)min, (long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

const char *
hub_api_display(struct hub_req *rq, const char *s)
{
	char *esc, *copy;

	if (s == NULL)
		return "";
	if ((esc = vg_escape(s, strnlen(s, 64))) == NULL)
		return "?";
	copy = hub_req_strdup(rq, esc);
	free(esc);
	return copy != NULL ? copy : "?";
}

void
hub_api_time(int64_t t, char buf[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "1970-01-01T00:00:00Z");
}

int
hub_api_body(struct hub_req *rq, struct hub_resp *rs, int empty_ok,
    json_t **out)
{
	*out = NULL;
	if (rq->body == NULL || rq->body_len == 0) {
		if (!empty_ok) {
			hub_api_bad(rs, "a JSON object is needed as the "
			    "request body");
			return -1;
		}
		if ((*out = json_object()) == NULL) {
			hub_api_nomem(rs);
			return -1;
		}
		return 0;
	}
	return hub_req_json(rq, rs, out) == 0 ? 0 : -1;
}

int
hub_api_device_policy(struct hub *h, int64_t device_id, json_t **dev,
    json_t **policy, char version[65], char *err, size_t errlen)
{
	struct hub_store *st = h->store;
	json_t *list = NULL;
	int r;

	*dev = *policy = NULL;
	if ((r = st->ops->device_get(st, device_id, dev, err, errlen)) != 0 ||
	    (r = st->ops->device_policies(st, device_id, &list, err,
	    errlen)) != 0 ||
	    (r = hub_policy_merge(list, policy, err, errlen)) != 0 ||
	    (r = hub_policy_version(*policy, version)) != 0) {
		json_decref(*dev);
		json_decref(*policy);
		*dev = *policy = NULL;
	}
	json_decref(list);
	return r;
}
