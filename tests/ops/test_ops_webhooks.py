"""Webhooks: durable outbox, HMAC signature, retries with backoff, delivery log (issue 10 §2)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from faces.native_client import Agent, Customer, close_all
from frontdesk.ops.webhooks import verify
from ops.receiver import Receiver

SECRET = "s3cret-webhook-key"


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    close_all()


def wait_for(pred: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_delivered_signed_retried_and_logged(server_factory: Any) -> None:
    with Receiver(statuses=[500]) as rx:

        def mutate(cfg: dict[str, Any]) -> None:
            cfg["tenants"][0]["webhooks"] = [
                {
                    "id": "crm-sync",
                    "url": rx.url,
                    "events": ["chat.created", "chat.assigned", "chat.message", "chat.ended"],
                    "secret": SECRET,
                }
            ]

        srv = server_factory(mutate)
        alice = Agent(srv.base_url, "alice")
        alice.ready()
        customer = Customer(srv.base_url)
        chat_id = customer.start()
        alice.accept(alice.wait_offer(chat_id)["offer_id"])
        customer.say("hello from the customer")
        # chat.created was answered 500 first, then delivered on the retry after the backoff (1 s).
        created = wait_for(lambda: rx.events("chat.created"), 15)
        assert created[0]["data"]["chat"]["id"] == chat_id
        assert created[0]["type"] == "chat.created" and created[0]["tenant"] == "example.com"
        messages = wait_for(lambda: rx.events("chat.message"))
        assert any(m["data"]["event"].get("text") == "hello from the customer" for m in messages)
        assert wait_for(lambda: rx.events("chat.assigned"))[0]["data"]["event"]["party"]["login"] == "alice"
        for r in rx.received:
            assert verify(SECRET, r["headers"]["x-frontdesk-signature"], r["body"])
            assert not verify("wrong", r["headers"]["x-frontdesk-signature"], r["body"])
        attempts = [r for r in rx.received if r["headers"]["x-frontdesk-event"] == "chat.created"]
        assert [r["status"] for r in attempts] == [500, 200]
        assert (
            attempts[0]["headers"]["x-frontdesk-delivery"] == attempts[1]["headers"]["x-frontdesk-delivery"]
        )

        sam = Agent(srv.base_url, "sam")
        log = wait_for(
            lambda: [
                d
                for d in sam.get("/api/v1/admin/webhooks/crm-sync/deliveries")["items"]
                if d["event"] == "chat.created" and d["status"] == "delivered"
            ]
        )
        one = sam.get(f"/api/v1/admin/webhook-deliveries/{log[0]['id']}")
        assert one["attempts"] == 2 and [a["status_code"] for a in one["attempt_log"]] == [500, 200]
        assert one["payload"]["data"]["chat"]["id"] == chat_id
        hook = sam.get("/api/v1/admin/webhooks/crm-sync")
        assert hook["secret"] == "***" and hook["managed"] == "config"


def test_outbox_survives_a_crash(server_factory: Any) -> None:
    """Rows are committed with their events: a delivery pending at a SIGKILL is sent after restart."""
    with Receiver(statuses=[503] * 1) as rx:
        hook = {"id": "h1", "url": rx.url, "events": ["chat.created"], "secret": SECRET}
        srv = server_factory(lambda cfg: cfg["tenants"][0].__setitem__("webhooks", [hook]))
        chat_id = Customer(srv.base_url).start()
        wait_for(lambda: rx.received)  # the first attempt failed (503); the retry is due in 1 s
        srv.kill()
        srv.start()
        created = wait_for(
            lambda: [e for e in rx.events("chat.created") if e["data"]["chat"]["id"] == chat_id], 15
        )
        assert created
