"""CTI Activity web service at ``POST /Services/Integration`` (crmod-cti.md §2-§5).

The order of spec §2.6: size, well-formedness, envelope, WS-Security S1-S5, allotment, dispatch,
the interaction list, per-interaction validation, privileges, then processing. Validation of every
interaction happens before any is processed, so a fault never leaves anything half-written.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from frontdesk.crm import model as m
from frontdesk.crm.data import Interaction
from frontdesk.engine.engine import Engine
from frontdesk.faces.crmod import render
from frontdesk.faces.crmod.common import CTI_PRIVILEGES, CrmUser, authenticate
from frontdesk.faces.crmod.wsdl import wsdl
from frontdesk.soap import (
    Envelope,
    Limits,
    SoapFault,
    SoapPolicy,
    dispatch,
    read_body,
    read_username_token_strict,
)
from frontdesk.soap.envelope import Element, child, children, elements, local_name, text_of
from frontdesk.soap.http import public_base

log = logging.getLogger("frontdesk.faces.crmod")
MAX_BYTES = 262_144
MAX_INTERACTIONS = 5
INSERT = "CTIActivityInsert_Input"
WRAPUP = "CTIActivityWrapUp_Input"
OPERATIONS = (INSERT, WRAPUP)

POLICY = SoapPolicy(
    render_fault=render.fault,
    limits=Limits(max_bytes=MAX_BYTES, max_depth=32, max_elements=2000, max_attributes=64, max_text=65_536),
    password_types=frozenset({"text"}),
    understood_headers=frozenset({"Security"}),
    auth_before_dispatch=True,
    enforce_must_understand=False,
)
_INSERT_FIELDS = (
    "InteractionId",
    "AgentOfferTime",
    "ChannelType",
    "Origin",
    "Destination",
    "Priority",
    "IVRBeginTime",
    "QueueBeginTime",
    "Queue",
    "AssociatedRecordId",
    "AssociatedRecordType",
    "CampaignSourceCode",
    "ContactPhoneNumber",
    "CreateServiceRequest",
    "ServiceRequestNumber",
)


class _AnyName:
    """Accepts every operation name, so that dispatch leaves unknown names to this face (§2.6)."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)

    def __iter__(self) -> Any:
        return iter(OPERATIONS)

    def __len__(self) -> int:
        return len(OPERATIONS)


_ANY = _AnyName()


@dataclass(slots=True)
class Parsed:
    values: dict[str, str]
    channel: m.Channel
    offer_time: int


def _values(el: Element, names: tuple[str, ...]) -> dict[str, str]:
    """Parameters by local name: first occurrence wins, trimmed, empty counts as absent (§8.1)."""
    out: dict[str, str] = {}
    for c in elements(el):
        name = local_name(c)
        if name in names and name not in out:
            value = (text_of(c) or "").strip()
            if value:
                out[name] = value
    return out


def _required(name: str) -> SoapFault:
    return SoapFault(
        "REQUIRED", f"'{name}' is a required field. Please enter a value for the field.(SBL-DAT-00498)"
    )


def _invalid(option: str, value: str) -> SoapFault:
    return SoapFault("INVALID_VALUE", f"Invalid value, {value[:100]}, is specified for option {option}")


def _validate(items: list[Element], names: tuple[str, ...], check_assoc: bool) -> list[Parsed]:
    parsed: list[Parsed] = []
    for item in items:
        values = _values(item, names)
        for req in ("InteractionId", "AgentOfferTime", "ChannelType"):
            if req not in values:
                raise _required(req)
        offer_time = m.epoch(values["AgentOfferTime"])
        if offer_time is None:
            raise _invalid("AgentOfferTime", values["AgentOfferTime"])
        ch = m.channel(values["ChannelType"])
        if ch is None:
            raise _invalid("ChannelType", values["ChannelType"])
        if (
            check_assoc
            and "AssociatedRecordType" in values
            and m.record_type(values["AssociatedRecordType"]) is None
        ):
            raise _invalid("AssociatedRecordType", values["AssociatedRecordType"])
        parsed.append(Parsed(values, ch, offer_time))
    return parsed


