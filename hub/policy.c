/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg_err.h"
#include "vg_hash.h"
#include "vg_util.h"

#include "windows.h"

#include "policy.h"

/* What the entries of an array field must be. */
enum entry_kind {
	ENTRY_PATTERN,		/* any string */
	ENTRY_PATH,		/* an absolute path */
	ENTRY_COLLECTOR,	/* a collector name, once */
	ENTRY_COMMAND,		/* a command line (see policy.h) */
	ENTRY_REGKEY,		/* a registry key, "HKLM\\..." */
	ENTRY_WINFILE,		/* a Windows path, "C:\\..." */
	ENTRY_GLOB,		/* a pattern without control characters */
};

/* The array fields: what their entries are, and the caps. */
static const struct {
	const char *name;
	enum entry_kind kind;
	size_t max_entries;
	size_t max_len;
} list_fields[] = {
	{ "paths", ENTRY_PATH, HUB_POLICY_MAX_ENTRIES, HUB_POLICY_MAX_STRING },
	{ "include", ENTRY_PATTERN, HUB_POLICY_MAX_ENTRIES,
	    HUB_POLICY_MAX_STRING },
	{ "exclude", ENTRY_PATTERN, HUB_POLICY_MAX_ENTRIES,
	    HUB_POLICY_MAX_STRING },
	{ "content", ENTRY_PATH, HUB_POLICY_MAX_ENTRIES,
	    HUB_POLICY_MAX_STRING },
	{ "system", ENTRY_COLLECTOR, HUB_POLICY_MAX_ENTRIES,
	    HUB_POLICY_MAX_STRING },
	{ "commands", ENTRY_COMMAND, HUB_POLICY_MAX_COMMANDS,
	    HUB_POLICY_MAX_COMMAND },
	{ "registry", ENTRY_REGKEY, HUB_POLICY_MAX_ENTRIES,
	    HUB_POLICY_MAX_STRING },
	{ "windows_files", ENTRY_WINFILE, HUB_POLICY_MAX_ENTRIES,
	    HUB_POLICY_MAX_STRING },
	{ "windows_include", ENTRY_GLOB, HUB_POLICY_MAX_ENTRIES,
	    HUB_POLICY_MAX_STRING },
	{ "windows_exclude", ENTRY_GLOB, HUB_POLICY_MAX_ENTRIES,
	    HUB_POLICY_MAX_STRING },
};

#define NLIST (sizeof(list_fields) / sizeof(list_fields[0]))

_Static_assert(HUB_POLICY_DEPTH_MAX == PROXY_WIN_DEPTH_MAX,
    "registry_depth is what the proxy walks");

/* The agent's collectors of system configuration (agent/collect.h). */
static const char *const collectors[] = {
	"packages", "services", "users", "groups", "ports", "sysctl",
};

#define NCOLLECTORS (sizeof(collectors) / sizeof(collectors[0]))
#define COLLECTOR_LIST "packages, services, users, groups, ports, sysctl"

/*
 * A path is absolute when it starts with '/', or (for agents on Windows)
 * with a drive letter and a separator: "C:\" or "C:/".
 */
static int
is_absolute(const char *s)
{
	if (s[0] == '/')
		return 1;
	return isalpha((unsigned char)s[0]) && s[1] == ':' &&
	    (s[2] == '\\' || s[2] == '/');
}

static int
is_collector(const char *s)
{
	size_t i;

	for (i = 0; i < NCOLLECTORS; i++)
		if (strcmp(s, collectors[i]) == 0)
			return 1;
	return 0;
}

/* Answers an entry with a control character (C0 or DEL), if any. */
static int
check_controls(const char *field, size_t i, const char *s, size_t len,
    char *err, size_t errlen)
{
	size_t j;

	for (j = 0; j < len; j++)
		if ((unsigned char)s[j] < 0x20 || (unsigned char)s[j] == 0x7f) {
			snprintf(err, errlen, "%s[%zu]: contains a control "
			    "character (0x%02x at byte %zu)", field, i,
			    (unsigned char)s[j], j);
			return VG_ERR_INVAL;
		}
	return 0;
}

/*
 * Checks entry i (s, len bytes, no NUL) of field against its kind; arr is
 * the whole array, for the uniqueness of collectors.
 */
