/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target for proxy/msrrp: what a Windows host (or anything
 * listening on its port 445) answers over \PIPE\winreg is outside data.
 * Byte 0 picks the parser (a value past the last runs them all on the
 * rest); byte 1 is a parameter where one is needed (a value type, a text
 * cap). Parsers: a fragment header and the response stub in it, a bind
 * answer, every answer stub, value text, SDDL, UTF-16 to UTF-8, and the
 * OpenKey encoder on the bytes as a name.
 * Beyond not crashing, reading outside the input or leaking: an error is
 * one of the documented codes with a message, and sets the outputs to
 * nothing; a success hands back what the contract says: NUL-terminated
 * valid UTF-8 strings, SDDL in printable ASCII, a stub inside the
 * fragment, data no longer than the answer, text within its cap; a name
 * encoded for OpenKey reads back the same. A failed check aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msrrp.h"
#include "vg_err.h"
#include "vg_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x) do { if (!(x)) abort(); } while (0)

enum pick {
	PICK_FRAGMENT, PICK_BIND_ACK, PICK_HANDLE, PICK_CLOSE, PICK_VERSION,
	PICK_ENUM_KEY, PICK_ENUM_VALUE, PICK_QUERY_VALUE, PICK_INFO_KEY,
	PICK_KEY_SECURITY, PICK_VALUE_TEXT, PICK_SDDL, PICK_UTF16,
	PICK_OPEN_KEY, PICK_ALL
};

static void
check_err(int r, const char *err)
{
	CHECK(r == VG_ERR_INVAL || r == VG_ERR_AUTH || r == VG_ERR_NOMEM);
	CHECK(err[0] != '\0');
	CHECK(strnlen(err, 256) < 256);
}

static void
check_utf8(const char *s)
{
	if (s != NULL)
		CHECK(vg_utf8_valid(s, strlen(s)));
}

static void
check_sd(const uint8_t *sd, size_t len)
{
	char err[256] = "", *text;
	size_t i;
	int r;

	r = msrrp_sd_text(sd, len, &text, err, sizeof(err));
	if (r != 0) {
		check_err(r, err);
		CHECK(text == NULL);
		return;
	}
	for (i = 0; text[i] != '\0'; i++)
		CHECK(text[i] >= 0x20 && text[i] < 0x7f);
	free(text);
}

static void
check_value_text(uint32_t type, const uint8_t *data, size_t len, size_t max)
{
	char *text;
	int r;

	r = msrrp_value_text(type, data, len, max, &text);
	if (r != 0) {
		CHECK(r == VG_ERR_TOOBIG || r == VG_ERR_NOMEM);
		CHECK(text == NULL);
		return;
	}
	CHECK(strlen(text) <= max);
	check_utf8(text);
	free(text);
}

static void
fuzz_fragment(const uint8_t *d, size_t n)
{
	struct msrrp_frag f;
	const uint8_t *stub;
	size_t stublen;
	char err[256] = "";
	int r;

	if (n < MSRRP_HEADER_LEN)
		return;
	if ((r = msrrp_frag_header(d, &f, err, sizeof(err))) != 0) {
		check_err(r, err);
		return;
	}
	CHECK(f.frag_len >= MSRRP_HEADER_LEN && f.auth_len == 0);
	if (f.frag_len > n)
		return;
	err[0] = '\0';
	r = msrrp_response_stub(d, f.frag_len, &f, f.call_id ^ (n & 1),
	    &stub, &stublen, err, sizeof(err));
	if (r != 0) {
		check_err(r, err);
		CHECK(stub == NULL);
		return;
	}
	CHECK(!(n & 1));
	CHECK(f.ptype == MSRRP_PT_RESPONSE);
	CHECK(stub >= d && stub + stublen == d + f.frag_len);
}

static void
fuzz_bind_ack(const uint8_t *d, size_t n)
{
	uint16_t max_recv;
	char err[256] = "";
	int r;

	if (n < 16)
		return;
	/* The call id the answer carries, so the body is reached. */
	r = msrrp_bind_ack(d, n, (uint32_t)d[12] | (uint32_t)d[13] << 8 |
	    (uint32_t)d[14] << 16 | (uint32_t)d[15] << 24, &max_recv, err,
	    sizeof(err));
	if (r != 0) {
		check_err(r, err);
		CHECK(max_recv == 0);
		return;
	}
	CHECK(max_recv >= 32);
}

