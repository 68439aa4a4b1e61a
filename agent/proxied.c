/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/random.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "client.h"
#include "hubdetails.h"
#include "normalise.h"
#include "profile.h"
#include "proxied.h"
#include "remote.h"
#include "session.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_json.h"
#include "vg_log.h"
#include "vg_util.h"

/* The Linux and Windows collectors are other modules
 * (agent/proxied_linux.c, agent/proxied_windows.c); an agent built
 * without one says so in each such device's result. */
#if defined(__has_include)
#if __has_include("proxied_linux.h")
#include "proxied_linux.h"
#define APX_HAVE_LINUX 1
#endif
#if __has_include("proxied_windows.h")
#include "proxied_windows.h"
#define APX_HAVE_WINDOWS 1
#endif
#endif
#if defined(APX_HAVE_LINUX) || defined(APX_HAVE_WINDOWS)
#include "proxied_store.h"
#endif

/*
 * The proxy (proxied.h). All shared state is under p->mu: the device
 * table, the job queue, the hub settings. A worker copies what a job
 * needs (a reference to the device's list entry, the host key and
 * configuration hash known) under the lock, runs the job without it, and
 * writes the outcome back under it; a device removed from the list
 * meanwhile is freed by the worker that had it.
 */

#define APX_FIRST_SPREAD 60.0   /* first collections spread over this */
#define APX_HUB_RETRY 30.0      /* hub away: the device again after */
#define APX_DELIVER_CAP 300.0   /* longest wait to resend a result */
#define APX_STOP_WAIT 10        /* seconds apx_free() waits for jobs */
#define APX_REQ_TIMEOUT 300L    /* one request (16 MiB configurations) */
#define APX_PENDING_MAX (64u * 1024 * 1024) /* results kept for the hub */
#define APX_MAX_ERRORS 10
#define APX_MSG_MAX 512
#define APX_SHA_HEX 65
#define APX_SCHEDULE_MIN 10
#define APX_SCHEDULE_MAX 604800
#define APX_SCHEDULE_DEFAULT 3600
#define APX_SMB_PORT 445        /* Windows hosts (proxy/windows.h) */

enum apx_type { APX_NETWORK = 1, APX_LINUX = 2, APX_WINDOWS = 3 };
enum apx_kind { APX_JOB_COLLECT = 1, APX_JOB_DELIVER = 2 };

/* One entry of the hub's list; strings point into the entry. */
struct apx_spec {
	int64_t id;
	const char *name;
	enum apx_type type;
	const char *host;
	unsigned int port;
	enum proxy_protocol protocol;
	const char *profile;
	unsigned int schedule;
	int legacy;
	const char *host_key;    /* trusted fingerprint, NULL: first use */
	int collect;
	const char *config_sha;  /* the hub's latest version, or NULL */
};

struct apx_dev {
	json_t *entry;           /* the list entry (a reference) */
	struct apx_spec s;
	char host_key[PROXY_FP_LEN + 1]; /* trusted key as we know it */
	char sha[APX_SHA_HEX];   /* the hub's configuration hash, or "" */
	int collect;             /* 0 after a host key change */
	double due, last_start;
	enum apx_kind kind;      /* of the job it is queued or running for */
	int busy;                /* queued or running */
	int gone;                /* no longer in the list: freed when done */
	int once_done;
	json_t *pending;         /* a result the hub has not got yet */
	size_t pending_bytes;    /* its configuration's size */
	double retry_at;
	unsigned int fails;      /* deliveries failed in a row */
	int failing;             /* the last collection failed */
	char code[16];
	char message[APX_MSG_MAX];
	time_t when;
	struct apx_dev *qnext;
};

struct apx_profile {
	char *name;
	struct proxy_profile *prof;
};

struct apx_worker {
	struct apx *p;
	pthread_t t;
	int started;
	struct hubdetails hd;    /* the copy its hc points to */
	struct hc *hc;
	unsigned int gen;
};

struct apx {
	pthread_mutex_t mu;
	pthread_cond_t sched_cond, work_cond, done_cond;
	int quit, started, sched_started;
	pthread_t sched;
	struct apx_worker *workers;
	unsigned int nworkers;

	struct apx_dev **devs;
	size_t ndevs;
	struct apx_dev *qhead, *qtail;
	char version[80];

	struct hubdetails hd;
	char *ca_file, *credential;
	unsigned int gen;

	char *data_dir, *profiles_dir;
	unsigned int parallel, timeout_s;
	size_t pending_bytes;    /* of all the devices' pending results */

	pthread_mutex_t pmu;     /* the profile cache */
	struct apx_profile *profiles;
	size_t nprofiles;
};

/* What one job needs and what came of it. */
struct apx_job {
	enum apx_kind kind;
	json_t *entry;
	struct apx_spec s;
	char host_key[PROXY_FP_LEN + 1];
	char sha[APX_SHA_HEX];
	json_t *pending;         /* in: a result to resend; out: to keep */
	double start;

	int collected;           /* a collection was attempted */
	int hub_away;
	int delivered;
	int stop_collect;        /* the hub saw a changed host key */
	char new_sha[APX_SHA_HEX];
	char learnt_key[PROXY_FP_LEN + 1];
	int failing;
	char code[16];
	char message[APX_MSG_MAX];
};

/* ---- small helpers ---- */

static double
apx_random_unit(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint32_t)time(NULL) * 2654435761u;
	return (double)v / 4294967296.0;
}

static void
apx_rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

static void
apx_str_free(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

static int
apx_strdup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s != NULL && (*out = strdup(s)) == NULL)
		return VG_ERR_NOMEM;
	return 0;
}

/* The parts of HubDetails a connection to the hub uses (not the
 * enrolment account: only registration needs it). */
static int
apx_hd_copy(const struct hubdetails *from, struct hubdetails *to)
{
	memset(to, 0, sizeof(*to));
	if (apx_strdup_opt(from->url, &to->url) != 0 ||
	    apx_strdup_opt(from->proxy, &to->proxy) != 0 ||
	    apx_strdup_opt(from->proxy_username, &to->proxy_username) != 0 ||
	    apx_strdup_opt(from->proxy_password, &to->proxy_password) != 0) {
		hd_free(to);
		return VG_ERR_NOMEM;
	}
	to->use_default_proxy = from->use_default_proxy;
	memcpy(to->thumbprint, from->thumbprint, sizeof(to->thumbprint));
	to->thumbprint_len = from->thumbprint_len;
	return 0;
}

