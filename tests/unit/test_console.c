/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of hub/console: which file a request path asks for (history
 * routing, refused paths), Content-Types, ETags and If-None-Match, the
 * files built in (every file of console/ in the source tree, byte for
 * byte), reading from a console_dir (symbolic links out of the folder,
 * FIFOs, folders, huge files), the same with openat2() hidden by a
 * seccomp filter (the realpath() way), and the answers of
 * hub_console_serve().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include "vg_err.h"
#include "vg_hash.h"

#include "console.h"
#include "http.h"

static char tmpdir[] = "/tmp/vigil-console-test.XXXXXX";
static char site[128];

static void
resolves(const char *url, const char *want)
{
	char out[HUB_CONSOLE_MAX_PATH];
	int r;

	if ((r = hub_console_resolve(url, out, sizeof(out))) != 0)
		fail_msg("%s: refused (%d), wanted %s", url, r, want);
	if (strcmp(out, want) != 0)
		fail_msg("%s: gives %s, wanted %s", url, out, want);
}

static void
refused(const char *url)
{
	char out[HUB_CONSOLE_MAX_PATH];

	if (hub_console_resolve(url, out, sizeof(out)) != VG_ERR_INVAL)
		fail_msg("%s: not refused (gives %s)", url, out);
}

static void
test_resolve(void **state)
{
	char small[8], longpath[HUB_CONSOLE_MAX_PATH + 8];

	(void)state;
	resolves("/", "/index.html");
	resolves("/index.html", "/index.html");
	resolves("/devices", "/index.html");
	resolves("/devices/12", "/index.html");
	resolves("/devices/12/", "/index.html");
	resolves("/devices//12", "/index.html");
	resolves("/events/caf\xc3\xa9", "/index.html");
	resolves("/app.js", "/app.js");
	resolves("/pages/devices.js", "/pages/devices.js");
	resolves("/fonts/a-b_c.woff2", "/fonts/a-b_c.woff2");
	/* A dot before the last segment does not make a file. */
	resolves("/v1.2/devices", "/index.html");

	refused("");
	refused("app.js");
	refused("/..");
	refused("/../etc/passwd");
	refused("/pages/../app.js");
	refused("/./app.js");
	refused("/.git/config");
	refused("/.hidden");
	refused("/devices/..");
	refused("/app.js%00.html");
	refused("/devices/1%00");
	refused("/..\\..\\etc\\passwd");
	refused("/app\n.js");
	refused("/devices/\x01");
	refused("/devices/\x7f");
	refused("//app.js");
	refused("/pages//app.js");
	refused("/app js.js");
	refused("/caf\xc3\xa9.js");
	refused("/app.js?x=1");

	assert_int_equal(hub_console_resolve("/", small, sizeof(small)),
	    VG_ERR_TOOBIG);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	memcpy(longpath + sizeof(longpath) - 5, ".js", 4);
	assert_int_equal(hub_console_resolve(longpath, longpath,
	    HUB_CONSOLE_MAX_PATH), VG_ERR_TOOBIG);
}

static void
test_types(void **state)
{
	(void)state;
	assert_string_equal(hub_console_type("/index.html"),
	    "text/html; charset=utf-8");
	assert_string_equal(hub_console_type("/app.js"),
	    "text/javascript; charset=utf-8");
	assert_string_equal(hub_console_type("/pages/x.JS"),
	    "text/javascript; charset=utf-8");
	assert_string_equal(hub_console_type("/style.css"),
	    "text/css; charset=utf-8");
	assert_string_equal(hub_console_type("/favicon.svg"), "image/svg+xml");
	assert_string_equal(hub_console_type("/logo.png"), "image/png");
	assert_string_equal(hub_console_type("/favicon.ico"), "image/x-icon");
	assert_string_equal(hub_console_type("/a.json"), "application/json");
	assert_string_equal(hub_console_type("/f/a.woff2"), "font/woff2");
	assert_string_equal(hub_console_type("/a.bin"),
	    "application/octet-stream");
	assert_string_equal(hub_console_type("/a.d/noext"),
	    "application/octet-stream");
	assert_string_equal(hub_console_type("/js"),
	    "application/octet-stream");
}

