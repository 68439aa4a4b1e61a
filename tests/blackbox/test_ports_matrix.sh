#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# `vigil ports` (list): the port matrix and the firewall rules, from the
# outside. Deployment files of three shapes: a hub alone (two flows from
# any source, nothing else, no Telnet in any format), a hub on a custom
# port with known console and agent networks (sources narrowed, that
# port everywhere), and proxies with SSH, Telnet and SMB devices on
# default and custom ports, IPv4 and IPv6 (a flow per port, Telnet alone
# insecure with advice, proxies among the agents' sources). Every format
# of the last: nftables loads (nft -c, then nft -f twice: the same
# ruleset) in a throwaway network namespace, iptables runs there too,
# firewalld, ufw and PowerShell are read line by line; --role, --proxy
# and --policy drop pick and tighten the rules. Names resolve to both
# families at render time (from a hosts file of the test's own: every
# vigil runs in a mount namespace where /etc/hosts is that file and no
# DNS server answers); a name that does not resolve is an error naming
# it and its line. Bad deployment files (keyword, order, network, port,
# repeated or missing hub, limits of size, line and hosts, binary
# garbage, a missing file) are refused with exit 2 and a message naming
# file and line. The other sources: HubDetails.xml; a real hub (and a
# real agent registered with it) through --hub-conf, read while the hub
# runs, and through --api with a pinned thumbprint or --insecure, wrong
# passwords refused without showing them; proxied devices added through
# the API make the agent a proxy in both (SSH on 22, Telnet on 2323
# flagged insecure, SMB on 445 to a Windows host, the proxy's and the
# devices' rules; a device name
# that does not resolve refused in the rules, naming it); and no source
# at all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"

if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null ||
    ! unshare -n true 2>/dev/null; then
	ok "# SKIP the ports matrix tests need root and mount and network namespaces"
	finish
	exit 0
fi

# Names the deployments use: each resolves to one IPv4 and one IPv6
# address, from this file only.
cat >"$T/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost
192.0.2.10	hub.example.net
2001:db8::10	hub.example.net
10.0.0.10	px2.example.net
fd00::10	px2.example.net
10.5.0.1	rtr1.example.net
fd00:5::1	rtr1.example.net
EOF
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$T/resolv.conf"

# vx ARGS...: `vigil ports ARGS...` (from $T, so file names are short)
# in a mount namespace of its own, names resolving from $T/hosts only.
vx() {
	(cd "$T" && timeout 120 unshare -m sh -c '
	    mount --bind "$1" /etc/hosts || exit 97
	    if [ -e /etc/resolv.conf ]; then
		mount --bind "$2" /etc/resolv.conf || exit 97
	    fi
	    shift 2
	    exec "$@"' vx "$T/hosts" "$T/resolv.conf" "$VIGIL" ports "$@")
}

# pl WANT DESC ARGS...: vx ARGS..., exit status WANT; output in $T/out,
# messages in $T/err.
pl() {
	local want=$1 desc=$2
	shift 2
	run "$want" "$desc" vx "$@"
}

# keep NAME: the last output, kept as $T/NAME.
keep() {
	cp "$T/out" "$T/$1"
}

# deploy FILE LINE...: a deployment file in $T, one line per argument.
deploy() {
	local f=$1
	shift
	printf '%s\n' "$@" >"$T/$f"
}

# jx DESC EXPR...: every jq expression is true for the JSON in $T/out.
jx() {
	local desc=$1 e
	shift
	for e in "$@"; do
		if [ "$(jq -r "$e" "$T/out" 2>/dev/null)" != true ]; then
			not_ok "$desc: jq '$e' gives $(jq -c "$e" "$T/out" 2>&1 |
			    head -c 400)"
			return 1
		fi
	done
	ok "$desc"
}

show() {
	sed 's/^/    | /' "$1" | head -"${2:-40}"
}

# line_with FILE REGEX...: one line of FILE matches every regex.
line_with() {
	local f=$1 lines p
	shift
	lines=$(cat "$f")
	for p in "$@"; do
		lines=$(grep -E -- "$p" <<<"$lines") || {
			echo "    (no line of $(basename "$f") matches all of: $*)"
			show "$f"
			return 1
		}
	done
}

# no_line_with FILE REGEX...: no line of FILE matches every regex.
no_line_with() {
	local f=$1 lines p
	shift
	lines=$(cat "$f")
	for p in "$@"; do
		lines=$(grep -E -- "$p" <<<"$lines") || return 0
	done
	echo "    (lines of $(basename "$f") match all of: $*:)"
	printf '%s\n' "$lines" | sed 's/^/    | /' | head -10
	return 1
}

# every_line FILE SELECT REQUIRE: every line matching SELECT matches
# REQUIRE (extended regexes), and at least one line matches SELECT.
every_line() {
	local bad
	grep -qE -- "$2" "$1" || {
		echo "    (no line of $(basename "$1") matches $2)"
		show "$1"
		return 1
	}
	bad=$(grep -E -- "$2" "$1" | grep -vE -- "$3") || return 0
	echo "    (lines matching $2 without $3:)"
	printf '%s\n' "$bad" | sed 's/^/    | /' | head -10
	return 1
}

# only_cmds FILE REGEX: every line but blanks and # comments matches.
only_cmds() {
	local bad
	bad=$(grep -vE '^[[:space:]]*(#|$)' "$1" | grep -vE -- "$2") || return 0
	echo "    (lines of $(basename "$1") that are not $2:)"
	printf '%s\n' "$bad" | sed 's/^/    | /' | head -10
	return 1
}

# rows FILE: the rows of a table output, each joined on one line.
rows() {
	awk '/FROM.*TO.*PORT.*OPENED BY.*PURPOSE/ { t = 1; next }
	    t && /^[[:space:]]*$/ { exit }
	    t && /^[0-9]+ / { if (r != "") print r; r = $0; next }
	    t { sub(/^[[:space:]]+/, ""); r = r " " $0 }
	    END { if (r != "") print r }' "$1"
}

HAVE_NFT=1
command -v nft >/dev/null || HAVE_NFT=0
HAVE_IPT=1
command -v iptables >/dev/null && command -v ip6tables >/dev/null || HAVE_IPT=0

# nft_loads FILE: the rules pass `nft -c`, load into a throwaway network
# namespace, and load there again to the same ruleset (the flush table
# idiom). The ruleset is left in $T/nft.list.
nft_loads() {
	local rc
	if [ "$HAVE_NFT" = 0 ]; then
		echo "    (nft is missing: scripts/install-deps.sh test installs nftables)"
		return 1
	fi
	unshare -n sh -c 'nft -c -f "$1" || exit 11
	    nft -f "$1" || exit 12
	    nft list ruleset >"$2.1" || exit 13
	    nft -f "$1" || exit 14
	    nft list ruleset >"$2"' nft "$1" "$T/nft.list" >"$T/nft.err" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "    (nft step $((rc - 10)) failed on $(basename "$1"), exit $rc:)"
		sed 's/^/    nft: /' "$T/nft.err" | head -15
		return 1
	fi
	cmp -s "$T/nft.list.1" "$T/nft.list" || {
		echo "    (loading $(basename "$1") twice gives another ruleset:)"
		diff "$T/nft.list.1" "$T/nft.list" | head -20 | sed 's/^/    /'
		return 1
	}
	grep -q 'table inet vigil_' "$T/nft.list" || {
		echo "    (no vigil table in the ruleset loaded)"
		return 1
	}
}

# ipt_runs FILE: the iptables script runs (sh -e) in a throwaway network
# namespace; iptables -S and ip6tables -S then go to $T/ipt.list.
ipt_runs() {
	unshare -n sh -c 'sh -e "$1" || exit 11
	    iptables -S && ip6tables -S' ipt "$1" >"$T/ipt.list" 2>"$T/ipt.err"
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "    (the iptables script $(basename "$1") failed, exit $rc:)"
		sed 's/^/    err: /' "$T/ipt.err" | head -15
		return 1
	fi
}

FORMATS="table json nftables iptables firewalld ufw windows"

