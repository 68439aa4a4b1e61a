# SPDX-License-Identifier: GPL-3.0-or-later
# Shared functions for the black-box tests of vigil-hub, sourced after lib.sh.
# They initialise a hub in a private data folder under $T, run the real
# daemon on a free port of 127.0.0.1 and talk to it over HTTPS with curl,
# trusting only the certificate `vigil-hub init` made (no -k).
#
#   hub_init NAME [init options]   data folder $T/NAME, admin password, port
#   hub_start [daemon options]     starts it, waits for /api/v1/health
#   hub_stop / hub_kill            SIGTERM (clean exit checked) / SIGKILL
#   api METHOD PATH [BODY [CTYPE [curl options]]]   as $AS
#   api_as WHO METHOD PATH ...     WHO: a bearer token, basic:USER:PASS,
#                                  cookie:JAR[:CSRF] or - (nobody)
#   expect DESC STATUS [JQ...]     one assertion on the last answer
#   expect_err DESC STATUS CODE [WORD...]  an error answer naming WORDs
#   hub_stop_checked [DESC]        hub_stop, exit 0 and a clean log checked
#   hub_abort / hub_finish         end the test early / normally
#
# Every answer: status in $CODE, body in $T/body, headers in $T/hdr.
: "${VIGIL_HUB:?set VIGIL_HUB to the vigil-hub binary}"

for tool in curl jq openssl sqlite3 gzip ss; do
	command -v "$tool" >/dev/null || { echo "missing tool: $tool"; exit 1; }
done

HUB_DIR=
HUB_PORT=
HUB_PID=
HUB_URL=
HUB_CERT=
HUB_LOG=$T/hub.log
ADMIN_PW=
ENROL_USER=
ENROL_PW=
AS=-
SRC_ADDR=
EXTRA=()
CODE=000
LAST_REQ=
START=$(date +%s)
: >"$HUB_LOG"

# hub_abort: ends a test whose hub could not be set up (there is nothing
# left to test): the summary so far, then exit 1.
hub_abort() {
	finish
	exit 1
}

# hub_finish: the last line of a test: how long it took, then the summary
# and exit status of finish.
hub_finish() {
	echo "# $(($(date +%s) - START)) s"
	finish
}

