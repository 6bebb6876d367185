"""What one held HTTP request costs in memory on the transport Frontdesk uses, before any Frontdesk code.

Serves a bare Starlette app on uvicorn (uvloop, httptools) whose one route sleeps, holds N requests
on it from aiohttp, and prints the server's RSS growth per held request. It bounds the 10,000 idle
long polls target of benchmarks/pingpong.py from below: whatever Frontdesk keeps per chat comes on
top of this.

    .venv/bin/python benchmarks/held_requests.py            # 10,000 requests, ~30 s
    .venv/bin/python benchmarks/held_requests.py --serve PORT  (internal: the server process)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import proc_rss_bytes, raise_nofile
from pingpong import free_port, stop_server, wait_healthy

HOLD_S = 60.0


def serve(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def hold(request: Request) -> Response:
        await asyncio.sleep(HOLD_S)
        return PlainTextResponse("held")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/hold", hold), Route("/healthz", healthz)])
    uvicorn.run(
        app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning", backlog=4096
    )


async def hold_requests(url: str, pid: int, count: int, settle_s: float) -> dict[str, float]:
    before = proc_rss_bytes(pid)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:

        async def one() -> None:
            async with http.get(url + "/hold") as resp:
                await resp.read()

        started = time.monotonic()
        tasks: list[asyncio.Future[None]] = []
        while len(tasks) < count:  # open connections at a pace the listen backlog takes
            tasks += [asyncio.ensure_future(one()) for _ in range(min(500, count - len(tasks)))]
            await asyncio.sleep(0.1)
        await asyncio.sleep(settle_s)
        peak = proc_rss_bytes(pid)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "held": count,
        "rss_before_mb": before / 2**20,
        "rss_held_mb": peak / 2**20,
        "kb_per_request": (peak - before) / 1024 / count,
        "seconds": time.monotonic() - started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument(
        "--settle", type=float, default=20.0, help="seconds to open and hold before measuring"
    )
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    raise_nofile()
    port = free_port()
    log = Path("/tmp") / f"held-requests-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        result = asyncio.run(hold_requests(url, proc.pid, args.requests, args.settle))
    finally:
        stop_server(proc)
    print(json.dumps(result, indent=2))
    print(
        f"bare Starlette + uvicorn: {result['held']} held requests cost "
        f"{result['rss_held_mb'] - result['rss_before_mb']:.0f} MB ({result['kb_per_request']:.1f} KB each)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
