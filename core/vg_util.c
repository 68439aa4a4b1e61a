/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "vg_err.h"
#include "vg_util.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int
vg_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

char *
vg_escape(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;
	size_t i = 0, n;

	/* Worst case: every byte becomes \xNN. */
	if (len > (SIZE_MAX - 1) / 4 || (out = malloc(len * 4 + 1)) == NULL)
		return NULL;
	o = out;
	while (i < len) {
		if (p[i] == '\\') {
			*o++ = '\\';
			*o++ = '\\';
			i++;
		} else if (p[i] == '\n' || p[i] == '\t' || p[i] == '\r') {
			*o++ = '\\';
			*o++ = p[i] == '\n' ? 'n' : p[i] == '\t' ? 't' : 'r';
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f ||
		    (n = utf8_seq(p + i, len - i)) == 0) {
			snprintf(o, 5, "\\x%02x", p[i]);
			o += 4;
			i++;
		} else {
			memcpy(o, p + i, n);
			o += n;
			i += n;
		}
	}
	*o = '\0';
	return out;
}

char *
vg_utf8_sanitize(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out, *o;
	size_t i = 0, n;

	if (len > (SIZE_MAX - 1) / 3 || (out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	o = out;
	while (i < len) {
		if ((n = utf8_seq(p + i, len - i)) == 0 || p[i] == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(o, p + i, n);
			o += n;
			i += n;
		}
	}
	*o = '\0';
	return out;
}

char *
vg_base64_encode(const void *data, size_t len)
{
	char *out;

	if (len > INT_MAX / 2 || (out = malloc(4 * ((len + 2) / 3) + 1)) ==
	    NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int
vg_base64_decode(const char *s, size_t slen, unsigned char **out,
    size_t *outlen)
{
	unsigned char *buf;
	int n;
	size_t pad = 0, i;

	*out = NULL;
	*outlen = 0;
	if (slen % 4 != 0 || slen > INT_MAX)
		return VG_ERR_INVAL;
	/* EVP_DecodeBlock skips white space and decodes '=' anywhere as
	 * zero bits: accept only the alphabet, with '=' as final padding. */
	for (i = 0; i < slen; i++) {
		if ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '+' || s[i] == '/')
			continue;
		if (s[i] != '=' || i + 2 < slen ||
		    (i + 2 == slen && s[i + 1] != '='))
			return VG_ERR_INVAL;
	}
	if ((buf = malloc(slen / 4 * 3 + 1)) == NULL)
		return VG_ERR_NOMEM;
	if ((n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)slen)) <
	    0) {
		free(buf);
		return VG_ERR_INVAL;
	}
	/* EVP_DecodeBlock counts padding as zero bytes: take them off. */
	if (slen >= 1 && s[slen - 1] == '=')
		pad++;
	if (slen >= 2 && s[slen - 2] == '=')
		pad++;
	*out = buf;
	*outlen = (size_t)n - pad;
	return 0;
}

void
vg_time_format(int64_t ns, char buf[VG_TIME_BUFLEN])
{
	time_t sec = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;

	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	if (gmtime_r(&sec, &tm) == NULL) {
		snprintf(buf, VG_TIME_BUFLEN, "invalid");
		return;
	}
	snprintf(buf, VG_TIME_BUFLEN, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, frac);
}

/* The number of n digits at s, or -1 when one is not a digit. */
static int
digits(const char *s, int n)
{
	int v = 0;

	while (n-- > 0) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s++ - '0');
	}
	return v;
}

