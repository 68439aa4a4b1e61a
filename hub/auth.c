/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "vg_err.h"
#include "vg_hash.h"
#include "vg_util.h"

#include "api.h"
#include "auth.h"
#include "store.h"

/* OWASP's Argon2id setting: 19 MiB, 2 passes. */
#define PWHASH_OPSLIMIT 2
#define PWHASH_MEMLIMIT ((size_t)19 * 1024 * 1024)
/* At most this many hashes at once, so memory stays bounded. */
#define PWHASH_PARALLEL 2
/* At most this many callers wait for a turn, each at most PWHASH_WAIT_MS:
 * a flood of sign-ins must not hold every thread of the server. */
#define PWHASH_QUEUE 2
#define PWHASH_WAIT_MS 1000
/* Retry-After of an answer refused for want of a turn to hash. */
#define PWHASH_RETRY_AFTER 1

/* Lockout tables: this many entries each, searched PROBE slots from the
 * hash of the key. A flood of addresses evicts the oldest entries instead
 * of growing the table. */
#define LOCK_SLOTS 8192
#define LOCK_PROBE 16

/* Enrolment passwords remembered after an Argon2id check. */
#define ENROL_CACHE 4

/* A token's secret: 32 random bytes, 43 characters of base64url. */
#define SECRET_BYTES 32
#define SECRET_CHARS 43

/* Sessions are written back at most this often when used. */
#define SESSION_TOUCH_EVERY 30

/* The failures of one source address, or against one account name. */
struct lock_entry {
	uint64_t key;              /* keyed hash of the address/name; 0 free */
	int64_t window_start;      /* first failure counted */
	int64_t last;              /* latest failure */
	int64_t locked_until;
	int fails;                 /* failures since window_start */
	int pending;               /* password checks in progress */
};

struct enrol_entry {
	int used;
	int64_t user_id;
	char name[128];
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
};

struct hub_auth {
	pthread_mutex_t mu;
	unsigned char lock_key[crypto_shorthash_KEYBYTES];
	struct lock_entry by_addr[LOCK_SLOTS];
	struct lock_entry by_name[LOCK_SLOTS];
	unsigned char enrol_key[crypto_auth_hmacsha256_KEYBYTES];
	struct enrol_entry enrol[ENROL_CACHE];
	int enrol_next;
	/* Bumped by every hub_auth_enrol_clear(): a check that started
	 * before remembers nothing. */
	uint64_t enrol_gen;
	/* Checked against when a user name is unknown, so that an unknown
	 * name costs as much time as a wrong password. */
	char dummy_hash[crypto_pwhash_STRBYTES];
};

/* The counting semaphore of password hashing; static so that it works
 * before hub_auth_init() (vigil-hub init hashes first). */
static pthread_mutex_t pw_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pw_cv;
static pthread_once_t pw_once = PTHREAD_ONCE_INIT;
static int pw_running, pw_waiting;

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ok;

static void
sodium_start(void)
{
	sodium_ok = sodium_init() >= 0;
}

static int
ensure_sodium(void)
{
	pthread_once(&sodium_once, sodium_start);
	return sodium_ok ? 0 : VG_ERR_CRYPTO;
}

/* The wait is timed on the monotonic clock: setting the wall clock must
 * not stretch it. */
static void
pw_init(void)
{
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca) == 0) {
		(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (pthread_cond_init(&pw_cv, &ca) == 0) {
			pthread_condattr_destroy(&ca);
			return;
		}
		pthread_condattr_destroy(&ca);
	}
	/* Cannot fail on Linux; if it did, the default attributes. */
	(void)pthread_cond_init(&pw_cv, NULL);
}

/*
 * Takes a turn to hash: 0, or VG_ERR_BUSY when PWHASH_QUEUE callers wait
 * already or no turn comes within PWHASH_WAIT_MS.
 */
static int
pw_enter(void)
{
	struct timespec until;
	int r = 0;

	pthread_once(&pw_once, pw_init);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += PWHASH_WAIT_MS / 1000;
	until.tv_nsec += (long)(PWHASH_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&pw_mu);
	if (pw_running >= PWHASH_PARALLEL && pw_waiting >= PWHASH_QUEUE) {
		pthread_mutex_unlock(&pw_mu);
		return VG_ERR_BUSY;
	}
	pw_waiting++;
	while (pw_running >= PWHASH_PARALLEL) {
		if (pthread_cond_timedwait(&pw_cv, &pw_mu, &until) ==
		    ETIMEDOUT && pw_running >= PWHASH_PARALLEL) {
			r = VG_ERR_BUSY;
			break;
		}
	}
	pw_waiting--;
	if (r == 0)
		pw_running++;
	pthread_mutex_unlock(&pw_mu);
	return r;
}

