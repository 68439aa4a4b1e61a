/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of proxy/msrrp: request stubs and PDUs compared byte for
 * byte with NDR worked out by hand; answers built by hand decoded,
 * including error statuses, NULL pointers, strings without their NUL and
 * hostile counts; the fragment header and fault checks; bind answers;
 * value text of every type; SDDL of a descriptor and of broken ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "msrrp.h"
#include "vg_err.h"

/* ---- a byte builder for answers ---- */

struct bb {
	uint8_t b[4096];
	size_t n;
};

static void
b_bytes(struct bb *s, const void *p, size_t n)
{
	assert_true(s->n + n <= sizeof(s->b));
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void
b_u8(struct bb *s, uint8_t v)
{
	b_bytes(s, &v, 1);
}

static void
b_u16(struct bb *s, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	b_bytes(s, x, 2);
}

static void
b_u32(struct bb *s, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
		(uint8_t)(v >> 24) };

	b_bytes(s, x, 4);
}

static void
b_align4(struct bb *s)
{
	while (s->n % 4 != 0)
		b_u8(s, 0);
}

/* ASCII text as UTF-16LE units, plus a NUL unit when nul. */
static void
b_wstr(struct bb *s, const char *t, int nul)
{
	for (; *t != '\0'; t++)
		b_u16(s, (uint8_t)*t);
	if (nul)
		b_u16(s, 0);
}

/*
 * An RPC_UNICODE_STRING and its deferred array for ASCII text t: Length
 * counts the NUL when nul, MaximumLength is max bytes.
 */
static void
b_ustr(struct bb *s, const char *t, int nul, uint16_t max)
{
	uint16_t units = (uint16_t)(strlen(t) + (nul ? 1 : 0));

	b_u16(s, (uint16_t)(units * 2));
	b_u16(s, max);
	b_u32(s, 0x00020000);
	b_u32(s, max / 2);
	b_u32(s, 0);
	b_u32(s, units);
	b_wstr(s, t, nul);
	b_align4(s);
}

static struct msrrp_handle
test_handle(void)
{
	struct msrrp_handle h;
	size_t i;

	for (i = 0; i < sizeof(h.b); i++)
		h.b[i] = (uint8_t)(i + 1);
	return h;
}

#define HANDLE_BYTES 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, \
	0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14

static void
assert_bytes(const struct msrrp_buf *b, const uint8_t *want, size_t n)
{
	size_t i;

	assert_int_equal(b->len, n);
	for (i = 0; i < n; i++)
		if (b->data[i] != want[i])
			fail_msg("byte %zu: 0x%02x, expected 0x%02x", i,
			    b->data[i], want[i]);
}

/* ---- request stubs ---- */

static void
test_enc_open_key(void **state)
{
	static const uint8_t want[] = {
		HANDLE_BYTES,
		0x12, 0x00, 0x12, 0x00,         /* Length, MaximumLength 18 */
		0x00, 0x00, 0x02, 0x00,         /* referent */
		0x09, 0x00, 0x00, 0x00,         /* max_count 9 */
		0x00, 0x00, 0x00, 0x00,         /* offset */
		0x09, 0x00, 0x00, 0x00,         /* actual_count 9 */
		'S', 0, 'O', 0, 'F', 0, 'T', 0, 'W', 0, 'A', 0, 'R', 0,
		'E', 0, 0, 0,
		0x00, 0x00,                     /* padding */
		0x00, 0x00, 0x00, 0x00,         /* dwOptions */
		0x19, 0x00, 0x02, 0x00,         /* samDesired KEY_READ */
	};
	struct msrrp_handle h = test_handle();
	struct msrrp_buf b = { 0 };

	(void)state;
	assert_int_equal(msrrp_enc_open_key(&b, &h, "SOFTWARE",
	    MSRRP_KEY_READ), 0);
	assert_bytes(&b, want, sizeof(want));
	msrrp_buf_free(&b);
}

static void
test_enc_open_key_unicode(void **state)
{
	/* "é€😀": 1 + 1 + 2 units, and the NUL. */
	static const uint8_t chars[] = { 0xe9, 0x00, 0xac, 0x20, 0x3d, 0xd8,
		0x00, 0xde, 0x00, 0x00 };
	struct msrrp_handle h = test_handle();
	struct msrrp_buf b = { 0 };

	(void)state;
	assert_int_equal(msrrp_enc_open_key(&b, &h, "\xc3\xa9\xe2\x82\xac"
	    "\xf0\x9f\x98\x80", MSRRP_KEY_READ | MSRRP_KEY_WOW64_64KEY), 0);
	assert_int_equal(b.len, 20 + 8 + 12 + 10 + 2 + 8);
	assert_int_equal(b.data[20], 10);
	assert_int_equal(b.data[22], 10);
	assert_int_equal(b.data[28], 5);
	assert_int_equal(b.data[36], 5);
	assert_memory_equal(b.data + 40, chars, sizeof(chars));
	assert_int_equal(b.data[56], 0x19);
	assert_int_equal(b.data[57], 0x01);
	msrrp_buf_free(&b);
}

static void
test_enc_open_key_refused(void **state)
{
	struct msrrp_handle h = test_handle();
	struct msrrp_buf b = { 0 };
	char *name;

	(void)state;
	/* Not UTF-8: nothing appended. */
	assert_int_equal(msrrp_enc_open_key(&b, &h, "a\xff", 0),
	    VG_ERR_INVAL);
	assert_int_equal(b.len, 0);
	assert_int_equal(msrrp_enc_open_key(&b, &h, "\xed\xa0\x80", 0),
	    VG_ERR_INVAL);
	assert_int_equal(b.len, 0);
	/* 32766 units and the NUL fit in 16-bit byte counts; one more
	 * does not. */
	assert_non_null(name = malloc(32768));
	memset(name, 'a', 32767);
	name[32767] = '\0';
	assert_int_equal(msrrp_enc_open_key(&b, &h, name, 0), VG_ERR_INVAL);
	assert_int_equal(b.len, 0);
	name[32766] = '\0';
	assert_int_equal(msrrp_enc_open_key(&b, &h, name, 0), 0);
	assert_int_equal(b.data[20], 0xfe);
	assert_int_equal(b.data[21], 0xff);
	assert_int_equal(b.data[28], 0xff);
	assert_int_equal(b.data[29], 0x7f);
	free(name);
	msrrp_buf_free(&b);
}

