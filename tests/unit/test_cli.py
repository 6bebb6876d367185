"""The command line as a user runs it: real subprocesses of `python -m frontdesk`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from argon2 import PasswordHasher

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "frontdesk", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


def test_hash_password_stdin_prints_a_verifiable_argon2id_hash() -> None:
    result = run("hash-password", "--stdin", stdin="s3cret\n")
    assert result.returncode == 0
    line = result.stdout.strip()
    assert line.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PasswordHasher().verify(line, "s3cret")


def test_hash_password_refuses_an_empty_password() -> None:
    assert run("hash-password", "--stdin", stdin="\n").returncode == 1


def test_check_config_on_the_demo_only_warns() -> None:
    result = run("check-config", str(ROOT / "examples" / "demo.yaml"))
    assert result.returncode == 0
    assert result.stdout.strip().splitlines() == [
        "warning: tenants[0](example.com).demo: demo credentials are active; do not expose this server"
    ]


def test_check_config_prints_every_error_with_its_path(tmp_path: Path) -> None:
    text = (ROOT / "examples" / "demo.yaml").read_text()
    text = text.replace("long_poll_hold_seconds: 10", "long_poll_hold_seconds: 30")
    text = text.replace("rona_seconds: 30", "rona_seconds: fast")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = run("check-config", str(bad))
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    assert any("faces.servicepattern.long_poll_hold_seconds" in line and "30" in line for line in lines)
    assert any("timers.rona_seconds" in line for line in lines)


def test_check_config_unreadable_file_exits_2(tmp_path: Path) -> None:
    assert run("check-config", str(tmp_path / "missing.yaml")).returncode == 2


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "frontdesk", "migrate"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"FRONTDESK_DATA_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "frontdesk.db").exists()
