/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "collect_int.h"
#include "vg_diff.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_json.h"
#include "vg_util.h"

/*
 * The collectors' shared parts and collect_run(): the comparison of a
 * kind's new items with the stored ones, turned into change events in
 * the same transaction that stores the new state.
 */

struct col_kind {
	unsigned bit;
	const char *name;
	enum vg_item_kind kind;
	int (*collect)(const struct collect_opts *, struct col_set *, char *,
	    size_t);
};

static const struct col_kind col_kinds[] = {
	{ COLLECT_PACKAGES, "packages", VG_KIND_PACKAGE, col_packages },
	{ COLLECT_SERVICES, "services", VG_KIND_SERVICE, col_services },
	{ COLLECT_USERS, "users", VG_KIND_USER, col_users },
	{ COLLECT_GROUPS, "groups", VG_KIND_GROUP, col_groups },
	{ COLLECT_PORTS, "ports", VG_KIND_PORT, col_ports },
	{ COLLECT_SYSCTL, "sysctl", VG_KIND_SYSCTL, col_sysctl },
	{ COLLECT_COMMANDS, "commands", VG_KIND_COMMAND, col_commands },
};

#define NKINDS (sizeof(col_kinds) / sizeof(col_kinds[0]))

/* The prefix of the content key under which a command's output is kept. */
#define COMMAND_KEY "command:"

static const struct col_kind *
kind_of(unsigned bit)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (col_kinds[i].bit == bit)
			return &col_kinds[i];
	return NULL;
}

const char *
collect_name(unsigned bit)
{
	const struct col_kind *k = kind_of(bit);

	return k != NULL ? k->name : NULL;
}

int
collect_parse(const char *name, unsigned *bit)
{
	size_t i;

	for (i = 0; i < NKINDS; i++) {
		if (strcmp(col_kinds[i].name, name) == 0) {
			*bit = col_kinds[i].bit;
			return 0;
		}
	}
	return VG_ERR_INVAL;
}

/* ---- shared by the collectors ---- */

int
col_grow(void *arr, size_t *cap, size_t n, size_t size)
{
	void **p = arr, *nv;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap == 0 ? 16 : *cap * 2;
	if ((nv = reallocarray(*p, c, size)) == NULL)
		return VG_ERR_NOMEM;
	*p = nv;
	*cap = c;
	return 0;
}

void
col_props_clear(struct col_props *pr)
{
	vg_props_free(pr->p, pr->n);
	memset(pr, 0, sizeof(*pr));
}

int
col_prop(struct col_props *pr, const char *name, const char *value)
{
	struct vg_prop *p;
	size_t n;

	if (col_grow(&pr->p, &pr->cap, pr->n, sizeof(*p)) != 0)
		return VG_ERR_NOMEM;
	p = &pr->p[pr->n];
	if ((p->name = strdup(name)) == NULL)
		return VG_ERR_NOMEM;
	/* strlen, not strndup's bound: callers pass short arrays too */
	if ((n = strlen(value)) > VG_ITEM_PATH_MAX)
		n = VG_ITEM_PATH_MAX;
	if ((p->value = malloc(n + 1)) == NULL) {
		free(p->name);
		return VG_ERR_NOMEM;
	}
	memcpy(p->value, value, n);
	p->value[n] = '\0';
	pr->n++;
	return 0;
}

int
col_propf(struct col_props *pr, const char *name, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return col_prop(pr, name, buf);
}

void
col_set_free(struct col_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		vg_item_free(s->e[i].it);
		free(s->e[i].data);
	}
	free(s->e);
	for (i = 0; i < s->np; i++)
		free(s->p[i].msg);
	free(s->p);
	memset(s, 0, sizeof(*s));
}

int
col_set_add(struct col_set *s, enum vg_item_kind kind, const char *name,
    struct col_props *pr, char *data, size_t dlen)
{
	struct vg_item *it = NULL;
	size_t len = strlen(name);
	int r = VG_ERR_NOMEM;

	if (len > VG_ITEM_PATH_MAX) {
		r = VG_ERR_TOOBIG;
		goto out;
	}
	if (col_grow(&s->e, &s->cap, s->n, sizeof(*s->e)) != 0)
		goto out;
	if ((it = vg_item_new(kind, name, len)) == NULL)
		goto out;
	/* Every item records its props, even none, so that a property
	 * appearing later compares as a change. */
	if ((r = vg_item_take_props(it, pr->p, pr->n, NULL)) != 0)
		goto out;
	memset(pr, 0, sizeof(*pr));
	it->have |= VG_A_PROPS;
	s->e[s->n].it = it;
	s->e[s->n].data = data;
	s->e[s->n].dlen = dlen;
	s->e[s->n].seq = s->n;
	s->n++;
	return 0;
out:
	vg_item_free(it);
	col_props_clear(pr);
	free(data);
	return r;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct col_entry *x = a, *y = b;
	int c = vg_item_path_cmp(x->it, y->it);

