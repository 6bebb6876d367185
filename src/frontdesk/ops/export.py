"""Bulk transcript export (`frontdesk export --since --until --out DIR`): every chat created in the
range, as ``<number>-<chat id>.json`` (the native transcript: chat detail and events) and ``.html``
(the same readable page the native API serves), one folder per tenant."""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import msgspec

from frontdesk.engine.engine import Engine
from frontdesk.faces.native import views
from frontdesk.faces.native.content import render_html, transcript_events
from frontdesk.faces.native.schemas import Transcript

PAGE = 200


async def export(
    engine: Engine, since: float, until: float, out: pathlib.Path, progress: Callable[[int], None]
) -> tuple[int, int]:
    """Write every chat created in ``[since, until)``; returns (chats written, total found)."""
    total = await engine.store.count_chats_between(since, until)
    written = 0
    after = ""
    encoder = msgspec.json.Encoder()
    while True:
        page = await engine.store.chats_between(since, until, after, PAGE)
        if not page:
            break
        for chat in page:
            after = chat.id
            tenant = engine.tenant(chat.tenant_id)
            if tenant is None:
                progress(1)
                continue
            chat.events = await engine.store.read_events(chat.id, 0, 10_000_000)
            events = transcript_events(chat.events)
            detail = views.detail(tenant, chat, "")
            folder = out / tenant.id
            folder.mkdir(parents=True, exist_ok=True)
            stem = f"{chat.number:08d}-{chat.id}"
            body = encoder.encode(Transcript(chat=detail, events=[e.to_json() for e in events]))
            (folder / f"{stem}.json").write_bytes(body)
            (folder / f"{stem}.html").write_text(render_html(detail, events), encoding="utf-8")
            written += 1
            progress(1)
    return written, total
