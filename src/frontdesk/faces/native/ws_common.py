"""What both WebSockets share: authentication (native.md §6.1), closing, and masking tokens that
arrive in a query string out of the server's log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

import jwt
import msgspec
from starlette.websockets import WebSocket

from frontdesk.domain import errors
from frontdesk.engine.auth import Principal
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.native import frames as f
from frontdesk.faces.native.http import Ctx

MAX_FRAME = 64 * 1024
AUTH_WAIT = 10.0
_TOKEN_RE = re.compile(r"([?&]token=)[^&\s\"']+")


class MaskTokens(logging.Filter):
    """``?token=<jwt>`` in a log line becomes ``?token=***`` (native.md §1.2)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and any(isinstance(a, str) and "token=" in a for a in _args(record.args)):
            record.args = tuple(
                _TOKEN_RE.sub(r"\1***", a) if isinstance(a, str) else a for a in _args(record.args)
            )
        if isinstance(record.msg, str) and "token=" in record.msg:
            record.msg = _TOKEN_RE.sub(r"\1***", record.msg)
        return True


def _args(args: Any) -> tuple[Any, ...]:
    return tuple(args) if isinstance(args, tuple) else (args,)


def install_log_masking() -> None:
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(flt, MaskTokens) for flt in logger.filters):
            logger.addFilter(MaskTokens())


async def authenticate(ctx: Ctx, ws: WebSocket, decoder: Any) -> tuple[Principal, Tenant, str, Any] | None:
    """Accept, then take the token from the query or the first frame; None after closing 4003."""
    await ws.accept()
    token = ws.query_params.get("token")
    cursors = None
    if not token:
        try:
            msg = await asyncio.wait_for(ws.receive(), AUTH_WAIT)
            first = decoder.decode(msg.get("text") or msg.get("bytes") or b"")
        except (TimeoutError, msgspec.DecodeError, RuntimeError):
            first = None
        if not isinstance(first, f.Auth):
            await close_ws(ws, 4003)
            return None
        token, cursors = first.token, first.cursors
    try:
        principal = ctx.engine.verify_token(token)
    except errors.FrontdeskError:
        await close_ws(ws, 4003)
        return None
    tenant = ctx.engine.tenant(principal.tenant_id)
    if tenant is None:
        await close_ws(ws, 4003)
        return None
    return principal, tenant, token, cursors


async def close_ws(ws: WebSocket, code: int) -> None:
    with contextlib.suppress(Exception):
        await ws.close(code)


def token_exp(token: str) -> float:
    try:
        return float(jwt.decode(token, options={"verify_signature": False}).get("exp", 0))
    except (jwt.PyJWTError, ValueError, TypeError):
        return 0.0