# =====================================================================
# The hub's own sources, in a network namespace (in_netns hub): a real
# hub on a free port, listening on every address of the namespace; a
# real agent registered from 10.77.0.1 (a veth address, not loopback:
# the address the hub sees it from).
# =====================================================================
hub_part() {
	local aip=10.77.0.1 thumb conf=$T/hub.conf p1 host pname cid src
	local repo=${VIGIL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
	. "$(dirname "$0")/agent_lib.sh"
	ip link add pmA type veth peer name pmB &&
	    ip addr add "$aip/24" dev pmA && ip link set pmA up &&
	    ip link set pmB up || {
		not_ok "a veth pair with $aip in the namespace"
		hub_abort
	}
	wait_until 10 sh -c "ip -br link show pmA | grep -q ' UP '" ||
	    not_ok "pmA comes up"
	hub_init hub || hub_abort
	cat >"$conf" <<-EOF
	listen = 0.0.0.0:$HUB_PORT
	data_dir = $HUB_DIR
	url = https://$aip:$HUB_PORT/api/
	profiles_dir = $repo/dist/profiles
	EOF
	hub_start -c "$conf" --listen "0.0.0.0:$HUB_PORT" || hub_abort
	ok "hub runs (port $HUB_PORT, pid $HUB_PID)"
	p1=$HUB_PORT

	# --- --hub-conf, before any agent: agents from anywhere ---
	pl 0 "--hub-conf with no device yet" --hub-conf "$conf" --format json
	jx "... the hub's host (its url) and port; agents from any source" \
	    ".hub == {host: \"$aip\", port: $p1}" '(.flows | length) == 2' \
	    "[.flows[].port] == [$p1, $p1]" \
	    '.flows[1].from.hosts == ["any"]' '.flows[0].from.hosts == ["any"]' \
	    "(.source | contains(\"hub.conf\"))"

	# --- a real agent registers ---
	agent_setup a1
	sed -i "s|<Url>[^<]*</Url>|<Url>https://$aip:$HUB_PORT/api/</Url>|" \
	    "$AGENT_XML"
	agent_start
	if agent_registered 60; then
		ok "an agent registered (device $DEV)"
	else
		not_ok "the agent did not register within 60 s"
		show_agent_log
	fi
	agent_stop_checked
	check "the hub saw the agent at $aip (device.peer)" test \
	    "$(sqlite3 "$HUB_DIR/hub.db" 'select group_concat(peer) from device' \
	    2>&1)" = "$aip"

	# --- --hub-conf while the hub runs ---
	pl 0 "--hub-conf while the hub runs (read only)" --hub-conf "$conf" \
	    --format json
	jx "... the hub's port, and the agent's address as the agents' source" \
	    ".hub == {host: \"$aip\", port: $p1}" '(.flows | length) == 2' \
	    "[.flows[].port] == [$p1, $p1]" \
	    "[.flows[].to.hosts] == [[\"$aip\"], [\"$aip\"]]" \
	    ".flows[1].from.hosts == [\"$aip\"]" \
	    '.flows[1].from.role == "agent"' '.flows[0].from.hosts == ["any"]'
	jq -S .flows "$T/out" >"$T/flows.hubconf"
	check "the hub still runs" hub_alive
	pl 0 "--hub-conf --format nftables --role hub" --hub-conf "$conf" \
	    --format nftables --role hub
	keep hubconf.nft
	check "... lets the agent's address in on the hub's port" line_with \
	    "$T/hubconf.nft" "ip saddr $aip" "tcp dport $p1 " accept
	check "... and loads" nft_loads "$T/hubconf.nft"
	pl 0 "--hub-conf table" --hub-conf "$conf"
	check "... names the hub's port" has "$T/out" "$p1/tcp"
	check "... and the agent's address" has "$T/out" "$aip"

	# --- --data-dir, and a data folder that is not there ---
	printf 'listen = 127.0.0.1:%s\ndata_dir = %s\n' "$p1" "$T/nowhere" \
	    >"$T/hub2.conf"
	pl 2 "--hub-conf naming a data folder that does not exist" \
	    --hub-conf "$T/hub2.conf"
	check "... the message names the database and --data-dir" sh -c \
	    "grep -qF '$T/nowhere' '$T/err' && grep -qF -- '--data-dir' '$T/err'"
	pl 0 "--hub-conf with --data-dir" --hub-conf "$T/hub2.conf" \
	    --data-dir "$HUB_DIR" --format json
	jx "... the listen address is the hub's host; the agent from the database" \
	    ".hub == {host: \"127.0.0.1\", port: $p1}" \
	    ".flows[1].from.hosts == [\"$aip\"]"
	printf 'listen = 0.0.0.0:%s\ndata_dir = %s\n' "$p1" "$HUB_DIR" \
	    >"$T/hub3.conf"
	host=$(hostname)
	pl 0 "--hub-conf listening on every address, no url" \
	    --hub-conf "$T/hub3.conf" --format json
	jx "... the hub's host is its host name ($host)" \
	    ".hub == {host: \"$host\", port: $p1}"

	# --- --api ---
	thumb=$(xml_field Thumbprint)
	export VIGIL_PASSWORD=$ADMIN_PW
	pl 0 "--api with --thumbprint (the hub's)" --api \
	    "https://$aip:$HUB_PORT/api/" --user admin --thumbprint "$thumb" \
	    --format json
	jx "... the hub and the agent as --hub-conf gives them" \
	    ".hub == {host: \"$aip\", port: $p1}" \
	    ".flows[1].from.hosts == [\"$aip\"]" "[.flows[].port] == [$p1, $p1]"
	check "... the very same flows" cmp -s "$T/flows.hubconf" \
	    <(jq -S .flows "$T/out")
	count_leaks "$T/out" "$T/err" -- "$ADMIN_PW"
	check "... the password shows nowhere" test "$LEAKS" -eq 0
	pl 0 "--api with the thumbprint in colon form" --api \
	    "https://$aip:$HUB_PORT/api/" --user admin \
	    --thumbprint "$(sed 's/../&:/g; s/:$//' <<<"$thumb")" --format json
	jx "... same hub" ".hub == {host: \"$aip\", port: $p1}"
	pl 0 "--api with --insecure" --api "https://$aip:$HUB_PORT/api/" \
	    --user admin --insecure --format json
	check "... the very same flows" cmp -s "$T/flows.hubconf" \
	    <(jq -S .flows "$T/out")
	pl 0 "--api, nftables for the hub" --api "https://$aip:$HUB_PORT/api/" \
	    --user admin --insecure --format nftables --role hub
	check "... lets the agent in on the hub's port" line_with "$T/out" \
	    "ip saddr $aip" "tcp dport $p1 " accept
	pl 2 "--api without --thumbprint or --insecure (a self-signed hub)" \
	    --api "https://$aip:$HUB_PORT/api/" --user admin --format json
	check "... the message is about the certificate" grep -qi certificate \
	    "$T/err"
	pl 2 "--api pinning another thumbprint" --api \
	    "https://$aip:$HUB_PORT/api/" --user admin \
	    --thumbprint "$(printf 'AB%.0s' $(seq 32))" --format json
	check "... the message is about the certificate or thumbprint" \
	    grep -qiE 'certificate|thumbprint' "$T/err"
	pl 2 "--api over plain http" --api "http://$aip:$HUB_PORT/api/" \
	    --user admin --insecure
	check "... the message asks for https" grep -qi https "$T/err"
	pl 2 "--api without --user" --api "https://$aip:$HUB_PORT/api/" \
	    --insecure
	check "... the message names --user" grep -qF -- --user "$T/err"
	unset VIGIL_PASSWORD
	pl 2 "--api without \$VIGIL_PASSWORD" --api \
	    "https://$aip:$HUB_PORT/api/" --user admin --insecure
	check "... the message names VIGIL_PASSWORD" has "$T/err" VIGIL_PASSWORD
	export VIGIL_PASSWORD="Wr0ng-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')"
	pl 2 "--api with a wrong password" --api \
	    "https://$aip:$HUB_PORT/api/" --user admin --insecure
	check "... a clear message (sign-in refused: 401 / password)" \
	    grep -qiE '401|password|unauthori|sign' "$T/err"
	count_leaks "$T/out" "$T/err" -- "$VIGIL_PASSWORD" "$ADMIN_PW"
	check "... no password shows" test "$LEAKS" -eq 0
	unset VIGIL_PASSWORD

	# --- proxied devices: the agent becomes a proxy ---
	admin_session || hub_abort
	api GET "/devices/$DEV"
	expect "the agent's device" 200 '.kind == "agent"'
	pname=$(jq -r .name "$T/body")
	api POST /credentials '{"name": "lab", "username": "netops",
	    "password": "n0t-a-real-one"}'
	expect "a credential" 201 '.id > 0'
	cid=$(jq -r .id "$T/body")
	for dev in "r1 10.78.0.21 22 ssh" "sw1 10.78.0.22 2323 telnet"; do
		set -- $dev
		api POST /devices "$(jq -nc --arg n "$1" --arg h "$2" \
		    --argjson port "$3" --arg pr "$4" --argjson c "$cid" \
		    --argjson px "$DEV" '{name: $n, type: "network", host: $h,
		      port: $port, protocol: $pr, profile: "ios",
		      credential_id: $c, proxy_id: $px, schedule: 3600}')"
		expect "proxied device $1 ($4 on $2:$3) behind the agent" 201 \
		    '.kind == "proxied"'
	done
	api POST /devices "$(jq -nc --argjson c "$cid" --argjson px "$DEV" \
	    '{name: "win1", type: "windows", host: "10.78.0.23",
	      credential_id: $c, proxy_id: $px, schedule: 3600}')"
	expect "a Windows host (SMB on 445) behind the agent" 201 \
	    '.proxied.protocol == "smb"' '.proxied.port == 445'
	export VIGIL_PASSWORD=$ADMIN_PW
	for src in hub-conf api; do
		if [ "$src" = hub-conf ]; then
			set -- --hub-conf "$conf"
		else
			set -- --api "https://$aip:$HUB_PORT/api/" --user admin \
			    --thumbprint "$thumb"
		fi
		pl 0 "--$src with proxied devices" "$@" --format json
		jx "... the agent is a proxy ($pname at $aip), and still an agent" \
		    '(.flows | length) == 5' ".flows[1].from.hosts == [\"$aip\"]" \
		    "[.flows[2:][].from] | unique == [{role: \"proxy\",
		      proxy: \"$pname\", hosts: [\"$aip\"]}]"
		jx "... SSH to its device on 22" \
		    '.flows[2].to == {role: "device", hosts: ["10.78.0.21"]}' \
		    '.flows[2].port == 22' '.flows[2].service == "ssh"' \
		    '.flows[2].insecure == false' \
		    '.flows[2].opened_by == "the proxy agent"'
		jx "... Telnet to the other on 2323, flagged insecure" \
		    '.flows[3].to == {role: "device", hosts: ["10.78.0.22"]}' \
		    '.flows[3].port == 2323' '.flows[3].service == "telnet"' \
		    '.flows[3].insecure == true' '.flows[3].advice != null'
		jx "... SMB to the Windows host on 445" \
		    '.flows[4].to == {role: "device", hosts: ["10.78.0.23"]}' \
		    '.flows[4].port == 445' '.flows[4].service == "smb"' \
		    '.flows[4].insecure == false'
		jq -S .flows "$T/out" >"$T/flows.proxied.$src"
		pl 0 "--$src, nftables for the proxy" "$@" --format nftables \
		    --role proxy
		keep "proxied.$src.nft"
		check "... its section" grep -qE \
		    "^# -+ role: proxy $pname" "$T/proxied.$src.nft"
		check "... out to the SSH device on 22" line_with \
		    "$T/proxied.$src.nft" 'ip daddr 10\.78\.0\.21 tcp dport 22 accept'
		check "... out to the Telnet device on 2323" line_with \
		    "$T/proxied.$src.nft" \
		    'ip daddr 10\.78\.0\.22 tcp dport 2323 accept'
		check "... out to the Windows host on 445" line_with \
		    "$T/proxied.$src.nft" 'ip daddr 10\.78\.0\.23 tcp dport 445 accept'
		check "... the Telnet rule says insecure" every_line \
		    "$T/proxied.$src.nft" 'dport 2323 ' \
		    'comment "vigil: .*[Ii]nsecure'
		check "... and loads" nft_loads "$T/proxied.$src.nft"
		pl 0 "--$src, nftables for the devices" "$@" --format nftables \
		    --role device --proxy "$pname"
		check "... in from the proxy's address on 22, 2323 and 445" sh -c "
		    grep -qE 'ip saddr $aip tcp dport 22 accept' '$T/out' &&
		    grep -qE 'ip saddr $aip tcp dport 2323 accept' '$T/out' &&
		    grep -qE 'ip saddr $aip tcp dport 445 accept' '$T/out'" ||
		    show "$T/out"
	done
	check "--hub-conf and --api give the very same flows" cmp -s \
	    "$T/flows.proxied.hub-conf" "$T/flows.proxied.api"
	# A device on a name that does not resolve: listed as written; the
	# rules that need its address are refused, naming it.
	api POST /devices "$(jq -nc --argjson c "$cid" --argjson px "$DEV" \
	    '{name: "gone", type: "network", host: "gone.example.net",
	      protocol: "ssh", profile: "ios", credential_id: $c,
	      proxy_id: $px, schedule: 3600}')"
	expect "proxied device gone on a name that does not resolve" 201
	pl 0 "--hub-conf lists it" --hub-conf "$conf" --format json
	jx "... on port 22, with the other SSH device" \
	    '.flows[2].to.hosts == ["10.78.0.21", "gone.example.net"]'
	pl 2 "--hub-conf, nftables for the proxy: refused" --hub-conf "$conf" \
	    --format nftables --role proxy
	check "... naming the name" grep -qF 'gone.example.net: name not resolved' \
	    "$T/err"
	unset VIGIL_PASSWORD

	# --- the agent's own HubDetails.xml ---
	pl 0 "--hubdetails of the registered agent" --hubdetails "$AGENT_XML" \
	    --format json
	jx "... the hub it reports to" ".hub == {host: \"$aip\", port: $p1}" \
	    ".flows[1].to.hosts == [\"$aip\"]" ".flows[1].port == $p1"

	check "the hub still runs" hub_alive
	hub_stop_checked
}

