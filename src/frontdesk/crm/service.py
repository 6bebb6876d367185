"""The CRM records service of the engine (native.md §9.1): per-tenant data, seeding, persistence,
CRM user authentication (config.md §4, §5) and the CRM On Demand operation allotment."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from pathlib import Path
from typing import Any

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError

from frontdesk.crm import model as m
from frontdesk.crm.data import CrmData
from frontdesk.crm.dataset import DatasetError, all_rows, load_dataset
from frontdesk.domain import errors
from frontdesk.store.protocol import Store, WriteIntent

log = logging.getLogger("frontdesk.crm")
_hasher = PasswordHasher()
CACHE_SECONDS = 300.0


class RecordNotFound(errors.FrontdeskError):
    code, status, title = "record_not_found", 404, "CRM record not found"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def seed_document(tenant_cfg: Any) -> dict[str, Any] | None:
    crm = tenant_cfg.crm
    if crm.seed is not None:
        return dict(crm.seed)
    if crm.seed_file:
        text = Path(crm.seed_file).read_text(encoding="utf-8")
        doc = yaml.safe_load(text)
        return doc if isinstance(doc, dict) else {}
    return None


def build_seed(tenant_cfg: Any) -> CrmData:
    doc = seed_document(tenant_cfg)
    if doc is None:
        return CrmData(tenant_cfg.id, tenant_cfg.crm.id_prefix)
    return load_dataset(tenant_cfg.id, doc, hash_password, tenant_cfg.crm.id_prefix)


class CrmService:
    def __init__(self, store: Store, registry: Any) -> None:
        self.store = store
        self.registry = registry
        self.tenants: dict[str, CrmData] = {}
        self._cache_key = secrets.token_bytes(32)
        self._auth_cache: dict[bytes, float] = {}
        self._allotment: dict[str, tuple[str, int]] = {}

    async def start(self) -> None:
        for tenant_id, tenant in self.registry.tenants.items():
            rows = await self.store.crm_rows(tenant_id)
            if rows:
                data = CrmData(tenant_id, tenant.config.crm.id_prefix)
                data.load_rows(rows)
                self.tenants[tenant_id] = data
                continue
            try:
                data = build_seed(tenant.config)
            except DatasetError as exc:
                raise RuntimeError(
                    f"tenant {tenant_id}: CRM seed dataset: {'; '.join(exc.problems)}"
                ) from None
            self.tenants[tenant_id] = data
            await self.store.write(WriteIntent(crm_clear=[tenant_id], crm_put=all_rows(data)))

    def data(self, tenant_id: str) -> CrmData:
        data = self.tenants.get(tenant_id)
        if data is None:
            tenant = self.registry.tenant(tenant_id)
            data = self.tenants[tenant_id] = CrmData(
                tenant_id, tenant.config.crm.id_prefix if tenant else "FD"
            )
        return data

    # -- persistence -------------------------------------------------------------------------
    def add_to(self, intent: WriteIntent, tenant_id: str) -> None:
        """Put the tenant's pending row changes into ``intent`` (the caller commits it)."""
        data = self.data(tenant_id)
        cleared, puts, deletes = data.drain()
        if cleared:
            intent.crm_clear.append(tenant_id)
        intent.crm_put.extend(puts)
        intent.crm_delete.extend(deletes)

    async def flush(self, tenant_id: str) -> None:
        intent = WriteIntent()
        self.add_to(intent, tenant_id)
        if intent:
            await self.store.write(intent)

    async def replace(self, tenant_id: str, data: CrmData) -> None:
        """Swap the tenant's whole dataset atomically (dataset PUT, reset)."""
        rows = all_rows(data)
        await self.store.write(WriteIntent(crm_clear=[tenant_id], crm_put=rows))
        self.tenants[tenant_id] = data

    async def reset(self, tenant_id: str) -> None:
        tenant = self.registry.tenant(tenant_id)
        data = await asyncio.to_thread(build_seed, tenant.config)
        await self.replace(tenant_id, data)
        self._allotment.pop(tenant_id, None)

    # -- users -------------------------------------------------------------------------------
    def find_user(self, sign_in: str) -> tuple[str, dict[str, Any]] | None:
        """The (tenant id, user) of a sign-in id, case-insensitively, across all tenants."""
        folded = sign_in.strip().lower()
        for tenant_id, data in self.tenants.items():
            user = data.users.get(folded)
            if user is not None:
                return tenant_id, user
        return None

    async def authenticate(self, sign_in: str, password: str) -> tuple[str, dict[str, Any]] | None:
        """The user when the password is right and the user enabled; every failure is None."""
        found = self.find_user(sign_in)
        if found is None:
            await asyncio.to_thread(_dummy_verify, password)
            return None
        tenant_id, user = found
        stored = str(user.get("PasswordHash") or "")
        key = hmac.new(
            self._cache_key,
            b"\x00".join(
                [
                    tenant_id.encode(),
                    str(user["SignInId"]).lower().encode(),
                    stored.encode(),
                    password.encode(),
                ]
            ),
            hashlib.sha256,
        ).digest()
        now = time.monotonic()
        ok = self._auth_cache.get(key, 0.0) > now
        if not ok:
            ok = await asyncio.to_thread(_verify, stored, password)
            if ok:
                if len(self._auth_cache) > 10_000:
                    self._auth_cache = {k: t for k, t in self._auth_cache.items() if t > now}
                self._auth_cache[key] = now + CACHE_SECONDS
        if not ok or user.get("Disabled"):
            return None
        return tenant_id, user

    # -- allotment (crmod-cti.md §10.4) -----------------------------------------------------
    def count_operation(self, tenant_id: str, limit: int) -> bool:
        """Count one authenticated SOAP request; False once the UTC day's allotment is used up."""
        day = time.strftime("%Y-%m-%d", time.gmtime())
        current_day, used = self._allotment.get(tenant_id, (day, 0))
        if current_day != day:
            used = 0
        if used >= limit:
            self._allotment[tenant_id] = (day, used)
            return False
        self._allotment[tenant_id] = (day, used + 1)
        return True


def _verify(stored: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored, password))
    except (Argon2Error, InvalidHashError):
        return False


_DUMMY_HASH = _hasher.hash("frontdesk-dummy-password")


def _dummy_verify(password: str) -> None:
    _verify(_DUMMY_HASH, password)


def has_privilege(user: dict[str, Any], privilege: str) -> bool:
    return privilege in (user.get("Privileges") or [])


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


__all__ = ["CrmService", "RecordNotFound", "has_privilege", "hash_password", "m"]
