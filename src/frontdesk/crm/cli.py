"""The ``import-crm`` command's work: open the store, validate the file against the tenant's
records, write all rows in one transaction or nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

from frontdesk.config import Config
from frontdesk.crm.csvimport import collection_of, import_csv
from frontdesk.crm.data import CrmData
from frontdesk.crm.service import CrmService, hash_password
from frontdesk.engine.tenants import Registry
from frontdesk.store.protocol import WriteIntent


async def run_import(
    cfg: Config, record_type: str, file: str, tenant_id: str | None, echo: Callable[..., None]
) -> int:
    from frontdesk.engine.engine import build_store

    collection = collection_of(record_type)
    if collection is None:
        echo(f"error: unknown record type {record_type!r}", err=True)
        return 2
    registry = Registry(cfg)
    tid = tenant_id or cfg.server.default_tenant or next(iter(registry.tenants), "")
    if registry.tenant(tid) is None:
        echo(f"error: unknown tenant {tid!r}", err=True)
        return 2
    try:
        text = Path(file).read_text(encoding="utf-8")  # noqa: ASYNC240 - a CLI, nothing else runs
    except (OSError, UnicodeDecodeError) as exc:
        echo(f"error: cannot read {file}: {exc}", err=True)
        return 2
    store = build_store(cfg)
    await store.start()
    try:
        service = CrmService(store, registry)
        await service.start()  # seeds an empty CRM store first, as the server would
        current = service.data(tid)
        work: CrmData = copy.deepcopy(current)
        work.dirty = {}
        count, problems = import_csv(work, collection, text, hash_password)
        if problems:
            for p in problems:
                echo(f"{file}: {p.text()}", err=True)
            echo(f"error: {len(problems)} problem(s); nothing was imported", err=True)
            return 1
        intent = WriteIntent()
        _, puts, deletes = work.drain()
        intent.crm_put.extend(puts)
        intent.crm_delete.extend(deletes)
        if intent:
            await store.write(intent)
        echo(f"imported {count} {collection} into tenant {tid}")
        return 0
    finally:
        await store.close()
