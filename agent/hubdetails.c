/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HubDetails.xml: parsed with expat, strictly (see hubdetails.h). A
 * DOCTYPE is refused outright, so no entity is ever declared and no
 * expansion attack ("billion laughs") or external fetch can happen.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <expat.h>
#include <openssl/crypto.h>

#include "hubdetails.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_util.h"

enum hd_field {
	F_URL, F_USERNAME, F_PASSWORD, F_PROXY, F_PROXY_USERNAME,
	F_PROXY_PASSWORD, F_USE_DEFAULT_PROXY, F_NAME_PREFIX, F_NAME_SUFFIX,
	F_THUMBPRINT, F_COUNT
};

static const char *const field_names[F_COUNT] = {
	"Url", "Username", "Password", "Proxy", "ProxyUsername",
	"ProxyPassword", "UseDefaultProxy", "NamePrefix", "NameSuffix",
	"Thumbprint",
};

#define EXPECTED "Url, Username, Password, Proxy, ProxyUsername, " \
	"ProxyPassword, UseDefaultProxy, NamePrefix, NameSuffix, Thumbprint"

struct hd_state {
	XML_Parser p;
	const char *source;
	struct hubdetails *hd;
	char *err;
	size_t errlen;
	int r;                    /* first error, 0 so far */
	int depth;                /* 0 outside the root, 1 in it, 2 in a field */
	int field;                /* the field being read at depth 2 */
	unsigned seen;            /* bit per field */
	char *text;               /* the field's text so far */
	size_t textlen, textcap;
	/* Byte range of the Password element, for hd_remove_password. */
	long pw_start, pw_end;
	int pw_start_len;
};

