/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Proxied devices: network devices and Linux hosts that a proxy agent
 * collects over SSH or Telnet, and Windows hosts over SMB (docs/hub.md
 * "Proxied devices"). The console side creates and changes them, keeps
 * the credentials they log in with (sealed at rest by creds.c, never
 * sent back), lists the device profiles and shows the configuration
 * versions; the agent side hands a proxy its credentials and takes its
 * collection results.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vg_diff.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_util.h"

#include "profile.h"
#include "remote.h"

#include "api.h"
#include "creds.h"
#include "policy.h"
#include "store.h"

/* Caps of what clients send. */
#define HOST_MAX 253               /* a DNS name */
#define PROFILE_NAME_MAX 128
#define SECRET_MAX HUB_API_MAX_PASSWORD
#define PRIVATE_KEY_MAX (16 * 1024)
#define SCHEDULE_MIN 10
#define SCHEDULE_MAX 604800        /* a week */
#define SCHEDULE_DEFAULT 3600
#define GROUPS_MAX 1000
#define HOST_KEY_MAX 128           /* "SHA256:" and 43 base64 digits */
#define RESULT_TEXT_MAX (16 * 1024 * 1024)
#define RESULT_MESSAGE_MAX 4096
#define PROFILES_MAX 1024          /* files looked at in the profiles dir */
#define COMPARE_OUTPUT_MAX (1024 * 1024)

#define SSH_PORT 22
#define TELNET_PORT 23
#define SMB_PORT 445

/* The secret members of a credential, as sealed (creds.h). */
static const char *const secret_keys[] = { "password", "private_key",
	"passphrase", "enable_secret", NULL };

/* By their numbers in store.h (HS_PT_*, enum proxy_protocol). */
static const char *const protocol_names[] = { "", "ssh", "telnet", "smb",
	NULL };
static const char *const type_names[] = { "", "network", "linux",
	"windows", NULL };

/* The index of s in the NULL-terminated names, or -1. */
static int
word_index(const char *const *names, const char *s)
{
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

static int
default_port(int protocol)
{
	switch (protocol) {
	case PROXY_PROTO_TELNET: return TELNET_PORT;
	case PROXY_PROTO_SMB: return SMB_PORT;
	}
	return SSH_PORT;
}

/* Overwrites every string member of obj (secrets held in JSON). */
static void
wipe_strings(json_t *obj)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
		hub_api_wipe(obj, key);
}

/* Answers 503 when the hub could not open its credential key. */
static int
creds_ready(struct hub_req *rq, struct hub_resp *rs)
{
	if (rq->hub->creds != NULL)
		return 0;
	hub_api_unavailable(rs, 60, "credentials cannot be used: the hub has "
	    "no credential key (see its log at start)");
	return -1;
}

/* ---- credentials ---- */

/*
 * Reads the secret members of body into secrets: a string sets one, null
 * (when nulls is set: PATCH) removes it (a JSON null in secrets). Returns
 * 0, or answers 400 and returns -1.
 */
static int
get_secrets(struct hub_resp *rs, const json_t *body, int nulls,
    json_t *secrets)
{
	const char *s;
	json_t *v;
	int i, key;

	for (i = 0; secret_keys[i] != NULL; i++) {
		key = strcmp(secret_keys[i], "private_key") == 0;
		v = json_object_get(body, secret_keys[i]);
		if (v == NULL || (json_is_null(v) && !nulls))
			continue;
		if (json_is_null(v)) {
			if (json_object_set_new(secrets, secret_keys[i],
			    json_null()) != 0)
				goto nomem;
			continue;
		}
		if (hub_api_get_string(rs, body, secret_keys[i], "",
		    key ? PRIVATE_KEY_MAX : SECRET_MAX, 1, key, &s) != 0)
			return -1;
		if (key && strncmp(s, "-----BEGIN ", 11) != 0) {
			hub_api_bad(rs, "private_key: expected a private key "
			    "in PEM or OpenSSH format (-----BEGIN ...)");
			return -1;
		}
		if (json_object_set_new(secrets, secret_keys[i],
		    json_string(s)) != 0)
			goto nomem;
	}
	return 0;
nomem:
	hub_api_nomem(rs);
	return -1;
}

/* A credential must be able to log in: a password or a key. */
static int
secrets_usable(struct hub_resp *rs, const json_t *secrets)
{
	if (!json_is_string(json_object_get(secrets, "password")) &&
	    !json_is_string(json_object_get(secrets, "private_key"))) {
		hub_api_bad(rs, "password: a credential needs a password or a "
		    "private_key");
		return -1;
	}
	if (json_is_string(json_object_get(secrets, "passphrase")) &&
	    !json_is_string(json_object_get(secrets, "private_key"))) {
		hub_api_bad(rs, "passphrase: only meaningful with a "
		    "private_key");
		return -1;
	}
	return 0;
}

/* The names of the secret members given (for the audit), new array. */
static json_t *
secret_names(const json_t *secrets)
{
	json_t *arr = json_array();
	int i;

	for (i = 0; arr != NULL && secret_keys[i] != NULL; i++)
		if (json_object_get(secrets, secret_keys[i]) != NULL)
			json_array_append_new(arr,
			    json_string(secret_keys[i]));
	return arr;
}

/* Name and username of a credential body. */
static int
credential_names(struct hub_resp *rs, const json_t *body, int required,
    const char **name, const char **username)
{
	if (hub_api_get_string(rs, body, "name", "", HUB_API_MAX_STRING, 1, 0,
	    name) != 0 ||
	    hub_api_get_string(rs, body, "username", "", HUB_API_MAX_STRING, 1,
	    0, username) != 0)
		return -1;
	if (required && (*name == NULL || *username == NULL)) {
		hub_api_bad(rs, "%s: missing", *name == NULL ? "name" :
		    "username");
		return -1;
	}
	return 0;
}

static const char *const credential_fields[] = { "name", "username",
	"password", "private_key", "passphrase", "enable_secret", NULL };

static void
wipe_body_secrets(json_t *body)
{
	int i;

	for (i = 0; secret_keys[i] != NULL; i++)
		hub_api_wipe(body, secret_keys[i]);
}

void
hub_api_credentials_list(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	json_t *list = NULL;
	char err[256] = "";
	int r;

	r = st->ops->credential_list(st, &list, err, sizeof(err));
	hub_api_answer_list(rs, r, err, "credentials", 0, "credentials",
	    list);
}

/* credential_get() without the box, as a hub_api_store_get_fn. */
static int
credential_read(struct hub_store *s, int64_t id, json_t **out, char *err,
    size_t errlen)
{
	return s->ops->credential_get(s, id, out, NULL, NULL, err, errlen);
}

void
hub_api_credential_get(struct hub_req *rq, struct hub_resp *rs)
{
	hub_api_answer_object(rq, rs, credential_read, "credential",
	    rq->param[0], 200);
}

