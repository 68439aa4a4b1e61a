# SPDX-License-Identifier: GPL-3.0-or-later
# A throwaway login user and OpenSSH sshd servers on 127.0.0.1 for the
# black-box tests of the proxy's SSH side, sourced after lib.sh. Root
# only (useradd, sshd): the caller skips otherwise. Set U (the user's
# name) and PW (its password) before sshd_user_add.
#
#   free_port                       prints a free TCP port of 127.0.0.1
#   wait_port PORT                  something accepts on 127.0.0.1:PORT
#                                   (10 s at most)
#   abort                           finish, then exit 1
#   sshd_need TOOL...               not ok and exit 1 unless all are there
#   sshd_user_add                   useradd -m U (bash) with password PW;
#                                   $T/pw holds PW, $T/badpw a wrong one
#   sshd_teardown                   for the EXIT trap: stops the bg
#                                   processes, kills U's sessions, removes U
#   sshd_conf NAME PORT KEY EXTRA.. writes $T/NAME.conf (EXTRA lines first)
#   sshd_start NAME                 sshd -D on $T/NAME.conf, log $T/NAME.log
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
SSHD_USER_MADE=

abort() {
	finish
	exit 1
}

sshd_need() {
	local tool missing=
	for tool in "$@"; do
		command -v "$tool" >/dev/null || missing="$missing $tool"
	done
	[ -z "$missing" ] && return 0
	not_ok "missing tools:$missing (scripts/install-deps.sh test)"
	abort
}

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
	local i
	for i in $(seq 1 100); do
		"$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

sshd_user_add() {
	useradd -m -s /bin/bash "$U" || { not_ok "useradd $U"; abort; }
	SSHD_USER_MADE=1
	echo "$U:$PW" | chpasswd || { not_ok "chpasswd"; abort; }
	printf '%s\n' "$PW" >"$T/pw"
	printf 'wrong-%s\n' "$PW" >"$T/badpw"
	chmod 600 "$T/pw" "$T/badpw"
}

sshd_teardown() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	[ -n "$SSHD_USER_MADE" ] || return 0
	# Sessions the servers forked for the user.
	for p in $(ps -o pid= -u "$U" 2>/dev/null); do
		kill -9 "$p" 2>/dev/null
	done
	userdel -r "$U" >/dev/null 2>&1 || userdel -f -r "$U" >/dev/null 2>&1
	return 0
}

sshd_conf() {
	local name=$1 port=$2 key=$3
	shift 3
	# sshd takes the first value of a keyword: EXTRA comes first.
	{
		printf '%s\n' "$@"
		echo "ListenAddress 127.0.0.1:$port"
		echo "HostKey $key"
		echo "PidFile $T/$name.pid"
		echo "AuthorizedKeysFile $T/authorized_keys"
		echo "AllowUsers $U"
		echo "UsePAM yes"
		echo "LogLevel VERBOSE"
		echo "PrintMotd no"
		# The keys sit in the test folder under /tmp.
		echo "StrictModes no"
	} >"$T/$name.conf"
}

sshd_start() {
	mkdir -p /run/sshd
	bg /usr/sbin/sshd -D -e -f "$T/$1.conf" >>"$T/$1.log" 2>&1
}
