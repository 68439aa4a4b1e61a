#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil-agent's realtime monitoring against a real hub: files added,
# changed and removed arrive within seconds with origin realtime, a
# content-tracked file's change carries its diff; a policy change is taken
# on the fly without a flood of "added" events; an inotify queue overflow
# is reported and the rescan reports every file once; so is the watch
# limit, and the rescan it asks for finds what the watcher cannot see.
export VIGIL=${VIGIL:-unused}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"
. "$(dirname "$0")/agent_lib.sh"

D1=$T/d1
D2=$T/d2
mkdir -p "$D1/burst" "$D2"
printf 'line one\nline two\n' >"$D1/conf.txt"
for i in $(seq 1 20); do echo "existing $i" >"$D2/e$i"; done

hub_init rt || hub_abort
hub_start || hub_abort
admin_session || hub_abort
agent_setup rt
agent_conf realtime_debounce_ms 100
agent_start
agent_registered 60 || { not_ok "the agent did not register"; show_agent_log; hub_abort; }
ok "the agent registered (device $DEV)"
setup_group rt "$(jq -nc --arg d "$D1" \
	'{paths: [$d], realtime: true, content: [$d + "/conf.txt"]}')"
check "the agent runs the policy (within poll_period + slack)" wait_policy 40
has_baseline() { has_events 1 "$(agent_event_is baseline)" type=agent; }
check "the first scan reports its baseline" wait_until 60 has_baseline

check "the realtime watcher reports a probe file" realtime_ready "$D1"

# realtime_event DESC TYPE PATH: the change arrives within 10 s, once, as
# a realtime event.
realtime_event() {
	local c=".path == \"$3\" and .type == \"$2\""
	if wait_events 10 1 "$c" "q=$3"; then
		check "$1: arrives within 10 s with origin realtime" \
			test "$(ev_count "$c and .origin == \"realtime\"")" -eq 1
	else
		not_ok "$1: no \"$2\" event for $3 within 10 s"
		ev_show ".path == \"$3\""
	fi
}
echo hello >"$D1/new.txt"
realtime_event "file created" added "$D1/new.txt"
echo more >>"$D1/new.txt"
realtime_event "file modified" changed "$D1/new.txt"
rm "$D1/new.txt"
realtime_event "file removed" removed "$D1/new.txt"
dev_events "q=$D1/new.txt"
check "the file's three changes, nothing more ($(wc -l <"$T/all.json") events)" \
	test "$(ev_count ".path == \"$D1/new.txt\"")" -eq 3

echo 'a new line for the diff' >>"$D1/conf.txt"
realtime_event "content file modified" changed "$D1/conf.txt"
id=$(jq -r "select(.path == \"$D1/conf.txt\" and .type == \"changed\") | .id" \
	"$T/all.json" | head -1)
api GET "/events/${id:-0}"
expect "its diff holds the new line" 200 \
	'(.diff // "") | contains("+a new line for the diff")' \
	'(.diff // "") | contains("line two")'

# --- policy change on the fly: a second folder ---
agent_status
scan_before=$(st last_scan)
set_policy "$(jq -nc --arg d "$D1" --arg e "$D2" \
	'{paths: [$d, $e], realtime: true, content: [$d + "/conf.txt"]}')"
check "the agent takes the new policy without restart (poll 10 s + slack)" \
	wait_policy 30
check "the agent is the same process" agent_alive
scanned_again() {
	agent_status
	[ -n "$(st last_scan)" ] && [ "$(st last_scan)" != "$scan_before" ]
}
check "the new paths are scanned" wait_until 60 scanned_again
echo "changed in the new folder" >>"$D2/e7"
realtime_event "a change in the folder added to the policy" changed "$D2/e7"
echo fresh >"$D2/fresh.txt"
realtime_event "a file created in the folder added to the policy" added "$D2/fresh.txt"
dev_events "q=$D2/"
check "no flood: no \"added\" event for the files already in the new folder" \
	test "$(ev_count '.type == "added" and (.path | test("/e[0-9]+$"))')" -eq 0
ev_show '.type == "added" and (.path | test("/e[0-9]+$"))' 5

# --- realtime overflow: the agent's inotify queue holds 16 events ---
agent_stop_checked "the agent stops cleanly before the overflow run"
QF=/proc/sys/fs/inotify/max_queued_events
if [ "$(id -u)" -ne 0 ] || ! old_q=$(cat "$QF" 2>/dev/null) || ! [ -w "$QF" ]; then
	ok "# SKIP the overflow run needs root and $QF"
	hub_stop_checked
	hub_finish
	exit $?
fi
undo "echo $old_q >$QF"
echo 16 >"$QF"
agent_start
check "with a 16-event inotify queue, the watcher reports a probe" \
	realtime_ready "$D1" 60
# The queue size is taken when the agent makes its inotify instance:
# restored for everyone else now.
echo "$old_q" >"$QF"
check "max_queued_events restored ($(cat "$QF"))" test "$(cat "$QF")" = "$old_q"

