"""Canonical events → RightNow system messages (native.md §4.3, spec §10.2).

The face never invents state: every message is one event of the chat's log; events the end user
must not see (own lines, agents-only kinds, notes) render to nothing.
"""

from __future__ import annotations

from typing import Any

from frontdesk.domain import events as ev
from frontdesk.domain.model import Chat
from frontdesk.faces.rightnow.render import system_message

Values = dict[str, str | int | None]
_AGENT_KINDS = ("agent", "bot")
_ROLES = {"lead": "LEAD", "conferee": "CONFEREE"}


def client_id_of(chat: Chat, party_id: str | None) -> int:
    """Participant number in the tenant (the RightNow ClientID); 0 for the system."""
    if party_id is None:
        return 0
    if party_id == chat.customer.party_id:
        return chat.customer.party_number
    for p in chat.participants:
        if p.id == party_id:
            return p.number
    return 0


def _wait(data: dict[str, Any]) -> Values:
    return {
        "Position": int(data.get("position") or 1),
        "ExpectedWaitTimeSeconds": int(data.get("ewt_seconds") or 0),
        "AverageWaitTimeSeconds": int(data.get("average_wait_seconds") or 0),
    }


def _concluded(chat: Chat, event: ev.Event) -> Values:
    reason = event.data.get("reason")
    by = event.by
    if reason == "agent":
        return {
            "Reason": "AGENT_CONCLUDED",
            "Role": "LEAD",
            "ClientID": client_id_of(chat, by.id if by else None),
        }
    if reason == "customer":
        return {"Reason": "END_USER_CONCLUDED", "Role": "END_USER", "ClientID": chat.customer.party_number}
    if reason == "queue_timeout":
        return {"Reason": "QUEUE_TIMEOUT", "Role": "SYSTEM", "ClientID": 0}
    return {"Reason": "SYSTEM_CONCLUDED", "Role": "SYSTEM", "ClientID": 0}


def _left(chat: Chat, event: ev.Event, transfer_target: str | None) -> Values | None:
    data = event.data
    reason = data.get("reason")
    if reason == "left":
        disconnect = "PARTICIPANT_LEFT"
    elif reason in ("logged_out", "removed") or (reason == "transferred" and transfer_target == "queue"):
        disconnect = "TRANSFERRED_TO_QUEUE"
    else:
        return None  # chat_ended, or a transfer to another agent (native.md §4.3)
    party = data.get("party") or {}
    return {
        "Name": str(party.get("display_name") or ""),
        "ClientID": client_id_of(chat, party.get("id")),
        "Role": _ROLES.get(str(data.get("role")), "LEAD"),
        "DisconnectReason": disconnect,
    }


def render_event(chat: Chat, event: ev.Event, greeting: bool, transfer_target: str | None) -> str | None:
    """The message for one event, or None when the end user sees nothing of it.

    ``transfer_target`` is the ``to.type`` of the latest ``transferred`` event before this one,
    which decides how a lead agent's departure reads.
    """
    kind, data, by = event.kind, event.data, event.by
    name: str
    values: Values
    if kind == ev.STATUS:
        if data.get("state") != "queued":
            return None
        name, values = "RNChatWaitInformationChangedMessage", _wait(data)
    elif kind == ev.QUEUE_UPDATE:
        name, values = "RNChatWaitInformationChangedMessage", _wait(data)
    elif kind == ev.PARTY_JOINED:
        party = data.get("party") or {}
        if party.get("kind") not in _AGENT_KINDS:
            return None
        name = "RNChatParticipantAddedMessage"
        values = {
            "Name": str(party.get("display_name") or ""),
            "Greeting": str(data["greeting"]) if greeting and data.get("greeting") else None,
            "ClientID": int(party.get("number") or client_id_of(chat, party.get("id"))),
            "Role": _ROLES.get(str(party.get("role")), "LEAD"),
        }
    elif kind == ev.PARTY_LEFT:
        left = _left(chat, event, transfer_target)
        if left is None:
            return None
        name, values = "RNChatParticipantLeftMessage", left
    elif kind == ev.MESSAGE:
        if by is None or by.kind not in _AGENT_KINDS or data.get("visibility", "all") != "all":
            return None
        name = "RNChatMessagePostedMessage"
        values = {"Body": str(data.get("text") or ""), "ClientID": client_id_of(chat, by.id)}
    elif kind == ev.TYPING:
        if by is None or by.kind not in _AGENT_KINDS:
            return None
        name = "RNChatActivityChangedMessage"
        values = {
            "ClientID": client_id_of(chat, by.id),
            "Mode": "RESPONDING" if data.get("typing") else "LISTENING",
        }
    elif kind == ev.ENDED:
        name, values = "RNChatConcludedMessage", _concluded(chat, event)
    else:
        return None
    return system_message(name, event.at, values)
