#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil-agent loses nothing and repeats nothing: changes made while the
# hub is down (killed with SIGKILL) are queued and arrive once when it is
# back; the agent killed with SIGKILL during a burst of 1000 changes ends
# with every file's final state at the hub and no change reported twice;
# a change made while the agent was stopped is found by the scan at start;
# the queue survives SIGKILL of the agent while the hub is down.
export VIGIL=${VIGIL:-unused}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"
. "$(dirname "$0")/agent_lib.sh"

W=$T/w
mkdir -p "$W/hd" "$W/burst" "$W/q"
for i in $(seq 1 20); do echo "old $i" >"$W/hd/m$i"; done
echo "before" >"$W/stopped.txt"

hub_init dura || hub_abort
hub_start || hub_abort
admin_session || hub_abort
agent_setup dura
agent_start
agent_registered 60 || { not_ok "the agent did not register"; show_agent_log; hub_abort; }
ok "the agent registered (device $DEV)"
setup_group dura "$(jq -nc --arg d "$W" '{paths: [$d], realtime: true}')"
check "the agent runs the policy" wait_policy 40
has_baseline() { has_events 1 "$(agent_event_is baseline)" type=agent; }
check "the first scan reports its baseline" wait_until 60 has_baseline

check "the realtime watcher reports a probe file" realtime_ready "$W"

# per_path_counts TYPE PREFIX: "COUNT PATH" for each path under PREFIX
# with events of TYPE, from $T/all.json.
per_path_counts() {
	jq -r "select(.type == \"$1\" and (.path | startswith(\"$2\"))) | .path" \
		"$T/all.json" | sort | uniq -c
}

# --- 1. the hub killed while files change ---
hub_kill
ok "hub killed with SIGKILL"
for i in $(seq 1 50); do echo "new $i" >"$W/hd/a$i"; done
for i in $(seq 1 20); do echo "changed" >>"$W/hd/m$i"; done
check "status shows the changes queued while the hub is away" \
	wait_until 30 queue_at_least 70
echo "    queue: $(st queue_events) events, $(st queue_bytes) bytes; last_error: $(st last_error)"
check "status names the problem with the hub" test -n "$(st last_error)"
hub_start || hub_abort
ok "hub restarted on the same data dir"
check "the queue drains once the hub is back" wait_until 180 queue_empty
dev_events "q=$W/hd/"
per_path_counts added "$W/hd/a" >"$T/c.added"
per_path_counts changed "$W/hd/m" >"$T/c.changed"
check "each of the 50 new files arrived ($(wc -l <"$T/c.added") paths)" \
	test "$(wc -l <"$T/c.added")" -eq 50
check "... exactly once" test -z "$(awk '$1 != 1' "$T/c.added")"
check "each of the 20 changed files arrived ($(wc -l <"$T/c.changed") paths)" \
	test "$(wc -l <"$T/c.changed")" -eq 20
check "... exactly once" test -z "$(awk '$1 != 1' "$T/c.changed")"
check "nothing else under that folder" \
	test "$(ev_count '.type != "added" and .type != "changed"')" -eq 0

# --- 2. the agent killed with SIGKILL during a burst of 1000 changes ---
# Each file goes absent -> v1, and every 10th v1 -> v2: no state is ever
# revisited, so one (path, change, new hash) can happen once only; two
# events with the same triple are one change reported twice. (The hub
# keeps one event per agent id, so ids cannot show a repeat: a change
# queued again after the crash would get a new id.)
burst() {
	local i
	for i in $(seq 1 1000); do
		echo "v1 $i" >"$W/burst/b$i"
		[ $((i % 50)) -eq 0 ] && sleep 0.1
	done
	for i in $(seq 10 10 1000); do
		echo "v2 $i" >"$W/burst/b$i"
		[ $((i % 100)) -eq 0 ] && sleep 0.1
	done
}
burst &
BURST=$!
BG_PIDS+=("$BURST")
check "the hub receives burst changes" \
	wait_until 30 has_events 1 '.path | contains("/burst/b")' "q=$W/burst/b"
agent_kill
ok "agent killed with SIGKILL during the burst ($(ls "$W/burst" | wc -l) files made so far)"
wait "$BURST"
agent_start
check "the restarted agent drains its queue" wait_until 180 queue_empty
all_reported() {
	has_events 1000 'true' "q=$W/burst/b" &&
		[ "$(jq -r '.path' "$T/all.json" | sort -u | wc -l)" -ge 1000 ]
}
check "every burst file is reported" wait_until 180 all_reported
check "the queue is empty" wait_until 60 queue_empty
dev_events "q=$W/burst/b"
jq -r '.id' "$T/all.json" >"$T/burst.ids"
event_details "$T/burst.ids"
check "the details of the $(wc -l <"$T/burst.ids") burst events are read" \
	test "$(jq -s 'length' "$T/details.json")" -eq "$(wc -l <"$T/burst.ids")"
