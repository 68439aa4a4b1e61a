/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd_scan.h"
#include "report.h"
#include "vg_json.h"
#include "vg_util.h"

/* An attribute value as text: the JSON value, strings unquoted and
 * escaped. The caller frees it. */
static char *
attr_text(const struct vg_item *it, uint32_t bit)
{
	json_t *v = vg_attr_to_json(it, bit);
	char *s;

	if (v == NULL)
		return strdup("-");
	if (json_is_string(v) && json_string_length(v) == 0)
		s = strdup("-");
	else if (json_is_string(v))
		s = vg_escape(json_string_value(v), json_string_length(v));
	else if (json_is_null(v))
		s = strdup("-");
	else
		s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT |
		    JSON_SORT_KEYS);
	json_decref(v);
	return s;
}

void
report_change_text(FILE *f, const struct vg_change *c)
{
	const struct vg_item *it = c->new ? c->new : c->old;
	char *path = vg_escape(it->path, it->path_len), *a, *b;
	uint32_t bit;

	fprintf(f, "%-8s %s\n", c->type == VG_CHANGE_ADDED ? "added:" :
	    c->type == VG_CHANGE_REMOVED ? "removed:" : "changed:",
	    path ? path : "?");
	free(path);
	if (c->type != VG_CHANGE_CHANGED)
		return;
	for (bit = 1; bit & VG_A_ALL; bit <<= 1) {
		if (!(c->changed & bit))
			continue;
		a = attr_text(c->old, bit);
		b = attr_text(c->new, bit);
		fprintf(f, "    %-8s %s -> %s\n", vg_attr_name(bit),
		    a ? a : "?", b ? b : "?");
		free(a);
		free(b);
	}
}

void
report_bytes(char *buf, size_t len, unsigned long long n)
{
	static const char *const units[] = { "B", "KB", "MB", "GB", "TB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

int
report_trouble(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vigil %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_TROUBLE;
}