static void
pw_leave(void)
{
	pthread_mutex_lock(&pw_mu);
	pw_running--;
	pthread_cond_signal(&pw_cv);
	pthread_mutex_unlock(&pw_mu);
}

int
hub_auth_hash_password(const char *password, char *out, size_t outlen)
{
	int rc;

	if (outlen < crypto_pwhash_STRBYTES)
		return VG_ERR_INVAL;
	if (ensure_sodium() != 0)
		return VG_ERR_CRYPTO;
	if (pw_enter() != 0)
		return VG_ERR_BUSY;
	rc = crypto_pwhash_str_alg(out, password, strlen(password),
	    PWHASH_OPSLIMIT, PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13);
	pw_leave();
	/* The only failure is running out of memory. */
	return rc == 0 ? 0 : VG_ERR_NOMEM;
}

int
hub_auth_check_password(const char *hash, const char *password)
{
	int rc;

	if (hash == NULL || password == NULL || ensure_sodium() != 0)
		return VG_ERR_PERM;
	if (pw_enter() != 0)
		return VG_ERR_BUSY;
	rc = crypto_pwhash_str_verify(hash, password, strlen(password));
	pw_leave();
	return rc == 0 ? 0 : VG_ERR_PERM;
}

void
hub_auth_random_password(char *out, size_t n)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t i;

	/* randombytes_*() work even if sodium_init() failed: they open
	 * the system's source themselves. */
	(void)ensure_sodium();
	for (i = 0; i < n; i++)
		out[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[n] = '\0';
}

void
hub_auth_sha256(const char *s, unsigned char hash[32])
{
	if (vg_hash_buffer(VG_HASH_SHA256, s, strlen(s), hash) != 0)
		/* Fail closed: a zero hash matches no stored one (the store
		 * never holds all zeros for a live secret). */
		memset(hash, 0, 32);
}

/* 43 base64url characters of 32 fresh random bytes into out (44 bytes). */
static void
random_secret(char out[SECRET_CHARS + 1])
{
	unsigned char raw[SECRET_BYTES];

	(void)ensure_sodium();
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, SECRET_CHARS + 1, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void
hub_auth_new_token(const char *prefix, char *out, size_t outlen,
    unsigned char hash[32])
{
	char secret[SECRET_CHARS + 1];

	random_secret(secret);
	snprintf(out, outlen, "%s%s", prefix, secret);
	sodium_memzero(secret, sizeof(secret));
	hub_auth_sha256(out, hash);
}

/* 1 when s is exactly SECRET_CHARS characters of base64url. */
static int
secret_valid(const char *s)
{
	size_t i;

	for (i = 0; i < SECRET_CHARS; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return s[SECRET_CHARS] == '\0';
}

/* Splits "va1.<id>.<secret>": the id and where the secret starts. */
static int
parse_agent_cred(const char *cred, int64_t *id, const char **secret)
{
	const char *dot;

	if (strncmp(cred, "va1.", 4) != 0 ||
	    (dot = strchr(cred + 4, '.')) == NULL ||
	    hub_api_parse_id(cred + 4, (size_t)(dot - cred - 4),
	    HUB_API_MAX_ID, id) != 0 || *id == 0 || !secret_valid(dot + 1))
		return VG_ERR_INVAL;
	*secret = dot + 1;
	return 0;
}

/*
 * The agent id is part of the credential, but the device (and so its id)
 * is made by the same store call that takes the hash, so the hash covers
 * the secret part only; the id only selects whose hash to compare with.
 */
int
hub_auth_agent_cred_hash(const char *cred, unsigned char hash[32])
{
	const char *secret;
	int64_t id;

	if (parse_agent_cred(cred, &id, &secret) != 0)
		return VG_ERR_INVAL;
	hub_auth_sha256(secret, hash);
	return 0;
}

int
hub_auth_name_valid(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (i >= 64 || !((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '@' || c == '-'))
			return 0;
	}
	return i > 0;
}

int
hub_auth_init(struct hub *h)
{
	struct hub_auth *a;
	char pw[33];
	int r;

	if (ensure_sodium() != 0)
		return VG_ERR_CRYPTO;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return VG_ERR_NOMEM;
	if (pthread_mutex_init(&a->mu, NULL) != 0) {
		free(a);
		return VG_ERR_NOMEM;
	}
	crypto_shorthash_keygen(a->lock_key);
	crypto_auth_hmacsha256_keygen(a->enrol_key);
	hub_auth_random_password(pw, sizeof(pw) - 1);
	r = hub_auth_hash_password(pw, a->dummy_hash, sizeof(a->dummy_hash));
	sodium_memzero(pw, sizeof(pw));
	if (r != 0) {
		pthread_mutex_destroy(&a->mu);
		free(a);
		return r;
	}
	h->auth = a;
	return 0;
}

void
hub_auth_free(struct hub *h)
{
	if (h == NULL || h->auth == NULL)
		return;
	pthread_mutex_destroy(&h->auth->mu);
	sodium_memzero(h->auth, sizeof(*h->auth));
	free(h->auth);
	h->auth = NULL;
}

/* ---- lockout ---- */

static uint64_t
lock_key(struct hub_auth *a, char kind, const void *s, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	unsigned char buf[300];
	uint64_t k;

	/* The kind keeps an address and a name of the same spelling apart;
	 * long names are cut (the table is a rate limit, not a directory). */
	if (len > sizeof(buf) - 1)
		len = sizeof(buf) - 1;
	buf[0] = (unsigned char)kind;
	memcpy(buf + 1, s, len);
	crypto_shorthash(out, buf, len + 1, a->lock_key);
	memcpy(&k, out, sizeof(k));
	return k == 0 ? 1 : k;
}

/*
 * The key of a source address. One host is commonly given a whole IPv6
 * /64 and may pick any address in it, so IPv6 addresses count by their
 * first 64 bits; IPv4 ones (IPv4-mapped IPv6 included) one by one.
 */
static uint64_t
lock_addr_key(struct hub_auth *a, const char *peer)
{
	struct in6_addr in6;
	char v4[INET_ADDRSTRLEN];

	if (inet_pton(AF_INET6, peer, &in6) != 1)
		return lock_key(a, 'a', peer, strlen(peer));
	if (IN6_IS_ADDR_V4MAPPED(&in6)) {
		if (inet_ntop(AF_INET, &in6.s6_addr[12], v4, sizeof(v4)) ==
		    NULL)
			return lock_key(a, 'a', peer, strlen(peer));
		return lock_key(a, 'a', v4, strlen(v4));
	}
	return lock_key(a, '6', in6.s6_addr, 8);
}

static uint64_t
lock_name_key(struct hub_auth *a, const char *name)
{
	return lock_key(a, 'n', name, strlen(name));
}

/* How a lockout message names the address: "2001:db8:1:2::/64" for IPv6
 * (what is locked), the address itself otherwise. */
static void
lock_addr_text(const char *peer, char *out, size_t outlen)
{
	struct in6_addr in6;
	char text[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, peer, &in6) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED(&in6)) {
		memset(in6.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &in6, text, sizeof(text)) != NULL) {
			snprintf(out, outlen, "%s/64", text);
			return;
		}
	}
	snprintf(out, outlen, "%s", peer);
}

