#!/usr/bin/env bash
# Whole-process benchmark of soakd beside wrk and oha (a benchmark, never a test).
#
# Builds soakd in release mode, copies the shared harness (../shared/bench: nginx 'return 200'
# pinned to core 1, generators pinned to core 0, counts taken on the target side) into a temp
# dir, and runs it with soakd as one more generator. Prints the harness's table; quote ratios
# (requests per CPU-second vs wrk and oha), not absolute figures: the machines are shared.
#
#   scripts/bench-peers.sh                      # closed loop, 50 connections, 3 × 10 s
#   SECTIONS=closed,rate,mem,lat scripts/bench-peers.sh
#   MODES=once scripts/bench-peers.sh           # skip the daemon pass
#
# Peers: apt-get install -y wrk nginx-light time; cargo install oha --locked (PATH ~/.cargo/bin).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SOAKD_BENCH_HARNESS:-$ROOT/../shared/bench}"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
# Peers, installed once when missing (root on Debian: apt-get; oha from crates.io).
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v nginx >/dev/null || need_apt+=(nginx-light)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ "${#need_apt[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_apt[@]}"
fi
python3 -c 'import aiohttp' 2>/dev/null || python3 -m pip install --quiet aiohttp
command -v oha >/dev/null || cargo install oha --locked
cargo build --release --locked --bin soakd
BIN="$ROOT/target/release/soakd"
WORK="$(mktemp -d /tmp/soakd-bench.XXXXXX)"
cp -r "$SHARED"/. "$WORK"/
chmod -R u+w "$WORK"
export TOOLS="${TOOLS:-wrk,oha}"
export SECTIONS="${SECTIONS:-closed}"
export SOAKD_LOG=warn
# Two passes, each a full harness run with wrk and oha beside soakd, so that every ratio is
# taken within one pass: soakd ad hoc (`soakd once --url`), then soakd as a daemon scenario
# (`soakd run`, the scenario started through the API; scripts/bench_soakd_daemon.py).
for mode in ${MODES:-once daemon}; do
  if [ "$mode" = once ]; then
    export EXTRA_NAME=soakd
    export EXTRA_CLOSED="$BIN once --quiet --url {url} --vus {c} --duration {d}s"
    export EXTRA_RATE="$BIN once --quiet --url {url} --rate {rate} --duration {d}s --max-vus 2000"
    export EXTRA_MEM="$BIN once --quiet --url {url} --vus {c} --duration {d}s"
    export EXTRA_LAT="$ROOT/scripts/bench-soakd-lat.sh $BIN {url} {rate} {d}"
  else
    DAEMON="python3 $ROOT/scripts/bench_soakd_daemon.py $BIN {url}"
    export EXTRA_NAME=soakd-daemon
    export EXTRA_CLOSED="$DAEMON {c} {d} 0"
    export EXTRA_RATE="$DAEMON 50 {d} {rate}"
    export EXTRA_MEM="$DAEMON {c} {d} 0"
    export EXTRA_LAT="$DAEMON 50 {d} {rate}"
  fi
  OUT="results/$mode" "$WORK/peers.sh"
  echo "results ($mode): $WORK/results/$mode"
done
