#!/usr/bin/env bash
# Latency section helper of bench-peers.sh: runs soakd once and prints p50_ms= / p99_ms= lines
# (the harness's format) from the exported summary.
set -euo pipefail
BIN="$1"; URL="$2"; RATE="$3"; DUR="$4"
OUT="$(mktemp /tmp/soakd-lat.XXXXXX.json)"
"$BIN" once --quiet --url "$URL" --rate "$RATE" --duration "${DUR}s" --summary-export "$OUT" >/dev/null
python3 - "$OUT" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["metrics"]["response_times_ms"]
print(f"p50_ms={m['p50']}")
print(f"p99_ms={m['p99']}")
PY
rm -f "$OUT"
