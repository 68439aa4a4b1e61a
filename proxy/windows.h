/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef PROXY_WINDOWS_H
#define PROXY_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

#include "remote.h"
#include "vg_hash.h"
#include "vg_item.h"

/*
 * Windows hosts without an agent, over SMB (TCP 445) with Samba's
 * libsmbclient: the registry through the Remote Registry service
 * (\PIPE\winreg on IPC$, MS-RRP in proxy/msrrp.h) and files through the
 * administrative shares (C$ for C:\ ...). Outbound only.
 *
 * Items (kinds and properties; docs/agent.md "Windows hosts over SMB"):
 *  - VG_KIND_REGKEY, path "HKLM\SOFTWARE\Test" (hive HKLM or HKU, the
 *    key names as the server spells them), props "security" (the key's
 *    owner, group and DACL in SDDL, msrrp_sd_text()) and "class" (only
 *    when not empty). The last-write time is not tracked: every value
 *    change would also change its key.
 *  - VG_KIND_REGVALUE, path KEY + "\" + value name ("HKLM\SOFTWARE\Test\"
 *    with nothing after the backslash for the key's default, unnamed
 *    value), props "type" (msrrp_type_name(), "REG_TYPE_N" for another)
 *    and "data" (msrrp_value_text()), or, for data whose text would pass
 *    PROXY_WIN_DATA_TEXT_MAX bytes, "data_sha256" (hex of the bytes) and
 *    "size" (bytes) instead of "data".
 *  - VG_KIND_FILE, path "C:\Windows\win.ini" (drive letter upper case,
 *    backslashes), ftype REG or DIR, size, mtime_ns and ctime_ns (write
 *    and change times), the SHA-256 (o->hash) of regular files up to
 *    o->max_hash_size (larger: VG_HS_SIZE_CAP; unreadable:
 *    VG_HS_UNREADABLE), props "attributes" (the DOS attributes, e.g.
 *    "A", "RHS", "D": R read-only, H hidden, S system, D directory, A
 *    archive, N normal... in that order) and "created" (creation time,
 *    vg_time_format()). have = VG_A_TYPE | VG_A_SIZE | VG_A_MTIME |
 *    VG_A_CTIME | VG_A_HASH (files) | VG_A_PROPS.
 *
 * Threads: any number of threads may call proxy_win_collect(), but the
 * calls run one at a time: libsmbclient as Debian builds it lacks its
 * thread support (no smbc_thread_posix()), so one process-wide lock is
 * held for the whole of a collection (its timeout starts once the lock
 * is taken). Each call has its own libsmbclient context. The path checks
 * and the glob are pure and thread-safe.
 */

#define PROXY_WIN_PORT 445
#define PROXY_WIN_DEPTH_MAX 64          /* levels below a named key or folder */
#define PROXY_WIN_ITEMS_MAX 1000000     /* items of one collection by default */
#define PROXY_WIN_DATA_TEXT_MAX 16384   /* bytes of a value's "data" text */

struct proxy_win_opts {
	char *const *keys;             /* registry keys to walk: "HKLM\\SOFTWARE
	                                  \\X", "HKU\\.DEFAULT\\..." (also
	                                  HKEY_LOCAL_MACHINE / HKEY_USERS) */
	size_t nkeys;
	char *const *files;            /* "C:\\Windows\\win.ini" or a folder
	                                  (walked) */
	size_t nfiles;
	unsigned int depth;            /* levels of subkeys / subfolders below
	                                  each named one (0: only it and its
	                                  values / entries) */
	char *const *include;          /* globs over item paths, case-
	                                  insensitive, '*' also crosses '\\';
	                                  when any is given an item is recorded
	                                  only if one matches (walking goes on) */
	size_t ninclude;
	char *const *exclude;          /* same globs: a matching item is not
	                                  recorded and a matching key or folder
	                                  is not walked */
	size_t nexclude;
	enum vg_hash_alg hash;         /* 0: SHA-256 */
	uint64_t max_hash_size;        /* 0: no cap */
	size_t max_items;              /* 0: PROXY_WIN_ITEMS_MAX */
};

struct proxy_win_result {
	struct vg_item **keys;         /* VG_KIND_REGKEY, sorted
	                                  (vg_item_path_cmp), unique */
	size_t nkeys;
	struct vg_item **values;       /* VG_KIND_REGVALUE, sorted, unique */
	size_t nvalues;
	struct vg_item **files;        /* VG_KIND_FILE, sorted, unique */
	size_t nfiles;
	char **unread;                 /* paths (keys or folders, as items
	                                  name them) whose contents could not
	                                  be read this time (access denied, a
	                                  failed read): what a baseline holds
	                                  at or below them is to be kept as
	                                  it is, neither removed nor changed */
	size_t nunread;
	char **problems;               /* one line each, e.g. "HKLM\\SOFTWARE\\
	                                  Test\\Secret: access denied" */
	size_t nproblems;
	uint32_t rrp_version;          /* BaseRegGetVersion's, 0 unknown */
	unsigned long rpc_calls;       /* RPC requests made (benchmarks) */
};

/*
 * Collects what o names from t->host (port t->port, 0: 445) as cred->user
 * ("DOMAIN\\user", "user@domain" or "user": the local account) with
 * cred->password. A key or value that does not exist is simply absent;
 * access denied on a key or a file, or a failed read, goes to problems
 * and unread and the rest goes on. The whole collection fails only when
 * the host cannot be reached or logged in to, the winreg pipe cannot be
 * opened (after one retry ~1 s later, for a Remote Registry service
 * that starts on demand) and a share neither, or the deadline passes.
 *
 * Returns 0 with *out set, or VG_ERR_IO (connection), VG_ERR_AUTH (logon
 * failure, a disabled or locked account), VG_ERR_TIMEOUT, VG_ERR_INVAL
 * (the server broke the protocol: err says where), VG_ERR_TOOBIG (more
 * than max_items), VG_ERR_NOMEM; err says what and where, never a
 * secret. Blocks up to timeout_ms.
 */
int proxy_win_collect(const struct proxy_target *t,
    const struct proxy_credentials *cred, const struct proxy_win_opts *o,
    unsigned int timeout_ms, struct proxy_win_result **out, char *err,
    size_t errlen);

void proxy_win_result_free(struct proxy_win_result *r);

/*
 * Checks a registry key path for a policy ("HKLM\\SOFTWARE\\X": a known
 * hive, then names without empty parts) and a Windows file path
 * ("C:\\..." : a drive letter, a colon, a backslash, no empty parts, no
 * "." or ".." parts, no control characters). 0 or VG_ERR_INVAL with err
 * saying what is wrong. Shared by the hub's policy checks and the proxy.
 */
int proxy_win_key_check(const char *key, char *err, size_t errlen);
int proxy_win_file_check(const char *path, char *err, size_t errlen);

/* Case-insensitive glob ('*', '?', '[...]'; '*' crosses '\\'). 1 on a
 * match. */
int proxy_win_glob(const char *pattern, const char *path);

#endif
