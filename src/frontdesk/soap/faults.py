"""SOAP 1.1 faults: the exception faces raise and the envelope every fault renderer builds on."""

from __future__ import annotations

import re

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class SoapFault(Exception):
    """A fault by catalogue id (e.g. ``AUTH_FAILED``); the face's renderer decides its wire form.

    ``message`` replaces the catalogue's fault string where the catalogue allows a specific text
    (``UrlType is required``); it must never carry secrets or parser internals.
    """

    def __init__(self, fault_id: str, message: str | None = None, status: int | None = None) -> None:
        super().__init__(fault_id)
        self.fault_id = fault_id
        self.message = message
        self.status = status
        # The operation the fault belongs to, once known (decides the fault style of some faces).
        self.operation: str | None = None


def clean_text(value: str) -> str:
    """Drop characters XML 1.0 cannot carry, so text from any channel can be emitted."""
    return _BAD_XML_CHARS.sub("", value)


def xml_escape(value: str, attribute: bool = False) -> str:
    out = clean_text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace('"', "&quot;") if attribute else out


def fault_envelope(
    *,
    env_prefix: str,
    faultcode: str,
    faultstring: str,
    detail: str | None = None,
    declare_wsse: bool = False,
    declaration: bool = True,
) -> bytes:
    """A SOAP 1.1 fault without a Header; ``detail`` is the already rendered detail child.

    ``declaration`` False leaves out the XML declaration (CRM On Demand faults, crmod-cti.md §2.4)."""
    p = env_prefix
    wsse = f' xmlns:wsse="{WSSE_NS}"' if declare_wsse else ""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>' if declaration else "",
        f'<{p}:Envelope xmlns:{p}="{SOAP11_NS}"><{p}:Body><{p}:Fault{wsse}>',
        f"<faultcode>{faultcode}</faultcode><faultstring>{xml_escape(faultstring)}</faultstring>",
    ]
    if detail is not None:
        parts.append(f"<detail>{detail}</detail>")
    parts.append(f"</{p}:Fault></{p}:Body></{p}:Envelope>")
    return "".join(parts).encode("utf-8")
