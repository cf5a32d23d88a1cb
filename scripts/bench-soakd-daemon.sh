#!/usr/bin/env bash
# soakd as a daemon scenario, for the peers harness (a benchmark, never a test).
#
#   bench-soakd-daemon.sh BIN URL CONNS SECONDS RATE
#
# Writes a config with one manual scenario (closed loop of CONNS VUs when RATE is 0, otherwise
# RATE/s open loop), starts `soakd run` on a free loopback port, starts the scenario through the
# API, waits for its summary, prints `p50_ms=` / `p99_ms=` (the harness's latency format) and
# stops the daemon by PID. The harness times this wrapper with its child, so the wrapper is
# bash, curl and jq (a few ms of CPU in all; a Python wrapper's start-up alone was ~0.2 CPU-s,
# ~2 % of a 10 s run): the daemon's CPU and RSS are what it measures.
set -euo pipefail
BIN="$1" URL="$2" CONNS="$3" SECONDS_="$4" RATE="$5"
TMP="$(mktemp -d /tmp/soakd-daemon-bench.XXXXXX)"
DAEMON=""
cleanup() {
  if [ -n "$DAEMON" ]; then kill "$DAEMON" 2>/dev/null || true; wait "$DAEMON" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
# A free loopback port: bind port 0 through the daemon would need its log; ask the kernel via
# bash's /dev/tcp probe over a range instead (a port nothing answers on is free enough here).
PORT=""
for p in $(shuf -i 20000-60000 -n 50); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then PORT="$p"; break; fi
done
[ -n "$PORT" ] || { echo "no free port" >&2; exit 1; }
TOKEN="bench-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s' "$TOKEN" > "$TMP/token"
if [ "$RATE" -gt 0 ]; then
  LOAD="{\"executor\": \"constant-arrival-rate\", \"rate\": $RATE, \"time_unit\": \"1s\", \"duration\": \"${SECONDS_}s\", \"pre_allocated_vus\": 50, \"max_vus\": 2000}"
else
  LOAD="{\"executor\": \"constant-vus\", \"vus\": $CONNS, \"duration\": \"${SECONDS_}s\"}"
fi
cat > "$TMP/soakd.yaml" <<YAML
{
  "server": {"listen": "127.0.0.1:$PORT", "admin_token_file": "$TMP/token"},
  "state_dir": "$TMP/state",
  "results": {"dir": "$TMP/results"},
  "safety": {"allowed_hosts": ["127.0.0.1", "localhost"]},
  "scenarios": {"bench": {
    "schedule": "manual",
    "target": {"base_url": "$URL"},
    "load": $LOAD,
    "mix": [{"name": "get", "request": {"url": "$URL"}}]
  }}
}
YAML
"$BIN" run --config "$TMP/soakd.yaml" >/dev/null 2>&1 &
DAEMON=$!
API="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do
  curl -fs -o /dev/null "$API/readyz" && break
  sleep 0.05
done
curl -fs -o /dev/null "$API/readyz" || { echo "soakd run did not become ready" >&2; exit 1; }
RUN_ID="$(curl -fs -X POST -H "Authorization: Bearer $TOKEN" "$API/api/v1/scenarios/bench/runs" | jq -r .run_id)"
sleep "$SECONDS_"
for _ in $(seq 1 120); do
  SUMMARY="$(curl -fs "$API/api/v1/runs/$RUN_ID" || true)"
  if [ -n "$SUMMARY" ] && [ "$(jq -r '.result // "running"' <<<"$SUMMARY")" != running ]; then
    jq -r '.metrics.response_times_ms | "p50_ms=\(.p50)\np99_ms=\(.p99)"' <<<"$SUMMARY"
    exit 0
  fi
  sleep 0.5
done
echo "run did not finish in time" >&2
exit 1
