#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil-agent against a real hub on a port of its own: it registers, drops
# the password from HubDetails.xml, keeps its credential private, reports
# its status, listens on nothing; it pins the hub's certificate (SHA-256 or
# SHA-1) and refuses another; a malformed HubDetails.xml is named by file,
# line and element; --once scans, sends and exits.
export VIGIL=${VIGIL:-unused}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"
. "$(dirname "$0")/agent_lib.sh"

hub_init basic || hub_abort
hub_start || hub_abort
check "the hub listens on a port of its own ($HUB_PORT), not 443" \
	test "$HUB_PORT" != 443
admin_session || hub_abort

# --- registration ---
agent_setup a1
# A comment and the layout must survive the rewrite that drops Password.
sed -i 's|<HubDetails>|<HubDetails>\n  <!-- enrolment for the test hub -->|' "$AGENT_XML"
cp "$AGENT_XML" "$T/a1.xml.orig"
check "HubDetails.xml names the hub's port in Url" \
	has "$AGENT_XML" "<Url>https://127.0.0.1:$HUB_PORT/api/</Url>"
agent_start
if agent_registered 60; then
	ok "the agent registers (device $DEV)"
else
	not_ok "the agent did not register within 60 s"
	show_agent_log
	hub_abort
fi
api GET "/devices?limit=1000"
expect "the device is in GET /devices" 200 \
	"[.devices[] | select(.id == $DEV)] | length == 1"

no_password() {
	! grep -q '<Password>' "$AGENT_XML"
}
check "the Password element is removed from HubDetails.xml" \
	wait_until 10 no_password
# The rest byte for byte: the element alone removed, or with its line.
sed 's|<Password>[^<]*</Password>||' "$T/a1.xml.orig" >"$T/a1.expect1"
grep -v '<Password>' "$T/a1.xml.orig" >"$T/a1.expect2"
if cmp -s "$AGENT_XML" "$T/a1.expect1" || cmp -s "$AGENT_XML" "$T/a1.expect2"; then
	ok "every other byte of HubDetails.xml is kept"
else
	not_ok "HubDetails.xml changed beyond the Password element:"
	diff "$T/a1.expect2" "$AGENT_XML" | head -20 | sed 's/^/    /'
fi
check "HubDetails.xml keeps its mode 0600" \
	test "$(stat -c %a "$AGENT_XML")" = 600
check "DATA_DIR/credential exists" test -f "$AGENT_DATA/credential"
check "DATA_DIR/credential has mode 0600 ($(stat -c %a "$AGENT_DATA/credential" 2>/dev/null))" \
	test "$(stat -c %a "$AGENT_DATA/credential" 2>/dev/null)" = 600
check "the enrolment password is nowhere in the data dir" \
	test -z "$(grep -rlF -- "$ENROL_PW" "$AGENT_DATA" 2>/dev/null)"

# --- status while running ---
has_contact() {
	agent_status
	[ -n "$(st last_contact)" ]
}
check "status shows a last contact" wait_until 30 has_contact
check "status exits 0 while the agent runs (exit $STATUS_RC)" test "$STATUS_RC" -eq 0
check "status: state running" jqtrue "$T/status.json" '.state == "running"'
check "status: pid of the agent" jqtrue "$T/status.json" ".pid == $AGENT_PID"
check "status: the device id" jqtrue "$T/status.json" \
	"(.device_id | tostring) == \"$DEV\""
check "status: the hub" jqtrue "$T/status.json" \
	"(.hub | tostring | contains(\"$HUB_PORT\"))"
check "status: queue and drop counts" jqtrue "$T/status.json" \
	'(.queue_events | type) == "number" and (.queue_bytes | type) == "number" and (.dropped | type) == "number"'
"$VIGIL_AGENT" status --data-dir "$AGENT_DATA" >"$T/status.txt" 2>&1
check "status in text names the state and the device" \
	grep -q "running" "$T/status.txt"

# --- no listening socket ---
ss -H -ltunp >"$T/ss.inet" 2>&1
ss -H -lxnp >"$T/ss.unix" 2>&1
ss -H -lnp >"$T/ss.all" 2>&1
check "ss -p shows processes here (the hub's socket is listed with its pid)" \
	grep -q "pid=$HUB_PID," "$T/ss.inet"
check "the agent has no listening TCP or UDP socket" \
	lacks "$T/ss.inet" "pid=$AGENT_PID,"
check "the agent has no listening unix socket" lacks "$T/ss.unix" "pid=$AGENT_PID,"
check "the agent has no listening socket of any kind" lacks "$T/ss.all" "pid=$AGENT_PID,"

# --- a policy, for the --once runs below ---
mkdir -p "$T/w"
for i in 1 2 3; do echo "file $i" >"$T/w/f$i"; done
setup_group basic "$(jq -nc --arg d "$T/w" '{paths: [$d], schedule: 3600}')"
check "the agent runs the group's policy" wait_policy 40
has_baseline() { has_events 1 "$(agent_event_is baseline)" type=agent; }
check "the first scan reports its baseline to the hub" wait_until 60 has_baseline
agent_stop_checked

# --- status when stopped ---
agent_status
check "status exits 3 when the agent is stopped (exit $STATUS_RC)" test "$STATUS_RC" -eq 3
check "status: state stopped" jqtrue "$T/status.json" '.state == "stopped"'

