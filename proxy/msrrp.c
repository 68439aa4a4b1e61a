/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msrrp.h"
#include "vg_err.h"
#include "vg_util.h"

/*
 * MS-RRP over connection-oriented DCE/RPC (msrrp.h). Requests are built
 * into a msrrp_buf; answers are read through a cursor (struct rd) that
 * checks every primitive, count and offset against the bytes left and
 * names the operation and field when something does not fit. NDR
 * alignment is relative to the start of the stub (which itself starts
 * 8-aligned in the PDU).
 */

/* The most a msrrp_buf grows to: a request stub is small, a whole PDU
 * sequence at most the stub cap plus its fragment headers. */
#define BUF_MAX (2 * (size_t)MSRRP_STUB_MAX)

#define REQUEST_HDR 24                 /* common header + request fields */
#define RESPONSE_HDR 24
#define FAULT_LEN 32
#define MAX_NAME_UNITS 32766           /* with the NUL: 65534 bytes */
#define SID_MAX_SUBAUTH 15

/* The interface and transfer syntax, as they go on the wire (the first
 * three UUID fields little-endian), each followed by its version. */
static const uint8_t winreg_syntax[20] = {
	0x01, 0xd0, 0x8c, 0x33, 0x44, 0x22, 0xf1, 0x31,
	0xaa, 0xaa, 0x90, 0x00, 0x38, 0x00, 0x10, 0x03,
	0x01, 0x00, 0x00, 0x00,        /* 1.0 */
};
static const uint8_t ndr_syntax[20] = {
	0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11,
	0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60,
	0x02, 0x00, 0x00, 0x00,        /* 2 */
};

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* ---- the output buffer ---- */

