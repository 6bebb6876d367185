"""Ping-pong scenario: Frontdesk against the baseline, M concurrent chats per step.

Starts each server as a subprocess on a free loopback port, runs one or more generator processes
(benchmarks/loadgen.py) per step, measures the server's CPU and RSS from /proc over the measured
window, then (Frontdesk only) holds N idle ServicePattern long polls and samples RSS. Prints a
table and writes JSON.

    .venv/bin/python benchmarks/pingpong.py                       # full run, ~3-4 minutes
    .venv/bin/python benchmarks/pingpong.py --skip-frontdesk      # the baseline alone
    .venv/bin/python benchmarks/pingpong.py --chats 20 --duration 5 --warmup 1 --idle-polls 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import (
    IdleResult,
    StepResult,
    WorkerSpec,
    idle_polls,
    machine_busy_seconds,
    proc_cpu_seconds,
    proc_rss_bytes,
    proc_thread_cpu_seconds,
    raise_nofile,
    run_worker,
)

ROOT = Path(__file__).resolve().parent.parent
DEMO_YAML = ROOT / "src" / "frontdesk" / "demo.yaml"
AGENTS = 50
AGENT_MAX_CHATS = 4
IDLE_HOLD_S = 15.0  # how long the idle polls are held and RSS sampled (> one 12 s poll cycle)

TARGETS = {
    "rt_ratio_20": 3.0,  # Frontdesk round trips/s ≥ 3× the baseline at 20 chats
    "cpu_ms_per_rt_20": 0.25,  # ≤ 0.25 ms server CPU per round trip at 20 chats
    "p99_ms_100": 10.0,  # p99 < 10 ms at 100 chats
    "idle_rss_mb": 300.0,  # 10,000 idle ServicePattern polls under 300 MB
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; log:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"server not healthy within {timeout}s; log:\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully; cProfile still writes
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def frontdesk_config(path: Path, agents: int, adjust: Callable[[dict[str, Any]], None] | None = None) -> None:
    """The benchmark's own configuration: the demo tenant plus `agents` agents bench1..benchN."""
    cfg: dict[str, Any] = yaml.safe_load(DEMO_YAML.read_text())
    server = cfg["server"]
    server["allow_short_timers"] = True
    server["log"]["level"] = "warning"
    server["limits"]["rate_limit"]["exempt_networks"] = ["127.0.0.0/8", "::1/128"]
    tenant = cfg["tenants"][0]
    alice = next(u for u in tenant["users"] if u["login"] == "alice")
    for i in range(1, agents + 1):
        tenant["users"].append(
            {
                "login": f"bench{i}",
                "roles": ["agent"],
                "password_hash": alice["password_hash"],  # password `demo`
                "profile": {"display_name": f"Bench {i}", "first_name": "Bench", "last_name": str(i)},
                "skills": ["support"],
                "max_chats": AGENT_MAX_CHATS,
            }
        )
    tenant["faces"]["servicepattern"]["long_poll_hold_seconds"] = 12
    tenant["timers"]["inactivity"]["timeout_seconds"] = 0  # off: no chat closes during the run
    tenant["routing"]["wrapup_holds_capacity"] = False  # ended chats free their slot at once
    if adjust is not None:
        adjust(cfg)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def start_server(
    kind: str, tmp: Path, agents: int, profile: str | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = tmp / f"{kind}.log"
    if kind == "baseline":
        cmd = [
            sys.executable,
            str(ROOT / "benchmarks" / "baseline.py"),
            "--port",
            str(port),
            "--db",
            str(tmp / "baseline.db"),
        ]
    else:
        config = tmp / "frontdesk.yaml"
        frontdesk_config(config, agents)
        data = tmp / "frontdesk-data"
        data.mkdir(exist_ok=True)
        prof = ["-m", "cProfile", "-o", str(Path(profile).resolve())] if profile else []
        cmd = [
            sys.executable,
            *prof,
            "-m",
            "frontdesk",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
            "--data-dir",
            str(data),
        ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
    except BaseException:
        stop_server(proc)
        raise
    return proc, url


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


class StepMeter(Protocol):
    """Extra figures measured over each step's window (the cluster benchmark's database counters)."""

    def start(self) -> None: ...

    def stop(self, round_trips: int, window_s: float) -> dict[str, Any]: ...


def run_steps(
    kind: str,
    pids: list[int],
    urls: list[str],
    args: argparse.Namespace,
    logins: list[str],
    meters: tuple[StepMeter, ...] = (),
) -> list[dict[str, Any]]:
    """Drive every step of ``args.chats`` against the servers ``pids`` answering at ``urls``.

    Server CPU and RSS are summed over ``pids`` from /proc across each measured window."""
    # Closed-loop steps, then paced ones: (chats, seconds between one chat's pings or None).
    plan: list[tuple[int, float | None]] = [(m, None) for m in args.chats]
    plan += list(getattr(args, "paced", []))
    ctx = multiprocessing.get_context("spawn")
    n = args.generators
    barrier = ctx.Barrier(n + 1)
    queue: Any = ctx.Queue()
    workers = []
    for i in range(n):
        spec = WorkerSpec(
            target="baseline" if kind == "baseline" else "frontdesk",
            base_url=urls[0],
            index=i,
            steps=[split(c, n)[i] for c, _ in plan],
            warmup=args.warmup,
            duration=args.duration,
            intervals=[interval for _, interval in plan],
            agents=logins[i::n],
            node_urls=urls if len(urls) > 1 else [],
        )
        p = ctx.Process(target=run_worker, args=(spec, barrier, queue), daemon=True)
        p.start()
        workers.append(p)
    timeout = 180.0
    barrier.wait(timeout)  # agents ready
    steps: list[dict[str, Any]] = []
    for m, interval in plan:
        barrier.wait(timeout)  # chats open and connected
        time.sleep(args.warmup)
        for meter in meters:
            meter.start()
        cpu0, busy0, t0 = sum(map(proc_cpu_seconds, pids)), machine_busy_seconds(), time.monotonic()
        threads0 = proc_thread_cpu_seconds(pids[0])
        time.sleep(args.duration)
        cpu1, busy1, t1 = sum(map(proc_cpu_seconds, pids)), machine_busy_seconds(), time.monotonic()
        threads1 = proc_thread_cpu_seconds(pids[0])
        rss = sum(map(proc_rss_bytes, pids))
        parts: list[StepResult] = []
        while len(parts) < n:
            tag, idx, payload = queue.get(timeout=timeout)
            if tag == "error":
                raise SystemExit(f"generator {idx} failed: {payload}")
            parts.append(payload)
        barrier.wait(timeout)  # chats closed
        lat = sorted(x for p in parts for x in p.latencies)
        errors = [e for p in parts for e in p.errors]
        window = t1 - t0
        rts = len(lat)
        gen_cpu = sum(p.client_cpu_s for p in parts)
        # CPU used by neither the server nor the generators (other work on the machine)
        other_cpu = max(0.0, (busy1 - busy0) - (cpu1 - cpu0) - gen_cpu)
        step = {
            "chats": m,
            "interval_s": interval,
            "offered_rt_per_s": m / interval if interval else None,
            "round_trips": rts,
            "rt_per_s": rts / window,
            "p50_ms": percentile(lat, 0.50) * 1000,
            "p99_ms": percentile(lat, 0.99) * 1000,
            "mean_ms": statistics.fmean(lat) * 1000 if lat else float("nan"),
            "server_cpu_s": cpu1 - cpu0,
            "server_cpu_pct": 100 * (cpu1 - cpu0) / window,
            "cpu_ms_per_rt": 1000 * (cpu1 - cpu0) / rts if rts else float("nan"),
            "server_cpu_s_by_thread": {k: threads1[k] - threads0[k] for k in threads1},
            "rss_mb": rss / 2**20,
            "generator_cpu_s": gen_cpu,
            "generator_cpu_pct": 100 * gen_cpu / window,
            "other_cpu_pct": 100 * other_cpu / window,
            "window_s": window,
            "errors": len(errors),
            "error_samples": errors[:5],
        }
        for meter in meters:
            step.update(meter.stop(rts, window))
        steps.append(step)
        print(f"[{kind}] {fmt_row(step)}", flush=True)
    for _ in range(n):
        tag, idx, payload = queue.get(timeout=timeout)
        if tag == "error":
            raise SystemExit(f"generator {idx} failed: {payload}")
    for p in workers:
        p.join(timeout=30)
    return steps


def run_target(kind: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"steps": []}
    if args.chats or args.paced:
        proc, url = start_server(kind, tmp, AGENTS, args.profile_server)
        print(f"[{kind}] server pid {proc.pid} at {url}", flush=True)
        try:
            # all 50 agents log in: routing spreads the chats over them
            logins = [f"bench{i}" for i in range(1, (AGENTS if kind == "frontdesk" else 0) + 1)]
            result["steps"] = run_steps(kind, [proc.pid], [url], args, logins)
        finally:
            stop_server(proc)
    if kind == "frontdesk" and args.idle_polls > 0:
        result["idle_polls"] = asdict(run_idle_polls(args, tmp / "idle"))
    return result


def run_idle_polls(args: argparse.Namespace, tmp: Path) -> IdleResult:
    """The idle polls on a server of their own, with an empty database: what the load steps left
    in the other server's heap (their ended chats, memory the allocator keeps) is not what 10,000
    waiting customers cost."""
    tmp.mkdir(parents=True, exist_ok=True)
    proc, url = start_server("frontdesk", tmp, AGENTS)
    try:
        print(
            f"[frontdesk] idle polls: opening {args.idle_polls} ServicePattern chats on a fresh server",
            flush=True,
        )
        idle: IdleResult = asyncio.run(
            idle_polls(url, proc.pid, args.idle_polls, IDLE_HOLD_S, args.idle_create_timeout)
        )
        print(
            f"[frontdesk] idle polls: {idle.created} chats in {idle.create_s:.1f}s, peak {idle.held_peak}"
            f" polls held, RSS {idle.rss_before_mb:.0f} MB before,"
            f" {idle.rss_open_mb:.0f} MB with the chats open -> peak {idle.rss_peak_mb:.0f} MB,"
            f" errors {len(idle.errors)}; (chats, seconds): {idle.create_progress}",
            flush=True,
        )
        return idle
    finally:
        stop_server(proc)


HEADER = (
    f"{'target':<10} {'chats':>9} {'rt/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'srv cpu s':>9} "
    f"{'srv cpu%':>8} {'cpu ms/rt':>9} {'RSS MB':>7} {'gen cpu%':>8} {'other%':>6} {'errors':>6}"
)


def step_label(s: dict[str, Any]) -> str:
    """``20`` for a closed-loop step, ``100@10/s`` for 100 chats pinging 10 times a second each."""
    interval = s.get("interval_s")
    return f"{s['chats']}@{1 / interval:g}/s" if interval else str(s["chats"])


def closed_steps(result: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {s["chats"]: s for s in result.get("steps", []) if not s.get("interval_s")}


def fmt_row(s: dict[str, Any], name: str = "") -> str:
    return (
        f"{name:<10} {step_label(s):>9} {s['rt_per_s']:>8.0f} {s['p50_ms']:>7.2f} {s['p99_ms']:>7.2f} "
        f"{s['server_cpu_s']:>9.2f} {s['server_cpu_pct']:>8.0f} {s['cpu_ms_per_rt']:>9.3f} "
        f"{s['rss_mb']:>7.0f} {s['generator_cpu_pct']:>8.0f} {s['other_cpu_pct']:>6.0f} {s['errors']:>6}"
    )


def evaluate(results: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ratios: list[dict[str, Any]] = []
    fd = closed_steps(results.get("frontdesk", {}))
    bl = closed_steps(results.get("baseline", {}))
    for m in sorted(fd.keys() & bl.keys()):
        ratios.append(
            {
                "chats": m,
                "rt_per_s_ratio": fd[m]["rt_per_s"] / bl[m]["rt_per_s"] if bl[m]["rt_per_s"] else None,
                "cpu_per_rt_ratio": fd[m]["cpu_ms_per_rt"] / bl[m]["cpu_ms_per_rt"],
                "p99_ratio": fd[m]["p99_ms"] / bl[m]["p99_ms"],
            }
        )
    targets: list[dict[str, Any]] = []
    by_chats = {r["chats"]: r for r in ratios}
    if 20 in by_chats:
        value = by_chats[20]["rt_per_s_ratio"]
        targets.append(
            {
                "target": "round trips/s ≥ 3× baseline at 20 chats",
                "value": value,
                "limit": TARGETS["rt_ratio_20"],
                "met": value is not None and value >= 3.0,
            }
        )
    if 20 in fd:
        value = fd[20]["cpu_ms_per_rt"]
        targets.append(
            {
                "target": "server CPU ≤ 0.25 ms per round trip at 20 chats",
                "value": value,
                "limit": TARGETS["cpu_ms_per_rt_20"],
                "met": value <= 0.25,
            }
        )
    if 100 in fd:
        value = fd[100]["p99_ms"]
        targets.append(
            {
                "target": "p99 < 10 ms at 100 chats",
                "value": value,
                "limit": TARGETS["p99_ms_100"],
                "met": value < 10.0,
            }
        )
    idle = results.get("frontdesk", {}).get("idle_polls")
    if idle:
        value = idle["rss_peak_mb"]
        complete = idle["created"] == idle["requested"] and idle["held_peak"] >= idle["requested"]
        targets.append(
            {
                "target": f"{idle['requested']} idle ServicePattern long polls under 300 MB RSS",
                "value": value,
                "limit": TARGETS["idle_rss_mb"],
                "met": complete and value < 300.0,
            }
        )
    return ratios, targets


def add_load_arguments(parser: argparse.ArgumentParser, results_file: str) -> None:
    """The options every ping-pong driver shares (this one and benchmarks/cluster.py)."""
    parser.add_argument("--chats", default="20,100", help="comma-separated concurrent chats per step")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per step")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each step")
    parser.add_argument("--generators", type=int, default=1, help="generator processes")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / results_file))


def parse_paced(parser: argparse.ArgumentParser, text: str) -> list[tuple[int, float]]:
    steps = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        chats, _, rate = item.partition("@")  # without "@" the rate is "", refused below
        try:
            steps.append((int(chats), 1 / float(rate)))
        except (ValueError, ZeroDivisionError):
            parser.error(f"--paced wants CHATS@PINGS_PER_SECOND, got {item!r}")
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_load_arguments(parser, "pingpong.json")
    parser.add_argument(
        "--paced",
        default="100@10",
        help="paced steps after the closed-loop ones, comma-separated CHATS@PINGS_PER_SECOND_PER_CHAT"
        " (for example 100@10: 1,000 round trips/s offered); latency counts from each ping's scheduled"
        " start",
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-frontdesk", action="store_true")
    parser.add_argument("--idle-polls", type=int, default=10000, help="idle ServicePattern polls; 0 skips")
    parser.add_argument(
        "--idle-create-timeout",
        type=float,
        default=120.0,
        help="seconds allowed for opening the idle chats; the polls are then held on those opened",
    )
    parser.add_argument(
        "--profile-server",
        metavar="PATH",
        help="run Frontdesk under cProfile (main thread only) and write the stats to PATH",
    )
    args = parser.parse_args(argv)
    args.chats = [int(c) for c in str(args.chats).split(",") if c.strip()]
    args.paced = parse_paced(parser, args.paced)
    if max([0, *args.chats, *(m for m, _ in args.paced)]) > AGENTS * AGENT_MAX_CHATS:
        parser.error(f"at most {AGENTS * AGENT_MAX_CHATS} chats (agents × max_chats)")
    nofile = raise_nofile()  # inherited by the servers and the generators
    started = time.time()
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "nofile": nofile,
        },
        "params": {k: v for k, v in vars(args).items() if k != "json"},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
    }
    with tempfile.TemporaryDirectory(prefix="pingpong-") as tmpdir:
        tmp = Path(tmpdir)
        if not args.skip_frontdesk:
            results["frontdesk"] = run_target("frontdesk", args, tmp)
        if not args.skip_baseline:
            results["baseline"] = run_target("baseline", args, tmp)
    ratios, targets = evaluate(results)
    results["ratios"] = ratios
    results["targets"] = targets
    results["elapsed_s"] = time.time() - started

    print()
    print(HEADER)
    for kind in ("frontdesk", "baseline"):
        for s in results.get(kind, {}).get("steps", []):
            print(fmt_row(s, kind))
    for r in ratios:
        print(
            f"ratio frontdesk/baseline at {r['chats']} chats: round trips/s {r['rt_per_s_ratio']:.2f}×, "
            f"CPU per round trip {r['cpu_per_rt_ratio']:.2f}×, p99 {r['p99_ratio']:.2f}×"
        )
    for s in results.get("frontdesk", {}).get("steps", []):
        if s.get("interval_s"):
            twin = next(
                (b for b in results.get("baseline", {}).get("steps", []) if step_label(b) == step_label(s)),
                None,
            )
            versus = f" (baseline {twin['p50_ms']:.1f} / {twin['p99_ms']:.1f} ms)" if twin else ""
            print(
                f"paced {step_label(s)}, {s['offered_rt_per_s']:.0f} round trips/s offered: frontdesk p50"
                f" {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms{versus}"
            )
    idle = results.get("frontdesk", {}).get("idle_polls")
    if idle:
        print(
            f"idle polls: {idle['created']}/{idle['requested']} chats, peak {idle['held_peak']} polls held, "
            f"server RSS peak {idle['rss_peak_mb']:.0f} MB (before {idle['rss_before_mb']:.0f} MB)"
        )
    for t in targets:
        print(f"{'MET   ' if t['met'] else 'MISSED'} {t['target']}: {t['value']:.3f} (limit {t['limit']})")
    print(f"elapsed {results['elapsed_s']:.0f}s")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
