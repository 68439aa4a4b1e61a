/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "linux.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_scan.h"
#include "vg_util.h"

/*
 * The Linux collection script and the parser of its output (linux.h).
 * The script is two parts: a small outer one read by `sh -s`, which
 * holds the collecting part in a quoted here-document (so the whole
 * stdin is read before anything runs, and sudo -S can read the password
 * from the same stdin), then runs it, through sudo when asked.
 */

/* File systems a scan does not enter (vg_pseudo_fs_fd()). */
static const char *const pseudo_fs[] = { "proc", "sysfs", "devpts",
	"cgroup", "cgroup2", "debugfs", "tracefs", "securityfs", "bpf" };

/* ---- the script ---- */

struct sbuf {
	char *p;
	size_t n, cap;
	int err;
};

static void
sb_add(struct sbuf *b, const char *s, size_t len)
{
	int r;

	if (b->err == 0 && (r = vg_buf_append(&b->p, &b->n, &b->cap, s, len,
	    4 * PROXY_LINUX_SCRIPT_MAX)) != 0)
		b->err = r;
}

static void
sb_puts(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		b->err = VG_ERR_INTERNAL;
	else
		sb_add(b, buf, (size_t)n);
}

/* s as one sh word in single quotes ('\'' for a quote). */
static void
sb_quote(struct sbuf *b, const char *s)
{
	const char *q;

	sb_puts(b, "'");
	while ((q = strchr(s, '\'')) != NULL) {
		sb_add(b, s, (size_t)(q - s));
		sb_puts(b, "'\\''");
		s = q + 1;
	}
	sb_puts(b, s);
	sb_puts(b, "'");
}

static const char *
hash_tool(enum vg_hash_alg alg)
{
	switch (alg) {
	case VG_HASH_SHA256: return "sha256sum";
	case VG_HASH_SHA384: return "sha384sum";
	case VG_HASH_SHA512: return "sha512sum";
	case VG_HASH_SHA1: return "sha1sum";
	case VG_HASH_MD5: return "md5sum";
	default: return NULL;
	}
}

/* The common part of the find command line: roots, depth, boundaries. */
static void
find_args(struct sbuf *b, const struct vg_rules *r, int gnu)
{
	size_t i;

	sb_puts(b, r->follow_symlinks ? "find -L" : "find");
	for (i = 0; i < r->nroots; i++) {
		sb_puts(b, " ");
		sb_quote(b, r->roots[i]);
	}
	if (r->one_fs)
		sb_puts(b, " -xdev");
	if (r->max_depth >= 0)
		sb_printf(b, " -maxdepth %ld", r->max_depth);
	if (gnu && r->skip_pseudo_fs) {
		sb_puts(b, " \\(");
		for (i = 0; i < sizeof(pseudo_fs) / sizeof(pseudo_fs[0]); i++)
			sb_printf(b, "%s -fstype %s", i > 0 ? " -o" : "",
			    pseudo_fs[i]);
		sb_puts(b, " \\) -prune -o");
	}
}

#define F_FORMAT "F\\0%y\\0%s\\0%m\\0%U\\0%G\\0%u\\0%g\\0%T@\\0%C@\\0%i\\0" \
	"%n\\0%D\\0%p\\0%l\\0"

/*
 * Files: GNU find prints each entry and hands the regular files within
 * the size cap to `TOOL -z` in batches, in the same walk; elsewhere one
 * stat and one hash per file.
 */
static void
script_files(struct sbuf *b, const struct proxy_linux_opts *o)
{
	const struct vg_rules *r = o->rules;
	const char *tool = hash_tool(r->hash);
	char size[64] = "";

	if (r->hash != VG_HASH_NONE && r->max_hash_size > 0)
		snprintf(size, sizeof(size), " -size -%lluc",
		    (unsigned long long)r->max_hash_size + 1);
	sb_puts(b, o->portable ? "if false" : "if find / -maxdepth 0 "
	    "-printf '' >/dev/null 2>&1");
	if (tool != NULL)
		sb_printf(b, " && printf '' | %s -z >/dev/null 2>&1", tool);
	sb_puts(b, "; then\n");
	find_args(b, r, 1);
	if (tool != NULL) {
		sb_printf(b, " \\( -type f%s -printf '", size);
		sb_puts(b, F_FORMAT);
		sb_printf(b, "' -exec %s -z -- {} + \\) -o", tool);
	}
	sb_puts(b, " -printf '" F_FORMAT "' 2>/dev/null\nelse\n");
	find_args(b, r, 0);
	sb_puts(b, " -exec sh -c '\n"
	    "p() { printf \"%s\\0\" \"$@\"; }\n"
	    "for f do\n"
	    "  s=$(stat -c \"%f %s %u %g %U %G %Y %Z %i %h %d\" -- \"$f\" "
	    "2>/dev/null) || continue\n"
	    "  printf \"G\\0\"; p $s \"$f\"\n"
	    "  t=; if [ -L \"$f\" ]; then t=$(readlink -- \"$f\"; printf x); "
	    "t=${t%?x}; fi; p \"$t\"\n");
	if (tool != NULL) {
		sb_puts(b, "  set -- $s\n"
		    "  [ $(( 0x$1 & 61440 )) -eq 32768 ] || continue\n");
		if (r->max_hash_size > 0)
			sb_printf(b, "  [ \"$2\" -le %llu ] || continue\n",
			    (unsigned long long)r->max_hash_size);
		sb_printf(b, "  h=$(%s < \"$f\" 2>/dev/null) || h=\n"
		    "  printf \"h\\0\"; p \"$f\" \"${h%%%% *}\"\n", tool);
	}
	sb_puts(b, "done' vigil {} + 2>/dev/null\nfi\n");
}