void
msrrp_buf_free(struct msrrp_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int
buf_reserve(struct msrrp_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (n > BUF_MAX || b->len > BUF_MAX - n)
		return VG_ERR_TOOBIG;
	if (b->len + n <= b->cap)
		return 0;
	cap = b->cap < 256 ? 256 : b->cap;
	while (cap < b->len + n)
		cap *= 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return VG_ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

static int
put(struct msrrp_buf *b, const void *p, size_t n)
{
	int r;

	if ((r = buf_reserve(b, n)) != 0)
		return r;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static int
put_u8(struct msrrp_buf *b, uint8_t v)
{
	return put(b, &v, 1);
}

static int
put_u16(struct msrrp_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	return put(b, x, 2);
}

static int
put_u32(struct msrrp_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
		(uint8_t)(v >> 24) };

	return put(b, x, 4);
}

/* Zero bytes up to a multiple of a from base (the start of the stub). */
static int
put_align(struct msrrp_buf *b, size_t base, size_t a)
{
	static const uint8_t zero[8];
	size_t pad = (a - (b->len - base) % a) % a;

	return put(b, zero, pad);
}

/* An NDR primitive at its alignment. */
static int
ndr_u32(struct msrrp_buf *b, size_t base, uint32_t v)
{
	int r;

	if ((r = put_align(b, base, 4)) != 0)
		return r;
	return put_u32(b, v);
}

/* The common header with frag_len to be filled in later. */
static int
put_header(struct msrrp_buf *b, uint8_t ptype, uint8_t flags,
    uint16_t frag_len, uint32_t call_id)
{
	static const uint8_t drep[4] = { 0x10, 0, 0, 0 };
	int r;

	if ((r = put_u8(b, 5)) != 0 || (r = put_u8(b, 0)) != 0 ||
	    (r = put_u8(b, ptype)) != 0 || (r = put_u8(b, flags)) != 0 ||
	    (r = put(b, drep, sizeof(drep))) != 0 ||
	    (r = put_u16(b, frag_len)) != 0 || (r = put_u16(b, 0)) != 0 ||
	    (r = put_u32(b, call_id)) != 0)
		return r;
	return 0;
}

/* ---- PDUs ---- */

int
msrrp_bind(struct msrrp_buf *out, uint32_t call_id)
{
	size_t start = out->len;
	int r;

	if ((r = put_header(out, MSRRP_PT_BIND, MSRRP_PFC_FIRST |
	    MSRRP_PFC_LAST, 72, call_id)) != 0 ||
	    (r = put_u16(out, MSRRP_MAX_FRAG)) != 0 ||
	    (r = put_u16(out, MSRRP_MAX_FRAG)) != 0 ||
	    (r = put_u32(out, 0)) != 0 ||              /* assoc_group_id */
	    (r = put_u8(out, 1)) != 0 ||               /* n_context_elem */
	    (r = put_u8(out, 0)) != 0 || (r = put_u16(out, 0)) != 0 ||
	    (r = put_u16(out, 0)) != 0 ||              /* p_cont_id */
	    (r = put_u8(out, 1)) != 0 ||               /* n_transfer_syn */
	    (r = put_u8(out, 0)) != 0 ||
	    (r = put(out, winreg_syntax, sizeof(winreg_syntax))) != 0 ||
	    (r = put(out, ndr_syntax, sizeof(ndr_syntax))) != 0) {
		out->len = start;
		return r;
	}
	return 0;
}

int
msrrp_frag_header(const uint8_t hdr[MSRRP_HEADER_LEN], struct msrrp_frag *f,
    char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	if (hdr[0] != 5 || hdr[1] != 0) {
		vg_errf(err, errlen, "DCE/RPC header: version %u.%u (5.0 "
		    "expected)", hdr[0], hdr[1]);
		return VG_ERR_INVAL;
	}
	if (hdr[4] != 0x10) {
		vg_errf(err, errlen, "DCE/RPC header: data representation "
		    "0x%02x refused (only little-endian ASCII, 0x10)", hdr[4]);
		return VG_ERR_INVAL;
	}
	f->ptype = hdr[2];
	f->flags = hdr[3];
	f->frag_len = le16(hdr + 8);
	f->auth_len = le16(hdr + 10);
	f->call_id = le32(hdr + 12);
	/* A 16-bit frag_len cannot exceed MSRRP_FRAG_MAX. */
	if (f->frag_len < MSRRP_HEADER_LEN) {
		vg_errf(err, errlen, "DCE/RPC header: frag_len %u is shorter "
		    "than the %d-byte header", f->frag_len, MSRRP_HEADER_LEN);
		return VG_ERR_INVAL;
	}
	if (f->auth_len != 0) {
		vg_errf(err, errlen, "DCE/RPC header: auth_len %u (no "
		    "authentication was asked for)", f->auth_len);
		return VG_ERR_INVAL;
	}
	return 0;
}

static const char *
bind_nak_reason(uint16_t reason)
{
	switch (reason) {
	case 0: return "reason not specified";
	case 1: return "temporary congestion";
	case 2: return "local limit exceeded";
	case 3: return "called presentation address unknown";
	case 4: return "protocol version not supported";
	case 5: return "default context not supported";
	case 6: return "user data not readable";
	case 7: return "no presentation service access point";
	case 8: return "authentication type not recognised";
	case 9: return "invalid checksum";
	}
	return "unknown reason";
}

static const char *
bind_result_reason(uint16_t reason)
{
	switch (reason) {
	case 0: return "reason not specified";
	case 1: return "abstract syntax not supported";
	case 2: return "proposed transfer syntaxes not supported";
	case 3: return "local limit exceeded";
	}
	return "unknown reason";
}

static const char *
fault_name(uint32_t status)
{
	switch (status) {
	case 0x00000001: return "nca_s_fault_other";
	case 0x00000005: return "nca_s_fault_access_denied";
	case 0x000006d8: return "nca_s_fault_cant_perform";
	case 0x000006f7: return "nca_s_fault_ndr";
	case 0x1c000006: return "nca_s_fault_invalid_tag";
	case 0x1c00001a: return "nca_s_fault_context_mismatch";
	case 0x1c010002: return "nca_s_op_rng_error";
	case 0x1c010003: return "nca_s_unk_if";
	case 0x1c01000b: return "nca_s_proto_error";
	}
	return "unknown fault";
}

/* A whole PDU: its header parsed and its length and call id checked. */
static int
pdu_header(const uint8_t *pdu, size_t len, uint32_t call_id,
    struct msrrp_frag *f, const char *what, char *err, size_t errlen)
{
	int r;

	if (len < MSRRP_HEADER_LEN) {
		vg_errf(err, errlen, "%s: %zu bytes, shorter than the %d-byte "
		    "header", what, len, MSRRP_HEADER_LEN);
		return VG_ERR_INVAL;
	}
	if ((r = msrrp_frag_header(pdu, f, err, errlen)) != 0)
		return r;
	if (f->frag_len != len) {
		vg_errf(err, errlen, "%s: frag_len %u but %zu bytes", what,
		    f->frag_len, len);
		return VG_ERR_INVAL;
	}
	if (f->call_id != call_id) {
		vg_errf(err, errlen, "%s: call_id %" PRIu32 " (%" PRIu32
		    " expected)", what, f->call_id, call_id);
		return VG_ERR_INVAL;
	}
	return 0;
}

/* A fault PDU (f already checked): VG_ERR_AUTH or VG_ERR_INVAL. */
static int
fault(const uint8_t *pdu, size_t len, const char *what, char *err,
    size_t errlen)
{
	uint32_t status;

	if (len < RESPONSE_HDR + 4) {
		vg_errf(err, errlen, "%s: fault PDU of %zu bytes has no status",
		    what, len);
		return VG_ERR_INVAL;
	}
	status = le32(pdu + RESPONSE_HDR);
	vg_errf(err, errlen, "%s: fault 0x%08" PRIx32 " (%s)", what, status,
	    fault_name(status));
	return status == 5 ? VG_ERR_AUTH : VG_ERR_INVAL;
}

int
msrrp_bind_ack(const uint8_t *pdu, size_t len, uint32_t call_id,
    uint16_t *max_recv, char *err, size_t errlen)
{
	struct msrrp_frag f;
	uint16_t reason, result, recv, secaddr;
	size_t off;
	int r;

	*max_recv = 0;
	if ((r = pdu_header(pdu, len, call_id, &f, "bind answer", err,
	    errlen)) != 0)
		return r;
	if (f.ptype == MSRRP_PT_BIND_NAK) {
		if (len < 18) {
			vg_errf(err, errlen, "bind refused (bind_nak of %zu "
			    "bytes, no reason)", len);
			return VG_ERR_INVAL;
		}
		reason = le16(pdu + 16);
		vg_errf(err, errlen, "bind refused: %s (bind_nak reason %u)",
		    bind_nak_reason(reason), reason);
		return reason == 8 ? VG_ERR_AUTH : VG_ERR_INVAL;
	}
	if (f.ptype == MSRRP_PT_FAULT)
		return fault(pdu, len, "bind refused", err, errlen);
	if (f.ptype != MSRRP_PT_BIND_ACK) {
		vg_errf(err, errlen, "bind answer: PDU type %u (bind_ack "
		    "expected)", f.ptype);
		return VG_ERR_INVAL;
	}
	if (len < 26) {
		vg_errf(err, errlen, "bind_ack: %zu bytes, too short for its "
		    "fields", len);
		return VG_ERR_INVAL;
	}
	recv = le16(pdu + 18);
	secaddr = le16(pdu + 24);
	off = 26 + (size_t)secaddr;
	off = (off + 3) & ~(size_t)3;
	if (off > len || len - off < 4) {
		vg_errf(err, errlen, "bind_ack: secondary address of %u bytes "
		    "leaves no result list in %zu bytes", secaddr, len);
		return VG_ERR_INVAL;
	}
	if (pdu[off] < 1) {
		vg_errf(err, errlen, "bind_ack: no result for the presentation "
		    "context");
		return VG_ERR_INVAL;
	}
	off += 4;
	if (len - off < 24) {
		vg_errf(err, errlen, "bind_ack: result list cut short (%zu "
		    "bytes left, 24 needed)", len - off);
		return VG_ERR_INVAL;
	}
	result = le16(pdu + off);
	reason = le16(pdu + off + 2);
	if (result != 0) {
		vg_errf(err, errlen, "bind refused: %s (%s)",
		    result == 1 ? "user rejection" : result == 2 ?
		    "provider rejection" : "not accepted",
		    bind_result_reason(reason));
		return VG_ERR_INVAL;
	}
	if (memcmp(pdu + off + 4, ndr_syntax, sizeof(ndr_syntax)) != 0) {
		vg_errf(err, errlen, "bind_ack: the accepted transfer syntax is "
		    "not NDR v2");
		return VG_ERR_INVAL;
	}
	if (recv < REQUEST_HDR + 8) {
		vg_errf(err, errlen, "bind_ack: max_recv_frag %u is too small",
		    recv);
		return VG_ERR_INVAL;
	}
	*max_recv = recv;
	return 0;
}

int
msrrp_request(struct msrrp_buf *out, uint32_t call_id, uint16_t opnum,
    const uint8_t *stub, size_t stublen, uint16_t max_xmit)
{
	size_t start = out->len, chunk, done = 0, n;
	uint8_t flags;
	int r;

	if (max_xmit < REQUEST_HDR + 8)
		return VG_ERR_INVAL;
	if (stublen > MSRRP_STUB_MAX)
		return VG_ERR_TOOBIG;
	/* Every fragment but the last carries a multiple of 8 bytes, so
	 * the stub's alignment holds across fragments. */
	chunk = ((size_t)max_xmit - REQUEST_HDR) & ~(size_t)7;
	do {
		n = stublen - done < chunk ? stublen - done : chunk;
		flags = 0;
		if (done == 0)
			flags |= MSRRP_PFC_FIRST;
		if (done + n == stublen)
			flags |= MSRRP_PFC_LAST;
		if ((r = put_header(out, MSRRP_PT_REQUEST, flags,
		    (uint16_t)(REQUEST_HDR + n), call_id)) != 0 ||
		    (r = put_u32(out, (uint32_t)(stublen - done))) != 0 ||
		    (r = put_u16(out, 0)) != 0 ||
		    (r = put_u16(out, opnum)) != 0 ||
		    (r = put(out, n > 0 ? stub + done : NULL, n)) != 0) {
			out->len = start;
			return r;
		}
		done += n;
	} while (done < stublen);
	return 0;
}

int
msrrp_response_stub(const uint8_t *frag, size_t len,
    const struct msrrp_frag *f, uint32_t call_id, const uint8_t **stub,
    size_t *stublen, char *err, size_t errlen)
{
	*stub = NULL;
	*stublen = 0;
	if (len != f->frag_len || len < MSRRP_HEADER_LEN) {
		vg_errf(err, errlen, "response: frag_len %u but %zu bytes",
		    f->frag_len, len);
		return VG_ERR_INVAL;
	}
	if (f->call_id != call_id) {
		vg_errf(err, errlen, "response: call_id %" PRIu32 " (%" PRIu32
		    " expected)", f->call_id, call_id);
		return VG_ERR_INVAL;
	}
	if (f->ptype == MSRRP_PT_FAULT)
		return fault(frag, len, "call failed", err, errlen);
	if (f->ptype != MSRRP_PT_RESPONSE) {
		vg_errf(err, errlen, "response: PDU type %u (response "
		    "expected)", f->ptype);
		return VG_ERR_INVAL;
	}
	if (len < RESPONSE_HDR) {
		vg_errf(err, errlen, "response: %zu bytes, shorter than its "
		    "%d-byte header", len, RESPONSE_HDR);
		return VG_ERR_INVAL;
	}
	if (le16(frag + 20) != 0) {
		vg_errf(err, errlen, "response: context id %u (0 expected)",
		    le16(frag + 20));
		return VG_ERR_INVAL;
	}
	*stub = frag + RESPONSE_HDR;
	*stublen = len - RESPONSE_HDR;
	return 0;
}

/* ---- request stubs ---- */

/* UTF-8 to UTF-16LE units appended to b (no NUL); *units gets their
 * count. VG_ERR_INVAL for invalid UTF-8 or more than max units. */
static int
put_utf16(struct msrrp_buf *b, const char *s, size_t max, size_t *units)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t len = strlen(s), i = 0, n = 0;
	uint32_t cp;
	uint16_t hi, lo;
	int r, j, k;

	if (!vg_utf8_valid(s, len))
		return VG_ERR_INVAL;
	while (i < len) {
		if (p[i] < 0x80) {
			cp = p[i];
			k = 1;
		} else if (p[i] < 0xe0) {
			cp = p[i] & 0x1fu;
			k = 2;
		} else if (p[i] < 0xf0) {
			cp = p[i] & 0x0fu;
			k = 3;
		} else {
			cp = p[i] & 0x07u;
			k = 4;
		}
		for (j = 1; j < k; j++)
			cp = cp << 6 | (p[i + (size_t)j] & 0x3fu);
		i += (size_t)k;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			hi = (uint16_t)(0xd800 | cp >> 10);
			lo = (uint16_t)(0xdc00 | (cp & 0x3ff));
			if ((r = put_u16(b, hi)) != 0 ||
			    (r = put_u16(b, lo)) != 0)
				return r;
			n += 2;
		} else {
			if ((r = put_u16(b, (uint16_t)cp)) != 0)
				return r;
			n++;
		}
		if (n > max)
			return VG_ERR_INVAL;
	}
	*units = n;
	return 0;
}

