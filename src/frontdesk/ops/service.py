"""The operations services of one app, composed around the engine and started with it."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

from frontdesk.engine.engine import Engine
from frontdesk.ops.admin import Admin
from frontdesk.ops.limits import MemoryBuckets, RateLimiter
from frontdesk.ops.metrics import Metrics
from frontdesk.ops.webhooks import Deliverer

log = logging.getLogger("frontdesk.ops")
RETENTION_INTERVAL = 3600.0


class Ops:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        server = engine.config.server
        self.metrics = Metrics(engine) if server.metrics.enabled else None
        self.limiter = RateLimiter(server.limits.rate_limit, server.trusted_proxies, MemoryBuckets())
        on_result = self.metrics.webhook_result if self.metrics is not None else None
        self.deliverer = Deliverer(engine, on_result=on_result)
        self.admin = Admin(engine)
        self._retention: asyncio.Task[None] | None = None
        if self.metrics is not None:
            self.metrics.install()

    @property
    def body_cap(self) -> int:
        """Larger than every body any face accepts: the server and tenant upload limits plus headroom."""
        server = self.engine.config.server
        uploads = [t.upload_max_bytes(server) for t in self.engine.config.tenants]
        return max([server.limits.request_body_max_bytes, server.limits.upload_max_bytes, *uploads]) + (
            1 << 20
        )

    async def start(self) -> None:
        await self.admin.start()
        await self.deliverer.start()
        self._retention = asyncio.get_running_loop().create_task(self._retention_loop())

    async def close(self) -> None:
        if self._retention is not None:
            self._retention.cancel()
            await asyncio.gather(self._retention, return_exceptions=True)
        await self.deliverer.close()

    async def _retention_loop(self) -> None:
        while True:
            try:
                await self.engine.purge_retention()
            except Exception:
                log.exception("retention pass failed")
            await asyncio.sleep(RETENTION_INTERVAL)


def ops_of(engine: Engine) -> Ops:
    """The engine's Ops, created on first use (the app and the native admin routes share it)."""
    ops = engine.extensions.get("ops")
    if ops is None:
        ops = engine.extensions["ops"] = Ops(engine)
    return cast(Ops, ops)