static void
script_content(struct sbuf *b, const struct proxy_linux_opts *o)
{
	size_t i;

	if (o->ncontent == 0)
		return;
	sb_puts(b, "if [ -n \"$b64\" ]; then for f in");
	for (i = 0; i < o->ncontent; i++) {
		sb_puts(b, " ");
		sb_quote(b, o->content[i]);
	}
	/* Only what everyone may read goes to the hub, as on an agent. */
	sb_printf(b, "; do\n"
	    "  [ -n \"$(find \"$f\" -prune -type f -perm -004 -size -%uc "
	    "2>/dev/null)\" ] || continue\n"
	    "  printf 'C\\0'; p \"$f\"; head -c %u -- \"$f\" 2>/dev/null | "
	    "base64; printf '\\0'\n"
	    "done; fi\n", PROXY_LINUX_CONTENT_MAX + 1,
	    PROXY_LINUX_CONTENT_MAX);
}

static void
script_system(struct sbuf *b, unsigned sys)
{
	if (sys == 0)
		return;
	sb_puts(b, "if [ -n \"$b64\" ]; then\n");
	if (sys & PROXY_LINUX_PACKAGES)
		sb_puts(b, "bfile dpkg /var/lib/dpkg/status\n"
		    "command -v rpm >/dev/null 2>&1 && blob rpm rpm -qa --qf "
		    "'%{NAME}\\t%{ARCH}\\t%{VERSION}-%{RELEASE}\\n'\n");
	if (sys & (PROXY_LINUX_USERS | PROXY_LINUX_PORTS))
		sb_puts(b, "bfile passwd /etc/passwd\n");
	if (sys & PROXY_LINUX_USERS)
		sb_puts(b, "bfile shadow /etc/shadow\n");
	if (sys & PROXY_LINUX_GROUPS)
		sb_puts(b, "bfile group /etc/group\nbfile gshadow "
		    "/etc/gshadow\n");
	if (sys & PROXY_LINUX_SERVICES)
		sb_puts(b, "if [ -d /run/systemd/system ] && command -v "
		    "systemctl >/dev/null 2>&1; then\n"
		    "blob unit_files systemctl list-unit-files --type=service "
		    "--no-legend --plain --full --no-pager\n"
		    "blob units systemctl list-units --all --type=service "
		    "--no-legend --plain --full --no-pager\n"
		    "else problem 'services: systemd is not running'; fi\n");
	if (sys & PROXY_LINUX_PORTS)
		sb_puts(b, "for t in tcp tcp6 udp udp6; do bfile $t "
		    "/proc/net/$t; done\n"
		    "blob fds sh -c 'ls -l /proc/[0-9]*/fd'\n"
		    "blob comms sh -c \"grep -H '' /proc/[0-9]*/comm\"\n");
	sb_puts(b, "fi\n");
}

/* The collecting part, run by /bin/sh -c (as root with sudo). */
static void
script_body(struct sbuf *b, const struct proxy_linux_opts *o)
{
	sb_puts(b, "exec </dev/null\n"
	    "p() { printf '%s\\0' \"$@\"; }\n"
	    "problem() { printf 'P\\0'; p \"$1\"; }\n"
	    "blob() { n=$1; shift; printf 'B\\0'; p \"$n\"; "
	    "\"$@\" 2>/dev/null | base64; printf '\\0'; }\n"
	    "bfile() { [ -r \"$2\" ] && blob \"$1\" cat -- \"$2\"; }\n"
	    "printf 'V\\0'; p " PROXY_LINUX_VERSION " \"$(id -u)\"\n"
	    "b64=; if command -v base64 >/dev/null 2>&1; then b64=1; else "
	    "problem 'base64 not found: no file content or system "
	    "configuration'; fi\n");
	if (o->rules != NULL && o->rules->nroots > 0)
		script_files(b, o);
	script_content(b, o);
	script_system(b, o->system);
	sb_puts(b, "printf 'E\\0'; p end\n");
}

