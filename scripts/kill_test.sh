#!/usr/bin/env bash
# Kills `rfm grok` with SIGKILL at random moments (TRIALS, default 20), checks that every file of
# the run directory is whole (JSON parses, CSV rows complete, .npy loads), then resumes and
# checks that the final metrics equal those of an uninterrupted run (issue 9). The resume uses
# the same thread count: another count changes the summation order, so the last digits differ.
set -euo pipefail
cd "$(dirname "$0")/.."
rfm=build/rfm
trials=${TRIALS:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(grok --task add --p 31 --iters 20 --threads 1 --quiet --device cpu)
"$rfm" "${args[@]}" --out "$work/ref" > /dev/null
metrics() { cut -d, -f1-9 "$1/metrics.csv"; }  # every column but seconds and later ones
check_whole() {
  local dir=$1
  for f in "$dir"/*.json "$dir"/checkpoint/*.json; do
    [ -e "$f" ] || continue
    python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$f"
  done
  if [ -e "$dir/metrics.csv" ]; then
    awk -F, 'NR==1{n=NF} NF!=n{exit 1}' "$dir/metrics.csv"
  fi
  for f in "$dir"/*.npy; do
    [ -e "$f" ] || continue
    python3 -c "import sys; b=open(sys.argv[1],'rb').read(); assert b[:6]==b'\x93NUMPY'" "$f"
  done
}
for t in $(seq 1 "$trials"); do
  out="$work/run$t"
  "$rfm" "${args[@]}" --out "$out" > /dev/null 2>&1 &
  pid=$!
  sleep "$(awk -v s="$RANDOM" 'BEGIN{srand(s); printf "%.2f", 0.1 + rand() * 1.2}')"
  kill -9 "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  check_whole "$out" || { echo "trial $t: a torn file in $out"; exit 1; }
  if [ -e "$out/summary.json" ] && grep -q '"completed"' "$out/summary.json"; then
    state="finished before the kill"
  elif [ -e "$out/checkpoint/state.json" ]; then
    "$rfm" grok --resume "$out" --threads 1 --quiet > /dev/null
    state="resumed"
  else
    rm -rf "$out"
    "$rfm" "${args[@]}" --out "$out" > /dev/null
    state="killed before the first checkpoint; rerun"
  fi
  diff <(metrics "$work/ref") <(metrics "$out") > /dev/null ||
    { echo "trial $t ($state): final metrics differ from the uninterrupted run"; exit 1; }
  echo "trial $t: $state, files whole, same final metrics"
done
echo "$trials passed, 0 failed"