/*
 * An RRP_UNICODE_STRING holding name and its NUL (Length and
 * MaximumLength both count it) with its deferred array right after it:
 * the layout of a top-level [in] structure.
 */
static int
put_ustr_name(struct msrrp_buf *b, size_t base, const char *name)
{
	size_t hdr, arr, units;
	uint16_t bytes;
	int r;

	if ((r = put_align(b, base, 4)) != 0)
		return r;
	hdr = b->len;
	/* Length, MaximumLength and the buffer's referent, then max_count,
	 * offset and actual_count: the sizes are filled in below. */
	if ((r = put_u16(b, 0)) != 0 || (r = put_u16(b, 0)) != 0 ||
	    (r = put_u32(b, 0x00020000)) != 0 || (r = put_u32(b, 0)) != 0 ||
	    (r = put_u32(b, 0)) != 0 || (r = put_u32(b, 0)) != 0)
		return r;
	arr = b->len - 12;
	if ((r = put_utf16(b, name, MAX_NAME_UNITS, &units)) != 0 ||
	    (r = put_u16(b, 0)) != 0)
		return r;
	units++;
	bytes = (uint16_t)(units * 2);
	b->data[hdr] = (uint8_t)bytes;
	b->data[hdr + 1] = (uint8_t)(bytes >> 8);
	b->data[hdr + 2] = (uint8_t)bytes;
	b->data[hdr + 3] = (uint8_t)(bytes >> 8);
	b->data[arr] = (uint8_t)units;
	b->data[arr + 1] = (uint8_t)(units >> 8);
	b->data[arr + 8] = (uint8_t)units;
	b->data[arr + 9] = (uint8_t)(units >> 8);
	return 0;
}

/* An empty RRP_UNICODE_STRING buffer of max bytes (Length 0) and its
 * deferred array (max_count max/2, no elements). */
static int
put_ustr_empty(struct msrrp_buf *b, size_t base, uint16_t max,
    uint32_t referent)
{
	int r;

	if ((r = put_align(b, base, 4)) != 0 || (r = put_u16(b, 0)) != 0 ||
	    (r = put_u16(b, max)) != 0 || (r = put_u32(b, referent)) != 0 ||
	    (r = put_u32(b, max / 2)) != 0 || (r = put_u32(b, 0)) != 0 ||
	    (r = put_u32(b, 0)) != 0)
		return r;
	return 0;
}

/* An RRP_UNICODE_STRING of no buffer: Length and MaximumLength 0, a
 * NULL Buffer pointer (nothing deferred). */
static int
put_ustr_null(struct msrrp_buf *b, size_t base)
{
	int r;

	if ((r = put_align(b, base, 4)) != 0 || (r = put_u16(b, 0)) != 0 ||
	    (r = put_u16(b, 0)) != 0 || (r = put_u32(b, 0)) != 0)
		return r;
	return 0;
}

/* A [unique] DWORD: referent then the value. */
static int
put_unique_u32(struct msrrp_buf *b, size_t base, uint32_t referent,
    uint32_t v)
{
	int r;

	if ((r = ndr_u32(b, base, referent)) != 0 ||
	    (r = ndr_u32(b, base, v)) != 0)
		return r;
	return 0;
}

/*
 * lpType, lpData (an empty conformant varying byte array of data_max),
 * lpcbData = data_max and lpcbLen = 0, as EnumValue and QueryValue take
 * them.
 */
static int
put_value_buffers(struct msrrp_buf *b, size_t base, uint32_t data_max)
{
	int r;

	if ((r = put_unique_u32(b, base, 0x00020004, 0)) != 0 ||
	    (r = ndr_u32(b, base, 0x00020008)) != 0 ||
	    (r = ndr_u32(b, base, data_max)) != 0 ||
	    (r = ndr_u32(b, base, 0)) != 0 ||
	    (r = ndr_u32(b, base, 0)) != 0 ||
	    (r = put_unique_u32(b, base, 0x0002000c, data_max)) != 0 ||
	    (r = put_unique_u32(b, base, 0x00020010, 0)) != 0)
		return r;
	return 0;
}

/* A stub is appended whole or not at all: on failure out goes back to
 * its length before (base). Returns r. */
static int
enc_end(struct msrrp_buf *out, size_t base, int r)
{
	if (r != 0)
		out->len = base;
	return r;
}

int
msrrp_enc_open_hive(struct msrrp_buf *out, uint32_t access)
{
	size_t base = out->len;
	int r;

	/* ServerName: a NULL [unique] pointer. */
	if ((r = ndr_u32(out, base, 0)) == 0)
		r = ndr_u32(out, base, access);
	return enc_end(out, base, r);
}

int
msrrp_enc_handle(struct msrrp_buf *out, const struct msrrp_handle *h)
{
	size_t base = out->len;
	int r;

	r = put(out, h->b, sizeof(h->b));
	return enc_end(out, base, r);
}

