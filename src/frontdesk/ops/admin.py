"""Administration of the applied configuration (native.md §8): admin objects, reload, routing switch.

The applied tenant configuration is composed from raw objects in the file's shape:

* the file's objects (``managed: config``), possibly changed through the API until the next reload
  or restart (``overrides``, memory only);
* objects created through the API (``managed: api``), kept in the store (``kv`` namespace
  ``admin:<tenant>``) and never touched by a reload;
* objects a reload removed from the file while something still uses them (``retired``): users and
  entry points stay, disabled and hidden, so live chats keep their agent and entry point; a queue
  stays while chats are in it.

Every change validates the whole composed file with the same validator as ``check-config`` and then
switches the engine to it (``Engine.apply_config``); live chats, agents and timers are untouched.
"""

from __future__ import annotations

import asyncio
import copy
import pathlib
import re
from dataclasses import dataclass, field
from typing import Any

import msgspec

from frontdesk.config import Config, ConfigError, load_config
from frontdesk.config.load import normalised_dict
from frontdesk.config.validate import validate_tree
from frontdesk.config.yamlsrc import load_yaml
from frontdesk.domain import errors
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant

MASK = "***"
KV_NS = "admin:"
VERSION_NS = "config_version"


class ConfigInvalid(errors.InvalidRequest):
    code, status, title = "config_invalid", 422, "Configuration invalid"


@dataclass(frozen=True, slots=True)
class Kind:
    section: str
    keys: tuple[str, ...]
    not_found: type[errors.FrontdeskError]


KINDS: dict[str, Kind] = {
    "queues": Kind("queues", ("name",), errors.QueueNotFound),
    "users": Kind("users", ("login",), errors.UserNotFound),
    "entry-points": Kind("entry_points", ("face", "id"), errors.EntryPointNotFound),
    "canned-responses": Kind("canned_responses", ("id",), errors.NotFound),
    "webhooks": Kind("webhooks", ("id",), errors.NotFound),
}
SECTIONS = [k.section for k in KINDS.values()]
_SECRET_KEYS = ("secret", "secret_file", "secret_env", "credential", "credential_file", "credential_env")
_COMMON_EP_KEYS = {"face", "id", "name", "queue", "enabled", "calendar", "skills", "priority", "inactivity"}
_PATH_RE = re.compile(r"\[(\d+)\](?:\([^)]*\))?")


def key_of(kind: Kind, obj: dict[str, Any]) -> str:
    return "/".join(str(obj.get(k, "")) for k in kind.keys)


@dataclass
class TenantState:
    file: dict[str, Any]  # the tenant's raw section from the file
    overrides: dict[str, dict[str, dict[str, Any] | None]] = field(default_factory=dict)
    api: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    retired: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


