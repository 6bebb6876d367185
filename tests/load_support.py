"""Load helpers shared by the durability and cluster suites: agents added to the demo tenant, chats
opened on ServicePattern and accepted on the native API, and the exactly-once check of every
acknowledged message in both the native event log and the ServicePattern history."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import httpx

from tests_support import SP_AUTH, sp_url

PER_AGENT = 5


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
