"""Administration (native.md §8): objects, routing switch, reload without dropping chats, config."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from faces.native_client import Agent, Customer, close_all


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    close_all()


def test_objects_crud_and_redaction(server_factory: Any) -> None:
    srv = server_factory()
    sam = Agent(srv.base_url, "sam")
    queues = sam.get("/api/v1/admin/queues")
    assert [q["name"] for q in queues["items"]][:2] == ["support", "sales"]
    assert all(q["managed"] == "config" for q in queues["items"])
    new = {"name": "vip", "number": 9, "display_name": "VIP", "skills": ["support"]}
    r = sam.call("POST", "/api/v1/admin/queues", new)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/api/v1/admin/queues/vip"
    assert r.json()["managed"] == "api" and r.json()["priority"] == 0
    assert sam.call("POST", "/api/v1/admin/queues", new).json()["code"] == "already_exists"
    bad = sam.call("PATCH", "/api/v1/admin/queues/vip", {"priority": "high"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "/priority"
    assert sam.call("PATCH", "/api/v1/admin/queues/vip", {"priority": 5}).json()["priority"] == 5
    assert sam.call("GET", "/api/v1/admin/queues/nope").json()["code"] == "queue_not_found"
    # A user created with a clear password can sign in; hashes are never shown.
    user = {
        "login": "dana",
        "roles": ["agent"],
        "password": "correct horse",
        "profile": {"display_name": "Dana", "screen_name": "Dana"},
        "skills": ["support"],
    }
    created = sam.call("POST", "/api/v1/admin/users", user)
    assert created.status_code == 201, created.text
    assert "password_hash" not in created.json() and "password" not in created.json()
    dana = Agent(srv.base_url, "dana", "correct horse")
    assert dana.get("/api/v1/me")["user"]["login"] == "dana"
    assert sam.call("PATCH", "/api/v1/admin/users/dana", {"disabled": True}).status_code == 200
    assert dana.call("GET", "/api/v1/me").status_code == 401
    assert "password_hash" not in sam.get("/api/v1/admin/users/alice")
    # Entry points, canned responses, webhooks.
    ep = sam.get("/api/v1/admin/entry-points/servicepattern/test")
    assert ep["queue"] == "support" and "queue_ids" not in ep
    canned = {"id": "bye", "title": "Bye", "text": "Goodbye!"}
    assert sam.call("POST", "/api/v1/admin/canned-responses", canned).status_code == 201
    assert sam.call("DELETE", "/api/v1/admin/canned-responses/bye").status_code == 204
    hook = {"id": "h", "url": "https://hooks.example/x", "events": ["chat.ended"], "secret": "topsecret"}
    assert sam.call("POST", "/api/v1/admin/webhooks", hook).json()["secret"] == "***"
    config = sam.get("/api/v1/admin/config")
    assert config["config_version"] >= 1
    assert "topsecret" not in str(config) and "$argon2" not in str(config)
    # API objects survive a restart.
    srv.stop()
    srv.start()
    sam = Agent(srv.base_url, "sam")
    assert sam.get("/api/v1/admin/queues/vip")["managed"] == "api"
    # Agents need the admin role.
    assert Agent(srv.base_url, "alice").call("GET", "/api/v1/admin/queues").status_code == 403


def test_routing_switch_and_reload_keep_chats(server_factory: Any) -> None:
    srv = server_factory()
    sam = Agent(srv.base_url, "sam")
    alice = Agent(srv.base_url, "alice")
    alice.ready()
    assert sam.call("PUT", "/api/v1/admin/routing", {"paused": True}).json() == {"paused": True}
    customer = Customer(srv.base_url)
    chat_id = customer.start()
    assert alice.offers() == []
    sam.call("PUT", "/api/v1/admin/routing", {"paused": False})
    alice.accept(alice.wait_offer(chat_id)["offer_id"])
    customer.say("before reload")
    # Change the file: a new queue, a changed priority, a server key.
    cfg = yaml.safe_load(srv.config_path.read_text())
    cfg["tenants"][0]["queues"][1]["priority"] = 7
    cfg["tenants"][0]["queues"].append(
        {"name": "returns", "number": 5, "display_name": "Returns", "skills": ["support"]}
    )
    cfg["server"]["limits"]["message_max_chars"] = 5000
    srv.config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    result = sam.post("/api/v1/admin/reload")
    assert result["applied"] is True
    paths = {c["path"]: c["change"] for c in result["changes"]}
    assert paths["tenants[0].queues[1].priority"] == "changed"
    assert paths["tenants[0].queues[4]"] == "added"
    assert result["requires_restart"] == ["server.limits.message_max_chars"]
    assert sam.get("/api/v1/admin/queues/returns")["managed"] == "config"
    # The live chat kept working across the reload.
    customer.say("after reload")
    alice.say(chat_id, "still here")
    texts = [e.get("text") for e in alice.events(chat_id) if e["kind"] == "message"]
    assert texts[-3:] == ["before reload", "after reload", "still here"]
    # An invalid file is refused with every error, nothing applied.
    cfg["tenants"][0]["queues"][0]["priority"] = "top"
    srv.config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    r = sam.call("POST", "/api/v1/admin/reload")
    assert r.status_code == 422 and r.json()["code"] == "config_invalid"
    assert "queues[0]" in r.json()["errors"][0]["path"]
    assert httpx.get(srv.base_url + "/readyz").status_code == 200
