"""BOSH session state of ECE chats (spec/cisco-ece.md 5.5, 5.9, 6.2).

What another node (or this one after a restart) needs to answer the next request lives in
``chat.face_state["ece"]`` and is saved with ``engine.save_face_state``:

* ``rid`` – last rid whose payload was processed (None after ``attachConnection``: any next rid
  becomes the new baseline); ``cache`` – ``[rid, body]`` of the last two answers, replayed
  byte-identically; ``cur`` – last event seq rendered into an answer; ``pend`` – face-local stanzas
  (the reconnect notice) still to send; ``tpl`` – the client's templates; ``wait`` – negotiated hold;
  ``seen``/``lim`` – last sign of the client and the inactivity limit then in force; ``epoch`` –
  bumps on re-attach so dedupe keys built from rids stay unique.

The sid is ``{chat number}_{32 hex}``; the engine keeps only a hash of the token as the chat's
``identity``, so the secret is never stored. Process memory holds locks, rate counters and an LRU of
recently ended chats (answered with the terminate body during the retention window).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from typing import Any

from frontdesk.domain.model import Chat
from frontdesk.engine.engine import Engine
from frontdesk.faces.ece.http import RateLimiter
from frontdesk.faces.ece.render import Renderer

TOKEN_RE = re.compile(r"[0-9a-f]{32}")
HTTPBIND = "http://jabber.org/protocol/httpbind"
EMPTY = f'<body xmlns="{HTTPBIND}"/>'
TERMINATE = f'<body xmlns="{HTTPBIND}" type="terminate"/>'
MAX_STANZAS = 50


def new_token() -> str:
    return secrets.token_hex(16)


def identity_of(token: str) -> str:
    return "ece:" + hashlib.sha256(token.encode()).hexdigest()


def refusal(condition: str, extra: str = "") -> str:
    if extra:
        return f'<body xmlns="{HTTPBIND}" type="terminate" condition="{condition}">{extra}</body>'
    return f'<body xmlns="{HTTPBIND}" type="terminate" condition="{condition}"/>'


def state(chat: Chat) -> dict[str, Any]:
    st = chat.face_state.get("ece")
    if st is None:
        st = chat.face_state["ece"] = {
            "rid": None,
            "cache": [],
            "cur": 0,
            "pend": [],
            "tpl": {},
            "wait": 60,
            "seen": time.time(),
            "lim": 90,
            "epoch": 0,
        }
    return st


def cached(st: dict[str, Any], rid: int) -> str | None:
    for entry in st.get("cache") or []:
        if int(entry[0]) == rid:
            return str(entry[1])
    return None


def remember(st: dict[str, Any], rid: int, body: str) -> None:
    entries = [e for e in (st.get("cache") or []) if int(e[0]) != rid]
    entries.append([rid, body])
    entries.sort(key=lambda e: int(e[0]))
    st["cache"] = entries[-2:]


def wrap(stanzas: list[str]) -> str:
    if not stanzas:
        return EMPTY
    head = f'<body xmlns="{HTTPBIND}" xmlns:ns2="http://bindings.egain.com/chat" xmlns:ns3="jabber:client">'
    return head + "\n" + "\n".join(stanzas) + "\n</body>"


class Sessions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rates = RateLimiter()
        self._recent: OrderedDict[str, str] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._by_address: dict[str, set[tuple[str, str]]] = {}

    def lock(self, chat_id: str) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            if len(self._locks) > 10_000:
                for key in [k for k, v in self._locks.items() if not v.locked()][:5_000]:
                    del self._locks[key]
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock

    def note(self, identity: str, chat_id: str) -> None:
        self._recent[identity] = chat_id
        self._recent.move_to_end(identity)
        while len(self._recent) > 50_000:
            self._recent.popitem(last=False)

    async def find(self, sid: str | None) -> Chat | None:
        """The ECE chat named by ``sid``, live or ended; None for anything else."""
        if not sid:
            return None
        number, _, token = sid.strip().partition("_")
        if not number.isdigit() or not TOKEN_RE.fullmatch(token):
            return None
        identity = identity_of(token)
        chat: Chat | None = None
        for tenant in self.engine.registry.tenants.values():
            chat = self.engine.live_chat(tenant.id, identity)
            if chat is not None:
                break
        if chat is None:
            chat_id = self._recent.get(identity)
            if chat_id is not None:
                chat = await self.engine.get_chat(chat_id)
        if chat is None:
            for tenant in self.engine.registry.tenants.values():
                chat = next((c for c in self.engine.tenant_chats(tenant.id) if c.identity == identity), None)
                if chat is not None:
                    chat = await self.engine.get_chat(chat.id)  # with its whole log (decision 38)
                    break
        if chat is None or chat.face != "ece" or chat.identity is None:
            return None
        if not hmac.compare_digest(chat.identity, identity) or not hmac.compare_digest(
            str(chat.number), number
        ):
            return None
        self.note(identity, chat.id)
        return chat

    # -- open chats per client address (10.4) -------------------------------------------------
    def open_chats(self, address: str) -> int:
        keys = self._by_address.get(address)
        if not keys:
            return 0
        live = {k for k in keys if self.engine.live_chat(k[0], k[1]) is not None}
        self._by_address[address] = live
        return len(live)

    def opened(self, address: str, chat: Chat) -> None:
        if chat.identity is not None:
            self._by_address.setdefault(address, set()).add((chat.tenant_id, chat.identity))

    # -- rendering ---------------------------------------------------------------------------
    def renderer(self, chat: Chat) -> Renderer:
        tenant = self.engine.tenant(chat.tenant_id)
        defaults = tenant.config.faces.ece.templates if tenant is not None else {}
        return Renderer(chat, state(chat).get("tpl") or {}, defaults)

    def collect(self, chat: Chat) -> tuple[list[str], int, int]:
        """(stanzas, new cursor, face-local stanzas used) after the chat's cursor, at most 50."""
        st = state(chat)
        pend: list[str] = list(st.get("pend") or [])
        out = pend[:MAX_STANZAS]
        used = len(out)
        cursor = int(st.get("cur") or 0)
        renderer = self.renderer(chat)
        while len(out) < MAX_STANZAS:
            batch = self.engine.read_events(chat, cursor, 100)
            if not batch:
                break
            for ev in batch:
                stanza = renderer.stanza(ev)
                if stanza is not None:
                    if len(out) >= MAX_STANZAS:
                        return out, cursor, used
                    out.append(stanza)
                cursor = ev.seq
        return out, cursor, used

    def finished(self, chat: Chat) -> bool:
        """Ended and everything the customer should see was sent: only T is left (5.10)."""
        if chat.live:
            return False
        stanzas, _, _ = self.collect(chat)
        return not stanzas

    async def answer(self, chat: Chat, rid: int | None) -> str:
        """Render what is pending into one answer, move the cursor and cache it for replay."""
        st = state(chat)
        stanzas, cursor, used = self.collect(chat)
        st["cur"] = cursor
        st["pend"] = list(st.get("pend") or [])[used:]
        st["seen"] = time.time()
        body = wrap(stanzas)
        if rid is not None:
            remember(st, rid, body)
        self.seen(chat)
        await self.engine.save_face_state(chat)
        return body

    def seen(self, chat: Chat) -> None:
        tenant = self.engine.tenant(chat.tenant_id)
        if tenant is None or not chat.live:
            return
        st = state(chat)
        face = tenant.config.faces.ece
        self.engine.customer_seen(
            chat, float(st.get("lim") or face.bosh_inactivity_seconds) + face.reconnect_window_seconds
        )
