#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil-hub end to end over real HTTPS: init and HubDetails.xml, TLS
# versions and keep-alive, agent registration (re-registration, clones),
# polls and policies, event batches (duplicates, gzip), the console API
# (sessions, users, groups, policies, event queries and paging, ack and
# accept, audit), device deletion and offline detection.
export VIGIL=${VIGIL:-unused} # lib.sh wants it; these tests do not run vigil
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"

RFC3339_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$'

# register_with CRED [JQ] HOSTNAME MACHINE_ID [MAC]: registration by an agent
# that gives the credential it holds (CRED, or none when empty), the body
# of reg_body changed by the jq filter JQ when it starts with a dot; DEV
# and CRED as register sets them.
register_with() {
	local cred=$1 filter=.
	shift
	case $1 in .*) filter=$1; shift ;; esac
	api_as "basic:$ENROL_USER:$ENROL_PW" POST /agent/register \
	    "$(reg_body "$@" | jq -c --arg c "$cred" \
	    "if \$c == \"\" then . else .credential = \$c end | $filter")"
	DEV=$(jq -r '.device_id // empty' "$T/body" 2>/dev/null)
	CRED=$(jq -r '.credential // empty' "$T/body" 2>/dev/null)
}

# --- command line refusals ---
run 1 "daemon on a data dir never initialised exits 1" \
	timeout 20 "$VIGIL_HUB" --data-dir "$T/none" --listen 127.0.0.1:1 \
	--foreground
check "it says to run init first" has "$T/err" "run vigil-hub init first"
printf '# a comment\nretention_days = 30\nfoo = 1\n' >"$T/hub.conf"
run 1 "unknown setting in the config file: exit 1" \
	timeout 20 "$VIGIL_HUB" init -c "$T/hub.conf" --data-dir "$T/badconf"
check "the message names file, line and setting" \
	has "$T/err" "hub.conf:3: unknown setting 'foo'"
printf 'offline_grace = soon\n' >"$T/hub.conf"
run 1 "bad value in the config file: exit 1" \
	timeout 20 "$VIGIL_HUB" -c "$T/hub.conf" --data-dir "$T/badconf" \
	--foreground
check "the message names file and line" has "$T/err" "hub.conf:1:"

# --- init ---
hub_init main || hub_abort
ok "init with an admin password file"
check "data dir is private (0700)" test "$(stat -c %a "$HUB_DIR")" = 700
check "HubDetails.xml is readable by its owner only (0600)" \
	test "$(stat -c %a "$HUB_DIR/HubDetails.xml")" = 600
check "the certificate is in the data dir (hub.crt)" test -s "$HUB_CERT"
check "init made the credential key: 32 bytes, owner only (0600)" \
	test "$(stat -c '%a %s' "$HUB_DIR/credentials.key")" = "600 32"
check "HubDetails.xml is XML with a HubDetails root" \
	has "$HUB_DIR/HubDetails.xml" "<HubDetails>"
url=$(xml_field Url)
check "Url is https://HOST:$HUB_PORT/api/ (got $url)" \
	grep -qE "^https://[^/:]+:$HUB_PORT/api/\$" <<<"$url"
check "Username is the default enrolment user 'agent'" \
	test "$ENROL_USER" = agent
check "Password is a random secret of 12+ characters" \
	test "${#ENROL_PW}" -ge 12
thumb=$(xml_field Thumbprint)
check "Thumbprint is 64 hex digits" grep -qE '^[0-9A-Fa-f]{64}$' <<<"$thumb"
check "the certificate file has that SHA-256" test "$(colons_off "$thumb")" = \
	"$(colons_off "$(openssl x509 -in "$HUB_CERT" -noout -fingerprint -sha256 |
	sed 's/.*=//')")"
check "the certificate is valid for 127.0.0.1 (SAN)" \
	sh -c "openssl x509 -in '$HUB_CERT' -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1'"
# Reading of the contract: init tells the operator the fingerprint to pin.
cat "$T/init.out" "$T/init.err" >"$T/init.all"
check "init's output names the fingerprint (colons or plain hex)" \
	sh -c "grep -qiF '$(openssl x509 -in "$HUB_CERT" -noout -fingerprint -sha256 | sed 's/.*=//')' '$T/init.all' || grep -qiF '$thumb' '$T/init.all'"
check "init's output does not print the admin password given in a file" \
	lacks "$T/init.all" "$ADMIN_PW"
run 1 "init on an initialised data dir refuses" "$VIGIL_HUB" init \
	--data-dir "$HUB_DIR" --listen "127.0.0.1:$HUB_PORT"
check "the refusal says why" grep -qiE 'already|exist|initiali' "$T/err"

# --- start, health, certificate ---
hub_start || hub_abort
ok "daemon started (pid $HUB_PID, port $HUB_PORT)"
fp=$(served_fingerprint)
check "served certificate's SHA-256 = Thumbprint of HubDetails.xml" \
	test "$(colons_off "$fp")" = "$(colons_off "$thumb")"
check "the log says where it listens, with the fingerprint" \
	grep -qE "listening on https://127\\.0\\.0\\.1:$HUB_PORT/ .*$fp" "$HUB_LOG"
check "... in the words of the contract" \
	has "$HUB_LOG" "listening on https://127.0.0.1:$HUB_PORT/ (TLS SHA-256 fingerprint $fp)"
api_as - GET /health
expect "health: 200 ok over a verified TLS connection (--cacert)" 200 \
	'.status == "ok"' '(.version | type) == "string" and (.version | length) > 0' \
	"(.time | test(\"$RFC3339_RE\"))"
check "health time is the current time" \
	test $(( $(date -d "$(jq -r .time "$T/body")" +%s) - $(date +%s) )) -le 5 -a \
	$(( $(date +%s) - $(date -d "$(jq -r .time "$T/body")" +%s) )) -le 60
