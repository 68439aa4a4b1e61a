/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef HUB_AUTH_H
#define HUB_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "http.h"

/*
 * Authentication of the hub: Argon2id password hashes (libsodium),
 * random tokens, agent credentials, the lockout of addresses and accounts
 * after repeated failures, and the enrolment password cache. The API
 * (api.c) calls hub_auth_request() for every request; the rules are in
 * docs/api/openapi.yaml.
 */

/* Calls sodium_init(); creates h->auth. Returns 0 or an error. */
int hub_auth_init(struct hub *h);
void hub_auth_free(struct hub *h);

/*
 * Argon2id hash of password into out (crypto_pwhash_STRBYTES). At most
 * two run at once and at most two more callers wait for their turn, each
 * for a second at most: a thread of the server is never held longer.
 * Returns 0, VG_ERR_BUSY when no turn came (answer 503), or
 * VG_ERR_NOMEM. Blocks ~50 ms, up to a second more when busy.
 */
int hub_auth_hash_password(const char *password, char *out, size_t outlen);
/* 0 when password matches hash, VG_ERR_PERM when not, VG_ERR_BUSY when
 * no turn to hash came in time (as above; nothing was checked). */
int hub_auth_check_password(const char *hash, const char *password);

/* A random printable secret of n characters from [A-Za-z0-9] (for
 * generated passwords). out must hold n+1 bytes. */
void hub_auth_random_password(char *out, size_t n);

/* A new token "PREFIX<43 base64url chars>" in out (≥ 64 bytes) and the
 * SHA-256 of the whole string in hash. */
void hub_auth_new_token(const char *prefix, char *out, size_t outlen,
    unsigned char hash[32]);
void hub_auth_sha256(const char *s, unsigned char hash[32]);

/* ---- additions: request authentication, lockout, enrolment cache ---- */

/* What a route needs from the client (api.c's route table). */
enum hub_auth_need {
	HUB_AUTH_NONE = 0,         /* nothing: health, sign-in */
	HUB_AUTH_ENROL,            /* HTTP Basic of an enrolment account */
	HUB_AUTH_AGENT,            /* Authorization: Bearer va1.<id>.<secret> */
	HUB_AUTH_USER,             /* a console session: Bearer vs1.<secret>
	                              or the vigil_session cookie */
};

/*
 * Authenticates rq as need asks and fills rq->who. Returns 0, or fills rs
 * with the answer (401 with WWW-Authenticate, 403 for a credential of the
 * wrong kind, 429 with Retry-After while locked out, 500) and returns -1.
 * Failed password checks count towards the lockout and are audited. May
 * block (store, Argon2id).
 */
int hub_auth_request(struct hub_req *rq, struct hub_resp *rs,
    enum hub_auth_need need);

/*
 * The state of the lockout of one source address and account name. IPv6
 * addresses count by their /64 prefix (one host usually holds a whole
 * /64), IPv4 addresses one by one.
 */
struct hub_lockout {
	int locked;                /* 1: the address or the account is locked */
	int by_account;            /* 1: it is the account (else the address) */
	int retry_after;           /* seconds until the lockout ends */
	int started;               /* 1: this failure started a lockout */
	int crowded;               /* 1 (with locked): not locked yet, but the
	                              checks in progress could reach the limit;
	                              retry_after is short */
};

/* Outcomes of hub_auth_password(). */
enum hub_pw_result {
	HUB_PW_OK = 0,             /* *user holds the account */
	HUB_PW_WRONG,              /* unknown user or bad password (counted) */
	HUB_PW_LOCKED,             /* locked out: not checked at all */
	HUB_PW_ERROR,              /* store failure; message in err */
	HUB_PW_BUSY,               /* no turn to hash in time: not checked,
	                              not counted; hub_auth_busy_answer() */
};

/*
 * Checks a user name and password the way every sign-in does: refused at
 * once while peer or name is locked out (lk says which and for how long),
 * or while the failures counted plus the checks in progress for either
 * reach lockout_attempts (lk->crowded), so that attempts made at once
 * cannot together go past the limit. Otherwise the Argon2id check (a
 * dummy one for an unknown name, so the time does not tell whether it
 * exists). A failure is counted for peer and name (lk->started when it
 * starts a lockout); a success clears the count of the account only, never
 * the address's (else one right password would let an address guess on).
 * HUB_PW_BUSY when no turn to hash came in time: nothing is counted. On
 * HUB_PW_OK *user is the store's user object (with "pwhash"; caller
 * json_decref()s). Disabled accounts and roles are the caller's business.
 * Blocks ~50 ms, up to a second more when busy.
 */
enum hub_pw_result hub_auth_password(struct hub *h, const char *peer,
    const char *name, const char *password, json_t **user,
    struct hub_lockout *lk, char *err, size_t errlen);

/* Whether peer or name is locked out now (lk filled), without counting. */
int hub_auth_lock_check(struct hub *h, const char *peer, const char *name,
    struct hub_lockout *lk);
/* Counts one failed password check for peer and name; lk as above. */
void hub_auth_lock_fail(struct hub *h, const char *peer, const char *name,
    struct hub_lockout *lk);

/* Fills rs with the 429 "locked" answer and its Retry-After header. */
void hub_auth_locked_answer(struct hub_resp *rs, const struct hub_lockout *lk,
    const char *peer, const char *name);

/* Fills rs with the answer to HUB_PW_BUSY: 503 "unavailable" with a short
 * Retry-After. */
void hub_auth_busy_answer(struct hub_resp *rs);

/*
 * Forgets the enrolment passwords remembered after a successful check.
 * Call it after every committed change of an account's password, role or
 * state (disabled, deleted), and of the enrolment account's password: a
 * check already running when it is called does not remember its password
 * afterwards either.
 */
void hub_auth_enrol_clear(struct hub *h);

/*
 * Whether a request carries a valid credential, from its Authorization
 * header and its vigil_session cookie (either may be NULL): an agent
 * credential, or a session token that has not expired. For deciding how
 * much of a body to accept before the request is handled: no side
 * effects (a session is neither renewed nor ended, nothing is counted
 * or audited), one SHA-256 and one store lookup. Returns 1 valid, 0 not
 * (or none), or a negative error when the store fails. May block (store).
 */
int hub_auth_peek(struct hub *h, const char *authorization,
    const char *cookie);

/*
 * The hash stored for an agent credential "va1.<id>.<secret>". Returns 0,
 * or VG_ERR_INVAL when cred is not of that form.
 */
int hub_auth_agent_cred_hash(const char *cred, unsigned char hash[32]);

/* 1 when name is a valid user name: 1..64 of [A-Za-z0-9._@-]. */
int hub_auth_name_valid(const char *name);

#endif