/* Wipes the string members of a hub answer that carried secrets, before
 * jansson frees them. */
static void
apx_json_wipe(json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
		if (json_is_string(v))
			explicit_bzero((char *)json_string_value(v),
			    json_string_length(v));
}

/* The hub did not take a request for a reason that passes (it is away,
 * busy, or our credential is being renewed): try again later. */
static int
apx_hub_away(int r, const struct hc_answer *a)
{
	if (r == HC_HTTP)
		return a->status >= 500 || a->status == 429 ||
		    a->status == 408 || a->status == 401;
	return r != HC_OK;
}

/* ---- the list ---- */

static int
apx_spec_parse(const json_t *e, struct apx_spec *s, char *err, size_t errlen)
{
	const char *type, *proto;
	json_t *v;
	json_int_t n;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(e)) {
		snprintf(err, errlen, "not an object");
		return VG_ERR_INVAL;
	}
	v = json_object_get(e, "id");
	if (!json_is_integer(v) || (n = json_integer_value(v)) <= 0) {
		snprintf(err, errlen, "no id");
		return VG_ERR_INVAL;
	}
	s->id = (int64_t)n;
	s->name = json_string_value(json_object_get(e, "name"));
	if (s->name == NULL)
		s->name = "";
	type = json_string_value(json_object_get(e, "type"));
	if (type == NULL || strcmp(type, "network") == 0)
		s->type = APX_NETWORK;
	else if (strcmp(type, "linux") == 0)
		s->type = APX_LINUX;
	else if (strcmp(type, "windows") == 0)
		s->type = APX_WINDOWS;
	else {
		snprintf(err, errlen, "device %" PRId64 ": unknown type '%.40s'",
		    s->id, type);
		return VG_ERR_INVAL;
	}
	s->host = json_string_value(json_object_get(e, "host"));
	if (s->host == NULL || s->host[0] == '\0') {
		snprintf(err, errlen, "device %" PRId64 ": no host", s->id);
		return VG_ERR_INVAL;
	}
	n = json_integer_value(json_object_get(e, "port"));
	if (n < 0 || n > 65535) {
		snprintf(err, errlen, "device %" PRId64 ": bad port %lld",
		    s->id, (long long)n);
		return VG_ERR_INVAL;
	}
	s->port = (unsigned int)n;
	if (s->port == 0 && s->type == APX_WINDOWS)
		s->port = APX_SMB_PORT;
	proto = json_string_value(json_object_get(e, "protocol"));
	/* Windows hosts are reached over SMB only, and only they are */
	if (s->type == APX_WINDOWS && (proto == NULL ||
	    strcmp(proto, "smb") == 0))
		s->protocol = PROXY_PROTO_SMB;
	else if (s->type != APX_WINDOWS && (proto == NULL ||
	    strcmp(proto, "ssh") == 0))
		s->protocol = PROXY_PROTO_SSH;
	else if (proto != NULL && strcmp(proto, "telnet") == 0 &&
	    s->type == APX_NETWORK)
		s->protocol = PROXY_PROTO_TELNET;
	else {
		snprintf(err, errlen, "device %" PRId64 ": protocol '%.40s' is "
		    "not known for this type", s->id, proto);
		return VG_ERR_INVAL;
	}
	s->profile = json_string_value(json_object_get(e, "profile"));
	if (s->type == APX_NETWORK && (s->profile == NULL ||
	    s->profile[0] == '\0')) {
		snprintf(err, errlen, "device %" PRId64 ": no profile", s->id);
		return VG_ERR_INVAL;
	}
	n = json_integer_value(json_object_get(e, "schedule"));
	s->schedule = n == 0 ? APX_SCHEDULE_DEFAULT : n < APX_SCHEDULE_MIN ?
	    APX_SCHEDULE_MIN : n > APX_SCHEDULE_MAX ? APX_SCHEDULE_MAX :
	    (unsigned int)n;
	s->legacy = json_is_true(json_object_get(e, "legacy_ssh"));
	s->host_key = json_string_value(json_object_get(e, "host_key"));
	if (s->host_key != NULL && (s->host_key[0] == '\0' ||
	    strlen(s->host_key) > PROXY_FP_LEN))
		s->host_key = NULL;
	v = json_object_get(e, "collect");
	s->collect = v == NULL || json_is_true(v);
	s->config_sha = json_string_value(json_object_get(e, "config_sha256"));
	if (s->config_sha != NULL && strlen(s->config_sha) != APX_SHA_HEX - 1)
		s->config_sha = NULL;
	return 0;
}

/* Takes the list's view of what the hub holds, over what we learnt. */
static void
apx_dev_from_list(struct apx_dev *d, json_t *e, const struct apx_spec *s)
{
	json_incref(e);
	json_decref(d->entry);
	d->entry = e;
	d->s = *s;
	snprintf(d->host_key, sizeof(d->host_key), "%s", s->host_key != NULL ?
	    s->host_key : "");
	snprintf(d->sha, sizeof(d->sha), "%s", s->config_sha != NULL ?
	    s->config_sha : "");
	d->collect = s->collect;
}

static void
apx_dev_free(struct apx_dev *d)
{
	if (d == NULL)
		return;
	json_decref(d->entry);
	json_decref(d->pending);
	free(d);
}

static struct apx_dev *
apx_find(struct apx_dev **devs, size_t n, int64_t id, size_t *at)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (devs[i] != NULL && devs[i]->s.id == id) {
			if (at != NULL)
				*at = i;
			return devs[i];
		}
	return NULL;
}

/* The device's baseline on disk goes with it (Linux and Windows hosts:
 * the same file, proxied_store.h). */
static void
apx_forget(struct apx *p, int64_t id)
{
#if defined(APX_HAVE_LINUX) || defined(APX_HAVE_WINDOWS)
	aps_forget(p->data_dir, id);
#else
	(void)p;
	(void)id;
#endif
}

/* ---- profiles ---- */

/* The profile NAME, loaded once and kept: loaded profiles are read-only
 * and shared by the workers. */
