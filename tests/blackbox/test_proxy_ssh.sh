#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The proxy's SSH and Telnet transports (proxy/remote.h) against real
# servers on 127.0.0.1: OpenSSH sshd (modern), a second sshd offering only
# diffie-hellman-group14-sha1 / ssh-rsa / aes128-cbc (old gear), a third
# offering only ssh-rsa host keys, and inetutils telnetd under
# inetutils-inetd; a throwaway user logs in to them. Driven by
# `vigil collect --profile linux` and proxy-remote-probe ($VIGIL_PROBE,
# for exec channels with stdin). Checks: password, keyboard-interactive
# and key logins; shell and exec-mode profiles; the fingerprint printed
# is ssh-keygen -l's; a wrong trusted key fails before any
# authentication (sshd logs none); legacy servers fail with a message naming their algorithms and advising
# legacy, and work with --legacy-ssh; wrong password; exec with stdin,
# streamed stdout, exit status, stderr, sudo marker, overall timeout;
# Telnet login; refused and silent ports fail fast and clearly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
: "${VIGIL_PROBE:?set VIGIL_PROBE to the proxy-remote-probe binary}"
PROFILES=${VIGIL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/dist/profiles
U=vgpx$$
PW="pw-$RANDOM-$$-x"

if [ "$(id -u)" -ne 0 ]; then
	ok "# SKIP needs root (a test user, sshd, inetd)"
	finish
	exit 0
fi
sshd_need /usr/sbin/sshd ssh-keygen /usr/sbin/inetutils-inetd \
    /usr/sbin/telnetd useradd userdel chpasswd "$PY"

ssh_cleanup() {
	local p
	sshd_teardown
	if [ "$FAIL" -gt 0 ]; then
		for p in "$T"/*.log; do
			[ -s "$p" ] || continue
			echo "# $(basename "$p"), the last lines:"
			tail -15 "$p" | sed 's/^/#   /'
		done
	fi
	cleanup
}
trap ssh_cleanup EXIT
trap 'exit 130' INT TERM HUP

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

fp_of() {
	ssh-keygen -lf "$1" | awk '{print $2}'
}

# ---- the user and the servers ----
sshd_user_add
ssh-keygen -q -t ed25519 -N 'key pass' -C vigil-test -f "$T/user_ed25519" || abort
ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -C vigil-test -f "$T/user_rsa_pem" || abort
cat "$T/user_ed25519.pub" "$T/user_rsa_pem.pub" >"$T/authorized_keys"
chmod 644 "$T/authorized_keys"

ssh-keygen -q -t ed25519 -N '' -f "$T/hk_ed25519" || abort
ssh-keygen -q -t rsa -b 2048 -N '' -f "$T/hk_rsa" || abort
FP_MODERN=$(fp_of "$T/hk_ed25519.pub")
FP_RSA=$(fp_of "$T/hk_rsa.pub")
P_MODERN=$(free_port)
P_LEGACY=$(free_port)
P_RSAONLY=$(free_port)
P_TELNET=$(free_port)
P_CLOSED=$(free_port)
P_SILENT=$(free_port)

sshd_conf sshd_modern "$P_MODERN" "$T/hk_ed25519" \
    "PasswordAuthentication yes" "KbdInteractiveAuthentication no"
sshd_conf sshd_legacy "$P_LEGACY" "$T/hk_rsa" \
    "KexAlgorithms diffie-hellman-group14-sha1" \
    "HostKeyAlgorithms ssh-rsa" "Ciphers aes128-cbc" \
    "PasswordAuthentication no" "KbdInteractiveAuthentication yes" \
    "LogLevel DEBUG1"
sshd_conf sshd_rsaonly "$P_RSAONLY" "$T/hk_rsa" \
    "HostKeyAlgorithms ssh-rsa" "PasswordAuthentication yes"
for s in sshd_modern sshd_legacy sshd_rsaonly; do
	sshd_start "$s"
done
printf '127.0.0.1:%s stream tcp nowait root /usr/sbin/telnetd telnetd\n' \
    "$P_TELNET" >"$T/inetd.conf"
bg /usr/sbin/inetutils-inetd -d -p "$T/inetd.pid" "$T/inetd.conf" \
    >>"$T/inetd.log" 2>&1
# A listener that accepts and never says a word.
bg "$PY" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); keep = []
while True:
    c, _ = s.accept(); keep.append(c)' "$P_SILENT"
for p in "$P_MODERN" "$P_LEGACY" "$P_RSAONLY" "$P_TELNET" "$P_SILENT"; do
	wait_port "$p" || { not_ok "a server listens on 127.0.0.1:$p"; abort; }
done
ok "servers up: sshd $P_MODERN (modern), $P_LEGACY (legacy), $P_RSAONLY (ssh-rsa only), telnetd $P_TELNET, silent $P_SILENT"

collect() {
	"$VIGIL" collect --profiles-dir "$PROFILES" --host 127.0.0.1 "$@"
}

# auth_lines LOG: the sshd log lines about authenticating our user.
auth_lines() {
	grep -cE "(Accepted|Failed|Invalid|Postponed|authenticating user|for $U)" "$1"
}

# ---- SSH: logins and host keys ----
export VIGIL_DEVICE_PASSWORD="$PW"
run 0 "probe: password login" \
    "$VIGIL_PROBE" --host 127.0.0.1 --port "$P_MODERN" --user "$U"
check "probe prints the host key as ssh-keygen -l does ($FP_MODERN)" \
    has "$T/out" "fp $FP_MODERN"
check "sshd: password login accepted" \
    has "$T/sshd_modern.log" "Accepted password for $U"
unset VIGIL_DEVICE_PASSWORD

run 0 "vigil collect --profile linux over SSH with a password file" \
    collect --port "$P_MODERN" --user "$U" --password-file "$T/pw" \
    --profile linux --host-key "$FP_MODERN" --timeout 10
check "the document has the uname output" has "$T/out" "=== uname -a ==="
check "... and Linux in it" grep -q '^Linux ' "$T/out"
check "... and /etc/os-release" has "$T/out" "=== cat /etc/os-release ==="
check "... no prompt leaked into the output" lacks "$T/out" "$U@"
check "stderr names the host key" has "$T/err" "host key: $FP_MODERN"
check "the password never shows" lacks "$T/err" "$PW"

run 0 "vigil collect with an OpenSSH ed25519 key and its passphrase" \
    env VIGIL_KEY_PASSPHRASE='key pass' "$VIGIL" collect \
    --profiles-dir "$PROFILES" --host 127.0.0.1 --port "$P_MODERN" \
    --user "$U" --key-file "$T/user_ed25519" --profile linux --raw
check "raw output has the commands" has "$T/out" "=== ip route show ==="
check "sshd: key login accepted" \
    has "$T/sshd_modern.log" "Accepted publickey for $U"
run 0 "probe: a PEM RSA key without passphrase" \
    "$VIGIL_PROBE" --host 127.0.0.1 --port "$P_MODERN" --user "$U" \
    --key-file "$T/user_rsa_pem"
run 1 "probe: wrong key passphrase" env VIGIL_KEY_PASSPHRASE=nope \
    "$VIGIL_PROBE" --host 127.0.0.1 --port "$P_MODERN" --user "$U" \
    --key-file "$T/user_ed25519"
check "... named as an unreadable key" has "$T/out" "private key cannot be read"

sleep 0.3
before=$(auth_lines "$T/sshd_modern.log")
run 1 "vigil collect with a wrong --host-key" \
    collect --port "$P_MODERN" --user "$U" --password-file "$T/pw" \
    --profile linux --host-key "$FP_RSA"
check "... says the host key is not the trusted one" \
    has "$T/err" "host key $FP_MODERN is not the trusted $FP_RSA"
check "... and prints the key seen" has "$T/err" "host key: $FP_MODERN"
sleep 0.5
after=$(auth_lines "$T/sshd_modern.log")
check "sshd logs no authentication for it ($before = $after lines)" \
    test "$before" = "$after"
check "sshd saw the connection end before authentication" \
    grep -qE "(Connection closed|Disconnected|Received disconnect) .*127.0.0.1.*(preauth|\])" "$T/sshd_modern.log"

run 1 "vigil collect with a wrong password" \
    collect --port "$P_MODERN" --user "$U" --password-file "$T/badpw" \
    --profile linux
check "... names the refusal and the methods" \
    has "$T/err" "authentication as $U refused"
check "... lists what the server accepts" has "$T/err" "password"
check "... without either password" lacks "$T/err" "$PW"
check "sshd: failed password" has "$T/sshd_modern.log" "Failed password for $U"

# An exec-mode profile: one channel per command, no shell, no prompt.
cat >"$T/exec.profile" <<'PROFILE'
description exec channels (test)
mode exec
command echo one; echo to-stderr >&2
command echo two; echo secret hunter2
secret ^secret (\S+)
min_lines 2
PROFILE
run 0 "vigil collect with an exec-mode profile" \
    collect --port "$P_MODERN" --user "$U" --password-file "$T/pw" \
    --profile "$T/exec.profile"
printf '=== echo one; echo to-stderr >&2 ===\none\n=== echo two; echo secret hunter2 ===\ntwo\nsecret <secret sha256:%s>\n' \
    "$(printf hunter2 | sha256sum | cut -c1-16)" >"$T/want"
check "each command's stdout, stderr left out, the secret masked" \
    cmp "$T/want" "$T/out"
check "sshd: one session a command" \
    test "$(grep -c "Starting session: command for $U" "$T/sshd_modern.log")" -ge 2

# ---- legacy servers ----
run 1 "legacy sshd without --legacy-ssh" \
    collect --port "$P_LEGACY" --user "$U" --password-file "$T/pw" \
    --profile linux
check "... names the server's key exchange" \
    has "$T/err" "the server offers diffie-hellman-group14-sha1"
check "... advises legacy algorithms for the device" has "$T/err" "--legacy-ssh"
run 1 "ssh-rsa-only sshd without --legacy-ssh" \
    collect --port "$P_RSAONLY" --user "$U" --password-file "$T/pw" \
    --profile linux
check "... names ssh-rsa" has "$T/err" "no common host key algorithm: the server offers ssh-rsa"
check "... advises legacy" has "$T/err" "enable legacy SSH algorithms"

run 0 "legacy sshd with --legacy-ssh (keyboard-interactive login)" \
    collect --port "$P_LEGACY" --user "$U" --password-file "$T/pw" \
    --profile linux --legacy-ssh
check "... collected" grep -q '^Linux ' "$T/out"
check "... the RSA host key's fingerprint ($FP_RSA)" \
    has "$T/err" "host key: $FP_RSA"
check "sshd: keyboard-interactive login accepted" \
    has "$T/sshd_legacy.log" "Accepted keyboard-interactive/pam for $U"
check "sshd: aes128-cbc was used" \
    grep -q "kex: client->server cipher: aes128-cbc" "$T/sshd_legacy.log"
run 0 "ssh-rsa-only sshd with --legacy-ssh" \
    collect --port "$P_RSAONLY" --user "$U" --password-file "$T/pw" \
    --profile linux --legacy-ssh --host-key "$FP_RSA"

# ---- exec channels ----
export VIGIL_DEVICE_PASSWORD="$PW"
probe() {
	"$VIGIL_PROBE" --host 127.0.0.1 --port "$P_MODERN" --user "$U" "$@"
}
head -c 300000 /dev/urandom | base64 >"$T/in"
run 0 "exec: stdin in, stdout back, stderr and exit status" \
    probe --stdin "$T/in" --out "$T/got" 'cat; echo to-stderr >&2; exit 3'
check "stdout equals stdin ($(wc -c <"$T/in") bytes)" cmp -s "$T/in" "$T/got"
check "exit status 3" has "$T/out" "status 3"
check "stderr kept" has "$T/out" 'stderr to-stderr\n'
check "stdout came in several chunks" test "$(grep -c '^chunk ' "$T/out")" -gt 1

run 0 "exec: streamed output" probe --out "$T/got" \
    'echo first; sleep 2; echo second'
first=$(awk '/^chunk /{print $2; exit}' "$T/out")
last=$(awk '/^chunk /{v=$2} END{print v}' "$T/out")
check "the first line came before the command ended ($first ms, last $last ms)" \
    test "${first:-99999}" -lt 1500 -a "${last:-0}" -ge 1800
check "both lines" test "$(cat "$T/got")" = "$(printf 'first\nsecond')"

run 0 "exec: no exit status for a killed command" probe 'kill -9 $$'
check "status -1" has "$T/out" "status -1"

run 0 "exec: sudo marker answered only at the end of stderr, alone" \
    env PROBE_SUDO_PASSWORD=s3cr3t-sudo "$VIGIL_PROBE" --host 127.0.0.1 \
    --port "$P_MODERN" --user "$U" --sudo-marker '[vigil-sudo-7f3a]' \
    --out "$T/got" \
    'printf "noise [vigil-sudo-7f3a]" >&2; sleep 0.5; printf "\n[vigil-sudo-7f3a]" >&2; IFS= read -r pw; echo "got:$pw"; printf "x[vigil-sudo-7f3a]" >&2; if IFS= read -t 2 -r again; then echo "again:$again"; else echo "no second answer"; fi; exit 0'
check "the password came once, at the marker" \
    test "$(cat "$T/got")" = "$(printf 'got:s3cr3t-sudo\nno second answer')"

t0=$(now_ms)
run 1 "exec: overall timeout" probe --run-timeout-ms 1500 'sleep 30'
t1=$(now_ms)
check "... named a timeout" has "$T/out" "timed out"
check "... within the timeout ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 5000
unset VIGIL_DEVICE_PASSWORD

# ---- Telnet ----
run 0 "vigil collect --telnet: login to telnetd, linux profile" \
    collect --telnet --port "$P_TELNET" --user "$U" \
    --password-file "$T/pw" --profile linux --timeout 15
check "the document has the uname output" grep -q '^Linux ' "$T/out"
check "... and the routes" has "$T/out" "=== ip route show ==="
check "... no prompt leaked into the output" lacks "$T/out" "$U@"
check "no host key for Telnet" lacks "$T/err" "host key"
run 1 "vigil collect --telnet with a wrong password" \
    collect --telnet --port "$P_TELNET" --user "$U" \
    --password-file "$T/badpw" --profile linux --timeout 15
check "... login refused" has "$T/err" "login refused"
check "... without the password" lacks "$T/err" "$PW"

# ---- network failures ----
t0=$(now_ms)
run 1 "SSH to a closed port" collect --port "$P_CLOSED" --user "$U" \
    --password-file "$T/pw" --profile linux --timeout 10
t1=$(now_ms)
check "... connection refused, named with host:port" \
    has "$T/err" "127.0.0.1:$P_CLOSED: TCP connection failed: connection refused"
check "... at once ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 2000
run 1 "Telnet to a closed port" collect --telnet --port "$P_CLOSED" \
    --profile linux --timeout 10
check "... connection refused" has "$T/err" "connection refused"

t0=$(now_ms)
run 1 "SSH to a listener that never speaks, --timeout 2" \
    collect --port "$P_SILENT" --user "$U" --password-file "$T/pw" \
    --profile linux --timeout 2
t1=$(now_ms)
check "... says no SSH handshake came" has "$T/err" "127.0.0.1:$P_SILENT: no SSH handshake within 2000 ms"
check "... in about the timeout ($((t1 - t0)) ms)" \
    test $((t1 - t0)) -ge 1900 -a $((t1 - t0)) -lt 4500
t0=$(now_ms)
run 1 "Telnet to a listener that never speaks, --timeout 2" \
    collect --telnet --port "$P_SILENT" --user "$U" \
    --password-file "$T/pw" --profile linux --timeout 2
t1=$(now_ms)
check "... a login timeout" has "$T/err" "login: timed out"
check "... in about the timeout ($((t1 - t0)) ms)" \
    test $((t1 - t0)) -ge 1900 -a $((t1 - t0)) -lt 4500
run 1 "SSH to the Telnet port" collect --port "$P_TELNET" --user "$U" \
    --password-file "$T/pw" --profile linux --timeout 3
check "... not an SSH server" grep -qE "not an SSH server|no SSH handshake" "$T/err"

run 2 "usage: no --host" "$VIGIL" collect --profile linux
run 2 "usage: unknown profile" collect --profile nosuch --port 1 --user x
check "... names the profile file" has "$T/err" "nosuch.profile"

# ---- the servers stop cleanly ----
for p in "${BG_PIDS[@]}"; do
	bg_stop "$p" 5 >/dev/null
done
check "all servers stopped" test "${#BG_PIDS[@]}" -eq 0
finish
