#!/usr/bin/env bash
# sync-chart-schema.sh — why this exists: helm/soakd/values.schema.json validates the chart's
# `config` section with the daemon's own config schema (`soakd schema`), so a typo in an inline
# config fails `helm lint`/`helm install` instead of a crash-looping pod. This copies the current
# `soakd schema` into the chart (properties.config, definitions in the root `$defs`);
# tests/chart.rs fails, naming this script, when the two drift apart.
#
#   scripts/sync-chart-schema.sh [path/to/soakd]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-}"
if [ -z "$bin" ]; then
  cargo build -q --bin soakd
  bin="${CARGO_TARGET_DIR:-target}/debug/soakd"
fi
"$bin" schema > "${TMPDIR:-/tmp}/soakd-config-schema.$$.json"
python3 - "${TMPDIR:-/tmp}/soakd-config-schema.$$.json" helm/soakd/values.schema.json <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
path = sys.argv[2]
values = json.load(open(path))
defs = config.pop("$defs", {})
config.pop("$schema", None)
config["description"] = "soakd.yaml (DESIGN §3), validated with `soakd schema`."
values["properties"]["config"] = config
values["$defs"] = defs
with open(path, "w") as f:
    json.dump(values, f, indent=2, ensure_ascii=False)
    f.write("\n")
PY
rm -f "${TMPDIR:-/tmp}/soakd-config-schema.$$.json"
echo "updated helm/soakd/values.schema.json"
