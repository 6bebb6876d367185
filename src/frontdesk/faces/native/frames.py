"""WebSocket frames of the agent (native.md §6) and supervisor (§7.3) sockets.

Tagged unions on the field ``type``; decoding and encoding go through msgspec only, so the frame
path stays cheap under load.
"""

from __future__ import annotations

from typing import Any

import msgspec

from frontdesk.faces.native.schemas import AgentState, ChatSummary, Offer, SurveyResult, User
from frontdesk.faces.native.sup_schemas import AgentStats, LiveChat, QueueStats


class _In(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, kw_only=True):
    pass


class _Out(msgspec.Struct, tag_field="type", kw_only=True):
    pass


# -- client frames -----------------------------------------------------------------------------
class Auth(_In, tag="auth"):
    token: str
    cursors: dict[str, int] | None = None


class Resume(_In, tag="resume"):
    cursors: dict[str, int]


class Ping(_In, tag="ping"):
    nonce: str | None = None


class SendFrame(_In, tag="message"):
    id: str
    chat_id: str
    client_msg_id: str
    text: str
    visibility: str = "all"


class TypingFrame(_In, tag="typing"):
    chat_id: str
    typing: bool


AgentClientFrame = Auth | Resume | Ping | SendFrame | TypingFrame
SupervisorClientFrame = Auth | Ping

agent_decoder: msgspec.json.Decoder[AgentClientFrame] = msgspec.json.Decoder(AgentClientFrame)
supervisor_decoder: msgspec.json.Decoder[SupervisorClientFrame] = msgspec.json.Decoder(SupervisorClientFrame)


# -- server frames (agent) ---------------------------------------------------------------------
class Hello(_Out, tag="hello"):
    connection_id: str
    heartbeat_seconds: int
    server_time: str
    user: User
    agent_state: AgentState
    offers: list[Offer]
    chats: list[ChatSummary]


class OfferFrame(_Out, tag="offer"):
    offer: Offer


class OfferRevoked(_Out, tag="offer_revoked"):
    offer_id: str
    chat_id: str
    reason: str


class ChatEvent(_Out, tag="chat_event"):
    chat_id: str
    seq: int
    event: dict[str, Any]


class ChatAssigned(_Out, tag="chat_assigned"):
    chat: ChatSummary


class ChatRemoved(_Out, tag="chat_removed"):
    chat_id: str
    reason: str


class AgentStateFrame(_Out, tag="agent_state"):
    agent_state: AgentState


class QueueUpdate(_Out, tag="queue_update"):
    queue: str
    waiting: int
    oldest_queued_at: str | None
    ewt_seconds: int | None
    ready_agents: int


class Resumed(_Out, tag="resumed"):
    cursors: dict[str, int]


class Ack(_Out, tag="ack"):
    id: str
    chat_id: str
    seq: int


class Nack(_Out, tag="nack"):
    id: str
    code: str
    detail: str


class Pong(_Out, tag="pong"):
    nonce: str | None


class Heartbeat(_Out, tag="heartbeat"):
    at: str


class ErrorFrame(_Out, tag="error"):
    code: str
    detail: str


AgentServerFrame = (
    Hello
    | OfferFrame
    | OfferRevoked
    | ChatEvent
    | ChatAssigned
    | ChatRemoved
    | AgentStateFrame
    | QueueUpdate
    | Resumed
    | Ack
    | Nack
    | Pong
    | Heartbeat
    | ErrorFrame
)


# -- server frames (supervisor) ----------------------------------------------------------------
class SupervisorHello(_Out, tag="hello"):
    heartbeat_seconds: int
    server_time: str


class Snapshot(_Out, tag="snapshot"):
    queues: list[QueueStats]
    agents: list[AgentStats]
    chats: list[LiveChat]


class QueueFrame(_Out, tag="queue"):
    queue: QueueStats


class AgentFrame(_Out, tag="agent"):
    agent: AgentStats


class ChatFrame(_Out, tag="chat"):
    chat: LiveChat


class ChatGone(_Out, tag="chat_gone"):
    chat_id: str


class SurveyFrame(_Out, tag="survey"):
    survey: SurveyResult


SupervisorServerFrame = (
    SupervisorHello
    | Snapshot
    | QueueFrame
    | AgentFrame
    | ChatFrame
    | ChatGone
    | SurveyFrame
    | Heartbeat
    | Pong
    | ErrorFrame
)

encoder = msgspec.json.Encoder()
