/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef AGENT_PROXIED_LINUX_H
#define AGENT_PROXIED_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "client.h"
#include "proxied_store.h"
#include "remote.h"

/*
 * Linux hosts the proxy agent collects over SSH (proxy/linux.h): the
 * files, content and system configuration the device's policy names,
 * compared with the device's baseline the way the local agent compares
 * (policy rules, the attributes they ignore, diffs of content-tracked
 * files, silent policy widening and narrowing, a silent first
 * collection), and sent to the hub as the device's events.
 *
 * State: DATA_DIR/proxied/<device id>.db (proxied_store.h): the
 * baseline, the last content of tracked files and the pending batch,
 * re-sent with the same ids until the hub acknowledged it (nothing lost,
 * nothing doubled).
 *
 * sudo: with "sudo": true in the policy the script runs as root through
 * `sudo -n`, else `sudo -S -p MARKER` answered with the credential's
 * enable_secret (or password) only at that random marker.
 */

/* Collects one linux-type proxied device: proxy_ssh_connect(t, cred),
 * runs the collection script under dev's "policy", compares with the
 * device's baseline in DATA_DIR/proxied/<id>.db and sends the change
 * events to the hub through hc (POST agent/events with device_id = the
 * proxied device; pending batch re-sent first). fp receives the host key
 * fingerprint seen. Returns 0, or an error with *code set to the result
 * code ("connect", "timeout", "auth", "hostkey", "protocol", "other")
 * and err a message without secrets. Blocks up to timeout_ms. */
int apl_collect(const char *data_dir, struct hc *hc, const json_t *dev,
    const struct proxy_target *t, const struct proxy_credentials *cred,
    unsigned int timeout_ms, char *fp, const char **code, char *err,
    size_t errlen);

/* Removes DATA_DIR/proxied/<id>.db of a device no longer assigned. */
void apl_forget(const char *data_dir, int64_t device_id);

/* The delivery of one batch (proxied_store.h). */
typedef aps_send_fn apl_send_fn;

/* apl_collect() with another delivery (tests, the probe tool). */
int apl_collect_with(const char *data_dir, apl_send_fn send, void *arg,
    const json_t *dev, const struct proxy_target *t,
    const struct proxy_credentials *cred, unsigned int timeout_ms,
    char *fp, const char **code, char *err, size_t errlen);

#endif
