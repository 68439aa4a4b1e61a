#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Roots and rules: include/exclude globs and regexes, depth, file system
# boundaries, pseudo file systems, symlinks, and rules-file errors.
. "$(dirname "$0")/lib.sh"

D=$T/tree
mkdir -p "$D/etc/ssh" "$D/var/log/apt" "$D/var/cache" "$D/a/b/c/d" "$D/other/inner" "$D/mnt" "$D/proc"
touch "$D/etc/ssh/sshd_config" "$D/etc/hosts" "$D/var/log/syslog" \
	"$D/var/log/keep.log" "$D/var/log/x.log" "$D/var/log/apt/history.log" \
	"$D/var/cache/blob" "$D/a/b/c/d/deep" "$D/other/inner/f"

listed() { # the baseline's paths, relative to $D
	"$VIGIL" scan list --db "$1" | sed "s|^$D||" | sort
}

cat >"$T/rules" <<RULES
# vigil rules for the test tree
root $D/etc
root $D/var

exclude *.log
include keep.log
exclude /var/cache/   
exclude-regex ^$D/var/log/apt(/.*)?\$
RULES
sed -i 's|exclude /var/cache/|exclude '"$D"'/var/cache/|' "$T/rules"
run 0 "init from a rules file" "$VIGIL" scan init --db "$T/r.db" --rules "$T/rules" -q
listed "$T/r.db" >"$T/got"
cat >"$T/want" <<EOF2
/etc
/etc/hosts
/etc/ssh
/etc/ssh/sshd_config
/var
/var/log
/var/log/keep.log
/var/log/syslog
EOF2
check "rules select exactly the expected paths" diff -u "$T/want" "$T/got"

run 0 "command-line rules, glob with ** and excluded dir with an include below" \
	"$VIGIL" scan init --db "$T/g.db" -q --exclude "$D/a/**" --include "$D/a/**/deep" "$D/a"
listed "$T/g.db" >"$T/got"
printf '/a\n/a/b/c/d/deep\n' >"$T/want"
check "excluded folders are walked only for a matching include" diff -u "$T/want" "$T/got"

run 0 "max-depth 1" "$VIGIL" scan init --db "$T/d.db" -q --max-depth 1 "$D/a"
check "depth 1 holds the root and its entries only" test "$(listed "$T/d.db" | tr '\n' ' ')" = "/a /a/b "

run 0 "nested roots are scanned once" "$VIGIL" scan init --db "$T/n.db" -q "$D/etc" "$D/etc/ssh" "$D/etc/../etc"
check "no duplicates from nested roots" test "$(listed "$T/n.db" | wc -l)" -eq 4

# A directory created after init: its entries are added, the parent is not
# reported as changed for that.
run 0 "baseline for the add test" "$VIGIL" scan init --db "$T/add.db" -q "$D/etc"
mkdir "$D/etc/new.d" && touch "$D/etc/new.d/x"
run 1 "new folder and file found" "$VIGIL" scan check --db "$T/add.db" --json
check "two additions, no parent change" jqtrue "$T/out" '.summary.added==2 and .summary.changed==0'
rm -r "$D/etc/new.d"

# Symlinks: recorded, not followed; followed with -L; loops are cut.
ln -s ../other "$D/a/link"
ln -s . "$D/other/inner/loop"
run 0 "symlinks not followed by default" "$VIGIL" scan init --db "$T/s.db" -q "$D/a"
check "link recorded, target not walked" test "$(listed "$T/s.db" | grep -c '^/a/link')" -eq 1
run 2 "follow-symlinks walks through links and reports the loop" "$VIGIL" scan init --db "$T/L.db" -q -L "$D/a"
check "files behind the link are recorded" has <(listed "$T/L.db") "/a/link/inner/f"
check "the loop is reported, not walked forever" has "$T/err" "symlink loop"
ln -s ../other/inner/f "$D/a/filelink"
run 0 "follow-symlinks reads links to files as their target" "$VIGIL" scan init --db "$T/L2.db" -q -L "$D/a/filelink"
run 0 "list it" "$VIGIL" scan list --db "$T/L2.db" --json
check "the link is recorded as the file it points to, hashed" \
	test "$(jq -r '.attrs.type + " " + .attrs.hash' "$T/out")" = "file sha256:$(sha "$D/other/inner/f")"
rm "$D/a/filelink"