if [ "${1:-}" = hub ]; then
	hub_part
	hub_finish
	exit
fi

if [ "$HAVE_NFT" = 0 ]; then
	not_ok "nft is missing: scripts/install-deps.sh test installs nftables"
fi

# =====================================================================
# (a) A hub alone.
# =====================================================================
deploy a.conf "hub hub.example.net"
pl 0 "(a) hub alone: json" --deployment a.conf --format json
jx "(a) the hub on 443, console and agent flows from any source only" \
    '.hub == {host: "hub.example.net", port: 443}' '(.flows | length) == 2' \
    '[.flows[].id] == [1, 2]' '[.flows[].port] == [443, 443]' \
    '[.flows[].protocol] == ["tcp", "tcp"]' \
    '[.flows[].service] == ["https", "https"]' \
    '.flows[0].from == {role: "console", proxy: null, hosts: ["any"]}' \
    '.flows[1].from == {role: "agent", proxy: null, hosts: ["any"]}' \
    '[.flows[].to] == [{role: "hub", hosts: ["hub.example.net"]}, {role: "hub", hosts: ["hub.example.net"]}]' \
    '.flows[0].opened_by == "the user'"'"'s browser"' \
    '.flows[1].opened_by == "the agent"' \
    '[.flows[].insecure] == [false, false]' \
    '[.flows[].advice] == [null, null]' '.inbound_on_agents == []' \
    '(.note | contains("need no inbound port"))' \
    '(.source | endswith("a.conf"))'
for f in $FORMATS; do
	pl 0 "(a) --format $f" --deployment a.conf --format "$f"
	keep "a.$f"
	check "(a) $f: no Telnet, no port 22, 23 or 445" sh -c "
	    ! grep -qi telnet '$T/a.$f' &&
	    ! grep -qE '(^|[^0-9.])(22|23|445)([^0-9.]|\$)' '$T/a.$f'" ||
	    show "$T/a.$f"
done
check "(a) table: two rows" test "$(rows "$T/a.table" | wc -l)" -eq 2
check "(a) table: both from any source" every_line <(rows "$T/a.table") \
    '443/tcp' 'any'
check "(a) table: nothing INSECURE" lacks "$T/a.table" INSECURE
check "(a) table: agents need no inbound port" sh -c "tr -s ' \n' '  ' \
    <'$T/a.table' | grep -qF 'Agents and proxy agents need no inbound port'"
check "(a) nftables: no proxy or device table" sh -c \
    "! grep -qE 'vigil_(proxy|device)' '$T/a.nftables'"
pl 0 "(a) nftables, hub" --deployment a.conf --format nftables --role hub
keep a.hub.nft
check "(a) the hub's rules take 443 from any address (no saddr)" \
    every_line "$T/a.hub.nft" 'dport' '^[[:space:]]*tcp dport 443 accept'
check "(a) ... and load" nft_loads "$T/a.hub.nft"
pl 0 "(a) nftables, agent" --deployment a.conf --format nftables --role agent
keep a.agent.nft
check "(a) agents go out to the hub's IPv4 address" line_with \
    "$T/a.agent.nft" 'ip daddr 192\.0\.2\.10' 'tcp dport 443 ' accept
check "(a) ... and its IPv6 address" line_with "$T/a.agent.nft" \
    'ip6 daddr 2001:db8::10' 'tcp dport 443 ' accept
check "(a) ... the name kept in a comment" line_with "$T/a.agent.nft" \
    '^[[:space:]]*#' hub.example.net
check "(a) ... in an output chain" has "$T/a.agent.nft" \
    "type filter hook output priority filter;"
check "(a) ... and load" nft_loads "$T/a.agent.nft"
pl 0 "(a) iptables, hub" --deployment a.conf --format iptables --role hub
check "(a) iptables: 443 from any (no -s), both families" sh -c "
    grep -qE '^iptables -A INPUT -p tcp --dport 443 .*-j ACCEPT' '$T/out' &&
    grep -qE '^ip6tables -A INPUT -p tcp --dport 443 .*-j ACCEPT' '$T/out' &&
    ! grep -qE ' -s ' '$T/out'" || show "$T/out"
pl 0 "(a) firewalld, hub" --deployment a.conf --format firewalld --role hub
check "(a) firewalld: --add-port=443/tcp" has "$T/out" \
    "firewall-cmd --permanent --add-port=443/tcp"
pl 0 "(a) ufw, hub" --deployment a.conf --format ufw --role hub
check "(a) ufw: from any to any port 443" line_with "$T/out" \
    "^ufw allow proto tcp from any to any port 443 comment '"
pl 0 "(a) windows, hub" --deployment a.conf --format windows --role hub
check "(a) windows: inbound 443 with no -RemoteAddress" every_line \
    "$T/out" '^New-NetFirewallRule' \
    '-Direction Inbound -Protocol TCP -LocalPort 443 -Action Allow'

# =====================================================================
# (b) A custom port, known consoles and agents.
# =====================================================================
deploy b.conf "# the hub on 8443" "hub hub.example.net:8443" \
    "agents 10.1.0.0/16 192.0.2.7   # two sites" "console 10.9.0.0/24"
