#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil-hub's proxied devices over real HTTPS, driven with curl as the
# console and as proxy agents would: credentials (secrets write-only and
# sealed at rest), device profiles, proxied devices (create, change,
# validation, delete), a proxy's poll list and its versions, credential
# hand-out to the right proxy only, collection results (configuration
# versions, change events with diffs, errors without flooding, host keys
# trusted on first use, change alerts and trust), versions and compare;
# Windows devices (SMB on 445, no profile, no legacy SSH, a password
# credential, no host key) with the registry fields of their merged group
# policy in the poll, and those fields' validation errors.
export VIGIL=${VIGIL:-unused} # lib.sh wants it; these tests do not run vigil
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"
: "${VIGIL_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"

PROFILES=$VIGIL_SRC/dist/profiles
HEX64_RE='^[0-9a-f]{64}$'

rnd() {
	head -c 18 /dev/urandom | base64 | tr -d '/+='
}

# Secrets that must never come back from the console API nor sit in
# hub.db or the log in plaintext.
PW1="pw1-$(rnd)"
PW2="pw2-$(rnd)"
ENABLE="en-$(rnd)"
PASSPHRASE="pp-$(rnd)"
KEYBODY="KEY$(rnd)$(rnd)"
PRIVKEY=$(printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n' "$KEYBODY")

# body JQ [--arg/--argjson ...]: a JSON body made by jq -n.
body() {
	local f=$1
	shift
	jq -nc "$@" "$f"
}

# result DEVICE CRED JQ [jq args]: POST /agent/proxied/DEVICE/result as
# the proxy with credential CRED.
result() {
	local dev=$1 cred=$2
	shift 2
	api_as "$cred" POST "/agent/proxied/$dev/result" "$(body "$@")"
}

printf 'profiles_dir = %s\n' "$PROFILES" >"$T/hub.conf"
hub_init proxied || hub_abort
hub_start -c "$T/hub.conf" || hub_abort
ok "hub started with profiles_dir $PROFILES"
admin_session || { not_ok "admin sign-in"; hub_abort; }

# --- credentials ---
api POST /credentials "$(body '{name: "core", username: "netops",
    password: $p, enable_secret: $e}' --arg p "$PW1" --arg e "$ENABLE")"
expect "create a credential: 201 without its secrets" 201 \
	'(.id | type) == "number"' '.name == "core"' '.username == "netops"' \
	'.devices == 0' '(.created | type) == "number"' \
	'has("password") or has("enable_secret") | not'
CID=$(jq -r .id "$T/body")
check "the answer holds no secret" sh -c "! grep -qF -e '$PW1' -e '$ENABLE' '$T/body'"
api POST /credentials "$(body '{name: "keys", username: "backup",
    private_key: $k, passphrase: $pp}' --arg k "$PRIVKEY" \
	--arg pp "$PASSPHRASE")"
expect "a credential with a private key and passphrase: 201" 201 \
	'.name == "keys"' 'has("private_key") | not'
CID2=$(jq -r .id "$T/body")
api POST /credentials '{"name":"core","username":"x","password":"another-one"}'
expect_err "a name already taken: 409" 409 conflict
api POST /credentials '{"name":"nouser","password":"another-one"}'
expect_err "username missing: 400 naming it" 400 bad_request "username: missing"
api POST /credentials '{"name":"nosecret","username":"u"}'
expect_err "no password nor key: 400 naming password" 400 bad_request \
	"password:" "private_key"
api POST /credentials '{"name":"badkey","username":"u","private_key":"ssh-rsa AAAA"}'
expect_err "a public key given as private_key: 400 naming it" 400 \
	bad_request "private_key:"
api POST /credentials '{"name":"pp","username":"u","password":"p","passphrase":"x"}'
expect_err "passphrase without a key: 400 naming it" 400 bad_request \
	"passphrase:"
api POST /credentials '{"name":"x","username":"u","password":"p","token":"t"}'
expect_err "an unknown field: 400 naming it" 400 bad_request '"token"'
api POST /credentials "$(body '{name: "ctl", username: "u\u0007", password: "p"}')"
expect_err "control characters in username: 400" 400 bad_request "username:"
api GET /credentials
expect "list credentials" 200 '(.credentials | length) == 2' \
	'[.credentials[].name] == ["core", "keys"]' \
	'all(.credentials[]; has("devices") and has("updated") and (has("box") | not))'
check "the list holds no secret" sh -c "! grep -qF -e '$PW1' -e '$ENABLE' -e '$KEYBODY' -e '$PASSPHRASE' '$T/body'"
api PATCH "/credentials/$CID" '{"username":"netops2"}'
expect "change the user name only: secrets kept" 200 '.username == "netops2"' \
	'.name == "core"'
api PATCH "/credentials/$CID" "$(body '{password: $p}' --arg p "$PW2")"
expect "change the password only (enable secret kept, checked below)" 200 \
	'.username == "netops2"'
check "the answer holds no secret" sh -c "! grep -qF -e '$PW2' '$T/body'"
api PATCH "/credentials/$CID" '{"password":null}'
expect_err "removing the only password: 400, a credential needs one" 400 \
	bad_request "password:"
api PATCH "/credentials/$CID" '{"name":"keys"}'
expect_err "renaming onto another credential's name: 409" 409 conflict
api GET "/credentials/99999"
expect_err "an unknown credential: 404" 404 not_found "credential 99999"
READER_PW="reader-$(rnd)"
api POST /users "$(body '{name: "reader", password: $p, role: "readonly"}' \
	--arg p "$READER_PW")"
