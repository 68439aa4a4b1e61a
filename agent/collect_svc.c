/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collect_int.h"
#include "vg_err.h"

/*
 * Services: the systemd unit files, with the enablement systemctl would
 * report worked out from the file system (so it holds for a tree as for
 * the live system), and the active state asked of systemd when it runs.
 */

/* In systemd's order of precedence: a unit in an earlier one hides the
 * same name in a later one. */
static const char *const unit_dirs[] = {
	"/etc/systemd/system",
	"/run/systemd/system",
	"/lib/systemd/system",
	"/usr/lib/systemd/system",
};
#define NDIRS (sizeof(unit_dirs) / sizeof(unit_dirs[0]))

/* Bounds on what one host can make us hold. */
#define UNIT_FILE_MAX (1024 * 1024)
#define UNITS_MAX 10000

struct strlist {
	char **v;
	size_t n, cap;
};

static int
strlist_add(struct strlist *l, const char *s)
{
	if (l->n >= UNITS_MAX)
		return 0;
	if (col_grow(&l->v, &l->cap, l->n, sizeof(*l->v)) != 0)
		return VG_ERR_NOMEM;
	if ((l->v[l->n] = strdup(s)) == NULL)
		return VG_ERR_NOMEM;
	l->n++;
	return 0;
}

static void
strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
is_service(const char *name)
{
	size_t n = strlen(name);

	return n > 8 && strcmp(name + n - 8, ".service") == 0;
}

static int
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n > m && strcmp(name + n - m, suffix) == 0;
}

/* The names of the services in dir (under the root). */
static int
list_dir(const char *dir, struct strlist *l, int (*want)(const char *))
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (want(de->d_name) && (r = strlist_add(l, de->d_name)) != 0)
			break;
	closedir(d);
	return r;
}

static int
is_dep_dir(const char *name)
{
	return has_suffix(name, ".wants") || has_suffix(name, ".requires");
}

/* The services some unit of dir wants or requires (enabled ones). */
static int
list_wanted(const struct collect_opts *o, const char *dir,
    struct strlist *wanted)
{
	char path[PATH_MAX], sub[PATH_MAX];
	struct strlist deps = { 0 };
	size_t i;
	int r;

	if (col_path(o, dir, path, sizeof(path)) != 0)
		return 0;
	if ((r = list_dir(path, &deps, is_dep_dir)) != 0)
		goto out;
	for (i = 0; i < deps.n; i++) {
		if (snprintf(sub, sizeof(sub), "%s/%s", path, deps.v[i]) >=
		    (int)sizeof(sub))
			continue;
		if ((r = list_dir(sub, wanted, is_service)) != 0)
			goto out;
	}
out:
	strlist_free(&deps);
	return r;
}

/* Whether name, or for a template "x@.service" an instance of it, is in
 * the list. */
static int
wanted_by(const struct strlist *l, const char *name)
{
	const char *at = strchr(name, '@');
	size_t i, pre;

	if (at != NULL && strcmp(at, "@.service") == 0) {
		pre = (size_t)(at - name) + 1;
		for (i = 0; i < l->n; i++)
			if (strncmp(l->v[i], name, pre) == 0)
				return 1;
		return 0;
	}
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return 1;
	return 0;
}

/* Whether the unit file has an [Install] section that says how to enable
 * it; "indirect" when it only names others (Also=). */
static const char *
install_state(const char *path)
{
	char *buf, *line;
	size_t len, pos = 0;
	int in_install = 0, also = 0, install = 0;

	if (col_read_file(path, UNIT_FILE_MAX, &buf, &len) != 0)
		return "bad";
	while ((line = col_next_line(buf, len, &pos)) != NULL) {
		line += strspn(line, " \t");
		if (line[0] == '[') {
			in_install = strncmp(line, "[Install]", 9) == 0;
			continue;
		}
		if (!in_install)
			continue;
		if (strncmp(line, "WantedBy=", 9) == 0 ||
		    strncmp(line, "RequiredBy=", 11) == 0 ||
		    strncmp(line, "UpheldBy=", 9) == 0 ||
		    strncmp(line, "Alias=", 6) == 0)
			install = 1;
		else if (strncmp(line, "Also=", 5) == 0)
			also = 1;
	}
	free(buf);
	return install ? "disabled" : also ? "indirect" : "static";
}

