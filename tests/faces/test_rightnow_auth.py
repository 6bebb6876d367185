"""WS-Security UsernameToken (spec/rightnow-chat-soap.md §6, §15 rule 3; checklist 17-24, 65)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rightnow_client import (
    PROFILE,
    WSSE,
    Soap,
    assert_fault,
    close_all,
    digest_security,
    envelope,
    security,
    session_header,
)

from conftest import ServerProc

GET_URL = "<rncm:GetChatUrl><rncm:UrlType>ENDUSER</rncm:UrlType></rncm:GetChatUrl>"


@pytest.fixture
def soap(server: ServerProc) -> Iterator[Soap]:
    client = Soap(server.base_url)
    yield client
    client.healthy()
    close_all()


@pytest.mark.parametrize(
    "header",
    [
        security(password="wrong"),
        security(user="nobody"),
        security(user="Demo"),
        security(ptype="#PasswordSomething"),
        security(password=" demo"),
    ],
)
def test_auth_failed(soap: Soap, header: str) -> None:
    assert_fault(soap.post(envelope(GET_URL, header)), "AUTH_FAILED", style="site")


def test_wrong_and_unknown_identical(soap: Soap) -> None:
    a = soap.post(envelope(GET_URL, security(password="wrong")))
    b = soap.post(envelope(GET_URL, security(user="nobody")))
    assert a.status_code == b.status_code == 500 and a.content == b.content


def test_security_missing(soap: Soap) -> None:
    assert_fault(soap.post(envelope(GET_URL, "")), "SECURITY_MISSING", style="site")
    r = soap.post(envelope("<v11:TerminateChat/>", session_header("abc")))
    assert_fault(r, "SECURITY_MISSING", style="chat")


@pytest.mark.parametrize(
    "inner",
    [
        "",
        "<wsse:UsernameToken><wsse:Username>demo</wsse:Username></wsse:UsernameToken>",
        "<wsse:UsernameToken><wsse:Password>demo</wsse:Password></wsse:UsernameToken>",
    ],
)
def test_security_incomplete(soap: Soap, inner: str) -> None:
    header = f'<wsse:Security xmlns:wsse="{WSSE}">{inner}</wsse:Security>'
    assert_fault(soap.post(envelope(GET_URL, header)), "SECURITY_INCOMPLETE", style="site")


@pytest.mark.parametrize(
    "header",
    [
        security(must=' mustUnderstand="1"'),
        security(must=' soapenv:mustUnderstand="1"'),
        security(),
        security(ptype="#PasswordText "),
        security(ptype=None),
        '<wsse:Security xmlns:wsse="'
        + WSSE
        + '" xmlns:wsu="x"><wsu:Timestamp/><wsse:UsernameToken wsu:Id="U-1">'
        "<wsse:Username> demo </wsse:Username><wsse:Password>demo</wsse:Password></wsse:UsernameToken>"
        "</wsse:Security>",
    ],
)
def test_accepted_variants(soap: Soap, header: str) -> None:
    r = soap.post(
        envelope(
            GET_URL,
            "<x:ClientRequestHeader xmlns:x='urn:x'><x:AppID>t</x:AppID></x:ClientRequestHeader>" + header,
        )
    )
    assert r.status_code == 200, r.text


def test_password_digest_and_replay(soap: Soap) -> None:
    nonce = os.urandom(16)
    header = digest_security("demo", "demo", nonce=nonce)
    assert soap.post(envelope(GET_URL, header)).status_code == 200
    assert_fault(soap.post(envelope(GET_URL, header)), "AUTH_FAILED", style="site")
    # a fresh nonce works again
    assert soap.post(envelope(GET_URL, digest_security("demo", "demo"))).status_code == 200


def test_password_digest_wrong_or_stale(soap: Soap) -> None:
    stale = (datetime.now(UTC) - timedelta(seconds=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = (datetime.now(UTC) + timedelta(seconds=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for header in (
        digest_security("demo", "wrong"),
        digest_security("demo", "demo", created=stale),
        digest_security("demo", "demo", created=future),
        digest_security("nobody", "demo"),
        digest_security("demo", "demo")
        .replace("<wsse:Nonce", "<wsse:Ignored")
        .replace("</wsse:Nonce>", "</wsse:Ignored>"),
    ):
        assert_fault(soap.post(envelope(GET_URL, header)), "AUTH_FAILED", style="site")


def test_chat_server_style(soap: Soap) -> None:
    r = soap.post(envelope("<v11:RetrieveMessages/>", session_header("abc") + security(password="x")))
    assert_fault(r, "AUTH_FAILED", style="chat")
    assert 'xmlns:wsse="' + WSSE + '"' in r.text
    assert PROFILE not in r.text


def test_demo_tenant_has_no_lockout(soap: Soap) -> None:
    for _ in range(11):
        soap.post(envelope(GET_URL, security(password="wrong")))
    assert soap.post(envelope(GET_URL)).status_code == 200


def _lockout(cfg: dict[str, Any]) -> None:
    cfg["tenants"][0]["faces"]["rightnow"]["auth_lockout"] = {
        "max_failures": 10,
        "window_seconds": 60,
        "lock_seconds": 60,
    }


def test_lockout_when_enabled(server_factory: Callable[..., ServerProc]) -> None:
    srv = server_factory(_lockout)
    soap = Soap(srv.base_url)
    try:
        for _ in range(10):
            assert_fault(
                soap.post(envelope(GET_URL, security(password="wrong"))), "AUTH_FAILED", style="site"
            )
        assert_fault(soap.post(envelope(GET_URL)), "AUTH_FAILED", style="site")
        soap.healthy()
    finally:
        close_all()
