#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Bad input: unreadable files and folders, files that vanish or change
# while being read, hostile names, corrupt or foreign baselines, a full
# disk, interruptions and concurrent runs. Each gives a clear message and
# exit 2, never a crash, and never damages a good baseline.
. "$(dirname "$0")/lib.sh"

NOBODY=65534
asnobody() {
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"
}

# --- unreadable files and folders (as an unprivileged user) ---
U=$T/user
mkdir -p "$U/tree/closed" "$U/db"
echo secret >"$U/tree/secret"
echo fine >"$U/tree/fine"
echo inside >"$U/tree/closed/f"
chown -R $NOBODY:$NOBODY "$U"
chown root:root "$U/tree/secret"
chmod 600 "$U/tree/secret"
run 2 "unreadable file: exit 2" asnobody "$VIGIL" scan init --db "$U/db/b.db" "$U/tree" --json
check "message names the file and the reason" has "$T/err" "vigil: $U/tree/secret: cannot read: Permission denied"
check "JSON report lists the problem" jqtrue "$T/out" ".problems[0].path==\"$U/tree/secret\" and .summary.problems==1"
check "baseline still written" test -f "$U/db/b.db"
run 0 "list it" asnobody "$VIGIL" scan list --db "$U/db/b.db" --json
check "unreadable file recorded as such, without a hash" test "$(jq -r "select(.path==\"$U/tree/secret\") | .attrs.hash_state" "$T/out")" = unreadable
check "readable neighbour hashed" test "$(jq -r "select(.path==\"$U/tree/fine\") | .attrs.hash" "$T/out")" = "sha256:$(sha "$U/tree/fine")"

chmod 000 "$U/tree/closed"
run 2 "unreadable folder: exit 2" asnobody "$VIGIL" scan check --db "$U/db/b.db" --json
check "message names the folder" has "$T/err" "vigil: $U/tree/closed: cannot read directory: Permission denied"
check "what was inside is not reported as removed" jqtrue "$T/out" "[.changes[] | select(.change==\"removed\")] | length == 0"
check "the folder's own mode change is reported" jqtrue "$T/out" "any(.changes[]; .path==\"$U/tree/closed\" and .new.mode==\"0000\")"
chmod 755 "$U/tree/closed"

# --- files vanishing mid-scan ---
# One worker hashes a large sparse file first while the walker has already
# listed the small ones; they are deleted before the worker reaches them.
# Those the walker had opened for the worker are still read (they existed
# when walked); the others vanish. Each is accounted for exactly once.
# (The walker holds at most half the descriptor limit open ahead.)
V=$T/vanish
mkdir -p "$V"
truncate -s 3G "$V/aaa-large"
for i in $(seq 1 600); do echo "$i" >"$V/f$i"; done
# A low descriptor limit (256) caps how many the walker may open ahead.
(ulimit -n 256 && exec "$VIGIL" scan init --db "$T/van.db" -j 1 --no-progress "$V") >"$T/out" 2>"$T/err" &
pid=$!
BG_PIDS+=($pid)
sleep 0.4
rm -f "$V"/f*
wait $pid
rc=$?
sanitizer_clean && check "vanished files: exit 2 (got $rc)" test $rc -eq 2
check "vanished files are named" has "$T/err" ": vanished during the scan"
nvanished=$(grep -c ': vanished during the scan' "$T/err")
run 1 "the baseline made meanwhile is sound" "$VIGIL" scan check --db "$T/van.db" --fast --json
check "every deleted file is either vanished or removed, once ($nvanished vanished)" \
	jqtrue "$T/out" ".summary.removed + $nvanished == 600 and .summary.added == 0 and .summary.changed == 0"

# --- a file that keeps changing while it is read ---
C=$T/churn
mkdir -p "$C"
truncate -s 2G "$C/growing"
bg bash -c "while :; do echo x >>'$C/growing'; sleep 0.02; done"
run 2 "file changing during every read: exit 2" "$VIGIL" scan init --db "$T/churn.db" --no-progress "$C"
check "reported as changing while read" has "$T/err" "$C/growing: changed while being read, 3 times"
kill -9 "${BG_PIDS[-1]}"
wait "${BG_PIDS[-1]}" 2>/dev/null
run 0 "list churn baseline" "$VIGIL" scan list --db "$T/churn.db" --json
check "recorded as unstable, not with a wrong hash" test "$(jq -r "select(.path==\"$C/growing\") | .attrs.hash_state" "$T/out")" = unstable
rm -f "$C/growing"

