"""The canonical event vocabulary (native.md section 4).

An event is one row of a chat's log. Its kind-specific fields live in ``data`` so that every face
renders from the same record; the native API shows ``data`` flat beside the envelope.
"""

from __future__ import annotations

from typing import Any

import msgspec

from frontdesk.domain.clock import rfc3339

CREATED = "created"
STATUS = "status"
QUEUE_UPDATE = "queue_update"
PARTY_JOINED = "party_joined"
PARTY_LEFT = "party_left"
PARTY_UPDATED = "party_updated"
MESSAGE = "message"
FILE = "file"
TYPING = "typing"
RECEIPT = "receipt"
ACTIVITY = "activity"
SIGNALING = "signaling"
TRANSFERRED = "transferred"
TRANSFER_FAILED = "transfer_failed"
FORM = "form"
FORM_RESPONSE = "form_response"
SURVEY = "survey"
TIMEOUT_WARNING = "timeout_warning"
ENDED = "ended"
WRAPUP = "wrapup"
CRM_LINKED = "crm_linked"

KINDS = frozenset(
    {
        CREATED,
        STATUS,
        QUEUE_UPDATE,
        PARTY_JOINED,
        PARTY_LEFT,
        PARTY_UPDATED,
        MESSAGE,
        FILE,
        TYPING,
        RECEIPT,
        ACTIVITY,
        SIGNALING,
        TRANSFERRED,
        TRANSFER_FAILED,
        FORM,
        FORM_RESPONSE,
        SURVEY,
        TIMEOUT_WARNING,
        ENDED,
        WRAPUP,
        CRM_LINKED,
    }
)
EPHEMERAL = frozenset({TYPING, SIGNALING})
AGENTS_ONLY = frozenset({TRANSFER_FAILED, WRAPUP, CRM_LINKED, PARTY_UPDATED})
AFTER_END = frozenset({SURVEY, WRAPUP, CRM_LINKED, FORM_RESPONSE})
# Content events restart the customer inactivity clock (config.md 3.16).
CUSTOMER_CONTENT = frozenset({MESSAGE, FILE, ACTIVITY, FORM_RESPONSE})


# Events and their authors live as long as their chat and are the bulk of a busy server's heap. They
# never refer back to anything that refers to them, so they are msgspec structs kept out of the
# cyclic garbage collector (``gc=False``): its collections no longer walk every stored event.


class PartyRef(msgspec.Struct, gc=False):
    id: str
    kind: str  # customer | agent | bot | system
    login: str | None
    display_name: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "login": self.login, "display_name": self.display_name}


class Event(msgspec.Struct, gc=False):
    seq: int
    kind: str
    at: float
    by: PartyRef | None
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    client_msg_id: str | None = None

    @property
    def ephemeral(self) -> bool:
        return self.kind in EPHEMERAL

    def to_json(self) -> dict[str, Any]:
        """The native wire form: envelope plus the kind's fields, flat."""
        out: dict[str, Any] = {
            "seq": self.seq,
            "kind": self.kind,
            "at": rfc3339(self.at),
            "by": self.by.to_json() if self.by else None,
        }
        out.update(self.data)
        return out
