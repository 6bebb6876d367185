"""The store contract: what the engine may ask of any storage implementation.

Writes arrive as ``WriteIntent`` objects: everything one engine decision changed, applied in one
transaction, so an acknowledged message is never half-stored. Implementations may batch several
intents into one commit (group commit) as long as each intent stays all-or-nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from frontdesk.domain.events import Event
from frontdesk.domain.model import AgentRuntime, Chat, FileRecord, SurveyRecord


@dataclass(slots=True)
class WriteIntent:
    chats: list[Chat] = field(default_factory=list)
    events: list[tuple[str, Event, str | None]] = field(default_factory=list)
    agents: list[AgentRuntime] = field(default_factory=list)
    counters: list[tuple[str, str, int]] = field(default_factory=list)
    kv_put: list[tuple[str, str, str, float | None]] = field(default_factory=list)
    kv_delete: list[tuple[str, str]] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)
    surveys: list[SurveyRecord] = field(default_factory=list)

    def save_chat(self, chat: Chat) -> WriteIntent:
        if not any(c is chat for c in self.chats):
            self.chats.append(chat)
        return self

    def add_event(self, chat_id: str, event: Event, dedupe_key: str | None = None) -> WriteIntent:
        self.events.append((chat_id, event, dedupe_key))
        return self

    def save_agent(self, agent: AgentRuntime) -> WriteIntent:
        if not any(a is agent for a in self.agents):
            self.agents.append(agent)
        return self

    def __bool__(self) -> bool:
        return bool(
            self.chats
            or self.events
            or self.agents
            or self.counters
            or self.kv_put
            or self.kv_delete
            or self.files
            or self.surveys
        )


class Store(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def write(self, intent: WriteIntent) -> None:
        """Apply the intent in one transaction; returns only after it committed."""

    async def load_chats(self, *, live_only: bool) -> list[Chat]: ...

    async def load_chat(self, chat_id: str) -> Chat | None: ...

    async def read_events(self, chat_id: str, since: int, limit: int) -> list[Event]: ...

    async def dedupe_keys(self, chat_id: str) -> dict[str, int]: ...

    async def load_agents(self) -> list[AgentRuntime]: ...

    async def load_counters(self) -> dict[tuple[str, str], int]: ...

    async def kv_get(self, namespace: str, key: str) -> str | None: ...

    async def kv_list(self, namespace: str) -> dict[str, str]: ...

    async def get_file(self, file_id: str) -> FileRecord | None: ...

    async def list_surveys(self, tenant_id: str, since: float, until: float) -> list[SurveyRecord]: ...

    async def stats(self) -> dict[str, Any]: ...
