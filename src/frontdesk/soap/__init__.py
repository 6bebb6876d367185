"""The one SOAP layer of Frontdesk (ARCHITECTURE.md 10.7).

Every SOAP face parses envelopes, checks WS-Security and renders faults through this package and
passes a ``SoapPolicy`` that carries what differs between faces (limits, password types,
mustUnderstand handling, whether authentication precedes dispatch, fault rendering).
"""

from __future__ import annotations

from frontdesk.soap.dispatch import dispatch
from frontdesk.soap.envelope import (
    SOAP12_NS,
    Envelope,
    check_must_understand,
    child,
    children,
    local_name,
    parse_envelope,
    text_of,
)
from frontdesk.soap.faults import SOAP11_NS, SoapFault, fault_envelope, xml_escape
from frontdesk.soap.http import read_body
from frontdesk.soap.policy import FaultRenderer, Limits, SoapPolicy
from frontdesk.soap.wsse import (
    Credential,
    KeyValue,
    UsernameToken,
    read_username_token,
    read_username_token_strict,
    verify_token,
)

__all__ = [
    "SOAP11_NS",
    "SOAP12_NS",
    "Credential",
    "Envelope",
    "FaultRenderer",
    "KeyValue",
    "Limits",
    "SoapFault",
    "SoapPolicy",
    "UsernameToken",
    "check_must_understand",
    "child",
    "children",
    "dispatch",
    "fault_envelope",
    "local_name",
    "parse_envelope",
    "read_body",
    "read_username_token",
    "read_username_token_strict",
    "text_of",
    "verify_token",
    "xml_escape",
]
