#!/usr/bin/env bash
# Installs what vigil needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail

build_pkgs=(build-essential cmake ninja-build pkg-config clang
	libclang-rt-14-dev libssl-dev libsqlite3-dev libjansson-dev
	libexpat1-dev libacl1-dev libmicrohttpd-dev libsodium-dev zlib1g-dev
	libcurl4-openssl-dev libpcre2-dev libssh-dev libtelnet-dev
	libsmbclient-dev libgnutls28-dev)
run_pkgs=(curl jq openssl)
# The `vigil ports` tests (tests/blackbox/ports_lib.sh) run real servers
# in network namespaces behind nftables (and load the iptables rules with
# iptables-nft): OpenSSH, inetutils telnetd through inetutils-inetd, Samba.
test_pkgs=(libcmocka-dev libyaml-dev python3 passwd bc sqlite3 attr acl util-linux jq curl openssl procps
	iproute2 tinyproxy chromium nftables iptables openssh-server
	openssh-client inetutils-telnetd inetutils-inetd samba
	# tests/fakedev/fixture_check.py reads the recorded sessions' YAML.
	python3-yaml
	# tests/blackbox/test_proxy_linux.sh checks sudo -n and password sudo.
	sudo)
# bench/ports-check compares `vigil ports check` with nmap and a serial
# nc loop (OpenBSD netcat), on the servers of the ports tests above.
# bench/proxy-collect runs Netmiko (Debian's python3-netmiko, for
# /usr/bin/python3) beside the proxy agent on the same fake devices.
# bench/registry-read runs Samba's own clients beside `vigil collect
# --type windows` on the smbd of the tests: `net rpc registry export`
# (samba-common-bin) and bench/registry-read-samba (Samba's Python
# bindings, python3-samba).
bench_pkgs=(aide time bc inotify-tools python3 nmap netcat-openbsd
	python3-netmiko samba-common-bin python3-samba)

want=("${build_pkgs[@]}")
case "${1:-build}" in
build) ;;
run) want+=("${run_pkgs[@]}") ;;
test) want+=("${test_pkgs[@]}") ;;
bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
*) echo "usage: $0 [build|run|test|bench]" >&2; exit 2 ;;
esac
# The console's browser tests run on Node.js and npm (tests/e2e). A node
# and npm already on the machine (another packaging of Node.js, which may
# bundle npm) are kept: Debian's packages only where the commands are
# missing.
if [ "${1:-build}" = test ] || [ "${1:-build}" = bench ]; then
	command -v node >/dev/null || want+=(nodejs)
	command -v npm >/dev/null || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
