/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef HUB_CONF_H
#define HUB_CONF_H

#include <stddef.h>

#include "hub.h"

/*
 * The hub's settings (struct hub_conf in hub.h): defaults, the
 * configuration file (/etc/vigil/hub.conf) and single settings given on
 * the command line.
 *
 * File format: one "key = value" per line; blank lines and lines whose
 * first non-blank character is '#' are ignored. The value is the rest of
 * the line with surrounding blanks removed (so a path may hold '#' or
 * spaces). Keys are the names in dist/hub.conf. Sizes accept K/M/G
 * suffixes (powers of 1024).
 */

#define HUB_CONF_DEFAULT_PATH "/etc/vigil/hub.conf"
#define HUB_CONF_DEFAULT_DATA_DIR "/var/lib/vigil-hub"
/* Where the build installs the device profiles (hub/CMakeLists.txt). */
#ifndef HUB_CONF_DEFAULT_PROFILES_DIR
#define HUB_CONF_DEFAULT_PROFILES_DIR "/usr/local/share/vigil/profiles"
#endif

/* Fills c with the defaults. Returns 0 or VG_ERR_NOMEM. */
int hub_conf_defaults(struct hub_conf *c);

/*
 * Reads the file into c, over what c holds. Errors name the place:
 * "hub.conf:12: unknown setting 'foo'", "hub.conf:3: threads: expected a
 * whole number from 1 to 256". Returns 0, VG_ERR_NOTFOUND when the file
 * does not exist, VG_ERR_INVAL for a bad line, VG_ERR_IO or VG_ERR_TOOBIG.
 * c->conf_path is set to file.
 */
int hub_conf_load(struct hub_conf *c, const char *file, char *err,
    size_t errlen);

/* Sets one setting by its file key; errors name the key and the range.
 * Returns 0, VG_ERR_INVAL or VG_ERR_NOMEM. */
int hub_conf_set(struct hub_conf *c, const char *key, const char *value,
    char *err, size_t errlen);

/* Checks the settings together (tls_cert without tls_key ...) once the
 * file and the command line have been applied. Returns 0 or VG_ERR_INVAL
 * with a message. */
int hub_conf_check(const struct hub_conf *c, char *err, size_t errlen);

/* Frees the strings of c (not c itself). */
void hub_conf_free(struct hub_conf *c);

/*
 * Splits "HOST:PORT", "[IPV6]:PORT" or ":PORT" (every IPv4 address) into
 * a new host string (*host, caller frees) and a port 1..65535. A bare
 * IPv6 address must be bracketed. Returns 0, VG_ERR_INVAL or NOMEM.
 */
int hub_conf_parse_listen(const char *s, char **host, int *port);

/* The SQLite file or database location the store opens: conf.database,
 * or DATA_DIR/hub.db when that is empty. Caller frees; NULL when out of
 * memory. */
char *hub_conf_database(const struct hub_conf *c);

/* The credential key file: conf.credential_key, or
 * DATA_DIR/credentials.key when that is not set. Caller frees; NULL when
 * out of memory. */
char *hub_conf_credential_key(const struct hub_conf *c);

#endif