int
proxy_linux_script(const struct proxy_linux_opts *o, char **out,
    size_t *len, char *err, size_t errlen)
{
	struct sbuf body = { 0 }, b = { 0 };
	size_t i;
	int r;

	*out = NULL;
	*len = 0;
	if (o->rules != NULL && o->rules->hash != VG_HASH_NONE &&
	    hash_tool(o->rules->hash) == NULL) {
		snprintf(err, errlen, "hash %s: no tool for it on a Linux "
		    "host", vg_hash_name(o->rules->hash));
		return VG_ERR_INVAL;
	}
	/* A line "VIGIL_BODY" inside a name would end the here-document:
	 * names with a newline cannot be given. */
	for (i = 0; o->rules != NULL && i < o->rules->nroots; i++)
		if (strchr(o->rules->roots[i], '\n') != NULL) {
			snprintf(err, errlen, "paths: a path with a newline "
			    "cannot be collected over SSH");
			return VG_ERR_INVAL;
		}
	for (i = 0; i < o->ncontent; i++)
		if (strchr(o->content[i], '\n') != NULL) {
			snprintf(err, errlen, "content: a path with a newline "
			    "cannot be collected over SSH");
			return VG_ERR_INVAL;
		}
	script_body(&body, o);
	if ((r = body.err) != 0)
		goto out;
	if (body.n > PROXY_LINUX_SCRIPT_MAX) {
		snprintf(err, errlen, "the collection script would be %zu "
		    "bytes (at most %u): too many paths", body.n,
		    PROXY_LINUX_SCRIPT_MAX);
		r = VG_ERR_TOOBIG;
		goto out;
	}
	sb_puts(&b, "LC_ALL=C; export LC_ALL\n"
	    "PATH=/usr/sbin:/usr/bin:/sbin:/bin; export PATH\n"
	    "body=$(cat <<'VIGIL_BODY'\n");
	sb_add(&b, body.p, body.n);
	sb_puts(&b, "VIGIL_BODY\n)\n");
	if (!o->sudo) {
		sb_puts(&b, "/bin/sh -c \"$body\" vigil </dev/null\nexit\n");
	} else {
		sb_puts(&b, "if [ \"$(id -u)\" = 0 ]; then /bin/sh -c "
		    "\"$body\" vigil </dev/null; exit; fi\n"
		    "if sudo -n true </dev/null >/dev/null 2>&1; then "
		    "sudo -n /bin/sh -c \"$body\" vigil </dev/null; exit; "
		    "fi\n");
		if (o->sudo_marker != NULL) {
			/* sudo -S reads the password from this stdin, after
			 * the whole script: the proxy writes it when the
			 * prompt shows on stderr. */
			sb_puts(&b, "sudo -S -p ");
			sb_quote(&b, o->sudo_marker);
			sb_puts(&b, " /bin/sh -c \"$body\" vigil\nexit\n");
		} else
			sb_puts(&b, "printf 'P\\0%s\\0' 'sudo -n refused and "
			    "no password is known for sudo'\nexit 1\n");
	}
	if ((r = b.err) != 0)
		goto out;
	*out = b.p;
	*len = b.n;
	b.p = NULL;
out:
	if (r == VG_ERR_NOMEM)
		snprintf(err, errlen, "out of memory");
	else if (r != 0 && err[0] == '\0')
		snprintf(err, errlen, "building the script: %s",
		    vg_strerror(r));
	free(body.p);
	free(b.p);
	return r;
}

/* ---- the parser ---- */

#define MAX_FIELDS 15
#define FIELD_MAX (VG_ITEM_PATH_MAX + 256)
/* base64 of a section, with its line breaks taken out */
#define B64_LEN(n) (((size_t)(n) + 2) / 3 * 4)

struct hash_rec {
	char *path;
	size_t len;
	int ok;
	unsigned char md[VG_HASH_MAX_LEN];
};

struct proxy_linux_parser {
	const struct proxy_linux_opts *o;
	int err;
	char msg[512];
	int done;                    /* E seen */
	int started;                 /* V seen */
	char *rec;                   /* the fields of the record so far */
	size_t len, cap;
	size_t off[MAX_FIELDS + 1];
	size_t nf;                   /* fields complete */
	size_t want;                 /* fields of this record (tag first) */
	char tag;
	size_t hexlen;
	size_t max_items;
	size_t total;                /* content and section bytes */
	struct proxy_linux_result *res;
	size_t cap_files, cap_content, cap_sections, cap_problems;
	struct hash_rec *hashes;
	size_t nhashes, cap_hashes;
};