static void
test_etag(void **state)
{
	char etag[HUB_CONSOLE_ETAG_SIZE];
	const char *e = "\"ba7816bf8f01cfea414140de5dae2223\"";

	(void)state;
	/* SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3... */
	assert_int_equal(hub_console_etag((const unsigned char *)"abc", 3,
	    etag), 0);
	assert_string_equal(etag, e);

	assert_true(hub_console_etag_match(e, e));
	assert_true(hub_console_etag_match("*", e));
	assert_true(hub_console_etag_match(" *", e));
	assert_true(hub_console_etag_match(
	    "W/\"ba7816bf8f01cfea414140de5dae2223\"", e));
	assert_true(hub_console_etag_match(
	    "\"x\", \"ba7816bf8f01cfea414140de5dae2223\"", e));
	assert_true(hub_console_etag_match(
	    "\"x\",W/\"ba7816bf8f01cfea414140de5dae2223\" ", e));
	assert_false(hub_console_etag_match("", e));
	assert_false(hub_console_etag_match("\"x\"", e));
	assert_false(hub_console_etag_match(
	    "ba7816bf8f01cfea414140de5dae2223", e));
	assert_false(hub_console_etag_match(
	    "\"ba7816bf8f01cfea414140de5dae222\"", e));
	assert_false(hub_console_etag_match(
	    "\"ba7816bf8f01cfea414140de5dae22234\"", e));
	assert_false(hub_console_etag_match(
	    "\"ba7816bf8f01cfea414140de5dae2223", e));
	assert_false(hub_console_etag_match("\"x\", garbage", e));
}

/* ---- the files built in, against console/ in the source tree ---- */

static char source_console[PATH_MAX];
static int source_files, source_bad;

static int
compare_one(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	const struct hub_console_asset *a;
	const char *rel = path + strlen(source_console);
	unsigned char *data = NULL;
	size_t len = 0;

	(void)st, (void)ftw;
	if (type != FTW_F)
		return 0;
	/* The generator leaves these out; so does this walk. */
	if (strstr(rel, "/.") != NULL || rel[strlen(rel) - 1] == '~')
		return 0;
	source_files++;
	if ((a = hub_console_find(rel)) == NULL) {
		print_error("%s: not built in\n", rel);
		source_bad++;
		return 0;
	}
	if (hub_console_read(source_console, rel, &data, &len) != 0 ||
	    len != a->len || memcmp(data, a->data, len) != 0) {
		print_error("%s: built in with other bytes (rebuild?)\n", rel);
		source_bad++;
	}
	free(data);
	return 0;
}

static void
test_builtin(void **state)
{
	const struct hub_console_asset *a;
	char etag[HUB_CONSOLE_ETAG_SIZE], file[PATH_MAX], *dir;
	int n = 0;

	(void)state;
	for (a = hub_console_assets; a->path != NULL; a++, n++) {
		assert_ptr_equal(hub_console_find(a->path), a);
		assert_int_equal(hub_console_etag(a->data, a->len, etag), 0);
		assert_string_equal(a->etag, etag);
		assert_int_equal(a->path[0], '/');
		if (a > hub_console_assets)
			assert_true(strcmp(a[-1].path, a->path) < 0);
	}
	assert_null(hub_console_find("/nope.js"));
	assert_null(hub_console_find(""));

	/* This file is tests/unit/test_console.c of the tree built. */
	snprintf(file, sizeof(file), "%s", __FILE__);
	if (file[0] != '/')
		skip();
	dir = dirname(dirname(dirname(file)));
	snprintf(source_console, sizeof(source_console), "%s/console", dir);
	if (access(source_console, F_OK) != 0) {
		assert_int_equal(n, 0);
		return;
	}
	source_files = source_bad = 0;
	assert_int_equal(nftw(source_console, compare_one, 16, FTW_PHYS), 0);
	assert_int_equal(source_bad, 0);
	assert_int_equal(source_files, n);
}

/* ---- console_dir ---- */

