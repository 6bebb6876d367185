"""SIGKILL the server while 50 chats exchange messages; after each restart every acknowledged
message is in the chat's log exactly once (customer side via ServicePattern history, both sides
via the native API)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from tests_support import SP_AUTH, sp_url

pytestmark = pytest.mark.slow

AGENTS = [f"kill{n}" for n in range(1, 14)]
CHATS = 50


def with_agents(cfg: dict[str, Any]) -> None:
    template = next(u for u in cfg["tenants"][0]["users"] if u["login"] == "alice")
    for login in AGENTS:
        user = dict(template, login=login, max_chats=4)
        user["profile"] = dict(template["profile"], display_name=login, screen_name=login)
        cfg["tenants"][0]["users"].append(user)


async def login(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    r = await client.post(
        "/api/v1/auth/login", json={"tenant": "example.com", "login": name, "password": "demo"}
    )
    r.raise_for_status()
    return {"Authorization": "Bearer " + r.json()["token"]}


async def start_and_connect(base: str) -> tuple[list[str], dict[str, dict[str, str]], dict[str, str]]:
    """50 customer chats, each accepted by one of the agents; returns chat ids, agent headers, owner."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        headers = {name: await login(client, name) for name in AGENTS}
        for h in headers.values():
            (await client.put("/api/v1/agent/state", json={"state": "ready"}, headers=h)).raise_for_status()
        chat_ids = []
        for _ in range(CHATS):
            auth = SP_AUTH.format(client_id=uuid.uuid4())
            r = await client.post(sp_url("/chats"), json={}, headers={"Authorization": auth})
            r.raise_for_status()
            chat_ids.append((r.json()["chat_id"], auth))
        owner: dict[str, str] = {}
        for _ in range(100):
            for name, h in headers.items():
                offers = (await client.get("/api/v1/agent/offers", headers=h)).json()["items"]
                for offer in offers:
                    r = await client.post(f"/api/v1/agent/offers/{offer['offer_id']}/accept", headers=h)
                    if r.status_code == 200:
                        owner[offer["chat_id"]] = name
            if len(owner) == CHATS:
                break
            await asyncio.sleep(0.1)
        assert len(owner) == CHATS
        auths = dict(chat_ids)
        return (
            [c for c, _ in chat_ids],
            headers,
            {c: auths[c] for c in auths} | {f"owner:{c}": owner[c] for c in owner},
        )


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
        text = f"c{round_no}-{n}-{chat_id[:8]}"
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
            reply = f"a{round_no}-{n}-{chat_id[:8]}"
            r = await client.post(
                f"/api/v1/chats/{chat_id}/messages",
                json={"client_msg_id": f"r{round_no}-{n}", "text": reply},
                headers=agent_headers,
            )
            if r.status_code in (200, 201):
                acked[reply] += 1
        except httpx.HTTPError:
            return


async def texts_in_log(base: str, chat_id: str, sup: dict[str, str]) -> Counter[str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        r = await client.get(
            f"/api/v1/chats/{chat_id}/events", params={"since": 0, "limit": 500}, headers=sup
        )
        r.raise_for_status()
        events = r.json()["events"]
        return Counter(e["text"] for e in events if e["kind"] == "message")


async def history_texts(base: str, chat_id: str, auth: str) -> Counter[str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        r = await client.get(sp_url(f"/chats/{chat_id}/history"), headers={"Authorization": auth})
        r.raise_for_status()
        return Counter(
            e.get("msg_text", e.get("msg"))
            for e in r.json()["events"]
            if e["event"] == "chat_session_message"
        )


def test_sigkill_three_times_loses_and_duplicates_nothing(server_factory: Any) -> None:
    srv = server_factory(with_agents, name="kill")
    base = srv.base_url
    chat_ids, headers, info = asyncio.run(start_and_connect(base))
    acked: Counter[str] = Counter()
    for round_no in range(3):

        async def load(r: int = round_no) -> None:
            stop = asyncio.Event()
            before = len(acked)
            limits = httpx.Limits(max_connections=200)
            async with httpx.AsyncClient(base_url=base, timeout=5, limits=limits) as client:
                tasks = [
                    asyncio.create_task(
                        exchange(client, c, info[c], headers[info[f"owner:{c}"]], r, acked, stop)
                    )
                    for c in chat_ids
                ]
                for _ in range(200):  # until the load is well under way (bounded: 20 s)
                    if len(acked) - before >= 300:
                        break
                    await asyncio.sleep(0.1)
                srv.kill()  # mid-load, no shutdown code runs
                stop.set()
                await asyncio.gather(*tasks)

        asyncio.run(load())
        srv.start()
        # tokens stay valid across restarts (keys are in the store)
        sup = asyncio.run(_sup(base))
        for chat_id in chat_ids:
            logged = asyncio.run(texts_in_log(base, chat_id, sup))
            history = asyncio.run(history_texts(base, chat_id, info[chat_id]))
            for text, count in acked.items():
                if text[1:].split("-", 2)[2] != chat_id[:8]:
                    continue
                assert count == 1
                assert logged[text] == 1, f"acknowledged {text!r} found {logged[text]} times after restart"
                assert history[text] == 1, f"acknowledged {text!r} in history {history[text]} times"
    assert len(acked) > 200, "the load did not get going before the kills"


async def _sup(base: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        return await login(client, "sam")
