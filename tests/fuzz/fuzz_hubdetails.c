/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for agent/hubdetails.c: the input is a HubDetails.xml.
 * Beyond not crashing: a file that parses has a Url that starts with
 * https:// and ends in '/', a thumbprint of 0, 20 or 32 bytes and no
 * control character in any value; a file that does not gives a message
 * that names the source and a line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hubdetails.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void
check_value(const char *s)
{
	if (s == NULL)
		return;
	for (; *s != '\0'; s++)
		CHECK((unsigned char)*s >= 0x20 && *s != 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hubdetails hd;
	char err[512];
	size_t n;

	if (hd_parse((const char *)data, size, "f.xml", &hd, err,
	    sizeof(err)) != 0) {
		CHECK(strncmp(err, "f.xml:", 6) == 0 || size > HD_MAX_FILE);
		CHECK(hd.url == NULL && hd.password == NULL);
		return 0;
	}
	CHECK(hd.url != NULL && strncasecmp(hd.url, "https://", 8) == 0);
	n = strlen(hd.url);
	CHECK(n > 5 && strcmp(hd.url + n - 5, "/api/") == 0);
	CHECK(hd.thumbprint_len == 0 || hd.thumbprint_len == 20 ||
	    hd.thumbprint_len == 32);
	CHECK(hd.use_default_proxy == 0 || hd.use_default_proxy == 1);
	check_value(hd.url);
	check_value(hd.username);
	check_value(hd.password);
	check_value(hd.proxy);
	check_value(hd.proxy_username);
	check_value(hd.proxy_password);
	check_value(hd.name_prefix);
	check_value(hd.name_suffix);
	hd_free(&hd);
	return 0;
}
