# SPDX-License-Identifier: GPL-3.0-or-later
# A real Samba smbd on 127.0.0.1 (a free port) for the black-box tests of
# Windows hosts over SMB, sourced after lib.sh and sshd_lib.sh (for
# free_port, wait_port, abort). Root only (useradd, smbd): the caller
# skips otherwise. smbd serves \PIPE\winreg out of the box through
# samba-dcerpcd and its rpcd_winreg, which it starts on demand; the
# registry lives in $SMB/state/registry.tdb, seeded with `net -s CONF
# registry ...` (smb_net) while smbd runs. A share "C$" serves $T/c.
#
#   smb_need                        not ok and exit 1 unless smbd, net,
#                                   smbpasswd, pdbedit, useradd are there
#   smb_conf PORT [LINE...]         writes $SMB_CONF (absolute: smbd hands
#                                   it to samba-dcerpcd) and its folders;
#                                   LINEs go to [global]
#   smb_start                       smbd in the foreground on it, log in
#                                   $SMB/smbd.log; waits for the port
#   smb_user_add NAME PASSWORD      a throwaway Unix user (useradd -M, no
#                                   shell) with that Samba password
#   smb_user_sid NAME               prints its SID (pdbedit)
#   smb_net ARGS...                 net -s $SMB_CONF ARGS (the local
#                                   registry, no network)
#   smb_pids                        prints the PIDs of smbd, samba-dcerpcd
#                                   and rpcd_* running on $SMB_CONF
#   smb_stop                        stops those by PID (samba-dcerpcd is
#                                   re-parented to PID 1 and outlives
#                                   smbd); the state (users, registry)
#                                   stays for another smb_start
#   smb_teardown                    for the EXIT trap: smb_stop, then
#                                   removes the users
SMB=$T/smb
SMB_CONF=$SMB/smb.conf
SMB_USERS=()
SMB_PID=

smb_need() {
	local tool missing=
	for tool in /usr/sbin/smbd net smbpasswd pdbedit useradd userdel \
	    pgrep setsid "$PY"; do
		command -v "$tool" >/dev/null || missing="$missing $tool"
	done
	[ -z "$missing" ] && return 0
	not_ok "missing tools:$missing (apt-get install samba)"
	abort
}

smb_conf() {
	local port=$1 d
	shift
	for d in private lock state cache pid ncalrpc log; do
		mkdir -p "$SMB/$d"
	done
	chmod 700 "$SMB/private"
	mkdir -p "$T/c"
	{
	echo "[global]"
	[ $# -gt 0 ] && printf '\t%s\n' "$@"
	cat <<EOF
	server role = standalone server
	workgroup = VIGILTEST
	netbios name = VIGILTEST
	interfaces = lo
	bind interfaces only = yes
	smb ports = $port
	disable netbios = yes
	private dir = $SMB/private
	lock directory = $SMB/lock
	state directory = $SMB/state
	cache directory = $SMB/cache
	pid directory = $SMB/pid
	ncalrpc dir = $SMB/ncalrpc
	log file = $SMB/log/%m.log
	logging = file
	log level = 1 auth_audit:3
	passdb backend = tdbsam:$SMB/private/passdb.tdb
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes
	map to guest = never
	obey pam restrictions = no
	usershare path =

[C\$]
	path = $T/c
	read only = yes
	browseable = no
EOF
	} >"$SMB_CONF"
}

smb_start() {
	local port
	port=$(sed -n 's/^[[:space:]]*smb ports = //p' "$SMB_CONF")
	# A session of its own: samba-dcerpcd and its rpcd_* signal their
	# whole process group when they stop, which must not be the test's.
	bg setsid /usr/sbin/smbd --foreground --no-process-group \
	    --configfile="$SMB_CONF" --debug-stdout >>"$SMB/smbd.log" 2>&1
	SMB_PID=$!
	wait_port "$port" || {
		not_ok "smbd listens on 127.0.0.1:$port"
		tail -20 "$SMB/smbd.log" | sed 's/^/#   /'
		abort
	}
}

smb_user_add() {
	useradd -M -s /usr/sbin/nologin "$1" || { not_ok "useradd $1"; abort; }
	SMB_USERS+=("$1")
	printf '%s\n%s\n' "$2" "$2" |
	    smbpasswd -c "$SMB_CONF" -s -a "$1" >/dev/null ||
	    { not_ok "smbpasswd -a $1"; abort; }
}

smb_user_sid() {
	pdbedit -s "$SMB_CONF" -u "$1" -v 2>/dev/null |
	    sed -n 's/^User SID:[[:space:]]*//p'
}

smb_net() {
	net -s "$SMB_CONF" "$@"
}

smb_pids() {
	# Every process of ours names the config on its command line:
	# smbd, samba-dcerpcd (re-parented to PID 1) and the rpcd_* it runs.
	pgrep -f -- "--configfile=$SMB_CONF( |\$)" 2>/dev/null
	return 0
}

smb_stop() {
	local p i left
	for p in $(smb_pids | sort -u); do
		kill -TERM "$p" 2>/dev/null
	done
	for i in $(seq 1 50); do
		left=$(smb_pids)
		[ -z "$left" ] && break
		sleep 0.1
	done
	for p in $(smb_pids | sort -u); do
		kill -9 "$p" 2>/dev/null
	done
	if [ -n "$SMB_PID" ]; then
		wait "$SMB_PID" 2>/dev/null
		bg_forget "$SMB_PID"
		SMB_PID=
	fi
	return 0
}

smb_teardown() {
	local u
	smb_stop
	for u in "${SMB_USERS[@]}"; do
		userdel "$u" >/dev/null 2>&1 || userdel -f "$u" >/dev/null 2>&1
	done
	SMB_USERS=()
	return 0
}
