# SPDX-License-Identifier: GPL-3.0-or-later
# The network fixture of the `vigil ports` tests, sourced after lib.sh:
# two network namespaces joined by a veth pair, and real servers in one
# of them.
#
#   client namespace $CNS   where vigil runs (the agent / proxy side):
#                           $CLIENT_IP (10.X.0.1/24), $CLIENT_IP2 (.101)
#   server namespace $SNS   10.X.0.2/24 and more addresses:
#     $HUB_IP   .2  vigil-hub on 8443 (hub.ports.test), OpenSSH sshd on
#                   22, inetutils telnetd (through inetutils-inetd) on
#                   23, Samba smbd on 445, a plain HTTP server on 8080
#     $HTTP_IP  .3  a plain HTTP server (python3 -m http.server) on 8443
#     $TLSV_IP  .4  openssl s_server -Verify 1 on 8443 (wants a client
#                   certificate: every handshake without one fails)
#     $CLOSED_IP .5 nothing listens
#     $REJECT_IP .6 nftables: reject with tcp reset (every port)
#     $DROP_IP  .7  nftables: drop (every port)
#   $NOROUTE_IP     10.X.99.1: the client has no route to 10.X.99.0/24
#   nothing.ports.invalid   a name that does not resolve (resolv.conf of
#                           both namespaces names 127.0.0.1, where no DNS
#                           server listens: lookups fail at once)
#
# Names resolve through /etc/netns/NAME/hosts (ip netns exec mounts it
# on /etc/hosts): hub.ports.test and proxy.ports.test in both namespaces.
# X comes from the PID of the test, and the namespaces are named after
# it too, so two tests (or two builds) run side by side. Everything is
# torn down at exit: the processes by PID (those started here, then any
# left in the namespaces), the namespaces, /etc/netns/NAME.
#
#   pnet_setup                  the namespaces, addresses, hosts files
#   pnet_firewall               the fixture's nftables table in $SNS
#   plain_netns NAME            one more namespace (lo only)
#   start_hub / start_sshd / start_telnetd / start_smbd / start_http
#   start_tls_verify            each waits until its server answers
#   start_fixture               all of the above (fails the test if one
#                               cannot start)
#   in_client CMD... / in_server CMD...   ip netns exec
#   raw_probe NS HOST PORT KIND a second opinion, without vigil: ssh,
#                               telnet, smb, https (0 when it answers)
#   pcheck WANT DESC NS ARGS... `vigil ports check ARGS...` in NS, output
#                               in $T/out, stderr in $T/err ($PT: the
#                               --timeout the tests give)
#   res HOST PORT FIELD         a field of the JSON result for HOST:PORT
#   expect_result DESC HOST PORT RESULT [DETAIL-REGEX]
: "${VIGIL_HUB:?set VIGIL_HUB to the vigil-hub binary}"

PX=$(($$ % 200 + 20))
NET=10.$PX.0
CLIENT_IP=$NET.1
CLIENT_IP2=$NET.101
HUB_IP=$NET.2
HTTP_IP=$NET.3
TLSV_IP=$NET.4
CLOSED_IP=$NET.5
REJECT_IP=$NET.6
DROP_IP=$NET.7
NOROUTE_IP=10.$PX.99.1
HUB_PORT=8443
HUB_NAME=hub.ports.test
PROXY_NAME=proxy.ports.test
BAD_NAME=nothing.ports.invalid
CNS=vigil-pc-$$
SNS=vigil-ps-$$
EXTRA_NS=()
HUB_DIR=$T/hub
HUB_CONF=$T/hub.conf
HUB_LOG=$T/hub.log
HUB_PID=
HUB_FP=     # SHA-256 of the hub's certificate, AB:CD:...
HUB_FP1=    # SHA-1
OTHER_FP=   # SHA-256 of another certificate (the s_server's)
START=$(date +%s)
# --timeout of the checks (seconds per step): the servers answer in tens
# of milliseconds (telnetd, forked by inetd, in about 150 under ASan); 2 s
# leaves room for a loaded machine. The test of parallel probes uses 1.
PT=2
# Debian's python3 (scripts/install-deps.sh), not a shim of a version
# manager that may come first in PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

