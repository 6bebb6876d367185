"""Endpoints and WSDL (spec/rightnow-chat-soap.md §2, §13; checklist 1-9, 33).

The served documents must equal the spec's §13.2/§13.3 text (copied to tests/fixtures/rightnow)
with only ``soap:address/@location`` replaced by this server's own address (ARCHITECTURE.md 10.11).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from rightnow_client import FIXTURES, PATH, Soap, close_all, envelope, value
from zeep import Client
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from conftest import ServerProc

SPEC_ADDRESS = "http://127.0.0.1:8080/cgi-bin/example.cfg/services/chat_soap"


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    close_all()


def _get(server: ServerProc, path: str, method: str = "GET") -> httpx.Response:
    return httpx.request(method, server.base_url + path, timeout=10)


@pytest.mark.parametrize(
    ("query", "fixture"),
    [
        ("?wsdl", "site.wsdl"),
        ("?wsdl=server", "server.wsdl"),
        ("?WSDL", "site.wsdl"),
        ("?wsdl=Server", "server.wsdl"),
    ],
)
def test_wsdl_served_with_own_address(server: ServerProc, query: str, fixture: str) -> None:
    r = _get(server, PATH + query)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    own = server.base_url + PATH
    assert f'<soap:address location="{own}"/>' in r.text
    assert r.text == (FIXTURES / fixture).read_text().replace(SPEC_ADDRESS, own)


def test_head_wsdl(server: ServerProc) -> None:
    r = _get(server, PATH + "?wsdl", "HEAD")
    assert r.status_code == 200
    assert r.content == b""


def test_alias_serves_default_interface(server: ServerProc) -> None:
    r = _get(server, "/services/soap/connect/chat_soap?wsdl")
    assert r.status_code == 200
    assert f'location="{server.base_url + PATH}"' in r.text
    assert 'name="WSChatCommon"' in r.text


@pytest.mark.parametrize(
    "path",
    [
        PATH + "?wsdl=uq",
        PATH + "?wsdl=other",
        PATH,
        "/cgi-bin/nosuch.cfg/services/chat_soap?wsdl",
        "/cgi-bin/bad-name.cfg/services/chat_soap?wsdl",
    ],
)
def test_not_found(server: ServerProc, path: str) -> None:
    r = _get(server, path)
    assert r.status_code == 404
    assert r.content == b""


def test_method_not_allowed(server: ServerProc) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        r = _get(server, PATH, method)
        assert r.status_code == 405
        assert r.headers["allow"] == "GET, HEAD, POST"
        assert r.content == b""


def test_unknown_interface_post_is_404(server: ServerProc) -> None:
    r = httpx.post(server.base_url + "/cgi-bin/nosuch.cfg/services/chat_soap", content=b"<x/>", timeout=10)
    assert r.status_code == 404 and r.content == b""


def test_content_encoding_refused(server: ServerProc) -> None:
    r = httpx.post(
        server.base_url + PATH, content=b"\x1f\x8b", headers={"Content-Encoding": "gzip"}, timeout=10
    )
    assert r.status_code == 415 and r.content == b""


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"SOAPAction": '"GetChatUrl"'},
        {"SOAPAction": "Nonsense"},
        {"SOAPAction": '""'},
        {"Content-Type": "application/soap+xml"},
    ],
)
def test_soapaction_and_content_type_ignored(server: ServerProc, headers: dict[str, str]) -> None:
    soap = Soap(server.base_url)
    body = envelope("<rncm:GetChatUrl><rncm:UrlType>ENDUSER</rncm:UrlType></rncm:GetChatUrl>")
    r = soap.http.post(soap.url, content=body.encode(), headers=headers)
    assert r.status_code == 200, r.text
    assert value(r, "ChatToken")


def test_post_with_query_is_soap(server: ServerProc) -> None:
    soap = Soap(server.base_url, PATH + "?wsdl")
    r = soap.get_chat_url()
    assert r.status_code == 200, r.text


def _operations(client: Client) -> set[str]:
    ops: set[str] = set()
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            ops |= set(port.binding._operations)
    return ops


def test_zeep_loads_both_wsdls(server: ServerProc) -> None:
    base = server.base_url + PATH
    with requests.Session() as session:
        transport = Transport(timeout=10, session=session)
        site = Client(base + "?wsdl", transport=transport)
        assert _operations(site) == {"GetChatUrl", "GetChatOperatingHours"}
        chat = Client(base + "?wsdl=server", transport=transport)
        assert _operations(chat) == {
            "RequestChat",
            "PostChatMessage",
            "RetrieveMessages",
            "SendActivityChange",
            "TerminateChat",
        }


def test_reference_zeep_session(server: ServerProc) -> None:
    """The §13.4 script with only the address changed (checklist 8)."""
    base = server.base_url + PATH
    creds = UsernameToken("demo", "demo")
    with requests.Session() as s1, requests.Session() as s2:
        t1 = Transport(timeout=10, session=s1)
        t2 = Transport(operation_timeout=60, session=s2)
        site = Client(base + "?wsdl", wsse=creds, transport=t1)
        hours = site.service.GetChatOperatingHours(_soapheaders={"ClientRequestHeader": {"AppID": "zeep"}})
        res = site.service.GetChatUrl(
            UrlType="ENDUSER", Version="1.2", _soapheaders={"ClientRequestHeader": {"AppID": "zeep"}}
        )
        chat = Client(base + "?wsdl=server", wsse=creds, transport=t2)
        svc = chat.create_service(
            "{urn:wsdl.enduser.chat.ws.rightnow.com/v1}WSChatEndUserBinding", res.ChatUrl
        )
        r = svc.RequestChat(
            TransactionRequestData={"ClientTransactionID": 1, "SiteName": res.SiteName},
            CustomerInformation={
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "EMailAddress": "ada@example.invalid",
                "Question": "Printer",
            },
            ChatSessionToken=res.ChatToken,
            _soapheaders={"ChatClientInfoHeader": {"AppID": "zeep"}},
        )
        h = {"ChatClientInfoHeader": {"AppID": "zeep", "SessionID": r.SessionID}}
        first: Any = svc.RetrieveMessages(_soapheaders=h)
        svc.PostChatMessage(Body="Hello", _soapheaders=h)
        svc.SendActivityChange(Mode="LISTENING", _soapheaders=h)
        svc.TerminateChat(_soapheaders=h)
        last: Any = svc.RetrieveMessages(_soapheaders=h)
    assert len(hours.Intervals.Interval) == 7
    assert hours.InOperatingHours is True and hours.InHoliday is False
    assert hours.Intervals.Interval[0].DayOfWeek == "MONDAY"
    assert res.ChatUrl == base and res.SiteName == "example"
    assert r.ResultType == "SUCCESS" and r.CancelledSurveyID.id == 0
    assert "RNChatWaitInformationChangedMessage" in first.SystemMessages._value_1[0]
    concluded = last.SystemMessages._value_1[-1]["RNChatConcludedMessage"]
    assert concluded.Reason == "END_USER_CONCLUDED" and concluded.Role == "END_USER"
