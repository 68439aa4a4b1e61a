/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef AGENT_PROXIED_H
#define AGENT_PROXIED_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hubdetails.h"

/*
 * The agent as a proxy: it collects the devices the hub assigns to it
 * (network devices over SSH or Telnet with a device profile, Linux hosts
 * over SSH, Windows hosts over SMB) and sends each collection's result to
 * the hub. The list of devices comes with the poll answer ("proxied",
 * docs/api/openapi.yaml); the secrets to log in come from the hub just
 * before each collection and are wiped right after it: they are never
 * written to disk nor logged. Only outbound connections are opened (to the hub, to the
 * devices); nothing listens.
 *
 * Threads: a scheduler thread and a pool of `parallel` workers, started
 * when the first non-empty list arrives. The scheduler hands each device
 * to the pool when it is due (its last collection + its schedule; the
 * first one at a random moment within min(schedule, 60 s) so a new list
 * does not start every device at once); a device is never collected
 * twice at once. Each worker has its own hub connection (struct hc).
 * The functions below are called from the agent's main thread; they do
 * not block on the network except apx_run_once() and apx_free().
 */

struct apx;

struct apx_opts {
	const struct hubdetails *hd; /* copied (not the enrolment password) */
	const char *ca_file;         /* copied; NULL: system CAs */
	const char *credential;      /* the agent's bearer credential, or
	                                NULL until it registers; copied */
	const char *data_dir;        /* DATA_DIR (Linux and Windows hosts'
	                                baselines) */
	const char *profiles_dir;    /* where NAME.profile files are */
	unsigned int parallel;       /* workers, 1..256 */
	unsigned int timeout_s;      /* whole collection of one device */
};

/* Creates the proxy without starting any thread. 0 and *out (free with
 * apx_free()), VG_ERR_NOMEM or VG_ERR_INTERNAL with err set. */
int apx_new(const struct apx_opts *o, struct apx **out, char *err,
    size_t errlen);

/*
 * Stops the threads: no new collection starts, the running ones are
 * waited for up to 10 s (a device that does not answer is left to the
 * process's exit, and said so), then frees everything. Accepts NULL.
 */
void apx_free(struct apx *p);

/* The hub changed (HubDetails.xml read again) or the agent got a new
 * credential: the workers reconnect with these before their next
 * request. 0 or VG_ERR_NOMEM. */
int apx_set_hub(struct apx *p, const struct hubdetails *hd,
    const char *credential);

/* The version of the list held, for the poll request ("" before the
 * first list: the hub then sends it). Writes at most len bytes. */
void apx_version(struct apx *p, char *out, size_t len);

/*
 * Takes a new list from a poll answer: new devices are scheduled, those
 * gone stop (a running collection finishes, its result is still sent),
 * changed ones take the new settings at their next collection. A
 * malformed entry is skipped with a warning naming it; the others are
 * taken. Starts the threads the first time the list is not empty.
 * 0, VG_ERR_INVAL (not an array), VG_ERR_NOMEM, VG_ERR_INTERNAL (a
 * thread could not start) with err set.
 */
int apx_take(struct apx *p, const json_t *list, const char *version,
    char *err, size_t errlen);

/*
 * For `vigil-agent --once`: collects every device that may be collected
 * once, now, and returns when all are done (or *stop is set). Returns
 * the number of devices whose collection failed or whose result could
 * not be delivered.
 */
int apx_run_once(struct apx *p, volatile sig_atomic_t *stop);

/*
 * A summary for `vigil-agent status`: {"devices": N, "failing": M,
 * "errors": [{"id", "name", "code", "message", "time"}...]} (at most
 * the last 10 failing devices, newest first). New reference, or NULL
 * when out of memory.
 */
json_t *apx_summary(struct apx *p);

#endif
