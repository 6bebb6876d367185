"""Cisco ECE chat sessions without an agent (spec/cisco-ece.md 5, 6; checklist items 19-20, 24-29,
33-42, 45 (unknown sid), 48, 50, 51, 53), the request limits (18, 38), the configuration rule (54) and
a whole chat answered by a real agent through the native API.

Every request body is what the eGain library or smack-ece sends (tests/faces/ece_client.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import yaml
from ece_client import (
    CREATE_QUERY,
    HTTPBIND,
    JABBER,
    EceCustomer,
    creation_body,
    decode_library,
    decode_smack,
    smack_creation_body,
    stanzas,
)
from native_client import Agent, close_all

from conftest import ServerProc, demo_dict, make_server

EP = "/egain/chat/entrypoint"
SID_RE = re.compile(r"^[0-9]+_[0-9a-f]{32}$")
TERMINATE = f'<body xmlns="{HTTPBIND}" type="terminate"/>'
EMPTY = f'<body xmlns="{HTTPBIND}"/>'


@pytest.fixture(scope="module")
def ece(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = make_server(tmp_path_factory.mktemp("ece-chat"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def customers(ece: ServerProc) -> Iterator[Callable[..., EceCustomer]]:
    """Customers of one test; their chats are ended afterwards so queue figures start at zero."""
    made: list[EceCustomer] = []

    def make(prefix: str = "/system") -> EceCustomer:
        c = EceCustomer(ece.base_url, prefix)
        made.append(c)
        return c

    yield make
    for c in made:
        c.drain()
        if c.sid and not c.terminated:
            c.post(f'<presence type="unavailable" xmlns="{JABBER}"/>', attrs=' type="terminate"')
        c.close()
    close_all()


def email() -> str:
    return f"c{uuid.uuid4().hex[:10]}@example.com"


def started(make: Callable[..., EceCustomer], **kw: Any) -> EceCustomer:
    c = make()
    kw.setdefault("email", email())
    kw.setdefault("wait", 1)
    r = c.start(**kw)
    assert r.status_code == 200, r.text
    assert SID_RE.match(c.sid), r.text
    return c


def test_creation_response_exact(customers: Callable[..., EceCustomer]) -> None:
    """Item 19."""
    c = customers()
    r = c.start(email=email())
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/xml; charset=utf-8"
    assert SID_RE.match(c.sid)
    chat_id = c.sid.split("_")[0]
    head = (
        f'<body xmlns="{HTTPBIND}" xmlns:ns2="http://bindings.egain.com/chat" sid="{c.sid}" '
        f'authid="{chat_id}" wait="60" hold="1" requests="2" inactivity="90" maxpause="300" ver="1.6">'
    )
    params = (
        "<ns2:egainResponseParams>\n"
        '  <ns2:responseParam name="L10N_NAME_PROMPT">\n'
        "    <ns2:responseParamMapping>\n"
        "      <ns2:attributeName>full_name</ns2:attributeName>\n"
        "      <ns2:attributeValue>Jane Soap</ns2:attributeValue>\n"
        "    </ns2:responseParamMapping>\n"
        "  </ns2:responseParam>\n"
        '  <ns2:responseParam name="L10N_YOUR_QUESTION_PROMPT">\n'
        "    <ns2:responseParamMapping>\n"
        "      <ns2:attributeName>subject</ns2:attributeName>\n"
        "      <ns2:attributeValue>Where is my order?</ns2:attributeValue>\n"
        "    </ns2:responseParamMapping>\n"
        "  </ns2:responseParam>\n"
        "</ns2:egainResponseParams>"
    )
    assert r.text == f"{head}\n{params}\n</body>"
    assert "message" not in r.text


def test_first_poll_welcome_and_waiting(customers: Callable[..., EceCustomer], ece: ServerProc) -> None:
    """Items 20 and 53: the welcome comes first; the chat waits in `support`."""
    c = started(customers)
    r = c.post()
    assert r.status_code == 200
    got = stanzas(r.text)
    assert len(got) == 1
    assert (got[0].type, got[0].sender) == ("headline", "system")
    assert got[0].body == "Thanks%5E2c%20an%20agent%20will%20be%20with%20you%20soon."
    with httpx.Client(base_url=ece.base_url) as http:
        live = http.get(f"{EP}/liveSessionStatus/1000").text
        assert "<ns2:queueDepth>1</ns2:queueDepth>" in live
        assert "<ns2:waitTime>300.0</ns2:waitTime>" in live  # 10.3: AHT default 300 s / capacity 1
        assert 'allowed="true"' in http.get(f"{EP}/chatAllowed/1000").text
    stats = c.statistics()
    assert stats.status_code == 200
    assert "<ns2:queueDepth>1</ns2:queueDepth>" in stats.text
    assert "<ns2:altEngmtTime>0</ns2:altEngmtTime>" in stats.text
    status = c.http.get(c.url(f"/sessionStatus/{c.sid}"))
    assert status.status_code == 200 and "altEngmtTime" not in status.text
    t0 = time.monotonic()
    assert c.post().text == EMPTY  # item 25 with the client's wait of 1 s
    assert 0.9 <= time.monotonic() - t0 < 2.0


def test_default_welcome(customers: Callable[..., EceCustomer]) -> None:
    """Item 33."""
    c = started(customers, messaging=None)
    got = stanzas(c.post().text)
    assert got[0].body == "Thanks%20for%20contacting%20us.%20An%20agent%20will%20join%20you%20shortly."


@pytest.mark.parametrize(
    ("messaging", "inside"),
    [
        ("<![CDATA[\ncust_welcome_msg = Hi there, friend!\n]]>", False),
        ("&lt;![CDATA[\ncust_welcome_msg = Hi there, friend!\n]]&gt;", False),
        ("cust_welcome_msg = Hi there, friend!", False),
        ("&lt;![CDATA[cust_welcome_msg=Hi there, friend!]]&gt;", True),
        ("# comment\ncust_welcome_msg : Hi there, \\\n   friend!", False),
    ],
)
def test_messaging_data_forms(customers: Callable[..., EceCustomer], messaging: str, inside: bool) -> None:
    """Item 34 and K9."""
    c = started(customers, messaging=messaging, messaging_in_params=inside)
    assert stanzas(c.post().text)[0].text == "Hi there, friend!"


def test_smack_creation(customers: Callable[..., EceCustomer]) -> None:
    """Item 35."""
    c = customers()
    r = c.create(smack_creation_body(c.rid), "")
    assert r.status_code == 200
    assert re.search(r'sid="[0-9]+_[0-9a-f]{32}"', r.text) and 'wait="60"' in r.text


@pytest.mark.parametrize(
    ("query", "to", "expected"),
    [
        (CREATE_QUERY.format(ep="1001"), "1001", 'condition="system-shutdown"/>'),
        (CREATE_QUERY.format(ep="1002"), "1002", 'condition="system-shutdown"/>'),
        (
            CREATE_QUERY.format(ep="1003"),
            "1003",
            'condition="remote-connection-failed"><error><code>L10N_LINES_ARE_BUSY</code></error></body>',
        ),
        (CREATE_QUERY.format(ep="9999"), "9999", 'condition="host-unknown"/>'),
        ("entryPointId=abc", "shop.example", 'condition="improper-addressing"/>'),
        ("", "example.com", 'condition="improper-addressing"/>'),
        (CREATE_QUERY.format(ep="1000") + "&subActivity=Callback", "1000", 'condition="system-shutdown"/>'),
    ],
)
def test_creation_refusals(customers: Callable[..., EceCustomer], query: str, to: str, expected: str) -> None:
    """Item 36."""
    c = customers()
    r = c.create(creation_body(c.rid, email=email(), to=to), query)
    assert r.status_code == 200
    assert r.text == f'<body xmlns="{HTTPBIND}" type="terminate" {expected}'
    assert not c.sid


def test_bad_rid_is_bad_request(customers: Callable[..., EceCustomer]) -> None:
    c = customers()
    body = creation_body(1, email=email()).replace('rid="1"', 'rid="x"')
    assert c.create(body, CREATE_QUERY.format(ep="1000")).text.endswith('condition="bad-request"/>')


def test_duplicate_sessions(customers: Callable[..., EceCustomer]) -> None:
    """Item 37."""
    addr = email()
    started(customers, email=addr)
    second = customers()
    assert second.start(email=addr).text.endswith('condition="other-request"/>')
    anon = "anonymous@egain.com"
    started(customers, email=anon, sender=anon)
    started(customers, email=anon, sender=anon)


def test_bad_creation_bodies(customers: Callable[..., EceCustomer], ece: ServerProc) -> None:
    """Item 39 and 10.1."""
    with httpx.Client(base_url=ece.base_url) as http:
        url = f"{EP}?entryPointId=1000"
        assert http.post(url, content="<body rid='1'").status_code == 400
        doctype = f'<!DOCTYPE body [<!ENTITY x "y">]><body rid="1" xmlns="{HTTPBIND}">&x;</body>'
        r = http.post(url, content=doctype)
        assert r.status_code == 400 and r.content == b""
        assert http.post(url, content="<notbody/>").status_code == 400
        big = creation_body(1, email=email()).replace("</body>", "<x>" + "a" * 300 * 1024 + "</x></body>")
        assert http.post(url, content=big).status_code == 413
        assert http.get("/healthz").status_code == 200
    c = started(customers)
    big_poll = c.body("<x>" + "a" * 70 * 1024 + "</x>", c.rid + 1)
    r = c.http.post(c.url(), content=big_poll)
    assert r.status_code == 413 and r.content == b""


def test_double_escaped_values(customers: Callable[..., EceCustomer]) -> None:
    """Item 40: the library's inner escaping is undone once."""
    c = customers()
    body = creation_body(c.rid, email="o&amp;apos;brien@example.com", name="O&amp;#39;Brien", wait=1)
    r = c.create(body, CREATE_QUERY.format(ep="1000"))
    assert r.status_code == 200 and c.sid
    assert "<ns2:attributeValue>O&apos;Brien</ns2:attributeValue>" in r.text or "O'Brien" in r.text
    assert c.transcript().json()["customerName"] == "O'Brien"
    again = customers()
    dup = again.start(email="o'brien@example.com", wait=1)
    assert dup.text.endswith('condition="other-request"/>')


