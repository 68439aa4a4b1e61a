/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <malloc.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "agent_int.h"
#include "client.h"
#include "collect.h"
#include "hubdetails.h"
#include "monitor.h"
#include "proxied.h"
#include "queue.h"
#include "vg_err.h"
#include "vg_log.h"
#include "vg_util.h"

/*
 * The agent's main loop (agent.h). The main thread talks to the hub; it
 * sleeps in ppoll() on an eventfd that the queue pokes when events were
 * committed, with SIGTERM and SIGINT unblocked only there, so a signal
 * always wakes it and never interrupts a request half-way. The scan
 * thread owns the monitor's policy and scans; the main thread hands it a
 * new policy and it applies it between scans.
 */

#define EXIT_OK 0
#define EXIT_FAIL 1

#define BATCH_DEFAULT 1000
#define BATCH_BYTES (4 * 1024 * 1024)  /* well below the hub's max_body */
#define BATCH_BACKLOG 5                /* times batch_size, see send_all() */
#define POLL_DEFAULT 300
#define GATHER_MS 50                   /* to let a burst make one batch */
#define BACKOFF_BASE 1.0
#define BACKOFF_CAP 60.0
#define REREGISTER_WAIT 180.0          /* refused credential, no Password */
#define BAD_BATCH_TRIES 3
#define SCAN_TICK 30.0                 /* checks for requested rescans */
#define MAX_ADDRS 64
#define STATUS_MAX 255
#define ERR_MAX (PATH_MAX + 1024)       /* messages that name a path */

/* ioprio_set(2) has no glibc wrapper. */
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_CLASS_SHIFT 13

struct agent {
	const struct agent_conf *c;
	volatile sig_atomic_t *stop;
	sigset_t waitmask;            /* the mask while ppoll() waits */
	int efd;                      /* eventfd: events were queued */

	struct hubdetails hd;
	struct hc *hc;
	struct aq *q;
	struct mon *mon;
	struct apx *px;               /* the proxy for proxied devices */
	int lock_fd;

	char *credential;             /* NULL until registered */
	int registered;               /* the credential was not refused */
	int poll_period, batch_size;
	unsigned attempt;             /* failures in a row */
	double hub_retry_at;          /* vg_now() before which we wait */
	int64_t bad_first_id;         /* a batch refused with 400 */
	int bad_tries;
	int send_strict;              /* the hub could not read a batch */
	int send_small;               /* the hub refused a batch as too large */
	int saved_nice, saved_ioprio; /* the scan thread's own priorities */
	char last_error[512];
	char *proxied_status;         /* as last written to the state */

	/* Shared with the scan thread, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t scan_thread;
	int scan_started;
	int quit;
	int scan_wanted;
	struct agent_policy *pending;  /* handed over by the main thread */
	volatile sig_atomic_t scan_abort;
	char state_error[512];         /* the last failure to write state */
};

/* ---- small helpers ---- */

static void
agent_wake(void *arg)
{
	struct agent *a = arg;
	uint64_t one = 1;

	/* A full counter is still readable: nothing to do on failure. */
	if (write(a->efd, &one, sizeof(one)) < 0)
		return;
}

/* The monitor asks for a scan (realtime overflow, watch limit, dropped
 * events): the scan thread runs it now, not at its next tick. */
static void
scan_kick(void *arg)
{
	struct agent *a = arg;

	pthread_mutex_lock(&a->mu);
	a->scan_wanted = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->mu);
}

/* Sleeps up to seconds, or until events are queued or a signal comes.
 * Returns 1 when woken by queued events. */
static int
agent_wait(struct agent *a, double seconds)
{
	struct pollfd pfd = { .fd = a->efd, .events = POLLIN };
	struct timespec ts;
	uint64_t n;

	if (*a->stop)
		return 0;
	if (seconds < 0)
		seconds = 0;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	if (ppoll(&pfd, 1, &ts, &a->waitmask) <= 0 ||
	    (pfd.revents & POLLIN) == 0)
		return 0;
	if (read(a->efd, &n, sizeof(n)) < 0)
		return 0;
	return 1;
}

/* A write to the state failed (a full disk, say): logged once per
 * message, from either thread. */
static void
state_write_failed(struct agent *a, const char *what)
{
	char msg[512];

	aq_last_error(a->q, msg, sizeof(msg));
	pthread_mutex_lock(&a->mu);
	if (strcmp(a->state_error, msg) != 0) {
		snprintf(a->state_error, sizeof(a->state_error), "%s", msg);
		vg_log(VG_LOG_ERROR, "cannot record %s: %s", what, msg[0] !=
		    '\0' ? msg : "error");
	}
	pthread_mutex_unlock(&a->mu);
}

static void
set_state(struct agent *a, const char *state)
{
	if (aq_set(a->q, "state", state) != 0)
		state_write_failed(a, "the state");
}

/* Records (and logs once per change) what went wrong with the hub. */
static void
set_error(struct agent *a, const char *msg)
{
	if (strcmp(a->last_error, msg) != 0)
		vg_log(msg[0] != '\0' ? VG_LOG_WARN : VG_LOG_INFO, "%s",
		    msg[0] != '\0' ? msg : "the hub answers again");
	snprintf(a->last_error, sizeof(a->last_error), "%s", msg);
	if (aq_set(a->q, "last_error", msg) != 0)
		state_write_failed(a, "the last error");
}

static void
hub_ok(struct agent *a)
{
	a->attempt = 0;
	a->hub_retry_at = 0;
	if (aq_set_i64(a->q, "last_contact", (int64_t)time(NULL)) != 0)
		state_write_failed(a, "the last contact");
	if (a->last_error[0] != '\0')
		set_error(a, "");
	set_state(a, "connected");
}

/* The hub failed: wait before the next request (back-off with jitter,
 * at least its Retry-After). */
static void
hub_failed(struct agent *a, const struct hc_answer *ans, double extra)
{
	double d;

	if (a->attempt < 64)
		a->attempt++;
	d = hc_backoff(a->attempt, BACKOFF_BASE, BACKOFF_CAP,
	    ans->retry_after) + extra;
	a->hub_retry_at = vg_now() + d;
	set_error(a, ans->message[0] != '\0' ? ans->message :
	    "the hub did not answer");
	set_state(a, "hub unreachable");
	vg_log(VG_LOG_DEBUG, "next attempt in %.1f s", d);
}

