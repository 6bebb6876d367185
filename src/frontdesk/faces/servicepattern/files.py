"""Upload File (§3.8), Get File (§3.9), profile photos and the chat icon (§3.10)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from frontdesk.domain import errors as engine_errors
from frontdesk.domain.model import Chat, FileRecord
from frontdesk.engine.engine import Engine
from frontdesk.faces.servicepattern.auth import Caller
from frontdesk.faces.servicepattern.errors import SpError
from frontdesk.faces.servicepattern.http import json_reply


class _Multipart:
    """A streaming multipart reader: headers of each part, then its data chunk by chunk."""

    def __init__(self, stream: AsyncIterator[bytes], boundary: bytes) -> None:
        self._stream = stream
        self._events: deque[tuple[str, Any]] = deque()
        self._field = bytearray()
        self._value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._done = False
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()

    def _headers_finished(self) -> None:
        self._events.append(("headers", self._headers))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._events.append(("data", bytes(data[start:end])))

    def _part_end(self) -> None:
        self._events.append(("end", None))

    async def _next(self) -> tuple[str, Any] | None:
        while not self._events:
            if self._done:
                return None
            try:
                chunk = await anext(self._stream)
            except StopAsyncIteration:
                self._done = True
                self._parser.finalize()
                continue
            if chunk:
                self._parser.write(chunk)
        return self._events.popleft()

    async def file_part(self) -> tuple[str | None, str | None] | None:
        """Skip to the first part with a filename: (filename, content type), or None."""
        while True:
            event = await self._next()
            if event is None:
                return None
            if event[0] != "headers":
                continue
            headers: dict[bytes, bytes] = event[1]
            _, options = parse_options_header(headers.get(b"content-disposition", b""))
            if b"filename" not in options:
                continue
            name = options[b"filename"].decode("utf-8", "replace")
            ctype = headers.get(b"content-type")
            return name, ctype.decode("latin-1") if ctype else None

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            event = await self._next()
            if event is None or event[0] == "end":
                return
            if event[0] == "data":
                yield event[1]


async def upload(engine: Engine, request: Request, caller: Caller) -> Response:
    mime, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise SpError("5558", 400, "No file in request")
    owner = caller.new_identity()
    reader = _Multipart(aiter(request.stream()), boundary)
    try:
        part = await reader.file_part()
        if part is None:
            raise SpError("5558", 400, "No file in request")
        name, ctype = part
        record = await engine.save_file(caller.tenant, owner, name, ctype, reader.chunks())
    except MultipartParseError:
        raise SpError("5558", 400, "No file in request") from None
    except engine_errors.PayloadTooLarge:
        raise SpError("5501") from None
    except engine_errors.UnsupportedMediaType as exc:
        raise SpError("5558", 400, exc.detail) from None
    except OSError as exc:
        raise SpError("5558", 500, f"Could not store the file: {exc.strerror or exc}") from None
    return json_reply({"file_id": record.id, "file_name": record.name})


def _disposition(name: str) -> str:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name) or "file"
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


async def _file_reply(engine: Engine, record: FileRecord) -> Response:
    path = await engine.file_path(record)
    if path is None:
        raise SpError("5502")
    response = FileResponse(path, media_type=record.content_type, stat_result=None)
    response.headers["content-disposition"] = _disposition(record.name)
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["cache-control"] = "private, max-age=3600"
    return response


async def _chat(engine: Engine, chat_id: str) -> Chat:
    chat = await engine.get_chat(chat_id) if len(chat_id) == 36 else None
    if chat is None or chat.face != "servicepattern":
        raise SpError("5005")
    return chat


async def _record(engine: Engine, file_id: str) -> FileRecord:
    record = await engine.get_file(file_id) if len(file_id) == 36 else None
    if record is None:
        raise SpError("5502")
    return record


async def download(engine: Engine, chat_id: str | None, file_id: str) -> Response:
    """No Authorization or tenantUrl: the ids authorise (§3.9)."""
    if chat_id is None:
        return await _file_reply(engine, await _record(engine, file_id))
    chat = await _chat(engine, chat_id)
    record = await _record(engine, file_id)
    if record.chat_id != chat.id and record.owner != chat.identity and not _referenced(chat, record.id):
        raise SpError("5502")
    return await _file_reply(engine, record)


def _referenced(chat: Chat, file_id: str) -> bool:
    return any(ev.kind == "file" and ev.data.get("file_id") == file_id for ev in chat.events)


def _image(path: str | None) -> Response:
    if not path or not os.path.isfile(path):
        raise SpError("5502")
    response = FileResponse(path)
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["cache-control"] = "private, max-age=3600"
    return response


async def profile_photo(engine: Engine, chat_id: str, party_id: str) -> Response:
    chat = await _chat(engine, chat_id)
    party = next((p for p in chat.participants if p.id.lower() == party_id.lower()), None)
    tenant = engine.tenant(chat.tenant_id)
    if party is None or not party.has_photo or party.login is None or tenant is None:
        raise SpError("5502")
    user = tenant.users.get(party.login)
    return _image(user.profile.photo_file if user is not None else None)


async def chat_icon(engine: Engine, chat_id: str) -> Response:
    chat = await _chat(engine, chat_id)
    tenant = engine.tenant(chat.tenant_id)
    ep = tenant.entry_point("servicepattern", chat.entry_point) if tenant is not None else None
    return _image(ep.icon_file if ep is not None else None)