check "health answers Content-Type application/json" \
	grep -qi '^application/json' <<<"$(hdr Content-Type)"

for v in 1.2 1.3; do
	curl -sv --cacert "$HUB_CERT" --tlsv$v --tls-max $v -o "$T/out" \
		"$HUB_URL/api/v1/health" 2>"$T/err"
	check "TLS $v accepted" grep -q "SSL connection using TLSv$v" "$T/err"
done
for v in 1_1 1; do
	echo Q | openssl s_client -connect "127.0.0.1:$HUB_PORT" -tls$v \
		-cipher 'DEFAULT:@SECLEVEL=0' >"$T/out" 2>&1
	check "TLS ${v/_/.} refused" \
		sh -c "! grep -qE 'Cipher is [A-Za-z0-9]' '$T/out'"
done
curl -sv --cacert "$HUB_CERT" "$HUB_URL/api/v1/health" "$HUB_URL/api/v1/health" \
	"$HUB_URL/api/v1/health" -o /dev/null -o /dev/null -o /dev/null 2>"$T/err"
check "keep-alive: three requests on one connection" \
	sh -c "grep -c 'Re-using existing connection' '$T/err' | grep -qx 2 &&
	       test \$(grep -c 'Connected to' '$T/err') -eq 1"

# --- registration ---
register web01 mid-0001 52:54:00:AA:BB:01
expect "register a new machine: 201 with a credential" 201 \
	'.created == true' '(.device_id | type) == "number"' \
	'.agent_id == .device_id' \
	'. as $r | $r.credential | test("^va1\\.\($r.agent_id)\\.[A-Za-z0-9_-]{43}$")' \
	'.poll_period == 300' '.batch_size == 1000' '.clone_of == null' \
	'.next_event_id == 1' "(.server_time | test(\"$RFC3339_RE\"))"
DEV1=$DEV
CRED1=$CRED
admin_session
expect "admin signs in" 200 '.user.name == "admin"' '.user.role == "admin"'
api GET "/devices/$DEV1"
expect "device has what the agent sent, MACs in lower case" 200 \
	".id == $DEV1" '.hostname == "web01"' '.name == "web01"' \
	'.machine_id == "mid-0001"' '.agent_version == "0.2.0"' \
	'.os == "Debian GNU/Linux 12 (bookworm)"' \
	'.macs == ["52:54:00:aa:bb:01"]' '.ips == ["10.0.0.5", "fe80::1"]' \
	'.poll_period == 300' '(.created | type) == "number"' '.clone_of == null' \
	'.peer == "127.0.0.1"'
api GET "/devices"
expect "the device list gives the address it registered from" 200 \
	"[.devices[] | select(.id == $DEV1) | .peer] == [\"127.0.0.1\"]"
api GET "/events?device=$DEV1&type=registered"
expect "a 'registered' event was stored" 200 \
	'[.events[] | select(.type == "registered")] | length == 1' \
	"all(.events[]; .device_id == $DEV1)"

register_with "$CRED1" web01 mid-0001 52:54:00:aa:bb:01
expect "the same machine registers again with its credential: 200, same device" 200 \
	".device_id == $DEV1" '.created == false' '.clone_of == null'
CRED1B=$CRED
api GET "/events?device=$DEV1&type=registered"
expect "... and a 'registered' event says so, with the address" 200 \
	'(.events | length) == 2' \
	'.events[0].message | contains("registered again from 127.0.0.1 with its credential")'
check "a new credential was issued" test -n "$CRED1B" -a "$CRED1B" != "$CRED1"
api_as "$CRED1" POST /agent/poll '{}'
expect_err "the old credential is refused (401)" 401 unauthorized
check "401 carries WWW-Authenticate" test -n "$(hdr WWW-Authenticate)"
api_as "$CRED1B" POST /agent/poll '{}'
expect "the new credential is accepted" 200
register_with "$CRED1B" web01-renamed mid-0001 52:54:00:aa:bb:01
expect "same machine id and MAC, new host name: still the same device" 200 \
	".device_id == $DEV1" '.created == false'
CRED1=$CRED
api GET "/devices/$DEV1"
expect "the device now has the new host name" 200 '.hostname == "web01-renamed"'

register web02 mid-0001 52:54:00:aa:bb:02
expect "a clone (same machine id, other host and MAC): 201, new device" 201 \
	".device_id != $DEV1" '.created == true' ".clone_of == $DEV1" \
	'(.warning | ascii_downcase | contains("clone"))' \
	"(.warning | contains(\"$DEV1\"))"
DEV2=$DEV
CRED2=$CRED
api GET "/events?device=$DEV2&type=clone"
expect "a clone event on the new device" 200 '(.events | length) == 1' \
	'.events[0].type == "clone"'
api GET "/events?device=$DEV1&type=clone"
expect "a clone event on the original device" 200 '(.events | length) == 1'
api GET "/devices/$DEV2"
expect "the clone's device says clone_of" 200 ".clone_of == $DEV1"

# Whoever knows the enrolment password and a device's machine id and host
# name cannot take the device over while it is alive: without its
# credential that is a clone, and the device keeps its credential.
register web01-renamed mid-0001 52:54:00:aa:bb:01
expect "same machine, no credential, device alive: 201, a clone" 201 \
	".device_id != $DEV1" '.created == true' ".clone_of == $DEV1" \
	'(.warning | contains("credential"))'
DEVX1=$DEV
api_as "$CRED1" POST /agent/poll '{}'
expect "... and the device's credential still works" 200
register_with "va1.$DEV1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
	web01-renamed mid-0001 52:54:00:aa:bb:01
expect "a wrong credential is no credential: 201, a clone" 201 \
	".clone_of == $DEV1"
DEVX2=$DEV
api_as "$CRED1" POST /agent/poll '{}'
expect "... and the device's credential still works" 200
api GET "/events?device=$DEV1&type=clone"
expect "clone events on the device name the attempts" 200 '(.events | length) == 3' \
	'.events[0].message | contains("without its credential")'