/* Failures within the window that is running (0 once it has passed). */
static int
lock_fails(const struct lock_entry *e, int64_t now, int window)
{
	return e->fails > 0 && now - e->window_start < window ? e->fails : 0;
}

/* An entry that holds nothing worth keeping. */
static int
lock_idle(const struct lock_entry *e, int64_t now, int window)
{
	return e->key == 0 || (e->locked_until <= now && e->pending == 0 &&
	    lock_fails(e, now, window) == 0);
}

/*
 * The entry of key in table, or NULL when absent and !create. A new entry
 * takes a free or idle slot in the probe range, else the one unlocked for
 * the longest, else the oldest lockout.
 */
static struct lock_entry *
lock_find(struct lock_entry *table, uint64_t key, int create, int64_t now,
    int window)
{
	struct lock_entry *e, *victim = NULL;
	size_t i, slot;

	for (i = 0; i < LOCK_PROBE; i++) {
		slot = (size_t)(key + i) & (LOCK_SLOTS - 1);
		if (table[slot].key == key)
			return &table[slot];
	}
	if (!create)
		return NULL;
	for (i = 0; i < LOCK_PROBE; i++) {
		e = &table[(size_t)(key + i) & (LOCK_SLOTS - 1)];
		if (lock_idle(e, now, window)) {
			victim = e;
			break;
		}
		if (victim == NULL ||
		    (e->locked_until <= now && (victim->locked_until > now ||
		    e->last < victim->last)) ||
		    (e->locked_until > now && victim->locked_until > now &&
		    e->locked_until < victim->locked_until))
			victim = e;
	}
	memset(victim, 0, sizeof(*victim));
	victim->key = key;
	return victim;
}

static void
lock_state(const struct lock_entry *addr, const struct lock_entry *name,
    int64_t now, struct hub_lockout *lk)
{
	int64_t until = 0;

	lk->locked = 0;
	lk->by_account = 0;
	lk->retry_after = 0;
	lk->crowded = 0;
	if (name != NULL && name->locked_until > now) {
		until = name->locked_until;
		lk->by_account = 1;
	}
	if (addr != NULL && addr->locked_until > now &&
	    addr->locked_until > until) {
		until = addr->locked_until;
		lk->by_account = 0;
	}
	if (until > now) {
		lk->locked = 1;
		lk->retry_after = (int)(until - now);
	}
}

