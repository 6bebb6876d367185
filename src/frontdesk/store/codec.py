"""Row <-> object conversion shared by every store implementation."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import msgspec

from frontdesk.domain.events import Event, PartyRef
from frontdesk.domain.model import AgentRuntime, Chat, FileRecord, SurveyRecord

_NOT_SNAPSHOT = {"events", "dedupe", "committed_seq"}
_CHAT_FIELDS = [f.name for f in fields(Chat) if f.name not in _NOT_SNAPSHOT]
_AGENT_FIELDS = [f.name for f in fields(AgentRuntime) if f.name not in {"sockets"}]

_encoder = msgspec.json.Encoder()


def encode(value: Any) -> str:
    return _encoder.encode(value).decode()


def chat_snapshot(chat: Chat) -> str:
    return encode({name: getattr(chat, name) for name in _CHAT_FIELDS})


def chat_from_snapshot(text: str | bytes) -> Chat:
    return msgspec.json.decode(text, type=Chat)


def agent_snapshot(agent: AgentRuntime) -> str:
    return encode({name: getattr(agent, name) for name in _AGENT_FIELDS})


def agent_from_snapshot(text: str | bytes) -> AgentRuntime:
    return msgspec.json.decode(text, type=AgentRuntime)


def event_row(chat_id: str, event: Event, dedupe_key: str | None) -> tuple[Any, ...]:
    return (
        chat_id,
        event.seq,
        event.kind,
        event.at,
        encode(event.by) if event.by else None,
        encode({"d": event.data, "c": event.client_msg_id}),
        dedupe_key,
    )


def event_from_row(seq: int, kind: str, at: float, author: str | None, data: str) -> Event:
    by = msgspec.json.decode(author, type=PartyRef) if author else None
    body = msgspec.json.decode(data)
    return Event(seq=seq, kind=kind, at=at, by=by, data=body["d"], client_msg_id=body.get("c"))


def file_from_row(row: tuple[Any, ...]) -> FileRecord:
    return FileRecord(*row)


def survey_from_row(text: str) -> SurveyRecord:
    return msgspec.json.decode(text, type=SurveyRecord)