# A TCP port nobody listens on now (the daemon may still lose a race for
# it: hub_start then tries another).
free_port() {
	local p i
	for i in $(seq 1 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if [ -z "$(ss -ltnH "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# hub_init NAME [init options]: `vigil-hub init` in $T/NAME with a known
# admin password (or, with RANDOM_ADMIN=1, the random one init prints on
# a line naming the admin password); reads the enrolment account from
# HubDetails.xml. Init's output is kept in $T/init.out / $T/init.err.
hub_init() {
	local name=$1 rc pwopt=()
	shift
	HUB_DIR=$T/$name
	HUB_PORT=$(free_port)
	HUB_CERT=$HUB_DIR/hub.crt
	HUB_URL=https://127.0.0.1:$HUB_PORT
	ADMIN_PW="Adm1n-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
	if [ "${RANDOM_ADMIN:-0}" != 1 ]; then
		printf '%s\n' "$ADMIN_PW" >"$T/adminpw.$name"
		pwopt=(--admin-password-file "$T/adminpw.$name")
	fi
	"$VIGIL_HUB" init --data-dir "$HUB_DIR" --listen "127.0.0.1:$HUB_PORT" \
	    "${pwopt[@]}" "$@" >"$T/init.out" 2>"$T/init.err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		not_ok "vigil-hub init $name: exit $rc"
		sed 's/^/    err: /' "$T/init.err" | head -10
		return 1
	fi
	if [ "${RANDOM_ADMIN:-0}" = 1 ]; then
		ADMIN_PW=$(grep -i 'admin' "$T/init.out" | grep -i 'password' |
		    grep -oE '[A-Za-z0-9]{20}' | tail -1)
	fi
	ENROL_USER=$(xml_field Username)
	ENROL_PW=$(xml_field Password)
	return 0
}

# xml_field NAME: the text of <NAME> in the hub's HubDetails.xml.
xml_field() {
	sed -n "s:.*<$1>\\(.*\\)</$1>.*:\\1:p" "$HUB_DIR/HubDetails.xml" 2>/dev/null |
	    head -1
}

# hub_start [daemon options]: runs the daemon in the background on
# $HUB_DIR (stderr appended to $HUB_LOG, PID in $HUB_PID) and waits up to
# 30 s for GET /api/v1/health to answer 200. Another port is tried when
# the one chosen is taken.
hub_start() {
	local attempt i code
	for attempt in 1 2 3 4 5; do
		echo "=== start on port $HUB_PORT" >>"$HUB_LOG"
		bg "$VIGIL_HUB" --data-dir "$HUB_DIR" \
		    --listen "127.0.0.1:$HUB_PORT" --log-level debug \
		    --foreground "$@" >>"$HUB_LOG" 2>&1
		HUB_PID=$!
		HUB_URL=https://127.0.0.1:$HUB_PORT
		for i in $(seq 1 300); do
			if ! kill -0 "$HUB_PID" 2>/dev/null; then
				wait "$HUB_PID" 2>/dev/null
				break
			fi
			# The port must be ours, not another process's that
			# had it first; -k only to see it is up (certificate
			# checks follow in the tests).
			if ss -ltnpH "sport = :$HUB_PORT" 2>/dev/null |
			    grep -q "pid=$HUB_PID,"; then
				code=$(curl -sk -o /dev/null -w '%{http_code}' \
				    --max-time 2 "$HUB_URL/api/v1/health")
				[ "$code" = 200 ] && return 0
			fi
			sleep 0.1
		done
		if kill -0 "$HUB_PID" 2>/dev/null; then
			not_ok "hub did not answer /api/v1/health within 30 s"
			tail -20 "$HUB_LOG" | sed 's/^/    log: /'
			return 1
		fi
		hub_forget
		if tail -5 "$HUB_LOG" | grep -qiE 'in use|bind'; then
			HUB_PORT=$(free_port)
			continue
		fi
		not_ok "hub exited at start"
		tail -20 "$HUB_LOG" | sed 's/^/    log: /'
		return 1
	done
	not_ok "no free port for the hub after 5 tries"
	return 1
}

# Drops $HUB_PID from the processes cleanup kills (it has ended).
hub_forget() {
	bg_forget "$HUB_PID"
}

hub_alive() {
	[ -n "$HUB_PID" ] && kill -0 "$HUB_PID" 2>/dev/null
}

# hub_stop: SIGTERM, then waits up to 20 s; returns the daemon's exit
# status (124 if it had to be killed).
hub_stop() {
	bg_stop "$HUB_PID" 20
}

hub_kill() {
	bg_kill "$HUB_PID"
}

# hub_stop_checked [DESC]: hub_stop, checking that the hub exited 0 (DESC,
# default "hub stops cleanly") and that its log holds no sanitizer report.
hub_stop_checked() {
	local rc=0
	hub_stop || rc=$?
	check "${1:-hub stops cleanly} (exit $rc)" test "$rc" -eq 0
	check "no sanitizer report in the hub's log" hub_log_clean
}

# The hub's own log must hold no sanitizer report.
hub_log_clean() {
	if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' \
	    "$HUB_LOG"; then
		grep -E -A30 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' \
		    "$HUB_LOG" | head -40 | sed 's/^/    log: /'
		return 1
	fi
	return 0
}

# count_leaks FILE... -- SECRET...: sets LEAKS to the number of (secret,
# file) pairs where a non-empty secret appears in the file, and shows
# where.
count_leaks() {
	local files=() s f
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		files+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	LEAKS=0
	for s in "$@"; do
		[ -n "$s" ] || continue
		for f in "${files[@]}"; do
			if grep -qF -- "$s" "$f"; then
				LEAKS=$((LEAKS + 1))
				echo "    secret ${s:0:6}... found in $(basename "$f"):"
				grep -F -- "$s" "$f" | head -2 | sed 's/^/      /'
			fi
		done
	done
}

# SHA-256 fingerprint "AB:CD:..." of the certificate the hub serves.
served_fingerprint() {
	openssl s_client -connect "127.0.0.1:$HUB_PORT" </dev/null 2>/dev/null |
	    openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//'
}

# colons_off "AB:CD" -> "ABCD" upper case, for comparing both forms.
colons_off() {
	tr -d ':\n' <<<"$1" | tr 'a-f' 'A-F'
}

# api_as WHO METHOD PATH [BODY [CTYPE [curl options...]]]
# BODY is text or @FILE; CTYPE defaults to application/json ("none" sends
# no Content-Type). $SRC_ADDR, when set, is the source address used; the
# curl options in the array EXTRA are added to this one request.
api_as() {
	local who=$1 m=$2 p=$3 rest jar ctype body=
	shift 3
	local a=(-sS --cacert "$HUB_CERT" -X "$m" -o "$T/body" -D "$T/hdr"
	    -w '%{http_code}' --max-time 30)
	[ -n "$SRC_ADDR" ] && a+=(--interface "$SRC_ADDR")
	case $who in
	- | '') ;;
	basic:*) a+=(-u "${who#basic:}") ;;
	cookie:*)
		rest=${who#cookie:}
		jar=${rest%%:*}
		a+=(-b "$jar" -c "$jar")
		[ "$rest" != "$jar" ] && a+=(-H "X-CSRF-Token: ${rest#*:}")
		;;
	*) a+=(-H "Authorization: Bearer $who") ;;
	esac
	if [ $# -ge 1 ]; then
		body=$1
		ctype=${2:-application/json}
		if [ "$ctype" = none ]; then
			a+=(-H 'Content-Type:')
		else
			a+=(-H "Content-Type: $ctype")
		fi
		a+=(--data-binary "$body")
		shift
		[ $# -ge 1 ] && shift
	fi
	LAST_REQ="$m /api/v1$p (as ${who%%:*}${SRC_ADDR:+ from $SRC_ADDR})"
	[ -n "$body" ] && LAST_REQ="$LAST_REQ body: $(printf '%s' "$body" |
	    head -c 300 | tr '\n' ' ')"
	: >"$T/body"
	: >"$T/hdr"
	CODE=$(curl "${a[@]}" "${EXTRA[@]}" "$@" "$HUB_URL/api/v1$p" \
	    2>"$T/curl.err" </dev/null)
	CODE=${CODE:-000}
	EXTRA=()
}

api() {
	api_as "$AS" "$@"
}

# expect DESC STATUS [JQ...]: the last answer has STATUS (or one of
# "A|B") and every jq expression is true for its body. On failure the
# request and the answer are printed.
expect() {
	local desc=$1 want=$2 e bad=
	shift 2
	[[ "|$want|" == *"|$CODE|"* ]] || bad="status $CODE, wanted $want"
	if [ -z "$bad" ]; then
		for e in "$@"; do
			if [ "$(jq -r "$e" "$T/body" 2>/dev/null)" != true ]; then
				bad="jq '$e' is not true (gives $(jq -c "$e" \
				    "$T/body" 2>&1 | head -c 200))"
				break
			fi
		done
	fi
	if [ -z "$bad" ]; then
		ok "$desc"
		return 0
	fi
	not_ok "$desc: $bad"
	echo "    request: $LAST_REQ"
	echo "    answer: $CODE $(head -c 600 "$T/body" | tr '\n' ' ')"
	[ "$CODE" = 000 ] && sed 's/^/    curl: /' "$T/curl.err" | head -3
	return 1
}

# expect_err DESC STATUS CODE [WORD...]: an error answer
# {"error": CODE, "message": "..."} whose message names each WORD
# (case-insensitive).
expect_err() {
	local desc=$1 want=$2 err=$3 w
	local exprs=(".error == \"$err\"" '(.message | type) == "string"'
	    '(.message | length) > 0')
	shift 3
	for w in "$@"; do
		exprs+=("(.message | ascii_downcase | contains(\"$(printf '%s' "$w" |
		    tr 'A-Z' 'a-z' | sed 's/["\\]/\\&/g')\"))")
	done
	expect "$desc" "$want" "${exprs[@]}"
}

