#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil-hub's access rules against a real daemon: agents confined to their
# own device, roles (readonly, enrol), CSRF on cookie sessions, cookie
# flags, lockout by account and by source address (sign-in and the
# enrolment account; a right password does not reset an address; attempts
# made at once; IPv6 by /64), the cap on connections per address, floods
# of password checks, the enrolment password rotated during a check, no
# secrets in the log, Argon2id hashes at rest.
# Other source addresses (127.0.0.N via curl --interface) stand for other
# clients.
export VIGIL=${VIGIL:-unused} # lib.sh wants it; these tests do not run vigil
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"

# Run again by in_netns (at the end) in a network namespace of its own:
# IPv6 addresses of one /64 and of another, a hub with one worker thread.
if [ "${1:-}" = --netns ]; then
	for a in 1::1 1::2 1::3 1::4 1::5 1::6 1::7 2::1; do
		ip -6 addr add "fd00:5ec:0:$a/64" dev lo nodad ||
			{ not_ok "cannot add fd00:5ec:0:$a"; hub_abort; }
	done
	printf 'threads = 1\n' >"$T/ns.conf"
	hub_init ns -c "$T/ns.conf" || hub_abort
	hub_start -c "$T/ns.conf" --listen "[::]:$HUB_PORT" || hub_abort
	HUB_URL="https://[::1]:$HUB_PORT"
	# --- IPv6 addresses are locked out by their /64 ---
	for i in 1 2 3 4 5; do
		SRC_ADDR=fd00:5ec:0:1::$((i + 1))
		sign_in "v6-$i" "wrong $i"
		expect_err "wrong sign-in $i from $SRC_ADDR: 401" 401 unauthorized
	done
	SRC_ADDR=fd00:5ec:0:1::7
	sign_in admin "$ADMIN_PW"
	expect_err "a 6th address of the same /64: 429, naming the /64" 429 \
		locked "fd00:5ec:0:1::/64"
	SRC_ADDR=fd00:5ec:0:2::1
	sign_in admin "$ADMIN_PW"
	expect "an address of another /64 signs in" 200
	SRC_ADDR=
	HUB_URL=https://127.0.0.1:$HUB_PORT
	sign_in admin "$ADMIN_PW"
	expect "IPv4 through the same socket is counted apart" 200
	# --- connections from one address are capped (max_per_ip 64) ---
	fds=()
	for i in $(seq 1 64); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$HUB_PORT" && fds+=("$fd")
	done
	check "64 connections open from 127.0.0.1" test "${#fds[@]}" -eq 64
	sleep 0.5
	api_as - GET /health
	check "a 65th one is refused (got $CODE)" test "$CODE" = 000
	SRC_ADDR=127.0.0.2
	api_as - GET /health
	expect "... while another address is served" 200
	SRC_ADDR=
	for fd in "${fds[@]}"; do
		exec {fd}>&-
	done
	sleep 0.5
	api_as - GET /health
	expect "once those are closed, 127.0.0.1 is served again" 200
	hub_stop_checked
	hub_finish
	exit
fi

hub_init sec || hub_abort
hub_start || hub_abort
admin_session
expect "admin signs in" 200
SECRETS=("$ADMIN_PW" "$ENROL_PW" "$ADMIN_TOKEN")

register sec-a mid-sec-a 52:54:00:5e:c0:0a
expect "agent A registers" 201
DEVA=$DEV
CREDA=$CRED
register sec-b mid-sec-b 52:54:00:5e:c0:0b
expect "agent B registers" 201
DEVB=$DEV
CREDB=$CRED
SECRETS+=("$CREDA" "$CREDB" "${CREDA##*.}" "${CREDB##*.}")
mkbatch 1 2 /etc/b/f >"$T/b.json"
api_as "$CREDB" POST /agent/events "@$T/b.json"
expect "agent B stores two events" 200 '.stored == 2'
mkbatch 1 2 /etc/a/f >"$T/a.json"
api_as "$CREDA" POST /agent/events "@$T/a.json"
expect "agent A stores two events" 200 '.stored == 2'

