# SPDX-License-Identifier: GPL-3.0-or-later
# Shared helpers for the black-box tests: each test script sources this,
# runs the real vigil binary ($VIGIL) on trees it makes under a private
# temporary folder, and ends with `finish`, which prints
# "N passed, N failed" and sets the exit status.
set -u
: "${VIGIL:?set VIGIL to the vigil binary}"

# Sanitizer builds: tell their reports apart from vigil's own exit codes.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:exitcode=86:detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:halt_on_error=1:exitcode=87:print_stacktrace=1"

T=$(mktemp -d /tmp/vigil-test.XXXXXX)
chmod 755 "$T"
PASS=0
FAIL=0
BG_PIDS=()

cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	# Undo anything that would stop rm (immutable bits, mounts).
	umount -R "$T"/* 2>/dev/null
	chmod -R u+rwx "$T" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

ok() {
	PASS=$((PASS + 1))
	echo "ok - $*"
}

not_ok() {
	FAIL=$((FAIL + 1))
	echo "not ok - $*"
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# A sanitizer report in the last command's stderr is a failure of its own.
sanitizer_clean() {
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/err"; then
		not_ok "sanitizer report:"
		sed 's/^/    /' "$T/err" | head -40
		return 1
	fi
	return 0
}

# run WANT_EXIT DESCRIPTION COMMAND...: runs the command with stdout in
# $T/out and stderr in $T/err, and checks its exit status.
run() {
	local want=$1 desc=$2 rc
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	sanitizer_clean || return 1
	if [ "$rc" -eq "$want" ]; then
		ok "$desc (exit $rc)"
		return 0
	fi
	not_ok "$desc: exit $rc, wanted $want"
	sed 's/^/    out: /' "$T/out" | head -20
	sed 's/^/    err: /' "$T/err" | head -20
	return 1
}

# has FILE TEXT: FILE contains TEXT (fixed string).
has() {
	grep -qF -- "$2" "$1" || {
		echo "    (\"$2\" not found in $(basename "$1"):)"
		sed 's/^/    | /' "$1" | head -20
		return 1
	}
}

lacks() {
	! grep -qF -- "$2" "$1" || {
		echo "    (\"$2\" unexpectedly found in $(basename "$1"))"
		return 1
	}
}

# jqtrue FILE EXPR: the jq expression is true for the JSON in FILE.
jqtrue() {
	[ "$(jq -r "$2" "$1" 2>&1)" = true ] || {
		echo "    (jq '$2' is not true; it gives: $(jq -c "$2" "$1" 2>&1 | head -c 400))"
		return 1
	}
}

# bg COMMAND...: starts a command in the background, remembered for cleanup.
bg() {
	"$@" &
	BG_PIDS+=($!)
}

# bg_forget PID: drops PID from the processes cleanup kills (it ended).
bg_forget() {
	local p keep=()
	for p in "${BG_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
}

# bg_stop PID SECONDS: SIGTERM, then waits up to SECONDS for the process
# to end; returns its exit status, or 124 when it had to be killed.
bg_stop() {
	local i rc
	kill -TERM "$1" 2>/dev/null
	for i in $(seq 1 $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		bg_forget "$1"
		return 124
	fi
	wait "$1" 2>/dev/null
	rc=$?
	bg_forget "$1"
	return "$rc"
}

# bg_kill PID: SIGKILL, reaped.
bg_kill() {
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	bg_forget "$1"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
