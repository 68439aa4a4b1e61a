/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The backend-independent part of the store: picking a backend from the
 * location, the names of event types and roles, and the rule that tells a
 * machine registering again from a clone.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "store.h"
#include "vg_err.h"

int
hub_store_open(const char *location, struct hub_store **out, char *err,
    size_t errlen)
{
	*out = NULL;
	if (location == NULL || location[0] == '\0') {
		snprintf(err, errlen, "no database location given");
		return VG_ERR_INVAL;
	}
	if (strncasecmp(location, "postgresql://", 13) == 0 ||
	    strncasecmp(location, "postgres://", 11) == 0) {
		snprintf(err, errlen,
		    "PostgreSQL is not supported in this release");
		return VG_ERR_INVAL;
	}
	return hub_store_sqlite_open(location, out, err, errlen);
}

void
hub_store_close(struct hub_store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

/* names[i] when i is in [0, n), else NULL. */
static const char *
table_name(const char *const *names, int n, int i)
{
	return i >= 0 && i < n ? names[i] : NULL;
}

/* Sets *i to the index of s in names[0..n) (which may have gaps). Returns
 * 0 or VG_ERR_INVAL. */
static int
table_parse(const char *const *names, int n, const char *s, int *i)
{
	int k;

	for (k = 0; s != NULL && k < n; k++) {
		if (names[k] != NULL && strcmp(names[k], s) == 0) {
			*i = k;
			return 0;
		}
	}
	return VG_ERR_INVAL;
}

static const char *const event_type_names[] = {
	[HS_EV_ADDED] = "added",
	[HS_EV_REMOVED] = "removed",
	[HS_EV_CHANGED] = "changed",
	[HS_EV_OFFLINE] = "offline",
	[HS_EV_ONLINE] = "online",
	[HS_EV_AGENT] = "agent",
	[HS_EV_CLONE] = "clone",
	[HS_EV_REGISTERED] = "registered",
};
#define N_EVENT_TYPES \
	((int)(sizeof(event_type_names) / sizeof(event_type_names[0])))

const char *
hs_event_type_name(int type)
{
	return table_name(event_type_names, N_EVENT_TYPES, type);
}

int
hs_event_type_parse(const char *s, int *type)
{
	return table_parse(event_type_names, N_EVENT_TYPES, s, type);
}

static const char *const role_names[] = {
	[HS_ROLE_ADMIN] = "admin",
	[HS_ROLE_READONLY] = "readonly",
	[HS_ROLE_ENROL] = "enrol",
};
#define N_ROLES ((int)(sizeof(role_names) / sizeof(role_names[0])))

const char *
hs_role_name(int role)
{
	return table_name(role_names, N_ROLES, role);
}

int
hs_role_parse(const char *s, int *role)
{
	return table_parse(role_names, N_ROLES, s, role);
}

/* A MAC address that identifies a machine: not empty and not all zero
 * (what some virtual and disconnected interfaces report), so two machines
 * do not look alike through it. */
static int
mac_usable(const char *mac)
{
	size_t n = strspn(mac, "0:-.");

	return mac[0] != '\0' && mac[n] != '\0';
}

int
hs_same_machine(const char *stored_hostname, const char *stored_macs_json,
    const char *hostname, const char *macs_json)
{
	json_t *a = NULL, *b = NULL, *va, *vb;
	size_t i, j;
	int same = 0;

	/* Host names compare without case, as DNS does. */
	if (stored_hostname != NULL && hostname != NULL &&
	    hostname[0] != '\0' && strcasecmp(stored_hostname, hostname) == 0)
		return 1;
	if (stored_macs_json == NULL || macs_json == NULL)
		return 0;
	a = json_loads(stored_macs_json, 0, NULL);
	b = json_loads(macs_json, 0, NULL);
	if (!json_is_array(a) || !json_is_array(b))
		goto out;
	json_array_foreach(a, i, va) {
		if (!json_is_string(va) || !mac_usable(json_string_value(va)))
			continue;
		json_array_foreach(b, j, vb) {
			if (!json_is_string(vb))
				continue;
			if (strcasecmp(json_string_value(va),
			    json_string_value(vb)) == 0) {
				same = 1;
				goto out;
			}
		}
	}
out:
	json_decref(a);
	json_decref(b);
	return same;
}