# The agent is stopped while the 500 files are made, so the kernel's queue
# overflows for certain, however fast the watcher reads.
kill -STOP "$AGENT_PID"
(cd "$D1/burst" && touch $(seq -f 'f%g' 1 500))
kill -CONT "$AGENT_PID"
ov=$(agent_event_is realtime-overflow)
check "the hub gets an agent event realtime-overflow" \
	wait_events 30 1 "$ov" type=agent
ev_show "$ov" 2
check "... and a rescan brings an added event for each of the 500 files" \
	wait_events 120 500 '.type == "added" and (.path | test("/burst/f[0-9]+$"))' \
	"q=$D1/burst/f"
dev_events "q=$D1/burst/f"
jq -r 'select(.type == "added") | .path' "$T/all.json" | sort | uniq -c |
	awk '$1 != 1' >"$T/dups"
seq -f "$D1/burst/f%g" 1 500 | sort >"$T/want"
jq -r 'select(.type == "added") | .path' "$T/all.json" | sort -u >"$T/got"
check "every one of the 500 files is reported ($(comm -23 "$T/want" "$T/got" | wc -l) missing)" \
	test -z "$(comm -23 "$T/want" "$T/got")"
check "each exactly once ($(wc -l <"$T/dups") reported more than once)" \
	test ! -s "$T/dups"
check "no other kind of event for them" \
	test "$(ev_count '.type != "added"')" -eq 0
echo "    origins of the 500: $(jq -r 'select(.type == "added") | .origin' \
	"$T/all.json" | sort | uniq -c | tr '\n' ' ')"

# --- the watch limit: fs.inotify.max_user_watches a few above what root
# uses, a tree of 300 folders ---
WF=/proc/sys/fs/inotify/max_user_watches
if ! old_w=$(cat "$WF" 2>/dev/null) || ! [ -w "$WF" ]; then
	ok "# SKIP the watch-limit run needs a writable $WF"
	agent_stop_checked
	hub_stop_checked
	hub_finish
	exit $?
fi
WL=$T/wl
for i in $(seq 1 300); do mkdir -p "$WL/d$i"; done
# The agent first scans the tree with realtime off: a baseline of it, and
# no watch held when the watches in use are counted.
set_policy "$(jq -nc --arg d "$WL" '{paths: [$d], realtime: false}')"
check "the agent takes the policy of the 300 folders" wait_policy 30
wl_scanned() { grep -q 'scan: 301 items' "$AGENT_LOG"; }
check "... and scans them (301 items)" wait_until 60 wl_scanned
for i in $(seq 1 300); do echo late >"$WL/d$i/late"; done

# inotify_watches_in_use: the watches of root's processes, from the
# "inotify wd:" lines of their fdinfo (an instance shared by two
# processes counts twice: the limit is then a little higher).
inotify_watches_in_use() {
	local p n=0
	for p in /proc/[0-9]*; do
		[ "$(stat -c %u "$p" 2>/dev/null)" = 0 ] || continue
		n=$((n + $(cat "$p"/fdinfo/* 2>/dev/null | grep -c '^inotify wd:')))
	done
	echo "$n"
}
used=$(inotify_watches_in_use)
undo "echo $old_w >$WF"
echo $((used + 5)) >"$WF"
echo "    max_user_watches $old_w -> $(cat "$WF") ($used in use by root)"
set_policy "$(jq -nc --arg d "$WL" '{paths: [$d], realtime: true}')"
wl=$(agent_event_is watch-limit)
wait_events 60 1 "$wl" type=agent
wl_rc=$?
# Restored as soon as the agent said it (the trap restores it too).
echo "$old_w" >"$WF"
check "max_user_watches restored ($(cat "$WF"))" test "$(cat "$WF")" = "$old_w"
check "the hub gets an agent event watch-limit" test "$wl_rc" -eq 0
ev_show "$wl" 2
wl_dir=$(jq -r "select($wl) | .path // empty" "$T/all.json" | head -1)
check "... naming a folder of the tree (${wl_dir:-none})" \
	test -n "$wl_dir" -a -d "$wl_dir" -a "${wl_dir#"$WL"/}" != "$wl_dir"
# The 300 files were made after the baseline and before the watcher
# started; the policy's rules did not change, so no scan but the one the
# watch-limit event asks for reports them (the schedule is an hour).
late=".type == \"added\" and (.path | test(\"/d[0-9]+/late$\"))"
check "the rescan the watch-limit asks for reports the file in the unwatched folder" \
	wait_events 60 1 ".type == \"added\" and .path == \"$wl_dir/late\" and .origin == \"scan\"" \
	"q=$wl_dir/late"
check "... and each of the 300 files, exactly once" \
	wait_events 60 300 "$late" "q=$WL/d"
dev_events "q=$WL/d"
check "no file reported twice ($(ev_count "$late") events)" \
	test "$(ev_count "$late")" -eq 300
agent_stop_checked
hub_stop_checked
hub_finish
