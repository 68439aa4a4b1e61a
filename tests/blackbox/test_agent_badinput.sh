#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil-agent on bad input: malformed HubDetails.xml files and agent.conf
# lines are refused with the file, the line and the element or key; a
# state.db that is not the agent's is refused and left alone; a data dir
# on a full file system is reported and the agent recovers when space
# returns, without losing or corrupting its queue.
export VIGIL=${VIGIL:-unused}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"
. "$(dirname "$0")/agent_lib.sh"

hub_init bad || hub_abort
hub_start || hub_abort
admin_session || hub_abort
TP=$(norm_hex "$(openssl x509 -in "$HUB_CERT" -noout -fingerprint -sha256 | sed 's/.*=//')")
URL="https://127.0.0.1:$HUB_PORT/api/"
mkdir -p "$T/none.data"
chmod 700 "$T/none.data"
printf 'poll_period = 10\n' >"$T/ok.conf"

# refuse DESC FILE [WORD_REGEX...]: the agent given FILE as HubDetails.xml
# (or, with CONF=1, as agent.conf) exits 1 at once; its output names each
# extended regex (the first is usually FILE:LINE).
refuse() {
	local desc=$1 f=$2 rc w bad=
	shift 2
	if [ "${CONF:-0}" = 1 ]; then
		hubdetails_for_test "$T/good.xml"
		timeout 60 "$VIGIL_AGENT" --hub-details "$T/good.xml" \
			--data-dir "$T/none.data" --config "$f" --once \
			>"$T/bad.out" 2>&1 </dev/null
	else
		timeout 60 "$VIGIL_AGENT" --hub-details "$f" \
			--data-dir "$T/none.data" --config "$T/ok.conf" --once \
			>"$T/bad.out" 2>&1 </dev/null
	fi
	rc=$?
	grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/bad.out" &&
		bad="a sanitizer report"
	[ "$rc" -eq 1 ] || bad="${bad:+$bad, }exit $rc, wanted 1"
	for w in "$@"; do
		grep -qE -- "$w" "$T/bad.out" || bad="${bad:+$bad, }/$w/ not named"
	done
	if [ -z "$bad" ]; then
		ok "$desc: refused, naming $*"
	else
		not_ok "$desc: $bad"
		sed 's/^/    out: /' "$T/bad.out" | tail -6
	fi
}

# xml NAME: writes stdin to $T/NAME.xml and prints the path.
xml() {
	cat >"$T/$1.xml"
	echo "$T/$1.xml"
}

f=$(xml doctype <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HubDetails [ <!ENTITY u "$URL"> ]>
<HubDetails>
  <Url>&u;</Url>
  <Username>agent</Username>
  <Thumbprint>$TP</Thumbprint>
</HubDetails>
EOF
)
refuse "a DOCTYPE with an entity" "$f" "$f:[0-9]+" 'DOCTYPE|[Dd]octype|ENTIT|[Ee]ntit'
f=$(xml entity <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<HubDetails>
  <Url>$URL</Url>
  <Username>&amp;agent&#65;&ext;</Username>
  <Thumbprint>$TP</Thumbprint>
</HubDetails>
EOF
)
refuse "an undefined entity reference" "$f" "$f:4"
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<HubDetails>'
	echo "  <Url>$URL</Url>"
	echo "  <!-- $(head -c 100000 /dev/zero | tr '\0' x) -->"
	echo "  <Thumbprint>$TP</Thumbprint>"
	echo '</HubDetails>'
} >"$T/huge.xml"
refuse "a 100 KB HubDetails.xml" "$T/huge.xml" "$T/huge.xml" \
	'large|big|long|size|KiB|65536|64'
