/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of agent/collect: each collector on a tree made here (users,
 * groups, packages, services, sysctl), ports and sysctl on the live
 * /proc, commands (approval, permissions, timeout, output cap), and
 * collect_run() against a real queue: silent first run, then exactly
 * the events of each change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collect.h"
#include "collect_int.h"
#include "queue.h"
#include "vg_err.h"
#include "vg_hash.h"
#include "vg_item.h"
#include "vg_util.h"

static char root[64];

static void
path_of(const char *rel, char *buf, size_t len)
{
	assert_true((size_t)snprintf(buf, len, "%s/%s", root, rel) < len);
}

static void
mkdirs(const char *rel)
{
	char path[4096], *p;

	path_of(rel, path, sizeof(path));
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static void
put(const char *rel, const char *text, mode_t mode)
{
	char path[4096], dir[4096], *slash;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", rel);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		mkdirs(dir);
	}
	path_of(rel, path, sizeof(path));
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
link_to(const char *rel, const char *target)
{
	char path[4096];

	path_of(rel, path, sizeof(path));
	assert_int_equal(symlink(target, path), 0);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/vigil-collect-XXXXXX");
	if (mkdtemp(root) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* The items of one kind under the test root. */
static struct vg_item **
collect(const struct collect_opts *o, unsigned bit, size_t *n, char **problem)
{
	struct vg_item **v = NULL;
	char err[512] = "";
	int r;

	r = collect_kind(o, bit, &v, n, problem, err, sizeof(err));
	if (r != 0)
		fail_msg("collect_kind: %s (%s)", err, vg_strerror(r));
	return v;
}

static void
free_items(struct vg_item **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		vg_item_free(v[i]);
	free(v);
}

static const struct vg_item *
find(struct vg_item **v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i]->path, name) == 0)
			return v[i];
	return NULL;
}

/* The props of an item as "a=1 b=2" (sorted by name). */
static void
assert_props(const struct vg_item *it, const char *want)
{
	char got[4096] = "";
	size_t i, len = 0;

	assert_non_null(it);
	assert_true(it->have & VG_A_PROPS);
	for (i = 0; i < it->nprops; i++)
		len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s=%s",
		    i > 0 ? " " : "", it->props[i].name, it->props[i].value);
	assert_string_equal(got, want);
}

static void
assert_sorted(struct vg_item **v, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		assert_true(strcmp(v[i - 1]->path, v[i]->path) < 0);
}

static void
sha256_of(const char *s, size_t len, char hex[65])
{
	unsigned char md[32];

	assert_int_equal(vg_hash_buffer(VG_HASH_SHA256, s, len, md), 0);
	vg_hex_encode(md, 32, hex);
}

static void
make_accounts(void)
{
	put("etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "alice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n"
	    "bob:x:1001:1001::/home/bob:/usr/sbin/nologin\n"
	    "carol:abcdefghijklm:1002:1002::/home/carol:/bin/sh\n"
	    "dave:x:1003:1003::/home/dave:/bin/sh\n"
	    "broken line\n"
	    "\n", 0644);
	put("etc/shadow",
	    "root:$y$j9T$salt$hash:19000:0:99999:7:::\n"
	    "alice:!$6$x$y:19001:0:99999:7:30:20000:\n"
	    "bob:*:19002::::::\n"
	    "dave::19003:0:99999:7:::\n", 0640);
	put("etc/group",
	    "root:x:0:\n"
	    "sudo:x:27:bob,alice,,alice\n"
	    "users:x:100:\n", 0644);
	put("etc/gshadow", "sudo:!:carol,alice:bob,alice\n", 0640);
}

static void
test_names(void **state)
{
	unsigned bit;

	(void)state;
	assert_string_equal(collect_name(COLLECT_SYSCTL), "sysctl");
	assert_null(collect_name(1u << 20));
	assert_int_equal(collect_parse("commands", &bit), 0);
	assert_int_equal(bit, COLLECT_COMMANDS);
	assert_int_equal(collect_parse("files", &bit), VG_ERR_INVAL);
}