void
hub_api_credential_create(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub *h = rq->hub;
	struct hub_store *st = h->store;
	json_t *body = NULL, *secrets = NULL;
	const char *name, *username;
	unsigned char *box = NULL;
	size_t boxlen = 0;
	char err[256] = "";
	int64_t id;
	int r;

	if (hub_api_body(rq, rs, 0, &body) != 0 ||
	    hub_api_check_fields(rs, body, credential_fields, "") != 0 ||
	    credential_names(rs, body, 1, &name, &username) != 0)
		goto out;
	if ((secrets = json_object()) == NULL) {
		hub_api_nomem(rs);
		goto out;
	}
	if (get_secrets(rs, body, 0, secrets) != 0 ||
	    secrets_usable(rs, secrets) != 0 || creds_ready(rq, rs) != 0)
		goto out;
	if ((r = hub_creds_seal(h->creds, secrets, &box, &boxlen, err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "credential", 0);
		goto out;
	}
	if ((r = st->ops->credential_create(st, name, username, box, boxlen,
	    hub_now(), &id, err, sizeof(err))) != 0) {
		/* The store's one refusal here: the name is taken. */
		if (r == VG_ERR_INVAL)
			hub_resp_error(rs, 409, "conflict", "%s", err);
		else
			hub_api_store_error(rs, r, err, "credential", 0);
		goto out;
	}
	hub_api_audit_id(rq, "credential.create", "credential", id,
	    json_pack("{s:s, s:s, s:o}", "name", name, "username", username,
	    "secrets", secret_names(secrets)));
	hub_api_answer_object(rq, rs, credential_read, "credential", id, 201);
out:
	if (secrets != NULL)
		wipe_strings(secrets);
	wipe_body_secrets(body);
	json_decref(secrets);
	json_decref(body);
	free(box);
}

/*
 * The secrets now sealed in credential id, as a JSON object in *out (its
 * strings to be wiped by the caller). Answers the error and returns -1.
 */
static int
secrets_stored(struct hub_req *rq, struct hub_resp *rs, int64_t id,
    json_t **out)
{
	struct hub_store *st = rq->hub->store;
	json_t *obj = NULL;
	json_error_t jerr;
	unsigned char *box = NULL;
	size_t boxlen = 0, textlen = 0;
	char *text = NULL, err[256] = "";
	int r, ret = -1;

	*out = NULL;
	if ((r = st->ops->credential_get(st, id, &obj, &box, &boxlen, err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "credential", id);
		goto out;
	}
	if ((r = hub_creds_unseal(rq->hub->creds, box, boxlen, &text,
	    &textlen, err, sizeof(err))) != 0) {
		hub_log(HUB_LOG_ERROR, "credential %lld: %s", (long long)id,
		    err);
		hub_resp_error(rs, 500, "internal", "the secrets of credential "
		    "%lld cannot be opened (another credential key?); the "
		    "hub's log has the details", (long long)id);
		goto out;
	}
	if ((*out = json_loadb(text, textlen, 0, &jerr)) == NULL ||
	    !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		hub_log(HUB_LOG_ERROR, "credential %lld: the sealed secrets "
		    "are not a JSON object", (long long)id);
		hub_resp_error(rs, 500, "internal", "the secrets of credential "
		    "%lld are damaged", (long long)id);
		goto out;
	}
	ret = 0;
out:
	hub_creds_text_free(text, textlen);
	if (box != NULL)
		sodium_memzero(box, boxlen);
	free(box);
	json_decref(obj);
	return ret;
}

/*
 * Windows devices log in with a password: a credential that one of them
 * uses keeps one. Answers 400 naming password, and returns -1, when
 * credential id is used by a windows device; 0 otherwise. Goes through
 * the proxied devices a page at a time (taking a password away is rare).
 */
static int
password_kept(struct hub_req *rq, struct hub_resp *rs, int64_t id)
{
	struct hub_store *st = rq->hub->store;
	struct hs_device_filter f;
	json_t *list = NULL, *d, *px;
	const char *type;
	char err[256] = "";
	size_t i, n;
	int r, ret = -1;

	memset(&f, 0, sizeof(f));
	f.kind = 2;
	f.limit = 1000;
	do {
		json_decref(list);
		list = NULL;
		if ((r = st->ops->device_list(st, &f, &list, err,
		    sizeof(err))) != 0) {
			hub_api_store_error(rs, r, err, "devices", 0);
			goto out;
		}
		json_array_foreach(list, i, d) {
			px = json_object_get(d, "proxied");
			type = json_string_value(json_object_get(px, "type"));
			if (type == NULL || strcmp(type, "windows") != 0 ||
			    json_integer_value(json_object_get(px,
			    "credential_id")) != id)
				continue;
			hub_api_bad(rs, "password: windows devices log in with "
			    "a password, and device %lld uses credential %lld",
			    (long long)json_integer_value(json_object_get(d,
			    "id")), (long long)id);
			goto out;
		}
		n = json_array_size(list);
		if (n > 0)
			f.after_id = json_integer_value(json_object_get(
			    json_array_get(list, n - 1), "id"));
	} while (n == (size_t)f.limit);
	ret = 0;
out:
	json_decref(list);
	return ret;
}

void
hub_api_credential_update(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub *h = rq->hub;
	struct hub_store *st = h->store;
	json_t *body = NULL, *given = NULL, *secrets = NULL, *detail, *v;
	const char *name, *username, *key;
	unsigned char *box = NULL;
	size_t boxlen = 0;
	char err[256] = "";
	int64_t id = rq->param[0];
	int r;

	if (hub_api_body(rq, rs, 0, &body) != 0 ||
	    hub_api_check_fields(rs, body, credential_fields, "") != 0 ||
	    credential_names(rs, body, 0, &name, &username) != 0)
		goto out;
	if ((given = json_object()) == NULL) {
		hub_api_nomem(rs);
		goto out;
	}
	if (get_secrets(rs, body, 1, given) != 0)
		goto out;
	/* Secrets not given are kept: the new ones are merged into the
	 * stored set, which is opened here and nowhere else but for the
	 * proxy that logs in with it. */
	if (json_object_size(given) > 0) {
		if (creds_ready(rq, rs) != 0 ||
		    secrets_stored(rq, rs, id, &secrets) != 0)
			goto out;
		json_object_foreach(given, key, v) {
			if (json_is_null(v)) {
				hub_api_wipe(secrets, key);
				json_object_del(secrets, key);
			} else {
				hub_api_wipe(secrets, key);
				if (json_object_set(secrets, key, v) != 0) {
					hub_api_nomem(rs);
					goto out;
				}
			}
		}
		if (secrets_usable(rs, secrets) != 0 ||
		    (!json_is_string(json_object_get(secrets, "password")) &&
		    password_kept(rq, rs, id) != 0))
			goto out;
		if ((r = hub_creds_seal(h->creds, secrets, &box, &boxlen, err,
		    sizeof(err))) != 0) {
			hub_api_store_error(rs, r, err, "credential", id);
			goto out;
		}
	}
	if ((r = st->ops->credential_update(st, id, name, username, box,
	    boxlen, hub_now(), err, sizeof(err))) != 0) {
		if (r == VG_ERR_INVAL)
			hub_resp_error(rs, 409, "conflict", "%s", err);
		else
			hub_api_store_error(rs, r, err, "credential", id);
		goto out;
	}
	if ((detail = json_pack("{s:o}", "secrets", secret_names(given))) !=
	    NULL) {
		if (name != NULL)
			json_object_set_new(detail, "name", json_string(name));
		if (username != NULL)
			json_object_set_new(detail, "username",
			    json_string(username));
	}
	hub_api_audit_id(rq, "credential.update", "credential", id, detail);
	hub_api_answer_object(rq, rs, credential_read, "credential", id, 200);
out:
	if (given != NULL)
		wipe_strings(given);
	if (secrets != NULL)
		wipe_strings(secrets);
	wipe_body_secrets(body);
	json_decref(given);
	json_decref(secrets);
	json_decref(body);
	free(box);
}

void
hub_api_credential_delete(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	json_t *obj = NULL;
	char err[256] = "";
	int64_t id = rq->param[0];
	int r;

	if ((r = credential_read(st, id, &obj, err, sizeof(err))) != 0 ||
	    (r = st->ops->credential_delete(st, id, err, sizeof(err))) != 0) {
		/* Still used by devices: the store names them. */
		if (r == VG_ERR_INVAL)
			hub_resp_error(rs, 409, "conflict", "%s", err);
		else
			hub_api_store_error(rs, r, err, "credential", id);
		goto out;
	}
	hub_api_audit_id(rq, "credential.delete", "credential", id,
	    json_pack("{s:O}", "name", json_object_get(obj, "name")));
	hub_resp_json(rs, 204, NULL);
out:
	json_decref(obj);
}

/* ---- profiles ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The profile names (files NAME.profile) of dir, sorted, in *names
 * (caller frees each and the array). */
static int
profile_names(const char *dir, char ***names, size_t *n, char *err,
    size_t errlen)
{
	DIR *d;
	struct dirent *e;
	char **v = NULL, **nv;
	size_t len, seen = 0;
	int r = VG_ERR_NOMEM;

	*names = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "profiles_dir %s: %s", dir,
		    strerror(errno));
		return VG_ERR_IO;
	}
	while ((e = readdir(d)) != NULL && seen++ < PROFILES_MAX) {
		len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len <= 8 || len - 8 >
		    PROFILE_NAME_MAX ||
		    strcmp(e->d_name + len - 8, ".profile") != 0)
			continue;
		if ((nv = realloc(v, (*n + 1) * sizeof(*v))) == NULL)
			goto out;
		v = nv;
		if ((v[*n] = strndup(e->d_name, len - 8)) == NULL)
			goto out;
		(*n)++;
	}
	if (*n > 0)
		qsort(v, *n, sizeof(*v), cmp_str);
	*names = v;
	v = NULL;
	r = 0;