int
msrrp_enc_query_info_key(struct msrrp_buf *out,
    const struct msrrp_handle *h, uint16_t class_max)
{
	size_t base = out->len;
	int r;

	if ((r = put(out, h->b, sizeof(h->b))) != 0)
		return enc_end(out, base, r);
	/* No class buffer: Length 0, MaximumLength 0 and a NULL Buffer,
	 * as Samba's own client sends it (Samba's winreg IDL makes that
	 * string [string]: a non-NULL buffer without a terminator is a
	 * fault nca_s_fault_ndr there). */
	if (class_max == 0)
		r = put_ustr_null(out, base);
	else
		r = put_ustr_empty(out, base, class_max, 0x00020000);
	return enc_end(out, base, r);
}

int
msrrp_enc_open_key(struct msrrp_buf *out, const struct msrrp_handle *h,
    const char *name, uint32_t access)
{
	size_t base = out->len;
	int r;

	if ((r = put(out, h->b, sizeof(h->b))) == 0 &&
	    (r = put_ustr_name(out, base, name)) == 0 &&
	    (r = ndr_u32(out, base, 0)) == 0)
		r = ndr_u32(out, base, access);
	return enc_end(out, base, r);
}

int
msrrp_enc_enum_key(struct msrrp_buf *out, const struct msrrp_handle *h,
    uint32_t index, uint16_t name_max, uint16_t class_max)
{
	size_t base = out->len;
	int r;

	if ((r = put(out, h->b, sizeof(h->b))) != 0 ||
	    (r = ndr_u32(out, base, index)) != 0 ||
	    (r = put_ustr_empty(out, base, name_max, 0x00020000)) != 0)
		goto out;
	if (class_max == 0)
		r = ndr_u32(out, base, 0);
	else if ((r = ndr_u32(out, base, 0x00020004)) == 0)
		r = put_ustr_empty(out, base, class_max, 0x00020008);
	if (r != 0)
		goto out;
	/* lpftLastWriteTime: a FILETIME (two DWORDs) of 0 to fill in. */
	if ((r = ndr_u32(out, base, 0x0002000c)) == 0 &&
	    (r = ndr_u32(out, base, 0)) == 0)
		r = ndr_u32(out, base, 0);
out:
	return enc_end(out, base, r);
}

int
msrrp_enc_enum_value(struct msrrp_buf *out, const struct msrrp_handle *h,
    uint32_t index, uint16_t name_max, uint32_t data_max)
{
	size_t base = out->len;
	int r;

	if ((r = put(out, h->b, sizeof(h->b))) == 0 &&
	    (r = ndr_u32(out, base, index)) == 0 &&
	    (r = put_ustr_empty(out, base, name_max, 0x00020000)) == 0)
		r = put_value_buffers(out, base, data_max);
	return enc_end(out, base, r);
}

int
msrrp_enc_query_value(struct msrrp_buf *out, const struct msrrp_handle *h,
    const char *name, uint32_t data_max)
{
	size_t base = out->len;
	int r;

	if ((r = put(out, h->b, sizeof(h->b))) == 0 &&
	    (r = put_ustr_name(out, base, name)) == 0)
		r = put_value_buffers(out, base, data_max);
	return enc_end(out, base, r);
}

int
msrrp_enc_get_key_security(struct msrrp_buf *out,
    const struct msrrp_handle *h, uint32_t secinfo, uint32_t sd_max)
{
	size_t base = out->len;
	int r;

	/* RPC_SECURITY_DESCRIPTOR: lpSecurityDescriptor, cbIn, cbOut,
	 * then the deferred conformant varying array. */
	if ((r = put(out, h->b, sizeof(h->b))) == 0 &&
	    (r = ndr_u32(out, base, secinfo)) == 0 &&
	    (r = ndr_u32(out, base, 0x00020000)) == 0 &&
	    (r = ndr_u32(out, base, sd_max)) == 0 &&
	    (r = ndr_u32(out, base, 0)) == 0 &&
	    (r = ndr_u32(out, base, sd_max)) == 0 &&
	    (r = ndr_u32(out, base, 0)) == 0)
		r = ndr_u32(out, base, 0);
	return enc_end(out, base, r);
}

/* ---- answer stubs ---- */

/* A cursor over a stub; op names the operation in messages. */
struct rd {
	const uint8_t *p;
	size_t len, off;
	const char *op;
	char *err;
	size_t errlen;
};

static size_t
rd_left(const struct rd *r)
{
	return r->len - r->off;
}

/* Skips the padding to a multiple of a and checks that n bytes follow. */
static int
rd_need(struct rd *r, const char *field, size_t a, size_t n)
{
	size_t pad = (a - r->off % a) % a;

	if (pad > rd_left(r) || n > rd_left(r) - pad) {
		vg_errf(r->err, r->errlen, "%s: stub of %zu bytes ends before "
		    "%s (%zu bytes needed at offset %zu)", r->op, r->len,
		    field, n, r->off + pad);
		return VG_ERR_INVAL;
	}
	r->off += pad;
	return 0;
}

static int
rd_u16(struct rd *r, const char *field, uint16_t *v)
{
	int e;

	if ((e = rd_need(r, field, 2, 2)) != 0)
		return e;
	*v = le16(r->p + r->off);
	r->off += 2;
	return 0;
}

static int
rd_u32(struct rd *r, const char *field, uint32_t *v)
{
	int e;

	if ((e = rd_need(r, field, 4, 4)) != 0)
		return e;
	*v = le32(r->p + r->off);
	r->off += 4;
	return 0;
}

/* A FILETIME: two DWORDs, low first. */
static int
rd_filetime(struct rd *r, const char *field, uint64_t *v)
{
	int e;

	if ((e = rd_need(r, field, 4, 8)) != 0)
		return e;
	*v = le64(r->p + r->off);
	r->off += 8;
	return 0;
}

/*
 * A conformant varying array of elements of size el (1 or 2): max_count,
 * offset (must be 0), actual_count (at most max_count, its elements
 * present). *data points at the elements, *count is actual_count.
 */
static int
rd_array(struct rd *r, const char *field, size_t el, const uint8_t **data,
    uint32_t *count)
{
	uint32_t max, offset, actual;
	int e;

	if ((e = rd_u32(r, field, &max)) != 0 ||
	    (e = rd_u32(r, field, &offset)) != 0 ||
	    (e = rd_u32(r, field, &actual)) != 0)
		return e;
	if (offset != 0) {
		vg_errf(r->err, r->errlen, "%s: %s offset %" PRIu32 " is not 0",
		    r->op, field, offset);
		return VG_ERR_INVAL;
	}
	if (actual > max) {
		vg_errf(r->err, r->errlen, "%s: %s actual_count %" PRIu32
		    " exceeds max_count %" PRIu32, r->op, field, actual, max);
		return VG_ERR_INVAL;
	}
	if ((uint64_t)actual * el > rd_left(r)) {
		vg_errf(r->err, r->errlen, "%s: %s actual_count %" PRIu32
		    " exceeds the %zu bytes left", r->op, field, actual,
		    rd_left(r));
		return VG_ERR_INVAL;
	}
	*data = r->p + r->off;
	*count = actual;
	r->off += (size_t)actual * el;
	return 0;
}

/* An RPC_UNICODE_STRING structure: Length, MaximumLength, the buffer's
 * referent. */
static int
rd_ustr_hdr(struct rd *r, const char *field, uint32_t *referent)
{
	uint16_t length, maxlen;
	int e;

	if ((e = rd_u16(r, field, &length)) != 0 ||
	    (e = rd_u16(r, field, &maxlen)) != 0 ||
	    (e = rd_u32(r, field, referent)) != 0)
		return e;
	if (length > maxlen) {
		vg_errf(r->err, r->errlen, "%s: %s Length %u exceeds "
		    "MaximumLength %u", r->op, field, length, maxlen);
		return VG_ERR_INVAL;
	}
	return 0;
}