	if (c != 0)
		return c;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

void
col_set_sort(struct col_set *s)
{
	size_t i, w = 0;

	if (s->n > 1)
		qsort(s->e, s->n, sizeof(*s->e), entry_cmp);
	for (i = 0; i < s->n; i++) {
		if (w > 0 && vg_item_path_cmp(s->e[w - 1].it, s->e[i].it) == 0) {
			vg_item_free(s->e[i].it);
			free(s->e[i].data);
			continue;
		}
		s->e[w++] = s->e[i];
	}
	s->n = w;
}

int
col_problem(struct col_set *s, const char *code, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int n;

	if (col_grow(&s->p, &s->pcap, s->np, sizeof(*s->p)) != 0)
		return VG_ERR_NOMEM;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return VG_ERR_NOMEM;
	s->p[s->np].code = code;
	s->p[s->np].msg = msg;
	s->np++;
	return 0;
}

int
col_live(const struct collect_opts *o)
{
	return o->root == NULL || strcmp(o->root, "/") == 0 ||
	    o->root[0] == '\0';
}

int
col_path(const struct collect_opts *o, const char *path, char *buf,
    size_t len)
{
	int n;

	if (col_live(o))
		n = snprintf(buf, len, "%s", path);
	else
		n = snprintf(buf, len, "%s%s", o->root, path);
	return n < 0 || (size_t)n >= len ? VG_ERR_TOOBIG : 0;
}

int
col_read_fd(int fd, size_t max, char **data, size_t *len)
{
	char *buf = NULL, *nb;
	size_t cap = 0, n = 0;
	ssize_t got;

	*data = NULL;
	*len = 0;
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > max) {
				free(buf);
				return VG_ERR_TOOBIG;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				return VG_ERR_NOMEM;
			}
			buf = nb;
		}
		if ((got = read(fd, buf + n, cap - n)) == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			return vg_err_from_errno(errno);
		}
		if (got == 0)
			break;
		if ((n += (size_t)got) > max) {
			free(buf);
			return VG_ERR_TOOBIG;
		}
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

int
col_read_file(const char *path, size_t max, char **data, size_t *len)
{
	int fd, r;

	*data = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return vg_err_from_errno(errno);
	r = col_read_fd(fd, max, data, len);
	close(fd);
	return r;
}

char *
col_next_line(char *buf, size_t len, size_t *pos)
{
	char *line, *nl;

	if (*pos >= len)
		return NULL;
	line = buf + *pos;
	if ((nl = memchr(line, '\n', len - *pos)) == NULL) {
		*pos = len;
		return line;
	}
	*nl = '\0';
	*pos = (size_t)(nl - buf) + 1;
	return line;
}

char *
col_trim(char *s)
{
	size_t n;

	s += strspn(s, " \t\r");
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

size_t
col_split(char *s, char sep, char **f, size_t max)
{
	size_t n = 0;
	char *p;

	if (max == 0)
		return 0;
	f[n++] = s;
	while (n < max && (p = strchr(s, sep)) != NULL) {
		*p = '\0';
		s = p + 1;
		f[n++] = s;
	}
	return n;
}

int
col_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	int r;

	if ((r = vg_hash_buffer(VG_HASH_SHA256, data, len, md)) != 0)
		return r;
	vg_hex_encode(md, sizeof(md), hex);
	return 0;
}

void
col_items_free(struct vg_item **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		vg_item_free(v[i]);
	free(v);
}

/* ---- one kind ---- */

static int
collect_set(const struct collect_opts *o, const struct col_kind *k,
    struct col_set *s, char *err, size_t errlen)
{
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = k->collect(o, s, err, errlen)) != 0) {
		col_set_free(s);
		return r;
	}
	col_set_sort(s);
	return 0;
}

static char *
join_problems(const struct col_set *s)
{
	char *out = NULL, *nb;
	size_t len = 0, i, m;

	for (i = 0; i < s->np; i++) {
		m = strlen(s->p[i].msg);
		if ((nb = realloc(out, len + m + 3)) == NULL) {
			free(out);
			return NULL;
		}
		out = nb;
		if (len > 0) {
			memcpy(out + len, "; ", 2);
			len += 2;
		}
		memcpy(out + len, s->p[i].msg, m + 1);
		len += m;
	}
	return out;
}