# hdr NAME: the value of a header of the last answer (last occurrence).
hdr() {
	grep -i "^$1:" "$T/hdr" | tail -1 | sed 's/^[^:]*: *//' | tr -d '\r'
}

# sign_in USER PASSWORD: POST /session; TOKEN and CSRF from the answer.
sign_in() {
	api_as - POST /session "$(jq -nc --arg u "$1" --arg p "$2" \
	    '{username: $u, password: $p}')"
	TOKEN=$(jq -r '.token // empty' "$T/body" 2>/dev/null)
	CSRF=$(jq -r '.csrf // empty' "$T/body" 2>/dev/null)
}

# admin_session: signs in as admin and makes that the default identity.
admin_session() {
	sign_in admin "$ADMIN_PW"
	ADMIN_TOKEN=$TOKEN
	AS=$ADMIN_TOKEN
	[ "$CODE" = 200 ] && [ -n "$TOKEN" ]
}

# reg_body HOSTNAME MACHINE_ID [MAC]: a registration request.
reg_body() {
	jq -nc --arg h "$1" --arg m "$2" --arg mac "${3:-}" \
	    '{hostname: $h, name: $h, os: "Debian GNU/Linux 12 (bookworm)",
	      machine_id: $m, agent_version: "0.2.0",
	      ips: ["10.0.0.5", "fe80::1"],
	      macs: (if $mac == "" then [] else [$mac] end), poll_period: 300}'
}

