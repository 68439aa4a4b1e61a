/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Windows hosts over SMB for the proxy agent (proxied_windows.h): the
 * policy's options, proxy_win_collect(), the comparison with the
 * device's baseline (proxied_store.h) and the events.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>

#include "proxied_store.h"
#include "proxied_windows.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_util.h"

#define APW_LIST_MAX 1000       /* entries of each list of the policy */
#define APW_GLOB_MAX 4096       /* bytes of one glob */
#define APW_DEPTH_DEFAULT 8
#define APW_PROBLEMS_MAX 10000  /* problems remembered between collections */

/* The kinds compared, with their "known:" names in the device's meta. */
#define APW_KEYS "registry keys"
#define APW_VALUES "registry values"
#define APW_FILES "windows files"

/*
 * What the policy asks of the host. keys and files are as the policy
 * names them (proxy_win_collect() takes them so); roots[0] and roots[1]
 * are the same keys and files as item paths start (HKLM / HKU for the
 * long hive names, no trailing backslash), to tell which items they
 * take in.
 */
struct apw_scope {
	char **keys, **files, **include, **exclude;
	size_t nkeys, nfiles, ninclude, nexclude;
	char **roots[2];               /* 0: registry, 1: files */
	unsigned int depth;
	enum vg_hash_alg hash;
	uint64_t max_hash_size;
};

/* What aps_compare_kind() asks through its view. */
struct apw_view {
	char **unread;                 /* the result's, sorted (strcmp) */
	size_t nunread;
	const struct apw_scope *was;   /* NULL: unknown */
	const struct apw_scope *now;
	int scope_changed;
};

/* ---- the policy ---- */

static void
strings_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
scope_clear(struct apw_scope *s)
{
	strings_free(s->roots[0], s->nkeys);
	strings_free(s->roots[1], s->nfiles);
	strings_free(s->keys, s->nkeys);
	strings_free(s->files, s->nfiles);
	strings_free(s->include, s->ninclude);
	strings_free(s->exclude, s->nexclude);
	memset(s, 0, sizeof(*s));
}

static int
glob_check(const char *g, char *err, size_t errlen)
{
	size_t len = strlen(g), i;

	if (len == 0 || len > APW_GLOB_MAX) {
		snprintf(err, errlen, "a glob of %zu bytes (1 to %d)", len,
		    APW_GLOB_MAX);
		return VG_ERR_INVAL;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)g[i] < 0x20 || g[i] == 0x7f) {
			snprintf(err, errlen, "a control character in a glob "
			    "(byte %zu)", i + 1);
			return VG_ERR_INVAL;
		}
	return 0;
}

static int
str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/*
 * The strings of doc's field (absent: none), each checked by check,
 * sorted without duplicates into *out (*n of them). 0, or VG_ERR_INVAL /
 * VG_ERR_NOMEM with err naming the field and entry.
 */
static int
strings_get(const json_t *doc, const char *field,
    int (*check)(const char *, char *, size_t), char ***out, size_t *n,
    char *err, size_t errlen)
{
	const json_t *a = json_object_get(doc, field), *v;
	char msg[400], **list = NULL;
	size_t i, k;

	*out = NULL;
	*n = 0;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > APW_LIST_MAX) {
		snprintf(err, errlen, "%s: not an array of at most %d strings",
		    field, APW_LIST_MAX);
		return VG_ERR_INVAL;
	}
	if ((list = calloc(json_array_size(a) + 1, sizeof(*list))) == NULL)
		return VG_ERR_NOMEM;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			snprintf(err, errlen, "%s[%zu]: not a string", field, i);
			goto invalid;
		}
		if (check(json_string_value(v), msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "%s[%zu]: %s", field, i, msg);
			goto invalid;
		}
		if ((list[i] = strdup(json_string_value(v))) == NULL) {
			strings_free(list, i);
			return VG_ERR_NOMEM;
		}
	}
	*n = json_array_size(a);
	if (*n > 0) {
		qsort(list, *n, sizeof(*list), str_cmp);
		for (i = 1, k = 1; i < *n; i++) {
			if (strcmp(list[i], list[k - 1]) == 0)
				free(list[i]);
			else
				list[k++] = list[i];
		}
		*n = k;
	}
	*out = list;
	return 0;
