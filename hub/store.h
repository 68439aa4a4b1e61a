/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef HUB_STORE_H
#define HUB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vg_item.h"

/*
 * The hub's storage interface. Everything above it (the API, the
 * housekeeping thread) goes through these functions and makes no
 * assumption about the database behind them: SQLite (store_sqlite.c) now,
 * PostgreSQL later for several hubs sharing one database. A backend is a
 * struct hub_store_ops; hub_store_open() picks one from the location.
 *
 * Threads: every function may be called from any thread at the same time;
 * a backend serialises what it must (the SQLite backend keeps one
 * connection per thread). Every function may block on disk I/O.
 *
 * Errors: 0 or a negative VG_ERR_* code; VG_ERR_NOTFOUND when the object
 * does not exist, VG_ERR_INVAL with a message for a constraint (a user or
 * group name already taken ...). err/errlen receive a message; they may be
 * NULL/0.
 *
 * Read functions return JSON objects (jansson) with the field names the
 * API answers with, documented at each function; the caller owns the
 * reference. Times are integers, seconds since the epoch (UTC), unless
 * named *_ns or *_ms.
 *
 * Durability: a function that writes returns only after the write is
 * committed to stable storage (fsync), so anything acknowledged to a
 * client survives a crash of the hub. The one exception is
 * device_touch(), which may be cached in memory and written in bulk.
 */

enum hs_role {
	HS_ROLE_ADMIN = 1,         /* everything */
	HS_ROLE_READONLY = 2,      /* reads only */
	HS_ROLE_ENROL = 3,         /* the agent enrolment account: register */
};

/* Event types as stored (the "type" field of events in JSON names them). */
enum hs_event_type {
	HS_EV_ADDED = 1,           /* change events, as enum vg_change_type */
	HS_EV_REMOVED = 2,
	HS_EV_CHANGED = 3,
	HS_EV_OFFLINE = 10,        /* device missed its polls ("offline") */
	HS_EV_ONLINE = 11,         /* device is back ("online") */
	HS_EV_AGENT = 12,          /* agent health: watch limit, overflow,
	                              collection error ("agent") */
	HS_EV_CLONE = 13,          /* a second machine registered with this
	                              device's unique id ("clone") */
	HS_EV_REGISTERED = 14,     /* device registered ("registered") */
};

/* "added", "removed", "changed", "offline", "online", "agent", "clone",
 * "registered"; NULL for others. hs_event_type_parse() maps back; returns
 * 0 or VG_ERR_INVAL. */
const char *hs_event_type_name(int type);
int hs_event_type_parse(const char *s, int *type);
/* "admin", "readonly", "enrol" and back. */
const char *hs_role_name(int role);
int hs_role_parse(const char *s, int *role);

/* ---- inputs ---- */

/* What an agent says about itself when it registers. */
struct hs_register {
	const char *name;          /* device name (prefix/suffix applied) */
	const char *hostname;
	const char *os;            /* "Debian GNU/Linux 12 (bookworm)" */
	const char *machine_id;    /* the machine's unique id */
	const char *agent_version;
	const char *ips_json;      /* JSON array of strings, as sent */
	const char *macs_json;     /* JSON array of strings, lower case */
	int poll_period;
	const unsigned char *cred_hash; /* SHA-256 of the new credential */
	const char *peer;          /* source address of the request */
	/* Telling the machine's own agent from someone else who knows its
	 * machine id and host name (see device_register): */
	const unsigned char *old_cred_hash; /* SHA-256 of the secret of the
	                              credential the agent holds, as
	                              hub_auth_agent_cred_hash() makes it;
	                              NULL when it sent none */
	int64_t now;               /* time of the request; 0: the clock */
	int default_poll_period;   /* for devices that stored none */
	int offline_grace;         /* seconds past a device's poll period */
};

