#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil-agent's collectors of system configuration, run with --once
# against a real hub: the first collection is silent; then a user, a
# group, a listening port, a package, a service, a sysctl and the output
# of an approved command each change and each is reported; a command that
# is not in the approved file is not run and an agent event says so.
#
# The run happens in its own network and UTS namespaces when it can, so
# the sysctl changed stays there (the hub and the agent run inside too, on
# its loopback). Users, groups, the package and the service are real and
# removed at exit.
if [ "${1:-}" != inner ] && [ "$(id -u)" -eq 0 ] &&
    unshare --net --uts ip link set lo up 2>/dev/null; then
	exec unshare --net --uts bash -c 'ip link set lo up && exec bash "$0" inner' "$0"
fi
export VIGIL=${VIGIL:-unused}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"
. "$(dirname "$0")/agent_lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	ok "# SKIP the system collectors test needs root"
	finish
	exit $?
fi
IN_NS=0
[ "${1:-}" = inner ] && IN_NS=1

quiet() {
	"$@" >/dev/null 2>&1
}

TUSER=vigiltestu
TGROUP=vigiltestg
PKG=vigil-test-pkg
UNIT=/etc/systemd/system/vigil-test.service
WANTS=/etc/systemd/system/multi-user.target.wants/vigil-test.service
# Leftovers of an aborted run would hide the "added" events.
userdel -r "$TUSER" >/dev/null 2>&1
groupdel "$TGROUP" >/dev/null 2>&1
dpkg --purge "$PKG" >/dev/null 2>&1
rm -f "$UNIT" "$WANTS"

hub_init sys || hub_abort
hub_start || hub_abort
admin_session || hub_abort

# The approved commands: the one the policy may run.
CMD="/bin/cat $T/cmd.txt"
UNAPPROVED="/usr/bin/touch $T/ran-unapproved"
printf 'first line\n' >"$T/cmd.txt"
printf '# commands this host lets the hub run\n%s\n' "$CMD" >"$T/approved"
chown root:root "$T/approved"
chmod 0644 "$T/approved"

agent_setup sys
agent_conf approved_commands "$T/approved"
agent_once
check "a first --once run registers (exit $ONCE_RC)" test "$ONCE_RC" -eq 0
agent_registered 5 || { not_ok "no device id after --once"; show_agent_log; hub_abort; }
ok "device $DEV"
setup_group sys "$(jq -nc --arg c "$CMD" --arg u "$UNAPPROVED" '{
	system: ["packages", "services", "users", "groups", "ports", "sysctl"],
	commands: [$c, $u], schedule: 60}')"

SYSKINDS='(.kind == "package" or .kind == "service" or .kind == "user" or .kind == "group" or .kind == "port" or .kind == "sysctl" or .kind == "command")'
agent_once
check "the --once run with the policy exits 0 (exit $ONCE_RC)" test "$ONCE_RC" -eq 0
check "the agent ran the policy" policy_current
dev_events
check "the first collection is silent ($(ev_count "$SYSKINDS") change events)" \
	test "$(ev_count "$SYSKINDS")" -eq 0
ev_show "$SYSKINDS" 5
check "the command not approved was not run" test ! -e "$T/ran-unapproved"
check "an agent event says the command was not run" \
	test "$(ev_count ".type == \"agent\" and ((.message // \"\") | contains(\"$UNAPPROVED\")) or ((.path // \"\") == \"$UNAPPROVED\")")" -ge 1
ev_show '.type == "agent"' 5

# --- the changes ---
undo "userdel -r $TUSER"
useradd -M -s /usr/sbin/nologin "$TUSER"
check "useradd $TUSER" quiet id "$TUSER"
undo "groupdel $TGROUP"
groupadd "$TGROUP"
check "groupadd $TGROUP" quiet getent group "$TGROUP"

LPORT=$(free_port)
bg python3 -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
time.sleep(600)' "$LPORT"
LPID=$!
listening() { ss -ltnpH "sport = :$LPORT" | grep -q "pid=$LPID,"; }
check "a listener on port $LPORT" wait_until 10 listening

