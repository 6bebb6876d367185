"""NATS bus: every node publishes to and subscribes on the one subject ``{prefix}.wake``.

Unlike redis-py, nats-py reconnects, resubscribes and buffers publishes (up to ``pending_size``)
on its own and tells us through callbacks, so this module only shapes that: a capped backoff
through ``reconnect_to_server_handler``, one WARNING per outage, and the resync wake-up once the
subscription is back. ``no_echo`` spares the server sending each node its own wake-ups.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from nats.aio.client import Client, Server
from nats.aio.msg import Msg
from nats.errors import MaxPayloadError, SlowConsumerError

from frontdesk.bus.remote import QUEUE_MAX, Backoff, RemoteBus, log, redact

START_NATS = (
    "start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- "
    "-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log"
)
CONNECT_TIMEOUT = 2
START_TIMEOUT = 5.0
FLUSH_TIMEOUT = 2
# Client-side heartbeat: after PING_INTERVAL * MAX_OUTSTANDING_PINGS seconds of silence a connection
# that broke without a FIN/RST is declared stale and reconnected.
PING_INTERVAL = 5
MAX_OUTSTANDING_PINGS = 3
_PREFIX = re.compile(r"[^\s.*>]+(\.[^\s.*>]+)*")


class NatsBus(RemoteBus):
    """Wake-ups over core NATS (no JetStream: a wake-up is worthless once it is late)."""

    kind = "nats"
    start_hint = START_NATS

    def __init__(self, url: str, prefix: str, node_id: str, *, queue_max: int = QUEUE_MAX) -> None:
        if not _PREFIX.fullmatch(prefix):
            raise ValueError(
                f"bus channel_prefix {prefix!r} cannot start a NATS subject (dots, no spaces, * or >)"
            )
        super().__init__(url, prefix, node_id, queue_max=queue_max)
        self.subject = f"{prefix}.wake"
        self._nc: Client | None = None
        self._backoff = Backoff()
        self._last_error: BaseException | None = None

    async def ping(self) -> None:
        self._check_healthy()
        nc = self._nc
        # While reconnecting, flush() only moves bytes into the pending buffer and returns.
        if nc is None or not nc.is_connected:
            raise RuntimeError(f"nats bus at {redact(self.url)} is not connected")
        await nc.flush(timeout=FLUSH_TIMEOUT)

    async def _connect(self) -> None:
        nc = Client()
        try:
            # nats-py retries the first connect forever when reconnects are unlimited; bound it here.
            async with asyncio.timeout(START_TIMEOUT):
                await nc.connect(
                    servers=self.url,
                    name=f"frontdesk-bus:{self.node_id}",
                    no_echo=True,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    connect_timeout=CONNECT_TIMEOUT,
                    ping_interval=PING_INTERVAL,
                    max_outstanding_pings=MAX_OUTSTANDING_PINGS,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    reconnect_to_server_handler=self._next_server,
                )
                await nc.subscribe(self.subject, cb=self._on_msg)
                await nc.flush(timeout=FLUSH_TIMEOUT)  # the server has the SUB before start returns
        except BaseException as exc:
            await nc.close()
            if isinstance(exc, Exception):
                raise self._unreachable(self._last_error or exc) from exc
            raise
        self._nc = nc

    def _next_server(self, servers: list[Server], info: dict[str, Any]) -> tuple[Server | None, float]:
        """Capped backoff between reconnect attempts (nats-py alone waits a fixed time)."""
        return None, self._backoff.next()

    async def _on_msg(self, msg: Msg) -> None:
        self._on_frame(msg.data)

    async def _on_error(self, exc: Exception) -> None:
        self._last_error = exc
        if isinstance(exc, SlowConsumerError):
            self.dropped += 1  # the wake-up is gone; the waiter's poll timeout covers it
        log.debug("nats bus: %r", exc)

    async def _on_disconnected(self) -> None:
        nc = self._nc
        if nc is not None and not nc.is_closed:
            self._trouble("connection", nc.last_error or "disconnected")

    async def _on_reconnected(self) -> None:
        # nats-py replayed our SUB and flushed before calling this: the subscription is active.
        self._backoff.reset()
        self._recovered("connection")
        self._resync()

    async def _send(self, batch: list[bytes]) -> None:
        nc = self._nc
        assert nc is not None
        sent = 0
        try:
            for frame in batch:
                try:
                    await nc.publish(self.subject, frame)
                    self.published += 1
                except MaxPayloadError:  # retrying cannot make it fit
                    self.dropped += 1
                sent += 1
        finally:
            del batch[:sent]
        await nc.flush(timeout=FLUSH_TIMEOUT)

    async def _disconnect(self) -> None:
        if self._nc is not None:
            await self._nc.close()
