#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# vigil-hub serving the web console over real HTTPS: the files built in
# from console/ (byte for byte, each with its Content-Type), history
# routing to index.html, ETag and 304, HEAD, 405, the security headers,
# /api/ untouched, path traversal refused; then console_dir: files read
# on each request, symbolic links out of the folder, FIFOs, huge and
# hidden files refused.
export VIGIL=${VIGIL:-unused} # lib.sh wants it; these tests do not run vigil
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hub_lib.sh"

SRC=${VIGIL_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
CONSOLE=$SRC/console

# get METHOD PATH [curl options...]: one request for PATH as written (no
# dot-segment folding by curl); status in $CODE, body in $T/body, headers
# in $T/hdr.
get() {
	local m=$1 p=$2
	shift 2
	local a=(-sS --cacert "$HUB_CERT" --path-as-is -o "$T/body" -D "$T/hdr"
	    -w '%{http_code}' --max-time 30)
	if [ "$m" = HEAD ]; then a+=(-I); else a+=(-X "$m"); fi
	LAST_REQ="$m $p"
	: >"$T/body"
	: >"$T/hdr"
	CODE=$(curl "${a[@]}" "$@" "$HUB_URL$p" 2>"$T/curl.err" </dev/null)
	CODE=${CODE:-000}
}

# etag_of FILE: the ETag the hub gives those bytes.
etag_of() {
	printf '"%s"' "$(sha256sum "$1" | cut -c1-32)"
}

# same_as FILE: the last body is FILE, byte for byte.
same_as() {
	cmp -s "$T/body" "$1" || {
		echo "    (body of $LAST_REQ differs from $1: $(stat -c %s \
		    "$T/body") vs $(stat -c %s "$1") bytes)"
		return 1
	}
}

# served_type WANT: the Content-Type of the last answer starts with WANT.
served_type() {
	local t
	t=$(hdr Content-Type)
	[[ "$t" == "$1"* ]] || {
		echo "    (Content-Type of $LAST_REQ: '$t', wanted '$1...')"
		return 1
	}
}

# refused DESC PATH: a 404 that shows no file of the machine.
refused() {
	get GET "$2"
	check "$1 ($2): $CODE" test "$CODE" = 404
	check "... nothing of /etc/passwd in the answer" lacks "$T/body" "root:"
}

# --- the files built in ---
hub_init main || hub_abort
hub_start || hub_abort
ok "daemon started (pid $HUB_PID, port $HUB_PORT)"

get GET /
check "GET / answers 200 ($CODE)" test "$CODE" = 200
check "... as text/html; charset=utf-8" served_type "text/html; charset=utf-8"
check "... with console/index.html, byte for byte" same_as "$CONSOLE/index.html"
check "... which loads /app.js as a module" \
	has "$T/body" '<script type="module" src="/app.js"></script>'
csp=$(hdr Content-Security-Policy)
check "... with the strict CSP (default-src 'self')" \
	grep -q "default-src 'self'" <<<"$csp"
check "... which allows no inline script or style" \
	bash -c "! grep -qE 'unsafe-inline|unsafe-eval' <<<\"\$1\"" - "$csp"
check "... X-Content-Type-Options: nosniff" test "$(hdr X-Content-Type-Options)" = nosniff
check "... X-Frame-Options: DENY" test "$(hdr X-Frame-Options)" = DENY
check "... Strict-Transport-Security" test -n "$(hdr Strict-Transport-Security)"
check "... Cache-Control: no-cache" test "$(hdr Cache-Control)" = no-cache
etag=$(hdr ETag)
check "... a strong ETag: the first 128 bits of the SHA-256 ($etag)" \
	test "$etag" = "$(etag_of "$CONSOLE/index.html")"
size=$(stat -c %s "$T/body")

get GET /index.html
check "GET /index.html: the same page and ETag" \
	test "$CODE" = 200 -a "$(hdr ETag)" = "$etag"
for p in /devices/12 /devices/12/ /events '/events?type=changed&limit=5' \
    /groups/3/policy /signin; do
	get GET "$p"
	check "GET $p (history routing): index.html" \
		test "$CODE" = 200 -a "$(hdr ETag)" = "$etag"
	check "... as text/html" served_type "text/html"
done

# Every file under console/ is built in, with its type.
n=0
bad=0
while IFS= read -r -d '' f; do
	rel=${f#"$CONSOLE"}
	get GET "$rel"
	n=$((n + 1))
	if [ "$CODE" != 200 ] || ! cmp -s "$T/body" "$f" ||
	    [ "$(hdr ETag)" != "$(etag_of "$f")" ]; then
		bad=$((bad + 1))
		echo "    $rel: $CODE, $(stat -c %s "$T/body") bytes, ETag $(hdr ETag)"
	fi
	case $rel in
	*.js) want=text/javascript ;;
	*.css) want=text/css ;;
	*.html) want=text/html ;;
	*.svg) want=image/svg+xml ;;
	*.png) want=image/png ;;
	*.json) want=application/json ;;
	*.woff2) want=font/woff2 ;;
	*) want= ;;
	esac
	if [ -n "$want" ] && ! served_type "$want"; then
		bad=$((bad + 1))
	fi
