"""`frontdesk` command line: serve, check-config, hash-password, migrate, rotate-token-key, agent-sim."""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from frontdesk.config import ConfigError, check_config_cli, load_config

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Frontdesk contact-center chat server")

ConfigOpt = Annotated[
    str | None, typer.Option("--config", help="configuration file (default: built-in demo)")
]


def _load(config: str | None, **overrides: object) -> object:
    try:
        return load_config(config, overrides={k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        for issue in exc.issues:
            typer.echo(issue.line(), err=True)
        raise typer.Exit(2 if getattr(exc, "unreadable", False) else 1) from exc


@app.command()
def serve(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int | None, typer.Option("--port")] = None,
    data_dir: Annotated[str | None, typer.Option("--data-dir")] = None,
) -> None:
    """Validate the configuration, migrate the store, apply the tenants and serve."""
    import uvicorn

    from frontdesk.app import build_app
    from frontdesk.config import Config
    from frontdesk.logs import configure_logging
    from frontdesk.runtime import tune_collector

    cfg = _load(config, host=host, port=port, data_dir=data_dir)
    assert isinstance(cfg, Config)
    configure_logging(cfg.server.log.level, cfg.server.log.format)
    log = logging.getLogger("frontdesk")
    for warning in cfg.warnings:
        log.warning("%s", warning.line())
    if any(t.demo for t in cfg.tenants):
        log.warning("demo credentials are active; do not expose this server")
    tune_collector()
    application = build_app(cfg)
    from frontdesk.serving.protocol import protocol_for

    tls = cfg.server.tls
    uvicorn.run(
        application,
        host=cfg.server.host,
        port=cfg.server.port,
        loop="uvloop",
        http=protocol_for(application.state.lane),
        ws="websockets-sansio",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=cfg.server.shutdown_grace_seconds,
        ssl_certfile=tls.cert_file if tls.cert_file else None,
        ssl_keyfile=tls.key_file if tls.key_file else None,
    )


@app.command("check-config")
def check_config(
    file: Annotated[str, typer.Argument(help="configuration file")],
    print_: Annotated[bool, typer.Option("--print", help="print the normalised configuration")] = False,
) -> None:
    """Print every problem of a configuration file (exit 0 clean, 1 errors, 2 unreadable)."""
    raise typer.Exit(check_config_cli(file, print_))


@app.command("hash-password")
def hash_password(stdin: Annotated[bool, typer.Option("--stdin")] = False) -> None:
    """Print the argon2id hash of a password for `password_hash`."""
    from argon2 import PasswordHasher

    if stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            typer.echo("error: the passwords differ", err=True)
            raise typer.Exit(1)
    if not password:
        typer.echo("error: empty password", err=True)
        raise typer.Exit(1)
    typer.echo(PasswordHasher().hash(password))


@app.command()
def migrate(config: ConfigOpt = None) -> None:
    """Apply store migrations for the configured store, then exit."""
    from frontdesk.config import Config
    from frontdesk.store import migrate as migrations

    cfg = _load(config)
    assert isinstance(cfg, Config)
    url = cfg.server.store.url or f"sqlite:///{Path(cfg.server.data_dir) / 'frontdesk.db'}"
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        migrations.upgrade(url)  # PostgreSQL URLs go through asyncpg, like the server itself
    except RuntimeError as exc:  # an unreachable server: the message says which and what to do
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo("migrations applied")


@app.command("rotate-token-key")
def rotate_token_key(
    tenant: Annotated[str, typer.Option("--tenant")],
    config: ConfigOpt = None,
) -> None:
    """Add a new native token signing key for a tenant."""
    from frontdesk.config import Config
    from frontdesk.engine.engine import Engine

    cfg = _load(config)
    assert isinstance(cfg, Config)

    async def run() -> int:
        engine = Engine(cfg)
        await engine.store.start()
        await engine.auth.start()
        if engine.tenant(tenant) is None:
            typer.echo(f"error: unknown tenant {tenant}", err=True)
            await engine.store.close()
            return 1
        n = await engine.auth.rotate(tenant)
        await engine.store.close()
        typer.echo(f"tenant {tenant}: signing key {n} added")
        return 0

    raise typer.Exit(asyncio.run(run()))


@app.command("import-crm")
def import_crm(
    record_type: Annotated[str, typer.Argument(metavar="TYPE", help="contacts, leads, accounts, ...")],
    file: Annotated[str, typer.Argument(metavar="FILE.csv", help="CSV file; header = field names")],
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="tenant id (default: the default tenant)")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Load CRM records from a CSV file: all rows or none; every bad row is reported."""
    from frontdesk.config import Config
    from frontdesk.crm.cli import run_import

    cfg = _load(config)
    assert isinstance(cfg, Config)
    raise typer.Exit(asyncio.run(run_import(cfg, record_type, file, tenant, typer.echo)))


@app.command("export")
def export_transcripts(
    since: Annotated[str, typer.Option("--since", help="RFC 3339 time or YYYY-MM-DD (inclusive)")],
    until: Annotated[str, typer.Option("--until", help="RFC 3339 time or YYYY-MM-DD (exclusive)")],
    out: Annotated[Path, typer.Option("--out", help="output directory")],
    config: ConfigOpt = None,
) -> None:
    """Export every chat created in a time range as JSON and HTML transcripts."""
    from frontdesk.config import Config
    from frontdesk.domain.clock import parse_rfc3339
    from frontdesk.engine.engine import Engine
    from frontdesk.ops.export import export

    def when(text: str, name: str) -> float:
        try:
            return parse_rfc3339(text if "T" in text else text + "T00:00:00Z")
        except ValueError:
            typer.echo(f"error: {name} must be an RFC 3339 time or a date, got {text!r}", err=True)
            raise typer.Exit(2) from None

    start, end = when(since, "--since"), when(until, "--until")
    cfg = _load(config)
    assert isinstance(cfg, Config)

    async def run() -> tuple[int, int]:
        engine = Engine(cfg)
        await engine.store.start()
        try:
            total = await engine.store.count_chats_between(start, end)
            with typer.progressbar(length=total, label="Exporting chats", file=sys.stderr) as bar:
                return await export(engine, start, end, out, bar.update)
        finally:
            await engine.store.close()

    written, total = asyncio.run(run())
    typer.echo(f"exported {written} of {total} chats to {out}")


def _register_plugins() -> None:
    from frontdesk.agentsim.command import register

    register(app)


def main() -> None:
    _register_plugins()
    app()


if __name__ == "__main__":
    main()
