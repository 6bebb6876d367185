"""Whole ECE chats answered by the automatic demo agent Alex (spec/cisco-ece.md 9.5, native.md
§10.2.4): checklist items marked (A) - 4, 21-23, 30-32, 43, 45-47, 49 and 52 - plus the codec rules
of 5.7 and 5.3.1 that the clients depend on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import yaml
from ece_client import EGAIN, JABBER, EceCustomer, Stanza, decode_library, decode_smack, smack_creation_body
from native_client import Agent, close_all

from conftest import ServerProc, make_server
from frontdesk.faces.ece.codec import encode_body, parse_properties, unwrap_messaging

EP = "/egain/chat/entrypoint"
TERMINATE = '<body xmlns="http://jabber.org/protocol/httpbind" type="terminate"/>'


def _alex(cfg: dict[str, Any]) -> None:
    cfg["tenants"][0]["faces"]["ece"]["demo_auto_agent"] = True


@pytest.fixture(scope="module")
def alex(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = make_server(tmp_path_factory.mktemp("ece-alex"), _alex)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def customers(alex: ServerProc) -> Iterator[Callable[..., EceCustomer]]:
    made: list[EceCustomer] = []

    def make(prefix: str = "/system") -> EceCustomer:
        c = EceCustomer(alex.base_url, prefix)
        made.append(c)
        return c

    yield make
    for c in made:
        c.drain()
        if c.sid and not c.terminated:
            c.post(f'<presence type="unavailable" xmlns="{JABBER}"/>', attrs=' type="terminate"')
        c.close()
    close_all()


def get(srv: ServerProc, path: str) -> str:
    with httpx.Client(base_url=srv.base_url) as http:
        return http.get(EP + path).text


def count(srv: ServerProc) -> int:
    text = get(srv, "/capacity/1000")
    return int(text.split("<ns2:count>")[1].split("<")[0])


def wait_for(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def kinds(rs: list[Stanza]) -> list[tuple[str, str, str]]:
    return [(s.type, s.sender, s.text) for s in rs]


def test_capacity_with_alex(alex: ServerProc) -> None:
    """Item 4 (A)."""
    wait_for(lambda: count(alex) == 4)
    assert get(alex, "/capacity/1000").endswith("<ns2:count>4</ns2:count>\n</availableSlots>")


def test_library_chat_with_alex(customers: Callable[..., EceCustomer], alex: ServerProc) -> None:
    """Items 21, 22, 23, 43, 45, 52 (library) and 1.3 end to end, timed as the spec requires."""
    c = customers()
    assert c.http.get(c.url("/initialize/1000")).status_code == 200
    t0 = time.monotonic()
    assert c.start(email="jane.soap@example.com").status_code == 200
    c.pump(lambda rs: any(s.type == "chat" and s.sender == "Alex" for s in rs), timeout=4)
    assert time.monotonic() - t0 < 3.0
    welcome, join, hello = c.received[:3]
    assert welcome.body == "Thanks%5E2c%20an%20agent%20will%20be%20with%20you%20soon."
    assert (join.type, join.sender, join.body) == ("headline", "system", "You%20are%20chatting%20with%20Alex")
    assert join.subcmd == "agentPickup" and join.params == {"agentName": "Alex"}
    assert (hello.type, hello.sender) == ("chat", "Alex")
    assert hello.body == "Hello%20Jane%20Soap%5E2c%20how%20can%20I%20help%20you%3F"
    stats = c.statistics().text
    assert "<ns2:queueDepth>0</ns2:queueDepth>" in stats and "<ns2:waitTime>0.0</ns2:waitTime>" in stats
    c.typing(True)
    t1 = time.monotonic()
    c.say("Where is my order?")
    c.pump(lambda rs: any(s.text.startswith("You said") for s in rs), timeout=4)
    assert time.monotonic() - t1 < 3.0
    tail = [s for s in c.received[3:] if s.sender == "Alex"]
    assert [(s.type, s.body) for s in tail] == [
        ("normal", "typing_message"),
        ("normal", "0"),
        ("chat", "You%20said%3A%20Where%20is%20my%20order%3F"),
    ]
    for s in c.received:
        assert decode_library(s.body) == decode_smack(s.body)
    c.drain()
    t = c.transcript()
    assert t.status_code == 200 and t.headers["content-type"] == "application/json"
    data = t.json()
    assert (data["customerName"], data["subject"], data["assignedTo"]) == (
        "Jane Soap",
        "Where is my order?",
        "Alex",
    )
    assert {m["sender"]["type"] for m in data["message"]} == {"System", "Customer", "Agent"}
    assert list(data) == ["customerName", "subject", "assignedTo", "startTime", "message"]
    xml = c.side("/transcript", f"<chatSession xmlns='{EGAIN}'><sid>{c.sid}</sid></chatSession>", "text/xml")
    assert xml.json()["message"] == data["message"]
    assert c.terminate().text == TERMINATE
    qa = "<survey><question>Q1</question><answer>5</answer></survey>"
    survey = f'<egainSurvey sid="{c.sid}" xmlns="{EGAIN}">{qa}</egainSurvey>'
    assert c.http.post("/system/egain/chat/entrypoint/survey", content=survey).status_code == 204
    wait_for(lambda: count(alex) == 4)


def test_bye_ends_chat(customers: Callable[..., EceCustomer]) -> None:
    """Item 31."""
    c = customers("")
    c.start(email="bye@example.com")
    c.pump(lambda rs: any(s.type == "chat" for s in rs))
    c.say("bye")
    answers = []
    while not c.terminated:
        if not c.inflight:
            c.fire()
        answers.append(c.settle().text)
    texts = [s.text for s in c.received]
    assert texts[-2:] == ["Goodbye!", "Alex has ended the chat"]
    assert c.received[-1].body == "Alex%20has%20ended%20the%20chat"
    assert answers[-1] == TERMINATE
    assert all("terminate" not in a for a in answers if "ended%20the%20chat" in a)


def test_presence_unavailable_ends_chat(customers: Callable[..., EceCustomer], alex: ServerProc) -> None:
    """Item 30."""
    c = customers()
    c.start(email="presence@example.com")
    c.pump(lambda rs: any(s.type == "chat" for s in rs))
    before = count(alex)
    r = c.post(f'<presence type="unavailable" xmlns="{JABBER}"/>')
    assert r.status_code == 200 and "terminate" not in r.text
    wait_for(lambda: count(alex) == before + 1)
    assert c.post().text == TERMINATE


def test_smack_templates_and_flow(customers: Callable[..., EceCustomer]) -> None:
    """Items 32, 35 and 52 (smack-ece): '-' starts a chat, '_' closes it, any terminate is CHAT_CLOSED."""
    c = customers()
    c.create(smack_creation_body(c.rid), "")
    c.pump(lambda rs: any(s.subcmd == "agentPickup" for s in rs))
    started = [s for s in c.received if s.type == "headline" and decode_smack(s.body).startswith("-")]
    assert started and decode_smack(started[0].body) == "-You are chatting with Alex"
    assert started[0].body.startswith("-You%20are")
    c.say("bye")
    c.pump(lambda rs: any(decode_smack(s.body).startswith("_") for s in rs))
    closed = [s for s in c.received if decode_smack(s.body).startswith("_")]
    assert decode_smack(closed[0].body) == "_Alex has ended the chat"
    c.pump(lambda rs: False)
    assert c.terminated


def test_full_load_queue_and_pickup(customers: Callable[..., EceCustomer], alex: ServerProc) -> None:
    """Items 46 and 47."""
    wait_for(lambda: count(alex) == 4)
    four = []
    for n in range(4):
        c = customers()
        c.start(email=f"load{n}@example.com")
        four.append(c)
    for c in four:
        c.pump(lambda rs: any(s.subcmd == "agentPickup" for s in rs))
    fifth = customers()
    fifth.start(email="fifth@example.com", wait=1)
    fifth.post()
    assert "<ns2:queueDepth>1</ns2:queueDepth>" in get(alex, "/liveSessionStatus/1000")
    assert "<ns2:queueDepth>1</ns2:queueDepth>" in fifth.statistics().text
    assert count(alex) == 0
    assert 'available="true"' in get(alex, "/agentAvailability/1000")
    four[0].drain()
    assert four[0].terminate().text == TERMINATE
    t0 = time.monotonic()
    fifth.pump(lambda rs: any(s.subcmd == "agentPickup" for s in rs), timeout=4)
    assert time.monotonic() - t0 < 2.5


def test_reconnect_and_expiry(server_factory: Callable[..., ServerProc]) -> None:
    """Items 48 and 49 with shortened timers: inactivity 2 s, reconnect window 2 s."""

    def short(cfg: dict[str, Any]) -> None:
        _alex(cfg)
        cfg["tenants"][0]["faces"]["ece"].update(
            bosh_inactivity_seconds=2, reconnect_window_seconds=2, long_poll_hold_seconds=1
        )

    srv = server_factory(short, name="ece-timers")
    c = EceCustomer(srv.base_url)
    try:
        assert 'inactivity="2"' in c.start(email="away@example.com").text
        c.pump(lambda rs: any(s.type == "chat" for s in rs))
        c.drain()
        c.post(attrs=' pause="6"')
        time.sleep(3.0)  # longer than inactivity, shorter than the pause
        assert c.post().status_code == 200
        assert not any("again" in s.text for s in c.received)
        time.sleep(2.5)  # inactive, within the reconnect window
        c.pump(lambda rs: any(s.text == "You are connected to Alex again." for s in rs))
        time.sleep(5.0)  # past inactivity + reconnect window: ended (presence_lost)
        assert c.post().text == TERMINATE
    finally:
        c.close()
        close_all()


def test_body_encoding_rules() -> None:
    """Item 23 (5.7 example) and the messagingData rules of 5.3.1."""
    line = '<a href="https://shop.example/x?a=1+2">50% off</a>, café'
    encoded = encode_body(line)
    assert encoded == (
        "%3Ca%20href%3D%5E22https%3A//shop.example/x%3Fa%3D1%5E2b2%5E22%3E50%5E25%20off%3C/a%3E%5E2c%20café"
    )
    assert decode_library(encoded) == line == decode_smack(encoded)
    for text in ("100% ^ + , ' \" \\ <b>&amp;</b> ü €", "typing_message", "a+b=c"):
        assert decode_library(encode_body(text)) == text
    props = parse_properties(unwrap_messaging("<![CDATA[\nk1 = v1  \nk2:v\\u00e9\n! c\nk3 a\\\n  b\n]]>"))
    assert props == {"k1": "v1  ", "k2": "vé", "k3": "ab"}


def test_native_agent_sees_alex_only_for_ece(alex: ServerProc) -> None:
    """Alex takes only ECE chats (D1): its channels keep ServicePattern chats away from it."""
    sam = Agent(alex.base_url, "sam")
    try:
        agents = sam.get("/api/v1/supervisor/agents")
        rows = agents.get("items") if isinstance(agents, dict) else agents
        alex_row = [a for a in rows or [] if a.get("login") == "alex"]
        assert alex_row and alex_row[0].get("state") == "ready"
    finally:
        close_all()


def test_switching_alex_off_and_on_at_run_time(server_factory: Callable[..., ServerProc]) -> None:
    """A reload that turns ``demo_auto_agent`` off logs Alex out; turning it on brings him back."""
    srv = server_factory(_alex, name="alex-switch")
    sam = Agent(srv.base_url, "sam")

    def alex_state() -> str:
        agents = sam.get("/api/v1/supervisor/agents")["items"]
        return str(next(a for a in agents if a["login"] == "alex")["state"])

    def reload_with(on: bool) -> None:
        cfg = yaml.safe_load(srv.config_path.read_text())
        cfg["tenants"][0]["faces"]["ece"]["demo_auto_agent"] = on
        srv.config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        assert sam.post("/api/v1/admin/reload")["applied"] is True

    try:
        wait_for(lambda: alex_state() == "ready", 10)
        wait_for(lambda: count(srv) == 4)
        reload_with(False)
        wait_for(lambda: alex_state() == "logged_out", 10)
        assert count(srv) == 0
        reload_with(True)
        wait_for(lambda: alex_state() == "ready", 10)
        wait_for(lambda: count(srv) == 4)
    finally:
        close_all()