static int
apx_profile_get(struct apx *p, const char *name,
    const struct proxy_profile **out, char *err, size_t errlen)
{
	struct apx_profile *grown;
	struct proxy_profile *prof = NULL;
	size_t i;
	int r = 0;

	pthread_mutex_lock(&p->pmu);
	for (i = 0; i < p->nprofiles; i++)
		if (strcmp(p->profiles[i].name, name) == 0) {
			*out = p->profiles[i].prof;
			goto out;
		}
	if ((r = proxy_profile_load_named(p->profiles_dir, name, &prof, err,
	    errlen)) != 0)
		goto out;
	if ((grown = realloc(p->profiles, (p->nprofiles + 1) *
	    sizeof(*grown))) == NULL) {
		r = VG_ERR_NOMEM;
		goto nomem;
	}
	p->profiles = grown;
	if ((grown[p->nprofiles].name = strdup(name)) == NULL) {
		r = VG_ERR_NOMEM;
		goto nomem;
	}
	grown[p->nprofiles++].prof = prof;
	*out = prof;
	goto out;
nomem:
	proxy_profile_free(prof);
	snprintf(err, errlen, "out of memory");
out:
	pthread_mutex_unlock(&p->pmu);
	return r;
}

/* ---- one collection ---- */

/* Fills an error result's code and message and the job's record. */
static void
apx_job_fail(struct apx_job *j, const char *code, const char *msg)
{
	j->failing = 1;
	snprintf(j->code, sizeof(j->code), "%s", code);
	snprintf(j->message, sizeof(j->message), "%s", msg);
}

/*
 * The device's secrets from the hub, for this collection only: 0 with
 * *c filled (the caller wipes it with proxy_credentials_wipe()), 1 the
 * hub is away, -1 the hub refused (msg says why).
 */
static int
apx_credential(struct apx_worker *w, int64_t id, struct proxy_credentials *c,
    char *msg, size_t msglen)
{
	static const char *const keys[] = { "username", "password",
		"private_key", "passphrase", "enable_secret" };
	char **fields[] = { &c->username, &c->password,
		&c->private_key, &c->passphrase, &c->enable_secret };
	struct hc_answer ans;
	char ep[96];
	json_t *body, *v;
	size_t i;
	int r, ret = -1;

	memset(c, 0, sizeof(*c));
	memset(&ans, 0, sizeof(ans));
	snprintf(ep, sizeof(ep), "agent/proxied/%" PRId64 "/credential", id);
	if ((body = json_object()) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return 1;
	}
	r = hc_request(w->hc, ep, body, &ans);
	json_decref(body);
	if (r != HC_OK) {
		snprintf(msg, msglen, "the device's credential: %.400s",
		    ans.message);
		ret = apx_hub_away(r, &ans) ? 1 : -1;
		goto out;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v = json_object_get(ans.body, keys[i]);
		if (json_is_string(v) && json_string_length(v) > 0 &&
		    (*fields[i] = strdup(json_string_value(v))) == NULL) {
			snprintf(msg, msglen, "out of memory");
			proxy_credentials_wipe(c);
			ret = 1;
			goto out;
		}
	}
	if (c->username == NULL) {
		snprintf(msg, msglen, "the hub's credential for the device has "
		    "no username");
		proxy_credentials_wipe(c);
		goto out;
	}
	ret = 0;
out:
	if (ans.body != NULL)
		apx_json_wipe(ans.body);
	hc_answer_clear(&ans);
	return ret;
}

/* The code of a failed collection, for the hub. */
static const char *
apx_code(int r, const struct apx_spec *s, const char *fp)
{
	switch (r) {
	case VG_ERR_TIMEOUT:
		return "timeout";
	case VG_ERR_AUTH:
		return "auth";
	case VG_ERR_INCOMPLETE:
		return "incomplete";
	case VG_ERR_HOSTKEY:
		return "hostkey";
	case VG_ERR_IO:
	case VG_ERR_NOTFOUND:
		return "connect";
	case VG_ERR_CLOSED:
		/* Before the key exchange the device refused us; after it,
		 * (and on Telnet, where there is none) it cut the session
		 * short. */
		return s->protocol == PROXY_PROTO_SSH && fp[0] == '\0' ?
		    "connect" : "incomplete";
	case VG_ERR_CRYPTO:
	case VG_ERR_FORMAT:
	case VG_ERR_INVAL:
		return "protocol";
	default:
		return "other";
	}
}

/* A result object with the fields every status has. */
static json_t *
apx_result_new(const char *status, const char *fp)
{
	char now[32];

	apx_rfc3339(time(NULL), now, sizeof(now));
	return json_pack("{s:s, s:s, s:o}", "status", status, "time", now,
	    "host_key", fp != NULL && fp[0] != '\0' ? json_string(fp) :
	    json_null());
}

static json_t *
apx_result_error(struct apx_job *j, const char *fp)
{
	json_t *b;

	b = apx_result_new(strcmp(j->code, "hostkey") == 0 ?
	    "hostkey_changed" : "error", fp);
	if (b != NULL && (json_object_set_new(b, "code",
	    json_string(j->code)) != 0 || json_object_set_new(b, "message",
	    json_string(j->message)) != 0)) {
		json_decref(b);
		b = NULL;
	}
	return b;
}

/* The ok result of a network device: the normalised document, its
 * significant view and the hash of that view. */
static json_t *
apx_result_config(const struct proxy_norm *n, const char *fp, char *sha)
{
	unsigned char md[32];
	json_t *b, *text, *sig;
	const char *s;

	/* Device output that is not UTF-8 gets U+FFFD, as the hub stores
	 * text. */
	text = vg_json_bytes(n->text, n->len);
	sig = vg_json_bytes(n->significant, n->sig_len);
	if (text == NULL || sig == NULL)
		goto fail;
	/* The hash of what the hub stores, so both sides agree. */
	s = json_string_value(sig);
	if (vg_hash_buffer(VG_HASH_SHA256, s, json_string_length(sig), md) !=
	    0)
		goto fail;
	vg_hex_encode(md, sizeof(md), sha);
	if ((b = apx_result_new("ok", fp)) == NULL)
		goto fail;
	if (json_object_set_new(b, "sha256", json_string(sha)) != 0 ||
	    json_object_set_new(b, "config", text) != 0 ||
	    json_object_set_new(b, "significant", sig) != 0 ||
	    json_object_set_new(b, "lines", json_integer((json_int_t)
	    n->lines)) != 0) {
		json_decref(b);
		return NULL;
	}
	return b;
fail:
	json_decref(text);
	json_decref(sig);
	return NULL;
}