static int
check_entry(const char *field, enum entry_kind kind, const json_t *arr,
    size_t i, const char *s, size_t len, char *err, size_t errlen)
{
	char why[256];
	size_t j;

	switch (kind) {
	case ENTRY_PATTERN:
		break;
	case ENTRY_PATH:
		if (!is_absolute(s)) {
			snprintf(err, errlen,
			    "%s[%zu]: must be an absolute path", field, i);
			return VG_ERR_INVAL;
		}
		break;
	case ENTRY_COLLECTOR:
		if (!is_collector(s)) {
			snprintf(err, errlen, "%s[%zu]: \"%.64s\" is not a "
			    "collector (" COLLECTOR_LIST ")", field, i, s);
			return VG_ERR_INVAL;
		}
		/* Earlier entries are distinct collectors: at most six. */
		for (j = 0; j < i; j++)
			if (strcmp(s, json_string_value(
			    json_array_get(arr, j))) == 0) {
				snprintf(err, errlen, "%s[%zu]: \"%s\" is "
				    "already in %s[%zu]", field, i, s, field,
				    j);
				return VG_ERR_INVAL;
			}
		break;
	case ENTRY_COMMAND:
		if (s[0] != '/') {
			snprintf(err, errlen, "%s[%zu]: must start with an "
			    "absolute path", field, i);
			return VG_ERR_INVAL;
		}
		return check_controls(field, i, s, len, err, errlen);
	case ENTRY_REGKEY:
	case ENTRY_WINFILE:
		why[0] = '\0';
		if ((kind == ENTRY_REGKEY ? proxy_win_key_check(s, why,
		    sizeof(why)) : proxy_win_file_check(s, why,
		    sizeof(why))) != 0) {
			snprintf(err, errlen, "%s[%zu]: %s", field, i,
			    why[0] != '\0' ? why : kind == ENTRY_REGKEY ?
			    "not a registry key (HKLM\\... or HKU\\...)" :
			    "not a Windows path (C:\\...)");
			return VG_ERR_INVAL;
		}
		break;
	case ENTRY_GLOB:
		return check_controls(field, i, s, len, err, errlen);
	}
	return 0;
}

static int
check_list(size_t f, const json_t *v, char *err, size_t errlen)
{
	const char *field = list_fields[f].name;
	const json_t *e;
	const char *s;
	size_t i, len;
	int r;

	if (!json_is_array(v)) {
		snprintf(err, errlen, "%s: must be an array of strings", field);
		return VG_ERR_INVAL;
	}
	if (json_array_size(v) > list_fields[f].max_entries) {
		snprintf(err, errlen, "%s: more than %zu entries", field,
		    list_fields[f].max_entries);
		return VG_ERR_INVAL;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e)) {
			snprintf(err, errlen, "%s[%zu]: must be a string",
			    field, i);
			return VG_ERR_INVAL;
		}
		s = json_string_value(e);
		len = json_string_length(e);
		if (len == 0) {
			snprintf(err, errlen, "%s[%zu]: must not be empty",
			    field, i);
			return VG_ERR_INVAL;
		}
		if (strlen(s) != len) {
			snprintf(err, errlen, "%s[%zu]: contains a NUL byte",
			    field, i);
			return VG_ERR_INVAL;
		}
		if (len > list_fields[f].max_len) {
			snprintf(err, errlen, "%s[%zu]: longer than %zu bytes",
			    field, i, list_fields[f].max_len);
			return VG_ERR_INVAL;
		}
		if ((r = check_entry(field, list_fields[f].kind, v, i, s, len,
		    err, errlen)) != 0)
			return r;
	}
	return 0;
}

/* The strength rank of an accepted hash name (1..3), or 0. */
static int
hash_rank(const char *s)
{
	if (strcmp(s, "sha256") == 0)
		return 1;
	if (strcmp(s, "sha384") == 0)
		return 2;
	if (strcmp(s, "sha512") == 0)
		return 3;
	return 0;
}

static const char *const hash_by_rank[] = { NULL, "sha256", "sha384",
	"sha512" };

static int
check_hash(const json_t *v, char *err, size_t errlen)
{
	enum vg_hash_alg alg;
	const char *s;

	if (!json_is_string(v))
		goto bad;
	s = json_string_value(v);
	if (hash_rank(s) != 0)
		return 0;
	if (vg_hash_parse(s, &alg) == 0 && vg_hash_is_weak(alg)) {
		snprintf(err, errlen, "hash: %s is weak; use sha256, sha384 "
		    "or sha512", vg_hash_name(alg));
		return VG_ERR_INVAL;
	}
bad:
	snprintf(err, errlen, "hash: must be one of sha256, sha384, sha512");
	return VG_ERR_INVAL;
}