static void
fuzz_answers(int which, const uint8_t *d, size_t n)
{
	struct msrrp_handle h;
	struct msrrp_key_info info;
	uint32_t werr, version, type, needed;
	uint64_t t;
	uint8_t *bytes;
	size_t len;
	char err[256] = "", *name, *klass;
	int r;

	switch (which) {
	case PICK_HANDLE:
		if ((r = msrrp_dec_handle(d, n, &h, &werr, err, sizeof(err)))
		    != 0)
			check_err(r, err);
		break;
	case PICK_CLOSE:
		if ((r = msrrp_dec_close(d, n, &werr, err, sizeof(err))) != 0)
			check_err(r, err);
		break;
	case PICK_VERSION:
		if ((r = msrrp_dec_get_version(d, n, &version, &werr, err,
		    sizeof(err))) != 0)
			check_err(r, err);
		break;
	case PICK_ENUM_KEY:
		r = msrrp_dec_enum_key(d, n, &name, &klass, &t, &werr, err,
		    sizeof(err));
		if (r != 0) {
			check_err(r, err);
			CHECK(name == NULL && klass == NULL);
			break;
		}
		if (werr != MSRRP_OK)
			CHECK(name == NULL && klass == NULL);
		check_utf8(name);
		check_utf8(klass);
		free(name);
		free(klass);
		break;
	case PICK_ENUM_VALUE:
	case PICK_QUERY_VALUE:
		name = NULL;
		r = msrrp_dec_value(d, n, which == PICK_ENUM_VALUE,
		    which == PICK_ENUM_VALUE ? &name : NULL, &type, &bytes,
		    &len, &needed, &werr, err, sizeof(err));
		if (r != 0) {
			check_err(r, err);
			CHECK(name == NULL && bytes == NULL && len == 0);
			break;
		}
		CHECK(len <= n && (bytes == NULL) == (len == 0));
		if (werr != MSRRP_OK)
			CHECK(name == NULL && bytes == NULL);
		else if (which == PICK_ENUM_VALUE)
			CHECK(name != NULL);
		check_utf8(name);
		check_value_text(type, bytes, len, 1 << 20);
		free(name);
		free(bytes);
		break;
	case PICK_INFO_KEY:
		r = msrrp_dec_query_info_key(d, n, &info, &werr, err,
		    sizeof(err));
		if (r != 0) {
			check_err(r, err);
			CHECK(info.klass == NULL);
			break;
		}
		CHECK((info.klass != NULL) == (werr == MSRRP_OK));
		check_utf8(info.klass);
		free(info.klass);
		break;
	case PICK_KEY_SECURITY:
		r = msrrp_dec_key_security(d, n, &bytes, &len, &needed, &werr,
		    err, sizeof(err));
		if (r != 0) {
			check_err(r, err);
			CHECK(bytes == NULL && len == 0);
			break;
		}
		CHECK(len <= n && (bytes == NULL) == (len == 0));
		if (bytes != NULL)
			check_sd(bytes, len);
		free(bytes);
		break;
	}
}

static void
fuzz_utf16(const uint8_t *d, size_t n)
{
	size_t len;
	char *s;

	CHECK(msrrp_utf16_to_utf8(d, n, &s, &len) == 0);
	CHECK(strlen(s) == len && len <= n / 2 * 3);
	check_utf8(s);
	free(s);
}

/* The bytes as a key name: if they are UTF-8 (without a NUL) and short
 * enough, OpenKey carries them and they read back the same. */
static void
fuzz_open_key(const uint8_t *d, size_t n)
{
	struct msrrp_handle h = { { 0 } };
	struct msrrp_buf b = { 0 };
	size_t units, back_len;
	char *name, *back;
	int r;

	if ((name = malloc(n + 1)) == NULL)
		return;
	memcpy(name, d, n);
	name[n] = '\0';
	r = msrrp_enc_open_key(&b, &h, name, MSRRP_KEY_READ);
	if (r != 0) {
		CHECK(r == VG_ERR_INVAL || r == VG_ERR_NOMEM);
		CHECK(b.len == 0);
		CHECK(!vg_utf8_valid(name, strlen(name)) || n > 32766);
		msrrp_buf_free(&b);
		free(name);
		return;
	}
	CHECK(vg_utf8_valid(name, strlen(name)));
	CHECK(b.len >= 40 + 2 + 8);
	units = (size_t)b.data[36] | (size_t)b.data[37] << 8;
	CHECK((size_t)(b.data[20] | b.data[21] << 8) == units * 2);
	CHECK(b.len == ((40 + units * 2 + 3) & ~(size_t)3) + 8);
	CHECK(msrrp_utf16_to_utf8(b.data + 40, units * 2, &back, &back_len)
	    == 0);
	CHECK(strcmp(back, name) == 0);
	free(back);
	free(name);
	msrrp_buf_free(&b);
}

static void
run(int which, uint8_t param, const uint8_t *d, size_t n)
{
	switch (which) {
	case PICK_FRAGMENT:
		fuzz_fragment(d, n);
		break;
	case PICK_BIND_ACK:
		fuzz_bind_ack(d, n);
		break;
	case PICK_VALUE_TEXT:
		check_value_text(param & 0x0f, d, n, param >> 4 == 0 ?
		    (size_t)1 << 20 : (size_t)(param >> 4) * 4);
		break;
	case PICK_SDDL:
		check_sd(d, n);
		break;
	case PICK_UTF16:
		fuzz_utf16(d, n);
		break;
	case PICK_OPEN_KEY:
		fuzz_open_key(d, n);
		break;
	default:
		fuzz_answers(which, d, n);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int which;

	if (size < 2)
		return 0;
	which = data[0];
	if (which < PICK_ALL) {
		run(which, data[1], data + 2, size - 2);
		return 0;
	}
	for (which = 0; which < PICK_ALL; which++)
		run(which, data[1], data + 2, size - 2);
	return 0;
}
