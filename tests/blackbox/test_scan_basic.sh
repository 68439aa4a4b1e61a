#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil scan init / check / update / list on a real tree: every attribute
# change is seen, exit codes follow diff(1), both report forms are right.
. "$(dirname "$0")/lib.sh"

D=$T/tree
DB=$T/base.db
mkdir -p "$D/etc/conf.d" "$D/bin" "$D/data"
printf 'root:x:0:0\n' >"$D/etc/passwd"
printf 'one\n' >"$D/etc/conf.d/a.conf"
printf 'two\n' >"$D/etc/conf.d/b.conf"
printf '#!/bin/sh\n' >"$D/bin/tool"
chmod 755 "$D/bin/tool"
ln -s ../etc/passwd "$D/bin/pw"
head -c 5000000 /dev/urandom >"$D/data/blob"
ln "$D/etc/passwd" "$D/data/hardlink"
mkfifo "$D/data/fifo"

# Files changed within a second of a baseline are re-read by fast checks
# (a rewrite in the same clock tick would not move their times).
run 0 "baseline of a tree made just now" "$VIGIL" scan init --db "$T/racy.db" -q "$D"
run 0 "fast check right after it" "$VIGIL" scan check --db "$T/racy.db" --fast --json
check "fast check re-reads files changed within a second of the baseline" \
	jqtrue "$T/out" ".summary.files_hashed == 6"
sleep 1.2

run 0 "init writes a baseline" "$VIGIL" scan init --db "$DB" --no-progress "$D"
check "init summary counts 13 items and 6 hashed files" \
	has "$T/out" "13 items, 6 files hashed"
check "baseline file exists, no .new left" test -f "$DB" -a ! -e "$DB.new"
check "baseline is readable by its owner only" test "$(stat -c %a "$DB")" = 600

run 0 "list prints every item" "$VIGIL" scan list --db "$DB"
check "list has 13 lines" test "$(wc -l <"$T/out")" -eq 13
check "list is in walk order" test "$(head -3 "$T/out" | tr '\n' ' ')" = \
	"$D $D/bin $D/bin/pw "
run 0 "list --json" "$VIGIL" scan list --db "$DB" --json
check "symlink recorded with its target, not followed" \
	test "$(jq -r "select(.path==\"$D/bin/pw\") | .attrs.type + \" \" + .attrs.target" "$T/out")" = "symlink ../etc/passwd"
check "blob hash is the sha256 of its content" \
	test "$(jq -r "select(.path==\"$D/data/blob\") | .attrs.hash" "$T/out")" = "sha256:$(sha "$D/data/blob")"
check "fifo recorded, not opened" \
	test "$(jq -r "select(.path==\"$D/data/fifo\") | .attrs.type" "$T/out")" = fifo

run 0 "check of an unchanged tree exits 0" "$VIGIL" scan check --db "$DB" --no-progress
check "check says full mode and nothing changed" \
	has "$T/out" "(full mode): 0 added, 0 removed, 0 changed in 13 items; 6 files hashed"
run 0 "fast check of an unchanged tree" "$VIGIL" scan check --db "$DB" --fast --no-progress
check "fast check hashes nothing" has "$T/out" "(fast mode): 0 added, 0 removed, 0 changed in 13 items; 0 files hashed"

# One change of each kind.
old_blob=$(sha "$D/data/blob")
# a byte other than the one there (random content: 'x' may be it)
b=$(dd if="$D/data/blob" bs=1 skip=1000 count=1 status=none | od -An -tu1)
nb=x
[ "${b// /}" = 120 ] && nb=y
printf '%s' "$nb" | dd of="$D/data/blob" bs=1 seek=1000 conv=notrunc status=none
printf 'root:x:0:0:changed\n' >"$D/etc/passwd"
chmod 700 "$D/bin/tool"
chown 65534:65534 "$D/etc/conf.d/a.conf"
setfattr -n user.vigil -v marked "$D/etc/conf.d/b.conf"
setfacl -m u:65534:r "$D/bin"
ln -sfn ../etc/conf.d "$D/bin/pw"
rm "$D/etc/conf.d/b.conf" && mkdir "$D/etc/conf.d/b.conf"
printf 'new\n' >"$D/etc/new.conf"
rm "$D/data/fifo"