class IntegrationEndpoint:
    """Bare ASGI endpoint: every method arrives here and the face answers 405 itself."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        if request.method in ("GET", "HEAD"):
            if any(k.lower() == "wsdl" for k in request.query_params):
                server = self.engine.config.server
                tenant = self.engine.tenant(server.default_tenant)
                configured = tenant.config.base_url(server) if tenant is not None else None
                base = public_base(request, configured, server.trusted_proxies)
                return render.xml(wsdl(base + "/Services/Integration"))
            return Response(b"", 405, {"Allow": "GET, POST"})
        if request.method != "POST":
            return Response(b"", 405, {"Allow": "GET, POST"})
        return await self.soap(request)

    async def soap(self, request: Request) -> Response:
        user: list[CrmUser] = []
        operation: str | None = None

        async def auth(env: Envelope) -> None:
            token = read_username_token_strict(env)
            if token.password_type != "text":
                raise SoapFault("AUTH_FAILED")
            found = await authenticate(self.engine, request, token.username, token.password)
            if found is None:
                raise SoapFault("AUTH_FAILED")
            limit = found.tenant.config.faces.crmod.daily_operation_allotment
            if not self.engine.crm.count_operation(found.tenant.id, limit):
                raise SoapFault(
                    "ALLOTMENT",
                    f"The Web Services Operations Allotment of {limit} has been reached or there is "
                    "insufficient capacity remaining to process your request.(SBL-SBL-70172)",
                )
            user.append(found)

        try:
            body = await read_body(request, MAX_BYTES)
            try:
                env, name = await dispatch(body, POLICY, _ANY, auth)
            except SoapFault as fault:
                if fault.fault_id != "UNKNOWN_OPERATION":
                    raise
                raise self._missing_wrapper(request) from None
            assert env.operation is not None
            if name not in OPERATIONS:
                raise SoapFault(
                    "UNKNOWN_OPERATION", f"Caught exception while handling request: unknown operation: {name}"
                )
            operation = name
            if operation == INSERT:
                return render.xml(await self.insert(user[0], env.operation))
            return render.xml(await self.wrap_up(user[0], env.operation))
        except SoapFault as fault:
            status, out = render.fault(fault, operation)
        except Exception:
            log.exception("crmod %s failed", operation or "request")
            status, out = render.fault(SoapFault("UNEXPECTED"), operation)
        return render.xml(out, status)

    @staticmethod
    def _missing_wrapper(request: Request) -> SoapFault:
        """E7 for an empty Body: the wrapper the SOAPAction names, else the Insert wrapper."""
        action = (request.headers.get("soapaction") or "").strip().strip('"').strip()
        name = WRAPUP if action.endswith(":CTIActivityWrapUp") else INSERT
        return SoapFault(
            "MISSING_ELEMENT", f"Caught exception while handling request: expected element is missing: {name}"
        )

    # -- operations ----------------------------------------------------------------------
    def _interactions(self, op: Element) -> list[Element]:
        lst = child(op, "ListOfInteraction")
        if lst is None:
            raise SoapFault(
                "MISSING_ELEMENT",
                "Caught exception while handling request: expected element is missing: ListOfInteraction",
            )
        items = children(lst, "Interaction")
        if len(items) > MAX_INTERACTIONS:
            raise SoapFault("TOO_MANY", "Request contains too many interactions")
        return items

    @staticmethod
    def _privileges(user: CrmUser, parsed: list[Parsed]) -> None:
        if not any(user.has(p) for p in CTI_PRIVILEGES) or any(
            not user.has(p.channel.privilege) for p in parsed
        ):
            raise SoapFault("ACCESS_DENIED", "Access Denied")

    async def insert(self, user: CrmUser, op: Element) -> bytes:
        parsed = _validate(self._interactions(op), _INSERT_FIELDS, True)
        self._privileges(user, parsed)
        tenant = user.tenant
        data = self.engine.crm.data(tenant.id)
        cfg = tenant.config.crm
        now = int(time.time())
        results: list[dict[str, Any]] = []
        for p in parsed:
            v = p.values
            it = Interaction(
                interaction_id=v["InteractionId"],
                agent_offer_time=p.offer_time,
                channel=p.channel,
                origin=v.get("Origin"),
                destination=v.get("Destination"),
                priority=v.get("Priority"),
                queue=v.get("Queue"),
                ivr_begin=m.epoch(v.get("IVRBeginTime")),
                queue_begin=m.epoch(v.get("QueueBeginTime")),
                associated_id=v.get("AssociatedRecordId"),
                associated_type=m.record_type(v.get("AssociatedRecordType")),
                campaign_source_code=v.get("CampaignSourceCode"),
                contact_phone=v.get("ContactPhoneNumber"),
                sr_number=v.get("ServiceRequestNumber"),
                create_sr=v.get("CreateServiceRequest", "").lower() in ("true", "1"),
            )
            try:
                result = data.insert_activity(
                    it,
                    user.sign_in,
                    now,
                    max_activities=cfg.max_activities,
                    match_campaigns=cfg.match_campaign_by_destination,
                )
            except Exception:
                log.exception("crmod insert of %s failed", it.interaction_id)
                results.append(
                    {
                        "Status": "Error",
                        "InteractionId": v["InteractionId"],
                        "AgentOfferTime": v["AgentOfferTime"],
                    }
                )
                continue
            results.append(render.insert_activity(data, result, v["InteractionId"], v["AgentOfferTime"]))
        await self.engine.crm.flush(tenant.id)
        return render.output("CTIActivityInsert_Output", results)

    async def wrap_up(self, user: CrmUser, op: Element) -> bytes:
        parsed = _validate(self._interactions(op), ("InteractionId", "AgentOfferTime", "ChannelType"), False)
        self._privileges(user, parsed)
        data = self.engine.crm.data(user.tenant.id)
        now = int(time.time())
        results: list[dict[str, Any]] = []
        for p in parsed:
            v = p.values
            found = data.find_key(v["InteractionId"], p.offer_time, p.channel.name)
            if not found:
                status = "Activity not found"
            elif len(found) > 1:
                status = "Multiple activites found"
            elif data.wrap_up(found[0], user.sign_in, now):
                status = "OK"
            else:
                status = "Activity has already been wrapped up"
            results.append(
                {"Status": status, "InteractionId": v["InteractionId"], "AgentOfferTime": v["AgentOfferTime"]}
            )
        await self.engine.crm.flush(user.tenant.id)
        return render.output("CTIActivityWrapUp_Output", results)
