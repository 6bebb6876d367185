"""Row <-> object conversion shared by every store implementation."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import msgspec

from frontdesk.domain.events import Event, PartyRef
from frontdesk.domain.model import AgentRuntime, Chat, FileRecord, SurveyRecord
from frontdesk.store.protocol import DeliveryAttempt, OutboxRow

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


# Row builders: parameter tuples in the column order of the statements in ``sql``, one place for
# both stores so that a new column cannot reach one store and miss the other.


def chat_row(chat: Chat) -> tuple[Any, ...]:
    return (
        chat.id,
        chat.tenant_id,
        chat.number,
        chat.state,
        chat.identity,
        chat.created_at,
        chat.ended_at,
        chat.last_seq,
        chat_snapshot(chat),
    )


def agent_row(agent: AgentRuntime) -> tuple[Any, ...]:
    return (agent.tenant_id, agent.login, agent_snapshot(agent))


def file_row(f: FileRecord) -> tuple[Any, ...]:
    return (f.id, f.tenant_id, f.owner, f.chat_id, f.name, f.content_type, f.size, f.created_at, f.path)


def survey_row(s: SurveyRecord) -> tuple[Any, ...]:
    return (s.id, s.tenant_id, s.chat_id, s.submitted_at, encode(s))


def outbox_row(r: OutboxRow) -> tuple[Any, ...]:
    return (
        r.id,
        r.tenant_id,
        r.webhook_id,
        r.event,
        r.payload,
        r.created_at,
        r.chat_id,
        r.attempts,
        r.next_at,
        r.status,
        r.last_status,
        r.last_error,
        r.delivered_at,
    )


def attempt_row(a: DeliveryAttempt) -> tuple[Any, ...]:
    return (a.delivery_id, a.attempt, a.at, a.status_code, a.error, a.duration_ms)


def file_from_row(row: tuple[Any, ...]) -> FileRecord:
    return FileRecord(*row)


def survey_from_row(text: str) -> SurveyRecord:
    return msgspec.json.decode(text, type=SurveyRecord)