static int perr(struct proxy_linux_parser *p, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct proxy_linux_parser *p, int r, const char *fmt, ...)
{
	va_list ap;

	if (p->err != 0)
		return p->err;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	p->err = r;
	return r;
}

static int
grow(void *arr, size_t *cap, size_t n, size_t size)
{
	void **a = arr, *nv;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap == 0 ? 64 : *cap * 2;
	if ((nv = reallocarray(*a, c, size)) == NULL)
		return VG_ERR_NOMEM;
	*a = nv;
	*cap = c;
	return 0;
}

int
proxy_linux_parser_new(const struct proxy_linux_opts *o,
    struct proxy_linux_parser **out)
{
	struct proxy_linux_parser *p;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->res = calloc(1, sizeof(*p->res))) == NULL) {
		free(p);
		return VG_ERR_NOMEM;
	}
	p->o = o;
	p->res->euid = -1;
	p->max_items = o->max_items > 0 ? o->max_items : PROXY_LINUX_ITEMS_MAX;
	p->hexlen = o->rules != NULL ? 2 * vg_hash_len(o->rules->hash) : 0;
	*out = p;
	return 0;
}

static void
blobs_free(struct proxy_linux_blob *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		if (v[i].data != NULL)
			explicit_bzero(v[i].data, v[i].len); /* shadow */
		free(v[i].data);
	}
	free(v);
}

void
proxy_linux_result_free(struct proxy_linux_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nfiles; i++)
		vg_item_free(r->files[i]);
	free(r->files);
	blobs_free(r->content, r->ncontent);
	blobs_free(r->sections, r->nsections);
	for (i = 0; i < r->nproblems; i++)
		free(r->problems[i]);
	free(r->problems);
	free(r);
}

void
proxy_linux_parser_free(struct proxy_linux_parser *p)
{
	size_t i;

	if (p == NULL)
		return;
	if (p->rec != NULL)
		explicit_bzero(p->rec, p->cap);
	free(p->rec);
	for (i = 0; i < p->nhashes; i++)
		free(p->hashes[i].path);
	free(p->hashes);
	proxy_linux_result_free(p->res);
	free(p);
}

int
proxy_linux_parser_started(const struct proxy_linux_parser *p)
{
	return p->started;
}

const char *
proxy_linux_parser_error(const struct proxy_linux_parser *p)
{
	return p->msg;
}

const struct proxy_linux_blob *
proxy_linux_section(const struct proxy_linux_result *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nsections; i++)
		if (strcmp(r->sections[i].name, name) == 0)
			return &r->sections[i];
	return NULL;
}

static const char *
field(const struct proxy_linux_parser *p, size_t i)
{
	return p->rec + p->off[i];
}

static size_t
field_len(const struct proxy_linux_parser *p, size_t i)
{
	return p->off[i + 1] - p->off[i] - 1;
}

static int
num(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Whole seconds whose nanoseconds, with any fraction, fit an int64_t
 * (to the year 2262). */
#define SECONDS_MAX (INT64_MAX / 1000000000 - 1)

/* "SECONDS[.FRACTION]" (find %T@, stat %Y) as nanoseconds; -1 for a
 * malformed time or one out of that range. */
static int
seconds_ns(const char *s, int64_t *out)
{
	int64_t sec = 0, frac = 0, scale = 100000000;
	int neg = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (sec > (SECONDS_MAX - (*s - '0')) / 10)
			return -1;
		sec = sec * 10 + (*s - '0');
	}
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			frac += scale * (*s - '0');
	if (*s != '\0')
		return -1;
	*out = (sec * 1000000000 + frac) * (neg ? -1 : 1);
	return 0;
}

static enum vg_ftype
ftype_letter(char c)
{
	switch (c) {
	case 'f': return VG_FT_REG;
	case 'd': return VG_FT_DIR;
	case 'l': return VG_FT_LNK;
	case 'p': return VG_FT_FIFO;
	case 's': return VG_FT_SOCK;
	case 'c': return VG_FT_CHR;
	case 'b': return VG_FT_BLK;
	}
	return VG_FT_NONE;
}

/* An owner name, NULL when the host knows none (find prints the
 * number, stat "UNKNOWN"), as a local scan records it. */
static int
owner_name(char **dst, const char *name, uint64_t id)
{
	char num[32];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)id);
	if (name[0] == '\0' || strcmp(name, num) == 0 ||
	    strcmp(name, "UNKNOWN") == 0)
		return 0;
	return vg_item_set_str(dst, name);
}

/* 1 when path is absolute and normalised, as a local scan names files:
 * no empty, "." or ".." component, no trailing '/' but for "/". A host
 * that prints anything else is lying or broken. */
