#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# What the console reads from vigil-hub, end to end over real HTTPS with
# events posted through the agent API: the event search (case-insensitive
# path text, state, its time budget with partial answers and "keep
# searching"), exports in CSV and JSON streamed past one chunk of the
# store (RFC 4180 quoting, formula cells made text, filters, audit), the
# overview (counts from the rollup, after a device is deleted and after
# retention deletes old events), devices by last contact, a device's
# policy, and the field named by a policy error.
export VIGIL=${VIGIL:-unused} # lib.sh wants it; these tests do not run vigil
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"

DB=
# db SQL: runs SQL on the hub's database beside the hub (WAL: the hub
# keeps running), printing the result.
db() {
	sqlite3 -cmd '.timeout 10000' "$DB" "$1"
}

# Rows where the rollup differs from a count of the events themselves.
rollup_mismatch() {
	db "SELECT (SELECT count(*) FROM (
	    SELECT received / 3600, device, type, count(*) FROM event
	    GROUP BY 1, 2, 3 EXCEPT SELECT hour, device, type, n FROM event_rollup))
	  + (SELECT count(*) FROM (
	    SELECT hour, device, type, n FROM event_rollup EXCEPT
	    SELECT received / 3600, device, type, count(*) FROM event
	    GROUP BY 1, 2, 3))"
}

# set_budget MS|-: the hidden setting search_budget_ms (- removes it).
set_budget() {
	if [ "$1" = - ]; then
		db "DELETE FROM setting WHERE key = 'search_budget_ms'"
	else
		db "INSERT INTO setting(key, value) VALUES ('search_budget_ms', '$1')
		    ON CONFLICT(key) DO UPDATE SET value = excluded.value"
	fi
}

# csv_json FILE: the CSV file parsed by Python's csv module, as a JSON
# array of rows (arrays of cells) on stdout.
csv_json() {
	python3 -c 'import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    print(json.dumps(list(csv.reader(f))))' "$1"
}

# export_get QUERY OUT: GET /events/export?QUERY into OUT (headers in
# $T/hdr, status in $CODE).
export_get() {
	api GET "/events/export?$1"
	cp "$T/body" "$2"
}

# --- start ---
hub_init console || hub_abort
hub_start || hub_abort
DB=$HUB_DIR/hub.db
admin_session || { not_ok "admin signs in"; hub_abort; }
ok "hub started, admin signed in"

# --- devices by last contact ---
register app01 mid-con-3 52:54:00:c0:00:03
DEV3=$DEV
CRED3=$CRED
sleep 1.1
t_mid=$(date +%s)
sleep 1.1
register web01 mid-con-1 52:54:00:c0:00:01
DEV1=$DEV
CRED1=$CRED
register db01 mid-con-2 52:54:00:c0:00:02
DEV2=$DEV
CRED2=$CRED
api_as "$CRED1" POST /agent/poll '{}'
expect "web01 polls" 200
api_as "$CRED2" POST /agent/poll '{}'
expect "db01 polls" 200
api GET "/devices?seen_after=$t_mid"
expect "seen_after= (seconds): the devices heard from since" 200 \
	"[.devices[].id] == [$DEV1, $DEV2]"
api GET "/devices?seen_before=$t_mid"
expect "seen_before= (seconds): the device silent since" 200 \
	"[.devices[].id] == [$DEV3]"
api GET "/devices?seen_after=$(date -u -d "@$t_mid" +%Y-%m-%dT%H:%M:%SZ)&seen_before=$(($(date +%s) + 60))"
expect "seen_after= (RFC 3339) with seen_before=" 200 \
	"[.devices[].id] == [$DEV1, $DEV2]"
api GET "/devices?seen_after=$t_mid&q=db01"
expect "seen_after= combines with other filters" 200 "[.devices[].id] == [$DEV2]"
api GET "/devices?seen_before=yesterday"
expect_err "seen_before= that is no time: 400 naming it" 400 bad_request \
	seen_before