static void
hd_fail(struct hd_state *st, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first error (with file:line) and stops the parser. */
static void
hd_fail(struct hd_state *st, int r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (st->r != 0)
		return;
	st->r = r;
	n = snprintf(st->err, st->errlen, "%s:%lu: ", st->source,
	    (unsigned long)XML_GetCurrentLineNumber(st->p));
	if (n >= 0 && (size_t)n < st->errlen) {
		va_start(ap, fmt);
		vsnprintf(st->err + n, st->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	XML_StopParser(st->p, XML_FALSE);
}

static int
field_index(const char *name)
{
	int i;

	for (i = 0; i < F_COUNT; i++)
		if (strcmp(name, field_names[i]) == 0)
			return i;
	return -1;
}

static void XMLCALL
on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct hd_state *st = ud;
	int f;

	if (st->r != 0)
		return;
	if (st->depth == 0) {
		if (strcmp(name, "HubDetails") != 0) {
			hd_fail(st, VG_ERR_INVAL, "root element <%s> is not "
			    "<HubDetails>", name);
			return;
		}
	} else if (st->depth == 1) {
		if ((f = field_index(name)) < 0) {
			hd_fail(st, VG_ERR_INVAL, "element <%s> is not known "
			    "(expected " EXPECTED ")", name);
			return;
		}
		if (st->seen & (1u << f)) {
			hd_fail(st, VG_ERR_INVAL, "element <%s> is repeated "
			    "(each may appear once)", name);
			return;
		}
		st->seen |= 1u << f;
		st->field = f;
		st->textlen = 0;
		if (f == F_PASSWORD) {
			st->pw_start = (long)XML_GetCurrentByteIndex(st->p);
			st->pw_start_len = XML_GetCurrentByteCount(st->p);
		}
	} else {
		hd_fail(st, VG_ERR_INVAL, "element <%s> inside <%s>: %s "
		    "holds text only", name, field_names[st->field],
		    field_names[st->field]);
		return;
	}
	if (attrs[0] != NULL) {
		hd_fail(st, VG_ERR_INVAL, "element <%s> has an attribute "
		    "(%s); none are allowed", name, attrs[0]);
		return;
	}
	st->depth++;
}

static int
all_space(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
		    s[i] != '\n')
			return 0;
	return 1;
}

static void XMLCALL
on_text(void *ud, const XML_Char *s, int len)
{
	struct hd_state *st = ud;
	size_t n = (size_t)len;
	int r;

	if (st->r != 0 || len <= 0)
		return;
	if (st->depth != 2) {
		if (!all_space(s, n))
			hd_fail(st, VG_ERR_INVAL, "text outside an element "
			    "(\"%.*s\"): <HubDetails> holds elements only",
			    len > 20 ? 20 : len, s);
		return;
	}
	/* The file is at most HD_MAX_FILE bytes, and expat's text is never
	 * longer than its input: this bounds the buffer. The text may be a
	 * password: vg_buf_append wipes what it leaves behind. */
	if ((r = vg_buf_append(&st->text, &st->textlen, &st->textcap, s, n,
	    HD_MAX_FILE)) != 0)
		hd_fail(st, r, r == VG_ERR_NOMEM ? "out of memory" :
		    "an element's text is longer than the file may be");
}

/* Thumbprint: vg_thumbprint_parse's forms (colons, spaces and a U+200E
 * mark, which Windows' certificate dialog puts in copied thumbprints,
 * are ignored). */
static int
parse_thumbprint(struct hd_state *st, const char *v)
{
	if (vg_thumbprint_parse(v, st->hd->thumbprint,
	    &st->hd->thumbprint_len) == 0)
		return 0;
	hd_fail(st, VG_ERR_INVAL, "element <Thumbprint>: not a certificate "
	    "fingerprint (64 hex digits for SHA-256 or 40 for SHA-1; colons "
	    "and spaces allowed)");
	return -1;
}

/*
 * Url: https://HOST[:PORT]/.../api/ (or without the last slash, which is
 * added). No credentials, query or fragment: the URL is joined with the
 * API's paths.
 */
static int
check_url(struct hd_state *st, char **url)
{
	const char *v = *url, *host, *path, *port;
	size_t len = strlen(v), hostlen;
	const char *why;
	char *fixed;
	long pn;

	why = "does not start with https://";
	if (strncasecmp(v, "https://", 8) != 0)
		goto bad;
	host = v + 8;
	path = strchr(host, '/');
	why = "has no path (it ends in /api/)";
	if (path == NULL)
		goto bad;
	hostlen = (size_t)(path - host);
	why = "holds a user name, query, fragment or space";
	if (strpbrk(v, "@?# \t") != NULL)
		goto bad;
	why = "has no host name";
	if (hostlen > 0 && host[0] == '[') {
		port = memchr(host, ']', hostlen);
		if (port == NULL || port == host + 1)
			goto bad;
		port++;
	} else {
		port = memchr(host, ':', hostlen);
		if (port == NULL)
			port = path;
		if (port == host)
			goto bad;
	}
	if (port < path) {
		why = "has a bad port (1-65535)";
		if (*port != ':' || port + 1 == path || port + 6 < path)
			goto bad;
		pn = 0;
		for (port++; port < path; port++) {
			if (!isdigit((unsigned char)*port))
				goto bad;
			pn = pn * 10 + (*port - '0');
		}
		if (pn < 1 || pn > 65535)
			goto bad;
	}
	why = "does not end with /api/";
	if (len >= 5 && strcmp(v + len - 5, "/api/") == 0)
		return 0;
	if (len < 4 || strcmp(v + len - 4, "/api") != 0)
		goto bad;
	if ((fixed = malloc(len + 2)) == NULL) {
		hd_fail(st, VG_ERR_NOMEM, "out of memory");
		return -1;
	}
	memcpy(fixed, v, len);
	fixed[len] = '/';
	fixed[len + 1] = '\0';
	free(*url);
	*url = fixed;
	return 0;
bad:
	hd_fail(st, VG_ERR_INVAL, "element <Url>: '%s' %s (expected "
	    "https://HOST[:PORT]/api/)", v, why);
	return -1;
}

/* Leading and trailing white space is layout, except in a password. */
static char *
field_value(struct hd_state *st)
{
	const char *s = st->text != NULL ? st->text : "";
	size_t len = st->textlen, i;
	char *v;

	if (st->field != F_PASSWORD && st->field != F_PROXY_PASSWORD) {
		while (len > 0 && isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)s[len - 1]))
			len--;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			hd_fail(st, VG_ERR_INVAL, "element <%s> holds a "
			    "control character", field_names[st->field]);
			return NULL;
		}
	if ((v = strndup(s, len)) == NULL)
		hd_fail(st, VG_ERR_NOMEM, "out of memory");
	return v;
}

static char **
field_slot(struct hubdetails *hd, int f)
{
	switch (f) {
	case F_URL: return &hd->url;
	case F_USERNAME: return &hd->username;
	case F_PASSWORD: return &hd->password;
	case F_PROXY: return &hd->proxy;
	case F_PROXY_USERNAME: return &hd->proxy_username;
	case F_PROXY_PASSWORD: return &hd->proxy_password;
	case F_NAME_PREFIX: return &hd->name_prefix;
	case F_NAME_SUFFIX: return &hd->name_suffix;
	default: return NULL;
	}
}

