#!/usr/bin/env python3
"""Side-by-side load-generator anchors on loopback.  Driven by peers.sh.

soakd's copy of the shared harness (../shared/bench), so that the benchmark runs from a clone
alone; changed here: any number of extra generators (EXTRA_*, EXTRA2_*, ...), so soakd ad hoc
and soakd as a daemon scenario are measured in the same pass as wrk and oha.

All traffic goes to 127.0.0.1 targets started by peers.sh:
  nginx   127.0.0.1:18080  'return 200 ok', 1 worker, stub_status at /__status
  delay   127.0.0.1:18081  aiohttp, fixed 10 ms sleep, server-side stats at /__stats

Each generator run is wrapped as
  /usr/bin/time -f '%e %U %S %M' -o FILE  taskset -c GEN_CPU  <tool ...>
and killed by a hard deadline (duration + GRACE s).  Counts are taken on the
target side (nginx stub_status / delay-target counter), so any generator -
including our own daemon, via the EXTRA_* templates - is measured the same way.

Environment knobs (defaults in brackets):
  DUR [10]  REPS [3]  RATE [5000]  LAT_RATE [200]  MEM_CONNS [1000]
  CLOSED_CONNS [50]  GEN_CPU [0]  WRK_THREADS [1]  TOOLS [wrk,hey,oha,locust]
  SECTIONS [closed,rate,mem,lat]  OUT [results/latest]
  EXTRA_NAME + EXTRA_CLOSED / EXTRA_RATE / EXTRA_MEM / EXTRA_LAT : command
     templates for one more generator (our daemon); EXTRA2_NAME + EXTRA2_* (and
     EXTRA3_*, ...) for more.  Placeholders:
     {url} {c} {d} (seconds, integer) {rate} (total req/s).  For the latency
     section the command should print 'p50_ms=<x>' and 'p99_ms=<x>' (or an
     oha/hey-style '50.00% in <x> secs' distribution).
"""
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DUR = int(os.environ.get("DUR", "10"))
REPS = int(os.environ.get("REPS", "3"))
RATE = int(os.environ.get("RATE", "5000"))
LAT_RATE = int(os.environ.get("LAT_RATE", "200"))
MEM_CONNS = int(os.environ.get("MEM_CONNS", "1000"))
CLOSED_CONNS = int(os.environ.get("CLOSED_CONNS", "50"))
GEN_CPU = os.environ.get("GEN_CPU", "0")
# wrk's threads in the closed loop: 1 pinned to one core by default; the contention run
# (GEN_CPU=0,1 TARGET_CPU=0,1 WRK_THREADS=2) puts generators and target on both cores.
WRK_THREADS = os.environ.get("WRK_THREADS", "1")
TOOLS = [t for t in os.environ.get("TOOLS", "wrk,hey,oha,locust").split(",") if t]
SECTIONS = [s for s in os.environ.get("SECTIONS", "closed,rate,mem,lat").split(",") if s]
OUT = os.path.join(HERE, os.environ.get("OUT", "results/latest"))
GRACE = 15  # seconds past DUR before a run is killed
NGINX_URL = "http://127.0.0.1:18080/"
DELAY_URL = "http://127.0.0.1:18081/"
NGINX_STATUS = "http://127.0.0.1:18080/__status"
DELAY_STATS = "http://127.0.0.1:18081/__stats"
HZ = os.sysconf("SC_CLK_TCK")
QUIET_WAIT = float(os.environ.get("QUIET_WAIT", "3"))   # s to wait for an idle machine
QUIET_PCT = float(os.environ.get("QUIET_PCT", "15"))    # "idle" = below this % of one core
W0, W1 = 2.0, max(3.0, DUR - 1.0)  # steady-state window inside the run

# Extra generators: name -> env prefix (EXTRA_, EXTRA2_, ...).
EXTRAS = {}
for _i in range(1, 10):
    _prefix = "EXTRA_" if _i == 1 else f"EXTRA{_i}_"
    if os.environ.get(_prefix + "NAME"):
        EXTRAS[os.environ[_prefix + "NAME"]] = _prefix
        TOOLS.append(os.environ[_prefix + "NAME"])


