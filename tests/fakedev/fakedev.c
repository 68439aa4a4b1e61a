/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vigil-fakedev: fake network devices over SSH and Telnet for the proxy
 * agent's tests and benches. See README.md beside this file.
 *
 * The main thread accepts on both listeners and starts one thread per
 * connection (at most --threads at once: beyond, connections wait in the
 * listen backlog). SIGTERM or SIGINT: the listeners close, every open
 * connection is shut down, the threads end, the program exits 0.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy_sim.h"

#include "fakedev.h"
#include "fd_ssh.h"
#include "fd_telnet.h"
#include "vg_err.h"
#include "vg_util.h"

#define USERS_MAX 100000
#define THREAD_STACK (2u * 1024 * 1024)
#define STOP_WAIT_S 10

volatile int fd_stopping;

static int sig_pipe[2] = { -1, -1 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ended = PTHREAD_COND_INITIALIZER;
static size_t active;
static int *conn_fds;
static size_t conn_max;

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static struct fd_user default_user = { NULL, "test", "enable" };

/* ---- accounts and state ---- */

const struct fd_user *
fd_login(const struct fd_conf *c, const char *user, const char *password,
    const char **name)
{
	size_t i;

	if (c->nusers == 0) {
		if (strcmp(password, default_user.password) != 0)
			return NULL;
		*name = user != NULL ? user : "router";
		return &default_user;
	}
	for (i = 0; i < c->nusers; i++) {
		if ((user == NULL || strcmp(c->users[i].name, user) == 0) &&
		    strcmp(c->users[i].password, password) == 0) {
			*name = c->users[i].name;
			return &c->users[i];
		}
	}
	return NULL;
}

const struct fd_user *
fd_user_find(const struct fd_conf *c, const char *user)
{
	size_t i;

	if (c->nusers == 0)
		return &default_user;
	for (i = 0; i < c->nusers; i++)
		if (strcmp(c->users[i].name, user) == 0)
			return &c->users[i];
	return NULL;
}

char *
fd_next_line(char **p, size_t *lineno)
{
	char *line, *nl;

	while (**p != '\0') {
		line = *p;
		if ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			*p = nl + 1;
		} else {
			*p = line + strlen(line);
		}
		(*lineno)++;
		line = vg_trim(line);
		if (*line != '\0' && *line != '#')
			return line;
	}
	return NULL;
}

int
fd_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap) {
		dst[0] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int
fd_name_ok(const char *name)
{
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
	    "QRSTUVWXYZ0123456789._-");

	return n > 0 && name[n] == '\0' && n < FD_NAME_MAX && name[0] != '.';
}

void
fd_count_session(const struct fd_conf *c, const char *name)
{
	char path[4096], err[512], num[32], *text = NULL;
	size_t len;
	long n = 0;

	if (c->state_dir == NULL || !fd_name_ok(name))
		return;
	snprintf(path, sizeof(path), "%s/%s.count", c->state_dir, name);
	pthread_mutex_lock(&count_lock);
	if (vg_read_file(path, 64, &text, &len, err, sizeof(err)) == 0 &&
	    vg_parse_long(vg_trim(text), 0, 0x7fffffffL, &n) != 0)
		n = 0;
	free(text);
	len = (size_t)snprintf(num, sizeof(num), "%ld\n", n + 1);
	if (vg_write_file_atomic(path, num, len, 0644, err, sizeof(err)) != 0)
		fprintf(stderr, "vigil-fakedev: %s\n", err);
	pthread_mutex_unlock(&count_lock);
}

void
fd_conn_register(int fd)
{
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < conn_max; i++) {
		if (conn_fds[i] < 0) {
			conn_fds[i] = fd;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
}

void
fd_conn_unregister(int fd)
{
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < conn_max; i++)
		if (conn_fds[i] == fd)
			conn_fds[i] = -1;
	pthread_mutex_unlock(&lock);
}

/* Every open connection gets an end of file: its thread ends soon. */
static void
shutdown_all(void)
{
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < conn_max; i++)
		if (conn_fds[i] >= 0)
			shutdown(conn_fds[i], SHUT_RDWR);
	pthread_mutex_unlock(&lock);
}

