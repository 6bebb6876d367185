"""Helpers for the CRM On Demand CTI tests: envelopes, posting, reading responses and faults."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crmod"
INSERT_TEMPLATE = (FIXTURES / "insert.xml").read_text()
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
DATA = "urn:/crmondemand/xml/ctiactivity/data"
SECURITY = (
    '<wsse:Security soapenv:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>{user}</wsse:Username>'
    '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0'
    '#PasswordText">{password}</wsse:Password></wsse:UsernameToken></wsse:Security>'
)
OPEN = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:cti="urn:crmondemand/ws/odctibs/ctiactivity/" '
    'xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" '
    'xmlns:data="urn:/crmondemand/xml/ctiactivity/data">'
)
NOT_WELL_FORMED = "Supplied input is not well formed or does not contain the expected data."
BASIC_DEMO = {"Authorization": "Basic " + base64.b64encode(b"demo:demo").decode()}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def interaction(iid: str, channel: str = "Inbound Call", aot: str = "1287786900", **fields: str) -> str:
    parts = [
        f"<data:InteractionId>{iid}</data:InteractionId>",
        f"<data:AgentOfferTime>{aot}</data:AgentOfferTime>",
    ]
    if channel:
        parts.append(f"<data:ChannelType>{channel}</data:ChannelType>")
    for k, v in fields.items():
        parts.append(f"<data:{k}>{v}</data:{k}>")
    return "<data:Interaction>" + "".join(parts) + "</data:Interaction>"


def envelope(body: str, user: str = "demo", password: str = "demo", header: str | None = None) -> str:
    hdr = (
        header
        if header is not None
        else "<soapenv:Header>" + SECURITY.format(user=user, password=password) + "</soapenv:Header>"
    )
    return f"{OPEN}{hdr}<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"


def insert_body(*interactions: str) -> str:
    return (
        "<cti:CTIActivityInsert_Input><data:ListOfInteraction>"
        + "".join(interactions)
        + "</data:ListOfInteraction></cti:CTIActivityInsert_Input>"
    )


def wrapup_body(*interactions: str) -> str:
    return (
        "<cti:CTIActivityWrapUp_Input><data:ListOfInteraction>"
        + "".join(interactions)
        + "</data:ListOfInteraction></cti:CTIActivityWrapUp_Input>"
    )


def post(base: str, xml: str | bytes, **kw: Any) -> httpx.Response:
    data = xml.encode() if isinstance(xml, str) else xml
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    headers.update(kw.pop("headers", {}))
    return httpx.post(base + "/Services/Integration", content=data, headers=headers, timeout=20, **kw)


def insert(base: str, *interactions: str, **kw: Any) -> list[dict[str, str]]:
    r = post(base, envelope(insert_body(*interactions), **kw))
    assert r.status_code == 200, r.text
    return activities(r)


def wrapup(base: str, *interactions: str, **kw: Any) -> list[dict[str, str]]:
    r = post(base, envelope(wrapup_body(*interactions), **kw))
    assert r.status_code == 200, r.text
    return activities(r)


def activities(r: httpx.Response) -> list[dict[str, str]]:
    root = etree.fromstring(r.content)
    out = []
    for act in root.iter(f"{{{DATA}}}Activity"):
        out.append({etree.QName(c).localname: c.text or "" for c in act})
    return out


def activity_elements(r: httpx.Response) -> list[list[tuple[str, str]]]:
    root = etree.fromstring(r.content)
    return [
        [(etree.QName(c).localname, c.text or "") for c in act] for act in root.iter(f"{{{DATA}}}Activity")
    ]


def fault(r: httpx.Response) -> tuple[str, str, dict[str, str]]:
    """(faultcode, faultstring, detail children) of a SOAP fault response."""
    assert r.headers["content-type"] == "text/xml; charset=utf-8", r.headers
    root = etree.fromstring(r.content)
    f = root.find(f"{{{ENV}}}Body/{{{ENV}}}Fault")
    assert f is not None, r.text
    detail = f.find("detail")
    d = {c.tag: c.text or "" for c in detail} if detail is not None else {}
    return f.findtext("faultcode") or "", f.findtext("faultstring") or "", d


def assert_fault(r: httpx.Response, text: str, code: str = "env:Client", status: int = 500) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    got_code, got_text, _ = fault(r)
    assert (got_code, got_text) == (code, text), r.text
