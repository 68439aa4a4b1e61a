#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil-agent as a proxy: a real hub, a real agent and vigil-fakedev (a
# fake network device server, SSH and Telnet) on loopback. Proxied devices
# are made through the hub's API with the agent's device as their proxy;
# the agent collects them on their schedule: configurations stored for
# SSH and Telnet devices, the device online, one change event (with the
# line in its diff) for a line added on the device and none for the lines
# that change on every session, an error event and the last good version
# kept for a device whose output is cut short, a changed host key raises
# the alert and stops the collection until an administrator trusts the
# new key, proxy_parallel bounds the sessions at once, the secrets reach
# neither the agent's disk nor a log, and the agent listens on no port.
export VIGIL=${VIGIL:-unused}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"
. "$(dirname "$0")/agent_lib.sh"

SRC=${VIGIL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PROFILES=$SRC/dist/profiles
LINES=300

# The fake device server: $VIGIL_FAKEDEV, else the one the build made.
if [ -z "${VIGIL_FAKEDEV:-}" ]; then
	b=$(cd "$(dirname "$VIGIL_HUB")/.." 2>/dev/null && pwd)
	for c in "$b/tests/fakedev/vigil-fakedev" "$b/tests/vigil-fakedev"; do
		[ -x "$c" ] && VIGIL_FAKEDEV=$c && break
	done
fi
if [ ! -x "${VIGIL_FAKEDEV:-}" ]; then
	not_ok "no vigil-fakedev binary (set VIGIL_FAKEDEV)"
	hub_abort
fi
for tool in ssh-keygen; do
	command -v "$tool" >/dev/null || { not_ok "missing tool: $tool"; hub_abort; }
done

# ---- the fake devices ----

# Users of the fake devices with passwords of their own, so that a
# secret found anywhere is ours.
rand() {
	head -c 18 /dev/urandom | base64 | tr -d '/+='
}
declare -A PW EN
for u in dev0001 dev0002 dev0003 dev0010; do
	PW[$u]="Pw-$(rand)"
	EN[$u]="En-$(rand)"
	printf '%s:%s:%s\n' "$u" "${PW[$u]}" "${EN[$u]}"
done >"$T/users"
chmod 600 "$T/users"

ssh-keygen -q -t ed25519 -N '' -C one -f "$T/hk1"
ssh-keygen -q -t ed25519 -N '' -C two -f "$T/hk2"
FP1=$(ssh-keygen -lf "$T/hk1.pub" | awk '{print $2}')
FP2=$(ssh-keygen -lf "$T/hk2.pub" | awk '{print $2}')
mkdir -p "$T/state" "$T/state-trunc" "$T/state-slow"

# fakedev_start NAME SSH_PORT TELNET_PORT HOSTKEY STATE [options]: one
# fake device server in the background (log $T/fakedev-NAME.log), its
# PID in FD_PID[NAME]; waits until both ports listen.
declare -A FD_PID
fd_listening() {
	local pid=$1 p
	shift
	for p in "$@"; do
		ss -ltnpH "sport = :$p" 2>/dev/null | grep -q "pid=$pid," ||
		    return 1
	done
}
fakedev_start() {
	local name=$1 sp=$2 tp=$3 key=$4 state=$5
	shift 5
	echo "=== start $(date +%T.%N)" >>"$T/fakedev-$name.log"
	bg "$VIGIL_FAKEDEV" --listen 127.0.0.1 --ssh-port "$sp" \
	    --telnet-port "$tp" --host-key "$key" --synthetic "$LINES" \
	    --users "$T/users" --state-dir "$state" "$@" \
	    >>"$T/fakedev-$name.log" 2>&1
	FD_PID[$name]=$!
	if ! wait_until 20 fd_listening "${FD_PID[$name]}" "$sp" "$tp"; then
		not_ok "vigil-fakedev $name does not listen on $sp and $tp"
		tail -5 "$T/fakedev-$name.log" | sed 's/^/    fakedev: /'
		return 1
	fi
}
fakedev_stop() {
	bg_stop "${FD_PID[$1]}" 10 >/dev/null
}

# sessions DEVICE [STATE]: how many sessions the fake device served.
sessions() {
	local n
	n=$(tr -dc '0-9' <"${2:-$T/state}/$1.count" 2>/dev/null)
	echo "${n:-0}"
}

PA=$(free_port)
QA=$(free_port)
PB=$(free_port)
QB=$(free_port)
fakedev_start A "$PA" "$QA" "$T/hk1" "$T/state" || hub_abort
# The same devices, but every capture is cut after 2000 bytes.
fakedev_start B "$PB" "$QB" "$T/hk1" "$T/state-trunc" \
    --quirk truncate:2000 || hub_abort

# ---- the hub and the agent ----
printf 'profiles_dir = %s\n' "$PROFILES" >"$T/hub.conf"
hub_init hub -c "$T/hub.conf" || hub_abort
hub_start -c "$T/hub.conf" || hub_abort
admin_session || hub_abort

agent_setup px
agent_conf profiles_dir "$PROFILES"
agent_conf proxy_parallel 4
agent_start
if agent_registered 60; then
	ok "the agent registers (device $DEV)"
else
	not_ok "the agent did not register within 60 s"
	show_agent_log
	hub_abort
fi
PROXY=$DEV

# credential USER: a credential for the fake device USER; CID is its id.
credential() {
	api POST /credentials "$(jq -nc --arg n "cred-$1" --arg u "$1" \
	    --arg p "${PW[$1]}" --arg e "${EN[$1]}" \
	    '{name: $n, username: $u, password: $p, enable_secret: $e}')"
	expect "credential for $1 created" 201 '.id > 0' || return 1
	CID=$(jq -r .id "$T/body")
}

# proxied NAME PROTOCOL PORT CREDENTIAL: a proxied IOS device on
# 127.0.0.1 collected every 10 s by the agent; DID is its id.
proxied() {
	api POST /devices "$(jq -nc --arg n "$1" --arg pr "$2" \
	    --argjson port "$3" --argjson c "$4" --argjson px "$PROXY" \
	    '{name: $n, type: "network", host: "127.0.0.1", port: $port,
	      protocol: $pr, profile: "ios", credential_id: $c,
	      proxy_id: $px, schedule: 10}')"
	expect "proxied device $1 ($2 on port $3) created" 201 '.id > 0' \
	    '.kind == "proxied"' || return 1
	DID=$(jq -r .id "$T/body")
}

