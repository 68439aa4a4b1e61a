/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the agent's reading of the policy a hub sends
 * (agent/monitor.c agent_policy_parse): the input is the "policy" object
 * of a poll answer. A hub may be compromised, so whatever it sends must
 * be refused with a message or turned into bounded rules; beyond not
 * crashing, an accepted policy has at most 100 commands, sorted and
 * without duplicates, and its rules serialise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "monitor.h"
#include "vg_rules.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_policy *p = NULL;
	json_error_t je;
	json_t *doc;
	char err[512], *text;
	size_t i;

	if (size > 256 * 1024)
		return 0;
	doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &je);
	if (doc == NULL)
		return 0;
	if (agent_policy_parse(doc, "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef", &p, err, sizeof(err)) == 0) {
		CHECK(p->ncommands <= 100);
		for (i = 1; i < p->ncommands; i++)
			CHECK(strcmp(p->commands[i - 1], p->commands[i]) < 0);
		if (p->rules != NULL) {
			text = vg_rules_serialize(p->rules);
			CHECK(text != NULL);
			free(text);
		}
		agent_policy_free(p);
	} else {
		CHECK(err[0] != '\0');
	}
	json_decref(doc);
	return 0;
}
