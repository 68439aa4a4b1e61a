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
	if (type < 0 || type >= N_EVENT_TYPES)
		return NULL;
	return event_type_names[type];
}

int
hs_event_type_parse(const char *s, int *type)
{
	int i;

	for (i = 0; s != NULL && i < N_EVENT_TYPES; i++) {
		if (event_type_names[i] != NULL &&
		    strcmp(event_type_names[i], s) == 0) {
			*type = i;
			return 0;
		}
	}
	return VG_ERR_INVAL;
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
	if (role < 0 || role >= N_ROLES)
		return NULL;
	return role_names[role];
}

int
hs_role_parse(const char *s, int *role)
{
	int i;

	for (i = 0; s != NULL && i < N_ROLES; i++) {
		if (role_names[i] != NULL && strcmp(role_names[i], s) == 0) {
			*role = i;
			return 0;
		}
	}
	return VG_ERR_INVAL;
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
