#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A Windows host collected through a proxy, end to end: a real hub, a
# real vigil-agent as the proxy, and a real Samba smbd on 127.0.0.1
# (tests/blackbox/smbd_lib.sh: \PIPE\winreg through samba-dcerpcd, a
# share "C$") with a throwaway account. The host is a proxied device of
# type windows made through the hub's API, in a group whose policy names
# a registry key and a folder; the agent collects it over SMB on its
# schedule. Checks: the device comes online without an error and without
# a host key; the first collection is a baseline, not changes; then a
# new key, a deleted key (with its value), new values of every type, a
# changed value, a deleted value and a changed file reach the hub as
# exactly those added, removed and changed events of that device (old
# and new data in them), once each: later collections send none of them
# again. A key then denied to the account is one collect-error event,
# said once over the next collections, and its items stay in the
# baseline (no removed event); a value changed while it was denied shows
# as a change once it is readable again. The account's password is in
# neither the agent's data, its log nor the hub's log. Root only
# (useradd, smbd).
export VIGIL=${VIGIL:-unused}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"
. "$(dirname "$0")/agent_lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/smbd_lib.sh"

U=vgwx$$
PW="pw-$RANDOM-$$-w"
KEY='HKLM\SOFTWARE\VigilAgentTest'

if [ "$(id -u)" -ne 0 ]; then
	ok "# SKIP needs root (a test user, smbd)"
	finish
	exit 0
fi
smb_need
sshd_need jq "$PY"