invalid:
	strings_free(list, i);
	return VG_ERR_INVAL;
}

/* A root as item paths start: the short hive name, no trailing
 * backslash ("C:\" is "C:"). */
static char *
root_of(const char *path, int registry)
{
	static const struct {
		const char *longer, *shorter;
	} hives[] = {
		{ "HKEY_LOCAL_MACHINE", "HKLM" },
		{ "HKEY_USERS", "HKU" },
	};
	size_t n = strcspn(path, "\\"), i, len;
	char *r = NULL;

	for (i = 0; registry && i < sizeof(hives) / sizeof(hives[0]); i++)
		if (n == strlen(hives[i].longer) &&
		    strncasecmp(path, hives[i].longer, n) == 0) {
			if (asprintf(&r, "%s%s", hives[i].shorter, path + n) <
			    0)
				return NULL;
			break;
		}
	if (r == NULL && (r = strdup(path)) == NULL)
		return NULL;
	len = strlen(r);
	while (len > 0 && r[len - 1] == '\\')
		r[--len] = '\0';
	return r;
}

static int
key_check(const char *s, char *err, size_t errlen)
{
	return proxy_win_key_check(s, err, errlen);
}

static int
file_check(const char *s, char *err, size_t errlen)
{
	return proxy_win_file_check(s, err, errlen);
}

/* The scope of a policy document (the hub checked it; a bad one is
 * refused all the same, naming the field). */
static int
scope_parse(const json_t *doc, struct apw_scope *s, char *err,
    size_t errlen)
{
	const json_t *v;
	uint64_t size;
	size_t i;
	int r, k;

	memset(s, 0, sizeof(*s));
	s->depth = APW_DEPTH_DEFAULT;
	if ((r = strings_get(doc, "registry", key_check, &s->keys, &s->nkeys,
	    err, errlen)) != 0 ||
	    (r = strings_get(doc, "windows_files", file_check, &s->files,
	    &s->nfiles, err, errlen)) != 0 ||
	    (r = strings_get(doc, "windows_include", glob_check, &s->include,
	    &s->ninclude, err, errlen)) != 0 ||
	    (r = strings_get(doc, "windows_exclude", glob_check, &s->exclude,
	    &s->nexclude, err, errlen)) != 0)
		goto fail;
	if ((v = json_object_get(doc, "registry_depth")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > PROXY_WIN_DEPTH_MAX) {
			snprintf(err, errlen, "registry_depth: not a number "
			    "from 0 to %d", PROXY_WIN_DEPTH_MAX);
			r = VG_ERR_INVAL;
			goto fail;
		}
		s->depth = (unsigned int)json_integer_value(v);
	}
	s->hash = VG_HASH_SHA256;
	if ((v = json_object_get(doc, "hash")) != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || vg_hash_parse(json_string_value(v),
		    &s->hash) != 0 || s->hash == VG_HASH_NONE ||
		    vg_hash_is_weak(s->hash)) {
			snprintf(err, errlen, "hash: not a strong hash "
			    "algorithm");
			r = VG_ERR_INVAL;
			goto fail;
		}
	}
	if ((v = json_object_get(doc, "max_hash_size")) != NULL &&
	    !json_is_null(v)) {
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			s->max_hash_size = (uint64_t)json_integer_value(v);
		else if (json_is_string(v) &&
		    vg_parse_size(json_string_value(v), &size) == 0)
			s->max_hash_size = size;
		else {
			snprintf(err, errlen, "max_hash_size: not a size "
			    "(bytes, or a number with K, M, G, T)");
			r = VG_ERR_INVAL;
			goto fail;
		}
	}
	for (k = 0; k < 2; k++) {
		char **from = k == 0 ? s->keys : s->files;
		size_t n = k == 0 ? s->nkeys : s->nfiles;

		if ((s->roots[k] = calloc(n + 1, sizeof(char *))) == NULL)
			goto nomem;
		for (i = 0; i < n; i++)
			if ((s->roots[k][i] = root_of(from[i], k == 0)) ==
			    NULL)
				goto nomem;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	r = VG_ERR_NOMEM;
fail:
	scope_clear(s);
	return r;
}

