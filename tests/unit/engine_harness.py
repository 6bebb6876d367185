"""An in-process engine on a temporary SQLite store, for engine rule tests (no HTTP)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from frontdesk.config import load_config
from frontdesk.domain.model import Chat
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant


class Harness:
    def __init__(self, data_dir: Path, **timers: int) -> None:
        self.loop = asyncio.new_event_loop()
        cfg = load_config(None, overrides={"data_dir": str(data_dir)})
        for key, value in timers.items():
            setattr(cfg.tenants[0].timers, key, value)
        self.engine = Engine(cfg)
        self.run(self.engine.start())
        tenant = self.engine.tenant("example.com")
        assert tenant is not None
        self.tenant: Tenant = tenant
        self.n = 0

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def settle(self) -> None:
        """Let coalesced routing passes and their commits finish."""

        async def drain() -> None:
            core = self.engine.core
            for _ in range(200):
                await asyncio.sleep(0)
                if not core._tasks and not core._route_pending:
                    await asyncio.sleep(0)
                    if not core._tasks and not core._route_pending:
                        return

        self.run(drain())

    def new_chat(self, entry: str = "test") -> Chat:
        self.n += 1
        ep = self.tenant.entry_point("servicepattern", entry)
        assert ep is not None
        chat, _ = self.run(
            self.engine.create_chat(self.tenant, ep, customer={"first_name": f"C{self.n}"}, pre_chat={})
        )
        self.settle()
        return chat  # type: ignore[no-any-return]

    def seen(self, login: str) -> None:
        async def touch() -> None:
            self.engine.agent_seen(self.tenant, login)

        self.run(touch())

    def ready(self, login: str) -> None:
        self.seen(login)
        self.run(self.engine.set_agent_state(self.tenant, login, "ready", None))
        self.settle()

    def close(self) -> None:
        self.run(self.engine.close())
        self.loop.close()
