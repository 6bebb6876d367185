"""Native sign-in: argon2 password checks and HS256 tokens signed with per-tenant keys kept in the
store, so that every node verifies every token (native.md 1.2)."""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from frontdesk.domain import errors
from frontdesk.engine.core import Core, Tx
from frontdesk.engine.tenants import Tenant

_hasher = PasswordHasher()
ISSUER = "frontdesk"
AUDIENCE = "frontdesk-native"
# A valid hash of a random password, checked when the login is unknown so timing does not tell.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


@dataclass(slots=True, frozen=True)
class Principal:
    tenant_id: str
    login: str
    roles: tuple[str, ...]

    def has(self, role: str) -> bool:
        return role in self.roles


def verify_password(hash_: str | None, password: str) -> bool:
    try:
        return _hasher.verify(hash_ or _DUMMY_HASH, password) and hash_ is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class Auth:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.keys: dict[str, list[tuple[int, bytes]]] = {}
        self.failures: dict[tuple[str, str, str], list[float]] = {}

    async def start(self) -> None:
        tx = Tx()
        for tenant_id in self.core.registry.tenants:
            raw = await self.core.store.kv_get("token_keys", tenant_id)
            keys = [(n, bytes.fromhex(k)) for n, k in msgspec.json.decode(raw)] if raw else []
            if not keys:
                keys = [(1, secrets.token_bytes(32))]
                tx.intent.kv_put.append(("token_keys", tenant_id, _encode_keys(keys), None))
            self.keys[tenant_id] = keys
        await self.core.commit(tx)

    async def rotate(self, tenant_id: str) -> int:
        keys = self.keys.setdefault(tenant_id, [])
        n = (keys[-1][0] + 1) if keys else 1
        keys.append((n, secrets.token_bytes(32)))
        tx = Tx()
        tx.intent.kv_put.append(("token_keys", tenant_id, _encode_keys(keys), None))
        await self.core.commit(tx)
        return n

    def _lockout(self, tenant: Tenant, login: str, addr: str) -> None:
        lock = tenant.config.faces.native.auth_lockout
        if not lock.enabled:
            return
        now = time.time()
        recent = [t for t in self.failures.get((tenant.id, login, addr), []) if now - t < lock.window_seconds]
        if len(recent) >= lock.max_failures and now - recent[-1] < lock.lock_seconds:
            raise errors.AuthLocked()

    async def login(self, tenant: Tenant | None, login: str, password: str, addr: str) -> tuple[str, float]:
        if tenant is not None:
            self._lockout(tenant, login, addr)
        user = tenant.users.get(login) if tenant else None
        hash_ = user.password_hash if user is not None and not user.disabled else None
        ok = await asyncio.to_thread(verify_password, hash_, password)
        if not ok or tenant is None or user is None:
            if tenant is not None:
                self.failures.setdefault((tenant.id, login, addr), []).append(time.time())
            raise errors.InvalidCredentials("Invalid credentials")
        self.failures.pop((tenant.id, login, addr), None)
        return self.issue(tenant, login)

    def issue(self, tenant: Tenant, login: str) -> tuple[str, float]:
        user = tenant.users[login]
        n, key = self.keys[tenant.id][-1]
        now = int(time.time())
        exp = now + tenant.config.faces.native.token_ttl_seconds
        agent = self.core.agent(tenant.id, login)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": login,
            "tid": tenant.id,
            "roles": _roles(user.roles),
            "iat": now,
            "exp": exp,
            "jti": str(uuid.uuid4()),
            "tv": agent.token_version,
        }
        token = jwt.encode(claims, key, algorithm="HS256", headers={"kid": f"{tenant.id}:{n}"})
        return token, float(exp)

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            tenant_id, _, n = str(header.get("kid", "")).rpartition(":")
            key = next(k for num, k in self.keys.get(tenant_id, []) if str(num) == n)
            claims = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=5,
                options={"require": ["exp", "iat", "sub", "tid"]},
            )
        except (jwt.PyJWTError, StopIteration, ValueError) as exc:
            raise errors.Unauthenticated("token missing, malformed, expired or revoked") from exc
        tenant = self.core.registry.tenant(claims["tid"])
        if tenant is None or claims["tid"] != tenant_id:
            raise errors.Unauthenticated()
        user = tenant.users.get(claims["sub"])
        if user is None or user.disabled:
            raise errors.Unauthenticated()
        if not hmac.compare_digest(
            str(claims.get("tv")), str(self.core.agent(tenant.id, user.login).token_version)
        ):
            raise errors.Unauthenticated("token revoked")
        return Principal(tenant.id, user.login, tuple(_roles(user.roles)))

    async def revoke_all(self, tenant_id: str, login: str) -> None:
        agent = self.core.agent(tenant_id, login)
        agent.token_version += 1
        tx = Tx()
        tx.intent.save_agent(agent)
        await self.core.commit(tx)


def _roles(roles: list[str]) -> list[str]:
    return [r for r in ("agent", "supervisor", "admin") if r in roles]


def _encode_keys(keys: list[tuple[int, bytes]]) -> str:
    return msgspec.json.encode([(n, k.hex()) for n, k in keys]).decode()
