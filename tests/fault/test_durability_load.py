"""Durability under load: SIGKILL the server three times while 50 (issue 3) and 200 (issue 10)
chats exchange messages; after each restart every acknowledged message is in its chat's log exactly
once, on the agent side (the native event log) and on the customer side (ServicePattern history).

One agent per 5 chats, one task per chat alternating a customer message and an agent reply, killed
once enough new messages were acknowledged in the round. The 200-chat counts go to
artifacts/hardening-counts.json.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests_support import SP_AUTH, sp_url

pytestmark = pytest.mark.slow

PER_AGENT = 5
KILLS = 3
ACKS_BEFORE_KILL = 600
COUNTS = Path(__file__).resolve().parents[2] / "artifacts" / "hardening-counts.json"


def agents_for(chats: int) -> list[str]:
    return [f"load{n}" for n in range(1, chats // PER_AGENT + 1)]


def with_agents(chats: int) -> Callable[[dict[str, Any]], None]:
    def mutate(cfg: dict[str, Any]) -> None:
        template = next(u for u in cfg["tenants"][0]["users"] if u["login"] == "alice")
        for login in agents_for(chats):
            user = dict(template, login=login, max_chats=PER_AGENT)
            user["profile"] = dict(template["profile"], display_name=login, screen_name=login)
            cfg["tenants"][0]["users"].append(user)

    return mutate


async def login(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    r = await client.post(
        "/api/v1/auth/login", json={"tenant": "example.com", "login": name, "password": "demo"}
    )
    r.raise_for_status()
    return {"Authorization": "Bearer " + r.json()["token"]}


async def start_and_connect(
    base: str, chats: int
) -> tuple[dict[str, str], dict[str, dict[str, str]], dict[str, str]]:
    """``chats`` customer chats, each accepted by one agent.

    Returns (chat -> customer auth, agent -> headers, chat -> agent).
    """
    async with httpx.AsyncClient(
        base_url=base, timeout=60, limits=httpx.Limits(max_connections=50)
    ) as client:
        agents = agents_for(chats)
        headers = dict(zip(agents, await asyncio.gather(*(login(client, a) for a in agents)), strict=True))
        for h in headers.values():
            (await client.put("/api/v1/agent/state", json={"state": "ready"}, headers=h)).raise_for_status()
        auths: dict[str, str] = {}

        async def open_chat() -> None:
            auth = SP_AUTH.format(client_id=uuid.uuid4())
            r = await client.post(sp_url("/chats"), json={}, headers={"Authorization": auth})
            r.raise_for_status()
            auths[r.json()["chat_id"]] = auth

        await asyncio.gather(*(open_chat() for _ in range(chats)))
        owner: dict[str, str] = {}

        async def take(name: str) -> None:
            h = headers[name]
            offers = (await client.get("/api/v1/agent/offers", headers=h)).json()["items"]
            for offer in offers:
                r = await client.post(f"/api/v1/agent/offers/{offer['offer_id']}/accept", headers=h)
                if r.status_code == 200:
                    owner[offer["chat_id"]] = name

        deadline = time.monotonic() + 60
        while len(owner) < chats and time.monotonic() < deadline:
            await asyncio.gather(*(take(name) for name in agents))
            await asyncio.sleep(0.1)
        assert len(owner) == chats, f"only {len(owner)} of {chats} chats were accepted"
        return auths, headers, owner


async def exchange(
    client: httpx.AsyncClient,
    chat_id: str,
    auth: str,
    agent_headers: dict[str, str],
    round_no: int,
    acked: Counter[str],
    stop: asyncio.Event,
) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        text = f"c{round_no}-{n}-{chat_id}"
        try:
            r = await client.post(
                sp_url(f"/chats/{chat_id}/events"),
                json={
                    "events": [{"event": "chat_session_message", "msg_id": f"{round_no}-{n}", "msg": text}]
                },
                headers={"Authorization": auth},
            )
            if r.status_code == 200:
                acked[text] += 1
            reply = f"a{round_no}-{n}-{chat_id}"
            r = await client.post(
                f"/api/v1/chats/{chat_id}/messages",
                json={"client_msg_id": f"r{round_no}-{n}", "text": reply},
                headers=agent_headers,
            )
            if r.status_code in (200, 201):
                acked[reply] += 1
        except httpx.HTTPError:
            return


async def verify(base: str, auths: dict[str, str], acked: Counter[str]) -> int:
    """Every acknowledged text exactly once in both logs; the number of texts checked."""
    by_chat: dict[str, list[str]] = defaultdict(list)
    for text, count in acked.items():
        assert count == 1, f"{text!r} acknowledged {count} times"
        by_chat[text.split("-", 2)[2]].append(text)
    async with httpx.AsyncClient(
        base_url=base, timeout=60, limits=httpx.Limits(max_connections=20)
    ) as client:
        sup = await login(client, "sam")
        sem = asyncio.Semaphore(20)

        async def one(chat_id: str, auth: str) -> int:
            async with sem:
                logged: Counter[str] = Counter()
                since, more = 0, True
                while more:
                    r = await client.get(
                        f"/api/v1/chats/{chat_id}/events", params={"since": since, "limit": 500}, headers=sup
                    )
                    r.raise_for_status()
                    page = r.json()
                    logged.update(e["text"] for e in page["events"] if e["kind"] == "message")
                    more = bool(page["more"]) and bool(page["events"])
                    since = page["events"][-1]["seq"] if page["events"] else since
                r = await client.get(sp_url(f"/chats/{chat_id}/history"), headers={"Authorization": auth})
                r.raise_for_status()
                history = Counter(
                    e.get("msg_text", e.get("msg"))
                    for e in r.json()["events"]
                    if e["event"] == "chat_session_message"
                )
            for text in by_chat.get(chat_id, []):
                assert logged[text] == 1, f"acknowledged {text!r} found {logged[text]} times after restart"
                assert history[text] == 1, f"acknowledged {text!r} in history {history[text]} times"
            return len(by_chat.get(chat_id, []))

        return sum(await asyncio.gather(*(one(c, a) for c, a in auths.items())))


def record(counts: dict[str, int]) -> None:
    COUNTS.parent.mkdir(parents=True, exist_ok=True)
    try:
        data: dict[str, Any] = json.loads(COUNTS.read_text())
    except (OSError, ValueError):
        data = {}
    data.setdefault("tests", {})["durability_load"] = counts
    totals: dict[str, int] = {}
    for entry in data["tests"].values():
        for key, value in entry.items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    data["totals"] = totals
    COUNTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"\n[counts] durability_load: {json.dumps(counts, sort_keys=True)}")


@pytest.mark.parametrize("chats", [50, 200])
def test_sigkill_three_times_under_load(server_factory: Any, chats: int) -> None:
    srv = server_factory(with_agents(chats), name=f"load{chats}")
    base = srv.base_url
    auths, headers, owner = asyncio.run(start_and_connect(base, chats))
    acks_before_kill = min(ACKS_BEFORE_KILL, 3 * chats)
    acked: Counter[str] = Counter()
    kills = 0
    checked = 0
    for round_no in range(KILLS):

        async def load(r: int = round_no) -> None:
            stop = asyncio.Event()
            before = len(acked)
            limits = httpx.Limits(max_connections=chats)
            async with httpx.AsyncClient(base_url=base, timeout=10, limits=limits) as client:
                tasks = [
                    asyncio.create_task(exchange(client, c, auths[c], headers[owner[c]], r, acked, stop))
                    for c in auths
                ]
                for _ in range(400):  # until the load is well under way (bounded: 40 s)
                    if len(acked) - before >= acks_before_kill:
                        break
                    await asyncio.sleep(0.1)
                srv.kill()  # mid-load, no shutdown code runs
                stop.set()
                await asyncio.gather(*tasks)

        asyncio.run(load())
        kills += 1
        srv.start()
        checked = asyncio.run(verify(base, auths, acked))
        assert checked == len(acked)
    assert len(acked) > KILLS * acks_before_kill // 2, "the load did not get going before the kills"
    if chats == 200:
        counts = {"chats": chats, "kills_survived": kills, "messages_acknowledged": checked}
        record({**counts, "messages_lost": 0})