pl 0 "(b) custom port: json" --deployment b.conf --format json
jx "(b) 8443 everywhere, the sources narrowed" \
    '.hub == {host: "hub.example.net", port: 8443}' \
    '(.flows | length) == 2' '[.flows[].port] == [8443, 8443]' \
    '.flows[0].from.hosts == ["10.9.0.0/24"]' \
    '(.flows[1].from.hosts | sort) == ["10.1.0.0/16", "192.0.2.7"]' \
    '.flows[0].to.hosts == ["hub.example.net"]'
for f in $FORMATS; do
	pl 0 "(b) --format $f" --deployment b.conf --format "$f"
	keep "b.$f"
	check "(b) $f: port 8443, no 443 and no Telnet" sh -c "
	    grep -q 8443 '$T/b.$f' && ! grep -qi telnet '$T/b.$f' &&
	    ! grep -qE '(^|[^0-9.])(443|23)([^0-9.]|\$)' '$T/b.$f'" ||
	    show "$T/b.$f"
done
check "(b) table: the console row names 10.9.0.0/24" line_with \
    <(rows "$T/b.table") '^1 ' '10\.9\.0\.0/24' '8443/tcp'
check "(b) table: the agents row names both sources" line_with \
    <(rows "$T/b.table") '^2 ' '10\.1\.0\.0/16' '192\.0\.2\.7' '8443/tcp'
check "(b) table: no source is any" sh -c "! grep -qw any '$T/b.table'"
pl 0 "(b) nftables, hub" --deployment b.conf --format nftables --role hub
keep b.hub.nft
check "(b) every rule to 8443 names its sources" every_line \
    "$T/b.hub.nft" 'dport 8443' 'ip6? saddr'
check "(b) the console network" line_with "$T/b.hub.nft" \
    'ip saddr 10\.9\.0\.0/24' 'tcp dport 8443 ' accept 'comment "vigil: '
check "(b) the agents' network and address" line_with "$T/b.hub.nft" \
    'ip saddr' '10\.1\.0\.0/16' '192\.0\.2\.7' 'tcp dport 8443 '
check "(b) ... and load" nft_loads "$T/b.hub.nft"
check "(b) ... loaded with the networks and port" sh -c \
    "grep -q '10.9.0.0/24' '$T/nft.list' && grep -q 'dport 8443' '$T/nft.list'"
check "(b) iptables: every inbound rule has its source" every_line \
    "$T/b.iptables" '-A INPUT' ' -s [0-9]'
check "(b) ufw: no rule from any" sh -c "! grep -q 'from any' '$T/b.ufw'"
check "(b) ufw: the console network" line_with "$T/b.ufw" \
    '^ufw allow proto tcp from 10\.9\.0\.0/24 to any port 8443 '
check "(b) firewalld: rich rules only (no --add-port)" sh -c \
    "! grep -q -- '--add-port' '$T/b.firewalld'"
check "(b) firewalld: the agents' network" line_with "$T/b.firewalld" \
    "rule family=\"ipv4\" source address=\"10\\.1\\.0\\.0/16\" port port=\"8443\" protocol=\"tcp\" accept"
check "(b) windows: every inbound rule has -RemoteAddress" every_line \
    "$T/b.windows" '-Direction Inbound' '-RemoteAddress "'
check "(b) windows: agents' sources" line_with "$T/b.windows" \
    '-Direction Inbound' '-LocalPort 8443 ' '10\.1\.0\.0/16' '192\.0\.2\.7'

# =====================================================================
# (c) Proxies and their devices.
# =====================================================================
deploy c.conf "hub 10.0.0.1" "console 10.9.0.0/24" \
    "agents 10.1.0.0/16 fd00:1::/64" \
    "proxy 10.0.0.9" \
    "ssh 10.2.0.0/24 10.2.1.5 [fd00:2::5]:2222" \
    "telnet 10.3.0.1 10.3.0.2:2323" \
    "smb 10.4.0.0/24 fd00:4::7" \
    "proxy px2.example.net" \
    "ssh rtr1.example.net"
pl 0 "(c) proxies: json" --deployment c.conf --format json
keep c.json
jx "(c) the flows in order: hub twice, then per proxy ssh, telnet, smb per port" \
    '[.flows[].id] == [1, 2, 3, 4, 5, 6, 7, 8]' \
    '[.flows[] | [.service, .port]] == [["https", 443], ["https", 443], ["ssh", 22], ["ssh", 2222], ["telnet", 23], ["telnet", 2323], ["smb", 445], ["ssh", 22]]' \
    'all(.flows[]; .protocol == "tcp")'
jx "(c) the proxies are among the agents' sources" \
    '(.flows[1].from.hosts | sort) == (["10.1.0.0/16", "fd00:1::/64", "10.0.0.9", "px2.example.net"] | sort)' \
    '.flows[0].from.hosts == ["10.9.0.0/24"]'
jx "(c) proxy flows: from the proxy to its devices, as written, ports dropped" \
    '[.flows[2:][] | .from.role] == ["proxy", "proxy", "proxy", "proxy", "proxy", "proxy"]' \
    '[.flows[2:][] | .to.role] == ["device", "device", "device", "device", "device", "device"]' \
    '[.flows[2:7][] | .from.proxy] == ["10.0.0.9", "10.0.0.9", "10.0.0.9", "10.0.0.9", "10.0.0.9"]' \
    '[.flows[2:7][] | .from.hosts] == [["10.0.0.9"], ["10.0.0.9"], ["10.0.0.9"], ["10.0.0.9"], ["10.0.0.9"]]' \
    '.flows[7].from == {role: "proxy", proxy: "px2.example.net", hosts: ["px2.example.net"]}' \
    '.flows[2].to.hosts == ["10.2.0.0/24", "10.2.1.5"]' \
    '.flows[3].to.hosts == ["fd00:2::5"]' '.flows[4].to.hosts == ["10.3.0.1"]' \
    '.flows[5].to.hosts == ["10.3.0.2"]' \
    '.flows[6].to.hosts == ["10.4.0.0/24", "fd00:4::7"]' \
    '.flows[7].to.hosts == ["rtr1.example.net"]' \
    'all(.flows[2:][]; .opened_by == "the proxy agent")'
jx "(c) purposes" \
    'all(.flows[] | select(.service == "ssh"); .purpose | startswith("SSH"))' \
    'all(.flows[] | select(.service == "telnet"); .purpose | startswith("Telnet"))' \
    'all(.flows[] | select(.service == "smb"); .purpose | startswith("SMB"))'
jx "(c) Telnet, and Telnet only, is insecure with advice to move to SSH" \
    '[.flows[] | select(.insecure) | .id] == [5, 6]' \
    '[.flows[] | select(.advice != null) | .id] == [5, 6]' \
    'all(.flows[] | select(.insecure); .advice | contains("SSH"))' \
    'all(.flows[] | select(.service == "telnet"); .insecure == true)'

pl 0 "(c) table" --deployment c.conf
keep c.table
rows "$T/c.table" >"$T/c.rows"
check "(c) table: a header naming the source and the hub" sh -c \
    "head -3 '$T/c.table' | grep -q c.conf && head -3 '$T/c.table' | grep -q 10.0.0.1" ||
    show "$T/c.table"
check "(c) table: the columns" line_with "$T/c.table" \
    '^#[[:space:]]+FROM[[:space:]]+TO[[:space:]]+PORT[[:space:]]+OPENED BY[[:space:]]+PURPOSE'
check "(c) table: eight rows" test "$(wc -l <"$T/c.rows")" -eq 8
n=0
for want in "1 443/tcp" "2 443/tcp" "3 22/tcp" "4 2222/tcp" "5 23/tcp" \
    "6 2323/tcp" "7 445/tcp" "8 22/tcp"; do
	line_with "$T/c.rows" "^${want% *} " " ${want#* } " >/dev/null || n=$((n + 1))
done
check "(c) table: each row's port (PORT/tcp)" test "$n" -eq 0
check "(c) table: the Telnet rows end with INSECURE" every_line \
    "$T/c.rows" ' (23|2323)/tcp ' 'INSECURE[[:space:]]*$'
check "(c) table: only they" test "$(grep -c INSECURE "$T/c.rows")" -eq 2
tr -s ' \n' '  ' <"$T/c.table" >"$T/c.flat"
check "(c) table: the advice to move to SSH (for flows 5 and 6)" sh -c "
    grep -qF 'move these devices to SSH' '$T/c.flat' &&
    grep -qE 'Flows? 5, 6 \(INSECURE\)' '$T/c.flat'" || show "$T/c.table" 60
check "(c) table: agents need no inbound port; the hub opens none" sh -c "
    grep -qF 'Agents and proxy agents need no inbound port' '$T/c.flat' &&
    grep -qF 'The hub opens no connection' '$T/c.flat'"
check "(c) table: proxy 10.0.0.9 opens the device flows" line_with \
    "$T/c.rows" '^3 ' 'proxy 10\.0\.0\.9' '10\.2\.0\.0/24' '10\.2\.1\.5' \
    'the proxy'

# --- nftables ---
pl 0 "(c) nftables, every role" --deployment c.conf --format nftables
keep c.nft
for sect in "hub 10.0.0.1" "agent" "proxy 10.0.0.9" "proxy px2.example.net" \
    "device"; do
	check "(c) nftables: a section '# ---- role: $sect'" line_with \
	    "$T/c.nft" "^# -+ role: $sect"
