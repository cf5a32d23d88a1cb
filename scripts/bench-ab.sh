#!/usr/bin/env bash
# bench-ab.sh — why this exists: a regression check needs two soakd builds measured side by
# side in one invocation (the machines are shared and noisy; separate runs do not compare).
# Runs benches/peers (nginx target pinned to CPU 1, generators pinned to CPU 0) with wrk and
# the two builds' `soakd once` as three generators, and prints the harness's table: compare
# the req/CPU-s medians (a benchmark, never a test).
#
#   git worktree add /tmp/soakd-base a52140d
#   (cd /tmp/soakd-base && cargo build --release --locked --bin soakd)
#   cargo build --release --locked --bin soakd
#   scripts/bench-ab.sh target/release/soakd /tmp/soakd-base/target/release/soakd
#   REPS=5 DUR=10 scripts/bench-ab.sh NEW BASE
#   AB_MODE=daemon scripts/bench-ab.sh NEW BASE   # both as `soakd run` scenarios via the API
#
# Peers as in scripts/bench-peers.sh (wrk, nginx-light, time, python3 aiohttp).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NEW="$(realpath "${1:?usage: bench-ab.sh NEW_SOAKD BASE_SOAKD}")"
BASE="$(realpath "${2:?usage: bench-ab.sh NEW_SOAKD BASE_SOAKD}")"
WORK="$(mktemp -d /tmp/soakd-ab.XXXXXX)"
cp -r "$ROOT/benches/peers/." "$WORK"/
chmod -R u+w "$WORK"
export TOOLS="${TOOLS:-wrk}" SECTIONS="${SECTIONS:-closed}" SOAKD_LOG=warn
export REPS="${REPS:-3}" DUR="${DUR:-10}"
if [ "${AB_MODE:-once}" = daemon ]; then
  DAEMON="$ROOT/scripts/bench-soakd-daemon.sh"
  export EXTRA_NAME=new-daemon EXTRA_CLOSED="$DAEMON $NEW {url} {c} {d} 0"
  export EXTRA2_NAME=base-daemon EXTRA2_CLOSED="$DAEMON $BASE {url} {c} {d} 0"
else
  export EXTRA_NAME=new EXTRA_CLOSED="$NEW once --quiet --url {url} --vus {c} --duration {d}s"
  export EXTRA2_NAME=base EXTRA2_CLOSED="$BASE once --quiet --url {url} --vus {c} --duration {d}s"
fi
"$WORK/peers.sh"
echo "results: $WORK/results/latest"