/* What device_register() did. */
struct hs_register_result {
	int64_t device_id;
	int created;               /* 1: a new device; 0: the same machine
	                              registered again (credential replaced) */
	int with_credential;       /* created == 0: 1 when the agent gave
	                              the device's credential, 0 when it
	                              had none but the device was not alive */
	int64_t clone_of;          /* >0: the unique id belongs to that other
	                              device: a cloned machine. A new device
	                              was made and a clone event stored on
	                              both. */
	int clone_alive;           /* clone_of > 0: 1 when the other device
	                              has the same host name or a MAC in
	                              common but is alive and no valid
	                              credential of it was given; 0 when
	                              they share only the machine id */
};

/* One event sent by an agent. */
struct hs_event_in {
	int64_t device_id;
	uint64_t seq;              /* the id the agent gave it: unique per
	                              device, the idempotency key */
	int64_t time_ns;           /* when the agent saw it */
	int origin;                /* 0 scan, 1 realtime */
	int type;                  /* HS_EV_* */
	const struct vg_change *change; /* ADDED/REMOVED/CHANGED: the change
	                              (kind, path, old, new, diff) */
	const char *message;       /* AGENT events: text; else NULL */
	const char *path;          /* AGENT events: path concerned or NULL */
};

/* The state filter of an events query. */
enum hs_event_state {
	HS_STATE_NEW = 1,          /* neither acknowledged nor accepted */
	HS_STATE_ACKED = 2,        /* acknowledged, not accepted */
	HS_STATE_ACCEPTED = 3,     /* accepted into the hub's baseline */
};

/* No search budget: event_query() searches until it has limit events or
 * has looked at the oldest event (exports). */
#define HS_NO_BUDGET (-1)

/* Filters of an events query; zero/NULL fields do not filter. */
struct hs_event_filter {
	int64_t device_id;
	int64_t group_id;
	int64_t since;             /* received at or after, seconds */
	int64_t until;             /* received before, seconds */
	int type;                  /* HS_EV_*, 0 = any */
	int state;                 /* HS_STATE_*, 0 = any */
	const char *text;          /* substring of the path; ASCII letters
	                              match without regard to case, other
	                              bytes exactly */
	int64_t before_id;         /* cursor: only ids < before_id */
	int limit;                 /* 1..1000 */
	int budget_ms;             /* milliseconds after which no further
	                              window of ids is searched (0: one
	                              window), or HS_NO_BUDGET */
};

struct hs_device_filter {
	int64_t group_id;
	int kind;                  /* 0 any, 1 agent devices, 2 proxied */
	int status;                /* 0 any, 1 online, 2 offline */
	const char *os;            /* substring of os */
	const char *text;          /* substring of name or host name */
	int64_t seen_before;       /* last contact before, seconds */
	int64_t seen_after;        /* last contact at or after, seconds */
	int64_t after_id;          /* cursor: only ids > after_id */
	int limit;                 /* 1..1000 */
};


/* ---- proxied devices (collected by a proxy agent) ---- */

enum hs_device_kind {
	HS_KIND_AGENT = 0,         /* an agent's own device ("agent") */
	HS_KIND_PROXIED = 1,       /* collected by a proxy ("proxied") */
};

enum hs_proxied_type {
	HS_PT_NETWORK = 1,         /* profile-driven config capture */
	HS_PT_LINUX = 2,           /* files and system items over SSH exec */
	HS_PT_WINDOWS = 3,         /* registry and files over SMB (no host
	                              key, a password to log in with) */
};

enum hs_host_key_state {
	HS_HK_UNKNOWN = 0,         /* none recorded: next contact trusts */
	HS_HK_TRUSTED = 1,
	HS_HK_CHANGED = 2,         /* the device offered another key:
	                              collection stopped */
};

/* Keep markers for proxied_update(): NULL strings and these values leave
 * a field as it is. */
#define HS_KEEP (-1)