int
vg_time_parse(const char *s, int64_t *ns)
{
	struct tm tm, want;
	const char *p;
	int64_t frac = 0, scale = 100000000, sec, v;
	time_t t;

	/* Exactly the layout vg_time_format() writes: strptime() would take
	 * leading blanks and short fields, and timegm() would silently turn
	 * February 31 into March 3. */
	memset(&tm, 0, sizeof(tm));
	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' ||
	    (tm.tm_year = digits(s, 4)) < 0 ||
	    (tm.tm_mon = digits(s + 5, 2)) < 1 ||
	    (tm.tm_mday = digits(s + 8, 2)) < 1 ||
	    (tm.tm_hour = digits(s + 11, 2)) < 0 ||
	    (tm.tm_min = digits(s + 14, 2)) < 0 ||
	    (tm.tm_sec = digits(s + 17, 2)) < 0)
		return VG_ERR_INVAL;
	tm.tm_year -= 1900;
	tm.tm_mon--;
	p = s + 19;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return VG_ERR_INVAL;
		for (p++; isdigit((unsigned char)*p); p++) {
			if (scale == 0)
				return VG_ERR_INVAL;
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (strcmp(p, "Z") != 0)
		return VG_ERR_INVAL;
	want = tm;
	if ((t = timegm(&tm)) == (time_t)-1 && want.tm_year != 69)
		return VG_ERR_INVAL;
	if (tm.tm_year != want.tm_year || tm.tm_mon != want.tm_mon ||
	    tm.tm_mday != want.tm_mday || tm.tm_hour != want.tm_hour ||
	    tm.tm_min != want.tm_min || tm.tm_sec != want.tm_sec)
		return VG_ERR_INVAL;
	/* Before 1970 the fraction counts up from a negative second: fold
	 * it in first, so that the earliest int64 nanosecond still fits. */
	sec = (int64_t)t;
	if (sec < 0 && frac > 0) {
		sec++;
		frac -= 1000000000;
	}
	if (__builtin_mul_overflow(sec, (int64_t)1000000000, &v) ||
	    __builtin_add_overflow(v, frac, &v))
		return VG_ERR_INVAL;
	*ns = v;
	return 0;
}

int64_t
vg_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
vg_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (s == NULL || !isdigit((unsigned char)*s))
		return VG_ERR_INVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return VG_ERR_INVAL;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: return VG_ERR_INVAL;
	}
	if (*end != '\0' && end[1] != '\0' &&
	    !((end[1] == 'B' || end[1] == 'b') && end[2] == '\0'))
		return VG_ERR_INVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return VG_ERR_INVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int
vg_parse_long(const char *s, long min, long max, long *out)
{
	long v;
	char *end;

	if (s == NULL || *s == '\0')
		return VG_ERR_INVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return VG_ERR_INVAL;
	*out = v;
	return 0;
}

double
vg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
vg_cond_wait_for(pthread_cond_t *cond, pthread_mutex_t *mu, double seconds)
{
	struct timespec ts;
	time_t whole;

	if (!(seconds > 0))
		seconds = 0;
	else if (seconds > 1e9)         /* fits any time_t */
		seconds = 1e9;
	whole = (time_t)seconds;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += whole;
	ts.tv_nsec += (long)((seconds - (double)whole) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cond, mu, &ts);
}