out:
	closedir(d);
	if (v != NULL) {
		while (*n > 0)
			free(v[--(*n)]);
		free(v);
	}
	return r;
}

void
hub_api_profiles_list(struct hub_req *rq, struct hub_resp *rs)
{
	const char *dir = rq->hub->conf.profiles_dir;
	struct proxy_profile *p;
	json_t *list = NULL;
	char **names = NULL, err[512] = "";
	size_t n = 0, i;
	int r;

	if (dir == NULL || *dir == '\0') {
		hub_api_unavailable(rs, 60, "the hub has no profiles_dir");
		return;
	}
	if ((r = profile_names(dir, &names, &n, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "profiles", 0);
		return;
	}
	if ((list = json_array()) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if ((r = proxy_profile_load_named(dir, names[i], &p, err,
		    sizeof(err))) != 0) {
			/* One broken file does not hide the others. */
			hub_log(HUB_LOG_WARN, "profile %s left out: %s",
			    names[i], err);
			continue;
		}
		r = json_array_append_new(list, json_pack("{s:s, s:s, s:s}",
		    "name", names[i], "description", p->description != NULL ?
		    p->description : "", "mode", p->mode == PROXY_MODE_EXEC ?
		    "exec" : "shell"));
		proxy_profile_free(p);
		if (r != 0)
			goto nomem;
	}
	hub_resp_json(rs, 200, list);
	list = NULL;
	goto out;
nomem:
	hub_api_nomem(rs);
out:
	json_decref(list);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Answers 400 unless dir/name.profile is a profile that loads. */
static int
profile_exists(struct hub_req *rq, struct hub_resp *rs, const char *name)
{
	const char *dir = rq->hub->conf.profiles_dir;
	struct proxy_profile *p = NULL;
	char err[512] = "";
	int r;

	if (dir == NULL || *dir == '\0') {
		hub_api_bad(rs, "profile: the hub has no profiles_dir");
		return -1;
	}
	r = proxy_profile_load_named(dir, name, &p, err, sizeof(err));
	proxy_profile_free(p);
	if (r == 0)
		return 0;
	if (r == VG_ERR_NOTFOUND)
		hub_api_bad(rs, "profile: no profile %s in %s (GET /profiles "
		    "lists them)", hub_api_display(rq, name), dir);
	else
		hub_api_bad(rs, "profile: %s", err);
	return -1;
}

/* ---- proxied devices (console side) ---- */

/* A host name, an IPv4 address or an IPv6 address without brackets. */
static int
host_valid(const char *s)
{
	size_t i;

	if (s[0] == '-' || s[0] == '.')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == '_' || c == ':'))
			return 0;
	}
	return i > 0;
}

/* What a POST or PATCH of a proxied device gives; in.* hold HS_KEEP and
 * NULL for what is absent. */
struct proxied_body {
	struct hs_proxied in;
	const json_t *groups;      /* the groups array, or NULL */
};

/* A string member that must be one of names (but names[0], ""): its
 * index, 0 when absent. */
static int
get_enum(struct hub_resp *rs, const json_t *body, const char *key,
    const char *const *names, int *out)
{
	const char *s;
	char list[128];
	size_t len = 0;
	int i;

	*out = 0;
	if (hub_api_get_string(rs, body, key, "", 32, 1, 0, &s) != 0)
		return -1;
	if (s != NULL && (*out = word_index(names, s)) < 1) {
		/* "a", "b" or "c" */
		list[0] = '\0';
		for (i = 1; names[i] != NULL && len < sizeof(list); i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			    "%s\"%s\"", i == 1 ? "" : names[i + 1] == NULL ?
			    " or " : ", ", names[i]);
		hub_api_bad(rs, "%s: expected %s", key, list);
		return -1;
	}
	return 0;
}

