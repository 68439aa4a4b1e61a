#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil-agent through a real HTTP proxy (tinyproxy, on a port of its own
# on 127.0.0.1, allowed to CONNECT to the hub's port only): with Proxy in
# HubDetails.xml it registers and its events reach the hub, the proxy's
# log showing the tunnel; with ProxyUsername/ProxyPassword and a proxy
# asking for them, the right ones work, a wrong password is named as the
# proxy's refusal (407) and no password is ever logged; an https_proxy in
# the environment is ignored unless UseDefaultProxy is true.
export VIGIL=${VIGIL:-unused}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"
. "$(dirname "$0")/agent_lib.sh"

if ! command -v tinyproxy >/dev/null; then
	not_ok "tinyproxy is not installed (scripts/install-deps.sh test)"
	finish
	exit 1
fi
# The environment of the run must not send the agent anywhere else.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

hub_init proxy || hub_abort
hub_start || hub_abort
admin_session || hub_abort

PROXY_PORT=
PROXY_PID=
PROXY_LOG=

proxy_listening() {
	ss -ltnpH "sport = :$PROXY_PORT" 2>/dev/null | grep -q "pid=$PROXY_PID,"
}

# proxy_start NAME [USER PASS]: tinyproxy in the foreground with its own
# configuration ($T/NAME.tp.conf) and log ($T/NAME.tp.log), asking for
# USER and PASS when given; PID in PROXY_PID, port in PROXY_PORT.
proxy_start() {
	local name=$1 attempt
	for attempt in 1 2 3; do
		PROXY_PORT=$(free_port)
		PROXY_LOG=$T/$name.tp.log
		: >"$PROXY_LOG"
		{
			echo "Port $PROXY_PORT"
			echo "Listen 127.0.0.1"
			echo "Timeout 60"
			echo "MaxClients 20"
			echo "LogFile \"$PROXY_LOG\""
			echo "LogLevel Info"
			echo "Allow 127.0.0.1"
			echo "ConnectPort $HUB_PORT"
			[ $# -ge 3 ] && echo "BasicAuth $2 $3"
		} >"$T/$name.tp.conf"
		bg tinyproxy -d -c "$T/$name.tp.conf" >>"$T/$name.tp.out" 2>&1
		PROXY_PID=$!
		wait_until 10 proxy_listening && return 0
		proxy_stop
	done
	not_ok "tinyproxy did not start:"
	tail -5 "$T/$name.tp.out" "$PROXY_LOG" | sed 's/^/    /'
	return 1
}

proxy_stop() {
	local p keep=()
	kill -TERM "$PROXY_PID" 2>/dev/null
	wait_until 10 eval '! kill -0 "$PROXY_PID" 2>/dev/null' ||
	    kill -9 "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
	for p in "${BG_PIDS[@]}"; do
		[ "$p" = "$PROXY_PID" ] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
}

# The proxy was asked for a tunnel to the hub's port.
proxy_connected() {
	grep -qE "Request \(file descriptor [0-9]+\): CONNECT 127\.0\.0\.1:$HUB_PORT " \
	    "$PROXY_LOG"
}

# The proxy was asked for nothing at all.
proxy_unused() {
	! grep -qE "Request \(file descriptor [0-9]+\):" "$PROXY_LOG" || {
		grep -E "Request \(file" "$PROXY_LOG" | head -5 | sed 's/^/    /'
		return 1
	}
}

# xml_add ELEMENT VALUE: adds an element to the agent's HubDetails.xml.
xml_add() {
	sed -i "s|</HubDetails>|  <$1>$2</$1>\n</HubDetails>|" "$AGENT_XML"
}

# proxy_agent NAME: an agent with a name of its own (one device each).
proxy_agent() {
	agent_setup "$1"
	xml_add NameSuffix "-$1"
}

mkdir -p "$T/w"
echo "watched" >"$T/w/f1"
POLICY=$(jq -nc --arg d "$T/w" '{paths: [$d], schedule: 3600}')
has_baseline() { has_events 1 "$(agent_event_is baseline)" type=agent; }

# registered_with_events NAME: the running agent registers, takes its
# group's policy and reports its baseline to the hub.
registered_with_events() {
	if agent_registered 60; then
		ok "$1: the agent registers (device $DEV)"
	else
		not_ok "$1: the agent did not register within 60 s"
		show_agent_log
		return 1
	fi
	setup_group "$1" "$POLICY" || return 1
	check "$1: the agent takes its policy" wait_policy 40
	check "$1: its baseline event reaches the hub" wait_until 60 has_baseline
}

# --- Proxy set: all traffic through it, whatever no_proxy says ---
proxy_start plain || hub_abort
proxy_agent plain
xml_add Proxy "http://127.0.0.1:$PROXY_PORT"
export no_proxy=127.0.0.1,localhost
agent_start
unset no_proxy
registered_with_events "through the proxy"
check "the proxy's log shows the CONNECT to the hub's port $HUB_PORT" \
	proxy_connected
agent_stop_checked "through the proxy: the agent stops cleanly"
proxy_stop

# --- a proxy asking for a user name and password ---
PX_USER=vigilpx
PX_PASS="Px-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')"
proxy_start auth "$PX_USER" "$PX_PASS" || hub_abort
code=$(curl -s -o /dev/null -w '%{http_connect}' --max-time 10 \
	-x "http://127.0.0.1:$PROXY_PORT" --cacert "$HUB_CERT" \
	"$HUB_URL/api/v1/health")
check "the proxy refuses a client without credentials (curl: $code)" \
	test "$code" = 407

proxy_agent authok
xml_add Proxy "http://127.0.0.1:$PROXY_PORT"
xml_add ProxyUsername "$PX_USER"
xml_add ProxyPassword "$PX_PASS"
agent_start
registered_with_events "with the proxy's credentials"
check "with credentials: the proxy's log shows the CONNECT" proxy_connected
agent_stop_checked "with credentials: the agent stops cleanly"
check "with credentials: the proxy password is not in the agent's log" \
	lacks "$AGENT_LOG" "$PX_PASS"
check "with credentials: the proxy password is not in the data dir" \
	test -z "$(grep -rlF -- "$PX_PASS" "$AGENT_DATA" 2>/dev/null)"

# No credentials: the proxy's 407, and what to do about it.
proxy_agent authnone
xml_add Proxy "http://127.0.0.1:$PROXY_PORT"
agent_start
error_says() {
	agent_status
	st last_error | grep -qE "$1"
}
if wait_until 60 error_says "proxy .*127\.0\.0\.1:$PROXY_PORT refused.*HTTP 407.*ProxyUsername"; then
	ok "no proxy credentials: last_error names the proxy's 407 ($(st last_error))"
else
	not_ok "no proxy credentials: last_error does not name the proxy's 407"
	sed 's/^/    status: /' "$T/status.json"
fi
check "no proxy credentials: the agent has no device id" test -z "$(st device_id)"
agent_stop_checked "no proxy credentials: the agent stops cleanly"

# A wrong password: refused by the proxy, and said so (tinyproxy 1.11
# answers a wrong password with 401, others with 407).
WRONG_PASS="Wrong-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')"
proxy_agent authbad
xml_add Proxy "http://127.0.0.1:$PROXY_PORT"
xml_add ProxyUsername "$PX_USER"
xml_add ProxyPassword "$WRONG_PASS"
agent_start
if wait_until 60 error_says "proxy .*127\.0\.0\.1:$PROXY_PORT refused.*HTTP 40[17].*proxy authentication failed"; then
	ok "a wrong proxy password: last_error names the proxy's refusal ($(st last_error))"
else
	not_ok "a wrong proxy password: last_error does not name the proxy's refusal"
	sed 's/^/    status: /' "$T/status.json"
fi
check "a wrong proxy password: the agent has no device id" \
	test -z "$(st device_id)"
check "a wrong proxy password: the agent keeps running (it retries)" \
	agent_alive
"$VIGIL_AGENT" status --data-dir "$AGENT_DATA" >"$T/status.txt" 2>&1
check "a wrong proxy password: status in text names the proxy's refusal" \
	grep -qE 'refused.*HTTP 40[17]' "$T/status.txt"
check "a wrong proxy password: the hub's enrolment password is still in HubDetails.xml" \
	has "$AGENT_XML" "<Password>$ENROL_PW</Password>"
agent_stop_checked "a wrong proxy password: the agent stops cleanly"
check "a wrong proxy password: it is not in the agent's log" \
	lacks "$AGENT_LOG" "$WRONG_PASS"
check "a wrong proxy password: it is not in its status" \
	lacks "$T/status.txt" "$WRONG_PASS"
check "a wrong proxy password: it is not in the data dir" \
	test -z "$(grep -rlF -- "$WRONG_PASS" "$AGENT_DATA" 2>/dev/null)"
check "no proxy password in any agent log" \
	test -z "$(grep -lF -e "$PX_PASS" -e "$WRONG_PASS" "$T"/plain.log \
	    "$T"/authok.log "$T"/authnone.log "$T"/authbad.log 2>/dev/null)"
proxy_stop

# --- https_proxy in the environment ---
proxy_start env || hub_abort
proxy_agent envoff
xml_add UseDefaultProxy false
export https_proxy="http://127.0.0.1:$PROXY_PORT"
agent_start
unset https_proxy
if agent_registered 60; then
	ok "UseDefaultProxy false: the agent registers (directly)"
else
	not_ok "UseDefaultProxy false: the agent did not register within 60 s"
	show_agent_log
fi
check "UseDefaultProxy false: the agent's environment has https_proxy" \
	grep -qz "^https_proxy=http://127.0.0.1:$PROXY_PORT" \
	    "/proc/$AGENT_PID/environ"
agent_stop_checked "UseDefaultProxy false: the agent stops cleanly"
check "UseDefaultProxy false: https_proxy is ignored (no CONNECT in the proxy's log)" \
	proxy_unused

proxy_agent envon
xml_add UseDefaultProxy true
export https_proxy="http://127.0.0.1:$PROXY_PORT"
agent_start
unset https_proxy
if agent_registered 60; then
	ok "UseDefaultProxy true: the agent registers"
else
	not_ok "UseDefaultProxy true: the agent did not register within 60 s"
	show_agent_log
fi
check "UseDefaultProxy true: https_proxy is used (the proxy's log shows the CONNECT)" \
	proxy_connected
agent_stop_checked "UseDefaultProxy true: the agent stops cleanly"
proxy_stop

hub_stop_checked
hub_finish