run 1 "check with changes exits 1" "$VIGIL" scan check --db "$DB" --json
J=$T/check.json
cp "$T/out" "$J"
chg() { # chg PATH ATTR: the change of PATH lists ATTR
	jqtrue "$J" "any(.changes[]; .path==\"$D/$1\" and .change==\"changed\" and (.changed|index(\"$2\")) != null)"
}
check "content change: hash of blob" chg data/blob hash
check "content change: old hash is the old content's" \
	jqtrue "$J" "any(.changes[]; .path==\"$D/data/blob\" and .old.hash==\"sha256:$old_blob\" and .new.hash==\"sha256:$(sha "$D/data/blob")\")"
check "size change of passwd" chg etc/passwd size
check "hard link sees the same content change" chg data/hardlink hash
check "mode change" jqtrue "$J" "any(.changes[]; .path==\"$D/bin/tool\" and .old.mode==\"0755\" and .new.mode==\"0700\")"
check "owner change: uid" chg etc/conf.d/a.conf uid
check "owner change: user name" jqtrue "$J" "any(.changes[]; .path==\"$D/etc/conf.d/a.conf\" and .old.user==\"root\" and .new.user==\"$(id -nu 65534)\")"
check "owner change: gid" chg etc/conf.d/a.conf gid
check "POSIX ACL change" jqtrue "$J" "any(.changes[]; .path==\"$D/bin\" and (.new.acl|test(\"u:$(id -nu 65534):r\")))"
check "symlink target change" jqtrue "$J" "any(.changes[]; .path==\"$D/bin/pw\" and .old.target==\"../etc/passwd\" and .new.target==\"../etc/conf.d\")"
check "file replaced by a directory: type" jqtrue "$J" "any(.changes[]; .path==\"$D/etc/conf.d/b.conf\" and .old.type==\"file\" and .new.type==\"dir\")"
check "added file" jqtrue "$J" "any(.changes[]; .path==\"$D/etc/new.conf\" and .change==\"added\" and .new.hash==\"sha256:$(sha "$D/etc/new.conf")\")"
check "removed fifo" jqtrue "$J" "any(.changes[]; .path==\"$D/data/fifo\" and .change==\"removed\")"
check "folders whose entries changed are not reported for that alone" \
	jqtrue "$J" "[.changes[] | select(.path==\"$D/etc\" or .path==\"$D/data\" or .path==\"$D/etc/conf.d\")] | length == 0"
check "summary counts" jqtrue "$J" ".summary.added==1 and .summary.removed==1 and .summary.changed==8"
check "changes are sorted by path" jqtrue "$J" "[.changes[].path] == ([.changes[].path] | sort_by(gsub(\"/\"; \"\\u0001\")))"

# The same through xattrs needs its own step: the type change above hid it.
setfattr -n user.vigil -v marked "$D/etc/passwd"
run 1 "xattr change is seen" "$VIGIL" scan check --db "$DB" --json
check "xattr attribute lists the new value" jqtrue "$T/out" \
	"any(.changes[]; .path==\"$D/etc/passwd\" and (.changed|index(\"xattrs\")) != null and .new.xattrs==\"user.vigil=0x6d61726b6564\")"

run 1 "text report" "$VIGIL" scan check --db "$DB" --no-progress
check "text names the mode change old -> new" has "$T/out" "    mode     0755 -> 0700"
check "text lists an added file" has "$T/out" "added:   $D/etc/new.conf"
check "text lists a removed file" has "$T/out" "removed: $D/data/fifo"
check "no progress bar when not on a terminal" lacks "$T/err" $'\r'

