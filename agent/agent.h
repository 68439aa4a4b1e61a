/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/*
 * vigil-agent: settings and the main loop.
 *
 * Files:
 *   /etc/vigil/HubDetails.xml     where the hub is (hubdetails.h)
 *   /etc/vigil/agent.conf         optional settings, "key = value" lines
 *   DATA_DIR (/var/lib/vigil-agent, 0700):
 *     credential                  the agent credential, 0600
 *     state.db                    queue and state (queue.h)
 *     baseline.db                 file baseline (monitor.h)
 *     agent.pid                   pid, write-locked while the agent runs
 *     proxied/                    baselines of proxied Linux hosts
 *
 * Threads: the main thread talks to the hub (register, poll every
 * poll_period, send the queue as soon as it holds events, back-off with
 * jitter while the hub is away); a scan thread runs scans and collectors
 * at start, on schedule and on request, at the configured CPU and I/O
 * priority; the watcher thread (watch.h) handles realtime changes.
 */

struct agent_conf {
	char *hub_details;          /* --hub-details / hub_details */
	char *data_dir;             /* --data-dir / data_dir */
	char *ca_file;              /* ca_file: verify the hub against it */
	char *approved_commands;    /* approved_commands */
	uint64_t queue_max_events;  /* queue_max_events, default 1000000 */
	uint64_t queue_max_bytes;   /* queue_max_bytes, default 1G */
	int poll_period;            /* poll_period asked of the hub; 0 hub's */
	int scan_nice;              /* scan_nice 0..19, default 10 */
	int scan_idle_io;           /* scan_io = idle|best-effort, default idle */
	uint64_t scan_rate;         /* scan_rate bytes/s, "50M"; 0 none */
	unsigned debounce_ms;       /* realtime_debounce_ms, default 100 */
	unsigned proxy_parallel;    /* proxy_parallel 1..256, default 16 */
	char *profiles_dir;         /* profiles_dir: device profiles */
	unsigned proxy_timeout;     /* proxy_timeout seconds, default 300 */
	int log_level;              /* log_level error|warn|info|debug */
	int once;                   /* --once */
};

#define AGENT_CONF_DEFAULT_PATH "/etc/vigil/agent.conf"
#define AGENT_HUB_DETAILS_DEFAULT_PATH "/etc/vigil/HubDetails.xml"
#define AGENT_DATA_DIR_DEFAULT "/var/lib/vigil-agent"
/* share/vigil/profiles of the install prefix (agent/CMakeLists.txt). */
#ifndef AGENT_PROFILES_DIR_DEFAULT
#define AGENT_PROFILES_DIR_DEFAULT "/usr/share/vigil/profiles"
#endif

/* Defaults, then the file (optional when absent and path is the
 * default); errors name FILE:LINE and the key. */
int agent_conf_defaults(struct agent_conf *c);
int agent_conf_load(struct agent_conf *c, const char *path,
    int must_exist, char *err, size_t errlen);
void agent_conf_free(struct agent_conf *c);
/* One setting by its file key (also for command-line options); errors
 * name the key and what it expects. 0, VG_ERR_INVAL or VG_ERR_NOMEM. */
int agent_conf_set(struct agent_conf *c, const char *key,
    const char *value, char *err, size_t errlen);

/*
 * Runs the agent until *stop (SIGTERM, SIGINT), or once with c->once.
 * Exit codes: 0; 1 a fatal error (message logged: a bad HubDetails.xml,
 * a certificate that does not match the Thumbprint, a state file that is
 * not ours); 2 usage.
 */
int agent_run(const struct agent_conf *c, volatile sig_atomic_t *stop);

/* `vigil-agent status [--json]`: prints the state from DATA_DIR. */
int agent_status(const struct agent_conf *c, int json);

#endif
