"""Newest poll wins, for the faces whose clients long-poll a chat (ServicePattern, RightNow, Fusion).

Each poll publishes a token on the chat's poll topic for its face, then parks on the chat and that
topic; a held poll that hears another poll's token ends at once with an empty answer, so a client
that re-polls (a reload, a second tab) never has two polls racing for the same events.
"""

from __future__ import annotations

import itertools
import os

from frontdesk.domain.model import Chat
from frontdesk.engine.engine import Engine
from frontdesk.engine.notifier import Waiter, chat_topic

_tokens = itertools.count(1)
_node = os.urandom(4).hex()


def claim(engine: Engine, chat: Chat, face: str) -> tuple[str, Waiter]:
    """This poll's token, announced to the face's other polls of the chat, and the waiter to park
    on (registered before the caller reads, design section 3). The caller closes the waiter."""
    topic = f"{face}-poll:{chat.id}"
    mine = f"p:{_node}:{next(_tokens)}"
    engine.notifier.publish(chat_topic(topic), mine)
    return mine, engine.waiter(chat.id, topic)


def superseded(w: Waiter, mine: str) -> bool:
    """Whether another poll of the same face started since ``w``'s last look."""
    return any(p.startswith("p:") and p != mine for p in w.take())
