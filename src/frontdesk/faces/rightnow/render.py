"""Exact output (spec §5, §7.4, §10): response frames, TransactionResponseData, system messages.

Prefixes, declaration order and element order are fixed because real clients look elements up by
literal prefix and zeep parses strictly; every text goes through ``xml_escape``, which also drops
characters XML 1.0 cannot carry.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from frontdesk.soap import xml_escape

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SITE_NS_V12 = "urn:messages.chat.ws.rightnow.com/v1_2"
SITE_NS_V11 = "urn:messages.chat.ws.rightnow.com/v1_1"
COMMON_NS = "urn:messages.common.chat.ws.rightnow.com/v1"
ENDUSER_NS = "urn:messages.enduser.chat.ws.rightnow.com/v1"
UQ_NS = "urn:messages.uq.chat.ws.rightnow.com/v1"
CHAT_FAULT_NS = "urn:faults.chat.ws.rightnow.com/v1"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>'

_FULL_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:[.:](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$")
_TIME_ONLY = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?$")
_INTEGER = re.compile(r"^[+-]?\d{1,18}$")

# Message names and their fields after CreatedTime, in XSD order (§10.2). Kept as data so that a
# real WSDL showing other names can correct them in one place.
MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "RNChatParticipantAddedMessage": ("Name", "Greeting", "ClientID", "Role"),
    "RNChatParticipantLeftMessage": ("Name", "ClientID", "Role", "DisconnectReason"),
    "RNChatMessagePostedMessage": ("Body", "ClientID"),
    "RNChatActivityChangedMessage": ("ClientID", "Mode"),
    "RNChatWaitInformationChangedMessage": ("Position", "ExpectedWaitTimeSeconds", "AverageWaitTimeSeconds"),
    "RNChatConcludedMessage": ("Reason", "Role", "ClientID"),
}


def timestamp(at: float) -> str:
    """UTC with milliseconds and ``Z`` (§5 rule 7)."""
    dt = datetime.fromtimestamp(at, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def site_response(operation: str, site_ns: str, inner: str) -> bytes:
    return (
        f'{_XML_DECL}<soapenv:Envelope xmlns:soapenv="{SOAP11_NS}"><soapenv:Header/><soapenv:Body>'
        f'<n0:{operation}Response xmlns:n0="{site_ns}" xmlns:xsi="{XSI_NS}">{inner}'
        f"</n0:{operation}Response></soapenv:Body></soapenv:Envelope>"
    ).encode()


def chat_response(operation: str, inner: str) -> bytes:
    return (
        f'{_XML_DECL}<S:Envelope xmlns:S="{SOAP11_NS}"><S:Body><ns3:{operation}Response'
        f' xmlns="{COMMON_NS}" xmlns:ns2="{UQ_NS}" xmlns:ns3="{ENDUSER_NS}" xmlns:ns4="{CHAT_FAULT_NS}">'
        f"{inner}</ns3:{operation}Response></S:Body></S:Envelope>"
    ).encode()


def n0(name: str, value: str) -> str:
    return f"<n0:{name}>{xml_escape(value)}</n0:{name}>"


def ns3(name: str, value: str | int) -> str:
    return f"<ns3:{name}>{xml_escape(str(value))}</ns3:{name}>"


def ns3_id(name: str, value: int) -> str:
    return f'<ns3:{name} id="{value}"/>'


def echo_request_time(raw: str | None) -> str | None:
    """§7.4: None = omit the element, "" = emit it empty, else the UTC instant."""
    v = (raw or "").strip()
    if not v:
        return None
    m = _FULL_TIME.match(v)
    if m is not None:
        date, clock, frac, zone = m.groups()
        zone = zone or "Z"
        zone = "+00:00" if zone == "Z" else zone if ":" in zone else zone[:3] + ":" + zone[3:]
        micro = (frac or "").ljust(6, "0")[:6]
        try:
            dt = datetime.fromisoformat(f"{date}T{clock}.{micro}{zone}")
        except ValueError:
            return None
        return timestamp(dt.astimezone(UTC).timestamp())
    if _TIME_ONLY.match(v):
        return ""
    return None


def echo_transaction_id(raw: str | None) -> str | None:
    v = (raw or "").strip()
    return str(int(v)) if _INTEGER.match(v) else None


def transaction_response(
    request_time: str | None, transaction_id: str | None, started: float, client_id: int
) -> str:
    parts = ["<ns3:TransactionResponseData>"]
    echoed = echo_request_time(request_time)
    if echoed == "":
        parts.append("<ns3:ClientRequestTime/>")
    elif echoed is not None:
        parts.append(ns3("ClientRequestTime", echoed))
    parts.append(ns3("ServiceStartTime", timestamp(started)))
    parts.append(ns3("ServiceFinishTime", timestamp(time.time())))
    parts.append(ns3("ClientID", client_id))
    tid = echo_transaction_id(transaction_id)
    if tid is not None:
        parts.append(ns3("ClientTransactionID", tid))
    parts.append("</ns3:TransactionResponseData>")
    return "".join(parts)


def system_message(name: str, created: float, values: dict[str, str | int | None]) -> str:
    """One message: unprefixed CreatedTime (common namespace by default), then ns3 fields."""
    parts = [f"<ns3:{name}><CreatedTime>{timestamp(created)}</CreatedTime>"]
    for field in MESSAGE_FIELDS[name]:
        value = values.get(field)
        if value is not None:
            parts.append(ns3(field, value))
    parts.append(f"</ns3:{name}>")
    return "".join(parts)


def system_messages(rendered: list[str]) -> str:
    if not rendered:
        return "<ns3:SystemMessages/>"
    return "<ns3:SystemMessages>" + "".join(rendered) + "</ns3:SystemMessages>"
