"""The applied configuration, indexed for the lookups every request makes."""

from __future__ import annotations

from dataclasses import dataclass, field

from frontdesk.config import Config, EntryPointConfig, TenantConfig
from frontdesk.config.models import QueueConfig, ServerConfig, UserConfig


@dataclass(slots=True)
class Tenant:
    config: TenantConfig
    server: ServerConfig
    queues: dict[str, QueueConfig] = field(default_factory=dict)
    users: dict[str, UserConfig] = field(default_factory=dict)
    entry_points: dict[tuple[str, str], EntryPointConfig] = field(default_factory=dict)
    queue_order: list[str] = field(default_factory=list)
    paused: bool = False

    @property
    def id(self) -> str:
        return self.config.id

    @classmethod
    def build(cls, config: TenantConfig, server: ServerConfig) -> Tenant:
        tenant = cls(config=config, server=server, paused=config.routing.paused)
        tenant.queues = {q.name: q for q in config.queues}
        tenant.queue_order = [q.name for q in config.queues]
        tenant.users = {u.login: u for u in config.users}
        tenant.entry_points = {(ep.face, ep.id): ep for ep in config.entry_points}
        return tenant

    def entry_point(self, face: str, ep_id: str) -> EntryPointConfig | None:
        return self.entry_points.get((face, ep_id))

    def agent_users(self) -> list[UserConfig]:
        return [u for u in self.config.users if "agent" in u.roles and not u.disabled]


class Registry:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.tenants: dict[str, Tenant] = {}
        self.by_domain: dict[str, Tenant] = {}
        self.apply(config)

    def apply(self, config: Config) -> None:
        self.config = config
        self.tenants = {t.id: Tenant.build(t, config.server) for t in config.tenants}
        self.by_domain = {d.lower(): t for t in self.tenants.values() for d in t.config.domains}

    def tenant(self, tenant_id: str) -> Tenant | None:
        return self.tenants.get(tenant_id)

    def domain(self, host: str) -> Tenant | None:
        return self.by_domain.get(host)

    def lookup(self, key: str | None) -> Tenant | None:
        """Tenant id or one of its domains; None when the server has exactly one tenant."""
        if key is None:
            return next(iter(self.tenants.values())) if len(self.tenants) == 1 else None
        return self.tenants.get(key) or self.by_domain.get(key.lower())
