"""Typed form of the configuration file (spec/config.md §3).

Field names are exactly the YAML keys so that the normalised output of `check-config --print` reads
like the file. A few fields are not YAML keys (`secret_sources`, `source_path`, `warnings`): they carry
load-time facts that must survive without being printable configuration.
"""

from __future__ import annotations

import pathlib
from typing import Any, Literal

import msgspec

# Re-exported: the tenant model is the one place engine code imports configuration types from.
from .face_models import (
    ECE_DEFAULT_TEMPLATES as ECE_DEFAULT_TEMPLATES,
)
from .face_models import (
    LOCKOUT_DEFAULTS as LOCKOUT_DEFAULTS,
)
from .face_models import (
    CrmodFace as CrmodFace,
)
from .face_models import (
    EceFace as EceFace,
)
from .face_models import (
    EceLimits as EceLimits,
)
from .face_models import (
    FacesConfig as FacesConfig,
)
from .face_models import (
    FusionCredential as FusionCredential,
)
from .face_models import (
    FusionFace as FusionFace,
)
from .face_models import (
    Lockout as Lockout,
)
from .face_models import (
    NativeFace as NativeFace,
)
from .face_models import (
    RightNowCredential as RightNowCredential,
)
from .face_models import (
    RightNowFace as RightNowFace,
)
from .face_models import (
    ServicePatternFace as ServicePatternFace,
)

Severity = Literal["error", "warning"]

CUSTOMER_FACES: tuple[str, ...] = ("servicepattern", "rightnow", "fusion", "ece")


class ConfigIssue(msgspec.Struct, frozen=True, kw_only=True):
    """One problem found in the file; all of them are reported at once so a user fixes them in one go."""

    severity: Severity
    path: str
    message: str

    def line(self) -> str:
        """The line format of `frontdesk check-config` (spec/config.md §1.3)."""
        return f"{self.severity}: {self.path}: {self.message}"


class SecretSource(msgspec.Struct, frozen=True, kw_only=True):
    """How a secret was written, kept because the store keeps `*_file`/`*_env` unresolved (§1.4)."""

    form: Literal["value", "file", "env"]
    reference: str | None = None  # the file path or the variable name; never the secret itself


# --------------------------------------------------------------------------------------------- server


class TlsConfig(msgspec.Struct, kw_only=True):
    cert_file: str | None = None
    key_file: str | None = None


class StoreConfig(msgspec.Struct, kw_only=True):
    kind: Literal["sqlite", "postgresql"] = "sqlite"
    url: str = ""
    pool_size: int = 10
    write_batch_max: int = 64
    auto_migrate: bool = True


class BusConfig(msgspec.Struct, kw_only=True):
    kind: Literal["memory", "redis", "nats"] = "memory"
    url: str | None = None
    channel_prefix: str = "frontdesk"


class FilesConfig(msgspec.Struct, kw_only=True):
    kind: Literal["disk", "store"] = "disk"
    dir: str = ""


class ClusterConfig(msgspec.Struct, kw_only=True):
    node_id: str = ""
    lease_seconds: int = 10
    renew_seconds: int = 3
    # Where the other nodes reach this one (frontdesk extension; default http://<host>:<port>).
    advertise_url: str = ""


class LogConfig(msgspec.Struct, kw_only=True):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "text"] = "json"


class MetricsConfig(msgspec.Struct, kw_only=True):
    enabled: bool = True


class RateLimitConfig(msgspec.Struct, kw_only=True):
    requests_per_second: int = 100
    burst: int = 200
    exempt_networks: list[str] = msgspec.field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])


class ServerLimits(msgspec.Struct, kw_only=True):
    request_body_max_bytes: int = 1048576
    upload_max_bytes: int = 26214400
    upload_blocked_types: list[str] = msgspec.field(default_factory=list)
    message_max_chars: int = 10000
    rate_limit: RateLimitConfig = msgspec.field(default_factory=RateLimitConfig)