int
hub_auth_lock_check(struct hub *h, const char *peer, const char *name,
    struct hub_lockout *lk)
{
	struct hub_auth *a = h->auth;
	int64_t now = hub_now();

	memset(lk, 0, sizeof(*lk));
	if (h->conf.lockout_attempts <= 0)
		return 0;
	pthread_mutex_lock(&a->mu);
	lock_state(lock_find(a->by_addr, lock_addr_key(a, peer), 0, now, 0),
	    lock_find(a->by_name, lock_name_key(a, name), 0, now, 0), now, lk);
	pthread_mutex_unlock(&a->mu);
	return lk->locked;
}

/*
 * Counts a failure in e. The window starts at the first failure counted
 * and lasts lockout_window seconds. Returns 1 when it starts a lockout.
 */
static int
lock_count(struct lock_entry *e, const struct hub_conf *c, int64_t now)
{
	if (e->locked_until > now)
		return 0;
	if (lock_fails(e, now, c->lockout_window) == 0) {
		e->window_start = now;
		e->fails = 0;
	}
	e->last = now;
	if (++e->fails < c->lockout_attempts)
		return 0;
	e->locked_until = now + c->lockout_seconds;
	e->fails = 0;
	return 1;
}

void
hub_auth_lock_fail(struct hub *h, const char *peer, const char *name,
    struct hub_lockout *lk)
{
	struct hub_auth *a = h->auth;
	struct lock_entry *ea, *en;
	int64_t now = hub_now();
	int started;

	memset(lk, 0, sizeof(*lk));
	if (h->conf.lockout_attempts <= 0)
		return;
	pthread_mutex_lock(&a->mu);
	ea = lock_find(a->by_addr, lock_addr_key(a, peer), 1, now,
	    h->conf.lockout_window);
	en = lock_find(a->by_name, lock_name_key(a, name), 1, now,
	    h->conf.lockout_window);
	started = lock_count(ea, &h->conf, now);
	started |= lock_count(en, &h->conf, now);
	lock_state(ea, en, now, lk);
	pthread_mutex_unlock(&a->mu);
	lk->started = started;
}

/* 1 when the failures counted in e and the checks in progress reach the
 * limit: one more check at once could go past it. */
static int
lock_crowded(const struct lock_entry *e, const struct hub_conf *c,
    int64_t now)
{
	return lock_fails(e, now, c->lockout_window) + e->pending >=
	    c->lockout_attempts;
}

/*
 * Reserves one password check for peer and name, under the lock, so that
 * checks running at once are counted before their outcome is known.
 * Returns 1 (lk filled) when refused: locked out, or crowded. 0: reserved;
 * lock_release() must follow.
 */
static int
lock_reserve(struct hub *h, const char *peer, const char *name,
    struct hub_lockout *lk)
{
	struct hub_auth *a = h->auth;
	const struct hub_conf *c = &h->conf;
	struct lock_entry *ea, *en;
	int64_t now = hub_now();

	memset(lk, 0, sizeof(*lk));
	if (c->lockout_attempts <= 0)
		return 0;
	pthread_mutex_lock(&a->mu);
	ea = lock_find(a->by_addr, lock_addr_key(a, peer), 1, now,
	    c->lockout_window);
	en = lock_find(a->by_name, lock_name_key(a, name), 1, now,
	    c->lockout_window);
	lock_state(ea, en, now, lk);
	if (!lk->locked && (lock_crowded(ea, c, now) ||
	    lock_crowded(en, c, now))) {
		/* The checks in progress end within a second or two. */
		lk->locked = 1;
		lk->crowded = 1;
		lk->by_account = !lock_crowded(ea, c, now);
		lk->retry_after = 1;
	}
	if (!lk->locked) {
		ea->pending++;
		en->pending++;
	}
	pthread_mutex_unlock(&a->mu);
	return lk->locked;
}

enum lock_outcome {
	LOCK_VOID,                 /* not checked: count nothing */
	LOCK_FAILED,               /* a wrong password: count it */
	LOCK_SUCCEEDED,            /* the right one: forget the account's */
};

/*
 * Ends a check reserved by lock_reserve(). A success clears the account's
 * failures only: the address's stay, so an address that knows one
 * password (the enrolment account's is handed out) cannot use it to
 * reset its count and guess on. A failure is counted for both (lk set).
 * The entries are found again by key: a flood of other addresses may have
 * taken their slots in the meantime.
 */
static void
lock_release(struct hub *h, const char *peer, const char *name,
    enum lock_outcome outcome, struct hub_lockout *lk)
{
	struct hub_auth *a = h->auth;
	const struct hub_conf *c = &h->conf;
	struct lock_entry *ea, *en;
	int64_t now = hub_now();
	int started = 0;