credential dev0001 || hub_abort
C1=$CID
credential dev0002 || hub_abort
C2=$CID
credential dev0003 || hub_abort
C3=$CID
proxied r1 ssh "$PA" "$C1" || hub_abort
D1=$DID
proxied r2 telnet "$QA" "$C2" || hub_abort
D2=$DID
proxied r3 ssh "$PA" "$C3" || hub_abort
D3=$DID

# nconfigs ID: how many configuration versions the hub holds (-1 when
# it does not answer).
nconfigs() {
	api GET "/devices/$1/configs"
	[ "$CODE" = 200 ] || { echo -1; return; }
	jq '.configs | length' "$T/body"
}
has_configs() {
	[ "$(nconfigs "$1")" -ge "$2" ]
}

# devev ID: every event of device ID to $T/all.json.
devev() {
	all_events "device=$1&limit=1000"
}
changes() {
	devev "$1" || { echo -1; return; }
	ev_count '.type == "changed" and .kind == "devconfig"'
}
has_agent_event() {
	devev "$1" || return 1
	[ "$(ev_count "$(agent_event_is "$2")")" -ge 1 ]
}

# ---- collection over SSH and Telnet ----
for d in "$D1:r1:dev0001" "$D2:r2:dev0002" "$D3:r3:dev0003"; do
	IFS=: read -r id name user <<<"$d"
	if wait_until 90 has_configs "$id" 1; then
		ok "$name: a configuration is stored"
	else
		not_ok "$name: no configuration within 90 s"
		show_agent_log 30
		hub_abort
	fi
	api GET "/devices/$id/configs/1"
	expect "$name: version 1 is the device's running-config, secrets masked" \
	    200 '.version == 1' '(.sha256 | length) == 64' \
	    "(.text | contains(\"$user\"))" \
	    '(.text | contains("=== show running-config ==="))' \
	    '(.text | contains("<secret sha256:"))' \
	    '(.text | split("\n") | any(. == "end"))'
	check "$name: the device served a session" test "$(sessions "$user")" -ge 1
	api GET "/devices/$id"
	expect "$name: online, collected by the agent" 200 '.online == true' \
	    ".proxied.proxy_id == $PROXY" '.proxied.last_collect != null' \
	    '.proxied.last_error == null'
done
api GET "/devices/$D1"
expect "r1: the first host key is trusted (trust on first use)" 200 \
	".proxied.host_key == \"$FP1\"" '.proxied.host_key_state == "trusted"'
api GET "/devices/$D2"
expect "r2 (Telnet) has no host key" 200 '.proxied.host_key == null'