# --- hostile names ---
H=$T/names
mkdir -p "$H"
nl=$'line1\nchanged:   fake-entry'
bad=$'bad\xff\xfename'
echo a >"$H/$nl"
echo b >"$H/$bad"
echo c >"$H/-dash"
echo d >"$H/back\\slash"
echo e >"$H/ütf-8 ok"
run 0 "init over hostile names" "$VIGIL" scan init --db "$T/names.db" -q "$H"
for f in "$H/$nl" "$H/$bad" "$H/-dash" "$H/back\\slash" "$H/ütf-8 ok"; do echo more >>"$f"; done
run 1 "check over hostile names" "$VIGIL" scan check --db "$T/names.db" --no-progress
check "newline in a name is escaped, no forged line" has "$T/out" 'changed: '"$H"'/line1\nchanged:   fake-entry'
check "exactly five changed lines" test "$(grep -c '^changed:' "$T/out")" -eq 5
check "invalid UTF-8 bytes shown as \\x escapes" has "$T/out" 'bad\xff\xfename'
check "backslash escaped" has "$T/out" 'back\\slash'
check "valid UTF-8 kept" has "$T/out" "ütf-8 ok"
run 1 "JSON over hostile names" "$VIGIL" scan check --db "$T/names.db" --json
check "output is valid JSON" jq -e . "$T/out" >/dev/null
check "path_b64 holds the exact bytes" test "$(jq -r '.changes[] | select(.path_b64) | .path_b64' "$T/out" | base64 -d | od -An -tx1 | tr -d ' \n')" = "$(printf '%s' "$H/$bad" | od -An -tx1 | tr -d ' \n')"
run 0 "update over hostile names" "$VIGIL" scan update --db "$T/names.db" -q
run 0 "clean check after update" "$VIGIL" scan check --db "$T/names.db" -q

# --- paths too long or too deep to record ---
L=$T/long
mkdir -p "$L"
name=$(printf 'n%.0s' $(seq 1 250))
(cd "$L" && for i in $(seq 1 140); do mkdir "$name" && cd "$name" || exit 1; done && echo deep >file)
run 2 "a path over 32768 bytes: exit 2" "$VIGIL" scan init --db "$T/long.db" "$L"
check "it is named as too long, not scanned" has "$T/err" "path longer than 32768 bytes, not scanned"
run 2 "the baseline stays readable (no corruption)" "$VIGIL" scan check --db "$T/long.db" -q
check "check says the same, nothing about corruption" lacks "$T/err" "corrupt"
rm -rf "$L"
N=$T/nest
mkdir -p "$N"
# Five chunks of 820 levels: bash's cd costs O(depth) per call.
chunk=$(printf 'd/%.0s' $(seq 1 820))
(cd "$N" && for i in 1 2 3 4 5; do mkdir -p "$chunk" && cd -P "$chunk" || exit 1; done)
run 2 "nesting deeper than 4096 levels: exit 2, no crash" "$VIGIL" scan init --db "$T/nest.db" "$N"
check "the depth limit is named" has "$T/err" "nested deeper than 4096 levels: not walked further"
rm -rf "$N"

# --- corrupt, foreign and missing baselines ---
G=$T/good
mkdir -p "$G/t"
for i in 1 2 3; do echo "$i" >"$G/t/f$i"; done
run 0 "good baseline" "$VIGIL" scan init --db "$G/good.db" -q "$G/t"

corrupt_case() { # corrupt_case NAME FILE EXPECTED-MESSAGE
	local before
	before=$(sha "$2")
	run 2 "$1: check exits 2" "$VIGIL" scan check --db "$2"
	check "$1: message" has "$T/err" "$3"
	run 2 "$1: update exits 2" "$VIGIL" scan update --db "$2"
	check "$1: file left byte-identical" test "$(sha "$2")" = "$before"
	check "$1: no .new left" test ! -e "$2.new"
}
head -c 40000 /dev/urandom >"$G/random.db"
corrupt_case "random bytes" "$G/random.db" "$G/random.db: not a vigil baseline (not an SQLite database)"
sqlite3 "$G/foreign.db" "CREATE TABLE t(x); INSERT INTO t VALUES (1);"
corrupt_case "another program's database" "$G/foreign.db" "not a vigil baseline (an SQLite database of another program)"
cp "$G/good.db" "$G/future.db"
sqlite3 "$G/future.db" "PRAGMA user_version=99"
corrupt_case "newer format" "$G/future.db" "baseline format 99 is not supported by this vigil (it reads format 1)"
cp "$G/good.db" "$G/altered.db"
sqlite3 "$G/altered.db" "UPDATE item SET size = size + 1 WHERE ftype = 1 AND rowid IN (SELECT rowid FROM item LIMIT 1)" 2>/dev/null ||
	sqlite3 "$G/altered.db" "UPDATE item SET size = size + 1 WHERE key = (SELECT key FROM item WHERE ftype = 1 LIMIT 1)"