def test_customer_lines_sanitised_masked_not_echoed(customers: Callable[..., EceCustomer]) -> None:
    """Items 24, 41, 42, 51 and the plain-text field of native.md 4.4."""
    c = started(customers)
    c.post()
    for line in (
        "<script>alert(1)</script><b>hi</b>",
        "card 4111 1111 1111 1111 ok",
        "card 4111 1111 1111 1112 ok",
        "x" * 9000,
        "   <br>&nbsp; ",
    ):
        esc = line.replace("&", "&amp;").replace("<", "&lt;")
        r = c.post(f'<message type="chat" xmlns="{JABBER}"><body>{esc}</body></message>')
        assert r.status_code == 200
        assert not stanzas(r.text), "customer lines are not echoed"
    bodies = [m["body"] for m in c.transcript().json()["message"] if m["sender"]["type"] == "Customer"]
    assert bodies[0] == "<b>hi</b>"
    assert bodies[1] == "card ***************1111 ok"
    assert bodies[2] == "card 4111 1111 1111 1112 ok"
    assert bodies[3] == "x" * 8000
    assert len(bodies) == 4


def test_replay_and_window(customers: Callable[..., EceCustomer]) -> None:
    """Items 26, 27 and 28."""
    c = started(customers)
    c.post()
    line = f'<message type="chat" xmlns="{JABBER}"><body>only once</body></message>'
    first = c.post(line)
    again = c.post(line, rid=c.rid)
    assert again.status_code == 200 and again.content == first.content
    lines = [m for m in c.transcript().json()["message"] if m["body"] == "only once"]
    assert len(lines) == 1
    r = c.post(rid=c.rid + 5)
    assert r.status_code == 404 and r.content == b""
    att = c.side("/attachConnection", f"sid={c.sid}", "application/x-www-form-urlencoded")
    assert att.status_code == 200 and att.text == "true"
    assert att.headers["content-type"].startswith("text/plain")
    c.rid += 1000
    assert c.post().status_code == 200
    assert c.post().status_code == 200
    unknown = EceCustomer(c.base)
    for sid in (c.sid.split("_")[0] + "_" + "0" * 32, "nope", "999999_" + c.sid.split("_")[1]):
        unknown.sid = sid
        r = unknown.post()
        assert r.status_code == 404 and r.content == b""
    unknown.close()
    bad = c.side("/sessionStatistics", "<sessionStatistics><sid>1_00</sid></sessionStatistics>", "text/XML")
    assert bad.status_code == 404


