#!/usr/bin/env bash
# peers.sh - side-by-side performance anchors for HTTP load generators.
# (soakd's copy of ../shared/bench; run it through scripts/bench-peers.sh.)
#
# Starts two loopback targets pinned to CPU 1 (nginx 'return 200 ok' on
# 127.0.0.1:18080, a 10 ms-delay aiohttp target on 127.0.0.1:18081), runs each
# installed generator (wrk, hey, oha, locust; plus EXTRA_* = our daemon) pinned
# to CPU 0, and prints a compact table.  Every run is time-bounded; the whole
# script is bounded by MAX_TOTAL seconds (default 470).  Only loopback is used.
#
# Sections (SECTIONS=closed,rate,mem,lat):
#   closed  closed loop, 50 conns, DUR s, REPS repetitions (interleaved)
#   rate    open loop at RATE req/s (oha -q, hey -q per worker, locust constant_throughput)
#   mem     peak RSS at MEM_CONNS connections
#   lat     p50/p99 reported against the 10 ms target at LAT_RATE req/s
# See peers.py for all knobs.  Example for our own daemon later:
#   EXTRA_NAME=ours EXTRA_CLOSED='ours-cli run --url {url} -c {c} -d {d}s' ./peers.sh
#
# Install peers (once):  apt-get install -y wrk hey nginx-light time
#                        python3 -m pip install locust aiohttp ; cargo install oha --locked
set -euo pipefail
# Own session => own scheduler autogroup (CONFIG_SCHED_AUTOGROUP), so that the
# priority below applies against unrelated work on a shared machine.
if [ -z "${PEERS_SETSID:-}" ] && [ "$(ps -o sid= -p $$ | tr -d ' ')" != "$$" ]; then
  PEERS_SETSID=1 exec setsid --wait "$0" "$@"
fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
export PATH="$HOME/.cargo/bin:$PATH"
MAX_TOTAL="${MAX_TOTAL:-470}"
TARGET_CPU="${TARGET_CPU:-1}"
export GEN_CPU="${GEN_CPU:-0}"
export OUT="${OUT:-results/latest}"
# Shield the measurement from unrelated work on a shared machine: targets,
# driver and generators run at nice -20 when we are root (NICE=0 to disable).
if [ "$(id -u)" = 0 ]; then NICE="${NICE:--20}"; else NICE="${NICE:-0}"; fi
if [ -w /proc/self/autogroup ]; then echo "$NICE" > "/proc/$$/autogroup" 2>/dev/null || true; fi
ulimit -n 20000 2>/dev/null || true
mkdir -p run nginx/logs nginx/tmp

started=()
stop_pid() {  # stop one PID that we started (TERM, bounded wait, then KILL)
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  for pid in "${started[@]:-}"; do [ -n "$pid" ] && stop_pid "$pid"; done
  rm -f run/nginx.pid run/delay.pid
}
trap cleanup EXIT INT TERM

# Idempotence: stop targets left by an earlier interrupted run of this script,
# but only if the PID still belongs to the process we launched.
for f in run/nginx.pid run/delay.pid; do
  [ -f "$f" ] || continue
  pid="$(cat "$f")"
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" \
       | grep -qE "nginx/nginx.conf|delay_target.py"; then
    echo "[peers] stopping stale target pid $pid" >&2
    stop_pid "$pid"
  fi
  rm -f "$f"
done
for port in 18080 18081; do
  # a listener left by an earlier run of this script (matched by its command line)
  for pid in $(ss -ltnpH "sport = :$port" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
    if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qE "$HERE/(nginx/nginx.conf|delay_target.py)"; then
      echo "[peers] stopping stale target pid $pid on port $port" >&2
      stop_pid "$pid"
    fi
  done
  if ss -ltnH "sport = :$port" | grep -q .; then
    echo "[peers] port $port busy (not ours?) - aborting" >&2; ss -ltnp "sport = :$port" >&2; exit 1
  fi
done

# Targets, pinned to TARGET_CPU.
nice -n "$NICE" taskset -c "$TARGET_CPU" nginx -c "$HERE/nginx/nginx.conf" -p "$HERE/nginx/" \
  > run/nginx.log 2>&1 &
echo $! > run/nginx.pid; started+=("$!")
nice -n "$NICE" taskset -c "$TARGET_CPU" python3 "$HERE/delay_target.py" --port 18081 --delay-ms 10 \
  > run/delay.log 2>&1 &
echo $! > run/delay.pid; started+=("$!")
for _ in $(seq 1 50); do
  if curl -fs -o /dev/null http://127.0.0.1:18080/__status \
     && curl -fs -o /dev/null http://127.0.0.1:18081/__stats; then ready=1; break; fi
  sleep 0.2
done
[ "${ready:-0}" = 1 ] || { echo "[peers] targets did not come up" >&2; cat run/*.log >&2; exit 1; }

rm -rf "$OUT"; mkdir -p "$OUT"
{
  echo "date: $(date -Is)"
  echo "host: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  nice: $NICE  $(cat /proc/$$/autogroup 2>/dev/null)"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //')"
  command -v wrk >/dev/null && echo "wrk: $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || wrk -v 2>&1 | head -1)"
  command -v hey >/dev/null && echo "hey: $(dpkg-query -W -f='${Version}' hey 2>/dev/null || echo '?')"
  command -v oha >/dev/null && echo "oha: $(oha --version 2>&1 | head -1)"
  command -v locust >/dev/null && echo "locust: $(locust --version 2>&1 | head -1 | cut -d' ' -f2)"
  echo "python: $(python3 -c 'import sys,aiohttp;print(sys.version.split()[0], "aiohttp", aiohttp.__version__)')"
} > "$OUT/versions.txt"
cat "$OUT/versions.txt"
busy="$(ps -eo pcpu=,pid=,comm= --sort=-pcpu | awk '$1>20' | head -5)"
[ -z "$busy" ] || { echo "[peers] WARNING: other busy processes (results will be noisy):"; echo "$busy"; }

# The driver itself is pinned next to the generators; it mostly sleeps.
set +e
timeout -k 5 "$MAX_TOTAL" nice -n "$NICE" taskset -c "$GEN_CPU" python3 "$HERE/peers.py"
rc=$?
set -e
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/versions.txt"
[ "$rc" = 0 ] || echo "[peers] driver exited rc=$rc" >&2
stamp="$(date +%Y%m%d-%H%M%S)"
cp -r "$OUT" "results/run-$stamp" 2>/dev/null || true
exit "$rc"