	if (lk != NULL)
		memset(lk, 0, sizeof(*lk));
	if (c->lockout_attempts <= 0)
		return;
	pthread_mutex_lock(&a->mu);
	ea = lock_find(a->by_addr, lock_addr_key(a, peer),
	    outcome == LOCK_FAILED, now, c->lockout_window);
	en = lock_find(a->by_name, lock_name_key(a, name),
	    outcome == LOCK_FAILED, now, c->lockout_window);
	if (ea != NULL && ea->pending > 0)
		ea->pending--;
	if (en != NULL && en->pending > 0)
		en->pending--;
	if (outcome == LOCK_FAILED) {
		started = lock_count(ea, c, now);
		started |= lock_count(en, c, now);
		if (lk != NULL)
			lock_state(ea, en, now, lk);
	} else if (outcome == LOCK_SUCCEEDED && en != NULL) {
		en->fails = 0;
	}
	pthread_mutex_unlock(&a->mu);
	if (lk != NULL)
		lk->started = started;
}

void
hub_auth_locked_answer(struct hub_resp *rs, const struct hub_lockout *lk,
    const char *peer, const char *name)
{
	char secs[24], where[80];

	snprintf(secs, sizeof(secs), "%d", lk->retry_after);
	lock_addr_text(peer, where, sizeof(where));
	if (lk->crowded)
		hub_resp_error(rs, 429, "locked", "too many sign-ins at once "
		    "%s %s; try again in %d s", lk->by_account ? "for account" :
		    "from", lk->by_account ? name : where, lk->retry_after);
	else if (lk->by_account)
		hub_resp_error(rs, 429, "locked", "too many failed sign-ins "
		    "for account %s; try again in %d s", name,
		    lk->retry_after);
	else
		hub_resp_error(rs, 429, "locked", "too many failed sign-ins "
		    "from %s; try again in %d s", where, lk->retry_after);
	hub_resp_header(rs, "Retry-After", secs);
}

void
hub_auth_busy_answer(struct hub_resp *rs)
{
	hub_api_unavailable(rs, PWHASH_RETRY_AFTER, "too many password "
	    "checks at once; try again in %d s", PWHASH_RETRY_AFTER);
}

enum hub_pw_result
hub_auth_password(struct hub *h, const char *peer, const char *name,
    const char *password, json_t **user, struct hub_lockout *lk, char *err,
    size_t errlen)
{
	struct hub_store *st = h->store;
	json_t *u = NULL;
	const char *hash;
	int r;

	*user = NULL;
	if (lock_reserve(h, peer, name, lk))
		return HUB_PW_LOCKED;
	r = st->ops->user_get_by_name(st, name, &u, err, errlen);
	if (r != 0 && r != VG_ERR_NOTFOUND) {
		lock_release(h, peer, name, LOCK_VOID, NULL);
		return HUB_PW_ERROR;
	}
	hash = json_string_value(json_object_get(u, "pwhash"));
	r = hub_auth_check_password(hash != NULL ? hash : h->auth->dummy_hash,
	    password);
	if (r == VG_ERR_BUSY) {
		json_decref(u);
		lock_release(h, peer, name, LOCK_VOID, NULL);
		return HUB_PW_BUSY;
	}
	if (r != 0 || hash == NULL) {
		json_decref(u);
		lock_release(h, peer, name, LOCK_FAILED, lk);
		return HUB_PW_WRONG;
	}
	lock_release(h, peer, name, LOCK_SUCCEEDED, NULL);
	*user = u;
	return HUB_PW_OK;
}

/* ---- enrolment cache ---- */

static void
enrol_mac(struct hub_auth *a, const char *name, const char *password,
    unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	/* The NUL between them keeps "ab"+"c" apart from "a"+"bc". */
	crypto_auth_hmacsha256_init(&st, a->enrol_key, sizeof(a->enrol_key));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)name,
	    strlen(name) + 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)password,
	    strlen(password));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

/* 1 and the account's id when name/password was checked before. */
static int
enrol_cached(struct hub_auth *a, const char *name, const char *password,
    int64_t *user_id)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	int i, hit = 0;

	enrol_mac(a, name, password, mac);
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < ENROL_CACHE; i++) {
		/* Compare every entry, so the time says nothing. */
		if (sodium_memcmp(a->enrol[i].mac, mac, sizeof(mac)) == 0 &&
		    a->enrol[i].used && !hit) {
			hit = 1;
			*user_id = a->enrol[i].user_id;
		}
	}
	pthread_mutex_unlock(&a->mu);
	sodium_memzero(mac, sizeof(mac));
	return hit;
}

/* The generation of the cache, taken before a check reads the account. */
static uint64_t
enrol_generation(struct hub_auth *a)
{
	uint64_t gen;

	pthread_mutex_lock(&a->mu);
	gen = a->enrol_gen;
	pthread_mutex_unlock(&a->mu);
	return gen;
}

