"""Apply alembic migrations programmatically (the embedded default migrates itself at start).

SQLite goes through the standard library driver. PostgreSQL goes through SQLAlchemy's async
engine over asyncpg (``connection.run_sync``), so the server needs no second PostgreSQL driver
just to migrate; the sync entry points run the async ones on a private event loop.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, pool
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

_MIGRATIONS = Path(__file__).with_name("migrations")
_PG_SCHEMES = ("postgresql", "postgres")
# Nodes started together with auto_migrate would race to create the same tables; the migration
# runs under this transaction-scoped advisory lock so that one migrates and the others then see head.
_MIGRATE_LOCK = 0x66726F6E7464  # "frontd"
# How to start the server on the Debian hosts this runs on (named by every "unreachable" error).
START_POSTGRES = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def is_postgres(url: str) -> bool:
    return url.partition("://")[0].split("+", 1)[0] in _PG_SCHEMES


def sqlalchemy_url(url: str) -> str:
    """The URL SQLAlchemy understands: any postgres spelling becomes ``postgresql+asyncpg``."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.split("+", 1)[0] in _PG_SCHEMES:
        return f"postgresql+asyncpg://{rest}"
    return url


def redacted(url: str) -> str:
    """The URL fit for an error message or a log line: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is still better shown without its userinfo
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"


def connect_error(url: str, exc: BaseException) -> RuntimeError:
    """A connection failure that names the server and what to do about it, never the password."""
    import asyncpg  # type: ignore[import-untyped]  # only PostgreSQL URLs get here

    where = redacted(url)
    exc = getattr(exc, "orig", None) or exc  # SQLAlchemy's wrapper: the driver's words are clearer
    if isinstance(exc, OSError | asyncpg.CannotConnectNowError):
        return RuntimeError(
            f"PostgreSQL is unreachable at {where} ({exc}); is the server running? "
            f"On a Debian host start it with: {START_POSTGRES}"
        )
    return RuntimeError(f"cannot connect to PostgreSQL at {where}: {exc}")


async def _pg_connect(url: str, engine: AsyncEngine) -> AsyncConnection:
    try:
        return await engine.connect()
    except (OSError, DBAPIError) as exc:
        raise connect_error(url, exc) from exc


def _alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    # ConfigParser interpolation would trip on a %-encoded password.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _head(cfg: AlembicConfig) -> str | None:
    return ScriptDirectory.from_config(cfg).get_current_head()


def _upgrade_on(connection: Connection, cfg: AlembicConfig) -> None:
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


def _revision_on(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_async(url: str) -> None:
    """Migrate a PostgreSQL database to head in one transaction (DDL is transactional there)."""
    target = sqlalchemy_url(url)
    cfg = _alembic_config(target)
    engine = create_async_engine(target, poolclass=pool.NullPool)
    try:
        connection = await _pg_connect(url, engine)
        try:
            async with connection.begin():
                await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATE_LOCK})")
                await connection.run_sync(_upgrade_on, cfg)
        finally:
            await connection.close()
    finally:
        await engine.dispose()


async def is_current_async(url: str) -> bool:
    target = sqlalchemy_url(url)
    head = _head(_alembic_config(target))
    engine = create_async_engine(target, poolclass=pool.NullPool)
    try:
        connection = await _pg_connect(url, engine)
        try:
            current = await connection.run_sync(_revision_on)
        finally:
            await connection.close()
    finally:
        await engine.dispose()
    return current == head


def upgrade(url: str) -> None:
    """Migrate to head; call from sync code (a thread or the CLI), never from inside an event loop."""
    if is_postgres(url):
        asyncio.run(upgrade_async(url))
        return
    cfg = _alembic_config(url)
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.begin() as connection:
        _upgrade_on(connection, cfg)
    engine.dispose()


def is_current(url: str) -> bool:
    """Whether the schema is at head; call from sync code, like ``upgrade``."""
    if is_postgres(url):
        return asyncio.run(is_current_async(url))
    head = _head(_alembic_config(url))
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        current = _revision_on(connection)
    engine.dispose()
    return current == head