# --- an agent's credential covers its own device only ---
api_as "$CREDA" POST /agent/poll "{\"device_id\":$DEVB}"
expect_err "A polls for B's device: 403" 403 forbidden
mkbatch 100 2 /etc/forged/f "$DEVB" >"$T/x.json"
api_as "$CREDA" POST /agent/events "@$T/x.json"
expect_err "A posts events for B's device: 403" 403 forbidden
api_as "$CREDA" POST /agent/poll '{"device_id":99999999}'
expect "A polls for a device that does not exist: 403/404" "403|404"
api GET "/events?device=$DEVB&q=/etc/forged"
expect "nothing was stored on B" 200 '.events == []'
api_as "va1.$DEVB.${CREDA##*.}" POST /agent/poll '{}'
expect_err "B's id with A's secret: 401" 401 unauthorized
for req in "GET /devices" "GET /devices/$DEVA" "GET /events" "GET /users" \
	"GET /groups" "GET /hub" "GET /audit" "GET /session" \
	"DELETE /devices/$DEVB" "POST /hub/enrolment"; do
	api_as "$CREDA" $req
	expect_err "agent credential on console endpoint $req: 403" 403 forbidden
done
api_as "$CREDA" POST /groups '{"name":"agents-rule"}'
expect_err "agent credential creating a group: 403" 403 forbidden
api_as "$CREDA" POST /agent/register "$(reg_body sec-c mid-sec-c)"
expect "agent credential on register (Basic only): 401/403" "401|403"
api GET "/devices/$DEVB"
expect "B still exists" 200

# --- the enrolment account registers only ---
sign_in "$ENROL_USER" "$ENROL_PW"
expect_err "the enrolment account cannot sign in to the console: 403" 403 forbidden
check "... and gets no token" test -z "$TOKEN"
api_as "basic:$ENROL_USER:$ENROL_PW" GET /devices
expect "enrolment Basic credentials on a console endpoint: 401/403" "401|403"
api_as "basic:$ENROL_USER:$ENROL_PW" POST /agent/poll '{}'
expect "enrolment Basic credentials on poll: 401/403" "401|403"
api_as "basic:admin:$ADMIN_PW" POST /agent/register "$(reg_body sec-d mid-sec-d)"
expect "an admin's Basic credentials do not register agents: 401/403" "401|403"

# --- readonly users read and change nothing ---
RO_PW="reader password 1"
api POST /users "{\"name\":\"reader\",\"password\":\"$RO_PW\",\"role\":\"readonly\"}"
expect "create readonly user" 201
RO_ID=$(jq -r .id "$T/body")
api GET /users
ADMIN_ID=$(jq -r '.users[] | select(.name == "admin") | .id' "$T/body")
api POST /groups '{"name":"ro-test"}'
G=$(jq -r .id "$T/body")
api PUT "/groups/$G/devices/$DEVA"
api PUT "/groups/$G/policy" '{"paths":["/etc"]}'
expect "group with a policy and a member" 200 '.version == 1'
api GET "/events?device=$DEVA&type=changed"
EV=$(jq -r '.events[0].id' "$T/body")
sign_in reader "$RO_PW"
expect "readonly user signs in" 200 '.user.role == "readonly"'
RO=$TOKEN
SECRETS+=("$RO_PW" "$RO")
while IFS='|' read -r method path body; do
	if [ -n "$body" ]; then
		api_as "$RO" "$method" "$path" "$body"
	else
		api_as "$RO" "$method" "$path"
	fi
	expect_err "readonly: $method $path is 403" 403 forbidden
