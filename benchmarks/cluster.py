"""The cost of the cluster path: ping-pong on 1 node (SQLite), 1 node (PostgreSQL + Redis) and
3 nodes (PostgreSQL + Redis), with the same generator, agents and chats as benchmarks/pingpong.py.

This machine has 2 cores: three nodes, PostgreSQL, Redis and the generator share them, so the
3-node figure shows what the forwarding hop and the shared database cost, not scaling. Besides the
table it measures per-message costs for a capacity plan: CPU of the engine owner, of the forwarding
nodes, of PostgreSQL and of Redis, and database transactions, rows and WAL bytes per message (from
pg_stat_database and the WAL position over each measured window). A round trip is two messages.

    .venv/bin/python benchmarks/cluster.py                        # ~3 minutes
    .venv/bin/python benchmarks/cluster.py --chats 20 --duration 5 --warmup 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import CLK_TCK, raise_nofile
from pingpong import (
    AGENTS,
    HEADER,
    ROOT,
    add_load_arguments,
    fmt_row,
    free_port,
    frontdesk_config,
    run_steps,
    stop_server,
    wait_healthy,
)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGETS = (("sqlite-1", 1), ("pg-1", 1), ("pg-3", 3))


def comm_cpu_seconds(names: tuple[str, ...]) -> float:
    """utime + stime of every live process whose command name is in ``names`` (own time only)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if comm in names:
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def pid_cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class ProcessMeter:
    """CPU per round trip of named services (PostgreSQL, Redis) over the window."""

    def __init__(self, key: str, names: tuple[str, ...]) -> None:
        self.key, self.names, self.cpu0 = key, names, 0.0

    def start(self) -> None:
        self.cpu0 = comm_cpu_seconds(self.names)

    def stop(self, round_trips: int, window_s: float) -> dict[str, Any]:
        used = comm_cpu_seconds(self.names) - self.cpu0
        return {f"{self.key}_cpu_ms_per_rt": 1000 * used / round_trips if round_trips else float("nan")}


class NodeMeter:
    """CPU per round trip of the engine owner and of the forwarding nodes, separately."""

    def __init__(self, owner: int, others: list[int]) -> None:
        self.owner, self.others = owner, others
        self.c0 = (0.0, 0.0)

    def _read(self) -> tuple[float, float]:
        return pid_cpu_seconds(self.owner), sum(map(pid_cpu_seconds, self.others))

    def start(self) -> None:
        self.c0 = self._read()

    def stop(self, round_trips: int, window_s: float) -> dict[str, Any]:
        c1 = self._read()
        rt = max(round_trips, 1)
        return {
            "owner_cpu_ms_per_rt": 1000 * (c1[0] - self.c0[0]) / rt,
            "forwarders_cpu_ms_per_rt": 1000 * (c1[1] - self.c0[1]) / rt,
        }


class DatabaseMeter:
    """Transactions, rows written and WAL bytes per message, from PostgreSQL's own counters."""

    SQL = (
        "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted, "
        "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 FROM pg_stat_database WHERE datname=$1"
    )

    def __init__(self, url: str, name: str) -> None:
        self.url, self.name = url, name
        self.v0: tuple[float, float, float] = (0.0, 0.0, 0.0)

    async def _fetch(self) -> tuple[float, float, float]:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            row = await conn.fetchrow(self.SQL, self.name)
        finally:
            await conn.close()
        assert row is not None
        return float(row[0]), float(row[1]), float(row[2])

    def start(self) -> None:
        time.sleep(1.1)  # backends flush their statistics at most once a second
        self.v0 = asyncio.run(self._fetch())

    def stop(self, round_trips: int, window_s: float) -> dict[str, Any]:
        time.sleep(1.1)
        v1 = asyncio.run(self._fetch())
        messages = max(2 * round_trips, 1)
        return {
            "db_xacts_per_msg": (v1[0] - self.v0[0]) / messages,
            "db_rows_per_msg": (v1[1] - self.v0[1]) / messages,
            "wal_bytes_per_msg": (v1[2] - self.v0[2]) / messages,
        }


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def role(url: str) -> str:
    with urllib.request.urlopen(url + "/healthz", timeout=5) as resp:
        return str(json.loads(resp.read()).get("role"))