def test_customer_terminate(customers: Callable[..., EceCustomer]) -> None:
    """Item 29."""
    c = started(customers)
    c.post()
    r = c.post(f'<presence type="unavailable" xmlns="{JABBER}"/>', attrs=' type="terminate"')
    assert r.status_code == 200 and r.text == TERMINATE
    assert c.post().text == TERMINATE
    assert c.side("/attachConnection", f"sid={c.sid}", "application/x-www-form-urlencoded").status_code == 404
    t = c.transcript()
    assert t.status_code == 400 and t.json()["code"] == "400-115"
    assert c.statistics().status_code == 404


def test_pause_answers_at_once(customers: Callable[..., EceCustomer]) -> None:
    """Item 48 (first part; the longer inactivity is checked with short timers in test_ece_alex)."""
    c = started(customers, wait=60)
    c.post(rid=None)
    t0 = time.monotonic()
    r = c.post(attrs=' pause="30"')
    assert r.status_code == 200 and time.monotonic() - t0 < 1.0
    assert c.post(f'<message type="chat" xmlns="{JABBER}"><body>back</body></message>', attrs=' pause="5"')


def test_unsupported_features(customers: Callable[..., EceCustomer]) -> None:
    """Item 50 and 6.6."""
    c = started(customers)
    form = "application/x-www-form-urlencoded"
    for path, text in [
        ("/sendCustAttachmentNotificaiton", "attachmentSettingDisabledForCustomer"),
        ("/uploadAttachments", "attachmentSettingDisabledForCustomer"),
        ("/initiatevideochat", "0"),
        ("/convertvideochat", "false"),
    ]:
        r = c.side(path, f"sid={c.sid}", form)
        assert (r.status_code, r.text) == (200, text), path
    assert c.side("/getattachment/5", f"sid={c.sid}", form).status_code == 404
    assert c.side("/uploadAttachments", "sid=1_2", form).status_code == 404