/* Reads a small file into a string without its trailing blanks. NULL
 * with errno set when it cannot. */
static char *
read_small_file(const char *path, size_t max)
{
	char *buf;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return NULL;
	if ((buf = malloc(max + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	n = read(fd, buf, max);
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	return buf;
}

/* Creates dir (mode 0700) and any missing parent (0755). */
static int
make_data_dir(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX], *p;
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s", dir) >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		goto fail;
	if (lstat(path, &st) != 0)
		goto fail;
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", path);
		return -1;
	}
	/* It holds the credential and the queue: ours alone. */
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s belongs to uid %lu, not to the agent "
		    "(uid %lu): refusing to keep the credential there", path,
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		if (chmod(path, 0700) != 0)
			goto fail;
		vg_log(VG_LOG_WARN, "%s was open to other users (mode %04o); "
		    "it is now 0700", path, (unsigned)(st.st_mode & 07777));
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
	return -1;
}

/* HubDetails.xml with a password in it should be for root's eyes only
 * (vigil-hub init writes it 0600); say so when it is not. */
static void
warn_open_secrets(const char *path, const struct hubdetails *hd)
{
	struct stat st;

	if ((hd->password != NULL || hd->proxy_password != NULL) &&
	    stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		vg_log(VG_LOG_WARN, "%s holds a password and is readable by "
		    "other users (mode %04o): chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
}

/* Takes DATA_DIR/agent.pid's write lock (held until exit) and writes
 * our pid into it. */
static int
take_pid_lock(struct agent *a, char *err, size_t errlen)
{
	const char *dir = a->c->data_dir;
	char path[PATH_MAX], pid[32];
	struct flock fl;
	pid_t holder = 0;
	int n;

	snprintf(path, sizeof(path), "%s/%s", dir, AGENT_PID_FILE);
	if ((a->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(a->lock_fd, F_SETLK, &fl) != 0) {
		if ((errno == EAGAIN || errno == EACCES) &&
		    agent_lock_holder(dir, &holder) == 1)
			snprintf(err, errlen, "another vigil-agent (pid %ld) "
			    "uses %s", (long)holder, dir);
		else
			snprintf(err, errlen, "cannot lock %s: %s", path,
			    strerror(errno));
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(a->lock_fd, 0) != 0 ||
	    pwrite(a->lock_fd, pid, (size_t)n, 0) != n) {
		snprintf(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- registration ---- */

/* PRETTY_NAME of /etc/os-release, unquoted; "Linux" when absent. */
static json_t *
os_name(void)
{
	char line[512], *v, *end;
	json_t *s = NULL;
	FILE *f;

	if ((f = fopen("/etc/os-release", "re")) == NULL &&
	    (f = fopen("/usr/lib/os-release", "re")) == NULL)
		return json_string("Linux");
	while (s == NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "PRETTY_NAME=", 12) != 0)
			continue;
		v = line + 12;
		v[strcspn(v, "\r\n")] = '\0';
		if (*v == '"' || *v == '\'') {
			if ((end = strrchr(v + 1, *v)) != NULL)
				*end = '\0';
			v++;
		}
		if (*v != '\0' && vg_utf8_valid(v, strlen(v)))
			s = json_string(v);
	}
	fclose(f);
	return s != NULL ? s : json_string("Linux");
}

/* /etc/machine-id (or D-Bus's copy); else an id of our own kept in the
 * state, so the hub still knows us again. */
static char *
machine_id(struct aq *q)
{
	static const char *const files[] = { "/etc/machine-id",
		"/var/lib/dbus/machine-id" };
	char *id = NULL, *uuid;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if ((id = read_small_file(files[i], 128)) != NULL &&
		    id[0] != '\0' && strspn(id, "0123456789abcdefABCDEF") ==
		    strlen(id))
			return id;
		free(id);
		id = NULL;
	}
	if (aq_get(q, "machine_id", &id) == 0 && id != NULL)
		return id;
	if ((uuid = read_small_file("/proc/sys/kernel/random/uuid", 64)) ==
	    NULL)
		return NULL;
	if (aq_set(q, "machine_id", uuid) != 0) {
		free(uuid);
		return NULL;
	}
	return uuid;
}

/* Appends s to arr unless it is there already (at most MAX_ADDRS). */
static void
add_unique(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	if (json_array_size(arr) >= MAX_ADDRS)
		return;
	json_array_foreach(arr, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return;
	json_array_append_new(arr, json_string(s));
}

/* The addresses of the interfaces other than loopback. */
static void
addresses(json_t *ips, json_t *macs)
{
	struct ifaddrs *ifs, *i;
	char buf[INET6_ADDRSTRLEN];
	const struct sockaddr_ll *ll;
	const unsigned char *m;

	if (getifaddrs(&ifs) != 0) {
		vg_log(VG_LOG_WARN, "cannot list the network interfaces: %s",
		    strerror(errno));
		return;
	}
	for (i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		switch (i->ifa_addr->sa_family) {
		case AF_INET:
			if (inet_ntop(AF_INET, &((const struct sockaddr_in *)
			    (const void *)i->ifa_addr)->sin_addr, buf,
			    sizeof(buf)) != NULL)
				add_unique(ips, buf);
			break;
		case AF_INET6:
			if (inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
			    (const void *)i->ifa_addr)->sin6_addr, buf,
			    sizeof(buf)) != NULL)
				add_unique(ips, buf);
			break;
		case AF_PACKET:
			ll = (const struct sockaddr_ll *)(const void *)
			    i->ifa_addr;
			m = ll->sll_addr;
			if (ll->sll_halen != 6 || (m[0] | m[1] | m[2] | m[3] |
			    m[4] | m[5]) == 0)
				break;
			snprintf(buf, sizeof(buf),
			    "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
			    m[3], m[4], m[5]);
			add_unique(macs, buf);
			break;
		}
	}
	freeifaddrs(ifs);
}

static json_t *
register_body(struct agent *a)
{
	char host[256], name[768], *mid;
	json_t *b, *ips, *macs;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(name, sizeof(name), "%s%s%s", a->hd.name_prefix != NULL ?
	    a->hd.name_prefix : "", host, a->hd.name_suffix != NULL ?
	    a->hd.name_suffix : "");
	if ((mid = machine_id(a->q)) == NULL) {
		vg_log(VG_LOG_ERROR, "cannot read /etc/machine-id: %s",
		    strerror(errno));
		return NULL;
	}
	ips = json_array();
	macs = json_array();
	if (ips != NULL && macs != NULL)
		addresses(ips, macs);
	b = json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:o}", "hostname",
	    host, "name", name, "os", os_name(), "machine_id", mid,
	    "agent_version", VIGIL_VERSION, "ips", ips, "macs", macs);
	free(mid);
	if (b != NULL && a->c->poll_period > 0)
		json_object_set_new(b, "poll_period",
		    json_integer(a->c->poll_period));
	if (b != NULL && a->credential != NULL)
		json_object_set_new(b, "credential",
		    json_string(a->credential));
	return b;
}

/* Reads the settings of a register or poll answer. */
static void
take_settings(struct agent *a, const json_t *o)
{
	json_int_t v;

	if (o == NULL)
		return;
	v = json_integer_value(json_object_get(o, "poll_period"));
	if (v >= 10 && v <= 86400)
		a->poll_period = (int)v;
	v = json_integer_value(json_object_get(o, "batch_size"));
	if (v >= 1 && v <= 100000)
		a->batch_size = (int)v;
}

/* Re-reads HubDetails.xml (an administrator may have put a fresh
 * Password in). Keeps the old one when the file cannot be read. */
static int
reload_hubdetails(struct agent *a, char *err, size_t errlen)
{
	struct hubdetails hd;
	struct hc_opts o;
	struct hc *hc = NULL;
	int r;

	memset(&hd, 0, sizeof(hd));
	if ((r = hd_load(a->c->hub_details, &hd, err, errlen)) != 0)
		return r;
	memset(&o, 0, sizeof(o));
	o.hd = &hd;
	o.ca_file = a->c->ca_file;
	if ((r = hc_new(&o, &hc, err, errlen)) != 0) {
		hd_free(&hd);
		return r;
	}
	hc_free(a->hc);
	hd_free(&a->hd);
	a->hd = hd;
	a->hc = hc;
	if (a->credential != NULL)
		hc_set_credential(a->hc, a->credential);
	if (apx_set_hub(a->px, &a->hd, a->credential) != 0) {
		snprintf(err, errlen, "out of memory");
		return VG_ERR_NOMEM;
	}
	return aq_set(a->q, "hub_url", a->hd.url) == 0 ? 0 : VG_ERR_DB;
}

/*
 * POST agent/register. 0 registered; 1 the hub is away (back-off set);
 * -1 fatal (logged).
 */
static int
do_register(struct agent *a)
{
	struct hc_answer ans;
	const json_t *b;
	json_t *body;
	const char *cred, *warning;
	char err[ERR_MAX], path[PATH_MAX];
	json_int_t dev, next;
	int r, ret = 1;

	memset(&ans, 0, sizeof(ans));
	set_state(a, "registering");
	if ((body = register_body(a)) == NULL)
		return -1;
	r = hc_request(a->hc, "agent/register", body, &ans);
	json_decref(body);
	if (r == HC_PIN_MISMATCH) {
		vg_log(VG_LOG_ERROR, "%s", ans.message);
		ret = -1;
		goto out;
	}
	if (r != HC_OK) {
		/* 401/403: a wrong or disabled enrolment account; the admin
		 * fixes HubDetails.xml or the account, we keep trying. */
		hub_failed(a, &ans, 0);
		goto out;
	}
	b = ans.body;
	cred = json_string_value(json_object_get(b, "credential"));
	dev = json_integer_value(json_object_get(b, "device_id"));
	next = json_integer_value(json_object_get(b, "next_event_id"));
	if (cred == NULL || dev <= 0) {
		snprintf(ans.message, sizeof(ans.message), "the hub's "
		    "registration answer has no credential or device_id");
		hub_failed(a, &ans, 0);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s", a->c->data_dir,
	    AGENT_CREDENTIAL_FILE);
	if (vg_write_file_atomic(path, cred, strlen(cred), 0600, err,
	    sizeof(err)) != 0) {
		vg_log(VG_LOG_ERROR, "%s", err);
		ret = -1;
		goto out;
	}
	if (a->credential != NULL)
		explicit_bzero(a->credential, strlen(a->credential));
	free(a->credential);
	if ((a->credential = strdup(cred)) == NULL ||
	    hc_set_credential(a->hc, a->credential) != 0 ||
	    apx_set_hub(a->px, &a->hd, a->credential) != 0 ||
	    aq_set_i64(a->q, "device_id", dev) != 0 ||
	    (next > 0 && aq_seq_at_least(a->q, next) != 0)) {
		vg_log(VG_LOG_ERROR, "cannot record the registration in %s",
		    a->c->data_dir);
		ret = -1;
		goto out;
	}
	take_settings(a, b);
	a->registered = 1;
	if ((warning = json_string_value(json_object_get(b, "warning"))) !=
	    NULL)
		vg_log(VG_LOG_WARN, "the hub says: %s", warning);
	vg_log(VG_LOG_INFO, "registered with %s as device %lld%s", a->hd.url,
	    (long long)dev, json_is_true(json_object_get(b, "created")) ?
	    " (new)" : "");
	/* The Password has served; it must not stay on disk. */
	if (a->hd.password != NULL && (r = hd_remove_password_if(
	    a->c->hub_details, a->hd.password, err, sizeof(err))) != 0)
		vg_log(r > 0 ? VG_LOG_INFO : VG_LOG_WARN, "%s", err);
	if (a->hd.password != NULL) {
		explicit_bzero(a->hd.password, strlen(a->hd.password));
		free(a->hd.password);
		a->hd.password = NULL;
	}
	hub_ok(a);
	ret = 0;
out:
	hc_answer_clear(&ans);
	return ret;
}

/*
 * The hub refused our credential (the device was deleted): register
 * again when HubDetails.xml holds a Password, else wait for one.
 */
static void
credential_refused(struct agent *a, struct hc_answer *ans)
{
	char err[ERR_MAX];

	a->registered = 0;
	if (reload_hubdetails(a, err, sizeof(err)) != 0)
		vg_log(VG_LOG_WARN, "%s", err);
	if (a->hd.password != NULL) {
		vg_log(VG_LOG_WARN, "registering again with the Password of "
		    "%s%s%s", a->c->hub_details, ans->message[0] != '\0' ?
		    ": " : "", ans->message);
		return;
	}
	snprintf(ans->message, sizeof(ans->message), "the hub refused our "
	    "credential (the device was deleted?) and %s has no Password to "
	    "register again with", a->c->hub_details);
	set_error(a, ans->message);
	set_state(a, "not registered");
	a->hub_retry_at = vg_now() + REREGISTER_WAIT;
}

/* ---- the policy ---- */

/* Parses and hands a policy to the scan thread. */
static int
policy_take(struct agent *a, const json_t *doc, const char *version)
{
	struct agent_policy *p = NULL, *old;
	char err[512];

	if (agent_policy_parse(doc, version, &p, err, sizeof(err)) != 0) {
		vg_log(VG_LOG_ERROR, "policy %.12s: %s", version, err);
		return -1;
	}
	if (a->c->once)
		p->realtime = 0;
	pthread_mutex_lock(&a->mu);
	old = a->pending;
	a->pending = p;
	a->scan_abort = 1;     /* a scan of the old policy is worth nothing */
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->mu);
	agent_policy_free(old);
	return 0;
}