/*
 * The unit file dir/name: masked (a link to /dev/null), alias (a link
 * to a unit of another name), else the file to read in path. Links are
 * followed inside the root, one level (what systemctl link makes).
 */
static const char *
link_state(const struct collect_opts *o, const char *dir, const char *name,
    char *path, size_t pathlen)
{
	char target[PATH_MAX], *base;
	struct stat st;
	ssize_t n;

	if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
		return NULL;
	if ((n = readlink(path, target, sizeof(target) - 1)) < 0)
		return "bad";
	target[n] = '\0';
	if (strcmp(target, "/dev/null") == 0)
		return "masked";
	base = strrchr(target, '/');
	base = base != NULL ? base + 1 : target;
	if (strcmp(base, name) != 0)
		return "alias";
	if (target[0] == '/') {
		if (col_path(o, target, path, pathlen) != 0)
			return "bad";
	} else if (snprintf(path, pathlen, "%s/%s", dir, target) >=
	    (int)pathlen)
		return "bad";
	return NULL;
}

static const char *
enabled_state(const struct collect_opts *o, const char *dir,
    const char *name, const struct strlist *etc_wanted,
    const struct strlist *run_wanted)
{
	char path[PATH_MAX];
	const char *st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return "bad";
	if ((st = link_state(o, dir, name, path, sizeof(path))) != NULL)
		return st;
	if (wanted_by(etc_wanted, name))
		return "enabled";
	if (wanted_by(run_wanted, name))
		return "enabled-runtime";
	return install_state(path);
}

/* "UNIT LOAD ACTIVE SUB DESCRIPTION" lines of systemctl list-units. */
struct active_map {
	struct col_run_result res;
	struct unit_state {
		const char *unit, *state;
	} *v;
	size_t n, cap;
};

static size_t
fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(line, " \t", &save); t != NULL && n < max;
	    t = strtok_r(NULL, " \t", &save))
		f[n++] = t;
	return n;
}

static int active_parse(struct active_map *m, char *buf, size_t len);

static int
active_load(struct active_map *m, int timeout_ms, char *err, size_t errlen)
{
	static char *const argv[] = { "systemctl", "list-units", "--all",
	    "--type=service", "--plain", "--no-legend", "--full",
	    "--no-pager", NULL };
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = col_run(argv, timeout_ms, 16u * 1024 * 1024, &m->res, err,
	    errlen)) != 0)
		return r;
	if (m->res.timed_out || !WIFEXITED(m->res.status) ||
	    WEXITSTATUS(m->res.status) != 0) {
		snprintf(err, errlen, "systemctl list-units failed");
		return VG_ERR_IO;
	}
	return active_parse(m, m->res.out, m->res.len);
}

/* The lines of systemctl list-units (buf changed in place, borrowed by
 * m). */
static int
active_parse(struct active_map *m, char *buf, size_t len)
{
	char *line, *f[4];
	size_t pos = 0, k;

	while ((line = col_next_line(buf, len, &pos)) != NULL) {
		k = fields(line, f, 4);
		/* a failed unit may still carry the "●" mark */
		if (k > 0 && !is_service(f[0])) {
			memmove(f, f + 1, (k - 1) * sizeof(*f));
			k--;
		}
		if (k < 3 || !is_service(f[0]))
			continue;
		if (col_grow(&m->v, &m->cap, m->n, sizeof(*m->v)) != 0)
			return VG_ERR_NOMEM;
		m->v[m->n].unit = f[0];
		m->v[m->n].state = f[2];
		m->n++;
	}
	return 0;
}

