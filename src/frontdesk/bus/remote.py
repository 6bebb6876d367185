"""What the Redis and NATS buses share.

Both follow one shape so that per-chat topics cost nothing on the server: subscribers live only in
this process, and every node exchanges all wake-ups over ONE installation-wide channel. A publish
wakes local subscribers at once (a single-node install never waits for the network) and queues the
message for the other nodes; a receiving node drops its own messages, since it already delivered
them, and dispatches the rest to its local subscribers of the topic.

Because the store is the source of truth, the bus may lose wake-ups but must never block or raise
in the caller: the outgoing queue is bounded and drops (and counts) when full, and after a
reconnect every local subscriber is woken once with ``""`` so parked readers re-read the store
instead of waiting out a poll timeout for a wake-up that was lost while the connection was down.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import random
import secrets
from contextlib import suppress
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

import msgspec

from frontdesk.bus.memory import LocalSubscribers

log = logging.getLogger("frontdesk.bus")

QUEUE_MAX = 100_000
BATCH_MAX = 1_000
BACKOFF_FIRST = 0.1
BACKOFF_CAP = 2.0
CLOSE_FLUSH_SECONDS = 2.0

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(tuple[str, str, str]).decode


def encode_frame(origin: str, topic: str, payload: str) -> bytes:
    """A JSON array, so topics and payloads may hold any character (colons, newlines, quotes)."""
    return _encode((origin, topic, payload))


def decode_frame(data: bytes) -> tuple[str, str, str] | None:
    """None for anything another program wrote to the channel: it must not stop the reader."""
    try:
        return _decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def redact(url: str) -> str:
    """The URL for logs and errors: bus URLs are configuration secrets when they carry a password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


