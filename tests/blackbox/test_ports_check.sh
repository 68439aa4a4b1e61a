#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# `vigil ports check` against real servers in a network namespace
# (ports_lib.sh): each result comes out of its real situation. From the
# proxy's namespace: the hub (TLS, health, pinned SHA-256 or SHA-1
# thumbprint), OpenSSH, inetutils telnetd and Samba answer ok; nothing
# listening and a firewall's reset are "refused", a firewall's drop is
# "filtered", an address without a route is "no route", a name that does
# not resolve is "unresolved", plain HTTP (or SSH) where another service
# is expected is "wrong service", a TLS server that wants a client
# certificate is a "TLS failure", another certificate than the one
# pinned is a "thumbprint mismatch". The exit status says whether every
# flow works; the table gives one sentence of advice per failure; the
# agents' "no inbound port" is confirmed (no vigil-agent, a real one
# listening on nothing, a vigil-agent that listens). The deployment is
# also read from the hub (hub.conf and hub.db: the registered agent's
# address), its API (signed in, the thumbprint checked) and an agent's
# HubDetails.xml. On the hub, with --hub-conf, the hub's own port is ok. Probes run in parallel: ten
# filtered targets with --timeout "$PT" take well under ten seconds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports_lib.sh"

ports_need
start_fixture

D=$T/deploy
mkdir -p "$D"

# advice_line HOST PORT RESULT: the table output ($T/out) has exactly one
# line starting with "HOST:PORT (" (after blanks or a bullet), naming the
# result and ending a sentence.
advice_line() {
	local lines
	lines=$(grep -E "^[[:space:]*-]*$(sed 's/\./\\./g' <<<"$1:$2") \\(" "$T/out")
	if [ "$(printf '%s' "$lines" | grep -c '^')" -ne 1 ]; then
		echo "    (want one advice line for $1:$2, got:)"
		printf '%s\n' "$lines" | sed 's/^/    | /'
		sed 's/^/    out: /' "$T/out" | head -40
		return 1
	fi
	grep -qiF -- "$3" <<<"$lines" && grep -qE '\.[[:space:]]*$' <<<"$lines" || {
		echo "    (the advice line does not name '$3' or end a sentence: $lines)"
		return 1
	}
}

# counts OK FAILED SKIPPED: the summary of the last JSON output.
counts() {
	jqtrue "$T/out" ".ok == $1 and .failed == $2 and .skipped == $3"
}

# summary_line OK FAILED SKIPPED: the last line of the table output.
summary_line() {
	tail -1 "$T/out" | grep -qE "^[0-9]+ destinations? checked: $1 ok, $2 failed, $3 skipped" || {
		echo "    (last line: $(tail -1 "$T/out"))"
		return 1
	}
}

# norm TEXT: upper case hex without colons or blanks.
norm() {
	tr -d ': \n' <<<"$1" | tr 'a-f' 'A-F'
}

# ---------------------------------------------------------------------
# Every flow of a proxy works.
deploy "$D/ok.conf" \
	"# a proxy whose devices all answer" \
	"hub $HUB_NAME:$HUB_PORT" \
	"thumbprint $HUB_FP" \
	"proxy $CLIENT_IP" \
	"ssh $HUB_IP" \
	"telnet $HUB_IP" \
	"smb $HUB_IP" \
	"ssh 10.$PX.5.0/28"
pcheck 0 "check from the proxy, every device answering: exit 0" "$CNS" \
	--deployment "$D/ok.conf" --from proxy --timeout "$PT" --json
check "the output is one JSON document" jq -e . "$T/out" >/dev/null
check "it is the proxy's check" jqtrue "$T/out" '.from == "proxy"'
expect_result "the hub, its thumbprint pinned" "$HUB_NAME" "$HUB_PORT" ok \
	"health ok"
check "the hub's detail names the certificate's SHA-256" \
	grep -qiF "$HUB_FP" <<<"$(res "$HUB_NAME" "$HUB_PORT" detail)"
check "the hub's address is the one its name resolves to" \
	test "$(res "$HUB_NAME" "$HUB_PORT" address)" = "$HUB_IP"
check "the hub's service is https" \
	test "$(res "$HUB_NAME" "$HUB_PORT" service)" = https
expect_result "OpenSSH" "$HUB_IP" 22 ok '^SSH-2\.0-OpenSSH'
expect_result "inetutils telnetd" "$HUB_IP" 23 ok
expect_result "Samba" "$HUB_IP" 445 ok 'SMB ?[23]'
expect_result "a network of SSH devices" "10.$PX.5.0/28" 22 skipped
check "ok results carry no advice, every time is a number" jqtrue "$T/out" \
	'[.results[] | select(.result == "ok") | .advice == null and (.ms | type) == "number" and .ms >= 0] | all'
