"""Metrics, health, readiness, JSON logs with ids, and the general rate limit (issue 10 §1, §4)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from faces.native_client import Agent, Customer, close_all
from ops.receiver import Receiver


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    close_all()


def sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels}")


def test_metrics_health_and_json_logs(server_factory: Any) -> None:
    srv = server_factory(lambda cfg: cfg["server"]["log"].__setitem__("format", "json"))
    base = srv.base_url
    assert httpx.get(base + "/healthz").json()["status"] == "ok"
    ready = httpx.get(base + "/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok", "store": "ok", "bus": "ok"}
    alice = Agent(base, "alice")
    alice.ready()
    customer = Customer(base)
    chat_id = customer.start()
    alice.accept(alice.wait_offer(chat_id)["offer_id"])
    customer.say("hi")
    alice.say(chat_id, "hello")
    socket = alice.ws()
    socket.expect("hello")
    text = httpx.get(base + "/metrics").text
    assert sample(text, "frontdesk_chats", tenant="example.com", queue="support", state="connected") == 1
    assert sample(text, "frontdesk_chats", tenant="example.com", queue="sales", state="queued") == 0
    assert sample(text, "frontdesk_messages_total", tenant="example.com") >= 2
    assert sample(text, "frontdesk_websocket_agents", tenant="example.com") == 1
    assert sample(text, "frontdesk_http_requests_total", face="native", status="201") >= 1
    assert sample(text, "frontdesk_http_requests_total", face="servicepattern", status="200") >= 1
    assert sample(text, "frontdesk_store_commit_seconds_count") > 0
    assert sample(text, "frontdesk_store_commit_batch_size_count") > 0
    assert sample(text, "frontdesk_routing_pass_seconds_count") > 0
    assert "frontdesk_long_polls_open" in text
    socket.close()
    # A failing request is logged as one JSON line carrying tenant, chat and agent ids.
    assert alice.call("POST", f"/api/v1/chats/{chat_id}/messages", {"text": 5}).status_code == 400
    alice.call("GET", f"/api/v1/chats/{chat_id}")
    lines = [json.loads(line) for line in srv.log().splitlines() if line.startswith("{")]
    assert lines and all("level" in line and "event" in line for line in lines)


def test_long_polls_are_counted(server: Any) -> None:
    customer = Customer(server.base_url)
    customer.start()
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        text = client.get("/metrics").text
        assert re.search(r"^frontdesk_long_polls_open \d", text, re.M)


def test_rate_limit_answers_429_in_each_face_format(server_factory: Any) -> None:
    def mutate(cfg: dict[str, Any]) -> None:
        cfg["server"]["limits"]["rate_limit"] = {
            "requests_per_second": 1,
            "burst": 150,
            "exempt_networks": [],
        }

    srv = server_factory(mutate)
    with httpx.Client(base_url=srv.base_url, timeout=10) as client:
        # The start-up health polls spent part of the bucket; 150 more requests drain it.
        codes = [client.get("/api/v1/info").status_code for _ in range(150)]
        assert codes[0] == 200 and codes[-1] == 429
        r = client.get("/api/v1/info")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.headers["content-type"] == "application/problem+json" and r.json()["code"] == "rate_limited"
        sp = client.post("/clientweb/api/v1/chats?tenantUrl=example.com", json={})
        assert sp.status_code == 429 and sp.json()["error_code"] == "5500" and "retry-after" in sp.headers
        rn = client.post("/services/soap/connect/chat_soap", content=b"<x/>")
        assert rn.status_code == 429 and b"Fault" in rn.content
        assert client.get("/healthz").status_code == 429
    # A WebSocket handshake gets the same 429, not a close before accept that clients read as 403.
    url = srv.base_url.replace("http://", "ws://") + "/api/v1/ws"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=10)
    response = refused.value.response
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    assert json.loads(response.body)["code"] == "rate_limited"


def test_loopback_is_exempt_by_default_and_bodies_are_capped(server: Any) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        assert all(client.get("/api/v1/info").status_code == 200 for _ in range(250))
        huge = b"x" * (27 * 1024 * 1024 + 1)
        r = client.post("/console", content=huge)
        assert r.status_code == 413


def test_receiver_helper_answers() -> None:
    with Receiver([201]) as rx:
        assert httpx.post(rx.url, content=b"{}", headers={"X-Frontdesk-Event": "x"}).status_code == 201
