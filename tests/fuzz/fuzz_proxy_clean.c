/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for the path device output takes: the screen
 * (proxy/session: escapes, '\r', backspaces, chunk boundaries) then
 * normalisation with each shipped profile (proxy/normalise). The first
 * byte picks the chunk size, so escape sequences are cut anywhere.
 * Beyond not crashing: the cleaned text holds no ESC, CR or other
 * control byte but '\t' and '\n'; every value a secret pattern matched
 * is gone (checked on a secret planted on the first line); the significant view is never
 * longer than the document.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalise.h"
#include "profile.h"
#include "session.h"
#include "vg_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static const char *const names[] = { "ios", "nxos", "asa", "junos", "eos",
	"fortios", "panos", "routeros", "linux" };
#define NPROFILES (sizeof(names) / sizeof(names[0]))
static struct proxy_profile *profiles[NPROFILES];

static void
load_profiles(void)
{
	char err[512];
	size_t i;

	if (profiles[0] != NULL)
		return;
	for (i = 0; i < NPROFILES; i++) {
		if (proxy_profile_load_named(VIGIL_PROFILES, names[i],
		    &profiles[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char planted[] = "snmp-server community Zq9planted RO\n";
	struct proxy_screen *s;
	struct proxy_output out = { "show", NULL, 0, 0 };
	struct proxy_capture cap = { &out, 1, NULL };
	struct proxy_norm n;
	const char *t;
	char err[512], *text;
	size_t chunk, off, len, i;
	int r;

	if (size < 1)
		return 0;
	load_profiles();
	chunk = (size_t)data[0] % 16 + 1;
	data++;
	size--;
	CHECK((s = proxy_screen_new(1 << 20)) != NULL);
	for (off = 0; off < size; off += chunk) {
		r = proxy_screen_feed(s, (const char *)data + off,
		    size - off < chunk ? size - off : chunk);
		CHECK(r == 0);
	}
	CHECK(proxy_screen_flush(s) == 0);
	t = proxy_screen_text(s, &len);
	for (i = 0; i < len; i++)
		CHECK((unsigned char)t[i] >= 0x20 || t[i] == '\t' ||
		    t[i] == '\n');
	CHECK(len == 0 || t[len - 1] == '\n');
	CHECK((text = malloc(len + sizeof(planted))) != NULL);
	memcpy(text, planted, sizeof(planted) - 1);
	memcpy(text + sizeof(planted) - 1, t, len);
	text[len + sizeof(planted) - 1] = '\0';
	out.text = text;
	out.len = len + sizeof(planted) - 1;
	proxy_screen_free(s);
	for (i = 0; i < NPROFILES; i++) {
		r = proxy_normalise(profiles[i], &cap, &n, err, sizeof(err));
		CHECK(r == 0 || r == VG_ERR_INCOMPLETE);
		if (r != 0)
			continue;
		CHECK(n.sig_len <= n.len && strlen(n.text) == n.len);
		/* The IOS family and EOS mask the planted community. */
		if (i == 0 || i == 4)
			CHECK(strncmp(n.text, "=== show ===\nsnmp-server "
			    "community <secret sha256:", 50) == 0);
		proxy_norm_free(&n);
	}
	free(text);
	return 0;
}
