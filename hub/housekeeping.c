/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "housekeeping.h"
#include "store.h"
#include "vg_err.h"
#include "vg_util.h"

#define TICK_SECONDS 5          /* flush and offline marking */
#define PURGE_SECONDS 60        /* sessions and retention */
#define PURGE_CHUNK 5000        /* events deleted per transaction */
#define PURGE_PAUSE_MS 50       /* between chunks, for ingest */
#define FAIL_LOG_SECONDS 300    /* repeat a lasting failure this often */

/* A task that may keep failing: log the first failure, then every few
 * minutes, and say when it succeeds again. */
struct task {
	const char *name;
	int failing;
	double last_log;
};

static pthread_t hk_thread;
static pthread_mutex_t hk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hk_cond;
static int hk_running, hk_stop;

/* Sleeps up to ms milliseconds; returns 1 when asked to stop. */
static int
hk_sleep(long ms)
{
	struct timespec ts;
	int stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&hk_lock);
	while (!hk_stop &&
	    pthread_cond_timedwait(&hk_cond, &hk_lock, &ts) != ETIMEDOUT)
		;
	stop = hk_stop;
	pthread_mutex_unlock(&hk_lock);
	return stop;
}

static int
hk_stopping(void)
{
	int stop;

	pthread_mutex_lock(&hk_lock);
	stop = hk_stop;
	pthread_mutex_unlock(&hk_lock);
	return stop;
}

static void
task_result(struct task *t, int r, const char *msg)
{
	double now = vg_now();

	if (r == 0) {
		if (t->failing)
			hub_log(HUB_LOG_INFO, "housekeeping: %s succeeds again",
			    t->name);
		t->failing = 0;
		return;
	}
	if (!t->failing || now - t->last_log >= FAIL_LOG_SECONDS) {
		hub_log(HUB_LOG_ERROR, "housekeeping: %s failed: %s", t->name,
		    msg[0] != '\0' ? msg : vg_strerror(r));
		t->last_log = now;
	}
	t->failing = 1;
}

/* Deletes events past retention, a chunk at a time. */
static void
purge_events(struct hub *h, struct task *t)
{
	struct hub_store *s = h->store;
	char msg[256];
	int64_t cutoff = hub_now() - (int64_t)h->conf.retention_days * 86400;
	long long total = 0;
	int deleted, r;

	do {
		msg[0] = '\0';
		deleted = 0;
		r = s->ops->events_purge(s, cutoff, PURGE_CHUNK, &deleted, msg,
		    sizeof(msg));
		task_result(t, r, msg);
		if (r != 0)
			break;
		total += deleted;
	} while (deleted >= PURGE_CHUNK && !hk_sleep(PURGE_PAUSE_MS));
	if (total > 0)
		hub_log(HUB_LOG_INFO, "housekeeping: deleted %lld events "
		    "older than %d days", total, h->conf.retention_days);
}

static void *
hk_main(void *arg)
{
	struct hub *h = arg;
	struct hub_store *s = h->store;
	struct task flush = { "store flush", 0, 0 };
	struct task offline = { "offline marking", 0, 0 };
	struct task sessions = { "session purge", 0, 0 };
	struct task retention = { "event retention", 0, 0 };
	double next_purge = vg_now();
	int64_t started = hub_now(), now;
	char msg[256];
	int r, count;

	while (!hk_stopping()) {
		now = hub_now();
		msg[0] = '\0';
		r = s->ops->flush(s, msg, sizeof(msg));
		task_result(&flush, r, msg);

		/* A device is late once a whole poll period of its own and
		 * the grace have passed since its last poll. Devices could
		 * not poll while the hub was down: they are judged from the
		 * start at the earliest. */
		msg[0] = '\0';
		count = 0;
		r = s->ops->devices_mark_offline(s, now, started,
		    h->conf.poll_period, h->conf.offline_grace, &count, msg,
		    sizeof(msg));
		task_result(&offline, r, msg);
		if (r == 0 && count > 0)
			hub_log(HUB_LOG_INFO, "%d device%s went offline (no "
			    "poll for a poll period and %d s)", count,
			    count == 1 ? "" : "s", h->conf.offline_grace);

		if (vg_now() >= next_purge) {
			next_purge = vg_now() + PURGE_SECONDS;
			msg[0] = '\0';
			r = s->ops->session_purge(s, now,
			    h->conf.session_idle, msg, sizeof(msg));
			task_result(&sessions, r, msg);
			if (!hk_stopping())
				purge_events(h, &retention);
		}
		if (hk_sleep(TICK_SECONDS * 1000L))
			break;
	}
	return NULL;
}

int
hub_housekeeping_start(struct hub *h, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	int e;

	if (hk_running) {
		snprintf(err, errlen, "housekeeping is already running");
		return VG_ERR_INTERNAL;
	}
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&hk_cond, &ca) != 0) {
		snprintf(err, errlen, "cannot set up the housekeeping thread");
		return VG_ERR_INTERNAL;
	}
	pthread_condattr_destroy(&ca);
	hk_stop = 0;
	if ((e = pthread_create(&hk_thread, NULL, hk_main, h)) != 0) {
		pthread_cond_destroy(&hk_cond);
		snprintf(err, errlen, "cannot start the housekeeping thread: "
		    "%s", strerror(e));
		return vg_err_from_errno(e);
	}
	hk_running = 1;
	return 0;
}

void
hub_housekeeping_stop(void)
{
	if (!hk_running)
		return;
	pthread_mutex_lock(&hk_lock);
	hk_stop = 1;
	pthread_cond_broadcast(&hk_cond);
	pthread_mutex_unlock(&hk_lock);
	pthread_join(hk_thread, NULL);
	pthread_cond_destroy(&hk_cond);
	hk_running = 0;
}