check "the summary counts 4 ok, 0 failed, 1 skipped" counts 4 0 1
check "no agent listens: there is no vigil-agent here" jqtrue "$T/out" \
	'.agent_listening.ok == true and (.agent_listening.detail | test("no vigil-agent"))'

pcheck 0 "the same as a table: exit 0" "$CNS" \
	--deployment "$D/ok.conf" --from proxy --timeout "$PT"
check "the table has the columns FLOW, TO, ADDRESS, RESULT, TIME, DETAIL" \
	grep -qE 'FLOW.*TO.*ADDRESS.*RESULT.*TIME.*DETAIL' "$T/out"
check "the table shows OpenSSH's banner" has "$T/out" "SSH-2.0-OpenSSH"
check "the table says no vigil-agent runs here" has "$T/out" "no vigil-agent"
check "no advice sentence when nothing fails" \
	test "$(grep -cE "^[[:space:]*-]*[^[:space:]]+:[0-9]+ \\(" "$T/out")" -eq 0
check "the last line counts 4 ok, 0 failed, 1 skipped" summary_line 4 0 1

# Without --from: the proxy named in the file is this machine.
pcheck 0 "without --from, the proxy that is this machine is chosen" "$CNS" \
	--deployment "$D/ok.conf" --timeout "$PT" --json
check "it is the proxy's check" jqtrue "$T/out" '.from == "proxy"'

# ---------------------------------------------------------------------
# The devices of a proxy fail, each its own way.
deploy "$D/bad.conf" \
	"hub $HUB_NAME:$HUB_PORT" \
	"thumbprint $HUB_FP" \
	"proxy $CLIENT_IP" \
	"ssh $HUB_IP $CLOSED_IP $REJECT_IP $DROP_IP" \
	"ssh $NOROUTE_IP $BAD_NAME" \
	"ssh $HTTP_IP:8443" \
	"telnet $HUB_IP:22 $REJECT_IP" \
	"smb $HTTP_IP:8443 $DROP_IP"
pcheck 1 "check with failing devices: exit 1" "$CNS" \
	--deployment "$D/bad.conf" --from proxy --timeout "$PT" --json
expect_result "the hub still works" "$HUB_NAME" "$HUB_PORT" ok
SVC=ssh expect_result "the working SSH server" "$HUB_IP" 22 ok '^SSH-'
expect_result "nothing listening" "$CLOSED_IP" 22 refused
expect_result "a firewall's reset" "$REJECT_IP" 22 refused
expect_result "a firewall's drop" "$DROP_IP" 22 filtered
expect_result "an address without a route" "$NOROUTE_IP" 22 no_route
expect_result "a name that does not resolve" "$BAD_NAME" 22 unresolved
SVC=ssh expect_result "plain HTTP as an SSH device (no banner)" "$HTTP_IP" \
	8443 wrong_service
SVC=smb expect_result "plain HTTP as an SMB device (no SMB answer)" \
	"$HTTP_IP" 8443 wrong_service
SVC=telnet expect_result "an SSH server as a Telnet device" "$HUB_IP" 22 \
	wrong_service
expect_result "a firewall's reset on Telnet" "$REJECT_IP" 23 refused
expect_result "a firewall's drop on SMB" "$DROP_IP" 445 filtered
check "every failure has advice" jqtrue "$T/out" \
	'[.results[] | select(.result != "ok" and .result != "skipped") | (.advice | type) == "string" and (.advice | length) > 10] | all'
check "the summary counts 2 ok, 10 failed, 0 skipped" counts 2 10 0
check "the advice for a refusal names the port to open" \
	grep -qF "22/tcp" <<<"$(res "$CLOSED_IP" 22 advice)"

pcheck 1 "the same as a table: exit 1" "$CNS" \
	--deployment "$D/bad.conf" --from proxy --timeout "$PT"
check "one sentence for nothing listening" advice_line "$CLOSED_IP" 22 refused
check "one sentence for the firewall's reset on SSH" advice_line "$REJECT_IP" 22 refused
check "one sentence for the firewall's reset on Telnet" advice_line "$REJECT_IP" 23 refused
check "one sentence for the drop on SSH" advice_line "$DROP_IP" 22 filtered
check "one sentence for the drop on SMB" advice_line "$DROP_IP" 445 filtered
check "one sentence for no route" advice_line "$NOROUTE_IP" 22 "no route"
check "one sentence for the name" advice_line "$BAD_NAME" 22 unresolved
check "one sentence for the SSH server as Telnet" advice_line "$HUB_IP" 22 "wrong service"
check "10 advice sentences in all (the HTTP server's two share HOST:PORT)" \
	test "$(grep -cE "^[[:space:]*-]*[^[:space:]]+:[0-9]+ \\(" "$T/out")" -eq 10
check "the last line counts 2 ok, 10 failed, 0 skipped" summary_line 2 10 0

# ---------------------------------------------------------------------
# The hub, from an agent, fails each its own way.
# hubcase NAME WANT-RESULT HUB-WORD [THUMBPRINT]: checks the agent -> hub
# flow of a deployment with that hub line.
hubcase() {
	local name=$1 want=$2 hub=$3 tp=${4:-} rc=1
	[ "$want" = ok ] && rc=0
	deploy "$D/$name.conf" "hub $hub" ${tp:+"thumbprint $tp"} \
		"agents $CLIENT_IP"
	pcheck "$rc" "agent check, $name: exit $rc" "$CNS" \
		--deployment "$D/$name.conf" --from agent --timeout "$PT" --json
	check "agent check, $name: one result, for the hub, from an agent" \
		jqtrue "$T/out" '.from == "agent" and (.results | length) == 1 and .results[0].service == "https"'
}

hubcase sha1 ok "$HUB_NAME:$HUB_PORT" "$(norm "$HUB_FP1" | tr A-F a-f)"
expect_result "the hub pinned by SHA-1 (lower case, no colons)" \
	"$HUB_NAME" "$HUB_PORT" ok "health ok"

hubcase url ok "https://$HUB_NAME:$HUB_PORT/api/" "$HUB_FP"
expect_result "the hub given as its URL" "$HUB_NAME" "$HUB_PORT" ok

hubcase http wrong_service "$HTTP_IP:$HUB_PORT"
expect_result "plain HTTP on the hub's port" "$HTTP_IP" "$HUB_PORT" \
	wrong_service "HTTP"

hubcase ssh wrong_service "$HUB_IP:22"
expect_result "an SSH server on the hub's port" "$HUB_IP" 22 \
	wrong_service "SSH"

hubcase tls tls_failure "$TLSV_IP:$HUB_PORT"
expect_result "a TLS server that wants a client certificate" "$TLSV_IP" \
	"$HUB_PORT" tls_failure '.'

hubcase mismatch thumbprint_mismatch "$HUB_NAME:$HUB_PORT" "$OTHER_FP"
expect_result "the real hub, another certificate pinned" "$HUB_NAME" \
	"$HUB_PORT" thumbprint_mismatch
names_both() {
	local d
	d=$(norm "$(res "$HUB_NAME" "$HUB_PORT" detail)")
	[[ $d == *"$(norm "$HUB_FP")"* && $d == *"$(norm "$OTHER_FP")"* ]]
}
check "the mismatch names the certificate seen and the one pinned" names_both

hubcase sha1mismatch thumbprint_mismatch "$HUB_NAME:$HUB_PORT" \
	"$(openssl x509 -in "$T/other.crt" -noout -fingerprint -sha1 | sed 's/.*=//')"
expect_result "the real hub, another certificate's SHA-1 pinned" \
	"$HUB_NAME" "$HUB_PORT" thumbprint_mismatch

hubcase path wrong_service "https://$HUB_NAME:$HUB_PORT/not-vigil/" "$HUB_FP"
expect_result "the real hub under a path that is not its API" \
	"$HUB_NAME" "$HUB_PORT" wrong_service

hubcase closed refused "$CLOSED_IP:$HUB_PORT"
expect_result "no hub listening" "$CLOSED_IP" "$HUB_PORT" refused
hubcase drop filtered "$DROP_IP:$HUB_PORT"
expect_result "the hub behind a drop" "$DROP_IP" "$HUB_PORT" filtered
hubcase noroute no_route "$NOROUTE_IP:$HUB_PORT"
expect_result "the hub without a route" "$NOROUTE_IP" "$HUB_PORT" no_route
hubcase unresolved unresolved "$BAD_NAME:$HUB_PORT"
expect_result "the hub's name does not resolve" "$BAD_NAME" "$HUB_PORT" \
	unresolved

pcheck 1 "the mismatch as a table: exit 1" "$CNS" \
	--deployment "$D/mismatch.conf" --from agent --timeout "$PT"
check "one sentence for the thumbprint mismatch" \
	advice_line "$HUB_NAME" "$HUB_PORT" "thumbprint mismatch"
pcheck 1 "the TLS failure as a table: exit 1" "$CNS" \
	--deployment "$D/tls.conf" --from agent --timeout "$PT"
check "one sentence for the TLS failure" \
	advice_line "$TLSV_IP" "$HUB_PORT" "TLS failure"

# ---------------------------------------------------------------------
# On the hub, from its own configuration.
pcheck 0 "check on the hub with --hub-conf --from hub: exit 0" "$SNS" \
	--hub-conf "$HUB_CONF" --from hub --timeout "$PT" --json
check "the hub's own port answers ok (and nothing else is probed)" \
	jqtrue "$T/out" \
	".from == \"hub\" and (.results | length) >= 1 and ([.results[] | .service == \"https\" and .port == $HUB_PORT and .result == \"ok\"] | all)"
pcheck 0 "with --hub-conf, --from defaults to hub" "$SNS" \
	--hub-conf "$HUB_CONF" --timeout "$PT" --json
check "it is the hub's check" jqtrue "$T/out" '.from == "hub"'

# ---------------------------------------------------------------------
# --from cannot be guessed in a namespace that is neither proxy nor hub.
plain_netns "vigil-pn-$$"
pcheck 2 "a deployment naming neither this machine's address nor --from: exit 2" \
	"vigil-pn-$$" --deployment "$D/ok.conf" --timeout "$PT"
check "the message asks for --from" has "$T/err" "--from"
pcheck 2 "--timeout 0 is refused" "$CNS" --deployment "$D/ok.conf" \
	--from proxy --timeout 0
pcheck 2 "--timeout 61 is refused" "$CNS" --deployment "$D/ok.conf" \
	--from proxy --timeout 61

# ---------------------------------------------------------------------
# Ten filtered targets, in parallel: --timeout "$PT" ends in well under 10 s.
lines=("hub $HUB_NAME:$HUB_PORT" "proxy $CLIENT_IP")
for p in $(seq 2201 2210); do
	lines+=("ssh $DROP_IP:$p")
done
deploy "$D/ten.conf" "${lines[@]}"
pcheck 1 "ten filtered SSH devices: exit 1" "$CNS" \
	--deployment "$D/ten.conf" --from proxy --timeout 1 --json
took=$ELAPSED_MS
ten_filtered() {
	jqtrue "$T/out" "[.results[] | select(.host == \"$DROP_IP\") | .result] == [range(10) | \"filtered\"]"
}
check "the ten are filtered" ten_filtered
check "each waited for its timeout (900 ms or more)" jqtrue "$T/out" \
	"[.results[] | select(.host == \"$DROP_IP\") | .ms >= 900] | all"
check "they took $took ms in all: under 5 s, so in parallel" \
	sh -c "[ $took -lt 5000 ] && [ $took -ge 900 ]"
pcheck 1 "the same with --jobs 2" "$CNS" \
	--deployment "$D/ten.conf" --from proxy --timeout 1 --jobs 2 --json
two_at_a_time() {
	[ "$ELAPSED_MS" -ge 4500 ] && ten_filtered
}
check "two at a time, the ten filtered took $ELAPSED_MS ms: 5 s or more" \
	two_at_a_time
pcheck 1 "a decimal timeout, 0.3 s" "$CNS" \
	--deployment "$D/ten.conf" --from proxy --timeout 0.3 --json
check "each waited about 0.3 s (250 to 1000 ms)" jqtrue "$T/out" \
	"[.results[] | select(.host == \"$DROP_IP\") | .ms >= 250 and .ms < 1000] | all"

# ---------------------------------------------------------------------
# A real vigil-agent in the proxy's namespace listens on nothing.
if [ -z "${VIGIL_AGENT:-}" ]; then
	VIGIL_AGENT=$(cd "$(dirname "$VIGIL_HUB")/.." && pwd)/agent/vigil-agent
fi
AG=$T/agent
mkdir -p "$AG/data"
chmod 700 "$AG/data"
cp "$HUB_DIR/HubDetails.xml" "$AG/HubDetails.xml"
chmod 600 "$AG/HubDetails.xml"
printf 'poll_period = 10\nlog_level = debug\n' >"$AG/agent.conf"
agent_registered() {
	ip netns exec "$CNS" "$VIGIL_AGENT" status --data-dir "$AG/data" \
	    --config "$AG/agent.conf" --json 2>/dev/null |
	    jq -e '.device_id != null' >/dev/null 2>&1
}
bg ip netns exec "$CNS" "$VIGIL_AGENT" --hub-details "$AG/HubDetails.xml" \
	--data-dir "$AG/data" --config "$AG/agent.conf" --log-level debug \
	>>"$T/agent.log" 2>&1
AGENT_PID=$!
ready "a real vigil-agent in $CNS registers with the hub" "$AGENT_PID" 60 \
	agent_registered
check "ground truth: the agent has no listening socket" \
	test -z "$(in_client ss -ltnupH | grep "pid=$AGENT_PID,")"
pcheck 0 "check from the proxy with the agent running: exit 0" "$CNS" \
	--deployment "$D/ok.conf" --from proxy --timeout "$PT" --json
check "the agent is found and listens on no port" jqtrue "$T/out" \
	'.agent_listening.ok == true and (.agent_listening.detail | test("no vigil-agent") | not)'

pcheck 0 "check with the agent's HubDetails.xml (--from agent by default)" \
	"$CNS" --hubdetails "$AG/HubDetails.xml" --timeout "$PT" --json
check "the agent reaches its hub, the pinned Thumbprint matching" jqtrue \
	"$T/out" '.from == "agent" and (.results | length) == 1 and .results[0].result == "ok" and (.results[0].detail | test("pinned"))'

# The registered agent's address is now an agent source, on the hub...
run 0 "the matrix from hub.conf and hub.db, on the hub" in_server "$VIGIL" \
	ports --hub-conf "$HUB_CONF" --format json
check "the agents' flow comes from the registered agent's address" jqtrue \
	"$T/out" "[.flows[] | select(.from.role == \"agent\") | .from.hosts | index(\"$CLIENT_IP\") != null] == [true]"
# ... and through the hub's API, signed in as its admin.
VIGIL_PASSWORD=$(cat "$T/adminpw")
export VIGIL_PASSWORD
run 0 "the matrix through the API, the hub's thumbprint given" in_client \
	"$VIGIL" ports --api "https://$HUB_NAME:$HUB_PORT/api/" --user admin \
	--thumbprint "$HUB_FP" --format json
check "the agents' flow comes from the registered agent's address" jqtrue \
	"$T/out" "[.flows[] | select(.from.role == \"agent\") | .from.hosts | index(\"$CLIENT_IP\") != null] == [true]"
run 2 "through the API, another certificate's thumbprint given: exit 2" \
	in_client "$VIGIL" ports --api "https://$HUB_NAME:$HUB_PORT/api/" \
	--user admin --thumbprint "$OTHER_FP"
check "the message says the certificate does not match" grep -qi 'match' "$T/err"
run 2 "through the API, neither thumbprint nor --insecure: exit 2" \
	in_client "$VIGIL" ports --api "https://$HUB_NAME:$HUB_PORT/api/" \
	--user admin
VIGIL_PASSWORD=wrong-password run 2 "through the API, a wrong password: exit 2" \
	in_client "$VIGIL" ports --api "https://$HUB_NAME:$HUB_PORT/api/" \
	--user admin --thumbprint "$HUB_FP"
check "the message gives the hub's answer (401)" has "$T/err" "401"
check "and not the password" lacks "$T/err" "wrong-password"
pcheck 0 "check through the API, from the agent" "$CNS" --api \
	"https://$HUB_NAME:$HUB_PORT/api/" --user admin --thumbprint "$HUB_FP" \
	--from agent --timeout "$PT" --json
check "the hub is ok" jqtrue "$T/out" \
	'(.results | length) == 1 and .results[0].result == "ok"'
unset VIGIL_PASSWORD

# A process named vigil-agent (a copy of python3) that listens fails it.
mkdir -p "$T/fake"
cp "$(readlink -f "$PY")" "$T/fake/vigil-agent"
bg ip netns exec "$CNS" "$T/fake/vigil-agent" -m http.server --bind \
	"$CLIENT_IP" --directory "$T/www" 9999 >>"$T/fake.log" 2>&1
FAKE_PID=$!
ready "a vigil-agent (python3's HTTP server) listens on $CLIENT_IP:9999" \
	"$FAKE_PID" 20 listening "$CNS" "$CLIENT_IP" 9999
pcheck 1 "check with a vigil-agent listening: exit 1" "$CNS" \
	--deployment "$D/ok.conf" --from proxy --timeout "$PT" --json
check "the listening agent is reported with its port" jqtrue "$T/out" \
	'.agent_listening.ok == false and (.agent_listening.detail | test("9999"))'
check "every flow is still ok" jqtrue "$T/out" '.failed == 0'
bg_stop "$FAKE_PID" 5
pcheck 0 "once it has stopped: exit 0" "$CNS" \
	--deployment "$D/ok.conf" --from proxy --timeout "$PT" --json
rc=0
bg_stop "$AGENT_PID" 30 || rc=$?
check "the agent stops cleanly (exit $rc)" test "$rc" -eq 0
check "no sanitizer report in the hub's or the agent's log" logs_clean

ports_finish