struct hs_proxied {
	const char *name;
	int ptype;                 /* HS_PT_* (HS_KEEP in updates) */
	const char *host;
	int port;                  /* 1..65535 */
	int protocol;              /* 1 ssh, 2 telnet, 3 smb (enum
	                              proxy_protocol); smb for windows and
	                              windows over smb only */
	const char *profile;       /* network: profile name; else NULL */
	int64_t credential_id;     /* >0; HS_KEEP in updates */
	int64_t proxy_id;          /* the proxy agent's own device; HS_KEEP */
	int schedule;              /* seconds between collections (stored as
	                              poll_period) */
	int legacy_ssh;            /* 0/1 (0 for windows); HS_KEEP */
};

/* A collection result from a proxy (see POST /agent/proxied/{id}/result). */
struct hs_result {
	int status;                /* 0 ok, 1 error, 2 hostkey_changed */
	int64_t time;              /* when collected, seconds */
	const char *host_key;      /* fingerprint seen, NULL for Telnet and
	                              SMB */
	const char *sha256;        /* ok, network: hex SHA-256 of significant */
	const char *config;        /* ok, network: the normalised document, or
	                              NULL when sha256 is the stored one */
	size_t config_len;
	const char *significant;   /* its significant view (with config) */
	size_t significant_len;
	int64_t lines;
	const char *code;          /* error: connect, timeout, auth, ... */
	const char *message;       /* error: text */
	int64_t now;               /* 0: the clock */
};

struct hs_result_out {
	int64_t version;           /* the device's config version after */
	int changed;               /* 1 when a new version was stored */
	int64_t event_id;          /* the change or alert event, 0 if none */
	int host_key_state;        /* HS_HK_* after */
	int config_required;       /* 1: config omitted but sha256 is not the
	                              stored one (nothing was stored) */
};

struct hub_store;

struct hub_store_ops {
	const char *name;
	void (*close)(struct hub_store *s);

	/* ---- users ---- */
	/* Creates a user; VG_ERR_INVAL if the name is taken. pwhash is a
	 * libsodium crypto_pwhash_str() string. */
	int (*user_create)(struct hub_store *s, const char *name,
	    const char *pwhash, int role, int64_t *id, char *err, size_t errlen);
	/* {"id", "name", "role", "created", "disabled", "pwhash"} by name or
	 * id; pwhash is for the auth module only, never sent out. */
	int (*user_get_by_name)(struct hub_store *s, const char *name,
	    json_t **out, char *err, size_t errlen);
	int (*user_get)(struct hub_store *s, int64_t id, json_t **out,
	    char *err, size_t errlen);
	/* Array of users without pwhash, by id. */
	int (*user_list)(struct hub_store *s, json_t **out, char *err,
	    size_t errlen);
	/* Changes what is given: role (0 = keep), pwhash (NULL = keep),
	 * disabled (-1 = keep). A new password, another role or disabling
	 * deletes every session of the user, in the same transaction. */
	int (*user_update)(struct hub_store *s, int64_t id, int role,
	    const char *pwhash, int disabled, char *err, size_t errlen);
	/* Deletes the user and their sessions. */
	int (*user_delete)(struct hub_store *s, int64_t id, char *err,
	    size_t errlen);

	/* ---- sessions (token_hash: SHA-256 of the token, 32 bytes) ---- */
	int (*session_create)(struct hub_store *s, const unsigned char *token_hash,
	    int64_t user_id, const char *csrf, int64_t created, int64_t expires,
	    const char *peer, char *err, size_t errlen);
	/* {"user_id", "csrf", "created", "expires", "last_used"} */
	int (*session_get)(struct hub_store *s, const unsigned char *token_hash,
	    json_t **out, char *err, size_t errlen);
	int (*session_touch)(struct hub_store *s, const unsigned char *token_hash,
	    int64_t now, char *err, size_t errlen);
	int (*session_delete)(struct hub_store *s,
	    const unsigned char *token_hash, char *err, size_t errlen);
	/* Deletes sessions past expiry or idle longer than idle seconds. */
	int (*session_purge)(struct hub_store *s, int64_t now, int64_t idle,
	    char *err, size_t errlen);

