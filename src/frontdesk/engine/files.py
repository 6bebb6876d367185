"""Uploaded files: metadata in the store; bytes on disk under the files directory, and with
``server.files.kind: store`` also in the store, so a node that never saw the upload (another node
of a cluster, or the one that took the engine over) fetches them into its own directory on first use.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from frontdesk.domain import errors
from frontdesk.domain.ids import new_id
from frontdesk.domain.model import FileRecord
from frontdesk.engine.core import Core, Tx


def clean_name(name: str | None) -> str:
    """The part's filename without directories (both separators), else ``file``."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base or "file"


def guess_type(name: str, declared: str | None) -> str:
    if declared and declared.strip() and "/" in declared:
        return declared.split(";")[0].strip().lower()
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def blocked(name: str, content_type: str, blocked_types: list[str]) -> bool:
    lower = name.lower()
    for entry in blocked_types:
        e = entry.lower()
        if e.startswith(".") and lower.endswith(e):
            return True
        if e == content_type:
            return True
    return False


class FileService:
    def __init__(self, core: Core, directory: Path, *, in_store: bool = False) -> None:
        self.core = core
        self.directory = directory
        self.in_store = in_store

    def _path(self, file_id: str) -> Path:
        return self.directory / file_id[:2] / file_id

    async def save(
        self,
        tenant_id: str,
        owner: str,
        name: str | None,
        content_type: str | None,
        chunks: AsyncIterator[bytes],
        max_bytes: int,
        blocked_types: list[str],
        chat_id: str | None = None,
    ) -> FileRecord:
        """Stream to disk; raises PayloadTooLarge as soon as the limit is crossed."""
        fname = clean_name(name)
        ctype = guess_type(fname, content_type)
        if blocked(fname, ctype, blocked_types):
            raise errors.UnsupportedMediaType(f"files of type {ctype} are not accepted")
        file_id = new_id()
        path = self._path(file_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        kept: list[bytes] = []
        try:
            # Chunk writes go to the page cache and are short; only the fsync is worth a thread.
            with open(path, "wb") as out:  # noqa: ASYNC230
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise errors.PayloadTooLarge("Upload size limit exceeded")
                    out.write(chunk)
                    if self.in_store:
                        kept.append(chunk)
                out.flush()
                await asyncio.to_thread(os.fsync, out.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        record = FileRecord(
            id=file_id,
            tenant_id=tenant_id,
            owner=owner,
            chat_id=chat_id,
            name=fname,
            content_type=ctype,
            size=size,
            created_at=time.time(),
            path=str(path.relative_to(self.directory)),
        )
        tx = Tx()
        tx.intent.files.append(record)
        if self.in_store:
            tx.intent.blobs.append((file_id, b"".join(kept)))
        await self.core.commit(tx)
        return record

    async def get(self, file_id: str) -> FileRecord | None:
        return await self.core.store.get_file(file_id.lower())

    def open_path(self, record: FileRecord) -> Path:
        return self.directory / record.path

    async def local_path(self, record: FileRecord) -> Path | None:
        """Where the bytes are on this node (fetched from the store first when they are kept there),
        or None when they are gone."""
        path = self.open_path(record)
        if await asyncio.to_thread(path.is_file):
            return path
        data = await self.core.store.file_bytes(record.id) if self.in_store else None
        if data is None:
            return None
        await asyncio.to_thread(_write_atomically, path, data)
        return path


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers never see half a file: write beside it, then rename over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