/*
 * Remembers a password checked against the account as it was at
 * generation gen; nothing when the cache was cleared since (the password
 * may have been changed while it was being checked).
 */
static void
enrol_remember(struct hub_auth *a, const char *name, const char *password,
    int64_t user_id, uint64_t gen)
{
	struct enrol_entry *e;

	pthread_mutex_lock(&a->mu);
	if (a->enrol_gen != gen) {
		pthread_mutex_unlock(&a->mu);
		return;
	}
	e = &a->enrol[a->enrol_next];
	a->enrol_next = (a->enrol_next + 1) % ENROL_CACHE;
	e->used = 1;
	e->user_id = user_id;
	snprintf(e->name, sizeof(e->name), "%s", name);
	enrol_mac(a, name, password, e->mac);
	pthread_mutex_unlock(&a->mu);
}

void
hub_auth_enrol_clear(struct hub *h)
{
	struct hub_auth *a = h->auth;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	sodium_memzero(a->enrol, sizeof(a->enrol));
	a->enrol_next = 0;
	a->enrol_gen++;
	pthread_mutex_unlock(&a->mu);
}

/* ---- request authentication ---- */

static void
unauthorized(struct hub_resp *rs, const char *challenge, const char *msg)
{
	hub_resp_error(rs, 401, "unauthorized", "%s", msg);
	hub_resp_header(rs, "WWW-Authenticate", challenge);
}

#define BEARER_CHALLENGE "Bearer realm=\"vigil\""
#define BEARER_INVALID "Bearer realm=\"vigil\", error=\"invalid_token\""
#define BASIC_CHALLENGE "Basic realm=\"vigil\", charset=\"UTF-8\""

/* The token of "Authorization: Bearer TOKEN", or NULL. */
static const char *
bearer_token(const char *auth)
{
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return NULL;
	auth += 7;
	while (*auth == ' ')
		auth++;
	return auth;
}

/*
 * Looks up a session token. 0 and who filled; VG_ERR_PERM when the token
 * is unknown, expired, or its user is gone or disabled; another error
 * when the store fails.
 */
static int
session_auth(struct hub *h, const char *token, struct hub_principal *who,
    char *err, size_t errlen)
{
	struct hub_store *st = h->store;
	unsigned char hash[32];
	json_t *sess = NULL, *user = NULL;
	int64_t now = hub_now(), last, expires, touch_every;
	const char *csrf, *name;
	int r, role;

	if (strncmp(token, "vs1.", 4) != 0 || !secret_valid(token + 4))
		return VG_ERR_PERM;
	hub_auth_sha256(token, hash);
	if ((r = st->ops->session_get(st, hash, &sess, err, errlen)) != 0)
		goto out;
	last = json_integer_value(json_object_get(sess, "last_used"));
	expires = json_integer_value(json_object_get(sess, "expires"));
	csrf = json_string_value(json_object_get(sess, "csrf"));
	if (now >= expires || now - last > h->conf.session_idle ||
	    csrf == NULL) {
		st->ops->session_delete(st, hash, NULL, 0);
		r = VG_ERR_PERM;
		goto out;
	}
	if ((r = st->ops->user_get(st, json_integer_value(json_object_get(sess,
	    "user_id")), &user, err, errlen)) != 0)
		goto out;
	name = json_string_value(json_object_get(user, "name"));
	if (json_is_true(json_object_get(user, "disabled")) || name == NULL ||
	    hs_role_parse(json_string_value(json_object_get(user, "role")),
	    &role) != 0) {
		r = VG_ERR_PERM;
		goto out;
	}
	/* Written back now and then, not on every request; often enough
	 * that an idle limit shorter than that still holds. */
	touch_every = h->conf.session_idle / 4;
	if (touch_every > SESSION_TOUCH_EVERY)
		touch_every = SESSION_TOUCH_EVERY;
	if (now - last >= touch_every &&
	    (r = st->ops->session_touch(st, hash, now, err, errlen)) != 0)
		goto out;
	who->kind = HUB_PRINCIPAL_USER;
	who->user_id = json_integer_value(json_object_get(user, "id"));
	snprintf(who->user_name, sizeof(who->user_name), "%s", name);
	who->role = role;
	snprintf(who->csrf, sizeof(who->csrf), "%s", csrf);
	memcpy(who->session, hash, sizeof(hash));
	r = 0;
out:
	if (r == VG_ERR_NOTFOUND)
		r = VG_ERR_PERM;
	json_decref(sess);
	json_decref(user);
	return r;
}