def run_target(name: str, size: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    db = f"frontdesk_bench_{uuid.uuid4().hex[:8]}"
    pg = name.startswith("pg")
    db_url = f"postgresql://postgres@127.0.0.1:5432/{db}"
    config = tmp / f"{name}.yaml"

    def adjust(cfg: dict[str, Any]) -> None:
        if pg:
            cfg["server"]["store"] = {"kind": "postgresql", "url": db_url, "pool_size": 8}
            cfg["server"]["bus"] = {"kind": "redis", "channel_prefix": f"bench-{db}"}
            cfg["server"]["files"] = {"dir": str(tmp / f"{name}-files")}

    frontdesk_config(config, AGENTS, adjust)
    if pg:
        asyncio.run(_admin(f'CREATE DATABASE "{db}"'))
        subprocess.run(
            [sys.executable, "-m", "frontdesk", "migrate", "--config", str(config)], check=True, cwd=ROOT
        )
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for i in range(size):
            port = free_port()
            data = tmp / f"{name}-node{i}"
            data.mkdir()
            log = tmp / f"{name}-node{i}.log"
            with log.open("wb") as out:
                cmd = [sys.executable, "-m", "frontdesk", "serve", "--config", str(config)]
                cmd += ["--port", str(port), "--data-dir", str(data)]
                procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT))
            urls.append(f"http://127.0.0.1:{port}")
            wait_healthy(urls[-1], procs[-1], log)
            if pg and i == 0:
                deadline = time.monotonic() + 30
                while role(urls[0]) != "engine" and time.monotonic() < deadline:
                    time.sleep(0.1)
        print(f"[{name}] {size} node(s) at {', '.join(urls)}", flush=True)
        meters: tuple[Any, ...] = (NodeMeter(procs[0].pid, [p.pid for p in procs[1:]]),)
        if pg:
            meters += (
                ProcessMeter("postgres", ("postgres",)),
                ProcessMeter("redis", ("redis-server",)),
                DatabaseMeter(PG_ADMIN, db),
            )
        logins = [f"bench{i}" for i in range(1, AGENTS + 1)]
        return {"nodes": size, "steps": run_steps(name, [p.pid for p in procs], urls, args, logins, meters)}
    finally:
        for proc in procs:
            stop_server(proc)
        if pg:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


def capacity(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-message costs at the heaviest measured step of each PostgreSQL target."""
    plan = []
    for name, _ in TARGETS:
        if not name.startswith("pg") or name not in results:
            continue
        step = max(results[name]["steps"], key=lambda s: s["chats"])
        per_msg = 0.5  # two messages per round trip
        owner = step["owner_cpu_ms_per_rt"] * per_msg
        plan.append(
            {
                "target": name,
                "chats": step["chats"],
                "owner_cpu_ms_per_msg": owner,
                "forwarders_cpu_ms_per_msg": step["forwarders_cpu_ms_per_rt"] * per_msg,
                "postgres_cpu_ms_per_msg": step["postgres_cpu_ms_per_rt"] * per_msg,
                "redis_cpu_ms_per_msg": step["redis_cpu_ms_per_rt"] * per_msg,
                "db_xacts_per_msg": step["db_xacts_per_msg"],
                "db_rows_per_msg": step["db_rows_per_msg"],
                "wal_bytes_per_msg": step["wal_bytes_per_msg"],
                "owner_core_msgs_per_s": 1000 / owner if owner else None,
            }
        )
    return plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_load_arguments(parser, "cluster.json")
    args = parser.parse_args(argv)
    args.chats = [int(c) for c in str(args.chats).split(",") if c.strip()]
    raise_nofile()
    started = time.time()
    results: dict[str, Any] = {"params": {k: v for k, v in vars(args).items() if k != "json"}}
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmpdir:
        for name, size in TARGETS:
            results[name] = run_target(name, size, args, Path(tmpdir))
    base = {s["chats"]: s for s in results["sqlite-1"]["steps"]}
    ratios = []
    for name, _ in TARGETS[1:]:
        for s in results[name]["steps"]:
            b = base.get(s["chats"])
            if b:
                ratios.append(
                    {
                        "target": name,
                        "chats": s["chats"],
                        "rt_per_s_ratio": s["rt_per_s"] / b["rt_per_s"],
                        "p99_ratio": s["p99_ms"] / b["p99_ms"],
                        "cpu_per_rt_ratio": s["cpu_ms_per_rt"] / b["cpu_ms_per_rt"],
                    }
                )
    results["ratios_vs_sqlite_1"] = ratios
    results["capacity"] = capacity(results)
    results["elapsed_s"] = time.time() - started
    print()
    print(HEADER)
    for name, _ in TARGETS:
        for s in results[name]["steps"]:
            print(fmt_row(s, name))
    for r in ratios:
        print(
            f"{r['target']} / sqlite-1 at {r['chats']} chats: round trips/s {r['rt_per_s_ratio']:.2f}×, "
            f"p99 {r['p99_ratio']:.2f}×, Frontdesk CPU per round trip {r['cpu_per_rt_ratio']:.2f}×"
        )
    for c in results["capacity"]:
        print(
            f"capacity {c['target']} ({c['chats']} chats), per message: "
            f"owner {c['owner_cpu_ms_per_msg']:.3f} ms, "
            f"forwarders {c['forwarders_cpu_ms_per_msg']:.3f} ms, "
            f"PostgreSQL {c['postgres_cpu_ms_per_msg']:.3f} ms, "
            f"Redis {c['redis_cpu_ms_per_msg']:.3f} ms CPU; {c['db_xacts_per_msg']:.2f} transactions, "
            f"{c['db_rows_per_msg']:.2f} rows, {c['wal_bytes_per_msg']:.0f} WAL bytes"
        )
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"elapsed {results['elapsed_s']:.0f}s; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
