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
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from load_support import start_and_connect, verify, with_agents
from tests_support import sp_url

pytestmark = pytest.mark.slow

KILLS = 3
ACKS_BEFORE_KILL = 600
COUNTS = Path(__file__).resolve().parents[2] / "artifacts" / "hardening-counts.json"


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