static void
test_users(void **state)
{
	struct collect_opts o = { .root = root };
	struct vg_item **v;
	char *problem, want[1024], h[65];
	size_t n;

	(void)state;
	make_accounts();
	v = collect(&o, COLLECT_USERS, &n, &problem);
	assert_null(problem);
	assert_int_equal(n, 5);
	assert_sorted(v, n);
	assert_int_equal(v[0]->kind, VG_KIND_USER);
	sha256_of("$y$j9T$salt$hash", 16, h);
	snprintf(want, sizeof(want), "expire= gecos=root gid=0 home=/root "
	    "inactive= last_change=19000 max_days=99999 min_days=0 "
	    "password=hashed password_sha256=%s shell=/bin/bash uid=0 "
	    "warn_days=7", h);
	assert_props(find(v, n, "root"), want);
	sha256_of("!$6$x$y", 7, h);
	snprintf(want, sizeof(want), "expire=20000 gecos=Alice,,, gid=1000 "
	    "home=/home/alice inactive=30 last_change=19001 max_days=99999 "
	    "min_days=0 password=locked password_sha256=%s shell=/bin/sh "
	    "uid=1000 warn_days=7", h);
	assert_props(find(v, n, "alice"), want);
	assert_string_equal(vg_item_prop(find(v, n, "bob"), "password"),
	    "disabled");
	assert_string_equal(vg_item_prop(find(v, n, "dave"), "password"),
	    "none");
	/* a hash in passwd itself, no shadow entry: no aging fields */
	sha256_of("abcdefghijklm", 13, h);
	snprintf(want, sizeof(want), "gecos= gid=1002 home=/home/carol "
	    "password=hashed password_sha256=%s shell=/bin/sh uid=1002", h);
	assert_props(find(v, n, "carol"), want);
	/* the hash itself is nowhere */
	for (size_t i = 0; i < n; i++)
		for (size_t p = 0; p < v[i]->nprops; p++)
			assert_null(strstr(v[i]->props[p].value, "$y$"));
	free_items(v, n);
}

static void
test_groups(void **state)
{
	struct collect_opts o = { .root = root };
	struct vg_item **v;
	char *problem;
	size_t n;

	(void)state;
	make_accounts();
	v = collect(&o, COLLECT_GROUPS, &n, &problem);
	assert_null(problem);
	assert_int_equal(n, 3);
	assert_sorted(v, n);
	assert_props(find(v, n, "sudo"), "admins=alice,carol gid=27 "
	    "members=alice,bob");
	assert_props(find(v, n, "root"), "gid=0 members=");
	assert_props(find(v, n, "users"), "gid=100 members=");
	free_items(v, n);
}

static void
test_packages(void **state)
{
	struct collect_opts o = { .root = root };
	struct vg_item **v;
	char *problem;
	size_t n;

	(void)state;
	put("var/lib/dpkg/status",
	    "Package: openssh-server\n"
	    "Status: install ok installed\n"
	    "Priority: optional\n"
	    "Architecture: amd64\n"
	    "Version: 1:9.2p1-2+deb12u3\n"
	    "Description: secure shell (SSH) server\n"
	    " Version: 0 (a continuation line, not a field)\n"
	    "\n"
	    "Package: gone\n"
	    "Status: deinstall ok config-files\n"
	    "Architecture: amd64\n"
	    "Version: 1.0\n"
	    "\n"
	    "Package: never\n"
	    "Status: purge ok not-installed\n"
	    "Architecture: amd64\n"
	    "\n"
	    "Package: tzdata\n"
	    "Status: install reinstreq half-installed\n"
	    "Architecture: all\n"
	    "Version: 2024a-0+deb12u1\n", 0644);
	v = collect(&o, COLLECT_PACKAGES, &n, &problem);
	assert_null(problem);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->path, "dpkg:openssh-server:amd64");
	assert_int_equal(v[0]->kind, VG_KIND_PACKAGE);
	assert_props(v[0], "arch=amd64 status=install ok installed "
	    "version=1:9.2p1-2+deb12u3");
	assert_string_equal(v[1]->path, "dpkg:tzdata:all");
	assert_props(v[1], "arch=all status=install reinstreq half-installed "
	    "version=2024a-0+deb12u1");
	free_items(v, n);
}

