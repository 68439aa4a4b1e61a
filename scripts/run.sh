#!/usr/bin/env bash
# The README's "run" command. Until the hub and agent exist, it builds
# vigil, takes a baseline of a folder (default /etc), changes nothing, and
# prints the check report; then it shows how to see a change.
#   scripts/run.sh [FOLDER]
set -euo pipefail
cd "$(dirname "$0")/.."
folder=${1:-/etc}
bash scripts/build.sh >/dev/null
mkdir -p run
db=$PWD/run/baseline.db
vigil=$PWD/build/cli/vigil

echo "== vigil scan init $folder  (baseline: $db)"
"$vigil" scan init --db "$db" "$folder" || [ $? -eq 2 ]
echo
echo "== vigil scan check  (full mode: every file hashed again)"
"$vigil" scan check --db "$db" || true
echo
echo "== vigil scan check --fast  (re-hash only where metadata moved)"
"$vigil" scan check --db "$db" --fast || true
cat <<MSG

The baseline is $db.
Change something under $folder, then see it with:
  $vigil scan check --db $db
and accept the current state with:
  $vigil scan update --db $db
MSG