/* The policy the agent last got, so monitoring starts even while the hub
 * is away. */
static void
policy_load_stored(struct agent *a)
{
	char *text = NULL, *version = NULL;
	json_error_t jerr;
	json_t *doc;

	if (aq_get(a->q, "policy", &text) != 0 || text == NULL ||
	    aq_get(a->q, "policy_version", &version) != 0 || version == NULL)
		goto out;
	if ((doc = json_loads(text, 0, &jerr)) == NULL) {
		vg_log(VG_LOG_WARN, "the stored policy is not JSON: %s",
		    jerr.text);
		goto out;
	}
	if (policy_take(a, doc, version) == 0)
		vg_log(VG_LOG_INFO, "policy %.12s loaded from the state",
		    version);
	json_decref(doc);
out:
	free(text);
	free(version);
}

static int
policy_store(struct agent *a, const json_t *doc, const char *version)
{
	char *text;
	int r = VG_ERR_NOMEM;

	if ((text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		return r;
	if ((r = aq_begin(a->q)) == 0) {
		if (aq_set(a->q, "policy", text) == 0 &&
		    aq_set(a->q, "policy_version", version) == 0)
			r = aq_commit(a->q, NULL, 0);
		else
			aq_rollback(a->q), r = VG_ERR_DB;
	}
	free(text);
	return r;
}

/* ---- talking to the hub ---- */

/* What the result of a request means for us: 0 fine; 1 retry later
 * (back-off set); 2 the credential was refused; -1 fatal. */
static int
judge(struct agent *a, int r, struct hc_answer *ans)
{
	if (r == HC_OK)
		return 0;
	if (r == HC_PIN_MISMATCH) {
		vg_log(VG_LOG_ERROR, "%s", ans->message);
		return -1;
	}
	if (r == HC_HTTP && ans->status == 401) {
		credential_refused(a, ans);
		return 2;
	}
	hub_failed(a, ans, 0);
	return 1;
}

/* ---- the proxy ---- */

/* A new list of proxied devices from the hub. */
static void
proxied_take(struct agent *a, const json_t *list, const char *version)
{
	char err[512];

	err[0] = '\0';
	if (apx_take(a->px, list, version, err, sizeof(err)) != 0)
		vg_log(VG_LOG_ERROR, "proxied devices: %s", err);
	else
		vg_log(VG_LOG_INFO, "proxied devices: %zu (list %.12s)",
		    json_array_size(list), version);
}

/* What the proxy does, for `vigil-agent status` (written when it
 * changed). */
static void
proxied_status(struct agent *a)
{
	json_t *sum;
	char *text;

	if ((sum = apx_summary(a->px)) == NULL)
		return;
	if (json_integer_value(json_object_get(sum, "devices")) == 0 &&
	    a->proxied_status == NULL) {
		json_decref(sum);
		return;
	}
	text = json_dumps(sum, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(sum);
	if (text == NULL || (a->proxied_status != NULL &&
	    strcmp(text, a->proxied_status) == 0)) {
		free(text);
		return;
	}
	if (aq_set(a->q, "proxied", text) != 0) {
		state_write_failed(a, "the proxy's status");
		free(text);
		return;
	}
	free(a->proxied_status);
	a->proxied_status = text;
}

static int
do_poll(struct agent *a)
{
	struct hc_answer ans;
	struct aq_stats st;
	const json_t *pol, *plist;
	json_t *body;
	const char *ver, *pver;
	char *held = NULL, status[STATUS_MAX + 1], pheld[80];
	json_int_t backoff;
	int r;

	memset(&ans, 0, sizeof(ans));
	memset(&st, 0, sizeof(st));
	(void)aq_stats(a->q, &st);
	(void)aq_get(a->q, "policy_version", &held);
	snprintf(status, sizeof(status), "%.255s", a->last_error[0] != '\0' ?
	    a->last_error : "ok");
	apx_version(a->px, pheld, sizeof(pheld));
	body = json_pack("{s:s, s:I, s:s, s:s}", "policy_version",
	    held != NULL ? held : "", "queue", (json_int_t)st.events,
	    "status", status, "proxied_version", pheld);
	r = hc_request(a->hc, "agent/poll", body, &ans);
	json_decref(body);
	if ((r = judge(a, r, &ans)) != 0)
		goto out;
	hub_ok(a);
	take_settings(a, json_object_get(ans.body, "settings"));
	backoff = json_integer_value(json_object_get(ans.body, "backoff"));
	if (backoff > 0 && backoff <= 3600)
		a->hub_retry_at = vg_now() + (double)backoff;
	pol = json_object_get(ans.body, "policy");
	ver = json_string_value(json_object_get(ans.body, "policy_version"));
	if (json_is_object(pol) && ver != NULL && (held == NULL ||
	    strcmp(held, ver) != 0)) {
		vg_log(VG_LOG_INFO, "new policy %.12s", ver);
		if (policy_take(a, pol, ver) == 0 &&
		    policy_store(a, pol, ver) != 0)
			vg_log(VG_LOG_ERROR, "cannot store the policy in %s",
			    a->c->data_dir);
	}
	plist = json_object_get(ans.body, "proxied");
	pver = json_string_value(json_object_get(ans.body, "proxied_version"));
	if (json_is_array(plist) && pver != NULL && strcmp(pheld, pver) != 0)
		proxied_take(a, plist, pver);
	proxied_status(a);
out:
	free(held);
	hc_answer_clear(&ans);
	return r;
}

/*
 * The event a 400 from the hub names: the hub's JSON error
 * {"error": "bad_request", "message": "events[3].change..."}. -1 for any
 * other 400 (a proxy or middlebox, a malformed request as a whole): then
 * nothing is ever dropped, the batch is retried with back-off.
 */
static long
bad_index(const json_t *body, size_t n)
{
	const char *code = json_string_value(json_object_get(body, "error"));
	const char *msg = json_string_value(json_object_get(body, "message"));
	unsigned long i;
	char *end;

	if (code == NULL || strcmp(code, "bad_request") != 0 || msg == NULL ||
	    strncmp(msg, "events[", 7) != 0 || !isdigit((unsigned char)msg[7]))
		return -1;
	errno = 0;
	i = strtoul(msg + 7, &end, 10);
	if (errno != 0 || *end != ']' || i >= n)
		return -1;
	return (long)i;
}

/* After BAD_BATCH_TRIES refusals of the same batch, drops the event the
 * hub named, with an agent event saying so, so the queue never wedges. */
static void
batch_refused(struct agent *a, const int64_t *ids, size_t n,
    const json_t *body, const char *msg)
{
	json_t *note;
	char text[1024];
	int64_t drop;
	long bad;

	vg_log(VG_LOG_ERROR, "the hub refused a batch of %zu events from id "
	    "%lld: %s", n, (long long)ids[0], msg);
	if (ids[0] != a->bad_first_id) {
		a->bad_first_id = ids[0];
		a->bad_tries = 0;
	}
	if ((bad = bad_index(body, n)) < 0) {
		/* Not one event the hub names: the batch as a whole, which
		 * the next attempt reads back through the JSON parser. */
		a->send_strict = 1;
		return;
	}
	if (++a->bad_tries < BAD_BATCH_TRIES)
		return;
	drop = ids[bad];
	snprintf(text, sizeof(text), "event %lld dropped: the hub refused it "
	    "%d times: %s", (long long)drop, BAD_BATCH_TRIES, msg);
	note = json_pack("{s:{s:s, s:s}}", "agent", "code", "event-refused",
	    "message", text);
	if (note == NULL || aq_begin(a->q) != 0) {
		json_decref(note);
		return;
	}
	if (aq_event(a->q, "scan", (int64_t)time(NULL) * 1000000000LL, note,
	    NULL) != 0 || aq_commit(a->q, NULL, 0) != 0)
		aq_rollback(a->q);
	json_decref(note);
	if (aq_ack(a->q, &drop, 1) == 0)
		vg_log(VG_LOG_ERROR, "%s", text);
	a->bad_tries = 0;
}

/* A batch read from the queue and gzipped, ready to send. */
struct batch {
	struct aq_batch b;    /* its text is freed once gzipped */
	unsigned char *gz;
	size_t gzlen;
};

static void
batch_free(struct batch *b)
{
	aq_batch_free(&b->b);
	free(b->gz);
	memset(b, 0, sizeof(*b));
}

/* The events after after_id (0: from the oldest), gzipped. 0 or -1. */
static int
batch_prepare(struct agent *a, int64_t after_id, struct batch *b)
{
	memset(b, 0, sizeof(*b));
	/* The hub takes up to 10 times its batch_size in one request; more
	 * than batch_size is there only during a backlog, where fewer,
	 * larger requests save the hub a commit each. */
	if (aq_peek_text(a->q, after_id, a->send_small ? 1 :
	    (size_t)a->batch_size * BATCH_BACKLOG, a->send_small ?
	    BATCH_BYTES / 16 : BATCH_BYTES, a->send_strict, &b->b) != 0)
		return -1;
	if (b->b.n > 0 && hc_gzip(b->b.text, b->b.len, &b->gz, &b->gzlen) !=
	    0) {
		batch_free(b);
		return -1;
	}
	free(b->b.text);
	b->b.text = NULL;
	return 0;
}

/* One request to the hub, run on a thread of its own while the next
 * batch is prepared and the previous one's events leave the queue. */
struct inflight {
	struct agent *a;
	struct batch b;
	struct hc_answer ans;
	pthread_t t;
	int threaded;
	int r;
};

static void *
send_request(void *arg)
{
	struct inflight *f = arg;

	f->r = hc_request_gz(f->a->hc, "agent/events", f->b.gz, f->b.gzlen,
	    &f->ans);
	return NULL;
}

/* Starts sending f->b (taken over): on a thread, or here when no thread
 * can be started. */
static void
send_start(struct agent *a, struct inflight *f, struct batch *b)
{
	memset(f, 0, sizeof(*f));
	f->a = a;
	f->b = *b;
	memset(b, 0, sizeof(*b));
	f->threaded = pthread_create(&f->t, NULL, send_request, f) == 0;
	if (!f->threaded)
		send_request(f);
}

/* Waits for f's answer: 0 with the acknowledged ids in *ids (malloc'd)
 * and *k, else as judge(). */
static int
send_answer(struct agent *a, struct inflight *f, int64_t **ids, size_t *k)
{
	const json_t *acked, *v;
	size_t n = f->b.b.n, i;
	int r;

	if (f->threaded)
		pthread_join(f->t, NULL);
	f->threaded = 0;
	*ids = NULL;
	*k = 0;
	r = f->r;
	if (r == HC_HTTP && f->ans.status == 400) {
		batch_refused(a, f->b.b.ids, n, f->ans.body, f->ans.message);
		hub_failed(a, &f->ans, 0);
		return 1;
	}
	if (r == HC_HTTP && f->ans.status == 413 && !a->send_small) {
		/* A hub whose max_body was lowered: one event at a time
		 * until a batch goes through again. */
		vg_log(VG_LOG_WARN, "the hub refused %zu events as too large; "
		    "sending them one at a time", n);
		a->send_small = 1;
		hub_failed(a, &f->ans, 0);
		return 1;
	}
	if ((r = judge(a, r, &f->ans)) != 0)
		return r;
	hub_ok(a);
	a->send_strict = 0;
	a->send_small = 0;
	acked = json_object_get(f->ans.body, "acked");
	if ((*ids = calloc(json_array_size(acked) + 1, sizeof(**ids))) ==
	    NULL)
		return 1;
	json_array_foreach(acked, i, v)
		if (json_is_integer(v))
			(*ids)[(*k)++] = (int64_t)json_integer_value(v);
	vg_log(VG_LOG_DEBUG, "sent %zu events, %zu acknowledged", n, *k);
	if (*k == 0) {
		/* An answer that acknowledges nothing would make us resend
		 * forever without a pause. */
		snprintf(f->ans.message, sizeof(f->ans.message), "the hub "
		    "acknowledged none of %zu events", n);
		hub_failed(a, &f->ans, 0);
		free(*ids);
		*ids = NULL;
		return 1;
	}
	return 0;
}

static void
send_done(struct inflight *f)
{
	batch_free(&f->b);
	hc_answer_clear(&f->ans);
}

/*
 * Whether to stop. SIGTERM and SIGINT are blocked but on the main
 * thread's wait (agent_wait()), so during a long catch-up they are only
 * pending: look for them, and the handler runs at the next wait.
 */
static int
stopping(struct agent *a)
{
	sigset_t pending;

	if (!*a->stop && sigpending(&pending) == 0 &&
	    (sigismember(&pending, SIGTERM) == 1 ||
	    sigismember(&pending, SIGINT) == 1))
		*a->stop = 1;
	return *a->stop != 0;
}

/*
 * Sends until the queue is empty, the hub fails or we stop. One request
 * is in flight at a time, in order; while the hub stores a batch, the
 * next one is read and compressed, and it is sent as soon as the answer
 * acknowledges the whole batch, before that batch leaves the queue.
 * Anything else (a failure, a partial acknowledgement) drops the
 * prepared batch and starts again from the oldest queued event.
 */
static int
send_all(struct agent *a)
{
	struct inflight f[2];
	struct batch next;
	int64_t *ids;
	size_t k;
	int r, cur = 0, have_next;

	memset(f, 0, sizeof(f));
	for (;;) {
		if (stopping(a))
			return 0;
		if (batch_prepare(a, 0, &next) != 0) {
			vg_log(VG_LOG_ERROR, "cannot read the queue");
			return 1;
		}
		if (next.b.n == 0) {
			batch_free(&next);
			return 0;
		}
		send_start(a, &f[cur], &next);
		do {
			have_next = !stopping(a) && batch_prepare(a,
			    f[cur].b.b.ids[f[cur].b.b.n - 1], &next) == 0;
			if (have_next && next.b.n == 0) {
				batch_free(&next);
				have_next = 0;
			}
			r = send_answer(a, &f[cur], &ids, &k);
			if (have_next && (r != 0 || k != f[cur].b.b.n)) {
				batch_free(&next);
				have_next = 0;
			}
			if (have_next)
				send_start(a, &f[!cur], &next);
			if (r == 0 && aq_ack(a->q, ids, k) != 0) {
				/* Resending would be harmless (the hub keeps
				 * one copy) but endless: wait, as for a hub
				 * failure, and start again from the oldest. */
				aq_last_error(a->q, f[cur].ans.message,
				    sizeof(f[cur].ans.message));
				vg_log(VG_LOG_ERROR, "cannot remove the sent "
				    "events from the queue: %s",
				    f[cur].ans.message);
				f[cur].ans.retry_after = -1;
				hub_failed(a, &f[cur].ans, 0);
				r = 1;
			}
			free(ids);
			send_done(&f[cur]);
			cur = !cur;
			if (r != 0 && have_next) {
				/* Already on its way: collect its answer so
				 * the thread ends; its events stay queued. */
				(void)send_answer(a, &f[cur], &ids, &k);
				free(ids);
				send_done(&f[cur]);
			}
			if (r != 0)
				return r;
			/* The queue shrank: a drop summary may be due. */
			pthread_mutex_lock(&a->mu);
			pthread_cond_signal(&a->cond);
			pthread_mutex_unlock(&a->mu);
		} while (have_next);
	}
}

/* ---- the scan thread ---- */

/*
 * Lowers this thread's CPU and I/O priority for a scan (low 1) and puts
 * back the ones it had before (low 0), so that threads started from here
 * between scans (the realtime watcher) do not inherit the scan's:
 * realtime must keep up with bursts whatever the scans do. Putting a
 * higher priority back needs CAP_SYS_NICE, which the agent has as root;
 * without it the watcher runs at the scan's priority, and we say so.
 */
static void
scan_priority(struct agent *a, int low)
{
	const struct agent_conf *c = a->c;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	long io;

	if (low) {
		errno = 0;
		a->saved_nice = getpriority(PRIO_PROCESS, (id_t)tid);
		if (errno != 0)
			a->saved_nice = 0;
		io = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
		a->saved_ioprio = io < 0 ? 0 : (int)io;
	}
	if (setpriority(PRIO_PROCESS, (id_t)tid, low ? c->scan_nice :
	    a->saved_nice) != 0)
		vg_log(low ? VG_LOG_DEBUG : VG_LOG_WARN, "cannot %s the scan "
		    "thread's CPU priority: %s", low ? "lower" : "restore",
		    strerror(errno));
	if (c->scan_idle_io && syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS,
	    tid, low ? IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT :
	    a->saved_ioprio) != 0)
		vg_log(low ? VG_LOG_DEBUG : VG_LOG_WARN, "cannot %s the scan "
		    "thread's I/O priority: %s", low ? "lower" : "restore",
		    strerror(errno));
}

/* One scan of the files, then the collectors. */
static void
scan_once(struct agent *a, const struct agent_policy *p)
{
	struct mon_scan_result res;
	struct collect_opts co;
	char err[ERR_MAX];
	int r;

	memset(&res, 0, sizeof(res));
	err[0] = '\0';
	scan_priority(a, 1);
	if ((r = mon_scan(a->mon, &a->scan_abort, &res, err,
	    sizeof(err))) != 0) {
		if (r != VG_ERR_INTERRUPTED)
			vg_log(VG_LOG_ERROR, "scan: %s", err[0] != '\0' ? err :
			    vg_strerror(r));
	} else if (p->rules != NULL) {
		vg_log(VG_LOG_INFO, "scan: %" PRIu64 " items, %" PRIu64
		    " added, %" PRIu64 " removed, %" PRIu64 " changed in "
		    "%.1f s", res.items, res.added, res.removed, res.changed,
		    res.seconds);
	}
	if (p->collect != 0 && !a->scan_abort) {
		memset(&co, 0, sizeof(co));
		co.which = p->collect;
		co.commands = p->commands;
		co.ncommands = p->ncommands;
		co.approved_file = a->c->approved_commands;
		err[0] = '\0';
		if ((r = collect_run(&co, a->q, err, sizeof(err))) != 0)
			vg_log(VG_LOG_ERROR, "collect: %s", err[0] != '\0' ?
			    err : vg_strerror(r));
	}
	if (aq_set_i64(a->q, "last_scan", (int64_t)time(NULL)) != 0)
		state_write_failed(a, "the scan time");
	scan_priority(a, 0);
	/* The scan's buffers are gone; give the pages back. */
	malloc_trim(0);
}

/* Applies a policy handed over by the main thread. */
static void
scan_apply(struct agent *a, struct agent_policy **cur,
    struct agent_policy *p)
{
	char err[ERR_MAX];

	if (mon_set_policy(a->mon, p, err, sizeof(err)) != 0) {
		vg_log(VG_LOG_ERROR, "policy %.12s: %s", p->version, err);
		agent_policy_free(p);
		return;
	}
	/* The monitor held the old one until now. */
	agent_policy_free(*cur);
	*cur = p;
}

static void *
scan_main(void *arg)
{
	struct agent *a = arg;
	struct agent_policy *cur = NULL, *p;
	double next = 0, now, wait;
	int due;

	pthread_mutex_lock(&a->mu);
	while (!a->quit) {
		p = a->pending;
		a->pending = NULL;
		due = a->scan_wanted;
		a->scan_wanted = 0;
		a->scan_abort = 0;
		pthread_mutex_unlock(&a->mu);

		if (p != NULL) {
			scan_apply(a, &cur, p);
			next = 0;          /* scan the new policy at once */
		}
		now = vg_now();
		if (cur != NULL && (due || now >= next ||
		    mon_take_rescan(a->mon) || aq_summarize_drops(a->q) == 1)) {
			scan_once(a, cur);
			next = vg_now() + (double)(cur->schedule > 0 ?
			    cur->schedule : 3600);
		}

		pthread_mutex_lock(&a->mu);
		if (a->quit || a->pending != NULL || a->scan_wanted)
			continue;
		wait = cur != NULL ? next - vg_now() : SCAN_TICK;
		if (wait > SCAN_TICK)
			wait = SCAN_TICK;
		vg_cond_wait_for(&a->cond, &a->mu, wait);
	}
	pthread_mutex_unlock(&a->mu);
	/* Stop the watcher before the policy it reads goes. */
	mon_free(a->mon);
	a->mon = NULL;
	agent_policy_free(cur);
	return NULL;
}

/* ---- start and stop ---- */

static int
agent_open(struct agent *a, char *err, size_t errlen)
{
	struct aq_limits lim;
	struct mon_opts mo;
	struct apx_opts po;
	struct hc_opts ho;
	char path[PATH_MAX];
	int r;

	if ((r = hd_load(a->c->hub_details, &a->hd, err, errlen)) != 0)
		return r;
	warn_open_secrets(a->c->hub_details, &a->hd);
	if (make_data_dir(a->c->data_dir, err, errlen) != 0 ||
	    take_pid_lock(a, err, errlen) != 0)
		return VG_ERR_IO;
	lim.max_events = a->c->queue_max_events;
	lim.max_bytes = a->c->queue_max_bytes;
	if ((r = aq_open(a->c->data_dir, &lim, &a->q, err, errlen)) != 0)
		return r;
	aq_set_notify(a->q, agent_wake, a);
	if (aq_set(a->q, "hub_url", a->hd.url) != 0 ||
	    aq_set(a->q, "last_error", "") != 0 ||
	    aq_set(a->q, "proxied", "") != 0) {
		snprintf(err, errlen, "cannot write to %s", aq_path(a->q));
		return VG_ERR_DB;
	}
	memset(&ho, 0, sizeof(ho));
	ho.hd = &a->hd;
	ho.ca_file = a->c->ca_file;
	if ((r = hc_new(&ho, &a->hc, err, errlen)) != 0)
		return r;
	memset(&po, 0, sizeof(po));
	po.hd = &a->hd;
	po.ca_file = a->c->ca_file;
	po.data_dir = a->c->data_dir;
	po.profiles_dir = a->c->profiles_dir;
	po.parallel = a->c->proxy_parallel;
	po.timeout_s = a->c->proxy_timeout;
	if ((r = apx_new(&po, &a->px, err, errlen)) != 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s", a->c->data_dir,
	    AGENT_CREDENTIAL_FILE);
	if ((a->credential = read_small_file(path, 256)) == NULL &&
	    errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return VG_ERR_IO;
	}
	if (a->credential != NULL && a->credential[0] == '\0') {
		free(a->credential);
		a->credential = NULL;
	}
	if (a->credential != NULL) {
		hc_set_credential(a->hc, a->credential);
		if (apx_set_hub(a->px, &a->hd, a->credential) != 0) {
			snprintf(err, errlen, "out of memory");
			return VG_ERR_NOMEM;
		}
		a->registered = 1;
	}
	if (a->credential == NULL && a->hd.password == NULL) {
		snprintf(err, errlen, "not registered: %s has no Password",
		    a->c->hub_details);
		return VG_ERR_INVAL;
	}
	memset(&mo, 0, sizeof(mo));
	mo.data_dir = a->c->data_dir;
	mo.q = a->q;
	mo.debounce_ms = a->c->debounce_ms;
	mo.workers = 1;
	mo.rate_limit = a->c->scan_rate;
	mo.queued = agent_wake;
	mo.rescan = scan_kick;
	mo.arg = a;
	return mon_new(&mo, &a->mon, err, errlen);
}

static void
agent_close(struct agent *a)
{
	/* Running collections end first: their results still reach the
	 * hub while the connection is there. */
	apx_free(a->px);
	a->px = NULL;
	free(a->proxied_status);
	if (a->scan_started) {
		pthread_mutex_lock(&a->mu);
		a->quit = 1;
		a->scan_abort = 1;
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->scan_thread, NULL);
	}
	mon_free(a->mon);
	agent_policy_free(a->pending);
	if (a->q != NULL) {
		set_state(a, "stopped");
		aq_set_notify(a->q, NULL, NULL);
		aq_close(a->q);
	}
	hc_free(a->hc);
	hd_free(&a->hd);
	if (a->credential != NULL)
		explicit_bzero(a->credential, strlen(a->credential));
	free(a->credential);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	if (a->efd >= 0)
		close(a->efd);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->mu);
}

