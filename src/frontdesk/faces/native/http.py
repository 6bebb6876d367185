"""HTTP plumbing of the native face: problem documents (§2.1), bodies, tokens and the route type.

Every handler is wrapped by ``endpoint``: engine errors become problem documents with the status of
their class, anything unexpected becomes ``internal_error`` with a logged reference id.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from frontdesk.domain import errors
from frontdesk.engine.auth import Principal
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.native.schemas import FieldError, Problem
from frontdesk.httpbody import read_limited

log = logging.getLogger("frontdesk.native")
T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]

_encoder = msgspec.json.Encoder()
NO_STORE = {"Cache-Control": "no-store"}
_PATH_RE = re.compile(r" - at `\$(.*)`$")
_FIELD_RE = re.compile(r"(?:unknown|required) field `([^`]*)`")


def json_response(body: Any, status: int = 200) -> Response:
    return Response(_encoder.encode(body), status, NO_STORE.copy(), "application/json")


def no_content() -> Response:
    return Response(None, 204, NO_STORE.copy())


def problem(exc: errors.FrontdeskError, instance: str, headers: dict[str, str] | None = None) -> Response:
    errs: list[FieldError] | None = None
    if isinstance(exc, errors.InvalidRequest):
        errs = [FieldError(path=p, message=m) for p, m in exc.errors]
    body = Problem(
        type="urn:frontdesk:problem:" + exc.code,
        title=exc.title,
        status=exc.status,
        code=exc.code,
        detail=exc.detail,
        instance=instance,
        errors=errs,
    )
    raw = _encoder.encode(body)
    if errs is None:  # `errors` only for invalid_request (§2.1)
        raw = raw.replace(b',"errors":null', b"")
    hdrs = NO_STORE.copy()
    if exc.status in (429, 503):
        hdrs["Retry-After"] = str(getattr(exc, "retry_after", 1))
    hdrs.update(headers or {})
    return Response(raw, exc.status, hdrs, "application/problem+json")


def pointer(path: str) -> str:
    """msgspec's ``$.to.queue[0]`` as a JSON pointer ``/to/queue/0``."""
    out = path.replace("[", ".").replace("]", "")
    parts = [p.replace("~", "~0").replace("/", "~1") for p in out.split(".") if p]
    return "/" + "/".join(parts) if parts else ""


def validation_problem(exc: msgspec.ValidationError) -> errors.InvalidRequest:
    msg = str(exc)
    m = _PATH_RE.search(msg)
    where = m.group(1) if m else ""
    text = msg[: m.start()] if m else msg
    field = _FIELD_RE.search(text)
    path = pointer(where)
    if field is not None:
        path = f"{path}/{field.group(1)}"
    return errors.InvalidRequest(text, [(path or "/", text)])


def decode(raw: bytes, content_type: str | None, typ: type[T]) -> T:
    if not raw.strip():
        raw = b"{}"
    try:
        return msgspec.json.decode(raw, type=typ)
    except msgspec.ValidationError as exc:
        raise validation_problem(exc) from None
    except msgspec.DecodeError:
        if content_type and "json" not in content_type.lower():
            raise errors.UnsupportedMediaType("The body must be JSON.") from None
        raise errors.InvalidRequest("The body is not valid JSON.", [("", "malformed JSON")]) from None
    except RecursionError:  # msgspec recurses once per level of nesting of an untyped value
        raise errors.InvalidRequest("The body is nested too deeply.", [("", "nested too deeply")]) from None


async def read_body(request: Request, limit: int) -> bytes:
    body = await read_limited(request, limit)
    if body is None:
        raise errors.PayloadTooLarge(f"The body is larger than {limit} bytes.")
    return body


@dataclass(slots=True)
class Caller:
    principal: Principal
    tenant: Tenant

    @property
    def login(self) -> str:
        return self.principal.login


class Ctx:
    """Per-face helpers bound to the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.body_limit = engine.config.server.limits.request_body_max_bytes

    async def body(self, request: Request, typ: type[T]) -> T:
        raw = await read_body(request, self.body_limit)
        return decode(raw, request.headers.get("content-type"), typ)

    def caller(self, request: Request, role: str | None = None) -> Caller:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.Unauthenticated("A bearer token is required.")
        principal = self.engine.verify_token(token.strip())
        tenant = self.engine.tenant(principal.tenant_id)
        if tenant is None:
            raise errors.Unauthenticated()
        if principal.has("agent"):
            self.engine.agent_seen(tenant, principal.login)
        if role is not None and not principal.has(role):
            raise errors.NotAuthorized(f"This operation needs the {role} role.")
        return Caller(principal, tenant)


def endpoint(fn: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await fn(request)
        except errors.FrontdeskError as exc:
            return problem(exc, request.url.path)
        except Exception:
            ref = uuid.uuid4().hex[:12]
            log.exception("native request failed (ref %s)", ref)
            return problem(errors.FrontdeskError(f"Unexpected error, reference {ref}."), request.url.path)

    wrapped.__name__ = fn.__name__
    wrapped.__doc__ = fn.__doc__
    return wrapped


class NativeRoute(Route):
    """A route whose 405 answer is a problem document with ``Allow`` (§2.1)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            allow = ", ".join(sorted(self.methods))
            response = problem(errors.MethodNotAllowed(), scope["path"], {"Allow": allow})
            await response(scope, receive, send)
            return
        await super().handle(scope, receive, send)


def query_int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = lo - 1
    if value < lo or value > hi:
        raise errors.InvalidRequest(f"{name} must be an integer from {lo} to {hi}", [(name, f"{lo}..{hi}")])
    return value