static void
put(const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", site, rel);
	if ((f = fopen(path, "w")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static int
setup_site(void **state)
{
	char path[PATH_MAX], outside[256];
	int fd;

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(site, sizeof(site), "%s/site", tmpdir);
	snprintf(path, sizeof(path), "%s/outside", tmpdir);
	if (mkdir(site, 0755) != 0 || mkdir(path, 0755) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/sub", site);
	if (mkdir(path, 0755) != 0)
		return -1;
	put("index.html", "<!doctype html>dev\n");
	put("app.js", "export const a = 1;\n");
	put("sub/x.css", "p {}\n");
	put("empty.js", "");
	snprintf(path, sizeof(path), "%s/outside/secret.js", tmpdir);
	if ((fd = open(path, O_WRONLY | O_CREAT, 0644)) < 0 ||
	    write(fd, "secret\n", 7) != 7 || close(fd) != 0)
		return -1;
#define LINK(target, name) do { \
	snprintf(path, sizeof(path), "%s/%s", site, name); \
	if (symlink(target, path) != 0) \
		return -1; \
} while (0)
	LINK("app.js", "inside.js");
	LINK("sub/x.css", "inside.css");
	LINK("../outside/secret.js", "up.js");
	LINK("/etc/passwd", "passwd.js");
	LINK("../outside", "out");
	LINK("sub/../../outside/secret.js", "zigzag.js");
	LINK("loop.js", "loop.js");
	snprintf(outside, sizeof(outside), "%s/outside/secret.js", tmpdir);
	LINK(outside, "abs.js");
#undef LINK
	snprintf(path, sizeof(path), "%s/fifo.js", site);
	if (mkfifo(path, 0644) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/dir.js", site);
	if (mkdir(path, 0755) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/huge.js", site);
	if ((fd = open(path, O_WRONLY | O_CREAT, 0644)) < 0 ||
	    ftruncate(fd, HUB_CONSOLE_MAX_FILE + 1) != 0 || close(fd) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/max.js", site);
	if ((fd = open(path, O_WRONLY | O_CREAT, 0644)) < 0 ||
	    ftruncate(fd, HUB_CONSOLE_MAX_FILE) != 0 || close(fd) != 0)
		return -1;
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	remove(path);
	return 0;
}

static int
teardown_site(void **state)
{
	(void)state;
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* Reads rel from the site; returns the error, and checks the bytes when
 * it succeeds and want is given. */
static int
read_site(const char *rel, const char *want)
{
	unsigned char *data = NULL;
	size_t len = 0;
	int r;

	r = hub_console_read(site, rel, &data, &len);
	if (r == 0 && want != NULL) {
		if (len != strlen(want) || memcmp(data, want, len) != 0 ||
		    data[len] != '\0')
			fail_msg("%s: read %zu other bytes", rel, len);
	}
	if (r != 0 && data != NULL)
		fail_msg("%s: data left on failure", rel);
	free(data);
	return r;
}

/* The checks of console_dir reading; the same whichever way the folder
 * is kept. Returns the number of failures (it also runs in a child). */
static int
site_failures(void)
{
	static const struct {
		const char *rel;
		int want;
		const char *text;
	} cases[] = {
		{ "/index.html", 0, "<!doctype html>dev\n" },
		{ "/app.js", 0, "export const a = 1;\n" },
		{ "app.js", 0, "export const a = 1;\n" },
		{ "/sub/x.css", 0, "p {}\n" },
		{ "/empty.js", 0, "" },
		{ "/inside.js", 0, "export const a = 1;\n" },
		{ "/inside.css", 0, "p {}\n" },
		{ "/nope.js", VG_ERR_NOTFOUND, NULL },
		{ "/sub/nope/x.js", VG_ERR_NOTFOUND, NULL },
		{ "/", VG_ERR_NOTFOUND, NULL },
		{ "/up.js", VG_ERR_PERM, NULL },
		{ "/abs.js", VG_ERR_PERM, NULL },
		{ "/passwd.js", VG_ERR_PERM, NULL },
		{ "/out/secret.js", VG_ERR_PERM, NULL },
		{ "/zigzag.js", VG_ERR_PERM, NULL },
		{ "/../outside/secret.js", VG_ERR_PERM, NULL },
		{ "/loop.js", VG_ERR_PERM, NULL },
		{ "/fifo.js", VG_ERR_NOTFOUND, NULL },
		{ "/dir.js", VG_ERR_NOTFOUND, NULL },
		{ "/huge.js", VG_ERR_TOOBIG, NULL },
		{ "/max.js", 0, NULL },
	};
	size_t i;
	int r, bad = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if ((r = read_site(cases[i].rel, cases[i].text)) !=
		    cases[i].want) {
			print_error("%s: %d, wanted %d\n", cases[i].rel, r,
			    cases[i].want);
			bad++;
		}
	}
	if (hub_console_read("/nonexistent-vigil-dir", "/a.js",
	    &(unsigned char *){ NULL }, &(size_t){ 0 }) != VG_ERR_NOTFOUND) {
		print_error("a missing console_dir is not NOTFOUND\n");
		bad++;
	}
	return bad;
}

static void
test_read_dir(void **state)
{
	(void)state;
	assert_int_equal(site_failures(), 0);
}

/*
 * Where openat2() does not exist (or a filter refuses it), the realpath()
 * check must refuse the same files: run the checks in a child whose
 * openat2() fails with ENOSYS, as an old kernel's would.
 */
static void
test_read_dir_without_openat2(void **state)
{
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fprog = { sizeof(prog) / sizeof(prog[0]), prog };
	pid_t pid;
	int status, fd;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0)
			_exit(100);
		/* The filter is in force: openat2() is gone. */
		if ((fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", NULL, 0)) >= 0
		    || errno != ENOSYS)
			_exit(101);
		_exit(site_failures() == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 100)
		skip();     /* no seccomp here */
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- hub_console_serve() ---- */

static const char *
resp_header(const struct hub_resp *rs, const char *name)
{
	int i;

	for (i = 0; i < rs->nhdr; i++)
		if (strcmp(rs->hdr[i].name, name) == 0)
			return rs->hdr[i].value;
	return NULL;
}

static void
serve(struct hub *h, const char *method, const char *path,
    struct hub_resp *rs)
{
	struct hub_req rq;

	memset(&rq, 0, sizeof(rq));
	memset(rs, 0, sizeof(*rs));
	rq.hub = h;
	rq.method = method;
	rq.path = path;
	hub_console_serve(&rq, rs);
}

static void
test_serve(void **state)
{
	const struct hub_console_asset *index = hub_console_find("/index.html");
	char etag[HUB_CONSOLE_ETAG_SIZE];
	struct hub_resp rs;
	struct hub h;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.conf.console_dir = site;

	serve(&h, "GET", "/devices/12", &rs);
	assert_int_equal(rs.status, 200);
	assert_int_equal(rs.body_len, strlen("<!doctype html>dev\n"));
	assert_memory_equal(rs.body, "<!doctype html>dev\n", rs.body_len);
	assert_string_equal(rs.content_type, "text/html; charset=utf-8");
	assert_int_equal(hub_console_etag((const unsigned char *)rs.body,
	    rs.body_len, etag), 0);
	assert_string_equal(resp_header(&rs, "ETag"), etag);
	assert_string_equal(resp_header(&rs, "Cache-Control"), "no-cache");
	hub_resp_clear(&rs);

	serve(&h, "HEAD", "/sub/x.css", &rs);
	assert_int_equal(rs.status, 200);
	assert_string_equal(rs.content_type, "text/css; charset=utf-8");
	hub_resp_clear(&rs);

	serve(&h, "GET", "/empty.js", &rs);
	assert_int_equal(rs.status, 200);
	assert_int_equal(rs.body_len, 0);
	hub_resp_clear(&rs);

	serve(&h, "POST", "/", &rs);
	assert_int_equal(rs.status, 405);
	assert_string_equal(resp_header(&rs, "Allow"), "GET, HEAD");
	hub_resp_clear(&rs);

	serve(&h, "GET", "/nope.js", &rs);
	assert_int_equal(rs.status, 404);
	hub_resp_clear(&rs);
	serve(&h, "GET", "/up.js", &rs);
	assert_int_equal(rs.status, 404);
	hub_resp_clear(&rs);
	serve(&h, "GET", "/huge.js", &rs);
	assert_int_equal(rs.status, 404);
	hub_resp_clear(&rs);
	serve(&h, "GET", "/../outside/secret.js", &rs);
	assert_int_equal(rs.status, 404);
	hub_resp_clear(&rs);

	/* The files built in. */
	h.conf.console_dir = NULL;
	serve(&h, "GET", "/events", &rs);
	if (index == NULL) {
		assert_int_equal(rs.status, 404);
	} else {
		assert_int_equal(rs.status, 200);
		assert_int_equal(rs.body_len, index->len);
		assert_memory_equal(rs.body, index->data, index->len);
		assert_string_equal(resp_header(&rs, "ETag"), index->etag);
	}
	hub_resp_clear(&rs);
	serve(&h, "GET", "/nope.js", &rs);
	assert_int_equal(rs.status, 404);
	hub_resp_clear(&rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_etag),
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_read_dir),
		cmocka_unit_test(test_read_dir_without_openat2),
		cmocka_unit_test(test_serve),
	};

	return cmocka_run_group_tests(tests, setup_site, teardown_site);
}