done <<EOF
POST|/users|{"name":"mallory","password":"mallory password","role":"admin"}
PATCH|/users/$RO_ID|{"role":"admin"}
PATCH|/users/$ADMIN_ID|{"disabled":true}
DELETE|/users/$ADMIN_ID|
DELETE|/devices/$DEVA|
POST|/groups|{"name":"ro-made"}
PATCH|/groups/$G|{"name":"renamed"}
DELETE|/groups/$G|
PUT|/groups/$G/devices/$DEVB|
DELETE|/groups/$G/devices/$DEVA|
PUT|/groups/$G/policy|{"paths":["/"]}
POST|/events/$EV/ack|{"comment":"ro"}
POST|/events/$EV/accept|{}
POST|/hub/enrolment|{}
GET|/users|
GET|/audit|
GET|/hub/hubdetails.xml|
EOF
api GET /users
expect "no user was made or changed" 200 \
	'[.users[].name] | index("mallory") == null' \
	'[.users[] | select(.name == "reader")][0].role == "readonly"' \
	'[.users[] | select(.name == "admin")][0].disabled == false'
api GET "/groups/$G"
expect "the group is unchanged" 200 '.name == "ro-test"'
api GET "/groups/$G/policy"
expect "the policy is unchanged" 200 '.version == 1' '.policy.paths == ["/etc"]'
api GET "/devices/$DEVA"
expect "the device and its membership are unchanged" 200 \
	"[.groups[].id] == [$G]"
api GET "/devices/$DEVB"
expect "B was not added" 200 '.groups == []'
api GET "/events/$EV"
expect "the event is neither acknowledged nor accepted" 200 '.state == "new"'
api GET /groups
expect "no group was made" 200 '[.groups[].name] | index("ro-made") == null'
check "HubDetails.xml still has the enrolment password" \
	test "$(xml_field Password)" = "$ENROL_PW"
for path in /devices "/devices/$DEVA" /groups "/groups/$G" "/groups/$G/policy" \
	/events "/events/$EV" /hub /session; do
	api_as "$RO" GET "$path"
	expect "readonly: GET $path is 200" 200
done
api_as "$RO" PUT /users/me/password "{\"old_password\":\"$RO_PW\",\"new_password\":\"reader password 2\"}"
expect "readonly user may change their own password (a new session in the answer)" \
	200 '.token | startswith("vs1.")'
SECRETS+=("reader password 2" "$(jq -r .token "$T/body")")

# --- cookie sessions need the CSRF token for changes ---
JAR=$T/jar1
api_as "cookie:$JAR" POST /session "{\"username\":\"admin\",\"password\":\"$ADMIN_PW\"}"
expect "browser sign-in" 200
C1=$(jq -r .csrf "$T/body")
CTOK=$(jq -r .token "$T/body")
SECRETS+=("$CTOK" "${CTOK#vs1.}")
cookie=$(hdr Set-Cookie)
check "Set-Cookie: vigil_session with HttpOnly" grep -qiE '(^|; *)HttpOnly(;|$)' <<<"$cookie"
check "Set-Cookie: Secure" grep -qiE '(^|; *)Secure(;|$)' <<<"$cookie"
check "Set-Cookie: SameSite=Strict" grep -qiE '(^|; *)SameSite=Strict(;|$)' <<<"$cookie"
check "Set-Cookie: Path=/" grep -qiE '(^|; *)Path=/(;|$)' <<<"$cookie"
check "Set-Cookie: the token" grep -q "^vigil_session=$CTOK;" <<<"$cookie"
signed_in=$(grep -i '^Set-Cookie: *vigil_signed_in=' "$T/hdr" | tr -d '\r')
check "Set-Cookie: vigil_signed_in=1 beside it, for the console's script" \
	grep -qE '^Set-Cookie: *vigil_signed_in=1; ' <<<"$signed_in"
check "... which holds no secret and is Secure, SameSite=Strict" \
	bash -c '! grep -q "$1" <<<"$2" && grep -qiE "; *Secure(;|$)" <<<"$2" && grep -qiE "; *SameSite=Strict(;|$)" <<<"$2"' _ "${CTOK#vs1.}" "$signed_in"
