"""WS-Security for the RightNow face (spec §6, §15 rule 3): the tenant's API credentials, the
shared nonce memory and the per-address lockout."""

from __future__ import annotations

import time

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError
from starlette.requests import Request

from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.soap import Credential, Envelope, SoapFault, SoapPolicy, read_username_token, verify_token
from frontdesk.soap.http import client_address
from frontdesk.soap.lockout import AuthLockout, LockoutRule

NONCE_NS = "rightnow:nonce"
LOCKOUT_NS = "rightnow:lockout"
_hasher = PasswordHasher()


def credential(tenant: Tenant, username: str) -> Credential | None:
    for c in tenant.config.faces.rightnow.credentials:
        if c.username == username:
            if c.password is not None:
                return Credential(c.username, c.password)
            if c.password_hash is not None:
                stored = c.password_hash

                def check(presented: str, stored: str = stored) -> bool:
                    try:
                        return bool(_hasher.verify(stored, presented))
                    except (Argon2Error, InvalidHashError):
                        return False

                return Credential(c.username, None, check)
    return None


async def authenticate(
    engine: Engine, request: Request, tenant: Tenant, env: Envelope, policy: SoapPolicy
) -> None:
    token = read_username_token(env)
    cfg = tenant.config.faces.rightnow
    lock = cfg.auth_lockout
    rule = LockoutRule(lock.enabled, lock.max_failures, lock.window_seconds, lock.lock_seconds)
    lockout = AuthLockout(engine, LOCKOUT_NS)
    address = client_address(request, engine.config.server.trusted_proxies)
    if await lockout.locked(rule, tenant.id, address):
        raise SoapFault("AUTH_FAILED")
    ok = await verify_token(
        token,
        credential(tenant, token.username),
        policy,
        nonces=engine,
        nonce_namespace=f"{NONCE_NS}:{tenant.id}",
        created_window=float(cfg.wss_created_window_seconds),
        nonce_window=float(cfg.wss_nonce_window_seconds),
        now=time.time(),
    )
    if not ok:
        await lockout.failed(rule, tenant.id, address)
        raise SoapFault("AUTH_FAILED")
