/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Windows registry key and file paths as policies name them, and the
 * case-insensitive glob of the include/exclude rules (proxy/windows.h).
 * Pure code without libsmbclient, so the hub can check policies with it.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "vg_err.h"
#include "vg_util.h"
#include "windows.h"

#define WIN_PATH_MAX 4096       /* bytes of a policy's key or file path */
#define WIN_KEY_NAME_MAX 255    /* characters of one key name (Windows) */
#define WIN_FILE_NAME_MAX 255   /* characters of one file name (NTFS) */

static const char *const hives[] = {
	"HKLM", "HKEY_LOCAL_MACHINE", "HKU", "HKEY_USERS",
};

/* Characters (not bytes) in the UTF-8 text s[0..len). */
static size_t
utf8_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* The checks both kinds of path share: length, UTF-8, no control
 * characters. what is "key" or "path" for the message. */
static int
text_check(const char *s, const char *what, char *err, size_t errlen)
{
	size_t len, i;

	if (s == NULL || s[0] == '\0') {
		snprintf(err, errlen, "empty %s", what);
		return VG_ERR_INVAL;
	}
	len = strlen(s);
	if (len > WIN_PATH_MAX) {
		snprintf(err, errlen, "%s of %zu bytes (at most %d)", what,
		    len, WIN_PATH_MAX);
		return VG_ERR_INVAL;
	}
	if (!vg_utf8_valid(s, len)) {
		snprintf(err, errlen, "%s is not valid UTF-8", what);
		return VG_ERR_INVAL;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(err, errlen, "%s holds a control character "
			    "(byte %zu)", what, i + 1);
			return VG_ERR_INVAL;
		}
	}
	return 0;
}

int
proxy_win_key_check(const char *key, char *err, size_t errlen)
{
	const char *p, *e;
	size_t i, n;
	int r;

	if ((r = text_check(key, "registry key", err, errlen)) != 0)
		return r;
	n = strcspn(key, "\\");
	for (i = 0; i < sizeof(hives) / sizeof(hives[0]); i++)
		if (strlen(hives[i]) == n && strncasecmp(key, hives[i], n) == 0)
			break;
	if (i == sizeof(hives) / sizeof(hives[0])) {
		snprintf(err, errlen, "'%.*s' is not a registry hive (HKLM, "
		    "HKU, HKEY_LOCAL_MACHINE or HKEY_USERS)", (int)(n > 64 ?
		    64 : n), key);
		return VG_ERR_INVAL;
	}
	for (p = key + n; *p != '\0'; p = e) {
		p++;                     /* the backslash */
		e = p + strcspn(p, "\\");
		if (e == p) {
			snprintf(err, errlen, "empty key name in '%s' (at "
			    "byte %zu)", key, (size_t)(p - key) + 1);
			return VG_ERR_INVAL;
		}
		if (utf8_chars(p, (size_t)(e - p)) > WIN_KEY_NAME_MAX) {
			snprintf(err, errlen, "a key name of more than %d "
			    "characters in '%.64s...'", WIN_KEY_NAME_MAX, key);
			return VG_ERR_INVAL;
		}
	}
	return 0;
}

int
proxy_win_file_check(const char *path, char *err, size_t errlen)
{
	const char *p, *e, *bad;
	size_t n;
	int r;

	if ((r = text_check(path, "Windows path", err, errlen)) != 0)
		return r;
	if (!isalpha((unsigned char)path[0]) || path[1] != ':' ||
	    path[2] != '\\') {
		snprintf(err, errlen, "'%s' is not an absolute Windows path "
		    "(a drive letter, a colon, a backslash: C:\\...)", path);
		return VG_ERR_INVAL;
	}
	if (path[3] == '\0')
		return 0;                /* a whole drive: "C:\" */
	for (p = path + 2; *p != '\0'; p = e) {
		p++;                     /* the backslash */
		e = p + strcspn(p, "\\");
		n = (size_t)(e - p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.')) {
			snprintf(err, errlen, "'%s': empty, '.' or '..' part "
			    "(at byte %zu)", path, (size_t)(p - path) + 1);
			return VG_ERR_INVAL;
		}
		bad = p + strcspn(p, "<>:\"/|?*");
		if (bad < e) {
			snprintf(err, errlen, "'%s': '%c' cannot be in a "
			    "Windows file name", path, *bad);
			return VG_ERR_INVAL;
		}
		if (utf8_chars(p, n) > WIN_FILE_NAME_MAX) {
			snprintf(err, errlen, "a file name of more than %d "
			    "characters in '%.64s...'", WIN_FILE_NAME_MAX,
			    path);
			return VG_ERR_INVAL;
		}
	}
	return 0;
}

