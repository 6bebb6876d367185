"""Wire types of the supervisor figures (native.md §7.1)."""

from __future__ import annotations

from frontdesk.faces.native.schemas import EntryPointRef, Out, SurveyResult


class QueueDay(Out):
    entered: int
    answered: int
    answered_within_threshold: int
    abandoned: int
    abandoned_after_threshold: int
    service_level_percent: float | None
    average_wait_seconds: float | None
    average_handle_seconds: float | None


class QueueStats(Out):
    name: str
    display_name: str
    number: int
    open: bool
    paused: bool
    waiting: int
    oldest_queued_at: str | None
    longest_wait_seconds: int
    ewt_seconds: int | None
    agents_logged_in: int
    agents_ready: int
    slots_total: int
    slots_free: int
    active_chats: int
    service_level_seconds: int
    today: QueueDay


class AgentChat(Out):
    chat_id: str
    role: str
    queue: str
    since: str


class AgentDay(Out):
    handled: int
    average_handle_seconds: float | None


class AgentStats(Out):
    login: str
    display_name: str
    roles: list[str]
    state: str
    reason: str | None
    since: str
    present: bool
    load: int
    max_chats: int
    pending_offers: int
    chats: list[AgentChat]
    skills: list[str]
    queues: list[str]
    today: AgentDay


class LiveChat(Out):
    id: str
    number: int
    state: str
    face: str
    entry_point: EntryPointRef
    queue: str
    customer_name: str | None
    agents: list[str]
    queued_at: str
    connected_at: str | None
    waited_seconds: int
    last_activity_at: str


class QueueStatsList(Out):
    items: list[QueueStats]


class AgentStatsList(Out):
    items: list[AgentStats]


class LiveChatPage(Out):
    items: list[LiveChat]
    total: int
    limit: int
    offset: int


class SurveyPage(Out):
    items: list[SurveyResult]
    total: int
    limit: int
    offset: int
