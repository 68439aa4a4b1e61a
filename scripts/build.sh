#!/usr/bin/env bash
# Builds vigil into build/ (Release with debug info). Installs the build
# dependencies first when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh build
# The test suite is the test command's (scripts/test.sh): its libraries
# (cmocka, libyaml) are not build dependencies.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_TESTS=OFF >/dev/null
ninja -C build
