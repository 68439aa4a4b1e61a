/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef PROXY_MSRRP_H
#define PROXY_MSRRP_H

#include <stddef.h>
#include <stdint.h>

/*
 * The Windows Remote Registry protocol (MS-RRP) as vigil speaks it:
 * connection-oriented DCE/RPC PDUs (MS-RPCE, C706 chapter 12) and the NDR
 * (transfer syntax 8a885d04-1ceb-11c9-9fe8-08002b104860 v2, little-endian)
 * of the read-only operations, and the rendering of what they return
 * (value data, security descriptors). Pure code: it builds PDUs into a
 * growing buffer and parses answers; the transport (proxy/windows.c)
 * moves the bytes over \PIPE\winreg.
 *
 * Everything parsed comes from a peer that may be hostile: every length,
 * count, offset and pointer is checked against the bytes at hand, and a
 * bad answer is VG_ERR_INVAL with a message naming the field, never a
 * read outside the buffer or an allocation the answer's size does not
 * justify. Functions return 0 or a VG_ERR_* code (vg_err.h); err, when
 * given, receives a message (no trailing newline).
 */

/* Interface 338CD001-2244-31F1-AAAA-900038001003 v1.0. */
#define MSRRP_MAX_FRAG 4280            /* max_xmit_frag and max_recv_frag
                                          we offer in the bind */
#define MSRRP_FRAG_MAX 65535           /* the longest fragment accepted */
#define MSRRP_STUB_MAX (8u << 20)      /* a reassembled answer's cap */
#define MSRRP_HEADER_LEN 16            /* the common PDU header */

/* PDU types (ptype) and flags (pfc_flags). */
#define MSRRP_PT_REQUEST 0
#define MSRRP_PT_RESPONSE 2
#define MSRRP_PT_FAULT 3
#define MSRRP_PT_BIND 11
#define MSRRP_PT_BIND_ACK 12
#define MSRRP_PT_BIND_NAK 13
#define MSRRP_PFC_FIRST 0x01
#define MSRRP_PFC_LAST 0x02

/* Operation numbers. */
enum msrrp_opnum {
	MSRRP_OPEN_HKLM = 2,           /* OpenLocalMachine */
	MSRRP_OPEN_HKU = 4,            /* OpenUsers */
	MSRRP_CLOSE_KEY = 5,           /* BaseRegCloseKey */
	MSRRP_ENUM_KEY = 9,            /* BaseRegEnumKey */
	MSRRP_ENUM_VALUE = 10,         /* BaseRegEnumValue */
	MSRRP_GET_KEY_SECURITY = 12,   /* BaseRegGetKeySecurity */
	MSRRP_OPEN_KEY = 15,           /* BaseRegOpenKey */
	MSRRP_QUERY_INFO_KEY = 16,     /* BaseRegQueryInfoKey */
	MSRRP_QUERY_VALUE = 17,        /* BaseRegQueryValue */
	MSRRP_GET_VERSION = 26,        /* BaseRegGetVersion */
};

/* Win32 error codes the operations answer with. */
#define MSRRP_OK 0
#define MSRRP_ERROR_FILE_NOT_FOUND 2
#define MSRRP_ERROR_ACCESS_DENIED 5
#define MSRRP_ERROR_INVALID_HANDLE 6
#define MSRRP_ERROR_INSUFFICIENT_BUFFER 122
#define MSRRP_ERROR_MORE_DATA 234
#define MSRRP_ERROR_NO_MORE_ITEMS 259

/* Access masks. */
#define MSRRP_KEY_READ 0x00020019u
#define MSRRP_KEY_WOW64_64KEY 0x00000100u
#define MSRRP_MAXIMUM_ALLOWED 0x02000000u

/* SECURITY_INFORMATION bits for GetKeySecurity. */
#define MSRRP_OWNER_SECURITY 0x1u
#define MSRRP_GROUP_SECURITY 0x2u
#define MSRRP_DACL_SECURITY 0x4u

