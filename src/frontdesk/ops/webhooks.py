"""Webhook delivery from the durable outbox: at least once, HMAC-SHA256 signed, with backoff.

Rows are written by the engine in the same transaction as their events (engine/webhooks.py). This
worker sends due rows, records every attempt (the delivery log admins read) and reschedules
failures with exponential backoff until ``MAX_ATTEMPTS``; a row is ``delivered`` after a 2xx answer
and ``failed`` after its last attempt. A crash between sending and recording repeats the delivery,
which is why receivers dedupe on ``X-Frontdesk-Delivery`` (at least once, never lost).

Signature: ``X-Frontdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable

import aiohttp

from frontdesk import __version__
from frontdesk.engine.core import Tx
from frontdesk.engine.engine import Engine
from frontdesk.store.protocol import DeliveryAttempt, OutboxRow

__all__ = ["Deliverer", "DeliveryAttempt", "OutboxRow", "sign", "verify"]

log = logging.getLogger("frontdesk.webhooks")

MAX_ATTEMPTS = 10
BACKOFF_BASE = 1.0  # seconds before the 2nd attempt; doubles each time
BACKOFF_MAX = 3600.0
TIMEOUT = 10.0
CONCURRENCY = 8
POLL_SECONDS = 1.0


def backoff(attempts: int) -> float:
    """Delay after the ``attempts``-th failed attempt: 1 s, 2 s, 4 s, ... at most an hour."""
    return float(min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, tolerance: float = 300.0) -> bool:
    """Receiver side of ``sign`` (documented in the README; used by the tests)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        ts = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(time.time() - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), f"t={ts},v1={parts.get('v1', '')}")


class Deliverer:
    def __init__(self, engine: Engine, *, on_result: Callable[[str, str], None] | None = None) -> None:
        self.engine = engine
        self.on_result = on_result  # (tenant id, outcome) for metrics
        self._wake = asyncio.Event()
        self._inflight: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    # -- the delivery log ----------------------------------------------------------------------
    async def log(
        self, tenant_id: str, webhook_id: str | None, limit: int, offset: int
    ) -> tuple[list[OutboxRow], int]:
        return await self.engine.store.outbox_list(tenant_id, webhook_id, limit, offset)

    async def get(self, delivery_id: str) -> OutboxRow | None:
        return await self.engine.store.outbox_get(delivery_id)

    async def attempts(self, delivery_id: str) -> list[DeliveryAttempt]:
        return await self.engine.store.delivery_attempts(delivery_id)

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self.engine.webhooks.on_enqueued = self.wake
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=TIMEOUT), headers={"User-Agent": f"Frontdesk/{__version__}"}
        )
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        self.engine.webhooks.on_enqueued = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        sem = asyncio.Semaphore(CONCURRENCY)
        running: set[asyncio.Task[None]] = set()
        while True:
            self._wake.clear()
            try:
                rows = await self.engine.store.outbox_due(time.time(), 100)
            except Exception:
                log.exception("reading the webhook outbox failed")
                rows = []
            for row in rows:
                if row.id in self._inflight:
                    continue
                self._inflight.add(row.id)
                await sem.acquire()
                task = asyncio.get_running_loop().create_task(self._deliver(row, sem))
                running.add(task)
                task.add_done_callback(running.discard)
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            except TimeoutError:
                pass

    async def _deliver(self, row: OutboxRow, sem: asyncio.Semaphore) -> None:
        try:
            await self.deliver_once(row)
        except Exception:
            log.exception("webhook delivery %s failed unexpectedly", row.id)
        finally:
            self._inflight.discard(row.id)
            sem.release()

    async def deliver_once(self, row: OutboxRow) -> None:
        tenant = self.engine.tenant(row.tenant_id)
        hook = None
        if tenant is not None:
            hook = next((w for w in tenant.config.webhooks if w.id == row.webhook_id), None)
        started = time.time()
        code: int | None = None
        error: str | None = None
        if hook is None or not hook.enabled:
            error = "webhook removed or disabled"
        else:
            body = row.payload.encode()
            ts = int(started)
            headers = {
                "Content-Type": "application/json",
                "X-Frontdesk-Event": row.event,
                "X-Frontdesk-Delivery": row.id,
                "X-Frontdesk-Webhook": row.webhook_id,
                "X-Frontdesk-Attempt": str(row.attempts + 1),
            }
            if hook.secret:
                headers["X-Frontdesk-Signature"] = sign(hook.secret, ts, body)
            assert self._session is not None
            try:
                async with self._session.post(
                    hook.url, data=body, headers=headers, allow_redirects=False
                ) as r:
                    code = r.status
                    await r.read()
                if not 200 <= code < 300:
                    error = f"HTTP {code}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
        finished = time.time()
        row.attempts += 1
        row.last_status = code
        row.last_error = error
        if error is None:
            row.status = "delivered"
            row.delivered_at = finished
        elif hook is None or not hook.enabled or row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
        else:
            row.next_at = finished + backoff(row.attempts)
        tx = Tx()
        tx.intent.outbox.append(row)
        tx.intent.attempts.append(
            DeliveryAttempt(row.id, row.attempts, started, code, error, int((finished - started) * 1000))
        )
        await self.engine.core.commit(tx)
        if self.on_result is not None:
            self.on_result(row.tenant_id, "delivered" if error is None else row.status)
        if error is not None:
            log.info("webhook %s delivery %s attempt %d: %s", row.webhook_id, row.id, row.attempts, error)