async def stop_task(task: asyncio.Task[None], within: float = 5.0) -> None:
    """Cancel ``task`` until it is done.

    One cancellation is not always enough: Python 3.11's ``asyncio.wait_for`` (redis-py sends every
    command through it) returns the result instead of raising when the cancel races with completion.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not task.done():
        if loop.time() > deadline:
            log.warning("bus task %s did not stop within %.0f s", task.get_name(), within)
            return
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    if not task.cancelled() and task.exception() is not None:
        log.warning("bus task %s failed", task.get_name(), exc_info=task.exception())


class Backoff:
    """Capped exponential delays with jitter, so nodes do not reconnect to a restarted server in step."""

    def __init__(self, first: float = BACKOFF_FIRST, cap: float = BACKOFF_CAP) -> None:
        self.first = first
        self.cap = cap
        self.attempts = 0

    def next(self) -> float:
        delay = min(self.cap, self.first * 2.0**self.attempts)
        self.attempts = min(self.attempts + 1, 32)
        return delay * random.uniform(0.8, 1.0)

    def reset(self) -> None:
        self.attempts = 0


class RemoteBus(LocalSubscribers, abc.ABC):
    """Local subscribers, the bounded outgoing queue, its sender task and outage bookkeeping.

    Subclasses connect, send a batch and read the channel; everything a caller can observe is here,
    so both backends behave the same under the contract tests.
    """

    kind: ClassVar[str]
    start_hint: ClassVar[str]

    def __init__(self, url: str, prefix: str, node_id: str, *, queue_max: int = QUEUE_MAX) -> None:
        super().__init__()
        self.url = url
        self.prefix = prefix
        self.node_id = node_id
        # Unique per instance even when two processes are (mis)configured with the same node id:
        # a shared origin would make each silently drop the other's wake-ups.
        self.origin = f"{node_id}/{secrets.token_hex(4)}"
        self.published = 0
        self.received = 0
        self.dropped = 0
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(queue_max)
        self._sender: asyncio.Task[None] | None = None
        self._closed = False  # no more publishes to other nodes; the sender flushes what is queued
        self._stopping = False  # flushing took too long or failed: the sender gives up its batch
        self._troubles: set[str] = set()
        self._recovery = asyncio.Event()

    # -- the Bus protocol ----------------------------------------------------------------------
    async def start(self) -> None:
        if self._sender is not None:
            return
        await self._connect()
        self._sender = asyncio.create_task(self._send_loop(), name=f"{self.kind}-bus-sender")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        sender = self._sender
        if sender is not None:
            # An empty frame only wakes a sender parked on an empty queue; a full queue needs no help.
            with suppress(asyncio.QueueFull):
                self._queue.put_nowait(b"")
            done, _ = await asyncio.wait({sender}, timeout=CLOSE_FLUSH_SECONDS)
            if not done:
                self._stopping = True
                await stop_task(sender)
                self.dropped += self._queue.qsize()
        await self._disconnect()
        self._subs.clear()

    def publish(self, topic: str, payload: str) -> None:
        self._deliver(topic, payload)
        if self._closed:
            self.dropped += 1
            return
        try:
            self._queue.put_nowait(encode_frame(self.origin, topic, payload))
        except asyncio.QueueFull:
            self.dropped += 1
        except UnicodeEncodeError:  # a lone surrogate cannot cross the wire; local delivery happened
            self.dropped += 1
            log.debug("bus payload for %r is not valid unicode; not sent to other nodes", topic)

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise when a message published now would not reach the other nodes."""

    # -- for subclasses ------------------------------------------------------------------------
    @abc.abstractmethod
    async def _connect(self) -> None:
        """Connect and subscribe, or raise ``self._unreachable(...)``.

        The subscription must be active on return, or wake-ups sent right after ``start`` are lost.
        """

    @abc.abstractmethod
    async def _send(self, batch: list[bytes]) -> None:
        """Send ``batch`` and count ``published``; on an exception ``batch`` holds what is left to send."""

    @abc.abstractmethod
    async def _disconnect(self) -> None:
        """Stop reading and close every connection; called once, after the sender has stopped."""

    def _retryable(self, exc: Exception) -> bool:
        """Whether sending the batch again can succeed (connection trouble) or would fail the same way."""
        return True

    def _unreachable(self, exc: BaseException | str) -> RuntimeError:
        return RuntimeError(
            f"{self.kind} bus at {redact(self.url)} is unreachable: {exc}; start it with: {self.start_hint}"
        )

    def _on_frame(self, data: bytes) -> None:
        frame = decode_frame(data)
        if frame is None:
            self.dropped += 1
            log.debug("ignored a foreign message on the %s bus channel", self.kind)
            return
        origin, topic, payload = frame
        if origin == self.origin:
            return  # delivered locally when it was published
        self.received += 1
        self._deliver(topic, payload)

    def _resync(self) -> None:
        """Wake every local subscriber: wake-ups sent while we were not listening are gone."""
        for topic in list(self._subs):
            self._deliver_subscribers(topic, "")
        self._tell_every(None, "")

    def _trouble(self, part: str, exc: BaseException | str) -> None:
        """One WARNING per outage, however many connections and retries notice it."""
        if not self._troubles and not self._closed:
            log.warning(
                "%s bus at %s lost (%s: %s); retrying every %.1f-%.1f s, wake-ups are queued",
                self.kind,
                redact(self.url),
                part,
                exc,
                BACKOFF_FIRST,
                BACKOFF_CAP,
            )
        self._troubles.add(part)

    def _recovered(self, part: str) -> None:
        self._recovery.set()
        if part in self._troubles:
            self._troubles.discard(part)
            if not self._troubles and not self._closed:
                log.info("%s bus at %s is back", self.kind, redact(self.url))

    def _check_healthy(self) -> None:
        if self._closed:
            raise RuntimeError(f"{self.kind} bus is closed")
        if self._troubles:
            raise RuntimeError(
                f"{self.kind} bus at {redact(self.url)} is reconnecting ({', '.join(sorted(self._troubles))})"
            )

    # -- internals -----------------------------------------------------------------------------
    async def _send_loop(self) -> None:
        backoff = Backoff()
        while not (self._closed and self._queue.empty()):
            batch = [frame for frame in await self._next_batch() if frame]
            while batch and not self._stopping:
                try:
                    await self._send(batch)
                except Exception as exc:
                    if not self._retryable(exc):
                        self.dropped += len(batch)
                        log.warning("%s bus refused %d wake-ups: %s", self.kind, len(batch), exc)
                        break
                    self._trouble("publish", exc)
                    await self._pause(backoff.next())
                else:
                    batch.clear()
                    backoff.reset()
                    self._recovered("publish")

    async def _pause(self, delay: float) -> None:
        """Sleep ``delay``, or less once another connection saw the server back: resend at once."""
        self._recovery.clear()
        with suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._recovery.wait()

    async def _next_batch(self) -> list[bytes]:
        batch = [await self._queue.get()]
        while len(batch) < BATCH_MAX:
            try:
                batch.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        return batch