jq -r '[.path, .type, (.new.hash // "-")] | @tsv' "$T/details.json" |
	sort | uniq -d >"$T/burst.dups"
check "no change reported twice ($(wc -l <"$T/burst.dups") repeated)" \
	test ! -s "$T/burst.dups"
head -5 "$T/burst.dups" | sed 's/^/    twice: /'
# The last event of each path (highest agent id) holds the final state.
jq -rs 'group_by(.path)[] | max_by(.seq) | [.path, .type, (.new.hash // "-")] | @tsv' \
	"$T/details.json" | sort >"$T/burst.last"
for f in "$W"/burst/b*; do
	printf '%s\tsha256:%s\n' "$f" "$(sha "$f")"
done | sort >"$T/burst.want"
cut -f1,3 "$T/burst.last" >"$T/burst.got"
bad=$(comm -23 "$T/burst.want" "$T/burst.got" | wc -l)
check "every file's last event carries its final content ($bad wrong or missing)" \
	test "$bad" -eq 0
comm -23 "$T/burst.want" "$T/burst.got" | head -3 | sed 's/^/    want: /'
check "the last event of each file is added or changed" \
	test -z "$(cut -f2 "$T/burst.last" | grep -vx 'added\|changed')"
dev_events
check "no two events of the device share an agent id" \
	test -z "$(jq -r 'select(.seq != null) | .seq' "$T/all.json" | sort | uniq -d)"

# --- 3. a change made while the agent is stopped ---
agent_stop_checked "the agent stops cleanly on SIGTERM"
echo "after" >>"$W/stopped.txt"
agent_start
check "the change made while stopped is reported after the start, origin scan" \
	wait_events 60 1 ".path == \"$W/stopped.txt\" and .type == \"changed\" and .origin == \"scan\"" \
	"q=$W/stopped.txt"
check "... once" test "$(ev_count ".path == \"$W/stopped.txt\"")" -eq 1

# --- 4. the queue survives SIGKILL while the hub is down ---
check "the realtime watcher runs again" realtime_ready "$W"
hub_stop
ok "hub stopped"
for i in $(seq 1 20); do echo "queued $i" >"$W/q/q$i"; done
check "the 20 changes are queued" wait_until 30 queue_at_least 20
agent_kill
ok "agent killed with SIGKILL with $(st queue_events) events queued"
agent_start
running_with_queue() {
	agent_status
	[ "$STATUS_RC" -eq 0 ] && [ "$(st queue_events)" -ge 20 ] 2>/dev/null
}
check "restarted with the hub still down: status shows the queue" \
	wait_until 30 running_with_queue
echo "    status: $(jq -c '{state, queue_events, queue_bytes, last_error}' "$T/status.json")"
hub_start || hub_abort
check "once the hub is back the queue drains" wait_until 180 queue_empty
dev_events "q=$W/q/q"
per_path_counts added "$W/q/q" >"$T/c.q"
check "each of the 20 files arrived ($(wc -l <"$T/c.q") paths)" \
	test "$(wc -l <"$T/c.q")" -eq 20
check "... exactly once" test -z "$(awk '$1 != 1' "$T/c.q")"

# --- 5. SIGTERM in the middle of a long catch-up stops the agent ---
# bench/agent_fill queues 200,000 events as a scan would; SIGTERM a
# second into their delivery must end the agent within 3 s (the
# signal is blocked outside the main thread's wait, so the send loop
# has to look for it), leaving the rest queued.
agent_stop_checked
FILL=$(dirname "$VIGIL_AGENT")/../bench/agent_fill
if [ -x "$FILL" ]; then
	"$FILL" "$AGENT_DATA" 200000
	check "200,000 events queued by agent_fill" test $? -eq 0
	agent_start
	sending() {
		agent_status
		[ "$(st queue_events)" -lt 200000 ] 2>/dev/null
	}
	check "the backlog is being delivered" wait_until 60 sending
	t0=$(date +%s.%N)
	agent_stop_checked "SIGTERM during the catch-up: a clean stop"
	dt=$(echo "$(date +%s.%N) - $t0" | bc)
	check "... within 3 s ($dt s; the whole backlog takes longer)" test "$(echo "$dt < 3" | bc)" -eq 1
	agent_status
	check "... with the rest still queued ($(st queue_events) events)" \
		test "$(st queue_events)" -gt 0
	agent_start
	check "restarted, the agent delivers the rest" wait_until 180 queue_empty
	agent_stop_checked
else
	not_ok "bench/agent_fill is missing next to the agent ($FILL)"
fi

check "state.db integrity_check is ok" \
	test "$(sqlite3 "$AGENT_DATA/state.db" 'pragma integrity_check')" = ok
hub_stop_checked
hub_finish
