"""SIGKILL the node that runs the engine while chats spread over three nodes exchange messages.

Customers and agents each talk to their own node; when a node dies, its clients move to the next
one and re-send what was not acknowledged with the same message ids. Afterwards every acknowledged
message is in its chat exactly once, and the dead node's timers (a pending offer's RONA) fire on a
survivor.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import yaml

from cluster.conftest import Cluster
from load_support import start_and_connect, verify, with_agents
from tests_support import SP_AUTH, sp_url

pytestmark = pytest.mark.slow

CHATS = 60
ACKS_BEFORE_KILL = 400
ACKS_AFTER_KILL = 400


class Mover:
    """Sends each request to its node; on a dead node or a 503, moves on and re-sends the same."""

    def __init__(self, cluster: Cluster, start: int) -> None:
        self.cluster = cluster
        self.turn = start
        self.moves = 0

    async def send(
        self, client: httpx.AsyncClient, method: str, path: str, **kw: Any
    ) -> httpx.Response | None:
        for _ in range(40):
            ports = [n.port for n in self.cluster.nodes]
            port = ports[self.turn % len(ports)]
            try:
                r = await client.request(method, f"http://127.0.0.1:{port}{path}", **kw)
            except httpx.TransportError:
                r = None
            if r is not None and r.status_code != 503:
                return r
            self.turn += 1
            self.moves += 1
            await asyncio.sleep(0.2)
        return None


async def converse(
    cluster: Cluster,
    client: httpx.AsyncClient,
    n_chat: int,
    chat_id: str,
    auth: str,
    agent_headers: dict[str, str],
    acked: Counter[str],
    stop: asyncio.Event,
    moves: list[int],
) -> None:
    customer, agent = Mover(cluster, n_chat), Mover(cluster, n_chat + 1)
    n = 0
    while not stop.is_set():
        n += 1
        text = f"c-{n}-{chat_id}"
        event = {"event": "chat_session_message", "msg_id": f"m{n}", "msg": text}
        r = await customer.send(
            client,
            "POST",
            sp_url(f"/chats/{chat_id}/events"),
            json={"events": [event]},
            headers={"Authorization": auth},
        )
        if r is not None and r.status_code == 200:
            acked[text] += 1
        reply = f"a-{n}-{chat_id}"
        r = await agent.send(
            client,
            "POST",
            f"/api/v1/chats/{chat_id}/messages",
            json={"client_msg_id": f"r{n}", "text": reply},
            headers=agent_headers,
        )
        if r is not None and r.status_code in (200, 201):
            acked[reply] += 1
    moves.append(customer.moves + agent.moves)


def test_sigkill_engine_node_under_load(cluster_factory: Callable[..., Cluster]) -> None:
    cluster = cluster_factory(with_agents(CHATS))
    owner = cluster.owner()
    survivor = next(n for n in cluster.nodes if n is not owner)
    auths, headers, chat_agent = asyncio.run(start_and_connect(survivor.base_url, CHATS))
    acked: Counter[str] = Counter()
    moves: list[int] = []
    timeline: dict[str, float] = {}

    async def load() -> None:
        stop = asyncio.Event()
        limits = httpx.Limits(max_connections=2 * CHATS)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            tasks = [
                asyncio.create_task(
                    converse(cluster, client, i, c, auths[c], headers[chat_agent[c]], acked, stop, moves)
                )
                for i, c in enumerate(auths)
            ]
            for _ in range(600):  # bounded: 60 s
                if len(acked) >= ACKS_BEFORE_KILL:
                    break
                await asyncio.sleep(0.1)
            timeline["killed_at_acks"] = len(acked)
            owner.kill()  # SIGKILL: no shutdown code, no lease release
            killed = time.monotonic()
            for _ in range(900):  # bounded: 90 s
                if len(acked) >= timeline["killed_at_acks"] + ACKS_AFTER_KILL:
                    break
                await asyncio.sleep(0.1)
            timeline["recovered_s"] = time.monotonic() - killed
            stop.set()
            await asyncio.gather(*tasks)

    asyncio.run(load())
    assert len(acked) >= timeline["killed_at_acks"] + ACKS_AFTER_KILL, (
        f"load stalled after the kill: {timeline}"
    )
    new_owner = cluster.owner()
    assert new_owner is not owner
    checked = asyncio.run(verify(new_owner.base_url, auths, acked))
    assert checked == len(acked)
    # the killed node comes back as a follower and serves again
    owner.start()
    assert cluster.role(owner) == "follower"
    assert asyncio.run(verify(owner.base_url, auths, acked)) == checked
    print(
        "\n[cluster] "
        + json.dumps(
            {
                "chats": CHATS,
                "messages_acknowledged": checked,
                "messages_lost": 0,
                "client_moves": sum(moves),
                "acks_before_kill": timeline["killed_at_acks"],
                "seconds_to_recover_load": round(timeline["recovered_s"], 1),
            }
        )
    )


def _short_rona(cfg: dict[str, Any]) -> None:
    cfg["tenants"][0].setdefault("timers", {})["rona_seconds"] = 6


def test_timers_of_dead_node_fire_on_survivor(cluster_factory: Callable[..., Cluster]) -> None:
    cluster = cluster_factory(_short_rona)
    owner = cluster.owner()
    survivor = next(n for n in cluster.nodes if n is not owner)
    http = httpx.Client(base_url=survivor.base_url, timeout=30)
    try:
        token = http.post(
            "/api/v1/auth/login", json={"tenant": "example.com", "login": "bob", "password": "demo"}
        ).json()["token"]
        bob = {"Authorization": "Bearer " + token}
        assert http.put("/api/v1/agent/state", json={"state": "ready"}, headers=bob).status_code == 200
        auth = {"Authorization": SP_AUTH.format(client_id=uuid.uuid4())}
        chat_id = http.post(sp_url("/chats"), json={}, headers=auth).json()["chat_id"]
        deadline = time.monotonic() + 10
        offers: list[Any] = []
        while not offers and time.monotonic() < deadline:
            offers = http.get("/api/v1/agent/offers", headers=bob).json()["items"]
        assert [o["chat_id"] for o in offers] == [chat_id]
        offered_at = time.monotonic()
        owner.kill()  # the RONA timer was armed on the dead node only
        deadline = time.monotonic() + 30
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            r = http.get("/api/v1/agent/state", headers=bob)
            if r.status_code == 200:
                state = r.json()
                if state.get("state") == "not_ready":
                    break
            time.sleep(0.2)
        assert (state.get("state"), state.get("reason")) == ("not_ready", "rona"), state
        assert time.monotonic() - offered_at >= 5  # fired at its time, not early
        chat = http.get(f"/api/v1/chats/{chat_id}", headers=bob)
        assert chat.status_code in (200, 403, 404)  # bob no longer holds it; the queue does
        sam_token = http.post(
            "/api/v1/auth/login", json={"tenant": "example.com", "login": "sam", "password": "demo"}
        ).json()["token"]
        detail = http.get(f"/api/v1/chats/{chat_id}", headers={"Authorization": "Bearer " + sam_token}).json()
        assert detail["state"] == "queued"
    finally:
        http.close()


def test_reload_through_any_node_outlives_the_engine_node(cluster_factory: Callable[..., Cluster]) -> None:
    """A reload sent to a forwarding node is applied by the engine node; the node that takes over
    after it dies re-reads the file, so the reloaded configuration stays in force."""
    cluster = cluster_factory()
    owner = cluster.owner()
    follower = next(n for n in cluster.nodes if n is not owner)
    path = owner.config_path
    cfg = yaml.safe_load(path.read_text())
    cfg["tenants"][0]["queues"].append(
        {"name": "returns", "number": 5, "display_name": "Returns", "skills": ["support"]}
    )
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    with httpx.Client(base_url=follower.base_url, timeout=30) as http:
        token = http.post(
            "/api/v1/auth/login", json={"tenant": "example.com", "login": "sam", "password": "demo"}
        ).json()["token"]
        sam = {"Authorization": "Bearer " + token}
        result = http.post("/api/v1/admin/reload", headers=sam)
        assert result.status_code == 200, result.text
        assert {c["path"]: c["change"] for c in result.json()["changes"]}["tenants[0].queues[4]"] == "added"
        for node in cluster.nodes:  # every node answers with the reloaded queue
            r = http.get(f"{node.base_url}/api/v1/admin/queues/returns", headers=sam)
            assert r.status_code == 200 and r.json()["managed"] == "config", r.text
        owner.kill()
        assert cluster.owner() is not owner
        applied = http.get("/api/v1/admin/config", headers=sam)  # what the engine now runs with
        assert applied.status_code == 200, applied.text
        assert "returns" in [q["name"] for q in applied.json()["queues"]]


def test_agent_websocket_resumes_on_a_survivor(cluster_factory: Callable[..., Cluster]) -> None:
    """The agent's WebSocket through a forwarding node closes with 1012 when the engine node dies;
    the agent reconnects to another node with its cursor and gets exactly what came after it."""
    from websockets.exceptions import ConnectionClosed

    from faces.native_client import AgentSocket, close_all

    cluster = cluster_factory()
    owner = cluster.owner()
    near, far = [n for n in cluster.nodes if n is not owner]
    customer = {"Authorization": SP_AUTH.format(client_id=uuid.uuid4())}
    with httpx.Client(base_url=near.base_url, timeout=30) as http:
        token = http.post(
            "/api/v1/auth/login", json={"tenant": "example.com", "login": "alice", "password": "demo"}
        ).json()["token"]
        alice = {"Authorization": "Bearer " + token}
        assert http.put("/api/v1/agent/state", json={"state": "ready"}, headers=alice).status_code == 200
        chat_id = http.post(sp_url("/chats"), json={}, headers=customer).json()["chat_id"]
        offers: list[Any] = []
        deadline = time.monotonic() + 10
        while not offers and time.monotonic() < deadline:
            offers = http.get("/api/v1/agent/offers", headers=alice).json()["items"]
        accepted = http.post(f"/api/v1/agent/offers/{offers[0]['offer_id']}/accept", headers=alice)
        assert accepted.status_code == 200, accepted.text
        try:
            ws = AgentSocket(near.base_url, token, {chat_id: 0})
            ws.expect(lambda f: f.get("type") == "chat_event" and f["event"]["kind"] == "party_joined", 10)
            ws.drain(0.5)
            cursor = max(f["event"]["seq"] for f in ws.chat_events(chat_id))
            upload = http.post(
                f"/api/v1/chats/{chat_id}/files",
                files={"file": ("notes.bin", bytes(range(256)) * 64, "application/octet-stream")},
                headers=alice,
            )
            assert upload.status_code in (200, 201), upload.text
            file_id = upload.json()["event"]["file_id"]
            ws.expect(lambda f: f.get("type") == "chat_event" and f["event"]["kind"] == "file", 10)
            cursor = max(f["event"]["seq"] for f in ws.chat_events(chat_id))
            owner.kill()
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(200):  # frames still in flight, then the close
                    ws.conn.recv(timeout=30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
            said = {"event": "chat_session_message", "msg_id": "after-failover", "msg": "are you there?"}
            r = http.post(sp_url(f"/chats/{chat_id}/events"), json={"events": [said]}, headers=customer)
            assert r.status_code == 200, r.text  # held by the forwarding node until the takeover
            resumed = AgentSocket(far.base_url, token, {chat_id: cursor})
            frame = resumed.expect(
                lambda f: f.get("type") == "chat_event" and f["event"].get("text") == "are you there?", 15
            )
            seqs = [f["event"]["seq"] for f in resumed.chat_events(chat_id)]
            assert seqs == list(range(cursor + 1, frame["event"]["seq"] + 1))  # no gap, no repeat
            # the upload's bytes come from the database on a node that never had them on disk
            url = f"{far.base_url}/api/v1/chats/{chat_id}/files/{file_id}"
            got = httpx.get(url, headers=alice, timeout=30)
            assert got.status_code == 200 and got.content == bytes(range(256)) * 64
        finally:
            close_all()
