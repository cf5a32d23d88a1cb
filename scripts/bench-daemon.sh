#!/usr/bin/env bash
# Footprint and /metrics-cost benchmarks of soakd (benchmarks, never tests): RSS growth of a
# 60 s run at 5,000/s, RSS over 100 daemon runs, and the cost of scraping 50 scenarios x 20
# requests under load. soakd pinned to core 0, the calibration target to core 1; see
# scripts/bench_daemon.py for the knobs.
#
#   scripts/bench-daemon.sh                         # all sections, ~5 minutes
#   SECTIONS=scrape WINDOWS=10 scripts/bench-daemon.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
cargo build --release --locked --bin soakd
exec python3 "$ROOT/scripts/bench_daemon.py" "$ROOT/target/release/soakd"
