/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for core/vg_rules: the input is a rules file. Beyond
 * not crashing or hanging (the glob matcher must stay polynomial on any
 * pattern):
 *  - rules that parse and finish match a few paths without trouble;
 *  - their canonical text parses and finishes again, and gives the same
 *    text (what a baseline stores must read back as the same rules).
 * A failed check aborts, which libFuzzer reports as a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vg_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static const char *const paths[] = {
	"/", "/etc", "/etc/passwd", "/etc/ssl/private/key.pem",
	"/var/lib/dpkg/status", "/home/u/.cache/x", "/a/b/c/d/e/f/g",
	"/tmp/\xff\xfe name.log", "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
};

/* Parses text into new rules and finishes them; NULL when they are
 * not valid. */
static struct vg_rules *
load(const char *text, size_t len)
{
	struct vg_rules *r;
	char err[1024];

	if (vg_rules_new(&r) != 0)
		return NULL;
	if (vg_rules_parse(r, text, len, "fuzz", err, sizeof(err)) != 0 ||
	    vg_rules_finish(r, err, sizeof(err)) != 0) {
		/* Every error says where it is. */
		CHECK(strncmp(err, "fuzz", 4) == 0 || strstr(err, "root") !=
		    NULL || strstr(err, "weak") != NULL);
		vg_rules_free(r);
		return NULL;
	}
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vg_rules *r, *r2;
	char *s1, *s2;
	size_t i;
	enum vg_match m;

	if (size > VG_RULES_MAX_FILE)
		return 0;
	if ((r = load((const char *)data, size)) == NULL)
		return 0;
	CHECK(r->nroots > 0);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		m = vg_rules_match(r, paths[i], strlen(paths[i]), (int)(i & 1),
		    (int)(i % 3 == 0));
		CHECK(m == VG_MATCH_INCLUDE || m == VG_MATCH_EXCLUDE ||
		    m == VG_MATCH_EXCLUDE_DESCEND);
		/* Only folders may be walked while excluded. */
		CHECK(m != VG_MATCH_EXCLUDE_DESCEND || (i & 1));
	}
	/* The patterns against each other's text, too. */
	for (i = 0; i < r->nrules && i < 8; i++)
		if (!r->rules[i].regex)
			(void)vg_glob_match(r->rules[i].pattern,
			    r->rules[(i + 1) % r->nrules].pattern);

	s1 = vg_rules_serialize(r);
	CHECK(s1 != NULL);
	r2 = load(s1, strlen(s1));
	CHECK(r2 != NULL);
	s2 = vg_rules_serialize(r2);
	CHECK(s2 != NULL);
	CHECK(strcmp(s1, s2) == 0);
	CHECK(r2->nroots == r->nroots && r2->nrules == r->nrules);
	free(s1);
	free(s2);
	vg_rules_free(r2);
	vg_rules_free(r);
	return 0;
}