/* Value types. */
enum msrrp_type {
	MSRRP_REG_NONE = 0,
	MSRRP_REG_SZ = 1,
	MSRRP_REG_EXPAND_SZ = 2,
	MSRRP_REG_BINARY = 3,
	MSRRP_REG_DWORD = 4,
	MSRRP_REG_DWORD_BIG_ENDIAN = 5,
	MSRRP_REG_LINK = 6,
	MSRRP_REG_MULTI_SZ = 7,
	MSRRP_REG_RESOURCE_LIST = 8,
	MSRRP_REG_FULL_RESOURCE_DESCRIPTOR = 9,
	MSRRP_REG_RESOURCE_REQUIREMENTS_LIST = 10,
	MSRRP_REG_QWORD = 11,
};

/* A growing byte buffer (the caller zeroes it first and frees it with
 * msrrp_buf_free(), also after a failed append). An append is whole or
 * not at all. */
struct msrrp_buf {
	uint8_t *data;
	size_t len, cap;
};
void msrrp_buf_free(struct msrrp_buf *b);

/* An RPC context handle (RPC_HKEY). */
struct msrrp_handle {
	uint8_t b[20];
};

/* The header of one fragment. */
struct msrrp_frag {
	uint8_t ptype;
	uint8_t flags;                 /* MSRRP_PFC_* */
	uint16_t frag_len;             /* the whole fragment, header included */
	uint16_t auth_len;
	uint32_t call_id;
};

/* ---- PDUs ---- */

/*
 * Appends a bind PDU for the winreg interface and NDR v2 (one
 * presentation context, id 0) to out.
 */
int msrrp_bind(struct msrrp_buf *out, uint32_t call_id);

/*
 * Checks a whole bind answer (header included): a bind_ack whose result
 * for context 0 is acceptance; a bind_nak or a refusal gives
 * VG_ERR_INVAL (or VG_ERR_AUTH for reason "authentication type not
 * recognised"/"access denied") with the reason in err. *max_recv gets the
 * server's max_recv_frag (the largest request fragment it takes).
 */
int msrrp_bind_ack(const uint8_t *pdu, size_t len, uint32_t call_id,
    uint16_t *max_recv, char *err, size_t errlen);

/*
 * Appends a request PDU (or, when the stub is longer than max_xmit - 24,
 * several fragments with FIRST/LAST set as they must be) for opnum on
 * context 0 carrying stub to out.
 */
int msrrp_request(struct msrrp_buf *out, uint32_t call_id, uint16_t opnum,
    const uint8_t *stub, size_t stublen, uint16_t max_xmit);

/*
 * Parses the 16-byte common header: version 5.0, little-endian integer
 * representation (data representation byte 0x10; big-endian and other
 * formats are refused), frag_len at least 16 and at most MSRRP_FRAG_MAX,
 * auth_len 0. VG_ERR_INVAL otherwise.
 */
int msrrp_frag_header(const uint8_t hdr[MSRRP_HEADER_LEN],
    struct msrrp_frag *f, char *err, size_t errlen);

/*
 * The stub of one whole fragment (frag: frag_len bytes, header included)
 * of the answer to call_id: a response's body after its 8 bytes of
 * alloc_hint, context id and cancel count. A fault gives VG_ERR_INVAL
 * with its status (e.g. "fault 0x1c010002 (nca_s_op_rng_error)") in err,
 * or VG_ERR_AUTH for access denied (0x00000005); another ptype or call
 * id, VG_ERR_INVAL. *stub points inside frag.
 */
int msrrp_response_stub(const uint8_t *frag, size_t len,
    const struct msrrp_frag *f, uint32_t call_id, const uint8_t **stub,
    size_t *stublen, char *err, size_t errlen);

/* ---- request stubs (NDR): each appends to out ---- */

/* OpenLocalMachine / OpenUsers: ServerName NULL, samDesired. */
int msrrp_enc_open_hive(struct msrrp_buf *out, uint32_t access);
/* BaseRegCloseKey, BaseRegGetVersion, and BaseRegQueryInfoKey (with an
 * empty class buffer): the handle (and for QueryInfoKey the class
 * RRP_UNICODE_STRING, Length 0, MaximumLength class_max bytes; class_max
 * 0: MaximumLength 0 and a NULL Buffer, which Samba also takes). */
