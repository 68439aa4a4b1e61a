#!/usr/bin/env bash
# The README's "test" command: the whole suite, three ways.
#  1. normal build (hardened, -O2): unit and black-box tests, the console
#     in Chromium among them
#  2. AddressSanitizer + UndefinedBehaviorSanitizer build: the same tests
#     but the console's browser tests
#  3. libFuzzer build (clang): each fuzz target for VIGIL_FUZZ_SECONDS
# Ends with one line "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh test || exit 1

jobs=$(nproc)
passed=0
failed=0
status=0

suite() { # suite NAME DIR CTEST-ARGS -- CMAKE-ARGS
	local name=$1 dir=$2 ctest_args=() line p t
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do ctest_args+=("$1"); shift; done
	shift
	echo "=== $name: configure and build in $dir"
	if ! cmake -S . -B "$dir" -G Ninja "$@" >"$dir.cmake.log" 2>&1; then
		cat "$dir.cmake.log"
		echo "$name: configure failed"
		failed=$((failed + 1)); status=1; return
	fi
	if ! ninja -C "$dir"; then
		echo "$name: build failed"; failed=$((failed + 1)); status=1; return
	fi
	echo "=== $name: tests"
	(cd "$dir" && ctest --output-on-failure -j "$jobs" "${ctest_args[@]}") | tee "$dir/ctest.log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$dir/ctest.log" | tail -1)
	t=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
	p=$(sed -E 's/.*tests passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
	if [ -z "$line" ]; then
		echo "$name: no test summary"; failed=$((failed + 1)); status=1; return
	fi
	passed=$((passed + t - p))
	failed=$((failed + p))
}

# The console's browser tests (blackbox/test_console_e2e) drive Chromium
# with playwright-core from tests/e2e/node_modules, installed here from the
# lock file; they run in the normal build only.
echo "=== console tests: npm ci in tests/e2e"
(cd tests/e2e && npm ci --prefer-offline --no-audit --no-fund) ||
	echo "npm ci failed in tests/e2e: blackbox/test_console_e2e will fail"

mkdir -p build-test
suite "normal build" build-test/normal -- -DCMAKE_BUILD_TYPE=RelWithDebInfo
suite "ASan+UBSan build" build-test/asan -E '^blackbox/test_console_e2e$' -- \
	-DVIGIL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
suite "fuzz build" build-test/fuzz -R '^fuzz/' -- -DVIGIL_FUZZ=ON \
	-DCMAKE_C_COMPILER=clang -DVIGIL_FUZZ_SECONDS="${VIGIL_FUZZ_SECONDS:-20}"

echo
echo "tests: $passed passed, $failed failed"
exit $status
