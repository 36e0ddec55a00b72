#!/usr/bin/env bash
# Installs the Debian packages the engine needs to build and test (idempotent: packages that
# are already installed are skipped, and nothing is downloaded when all are present).
set -euo pipefail
packages=(build-essential cmake pkg-config clang libclang-rt-14-dev libeigen3-dev libopenblas-dev liblapacke-dev
          doctest-dev libcli11-dev nlohmann-json3-dev libzip-dev libpng-dev
          gnuplot-nox   # the curves of rfm report and rfm sweep
          libopenmpi-dev openmpi-bin  # mpirun -n N rfm sweep (optional: RFM_MPI=AUTO)
          python3-dev python3-venv)  # the Python package (scripts/test_python.sh)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
