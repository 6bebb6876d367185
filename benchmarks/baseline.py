"""The ping-pong baseline: the simplest durable long-poll chat server, and no more.

One Starlette app on uvicorn (uvloop, httptools). `POST` inserts one message row into SQLite (WAL,
synchronous=NORMAL) and commits before answering; `GET ?since=N` long-polls on an asyncio.Event.
No batching, no auth, no threads.

Protocol (both sides of a chat use it, so each round trip costs the same two durable writes and two
deliveries as a Frontdesk round trip):

* `POST /chats/{chat_id}/messages` body `{"from": "customer"|"agent", "text": str}` → 200
  `{"id": int}` after the commit. A message from the customer goes to the agent and vice versa.
* `GET /chats/{chat_id}/messages?to=customer|agent&since=N&wait=S` → 200
  `{"messages": [{"id": int, "from": str, "text": str}, ...]}`: the messages to `to` with
  `id > since`, at once if there are any, else as soon as one is committed or after `wait` seconds
  (default 10) with an empty list.
* `GET /healthz` → 200 `{"status": "ok"}`.

Run: `python benchmarks/baseline.py --port 8199 --db /tmp/baseline.db`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PEER = {"customer": "agent", "agent": "customer"}
MAX_WAIT = 30.0


class Store:
    """One SQLite connection, used from the event loop only."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS messages ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " chat_id TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL, text TEXT NOT NULL)"
        )
        self.db.execute("CREATE INDEX IF NOT EXISTS messages_poll ON messages (chat_id, recipient, id)")
        self.db.commit()
        self.events: dict[tuple[str, str], asyncio.Event] = {}

    def insert(self, chat_id: str, sender: str, text: str) -> int:
        recipient = PEER[sender]
        cur = self.db.execute(
            "INSERT INTO messages (chat_id, sender, recipient, text) VALUES (?, ?, ?, ?)",
            (chat_id, sender, recipient, text),
        )
        self.db.commit()
        event = self.events.pop((chat_id, recipient), None)
        if event is not None:
            event.set()
        row_id = cur.lastrowid
        assert row_id is not None
        return row_id

    def read(self, chat_id: str, recipient: str, since: int) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, sender, text FROM messages"
            " WHERE chat_id = ? AND recipient = ? AND id > ? ORDER BY id",
            (chat_id, recipient, since),
        ).fetchall()
        return [{"id": r[0], "from": r[1], "text": r[2]} for r in rows]

    async def poll(self, chat_id: str, recipient: str, since: int, wait: float) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            rows = self.read(chat_id, recipient, since)
            remaining = deadline - loop.time()
            if rows or remaining <= 0:
                return rows
            event = self.events.setdefault((chat_id, recipient), asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), timeout=remaining)
            except TimeoutError:
                return []


def build_app(db_path: str) -> Starlette:
    store_box: list[Store] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store_box.append(Store(db_path))
        try:
            yield
        finally:
            store_box[0].db.close()

    async def post_message(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            sender, text = body["from"], body["text"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "bad body"}, status_code=400)
        if sender not in PEER or not isinstance(text, str):
            return JSONResponse({"error": "bad body"}, status_code=400)
        row_id = store_box[0].insert(request.path_params["chat_id"], sender, text)
        return JSONResponse({"id": row_id})

    async def get_messages(request: Request) -> Response:
        q = request.query_params
        recipient = q.get("to", "")
        try:
            since = int(q.get("since", "0"))
            wait = min(MAX_WAIT, max(0.0, float(q.get("wait", "10"))))
        except ValueError:
            return JSONResponse({"error": "bad query"}, status_code=400)
        if recipient not in PEER:
            return JSONResponse({"error": "bad query"}, status_code=400)
        rows = await store_box[0].poll(request.path_params["chat_id"], recipient, since, wait)
        return JSONResponse({"messages": rows})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/chats/{chat_id}/messages", post_message, methods=["POST"]),
            Route("/chats/{chat_id}/messages", get_messages, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="ping-pong baseline server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8199)
    parser.add_argument("--db", required=True, help="SQLite database file")
    args = parser.parse_args(argv)
    uvicorn.run(
        build_app(args.db),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
