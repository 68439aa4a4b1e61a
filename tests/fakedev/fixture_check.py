#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks a normalised document (what `vigil collect` prints) against a
recorded device session's expectations, as tests/unit/test_proxy_session.c
does for the same fixture replayed through the engine in memory:

- secret.yaml: no "fail" string is in the document, each "pass" pattern
  matches a line (Oxidized's "<secret hidden>" standing for our marker);
- output.txt: from the first of our configuration lines found there,
  every later line of output.txt comes, in order, in our configuration
  section (a line we or Oxidized masked agrees up to the mask), with at
  most 16 lines of ours not in output.txt and at least 10 compared.

usage: fixture_check.py DOCUMENT FIXTURE_BASE CONFIG_COMMAND
(FIXTURE_BASE: the fixture path without "#simulation.yaml").
Prints what does not agree; exits 0 when all agrees, 1 otherwise.
"""
import os
import re
import sys

import yaml

THEIR_MASKS = ["<value removed>", "<secret hidden>", "<secret removed>",
               "<configuration removed>", "<removed>"]
PLACEHOLDERS = ["<secret hidden>", "<secret removed>",
                "<configuration removed>"]
MARK = "<secret sha256:[0-9a-f]{16}>"


def line_agrees(ours, theirs):
    if ours == theirs:
        return True
    for m in THEIR_MASKS:
        k = theirs.find(m)
        if k >= 0:
            return len(ours) >= k and ours[:k] == theirs[:k]
    m = ours.find("<secret sha256:")
    n = ours.find("<n>")
    if m < 0 or (n >= 0 and n < m):
        m = n
    if m < 0:
        return False
    return len(theirs) >= m and ours[:m] == theirs[:m]


def split_lines(text):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def check_output(doc, base, config_cmd):
    path = base + "#output.txt"
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        want = f.read()
    hdr = "=== %s ===\n" % config_cmd
    o = doc.find(hdr)
    if o < 0:
        return ["no section '%s'" % config_cmd]
    o += len(hdr)
    end = doc.find("\n=== ", o)
    ours = doc[o:end + 1] if end >= 0 else doc[o:]
    ol = split_lines(ours)
    tl = split_lines(want)
    i = j = extra = checked = 0
    for i in range(len(ol)):
        if ol[i] == "":
            continue
        for j in range(len(tl)):
            if line_agrees(ol[i], tl[j]):
                break
        else:
            j = len(tl)
        if j < len(tl):
            break
        extra += 1
    else:
        return ["no line of ours is in output.txt"]
    while j < len(tl):
        while i < len(ol) and not line_agrees(ol[i], tl[j]):
            i += 1
            extra += 1
        if i == len(ol) and tl[j][:1] in ("#", "!", " ") and \
                len(tl[j]) - len(tl[j].lstrip("#! ")) > 0:
            while j < len(tl) and (tl[j] == "" or
                                   len(tl[j]) - len(tl[j].lstrip("#! ")) > 0):
                j += 1
            if j == len(tl):
                break
        if i == len(ol):
            return ["output.txt line %d not in ours, in order: '%s'" %
                    (j + 1, tl[j])]
        i += 1
        j += 1
        checked += 1
    extra += len(ol) - i
    errs = []
    if extra > 16:
        errs.append("%d lines of ours not in output.txt" % extra)
    if checked < 10:
        errs.append("only %d lines compared" % checked)
    return errs


def secret_pattern(p):
    out = ""
    s = p
    while s:
        for ph in PLACEHOLDERS:
            if s.startswith(ph):
                out += MARK
                s = s[len(ph):]
                break
        else:
            out += s[0]
            s = s[1:]
    return out


def check_secrets(doc, base):
    path = base + "#secret.yaml"
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        spec = yaml.safe_load(f) or {}
    errs = []
    for s in spec.get("fail") or []:
        if str(s) in doc:
            errs.append("secret '%s' not masked" % s)
    for p in spec.get("pass") or []:
        if not re.search(secret_pattern(str(p)), doc, re.M):
            errs.append("no line matches '%s'" % p)
    return errs


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8", errors="surrogateescape") as f:
        doc = f.read()
    errs = check_secrets(doc, sys.argv[2]) + \
        check_output(doc, sys.argv[2], sys.argv[3])
    for e in errs:
        print("%s: %s" % (os.path.basename(sys.argv[2]), e))
    sys.exit(1 if errs else 0)


if __name__ == "__main__":
    main()