/* The deferred characters of a string whose referent is non-zero, as
 * malloc'd UTF-8 in *s; NULL for a NULL pointer. */
static int
rd_ustr_body(struct rd *r, const char *field, uint32_t referent, char **s)
{
	const uint8_t *chars;
	uint32_t n;
	int e;

	*s = NULL;
	if (referent == 0)
		return 0;
	if ((e = rd_array(r, field, 2, &chars, &n)) != 0)
		return e;
	return msrrp_utf16_to_utf8(chars, (size_t)n * 2, s, NULL);
}

/* A [unique] DWORD: *v is 0 for a NULL pointer. */
static int
rd_unique_u32(struct rd *r, const char *field, uint32_t *v)
{
	uint32_t referent;
	int e;

	*v = 0;
	if ((e = rd_u32(r, field, &referent)) != 0)
		return e;
	if (referent == 0)
		return 0;
	return rd_u32(r, field, v);
}

static void
rd_init(struct rd *r, const uint8_t *stub, size_t len, const char *op,
    char *err, size_t errlen)
{
	r->p = stub;
	r->len = stub == NULL ? 0 : len;
	r->off = 0;
	r->op = op;
	r->err = err;
	r->errlen = errlen;
}

/*
 * An answer of only a status (what some servers send when the call
 * failed, out-parameters left out): 1 with *werr set when the stub is
 * exactly 4 bytes of a non-zero status.
 */
static int
status_only(const uint8_t *stub, size_t len, uint32_t *werr)
{
	if (stub == NULL || len != 4 || le32(stub) == MSRRP_OK)
		return 0;
	*werr = le32(stub);
	return 1;
}

int
msrrp_dec_handle(const uint8_t *stub, size_t len, struct msrrp_handle *h,
    uint32_t *werr, char *err, size_t errlen)
{
	struct rd r;
	int e;

	memset(h, 0, sizeof(*h));
	*werr = 0;
	if (status_only(stub, len, werr))
		return 0;
	rd_init(&r, stub, len, "OpenKey", err, errlen);
	if ((e = rd_need(&r, "phKey", 4, sizeof(h->b))) != 0)
		return e;
	memcpy(h->b, r.p + r.off, sizeof(h->b));
	r.off += sizeof(h->b);
	if ((e = rd_u32(&r, "status", werr)) != 0) {
		memset(h, 0, sizeof(*h));
		return e;
	}
	if (*werr != MSRRP_OK)
		memset(h, 0, sizeof(*h));
	return 0;
}

int
msrrp_dec_close(const uint8_t *stub, size_t len, uint32_t *werr, char *err,
    size_t errlen)
{
	struct rd r;
	int e;

	*werr = 0;
	rd_init(&r, stub, len, "CloseKey", err, errlen);
	if (len != 4 && (e = rd_need(&r, "hKey", 4, 20)) != 0)
		return e;
	if (len != 4)
		r.off += 20;
	return rd_u32(&r, "status", werr);
}

int
msrrp_dec_get_version(const uint8_t *stub, size_t len, uint32_t *version,
    uint32_t *werr, char *err, size_t errlen)
{
	struct rd r;
	int e;

	*version = 0;
	*werr = 0;
	if (status_only(stub, len, werr))
		return 0;
	rd_init(&r, stub, len, "GetVersion", err, errlen);
	if ((e = rd_u32(&r, "lpdwVersion", version)) != 0 ||
	    (e = rd_u32(&r, "status", werr)) != 0) {
		*version = 0;
		return e;
	}
	return 0;
}

int
msrrp_dec_enum_key(const uint8_t *stub, size_t len, char **name,
    char **klass, uint64_t *last_write, uint32_t *werr, char *err,
    size_t errlen)
{
	struct rd r;
	uint32_t ref, cref = 0, tref;
	int e;

	*name = *klass = NULL;
	*last_write = 0;
	*werr = 0;
	if (status_only(stub, len, werr))
		return 0;
	rd_init(&r, stub, len, "EnumKey", err, errlen);
	if ((e = rd_ustr_hdr(&r, "lpNameOut", &ref)) != 0 ||
	    (e = rd_ustr_body(&r, "lpNameOut", ref, name)) != 0 ||
	    (e = rd_u32(&r, "lplpClassOut", &cref)) != 0)
		goto fail;
	if (cref != 0 &&
	    ((e = rd_ustr_hdr(&r, "lplpClassOut", &ref)) != 0 ||
	    (e = rd_ustr_body(&r, "lplpClassOut", ref, klass)) != 0))
		goto fail;
	if ((e = rd_u32(&r, "lpftLastWriteTime", &tref)) != 0 ||
	    (tref != 0 && (e = rd_filetime(&r, "lpftLastWriteTime",
	    last_write)) != 0) ||
	    (e = rd_u32(&r, "status", werr)) != 0)
		goto fail;
	if (*werr == MSRRP_OK)
		return 0;
	e = 0;
fail:
	free(*name);
	free(*klass);
	*name = *klass = NULL;
	*last_write = 0;
	return e;
}

int
msrrp_dec_value(const uint8_t *stub, size_t len, int enum_value,
    char **name, uint32_t *type, uint8_t **data, size_t *datalen,
    uint32_t *needed, uint32_t *werr, char *err, size_t errlen)
{
	const uint8_t *bytes = NULL;
	uint32_t ref, count = 0, cblen;
	struct rd r;
	char *nm = NULL;
	int e;

	if (name != NULL)
		*name = NULL;
	*type = 0;
	*data = NULL;
	*datalen = 0;
	*needed = 0;
	*werr = 0;
	if (status_only(stub, len, werr))
		return 0;
	rd_init(&r, stub, len, enum_value ? "EnumValue" : "QueryValue", err,
	    errlen);
	if (enum_value &&
	    ((e = rd_ustr_hdr(&r, "lpValueNameOut", &ref)) != 0 ||
	    (e = rd_ustr_body(&r, "lpValueNameOut", ref, &nm)) != 0))
		goto out;
	if ((e = rd_unique_u32(&r, "lpType", type)) != 0 ||
	    (e = rd_u32(&r, "lpData", &ref)) != 0 ||
	    (ref != 0 && (e = rd_array(&r, "lpData", 1, &bytes, &count))
	    != 0) ||
	    (e = rd_unique_u32(&r, "lpcbData", needed)) != 0 ||
	    (e = rd_unique_u32(&r, "lpcbLen", &cblen)) != 0 ||
	    (e = rd_u32(&r, "status", werr)) != 0)
		goto out;
	e = 0;
	if (*werr != MSRRP_OK)
		goto out;
	if (enum_value && nm == NULL && (nm = strdup("")) == NULL) {
		e = VG_ERR_NOMEM;
		goto out;
	}
	if (bytes != NULL && count > 0) {
		if ((*data = malloc(count)) == NULL) {
			e = VG_ERR_NOMEM;
			goto out;
		}
		memcpy(*data, bytes, count);
		*datalen = count;
	}
	if (name != NULL) {
		*name = nm;
		nm = NULL;
	}
out:
	free(nm);
	if (e != 0) {
		*type = 0;
		*needed = 0;
		*werr = 0;
	}
	return e;
}

int
msrrp_dec_query_info_key(const uint8_t *stub, size_t len,
    struct msrrp_key_info *info, uint32_t *werr, char *err, size_t errlen)
{
	struct rd r;
	uint32_t ref;
	int e;