api GET "/events?device=$DEV1&type=registered"
expect "no 'registered' event on the device for them" 200 '(.events | length) == 3'
register_with "not a credential" web01-renamed mid-0001 52:54:00:aa:bb:01
expect_err "a malformed credential: 400 naming it" 400 bad_request credential
for d in "$DEVX1" "$DEVX2"; do
	api DELETE "/devices/$d"
	expect "the takeover clones are deleted" 204
done

# --- polls ---
api_as "$CRED1" POST /agent/poll '{"policy_version":"","queue":0,"status":"ok"}'
expect "poll: settings, server time, version, empty policy, no backoff" 200 \
	"(.server_time | test(\"$RFC3339_RE\"))" \
	'.policy_version | test("^[0-9a-f]{64}$")' \
	'(.policy | type) == "object"' '(.policy.paths // []) == []' \
	'.tasks == []' '.settings.poll_period == 300' \
	'.settings.batch_size == 1000' '.backoff == 0'
pv0=$(jq -r .policy_version "$T/body")
check "policy_version = SHA-256 of the policy's canonical JSON" \
	test "$pv0" = "$(jq -cSj .policy "$T/body" | sha256sum | cut -d' ' -f1)"
api_as "$CRED1" POST /agent/poll "{\"device_id\":$DEV1,\"policy_version\":\"$pv0\"}"
expect "poll with the current version: no policy sent" 200 \
	'has("policy") | not' ".policy_version == \"$pv0\""

# --- events from agents ---
mkbatch 1 5 /etc/app/f >"$T/b1.json"
api_as "$CRED1" POST /agent/events "@$T/b1.json"
expect "a batch of 5 is stored and acked" 200 '.acked == [1,2,3,4,5]' \
	'.stored == 5' '.duplicates == 0'
api_as "$CRED1" POST /agent/events "@$T/b1.json"
expect "the same batch again: all acked, counted as duplicates" 200 \
	'.acked == [1,2,3,4,5]' '.stored == 0' '.duplicates == 5'
mkbatch 4 5 /etc/app/f "$DEV1" >"$T/b2.json"
api_as "$CRED1" POST /agent/events "@$T/b2.json"
expect "an overlapping batch: 3 new, 2 duplicates, all acked" 200 \
	'.acked == [4,5,6,7,8]' '.stored == 3' '.duplicates == 2'
mkbatch 9 3 /etc/app/f | gzip -c >"$T/b3.json.gz"
api_as "$CRED1" POST /agent/events "@$T/b3.json.gz" "" -H 'Content-Encoding: gzip'
expect "a gzip-compressed batch is accepted" 200 '.acked == [9,10,11]' \
	'.stored == 3'
api_as "$CRED1" POST /agent/events "{\"events\":[{\"id\":20,\"time\":\"$NOW_RFC\",\"origin\":\"realtime\",\"agent\":{\"code\":\"watch-limit\",\"message\":\"inotify watch limit reached\",\"path\":\"/srv\"}}]}"
expect "an agent health event is stored" 200 '.acked == [20]' '.stored == 1'
# What the store cannot keep is refused, naming the field (it was a 500,
# and the agent's batch stuck behind it).
long=$(head -c 32769 /dev/zero | tr '\0' u)
jq -nc --arg t "$NOW_RFC" --arg u "$long" '{events: [{id: 30, time: $t,
	origin: "scan", change: {change: "added", kind: "file", path: "/x",
	new: {type: "file", user: $u}}}]}' >"$T/b.json"
api_as "$CRED1" POST /agent/events "@$T/b.json"
expect_err "an attribute of 32769 bytes: 400 naming it" 400 bad_request \
	"events[0].change.new.user"
jq -nc --arg t "$NOW_RFC" '{events: [{id: 30, time: $t, origin: "scan",
	change: {change: "added", kind: "package", path: "pkg",
	new: {props: ([range(4097) | {key: "p\(.)", value: "v"}] |
	from_entries)}}}]}' >"$T/b.json"
api_as "$CRED1" POST /agent/events "@$T/b.json"
expect_err "4097 properties: 400 naming props" 400 bad_request \
	"events[0].change.new.props"
jq -nc --arg t "$NOW_RFC" '{events: [{id: 30, time: $t, origin: "scan",
	change: {change: "added", kind: "file", path: "/x",
	old: {size: 1}, new: {size: 2}}}]}' >"$T/b.json"
api_as "$CRED1" POST /agent/events "@$T/b.json"
expect_err "an 'added' change with an old side: 400 naming it" 400 \
	bad_request "events[0].change.old"
jq -nc --arg t "$NOW_RFC" '{events: [{id: 30, time: $t, origin: "scan",
	change: {change: "removed", kind: "file", path: "/x",
	old: {size: 1}, new: {size: 2}}}]}' >"$T/b.json"
api_as "$CRED1" POST /agent/events "@$T/b.json"
expect_err "a 'removed' change with a new side: 400 naming it" 400 \
	bad_request "events[0].change.new"
all_events "device=$DEV1&type=changed"
check "GET /events has the 11 change events once each (no duplicates)" \
	test "$(jq -s '[.[].seq] | sort == [range(1;12)]' "$T/all.json")" = true