# smbd, samba-dcerpcd and its rpcd_* by PID and the user
# (smb_teardown), then what agent_lib.sh does at exit.
pwin_cleanup() {
	smb_teardown
	if [ "$FAIL" -gt 0 ]; then
		for f in "$SMB"/smbd.log "$SMB"/log/*.log; do
			[ -s "$f" ] || continue
			echo "# $(basename "$f"), the last lines:"
			tail -8 "$f" | sed 's/^/#   /'
		done
	fi
	agent_cleanup
}
trap pwin_cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- smbd, the account, the registry, the files ----
SMB_PORT=$(free_port)
smb_conf "$SMB_PORT"
smb_start
ok "smbd up on 127.0.0.1:$SMB_PORT"
smb_user_add "$U" "$PW"

# reg_import NAME: the .reg text on stdin into the registry.
reg_import() {
	{
		printf 'Windows Registry Editor Version 5.00\r\n\r\n'
		cat
	} >"$T/$1.reg"
	smb_net registry import "$T/$1.reg" >"$T/net.out" 2>&1 ||
	    { not_ok "net registry import $1"; cat "$T/net.out"; return 1; }
}
reg_import seed <<'EOF' || abort
[HKEY_LOCAL_MACHINE\SOFTWARE\VigilAgentTest]
"Sz"="hello"
"Dword"=dword:0000002a
"Binary"=hex:de,ad

[HKEY_LOCAL_MACHINE\SOFTWARE\VigilAgentTest\Old]
"Gone"="soon gone"

[HKEY_LOCAL_MACHINE\SOFTWARE\VigilAgentTest\Secret]
"Pw"="before"

EOF
ok "registry seeded"

mkdir -p "$T/c/App"
printf 'one\n' >"$T/c/App/app.ini"
printf 'stays\n' >"$T/c/App/keep.dll"
chmod -R a+rX "$T/c"

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

# ---- the group, the credential, the proxied Windows device ----
api POST /groups '{"name": "windows-hosts"}'
expect "group windows-hosts created" 201 '.id > 0' || abort
GID=$(jq -r .id "$T/body")
set_policy "$(jq -nc --arg k "$KEY" \
    '{registry: [$k], windows_files: ["C:\\App"], registry_depth: 4}')" ||
    abort

api POST /credentials "$(jq -nc --arg u "$U" --arg p "$PW" \
    '{name: "cred-windows", username: $u, password: $p}')"
expect "credential for $U created" 201 '.id > 0' || abort
CID=$(jq -r .id "$T/body")

api POST /devices "$(jq -nc --argjson port "$SMB_PORT" --argjson c "$CID" \
    --argjson px "$PROXY" --argjson g "$GID" \
    '{name: "win1", type: "windows", host: "127.0.0.1", port: $port,
      protocol: "smb", credential_id: $c, proxy_id: $px, schedule: 10,
      groups: [$g]}')"
expect "proxied windows device created" 201 '.id > 0' \
    '.kind == "proxied"' || abort
DID=$(jq -r .id "$T/body")
DNAME=win1

jqpath() {      # the JSON string of a Windows path
	jq -Rn --arg p "$1" '$p'
}
# devev: every event of the Windows device to $T/all.json.
devev() {
	all_events "device=$DID&limit=1000"
}
changes() {
	ev_count '.type == "added" or .type == "removed" or .type == "changed"'
}

# ---- online, first collection a baseline ----
if wait_until 90 online_ok; then
	ok "win1: online, no error"
else
	not_ok "win1: not online without error within 90 s"
	sed 's/^/    device: /' "$T/body"
	show_agent_log 30
	abort
fi
api GET "/devices/$DID"
expect "win1: collected by the agent over smb, no host key" 200 \
    ".proxied.proxy_id == $PROXY" '.proxied.last_collect != null' \
    '.proxied.last_error == null' '.proxied.protocol == "smb"' \
    '.proxied.port == '"$SMB_PORT" '(.proxied.host_key // null) == null'
if wait_until 60 has_agent_event baseline; then
	ok "win1: the first collection reports a baseline"
else
	not_ok "win1: no baseline event within 60 s"
	ev_show 'true'
	show_agent_log 30
fi
devev
check "win1: the first collection is silent ($(changes) changes)" \
    test "$(changes)" -eq 0
check "win1: ... and has no problem" \
    test "$(ev_count "$(agent_event_is "$KEY")")" -eq 0
check "the agent's own device has no event of win1's items" \
    test "$(all_events "device=$PROXY&limit=1000" && ev_count '.kind == "regkey" or .kind == "regvalue" or (.path // "" | startswith("C:"))')" -eq 0

# ---- changes: one event each ----
mark
smb_net registry createkey "$KEY\\New" >/dev/null || not_ok "createkey New"
smb_net registry deletekey_recursive "$KEY\\Old" >/dev/null ||
    not_ok "deletekey Old"
smb_net registry setvalue "$KEY" Sz sz "changed" >/dev/null ||
    not_ok "setvalue Sz"
smb_net registry deletevalue "$KEY" Dword >/dev/null ||
    not_ok "deletevalue Dword"
smb_net registry setvalue "$KEY\\New" NewSz sz "new string" >/dev/null ||
    not_ok "setvalue NewSz"
smb_net registry setvalue "$KEY\\New" NewDword dword 7 >/dev/null ||
    not_ok "setvalue NewDword"
reg_import more <<'EOF' || not_ok "the other value types"
[HKEY_LOCAL_MACHINE\SOFTWARE\VigilAgentTest\New]
"NewMulti"=hex(7):6f,00,6e,00,65,00,00,00,74,00,77,00,6f,00,00,00,00,00
"NewExpand"=hex(2):25,00,54,00,45,00,4d,00,50,00,25,00,00,00
"NewBE"=hex(5):00,00,01,00
"NewQword"=hex(b):00,00,00,00,01,00,00,00
"NewBinary"=hex:be,ef
"NewNone"=hex(0):
@="the default"

EOF
# Samba makes a file's creation time up (the oldest of its access,
# change and write times): a fresh access time keeps it the write time,
# as the next reads will, so that it does not move once more after the
# change (Windows keeps the real one).
printf 'two\n' >>"$T/c/App/app.ini" && touch -a "$T/c/App/app.ini"

NK="$KEY\\New"
# expected "type kind path" lines
cat >"$T/want" <<EOF
added regkey $NK
removed regkey $KEY\\Old
removed regvalue $KEY\\Old\\Gone
changed regvalue $KEY\\Sz
removed regvalue $KEY\\Dword
added regvalue $NK\\NewSz
added regvalue $NK\\NewMulti
added regvalue $NK\\NewDword
added regvalue $NK\\NewExpand
added regvalue $NK\\NewBE
added regvalue $NK\\NewQword
added regvalue $NK\\NewBinary
added regvalue $NK\\NewNone
added regvalue $NK\\
changed file C:\\App\\app.ini
EOF
NWANT=$(wc -l <"$T/want")
got_changes() {
	jq -r 'select(.type == "added" or .type == "removed" or
	    .type == "changed") | "\(.type) \(.kind) \(.path)"' "$T/all.json" |
	    LC_ALL=C sort
}
all_changes() {
	devev || return 1
	[ "$(changes)" -ge "$NWANT" ]
}
if wait_until 90 all_changes; then
	ok "win1: $NWANT change events reach the hub"
else
	not_ok "win1: not all $NWANT change events within 90 s ($(changes))"
	ev_show 'true' 30
	show_agent_log 30
fi
LC_ALL=C sort "$T/want" >"$T/want.sorted"
got_changes >"$T/got"
if cmp -s "$T/want.sorted" "$T/got"; then
	ok "win1: exactly the expected events, each once: added, removed and changed keys, values of every type and the file"
else
	not_ok "win1: the change events differ from those expected:"
	diff "$T/want.sorted" "$T/got" | sed 's/^/    /'
fi
check "win1: the file the folder keeps made no event" \
    test "$(ev_count '.path == "C:\\App\\keep.dll"')" -eq 0
check "win1: the key itself made no event" \
    test "$(ev_count ".path == $(jqpath "$KEY")")" -eq 0

# The details: old and new data, types.
detail() {      # TYPE PATH: the event's details to $T/details.json
	jq -r --arg t "$1" --arg p "$2" \
	    'select(.type == $t and .path == $p) | .id' "$T/all.json" >"$T/ids"
	event_details "$T/ids"
}
detail changed "$KEY\\Sz"
check "the changed value: old and new data, REG_SZ" jqtrue "$T/details.json" \
    '.old.props.data == "hello" and .new.props.data == "changed" and
     .new.props.type == "REG_SZ" and .kind == "regvalue" and
     (.changed | index("props")) != null'
check "... and belongs to the Windows device" jqtrue "$T/details.json" \
    "(.device_id // .device.id) == $DID"
detail removed "$KEY\\Dword"
check "the deleted value: its old data" jqtrue "$T/details.json" \
    '.old.props.data == "0x0000002a (42)" and .old.props.type == "REG_DWORD" and .new == null'
detail added "$NK\\NewMulti"
check "a new REG_MULTI_SZ: one string a line" jqtrue "$T/details.json" \
    '.new.props.data == "one\ntwo" and .new.props.type == "REG_MULTI_SZ" and .old == null'
detail added "$NK\\NewQword"
check "a new REG_QWORD" jqtrue "$T/details.json" \
    '.new.props.data == "0x0000000100000000 (4294967296)" and .new.props.type == "REG_QWORD"'
detail added "$NK\\NewBE"
check "a new REG_DWORD_BIG_ENDIAN" jqtrue "$T/details.json" \
    '.new.props.type == "REG_DWORD_BIG_ENDIAN" and .new.props.data == "0x00000100 (256)"'
detail added "$NK\\NewExpand"
check "a new REG_EXPAND_SZ, unexpanded" jqtrue "$T/details.json" \
    '.new.props.type == "REG_EXPAND_SZ" and .new.props.data == "%TEMP%"'
detail added "$NK\\NewBinary"
check "a new REG_BINARY as hex" jqtrue "$T/details.json" \
    '.new.props.type == "REG_BINARY" and .new.props.data == "beef"'
detail added "$NK\\NewNone"
check "a new REG_NONE" jqtrue "$T/details.json" '.new.props.type == "REG_NONE"'
detail added "$NK\\"
check "the new key's default value" jqtrue "$T/details.json" \
    '.new.props.data == "the default"'
detail added "$NK"
check "the new key: its security descriptor" jqtrue "$T/details.json" \
    '.kind == "regkey" and (.new.props.security | startswith("O:"))'
detail removed "$KEY\\Old\\Gone"
check "the deleted key's value: its old data" jqtrue "$T/details.json" \
    '.old.props.data == "soon gone"'
detail changed 'C:\App\app.ini'
check "the changed file: its size and hash" jqtrue "$T/details.json" \
    '.kind == "file" and .old.size == 4 and .new.size == 8 and
     (.changed | index("hash")) != null and .old.hash != .new.hash'

# ---- nothing sent twice ----
n1=$(jq -s 'length' "$T/all.json")
ids1=$(jq -r '.id' "$T/all.json" | sort -n | tr '\n' ' ')
mark
if wait_until 60 more_collections 2; then
	ok "win1: two more collections"
else
	not_ok "win1: not two more collections within 60 s ($MARK_N -> $(collections))"
	show_agent_log 30
fi
devev
n2=$(jq -s 'length' "$T/all.json")
ids2=$(jq -r '.id' "$T/all.json" | sort -n | tr '\n' ' ')
if [ "$n2" -eq "$n1" ] && [ "$ids1" = "$ids2" ]; then
	ok "win1: no event after them, none sent again ($n1 events)"
else
	not_ok "win1: events after them ($n1 -> $n2):"
	jq -c '{id, type, kind, origin, path, message}' "$T/all.json" |
	    sed 's/^/    event: /'
fi
check "win1: still online, no error" online_ok

# ---- a key denied to the account: said once, its baseline kept ----
SECRET="$KEY\\Secret"
smb_net registry setsd_sddl "$SECRET" \
    "O:BAG:SYD:(A;;0x000f003f;;;BA)(A;;0x000f003f;;;SY)" >/dev/null ||
    not_ok "setsd_sddl Secret"
smb_net registry setvalue "$SECRET" Pw sz "while denied" >/dev/null ||
    not_ok "setvalue Pw"
DENIED=".type == \"agent\" and .path == $(jqpath "$SECRET") and
    (.message | contains(\"access denied\"))"
denied_said() {
	devev || return 1
	[ "$(ev_count "$DENIED")" -ge 1 ]
}
if wait_until 60 denied_said; then
	ok "win1: the denied key is reported ($(jq -r "select($DENIED) | .message" "$T/all.json" | head -1))"
else
	not_ok "win1: no event for the denied key within 60 s"
	ev_show 'true' 30
	show_agent_log 30
fi
mark
if wait_until 60 more_collections 2; then
	ok "win1: two more collections while it is denied"
else
	not_ok "win1: not two more collections within 60 s"
fi
devev
check "win1: the denied key is reported once" test "$(ev_count "$DENIED")" -eq 1
SECRET_J=$(jqpath "$SECRET")
GONE_SECRET=".type == \"removed\" and (.path | startswith($SECRET_J))"
check "win1: no removed event for the denied key or its value" \
    test "$(ev_count "$GONE_SECRET")" -eq 0
check "win1: no other change meanwhile" test "$(changes)" -eq "$NWANT"
check "win1: still online, no error" online_ok

# readable again: the value changed while it was denied shows, against
# the kept baseline
smb_net registry setsd_sddl "$SECRET" \
    "O:BAG:SYD:(A;;0x00020019;;;WD)(A;;0x000f003f;;;BA)(A;;0x000f003f;;;SY)" \
    >/dev/null ||
    not_ok "setsd_sddl Secret back"
PWCHG=".type == \"changed\" and .path == $(jqpath "$SECRET\\Pw")"
pw_changed() {
	devev || return 1
	[ "$(ev_count "$PWCHG")" -ge 1 ]
}
if wait_until 60 pw_changed; then
	ok "win1: readable again, the value changed meanwhile is reported"
else
	not_ok "win1: no change of $SECRET\\Pw within 60 s"
	ev_show 'true' 30
fi
detail changed "$SECRET\\Pw"
check "... from its baseline to its new data" jqtrue "$T/details.json" \
    '.old.props.data == "before" and .new.props.data == "while denied"'
check "win1: its security descriptor, back as it was, made no event" \
    test "$(ev_count ".type == \"changed\" and .path == $SECRET_J")" -eq 0
check "win1: nothing else was added or removed" \
    test "$(ev_count '.type == "added" or .type == "removed"')" -eq \
    "$(grep -c '^added\|^removed' "$T/want")"

# ---- the secret stays secret ----
count_leaks $(find "$AGENT_DATA" -type f) "$AGENT_LOG" "$HUB_LOG" -- "$PW"
check "the account's password is in neither the agent's data, its log nor the hub's log" \
    test "$LEAKS" -eq 0

agent_stop_checked
hub_stop_checked
hub_finish