done
check "(c) nftables: every rule carries a vigil comment" every_line \
    "$T/c.nft" 'dport [0-9]+ accept' 'accept comment "vigil: '
pl 0 "(c) nftables, hub" --deployment c.conf --format nftables --role hub
keep c.hub.nft
check "(c) hub: table inet vigil_hub, flushed then defined" sh -c "
    grep -q '^table inet vigil_hub {}' '$T/c.hub.nft' &&
    grep -q '^flush table inet vigil_hub' '$T/c.hub.nft' &&
    grep -q '^table inet vigil_hub {\$' '$T/c.hub.nft'" || show "$T/c.hub.nft"
check "(c) hub: an input base chain" has "$T/c.hub.nft" \
    "type filter hook input priority filter;"
check "(c) hub: the console network on 443" line_with "$T/c.hub.nft" \
    'ip saddr 10\.9\.0\.0/24' 'tcp dport 443 accept' 'comment "vigil: '
check "(c) hub: agents and proxies (px2 resolved) over IPv4" line_with \
    "$T/c.hub.nft" 'ip saddr' '10\.1\.0\.0/16' '10\.0\.0\.9' '10\.0\.0\.10' \
    'tcp dport 443 accept'
check "(c) hub: ... and IPv6" line_with "$T/c.hub.nft" 'ip6 saddr' \
    'fd00:1::/64' 'fd00::10' 'tcp dport 443 accept'
check "(c) hub: nothing but 443" every_line "$T/c.hub.nft" 'dport' \
    'dport 443 '
check "(c) hub: no other table" sh -c \
    "! grep -qE 'vigil_(agent|proxy|device)' '$T/c.hub.nft'"
check "(c) hub rules load" nft_loads "$T/c.hub.nft"
check "(c) ... the loaded chain holds the networks" sh -c "
    grep -q '10.9.0.0/24' '$T/nft.list' && grep -q 'fd00:1::/64' '$T/nft.list'"
pl 0 "(c) nftables, agent" --deployment c.conf --format nftables --role agent
keep c.agent.nft
check "(c) agent: out to the hub on 443 only" every_line "$T/c.agent.nft" \
    'dport' 'ip daddr 10\.0\.0\.1 tcp dport 443 accept'
check "(c) agent: table vigil_agent, output chain" sh -c "
    grep -q 'table inet vigil_agent' '$T/c.agent.nft' &&
    grep -q 'hook output' '$T/c.agent.nft' &&
    ! grep -qE 'vigil_(hub|proxy|device)' '$T/c.agent.nft'"
check "(c) agent rules load" nft_loads "$T/c.agent.nft"
pl 0 "(c) nftables, --proxy 10.0.0.9" --deployment c.conf --format nftables \
    --proxy 10.0.0.9
keep c.px1.nft
check "(c) px1: only its section, table vigil_proxy" sh -c "
    grep -q 'table inet vigil_proxy' '$T/c.px1.nft' &&
    grep -qE '^# -+ role: proxy 10\.0\.0\.9' '$T/c.px1.nft' &&
    ! grep -q 'px2' '$T/c.px1.nft' &&
    ! grep -qE 'vigil_(hub|agent|device)' '$T/c.px1.nft'" || show "$T/c.px1.nft"
check "(c) px1: out to the hub" line_with "$T/c.px1.nft" \
    'ip daddr 10\.0\.0\.1 tcp dport 443 accept'
check "(c) px1: SSH to a /24 and an address" line_with "$T/c.px1.nft" \
    'ip daddr' '10\.2\.0\.0/24' '10\.2\.1\.5' 'tcp dport 22 accept'
check "(c) px1: SSH on 2222 over IPv6" line_with "$T/c.px1.nft" \
    'ip6 daddr fd00:2::5 tcp dport 2222 accept'
check "(c) px1: Telnet on 23" line_with "$T/c.px1.nft" \
    'ip daddr 10\.3\.0\.1 tcp dport 23 accept'
check "(c) px1: Telnet on 2323" line_with "$T/c.px1.nft" \
    'ip daddr 10\.3\.0\.2 tcp dport 2323 accept'
check "(c) px1: SMB, IPv4 network" line_with "$T/c.px1.nft" \
    'ip daddr 10\.4\.0\.0/24 tcp dport 445 accept'
check "(c) px1: SMB, IPv6 address" line_with "$T/c.px1.nft" \
    'ip6 daddr fd00:4::7 tcp dport 445 accept'
check "(c) px1: the Telnet rules say insecure" every_line "$T/c.px1.nft" \
    'dport (23|2323) ' 'comment "vigil: .*[Ii]nsecure'
check "(c) px1: no rule of px2's device" lacks "$T/c.px1.nft" 10.5.0.1
check "(c) px1 rules load" nft_loads "$T/c.px1.nft"
check "(c) ... with the Telnet ports" sh -c "
    grep -q 'dport 23 ' '$T/nft.list' && grep -q 'dport 2323 ' '$T/nft.list'"
pl 0 "(c) nftables, --role proxy --proxy px2.example.net" --deployment \
    c.conf --format nftables --role proxy --proxy px2.example.net
keep c.px2.nft
check "(c) px2: its device resolved, IPv4" line_with "$T/c.px2.nft" \
    'ip daddr 10\.5\.0\.1 tcp dport 22 accept'
check "(c) px2: ... and IPv6" line_with "$T/c.px2.nft" \
    'ip6 daddr fd00:5::1 tcp dport 22 accept'
check "(c) px2: the name kept in a comment" line_with "$T/c.px2.nft" \
    '^[[:space:]]*#' 'rtr1\.example\.net'
check "(c) px2: no Telnet, SMB or px1 devices" sh -c "
    ! grep -qi telnet '$T/c.px2.nft' && ! grep -q 'dport 445' '$T/c.px2.nft' &&
    ! grep -q '10.3.0.1' '$T/c.px2.nft'" || show "$T/c.px2.nft"
check "(c) px2 rules load" nft_loads "$T/c.px2.nft"
pl 0 "(c) nftables, --role proxy (both)" --deployment c.conf --format \
    nftables --role proxy
check "(c) both proxies' sections" sh -c "
    grep -qE '^# -+ role: proxy 10\.0\.0\.9' '$T/out' &&
    grep -qE '^# -+ role: proxy px2\.example\.net' '$T/out' &&
    ! grep -qE 'vigil_(hub|agent|device)' '$T/out'"
pl 0 "(c) nftables, devices" --deployment c.conf --format nftables --role device
keep c.dev.nft
check "(c) devices: table vigil_device, input chains only" sh -c "
    grep -q 'table inet vigil_device' '$T/c.dev.nft' &&
    grep -q 'hook input' '$T/c.dev.nft' && ! grep -q 'hook output' '$T/c.dev.nft' &&
    ! grep -qE 'vigil_(hub|agent|proxy)' '$T/c.dev.nft'"
for p in 22 2222 23 2323 445; do
	check "(c) devices: in from px1 on $p" line_with "$T/c.dev.nft" \
	    'ip saddr 10\.0\.0\.9' "tcp dport $p accept"
done
check "(c) devices: in from px2 (resolved) on 22" sh -c "
    grep -qE 'ip saddr 10\.0\.0\.10 tcp dport 22 accept' '$T/c.dev.nft' &&
    grep -qE 'ip6 saddr fd00::10 tcp dport 22 accept' '$T/c.dev.nft'"
check "(c) device rules load" nft_loads "$T/c.dev.nft"
pl 0 "(c) nftables, devices of px1" --deployment c.conf --format nftables \
    --role device --proxy 10.0.0.9
check "(c) devices of px1: nothing from px2" sh -c "
    ! grep -q '10.0.0.10' '$T/out' && grep -q 'ip saddr 10.0.0.9' '$T/out'"

# --- --policy drop, nftables ---
pl 0 "(c) nftables, hub, --policy drop" --deployment c.conf --format \
    nftables --role hub --policy drop
keep c.hub.drop.nft
check "(c) drop: the input chain drops the rest" has "$T/c.hub.drop.nft" \
    "type filter hook input priority filter; policy drop;"
check "(c) drop: established/related, loopback, ICMP and ICMPv6 accepted" sh -c "
    grep -q 'ct state established,related accept' '$T/c.hub.drop.nft' &&
    grep -qE 'iif(name)? \"?lo\"? accept' '$T/c.hub.drop.nft' &&
    grep -qE 'icmp.*accept' '$T/c.hub.drop.nft' &&
    grep -qE '(ipv6-icmp|icmpv6).*accept' '$T/c.hub.drop.nft'" ||
    show "$T/c.hub.drop.nft"
check "(c) drop: the flows still let in" line_with "$T/c.hub.drop.nft" \
    'ip saddr 10\.9\.0\.0/24' 'tcp dport 443 accept'
check "(c) drop: hub rules load" nft_loads "$T/c.hub.drop.nft"
check "(c) ... with policy drop" grep -q 'policy drop' "$T/nft.list"
pl 0 "(c) nftables, px1, --policy drop" --deployment c.conf --format \
    nftables --proxy 10.0.0.9 --policy drop
keep c.px1.drop.nft
check "(c) drop: the output chain drops the rest" has "$T/c.px1.drop.nft" \
    "type filter hook output priority filter; policy drop;"
