/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for hub/policy.c: the input is a JSON array of group
 * policy documents as admins send them (PUT /groups/{id}/policy). Each
 * element is validated; those that pass are merged as one device's
 * groups. Beyond not crashing:
 *  - a merge of valid policies never fails but for memory;
 *  - the merge passes validation itself once its "groups" list is
 *    removed and its arrays cut to the caps of one document (a merged
 *    policy is a policy; the caps apply to each group's document, a
 *    union may hold more);
 *  - merging the list in reverse order gives the same version.
 * A failed check aborts, which libFuzzer reports as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

/* Drops the entries of arr (NULL: none) beyond the first max. */
static void
cut(json_t *arr, size_t max)
{
	while (json_array_size(arr) > max)
		CHECK(json_array_remove(arr, json_array_size(arr) - 1) == 0);
}

static void
merged_version(const json_t *list, char version[HUB_POLICY_VERSION_LEN])
{
	char err[256];
	json_t *merged = NULL;

	CHECK(hub_policy_merge(list, &merged, err, sizeof(err)) == 0);
	CHECK(hub_policy_version(merged, version) == 0);
	json_object_del(merged, "groups");
	cut(json_object_get(merged, "commands"), HUB_POLICY_MAX_COMMANDS);
	cut(json_object_get(merged, "paths"), HUB_POLICY_MAX_ENTRIES);
	cut(json_object_get(merged, "include"), HUB_POLICY_MAX_ENTRIES);
	cut(json_object_get(merged, "exclude"), HUB_POLICY_MAX_ENTRIES);
	cut(json_object_get(merged, "content"), HUB_POLICY_MAX_ENTRIES);
	cut(json_object_get(merged, "registry"), HUB_POLICY_MAX_ENTRIES);
	cut(json_object_get(merged, "windows_files"), HUB_POLICY_MAX_ENTRIES);
	cut(json_object_get(merged, "windows_include"), HUB_POLICY_MAX_ENTRIES);
	cut(json_object_get(merged, "windows_exclude"), HUB_POLICY_MAX_ENTRIES);
	CHECK(hub_policy_validate(merged, err, sizeof(err)) == 0);
	json_decref(merged);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], v1[HUB_POLICY_VERSION_LEN], v2[HUB_POLICY_VERSION_LEN];
	json_t *in, *list, *rev, *doc;
	size_t i, n;

	in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    NULL);
	if (in == NULL)
		return 0;
	if (!json_is_array(in)) {
		(void)hub_policy_validate(in, err, sizeof(err));
		json_decref(in);
		return 0;
	}
	CHECK((list = json_array()) != NULL && (rev = json_array()) != NULL);
	n = json_array_size(in);
	for (i = 0; i < n && i < 16; i++) {
		doc = json_array_get(in, i);
		if (hub_policy_validate(doc, err, sizeof(err)) != 0) {
			CHECK(err[0] != '\0');
			continue;
		}
		CHECK(json_array_append_new(list, json_pack("{s:I, s:O}",
		    "group_id", (json_int_t)(i + 1), "policy", doc)) == 0);
	}
	for (i = json_array_size(list); i > 0; i--)
		CHECK(json_array_append(rev, json_array_get(list, i - 1)) == 0);
	merged_version(list, v1);
	merged_version(rev, v2);
	CHECK(strcmp(v1, v2) == 0);
	json_decref(rev);
	json_decref(list);
	json_decref(in);
	return 0;
}
