"""What agent-sim prints: the human log or the JSON lines of spec/native.md §10.2.5.

Tests and benchmarks parse the JSON lines while the simulator runs, so every line is written
whole and flushed at once; the progress line goes to stderr in JSON mode so stdout stays pure
JSON.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
from collections import deque
from datetime import UTC, datetime
from typing import Any, Final, TextIO

ACTIONS: Final = frozenset(
    {
        "login",
        "ready",
        "offer",
        "accept",
        "reject",
        "revoked",
        "greeting",
        "typing_on",
        "typing_off",
        "reply",
        "farewell",
        "end",
        "ended",
        "wrapup",
        "reconnect",
        "logout",
        "error",
    }
)

JSON_KEYS: Final = ("at", "agent", "action", "chat_id", "chat_number", "offer_id", "seq", "text", "detail")


def now_rfc3339() -> str:
    """RFC 3339 UTC with milliseconds and `Z`, the time format of the whole API (§0.1)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def json_line(
    agent: str,
    action: str,
    *,
    at: str | None = None,
    chat_id: str | None = None,
    chat_number: int | None = None,
    offer_id: str | None = None,
    seq: int | None = None,
    text: str | None = None,
    detail: str | None = None,
) -> str:
    """One §10.2.5 object; every key is always present so consumers need no defaults."""
    if action not in ACTIONS:
        raise ValueError(f"unknown agent-sim action {action!r}")
    obj: dict[str, Any] = {
        "at": at or now_rfc3339(),
        "agent": agent,
        "action": action,
        "chat_id": chat_id,
        "chat_number": chat_number,
        "offer_id": offer_id,
        "seq": seq,
        "text": text,
        "detail": detail,
    }
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def human_line(
    agent: str,
    action: str,
    *,
    at: str,
    chat_id: str | None = None,
    chat_number: int | None = None,
    offer_id: str | None = None,
    seq: int | None = None,
    text: str | None = None,
    detail: str | None = None,
) -> str:
    """A compact line for people watching a demo; ids are shortened, texts quoted."""
    parts = [at[11:23], f"{agent:<12}", f"{action:<10}"]
    if chat_number is not None:
        parts.append(f"chat #{chat_number}")
    elif chat_id is not None:
        parts.append(f"chat {chat_id[:8]}")
    if offer_id is not None:
        parts.append(f"offer {offer_id[:8]}")
    if seq is not None:
        parts.append(f"seq {seq}")
    if text is not None:
        parts.append(json.dumps(text, ensure_ascii=False))
    if detail:
        parts.append(f"({detail})")
    return " ".join(parts)


class Output:
    """Serialises the lines of every agent onto one stream."""

    def __init__(self, stream: TextIO | None = None, *, as_json: bool = False) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._json = as_json

    @property
    def is_json(self) -> bool:
        return self._json

    def emit(
        self,
        agent: str,
        action: str,
        *,
        chat_id: str | None = None,
        chat_number: int | None = None,
        offer_id: str | None = None,
        seq: int | None = None,
        text: str | None = None,
        detail: str | None = None,
    ) -> None:
        at = now_rfc3339()
        if self._json:
            line = json_line(
                agent,
                action,
                at=at,
                chat_id=chat_id,
                chat_number=chat_number,
                offer_id=offer_id,
                seq=seq,
                text=text,
                detail=detail,
            )
        else:
            line = human_line(
                agent,
                action,
                at=at,
                chat_id=chat_id,
                chat_number=chat_number,
                offer_id=offer_id,
                seq=seq,
                text=text,
                detail=detail,
            )
        self._write(self._stream, line)

    def status(self, line: str) -> None:
        """Progress and fatal messages; kept off stdout in JSON mode so it stays parseable."""
        self._write(sys.stderr if self._json else self._stream, line)

    @staticmethod
    def _write(stream: TextIO, line: str) -> None:
        try:
            stream.write(line + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError):
            # A closed pipe (`agent-sim | head`) must not kill the agents mid-chat.
            pass


class SimStats:
    """Counters shared by all agents, read by the progress line and the `--chats` stop rule."""

    def __init__(self, chats_target: int | None = None, latency_samples: int = 100_000) -> None:
        self.chats_ended = 0
        self.messages_sent = 0
        self._latencies: deque[float] = deque(maxlen=latency_samples)
        self._target = chats_target
        self.target_reached = asyncio.Event()

    def chat_ended(self) -> None:
        self.chats_ended += 1
        if self._target is not None and self.chats_ended >= self._target:
            self.target_reached.set()

    def message_sent(self, latency: float | None = None) -> None:
        self.messages_sent += 1
        if latency is not None:
            self._latencies.append(latency)

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile over the most recent samples (bounded memory for long runs)."""
        if not self._latencies:
            return None
        ordered = sorted(self._latencies)
        rank = max(1, math.ceil(p / 100.0 * len(ordered)))
        return ordered[rank - 1]


def progress_line(ready: int, agents: int, open_chats: int, stats: SimStats) -> str:
    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v * 1000:.0f}ms"

    return (
        f"{now_rfc3339()} progress: agents ready {ready}/{agents}, open chats {open_chats}, "
        f"chats handled {stats.chats_ended}, messages sent {stats.messages_sent}, "
        f"reply latency p50 {ms(stats.percentile(50))} p99 {ms(stats.percentile(99))}"
    )