done < <(find "$CONSOLE" -type f ! -path '*/.*' ! -name '*~' -print0)
check "every one of the $n files under console/ is served as it is, with its ETag and type" \
	test "$n" -gt 0 -a "$bad" = 0

get GET /app.js
check "GET /app.js: text/javascript" served_type "text/javascript"
get GET /nope.js
check "a missing /nope.js: 404 ($CODE)" test "$CODE" = 404
check "... the JSON error not_found" jqtrue "$T/body" '.error == "not_found"'
check "... with the CSP of a console answer" test -n "$(hdr Content-Security-Policy)"
get GET /pages/nope.js
check "a missing /pages/nope.js: 404" test "$CODE" = 404

# --- conditional requests and methods ---
get GET / -H "If-None-Match: $etag"
check "If-None-Match with the ETag: 304 ($CODE)" test "$CODE" = 304
check "... with no body" test ! -s "$T/body"
check "... naming the ETag again" test "$(hdr ETag)" = "$etag"
get GET /devices/7 -H "If-None-Match: W/$etag"
check "a weak W/ form of it on a console route: 304 ($CODE)" test "$CODE" = 304
get GET / -H "If-None-Match: \"00000000000000000000000000000000\", $etag"
check "the ETag in a list: 304 ($CODE)" test "$CODE" = 304
get GET / -H 'If-None-Match: *'
check "If-None-Match: *: 304 ($CODE)" test "$CODE" = 304
get GET / -H 'If-None-Match: "00000000000000000000000000000000"'
check "another ETag: 200 and the page ($CODE)" test "$CODE" = 200 -a -s "$T/body"
get GET /app.js -H "If-None-Match: $etag"
check "index.html's ETag on /app.js: 200 ($CODE)" test "$CODE" = 200

get HEAD /
check "HEAD /: 200 ($CODE)" test "$CODE" = 200
check "... Content-Length of the page ($(hdr Content-Length))" \
	test "$(hdr Content-Length)" = "$size"
check "... the same ETag" test "$(hdr ETag)" = "$etag"
# curl reads no body after HEAD whatever comes: look at the raw answer.
printf 'HEAD /devices/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	timeout 20 openssl s_client -quiet -connect "127.0.0.1:$HUB_PORT" \
	>"$T/raw" 2>/dev/null
check "... nothing after the headers (raw HEAD over TLS)" \
	test "$(sed -n '/^\r$/,$p' "$T/raw" | wc -c)" = 2 -a \
	"$(head -c 15 "$T/raw")" = "HTTP/1.1 200 OK"
for m in POST PUT DELETE PATCH; do
	get "$m" /
	check "$m /: 405 ($CODE)" test "$CODE" = 405
	check "... Allow: GET, HEAD" test "$(hdr Allow)" = "GET, HEAD"
done
get POST /app.js -H 'Content-Type: application/json' --data-binary '{}'
check "POST /app.js with a body: 405 ($CODE)" test "$CODE" = 405

# --- /api/ is the API's ---
get GET /api/v1/health
check "GET /api/v1/health: still the API (200 JSON)" \
	test "$CODE" = 200 -a "$(jq -r .status "$T/body" 2>/dev/null)" != ""
check "... Cache-Control: no-store, no ETag" \
	test "$(hdr Cache-Control)" = no-store -a -z "$(hdr ETag)"
for p in /api/v1/nope /api/v1/devices/12 /api/app.js /api; do
	get GET "$p"
	check "GET $p: not the console (JSON, not index.html; $CODE)" \
		jqtrue "$T/body" '.error | type == "string"'
done

