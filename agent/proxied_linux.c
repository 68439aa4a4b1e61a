/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Linux hosts over SSH for the proxy agent (proxied_linux.h): run the
 * collection script of proxy/linux.h, compare with the device's baseline,
 * send the events, and move the baseline once the hub has them.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "collect.h"
#include "collect_int.h"
#include "linux.h"
#include "monitor.h"
#include "proxied_linux.h"
#include "proxied_store.h"
#include "vg_diff.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_json.h"
#include "vg_scan.h"
#include "vg_util.h"

#define APL_COMMAND "LC_ALL=C exec /bin/sh -s"

/* The system kinds a Linux host gives over SSH (sysctl and commands are
 * the local agent's only). */
static const struct {
	unsigned collect, proxy;
	enum vg_item_kind kind;
	const char *name;
} sys_kinds[] = {
	{ COLLECT_PACKAGES, PROXY_LINUX_PACKAGES, VG_KIND_PACKAGE, "packages" },
	{ COLLECT_SERVICES, PROXY_LINUX_SERVICES, VG_KIND_SERVICE, "services" },
	{ COLLECT_USERS, PROXY_LINUX_USERS, VG_KIND_USER, "users" },
	{ COLLECT_GROUPS, PROXY_LINUX_GROUPS, VG_KIND_GROUP, "groups" },
	{ COLLECT_PORTS, PROXY_LINUX_PORTS, VG_KIND_PORT, "ports" },
};
#define NSYS (sizeof(sys_kinds) / sizeof(sys_kinds[0]))

/* ---- files ---- */

struct file_ctx {
	struct aps *a;
	const struct agent_policy *p;
	struct vg_rules *old_rules;   /* the baseline's, NULL: none */
	const struct proxy_linux_result *res;
	int known;
};

static int
str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static int
tracked(const struct agent_policy *p, const struct vg_item *it)
{
	const char *path = it->path;

	return p->ncontent > 0 && strlen(path) == it->path_len &&
	    bsearch(&path, p->content, p->ncontent, sizeof(char *),
	    str_cmp) != NULL;
}

static int
blob_name_cmp(const void *x, const void *y)
{
	return strcmp(((const struct proxy_linux_blob *)x)->name,
	    ((const struct proxy_linux_blob *)y)->name);
}

/* The content the host sent for a file (sorted by path). */
static const struct proxy_linux_blob *
content_of(const struct proxy_linux_result *res, const struct vg_item *it)
{
	struct proxy_linux_blob key;

	memset(&key, 0, sizeof(key));
	key.name = (char *)it->path;
	return res->ncontent == 0 ? NULL : bsearch(&key, res->content,
	    res->ncontent, sizeof(*res->content), blob_name_cmp);
}