	/* ---- devices ---- */
	/*
	 * Registers an agent's own device. A device of the same machine
	 * (same machine_id, and the same host name or at least one MAC in
	 * common: hs_same_machine()) is given back, with the new credential
	 * replacing its old one and a "registered" event saying so, when
	 * the agent proves it is that device's (old_cred_hash is the
	 * device's current credential) or when the device is not alive: its
	 * last poll (or registration) is more than its poll_period
	 * (default_poll_period if none) plus offline_grace seconds before
	 * now, so its agent is gone (reinstalled, say). Otherwise a new
	 * device is made, and if the machine id is known it is a clone
	 * (see hs_register_result): the living device keeps its
	 * credential. Polls buffered in memory count as polls. Atomic: two
	 * registrations of one machine at once make one device.
	 */
	int (*device_register)(struct hub_store *s, const struct hs_register *in,
	    struct hs_register_result *res, char *err, size_t errlen);
	/* The credential hash and state of an agent, for authentication:
	 * {"id", "cred_hash" (hex), "deleted"}; VG_ERR_NOTFOUND if none. */
	int (*agent_auth)(struct hub_store *s, int64_t agent_id, json_t **out,
	    char *err, size_t errlen);
	/* Whether device_id belongs to agent_id (the agent's own device, or
	 * one it proxies): 0 yes, VG_ERR_PERM no, VG_ERR_NOTFOUND no device. */
	int (*device_owned)(struct hub_store *s, int64_t agent_id,
	    int64_t device_id);
	/* The highest event id (seq) stored for the device, 0 if none: a
	 * re-registering agent that lost its queue continues above it, so
	 * its new events are not taken for re-sent ones. */
	int (*device_last_seq)(struct hub_store *s, int64_t device_id,
	    uint64_t *seq, char *err, size_t errlen);
	/* {"id", "agent_id", "name", "hostname", "os", "machine_id",
	 *  "agent_version", "ips" [..], "macs" [..], "poll_period",
	 *  "created", "last_seen", "online" (bool), "clone_of",
	 *  "groups": [{"id", "name"}], "peer", "kind" ("agent" or
	 *  "proxied")} and, for a proxied device (whose agent_id is its
	 *  proxy, poll_period its schedule), "proxied": {"type", "host",
	 *  "port", "protocol", "profile", "credential_id", "credential",
	 *  "proxy_id", "proxy", "schedule", "legacy_ssh", "host_key",
	 *  "host_key_state" ("unknown", "trusted", "changed"),
	 *  "host_key_offered", "last_collect", "last_error",
	 *  "config_version"} */
	int (*device_get)(struct hub_store *s, int64_t id, json_t **out,
	    char *err, size_t errlen);
	/* Array of device objects as above, by id ascending, after the
	 * cursor. */
	int (*device_list)(struct hub_store *s, const struct hs_device_filter *f,
	    json_t **out, char *err, size_t errlen);
	/* Deletes the device, its events and memberships. Its credential
	 * stops working first (committed before anything else); the events
	 * then go a few thousand per transaction, so agents' writes get in
	 * between. If it fails half-way, the device is left without a
	 * credential and with part of its events; deleting again finishes
	 * the job. A proxy's device that still has proxied devices is not
	 * deleted: VG_ERR_INVAL naming how many. */
	int (*device_delete)(struct hub_store *s, int64_t id, char *err,
	    size_t errlen);
	/* Records a poll: last_seen = now. May be buffered in memory and
	 * written within a few seconds (not durable). If the device was
	 * offline, marks it online and stores an ONLINE event (durable). */
	int (*device_touch)(struct hub_store *s, int64_t id, int64_t now,
	    char *err, size_t errlen);
	/* Marks offline every online device that is late, and stores an
	 * OFFLINE event for each; *count = how many. A device is late when
	 * its last poll (buffered ones included; its registration if it
	 * never polled) plus its own poll_period (default_period when it
	 * has none) plus grace is before now. since is when the hub
	 * started: no device could poll before, so a last poll older than
	 * since counts as since. */
	int (*devices_mark_offline)(struct hub_store *s, int64_t now,
	    int64_t since, int default_period, int grace, int *count,
	    char *err, size_t errlen);
	/* Writes buffered device_touch() values; called periodically and at
	 * shutdown. */
	int (*flush)(struct hub_store *s, char *err, size_t errlen);

