"""Shared fixtures: real servers started as processes on ephemeral loopback ports.

Face tests talk to them over real HTTP. ``server_factory`` starts a server with a modified copy of
the demo configuration (for example shortened timers); ``server`` is one demo server per session.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "frontdesk" / "demo.yaml"
Mutator = Callable[[dict[str, Any]], None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_dict() -> dict[str, Any]:
    return yaml.safe_load(DEMO.read_text())


@dataclass
class ServerProc:
    config_path: Path
    data_dir: Path
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = dict(os.environ)
        env.update(self.extra_env)
        env.pop("FRONTDESK_CONFIG", None)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "frontdesk",
                    "serve",
                    "--config",
                    str(self.config_path),
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=str(self.data_dir.parent),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def make_server(base: Path, mutate: Mutator | None = None) -> ServerProc:
    cfg = demo_dict()
    cfg["server"]["allow_short_timers"] = True
    cfg["server"]["log"]["format"] = "text"
    if mutate is not None:
        mutate(cfg)
    base.mkdir(parents=True, exist_ok=True)
    path = base / "frontdesk.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return ServerProc(config_path=path, data_dir=base / "var", port=free_port(), log_path=base / "server.log")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    """One demo server for the session (demo timers, except where tests need their own server)."""
    srv = make_server(tmp_path_factory.mktemp("demo-server"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProc]]:
    """Start servers with a modified demo configuration; stopped at the end of the test."""
    started: list[ServerProc] = []

    def factory(mutate: Mutator | None = None, name: str = "srv") -> ServerProc:
        srv = make_server(tmp_path / f"{name}{len(started)}", mutate)
        srv.start()
        started.append(srv)
        return srv

    yield factory
    for srv in started:
        srv.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