/* The scope's text as the device's meta keeps it, to see at the next
 * collection what widened or narrowed: malloc'd, NULL out of memory. */
static char *
scope_text(const struct apw_scope *s)
{
	json_t *o, *a;
	char *text = NULL;
	size_t i, k;
	static const char *const names[] = { "registry", "windows_files",
		"windows_include", "windows_exclude" };
	char **const lists[] = { s->keys, s->files, s->include, s->exclude };
	const size_t counts[] = { s->nkeys, s->nfiles, s->ninclude,
		s->nexclude };

	if ((o = json_pack("{s:I}", "registry_depth", (json_int_t)s->depth)) ==
	    NULL)
		return NULL;
	for (k = 0; k < 4; k++) {
		if ((a = json_array()) == NULL ||
		    json_object_set_new(o, names[k], a) != 0)
			goto out;
		for (i = 0; i < counts[k]; i++)
			if (json_array_append_new(a,
			    json_string(lists[k][i])) != 0)
				goto out;
	}
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
out:
	json_decref(o);
	return text;
}

/* ---- which items a scope takes in ---- */

/* The part of path below root (at its end, or at a backslash), or NULL
 * when path is not at or under root. ASCII case-insensitive, as Windows
 * names are. */
static const char *
below(const char *root, const char *path)
{
	size_t n = strlen(root);

	if (strncasecmp(root, path, n) != 0)
		return NULL;
	/* A drive's root "C:\\" ends with the backslash: what is below
	 * it starts right after, and the rest starts at that backslash
	 * (as it does below any other root) for the level count. */
	if (n > 0 && root[n - 1] == '\\')
		return path[n] == '\0' ? path + n : path + n - 1;
	if (path[n] != '\0' && path[n] != '\\')
		return NULL;
	return path + n;
}

/* Whether a glob of list matches path. */
static int
matches(char *const *list, size_t n, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (proxy_win_glob(list[i], path))
			return 1;
	return 0;
}

/*
 * 1 when the walk s describes records it: under one of its roots, no
 * deeper than its depth allows (a key `depth` levels below a named key,
 * a value of such a key, an entry of a folder `depth` levels below a
 * named folder), neither it nor a key or folder above it (from the root
 * down) excluded, and included when there are includes. A value whose
 * name holds a backslash counts one level deeper per backslash: this
 * only errs towards silence when the options change.
 */
static int
scope_covers(const struct apw_scope *s, const struct vg_item *it)
{
	int files = it->kind == VG_KIND_FILE;
	char **roots = s->roots[files], *buf = NULL;
	size_t nroots = files ? s->nfiles : s->nkeys, i, levels, limit, cut;
	const char *rest, *p;
	int covered = 0, excluded;
	char c;

	if (s->ninclude > 0 && !matches(s->include, s->ninclude, it->path))
		return 0;
	if (matches(s->exclude, s->nexclude, it->path))
		return 0;
	for (i = 0; i < nroots && !covered; i++) {
		if ((rest = below(roots[i], it->path)) == NULL)
			continue;
		for (levels = 0, p = rest; *p != '\0'; p++)
			levels += *p == '\\';
		limit = it->kind == VG_KIND_REGKEY ? s->depth : s->depth + 1;
		if (levels > limit)
			continue;
		if (s->nexclude == 0)
			return 1;
		/* the keys or folders walked down to it, from the root */
		if ((buf = strdup(it->path)) == NULL)
			return 1;            /* rather a change than none */
		excluded = 0;
		for (p = rest; *p != '\0' && !excluded; p++) {
			if (*p != '\\')
				continue;
			/* a drive's root keeps its backslash: "C:\\" */
			cut = (size_t)(p - it->path) + (p == rest &&
			    (size_t)(p - it->path) + 1 == strlen(roots[i]));
			c = buf[cut];
			buf[cut] = '\0';
			excluded = matches(s->exclude, s->nexclude, buf);
			buf[cut] = c;
		}
		free(buf);
		buf = NULL;
		covered = !excluded;
	}
	return covered;
}

/* ---- the comparison ---- */