def test_limits(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Items 18 (survey rate) and 38 (creation rate) on a server of their own."""
    srv = make_server(tmp_path_factory.mktemp("ece-limits"))
    srv.start()
    try:
        with httpx.Client(base_url=srv.base_url, timeout=10) as http:
            qa = "<survey><question>Q</question><answer>A</answer></survey>"
            survey = f'<egainSurvey sid="1000">{qa}</egainSurvey>'
            codes = [http.post(f"{EP}/survey", content=survey).status_code for _ in range(31)]
            assert codes[:30] == [204] * 30 and codes[30] == 429
            r = http.post(f"{EP}/survey", content=survey)
            assert r.headers["retry-after"] == "60" and r.content == b""
            for n in range(61):
                c = EceCustomer(srv.base_url)
                r = c.start(email=f"limit{n}@example.com", wait=1)
                if n < 60:
                    assert c.sid, (n, r.text)
                    c.post(f'<presence type="unavailable" xmlns="{JABBER}"/>', attrs=' type="terminate"')
                else:
                    assert (
                        r.text == f'<body xmlns="{HTTPBIND}" type="terminate" condition="policy-violation"/>'
                    )
                c.close()
            assert http.get("/healthz").status_code == 200
    finally:
        srv.stop()


def test_demo_agent_only_on_demo_tenant(tmp_path: Any) -> None:
    """Item 54: the switch on a non-demo tenant is a configuration error."""
    cfg = demo_dict()
    cfg["tenants"][0]["demo"] = False
    cfg["tenants"][0]["faces"]["ece"]["demo_auto_agent"] = True
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = subprocess.run(
        [sys.executable, "-m", "frontdesk", "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "demo_auto_agent" in out.stdout + out.stderr


def test_whole_chat_with_native_agent(server_factory: Callable[..., ServerProc]) -> None:
    """A chat held between the eGain library's requests and alice on the native API."""
    srv = server_factory(lambda cfg: None, name="ece-native")
    c = EceCustomer(srv.base_url)
    agent = Agent(srv.base_url, "alice")
    try:
        assert c.start(wait=2).status_code == 200
        c.pump(lambda rs: len(rs) >= 1)
        agent.ready()
        offer = agent.wait_offer()
        agent.accept(offer["offer_id"])
        chat_id = offer["chat_id"]
        c.pump(lambda rs: any(s.params.get("agentName") == "Alice" for s in rs))
        join = next(s for s in c.received if s.subcmd == "agentPickup")
        assert join.text == "You are chatting with Alice"
        agent.say(chat_id, 'Tom & "Jerry" 50% <off>\nline two, ok')
        c.pump(lambda rs: any(s.sender == "Alice" and s.type == "chat" for s in rs))
        line = [s for s in c.received if s.sender == "Alice" and s.type == "chat"][-1]
        want = "Tom &amp; &quot;Jerry&quot; 50% &lt;off&gt;<br />line two, ok"
        assert decode_library(line.body) == want
        assert decode_smack(line.body) == 'Tom & "Jerry" 50% <off><br />line two, ok'
        c.say("<i>thanks</i> 4111-1111-1111-1111")
        c.drain()
        deadline = time.monotonic() + 5
        seen: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not seen:
            seen = [
                e for e in agent.events(chat_id) if e["kind"] == "message" and e["by"]["kind"] == "customer"
            ]
            time.sleep(0.1)
        assert seen[0]["html"] == "<i>thanks</i> ***************1111"
        assert seen[0]["text"] == "thanks ***************1111"
        agent.post(f"/api/v1/chats/{chat_id}/end", {"reason": None})
        c.pump(lambda rs: any(s.text == "Alice has ended the chat" for s in rs))
        assert c.post().text == TERMINATE
        agent.post(f"/api/v1/chats/{chat_id}/wrapup", {"disposition": "resolved", "notes": ""})
        qa = "<survey><question>Q1</question><answer>5</answer></survey>"
        survey = f'<egainSurvey sid="{c.sid}">{qa}</egainSurvey>'
        assert c.http.post("/system/egain/chat/entrypoint/survey", content=survey).status_code == 204
        sam = Agent(srv.base_url, "sam")
        items = sam.get("/api/v1/supervisor/surveys")
        found = [s for s in (items.get("items") or items.get("surveys") or []) if s.get("chat_id") == chat_id]
        assert found and found[0]["source"] == "ece"
        assert found[0]["answers"] == [{"question": "Q1", "answer": "5"}]
        agent.set_state("logged_out")
    finally:
        c.close()
        close_all()
