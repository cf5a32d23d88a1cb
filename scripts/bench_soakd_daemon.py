#!/usr/bin/env python3
"""soakd as a daemon scenario, for the peers harness (a benchmark, never a test).

    bench_soakd_daemon.py BIN URL CONNS SECONDS RATE

Writes a config with one manual scenario (closed loop of CONNS VUs when RATE is 0, otherwise
RATE/s open loop), starts `soakd run` on a free loopback port, starts the scenario through the
API, waits for its summary, prints `p50_ms=` / `p99_ms=` (the harness's latency format) and
stops the daemon by PID. The harness times this wrapper with its child: the daemon's CPU and
RSS are what it measures (the wrapper polls twice a second and sleeps otherwise).
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

BIN, URL, CONNS, SECONDS, RATE = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), \
    int(sys.argv[5])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, token=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    c.request(method, path, headers=headers)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def main():
    if RATE:
        load = {"executor": "constant-arrival-rate", "rate": RATE, "time_unit": "1s",
                "duration": f"{SECONDS}s", "pre_allocated_vus": 50, "max_vus": 2000}
    else:
        load = {"executor": "constant-vus", "vus": CONNS, "duration": f"{SECONDS}s"}
    with tempfile.TemporaryDirectory(prefix="soakd-daemon-bench-") as tmp:
        port = free_port()
        token = "bench-" + os.urandom(8).hex()
        with open(f"{tmp}/token", "w") as f:
            f.write(token)
        cfg = {
            "server": {"listen": f"127.0.0.1:{port}", "admin_token_file": f"{tmp}/token"},
            "state_dir": f"{tmp}/state",
            "results": {"dir": f"{tmp}/results"},
            "safety": {"allowed_hosts": ["127.0.0.1", "localhost"]},
            "scenarios": {"bench": {
                "schedule": "manual",
                "target": {"base_url": URL},
                "load": load,
                "mix": [{"name": "get", "request": {"url": URL}}],
            }},
        }
        with open(f"{tmp}/soakd.yaml", "w") as f:
            json.dump(cfg, f)  # JSON is YAML
        daemon = subprocess.Popen([BIN, "run", "--config", f"{tmp}/soakd.yaml"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 15
            while True:
                try:
                    if call(port, "GET", "/readyz")[0] == 200:
                        break
                except OSError:
                    pass
                if time.time() > deadline:
                    raise SystemExit("soakd run did not become ready")
                time.sleep(0.05)
            status, body = call(port, "POST", "/api/v1/scenarios/bench/runs", token)
            if status != 202:
                raise SystemExit(f"start run: {status} {body[:200]!r}")
            run_id = json.loads(body)["run_id"]
            deadline = time.time() + SECONDS + 60
            time.sleep(SECONDS)
            while time.time() < deadline:
                status, body = call(port, "GET", f"/api/v1/runs/{run_id}")
                summary = json.loads(body) if status == 200 else {}
                if summary.get("result", "running") != "running":
                    m = summary["metrics"]["response_times_ms"]
                    print(f"p50_ms={m['p50']}")
                    print(f"p99_ms={m['p99']}")
                    return
                time.sleep(0.5)
            raise SystemExit("run did not finish in time")
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)


if __name__ == "__main__":
    main()
