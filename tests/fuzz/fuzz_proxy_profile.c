/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for proxy/profile: any text either parses into a
 * profile whose invariants hold, or is refused with a message naming the
 * source; a parsed profile is then used once to normalise a fixed
 * capture (its patterns run on real text). A failed check aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "normalise.h"
#include "profile.h"
#include "vg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static const char sample[] =
    "Building configuration...\nhostname R1\n! Last change now\n"
    "ntp clock-period 17179\nsnmp-server community s3cret RO\n"
    "username a secret 9 $9$abc\nadd name=a \\\n    comment=b\nend\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_output out = { "show", (char *)sample, sizeof(sample) - 1,
	    0 };
	struct proxy_capture cap = { &out, 1, NULL };
	struct proxy_profile *p = NULL;
	struct proxy_norm n;
	char err[512];
	int r;

	err[0] = '\0';
	r = proxy_profile_parse((const char *)data, size, "fuzz.profile", &p,
	    err, sizeof(err));
	if (r != 0) {
		CHECK(p == NULL);
		CHECK(r == VG_ERR_INVAL || r == VG_ERR_TOOBIG ||
		    r == VG_ERR_NOMEM);
		CHECK(strncmp(err, "fuzz.profile", 12) == 0);
		return 0;
	}
	CHECK(p != NULL && p->name != NULL && p->ncommands > 0);
	CHECK(p->mode == PROXY_MODE_EXEC || p->prompt.re != NULL);
	CHECK(p->newline_len >= 1 && p->newline_len <= 2);
	CHECK(p->username_prompt.re != NULL && p->password_prompt.re != NULL);
	r = proxy_normalise(p, &cap, &n, err, sizeof(err));
	CHECK(r == 0 || r == VG_ERR_INCOMPLETE || r == VG_ERR_NOMEM);
	if (r == 0) {
		CHECK(n.text != NULL && strlen(n.text) == n.len);
		CHECK(n.significant != NULL && n.sig_len <= n.len);
		proxy_norm_free(&n);
	}
	proxy_profile_free(p);
	return 0;
}