int msrrp_enc_handle(struct msrrp_buf *out, const struct msrrp_handle *h);
int msrrp_enc_query_info_key(struct msrrp_buf *out,
    const struct msrrp_handle *h, uint16_t class_max);
/* BaseRegOpenKey: hKey, lpSubKey (UTF-8 name converted to UTF-16LE with
 * its terminating NUL counted in MaximumLength and Length, as Windows
 * wants), dwOptions 0, samDesired. VG_ERR_INVAL for a name that is not
 * UTF-8 or longer than 32766 UTF-16 units (with the NUL, Length must fit
 * in 16 bits). */
int msrrp_enc_open_key(struct msrrp_buf *out, const struct msrrp_handle *h,
    const char *name, uint32_t access);
/* BaseRegEnumKey: hKey, dwIndex, lpNameIn with Length 0 and
 * MaximumLength name_max bytes (an empty buffer of that size), a class
 * buffer the same way (class_max bytes, 0: a NULL pointer), and a
 * last-write FILETIME pointer. */
int msrrp_enc_enum_key(struct msrrp_buf *out, const struct msrrp_handle *h,
    uint32_t index, uint16_t name_max, uint16_t class_max);
/* BaseRegEnumValue: hKey, dwIndex, lpValueNameIn (Length 0,
 * MaximumLength name_max bytes), lpType, lpData (data_max bytes),
 * lpcbData = data_max, lpcbLen = 0. */
int msrrp_enc_enum_value(struct msrrp_buf *out, const struct msrrp_handle *h,
    uint32_t index, uint16_t name_max, uint32_t data_max);
/* BaseRegQueryValue of value name (UTF-8, "" the default value) with a
 * data buffer of data_max bytes. */
int msrrp_enc_query_value(struct msrrp_buf *out, const struct msrrp_handle *h,
    const char *name, uint32_t data_max);
/* BaseRegGetKeySecurity: hKey, SecurityInformation, and an input
 * RPC_SECURITY_DESCRIPTOR of sd_max bytes. */
int msrrp_enc_get_key_security(struct msrrp_buf *out,
    const struct msrrp_handle *h, uint32_t secinfo, uint32_t sd_max);

/* ---- answer stubs: each sets *werr to the operation's Win32 status;
 * on an error return every out-parameter is NULL or 0; on another status
 * than MSRRP_OK the strings and data are NULL (*type and *needed are kept
 * with ERROR_MORE_DATA, *needed with ERROR_INSUFFICIENT_BUFFER); the
 * out-parameters are only meaningful when *werr is MSRRP_OK (or, where
 * said, ERROR_MORE_DATA). Strings are returned as malloc'd UTF-8,
 * NUL-terminated. ---- */

/* OpenLocalMachine, OpenUsers, OpenKey: the handle and the status. */
int msrrp_dec_handle(const uint8_t *stub, size_t len, struct msrrp_handle *h,
    uint32_t *werr, char *err, size_t errlen);
/* CloseKey (the zeroed handle, then the status) and answers with only a
 * status. */
int msrrp_dec_close(const uint8_t *stub, size_t len, uint32_t *werr,
    char *err, size_t errlen);
/* GetVersion: the version and the status. */
int msrrp_dec_get_version(const uint8_t *stub, size_t len, uint32_t *version,
    uint32_t *werr, char *err, size_t errlen);

/* EnumKey: the subkey's name (*name, NULL when absent), its class
 * (*klass, may be NULL) and last-write time (FILETIME: 100 ns since
 * 1601, 0 when absent). */
int msrrp_dec_enum_key(const uint8_t *stub, size_t len, char **name,
    char **klass, uint64_t *last_write, uint32_t *werr, char *err,
    size_t errlen);

