#!/usr/bin/env bash
# Builds the Python package rfm into a virtual environment (build-venv/) and runs its tests:
# the scikit-learn estimator checks, bit-identity with the command line, zero-copy peaks, errors
# and every example of docs/python.md. The venv is reused between runs; pip rebuilds the C++
# targets incrementally in build-py/.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=build-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q scikit-build-core nanobind numpy scikit-learn pytest pandas matplotlib
echo "test_python: building the package (pip install .)"
"$venv/bin/pip" install -q --no-build-isolation .
"$venv/bin/python" -m pytest python/tests -p no:cacheprovider -q