/* The groups member: an array of existing group ids. */
static int
get_groups(struct hub_req *rq, struct hub_resp *rs, const json_t *body,
    const json_t **out)
{
	struct hub_store *st = rq->hub->store;
	const json_t *arr = json_object_get(body, "groups"), *e;
	json_t *g = NULL;
	char err[256] = "";
	size_t i;
	int r;

	*out = NULL;
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > GROUPS_MAX) {
		hub_api_bad(rs, "groups: expected an array of at most %d group "
		    "ids", GROUPS_MAX);
		return -1;
	}
	json_array_foreach(arr, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) < 1 ||
		    json_integer_value(e) > HUB_API_MAX_ID) {
			hub_api_bad(rs, "groups[%zu]: expected a group id", i);
			return -1;
		}
		r = st->ops->group_get(st, json_integer_value(e), &g, err,
		    sizeof(err));
		json_decref(g);
		g = NULL;
		if (r == VG_ERR_NOTFOUND) {
			hub_api_bad(rs, "groups[%zu]: no group %lld", i,
			    (long long)json_integer_value(e));
			return -1;
		}
		if (r != 0) {
			hub_api_store_error(rs, r, err, "group", 0);
			return -1;
		}
	}
	*out = arr;
	return 0;
}

static int
proxied_body(struct hub_req *rq, struct hub_resp *rs, const json_t *body,
    struct proxied_body *pb)
{
	static const char *const fields[] = { "name", "type", "host", "port",
		"protocol", "profile", "credential_id", "proxy_id", "groups",
		"schedule", "legacy_ssh", NULL };
	struct hs_proxied *in = &pb->in;
	const json_t *legacy = json_object_get(body, "legacy_ssh");
	int64_t port = HS_KEEP, cred = HS_KEEP, proxy = HS_KEEP;
	int64_t schedule = HS_KEEP;

	memset(pb, 0, sizeof(*pb));
	if (hub_api_check_fields(rs, body, fields, "") != 0 ||
	    hub_api_get_string(rs, body, "name", "", HUB_API_MAX_STRING, 1, 0,
	    &in->name) != 0 ||
	    get_enum(rs, body, "type", type_names, &in->ptype) != 0 ||
	    hub_api_get_string(rs, body, "host", "", HOST_MAX, 1, 0,
	    &in->host) != 0 ||
	    hub_api_get_int(rs, body, "port", "", 1, 65535, &port, NULL) != 0 ||
	    get_enum(rs, body, "protocol", protocol_names,
	    &in->protocol) != 0 ||
	    hub_api_get_string(rs, body, "profile", "", PROFILE_NAME_MAX, 1, 0,
	    &in->profile) != 0 ||
	    hub_api_get_int(rs, body, "credential_id", "", 1, HUB_API_MAX_ID,
	    &cred, NULL) != 0 ||
	    hub_api_get_int(rs, body, "proxy_id", "", 1, HUB_API_MAX_ID,
	    &proxy, NULL) != 0 ||
	    hub_api_get_int(rs, body, "schedule", "", SCHEDULE_MIN,
	    SCHEDULE_MAX, &schedule, NULL) != 0 ||
	    get_groups(rq, rs, body, &pb->groups) != 0)
		return -1;
	if (in->host != NULL && !host_valid(in->host)) {
		hub_api_bad(rs, "host: expected a host name or an IP address");
		return -1;
	}
	if (legacy != NULL && !json_is_boolean(legacy)) {
		hub_api_bad(rs, "legacy_ssh: expected true or false");
		return -1;
	}
	in->ptype = in->ptype != 0 ? in->ptype : HS_KEEP;
	in->protocol = in->protocol != 0 ? in->protocol : HS_KEEP;
	in->port = (int)port;
	in->credential_id = cred;
	in->proxy_id = proxy;
	in->schedule = (int)schedule;
	in->legacy_ssh = legacy != NULL ? json_is_true(legacy) : HS_KEEP;
	return 0;
}

/* Answers 400 unless credential id and proxy device id exist (the store
 * checks again in its transaction; this names the field). */
static int
references_exist(struct hub_req *rq, struct hub_resp *rs,
    const struct hs_proxied *in)
{
	struct hub_store *st = rq->hub->store;
	json_t *obj = NULL;
	const char *kind;
	char err[256] = "";
	int r, ret = -1;

	if (in->credential_id != HS_KEEP) {
		r = credential_read(st, in->credential_id, &obj, err,
		    sizeof(err));
		json_decref(obj);
		obj = NULL;
		if (r == VG_ERR_NOTFOUND) {
			hub_api_bad(rs, "credential_id: no credential %lld",
			    (long long)in->credential_id);
			goto out;
		}
		if (r != 0) {
			hub_api_store_error(rs, r, err, "credential", 0);
			goto out;
		}
	}
	if (in->proxy_id != HS_KEEP) {
		r = st->ops->device_get(st, in->proxy_id, &obj, err,
		    sizeof(err));
		if (r == VG_ERR_NOTFOUND) {
			hub_api_bad(rs, "proxy_id: no device %lld",
			    (long long)in->proxy_id);
			goto out;
		}
		if (r != 0) {
			hub_api_store_error(rs, r, err, "device", 0);
			goto out;
		}
		kind = json_string_value(json_object_get(obj, "kind"));
		if (kind != NULL && strcmp(kind, "agent") != 0) {
			hub_api_bad(rs, "proxy_id: device %lld is a proxied "
			    "device; a proxy is an agent's own device",
			    (long long)in->proxy_id);
			goto out;
		}
	}
	ret = 0;
out:
	json_decref(obj);
	return ret;
}

/* The index of the string member key of obj in names, or 0. */
static int
member_index(const json_t *obj, const char *key, const char *const *names)
{
	const char *s = json_string_value(json_object_get(obj, key));
	int i = s != NULL ? word_index(names, s) : 0;

	return i > 0 ? i : 0;
}

/* The type a device will have (cur: its proxied object now, or NULL). */
static int
proxied_type(const json_t *cur, const struct hs_proxied *in)
{
	int cur_type = member_index(cur, "type", type_names);

	return in->ptype != HS_KEEP ? in->ptype : cur_type != 0 ? cur_type :
	    HS_PT_NETWORK;
}

/*
 * Checks the type, protocol and profile the device will have (cur: its
 * proxied object now, NULL when it is being created) and fills in what
 * follows from them: linux devices need ssh and no profile, windows
 * devices smb (the only protocol for them, and only for them), no
 * profile and no legacy_ssh, network devices an existing profile; the
 * port defaults to the protocol's.
 */