static int
path_normal(const char *path, size_t len)
{
	size_t i, start;

	if (len == 0 || path[0] != '/')
		return 0;
	if (len == 1)
		return 1;
	for (start = 1, i = 1; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		if (i == start || (i - start == 1 && path[start] == '.') ||
		    (i - start == 2 && path[start] == '.' &&
		    path[start + 1] == '.'))
			return 0;
		start = i + 1;
	}
	return 1;
}

/* F and G records: a file item, when the rules cover it. */
static int
rec_file(struct proxy_linux_parser *p, int gnu)
{
	const struct vg_rules *rules = p->o->rules;
	size_t base, plen;
	uint64_t size, mode, uid, gid, inode, nlink, dev;
	int64_t mtime, ctime;
	enum vg_ftype t;
	struct vg_item *it = NULL;
	const char *path;
	int r;

	/* fields after the tag; F has type and mode, G the raw mode */
	if (gnu) {
		if (field_len(p, 1) != 1 || field_len(p, 3) == 0 ||
		    field_len(p, 3) > 6 ||
		    field(p, 3)[strspn(field(p, 3), "01234567")] != '\0')
			goto bad;
		t = ftype_letter(field(p, 1)[0]);
		if ((mode = strtoull(field(p, 3), NULL, 8)) > 07777 ||
		    num(field(p, 2), UINT64_MAX, &size) != 0)
			goto bad;
		base = 4;
	} else {
		char *end;

		if (field_len(p, 1) == 0 || field_len(p, 1) > 8 ||
		    field(p, 1)[strspn(field(p, 1), "0123456789abcdefABCDEF")]
		    != '\0')
			goto bad;
		errno = 0;
		mode = strtoull(field(p, 1), &end, 16);
		if (errno != 0 || *end != '\0')
			goto bad;
		t = vg_ftype_from_mode(mode);
		mode &= 07777;
		if (num(field(p, 2), UINT64_MAX, &size) != 0)
			goto bad;
		base = 3;
	}
	/* base: uid, gid, user, group, mtime, ctime, inode, nlink, dev,
	 * path, target */
	if (num(field(p, base), UINT32_MAX, &uid) != 0 ||
	    num(field(p, base + 1), UINT32_MAX, &gid) != 0 ||
	    seconds_ns(field(p, base + 4), &mtime) != 0 ||
	    seconds_ns(field(p, base + 5), &ctime) != 0 ||
	    num(field(p, base + 6), UINT64_MAX, &inode) != 0 ||
	    num(field(p, base + 7), UINT64_MAX, &nlink) != 0 ||
	    num(field(p, base + 8), UINT64_MAX, &dev) != 0)
		goto bad;
	path = field(p, base + 9);
	plen = field_len(p, base + 9);
	if (plen > VG_ITEM_PATH_MAX || !path_normal(path, plen))
		goto bad;
	if (rules == NULL)
		return perr(p, VG_ERR_INVAL, "a file record, but no files "
		    "were asked for");
	if ((r = vg_scan_covers(rules, path, plen, t == VG_FT_DIR)) < 0)
		return perr(p, r, "out of memory");
	if (r == 0)
		return 0;
	if (p->res->nfiles >= p->max_items)
		return perr(p, VG_ERR_TOOBIG, "more than %zu files under the "
		    "policy's paths: narrow the paths or raise the cap",
		    p->max_items);
	if ((it = vg_item_new(VG_KIND_FILE, path, plen)) == NULL)
		goto nomem;
	it->have = VG_A_TYPE | VG_A_SIZE | VG_A_MODE | VG_A_UID | VG_A_GID |
	    VG_A_USER | VG_A_GROUP | VG_A_MTIME | VG_A_CTIME | VG_A_INODE |
	    VG_A_DEV | VG_A_NLINK;
	it->ftype = t;
	it->size = size;
	it->mode = (uint32_t)mode;
	it->uid = (uint32_t)uid;
	it->gid = (uint32_t)gid;
	it->mtime_ns = mtime;
	it->ctime_ns = ctime;
	it->inode = inode;
	it->nlink = nlink;
	it->dev = dev;
	if (owner_name(&it->user, field(p, base + 2), uid) != 0 ||
	    owner_name(&it->group, field(p, base + 3), gid) != 0)
		goto nomem;
	if (t == VG_FT_LNK) {
		it->have |= VG_A_TARGET;
		if (field_len(p, base + 10) > 0 && vg_item_set_str(&it->target,
		    field(p, base + 10)) != 0)
			goto nomem;
	}
	if (t == VG_FT_REG && rules->hash != VG_HASH_NONE) {
		it->have |= VG_A_HASH;
		it->hash_alg = rules->hash;
		it->hash_state = rules->max_hash_size > 0 &&
		    size > rules->max_hash_size ? VG_HS_SIZE_CAP :
		    VG_HS_UNREADABLE;   /* until its digest comes */
	}
	if (grow(&p->res->files, &p->cap_files, p->res->nfiles,
	    sizeof(*p->res->files)) != 0)
		goto nomem;
	p->res->files[p->res->nfiles++] = it;
	return 0;
bad:
	return perr(p, VG_ERR_INVAL, "a malformed file record (%c) near "
	    "\"%.200s\"", gnu ? 'F' : 'G', field(p, p->nf > 1 ? p->nf - 2 :
	    0));
nomem:
	vg_item_free(it);
	return perr(p, VG_ERR_NOMEM, "out of memory");
}