static void
test_services(void **state)
{
	static const char *const want[][2] = {
		{ "ssh.service", "enabled" }, { "off.service", "disabled" },
		{ "static.service", "static" }, { "masked.service", "masked" },
		{ "getty@.service", "enabled" },
		{ "also.service", "indirect" }, { "sshd.service", "alias" },
		{ "rt.service", "enabled-runtime" },
	};
	struct collect_opts o = { .root = root };
	struct vg_item **v;
	char *problem, props[128];
	size_t n, i;

	(void)state;
	put("lib/systemd/system/ssh.service", "[Unit]\nDescription=ssh\n"
	    "[Service]\nExecStart=/usr/sbin/sshd -D\n"
	    "[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n",
	    0644);
	put("lib/systemd/system/off.service", "[Service]\nExecStart=/x\n"
	    "[Install]\nWantedBy=multi-user.target\n", 0644);
	put("lib/systemd/system/static.service", "[Service]\nExecStart=/x\n",
	    0644);
	put("lib/systemd/system/masked.service", "[Service]\nExecStart=/x\n"
	    "[Install]\nWantedBy=multi-user.target\n", 0644);
	put("lib/systemd/system/getty@.service", "[Service]\nExecStart=/x\n"
	    "[Install]\nWantedBy=getty.target\n", 0644);
	put("lib/systemd/system/also.service", "[Service]\nExecStart=/x\n"
	    "[Install]\nAlso=ssh.service\n", 0644);
	put("usr/lib/systemd/system/ssh.service", "[Service]\n", 0644);
	put("lib/systemd/system/foo.socket", "[Socket]\n", 0644);
	put("run/systemd/system/rt.service", "[Service]\nExecStart=/x\n"
	    "[Install]\nWantedBy=multi-user.target\n", 0644);
	mkdirs("etc/systemd/system/multi-user.target.wants");
	mkdirs("etc/systemd/system/getty.target.wants");
	mkdirs("run/systemd/system/multi-user.target.wants");
	link_to("etc/systemd/system/multi-user.target.wants/ssh.service",
	    "/lib/systemd/system/ssh.service");
	link_to("etc/systemd/system/getty.target.wants/getty@tty1.service",
	    "/lib/systemd/system/getty@.service");
	link_to("run/systemd/system/multi-user.target.wants/rt.service",
	    "/run/systemd/system/rt.service");
	link_to("etc/systemd/system/masked.service", "/dev/null");
	link_to("etc/systemd/system/sshd.service",
	    "/lib/systemd/system/ssh.service");

	v = collect(&o, COLLECT_SERVICES, &n, &problem);
	assert_null(problem);
	assert_sorted(v, n);
	assert_int_equal(n, 8);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(props, sizeof(props), "active=unknown enabled=%s",
		    want[i][1]);
		assert_props(find(v, n, want[i][0]), props);
	}
	assert_null(find(v, n, "foo.socket"));
	free_items(v, n);
}

static void
test_sysctl_tree(void **state)
{
	struct collect_opts o = { .root = root };
	struct vg_item **v;
	char *problem;
	size_t n;

	(void)state;
	put("proc/sys/net/ipv4/ip_forward", "1\n", 0644);
	put("proc/sys/net/ipv4/conf/eth0.100/forwarding", "0\n", 0644);
	put("proc/sys/kernel/printk", "4\t4\t1\t7\n", 0644);
	put("proc/sys/kernel/random/uuid", "4b1c...\n", 0444);
	put("proc/sys/kernel/ns_last_pid", "4242\n", 0644);
	put("proc/sys/fs/file-nr", "1\t0\t9\n", 0444);
	put("proc/sys/fs/quota/lookups", "0\n", 0444);
	put("proc/sys/vm/drop_caches", "", 0200);
	put("proc/sys/vm/swappiness", "60\n", 0644);
	/* Kernel secrets never leave: files only root may read (as root
	 * runs the agent), and the known names whatever their mode. */
	put("proc/sys/kernel/cad_pid", "1\n", 0600);
	put("proc/sys/net/ipv4/conf/eth0/secret", "x\n", 0640);
	put("proc/sys/net/ipv4/tcp_fastopen_key", "00000000-0000\n", 0644);
	put("proc/sys/net/ipv6/conf/all/stable_secret", "fe80::1\n", 0444);
	put("proc/sys/net/ipv6/conf/eth0.100/stable_secret", "fe80::2\n",
	    0644);
	v = collect(&o, COLLECT_SYSCTL, &n, &problem);
	assert_null(problem);
	assert_int_equal(n, 4);
	assert_string_equal(v[0]->path, "kernel.printk");
	assert_props(v[0], "value=4 4 1 7");
	assert_string_equal(v[1]->path, "net.ipv4.conf.eth0/100.forwarding");
	assert_props(v[1], "value=0");
	assert_string_equal(v[2]->path, "net.ipv4.ip_forward");
	assert_props(v[2], "value=1");
	assert_string_equal(v[3]->path, "vm.swappiness");
	assert_int_equal(v[3]->kind, VG_KIND_SYSCTL);
	free_items(v, n);
}