# --- --once: scans, sends, exits 0 ---
echo "changed while stopped" >>"$T/w/f2"
t0=$(date +%s)
agent_once
check "--once exits 0 (exit $ONCE_RC)" test "$ONCE_RC" -eq 0
check "--once takes less than a minute" test $(($(date +%s) - t0)) -lt 60
dev_events "q=$T/w/f2"
check "--once reported the change made while stopped (origin scan)" \
	test "$(ev_count ".path == \"$T/w/f2\" and .type == \"changed\" and .origin == \"scan\"")" -eq 1
agent_status
check "after --once the queue is empty" jqtrue "$T/status.json" '.queue_events == 0'
check "after --once status says stopped (exit $STATUS_RC)" test "$STATUS_RC" -eq 3

# --- the hub's certificate pinned by SHA-1 ---
sha1=$(openssl x509 -in "$HUB_CERT" -noout -fingerprint -sha1 | sed 's/.*=//')
sed "s|<Thumbprint>[^<]*</Thumbprint>|<Thumbprint>$sha1</Thumbprint>|" \
	"$AGENT_XML" >"$T/a1.sha1.xml"
check "the SHA-1 HubDetails has a 40-digit thumbprint" \
	test "${#sha1}" -eq 59
saved_xml=$AGENT_XML
AGENT_XML=$T/a1.sha1.xml
echo "sha1 run" >>"$T/w/f3"
agent_once
check "a SHA-1 Thumbprint of the hub's certificate works (exit $ONCE_RC)" \
	test "$ONCE_RC" -eq 0
[ "$ONCE_RC" -eq 0 ] || sed 's/^/    out: /' "$T/once.out" | tail -10
dev_events "q=$T/w/f3"
check "the run pinned by SHA-1 delivered its change" \
	test "$(ev_count ".path == \"$T/w/f3\" and .type == \"changed\"")" -eq 1
AGENT_XML=$saved_xml

# --- another certificate's thumbprint: refused, both fingerprints named ---
agent_setup mismatch
wrong=$(head -c 32 /dev/urandom | sha256sum | cut -d' ' -f1 | tr 'a-f' 'A-F')
real=$(openssl x509 -in "$HUB_CERT" -noout -fingerprint -sha256 | sed 's/.*=//')
sed -i "s|<Thumbprint>[^<]*</Thumbprint>|<Thumbprint>$wrong</Thumbprint>|" "$AGENT_XML"
t0=$(date +%s)
timeout 60 "$VIGIL_AGENT" --hub-details "$AGENT_XML" --data-dir "$AGENT_DATA" \
	--config "$AGENT_CONF" >"$T/mm.out" 2>&1 </dev/null
rc=$?
took=$(($(date +%s) - t0))
check "a Thumbprint that does not match: the agent exits non-zero (exit $rc)" \
	test "$rc" -ne 0 -a "$rc" -ne 124
check "... within seconds ($took s)" test "$took" -le 15
mm=$(norm_hex "$(cat "$T/mm.out")")
check "... naming the fingerprint the hub has" \
	grep -q "$(norm_hex "$real")" <<<"$mm"
check "... and the one expected" grep -q "$wrong" <<<"$mm"
grep -qi 'fingerprint\|thumbprint' "$T/mm.out" ||
	sed 's/^/    out: /' "$T/mm.out" | tail -5
check "... and no credential was made" test ! -e "$AGENT_DATA/credential"

# --- malformed HubDetails.xml: exit 1 naming file, line and element ---
url="https://127.0.0.1:$HUB_PORT/api/"
tp=$(norm_hex "$real")
# bad_xml NAME LINE ELEMENT DESC: the agent refuses $T/NAME.xml.
bad_xml() {
	local f=$T/$1.xml line=$2 el=$3 desc=$4
	timeout 60 "$VIGIL_AGENT" --hub-details "$f" --data-dir "$T/bad.data" \
		--config "$AGENT_CONF" --once >"$T/bad.out" 2>&1 </dev/null
	local rc=$?
	check "$desc: exit 1 (exit $rc)" test "$rc" -eq 1
	check "$desc: names $(basename "$f"):$line" \
		grep -qE "$f:($line)\\b" "$T/bad.out"
	check "$desc: names the element <$el>" grep -q -- "$el" "$T/bad.out"
	[ "$rc" -eq 1 ] && grep -qE "$f:($line)\\b" "$T/bad.out" ||
		sed 's/^/    out: /' "$T/bad.out" | tail -5
}
mkdir -p "$T/bad.data"
chmod 700 "$T/bad.data"
cat >"$T/unknown.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<HubDetails>
  <Url>$url</Url>
  <Username>agent</Username>
  <Thumbprnt>$tp</Thumbprnt>
</HubDetails>
EOF
bad_xml unknown 5 Thumbprnt "an unknown element"
# The root is never closed: the file ends inside <HubDetails>.
cat >"$T/unclosed.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<HubDetails>
  <Url>$url</Url>
  <Username>agent</Username>
  <Thumbprint>$tp</Thumbprint>
EOF
bad_xml unclosed '5|6' 'HubDetails' "an unclosed root element"
cat >"$T/nested.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<HubDetails>
  <Url>$url</Url>
  <Username>agent
  <Thumbprint>$tp</Thumbprint>
</HubDetails>
EOF
bad_xml nested 5 'Thumbprint' "an unclosed element around another"
cat >"$T/badtp.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<HubDetails>
  <Url>$url</Url>
  <Username>agent</Username>
  <Password>x</Password>
  <Thumbprint>${tp:0:50}ZZ</Thumbprint>
</HubDetails>
EOF
bad_xml badtp 6 Thumbprint "a bad Thumbprint"
check "no credential after the malformed files" test ! -e "$T/bad.data/credential"

hub_stop_checked
hub_finish