static int
add_hash(struct proxy_linux_parser *p, const char *path, size_t plen,
    const char *hex, size_t hexlen)
{
	struct hash_rec *h;

	if (plen == 0 || path[0] != '/')
		return perr(p, VG_ERR_INVAL, "a digest of \"%.200s\", not an "
		    "absolute path", path);
	if (p->nhashes >= p->max_items)
		return perr(p, VG_ERR_TOOBIG, "more than %zu digests",
		    p->max_items);
	if (grow(&p->hashes, &p->cap_hashes, p->nhashes, sizeof(*h)) != 0)
		return perr(p, VG_ERR_NOMEM, "out of memory");
	h = &p->hashes[p->nhashes];
	memset(h, 0, sizeof(*h));
	if (hexlen > 0 && (hexlen != p->hexlen ||
	    vg_hex_decode(hex, hexlen, h->md, hexlen / 2) != 0))
		return perr(p, VG_ERR_INVAL, "a malformed digest of "
		    "\"%.200s\"", path);
	h->ok = hexlen > 0;
	if ((h->path = malloc(plen + 1)) == NULL)
		return perr(p, VG_ERR_NOMEM, "out of memory");
	memcpy(h->path, path, plen + 1);
	h->len = plen;
	p->nhashes++;
	return 0;
}

/* "HEX  path" or "HEX *path" as `TOOL -z` prints it. */
static int
rec_digest(struct proxy_linux_parser *p)
{
	const char *s = field(p, 0);
	size_t len = field_len(p, 0);

	if (p->hexlen == 0 || len < p->hexlen + 3 || s[p->hexlen] != ' ' ||
	    (s[p->hexlen + 1] != ' ' && s[p->hexlen + 1] != '*'))
		return perr(p, VG_ERR_INVAL, "an unknown record \"%.40s\"", s);
	return add_hash(p, s + p->hexlen + 2, len - p->hexlen - 2, s,
	    p->hexlen);
}

static int
add_blob(struct proxy_linux_parser *p, struct proxy_linux_blob **v,
    size_t *n, size_t *cap, const char *name, size_t nlen)
{
	const char *b64 = field(p, 2);
	size_t blen = field_len(p, 2);
	struct proxy_linux_blob *b;
	unsigned char *data = NULL;
	size_t dlen = 0;
	char *copy;

	if (blen > 0 && vg_base64_decode(b64, blen, &data, &dlen) != 0)
		return perr(p, VG_ERR_INVAL, "bad base64 in the section or "
		    "content \"%.200s\"", name);
	if ((p->total += dlen) > PROXY_LINUX_TOTAL_MAX) {
		if (data != NULL)
			explicit_bzero(data, dlen); /* may be shadow */
		free(data);
		return perr(p, VG_ERR_TOOBIG, "more than %u bytes of content "
		    "and system sections", PROXY_LINUX_TOTAL_MAX);
	}
	if (grow(v, cap, *n, sizeof(**v)) != 0 ||
	    (copy = malloc(nlen + 1)) == NULL) {
		if (data != NULL)
			explicit_bzero(data, dlen);
		free(data);
		return perr(p, VG_ERR_NOMEM, "out of memory");
	}
	memcpy(copy, name, nlen + 1);
	if (data == NULL && (data = calloc(1, 1)) == NULL) {
		free(copy);
		return perr(p, VG_ERR_NOMEM, "out of memory");
	}
	data[dlen] = '\0';   /* vg_base64_decode leaves room for it */
	b = &(*v)[(*n)++];
	b->name = copy;
	b->data = data;
	b->len = dlen;
	return 0;
}

static const char *const section_names[] = { "dpkg", "rpm", "passwd",
	"shadow", "group", "gshadow", "unit_files", "units", "tcp", "tcp6",
	"udp", "udp6", "fds", "comms" };

