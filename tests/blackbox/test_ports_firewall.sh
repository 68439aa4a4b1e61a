#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The firewall rules of `vigil ports`, loaded into real network
# namespaces (ports_lib.sh) and shown to let exactly the needed flows
# through. The hub's rules (nftables, --policy drop) on the server: the
# hub's port answers the proxy, but sshd (listening, not a flow of the
# hub's role) and a client outside the deployment's networks are
# filtered. The proxy's rules on the client: the hub and the proxy's
# devices (SSH, Telnet, SMB) answer, any other server does not. The
# devices' rules on the server: the proxy gets in
# on 22, 23 and 445, nobody else and nothing else does. The iptables
# output loads with iptables-nft in a fresh namespace and does the same
# as nftables on the hub. Rules hold only the flows the deployment uses,
# and a name that does not resolve is an error naming its line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports_lib.sh"

ports_need
start_fixture

D=$T/deploy
mkdir -p "$D"
AGENT_NET=$NET.0/26

deploy "$D/fw.conf" \
	"hub $HUB_NAME:$HUB_PORT" \
	"thumbprint $HUB_FP" \
	"console $PROXY_NAME" \
	"agents $AGENT_NET" \
	"proxy $CLIENT_IP" \
	"ssh $HUB_IP" \
	"telnet $HUB_IP" \
	"smb $HUB_IP"

# render NS OUT ARGS...: `vigil ports --deployment fw.conf ARGS...` in the
# namespace, the rules in OUT; exit status 0 checked.
render() {
	local ns=$1 out=$2
	shift 2
	run 0 "render $*" ip netns exec "$ns" timeout 30 "$VIGIL" ports \
		--deployment "$D/fw.conf" "$@"
	local rc=$?
	cp "$T/out" "$out"
	return "$rc"
}

# load NS FILE: nft -f in the namespace, checked.
nft_load() {
	local desc="nft -f $(basename "$2") in $1"
	if ip netns exec "$1" nft -f "$2" >"$T/nft.out" 2>&1; then
		ok "$desc"
		return 0
	fi
	not_ok "$desc"
	sed 's/^/    nft: /' "$T/nft.out" | head -20
	sed 's/^/    file: /' "$2" | head -60
	return 1
}

# results_are WANT...: the JSON results of the last check are, in
# "service=host:port=result" form and sorted, WANT....
results_are() {
	local got want
	got=$(jq -r '.results[] | "\(.service)=\(.host):\(.port)=\(.result)"' \
	    "$T/out" 2>/dev/null | sort)
	want=$(printf '%s\n' "$@" | sort)
	[ "$got" = "$want" ] || {
		echo "    (results:)"
		printf '%s\n' "$got" | sed 's/^/    got:  /'
		printf '%s\n' "$want" | sed 's/^/    want: /'
		return 1
	}
}

# no_rule_for PORT FILE: no rule of FILE opens tcp port PORT.
no_rule_for() {
	! grep -vE '^[[:space:]]*#' "$2" | grep -qE "dport[^0-9]*([0-9]+,[[:space:]]*)*$1([^0-9]|$)"
}

HUB_OK="https=$HUB_NAME:$HUB_PORT=ok"

# ---------------------------------------------------------------------
# Before any rule: every flow works, from either client address.
pcheck 0 "before any rule, the proxy's flows all work" "$CNS" \
	--deployment "$D/fw.conf" --from proxy --timeout "$PT" --json
check "hub, SSH, Telnet, SMB ok" results_are "$HUB_OK" \
	"ssh=$HUB_IP:22=ok" "telnet=$HUB_IP:23=ok" "smb=$HUB_IP:445=ok"
expect_tcp "before any rule, $CLIENT_IP2 (outside the deployment) reaches the hub" \
	ok "$CNS" "$CLIENT_IP2" "$HUB_IP" "$HUB_PORT"

# ---------------------------------------------------------------------
# The hub's rules, nftables, --policy drop, on the server.
render "$SNS" "$T/hub.nft" --format nftables --role hub --policy drop
check "the hub's rules are table inet vigil_hub" has "$T/hub.nft" "table inet vigil_hub"
check "they drop everything else (policy drop)" has "$T/hub.nft" "policy drop"
check "they name the agents' network" has "$T/hub.nft" "$AGENT_NET"
check "the console's name is resolved to its address" has "$T/hub.nft" "$CLIENT_IP"
check "... and kept in a comment" has "$T/hub.nft" "$PROXY_NAME"
check "they open the hub's port" grep -qE "dport[^0-9]*$HUB_PORT" "$T/hub.nft"
check "they do not open 22" no_rule_for 22 "$T/hub.nft"
check "nor 23" no_rule_for 23 "$T/hub.nft"
check "nor 445" no_rule_for 445 "$T/hub.nft"
check "each rule says what it is for (vigil: ...)" has "$T/hub.nft" 'comment "vigil:'
nft_load "$SNS" "$T/hub.nft"
in_server nft list table inet vigil_hub >"$T/hub.list1" 2>&1
nft_load "$SNS" "$T/hub.nft"
in_server nft list table inet vigil_hub >"$T/hub.list2" 2>&1
check "loading them again replaces them (same rules, no duplicates)" \
	cmp -s "$T/hub.list1" "$T/hub.list2"

