/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collect_int.h"
#include "vg_err.h"

/*
 * Packages, services, users and groups: read from the files of the
 * system under o->root (dpkg's status, systemd's unit directories,
 * passwd, shadow, group, gshadow), so the parsers can be tested on a
 * tree; only the live states (rpm's database, systemd's active states)
 * come from a program.
 */

/* A file under the root, read whole. */
static int
read_rooted(const struct collect_opts *o, const char *file, size_t max,
    char **data, size_t *len, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int r;

	if ((r = col_path(o, file, path, sizeof(path))) != 0) {
		snprintf(err, errlen, "%s: path too long under the root", file);
		return r;
	}
	if ((r = col_read_file(path, max, data, len)) != 0)
		snprintf(err, errlen, "%s: %s", path, vg_strerror(r));
	return r;
}

static int
exists_rooted(const struct collect_opts *o, const char *file)
{
	char path[PATH_MAX];

	return col_path(o, file, path, sizeof(path)) == 0 &&
	    access(path, F_OK) == 0;
}

/* ---- packages ---- */

struct dpkg_pkg {
	char *name, *arch, *version, *status;
};

/* Installed, or part way through installing or removing: a package whose
 * files may be on disk. */
static int
dpkg_present(const char *status)
{
	const char *st = strrchr(status, ' ');

	st = st != NULL ? st + 1 : status;
	return *st != '\0' && strcmp(st, "not-installed") != 0 &&
	    strcmp(st, "config-files") != 0;
}

static int
dpkg_flush(struct col_set *s, struct dpkg_pkg *p)
{
	struct col_props pr = { 0 };
	char name[1024];
	int r;

	if (p->name == NULL || p->status == NULL || !dpkg_present(p->status))
		return 0;
	if (p->arch == NULL)
		p->arch = "";
	if (p->version == NULL)
		p->version = "";
	snprintf(name, sizeof(name), "dpkg:%s:%s", p->name, p->arch);
	if ((r = col_prop(&pr, "version", p->version)) != 0 ||
	    (r = col_prop(&pr, "arch", p->arch)) != 0 ||
	    (r = col_prop(&pr, "status", p->status)) != 0) {
		col_props_clear(&pr);
		return r;
	}
	return col_set_add(s, VG_KIND_PACKAGE, name, &pr, NULL, 0);
}

/* The value of "Field: value" when line is that field, else NULL. */
static char *
field_value(char *line, const char *field)
{
	size_t n = strlen(field);

	if (strncasecmp(line, field, n) != 0 || line[n] != ':')
		return NULL;
	return col_trim(line + n + 1);
}

int
col_dpkg_parse(char *buf, size_t len, struct col_set *s)
{
	struct dpkg_pkg p = { 0 };
	char *line, *v;
	size_t pos = 0;
	int r;

	while ((line = col_next_line(buf, len, &pos)) != NULL) {
		if (line[0] == '\0') {
			if ((r = dpkg_flush(s, &p)) != 0)
				return r;
			memset(&p, 0, sizeof(p));
		} else if ((v = field_value(line, "Package")) != NULL)
			p.name = v;
		else if ((v = field_value(line, "Architecture")) != NULL)
			p.arch = v;
		else if ((v = field_value(line, "Version")) != NULL)
			p.version = v;
		else if ((v = field_value(line, "Status")) != NULL)
			p.status = v;
	}
	return dpkg_flush(s, &p);
}

static int
dpkg_packages(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen)
{
	char *buf;
	size_t len;
	int r;

	if (!exists_rooted(o, "/var/lib/dpkg/status"))
		return 0;
	if ((r = read_rooted(o, "/var/lib/dpkg/status", COL_FILE_MAX, &buf,
	    &len, err, errlen)) != 0)
		return r;
	if ((r = col_dpkg_parse(buf, len, s)) != 0)
		snprintf(err, errlen, "/var/lib/dpkg/status: %s",
		    vg_strerror(r));
	free(buf);
	return r;
}

