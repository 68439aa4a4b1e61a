/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd_scan.h"
#include "progress.h"
#include "report.h"
#include "vg_baseline.h"
#include "vg_err.h"
#include "vg_json.h"
#include "vg_rules.h"
#include "vg_scan.h"
#include "vg_util.h"

#define DEFAULT_DB "/var/lib/vigil/baseline.db"

enum scan_op { OP_INIT, OP_CHECK, OP_UPDATE, OP_LIST };

struct run {
	enum scan_op op;
	const char *db;
	int json, quiet, fast;
	struct vg_baseline_writer *w;
	struct vg_change *changes;
	size_t nchanges, capchanges;
	json_t *problems;          /* with --json */
	int cb_err;
	char cb_msg[512];
	struct progress prog;
};

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: vigil scan init   [options] [ROOT...]\n"
"       vigil scan check  [--fast | --full] [options]\n"
"       vigil scan update [--fast | --full] [options]\n"
"       vigil scan list   [--json] [--db FILE]\n"
"\n"
"  -d, --db FILE            baseline file (default $VIGIL_DB or %s)\n"
"  -r, --rules FILE         rules file (init; format in docs/rules.md)\n"
"  -e, --exclude GLOB       leave out matching paths (init)\n"
"  -i, --include GLOB       take in matching paths again (init)\n"
"      --exclude-regex RE   like --exclude, POSIX extended regex\n"
"      --include-regex RE   like --include, POSIX extended regex\n"
"      --max-depth N        levels below a root to descend\n"
"  -x, --one-file-system    stay on each root's file system\n"
"  -L, --follow-symlinks    follow symbolic links\n"
"      --no-skip-pseudo-fs  walk proc, sysfs and the like too\n"
"      --hash ALG           sha256 (default), sha384, sha512, none\n"
"      --allow-weak-hash    permit --hash sha1 or md5\n"
"      --max-hash-size SIZE do not hash larger files (e.g. 4G)\n"
"      --ignore ATTRS       attributes not compared (e.g. mtime,ctime)\n"
"      --fast               check/update: re-hash only files whose\n"
"                           size, times, inode, mode or owner moved\n"
"      --full               check/update: re-hash every file (default)\n"
"  -j, --workers N          hashing threads (default: one per core)\n"
"      --json               machine-readable report on stdout\n"
"  -q, --quiet              no progress, no summary line\n"
"      --no-progress        no progress line\n"
"\n"
"Exit status: 0 no changes, 1 changes found, 2 trouble.\n", DEFAULT_DB);
}

static void
problem_cb(void *arg, const char *path, size_t len, const char *msg)
{
	struct run *r = arg;
	char *esc = vg_escape(path, len);
	json_t *o;

	progress_end(&r->prog);
	fprintf(stderr, "vigil: %s: %s\n", esc ? esc : "?", msg);
	if (r->problems != NULL && (o = json_object()) != NULL) {
		json_object_set_new(o, "path", json_string(esc ? esc : "?"));
		json_object_set_new(o, "message", json_string(msg));
		json_array_append_new(r->problems, o);
	}
	free(esc);
}

static int
item_cb(void *arg, const struct vg_item *it)
{
	struct run *r = arg;

	if (r->w == NULL)
		return 0;
	r->cb_msg[0] = '\0';
	if ((r->cb_err = vg_baseline_put(r->w, it, r->cb_msg,
	    sizeof(r->cb_msg))) != 0) {
		if (r->cb_msg[0] == '\0')
			snprintf(r->cb_msg, sizeof(r->cb_msg), "%s: %s", r->db,
			    vg_strerror(r->cb_err));
		return r->cb_err;
	}
	return 0;
}

static int
change_cb(void *arg, struct vg_change *c)
{
	struct run *r = arg;
	struct vg_change *n;

	if (r->nchanges == r->capchanges) {
		r->capchanges = r->capchanges ? r->capchanges * 2 : 64;
		if ((n = reallocarray(r->changes, r->capchanges,
		    sizeof(*n))) == NULL) {
			vg_change_clear(c);
			snprintf(r->cb_msg, sizeof(r->cb_msg), "out of memory");
			return r->cb_err = VG_ERR_NOMEM;
		}
		r->changes = n;
	}
	r->changes[r->nchanges++] = *c;
	return 0;
}

static void
progress_cb(void *arg, const struct vg_scan_stats *st)
{
	progress_update(&((struct run *)arg)->prog, st);
}

static int
change_cmp(const void *a, const void *b)
{
	const struct vg_change *x = a, *y = b;
	const struct vg_item *i = x->new ? x->new : x->old;
	const struct vg_item *j = y->new ? y->new : y->old;

	return vg_path_cmp(i->path, i->path_len, j->path, j->path_len);
}