# --- events through the agent API ---
mkbatch 1 1000 /etc/app/f >"$T/b.json"
api_as "$CRED1" POST /agent/events "@$T/b.json"
expect "web01 sends 1000 changes" 200 '.stored == 1000'
mkbatch 1001 500 /etc/app/f >"$T/b.json"
api_as "$CRED1" POST /agent/events "@$T/b.json"
expect "... and 500 more" 200 '.stored == 500'
printf '/srv/\377\376MixedCase/Data' >"$T/raw"
raw_b64=$(base64 -w0 "$T/raw")
jq -nc --arg t "$NOW_RFC" --arg b64 "$raw_b64" '
  def ev($id; $ch; $path):
    {id: $id, time: $t, origin: "scan",
     change: ({change: $ch, kind: "file", path: $path} +
       (if $ch == "added" then {new: {type: "file", size: 1}}
        elif $ch == "removed" then {old: {type: "file", size: 1}}
        else {changed: ["size"], old: {type: "file", size: 1},
              new: {type: "file", size: 2}} end))};
  {events: [
    ev(1; "added"; "/srv/Report,Q1 \"final\".txt"),
    ev(2; "added"; "=HYPERLINK(\"http://x.example/\",\"y\")"),
    ev(3; "added"; "\tTAB"),
    ev(4; "added"; "/tmp/line\nbreak"),
    (ev(5; "added"; "/srv/??MixedCase/Data") | .change.path_b64 = $b64),
    ev(6; "removed"; "-cmd"),
    ev(7; "removed"; "+cmd"),
    ev(8; "changed"; "@SUM(A1)"),
    {id: 9, time: $t, origin: "realtime", agent: {code: "watch-limit",
      message: "inotify watch limit reached", path: "/srv"}}]}' >"$T/b.json"
api_as "$CRED2" POST /agent/events "@$T/b.json"
expect "db01 sends 8 changes with awkward paths and a health event" 200 \
	'.stored == 9'

# --- the search ---
api GET "/events?q=ETC/APP/F1234"
expect "q= matches the path without regard to ASCII case" 200 \
	'[.events[].path] == ["/etc/app/f1234"]' '.partial == false' \
	'.next == null' '.searched_to == null'
api GET "/events?q=mixedcase/DATA"
expect "... in a path that is not UTF-8 too (path_b64 kept)" 200 \
	'(.events | length) == 1' "(.events[0].path_b64 == \"$raw_b64\")"
api GET "/events?device=$DEV1&q=/ETC/APP/F1&limit=1000"
expect "q= with device=: f1, f10-19, f100-199, f1000-1500" 200 \
	'(.events | length) == 612' 'all(.events[]; .path | startswith("/etc/app/f1"))' \
	'.partial == false'
api GET "/events?device=$DEV1&limit=100"
expect "a full page: next is its last id, searched_to its receipt" 200 \
	'(.events | length) == 100' '.next == .events[99].id' \
	'.searched_to == .events[99].received' '.partial == false'
api GET "/events?q=$(printf 'x%.0s' $(seq 1 256))"
expect_err "q= over 255 bytes: 400" 400 bad_request q

api GET "/events?device=$DEV1&q=/etc/app/f7&limit=1000"
EV_ACK=$(jq -r '.events[0].id' "$T/body")
EV_ACC=$(jq -r '.events[1].id' "$T/body")
api POST "/events/$EV_ACK/ack" '{"comment":"expected"}'
expect "acknowledge one" 200 '.state == "acknowledged"'
api POST "/events/$EV_ACC/accept" '{}'
expect "accept another" 200 '.state == "accepted"'
api GET "/events?device=$DEV1&q=/etc/app/f7&state=new&limit=1000"
expect "state=new leaves both out" 200 '(.events | length) == 109' \
	"all(.events[]; .state == \"new\" and .id != $EV_ACK and .id != $EV_ACC)"
api GET "/events?device=$DEV1&state=acked"
expect "state=acked: the acknowledged one" 200 "[.events[].id] == [$EV_ACK]"
api GET "/events?device=$DEV1&state=acknowledged"
expect "state=acknowledged says the same" 200 "[.events[].id] == [$EV_ACK]"
api GET "/events?state=accepted"
expect "state=accepted: the accepted one" 200 "[.events[].id] == [$EV_ACC]"
api GET "/events?state=pending"
expect_err "an unknown state: 400 naming it" 400 bad_request state

