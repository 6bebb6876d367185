"""CRM On Demand CTI face (crmod-cti.md): the CTI Activity web service, its WSDL and the CTICommand
servlet. The CRM administration routes live in the native route table (native.md §0.4, §9.1)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from frontdesk.engine.engine import Engine
from frontdesk.faces.crmod.servlet import CtiCommand
from frontdesk.faces.crmod.soap import IntegrationEndpoint


def routes(engine: Engine) -> list[BaseRoute]:
    soap = IntegrationEndpoint(engine)
    servlet = CtiCommand(engine)
    return [
        Route("/Services/Integration", soap, methods=None),
        Route("/OnDemand/user/CTICommand", servlet, methods=None),
        Route("/OnDemand/user/CTICommand/", servlet, methods=None),
    ]