static int
rpm_packages(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen)
{
	static char *const argv[] = { "rpm", "-qa", "--qf",
	    "%{NAME}\t%{ARCH}\t%{VERSION}-%{RELEASE}\n", NULL };
	struct col_run_result res;
	int r;

	/* rpm reads the live database: nothing to ask under another root. */
	if (!col_live(o) || (access("/usr/bin/rpm", X_OK) != 0 &&
	    access("/bin/rpm", X_OK) != 0))
		return 0;
	if ((r = col_run(argv, o->timeout_ms, COL_FILE_MAX, &res, err,
	    errlen)) != 0)
		return r;
	if (res.timed_out || res.truncated || !WIFEXITED(res.status) ||
	    WEXITSTATUS(res.status) != 0) {
		r = col_problem(s, "collect-error", "rpm -qa failed (%s)",
		    res.timed_out ? "timeout" : res.truncated ?
		    "output too large" : "exit status");
		s->keep = 1;
		goto out;
	}
	r = col_rpm_parse(res.out, res.len, s);
out:
	col_run_result_free(&res);
	return r;
}

int
col_rpm_parse(char *buf, size_t len, struct col_set *s)
{
	struct col_props pr = { 0 };
	char name[1024], *line, *f[3];
	size_t pos = 0;
	int r = 0;

	while ((line = col_next_line(buf, len, &pos)) != NULL) {
		if (col_split(line, '\t', f, 3) != 3)
			continue;
		snprintf(name, sizeof(name), "rpm:%s.%s", f[0], f[1]);
		if ((r = col_prop(&pr, "version", f[2])) != 0 ||
		    (r = col_prop(&pr, "arch", f[1])) != 0 ||
		    (r = col_prop(&pr, "status", "installed")) != 0 ||
		    (r = col_set_add(s, VG_KIND_PACKAGE, name, &pr, NULL,
		    0)) != 0)
			break;
	}
	col_props_clear(&pr);
	return r;
}

int
col_packages(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen)
{
	int r;

	if ((r = dpkg_packages(o, s, err, errlen)) != 0)
		return r;
	return rpm_packages(o, s, err, errlen);
}

/* ---- users and groups ---- */

/* The records of a colon file (shadow, gshadow), sorted by name. */
struct colon_file {
	char *buf;
	char **rec;              /* each the NUL-separated fields */
	size_t n, len;
	int readable;
};

static int
rec_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Indexes the records of buf (len bytes, NUL-terminated, changed in
 * place; not owned). */
static int
colon_index(char *buf, size_t len, struct colon_file *cf)
{
	char *line;
	size_t pos = 0, cap = 0;
	int r;

	cf->readable = 1;
	while ((line = col_next_line(buf, len, &pos)) != NULL) {
		if (line[0] == '\0' || line[0] == '#' || line[0] == '+' ||
		    line[0] == '-' || strchr(line, ':') == NULL)
			continue;
		if ((r = col_grow(&cf->rec, &cap, cf->n,
		    sizeof(*cf->rec))) != 0) {
			free(cf->rec);
			cf->rec = NULL;
			cf->n = 0;
			return r;
		}
		cf->rec[cf->n++] = line;
	}
	if (cf->n > 1)
		qsort(cf->rec, cf->n, sizeof(*cf->rec), rec_cmp);
	/* Names end at the first colon: compare on the name only. */
	for (pos = 0; pos < cf->n; pos++)
		*strchr(cf->rec[pos], ':') = '\0';
	return 0;
}

/* Unreadable or absent is not an error: the props from it are left
 * out. */
static int
colon_load(const struct collect_opts *o, const char *file,
    struct colon_file *cf)
{
	char path[PATH_MAX];
	size_t len;
	int r;

