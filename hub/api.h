/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef HUB_API_H
#define HUB_API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "http.h"
#include "hub.h"

/*
 * The hub's API handlers, shared by api.c (the router, audit, answers),
 * api_agent.c (what agents call) and api_console.c (what the console and
 * scripts call). The router has authenticated the client, checked its role
 * and the CSRF token before a handler runs; rq->param[] holds the route's
 * numeric ids. A handler fills rs and never fails otherwise.
 */

typedef void hub_api_handler(struct hub_req *rq, struct hub_resp *rs);

/* Agent API (api_agent.c). */
hub_api_handler hub_api_health, hub_api_register, hub_api_poll,
    hub_api_events;

/* Console and admin API (api_console.c). */
hub_api_handler hub_api_session_create, hub_api_session_get,
    hub_api_session_delete, hub_api_users_list, hub_api_user_create,
    hub_api_user_update, hub_api_user_delete, hub_api_password_change,
    hub_api_devices_list, hub_api_device_get, hub_api_device_delete,
    hub_api_groups_list, hub_api_group_create, hub_api_group_get,
    hub_api_group_update, hub_api_group_delete, hub_api_member_add,
    hub_api_member_remove, hub_api_policy_get, hub_api_policy_set,
    hub_api_events_list, hub_api_event_get, hub_api_event_ack,
    hub_api_event_accept, hub_api_audit_list, hub_api_hub_info,
    hub_api_hubdetails, hub_api_enrolment_rotate, hub_api_events_export,
    hub_api_dashboard, hub_api_device_policy_get;

/* Proxied devices, their credentials and profiles (api_proxy.c): what
 * the console and scripts call ... */
hub_api_handler hub_api_credentials_list, hub_api_credential_create,
    hub_api_credential_get, hub_api_credential_update,
    hub_api_credential_delete, hub_api_profiles_list,
    hub_api_proxied_create, hub_api_proxied_update, hub_api_host_key,
    hub_api_configs_list, hub_api_config_get, hub_api_configs_compare;
/* ... and what proxy agents call. */
hub_api_handler hub_api_proxied_credential, hub_api_proxied_result;

/*
 * The devices proxy_id collects, as POST /agent/poll hands them out
 * (store proxied_for_proxy(), plus "policy" and "policy_version" for
 * linux- and windows-type devices), in *list (new reference), and the
 * list's version: the hex SHA-256 of its compact JSON with sorted keys.
 * Returns 0 or an error with a message. Blocks on the store.
 */
int hub_api_proxied_list(struct hub *h, int64_t proxy_id, json_t **list,
    char version[65], char *err, size_t errlen);

/* Caps on strings clients send. */
#define HUB_API_MAX_STRING 255     /* names, versions, free text */
#define HUB_API_MAX_PASSWORD 1024  /* bytes */
#define HUB_API_MIN_PASSWORD 12    /* characters */

/*
 * Writes an audit entry: rq's user (or who, when not NULL) and peer,
 * action ("user.create" ...), target ("user 3"), detail (optional JSON
 * object, never a secret; the reference is taken). Failures are logged,
 * not returned: an answer is not withheld for want of an audit line.
 */
void hub_api_audit(struct hub_req *rq, const char *who, const char *what,
    const char *target, json_t *detail);

/* Audits what the signed-in user did to "<kind> <id>" (hub_api_audit()
 * with that target). */
void hub_api_audit_id(struct hub_req *rq, const char *what,
    const char *kind, int64_t id, json_t *detail);

/* The store's read of one object (user, device, group ...). */
typedef int hub_api_store_get_fn(struct hub_store *s, int64_t id,
    json_t **out, char *err, size_t errlen);

/* Answers object id of kind what, as get reads it, with status; a user's
 * password hash is never sent. */
void hub_api_answer_object(struct hub_req *rq, struct hub_resp *rs,
    hub_api_store_get_fn *get, const char *what, int64_t id, int status);

/* Answers {key: list} (taking list) when r, the store's answer, is 0;
 * else the error, as hub_api_store_error(rs, r, err, what, id) does. */
void hub_api_answer_list(struct hub_resp *rs, int r, const char *err,
    const char *what, int64_t id, const char *key, json_t *list);

/* Overwrites the string member key of a parsed body (a secret) once it
 * has been used. */
void hub_api_wipe(json_t *body, const char *key);

struct hub_lockout;

/* Audits a failed password check of account name (session.fail with the
 * reason) and the lockout it started, if any (session.lockout). */
