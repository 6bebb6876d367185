"""Chat-server operations without an agent (spec/rightnow-chat-soap.md §7, §9, §11; checklist
34-58 except the agent-driven items, which are in test_rightnow_agent.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rightnow_client import (
    CHAT_FRAME_DECLS,
    Soap,
    assert_fault,
    close_all,
    envelope,
    find,
    mfield,
    mname,
    security,
    session_header,
    trd,
    value,
    xml,
)

from conftest import ServerProc, make_server

OTHER = "/cgi-bin/other.cfg/services/chat_soap"


def _rn(cfg: dict[str, Any]) -> None:
    tenant = cfg["tenants"][0]
    rn = tenant["faces"]["rightnow"]
    rn["long_poll_hold_seconds"] = 2
    rn["token_ttl_seconds"] = 2
    tenant["entry_points"].append({"face": "rightnow", "id": "other", "name": "Other", "queue": "support"})


@pytest.fixture(scope="module")
def rn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = make_server(Path(tmp_path_factory.mktemp("rn-chat")), _rn)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def soap(rn: ServerProc) -> Iterator[Soap]:
    client = Soap(rn.base_url)
    yield client
    client.healthy()
    close_all()


def test_request_chat_response_shape(soap: Soap) -> None:
    r = soap.request_chat()
    assert r.status_code == 200, r.text
    assert r.text.startswith(
        '<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/">'
        "<S:Body><ns3:RequestChatResponse" + CHAT_FRAME_DECLS + "<ns3:TransactionResponseData>"
    )
    response = find(xml(r), "RequestChatResponse")
    assert [mname(c) for c in response] == [
        "TransactionResponseData",
        "EngagementID",
        "CancelledSurveyID",
        "CompletedSurveyID",
        "ResultType",
        "SessionID",
    ]
    assert [mname(c) for c in response[0]] == [
        "ServiceStartTime",
        "ServiceFinishTime",
        "ClientID",
        "ClientTransactionID",
    ]
    assert response[2].get("id") == "0" and response[3].get("id") == "0"
    assert soap.terminate(str(value(r, "SessionID"))).status_code == 200


def test_tokens_are_fresh_and_reusable(soap: Soap) -> None:
    a, b = soap.token(), soap.token()
    assert a != b
    for _ in range(2):
        r = soap.request_chat(a)
        assert r.status_code == 200, r.text
        soap.terminate(str(value(r, "SessionID")))


def test_request_chat_token_errors(soap: Soap, rn: ServerProc) -> None:
    body = f"<v11:RequestChat>{trd()}</v11:RequestChat>"
    assert_fault(soap.post(envelope(body)), "MISSING_ARGUMENT", text="ChatSessionToken is required")
    body = f"<v11:RequestChat>{trd()}<v11:ChatSessionToken>  </v11:ChatSessionToken></v11:RequestChat>"
    assert_fault(soap.post(envelope(body)), "MISSING_ARGUMENT", text="ChatSessionToken is required")
    assert_fault(soap.request_chat("5b0e3c1a-8f47-4d2e-9b6a-7c3d2e1f0a94"), "BAD_TOKEN")
    assert_fault(soap.request_chat("x" * 65), "BAD_TOKEN")
    other = Soap(rn.base_url, OTHER)
    assert_fault(other.request_chat(soap.token()), "BAD_TOKEN")
    stale = soap.token()
    time.sleep(2.3)
    assert_fault(soap.request_chat(stale), "BAD_TOKEN")


def test_first_retrieve_has_wait_information(soap: Soap) -> None:
    sid, _ = soap.start()
    t0 = time.monotonic()
    msgs = soap.messages(sid)
    assert time.monotonic() - t0 < 1.5
    assert [mname(m) for m in msgs] == ["RNChatWaitInformationChangedMessage"]
    assert mfield(msgs[0], "Position") == "1"
    soap.terminate(sid)


@pytest.mark.parametrize(
    ("sent", "echo"),
    [
        ("11:30:20", ""),
        ("?", None),
        ("2015-03-07 11:34:00", None),
        ("", None),
        ("2018-10-15T07:48:30:646Z", "2018-10-15T07:48:30.646Z"),
        ("2016-09-28T21:49:45+02:00", "2016-09-28T19:49:45.000Z"),
        ("2008-09-28T21:49:45", "2008-09-28T21:49:45.000Z"),
        (" 2025-01-15T10:00:01Z ", "2025-01-15T10:00:01.000Z"),
    ],
)
def test_client_request_time_echo(soap: Soap, sent: str, echo: str | None) -> None:
    sid, _ = soap.start()
    r = soap.op(sid, "SendActivityChange", "<v11:Mode>LISTENING</v11:Mode>", time_value=sent)
    assert r.status_code == 200, r.text
    el = find(xml(r), "ClientRequestTime")
    if echo is None:
        assert el is None
    else:
        assert el is not None and (el.text or "") == echo
    if echo == "":
        assert "<ns3:ClientRequestTime/>" in r.text
    soap.terminate(sid)


@pytest.mark.parametrize(
    ("sent", "echo"), [("0042", "42"), ("abc", None), ("-7", "-7"), ("+5", "5"), ("1" * 19, None)]
)
def test_transaction_id_echo(soap: Soap, sent: str, echo: str | None) -> None:
    sid, _ = soap.start()
    r = soap.op(sid, "TerminateChat", tid=sent)
    assert r.status_code == 200, r.text
    assert value(r, "ClientTransactionID") == echo


@pytest.mark.parametrize("site", ["YourSiteName", "?", "", None, "wrong"])
def test_site_name_never_rejected(soap: Soap, site: str | None) -> None:
    token = soap.token()
    tok = f"<v11:ChatSessionToken>{token}</v11:ChatSessionToken>"
    body = f"<v11:RequestChat>{trd(site=site)}{tok}</v11:RequestChat>"
    r = soap.post(envelope(body))
    assert r.status_code == 200, r.text
    sid = str(value(r, "SessionID"))
    r = soap.post(
        envelope(f"<v11:TerminateChat>{trd(site=site)}</v11:TerminateChat>", session_header(sid) + security())
    )
    assert r.status_code == 200, r.text


def test_transaction_data_may_be_missing(soap: Soap) -> None:
    token = soap.token()
    r = soap.post(
        envelope(f"<v11:RequestChat><v11:ChatSessionToken>{token}</v11:ChatSessionToken></v11:RequestChat>")
    )
    assert r.status_code == 200, r.text
    assert find(xml(r), "ClientTransactionID") is None
    r = soap.post(envelope("<v11:TerminateChat/>", session_header(str(value(r, "SessionID"))) + security()))
    assert r.status_code == 200, r.text


def test_post_message_arguments(soap: Soap) -> None:
    sid, _ = soap.start()
    for inner in ("", "<v11:Body>   </v11:Body>", "<v11:Body/>"):
        r = soap.op(sid, "PostChatMessage", inner)
        assert_fault(r, "MISSING_ARGUMENT", text="Body is required")
    assert_fault(soap.say(sid, "x" * 10_001), "INVALID_FIELD", text="Body is too long")
    assert soap.say(sid, "x" * 10_000).status_code == 200
    r = soap.op(
        sid, "PostChatMessage", "<v11:Body>queued hello</v11:Body><v11:OffTheRecord>true</v11:OffTheRecord>"
    )
    assert r.status_code == 200, r.text
    soap.terminate(sid)


def test_activity_change_modes(soap: Soap) -> None:
    sid, _ = soap.start()
    for mode in ("RESPONDING", "listening", " None ", "AWAY", "researching"):
        assert soap.activity(sid, mode).status_code == 200
    r = soap.activity(sid, "TYPING")
    assert_fault(r, "INVALID_FIELD", text="Mode is invalid")
    assert_fault(soap.op(sid, "SendActivityChange"), "MISSING_ARGUMENT", text="Mode is required")
    soap.terminate(sid)


@pytest.mark.parametrize("op", ["PostChatMessage", "RetrieveMessages", "SendActivityChange", "TerminateChat"])
def test_session_missing_and_unknown(soap: Soap, op: str) -> None:
    body = f"<v11:{op}>{trd()}<v11:Body>x</v11:Body><v11:Mode>LISTENING</v11:Mode></v11:{op}>"
    assert_fault(soap.post(envelope(body, session_header(None) + security())), "SESSION_MISSING")
    assert_fault(soap.post(envelope(body)), "SESSION_MISSING")
    assert_fault(soap.post(envelope(body, session_header("  ") + security())), "SESSION_MISSING")
    for sid in ("12a3bcdefghi4jk56lmn7o8pq", "k4v9q2m7x1c8z3b6n0d5f2h7j", "a" * 65):
        assert_fault(soap.post(envelope(body, session_header(sid) + security())), "BAD_ID")


def test_session_bound_to_interface(soap: Soap, rn: ServerProc) -> None:
    sid, _ = soap.start()
    other = Soap(rn.base_url, OTHER)
    for r in (other.retrieve(sid), other.say(sid, "hi"), other.terminate(sid)):
        assert_fault(r, "BAD_ID")
    # the alias serves the default interface (example), so the session works there
    alias = Soap(rn.base_url, "/services/soap/connect/chat_soap")
    assert alias.activity(sid, "LISTENING").status_code == 200
    assert soap.terminate(sid).status_code == 200


def test_own_messages_not_echoed_and_terminate_lifecycle(soap: Soap) -> None:
    sid, _ = soap.start()
    assert [mname(m) for m in soap.messages(sid)] == ["RNChatWaitInformationChangedMessage"]
    assert soap.say(sid, "my own line").status_code == 200
    assert soap.activity(sid, "RESPONDING").status_code == 200
    t0 = time.monotonic()
    assert soap.messages(sid) == []  # held for the hold time, nothing of our own comes back
    assert time.monotonic() - t0 >= 1.5
    assert soap.terminate(sid).status_code == 200
    # ENDED, session open: post/activity CHAT_ENDED, terminate idempotent
    assert_fault(soap.say(sid, "late"), "CHAT_ENDED")
    assert_fault(soap.activity(sid, "LISTENING"), "CHAT_ENDED")
    assert soap.terminate(sid).status_code == 200
    t0 = time.monotonic()
    msgs = soap.messages(sid)
    assert time.monotonic() - t0 < 1.0
    assert [mname(m) for m in msgs] == ["RNChatConcludedMessage"]
    assert mfield(msgs[0], "Reason") == "END_USER_CONCLUDED"
    assert mfield(msgs[0], "Role") == "END_USER"
    # CLOSED: every operation BAD_ID
    for r in (soap.retrieve(sid), soap.say(sid, "x"), soap.activity(sid, "LISTENING"), soap.terminate(sid)):
        assert_fault(r, "BAD_ID")


def test_site_operations(soap: Soap) -> None:
    r = soap.post(envelope("<rncm:GetChatUrl><rncm:UrlType>UQ</rncm:UrlType></rncm:GetChatUrl>"))
    assert_fault(r, "INVALID_FIELD", style="site", text="UrlType UQ is not supported")
    r = soap.post(envelope("<rncm:GetChatUrl><rncm:Version>1.2</rncm:Version></rncm:GetChatUrl>"))
    assert_fault(r, "MISSING_ARGUMENT", style="site", text="UrlType is required")
    v11 = (
        '<v:GetChatUrl xmlns:v="urn:messages.chat.ws.rightnow.com/v1_1">'
        "<v:UrlType>ENDUSER</v:UrlType></v:GetChatUrl>"
    )
    r = soap.post(envelope(v11))
    assert r.status_code == 200, r.text
    assert 'xmlns:n0="urn:messages.chat.ws.rightnow.com/v1_1"' in r.text
    r = soap.post(envelope('<v:GetChatOperatingHours xmlns:v="urn:messages.chat.ws.rightnow.com/v1_2"/>'))
    assert r.status_code == 200, r.text
    intervals = xml(r).xpath("//*[local-name()='Interval']")
    assert [i[0].text for i in intervals] == [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ]
    assert all(i[1].text == "00:00:00" and i[2].text == "23:59:59" for i in intervals)
    assert value(r, "InOperatingHours") == "true" and value(r, "InHoliday") == "false"


def _timers(cfg: dict[str, Any]) -> None:
    rn = cfg["tenants"][0]["faces"]["rightnow"]
    rn["abandon_seconds"] = 2
    rn["ended_retention_seconds"] = 3
    rn["long_poll_hold_seconds"] = 1


def test_abandonment_and_retention(server_factory: Callable[..., ServerProc]) -> None:
    srv = server_factory(_timers)
    soap = Soap(srv.base_url)
    try:
        sid, _ = soap.start()
        time.sleep(3.5)  # no calls: abandoned after 2 s
        msgs = soap.messages(sid)
        assert [mname(m) for m in msgs][-1] == "RNChatConcludedMessage"
        assert mfield(msgs[-1], "Reason") == "SYSTEM_CONCLUDED"
        assert mfield(msgs[-1], "Role") == "SYSTEM" and mfield(msgs[-1], "ClientID") == "0"
        sid2, _ = soap.start()
        assert soap.terminate(sid2).status_code == 200
        time.sleep(3.5)  # concluded message never fetched, retention over
        assert_fault(soap.retrieve(sid2), "BAD_ID")
        soap.healthy()
    finally:
        close_all()


def test_default_hold_time(server: ServerProc) -> None:
    """Checklist 42 on the demo configuration: nothing pending, answered after 15 s ± 1 s."""
    soap = Soap(server.base_url)
    try:
        sid, _ = soap.start()
        assert [mname(m) for m in soap.messages(sid)] == ["RNChatWaitInformationChangedMessage"]
        t0 = time.monotonic()
        r = soap.retrieve(sid)
        elapsed = time.monotonic() - t0
        assert r.status_code == 200, r.text
        assert 14.0 <= elapsed <= 16.0, elapsed
        assert "<ns3:SystemMessages/>" in r.text
        assert soap.terminate(sid).status_code == 200
    finally:
        close_all()