	memset(info, 0, sizeof(*info));
	*werr = 0;
	if (status_only(stub, len, werr))
		return 0;
	rd_init(&r, stub, len, "QueryInfoKey", err, errlen);
	if ((e = rd_ustr_hdr(&r, "lpClassOut", &ref)) != 0 ||
	    (e = rd_ustr_body(&r, "lpClassOut", ref, &info->klass)) != 0 ||
	    (e = rd_u32(&r, "lpcSubKeys", &info->subkeys)) != 0 ||
	    (e = rd_u32(&r, "lpcbMaxSubKeyLen", &info->max_subkey_len)) != 0 ||
	    (e = rd_u32(&r, "lpcbMaxClassLen", &info->max_class_len)) != 0 ||
	    (e = rd_u32(&r, "lpcValues", &info->values)) != 0 ||
	    (e = rd_u32(&r, "lpcbMaxValueNameLen",
	    &info->max_value_name_len)) != 0 ||
	    (e = rd_u32(&r, "lpcbMaxValueLen", &info->max_value_len)) != 0 ||
	    (e = rd_u32(&r, "lpcbSecurityDescriptor", &info->sd_len)) != 0 ||
	    (e = rd_filetime(&r, "lpftLastWriteTime", &info->last_write))
	    != 0 ||
	    (e = rd_u32(&r, "status", werr)) != 0)
		goto fail;
	if (*werr != MSRRP_OK) {
		e = 0;
		goto fail;
	}
	if (info->klass == NULL && (info->klass = strdup("")) == NULL) {
		e = VG_ERR_NOMEM;
		goto fail;
	}
	return 0;
fail:
	free(info->klass);
	memset(info, 0, sizeof(*info));
	if (e != 0)
		*werr = 0;
	return e;
}

int
msrrp_dec_key_security(const uint8_t *stub, size_t len, uint8_t **sd,
    size_t *sdlen, uint32_t *needed, uint32_t *werr, char *err,
    size_t errlen)
{
	const uint8_t *bytes = NULL;
	uint32_t ref, cbout, count = 0;
	struct rd r;
	int e;

	*sd = NULL;
	*sdlen = 0;
	*needed = 0;
	*werr = 0;
	if (status_only(stub, len, werr))
		return 0;
	rd_init(&r, stub, len, "GetKeySecurity", err, errlen);
	if ((e = rd_u32(&r, "pRpcSecurityDescriptorOut", &ref)) != 0 ||
	    (e = rd_u32(&r, "cbInSecurityDescriptor", needed)) != 0 ||
	    (e = rd_u32(&r, "cbOutSecurityDescriptor", &cbout)) != 0 ||
	    (ref != 0 && (e = rd_array(&r, "lpSecurityDescriptor", 1, &bytes,
	    &count)) != 0) ||
	    (e = rd_u32(&r, "status", werr)) != 0) {
		*needed = 0;
		*werr = 0;
		return e;
	}
	if (*werr != MSRRP_OK || count == 0)
		return 0;
	if ((*sd = malloc(count)) == NULL)
		return VG_ERR_NOMEM;
	memcpy(*sd, bytes, count);
	*sdlen = count;
	return 0;
}

/* ---- rendering ---- */

/* A growing string of at most max bytes (without its NUL). */
struct sb {
	char *p;
	size_t n, cap, max;
	int err;
};