: >"$T/empty.xml"
refuse "an empty HubDetails.xml" "$T/empty.xml" "$T/empty.xml"
f=$(xml root <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<HubSettings>
  <Url>$URL</Url>
  <Thumbprint>$TP</Thumbprint>
</HubSettings>
EOF
)
refuse "the wrong root element" "$f" "$f:2" 'HubSettings'
f=$(xml dupurl <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<HubDetails>
  <Url>$URL</Url>
  <Url>$URL</Url>
  <Thumbprint>$TP</Thumbprint>
</HubDetails>
EOF
)
refuse "a repeated Url" "$f" "$f:4" 'Url'
f=$(xml nested <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<HubDetails>
  <Url>$URL</Url>
  <Username><b>agent</b></Username>
  <Thumbprint>$TP</Thumbprint>
</HubDetails>
EOF
)
refuse "a nested element" "$f" "$f:4" '<?b>?|Username'
f=$(xml http <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<HubDetails>
  <Username>agent</Username>
  <Url>http://127.0.0.1:$HUB_PORT/api/</Url>
  <Thumbprint>$TP</Thumbprint>
</HubDetails>
EOF
)
refuse "an http:// Url" "$f" "$f:4" 'Url' 'https'
f=$(xml noapi <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<HubDetails>
  <Username>agent</Username>
  <Thumbprint>$TP</Thumbprint>
  <Url>https://127.0.0.1:$HUB_PORT/</Url>
</HubDetails>
EOF
)
refuse "a Url without /api/" "$f" "$f:5" 'Url' '/api/'
f=$(xml nourl <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<HubDetails>
  <Username>agent</Username>
  <Thumbprint>$TP</Thumbprint>
</HubDetails>
EOF
)
refuse "no Url at all" "$f" "$f" 'Url'
f=$(xml badbool <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<HubDetails>
  <Url>$URL</Url>
  <UseDefaultProxy>perhaps</UseDefaultProxy>
  <Thumbprint>$TP</Thumbprint>
</HubDetails>
EOF
)
refuse "UseDefaultProxy not true or false" "$f" "$f:4" 'UseDefaultProxy'
refuse "a HubDetails.xml that does not exist" "$T/absent.xml" "$T/absent.xml"
check "nothing was written to the data dir by the refused runs" \
	test -z "$(ls -A "$T/none.data")"

# --- agent.conf: FILE:LINE and the key ---
# conf NAME LINES...: writes $T/NAME.conf and prints the path.
conf() {
	local n=$1
	shift
	printf '%s\n' "$@" >"$T/$n.conf"
	echo "$T/$n.conf"
}
CONF=1
f=$(conf unknown '# settings' 'poll_period = 10' 'poll_perod = 10')
refuse "agent.conf: an unknown key" "$f" "$f:3" 'poll_perod'
f=$(conf notnum 'poll_period = ten')
refuse "agent.conf: a number that is not one" "$f" "$f:1" 'poll_period'
f=$(conf nice '' 'scan_nice = 40')
refuse "agent.conf: scan_nice out of range" "$f" "$f:2" 'scan_nice'
f=$(conf io 'scan_io = fast')
refuse "agent.conf: scan_io neither idle nor best-effort" "$f" "$f:1" 'scan_io'
f=$(conf noeq 'poll_period = 10' 'log_level debug')
refuse "agent.conf: a line without =" "$f" "$f:2"
f=$(conf rate 'scan_rate = 50Q')
refuse "agent.conf: a bad size" "$f" "$f:1" 'scan_rate'
f=$(conf dup 'poll_period = 10' 'poll_period = 20')
refuse "agent.conf: a repeated key" "$f" "$f:2" 'poll_period'
f=$(conf level 'log_level = loud')
refuse "agent.conf: an unknown log level" "$f" "$f:1" 'log_level'
CONF=0

# --- a state.db that is not the agent's ---
# notours DESC: $T/alien.data/state.db is refused, named, left as it was.
notours() {
	local before after rc
	before=$(sha "$T/alien.data/state.db")
	timeout 60 "$VIGIL_AGENT" --hub-details "$T/good.xml" \
		--data-dir "$T/alien.data" --config "$T/ok.conf" \
		>"$T/alien.out" 2>&1 </dev/null
	rc=$?
	after=$(sha "$T/alien.data/state.db")
	check "$1: exit 1 (exit $rc)" test "$rc" -eq 1
	check "$1: the message names state.db" grep -q 'state.db' "$T/alien.out"
	[ "$rc" -eq 1 ] || sed 's/^/    out: /' "$T/alien.out" | tail -5
	check "$1: the file is untouched" test "$before" = "$after"
	check "$1: no journal left beside it" \
		test ! -e "$T/alien.data/state.db-wal" -a ! -e "$T/alien.data/state.db-journal"
}
hubdetails_for_test "$T/good.xml"
mkdir -p "$T/alien.data"
chmod 700 "$T/alien.data"
head -c 65536 /dev/urandom >"$T/alien.data/state.db"
notours "a state.db of random bytes"
rm -f "$T/alien.data/"*
sqlite3 "$T/alien.data/state.db" "pragma application_id = 1234;
	create table notes (t text); insert into notes values ('mine');"