# ports_cleanup: processes started (by PID), then any process left in
# our namespaces (by PID: children of sshd, inetd, smbd), then the
# namespaces and their /etc/netns folders; then lib.sh's cleanup.
ports_cleanup() {
	local p ns
	for p in "${BG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "${BG_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BG_PIDS=()
	for ns in "$CNS" "$SNS" "${EXTRA_NS[@]}"; do
		[ -e "/run/netns/$ns" ] || continue
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	if [ "$FAIL" -gt 0 ]; then
		for p in "$T"/*.log; do
			[ -s "$p" ] || continue
			echo "# $(basename "$p"), the last lines:"
			tail -15 "$p" | sed 's/^/#   /'
		done
	fi
	cleanup
}
trap ports_cleanup EXIT
trap 'exit 130' INT TERM HUP

ports_finish() {
	echo "# $(($(date +%s) - START)) s"
	finish
}

ports_abort() {
	finish
	exit 1
}

in_client() {
	ip netns exec "$CNS" "$@"
}

in_server() {
	ip netns exec "$SNS" "$@"
}

# wait_until SECONDS COMMAND...: runs COMMAND every 0.1 s until it
# succeeds (0) or SECONDS have passed (1).
wait_until() {
	local end=$(($(date +%s) + $1))
	shift
	while ! "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
	return 0
}

# ports_need: root, network namespaces and the servers; a SKIP (and the
# end of the test) without root or namespaces, a failure when a tool is
# missing (scripts/install-deps.sh test installs them).
ports_need() {
	local tool missing=
	if [ "$(id -u)" -ne 0 ] || ! unshare -n true 2>/dev/null; then
		ok "# SKIP the ports tests need root and network namespaces"
		finish
		exit 0
	fi
	for tool in ip nft jq curl openssl "$PY" ss ssh-keygen \
	    /usr/sbin/sshd /usr/sbin/smbd /usr/sbin/inetutils-inetd \
	    /usr/sbin/telnetd "$@"; do
		command -v "$tool" >/dev/null || missing="$missing $tool"
	done
	if [ -n "$missing" ]; then
		not_ok "missing tools:$missing (scripts/install-deps.sh test)"
		ports_abort
	fi
}

# netns_add NAME: a namespace with its loopback up and its own hosts and
# resolv.conf (a DNS server that is not there: lookups fail at once).
netns_add() {
	# A namespace of this name is left from a run of the same PID that
	# was killed before its cleanup.
	if [ -e "/run/netns/$1" ]; then
		ip netns del "$1" 2>/dev/null
		rm -rf "/etc/netns/$1"
	fi
	ip netns add "$1" || return 1
	ip -n "$1" link set lo up || return 1
	mkdir -p "/etc/netns/$1" || return 1
	cat >"/etc/netns/$1/hosts" <<-EOF
	127.0.0.1	localhost
	$HUB_IP	$HUB_NAME
	$CLIENT_IP	$PROXY_NAME
	EOF
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
	    >"/etc/netns/$1/resolv.conf"
}

# plain_netns NAME: one more namespace, with only its loopback (deleted
# at exit like the others).
plain_netns() {
	EXTRA_NS+=("$1")
	[ -e "/run/netns/$1" ] && ip netns del "$1" 2>/dev/null
	ip netns add "$1" && ip -n "$1" link set lo up
}

links_up() {
	ip -n "$CNS" -br link show vc | grep -q ' UP ' &&
	    ip -n "$SNS" -br link show vs | grep -q ' UP '
}

# pnet_setup: the two namespaces, the veth pair between them and the
# addresses. The client has a route to 10.X.0.0/24 only.
pnet_setup() {
	local a
	netns_add "$CNS" && netns_add "$SNS" &&
	    ip -n "$CNS" link add vc type veth peer name vs netns "$SNS" &&
	    ip -n "$CNS" addr add "$CLIENT_IP/24" dev vc &&
	    ip -n "$CNS" addr add "$CLIENT_IP2/24" dev vc &&
	    ip -n "$CNS" link set vc up &&
	    ip -n "$SNS" link set vs up || {
		not_ok "network namespaces $CNS and $SNS"
		ports_abort
	}
	for a in "$HUB_IP" "$HTTP_IP" "$TLSV_IP" "$CLOSED_IP" "$REJECT_IP" \
	    "$DROP_IP"; do
		ip -n "$SNS" addr add "$a/24" dev vs || {
			not_ok "address $a in $SNS"
			ports_abort
		}
	done
	# The link must be up on both ends before the servers bind.
	if ! wait_until 10 links_up; then
		not_ok "the veth pair between $CNS and $SNS comes up"
		ports_abort
	fi
	ok "namespaces $CNS (client $CLIENT_IP) and $SNS (server $HUB_IP)"
}

# pnet_firewall: the server's own firewall: $REJECT_IP answers every TCP
# connection with a reset, $DROP_IP drops everything, the rest is
# accepted (policy accept).
pnet_firewall() {
	cat >"$T/fixture.nft" <<-EOF
	table inet fixture {
		chain input {
			type filter hook input priority filter; policy accept;
			ip daddr $REJECT_IP tcp dport 0-65535 reject with tcp reset
			ip daddr $DROP_IP drop
			accept
		}
	}
	EOF
	in_server nft -f "$T/fixture.nft" 2>"$T/nft.err" || {
		not_ok "fixture firewall in $SNS"
		sed 's/^/    nft: /' "$T/nft.err"
		ports_abort
	}
}

# listening NS ADDR PORT: a TCP socket listens on ADDR:PORT (or on every
# address) in the namespace.
listening() {
	ip netns exec "$1" ss -ltnH 2>/dev/null | awk '{ print $4 }' |
	    grep -qxE "($2|0\\.0\\.0\\.0|\\*|\\[::\\]):$3"
}

# The probes of raw_probe, written once.
cat >"$T/raw_probe.py" <<'EOF'
# raw_probe.py HOST PORT KIND: 0 when the server answers as KIND should.
import socket, ssl, struct, sys
host, port, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=2)
if kind == "ssh":
    ok = s.recv(255).startswith(b"SSH-")
elif kind == "telnet":
    b = s.recv(64)
    ok = len(b) >= 2 and b[0] == 0xFF and b[1] in (251, 252, 253, 254)
elif kind == "smb":
    hdr = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, 0, 1, 0,
                                   0, 0, 0, 0, 0, b"\0" * 16)
    dialects = (0x0202, 0x0210, 0x0300, 0x0302)
    body = struct.pack("<HHHHI16sQ", 36, len(dialects), 1, 0, 0,
                       b"vigil-test-ports", 0)
    body += b"".join(struct.pack("<H", d) for d in dialects)
    msg = hdr + body
    s.sendall(struct.pack(">I", len(msg)) + msg)
    ans = b""
    while len(ans) < 4 + 64 + 6:
        b = s.recv(4096)
        if not b:
            break
        ans += b
    ok = (ans[4:8] == b"\xfeSMB" and
          struct.unpack("<I", ans[12:16])[0] == 0 and
          struct.unpack("<H", ans[16:18])[0] == 0)
    if ok:
        print("dialect 0x%04x" % struct.unpack("<H", ans[72:74])[0])
elif kind == "https":
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    t = c.wrap_socket(s)
    t.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"
              b"Connection: close\r\n\r\n")
    ok = t.recv(64).startswith(b"HTTP/1.1 200")
elif kind == "http":
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    ok = s.recv(64).startswith(b"HTTP/")
else:
    sys.exit("unknown kind " + kind)
sys.exit(0 if ok else 1)
EOF

raw_probe() {
	local ns=$1
	shift
	ip netns exec "$ns" timeout 10 "$PY" "$T/raw_probe.py" "$@" \
	    >/dev/null 2>&1
}

# ready DESC PID SECONDS COMMAND...: waits until COMMAND succeeds while
# the server PID lives; ok or not_ok DESC.
ready() {
	local desc=$1 pid=$2 secs=$3 end
	shift 3
	end=$(($(date +%s) + secs))
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			not_ok "$desc: the server exited"
			return 1
		fi
		"$@" && break
		if [ "$(date +%s)" -ge "$end" ]; then
			not_ok "$desc: no answer within $secs s"
			return 1
		fi
		sleep 0.1
	done
	ok "$desc"
}

# start_hub: vigil-hub init (hub.conf $HUB_CONF, data $HUB_DIR, url
# https://hub.ports.test:8443/api/) and the daemon on $HUB_IP:8443.
start_hub() {
	local pw=$T/adminpw
	printf 'Adm1n-%s\n' "$(head -c 12 /dev/urandom | base64 | tr -d '/+=')" >"$pw"
	cat >"$HUB_CONF" <<-EOF
	listen = $HUB_IP:$HUB_PORT
	data_dir = $HUB_DIR
	url = https://$HUB_NAME:$HUB_PORT/api/
	EOF
	in_server "$VIGIL_HUB" init -c "$HUB_CONF" --admin-password-file "$pw" \
	    >"$T/init.out" 2>"$T/init.err" || {
		not_ok "vigil-hub init"
		sed 's/^/    err: /' "$T/init.err" | head -10
		return 1
	}
	bg ip netns exec "$SNS" "$VIGIL_HUB" -c "$HUB_CONF" --foreground \
	    --log-level debug >>"$HUB_LOG" 2>&1
	HUB_PID=$!
	ready "vigil-hub answers on $HUB_IP:$HUB_PORT" "$HUB_PID" 30 \
	    raw_probe "$CNS" "$HUB_IP" "$HUB_PORT" https || return 1
	HUB_FP=$(openssl x509 -in "$HUB_DIR/hub.crt" -noout -fingerprint \
	    -sha256 | sed 's/.*=//')
	HUB_FP1=$(openssl x509 -in "$HUB_DIR/hub.crt" -noout -fingerprint \
	    -sha1 | sed 's/.*=//')
	check "the hub's HubDetails.xml pins its certificate" \
	    test "$(sed -n 's:.*<Thumbprint>\(.*\)</Thumbprint>.*:\1:p' \
	    "$HUB_DIR/HubDetails.xml" | tr -d ': ' | tr a-f A-F)" = \
	    "$(tr -d ':' <<<"$HUB_FP")"
}

# start_sshd: OpenSSH on $HUB_IP:22 with a host key of its own.
start_sshd() {
	mkdir -p /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$T/ssh_host_ed25519_key" || return 1
	cat >"$T/sshd_config" <<-EOF
	ListenAddress $HUB_IP:22
	HostKey $T/ssh_host_ed25519_key
	PidFile $T/sshd.pid
	UsePAM no
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	AuthorizedKeysFile none
	EOF
	bg ip netns exec "$SNS" /usr/sbin/sshd -D -e -f "$T/sshd_config" \
	    >>"$T/sshd.log" 2>&1
	ready "OpenSSH sshd answers on $HUB_IP:22" $! 20 \
	    raw_probe "$CNS" "$HUB_IP" 22 ssh
}

# start_telnetd: inetutils telnetd through inetutils-inetd (in the
# foreground with -d) on port 23 of the server namespace.
start_telnetd() {
	printf 'telnet stream tcp nowait root /usr/sbin/telnetd telnetd\n' \
	    >"$T/inetd.conf"
	bg ip netns exec "$SNS" /usr/sbin/inetutils-inetd -d \
	    -p "$T/inetd.pid" "$T/inetd.conf" >>"$T/inetd.log" 2>&1
	ready "inetutils telnetd answers on $HUB_IP:23" $! 20 \
	    raw_probe "$CNS" "$HUB_IP" 23 telnet
}

# start_smbd: Samba's smbd on $HUB_IP:445, every folder under $T/smb.
start_smbd() {
	local d=$T/smb
	mkdir -p "$d"/{lock,state,cache,pid,private,ncalrpc,binddns,share}
	cat >"$T/smb.conf" <<-EOF
	[global]
	workgroup = VIGILTEST
	server role = standalone server
	interfaces = $HUB_IP/24
	bind interfaces only = yes
	smb ports = 445
	disable netbios = yes
	lock directory = $d/lock
	state directory = $d/state
	cache directory = $d/cache
	pid directory = $d/pid
	private dir = $d/private
	ncalrpc dir = $d/ncalrpc
	binddns dir = $d/binddns
	passdb backend = tdbsam:$d/private/passdb.tdb
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes
	log level = 1
	[share]
	path = $d/share
	read only = yes
	EOF
	# smbd signals its whole process group when it stops: setsid gives
	# it one of its own (same PID: setsid execs when it need not fork).
	bg ip netns exec "$SNS" setsid /usr/sbin/smbd --foreground \
	    --no-process-group --debug-stdout -s "$T/smb.conf" >>"$T/smbd.log" 2>&1
	ready "Samba smbd negotiates SMB2 on $HUB_IP:445" $! 60 \
	    raw_probe "$CNS" "$HUB_IP" 445 smb
}

# start_http: plain HTTP servers: $HTTP_IP:8443 and $HUB_IP:8080.
start_http() {
	mkdir -p "$T/www"
	echo hello >"$T/www/index.html"
	bg ip netns exec "$SNS" "$PY" -m http.server --bind "$HTTP_IP" \
	    --directory "$T/www" 8443 >>"$T/http.log" 2>&1
	ready "plain HTTP answers on $HTTP_IP:8443" $! 20 \
	    raw_probe "$CNS" "$HTTP_IP" 8443 http || return 1
	bg ip netns exec "$SNS" "$PY" -m http.server --bind "$HUB_IP" \
	    --directory "$T/www" 8080 >>"$T/http.log" 2>&1
	ready "plain HTTP answers on $HUB_IP:8080" $! 20 \
	    raw_probe "$CNS" "$HUB_IP" 8080 http
}

# s_server_fails: a TLS client without a certificate is refused by the
# s_server (its handshake or first read fails; a TCP connection works).
s_server_fails() {
	listening "$SNS" "$TLSV_IP" "$HUB_PORT" &&
	    ! raw_probe "$CNS" "$TLSV_IP" "$HUB_PORT" https
}

# start_tls_verify: openssl s_server on $TLSV_IP:8443 that demands a
# client certificate (-Verify 1), with a certificate of its own whose
# fingerprint is $OTHER_FP.
start_tls_verify() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/other.key" -out "$T/other.crt" -days 2 \
	    -subj "/CN=other.ports.test" >/dev/null 2>&1 || return 1
	OTHER_FP=$(openssl x509 -in "$T/other.crt" -noout -fingerprint \
	    -sha256 | sed 's/.*=//')
	bg ip netns exec "$SNS" openssl s_server -accept "$TLSV_IP:$HUB_PORT" \
	    -cert "$T/other.crt" -key "$T/other.key" -CAfile "$T/other.crt" \
	    -Verify 1 -www -quiet >>"$T/s_server.log" 2>&1
	ready "openssl s_server -Verify 1 on $TLSV_IP:$HUB_PORT refuses clients without a certificate" \
	    $! 20 s_server_fails
}

start_fixture() {
	pnet_setup
	pnet_firewall
	start_hub || ports_abort
	start_sshd || ports_abort
	start_telnetd || ports_abort
	start_smbd || ports_abort
	start_http || ports_abort
	start_tls_verify || ports_abort
	check "nothing listens on $CLOSED_IP:22 (raw connect refused)" \
	    closed_refused
}

closed_refused() {
	! in_client timeout 5 bash -c "exec 3<>/dev/tcp/$CLOSED_IP/22" 2>/dev/null
}

# deploy FILE LINE...: writes a deployment file.
deploy() {
	local f=$1
	shift
	printf '%s\n' "$@" >"$f"
}

# pcheck WANT DESC NS ARGS...: `vigil ports check ARGS...` run in the
# namespace NS (60 s at most), its exit status checked; the time it took
# in ELAPSED_MS.
pcheck() {
	local want=$1 desc=$2 ns=$3 t0
	shift 3
	t0=$(date +%s%N)
	run "$want" "$desc" ip netns exec "$ns" timeout 60 "$VIGIL" ports check "$@"
	local rc=$?
	ELAPSED_MS=$((($(date +%s%N) - t0) / 1000000))
	return "$rc"
}

# res HOST PORT FIELD: a field of the result for HOST:PORT in the JSON
# output of the last check ($T/out); with SVC set, of its result for
# that service.
res() {
	jq -r --arg h "$1" --argjson p "$2" --arg f "$3" --arg s "${SVC:-}" \
	    '[.results[] | select(.host == $h and .port == $p and
	      ($s == "" or .service == $s))][0][$f] // empty' \
	    "$T/out" 2>/dev/null
}

# expect_result DESC HOST PORT RESULT [DETAIL-EREGEX]: the last JSON check
# output has exactly one result for HOST:PORT (and the service $SVC when
# set), RESULT, and (if given) a detail matching the regular expression
# (case-insensitive).
expect_result() {
	local desc=$1 host=$2 port=$3 want=$4 re=${5:-} n got detail
	n=$(jq --arg h "$host" --argjson p "$port" --arg s "${SVC:-}" \
	    '[.results[] | select(.host == $h and .port == $p and
	      ($s == "" or .service == $s))] | length' "$T/out" 2>/dev/null)
	got=$(res "$host" "$port" result)
	detail=$(res "$host" "$port" detail)
	if [ "$n" = 1 ] && [ "$got" = "$want" ] &&
	    { [ -z "$re" ] || grep -qiE -- "$re" <<<"$detail"; }; then
		ok "$desc: $host:$port $want in $(res "$host" "$port" ms) ms ($detail)"
		return 0
	fi
	not_ok "$desc: $host:$port${SVC:+ ($SVC)}: $n result(s), '$got', wanted '$want'${re:+ with detail /$re/}"
	echo "    detail: $detail"
	jq -c '.results[]?' "$T/out" 2>/dev/null | sed 's/^/    result: /' | head -20
	[ -s "$T/out" ] && ! jq -e . "$T/out" >/dev/null 2>&1 &&
	    sed 's/^/    out: /' "$T/out" | head -20
	return 1
}

# logs_clean: no sanitizer report in the logs of the servers vigil
# itself ran (the hub, an agent).
logs_clean() {
	local f bad=0
	for f in "$HUB_LOG" "$T/agent.log"; do
		[ -f "$f" ] || continue
		if grep -qE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$f"; then
			grep -E -A30 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' \
			    "$f" | head -40 | sed "s/^/    $(basename "$f"): /"
			bad=1
		fi
	done
	return "$bad"
}

# tcp_try NS SRC DST PORT: one TCP connection from SRC (empty: any) in the
# namespace, 1.5 s at most; prints ok, refused, timeout or the error.
tcp_try() {
	ip netns exec "$1" "$PY" - "$2" "$3" "$4" <<-'PY' 2>&1
	import errno, socket, sys
	src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
	s = socket.socket()
	s.settimeout(1.5)
	if src:
	    s.bind((src, 0))
	try:
	    s.connect((dst, port))
	    print("ok")
	except socket.timeout:
	    print("timeout")
	except ConnectionRefusedError:
	    print("refused")
	except OSError as e:
	    print(errno.errorcode.get(e.errno, str(e)))
	PY
}

# expect_tcp DESC WANT NS SRC DST PORT: tcp_try gives WANT.
expect_tcp() {
	local desc=$1 want=$2 got
	shift 2
	got=$(tcp_try "$@")
	if [ "$got" = "$want" ]; then
		ok "$desc ($want)"
		return 0
	fi
	not_ok "$desc: $got, wanted $want"
	return 1
}