static void
sb_add(struct sb *b, const void *s, size_t len)
{
	size_t cap;
	char *p;

	if (b->err != 0)
		return;
	if (len > b->max || b->n > b->max - len) {
		b->err = VG_ERR_TOOBIG;
		return;
	}
	if (b->n + len + 1 > b->cap) {
		cap = b->cap < 64 ? 64 : b->cap;
		while (cap < b->n + len + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->err = VG_ERR_NOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static void
sb_puts(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_printf(struct sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sb *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		if (b->err == 0)
			b->err = VG_ERR_INTERNAL;
		return;
	}
	sb_add(b, tmp, (size_t)n);
}

/* Hands the string over (an empty one when nothing was added). */
static int
sb_finish(struct sb *b, char **out)
{
	*out = NULL;
	if (b->err == 0 && b->p == NULL)
		sb_add(b, "", 0);
	if (b->err != 0) {
		free(b->p);
		b->p = NULL;
		return b->err;
	}
	*out = b->p;
	b->p = NULL;
	return 0;
}

static void
sb_codepoint(struct sb *b, uint32_t cp)
{
	uint8_t u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xc0 | cp >> 6);
		u[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xe0 | cp >> 12);
		u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xf0 | cp >> 18);
		u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sb_add(b, u, n);
}

/* The UTF-16LE units at s (n units, none NUL) as UTF-8. */
static void
sb_utf16(struct sb *b, const uint8_t *s, size_t n)
{
	uint32_t u, lo;
	size_t i;

	for (i = 0; i < n && b->err == 0; i++) {
		u = le16(s + 2 * i);
		if (u >= 0xd800 && u <= 0xdbff && i + 1 < n &&
		    (lo = le16(s + 2 * i + 2)) >= 0xdc00 && lo <= 0xdfff) {
			sb_codepoint(b, 0x10000 + ((u - 0xd800) << 10) +
			    (lo - 0xdc00));
			i++;
		} else if (u >= 0xd800 && u <= 0xdfff)
			sb_codepoint(b, 0xfffd);
		else
			sb_codepoint(b, u);
	}
}

/* The units before the first NUL unit at or after unit i of n. */
static size_t
units_to_nul(const uint8_t *s, size_t i, size_t n)
{
	size_t j;

	for (j = i; j < n; j++)
		if (le16(s + 2 * j) == 0)
			break;
	return j - i;
}

int
msrrp_utf16_to_utf8(const uint8_t *s, size_t bytes, char **out,
    size_t *outlen)
{
	struct sb b = { .max = SIZE_MAX / 2 };
	size_t n = s == NULL ? 0 : bytes / 2;
	int r;

	sb_utf16(&b, s, units_to_nul(s, 0, n));
	if ((r = sb_finish(&b, out)) != 0)
		return r;
	if (outlen != NULL)
		*outlen = b.n;
	return 0;
}

const char *
msrrp_type_name(uint32_t type)
{
	static const char *const names[] = {
		"REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY",
		"REG_DWORD", "REG_DWORD_BIG_ENDIAN", "REG_LINK",
		"REG_MULTI_SZ", "REG_RESOURCE_LIST",
		"REG_FULL_RESOURCE_DESCRIPTOR",
		"REG_RESOURCE_REQUIREMENTS_LIST", "REG_QWORD",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : NULL;
}

int
msrrp_value_text(uint32_t type, const uint8_t *data, size_t len, size_t max,
    char **text)
{
	static const char hex[] = "0123456789abcdef";
	struct sb b = { .max = max };
	size_t n = data == NULL ? 0 : len / 2, i, k;
	uint64_t v;
	char h[2];

	*text = NULL;
	if (data == NULL)
		len = 0;
	switch (type) {
	case MSRRP_REG_SZ:
	case MSRRP_REG_EXPAND_SZ:
	case MSRRP_REG_LINK:
		sb_utf16(&b, data, units_to_nul(data, 0, n));
		return sb_finish(&b, text);
	case MSRRP_REG_MULTI_SZ:
		for (i = 0; i < n && (k = units_to_nul(data, i, n)) > 0;
		    i += k + 1) {
			if (i > 0)
				sb_add(&b, "\n", 1);
			sb_utf16(&b, data + 2 * i, k);
		}
		return sb_finish(&b, text);
	case MSRRP_REG_DWORD:
	case MSRRP_REG_DWORD_BIG_ENDIAN:
		if (len != 4)
			break;
		v = type == MSRRP_REG_DWORD ? le32(data) :
		    (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
		    (uint32_t)data[2] << 8 | data[3];
		sb_printf(&b, "0x%08" PRIx64 " (%" PRIu64 ")", v, v);
		return sb_finish(&b, text);
	case MSRRP_REG_QWORD:
		if (len != 8)
			break;
		v = le64(data);
		sb_printf(&b, "0x%016" PRIx64 " (%" PRIu64 ")", v, v);
		return sb_finish(&b, text);
	}
	if (len > max / 2)
		return VG_ERR_TOOBIG;
	for (i = 0; i < len; i++) {
		h[0] = hex[data[i] >> 4];
		h[1] = hex[data[i] & 0xf];
		sb_add(&b, h, 2);
	}
	return sb_finish(&b, text);
}

/* ---- security descriptors ---- */

#define SE_DACL_PRESENT 0x0004
#define SE_SACL_PRESENT 0x0010
#define SE_DACL_AUTO_INHERIT_REQ 0x0100
#define SE_SACL_AUTO_INHERIT_REQ 0x0200
#define SE_DACL_AUTO_INHERITED 0x0400
#define SE_SACL_AUTO_INHERITED 0x0800
#define SE_DACL_PROTECTED 0x1000
#define SE_SACL_PROTECTED 0x2000
#define SE_SELF_RELATIVE 0x8000

static const struct {
	const char *sid, *alias;
} sid_aliases[] = {
	{ "S-1-1-0", "WD" },
	{ "S-1-3-0", "CO" },
	{ "S-1-3-1", "CG" },
	{ "S-1-3-4", "OW" },
	{ "S-1-5-2", "NU" },
	{ "S-1-5-4", "IU" },
	{ "S-1-5-6", "SU" },
	{ "S-1-5-7", "AN" },
	{ "S-1-5-9", "ED" },
	{ "S-1-5-10", "PS" },
	{ "S-1-5-11", "AU" },
	{ "S-1-5-12", "RC" },
	{ "S-1-5-18", "SY" },
	{ "S-1-5-19", "LS" },
	{ "S-1-5-20", "NS" },
	{ "S-1-5-32-544", "BA" },
	{ "S-1-5-32-545", "BU" },
	{ "S-1-5-32-546", "BG" },
	{ "S-1-5-32-547", "PU" },
	{ "S-1-5-32-548", "AO" },
	{ "S-1-5-32-549", "SO" },
	{ "S-1-5-32-550", "PO" },
	{ "S-1-5-32-551", "BO" },
	{ "S-1-5-32-552", "RE" },
	{ "S-1-5-32-554", "RU" },
	{ "S-1-5-32-555", "RD" },
	{ "S-1-5-32-556", "NO" },
	{ "S-1-5-32-558", "MU" },
	{ "S-1-5-32-559", "LU" },
	{ "S-1-5-32-568", "IS" },
	{ "S-1-5-32-569", "CY" },
	{ "S-1-5-32-573", "ER" },
	{ "S-1-15-2-1", "AC" },
	{ "S-1-16-4096", "LW" },
	{ "S-1-16-8192", "ME" },
	{ "S-1-16-12288", "HI" },
	{ "S-1-16-16384", "SI" },
};

/* Checks the SID at off (within the first end bytes of sd) and appends
 * it in SDDL; *size gets its length. */
static int
sd_sid(struct sb *b, const uint8_t *sd, size_t end, size_t off,
    const char *what, size_t *size, char *err, size_t errlen)
{
	char text[16 + 11 * SID_MAX_SUBAUTH + 24];
	uint64_t auth = 0;
	size_t n, i;
	int k;

	if (off > end || end - off < 8) {
		vg_errf(err, errlen, "%s SID at offset %zu runs past the end "
		    "(%zu bytes)", what, off, end);
		return VG_ERR_INVAL;
	}
	if (sd[off] != 1) {
		vg_errf(err, errlen, "%s SID revision %u (1 expected)", what,
		    sd[off]);
		return VG_ERR_INVAL;
	}
	n = sd[off + 1];
	if (n > SID_MAX_SUBAUTH) {
		vg_errf(err, errlen, "%s SID sub-authority count %zu exceeds "
		    "%d", what, n, SID_MAX_SUBAUTH);
		return VG_ERR_INVAL;
	}
	if (end - off - 8 < 4 * n) {
		vg_errf(err, errlen, "%s SID of %zu sub-authorities at offset "
		    "%zu runs past the end (%zu bytes)", what, n, off, end);
		return VG_ERR_INVAL;
	}
	for (i = 0; i < 6; i++)
		auth = auth << 8 | sd[off + 2 + i];
	if (auth >> 32 != 0)
		k = snprintf(text, sizeof(text), "S-1-0x%012" PRIX64, auth);
	else
		k = snprintf(text, sizeof(text), "S-1-%" PRIu64, auth);
	for (i = 0; i < n && k > 0 && (size_t)k < sizeof(text); i++)
		k += snprintf(text + k, sizeof(text) - (size_t)k, "-%" PRIu32,
		    le32(sd + off + 8 + 4 * i));
	if (k < 0 || (size_t)k >= sizeof(text))
		return VG_ERR_INTERNAL;
	*size = 8 + 4 * n;
	for (i = 0; i < sizeof(sid_aliases) / sizeof(sid_aliases[0]); i++)
		if (strcmp(text, sid_aliases[i].sid) == 0) {
			sb_puts(b, sid_aliases[i].alias);
			return 0;
		}
	sb_puts(b, text);
	return 0;
}

static void
sd_guid(struct sb *b, const uint8_t *g)
{
	sb_printf(b, "%08" PRIx32 "-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x"
	    "%02x", le32(g), le16(g + 4), le16(g + 6), g[8], g[9], g[10],
	    g[11], g[12], g[13], g[14], g[15]);
}

static int
is_object_ace(uint8_t type)
{
	return (type >= 5 && type <= 8) || type == 0x0b || type == 0x0c ||
	    type == 0x0f || type == 0x10;
}

/* One ACE of the ACL at acl (size bytes): "(type;flags;rights;obj;inh;
 * sid)". *ace_size gets its size. */
static int
sd_ace(struct sb *b, const uint8_t *ace, size_t left, const char *what,
    unsigned idx, unsigned count, size_t *ace_size, char *err, size_t errlen)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} flags[] = {
		{ 0x01, "OI" }, { 0x02, "CI" }, { 0x04, "NP" }, { 0x08, "IO" },
		{ 0x10, "ID" }, { 0x40, "SA" }, { 0x80, "FA" },
	};
	static const char *const types[] = { "A", "D", "AU", "AL" };
	uint8_t type, aflags, rest;
	uint32_t mask, objflags = 0;
	size_t size, pos, sidlen, i;
	char tag[32];

	if (left < 4) {
		vg_errf(err, errlen, "%s: ACE %u of %u starts past the end of "
		    "the ACL", what, idx + 1, count);
		return VG_ERR_INVAL;
	}
	type = ace[0];
	aflags = ace[1];
	size = le16(ace + 2);
	if (size < 8 || size > left) {
		vg_errf(err, errlen, "%s: ACE %u of %u has size %zu (%zu bytes "
		    "left in the ACL)", what, idx + 1, count, size, left);
		return VG_ERR_INVAL;
	}
	mask = le32(ace + 4);
	pos = 8;
	if (is_object_ace(type)) {
		if (size < pos + 4) {
			vg_errf(err, errlen, "%s: object ACE %u of %u too short "
			    "for its flags", what, idx + 1, count);
			return VG_ERR_INVAL;
		}
		objflags = le32(ace + pos);
		pos += 4;
		if (size < pos + ((objflags & 1) ? 16 : 0) +
		    ((objflags & 2) ? 16 : 0)) {
			vg_errf(err, errlen, "%s: object ACE %u of %u too short "
			    "for its GUIDs", what, idx + 1, count);
			return VG_ERR_INVAL;
		}
	}
	sb_puts(b, "(");
	if (type < sizeof(types) / sizeof(types[0]))
		sb_puts(b, types[type]);
	else
		sb_printf(b, "0x%02x", type);
	sb_puts(b, ";");
	rest = aflags;
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (aflags & flags[i].bit) {
			sb_puts(b, flags[i].name);
			rest = (uint8_t)(rest & ~flags[i].bit);
		}
	if (rest != 0)
		sb_printf(b, "0x%02x", rest);
	sb_puts(b, ";");
	if (mask == 0xf003f)
		sb_puts(b, "KA");
	else if (mask == 0x20019)
		sb_puts(b, "KR");
	else if (mask == 0x20006)
		sb_puts(b, "KW");
	else
		sb_printf(b, "0x%" PRIx32, mask);
	sb_puts(b, ";");
	if (objflags & 1) {
		sd_guid(b, ace + pos);
		pos += 16;
	}
	sb_puts(b, ";");
	if (objflags & 2) {
		sd_guid(b, ace + pos);
		pos += 16;
	}
	sb_puts(b, ";");
	snprintf(tag, sizeof(tag), "%s ACE %u", what, idx + 1);
	if (sd_sid(b, ace, size, pos, tag, &sidlen, err, errlen) != 0)
		return VG_ERR_INVAL;
	sb_puts(b, ")");
	*ace_size = size;
	return 0;
}

/* The ACL at off: its flags (from control), then its ACEs. */
static int
sd_acl(struct sb *b, const uint8_t *sd, size_t len, size_t off,
    const char *what, int protected, int auto_req, int auto_inherited,
    char *err, size_t errlen)
{
	size_t size, pos, ace_size;
	unsigned count, i;
	int r;

	if (protected)
		sb_puts(b, "P");
	if (auto_req)
		sb_puts(b, "AR");
	if (auto_inherited)
		sb_puts(b, "AI");
	if (off < 20 || off > len || len - off < 8) {
		vg_errf(err, errlen, "%s offset %zu is outside the %zu-byte "
		    "descriptor", what, off, len);
		return VG_ERR_INVAL;
	}
	if (sd[off] != 2 && sd[off] != 4) {
		vg_errf(err, errlen, "%s revision %u (2 or 4 expected)", what,
		    sd[off]);
		return VG_ERR_INVAL;
	}
	size = le16(sd + off + 2);
	count = le16(sd + off + 4);
	if (size < 8 || size > len - off) {
		vg_errf(err, errlen, "%s size %zu at offset %zu runs past the "
		    "end (%zu bytes)", what, size, off, len);
		return VG_ERR_INVAL;
	}
	if ((size_t)count * 8 > size - 8) {
		vg_errf(err, errlen, "%s ACE count %u is too large for its %zu "
		    "bytes", what, count, size);
		return VG_ERR_INVAL;
	}
	for (i = 0, pos = 8; i < count; i++, pos += ace_size)
		if ((r = sd_ace(b, sd + off + pos, size - pos, what, i, count,
		    &ace_size, err, errlen)) != 0)
			return r;
	return 0;
}

int
msrrp_sd_text(const uint8_t *sd, size_t len, char **text, char *err,
    size_t errlen)
{
	struct sb b = { .max = SIZE_MAX / 2 };
	uint32_t owner, group, sacl, dacl;
	uint16_t control;
	size_t sidlen;
	int r = VG_ERR_INVAL;

	*text = NULL;
	if (sd == NULL || len < 20) {
		vg_errf(err, errlen, "security descriptor of %zu bytes is "
		    "shorter than its 20-byte header", sd == NULL ? 0 : len);
		return VG_ERR_INVAL;
	}
	if (sd[0] != 1) {
		vg_errf(err, errlen, "security descriptor revision %u (1 "
		    "expected)", sd[0]);
		return VG_ERR_INVAL;
	}
	control = le16(sd + 2);
	if (!(control & SE_SELF_RELATIVE)) {
		vg_errf(err, errlen, "security descriptor is not self-relative "
		    "(control 0x%04x)", control);
		return VG_ERR_INVAL;
	}
	owner = le32(sd + 4);
	group = le32(sd + 8);
	sacl = le32(sd + 12);
	dacl = le32(sd + 16);
	if (owner != 0) {
		sb_puts(&b, "O:");
		if (owner < 20 || owner >= len) {
			vg_errf(err, errlen, "owner offset %" PRIu32 " is "
			    "outside the %zu-byte descriptor", owner, len);
			goto out;
		}
		if ((r = sd_sid(&b, sd, len, owner, "owner", &sidlen, err,
		    errlen)) != 0)
			goto out;
	}
	if (group != 0) {
		sb_puts(&b, "G:");
		r = VG_ERR_INVAL;
		if (group < 20 || group >= len) {
			vg_errf(err, errlen, "group offset %" PRIu32 " is "
			    "outside the %zu-byte descriptor", group, len);
			goto out;
		}
		if ((r = sd_sid(&b, sd, len, group, "group", &sidlen, err,
		    errlen)) != 0)
			goto out;
	}
	if (control & SE_DACL_PRESENT) {
		sb_puts(&b, "D:");
		if (dacl == 0)
			sb_puts(&b, "NO_ACCESS_CONTROL");
		else if ((r = sd_acl(&b, sd, len, dacl, "DACL",
		    control & SE_DACL_PROTECTED, control &
		    SE_DACL_AUTO_INHERIT_REQ, control & SE_DACL_AUTO_INHERITED,
		    err, errlen)) != 0)
			goto out;
	}
	if (control & SE_SACL_PRESENT) {
		sb_puts(&b, "S:");
		if (sacl == 0)
			sb_puts(&b, "NO_ACCESS_CONTROL");
		else if ((r = sd_acl(&b, sd, len, sacl, "SACL",
		    control & SE_SACL_PROTECTED, control &
		    SE_SACL_AUTO_INHERIT_REQ, control & SE_SACL_AUTO_INHERITED,
		    err, errlen)) != 0)
			goto out;
	}
	return sb_finish(&b, text);
out:
	free(b.p);
	return r;
}

const char *
msrrp_werr_text(uint32_t werr)
{
	static _Thread_local char other[32];

	switch (werr) {
	case 0: return "success";
	case 2: return "not found";
	case 3: return "path not found";
	case 5: return "access denied";
	case 6: return "invalid handle";
	case 8: return "not enough memory";
	case 14: return "out of memory";
	case 50: return "not supported";
	case 53: return "network path not found";
	case 87: return "invalid parameter";
	case 122: return "buffer too small";
	case 161: return "bad path name";
	case 234: return "more data";
	case 259: return "no more items";
	case 1010: return "bad key";
	case 1011: return "cannot open key";
	case 1012: return "cannot read key";
	case 1015: return "registry corrupt";
	case 1018: return "key deleted";
	case 1326: return "logon failure";
	case 1717: return "unknown interface";
	case 1722: return "RPC server unavailable";
	case 1783: return "bad stub data";
	}
	snprintf(other, sizeof(other), "Win32 error %" PRIu32, werr);
	return other;
}
