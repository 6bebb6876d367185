"""Administration routes (native.md §8; role admin): configuration objects, routing switch, reload,
the applied configuration, user photos, webhook delivery log and deletion of one customer's data."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from frontdesk.config.models import CannedResponse, EntryPointConfig, QueueConfig, UserConfig, WebhookConfig
from frontdesk.domain import errors
from frontdesk.domain.clock import rfc3339
from frontdesk.faces.native.agent import PAGE
from frontdesk.faces.native.http import Ctx, endpoint, json_response, no_content, query_int, read_body
from frontdesk.faces.native.table import Param, RouteTable
from frontdesk.ops.service import ops_of
from frontdesk.ops.webhooks import OutboxRow

ADMIN = "/api/v1/admin"
Json = dict[str, Any]
PHOTO_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
PHOTO_MAX = 1 << 20


class AdminObjectList(msgspec.Struct, kw_only=True):
    items: list[Json]
    total: int
    limit: int
    offset: int


class RoutingSwitch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    paused: bool


class ConfigChange(msgspec.Struct, kw_only=True):
    path: str
    change: str


class ReloadResult(msgspec.Struct, kw_only=True):
    applied: bool
    config_version: int
    changes: list[ConfigChange]
    requires_restart: list[str]


class CustomerDeletion(msgspec.Struct, kw_only=True):
    email: str
    deleted_chats: int
    deleted_files: int


class DeliveryAttemptView(msgspec.Struct, kw_only=True):
    attempt: int
    at: str
    status_code: int | None
    error: str | None
    duration_ms: int


class Delivery(msgspec.Struct, kw_only=True):
    id: str
    webhook_id: str
    event: str
    chat_id: str | None
    status: str
    attempts: int
    created_at: str
    next_attempt_at: str | None
    delivered_at: str | None
    last_status_code: int | None
    last_error: str | None
    payload: Json | None = None
    attempt_log: list[DeliveryAttemptView] | None = None


class DeliveryList(msgspec.Struct, kw_only=True):
    items: list[Delivery]
    total: int
    limit: int
    offset: int


# Request and answer documentation: the objects have the configuration file's shape (config.md §3)
# plus `managed` in answers (own names, so they never collide with the agent API's schemas).
class AdminQueue(QueueConfig, kw_only=True):
    managed: str = "api"


class AdminUser(UserConfig, kw_only=True):
    password: str | None = None  # write-only; stored as an argon2 hash
    managed: str = "api"


class AdminEntryPoint(EntryPointConfig, kw_only=True):
    managed: str = "api"


class AdminCannedResponse(CannedResponse, kw_only=True):
    managed: str = "api"


class AdminWebhook(WebhookConfig, kw_only=True):
    managed: str = "api"


_DOC: dict[str, Any] = {
    "queues": AdminQueue,
    "users": AdminUser,
    "entry-points": AdminEntryPoint,
    "canned-responses": AdminCannedResponse,
    "webhooks": AdminWebhook,
}
_ITEM = {
    "queues": "/{name}",
    "users": "/{login}",
    "entry-points": "/{face}/{id}",
    "canned-responses": "/{id}",
    "webhooks": "/{id}",
}


def _delivery(row: OutboxRow, *, full: bool = False) -> Delivery:
    out = Delivery(
        id=row.id,
        webhook_id=row.webhook_id,
        event=row.event,
        chat_id=row.chat_id,
        status=row.status,
        attempts=row.attempts,
        created_at=rfc3339(row.created_at) or "",
        next_attempt_at=rfc3339(row.next_at) if row.status == "pending" else None,
        delivered_at=rfc3339(row.delivered_at) if row.delivered_at else None,
        last_status_code=row.last_status,
        last_error=row.last_error,
    )
    if full:
        out.payload = msgspec.json.decode(row.payload)
    return out


def register(t: RouteTable, ctx: Ctx) -> None:
    engine = ctx.engine

    def admin() -> Any:
        return ops_of(engine).admin

    async def body(request: Request) -> Json:
        value = await ctx.body(request, Any)
        if not isinstance(value, dict):
            raise errors.InvalidRequest("The body must be a JSON object.", [("/", "object expected")])
        return value

    def item_key(kind: str, request: Request) -> str:
        p = request.path_params
        return f"{p['face']}/{p['id']}" if kind == "entry-points" else str(next(iter(p.values())))

    for kind in _DOC:
        collection = f"{ADMIN}/{kind}"

        def make(kind: str, collection: str) -> None:
            @t.route("GET", collection, answer=AdminObjectList, role="admin", query=PAGE)
            @endpoint
            async def list_objects(request: Request) -> Response:
                """Objects of this kind, file objects first, in file order, then API objects."""
                c = ctx.caller(request, "admin")
                limit = query_int(request, "limit", 100, 1, 500)
                offset = query_int(request, "offset", 0, 0, 1_000_000_000)
                items = admin().list(c.tenant, kind)
                page = items[offset : offset + limit]
                return json_response(
                    AdminObjectList(items=page, total=len(items), limit=limit, offset=offset)
                )

            list_objects.__doc__ = f"List {kind} (managed: config or api)."

            @t.route("POST", collection, body=_DOC[kind], answer=_DOC[kind], status=201, role="admin")
            @endpoint
            async def create(request: Request) -> Response:
                """Create an object (managed: api)."""
                c = ctx.caller(request, "admin")
                key, view = await admin().put(c.tenant, kind, None, await body(request), create=True)
                response = json_response(view, 201)
                response.headers["Location"] = f"{collection}/{key}"
                return response

            @t.route("GET", collection + _ITEM[kind], answer=_DOC[kind], role="admin")
            @endpoint
            async def get_object(request: Request) -> Response:
                """One object, secrets redacted."""
                c = ctx.caller(request, "admin")
                key = item_key(kind, request)
                managed, _ = admin().find(c.tenant, kind, key)
                from frontdesk.ops.admin import KINDS

                return json_response(admin().view(c.tenant, KINDS[kind], key, managed))

            @t.route("PUT", collection + _ITEM[kind], body=_DOC[kind], answer=_DOC[kind], role="admin")
            @endpoint
            async def replace(request: Request) -> Response:
                """Replace an object (a file object's change lasts until the next reload)."""
                c = ctx.caller(request, "admin")
                key = item_key(kind, request)
                _, view = await admin().put(c.tenant, kind, key, await body(request), create=False)
                return json_response(view)

            @t.route("PATCH", collection + _ITEM[kind], answer=_DOC[kind], role="admin")
            @endpoint
            async def patch(request: Request) -> Response:
                """Merge an RFC 7396 patch into an object."""
                c = ctx.caller(request, "admin")
                key = item_key(kind, request)
                return json_response(await admin().patch(c.tenant, kind, key, await body(request)))

            @t.route("DELETE", collection + _ITEM[kind], status=204, role="admin")
            @endpoint
            async def delete(request: Request) -> Response:
                """Delete an object (users and entry points in use stay disabled and hidden)."""
                c = ctx.caller(request, "admin")
                await admin().delete(c.tenant, kind, item_key(kind, request))
                return no_content()

        make(kind, collection)

    @t.route("PUT", ADMIN + "/users/{login}/photo", body="binary", status=204, role="admin")
    @endpoint
    async def put_photo(request: Request) -> Response:
        """Set a user's photo (image/png, image/jpeg or image/webp, at most 1 MiB)."""
        c = ctx.caller(request, "admin")
        media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        ext = PHOTO_TYPES.get(media)
        if ext is None:
            raise errors.UnsupportedMediaType("The photo must be image/png, image/jpeg or image/webp.")
        data = await read_body(request, PHOTO_MAX)
        if not data:
            raise errors.InvalidRequest("The photo is empty.", [("/", "empty body")])
        await admin().set_photo(c.tenant, request.path_params["login"], data, ext)
        return no_content()

    @t.route("DELETE", ADMIN + "/users/{login}/photo", status=204, role="admin")
    @endpoint
    async def delete_photo(request: Request) -> Response:
        """Remove a user's photo."""
        c = ctx.caller(request, "admin")
        await admin().delete_photo(c.tenant, request.path_params["login"])
        return no_content()

    @t.route("GET", ADMIN + "/routing", answer=RoutingSwitch, role="admin")
    @endpoint
    async def get_routing(request: Request) -> Response:
        """Whether chat routing of the tenant is paused."""
        c = ctx.caller(request, "admin")
        return json_response(RoutingSwitch(paused=c.tenant.paused))

    @t.route("PUT", ADMIN + "/routing", body=RoutingSwitch, answer=RoutingSwitch, role="admin")
    @endpoint
    async def put_routing(request: Request) -> Response:
        """Pause or resume chat routing (no offers while paused; chats keep queueing)."""
        c = ctx.caller(request, "admin")
        switch = await ctx.body(request, RoutingSwitch)
        engine.set_routing_paused(c.tenant, switch.paused)
        return json_response(RoutingSwitch(paused=c.tenant.paused))

    @t.route("POST", ADMIN + "/reload", answer=ReloadResult, role="admin")
    @endpoint
    async def reload(request: Request) -> Response:
        """Re-read the configuration file and apply the caller's tenant without dropping chats."""
        c = ctx.caller(request, "admin")
        return json_response(await admin().reload(c.tenant))

    @t.route("GET", ADMIN + "/config", role="admin")
    @endpoint
    async def applied_config(request: Request) -> Response:
        """The caller's tenant configuration as applied, secrets redacted, with config_version."""
        c = ctx.caller(request, "admin")
        return json_response(await admin().applied(c.tenant))

    @t.route(
        "GET",
        ADMIN + "/webhooks/{id}/deliveries",
        answer=DeliveryList,
        role="admin",
        query=PAGE,
    )
    @endpoint
    async def deliveries(request: Request) -> Response:
        """The delivery log of one webhook, newest first."""
        c = ctx.caller(request, "admin")
        hook_id = request.path_params["id"]
        admin().find(c.tenant, "webhooks", hook_id)
        limit = query_int(request, "limit", 100, 1, 500)
        offset = query_int(request, "offset", 0, 0, 1_000_000_000)
        rows, total = await ops_of(engine).deliverer.log(c.tenant.id, hook_id, limit, offset)
        return json_response(
            DeliveryList(items=[_delivery(r) for r in rows], total=total, limit=limit, offset=offset)
        )

    @t.route("GET", ADMIN + "/webhook-deliveries", answer=DeliveryList, role="admin", query=PAGE)
    @endpoint
    async def all_deliveries(request: Request) -> Response:
        """The delivery log of every webhook of the tenant, newest first."""
        c = ctx.caller(request, "admin")
        limit = query_int(request, "limit", 100, 1, 500)
        offset = query_int(request, "offset", 0, 0, 1_000_000_000)
        rows, total = await ops_of(engine).deliverer.log(c.tenant.id, None, limit, offset)
        return json_response(
            DeliveryList(items=[_delivery(r) for r in rows], total=total, limit=limit, offset=offset)
        )

    @t.route("GET", ADMIN + "/webhook-deliveries/{delivery_id}", answer=Delivery, role="admin")
    @endpoint
    async def one_delivery(request: Request) -> Response:
        """One delivery with its payload and every attempt."""
        c = ctx.caller(request, "admin")
        delivery_id = request.path_params["delivery_id"]
        row = await ops_of(engine).deliverer.get(delivery_id)
        if row is None or row.tenant_id != c.tenant.id:
            raise errors.NotFound("No such delivery.")
        out = _delivery(row, full=True)
        out.attempt_log = [
            DeliveryAttemptView(
                attempt=a.attempt,
                at=rfc3339(a.at) or "",
                status_code=a.status_code,
                error=a.error,
                duration_ms=a.duration_ms,
            )
            for a in await ops_of(engine).deliverer.attempts(delivery_id)
        ]
        return json_response(out)

    @t.route(
        "DELETE",
        ADMIN + "/customers",
        answer=CustomerDeletion,
        role="admin",
        query=[Param("email", description="the customer's e-mail address (required)")],
    )
    @endpoint
    async def delete_customer(request: Request) -> Response:
        """Delete one customer's data: every chat they had (ended first when live), events, files, surveys."""
        c = ctx.caller(request, "admin")
        email = (request.query_params.get("email") or "").strip()
        if not email or "@" not in email or len(email) > 320:
            raise errors.InvalidRequest("email is required", [("email", "an e-mail address")])
        result = await engine.delete_customer(c.tenant, email)
        return json_response(
            CustomerDeletion(email=email, deleted_chats=result.chats, deleted_files=result.files)
        )