static int
rec_section(struct proxy_linux_parser *p)
{
	size_t i;

	for (i = 0; i < sizeof(section_names) / sizeof(section_names[0]); i++)
		if (strcmp(field(p, 1), section_names[i]) == 0)
			break;
	if (i == sizeof(section_names) / sizeof(section_names[0]))
		return perr(p, VG_ERR_INVAL, "an unknown section \"%.64s\"",
		    field(p, 1));
	if (proxy_linux_section(p->res, field(p, 1)) != NULL)
		return perr(p, VG_ERR_INVAL, "section \"%s\" twice",
		    field(p, 1));
	return add_blob(p, &p->res->sections, &p->res->nsections,
	    &p->cap_sections, field(p, 1), field_len(p, 1));
}

static int
rec_content(struct proxy_linux_parser *p)
{
	if (field(p, 1)[0] != '/')
		return perr(p, VG_ERR_INVAL, "content of \"%.200s\", not an "
		    "absolute path", field(p, 1));
	/* Empty ones cost nothing against the byte cap: count them. */
	if (p->res->ncontent >= p->max_items)
		return perr(p, VG_ERR_TOOBIG, "more than %zu content records",
		    p->max_items);
	return add_blob(p, &p->res->content, &p->res->ncontent,
	    &p->cap_content, field(p, 1), field_len(p, 1));
}

static int
rec_problem(struct proxy_linux_parser *p)
{
	char *m;

	if (p->res->nproblems >= 100)
		return 0;
	if (grow(&p->res->problems, &p->cap_problems, p->res->nproblems,
	    sizeof(char *)) != 0 || (m = vg_utf8_sanitize(field(p, 1),
	    field_len(p, 1) > 1024 ? 1024 : field_len(p, 1))) == NULL)
		return perr(p, VG_ERR_NOMEM, "out of memory");
	p->res->problems[p->res->nproblems++] = m;
	return 0;
}

static int
rec_version(struct proxy_linux_parser *p)
{
	uint64_t euid;

	if (strcmp(field(p, 1), PROXY_LINUX_VERSION) != 0)
		return perr(p, VG_ERR_INVAL, "script version \"%.32s\", "
		    "expected " PROXY_LINUX_VERSION, field(p, 1));
	if (num(field(p, 2), UINT32_MAX, &euid) != 0)
		return perr(p, VG_ERR_INVAL, "a malformed user id \"%.32s\"",
		    field(p, 2));
	p->res->euid = (long)euid;
	p->started = 1;
	return 0;
}

/* The record is complete: act on it. */
static int
record(struct proxy_linux_parser *p)
{
	switch (p->tag) {
	case 'V': return rec_version(p);
	case 'F': return rec_file(p, 1);
	case 'G': return rec_file(p, 0);
	case 'h': return add_hash(p, field(p, 1), field_len(p, 1),
	    field(p, 2), field_len(p, 2));
	case 'C': return rec_content(p);
	case 'B': return rec_section(p);
	case 'P': return rec_problem(p);
	case 'E':
		if (strcmp(field(p, 1), "end") != 0)
			return perr(p, VG_ERR_INVAL, "a malformed end record");
		p->done = 1;
		return 0;
	}
	return rec_digest(p);
}

/* The number of fields of a record starting with tag (the tag counted),
 * 1 for a digest line. */
static size_t
fields_of(const char *tag, size_t len)
{
	static const struct {
		char tag;
		size_t n;
	} t[] = { { 'V', 3 }, { 'F', 15 }, { 'G', 14 }, { 'h', 3 },
		{ 'C', 3 }, { 'B', 3 }, { 'P', 2 }, { 'E', 2 } };
	size_t i;

	if (len == 1)
		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
			if (t[i].tag == tag[0])
				return t[i].n;
	return 1;
}

/* The cap of the field being read. */
static size_t
field_cap(const struct proxy_linux_parser *p)
{
	if (p->nf == 2 && p->tag == 'C')
		return B64_LEN(PROXY_LINUX_CONTENT_MAX);
	if (p->nf == 2 && p->tag == 'B')
		return B64_LEN(PROXY_LINUX_SECTION_MAX);
	return FIELD_MAX;
}

/* Appends bytes to the current field; base64 bodies lose their line
 * breaks. */
static int
append(struct proxy_linux_parser *p, const char *buf, size_t n)
{
	size_t max = p->off[p->nf] + field_cap(p), i, need, keep = n;
	int body = p->nf == 2 && (p->tag == 'C' || p->tag == 'B');
	char *nb;

	/* The cap is on what is kept: base64 line breaks do not count. */
	for (i = 0; body && i < n; i++)
		keep -= buf[i] == '\n' || buf[i] == '\r';
	if (p->len + keep > max)
		return perr(p, VG_ERR_TOOBIG, "a field of a %c record longer "
		    "than %zu bytes", p->tag ? p->tag : '?', field_cap(p));
	need = p->len + keep + 1;
	if (need > p->cap) {
		size_t c = p->cap ? p->cap : 4096;

		while (c < need)
			c *= 2;
		if ((nb = realloc(p->rec, c)) == NULL)
			return perr(p, VG_ERR_NOMEM, "out of memory");
		p->rec = nb;
		p->cap = c;
	}
	if (!body) {
		memcpy(p->rec + p->len, buf, n);
		p->len += n;
		return 0;
	}
	for (i = 0; i < n; i++)
		if (buf[i] != '\n' && buf[i] != '\r')
			p->rec[p->len++] = buf[i];
	return 0;
}