int
collect_kind(const struct collect_opts *o, unsigned bit,
    struct vg_item ***items, size_t *n, char **problem, char *err,
    size_t errlen)
{
	const struct col_kind *k = kind_of(bit);
	struct vg_item **v = NULL;
	struct col_set s;
	size_t i;
	int r;

	*items = NULL;
	*n = 0;
	*problem = NULL;
	if (k == NULL) {
		snprintf(err, errlen, "collect: unknown kind bit %#x", bit);
		return VG_ERR_INVAL;
	}
	if ((r = collect_set(o, k, &s, err, errlen)) != 0)
		return r;
	if ((s.n > 0 && (v = calloc(s.n, sizeof(*v))) == NULL) ||
	    (s.np > 0 && (*problem = join_problems(&s)) == NULL)) {
		free(v);
		col_set_free(&s);
		snprintf(err, errlen, "collect %s: out of memory", k->name);
		return VG_ERR_NOMEM;
	}
	for (i = 0; i < s.n; i++) {
		v[i] = s.e[i].it;
		s.e[i].it = NULL;
	}
	*items = v;
	*n = s.n;
	col_set_free(&s);
	return 0;
}

/* ---- collect_run ---- */

/* Queues {"agent":{"code","message"}} in a transaction of its own. */
static int
agent_event(struct aq *q, const char *code, const char *msg)
{
	char cerr[256];
	json_t *body;
	int r;

	body = json_pack("{s:{s:s,s:s}}", "agent", "code", code, "message",
	    msg);
	if (body == NULL)
		return VG_ERR_NOMEM;
	if ((r = aq_begin(q)) != 0)
		goto out;
	if ((r = aq_event(q, "scan", vg_wall_ns(), body, NULL)) != 0) {
		aq_rollback(q);
		goto out;
	}
	r = aq_commit(q, cerr, sizeof(cerr));
out:
	json_decref(body);
	return r;
}

static char *
command_key(const struct vg_item *it, size_t *len)
{
	size_t pl = sizeof(COMMAND_KEY) - 1;
	char *key;

	if ((key = malloc(pl + it->path_len + 1)) == NULL)
		return NULL;
	memcpy(key, COMMAND_KEY, pl);
	memcpy(key + pl, it->path, it->path_len + 1);
	*len = pl + it->path_len;
	return key;
}

/* The diff of a command's stored output against its new one. */
static int
command_diff(struct aq *q, const struct col_entry *e, struct vg_change *c)
{
	struct vg_diff_opts dopts;
	struct vg_diff_result res;
	unsigned char *old = NULL;
	size_t klen, olen = 0;
	char *key;
	int found = 0, r;

	if ((key = command_key(e->it, &klen)) == NULL)
		return VG_ERR_NOMEM;
	r = aq_content_get(q, key, klen, &found, &old, &olen);
	free(key);
	if (r != 0)
		return r;
	vg_diff_opts_default(&dopts);
	memset(&res, 0, sizeof(res));
	r = vg_diff_unified(found ? (const char *)old : "", found ? olen : 0,
	    e->data != NULL ? e->data : "", e->dlen, "before", "after",
	    &dopts, &res);
	free(old);
	if (r != 0)
		return r;
	if (res.len > 0) {
		c->diff = res.text;
		c->diff_truncated = res.truncated;
		res.text = NULL;
	}
	vg_diff_result_free(&res);
	return 0;
}