/* Length of the UTF-8 character at s (1 for a stray byte). */
static size_t
char_len(const unsigned char *s)
{
	size_t n = 1;

	if (*s >= 0xc0)
		while ((s[n] & 0xc0) == 0x80 && n < 4)
			n++;
	return n;
}

/* ASCII folding: enough for hive, key and file names as policies write
 * them; other characters compare as bytes. */
static int
fold(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * Matches the one character at s (of len bytes) against the class
 * starting after '[' at *pp; moves *pp past the ']'. Returns 1, 0, or -1
 * when the class does not end (then '[' is an ordinary character).
 */
static int
class_match(const unsigned char **pp, const unsigned char *s, size_t len)
{
	const unsigned char *p = *pp;
	int neg = 0, hit = 0;
	size_t lo_len, hi_len;

	if (*p == '!' || *p == '^') {
		neg = 1;
		p++;
	}
	if (*p == ']') {                 /* a ']' first is a member */
		if (len == 1 && *s == ']')
			hit = 1;
		p++;
	}
	while (*p != ']') {
		if (*p == '\0')
			return -1;
		lo_len = char_len(p);
		if (p[lo_len] == '-' && p[lo_len + 1] != ']' &&
		    p[lo_len + 1] != '\0') {
			hi_len = char_len(p + lo_len + 1);
			/* Ranges are of single bytes (ASCII): a multi-byte
			 * bound only matches itself. */
			if (len == 1 && lo_len == 1 && hi_len == 1) {
				if ((fold(*s) >= fold(p[0]) &&
				    fold(*s) <= fold(p[2])) ||
				    (*s >= p[0] && *s <= p[2]))
					hit = 1;
			} else if ((len == lo_len && memcmp(s, p, len) == 0) ||
			    (len == hi_len && memcmp(s, p + lo_len + 1,
			    len) == 0))
				hit = 1;
			p += lo_len + 1 + hi_len;
			continue;
		}
		if (len == lo_len && (len == 1 ? fold(*s) == fold(*p) :
		    memcmp(s, p, len) == 0))
			hit = 1;
		p += lo_len;
	}
	*pp = p + 1;
	return hit != neg;
}

/*
 * Iterative glob with one backtracking point (the last '*'): linear in
 * practice and never exponential, whatever the pattern.
 */
int
proxy_win_glob(const char *pattern, const char *path)
{
	const unsigned char *p = (const unsigned char *)pattern;
	const unsigned char *s = (const unsigned char *)path;
	const unsigned char *star_p = NULL, *star_s = NULL, *q;
	size_t n;
	int m;

	if (pattern == NULL || path == NULL)
		return 0;
	while (*s != '\0') {
		n = char_len(s);
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_s = s;
			continue;
		}
		if (*p == '?') {
			p++;
			s += n;
			continue;
		}
		if (*p == '[') {
			q = p + 1;
			m = class_match(&q, s, n);
			if (m == 1) {
				p = q;
				s += n;
				continue;
			}
			if (m < 0 && *s == '[') {
				p++;
				s++;
				continue;
			}
		} else if (*p != '\0' && fold(*p) == fold(*s)) {
			p++;
			s++;
			continue;
		}
		if (star_p == NULL)
			return 0;
		/* Let the last '*' take one more character and retry. */
		star_s += char_len(star_s);
		s = star_s;
		p = star_p;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}