/* The byte count of a valid max_hash_size value. */
static int
size_value(const json_t *v, uint64_t *out)
{
	json_int_t n;

	if (json_is_integer(v)) {
		n = json_integer_value(v);
		if (n < 0)
			return VG_ERR_INVAL;
		*out = (uint64_t)n;
		return 0;
	}
	if (json_is_string(v) &&
	    strlen(json_string_value(v)) == json_string_length(v) &&
	    vg_parse_size(json_string_value(v), out) == 0 &&
	    *out <= (uint64_t)INT64_MAX)
		return 0;
	return VG_ERR_INVAL;
}

int
hub_policy_validate(const json_t *doc, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	json_int_t n;
	uint64_t size;
	size_t i;
	int r;

	if (!json_is_object(doc)) {
		snprintf(err, errlen, "policy: must be a JSON object");
		return VG_ERR_INVAL;
	}
	/* Casting away const: json_object_foreach() only reads. */
	json_object_foreach((json_t *)doc, key, v) {
		for (i = 0; i < NLIST; i++)
			if (strcmp(key, list_fields[i].name) == 0)
				break;
		if (i < NLIST) {
			if ((r = check_list(i, v, err, errlen)) != 0)
				return r;
		} else if (strcmp(key, "hash") == 0) {
			if ((r = check_hash(v, err, errlen)) != 0)
				return r;
		} else if (strcmp(key, "realtime") == 0) {
			if (!json_is_boolean(v)) {
				snprintf(err, errlen,
				    "realtime: must be true or false");
				return VG_ERR_INVAL;
			}
		} else if (strcmp(key, "schedule") == 0) {
			n = json_is_integer(v) ? json_integer_value(v) : -1;
			if (n < HUB_POLICY_SCHEDULE_MIN ||
			    n > HUB_POLICY_SCHEDULE_MAX) {
				snprintf(err, errlen, "schedule: must be an "
				    "integer from %d to %d (seconds)",
				    HUB_POLICY_SCHEDULE_MIN,
				    HUB_POLICY_SCHEDULE_MAX);
				return VG_ERR_INVAL;
			}
		} else if (strcmp(key, "registry_depth") == 0) {
			n = json_is_integer(v) ? json_integer_value(v) : -1;
			if (n < 0 || n > HUB_POLICY_DEPTH_MAX) {
				snprintf(err, errlen, "registry_depth: must "
				    "be an integer from 0 to %d (levels)",
				    HUB_POLICY_DEPTH_MAX);
				return VG_ERR_INVAL;
			}
		} else if (strcmp(key, "max_hash_size") == 0) {
			if (size_value(v, &size) != 0) {
				snprintf(err, errlen, "max_hash_size: must be "
				    "a size such as \"512M\" or \"1G\", or a "
				    "number of bytes");
				return VG_ERR_INVAL;
			}
		} else {
			snprintf(err, errlen, "unknown field \"%.64s\"", key);
			return VG_ERR_INVAL;
		}
	}
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
cmp_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * Sets merged[field] to the sorted union without duplicates of that field
 * in every policy of list; leaves it unset when no policy has it.
 */
static int
merge_list(const json_t *list, const char *field, json_t *merged)
{
	const char **all = NULL;
	const json_t *item, *arr, *e;
	json_t *out = NULL;
	size_t n = 0, cap = 0, i, j, k;
	int seen = 0, r = VG_ERR_NOMEM;

	json_array_foreach(list, i, item) {
		arr = json_object_get(json_object_get(item, "policy"), field);
		if (arr == NULL)
			continue;
		seen = 1;
		json_array_foreach(arr, j, e) {
			if (n == cap) {
				const char **grown;

				cap = cap ? cap * 2 : 64;
				grown = realloc(all, cap * sizeof(*all));
				if (grown == NULL)
					goto out;
				all = grown;
			}
			all[n++] = json_string_value(e);
		}
	}
	if (!seen) {
		r = 0;
		goto out;
	}
	if (n > 0)
		qsort(all, n, sizeof(*all), cmp_str);
	if ((out = json_array()) == NULL)
		goto out;
	for (k = 0; k < n; k++) {
		if (k > 0 && strcmp(all[k], all[k - 1]) == 0)
			continue;
		if (json_array_append_new(out, json_string(all[k])) != 0)
			goto out;
	}
	if (json_object_set_new(merged, field, out) != 0) {
		out = NULL;
		goto out;
	}
	out = NULL;
	r = 0;
out:
	json_decref(out);
	free(all);
	return r;
}

int
hub_policy_merge(const json_t *list, json_t **out, char *err, size_t errlen)
{
	const json_t *item, *pol, *v;
	json_t *merged = NULL, *groups = NULL;
	int64_t *ids = NULL, schedule = 0, depth = -1;
	uint64_t size, max_size = 0;
	size_t i, nids = 0, k;
	int rank, best_rank = 0, realtime = -1, have_size = 0;
	int r = VG_ERR_NOMEM;
	char msg[256];

	*out = NULL;
	if (!json_is_array(list)) {
		snprintf(err, errlen, "policies: not an array");
		return VG_ERR_INVAL;
	}
	if ((merged = json_object()) == NULL)
		goto out;
	if (json_array_size(list) > 0 &&
	    (ids = calloc(json_array_size(list), sizeof(*ids))) == NULL)
		goto out;
	json_array_foreach(list, i, item) {
		pol = json_object_get(item, "policy");
		if (pol == NULL || json_is_null(pol))
			continue;
		if (hub_policy_validate(pol, msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "policy of group %lld: %s",
			    (long long)json_integer_value(
			    json_object_get(item, "group_id")), msg);
			r = VG_ERR_INVAL;
			goto out;
		}
		if (json_object_size(pol) == 0)
			continue;
		ids[nids++] = json_integer_value(
		    json_object_get(item, "group_id"));
		if ((v = json_object_get(pol, "hash")) != NULL &&
		    (rank = hash_rank(json_string_value(v))) > best_rank)
			best_rank = rank;
		if ((v = json_object_get(pol, "realtime")) != NULL)
			realtime = realtime == 1 || json_is_true(v);
		if ((v = json_object_get(pol, "schedule")) != NULL &&
		    (schedule == 0 || json_integer_value(v) < schedule))
			schedule = json_integer_value(v);
		if ((v = json_object_get(pol, "registry_depth")) != NULL &&
		    json_integer_value(v) > depth)
			depth = json_integer_value(v);
		if ((v = json_object_get(pol, "max_hash_size")) != NULL &&
		    size_value(v, &size) == 0 &&
		    (!have_size || size > max_size)) {
			max_size = size;
			have_size = 1;
		}
	}
	if (nids == 0) {
		*out = merged;
		merged = NULL;
		r = 0;
		goto out;
	}
	for (k = 0; k < NLIST; k++)
		if ((r = merge_list(list, list_fields[k].name, merged)) != 0)
			goto out;
	r = VG_ERR_NOMEM;
	if (best_rank > 0 && json_object_set_new(merged, "hash",
	    json_string(hash_by_rank[best_rank])) != 0)
		goto out;
	if (realtime >= 0 && json_object_set_new(merged, "realtime",
	    json_boolean(realtime)) != 0)
		goto out;
	if (schedule > 0 && json_object_set_new(merged, "schedule",
	    json_integer(schedule)) != 0)
		goto out;
	if (have_size && json_object_set_new(merged, "max_hash_size",
	    json_integer((json_int_t)max_size)) != 0)
		goto out;
	if (depth >= 0 && json_object_set_new(merged, "registry_depth",
	    json_integer(depth)) != 0)
		goto out;
	qsort(ids, nids, sizeof(*ids), cmp_int64);
	if ((groups = json_array()) == NULL)
		goto out;
	for (k = 0; k < nids; k++) {
		if (k > 0 && ids[k] == ids[k - 1])
			continue;
		if (json_array_append_new(groups, json_integer(ids[k])) != 0)
			goto out;
	}
	if (json_object_set_new(merged, "groups", groups) != 0) {
		groups = NULL;
		goto out;
	}
	groups = NULL;
	*out = merged;
	merged = NULL;
	r = 0;
out:
	json_decref(groups);
	json_decref(merged);
	free(ids);
	return r;
}

int
hub_policy_version(const json_t *merged, char version[HUB_POLICY_VERSION_LEN])
{
	unsigned char md[32];
	char *text;
	int r;

	text = json_dumps(merged, JSON_SORT_KEYS | JSON_COMPACT);
	if (text == NULL)
		return VG_ERR_NOMEM;
	r = vg_hash_buffer(VG_HASH_SHA256, text, strlen(text), md);
	free(text);
	if (r != 0)
		return r;
	vg_hex_encode(md, sizeof(md), version);
	return 0;
}