before=$(sha "$DB")
run 1 "check does not modify the baseline" "$VIGIL" scan check --db "$DB" -q
check "baseline bytes unchanged by check" test "$(sha "$DB")" = "$before"
check "-q prints only the changes" lacks "$T/out" "vigil scan check"

sleep 1.2
run 0 "update accepts the changes" "$VIGIL" scan update --db "$DB" --no-progress
check "update says it updated the baseline" has "$T/out" "baseline updated"
run 0 "check after update is clean" "$VIGIL" scan check --db "$DB" --no-progress

printf 'again\n' >>"$D/etc/new.conf"
run 1 "fast check sees a content change (size/mtime moved)" "$VIGIL" scan check --db "$DB" --fast --json
check "fast check re-hashed only the moved file" jqtrue "$T/out" ".summary.files_hashed==1 and .mode==\"fast\""
run 0 "update --fast" "$VIGIL" scan update --db "$DB" --fast -q
run 0 "check after a fast update is clean" "$VIGIL" scan check --db "$DB" -q

# Other algorithms; weak ones only on request.
run 0 "init with sha512" "$VIGIL" scan init --db "$T/512.db" --hash sha512 -q "$D/etc"
run 0 "list sha512 baseline" "$VIGIL" scan list --db "$T/512.db" --json
check "sha512 digest recorded" test "$(jq -r "select(.path==\"$D/etc/passwd\") | .attrs.hash" "$T/out")" = "sha512:$(sha512sum "$D/etc/passwd" | cut -d' ' -f1)"
run 2 "md5 without --allow-weak-hash is refused" "$VIGIL" scan init --db "$T/md5.db" --hash md5 "$D"
check "refusal says why" has "$T/err" "weak"
run 0 "md5 with --allow-weak-hash" "$VIGIL" scan init --db "$T/md5.db" --hash md5 --allow-weak-hash -q "$D/etc"

# Size cap: stated as such, never an empty hash.
head -c 4096 /dev/urandom >"$D/data/big"
run 0 "init with a hash size cap" "$VIGIL" scan init --db "$T/cap.db" --max-hash-size 1K -q "$D/data"
run 0 "list capped baseline" "$VIGIL" scan list --db "$T/cap.db" --json
check "big file marked size-cap, no hash" test "$(jq -r "select(.path==\"$D/data/big\") | .attrs.hash_state + \" \" + (.attrs.hash|tostring)" "$T/out")" = "size-cap null"
head -c 4096 /dev/urandom >"$D/data/big"
run 1 "capped file change still seen by its attributes" "$VIGIL" scan check --db "$T/cap.db" --json
check "capped file: no hash comparison claimed" jqtrue "$T/out" "any(.changes[]; .path==\"$D/data/big\" and (.changed|index(\"hash\")) == null and (.changed|index(\"mtime\")) != null)"

# Progress on a terminal: files/s, MB/s.
truncate -s 3G "$T/sparse"
script -qec "$VIGIL scan init --db $T/p.db $T/sparse" /dev/null >"$T/tty" 2>&1
check "progress line on a terminal" has "$T/tty" "files/s"
check "progress line shows MB/s" has "$T/tty" "MB/s"
rm -f "$T/sparse"

run 2 "unknown scan command" "$VIGIL" scan frobnicate
check "names the command" has "$T/err" 'unknown command "frobnicate"'
run 2 "--fast makes no sense for init" "$VIGIL" scan init --fast --db "$T/x.db" "$D"
run 2 "check refuses new rules" "$VIGIL" scan check --db "$DB" --exclude '*.log'
check "says rules come from the baseline" has "$T/err" "uses the rules stored in the baseline"
run 2 "bad --workers" "$VIGIL" scan init --db "$T/x.db" -j zero "$D"
run 0 "--version" "$VIGIL" --version
check "version printed" has "$T/out" "vigil "

finish