/* Queues one change; the change borrows old and new. */
static int
queue_change(struct aq *q, enum vg_change_type type, struct vg_item *old,
    const struct col_entry *e, int64_t t)
{
	struct vg_change c;
	json_t *cj = NULL, *body = NULL;
	int r = VG_ERR_NOMEM;

	memset(&c, 0, sizeof(c));
	c.type = type;
	c.old = old;
	c.new = e != NULL ? e->it : NULL;
	if (type == VG_CHANGE_CHANGED) {
		c.changed = VG_A_PROPS;
		if (e->it->kind == VG_KIND_COMMAND &&
		    (r = command_diff(q, e, &c)) != 0)
			goto out;
	}
	if ((cj = vg_change_to_json(&c)) == NULL ||
	    (body = json_pack("{s:O}", "change", cj)) == NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	r = aq_event(q, "scan", t, body, NULL);
out:
	free(c.diff);
	json_decref(cj);
	json_decref(body);
	return r;
}

/* Inside the transaction: keeps a command's output for the next diff
 * (data NULL: forgets it). */
static int
put_content(struct aq *q, const struct vg_item *it, const char *data,
    size_t dlen)
{
	size_t klen;
	char *key;
	int r;

	if ((key = command_key(it, &klen)) == NULL)
		return VG_ERR_NOMEM;
	r = aq_content_put(q, key, klen, data, dlen);
	free(key);
	return r;
}

/*
 * Inside the transaction: the events of old (stored) against new, and
 * the content updates of commands.
 */
static int
compare_kind(struct aq *q, struct vg_item **old, size_t nold,
    const struct col_set *s, int known, int64_t t)
{
	const struct col_entry *e;
	size_t i = 0, j = 0;
	int c, r, cmd;

	while (i < nold || j < s->n) {
		e = j < s->n ? &s->e[j] : NULL;
		if (i >= nold)
			c = 1;
		else if (j >= s->n)
			c = -1;
		else
			c = vg_item_path_cmp(old[i], e->it);
		cmd = (c < 0 ? old[i] : e->it)->kind == VG_KIND_COMMAND;
		r = 0;
		if (c < 0) {
			if (known)
				r = queue_change(q, VG_CHANGE_REMOVED, old[i],
				    NULL, t);
			if (r == 0 && cmd)
				r = put_content(q, old[i], NULL, 0);
			i++;
		} else if (c > 0) {
			if (known)
				r = queue_change(q, VG_CHANGE_ADDED, NULL, e,
				    t);
			if (r == 0 && cmd)
				r = put_content(q, e->it, e->data, e->dlen);
			j++;
		} else {
			if (vg_item_diff(old[i], e->it, 0) != 0) {
				if (known)
					r = queue_change(q, VG_CHANGE_CHANGED,
					    old[i], e, t);
				if (r == 0 && cmd)
					r = put_content(q, e->it, e->data,
					    e->dlen);
			}
			i++;
			j++;
		}
		if (r != 0)
			return r;
	}
	return 0;
}

/* Stores s as the state of the kind, with its events. 0, or
 * VG_ERR_TOOBIG when the queue was full (nothing stored). */
static int
store_kind(struct aq *q, const struct col_kind *k, const struct col_set *s,
    char *err, size_t errlen)
{
	struct vg_item **old = NULL, **v = NULL;
	size_t nold = 0, i;
	int known = 0, r;

	if ((r = aq_sys_known(q, k->kind, &known)) != 0 ||
	    (known && (r = aq_sys_load(q, k->kind, &old, &nold)) != 0)) {
		snprintf(err, errlen, "collect %s: reading the stored state: "
		    "%s", k->name, vg_strerror(r));
		return r;
	}
	if (s->n > 0 && (v = calloc(s->n, sizeof(*v))) == NULL) {
		r = VG_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < s->n; i++)
		v[i] = s->e[i].it;
	if ((r = aq_begin(q)) != 0)
		goto out;
	if ((r = compare_kind(q, old, nold, s, known, vg_wall_ns())) != 0 ||
	    (r = aq_sys_replace(q, k->kind, v, s->n)) != 0) {
		aq_rollback(q);
		goto out;
	}
	r = aq_commit(q, err, errlen);
out:
	if (r != 0 && r != VG_ERR_TOOBIG && err[0] == '\0')
		snprintf(err, errlen, "collect %s: storing the state: %s",
		    k->name, vg_strerror(r));
	free(v);
	col_items_free(old, nold);
	return r;
}

int
collect_run(const struct collect_opts *o, struct aq *q, char *err,
    size_t errlen)
{
	char msg[512], kerr[512];
	struct col_set s;
	size_t i, p;
	int r, first = 0;

	for (i = 0; i < NKINDS; i++) {
		if ((o->which & col_kinds[i].bit) == 0)
			continue;
		msg[0] = '\0';
		if ((r = collect_set(o, &col_kinds[i], &s, msg,
		    sizeof(msg))) != 0) {
			/* One kind failing (an unreadable file) leaves the
			 * others to be collected. */
			if (r == VG_ERR_NOMEM) {
				snprintf(err, errlen, "%s", msg);
				return r;
			}
			if ((r = agent_event(q, "collect-error", msg)) != 0 &&
			    r != VG_ERR_TOOBIG && first == 0) {
				first = r;
				snprintf(err, errlen, "queueing \"%s\": %s",
				    msg, vg_strerror(r));
			}
			continue;
		}
		for (p = 0; p < s.np; p++)
			if ((r = agent_event(q, s.p[p].code, s.p[p].msg)) !=
			    0 && r != VG_ERR_TOOBIG && first == 0) {
				first = r;
				snprintf(err, errlen, "queueing \"%s\": %s",
				    s.p[p].msg, vg_strerror(r));
			}
		if (!s.keep) {
			kerr[0] = '\0';
			r = store_kind(q, &col_kinds[i], &s, kerr, sizeof(kerr));
			if (r != 0 && r != VG_ERR_TOOBIG && first == 0) {
				first = r;
				snprintf(err, errlen, "%s", kerr);
			}
		}
		col_set_free(&s);
	}
	return first;
}