	/* ---- groups and policies ---- */
	int (*group_create)(struct hub_store *s, const char *name, int64_t *id,
	    char *err, size_t errlen);
	/* {"id", "name", "devices" (count), "policy_version"} */
	int (*group_get)(struct hub_store *s, int64_t id, json_t **out,
	    char *err, size_t errlen);
	int (*group_list)(struct hub_store *s, json_t **out, char *err,
	    size_t errlen);
	int (*group_rename)(struct hub_store *s, int64_t id, const char *name,
	    char *err, size_t errlen);
	int (*group_delete)(struct hub_store *s, int64_t id, char *err,
	    size_t errlen);
	/* Adds (add=1) or removes a device from a group; idempotent. */
	int (*group_member)(struct hub_store *s, int64_t group_id,
	    int64_t device_id, int add, char *err, size_t errlen);
	/* The group's policy document (JSON object, as validated by the API)
	 * and its version (starts at 0 = none, +1 per change). */
	int (*policy_get)(struct hub_store *s, int64_t group_id, json_t **out,
	    int64_t *version, char *err, size_t errlen);
	int (*policy_set)(struct hub_store *s, int64_t group_id,
	    const json_t *policy, int64_t *version, char *err, size_t errlen);
	/* The policies of every group the device is in, by group id:
	 * [{"group_id", "group", "version", "policy"}], for merging. */
	int (*device_policies)(struct hub_store *s, int64_t device_id,
	    json_t **out, char *err, size_t errlen);

	/* ---- events ---- */
	/*
	 * Stores a batch in one transaction. stored[i] is set to 1 for an
	 * event stored now, 2 for one already stored earlier (same device
	 * and seq: a re-sent batch), 0 if it was not stored. Returns after
	 * the batch is durable.
	 */
	int (*events_insert)(struct hub_store *s, const struct hs_event_in *ev,
	    size_t n, int64_t received, unsigned char *stored, char *err,
	    size_t errlen);
	/*
	 * One page of events, newest first (id descending), as the object
	 * {"events": [summary...], "next": id or null, "partial": bool,
	 *  "searched_to": seconds or null}. A summary is
	 * {"id", "device_id", "device", "seq", "time" (RFC 3339 of time_ns),
	 *  "received", "type", "origin", "kind", "path" (+ "path_b64"),
	 *  "changed": [...], "message", "state" ("new", "acknowledged",
	 *  "accepted")}.
	 *
	 * The search walks the ids downwards from before_id in windows of
	 * 32,768 ids (skipping empty stretches; along the device's own events
	 * when device_id is set) and stops when it has limit events, when no
	 * older event is left, or, at the end of a window, once budget_ms
	 * have passed: then "partial" is true. "next" is the before_id that
	 * continues the search (null when there is nothing older) and
	 * "searched_to" the received time of the oldest event looked at,
	 * when next is not null. since and until are turned into id bounds
	 * through the received index, on the assumption that received times
	 * are never out of id order by more than two minutes; the received
	 * conditions themselves are applied exactly. Each window is its own
	 * statement: no read transaction stays open across windows or
	 * calls, so a slow caller never holds up the writers or the WAL.
	 */
	int (*event_query)(struct hub_store *s, const struct hs_event_filter *f,
	    json_t **out, char *err, size_t errlen);
	/* A summary plus "old", "new" (attribute objects as in
	 * docs/protocol.md), "diff", "diff_truncated", "ack_by", "ack_at",
	 * "comment", "accepted_by", "accepted_at". */
	int (*event_get)(struct hub_store *s, int64_t id, json_t **out,
	    char *err, size_t errlen);
	/* Acknowledges with a comment (may be ""). */
	int (*event_ack)(struct hub_store *s, int64_t id, const char *user,
	    const char *comment, int64_t now, char *err, size_t errlen);
	/* Accepts a change into the device's baseline on the hub: the item's
	 * accepted state becomes the event's new attributes (or is dropped
	 * for a removal). VG_ERR_INVAL for events that are not changes. */
	int (*event_accept)(struct hub_store *s, int64_t id, const char *user,
	    int64_t now, char *err, size_t errlen);
	/* Deletes up to limit events received before cutoff; *deleted =
	 * how many. Short transactions, so ingest is never held up long. */
	int (*events_purge)(struct hub_store *s, int64_t cutoff, int limit,
	    int *deleted, char *err, size_t errlen);