static int
proxied_combination(struct hub_req *rq, struct hub_resp *rs,
    const json_t *cur, struct hs_proxied *in)
{
	int cur_type = member_index(cur, "type", type_names);
	int cur_protocol = member_index(cur, "protocol", protocol_names);
	int type, protocol;
	const char *profile = in->profile;

	type = proxied_type(cur, in);
	if (in->protocol != HS_KEEP)
		protocol = in->protocol;
	else if (type == HS_PT_WINDOWS)
		protocol = PROXY_PROTO_SMB;
	else if (cur_protocol != 0 && cur_protocol != PROXY_PROTO_SMB)
		protocol = cur_protocol;
	else
		protocol = PROXY_PROTO_SSH;
	/* A type that brings another protocol changes it (and the port
	 * below): a windows device made a linux one goes over ssh. */
	if (cur != NULL && in->protocol == HS_KEEP && protocol != cur_protocol)
		in->protocol = protocol;
	if (type == HS_PT_LINUX && protocol != PROXY_PROTO_SSH) {
		hub_api_bad(rs, "protocol: linux devices are collected over "
		    "ssh only");
		return -1;
	}
	if (type == HS_PT_WINDOWS && protocol != PROXY_PROTO_SMB) {
		hub_api_bad(rs, "protocol: windows devices are collected over "
		    "smb only");
		return -1;
	}
	if (type != HS_PT_WINDOWS && protocol == PROXY_PROTO_SMB) {
		hub_api_bad(rs, "protocol: smb is for windows devices only");
		return -1;
	}
	if (type == HS_PT_WINDOWS) {
		if (in->legacy_ssh == 1) {
			hub_api_bad(rs, "legacy_ssh: windows devices are "
			    "collected over smb, not ssh");
			return -1;
		}
		/* One made a windows device drops what it had. */
		in->legacy_ssh = 0;
	}
	if (type == HS_PT_LINUX || type == HS_PT_WINDOWS) {
		in->profile = NULL;
	} else {
		if (profile == NULL)
			profile = json_string_value(json_object_get(cur,
			    "profile"));
		if (profile == NULL) {
			hub_api_bad(rs, "profile: missing (network devices "
			    "need one; GET /profiles lists them)");
			return -1;
		}
		/* A profile given, or one kept by a device that becomes a
		 * network device, must load. */
		if ((in->profile != NULL || cur_type != HS_PT_NETWORK) &&
		    profile_exists(rq, rs, profile) != 0)
			return -1;
	}
	if (cur == NULL) {
		in->ptype = type;
		in->protocol = protocol;
		if (in->port == HS_KEEP)
			in->port = default_port(protocol);
	} else if (in->protocol != HS_KEEP && in->port == HS_KEEP &&
	    json_integer_value(json_object_get(cur, "port")) ==
	    default_port(cur_protocol)) {
		/* ssh to telnet on the standard port: the other standard
		 * port, not 22 for Telnet. */
		in->port = default_port(protocol);
	}
	return 0;
}

/*
 * A windows device logs in with a password (SMB takes no SSH key):
 * answers 400 naming credential_id when the credential it will have has
 * none. Checked when the device is made, becomes a windows device or is
 * given another credential; the credential exists (references_exist()).
 */
static int
windows_password(struct hub_req *rq, struct hub_resp *rs,
    const json_t *cur, const struct hs_proxied *in)
{
	json_t *secrets = NULL;
	int64_t cid;
	int ret = -1;

	if (proxied_type(cur, in) != HS_PT_WINDOWS || (cur != NULL &&
	    member_index(cur, "type", type_names) == HS_PT_WINDOWS &&
	    in->credential_id == HS_KEEP))
		return 0;
	cid = in->credential_id != HS_KEEP ? in->credential_id :
	    json_integer_value(json_object_get(cur, "credential_id"));
	if (creds_ready(rq, rs) != 0 ||
	    secrets_stored(rq, rs, cid, &secrets) != 0)
		goto out;
	if (!json_is_string(json_object_get(secrets, "password"))) {
		hub_api_bad(rs, "credential_id: windows devices log in with a "
		    "password; credential %lld has none", (long long)cid);
		goto out;
	}
	ret = 0;
out:
	if (secrets != NULL)
		wipe_strings(secrets);
	json_decref(secrets);
	return ret;
}

/* Adds device id to the groups given and, when sync is set, removes it
 * from the others it is in (cur_groups: [{"id", ...}]). */
static int
set_groups(struct hub_req *rq, struct hub_resp *rs, int64_t id,
    const json_t *groups, const json_t *cur_groups, int sync)
{
	struct hub_store *st = rq->hub->store;
	const json_t *e, *g;
	char err[256] = "";
	size_t i, j;
	int r, keep;

	json_array_foreach(groups, i, e) {
		if ((r = st->ops->group_member(st, json_integer_value(e), id,
		    1, err, sizeof(err))) != 0) {
			hub_api_store_error(rs, r, err, "group",
			    json_integer_value(e));
			return -1;
		}
	}
	if (!sync)
		return 0;
	json_array_foreach(cur_groups, i, g) {
		json_int_t gid = json_integer_value(json_object_get(g, "id"));

		keep = 0;
		json_array_foreach(groups, j, e)
			if (json_integer_value(e) == gid)
				keep = 1;
		if (!keep && (r = st->ops->group_member(st, gid, id, 0, err,
		    sizeof(err))) != 0) {
			hub_api_store_error(rs, r, err, "group", gid);
			return -1;
		}
	}
	return 0;
}

