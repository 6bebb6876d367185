"""Three ``frontdesk serve`` processes on loopback ports sharing one PostgreSQL database and Redis.

Each module gets a fresh database (migrated with ``frontdesk migrate``) and its own bus channel
prefix, so runs never see each other. A stopped service fails the tests with the command that
starts it; nothing is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis
import yaml

from conftest import Mutator, ServerProc, demo_dict, free_port

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
REDIS_START = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
    "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
)
LEASE_SECONDS = 3
RENEW_SECONDS = 1


def _require_services() -> None:
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at 127.0.0.1:6379 is not reachable ({exc}); start it with: {REDIS_START}")


async def _admin(sql: str) -> None:
    try:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is not reachable ({exc}); start it with: {PG_START}")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class Cluster:
    nodes: list[ServerProc]
    db_url: str

    @property
    def ports(self) -> list[int]:
        return [n.port for n in self.nodes]

    def live(self) -> list[ServerProc]:
        return [n for n in self.nodes if n.proc is not None and n.proc.poll() is None]

    def role(self, node: ServerProc) -> str:
        return str(httpx.get(node.base_url + "/healthz", timeout=5).json().get("role"))

    def owner(self, timeout: float = 20.0) -> ServerProc:
        """The node running the engine (waits through a takeover)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node in self.live():
                try:
                    if self.role(node) == "engine":
                        return node
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        raise AssertionError("no node runs the engine: " + "\n".join(n.log()[-3000:] for n in self.nodes))

    def client(self, **kw: Any) -> httpx.Client:
        """A client whose consecutive requests go to the live nodes in turn."""
        return round_robin(httpx.Client(base_url=self.nodes[0].base_url, **kw), self)


class RoundRobin(httpx.BaseTransport):
    """Sends each request to the next live node: one session's requests land on different nodes."""

    def __init__(self, inner: httpx.BaseTransport, cluster: Cluster) -> None:
        self.inner = inner
        self.cluster = cluster
        self.turn = itertools.count()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        ports = [n.port for n in self.cluster.live()]
        request.url = request.url.copy_with(port=ports[next(self.turn) % len(ports)])
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def round_robin(client: httpx.Client, cluster: Cluster) -> httpx.Client:
    client._transport = RoundRobin(client._transport, cluster)
    return client


def cluster_config(db_url: str) -> dict[str, Any]:
    cfg = demo_dict()
    server = cfg["server"]
    server["allow_short_timers"] = True
    server["log"]["format"] = "text"
    server["store"] = {"kind": "postgresql", "url": db_url, "pool_size": 4}
    server["bus"] = {"kind": "redis", "channel_prefix": f"fdtest-{uuid.uuid4().hex[:8]}"}
    server["cluster"] = {"lease_seconds": LEASE_SECONDS, "renew_seconds": RENEW_SECONDS}
    # Upload bytes in the database: no directory shared between the nodes.
    server["files"] = {"kind": "store"}
    cfg["tenants"][0]["faces"]["ece"]["demo_auto_agent"] = True
    return cfg


def start_cluster(base: Path, db_url: str, cfg: dict[str, Any], size: int = 3) -> Cluster:
    base.mkdir(parents=True, exist_ok=True)
    path = base / "frontdesk.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    done = subprocess.run(
        [sys.executable, "-m", "frontdesk", "migrate", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    nodes = [
        ServerProc(
            config_path=path,
            data_dir=base / f"node{i}",
            port=free_port(),
            log_path=base / f"node{i}.log",
        )
        for i in range(size)
    ]
    cluster = Cluster(nodes, db_url)
    nodes[0].start()
    cluster.owner()  # the first node takes the engine before the others join
    for node in nodes[1:]:
        node.start()
    return cluster


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    _require_services()
    name = f"frontdesk_cluster_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One three-node cluster shared by a module's tests (which must leave it as they found it)."""
    base = tmp_path_factory.mktemp("cluster")
    with fresh_database() as db:
        c = start_cluster(base, db, cluster_config(db))
        try:
            yield c
        finally:
            for node in c.nodes:
                node.stop()


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator[Callable[[Mutator | None], Cluster]]:
    """A fresh cluster per call, for tests that kill nodes."""
    stack = contextlib.ExitStack()
    started: list[Cluster] = []

    def make(mutate: Mutator | None = None) -> Cluster:
        base = tmp_path / f"cluster{len(started)}"
        db = stack.enter_context(fresh_database())
        cfg = cluster_config(db)
        if mutate is not None:
            mutate(cfg)
        started.append(start_cluster(base, db, cfg))
        return started[-1]

    with stack:
        yield make
        for c in started:
            for node in c.nodes:
                node.stop()