static void
apx_target(const struct apx_job *j, struct proxy_target *t)
{
	memset(t, 0, sizeof(*t));
	t->host = j->s.host;
	t->port = j->s.port;
	t->protocol = j->s.protocol;
	t->legacy = j->s.legacy;
	t->known_host_key = j->host_key[0] != '\0' ? j->host_key : NULL;
}

/* Collects a network device with its profile: the result to send, or
 * NULL when out of memory. */
static json_t *
apx_collect_network(struct apx *p, struct apx_job *j,
    const struct proxy_credentials *cred)
{
	const struct proxy_profile *prof = NULL;
	struct proxy_session_opts o;
	struct proxy_capture *cap = NULL;
	struct proxy_target t;
	struct proxy_norm n;
	char fp[PROXY_FP_LEN + 1], err[APX_MSG_MAX], sha[APX_SHA_HEX];
	json_t *b = NULL;
	int r;

	memset(&n, 0, sizeof(n));
	fp[0] = err[0] = '\0';
	if ((r = apx_profile_get(p, j->s.profile, &prof, err,
	    sizeof(err))) != 0) {
		char msg[APX_MSG_MAX];

		snprintf(msg, sizeof(msg), "profile %.64s: %.400s", j->s.profile,
		    err[0] != '\0' ? err : vg_strerror(r));
		apx_job_fail(j, "other", msg);
		return apx_result_error(j, NULL);
	}
	apx_target(j, &t);
	proxy_session_opts_default(&o);
	o.job_timeout_ms = p->timeout_s * 1000u;
	r = proxy_collect(prof, &t, cred, &o, &cap, fp, err, sizeof(err));
	if (r == 0)
		r = proxy_normalise(prof, cap, &n, err, sizeof(err));
	proxy_capture_free(cap);
	if (r != 0) {
		apx_job_fail(j, apx_code(r, &j->s, fp), err[0] != '\0' ? err :
		    vg_strerror(r));
		b = apx_result_error(j, fp);
	} else if ((b = apx_result_config(&n, fp, sha)) != NULL) {
		snprintf(j->new_sha, sizeof(j->new_sha), "%s", sha);
		snprintf(j->learnt_key, sizeof(j->learnt_key), "%s", fp);
	}
	proxy_norm_free(&n);
	return b;
}

/* Collects a Linux host (agent/proxied_linux.c sends its item events
 * itself); the result says ok or why not. */
static json_t *
apx_collect_linux(struct apx *p, struct apx_worker *w, struct apx_job *j,
    const struct proxy_credentials *cred)
{
#ifdef APX_HAVE_LINUX
	struct proxy_target t;
	char fp[PROXY_FP_LEN + 1], err[APX_MSG_MAX];
	const char *code = NULL;
	int r;

	fp[0] = err[0] = '\0';
	apx_target(j, &t);
	r = apl_collect(p->data_dir, w->hc, j->entry, &t, cred,
	    p->timeout_s * 1000u, fp, &code, err, sizeof(err));
	if (r != 0) {
		apx_job_fail(j, code != NULL ? code : apx_code(r, &j->s, fp),
		    err[0] != '\0' ? err : vg_strerror(r));
		return apx_result_error(j, fp);
	}
	snprintf(j->learnt_key, sizeof(j->learnt_key), "%s", fp);
	return apx_result_new("ok", fp);
#else
	(void)p;
	(void)w;
	(void)cred;
	apx_job_fail(j, "other", "this vigil-agent was built without the "
	    "collector of Linux hosts");
	return apx_result_error(j, NULL);
#endif
}

/* Collects a Windows host over SMB (agent/proxied_windows.c sends its
 * item events itself); the result says ok or why not. SMB has no host
 * key: the result carries none. */
static json_t *
apx_collect_windows(struct apx *p, struct apx_worker *w, struct apx_job *j,
    const struct proxy_credentials *cred)
{
#ifdef APX_HAVE_WINDOWS
	struct proxy_target t;
	char err[APX_MSG_MAX];
	const char *code = NULL;
	int r;

	err[0] = '\0';
	apx_target(j, &t);
	r = apw_collect(p->data_dir, w->hc, j->entry, &t, cred,
	    p->timeout_s * 1000u, &code, err, sizeof(err));
	if (r != 0) {
		apx_job_fail(j, code != NULL ? code : apx_code(r, &j->s, ""),
		    err[0] != '\0' ? err : vg_strerror(r));
		return apx_result_error(j, NULL);
	}
	return apx_result_new("ok", NULL);
#else
	(void)p;
	(void)w;
	(void)cred;
	apx_job_fail(j, "other", "this vigil-agent was built without the "
	    "collector of Windows hosts");
	return apx_result_error(j, NULL);
#endif
}

/*
 * Sends a result. Its configuration is left out when its hash is the
 * one the hub holds; a hub that holds another (409 config_required) gets
 * it whole. 0 delivered (the answer in *ans), 1 the hub is away (keep
 * it), -1 refused (drop it; msg says why).
 */
static int
apx_deliver(struct apx_worker *w, const struct apx_job *j, json_t *body,
    struct hc_answer *ans, char *msg, size_t msglen)
{
	const char *sha, *code;
	json_t *send = body;
	char ep[96];
	int r;

	snprintf(ep, sizeof(ep), "agent/proxied/%" PRId64 "/result", j->s.id);
	sha = json_string_value(json_object_get(body, "sha256"));
	if (sha != NULL && j->sha[0] != '\0' && strcmp(sha, j->sha) == 0 &&
	    (send = json_copy(body)) != NULL) {
		json_object_del(send, "config");
		json_object_del(send, "significant");
	}
	if (send == NULL)
		send = body;
	r = hc_request(w->hc, ep, send, ans);
	if (send != body) {
		json_decref(send);
		code = json_string_value(json_object_get(ans->body, "error"));
		if (r == HC_HTTP && ans->status == 409 && code != NULL &&
		    strcmp(code, "config_required") == 0) {
			vg_log(VG_LOG_DEBUG, "device %" PRId64 ": the hub wants "
			    "the configuration", j->s.id);
			hc_answer_clear(ans);
			r = hc_request(w->hc, ep, body, ans);
		}
	}
	if (r == HC_OK)
		return 0;
	snprintf(msg, msglen, "%s", ans->message);
	return apx_hub_away(r, ans) ? 1 : -1;
}