/* EnumValue and QueryValue. *data (malloc'd, *datalen bytes; NULL when
 * no data came back) is the value's bytes as sent; *type its type;
 * *needed the lpcbData the server answered (with ERROR_MORE_DATA: the
 * size to ask again with). For EnumValue *name is the value's name
 * ("" for the default value); QueryValue passes name NULL. A data array
 * longer than its conformance, or actual_count beyond the bytes at hand,
 * is refused. */
int msrrp_dec_value(const uint8_t *stub, size_t len, int enum_value,
    char **name, uint32_t *type, uint8_t **data, size_t *datalen,
    uint32_t *needed, uint32_t *werr, char *err, size_t errlen);

struct msrrp_key_info {
	char *klass;                   /* malloc'd, "" when none */
	uint32_t subkeys, max_subkey_len, max_class_len;
	uint32_t values, max_value_name_len, max_value_len;
	uint32_t sd_len;
	uint64_t last_write;           /* FILETIME */
};
/* QueryInfoKey. Free info->klass. */
int msrrp_dec_query_info_key(const uint8_t *stub, size_t len,
    struct msrrp_key_info *info, uint32_t *werr, char *err, size_t errlen);

/* GetKeySecurity: the self-relative security descriptor (malloc'd,
 * *sdlen bytes). With ERROR_INSUFFICIENT_BUFFER, *needed is the size to
 * ask again with. */
int msrrp_dec_key_security(const uint8_t *stub, size_t len, uint8_t **sd,
    size_t *sdlen, uint32_t *needed, uint32_t *werr, char *err,
    size_t errlen);

/* ---- rendering ---- */

/*
 * UTF-16LE (bytes; an odd last byte is ignored) to malloc'd UTF-8 up to
 * the first NUL unit or the end, whichever comes first: a terminating
 * NUL is optional. Unpaired surrogates become U+FFFD. *outlen (may be
 * NULL) gets the length without the NUL.
 */
int msrrp_utf16_to_utf8(const uint8_t *s, size_t bytes, char **out,
    size_t *outlen);

/* "REG_SZ", ..., "REG_QWORD"; NULL for another type. */
const char *msrrp_type_name(uint32_t type);

/*
 * The text a value's data is tracked as (malloc'd):
 *   REG_SZ, REG_EXPAND_SZ, REG_LINK: the string (UTF-16LE to UTF-8, up to
 *     the first NUL, which may be missing);
 *   REG_MULTI_SZ: the strings joined with "\n" (the list ends at an empty
 *     string or the end of the data, terminators optional);
 *   REG_DWORD (4 bytes, little-endian), REG_DWORD_BIG_ENDIAN (4 bytes,
 *     big-endian), REG_QWORD (8 bytes, little-endian): "0x0000002a (42)"
 *     (8 and 16 hex digits), decimal unsigned;
 *   every other type, and a DWORD/QWORD of another length: the bytes in
 *     lowercase hex without separators ("" for none).
 * Returns VG_ERR_TOOBIG when the text would exceed max bytes (the caller
 * then records a digest instead).
 */
int msrrp_value_text(uint32_t type, const uint8_t *data, size_t len,
    size_t max, char **text);

/*
 * A self-relative security descriptor in SDDL (malloc'd): "O:" owner,
 * "G:" group, "D:" DACL flags (P protected, AI auto-inherited) and ACEs
 * "(type;flags;rights;;;sid)": types A, D, AU, AL (others "0x%02x"),
 * flags OI CI NP IO ID SA FA, rights KA (0xf003f), KR (0x20019), KW
 * (0x20006) or "0x%x", SIDs by their SDDL alias when well known (WD, CO,
 * CG, SY, LS, NS, BA, BU, BG, PU, AU, AN, IU, NU, SU, RC, ...), else
 * S-1-... . "D:NO_ACCESS_CONTROL" for a NULL DACL; a part the descriptor
 * lacks is left out. VG_ERR_INVAL (err: which offset or count) for a
 * descriptor that does not hold together.
 */
int msrrp_sd_text(const uint8_t *sd, size_t len, char **text, char *err,
    size_t errlen);

/* A short text for a Win32 status: "access denied", "not found", ...,
 * else "Win32 error N". */
const char *msrrp_werr_text(uint32_t werr);

#endif