static const char *
active_state(const struct active_map *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i].unit, name) == 0)
			return m->v[i].state;
	/* systemd does not load a unit nothing uses: it is inactive */
	return "inactive";
}

static void
active_free(struct active_map *m)
{
	col_run_result_free(&m->res);
	free(m->v);
}

static int
service_item(const struct collect_opts *o, struct col_set *s,
    const char *dir, const char *name, const struct strlist *etc_wanted,
    const struct strlist *run_wanted, const struct active_map *active)
{
	struct col_props pr = { 0 };
	int r;

	if ((r = col_prop(&pr, "enabled", enabled_state(o, dir, name,
	    etc_wanted, run_wanted))) != 0 ||
	    (r = col_prop(&pr, "active", active != NULL ?
	    active_state(active, name) : "unknown")) != 0) {
		col_props_clear(&pr);
		return r;
	}
	return col_set_add(s, VG_KIND_SERVICE, name, &pr, NULL, 0);
}

int
col_services(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen)
{
	struct strlist etc_wanted = { 0 }, run_wanted = { 0 }, names;
	struct active_map active;
	char dir[PATH_MAX], msg[256];
	int r = 0, have_active = 0;
	size_t d, i;

	memset(&active, 0, sizeof(active));
	if (col_live(o) && access("/run/systemd/system", F_OK) == 0) {
		if (active_load(&active, o->timeout_ms, msg, sizeof(msg)) == 0)
			have_active = 1;
		else {
			/* not every service turned "unknown": try again */
			s->keep = 1;
			if ((r = col_problem(s, "collect-error",
			    "services: %s", msg)) != 0)
				goto out;
		}
	}
	if ((r = list_wanted(o, "/etc/systemd/system", &etc_wanted)) != 0 ||
	    (r = list_wanted(o, "/run/systemd/system", &run_wanted)) != 0)
		goto out;
	for (d = 0; d < NDIRS; d++) {
		if (col_path(o, unit_dirs[d], dir, sizeof(dir)) != 0)
			continue;
		memset(&names, 0, sizeof(names));
		r = list_dir(dir, &names, is_service);
		/* Added in precedence order: the sort keeps the first. */
		for (i = 0; r == 0 && i < names.n; i++)
			r = service_item(o, s, dir, names.v[i], &etc_wanted,
			    &run_wanted, have_active ? &active : NULL);
		strlist_free(&names);
		if (r != 0)
			goto out;
	}
out:
	if (r != 0)
		snprintf(err, errlen, "services: %s", vg_strerror(r));
	active_free(&active);
	strlist_free(&etc_wanted);
	strlist_free(&run_wanted);
	return r;
}

/*
 * Services from the output of systemctl list-unit-files (the enablement
 * systemd reports: "NAME STATE [PRESET]") and list-units --all (the
 * active state), for hosts read from afar. Both buffers are changed in
 * place.
 */
int
col_services_parse(char *unit_files, size_t ulen, char *units, size_t nlen,
    struct col_set *s)
{
	struct col_props pr = { 0 };
	struct active_map active;
	char *line, *f[3];
	size_t pos = 0;
	int r;

	memset(&active, 0, sizeof(active));
	if ((r = active_parse(&active, units, nlen)) != 0)
		goto out;
	while ((line = col_next_line(unit_files, ulen, &pos)) != NULL) {
		if (fields(line, f, 3) < 2 || !is_service(f[0]))
			continue;
		if ((r = col_prop(&pr, "enabled", f[1])) != 0 ||
		    (r = col_prop(&pr, "active", active_state(&active,
		    f[0]))) != 0 ||
		    (r = col_set_add(s, VG_KIND_SERVICE, f[0], &pr, NULL,
		    0)) != 0)
			goto out;
	}
out:
	col_props_clear(&pr);
	free(active.v);
	return r;
}