static int
load_users(const char *file, struct fd_conf *c, char *err, size_t errlen)
{
	char *text = NULL, *p, *line, *pw, *en;
	struct fd_user *g;
	size_t len, lineno = 0;
	int r;

	if ((r = vg_read_file(file, 16u * 1024 * 1024, &text, &len, err,
	    errlen)) != 0)
		return r;
	p = text;
	while ((line = fd_next_line(&p, &lineno)) != NULL) {
		if ((pw = strchr(line, ':')) == NULL) {
			snprintf(err, errlen, "%s:%zu: want user:password"
			    "[:enable]", file, lineno);
			r = VG_ERR_FORMAT;
			goto out;
		}
		*pw++ = '\0';
		if ((en = strchr(pw, ':')) != NULL)
			*en++ = '\0';
		if (!fd_name_ok(line) || c->nusers >= USERS_MAX ||
		    (en != NULL && strlen(en) >= FD_ENABLE_MAX)) {
			snprintf(err, errlen, "%s:%zu: bad user name (letters, "
			    "digits, . _ -), enable secret too long or too many "
			    "users", file, lineno);
			r = VG_ERR_FORMAT;
			goto out;
		}
		if ((g = realloc(c->users, (c->nusers + 1) *
		    sizeof(*g))) == NULL) {
			r = VG_ERR_NOMEM;
			goto out;
		}
		c->users = g;
		g = &c->users[c->nusers];
		g->name = strdup(line);
		g->password = strdup(pw);
		g->enable = strdup(en != NULL ? en : "enable");
		c->nusers++;
		if (g->name == NULL || g->password == NULL ||
		    g->enable == NULL) {
			r = VG_ERR_NOMEM;
			goto out;
		}
	}
	r = 0;
out:
	explicit_bzero(text, len);
	free(text);
	return r;
}

static void
free_users(struct fd_conf *c)
{
	size_t i;

	for (i = 0; i < c->nusers; i++) {
		free(c->users[i].name);
		free(c->users[i].password);
		free(c->users[i].enable);
	}
	free(c->users);
}

static int
parse_quirk(struct fd_quirks *q, const char *s)
{
	long v;

	if (strcmp(s, "pager") == 0)
		q->pager = 1;
	else if (strcmp(s, "escapes") == 0)
		q->escapes = 1;
	else if (strcmp(s, "password-only") == 0)
		q->password_only = 1;
	else if (strcmp(s, "ignore-exit") == 0)
		q->ignore_exit = 1;
	else if (strncmp(s, "slow:", 5) == 0 &&
	    vg_parse_long(s + 5, 1, 60000, &v) == 0)
		q->slow_ms = (unsigned int)v;
	else if (strncmp(s, "truncate:", 9) == 0 &&
	    vg_parse_long(s + 9, 1, 0x7fffffffL, &v) == 0)
		q->truncate = (size_t)v;
	else if (strncmp(s, "user-prompt:", 12) == 0 && s[12] != '\0' &&
	    strlen(s + 12) + 2 < sizeof(q->user_prompt))
		snprintf(q->user_prompt, sizeof(q->user_prompt), "%s ",
		    s + 12);
	else
		return VG_ERR_INVAL;
	return 0;
}

/* ---- listeners and threads ---- */

static int
listen_on(const char *addr, long port, unsigned int *bound)
{
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof(sa);
	int fd, one = 1;

	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 1024) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(sa.sin_port);
	return fd;
}

struct job {
	const struct fd_conf *c;
	int fd;
	ssh_session s; /* SSH, or NULL for Telnet */
	char peer[64];
};