api_as "cookie:$T/jar2" POST /session "{\"username\":\"admin\",\"password\":\"$ADMIN_PW\"}"
C2=$(jq -r .csrf "$T/body")
check "two sessions get different CSRF tokens" test -n "$C2" -a "$C1" != "$C2"
api_as "cookie:$JAR" POST /groups '{"name":"csrf-1"}'
expect_err "cookie POST without X-CSRF-Token: 403 csrf" 403 csrf
api_as "cookie:$JAR:wrong-token-value" POST /groups '{"name":"csrf-1"}'
expect_err "cookie POST with a wrong X-CSRF-Token: 403 csrf" 403 csrf
api_as "cookie:$JAR:$C2" POST /groups '{"name":"csrf-1"}'
expect_err "cookie POST with another session's token: 403 csrf" 403 csrf
api_as "cookie:$JAR" PATCH "/groups/$G" '{"name":"csrf-renamed"}'
expect_err "cookie PATCH without the token: 403 csrf" 403 csrf
api_as "cookie:$JAR" PUT "/groups/$G/policy" '{"paths":["/"]}'
expect_err "cookie PUT without the token: 403 csrf" 403 csrf
api_as "cookie:$JAR" DELETE "/groups/$G"
expect_err "cookie DELETE without the token: 403 csrf" 403 csrf
api GET /groups
expect "none of those changed anything" 200 \
	'[.groups[].name] | (index("csrf-1") == null and index("ro-test") != null)'
api_as "cookie:$JAR" GET /groups
expect "cookie GET needs no token" 200
api_as "cookie:$JAR:$C1" POST /groups '{"name":"csrf-1"}'
expect "cookie POST with the right token: 201" 201 '.name == "csrf-1"'
api_as "cookie:$JAR" DELETE /session
expect_err "cookie sign-out without the token: 403 csrf" 403 csrf
api_as "cookie:$JAR:$C1" DELETE /session
expect "cookie sign-out with the token: 204" 204

# --- lockout by account: 5 failures from 5 addresses lock alice ---
ALICE_PW="alice password 1"
api POST /users "{\"name\":\"alice\",\"password\":\"$ALICE_PW\",\"role\":\"admin\"}"
expect "create alice" 201
SECRETS+=("$ALICE_PW")
for i in 1 2 3 4 5; do
	SRC_ADDR=127.0.1.$i
	sign_in alice "alice wrong $i"
	expect_err "alice, wrong password $i from $SRC_ADDR: 401" 401 unauthorized
	SECRETS+=("alice wrong $i")
done
SRC_ADDR=127.0.1.9
sign_in alice "$ALICE_PW"
expect_err "alice's right password after 5 failures: 429 locked" 429 locked alice
ra=$(hdr Retry-After)
check "Retry-After is a number of seconds (got '$ra')" \
	sh -c "[ '$ra' -gt 0 ] 2>/dev/null && [ '$ra' -le 600 ]"
check "the message says when to try again" \
	grep -qE 'try again in [0-9]+ s' <<<"$(jq -r .message "$T/body")"
sign_in alice "alice wrong 6"
expect_err "alice's wrong password while locked: 429 too" 429 locked
SRC_ADDR=
sign_in alice "$ALICE_PW"
expect_err "alice from 127.0.0.1 is locked as well" 429 locked
sign_in admin "$ADMIN_PW"
expect "other accounts from the same addresses are not locked" 200

# --- lockout by address: 5 failures from one address on two accounts ---
BOB_PW="bob password 1"
api POST /users "{\"name\":\"bob\",\"password\":\"$BOB_PW\",\"role\":\"readonly\"}"
api POST /users '{"name":"dave","password":"dave password 1","role":"readonly"}'
expect "create bob and dave" 201
SECRETS+=("$BOB_PW" "dave password 1")
SRC_ADDR=127.0.2.1
for i in 1 2 3; do
	sign_in bob "bob wrong $i"
	expect_err "bob, wrong password $i from $SRC_ADDR: 401" 401 unauthorized