/* --once: register if needed, poll, scan and collect, send everything. */
static int
run_once(struct agent *a)
{
	struct agent_policy *p;
	int r;

	if (a->hd.password != NULL || a->credential == NULL)
		if ((r = do_register(a)) != 0)
			return EXIT_FAIL;
	if ((r = do_poll(a)) == 2 && a->hd.password != NULL &&
	    do_register(a) == 0)
		r = do_poll(a);
	if (r != 0)
		return EXIT_FAIL;
	pthread_mutex_lock(&a->mu);
	p = a->pending;
	a->pending = NULL;
	a->scan_abort = 0;
	pthread_mutex_unlock(&a->mu);
	if (p != NULL) {
		struct agent_policy *cur = NULL;

		scan_apply(a, &cur, p);
		if (cur != NULL)
			scan_once(a, cur);
		mon_free(a->mon);
		a->mon = NULL;
		agent_policy_free(cur);
	} else {
		vg_log(VG_LOG_WARN, "no policy yet: nothing to scan");
	}
	if (!*a->stop && (r = apx_run_once(a->px, a->stop)) > 0)
		vg_log(VG_LOG_WARN, "%d proxied devices could not be collected "
		    "or reported", r);
	proxied_status(a);
	if (*a->stop)
		return EXIT_OK;
	if (send_all(a) != 0) {
		vg_log(VG_LOG_ERROR, "events kept in the queue: %s",
		    a->last_error);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* The daemon's loop on the main thread. */
static int
run_loop(struct agent *a)
{
	struct aq_stats st;
	double now, next_poll = 0, wake;
	int r, woken = 1;

	while (!*a->stop) {
		now = vg_now();
		if (now < a->hub_retry_at) {
			agent_wait(a, a->hub_retry_at - now);
			continue;
		}
		if (!a->registered && a->hd.password == NULL) {
			/* Waiting for an administrator to put a fresh
			 * Password into HubDetails.xml. */
			struct hc_answer none;

			memset(&none, 0, sizeof(none));
			credential_refused(a, &none);
			if (a->hd.password == NULL)
				continue;
		}
		if (!a->registered) {
			if ((r = do_register(a)) < 0)
				return EXIT_FAIL;
			if (r != 0)
				continue;
			next_poll = 0;
		}
		if (now >= next_poll) {
			if ((r = do_poll(a)) < 0)
				return EXIT_FAIL;
			if (r != 0)
				continue;
			next_poll = vg_now() + a->poll_period;
			woken = 1;
		}
		if (woken) {
			if ((r = send_all(a)) < 0)
				return EXIT_FAIL;
			if (r != 0)
				continue;
		}
		set_state(a, "connected");
		wake = next_poll - vg_now();
		if (aq_stats(a->q, &st) == 0 && st.events > 0 && wake > 1)
			wake = 1;   /* a send the notification raced with */
		woken = agent_wait(a, wake);
		if (woken)   /* gather the rest of a burst into the batch */
			agent_wait(a, GATHER_MS / 1000.0);
		woken = 1;
	}
	return EXIT_OK;
}

int
agent_run(const struct agent_conf *c, volatile sig_atomic_t *stop)
{
	struct agent a;
	sigset_t block;
	char err[ERR_MAX];
	int ret = EXIT_FAIL;

	memset(&a, 0, sizeof(a));
	a.c = c;
	a.stop = stop;
	a.lock_fd = -1;
	a.poll_period = c->poll_period > 0 ? c->poll_period : POLL_DEFAULT;
	a.batch_size = BATCH_DEFAULT;
	pthread_mutex_init(&a.mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&a.cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	if ((a.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		vg_log(VG_LOG_ERROR, "eventfd: %s", strerror(errno));
		goto out;
	}
	/* Signals wait for ppoll() in agent_wait(): threads started from
	 * here on inherit the blocked mask and never take them. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (!c->once)
		pthread_sigmask(SIG_BLOCK, &block, &a.waitmask);
	else
		pthread_sigmask(SIG_BLOCK, NULL, &a.waitmask);

	err[0] = '\0';
	if (agent_open(&a, err, sizeof(err)) != 0) {
		vg_log(VG_LOG_ERROR, "%s", err);
		goto out;
	}
	vg_log(VG_LOG_INFO, "vigil-agent %s started: hub %s, state in %s",
	    VIGIL_VERSION, a.hd.url, c->data_dir);
	policy_load_stored(&a);
	if (c->once) {
		ret = run_once(&a);
		goto out;
	}
	if (a.hd.password != NULL) {
		/* A fresh Password: register again (with our credential). */
		a.registered = 0;
	}
	if (pthread_create(&a.scan_thread, NULL, scan_main, &a) != 0) {
		vg_log(VG_LOG_ERROR, "cannot start the scan thread");
		goto out;
	}
	a.scan_started = 1;
	ret = run_loop(&a);
	if (ret == EXIT_OK)
		vg_log(VG_LOG_INFO, "stopping");
out:
	agent_close(&a);
	if (!c->once)
		pthread_sigmask(SIG_SETMASK, &a.waitmask, NULL);
	return ret;
}