pcheck 1 "with the hub's rules, the proxy's check fails (exit 1)" "$CNS" \
	--deployment "$D/fw.conf" --from proxy --timeout "$PT" --json
check "the hub answers; sshd, telnetd and smbd, listening, are filtered" \
	results_are "$HUB_OK" "ssh=$HUB_IP:22=filtered" \
	"telnet=$HUB_IP:23=filtered" "smb=$HUB_IP:445=filtered"
expect_tcp "the proxy's address reaches the hub's port" ok "$CNS" \
	"$CLIENT_IP" "$HUB_IP" "$HUB_PORT"
expect_tcp "$CLIENT_IP2, outside the console and agent sources, is filtered" \
	timeout "$CNS" "$CLIENT_IP2" "$HUB_IP" "$HUB_PORT"
expect_tcp "the plain HTTP server on the hub's host is filtered" \
	timeout "$CNS" "$CLIENT_IP" "$HUB_IP" 8080
expect_tcp "the hub's host still reaches itself (loopback)" \
	ok "$SNS" "" "$HUB_IP" 22
pcheck 0 "on the hub, its own check still passes" "$SNS" \
	--deployment "$D/fw.conf" --from hub --timeout "$PT" --json
in_server nft delete table inet vigil_hub

# The default policy (accept) only adds accept rules: nothing is cut.
render "$SNS" "$T/hub-accept.nft" --format nftables --role hub
check "without --policy drop, no policy drop" lacks "$T/hub-accept.nft" "policy drop"
nft_load "$SNS" "$T/hub-accept.nft"
pcheck 0 "with the hub's accept rules, every flow still works" "$CNS" \
	--deployment "$D/fw.conf" --from proxy --timeout "$PT" --json
in_server nft delete table inet vigil_hub

# ---------------------------------------------------------------------
# The proxy's rules, --policy drop, on the client.
render "$CNS" "$T/proxy.nft" --format nftables --role proxy --proxy \
	"$CLIENT_IP" --policy drop
check "the proxy's rules are table inet vigil_proxy" has "$T/proxy.nft" "table inet vigil_proxy"
check "they have an output chain" grep -qE 'hook output' "$T/proxy.nft"
check "they open the hub's port and 22, 23, 445" sh -c "
	grep -qE 'dport[^0-9]*$HUB_PORT' '$T/proxy.nft' &&
	grep -qE 'dport[^0-9]*([0-9]+, *)*22([^0-9]|\$)' '$T/proxy.nft' &&
	grep -qE 'dport[^0-9]*([0-9]+, *)*23([^0-9]|\$)' '$T/proxy.nft' &&
	grep -qE 'dport[^0-9]*([0-9]+, *)*445([^0-9]|\$)' '$T/proxy.nft'"
nft_load "$CNS" "$T/proxy.nft"
pcheck 0 "with the proxy's rules, the proxy's flows all work (exit 0)" \
	"$CNS" --deployment "$D/fw.conf" --from proxy --timeout "$PT" --json
check "hub, SSH, Telnet, SMB ok" results_are "$HUB_OK" \
	"ssh=$HUB_IP:22=ok" "telnet=$HUB_IP:23=ok" "smb=$HUB_IP:445=ok"
expect_tcp "the plain HTTP server on the devices' host is filtered" \
	timeout "$CNS" "" "$HUB_IP" 8080
expect_tcp "the plain HTTP server on another host is filtered" \
	timeout "$CNS" "" "$HTTP_IP" "$HUB_PORT"
in_client nft delete table inet vigil_proxy

# ---------------------------------------------------------------------
# The devices' rules, --policy drop, on the server (the devices' host).
render "$SNS" "$T/device.nft" --format nftables --role device --policy drop
check "the devices' rules are table inet vigil_device" has "$T/device.nft" "table inet vigil_device"
check "they do not open the hub's port" no_rule_for "$HUB_PORT" "$T/device.nft"
nft_load "$SNS" "$T/device.nft"
pcheck 1 "with the devices' rules, the proxy's check fails on the hub only" \
	"$CNS" --deployment "$D/fw.conf" --from proxy --timeout "$PT" --json