/* Like session_auth() for an agent credential. */
static int
agent_auth(struct hub *h, const char *cred, struct hub_principal *who,
    char *err, size_t errlen)
{
	struct hub_store *st = h->store;
	unsigned char hash[32], stored[32];
	const char *secret, *hex;
	json_t *a = NULL;
	int64_t id;
	int r;

	if (parse_agent_cred(cred, &id, &secret) != 0)
		return VG_ERR_PERM;
	if ((r = st->ops->agent_auth(st, id, &a, err, errlen)) != 0)
		goto out;
	hex = json_string_value(json_object_get(a, "cred_hash"));
	r = VG_ERR_PERM;
	if (hex == NULL || json_is_true(json_object_get(a, "deleted")) ||
	    vg_hex_decode(hex, strlen(hex), stored, sizeof(stored)) != 0)
		goto out;
	hub_auth_sha256(secret, hash);
	if (sodium_memcmp(hash, stored, sizeof(hash)) != 0)
		goto out;
	who->kind = HUB_PRINCIPAL_AGENT;
	who->agent_id = id;
	r = 0;
out:
	if (r == VG_ERR_NOTFOUND)
		r = VG_ERR_PERM;
	json_decref(a);
	return r;
}

int
hub_auth_peek(struct hub *h, const char *authorization, const char *cookie)
{
	struct hub_store *st = h->store;
	unsigned char hash[32], stored[32];
	const char *token, *secret, *hex;
	json_t *obj = NULL;
	int64_t id, now = hub_now();
	int r;

	/* The bearer token wins over the cookie, as in auth_bearer(). */
	if ((token = bearer_token(authorization)) == NULL &&
	    (token = cookie) == NULL)
		return 0;
	if (strncmp(token, "va1.", 4) == 0) {
		if (parse_agent_cred(token, &id, &secret) != 0)
			return 0;
		r = st->ops->agent_auth(st, id, &obj, NULL, 0);
		hex = json_string_value(json_object_get(obj, "cred_hash"));
		if (r == 0)
			r = hex != NULL && !json_is_true(json_object_get(obj,
			    "deleted")) && vg_hex_decode(hex, strlen(hex),
			    stored, sizeof(stored)) == 0;
		if (r == 1) {
			hub_auth_sha256(secret, hash);
			r = sodium_memcmp(hash, stored, sizeof(hash)) == 0;
		}
	} else {
		if (strncmp(token, "vs1.", 4) != 0 || !secret_valid(token + 4))
			return 0;
		hub_auth_sha256(token, hash);
		r = st->ops->session_get(st, hash, &obj, NULL, 0);
		if (r == 0)
			r = now < json_integer_value(json_object_get(obj,
			    "expires")) && now - json_integer_value(
			    json_object_get(obj, "last_used")) <=
			    h->conf.session_idle;
	}
	json_decref(obj);
	return r == VG_ERR_NOTFOUND ? 0 : r;
}

static int
internal(struct hub_resp *rs, const char *what, const char *err)
{
	hub_log(HUB_LOG_ERROR, "%s: %s", what, err);
	hub_resp_error(rs, 500, "internal", "internal error while checking "
	    "credentials");
	return -1;
}

/* Bearer credentials for agent and user routes. */
static int
auth_bearer(struct hub_req *rq, struct hub_resp *rs, enum hub_auth_need need)
{
	struct hub *h = rq->hub;
	const char *token, *cookie = NULL;
	char err[256] = "";
	int r, via_cookie = 0;

	token = bearer_token(hub_req_header(rq, "Authorization"));
	if (token == NULL && need == HUB_AUTH_USER &&
	    (cookie = hub_req_cookie(rq, "vigil_session")) != NULL) {
		token = cookie;
		via_cookie = 1;
	}
	if (token == NULL) {
		unauthorized(rs, BEARER_CHALLENGE, need == HUB_AUTH_AGENT ?
		    "an agent credential is needed (Authorization: Bearer)" :
		    "sign in first: a session token is needed (POST "
		    "/api/v1/session)");
		return -1;
	}
	if (strncmp(token, "va1.", 4) == 0)
		r = agent_auth(h, token, &rq->who, err, sizeof(err));
	else
		r = session_auth(h, token, &rq->who, err, sizeof(err));
	if (r == VG_ERR_PERM) {
		unauthorized(rs, BEARER_INVALID, strncmp(token, "va1.", 4) !=
		    0 ? "the session has expired or is not valid; sign in "
		    "again" : "the credential is not valid or has expired");
		return -1;
	}
	if (r != 0)
		return internal(rs, "checking a credential", err);
	rq->who.via_cookie = via_cookie;
	if (need == HUB_AUTH_AGENT && rq->who.kind != HUB_PRINCIPAL_AGENT) {
		hub_resp_error(rs, 403, "forbidden", "this endpoint is for "
		    "agents; a console session cannot use it");
		return -1;
	}
	if (need == HUB_AUTH_USER && rq->who.kind != HUB_PRINCIPAL_USER) {
		hub_resp_error(rs, 403, "forbidden", "an agent credential "
		    "grants only /agent/poll and /agent/events");
		return -1;
	}
	return 0;
}

