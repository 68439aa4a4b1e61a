#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil-fakedev, the fake network device server of the proxy's tests,
# checked with real clients: OpenSSH's ssh (password through SSH_ASKPASS)
# and a Telnet client (tests/fakedev/telnet_client.py). The synthetic
# IOS device: login, enable, the running-config of the asked size with
# its volatile lines and secrets, a refused password, the .count and
# .extra state files; the quirks (pager with space, Enter and q,
# truncate, escapes, password-only, user-prompt, ignore-exit, slow);
# recorded sessions replayed in a shell (IOS) and on exec channels
# (Junos); 64 SSH sessions at once; 1,000 distinct devices over Telnet;
# a stop by SIGTERM with sessions open (exit 0, no sanitizer report).
# When `vigil collect` is built: every recorded session collected through
# fakedev over SSH (and Telnet for shell profiles) agrees with the
# fixture's expectations (fixture_check.py, as the unit test checks the
# same fixture replayed in memory), and two synthetic sessions give the
# same significant view, with and without the pager and escape quirks.
. "$(dirname "$0")/lib.sh"

: "${VIGIL_FAKEDEV:?set VIGIL_FAKEDEV to the vigil-fakedev binary}"
SRC=${VIGIL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
FX=$SRC/tests/fixtures/device-sessions
TCLIENT=$SRC/tests/fakedev/telnet_client.py
PROFILES=$SRC/dist/profiles

ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
# The password for ssh comes from the environment of each call.
printf '#!/bin/sh\nprintf "%%s\\n" "$FD_PW"\n' >"$T/askpass"
chmod 755 "$T/askpass"
mkdir -p "$T/state"

FD_PID=
FD_LOG=
# start_fakedev NAME ARGS...: a fakedev on free ports; sets SP, TP.
start_fakedev() {
	local name=$1 i
	shift
	FD_LOG=$T/$name.log
	rm -f "$T/$name.ports"
	bg "$VIGIL_FAKEDEV" --ssh-port 0 --telnet-port 0 \
		--host-key "$T/hostkey" --ports-file "$T/$name.ports" \
		--pidfile "$T/$name.pid" --idle 30 -v "$@" 2>"$FD_LOG"
	FD_PID=$!
	for i in $(seq 1 100); do
		[ -s "$T/$name.ports" ] && break
		kill -0 "$FD_PID" 2>/dev/null || break
		sleep 0.1
	done
	SP=$(awk '$1 == "ssh" {print $2}' "$T/$name.ports" 2>/dev/null)
	TP=$(awk '$1 == "telnet" {print $2}' "$T/$name.ports" 2>/dev/null)
	[ -n "$SP" ] && [ -n "$TP" ] || {
		not_ok "fakedev $name did not start:"
		sed 's/^/    log: /' "$FD_LOG" | head -20
		return 1
	}
}

# stop_fakedev: SIGTERM; it must end by itself, exit 0, remove its
# pidfile, and its log must hold no sanitizer report.
stop_fakedev() {
	local rc
	bg_stop "$FD_PID" 20
	rc=$?
	if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$FD_LOG"; then
		ok "fakedev stops on SIGTERM (exit 0, clean)"
	else
		not_ok "fakedev stop: exit $rc"
		grep -A30 -E 'Sanitizer|runtime error' "$FD_LOG" | head -40 | sed 's/^/    log: /'
	fi
}

# dssh USER LINE...: an interactive session with OpenSSH's client, the
# lines typed on its terminal; the password is $PW (default "test").
# Output in $T/out, stderr in $T/err; returns ssh's exit status.
dssh() {
	local user=$1
	shift
	printf '%s\n' "$@" | FD_PW=${PW:-test} SSH_ASKPASS="$T/askpass" \
		SSH_ASKPASS_REQUIRE=force DISPLAY= timeout 30 \
		ssh -tt -p "$SP" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=error \
		-o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 \
		"$user@127.0.0.1" >"$T/out" 2>"$T/err"
}

# dexec USER COMMAND: one exec channel, no terminal.
dexec() {
	FD_PW=${PW:-test} SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force \
		DISPLAY= timeout 30 ssh -p "$SP" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=error \
		-o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 \
		"$1@127.0.0.1" "$2" >"$T/out" 2>"$T/err"
}

# tel STEP...: the Telnet client; transcript in $T/out, offers in $T/err.
tel() {
	timeout 60 python3 "$TCLIENT" --port "$TP" "$@" >"$T/out" 2>"$T/err"
}

# config_of FILE: the running-config lines of a transcript, from
# "Building configuration..." to "end".
config_of() {
	tr -d '\r' <"$1" | sed -n '/^Building configuration\.\.\./,/^end$/p'
}

# count NAME: sessions served to device NAME.
count_of() {
	cat "$T/state/$1.count" 2>/dev/null || echo 0
}

LINES_WANT=60
start_fakedev synth --synthetic $LINES_WANT --state-dir "$T/state" || { finish; exit; }

# ---- OpenSSH: login, enable, the configuration ----
dssh dev0001 'terminal length 0' 'show version' 'enable' 'enable' \
	'show running-config' 'exit'
rc=$?
check "ssh session ends with the device's exit (ssh exit $rc)" [ "$rc" -eq 0 ]
tr -d '\r' <"$T/out" >"$T/s1"
check "user prompt, then privileged prompt after enable" \
	has "$T/s1" "dev0001>enable"
check "enable asks the enable secret" has "$T/s1" "Password: "
check "privileged prompt" has "$T/s1" "dev0001#show running-config"
check "show version has an uptime" grep -qE '^dev0001 uptime is [0-9]+ weeks' "$T/s1"
config_of "$T/s1" >"$T/c1"
check "running-config has $LINES_WANT lines (to the blank line after end)" \
	[ "$(($(wc -l <"$T/c1") + 1))" -eq "$LINES_WANT" ]
check "hostname is the user name" has "$T/c1" "hostname dev0001"
check "volatile lines and secrets are there" \
	grep -qE '^ntp clock-period [0-9]+$' "$T/c1"
check "enable secret and SNMP community" \
	bash -c "grep -q '^enable secret 5 \\\$1\\\$' '$T/c1' && grep -q '^snmp-server community .* RO$' '$T/c1'"
check ".count counts the session" [ "$(count_of dev0001)" = 1 ]

# A second session: the same configuration but for its volatile lines.
dssh dev0001 'enable' 'enable' 'show running-config' 'exit'
tr -d '\r' <"$T/out" | sed -n '/^Building/,/^end$/p' >"$T/c2"
VOL='^(Current configuration|! Last configuration change|! NVRAM config|ntp clock-period)'
check "two sessions differ only in volatile lines" \
	diff <(grep -vE "$VOL" "$T/c1") <(grep -vE "$VOL" "$T/c2")
check "the volatile lines change between sessions" \
	bash -c "! diff -q <(grep -E '^ntp clock-period' '$T/c1') <(grep -E '^ntp clock-period' '$T/c2') >/dev/null"
check ".count is 2" [ "$(count_of dev0001)" = 2 ]

# .extra: lines added before "end" from the next session on.
printf 'ip route 0.0.0.0 0.0.0.0 192.0.2.1\nbanner motd ^C changed ^C\n' >"$T/state/dev0001.extra"
dssh dev0001 'enable' 'enable' 'show running-config' 'exit'
config_of "$T/out" >"$T/c3"
check ".extra lines come before end" \
	[ "$(tail -n 3 "$T/c3" | tr '\n' '|')" = "ip route 0.0.0.0 0.0.0.0 192.0.2.1|banner motd ^C changed ^C|end|" ]
check "other devices do not get them" bash -c "! grep -q 'ip route 0.0.0.0' '$T/c2'"

# Refused logins and enable.
PW=wrong dssh dev0002 'exit'
rc=$?
check "a wrong password is refused (ssh exit $rc)" [ "$rc" -eq 255 ]
check "no session counted for a refused login" [ "$(count_of dev0002)" = 0 ]
dssh dev0003 'enable' 'nope' 'nope' 'nope' 'show running-config' 'exit'
tr -d '\r' <"$T/out" >"$T/s4"
check "a wrong enable secret: asked again, then % Bad secrets" \
	bash -c "[ \"\$(grep -c 'Password: ' '$T/s4')\" -eq 3 ] && grep -q '% Bad secrets' '$T/s4'"
check "unprivileged show running-config is invalid input" \
	has "$T/s4" "% Invalid input detected at '^' marker."
dssh 'bad/name' 'exit'
check "a user name that is no file name is refused" [ "$?" -eq 255 ]

# ---- Telnet ----
tel expect='Username: ' send=dev0004 expect='Password: ' send=test \
	expect='dev0004>' send=enable expect='Password: ' send=enable \
	expect='dev0004#' send='show running-config' expect='dev0004#' \
	send=exit closed
check "telnet: login, enable, running-config, exit closes (rc $?)" [ "$?" -eq 0 ]
check "telnet: server offers WILL ECHO and WILL SGA" \
	bash -c "grep -qx 'WILL 1' '$T/err' && grep -qx 'WILL 3' '$T/err'"
check "telnet: the configuration" has "$T/out" "hostname dev0004"
check "telnet: the user name is echoed, not the password" \
	bash -c "grep -q 'Username: dev0004' '$T/out' && ! grep -q 'Password: test' '$T/out'"
tel expect='Username: ' send=dev0005 expect='Password: ' send=bad \
	expect='% Login invalid' expect='Username: ' send=dev0005 \
	expect='Password: ' send=bad expect='Username: ' send=dev0005 \
	expect='Password: ' send=bad closed
check "telnet: three refused logins, then the device hangs up" [ "$?" -eq 0 ]

# ---- recorded sessions ----
stop_fakedev
IOS_FX='ios#C9200L-24P-4G_17.09.04a'
start_fakedev ios --fixture "$FX/$IOS_FX#simulation.yaml" --state-dir "$T/state" || { finish; exit; }
dssh oxidized 'terminal length 0' 'show running-config' 'show nonsense' 'exit'
tr -d '\r' <"$T/out" >"$T/r1"
check "replay: the recorded banner and prompt" has "$T/r1" "LAB-SW123_9200L#terminal length 0"
check "replay: the recorded configuration" has "$T/r1" "hostname LAB-SW123_9200L"
check "replay: an unknown command is invalid input" has "$T/r1" "% Invalid input detected"
check "replay: sessions are counted under the user name" [ "$(count_of oxidized)" = 1 ]
stop_fakedev

start_fakedev junos --fixture "$FX/junos#srx300_22.4#simulation.yaml" || { finish; exit; }
dexec oxidized 'show version'
rc=$?
check "exec: a recorded command's output (exit $rc)" \
	bash -c "[ $rc -eq 0 ] && [ \"\$(head -n 2 '$T/out')\" = \"\$(printf 'Model: srx300\nJunos: 22.4R3-S2.11')\" ]"
dexec oxidized 'show configuration | display omit'
check "exec: the configuration ends with }" [ "$(tail -n 1 "$T/out")" = "}" ]
dexec oxidized 'request system reboot'
check "exec: an unknown command exits 1" [ "$?" -eq 1 ]
stop_fakedev

# ---- quirks ----
start_fakedev pager --synthetic $LINES_WANT --quirk pager || { finish; exit; }
tel expect='Username: ' send=dev0006 expect='Password: ' send=test \
	expect='dev0006>' send=enable expect='Password: ' send=enable \
	expect='dev0006#' send='show running-config' \
	expect=' --More-- ' key='\s' expect=' --More-- ' key='\s' \
	expect='end' expect='dev0006#' send=exit closed
check "pager: --More-- every 24 lines, a space for the next page" [ "$?" -eq 0 ]
check "pager: two pauses for $((LINES_WANT + 1)) lines" \
	[ "$(grep -o -- '--More--' "$T/out" | wc -l)" -eq 2 ]
check "pager: the whole configuration came" \
	[ "$(($(config_of "$T/out" | wc -l) + 1))" -eq "$LINES_WANT" ]
# pages_ok FILE: from the command's echo on, no page (between pager
# prompts) has more than 24 lines, and some have 24.
pages_ok() {
	sed -n '/#show running-config/,$p' "$1" |
		awk 'BEGIN { RS = "--More--" } { n = gsub(/\n/, "\n"); if (n > 24) bad = 1; if (n == 24) full++ } END { exit bad || !full }'
}
check "pager: pages of 24 lines" pages_ok "$T/out"
tel expect='Username: ' send=dev0006 expect='Password: ' send=test \
	expect='dev0006>' send=enable expect='Password: ' send=enable \
	expect='dev0006#' send='show running-config' \
	expect=' --More-- ' key=q expect='dev0006#' send=exit closed
check "pager: q stops the output (rc $?)" \
	bash -c "! grep -q '^end' '$T/out' && ! grep -q 'ntp clock-period' '$T/out'"
tel expect='Username: ' send=dev0006 expect='Password: ' send=test \
	expect='dev0006>' send=enable expect='Password: ' send=enable \
	expect='dev0006#' send='show running-config' \
	expect=' --More-- ' key=$'\r' expect=' --More-- ' key=q expect='dev0006#' send=exit closed
check "pager: Enter gives one more line" [ "$?" -eq 0 ]
stop_fakedev

start_fakedev trunc --synthetic $LINES_WANT --quirk truncate:300 || { finish; exit; }
dssh dev0007 'terminal length 0' 'show version' 'exit'
tr -d '\r' <"$T/out" >"$T/t1"
check "truncate: the first answers come" has "$T/t1" "dev0007>terminal length 0"
check "truncate: then the device hangs up mid-output" \
	bash -c "! grep -q 'Configuration register' '$T/t1' && grep -q 'Cisco IOS' '$T/t1'"
# The banner ("\n" and the prompt) is not counted.
check "truncate: no more than 300 bytes after the banner" \
	[ "$(wc -c <"$T/t1")" -le 309 ]
stop_fakedev

start_fakedev esc --synthetic $LINES_WANT --quirk escapes --quirk password-only || { finish; exit; }
tel expect='Password: ' send=test expect='router>' send='show inventory' \
	expect='router>' send=exit closed
check "password-only: Password: alone, the device is 'router' (rc $?)" \
	bash -c "! grep -q 'Username' '$T/out'"
check "escapes: colour codes" grep -q $'\e\\[0;36mPID: C9200L' "$T/out"
check "escapes: CR LF line ends" grep -q $'SN: JAE[0-9A-F]*\e\\[0m\r$' "$T/out"
stop_fakedev

start_fakedev misc --synthetic $LINES_WANT --quirk user-prompt:User: \
	--quirk ignore-exit --quirk slow:150 || { finish; exit; }
start=$(date +%s%N)
tel expect='User: ' send=dev0008 expect='Password: ' send=test \
	expect='dev0008>' send='show version' expect='dev0008>'
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "user-prompt: 'User:' is asked (rc $rc)" has "$T/out" "User: "
# About ten writes (banner, questions, echo, prompts, show version in
# two 512-byte chunks), each after 150 ms.
check "slow: answers come late ($ms ms)" [ "$ms" -ge 1300 ]
tel expect='User: ' send=dev0008 expect='Password: ' send=test \
	expect='dev0008>' send=exit expect='dev0008>' send=quit \
	expect='dev0008>' sleep=1 send='show inventory' expect='dev0008>'
check "ignore-exit: exit and quit give the prompt again, no hang-up (rc $?)" \
	[ "$(grep -o 'dev0008>' "$T/out" | wc -l)" -ge 4 ]
stop_fakedev

# ---- public keys, legacy algorithms ----
ssh-keygen -q -t ed25519 -N '' -f "$T/userkey"
ssh-keygen -q -t ed25519 -N '' -f "$T/otherkey"
start_fakedev keys --synthetic $LINES_WANT --authorized-keys "$T/userkey.pub" || { finish; exit; }
key_ssh() {
	printf 'show inventory\nexit\n' | timeout 30 ssh -tt -p "$SP" -i "$1" \
		-o IdentitiesOnly=yes -o PasswordAuthentication=no \
		-o KbdInteractiveAuthentication=no -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=error \
		dev0009@127.0.0.1 >"$T/out" 2>"$T/err"
}
key_ssh "$T/userkey"
rc=$?
check "public key login with an authorized key (exit $rc)" \
	bash -c "[ $rc -eq 0 ] && grep -q 'dev0009>show inventory' '$T/out'"
key_ssh "$T/otherkey"
check "another key is refused (exit $?)" [ "$?" -eq 255 ]
stop_fakedev

ssh-keygen -q -t rsa -b 2048 -N '' -f "$T/rsakey"
start_fakedev legacy --synthetic $LINES_WANT --legacy-ssh --host-key "$T/rsakey" || { finish; exit; }
dssh dev0010 'exit'
check "legacy: a modern-only client finds no common algorithm (exit $?)" [ "$?" -eq 255 ]
printf 'show version\nexit\n' | FD_PW=test SSH_ASKPASS="$T/askpass" \
	SSH_ASKPASS_REQUIRE=force DISPLAY= timeout 30 ssh -tt -p "$SP" \
	-o KexAlgorithms=+diffie-hellman-group14-sha1 \
	-o HostKeyAlgorithms=+ssh-rsa -o Ciphers=+aes128-cbc \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o LogLevel=error -o PubkeyAuthentication=no dev0010@127.0.0.1 >"$T/out" 2>&1
rc=$?
check "legacy: SHA-1 key exchange, ssh-rsa, CBC work (exit $rc)" \
	bash -c "[ $rc -eq 0 ] && grep -q 'dev0010 uptime is' '$T/out'"
stop_fakedev

# ---- load: 64 SSH sessions at once, 1,000 devices over Telnet ----
rm -f "$T"/state/*
start_fakedev load --synthetic 200 --state-dir "$T/state" --threads 128 || { finish; exit; }
pids=()
for i in $(seq 100 163); do
	{
		{ printf 'enable\nenable\n'; sleep 6; printf 'show running-config\nexit\n'; } |
			FD_PW=test SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force \
			DISPLAY= timeout 60 ssh -tt -p "$SP" -o StrictHostKeyChecking=no \
			-o UserKnownHostsFile=/dev/null -o LogLevel=error \
			-o PubkeyAuthentication=no "dev0$i@127.0.0.1" >"$T/par.$i" 2>&1
	} &
	pids+=($!)
done
sleep 4
est=$(ss -Htn state established "( sport = :$SP )" | wc -l)
for p in "${pids[@]}"; do wait "$p"; done
check "64 SSH sessions open at once ($est)" [ "$est" -ge 64 ]
good=0
for i in $(seq 100 163); do
	tr -d '\r' <"$T/par.$i" | grep -q "^hostname dev0$i\$" &&
		tr -d '\r' <"$T/par.$i" | grep -q '^end$' && good=$((good + 1))
done
check "all 64 parallel sessions got their configuration ($good)" [ "$good" -eq 64 ]
timeout 300 python3 "$TCLIENT" --port "$TP" --many 1000 --parallel 64 >"$T/out" 2>"$T/err"
check "1,000 devices over Telnet, 64 at a time: $(cat "$T/out")" \
	has "$T/out" "sessions ok: 1000 of 1000"
check "1,000 .count files" [ "$(ls "$T/state" | grep -c '^dev[0-9]*\.count$')" -eq 1000 ]
# Clients that send garbage or leave at any moment: nothing breaks.
timeout 120 python3 - "$SP" "$TP" <<'PY'
import os, random, socket, sys, time
sp, tp = int(sys.argv[1]), int(sys.argv[2])
random.seed(7)
def conn(p):
    return socket.create_connection(("127.0.0.1", p), timeout=5)
# Garbage instead of an SSH banner, a banner then garbage, nothing.
for data in (os.urandom(4096), b"SSH-2.0-x\r\n" + os.urandom(2048), b""):
    s = conn(sp)
    if data:
        s.sendall(data)
    time.sleep(0.05)
    s.close()
# Random bytes (IAC sequences cut anywhere) over Telnet.
for n in range(50):
    s = conn(tp)
    try:
        s.sendall(os.urandom(random.randint(1, 3000)))
    except OSError:
        pass
    s.close()
# A subnegotiation that never ends, a line of 100,000 bytes.
for data in (b"\xff\xfa\x18" + b"A" * 100000, b"x" * 100000 + b"\r\n"):
    s = conn(tp)
    s.sendall(data)
    time.sleep(0.1)
    s.close()
# Leaving in the middle of the answers.
for n in range(20):
    s = conn(tp)
    s.sendall(b"dev0500\r\ntest\r\nenable\r\nenable\r\nshow running-config\r\n")
    time.sleep(random.random() * 0.05)
    s.close()
PY
for d in 0.2 0.4 0.6 0.8 1.0; do
	printf 'enable\nenable\nshow running-config\nshow running-config\n' |
		FD_PW=test SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force \
		DISPLAY= timeout -s KILL "$d" ssh -tt -p "$SP" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=error \
		-o PubkeyAuthentication=no dev0501@127.0.0.1 >/dev/null 2>&1
done
dssh dev0502 'enable' 'enable' 'show running-config' 'exit'
check "after garbage and clients that left, sessions still work" \
	has "$T/out" "hostname dev0502"

# A stop with sessions open: they are shut down, the program exits 0.
{ sleep 20; } | FD_PW=test SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force \
	DISPLAY= timeout 30 ssh -tt -p "$SP" -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o LogLevel=error \
	-o PubkeyAuthentication=no dev0999@127.0.0.1 >/dev/null 2>&1 &
idle_ssh=$!
python3 "$TCLIENT" --port "$TP" --timeout 30 expect='Username: ' sleep=20 >/dev/null 2>&1 &
idle_tel=$!
sleep 1.5
t0=$(date +%s)
stop_fakedev
check "the stop did not wait for the open sessions" [ $(($(date +%s) - t0)) -le 5 ]
check "the pidfile is removed" [ ! -e "$T/load.pid" ]
kill "$idle_ssh" "$idle_tel" 2>/dev/null
wait "$idle_ssh" "$idle_tel" 2>/dev/null

# ---- vigil collect through fakedev ----
if ! "$VIGIL" collect --help >/dev/null 2>&1; then
	echo "# vigil collect is not built: its checks are skipped"
	finish
	exit
fi

# collect PROFILE PORT [--telnet] USER: vigil collect's document in $T/out.
collect() {
	local prof=$1 port=$2
	shift 2
	VIGIL_DEVICE_PASSWORD=${PW:-test} VIGIL_ENABLE_SECRET=enable \
		timeout 120 "$VIGIL" collect --profile "$prof" --profiles-dir "$PROFILES" \
		--host 127.0.0.1 --port "$port" --timeout 60 "$@" >"$T/out" 2>"$T/err"
}

# collect_fixture PROTOCOL PROFILE BASE CONFIG_COMMAND COLLECT_ARGS...
collect_fixture() {
	local proto=$1 prof=$2 base=$3 cmd=$4 rc
	shift 4
	collect "$prof" "$@" --user oxidized
	rc=$?
	if [ "$rc" -eq 0 ] && python3 "$SRC/tests/fakedev/fixture_check.py" \
		"$T/out" "$FX/$base" "$cmd" >"$T/chk"; then
		ok "collect over $proto of $base agrees with the recording"
	else
		not_ok "collect over $proto of $base (exit $rc)"
		sed 's/^/    /' "$T/chk" "$T/err" 2>/dev/null | head -10
	fi
}

while read -r prof base cmd; do
	start_fakedev "fx" --fixture "$FX/$base#simulation.yaml" || continue
	collect_fixture SSH "$prof" "$base" "$cmd" "$SP"
	# Exec-mode profiles have no Telnet.
	if [ "$prof" != junos ] && [ "$prof" != routeros ]; then
		collect_fixture Telnet "$prof" "$base" "$cmd" "$TP" --telnet
	fi
	stop_fakedev
done <<'EOF'
ios ios#C9200L-24P-4G_17.09.04a show running-config
ios ios#C9800-L-F-K9_17.06.05 show running-config
ios ios#asr920_16.8.1b show running-config
nxos nxos#C93180YC-FX3J_10.4.5 show running-config
nxos nxos#N5548_7.3.13 show running-config
asa asa#5512_9.12-4-67_single-context more system:running-config
eos eos#DCS-7050SX3-48YC8_4.29.2F show running-config | no-more | exclude ! Time:
fortios fortios#FMG-VM64_7.4.6 show
junos junos#srx300_22.4 show configuration | display omit
junos junos#srx300_22.4_wo_cluster show configuration | display omit
routeros routeros#CHR_7.10.1 /export show-sensitive
routeros routeros#CHR_7.16 /export show-sensitive
routeros routeros#L009UiGS_7.15.2 /export show-sensitive
routeros routeros#RB5009UPr+S+_7.18.2 /export show-sensitive
EOF

# The significant view: the document without the profile's volatile
# lines (ios: uptime, last change and NVRAM times).
significant() {
	grep -vE 'uptime is|^Uptime for this control processor|^! Last configuration change at|^! NVRAM config last updated at' "$1"
}
for quirk in none pager escapes; do
	qa=()
	[ "$quirk" = none ] || qa=(--quirk "$quirk")
	start_fakedev "sig-$quirk" --synthetic 62 "${qa[@]}" || continue
	collect ios "$SP" --user dev0001
	r1=$?
	cp "$T/out" "$T/sig-$quirk.1"
	collect ios "$TP" --telnet --user dev0001
	r2=$?
	cp "$T/out" "$T/sig-$quirk.2"
	check "collect ($quirk): two sessions, SSH and Telnet (exit $r1, $r2)" \
		[ "$r1" -eq 0 -a "$r2" -eq 0 ]
	check "collect ($quirk): the volatile lines differ, as on a real device" \
		bash -c "! cmp -s '$T/sig-$quirk.1' '$T/sig-$quirk.2'"
	check "collect ($quirk): same significant view both times" \
		diff <(significant "$T/sig-$quirk.1") <(significant "$T/sig-$quirk.2")
	check "collect ($quirk): same significant view as without quirks" \
		diff <(significant "$T/sig-none.1") <(significant "$T/sig-$quirk.1")
	check "collect ($quirk): secrets masked" \
		bash -c "grep -q '^enable secret 5 <secret sha256:' '$T/sig-$quirk.1' && ! grep -q '\\\$1\\\$' '$T/sig-$quirk.1'"
	stop_fakedev
done
start_fakedev trunc2 --synthetic 200 --quirk truncate:2000 || { finish; exit; }
collect ios "$SP" --user dev0001
rc=$?
check "collect: a truncated session fails (exit $rc), no document" \
	[ "$rc" -eq 1 -a ! -s "$T/out" ]
stop_fakedev

# The other quirks through the real engine: the same configuration comes
# out of a password-only Telnet login, a device that ignores exit (the
# session is closed regardless, after the logout grace) and a slow one.
start_fakedev quirks2 --synthetic 62 --quirk password-only || { finish; exit; }
collect ios "$TP" --telnet --user dev0001
rc=$?
check "collect (password-only Telnet): exit $rc, the device's configuration" \
	bash -c "[ $rc -eq 0 ] && grep -q '^hostname router$' '$T/out'"
stop_fakedev
start_fakedev quirks3 --synthetic 62 --quirk ignore-exit || { finish; exit; }
start=$(date +%s%N)
collect ios "$SP" --user dev0001
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
cp "$T/out" "$T/ignore-exit.out"
check "collect (ignore-exit): exit $rc in $ms ms, closed without waiting for the device" \
	[ "$rc" -eq 0 -a "$ms" -lt 15000 ]
check "collect (ignore-exit): same significant view as a normal device" \
	diff <(significant "$T/sig-none.1") <(significant "$T/ignore-exit.out")
open_sessions() { ss -tnH state established "( sport = :$SP )" | grep -c .; }
for _ in $(seq 50); do [ "$(open_sessions)" -eq 0 ] && break; sleep 0.2; done
check "collect (ignore-exit): no session left open at the device" \
	[ "$(open_sessions)" -eq 0 ]
stop_fakedev
start_fakedev quirks4 --synthetic 62 --quirk slow:100 || { finish; exit; }
start=$(date +%s%N)
collect ios "$TP" --telnet --user dev0001
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
cp "$T/out" "$T/slow.out"
check "collect (slow): exit $rc, the answers took $ms ms" \
	[ "$rc" -eq 0 -a "$ms" -ge 1000 ]
check "collect (slow): same significant view as a fast device" \
	diff <(significant "$T/sig-none.1") <(significant "$T/slow.out")
stop_fakedev

finish