	/* ---- audit log ---- */
	/* who: user name; what: action ("user.create" ...); target: object
	 * ("user 3"); detail: optional JSON object (never secrets). */
	int (*audit_add)(struct hub_store *s, const char *who, const char *peer,
	    const char *what, const char *target, const json_t *detail,
	    int64_t now, char *err, size_t errlen);
	/* [{"id", "time", "user", "peer", "action", "target", "detail"}],
	 * newest first, ids < before_id (0 = from the newest). */
	int (*audit_list)(struct hub_store *s, int64_t before_id, int limit,
	    json_t **out, char *err, size_t errlen);

	/* ---- settings: small named values ---- */
	/* *value is malloc'd (caller frees); VG_ERR_NOTFOUND if unset. */
	int (*setting_get)(struct hub_store *s, const char *key, char **value,
	    char *err, size_t errlen);
	int (*setting_set)(struct hub_store *s, const char *key,
	    const char *value, char *err, size_t errlen);

	/* Numbers for health and benchmarks: {"devices", "events",
	 * "db_bytes"}. */
	int (*stats)(struct hub_store *s, json_t **out, char *err,
	    size_t errlen);

	/*
	 * The console's overview, from a rollup of event counts by (hour of
	 * receipt, device, type) that the store keeps in step with every
	 * insert and delete of an event, so its cost does not grow with the
	 * number of events. from: the start of the window (a multiple of
	 * bucket), bucket: 3600 or 86400, now: the current time. *out is
	 * {"devices": {"total", "online", "offline"},
	 *  "events": {"total"},
	 *  "changes": {"bucket", "points": [{"t", "added", "removed",
	 *   "changed"}]}  (one point per bucket from `from` to now, zeros
	 *   included),
	 *  "top_devices": [{"id", "name", "changes"}]  (the 10 devices with
	 *   the most changes received in the window),
	 *  "latest": [summary]  (the 10 newest change events),
	 *  "problems": [{"device_id", "device", "type", "message", "time",
	 *   "event_id"}]}  (each offline device, with its last offline event;
	 *   and the last agent and clone event of each device received in the
	 *   window, unless acknowledged or accepted; newest first, at most
	 *   100).
	 */
	int (*dashboard)(struct hub_store *s, int64_t from, int bucket,
	    int64_t now, json_t **out, char *err, size_t errlen);

	/* ---- credentials for proxied devices ---- */
	/* box: the sealed secrets (hub/creds.h), never plaintext. Name
	 * taken: VG_ERR_INVAL. */
	int (*credential_create)(struct hub_store *s, const char *name,
	    const char *username, const unsigned char *box, size_t boxlen,
	    int64_t now, int64_t *id, char *err, size_t errlen);
	/* NULL / boxlen 0 keep a field. */
	int (*credential_update)(struct hub_store *s, int64_t id,
	    const char *name, const char *username, const unsigned char *box,
	    size_t boxlen, int64_t now, char *err, size_t errlen);
	/* VG_ERR_INVAL "credential NAME is used by N devices" when in use. */
	int (*credential_delete)(struct hub_store *s, int64_t id, char *err,
	    size_t errlen);
	/* [{"id", "name", "username", "created", "updated", "devices"}] */
	int (*credential_list)(struct hub_store *s, json_t **out, char *err,
	    size_t errlen);
	/* The object above; *box (malloc'd, caller wipes and frees) and
	 * *boxlen when box is not NULL. */
	int (*credential_get)(struct hub_store *s, int64_t id, json_t **out,
	    unsigned char **box, size_t *boxlen, char *err, size_t errlen);

