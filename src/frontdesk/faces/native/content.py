"""Files, transcripts and photos (native.md §5.5 files, §5.11, §5.12)."""

from __future__ import annotations

import asyncio
import html
import mimetypes
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from frontdesk.domain import errors
from frontdesk.domain.events import Event
from frontdesk.domain.ids import CLIENT_MSG_ID_RE
from frontdesk.domain.model import Chat
from frontdesk.faces.native import schemas as s
from frontdesk.faces.native import views
from frontdesk.faces.native.chats import CHAT, visible_chat
from frontdesk.faces.native.http import NO_STORE, Ctx, endpoint, json_response
from frontdesk.faces.native.table import Param, RouteTable


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while True:
        chunk = await upload.read(64 * 1024)
        if not chunk:
            return
        yield chunk


def transcript_events(events: list[Event]) -> list[Event]:
    return [e for e in events if not e.ephemeral and not (e.kind == "message" and e.data.get("off_record"))]


def _line(e: Event) -> str:
    d = e.data
    kind = e.kind
    if kind in ("message", "file"):
        text = (
            d.get("text") if kind == "message" else f"[file] {d.get('name', '')} ({d.get('size', 0)} bytes)"
        )
        tag = " (agents only)" if d.get("visibility") == "agents" else ""
        return f"{text}{tag}"
    if kind in ("party_joined", "party_left"):
        p = d.get("party") or {}
        return f"{p.get('display_name', '')} {kind.split('_')[1]} ({d.get('reason', '')})"
    if kind == "status":
        return f"status {d.get('state', '')} in {d.get('queue', '')}"
    if kind == "transferred":
        to = d.get("to") or {}
        note = f" — {d['note']}" if d.get("note") else ""
        return f"transferred to {to.get('display_name', '')}{note}"
    if kind == "ended":
        return f"chat ended ({d.get('reason', '')})" + (f": {d['text']}" if d.get("text") else "")
    if kind == "wrapup":
        return f"wrap-up {d.get('disposition', '')}: {d.get('notes', '')}"
    return ", ".join(f"{k}={v}" for k, v in d.items() if not isinstance(v, dict | list)) or kind


def render_html(detail: s.ChatDetail, events: list[Event]) -> str:
    esc = html.escape
    c = detail.customer
    email = f" &lt;{esc(c.email)}&gt;" if c.email else ""
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Chat {detail.number}</title>",
        "<style>body{font-family:sans-serif}td{padding:2px 8px;vertical-align:top}</style></head><body>",
        f"<h1>Chat {detail.number}</h1>",
        "<dl>",
        f"<dt>Customer</dt><dd>{esc(c.name or 'Customer')}{email}</dd>",
        f"<dt>Entry point</dt><dd>{esc(detail.entry_point.name)} ({esc(detail.face)})</dd>",
        f"<dt>Queue</dt><dd>{esc(detail.queue)}</dd>",
        f"<dt>Subject</dt><dd>{esc(detail.subject or '')}</dd>",
        f"<dt>Created</dt><dd>{esc(detail.created_at)}</dd>",
        f"<dt>Ended</dt><dd>{esc(detail.ended_at or '')} {esc(detail.end_reason or '')}</dd>",
        "</dl>",
        "<table>",
    ]
    rows = []
    for e in events:
        who = e.by.display_name if e.by else "system"
        at = views.ts(e.at)
        rows.append(
            f'<tr class="{esc(e.kind)}"><td>{e.seq}</td><td>{esc(at)}</td><td>{esc(who)}</td>'
            f"<td>{esc(e.kind)}</td><td>{esc(_line(e))}</td></tr>"
        )
    return "\n".join([*head, *rows, "</table></body></html>"])


