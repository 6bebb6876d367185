"""HTTP Basic integration credentials of chatAuthenticate (fusion-chat.md §2.2, §10 rules 1-2;
config.md §4, §5).

The tenant comes from the username (unique per server). Clear passwords are compared in constant
time; ``password_hash`` credentials cost an argon2 check, so successes are cached per node for five
minutes under an HMAC of tenant, user, presented password and stored hash (a changed credential
misses the cache). Failures are never cached. Lockout counters live in the store so that every node
sees the same count.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import time
from dataclasses import dataclass

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.requests import Request

from frontdesk.config.face_models import FusionCredential
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.fusion.http import AdfError, client_address

CACHE_SECONDS = 300.0
KV_LOCKOUT = "fusion_lockout"
_hasher = PasswordHasher()
_process_key = os.urandom(32)
_DUMMY = os.urandom(16).hex()


def unauthorized() -> AdfError:
    return AdfError(401, None, headers={"WWW-Authenticate": 'Basic realm="Frontdesk"'})


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """``(username, password)`` of a Basic header; padding optional, scheme case-insensitive."""
    if not header:
        return None
    scheme, _, data = header.strip().partition(" ")
    data = data.strip()
    if scheme.lower() != "basic" or not data:
        return None
    data += "=" * (-len(data) % 4)
    try:
        text = base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = text.partition(":")
    if not sep:
        return None
    return user, password


def find(engine: Engine, username: str) -> tuple[Tenant, FusionCredential] | None:
    for tenant in engine.registry.tenants.values():
        face = tenant.config.faces.fusion
        if not face.enabled:
            continue
        for cred in face.credentials:
            if hmac.compare_digest(cred.username.encode(), username.encode()) and cred.username == username:
                return tenant, cred
    return None


def _argon2(hash_: str, password: str) -> bool:
    try:
        return _hasher.verify(hash_, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(slots=True)
class Verifier:
    engine: Engine
    cache: dict[bytes, float]

    async def password_ok(self, tenant: Tenant, cred: FusionCredential, password: str) -> bool:
        if cred.password is not None:
            return hmac.compare_digest(cred.password.encode(), password.encode())
        if cred.password_hash is None:
            return False
        mac = hmac.new(
            _process_key,
            "\0".join((tenant.id, cred.username, password, cred.password_hash)).encode(),
            hashlib.sha256,
        ).digest()
        now = time.monotonic()
        until = self.cache.get(mac)
        if until is not None and until > now:
            return True
        ok = await asyncio.to_thread(_argon2, cred.password_hash, password)
        if ok:
            if len(self.cache) > 10_000:
                self.cache = {k: v for k, v in self.cache.items() if v > now}
            self.cache[mac] = now + CACHE_SECONDS
        return ok

    async def authenticate(self, request: Request) -> tuple[Tenant, FusionCredential]:
        """The caller's tenant and account, or 401 (identical for every failure) / 429."""
        parsed = parse_basic(request.headers.get("authorization"))
        found = find(self.engine, parsed[0]) if parsed else None
        lock_tenant = found[0] if found else self._default_tenant()
        addr = client_address(request, lock_tenant)
        await self._check_lock(lock_tenant, addr)
        ok = False
        if parsed is not None and found is not None:
            ok = await self.password_ok(found[0], found[1], parsed[1])
        elif parsed is not None:
            hmac.compare_digest(_DUMMY.encode(), parsed[1].encode())
        if not ok or found is None:
            await self._failed(lock_tenant, addr)
            raise unauthorized()
        return found

    def _default_tenant(self) -> Tenant | None:
        reg = self.engine.registry
        return reg.tenant(reg.config.server.default_tenant) or next(iter(reg.tenants.values()), None)

    async def _check_lock(self, tenant: Tenant | None, addr: str) -> None:
        if tenant is None or not tenant.config.faces.fusion.auth_lockout.enabled:
            return
        raw = await self.engine.kv_get(KV_LOCKOUT, f"{tenant.id}:{addr}")
        if raw is None:
            return
        state = msgspec.json.decode(raw)
        if float(state.get("locked_until", 0)) > time.time():
            lock = tenant.config.faces.fusion.auth_lockout.lock_seconds
            raise AdfError(
                429,
                "TOO_MANY_REQUESTS",
                "Too many failed sign-in attempts.",
                headers={"Retry-After": str(lock)},
            )

    async def _failed(self, tenant: Tenant | None, addr: str) -> None:
        if tenant is None or not tenant.config.faces.fusion.auth_lockout.enabled:
            return
        lock = tenant.config.faces.fusion.auth_lockout
        key = f"{tenant.id}:{addr}"
        raw = await self.engine.kv_get(KV_LOCKOUT, key)
        state = msgspec.json.decode(raw) if raw else {}
        now = time.time()
        fails = [t for t in state.get("fails", []) if now - t < lock.window_seconds] + [now]
        locked_until = float(state.get("locked_until", 0))
        if len(fails) >= lock.max_failures:
            locked_until = now + lock.lock_seconds
            fails = []
        value = msgspec.json.encode({"fails": fails, "locked_until": locked_until}).decode()
        await self.engine.kv_put(KV_LOCKOUT, key, value, max(locked_until, now + lock.window_seconds))