int
proxy_linux_parser_feed(void *arg, const char *buf, size_t len)
{
	struct proxy_linux_parser *p = arg;
	const char *nul;
	size_t n;
	int r;

	if (p->err != 0)
		return p->err;
	while (len > 0) {
		if (p->done)
			return perr(p, VG_ERR_INVAL, "output after the end "
			    "record");
		nul = memchr(buf, '\0', len);
		n = nul != NULL ? (size_t)(nul - buf) : len;
		if ((r = append(p, buf, n)) != 0)
			return r;
		if (nul == NULL)
			return 0;
		buf += n + 1;
		len -= n + 1;
		/* a field is complete */
		p->rec[p->len++] = '\0';
		p->nf++;
		p->off[p->nf] = p->len;
		if (p->nf == 1) {
			p->want = fields_of(p->rec, p->len - 1);
			p->tag = p->want > 1 ? p->rec[0] : '\0';
			if (!p->started && p->tag != 'V' && p->tag != 'P')
				return perr(p, VG_ERR_INVAL, "the output does "
				    "not start with the script's header");
		}
		if (p->nf < p->want)
			continue;
		if ((r = record(p)) != 0)
			return r;
		p->nf = 0;
		p->len = 0;
		p->tag = '\0';
	}
	return 0;
}

static int
item_cmp(const void *a, const void *b)
{
	return vg_item_path_cmp(*(struct vg_item *const *)a,
	    *(struct vg_item *const *)b);
}

static int
hash_cmp(const void *a, const void *b)
{
	const struct hash_rec *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->path, y->path, n);

	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

static int
blob_cmp(const void *a, const void *b)
{
	return strcmp(((const struct proxy_linux_blob *)a)->name,
	    ((const struct proxy_linux_blob *)b)->name);
}

/* Sorts the files (dropping repeats, as -L may show a file twice) and
 * gives each regular file its digest. */
static void
merge_hashes(struct proxy_linux_parser *p)
{
	struct proxy_linux_result *r = p->res;
	struct hash_rec key, *h;
	struct vg_item *it;
	size_t i, w = 0;

	if (r->nfiles > 1)
		qsort(r->files, r->nfiles, sizeof(*r->files), item_cmp);
	if (p->nhashes > 1)
		qsort(p->hashes, p->nhashes, sizeof(*p->hashes), hash_cmp);
	for (i = 0; i < r->nfiles; i++) {
		it = r->files[i];
		if (w > 0 && item_cmp(&r->files[w - 1], &it) == 0) {
			vg_item_free(it);
			continue;
		}
		r->files[w++] = it;
		if (!(it->have & VG_A_HASH) ||
		    it->hash_state == VG_HS_SIZE_CAP || p->nhashes == 0)
			continue;
		key.path = it->path;
		key.len = it->path_len;
		h = bsearch(&key, p->hashes, p->nhashes, sizeof(*p->hashes),
		    hash_cmp);
		if (h != NULL && h->ok) {
			it->hash_state = VG_HS_OK;
			memcpy(it->hash, h->md, vg_hash_len(it->hash_alg));
		}
	}
	r->nfiles = w;
	if (r->ncontent > 1)
		qsort(r->content, r->ncontent, sizeof(*r->content), blob_cmp);
}

int
proxy_linux_parser_finish(struct proxy_linux_parser *p,
    struct proxy_linux_result **out, char *err, size_t errlen)
{
	*out = NULL;
	if (p->err == 0 && !p->done && !p->started &&
	    p->res->nproblems > 0)
		perr(p, VG_ERR_INCOMPLETE, "the collection script did not "
		    "start: %s", p->res->problems[0]);
	else if (p->err == 0 && !p->done)
		perr(p, VG_ERR_INCOMPLETE, p->started ? "the output stops "
		    "before its end record (cut short)" : "the collection "
		    "script did not start");
	if (p->err != 0) {
		snprintf(err, errlen, "%s", p->msg);
		return p->err;
	}
	merge_hashes(p);
	*out = p->res;
	p->res = NULL;
	p->err = VG_ERR_INVAL;
	snprintf(p->msg, sizeof(p->msg), "the parser was finished");
	return 0;
}