def register(t: RouteTable, ctx: Ctx) -> None:
    engine = ctx.engine

    @t.route("POST", CHAT + "/files", body="multipart", answer=s.SentEvent, status=201, extra_status=(200,))
    @endpoint
    async def upload(request: Request) -> Response:
        """Send a file (multipart part `file`, optional `client_msg_id`)."""
        c = ctx.caller(request)
        chat = await visible_chat(ctx, c, request.path_params["chat_id"])
        ctype = request.headers.get("content-type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            raise errors.UnsupportedMediaType("The upload must be multipart/form-data.")
        limit = c.tenant.config.upload_max_bytes(c.tenant.server)
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit + 64 * 1024:
            raise errors.PayloadTooLarge("The file is larger than the upload limit.")
        if not views.capabilities(c.tenant, chat).files:
            raise errors.NotSupported("This chat's face cannot carry files.")
        if not chat.live:
            raise errors.ChatEnded()
        if chat.party_of(c.login) is None:
            raise errors.NotParticipant()
        async with request.form(max_files=1, max_fields=4, max_part_size=4096) as form:
            part = form.get("file")
            cmid = form.get("client_msg_id")
            if not isinstance(part, UploadFile):
                raise errors.InvalidRequest(
                    "a part `file` with a filename is required", [("file", "required")]
                )
            if cmid is not None and (not isinstance(cmid, str) or not CLIENT_MSG_ID_RE.match(cmid)):
                raise errors.InvalidRequest("bad client_msg_id", [("client_msg_id", "bad format")])
            record = await engine.save_file(
                c.tenant, f"agent:{c.login}", part.filename, part.content_type, _chunks(part), chat.id
            )
        event, created = await engine.agent_file(chat, c.login, record, cmid)
        return json_response(s.SentEvent(seq=event.seq, event=event.to_json()), 201 if created else 200)

    @t.route("GET", CHAT + "/files/{file_id}", answer="binary")
    @endpoint
    async def download(request: Request) -> Response:
        """The bytes of a file that appears in the chat."""
        c = ctx.caller(request)
        chat = await visible_chat(ctx, c, request.path_params["chat_id"])
        file_id = request.path_params["file_id"].lower()
        record = await engine.get_file(file_id) if len(file_id) <= 64 else None
        if record is None or record.tenant_id != c.tenant.id or not _in_chat(chat, file_id, record.chat_id):
            raise errors.FileNotFound("No such file in this chat.")
        path = await engine.file_path(record)
        if path is None:
            raise errors.FileNotFound("The file's content is gone.")
        headers = {**NO_STORE, "X-Content-Type-Options": "nosniff"}
        return FileResponse(path, media_type=record.content_type, filename=record.name, headers=headers)

    @t.route(
        "GET", CHAT + "/transcript", answer=s.Transcript, query=[Param("format", description="json or html")]
    )
    @endpoint
    async def transcript(request: Request) -> Response:
        """The chat's transcript as JSON or as an HTML page (every text escaped)."""
        c = ctx.caller(request)
        chat = await visible_chat(ctx, c, request.path_params["chat_id"])
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "html"):
            raise errors.InvalidRequest("format must be json or html", [("format", "json or html")])
        up_to = engine.readable_up_to(c.principal, chat)
        events = transcript_events(engine.read_events(chat, 0, 1_000_000, up_to=up_to))
        detail = views.detail(c.tenant, chat, c.login)
        if fmt == "html":
            return HTMLResponse(render_html(detail, events), headers=NO_STORE.copy())
        return json_response(s.Transcript(chat=detail, events=[e.to_json() for e in events]))

    @t.route("GET", "/api/v1/users/{login}/photo", answer="binary")
    @endpoint
    async def photo(request: Request) -> Response:
        """A user's profile photo."""
        c = ctx.caller(request)
        user = c.tenant.users.get(request.path_params["login"])
        if user is None or user.disabled:
            raise errors.UserNotFound()
        path = user.profile.photo_file
        if not path or not await asyncio.to_thread(os.path.isfile, path):
            raise errors.FileNotFound("This user has no photo.")
        media = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media, headers={**NO_STORE, "X-Content-Type-Options": "nosniff"})


def _in_chat(chat: Chat, file_id: str, record_chat: Any) -> bool:
    if record_chat == chat.id:
        return True
    return any(e.kind == "file" and e.data.get("file_id") == file_id for e in chat.events)
