/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vg_conf.h"
#include "vg_err.h"
#include "vg_log.h"
#include "vg_util.h"

/* The keys read so far, for "already set on line N". */
struct seen_key {
	char *key;
	unsigned int line;
};

int
vg_conf_value_ok(const char *key, const char *value, char *err,
    size_t errlen)
{
	const char *p;

	if (strlen(value) > VG_CONF_VALUE_MAX) {
		snprintf(err, errlen, "%s: value longer than %d bytes", key,
		    VG_CONF_VALUE_MAX);
		return VG_ERR_INVAL;
	}
	for (p = value; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "%s: control character in the "
			    "value", key);
			return VG_ERR_INVAL;
		}
	}
	return 0;
}

int
vg_conf_long(const char *key, const char *value, long long min,
    long long max, long *out, char *err, size_t errlen)
{
	if (vg_parse_long(value, (long)min, (long)max, out) != 0) {
		snprintf(err, errlen, "%s: expected a whole number from %lld to "
		    "%lld, not '%s'", key, min, max, value);
		return VG_ERR_INVAL;
	}
	return 0;
}

int
vg_conf_size(const char *key, const char *value, long long min,
    long long max, uint64_t *out, char *err, size_t errlen)
{
	if (vg_parse_size(value, out) != 0 || *out < (uint64_t)min ||
	    *out > (uint64_t)max) {
		snprintf(err, errlen, "%s: expected a size from %lld to %lld "
		    "bytes (K, M, G suffixes allowed), not '%s'", key, min, max,
		    value);
		return VG_ERR_INVAL;
	}
	return 0;
}

int
vg_conf_level(const char *key, const char *value, int *out, char *err,
    size_t errlen)
{
	if ((*out = vg_log_parse_level(value)) < 0) {
		snprintf(err, errlen, "%s: expected error, warn, info or debug, "
		    "not '%s'", key, value);
		return VG_ERR_INVAL;
	}
	return 0;
}

/* Records key at line; VG_ERR_INVAL with err set when it was seen. */
static int
note_key(struct seen_key **seen, size_t *n, const char *file,
    unsigned int line, const char *key, char *err, size_t errlen)
{
	struct seen_key *grown;
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strcmp((*seen)[i].key, key) == 0) {
			snprintf(err, errlen, "%s:%u: '%s' is already set on "
			    "line %u", file, line, key, (*seen)[i].line);
			return VG_ERR_INVAL;
		}
	}
	if ((grown = reallocarray(*seen, *n + 1, sizeof(**seen))) == NULL)
		goto nomem;
	*seen = grown;
	if ((grown[*n].key = strdup(key)) == NULL)
		goto nomem;
	grown[(*n)++].line = line;
	return 0;
nomem:
	snprintf(err, errlen, "%s: out of memory", file);
	return VG_ERR_NOMEM;
}

int
vg_conf_read(const char *file, vg_conf_set_fn set, void *arg, char *err,
    size_t errlen)
{
	struct seen_key *seen = NULL;
	char msg[512], *line = NULL, *key, *value, *eq;
	size_t cap = 0, nseen = 0, i, total = 0;
	ssize_t len;
	unsigned int lineno = 0;
	struct stat st;
	FILE *f;
	int r;

	if ((f = fopen(file, "re")) == NULL) {
		r = errno == ENOENT ? VG_ERR_NOTFOUND :
		    vg_err_from_errno(errno);
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return r;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", file);
		goto bad;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		total += (size_t)len;
		if (total > VG_CONF_FILE_MAX) {
			snprintf(err, errlen, "%s: larger than %d bytes", file,
			    VG_CONF_FILE_MAX);
			r = VG_ERR_TOOBIG;
			goto out;
		}
		if ((size_t)len > VG_CONF_LINE_MAX) {
			snprintf(err, errlen, "%s:%u: line longer than %d "
			    "bytes", file, lineno, VG_CONF_LINE_MAX);
			goto bad;
		}
		if (strlen(line) != (size_t)len) {
			snprintf(err, errlen, "%s:%u: NUL byte in the line",
			    file, lineno);
			goto bad;
		}
		key = line;
		/* A UTF-8 byte order mark some editors write. */
		if (lineno == 1 && strncmp(key, "\xef\xbb\xbf", 3) == 0)
			key += 3;
		key = vg_trim(key);
		if (*key == '\0' || *key == '#')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			snprintf(err, errlen, "%s:%u: expected 'key = value'",
			    file, lineno);
			goto bad;
		}
		*eq = '\0';
		key = vg_trim(key);
		value = vg_trim(eq + 1);
		if ((r = note_key(&seen, &nseen, file, lineno, key, err,
		    errlen)) != 0)
			goto out;
		msg[0] = '\0';
		if ((r = set(arg, key, value, msg, sizeof(msg))) != 0) {
			snprintf(err, errlen, "%s:%u: %s", file, lineno, msg);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		r = VG_ERR_IO;
		goto out;
	}
	r = 0;
	goto out;
bad:
	r = VG_ERR_INVAL;
out:
	for (i = 0; i < nseen; i++)
		free(seen[i].key);
	free(seen);
	free(line);
	fclose(f);
	return r;
}
