/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef PROXY_NORMALISE_H
#define PROXY_NORMALISE_H

#include <stddef.h>

#include "profile.h"
#include "session.h"
#include "vg_diff.h"

/*
 * Normalisation: turns a capture into the text that is stored, diffed
 * and shown as the device's configuration, following the profile's line
 * filters. For each command, in profile order, the document holds a
 * header line "=== COMMAND ===" then the command's output lines, each:
 *  1. dropped when a drop pattern matches (the raw line);
 *  2. marked volatile when a volatile pattern matches (the raw line);
 *  3. secrets masked: each capture group of a secret pattern (the whole
 *     match when it has none) becomes "<secret sha256:HHHHHHHHHHHHHHHH>",
 *     the first 16 hex digits of the SHA-256 of the value, so a changed
 *     secret still shows as a change without the secret being stored;
 *  4. masked: each capture group of a mask pattern (or the whole match)
 *     becomes the mask's replacement;
 * then the lines strictly between a sort_begin line and the next sort_end
 * line are sorted bytewise. Patterns in 3 and 4 apply to every match on
 * the line, in profile order.
 *
 * The significant view is the same document without volatile lines and
 * without the output of command_volatile commands: two captures are the
 * same configuration when their significant views are equal.
 */

#define PROXY_SECRET_PREFIX "<secret sha256:"

struct proxy_norm {
	char *text;        /* the normalised document, NUL-terminated */
	size_t len;
	char *significant; /* the significant view, NUL-terminated */
	size_t sig_len;
	size_t lines;      /* non-blank output lines kept (no headers) */
};

/*
 * Normalises cap with p's filters into *res (caller frees with
 * proxy_norm_free()). Refuses incomplete output: VG_ERR_INCOMPLETE with
 * err saying why when the profile's end_marker matches no kept line or
 * fewer than min_lines non-blank lines were kept; a capture with a
 * missing command output is incomplete too. Such a result must never be
 * stored as a new version. Other returns: 0, VG_ERR_NOMEM. Pure
 * computation; does not block.
 */
int proxy_normalise(const struct proxy_profile *p,
    const struct proxy_capture *cap, struct proxy_norm *res, char *err,
    size_t errlen);

/* Frees what proxy_normalise() put in res; accepts a zeroed res. */
void proxy_norm_free(struct proxy_norm *res);

/* 1 when the significant views of a and b differ, else 0. */
int proxy_norm_changed(const struct proxy_norm *a, const struct proxy_norm *b);

/* The line diff (core/vg_diff) of two normalised documents, for the
 * change event; same contract as vg_diff_unified(). */
int proxy_norm_diff(const struct proxy_norm *old,
    const struct proxy_norm *cur, const struct vg_diff_opts *opts,
    struct vg_diff_result *res);

#endif
