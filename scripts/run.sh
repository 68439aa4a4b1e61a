#!/usr/bin/env bash
# The README's "run" command: builds vigil, starts a hub on embedded
# SQLite on this machine and prints the console address and sign-in.
#   scripts/run.sh            # hub on https://<this host>:8443/
#   VIGIL_PORT=443 scripts/run.sh
#   scripts/run.sh stop       # stop the hub it started
# State lives in run/ (the hub's data folder, its log and PID file).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${VIGIL_PORT:-8443}
run=$PWD/run
data=$run/hub
pidfile=$run/hub.pid
hub=$PWD/build/hub/vigil-hub

stop_hub() {
	if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		kill "$(cat "$pidfile")"
		for _ in $(seq 50); do
			kill -0 "$(cat "$pidfile")" 2>/dev/null || break
			sleep 0.1
		done
		echo "hub stopped (PID $(cat "$pidfile"))"
	fi
	rm -f "$pidfile"
}

if [ "${1:-}" = stop ]; then
	stop_hub
	exit 0
fi

bash scripts/build.sh >/dev/null
mkdir -p "$run"
chmod 700 "$run"
stop_hub

# First run: create the hub's data folder, with an admin password kept in
# run/admin.password (mode 0600) so that this script can show it again.
if [ ! -e "$data/hub.db" ]; then
	umask 077
	head -c 15 /dev/urandom | base64 | tr -d '/+=' >"$run/admin.password"
	"$hub" init --data-dir "$data" --listen "0.0.0.0:$port" \
		--admin-password-file "$run/admin.password" >"$run/init.log" 2>&1
fi

"$hub" --data-dir "$data" --listen "0.0.0.0:$port" >>"$run/hub.log" 2>&1 &
echo $! >"$pidfile"
for _ in $(seq 100); do
	curl -sf --cacert "$data/hub.crt" --resolve "localhost:$port:127.0.0.1" \
		"https://localhost:$port/api/v1/health" >/dev/null 2>&1 && break
	if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
		echo "the hub did not start; its log:" >&2
		tail -20 "$run/hub.log" >&2
		exit 1
	fi
	sleep 0.1
done

fp=$(openssl x509 -in "$data/hub.crt" -noout -fingerprint -sha256 | cut -d= -f2)
cat <<MSG
vigil hub is running (PID $(cat "$pidfile")), storage: $data/hub.db

  console:   https://$(hostname -f 2>/dev/null || hostname):$port/
  sign in:   admin / $(cat "$run/admin.password")
  API:       https://$(hostname -f 2>/dev/null || hostname):$port/api/v1/health
  TLS certificate SHA-256 fingerprint (self-signed; check it in the browser):
             $fp
  new agents: copy $data/HubDetails.xml to /etc/vigil/HubDetails.xml

Log: $run/hub.log. Stop it with: scripts/run.sh stop
Standalone file-integrity scans need no hub: build/cli/vigil scan init /etc
MSG
