/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of proxy/linux: the parser on recorded script outputs (names
 * with spaces, newlines and bytes that are not UTF-8, digests, content,
 * sections), fed in every split; every truncation of a stream refused;
 * malformed records refused; and the generated script run by the local
 * /bin/sh on a tree made here, in its GNU and its portable form, whose
 * items must equal what the scanner reads of the same paths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_item.h"
#include "vg_rules.h"
#include "vg_scan.h"
#include "vg_util.h"

/* ---- recorded output ---- */

struct out {
	char buf[16384];
	size_t n;
};

static void
add(struct out *o, const void *p, size_t n)
{
	assert_true(o->n + n <= sizeof(o->buf));
	memcpy(o->buf + o->n, p, n);
	o->n += n;
}

/* Fields, each ended by a NUL; the list ends with NULL. */
static void
rec(struct out *o, ...)
{
	const char *f;
	va_list ap;

	va_start(ap, o);
	while ((f = va_arg(ap, const char *)) != NULL)
		add(o, f, strlen(f) + 1);
	va_end(ap);
}

static const char sha_abc[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

/* A stream as the GNU form of the script prints it. */
static void
recorded(struct out *o)
{
	char name[64], line[200];
	char *b64;

	memset(o, 0, sizeof(*o));
	rec(o, "V", "1", "0", NULL);
	rec(o, "F", "d", "4096", "755", "0", "0", "root", "root",
	    "1700000000.1234567890", "1700000001.5", "2", "3", "2049",
	    "/srv", "", NULL);
	rec(o, "F", "f", "3", "644", "1000", "1000", "alice", "1000",
	    "1700000000.0000000010", "1700000000", "11", "1", "2049",
	    "/srv/with space", "", NULL);
	rec(o, "F", "f", "3", "4755", "0", "0", "root", "root", "5", "6",
	    "12", "1", "2049", "/srv/new\nline", "", NULL);
	/* a name that is not UTF-8 */
	snprintf(name, sizeof(name), "/srv/bad\xff\xfe");
	rec(o, "F", "l", "7", "777", "0", "0", "root", "root", "5", "6",
	    "13", "1", "2049", name, "target with space", NULL);
	rec(o, "F", "f", "0", "600", "0", "0", "root", "root", "5", "6",
	    "14", "1", "2049", "/srv/secret", "", NULL);
	snprintf(line, sizeof(line), "%s  /srv/with space", sha_abc);
	rec(o, line, NULL);
	snprintf(line, sizeof(line), "%s  /srv/new\nline", sha_abc);
	rec(o, line, NULL);
	b64 = vg_base64_encode("abc", 3);
	assert_non_null(b64);
	rec(o, "C", "/srv/with space", b64, NULL);
	rec(o, "B", "passwd", b64, NULL);
	free(b64);
	/* base64 with line breaks, as base64(1) wraps it */
	rec(o, "B", "group", "cm9vdDp4\nOjA6Cg==\n", NULL);
	rec(o, "P", "services: systemd is not running", NULL);
	rec(o, "E", "end", NULL);
}

static struct vg_rules *
rules_for(const char *root, enum vg_hash_alg alg)
{
	struct vg_rules *r;
	char err[256];

	assert_int_equal(vg_rules_new(&r), 0);
	assert_int_equal(vg_rules_add_root(r, root, err, sizeof(err)), 0);
	r->hash = alg;
	assert_int_equal(vg_rules_finish(r, err, sizeof(err)), 0);
	return r;
}

static const struct vg_item *
find_item(const struct proxy_linux_result *res, const char *path)
{
	size_t i;

	for (i = 0; i < res->nfiles; i++)
		if (strcmp(res->files[i]->path, path) == 0)
			return res->files[i];
	return NULL;
}

/* Feeds the stream in chunks of step bytes (0: all at once). */
static int
parse(const struct proxy_linux_opts *lo, const char *buf, size_t n,
    size_t step, struct proxy_linux_result **res)
{
	struct proxy_linux_parser *p;
	char err[512];
	size_t i, k;
	int r = 0;

	assert_int_equal(proxy_linux_parser_new(lo, &p), 0);
	for (i = 0; i < n && r == 0; i += k) {
		k = step == 0 || n - i < step ? n - i : step;
		r = proxy_linux_parser_feed(p, buf + i, k);
	}
	if (r == 0)
		r = proxy_linux_parser_finish(p, res, err, sizeof(err));
	else
		*res = NULL;
	proxy_linux_parser_free(p);
	return r;
}

static void
check_recorded(const struct proxy_linux_result *res)
{
	const struct vg_item *it;
	unsigned char md[32];

	assert_int_equal(res->euid, 0);
	assert_int_equal(res->nfiles, 5);
	/* sorted by bytes */
	assert_string_equal(res->files[0]->path, "/srv");
	it = find_item(res, "/srv");
	assert_int_equal(it->ftype, VG_FT_DIR);
	assert_true(it->mtime_ns == 1700000000123456789LL);
	assert_true(it->ctime_ns == 1700000001500000000LL);
	assert_true(it->dev == 2049 && it->inode == 2 && it->nlink == 3);
	it = find_item(res, "/srv/with space");
	assert_non_null(it);
	assert_int_equal(it->ftype, VG_FT_REG);
	assert_int_equal(it->mode, 0644);
	assert_string_equal(it->user, "alice");
	assert_null(it->group);            /* the host knows no name */
	assert_true(it->mtime_ns == 1700000000000000001LL);
	assert_int_equal(it->hash_state, VG_HS_OK);
	assert_int_equal(vg_hash_buffer(VG_HASH_SHA256, "abc", 3, md), 0);
	assert_memory_equal(it->hash, md, 32);
	it = find_item(res, "/srv/new\nline");
	assert_non_null(it);
	assert_int_equal(it->mode, 04755);
	assert_int_equal(it->hash_state, VG_HS_OK);
	it = find_item(res, "/srv/bad\xff\xfe");
	assert_non_null(it);
	assert_int_equal(it->ftype, VG_FT_LNK);
	assert_true(it->have & VG_A_TARGET);
	assert_false(it->have & VG_A_HASH);
	assert_string_equal(it->target, "target with space");
	/* no digest came: it could not be read */
	it = find_item(res, "/srv/secret");
	assert_int_equal(it->hash_state, VG_HS_UNREADABLE);
	assert_int_equal(res->ncontent, 1);
	assert_string_equal(res->content[0].name, "/srv/with space");
	assert_int_equal(res->content[0].len, 3);
	assert_memory_equal(res->content[0].data, "abc", 3);
	assert_int_equal(res->nsections, 2);
	assert_string_equal((char *)proxy_linux_section(res,
	    "group")->data, "root:x:0:\n");
	assert_null(proxy_linux_section(res, "shadow"));
	assert_int_equal(res->nproblems, 1);
	assert_string_equal(res->problems[0],
	    "services: systemd is not running");
}

static void
test_recorded_any_split(void **state)
{
	struct vg_rules *r = rules_for("/srv", VG_HASH_SHA256);
	struct proxy_linux_opts lo = { .rules = r };
	struct proxy_linux_result *res;
	static const size_t steps[] = { 0, 1, 2, 3, 7, 64, 1000 };
	struct out o;
	size_t i;

	(void)state;
	recorded(&o);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(parse(&lo, o.buf, o.n, steps[i], &res), 0);
		check_recorded(res);
		proxy_linux_result_free(res);
	}
	vg_rules_free(r);
}