void hub_api_audit_failure(struct hub_req *rq, const char *name,
    const char *reason, const struct hub_lockout *lk);

/*
 * Answers a failed store call: VG_ERR_NOTFOUND -> 404 "no <what> <id>"
 * (id 0: "no such <what>"), VG_ERR_INVAL -> 400 bad_request with the
 * store's message, VG_ERR_PERM -> 409 conflict with it, VG_ERR_TOOBIG ->
 * 413 too_large with it, VG_ERR_BUSY and VG_ERR_NOMEM -> 503 unavailable
 * with Retry-After, anything else -> 500 (the store's message is logged,
 * not sent).
 */
void hub_api_store_error(struct hub_resp *rs, int r, const char *err,
    const char *what, int64_t id);

/* Seconds a client is told to wait (Retry-After) when the hub is busy. */
#define HUB_API_RETRY_AFTER 2

/* Answers 503 unavailable with the message and a Retry-After header of
 * retry_after seconds. */
void hub_api_unavailable(struct hub_resp *rs, int retry_after,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Answers 503 unavailable "out of memory". */
void hub_api_nomem(struct hub_resp *rs);

/* Answers 400 bad_request with the message. */
void hub_api_bad(struct hub_resp *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Rejects every member of obj not in the NULL-terminated list allowed:
 * returns 0, or answers 400 "NAME: unknown field" and returns -1. prefix
 * (may be "") is put before the name ("events[3].").
 */
int hub_api_check_fields(struct hub_resp *rs, const json_t *obj,
    const char *const *allowed, const char *prefix);

/*
 * Reads an optional string member: absent or null leaves *out NULL and
 * returns 0; a string of at most max bytes (min 1 when nonempty is set,
 * no control characters unless allow_ctl) is returned in *out (valid
 * while obj lives); anything else answers 400 naming prefix+key and
 * returns -1.
 */
int hub_api_get_string(struct hub_resp *rs, const json_t *obj,
    const char *key, const char *prefix, size_t max, int nonempty,
    int allow_ctl, const char **out);

/* Reads an optional integer member in [min, max]; *present says whether
 * it was there. Returns 0, or answers 400 and returns -1. */
int hub_api_get_int(struct hub_resp *rs, const json_t *obj, const char *key,
    const char *prefix, int64_t min, int64_t max, int64_t *out,
    int *present);

/*
 * Reads the query argument name as an integer in [min, max]: absent
 * leaves *out unchanged and returns 0; a bad value answers 400 naming it
 * and returns -1.
 */
int hub_api_query_int(struct hub_req *rq, struct hub_resp *rs,
    const char *name, int64_t min, int64_t max, int64_t *out);

/* Parses a whole decimal number without sign, spaces or leading zeros, at
 * most max. Returns 0 or VG_ERR_INVAL. */
int hub_api_parse_id(const char *s, size_t len, int64_t max, int64_t *out);

/* The largest id a client may name: 2^53, so that every id fits a
 * JavaScript number exactly. */
#define HUB_API_MAX_ID ((int64_t)1 << 53)

/* A copy of s fit to show in a message or an audit entry: escaped (no
 * control characters, always UTF-8) and cut to 64 bytes. Lives as long as
 * rq; never NULL. */
const char *hub_api_display(struct hub_req *rq, const char *s);

/* "2026-11-26T11:00:00Z" for t seconds since the epoch. */
void hub_api_time(int64_t t, char buf[32]);

/* Takes the request body as a JSON object; an absent or empty body is {}
 * when empty_ok. Returns 0 and a new reference, or -1 with rs filled. */
int hub_api_body(struct hub_req *rq, struct hub_resp *rs, int empty_ok,
    json_t **out);

/* The device object of device_id, its merged policy and the policy's
 * version: new references in *dev and *policy. Returns 0 or an error with
 * a message. */
int hub_api_device_policy(struct hub *h, int64_t device_id, json_t **dev,
    json_t **policy, char version[65], char *err, size_t errlen);

/*
 * Writes DATA_DIR/HubDetails.xml, what a new agent needs to register: the
 * hub's url, the enrolment user name and password and the thumbprint of
 * the hub's certificate (h->thumbprint). Every value is XML-escaped; the
 * file is written to a temporary name, synced and renamed over the old
 * one, mode 0600. Returns 0 or an error with a message in err.
 */
int hub_write_hubdetails(struct hub *h, const char *url, const char *user,
    const char *password, char *err, size_t errlen);

#endif
