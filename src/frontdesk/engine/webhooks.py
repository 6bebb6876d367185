"""Webhook outbox rows, written in the same write intent as the events that cause them.

``Core.commit`` calls ``enqueue`` with each transaction before it goes to the store: for every event
a tenant's enabled webhook subscribes to, one ``OutboxRow`` joins the intent, so the delivery is
durable exactly when the event is (a crash can never leave an event without its delivery, nor a
delivery without its event). The delivery worker (``frontdesk.ops.webhooks``) sends the rows.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from frontdesk.domain.clock import rfc3339
from frontdesk.domain.events import Event
from frontdesk.domain.model import Chat, SurveyRecord
from frontdesk.store.protocol import OutboxRow

if TYPE_CHECKING:
    from frontdesk.engine.core import Core, Tx

EVENT_TYPES = (
    "chat.created",
    "chat.assigned",
    "chat.message",
    "chat.ended",
    "survey.submitted",
    "crm.activity",
)
_encoder = msgspec.json.Encoder()


def event_type(event: Event) -> str | None:
    """The webhook event type of a canonical chat event, or None when none subscribes to it."""
    if event.kind == "created":
        return "chat.created"
    if event.kind == "party_joined":
        party = event.data.get("party") or {}
        return "chat.assigned" if party.get("kind") == "agent" else None
    if event.kind == "message":
        return None if event.data.get("off_record") else "chat.message"
    if event.kind == "ended":
        return "chat.ended"
    if event.kind == "crm_linked":
        return "crm.activity"
    return None


def chat_summary(chat: Chat) -> dict[str, Any]:
    return {
        "id": chat.id,
        "number": chat.number,
        "state": chat.state,
        "face": chat.face,
        "entry_point": chat.entry_point,
        "queue": chat.queue,
        "created_at": rfc3339(chat.created_at),
        "ended_at": rfc3339(chat.ended_at) if chat.ended_at else None,
        "end_reason": chat.end_reason,
    }


def payload(delivery_id: str, kind: str, tenant_id: str, at: float, data: dict[str, Any]) -> str:
    body = {"id": delivery_id, "type": kind, "tenant": tenant_id, "created_at": rfc3339(at), "data": data}
    return _encoder.encode(body).decode()


class WebhookOutbox:
    """The commit hook; ``on_enqueued`` (the delivery worker's wake-up) runs after each commit with rows."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.on_enqueued: Callable[[], None] | None = None

    def _hooks(self, tenant_id: str, kind: str) -> list[str]:
        tenant = self.core.registry.tenant(tenant_id)
        if tenant is None:
            return []
        return [w.id for w in tenant.config.webhooks if w.enabled and kind in w.events]

    def _add(
        self, tx: Tx, tenant_id: str, kind: str, chat_id: str | None, data: Callable[[], dict[str, Any]]
    ) -> int:
        """Queue one delivery per subscribed webhook; ``data`` is built only when one is."""
        hooks = self._hooks(tenant_id, kind)
        if not hooks:
            return 0
        now = time.time()
        body_data = data()
        for hook_id in hooks:
            delivery_id = str(uuid.uuid4())
            body = payload(delivery_id, kind, tenant_id, now, body_data)
            tx.intent.outbox.append(
                OutboxRow(delivery_id, tenant_id, hook_id, kind, body, now, chat_id, 0, now)
            )
        return len(hooks)

    def enqueue(self, tx: Tx) -> None:
        if not tx.intent.events and not tx.intent.surveys:
            return
        added = 0
        for chat_id, event, _ in tx.intent.events:
            kind = event_type(event)
            chat = self.core.chats.get(chat_id)
            if kind is None or chat is None:
                continue
            added += self._add(
                tx,
                chat.tenant_id,
                kind,
                chat.id,
                functools.partial(_event_data, chat, event),
            )
        for survey in tx.intent.surveys:
            added += self._add(
                tx, survey.tenant_id, "survey.submitted", survey.chat_id, functools.partial(_survey, survey)
            )
        if added and self.on_enqueued is not None:
            tx.after.append(self.on_enqueued)


def _event_data(chat: Chat, event: Event) -> dict[str, Any]:
    return {"chat": chat_summary(chat), "event": event.to_json()}


def _survey(record: SurveyRecord) -> dict[str, Any]:
    return {
        "survey": {
            "id": record.id,
            "chat_id": record.chat_id,
            "source": record.source,
            "survey": record.survey,
            "answers": record.answers,
            "entry_point": record.entry_point,
            "queue": record.queue,
            "submitted_at": rfc3339(record.submitted_at),
        }
    }