/* Every proper prefix is refused: a stream cut short never becomes a
 * result, so never a partial baseline. */
static void
test_truncated_refused(void **state)
{
	struct vg_rules *r = rules_for("/srv", VG_HASH_SHA256);
	struct proxy_linux_opts lo = { .rules = r };
	struct proxy_linux_result *res;
	struct out o;
	size_t n;
	int rv;

	(void)state;
	recorded(&o);
	for (n = 0; n < o.n; n++) {
		rv = parse(&lo, o.buf, n, 0, &res);
		assert_int_not_equal(rv, 0);
		assert_null(res);
	}
	/* the end without a header, and output after the end */
	assert_int_equal(parse(&lo, "E\0end\0", 6, 0, &res), VG_ERR_INVAL);
	memcpy(o.buf + o.n, "P\0x\0", 4);
	assert_int_not_equal(parse(&lo, o.buf, o.n + 4, 0, &res), 0);
	vg_rules_free(r);
}

static void
test_malformed(void **state)
{
	struct vg_rules *r = rules_for("/srv", VG_HASH_SHA256);
	struct proxy_linux_opts lo = { .rules = r, .max_items = 2 };
	struct proxy_linux_result *res;
	static const struct {
		const char *s;
		size_t n;
	} bad[] = {
#define S(x) { x, sizeof(x) - 1 }
		S("V\0" "2\0" "0\0"),                   /* other version */
		S("V\0" "1\0" "x\0"),
		S("V\0" "1\0" "0\0" "Q\0"),             /* unknown record */
		S("V\0" "1\0" "0\0" "F\0" "f\0" "1\0" "999\0" "0\0" "0\0"
		    "a\0" "b\0" "1\0" "1\0" "1\0" "1\0" "1\0" "/srv/a\0" "\0"),
		S("V\0" "1\0" "0\0" "F\0" "f\0" "1\0" "644\0" "0\0" "0\0"
		    "a\0" "b\0" "1\0" "1\0" "1\0" "1\0" "1\0" "rel\0" "\0"),
		S("V\0" "1\0" "0\0" "F\0" "f\0" "-1\0" "644\0" "0\0" "0\0"
		    "a\0" "b\0" "1\0" "1\0" "1\0" "1\0" "1\0" "/srv/a\0" "\0"),
		S("V\0" "1\0" "0\0" "B\0" "nosuch\0" "YQ==\0"),
		S("V\0" "1\0" "0\0" "B\0" "passwd\0" "Y!==\0"),
		S("V\0" "1\0" "0\0" "h\0" "/srv/a\0" "abcd\0"),
		S("V\0" "1\0" "0\0" "abcd  /srv/a\0"),
#undef S
	};
	struct out o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(parse(&lo, bad[i].s, bad[i].n, 0, &res),
		    0);
		assert_null(res);
	}
	/* more files than max_items */
	memset(&o, 0, sizeof(o));
	rec(&o, "V", "1", "0", NULL);
	for (i = 0; i < 3; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/srv/f%zu", i);
		rec(&o, "F", "f", "0", "644", "0", "0", "a", "b", "1", "1",
		    "1", "1", "1", path, "", NULL);
	}
	rec(&o, "E", "end", NULL);
	assert_int_equal(parse(&lo, o.buf, o.n, 0, &res), VG_ERR_TOOBIG);
	/* a field over the cap */
	{
		size_t n = VG_ITEM_PATH_MAX + 1024;
		char *big = malloc(n);

		assert_non_null(big);
		memcpy(big, "V\0" "1\0" "0\0" "P\0", 8);
		memset(big + 8, 'x', n - 8);
		assert_int_equal(parse(&lo, big, n, 0, &res), VG_ERR_TOOBIG);
		free(big);
	}
	vg_rules_free(r);
}

