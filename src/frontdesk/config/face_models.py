"""Per-face settings of a tenant (spec/config.md §3.8–3.13) and the `lockout` value type."""

from __future__ import annotations

from typing import Any

import msgspec

LOCKOUT_DEFAULTS: dict[str, dict[str, Any]] = {
    "rightnow": {"enabled": True, "max_failures": 10, "window_seconds": 60, "lock_seconds": 60},
    "fusion": {"enabled": True, "max_failures": 10, "window_seconds": 60, "lock_seconds": 60},
    "crmod": {"enabled": True, "max_failures": 5, "window_seconds": 300, "lock_seconds": 300},
    "native": {"enabled": True, "max_failures": 5, "window_seconds": 300, "lock_seconds": 300},
}


class Lockout(msgspec.Struct, kw_only=True):
    """Normalised `lockout` value: `false`/`true`/object all become this so faces need one code path."""

    enabled: bool
    max_failures: int
    window_seconds: int
    lock_seconds: int


class ServicePatternFace(msgspec.Struct, kw_only=True):
    enabled: bool = True
    long_poll_hold_seconds: int = 10
    abandon_seconds: int = 600
    ended_retention_seconds: int = 60
    cors_allowed_origins: list[str] = msgspec.field(default_factory=lambda: ["*"])


class RightNowCredential(msgspec.Struct, kw_only=True):
    username: str
    password: str | None = None
    password_hash: str | None = None


class RightNowFace(msgspec.Struct, kw_only=True):
    enabled: bool = True
    site_name: str | None = None
    default_interface: str | None = None
    credentials: list[RightNowCredential] = msgspec.field(default_factory=list)
    long_poll_hold_seconds: int = 15
    abandon_seconds: int = 120
    ended_retention_seconds: int = 300
    token_ttl_seconds: int = 600
    auth_lockout: Lockout = msgspec.field(default_factory=lambda: Lockout(**LOCKOUT_DEFAULTS["rightnow"]))
    participant_greeting: bool = True
    wss_created_window_seconds: int = 300
    wss_nonce_window_seconds: int = 600


class FusionCredential(msgspec.Struct, kw_only=True):
    username: str
    password: str | None = None
    password_hash: str | None = None
    chat_privilege: bool = True


class FusionFace(msgspec.Struct, kw_only=True):
    enabled: bool = True
    pool_id: str | None = None
    credentials: list[FusionCredential] = msgspec.field(default_factory=list)
    token_ttl_seconds: int = 120
    signing_key: str | None = None
    long_poll_hold_seconds: int = 30
    abandon_seconds: int = 120
    ended_retention_seconds: int = 300
    cors_allowed_origins: list[str] = msgspec.field(default_factory=lambda: ["*"])
    auth_lockout: Lockout = msgspec.field(default_factory=lambda: Lockout(**LOCKOUT_DEFAULTS["fusion"]))
    sneak_preview: bool = False
    sneak_preview_interval_ms: int = 1000


class EceLimits(msgspec.Struct, kw_only=True):
    creations_per_minute: int = 60
    open_chats_per_address: int = 50
    surveys_per_minute: int = 30
    checks_per_minute: int = 600
    session_requests_per_second: int = 20


ECE_DEFAULT_TEMPLATES: dict[str, str] = {
    "cust_welcome_msg": "Thanks for contacting us. An agent will join you shortly.",
    "agent_join_msg": "{0} has joined the chat.",
    "agent_left_session": "{0} has left the chat.",
    "agent_close_session": "{0} closed the chat.",
    "system_close_session": "The chat was closed by the system.",
    "customer_left_session": "{0} left the chat.",
    "agent_transfer_msg": "Transferring you to agent {0}.",
    "queue_transfer_msg": "Transferring you to the {0} queue.",
    "deptt_transfer_msg": "Transferring you to the {0} department.",
    "pagepush_msg": "{0}",
    "CUST_RECONNECTED_AGENT_MESSAGE": "You are connected to {0} again.",
}


class EceFace(msgspec.Struct, kw_only=True):
    enabled: bool = True
    cors_allowed_origins: list[str] = msgspec.field(default_factory=lambda: ["*"])
    long_poll_hold_seconds: int = 60
    bosh_inactivity_seconds: int = 90
    max_pause_seconds: int = 300
    reconnect_window_seconds: int = 120
    ended_retention_seconds: int = 1800
    reject_duplicate_sessions: bool = True
    demo_auto_agent: bool = False
    limits: EceLimits = msgspec.field(default_factory=EceLimits)
    templates: dict[str, str] = msgspec.field(default_factory=lambda: dict(ECE_DEFAULT_TEMPLATES))


class CrmodFace(msgspec.Struct, kw_only=True):
    enabled: bool = True
    daily_operation_allotment: int = 100000
    auth_lockout: Lockout = msgspec.field(default_factory=lambda: Lockout(**LOCKOUT_DEFAULTS["crmod"]))
    form_token_ttl_seconds: int = 3600


class NativeFace(msgspec.Struct, kw_only=True):
    enabled: bool = True
    token_ttl_seconds: int = 28800
    auth_lockout: Lockout = msgspec.field(default_factory=lambda: Lockout(**LOCKOUT_DEFAULTS["native"]))
    cors_allowed_origins: list[str] = msgspec.field(default_factory=list)
    ws_heartbeat_seconds: int = 25
    ws_idle_timeout_seconds: int = 60
    events_max_wait_seconds: int = 30


class FacesConfig(msgspec.Struct, kw_only=True):
    servicepattern: ServicePatternFace = msgspec.field(default_factory=ServicePatternFace)
    rightnow: RightNowFace = msgspec.field(default_factory=RightNowFace)
    fusion: FusionFace = msgspec.field(default_factory=FusionFace)
    ece: EceFace = msgspec.field(default_factory=EceFace)
    crmod: CrmodFace = msgspec.field(default_factory=CrmodFace)
    native: NativeFace = msgspec.field(default_factory=NativeFace)
