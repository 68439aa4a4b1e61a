#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil-hub keeps what it acknowledged: an agent-like loop posts batches
# while the hub is killed with SIGKILL and restarted on the same data dir,
# several times; every id ever acked must be stored, once. Then retention:
# events received long ago are purged while ingest goes on, and nothing
# else is.
export VIGIL=${VIGIL:-unused} # lib.sh wants it; these tests do not run vigil
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"

hub_init dur || hub_abort
hub_start || hub_abort
register dur01 mid-dur-01 52:54:00:d0:00:01
expect "agent registers" 201
DEV1=$DEV
CRED1=$CRED

# ingest FIRST PREFIX: posts batches of 20 with ids from FIRST on, as an
# agent does: a batch is re-sent until it is acked, then the next one.
# Acked ids go to $T/acked.PREFIX; stops when $T/stop exists. The port is
# read from $T/port each time (a restart may move it).
ingest() {
	local next=$1 prefix=$2 code n=20
	while [ ! -e "$T/stop" ]; do
		mkbatch "$next" "$n" "/var/$prefix/f" >"$T/ing.$prefix.json"
		code=$(curl -s --cacert "$HUB_CERT" --max-time 10 \
		    -H "Authorization: Bearer $CRED1" \
		    -H 'Content-Type: application/json' \
		    --data-binary "@$T/ing.$prefix.json" -o "$T/ing.$prefix.out" \
		    -w '%{http_code}' "https://127.0.0.1:$(cat "$T/port")/api/v1/agent/events")
		if [ "$code" = 200 ] &&
		    jq -r '.acked[]' "$T/ing.$prefix.out" >>"$T/acked.$prefix"; then
			next=$((next + n))
		else
			echo "$code" >>"$T/failed.$prefix"
			sleep 0.05
		fi
	done
}

# acked PREFIX: how many ids have been acked so far.
acked() {
	sort -u "$T/acked.$1" 2>/dev/null | wc -l
}

# wait_acked PREFIX N: waits up to 20 s until at least N ids are acked.
wait_acked() {
	local i
	for i in $(seq 1 200); do
		[ "$(acked "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

echo "$HUB_PORT" >"$T/port"
: >"$T/acked.crash"
bg ingest 1 crash
INGEST=$!
for round in 1 2 3 4; do
	before=$(acked crash)
	check "round $round: ingest goes on ($before acked so far)" \
		wait_acked crash $((before + 60))
	hub_kill
	ok "round $round: hub killed with SIGKILL at $(acked crash) acked ids"
	sleep 0.3
	hub_start || break
	echo "$HUB_PORT" >"$T/port"
	ok "round $round: hub restarted on the same data dir"
done
check "ingest goes on after the last restart" wait_acked crash $(($(acked crash) + 40))
touch "$T/stop"
wait "$INGEST"
rm -f "$T/stop"
n_acked=$(acked crash)
check "the loop saw failed requests while the hub was down ($(wc -l <"$T/failed.crash" 2>/dev/null || echo 0))" \
	test -s "$T/failed.crash"
admin_session
all_events "device=$DEV1&type=changed&limit=1000"
# comm wants both sides in plain sort order.
jq -r '.seq' "$T/all.json" | sort >"$T/stored"
maxseq=$(sort -n "$T/stored" | tail -1)
missing=$(sort -u "$T/acked.crash" | comm -23 - "$T/stored" | wc -l)
check "every one of the $n_acked acked ids is stored (missing: $missing)" \
	test "$missing" -eq 0 -a "$n_acked" -ge 300
check "each id is stored once ($(wc -l <"$T/stored") events)" \
	test "$(uniq -d "$T/stored" | wc -l)" -eq 0
check "nothing is stored that was never sent" \
	test "${maxseq:-0}" -le $((n_acked + 20))
rc=0
hub_stop || rc=$?
check "hub stops cleanly after the crashes (exit $rc)" test "$rc" -eq 0
check "database integrity_check is ok" \
	test "$(sqlite3 "$HUB_DIR/hub.db" 'pragma integrity_check')" = ok

# --- retention: age 100 events directly in the database ---
tbl=
for t in $(db_tables_with received); do
	if db_tables_with seq | grep -qx "$t"; then
		tbl=$t
	fi
done
check "the database has an events table with received and seq ($tbl)" test -n "$tbl"
tbl=${tbl:-event}
sample=$(sqlite3 "$HUB_DIR/hub.db" "select max(received) from \"$tbl\"")
scale=1
[ "${sample:-0}" -gt 100000000000 ] && scale=1000
[ "${sample:-0}" -gt 100000000000000 ] && scale=1000000000
sqlite3 "$HUB_DIR/hub.db" "select id from \"$tbl\" where seq between 1 and 100 order by id" >"$T/aged"
sqlite3 "$HUB_DIR/hub.db" "update \"$tbl\" set received = received - 3 * 86400 * $scale where seq between 1 and 100"
check "100 events made 3 days old" test "$(wc -l <"$T/aged")" -eq 100
total_before=$(wc -l <"$T/stored")

printf 'retention_days = 1\n' >"$T/ret.conf"
hub_start -c "$T/ret.conf" || hub_abort
echo "$HUB_PORT" >"$T/port"
: >"$T/acked.ret"
first=$((${maxseq:-0} + 1000))
bg ingest "$first" ret
INGEST=$!
admin_session
api GET /hub
expect "the hub runs with retention_days 1" 200 '.retention_days == 1'
purged=
for i in $(seq 1 60); do
	api GET "/events/$(head -1 "$T/aged")"
	a=$CODE
	api GET "/events/$(tail -1 "$T/aged")"
	if [ "$a" = 404 ] && [ "$CODE" = 404 ]; then
		purged=$i
		break
	fi
	sleep 0.5
done
check "old events are purged (after ${purged:-never} x 0.5 s)" test -n "$purged"
check "ingest goes on during the purge" wait_acked ret 60
touch "$T/stop"
wait "$INGEST"
gone=0
for id in $(sed -n '1p;25p;50p;75p;100p' "$T/aged"); do
	api GET "/events/$id"
	[ "$CODE" = 404 ] && gone=$((gone + 1))
done
check "aged events answer 404 ($gone of 5 sampled)" test "$gone" -eq 5
all_events "device=$DEV1&type=changed&limit=1000"
jq -r '.seq' "$T/all.json" | sort >"$T/stored2"
check "every event that was not aged is still there" \
	test "$(awk '$1 > 100' "$T/stored" | comm -23 - "$T/stored2" | wc -l)" -eq 0 -a -s "$T/stored2"
check "none of the aged events is left" \
	test "$(awk '$1 <= 100' "$T/stored2" | wc -l)" -eq 0
missing=$(sort -u "$T/acked.ret" | comm -23 - "$T/stored2" | wc -l)
check "every id acked during the purge is stored ($(acked ret) acked, missing $missing)" \
	test "$missing" -eq 0
check "count adds up: $total_before - 100 + new" \
	test "$(wc -l <"$T/stored2")" -eq $((total_before - 100 + $(acked ret)))
hub_stop_checked
hub_finish
