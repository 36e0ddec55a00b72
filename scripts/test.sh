#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (the second README command; .ci/run calls it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
cd build && ctest --output-on-failure