done
for i in 1 2; do
	sign_in dave "dave wrong $i"
	expect_err "dave, wrong password $i from $SRC_ADDR: 401" 401 unauthorized
done
sign_in bob "$BOB_PW"
expect_err "bob's right password from that address: 429" 429 locked 127.0.2.1
check "Retry-After present" test -n "$(hdr Retry-After)"
sign_in admin "$ADMIN_PW"
expect_err "even admin from that address: 429" 429 locked
SRC_ADDR=127.0.2.2
sign_in bob "$BOB_PW"
expect "bob from another address signs in (account not locked)" 200

# --- the contract counts failures against an account wherever they come
# from: 5 from a single address lock the account as well ---
api POST /users '{"name":"erin","password":"erin password 1","role":"readonly"}'
expect "create erin" 201
SECRETS+=("erin password 1")
SRC_ADDR=127.0.2.3
for i in 1 2 3 4 5; do
	sign_in erin "erin wrong $i"
	expect_err "erin, wrong password $i from $SRC_ADDR: 401" 401 unauthorized
	SECRETS+=("erin wrong $i")
done
SRC_ADDR=127.0.2.4
sign_in erin "erin password 1"
expect_err "erin's account is locked, also from another address: 429" 429 locked erin
SRC_ADDR=

# --- wrong bearer tokens are not counted ---
SRC_ADDR=127.0.3.1
for i in 1 2 3 4 5 6; do
	api_as "vs1.$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d = | head -c 43)" GET /session
	[ "$CODE" = 401 ] || break
done
expect_err "forged session tokens: 401" 401 unauthorized
api_as "va1.$DEVA.$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d = | head -c 43)" POST /agent/poll '{}'
expect_err "forged agent credential: 401" 401 unauthorized
sign_in admin "$ADMIN_PW"
expect "forged tokens did not lock the address" 200
SRC_ADDR=

# --- a right password never clears the address's count: an address that
# knows one password (the enrolment one is handed out) must not use it to
# guess on at other accounts ---
register rs-warm mid-rs-warm
expect "registration with the enrolment account (its check is cached now)" 201
SRC_ADDR=127.0.7.1
for i in 1 2 3 4; do
	sign_in "nobody-a-$i" "wrong guess $i"
done
expect_err "4 wrong sign-ins from $SRC_ADDR: 401" 401 unauthorized
register rs-1 mid-rs-1
expect "the enrolment account's right password (cached) from $SRC_ADDR: 201" 201
sign_in nobody-a-5 "wrong guess 5"
expect_err "a 5th failure from $SRC_ADDR still counts: 401" 401 unauthorized
register rs-2 mid-rs-2
expect_err "... and the address is locked, even for the right enrolment password: 429" \
	429 locked 127.0.7.1
SRC_ADDR=127.0.7.2
for i in 1 2 3 4; do
	sign_in "nobody-b-$i" "wrong guess $i"
done
expect_err "4 wrong sign-ins from $SRC_ADDR: 401" 401 unauthorized
sign_in admin "$ADMIN_PW"
expect "admin's right password from $SRC_ADDR: 200" 200
sign_in nobody-b-5 "wrong guess 5"
expect_err "a 5th failure from $SRC_ADDR still counts: 401" 401 unauthorized
sign_in admin "$ADMIN_PW"
expect_err "... and the address is locked, right password or not: 429" 429 locked 127.0.7.2
SRC_ADDR=127.0.7.3
sign_in admin "$ADMIN_PW"
expect "admin's account itself is not locked" 200

