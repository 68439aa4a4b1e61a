#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A Linux host collected through a proxy, end to end: a real hub, a real
# vigil-agent as the proxy, and a real OpenSSH sshd on 127.0.0.1 with a
# throwaway user. The host is a proxied device of type linux made through
# the hub's API, in a group whose policy watches a folder; the agent
# collects it over SSH on its schedule. Checks: the device comes online
# without an error; the first collection is a baseline, not changes; a
# changed tracked file (its diff holding the new line), a new file, a
# removed file and a new user (with its group) reach the hub as changed,
# added and removed events of that device, once each: later collections
# send none of them again. Users and groups that other tests add or remove
# meanwhile are left out of the counts. Root only (useradd, sshd).
export VIGIL=${VIGIL:-unused}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"
. "$(dirname "$0")/agent_lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

U=vgpx$$
U2=vgpy$$
PW="pw-$RANDOM-$$-x"

if [ "$(id -u)" -ne 0 ]; then
	ok "# SKIP needs root (a test user, sshd)"
	finish
	exit 0
fi
sshd_need /usr/sbin/sshd ssh-keygen useradd userdel chpasswd jq "$PY"
U2_MADE=

# Every process by its PID (sshd_teardown: SIGTERM, then the user's
# sessions and the user), then what agent_lib.sh does at exit.
plinux_cleanup() {
	sshd_teardown
	[ -n "$U2_MADE" ] && userdel "$U2" >/dev/null 2>&1
	if [ "$FAIL" -gt 0 ] && [ -s "$T/sshd.log" ]; then
		echo "# sshd.log, the last lines:"
		tail -15 "$T/sshd.log" | sed 's/^/#   /'
	fi
	agent_cleanup
}
trap plinux_cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- the user, the watched folder, sshd ----
sshd_user_add

DIR=$T/watched
mkdir -p "$DIR"
printf 'one\ntwo\n' >"$DIR/app.conf"
printf 'stays\n' >"$DIR/keep"
printf 'gone soon\n' >"$DIR/old"
chmod -R a+rX "$DIR"

ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" || abort
FP=$(ssh-keygen -lf "$T/hostkey.pub" | awk '{print $2}')
SSHD_PORT=$(free_port)
sshd_conf sshd "$SSHD_PORT" "$T/hostkey" \
    "PasswordAuthentication yes" "KbdInteractiveAuthentication no"
sshd_start sshd
wait_port "$SSHD_PORT" || { not_ok "sshd listens on 127.0.0.1:$SSHD_PORT"; abort; }
ok "sshd up on 127.0.0.1:$SSHD_PORT as $FP"

# ---- the hub and the proxy agent ----
hub_init hub || abort
hub_start || abort
admin_session || abort

agent_setup px
agent_start
if agent_registered 60; then
	ok "the agent registers (device $DEV)"
else
	not_ok "the agent did not register within 60 s"
	show_agent_log
	abort
fi
PROXY=$DEV

# ---- the group, the credential, the proxied Linux device ----
api POST /groups '{"name": "linux-hosts"}'
expect "group linux-hosts created" 201 '.id > 0' || abort
GID=$(jq -r .id "$T/body")
set_policy "$(jq -nc --arg d "$DIR" --arg c "$DIR/app.conf" \
    '{paths: [$d], content: [$c], schedule: 60, system: ["users", "groups"]}')" ||
    abort

api POST /credentials "$(jq -nc --arg u "$U" --arg p "$PW" \
    '{name: "cred-linux", username: $u, password: $p}')"
expect "credential for $U created" 201 '.id > 0' || abort
CID=$(jq -r .id "$T/body")

api POST /devices "$(jq -nc --argjson port "$SSHD_PORT" --argjson c "$CID" \
    --argjson px "$PROXY" --argjson g "$GID" \
    '{name: "lx1", type: "linux", host: "127.0.0.1", port: $port,
      protocol: "ssh", credential_id: $c, proxy_id: $px, schedule: 10,
      groups: [$g]}')"
expect "proxied linux device created" 201 '.id > 0' '.kind == "proxied"' ||
    abort
DID=$(jq -r .id "$T/body")
DNAME=lx1

# devev: every event of the Linux device to $T/all.json, less the users
# and groups other tests on this machine add or remove meanwhile (the
# policy watches them all); $U2 is ours.
devev() {
	all_events "device=$DID&limit=1000" || return 1
	jq -c --arg u "$U2" 'select((.kind != "user" and .kind != "group") or
	    .path == $u)' "$T/all.json" >"$T/mine.json" &&
	    mv "$T/mine.json" "$T/all.json"
}

# ---- online, first collection a baseline ----
if wait_until 90 online_ok; then
	ok "lx1: online, no error"
else
	not_ok "lx1: not online without error within 90 s"
	sed 's/^/    device: /' "$T/body"
	show_agent_log 30
	abort
