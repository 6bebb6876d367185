"""Retention purges, deletion of one customer's data, and the bulk transcript export (issue 10 §3)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from faces.native_client import Agent, Customer, close_all


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    close_all()


def chat_with(base: str, email: str, text: str) -> str:
    customer = Customer(base)
    chat_id = customer.start({"parameters": {"email": email, "first_name": "Pat"}})
    customer.say(text)
    return chat_id


def test_delete_one_customer(server_factory: Any) -> None:
    srv = server_factory()
    sam = Agent(srv.base_url, "sam")
    gone = chat_with(srv.base_url, "pat@example.org", "please forget me")
    kept = chat_with(srv.base_url, "lee@example.org", "keep me")
    Agent(srv.base_url, "sam").call("POST", f"/api/v1/supervisor/chats/{gone}/end", {})
    r = sam.call("DELETE", "/api/v1/admin/customers?email=PAT@example.org")
    assert r.status_code == 200, r.text
    assert r.json() == {"email": "PAT@example.org", "deleted_chats": 1, "deleted_files": 0}
    assert sam.call("GET", f"/api/v1/chats/{gone}").json()["code"] == "chat_not_found"
    assert sam.get(f"/api/v1/chats/{kept}")["id"] == kept
    assert sam.call("DELETE", "/api/v1/admin/customers").status_code == 400
    srv.stop()
    with sqlite3.connect(srv.data_dir / "frontdesk.db") as db:
        assert db.execute("SELECT COUNT(*) FROM events WHERE chat_id=?", (gone,)).fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM events WHERE chat_id=?", (kept,)).fetchone()[0] > 0


def test_retention_purges_old_ended_chats_and_export(server_factory: Any, tmp_path: Path) -> None:
    srv = server_factory()
    started = time.time()  # the export's day is the one the chats began in, even across midnight
    sam = Agent(srv.base_url, "sam")
    old = chat_with(srv.base_url, "old@example.org", "an old chat <b>escaped</b>")
    recent = chat_with(srv.base_url, "new@example.org", "a recent chat")
    for chat_id in (old, recent):
        sam.call("POST", f"/api/v1/supervisor/chats/{chat_id}/end", {})
    srv.stop()
    # Bulk export of today's chats, from the CLI, before retention removes one of them.
    out = tmp_path / "export"
    day = time.strftime("%Y-%m-%d", time.gmtime(started))
    until = time.strftime("%Y-%m-%d", time.gmtime(started + 2 * 86400))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "frontdesk",
            "export",
            "--config",
            str(srv.config_path),
            "--since",
            day,
            "--until",
            until,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"FRONTDESK_DATA_DIR": str(srv.data_dir), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    assert "exported 2 of 2 chats" in run.stdout
    files = sorted((out / "example.com").iterdir())
    assert len(files) == 4
    transcript = json.loads(next(f for f in files if old in f.name and f.suffix == ".json").read_text())
    assert any(e.get("text") == "an old chat <b>escaped</b>" for e in transcript["events"])
    page = next(f for f in files if old in f.name and f.suffix == ".html").read_text()
    assert "&lt;b&gt;escaped&lt;/b&gt;" in page and "<b>escaped" not in page
    # Age one chat by three days, switch retention on, restart: the pass at start purges it.
    with sqlite3.connect(srv.data_dir / "frontdesk.db") as db:
        db.execute("UPDATE chats SET ended_at=ended_at-3*86400 WHERE id=?", (old,))
    cfg = yaml.safe_load(srv.config_path.read_text())
    cfg["tenants"][0]["retention"] = {"chats_days": 1, "files_days": 0}
    srv.config_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    srv.start()
    sam = Agent(srv.base_url, "sam")
    deadline = time.monotonic() + 10
    while sam.call("GET", f"/api/v1/chats/{old}").status_code != 404 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sam.call("GET", f"/api/v1/chats/{old}").json()["code"] == "chat_not_found"
    assert sam.get(f"/api/v1/chats/{recent}")["id"] == recent