static void
test_sysctl_live(void **state)
{
	struct collect_opts o = { 0 };
	struct vg_item **v;
	char *problem;
	size_t n, i;

	(void)state;
	v = collect(&o, COLLECT_SYSCTL, &n, &problem);
	assert_null(problem);
	assert_true(n > 50);
	assert_sorted(v, n);
	assert_props(find(v, n, "kernel.ostype"), "value=Linux");
	for (i = 0; i < n; i++) {
		assert_true(strncmp(v[i]->path, "kernel.random.", 14) != 0);
		assert_true(strcmp(v[i]->path, "fs.file-nr") != 0);
		assert_null(strstr(v[i]->path, "tcp_fastopen_key"));
		assert_null(strstr(v[i]->path, "stable_secret"));
		assert_null(strchr(vg_item_prop(v[i], "value"), '\t'));
	}
	free_items(v, n);
}

static void
test_ports_live(void **state)
{
	struct collect_opts o = { .root = "/" };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct vg_item **v;
	char *problem, comm[64] = "", name[64], uname[64], want[128];
	int tfd, ufd;
	size_t n;
	FILE *f;

	(void)state;
	assert_non_null(f = fopen("/proc/self/comm", "r"));
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((tfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(tfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(tfd, 1), 0);
	assert_int_equal(getsockname(tfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(name, sizeof(name), "tcp/127.0.0.1:%u", ntohs(sa.sin_port));
	sa.sin_port = 0;
	assert_true((ufd = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
	assert_int_equal(bind(ufd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sl = sizeof(sa);
	assert_int_equal(getsockname(ufd, (struct sockaddr *)&sa, &sl), 0);

	snprintf(uname, sizeof(uname), "udp/127.0.0.1:%u",
	    ntohs(sa.sin_port));

	v = collect(&o, COLLECT_PORTS, &n, &problem);
	assert_null(problem);
	assert_sorted(v, n);
	snprintf(want, sizeof(want), "process=%s user=root", comm);
	assert_props(find(v, n, name), want);
	assert_int_equal(find(v, n, name)->kind, VG_KIND_PORT);
	assert_props(find(v, n, uname), want);
	free_items(v, n);

	/* closed: gone */
	close(tfd);
	v = collect(&o, COLLECT_PORTS, &n, &problem);
	assert_null(find(v, n, name));
	assert_non_null(find(v, n, uname));
	free_items(v, n);
	close(ufd);
}

/* An approved file of the lines, owned by root, mode 0600. */
static void
approve(const char *lines)
{
	char path[4096];

	put("approved", lines, 0600);
	path_of("approved", path, sizeof(path));
	assert_int_equal(chown(path, 0, 0), 0);
}

static void
test_commands(void **state)
{
	char approved[4096], h[65], *problem, zeros[1000] = { 0 };
	char want[256];
	char *cmds[] = {
		"/bin/echo hello 'a  b'",
		"printf '%s|' a\\ b \"c \\\"d\\\"\" ''",
		"/bin/sh -c 'exit 3'",
		"/bin/sh -c 'kill -9 $$'",
		"/usr/bin/head -c 100000 /dev/zero",
		"/nonexistent/program",
		"/bin/echo not approved",
	};
	struct collect_opts o = { .which = COLLECT_COMMANDS, .commands = cmds,
		.ncommands = 7, .approved_file = approved, .output_cap = 1000 };
	struct vg_item **v;
	size_t n;

	(void)state;
	if (geteuid() != 0)
		skip();
	path_of("approved", approved, sizeof(approved));
	approve("# approved here\n"
	    "/bin/echo hello 'a  b'\n"
	    "  printf '%s|' a\\ b \"c \\\"d\\\"\" ''  \n"
	    "/bin/sh -c 'exit 3'\n"
	    "/bin/sh -c 'kill -9 $$'\n"
	    "/usr/bin/head -c 100000 /dev/zero\n"
	    "/nonexistent/program\n");
	v = collect(&o, COLLECT_COMMANDS, &n, &problem);
	assert_int_equal(n, 5);
	assert_sorted(v, n);
	sha256_of("hello a  b\n", 11, h);
	assert_string_equal(vg_item_prop(find(v, n, cmds[0]), "exit"), "0");
	assert_string_equal(vg_item_prop(find(v, n, cmds[0]),
	    "output_sha256"), h);
	sha256_of("a b|c \"d\"||", 11, h);
	assert_string_equal(vg_item_prop(find(v, n, cmds[1]),
	    "output_sha256"), h);
	assert_string_equal(vg_item_prop(find(v, n, cmds[2]), "exit"), "3");
	assert_string_equal(vg_item_prop(find(v, n, cmds[3]), "exit"),
	    "signal 9");
	sha256_of(zeros, sizeof(zeros), h);
	snprintf(want, sizeof(want), "exit=0 output_sha256=%s truncated=yes",
	    h);
	assert_props(find(v, n, cmds[4]), want);
	free_items(v, n);
	assert_non_null(problem);
	assert_non_null(strstr(problem, "/nonexistent/program: cannot run"));
	assert_non_null(strstr(problem, "not run: /bin/echo not approved"));
	free(problem);
}

static void
test_commands_refused(void **state)
{
	char approved[4096], *problem, *cmds[] = { "/bin/true" };
	struct collect_opts o = { .commands = cmds, .ncommands = 1,
		.approved_file = approved };
	struct vg_item **v;
	size_t n;

	(void)state;
	if (geteuid() != 0)
		skip();
	path_of("approved", approved, sizeof(approved));
	approve("/bin/true\n");
	v = collect(&o, COLLECT_COMMANDS, &n, &problem);
	assert_int_equal(n, 1);
	assert_null(problem);
	free_items(v, n);

	assert_int_equal(chmod(approved, 0620), 0);
	v = collect(&o, COLLECT_COMMANDS, &n, &problem);
	assert_int_equal(n, 0);
	assert_non_null(problem);
	assert_non_null(strstr(problem, "writable by group or others"));
	free(problem);
	free_items(v, n);

	assert_int_equal(chmod(approved, 0600), 0);
	assert_int_equal(chown(approved, 65534, 0), 0);
	v = collect(&o, COLLECT_COMMANDS, &n, &problem);
	assert_int_equal(n, 0);
	assert_non_null(strstr(problem, "owned by uid 65534, not root"));
	free(problem);
	free_items(v, n);

	assert_int_equal(unlink(approved), 0);
	v = collect(&o, COLLECT_COMMANDS, &n, &problem);
	assert_int_equal(n, 0);
	assert_non_null(strstr(problem, "no command runs"));
	free(problem);
	free_items(v, n);
}

static void
test_commands_timeout(void **state)
{
	char approved[4096], *problem, *cmds[] = { "/bin/sleep 30" };
	struct collect_opts o = { .commands = cmds, .ncommands = 1,
		.approved_file = approved, .timeout_ms = 200 };
	struct vg_item **v;
	double t0;
	size_t n;

	(void)state;
	if (geteuid() != 0)
		skip();
	path_of("approved", approved, sizeof(approved));
	approve("/bin/sleep 30\n");
	t0 = vg_now();
	v = collect(&o, COLLECT_COMMANDS, &n, &problem);
	assert_true(vg_now() - t0 < 5);
	assert_int_equal(n, 1);
	assert_string_equal(vg_item_prop(v[0], "exit"), "timeout");
	assert_non_null(problem);
	assert_non_null(strstr(problem, "/bin/sleep 30: killed after 200 ms"));
	free(problem);
	free_items(v, n);
}

/* Descriptors the agent holds (the hub connection, the queue) that are
 * not close-on-exec, one far up; closed by close_leaks(). */
static void
open_leaks(int fds[3])
{
	assert_true((fds[0] = socket(AF_INET, SOCK_STREAM, 0)) >= 3);
	assert_true((fds[1] = open("/dev/null", O_RDONLY)) >= 3);
	assert_int_equal(dup2(fds[1], 900), 900);
	fds[2] = 900;
}

static void
close_leaks(const int fds[3])
{
	size_t i;

	for (i = 0; i < 3; i++)
		close(fds[i]);
}

/* A command sees 0 to 2 and nothing else of the agent. */
static void
test_commands_fds(void **state)
{
	char approved[4096], h[65], *problem, *line, *arrow;
	char *cmds[] = { "/bin/ls /proc/self/fd" };
	char *argv[] = { "/bin/ls", "-l", "/proc/self/fd", NULL };
	struct collect_opts o = { .commands = cmds, .ncommands = 1,
		.approved_file = approved };
	struct col_run_result res;
	struct vg_item **v;
	char err[256];
	size_t n, pos = 0, seen = 0;
	long fd;
	int leaks[3];

	(void)state;
	if (geteuid() != 0)
		skip();
	open_leaks(leaks);
	path_of("approved", approved, sizeof(approved));
	approve("/bin/ls /proc/self/fd\n");
	v = collect(&o, COLLECT_COMMANDS, &n, &problem);
	assert_null(problem);
	assert_int_equal(n, 1);
	/* ls's own descriptor of the folder is 3 */
	sha256_of("0\n1\n2\n3\n", 8, h);
	assert_string_equal(vg_item_prop(v[0], "output_sha256"), h);
	free_items(v, n);

	assert_int_equal(col_run(argv, 0, 0, &res, err, sizeof(err)), 0);
	while ((line = col_next_line(res.out, res.len, &pos)) != NULL) {
		if ((arrow = strstr(line, " -> ")) == NULL)
			continue;
		*arrow = '\0';
		fd = strtol(strrchr(line, ' ') + 1, NULL, 10);
		if (fd > 2 && (fd != 3 || strncmp(arrow + 4, "/proc/", 6)))
			fail_msg("descriptor %ld -> %s open in the command",
			    fd, arrow + 4);
		seen++;
	}
	assert_int_equal(seen, 4);
	col_run_result_free(&res);
	close_leaks(leaks);
}

/* Which of the descriptors 0 to 1023 are open, as a bit each. */
static void
open_fds(unsigned char bits[128])
{
	int fd;

	memset(bits, 0, 128);
	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			bits[fd / 8] |= (unsigned char)(1u << fd % 8);
}

/* col_close_from3() in a child, both ways: what stays open. */
static void
test_close_from3(void **state)
{
	unsigned char bits[128];
	int leaks[3], keep, slow, st, fd;
	pid_t pid;

	(void)state;
	for (slow = 0; slow < 2; slow++) {
		open_leaks(leaks);
		assert_true((keep = open("/dev/null", O_RDONLY)) > 3);
		assert_true((pid = fork()) != -1);
		if (pid == 0) {
			col_close_from3(keep, 1024, slow);
			open_fds(bits);
			for (fd = 0; fd < 1024; fd++)
				if (!(bits[fd / 8] >> fd % 8 & 1) !=
				    !(fd <= 2 || fd == keep))
					_exit(1);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
		close(keep);
		close_leaks(leaks);
	}
}

/* An agent started with 0 to 2 closed: the pipes get those numbers, and
 * the command still has its stdin, stdout and stderr. */
static void
test_run_stdio_closed(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; cat", NULL };
	struct col_run_result res;
	char err[256];
	pid_t pid;
	int st;

	(void)state;
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		close(0);
		close(1);
		close(2);
		if (col_run(argv, 10000, 0, &res, err, sizeof(err)) != 0)
			_exit(1);
		if (res.timed_out || !WIFEXITED(res.status) ||
		    WEXITSTATUS(res.status) != 0)
			_exit(2);
		_exit(strcmp(res.out, "out\nerr\n") == 0 ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* The output buffer grows as output comes, up to the cap. */
static void
test_run_output(void **state)
{
	char *mib[] = { "/usr/bin/head", "-c", "1048577", "/dev/zero", NULL };
	char *cap[] = { "/usr/bin/head", "-c", "5000", "/dev/zero", NULL };
	char *over[] = { "/usr/bin/head", "-c", "5001", "/dev/zero", NULL };
	char *none[] = { "true", NULL };
	struct col_run_result res;
	char err[256];
	size_t i;

	(void)state;
	assert_int_equal(col_run(mib, 0, 0, &res, err, sizeof(err)), 0);
	assert_int_equal(res.len, 1048577);
	assert_false(res.truncated);
	for (i = 0; i < res.len && res.out[i] == '\0'; i++)
		;
	assert_int_equal(i, res.len);
	col_run_result_free(&res);

	assert_int_equal(col_run(cap, 0, 5000, &res, err, sizeof(err)), 0);
	assert_int_equal(res.len, 5000);
	assert_false(res.truncated);
	col_run_result_free(&res);

	assert_int_equal(col_run(over, 0, 5000, &res, err, sizeof(err)), 0);
	assert_int_equal(res.len, 5000);
	assert_true(res.truncated);
	col_run_result_free(&res);

	assert_int_equal(col_run(none, 0, 0, &res, err, sizeof(err)), 0);
	assert_int_equal(res.len, 0);
	assert_string_equal(res.out, "");
	assert_true(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
	col_run_result_free(&res);
}

/* ---- collect_run ---- */

static struct aq *
open_queue(const struct aq_limits *lim)
{
	char dir[4096], err[256];
	struct aq *q = NULL;

	path_of("q", dir, sizeof(dir));
	assert_true(mkdir(dir, 0700) == 0 || errno == EEXIST);
	if (aq_open(dir, lim, &q, err, sizeof(err)) != 0)
		fail_msg("aq_open: %s", err);
	return q;
}

static void
run(const struct collect_opts *o, struct aq *q)
{
	char err[512] = "";
	int r;

	if ((r = collect_run(o, q, err, sizeof(err))) != 0)
		fail_msg("collect_run: %s (%s)", err, vg_strerror(r));
}

/* The queued events, removed from the queue. */
static json_t *
take_events(struct aq *q, size_t *n)
{
	json_t *ev = NULL, *e;
	int64_t ids[64];
	size_t i;

	assert_int_equal(aq_peek(q, 64, 1 << 20, &ev, n), 0);
	assert_true(*n < 64);
	json_array_foreach(ev, i, e)
		ids[i] = json_integer_value(json_object_get(e, "id"));
	if (*n > 0)
		assert_int_equal(aq_ack(q, ids, *n), 0);
	return ev;
}

static const char *
str_at(const json_t *j, const char *a, const char *b, const char *c)
{
	j = json_object_get(j, a);
	if (b != NULL)
		j = json_object_get(j, b);
	if (c != NULL)
		j = json_object_get(j, c);
	assert_non_null(j);
	return json_string_value(j);
}

/* Runs the collectors; the events they queued, exactly want of them. */
static json_t *
run_events(const struct collect_opts *o, struct aq *q, size_t want)
{
	json_t *ev;
	size_t n;

	run(o, q);
	ev = take_events(q, &n);
	assert_int_equal(n, want);
	return ev;
}

static void
test_run(void **state)
{
	char approved[4096], out[4096], cat[4200], *cmds[1];
	struct collect_opts o = { .root = root, .which = COLLECT_USERS |
		COLLECT_GROUPS | COLLECT_COMMANDS, .commands = cmds,
		.ncommands = 1, .approved_file = approved };
	json_t *ev, *ch;
	struct aq *q;

	(void)state;
	if (geteuid() != 0)
		skip();
	make_accounts();
	path_of("approved", approved, sizeof(approved));
	path_of("out.txt", out, sizeof(out));
	snprintf(cat, sizeof(cat), "/bin/cat %s", out);
	cmds[0] = cat;
	put("out.txt", "one\ntwo\nthree\n", 0644);
	approve(cat);
	q = open_queue(NULL);

	/* first run: stored, silent */
	json_decref(run_events(&o, q, 0));
	json_decref(run_events(&o, q, 0));

	/* alice's shell */
	put("etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n"
	    "bob:x:1001:1001::/home/bob:/usr/sbin/nologin\n"
	    "carol:abcdefghijklm:1002:1002::/home/carol:/bin/sh\n"
	    "dave:x:1003:1003::/home/dave:/bin/sh\n", 0644);
	ev = run_events(&o, q, 1);
	ch = json_array_get(ev, 0);
	assert_string_equal(str_at(ch, "origin", NULL, NULL), "scan");
	ch = json_object_get(ch, "change");
	assert_string_equal(str_at(ch, "change", NULL, NULL), "changed");
	assert_string_equal(str_at(ch, "kind", NULL, NULL), "user");
	assert_string_equal(str_at(ch, "path", NULL, NULL), "alice");
	assert_string_equal(str_at(ch, "old", "props", "shell"), "/bin/sh");
	assert_string_equal(str_at(ch, "new", "props", "shell"),
	    "/bin/bash");
	json_decref(ev);

	/* the group users */
	put("etc/group", "root:x:0:\nsudo:x:27:bob,alice,,alice\n", 0644);
	ev = run_events(&o, q, 1);
	ch = json_object_get(json_array_get(ev, 0), "change");
	assert_string_equal(str_at(ch, "change", NULL, NULL), "removed");
	assert_string_equal(str_at(ch, "kind", NULL, NULL), "group");
	assert_string_equal(str_at(ch, "path", NULL, NULL), "users");
	assert_null(json_object_get(ch, "new"));
	json_decref(ev);

	/* the command's output */
	put("out.txt", "one\n2\nthree\n", 0644);
	ev = run_events(&o, q, 1);
	ch = json_object_get(json_array_get(ev, 0), "change");
	assert_string_equal(str_at(ch, "change", NULL, NULL), "changed");
	assert_string_equal(str_at(ch, "kind", NULL, NULL), "command");
	assert_string_equal(str_at(ch, "path", NULL, NULL), cat);
	assert_non_null(strstr(str_at(ch, "diff", NULL, NULL),
	    "@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"));
	json_decref(ev);

	/* an approved file gone bad: one agent event, no removal */
	assert_int_equal(chmod(approved, 0666), 0);
	ev = run_events(&o, q, 1);
	assert_string_equal(str_at(json_array_get(ev, 0), "agent", "code",
	    NULL), "approved-commands");
	json_decref(ev);
	assert_int_equal(chmod(approved, 0600), 0);
	json_decref(run_events(&o, q, 0));
	aq_close(q);
}

/* A kind whose events do not all fit is left as stored, so the next
 * run reports all of them. */
static void
test_run_queue_full(void **state)
{
	struct aq_limits lim = { .max_events = 1 };
	struct collect_opts o = { .root = root, .which = COLLECT_GROUPS |
		COLLECT_USERS };
	struct aq_stats st;
	struct aq *q;

	(void)state;
	make_accounts();
	q = open_queue(&lim);
	run(&o, q);
	put("etc/group", "root:x:0:\n", 0644);
	put("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644);
	run(&o, q);
	assert_int_equal(aq_stats(q, &st), 0);
	assert_true(st.events == 0);
	aq_close(q);

	q = open_queue(NULL);
	/* sudo and users removed; alice, bob, carol, dave removed and
	 * root changed */
	json_decref(run_events(&o, q, 7));
	json_decref(run_events(&o, q, 0));
	aq_close(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_packages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_services, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sysctl_tree, setup,
		    teardown),
		cmocka_unit_test(test_sysctl_live),
		cmocka_unit_test(test_ports_live),
		cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commands_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commands_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_commands_fds, setup,
		    teardown),
		cmocka_unit_test(test_close_from3),
		cmocka_unit_test(test_run_stdio_closed),
		cmocka_unit_test(test_run_output),
		cmocka_unit_test_setup_teardown(test_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_queue_full, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