static void
field_end(struct hd_state *st)
{
	struct hubdetails *hd = st->hd;
	char *v, **slot;

	if ((v = field_value(st)) == NULL)
		return;
	switch (st->field) {
	case F_USE_DEFAULT_PROXY:
		if (strcasecmp(v, "true") == 0)
			hd->use_default_proxy = 1;
		else if (strcasecmp(v, "false") == 0 || *v == '\0')
			hd->use_default_proxy = 0;
		else
			hd_fail(st, VG_ERR_INVAL, "element <UseDefaultProxy>: "
			    "'%s' is not true or false", v);
		free(v);
		return;
	case F_THUMBPRINT:
		if (*v != '\0')
			parse_thumbprint(st, v);
		free(v);
		return;
	}
	slot = field_slot(hd, st->field);
	if (*v == '\0') {
		/* An empty element is an absent one. */
		free(v);
		return;
	}
	*slot = v;
	if (st->field == F_URL)
		check_url(st, slot);
}

static void XMLCALL
on_end(void *ud, const XML_Char *name)
{
	struct hd_state *st = ud;
	int n;

	(void)name;
	if (st->r != 0)
		return;
	st->depth--;
	if (st->depth == 1) {
		if (st->field == F_PASSWORD) {
			/* An empty element <Password/> reports no bytes of its
			 * own at its end: it ends where its start tag does. */
			n = XML_GetCurrentByteCount(st->p);
			if (n == 0)
				st->pw_end = st->pw_start + st->pw_start_len;
			else
				st->pw_end = (long)XML_GetCurrentByteIndex(st->p) +
				    n;
		}
		field_end(st);
		if (st->text != NULL)
			explicit_bzero(st->text, st->textcap);
		st->textlen = 0;
	} else if (st->depth == 0 && !(st->seen & (1u << F_URL))) {
		hd_fail(st, VG_ERR_INVAL, "<HubDetails> has no <Url> (the "
		    "hub's https://HOST:PORT/api/, required)");
	} else if (st->depth == 0 && st->hd->url == NULL) {
		hd_fail(st, VG_ERR_INVAL, "element <Url> is empty (the hub's "
		    "https://HOST:PORT/api/ is required)");
	}
}

static void XMLCALL
on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	struct hd_state *st = ud;

	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	hd_fail(st, VG_ERR_INVAL, "a DOCTYPE (<!DOCTYPE %s>) is not allowed",
	    name);
}

/* Parses text into hd; st->pw_start/pw_end locate the Password element
 * (-1 when there is none). */
static int
hd_parse_state(struct hd_state *st, const char *text, size_t len,
    const char *source, struct hubdetails *hd, char *err, size_t errlen)
{
	enum XML_Status s;
	int r;

	memset(hd, 0, sizeof(*hd));
	memset(st, 0, sizeof(*st));
	st->source = source;
	st->hd = hd;
	st->err = err;
	st->errlen = errlen;
	st->pw_start = st->pw_end = -1;
	if (errlen > 0)
		err[0] = '\0';
	if (len > HD_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %d bytes", source,
		    HD_MAX_FILE);
		return VG_ERR_TOOBIG;
	}
	if ((st->p = XML_ParserCreate(NULL)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", source);
		return VG_ERR_NOMEM;
	}
	XML_SetUserData(st->p, st);
	XML_SetElementHandler(st->p, on_start, on_end);
	XML_SetCharacterDataHandler(st->p, on_text);
	XML_SetStartDoctypeDeclHandler(st->p, on_doctype);
	XML_SetParamEntityParsing(st->p, XML_PARAM_ENTITY_PARSING_NEVER);
	s = XML_Parse(st->p, text, (int)len, 1);
	if (st->r == 0 && s != XML_STATUS_OK) {
		st->r = XML_GetErrorCode(st->p) == XML_ERROR_NO_MEMORY ?
		    VG_ERR_NOMEM : VG_ERR_INVAL;
		/* Name the element left open, if any: the usual mistake is
		 * a file cut short or a closing tag mistyped. */
		snprintf(err, errlen, "%s:%lu: not well-formed XML: %s%s%s%s%s",
		    source, (unsigned long)XML_GetCurrentLineNumber(st->p),
		    XML_ErrorString(XML_GetErrorCode(st->p)),
		    len == 0 ? " (the file is empty)" : "",
		    st->depth == 0 ? "" : " (element <",
		    st->depth == 0 ? "" : st->depth == 2 ?
		    field_names[st->field] : "HubDetails",
		    st->depth == 0 ? "" : "> is not closed)");
	}
	r = st->r;
	XML_ParserFree(st->p);
	st->p = NULL;
	if (st->text != NULL) {
		explicit_bzero(st->text, st->textcap);
		free(st->text);
		st->text = NULL;
	}
	if (r != 0)
		hd_free(hd);
	return r;
}

int
hd_parse(const char *text, size_t len, const char *source,
    struct hubdetails *hd, char *err, size_t errlen)
{
	struct hd_state st;

