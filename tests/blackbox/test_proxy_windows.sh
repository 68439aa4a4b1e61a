#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Windows hosts over SMB (proxy/windows.h, proxy/msrrp.h) against a real
# Samba smbd on 127.0.0.1 (tests/blackbox/smbd_lib.sh), which serves
# \PIPE\winreg through samba-dcerpcd and rpcd_winreg and a share "C$".
# Driven by `vigil collect --type windows`. Checks: every value type
# (REG_SZ, EXPAND_SZ, MULTI_SZ, DWORD, DWORD_BIG_ENDIAN, QWORD, BINARY,
# NONE), a string without its terminating NUL, the default value, UTF-8
# names, data too long for text (a digest and size instead), key
# security descriptors in SDDL; the whole value set equals what `net rpc
# registry export` reads over RPC; depth; a key denied to one account
# (a problem, the rest collected, exit 0) that another account, granted
# by SID, reads; include and exclude globs; files over C$ (size, SHA-256
# equal to sha256sum's, times, attributes, a folder walked, depth); a
# wrong password and a refused or silent port fail clearly; stdout holds
# only JSON items; nothing is left running.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/smbd_lib.sh"
UA=vgwa$$
UN=vgwn$$
PWA="pw-a-$RANDOM-$$"
PWN="pw-n-$RANDOM-$$"
KEY='HKLM\SOFTWARE\VigilTest'

if [ "$(id -u)" -ne 0 ]; then
	ok "# SKIP needs root (test users, smbd)"
	finish
	exit 0
fi
smb_need
sshd_need jq sha256sum

