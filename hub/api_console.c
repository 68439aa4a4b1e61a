/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "vg_err.h"
#include "vg_util.h"

#include "api.h"
#include "auth.h"
#include "policy.h"
#include "store.h"

#define DEFAULT_LIMIT 100
#define MAX_LIMIT 1000
#define COMMENT_MAX 4096
#define ENROL_PASSWORD_LEN 24
#define HUBDETAILS "HubDetails.xml"
#define HUBDETAILS_MAX (64 * 1024)

#define COOKIE_ATTRS "Path=/; HttpOnly; Secure; SameSite=Strict"
/* A cookie without a secret that the console's script can read: it says a
 * session cookie was set, so that the console asks GET /session only then
 * (a visitor without a session gets no 401 in the browser's console). */
#define SIGNED_IN_COOKIE "vigil_signed_in=1; Path=/; Secure; SameSite=Strict"
#define SIGNED_OUT_COOKIE \
	"vigil_signed_in=; Max-Age=0; Path=/; Secure; SameSite=Strict"

/* Answers {"user": ...}-style objects without the password hash. */
static json_t *
public_user(json_t *user)
{
	json_object_del(user, "pwhash");
	return user;
}

/* Characters (code points) of a UTF-8 string. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A new password member: a string of 12 characters up to 1024 bytes. */
static int
get_new_password(struct hub_resp *rs, const json_t *body, const char *key,
    const char **out)
{
	if (hub_api_get_string(rs, body, key, "", HUB_API_MAX_PASSWORD, 0, 1,
	    out) != 0)
		return -1;
	if (*out != NULL && utf8_chars(*out) < HUB_API_MIN_PASSWORD) {
		hub_api_bad(rs, "%s: must be at least %d characters", key,
		    HUB_API_MIN_PASSWORD);
		return -1;
	}
	return 0;
}

static int
get_role(struct hub_resp *rs, const json_t *body, int *role)
{
	const char *s;

	if (hub_api_get_string(rs, body, "role", "", 32, 1, 0, &s) != 0)
		return -1;
	*role = 0;
	if (s != NULL && hs_role_parse(s, role) != 0) {
		hub_api_bad(rs, "role: expected admin, readonly or enrol");
		return -1;
	}
	return 0;
}

/* The "next" cursor of a page: the id of its last entry when the page is
 * full (there may be more), else null. */
static json_t *
next_cursor(const json_t *arr, int64_t limit)
{
	const json_t *last;

	if ((int64_t)json_array_size(arr) < limit || limit <= 0)
		return json_null();
	last = json_array_get(arr, json_array_size(arr) - 1);
	return json_integer(json_integer_value(json_object_get(last, "id")));
}

/* The page size asked for: default 100, capped at 1000. */
static int
query_limit(struct hub_req *rq, struct hub_resp *rs, int64_t *limit)
{
	*limit = DEFAULT_LIMIT;
	if (hub_api_query_int(rq, rs, "limit", 1, INT64_MAX, limit) != 0)
		return -1;
	if (*limit > MAX_LIMIT)
		*limit = MAX_LIMIT;
	return 0;
}

/* Answers {key: arr, "next": cursor}, taking arr. */
static void
answer_page(struct hub_resp *rs, const char *key, json_t *arr, int64_t limit)
{
	json_t *ans = json_pack("{s:O, s:o}", key, arr, "next",
	    next_cursor(arr, limit));

	json_decref(arr);
	if (ans == NULL)
		hub_api_nomem(rs);
	else
		hub_resp_json(rs, 200, ans);
}

/* The store's removal of one object (user, device, group ...). */
typedef int store_delete_fn(struct hub_store *s, int64_t id, char *err,
    size_t errlen);

/* Deletes object rq->param[0] of kind what, auditing action with the name
 * it had; answers 204 or the error. Returns 0 when it was deleted. */
