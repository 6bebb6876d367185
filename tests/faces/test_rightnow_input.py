"""Hostile and malformed input (spec/rightnow-chat-soap.md §4, §12, §15; checklist 25-33): each case
gets the spec's fault and the server stays healthy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rightnow_client import (
    SOAP,
    Soap,
    assert_fault,
    close_all,
    envelope,
    security,
    seed,
    session_header,
    value,
)

from conftest import ServerProc

GET_URL = "<rncm:GetChatUrl><rncm:UrlType>ENDUSER</rncm:UrlType></rncm:GetChatUrl>"


@pytest.fixture
def soap(server: ServerProc) -> Iterator[Soap]:
    client = Soap(server.base_url)
    yield client
    client.healthy()
    close_all()


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
    + envelope("<rncm:GetChatUrl><rncm:UrlType>&lol4;</rncm:UrlType></rncm:GetChatUrl>")
)
EXTERNAL_ENTITY = '<?xml version="1.0"?><!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + envelope(
    "<rncm:GetChatUrl><rncm:UrlType>&xxe;</rncm:UrlType></rncm:GetChatUrl>"
)
PLAIN_DOCTYPE = '<!DOCTYPE Envelope SYSTEM "http://127.0.0.1:9/x.dtd">' + envelope(GET_URL)


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, PLAIN_DOCTYPE])
def test_doctype_refused(soap: Soap, body: str) -> None:
    r = soap.post(body)
    assert_fault(r, "DTD_FORBIDDEN", style="site")
    assert "lol" not in r.text and "root:" not in r.text


def test_doctype_in_utf16_refused(soap: Soap) -> None:
    r = soap.post(("\ufeff" + EXTERNAL_ENTITY.replace('<?xml version="1.0"?>', "")).encode("utf-16-le"))
    assert_fault(r, "DTD_FORBIDDEN", style="site")


def test_utf16_with_bom_accepted(soap: Soap) -> None:
    r = soap.post(("\ufeff" + envelope(GET_URL)).encode("utf-16-le"))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "body",
    [envelope(GET_URL)[:-40], "not xml at all", "", envelope(GET_URL).replace("</rncm:UrlType>", "")],
)
def test_malformed(soap: Soap, body: str) -> None:
    r = soap.post(body)
    assert_fault(r, "MALFORMED_XML", style="site")


def test_seed_annotation_is_malformed(soap: Soap) -> None:
    r = soap.post(seed("2-RequestChat", token=soap.token(), keep_annotation="1"))
    assert_fault(r, "MALFORMED_XML", style="site")


def test_soap12_version_mismatch(soap: Soap) -> None:
    body = envelope(GET_URL).replace(SOAP, "http://www.w3.org/2003/05/soap-envelope")
    assert_fault(soap.post(body), "VERSION_MISMATCH", style="site")


@pytest.mark.parametrize(
    "body",
    [
        "<Envelope/>",
        '<x:Envelope xmlns:x="urn:other"><x:Body/></x:Envelope>',
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}"><soapenv:Header/></soapenv:Envelope>',
    ],
)
def test_not_soap(soap: Soap, body: str) -> None:
    assert_fault(soap.post(body), "NOT_SOAP", style="site")


@pytest.mark.parametrize(
    "body",
    [
        envelope("<v11:CheckChatAvailability/>"),
        envelope(""),
        envelope("<v11:QueueStatus/>", headers=""),
    ],
)
def test_unknown_operation(soap: Soap, body: str) -> None:
    assert_fault(soap.post(body), "UNKNOWN_OPERATION", style="site")


def test_must_understand(soap: Soap) -> None:
    block = '<x:Trace xmlns:x="urn:example:trace" soapenv:mustUnderstand="{}">1</x:Trace>'
    for flag in ("1", "true"):
        r = soap.post(envelope(GET_URL, block.format(flag) + security()))
        assert_fault(r, "MUST_UNDERSTAND", style="site")
    r = soap.post(envelope("<v11:TerminateChat/>", block.format("1") + session_header("x") + security()))
    assert_fault(r, "MUST_UNDERSTAND", style="chat")
    unqualified = '<x:Trace xmlns:x="urn:example:trace" mustUnderstand="1">1</x:Trace>'
    r = soap.post(envelope(GET_URL, unqualified + security()))
    assert r.status_code == 200, r.text
    addressing = (
        '<wsa:Action xmlns:wsa="http://www.w3.org/2005/08/addressing" soapenv:mustUnderstand="1">'
        "GetChatUrl</wsa:Action>"
    )
    r = soap.post(envelope(GET_URL, addressing + security()))
    assert r.status_code == 200, r.text


def test_too_large(soap: Soap) -> None:
    body = envelope(GET_URL).encode()
    body = body + b" " * (1_048_577 - len(body))
    assert len(body) == 1_048_577
    r = soap.post(body)
    assert_fault(r, "TOO_LARGE", style="site", status=413)
    exact = envelope(GET_URL).encode()
    exact = exact + b" " * (1_048_576 - len(exact))
    assert soap.post(exact).status_code == 200


def test_too_large_chunked(soap: Soap) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 32768

    r = soap.http.post(soap.url, content=chunks())
    assert_fault(r, "TOO_LARGE", style="site", status=413)


def test_too_deep(soap: Soap) -> None:
    deep = "<a>" * 30 + "x" + "</a>" * 30
    r = soap.post(envelope(f"<rncm:GetChatUrl><rncm:UrlType>ENDUSER</rncm:UrlType>{deep}</rncm:GetChatUrl>"))
    assert_fault(r, "TOO_COMPLEX", style="site")
    ok = "<a>" * 25 + "x" + "</a>" * 25
    r = soap.post(envelope(f"<rncm:GetChatUrl><rncm:UrlType>ENDUSER</rncm:UrlType>{ok}</rncm:GetChatUrl>"))
    assert r.status_code == 200, r.text


def test_too_many_elements(soap: Soap) -> None:
    many = "<a/>" * 10_001
    r = soap.post(envelope(f"<rncm:GetChatUrl><rncm:UrlType>ENDUSER</rncm:UrlType>{many}</rncm:GetChatUrl>"))
    assert_fault(r, "TOO_COMPLEX", style="site")


def test_too_many_attributes(soap: Soap) -> None:
    attrs = " ".join(f'a{i}="1"' for i in range(65))
    r = soap.post(
        envelope(f"<rncm:GetChatUrl {attrs}><rncm:UrlType>ENDUSER</rncm:UrlType></rncm:GetChatUrl>")
    )
    assert_fault(r, "TOO_COMPLEX", style="site")


def test_prefixes_and_qualification_free(soap: Soap) -> None:
    """Any prefix, unqualified children, comments and whitespace (§4.2, §4.4)."""
    body = (
        '<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Header>'
        + security(must=' mustUnderstand="1"')
        + '<!-- c --></e:Header><e:Body>\n <GetChatUrl xmlns="urn:messages.chat.ws.rightnow.com/v1_2">'
        "<UrlType> enduser </UrlType></GetChatUrl></e:Body></e:Envelope>"
    )
    r = soap.post(body)
    assert r.status_code == 200, r.text
    assert value(r, "SiteName") == "example"
