"""Engine state objects.

These are plain dataclasses: the engine mutates them synchronously (one asyncio thread, so each
mutation is atomic) and the store persists a snapshot of the chat with the events that changed it,
in one transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from frontdesk.domain.clock import rfc3339
from frontdesk.domain.events import Event, PartyRef

LIVE_STATES = frozenset({"queued", "offered", "connected"})


@dataclass(slots=True)
class Customer:
    party_id: str
    party_number: int
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    external_ids: dict[str, str] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        return self.name or "Customer"

    def ref(self) -> PartyRef:
        return PartyRef(self.party_id, "customer", None, self.display_name)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Party:
    id: str
    number: int
    kind: str  # customer | agent | bot | system
    role: str | None
    login: str | None
    display_name: str
    first_name: str
    last_name: str
    screen_name: str
    has_photo: bool
    joined_at: float
    left_at: float | None = None
    # The seq of the party_left that ended this participation: what an agent who left may still read.
    left_seq: int | None = None

    def ref(self) -> PartyRef:
        return PartyRef(self.id, self.kind, self.login, self.display_name)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("left_seq", None)
        out["joined_at"] = rfc3339(self.joined_at)
        out["left_at"] = rfc3339(self.left_at)
        return out


@dataclass(slots=True)
class Offer:
    id: str
    chat_id: str
    tenant_id: str
    login: str
    reason: str  # queue | transfer | conference
    offered_at: float
    expires_at: float
    queue: str
    from_agent: PartyRef | None = None
    note: str | None = None


@dataclass(slots=True)
class Wrapup:
    login: str
    party_id: str
    due_at: float | None
    done: bool = False


@dataclass(slots=True)
class Chat:
    """A chat and everything the engine needs to decide about it."""

    id: str
    tenant_id: str
    number: int
    face: str
    entry_point: str
    entry_point_name: str
    queue: str
    priority: int
    skills: list[str]
    state: str  # queued | offered | connected | ended
    customer: Customer
    subject: str | None
    pre_chat: dict[str, Any]
    created_at: float
    first_queued_at: float
    queued_at: float
    identity: str | None = None
    connected_at: float | None = None
    ended_at: float | None = None
    end_reason: str | None = None
    was_connected: bool = False
    last_seq: int = 0
    participants: list[Party] = field(default_factory=list)
    offer: Offer | None = None
    rejected_by: list[str] = field(default_factory=list)
    wrapups: list[Wrapup] = field(default_factory=list)
    read_seq: dict[str, int] = field(default_factory=dict)
    last_customer_content_at: float | None = None
    inactivity_warned: bool = False
    last_queue_update_at: float = 0.0
    last_position: int | None = None
    survey_pending: dict[str, Any] | None = None
    transfer_from: PartyRef | None = None
    transfer_note: str | None = None
    face_state: dict[str, Any] = field(default_factory=dict)
    # Not persisted in the snapshot: rebuilt from the event log at start.
    events: list[Event] = field(default_factory=list, repr=False)
    dedupe: dict[str, int] = field(default_factory=dict, repr=False)
    committed_seq: int = 0

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    def present_agents(self) -> list[Party]:
        return [p for p in self.participants if p.kind == "agent" and p.left_at is None]

    def lead(self) -> Party | None:
        for p in self.participants:
            if p.kind == "agent" and p.left_at is None and p.role == "lead":
                return p
        return None

    def party_of(self, login: str) -> Party | None:
        for p in self.participants:
            if p.kind == "agent" and p.login == login and p.left_at is None:
                return p
        return None

    def ever_party(self, login: str) -> list[Party]:
        return [p for p in self.participants if p.kind == "agent" and p.login == login]

    def pending_wrapup(self, login: str) -> Wrapup | None:
        for w in self.wrapups:
            if w.login == login and not w.done:
                return w
        return None


@dataclass(slots=True)
class AgentRuntime:
    """Routing state of one agent user."""

    tenant_id: str
    login: str
    state: str = "logged_out"
    reason: str | None = None
    since: float = 0.0
    idle_since: float = 0.0
    last_seen: float = 0.0
    sockets: int = 0
    chats: list[str] = field(default_factory=list)
    wrapups: list[str] = field(default_factory=list)
    offers: list[str] = field(default_factory=list)
    token_version: int = 0


@dataclass(slots=True)
class FileRecord:
    id: str
    tenant_id: str
    owner: str  # identity key of the uploader (customer identity or "agent:<login>")
    chat_id: str | None
    name: str
    content_type: str
    size: int
    created_at: float
    path: str


@dataclass(slots=True)
class SurveyRecord:
    id: str
    tenant_id: str
    chat_id: str | None
    source: str
    survey: str | None
    answers: list[dict[str, str]]
    submitted_at: float
    entry_point: str | None = None
    queue: str | None = None
