#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Linux hosts over SSH (proxy/linux.h, agent/proxied_linux.h) against a
# real OpenSSH sshd on 127.0.0.1 and a throwaway user, driven by
# vigil-proxy-linux-probe ($VIGIL_LINUX_PROBE) without a hub. Checks: the
# file items collected over SSH equal `vigil scan` of the same tree
# (attributes and SHA-256), names with spaces, newlines and non-UTF-8
# bytes included; the first collection is silent; then a changed tracked
# file (with its diff), a new file, a removed file and a new user are
# exactly the events; events the hub did not acknowledge are sent again
# with the same ids and the baseline waits for them; sudo -n and password
# sudo (answered only at the marker) collect as root; a wrong sudo
# password is an "auth" error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
: "${VIGIL_LINUX_PROBE:?set VIGIL_LINUX_PROBE to vigil-proxy-linux-probe}"
U=vgpl$$
U2=vgpn$$
PW="pw-$RANDOM-$$-x"
SUDOERS=/etc/sudoers.d/vigil-test-$$

if [ "$(id -u)" -ne 0 ]; then
	ok "# SKIP needs root (a test user, sshd, sudoers)"
	finish
	exit 0
fi
sshd_need /usr/sbin/sshd ssh-keygen useradd userdel chpasswd sudo jq "$PY"

linux_cleanup() {
	rm -f "$SUDOERS"
	sshd_teardown
	[ -n "$SSHD_USER_MADE" ] && userdel "$U2" >/dev/null 2>&1
	if [ "$FAIL" -gt 0 ] && [ -s "$T/sshd.log" ]; then
		echo "# sshd.log, the last lines:"
		tail -15 "$T/sshd.log" | sed 's/^/#   /'
	fi
	cleanup
}
trap linux_cleanup EXIT
trap 'exit 130' INT TERM HUP

not() {
	! "$@"
}

# ---- the user, the tree, sshd ----
sshd_user_add

TREE=$T/tree
mkdir -p "$TREE/sub dir" "$TREE/etc"
printf 'one\ntwo\n' >"$TREE/etc/app.conf"
printf 'spaced\n' >"$TREE/with space"
printf 'nl\n' >"$TREE/new
line"
printf 'bytes\n' >"$TREE/$(printf 'bad\377name')"
printf 'gone soon\n' >"$TREE/sub dir/old"
ln -s "../with space" "$TREE/sub dir/link"
chmod -R a+rX "$TREE"

ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" || abort
FP=$(ssh-keygen -lf "$T/hostkey.pub" | awk '{print $2}')
PORT=$(free_port)
sshd_conf sshd "$PORT" "$T/hostkey" \
    "PasswordAuthentication yes" "KbdInteractiveAuthentication no"
sshd_start sshd
wait_port "$PORT" || { not_ok "sshd listens on 127.0.0.1:$PORT"; abort; }
ok "sshd up on 127.0.0.1:$PORT as $FP"

probe() {
	"$VIGIL_LINUX_PROBE" --host 127.0.0.1 --port "$PORT" --user "$U" \
	    --host-key "$FP" --timeout 60 "$@"
}

# ---- the same items as vigil scan ----
jq -n --arg p "$TREE" '{paths: [$p]}' >"$T/files.json"
run 0 "collect the tree's items over SSH" \
    probe items --password-file "$T/pw" --policy "$T/files.json"
jq -cS . "$T/out" | sort >"$T/remote.items"
check "stderr names the host key" has "$T/err" "host key: $FP"
run 0 "vigil scan init of the same tree" \
    "$VIGIL" scan init -q -d "$T/scan.db" "$TREE"
run 0 "vigil scan list --json" "$VIGIL" scan list --json -d "$T/scan.db"
jq -cS 'del(.attrs.xattrs, .attrs.acl, .attrs.selinux)' "$T/out" | sort \
    >"$T/local.items"
check "9 items over SSH" test "$(wc -l <"$T/remote.items")" -eq 9
if cmp -s "$T/local.items" "$T/remote.items"; then
	ok "every item (type, size, mode, owner, times, inode, links, target, SHA-256) equals vigil scan's"
