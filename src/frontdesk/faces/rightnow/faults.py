"""The RightNow fault catalogue (spec §12.3) and its two wire styles (§12.1).

Faults raised before the operation is known, and faults of the site operations, use the site style
(``soapenv``, detail namespace ``urn:fault.ws.rightnow.com/v1_2``); the chat-server operations use
the chat-server style (``S``, ``urn:faults.chat.ws.rightnow.com/v1``).
"""

from __future__ import annotations

from typing import NamedTuple

from frontdesk.domain import errors
from frontdesk.soap import SoapFault, fault_envelope, xml_escape

SITE_OPERATIONS = frozenset({"GetChatUrl", "GetChatOperatingHours"})
SITE_FAULT_NS = "urn:fault.ws.rightnow.com/v1_2"
CHAT_FAULT_NS = "urn:faults.chat.ws.rightnow.com/v1"


class Entry(NamedTuple):
    code: str  # Client | Server | VersionMismatch | MustUnderstand | wsse:...
    detail: str | None  # RequestErrorFault | ServerErrorFault | UnexpectedErrorFault | None
    exception_code: str
    text: str


_REQ = "RequestErrorFault"
CATALOGUE: dict[str, Entry] = {
    "DTD_FORBIDDEN": Entry("Client", _REQ, "INVALID_REQUEST", "DTDs are not allowed"),
    "MALFORMED_XML": Entry("Client", _REQ, "INVALID_REQUEST", "Request is not well-formed XML"),
    "TOO_COMPLEX": Entry("Client", _REQ, "INVALID_REQUEST", "Request is too complex"),
    "TOO_LARGE": Entry("Client", _REQ, "INVALID_REQUEST", "Request entity too large"),
    "NOT_SOAP": Entry("Client", _REQ, "INVALID_REQUEST", "Request is not a SOAP 1.1 envelope"),
    "VERSION_MISMATCH": Entry("VersionMismatch", None, "", "Only SOAP 1.1 is supported"),
    "UNKNOWN_OPERATION": Entry("Client", _REQ, "INVALID_REQUEST", "Unknown operation"),
    "MUST_UNDERSTAND": Entry("MustUnderstand", None, "", "Header not understood"),
    "SECURITY_MISSING": Entry("wsse:InvalidSecurity", _REQ, "INVALID_LOGIN", "Missing wsse:Security header"),
    "SECURITY_INCOMPLETE": Entry("wsse:InvalidSecurity", _REQ, "INVALID_LOGIN", "Incomplete UsernameToken"),
    "AUTH_FAILED": Entry(
        "wsse:FailedAuthentication",
        _REQ,
        "INVALID_LOGIN",
        "The security token could not be authenticated or authorized",
    ),
    "SESSION_MISSING": Entry("Client", _REQ, "MISSING_ARGUMENT", "SessionID is required"),
    "BAD_ID": Entry("Client", _REQ, "BAD_ID", "Invalid session"),
    "BAD_TOKEN": Entry("Client", _REQ, "BAD_ID", "Invalid chat session token"),
    "CHAT_ENDED": Entry("Client", _REQ, "INVALID_REQUEST", "The chat has ended"),
    "MISSING_ARGUMENT": Entry("Client", _REQ, "MISSING_ARGUMENT", "{Element} is required"),
    "INVALID_FIELD": Entry("Client", _REQ, "INVALID_FIELD", "{Element} is invalid"),
    "INVALID_REQUEST": Entry("Client", _REQ, "INVALID_REQUEST", "No chat queue is available"),
    "SERVER_BUSY": Entry(
        "Server", "ServerErrorFault", "UNKNOWN_EXCEPTION", "The service is temporarily unavailable"
    ),
    "UNEXPECTED": Entry(
        "Server", "UnexpectedErrorFault", "UNKNOWN_EXCEPTION", "An unexpected error occurred"
    ),
}


def missing(element: str) -> SoapFault:
    return SoapFault("MISSING_ARGUMENT", f"{element} is required")


def invalid(element: str, message: str | None = None) -> SoapFault:
    return SoapFault("INVALID_FIELD", message or f"{element} is invalid")


def too_long(element: str) -> SoapFault:
    return SoapFault("INVALID_FIELD", f"{element} is too long")


def render(fault: SoapFault, operation: str | None) -> tuple[int, bytes]:
    """(HTTP status, body): 500 for every fault except oversize (413)."""
    entry = CATALOGUE.get(fault.fault_id) or CATALOGUE["UNEXPECTED"]
    text = fault.message or entry.text
    site = operation is None or operation in SITE_OPERATIONS
    prefix, ns_prefix, ns = ("soapenv", "n0", SITE_FAULT_NS) if site else ("S", "ns4", CHAT_FAULT_NS)
    wsse = entry.code.startswith("wsse:")
    faultcode = entry.code if wsse else f"{prefix}:{entry.code}"
    detail = None
    if entry.detail is not None:
        p, d = ns_prefix, entry.detail
        detail = (
            f'<{p}:{d} xmlns:{p}="{ns}"><{p}:exceptionCode>{entry.exception_code}</{p}:exceptionCode>'
            f"<{p}:exceptionMessage>{xml_escape(text)}</{p}:exceptionMessage></{p}:{d}>"
        )
    body = fault_envelope(
        env_prefix=prefix, faultcode=faultcode, faultstring=text, detail=detail, declare_wsse=wsse
    )
    return fault.status or 500, body


def from_engine(exc: errors.FrontdeskError) -> SoapFault:
    """Engine errors in RightNow terms (native.md §2.3)."""
    if isinstance(exc, errors.ChatNotFound):
        return SoapFault("BAD_ID")
    if isinstance(exc, errors.ChatEnded):
        return SoapFault("CHAT_ENDED")
    if isinstance(exc, errors.QueueClosed | errors.QueueFull | errors.EntryPointDisabled):
        return SoapFault("INVALID_REQUEST")
    if isinstance(exc, errors.InvalidCredentials | errors.AuthLocked):
        return SoapFault("AUTH_FAILED")
    if isinstance(exc, errors.PayloadTooLarge):
        return SoapFault("TOO_LARGE", status=413)
    if isinstance(exc, errors.InvalidRequest):
        return SoapFault("INVALID_FIELD", "Request is invalid")
    if isinstance(exc, errors.Unavailable | errors.RateLimited):
        return SoapFault("SERVER_BUSY")
    return SoapFault("UNEXPECTED")