# ---- volatile lines make no change ----
s1=$(sessions dev0001)
s2=$(sessions dev0002)
more_sessions() {
	[ "$(sessions dev0001)" -ge $((s1 + 3)) ] &&
	    [ "$(sessions dev0002)" -ge $((s2 + 3)) ]
}
check "three more collections of r1 and r2 within 60 s" wait_until 60 more_sessions
for id in "$D1" "$D2" "$D3"; do
	n=$(nconfigs "$id")
	check "device $id: still one version after several collections ($n)" \
	    test "$n" -eq 1
	c=$(changes "$id")
	check "device $id: no change event from volatile lines ($c)" test "$c" -eq 0
done

# ---- a line added on the device: exactly one change ----
echo 'interface Loopback77' >"$T/state/dev0001.extra"
echo ' description added-by-the-test' >>"$T/state/dev0001.extra"
if wait_until 60 has_configs "$D1" 2; then
	ok "r1: a second version after the device's configuration changed"
else
	not_ok "r1: no second version within 60 s"
	show_agent_log
fi
s1=$(sessions dev0001)
one_more() {
	[ "$(sessions dev0001)" -ge $((s1 + 2)) ]
}
check "two more collections of r1" wait_until 40 one_more
check "r1: still two versions after them ($(nconfigs "$D1"))" \
	test "$(nconfigs "$D1")" -eq 2
c=$(changes "$D1")
check "r1: exactly one change event ($c)" test "$c" -eq 1
jq -r 'select(.type == "changed" and .kind == "devconfig") | .id' \
	"$T/all.json" >"$T/ids"
event_details "$T/ids"
check "r1: the change's diff adds the line" jqtrue "$T/details.json" \
	'(.change.diff // .diff // "") | contains("+interface Loopback77")'
check "r1: the change names the configuration" jqtrue "$T/details.json" \
	'(.path // .change.path) == "config"'
api GET "/devices/$D1/configs/compare?from=1&to=2"
expect "compare 1..2 shows the added line alone" 200 \
	'(.diff | contains("+interface Loopback77"))' \
	'(.diff | split("\n") | map(select(startswith("+") and
	    (startswith("+++") | not))) | length) == 2'

# ---- output cut short: an error, the last good version kept ----
api PATCH "/devices/$D3" "{\"port\": $PB}"
expect "r3 moved to the device that cuts its output" 200 ".proxied.port == $PB"
if wait_until 60 has_agent_event "$D3" collection_error; then
	ok "r3: a collection_error event"
else
	not_ok "r3: no collection_error event within 60 s"
	show_agent_log
fi
trunc_more() {
	[ "$(sessions dev0003 "$T/state-trunc")" -ge 3 ]
}
check "r3: three collections from the truncating device" wait_until 40 trunc_more
devev "$D3"
# The hub raises the event again only when the message changes; a device
# cut at a byte count may stop in another place of a line each time.
nerr=$(ev_count "$(agent_event_is collection_error)")
jq -s "[.[] | select($(agent_event_is collection_error))] | sort_by(.seq) |
	[.[].message] as \$m | [range(1; \$m | length) |
	select(\$m[.] == \$m[. - 1])] | length" "$T/all.json" >"$T/repeats"
check "r3: collection_error events ($nerr) only when the message changes, not one per collection" \
	test "$nerr" -ge 1 -a "$(cat "$T/repeats")" = 0
check "r3: the last good version is kept, no new one" \
	test "$(nconfigs "$D3")" -eq 1
api GET "/devices/$D3"
expect "r3: the hub shows the error" 200 '.proxied.last_error != null'

# ---- a changed host key: alert, collection stops, trust resumes ----
fakedev_stop A
fakedev_start A "$PA" "$QA" "$T/hk2" "$T/state" || hub_abort
if wait_until 60 has_agent_event "$D1" hostkey_changed; then
	ok "r1: the hub raises hostkey_changed"
else
	not_ok "r1: no hostkey_changed event within 60 s"
	show_agent_log
fi
jq -c "select($(agent_event_is hostkey_changed))" "$T/all.json" >"$T/hk.json"
check "the alert names both keys" jqtrue "$T/hk.json" \
	"(.message | contains(\"$FP1\")) and (.message | contains(\"$FP2\"))"
api GET "/devices/$D1"
expect "r1: host key state changed, the new key offered" 200 \
	'.proxied.host_key_state == "changed"' \
	".proxied.host_key == \"$FP1\"" ".proxied.host_key_offered == \"$FP2\""