# register HOSTNAME MACHINE_ID [MAC]: registers an agent with the
# enrolment account; DEV and CRED hold the device id and credential.
register() {
	api_as "basic:$ENROL_USER:$ENROL_PW" POST /agent/register \
	    "$(reg_body "$@")"
	DEV=$(jq -r '.device_id // empty' "$T/body" 2>/dev/null)
	CRED=$(jq -r '.credential // empty' "$T/body" 2>/dev/null)
}

NOW_RFC=$(date -u +%Y-%m-%dT%H:%M:%S.123456789Z)

# mkbatch FIRST COUNT [PATH_PREFIX [DEVICE_ID]]: a batch of "changed" file
# events with ids FIRST..FIRST+COUNT-1, path PREFIX<id>.
mkbatch() {
	jq -nc --argjson f "$1" --argjson n "$2" \
	    --arg p "${3:-/etc/vigil-test/f}" --arg d "${4:-}" --arg t "$NOW_RFC" '
	    {events: [range($f; $f + $n) | {id: ., time: $t, origin: "scan",
	      change: {change: "changed", kind: "file", path: "\($p)\(.)",
	        changed: ["size", "mtime", "hash"],
	        old: {type: "file", size: 10, mode: "0644", uid: 0, gid: 0,
	              user: "root", group: "root",
	              mtime: "2026-01-01T00:00:00Z",
	              hash: ("sha256:" + ("a" * 64))},
	        new: {type: "file", size: 12, mode: "0644", uid: 0, gid: 0,
	              user: "root", group: "root",
	              mtime: "2026-01-02T00:00:00.5Z",
	              hash: ("sha256:" + ("b" * 64))},
	        diff: "--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new\n",
	        diff_truncated: false}}]}
	    | if $d == "" then . else .device_id = ($d | tonumber) end'
}

