"""CRM routes (native.md §9.1): ``/api/v1/crm/...`` with a native token and problem documents, and
``/admin/api/crm/...`` with HTTP Basic by a CRM user and the JSON errors of crmod-cti.md §7.5.

Both doors call the same functions on the engine's CRM service; both are in the native route table,
so the OpenAPI document covers them.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from frontdesk.crm import model as m
from frontdesk.crm.data import CrmData, Interaction
from frontdesk.crm.dataset import DatasetError, export_dataset, load_dataset, public_user
from frontdesk.crm.service import RecordNotFound, hash_password
from frontdesk.domain import errors
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.crmod.common import basic_user
from frontdesk.faces.native.http import Ctx, endpoint, json_response, no_content, read_body
from frontdesk.faces.native.table import Param, RouteTable

log = logging.getLogger("frontdesk.native.crm")
RECORD_MAX = 65_536
DATASET_MAX = 4 * 1_048_576
REALM = 'Basic realm="Frontdesk CRM On Demand", charset="UTF-8"'
_MATCH_PARAMS = (
    "channelType",
    "origin",
    "destination",
    "contactPhoneNumber",
    "serviceRequestNumber",
    "campaignSourceCode",
    "associatedRecordId",
    "associatedRecordType",
)


class ApiError(Exception):
    def __init__(self, status: int, error: str, field: str | None = None, message: str = "") -> None:
        super().__init__(message or error)
        self.status = status
        self.error = error
        self.field = field
        self.message = message or error

    def admin_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error}
        if self.field is not None:
            body["field"] = self.field
        if self.message and self.error == "validation":
            body["message"] = self.message
        return body

    def native(self) -> errors.FrontdeskError:
        if self.status == 400:
            return errors.InvalidRequest(self.message, [(f"/{self.field or ''}", self.message)])
        if self.status == 404:
            return RecordNotFound(self.message)
        if self.status == 409:
            return errors.AlreadyExists(f"{self.field}: {self.message}")
        if self.status == 403:
            return errors.NotAuthorized(self.message)
        if self.status == 413:
            return errors.PayloadTooLarge(self.message)
        return errors.FrontdeskError(self.message)


def _record_error(exc: m.RecordError) -> ApiError:
    status = {"validation": 400, "conflict": 409, "not_found": 404}[exc.kind]
    error = {"validation": "validation", "conflict": "conflict", "not_found": "not_found"}[exc.kind]
    return ApiError(status, error, exc.field, exc.message)


def _collection(name: str) -> str:
    if name not in m.COLLECTIONS:
        raise ApiError(404, "not_found", None, f"unknown collection {name}")
    return name


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise ApiError(400, "validation", name, f"must be an integer from {lo} to {hi}")
    return int(raw)


def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to decode
        raise ApiError(400, "validation", None, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "validation", None, "the body must be a JSON object")
    return body


def _out(collection: str, rec: dict[str, Any]) -> dict[str, Any]:
    return public_user(rec) if collection == "users" else rec


class CrmApi:
    """The operations behind both doors; every failure is an ApiError."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def data(self, tenant: Tenant) -> CrmData:
        return self.engine.crm.data(tenant.id)

    def list(self, tenant: Tenant, request: Request, collection: str) -> dict[str, Any]:
        collection = _collection(collection)
        limit = _int_param(request, "limit", 100, 1, 500)
        offset = _int_param(request, "offset", 0, 0, 1_000_000_000)
        q = request.query_params
        items = self.data(tenant).search(collection, q.get("q"), q.get("phone"), q.get("email"))
        page = [_out(collection, r) for r in items[offset : offset + limit]]
        return {"items": page, "total": len(items), "limit": limit, "offset": offset}

    def get(self, tenant: Tenant, collection: str, rid: str) -> dict[str, Any]:
        rec = self.data(tenant).get(_collection(collection), rid)
        if rec is None:
            raise ApiError(404, "not_found", "Id", "no such record")
        return _out(collection, rec)

    async def create(self, tenant: Tenant, collection: str, body: dict[str, Any]) -> dict[str, Any]:
        collection = _collection(collection)
        data = self.data(tenant)
        dup = bool(body.pop("allowDuplicateKey", False)) if collection == "activities" else False
        try:
            if collection == "users":
                self._check_sign_in(tenant, body.get("SignInId"))
                rec = data.put_user(body, hash_password)
            else:
                rec = data.create(collection, body, dup_key=dup)
        except m.RecordError as exc:
            raise _record_error(exc) from None
        await self.engine.crm.flush(tenant.id)
        return _out(collection, rec)

    def _check_sign_in(self, tenant: Tenant, sign_in: Any) -> None:
        if isinstance(sign_in, str):
            found = self.engine.crm.find_user(sign_in)
            if found is not None and found[0] != tenant.id:
                raise ApiError(409, "conflict", "SignInId", "already used")

    async def replace(
        self, tenant: Tenant, collection: str, rid: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        collection = _collection(collection)
        data = self.data(tenant)
        dup = bool(body.pop("allowDuplicateKey", False)) if collection == "activities" else False
        try:
            if collection == "users":
                if data.get("users", rid) is None:
                    raise ApiError(404, "not_found", "SignInId", "no such user")
                body.setdefault("SignInId", rid)
                rec = data.put_user(body, hash_password, replacing=rid)
            else:
                rec = data.replace(collection, rid, body, dup_key=dup)
        except m.RecordError as exc:
            raise _record_error(exc) from None
        await self.engine.crm.flush(tenant.id)
        return _out(collection, rec)

    async def delete(self, tenant: Tenant, collection: str, rid: str) -> None:
        try:
            self.data(tenant).delete(_collection(collection), rid)
        except m.RecordError as exc:
            raise _record_error(exc) from None
        await self.engine.crm.flush(tenant.id)

    def export(self, tenant: Tenant) -> dict[str, Any]:
        return export_dataset(self.data(tenant))

    async def replace_dataset(self, tenant: Tenant, body: dict[str, Any]) -> None:
        current = self.data(tenant)
        users = body.get("users")
        if isinstance(users, list):
            for u in users:
                if isinstance(u, dict) and "Password" not in u and "PasswordHash" not in u:
                    old = current.users.get(str(u.get("SignInId", "")).lower())
                    if old is not None and old.get("PasswordHash"):
                        u["PasswordHash"] = old["PasswordHash"]
                self._check_sign_in(tenant, u.get("SignInId") if isinstance(u, dict) else None)
        try:
            data = load_dataset(tenant.id, body, hash_password, tenant.config.crm.id_prefix)
        except DatasetError as exc:
            raise ApiError(400, "validation", None, "; ".join(exc.problems)) from None
        await self.engine.crm.replace(tenant.id, data)

    async def reset(self, tenant: Tenant) -> None:
        if not tenant.config.crm.allow_reset:
            raise ApiError(403, "forbidden", None, "reset is not allowed for this tenant")
        await self.engine.crm.reset(tenant.id)
        await clear_lockouts(self.engine)

    def match(self, tenant: Tenant, request: Request) -> dict[str, Any]:
        q = {k: (request.query_params.get(k) or "").strip() or None for k in _MATCH_PARAMS}
        ch = m.channel(q["channelType"] or "")
        if ch is None:
            raise ApiError(400, "validation", "channelType", "must be a ChannelType value")
        rtype = None
        if q["associatedRecordType"]:
            rtype = m.record_type(q["associatedRecordType"])
            if rtype is None:
                raise ApiError(400, "validation", "associatedRecordType", "must be a record type")
        it = Interaction(
            interaction_id="match",
            agent_offer_time=0,
            channel=ch,
            origin=q["origin"],
            destination=q["destination"],
            associated_id=q["associatedRecordId"],
            associated_type=rtype,
            campaign_source_code=q["campaignSourceCode"],
            contact_phone=q["contactPhoneNumber"],
            sr_number=q["serviceRequestNumber"],
        )
        data = self.data(tenant)
        slots = data.associate(it, tenant.config.crm.match_campaign_by_destination)
        pop_type, pop_id = data.screen_pop({"Id": None, **slots})
        return {
            "contactId": slots.get("ContactId"),
            "leadId": slots.get("LeadId"),
            "accountId": slots.get("AccountId"),
            "serviceRequestId": slots.get("ServiceRequestId"),
            "campaignId": slots.get("CampaignId"),
            "opportunityId": slots.get("OpportunityId"),
            "screenPopRecordType": pop_type,
            "screenPopRecordId": None if pop_type == "Activity" else pop_id,
        }


async def clear_lockouts(engine: Engine) -> None:
    keys = await engine.store.kv_list("crmod:lockout")
    for key in keys:
        await engine.kv_delete("crmod:lockout", key)


# -- the two doors ---------------------------------------------------------------------------
Op = Callable[[Request, Tenant], Awaitable[Response]]


def _admin(engine: Engine, op: Op) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        try:
            user = await basic_user(engine, request)
            if user is None:
                return Response(
                    json.dumps({"error": "unauthenticated"}),
                    401,
                    {"WWW-Authenticate": REALM, "Cache-Control": "no-store"},
                    "application/json; charset=utf-8",
                )
            if not user.has(m.MANAGE):
                raise ApiError(403, "forbidden")
            return await op(request, user.tenant)
        except ApiError as exc:
            return Response(
                json.dumps(exc.admin_body()),
                exc.status,
                {"Cache-Control": "no-store"},
                "application/json; charset=utf-8",
            )
        except errors.PayloadTooLarge:
            return Response(json.dumps({"error": "too_large"}), 413, None, "application/json; charset=utf-8")
        except Exception:
            ref = uuid.uuid4().hex[:12]
            log.exception("CRM admin request failed (ref %s)", ref)
            return Response(
                json.dumps({"error": "internal", "reference": ref}), 500, None, "application/json"
            )

    handler.__doc__ = op.__doc__
    return handler


def _native(ctx: Ctx, op: Op, role: str | None) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        caller = ctx.caller(request, role)
        if role is None and not any(caller.principal.has(r) for r in ("agent", "supervisor", "admin")):
            raise errors.NotAuthorized()
        if (
            role is None
            and request.path_params.get("collection") == "users"
            and not caller.principal.has("admin")
        ):
            raise errors.NotAuthorized("The users collection needs the admin role.")
        try:
            return await op(request, caller.tenant)
        except ApiError as exc:
            raise exc.native() from None

    handler.__doc__ = op.__doc__
    return endpoint(handler)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    r = json_response(body, status)
    r.headers.update(headers or {})
    return r


def register(table: RouteTable, ctx: Ctx) -> None:
    api = CrmApi(ctx.engine)
    engine = ctx.engine

    async def match(request: Request, tenant: Tenant) -> Response:
        """Dry run of record association and screen pop (crmod-cti.md §3.5-3.6)."""
        return _json(api.match(tenant, request))

    async def get_dataset(request: Request, tenant: Tenant) -> Response:
        """Export the tenant's CRM dataset (no passwords)."""
        return _json(api.export(tenant))

    async def put_dataset(request: Request, tenant: Tenant) -> Response:
        """Replace the tenant's CRM dataset atomically."""
        raw = await _limited(request, DATASET_MAX)
        await api.replace_dataset(tenant, _json_body(raw))
        return no_content()

    async def reset(request: Request, tenant: Tenant) -> Response:
        """Reload the tenant's seed dataset (only where crm.allow_reset)."""
        await api.reset(tenant)
        return no_content()

    async def list_records(request: Request, tenant: Tenant) -> Response:
        """List or search CRM records of one collection."""
        return _json(api.list(tenant, request, request.path_params["collection"]))

    async def create(request: Request, tenant: Tenant) -> Response:
        """Create a CRM record; Id generated when absent."""
        collection = request.path_params["collection"]
        _collection(collection)
        rec = await api.create(tenant, collection, _json_body(await _limited(request, RECORD_MAX)))
        rid = rec.get("SignInId") if collection == "users" else rec.get("Id")
        return _json(rec, 201, {"Location": f"{request.url.path}/{rid}"})

    async def get_one(request: Request, tenant: Tenant) -> Response:
        """One CRM record (users by SignInId)."""
        return _json(api.get(tenant, request.path_params["collection"], request.path_params["id"]))

    async def put_one(request: Request, tenant: Tenant) -> Response:
        """Replace a CRM record."""
        body = _json_body(await _limited(request, RECORD_MAX))
        return _json(
            await api.replace(tenant, request.path_params["collection"], request.path_params["id"], body)
        )

    async def delete_one(request: Request, tenant: Tenant) -> Response:
        """Delete a CRM record; references to it become null."""
        await api.delete(tenant, request.path_params["collection"], request.path_params["id"])
        return no_content()

    match_query = [Param(p) for p in _MATCH_PARAMS]
    list_query = [
        Param("q"),
        Param("phone"),
        Param("email"),
        Param("limit", "integer"),
        Param("offset", "integer"),
    ]
    reads, writes = None, "admin"
    entries: list[tuple[str, str, Op, str | None, int, list[Param]]] = [
        ("GET", "/match", match, reads, 200, match_query),
        ("GET", "/dataset", get_dataset, writes, 200, []),
        ("PUT", "/dataset", put_dataset, writes, 204, []),
        ("POST", "/reset", reset, writes, 204, []),
        ("GET", "/{collection}", list_records, reads, 200, list_query),
        ("POST", "/{collection}", create, writes, 201, []),
        ("GET", "/{collection}/{id}", get_one, reads, 200, []),
        ("PUT", "/{collection}/{id}", put_one, writes, 200, []),
        ("DELETE", "/{collection}/{id}", delete_one, writes, 204, []),
    ]
    for method, sub, op, role, status, query in entries:
        table.route(method, "/api/v1/crm" + sub, status=status, role=role or "agent", query=query)(
            _native(ctx, op, role)
        )
    for method, sub, op, _role, status, query in entries:
        admin = _admin(engine, op)
        admin.__doc__ = f"{op.__doc__} HTTP Basic, CRM user with Manage CTI On Demand Access."
        table.route(method, "/admin/api/crm" + sub, status=status, auth=False, role="CRM admin", query=query)(
            admin
        )


async def _limited(request: Request, limit: int) -> bytes:
    try:
        return await read_body(request, limit)
    except errors.PayloadTooLarge:
        raise ApiError(413, "too_large", None, f"the body is larger than {limit} bytes") from None