s1=$(sessions dev0001)
s2=$(sessions dev0002)
tries1=$(grep -c "device $D1 (r1): collecting" "$AGENT_LOG")
sleep 25
check "r1: no session after the key changed ($s1 -> $(sessions dev0001))" \
	test "$(sessions dev0001)" -eq "$s1"
tries2=$(grep -c "device $D1 (r1): collecting" "$AGENT_LOG")
check "r1: the agent no longer connects ($tries1 -> $tries2 attempts)" \
	test "$tries2" -le $((tries1 + 1))
check "r2 (Telnet, same server) goes on ($s2 -> $(sessions dev0002))" \
	test "$(sessions dev0002)" -gt "$s2"
check "r1 still has two versions" test "$(nconfigs "$D1")" -eq 2

api POST "/devices/$D1/host-key" '{"action": "trust"}'
expect "the administrator trusts the new key" 200 \
	".proxied.host_key == \"$FP2\"" '.proxied.host_key_state == "trusted"'
s1=$(sessions dev0001)
resumed() {
	[ "$(sessions dev0001)" -gt "$s1" ]
}
check "r1: collection resumes after trust" wait_until 60 resumed
check "r1: the same configuration, no new version" test "$(nconfigs "$D1")" -eq 2

# ---- status ----
has_proxied() {
	agent_status
	jqtrue "$T/status.json" '.proxied.devices == 3'
}
check "vigil-agent status counts 3 proxied devices" wait_until 20 has_proxied
check "status names r3's error" jqtrue "$T/status.json" \
	"[.proxied.errors[] | select(.id == $D3)] | length == 1"
"$VIGIL_AGENT" status --data-dir "$AGENT_DATA" >"$T/status.txt" 2>&1
check "status in text shows the proxied devices" \
	grep -q "proxied devices: 3" "$T/status.txt"

# ---- no listening socket ----
ss -H -ltunp >"$T/ss.inet" 2>&1
check "ss -p shows processes here (the hub is listed with its pid)" \
	has "$T/ss.inet" "pid=$HUB_PID,"
check "the proxy agent has no listening TCP or UDP socket" \
	lacks "$T/ss.inet" "pid=$AGENT_PID,"

# ---- proxy_parallel bounds the sessions at once ----
agent_stop_checked "the agent stops cleanly on SIGTERM with collections running"
sed -i 's/^proxy_parallel = .*/proxy_parallel = 2/' "$AGENT_CONF"
PC=$(free_port)
QC=$(free_port)
# Slow output: each session takes several seconds.
fakedev_start C "$PC" "$QC" "$T/hk1" "$T/state-slow" --quirk slow:250 ||
    hub_abort
credential dev0010 || hub_abort
for i in 1 2 3 4 5 6; do
	proxied "slow$i" ssh "$PC" "$CID" || hub_abort
done
agent_start
max=0
end=$(($(date +%s) + 45))
while [ "$(date +%s)" -lt "$end" ]; do
	n=$(ss -tnH state established "( dport = :$PC )" 2>/dev/null | wc -l)
	[ "$n" -gt "$max" ] && max=$n
	sleep 0.2
done
check "with proxy_parallel = 2, never more than 2 sessions at once ($max)" \
	test "$max" -le 2
check "and 2 at once do happen ($max)" test "$max" -eq 2
check "the slow devices were collected" \
	test "$(sessions dev0010 "$T/state-slow")" -ge 3

agent_stop_checked

# ---- --once: every proxied device once, then exit ----
s2=$(sessions dev0002)
s10=$(sessions dev0010 "$T/state-slow")
agent_once
check "--once collects the proxied devices and exits 0 (exit $ONCE_RC)" \
	test "$ONCE_RC" -eq 0
check "--once: r2 was collected ($s2 -> $(sessions dev0002))" \
	test "$(sessions dev0002)" -gt "$s2"
check "--once: each slow device was collected ($s10 -> $(sessions dev0010 "$T/state-slow"))" \
	test "$(sessions dev0010 "$T/state-slow")" -ge $((s10 + 6))

# ---- the secrets stay secret ----
secrets=()
for u in "${!PW[@]}"; do
	secrets+=("${PW[$u]}" "${EN[$u]}")
done
count_leaks $(find "$AGENT_DATA" -type f) "$AGENT_LOG" "$HUB_LOG" -- \
    "${secrets[@]}"
check "no device password or enable secret in the agent's data, its log or the hub's log" \
	test "$LEAKS" -eq 0

hub_stop_checked
for n in A B C; do
	fakedev_stop "$n"
done
hub_finish
