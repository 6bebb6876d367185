"""Canonical events -> Fusion system messages (fusion-chat.md §6.1, native.md §4.3).

Rendering is a pure function of the chat and the event, plus ``sequenceNumber`` which the poller
assigns at delivery. The face invents no state: every message comes from one event of the log.
"""

from __future__ import annotations

from typing import Any

from frontdesk.domain import events as ev
from frontdesk.domain.clock import rfc3339
from frontdesk.domain.model import Chat
from frontdesk.engine.engine import Engine

_END_REASONS = {
    "agent": "AGENT_CONCLUDED",
    "customer": "END_USER_CONCLUDED",
    "queue_timeout": "QUEUE_TIMEOUT",
}
DEFAULT_GREETING = "Hi, my name is {name}. How may I help you?"


def _id(name: str, value: int) -> dict[str, Any]:
    return {name: value, name + "String": str(value)}


def party_number(chat: Chat, party_id: str | None) -> int:
    if party_id is None:
        return 0
    if party_id == chat.customer.party_id:
        return chat.customer.party_number
    for p in chat.participants:
        if p.id == party_id:
            return p.number
    return 0


def _wait(data: dict[str, Any]) -> dict[str, Any]:
    pos = int(data.get("position") or 1)
    ewt = int(data.get("ewt_seconds") or 0)
    avg = int(data.get("average_wait_seconds") or 0)
    return {
        "messageName": "RNEngagementWaitInformationChangedMessage",
        **_id("position", pos),
        **_id("expectedWaitTimeSeconds", ewt),
        **_id("averageWaitTimeSeconds", avg),
    }


def _transfer_to_queue(engine: Engine, chat: Chat, seq: int) -> bool:
    """Did the ``transferred`` event just before this party_left go to a queue?"""
    start = max(0, seq - 6)
    for e in reversed(engine.read_events(chat, start, 6, up_to=seq - 1)):
        if e.kind == ev.TRANSFERRED:
            return bool((e.data.get("to") or {}).get("type") == "queue")
    return False


def _concluded(chat: Chat, event: ev.Event) -> dict[str, Any]:
    reason = _END_REASONS.get(str(event.data.get("reason")), "SYSTEM_CONCLUDED")
    if reason == "AGENT_CONCLUDED":
        role, who = "LEAD", party_number(chat, event.by.id if event.by else None)
    elif reason == "END_USER_CONCLUDED":
        role, who = "END_USER", chat.customer.party_number
    else:
        role, who = "SYSTEM", 0
    return {
        "messageName": "RNEngagementConcludedMessage",
        "reason": reason,
        "role": role,
        **_id("clientId", who),
    }


def message(engine: Engine, chat: Chat, event: ev.Event, sneak: tuple[bool, int]) -> dict[str, Any] | None:
    """The message body without the common trailer, or None when the event is not rendered."""
    kind, data, by = event.kind, event.data, event.by
    if kind == ev.STATUS:
        return _wait(data) if data.get("state") == "queued" else None
    if kind == ev.QUEUE_UPDATE:
        return _wait(data)
    if kind == ev.PARTY_JOINED:
        party = data.get("party") or {}
        if party.get("kind") not in ("agent", "bot"):
            return None
        name = str(party.get("display_name") or "")
        role = "CONFEREE" if party.get("role") == "conferee" else "LEAD"
        return {
            "messageName": "RNEngagementParticipantAddedMessage",
            "name": name,
            "greeting": data.get("greeting") or DEFAULT_GREETING.format(name=name),
            **_id("clientId", int(party.get("number") or party_number(chat, party.get("id")))),
            "role": role,
        }
    if kind == ev.PARTY_LEFT:
        reason = str(data.get("reason"))
        left_role = data.get("role")
        party = data.get("party") or {}
        if reason == "left" and left_role == "conferee":
            why = "PARTICIPANT_LEFT"
        elif reason == "transferred" and _transfer_to_queue(engine, chat, event.seq):
            why = "TRANSFERRED_TO_QUEUE"
        elif reason in ("logged_out", "removed") and left_role == "lead":
            why = "TRANSFERRED_TO_QUEUE"
        else:
            return None
        return {
            "messageName": "RNEngagementParticipantLeftMessage",
            "name": str(party.get("display_name") or ""),
            **_id("clientId", party_number(chat, party.get("id"))),
            "role": "CONFEREE" if left_role == "conferee" else "LEAD",
            "disconnectReason": why,
        }
    if kind == ev.MESSAGE:
        if by is None or by.kind not in ("agent", "bot") or data.get("visibility") != "all":
            return None
        return {
            "messageName": "RNEngagementMessagePostedMessage",
            "body": str(data.get("text") or ""),
            **_id("clientId", party_number(chat, by.id)),
        }
    if kind == ev.TYPING:
        if by is None or by.kind not in ("agent", "bot"):
            return None
        enabled, interval = sneak
        return {
            "messageName": "RNEngagementActivityChangedMessage",
            **_id("clientId", party_number(chat, by.id)),
            "mode": "RESPONDING" if data.get("typing") else "LISTENING",
            **_id("engagementId", chat.number),
            "sneakPreviewState": "ENABLED" if enabled else "DISABLED",
            **_id("sneakPreviewInterval", interval if enabled else 0),
            "sneakPreview": "",
            "sneakPreviewFocus": False,
        }
    if kind == ev.ENDED:
        return _concluded(chat, event)
    return None


def finish(body: dict[str, Any], event: ev.Event, sequence: int) -> dict[str, Any]:
    body["createdTime"] = rfc3339(event.at)
    body.update(_id("sequenceNumber", sequence))
    return body