/* Creates the baseline's folder when it is the default one. */
static int
ensure_dir(const char *db)
{
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", db);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "vigil: cannot create %s: %s\n", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static void
print_summary(struct run *r, const struct vg_scan_stats *st, double secs,
    const char *mode)
{
	char bytes[32];
	json_t *o, *arr;
	size_t i;

	if (r->json) {
		o = json_pack("{s:s, s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I, "
		    "s:I, s:I, s:f}}",
		    "operation", r->op == OP_INIT ? "init" : r->op ==
		    OP_CHECK ? "check" : "update", "mode", mode, "baseline",
		    r->db, "summary", "items", (json_int_t)st->items,
		    "added", (json_int_t)st->added, "removed",
		    (json_int_t)st->removed, "changed", (json_int_t)st->changed,
		    "problems", (json_int_t)st->problems, "files_hashed",
		    (json_int_t)st->files_hashed, "bytes_hashed",
		    (json_int_t)st->bytes_hashed, "seconds", secs);
		if (o == NULL)
			return;
		if (r->op != OP_INIT) {
			arr = json_array();
			for (i = 0; i < r->nchanges; i++)
				json_array_append_new(arr,
				    vg_change_to_json(&r->changes[i]));
			json_object_set_new(o, "changes", arr);
		}
		json_object_set_new(o, "problems", json_incref(r->problems));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	for (i = 0; i < r->nchanges; i++)
		report_change_text(stdout, &r->changes[i]);
	if (r->quiet)
		return;
	report_bytes(bytes, sizeof(bytes), st->bytes_hashed);
	if (r->nchanges > 0)
		putchar('\n');
	if (r->op == OP_INIT)
		printf("vigil scan init: baseline %s written: %" PRIu64
		    " items, %" PRIu64 " files hashed (%s) in %.1f s\n", r->db,
		    st->items, st->files_hashed, bytes, secs);
	else
		printf("vigil scan %s (%s mode): %" PRIu64 " added, %" PRIu64
		    " removed, %" PRIu64 " changed in %" PRIu64 " items; %"
		    PRIu64 " files hashed (%s) in %.1f s%s\n",
		    r->op == OP_CHECK ? "check" : "update", mode, st->added,
		    st->removed, st->changed, st->items, st->files_hashed,
		    bytes, secs, r->op == OP_UPDATE ?
		    "; baseline updated" : "");
	if (st->problems > 0)
		printf("%" PRIu64 " path%s could not be read fully (listed on "
		    "stderr)\n", st->problems, st->problems == 1 ? "" : "s");
}

/* Prints every item of a baseline: escaped paths, or JSON lines. */
static int
list_baseline(struct vg_baseline *b, int json, char *err, size_t errlen)
{
	struct vg_item *it;
	json_t *j;
	char *s;

	for (;;) {
		if (vg_baseline_next(b, &it, err, errlen) != 0)
			return EXIT_TROUBLE;
		if (it == NULL)
			break;
		if (json) {
			j = vg_item_to_json(it);
			s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) :
				NULL;
			json_decref(j);
		} else
			s = vg_escape(it->path, it->path_len);
		vg_item_free(it);
		if (s == NULL) {
			snprintf(err, errlen, "out of memory");
			return EXIT_TROUBLE;
		}
		puts(s);
		free(s);
	}
	return fflush(stdout) == 0 ? EXIT_SAME : EXIT_TROUBLE;
}

static int
set_meta(struct run *r, const struct vg_rules *rules, const char *mode,
    char *err, size_t errlen)
{
	char host[256] = "", when[VG_TIME_BUFLEN], *text;
	int rv;

	vg_time_format(vg_wall_ns(), when);
	gethostname(host, sizeof(host) - 1);
	if ((text = vg_rules_serialize(rules)) == NULL)
		return VG_ERR_NOMEM;
	if ((rv = vg_baseline_set_meta(r->w, "rules", text, err, errlen)) ==
	    0 &&
	    (rv = vg_baseline_set_meta(r->w, "created", when, err, errlen)) ==
	    0 &&
	    (rv = vg_baseline_set_meta(r->w, "host", host, err, errlen)) ==
	    0 &&
	    (rv = vg_baseline_set_meta(r->w, "vigil_version", VIGIL_VERSION,
	    err, errlen)) == 0)
		rv = vg_baseline_set_meta(r->w, "mode", mode, err, errlen);
	free(text);
	return rv;
}

int
cmd_scan(int argc, char **argv)
{
	enum {
		O_EXRE = 256, O_INRE, O_DEPTH, O_NOPSEUDO, O_HASH, O_WEAK,
		O_MAXHASH, O_IGNORE, O_FAST, O_FULL, O_JSON, O_NOPROG,
	};
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "rules", required_argument, NULL, 'r' },
		{ "exclude", required_argument, NULL, 'e' },
		{ "include", required_argument, NULL, 'i' },
		{ "exclude-regex", required_argument, NULL, O_EXRE },
		{ "include-regex", required_argument, NULL, O_INRE },
		{ "max-depth", required_argument, NULL, O_DEPTH },
		{ "one-file-system", no_argument, NULL, 'x' },
		{ "follow-symlinks", no_argument, NULL, 'L' },
		{ "no-skip-pseudo-fs", no_argument, NULL, O_NOPSEUDO },
		{ "hash", required_argument, NULL, O_HASH },
		{ "allow-weak-hash", no_argument, NULL, O_WEAK },
		{ "max-hash-size", required_argument, NULL, O_MAXHASH },
		{ "ignore", required_argument, NULL, O_IGNORE },
		{ "fast", no_argument, NULL, O_FAST },
		{ "full", no_argument, NULL, O_FULL },
		{ "workers", required_argument, NULL, 'j' },
		{ "json", no_argument, NULL, O_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-progress", no_argument, NULL, O_NOPROG },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vg_rules *rules = NULL;
	struct vg_baseline *old = NULL;
	struct vg_scan_opts so;
	struct vg_scan_cb cb;
	struct vg_scan_stats st;
	struct sigaction sa;
	struct run r;
	char err[1024], line[600];
	const char *op, *rulesfile = NULL, *text, *mode;
	long workers = 0, depth;
	int c, rv, ex = EXIT_TROUBLE, noprog = 0, rulesopt = 0, i;
	double t0;
	size_t k;

	memset(&r, 0, sizeof(r));
	if (argc < 1) {
		usage(stderr);
		return EXIT_TROUBLE;
	}
	op = argv[0];
	if (strcmp(op, "init") == 0)
		r.op = OP_INIT;
	else if (strcmp(op, "check") == 0)
		r.op = OP_CHECK;
	else if (strcmp(op, "update") == 0)
		r.op = OP_UPDATE;
	else if (strcmp(op, "list") == 0)
		r.op = OP_LIST;
	else if (strcmp(op, "-h") == 0 || strcmp(op, "--help") == 0 ||
	    strcmp(op, "help") == 0) {
		usage(stdout);
		return EXIT_SAME;
	} else {
		fprintf(stderr, "vigil scan: unknown command \"%s\" (init, "
		    "check, update or list)\n", op);
		return EXIT_TROUBLE;
	}
	if ((r.db = getenv("VIGIL_DB")) == NULL || *r.db == '\0')
		r.db = DEFAULT_DB;
	if (vg_rules_new(&rules) != 0)
		goto nomem;
	err[0] = '\0';
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:r:e:i:xLj:qh", longopts,
	    NULL)) != -1) {
		rv = 0;
		if (strchr("reixL", c) != NULL || (c >= O_EXRE &&
		    c <= O_IGNORE))
			rulesopt = 1;
		switch (c) {
		case 'd': r.db = optarg; break;
		case 'r': rulesfile = optarg; break;
		case 'e':
		case 'i':
			rv = vg_rules_add_rule(rules, c == 'i', 0, optarg, err,
			    sizeof(err));
			break;
		case O_EXRE:
		case O_INRE:
			rv = vg_rules_add_rule(rules, c == O_INRE, 1, optarg,
			    err, sizeof(err));
			break;
		case O_DEPTH:
			if (vg_parse_long(optarg, 0, 1000000, &depth) != 0) {
				snprintf(err, sizeof(err), "--max-depth needs "
				    "a number, not \"%s\"", optarg);
				rv = VG_ERR_INVAL;
			}
			rules->max_depth = depth;
			break;
		case 'x': rules->one_fs = 1; break;
		case 'L': rules->follow_symlinks = 1; break;
		case O_NOPSEUDO: rules->skip_pseudo_fs = 0; break;
		case O_WEAK: rules->allow_weak_hash = 1; break;
		case O_HASH:
			snprintf(line, sizeof(line), "hash %s\n", optarg);
			rv = vg_rules_parse(rules, line, strlen(line),
			    "--hash", err, sizeof(err));
			break;
		case O_MAXHASH:
			snprintf(line, sizeof(line), "max-hash-size %s\n",
			    optarg);
			rv = vg_rules_parse(rules, line, strlen(line),
			    "--max-hash-size", err, sizeof(err));
			break;
		case O_IGNORE:
			snprintf(line, sizeof(line), "ignore %s\n", optarg);
			rv = vg_rules_parse(rules, line, strlen(line),
			    "--ignore", err, sizeof(err));
			break;
		case O_FAST: r.fast = 1; break;
		case O_FULL: r.fast = 0; break;
		case 'j':
			if (vg_parse_long(optarg, 1, 256, &workers) != 0) {
				snprintf(err, sizeof(err), "--workers needs a "
				    "number from 1 to 256");
				rv = VG_ERR_INVAL;
			}
			break;
		case O_JSON: r.json = 1; break;
		case 'q': r.quiet = 1; break;
		case O_NOPROG: noprog = 1; break;
		case 'h':
			usage(stdout);
			ex = EXIT_SAME;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
		if (rv != 0)
			goto fail;
	}
	if (r.op == OP_INIT) {
		if (r.fast) {
			snprintf(err, sizeof(err), "--fast needs a baseline: "
			    "it applies to check and update");
			goto fail;
		}
		if (rulesfile != NULL && (rv = vg_rules_load_file(rules,
		    rulesfile, err, sizeof(err))) != 0)
			goto fail;
		for (i = optind; i < argc; i++)
			if ((rv = vg_rules_add_root(rules, argv[i], err,
			    sizeof(err))) != 0)
				goto fail;
	} else {
		if (rulesopt || rulesfile != NULL || optind < argc) {
			snprintf(err, sizeof(err), "%s uses the rules stored "
			    "in the baseline; give roots and rules to init",
			    op);
			goto fail;
		}
		if ((rv = vg_baseline_open(r.db, &old, err, sizeof(err))) != 0)
			goto fail;
		if (r.op == OP_LIST) {
			ex = list_baseline(old, r.json, err, sizeof(err));
			if (ex == EXIT_TROUBLE)
				goto fail;
			goto out;
		}
		text = vg_baseline_meta(old, "rules");
		if ((rv = vg_rules_parse(rules, text, strlen(text), r.db, err,
		    sizeof(err))) != 0)
			goto fail;
	}
	if ((rv = vg_rules_finish(rules, err, sizeof(err))) != 0)
		goto fail;
	if (r.op != OP_CHECK) {
		if (r.op == OP_INIT && strcmp(r.db, DEFAULT_DB) == 0 &&
		    ensure_dir(r.db) != 0)
			goto out;
		if ((rv = vg_baseline_create(r.db, &r.w, err,
		    sizeof(err))) != 0)
			goto fail;
	}
	mode = r.op == OP_INIT ? "full" : r.fast ? "fast" : "full";
	if (r.w != NULL && (rv = set_meta(&r, rules, r.op == OP_INIT ? "init" :
	    r.fast ? "update-fast" : "update-full", err, sizeof(err))) != 0)
		goto fail;
	if (r.json && (r.problems = json_array()) == NULL)
		goto nomem;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	memset(&so, 0, sizeof(so));
	so.rules = rules;
	so.old = old;
	so.fast = r.fast;
	so.workers = (int)workers;
	so.stop = &stop_flag;
	memset(&cb, 0, sizeof(cb));
	cb.arg = &r;
	cb.item = item_cb;
	cb.change = change_cb;
	cb.problem = problem_cb;
	cb.progress = progress_cb;
	progress_start(&r.prog, !r.quiet && !noprog && !r.json &&
	    isatty(STDERR_FILENO));
	t0 = vg_now();
	rv = vg_scan_run(&so, &cb, &st, err, sizeof(err));
	progress_end(&r.prog);
	if (rv != 0 && r.cb_err != 0)
		snprintf(err, sizeof(err), "%s", r.cb_msg);
	if (rv == VG_ERR_INTERRUPTED) {
		fprintf(stderr, "vigil: interrupted%s\n", r.w ?
		    "; the baseline was not changed" : "");
		goto out;
	}
	if (rv != 0)
		goto fail;
	if (r.w != NULL) {
		rv = vg_baseline_commit(r.w, err, sizeof(err));
		r.w = NULL;
		if (rv != 0) {
			fprintf(stderr, "vigil: %s\nvigil: the baseline at %s "
			    "was not changed\n", err, r.db);
			goto out;
		}
	}
	if (r.nchanges > 1)
		qsort(r.changes, r.nchanges, sizeof(*r.changes), change_cmp);
	print_summary(&r, &st, vg_now() - t0, mode);
	if (st.problems > 0)
		ex = EXIT_TROUBLE;
	else if (r.op == OP_CHECK && r.nchanges > 0)
		ex = EXIT_CHANGES;
	else
		ex = EXIT_SAME;
	goto out;
nomem:
	snprintf(err, sizeof(err), "out of memory");
fail:
	fprintf(stderr, "vigil: %s\n", err[0] ? err : "failed");
	if (r.w != NULL)
		fprintf(stderr, "vigil: the baseline at %s was not changed\n",
		    r.db);
out:
	vg_baseline_abort(r.w);
	vg_baseline_close(old);
	vg_rules_free(rules);
	for (k = 0; k < r.nchanges; k++)
		vg_change_clear(&r.changes[k]);
	free(r.changes);
	json_decref(r.problems);
	return ex;
}
