/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect_int.h"
#include "vg_err.h"
#include "vg_util.h"

/*
 * Commands: the policy's command lines that the local approved file also
 * holds, each run without a shell in a clean environment, its output
 * hashed (the item) and kept (for the diff of the next change).
 */

#define CMD_TIMEOUT_MS 60000
#define CMD_OUTPUT_CAP (4u * 1024 * 1024)
#define APPROVED_DEFAULT "/etc/vigil/approved-commands"
#define APPROVED_MAX (1024 * 1024)
#define CMD_ARGS_MAX 256

static char *const clean_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LC_ALL=C", NULL };
static const char *const path_dirs[] = { "/usr/sbin", "/usr/bin", "/sbin",
	"/bin" };
#define NPATH (sizeof(path_dirs) / sizeof(path_dirs[0]))

/* ---- the runner ---- */

void
col_run_result_free(struct col_run_result *res)
{
	free(res->out);
	memset(res, 0, sizeof(*res));
}

/* The first read of the output takes this much; the buffer doubles as
 * output arrives, up to the cap. */
#define CMD_OUTPUT_FIRST 4096

/* Names of /proc/self/fd read at a time by the child (on its stack). */
#define FDDIR_BUF 4096

struct linux_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* fd moved to 3 or above (the child's 0 to 2 are to be overwritten),
 * still close-on-exec; -1 on failure. Async-signal-safe. */
static int
above_stdio(int fd)
{
	return fd > 2 ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/* Closes every descriptor from 3 up except keep, by reading
 * /proc/self/fd with getdents64 (no malloc, unlike opendir); else by
 * trying each one up to maxfd. Async-signal-safe. */
static void
close_from3_slow(int keep, int maxfd)
{
	char buf[FDDIR_BUF];
	struct linux_dirent64 *de;
	long n, off;
	int dfd, fd;
	const char *p;

	if ((dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) >
		    0) {
			for (off = 0; off < n; off += de->d_reclen) {
				de = (struct linux_dirent64 *)(buf + off);
				for (fd = 0, p = de->d_name; *p >= '0' &&
				    *p <= '9' && fd < 1 << 24; p++)
					fd = fd * 10 + (*p - '0');
				if (*p == '\0' && p != de->d_name &&
				    fd > 2 && fd != keep && fd != dfd)
					close(fd);
			}
		}
		close(dfd);
		if (n == 0)
			return;
	}
	for (fd = 3; fd < maxfd; fd++)
		if (fd != keep)
			close(fd);
}

void
col_close_from3(int keep, int maxfd, int slow)
{
	if (!slow && (keep == 3 || close_range(3, (unsigned)keep - 1, 0) ==
	    0) && close_range((unsigned)keep + 1, ~0U, 0) == 0)
		return;
	close_from3_slow(keep, maxfd);  /* a kernel before 5.9 */
}

/*
 * In the child, after fork(): only async-signal-safe calls (the agent
 * has other threads; a lock one of them held at the fork stays held
 * here). Every descriptor but 0 to 2 and errfd (close-on-exec: it tells
 * the parent why execve failed) is closed, so the hub's TLS connection,
 * the queue's database and whatever another thread just opened do not
 * reach the command.
 */
static void __attribute__((noreturn))
child(char *const *argv, char cand[][PATH_MAX], size_t ncand, int devnull,
    int out, int errfd, int maxfd)
{
	struct sigaction sa;
	sigset_t all;
	int e = ENOENT, sig;
	size_t i;

	setpgid(0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* With 0 to 2 closed in the agent, a pipe may be one of them:
	 * dup2() onto itself would keep its close-on-exec flag. */
	if ((devnull = above_stdio(devnull)) == -1 ||
	    (out = above_stdio(out)) == -1 || (errfd = above_stdio(errfd)) ==
	    -1 || dup2(devnull, 0) == -1 || dup2(out, 1) == -1 ||
	    dup2(out, 2) == -1)
		_exit(127);
	col_close_from3(errfd, maxfd, 0);
	for (i = 0; i < ncand; i++) {
		execve(cand[i], argv, clean_env);
		if (errno != ENOENT)
			e = errno;
	}
	(void)!write(errfd, &e, sizeof(e));
	_exit(127);
}

static int
remaining_ms(double deadline)
{
	double left = deadline - vg_now();

	return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

/* Room for more output in res->out (alloc bytes, one kept for the NUL),
 * doubling up to cap + 1. 0 or VG_ERR_NOMEM. */
static int
out_room(struct col_run_result *res, size_t *alloc, size_t cap)
{
	size_t want;
	char *p;

	if (res->len + 1 < *alloc)
		return 0;
	want = *alloc == 0 ? CMD_OUTPUT_FIRST : *alloc > cap / 2 ? cap + 1 :
	    *alloc * 2;
	if (want > cap + 1)
		want = cap + 1;
	if ((p = realloc(res->out, want)) == NULL)
		return VG_ERR_NOMEM;
	res->out = p;
	*alloc = want;
	return 0;
}

/* Reads the output until EOF or the deadline (then res->timed_out). 0 or
 * VG_ERR_NOMEM. */
static int
drain(int fd, double deadline, size_t cap, struct col_run_result *res,
    size_t *alloc)
{
	char scratch[65536];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int ms;

	for (;;) {
		if ((ms = remaining_ms(deadline)) == 0) {
			res->timed_out = 1;
			return 0;
		}
		if (poll(&pfd, 1, ms) == -1) {
			if (errno == EINTR)
				continue;
			res->timed_out = 1;
			return 0;
		}
		if (pfd.revents == 0)
			continue;
		if (res->len < cap) {
			if (out_room(res, alloc, cap) != 0)
				return VG_ERR_NOMEM;
			n = read(fd, res->out + res->len, *alloc - 1 -
			    res->len);
		} else
			n = read(fd, scratch, sizeof(scratch));
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return 0;
		if (res->len < cap)
			res->len += (size_t)n;
		else
			res->truncated = 1;
	}
}

/* Waits for pid until the deadline; then kills its process group. */
static void
reap(pid_t pid, double deadline, struct col_run_result *res)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	pid_t w;

	while (!res->timed_out) {
		if ((w = waitpid(pid, &res->status, WNOHANG)) == pid)
			return;
		if (w == -1 && errno != EINTR)
			return;
		if (remaining_ms(deadline) == 0)
			res->timed_out = 1;
		else
			nanosleep(&ts, NULL);
	}
	kill(-pid, SIGKILL);
	while (waitpid(pid, &res->status, 0) == -1 && errno == EINTR)
		;
}

int
col_run(char *const *argv, int timeout_ms, size_t cap,
    struct col_run_result *res, char *err, size_t errlen)
{
	char cand[NPATH][PATH_MAX];
	int out[2] = { -1, -1 }, ep[2] = { -1, -1 }, devnull = -1, e = 0;
	size_t ncand = 0, i, alloc = 0;
	long maxfd;
	double deadline;
	pid_t pid;
	int r = VG_ERR_IO;

	memset(res, 0, sizeof(*res));
	if (timeout_ms <= 0)
		timeout_ms = CMD_TIMEOUT_MS;
	if (cap == 0)
		cap = CMD_OUTPUT_CAP;
	/* Everything the child needs is made here: it must not allocate. */
	if (strchr(argv[0], '/') != NULL)
		ncand = snprintf(cand[0], PATH_MAX, "%s", argv[0]) < PATH_MAX;
	else
		for (i = 0; i < NPATH; i++)
			if (snprintf(cand[ncand], PATH_MAX, "%s/%s",
			    path_dirs[i], argv[0]) < PATH_MAX)
				ncand++;
	if ((maxfd = sysconf(_SC_OPEN_MAX)) <= 0 || maxfd > 1 << 20)
		maxfd = 1 << 20;
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(ep, O_CLOEXEC) == -1 ||
	    (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", argv[0], strerror(errno));
		goto out;
	}
	deadline = vg_now() + timeout_ms / 1000.0;
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "%s: fork: %s", argv[0], strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(argv, cand, ncand, devnull, out[1], ep[1], (int)maxfd);
	setpgid(pid, pid);
	close(out[1]);
	close(ep[1]);
	out[1] = ep[1] = -1;
	if ((r = drain(out[0], deadline, cap, res, &alloc)) != 0) {
		snprintf(err, errlen, "%s: out of memory", argv[0]);
		res->timed_out = 1;     /* reap() kills it at once */
		reap(pid, deadline, res);
		goto out;
	}
	reap(pid, deadline, res);
	/* drain() always leaves a byte for the NUL, but no buffer at all
	 * when there was no output. */
	if (res->out == NULL && (res->out = malloc(1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", argv[0]);
		r = VG_ERR_NOMEM;
		goto out;
	}
	res->out[res->len] = '\0';
	if (!res->timed_out && read(ep[0], &e, sizeof(e)) == sizeof(e)) {
		snprintf(err, errlen, "%s: %s", argv[0], strerror(e));
		r = vg_err_from_errno(e);
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		col_run_result_free(res);
	for (i = 0; i < 2; i++) {
		if (out[i] != -1)
			close(out[i]);
		if (ep[i] != -1)
			close(ep[i]);
	}
	if (devnull != -1)
		close(devnull);
	return r;
}

/* ---- the approved file ---- */

/* The approved file's lines, when root owns it and only root may write
 * it: otherwise anyone who could write it could run commands as us. */
static int
approved_load(const char *file, char **buf, size_t *len, char *why,
    size_t whylen)
{
	struct stat st;
	int fd, r;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		snprintf(why, whylen, "%s: %s", file, strerror(errno));
		return vg_err_from_errno(errno);
	}
	r = VG_ERR_PERM;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		snprintf(why, whylen, "%s: not a regular file", file);
	else if (st.st_uid != 0)
		snprintf(why, whylen, "%s: owned by uid %lu, not root", file,
		    (unsigned long)st.st_uid);
	else if ((st.st_mode & 022) != 0)
		snprintf(why, whylen, "%s: writable by group or others "
		    "(mode %04o)", file, (unsigned)(st.st_mode & 07777));
	else if ((r = col_read_fd(fd, APPROVED_MAX, buf, len)) != 0)
		snprintf(why, whylen, "%s: %s", file, vg_strerror(r));
	close(fd);
	return r;
}

/* The command lines of the approved file (in place, into buf). */
static int
approved_lines(char *buf, size_t len, char ***lines, size_t *n)
{
	size_t pos = 0, cap = 0;
	char *line;

	*lines = NULL;
	*n = 0;
	while ((line = col_next_line(buf, len, &pos)) != NULL) {
		line = col_trim(line);
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (col_grow(lines, &cap, *n, sizeof(**lines)) != 0) {
			free(*lines);
			*lines = NULL;
			return VG_ERR_NOMEM;
		}
		(*lines)[(*n)++] = line;
	}
	return 0;
}

static int
approved(char *const *lines, size_t n, const char *cmd)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(lines[i], cmd) == 0)
			return 1;
	return 0;
}

/* ---- splitting a command line ---- */

/* Words separated by blanks, with '...' (literal) and "..." (\" and \\
 * escaped) quoting and \ escaping outside quotes. *argv and *store are
 * malloc'd. VG_ERR_INVAL with why set on a bad line. */
static int
split_line(const char *line, char ***argv, char **store, char *why,
    size_t whylen)
{
	char **v, *w;
	const char *p = line;
	size_t n = 0;
	char q;

	*argv = NULL;
	if ((*store = w = malloc(strlen(line) + 1)) == NULL ||
	    (v = calloc(CMD_ARGS_MAX + 1, sizeof(*v))) == NULL) {
		free(*store);
		return VG_ERR_NOMEM;
	}
	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		if (n == CMD_ARGS_MAX) {
			snprintf(why, whylen, "more than %d words",
			    CMD_ARGS_MAX);
			goto bad;
		}
		v[n++] = w;
		while (*p != '\0' && *p != ' ' && *p != '\t') {
			if (*p == '\'' || *p == '"') {
				q = *p++;
				while (*p != '\0' && *p != q) {
					if (q == '"' && *p == '\\' &&
					    (p[1] == '"' || p[1] == '\\'))
						p++;
					*w++ = *p++;
				}
				if (*p++ != q) {
					snprintf(why, whylen, "unterminated "
					    "%c quote", q);
					goto bad;
				}
			} else if (*p == '\\') {
				if (*++p == '\0') {
					snprintf(why, whylen, "a \\ at the end");
					goto bad;
				}
				*w++ = *p++;
			} else
				*w++ = *p++;
		}
		*w++ = '\0';
	}
	if (n == 0) {
		snprintf(why, whylen, "empty command");
		goto bad;
	}
	*argv = v;
	return 0;
bad:
	free(v);
	free(*store);
	*store = NULL;
	return VG_ERR_INVAL;
}

/* ---- the collector ---- */

static int
command_item(const struct collect_opts *o, struct col_set *s,
    const char *line)
{
	struct col_props pr = { 0 };
	struct col_run_result res;
	char why[512], hex[65], **argv = NULL, *store = NULL;
	int r;

	if (strlen(line) > VG_ITEM_PATH_MAX)
		return col_problem(s, "collect-error", "a command of %zu bytes "
		    "is longer than %d", strlen(line), VG_ITEM_PATH_MAX);
	if ((r = split_line(line, &argv, &store, why, sizeof(why))) != 0)
		return r == VG_ERR_INVAL ? col_problem(s, "collect-error",
		    "%s: %s", line, why) : r;
	r = col_run(argv, o->timeout_ms, o->output_cap, &res, why,
	    sizeof(why));
	free(argv);
	free(store);
	if (r != 0)
		return r == VG_ERR_NOMEM ? r : col_problem(s,
		    "collect-error", "%s: cannot run: %s", line, why);
	if (res.timed_out) {
		r = col_problem(s, "command-timeout", "%s: killed after %d "
		    "ms", line, o->timeout_ms > 0 ? o->timeout_ms :
		    CMD_TIMEOUT_MS);
		if (r == 0)
			r = col_prop(&pr, "exit", "timeout");
	} else if (WIFSIGNALED(res.status))
		r = col_propf(&pr, "exit", "signal %d", WTERMSIG(res.status));
	else
		r = col_propf(&pr, "exit", "%d", WEXITSTATUS(res.status));
	if (r == 0)
		r = col_sha256_hex(res.out, res.len, hex);
	if (r == 0)
		r = col_prop(&pr, "output_sha256", hex);
	if (r == 0 && res.truncated)
		r = col_prop(&pr, "truncated", "yes");
	if (r == 0) {
		r = col_set_add(s, VG_KIND_COMMAND, line, &pr, res.out,
		    res.len);
		res.out = NULL;
	}
	col_props_clear(&pr);
	col_run_result_free(&res);
	return r;
}

int
col_commands(const struct collect_opts *o, struct col_set *s, char *err,
    size_t errlen)
{
	const char *file = o->approved_file != NULL ? o->approved_file :
	    APPROVED_DEFAULT;
	char why[512], *buf = NULL, **lines = NULL;
	size_t len = 0, n = 0, i;
	int r = 0;

	if (o->ncommands == 0)
		return 0;
	if (approved_load(file, &buf, &len, why, sizeof(why)) != 0) {
		/* Keep the stored state: no command ran, none went away. */
		s->keep = 1;
		r = col_problem(s, "approved-commands", "no command runs: %s",
		    why);
		goto out;
	}
	if ((r = approved_lines(buf, len, &lines, &n)) != 0)
		goto out;
	for (i = 0; r == 0 && i < o->ncommands; i++) {
		if (!approved(lines, n, o->commands[i]))
			r = col_problem(s, "approved-commands", "not in %s, "
			    "not run: %s", file, o->commands[i]);
		else
			r = command_item(o, s, o->commands[i]);
	}
out:
	if (r != 0)
		snprintf(err, errlen, "commands: %s", vg_strerror(r));
	free(lines);
	free(buf);
	return r;
}