/* Whether the n sorted strings of v hold the len bytes of s exactly. */
static int
sorted_has(char *const *v, size_t n, const char *s, size_t len)
{
	size_t lo = 0, hi = n, mid, k;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		k = strlen(v[mid]);
		c = memcmp(s, v[mid], len < k ? len : k);
		if (c == 0)
			c = len < k ? -1 : len > k ? 1 : 0;
		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* At or below a path the host could not read this time: the item's
 * path, or one of the paths above it, among the sorted unread ones. */
static int
view_unread(void *arg, const struct vg_item *it)
{
	const struct apw_view *v = arg;
	size_t i;

	if (v->nunread == 0)
		return 0;
	/* A prefix ending before a '\\', or with one: a drive's root
	 * "C:\\" is the only path that ends with it, and what is below
	 * an unread "C:\\" is "C:\\x", not "C:\\\\x". */
	for (i = 1; i <= it->path_len; i++)
		if ((i == it->path_len || it->path[i] == '\\' ||
		    it->path[i - 1] == '\\') &&
		    sorted_has(v->unread, v->nunread, it->path, i))
			return 1;
	return 0;
}

static int
view_covered(void *arg, int was, const struct vg_item *it)
{
	const struct apw_view *v = arg;
	const struct apw_scope *s = was ? v->was : v->now;

	if (!v->scope_changed || s == NULL)
		return 1;
	return scope_covers(s, it);
}

/* The items of a result are sorted and unique (proxy/windows.h); the
 * walk over them and the baseline relies on it. */
static int
result_check(struct aps *a, struct vg_item *const *v, size_t n,
    enum vg_item_kind kind, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i] == NULL || v[i]->kind != kind)
			return aps_err(a, VG_ERR_INTERNAL, "the host's %s: "
			    "item %zu is of another kind", what, i);
		if (i > 0 && vg_item_path_cmp(v[i - 1], v[i]) >= 0)
			return aps_err(a, VG_ERR_INTERNAL, "the host's %s "
			    "are not sorted at %.200s", what, v[i]->path);
	}
	return 0;
}

/* The unread path a problem line is about ("PATH: what"), or NULL. */
static const char *
problem_path(const struct proxy_win_result *res, const char *problem)
{
	size_t i, n;

	for (i = 0; i < res->nunread; i++) {
		n = strlen(res->unread[i]);
		if (strncmp(problem, res->unread[i], n) == 0 &&
		    problem[n] == ':')
			return res->unread[i];
	}
	return NULL;
}

/*
 * The result's problems that the last collection did not have, as
 * collect-error agent events; the set of this one kept for the next
 * (meta "problems", with the batch).
 */