check "(c) drop: DNS (53 udp and tcp), loopback, ICMP accepted out" sh -c "
    grep -q 'udp dport 53 accept' '$T/c.px1.drop.nft' &&
    grep -q 'tcp dport 53 accept' '$T/c.px1.drop.nft' &&
    grep -qE 'oif(name)? \"?lo\"? accept' '$T/c.px1.drop.nft' &&
    grep -q 'established,related accept' '$T/c.px1.drop.nft' &&
    grep -qE 'icmp.*accept' '$T/c.px1.drop.nft'" || show "$T/c.px1.drop.nft"
check "(c) drop: proxy rules load" nft_loads "$T/c.px1.drop.nft"
pl 0 "(c) nftables, devices, --policy drop" --deployment c.conf --format \
    nftables --role device --policy drop
check "(c) drop: device rules load" nft_loads "$T/out"

# --- iptables ---
pl 0 "(c) iptables, every role" --deployment c.conf --format iptables
keep c.ipt
check "(c) iptables: every command is iptables or ip6tables" only_cmds \
    "$T/c.ipt" '^(iptables|ip6tables) '
check "(c) iptables: every rule appends to INPUT or OUTPUT and accepts" \
    every_line "$T/c.ipt" '^ip6?tables ' '^ip6?tables -A (INPUT|OUTPUT) .*-j ACCEPT$'
check "(c) iptables: every rule carries a vigil comment" every_line \
    "$T/c.ipt" '--dport' '-m comment --comment "vigil: '
check "(c) iptables: IPv6 addresses with ip6tables only" sh -c "
    ! grep -E '^iptables .* -[sd] [0-9a-f]*:' '$T/c.ipt' | grep -q . &&
    ! grep -E '^ip6tables .* -[sd] [0-9]+\.' '$T/c.ipt' | grep -q ."
pl 0 "(c) iptables, hub" --deployment c.conf --format iptables --role hub
keep c.hub.ipt
check "(c) iptables hub: the console network" line_with "$T/c.hub.ipt" \
    '^iptables -A INPUT -p tcp -s 10\.9\.0\.0/24 --dport 443 -m comment --comment "vigil: [^"]*" -j ACCEPT$'
check "(c) iptables hub: the agents' IPv6 network" line_with \
    "$T/c.hub.ipt" '^ip6tables -A INPUT -p tcp -s fd00:1::/64 --dport 443 '
check "(c) iptables hub: px2, both families" sh -c "
    grep -qE '^iptables -A INPUT -p tcp -s 10\.0\.0\.10 --dport 443 ' '$T/c.hub.ipt' &&
    grep -qE '^ip6tables -A INPUT -p tcp -s fd00::10 --dport 443 ' '$T/c.hub.ipt'"
check "(c) iptables hub: no OUTPUT rule" lacks "$T/c.hub.ipt" "-A OUTPUT"
if [ "$HAVE_IPT" = 1 ]; then
	check "(c) iptables hub: runs in a throwaway namespace" ipt_runs \
	    "$T/c.hub.ipt"
	check "(c) ... INPUT holds the console rule" grep -qE \
	    -- '-A INPUT -s 10\.9\.0\.0/24 .*--dport 443 .*-j ACCEPT' "$T/ipt.list"
else
	ok "# SKIP iptables is not installed: the script is not run"
fi
pl 0 "(c) iptables, px1" --deployment c.conf --format iptables --proxy 10.0.0.9
keep c.px1.ipt
for want in '10\.0\.0\.1 --dport 443' '10\.2\.0\.0/24 --dport 22' \
    '10\.2\.1\.5 --dport 22' '10\.3\.0\.1 --dport 23' \
    '10\.3\.0\.2 --dport 2323' '10\.4\.0\.0/24 --dport 445'; do
	check "(c) iptables px1: -A OUTPUT -d ${want//\\/}" line_with \
	    "$T/c.px1.ipt" "^iptables -A OUTPUT -p tcp -d $want -m comment"
done
check "(c) iptables px1: IPv6 devices with ip6tables" sh -c "
    grep -qE '^ip6tables -A OUTPUT -p tcp -d fd00:2::5 --dport 2222 ' '$T/c.px1.ipt' &&
    grep -qE '^ip6tables -A OUTPUT -p tcp -d fd00:4::7 --dport 445 ' '$T/c.px1.ipt'"
check "(c) iptables px1: no INPUT rule" lacks "$T/c.px1.ipt" "-A INPUT"
pl 0 "(c) iptables, px1, --policy drop" --deployment c.conf --format \
    iptables --proxy 10.0.0.9 --policy drop
keep c.px1.drop.ipt
check "(c) iptables drop: OUTPUT DROP for both families" sh -c "
    grep -qx 'iptables -P OUTPUT DROP' '$T/c.px1.drop.ipt' &&
    grep -qx 'ip6tables -P OUTPUT DROP' '$T/c.px1.drop.ipt'"
check "(c) iptables drop: established, loopback, ICMP, DNS accepted" sh -c "
    grep -qE 'ESTABLISHED' '$T/c.px1.drop.ipt' &&
    grep -qE -- '-A OUTPUT -o lo -j ACCEPT' '$T/c.px1.drop.ipt' &&
    grep -qE -- '-p icmp ' '$T/c.px1.drop.ipt' &&
    grep -qE -- '-p (ipv6-icmp|icmpv6) ' '$T/c.px1.drop.ipt' &&
    grep -qE -- '-p udp .*--dport 53 ' '$T/c.px1.drop.ipt' &&
    grep -qE -- '-p tcp .*--dport 53 ' '$T/c.px1.drop.ipt'" ||
    show "$T/c.px1.drop.ipt"
pl 0 "(c) iptables, hub, --policy drop" --deployment c.conf --format \
    iptables --role hub --policy drop
keep c.hub.drop.ipt
check "(c) iptables drop: INPUT DROP for both families" sh -c "
    grep -qx 'iptables -P INPUT DROP' '$T/c.hub.drop.ipt' &&
    grep -qx 'ip6tables -P INPUT DROP' '$T/c.hub.drop.ipt' &&
    grep -qE -- '-A INPUT -i lo -j ACCEPT' '$T/c.hub.drop.ipt'"
if [ "$HAVE_IPT" = 1 ]; then
	check "(c) iptables px1 drop: runs in a throwaway namespace" ipt_runs \
	    "$T/c.px1.drop.ipt"
	check "(c) ... OUTPUT policy DROP, the Telnet rule there" sh -c "
	    grep -qx -- '-P OUTPUT DROP' '$T/ipt.list' &&
	    grep -qE -- '-A OUTPUT -d 10\.3\.0\.2/32 .*--dport 2323 .*-j ACCEPT' '$T/ipt.list'" ||
	    show "$T/ipt.list"
	check "(c) iptables hub drop: runs in a throwaway namespace" ipt_runs \
	    "$T/c.hub.drop.ipt"
	check "(c) ... INPUT policy DROP" grep -qx -- '-P INPUT DROP' "$T/ipt.list"
	pl 0 "(c) iptables, devices" --deployment c.conf --format iptables \
	    --role device
	check "(c) iptables devices: run in a throwaway namespace" ipt_runs \
	    "$T/out"
else
	ok "# SKIP iptables is not installed: the scripts are not run"
fi

# --- firewalld ---
pl 0 "(c) firewalld, every role" --deployment c.conf --format firewalld
check "(c) firewalld: every command is firewall-cmd" only_cmds "$T/out" \
    '^firewall-cmd '
pl 0 "(c) firewalld, hub" --deployment c.conf --format firewalld --role hub
keep c.hub.fwd
check "(c) firewalld hub: a permanent rich rule for the console" has \
    "$T/c.hub.fwd" "firewall-cmd --permanent --add-rich-rule='rule family=\"ipv4\" source address=\"10.9.0.0/24\" port port=\"443\" protocol=\"tcp\" accept'"
check "(c) firewalld hub: IPv6 agents" has "$T/c.hub.fwd" \
    "rule family=\"ipv6\" source address=\"fd00:1::/64\" port port=\"443\" protocol=\"tcp\" accept"
check "(c) firewalld hub: then --reload" sh -c \
    "grep -vE '^[[:space:]]*(#|\$)' '$T/c.hub.fwd' | tail -1 | grep -qx 'firewall-cmd --reload'"
check "(c) firewalld hub: no --add-port (no source is any)" lacks \
    "$T/c.hub.fwd" "--add-port"
pl 0 "(c) firewalld, devices of px1" --deployment c.conf --format firewalld \
    --role device --proxy 10.0.0.9
keep c.dev.fwd
for p in 22 2222 23 2323 445; do
	check "(c) firewalld devices: in from px1 on $p" has "$T/c.dev.fwd" \
	    "source address=\"10.0.0.9\" port port=\"$p\" protocol=\"tcp\" accept"
done
pl 0 "(c) firewalld, px1, --policy drop" --deployment c.conf --format \
    firewalld --proxy 10.0.0.9 --policy drop
check "(c) firewalld drop: a policy object for outbound" sh -c "
    grep -qE -- '--new-policy' '$T/out' &&
    grep -qE -- 'destination address=\"10\.3\.0\.2\" port port=\"2323\"' '$T/out'" ||
    show "$T/out"
