# SPDX-License-Identifier: GPL-3.0-or-later
# Shared functions for the black-box tests of vigil-agent, sourced after
# lib.sh and hub_lib.sh. A real vigil-hub runs on a free port of
# 127.0.0.1 (hub_lib.sh); the real agent runs in the foreground on a
# private data folder under $T and is stopped by its PID.
#
#   agent_setup NAME               $T/NAME.xml, $T/NAME.data, $T/NAME.conf
#   agent_conf KEY VALUE           adds a line to the agent's agent.conf
#   agent_start [options]          starts it (log $T/NAME.log), PID in AGENT_PID
#   agent_stop / agent_kill        SIGTERM (exit status returned) / SIGKILL
#   agent_once [options]           one --once run (120 s at most)
#   agent_status                   `status --json` to $T/status.json, exit in STATUS_RC
#   agent_registered SECONDS       waits for a device id; sets DEV
#   setup_group NAME POLICY        a group with that policy, DEV in it (GID)
#   set_policy POLICY              replaces the group's policy
#   wait_policy SECONDS            the agent runs the device's current policy
#   dev_events [QUERY]             the device's events to $T/all.json
#   ev_count JQ                    how many of them match a jq condition
#   wait_until SECONDS COMMAND...  polls COMMAND until it succeeds
#   realtime_ready DIR [SECONDS]   a probe file in DIR arrives as realtime
#   event_details IDFILE           GET /events/ID of each, to $T/details.json
#   undo COMMAND                   run at exit (a sysctl, a user ...)
#
# The agent binary: $VIGIL_AGENT, else the one beside the hub's build.
# VIGIL_KEEP_LOGS=DIR keeps the logs of a run (they are shown in part
# after a failure).
if [ -z "${VIGIL_AGENT:-}" ]; then
	VIGIL_AGENT=$(cd "$(dirname "$VIGIL_HUB")/.." 2>/dev/null &&
	    pwd)/agent/vigil-agent
fi
if [ ! -x "$VIGIL_AGENT" ]; then
	not_ok "no vigil-agent binary at $VIGIL_AGENT (set VIGIL_AGENT)"
	finish
	exit 1
fi

# Undo steps for changes outside $T (a sysctl, a user, a package),
# run last-first at exit after every process started is killed.
UNDO=()
undo() {
	UNDO+=("$1")
}