class Admin:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.raw: dict[str, Any] = {}
        self.tenants: dict[str, TenantState] = {}
        self.base_dir = pathlib.Path.cwd()
        self.lock = asyncio.Lock()

    # -- loading -----------------------------------------------------------------------------
    def _read_file(self) -> dict[str, Any]:
        path = self.engine.config.source_path
        if path is None:
            raise errors.InvalidState("The server was started without a configuration file.")
        self.base_dir = path.parent
        data, _ = load_yaml(path.read_text(encoding="utf-8"))
        return copy.deepcopy(data) if isinstance(data, dict) else {}

    async def start(self) -> None:
        """Load the file's raw objects and the API-created objects; apply them when there are any."""
        self.raw = await asyncio.to_thread(self._read_file)
        for t in self.raw.get("tenants") or []:
            if isinstance(t, dict) and isinstance(t.get("id"), str):
                self.tenants[t["id"]] = TenantState(file=t)
        any_api = False
        for tenant_id, state in self.tenants.items():
            stored = await self.engine.store.kv_list(KV_NS + tenant_id)
            for name, text in stored.items():
                section, _, key = name.partition("|")
                state.api.setdefault(section, {})[key] = msgspec.json.decode(text)
                any_api = True
        if any_api:
            try:
                self._apply(self._validate())
            except errors.InvalidRequest as exc:
                import logging

                logging.getLogger("frontdesk.admin").error(
                    "objects created through the admin API do not fit the file and were not applied: %s",
                    "; ".join(m for _, m in exc.errors[:5]),
                )

    def state(self, tenant: Tenant) -> TenantState:
        state = self.tenants.get(tenant.id)
        if state is None:
            raise errors.InvalidState("This tenant is not in the configuration file.")
        return state

    # -- composing and validating ----------------------------------------------------------
    def _objects(self, state: TenantState, section: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(key, managed, raw object) in the order of the composed file section."""
        kind = next(k for k in KINDS.values() if k.section == section)
        out: list[tuple[str, str, dict[str, Any]]] = []
        seen: set[str] = set()
        overrides = state.overrides.get(section, {})
        for obj in state.file.get(section) or []:
            if not isinstance(obj, dict):
                continue
            key = key_of(kind, obj)
            seen.add(key)
            if key in overrides:
                changed = overrides[key]
                if changed is not None:
                    out.append((key, "config", changed))
            else:
                out.append((key, "config", obj))
        for key, obj in state.api.get(section, {}).items():
            if key not in seen:
                seen.add(key)
                out.append((key, "api", obj))
        for key, obj in state.retired.get(section, {}).items():
            if key not in seen:
                out.append((key, "retired", obj))
        return out

    def _composed_tenant(self, state: TenantState) -> dict[str, Any]:
        t = dict(state.file)
        for section in SECTIONS:
            objs = self._objects(state, section)
            if objs or section in t:
                t[section] = [copy.deepcopy(o) for _, _, o in objs]
        return t

    def _validate(self, focus: tuple[str, str, str] | None = None) -> Config:
        """Validate the composed file; ``focus`` (tenant, section, key) turns errors into pointers."""
        data = dict(self.raw)
        data["tenants"] = [
            self._composed_tenant(self.tenants[t["id"]])
            if isinstance(t, dict) and t.get("id") in self.tenants
            else t
            for t in self.raw.get("tenants") or []
        ]
        config, issues = validate_tree(data, sources=None, base_dir=self.base_dir)
        problems = [i for i in issues if i.severity == "error"]
        if config is None or problems:
            if focus is not None:
                raise errors.InvalidRequest(
                    "The object is not valid.",
                    [self._pointer(i.path, i.message, data, focus) for i in problems],
                )
            raise ConfigInvalid(
                "The composed configuration is not valid.", [(i.path, i.message) for i in problems]
            )
        return config

    def _pointer(
        self, path: str, message: str, data: dict[str, Any], focus: tuple[str, str, str]
    ) -> tuple[str, str]:
        """An issue inside the focused object as a JSON pointer into the request body."""
        tenant_id, section, key = focus
        index = next(
            i for i, t in enumerate(data["tenants"]) if isinstance(t, dict) and t.get("id") == tenant_id
        )
        kind = next(k for k in KINDS.values() if k.section == section)
        objs = data["tenants"][index].get(section) or []
        pos = next((i for i, o in enumerate(objs) if isinstance(o, dict) and key_of(kind, o) == key), None)
        plain = _PATH_RE.sub(lambda m: f"[{m.group(1)}]", path)
        prefix = f"tenants[{index}].{section}[{pos}]"
        if pos is not None and plain.startswith(prefix):
            rest = plain[len(prefix) :].lstrip(".")
            pointer = "/" + re.sub(r"\[(\d+)\]", r"/\1", rest).replace(".", "/") if rest else "/"
            return pointer.replace("//", "/"), message
        return path, message

    def _apply(self, config: Config) -> None:
        current = self.engine.config
        by_id = {t.id: t for t in config.tenants}
        tenants = [by_id.get(t.id, t) for t in current.tenants]
        self.engine.apply_config(msgspec.structs.replace(current, tenants=tenants))

    async def _bump_version(self, tenant: Tenant) -> int:
        raw = await self.engine.kv_get(VERSION_NS, tenant.id)
        version = int(raw) + 1 if raw and raw.isdigit() else 1
        await self.engine.kv_put(VERSION_NS, tenant.id, str(version))
        return version

    async def config_version(self, tenant: Tenant) -> int:
        raw = await self.engine.kv_get(VERSION_NS, tenant.id)
        return int(raw) if raw and raw.isdigit() else 0

    # -- objects -----------------------------------------------------------------------------
    def list(self, tenant: Tenant, kind_name: str) -> list[dict[str, Any]]:
        kind = KINDS[kind_name]
        state = self.state(tenant)
        return [
            self.view(tenant, kind, key, managed)
            for key, managed, _ in self._objects(state, kind.section)
            if managed != "retired"
        ]

    def find(self, tenant: Tenant, kind_name: str, key: str) -> tuple[str, dict[str, Any]]:
        kind = KINDS[kind_name]
        for k, managed, obj in self._objects(self.state(tenant), kind.section):
            if k == key and managed != "retired":
                return managed, obj
        raise kind.not_found()

    def view(self, tenant: Tenant, kind: Kind, key: str, managed: str) -> dict[str, Any]:
        applied = self.engine.tenant(tenant.id) or tenant
        items: list[Any] = getattr(applied.config, kind.section)
        typed = next((o for o in items if "/".join(str(getattr(o, k)) for k in kind.keys) == key), None)
        raw = next((o for k, _, o in self._objects(self.state(tenant), kind.section) if k == key), {})
        out: dict[str, Any] = msgspec.to_builtins(typed) if typed is not None else dict(raw)
        if kind.section == "entry_points":
            out = {k: v for k, v in out.items() if k in _COMMON_EP_KEYS or k in raw}
        return redact(kind, out) | {"managed": managed}

    async def put(
        self, tenant: Tenant, kind_name: str, key: str | None, body: dict[str, Any], *, create: bool
    ) -> tuple[str, dict[str, Any]]:
        """Create (``create``) or replace an object; returns its key and view."""
        kind = KINDS[kind_name]
        async with self.lock:
            state = self.state(tenant)
            body = await self._prepare(tenant, kind, body)
            new_key = key_of(kind, body)
            existing = {k: m for k, m, _ in self._objects(state, kind.section) if m != "retired"}
            if create:
                if new_key in existing:
                    raise errors.AlreadyExists(f"{kind_name} {new_key} exists.")
                managed = "api"
            else:
                assert key is not None
                if key not in existing:
                    raise kind.not_found()
                if new_key != key:
                    raise errors.InvalidRequest(
                        "The key cannot change.", [("/" + kind.keys[-1], "must stay " + key)]
                    )
                managed = existing[key]
            old = self._snapshot(state)
            if managed == "api":
                state.api.setdefault(kind.section, {})[new_key] = body
            else:
                state.overrides.setdefault(kind.section, {})[new_key] = body
            state.retired.get(kind.section, {}).pop(new_key, None)
            try:
                config = self._validate((tenant.id, kind.section, new_key))
            except errors.InvalidRequest:
                self._restore(state, old)
                raise
            await self._before_user_change(tenant, kind, new_key, body)
            self._apply(config)
            if managed == "api":
                await self.engine.kv_put(KV_NS + tenant.id, f"{kind.section}|{new_key}", _json(body))
            await self._bump_version(tenant)
            return new_key, self.view(tenant, kind, new_key, managed)

    async def patch(self, tenant: Tenant, kind_name: str, key: str, patch: dict[str, Any]) -> dict[str, Any]:
        _, current = self.find(tenant, kind_name, key)
        merged = merge_patch(current, patch)
        if "password" in patch:
            merged.pop("password_hash", None)
        _, view = await self.put(tenant, kind_name, key, merged, create=False)
        return view

    async def delete(self, tenant: Tenant, kind_name: str, key: str) -> None:
        kind = KINDS[kind_name]
        async with self.lock:
            state = self.state(tenant)
            managed, obj = self.find(tenant, kind_name, key)
            old = self._snapshot(state)
            if managed == "api":
                state.api.get(kind.section, {}).pop(key, None)
            else:
                state.overrides.setdefault(kind.section, {})[key] = None
            self._retire(tenant, state, kind, key, obj)
            try:
                config = self._validate((tenant.id, kind.section, key))
            except errors.InvalidRequest:
                self._restore(state, old)
                raise
            if kind.section == "users":
                await self._logout(tenant, key)
            self._apply(config)
            if managed == "api":
                await self.engine.kv_delete(KV_NS + tenant.id, f"{kind.section}|{key}")
            await self._bump_version(tenant)

    def _retire(self, tenant: Tenant, state: TenantState, kind: Kind, key: str, obj: dict[str, Any]) -> None:
        """Keep what live chats still use, disabled and hidden (native.md §8.1)."""
        if kind.section == "users":
            state.retired.setdefault("users", {})[key] = obj | {"disabled": True}
        elif kind.section == "entry_points":
            state.retired.setdefault("entry_points", {})[key] = obj | {"enabled": False}
        elif kind.section == "queues":
            busy = any(
                c.tenant_id == tenant.id and c.queue == key and c.state != "ended"
                for c in list(self.engine.core.chats.values())
            )
            used = any(
                isinstance(o, dict) and o.get("queue") == key
                for _, _, o in self._objects(state, "entry_points")
            )
            if busy or used:
                state.retired.setdefault("queues", {})[key] = obj

    async def _prepare(self, tenant: Tenant, kind: Kind, body: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in body.items() if k != "managed"}
        if kind.section == "users":
            password = body.pop("password", None)
            if password is not None:
                if not isinstance(password, str) or not password:
                    raise errors.InvalidRequest(
                        "password must be a non-empty string", [("/password", "empty")]
                    )
                from argon2 import PasswordHasher

                body["password_hash"] = await asyncio.to_thread(PasswordHasher().hash, password)
            elif body.get("password_hash") == MASK or "password_hash" not in body:
                login = body.get("login")
                user = tenant.users.get(login) if isinstance(login, str) else None
                if user is not None and user.password_hash:
                    body["password_hash"] = user.password_hash
                else:
                    body.pop("password_hash", None)
        if kind.section == "webhooks" and body.get("secret") == MASK:
            hook = next((w for w in tenant.config.webhooks if w.id == body.get("id")), None)
            if hook is not None and hook.secret:
                body["secret"] = hook.secret
            else:
                body.pop("secret", None)
        return body

    async def _before_user_change(self, tenant: Tenant, kind: Kind, key: str, body: dict[str, Any]) -> None:
        if kind.section != "users":
            return
        user = tenant.users.get(key)
        if user is None:
            return
        if body.get("disabled") and not user.disabled:
            await self._logout(tenant, key)
        elif body.get("password_hash") != user.password_hash:
            await self.engine.auth.revoke_all(tenant.id, key)

    async def _logout(self, tenant: Tenant, login: str) -> None:
        if login in tenant.users:
            await self.engine.logout(tenant, login)

    def _snapshot(self, state: TenantState) -> tuple[Any, Any, Any]:
        return copy.deepcopy(state.overrides), copy.deepcopy(state.api), copy.deepcopy(state.retired)

    def _restore(self, state: TenantState, old: tuple[Any, Any, Any]) -> None:
        state.overrides, state.api, state.retired = old

    # -- photos ------------------------------------------------------------------------------
    async def set_photo(self, tenant: Tenant, login: str, data: bytes, ext: str) -> None:
        _, obj = self.find(tenant, "users", login)
        path = await asyncio.to_thread(self._write_photo, tenant.id, login, data, ext)
        profile = dict(obj.get("profile") or {})
        profile["photo_file"] = path
        await self.put(tenant, "users", login, obj | {"profile": profile}, create=False)

    def _write_photo(self, tenant_id: str, login: str, data: bytes, ext: str) -> str:
        directory = pathlib.Path(self.engine.config.server.data_dir or ".").resolve() / "photos" / tenant_id
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob(f"{login}.*"):
            old.unlink(missing_ok=True)
        path = directory / f"{login}.{ext}"
        path.write_bytes(data)
        return str(path)

    async def delete_photo(self, tenant: Tenant, login: str) -> None:
        _, obj = self.find(tenant, "users", login)
        profile = dict(obj.get("profile") or {})
        profile.pop("photo_file", None)
        await self.put(tenant, "users", login, obj | {"profile": profile}, create=False)

    # -- reload and the applied configuration ----------------------------------------------
    async def reload(self, tenant: Tenant) -> dict[str, Any]:
        path = self.engine.config.source_path
        async with self.lock:
            try:
                fresh = await asyncio.to_thread(load_config, path)
            except ConfigError as exc:
                errs = [(i.path, i.message) for i in exc.issues if i.severity == "error"]
                raise ConfigInvalid("The configuration file has errors.", errs) from None
            new_cfg = fresh.tenant(tenant.id)
            if new_cfg is None:
                raise ConfigInvalid(
                    "The file no longer declares this tenant.", [("tenants", f"{tenant.id} is missing")]
                )
            index = next(i for i, t in enumerate(fresh.tenants) if t.id == tenant.id)
            before = _tenant_dict(self.engine.config, tenant.id)
            after = _tenant_dict(fresh, tenant.id)
            changes = [{"path": f"tenants[{index}]{p}", "change": c} for p, c in diff(before, after, "")]
            server_changes = [
                p for p, _ in diff(_server_dict(self.engine.config), _server_dict(fresh), "server")
            ]
            added_or_removed = {t.id for t in fresh.tenants} ^ {t.id for t in self.engine.config.tenants}
            requires_restart = server_changes + [f"tenants({t})" for t in sorted(added_or_removed)]
            old_raw, old_state = self.raw, self.tenants.get(tenant.id)
            new_raw = await asyncio.to_thread(self._read_file)
            state = self.tenants[tenant.id]
            new_tenant_raw = next(
                (t for t in new_raw.get("tenants") or [] if isinstance(t, dict) and t.get("id") == tenant.id),
                {},
            )
            old_file_objs = {s: self._objects(TenantState(file=state.file), s) for s in SECTIONS}
            self.raw = _with_tenant(self.raw, new_tenant_raw)
            new_state = TenantState(file=new_tenant_raw, api=state.api, retired=copy.deepcopy(state.retired))
            self.tenants[tenant.id] = new_state
            for section, objs in old_file_objs.items():
                kind = next(k for k in KINDS.values() if k.section == section)
                keep = {k for k, _, _ in self._objects(TenantState(file=new_tenant_raw), section)}
                for key, _, obj in objs:
                    if key not in keep and key not in new_state.api.get(section, {}):
                        self._retire(tenant, new_state, kind, key, obj)
            try:
                config = self._validate()
            except errors.InvalidRequest:
                self.raw = old_raw
                if old_state is not None:
                    self.tenants[tenant.id] = old_state
                raise
            for login in [k for k, _, _ in self._objects(new_state, "users")]:
                user = tenant.users.get(login)
                new_user = next((u for u in config.tenant(tenant.id).users if u.login == login), None)  # type: ignore[union-attr]
                if user is not None and new_user is not None and new_user.disabled and not user.disabled:
                    await self._logout(tenant, login)
            self._apply(config)
            version = await self._bump_version(tenant)
            return {
                "applied": True,
                "config_version": version,
                "changes": changes,
                "requires_restart": requires_restart,
            }

    async def applied(self, tenant: Tenant) -> dict[str, Any]:
        out = _tenant_dict(self.engine.config, tenant.id)
        out["config_version"] = await self.config_version(tenant)
        return out


def redact(kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    out.pop("password_hash", None)
    out.pop("password", None)
    for k in _SECRET_KEYS:
        if out.get(k) is not None:
            out[k] = MASK
    if kind.section == "entry_points":
        out["ice_servers"] = (
            [
                {**s, "credential": MASK} if isinstance(s, dict) and s.get("credential") else s
                for s in out.get("ice_servers") or []
            ]
            if "ice_servers" in out
            else out.get("ice_servers")
        )
        if out.get("ice_servers") is None:
            out.pop("ice_servers", None)
    return out


def _tenant_dict(config: Config, tenant_id: str) -> dict[str, Any]:
    one = msgspec.structs.replace(config, tenants=[t for t in config.tenants if t.id == tenant_id])
    out = normalised_dict(one)["tenants"][0]
    for hook in out.get("webhooks") or []:
        if hook.get("secret") is not None:
            hook["secret"] = MASK
    for ep in out.get("entry_points") or []:
        for ice in ep.get("ice_servers") or []:
            if ice.get("credential") is not None:
                ice["credential"] = MASK
    return dict(out)


def _server_dict(config: Config) -> dict[str, Any]:
    out = dict(normalised_dict(msgspec.structs.replace(config, tenants=[]))["server"])
    # Set at start by flags or environment (config.md §1.1), which a reload cannot see.
    for key in ("host", "port", "data_dir"):
        out.pop(key, None)
    return out


def _with_tenant(raw: dict[str, Any], tenant: dict[str, Any]) -> dict[str, Any]:
    out = dict(raw)
    out["tenants"] = [
        tenant if isinstance(t, dict) and t.get("id") == tenant.get("id") else t
        for t in raw.get("tenants") or []
    ]
    return out


def diff(a: Any, b: Any, path: str) -> list[tuple[str, str]]:
    """Changed key paths between two normalised configurations (``ConfigChange``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[tuple[str, str]] = []
        for k in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{k}"
            if k not in b:
                out.append((sub, "removed"))
            elif k not in a:
                out.append((sub, "added"))
            else:
                out += diff(a[k], b[k], sub)
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        for i in range(max(len(a), len(b))):
            sub = f"{path}[{i}]"
            if i >= len(b):
                out.append((sub, "removed"))
            elif i >= len(a):
                out.append((sub, "added"))
            else:
                out += diff(a[i], b[i], sub)
        return out
    return [] if a == b else [(path, "changed")]


def _json(obj: Any) -> str:
    return msgspec.json.encode(obj).decode()
