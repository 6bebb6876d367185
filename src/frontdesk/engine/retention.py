"""Removing data: retention purges (config ``tenants[].retention``) and one customer's data on request.

A purge deletes chats with their events, files, surveys and webhook deliveries in one store
transaction, drops them from memory (queue indexes, agents' chat and wrap-up lists, timers) and
then removes file bytes from disk. Live chats are ended first (reason ``customer``) so that every
face and agent sees a normal end before the chat disappears.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from frontdesk.domain.model import Chat, FileRecord
from frontdesk.engine import lifecycle
from frontdesk.engine.core import Core, Tx
from frontdesk.engine.files import FileService
from frontdesk.store.protocol import Purge

log = logging.getLogger("frontdesk.retention")
DAY = 86400.0
BATCH = 200


@dataclass(slots=True)
class PurgeResult:
    chats: int = 0
    files: int = 0

    def add(self, other: PurgeResult) -> None:
        self.chats += other.chats
        self.files += other.files


def _forget(core: Core, tx: Tx, chat: Chat) -> None:
    """Drop a chat from every in-memory index and from its agents' lists."""
    for w in chat.wrapups:
        core.timers.cancel(f"wrap:{chat.id}:{w.login}")
    for key in ("inact", "qto", "abandon", "form", "evict", "compact"):
        core.timers.cancel(f"{key}:{chat.id}")
    core.compacted.discard(chat.id)
    logins = {p.login for p in chat.participants if p.login} | {w.login for w in chat.wrapups}
    for login in logins:
        agent = core.agents.get((chat.tenant_id, login))
        if agent is None:
            continue
        changed = False
        for ids in (agent.chats, agent.wrapups):
            if chat.id in ids:
                ids.remove(chat.id)
                changed = True
        if changed:
            core.touch_agent(tx, agent)
            core.notify_agent(tx, agent, "chat_removed", {"chat_id": chat.id, "reason": "deleted"})
    core.chats.pop(chat.id, None)
    core.customer_seen.pop(chat.id, None)
    if chat.identity is not None and core.identities.get((chat.tenant_id, chat.identity)) == chat.id:
        core.identities.pop((chat.tenant_id, chat.identity), None)


async def end_live(core: Core, chat: Chat) -> None:
    tenant = core.registry.tenant(chat.tenant_id)
    if tenant is None or chat.state == "ended":
        return
    tx = Tx()
    lifecycle.end_chat(core, tx, tenant, chat, "customer", None, agents_leave=True)
    await core.commit(tx)


async def purge_chats(core: Core, files: FileService, chat_ids: list[str]) -> PurgeResult:
    """Delete the chats (ended first when live) with everything that belongs to them."""
    result = PurgeResult()
    for start in range(0, len(chat_ids), BATCH):
        batch = chat_ids[start : start + BATCH]
        for chat_id in batch:
            chat = core.chats.get(chat_id)
            if chat is not None and chat.state != "ended":
                await end_live(core, chat)
        records = await core.store.chat_files(batch)
        tx = Tx()
        for chat_id in batch:
            chat = core.chats.get(chat_id)
            if chat is not None:
                _forget(core, tx, chat)
        tx.intent.purges.append(Purge(chat_ids=list(batch)))
        await core.commit(tx)
        _unlink(files, records)
        result.chats += len(batch)
        result.files += len(records)
    return result


async def purge_files(core: Core, files: FileService, records: list[FileRecord]) -> int:
    if not records:
        return 0
    tx = Tx()
    tx.intent.purges.append(Purge(file_ids=[r.id for r in records]))
    await core.commit(tx)
    _unlink(files, records)
    return len(records)


def _unlink(files: FileService, records: list[FileRecord]) -> None:
    for record in records:
        try:
            files.open_path(record).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not delete file %s: %s", record.id, exc)


async def apply_retention(core: Core, files: FileService, now: float | None = None) -> PurgeResult:
    """One retention pass over every tenant with a retention setting."""
    now = time.time() if now is None else now
    total = PurgeResult()
    for tenant in list(core.registry.tenants.values()):
        retention = tenant.config.retention
        if retention.chats_days > 0:
            before = now - retention.chats_days * DAY
            while ids := await core.store.ended_chats_before(tenant.id, before, BATCH):
                total.add(await purge_chats(core, files, ids))
        if retention.files_days > 0:
            before = now - retention.files_days * DAY
            while records := await core.store.files_before(tenant.id, before, BATCH):
                total.files += await purge_files(core, files, records)
    if total.chats or total.files:
        log.info("retention purged %d chats and %d files", total.chats, total.files)
    return total


async def delete_customer(core: Core, files: FileService, tenant_id: str, email: str) -> PurgeResult:
    """Every chat of the tenant whose customer gave this e-mail address, and everything in them."""
    ids = await core.store.customer_chats(tenant_id, email)
    in_memory = [
        c.id
        for c in list(core.chats.values())
        if c.tenant_id == tenant_id and (c.customer.email or "").lower() == email.lower()
    ]
    ids = list(dict.fromkeys(ids + in_memory))
    return await purge_chats(core, files, ids)