void
hub_api_proxied_create(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	struct proxied_body pb;
	struct hs_proxied *in = &pb.in;
	json_t *body = NULL;
	char err[256] = "";
	int64_t id;
	int r;

	if (hub_api_body(rq, rs, 0, &body) != 0 ||
	    proxied_body(rq, rs, body, &pb) != 0)
		goto out;
	if (in->name == NULL || in->host == NULL ||
	    in->credential_id == HS_KEEP || in->proxy_id == HS_KEEP) {
		hub_api_bad(rs, "%s: missing", in->name == NULL ? "name" :
		    in->host == NULL ? "host" : in->credential_id == HS_KEEP ?
		    "credential_id" : "proxy_id");
		goto out;
	}
	if (proxied_combination(rq, rs, NULL, in) != 0 ||
	    references_exist(rq, rs, in) != 0 ||
	    windows_password(rq, rs, NULL, in) != 0)
		goto out;
	if (in->schedule == HS_KEEP)
		in->schedule = SCHEDULE_DEFAULT;
	if (in->legacy_ssh == HS_KEEP)
		in->legacy_ssh = 0;
	if ((r = st->ops->proxied_create(st, in, hub_now(), &id, err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "device", 0);
		goto out;
	}
	/* The body holds no secret: it is the audit's detail. */
	hub_api_audit_id(rq, "device.create", "device", id,
	    json_deep_copy(body));
	if (pb.groups != NULL &&
	    set_groups(rq, rs, id, pb.groups, NULL, 0) != 0)
		goto out;
	hub_log(HUB_LOG_INFO, "proxied device %lld (%s) created, collected "
	    "by device %lld", (long long)id, hub_api_display(rq, in->name),
	    (long long)in->proxy_id);
	hub_api_answer_object(rq, rs, st->ops->device_get, "device", id, 201);
out:
	json_decref(body);
}

/* The device's object; answers 404, or 400 for an agent's own device
 * (action says what cannot be done to it). */
static int
proxied_device(struct hub_req *rq, struct hub_resp *rs, int64_t id,
    const char *action, json_t **dev)
{
	struct hub_store *st = rq->hub->store;
	char err[256] = "";
	int r;

	if ((r = st->ops->device_get(st, id, dev, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "device", id);
		return -1;
	}
	if (!json_is_object(json_object_get(*dev, "proxied"))) {
		hub_api_bad(rs, "device %lld is an agent's own device: %s",
		    (long long)id, action);
		json_decref(*dev);
		*dev = NULL;
		return -1;
	}
	return 0;
}

void
hub_api_proxied_update(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	struct proxied_body pb;
	struct hs_proxied *in = &pb.in;
	json_t *body = NULL, *dev = NULL;
	char err[256] = "";
	int64_t id = rq->param[0];
	int r;

	if (hub_api_body(rq, rs, 0, &body) != 0 ||
	    proxied_body(rq, rs, body, &pb) != 0 ||
	    proxied_device(rq, rs, id, "only proxied devices are changed "
	    "here (an agent reports its own)", &dev) != 0 ||
	    proxied_combination(rq, rs, json_object_get(dev, "proxied"),
	    in) != 0 ||
	    references_exist(rq, rs, in) != 0 ||
	    windows_password(rq, rs, json_object_get(dev, "proxied"),
	    in) != 0)
		goto out;
	if ((r = st->ops->proxied_update(st, id, in, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "device", id);
		goto out;
	}
	hub_api_audit_id(rq, "device.update", "device", id,
	    json_deep_copy(body));
	if (pb.groups != NULL && set_groups(rq, rs, id, pb.groups,
	    json_object_get(dev, "groups"), 1) != 0)
		goto out;
	hub_api_answer_object(rq, rs, st->ops->device_get, "device", id, 200);
out:
	json_decref(dev);
	json_decref(body);
}

void
hub_api_host_key(struct hub_req *rq, struct hub_resp *rs)
{
	static const char *const fields[] = { "action", NULL };
	struct hub_store *st = rq->hub->store;
	json_t *body = NULL, *dev = NULL, *px;
	const char *action;
	char err[256] = "";
	int64_t id = rq->param[0];
	int r;

	if (hub_api_body(rq, rs, 0, &body) != 0 ||
	    hub_api_check_fields(rs, body, fields, "") != 0 ||
	    hub_api_get_string(rs, body, "action", "", 16, 1, 0,
	    &action) != 0)
		goto out;
	if (action == NULL || (strcmp(action, "trust") != 0 &&
	    strcmp(action, "forget") != 0)) {
		hub_api_bad(rs, "action: expected \"trust\" or \"forget\"");
		goto out;
	}
	if (proxied_device(rq, rs, id, "it has no host key kept by the hub",
	    &dev) != 0)
		goto out;
	px = json_object_get(dev, "proxied");
	if (member_index(px, "type", type_names) == HS_PT_WINDOWS) {
		hub_api_bad(rs, "device %lld is a windows device: SMB has no "
		    "host key", (long long)id);
		goto out;
	}
	if (strcmp(action, "trust") == 0 && !json_is_string(json_object_get(px,
	    "host_key_offered"))) {
		hub_resp_error(rs, 409, "conflict", "device %lld offers no new "
		    "host key to trust", (long long)id);
		goto out;
	}
	if ((r = st->ops->host_key_set(st, id, action, err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "device", id);
		goto out;
	}
	hub_api_audit_id(rq, "device.host_key", "device", id,
	    json_pack("{s:s, s:O, s:O}", "action", action, "host_key",
	    json_object_get(px, "host_key"), "offered",
	    json_object_get(px, "host_key_offered")));
	hub_log(HUB_LOG_INFO, "device %lld: host key %s by %s", (long long)id,
	    strcmp(action, "trust") == 0 ? "trusted" : "forgotten",
	    hub_api_display(rq, rq->who.user_name));
	hub_api_answer_object(rq, rs, st->ops->device_get, "device", id, 200);
out:
	json_decref(dev);
	json_decref(body);
}

/* ---- configuration versions ---- */

void
hub_api_configs_list(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	json_t *list = NULL;
	char err[256] = "";
	int r;

	r = st->ops->config_list(st, rq->param[0], &list, err, sizeof(err));
	hub_api_answer_list(rs, r, err, "device", rq->param[0], "configs",
	    list);
}

/* One version, or 404 naming the device or the version. */
static int
config_read(struct hub_req *rq, struct hub_resp *rs, int64_t version,
    json_t **out)
{
	struct hub_store *st = rq->hub->store;
	json_t *dev = NULL;
	char err[256] = "";
	int r;

	if ((r = st->ops->config_get(st, rq->param[0], version, out, err,
	    sizeof(err))) == 0)
		return 0;
	if (r == VG_ERR_NOTFOUND && st->ops->device_get(st, rq->param[0],
	    &dev, err, sizeof(err)) == 0)
		hub_resp_error(rs, 404, "not_found", "device %lld has no "
		    "configuration version %lld", (long long)rq->param[0],
		    (long long)version);
	else
		hub_api_store_error(rs, r, err, "device", rq->param[0]);
	json_decref(dev);
	return -1;
}

void
hub_api_config_get(struct hub_req *rq, struct hub_resp *rs)
{
	json_t *obj;

	if (config_read(rq, rs, rq->param[1], &obj) == 0)
		hub_resp_json(rs, 200, obj);
}

void
hub_api_configs_compare(struct hub_req *rq, struct hub_resp *rs)
{
	struct vg_diff_opts opts;
	struct vg_diff_result d;
	json_t *a = NULL, *b = NULL, *ans, *ta, *tb;
	const char *view = hub_req_query(rq, "view"), *member;
	char la[48], lb[48];
	int64_t from = 0, to = 0;
	int r;

	memset(&d, 0, sizeof(d));
	if (hub_api_query_int(rq, rs, "from", 1, HUB_API_MAX_ID, &from) != 0 ||
	    hub_api_query_int(rq, rs, "to", 1, HUB_API_MAX_ID, &to) != 0)
		return;
	if (from == 0 || to == 0) {
		hub_api_bad(rs, "query parameter %s: missing (a version "
		    "number)", from == 0 ? "from" : "to");
		return;
	}
	if (view == NULL || strcmp(view, "significant") == 0) {
		member = "significant";
	} else if (strcmp(view, "full") == 0) {
		member = "text";
	} else {
		hub_api_bad(rs, "query parameter view: expected significant "
		    "or full");
		return;
	}
	if (config_read(rq, rs, from, &a) != 0 ||
	    config_read(rq, rs, to, &b) != 0)
		goto out;
	ta = json_object_get(a, member);
	tb = json_object_get(b, member);
	snprintf(la, sizeof(la), "version %lld", (long long)from);
	snprintf(lb, sizeof(lb), "version %lld", (long long)to);
	vg_diff_opts_default(&opts);
	opts.max_output = COMPARE_OUTPUT_MAX;
	opts.max_input = RESULT_TEXT_MAX;
	if ((r = vg_diff_unified(json_is_string(ta) ? json_string_value(ta) :
	    "", json_string_length(ta), json_is_string(tb) ?
	    json_string_value(tb) : "", json_string_length(tb), la, lb, &opts,
	    &d)) != 0) {
		hub_api_store_error(rs, r, "", "diff", 0);
		goto out;
	}
	ans = json_pack("{s:I, s:I, s:s, s:s%, s:b}", "from", (json_int_t)from,
	    "to", (json_int_t)to, "view", view != NULL ? view : "significant",
	    "diff", d.text, d.len, "truncated", d.truncated);
	if (ans == NULL)
		hub_api_nomem(rs);
	else
		hub_resp_json(rs, 200, ans);
out:
	vg_diff_result_free(&d);
	json_decref(a);
	json_decref(b);
}

/* ---- the proxy's side ---- */

int
hub_api_proxied_list(struct hub *h, int64_t proxy_id, json_t **list,
    char version[65], char *err, size_t errlen)
{
	struct hub_store *st = h->store;
	json_t *e, *dev = NULL, *policy = NULL;
	unsigned char md[crypto_hash_sha256_BYTES];
	char pver[HUB_POLICY_VERSION_LEN], *text = NULL;
	const char *type;
	size_t i;
	int r;

	*list = NULL;
	if ((r = st->ops->proxied_for_proxy(st, proxy_id, list, err,
	    errlen)) != 0)
		return r;
	/* Linux and Windows hosts are watched under the policy of their
	 * groups, merged as for an agent's own device. */
	json_array_foreach(*list, i, e) {
		type = json_string_value(json_object_get(e, "type"));
		if (type == NULL || (strcmp(type, "linux") != 0 &&
		    strcmp(type, "windows") != 0))
			continue;
		if ((r = hub_api_device_policy(h, json_integer_value(
		    json_object_get(e, "id")), &dev, &policy, pver, err,
		    errlen)) != 0)
			goto out;
		if (json_object_set_new(e, "policy", policy) != 0 ||
		    json_object_set_new(e, "policy_version",
		    json_string(pver)) != 0) {
			policy = NULL;
			r = VG_ERR_NOMEM;
			goto out;
		}
		policy = NULL;
		json_decref(dev);
		dev = NULL;
	}
	if ((text = json_dumps(*list, JSON_COMPACT | JSON_SORT_KEYS)) ==
	    NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	crypto_hash_sha256(md, (const unsigned char *)text, strlen(text));
	vg_hex_encode(md, sizeof(md), version);
	r = 0;
out:
	free(text);
	json_decref(dev);
	if (r != 0) {
		json_decref(*list);
		*list = NULL;
	}
	return r;
}

/* The proxied device in the path, checked to be collected by the
 * calling proxy: 403 otherwise, 404 when there is none. */
static int
proxy_owns(struct hub_req *rq, struct hub_resp *rs, int64_t id)
{
	struct hub_store *st = rq->hub->store;
	int r = st->ops->proxied_owned(st, rq->who.agent_id, id);

	if (r == 0)
		return 0;
	if (r == VG_ERR_PERM)
		hub_resp_error(rs, 403, "forbidden", "device %lld is not "
		    "collected by this proxy", (long long)id);
	else
		hub_api_store_error(rs, r, "", "device", id);
	return -1;
}

/* A body streamed from memory that is wiped when it has been sent: the
 * answer with a credential's secrets. */
struct secret_body {
	char *text;
	size_t len, off;
};

static ssize_t
secret_fill(void *ctx, char *buf, size_t max)
{
	struct secret_body *sb = ctx;
	size_t n = sb->len - sb->off;

	if (n > max)
		n = max;
	memcpy(buf, sb->text + sb->off, n);
	sb->off += n;
	return (ssize_t)n;
}

static void
secret_done(void *ctx)
{
	struct secret_body *sb = ctx;

	if (sb->text != NULL)
		sodium_memzero(sb->text, sb->len);
	free(sb->text);
	free(sb);
}

void
hub_api_proxied_credential(struct hub_req *rq, struct hub_resp *rs)
{
	static const char *const fields[] = { NULL };
	struct hub_store *st = rq->hub->store;
	struct secret_body *sb = NULL;
	json_t *body = NULL, *dev = NULL, *cred = NULL, *secrets = NULL;
	json_t *ans = NULL;
	char err[256] = "";
	int64_t id = rq->param[0], cid;
	size_t i;
	int r;

	if (hub_api_body(rq, rs, 1, &body) != 0 ||
	    hub_api_check_fields(rs, body, fields, "") != 0 ||
	    proxy_owns(rq, rs, id) != 0 || creds_ready(rq, rs) != 0)
		goto out;
	if ((r = st->ops->device_get(st, id, &dev, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "device", id);
		goto out;
	}
	cid = json_integer_value(json_object_get(json_object_get(dev,
	    "proxied"), "credential_id"));
	if ((r = credential_read(st, cid, &cred, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "credential", cid);
		goto out;
	}
	if (secrets_stored(rq, rs, cid, &secrets) != 0)
		goto out;
	/* The known members only; they share the strings of secrets, which
	 * are wiped below. */
	if ((ans = json_object()) == NULL ||
	    json_object_set(ans, "username", json_object_get(cred,
	    "username")) != 0)
		goto nomem;
	for (i = 0; secret_keys[i] != NULL; i++)
		if (json_is_string(json_object_get(secrets, secret_keys[i])) &&
		    json_object_set(ans, secret_keys[i],
		    json_object_get(secrets, secret_keys[i])) != 0)
			goto nomem;
	if ((sb = calloc(1, sizeof(*sb))) == NULL ||
	    (sb->text = json_dumps(ans, JSON_COMPACT)) == NULL)
		goto nomem;
	sb->len = strlen(sb->text);
	hub_resp_json(rs, 200, NULL);
	rs->content_type = "application/json";
	rs->stream.fill = secret_fill;
	rs->stream.done = secret_done;
	rs->stream.ctx = sb;
	sb = NULL;
	hub_resp_header(rs, "Cache-Control", "no-store");
	hub_log(HUB_LOG_INFO, "credential of device %lld handed to proxy %lld",
	    (long long)id, (long long)rq->who.agent_id);
	goto out;
nomem:
	hub_api_nomem(rs);
out:
	if (sb != NULL)
		secret_done(sb);
	json_decref(ans);
	if (secrets != NULL)
		wipe_strings(secrets);
	json_decref(secrets);
	json_decref(cred);
	json_decref(dev);
	json_decref(body);
}

static const char *const status_names[] = { "ok", "error",
	"hostkey_changed", NULL };
static const char *const code_names[] = { "connect", "timeout", "auth",
	"incomplete", "hostkey", "protocol", "other", NULL };
static const char *const host_key_states[] = { "unknown", "trusted",
	"changed" };

/* 64 lower-case hex digits. */
static int
sha256_hex_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 64;
}

/* A host key fingerprint: printable, no spaces ("SHA256:..."). */
static int
fingerprint_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return i > 0;
}

static int64_t
count_lines(const char *s, size_t len)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] == '\n')
			n++;
	return len > 0 && s[len - 1] != '\n' ? n + 1 : n;
}

/* Checks the body of POST /agent/proxied/{id}/result into r. */
static int
result_body(struct hub_resp *rs, const json_t *body, struct hs_result *res)
{
	static const char *const fields[] = { "status", "time", "host_key",
		"sha256", "config", "significant", "lines", "code", "message",
		NULL };
	const char *status, *time;
	unsigned char md[crypto_hash_sha256_BYTES];
	char hex[65];
	int64_t ns, lines = -1;

	memset(res, 0, sizeof(*res));
	if (hub_api_check_fields(rs, body, fields, "") != 0 ||
	    hub_api_get_string(rs, body, "status", "", 32, 1, 0,
	    &status) != 0 ||
	    hub_api_get_string(rs, body, "time", "", 64, 1, 0, &time) != 0 ||
	    hub_api_get_string(rs, body, "host_key", "", HOST_KEY_MAX, 1, 0,
	    &res->host_key) != 0 ||
	    hub_api_get_string(rs, body, "sha256", "", 64, 1, 0,
	    &res->sha256) != 0 ||
	    hub_api_get_string(rs, body, "config", "", RESULT_TEXT_MAX, 0, 1,
	    &res->config) != 0 ||
	    hub_api_get_string(rs, body, "significant", "", RESULT_TEXT_MAX, 0,
	    1, &res->significant) != 0 ||
	    hub_api_get_int(rs, body, "lines", "", 0, INT32_MAX, &lines,
	    NULL) != 0 ||
	    hub_api_get_string(rs, body, "code", "", 32, 1, 0,
	    &res->code) != 0 ||
	    hub_api_get_string(rs, body, "message", "", RESULT_MESSAGE_MAX, 1,
	    1, &res->message) != 0)
		return -1;
	if (status == NULL || (res->status = word_index(status_names,
	    status)) < 0) {
		hub_api_bad(rs, "status: expected \"ok\", \"error\" or "
		    "\"hostkey_changed\"");
		return -1;
	}
	res->time = hub_now();
	if (time != NULL) {
		if (vg_time_parse(time, &ns) != 0) {
			hub_api_bad(rs, "time: expected an RFC 3339 UTC time "
			    "(2026-11-26T10:59:58Z)");
			return -1;
		}
		res->time = ns / 1000000000;
	}
	if (res->host_key != NULL && !fingerprint_valid(res->host_key)) {
		hub_api_bad(rs, "host_key: expected a fingerprint "
		    "(SHA256:...)");
		return -1;
	}
	if (res->code != NULL && word_index(code_names, res->code) < 0) {
		hub_api_bad(rs, "code: expected connect, timeout, auth, "
		    "incomplete, hostkey, protocol or other");
		return -1;
	}
	if (res->sha256 != NULL && !sha256_hex_valid(res->sha256)) {
		hub_api_bad(rs, "sha256: expected 64 lower-case hex digits");
		return -1;
	}
	switch (res->status) {
	case 0:
		if ((res->config != NULL || res->significant != NULL) &&
		    (res->config == NULL || res->significant == NULL ||
		    res->sha256 == NULL)) {
			hub_api_bad(rs, "%s: missing (config, significant and "
			    "sha256 go together)", res->config == NULL ?
			    "config" : res->significant == NULL ?
			    "significant" : "sha256");
			return -1;
		}
		break;
	case 1:
		if (res->message == NULL) {
			hub_api_bad(rs, "message: missing (status error needs "
			    "one)");
			return -1;
		}
		if (res->code == NULL)
			res->code = "other";
		break;
	default:
		if (res->host_key == NULL) {
			hub_api_bad(rs, "host_key: missing (the key the device "
			    "offered)");
			return -1;
		}
		break;
	}
	if (res->significant != NULL) {
		res->config_len = strlen(res->config);
		res->significant_len = strlen(res->significant);
		crypto_hash_sha256(md, (const unsigned char *)res->significant,
		    res->significant_len);
		vg_hex_encode(md, sizeof(md), hex);
		if (strcmp(hex, res->sha256) != 0) {
			hub_api_bad(rs, "sha256: is not the SHA-256 of "
			    "significant (%s)", hex);
			return -1;
		}
	}
	res->lines = lines >= 0 ? lines : res->config != NULL ?
	    count_lines(res->config, res->config_len) : 0;
	return 0;
}

void
hub_api_proxied_result(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub_store *st = rq->hub->store;
	struct hs_result res;
	struct hs_result_out o;
	json_t *body = NULL, *dev = NULL, *ans;
	const char *type;
	char err[256] = "";
	int64_t id = rq->param[0];
	int r;

	if (proxy_owns(rq, rs, id) != 0 ||
	    hub_api_body(rq, rs, 0, &body) != 0 ||
	    result_body(rs, body, &res) != 0)
		goto out;
	if ((r = st->ops->device_get(st, id, &dev, err, sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "device", id);
		goto out;
	}
	type = json_string_value(json_object_get(json_object_get(dev,
	    "proxied"), "type"));
	if (res.status == 0 && res.sha256 == NULL && type != NULL &&
	    strcmp(type, "network") == 0) {
		hub_api_bad(rs, "sha256: missing (a good collection of a "
		    "network device names its configuration)");
		goto out;
	}
	if (type != NULL && strcmp(type, "windows") == 0 &&
	    (res.host_key != NULL || res.status == 2)) {
		hub_api_bad(rs, "%s: a windows device has no host key (SMB)",
		    res.host_key != NULL ? "host_key" : "status");
		goto out;
	}
	memset(&o, 0, sizeof(o));
	if ((r = st->ops->proxied_result(st, id, &res, &o, err,
	    sizeof(err))) != 0) {
		hub_api_store_error(rs, r, err, "device", id);
		goto out;
	}
	if (o.config_required) {
		hub_resp_error(rs, 409, "config_required", "the hub's latest "
		    "configuration of device %lld is not %s: send config and "
		    "significant", (long long)id, res.sha256);
		goto out;
	}
	if (res.status != 0)
		hub_log(HUB_LOG_DEBUG, "device %lld: collection %s: %s",
		    (long long)id, status_names[res.status],
		    res.message != NULL ? hub_api_display(rq, res.message) :
		    "-");
	ans = json_pack("{s:I, s:b, s:o, s:s}", "version",
	    (json_int_t)o.version, "changed", o.changed, "event_id",
	    o.event_id > 0 ? json_integer(o.event_id) : json_null(),
	    "host_key_state", o.host_key_state >= 0 && o.host_key_state <= 2 ?
	    host_key_states[o.host_key_state] : "unknown");
	if (ans == NULL)
		hub_api_nomem(rs);
	else
		hub_resp_json(rs, 200, ans);
out:
	json_decref(dev);
	json_decref(body);
}