# Mounts: one-file-system stops at a mount; pseudo file systems skipped.
if unshare -m true 2>/dev/null; then
	run 0 "one-file-system stops at a mount point" unshare -m sh -c "
		mount -t tmpfs none '$D/mnt' && touch '$D/mnt/inside' &&
		mount -t proc proc '$D/proc' &&
		'$VIGIL' scan init --db '$T/x.db' -q -x '$D' &&
		'$VIGIL' scan init --db '$T/p.db' -q '$D'"
	check "mount point recorded, its content not" test "$(listed "$T/x.db" | grep -c '^/mnt')" -eq 1
	check "without -x the mounted tmpfs is walked" has <(listed "$T/p.db") "/mnt/inside"
	check "proc is skipped entirely" test "$(listed "$T/p.db" | grep -c '^/proc')" -eq 0
else
	not_ok "unshare -m is needed for the mount tests (run as root)"
fi

# Rules-file errors name the file and line.
printf 'root /tmp\n# fine\nfrobnicate yes\n' >"$T/bad1"
run 2 "unknown directive" "$VIGIL" scan init --db "$T/b.db" --rules "$T/bad1"
check "message names file:line and the directive" has "$T/err" "$T/bad1:3: unknown directive \"frobnicate\""
printf 'root /tmp\nexclude-regex (unclosed\n' >"$T/bad2"
run 2 "bad regex" "$VIGIL" scan init --db "$T/b.db" --rules "$T/bad2"
check "message names line 2 and the regex" has "$T/err" "$T/bad2:2: bad regex"
# glibc's regcomp() copies the operand of every + and {m,n}: stacked or
# nested repetitions once took gigabytes to compile. Refused, and quickly.
printf 'root %s\nexclude-regex ^/a+++++++++++++++++++++++++++++\n' "$D/etc" >"$T/bad4"
run 2 "a repetition of a repetition" "$VIGIL" scan init --db "$T/b.db" --rules "$T/bad4"
check "message names line 2 and why" has "$T/err" "$T/bad4:2: regex \"^/a++"
printf 'root %s\nexclude-regex ((((((((((((((((x+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+\n' "$D/etc" >"$T/bad5"
run 2 "nested repetitions too large to compile" "$VIGIL" scan init --db "$T/b.db" --rules "$T/bad5"
check "message says it is too large" has "$T/err" "too large to compile"
printf 'root %s\nexclude-regex ^/x/[a-z]{2,8}(\\.[0-9]+)?$\n' "$D/etc" >"$T/ok6"
run 0 "an ordinary regex with bounds is accepted" "$VIGIL" scan init --db "$T/b6.db" --rules "$T/ok6"
printf 'one-file-system maybe\n' >"$T/bad3"
run 2 "bad boolean" "$VIGIL" scan init --db "$T/b.db" --rules "$T/bad3" /tmp
check "message says the value is bad" has "$T/err" "$T/bad3:1: bad value \"maybe\" for one-file-system"
printf 'root /tmp\nhash\n' >"$T/bad4"
run 2 "directive without value" "$VIGIL" scan init --db "$T/b.db" --rules "$T/bad4"
check "message says it needs a value" has "$T/err" "$T/bad4:2: \"hash\" needs a value"
head -c 3000 /dev/urandom >"$T/bad5"
run 2 "binary garbage as rules" "$VIGIL" scan init --db "$T/b.db" --rules "$T/bad5" /tmp
run 2 "missing rules file" "$VIGIL" scan init --db "$T/b.db" --rules "$T/nope" /tmp
check "message names the file" has "$T/err" "$T/nope: No such file or directory"
run 2 "no root at all" "$VIGIL" scan init --db "$T/b.db"
check "message says a root is needed" has "$T/err" "no root to scan"
check "no baseline left behind by failed inits" test ! -e "$T/b.db" -a ! -e "$T/b.db.new"

# A root that disappears: its items are removed, the run says why.
mkdir -p "$T/gone/x" && touch "$T/gone/x/f"
run 0 "baseline of a root that will vanish" "$VIGIL" scan init --db "$T/v.db" -q "$T/gone"
rm -r "$T/gone"
run 2 "check with a missing root" "$VIGIL" scan check --db "$T/v.db" --json
check "missing root reported" has "$T/err" "root cannot be scanned: No such file or directory"
check "its items show as removed" jqtrue "$T/out" '.summary.removed==3'

finish