static int
delete_named(struct hub_req *rq, struct hub_resp *rs,
    hub_api_store_get_fn *get, store_delete_fn *del, const char *what,
    const char *action)
{
	struct hub_store *st = rq->hub->store;
	json_t *obj = NULL;
	char err[256] = "";
	int64_t id = rq->param[0];
	int r;

	if ((r = get(st, id, &obj, err, sizeof(err))) != 0 ||
	    (r = del(st, id, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, what, id);
		goto out;
	}
	hub_api_audit_id(rq, action, what, id, json_pack("{s:O}", "name",
	    json_object_get(obj, "name")));
	hub_resp_json(rs, 204, NULL);
out:
	json_decref(obj);
	return r;
}

/* ---- sessions ---- */

static void
user_summary_set(json_t *obj, const char *key, const json_t *user)
{
	json_object_set_new(obj, key, json_pack("{s:O, s:O, s:O}", "id",
	    json_object_get(user, "id"), "name", json_object_get(user, "name"),
	    "role", json_object_get(user, "role")));
}

/*
 * Opens a new session for user (the store's object) and answers 200 with
 * it: {token, csrf, expires, user} and the session cookie.
 */
static void
session_answer(struct hub_req *rq, struct hub_resp *rs, const json_t *user)
{
	struct hub *h = rq->hub;
	struct hub_store *st = h->store;
	json_t *ans = NULL;
	char token[96], csrf[64], cookie[192], target[128], err[256] = "";
	unsigned char hash[32], csrf_hash[32];
	int64_t now = hub_now(), expires, uid;
	int r;

	uid = json_integer_value(json_object_get(user, "id"));
	hub_auth_new_token("vs1.", token, sizeof(token), hash);
	hub_auth_new_token("", csrf, sizeof(csrf), csrf_hash);
	expires = now + h->conf.session_max;
	if ((r = st->ops->session_create(st, hash, uid, csrf, now, expires,
	    rq->peer, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "session", 0);
		goto out;
	}
	snprintf(target, sizeof(target), "user %lld", (long long)uid);
	hub_api_audit(rq, json_string_value(json_object_get(user, "name")),
	    "session.create", target, NULL);
	ans = json_pack("{s:s, s:s, s:I}", "token", token, "csrf", csrf,
	    "expires", (json_int_t)expires);
	if (ans == NULL) {
		hub_api_nomem(rs);
		goto out;
	}
	user_summary_set(ans, "user", user);
	snprintf(cookie, sizeof(cookie), "vigil_session=%s; " COOKIE_ATTRS,
	    token);
	hub_resp_json(rs, 200, ans);
	ans = NULL;
	hub_resp_header(rs, "Set-Cookie", SIGNED_IN_COOKIE);
	hub_resp_header(rs, "Set-Cookie", cookie);
	hub_resp_header(rs, "Cache-Control", "no-store");
out:
	sodium_memzero(token, sizeof(token));
	sodium_memzero(cookie, sizeof(cookie));
	json_decref(ans);
}

void
hub_api_session_create(struct hub_req *rq, struct hub_resp *rs)
{
	static const char *const fields[] = { "username", "password", NULL };
	struct hub *h = rq->hub;
	struct hub_store *st = h->store;
	json_t *body = NULL, *user = NULL;
	const char *name, *password, *shown;
	char err[256] = "";
	struct hub_lockout lk;
	int r, role;

	if (hub_api_body(rq, rs, 0, &body) != 0 ||
	    hub_api_check_fields(rs, body, fields, "") != 0 ||
	    hub_api_get_string(rs, body, "username", "", 64, 1, 1,
	    &name) != 0 ||
	    hub_api_get_string(rs, body, "password", "", HUB_API_MAX_PASSWORD,
	    0, 1, &password) != 0)
		goto out;
	if (name == NULL || password == NULL) {
		hub_api_bad(rs, "%s: missing", name == NULL ? "username" :
		    "password");
		goto out;
	}
	shown = hub_api_display(rq, name);
	/* The enrolment account never signs in, and its name is public
	 * (HubDetails.xml): refused before any Argon2id work, so asking
	 * costs the hub nothing and counts towards no lockout. Other names
	 * take the same path whether they exist or not. */
	r = st->ops->user_get_by_name(st, name, &user, err, sizeof(err));
	if (r != 0 && r != VG_ERR_NOTFOUND) {
		hub_api_store_error(rs, r, err, "sign-in", 0);
		goto out;
	}
	if (user != NULL && hs_role_parse(json_string_value(json_object_get(
	    user, "role")), &role) == 0 && role == HS_ROLE_ENROL) {
		hub_api_audit_failure(rq, name, "enrolment account", NULL);
		hub_resp_error(rs, 403, "forbidden", "the enrolment account "
		    "cannot sign in to the console");
		goto out;
	}
	json_decref(user);
	user = NULL;
	switch (hub_auth_password(h, rq->peer, name, password, &user, &lk, err,
	    sizeof(err))) {
	case HUB_PW_OK:
		break;
	case HUB_PW_LOCKED:
		hub_log(HUB_LOG_INFO, "sign-in as %s from %s refused: locked "
		    "out", shown, rq->peer);
		hub_auth_locked_answer(rs, &lk, rq->peer, shown);
		goto out;
	case HUB_PW_WRONG:
		hub_api_audit_failure(rq, name, "wrong user name or password",
		    &lk);
		hub_resp_error(rs, 401, "unauthorized", "wrong user name or "
		    "password");
		hub_resp_header(rs, "WWW-Authenticate", "Bearer "
		    "realm=\"vigil\"");
		goto out;
	case HUB_PW_BUSY:
		hub_auth_busy_answer(rs);
		goto out;
	default:
		hub_api_store_error(rs, VG_ERR_DB, err, "sign-in", 0);
		goto out;
	}
	/* The role again: it may have changed since the first look. */
	if (hs_role_parse(json_string_value(json_object_get(user, "role")),
	    &role) != 0 || role == HS_ROLE_ENROL) {
		hub_api_audit_failure(rq, name, "enrolment account", NULL);
		hub_resp_error(rs, 403, "forbidden", "the enrolment account "
		    "cannot sign in to the console");
		goto out;
	}
	if (json_is_true(json_object_get(user, "disabled"))) {
		hub_api_audit_failure(rq, name, "account disabled", NULL);
		hub_resp_error(rs, 403, "forbidden", "account %s is disabled",
		    shown);
		goto out;
	}
	session_answer(rq, rs, user);
out:
	hub_api_wipe(body, "password");
	json_decref(user);
	json_decref(body);
}

void
hub_api_session_get(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	json_t *sess = NULL, *ans;
	char err[256] = "";
	int r;

	if ((r = st->ops->session_get(st, rq->who.session, &sess, err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "session", 0);
		return;
	}
	ans = json_pack("{s:{s:I, s:s, s:s}, s:O, s:s}", "user",
	    "id", (json_int_t)rq->who.user_id, "name", rq->who.user_name,
	    "role", hs_role_name(rq->who.role), "expires",
	    json_object_get(sess, "expires"), "csrf", rq->who.csrf);
	json_decref(sess);
	if (ans == NULL)
		hub_api_nomem(rs);
	else
		hub_resp_json(rs, 200, ans);
}

void
hub_api_session_delete(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	char err[256] = "";
	int r;

	if ((r = st->ops->session_delete(st, rq->who.session, err,
	    sizeof(err))) != 0 && r != VG_ERR_NOTFOUND) {
		hub_api_store_error(rs, r, err, "session", 0);
		return;
	}
	hub_api_audit_id(rq, "session.delete", "user", rq->who.user_id, NULL);
	hub_resp_json(rs, 204, NULL);
	hub_resp_header(rs, "Set-Cookie", SIGNED_OUT_COOKIE);
	hub_resp_header(rs, "Set-Cookie", "vigil_session=; Max-Age=0; "
	    COOKIE_ATTRS);
}

/* ---- users ---- */

void
hub_api_users_list(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	json_t *users = NULL, *u;
	char err[256] = "";
	size_t i;
	int r;

	if ((r = st->ops->user_list(st, &users, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "users", 0);
		return;
	}
	json_array_foreach(users, i, u)
		public_user(u);
	hub_resp_json(rs, 200, json_pack("{s:o}", "users", users));
}

void
hub_api_user_create(struct hub_req *rq, struct hub_resp *rs)
{
	static const char *const fields[] = { "name", "password", "role",
		NULL };
	struct hub *h = rq->hub;
	struct hub_store *st = h->store;
	json_t *body = NULL;
	const char *name, *password;
	char hash[crypto_pwhash_STRBYTES], err[256] = "";
	int64_t id;
	int r, role;

	if (hub_api_body(rq, rs, 0, &body) != 0 ||
	    hub_api_check_fields(rs, body, fields, "") != 0 ||
	    hub_api_get_string(rs, body, "name", "", 64, 1, 1, &name) != 0 ||
	    get_new_password(rs, body, "password", &password) != 0 ||
	    get_role(rs, body, &role) != 0)
		goto out;
	if (name == NULL || password == NULL || role == 0) {
		hub_api_bad(rs, "%s: missing", name == NULL ? "name" :
		    password == NULL ? "password" : "role");
		goto out;
	}
	if (!hub_auth_name_valid(name)) {
		hub_api_bad(rs, "name: expected 1 to 64 characters of A-Z a-z "
		    "0-9 . _ @ -");
		goto out;
	}
	if ((r = hub_auth_hash_password(password, hash, sizeof(hash))) != 0) {
		hub_api_store_error(rs, r, "", "password hash", 0);
		goto out;
	}
	r = st->ops->user_create(st, name, hash, role, &id, err, sizeof(err));
	sodium_memzero(hash, sizeof(hash));
	if (r == VG_ERR_INVAL) {
		hub_resp_error(rs, 409, "conflict", "a user named %s already "
		    "exists", name);
		goto out;
	}
	if (r != 0) {
		hub_api_store_error(rs, r, err, "user", 0);
		goto out;
	}
	hub_api_audit_id(rq, "user.create", "user", id, json_pack("{s:s, s:s}",
	    "name", name, "role", hs_role_name(role)));
	hub_api_answer_object(rq, rs, st->ops->user_get, "user", id, 201);
out:
	hub_api_wipe(body, "password");
	json_decref(body);
}

void
hub_api_user_update(struct hub_req *rq, struct hub_resp *rs)
{
	static const char *const fields[] = { "role", "password", "disabled",
		NULL };
	struct hub *h = rq->hub;
	struct hub_store *st = h->store;
	json_t *body = NULL, *v, *detail = NULL;
	const char *password;
	char hash[crypto_pwhash_STRBYTES], err[256] = "";
	int64_t id = rq->param[0];
	int r, role, disabled = -1;

	if (hub_api_body(rq, rs, 0, &body) != 0 ||
	    hub_api_check_fields(rs, body, fields, "") != 0 ||
	    get_role(rs, body, &role) != 0 ||
	    get_new_password(rs, body, "password", &password) != 0)
		goto out;
	if ((v = json_object_get(body, "disabled")) != NULL) {
		if (!json_is_boolean(v)) {
			hub_api_bad(rs, "disabled: expected true or false");
			goto out;
		}
		disabled = json_is_true(v);
	}
	/* An administrator cannot lock themselves out: there is then
	 * always one left. */
	if (id == rq->who.user_id && ((role != 0 && role != HS_ROLE_ADMIN) ||
	    disabled == 1)) {
		hub_resp_error(rs, 409, "conflict", "you cannot demote or "
		    "disable your own account");
		goto out;
	}
	if (password != NULL && (r = hub_auth_hash_password(password, hash,
	    sizeof(hash))) != 0) {
		hub_api_store_error(rs, r, "", "password hash", 0);
		goto out;
	}
	r = st->ops->user_update(st, id, role, password != NULL ? hash : NULL,
	    disabled, err, sizeof(err));
	sodium_memzero(hash, sizeof(hash));
	if (r != 0) {
		hub_api_store_error(rs, r, err, "user", id);
		goto out;
	}
	/* The account may be an enrolment account: forget its password. */
	hub_auth_enrol_clear(h);
	if ((detail = json_object()) == NULL) {
		hub_api_nomem(rs);
		goto out;
	}
	if (role != 0)
		json_object_set_new(detail, "role",
		    json_string(hs_role_name(role)));
	if (disabled >= 0)
		json_object_set_new(detail, "disabled", json_boolean(disabled));
	if (password != NULL)
		json_object_set_new(detail, "password", json_string("changed"));
	hub_api_audit_id(rq, "user.update", "user", id, detail);
	hub_api_answer_object(rq, rs, st->ops->user_get, "user", id, 200);
out:
	hub_api_wipe(body, "password");
	json_decref(body);
}

void
hub_api_user_delete(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub *h = rq->hub;
	struct hub_store *st = h->store;

	if (rq->param[0] == rq->who.user_id) {
		hub_resp_error(rs, 409, "conflict", "you cannot delete your "
		    "own account");
		return;
	}
	/* The account may be an enrolment account: forget its password. */
	if (delete_named(rq, rs, st->ops->user_get, st->ops->user_delete,
	    "user", "user.delete") == 0)
		hub_auth_enrol_clear(h);
}

void
hub_api_password_change(struct hub_req *rq, struct hub_resp *rs)
{
	static const char *const fields[] = { "old_password", "new_password",
		NULL };
	struct hub *h = rq->hub;
	struct hub_store *st = h->store;
	json_t *body = NULL, *user = NULL;
	const char *old, *new_pw, *shown;
	char hash[crypto_pwhash_STRBYTES], err[256] = "";
	struct hub_lockout lk;
	int r;

	if (hub_api_body(rq, rs, 0, &body) != 0 ||
	    hub_api_check_fields(rs, body, fields, "") != 0 ||
	    hub_api_get_string(rs, body, "old_password", "",
	    HUB_API_MAX_PASSWORD, 0, 1, &old) != 0 ||
	    get_new_password(rs, body, "new_password", &new_pw) != 0)
		goto out;
	if (old == NULL || new_pw == NULL) {
		hub_api_bad(rs, "%s: missing", old == NULL ? "old_password" :
		    "new_password");
		goto out;
	}
	shown = hub_api_display(rq, rq->who.user_name);
	switch (hub_auth_password(h, rq->peer, rq->who.user_name, old, &user,
	    &lk, err, sizeof(err))) {
	case HUB_PW_OK:
		break;
	case HUB_PW_LOCKED:
		hub_auth_locked_answer(rs, &lk, rq->peer, shown);
		goto out;
	case HUB_PW_WRONG:
		hub_api_audit_failure(rq, rq->who.user_name,
		    "wrong current password (password change)", &lk);
		hub_resp_error(rs, 403, "forbidden", "the old password is "
		    "wrong");
		goto out;
	case HUB_PW_BUSY:
		hub_auth_busy_answer(rs);
		goto out;
	default:
		hub_api_store_error(rs, VG_ERR_DB, err, "password change", 0);
		goto out;
	}
	if ((r = hub_auth_hash_password(new_pw, hash, sizeof(hash))) != 0) {
		hub_api_store_error(rs, r, "", "password hash", 0);
		goto out;
	}
	/* Every session of the user ends with the old password, this one
	 * too (the store does it in the same transaction): the caller gets
	 * a new one in the answer. */
	r = st->ops->user_update(st, rq->who.user_id, 0, hash, -1, err,
	    sizeof(err));
	sodium_memzero(hash, sizeof(hash));
	if (r != 0) {
		hub_api_store_error(rs, r, err, "user", rq->who.user_id);
		goto out;
	}
	hub_auth_enrol_clear(h);
	hub_api_audit_id(rq, "user.password", "user", rq->who.user_id, NULL);
	session_answer(rq, rs, user);
out:
	hub_api_wipe(body, "old_password");
	hub_api_wipe(body, "new_password");
	json_decref(user);
	json_decref(body);
}

/* ---- devices ---- */

/* An optional text query argument of at most 255 bytes. */
static int
query_text(struct hub_req *rq, struct hub_resp *rs, const char *name,
    const char **out)
{
	const char *s = hub_req_query(rq, name);

	*out = NULL;
	if (s == NULL || *s == '\0')
		return 0;
	if (strlen(s) > HUB_API_MAX_STRING ||
	    !vg_utf8_valid(s, strlen(s))) {
		hub_api_bad(rs, "query parameter %s: expected UTF-8 text of at "
		    "most %d bytes", name, HUB_API_MAX_STRING);
		return -1;
	}
	*out = s;
	return 0;
}

/* An optional query argument that is one of two words: *out = 1 for
 * the first, 2 for the second; absent leaves *out unchanged. */
static int
query_choice(struct hub_req *rq, struct hub_resp *rs, const char *name,
    const char *first, const char *second, int *out)
{
	const char *s;

	if (query_text(rq, rs, name, &s) != 0)
		return -1;
	if (s == NULL)
		return 0;
	if (strcmp(s, first) == 0) {
		*out = 1;
	} else if (strcmp(s, second) == 0) {
		*out = 2;
	} else {
		hub_api_bad(rs, "query parameter %s: expected %s or %s", name,
		    first, second);
		return -1;
	}
	return 0;
}

/* A time: RFC 3339 or whole seconds since the epoch; absent
 * leaves *out unchanged. */
static int
query_time(struct hub_req *rq, struct hub_resp *rs, const char *name,
    int64_t *out)
{
	const char *s = hub_req_query(rq, name);
	int64_t ns;

	if (s == NULL || *s == '\0')
		return 0;
	if (hub_api_parse_id(s, strlen(s), INT64_MAX / 16, out) == 0)
		return 0;
	if (vg_time_parse(s, &ns) == 0) {
		*out = ns / 1000000000;
		return 0;
	}
	hub_api_bad(rs, "query parameter %s: expected an RFC 3339 UTC time "
	    "or seconds since the epoch", name);
	return -1;
}

void
hub_api_devices_list(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	struct hs_device_filter f;
	json_t *list = NULL;
	char err[256] = "";
	int64_t limit;
	int r;

	memset(&f, 0, sizeof(f));
	if (hub_api_query_int(rq, rs, "group", 1, HUB_API_MAX_ID,
	    &f.group_id) != 0 ||
	    hub_api_query_int(rq, rs, "after", 0, HUB_API_MAX_ID,
	    &f.after_id) != 0 ||
	    query_limit(rq, rs, &limit) != 0 ||
	    query_text(rq, rs, "os", &f.os) != 0 ||
	    query_text(rq, rs, "q", &f.text) != 0 ||
	    query_choice(rq, rs, "status", "online", "offline",
	    &f.status) != 0 ||
	    query_choice(rq, rs, "kind", "agent", "proxied", &f.kind) != 0 ||
	    query_time(rq, rs, "seen_before", &f.seen_before) != 0 ||
	    query_time(rq, rs, "seen_after", &f.seen_after) != 0)
		return;
	f.limit = (int)limit;
	if ((r = st->ops->device_list(st, &f, &list, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "devices", 0);
		return;
	}
	answer_page(rs, "devices", list, limit);
}

void
hub_api_device_get(struct hub_req *rq, struct hub_resp *rs)
{
	json_t *dev = NULL, *policy = NULL;
	char version[HUB_POLICY_VERSION_LEN], err[256] = "";
	int r;

	if ((r = hub_api_device_policy(rq->hub, rq->param[0], &dev, &policy,
	    version, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "device", rq->param[0]);
		goto out;
	}
	if (json_object_set(dev, "policy", policy) != 0 ||
	    json_object_set_new(dev, "policy_version",
	    json_string(version)) != 0) {
		hub_api_nomem(rs);
		goto out;
	}
	hub_resp_json(rs, 200, dev);
	dev = NULL;
out:
	json_decref(policy);
	json_decref(dev);
}

/* The policy version of group gid in list (device_policies()), 0 when
 * the group has no policy. */
static json_int_t
group_policy_version(const json_t *list, json_int_t gid)
{
	const json_t *e;
	size_t i;

	json_array_foreach(list, i, e)
		if (json_integer_value(json_object_get(e, "group_id")) == gid)
			return json_integer_value(json_object_get(e,
			    "version"));
	return 0;
}

void
hub_api_device_policy_get(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	json_t *dev = NULL, *policy = NULL, *list = NULL, *groups = NULL;
	json_t *g, *ans;
	char version[HUB_POLICY_VERSION_LEN], err[256] = "";
	json_int_t gid;
	size_t i;
	int r;

	if ((r = hub_api_device_policy(rq->hub, rq->param[0], &dev, &policy,
	    version, err, sizeof(err))) != 0 ||
	    (r = st->ops->device_policies(st, rq->param[0], &list, err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "device", rq->param[0]);
		goto out;
	}
	/* Every group of the device, those without a policy too. */
	if ((groups = json_array()) == NULL)
		goto nomem;
	json_array_foreach(json_object_get(dev, "groups"), i, g) {
		gid = json_integer_value(json_object_get(g, "id"));
		if (json_array_append_new(groups, json_pack("{s:I, s:O, s:I}",
		    "id", gid, "name", json_object_get(g, "name"), "version",
		    group_policy_version(list, gid))) != 0)
			goto nomem;
	}
	if ((ans = json_pack("{s:O, s:s, s:O}", "policy", policy, "version",
	    version, "groups", groups)) == NULL)
		goto nomem;
	hub_resp_json(rs, 200, ans);
	goto out;
nomem:
	hub_api_nomem(rs);
out:
	json_decref(groups);
	json_decref(list);
	json_decref(policy);
	json_decref(dev);
}

void
hub_api_device_delete(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;

	(void)delete_named(rq, rs, st->ops->device_get, st->ops->device_delete,
	    "device", "device.delete");
}

/* ---- groups ---- */

void
hub_api_groups_list(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	json_t *list = NULL;
	char err[256] = "";
	int r;

	r = st->ops->group_list(st, &list, err, sizeof(err));
	hub_api_answer_list(rs, r, err, "groups", 0, "groups", list);
}

/* The body {"name": ...} of a group. */
static int
group_name(struct hub_req *rq, struct hub_resp *rs, json_t **body,
    const char **name)
{
	static const char *const fields[] = { "name", NULL };

	if (hub_api_body(rq, rs, 0, body) != 0 ||
	    hub_api_check_fields(rs, *body, fields, "") != 0 ||
	    hub_api_get_string(rs, *body, "name", "", HUB_API_MAX_STRING, 1, 0,
	    name) != 0)
		return -1;
	if (*name == NULL) {
		hub_api_bad(rs, "name: missing");
		return -1;
	}
	return 0;
}

void
hub_api_group_create(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	json_t *body = NULL;
	const char *name;
	char err[256] = "";
	int64_t id;
	int r;

	if (group_name(rq, rs, &body, &name) != 0)
		goto out;
	if ((r = st->ops->group_create(st, name, &id, err, sizeof(err))) != 0) {
		/* The store's one refusal here: the name is taken. */
		if (r == VG_ERR_INVAL)
			hub_resp_error(rs, 409, "conflict", "%s", err);
		else
			hub_api_store_error(rs, r, err, "group", 0);
		goto out;
	}
	hub_api_audit_id(rq, "group.create", "group", id, json_pack("{s:s}",
	    "name", name));
	hub_api_answer_object(rq, rs, st->ops->group_get, "group", id, 201);
out:
	json_decref(body);
}

void
hub_api_group_get(struct hub_req *rq, struct hub_resp *rs)
{
	hub_api_answer_object(rq, rs, rq->hub->store->ops->group_get, "group",
	    rq->param[0], 200);
}

void
hub_api_group_update(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	json_t *body = NULL;
	const char *name;
	char err[256] = "";
	int r;

	if (group_name(rq, rs, &body, &name) != 0)
		goto out;
	if ((r = st->ops->group_rename(st, rq->param[0], name, err,
	    sizeof(err))) != 0) {
		if (r == VG_ERR_INVAL)
			hub_resp_error(rs, 409, "conflict", "%s", err);
		else
			hub_api_store_error(rs, r, err, "group", rq->param[0]);
		goto out;
	}
	hub_api_audit_id(rq, "group.update", "group", rq->param[0],
	    json_pack("{s:s}", "name", name));
	hub_api_answer_object(rq, rs, st->ops->group_get, "group",
	    rq->param[0], 200);
out:
	json_decref(body);
}

void
hub_api_group_delete(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;

	(void)delete_named(rq, rs, st->ops->group_get, st->ops->group_delete,
	    "group", "group.delete");
}

static void
member(struct hub_req *rq, struct hub_resp *rs, int add)
{
	struct hub_store *st = rq->hub->store;
	json_t *obj = NULL;
	char err[256] = "";
	int64_t gid = rq->param[0], did = rq->param[1];
	int r;

	if ((r = st->ops->group_get(st, gid, &obj, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "group", gid);
		goto out;
	}
	json_decref(obj);
	obj = NULL;
	if ((r = st->ops->device_get(st, did, &obj, err, sizeof(err))) != 0 ||
	    (r = st->ops->group_member(st, gid, did, add, err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "device", did);
		goto out;
	}
	hub_api_audit_id(rq, add ? "group.member.add" : "group.member.remove",
	    "group", gid, json_pack("{s:I}", "device", (json_int_t)did));
	hub_resp_json(rs, 204, NULL);
out:
	json_decref(obj);
}

void
hub_api_member_add(struct hub_req *rq, struct hub_resp *rs)
{
	member(rq, rs, 1);
}

void
hub_api_member_remove(struct hub_req *rq, struct hub_resp *rs)
{
	member(rq, rs, 0);
}

void
hub_api_policy_get(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	json_t *policy = NULL;
	char err[256] = "";
	int64_t version = 0;
	int r;

	if ((r = st->ops->policy_get(st, rq->param[0], &policy, &version, err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "group", rq->param[0]);
		return;
	}
	if (policy == NULL || json_is_null(policy)) {
		json_decref(policy);
		policy = json_object();
	}
	hub_resp_json(rs, 200, json_pack("{s:I, s:o}", "version",
	    (json_int_t)version, "policy", policy));
}

/*
 * The field a policy validation message starts with ("paths[2]: must be
 * an absolute path" names "paths[2]"), as a new JSON string for the
 * answer's "field"; NULL when the message names none.
 */
static json_t *
policy_field(const char *msg)
{
	size_t n = strspn(msg, "abcdefghijklmnopqrstuvwxyz_"), d;

	if (n == 0)
		return NULL;
	if (msg[n] == '[') {
		d = strspn(msg + n + 1, "0123456789");
		if (d == 0 || msg[n + 1 + d] != ']')
			return NULL;
		n += d + 2;
	}
	if (strncmp(msg + n, ": ", 2) != 0)
		return NULL;
	return json_stringn(msg, n);
}

void
hub_api_policy_set(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	json_t *body = NULL, *field;
	char err[512] = "";
	int64_t version = 0;
	int r;

	if (hub_api_body(rq, rs, 0, &body) != 0)
		goto out;
	if (hub_policy_validate(body, err, sizeof(err)) != 0) {
		hub_api_bad(rs, "%s", err);
		if (rs->json != NULL && (field = policy_field(err)) != NULL)
			json_object_set_new(rs->json, "field", field);
		goto out;
	}
	if ((r = st->ops->policy_set(st, rq->param[0], body, &version, err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "group", rq->param[0]);
		goto out;
	}
	hub_api_audit_id(rq, "policy.set", "group", rq->param[0],
	    json_pack("{s:I}", "version", (json_int_t)version));
	hub_resp_json(rs, 200, json_pack("{s:I, s:O}", "version",
	    (json_int_t)version, "policy", body));
out:
	json_decref(body);
}

/* ---- events ---- */

/* How long GET /events searches at most, in milliseconds, unless the
 * setting search_budget_ms (store settings) says otherwise. */
#define SEARCH_BUDGET_MS 100
#define SEARCH_BUDGET_MAX 60000

/* The search budget: the setting search_budget_ms when it holds a whole
 * number from 0 to 60000 (0: one window of ids per request), else
 * SEARCH_BUDGET_MS. Read at each search, so a change needs no restart;
 * a bad value is logged once an hour, not at every search. */
static int
search_budget(struct hub *h)
{
	static atomic_llong warned;
	struct hub_store *st = h->store;
	char *v = NULL;
	long ms = SEARCH_BUDGET_MS;
	long long last;

	if (st->ops->setting_get(st, "search_budget_ms", &v, NULL, 0) == 0 &&
	    vg_parse_long(v, 0, SEARCH_BUDGET_MAX, &ms) != 0) {
		last = atomic_load(&warned);
		if (hub_now() - last >= 3600 &&
		    atomic_compare_exchange_strong(&warned, &last, hub_now()))
			hub_log(HUB_LOG_WARN, "setting search_budget_ms is not "
			    "a whole number from 0 to %d: %d ms used",
			    SEARCH_BUDGET_MAX, SEARCH_BUDGET_MS);
		ms = SEARCH_BUDGET_MS;
	}
	free(v);
	return (int)ms;
}

/*
 * The filters GET /events and GET /events/export share: device, group,
 * since, until, type, state, q and before. Returns 0, or answers 400 and
 * returns -1. f->text points into the request.
 */
static int
event_filter(struct hub_req *rq, struct hub_resp *rs,
    struct hs_event_filter *f)
{
	const char *type, *state;

	memset(f, 0, sizeof(*f));
	if (hub_api_query_int(rq, rs, "device", 1, HUB_API_MAX_ID,
	    &f->device_id) != 0 ||
	    hub_api_query_int(rq, rs, "group", 1, HUB_API_MAX_ID,
	    &f->group_id) != 0 ||
	    hub_api_query_int(rq, rs, "before", 1, HUB_API_MAX_ID,
	    &f->before_id) != 0 ||
	    query_time(rq, rs, "since", &f->since) != 0 ||
	    query_time(rq, rs, "until", &f->until) != 0 ||
	    query_text(rq, rs, "q", &f->text) != 0 ||
	    query_text(rq, rs, "type", &type) != 0 ||
	    query_text(rq, rs, "state", &state) != 0)
		return -1;
	if (type != NULL && hs_event_type_parse(type, &f->type) != 0) {
		hub_api_bad(rs, "query parameter type: expected one of added, "
		    "removed, changed, offline, online, agent, clone, "
		    "registered");
		return -1;
	}
	if (state == NULL)
		return 0;
	if (strcmp(state, "new") == 0) {
		f->state = HS_STATE_NEW;
	} else if (strcmp(state, "acked") == 0 ||
	    strcmp(state, "acknowledged") == 0) {
		f->state = HS_STATE_ACKED;
	} else if (strcmp(state, "accepted") == 0) {
		f->state = HS_STATE_ACCEPTED;
	} else {
		hub_api_bad(rs, "query parameter state: expected new, acked "
		    "or accepted");
		return -1;
	}
	return 0;
}

void
hub_api_events_list(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	struct hs_event_filter f;
	json_t *page = NULL;
	char err[256] = "";
	int64_t limit;
	int r;

	if (event_filter(rq, rs, &f) != 0 ||
	    query_limit(rq, rs, &limit) != 0)
		return;
	f.limit = (int)limit;
	f.budget_ms = search_budget(rq->hub);
	if ((r = st->ops->event_query(st, &f, &page, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "events", 0);
		return;
	}
	hub_resp_json(rs, 200, page);
}

/* ---- event export ---- */

#define EXPORT_CHUNK 1000          /* events read per store call */
#define EXPORT_CSV_HEADER "id,time,received,device_id,device,type,origin," \
	"kind,path,changed,state,message\r\n"

/*
 * A running export. Each store call reads the next EXPORT_CHUNK events
 * below the cursor and returns: nothing of the store stays open while
 * the client reads, however slowly. out holds the formatted bytes not yet
 * handed to the server.
 */
struct export {
	struct hub *hub;
	struct hs_event_filter f;  /* f.text points to text */
	char text[HUB_API_MAX_STRING + 1];
	int json;                  /* 1: JSON, 0: CSV */
	int64_t cursor;            /* before_id of the next chunk; 0: none */
	int more;                  /* a chunk is left to read */
	int ended;                 /* the last bytes are in out */
	int64_t rows;
	char *out;
	size_t len, off, cap;
};

static int
out_put(struct export *x, const char *p, size_t n)
{
	char *grown;
	size_t cap;

	if (x->len + n > x->cap) {
		cap = x->cap ? x->cap : 64 * 1024;
		while (cap < x->len + n)
			cap *= 2;
		if ((grown = realloc(x->out, cap)) == NULL)
			return VG_ERR_NOMEM;
		x->out = grown;
		x->cap = cap;
	}
	memcpy(x->out + x->len, p, n);
	x->len += n;
	return 0;
}

static int
out_str(struct export *x, const char *s)
{
	return out_put(x, s, strlen(s));
}

/*
 * One CSV cell of s (NULL: empty), then sep. RFC 4180: a cell holding a
 * comma, a quote, CR or LF is quoted, quotes doubled. A cell a
 * spreadsheet would take for a formula (starting with = + - @, TAB or
 * CR) gets a leading ' so that it stays text.
 */
static int
csv_cell(struct export *x, const char *s, const char *sep)
{
	int quoted, r = 0;

	if (s == NULL)
		return out_str(x, sep);
	quoted = s[strcspn(s, ",\"\r\n")] != '\0';
	if (quoted)
		r = out_put(x, "\"", 1);
	/* Inside the quotes, where it is part of the cell. */
	if (r == 0 && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL)
		r = out_put(x, "'", 1);
	for (; r == 0 && *s != '\0'; s++)
		r = *s == '"' ? out_put(x, "\"\"", 2) : out_put(x, s, 1);
	if (r == 0 && quoted)
		r = out_put(x, "\"", 1);
	return r == 0 ? out_str(x, sep) : r;
}

/* A JSON value of the summary as a cell: strings as they are, integers
 * in decimal, null as nothing. */
static int
csv_value(struct export *x, const json_t *v, const char *sep)
{
	char num[32];

	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return csv_cell(x, num, sep);
	}
	return csv_cell(x, json_string_value(v), sep);
}

/* One event summary as a CSV line. */
static int
csv_row(struct export *x, const json_t *ev)
{
	const json_t *v;
	char received[32], *changed = NULL;
	size_t i, n = 0, len;
	int r = VG_ERR_NOMEM;

	hub_api_time(json_integer_value(json_object_get(ev, "received")),
	    received);
	/* The changed attributes, separated by spaces. */
	json_array_foreach(json_object_get(ev, "changed"), i, v)
		n += json_string_length(v) + 1;
	if ((changed = calloc(1, n + 1)) == NULL)
		return r;
	n = 0;
	json_array_foreach(json_object_get(ev, "changed"), i, v) {
		len = json_string_length(v);
		if (i > 0)
			changed[n++] = ' ';
		memcpy(changed + n, json_string_value(v), len);
		n += len;
	}
	if ((r = csv_value(x, json_object_get(ev, "id"), ",")) != 0 ||
	    (r = csv_value(x, json_object_get(ev, "time"), ",")) != 0 ||
	    (r = csv_cell(x, received, ",")) != 0 ||
	    (r = csv_value(x, json_object_get(ev, "device_id"), ",")) != 0 ||
	    (r = csv_value(x, json_object_get(ev, "device"), ",")) != 0 ||
	    (r = csv_value(x, json_object_get(ev, "type"), ",")) != 0 ||
	    (r = csv_value(x, json_object_get(ev, "origin"), ",")) != 0 ||
	    (r = csv_value(x, json_object_get(ev, "kind"), ",")) != 0 ||
	    (r = csv_value(x, json_object_get(ev, "path"), ",")) != 0 ||
	    (r = csv_cell(x, changed, ",")) != 0 ||
	    (r = csv_value(x, json_object_get(ev, "state"), ",")) != 0 ||
	    (r = csv_value(x, json_object_get(ev, "message"), "\r\n")) != 0)
		goto out;
	r = 0;
out:
	free(changed);
	return r;
}

/* One event summary as an element of the JSON array. */
static int
json_row(struct export *x, const json_t *ev)
{
	char *text;
	int r;

	if ((text = json_dumps(ev, JSON_COMPACT)) == NULL)
		return VG_ERR_NOMEM;
	if ((r = out_str(x, x->rows > 0 ? ",\n" : "")) == 0)
		r = out_str(x, text);
	free(text);
	return r;
}

/* Reads the next chunk of events into out, or the end of the body once
 * they are all out. Returns 0 or an error (message in err). */
static int
export_next(struct export *x, char *err, size_t errlen)
{
	struct hub_store *st = x->hub->store;
	const json_t *ev, *next;
	json_t *page = NULL;
	size_t i;
	int r;

	if (x->more) {
		x->f.before_id = x->cursor;
		if ((r = st->ops->event_query(st, &x->f, &page, err,
		    errlen)) != 0)
			return r;
		json_array_foreach(json_object_get(page, "events"), i, ev) {
			if ((r = x->json ? json_row(x, ev) :
			    csv_row(x, ev)) != 0)
				goto out;
			x->rows++;
		}
		next = json_object_get(page, "next");
		x->cursor = json_is_integer(next) ? json_integer_value(next) :
		    0;
		x->more = x->cursor > 0;
	}
	if (!x->more) {
		if (x->json && (r = out_str(x, "]\n")) != 0)
			goto out;
		x->ended = 1;
	}
	r = 0;
out:
	json_decref(page);
	if (r == VG_ERR_NOMEM)
		snprintf(err, errlen, "out of memory");
	return r;
}

static ssize_t
export_fill(void *ctx, char *buf, size_t max)
{
	struct export *x = ctx;
	char err[256] = "";
	size_t n;
	int r;

	while (x->off == x->len) {
		if (x->ended)
			return 0;
		x->off = x->len = 0;
		if ((r = export_next(x, err, sizeof(err))) != 0) {
			hub_log(HUB_LOG_ERROR, "event export cut short after "
			    "%lld events: %s", (long long)x->rows, err);
			return -1;
		}
	}
	n = x->len - x->off;
	if (n > max)
		n = max;
	memcpy(buf, x->out + x->off, n);
	x->off += n;
	return (ssize_t)n;
}

static void
export_done(void *ctx)
{
	struct export *x = ctx;

	if (x == NULL)
		return;
	free(x->out);
	free(x);
}

void
hub_api_events_export(struct hub_req *rq, struct hub_resp *rs)
{
	struct export *x = NULL;
	const char *format = hub_req_query(rq, "format");
	char name[96], disposition[160], err[256] = "";
	struct tm tm;
	time_t now = (time_t)hub_now();
	int r;

	if (format == NULL || *format == '\0')
		format = "csv";
	if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
		hub_api_bad(rs, "query parameter format: expected csv or json");
		return;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		hub_api_nomem(rs);
		return;
	}
	if (event_filter(rq, rs, &x->f) != 0)
		goto fail;
	if (x->f.text != NULL) {
		snprintf(x->text, sizeof(x->text), "%s", x->f.text);
		x->f.text = x->text;
	}
	x->hub = rq->hub;
	x->json = strcmp(format, "json") == 0;
	x->f.limit = EXPORT_CHUNK;
	x->f.budget_ms = HS_NO_BUDGET;
	x->cursor = x->f.before_id;
	x->more = 1;
	/* The first chunk now, so that a failing store is an error answer
	 * rather than a body cut short. */
	if ((r = out_str(x, x->json ? "[" : EXPORT_CSV_HEADER)) != 0 ||
	    (r = export_next(x, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "event export", 0);
		goto fail;
	}
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(name, sizeof(name), "vigil-events-%Y%m%d-%H%M%S", &tm) ==
	    0)
		snprintf(name, sizeof(name), "vigil-events");
	snprintf(disposition, sizeof(disposition), "attachment; "
	    "filename=\"%s.%s\"", name, format);
	hub_api_audit(rq, NULL, "events.export", "events", json_pack(
	    "{s:s, s:I, s:I, s:I, s:I, s:s?, s:i, s:s?, s:I}", "format",
	    format, "device", (json_int_t)x->f.device_id, "group",
	    (json_int_t)x->f.group_id, "since", (json_int_t)x->f.since,
	    "until", (json_int_t)x->f.until, "type",
	    hs_event_type_name(x->f.type), "state", x->f.state, "q",
	    x->f.text, "before", (json_int_t)x->f.before_id));
	hub_resp_json(rs, 200, NULL);
	rs->content_type = x->json ? "application/json" :
	    "text/csv; charset=utf-8";
	rs->stream.fill = export_fill;
	rs->stream.done = export_done;
	rs->stream.ctx = x;
	hub_resp_header(rs, "Content-Disposition", disposition);
	hub_resp_header(rs, "Cache-Control", "no-store");
	return;
fail:
	export_done(x);
}

/* ---- overview ---- */

void
hub_api_dashboard(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	json_t *ans = NULL;
	char err[256] = "";
	int64_t days = 7, now = hub_now(), bucket, from;
	int r;

	if (hub_api_query_int(rq, rs, "days", 1, 90, &days) != 0)
		return;
	/* Whole hours or days (UTC), the current one last. */
	bucket = days <= 2 ? 3600 : 86400;
	from = now / bucket * bucket - (days * 86400 / bucket - 1) * bucket;
	if ((r = st->ops->dashboard(st, from, (int)bucket, now, &ans, err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "overview", 0);
		return;
	}
	if (json_object_set_new(ans, "days", json_integer(days)) != 0 ||
	    json_object_set_new(ans, "from", json_integer(from)) != 0) {
		json_decref(ans);
		hub_api_nomem(rs);
		return;
	}
	hub_resp_json(rs, 200, ans);
}

void
hub_api_event_get(struct hub_req *rq, struct hub_resp *rs)
{
	hub_api_answer_object(rq, rs, rq->hub->store->ops->event_get, "event",
	    rq->param[0], 200);
}

void
hub_api_event_ack(struct hub_req *rq, struct hub_resp *rs)
{
	static const char *const fields[] = { "comment", NULL };
	struct hub_store *st = rq->hub->store;
	json_t *body = NULL;
	const char *comment;
	char err[256] = "";
	int r;

	if (hub_api_body(rq, rs, 1, &body) != 0 ||
	    hub_api_check_fields(rs, body, fields, "") != 0 ||
	    hub_api_get_string(rs, body, "comment", "", COMMENT_MAX, 0, 1,
	    &comment) != 0)
		goto out;
	if ((r = st->ops->event_ack(st, rq->param[0], rq->who.user_name,
	    comment != NULL ? comment : "", hub_now(), err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "event", rq->param[0]);
		goto out;
	}
	hub_api_audit_id(rq, "event.ack", "event", rq->param[0],
	    json_pack("{s:s}", "comment", comment != NULL ? comment : ""));
	hub_api_answer_object(rq, rs, st->ops->event_get, "event",
	    rq->param[0], 200);
out:
	json_decref(body);
}

void
hub_api_event_accept(struct hub_req *rq, struct hub_resp *rs)
{
	static const char *const fields[] = { NULL };
	struct hub_store *st = rq->hub->store;
	json_t *body = NULL;
	char err[256] = "";
	int r;

	if (hub_api_body(rq, rs, 1, &body) != 0 ||
	    hub_api_check_fields(rs, body, fields, "") != 0)
		goto out;
	r = st->ops->event_accept(st, rq->param[0], rq->who.user_name,
	    hub_now(), err, sizeof(err));
	if (r == VG_ERR_INVAL) {
		json_t *ev = NULL;
		const char *type = NULL;

		if (st->ops->event_get(st, rq->param[0], &ev, err,
		    sizeof(err)) == 0)
			type = json_string_value(json_object_get(ev, "type"));
		hub_resp_error(rs, 409, "conflict", "event %lld is %s %s "
		    "event, not a change", (long long)rq->param[0],
		    type != NULL && strchr("aeiou", type[0]) != NULL ? "an" :
		    "a", type != NULL ? type : "hub");
		json_decref(ev);
		goto out;
	}
	if (r != 0) {
		hub_api_store_error(rs, r, err, "event", rq->param[0]);
		goto out;
	}
	hub_api_audit_id(rq, "event.accept", "event", rq->param[0], NULL);
	hub_api_answer_object(rq, rs, st->ops->event_get, "event",
	    rq->param[0], 200);
out:
	json_decref(body);
}

/* ---- audit and hub ---- */

void
hub_api_audit_list(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	json_t *list = NULL;
	char err[256] = "";
	int64_t before = 0, limit;
	int r;

	if (hub_api_query_int(rq, rs, "before", 1, HUB_API_MAX_ID,
	    &before) != 0 || query_limit(rq, rs, &limit) != 0)
		return;
	if ((r = st->ops->audit_list(st, before, (int)limit, &list, err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "audit log", 0);
		return;
	}
	answer_page(rs, "entries", list, limit);
}

/* Reads DATA_DIR/HubDetails.xml into *out (NUL-terminated, caller
 * frees). VG_ERR_NOTFOUND when there is none. */
static int
read_hubdetails(struct hub *h, char **out, size_t *outlen)
{
	char path[4096];
	struct stat sb;
	int fd, r = VG_ERR_IO;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/" HUBDETAILS, h->conf.data_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return vg_err_from_errno(errno);
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		goto out;
	r = VG_ERR_TOOBIG;
	if (sb.st_size > HUBDETAILS_MAX)
		goto out;
	r = vg_read_all(fd, (size_t)sb.st_size, out, outlen);
out:
	close(fd);
	return r;
}

/*
 * The text of <tag>...</tag> in xml, entities decoded, into out. Returns
 * 0, or VG_ERR_NOTFOUND when the element is missing or does not fit.
 */
static int
xml_element(const char *xml, const char *tag, char *out, size_t outlen)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' } };
	char open[64], close[64];
	const char *p, *end;
	size_t n = 0, i;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if ((p = strstr(xml, open)) == NULL)
		return VG_ERR_NOTFOUND;
	p += strlen(open);
	if ((end = strstr(p, close)) == NULL)
		return VG_ERR_NOTFOUND;
	while (p < end) {
		char c = *p++;

		if (c == '&') {
			for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
				if (strncmp(p - 1, ents[i].ent,
				    strlen(ents[i].ent)) == 0)
					break;
			if (i == sizeof(ents) / sizeof(ents[0]))
				return VG_ERR_NOTFOUND;
			c = ents[i].c;
			p += strlen(ents[i].ent) - 1;
		}
		if (n + 1 >= outlen)
			return VG_ERR_NOTFOUND;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/* The hub's public URL: the setting, else what HubDetails.xml says (init
 * may have been given --url), else https://<host name>:<port>/api/. */
static void
public_url(struct hub *h, const char *xml, char *out, size_t outlen)
{
	char host[256];

	if (h->conf.public_url != NULL && *h->conf.public_url != '\0') {
		snprintf(out, outlen, "%s", h->conf.public_url);
		return;
	}
	if (xml != NULL && xml_element(xml, "Url", out, outlen) == 0 &&
	    *out != '\0')
		return;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, outlen, "https://%s:%d/api/", host, h->conf.port);
}

void
hub_api_hub_info(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub *h = rq->hub;
	struct hub_store *st = h->store;
	json_t *stats = NULL;
	char *xml = NULL, url[1024], err[256] = "";
	size_t xmllen;
	int r;

	if ((r = st->ops->stats(st, &stats, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "hub statistics", 0);
		return;
	}
	(void)read_hubdetails(h, &xml, &xmllen);
	public_url(h, xml, url, sizeof(url));
	free(xml);
	hub_resp_json(rs, 200, json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, "
	    "s:i, s:i}", "version", VIGIL_VERSION, "fingerprint",
	    h->fingerprint, "thumbprint", h->thumbprint, "url", url,
	    "devices", json_object_get(stats, "devices"), "events",
	    json_object_get(stats, "events"), "retention_days",
	    h->conf.retention_days, "offline_grace", h->conf.offline_grace));
	json_decref(stats);
}

void
hub_api_hubdetails(struct hub_req *rq, struct hub_resp *rs)
{
	char *xml = NULL;
	size_t len = 0;
	int r;

	if ((r = read_hubdetails(rq->hub, &xml, &len)) != 0) {
		if (r == VG_ERR_NOTFOUND)
			hub_resp_error(rs, 404, "not_found", HUBDETAILS " is "
			    "not in the data directory (vigil-hub init writes "
			    "it)");
		else
			hub_api_store_error(rs, r, "cannot read " HUBDETAILS,
			    HUBDETAILS, 0);
		return;
	}
	rs->status = 200;
	rs->body = xml;
	rs->body_len = len;
	rs->content_type = "application/xml";
	hub_resp_header(rs, "Cache-Control", "no-store");
}

void
hub_api_enrolment_rotate(struct hub_req *rq, struct hub_resp *rs)
{
	static const char *const no_fields[] = { NULL };
	struct hub *h = rq->hub;
	struct hub_store *st = h->store;
	json_t *user = NULL, *body = NULL;
	char *xml = NULL, *setting = NULL, url[1024], name[128];
	char password[ENROL_PASSWORD_LEN + 1];
	char hash[crypto_pwhash_STRBYTES], target[160], err[256] = "";
	size_t xmllen;
	int r, role;

	if (hub_api_body(rq, rs, 1, &body) != 0 ||
	    hub_api_check_fields(rs, body, no_fields, "") != 0)
		goto out;
	if ((r = read_hubdetails(h, &xml, &xmllen)) != 0 &&
	    r != VG_ERR_NOTFOUND) {
		hub_api_store_error(rs, r, "cannot read " HUBDETAILS,
		    HUBDETAILS, 0);
		goto out;
	}
	/* The enrolment account: as init recorded it, else as
	 * HubDetails.xml names it, else the default. */
	if ((r = st->ops->setting_get(st, "enrol_user", &setting, err,
	    sizeof(err))) == 0 && *setting != '\0' &&
	    strlen(setting) < sizeof(name))
		snprintf(name, sizeof(name), "%s", setting);
	else if (xml == NULL || xml_element(xml, "Username", name,
	    sizeof(name)) != 0 || *name == '\0')
		snprintf(name, sizeof(name), "agent");
	free(setting);
	setting = NULL;
	if ((r = st->ops->user_get_by_name(st, name, &user, err,
	    sizeof(err))) != 0 && r != VG_ERR_NOTFOUND) {
		hub_api_store_error(rs, r, err, "user", 0);
		goto out;
	}
	if (r == VG_ERR_NOTFOUND || hs_role_parse(json_string_value(
	    json_object_get(user, "role")), &role) != 0 ||
	    role != HS_ROLE_ENROL) {
		hub_resp_error(rs, 409, "conflict", "there is no enrolment "
		    "account %s", hub_api_display(rq, name));
		goto out;
	}
	hub_auth_random_password(password, ENROL_PASSWORD_LEN);
	if ((r = hub_auth_hash_password(password, hash, sizeof(hash))) != 0) {
		hub_api_store_error(rs, r, "", "password hash", 0);
		goto out;
	}
	r = st->ops->user_update(st, json_integer_value(json_object_get(user,
	    "id")), 0, hash, -1, err, sizeof(err));
	if (r != 0) {
		hub_api_store_error(rs, r, err, "user", 0);
		goto out;
	}
	hub_auth_enrol_clear(h);
	public_url(h, xml, url, sizeof(url));
	if ((r = hub_write_hubdetails(h, url, name, password, err,
	    sizeof(err))) != 0) {
		/* The password did change: say so, and how to get it. */
		hub_log(HUB_LOG_ERROR, "enrolment password rotated, but %s",
		    err);
	}
	snprintf(target, sizeof(target), "user %s", name);
	hub_api_audit(rq, NULL, "enrolment.rotate", target, r == 0 ? NULL :
	    json_pack("{s:s}", "warning", HUBDETAILS " not rewritten"));
	hub_resp_json(rs, 200, json_pack("{s:s, s:s}", "username", name,
	    "password", password));
	hub_resp_header(rs, "Cache-Control", "no-store");
out:
	sodium_memzero(password, sizeof(password));
	sodium_memzero(hash, sizeof(hash));
	json_decref(body);
	json_decref(user);
	free(xml);
}

/* ---- HubDetails.xml ---- */

/* Appends s XML-escaped to buf; -1 when it does not fit or s holds a
 * character XML 1.0 cannot carry. */
static int
xml_append(char *buf, size_t size, size_t *len, const char *s)
{
	const char *rep;
	char one[2] = "";
	size_t n;

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		default:
			if ((unsigned char)*s < 0x20)
				return -1;
			one[0] = *s;
			rep = one;
		}
		n = strlen(rep);
		if (*len + n >= size)
			return -1;
		memcpy(buf + *len, rep, n);
		*len += n;
	}
	buf[*len] = '\0';
	return 0;
}

int
hub_write_hubdetails(struct hub *h, const char *url, const char *user,
    const char *password, char *err, size_t errlen)
{
	static const char *const tags[] = { "Url", "Username", "Password",
		"Thumbprint" };
	const char *values[4] = { url, user, password, h->thumbprint };
	char buf[8192], path[4096];
	size_t len = 0, i;
	int r;

	len = (size_t)snprintf(buf, sizeof(buf), "<?xml version=\"1.0\" "
	    "encoding=\"UTF-8\"?>\n<HubDetails>\n");
	for (i = 0; i < 4; i++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "  <%s>", tags[i]);
		if (xml_append(buf, sizeof(buf), &len, values[i]) != 0 ||
		    len + 32 >= sizeof(buf)) {
			snprintf(err, errlen, HUBDETAILS ": the %s is too long "
			    "or holds control characters", tags[i]);
			r = VG_ERR_INVAL;
			goto out;
		}
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "</%s>\n", tags[i]);
	}
	len += (size_t)snprintf(buf + len, sizeof(buf) - len,
	    "</HubDetails>\n");
	if (len >= sizeof(buf)) {
		snprintf(err, errlen, HUBDETAILS ": too long");
		r = VG_ERR_INVAL;
		goto out;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/" HUBDETAILS,
	    h->conf.data_dir) >= sizeof(path)) {
		snprintf(err, errlen, "data directory path too long");
		r = VG_ERR_INVAL;
		goto out;
	}
	/* 0600: the password never sits in a file others can read, not even
	 * for a moment. */
	r = vg_write_file_atomic(path, buf, len, 0600, err, errlen);
out:
	sodium_memzero(buf, sizeof(buf));
	return r;
}