	memset(cf, 0, sizeof(*cf));
	if (col_path(o, file, path, sizeof(path)) != 0 ||
	    col_read_file(path, COL_FILE_MAX, &cf->buf, &len) != 0)
		return 0;
	cf->len = len;
	if ((r = colon_index(cf->buf, len, cf)) != 0) {
		free(cf->buf);
		memset(cf, 0, sizeof(*cf));
	}
	return r;
}

/* The rest of the record after the name (fields still colon-separated). */
static char *
colon_find(const struct colon_file *cf, const char *name)
{
	size_t lo = 0, hi = cf->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(cf->rec[mid], name)) == 0)
			return cf->rec[mid] + strlen(cf->rec[mid]) + 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void
colon_free(struct colon_file *cf)
{
	/* shadow holds password hashes */
	if (cf->buf != NULL)
		explicit_bzero(cf->buf, cf->len);
	free(cf->rec);
	free(cf->buf);
}

/* The kind of a password field, never the field itself. */
static const char *
password_kind(const char *hash)
{
	if (hash[0] == '\0')
		return "none";
	if (hash[0] == '!')
		return "locked";
	if (hash[0] == '$' || strlen(hash) == 13)
		return "hashed";
	return "disabled";
}

static int
password_props(struct col_props *pr, const char *field)
{
	char hex[65];
	int r;

	if ((r = col_sha256_hex(field, strlen(field), hex)) != 0)
		return r;
	if ((r = col_prop(pr, "password", password_kind(field))) != 0)
		return r;
	return col_prop(pr, "password_sha256", hex);
}

static int
shadow_props(struct col_props *pr, char *rest)
{
	static const char *const names[] = { "last_change", "min_days",
	    "max_days", "warn_days", "inactive", "expire" };
	char *f[8];
	size_t n, i;
	int r;

	n = col_split(rest, ':', f, 8);
	if ((r = password_props(pr, f[0])) != 0)
		return r;
	for (i = 0; i < 6; i++)
		if ((r = col_prop(pr, names[i], i + 1 < n ? f[i + 1] : "")) !=
		    0)
			return r;
	return 0;
}

static int
user_item(struct col_set *s, char **f, const struct colon_file *shadow)
{
	struct col_props pr = { 0 };
	char *rest;
	int r;

	if ((r = col_prop(&pr, "uid", f[2])) != 0 ||
	    (r = col_prop(&pr, "gid", f[3])) != 0 ||
	    (r = col_prop(&pr, "gecos", f[4])) != 0 ||
	    (r = col_prop(&pr, "home", f[5])) != 0 ||
	    (r = col_prop(&pr, "shell", f[6])) != 0)
		goto fail;
	if ((rest = colon_find(shadow, f[0])) != NULL)
		r = shadow_props(&pr, rest);
	else if (strcmp(f[1], "x") != 0)
		r = password_props(&pr, f[1]);
	if (r != 0)
		goto fail;
	return col_set_add(s, VG_KIND_USER, f[0], &pr, NULL, 0);
fail:
	col_props_clear(&pr);
	return r;
}

/* Each record of buf (nfields colon-separated fields, the name first)
 * handed to fn with the matching record of sec. */
static int
colon_records(char *buf, size_t len, const struct colon_file *sec,
    size_t nfields,
    int (*fn)(struct col_set *, char **, const struct colon_file *),
    struct col_set *s)
{
	char *line, *f[8];
	size_t pos = 0;
	int r;

	while ((line = col_next_line(buf, len, &pos)) != NULL) {
		if (line[0] == '\0' || line[0] == '#' || line[0] == '+' ||
		    line[0] == '-')
			continue;
		if (col_split(line, ':', f, nfields) != nfields ||
		    f[0][0] == '\0' || strlen(f[0]) > VG_ITEM_PATH_MAX)
			continue;
		if ((r = fn(s, f, sec)) != 0)
			return r;
	}
	return 0;
}

/*
 * Each record of file handed to fn with the matching record of secret
 * (shadow, gshadow).
 */
