"""agent-sim against the demo server: a ServicePattern customer says Hello, agent-sim alice answers
(spec/native.md §10.2, conformance item 17)."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from typing import Any

import httpx
import pytest

from frontdesk.agentsim import build_options, run_agent_sim

pytestmark = pytest.mark.anyio

GREETING = "Hi, my name is Alice. How may I help you?"


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(x) for x in out.getvalue().splitlines() if x.strip()]


async def wait_for_action(out: io.StringIO, action: str, task: asyncio.Task[int], within: float = 15) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not any(x["action"] == action for x in lines(out)):
        assert not task.done(), f"agent-sim stopped ({task.result()}): {out.getvalue()}"
        assert loop.time() < deadline, f"no {action!r} line: {out.getvalue()}"
        await asyncio.sleep(0.05)


async def test_agentsim_answers_a_servicepattern_customer(server_factory: Any) -> None:
    # Its own demo server: chats other modules leave queued on the shared one would be offered first.
    base = server_factory(name="agentsim").base_url
    opts = build_options(
        {"url": base, "logins": ["alice"], "password": "demo", "json": True, "progress": 0}, env={}
    )
    out = io.StringIO()
    stop = asyncio.Event()
    sim = asyncio.ensure_future(run_agent_sim(opts, stop=stop, out=out))
    try:
        await wait_for_action(out, "ready", sim)
        sp = f"{base}/clientweb/api/v1/chats"
        headers = {"Authorization": f'MOBILE-API-140-327-PLAIN appId="test", clientId="{uuid.uuid4()}"'}
        params = {"tenantUrl": "example.com"}
        async with httpx.AsyncClient(headers=headers, params=params, timeout=20) as customer:
            created = await customer.post(sp, json={})
            assert created.status_code == 200, created.text
            chat_id = created.json()["chat_id"]
            sent = await customer.post(
                f"{sp}/{chat_id}/events",
                json={"events": [{"event": "chat_session_message", "msg_id": "1", "msg": "Hello"}]},
            )
            assert sent.status_code == 200, sent.text
            agent_lines: list[str] = []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while "You said: Hello" not in agent_lines:
                assert loop.time() < deadline, f"no reply; customer saw {agent_lines}; sim: {out.getvalue()}"
                polled = await customer.get(f"{sp}/{chat_id}/events")
                assert polled.status_code == 200, polled.text
                agent_lines += [
                    str(e.get("msg_text") or e.get("msg"))
                    for e in polled.json()["events"]
                    if e.get("event") == "chat_session_message"
                ]
        assert agent_lines[0] == GREETING
        await wait_for_action(out, "reply", sim)
    finally:
        stop.set()
        code = await asyncio.wait_for(sim, 30)
    assert code == 0, out.getvalue()

    got = lines(out)
    actions = [x["action"] for x in got]
    for expected in ("login", "ready", "offer", "accept", "greeting", "typing_on", "typing_off", "reply"):
        assert expected in actions, actions
    assert actions[0] == "login"
    assert actions[-1] == "logout"
    assert actions.index("accept") < actions.index("greeting") < actions.index("reply")
    assert "error" not in actions, got
    for line in got:
        assert list(line) == [
            "at",
            "agent",
            "action",
            "chat_id",
            "chat_number",
            "offer_id",
            "seq",
            "text",
            "detail",
        ]
        assert line["agent"] == "alice"
    by_action = {x["action"]: x for x in got}
    offer, accept = by_action["offer"], by_action["accept"]
    assert offer["chat_id"] == accept["chat_id"] == chat_id
    assert offer["offer_id"] == accept["offer_id"] and offer["offer_id"]
    number = accept["chat_number"]
    assert isinstance(number, int) and number > 0
    greeting, reply = by_action["greeting"], by_action["reply"]
    assert (greeting["text"], greeting["chat_number"]) == (GREETING, number)
    assert (reply["text"], reply["chat_id"]) == ("You said: Hello", chat_id)
    assert isinstance(greeting["seq"], int) and isinstance(reply["seq"], int)
    assert greeting["seq"] < reply["seq"]
    customer_line = by_action["typing_on"]["seq"]
    assert isinstance(customer_line, int) and customer_line < greeting["seq"]  # sent before alice joined
