"""Reading a request body under a size limit, the same way for every face and the forwarder, and
handing a body already read on to the app.

The declared Content-Length is checked before anything is read, and the stream is cut as soon as it
passes the limit, so an oversized body is never buffered whole; each caller answers "too large" in
its own wire format.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Message, Receive


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The whole body, or None when it is larger than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def replay(first: Message, receive: Receive) -> Receive:
    """``receive`` with a message already taken from it (a whole body, a WebSocket connect) put back
    in front."""
    pending: list[Message] = [first]

    async def replayed() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replayed
