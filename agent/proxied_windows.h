/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef AGENT_PROXIED_WINDOWS_H
#define AGENT_PROXIED_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "client.h"
#include "proxied_store.h"
#include "remote.h"
#include "session.h"
#include "windows.h"

/*
 * Windows hosts the proxy agent collects over SMB (proxy/windows.h): the
 * registry keys and the files the device's merged policy names
 * ("registry", "registry_depth" (default 8), "windows_files",
 * "windows_include", "windows_exclude", "hash", "max_hash_size"),
 * compared with the device's baseline (proxied_store.h) and sent to the
 * hub as the device's events.
 *
 * Comparison, per kind (registry keys, registry values, files): an item
 * added, removed or changed (vg_item_diff) is an event; the first
 * collection of a kind is silent (the baseline; one "baseline" agent
 * event on the device's first collection). Options made wider or
 * narrower since the last collection (keys, files, depth, globs) add or
 * drop the items they bring into view or out of it silently. What the
 * baseline holds at or below a path of the result's unread list (a key
 * or folder denied, a failed read) stays as it is: neither removed nor
 * changed. Each of the result's problems is sent as a "collect-error"
 * agent event when it was not among the last collection's (a key denied
 * to the account is said once, not at every collection).
 */

/* proxy_win_collect()'s signature, so tests can stand in for a host. */
typedef int (*apw_source_fn)(void *arg, const struct proxy_target *t,
    const struct proxy_credentials *cred, const struct proxy_win_opts *o,
    unsigned int timeout_ms, struct proxy_win_result **out, char *err,
    size_t errlen);

/*
 * Collects one windows-type proxied device dev (its hub list entry:
 * "id", "policy") from t as cred with proxy_win_collect(), compares and
 * sends the change events through hc (POST agent/events with device_id
 * = the proxied device; a pending batch is re-sent first, and until the
 * hub took it nothing new is collected). Returns 0, or an error with
 * *code set to the result code ("connect", "timeout", "auth",
 * "protocol", "other") and err a message without secrets. Blocks up to
 * timeout_ms (plus the hub's requests).
 */
int apw_collect(const char *data_dir, struct hc *hc, const json_t *dev,
    const struct proxy_target *t, const struct proxy_credentials *cred,
    unsigned int timeout_ms, const char **code, char *err, size_t errlen);

/* apw_collect() with another delivery (tests, probe tools). */
int apw_collect_with(const char *data_dir, aps_send_fn send, void *arg,
    const json_t *dev, const struct proxy_target *t,
    const struct proxy_credentials *cred, unsigned int timeout_ms,
    const char **code, char *err, size_t errlen);

/* apw_collect_with() with another host than proxy_win_collect()'s
 * (unit tests): source(source_arg, ...) gives the result. */
int apw_collect_from(const char *data_dir, aps_send_fn send, void *arg,
    apw_source_fn source, void *source_arg, const json_t *dev,
    const struct proxy_target *t, const struct proxy_credentials *cred,
    unsigned int timeout_ms, const char **code, char *err, size_t errlen);

/* Removes DATA_DIR/proxied/<id>.db of a device no longer assigned. */
void apw_forget(const char *data_dir, int64_t device_id);

#endif