pl 0 "(c) firewalld, hub, --policy drop" --deployment c.conf --format \
    firewalld --role hub --policy drop
check "(c) firewalld drop on the hub: a note, the rules kept" sh -c "
    grep -qiE '^#.*zone' '$T/out' && grep -q 'source address=\"10.9.0.0/24\"' '$T/out'"

# --- ufw ---
pl 0 "(c) ufw, every role" --deployment c.conf --format ufw
check "(c) ufw: every command is ufw" only_cmds "$T/out" '^ufw '
check "(c) ufw: every rule carries a vigil comment" every_line "$T/out" \
    '^ufw allow' " comment 'vigil: [^']*'\$"
pl 0 "(c) ufw, hub" --deployment c.conf --format ufw --role hub
check "(c) ufw hub: from the console network to port 443" line_with \
    "$T/out" "^ufw allow proto tcp from 10\\.9\\.0\\.0/24 to any port 443 comment '"
check "(c) ufw hub: from the IPv6 agents" line_with "$T/out" \
    "^ufw allow proto tcp from fd00:1::/64 to any port 443 "
pl 0 "(c) ufw, px1" --deployment c.conf --format ufw --proxy 10.0.0.9
keep c.px1.ufw
for want in '10\.0\.0\.1 port 443' '10\.3\.0\.2 port 2323' \
    'fd00:2::5 port 2222' '10\.4\.0\.0/24 port 445'; do
	check "(c) ufw px1: out to ${want//\\/}" line_with "$T/c.px1.ufw" \
	    "^ufw allow out proto tcp to $want comment '"
done
pl 0 "(c) ufw, every role, --policy drop" --deployment c.conf --format ufw \
    --policy drop
check "(c) ufw drop: default deny incoming and outgoing" sh -c "
    grep -qx 'ufw default deny incoming' '$T/out' &&
    grep -qx 'ufw default deny outgoing' '$T/out'"

# --- windows ---
pl 0 "(c) windows, every role" --deployment c.conf --format windows
keep c.win
check "(c) windows: every command is a firewall cmdlet" only_cmds \
    "$T/c.win" '^(New-NetFirewallRule|Set-NetFirewallProfile) '
check "(c) windows: every rule: vigil name, TCP, Allow" every_line \
    "$T/c.win" '^New-NetFirewallRule' \
    '-DisplayName "vigil: [^"]*" .*-Direction (Inbound|Outbound) -Protocol TCP .*-Action Allow$'
pl 0 "(c) windows, hub" --deployment c.conf --format windows --role hub
check "(c) windows hub: inbound 443 from the console network" line_with \
    "$T/out" '-Direction Inbound -Protocol TCP -LocalPort 443 ' \
    '-RemoteAddress "?10\.9\.0\.0/24' '-Action Allow'
check "(c) windows hub: no outbound rule" lacks "$T/out" "Outbound"
pl 0 "(c) windows, px1" --deployment c.conf --format windows --proxy 10.0.0.9
keep c.px1.win
check "(c) windows px1: outbound Telnet on 2323" line_with "$T/c.px1.win" \
    '-Direction Outbound -Protocol TCP -RemotePort 2323 ' '10\.3\.0\.2' \
    '-Action Allow'
check "(c) windows px1: outbound SMB to both families" line_with \
    "$T/c.px1.win" '-RemotePort 445 ' '10\.4\.0\.0/24' 'fd00:4::7'
check "(c) windows px1: no inbound rule" lacks "$T/c.px1.win" "Inbound"
pl 0 "(c) windows, every role, --policy drop" --deployment c.conf --format \
    windows --policy drop
check "(c) windows drop: profiles block by default, in and out" sh -c "
    grep -qE '^Set-NetFirewallProfile .*-DefaultInboundAction Block' '$T/out' &&
    grep -qE '^Set-NetFirewallProfile .*-DefaultOutboundAction Block' '$T/out'"

# --- options ---
pl 0 "(c) --json is --format json" --deployment c.conf --json
check "... the same document" cmp -s "$T/out" "$T/c.json"
pl 0 "(c) 'list' named" list --deployment c.conf
check "... the same table" cmp -s "$T/out" "$T/c.table"
pl 2 "--proxy naming no proxy" --deployment c.conf --format nftables \
    --proxy 10.0.0.99
check "... the message names it and the proxies there are" sh -c "
    grep -qF \"'10.0.0.99'\" '$T/err' && grep -qF 'px2.example.net' '$T/err'"
pl 2 "--role hub with --proxy" --deployment c.conf --format nftables \
    --role hub --proxy 10.0.0.9
check "... the message names --proxy" grep -qF -- --proxy "$T/err"
pl 2 "--role bogus" --deployment c.conf --format nftables --role bogus
check "... the message names it" has "$T/err" bogus
pl 2 "--format bogus" --deployment c.conf --format bogus
check "... the message names it and the formats" sh -c "
    grep -q bogus '$T/err' && grep -q nftables '$T/err'"
pl 2 "--policy maybe" --deployment c.conf --format nftables --policy maybe
check "... the message names it" has "$T/err" maybe
pl 2 "list with --timeout (a check option)" --deployment c.conf --timeout 3
pl 2 "two sources" --deployment c.conf --hubdetails "$T/hd.xml"
check "... the message asks for one" grep -qi 'one source' "$T/err"
pl 2 "an unknown option" --deployment c.conf --bogus
pl 0 "--help" --help
check "... names every source option" sh -c "
    grep -q -- --deployment '$T/out' && grep -q -- --hub-conf '$T/out' &&
    grep -q -- --api '$T/out' && grep -q -- --hubdetails '$T/out'"

# =====================================================================
# Names
# =====================================================================
deploy n1.conf "hub 10.0.0.1" "proxy 10.0.0.9" "ssh 10.2.0.1" \
    "telnet nothing.example.invalid"
for f in nftables iptables firewalld ufw windows; do
	pl 2 "a device name that does not resolve: $f" --deployment n1.conf \
	    --format "$f"
	check "... the message names it and n1.conf:4" sh -c "
	    grep -qF 'nothing.example.invalid' '$T/err' &&
	    grep -qF 'n1.conf:4' '$T/err'" || show "$T/err"
done
pl 0 "... the matrix itself needs no address (json)" --deployment n1.conf \
    --format json
jx "... the name as written" \
    '.flows[3].to.hosts == ["nothing.example.invalid"]'
deploy n2.conf "hub 10.0.0.1" "proxy ghost.example.invalid" "ssh 10.2.0.1"
pl 2 "a proxy name that does not resolve: the hub's rules" --deployment \
    n2.conf --format nftables --role hub
check "... the message names it and n2.conf:2" sh -c "
    grep -qF 'ghost.example.invalid' '$T/err' && grep -qF 'n2.conf:2' '$T/err'"
deploy n3.conf "agents 10.1.0.0/16" "hub ghost-hub.example.invalid:8443"
pl 2 "a hub name that does not resolve: the agents' rules" --deployment \
    n3.conf --format iptables --role agent
check "... the message names it and n3.conf:2" sh -c "
    grep -qF 'ghost-hub.example.invalid' '$T/err' && grep -qF 'n3.conf:2' '$T/err'"
deploy n4.conf "hub 10.0.0.1" "proxy 10.0.0.9" "ssh localhost"
pl 0 "a name that resolves (localhost)" --deployment n4.conf --format \
    nftables --proxy 10.0.0.9
keep n4.nft
check "... to 127.0.0.1" line_with "$T/n4.nft" \
    'ip daddr 127\.0\.0\.1 tcp dport 22 accept'
check "... and ::1" line_with "$T/n4.nft" 'ip6 daddr ::1 tcp dport 22 accept'
check "... the name kept in a comment" line_with "$T/n4.nft" '#' localhost
pl 0 "... iptables too" --deployment n4.conf --format iptables --proxy 10.0.0.9
check "... -d 127.0.0.1 and ip6tables -d ::1" sh -c "
    grep -qE '^iptables -A OUTPUT -p tcp -d 127\.0\.0\.1 --dport 22 ' '$T/out' &&
    grep -qE '^ip6tables -A OUTPUT -p tcp -d ::1 --dport 22 ' '$T/out'"

# =====================================================================
# Bad deployment files: exit 2, file and line named, never a crash.
# =====================================================================
# bad NAME WANT_TEXT LINE...: the file refused, its message holding
# WANT_TEXT (a fixed string).
bad() {
	local name=$1 want=$2
	shift 2
	deploy "$name" "$@"
	pl 2 "bad file $name" --deployment "$name" --format json
	check "... says: $want" has "$T/err" "$want"
	check "... nothing on stdout" test ! -s "$T/out"
}
bad k.conf "k.conf:2: unknown keyword 'hubb'" "# x" "hubb 10.0.0.1" \
    "hub 10.0.0.1"
bad o.conf "o.conf:3: 'telnet' must follow a 'proxy' line" "hub 10.0.0.1" \
    "" "telnet 10.3.0.1" "proxy 10.0.0.9"
bad o2.conf "o2.conf:2: 'ssh' must follow a 'proxy' line" "hub 10.0.0.1" \
    "ssh 10.2.0.1"
bad cidr.conf "cidr.conf:3: '10.0.0.0/33': prefix length must be 0 to 32" \
    "hub 10.0.0.1" "console 10.9.0.0/24" "agents 10.0.0.0/33"