static int
colon_items(const struct collect_opts *o, const char *file,
    const char *secret, size_t nfields,
    int (*fn)(struct col_set *, char **, const struct colon_file *),
    struct col_set *s, char *err, size_t errlen)
{
	struct colon_file sec;
	char *buf = NULL;
	size_t len;
	int r;

	if ((r = colon_load(o, secret, &sec)) != 0)
		goto out;
	if ((r = read_rooted(o, file, COL_FILE_MAX, &buf, &len, err,
	    errlen)) != 0)
		goto out;
	if ((r = colon_records(buf, len, &sec, nfields, fn, s)) != 0)
		snprintf(err, errlen, "%s: %s", file, vg_strerror(r));
out:
	colon_free(&sec);
	free(buf);
	return r;
}

/* The same over buffers (secret NULL: none). */
static int
colon_items_buf(char *buf, size_t len, char *secret, size_t slen,
    size_t nfields,
    int (*fn)(struct col_set *, char **, const struct colon_file *),
    struct col_set *s)
{
	struct colon_file sec;
	int r;

	memset(&sec, 0, sizeof(sec));
	if (secret != NULL && (r = colon_index(secret, slen, &sec)) != 0)
		return r;
	r = colon_records(buf, len, &sec, nfields, fn, s);
	free(sec.rec);
	return r;
}

int
col_users_parse(char *passwd, size_t plen, char *shadow, size_t slen,
    struct col_set *s)
{
	return colon_items_buf(passwd, plen, shadow, slen, 7, user_item, s);
}

int
col_users(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen)
{
	return colon_items(o, "/etc/passwd", "/etc/shadow", 7, user_item, s,
	    err, errlen);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A comma list sorted, without empty or repeated names (in place). */
static int
sorted_list(char *list, struct col_props *pr, const char *prop)
{
	char **v = NULL, *p, *out = NULL;
	size_t n = 1, i, w = 0, len = 0;
	int r = VG_ERR_NOMEM;

	for (p = list; *p != '\0'; p++)
		n += *p == ',';
	if ((v = calloc(n, sizeof(*v))) == NULL ||
	    (out = malloc(strlen(list) + 1)) == NULL)
		goto out;
	n = col_split(list, ',', v, n);
	qsort(v, n, sizeof(*v), str_cmp);
	for (i = 0; i < n; i++) {
		if (v[i][0] == '\0' || (w > 0 && strcmp(v[w - 1], v[i]) == 0))
			continue;
		v[w++] = v[i];
	}
	out[0] = '\0';
	for (i = 0; i < w; i++) {
		if (i > 0)
			out[len++] = ',';
		memcpy(out + len, v[i], strlen(v[i]) + 1);
		len += strlen(v[i]);
	}
	r = col_prop(pr, prop, out);
out:
	free(v);
	free(out);
	return r;
}

static int
group_item(struct col_set *s, char **f, const struct colon_file *gshadow)
{
	struct col_props pr = { 0 };
	char *rest, *g[3];
	int r;

	if ((r = col_prop(&pr, "gid", f[2])) != 0 ||
	    (r = sorted_list(f[3], &pr, "members")) != 0)
		goto fail;
	if ((rest = colon_find(gshadow, f[0])) != NULL &&
	    col_split(rest, ':', g, 3) >= 2 &&
	    (r = sorted_list(g[1], &pr, "admins")) != 0)
		goto fail;
	return col_set_add(s, VG_KIND_GROUP, f[0], &pr, NULL, 0);
fail:
	col_props_clear(&pr);
	return r;
}

int
col_groups(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen)
{
	return colon_items(o, "/etc/group", "/etc/gshadow", 4, group_item, s,
	    err, errlen);
}

int
col_groups_parse(char *group, size_t glen, char *gshadow, size_t gslen,
    struct col_set *s)
{
	return colon_items_buf(group, glen, gshadow, gslen, 4, group_item, s);
}
