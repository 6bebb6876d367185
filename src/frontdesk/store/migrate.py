"""Apply alembic migrations programmatically (the embedded default migrates itself at start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

_MIGRATIONS = Path(__file__).with_name("migrations")


def _alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(url: str) -> None:
    cfg = _alembic_config(url)
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    engine.dispose()


def is_current(url: str) -> bool:
    cfg = _alembic_config(url)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    return bool(current == head)