# --- hostile paths ---
refused "dot segments" /../etc/passwd
refused "dot segments deeper" /pages/../../../../etc/passwd
refused "dot segments to a real file" /pages/../app.js
refused "encoded dot segments" /%2e%2e/%2e%2e/etc/passwd
refused "encoded dot segments and slash" /..%2f..%2fetc%2fpasswd
refused "a single dot segment" /./app.js
refused "an encoded NUL" /app.js%00.html
refused "an encoded NUL in a route" /devices/1%00
refused "a backslash" '/..%5c..%5cetc%5cpasswd'
refused "a hidden name" /.git/config
refused "an empty segment before a file" //app.js
refused "a control character" /app%0a.js

hub_stop_checked "hub stops cleanly (built-in files)"

# --- console_dir ---
SITE=$T/site
mkdir -p "$SITE/sub" "$T/outside"
printf '<!doctype html><title>dev</title>\n' >"$SITE/index.html"
printf 'export const v = 1;\n' >"$SITE/app.js"
printf 'body { color: black; }\n' >"$SITE/sub/x.css"
printf 'secret\n' >"$T/outside/secret.js"
printf 'hidden\n' >"$SITE/.env.js"
ln -s app.js "$SITE/inside.js"
ln -s ../outside/secret.js "$SITE/up.js"
ln -s "$T/outside/secret.js" "$SITE/abs.js"
ln -s /etc/passwd "$SITE/passwd.js"
ln -s "$T/outside" "$SITE/out"
mkfifo "$SITE/fifo.js"
mkdir "$SITE/dir.js"
truncate -s 17M "$SITE/huge.js"
printf 'console_dir = %s\n' "$SITE" >"$T/hub.conf"

hub_start -c "$T/hub.conf" || hub_abort
ok "daemon started with console_dir = $SITE"
check "the log says where the console comes from" has "$HUB_LOG" "$SITE (console_dir)"
get GET /devices/3
check "GET /devices/3: index.html of console_dir ($CODE)" \
	test "$CODE" = 200 -a "$(cat "$T/body")" = '<!doctype html><title>dev</title>'
check "... with the CSP" test -n "$(hdr Content-Security-Policy)"
check "... its ETag" test "$(hdr ETag)" = "$(etag_of "$SITE/index.html")"
get GET /sub/x.css
check "GET /sub/x.css: text/css from the folder ($CODE)" \
	test "$CODE" = 200 -a "$(cat "$T/body")" = 'body { color: black; }'
get GET /app.js
old=$(hdr ETag)
check "GET /app.js: the file ($CODE)" same_as "$SITE/app.js"
printf 'export const v = 2;\n' >"$SITE/app.js"
get GET /app.js -H "If-None-Match: $old"
check "after an edit: read again, 200 and the new bytes ($CODE)" \
	test "$CODE" = 200 -a "$(cat "$T/body")" = 'export const v = 2;'
check "... a new ETag" test "$(hdr ETag)" != "$old" -a \
	"$(hdr ETag)" = "$(etag_of "$SITE/app.js")"
get GET /app.js -H "If-None-Match: $(etag_of "$SITE/app.js")"
check "... and 304 for it" test "$CODE" = 304
get GET /inside.js
check "a symbolic link within the folder is followed ($CODE)" \
	test "$CODE" = 200 -a "$(cat "$T/body")" = 'export const v = 2;'
refused "a relative symbolic link out of the folder" /up.js
check "... the file outside is not served" lacks "$T/body" secret
refused "an absolute symbolic link out of the folder" /abs.js
refused "a symbolic link to /etc/passwd" /passwd.js
refused "a file under a linked folder outside" /out/secret.js
refused "dot segments" /../outside/secret.js
refused "encoded dot segments" /%2e%2e/outside/secret.js
refused "a hidden file" /.env.js
get GET /fifo.js --max-time 10
check "a FIFO: 404 at once, no wait for a writer ($CODE)" test "$CODE" = 404
refused "a folder" /dir.js
refused "a file over 16 MiB" /huge.js
rm "$SITE/index.html"
get GET /
check "no index.html in the folder: 404 ($CODE)" test "$CODE" = 404
get GET /api/v1/health
check "the API still answers" test "$CODE" = 200
check "the hub is still running" hub_alive
hub_stop_checked "hub stops cleanly (console_dir)"

printf 'console_dir = relative/site\n' >"$T/rel.conf"
run 1 "a relative console_dir: the hub refuses to start" \
	timeout 20 "$VIGIL_HUB" -c "$T/rel.conf" --data-dir "$HUB_DIR" \
	--listen "127.0.0.1:$HUB_PORT" --foreground
check "... and says why" has "$T/err" "console_dir: expected an absolute path"

hub_finish
