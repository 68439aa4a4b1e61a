/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vg_log.h"

#define LOG_LINE_MAX 2048
#define LOG_PROGRAM_MAX 64

static atomic_int log_level = VG_LOG_INFO;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static int log_journal;            /* stderr is connected to journald */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_program[LOG_PROGRAM_MAX];

static const char *const level_names[] = { "error", "warn", "info",
	"debug" };
/* syslog priorities: err, warning, info, debug */
static const int level_prio[] = { 3, 4, 6, 7 };

/* Whether stderr is the stream systemd named in JOURNAL_STREAM
 * ("DEVICE:INODE"); a child that inherited the variable but writes
 * elsewhere still gets time stamps. */
static void
log_detect(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return;
	if (fstat(STDERR_FILENO, &st) != 0)
		return;
	log_journal = (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
vg_log_set_level(int level)
{
	if (level < VG_LOG_ERROR)
		level = VG_LOG_ERROR;
	if (level > VG_LOG_DEBUG)
		level = VG_LOG_DEBUG;
	atomic_store(&log_level, level);
}

int
vg_log_parse_level(const char *s)
{
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcmp(s, "warning") == 0)
		return VG_LOG_WARN;
	return -1;
}

void
vg_log_set_program(const char *name)
{
	pthread_mutex_lock(&log_lock);
	snprintf(log_program, sizeof(log_program), "%s", name);
	pthread_mutex_unlock(&log_lock);
}

/* Replaces control bytes (a newline in a peer's user name, say) so that
 * one message stays one line and cannot forge another. */
void
vg_log_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void
vg_vlog(int level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX], msg[LOG_LINE_MAX - 128 - LOG_PROGRAM_MAX];
	struct timespec ts;
	struct tm tm;
	size_t len = 0, off;
	ssize_t n;
	int saved_errno = errno;

	if (level < VG_LOG_ERROR)
		level = VG_LOG_ERROR;
	if (level > VG_LOG_DEBUG)
		level = VG_LOG_DEBUG;
	if (level > atomic_load(&log_level))
		return;
	pthread_once(&log_once, log_detect);

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		goto out;
	if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	vg_log_sanitize(msg);

	if (log_journal) {
		len = (size_t)snprintf(line, sizeof(line), "<%d>",
		    level_prio[level]);
	} else if (clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	    gmtime_r(&ts.tv_sec, &tm) != NULL) {
		len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		len += (size_t)snprintf(line + len, sizeof(line) - len,
		    ".%03ldZ ", ts.tv_nsec / 1000000);
	}

	/* The lock keeps a line whole even when write() is partial. */
	pthread_mutex_lock(&log_lock);
	/* msg is shorter than line by more than the prefixes need. */
	len += (size_t)snprintf(line + len, sizeof(line) - len, "%s: %s: %s\n",
	    log_program[0] != '\0' ? log_program :
	    program_invocation_short_name, level_names[level], msg);
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	for (off = 0; off < len; off += (size_t)n) {
		n = write(STDERR_FILENO, line + off, len - off);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			break;
	}
	pthread_mutex_unlock(&log_lock);
out:
	errno = saved_errno;
}

void
vg_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vg_vlog(level, fmt, ap);
	va_end(ap);
}