expect "a read-only user" 201
sign_in reader "$READER_PW"
READER=$TOKEN
api_as "$READER" GET /credentials
expect_err "read-only users may not read credentials" 403 forbidden
api_as "$READER" POST /credentials '{"name":"r","username":"u","password":"p"}'
expect_err "... nor make them" 403 forbidden

# --- profiles ---
api GET /profiles
nprof=$(ls "$PROFILES"/*.profile | wc -l)
expect "GET /profiles lists every profile of profiles_dir ($nprof)" 200 \
	"type == \"array\" and length == $nprof" \
	'any(.[]; .name == "ios" and .mode == "shell" and (.description | length) > 0)' \
	'[.[].name] == ([.[].name] | sort)' \
	'all(.[]; .mode == "shell" or .mode == "exec")'
api_as "$READER" GET /profiles
expect "read-only users see the profiles" 200 "length == $nprof"

# --- proxy agents and groups ---
register proxy01 mid-proxy-01 52:54:00:11:00:01
P1=$DEV
C1=$CRED
register proxy02 mid-proxy-02 52:54:00:11:00:02
P2=$DEV
C2=$CRED
register plain03 mid-plain-03 52:54:00:11:00:03
P3=$DEV
C3=$CRED
check "three agents registered" test -n "$P1" -a -n "$P2" -a -n "$P3"
api POST /groups '{"name":"routers"}'
G1=$(jq -r .id "$T/body")
api POST /groups '{"name":"linux"}'
G2=$(jq -r .id "$T/body")
api PUT "/groups/$G2/policy" '{"paths":["/etc"]}'
expect "a policy for the linux group" 200

# --- proxied devices ---
api POST /devices "$(body '{name: "r1", host: "192.0.2.1", profile: "ios",
    credential_id: $c, proxy_id: $p, groups: [$g]}' --argjson c "$CID" \
	--argjson p "$P1" --argjson g "$G1")"
expect "create a proxied network device: 201 with the defaults" 201 \
	'.kind == "proxied"' '.name == "r1"' '.proxied.type == "network"' \
	'.proxied.host == "192.0.2.1"' '.proxied.port == 22' \
	'.proxied.protocol == "ssh"' '.proxied.profile == "ios"' \
	".proxied.credential_id == $CID" ".proxied.proxy_id == $P1" \
	'.proxied.schedule == 3600' '.proxied.legacy_ssh == false' \
	'.proxied.host_key == null' '.proxied.host_key_state == "unknown"' \
	'.proxied.config_version == 0' ".groups[0].id == $G1" \
	'.online == false'
R1=$(jq -r .id "$T/body")
api POST /devices "$(body '{name: "sw1", host: "sw1.example.net",
    protocol: "telnet", profile: "ios", credential_id: $c, proxy_id: $p,
    schedule: 600}' --argjson c "$CID" --argjson p "$P1")"
expect "a Telnet device: port 23 by default" 201 '.proxied.port == 23' \
	'.proxied.protocol == "telnet"' '.proxied.schedule == 600'
SW1=$(jq -r .id "$T/body")
api POST /devices "$(body '{name: "lx1", type: "linux", host: "2001:db8::7",
    credential_id: $c, proxy_id: $p, groups: [$g], profile: "ios"}' \
	--argjson c "$CID2" --argjson p "$P1" --argjson g "$G2")"
expect "a linux device: ssh, no profile" 201 '.proxied.type == "linux"' \
	'.proxied.protocol == "ssh"' '.proxied.profile == null' \
	'.proxied.host == "2001:db8::7"'
LX1=$(jq -r .id "$T/body")
api POST /devices "$(body '{name: "r2", host: "192.0.2.2", profile: "junos",
    credential_id: $c, proxy_id: $p, legacy_ssh: true}' --argjson c "$CID" \
	--argjson p "$P2")"
expect "a device of the second proxy, legacy SSH" 201 \
	'.proxied.legacy_ssh == true' ".proxied.proxy_id == $P2"
R2=$(jq -r .id "$T/body")

# bad FIELD WORD JQ: POST /devices with r1's body changed by JQ is refused
# with 400 naming FIELD.
bad() {
	local field=$1 filter=$2
	api POST /devices "$(body "{name: \"x\", host: \"192.0.2.9\",
	    profile: \"ios\", credential_id: $CID, proxy_id: $P1} | $filter")"
	expect_err "POST /devices $filter: 400 naming $field" 400 bad_request \
		"$field"
}
bad "name: missing" 'del(.name)'
bad "host: missing" 'del(.host)'
bad "host: expected a host name or an ip address" '.host = "a b"'
bad "host:" '.host = "-rf"'
bad 'type: expected "network", "linux" or "windows"' '.type = "router"'
bad 'protocol: expected "ssh", "telnet" or "smb"' '.protocol = "rlogin"'
bad "protocol: linux devices are collected over ssh only" \
	'.type = "linux" | .protocol = "telnet"'
bad "profile: no profile nope" '.profile = "nope"'
bad "profile:" '.profile = "../etc/passwd"'
bad "profile: missing" 'del(.profile)'
bad "credential_id: no credential 99999" '.credential_id = 99999'
bad "credential_id: missing" 'del(.credential_id)'
bad "proxy_id: no device 99999" '.proxy_id = 99999'
bad "proxy_id: device $R1 is a proxied device" ".proxy_id = $R1"
bad "schedule: must be from 10 to 604800" '.schedule = 5'
bad "port: must be from 1 to 65535" '.port = 70000'
bad "legacy_ssh: expected true or false" '.legacy_ssh = "yes"'
bad "groups[0]: no group 99999" '.groups = [99999]'
bad "groups: expected an array" '.groups = "routers"'
bad 'unknown field "os"' '.os = "IOS"'
api_as "$READER" POST /devices "$(body '{name: "x"}')"
expect_err "read-only users may not add devices" 403 forbidden

api PATCH "/devices/$R1" '{"schedule":900,"legacy_ssh":true,"name":"r1-core"}'
expect "PATCH a proxied device" 200 '.proxied.schedule == 900' \
	'.proxied.legacy_ssh == true' '.name == "r1-core"' \
	'.proxied.port == 22'
api PATCH "/devices/$R1" '{"protocol":"telnet"}'
expect "ssh to telnet on port 22 moves to port 23" 200 \
	'.proxied.protocol == "telnet"' '.proxied.port == 23'
api PATCH "/devices/$R1" '{"protocol":"ssh","port":2222}'
expect "back to ssh on a port given" 200 '.proxied.port == 2222'
api PATCH "/devices/$R1" '{"port":22,"legacy_ssh":false,"schedule":3600}'
expect "and back" 200 '.proxied.port == 22' '.proxied.legacy_ssh == false'
api PATCH "/devices/$R1" '{"profile":"nope"}'
expect_err "PATCH to an unknown profile: 400" 400 bad_request "profile:"
api PATCH "/devices/$R1" '{"type":"linux"}'
expect "PATCH to linux keeps ssh" 200 '.proxied.type == "linux"'
api PATCH "/devices/$R1" '{"type":"network","profile":"ios"}'
expect "and back to network with a profile" 200 '.proxied.type == "network"' \
	'.proxied.profile == "ios"'
api PATCH "/devices/$LX1" '{"protocol":"telnet"}'
expect_err "PATCH a linux device to telnet: 400" 400 bad_request \
	"protocol: linux devices"
api PATCH "/devices/$R1" '{"groups":[]}'
expect "PATCH groups: [] leaves every group" 200 '.groups == []'
api PATCH "/devices/$R1" "{\"groups\":[$G1]}"
expect "PATCH groups back" 200 ".groups[0].id == $G1"
api PATCH "/devices/$P1" '{"schedule":60}'
expect_err "PATCH an agent's own device: 400" 400 bad_request "agent"
api PATCH "/devices/99999" '{"schedule":60}'
expect_err "PATCH an unknown device: 404" 404 not_found

api GET "/devices?kind=proxied"
expect "devices?kind=proxied" 200 '(.devices | length) == 4' \
	'all(.devices[]; .kind == "proxied")'
api GET "/devices?kind=agent"
expect "devices?kind=agent" 200 '(.devices | length) == 3' \
	'all(.devices[]; .kind == "agent" and ((has("proxied") | not) or .proxied == null))'
api GET "/devices?kind=router"
expect_err "devices?kind=router: 400" 400 bad_request "kind"
api GET "/credentials/$CID"
expect "the credential counts its devices" 200 '.devices == 3'
api DELETE "/credentials/$CID"
expect_err "a credential in use cannot be deleted" 409 conflict "core" "3"

# --- a proxy polls ---
api_as "$C1" POST /agent/poll '{}'
expect "proxy 1 polls: its proxied devices and their version" 200 \
	"(.proxied_version | test(\"$HEX64_RE\"))" \
	"[.proxied[].id] == [$R1, $SW1, $LX1]" \
	"(.proxied[] | select(.id == $R1)) as \$d | \$d.name == \"r1-core\" and \$d.type == \"network\" and \$d.host == \"192.0.2.1\" and \$d.port == 22 and \$d.protocol == \"ssh\" and \$d.profile == \"ios\" and \$d.schedule == 3600 and \$d.legacy_ssh == false and \$d.host_key == null and \$d.collect == true and \$d.config_sha256 == null and \$d.credential_id == $CID and (\$d.credential_updated | type) == \"number\"" \
	"(.proxied[] | select(.id == $LX1)) as \$d | \$d.type == \"linux\" and (\$d.policy | type) == \"object\" and (\$d.policy.paths[0] == \"/etc\") and (\$d.policy_version | test(\"$HEX64_RE\"))" \
	"(.proxied[] | select(.id == $R1)) | has(\"policy\") | not"
V1=$(jq -r .proxied_version "$T/body")
api_as "$C1" POST /agent/poll "$(body '{proxied_version: $v}' --arg v "$V1")"
expect "polling with the current version: no list, same version" 200 \
	'has("proxied") | not' ".proxied_version == \"$V1\""
api_as "$C2" POST /agent/poll '{}'
expect "proxy 2 gets its own device only" 200 "[.proxied[].id] == [$R2]"
api_as "$C3" POST /agent/poll '{}'
expect "an agent with no proxied devices gets []" 200 '.proxied == []'
V3=$(jq -r .proxied_version "$T/body")
api_as "$C3" POST /agent/poll "$(body '{proxied_version: $v}' --arg v "$V3")"
expect "... once" 200 'has("proxied") | not'
api PATCH "/devices/$SW1" '{"schedule":1200}'
api_as "$C1" POST /agent/poll "$(body '{proxied_version: $v}' --arg v "$V1")"
expect "a change of a device gives a new version and the list" 200 \
	".proxied_version != \"$V1\"" \
	"(.proxied[] | select(.id == $SW1)).schedule == 1200"
api_as "$C1" POST /agent/poll '{"proxied_version":"x\u0001"}'
expect_err "a proxied_version with control characters: 400" 400 \
	bad_request "proxied_version"

# --- credentials handed to the proxy ---
api_as "$C1" POST "/agent/proxied/$R1/credential" '{}'
expect "the proxy fetches its device's credential" 200 \
	'.username == "netops2"' ".password == \"$PW2\"" \
	".enable_secret == \"$ENABLE\"" 'has("private_key") | not'
check "... with Cache-Control: no-store" test "$(hdr Cache-Control)" = no-store
api_as "$C1" POST "/agent/proxied/$LX1/credential"
expect "an empty body will do; a key credential" 200 \
	'.username == "backup"' ".passphrase == \"$PASSPHRASE\"" \
	"(.private_key | contains(\"$KEYBODY\"))" 'has("password") | not'
api_as "$C2" POST "/agent/proxied/$R1/credential" '{}'
expect_err "another proxy's device: 403" 403 forbidden "$R1"
api_as "$C3" POST "/agent/proxied/$R1/credential" '{}'
expect_err "an agent that proxies nothing: 403" 403 forbidden
api_as "$C1" POST "/agent/proxied/99999/credential" '{}'
expect_err "an unknown device: 404" 404 not_found
api_as "$C1" POST "/agent/proxied/$P1/credential" '{}'
expect "an agent's own device has no credential to hand out" "403|404" \
	'.error == "forbidden" or .error == "not_found"'
api POST "/agent/proxied/$R1/credential" '{}'
expect "a console session cannot fetch credentials" "401|403" \
	'has("password") | not'
api_as "$C1" POST "/agent/proxied/$R1/credential" '{"x":1}'
expect_err "an unknown field: 400" 400 bad_request
check "the hub's log says which proxy got which device's credential" \
	has "$HUB_LOG" "credential of device $R1 handed to proxy $P1"

# --- collection results ---
FP1="SHA256:$(head -c 32 /dev/urandom | base64 | tr -d '=')"
FP2="SHA256:$(head -c 32 /dev/urandom | base64 | tr -d '=')"
SIG1=$'hostname r1\ninterface Gi0/1\n description uplink\n ip address 10.0.0.1 255.255.255.0\n'
SIG2=$'hostname r1\ninterface Gi0/1\n description core uplink\n ip address 10.0.0.1 255.255.255.0\n'
CONF1=$'! Last configuration change at 10:00:01\n'"$SIG1"
CONF2=$'! Last configuration change at 11:30:00\n'"$SIG2"
SHA1=$(printf '%s' "$SIG1" | sha256sum | cut -d' ' -f1)
SHA2=$(printf '%s' "$SIG2" | sha256sum | cut -d' ' -f1)
NOWT=$(date -u +%Y-%m-%dT%H:%M:%SZ)

result "$R1" "$C1" '{status: "ok", time: $t, host_key: $fp, sha256: $s,
    config: $c, significant: $g, lines: 5}' --arg t "$NOWT" --arg fp "$FP1" \
	--arg s "$SHA1" --arg c "$CONF1" --arg g "$SIG1"
expect "first result: version 1, the baseline, no event, key trusted" 200 \
	'.version == 1' '.changed == true' '.event_id == null' \
	'.host_key_state == "trusted"'
api GET "/devices/$R1"
expect "the device: online, key trusted on first use, version 1" 200 \
	'.online == true' ".proxied.host_key == \"$FP1\"" \
	'.proxied.host_key_state == "trusted"' '.proxied.config_version == 1' \
	'(.proxied.last_collect | type) == "number"' '.proxied.last_error == null'
api GET "/events?device=$R1"
expect "no event for the baseline" 200 \
	'[.events[] | select(.type == "changed")] == []'
api_as "$C1" POST /agent/poll '{}'
expect "the poll list carries the trusted key and the config's SHA-256" 200 \
	"(.proxied[] | select(.id == $R1)) as \$d | \$d.host_key == \"$FP1\" and \$d.config_sha256 == \"$SHA1\" and \$d.collect == true"
result "$R1" "$C1" '{status: "ok", time: $t, host_key: $fp, sha256: $s}' \
	--arg t "$NOWT" --arg fp "$FP1" --arg s "$SHA1"
expect "unchanged (config omitted, same SHA-256): same version" 200 \
	'.version == 1' '.changed == false' '.event_id == null'
result "$R1" "$C1" '{status: "ok", host_key: $fp, sha256: $s}' \
	--arg fp "$FP1" --arg s "$SHA2"
expect_err "another SHA-256 without the config: 409 config_required" 409 \
	config_required
result "$R1" "$C1" '{status: "ok", host_key: $fp, sha256: $s, config: $c,
    significant: $g}' --arg fp "$FP1" --arg s "$SHA1" --arg c "$CONF2" \
	--arg g "$SIG2"
expect_err "a sha256 that is not the significant view's: 400" 400 \
	bad_request "sha256:"
result "$R1" "$C1" '{status: "ok", host_key: $fp, sha256: $s, config: $c}' \
	--arg fp "$FP1" --arg s "$SHA2" --arg c "$CONF2"
expect_err "config without significant: 400 naming it" 400 bad_request \
	"significant: missing"
result "$R1" "$C1" '{status: "fine"}'
expect_err "a bad status: 400" 400 bad_request "status:"
result "$R1" "$C1" '{status: "ok", time: "yesterday", sha256: $s}' --arg s "$SHA1"
expect_err "a bad time: 400" 400 bad_request "time:"
result "$R1" "$C1" '{status: "error", code: "flood", message: "x"}'
expect_err "a bad code: 400" 400 bad_request "code:"
result "$R1" "$C1" '{status: "error"}'
expect_err "an error without a message: 400" 400 bad_request "message:"
result "$R1" "$C1" '{status: "hostkey_changed"}'
expect_err "hostkey_changed without the key: 400" 400 bad_request "host_key:"
result "$R1" "$C1" '{status: "ok", sha256: "ABC"}'
expect_err "a malformed sha256: 400" 400 bad_request "sha256:"
result "$R1" "$C2" '{status: "ok", sha256: $s}' --arg s "$SHA1"
expect_err "another proxy's result: 403" 403 forbidden

result "$R1" "$C1" '{status: "ok", time: $t, host_key: $fp, sha256: $s,
    config: $c, significant: $g, lines: 5}' --arg t "$NOWT" --arg fp "$FP1" \
	--arg s "$SHA2" --arg c "$CONF2" --arg g "$SIG2"
expect "a changed configuration: version 2 and a change event" 200 \
	'.version == 2' '.changed == true' '(.event_id | type) == "number"'
EV=$(jq -r .event_id "$T/body")
api GET "/events/$EV"
expect "the change event: config of the device, with the diff" 200 \
	'.type == "changed"' ".device_id == $R1" '.path == "config"' \
	'(.diff | contains("- description uplink"))' \
	'(.diff | contains("+ description core uplink"))' \
	'(.diff | contains("Last configuration change") | not)'
api GET "/devices/$R1/configs"
expect "two versions, newest first" 200 '(.configs | length) == 2' \
	'[.configs[].version] == [2, 1]' ".configs[0].sha256 == \"$SHA2\"" \
	".configs[1].sha256 == \"$SHA1\"" '.configs[1].lines == 5' \
	'all(.configs[]; (.time | type) == "number" and (.bytes | type) == "number")'
api GET "/devices/$R1/configs/1"
jq -r .text "$T/body" >"$T/conf1.got"
expect "version 1 with its text and significant view" 200 '.version == 1' \
	".sha256 == \"$SHA1\"" "(.significant == $(jq -n --arg g "$SIG1" '$g'))"
check "... the text exactly as sent" cmp -s "$T/conf1.got" <(printf '%s\n' "$CONF1")
api GET "/devices/$R1/configs/3"
expect_err "a version that does not exist: 404" 404 not_found "version 3"
api GET "/devices/99999/configs"
expect_err "configs of an unknown device: 404" 404 not_found
api GET "/devices/$R1/configs/compare?from=1&to=2"
expect "compare 1 and 2 (significant views)" 200 '.from == 1' '.to == 2' \
	'.truncated == false' '(.diff | contains("--- version 1"))' \
	'(.diff | contains("+ description core uplink"))' \
	'(.diff | contains("Last configuration change") | not)'
api GET "/devices/$R1/configs/compare?from=1&to=2&view=full"
expect "compare the full texts" 200 \
	'(.diff | contains("+! Last configuration change at 11:30:00"))'
api GET "/devices/$R1/configs/compare?from=2&to=1"
expect "compare backwards" 200 '(.diff | contains("- description core uplink"))'
api GET "/devices/$R1/configs/compare?to=2"
expect_err "compare without from: 400" 400 bad_request "from"
api GET "/devices/$R1/configs/compare?from=1&to=2&view=raw"
expect_err "compare with a bad view: 400" 400 bad_request "view"
api GET "/devices/$R1/configs/compare?from=1&to=7"
expect_err "compare with a missing version: 404" 404 not_found "version 7"
api_as "$READER" GET "/devices/$R1/configs/compare?from=1&to=2"
expect "read-only users may compare" 200

# Collection errors: one event per new error, none for the same again.
result "$R1" "$C1" '{status: "error", code: "timeout",
    message: "no answer from 192.0.2.1:22 in 30 s"}'
expect "an error result" 200 '.version == 2' '.changed == false'
result "$R1" "$C1" '{status: "error", code: "timeout",
    message: "no answer from 192.0.2.1:22 in 30 s"}'
expect "the same error again" 200
api GET "/events?device=$R1&type=agent"
expect "one collection_error event, not two" 200 \
	'[.events[] | select(.message | startswith("collection_error"))] | length == 1' \
	'[.events[] | select(.message | contains("no answer from 192.0.2.1:22"))] | length == 1'
api GET "/devices/$R1"
expect "the device shows the error" 200 \
	'(.proxied.last_error | contains("no answer from 192.0.2.1:22"))'
result "$R1" "$C1" '{status: "ok", host_key: $fp, sha256: $s}' \
	--arg fp "$FP1" --arg s "$SHA2"
expect "collection works again" 200 '.version == 2' '.changed == false'
api GET "/events?device=$R1&type=agent"
expect "a collection_ok event says so" 200 \
	'[.events[] | select(.message | startswith("collection_ok"))] | length == 1'
api GET "/devices/$R1"
expect "the error is cleared" 200 '.proxied.last_error == null'

# Host key changes stop collection until an administrator trusts the key.
result "$R1" "$C1" '{status: "hostkey_changed", host_key: $fp,
    code: "hostkey", message: "host key changed"}' --arg fp "$FP2"
expect "a changed host key" 200 '.host_key_state == "changed"'
api GET "/events?device=$R1&type=agent"
expect "an alert names both keys" 200 \
	"[.events[] | select(.message | startswith(\"hostkey_changed\") and contains(\"$FP1\") and contains(\"$FP2\"))] | length == 1"
api GET "/devices/$R1"
expect "the device: key changed, the new one offered" 200 \
	'.proxied.host_key_state == "changed"' ".proxied.host_key == \"$FP1\"" \
	".proxied.host_key_offered == \"$FP2\""
api_as "$C1" POST /agent/poll '{}'
expect "the proxy is told not to collect it" 200 \
	"(.proxied[] | select(.id == $R1)).collect == false"
result "$R1" "$C1" '{status: "ok", host_key: $fp, sha256: $s, config: $c,
    significant: $g}' --arg fp "$FP2" --arg s "$SHA1" --arg c "$CONF1" \
	--arg g "$SIG1"
expect "a result with the untrusted key stores nothing" 200 \
	'.version == 2' '.changed == false' '.host_key_state == "changed"'
api_as "$READER" POST "/devices/$R1/host-key" '{"action":"trust"}'
expect_err "read-only users may not trust keys" 403 forbidden
api POST "/devices/$R1/host-key" '{"action":"believe"}'
expect_err "a bad action: 400" 400 bad_request 'action: expected "trust" or "forget"'
api POST "/devices/$P1/host-key" '{"action":"trust"}'
expect_err "an agent's own device: 400" 400 bad_request "agent"
api POST "/devices/$R1/host-key" '{"action":"trust"}'
expect "trust the new key" 200 ".proxied.host_key == \"$FP2\"" \
	'.proxied.host_key_state == "trusted"' '.proxied.host_key_offered == null'
api_as "$C1" POST /agent/poll '{}'
expect "collection resumes with the new key" 200 \
	"(.proxied[] | select(.id == $R1)) as \$d | \$d.collect == true and \$d.host_key == \"$FP2\""
api POST "/devices/$R1/host-key" '{"action":"trust"}'
expect_err "nothing offered to trust: 409" 409 conflict
api POST "/devices/$R1/host-key" '{"action":"forget"}'
expect "forget the key" 200 '.proxied.host_key == null' \
	'.proxied.host_key_state == "unknown"'
result "$R1" "$C1" '{status: "ok", host_key: $fp, sha256: $s}' \
	--arg fp "$FP1" --arg s "$SHA2"
expect "the next contact trusts its key again" 200 \
	'.host_key_state == "trusted"' '.version == 2'

# Linux-type devices: events through /agent/events, status through /result.
result "$LX1" "$C1" '{status: "ok", host_key: $fp}' --arg fp "$FP1"
expect "a linux device's ok result, no config" 200 '.version == 0' \
	'.changed == false'
api_as "$C1" POST /agent/events "$(mkbatch 1 2 /etc/lx1/f "$LX1")"
expect "its proxy sends its change events" 200 '.acked == [1, 2]'
api_as "$C2" POST /agent/events "$(mkbatch 3 1 /etc/lx1/f "$LX1")"
expect_err "another proxy may not" 403 forbidden
api GET "/events?device=$LX1&type=changed"
expect "the events are the linux device's" 200 '(.events | length) == 2'

# --- Windows devices (SMB) ---
register proxy04 mid-proxy-04 52:54:00:11:00:04
P4=$DEV
C4=$CRED
WINPW="win-$(rnd)"
api POST /credentials "$(body '{name: "win", username: "CORP\\monitor",
    password: $p}' --arg p "$WINPW")"
expect "a password credential for Windows hosts" 201 \
	'.username == "CORP\\monitor"'
CIDW=$(jq -r .id "$T/body")
api POST /groups '{"name":"windows"}'
GW=$(jq -r .id "$T/body")
api POST /groups '{"name":"windows-deep"}'
GW2=$(jq -r .id "$T/body")
api PUT "/groups/$GW/policy" '{"registry": ["HKLM\\SOFTWARE\\Test",
    "HKU\\.DEFAULT\\Software\\Vigil"], "registry_depth": 4,
    "windows_files": ["C:\\Windows\\win.ini", "C:\\ProgramData\\App"],
    "windows_include": ["*\\Run*"], "windows_exclude": ["*\\Temp\\*"]}'
expect "a policy with registry keys, depth, files and globs" 200
api PUT "/groups/$GW2/policy" '{"registry": ["HKEY_LOCAL_MACHINE\\SYSTEM\\Setup",
    "HKLM\\SOFTWARE\\Test"], "registry_depth": 9}'
expect "a second policy, deeper" 200

# badpol FIELD WORDS JSON: PUT /groups/$GW2/policy JSON is refused with
# 400 naming FIELD (also in "field") and saying WORDS.
badpol() {
	local field=$1 words=$2
	api PUT "/groups/$GW2/policy" "$3"
	expect_err "policy $3: 400 naming $field" 400 bad_request \
		"$field: " "$words"
	check "... field $field" test "$(jq -r .field "$T/body")" = "$field"
}
badpol "registry[1]" "'hkcu' is not a registry hive" \
	'{"registry": ["HKLM\\SOFTWARE", "HKCU\\Software"]}'
badpol "registry[0]" "empty key name" '{"registry": ["HKLM\\\\SOFTWARE"]}'
badpol "registry" "must be an array of strings" '{"registry": "HKLM\\X"}'
badpol "registry_depth" "from 0 to 64" '{"registry_depth": 65}'
badpol "registry_depth" "from 0 to 64" '{"registry_depth": -1}'
badpol "registry_depth" "from 0 to 64" '{"registry_depth": "8"}'
badpol "windows_files[0]" "not an absolute windows path" \
	'{"windows_files": ["/etc/passwd"]}'
badpol "windows_files[1]" "'..' part" \
	'{"windows_files": ["C:\\Windows", "C:\\Windows\\..\\secret"]}'
badpol "windows_include[0]" "control character" \
	'{"windows_include": ["*\\Run\u0007"]}'
badpol "windows_exclude[0]" "must not be empty" '{"windows_exclude": [""]}'
api GET "/groups/$GW2/policy"
expect "... the policy refused is not stored" 200 '.policy.registry_depth == 9'

api POST /devices "$(body '{name: "win1", type: "windows", host: "192.0.2.30",
    credential_id: $c, proxy_id: $p, groups: [$g, $g2]}' --argjson c "$CIDW" \
	--argjson p "$P4" --argjson g "$GW" --argjson g2 "$GW2")"
expect "a windows device: smb on 445, no profile, no legacy SSH, no host key" \
	201 '.proxied.type == "windows"' '.proxied.protocol == "smb"' \
	'.proxied.port == 445' '.proxied.profile == null' \
	'.proxied.legacy_ssh == false' '.proxied.host_key == null' \
	'.proxied.host_key_state == "unknown"' '.proxied.schedule == 3600' \
	"[.groups[].id] == [$GW, $GW2]"
WIN1=$(jq -r .id "$T/body")

# badwin FIELD JQ: POST /devices of a windows device changed by JQ is
# refused with 400 naming FIELD.
badwin() {
	local field=$1 filter=$2
	api POST /devices "$(body "{name: \"w\", type: \"windows\",
	    host: \"192.0.2.31\", credential_id: $CIDW, proxy_id: $P4} |
	    $filter")"
	expect_err "POST /devices windows $filter: 400 naming $field" 400 \
		bad_request "$field"
}
badwin "protocol: windows devices are collected over smb only" \
	'.protocol = "ssh"'
badwin "protocol: windows devices are collected over smb only" \
	'.protocol = "telnet"'
badwin "protocol: smb is for windows devices only" \
	'.type = "network" | .profile = "ios" | .protocol = "smb"'
badwin "protocol: linux devices are collected over ssh only" \
	'.type = "linux" | .protocol = "smb"'
badwin "legacy_ssh: windows devices are collected over smb" \
	'.legacy_ssh = true'
badwin "credential_id: windows devices log in with a password" \
	".credential_id = $CID2"
badwin "credential_id: no credential 99999" '.credential_id = 99999'
api POST /devices "$(body '{name: "w2", type: "windows", host: "192.0.2.32",
    port: 4445, protocol: "smb", legacy_ssh: false, profile: "ios",
    credential_id: $c, proxy_id: $p}' --argjson c "$CIDW" --argjson p "$P4")"
expect "another port, legacy_ssh false and a profile (ignored) will do" 201 \
	'.proxied.port == 4445' '.proxied.profile == null' \
	'.proxied.legacy_ssh == false'
WIN2=$(jq -r .id "$T/body")

api PATCH "/devices/$WIN1" "{\"credential_id\":$CID2}"
expect_err "PATCH a windows device to a key-only credential: 400" 400 \
	bad_request "credential_id: windows devices log in with a password"
api PATCH "/devices/$WIN1" '{"legacy_ssh":true}'
expect_err "PATCH a windows device to legacy SSH: 400" 400 bad_request \
	"legacy_ssh:"
api PATCH "/devices/$WIN1" '{"protocol":"ssh"}'
expect_err "PATCH a windows device to ssh: 400" 400 bad_request \
	"protocol: windows devices"
api PATCH "/devices/$LX1" '{"type":"windows"}'
expect_err "PATCH a linux device on a key credential to windows: 400" 400 \
	bad_request "credential_id: windows devices log in with a password"
api PATCH "/devices/$WIN2" '{"type":"linux"}'
expect "PATCH windows to linux: ssh, the port kept when not 445" 200 \
	'.proxied.type == "linux"' '.proxied.protocol == "ssh"' \
	'.proxied.port == 4445'
api PATCH "/devices/$WIN2" '{"type":"network","profile":"ios","port":22,
    "legacy_ssh":true}'
expect "then network, legacy SSH" 200 '.proxied.type == "network"' \
	'.proxied.legacy_ssh == true' '.proxied.profile == "ios"'
api PATCH "/devices/$WIN2" '{"type":"windows"}'
expect "back to windows: smb on 445, no profile, legacy SSH dropped" 200 \
	'.proxied.type == "windows"' '.proxied.protocol == "smb"' \
	'.proxied.port == 445' '.proxied.profile == null' \
	'.proxied.legacy_ssh == false'
api POST /credentials "$(body '{name: "winboth", username: "admin",
    password: $p, private_key: $k}' --arg p "$WINPW" --arg k "$PRIVKEY")"
CIDWK=$(jq -r .id "$T/body")
api PATCH "/devices/$WIN2" "{\"credential_id\":$CIDWK}"
expect "a credential with a password and a key will do" 200 \
	".proxied.credential_id == $CIDWK"
api PATCH "/credentials/$CIDWK" '{"password":null}'
expect_err "taking the password away from a windows device's credential: 400" \
	400 bad_request "password: windows devices log in with a password" \
	"device $WIN2"
api PATCH "/credentials/$CIDWK" '{"private_key":null}'
expect "... its key may go" 200
api_as "$C4" POST "/agent/proxied/$WIN2/credential" '{}'
expect "... the password stayed" 200 ".password == \"$WINPW\"" \
	'has("private_key") | not'
api POST "/devices/$WIN1/host-key" '{"action":"forget"}'
expect_err "host-key on a windows device: 400, SMB has none" 400 \
	bad_request "windows device" "no host key"

api_as "$C4" POST /agent/poll '{}'
expect "the proxy's poll: the windows device with its merged policy" 200 \
	"[.proxied[].id] == [$WIN1, $WIN2]" \
	"(.proxied[] | select(.id == $WIN1)) as \$d | \$d.type == \"windows\" and \$d.protocol == \"smb\" and \$d.port == 445 and \$d.profile == null and \$d.legacy_ssh == false and \$d.host_key == null and \$d.collect == true and \$d.credential_id == $CIDW" \
	"(.proxied[] | select(.id == $WIN1)).policy == {groups: [$GW, $GW2], registry: [\"HKEY_LOCAL_MACHINE\\\\SYSTEM\\\\Setup\", \"HKLM\\\\SOFTWARE\\\\Test\", \"HKU\\\\.DEFAULT\\\\Software\\\\Vigil\"], registry_depth: 9, windows_files: [\"C:\\\\ProgramData\\\\App\", \"C:\\\\Windows\\\\win.ini\"], windows_include: [\"*\\\\Run*\"], windows_exclude: [\"*\\\\Temp\\\\*\"]}" \
	"(.proxied[] | select(.id == $WIN1)).policy_version | test(\"$HEX64_RE\")" \
	"(.proxied[] | select(.id == $WIN2)).policy == {}"
WV=$(jq -r .proxied_version "$T/body")
api PUT "/groups/$GW2/policy" '{"registry_depth": 2}'
api_as "$C4" POST /agent/poll "$(body '{proxied_version: $v}' --arg v "$WV")"
expect "a policy change reaches the proxy: depth now the other group's 4" \
	200 ".proxied_version != \"$WV\"" \
	"(.proxied[] | select(.id == $WIN1)).policy.registry_depth == 4" \
	"(.proxied[] | select(.id == $WIN1)).policy.registry == [\"HKLM\\\\SOFTWARE\\\\Test\", \"HKU\\\\.DEFAULT\\\\Software\\\\Vigil\"]"
api_as "$C4" POST "/agent/proxied/$WIN1/credential" '{}'
expect "the proxy fetches the windows device's password" 200 \
	'.username == "CORP\\monitor"' ".password == \"$WINPW\""

result "$WIN1" "$C4" '{status: "ok", host_key: $fp}' --arg fp "$FP1"
expect_err "a windows result with a host key: 400" 400 bad_request \
	"host_key: a windows device has no host key"
result "$WIN1" "$C4" '{status: "hostkey_changed", host_key: $fp}' \
	--arg fp "$FP1"
expect_err "... hostkey_changed: 400" 400 bad_request "host_key:"
result "$WIN1" "$C4" '{status: "ok", time: $t}' --arg t "$NOWT"
expect "a windows device's ok result: no config, no host key" 200 \
	'.version == 0' '.changed == false' '.host_key_state == "unknown"'
api GET "/devices/$WIN1"
expect "the windows device is online, still without a host key" 200 \
	'.online == true' '.proxied.host_key == null' \
	'.proxied.host_key_state == "unknown"' '.proxied.last_error == null'
result "$WIN1" "$C4" '{status: "error", code: "auth",
    message: "192.0.2.30:445: logon failure"}'
expect "an error result" 200
api GET "/devices/$WIN1"
expect "... shown on the device" 200 \
	'(.proxied.last_error | contains("logon failure"))'
api_as "$C4" POST /agent/events "$(mkbatch 1 2 /etc/win1/f "$WIN1")"
expect "its proxy sends the windows device's change events" 200 \
	'.acked == [1, 2]'
api_as "$C1" POST /agent/events "$(mkbatch 3 1 /etc/win1/f "$WIN1")"
expect_err "another proxy may not" 403 forbidden
api GET "/events?device=$WIN1&type=changed"
expect "the events are the windows device's" 200 '(.events | length) == 2'

# --- deletion ---
api DELETE "/devices/$P1"
expect "a proxy with devices assigned cannot be deleted" "400|409" \
	'(.message | contains("3"))'
api DELETE "/devices/$R1"
expect "delete a proxied device" 204
api GET "/devices/$R1/configs"
expect_err "its versions are gone" 404 not_found
api_as "$C1" POST "/agent/proxied/$R1/credential" '{}'
expect_err "its credential is no longer handed out" 404 not_found
api DELETE "/devices/$SW1"
api DELETE "/devices/$R2"
api DELETE "/credentials/$CID"
expect "the credential, no longer used, is deleted" 204
api GET "/credentials/$CID"
expect_err "... and gone" 404 not_found

# --- audit and secrets at rest ---
api GET "/audit?limit=1000"
cp "$T/body" "$T/audit.json"
expect "audit has every kind of change made" 200 \
	'[.entries[].action] as $a | ["credential.create", "credential.update", "credential.delete", "device.create", "device.update", "device.host_key", "device.delete"] | all(. as $x | $a | index($x) != null)' \
	"[.entries[] | select(.action == \"credential.update\" and .target == \"credential $CID\")] | length >= 2"
check "the hub's data folder has its credential key, mode 0600" \
	test "$(stat -c %a "$HUB_DIR/credentials.key" 2>/dev/null)" = 600
sqlite3 "$HUB_DIR/hub.db" 'pragma wal_checkpoint(truncate)' >/dev/null 2>&1
count_leaks "$HUB_DIR"/hub.db* "$HUB_LOG" "$T/audit.json" -- "$PW1" "$PW2" \
	"$ENABLE" "$PASSPHRASE" "$KEYBODY" "$WINPW"
check "no secret in hub.db, its WAL, the hub's log or the audit ($LEAKS found)" \
	test "$LEAKS" -eq 0
check "the database does hold the sealed box (not an empty column)" \
	test "$(sqlite3 "$HUB_DIR/hub.db" "select length(box) > 40 from credential where id = $CID2")" = 1

hub_stop_checked
hub_finish