class ServerConfig(msgspec.Struct, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = ""
    public_base_url: str | None = None
    trusted_proxies: list[str] = msgspec.field(default_factory=list)
    default_tenant: str = ""
    allow_short_timers: bool = False
    tls: TlsConfig = msgspec.field(default_factory=TlsConfig)
    store: StoreConfig = msgspec.field(default_factory=StoreConfig)
    bus: BusConfig = msgspec.field(default_factory=BusConfig)
    files: FilesConfig = msgspec.field(default_factory=FilesConfig)
    cluster: ClusterConfig = msgspec.field(default_factory=ClusterConfig)
    shutdown_grace_seconds: int = 10
    log: LogConfig = msgspec.field(default_factory=LogConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    limits: ServerLimits = msgspec.field(default_factory=ServerLimits)
    # Not a YAML key: server-relative key path (e.g. `store.url`) -> how that secret was written.
    secret_sources: dict[str, SecretSource] = msgspec.field(default_factory=dict)

    @property
    def tls_enabled(self) -> bool:
        return self.tls.cert_file is not None and self.tls.key_file is not None


# --------------------------------------------------------------------------------------------- tenant


class Holiday(msgspec.Struct, kw_only=True):
    date: str  # "YYYY-MM-DD" (one day) or "MM-DD" (every year)
    name: str = ""


class CalendarConfig(msgspec.Struct, kw_only=True):
    hours: dict[str, list[str]] = msgspec.field(default_factory=dict)
    holidays: list[Holiday] = msgspec.field(default_factory=list)


class QueueConfig(msgspec.Struct, kw_only=True):
    name: str
    number: int
    display_name: str
    skills: list[str]
    priority: int = 0
    max_waiting: int | None = None
    max_wait_seconds: int = 0
    service_level_seconds: int = 60
    calendar: str = "always"


class UserProfile(msgspec.Struct, kw_only=True):
    display_name: str
    first_name: str = ""
    last_name: str = ""
    screen_name: str
    greeting: str | None = None
    greeting_anonymous: str | None = None
    photo_file: str | None = None


class UserConfig(msgspec.Struct, kw_only=True):
    login: str
    roles: list[str] = msgspec.field(default_factory=lambda: ["agent"])
    password_hash: str | None = None
    disabled: bool = False
    profile: UserProfile
    skills: list[str] = msgspec.field(default_factory=list)
    max_chats: int = 3
    channels: list[str] = msgspec.field(default_factory=lambda: list(CUSTOMER_FACES))


class InactivityOverride(msgspec.Struct, kw_only=True):
    """Per entry point; None means "the tenant's `timers.inactivity` value"."""

    timeout_seconds: int | None = None
    warning_text: str | None = None
    timeout_text: str | None = None


class SpParameter(msgspec.Struct, kw_only=True):
    name: str
    type: str


class PostChatSurvey(msgspec.Struct, kw_only=True):
    survey: str
    timeout_seconds: int


class IceServer(msgspec.Struct, kw_only=True):
    url: str
    username: str | None = None
    credential: str | None = None


class MaskingPattern(msgspec.Struct, kw_only=True):
    regex: str
    mask_char: str = "*"
    retain_left: int = 0
    retain_right: int = 0
    luhn: bool = False


class EntryPointConfig(msgspec.Struct, kw_only=True):
    """Common keys plus every face's own keys; keys of other faces stay None/empty."""

    face: str
    id: str
    name: str
    queue: str
    enabled: bool = True
    calendar: str | None = None
    skills: list[str] = msgspec.field(default_factory=list)
    priority: int | None = None
    inactivity: InactivityOverride = msgspec.field(default_factory=InactivityOverride)
    # servicepattern
    parameters: list[SpParameter] = msgspec.field(default_factory=list)
    post_chat_survey: PostChatSurvey | None = None
    read_receipts: bool | None = None
    push_kinds: list[str] = msgspec.field(default_factory=list)
    ice_servers: list[IceServer] = msgspec.field(default_factory=list)
    widget_configuration: dict[str, Any] | None = None
    icon_file: str | None = None
    # fusion
    queue_ids: dict[str, str] = msgspec.field(default_factory=dict)
    # ece
    max_queue_depth: int | None = None
    agent_availability_required: bool | None = None
    masking_patterns: list[MaskingPattern] = msgspec.field(default_factory=list)
    attachments: bool | None = None

    def inactivity_timeout(self, tenant: TenantConfig) -> int:
        """Customer inactivity T in seconds (0 = off): the entry point's value, else the tenant's."""
        if self.inactivity.timeout_seconds is not None:
            return self.inactivity.timeout_seconds
        return tenant.timers.inactivity.timeout_seconds

    def warning_text(self, tenant: TenantConfig) -> str:
        if self.inactivity.warning_text is not None:
            return self.inactivity.warning_text
        return tenant.timers.inactivity.warning_text

    def timeout_text(self, tenant: TenantConfig) -> str:
        if self.inactivity.timeout_text is not None:
            return self.inactivity.timeout_text
        return tenant.timers.inactivity.timeout_text

    def effective_calendar(self, tenant: TenantConfig) -> str:
        """The calendar deciding whether a chat may start (§3.4): entry point, queue, `always`."""
        if self.calendar is not None:
            return self.calendar
        queue = tenant.queue(self.queue)
        return queue.calendar if queue is not None else "always"

    def effective_priority(self, tenant: TenantConfig) -> int:
        if self.priority is not None:
            return self.priority
        queue = tenant.queue(self.queue)
        return queue.priority if queue is not None else 0


class CrmConfig(msgspec.Struct, kw_only=True):
    chat_activities: bool = True
    allow_reset: bool = False
    max_activities: int = 1000000
    match_campaign_by_destination: bool = True
    id_prefix: str = "FD"
    seed: dict[str, Any] | None = None  # validated lightly here; the dataset rules live with the CRM
    seed_file: str | None = None


class RoutingConfig(msgspec.Struct, kw_only=True):
    paused: bool = False
    logout_chats: Literal["requeue", "keep"] = "requeue"
    wrapup_holds_capacity: bool = True
    default_handle_seconds: int = 300


DEFAULT_WARNING_TEXT = "Are you still there? This chat will close soon if there is no reply."
DEFAULT_TIMEOUT_TEXT = "This chat was closed because there was no reply."


class InactivityConfig(msgspec.Struct, kw_only=True):
    timeout_seconds: int = 600
    warning_text: str = DEFAULT_WARNING_TEXT
    timeout_text: str = DEFAULT_TIMEOUT_TEXT


class TimersConfig(msgspec.Struct, kw_only=True):
    rona_seconds: int = 30
    wrapup_timeout_seconds: int = 120
    inactivity: InactivityConfig = msgspec.field(default_factory=InactivityConfig)
    agent_presence_timeout_seconds: int = 90
    typing_ttl_seconds: int = 10
    queue_update_interval_seconds: int = 5
    form_timeout_seconds: int = 120


class TenantLimits(msgspec.Struct, kw_only=True):
    """None means "the server's value"; use the TenantConfig helpers to read the effective one."""

    upload_max_bytes: int | None = None
    upload_blocked_types: list[str] | None = None
    message_max_chars: int | None = None


class CodeLabel(msgspec.Struct, kw_only=True):
    code: str
    label: str


DEFAULT_DISPOSITIONS: tuple[tuple[str, str], ...] = (
    ("resolved", "Resolved"),
    ("follow_up", "Follow-up needed"),
    ("escalated", "Escalated"),
    ("no_response", "No response from customer"),
)
DEFAULT_NOT_READY_REASONS: tuple[tuple[str, str], ...] = (
    ("break", "Break"),
    ("lunch", "Lunch"),
    ("meeting", "Meeting"),
    ("training", "Training"),
)


class CannedResponse(msgspec.Struct, kw_only=True):
    id: str
    title: str
    text: str
    shortcut: str | None = None
    queues: list[str] = msgspec.field(default_factory=list)


class SurveyQuestion(msgspec.Struct, kw_only=True):
    id: str
    text: str
    type: Literal["rating", "yes_no", "choice", "text"]
    min: int | None = None
    max: int | None = None
    choices: list[str] | None = None
    required: bool = False


class SurveyConfig(msgspec.Struct, kw_only=True):
    title: str
    questions: list[SurveyQuestion]


class WebhookConfig(msgspec.Struct, kw_only=True):
    id: str
    url: str
    events: list[str]
    secret: str | None = None
    enabled: bool = True


class RetentionConfig(msgspec.Struct, kw_only=True):
    chats_days: int = 0
    files_days: int = 0


class WebConfig(msgspec.Struct, kw_only=True):
    widget_entry_point: str | None = None


class TenantConfig(msgspec.Struct, kw_only=True):
    id: str
    display_name: str
    demo: bool = False
    domains: list[str] = msgspec.field(default_factory=list)
    timezone: str = "UTC"
    public_base_url: str | None = None
    calendars: dict[str, CalendarConfig] = msgspec.field(default_factory=dict)
    queues: list[QueueConfig] = msgspec.field(default_factory=list)
    users: list[UserConfig] = msgspec.field(default_factory=list)
    entry_points: list[EntryPointConfig] = msgspec.field(default_factory=list)
    faces: FacesConfig = msgspec.field(default_factory=FacesConfig)
    crm: CrmConfig = msgspec.field(default_factory=CrmConfig)
    routing: RoutingConfig = msgspec.field(default_factory=RoutingConfig)
    timers: TimersConfig = msgspec.field(default_factory=TimersConfig)
    limits: TenantLimits = msgspec.field(default_factory=TenantLimits)
    dispositions: list[CodeLabel] = msgspec.field(
        default_factory=lambda: [CodeLabel(code=c, label=label) for c, label in DEFAULT_DISPOSITIONS]
    )
    not_ready_reasons: list[CodeLabel] = msgspec.field(
        default_factory=lambda: [CodeLabel(code=c, label=label) for c, label in DEFAULT_NOT_READY_REASONS]
    )
    canned_responses: list[CannedResponse] = msgspec.field(default_factory=list)
    surveys: dict[str, SurveyConfig] = msgspec.field(default_factory=dict)
    webhooks: list[WebhookConfig] = msgspec.field(default_factory=list)
    retention: RetentionConfig = msgspec.field(default_factory=RetentionConfig)
    web: WebConfig = msgspec.field(default_factory=WebConfig)
    # Not a YAML key: tenant-relative key path (e.g. `faces.fusion.signing_key`) -> how it was written.
    secret_sources: dict[str, SecretSource] = msgspec.field(default_factory=dict)

    def entry_point(self, face: str, id: str) -> EntryPointConfig | None:
        for ep in self.entry_points:
            if ep.face == face and ep.id == id:
                return ep
        return None

    def queue(self, name: str) -> QueueConfig | None:
        for q in self.queues:
            if q.name == name:
                return q
        return None

    def user(self, login: str) -> UserConfig | None:
        for u in self.users:
            if u.login == login:
                return u
        return None

    def upload_max_bytes(self, server: ServerConfig) -> int:
        v = self.limits.upload_max_bytes
        return v if v is not None else server.limits.upload_max_bytes

    def upload_blocked_types(self, server: ServerConfig) -> list[str]:
        v = self.limits.upload_blocked_types
        return v if v is not None else server.limits.upload_blocked_types

    def message_max_chars(self, server: ServerConfig) -> int:
        v = self.limits.message_max_chars
        return v if v is not None else server.limits.message_max_chars

    def base_url(self, server: ServerConfig) -> str | None:
        """Public base URL for absolute URLs; None means "derive it from the request"."""
        return self.public_base_url if self.public_base_url is not None else server.public_base_url


class Config(msgspec.Struct, kw_only=True):
    version: int = 1
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    tenants: list[TenantConfig] = msgspec.field(default_factory=list)
    # Not YAML keys: where the file came from and what was not fatal about it.
    source_path: pathlib.Path | None = None
    warnings: list[ConfigIssue] = msgspec.field(default_factory=list)

    def tenant(self, id: str) -> TenantConfig | None:
        for t in self.tenants:
            if t.id == id:
                return t
        return None