/* Outside the policy's rules: dropped, as a scan would not record it. */
static void
test_rules_filter(void **state)
{
	struct vg_rules *r;
	struct proxy_linux_opts lo;
	struct proxy_linux_result *res;
	char err[256];
	struct out o;

	(void)state;
	assert_int_equal(vg_rules_new(&r), 0);
	assert_int_equal(vg_rules_add_root(r, "/srv", err, sizeof(err)), 0);
	assert_int_equal(vg_rules_add_rule(r, 0, 0, "*.log", err,
	    sizeof(err)), 0);
	assert_int_equal(vg_rules_finish(r, err, sizeof(err)), 0);
	memset(&lo, 0, sizeof(lo));
	lo.rules = r;
	memset(&o, 0, sizeof(o));
	rec(&o, "V", "1", "1000", NULL);
	rec(&o, "F", "f", "0", "644", "0", "0", "a", "b", "1", "1", "1", "1",
	    "1", "/srv/keep", "", NULL);
	rec(&o, "F", "f", "0", "644", "0", "0", "a", "b", "1", "1", "1", "1",
	    "1", "/srv/x.log", "", NULL);
	rec(&o, "E", "end", NULL);
	assert_int_equal(parse(&lo, o.buf, o.n, 0, &res), 0);
	assert_int_equal(res->nfiles, 1);
	assert_string_equal(res->files[0]->path, "/srv/keep");
	assert_int_equal(res->euid, 1000);
	proxy_linux_result_free(res);
	vg_rules_free(r);
}

/* ---- the script, run by the local /bin/sh ---- */

static char root[64];

static void
put(const char *rel, const char *text, mode_t mode)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)) >=
	    0);
	assert_int_equal(vg_write_all(fd, text, strlen(text)), 0);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

/* Runs the script with sh -s, feeding its output to the parser as it
 * comes. */
