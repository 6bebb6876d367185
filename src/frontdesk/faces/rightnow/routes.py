"""Placeholder until the face lands."""

from __future__ import annotations

from starlette.routing import BaseRoute

from frontdesk.engine.engine import Engine


def routes(engine: Engine) -> list[BaseRoute]:
    return []
