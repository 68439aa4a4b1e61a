/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef VG_RULES_H
#define VG_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "vg_hash.h"

/*
 * What a scan covers and how: roots, include/exclude rules, depth, file
 * system boundaries, the hash algorithm and which attributes to compare.
 * The text form is documented in docs/rules.md; vg_rules_serialize()
 * writes it back canonically (the baseline stores it, so that a check uses
 * the rules its baseline was made with).
 *
 * Matching: rules are tried from the last to the first and the first that
 * matches decides; a path no rule matches is included. A glob without '/'
 * matches the last path component, one with '/' the whole path. '*' and
 * '?' do not cross '/', '**' does, "[a-z]" and "[!a-z]" are classes and a
 * trailing '/' restricts the rule to directories. Regexes are POSIX
 * extended, matched against the whole absolute path (anchor them).
 */

#define VG_RULES_MAX_FILE (1024 * 1024)   /* bytes in a rules file */
#define VG_RULES_MAX_LINE 4096

struct vg_rule {
	int include;       /* 1 include, 0 exclude */
	int regex;         /* 1 POSIX ERE, 0 glob */
	int dir_only;      /* glob ended in '/' */
	int basename;      /* glob has no '/': match the last component */
	char *pattern;     /* as written (without a trailing '/') */
	void *re;          /* compiled regex_t when regex */
};

struct vg_rules {
	char **roots;      /* absolute, normalised, sorted, none inside another */
	size_t nroots;
	struct vg_rule *rules;
	size_t nrules;
	long max_depth;    /* -1: unlimited; 0: the root only */
	int one_fs;        /* do not cross into other file systems */
	int follow_symlinks;
	int skip_pseudo_fs; /* proc, sysfs, devtmpfs ... (default 1) */
	enum vg_hash_alg hash;   /* default SHA-256 */
	int allow_weak_hash;
	uint64_t max_hash_size;  /* 0: hash every file whole */
	uint32_t ignore;   /* VG_A_* bits never compared (default: dev) */
};

enum vg_match {
	VG_MATCH_INCLUDE = 0,
	VG_MATCH_EXCLUDE,          /* skip it, and its subtree */
	VG_MATCH_EXCLUDE_DESCEND,  /* skip it, but walk below: an include
	                              rule may match something inside */
};

/* New rules with the defaults. Returns 0 or VG_ERR_NOMEM. */
int vg_rules_new(struct vg_rules **out);
void vg_rules_free(struct vg_rules *r);

/*
 * Parses rules text (len bytes) into r, adding to what r holds. source
 * names the text in messages. On error returns VG_ERR_INVAL (or
 * VG_ERR_NOMEM) and writes "source:line: what is wrong" to err.
 */
int vg_rules_parse(struct vg_rules *r, const char *text, size_t len,
    const char *source, char *err, size_t errlen);

/* Reads and parses a rules file. Errors as vg_rules_parse(), plus
 * VG_ERR_NOTFOUND / VG_ERR_PERM / VG_ERR_TOOBIG / VG_ERR_IO. */
int vg_rules_load_file(struct vg_rules *r, const char *path, char *err,
    size_t errlen);

/* Adds a root (made absolute against the working directory). */
int vg_rules_add_root(struct vg_rules *r, const char *path, char *err,
    size_t errlen);

/* Adds an include or exclude rule. */
int vg_rules_add_rule(struct vg_rules *r, int include, int regex,
    const char *pattern, char *err, size_t errlen);

/* Sorts the roots and drops those inside another; checks the rules are
 * complete (at least one root, weak hash allowed if chosen). Call once
 * after adding. */
int vg_rules_finish(struct vg_rules *r, char *err, size_t errlen);

/* Decides about one absolute path (NUL-terminated, len bytes). When no
 * rule matches, the path is included, unless in_excluded says it lies in
 * an excluded folder that is walked only for the includes below it. */
enum vg_match vg_rules_match(const struct vg_rules *r, const char *path,
    size_t len, int is_dir, int in_excluded);

/* Canonical text form; the caller frees it. NULL on allocation failure. */
char *vg_rules_serialize(const struct vg_rules *r);

/* 1 when pattern (a glob) matches s entirely. Exposed for tests. */
int vg_glob_match(const char *pattern, const char *s);

#endif