static void *
job_run(void *arg)
{
	struct job *j = arg;

	if (j->s != NULL) {
		fd_ssh_serve(j->c, j->s, j->peer);
		fd_conn_unregister(j->fd);
		ssh_free(j->s); /* closes the socket */
	} else {
		fd_telnet_serve(j->c, j->fd, j->peer);
		fd_conn_unregister(j->fd);
		close(j->fd);
	}
	free(j);
	pthread_mutex_lock(&lock);
	active--;
	pthread_cond_broadcast(&ended);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void
accept_one(const struct fd_conf *c, int lfd, ssh_bind sb)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	pthread_attr_t attr;
	pthread_t th;
	struct job *j;
	char ip[INET_ADDRSTRLEN] = "?";
	int fd;

	if ((fd = accept4(lfd, (struct sockaddr *)&sa, &sl,
	    SOCK_CLOEXEC)) < 0)
		return;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		close(fd);
		return;
	}
	j->c = c;
	j->fd = fd;
	inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
	snprintf(j->peer, sizeof(j->peer), "%s:%u", ip, ntohs(sa.sin_port));
	if (sb != NULL) {
		if ((j->s = ssh_new()) == NULL ||
		    ssh_bind_accept_fd(sb, j->s, fd) != SSH_OK) {
			fprintf(stderr, "vigil-fakedev: ssh %s: %s\n", j->peer,
			    j->s != NULL ? ssh_get_error(sb) : "out of memory");
			if (j->s != NULL)
				ssh_free(j->s);
			close(fd);
			free(j);
			return;
		}
	}
	fd_conn_register(fd);
	pthread_mutex_lock(&lock);
	active++;
	pthread_mutex_unlock(&lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	if (pthread_create(&th, &attr, job_run, j) != 0) {
		fprintf(stderr, "vigil-fakedev: cannot start a thread\n");
		pthread_mutex_lock(&lock);
		active--;
		pthread_mutex_unlock(&lock);
		fd_conn_unregister(fd);
		if (j->s != NULL)
			ssh_free(j->s);
		else
			close(fd);
		free(j);
	}
	pthread_attr_destroy(&attr);
}

static void
on_signal(int sig)
{
	int saved = errno;

	(void)sig;
	fd_stopping = 1;
	if (write(sig_pipe[1], "x", 1) < 0)
		(void)0;
	errno = saved;
}

/* Waits for the connection threads to end after a stop. */
static int
wait_threads(void)
{
	struct timespec until;
	int left;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_WAIT_S;
	pthread_mutex_lock(&lock);
	while (active > 0 &&
	    pthread_cond_timedwait(&ended, &lock, &until) == 0)
		;
	left = active > 0;
	pthread_mutex_unlock(&lock);
	return left;
}

static void
serve(const struct fd_conf *c, int sfd, int tfd, ssh_bind sb,
    size_t max)
{
	struct pollfd p[3];
	char drain[64];
	nfds_t n;
	int i;

	while (!fd_stopping) {
		n = 0;
		p[n].fd = sig_pipe[0];
		p[n++].events = POLLIN;
		pthread_mutex_lock(&lock);
		i = active < max;
		pthread_mutex_unlock(&lock);
		if (i && sfd >= 0) {
			p[n].fd = sfd;
			p[n++].events = POLLIN;
		}
		if (i && tfd >= 0) {
			p[n].fd = tfd;
			p[n++].events = POLLIN;
		}
		if (poll(p, n, i ? 1000 : 50) <= 0)
			continue;
		if ((p[0].revents & POLLIN) != 0 &&
		    read(sig_pipe[0], drain, sizeof(drain)) < 0)
			(void)0;
		for (i = 1; i < (int)n && !fd_stopping; i++)
			if ((p[i].revents & POLLIN) != 0)
				accept_one(c, p[i].fd, p[i].fd == sfd ? sb :
				    NULL);
	}
}