# --- the overview ---
api GET /dashboard
expect "dashboard: 7 daily points by default, the window's counts" 200 \
	'.days == 7' '.changes.bucket == 86400' '(.changes.points | length) == 7' \
	'.devices == {total: 3, online: 3, offline: 0}' \
	'([.changes.points[] | .added] | add) == 5' \
	'([.changes.points[] | .removed] | add) == 2' \
	'([.changes.points[] | .changed] | add) == 1501' \
	"(.changes.points[-1].t == ($(date +%s) / 86400 | floor) * 86400)" \
	"(.top_devices == [{id: $DEV1, name: \"web01\", changes: 1500}, {id: $DEV2, name: \"db01\", changes: 8}])" \
	'(.latest | length) == 10' '.latest[0].path == "@SUM(A1)"' \
	'all(.latest[]; .type == "added" or .type == "removed" or .type == "changed")' \
	"(.problems | length) == 1" "(.problems[0] | .device_id == $DEV2 and
	  .device == \"db01\" and .type == \"agent\" and
	  (.message | contains(\"inotify watch limit reached\")) and
	  (.time | type) == \"number\" and (.event_id | type) == \"number\")"
total=$(db "SELECT count(*) FROM event")
check "dashboard: events.total is the number of events ($total)" \
	test "$(jq .events.total "$T/body")" = "$total"
api GET "/dashboard?days=2"
expect "days=2: 48 hourly points, zeros included" 200 '.changes.bucket == 3600' \
	'(.changes.points | length) == 48' \
	'([.changes.points[] | .added + .removed + .changed] | add) == 1508' \
	'([.changes.points[] | select(.added + .removed + .changed == 0)] | length) >= 46' \
	'([.changes.points[].t] | . == (sort | unique))' \
	'(.changes.points[1].t - .changes.points[0].t) == 3600'
api GET "/dashboard?days=91"
expect_err "days=91: 400" 400 bad_request days
check "the rollup matches the events" test "$(rollup_mismatch)" = 0

# --- export ---
export_get "format=csv&device=$DEV1" "$T/dev1.csv"
expect "CSV export of web01: 200" 200
check "... as text/csv" grep -qi '^text/csv' <<<"$(hdr Content-Type)"
check "... as an attachment named vigil-events-YYYYMMDD-HHMMSS.csv" \
	grep -qE '^attachment; filename="vigil-events-[0-9]{8}-[0-9]{6}\.csv"$' \
	<<<"$(hdr Content-Disposition)"
check "... streamed (chunked)" grep -qi '^chunked' <<<"$(hdr Transfer-Encoding)"
check "... header line as documented" test "$(head -1 "$T/dev1.csv" | tr -d '\r')" = \
	"id,time,received,device_id,device,type,origin,kind,path,changed,state,message"
csv_json "$T/dev1.csv" >"$T/dev1.json"
check "... 1501 rows, more than one chunk of 1000, newest first, each once" \
	jqtrue "$T/dev1.json" '(.[1:] | length) == 1501 and
	  ([.[1:][] | .[0] | tonumber] | . == (sort | reverse) and (unique | length) == 1501)'
check "... cells as the search has them" jqtrue "$T/dev1.json" \
	"[.[1:][] | select(.[8] == \"/etc/app/f1234\")][0] as \$r |
	  \$r[3] == \"$DEV1\" and \$r[4] == \"web01\" and \$r[5] == \"changed\" and
	  \$r[6] == \"scan\" and \$r[7] == \"file\" and \$r[9] == \"size mtime hash\" and
	  \$r[10] == \"new\" and \$r[11] == \"\" and (\$r[1] | test(\"^[0-9-]+T[0-9:.]+Z\$\")) and
	  (\$r[2] | test(\"^[0-9-]+T[0-9:]+Z\$\"))"
check "... states as they are" jqtrue "$T/dev1.json" \
	"([.[1:][] | select(.[0] == \"$EV_ACK\")][0][10] == \"acknowledged\") and
	 ([.[1:][] | select(.[0] == \"$EV_ACC\")][0][10] == \"accepted\")"
check "... lines end in CRLF" test "$(head -1 "$T/dev1.csv" | od -An -c | tr -d ' \n' | tail -c 4)" = '\r\n'

export_get "format=csv&device=$DEV2" "$T/dev2.csv"
expect "CSV export of db01: 200" 200
csv_json "$T/dev2.csv" >"$T/dev2.json"
check "a path with a comma and quotes is quoted, quotes doubled" \
	has "$T/dev2.csv" '"/srv/Report,Q1 ""final"".txt"'
check "... and reads back as it was" jqtrue "$T/dev2.json" \
	'[.[1:][] | .[8]] | index("/srv/Report,Q1 \"final\".txt") != null'
check "a path with a line break reads back whole" jqtrue "$T/dev2.json" \
	'[.[1:][] | .[8]] | index("/tmp/line\nbreak") != null'
check "cells starting with = + - @ TAB get a leading quote" jqtrue "$T/dev2.json" \
	'[.[1:][] | .[8]] as $p | ["'"'"'=HYPERLINK(\"http://x.example/\",\"y\")",
	  "'"'"'+cmd", "'"'"'-cmd", "'"'"'@SUM(A1)", "'"'"'\tTAB"] |
	  all(. as $x | $p | index($x) != null)'
quoted_formula="\"'=HYPERLINK(\"\"http://x.example/\"\",\"\"y\"\")\""
check "... inside the quotes of a quoted cell" has "$T/dev2.csv" "$quoted_formula"
check "... and no cell starts with one without it" jqtrue "$T/dev2.json" \
	'[.[][] | select(test("^[=+@\t\r-]"))] == []'
check "the agent event's message is there" jqtrue "$T/dev2.json" \
	'[.[1:][] | select(.[5] == "agent")][0][11] | contains("inotify watch limit reached")'

export_get "format=json&device=$DEV1" "$T/dev1-export.json"
expect "JSON export of web01: 200" 200
check "... as application/json" grep -qi '^application/json' <<<"$(hdr Content-Type)"
check "... an attachment named .json" \
	grep -qE '^attachment; filename="vigil-events-[0-9]{8}-[0-9]{6}\.json"$' \
	<<<"$(hdr Content-Disposition)"
check "... one array jq parses: 1501 summaries, newest first" \
	jqtrue "$T/dev1-export.json" 'length == 1501 and
	  ([.[].id] | . == (sort | reverse) and (unique | length) == 1501) and
	  all(.[]; has("id") and has("device_id") and has("device") and has("seq") and
	    has("time") and has("received") and has("type") and has("origin") and
	    has("kind") and has("path") and has("changed") and has("message") and
	    has("state"))'
check "... one summary per line" test "$(wc -l <"$T/dev1-export.json")" -eq 1501
api GET "/events?device=$DEV1&limit=1000"
jq -c '.events[0]' "$T/body" >"$T/first.json"
check "... summaries equal to the search's" \
	test "$(jq -c '.[0]' "$T/dev1-export.json")" = "$(cat "$T/first.json")"
export_get "format=json&device=$DEV2" "$T/dev2-export.json"
check "JSON export keeps path_b64 of a path that is not UTF-8" \
	jqtrue "$T/dev2-export.json" "[.[] | select(.path_b64 == \"$raw_b64\")] | length == 1"

# The same filters as the search, over the whole store.
all_events "q=/APP/F1&type=changed&limit=1000"
jq -s '[.[].id]' "$T/all.json" >"$T/search-ids.json"
export_get "format=json&q=/APP/F1&type=changed" "$T/f1.json"
check "export with q= and type=: the same events as the search, paged" \
	test "$(jq -c '[.[].id]' "$T/f1.json")" = "$(jq -c . "$T/search-ids.json")"
check "... 612 of them: f1, f10-19, f100-199, f1000-1500" \
	test "$(jq length "$T/f1.json")" -eq 612
export_get "format=csv&state=accepted" "$T/acc.csv"
check "export with state=: the header and the one accepted event" \
	test "$(csv_json "$T/acc.csv" | jq -c "[.[1:][] | .[0]]")" = "[\"$EV_ACC\"]"
export_get "format=json&type=offline" "$T/none.json"
expect "an export of nothing is []" 200
check "... exactly" test "$(tr -d '\n' <"$T/none.json")" = "[]"
export_get "device=$DEV2" "$T/default.csv"
check "format defaults to csv" grep -qi '^text/csv' <<<"$(hdr Content-Type)"
api GET "/events/export?format=xml"
expect_err "format=xml: 400 naming it" 400 bad_request format
api GET "/events/export?format=csv&type=moved"
expect_err "a bad filter: 400 before any byte is sent" 400 bad_request type
api_as - GET "/events/export?format=csv"
expect_err "export without a session: 401" 401 unauthorized
api POST "/events/export" '{}'
expect_err "POST /events/export: 405, not taken for an event id" 405 \
	method_not_allowed
api GET "/events/$EV_ACK"
expect "GET /events/{id} still answers beside /events/export" 200 ".id == $EV_ACK"
api POST /users '{"name":"viewer","password":"viewer password 1","role":"readonly"}'
expect "a read-only user" 201
sign_in viewer "viewer password 1"
VIEWER=$TOKEN
api_as "$VIEWER" GET "/events/export?format=json&device=$DEV2"
expect "a read-only user may export" 200 'length == 10'
api_as "$VIEWER" GET /dashboard
expect "... and read the overview" 200 '.devices.total == 3'
api GET "/audit?limit=1000"
expect "exports are audited (events.export, with the format and filters)" 200 \
	"[.entries[] | select(.action == \"events.export\")] | length >= 9" \
	"[.entries[] | select(.action == \"events.export\" and .user == \"viewer\" and
	   .detail.format == \"json\" and .detail.device == $DEV2)] | length == 1"

# --- the search budget: partial answers and "keep searching" ---
# 0 ms: one window of ids per request. 200,000 unused ids put the new
# events windows away from the old ones.
set_budget 0
db "UPDATE sqlite_sequence SET seq = seq + 200000 WHERE name = 'event'"
mkbatch 1 5 /new/x >"$T/b.json"
api_as "$CRED3" POST /agent/events "@$T/b.json"
expect "app01 sends 5 changes, 200,000 ids later" 200 '.stored == 5'
new_received=$(db "SELECT max(received) FROM event")
api GET "/events?q=/etc/app/f1234"
expect "a budget spent before a match: partial, with where to go on" 200 \
	'.events == []' '.partial == true' '(.next | type) == "number"' \
	"(.searched_to == $new_received)"
next=$(jq .next "$T/body")
found=
for i in 1 2 3 4 5; do
	api GET "/events?q=/etc/app/f1234&before=$next"
	[ "$CODE" = 200 ] || break
	if [ "$(jq '.events | length' "$T/body")" = 1 ]; then
		found=$i
		break
	fi
	next=$(jq .next "$T/body")
done
check "keep searching with before=next finds it (after ${found:-no} more requests)" \
	test -n "$found"
expect "... then the search is complete" 200 '.events[0].path == "/etc/app/f1234"' \
	'.partial == false' '.next == null'
api GET "/events?limit=1000"
expect "a partial page may hold fewer than limit events" 200 \
	'(.events | length) == 5' '.partial == true' '.next != null' \
	'all(.events[]; .path | startswith("/new/x"))'
api GET "/events?device=$DEV1&limit=10"
expect "a device's search follows its own events across the gap" 200 \
	'(.events | length) == 10' '.partial == false'
set_budget 30000x
api GET "/events?q=/etc/app/f1234"
expect "a setting that is no number is ignored (100 ms)" 200 \
	'(.events | length) == 1' '.partial == false'
set_budget -
api GET "/events?q=/etc/app/f1234"
expect "the default budget finds it at once" 200 '(.events | length) == 1' \
	'.partial == false' '.next == null'

# --- a device's policy; the field of a policy error ---
api POST /groups '{"name":"web"}'
G1=$(jq -r .id "$T/body")
api POST /groups '{"name":"all"}'
G2=$(jq -r .id "$T/body")
api PUT "/groups/$G1/devices/$DEV1"
api PUT "/groups/$G2/devices/$DEV1"
api PUT "/groups/$G1/policy" '{"paths":["/etc","/usr/bin"],"hash":"sha512","schedule":600}'
expect "web's policy" 200 '.version == 1'
api GET "/devices/$DEV1/policy"
expect "GET /devices/{id}/policy: merged policy, version, groups" 200 \
	'.policy.paths == ["/etc","/usr/bin"]' '.policy.hash == "sha512"' \
	'.version | test("^[0-9a-f]{64}$")' \
	"(.groups == [{id: $G1, name: \"web\", version: 1}, {id: $G2, name: \"all\", version: 0}])"
pv=$(jq -r .version "$T/body")
api_as "$CRED1" POST /agent/poll '{}'
expect "... the version the agent gets" 200 ".policy_version == \"$pv\""
api GET "/devices/$DEV2/policy"
expect "a device without a policy" 200 '.policy == {}' '.groups == []' \
	'.version | test("^[0-9a-f]{64}$")'
api GET /devices/987654/policy
expect_err "an unknown device: 404" 404 not_found
bad_policy() {
	local body=$1 field=$2
	api PUT "/groups/$G1/policy" "$body"
	if [ "$field" = - ]; then
		expect "policy $body: 400 without a field" 400 \
			'.error == "bad_request"' 'has("field") | not'
	else
		expect "policy $body: 400 with field $field" 400 \
			'.error == "bad_request"' "(.field == \"$field\")" \
			"(.message | startswith(\"$field: \"))"
	fi
}
bad_policy '{"paths":["/etc","relative"]}' 'paths[1]'
bad_policy '{"hash":"md5"}' hash
bad_policy '{"schedule":10}' schedule
bad_policy '{"system":["packages","bogus"]}' 'system[1]'
bad_policy '{"commands":["ls"]}' 'commands[0]'
bad_policy '{"max_hash_size":"lots"}' max_hash_size
bad_policy '{"pathz":["/etc"]}' -
api GET "/groups/$G1/policy"
expect "the refused documents changed nothing" 200 '.version == 1'

# --- the rollup through a device deletion ---
api DELETE "/devices/$DEV2"
expect "delete db01" 204
check "the rollup still matches the events" test "$(rollup_mismatch)" = 0
api GET /dashboard
expect "the overview forgets db01" 200 \
	"(.top_devices | map(.id) | index($DEV2)) == null" '.problems == []' \
	'([.changes.points[] | .added + .removed] | add) == 0' \
	"(.events.total == $(db 'SELECT count(*) FROM event'))"

# --- the rollup through retention: 600 events made 10 days old ---
hub_stop_checked "the hub stops cleanly"
db "UPDATE event SET received = received - 864000
    WHERE device = $DEV1 AND type = 3 AND seq <= 600;
    DELETE FROM event_rollup;
    INSERT INTO event_rollup SELECT received / 3600, device, type, count(*)
      FROM event GROUP BY 1, 2, 3;"
check "(the aged database is consistent)" test "$(rollup_mismatch)" = 0
printf 'retention_days = 5\n' >"$T/retention.conf"
hub_start -c "$T/retention.conf" || hub_abort
admin_session
purged=
for i in $(seq 1 100); do
	if grep -q 'deleted 600 events older than 5 days' "$HUB_LOG"; then
		purged=$i
		break
	fi
	sleep 0.2
done
check "retention deletes the 600 old events" test -n "$purged"
check "the rollup still matches the events" test "$(rollup_mismatch)" = 0
api GET "/dashboard?days=30"
expect "the overview counts what is left" 200 '(.changes.points | length) == 30' \
	"(.events.total == $(db 'SELECT count(*) FROM event'))" \
	'([.changes.points[] | .changed] | add) == 905' \
	"(.top_devices[0] == {id: $DEV1, name: \"web01\", changes: 900})"
api GET "/events?device=$DEV1&type=changed&limit=1000"
expect "... as the search does" 200 '(.events | length) == 900'

hub_stop_checked "the hub stops cleanly"
hub_finish