mkdir -p "$T/pkg/DEBIAN"
cat >"$T/pkg/DEBIAN/control" <<EOF
Package: $PKG
Version: 1.0
Architecture: all
Maintainer: vigil tests <root@localhost>
Description: an empty package for a test of vigil-agent
EOF
undo "dpkg --purge $PKG"
dpkg-deb --build "$T/pkg" "$T/$PKG.deb" >/dev/null 2>&1 &&
	dpkg -i "$T/$PKG.deb" >"$T/dpkg.out" 2>&1
check "dpkg -i $PKG" quiet dpkg -s "$PKG"

undo "rm -f $UNIT $WANTS"
cat >"$UNIT" <<EOF
[Unit]
Description=vigil-agent test unit

[Service]
ExecStart=/bin/true

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$(dirname "$WANTS")"
ln -s "$UNIT" "$WANTS"
ok "vigil-test.service written and enabled"

SYSCTL_DONE=0
if [ "$IN_NS" = 1 ]; then
	fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	undo "sysctl -qw net.ipv4.ip_forward=$fwd"
	if sysctl -qw net.ipv4.ip_forward=$((1 - fwd)); then
		SYSCTL_DONE=1
		ok "net.ipv4.ip_forward $fwd -> $((1 - fwd)) in the namespace"
	fi
fi

printf 'first line\nsecond line\n' >"$T/cmd.txt"

agent_once
check "the --once run after the changes exits 0 (exit $ONCE_RC)" test "$ONCE_RC" -eq 0
{ kill -9 "$LPID"; wait "$LPID"; } 2>/dev/null
dev_events

# sys_event DESC TYPE KIND JQ: one such event for the item.
sys_event() {
	local c=".type == \"$2\" and .kind == \"$3\" and $4"
	if [ "$(ev_count "$c")" -eq 1 ]; then
		ok "$1"
	else
		not_ok "$1: $(ev_count "$c") events, wanted 1"
		ev_show ".kind == \"$3\"" 5
	fi
}
sys_event "useradd: a user added event" added user ".path == \"$TUSER\""
sys_event "groupadd: a group added event" added group ".path == \"$TGROUP\""
sys_event "a new listener: a port added event" added port \
	"(.path | test(\"^tcp.*:$LPORT\$\"))"
sys_event "dpkg -i: a package added event" added package \
	"(.path | contains(\"$PKG\"))"
sys_event "a new enabled unit: a service added event" added service \
	'.path == "vigil-test.service"'
if [ "$SYSCTL_DONE" = 1 ]; then
	sys_event "sysctl -w: a sysctl changed event" changed sysctl \
		'.path == "net.ipv4.ip_forward"'
else
	ok "# SKIP the sysctl change (no network namespace)"
fi
sys_event "the command's output changed: a command changed event" changed \
	command ".path == \"$CMD\""
id=$(jq -r "select(.kind == \"command\" and .type == \"changed\") | .id" \
	"$T/all.json" | head -1)
api GET "/events/${id:-0}"
expect "the command event carries a diff with the new line" 200 \
	'(.diff // "") | contains("+second line")'
check "the command not approved was still not run" test ! -e "$T/ran-unapproved"

# --- the items go away again ---
userdel "$TUSER" >/dev/null 2>&1
groupdel "$TGROUP" >/dev/null 2>&1
dpkg --purge "$PKG" >/dev/null 2>&1
rm -f "$UNIT" "$WANTS"
agent_once
check "the --once run after the removals exits 0 (exit $ONCE_RC)" test "$ONCE_RC" -eq 0
dev_events
sys_event "userdel: a user removed event" removed user ".path == \"$TUSER\""
sys_event "the listener gone: a port removed event" removed port \
	"(.path | test(\"^tcp.*:$LPORT\$\"))"
sys_event "dpkg --purge: a package removed event" removed package \
	"(.path | contains(\"$PKG\"))"
sys_event "the unit removed: a service removed event" removed service \
	'.path == "vigil-test.service"'
check "no sanitizer report in the agent's log" agent_log_clean
hub_stop_checked
hub_finish
