"""What the CRM On Demand SOAP endpoint, the CTICommand servlet and the CRM admin API share: CRM
user authentication with the per sign-in id and address lockout (crmod-cti.md §10.3)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from frontdesk.crm.model import PRIVILEGES
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.soap.http import client_address
from frontdesk.soap.lockout import AuthLockout, LockoutRule

LOCKOUT_NS = "crmod:lockout"
CTI_PRIVILEGES = frozenset(PRIVILEGES)


@dataclass(slots=True)
class CrmUser:
    tenant: Tenant
    user: dict[str, Any]

    @property
    def sign_in(self) -> str:
        return str(self.user["SignInId"])

    def has(self, privilege: str) -> bool:
        return privilege in (self.user.get("Privileges") or [])


def _rule(engine: Engine, tenant_id: str | None) -> LockoutRule:
    tenant = engine.tenant(tenant_id) if tenant_id else None
    if tenant is None:
        tenant = engine.tenant(engine.config.server.default_tenant) or next(
            iter(engine.registry.tenants.values())
        )
    lock = tenant.config.faces.crmod.auth_lockout
    return LockoutRule(lock.enabled, lock.max_failures, lock.window_seconds, lock.lock_seconds)


async def authenticate(engine: Engine, request: Request, sign_in: str, password: str) -> CrmUser | None:
    """The CRM user, or None for an unknown, disabled, locked or wrong-password user alike."""
    found = engine.crm.find_user(sign_in)
    rule = _rule(engine, found[0] if found else None)
    lockout = AuthLockout(engine, LOCKOUT_NS)
    scope = sign_in.strip().lower()
    address = client_address(request, engine.config.server.trusted_proxies)
    if await lockout.locked(rule, scope, address):
        return None
    result = await engine.crm.authenticate(sign_in, password)
    tenant = engine.tenant(result[0]) if result else None
    if result is None or tenant is None or not tenant.config.faces.crmod.enabled:
        await lockout.failed(rule, scope, address)
        return None
    return CrmUser(tenant, result[1])


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return user, password


async def basic_user(engine: Engine, request: Request) -> CrmUser | None:
    creds = basic_credentials(request)
    if creds is None or not creds[0].strip():
        return None
    return await authenticate(engine, request, creds[0].strip(), creds[1])