corrupt_case "row altered behind vigil's back" "$G/altered.db" "baseline is corrupt (checksum mismatch"
cp "$G/good.db" "$G/rules.db"
sqlite3 "$G/rules.db" "UPDATE meta SET value = value || 'ignore hash' || char(10) WHERE key = 'rules'"
corrupt_case "stored rules edited" "$G/rules.db" "baseline is corrupt (checksum mismatch: its items or settings were altered)"
cp "$G/good.db" "$G/deleted.db"
sqlite3 "$G/deleted.db" "DELETE FROM item WHERE key = (SELECT key FROM item WHERE ftype = 1 LIMIT 1)"
corrupt_case "row deleted" "$G/deleted.db" "baseline is corrupt (3 items stored, 4 expected)"
cp "$G/good.db" "$G/nometa.db"
sqlite3 "$G/nometa.db" "DELETE FROM meta WHERE key='checksum'"
corrupt_case "metadata missing" "$G/nometa.db" "baseline is corrupt (metadata missing)"
size=$(stat -c %s "$G/good.db")
head -c $((size / 2)) "$G/good.db" >"$G/truncated.db"
corrupt_case "truncated file" "$G/truncated.db" "$G/truncated.db: "
: >"$G/empty.db"
corrupt_case "empty file" "$G/empty.db" "$G/empty.db: not a vigil baseline"
mkdir "$G/dir.db"
run 2 "a folder as baseline" "$VIGIL" scan check --db "$G/dir.db"
check "says it is not a regular file" has "$T/err" "not a vigil baseline (not a regular file)"
run 2 "missing baseline" "$VIGIL" scan check --db "$G/none.db"
check "says how to make one" has "$T/err" "$G/none.db: No such file or directory (make one with 'vigil scan init')"

# --- a full disk never costs the good baseline ---
if unshare -m true 2>/dev/null; then
	F=$T/full
	mkdir -p "$F/small" "$F/big" "$F/disk"
	echo one >"$F/small/a"
	for i in $(seq 1 4000); do echo "$i" >"$F/big/file-with-a-long-name-$i"; done
	cat >"$T/full.sh" <<SCRIPT
set -e
mount -t tmpfs -o size=160k tmpfs '$F/disk'
'$VIGIL' scan init --db '$F/disk/b.db' -q '$F/small'
sha256sum '$F/disk/b.db' | cut -d' ' -f1 >'$T/full.before'
set +e
'$VIGIL' scan init --db '$F/disk/b.db' -q '$F/big' 2>'$T/full.err'
echo \$? >'$T/full.rc'
sha256sum '$F/disk/b.db' | cut -d' ' -f1 >'$T/full.after'
ls '$F/disk' >'$T/full.ls'
'$VIGIL' scan check --db '$F/disk/b.db' -q
echo \$? >'$T/full.check'
SCRIPT
	unshare -m bash "$T/full.sh" >/dev/null 2>&1
	check "full disk: init exits 2" test "$(cat "$T/full.rc")" = 2
	check "full disk: message says so" has "$T/full.err" "disk full"
	check "full disk: message says the baseline was not changed" has "$T/full.err" "the baseline at $F/disk/b.db was not changed"
	check "full disk: old baseline byte-identical" test "$(cat "$T/full.before")" = "$(cat "$T/full.after")"
	check "full disk: no partial file left" test "$(cat "$T/full.ls" | grep -c 'b.db.new')" -eq 0
	check "full disk: old baseline still works" test "$(cat "$T/full.check")" = 0
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/full.err"; then not_ok "sanitizer report in full-disk run"; cat "$T/full.err"; fi
else
	not_ok "unshare -m is needed for the full-disk test (run as root)"
fi

# --- interruptions and concurrent runs ---
I=$T/intr
mkdir -p "$I"
echo small >"$I/small"
run 0 "baseline before interruption" "$VIGIL" scan init --db "$T/i.db" -q "$I"
good=$(sha "$T/i.db")
truncate -s 6G "$I/huge"
"$VIGIL" scan update --db "$T/i.db" --no-progress >"$T/out" 2>"$T/err" &
pid=$!
BG_PIDS+=($pid)
sleep 0.5
run 2 "a second writer is refused while the first runs" "$VIGIL" scan update --db "$T/i.db"
check "it names the lock" has "$T/err" "another vigil run is writing this baseline"
wait $pid
rc=$?
check "the first writer still completes (exit $rc)" test $rc -eq 0
check "and its baseline is in place" test "$(sha "$T/i.db")" != "$good"
run 0 "check against it is clean" "$VIGIL" scan check --db "$T/i.db" -q --fast
good=$(sha "$T/i.db")
echo more >>"$I/small"
"$VIGIL" scan update --db "$T/i.db" --no-progress >"$T/out" 2>"$T/err" &
pid=$!
BG_PIDS+=($pid)
sleep 0.5
kill -INT $pid
wait $pid
rc=$?
check "SIGINT: exit 2 (got $rc)" test $rc -eq 2
check "SIGINT: says the baseline was not changed" has "$T/err" "interrupted; the baseline was not changed"
check "baseline unchanged after SIGINT" test "$(sha "$T/i.db")" = "$good"
check "no .new left after SIGINT" test ! -e "$T/i.db.new"

"$VIGIL" scan update --db "$T/i.db" --no-progress >/dev/null 2>&1 &
pid=$!
BG_PIDS+=($pid)
sleep 0.5
kill -9 $pid
wait $pid 2>/dev/null
check "baseline unchanged after kill -9 of an update" test "$(sha "$T/i.db")" = "$good"
run 1 "a check still works with it (and sees the change)" "$VIGIL" scan check --db "$T/i.db" -q --fast
rm -f "$I/huge"
run 0 "the next update replaces the leftover and succeeds" "$VIGIL" scan update --db "$T/i.db" -q
check "no .new left after a good update" test ! -e "$T/i.db.new"

finish
