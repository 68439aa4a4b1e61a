/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef AGENT_HUBDETAILS_H
#define AGENT_HUBDETAILS_H

#include <stddef.h>

/*
 * HubDetails.xml: where the agent finds its hub, in the format users of
 * Netwrix Change Tracker know. Root element HubDetails; the elements
 * below, each at most once, text content only:
 *
 *   Url              the HUBURL, https://HOST[:PORT]/api/ (required)
 *   Username         the enrolment account
 *   Password         its password; removed after a registration
 *   Proxy            http://HOST:PORT of an HTTP proxy
 *   ProxyUsername, ProxyPassword
 *   UseDefaultProxy  true/false: take the proxy from the environment
 *                    (https_proxy ...) when Proxy is empty; default false
 *   NamePrefix, NameSuffix   added around the host name to make the
 *                    device name
 *   Thumbprint       pins the hub's certificate: SHA-256 (64 hex digits,
 *                    colons and spaces ignored) or SHA-1 (40) of its DER
 *
 * Parsed with expat. An unknown element, a repeated one, nested elements,
 * a malformed file or a bad value is an error naming the file, the line
 * and the element: "/etc/vigil/HubDetails.xml:4: element <Thumbprnt> is
 * not known (expected Url, Username, ...)".
 */

#define HD_MAX_FILE (64 * 1024)

struct hubdetails {
	char *url;            /* always ends in '/' after parsing */
	char *username, *password;
	char *proxy, *proxy_username, *proxy_password;
	int use_default_proxy;
	char *name_prefix, *name_suffix;
	unsigned char thumbprint[32];
	size_t thumbprint_len;   /* 0 none, 20 SHA-1, 32 SHA-256 */
};

/* Parses text (len bytes; source names it in messages). 0 or
 * VG_ERR_INVAL / VG_ERR_TOOBIG / VG_ERR_NOMEM with err set. */
int hd_parse(const char *text, size_t len, const char *source,
    struct hubdetails *hd, char *err, size_t errlen);

/* Reads and parses a file. Adds VG_ERR_NOTFOUND, VG_ERR_PERM, VG_ERR_IO. */
int hd_load(const char *path, struct hubdetails *hd, char *err,
    size_t errlen);

/* Frees the strings (password zeroed first) and zeroes hd. */
void hd_free(struct hubdetails *hd);

/*
 * Rewrites the file without its Password element (everything else, the
 * comments and the layout kept byte for byte): to path.tmp with the
 * file's mode and owner, fsync, rename, fsync of the folder. A file
 * without Password is left alone. 0 or VG_ERR_* with err set.
 */
int hd_remove_password(const char *path, char *err, size_t errlen);

/*
 * The same, but only when the file's Password is used (compared in
 * constant time): the one a registration has just used. A Password
 * that is another one (an administrator put a new one in while the
 * agent registered) or none is left alone: 1 with err set to a note for
 * the log when it differs, 0 when there is none. used NULL: whatever
 * Password is there goes (hd_remove_password).
 */
int hd_remove_password_if(const char *path, const char *used, char *err,
    size_t errlen);

#endif