int
vg_read_all(int fd, size_t size, char **out, size_t *outlen)
{
	char *buf;
	size_t got = 0;
	ssize_t n;
	int saved;

	*out = NULL;
	*outlen = 0;
	if (size == SIZE_MAX || (buf = malloc(size + 1)) == NULL)
		return VG_ERR_NOMEM;
	while (got < size) {
		n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			explicit_bzero(buf, size + 1);
			free(buf);
			errno = saved;
			return vg_err_from_errno(saved);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*outlen = got;
	return 0;
}

int
vg_buf_append(char **buf, size_t *used, size_t *cap, const void *data,
    size_t len, size_t max)
{
	size_t want;
	char *p;

	if (len > max || *used > max - len)
		return VG_ERR_TOOBIG;
	if (*used + len + 1 > *cap) {
		want = *cap > 0 ? *cap : 64;
		while (want < *used + len + 1)
			want *= 2;
		if ((p = malloc(want)) == NULL)
			return VG_ERR_NOMEM;
		/* Not realloc: the old buffer is wiped, not left behind. */
		if (*buf != NULL) {
			memcpy(p, *buf, *used);
			explicit_bzero(*buf, *cap);
			free(*buf);
		}
		*buf = p;
		*cap = want;
	}
	memcpy(*buf + *used, data, len);
	*used += len;
	(*buf)[*used] = '\0';
	return 0;
}

/* "1 MiB", "64 KiB", "1000 bytes": a size limit as a message says it. */
static void
size_text(size_t n, char *buf, size_t len)
{
	if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
		snprintf(buf, len, "%zu MiB", n / (1024 * 1024));
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(buf, len, "%zu KiB", n / 1024);
	else
		snprintf(buf, len, "%zu bytes", n);
}

int
vg_read_file(const char *path, size_t max, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct stat st;
	char limit[32], ebuf[128];
	int fd, r, e;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path,
		    strerror_r(e, ebuf, sizeof(ebuf)));
		return vg_err_from_errno(e);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		r = VG_ERR_INVAL;
		goto out;
	}
	if ((uintmax_t)st.st_size > max) {
		size_text(max, limit, sizeof(limit));
		snprintf(err, errlen, "%s: larger than %s", path, limit);
		r = VG_ERR_TOOBIG;
		goto out;
	}
	if ((r = vg_read_all(fd, (size_t)st.st_size, out, outlen)) != 0) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, r == VG_ERR_NOMEM ?
		    "out of memory" : strerror_r(e, ebuf, sizeof(ebuf)));
	}
out:
	close(fd);
	return r;
}

int
vg_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		/* Never happens for len > 0 on a file, but must not spin. */
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The mode and owner the new file gets: given, or copied from path. */
static int
target_mode(const char *path, mode_t mode, struct stat *sb, char *err,
    size_t errlen)
{
	memset(sb, 0, sizeof(*sb));
	sb->st_uid = geteuid();
	sb->st_gid = getegid();
	sb->st_mode = mode != VG_MODE_KEEP ? mode : 0600;
	if (mode != VG_MODE_KEEP)
		return 0;
	if (lstat(path, sb) != 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "cannot write %s: %s", path,
			    strerror(errno));
			return vg_err_from_errno(errno);
		}
		return 0;
	}
	/* Replacing a link would silently cut it from what it points to. */
	if (!S_ISREG(sb->st_mode)) {
		snprintf(err, errlen, "cannot write %s: not a regular file",
		    path);
		return VG_ERR_INVAL;
	}
	return 0;
}

int
vg_write_file_atomic(const char *path, const void *data, size_t len,
    mode_t mode, char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *slash, *base;
	struct stat sb;
	int fd = -1, dfd, r, saved;

	if ((r = target_mode(path, mode, &sb, err, errlen)) != 0)
		return r;
	/* A unique hidden name in the same folder (rename cannot cross file
	 * systems): two writers never share it, and readers of the folder
	 * do not take it for the real thing. */
	slash = strrchr(path, '/');
	base = slash != NULL ? slash + 1 : path;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
		    (int)(slash - path), path);
	if (*base == '\0' || strlen(path) >= sizeof(dir) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%.*s.%s.XXXXXX",
	    (int)(base - path), path, base) >= sizeof(tmp)) {
		snprintf(err, errlen, "cannot write %s: not a file name or "
		    "too long", path);
		return VG_ERR_INVAL;
	}
	/* mkostemp() creates it 0600 with O_EXCL: private until its mode is
	 * set, and never through a planted link. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		goto fail_nofile;
	if ((sb.st_uid != geteuid() || sb.st_gid != getegid()) &&
	    fchown(fd, sb.st_uid, sb.st_gid) != 0)
		goto fail;
	/* After fchown(), which may clear set-id bits. */
	if (fchmod(fd, sb.st_mode & 07777) != 0 ||
	    vg_write_all(fd, data, len) != 0 || fsync(fd) != 0)
		goto fail;
	r = close(fd);
	fd = -1;
	if (r != 0 || rename(tmp, path) != 0)
		goto fail;
	/* The rename is durable once the folder is synced. A failure here is
	 * not reported: path already holds the new content. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
fail_nofile:
	snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
	return vg_err_from_errno(errno);
}

char *
vg_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}
