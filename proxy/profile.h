/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef PROXY_PROFILE_H
#define PROXY_PROFILE_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <stddef.h>

/*
 * Device profiles: how to hold a session with one kind of network device
 * and how to clean what it prints. A profile is a data file
 * (dist/profiles/NAME.profile, format in docs/profiles.md): one
 * "key value" per line, '#' comments, list keys repeated. Adding a vendor
 * means writing such a file, nothing else.
 *
 * A loaded profile is read-only and may be shared by any number of
 * sessions and threads.
 */

#define PROXY_PROFILE_FILE_MAX (256 * 1024)
#define PROXY_PROFILE_LINE_MAX 4096

enum proxy_mode {
	PROXY_MODE_SHELL = 0, /* one interactive shell, prompt matching */
	PROXY_MODE_EXEC = 1,  /* one exec channel per command, no prompt */
};

/* A compiled PCRE2 pattern and where it was written. re is NULL when the
 * key was not given. */
struct proxy_regex {
	char *src;
	pcre2_code *re;
	unsigned int line;
};

/* Pager or "press a key" prompt and the bytes that answer it. */
struct proxy_answer {
	struct proxy_regex re;
	char *answer;
	size_t answer_len;
};

/* A line filter that replaces the capture groups of re (or the whole
 * match when it has none) by replacement. */
struct proxy_mask {
	struct proxy_regex re;
	char *replacement;
};

/* Lines strictly between a line matching begin and the next line
 * matching end are sorted (bytewise). */
struct proxy_sort {
	struct proxy_regex begin, end;
};

struct proxy_command {
	char *line;
	int is_volatile; /* output kept but ignored for change decisions */
};

struct proxy_profile {
	char *name;
	char *description;
	enum proxy_mode mode;
	char newline[3];
	size_t newline_len;

	struct proxy_regex prompt;
	struct proxy_regex username_prompt;
	struct proxy_regex password_prompt;
	char *enable_command;
	struct proxy_regex enable_password_prompt;
	struct proxy_regex enable_prompt;

	char **setup;
	size_t nsetup;
	struct proxy_command *commands;
	size_t ncommands;
	char *logout;

	struct proxy_answer *pagers;
	size_t npagers;
	struct proxy_regex *drops;
	size_t ndrops;
	struct proxy_mask *masks;
	size_t nmasks;
	struct proxy_sort *sorts;
	size_t nsorts;
	struct proxy_regex *volatiles;
	size_t nvolatiles;
	struct proxy_regex *secrets;
	size_t nsecrets;
	struct proxy_regex end_marker;
	size_t min_lines;
	struct proxy_regex continuation; /* a line continued on the next */

	unsigned int step_timeout_s; /* 0: the session's default */
	unsigned int job_timeout_s;

	pcre2_match_context *mctx; /* match and depth limits for all regexes */
};

/*
 * Parses the profile text (len bytes, need not be NUL-terminated). source
 * names the text in messages ("ios.profile"), and is the profile's name
 * when the text has no "name" key (a trailing ".profile" removed).
 * Returns 0 and *out (free with proxy_profile_free()), or VG_ERR_INVAL
 * with err naming "SOURCE:LINE: KEY: what is wrong", VG_ERR_TOOBIG,
 * VG_ERR_NOMEM. Does not block.
 */
int proxy_profile_parse(const char *text, size_t len, const char *source,
    struct proxy_profile **out, char *err, size_t errlen);

/* Reads and parses the file (at most PROXY_PROFILE_FILE_MAX bytes). Same
 * returns as proxy_profile_parse(), plus VG_ERR_NOTFOUND and I/O errors
 * with err naming the file. Blocks on the disk. */
int proxy_profile_load(const char *file, struct proxy_profile **out,
    char *err, size_t errlen);

/* Loads dir/NAME.profile. name must be [A-Za-z0-9_.-]+ without a leading
 * dot. Same returns as proxy_profile_load(). */
int proxy_profile_load_named(const char *dir, const char *name,
    struct proxy_profile **out, char *err, size_t errlen);

/* Frees a profile; accepts NULL. */
void proxy_profile_free(struct proxy_profile *p);

/*
 * Matches re against the len bytes at s under the profile's limits.
 * Returns 1 on a match (with the offsets of the whole match in *mstart,
 * *mend when not NULL), 0 on no match, or a negative VG_ERR code (a
 * pattern that hit the match limit counts as no match: device output must
 * not be able to stall us). re must be set.
 */
int proxy_regex_match(const struct proxy_profile *p,
    const struct proxy_regex *re, const char *s, size_t len, size_t *mstart,
    size_t *mend);

/*
 * Decodes the escapes of a profile text value into out (at most
 * outcap bytes): \n \r \t \e \a \b \\ \s (a space) and \xHH. Returns the
 * decoded length, or -1 for a bad escape or too long a result.
 */
long proxy_unescape(const char *s, char *out, size_t outcap);

#endif
