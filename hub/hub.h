/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef HUB_H
#define HUB_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "vg_log.h"

/*
 * vigil-hub: the process-wide context shared by every module of the hub.
 * One struct hub exists per process; request handlers reach it through
 * struct hub_req (http.h). Fields are set at start and read-only after,
 * except the atomics.
 */

struct hub_store;
struct hub_auth;
struct hub_creds;

enum hub_log_level { HUB_LOG_ERROR = VG_LOG_ERROR, HUB_LOG_WARN =
	VG_LOG_WARN, HUB_LOG_INFO = VG_LOG_INFO, HUB_LOG_DEBUG = VG_LOG_DEBUG };

/* Settings from /etc/vigil/hub.conf and the command line (conf.h). */
struct hub_conf {
	char *conf_path;          /* the file read, or NULL */
	char *listen_host;        /* "0.0.0.0", "127.0.0.1", "::" ... */
	int port;                 /* 443 */
	char *data_dir;           /* /var/lib/vigil-hub */
	char *database;           /* "" = <data_dir>/hub.db (SQLite); or a
	                             file path; later postgresql://... */
	char *tls_cert, *tls_key; /* PEM files; NULL = generated in data_dir */
	char *public_url;         /* Url written into HubDetails.xml; NULL =
	                             https://<host name>:<port>/api/ */
	int log_level;            /* enum hub_log_level */
	int threads;              /* HTTP worker threads (default 4) */
	int retention_days;       /* 120 */
	int offline_grace;        /* seconds, 300 */
	int poll_period;          /* seconds told to agents, 300 */
	int batch_size;           /* events per batch told to agents, 1000 */
	size_t max_body;          /* request body cap after gunzip, 16 MiB */
	size_t max_body_anonymous; /* the cap without a valid credential,
	                             64 KiB (never above max_body) */
	size_t max_body_total;    /* bodies buffered at once, all requests
	                             together, 64 MiB (>= max_body) */
	size_t max_header;        /* header bytes cap, 16 KiB */
	int client_timeout;       /* seconds of silence before a connection
	                             is dropped, 30 */
	int max_connections;      /* total, 4096 */
	int max_per_ip;           /* connections per source address and
	                             worker thread, 64; 0 = no cap */
	int lockout_attempts;     /* failed sign-ins before a lockout, 5 */
	int lockout_window;       /* seconds the failures are counted over, 600 */
	int lockout_seconds;      /* how long a lockout lasts, 600 */
	int session_idle;         /* seconds, 3600 */
	int session_max;          /* seconds, 43200 */
	int backoff_inflight;     /* requests in progress above which agents
	                             are told to back off, 256 */
	char *console_dir;        /* serve the console from this folder,
	                             read per request; NULL = the files
	                             built in (console.h) */
	char *profiles_dir;       /* device profiles (NAME.profile) that
	                             proxied network devices name; default
	                             the installed share/vigil/profiles */
	char *credential_key;     /* the key sealing proxied devices'
	                             secrets (creds.h); NULL =
	                             <data_dir>/credentials.key */
};

struct hub {
	struct hub_conf conf;
	struct hub_store *store;
	struct hub_auth *auth;         /* lockout tables, enrolment cache */
	struct hub_creds *creds;       /* the credential key (creds.h); NULL
	                                  when it could not be opened */
	char fingerprint[96];          /* "AB:CD:..." SHA-256 of the cert DER */
	char thumbprint[65];           /* same, 64 hex digits, no colons */
	char *cert_pem, *key_pem;      /* loaded for the TLS layer */
	volatile sig_atomic_t stop;    /* set by SIGTERM/SIGINT */
	atomic_int inflight;           /* requests being handled now */
	atomic_llong requests;         /* requests handled since start */
};

/* Logging is core's (vg_log.h): one line to stderr (journald takes it
 * from there), "vigil-hub: LEVEL: message". Never pass a secret
 * (password, token, credential) in the message. */
#define hub_log vg_log
#define hub_log_set_level vg_log_set_level
#define hub_log_parse_level vg_log_parse_level

/* Seconds since the epoch (wall clock). */
int64_t hub_now(void);

#endif
