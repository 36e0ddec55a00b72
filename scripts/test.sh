#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (the second README command; .ci/run calls it):
# the fuzzers for a bounded time, the suite under ASan and UBSan, 20 SIGKILL-and-resume trials,
# the suite itself, every short command of README.md and docs/*.md as written, then the Python
# package's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/fuzz.sh
scripts/sanitize.sh
TRIALS=20 scripts/kill_test.sh | tail -1
(cd build && ctest --output-on-failure)
scripts/check_docs.py
scripts/test_python.sh