/* Sends the job's result and notes what the answer means for the
 * device. body is taken over. */
static void
apx_send(struct apx_worker *w, struct apx_job *j, json_t *body)
{
	struct hc_answer ans;
	const char *state, *status;
	char msg[APX_MSG_MAX];
	json_int_t version;
	int r;

	memset(&ans, 0, sizeof(ans));
	msg[0] = '\0';
	r = apx_deliver(w, j, body, &ans, msg, sizeof(msg));
	if (r == 1) {
		vg_log(VG_LOG_DEBUG, "device %" PRId64 ": result kept for the "
		    "next round: %s", j->s.id, msg);
		j->hub_away = 1;
		j->pending = body;
		j->new_sha[0] = j->learnt_key[0] = '\0';
		hc_answer_clear(&ans);
		return;
	}
	if (r < 0) {
		vg_log(VG_LOG_WARN, "device %" PRId64 " (%s): the hub refused "
		    "the collection's result: %s", j->s.id, j->s.name, msg);
		j->new_sha[0] = j->learnt_key[0] = '\0';
		goto out;
	}
	j->delivered = 1;
	status = json_string_value(json_object_get(body, "status"));
	state = json_string_value(json_object_get(ans.body,
	    "host_key_state"));
	version = json_integer_value(json_object_get(ans.body, "version"));
	if ((status != NULL && strcmp(status, "hostkey_changed") == 0) ||
	    (state != NULL && strcmp(state, "changed") == 0)) {
		j->stop_collect = 1;
		j->new_sha[0] = j->learnt_key[0] = '\0';
	}
	/* A key the hub has just trusted on first use is the one to
	 * expect until its list says otherwise. */
	if (state == NULL || strcmp(state, "trusted") != 0)
		j->learnt_key[0] = '\0';
	if (json_is_true(json_object_get(ans.body, "changed")))
		vg_log(VG_LOG_INFO, "device %" PRId64 " (%s): new configuration "
		    "version %lld", j->s.id, j->s.name, (long long)version);
out:
	json_decref(body);
	hc_answer_clear(&ans);
}

/* Whether apx_free() asked the workers to stop. */
static int
apx_quitting(struct apx *p)
{
	int q;

	pthread_mutex_lock(&p->mu);
	q = p->quit;
	pthread_mutex_unlock(&p->mu);
	return q;
}

static void
apx_job_collect(struct apx *p, struct apx_worker *w, struct apx_job *j)
{
	struct proxy_credentials cred;
	char msg[APX_MSG_MAX];
	json_t *body;
	int r;

	msg[0] = '\0';
	r = apx_credential(w, j->s.id, &cred, msg, sizeof(msg));
	if (r != 0) {
		/* No collection without the secrets: nothing to send. */
		if (r > 0)
			j->hub_away = 1;
		else
			vg_log(VG_LOG_WARN, "device %" PRId64 " (%s): %s",
			    j->s.id, j->s.name, msg);
		apx_job_fail(j, "other", msg);
		return;
	}
	if (apx_quitting(p)) {
		proxy_credentials_wipe(&cred);
		return;
	}
	j->collected = 1;
	vg_log(VG_LOG_DEBUG, "device %" PRId64 " (%s): collecting from %s "
	    "port %u", j->s.id, j->s.name, j->s.host, j->s.port);
	switch (j->s.type) {
	case APX_NETWORK:
		body = apx_collect_network(p, j, &cred);
		break;
	case APX_LINUX:
		body = apx_collect_linux(p, w, j, &cred);
		break;
	default:
		body = apx_collect_windows(p, w, j, &cred);
		break;
	}
	proxy_credentials_wipe(&cred);
	if (body == NULL) {
		apx_job_fail(j, "other", "out of memory");
		return;
	}
	/* This result supersedes one the hub has not got yet. */
	json_decref(j->pending);
	j->pending = NULL;
	apx_send(w, j, body);
}

/* The worker's connection to the hub, made again when the hub's
 * settings or the agent's credential changed. 0 or -1. */
