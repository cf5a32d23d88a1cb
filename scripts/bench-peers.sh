#!/usr/bin/env bash
# Whole-process benchmark of soakd beside wrk and oha (a benchmark, never a test).
#
# Builds soakd in release mode, copies the harness (benches/peers: nginx 'return 200' pinned to
# core 1, generators pinned to core 0, counts taken on the target side) into a temp dir, and
# runs it with soakd as two more generators: ad hoc (`soakd once --url`) and as a daemon
# scenario (`soakd run`, started through the API; scripts/bench-soakd-daemon.sh). Prints the
# harness's table; quote ratios (requests per CPU-second vs wrk and oha), not absolute figures:
# the machines are shared.
#
#   scripts/bench-peers.sh                      # closed loop, 50 connections, 3 × 10 s
#   SECTIONS=closed,rate,mem,lat scripts/bench-peers.sh
#   MODES=once scripts/bench-peers.sh           # soakd ad hoc only
#
# Peers: apt-get install -y wrk nginx-light time curl jq; cargo install oha --locked (PATH ~/.cargo/bin).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HARNESS="$ROOT/benches/peers"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
# Peers, installed once when missing (root on Debian: apt-get; oha from crates.io).
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v nginx >/dev/null || need_apt+=(nginx-light)
[ -x /usr/bin/time ] || need_apt+=(time)
command -v curl >/dev/null || need_apt+=(curl)
command -v jq >/dev/null || need_apt+=(jq)
if [ "${#need_apt[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_apt[@]}"
fi
python3 -c 'import aiohttp' 2>/dev/null || python3 -m pip install --quiet aiohttp
export TOOLS="${TOOLS:-wrk,oha}"
if [[ ",$TOOLS," == *",oha,"* ]]; then command -v oha >/dev/null || cargo install oha --locked; fi
cargo build --release --locked --bin soakd
BIN="$ROOT/target/release/soakd"
WORK="$(mktemp -d /tmp/soakd-bench.XXXXXX)"
cp -r "$HARNESS"/. "$WORK"/
chmod -R u+w "$WORK"
export SECTIONS="${SECTIONS:-closed}"
export SOAKD_LOG=warn
MODES="${MODES:-once daemon}"
if [[ " $MODES " == *" once "* ]]; then
  export EXTRA_NAME=soakd
  export EXTRA_CLOSED="$BIN once --quiet --url {url} --vus {c} --duration {d}s"
  export EXTRA_RATE="$BIN once --quiet --url {url} --rate {rate} --duration {d}s --max-vus 2000"
  export EXTRA_LAT="$ROOT/scripts/bench-soakd-lat.sh $BIN {url} {rate} {d}"
fi
if [[ " $MODES " == *" daemon "* ]]; then
  DAEMON="$ROOT/scripts/bench-soakd-daemon.sh $BIN {url}"
  export EXTRA2_NAME=soakd-daemon
  export EXTRA2_CLOSED="$DAEMON {c} {d} 0"
  export EXTRA2_RATE="$DAEMON 50 {d} {rate}"
  export EXTRA2_LAT="$DAEMON 50 {d} {rate}"
fi
"$WORK/peers.sh"
echo "results: $WORK/results/latest"
