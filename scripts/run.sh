#!/usr/bin/env bash
# The README's "run" command: builds vigil, starts a hub on embedded
# SQLite on this machine and a local agent enrolled to it that watches
# run/demo, and prints the console address and sign-in.
#   scripts/run.sh            # hub on https://<this host>:8443/
#   VIGIL_PORT=443 scripts/run.sh
#   scripts/run.sh stop       # stop the agent and the hub it started
# State lives in run/: the hub's data folder (run/hub), the agent's
# (run/agent), their logs and PID files, and the demo folder (run/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${VIGIL_PORT:-8443}
run=$PWD/run
data=$run/hub
pidfile=$run/hub.pid
agent_pidfile=$run/agent.pid
hub=$PWD/build/hub/vigil-hub
agent=$PWD/build/agent/vigil-agent
demo=$run/demo

# stop_pid FILE WHAT: SIGTERM to the process in FILE, waits for it.
stop_pid() {
	if [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; then
		kill "$(cat "$1")"
		for _ in $(seq 100); do
			kill -0 "$(cat "$1")" 2>/dev/null || break
			sleep 0.1
		done
		echo "$2 stopped (PID $(cat "$1"))"
	fi
	rm -f "$1"
}

if [ "${1:-}" = stop ]; then
	stop_pid "$agent_pidfile" agent
	stop_pid "$pidfile" hub
	exit 0
fi

bash scripts/install-deps.sh run
bash scripts/build.sh >/dev/null
mkdir -p "$run"
chmod 700 "$run"
stop_pid "$agent_pidfile" agent
stop_pid "$pidfile" hub

# First run: create the hub's data folder, with an admin password kept in
# run/admin.password (mode 0600) so that this script can show it again.
if [ ! -e "$data/hub.db" ]; then
	umask 077
	head -c 15 /dev/urandom | base64 | tr -d '/+=' >"$run/admin.password"
	"$hub" init --data-dir "$data" --listen "0.0.0.0:$port" \
		--admin-password-file "$run/admin.password" >"$run/init.log" 2>&1
fi

# The device profiles of this tree, for the console's proxied devices.
printf 'profiles_dir = %s\n' "$PWD/dist/profiles" >"$run/hub.conf"
"$hub" --config "$run/hub.conf" --data-dir "$data" --listen "0.0.0.0:$port" \
	>>"$run/hub.log" 2>&1 &
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

# The local agent: enrolled with the HubDetails.xml the hub wrote (it
# removes the Password from its copy once registered), watching run/demo
# in realtime, with the demo policy in the group "demo".
api() {
	curl -sS --fail-with-body --cacert "$data/hub.crt" \
		--resolve "localhost:$port:127.0.0.1" -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/json' -X "$1" \
		"https://localhost:$port/api/v1$2" ${3:+--data-binary "$3"}
}
mkdir -p "$demo" "$run/agent"
[ -e "$demo/motd.conf" ] || printf 'greeting = hello\n' >"$demo/motd.conf"
[ -e "$run/agent/HubDetails.xml" ] ||
	sed "s#<Url>[^<]*</Url>#<Url>https://localhost:$port/api/</Url>#" \
		"$data/HubDetails.xml" >"$run/agent/HubDetails.xml"
cat >"$run/agent/agent.conf" <<CONF
data_dir = $run/agent/data
poll_period = 10
profiles_dir = $PWD/dist/profiles
CONF
token=$(curl -sS --cacert "$data/hub.crt" --resolve "localhost:$port:127.0.0.1" \
	-H 'Content-Type: application/json' \
	--data-binary "{\"username\":\"admin\",\"password\":\"$(cat "$run/admin.password")\"}" \
	"https://localhost:$port/api/v1/session" | jq -r .token)
group=$(api GET /groups | jq -r '.groups[] | select(.name == "demo") | .id')
[ -n "$group" ] || group=$(api POST /groups '{"name":"demo"}' | jq -r .id)
api PUT "/groups/$group/policy" "$(jq -nc --arg d "$demo" \
	'{paths: [$d], content: [$d + "/motd.conf"], realtime: true,
	  schedule: 3600, system: ["packages", "services", "users", "groups",
	  "ports", "sysctl"]}')" >/dev/null
"$agent" --config "$run/agent/agent.conf" \
	--hub-details "$run/agent/HubDetails.xml" >>"$run/agent.log" 2>&1 &
echo $! >"$agent_pidfile"
device=
for _ in $(seq 100); do
	device=$("$agent" status --config "$run/agent/agent.conf" --json 2>/dev/null |
		jq -r '.device_id // empty') || true
	[ -n "$device" ] && break
	if ! kill -0 "$(cat "$agent_pidfile")" 2>/dev/null; then
		echo "the agent did not start; its log:" >&2
		tail -20 "$run/agent.log" >&2
		exit 1
	fi
	sleep 0.1
done
[ -n "$device" ] || { echo "the agent did not register; see $run/agent.log" >&2; exit 1; }
api PUT "/groups/$group/devices/$device" >/dev/null

fp=$(openssl x509 -in "$data/hub.crt" -noout -fingerprint -sha256 | cut -d= -f2)
cat <<MSG
vigil hub is running (PID $(cat "$pidfile")), storage: $data/hub.db

  console:   https://$(hostname -f 2>/dev/null || hostname):$port/
  sign in:   admin / $(cat "$run/admin.password")
  API:       https://$(hostname -f 2>/dev/null || hostname):$port/api/v1/health
  TLS certificate SHA-256 fingerprint (self-signed; check it in the browser):
             $fp
  new agents: copy $data/HubDetails.xml to /etc/vigil/HubDetails.xml

A local agent (PID $(cat "$agent_pidfile"), device $device) watches $demo:
change a file there and the change appears in the console within a second.
Its state: build/agent/vigil-agent status --config $run/agent/agent.conf

Logs: $run/hub.log, $run/agent.log. Stop both with: scripts/run.sh stop
Standalone file-integrity scans need no hub: build/cli/vigil scan init /etc
MSG
