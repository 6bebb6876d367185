"""Redis pub/sub bus: every node PUBLISHes to and SUBSCRIBEs on the one channel ``{prefix}:wake``.

redis-py would quietly reconnect a pub/sub connection and resubscribe, which hides the outage from
us; we need to see it, because wake-ups sent meanwhile are lost and parked readers must be told to
re-read the store. So the client runs without its own retries and this module owns reconnection.
"""

from __future__ import annotations

import asyncio
import re

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from frontdesk.bus.remote import QUEUE_MAX, Backoff, RemoteBus, stop_task

START_REDIS = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no '
    "--dir /var/lib/redis --logfile /var/log/redis/ci.log"
)
CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 5.0
READ_TICK = 1.0
# A silent network (no RST, e.g. a vanished NAT entry) never errors a blocked read; a PING after
# this much silence that stays unanswered as long again is how a dead subscription is noticed.
IDLE_PING = 5.0


class RedisBus(RemoteBus):
    """Wake-ups over Redis pub/sub; see ``frontdesk.bus.remote`` for the shared design."""

    kind = "redis"
    start_hint = START_REDIS

    def __init__(self, url: str, prefix: str, node_id: str, *, queue_max: int = QUEUE_MAX) -> None:
        super().__init__(url, prefix, node_id, queue_max=queue_max)
        self.channel = f"{prefix}:wake"
        self._client: Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None

    async def ping(self) -> None:
        self._check_healthy()
        assert self._client is not None
        await self._client.ping()

    async def _connect(self) -> None:
        client = Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            # Shows which node a connection belongs to in CLIENT LIST (and lets tests kill it).
            client_name="frontdesk-bus:" + re.sub(r"\s", "_", self.node_id),
        )
        try:
            await client.ping()
            self._pubsub = await self._subscribe(client)
        except BaseException as exc:
            await client.aclose()
            if isinstance(exc, (RedisError, OSError)):
                raise self._unreachable(exc) from exc
            raise
        self._client = client
        self._reader = asyncio.create_task(self._read_loop(client), name="redis-bus-reader")

    async def _subscribe(self, client: Redis) -> PubSub:
        """A subscription the server has confirmed: only then can a resync wake-up cover the gap."""
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            async with asyncio.timeout(COMMAND_TIMEOUT):
                while True:
                    message = await pubsub.get_message(timeout=COMMAND_TIMEOUT)
                    if message is not None and message["type"] == "subscribe":
                        return pubsub
        except BaseException:
            await _close(pubsub)
            raise

    async def _read_loop(self, client: Redis) -> None:
        backoff = Backoff()
        while not self._closed:  # checked too, since a cancellation can be swallowed (see stop_task)
            try:
                if self._pubsub is None:
                    self._pubsub = await self._subscribe(client)
                    backoff.reset()
                    self._recovered("subscribe")
                    self._resync()
                await self._pump(self._pubsub)
            except Exception as exc:  # whatever it was, a dead reader would leave this node deaf
                self._trouble("subscribe", exc)
                if self._pubsub is not None:
                    pubsub, self._pubsub = self._pubsub, None
                    await _close(pubsub)
                await asyncio.sleep(backoff.next())

    async def _pump(self, pubsub: PubSub) -> None:
        loop = asyncio.get_running_loop()
        heard = loop.time()
        pinged: float | None = None
        while not self._closed:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=READ_TICK)
            now = loop.time()
            if message is None:
                if pinged is not None and now - pinged > IDLE_PING:
                    raise RedisTimeoutError(f"no answer to PING within {IDLE_PING:.0f} s")
                if pinged is None and now - heard > IDLE_PING:
                    await pubsub.ping()
                    pinged = now
                continue
            heard, pinged = now, None
            if message["type"] == "message":
                self._on_frame(message["data"])

    async def _send(self, batch: list[bytes]) -> None:
        assert self._client is not None
        async with self._client.pipeline(transaction=False) as pipe:
            for frame in batch:
                pipe.publish(self.channel, frame)
            await pipe.execute()
        self.published += len(batch)

    def _retryable(self, exc: Exception) -> bool:
        # A server that answered with an error (ACL, OOM) will answer the same again; resending would
        # also repeat the frames that did go out before it.
        return isinstance(exc, (RedisConnectionError, RedisTimeoutError, OSError))

    async def _disconnect(self) -> None:
        if self._reader is not None:
            await stop_task(self._reader)
        if self._pubsub is not None:
            await _close(self._pubsub)
            self._pubsub = None
        if self._client is not None:
            await self._client.aclose()


async def _close(pubsub: PubSub) -> None:
    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves this one unannotated