static int
apx_worker_hc(struct apx *p, struct apx_worker *w)
{
	struct hubdetails hd;
	struct hc_opts o;
	struct hc *hc = NULL;
	char *cred = NULL, *ca = NULL, err[512];
	unsigned int gen;
	int r;

	pthread_mutex_lock(&p->mu);
	gen = p->gen;
	if (w->hc != NULL && w->gen == gen) {
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	if ((r = apx_hd_copy(&p->hd, &hd)) == 0 &&
	    (apx_strdup_opt(p->credential, &cred) != 0 ||
	    apx_strdup_opt(p->ca_file, &ca) != 0)) {
		hd_free(&hd);
		r = VG_ERR_NOMEM;
	}
	pthread_mutex_unlock(&p->mu);
	if (r != 0)
		goto fail;
	/* The connection points to its HubDetails: the worker's copy. */
	hc_free(w->hc);
	w->hc = NULL;
	hd_free(&w->hd);
	w->hd = hd;
	memset(&o, 0, sizeof(o));
	o.hd = &w->hd;
	o.ca_file = ca;
	o.timeout = APX_REQ_TIMEOUT;
	err[0] = '\0';
	if (hc_new(&o, &hc, err, sizeof(err)) != 0 ||
	    (cred != NULL && hc_set_credential(hc, cred) != 0)) {
		vg_log(VG_LOG_ERROR, "proxy: cannot reach the hub: %s",
		    err[0] != '\0' ? err : "out of memory");
		hc_free(hc);
		goto fail;
	}
	w->hc = hc;
	w->gen = gen;
	apx_str_free(&cred);
	free(ca);
	return 0;
fail:
	apx_str_free(&cred);
	free(ca);
	return -1;
}

/* ---- the scheduler and the workers ---- */

static void
apx_enqueue(struct apx *p, struct apx_dev *d, enum apx_kind kind)
{
	d->busy = 1;
	d->kind = kind;
	d->qnext = NULL;
	if (p->qtail != NULL)
		p->qtail->qnext = d;
	else
		p->qhead = d;
	p->qtail = d;
	pthread_cond_signal(&p->work_cond);
}

static struct apx_dev *
apx_dequeue(struct apx *p)
{
	struct apx_dev *d = p->qhead;

	if (d != NULL) {
		p->qhead = d->qnext;
		if (p->qhead == NULL)
			p->qtail = NULL;
		d->qnext = NULL;
	}
	return d;
}

static void *
apx_sched_main(void *arg)
{
	struct apx *p = arg;
	struct apx_dev *d;
	double now, next;
	size_t i;

	pthread_mutex_lock(&p->mu);
	while (!p->quit) {
		now = vg_now();
		next = now + APX_FIRST_SPREAD;
		for (i = 0; i < p->ndevs; i++) {
			d = p->devs[i];
			if (d->busy)
				continue;
			if (d->collect && d->due <= now)
				apx_enqueue(p, d, APX_JOB_COLLECT);
			else if (d->pending != NULL && d->retry_at <= now)
				apx_enqueue(p, d, APX_JOB_DELIVER);
			else {
				if (d->collect && d->due < next)
					next = d->due;
				if (d->pending != NULL && d->retry_at < next)
					next = d->retry_at;
			}
		}
		vg_cond_wait_for(&p->sched_cond, &p->mu, next - vg_now());
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Under p->mu: what a job needs from its device. */
static void
apx_job_take(struct apx *p, struct apx_dev *d, struct apx_job *j)
{
	memset(j, 0, sizeof(*j));
	j->kind = d->kind;
	j->entry = json_incref(d->entry);
	j->s = d->s;
	memcpy(j->host_key, d->host_key, sizeof(j->host_key));
	memcpy(j->sha, d->sha, sizeof(j->sha));
	j->pending = d->pending;
	d->pending = NULL;
	p->pending_bytes -= d->pending_bytes;
	d->pending_bytes = 0;
	j->start = vg_now();
}

/* Under p->mu: the job's outcome into its device; 1 when the device is
 * gone and must be freed (outside the lock). */
static int
apx_job_done(struct apx *p, struct apx_dev *d, struct apx_job *j)
{
	double now = vg_now(), wait;
	size_t size;

	d->busy = 0;
	if (j->pending != NULL) {
		/* Kept for the next round, unless a newer one is there or
		 * too much is kept already: then the next collection
		 * supersedes it. */
		size = json_string_length(json_object_get(j->pending,
		    "config")) + json_string_length(json_object_get(j->pending,
		    "significant"));
		if (d->pending == NULL && !d->gone &&
		    p->pending_bytes + size <= APX_PENDING_MAX) {
			d->pending = j->pending;
			d->pending_bytes = size;
			p->pending_bytes += size;
			j->pending = NULL;
		}
		if (d->fails < 16)
			d->fails++;
		wait = APX_HUB_RETRY * pow(2, d->fails - 1);
		d->retry_at = now + (wait > APX_DELIVER_CAP ? APX_DELIVER_CAP :
		    wait) * (0.5 + apx_random_unit() / 2);
	}
	if (j->kind == APX_JOB_COLLECT) {
		d->once_done = 1;
		if (j->collected || !j->hub_away) {
			d->last_start = j->start;
			d->due = j->start + d->s.schedule;
		} else {
			wait = d->s.schedule < APX_HUB_RETRY ? d->s.schedule :
			    APX_HUB_RETRY;
			d->due = now + wait * (0.5 + apx_random_unit() / 2);
		}
	}
	if (j->delivered) {
		d->fails = 0;
		if (j->new_sha[0] != '\0')
			memcpy(d->sha, j->new_sha, sizeof(d->sha));
		if (j->learnt_key[0] != '\0')
			memcpy(d->host_key, j->learnt_key, sizeof(d->host_key));
		if (j->stop_collect) {
			d->collect = 0;
			vg_log(VG_LOG_WARN, "device %" PRId64 " (%s): the host "
			    "key changed; no collection until an administrator "
			    "trusts the new key", d->s.id, d->s.name);
		}
	}
	if (j->kind == APX_JOB_COLLECT && (j->collected || j->failing)) {
		if (j->failing && (!d->failing ||
		    strcmp(d->message, j->message) != 0) && !j->stop_collect)
			vg_log(VG_LOG_WARN, "device %" PRId64 " (%s): %s: %s",
			    d->s.id, d->s.name, j->code, j->message);
		else if (!j->failing && d->failing)
			vg_log(VG_LOG_INFO, "device %" PRId64 " (%s): collection "
			    "works again", d->s.id, d->s.name);
		d->failing = j->failing;
		memcpy(d->code, j->code, sizeof(d->code));
		memcpy(d->message, j->message, sizeof(d->message));
		d->when = time(NULL);
	}
	pthread_cond_signal(&p->sched_cond);
	pthread_cond_broadcast(&p->done_cond);
	return d->gone;
}

static void *
apx_worker_main(void *arg)
{
	struct apx_worker *w = arg;
	struct apx *p = w->p;
	struct apx_dev *d;
	struct apx_job j;
	int gone;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && p->qhead == NULL)
			pthread_cond_wait(&p->work_cond, &p->mu);
		if (p->quit)
			break;
		d = apx_dequeue(p);
		if (d->gone) {
			pthread_mutex_unlock(&p->mu);
			apx_dev_free(d);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		apx_job_take(p, d, &j);
		pthread_mutex_unlock(&p->mu);

		if (apx_worker_hc(p, w) != 0) {
			j.hub_away = 1;
		} else if (j.kind == APX_JOB_COLLECT) {
			if (j.s.collect)
				apx_job_collect(p, w, &j);
		} else {
			json_t *body = j.pending;

			j.pending = NULL;
			apx_send(w, &j, body);
		}

		pthread_mutex_lock(&p->mu);
		gone = apx_job_done(p, d, &j);
		pthread_mutex_unlock(&p->mu);
		json_decref(j.entry);
		json_decref(j.pending);
		if (gone) {
			if (d->s.type != APX_NETWORK)
				apx_forget(p, d->s.id);
			apx_dev_free(d);
		}
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Starts the scheduler and the workers (under p->mu). */
static int
apx_start(struct apx *p, char *err, size_t errlen)
{
	unsigned int i;
	int r;

	if (p->started)
		return 0;
	if ((r = proxy_remote_init()) != 0) {
		snprintf(err, errlen, "cannot initialise SSH: %s",
		    vg_strerror(r));
		return r;
	}
	if ((p->workers = calloc(p->parallel, sizeof(*p->workers))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	p->started = 1;
	r = 0;
	for (i = 0; i < p->parallel; i++) {
		p->workers[i].p = p;
		if ((r = pthread_create(&p->workers[i].t, NULL,
		    apx_worker_main, &p->workers[i])) != 0)
			break;
		p->workers[i].started = 1;
		p->nworkers++;
	}
	/* Fewer workers than asked is fine; none, or no scheduler, is not
	 * (workers already started idle until apx_free() stops them). */
	if (p->nworkers > 0)
		r = pthread_create(&p->sched, NULL, apx_sched_main, p);
	if (r != 0 || p->nworkers == 0) {
		snprintf(err, errlen, "cannot start the proxy's threads: %s",
		    strerror(r != 0 ? r : EAGAIN));
		return VG_ERR_INTERNAL;
	}
	p->sched_started = 1;
	if (p->nworkers < p->parallel)
		vg_log(VG_LOG_WARN, "proxy: %u of %u workers started",
		    p->nworkers, p->parallel);
	vg_log(VG_LOG_INFO, "proxy: %u workers, profiles in %s", p->nworkers,
	    p->profiles_dir);
	return 0;
}

/* ---- the interface ---- */

int
apx_new(const struct apx_opts *o, struct apx **out, char *err, size_t errlen)
{
	struct apx *p;
	pthread_condattr_t ca;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto nomem;
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->pmu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->sched_cond, &ca);
	pthread_cond_init(&p->work_cond, &ca);
	pthread_cond_init(&p->done_cond, &ca);
	pthread_condattr_destroy(&ca);
	p->parallel = o->parallel >= 1 && o->parallel <= 256 ? o->parallel :
	    16;
	p->timeout_s = o->timeout_s > 0 ? o->timeout_s : 300;
	if (apx_strdup_opt(o->data_dir, &p->data_dir) != 0 ||
	    apx_strdup_opt(o->profiles_dir, &p->profiles_dir) != 0 ||
	    apx_strdup_opt(o->ca_file, &p->ca_file) != 0 ||
	    apx_set_hub(p, o->hd, o->credential) != 0) {
		apx_free(p);
		goto nomem;
	}
	*out = p;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return VG_ERR_NOMEM;
}

int
apx_set_hub(struct apx *p, const struct hubdetails *hd,
    const char *credential)
{
	struct hubdetails copy;
	char *cred = NULL;

	if (apx_hd_copy(hd, &copy) != 0)
		return VG_ERR_NOMEM;
	if (apx_strdup_opt(credential, &cred) != 0) {
		hd_free(&copy);
		return VG_ERR_NOMEM;
	}
	pthread_mutex_lock(&p->mu);
	hd_free(&p->hd);
	p->hd = copy;
	apx_str_free(&p->credential);
	p->credential = cred;
	p->gen++;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

void
apx_version(struct apx *p, char *out, size_t len)
{
	pthread_mutex_lock(&p->mu);
	snprintf(out, len, "%s", p->version);
	pthread_mutex_unlock(&p->mu);
}

int
apx_take(struct apx *p, const json_t *list, const char *version,
    char *err, size_t errlen)
{
	struct apx_spec *specs = NULL;
	struct apx_dev **devs = NULL, **fresh = NULL, *d;
	json_t **entries = NULL;
	int64_t *forget = NULL;
	size_t i, at, n = 0, nspecs = 0, nfresh = 0, nforget = 0;
	char msg[256];
	double now = vg_now(), spread;
	json_t *e;
	int r = 0;

	if (!json_is_array(list)) {
		snprintf(err, errlen, "the hub's list of proxied devices is not "
		    "an array");
		return VG_ERR_INVAL;
	}
	n = json_array_size(list);
	if ((specs = calloc(n + 1, sizeof(*specs))) == NULL ||
	    (devs = calloc(n + 1, sizeof(*devs))) == NULL ||
	    (fresh = calloc(n + 1, sizeof(*fresh))) == NULL ||
	    (entries = calloc(n + 1, sizeof(*entries))) == NULL)
		goto nomem;
	json_array_foreach(list, i, e) {
		if (apx_spec_parse(e, &specs[nspecs], msg, sizeof(msg)) != 0) {
			vg_log(VG_LOG_WARN, "proxied device %zu of the hub's "
			    "list skipped: %s", i, msg);
			continue;
		}
		entries[nspecs++] = e;
	}

	pthread_mutex_lock(&p->mu);
	/* Everything that can fail first, so that a failure leaves the
	 * devices as they were. */
	for (i = 0; i < nspecs; i++)
		if (apx_find(p->devs, p->ndevs, specs[i].id, NULL) == NULL &&
		    (fresh[nfresh++] = calloc(1, sizeof(*d))) == NULL)
			break;
	if (i < nspecs || (forget = calloc(p->ndevs + 1,
	    sizeof(*forget))) == NULL) {
		pthread_mutex_unlock(&p->mu);
		while (nfresh > 0)
			free(fresh[--nfresh]);
		goto nomem;
	}
	n = 0;
	nfresh = 0;
	for (i = 0; i < nspecs; i++) {
		const struct apx_spec *s = &specs[i];

		if (apx_find(devs, n, s->id, NULL) != NULL)
			continue;      /* twice in the list: the first counts */
		if ((d = apx_find(p->devs, p->ndevs, s->id, &at)) != NULL) {
			p->devs[at] = NULL;
			if (d->s.schedule != s->schedule && d->last_start > 0)
				d->due = d->last_start + s->schedule;
		} else {
			d = fresh[nfresh];
			fresh[nfresh++] = NULL;
			spread = s->schedule < APX_FIRST_SPREAD ? s->schedule :
			    APX_FIRST_SPREAD;
			d->due = now + spread * apx_random_unit();
			vg_log(VG_LOG_INFO, "proxied device %" PRId64 " (%s): %s "
			    "%s port %u, every %u s", s->id, s->name,
			    s->type == APX_NETWORK ? s->profile :
			    s->type == APX_LINUX ? "linux" : "windows",
			    s->host, s->port, s->schedule);
		}
		apx_dev_from_list(d, entries[i], s);
		devs[n++] = d;
	}
	for (i = 0; i < p->ndevs; i++) {
		if ((d = p->devs[i]) == NULL)
			continue;
		vg_log(VG_LOG_INFO, "proxied device %" PRId64 " (%s) is no "
		    "longer assigned to this agent", d->s.id, d->s.name);
		if (d->busy) {
			d->gone = 1;
			continue;
		}
		if (d->s.type != APX_NETWORK)
			forget[nforget++] = d->s.id;
		p->pending_bytes -= d->pending_bytes;
		apx_dev_free(d);
	}
	free(p->devs);
	p->devs = devs;
	devs = NULL;
	p->ndevs = n;
	snprintf(p->version, sizeof(p->version), "%s", version != NULL ?
	    version : "");
	if (n > 0 && !p->started)
		r = apx_start(p, err, errlen);
	pthread_cond_signal(&p->sched_cond);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < nforget; i++)
		apx_forget(p, forget[i]);
	free(forget);
	free(specs);
	free(entries);
	for (i = 0; i < nspecs; i++)
		free(fresh[i]);   /* a device listed twice */
	free(fresh);
	return r;
nomem:
	free(specs);
	free(entries);
	free(devs);
	free(fresh);
	snprintf(err, errlen, "out of memory");
	return VG_ERR_NOMEM;
}

int
apx_run_once(struct apx *p, volatile sig_atomic_t *stop)
{
	double now = vg_now();
	size_t i, left;
	int failed = 0;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->ndevs; i++) {
		p->devs[i]->once_done = !p->devs[i]->collect;
		if (p->devs[i]->collect)
			p->devs[i]->due = now;
	}
	pthread_cond_signal(&p->sched_cond);
	for (;;) {
		for (i = 0, left = 0; i < p->ndevs; i++)
			left += !p->devs[i]->once_done;
		if (left == 0 || *stop)
			break;
		vg_cond_wait_for(&p->done_cond, &p->mu, 0.5);
	}
	for (i = 0; i < p->ndevs; i++)
		failed += p->devs[i]->failing || p->devs[i]->pending != NULL;
	pthread_mutex_unlock(&p->mu);
	return failed;
}

/* Newest first. */
static int
apx_cmp_when(const void *a, const void *b)
{
	const struct apx_dev *x = *(const struct apx_dev *const *)a;
	const struct apx_dev *y = *(const struct apx_dev *const *)b;

	return x->when < y->when ? 1 : x->when > y->when ? -1 : 0;
}

json_t *
apx_summary(struct apx *p)
{
	struct apx_dev **failing;
	json_t *o = NULL, *errors, *e;
	char when[32];
	size_t i, n = 0;

	pthread_mutex_lock(&p->mu);
	if ((failing = calloc(p->ndevs + 1, sizeof(*failing))) == NULL ||
	    (errors = json_array()) == NULL)
		goto out;
	for (i = 0; i < p->ndevs; i++)
		if (p->devs[i]->failing || !p->devs[i]->collect)
			failing[n++] = p->devs[i];
	qsort(failing, n, sizeof(*failing), apx_cmp_when);
	for (i = 0; i < n && i < APX_MAX_ERRORS; i++) {
		apx_rfc3339(failing[i]->when, when, sizeof(when));
		e = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id",
		    (json_int_t)failing[i]->s.id, "name", failing[i]->s.name,
		    "code", failing[i]->failing ? failing[i]->code : "hostkey",
		    "message", failing[i]->failing ? failing[i]->message :
		    "the host key changed: collection stopped until an "
		    "administrator trusts the new key", "time", when);
		if (e != NULL)
			json_array_append_new(errors, e);
	}
	o = json_pack("{s:I, s:I, s:o}", "devices", (json_int_t)p->ndevs,
	    "failing", (json_int_t)n, "errors", errors);
out:
	pthread_mutex_unlock(&p->mu);
	free(failing);
	return o;
}

void
apx_free(struct apx *p)
{
	struct timespec ts;
	struct apx_dev *d;
	unsigned int i;
	size_t k;
	int left = 0;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->sched_cond);
	pthread_cond_broadcast(&p->work_cond);
	pthread_mutex_unlock(&p->mu);
	if (p->sched_started)
		pthread_join(p->sched, NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += APX_STOP_WAIT;
	for (i = 0; i < p->parallel && p->workers != NULL; i++) {
		if (!p->workers[i].started)
			continue;
		if (pthread_timedjoin_np(p->workers[i].t, NULL, &ts) != 0) {
			left++;
			continue;
		}
		p->workers[i].started = 0;
		hc_free(p->workers[i].hc);
		hd_free(&p->workers[i].hd);
	}
	if (left > 0) {
		/* They hold the shared state: it stays for the process's
		 * exit, which ends them. */
		vg_log(VG_LOG_WARN, "proxy: %d collections still running at "
		    "exit", left);
		return;
	}
	free(p->workers);
	while ((d = apx_dequeue(p)) != NULL)
		if (d->gone)
			apx_dev_free(d);
	for (k = 0; k < p->ndevs; k++)
		apx_dev_free(p->devs[k]);
	free(p->devs);
	for (k = 0; k < p->nprofiles; k++) {
		free(p->profiles[k].name);
		proxy_profile_free(p->profiles[k].prof);
	}
	free(p->profiles);
	hd_free(&p->hd);
	apx_str_free(&p->credential);
	free(p->ca_file);
	free(p->data_dir);
	free(p->profiles_dir);
	pthread_cond_destroy(&p->sched_cond);
	pthread_cond_destroy(&p->work_cond);
	pthread_cond_destroy(&p->done_cond);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->pmu);
	free(p);
}