else
	not_ok "items differ from vigil scan's:"
	diff "$T/local.items" "$T/remote.items" | head -20 | sed 's/^/    /'
fi
check "a name with a newline came whole" \
    jqtrue "$T/remote.items" 'select(.path == "'"$TREE"'/new\nline") | .attrs.hash != null'
check "a non-UTF-8 name came with its bytes" grep -q '"path_b64"' "$T/remote.items"
check "the password never shows" lacks "$T/err" "$PW"

# ---- events ----
jq -n --arg p "$TREE" --arg c "$TREE/etc/app.conf" \
    '{paths: [$p], content: [$c], system: ["users", "groups", "packages"]}' \
    >"$T/policy.json"
D=$T/data
ev() {
	probe collect --password-file "$T/pw" --policy "$T/policy.json" \
	    --data-dir "$D" --device-id 7 --events "$T/events" "$@"
}
: >"$T/events"
run 0 "first collection" ev
check "the device state file exists, mode 0600" \
    test "$(stat -c %a "$D/proxied/7.db")" = 600
check "the first collection is silent: one baseline event" \
    test "$(jq -s '[.[] | select(.change)] | length' "$T/events")" -eq 0
check "... saying how many items" \
    jqtrue "$T/events" 'select(.agent.code == "baseline") | .agent.message == "baseline of 9 items created"'
run 0 "a collection with nothing changed" ev
check "no event at all" test "$(wc -l <"$T/events")" -eq 1

printf 'three\n' >>"$TREE/etc/app.conf"
printf 'fresh\n' >"$TREE/sub dir/new file"
chmod a+r "$TREE/sub dir/new file"
rm "$TREE/sub dir/old"
useradd -M -s /usr/sbin/nologin "$U2" || not_ok "useradd $U2"
: >"$T/events"
run 0 "collection after the changes" ev
jq -s . "$T/events" >"$T/ev.json"
check "the tracked file changed, with the diff" jqtrue "$T/ev.json" \
    '[.[] | select(.change.change == "changed" and .change.path == "'"$TREE"'/etc/app.conf")][0].change.diff | contains("+three")'
check "... the hash is among the changed attributes" jqtrue "$T/ev.json" \
    '[.[] | select(.change.path == "'"$TREE"'/etc/app.conf")][0].change.changed | index("hash") != null'
check "the new file was added" jqtrue "$T/ev.json" \
    'any(.[]; .change.change == "added" and .change.path == "'"$TREE"'/sub dir/new file")'
check "the removed file was removed" jqtrue "$T/ev.json" \
    'any(.[]; .change.change == "removed" and .change.path == "'"$TREE"'/sub dir/old")'
check "the new user was added" jqtrue "$T/ev.json" \
    'any(.[]; .change.change == "added" and .change.kind == "user" and .change.path == "'"$U2"'")'
check "... and its group" jqtrue "$T/ev.json" \
    'any(.[]; .change.change == "added" and .change.kind == "group" and .change.path == "'"$U2"'")'
check "ids follow on from the first collection's" jqtrue "$T/ev.json" \
    '(map(.id) | min) == 2 and (map(.id) | (max - min + 1)) == length'
check "the parent folder is not reported (its size and times are not compared)" \
    jqtrue "$T/ev.json" 'all(.[]; .change.path != "'"$TREE"'/sub dir")'
check "nothing else" jqtrue "$T/ev.json" \
    '[.[] | select(.change)] | length == 5'

# ---- not acknowledged: sent again, same ids, baseline waits ----
printf 'four\n' >>"$TREE/etc/app.conf"
: >"$T/events"
run 1 "a collection whose events the hub does not acknowledge" ev --no-ack
check "... says the events wait" has "$T/err" "sent again next time"
cp "$T/events" "$T/unacked"
printf 'five\n' >>"$TREE/etc/app.conf"
: >"$T/events"
run 1 "the next one sends them again first, and stops there" ev --no-ack
check "... the same events with the same ids" cmp -s "$T/unacked" "$T/events"
: >"$T/events"
run 0 "acknowledged this time" ev
jq -s . "$T/events" >"$T/ev.json"
check "the waiting event came first, with its id" jqtrue "$T/ev.json" \
    '.[0].id == ('"$(jq -s '.[0].id' "$T/unacked")"') and (.[0].change.diff | contains("+four"))'