/* HTTP Basic of an enrolment account, for POST /agent/register. */
static int
auth_basic(struct hub_req *rq, struct hub_resp *rs)
{
	struct hub *h = rq->hub;
	const char *auth = hub_req_header(rq, "Authorization");
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	char *colon, *name, *password, err[256] = "";
	struct hub_lockout lk;
	json_t *user = NULL;
	int64_t user_id = 0;
	uint64_t gen;
	int r = -1, role;

	if (auth == NULL || strncasecmp(auth, "Basic ", 6) != 0) {
		unauthorized(rs, BASIC_CHALLENGE, "the enrolment account is "
		    "needed (HTTP Basic)");
		return -1;
	}
	auth += 6;
	while (*auth == ' ')
		auth++;
	if (strlen(auth) > 2048 ||
	    vg_base64_decode(auth, strlen(auth), &raw, &rawlen) != 0) {
		unauthorized(rs, BASIC_CHALLENGE, "malformed Basic "
		    "credentials");
		goto out;
	}
	/* The decoder leaves room for one more byte. */
	raw[rawlen] = '\0';
	if (memchr(raw, '\0', rawlen) != NULL ||
	    (colon = memchr(raw, ':', rawlen)) == NULL ||
	    !vg_utf8_valid((const char *)raw, rawlen)) {
		unauthorized(rs, BASIC_CHALLENGE, "malformed Basic "
		    "credentials");
		goto out;
	}
	*colon = '\0';
	name = (char *)raw;
	password = colon + 1;
	if (hub_auth_lock_check(h, rq->peer, name, &lk)) {
		hub_auth_locked_answer(rs, &lk, rq->peer,
		    hub_api_display(rq, name));
		goto out;
	}
	/* A hit changes no count: the cache only saves the Argon2id
	 * check, it must not let an address reset its failures. */
	if (enrol_cached(h->auth, name, password, &user_id)) {
		rq->who.kind = HUB_PRINCIPAL_ENROL;
		rq->who.user_id = user_id;
		rq->who.role = HS_ROLE_ENROL;
		snprintf(rq->who.user_name, sizeof(rq->who.user_name), "%s",
		    name);
		r = 0;
		goto out;
	}
	gen = enrol_generation(h->auth);
	switch (hub_auth_password(h, rq->peer, name, password, &user, &lk,
	    err, sizeof(err))) {
	case HUB_PW_OK:
		break;
	case HUB_PW_LOCKED:
		hub_auth_locked_answer(rs, &lk, rq->peer,
		    hub_api_display(rq, name));
		goto out;
	case HUB_PW_BUSY:
		hub_auth_busy_answer(rs);
		goto out;
	case HUB_PW_WRONG:
		hub_api_audit_failure(rq, name, "wrong user name or password "
		    "(Basic)", &lk);
		unauthorized(rs, BASIC_CHALLENGE, "wrong user name or "
		    "password");
		goto out;
	default:
		internal(rs, "checking the enrolment password", err);
		goto out;
	}
	if (hs_role_parse(json_string_value(json_object_get(user, "role")),
	    &role) != 0 || role != HS_ROLE_ENROL) {
		hub_resp_error(rs, 403, "forbidden", "only the enrolment "
		    "account may register agents");
		goto out;
	}
	if (json_is_true(json_object_get(user, "disabled"))) {
		hub_resp_error(rs, 403, "forbidden", "the enrolment account "
		    "%s is disabled", hub_api_display(rq, name));
		goto out;
	}
	user_id = json_integer_value(json_object_get(user, "id"));
	enrol_remember(h->auth, name, password, user_id, gen);
	rq->who.kind = HUB_PRINCIPAL_ENROL;
	rq->who.user_id = user_id;
	rq->who.role = HS_ROLE_ENROL;
	snprintf(rq->who.user_name, sizeof(rq->who.user_name), "%s", name);
	r = 0;
out:
	if (raw != NULL) {
		sodium_memzero(raw, rawlen);
		free(raw);
	}
	json_decref(user);
	return r;
}

int
hub_auth_request(struct hub_req *rq, struct hub_resp *rs,
    enum hub_auth_need need)
{
	memset(&rq->who, 0, sizeof(rq->who));
	switch (need) {
	case HUB_AUTH_NONE:
		return 0;
	case HUB_AUTH_ENROL:
		return auth_basic(rq, rs);
	case HUB_AUTH_AGENT:
	case HUB_AUTH_USER:
		return auth_bearer(rq, rs, need);
	}
	return internal(rs, "authentication", "unknown route kind");
}