check "SSH, Telnet, SMB ok; the hub on the same host filtered" results_are \
	"https=$HUB_NAME:$HUB_PORT=filtered" "ssh=$HUB_IP:22=ok" \
	"telnet=$HUB_IP:23=ok" "smb=$HUB_IP:445=ok"
expect_tcp "another address of the proxy's host does not get in on 22" \
	timeout "$CNS" "$CLIENT_IP2" "$HUB_IP" 22
expect_tcp "nor on 445" timeout "$CNS" "$CLIENT_IP2" "$HUB_IP" 445
in_server nft delete table inet vigil_device

# ---------------------------------------------------------------------
# Only the flows the deployment uses: no Telnet device, no port 23.
deploy "$D/sshsmb.conf" "hub $HUB_NAME:$HUB_PORT" "proxy $CLIENT_IP" \
	"ssh $HUB_IP" "smb $HUB_IP"
run 0 "render the proxy's rules of a deployment without Telnet" \
	in_client "$VIGIL" ports --deployment "$D/sshsmb.conf" \
	--format nftables --role proxy --policy drop
check "no rule for port 23" no_rule_for 23 "$T/out"
check "but one for 22" grep -qE 'dport[^0-9]*([0-9]+, *)*22([^0-9]|$)' "$T/out"
run 0 "the matrix of that deployment" in_client "$VIGIL" ports \
	--deployment "$D/sshsmb.conf"
check "no Telnet flow in it" sh -c "! grep -qi 'telnet' '$T/out'"
run 0 "the matrix with a Telnet device" in_client "$VIGIL" ports \
	--deployment "$D/fw.conf"
check "the Telnet flow is marked INSECURE" grep -q 'INSECURE' "$T/out"
check "with the advice to move to SSH" sh -c \
	"tr -s ' \n' '  ' <'$T/out' | grep -qi 'move these devices to SSH'"

# A name that does not resolve cannot become a rule: an error naming it.
deploy "$D/badname.conf" "hub $HUB_NAME:$HUB_PORT" "proxy $CLIENT_IP" \
	"ssh $HUB_IP" "ssh $BAD_NAME"
run 2 "the proxy's rules, a device's name does not resolve: exit 2" \
	in_client "$VIGIL" ports --deployment "$D/badname.conf" \
	--format nftables --role proxy
check "the message names the name and its line" sh -c \
	"grep -qF '$BAD_NAME' '$T/err' && grep -qF 'badname.conf:4' '$T/err'"

# ---------------------------------------------------------------------
# iptables: each role's rules load with iptables-nft in a fresh
# namespace; the hub's also work on the server.
if command -v iptables >/dev/null && command -v iptables-save >/dev/null; then
	for role in hub proxy device; do
		extra=()
		[ "$role" = proxy ] && extra=(--proxy "$CLIENT_IP")
		ns=$SNS
		[ "$role" = proxy ] && ns=$CNS
		render "$ns" "$T/$role.ipt" --format iptables --role "$role" \
			"${extra[@]}" --policy drop
		fresh=vigil-pf-$role-$$
		plain_netns "$fresh"
		run 0 "the $role's iptables rules load in a fresh namespace (sh -e)" \
			ip netns exec "$fresh" sh -e "$T/$role.ipt"
		ip netns exec "$fresh" iptables-save >"$T/$role.saved" 2>&1
		check "iptables-save shows the $role's rules with their comments" \
			grep -q -- '--comment "\{0,1\}vigil:' "$T/$role.saved"
		case $role in
		hub | device) check "INPUT drops by default" grep -q '^:INPUT DROP' "$T/$role.saved" ;;
		proxy) check "OUTPUT drops by default" grep -q '^:OUTPUT DROP' "$T/$role.saved" ;;
		esac
	done
	check "the hub's iptables rules open the hub's port" \
		grep -q -- "--dport $HUB_PORT" "$T/hub.saved"
	check "the hub's iptables rules name the agents' network" \
		grep -qF -- "$AGENT_NET" "$T/hub.saved"

	run 0 "the hub's iptables rules load on the server" \
		in_server sh -e "$T/hub.ipt"
	pcheck 1 "with them, the proxy's check fails on the devices" "$CNS" \
		--deployment "$D/fw.conf" --from proxy --timeout "$PT" --json
	check "the hub answers; sshd, telnetd and smbd are filtered" \
		results_are "$HUB_OK" "ssh=$HUB_IP:22=filtered" \
		"telnet=$HUB_IP:23=filtered" "smb=$HUB_IP:445=filtered"
	expect_tcp "$CLIENT_IP2 is filtered by them too" \
		timeout "$CNS" "$CLIENT_IP2" "$HUB_IP" "$HUB_PORT"
else
	ok "# SKIP iptables is not installed"
fi

check "no sanitizer report in the hub's log" logs_clean
ports_finish