check "then the later change, from the state the hub was told" jqtrue "$T/ev.json" \
    '.[1].change.diff | (contains("+five") and (contains("+four") | not))'
: >"$T/events"
run 0 "and then nothing is doubled" ev
check "no event" test ! -s "$T/events"

# ---- sudo ----
printf 'root only\n' >"$TREE/etc/secret"
chmod 600 "$TREE/etc/secret"
jq -n --arg p "$TREE" '{paths: [$p], system: ["users"]}' >"$T/root.json"
jq -n --arg p "$TREE" '{paths: [$p], system: ["users"], sudo: true}' \
    >"$T/sudo.json"
sudo_round() {   # NAME DATA_DIR EXTRA...: a baseline as the user, then sudo
	local name=$1 dir=$2
	shift 2
	: >"$T/events"
	run 0 "$name: baseline without sudo" probe collect --password-file \
	    "$T/pw" --policy "$T/root.json" --data-dir "$dir" --device-id 9 \
	    --events "$T/events"
	check "$name: the root-only file could not be read" \
	    test "$(jq -r '.attrs.hash_state // "none"' <<<"$(probe items \
	    --password-file "$T/pw" --policy "$T/root.json" 2>/dev/null |
	    grep -F '/etc/secret"')")" = unreadable
	: >"$T/events"
	run 0 "$name: collection as root" probe collect --policy \
	    "$T/sudo.json" --data-dir "$dir" --device-id 9 --events \
	    "$T/events" "$@"
	check "$name: the users gained their shadow fields" jqtrue \
	    "$T/events" 'select(.change.kind == "user" and .change.path == "root") | .change.new.props.password_sha256 != null'
	printf 'changed by root\n' >>"$TREE/etc/secret"
	: >"$T/events"
	run 0 "$name: again after the root-only file changed" probe collect \
	    --policy "$T/sudo.json" --data-dir "$dir" --device-id 9 \
	    --events "$T/events" "$@"
	check "$name: its content hash changed (root read it both times)" \
	    jqtrue "$T/events" 'select(.change.path == "'"$TREE"'/etc/secret") | (.change.changed | index("hash")) != null and (.change.old.hash | startswith("sha256:"))'
}
printf '%s ALL=(ALL) NOPASSWD: ALL\n' "$U" >"$SUDOERS"
chmod 440 "$SUDOERS"
sudo_round "sudo -n" "$T/d-nopass" --password-file "$T/pw"
printf '%s ALL=(ALL) ALL\nDefaults:%s !lecture\n' "$U" "$U" >"$SUDOERS"
sudo_round "password sudo" "$T/d-pass" --password-file "$T/pw"
check "password sudo: sudo -n alone is refused to the user, so the password answered sudo" \
    not su -s /bin/sh "$U" -c 'sudo -n true </dev/null >/dev/null 2>&1'
: >"$T/events"
run 1 "a wrong sudo password fails" probe collect --password-file "$T/pw" \
    --enable-file "$T/badpw" --policy "$T/sudo.json" --data-dir \
    "$T/d-bad" --device-id 9 --events "$T/events"
check "... as an auth error" has "$T/err" "error: auth:"
check "... and no state was written" test ! -s "$T/events"
check "the sudo password never shows" lacks "$T/err" "$PW"
rm -f "$SUDOERS"
run 1 "sudo asked of a user sudo does not know: an auth error" \
    probe collect --policy "$T/sudo.json" --data-dir "$T/d-none" \
    --device-id 9 --events "$T/events" --password-file "$T/pw"
check "... that says so" has "$T/err" "error: auth:"

finish