# --- sign-ins at once cannot together go past the limit ---
api POST /users '{"name":"frank","password":"frank password 1","role":"readonly"}'
expect "create frank" 201
SECRETS+=("frank password 1")
SRC_ADDR=127.0.8.%i
parallel_api 20 - POST /session '{"username":"frank","password":"frank wrong %i"}'
SRC_ADDR=
n401=$(par_count 401)
n429=$(par_count 429)
n503=$(par_count 503)
check "20 wrong sign-ins at once for one account: at most 5 are checked (401: $n401, 429: $n429, 503: $n503)" 	test "$n401" -ge 1 -a "$n401" -le 5 -a $((n401 + n429 + n503)) -eq 20
SRC_ADDR=127.0.8.100
parallel_api 20 - POST /session '{"username":"nobody-par-%i","password":"wrong %i"}'
SRC_ADDR=
n401=$(par_count 401)
n429=$(par_count 429)
n503=$(par_count 503)
check "20 wrong sign-ins at once from one address: at most 5 are checked (401: $n401, 429: $n429, 503: $n503)" 	test "$n401" -ge 1 -a "$n401" -le 5 -a $((n401 + n429 + n503)) -eq 20
for i in $(seq 1 20); do
	SECRETS+=("frank wrong $i")
done

# --- lockout on the enrolment account's Basic credentials ---
# By address: wrong user names, so the enrolment account itself counts
# nothing here.
SRC_ADDR=127.0.4.1
for i in 1 2 3 4 5; do
	api_as "basic:enrol-typo-$i:$ENROL_PW" POST /agent/register "$(reg_body lk-$i mid-lk-$i)"
	expect_err "register with wrong Basic credentials $i from $SRC_ADDR: 401" 401 unauthorized
done
check "401 on register carries WWW-Authenticate" test -n "$(hdr WWW-Authenticate)"
api_as "basic:$ENROL_USER:$ENROL_PW" POST /agent/register "$(reg_body lk-ok mid-lk-ok)"
expect_err "right enrolment credentials from that address: 429" 429 locked 127.0.4.1
check "Retry-After present" test -n "$(hdr Retry-After)"
SRC_ADDR=
register lk-ok mid-lk-ok
expect "registration from another address is still accepted" 201
# By account: 5 wrong passwords for the enrolment user from 5 addresses.
for i in 1 2 3 4 5; do
	SRC_ADDR=127.0.5.$i
	api_as "basic:$ENROL_USER:enrol bad $i" POST /agent/register "$(reg_body lk2-$i mid-lk2-$i)"
	expect_err "wrong enrolment password $i from $SRC_ADDR: 401" 401 unauthorized
	SECRETS+=("enrol bad $i")
done
SRC_ADDR=127.0.5.9
api_as "basic:$ENROL_USER:$ENROL_PW" POST /agent/register "$(reg_body lk-3 mid-lk-3)"
expect_err "the enrolment account is locked after 5 failures: 429" 429 locked "$ENROL_USER"
check "Retry-After present" test -n "$(hdr Retry-After)"
SRC_ADDR=
register lk-4 mid-lk-4
expect_err "... from every address" 429 locked
api_as "$CREDA" POST /agent/poll '{}'
expect "registered agents still poll" 200

# --- secrets at rest and in the log ---
tbl=$(db_tables_with pwhash | head -1)
check "the database has a table with password hashes ($tbl)" test -n "$tbl"
sqlite3 "$HUB_DIR/hub.db" "select pwhash from \"${tbl:-user}\"" >"$T/hashes" 2>&1
# Every line must start with the Argon2id parameters of the contract.
check "every password hash is Argon2id with opslimit 2 and 19 MiB ($(wc -l <"$T/hashes") users)" \
	test "$(wc -l <"$T/hashes")" -ge 6 -a -z "$(awk \
	'index($0, "$argon2id$v=19$m=19456,t=2,p=1$") != 1' "$T/hashes")"
for s in "$ADMIN_PW" "$ENROL_PW" "$ALICE_PW" "${CREDA##*.}" "${ADMIN_TOKEN#vs1.}"; do
	if cat "$HUB_DIR"/hub.db* | grep -aqF -- "$s"; then
		not_ok "a secret is in the database in clear: ${s:0:6}..."
	else
		ok "a secret is not in the database in clear (${s:0:4}...)"
	fi
