#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The web console end to end: Debian's Chromium, driven headless by
# playwright-core (tests/e2e/console.test.mjs), against a real hub and a
# real agent watching a folder in realtime, all on 127.0.0.1. The browser
# signs in, finds the agent's device, sees a change made in the watched
# folder with its diff, accepts it, filters and exports the events, edits
# a policy, signs out; a read-only user sees no admin control and the API
# refuses a forced request. Proxied devices: a second agent, registered
# with curl, is the proxy; the browser creates a credential and a proxied
# device, the test posts collection results as that proxy, and the
# browser sees the configuration versions, their diff and a changed host
# key, which it trusts. A Windows host over SMB: the browser creates its
# credential, adds it (a key-only credential refused), sets a group
# policy with registry keys and Windows files (the hub's errors shown by
# their fields), and sees the registry value and file changes the test
# posts as the proxy. Screenshots of every page go to
# $VIGIL_TEST_OUTPUT/screenshots (default: test-output/ in the build).
#
# Needs /usr/bin/chromium, node and tests/e2e/node_modules:
#   bash scripts/install-deps.sh test && (cd tests/e2e && npm ci)
export VIGIL=${VIGIL:-unused}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"
. "$(dirname "$0")/agent_lib.sh"

SRC=${VIGIL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
E2E=$SRC/tests/e2e
CHROMIUM=${VIGIL_CHROMIUM:-/usr/bin/chromium}
OUT=${VIGIL_TEST_OUTPUT:-$(cd "$(dirname "$VIGIL_HUB")/.." && pwd)/test-output}
INSTALL_HINT="bash scripts/install-deps.sh test && (cd tests/e2e && npm ci)"

# What the browser run needs is named, never skipped in silence.
missing=
[ -x "$CHROMIUM" ] || missing="$missing Chromium ($CHROMIUM)"
command -v node >/dev/null || missing="$missing node"
[ -f "$E2E/node_modules/playwright-core/package.json" ] ||
	missing="$missing $E2E/node_modules/playwright-core"
if [ -n "$missing" ]; then
	not_ok "the console tests need:$missing; install with: $INSTALL_HINT"
	finish
	exit 1
fi

W=$T/watched
mkdir -p "$W"
printf 'first line\nsecond line\n' >"$W/notes.txt"

printf 'profiles_dir = %s\n' "$SRC/dist/profiles" >"$T/hub.conf"
hub_init e2e -c "$T/hub.conf" || hub_abort
hub_start -c "$T/hub.conf" || hub_abort
admin_session || hub_abort
agent_setup e2e
agent_conf realtime_debounce_ms 100
agent_start
agent_registered 60 || {
	not_ok "the agent did not register"
	show_agent_log
	hub_abort
}
ok "the agent registered (device $DEV)"
setup_group watched "$(jq -nc --arg d "$W" \
	'{paths: [$d], realtime: true, content: [$d + "/notes.txt"]}')" || hub_abort
check "the agent runs the policy" wait_policy 40
has_baseline() { has_events 1 "$(agent_event_is baseline)" type=agent; }
check "the first scan reports its baseline" wait_until 60 has_baseline
check "the realtime watcher reports a probe file" realtime_ready "$W" ||
	hub_abort

api GET "/devices/$DEV"
expect "the device has a name" 200 '(.name | length) > 0' || hub_abort
DEVICE_NAME=$(jq -r .name "$T/body")

# The proxy of the proxied device: an agent that never polls, so only
# the test speaks for it (the real agent above must not collect).
AGENT_DEV=$DEV
register e2e-proxy mid-e2e-proxy-0001 52:54:00:e2:e2:01
expect "the proxy agent registers" 201 || hub_abort
PROXY_ID=$DEV
PROXY_TOKEN=$CRED
DEV=$AGENT_DEV
api GET "/devices/$PROXY_ID"
expect "the proxy agent's device has a name" 200 '(.name | length) > 0' ||
	hub_abort
PROXY_NAME=$(jq -r .name "$T/body")

RO_USER=auditor
RO_PW="Read-0nly-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')"
api POST /users "$(jq -nc --arg n "$RO_USER" --arg p "$RO_PW" \
	'{name: $n, password: $p, role: "readonly"}')"
expect "a read-only user is created" 201 || hub_abort

# Chromium trusts the hub's own certificate by its public key, nothing else.
SPKI=$(openssl x509 -in "$HUB_CERT" -noout -pubkey |
	openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
FINGERPRINT=$(served_fingerprint)

mkdir -p "$OUT"
echo "# console run: $HUB_URL, output in $OUT"
VIGIL_E2E_URL=$HUB_URL \
VIGIL_E2E_CERT=$HUB_CERT \
VIGIL_E2E_SPKI=$SPKI \
VIGIL_E2E_FINGERPRINT=$FINGERPRINT \
VIGIL_E2E_ADMIN_USER=admin \
VIGIL_E2E_ADMIN_PASSWORD=$ADMIN_PW \
VIGIL_E2E_READONLY_USER=$RO_USER \
VIGIL_E2E_READONLY_PASSWORD=$RO_PW \
VIGIL_E2E_WATCH_DIR=$W \
VIGIL_E2E_DEVICE_ID=$DEV \
VIGIL_E2E_DEVICE_NAME=$DEVICE_NAME \
VIGIL_E2E_GROUP_ID=$GID \
VIGIL_E2E_GROUP_NAME=watched \
VIGIL_E2E_PROXY_ID=$PROXY_ID \
VIGIL_E2E_PROXY_NAME=$PROXY_NAME \
VIGIL_E2E_PROXY_TOKEN=$PROXY_TOKEN \
VIGIL_E2E_OUT=$OUT \
VIGIL_E2E_CHROMIUM=$CHROMIUM \
	timeout 420 node "$E2E/console.test.mjs" >"$T/e2e.out" 2>&1 </dev/null
rc=$?
sed 's/^/  /' "$T/e2e.out"
PASS=$((PASS + $(grep -c '^ok ' "$T/e2e.out")))
FAIL=$((FAIL + $(grep -c '^not ok ' "$T/e2e.out")))
if [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$T/e2e.out"; then
	not_ok "console.test.mjs failed without a failed check: exit $rc"
fi

agent_stop_checked
hub_stop_checked
hub_finish