	return hd_parse_state(&st, text, len, source, hd, err, errlen);
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
hd_free(struct hubdetails *hd)
{
	if (hd == NULL)
		return;
	free(hd->url);
	free(hd->username);
	free_secret(hd->password);
	free(hd->proxy);
	free(hd->proxy_username);
	free_secret(hd->proxy_password);
	free(hd->name_prefix);
	free(hd->name_suffix);
	explicit_bzero(hd, sizeof(*hd));
}

/* Reads the whole of path (at most HD_MAX_FILE bytes) into *out, which
 * the caller zeroes and frees; *sb gets its status. */
static int
read_file(const char *path, int flags, char **out, size_t *outlen,
    struct stat *sb, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | flags)) < 0) {
		r = vg_err_from_errno(errno);
		snprintf(err, errlen, "cannot open %s: %s", path,
		    errno == ELOOP && (flags & O_NOFOLLOW) ?
		    "it is a symbolic link" : strerror(errno));
		return r;
	}
	r = VG_ERR_IO;
	if (fstat(fd, sb) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb->st_mode)) {
		r = VG_ERR_INVAL;
		snprintf(err, errlen, "%s is not a regular file", path);
		goto out;
	}
	r = VG_ERR_TOOBIG;
	if (sb->st_size > HD_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    HD_MAX_FILE);
		goto out;
	}
	r = VG_ERR_NOMEM;
	if ((buf = malloc(HD_MAX_FILE + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	/* Read to the end, not st_size: the file may grow meanwhile. */
	for (;;) {
		n = read(fd, buf + len, HD_MAX_FILE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = vg_err_from_errno(errno);
			snprintf(err, errlen, "cannot read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > HD_MAX_FILE) {
			r = VG_ERR_TOOBIG;
			snprintf(err, errlen, "%s: larger than %d bytes", path,
			    HD_MAX_FILE);
			goto out;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	r = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	close(fd);
	return r;
}

int
hd_load(const char *path, struct hubdetails *hd, char *err, size_t errlen)
{
	struct stat sb;
	char *buf;
	size_t len = 0;
	int r;

	memset(hd, 0, sizeof(*hd));
	if ((r = read_file(path, 0, &buf, &len, &sb, err, errlen)) != 0)
		return r;
	r = hd_parse(buf, len, path, hd, err, errlen);
	explicit_bzero(buf, len);
	free(buf);
	return r;
}

/* Whether the file's Password is the one used, in a time that tells
 * nothing of where they differ. */
static int
same_secret(const char *have, const char *used)
{
	size_t len = strlen(used);

	return have != NULL && strlen(have) == len &&
	    CRYPTO_memcmp(have, used, len) == 0;
}

int
hd_remove_password_if(const char *path, const char *used, char *err,
    size_t errlen)
{
	struct hubdetails hd;
	struct hd_state st;
	struct stat sb;
	char *buf = NULL;
	size_t len = 0, start, end, ls, le;
	int r, keep, other;

	if ((r = read_file(path, O_NOFOLLOW, &buf, &len, &sb, err,
	    errlen)) != 0)
		return r;
	/* Only a file that parses is rewritten: never guess at a damaged
	 * one. */
	if ((r = hd_parse_state(&st, buf, len, path, &hd, err, errlen)) != 0)
		goto out;
	/* A Password put in since the registration read the file has not
	 * served yet: it stays for the next registration. */
	keep = used != NULL && !same_secret(hd.password, used);
	other = keep && hd.password != NULL;
	hd_free(&hd);
	if (other) {
		snprintf(err, errlen, "%s: the Password was changed since the "
		    "registration read it; the new one is left in place",
		    path);
		r = 1;
		goto out;
	}
	if (keep || st.pw_start < 0 || st.pw_end < st.pw_start ||
	    (size_t)st.pw_end > len)
		goto out;
	start = (size_t)st.pw_start;
	end = (size_t)st.pw_end;
	/* The whole line goes when nothing but blanks is left on it. */
	for (ls = start; ls > 0 && buf[ls - 1] != '\n'; ls--)
		;
	for (le = end; le < len && buf[le] != '\n'; le++)
		;
	if (all_space(buf + ls, start - ls) && all_space(buf + end, le - end)) {
		start = ls;
		end = le < len ? le + 1 : le;
	}
	explicit_bzero(buf + start, end - start);
	memmove(buf + start, buf + end, len - end);
	len -= end - start;
	/* Same mode and owner: the file stays as its owner set it up. */
	r = vg_write_file_atomic(path, buf, len, VG_MODE_KEEP, err, errlen);
out:
	explicit_bzero(buf, HD_MAX_FILE + 1);
	free(buf);
	return r;
}

int
hd_remove_password(const char *path, char *err, size_t errlen)
{
	return hd_remove_password_if(path, NULL, err, errlen);
}