# all_events QUERY: every event of GET /events?QUERY, following the
# cursor, one JSON summary per line in $T/all.json. Fails when a page
# does not answer 200.
all_events() {
	local q=$1 next="" n=0
	: >"$T/all.json"
	while :; do
		api GET "/events?$q${next:+&before=$next}"
		[ "$CODE" = 200 ] || return 1
		jq -c '.events[]' "$T/body" >>"$T/all.json"
		next=$(jq -r '.next // empty' "$T/body")
		[ -n "$next" ] || return 0
		n=$((n + 1))
		[ "$n" -lt 1000 ] || return 1
	done
}

# db_tables_with COLUMN: tables of the hub's database having that column.
db_tables_with() {
	sqlite3 "$HUB_DIR/hub.db" "select m.name from sqlite_master m,
	    pragma_table_info(m.name) p where m.type = 'table' and
	    p.name = '$1'" 2>/dev/null
}

# parallel_api N WHO METHOD PATH [BODY]: N requests sent at once, as
# api_as sends one (WHO: a bearer token, basic:USER:PASS or -). "%i" in
# WHO, PATH, BODY and $SRC_ADDR stands for the request's number, 1..N.
# The statuses go to $T/par.codes, one line per request in number order;
# answer I to $T/par.I.body, its headers to $T/par.I.hdr.
parallel_api() {
	local n=$1 who=$2 m=$3 p=$4 body=${5:-} i w b src pids=()
	rm -f "$T"/par.*
	for i in $(seq 1 "$n"); do
		w=${who//%i/$i}
		b=${body//%i/$i}
		src=${SRC_ADDR//%i/$i}
		local a=(-sS --cacert "$HUB_CERT" -X "$m" -o "$T/par.$i.body"
		    -D "$T/par.$i.hdr" -w '%{http_code}' --max-time 60)
		[ -n "$src" ] && a+=(--interface "$src")
		case $w in
		- | '') ;;
		basic:*) a+=(-u "${w#basic:}") ;;
		*) a+=(-H "Authorization: Bearer $w") ;;
		esac
		[ -n "$b" ] && a+=(-H 'Content-Type: application/json'
		    --data-binary "$b")
		curl "${a[@]}" "$HUB_URL/api/v1${p//%i/$i}" >"$T/par.$i.code" \
		    2>/dev/null </dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in $(seq 1 "$n"); do
		cat "$T/par.$i.code" 2>/dev/null || echo 000
		echo
	done | grep -v '^$' >"$T/par.codes"
}

# par_count STATUS: how many answers of the last parallel_api had STATUS.
par_count() {
	grep -cx -- "$1" "$T/par.codes"
}

# hub_rss: the resident memory of the hub, in KiB.
hub_rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$HUB_PID/status" 2>/dev/null || echo 0
}

# hold_request FILE SECONDS: sends FILE (a whole HTTP request, or the
# start of one) over a new TLS connection to the hub and keeps the
# connection open for SECONDS, in the background (killed at cleanup).
hold_request() {
	# Not through bg: a command put in the background inside a function
	# reads /dev/null, not the file given to the function.
	timeout "$2" openssl s_client -quiet -connect "127.0.0.1:$HUB_PORT" \
	    <"$1" >/dev/null 2>&1 &
	BG_PIDS+=($!)
}

# in_netns ARG...: runs this test script again as `SCRIPT ARG...` in a new
# network namespace whose loopback interface is up (so the run may add
# addresses of its own), shows its output and adds its results to this
# run's. One ok (SKIP) where namespaces cannot be made.
in_netns() {
	local rc
	if ! unshare -n true 2>/dev/null; then
		ok "# SKIP $* (no network namespaces here)"
		return 0
	fi
	unshare -n bash -c 'ip link set lo up && exec bash "$@"' netns "$0" \
	    "$@" >"$T/netns.out" 2>&1
	rc=$?
	sed 's/^/  /' "$T/netns.out"
	PASS=$((PASS + $(grep -c '^ok ' "$T/netns.out")))
	FAIL=$((FAIL + $(grep -c '^not ok ' "$T/netns.out")))
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$T/netns.out"; then
		not_ok "the run in a network namespace ($*) failed: exit $rc"
	fi
}
