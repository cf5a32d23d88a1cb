#!/usr/bin/env bash
# Every benchmark of issue 7 in one command (benchmarks, never tests; ~25 minutes): soakd beside
# wrk and oha (closed loop, RSS at 1,000 and 10,000 connections, latency truth, open loop at
# 5,000 and 20,000/s for 30 s), the footprint and /metrics cost of the daemon, and the criterion
# micro-benchmarks. Installs wrk, nginx and oha when missing. Prints each tool's tables; the
# figures of docs/performance.md come from this.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
REPS="${REPS:-3}" DUR=10 SECTIONS=closed,mem,lat scripts/bench-peers.sh
for rate in 5000 20000; do
  RATE="$rate" DUR=30 SECTIONS=rate scripts/bench-peers.sh
done
MODES=once MEM_CONNS=10000 DUR=10 SECTIONS=mem scripts/bench-peers.sh
scripts/bench-daemon.sh
cargo bench --locked -- --warm-up-time 1 --measurement-time 3