	/* ---- proxied devices ---- */
	/* Creates a proxied device (kind proxied, online = false until its
	 * first good collection). VG_ERR_INVAL when proxy_id is not an
	 * agent device or the credential does not exist. */
	int (*proxied_create)(struct hub_store *s, const struct hs_proxied *in,
	    int64_t now, int64_t *id, char *err, size_t errlen);
	/* Changes the given fields (NULL / HS_KEEP keep; 0, never valid,
	 * keeps an integer too, but legacy_ssh keeps only with HS_KEEP);
	 * VG_ERR_INVAL for an agent device. A new host or port forgets the
	 * host key. */
	int (*proxied_update)(struct hub_store *s, int64_t id,
	    const struct hs_proxied *in, char *err, size_t errlen);
	/* The devices proxy_id collects, by id: [{"id", "name", "type",
	 * "host", "port", "protocol", "profile", "schedule", "legacy_ssh",
	 * "host_key", "collect", "config_sha256", "credential_id",
	 * "credential_updated"}] (protocol and type as strings). */
	int (*proxied_for_proxy)(struct hub_store *s, int64_t proxy_id,
	    json_t **out, char *err, size_t errlen);
	/* Whether device_id is a proxied device collected by proxy_id (the
	 * caller's own device): 0 yes, VG_ERR_PERM no, VG_ERR_NOTFOUND. */
	int (*proxied_owned)(struct hub_store *s, int64_t proxy_id,
	    int64_t device_id);
	/* Everything a collection result does, in one transaction: see
	 * docs/hub.md "Proxied devices" (touch, host key trust on first use
	 * or alert, new config version and change event, error events
	 * without flooding). */
	int (*proxied_result)(struct hub_store *s, int64_t device_id,
	    const struct hs_result *r, struct hs_result_out *o, char *err,
	    size_t errlen);
	/* action "trust" (the offered key becomes the trusted one) or
	 * "forget" (none: the next contact trusts on first use). */
	int (*host_key_set)(struct hub_store *s, int64_t device_id,
	    const char *action, char *err, size_t errlen);
	/* [{"version", "time", "sha256", "lines", "bytes"}], newest first. */
	int (*config_list)(struct hub_store *s, int64_t device_id,
	    json_t **out, char *err, size_t errlen);
	/* {"version", "time", "sha256", "lines", "text", "significant"} */
	int (*config_get)(struct hub_store *s, int64_t device_id,
	    int64_t version, json_t **out, char *err, size_t errlen);
};

struct hub_store {
	const struct hub_store_ops *ops;
};

/*
 * Opens the store at location: a file path (SQLite; created with the
 * current schema if missing, migrated if older, refused if newer) or, in a
 * later release, postgresql://... Returns 0 and *out, or an error with a
 * message.
 */
int hub_store_open(const char *location, struct hub_store **out, char *err,
    size_t errlen);
void hub_store_close(struct hub_store *s);

/* The SQLite backend (store_sqlite.c). */
int hub_store_sqlite_open(const char *path, struct hub_store **out,
    char *err, size_t errlen);

/*
 * The rule both backends use to tell a re-registration from a clone:
 * 1 if the registering machine is the same one as the stored device
 * (same host name, or at least one MAC address in common), else 0.
 * Anyone can claim a host name and a MAC: device_register() asks more
 * before it hands a device over.
 */
int hs_same_machine(const char *stored_hostname, const char *stored_macs_json,
    const char *hostname, const char *macs_json);

#endif