fi
api GET "/devices/$DID"
expect "lx1: collected by the agent, host key trusted on first use" 200 \
    ".proxied.proxy_id == $PROXY" '.proxied.last_collect != null' \
    '.proxied.last_error == null' ".proxied.host_key == \"$FP\"" \
    '.proxied.host_key_state == "trusted"'
if wait_until 60 has_agent_event baseline; then
	ok "lx1: the first collection reports a baseline"
else
	not_ok "lx1: no baseline event within 60 s"
	ev_show 'true'
	show_agent_log 30
fi
devev
c=$(ev_count '.type == "changed" or .type == "added" or .type == "removed"')
check "lx1: the first collection is silent ($c changes)" test "$c" -eq 0
check "the agent's own device has no event of lx1's folder" \
    test "$(all_events "device=$PROXY&limit=1000" && ev_count ".path != null and (.path | startswith(\"$DIR\"))")" -eq 0

# ---- changes: one event each ----
mark
printf 'three\n' >>"$DIR/app.conf"
printf 'fresh\n' >"$DIR/new file"
chmod a+r "$DIR/new file"
rm "$DIR/old"
useradd -M -s /usr/sbin/nologin "$U2" && U2_MADE=1 || not_ok "useradd $U2"

CHG=".type == \"changed\" and .path == \"$DIR/app.conf\""
ADD=".type == \"added\" and .path == \"$DIR/new file\""
REM=".type == \"removed\" and .path == \"$DIR/old\""
USR=".type == \"added\" and .kind == \"user\" and .path == \"$U2\""
GRP=".type == \"added\" and .kind == \"group\" and .path == \"$U2\""
all_five() {
	devev || return 1
	[ "$(ev_count "$CHG")" -ge 1 ] && [ "$(ev_count "$ADD")" -ge 1 ] &&
	    [ "$(ev_count "$REM")" -ge 1 ] && [ "$(ev_count "$USR")" -ge 1 ] &&
	    [ "$(ev_count "$GRP")" -ge 1 ]
}
if wait_until 60 all_five; then
	ok "lx1: changed, added and removed events, and the new user and group, reach the hub"
else
	not_ok "lx1: not all five events within 60 s"
	ev_show 'true' 20
	show_agent_log 30
fi
check "lx1: exactly one changed event for app.conf" test "$(ev_count "$CHG")" -eq 1
check "lx1: exactly one added event for the new file" test "$(ev_count "$ADD")" -eq 1
check "lx1: exactly one removed event for the old file" test "$(ev_count "$REM")" -eq 1
check "lx1: exactly one added event for the new user" test "$(ev_count "$USR")" -eq 1
check "lx1: exactly one added event for its group" test "$(ev_count "$GRP")" -eq 1
check "lx1: the folder's other file made no event" \
    test "$(ev_count ".path == \"$DIR/keep\"")" -eq 0
jq -r "select($CHG) | .id" "$T/all.json" >"$T/ids"
event_details "$T/ids"
check "lx1: the change's diff adds the new line" jqtrue "$T/details.json" \
    '(.change.diff // .diff // "") | contains("+three")'
check "lx1: the change names the hash among the changed attributes" \
    jqtrue "$T/details.json" \
    '((.change.changed // .changed // []) | index("hash")) != null'
check "lx1: the change belongs to the Linux device" jqtrue "$T/details.json" \
    "(.device_id // .device.id) == $DID"

# ---- nothing sent twice ----
n1=$(jq -s 'length' "$T/all.json")
ids1=$(jq -r '.id' "$T/all.json" | sort -n | tr '\n' ' ')
mark
if wait_until 60 more_collections 2; then
	ok "lx1: two more collections"
else
	not_ok "lx1: not two more collections within 60 s ($MARK_N -> $(collections))"
	show_agent_log 30
fi
devev
n2=$(jq -s 'length' "$T/all.json")
ids2=$(jq -r '.id' "$T/all.json" | sort -n | tr '\n' ' ')
if [ "$n2" -eq "$n1" ] && [ "$ids1" = "$ids2" ]; then
	ok "lx1: no event after them, none sent again ($n1 events)"
else
	not_ok "lx1: events after them ($n1 -> $n2):"
	jq -c '{id, type, kind, origin, path, message}' "$T/all.json" |
	    sed 's/^/    event: /'
fi
check "lx1: each change still once" test "$(ev_count "$CHG")" -eq 1 \
    -a "$(ev_count "$ADD")" -eq 1 -a "$(ev_count "$REM")" -eq 1 \
    -a "$(ev_count "$USR")" -eq 1 -a "$(ev_count "$GRP")" -eq 1
check "lx1: no collection_error" \
    test "$(ev_count "$(agent_event_is collection_error)")" -eq 0
check "lx1: still online, no error" online_ok

# ---- the secret stays secret ----
count_leaks $(find "$AGENT_DATA" -type f) "$AGENT_LOG" "$HUB_LOG" -- "$PW"
check "the user's password is in neither the agent's data, its log nor the hub's log" \
    test "$LEAKS" -eq 0

agent_stop_checked
hub_stop_checked
hub_finish