bad cidr6.conf "cidr6.conf:2: 'fd00::/129'" "hub 10.0.0.1" \
    "agents fd00::/129"
bad bits.conf "bits.conf:2: '10.0.0.1/24'" "hub 10.0.0.1" "agents 10.0.0.1/24"
bad ip.conf "ip.conf:2: '10.0.0.256'" "hub 10.0.0.1" "console 10.0.0.256"
bad port.conf "port.conf:3: '10.2.0.5:70000'" "hub 10.0.0.1" \
    "proxy 10.0.0.9" "ssh 10.2.0.5:70000"
bad port0.conf "port0.conf:1: '10.0.0.1:0'" "hub 10.0.0.1:0"
bad portx.conf "portx.conf:3: '[fd00::5]:ssh'" "hub 10.0.0.1" \
    "proxy 10.0.0.9" "ssh [fd00::5]:ssh"
bad hub2.conf "hub2.conf:4: 'hub' given again" "hub 10.0.0.1" "" "# again" \
    "hub 10.0.0.2"
bad nohub.conf "nohub.conf: no 'hub' line" "console any" "agents any"
bad name.conf "name.conf:2: 'bad_name.example'" "hub 10.0.0.1" \
    "console bad_name.example"
bad anyp.conf "anyp.conf:2:" "hub 10.0.0.1" "proxy any"
bad px2.conf "px2.conf:4: proxy '10.0.0.9' given again" "hub 10.0.0.1" \
    "proxy 10.0.0.9" "ssh 10.2.0.1" "proxy 10.0.0.9"
bad thumb.conf "thumb.conf:2:" "hub 10.0.0.1" "thumbprint ABCD"
# Garbage: control characters, NUL bytes, invalid UTF-8, random bytes.
printf 'hub 10.0.0.1\nconsole \001\002\377\000\n' >"$T/bin1.conf"
pl 2 "binary garbage on line 2" --deployment bin1.conf --format json
check "... names bin1.conf:2" has "$T/err" "bin1.conf:2:"
printf 'hub 10.0.0.1\nagents 10.1.0.0/16 \xc3\x28\n' >"$T/utf.conf"
pl 2 "invalid UTF-8" --deployment utf.conf
check "... names utf.conf:2" has "$T/err" "utf.conf:2:"
for i in 1 2 3 4; do
	head -c 65536 /dev/urandom >"$T/rand$i.conf"
	pl 2 "random bytes ($i)" --deployment "rand$i.conf" --format nftables
	check "... the message names the file" has "$T/err" "rand$i.conf"
done
pl 2 "a missing file" --deployment missing.conf
check "... named, with the reason" sh -c "
    grep -qF 'missing.conf' '$T/err' && grep -qi 'no such file' '$T/err'"
mkdir -p "$T/dir.conf"
pl 2 "a folder" --deployment dir.conf
check "... named" has "$T/err" "dir.conf"
# Limits: 1 MiB of file, 4096 bytes of line, 65536 hosts.
{
	echo "hub 10.0.0.1"
	yes '# padding padding padding padding padding padding padding' |
	    head -c $((1024 * 1024 - 13 - 12))
	echo
	echo "agents any"
} >"$T/mib.conf"
check "a file of exactly 1 MiB (made)" test "$(stat -c %s "$T/mib.conf")" \
    -eq $((1024 * 1024))
pl 0 "... is read" --deployment mib.conf --format json
printf '#' >>"$T/mib.conf"
pl 2 "a file of 1 MiB and one byte" --deployment mib.conf --format json
check "... is refused, named" sh -c "
    grep -qF 'mib.conf' '$T/err' && grep -qi '1 MiB' '$T/err'"
{
	echo "hub 10.0.0.1"
	printf '#%4095s\n' x
	echo "console any"
} >"$T/line.conf"
pl 0 "a line of 4096 bytes is read" --deployment line.conf --format json
{
	echo "hub 10.0.0.1"
	printf '#%4096s\n' x
} >"$T/line2.conf"
pl 2 "a line of 4097 bytes" --deployment line2.conf
check "... is refused with its line (line2.conf:2)" has "$T/err" "line2.conf:2:"
printf 'hub 10.0.0.1\nconsole 10.9.0.0/24 %s\n' "$(head -c 4000 /dev/zero |
    tr '\0' a)" >"$T/word.conf"
pl 2 "a word of 4000 bytes" --deployment word.conf
check "... is refused with its line, the message short" sh -c "
    grep -qF 'word.conf:2:' '$T/err' && grep -q aaaa '$T/err' &&
    test \$(wc -c <'$T/err') -lt 1000" || show "$T/err"
# hub (1 host) + 65535 agents = 65536 hosts; one more is too many.
awk 'BEGIN { print "hub 10.0.0.1"; n = 0
    for (a = 0; a < 256 && n < 65535; a++) {
	line = "agents"
	for (b = 0; b < 256 && n < 65535; b++) { line = line " 10.200." a "." b; n++ }
	print line
    } }' >"$T/many.conf"
pl 0 "65536 hosts in all are read" --deployment many.conf --format json
jx "... every agent a source" '(.flows[1].from.hosts | length) == 65535'
echo "console 10.9.0.1" >>"$T/many.conf"
pl 2 "65537 hosts" --deployment many.conf --format json
check "... refused, naming the line (many.conf:258)" sh -c "
    grep -qF 'many.conf:258:' '$T/err' && grep -q 65536 '$T/err'" ||
    show "$T/err"
# Accepted forms: a BOM, CRLF, comments, "any".
printf '\xef\xbb\xbfhub 10.0.0.1\r\n# a comment\r\nconsole any\r\nagents 10.1.0.0/16 # site A\r\nproxy 10.0.0.9\r\n  ssh\t10.2.0.1 10.2.0.2:2222\r\n' \
    >"$T/crlf.conf"
pl 0 "a BOM, CRLF line ends, comments and tabs" --deployment crlf.conf \
    --format json
jx "... read as meant" '.hub == {host: "10.0.0.1", port: 443}' \
    '.flows[0].from.hosts == ["any"]' \
    '(.flows[1].from.hosts | sort) == ["10.0.0.9", "10.1.0.0/16"]' \
    '[.flows[] | .port] == [443, 443, 22, 2222]'
deploy url.conf "hub https://hub.example.net:9443/vigil/api/"
pl 0 "a hub given as a URL" --deployment url.conf --format json
jx "... its host and port" '.hub == {host: "hub.example.net", port: 9443}'

# =====================================================================
# HubDetails.xml, and no source at all
# =====================================================================
cat >"$T/hd.xml" <<'EOF'
<?xml version="1.0" encoding="utf-8"?>
<HubDetails>
  <Url>https://hub.example.net:9443/api/</Url>
  <Username>agent</Username>
  <Thumbprint>AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89</Thumbprint>
</HubDetails>
EOF
pl 0 "--hubdetails" --hubdetails hd.xml --format json
jx "... the agent -> hub flow to the Url's host and port" \
    '.hub == {host: "hub.example.net", port: 9443}' \
    '.flows[1].to.hosts == ["hub.example.net"]' '.flows[1].port == 9443' \
    '.flows[1].from.role == "agent"' \
    '[.flows[] | select(.from.role == "proxy")] == []' \
    '(.source | endswith("hd.xml"))'
pl 0 "--hubdetails, the agent's nftables" --hubdetails hd.xml --format \
    nftables --role agent
check "... out to the hub's addresses on 9443" sh -c "
    grep -qE 'ip daddr 192\.0\.2\.10 tcp dport 9443 accept' '$T/out' &&
    grep -qE 'ip6 daddr 2001:db8::10 tcp dport 9443 accept' '$T/out'"
check "... and load" nft_loads "$T/out"
sed 's|https://hub.example.net:9443/api/|http://hub.example.net/api/|' \
    "$T/hd.xml" >"$T/hd-http.xml"
pl 2 "--hubdetails with an http:// Url" --hubdetails hd-http.xml
check "... named, asking for https" sh -c "
    grep -qF 'hd-http.xml' '$T/err' && grep -qi https '$T/err'"
printf '<HubDetails>\n  <Url>https://h/api/</Url>\n  <Bogus>1</Bogus>\n</HubDetails>\n' \
    >"$T/hd-bad.xml"
pl 2 "--hubdetails with an unknown element" --hubdetails hd-bad.xml
check "... names file and line" has "$T/err" "hd-bad.xml:3"
pl 2 "--hubdetails of a missing file" --hubdetails hd-missing.xml
check "... named" has "$T/err" "hd-missing.xml"

if [ ! -e /etc/vigil/hub.conf ] && [ ! -e /etc/vigil/HubDetails.xml ]; then
	pl 2 "no source, and no /etc/vigil files"
	check "... the message names the options" sh -c "
	    grep -qF -- '--deployment' '$T/err' && grep -qF -- '--hub-conf' '$T/err' &&
	    grep -qF -- '--api' '$T/err' && grep -qF -- '--hubdetails' '$T/err'"
else
	ok "# SKIP no source: /etc/vigil holds a hub.conf or HubDetails.xml here"
fi

# =====================================================================
# A real hub and agent (in a network namespace of their own).
# =====================================================================
in_netns hub

finish
