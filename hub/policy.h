/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef HUB_POLICY_H
#define HUB_POLICY_H

#include <stddef.h>

#include <jansson.h>

/*
 * Group policies: what a group asks its devices to watch. An admin sets
 * one JSON document per group (PUT /groups/{id}/policy); a device gets the
 * merge of the documents of every group it is in, identified by a version
 * string (the SHA-256 of the merge's canonical JSON) so an agent can tell
 * whether its copy is current. Pure computation: nothing here blocks or
 * touches the store.
 *
 * A document is an object with these fields, all optional:
 *   paths, content    arrays of absolute paths (≤ 1000, each ≤ 4096 bytes)
 *   include, exclude  arrays of patterns (≤ 1000, each ≤ 4096 bytes)
 *   hash              "sha256", "sha384" or "sha512"
 *   realtime          true or false
 *   schedule          seconds between scans, 60..604800
 *   max_hash_size     bytes: an integer, or a string such as "512M", "1G"
 *   system            array of distinct collectors of system configuration:
 *                     "packages", "services", "users", "groups", "ports",
 *                     "sysctl"
 *   commands          array (≤ 100) of command lines whose output agents
 *                     track, each 1..1024 bytes, starting with an absolute
 *                     path, without control characters
 *   registry          array of registry keys ("HKLM\\SOFTWARE\\X",
 *                     "HKU\\..."; also HKEY_LOCAL_MACHINE, HKEY_USERS)
 *                     that proxies watch on Windows devices, as
 *                     proxy_win_key_check() accepts them (≤ 1000, each
 *                     ≤ 4096 bytes)
 *   registry_depth    0..64: levels of subkeys walked below each key, and
 *                     of subfolders below each folder of windows_files
 *                     (the proxy's default when absent: 8)
 *   windows_files     array of Windows paths ("C:\\Windows\\win.ini", a
 *                     file or a folder), as proxy_win_file_check() accepts
 *                     them (≤ 1000, each ≤ 4096 bytes)
 *   windows_include, windows_exclude
 *                     arrays of case-insensitive globs over registry and
 *                     file item paths ('*' crosses '\\'), ≤ 1000 each,
 *                     1..4096 bytes, without control characters
 *
 * The registry and windows_* fields are for Windows devices (proxied, of
 * type windows); agents and Linux hosts ignore them, and Windows devices
 * ignore paths, content, include, exclude, system and commands.
 *
 * Commands need the device's consent too: an agent runs a command line
 * only when the same line is also in its local approved-commands file
 * (default /etc/vigil/approved-commands, owned by root). The hub alone
 * can never make agents run anything.
 */

#define HUB_POLICY_MAX_ENTRIES 1000
#define HUB_POLICY_MAX_STRING 4096
#define HUB_POLICY_MAX_COMMANDS 100
#define HUB_POLICY_MAX_COMMAND 1024
#define HUB_POLICY_SCHEDULE_MIN 60
#define HUB_POLICY_SCHEDULE_MAX 604800
#define HUB_POLICY_DEPTH_MAX 64     /* registry_depth: PROXY_WIN_DEPTH_MAX */

/* Length of a version string: 64 hex digits and a NUL. */
#define HUB_POLICY_VERSION_LEN 65

/*
 * Checks a policy document. Returns 0 when valid, VG_ERR_INVAL with a
 * message naming the field in err ("schedule: must be an integer from 60
 * to 604800") otherwise.
 */
int hub_policy_validate(const json_t *doc, char *err, size_t errlen);

/*
 * Merges the policies of a device's groups: list is an array of
 * {"group_id", "policy", ...} objects (store.h device_policies()); each
 * policy must have passed hub_policy_validate(). Arrays become the sorted
 * union of their strings (the caps on entries are per document: a union
 * may hold more), hash the strongest, realtime true if any is,
 * schedule the smallest, max_hash_size the largest (as integer bytes),
 * registry_depth the largest, and
 * "groups" lists the ids of the groups whose policy is not empty, in
 * ascending order. No such group gives {}. The result does not depend on
 * the order of list.
 *
 * Returns 0 and a new object in *out (caller json_decref()s), or
 * VG_ERR_NOMEM, or VG_ERR_INVAL (message in err) for an entry that is not
 * a valid policy.
 */
int hub_policy_merge(const json_t *list, json_t **out, char *err,
    size_t errlen);

/*
 * The version of a merged policy: lowercase hex SHA-256 of
 * json_dumps(merged, JSON_SORT_KEYS | JSON_COMPACT). Returns 0,
 * VG_ERR_NOMEM or VG_ERR_CRYPTO.
 */
int hub_policy_version(const json_t *merged,
    char version[HUB_POLICY_VERSION_LEN]);

#endif