static void
test_enc_enum_key(void **state)
{
	static const uint8_t want[] = {
		HANDLE_BYTES,
		0x03, 0x00, 0x00, 0x00,         /* dwIndex */
		0x00, 0x00, 0x00, 0x02,         /* Length 0, MaximumLength */
		0x00, 0x00, 0x02, 0x00,         /* referent */
		0x00, 0x01, 0x00, 0x00,         /* max_count 256 */
		0x00, 0x00, 0x00, 0x00,         /* offset */
		0x00, 0x00, 0x00, 0x00,         /* actual_count */
		0x00, 0x00, 0x00, 0x00,         /* lpClassIn NULL */
		0x0c, 0x00, 0x02, 0x00,         /* lpftLastWriteTime */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	static const uint8_t want_class[] = {
		HANDLE_BYTES,
		0x03, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x02,
		0x00, 0x00, 0x02, 0x00,
		0x00, 0x01, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00,
		0x04, 0x00, 0x02, 0x00,         /* lpClassIn */
		0x00, 0x00, 0x40, 0x00,         /* Length 0, MaximumLength 64 */
		0x08, 0x00, 0x02, 0x00,         /* referent */
		0x20, 0x00, 0x00, 0x00,         /* max_count 32 */
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00,
		0x0c, 0x00, 0x02, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	struct msrrp_handle h = test_handle();
	struct msrrp_buf b = { 0 };

	(void)state;
	assert_int_equal(msrrp_enc_enum_key(&b, &h, 3, 512, 0), 0);
	assert_bytes(&b, want, sizeof(want));
	msrrp_buf_free(&b);
	assert_int_equal(msrrp_enc_enum_key(&b, &h, 3, 512, 64), 0);
	assert_bytes(&b, want_class, sizeof(want_class));
	msrrp_buf_free(&b);
}

static void
test_enc_enum_value(void **state)
{
	static const uint8_t want[] = {
		HANDLE_BYTES,
		0x01, 0x00, 0x00, 0x00,         /* dwIndex */
		0x00, 0x00, 0x00, 0x01,         /* Length 0, MaximumLength */
		0x00, 0x00, 0x02, 0x00,
		0x80, 0x00, 0x00, 0x00,         /* max_count 128 */
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00,
		0x04, 0x00, 0x02, 0x00,         /* lpType */
		0x00, 0x00, 0x00, 0x00,
		0x08, 0x00, 0x02, 0x00,         /* lpData */
		0x00, 0x10, 0x00, 0x00,         /* max_count 4096 */
		0x00, 0x00, 0x00, 0x00,         /* offset */
		0x00, 0x00, 0x00, 0x00,         /* actual_count */
		0x0c, 0x00, 0x02, 0x00,         /* lpcbData */
		0x00, 0x10, 0x00, 0x00,
		0x10, 0x00, 0x02, 0x00,         /* lpcbLen */
		0x00, 0x00, 0x00, 0x00,
	};
	struct msrrp_handle h = test_handle();
	struct msrrp_buf b = { 0 };

	(void)state;
	assert_int_equal(msrrp_enc_enum_value(&b, &h, 1, 256, 4096), 0);
	assert_bytes(&b, want, sizeof(want));
	msrrp_buf_free(&b);
}

static void
test_enc_others(void **state)
{
	static const uint8_t hive[] = { 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x02 };
	static const uint8_t handle[] = { HANDLE_BYTES };
	static const uint8_t info[] = {
		HANDLE_BYTES,
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x00,
		0x80, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	static const uint8_t info_none[] = {
		HANDLE_BYTES,
		0x00, 0x00, 0x00, 0x00,         /* Length 0, MaximumLength 0 */
		0x00, 0x00, 0x00, 0x00,         /* a NULL buffer */
	};
	static const uint8_t query[] = {
		HANDLE_BYTES,
		0x02, 0x00, 0x02, 0x00,         /* "" and its NUL */
		0x00, 0x00, 0x02, 0x00,
		0x01, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0x01, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00,         /* NUL, padding */
		0x04, 0x00, 0x02, 0x00, 0, 0, 0, 0,
		0x08, 0x00, 0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x0c, 0x00, 0x02, 0x00, 0x20, 0, 0, 0,
		0x10, 0x00, 0x02, 0x00, 0, 0, 0, 0,
	};
	static const uint8_t sec[] = {
		HANDLE_BYTES,
		0x07, 0, 0, 0,                  /* SecurityInformation */
		0x00, 0x00, 0x02, 0x00,         /* lpSecurityDescriptor */
		0x00, 0x10, 0, 0,               /* cbIn 4096 */
		0, 0, 0, 0,                     /* cbOut */
		0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	struct msrrp_handle h = test_handle();
	struct msrrp_buf b = { 0 };

	(void)state;
	assert_int_equal(msrrp_enc_open_hive(&b, MSRRP_MAXIMUM_ALLOWED), 0);
	assert_bytes(&b, hive, sizeof(hive));
	msrrp_buf_free(&b);
	assert_int_equal(msrrp_enc_handle(&b, &h), 0);
	assert_bytes(&b, handle, sizeof(handle));
	msrrp_buf_free(&b);
	assert_int_equal(msrrp_enc_query_info_key(&b, &h, 256), 0);
	assert_bytes(&b, info, sizeof(info));
	msrrp_buf_free(&b);
	assert_int_equal(msrrp_enc_query_info_key(&b, &h, 0), 0);
	assert_bytes(&b, info_none, sizeof(info_none));
	msrrp_buf_free(&b);
	assert_int_equal(msrrp_enc_query_value(&b, &h, "", 32), 0);
	assert_bytes(&b, query, sizeof(query));
	msrrp_buf_free(&b);
	assert_int_equal(msrrp_enc_get_key_security(&b, &h,
	    MSRRP_OWNER_SECURITY | MSRRP_GROUP_SECURITY |
	    MSRRP_DACL_SECURITY, 4096), 0);
	assert_bytes(&b, sec, sizeof(sec));
	msrrp_buf_free(&b);
}

/* A stub appended after other bytes is aligned from its own start. */
static void
test_enc_alignment_from_stub_start(void **state)
{
	struct msrrp_handle h = test_handle();
	struct msrrp_buf a = { 0 }, b = { 0 };

	(void)state;
	assert_int_equal(msrrp_enc_open_key(&a, &h, "ab", 1), 0);
	assert_int_equal(msrrp_enc_open_hive(&b, 0), 0);
	assert_int_equal(b.len, 8);
	assert_int_equal(msrrp_enc_open_key(&b, &h, "ab", 1), 0);
	assert_int_equal(b.len, 8 + a.len);
	assert_memory_equal(b.data + 8, a.data, a.len);
	msrrp_buf_free(&a);
	msrrp_buf_free(&b);
}

/* ---- PDUs ---- */

static void
test_bind(void **state)
{
	static const uint8_t want[] = {
		5, 0, 11, 0x03, 0x10, 0, 0, 0, 72, 0, 0, 0, 7, 0, 0, 0,
		0xb8, 0x10, 0xb8, 0x10,         /* 4280, 4280 */
		0, 0, 0, 0,                     /* assoc_group_id */
		1, 0, 0, 0,                     /* one context */
		0, 0, 1, 0,                     /* id 0, one transfer syntax */
		0x01, 0xd0, 0x8c, 0x33, 0x44, 0x22, 0xf1, 0x31,
		0xaa, 0xaa, 0x90, 0x00, 0x38, 0x00, 0x10, 0x03,
		1, 0, 0, 0,
		0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11,
		0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60,
		2, 0, 0, 0,
	};
	struct msrrp_buf b = { 0 };

	(void)state;
	assert_int_equal(msrrp_bind(&b, 7), 0);
	assert_bytes(&b, want, sizeof(want));
	msrrp_buf_free(&b);
}

static void
test_request_fragments(void **state)
{
	uint8_t stub[100];
	struct msrrp_buf b = { 0 };
	struct msrrp_frag f;
	size_t i, off, got = 0;
	static const uint8_t flags[] = { 1, 0, 2 };
	static const size_t lens[] = { 64, 64, 44 }, hints[] = { 100, 60, 20 };

	(void)state;
	for (i = 0; i < sizeof(stub); i++)
		stub[i] = (uint8_t)i;
	/* (64 - 24) rounded down to 8: 40 stub bytes a fragment. */
	assert_int_equal(msrrp_request(&b, 9, MSRRP_ENUM_VALUE, stub,
	    sizeof(stub), 64), 0);
	assert_int_equal(b.len, 64 + 64 + 44);
	for (i = 0, off = 0; i < 3; i++) {
		assert_int_equal(msrrp_frag_header(b.data + off, &f, NULL, 0),
		    0);
		assert_int_equal(f.ptype, MSRRP_PT_REQUEST);
		assert_int_equal(f.flags, flags[i]);
		assert_int_equal(f.frag_len, lens[i]);
		assert_int_equal(f.call_id, 9);
		assert_int_equal(b.data[off + 16], hints[i]);
		assert_int_equal(b.data[off + 20], 0);   /* context id */
		assert_int_equal(b.data[off + 22], MSRRP_ENUM_VALUE);
		assert_memory_equal(b.data + off + 24, stub + got,
		    lens[i] - 24);
		got += lens[i] - 24;
		off += lens[i];
	}
	msrrp_buf_free(&b);

	/* One fragment: FIRST and LAST; an empty stub too. */
	assert_int_equal(msrrp_request(&b, 1, MSRRP_GET_VERSION, stub, 20,
	    MSRRP_MAX_FRAG), 0);
	assert_int_equal(b.len, 44);
	assert_int_equal(b.data[3], 3);
	assert_int_equal(b.data[8], 44);
	msrrp_buf_free(&b);
	assert_int_equal(msrrp_request(&b, 1, MSRRP_GET_VERSION, NULL, 0,
	    MSRRP_MAX_FRAG), 0);
	assert_int_equal(b.len, 24);
	assert_int_equal(b.data[3], 3);
	msrrp_buf_free(&b);
	assert_int_equal(msrrp_request(&b, 1, 0, stub, 20, 31),
	    VG_ERR_INVAL);
	assert_int_equal(b.len, 0);
}

static void
header(struct bb *s, uint8_t ptype, uint8_t flags, uint32_t call_id)
{
	static const uint8_t drep[4] = { 0x10, 0, 0, 0 };

	b_u8(s, 5);
	b_u8(s, 0);
	b_u8(s, ptype);
	b_u8(s, flags);
	b_bytes(s, drep, 4);
	b_u16(s, 0);            /* frag_len: set by finish() */
	b_u16(s, 0);
	b_u32(s, call_id);
}

static void
finish(struct bb *s)
{
	s->b[8] = (uint8_t)s->n;
	s->b[9] = (uint8_t)(s->n >> 8);
}

static void
test_frag_header(void **state)
{
	struct bb s = { .n = 0 };
	struct msrrp_frag f;
	char err[256];

	(void)state;
	header(&s, MSRRP_PT_RESPONSE, 3, 42);
	b_u32(&s, 0);
	b_u32(&s, 0);
	finish(&s);
	assert_int_equal(msrrp_frag_header(s.b, &f, err, sizeof(err)), 0);
	assert_int_equal(f.ptype, MSRRP_PT_RESPONSE);
	assert_int_equal(f.flags, 3);
	assert_int_equal(f.frag_len, 24);
	assert_int_equal(f.auth_len, 0);
	assert_int_equal(f.call_id, 42);

	s.b[4] = 0x00;          /* big-endian */
	assert_int_equal(msrrp_frag_header(s.b, &f, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_non_null(strstr(err, "data representation 0x00"));
	s.b[4] = 0x11;          /* EBCDIC */
	assert_int_equal(msrrp_frag_header(s.b, &f, err, sizeof(err)),
	    VG_ERR_INVAL);
	s.b[4] = 0x10;
	s.b[8] = 15;
	assert_int_equal(msrrp_frag_header(s.b, &f, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_non_null(strstr(err, "frag_len 15"));
	s.b[8] = 24;
	s.b[0] = 4;
	assert_int_equal(msrrp_frag_header(s.b, &f, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_non_null(strstr(err, "version 4.0"));
	s.b[0] = 5;
	s.b[1] = 1;
	assert_int_equal(msrrp_frag_header(s.b, &f, err, sizeof(err)),
	    VG_ERR_INVAL);
	s.b[1] = 0;
	s.b[10] = 8;
	assert_int_equal(msrrp_frag_header(s.b, &f, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_non_null(strstr(err, "auth_len 8"));
}

static void
test_response_stub(void **state)
{
	struct bb s = { .n = 0 };
	struct msrrp_frag f;
	const uint8_t *stub;
	size_t stublen;
	char err[256];

	(void)state;
	header(&s, MSRRP_PT_RESPONSE, 3, 5);
	b_u32(&s, 8);
	b_u16(&s, 0);
	b_u8(&s, 0);
	b_u8(&s, 0);
	b_u32(&s, 6);
	b_u32(&s, 0);
	finish(&s);
	assert_int_equal(msrrp_frag_header(s.b, &f, err, sizeof(err)), 0);
	assert_int_equal(msrrp_response_stub(s.b, s.n, &f, 5, &stub,
	    &stublen, err, sizeof(err)), 0);
	assert_ptr_equal(stub, s.b + 24);
	assert_int_equal(stublen, 8);
	/* Another call's answer, a length that is not frag_len. */
	assert_int_equal(msrrp_response_stub(s.b, s.n, &f, 6, &stub,
	    &stublen, err, sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "call_id 5"));
	assert_null(stub);
	assert_int_equal(msrrp_response_stub(s.b, s.n - 1, &f, 5, &stub,
	    &stublen, err, sizeof(err)), VG_ERR_INVAL);
	/* A response shorter than its own fields. */
	s.n = 20;
	finish(&s);
	assert_int_equal(msrrp_frag_header(s.b, &f, err, sizeof(err)), 0);
	assert_int_equal(msrrp_response_stub(s.b, s.n, &f, 5, &stub,
	    &stublen, err, sizeof(err)), VG_ERR_INVAL);
	/* A bind_ack where a response is due. */
	s.b[2] = MSRRP_PT_BIND_ACK;
	s.n = 32;
	finish(&s);
	assert_int_equal(msrrp_frag_header(s.b, &f, err, sizeof(err)), 0);
	assert_int_equal(msrrp_response_stub(s.b, s.n, &f, 5, &stub,
	    &stublen, err, sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "PDU type 12"));
}

static void
test_fault(void **state)
{
	struct bb s = { .n = 0 };
	struct msrrp_frag f;
	const uint8_t *stub;
	size_t stublen;
	char err[256];

	(void)state;
	header(&s, MSRRP_PT_FAULT, 3, 5);
	b_u32(&s, 32);
	b_u16(&s, 0);
	b_u8(&s, 0);
	b_u8(&s, 0);
	b_u32(&s, 0x1c010002);
	b_u32(&s, 0);
	finish(&s);
	assert_int_equal(msrrp_frag_header(s.b, &f, err, sizeof(err)), 0);
	assert_int_equal(msrrp_response_stub(s.b, s.n, &f, 5, &stub,
	    &stublen, err, sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "fault 0x1c010002 (nca_s_op_rng_error)"));
	s.b[24] = 5;
	s.b[25] = s.b[26] = s.b[27] = 0;
	assert_int_equal(msrrp_response_stub(s.b, s.n, &f, 5, &stub,
	    &stublen, err, sizeof(err)), VG_ERR_AUTH);
	assert_non_null(strstr(err, "fault 0x00000005"));
	/* A fault without room for its status. */
	s.n = 26;
	finish(&s);
	assert_int_equal(msrrp_frag_header(s.b, &f, err, sizeof(err)), 0);
	assert_int_equal(msrrp_response_stub(s.b, s.n, &f, 5, &stub,
	    &stublen, err, sizeof(err)), VG_ERR_INVAL);
}

static const uint8_t ndr[20] = {
	0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11,
	0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 2, 0, 0, 0,
};

static void
bind_ack(struct bb *s, uint32_t call_id, uint16_t result, uint16_t reason,
    uint16_t max_recv)
{
	s->n = 0;
	header(s, MSRRP_PT_BIND_ACK, 3, call_id);
	b_u16(s, 4280);
	b_u16(s, max_recv);
	b_u32(s, 0x12345);
	b_u16(s, 13);
	b_bytes(s, "\\PIPE\\winreg", 13);
	b_align4(s);
	b_u8(s, 1);
	b_u8(s, 0);
	b_u16(s, 0);
	b_u16(s, result);
	b_u16(s, reason);
	b_bytes(s, ndr, sizeof(ndr));
	finish(s);
}

static void
test_bind_ack(void **state)
{
	struct bb s = { .n = 0 };
	uint16_t max_recv = 1;
	char err[256];

	(void)state;
	bind_ack(&s, 7, 0, 0, 4280);
	assert_int_equal(s.n, 68);
	assert_int_equal(msrrp_bind_ack(s.b, s.n, 7, &max_recv, err,
	    sizeof(err)), 0);
	assert_int_equal(max_recv, 4280);
	assert_int_equal(msrrp_bind_ack(s.b, s.n, 8, &max_recv, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_int_equal(max_recv, 0);
	/* Cut in the result list, and a longer secondary address. */
	assert_int_equal(msrrp_bind_ack(s.b, 60, 7, &max_recv, err,
	    sizeof(err)), VG_ERR_INVAL);
	s.b[8] = 60;
	assert_int_equal(msrrp_bind_ack(s.b, 60, 7, &max_recv, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "result list"));
	bind_ack(&s, 7, 0, 0, 4280);
	s.b[24] = 200;
	assert_int_equal(msrrp_bind_ack(s.b, s.n, 7, &max_recv, err,
	    sizeof(err)), VG_ERR_INVAL);
	/* Provider rejection. */
	bind_ack(&s, 7, 2, 1, 4280);
	assert_int_equal(msrrp_bind_ack(s.b, s.n, 7, &max_recv, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_string_equal(err, "bind refused: provider rejection "
	    "(abstract syntax not supported)");
	/* Accepted, but another transfer syntax; a tiny max_recv_frag. */
	bind_ack(&s, 7, 0, 0, 4280);
	s.b[s.n - 4] = 1;
	assert_int_equal(msrrp_bind_ack(s.b, s.n, 7, &max_recv, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "not NDR"));
	bind_ack(&s, 7, 0, 0, 16);
	assert_int_equal(msrrp_bind_ack(s.b, s.n, 7, &max_recv, err,
	    sizeof(err)), VG_ERR_INVAL);
}

static void
test_bind_nak(void **state)
{
	struct bb s = { .n = 0 };
	uint16_t max_recv;
	char err[256];

	(void)state;
	header(&s, MSRRP_PT_BIND_NAK, 3, 7);
	b_u16(&s, 8);
	b_u8(&s, 0);
	finish(&s);
	assert_int_equal(msrrp_bind_ack(s.b, s.n, 7, &max_recv, err,
	    sizeof(err)), VG_ERR_AUTH);
	assert_string_equal(err, "bind refused: authentication type not "
	    "recognised (bind_nak reason 8)");
	s.b[16] = 4;
	assert_int_equal(msrrp_bind_ack(s.b, s.n, 7, &max_recv, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "protocol version not supported"));
	/* A fault to the bind: access denied. */
	s.n = 0;
	header(&s, MSRRP_PT_FAULT, 3, 7);
	b_u32(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, 5);
	b_u32(&s, 0);
	finish(&s);
	assert_int_equal(msrrp_bind_ack(s.b, s.n, 7, &max_recv, err,
	    sizeof(err)), VG_ERR_AUTH);
	/* Too short to be anything. */
	assert_int_equal(msrrp_bind_ack(s.b, 10, 7, &max_recv, err,
	    sizeof(err)), VG_ERR_INVAL);
}

/* ---- answers ---- */

static void
test_dec_handle(void **state)
{
	struct bb s = { .n = 0 };
	struct msrrp_handle h, want = test_handle();
	uint32_t werr, version;
	char err[256];

	(void)state;
	b_bytes(&s, want.b, sizeof(want.b));
	b_u32(&s, 0);
	assert_int_equal(msrrp_dec_handle(s.b, s.n, &h, &werr, err,
	    sizeof(err)), 0);
	assert_int_equal(werr, 0);
	assert_memory_equal(h.b, want.b, sizeof(h.b));
	/* Denied: the status, the handle zeroed. */
	s.b[20] = 5;
	assert_int_equal(msrrp_dec_handle(s.b, s.n, &h, &werr, err,
	    sizeof(err)), 0);
	assert_int_equal(werr, MSRRP_ERROR_ACCESS_DENIED);
	assert_int_equal(h.b[0], 0);
	/* Only a status. */
	assert_int_equal(msrrp_dec_handle(s.b + 20, 4, &h, &werr, err,
	    sizeof(err)), 0);
	assert_int_equal(werr, 5);
	/* Too short. */
	assert_int_equal(msrrp_dec_handle(s.b, 22, &h, &werr, err,
	    sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "OpenKey"));
	assert_non_null(strstr(err, "status"));

	/* CloseKey: zeroed handle and status, or only a status. */
	memset(s.b, 0, 24);
	assert_int_equal(msrrp_dec_close(s.b, 24, &werr, err, sizeof(err)),
	    0);
	assert_int_equal(werr, 0);
	s.b[20] = 6;
	assert_int_equal(msrrp_dec_close(s.b, 24, &werr, err, sizeof(err)),
	    0);
	assert_int_equal(werr, 6);
	assert_int_equal(msrrp_dec_close(s.b + 20, 4, &werr, err,
	    sizeof(err)), 0);
	assert_int_equal(werr, 6);
	assert_int_equal(msrrp_dec_close(s.b, 10, &werr, err, sizeof(err)),
	    VG_ERR_INVAL);

	/* GetVersion. */
	s.n = 0;
	b_u32(&s, 6);
	b_u32(&s, 0);
	assert_int_equal(msrrp_dec_get_version(s.b, s.n, &version, &werr,
	    err, sizeof(err)), 0);
	assert_int_equal(version, 6);
	assert_int_equal(werr, 0);
	assert_int_equal(msrrp_dec_get_version(s.b, 7, &version, &werr,
	    err, sizeof(err)), VG_ERR_INVAL);
}

static void
test_dec_enum_key(void **state)
{
	struct bb s = { .n = 0 };
	char *name, *klass, err[256];
	uint64_t t;
	uint32_t werr;

	(void)state;
	b_ustr(&s, "Test", 1, 512);
	b_u32(&s, 0);                   /* no class */
	b_u32(&s, 0x00020008);
	b_u32(&s, 0x11223344);
	b_u32(&s, 0x01d00000);
	b_u32(&s, 0);
	assert_int_equal(msrrp_dec_enum_key(s.b, s.n, &name, &klass, &t,
	    &werr, err, sizeof(err)), 0);
	assert_int_equal(werr, 0);
	assert_string_equal(name, "Test");
	assert_null(klass);
	assert_true(t == 0x01d0000011223344ull);
	free(name);

	/* Without the NUL, with a class. */
	s.n = 0;
	b_ustr(&s, "Test", 0, 512);
	b_u32(&s, 0x00020004);
	b_ustr(&s, "Cls", 1, 64);
	b_u32(&s, 0);                   /* no time */
	b_u32(&s, 0);
	assert_int_equal(msrrp_dec_enum_key(s.b, s.n, &name, &klass, &t,
	    &werr, err, sizeof(err)), 0);
	assert_string_equal(name, "Test");
	assert_string_equal(klass, "Cls");
	assert_true(t == 0);
	free(name);
	free(klass);

	/* The end of the enumeration. */
	s.n = 0;
	b_u16(&s, 0);
	b_u16(&s, 512);
	b_u32(&s, 0x00020000);
	b_u32(&s, 256);
	b_u32(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, 0x00020008);
	b_u32(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, MSRRP_ERROR_NO_MORE_ITEMS);
	assert_int_equal(msrrp_dec_enum_key(s.b, s.n, &name, &klass, &t,
	    &werr, err, sizeof(err)), 0);
	assert_int_equal(werr, MSRRP_ERROR_NO_MORE_ITEMS);
	assert_null(name);
	assert_null(klass);

	/* A NULL name buffer. */
	s.n = 0;
	b_u16(&s, 0);
	b_u16(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, 0);
	assert_int_equal(msrrp_dec_enum_key(s.b, s.n, &name, &klass, &t,
	    &werr, err, sizeof(err)), 0);
	assert_int_equal(werr, 0);
	assert_null(name);

	/* Hostile: actual_count beyond max_count, beyond the bytes; offset
	 * not 0; every truncation. */
	s.n = 0;
	b_ustr(&s, "Test", 1, 512);
	b_u32(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, 0);
	s.b[16] = 0x10;
	s.b[17] = 0x01;                 /* actual_count 272 > 256 */
	assert_int_equal(msrrp_dec_enum_key(s.b, s.n, &name, &klass, &t,
	    &werr, err, sizeof(err)), VG_ERR_INVAL);
	assert_string_equal(err, "EnumKey: lpNameOut actual_count 272 "
	    "exceeds max_count 256");
	s.b[8] = 0xff;
	s.b[9] = 0xff;                  /* max_count 65535 */
	assert_int_equal(msrrp_dec_enum_key(s.b, s.n, &name, &klass, &t,
	    &werr, err, sizeof(err)), VG_ERR_INVAL);
	assert_string_equal(err, "EnumKey: lpNameOut actual_count 272 "
	    "exceeds the 24 bytes left");
	s.b[16] = 5;
	s.b[17] = 0;
	s.b[12] = 1;
	assert_int_equal(msrrp_dec_enum_key(s.b, s.n, &name, &klass, &t,
	    &werr, err, sizeof(err)), VG_ERR_INVAL);
	assert_string_equal(err, "EnumKey: lpNameOut offset 1 is not 0");
	s.b[12] = 0;
	assert_int_equal(msrrp_dec_enum_key(s.b, s.n, &name, &klass, &t,
	    &werr, err, sizeof(err)), 0);
	free(name);
	for (size_t n = 0; n < s.n; n++) {
		assert_int_equal(msrrp_dec_enum_key(s.b, n, &name, &klass, &t,
		    &werr, err, sizeof(err)), n == 4 ? 0 : VG_ERR_INVAL);
		assert_null(name);
		assert_null(klass);
	}
}

static void
test_dec_enum_value(void **state)
{
	struct bb s = { .n = 0 };
	uint32_t type, needed, werr;
	uint8_t *data;
	size_t datalen;
	char *name, *text, err[256];

	(void)state;
	b_ustr(&s, "CurrentVersion", 1, 256);
	b_u32(&s, 0x00020004);
	b_u32(&s, MSRRP_REG_SZ);
	b_u32(&s, 0x00020008);
	b_u32(&s, 4096);
	b_u32(&s, 0);
	b_u32(&s, 8);
	b_wstr(&s, "6.1", 1);
	b_u32(&s, 0x0002000c);
	b_u32(&s, 8);
	b_u32(&s, 0x00020010);
	b_u32(&s, 8);
	b_u32(&s, 0);
	assert_int_equal(msrrp_dec_value(s.b, s.n, 1, &name, &type, &data,
	    &datalen, &needed, &werr, err, sizeof(err)), 0);
	assert_int_equal(werr, 0);
	assert_string_equal(name, "CurrentVersion");
	assert_int_equal(type, MSRRP_REG_SZ);
	assert_int_equal(datalen, 8);
	assert_int_equal(needed, 8);
	assert_int_equal(msrrp_value_text(type, data, datalen, 100, &text), 0);
	assert_string_equal(text, "6.1");
	free(text);
	free(name);
	free(data);

	/* ERROR_MORE_DATA: the size to ask again with, no data. */
	s.n = 0;
	b_ustr(&s, "Big", 1, 256);
	b_u32(&s, 0x00020004);
	b_u32(&s, MSRRP_REG_BINARY);
	b_u32(&s, 0x00020008);
	b_u32(&s, 300);
	b_u32(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, 0x0002000c);
	b_u32(&s, 300);
	b_u32(&s, 0x00020010);
	b_u32(&s, 0);
	b_u32(&s, MSRRP_ERROR_MORE_DATA);
	assert_int_equal(msrrp_dec_value(s.b, s.n, 1, &name, &type, &data,
	    &datalen, &needed, &werr, err, sizeof(err)), 0);
	assert_int_equal(werr, MSRRP_ERROR_MORE_DATA);
	assert_int_equal(needed, 300);
	assert_int_equal(type, MSRRP_REG_BINARY);
	assert_null(data);
	assert_null(name);

	/* The default value: a NULL name buffer is "". */
	s.n = 0;
	b_u16(&s, 0);
	b_u16(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, 0x00020004);
	b_u32(&s, MSRRP_REG_DWORD);
	b_u32(&s, 0x00020008);
	b_u32(&s, 4);
	b_u32(&s, 0);
	b_u32(&s, 4);
	b_u32(&s, 42);
	b_u32(&s, 0x0002000c);
	b_u32(&s, 4);
	b_u32(&s, 0x00020010);
	b_u32(&s, 4);
	b_u32(&s, 0);
	assert_int_equal(msrrp_dec_value(s.b, s.n, 1, &name, &type, &data,
	    &datalen, &needed, &werr, err, sizeof(err)), 0);
	assert_string_equal(name, "");
	assert_int_equal(datalen, 4);
	assert_int_equal(data[0], 42);
	free(name);
	free(data);

	/* Hostile: a data array claiming more than the stub holds. */
	s.n = 0;
	b_ustr(&s, "X", 1, 256);
	b_u32(&s, 0x00020004);
	b_u32(&s, MSRRP_REG_BINARY);
	b_u32(&s, 0x00020008);
	b_u32(&s, 8000);
	b_u32(&s, 0);
	b_u32(&s, 5000);
	b_u32(&s, 0x0002000c);
	b_u32(&s, 5000);
	b_u32(&s, 0);
	assert_int_equal(msrrp_dec_value(s.b, s.n, 1, &name, &type, &data,
	    &datalen, &needed, &werr, err, sizeof(err)), VG_ERR_INVAL);
	assert_string_equal(err, "EnumValue: lpData actual_count 5000 exceeds "
	    "the 12 bytes left");
	assert_null(name);
	assert_null(data);
	assert_int_equal(werr, 0);
}

static void
test_dec_query_value(void **state)
{
	struct bb s = { .n = 0 };
	uint32_t type, needed, werr;
	uint8_t *data;
	size_t datalen;
	char err[256];

	(void)state;
	b_u32(&s, 0x00020000);
	b_u32(&s, MSRRP_REG_QWORD);
	b_u32(&s, 0x00020004);
	b_u32(&s, 16);
	b_u32(&s, 0);
	b_u32(&s, 8);
	b_u32(&s, 1);
	b_u32(&s, 2);
	b_u32(&s, 0x00020008);
	b_u32(&s, 8);
	b_u32(&s, 0x0002000c);
	b_u32(&s, 8);
	b_u32(&s, 0);
	assert_int_equal(msrrp_dec_value(s.b, s.n, 0, NULL, &type, &data,
	    &datalen, &needed, &werr, err, sizeof(err)), 0);
	assert_int_equal(type, MSRRP_REG_QWORD);
	assert_int_equal(datalen, 8);
	assert_int_equal(data[0], 1);
	assert_int_equal(data[4], 2);
	free(data);

	/* Not found, every pointer NULL. */
	s.n = 0;
	b_u32(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, MSRRP_ERROR_FILE_NOT_FOUND);
	assert_int_equal(msrrp_dec_value(s.b, s.n, 0, NULL, &type, &data,
	    &datalen, &needed, &werr, err, sizeof(err)), 0);
	assert_int_equal(werr, MSRRP_ERROR_FILE_NOT_FOUND);
	assert_null(data);
	assert_int_equal(needed, 0);
	/* A success with a NULL data pointer: no data. */
	s.b[16] = 0;
	assert_int_equal(msrrp_dec_value(s.b, s.n, 0, NULL, &type, &data,
	    &datalen, &needed, &werr, err, sizeof(err)), 0);
	assert_int_equal(werr, 0);
	assert_null(data);
	assert_int_equal(datalen, 0);
	/* Cut before the status. */
	assert_int_equal(msrrp_dec_value(s.b, 18, 0, NULL, &type, &data,
	    &datalen, &needed, &werr, err, sizeof(err)), VG_ERR_INVAL);
	assert_non_null(strstr(err, "QueryValue"));
}

static void
test_dec_query_info_key(void **state)
{
	struct bb s = { .n = 0 };
	struct msrrp_key_info info;
	uint32_t werr;
	char err[256];

	(void)state;
	b_u16(&s, 0);
	b_u16(&s, 0);
	b_u32(&s, 0);                   /* no class */
	b_u32(&s, 3);
	b_u32(&s, 20);
	b_u32(&s, 0);
	b_u32(&s, 2);
	b_u32(&s, 10);
	b_u32(&s, 40);
	b_u32(&s, 120);
	b_u32(&s, 0xaabbccdd);
	b_u32(&s, 0x01d00001);
	b_u32(&s, 0);
	assert_int_equal(msrrp_dec_query_info_key(s.b, s.n, &info, &werr,
	    err, sizeof(err)), 0);
	assert_int_equal(werr, 0);
	assert_string_equal(info.klass, "");
	assert_int_equal(info.subkeys, 3);
	assert_int_equal(info.max_subkey_len, 20);
	assert_int_equal(info.values, 2);
	assert_int_equal(info.max_value_name_len, 10);
	assert_int_equal(info.max_value_len, 40);
	assert_int_equal(info.sd_len, 120);
	assert_true(info.last_write == 0x01d00001aabbccddull);
	free(info.klass);

	s.n = 0;
	b_ustr(&s, "MyClass", 0, 32);
	for (int i = 0; i < 9; i++)
		b_u32(&s, (uint32_t)i);
	b_u32(&s, 0);
	assert_int_equal(msrrp_dec_query_info_key(s.b, s.n, &info, &werr,
	    err, sizeof(err)), 0);
	assert_string_equal(info.klass, "MyClass");
	assert_int_equal(info.max_value_len, 5);
	free(info.klass);
	assert_int_equal(msrrp_dec_query_info_key(s.b, s.n - 1, &info, &werr,
	    err, sizeof(err)), VG_ERR_INVAL);
	assert_null(info.klass);
	assert_string_equal(err, "QueryInfoKey: stub of 75 bytes ends before "
	    "status (4 bytes needed at offset 72)");
}

static void
test_dec_key_security(void **state)
{
	static const uint8_t sd_bytes[20] = { 1, 0, 0x04, 0x80 };
	struct bb s = { .n = 0 };
	uint32_t needed, werr;
	uint8_t *sd;
	size_t sdlen;
	char err[256];

	(void)state;
	b_u32(&s, 0x00020000);
	b_u32(&s, 4096);
	b_u32(&s, 20);
	b_u32(&s, 4096);
	b_u32(&s, 0);
	b_u32(&s, 20);
	b_bytes(&s, sd_bytes, sizeof(sd_bytes));
	b_u32(&s, 0);
	assert_int_equal(msrrp_dec_key_security(s.b, s.n, &sd, &sdlen,
	    &needed, &werr, err, sizeof(err)), 0);
	assert_int_equal(werr, 0);
	assert_int_equal(sdlen, 20);
	assert_memory_equal(sd, sd_bytes, 20);
	free(sd);

	/* Too small a buffer: the size needed. */
	s.n = 0;
	b_u32(&s, 0x00020000);
	b_u32(&s, 200);
	b_u32(&s, 0);
	b_u32(&s, 200);
	b_u32(&s, 0);
	b_u32(&s, 0);
	b_u32(&s, MSRRP_ERROR_INSUFFICIENT_BUFFER);
	assert_int_equal(msrrp_dec_key_security(s.b, s.n, &sd, &sdlen,
	    &needed, &werr, err, sizeof(err)), 0);
	assert_int_equal(werr, MSRRP_ERROR_INSUFFICIENT_BUFFER);
	assert_int_equal(needed, 200);
	assert_null(sd);

	/* Hostile: actual_count above max_count. */
	s.b[20] = 201;
	s.b[21] = 0;
	assert_int_equal(msrrp_dec_key_security(s.b, s.n, &sd, &sdlen,
	    &needed, &werr, err, sizeof(err)), VG_ERR_INVAL);
	assert_string_equal(err, "GetKeySecurity: lpSecurityDescriptor "
	    "actual_count 201 exceeds max_count 200");
	assert_null(sd);
}

/* ---- rendering ---- */

static void
expect_text(uint32_t type, const void *data, size_t len, const char *want)
{
	char *text = NULL;

	assert_int_equal(msrrp_value_text(type, data, len, 4096, &text), 0);
	assert_string_equal(text, want);
	free(text);
}

static void
test_value_text(void **state)
{
	static const uint8_t sz[] = { 'h', 0, 'i', 0, 0, 0, 'x', 0 };
	static const uint8_t multi[] = { 'a', 0, 0, 0, 'b', 0, 'c', 0, 0, 0,
		0, 0, 'z', 0, 0, 0 };
	static const uint8_t multi_open[] = { 'a', 0, 0, 0, 'b', 0, 'c', 0 };
	static const uint8_t dword[] = { 0x2a, 0, 0, 0 };
	static const uint8_t big[] = { 0, 0, 0x01, 0x02 };
	static const uint8_t qword[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff };
	static const uint8_t bin[] = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x0a };
	static const uint8_t nonascii[] = { 0xe9, 0x00, 0xac, 0x20, 0x3d, 0xd8,
		0x00, 0xde };
	static const uint8_t lone[] = { 0x3d, 0xd8, 'a', 0, 0x00, 0xde };
	static const uint8_t high_end[] = { 'a', 0, 0x3d, 0xd8 };
	char *text = NULL;

	(void)state;
	expect_text(MSRRP_REG_SZ, sz, sizeof(sz), "hi");
	expect_text(MSRRP_REG_SZ, sz, 4, "hi");         /* no NUL */
	expect_text(MSRRP_REG_SZ, sz, 3, "h");          /* odd length */
	expect_text(MSRRP_REG_SZ, sz, 0, "");
	expect_text(MSRRP_REG_SZ, NULL, 0, "");
	expect_text(MSRRP_REG_EXPAND_SZ, sz, sizeof(sz), "hi");
	expect_text(MSRRP_REG_LINK, sz, 5, "hi");
	expect_text(MSRRP_REG_MULTI_SZ, multi, sizeof(multi), "a\nbc");
	expect_text(MSRRP_REG_MULTI_SZ, multi_open, sizeof(multi_open),
	    "a\nbc");
	expect_text(MSRRP_REG_MULTI_SZ, multi, 11, "a\nbc");
	expect_text(MSRRP_REG_MULTI_SZ, multi, 0, "");
	expect_text(MSRRP_REG_MULTI_SZ, multi + 2, 4, "");
	expect_text(MSRRP_REG_DWORD, dword, 4, "0x0000002a (42)");
	expect_text(MSRRP_REG_DWORD, dword, 3, "2a0000");
	expect_text(MSRRP_REG_DWORD_BIG_ENDIAN, big, 4, "0x00000102 (258)");
	expect_text(MSRRP_REG_DWORD_BIG_ENDIAN, big, 2, "0000");
	expect_text(MSRRP_REG_QWORD, qword, 8,
	    "0xffffffffffffffff (18446744073709551615)");
	expect_text(MSRRP_REG_QWORD, qword, 4, "ffffffff");
	expect_text(MSRRP_REG_BINARY, bin, sizeof(bin), "deadbeef000a");
	expect_text(MSRRP_REG_NONE, bin, 0, "");
	expect_text(MSRRP_REG_NONE, bin, 1, "de");
	expect_text(MSRRP_REG_RESOURCE_LIST, bin, 2, "dead");
	expect_text(99, bin, 3, "deadbe");
	expect_text(MSRRP_REG_SZ, nonascii, sizeof(nonascii),
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	expect_text(MSRRP_REG_SZ, lone, sizeof(lone),
	    "\xef\xbf\xbd" "a" "\xef\xbf\xbd");
	expect_text(MSRRP_REG_SZ, high_end, sizeof(high_end),
	    "a\xef\xbf\xbd");

	/* The cap. */
	assert_int_equal(msrrp_value_text(MSRRP_REG_SZ, sz, 4, 2, &text), 0);
	assert_string_equal(text, "hi");
	free(text);
	assert_int_equal(msrrp_value_text(MSRRP_REG_SZ, sz, 4, 1, &text),
	    VG_ERR_TOOBIG);
	assert_null(text);
	assert_int_equal(msrrp_value_text(MSRRP_REG_BINARY, bin, 6, 11,
	    &text), VG_ERR_TOOBIG);
	assert_int_equal(msrrp_value_text(MSRRP_REG_BINARY, bin, 6, 12,
	    &text), 0);
	free(text);
	assert_int_equal(msrrp_value_text(MSRRP_REG_DWORD, dword, 4, 14,
	    &text), VG_ERR_TOOBIG);
	assert_int_equal(msrrp_value_text(MSRRP_REG_MULTI_SZ, multi,
	    sizeof(multi), 3, &text), VG_ERR_TOOBIG);
}

static void
test_utf16(void **state)
{
	static const uint8_t s[] = { 'a', 0, 0xe9, 0, 0, 0, 'b', 0 };
	char *out;
	size_t n = 99;

	(void)state;
	assert_int_equal(msrrp_utf16_to_utf8(s, sizeof(s), &out, &n), 0);
	assert_string_equal(out, "a\xc3\xa9");
	assert_int_equal(n, 3);
	free(out);
	assert_int_equal(msrrp_utf16_to_utf8(s, 3, &out, &n), 0);
	assert_string_equal(out, "a");
	assert_int_equal(n, 1);
	free(out);
	assert_int_equal(msrrp_utf16_to_utf8(NULL, 0, &out, NULL), 0);
	assert_string_equal(out, "");
	free(out);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(msrrp_type_name(MSRRP_REG_SZ), "REG_SZ");
	assert_string_equal(msrrp_type_name(MSRRP_REG_DWORD_BIG_ENDIAN),
	    "REG_DWORD_BIG_ENDIAN");
	assert_string_equal(msrrp_type_name(MSRRP_REG_QWORD), "REG_QWORD");
	assert_string_equal(msrrp_type_name(MSRRP_REG_NONE), "REG_NONE");
	assert_null(msrrp_type_name(12));
	assert_string_equal(msrrp_werr_text(5), "access denied");
	assert_string_equal(msrrp_werr_text(2), "not found");
	assert_string_equal(msrrp_werr_text(259), "no more items");
	assert_string_equal(msrrp_werr_text(12345), "Win32 error 12345");
}

/* A descriptor: owner BA, group SY, a protected auto-inherited DACL. */
static size_t
build_sd(struct bb *s)
{
	s->n = 0;
	b_u8(s, 1);
	b_u8(s, 0);
	b_u16(s, 0x8000 | 0x1000 | 0x0400 | 0x0004);
	b_u32(s, 20);                   /* owner */
	b_u32(s, 36);                   /* group */
	b_u32(s, 0);                    /* SACL */
	b_u32(s, 48);                   /* DACL */
	/* S-1-5-32-544 */
	b_bytes(s, "\x01\x02\x00\x00\x00\x00\x00\x05", 8);
	b_u32(s, 32);
	b_u32(s, 544);
	/* S-1-5-18 */
	b_bytes(s, "\x01\x01\x00\x00\x00\x00\x00\x05", 8);
	b_u32(s, 18);
	/* the DACL: 4 ACEs, 108 bytes */
	b_u8(s, 2);
	b_u8(s, 0);
	b_u16(s, 108);
	b_u16(s, 4);
	b_u16(s, 0);
	b_u8(s, 0);                     /* allowed, OI CI, KA, BA */
	b_u8(s, 0x03);
	b_u16(s, 24);
	b_u32(s, 0xf003f);
	b_bytes(s, "\x01\x02\x00\x00\x00\x00\x00\x05", 8);
	b_u32(s, 32);
	b_u32(s, 544);
	b_u8(s, 1);                     /* denied, CI ID, KW, WD */
	b_u8(s, 0x12);
	b_u16(s, 20);
	b_u32(s, 0x20006);
	b_bytes(s, "\x01\x01\x00\x00\x00\x00\x00\x01", 8);
	b_u32(s, 0);
	b_u8(s, 0);                     /* allowed, KR, a domain user */
	b_u8(s, 0);
	b_u16(s, 36);
	b_u32(s, 0x20019);
	b_bytes(s, "\x01\x05\x00\x00\x00\x00\x00\x05", 8);
	b_u32(s, 21);
	b_u32(s, 1);
	b_u32(s, 2);
	b_u32(s, 3);
	b_u32(s, 1001);
	b_u8(s, 0);                     /* allowed, 0x1, AU */
	b_u8(s, 0);
	b_u16(s, 20);
	b_u32(s, 0x1);
	b_bytes(s, "\x01\x01\x00\x00\x00\x00\x00\x05", 8);
	b_u32(s, 11);
	assert_int_equal(s->n, 156);
	return s->n;
}

static void
expect_sd_error(const struct bb *s, size_t len, const char *part)
{
	char *text = (char *)1, err[256] = "";


	assert_int_equal(msrrp_sd_text(s->b, len, &text, err, sizeof(err)),
	    VG_ERR_INVAL);
	assert_null(text);
	if (strstr(err, part) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, part);
}

static void
test_sddl(void **state)
{
	struct bb s = { .n = 0 };
	char *text, err[256];
	size_t len, n;

	(void)state;
	len = build_sd(&s);
	assert_int_equal(msrrp_sd_text(s.b, len, &text, err, sizeof(err)), 0);
	assert_string_equal(text, "O:BAG:SYD:PAI(A;OICI;KA;;;BA)"
	    "(D;CIID;KW;;;WD)(A;;KR;;;S-1-5-21-1-2-3-1001)(A;;0x1;;;AU)");
	free(text);

	/* A NULL DACL; no DACL at all; no owner. */
	s.b[2] = 0x04;
	s.b[3] = 0x80;
	s.b[16] = 0;
	assert_int_equal(msrrp_sd_text(s.b, len, &text, err, sizeof(err)), 0);
	assert_string_equal(text, "O:BAG:SYD:NO_ACCESS_CONTROL");
	free(text);
	s.b[2] = 0x00;
	assert_int_equal(msrrp_sd_text(s.b, len, &text, err, sizeof(err)), 0);
	assert_string_equal(text, "O:BAG:SY");
	free(text);
	s.b[4] = 0;
	assert_int_equal(msrrp_sd_text(s.b, len, &text, err, sizeof(err)), 0);
	assert_string_equal(text, "G:SY");
	free(text);

	/* Every truncation of the whole descriptor is refused. */
	len = build_sd(&s);
	for (n = 0; n < len; n++)
		expect_sd_error(&s, n, "");

	/* Offsets past the end. */
	s.b[4] = 0xf4;
	s.b[5] = 0x01;                  /* owner at 500 */
	expect_sd_error(&s, len, "owner offset 500");
	len = build_sd(&s);
	s.b[16] = 150;                  /* DACL at 150 of 156 */
	expect_sd_error(&s, len, "DACL offset 150");
	len = build_sd(&s);
	s.b[50] = 200;                  /* DACL size 200 */
	expect_sd_error(&s, len, "DACL size 200");
	/* An ACE count the ACL cannot hold. */
	len = build_sd(&s);
	s.b[52] = 40;
	expect_sd_error(&s, len, "DACL ACE count 40");
	/* Five ACEs in room for four (and a little). */
	len = build_sd(&s);
	s.b[52] = 5;
	expect_sd_error(&s, len, "ACE 5 of 5");
	/* An ACE bigger than what is left. */
	len = build_sd(&s);
	s.b[58] = 101;
	expect_sd_error(&s, len, "ACE 1 of 4 has size 101 (100 bytes left");
	/* SID sub-authority count 16. */
	len = build_sd(&s);
	s.b[21] = 16;
	expect_sd_error(&s, len, "owner SID sub-authority count 16 exceeds 15");
	len = build_sd(&s);
	s.b[37] = 2;                    /* group runs into the DACL: fine */
	assert_int_equal(msrrp_sd_text(s.b, len, &text, err, sizeof(err)), 0);
	free(text);
	s.b[8] = 144;                   /* the last ACE's SID, made to run */
	s.b[145] = 15;                  /* past the end */
	expect_sd_error(&s, len, "group SID of 15 sub-authorities at offset "
	    "144 runs past the end");
	/* A SID inside an ACE longer than the ACE. */
	len = build_sd(&s);
	s.b[65] = 3;
	expect_sd_error(&s, len, "DACL ACE 1 SID");
	/* Not self-relative, another revision. */
	len = build_sd(&s);
	s.b[3] = 0x14;
	expect_sd_error(&s, len, "not self-relative");
	len = build_sd(&s);
	s.b[0] = 2;
	expect_sd_error(&s, len, "revision 2");
	expect_sd_error(&s, 0, "shorter than its 20-byte header");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enc_open_key),
		cmocka_unit_test(test_enc_open_key_unicode),
		cmocka_unit_test(test_enc_open_key_refused),
		cmocka_unit_test(test_enc_enum_key),
		cmocka_unit_test(test_enc_enum_value),
		cmocka_unit_test(test_enc_others),
		cmocka_unit_test(test_enc_alignment_from_stub_start),
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_request_fragments),
		cmocka_unit_test(test_frag_header),
		cmocka_unit_test(test_response_stub),
		cmocka_unit_test(test_fault),
		cmocka_unit_test(test_bind_ack),
		cmocka_unit_test(test_bind_nak),
		cmocka_unit_test(test_dec_handle),
		cmocka_unit_test(test_dec_enum_key),
		cmocka_unit_test(test_dec_enum_value),
		cmocka_unit_test(test_dec_query_value),
		cmocka_unit_test(test_dec_query_info_key),
		cmocka_unit_test(test_dec_key_security),
		cmocka_unit_test(test_value_text),
		cmocka_unit_test(test_utf16),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_sddl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