check "event summaries carry device, path, origin, type, state, times" \
	test "$(jq -s "all(.[]; .device_id == $DEV1 and .kind == \"file\" and
	  (.path | startswith(\"/etc/app/f\")) and .origin == \"scan\" and
	  .state == \"new\" and (.received | type) == \"number\" and
	  (.time | test(\"$RFC3339_RE\")) and .changed == [\"size\",\"mtime\",\"hash\"])" \
	  "$T/all.json")" = true
api GET "/events?device=$DEV1&type=agent"
expect "the agent event is listed with its message and path" 200 \
	'(.events | length) == 1' '.events[0].type == "agent"' \
	'.events[0].seq == 20' '.events[0].origin == "realtime"' \
	'(.events[0].message | contains("inotify watch limit"))' \
	'.events[0].path == "/srv"'
AGENT_EV=$(jq -r '.events[0].id' "$T/body")
# An agent that lost its queue registers again: it must not reuse ids
# the hub already holds, or its new events would be taken for re-sent ones.
register_with "$CRED1" web01 mid-0001 52:54:00:aa:bb:01
expect "registering again says where the agent's event ids continue" 200 \
	".device_id == $DEV1" '.next_event_id == 21'
CRED1=$CRED

# --- console sessions ---
check "sign-in token has the vs1 format" \
	grep -qE '^vs1\.[A-Za-z0-9_-]{43}$' <<<"$ADMIN_TOKEN"
api_as - POST /session "{\"username\":\"admin\",\"password\":\"$ADMIN_PW\"}"
expect "sign-in answer: token, csrf, expiry, user" 200 \
	'(.csrf | type) == "string" and (.csrf | length) >= 16' \
	"(.expires | type) == \"number\" and .expires > $(date +%s)" \
	'(.user.id | type) == "number"'
check "sign-in sets the session cookie" \
	grep -q "^vigil_session=$(jq -r .token "$T/body");" <<<"$(hdr Set-Cookie)"
SRC_ADDR=127.0.0.5
api_as - POST /session '{"username":"admin","password":"wrong password 1"}'
expect_err "wrong password: 401" 401 unauthorized "wrong user name or password"
msg1=$(jq -r .message "$T/body")
api_as - POST /session '{"username":"nobody-here","password":"wrong password 1"}'
expect_err "unknown user: 401" 401 unauthorized
check "same message for unknown user and wrong password" \
	test "$(jq -r .message "$T/body")" = "$msg1"
# The enrolment account (its name is public) is refused before its
# password is even checked: no Argon2id work, no lockout counted.
SRC_ADDR=127.0.0.10
for i in 1 2 3 4 5 6; do
	api_as - POST /session "{\"username\":\"$ENROL_USER\",\"password\":\"wrong password $i\"}"
	expect_err "the enrolment account signs in, wrong password $i: 403" \
		403 forbidden enrolment
done
api_as - POST /session "{\"username\":\"$ENROL_USER\",\"password\":\"$ENROL_PW\"}"
expect_err "... and with its password: 403, not locked out" 403 forbidden enrolment
SRC_ADDR=
api GET /session
expect "GET /session by bearer token: who am I" 200 '.user.name == "admin"' \
	'.user.role == "admin"' "(.csrf == \"$CSRF\")" '(.expires | type) == "number"'
JAR=$T/cookies
api_as "cookie:$JAR" POST /session "{\"username\":\"admin\",\"password\":\"$ADMIN_PW\"}"
expect "sign-in for a browser" 200
CCSRF=$(jq -r .csrf "$T/body")
check "the cookie jar holds vigil_session" grep -q vigil_session "$JAR"
api_as "cookie:$JAR" GET /session
expect "GET /session by cookie" 200 '.user.name == "admin"' \
	"(.csrf == \"$CCSRF\")"
api_as "cookie:$JAR:$CCSRF" DELETE /session
expect "sign-out by cookie: 204" 204
check "sign-out clears the cookie (Max-Age=0)" \
	grep -qi 'vigil_session=.*max-age=0' <<<"$(hdr Set-Cookie)"
sign_in admin "$ADMIN_PW"
T2=$TOKEN
api_as "$T2" DELETE /session
expect "sign-out by bearer: 204" 204
api_as "$T2" GET /session
expect_err "the signed-out token is refused" 401 unauthorized

# --- users ---
api POST /users '{"name":"carol","password":"short","role":"readonly"}'
expect_err "user with a short password: 400 naming it" 400 bad_request password
api POST /users '{"name":"bad name!","password":"long enough password","role":"readonly"}'
expect_err "user with a bad name: 400 naming it" 400 bad_request name
api POST /users '{"name":"carol","password":"long enough password","role":"root"}'
expect_err "user with an unknown role: 400 naming it" 400 bad_request role
api POST /users '{"name":"carol","password":"long enough password","role":"readonly","x":1}'
expect_err "user with an unknown field: 400 naming it" 400 bad_request '"x"'
CAROL_PW="carol password one"
api POST /users "{\"name\":\"carol\",\"password\":\"$CAROL_PW\",\"role\":\"readonly\"}"
expect "create user carol: 201" 201 '.name == "carol"' '.role == "readonly"' \
	'(.id | type) == "number"' '(.created | type) == "number"' \
	'.disabled == false' 'has("pwhash") | not' 'has("password") | not'
CAROL=$(jq -r .id "$T/body")
api POST /users '{"name":"carol","password":"another password","role":"admin"}'
expect_err "a second carol: 409" 409 conflict
api GET /users
expect "GET /users lists admin and carol, no hashes" 200 \
	'[.users[].name] | index("admin") != null and index("carol") != null' \
	'[.. | objects | has("pwhash")] | any | not' \
	'all(.users[]; has("id") and has("name") and has("role") and has("created") and has("disabled"))'
sign_in carol "$CAROL_PW"
expect "carol signs in as readonly" 200 '.user.role == "readonly"'
CAROL_TOKEN=$TOKEN
api PATCH "/users/$CAROL" '{"role":"admin"}'
expect "PATCH role: 200" 200 '.role == "admin"' '.name == "carol"'
api_as "$CAROL_TOKEN" GET /session
expect_err "a role change ends the user's sessions" 401 unauthorized
sign_in carol "$CAROL_PW"
CAROL_TOKEN=$TOKEN
api PATCH "/users/$CAROL" '{"role":"admin"}'
api_as "$CAROL_TOKEN" GET /session
expect "the same role again does not" 200 '.user.role == "admin"'
api PATCH "/users/$CAROL" '{"password":"carol password two"}'
expect "PATCH password: 200" 200 'has("pwhash") | not'
api_as "$CAROL_TOKEN" GET /session
expect_err "a password reset ends the user's sessions" 401 unauthorized
SRC_ADDR=127.0.0.6
sign_in carol "$CAROL_PW"
expect "the old password is refused" 401
SRC_ADDR=
sign_in carol "carol password two"
expect "the new password signs in" 200 '.user.role == "admin"'
CAROL_TOKEN=$TOKEN
api PATCH "/users/$CAROL" '{"disabled":true}'
expect "PATCH disabled: 200" 200 '.disabled == true'
api_as "$CAROL_TOKEN" GET /session
expect_err "disabling ends the user's sessions" 401 unauthorized
SRC_ADDR=127.0.0.7
sign_in carol "carol password two"
expect "a disabled user cannot sign in" "401|403"
SRC_ADDR=
api PATCH "/users/$CAROL" '{"disabled":false,"role":"readonly"}'
expect "PATCH enable again: 200" 200 '.disabled == false' '.role == "readonly"'
api PATCH "/users/$CAROL" '{"colour":"blue"}'
expect_err "PATCH with an unknown field: 400" 400 bad_request colour
sign_in carol "carol password two"
CAROL_OTHER=$TOKEN
sign_in carol "carol password two"
CAROL_TOKEN=$TOKEN
SRC_ADDR=127.0.0.8
api_as "$CAROL_TOKEN" PUT /users/me/password '{"old_password":"not it at all","new_password":"carol password three"}'
expect_err "own password change with a wrong old password: 403" 403 forbidden
SRC_ADDR=
api_as "$CAROL_TOKEN" PUT /users/me/password '{"old_password":"carol password two","new_password":"carol password three"}'
expect "own password change: 200 with a new session" 200 \
	'.token | test("^vs1\\.[A-Za-z0-9_-]{43}$")' \
	'(.csrf | type) == "string" and (.csrf | length) >= 16' \
	"(.expires | type) == \"number\" and .expires > $(date +%s)" \
	'.user.name == "carol"' '.user.role == "readonly"'
NEW_TOKEN=$(jq -r .token "$T/body")
check "... and its cookie" \
	grep -q "^vigil_session=$NEW_TOKEN;" <<<"$(hdr Set-Cookie)"
api_as "$CAROL_TOKEN" GET /session
expect_err "the session that changed the password has ended" 401 unauthorized
api_as "$CAROL_OTHER" GET /session
expect_err "so has every other session of the user" 401 unauthorized
api_as "$NEW_TOKEN" GET /session
expect "the new session works" 200 '.user.name == "carol"'
sign_in carol "carol password three"
expect "the changed password signs in" 200
CAROL_TOKEN=$TOKEN
api GET /users
ADMIN_ID=$(jq -r '.users[] | select(.name == "admin") | .id' "$T/body")
api DELETE "/users/$ADMIN_ID"
expect_err "an admin cannot delete themself: 409" 409 conflict
api DELETE "/users/$CAROL"
expect "DELETE carol: 204" 204
api GET /users
expect "carol is gone" 200 '[.users[].name] | index("carol") == null'
api_as "$CAROL_TOKEN" GET /session
expect_err "the deleted user's session is refused" 401 unauthorized
api DELETE /users/987654
expect_err "DELETE an unknown user: 404" 404 not_found

# --- groups, membership, policies ---
api POST /groups '{"name":"web"}'
expect "create group web: 201" 201 '.name == "web"' '(.id | type) == "number"'
G1=$(jq -r .id "$T/body")
api POST /groups '{"name":"db-servers"}'
expect "create group db-servers: 201" 201
G2=$(jq -r .id "$T/body")
api POST /groups '{"name":"web"}'
expect_err "a second group web: 409" 409 conflict
api PATCH "/groups/$G2" '{"name":"databases"}'
expect "rename a group: 200" 200 '.name == "databases"'
api GET "/groups/$G2"
expect "GET the group" 200 ".id == $G2" '.name == "databases"'
api GET /groups
expect "GET /groups lists both" 200 \
	"[.groups[].id] | index($G1) != null and index($G2) != null"
api POST /groups '{"name":"temp"}'
G3=$(jq -r .id "$T/body")
api DELETE "/groups/$G3"
expect "DELETE a group: 204" 204
api GET "/groups/$G3"
expect_err "the deleted group is gone: 404" 404 not_found
api PUT "/groups/$G1/devices/$DEV1"
expect "add the device to web: 204" 204
api PUT "/groups/$G2/devices/$DEV1"
expect "add the device to databases: 204" 204
api GET "/devices/$DEV1"
expect "the device lists both groups" 200 \
	"[.groups[].id] | sort == ([$G1, $G2] | sort)"
api GET "/devices?group=$G1"
expect "GET /devices?group= lists only members" 200 \
	"[.devices[].id] == [$DEV1]"

bad_policy() {
	api PUT "/groups/$G1/policy" "$1"
	shift
	expect_err "policy $*" 400 bad_request "$@"
}
bad_policy '{"hash":"md5"}' hash weak
bad_policy '{"hash":"sha1"}' hash weak
bad_policy '{"hash":"crc32"}' hash
bad_policy '{"schedule":10}' schedule
bad_policy '{"schedule":"hourly"}' schedule
bad_policy '{"paths":["etc"]}' paths
bad_policy '{"paths":"/etc"}' paths
bad_policy '{"content":["relative/file"]}' content
bad_policy '{"realtime":"yes"}' realtime
bad_policy '{"max_hash_size":"lots"}' max_hash_size
bad_policy '{"pathz":["/etc"]}' pathz
api GET "/groups/$G1/policy"
expect "no policy yet: version 0" 200 '.version == 0'
P1='{"paths":["/usr/bin","/etc"],"include":["*.conf"],"exclude":["/etc/mtab","*.swp"],"hash":"sha256","realtime":false,"schedule":3600,"max_hash_size":"1G"}'
P2='{"paths":["/etc","/srv"],"exclude":["*.swp","*.tmp"],"hash":"sha512","realtime":true,"content":["/etc/ssh/sshd_config"],"schedule":600,"max_hash_size":"512M"}'
api PUT "/groups/$G1/policy" "$P1"
expect "set web's policy: version 1" 200 '.version == 1' \
	'.policy.paths == ["/usr/bin","/etc"] or .policy.paths == ["/etc","/usr/bin"]' \
	'.policy.hash == "sha256"'
api PUT "/groups/$G2/policy" "$P2"
expect "set databases' policy: version 1" 200 '.version == 1'
api GET "/groups/$G1/policy"
expect "GET the policy back" 200 '.version == 1' '.policy.schedule == 3600' \
	'.policy.include == ["*.conf"]'
api_as "$CRED1" POST /agent/poll "{\"policy_version\":\"$pv0\"}"
expect "the agent's poll gets the merged policy of both groups" 200 \
	".policy_version != \"$pv0\"" \
	'.policy.paths == ["/etc","/srv","/usr/bin"]' \
	'.policy.include == ["*.conf"]' \
	'.policy.exclude == ["*.swp","*.tmp","/etc/mtab"]' \
	'.policy.content == ["/etc/ssh/sshd_config"]' \
	'.policy.hash == "sha512"' '.policy.realtime == true' \
	'.policy.schedule == 600' \
	'.policy.max_hash_size == "1G" or .policy.max_hash_size == 1073741824' \
	"(.policy.groups | sort) == ([$G1, $G2] | sort)"
pv1=$(jq -r .policy_version "$T/body")
check "the new version is the SHA-256 of the merged policy" \
	test "$pv1" = "$(jq -cSj .policy "$T/body" | sha256sum | cut -d' ' -f1)"
api GET "/devices/$DEV1"
expect "the device object has the same merged policy and version" 200 \
	".policy_version == \"$pv1\"" '.policy.schedule == 600' \
	'.policy.hash == "sha512"'
api_as "$CRED1" POST /agent/poll "{\"policy_version\":\"$pv1\"}"
expect "polled again with it: no policy" 200 'has("policy") | not'
api PUT "/groups/$G1/policy" '{"paths":["/opt"],"schedule":120}'
expect "change web's policy: version 2" 200 '.version == 2'
api DELETE "/groups/$G2/devices/$DEV1"
expect "remove the device from databases: 204" 204
api_as "$CRED1" POST /agent/poll "{\"policy_version\":\"$pv1\"}"
expect "the poll follows both changes" 200 ".policy_version != \"$pv1\"" \
	'.policy.paths == ["/opt"]' '.policy.schedule == 120' \
	"(.policy.groups == [$G1])" '(.policy.hash // "sha256") == "sha256"'

# --- event queries ---
mkbatch 1 4 /srv/www/page "$DEV2" >"$T/b.json"
api_as "$CRED2" POST /agent/events "@$T/b.json"
expect "clone's own batch stored" 200 '.stored == 4'
api GET "/events?device=$DEV2"
expect "filter device=: only that device's events" 200 \
	"all(.events[]; .device_id == $DEV2)" \
	'[.events[] | select(.type == "changed")] | length == 4'
api GET "/events?group=$G1&limit=1000"
expect "filter group=: only events of the group's devices" 200 \
	"all(.events[]; .device_id == $DEV1)" \
	'[.events[] | select(.type == "changed")] | length == 11'
api GET "/events?type=changed&limit=1000"
expect "filter type=changed" 200 'all(.events[]; .type == "changed")' \
	'(.events | length) == 15'
api GET "/events?q=/srv/www"
expect "filter q= (text in path)" 200 '(.events | length) == 4' \
	'all(.events[]; .path | contains("/srv/www"))'
api GET "/events?q=/srv/www&device=$DEV1"
expect "filters combine" 200 '.events == []'

register web03 mid-0003 52:54:00:aa:bb:03
DEV3=$DEV
CRED3=$CRED
mkbatch 1 3 /var/early/f >"$T/b.json"
api_as "$CRED3" POST /agent/events "@$T/b.json"
expect "early batch stored" 200 '.stored == 3'
sleep 1.1
mkbatch 4 3 /var/late/f >"$T/b.json"
api_as "$CRED3" POST /agent/events "@$T/b.json"
expect "late batch stored" 200 '.stored == 3'
api GET "/events?device=$DEV3&type=changed"
t_early=$(jq '[.events[] | select(.seq <= 3) | .received] | max' "$T/body")
t_late=$(jq '[.events[] | select(.seq >= 4) | .received] | min' "$T/body")
check "the late batch was received after the early one" test "$t_late" -gt "$t_early"
api GET "/events?device=$DEV3&type=changed&since=$t_late"
expect "since= (seconds): only the late batch" 200 '[.events[].seq] | sort == [4,5,6]'
api GET "/events?device=$DEV3&type=changed&until=$t_late"
expect "until= (seconds): only the early batch" 200 '[.events[].seq] | sort == [1,2,3]'
api GET "/events?device=$DEV3&type=changed&since=$(date -u -d "@$t_late" +%Y-%m-%dT%H:%M:%SZ)"
expect "since= (RFC 3339): only the late batch" 200 '[.events[].seq] | sort == [4,5,6]'
api GET "/events?device=$DEV3&type=changed&until=$(date -u -d "@$t_late" +%Y-%m-%dT%H:%M:%SZ)"
expect "until= (RFC 3339): only the early batch" 200 '[.events[].seq] | sort == [1,2,3]'

register web04 mid-0004 52:54:00:aa:bb:04
DEV4=$DEV
mkbatch 1 250 /data/many/f >"$T/b.json"
api_as "$CRED" POST /agent/events "@$T/b.json"
expect "250 events in one batch" 200 '.stored == 250' '(.acked | length) == 250'
api GET "/events?device=$DEV4&type=changed&limit=100"
expect "first page: 100 events and a cursor" 200 '(.events | length) == 100' \
	'.next != null'
pages=0
next=
: >"$T/paged.json"
while :; do
	api GET "/events?device=$DEV4&type=changed&limit=100${next:+&before=$next}"
	[ "$CODE" = 200 ] || break
	jq -c '.events[]' "$T/body" >>"$T/paged.json"
	pages=$((pages + 1))
	next=$(jq -r '.next // empty' "$T/body")
	[ -n "$next" ] && [ "$pages" -lt 10 ] || break
done
check "paging: 3 pages" test "$pages" -eq 3
check "paging: 250 events, each once, newest first, no gaps" \
	test "$(jq -s '([.[].seq] | sort == [range(1;251)]) and
	  ([.[].id] | . == (sort | reverse)) and ([.[].id] | unique | length == 250)' \
	  "$T/paged.json")" = true

# --- event detail, ack, accept ---
api GET "/events?device=$DEV1&type=changed&q=/etc/app/f1&limit=1000"
EV=$(jq -r '[.events[] | select(.path == "/etc/app/f1")][0].id' "$T/body")
api GET "/events/$EV"
expect "event detail: old and new attributes, diff" 200 ".id == $EV" \
	'.path == "/etc/app/f1"' '.type == "changed"' '.old.size == 10' \
	'.new.size == 12' '.old.hash == "sha256:" + ("a" * 64)' \
	'.new.mtime == "2026-01-02T00:00:00.5Z" or (.new.mtime | startswith("2026-01-02T00:00:00.5"))' \
	'.changed == ["size","mtime","hash"]' '(.diff | contains("+new"))' \
	'.diff_truncated == false' '.state == "new"'
long=$(head -c 5000 /dev/zero | tr '\0' x)
api POST "/events/$EV/ack" "{\"comment\":\"$long\"}"
expect_err "ack with a comment over 4096 bytes: 400" 400 bad_request comment
api POST "/events/$EV/ack" '{"comment":"planned change, ticket 42"}'
expect "ack with a comment: 200 detail" 200 ".id == $EV" \
	'.state == "acknowledged"' '.comment == "planned change, ticket 42"' \
	'.ack_by == "admin"' '(.ack_at | type) == "number"'
api POST "/events/$EV/accept" '{}'
expect "accept: 200 detail" 200 '.state == "accepted"' \
	'.accepted_by == "admin"' '(.accepted_at | type) == "number"'
api GET "/events/$EV"
expect "the detail keeps both" 200 '.state == "accepted"' \
	'.comment == "planned change, ticket 42"'
api POST "/events/$AGENT_EV/accept" '{}'
expect_err "accept an agent event: 409" 409 conflict
api GET /events/987654321
expect_err "an unknown event: 404" 404 not_found

# --- devices list ---
api GET "/devices?limit=2"
expect "devices paging: 2 and a cursor" 200 '(.devices | length) == 2' \
	'.next != null'
api GET "/devices?limit=2&after=$(jq -r .next "$T/body")"
expect "devices next page" 200 '(.devices | length) == 2'
api GET "/devices?q=web02"
expect "devices q=" 200 "[.devices[].id] == [$DEV2]"
api GET "/devices?os=bookworm"
expect "devices os=" 200 '(.devices | length) == 4'
api GET "/devices?status=online"
expect "devices status=online has the polled device" 200 \
	"[.devices[].id] | index($DEV1) != null" 'all(.devices[]; .online == true)'

# --- hub information, enrolment rotation ---
api GET /hub
expect "GET /hub" 200 "(.fingerprint | ascii_upcase | gsub(\":\";\"\")) == \"$(colons_off "$fp")\"" \
	"(.thumbprint | ascii_upcase) == \"$(colons_off "$fp")\"" \
	"(.url == \"$url\")" '.retention_days == 120' '.offline_grace == 300' \
	'.devices == 4' '(.events | type) == "number"' \
	'(.version | type) == "string"'
api GET /hub/hubdetails.xml
check "GET /hub/hubdetails.xml is the file as is" cmp -s "$T/body" "$HUB_DIR/HubDetails.xml"
check "... served as application/xml" grep -qi 'application/xml' <<<"$(hdr Content-Type)"
old_enrol=$ENROL_PW
api POST /hub/enrolment '{}'
expect "rotate the enrolment password" 200 '.username == "agent"' \
	"(.password | length) >= 12 and .password != \"$old_enrol\""
ENROL_PW=$(jq -r .password "$T/body")
check "HubDetails.xml has the new password" test "$(xml_field Password)" = "$ENROL_PW"
SRC_ADDR=127.0.0.9
api_as "basic:agent:$old_enrol" POST /agent/register "$(reg_body web09 mid-0009)"
expect_err "the old enrolment password no longer registers" 401 unauthorized
SRC_ADDR=
register web09 mid-0009
expect "the new one does" 201

# --- device deletion ---
api DELETE "/devices/$DEV3"
expect "DELETE a device: 204" 204
api GET "/devices/$DEV3"
expect_err "it is gone" 404 not_found
api_as "$CRED3" POST /agent/poll '{}'
expect "its credential is refused" "401|403"
api GET "/events?device=$DEV3"
expect "its events are gone" "200|404" 'if .events then .events == [] else true end'

# --- audit ---
api GET "/audit?limit=1000"
expect "audit has an entry for each kind of change made" 200 \
	'[.entries[].action] as $a | ["session.create","session.fail","session.delete","user.create","user.update","user.delete","user.password","group.create","group.update","group.delete","group.member.add","group.member.remove","policy.set","event.ack","event.accept","enrolment.rotate","device.delete"] | all(. as $x | $a | index($x) != null)' \
	'all(.entries[]; (.id | type) == "number" and (.time | type) == "number" and has("user") and has("peer") and has("target"))'
check "audit: failed sign-in recorded with its source address" \
	test "$(jq '[.entries[] | select(.action == "session.fail" and .peer == "127.0.0.5")] | length >= 2' "$T/body")" = true
check "audit: acknowledgement names user and event" \
	test "$(jq "[.entries[] | select(.action == \"event.ack\" and .user == \"admin\" and (.target | tostring | contains(\"$EV\")))] | length == 1" "$T/body")" = true
check "audit holds no password" \
	sh -c "! grep -qF -e '$ADMIN_PW' -e 'carol password' -e '$ENROL_PW' -e '$old_enrol' -e 'wrong password 1' '$T/body'"
api GET "/audit?limit=2"
expect "audit paging" 200 '(.entries | length) == 2' '.next != null' \
	'.entries[0].id > .entries[1].id'
api GET "/audit?limit=2&before=$(jq -r .next "$T/body")"
expect "audit next page, older entries" 200 '(.entries | length) == 2'

count_leaks "$HUB_LOG" -- "$ADMIN_PW" "$ENROL_PW" "$old_enrol" \
	"carol password" "${CRED1##*.}" "${CRED2##*.}" "${ADMIN_TOKEN#vs1.}" \
	"${T2#vs1.}"
check "no password, credential or token in the debug log ($LEAKS found)" \
	test "$LEAKS" -eq 0
hub_stop_checked "SIGTERM stops the hub cleanly"

# --- offline detection: a second hub with a short grace, made by an init
# that prints a random admin password and takes the public URL given ---
# A device is offline once its own poll_period + offline_grace pass without
# a poll.
grace=3
printf 'offline_grace = %s\npoll_period = 10\n' "$grace" >"$T/off.conf"
if ! "$VIGIL_HUB" init -c "$T/off.conf" --data-dir "$T/probe" \
	--listen 127.0.0.1:1 --admin-password-file "$T/adminpw.main" \
	>"$T/out" 2>"$T/err"; then
	# The contract allows the file to refuse it: use its minimum.
	grace=$(grep -oE 'offline_grace.*' "$T/err" | grep -oE '[0-9]+' |
		awk '$1 > 3' | sort -n | head -1)
	grace=${grace:-10}
	echo "# offline_grace = 3 refused ($(head -1 "$T/err")); using $grace"
	printf 'offline_grace = %s\npoll_period = 10\n' "$grace" >"$T/off.conf"
fi
RANDOM_ADMIN=1 hub_init offline -c "$T/off.conf" \
	--url https://hub.example:8443/api/ || hub_abort
check "init printed a random admin password of 20 characters" \
	test "${#ADMIN_PW}" -eq 20
check "HubDetails.xml has the --url given" \
	test "$(xml_field Url)" = https://hub.example:8443/api/
hub_start -c "$T/off.conf" || hub_abort
register_with "" '.poll_period = 10' off01 mid-off-1 52:54:00:00:00:01
OFFDEV=$DEV
OFFCRED=$CRED
register off02 mid-off-2 52:54:00:00:00:02
SLOWDEV=$DEV
SLOWCRED=$CRED
admin_session
expect "the printed admin password signs in" 200
api GET /hub
expect "the config file's offline_grace is used" 200 ".offline_grace == $grace"
api_as "$OFFCRED" POST /agent/poll '{}'
expect "the device polls" 200 '.settings.poll_period == 10'
api_as "$SLOWCRED" POST /agent/poll '{}'
expect "a device that polls every 300 s polls" 200 '.settings.poll_period == 300'
api GET "/devices/$OFFDEV"
expect "it is online" 200 '.online == true' '(.last_seen | type) == "number"'
seen=
for i in $(seq 1 $(( (10 + grace + 12) * 2 ))); do
	api GET "/events?device=$OFFDEV&type=offline"
	if [ "$(jq '.events | length' "$T/body" 2>/dev/null)" = 1 ]; then
		seen=$i
		break
	fi
	sleep 0.5
done
check "an offline event appears after the poll period and the grace (seen after ${seen:-never} x 0.5 s)" \
	test -n "$seen"
api GET "/devices/$OFFDEV"
expect "the device is offline" 200 '.online == false'
api GET "/devices/$SLOWDEV"
expect "the one with a poll period of 300 s is not (its own period counts)" \
	200 '.online == true'
api GET "/events?device=$SLOWDEV&type=offline"
expect "... and has no offline event" 200 '.events == []'
# Its agent is gone (reinstalled, say) and has lost its credential: the
# machine gets its device back without it.
register_with "" '.poll_period = 10' off01 mid-off-1 52:54:00:00:00:01
expect "the same machine without its credential, device offline: 200, same device" \
	200 ".device_id == $OFFDEV" '.created == false' '.clone_of == null'
api_as "$OFFCRED" POST /agent/poll '{}'
expect_err "the old credential no longer works" 401 unauthorized
OFFCRED=$CRED
api GET "/events?device=$OFFDEV&type=registered"
expect "a 'registered' event says it came back without its credential" 200 \
	'.events[0].message | contains("registered again from 127.0.0.1 without its credential")'
api_as "$OFFCRED" POST /agent/poll '{}'
expect "the device polls again" 200
api GET "/events?device=$OFFDEV&type=online"
expect "an online event is stored by that poll" 200 '(.events | length) == 1' \
	'.events[0].type == "online"'
api GET "/devices/$OFFDEV"
expect "the device is online again" 200 '.online == true'

hub_stop_checked "second hub stops cleanly"
hub_finish
