"""This node's place in the cluster: claim or renew the engine lease, and know who holds it.

The engine keeps its working state in memory for speed, so exactly one node may run it: the holder
of the ``engine`` lease row. The holder fences every write with the lease epoch, so a node that lost
the lease (paused, partitioned) cannot write once a survivor took over. A holder that cannot renew
in time stops the process (crash-only, like Kubernetes' leader election): a clean restart as a
follower is simpler and safer than unwinding half-run engine state. Followers forward requests to
the holder and take over its lease, its timers included, when it stops renewing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable

from frontdesk.bus.protocol import Bus
from frontdesk.config.models import ServerConfig
from frontdesk.store.protocol import Lease, Store, WriteIntent

log = logging.getLogger("frontdesk.cluster")

LEASE = "engine"
LEADER_TOPIC = "cluster:leader"
_KEY = ("cluster", "peer-key")
EXIT_LEASE_LOST = 75  # EX_TEMPFAIL: a supervisor restarts the node, which rejoins as a follower


def advertise_url(server: ServerConfig) -> str:
    if server.cluster.advertise_url:
        return server.cluster.advertise_url
    host = server.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{server.port}"


def _exit_process(reason: str) -> None:
    log.critical("engine lease lost (%s); stopping this node so it restarts as a follower", reason)
    logging.shutdown()
    os._exit(EXIT_LEASE_LOST)


class Cluster:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        server: ServerConfig,
        on_lead: Callable[[], Awaitable[None]],
        *,
        on_lost: Callable[[str], None] = _exit_process,
    ) -> None:
        self.store = store
        self.bus = bus
        self.node_id = server.cluster.node_id
        self.url = advertise_url(server)
        self.ttl = float(server.cluster.lease_seconds)
        self.renew = float(server.cluster.renew_seconds)
        self._on_lead = on_lead
        self._on_lost = on_lost
        self.leading = False
        self.serving = asyncio.Event()
        self.lease: Lease | None = None
        self._renewed = 0.0  # monotonic time when the last successful renewal was sent
        self._key: bytes | None = None
        self._suspects: dict[str, float] = {}  # url -> lease expiry seen when it failed
        self._changed = asyncio.Event()
        self._reading: asyncio.Task[None] | None = None  # the one lease read in flight, shared
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._unsubscribe = self.bus.subscribe(LEADER_TOPIC, self._heard)
        await self._claim()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def release(self) -> None:
        """Hand the lease over at once on a clean shutdown (call after the engine stopped writing)."""
        if self.leading:
            await self.store.lease_release(LEASE, self.node_id)
            self.bus.publish(LEADER_TOPIC, "")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.renew)
            try:
                await self._claim()
            except Exception as exc:
                log.warning("lease claim failed: %s", exc)
                if self.leading and time.monotonic() - self._renewed > self.ttl - self.renew:
                    self._on_lost(f"could not renew for {self.ttl - self.renew:.0f} s: {exc}")
                    return

    async def _claim(self) -> None:
        sent = time.monotonic()
        lease = await self.store.lease_claim(LEASE, self.node_id, self.url, self.ttl)
        self._see(lease)
        if lease.holder == self.node_id:
            self._renewed = sent
            if not self.leading:
                await self._lead(lease)
        elif self.leading:
            self._on_lost(f"{lease.holder} holds it at epoch {lease.epoch}")

    async def _lead(self, lease: Lease) -> None:
        self.leading = True
        self.store.fence(LEASE, self.node_id, lease.epoch)
        log.warning("this node (%s) now runs the engine, lease epoch %d", self.node_id, lease.epoch)
        await self._ensure_key()
        await self._on_lead()
        self.serving.set()
        self.bus.publish(LEADER_TOPIC, self.url)

    # -- who leads -------------------------------------------------------------------------------
    def _see(self, lease: Lease | None) -> None:
        self.lease = lease
        self._changed.set()

    @property
    def takeover_wait(self) -> float:
        """How long a forwarded request may wait for a survivor to take a dead holder's lease."""
        return self.ttl + self.renew + 2.0

    def _heard(self, _: str) -> None:
        """A leader change was announced on the bus: re-read the lease now instead of at timeout."""
        self._refresh()

    def _refresh(self) -> asyncio.Task[None]:
        """Read the lease, sharing one read among every request waiting for a new holder."""
        if self._reading is None or self._reading.done():
            self._reading = asyncio.get_running_loop().create_task(self._read_lease())
        return self._reading

    async def _read_lease(self) -> None:
        try:
            self._see(await self.store.lease_get(LEASE))
        except Exception as exc:
            log.warning("lease read failed: %s", exc)

    def suspect(self, url: str) -> None:
        """Forwarding to ``url`` failed to connect: avoid it until its lease is renewed again."""
        lease = self.lease
        self._suspects[url] = lease.expires_at if lease is not None and lease.url == url else 0.0

    def _usable(self, lease: Lease | None) -> bool:
        if lease is None or lease.holder == self.node_id:
            return False
        seen = self._suspects.get(lease.url)
        return seen is None or lease.expires_at > seen

    async def leader_url(self, wait: float) -> str | None:
        """The engine owner's URL, waiting up to ``wait`` seconds while there is none that answers."""
        deadline = time.monotonic() + wait
        while True:
            if self._usable(self.lease):
                assert self.lease is not None
                return self.lease.url
            left = deadline - time.monotonic()
            if left <= 0 or self.leading:
                return None
            # Woken by a claim or a bus notice; else poll the lease every 0.25 s until a survivor
            # holds it.
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.25))
            except TimeoutError:
                await asyncio.shield(self._refresh())

    # -- the key that signs forwarded client addresses -------------------------------------------
    async def _ensure_key(self) -> None:
        stored = await self.store.kv_get(*_KEY)
        if stored is None:
            stored = secrets.token_hex(32)
            await self.store.write(WriteIntent(kv_put=[(*_KEY, stored, None)]))
        self._key = bytes.fromhex(stored)

    async def key(self) -> bytes | None:
        if self._key is None:
            stored = await self.store.kv_get(*_KEY)
            self._key = bytes.fromhex(stored) if stored else None
        return self._key
