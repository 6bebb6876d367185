"""Whole chats with an agent answering through the native API (spec/rightnow-chat-soap.md §9.3,
§10; checklist 39, 40, 43, 44, 45, 51, 59, 60, 62, 63): raw SOAP as the seed's clients send it, and
zeep as the generic client. The server is this module's own; agents are logged out at the end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from rightnow_client import (
    PATH,
    Agent,
    Soap,
    assert_fault,
    close_all,
    engagement_of,
    find,
    mfield,
    mname,
    seed,
    unprefixed_created_time,
    value,
    xml,
)
from zeep import Client
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from conftest import ServerProc, make_server

GREETING = "Hi, my name is Alice. How may I help you?"


def _rn(cfg: dict[str, Any]) -> None:
    cfg["tenants"][0]["faces"]["rightnow"]["long_poll_hold_seconds"] = 3


@pytest.fixture(scope="module")
def rn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = make_server(Path(tmp_path_factory.mktemp("rn-agent")), _rn)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def agent(rn: ServerProc) -> Iterator[Agent]:
    a = Agent(rn.base_url)
    a.ready()
    yield a
    a.clean()
    close_all()


class Held:
    """A RetrieveMessages running in a thread, so the test can act while it is held."""

    def __init__(self, soap: Soap, sid: str) -> None:
        self.response: httpx.Response | None = None
        self.done_at = 0.0
        self._thread = threading.Thread(target=self._run, args=(soap, sid))
        self._thread.start()
        time.sleep(0.4)

    def _run(self, soap: Soap, sid: str) -> None:
        self.response = soap.retrieve(sid)
        self.done_at = time.monotonic()

    def result(self) -> httpx.Response:
        self._thread.join(10)
        assert self.response is not None
        return self.response


def test_whole_chat_raw_soap(rn: ServerProc, agent: Agent) -> None:
    soap = Soap(rn.base_url)
    request = seed("2-RequestChat", token=soap.token()).replace(
        "<v1:InterfaceID>", '<v1:ContactId id="825"/><v1:InterfaceID>'
    )
    r = soap.post(request)
    assert r.status_code == 200, r.text
    sid, engagement = str(value(r, "SessionID")), engagement_of(r)
    client_id = value(r, "ClientID")
    assert [mname(m) for m in soap.messages(sid)] == ["RNChatWaitInformationChangedMessage"]

    chat_id = agent.accept(engagement)
    detail = agent.detail(chat_id)
    assert detail["pre_chat"]["custom_fields"] == {"c.priority": "very high"}
    assert detail["customer"]["external_ids"]["contact_id"] == "825"
    assert detail["customer"]["email"] == "name@email.invalid"

    seen = soap.until(sid, "RNChatParticipantAddedMessage")
    added = next(m for m in seen if mname(m) == "RNChatParticipantAddedMessage")
    assert mfield(added, "Role") == "LEAD"
    assert mfield(added, "Greeting") == GREETING
    assert mfield(added, "Name")
    agent_client_id = mfield(added, "ClientID")
    assert agent_client_id not in (None, client_id)

    # a held poll returns within 1 s of the agent's message; CreatedTime unprefixed, first
    held = Held(soap, sid)
    sent_at = time.monotonic()
    agent.write(chat_id, "Please switch it off and on again.")
    r = held.result()
    assert held.done_at - sent_at < 1.0
    assert unprefixed_created_time(r.content, "RNChatMessagePostedMessage"), r.text
    msg = find(xml(r), "RNChatMessagePostedMessage")
    assert msg[0].tag == "{urn:messages.common.chat.ws.rightnow.com/v1}CreatedTime"
    assert [mname(c) for c in msg] == ["CreatedTime", "Body", "ClientID"]
    assert mfield(msg, "Body") == "Please switch it off and on again."
    assert mfield(msg, "ClientID") == agent_client_id

    # the end user's lines reach the agent unchanged and never come back
    chinese = "我的打印机坏了，显示错误 E-42。"
    assert soap.say(sid, chinese).status_code == 200
    texts = [e.get("text") for e in agent.events(chat_id) if e["kind"] == "message"]
    assert chinese in texts

    # typing, escaping and control characters
    agent.typing(chat_id, True)
    agent.write(chat_id, "<b>& \x01x")
    got = soap.until(sid, "RNChatMessagePostedMessage")
    names = [mname(m) for m in got]
    assert "RNChatActivityChangedMessage" in names
    activity = got[names.index("RNChatActivityChangedMessage")]
    assert mfield(activity, "Mode") == "RESPONDING"
    assert mfield(got[-1], "Body") == "<b>& x"
    assert all(mname(m) != "RNChatMessagePostedMessage" or mfield(m, "Body") != chinese for m in got)

    # newest poll wins: the older held poll answers at once, empty
    first = Held(soap, sid)
    second_started = time.monotonic()
    second = Held(soap, sid)
    r1 = first.result()
    assert first.done_at - second_started < 1.0
    assert "<ns3:SystemMessages/>" in r1.text

    # the agent ends the chat: the held poll gets only RNChatConcludedMessage
    time.sleep(0.2)
    agent.end(chat_id)
    r2 = second.result()
    msgs = list(find(xml(r2), "SystemMessages"))
    if not msgs:
        msgs = soap.messages(sid)
    assert [mname(m) for m in msgs] == ["RNChatConcludedMessage"], r2.text
    assert mfield(msgs[0], "Reason") == "AGENT_CONCLUDED"
    assert mfield(msgs[0], "Role") == "LEAD"
    assert mfield(msgs[0], "ClientID") == agent_client_id
    assert_fault(soap.retrieve(sid), "BAD_ID")
    soap.healthy()


def test_transfer_to_queue_is_rendered(rn: ServerProc, agent: Agent) -> None:
    soap = Soap(rn.base_url)
    sid, engagement = soap.start()
    chat_id = agent.accept(engagement)
    soap.until(sid, "RNChatParticipantAddedMessage")
    r = agent.http.post(f"/api/v1/chats/{chat_id}/transfer", json={"to": {"queue": "sales"}})
    assert r.status_code in (200, 202), r.text
    got = soap.until(sid, "RNChatWaitInformationChangedMessage")
    left = [m for m in got if mname(m) == "RNChatParticipantLeftMessage"]
    assert left and mfield(left[0], "DisconnectReason") == "TRANSFERRED_TO_QUEUE"
    assert mfield(left[0], "Role") == "LEAD"
    assert soap.terminate(sid).status_code == 200


def test_zeep_whole_chat(rn: ServerProc, agent: Agent) -> None:
    """zeep (strict) parses every chat-server response while an agent answers (checklist 62)."""
    base = rn.base_url + PATH
    creds = UsernameToken("demo", "demo")
    with requests.Session() as s1, requests.Session() as s2:
        site = Client(base + "?wsdl", wsse=creds, transport=Transport(timeout=10, session=s1))
        res = site.service.GetChatUrl(
            UrlType="ENDUSER", _soapheaders={"ClientRequestHeader": {"AppID": "zeep"}}
        )
        chat = Client(
            base + "?wsdl=server", wsse=creds, transport=Transport(operation_timeout=30, session=s2)
        )
        svc = chat.create_service(
            "{urn:wsdl.enduser.chat.ws.rightnow.com/v1}WSChatEndUserBinding", res.ChatUrl
        )
        r = svc.RequestChat(
            TransactionRequestData={"ClientTransactionID": 1, "ClientRequestTime": "2025-01-15T10:00:01Z"},
            CustomerInformation={"FirstName": "Ada", "Question": "Printer"},
            ChatSessionToken=res.ChatToken,
            _soapheaders={"ChatClientInfoHeader": {"AppID": "zeep"}},
        )
        h = {"ChatClientInfoHeader": {"AppID": "zeep", "SessionID": r.SessionID}}
        assert r.TransactionResponseData.ClientRequestTime.year == 2025
        chat_id = agent.accept(str(r.EngagementID.id))
        kinds: list[str] = []
        items: list[Any] = []
        deadline = time.monotonic() + 15
        while "RNChatParticipantAddedMessage" not in kinds and time.monotonic() < deadline:
            got = svc.RetrieveMessages(TransactionRequestData={"ClientTransactionID": 2}, _soapheaders=h)
            for item in got.SystemMessages._value_1 or []:
                kinds.extend(item)
                items.append(item)
        added = next(
            i["RNChatParticipantAddedMessage"] for i in items if "RNChatParticipantAddedMessage" in i
        )
        assert added.Role == "LEAD" and added.Greeting == GREETING
        svc.PostChatMessage(Body="Hello from zeep", OffTheRecord=False, _soapheaders=h)
        svc.SendActivityChange(Mode="RESPONDING", _soapheaders=h)
        agent.typing(chat_id, True)
        agent.write(chat_id, "Hello Ada")
        agent.typing(chat_id, False)
        posted = None
        while posted is None and time.monotonic() < deadline:
            got = svc.RetrieveMessages(_soapheaders=h)
            for item in got.SystemMessages._value_1 or []:
                if "RNChatMessagePostedMessage" in item:
                    posted = item["RNChatMessagePostedMessage"]
        assert posted is not None and posted.Body == "Hello Ada"
        assert posted.CreatedTime.tzinfo is not None
        texts = [e.get("text") for e in agent.events(chat_id) if e["kind"] == "message"]
        assert "Hello from zeep" in texts
        svc.TerminateChat(_soapheaders=h)
        last = svc.RetrieveMessages(_soapheaders=h)
        concluded = last.SystemMessages._value_1[-1]["RNChatConcludedMessage"]
        assert concluded.Reason == "END_USER_CONCLUDED" and concluded.Role == "END_USER"
        assert concluded.ClientID == last.TransactionResponseData.ClientID