def extra_template(tool, section):
    """The command template of extra generator `tool` for CLOSED / RATE / MEM / LAT."""
    prefix = EXTRAS.get(tool)
    return os.environ.get(prefix + section) if prefix else None

os.makedirs(OUT, exist_ok=True)


# ---------------------------------------------------------------- helpers
def http_get(url, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def nginx_requests():
    txt = http_get(NGINX_STATUS)
    # line 3: "<accepts> <handled> <requests>"
    return int(txt.splitlines()[2].split()[2])


def proc_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])  # utime + stime (all threads)
    except (OSError, IndexError, ValueError):
        return None


def cpu_busy_ticks():
    """Busy jiffies summed over all CPUs (from /proc/stat), steal excluded."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return v[0] + v[1] + v[2] + v[5] + v[6]


def steal_ticks():
    """Jiffies stolen by the hypervisor, summed over all CPUs."""
    with open("/proc/stat") as f:
        return int(f.readline().split()[8])


def wait_quiet(max_wait=QUIET_WAIT, limit_pct=QUIET_PCT):
    """Wait (bounded) until the machine is nearly idle before a run."""
    t_end = time.monotonic() + max_wait
    while True:
        b0 = cpu_busy_ticks()
        time.sleep(0.5)
        pct = 100.0 * (cpu_busy_ticks() - b0) / HZ / 0.5
        if pct < limit_pct or time.monotonic() >= t_end:
            return pct


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def target_pid(kind):
    with open(os.path.join(HERE, "run", f"{kind}.pid")) as f:
        pid = int(f.read().strip())
    if kind == "nginx":  # with master_process on, the worker does the work
        kids = children(pid)
        return kids[0] if kids else pid
    return pid


def run_generator(label, argv, kind, env=None):
    """Run one bounded generator invocation; return a dict of measurements."""
    base = os.path.join(OUT, label)
    tfile = base + ".time"
    for p in (tfile,):
        if os.path.exists(p):
            os.unlink(p)
    cmd = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tfile,
           "taskset", "-c", GEN_CPU] + argv
    tpid = target_pid(kind)
    idle_pct = wait_quiet()
    busy0, steal0 = cpu_busy_ticks(), steal_ticks()
    t_ticks0 = proc_ticks(tpid)
    n0 = nginx_requests() if kind == "nginx" else None
    status_reads = 1
    if kind == "delay":
        http_get(DELAY_STATS)  # reset server-side samples
    with open(base + ".out", "w") as out:
        out.write("$ " + " ".join(shlex.quote(a) for a in argv) + "\n")
        out.flush()
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                             env=env, process_group=0)  # own pgid, same autogroup
        gen_pid = None
        win = {}
        deadline = start + DUR + GRACE
        while p.poll() is None:
            now = time.monotonic() - start
            if gen_pid is None:
                kids = children(p.pid)
                gen_pid = kids[0] if kids else None
            for tag, at in (("a", W0), ("b", W1)):
                if tag not in win and now >= at and gen_pid:
                    win[tag] = (time.monotonic(), proc_ticks(gen_pid), proc_ticks(tpid),
                                nginx_requests() if kind == "nginx" else None)
                    status_reads += 1 if kind == "nginx" else 0
            if time.monotonic() > deadline:
                os.killpg(p.pid, signal.SIGKILL)  # only the group we started
                out.write("\n[peers] killed at deadline\n")
                break
            time.sleep(0.05)
        p.wait()
        wall = time.monotonic() - start
    t_ticks1 = proc_ticks(tpid)
    busy1, steal1 = cpu_busy_ticks(), steal_ticks()
    res = {"label": label, "rc": p.returncode, "wall_s": wall, "pre_run_busy_pct": idle_pct,
           "steal_pct": 100.0 * (steal1 - steal0) / HZ / wall}
    if kind == "nginx":
        n1 = nginx_requests()
        res["target_requests"] = n1 - n0 - status_reads
    else:
        st = json.loads(http_get(DELAY_STATS))
        res["target_requests"] = st["count"]
        res["server_p50_ms"] = st["p50_ms"]
        res["server_p99_ms"] = st["p99_ms"]
    res["target_rps"] = res["target_requests"] / DUR
    if t_ticks0 is not None and t_ticks1 is not None:
        res["target_cpu_pct_run"] = 100.0 * (t_ticks1 - t_ticks0) / HZ / wall
    try:
        e, u, s, m = open(tfile).read().strip().splitlines()[-1].split()
        res.update(elapsed_s=float(e), cpu_s=float(u) + float(s), rss_kb=int(m))
    except (OSError, ValueError, IndexError):
        res.update(elapsed_s=None, cpu_s=None, rss_kb=None)
    if res.get("cpu_s") is not None and t_ticks0 is not None and t_ticks1 is not None:
        # CPU burnt during the run by anything other than generator + target
        res["other_cpu_pct"] = max(0.0, 100.0 * ((busy1 - busy0 - (t_ticks1 - t_ticks0)) / HZ
                                                 - res["cpu_s"]) / wall)
    if res.get("cpu_s"):
        res["req_per_cpu_s"] = res["target_requests"] / res["cpu_s"]
    if "a" in win and "b" in win and None not in win["a"][:3] and None not in win["b"][:3]:
        dt = win["b"][0] - win["a"][0]
        gcpu = (win["b"][1] - win["a"][1]) / HZ
        res["gen_cpu_pct_steady"] = 100.0 * gcpu / dt
        res["target_cpu_pct_steady"] = 100.0 * (win["b"][2] - win["a"][2]) / HZ / dt
        if kind == "nginx" and gcpu > 0:
            nreq = win["b"][3] - win["a"][3] - 1
            res["steady_rps"] = nreq / dt
            res["req_per_cpu_s_steady"] = nreq / gcpu
    res["output"] = open(base + ".out").read()
    return res


# ------------------------------------------------------- output parsers
UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_tool_rps(tool, txt, base):
    m = re.search(r"Requests/sec:\s*([\d.]+)", txt)  # wrk, hey
    if m:
        return float(m.group(1))
    m = re.search(r'"requestsPerSec"\s*:\s*([\d.eE+-]+)', txt)  # oha json
    if m:
        return float(m.group(1))
    csvp = base + "_stats.csv"  # locust
    if os.path.exists(csvp):
        for line in open(csvp):
            f = line.rstrip("\n").split(",")
            if len(f) > 9 and f[1] == "Aggregated":
                return float(f[9])
    m = re.search(r"rps=([\d.]+)", txt)
    return float(m.group(1)) if m else None


def parse_latency(tool, txt, base):
    """Return (p50_ms, p99_ms) as reported by the tool."""
    m50 = re.search(r"p50_ms=([\d.]+)", txt)
    m99 = re.search(r"p99_ms=([\d.]+)", txt)
    if m50 and m99:
        return float(m50.group(1)), float(m99.group(1))
    # oha json: "latencyPercentiles": {"p50": secs, ...}
    m = re.search(r'"latencyPercentiles"\s*:\s*(\{[^}]*\})', txt)
    if m:
        d = json.loads(m.group(1))
        return d["p50"] * 1000.0, d["p99"] * 1000.0
    # wrk --latency: "     50%   10.51ms"
    w50 = re.search(r"^\s*50%\s+([\d.]+)(us|ms|s|m)\s*$", txt, re.M)
    w99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", txt, re.M)
    if w50 and w99:
        return (float(w50.group(1)) * UNIT[w50.group(2)],
                float(w99.group(1)) * UNIT[w99.group(2)])
    # hey / oha text: "  50% in 0.0105 secs" / "  50.00% in 0.0105 secs"
    h50 = re.search(r"^\s*50(?:\.00)?% in ([\d.]+) secs", txt, re.M)
    h99 = re.search(r"^\s*99(?:\.00)?% in ([\d.]+) secs", txt, re.M)
    if h50 and h99:
        return float(h50.group(1)) * 1000.0, float(h99.group(1)) * 1000.0
    csvp = base + "_stats.csv"  # locust: columns 50% (idx 11) and 99% (idx 18)
    if os.path.exists(csvp):
        for line in open(csvp):
            f = line.rstrip("\n").split(",")
            if len(f) > 18 and f[1] == "Aggregated":
                return float(f[11]), float(f[18])
    return None, None


# ------------------------------------------------------- tool commands
def locust_argv(url, users, dur, base):
    return ["locust", "-f", os.path.join(HERE, "locustfile.py"), "--headless",
            "-u", str(users), "-r", str(users), "-t", f"{dur}s", "-H", url.rstrip("/"),
            "--only-summary", "--csv", base, "--loglevel", "WARNING",
            "--stop-timeout", "1"]


def extra_argv(template, url, c, d, rate):
    return shlex.split(template.format(url=url, c=c, d=d, rate=rate))


def cmd_closed(tool, url, c, base):
    d = DUR
    if tool == "wrk":
        return ["wrk", f"-t{WRK_THREADS}", f"-c{c}", f"-d{d}s", "--latency", url], None
    if tool == "hey":
        return ["hey", "-c", str(c), "-z", f"{d}s", url], None
    if tool == "oha":
        return ["oha", "-c", str(c), "-z", f"{d}s", "--no-tui", "--output-format", "json", url], None
    if tool == "locust":
        return locust_argv(url, c, d, base), dict(os.environ, LOCUST_RATE_PER_USER="0")
    if extra_template(tool, "CLOSED"):
        return extra_argv(extra_template(tool, "CLOSED"), url, c, d, 0), None
    return None, None


def cmd_rate(tool, url, rate, base):
    d, c = DUR, CLOSED_CONNS
    if tool == "oha":
        return ["oha", "-c", str(c), "-q", str(rate), "-z", f"{d}s", "--no-tui",
                "--output-format", "json", url], None
    if tool == "hey":
        return ["hey", "-c", str(c), "-q", str(rate // c), "-z", f"{d}s", url], None
    if tool == "locust":
        return (locust_argv(url, c, d, base),
                dict(os.environ, LOCUST_RATE_PER_USER=str(rate / c)))
    if extra_template(tool, "RATE"):
        return extra_argv(extra_template(tool, "RATE"), url, c, d, rate), None
    return None, None  # wrk: no rate limiting


def cmd_lat(tool, url, rate, base):
    d = DUR
    c = 10
    if tool == "oha":
        return ["oha", "-c", str(c), "-q", str(rate), "-z", f"{d}s", "--no-tui",
                "--output-format", "json", url], None
    if tool == "hey":
        return ["hey", "-c", str(c), "-q", str(rate // c), "-z", f"{d}s", url], None
    if tool == "wrk":  # no rate limit: closed loop with 2 connections (~180 req/s at 11 ms)
        return ["wrk", "-t1", "-c2", f"-d{d}s", "--latency", url], None
    if tool == "locust":
        return (locust_argv(url, c, d, base),
                dict(os.environ, LOCUST_RATE_PER_USER=str(rate / c)))
    if extra_template(tool, "LAT"):
        return extra_argv(extra_template(tool, "LAT"), url, c, d, rate), None
    return None, None


def have(tool):
    if tool in EXTRAS:
        return True
    return subprocess.call(["sh", "-c", f"command -v {tool} >/dev/null"]) == 0


# ------------------------------------------------------- sections
results = {"closed": [], "rate": [], "mem": [], "lat": []}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def fmt(v, spec="{:.0f}", none="-"):
    return none if v is None else spec.format(v)


def go():
    tools = [t for t in TOOLS if have(t)]
    missing = [t for t in TOOLS if t not in tools]
    if missing:
        log(f"[peers] not installed, skipped: {','.join(missing)}")

    if "closed" in SECTIONS:
        for rep in range(1, REPS + 1):  # interleave tools across repetitions
            for tool in tools:
                label = f"closed_{tool}_r{rep}"
                base = os.path.join(OUT, label)
                argv, env = cmd_closed(tool, NGINX_URL, CLOSED_CONNS, base)
                if not argv:
                    continue
                log(f"[peers] {label}")
                r = run_generator(label, argv, "nginx", env)
                r.update(tool=tool, rep=rep, tool_rps=parse_tool_rps(tool, r["output"], base))
                results["closed"].append(r)

    if "rate" in SECTIONS:
        for tool in tools:
            label = f"rate_{tool}"
            base = os.path.join(OUT, label)
            argv, env = cmd_rate(tool, NGINX_URL, RATE, base)
            if not argv:
                continue
            log(f"[peers] {label}")
            r = run_generator(label, argv, "nginx", env)
            r.update(tool=tool, tool_rps=parse_tool_rps(tool, r["output"], base))
            results["rate"].append(r)

    if "mem" in SECTIONS:
        for tool in tools:
            label = f"mem_{tool}"
            base = os.path.join(OUT, label)
            argv, env = cmd_closed(tool, NGINX_URL, MEM_CONNS, base)
            if not argv:
                continue
            log(f"[peers] {label}")
            r = run_generator(label, argv, "nginx", env)
            r.update(tool=tool, tool_rps=parse_tool_rps(tool, r["output"], base))
            r["errors_hint"] = len(re.findall(r"(?i)error|fail", r["output"]))
            results["mem"].append(r)

    if "lat" in SECTIONS:
        for tool in tools:
            label = f"lat_{tool}"
            base = os.path.join(OUT, label)
            argv, env = cmd_lat(tool, DELAY_URL, LAT_RATE, base)
            if not argv:
                continue
            log(f"[peers] {label}")
            r = run_generator(label, argv, "delay", env)
            p50, p99 = parse_latency(tool, r["output"], base)
            r.update(tool=tool, p50_ms=p50, p99_ms=p99)
            results["lat"].append(r)

    for sec in results.values():
        for r in sec:
            r.pop("output", None)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    table()


def table():
    print(f"\n== peers.sh  DUR={DUR}s  gen cpu={GEN_CPU}  target cpu={os.environ.get('TARGET_CPU', '1')}  wrk -t{WRK_THREADS}  "
          f"({time.strftime('%Y-%m-%d %H:%M:%S')})")
    if results["closed"]:
        print(f"\n[a] closed loop, {CLOSED_CONNS} conns -> nginx  "
              "(rps = target-side count / DUR; req/CPU-s = target requests / generator user+sys;"
              " steady = window %.0f-%.0fs)" % (W0, W1))
        print(f"{'tool':<8}{'rep':>4}{'rps':>9}{'toolrps':>9}{'cpu_s':>7}{'req/cpu_s':>11}"
              f"{'steady':>9}{'gen%':>6}{'tgt%':>6}{'rssMB':>7}{'oth%':>6}{'stl%':>5}")
        for r in results["closed"]:
            print(f"{r['tool']:<8}{r['rep']:>4}{fmt(r['target_rps']):>9}{fmt(r['tool_rps']):>9}"
                  f"{fmt(r['cpu_s'], '{:.2f}'):>7}{fmt(r.get('req_per_cpu_s')):>11}"
                  f"{fmt(r.get('req_per_cpu_s_steady')):>9}{fmt(r.get('gen_cpu_pct_steady')):>6}"
                  f"{fmt(r.get('target_cpu_pct_steady')):>6}"
                  f"{fmt(r['rss_kb'] and r['rss_kb'] / 1024, '{:.1f}'):>7}"
                  f"{fmt(r.get('other_cpu_pct')):>6}{fmt(r.get('steal_pct')):>5}")
        print(f"{'summary':<8}{'n':>4}{'rps med':>9}{'min':>8}{'max':>8}{'spread%':>9}"
              f"{'req/cpu_s med':>15}{'spread%':>9}")
        for tool in dict.fromkeys(r["tool"] for r in results["closed"]):
            rs = [r["target_rps"] for r in results["closed"] if r["tool"] == tool]
            cs = [r.get("req_per_cpu_s") for r in results["closed"] if r["tool"] == tool
                  and r.get("req_per_cpu_s")]
            med = statistics.median(rs)
            sp = 100.0 * (max(rs) - min(rs)) / med if med else 0
            cmed = statistics.median(cs) if cs else None
            csp = 100.0 * (max(cs) - min(cs)) / cmed if cmed else None
            print(f"{tool:<8}{len(rs):>4}{med:>9.0f}{min(rs):>8.0f}{max(rs):>8.0f}{sp:>9.1f}"
                  f"{fmt(cmed):>15}{fmt(csp, '{:.1f}'):>9}")
    if results["rate"]:
        print(f"\n[b] open loop at {RATE} req/s target, {CLOSED_CONNS} conns -> nginx")
        print(f"{'tool':<8}{'target':>8}{'achieved':>10}{'toolrps':>9}{'cpu_s':>7}"
              f"{'gen%':>6}{'req/cpu_s':>11}{'rssMB':>7}{'oth%':>6}{'stl%':>5}")
        for r in results["rate"]:
            print(f"{r['tool']:<8}{RATE:>8}{fmt(r['target_rps']):>10}{fmt(r['tool_rps']):>9}"
                  f"{fmt(r['cpu_s'], '{:.2f}'):>7}{fmt(r.get('gen_cpu_pct_steady')):>6}"
                  f"{fmt(r.get('req_per_cpu_s')):>11}"
                  f"{fmt(r['rss_kb'] and r['rss_kb'] / 1024, '{:.1f}'):>7}"
                  f"{fmt(r.get('other_cpu_pct')):>6}{fmt(r.get('steal_pct')):>5}")
    if results["mem"]:
        print(f"\n[c] {MEM_CONNS} concurrent connections, closed loop -> nginx")
        print(f"{'tool':<8}{'peakRSS_MB':>11}{'rps':>9}{'cpu_s':>7}{'rc':>4}{'oth%':>6}{'stl%':>5}")
        for r in results["mem"]:
            print(f"{r['tool']:<8}{fmt(r['rss_kb'] and r['rss_kb'] / 1024, '{:.1f}'):>11}"
                  f"{fmt(r['target_rps']):>9}{fmt(r['cpu_s'], '{:.2f}'):>7}{r['rc']:>4}"
                  f"{fmt(r.get('other_cpu_pct')):>6}{fmt(r.get('steal_pct')):>5}")
    if results["lat"]:
        print(f"\n[d] 10 ms delay target at ~{LAT_RATE} req/s (wrk: closed loop, 2 conns)")
        print(f"{'tool':<8}{'rps':>6}{'p50':>8}{'p99':>8}{'srv_p50':>9}{'srv_p99':>9}"
              f"{'d_p50':>7}{'d_p99':>7}{'cpu_s':>7}{'oth%':>6}{'stl%':>5}")
        for r in results["lat"]:
            d50 = (r["p50_ms"] - r["server_p50_ms"]) if r["p50_ms"] and r["server_p50_ms"] else None
            d99 = (r["p99_ms"] - r["server_p99_ms"]) if r["p99_ms"] and r["server_p99_ms"] else None
            print(f"{r['tool']:<8}{fmt(r['target_rps']):>6}{fmt(r['p50_ms'], '{:.2f}'):>8}"
                  f"{fmt(r['p99_ms'], '{:.2f}'):>8}{fmt(r['server_p50_ms'], '{:.2f}'):>9}"
                  f"{fmt(r['server_p99_ms'], '{:.2f}'):>9}{fmt(d50, '{:.2f}'):>7}"
                  f"{fmt(d99, '{:.2f}'):>7}{fmt(r['cpu_s'], '{:.2f}'):>7}"
                  f"{fmt(r.get('other_cpu_pct')):>6}{fmt(r.get('steal_pct')):>5}")
        print("(latencies in ms; srv_* = server-side handler time measured by the target;"
              " d_* = tool-reported minus server-side)")
    print("oth% = CPU used during the run by processes other than generator and target"
          " (% of one core); stl% = CPU time stolen by the hypervisor (% of one core);"
          " high values mean the run was disturbed.")
    print(f"\nraw outputs and results.json: {OUT}")


if __name__ == "__main__":
    go()
