"""Oracle Fusion Service chat face (spec/fusion-chat.md): ``chatAuthenticate`` on its four paths and
the consumer engagement API below ``/engagement/api/consumer/``.

Each endpoint takes every method and answers 405/OPTIONS itself, so clients get the face's own error
bodies and CORS headers instead of Starlette's defaults.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from frontdesk.engine.engine import Engine
from frontdesk.faces.fusion.authenticate import PREFIXES, ChatAuthenticate
from frontdesk.faces.fusion.consumer import ConsumerApi
from frontdesk.faces.fusion.sessions import Sessions
from frontdesk.faces.fusion.tokens import KeyRing


class _Asgi:
    """A bare ASGI endpoint, so that Starlette routes every method to the handler."""

    __slots__ = ("_fn",)

    def __init__(self, fn: Callable[[Request], Awaitable[Response]]) -> None:
        self._fn = fn

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._fn(Request(scope, receive, send))
        await response(scope, receive, send)


def routes(engine: Engine) -> list[BaseRoute]:
    keys = KeyRing(engine)
    authenticate = _Asgi(ChatAuthenticate(engine, keys))
    consumer = _Asgi(ConsumerApi(engine, Sessions(engine), keys))
    out: list[BaseRoute] = []
    for prefix in PREFIXES:
        out.append(Route(prefix, authenticate, methods=None))
        out.append(Route(prefix + "/{user:path}", authenticate, methods=None))
    out.append(Route("/engagement/api/consumer/{rest:path}", consumer, methods=None))
    return out
