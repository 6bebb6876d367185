"""Per-address lockout after repeated failed authentications, kept in the shared key-value table so
every node counts the same failures (ARCHITECTURE.md 10.6)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from frontdesk.soap.wsse import KeyValue


@dataclass(frozen=True, slots=True)
class LockoutRule:
    enabled: bool
    max_failures: int
    window_seconds: float
    lock_seconds: float


class AuthLockout:
    def __init__(self, kv: KeyValue, namespace: str) -> None:
        self._kv = kv
        self._ns = namespace

    async def locked(self, rule: LockoutRule, scope: str, client: str) -> bool:
        if not rule.enabled:
            return False
        return await self._kv.kv_get(self._ns, f"lock:{scope}:{client}") is not None

    async def failed(self, rule: LockoutRule, scope: str, client: str) -> None:
        if not rule.enabled:
            return
        now = time.time()
        key = f"fail:{scope}:{client}"
        raw = await self._kv.kv_get(self._ns, key)
        try:
            stamps = [float(x) for x in json.loads(raw)] if raw else []
        except (ValueError, TypeError):
            stamps = []
        stamps = [t for t in stamps if now - t < rule.window_seconds] + [now]
        if len(stamps) >= rule.max_failures:
            await self._kv.kv_put(self._ns, f"lock:{scope}:{client}", "1", now + rule.lock_seconds)
            await self._kv.kv_delete(self._ns, key)
        else:
            await self._kv.kv_put(
                self._ns, key, json.dumps(stamps[-rule.max_failures :]), now + rule.window_seconds
            )
