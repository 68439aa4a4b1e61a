/* SPDX-License-Identifier: GPL-3.0-or-later */
#ifndef VG_DIFF_H
#define VG_DIFF_H

#include <stddef.h>

/*
 * Line-based unified text diff (Myers' O(ND) algorithm), as used for
 * content-tracked files, command output and device configurations.
 *
 * Inputs are byte buffers (not NUL-terminated, may contain any byte); a
 * missing final newline is marked "\ No newline at end of file" as GNU
 * diff does. Output is GNU-compatible unified format with "--- label_a",
 * "+++ label_b" headers and "@@ -l,n +l,n @@" hunks.
 */

struct vg_diff_opts {
	size_t context;      /* lines of context around changes (GNU default 3) */
	size_t max_output;   /* cap on the produced text in bytes; 0 = no cap */
	size_t max_input;    /* cap on each input in bytes; 0 = no cap */
	size_t max_edit;     /* cap on the edit distance searched; 0 = no cap */
};

struct vg_diff_result {
	char *text;          /* NUL-terminated unified diff; "" when equal */
	size_t len;          /* bytes in text; may hold NULs from the input */
	size_t added;        /* lines added */
	size_t removed;      /* lines removed */
	int truncated;       /* 1 when a cap cut the diff short */
	const char *why;     /* static reason when truncated, else NULL:
	                        "output exceeds N bytes", "input exceeds ...",
	                        "too many differences" */
};

/* Fills opts with defaults: context 3, max_output 64 KiB, max_input
 * 16 MiB, max_edit 100000. */
void vg_diff_opts_default(struct vg_diff_opts *opts);

/*
 * Computes the unified diff of a against b. On success returns 0 and fills
 * *res; the caller frees it with vg_diff_result_free(). When a cap is hit
 * the result is still returned (0) with truncated = 1 and why set: the text
 * then ends with a line "[diff truncated: <why>]" so a reader sees the cut.
 * Returns VG_ERR_NOMEM on allocation failure, VG_ERR_INVAL on NULL args.
 * Does not block; pure computation.
 */
int vg_diff_unified(const char *a, size_t alen, const char *b, size_t blen,
    const char *label_a, const char *label_b, const struct vg_diff_opts *opts,
    struct vg_diff_result *res);

/* Frees what vg_diff_unified() put in res; accepts a zeroed res. */
void vg_diff_result_free(struct vg_diff_result *res);

#endif