static int
refused_once(struct aps *a, const struct vg_item *it)
{
	sqlite3_stmt *st = NULL;
	int r = 0, fresh = 0;

	if (sqlite3_prepare_v2(a->db, "INSERT OR IGNORE INTO refused "
	    "VALUES(?)", -1, &st, NULL) != SQLITE_OK)
		return aps_db_err(a, "refused");
	sqlite3_bind_blob(st, 1, it->path, (int)it->path_len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = aps_db_err(a, "refused");
	else
		fresh = sqlite3_changes(a->db) > 0;
	sqlite3_finalize(st);
	if (r == 0 && fresh)
		r = aps_agent_event(a, "content-refused", it->path, "%s is not "
		    "readable by everyone: its content is not sent to the hub",
		    it->path);
	return r;
}

/*
 * The content side of one file: the diff of a changed tracked file
 * whose last content is known, and the content kept for the next
 * comparison. it is the new state (NULL: gone), c the change or NULL.
 */
static int
file_content(struct file_ctx *x, const struct vg_item *it,
    const struct vg_item *old, struct vg_change *c)
{
	const struct vg_item *any = it != NULL ? it : old;
	const struct proxy_linux_blob *b = NULL;
	struct vg_diff_opts opts;
	struct vg_diff_result res;
	sqlite3_stmt *st = NULL;
	int r = 0, found = 0;

	if (!tracked(x->p, any))
		return 0;
	if (it != NULL && it->ftype == VG_FT_REG) {
		if (!(it->mode & S_IROTH)) {
			if ((r = refused_once(x->a, it)) != 0)
				return r;
		} else
			b = content_of(x->res, it);
	}
	if (sqlite3_prepare_v2(x->a->db, "SELECT data FROM content WHERE "
	    "path = ?", -1, &st, NULL) != SQLITE_OK)
		return aps_db_err(x->a, "content");
	sqlite3_bind_blob(st, 1, any->path, (int)any->path_len,
	    SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = 1;
		if (b != NULL && c != NULL && c->type == VG_CHANGE_CHANGED &&
		    (c->changed & VG_A_HASH)) {
			vg_diff_opts_default(&opts);
			memset(&res, 0, sizeof(res));
			if ((r = vg_diff_unified(sqlite3_column_blob(st, 0),
			    (size_t)sqlite3_column_bytes(st, 0),
			    (const char *)b->data, b->len, any->path,
			    any->path, &opts, &res)) == 0 && res.len > 0) {
				c->diff = res.text;
				c->diff_truncated = res.truncated;
				res.text = NULL;
			}
			vg_diff_result_free(&res);
		}
		if (r == 0 && b != NULL && ((size_t)sqlite3_column_bytes(st,
		    0) != b->len || memcmp(sqlite3_column_blob(st, 0) ?
		    sqlite3_column_blob(st, 0) : "", b->data, b->len) != 0))
			found = 0;   /* to be replaced */
	}
	sqlite3_finalize(st);
	if (r != 0)
		return aps_err(x->a, r, "diff of %.200s: %s", any->path,
		    vg_strerror(r));
	if (b != NULL && !found)
		return aps_put_content(x->a, any->path, any->path_len, b->data,
		    b->len);
	if (b == NULL && found)
		return aps_put_content(x->a, any->path, any->path_len, NULL, 0);
	return 0;
}

/* One step of the walk over the old and new files. */
static int
file_step(struct file_ctx *x, struct vg_item *old, struct vg_item *it)
{
	const struct vg_item *any = it != NULL ? it : old;
	struct vg_change c;
	int r = 0, report = 0;
	uint32_t ignore;

	memset(&c, 0, sizeof(c));
	c.old = old;
	c.new = it;
	if (old == NULL) {
		c.type = VG_CHANGE_ADDED;
		/* widened policy: no flood of "added" */
		report = x->old_rules == NULL || vg_scan_covers(x->old_rules,
		    it->path, it->path_len, it->ftype == VG_FT_DIR) == 1;
	} else if (it == NULL) {
		c.type = VG_CHANGE_REMOVED;
		report = x->p->rules == NULL || vg_scan_covers(x->p->rules,
		    old->path, old->path_len, old->ftype == VG_FT_DIR) == 1;
	} else {
		c.type = VG_CHANGE_CHANGED;
		ignore = vg_scan_ignore_mask(old->ftype == it->ftype ?
		    it->ftype : VG_FT_NONE, x->p->rules->ignore);
		c.changed = vg_item_diff(old, it, ignore);
		report = c.changed != 0;
	}
	report = report && x->known;
	if ((r = file_content(x, it, old, report ? &c : NULL)) == 0 &&
	    report)
		r = aps_change_event(x->a, &c);
	free(c.diff);
	if (r == 0 && (old == NULL || it == NULL || !aps_same_packed(old, it)))
		r = aps_put_item(x->a, VG_KIND_FILE, it, any);
	return r;
}

static int
compare_files(struct aps *a, const struct agent_policy *p,
    const struct proxy_linux_result *res)
{
	struct file_ctx x = { a, p, NULL, res, 0 };
	struct vg_item **old = NULL;
	char *rules_text = NULL, *now_text = NULL, msg[512];
	size_t nold = 0, i = 0, j = 0;
	int c, r;

	if ((r = aps_meta_get(a, "rules", &rules_text)) != 0 ||
	    (r = aps_load_items(a, VG_KIND_FILE, &old, &nold)) != 0)
		goto out;
	x.known = rules_text != NULL;
	if (rules_text != NULL && strcmp(rules_text, "") != 0 &&
	    (vg_rules_new(&x.old_rules) != 0 || vg_rules_parse(x.old_rules,
	    rules_text, strlen(rules_text), "stored rules", msg,
	    sizeof(msg)) != 0 || vg_rules_finish(x.old_rules, msg,
	    sizeof(msg)) != 0)) {
		/* unreadable old rules: compare without widening */
		vg_rules_free(x.old_rules);
		x.old_rules = NULL;
	}
	while (r == 0 && (i < nold || j < res->nfiles)) {
		if (i >= nold)
			c = 1;
		else if (j >= res->nfiles)
			c = -1;
		else
			c = vg_item_path_cmp(old[i], res->files[j]);
		if (c < 0)
			r = file_step(&x, old[i++], NULL);
		else if (c > 0)
			r = file_step(&x, NULL, res->files[j++]);
		else
			r = file_step(&x, old[i++], res->files[j++]);
	}
	if (r != 0)
		goto out;
	if (!x.known && (r = aps_agent_event(a, "baseline", NULL, "baseline of "
	    "%zu items created", res->nfiles)) != 0)
		goto out;
	if ((now_text = vg_rules_serialize(p->rules)) == NULL) {
		r = aps_err(a, VG_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = aps_meta_put(a, 1, "rules", now_text);
out:
	vg_rules_free(x.old_rules);
	free(rules_text);
	free(now_text);
	col_items_free(old, nold);
	return r;
}

/* ---- system configuration ---- */

static char *
section(const struct proxy_linux_result *res, const char *name,
    size_t *len)
{
	const struct proxy_linux_blob *b = proxy_linux_section(res, name);

	*len = b != NULL ? b->len : 0;
	return b != NULL ? (char *)b->data : NULL;
}

/* The items of one kind from the host's sections; *have 0 when the host
 * sent nothing to tell (the stored state then stays). */
static int
sys_set(unsigned bit, const struct proxy_linux_result *res,
    struct col_set *s, int *have)
{
	char *a, *b, *tables[4];
	size_t la, lb, lens[4], lf;
	static const char *const tn[4] = { "tcp", "tcp6", "udp", "udp6" };
	int i;

	*have = 0;
	switch (bit) {
	case PROXY_LINUX_PACKAGES:
		a = section(res, "dpkg", &la);
		b = section(res, "rpm", &lb);
		if (a == NULL && b == NULL)
			return 0;
		*have = 1;
		if (a != NULL && (i = col_dpkg_parse(a, la, s)) != 0)
			return i;
		return b != NULL ? col_rpm_parse(b, lb, s) : 0;
	case PROXY_LINUX_USERS:
		if ((a = section(res, "passwd", &la)) == NULL)
			return 0;
		*have = 1;
		b = section(res, "shadow", &lb);
		return col_users_parse(a, la, b, lb, s);
	case PROXY_LINUX_GROUPS:
		if ((a = section(res, "group", &la)) == NULL)
			return 0;
		*have = 1;
		b = section(res, "gshadow", &lb);
		return col_groups_parse(a, la, b, lb, s);
	case PROXY_LINUX_SERVICES:
		if ((a = section(res, "unit_files", &la)) == NULL ||
		    (b = section(res, "units", &lb)) == NULL)
			return 0;
		*have = 1;
		return col_services_parse(a, la, b, lb, s);
	case PROXY_LINUX_PORTS:
		for (i = 0; i < 4; i++)
			if ((tables[i] = section(res, tn[i], &lens[i])) != NULL)
				*have = 1;
		if (!*have)
			return 0;
		a = section(res, "passwd", &la);
		b = section(res, "fds", &lf);
		return col_ports_parse(tables, lens, b, lf,
		    section(res, "comms", &lb), a, s);
	}
	return 0;
}

static int
compare_system(struct aps *a, const struct agent_policy *p,
    const struct proxy_linux_result *res)
{
	struct vg_item **items = NULL;
	struct col_set s;
	size_t k, i;
	int have, r = 0;

	for (k = 0; r == 0 && k < NSYS; k++) {
		if (!(p->collect & sys_kinds[k].collect))
			continue;
		memset(&s, 0, sizeof(s));
		if ((r = sys_set(sys_kinds[k].proxy, res, &s, &have)) != 0)
			r = aps_err(a, r, "%s: %s", sys_kinds[k].name,
			    vg_strerror(r));
		else if (have) {
			col_set_sort(&s);
			if ((items = calloc(s.n + 1, sizeof(*items))) == NULL)
				r = aps_err(a, VG_ERR_NOMEM, "out of memory");
			for (i = 0; items != NULL && i < s.n; i++)
				items[i] = s.e[i].it;
			if (r == 0)
				r = aps_compare_kind(a, sys_kinds[k].kind,
				    sys_kinds[k].name, items, s.n, NULL);
			free(items);
			items = NULL;
		}
		col_set_free(&s);
	}
	return r;
}

/* In one transaction: the events of res against the baseline, and the
 * baseline changes they stand for. */
static int
compare_all(struct aps *a, const struct agent_policy *p,
    const struct proxy_linux_result *res, const char *policy_version)
{
	char *pv = NULL;
	size_t i;
	int r;

	if ((r = aps_begin(a)) != 0)
		return r;
	if ((r = aps_meta_get(a, "policy_version", &pv)) != 0)
		goto fail;
	/* content-refused is said once per path and policy */
	if ((pv == NULL || strcmp(pv, policy_version) != 0) &&
	    ((r = aps_exec(a, "DELETE FROM refused")) != 0 ||
	    (r = aps_meta_put(a, 0, "policy_version", policy_version)) != 0))
		goto fail;
	for (i = 0; i < res->nproblems; i++)
		if ((r = aps_agent_event(a, "collect-error", NULL, "%s",
		    res->problems[i])) != 0)
			goto fail;
	if (p->rules != NULL && (r = compare_files(a, p, res)) != 0)
		goto fail;
	if ((r = compare_system(a, p, res)) != 0)
		goto fail;
	free(pv);
	return aps_commit(a);
fail:
	free(pv);
	aps_rollback(a);
	return r;
}

/* ---- the host ---- */
/* ---- the host ---- */

/* The policy's "sudo" (linux devices). */
static int
policy_sudo(const struct agent_policy *p)
{
	return json_is_true(json_object_get(p->doc, "sudo"));
}

static int
random_marker(char *buf, size_t len)
{
	unsigned char rnd[12];
	char hex[25];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return VG_ERR_IO;
	vg_hex_encode(rnd, sizeof(rnd), hex);
	snprintf(buf, len, "[vigil-sudo-%s]", hex);
	return 0;
}

static void
clean_tail(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = ' ';
	vg_trim(s);
}

/* Runs the script on the host: *out the parsed output (the caller
 * frees it). */
static int
run_host(struct aps *a, const struct proxy_linux_opts *lo,
    const struct proxy_target *t, const struct proxy_credentials *cred,
    unsigned int timeout_ms, double start, char *fp, const char **code,
    struct proxy_linux_result **out)
{
	struct proxy_linux_parser *pp = NULL;
	struct proxy_ssh *ssh = NULL;
	const char *sudo_pw = NULL;
	char *script = NULL, errout[4096] = "", msg[512] = "";
	const char *sep;
	double left;
	size_t slen;
	int r, status = -1;

	*out = NULL;
	*code = "other";
	if ((r = proxy_linux_script(lo, &script, &slen, msg,
	    sizeof(msg))) != 0)
		return aps_err(a, r, "%s", msg);
	if (lo->sudo_marker != NULL)
		sudo_pw = cred->enable_secret != NULL &&
		    cred->enable_secret[0] != '\0' ? cred->enable_secret :
		    cred->password;
	if ((r = proxy_linux_parser_new(lo, &pp)) != 0) {
		r = aps_err(a, r, "out of memory");
		goto out;
	}
	if ((r = proxy_ssh_connect(t, cred, &ssh, fp, msg, sizeof(msg))) !=
	    0) {
		*code = aps_code(r);
		r = aps_err(a, r, "%s", msg);
		goto out;
	}
	left = timeout_ms / 1000.0 - (vg_now() - start);
	if (left < 1)
		left = 1;
	r = proxy_ssh_run(ssh, APL_COMMAND, script, slen,
	    proxy_linux_parser_feed, pp, sudo_pw != NULL ? lo->sudo_marker :
	    NULL, sudo_pw, errout, sizeof(errout), &status,
	    (unsigned int)(left * 1000));
	clean_tail(errout);
	sep = errout[0] != '\0' ? "; stderr: " : "";
	if (r != 0 && r == proxy_linux_parser_feed(pp, "", 0)) {
		/* the parser stopped the command */
		*code = r == VG_ERR_TOOBIG ? "other" : "protocol";
		r = aps_err(a, r, "the output of %s: %s", t->host,
		    proxy_linux_parser_error(pp));
		goto out;
	}
	if (r != 0) {
		*code = aps_code(r);
		r = aps_err(a, r, "running the collection script: %s%s%.300s",
		    vg_strerror(r), sep, errout);
		goto out;
	}
	if ((r = proxy_linux_parser_finish(pp, out, msg, sizeof(msg))) != 0) {
		*code = r == VG_ERR_INCOMPLETE ? "incomplete" : "protocol";
		if (lo->sudo && !proxy_linux_parser_started(pp))
			*code = "auth";   /* sudo refused */
		r = aps_err(a, r, "the output of %s: %s (exit status "
		    "%d)%s%.300s", t->host, msg, status, sep, errout);
		goto out;
	}
	if (lo->sudo && (*out)->euid != 0) {
		*code = "auth";
		r = aps_err(a, VG_ERR_AUTH, "sudo did not make the collection "
		    "run as root on %s (user id %ld)%s%.300s", t->host,
		    (*out)->euid, sep, errout);
		proxy_linux_result_free(*out);
		*out = NULL;
	}
out:
	free(script);
	proxy_ssh_close(ssh);
	proxy_linux_parser_free(pp);
	return r;
}

int
apl_collect_with(const char *data_dir, apl_send_fn send, void *arg,
    const json_t *dev, const struct proxy_target *t,
    const struct proxy_credentials *cred, unsigned int timeout_ms,
    char *fp, const char **code, char *err, size_t errlen)
{
	struct aps a;
	struct agent_policy *p = NULL;
	struct proxy_linux_opts lo;
	struct proxy_linux_result *res = NULL;
	const json_t *id, *pol, *pv;
	json_t *empty = NULL;
	char marker[64];
	double start = vg_now();
	size_t k;
	int r;

	memset(&a, 0, sizeof(a));
	a.err = err;
	a.errlen = errlen;
	err[0] = '\0';
	fp[0] = '\0';
	*code = "other";
	id = json_object_get(dev, "id");
	pol = json_object_get(dev, "policy");
	pv = json_object_get(dev, "policy_version");
	if (!json_is_integer(id) || json_integer_value(id) < 1)
		return aps_err(&a, VG_ERR_INVAL, "device: no id");
	if (!json_is_object(pol) && (pol = empty = json_object()) == NULL)
		return aps_err(&a, VG_ERR_NOMEM, "out of memory");
	r = agent_policy_parse(pol, json_is_string(pv) ?
	    json_string_value(pv) : "", &p, err, errlen);
	json_decref(empty);
	if (r != 0)
		return r;
	if ((r = aps_open(&a, data_dir, (int64_t)json_integer_value(id),
	    "linux", err, errlen)) != 0)
		goto out;
	/* what the hub has not acknowledged goes first, and only then may
	 * the baseline move */
	if ((r = aps_send_pending(&a, send, arg)) != 0 ||
	    (r = aps_apply_pending(&a)) != 0)
		goto out;
	memset(&lo, 0, sizeof(lo));
	lo.rules = p->rules;
	lo.content = p->content;
	lo.ncontent = p->ncontent;
	for (k = 0; k < NSYS; k++)
		if (p->collect & sys_kinds[k].collect)
			lo.system |= sys_kinds[k].proxy;
	if ((lo.sudo = policy_sudo(p))) {
		if ((cred->password != NULL && cred->password[0] != '\0') ||
		    (cred->enable_secret != NULL &&
		    cred->enable_secret[0] != '\0')) {
			if ((r = random_marker(marker, sizeof(marker))) != 0) {
				aps_err(&a, r, "no random bytes for the sudo "
				    "marker");
				goto out;
			}
			lo.sudo_marker = marker;
		}
	}
	if ((r = run_host(&a, &lo, t, cred, timeout_ms, start, fp, code,
	    &res)) != 0)
		goto out;
	*code = "other";
	if ((r = compare_all(&a, p, res, p->version)) != 0 ||
	    (r = aps_send_pending(&a, send, arg)) != 0 ||
	    (r = aps_apply_pending(&a)) != 0)
		goto out;
out:
	proxy_linux_result_free(res);
	aps_close(&a);
	agent_policy_free(p);
	return r;
}

int
apl_collect(const char *data_dir, struct hc *hc, const json_t *dev,
    const struct proxy_target *t, const struct proxy_credentials *cred,
    unsigned int timeout_ms, char *fp, const char **code, char *err,
    size_t errlen)
{
	return apl_collect_with(data_dir, aps_hc_send, hc, dev, t, cred,
	    timeout_ms, fp, code, err, errlen);
}

void
apl_forget(const char *data_dir, int64_t device_id)
{
	aps_forget(data_dir, device_id);
}
