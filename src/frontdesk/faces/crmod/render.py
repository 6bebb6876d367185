"""Exact output of the CTI Activity web service (crmod-cti.md §2.4, §3.7, §4.2, §8.2)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from frontdesk.crm.data import CrmData, InsertResult
from frontdesk.crm.model import full_name
from frontdesk.soap import SoapFault, fault_envelope, xml_escape

XML = "text/xml; charset=utf-8"
ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE_NS = "urn:crmondemand/ws/odctibs/ctiactivity/"
DATA_NS = "urn:/crmondemand/xml/ctiactivity/data"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_ROOT = (
    f'<env:Envelope xmlns:env="{ENV_NS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ns0="{SERVICE_NS}" xmlns:ns1="{DATA_NS}">'
    f'<env:Header><wsse:Security env:mustUnderstand="1" xmlns:wsse="{WSSE_NS}" '
    f'xmlns="{WSSE_NS}"/></env:Header>'
    "<env:Body>"
)
ACTIVITY_ORDER = (
    "Status",
    "InteractionId",
    "AgentOfferTime",
    "ActivityId",
    "ContactId",
    "ContactFullName",
    "LeadId",
    "LeadFullName",
    "AccountId",
    "AccountName",
    "ServiceRequestId",
    "ServiceRequestNumber",
    "CampaignId",
    "CampaignName",
    "ScreenPopRecordId",
    "ScreenPopRecordType",
)
NOT_WELL_FORMED = "Supplied input is not well formed or does not contain the expected data."
# fault id -> (faultcode, fixed text or None when the fault carries its own message)
_FAULTS: dict[str, tuple[str, str | None]] = {
    "SECURITY_MISSING": ("env:Client", "Missing <wsse:Security> in SOAP Header"),
    "SECURITY_INCOMPLETE": ("env:Client", "Policy requires authentication token"),
    "TOKEN_MISSING": ("env:Client", "Policy requires authentication token"),
    "USERNAME_MISSING": ("env:Client", "Missing user name in security token"),
    "PASSWORD_MISSING": ("env:Client", "Missing password value"),
    "AUTH_FAILED": ("env:Client", "The security token could not be authenticated or authorized."),
    "TOO_LARGE": ("env:Client", "Caught exception while handling request: request body exceeds 262144 bytes"),
    "DTD_FORBIDDEN": ("env:Client", NOT_WELL_FORMED),
    "MALFORMED_XML": ("env:Client", NOT_WELL_FORMED),
    "TOO_COMPLEX": ("env:Client", NOT_WELL_FORMED),
    "NOT_SOAP": ("env:Client", NOT_WELL_FORMED),
    "VERSION_MISMATCH": (
        "env:VersionMismatch",
        "Caught exception while handling request: unsupported SOAP version",
    ),
    "ALLOTMENT": ("env:Server", None),
    "UNEXPECTED": ("env:Server", "Caught exception while handling request: internal error"),
}


def xml(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, headers={"content-type": XML})


def fault(exc: SoapFault, operation: str | None) -> tuple[int, bytes]:
    code, text = _FAULTS.get(exc.fault_id, ("env:Client", None))
    message = exc.message or text or "Caught exception while handling request: internal error"
    detail = None
    for err_code in ("SBL-DAT-00498", "SBL-SBL-70172"):
        if message.endswith(f"({err_code})"):
            detail = f"<ErrorCode>{err_code}</ErrorCode><ErrorMessage>{xml_escape(message)}</ErrorMessage>"
    body = fault_envelope(
        env_prefix="env", faultcode=code, faultstring=message, detail=detail, declaration=False
    )
    return exc.status or (413 if exc.fault_id == "TOO_LARGE" else 500), body


def insert_activity(
    data: CrmData, result: InsertResult, interaction_id: str, offer_time: str
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Status": result.status,
        "InteractionId": interaction_id,
        "AgentOfferTime": offer_time,
    }
    rec = result.activity
    if rec is None:
        return out
    out["ActivityId"] = rec["Id"]
    if result.status == "OK":
        for slot, name_key, namer in (
            ("ContactId", "ContactFullName", "person"),
            ("LeadId", "LeadFullName", "person"),
            ("AccountId", "AccountName", "Name"),
            ("ServiceRequestId", "ServiceRequestNumber", "SRNumber"),
            ("CampaignId", "CampaignName", "Name"),
        ):
            rid = rec.get(slot)
            linked = data.records.get(rid) if rid else None
            if linked is None:
                continue
            out[slot] = rid
            name = full_name(linked) if namer == "person" else str(linked.get(namer) or "")
            if name:
                out[name_key] = name
        pop_type, pop_id = data.screen_pop(rec)
    else:
        pop_type, pop_id = "Activity", rec["Id"]
    out["ScreenPopRecordId"] = pop_id
    out["ScreenPopRecordType"] = pop_type
    return out


def output(wrapper: str, activities: list[dict[str, Any]]) -> bytes:
    parts = [_ROOT, f"<ns0:{wrapper}>"]
    if not activities:
        parts.append("<ns1:ListOfActivity/>")
    else:
        parts.append("<ns1:ListOfActivity>")
        for a in activities:
            parts.append("<ns1:Activity>")
            for name in ACTIVITY_ORDER:
                value = a.get(name)
                if value is not None and value != "":
                    parts.append(f"<ns1:{name}>{xml_escape(str(value))}</ns1:{name}>")
            parts.append("</ns1:Activity>")
        parts.append("</ns1:ListOfActivity>")
    parts.append(f"</ns0:{wrapper}></env:Body></env:Envelope>")
    return "".join(parts).encode("utf-8")