static int
report_problems(struct aps *a, const struct proxy_win_result *res)
{
	char *text = NULL, *now_text = NULL;
	json_t *was = NULL, *now = NULL, *v;
	size_t i, k;
	int r, seen;

	if ((r = aps_meta_get(a, "problems", &text)) != 0)
		return r;
	if (text != NULL && ((was = json_loads(text, 0, NULL)) == NULL ||
	    !json_is_array(was))) {
		json_decref(was);
		was = NULL;          /* unreadable: said again */
	}
	if ((now = json_array()) == NULL) {
		r = aps_err(a, VG_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < res->nproblems; i++) {
		seen = 0;
		json_array_foreach(now, k, v)
			if (strcmp(json_string_value(v), res->problems[i]) ==
			    0)
				seen = 1;
		if (seen)
			continue;    /* twice in one result */
		json_array_foreach(was, k, v)
			if (json_is_string(v) && strcmp(json_string_value(v),
			    res->problems[i]) == 0)
				seen = 1;
		if (!seen && (r = aps_agent_event(a, "collect-error",
		    problem_path(res, res->problems[i]), "%s",
		    res->problems[i])) != 0)
			goto out;
		if (json_array_size(now) < APW_PROBLEMS_MAX &&
		    json_array_append_new(now,
		    json_string(res->problems[i])) != 0) {
			r = aps_err(a, VG_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if ((now_text = json_dumps(now, JSON_COMPACT)) == NULL) {
		r = aps_err(a, VG_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = aps_meta_put(a, 1, "problems", now_text);
out:
	free(text);
	free(now_text);
	json_decref(was);
	json_decref(now);
	return r;
}

/* The scope of the last collection, or none (*s zeroed, 1) when it was
 * not kept or cannot be read. */
static int
scope_was(struct aps *a, const char *text, struct apw_scope *s)
{
	char msg[256];
	json_t *doc;
	int r;

	memset(s, 0, sizeof(*s));
	if (text == NULL)
		return 1;
	if ((doc = json_loads(text, 0, NULL)) == NULL)
		return 1;
	r = scope_parse(doc, s, msg, sizeof(msg));
	json_decref(doc);
	if (r == VG_ERR_NOMEM)
		return aps_err(a, r, "out of memory");
	return r == 0 ? 0 : 1;
}

/* In one transaction: the events of res against the baseline, and the
 * baseline changes they stand for. */
static int
compare_all(struct aps *a, const struct apw_scope *now,
    const struct proxy_win_result *res)
{
	struct apw_scope was;
	struct apw_view v;
	struct aps_view view = { view_unread, view_covered, &v };
	char *was_text = NULL, *now_text = NULL, *known = NULL;
	int r, have_was = 1;

	memset(&was, 0, sizeof(was));
	memset(&v, 0, sizeof(v));
	if ((r = result_check(a, res->keys, res->nkeys, VG_KIND_REGKEY,
	    APW_KEYS)) != 0 || (r = result_check(a, res->values,
	    res->nvalues, VG_KIND_REGVALUE, APW_VALUES)) != 0 ||
	    (r = result_check(a, res->files, res->nfiles, VG_KIND_FILE,
	    "files")) != 0)
		return r;
	if ((now_text = scope_text(now)) == NULL)
		return aps_err(a, VG_ERR_NOMEM, "out of memory");
	if ((r = aps_begin(a)) != 0) {
		free(now_text);
		return r;
	}
	if ((r = aps_meta_get(a, "scope", &was_text)) != 0 ||
	    (r = aps_meta_get(a, "known:" APW_KEYS, &known)) != 0 ||
	    (have_was = scope_was(a, was_text, &was)) < 0) {
		if (r == 0)
			r = have_was;
		goto fail;
	}
	if (res->nunread > 0) {
		if ((v.unread = calloc(res->nunread, sizeof(*v.unread))) ==
		    NULL) {
			r = aps_err(a, VG_ERR_NOMEM, "out of memory");
			goto fail;
		}
		memcpy(v.unread, res->unread, res->nunread *
		    sizeof(*v.unread));
		qsort(v.unread, res->nunread, sizeof(*v.unread), str_cmp);
		v.nunread = res->nunread;
	}
	v.now = now;
	v.was = have_was == 0 ? &was : NULL;
	v.scope_changed = was_text == NULL || strcmp(was_text, now_text) != 0;
	if ((r = report_problems(a, res)) != 0 ||
	    (r = aps_compare_kind(a, VG_KIND_REGKEY, APW_KEYS, res->keys,
	    res->nkeys, &view)) != 0 ||
	    (r = aps_compare_kind(a, VG_KIND_REGVALUE, APW_VALUES,
	    res->values, res->nvalues, &view)) != 0 ||
	    (r = aps_compare_kind(a, VG_KIND_FILE, APW_FILES, res->files,
	    res->nfiles, &view)) != 0)
		goto fail;
	if (known == NULL && (r = aps_agent_event(a, "baseline", NULL,
	    "baseline of %zu registry keys, %zu registry values and %zu "
	    "files created", res->nkeys, res->nvalues, res->nfiles)) != 0)
		goto fail;
	if ((r = aps_meta_put(a, 1, "scope", now_text)) != 0)
		goto fail;
	r = aps_commit(a);
	goto out;
fail:
	aps_rollback(a);
out:
	free(v.unread);
	scope_clear(&was);
	free(was_text);
	free(now_text);
	free(known);
	return r;
}

/* ---- the host ---- */

/*
 * libsmbclient uses GnuTLS (its crypto and its checks of what it
 * allows), and vigil-agent skips GnuTLS's initialisation at load time
 * (agent/main.c): without it libsmbclient crashes on its first logon.
 * It is done once, by the first Windows collection, so agents that
 * collect none do without it.
 */
static pthread_once_t gnutls_once = PTHREAD_ONCE_INIT;
static int gnutls_status;

static void
gnutls_start(void)
{
	gnutls_status = gnutls_global_init();
}

static int
win_source(void *arg, const struct proxy_target *t,
    const struct proxy_credentials *cred, const struct proxy_win_opts *o,
    unsigned int timeout_ms, struct proxy_win_result **out, char *err,
    size_t errlen)
{
	(void)arg;
	if (pthread_once(&gnutls_once, gnutls_start) != 0 ||
	    gnutls_status != GNUTLS_E_SUCCESS) {
		snprintf(err, errlen, "cannot initialise GnuTLS for SMB: %s",
		    gnutls_strerror(gnutls_status));
		return VG_ERR_CRYPTO;
	}
	return proxy_win_collect(t, cred, o, timeout_ms, out, err, errlen);
}

int
apw_collect_from(const char *data_dir, aps_send_fn send, void *arg,
    apw_source_fn source, void *source_arg, const json_t *dev,
    const struct proxy_target *t, const struct proxy_credentials *cred,
    unsigned int timeout_ms, const char **code, char *err, size_t errlen)
{
	struct aps a;
	struct apw_scope s;
	struct proxy_win_opts o;
	struct proxy_win_result *res = NULL;
	const json_t *id, *pol;
	json_t *empty = NULL;
	char msg[512];
	int r;

	memset(&a, 0, sizeof(a));
	memset(&s, 0, sizeof(s));
	a.err = err;
	a.errlen = errlen;
	err[0] = '\0';
	*code = "other";
	id = json_object_get(dev, "id");
	pol = json_object_get(dev, "policy");
	if (!json_is_integer(id) || json_integer_value(id) < 1)
		return aps_err(&a, VG_ERR_INVAL, "device: no id");
	if (!json_is_object(pol) && (pol = empty = json_object()) == NULL)
		return aps_err(&a, VG_ERR_NOMEM, "out of memory");
	r = scope_parse(pol, &s, msg, sizeof(msg));
	json_decref(empty);
	if (r != 0)
		return aps_err(&a, r, "policy: %s", msg);
	if ((r = aps_open(&a, data_dir, (int64_t)json_integer_value(id),
	    "windows", err, errlen)) != 0)
		goto out;
	/* what the hub has not acknowledged goes first, and only then may
	 * the baseline move */
	if ((r = aps_send_pending(&a, send, arg)) != 0 ||
	    (r = aps_apply_pending(&a)) != 0)
		goto out;
	memset(&o, 0, sizeof(o));
	o.keys = s.keys;
	o.nkeys = s.nkeys;
	o.files = s.files;
	o.nfiles = s.nfiles;
	o.depth = s.depth;
	o.include = s.include;
	o.ninclude = s.ninclude;
	o.exclude = s.exclude;
	o.nexclude = s.nexclude;
	o.hash = s.hash;
	o.max_hash_size = s.max_hash_size;
	msg[0] = '\0';
	if ((r = source(source_arg, t, cred, &o, timeout_ms, &res, msg,
	    sizeof(msg))) != 0) {
		*code = aps_code(r);
		aps_err(&a, r, "%s", msg[0] != '\0' ? msg : vg_strerror(r));
		goto out;
	}
	if ((r = compare_all(&a, &s, res)) != 0 ||
	    (r = aps_send_pending(&a, send, arg)) != 0 ||
	    (r = aps_apply_pending(&a)) != 0)
		goto out;
out:
	proxy_win_result_free(res);
	aps_close(&a);
	scope_clear(&s);
	return r;
}

int
apw_collect_with(const char *data_dir, aps_send_fn send, void *arg,
    const json_t *dev, const struct proxy_target *t,
    const struct proxy_credentials *cred, unsigned int timeout_ms,
    const char **code, char *err, size_t errlen)
{
	return apw_collect_from(data_dir, send, arg, win_source, NULL, dev, t,
	    cred, timeout_ms, code, err, errlen);
}

int
apw_collect(const char *data_dir, struct hc *hc, const json_t *dev,
    const struct proxy_target *t, const struct proxy_credentials *cred,
    unsigned int timeout_ms, const char **code, char *err, size_t errlen)
{
	return apw_collect_with(data_dir, aps_hc_send, hc, dev, t, cred,
	    timeout_ms, code, err, errlen);
}

void
apw_forget(const char *data_dir, int64_t device_id)
{
	aps_forget(data_dir, device_id);
}