static int
write_small(const char *path, const char *text)
{
	char err[512];

	if (vg_write_file_atomic(path, text, strlen(text), 0644, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "vigil-fakedev: %s\n", err);
		return -1;
	}
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: vigil-fakedev [--ssh-port P --host-key FILE] "
	    "[--telnet-port Q] [--listen 127.0.0.1]\n"
	    "         (--fixture FILE.yaml | --synthetic LINES) "
	    "[--quirk Q]... [--state-dir D]\n"
	    "         [--users FILE] [--authorized-keys FILE] "
	    "[--legacy-ssh] [--pidfile F]\n"
	    "         [--ports-file F] [--threads N] [--idle S] [-v]\n"
	    "quirks: pager, escapes, password-only, ignore-exit, slow:MS, "
	    "truncate:N,\n        user-prompt:TEXT\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ssh-port", required_argument, NULL, 's' },
		{ "telnet-port", required_argument, NULL, 't' },
		{ "listen", required_argument, NULL, 'l' },
		{ "host-key", required_argument, NULL, 'k' },
		{ "authorized-keys", required_argument, NULL, 'a' },
		{ "fixture", required_argument, NULL, 'f' },
		{ "synthetic", required_argument, NULL, 'y' },
		{ "quirk", required_argument, NULL, 'q' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "users", required_argument, NULL, 'u' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "ports-file", required_argument, NULL, 'P' },
		{ "threads", required_argument, NULL, 'n' },
		{ "idle", required_argument, NULL, 'i' },
		{ "legacy-ssh", no_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fd_conf c = { 0 };
	struct sigaction sa = { 0 };
	struct sim *fixture = NULL;
	ssh_bind sb = NULL;
	const char *listen_addr = "127.0.0.1", *host_key = NULL;
	const char *fixture_file = NULL, *pidfile = NULL, *ports_file = NULL;
	const char *users_file = NULL, *keys_file = NULL;
	char err[1024], ports[128];
	long ssh_port = -1, telnet_port = -1, threads = 256, v;
	unsigned int sport = 0, tport = 0;
	int ch, sfd = -1, tfd = -1, legacy = 0, rc = 1, verbosity = 0;
	FILE *f;
	size_t i;

	c.idle_s = 60;
	snprintf(c.q.user_prompt, sizeof(c.q.user_prompt), "Username: ");
	while ((ch = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
		case 't':
			if (vg_parse_long(optarg, 0, 65535, &v) != 0) {
				fprintf(stderr, "vigil-fakedev: bad port "
				    "'%s'\n", optarg);
				return 2;
			}
			*(ch == 's' ? &ssh_port : &telnet_port) = v;
			break;
		case 'l': listen_addr = optarg; break;
		case 'k': host_key = optarg; break;
		case 'a': keys_file = optarg; break;
		case 'f': fixture_file = optarg; break;
		case 'y':
			if (vg_parse_long(optarg, 1, 10000000, &v) != 0) {
				fprintf(stderr, "vigil-fakedev: --synthetic "
				    "wants a number of lines\n");
				return 2;
			}
			c.synthetic_lines = v;
			break;
		case 'q':
			if (parse_quirk(&c.q, optarg) != 0) {
				fprintf(stderr, "vigil-fakedev: unknown quirk "
				    "'%s'\n", optarg);
				usage(stderr);
				return 2;
			}
			break;
		case 'd': c.state_dir = optarg; break;
		case 'u': users_file = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'P': ports_file = optarg; break;
		case 'n':
			if (vg_parse_long(optarg, 1, 100000, &threads) != 0) {
				fprintf(stderr, "vigil-fakedev: bad --threads\n");
				return 2;
			}
			break;
		case 'i':
			if (vg_parse_long(optarg, 1, 86400, &v) != 0) {
				fprintf(stderr, "vigil-fakedev: bad --idle\n");
				return 2;
			}
			c.idle_s = (unsigned int)v;
			break;
		case 'L': legacy = 1; break;
		case 'v': c.verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (fixture_file == NULL) ==
	    (c.synthetic_lines == 0) || (ssh_port < 0 && telnet_port < 0)) {
		fprintf(stderr, "vigil-fakedev: give --fixture or --synthetic, "
		    "and --ssh-port or --telnet-port\n");
		usage(stderr);
		return 2;
	}
	if (ssh_port >= 0 && host_key == NULL) {
		fprintf(stderr, "vigil-fakedev: --ssh-port needs --host-key "
		    "(ssh-keygen -t ed25519 -N '' -f FILE)\n");
		return 2;
	}
	if (fixture_file != NULL) {
		/* The reader aborts on a file it cannot read: say why
		 * first. */
		if ((f = fopen(fixture_file, "r")) == NULL) {
			fprintf(stderr, "vigil-fakedev: %s: %s\n", fixture_file,
			    strerror(errno));
			return 1;
		}
		fclose(f);
		fixture = sim_load(fixture_file);
		c.fixture = fixture;
	}
	if (users_file != NULL && load_users(users_file, &c, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "vigil-fakedev: %s\n", err);
		goto out;
	}
	if (keys_file != NULL && fd_ssh_load_keys(keys_file, &c.pubkeys, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "vigil-fakedev: %s\n", err);
		goto out;
	}
	conn_max = (size_t)threads;
	if ((conn_fds = malloc(conn_max * sizeof(*conn_fds))) == NULL)
		goto out;
	for (i = 0; i < conn_max; i++)
		conn_fds[i] = -1;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		goto out;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (ssh_port >= 0) {
		if (ssh_init() != SSH_OK || (sb = ssh_bind_new()) == NULL)
			goto out;
		ssh_bind_options_set(sb, SSH_BIND_OPTIONS_LOG_VERBOSITY,
		    &verbosity);
		if (ssh_bind_options_set(sb, SSH_BIND_OPTIONS_HOSTKEY,
		    host_key) != SSH_OK) {
			fprintf(stderr, "vigil-fakedev: %s: %s\n", host_key,
			    ssh_get_error(sb));
			goto out;
		}
		/* Old gear: SHA-1 key exchange, ssh-rsa, CBC only. */
		if (legacy && (ssh_bind_options_set(sb,
		    SSH_BIND_OPTIONS_KEY_EXCHANGE,
		    "diffie-hellman-group14-sha1") != SSH_OK ||
		    ssh_bind_options_set(sb,
		    SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, "ssh-rsa") != SSH_OK ||
		    ssh_bind_options_set(sb, SSH_BIND_OPTIONS_CIPHERS_C_S,
		    "aes128-cbc") != SSH_OK ||
		    ssh_bind_options_set(sb, SSH_BIND_OPTIONS_CIPHERS_S_C,
		    "aes128-cbc") != SSH_OK)) {
			fprintf(stderr, "vigil-fakedev: legacy algorithms: "
			    "%s\n", ssh_get_error(sb));
			goto out;
		}
		if ((sfd = listen_on(listen_addr, ssh_port, &sport)) < 0) {
			fprintf(stderr, "vigil-fakedev: ssh %s:%ld: %s\n",
			    listen_addr, ssh_port, strerror(errno));
			goto out;
		}
	}
	if (telnet_port >= 0 &&
	    (tfd = listen_on(listen_addr, telnet_port, &tport)) < 0) {
		fprintf(stderr, "vigil-fakedev: telnet %s:%ld: %s\n",
		    listen_addr, telnet_port, strerror(errno));
		goto out;
	}
	snprintf(ports, sizeof(ports), "ssh %u\ntelnet %u\n", sport, tport);
	if (ports_file != NULL && write_small(ports_file, ports) != 0)
		goto out;
	if (pidfile != NULL) {
		snprintf(err, sizeof(err), "%ld\n", (long)getpid());
		if (write_small(pidfile, err) != 0)
			goto out;
	}
	if (c.verbose)
		fprintf(stderr, "vigil-fakedev: listening on %s, ssh %u, "
		    "telnet %u\n", listen_addr, sport, tport);

	serve(&c, sfd, tfd, sb, conn_max);

	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	sfd = tfd = -1;
	shutdown_all();
	if (wait_threads()) {
		/* Leave the rest to the exit: freeing under them would
		 * crash them. */
		fprintf(stderr, "vigil-fakedev: sessions still open after "
		    "%d s\n", STOP_WAIT_S);
		return 1;
	}
	rc = 0;
out:
	if (pidfile != NULL && rc == 0)
		unlink(pidfile);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	if (sb != NULL)
		ssh_bind_free(sb);
	if (ssh_port >= 0)
		ssh_finalize();
	fd_ssh_free_keys(c.pubkeys);
	free_users(&c);
	sim_free(fixture);
	free(conn_fds);
	if (sig_pipe[0] >= 0) {
		close(sig_pipe[0]);
		close(sig_pipe[1]);
	}
	return rc;
}
