"""The composition root: configuration in, ASGI application out."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from frontdesk import __version__
from frontdesk.config import Config
from frontdesk.engine.engine import Engine

log = logging.getLogger("frontdesk")


def build_app(config: Config, engine: Engine | None = None) -> Starlette:
    engine = engine or Engine(config)
    routes: list[BaseRoute] = [Route("/healthz", _healthz, methods=["GET"])]
    from frontdesk.faces.native.routes import routes as native_routes
    from frontdesk.faces.servicepattern.routes import routes as sp_routes

    routes += sp_routes(engine)
    routes += native_routes(engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await engine.start()
        try:
            yield
        finally:
            await engine.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.engine = engine
    app.state.config = config
    return app


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": __version__})