win_cleanup() {
	smb_teardown
	if [ "$FAIL" -gt 0 ]; then
		for f in "$SMB"/smbd.log "$SMB"/log/*.log; do
			[ -s "$f" ] || continue
			echo "# $(basename "$f"), the last lines:"
			tail -8 "$f" | sed 's/^/#   /'
		done
	fi
	cleanup
}
trap win_cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- smbd, users, registry, files ----
PORT=$(free_port)
smb_conf "$PORT"
smb_start
ok "smbd up on 127.0.0.1:$PORT"
smb_user_add "$UA" "$PWA"
smb_user_add "$UN" "$PWN"
printf '%s\n' "$PWA" >"$T/pwa"
printf '%s\n' "$PWN" >"$T/pwn"
printf 'wrong-%s\n' "$PWN" >"$T/badpw"
chmod 600 "$T/pwa" "$T/pwn" "$T/badpw"
SID_A=$(smb_user_sid "$UA")
check "the admin account has a SID ($SID_A)" grep -q '^S-1-5-21-' <<<"$SID_A"

# hex_bytes N: N bytes 00,01,02... as a .reg hex list.
hex_bytes() {
	"$PY" -c 'import sys; n = int(sys.argv[1]); print(",".join("%02x" % (i % 256) for i in range(n)))' "$1"
}
BIG=9000        # bytes of binary data: 18000 hex digits, past the text cap
{
	printf 'Windows Registry Editor Version 5.00\r\n\r\n'
	printf '[HKEY_LOCAL_MACHINE\\SOFTWARE\\VigilTest]\r\n'
	printf '@="the default"\r\n'
	printf '"Sz"="hello world"\r\n'
	printf '"Expand"=hex(2):25,00,53,00,79,00,73,00,74,00,65,00,6d,00,52,00,6f,00,6f,00,74,00,25,00,00,00\r\n'
	printf '"Multi"=hex(7):6f,00,6e,00,65,00,00,00,74,00,77,00,6f,00,00,00,00,00\r\n'
	printf '"Dword"=dword:0000002a\r\n'
	printf '"DwordBE"=hex(5):00,00,01,00\r\n'
	printf '"Qword"=hex(b):00,00,00,00,01,00,00,00\r\n'
	printf '"Binary"=hex:de,ad,be,ef\r\n'
	printf '"None"=hex(0):\r\n'
	printf '"NoNul"=hex(1):41,00,42,00,43,00\r\n'
	printf '"Big"=hex:%s\r\n' "$(hex_bytes "$BIG")"
	printf '\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\VigilTest\\L1]\r\n'
	printf '"V1"="level 1"\r\n'
	printf '\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\VigilTest\\L1\\L2]\r\n'
	printf '"V2"="level 2"\r\n'
	printf '\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\VigilTest\\L1\\L2\\L3]\r\n'
	printf '"V3"="level 3"\r\n'
	printf '\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\VigilTest\\Secret]\r\n'
	printf '"Hidden"="only for the admin"\r\n'
	printf '\r\n'
} >"$T/seed.reg"
# UTF-8 names in a file of their own: with enc=UTF-8, net registry
# import also reads hex(2) and hex(7) data as UTF-8, not UTF-16LE.
{
	printf 'Windows Registry Editor Version 5.00\r\n\r\n'
	printf '[HKEY_LOCAL_MACHINE\\SOFTWARE\\VigilTest]\r\n'
	printf '"\xc3\x9cml\xc3\xa4ut"="gr\xc3\xbc\xc3\x9f"\r\n'
	printf '\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\VigilTest\\\xd0\x9a\xd0\xbb\xd1\x8e\xd1\x87]\r\n'
	printf '"\xd0\x97\xd0\xbd\xd0\xb0\xd1\x87"="\xd0\xb4\xd0\xb0"\r\n'
	printf '\r\n'
} >"$T/seed-utf8.reg"
smb_net registry import "$T/seed.reg" >"$T/net.out" 2>&1 &&
    smb_net registry import "$T/seed-utf8.reg" enc=UTF-8 >>"$T/net.out" 2>&1 ||
    { not_ok "net registry import"; cat "$T/net.out"; abort; }
smb_net registry setvalue "$KEY" SetDword dword 7 >/dev/null ||
    not_ok "net registry setvalue dword"
smb_net registry setvalue "$KEY\\L1" SetSz sz 'set by net' >/dev/null ||
    not_ok "net registry setvalue sz"
SDDL_SECRET="O:BAG:SYD:(A;;0x000f003f;;;BA)(A;;0x000f003f;;;SY)(A;;0x20019;;;$SID_A)"
smb_net registry setsd_sddl "$KEY\\Secret" "$SDDL_SECRET" >/dev/null ||
    not_ok "net registry setsd_sddl"
ok "registry seeded"

mkdir -p "$T/c/Data/Sub/Deep" "$T/c/Other"
printf 'hello\n' >"$T/c/Data/a.txt"
head -c 3000001 /dev/urandom >"$T/c/Data/Sub/big.bin"
printf 'deep\n' >"$T/c/Data/Sub/Deep/d.txt"
printf 'other\n' >"$T/c/Other/o.txt"
chmod -R a+rX "$T/c"
# Unix permissions smbd enforces: a folder and a file the accounts may
# not read.
mkdir -p "$T/c/Locked" "$T/c/Private"
printf 'secret\n' >"$T/c/Locked/secret.bin"
printf 'private\n' >"$T/c/Private/p.txt"
chmod 600 "$T/c/Locked/secret.bin"
chmod 700 "$T/c/Private"

collect() {   # USER PASSWORD-FILE ARGS...
	local u=$1 p=$2
	shift 2
	"$VIGIL" collect --type windows --host 127.0.0.1 --port "$PORT" \
	    --user "$u" --password-file "$p" --timeout 30 "$@"
}
# item PATH: the JSON line of the item at PATH in $T/out.
item() {
	jq -c --arg p "$1" 'select(.path == $p)' "$T/out"
}
prop() {     # PATH NAME: a property of the item
	jq -r --arg p "$1" --arg n "$2" 'select(.path == $p) | .attrs.props[$n] // "(none)"' "$T/out"
}
eq() {       # GOT WANT
	[ "$1" = "$2" ] || { echo "    (got '$1', wanted '$2')"; return 1; }
}
stdout_is_json() {
	local n
	n=$(grep -c . "$T/out")
	[ "$(jq -c . "$T/out" 2>/dev/null | grep -c .)" -eq "$n" ] &&
	    jq -e 'has("kind") and has("path") and has("attrs")' "$T/out" >/dev/null
}

# ---- the registry, as the non-admin account ----
run 0 "collect $KEY as the non-admin account" \
    collect "$UN" "$T/pwn" --registry "$KEY"
cp "$T/out" "$T/nonadmin.json"
check "stdout holds only item JSON lines" stdout_is_json
check "the denied key is a problem on stderr" \
    has "$T/err" "vigil collect: $KEY\\Secret: access denied"
check "... the only line on stderr" test "$(wc -l <"$T/err")" -eq 1
check "nothing of the denied key was collected" \
    test -z "$(jq -r 'select(.path | contains("Secret")) | .path' "$T/out")"
check "the key itself, with its security descriptor in SDDL" \
    eq "$(prop "$KEY" security)" "O:BAG:SYD:(A;;KR;;;WD)(A;;KA;;;BA)(A;;KA;;;SY)"
check "the default value (path ending in a backslash)" \
    eq "$(prop "$KEY\\" data)/$(prop "$KEY\\" type)" "the default/REG_SZ"
check "REG_SZ" eq "$(prop "$KEY\\Sz" data)/$(prop "$KEY\\Sz" type)" \
    "hello world/REG_SZ"
check "REG_EXPAND_SZ, unexpanded" \
    eq "$(prop "$KEY\\Expand" data)/$(prop "$KEY\\Expand" type)" \
    "%SystemRoot%/REG_EXPAND_SZ"
check "REG_MULTI_SZ, one string a line" \
    eq "$(prop "$KEY\\Multi" data)/$(prop "$KEY\\Multi" type)" \
    "one
two/REG_MULTI_SZ"
check "REG_DWORD" eq "$(prop "$KEY\\Dword" data)/$(prop "$KEY\\Dword" type)" \
    "0x0000002a (42)/REG_DWORD"
check "REG_DWORD set by net registry setvalue" \
    eq "$(prop "$KEY\\SetDword" data)" "0x00000007 (7)"
check "REG_DWORD_BIG_ENDIAN" \
    eq "$(prop "$KEY\\DwordBE" data)/$(prop "$KEY\\DwordBE" type)" \
    "0x00000100 (256)/REG_DWORD_BIG_ENDIAN"
check "REG_QWORD" eq "$(prop "$KEY\\Qword" data)/$(prop "$KEY\\Qword" type)" \
    "0x0000000100000000 (4294967296)/REG_QWORD"
check "REG_BINARY as hex" \
    eq "$(prop "$KEY\\Binary" data)/$(prop "$KEY\\Binary" type)" \
    "deadbeef/REG_BINARY"
check "REG_NONE, empty" eq "$(prop "$KEY\\None" data)/$(prop "$KEY\\None" type)" \
    "/REG_NONE"
check "a REG_SZ without its terminating NUL" \
    eq "$(prop "$KEY\\NoNul" data)/$(prop "$KEY\\NoNul" type)" "ABC/REG_SZ"
check "UTF-8 value names and data" \
    eq "$(prop "$KEY\\Ümläut" data)" "grüß"
check "UTF-8 key names" eq "$(prop "$KEY\\Ключ\\Знач" data)" "да"
BIG_SHA=$("$PY" -c 'import hashlib, sys; n = int(sys.argv[1]); print(hashlib.sha256(bytes(i % 256 for i in range(n))).hexdigest())' "$BIG")
check "data past the text cap: its SHA-256 and size instead" \
    eq "$(prop "$KEY\\Big" data_sha256)/$(prop "$KEY\\Big" size)/$(prop "$KEY\\Big" data)" \
    "$BIG_SHA/$BIG/(none)"
check "the deepest key (depth 8 by default)" \
    eq "$(prop "$KEY\\L1\\L2\\L3\\V3" data)" "level 3"
check "a value set by net registry setvalue below" \
    eq "$(prop "$KEY\\L1\\SetSz" data)" "set by net"
check "items in path order, each once" \
    test "$(jq -r .path "$T/out")" = "$(jq -r .path "$T/out" | LC_ALL=C sort -u)"

# ---- the same values as net rpc registry export reads over RPC ----
net rpc registry export "$KEY" "$T/export.reg" -s "$SMB_CONF" \
    -I 127.0.0.1 -p "$PORT" -U "$UA%$PWA" >"$T/net.out" 2>&1 ||
    { not_ok "net rpc registry export"; cat "$T/net.out"; }
"$PY" - "$T/export.reg" >"$T/expected.tsv" <<'EOF'
# The .reg that `net rpc registry export` wrote, as vigil's items:
# "kind<TAB>path<TAB>type<TAB>data" lines, data as msrrp_value_text()
# renders it (hex above 16384 bytes of text: "sha256:HEX:SIZE").
import hashlib, re, sys
names = {"": 3, "0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "7": 7, "b": 11}
tnames = {0: "REG_NONE", 1: "REG_SZ", 2: "REG_EXPAND_SZ", 3: "REG_BINARY",
          4: "REG_DWORD", 5: "REG_DWORD_BIG_ENDIAN", 7: "REG_MULTI_SZ",
          11: "REG_QWORD"}
def utf16(b):
    s = b.decode("utf-16-le", "replace")
    return s.split("\0")[0]
def text(t, b):
    if t in (1, 2):
        return utf16(b)
    if t == 7:
        out = []
        for part in b.decode("utf-16-le", "replace").split("\0"):
            if part == "":
                break
            out.append(part)
        return "\n".join(out)
    if t == 4 and len(b) == 4:
        v = int.from_bytes(b, "little"); return "0x%08x (%d)" % (v, v)
    if t == 5 and len(b) == 4:
        v = int.from_bytes(b, "big"); return "0x%08x (%d)" % (v, v)
    if t == 11 and len(b) == 8:
        v = int.from_bytes(b, "little"); return "0x%016x (%d)" % (v, v)
    h = b.hex()
    if len(h) > 16384:
        return "sha256:%s:%d" % (hashlib.sha256(b).hexdigest(), len(b))
    return h
raw = open(sys.argv[1], encoding="utf-8").read().replace("\\\n  ", "")
key = None
rows = []
for line in raw.splitlines():
    if line.startswith("[") and line.endswith("]"):
        key = line[1:-1]
        rows.append("regkey\t%s\t\t" % key)
        continue
    if key is None or not line or line.startswith(";"):
        continue
    m = re.match(r'^(@|"((?:[^"\\]|\\.)*)")=(.*)$', line)
    if not m:
        continue
    name = "" if m.group(1) == "@" else re.sub(r"\\(.)", r"\1", m.group(2))
    v = m.group(3)
    if v.startswith('"'):
        t, b = 1, re.sub(r"\\(.)", r"\1", v[1:-1]).encode("utf-16-le")
    elif v.startswith("dword:"):
        t, b = 4, int(v[6:], 16).to_bytes(4, "little")
    else:
        mm = re.match(r"^hex(?:\(([0-9a-f]+)\))?:(.*)$", v)
        t = names[mm.group(1) or ""]
        b = bytes(int(x, 16) for x in mm.group(2).split(",") if x)
    rows.append("regvalue\t%s\\%s\t%s\t%s" % (key, name, tnames[t],
        text(t, b).replace("\n", "\\n")))
print("\n".join(sorted(rows)))
EOF
run 0 "collect $KEY as the admin account" collect "$UA" "$T/pwa" \
    --registry "$KEY"
cp "$T/out" "$T/admin.json"
check "the admin reads the key granted to its SID: no problem" \
    test ! -s "$T/err"
check "... its value" \
    eq "$(prop "$KEY\\Secret\\Hidden" data)" "only for the admin"
check "... and its security descriptor names that SID" \
    eq "$(prop "$KEY\\Secret" security)" \
    "O:BAG:SYD:(A;;KA;;;BA)(A;;KA;;;SY)(A;;KR;;;$SID_A)"
jq -r '[.kind, .path, (.attrs.props.type // ""),
    (if .attrs.props.data_sha256 then "sha256:" + .attrs.props.data_sha256
     + ":" + .attrs.props.size else (.attrs.props.data // "") end
     | gsub("\n"; "\\n"))] | @tsv' "$T/admin.json" |
    sed 's/\\\\/\\/g' | LC_ALL=C sort >"$T/got.tsv"
LC_ALL=C sort "$T/expected.tsv" -o "$T/expected.tsv"
check "net rpc registry export saw keys and values" \
    test "$(grep -c '^regvalue' "$T/expected.tsv")" -ge 18
if cmp -s "$T/expected.tsv" "$T/got.tsv"; then
	ok "every key and value (type and data) equals what net rpc registry export reads ($(wc -l <"$T/got.tsv") items)"
else
	not_ok "keys and values differ from net rpc registry export's:"
	diff "$T/expected.tsv" "$T/got.tsv" | head -20 | sed 's/^/    /'
fi

# ---- depth, include, exclude, absent keys ----
run 0 "--depth 0" collect "$UN" "$T/pwn" --registry "$KEY" --depth 0
check "depth 0: the key and its values, no subkey" \
    eq "$(jq -r 'select(.kind == "regkey") | .path' "$T/out")" "$KEY"
check "... its values are there" test -n "$(item "$KEY\\Sz")"
check "... no problem (the denied subkey is not reached)" test ! -s "$T/err"
run 0 "--depth 1" collect "$UN" "$T/pwn" --registry "$KEY" --depth 1
check "depth 1: L1 and its value, not L2" \
    eq "$(jq -r 'select(.kind == "regkey") | .path' "$T/out" | tr '\n' ' ')" \
    "$KEY $KEY\\L1 $KEY\\Ключ "
check "... L1's value" eq "$(prop "$KEY\\L1\\V1" data)" "level 1"
run 0 "--exclude a key" collect "$UN" "$T/pwn" --registry "$KEY" \
    --exclude '*\l2' --exclude '*\Secret'
check "the excluded key (case-insensitive glob) and all below it are gone" \
    test -z "$(jq -r 'select(.path | test("L2|Secret")) | .path' "$T/out")"
check "... an excluded key is not walked: no access denied" test ! -s "$T/err"
check "... the rest is there" eq "$(prop "$KEY\\L1\\V1" data)" "level 1"
run 0 "--include a value glob" collect "$UN" "$T/pwn" --registry "$KEY" \
    --include '*\v?' --exclude '*\Secret'
check "only the included items, from every level ('*' crosses '\\')" \
    eq "$(jq -r .path "$T/out" | tr '\n' ' ')" \
    "$KEY\\L1\\L2\\L3\\V3 $KEY\\L1\\L2\\V2 $KEY\\L1\\V1 "
run 0 "a key that does not exist" collect "$UN" "$T/pwn" \
    --registry "$KEY\\Nope" --registry 'HKEY_LOCAL_MACHINE\SOFTWARE\VigilTest\L1\L2'
check "is simply absent; HKEY_LOCAL_MACHINE is written HKLM" \
    eq "$(jq -r .path "$T/out" | tr '\n' ' ')" \
    "$KEY\\L1\\L2 $KEY\\L1\\L2\\L3 $KEY\\L1\\L2\\L3\\V3 $KEY\\L1\\L2\\V2 "
check "... and no problem" test ! -s "$T/err"
run 0 "the denied key named alone" collect "$UN" "$T/pwn" \
    --registry "$KEY\\Secret"
check "collects nothing, exit 0, one problem" \
    eq "$(wc -l <"$T/out")/$(cat "$T/err")" \
    "0/vigil collect: $KEY\\Secret: access denied"
if "$PY" -c 'import socket, sys; socket.create_connection(("::1", int(sys.argv[1])), 1).close()' "$PORT" 2>/dev/null; then
	run 0 "DOMAIN\\user, over IPv6 (::1)" \
	    "$VIGIL" collect --type windows --host ::1 --port "$PORT" \
	    --user "VIGILTEST\\$UN" --password-file "$T/pwn" \
	    --registry "$KEY\\L1" --depth 0
	check "... the key and its values" \
	    eq "$(jq -r .path "$T/out" | tr '\n' ' ')" \
	    "$KEY\\L1 $KEY\\L1\\SetSz $KEY\\L1\\V1 "
else
	ok "# SKIP no IPv6 loopback"
fi
run 0 "a built-in key of Samba's registry" collect "$UN" "$T/pwn" \
    --registry 'HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion' --depth 0
check "CurrentVersion = 6.1" \
    eq "$(prop 'HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\CurrentVersion' data)" "6.1"

# ---- files over C$ ----
run 0 "collect files over C$" collect "$UN" "$T/pwn" --file 'C:\Data\a.txt' \
    --file 'C:\Data\Sub' --file 'C:\Missing\x.txt'
check "stdout holds only item JSON lines" stdout_is_json
check "a file: size and SHA-256 equal to sha256sum's" \
    jqtrue "$T/out" 'select(.path == "C:\\Data\\a.txt") | .attrs.size == 6 and .attrs.hash == "sha256:'"$(sha "$T/c/Data/a.txt")"'" and .attrs.type == "file"'
check "... its mtime, to the second" \
    jqtrue "$T/out" 'select(.path == "C:\\Data\\a.txt") | .attrs.mtime | startswith("'"$(date -u -d "@$(stat -c %Y "$T/c/Data/a.txt")" +%Y-%m-%dT%H:%M:%S)"'")'
check "... its attributes and creation time" \
    jqtrue "$T/out" 'select(.path == "C:\\Data\\a.txt") | (.attrs.props.attributes | test("^[RHSANTPLCOIE]+$")) and (.attrs.props.created | test("^20[0-9-]+T"))'
check "a folder named: itself, type dir, attribute D" \
    jqtrue "$T/out" 'select(.path == "C:\\Data\\Sub") | .attrs.type == "dir" and (.attrs.props.attributes | contains("D"))'
check "... walked: a 3 MB file hashed as sha256sum does" \
    jqtrue "$T/out" 'select(.path == "C:\\Data\\Sub\\big.bin") | .attrs.size == 3000001 and .attrs.hash == "sha256:'"$(sha "$T/c/Data/Sub/big.bin")"'"'
check "... and below it" \
    jqtrue "$T/out" 'select(.path == "C:\\Data\\Sub\\Deep\\d.txt") | .attrs.hash == "sha256:'"$(sha "$T/c/Data/Sub/Deep/d.txt")"'"'
check "exactly those items; a missing file is simply absent" \
    eq "$(jq -r .path "$T/out" | tr '\n' ' ')" \
    'C:\Data\Sub C:\Data\Sub\Deep C:\Data\Sub\Deep\d.txt C:\Data\Sub\big.bin C:\Data\a.txt '
check "... no problem" test ! -s "$T/err"
run 0 "a folder with --depth 0 and an exclude" collect "$UN" "$T/pwn" \
    --file 'c:\Data' --depth 0 --exclude '*.TXT'
check "its entries, not deeper; the excluded file is not there" \
    eq "$(jq -r .path "$T/out" | tr '\n' ' ')" 'C:\Data C:\Data\Sub '
run 0 "a folder and a file the account may not read" collect "$UN" \
    "$T/pwn" --file 'C:\Locked' --file 'C:\Private'
check "the unreadable file is recorded, its hash unreadable" \
    jqtrue "$T/out" 'select(.path == "C:\\Locked\\secret.bin") | .attrs.hash_state == "unreadable" and .attrs.size == 7'
check "... a problem" has "$T/err" \
    'vigil collect: C:\Locked\secret.bin: cannot read: access denied'
check "the unreadable folder is recorded, not its contents" \
    eq "$(jq -r 'select(.path | startswith("C:\\Private")) | .path' "$T/out" | tr '\n' ' ')" \
    'C:\Private '
check "... a problem" has "$T/err" 'vigil collect: C:\Private: access denied'
run 0 "registry and files at once" collect "$UN" "$T/pwn" \
    --registry "$KEY\\L1\\L2\\L3" --file 'C:\Other'
check "both kinds, in path order" \
    eq "$(jq -r '.kind + ":" + .path' "$T/out" | tr '\n' ' ')" \
    "file:C:\\Other file:C:\\Other\\o.txt regkey:$KEY\\L1\\L2\\L3 regvalue:$KEY\\L1\\L2\\L3\\V3 "

# ---- failures ----
run 1 "a wrong password" collect "$UN" "$T/badpw" --registry "$KEY"
check "... says logon failure and names the account" \
    has "$T/err" "logon failure as $UN"
check "... prints no item" test ! -s "$T/out"
check "... the password never shows" lacks "$T/err" "$PWN"
check "smbd saw one failed logon, not a retry (account lockouts)" \
    test "$(grep -c "\[$UN\] at .*NT_STATUS_WRONG_PASSWORD" "$SMB/smbd.log")" -eq 1
P_CLOSED=$(free_port)
run 1 "a refused port" "$VIGIL" collect --type windows --host 127.0.0.1 \
    --port "$P_CLOSED" --user "$UN" --password-file "$T/pwn" \
    --registry "$KEY"
check "... says the connection was refused" \
    has "$T/err" "127.0.0.1:$P_CLOSED: cannot connect: Connection refused"
P_SILENT=$(free_port)
bg "$PY" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); keep = []
while True:
    c, _ = s.accept(); keep.append(c)' "$P_SILENT"
wait_port "$P_SILENT" || not_ok "the silent listener is up"
t0=$(date +%s)
run 1 "a port that accepts and never answers (--timeout 2)" \
    "$VIGIL" collect --type windows --host 127.0.0.1 --port "$P_SILENT" \
    --user "$UN" --password-file "$T/pwn" --registry "$KEY" --timeout 2
check "... fails within a few seconds" test $(($(date +%s) - t0)) -le 8
check "... with a message naming the host" has "$T/err" "127.0.0.1:$P_SILENT"
run 1 "a host that does not resolve" "$VIGIL" collect --type windows \
    --host no-such-host.invalid --user "$UN" --password-file "$T/pwn" \
    --registry "$KEY"
check "... says so" has "$T/err" "no-such-host.invalid: cannot resolve"
run 2 "a registry key outside HKLM and HKU" collect "$UN" "$T/pwn" \
    --registry 'HKCU\Software'
check "... is refused before connecting" has "$T/err" "is not a registry hive"
run 2 "a file path with '..'" collect "$UN" "$T/pwn" --file 'C:\Data\..\x'
check "... is refused" has "$T/err" "'..'"

# ---- the Remote Registry service stopped, then started on demand ----
# smbd without samba-dcerpcd: the winreg pipe is not there, as on a
# Windows host whose Remote Registry service is stopped.
smb_stop
smb_conf "$PORT" "rpc start on demand helpers = no"
smb_start
t0=$(date +%s%N)
run 0 "no winreg pipe: registry and files" collect "$UN" "$T/pwn" \
    --registry "$KEY\\L1" --file 'C:\Other'
check "... tried twice, a second apart" \
    test $(($(date +%s%N) - t0)) -ge 1000000000
check "... the key is a problem" has "$T/err" \
    "vigil collect: $KEY\\L1: the winreg pipe cannot be opened"
check "... the files were collected" \
    eq "$(jq -r .path "$T/out" | tr '\n' ' ')" 'C:\Other C:\Other\o.txt '
run 1 "no winreg pipe and only registry keys: the collection fails" \
    collect "$UN" "$T/pwn" --registry "$KEY\\L1"
check "... saying why" has "$T/err" "the winreg pipe cannot be opened"
# The service starting while vigil waits: samba-dcerpcd comes up after
# the first open failed, the retry a second later finds the pipe.
collect "$UN" "$T/pwn" --registry "$KEY\\L1" --depth 0 >"$T/out" \
    2>"$T/err" &
VPID=$!
sleep 0.3
bg setsid /usr/libexec/samba/samba-dcerpcd --configfile="$SMB_CONF" \
    --libexec-rpcds --foreground --no-process-group >>"$SMB/dcerpcd.log" 2>&1
wait "$VPID"
rc=$?
check "the pipe appearing before the retry: collected (exit $rc)" \
    test "$rc" -eq 0
check "... the key and its values" \
    eq "$(jq -r .path "$T/out" | tr '\n' ' ')" \
    "$KEY\\L1 $KEY\\L1\\SetSz $KEY\\L1\\V1 "
check "... no problem" test ! -s "$T/err"

# ---- nothing left behind ----
smb_teardown
check "smbd, samba-dcerpcd and rpcd_* are all gone" test -z "$(smb_pids)"
check "the test users are gone" \
    test -z "$(getent passwd "$UA" "$UN")"
finish