agent_cleanup() {
	local p i
	for p in "${BG_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for ((i = ${#UNDO[@]} - 1; i >= 0; i--)); do
		eval "${UNDO[i]}" >/dev/null 2>&1
	done
	# VIGIL_KEEP_LOGS=DIR keeps every log of the run there.
	if [ -n "${VIGIL_KEEP_LOGS:-}" ]; then
		mkdir -p "$VIGIL_KEEP_LOGS" && cp "$T"/*.log "$VIGIL_KEEP_LOGS/"
	fi
	# After a failure, what the agents said (without the debug lines).
	if [ "$FAIL" -gt 0 ]; then
		for p in "$T"/*.log; do
			[ "$p" = "$HUB_LOG" ] && continue
			[ -s "$p" ] || continue
			echo "# $(basename "$p"), the last lines but debug:"
			grep -v ' debug: ' "$p" | tail -30 | sed 's/^/#   /'
		done
	fi
	cleanup
}
trap agent_cleanup EXIT
trap 'exit 130' INT TERM HUP

AGENT_NAME=
AGENT_XML=
AGENT_DATA=
AGENT_CONF=
AGENT_LOG=
AGENT_PID=
DEV=
GID=
STATUS_RC=

# wait_until SECONDS COMMAND...: runs COMMAND every 0.2 s until it
# succeeds (0) or SECONDS have passed (1).
wait_until() {
	local end=$(($(date +%s) + $1))
	shift
	while ! "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
	return 0
}

# hubdetails_for_test OUT: the hub's HubDetails.xml with the Url on
# 127.0.0.1 and the hub's port (init names the host, which the loopback
# of a network namespace may not resolve to the hub).
hubdetails_for_test() {
	sed "s|<Url>[^<]*</Url>|<Url>https://127.0.0.1:$HUB_PORT/api/</Url>|" \
	    "$HUB_DIR/HubDetails.xml" >"$1"
	chmod 600 "$1"
}

# agent_setup NAME: the files of one agent: its HubDetails.xml (from the
# hub's), an empty data folder and an agent.conf asking for a 10 s poll.
agent_setup() {
	AGENT_NAME=$1
	AGENT_XML=$T/$1.xml
	AGENT_DATA=$T/$1.data
	AGENT_CONF=$T/$1.conf
	AGENT_LOG=$T/$1.log
	hubdetails_for_test "$AGENT_XML"
	mkdir -p "$AGENT_DATA"
	chmod 700 "$AGENT_DATA"
	printf 'poll_period = 10\nlog_level = debug\n' >"$AGENT_CONF"
	: >>"$AGENT_LOG"
}

agent_conf() {
	printf '%s = %s\n' "$1" "$2" >>"$AGENT_CONF"
}

# agent_start [options]: the agent in the foreground, in the background
# of this shell; its output is appended to $AGENT_LOG.
agent_start() {
	echo "=== start $(date +%T.%N)" >>"$AGENT_LOG"
	bg "$VIGIL_AGENT" --hub-details "$AGENT_XML" --data-dir "$AGENT_DATA" \
	    --config "$AGENT_CONF" --log-level debug "$@" >>"$AGENT_LOG" 2>&1
	AGENT_PID=$!
}

# Drops $AGENT_PID from the processes cleanup kills (it has ended).
agent_forget() {
	bg_forget "$AGENT_PID"
}

agent_alive() {
	[ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null
}

# agent_stop: SIGTERM, then up to 30 s; the agent's exit status (124 when
# it had to be killed).
agent_stop() {
	bg_stop "$AGENT_PID" 30
}

agent_kill() {
	bg_kill "$AGENT_PID"
}

# agent_stop_checked: agent_stop, checking the exit status is 0 and the
# log holds no sanitizer report.
agent_stop_checked() {
	local rc=0
	agent_stop || rc=$?
	check "${1:-agent stops cleanly on SIGTERM} (exit $rc)" test "$rc" -eq 0
	check "no sanitizer report in the agent's log" agent_log_clean
}

agent_log_clean() {
	if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' \
	    "$AGENT_LOG"; then
		grep -E -A30 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' \
		    "$AGENT_LOG" | head -40 | sed 's/^/    log: /'
		return 1
	fi
	return 0
}

# agent_once [options]: one run with --once, output in $T/once.out, exit
# status in ONCE_RC (124 after 120 s).
agent_once() {
	echo "=== once $(date +%T.%N)" >>"$AGENT_LOG"
	timeout 120 "$VIGIL_AGENT" --hub-details "$AGENT_XML" \
	    --data-dir "$AGENT_DATA" --config "$AGENT_CONF" --log-level debug \
	    --once "$@" >"$T/once.out" 2>&1 </dev/null
	ONCE_RC=$?
	cat "$T/once.out" >>"$AGENT_LOG"
	return "$ONCE_RC"
}

# agent_status: `vigil-agent status --json`, to $T/status.json.
agent_status() {
	"$VIGIL_AGENT" status --data-dir "$AGENT_DATA" --json \
	    >"$T/status.json" 2>"$T/status.err"
	STATUS_RC=$?
	return 0
}

# st FIELD: one field of the last status ("" when null or absent).
st() {
	jq -r ".$1 // empty" "$T/status.json" 2>/dev/null
}

# The agent has a device id (in its status).
has_device_id() {
	agent_status
	[ -n "$(st device_id)" ]
}

# agent_registered SECONDS: waits for the agent's device id; DEV is it.
agent_registered() {
	wait_until "$1" has_device_id || return 1
	DEV=$(st device_id)
}

# show_agent_log: the end of the agent's log, for a failure.
show_agent_log() {
	tail -"${1:-25}" "$AGENT_LOG" | sed 's/^/    agent: /'
}

# setup_group NAME POLICY: makes a group with POLICY and puts DEV in it;
# GID is the group's id. The admin session must be open.
setup_group() {
	api POST /groups "$(jq -nc --arg n "$1" '{name: $n}')"
	expect "group $1 created" 201 '.id > 0' || return 1
	GID=$(jq -r .id "$T/body")
	set_policy "$2" || return 1
	api PUT "/groups/$GID/devices/$DEV"
	expect "device $DEV put in group $1" 204
}

# set_policy POLICY: replaces the policy of group GID.
set_policy() {
	api PUT "/groups/$GID/policy" "$1"
	expect "policy set: $(printf '%s' "$1" | head -c 160)" 200
}

# The agent's status names the policy version the hub has for the device.
policy_current() {
	local want
	api GET "/devices/$DEV"
	[ "$CODE" = 200 ] || return 1
	want=$(jq -r '.policy_version // empty' "$T/body")
	agent_status
	[ -n "$want" ] && [ "$(st policy_version)" = "$want" ]
}

# wait_policy SECONDS: the agent runs the device's current merged policy.
wait_policy() {
	wait_until "$1" policy_current
}

# dev_events [QUERY]: every event of DEV (newest first) to $T/all.json.
dev_events() {
	all_events "device=$DEV&limit=1000${1:+&$1}"
}

# ev_count JQ: how many events in $T/all.json satisfy the condition.
ev_count() {
	jq -c "select($1)" "$T/all.json" 2>/dev/null | wc -l
}

# ev_show JQ: the events matching, for a failure message.
ev_show() {
	jq -c "select($1) | {seq, type, origin, path, message}" \
	    "$T/all.json" 2>/dev/null | head -"${2:-10}" | sed 's/^/    event: /'
}

# has_events N JQ [QUERY]: at least N events of DEV match JQ now.
has_events() {
	dev_events "${3:-}" || return 1
	[ "$(ev_count "$2")" -ge "$1" ]
}

# wait_events SECONDS N JQ [QUERY]: polls the hub until has_events.
wait_events() {
	local s=$1
	shift
	wait_until "$s" has_events "$@"
}

# The agent event whose message starts with CODE (the hub stores agent
# events as "code: message").
agent_event_is() {
	printf '.type == "agent" and ((.message // "") | startswith("%s"))' "$1"
}

# norm_hex TEXT: upper case, colons and spaces dropped, for comparing
# fingerprints written either way.
norm_hex() {
	tr -d ': \n' <<<"$1" | tr 'a-f' 'A-F'
}

# event_details IDFILE: GET /events/ID for every id in IDFILE (one a
# line) over one connection; the answers, one JSON object each, go to
# $T/details.json.
event_details() {
	local id
	while read -r id; do
		printf 'url = "%s/api/v1/events/%s"\n' "$HUB_URL" "$id"
	done <"$1" >"$T/details.cfg"
	curl -sS --cacert "$HUB_CERT" -H "Authorization: Bearer $AS" \
	    --max-time 600 -K "$T/details.cfg" >"$T/details.json" 2>"$T/curl.err"
}

# queue_at_least N: the agent's status shows N queued events or more.
queue_at_least() {
	agent_status
	[ "$(st queue_events)" -ge "$1" ] 2>/dev/null
}

# queue_empty: the agent's status shows an empty queue.
queue_empty() {
	agent_status
	[ "$(jq -r '.queue_events' "$T/status.json" 2>/dev/null)" = 0 ]
}

# realtime_ready DIR [SECONDS]: creates probe files in DIR, one every two
# seconds at most, until one is reported with origin realtime (the
# watcher then runs on DIR).
PROBE=0
probe_seen() {
	has_events 1 ".path == \"$1/probe.$PROBE\" and .origin == \"realtime\"" \
	    "q=$1/probe.$PROBE"
}
probe_once() {
	PROBE=$((PROBE + 1))
	: >"$1/probe.$PROBE"
	wait_until 2 probe_seen "$1"
}
realtime_ready() {
	wait_until "${2:-60}" probe_once "$1"
}

# ---- a proxied device ($DID, named $DNAME) collected by the agent; the
# test defines devev (its events to $T/all.json) ----
has_agent_event() {
	devev || return 1
	[ "$(ev_count "$(agent_event_is "$1")")" -ge 1 ]
}
# last_collect: when the hub last heard a result for the device.
last_collect() {
	api GET "/devices/$DID"
	jq -r '.proxied.last_collect // empty' "$T/body" 2>/dev/null
}
# collections: how many collections of the device the agent began.
collections() {
	grep -c "device $DID ($DNAME): collecting" "$AGENT_LOG"
}
# mark, then more_collections N: N more collections began and the last
# one's result reached the hub since the mark.
mark() {
	MARK_N=$(collections)
	MARK_T=$(last_collect)
}
more_collections() {
	[ "$(collections)" -ge $((MARK_N + $1 + 1)) ] &&
	    [ "$(last_collect)" != "$MARK_T" ]
}
# online_ok: the device is online with no collection error.
online_ok() {
	api GET "/devices/$DID"
	[ "$CODE" = 200 ] && jqtrue "$T/body" \
	    '.online == true and .proxied.last_error == null' >/dev/null
}