done
api_as "$ADMIN_TOKEN" GET "/audit?limit=1000"
expect "audit is readable" 200 '[.entries[] | select(.action == "session.fail")] | length >= 10'
cp "$T/body" "$T/audit.json"
check "hub log has debug output" test "$(wc -l <"$HUB_LOG")" -ge 5
SECRETS+=("$(printf '%s' "$ENROL_USER:$ENROL_PW" | base64 -w0)")
count_leaks "$HUB_LOG" "$T/audit.json" -- "${SECRETS[@]}"
check "no password, credential or token in the log or the audit (${#SECRETS[@]} secrets)" \
	test "$LEAKS" -eq 0

hub_stop_checked

# --- a second hub with 16 threads and lockouts out of the way ---
printf 'threads = 16\nlockout_attempts = 1000\n' >"$T/flood.conf"
hub_init flood -c "$T/flood.conf" || hub_abort
hub_start -c "$T/flood.conf" || hub_abort
admin_session
expect "admin signs in on the second hub" 200

# A flood of password checks: a few run and wait, the others are refused
# at once (503) rather than holding the server's threads; only the checks
# made count as failures.
SRC_ADDR=127.0.9.%i
parallel_api 40 "basic:flood-%i:wrong password %i" POST /agent/register \
	"$(reg_body flood mid-flood)"
SRC_ADDR=
n401=$(par_count 401)
n503=$(par_count 503)
check "40 password checks at once: some refused with 503 (401: $n401, 503: $n503)" \
	test "$n503" -ge 1 -a "$n401" -ge 2 -a $((n401 + n503)) -eq 40
bad=0
for i in $(seq 1 40); do
	[ "$(cat "$T/par.$i.code")" = 503 ] || continue
	if ! jqtrue "$T/par.$i.body" '.error == "unavailable"' ||
	    ! grep -qiE '^Retry-After: *[0-9]+' "$T/par.$i.hdr"; then
		bad=$((bad + 1))
	fi
done
check "... each 503 is {\"error\":\"unavailable\"} with Retry-After" test "$bad" -eq 0
api GET "/audit?limit=1000"
nfail=$(jq '[.entries[] | select(.action == "session.fail" and
	(.user | startswith("flood-")))] | length' "$T/body")
check "... and only the checks made count as failures ($nfail audited, $n401 answered 401)" \
	test "$nfail" -eq "$n401"

# The enrolment password rotated while a registration with the old one is
# being checked: the old password must not be remembered as good.
reused=0
# The window is the time of one Argon2id check: the registration starts
# 0 to 57 ms after the rotation.
for d in $(seq 0 3 57); do
	old=$(xml_field Password)
	curl -s --cacert "$HUB_CERT" -o /dev/null -X POST \
	    -H "Authorization: Bearer $ADMIN_TOKEN" \
	    "$HUB_URL/api/v1/hub/enrolment" &
	rot=$!
	sleep "0.0$((d / 10))$((d % 10))"
	curl -s --cacert "$HUB_CERT" -o /dev/null -u "$ENROL_USER:$old" \
	    -H 'Content-Type: application/json' \
	    --data-binary "$(reg_body race-$d mid-race-$d)" \
	    "$HUB_URL/api/v1/agent/register" &
	wait "$rot" $!
	[ "$(xml_field Password)" != "$old" ] || not_ok "rotation $d: no new password"
	api_as "basic:$ENROL_USER:$old" POST /agent/register "$(reg_body race2-$d mid-race2-$d)"
	[ "$CODE" = 401 ] || reused=$((reused + 1))
done
check "the old enrolment password never works after a rotation ($reused of 20 times it did)" \
	test "$reused" -eq 0
ENROL_PW=$(xml_field Password)
register race-new mid-race-new
expect "the new one does" 201
hub_stop_checked "the second hub stops cleanly"

in_netns --netns
hub_finish