static int
run_script(const struct proxy_linux_opts *lo, struct proxy_linux_result **res)
{
	struct proxy_linux_parser *p;
	char *script, err[512], buf[777];
	int in[2], out[2], status, r = 0;
	size_t len;
	ssize_t n;
	pid_t pid;

	assert_int_equal(proxy_linux_script(lo, &script, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/bin/sh", "sh", "-c", "LC_ALL=C exec /bin/sh -s",
		    (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	assert_int_equal(vg_write_all(in[1], script, len), 0);
	close(in[1]);
	free(script);
	assert_int_equal(proxy_linux_parser_new(lo, &p), 0);
	while ((n = read(out[0], buf, sizeof(buf))) > 0)
		if (r == 0)
			r = proxy_linux_parser_feed(p, buf, (size_t)n);
	close(out[0]);
	waitpid(pid, &status, 0);
	if (r == 0)
		r = proxy_linux_parser_finish(p, res, err, sizeof(err));
	if (r != 0)
		print_error("%s\n", err);
	proxy_linux_parser_free(p);
	return r;
}

static void
compare_with_scan(int portable)
{
	struct vg_rules *r = rules_for(root, VG_HASH_SHA256);
	struct proxy_linux_opts lo;
	struct proxy_linux_result *res;
	struct vg_item *it;
	char path[512], err[256], *content[1];
	size_t i;

	memset(&lo, 0, sizeof(lo));
	lo.rules = r;
	lo.portable = portable;
	snprintf(path, sizeof(path), "%s/a b", root);
	content[0] = path;
	lo.content = content;
	lo.ncontent = 1;
	assert_int_equal(run_script(&lo, &res), 0);
	assert_int_equal(res->nfiles, 6);
	for (i = 0; i < res->nfiles; i++) {
		assert_int_equal(vg_scan_one(r, res->files[i]->path,
		    res->files[i]->path_len, &it, err, sizeof(err)), 0);
		assert_non_null(it);
		/* the scanner also reads xattrs, ACLs, labels */
		it->have &= ~(uint32_t)(VG_A_XATTRS | VG_A_ACL |
		    VG_A_SELINUX);
		if (portable) {
			/* stat -c gives whole seconds */
			it->mtime_ns -= it->mtime_ns % 1000000000;
			it->ctime_ns -= it->ctime_ns % 1000000000;
		}
		assert_int_equal(vg_item_diff(it, res->files[i], 0), 0);
		assert_int_equal(it->have, res->files[i]->have);
		assert_int_equal(it->hash_state, res->files[i]->hash_state);
		vg_item_free(it);
	}
	/* content of a file everyone may read, not of the others */
	assert_int_equal(res->ncontent, 1);
	assert_string_equal(res->content[0].name, path);
	assert_string_equal((char *)res->content[0].data, "spaced\n");
	proxy_linux_result_free(res);
	vg_rules_free(r);
}

static int
tree_setup(void **state)
{
	char path[512];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/vigil-pl-XXXXXX");
	assert_non_null(mkdtemp(root));
	assert_int_equal(chmod(root, 0755), 0);
	put("a b", "spaced\n", 0644);
	put("new\nline", "nl\n", 0640);
	put("bad\xff", "bytes\n", 0600);
	snprintf(path, sizeof(path), "%s/sub", root);
	assert_int_equal(mkdir(path, 0750), 0);
	snprintf(path, sizeof(path), "%s/sub/link", root);
	assert_int_equal(symlink("../a b", path), 0);
	return 0;
}

static int
tree_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_script_gnu(void **state)
{
	(void)state;
	compare_with_scan(0);
}

static void
test_script_portable(void **state)
{
	(void)state;
	compare_with_scan(1);
}

/* The system sections come as the files are on this host. */
static void
test_script_system(void **state)
{
	struct proxy_linux_opts lo;
	struct proxy_linux_result *res;
	const struct proxy_linux_blob *b;
	char *data;
	size_t len;

	(void)state;
	memset(&lo, 0, sizeof(lo));
	lo.system = PROXY_LINUX_USERS | PROXY_LINUX_GROUPS |
	    PROXY_LINUX_PORTS;
	assert_int_equal(run_script(&lo, &res), 0);
	assert_int_equal(res->nfiles, 0);
	assert_non_null(b = proxy_linux_section(res, "passwd"));
	assert_int_equal(vg_read_file("/etc/passwd", 1 << 24, &data, &len,
	    NULL, 0), 0);
	assert_int_equal(b->len, len);
	assert_memory_equal(b->data, data, len);
	free(data);
	assert_non_null(proxy_linux_section(res, "group"));
	assert_non_null(proxy_linux_section(res, "tcp"));
	assert_non_null(proxy_linux_section(res, "comms"));
	proxy_linux_result_free(res);
}

static void
test_script_sudo_marker(void **state)
{
	struct proxy_linux_opts lo;
	char *script, err[256];
	size_t len;

	(void)state;
	memset(&lo, 0, sizeof(lo));
	lo.sudo = 1;
	lo.sudo_marker = "[vigil-sudo-0123]";
	assert_int_equal(proxy_linux_script(&lo, &script, &len, err,
	    sizeof(err)), 0);
	assert_non_null(strstr(script, "sudo -n /bin/sh -c"));
	assert_non_null(strstr(script, "sudo -S -p '[vigil-sudo-0123]'"));
	free(script);
	lo.sudo_marker = NULL;
	assert_int_equal(proxy_linux_script(&lo, &script, &len, err,
	    sizeof(err)), 0);
	assert_null(strstr(script, "sudo -S"));
	free(script);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded_any_split),
		cmocka_unit_test(test_truncated_refused),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_rules_filter),
		cmocka_unit_test_setup_teardown(test_script_gnu, tree_setup,
		    tree_teardown),
		cmocka_unit_test_setup_teardown(test_script_portable,
		    tree_setup, tree_teardown),
		cmocka_unit_test(test_script_system),
		cmocka_unit_test(test_script_sudo_marker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
