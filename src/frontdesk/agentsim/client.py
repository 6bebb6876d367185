"""REST access of one simulated agent: login, token renewal and problem answers (spec/native.md §1, §2).

Kept apart from the WebSocket logic so that every REST call, from any task of the agent, shares
one token and renews it in one place.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp

BACKOFF_MIN: Final = 0.5
BACKOFF_MAX: Final = 30.0
FATAL_HTTP: Final = frozenset({400, 401, 403, 404, 405})
NETWORK_ERRORS: Final = (aiohttp.ClientError, OSError, TimeoutError)

Json = dict[str, Any]


class ApiError(Exception):
    """A problem answer (§2.1); `code` is what clients branch on."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        label = f"{status} {code or 'no problem code'}"
        super().__init__(f"{label}: {detail}" if detail else label)
        self.status, self.code, self.detail = status, code, detail


class AgentFatal(Exception):
    """Login or WebSocket failed for good: the simulator exits 1."""


def backoff_delay(attempt: int, rng: random.Random) -> float:
    """Exponential back-off from 0.5 s to 30 s with jitter (§6.5), so many agents do not reconnect
    in lockstep after a server restart."""
    base = min(BACKOFF_MAX, BACKOFF_MIN * (2 ** max(0, attempt - 1)))
    return max(BACKOFF_MIN, rng.uniform(base / 2, base))


class ApiClient:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        login: str,
        password: str,
        tenant: str | None,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self.login = login
        self._password = password
        self._tenant = tenant
        self.token = ""
        self.generation = 0  # bumped per new token, so concurrent 401s renew it only once
        self.lifetime = 28_800.0
        self.profile: Json = {}
        self._lock = asyncio.Lock()

    @property
    def base_url(self) -> str:
        return self._base

    async def call(self, method: str, path: str, body: Json | None = None, *, auth: bool = True) -> Any:
        """One REST call; an expired or revoked token is renewed by logging in again, once."""
        gen = self.generation
        try:
            return await self._request(method, path, body, auth)
        except ApiError as exc:
            if not (auth and exc.status == 401 and exc.code != "invalid_credentials"):
                raise
        await self.relogin(gen)
        return await self._request(method, path, body, auth)

    async def _request(self, method: str, path: str, body: Json | None, auth: bool) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        async with self._http.request(method, self._base + path, json=body, headers=headers) as resp:
            raw = await resp.read()
            status = resp.status
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        if status < 400:
            return data
        problem = data if isinstance(data, dict) else {}
        raise ApiError(status, str(problem.get("code", "")), str(problem.get("detail", "")))

    async def sign_in(self) -> None:
        """`POST /api/v1/auth/login`; a refusal (wrong password, no such tenant) is fatal."""
        body: Json = {"login": self.login, "password": self._password}
        if self._tenant:
            body["tenant"] = self._tenant
        try:
            data = await self.call("POST", "/api/v1/auth/login", body, auth=False)
        except ApiError as exc:
            if exc.status in FATAL_HTTP:
                raise AgentFatal(f"login failed: {exc}") from exc
            raise
        self.take_token(data)
        self.profile = dict((data.get("user") or {}).get("profile") or {})

    def take_token(self, data: Json) -> None:
        self.token = str(data["token"])
        self.generation += 1
        try:
            expires = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00"))
            self.lifetime = max(10.0, (expires - datetime.now(UTC)).total_seconds())
        except (KeyError, ValueError):
            pass

    async def relogin(self, gen: int) -> None:
        async with self._lock:
            if gen == self.generation:  # nobody else renewed the token meanwhile
                await self.sign_in()

    async def refresh(self) -> None:
        """`POST /api/v1/auth/refresh`, falling back to a new login when that fails."""
        try:
            self.take_token(await self.call("POST", "/api/v1/auth/refresh"))
        except (ApiError, *NETWORK_ERRORS):
            await self.relogin(self.generation)
