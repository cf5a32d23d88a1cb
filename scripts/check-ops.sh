#!/usr/bin/env bash
# check-ops.sh — why this exists: one command (for CI and humans) that installs the external
# tools if needed and runs every operations check: promtool on the rules and their unit tests,
# amtool on the Alertmanager example, helm lint/template of the chart (default and sharded),
# kubernetes-validate of the rendered core manifests, and the Rust test suite tests/ops.rs
# (dashboards, metric names, chart copies identical to the plain files).
#   scripts/check-ops.sh            # tools + CLI checks + cargo test --test ops
#   scripts/check-ops.sh --no-cargo # CLI checks only
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/bin:$HOME/.local/bin"

bash scripts/install-test-tools.sh

step() { printf '\n==> %s\n' "$*"; }
step "promtool check rules";  promtool check rules config/prometheus/soakd-rules.yaml
step "promtool test rules";   (cd config/prometheus && promtool test rules soakd-rules.test.yaml)
step "amtool check-config";   amtool check-config config/alertmanager/alertmanager.yml
step "chart copies identical"
cmp config/prometheus/soakd-rules.yaml helm/soakd/files/soakd-rules.yaml
for f in grafana/*.json; do cmp "$f" "helm/soakd/files/dashboards/$(basename "$f")"; done
step "helm lint --strict";    helm lint --strict helm/soakd
SHARDED=(--set replicas=3 --set serviceMonitor.enabled=true --set prometheusRule.enabled=true)
helm lint --strict helm/soakd "${SHARDED[@]}"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
step "helm template (default, sharded)"
helm template soakd helm/soakd > "$tmp/default.yaml"
helm template soakd helm/soakd "${SHARDED[@]}" > "$tmp/sharded.yaml"
grep -q 'kind: StatefulSet' "$tmp/sharded.yaml"
grep -q 'alert: SoakdIncident' "$tmp/sharded.yaml"
grep -q 'kind: ServiceMonitor' "$tmp/sharded.yaml"
grep -q 'grafana_dashboard: "1"' "$tmp/sharded.yaml"
if command -v kubernetes-validate >/dev/null 2>&1; then
  step "kubernetes-validate --strict (1.30, core kinds; CRDs are reported as unknown)"
  kubernetes-validate --strict --quiet -k 1.30.0 "$tmp/default.yaml" "$tmp/sharded.yaml"
else
  echo "kubernetes-validate not installed: skipped here (tests/ops.rs requires it)" >&2
fi
if [ "${1:-}" != "--no-cargo" ]; then
  step "cargo test --test ops"; cargo test --test ops
fi
echo; echo "ops checks: all passed"