notours "a state.db of another SQLite application"
check "the other application's data is still there" \
	test "$(sqlite3 "$T/alien.data/state.db" 'select t from notes')" = mine
check "status on a foreign state.db fails without crashing" \
	bash -c '"$1" status --data-dir "$2" --json >/dev/null 2>&1; rc=$?; [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ]' \
	_ "$VIGIL_AGENT" "$T/alien.data"

# --- the data dir on a full file system ---
if [ "$(id -u)" -ne 0 ]; then
	ok "# SKIP the full disk run needs root (a tmpfs mount)"
	hub_stop_checked
	hub_finish
	exit $?
fi
mkdir -p "$T/small" "$T/fw"
for i in 1 2 3; do echo "file $i" >"$T/fw/f$i"; done
if ! mount -t tmpfs -o size=1M,mode=0700 tmpfs "$T/small"; then
	ok "# SKIP no tmpfs mount here"
	hub_stop_checked
	hub_finish
	exit $?
fi
undo "umount -l $T/small"
agent_setup full
AGENT_DATA=$T/small/data
mkdir -p "$AGENT_DATA"
chmod 700 "$AGENT_DATA"
agent_start
agent_registered 60 || { not_ok "the agent did not register"; show_agent_log; hub_abort; }
ok "the agent runs with its data dir on a 1 MiB tmpfs (device $DEV)"
# The hourly schedule: what was lost to the full disk must come back by a
# rescan the agent asks for itself, not by the next scheduled scan.
setup_group full "$(jq -nc --arg d "$T/fw" '{paths: [$d], realtime: true, schedule: 3600}')"
check "the agent runs the policy" wait_policy 40
check "the realtime watcher reports a probe file" realtime_ready "$T/fw"
# Fill the file system to the last block.
dd if=/dev/zero of="$T/small/filler" bs=4k >/dev/null 2>&1
dd if=/dev/zero of="$T/small/filler2" bs=512 >/dev/null 2>&1
check "the data dir's file system is full ($(df --output=avail "$T/small" | tail -1 | tr -d ' ') KiB left)" \
	test "$(df --output=avail "$T/small" | tail -1)" -eq 0
for i in $(seq 1 30); do echo "while full $i" >"$T/fw/full$i"; done
echo "changed while full" >>"$T/fw/f1"
reports_space() {
	grep -qiE 'no space|full|ENOSPC|disk' "$AGENT_LOG" ||
		{ agent_status; st last_error | grep -qiE 'no space|full|disk'; }
}
check "the agent reports the full disk" wait_until 30 reports_space
grep -iE 'no space|full|ENOSPC|disk' "$AGENT_LOG" | head -3 | sed 's/^/    log: /'
check "the agent is still running on the full disk" agent_alive
rm -f "$T/small/filler" "$T/small/filler2"
ok "space returned ($(df --output=avail "$T/small" | tail -1 | tr -d ' ') KiB free)"
check "the agent is still running" agent_alive
echo "after the space returned" >"$T/fw/after.txt"
check "a change made after the space returned is reported" \
	wait_events 60 1 ".path == \"$T/fw/after.txt\" and .type == \"added\"" \
	"q=$T/fw/after.txt"
# Nothing lost: the changes the agent could not queue while the disk was
# full come back by a rescan once it can write again.
full_reported() {
	has_events 30 '.type == "added" and (.path | test("/full[0-9]+$"))' \
		"q=$T/fw/full"
}
check "the 30 files made while the disk was full are reported (a rescan, not the hourly schedule)" \
	wait_until 90 full_reported
dev_events "q=$T/fw/full"
check "... each once" test -z "$(jq -r 'select(.type == "added") | .path' \
	"$T/all.json" | sort | uniq -d)"
check "the change of f1 made while full is reported" \
	wait_events 30 1 ".path == \"$T/fw/f1\" and .type == \"changed\"" "q=$T/fw/f1"
agent_stop_checked
check "state.db integrity_check is ok" \
	test "$(sqlite3 "$AGENT_DATA/state.db" 'pragma integrity_check' 2>&1)" = ok
hub_stop_checked
hub_finish
