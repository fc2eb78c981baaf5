"""The ``serve`` configuration: a TOML file and environment overrides, validated with pydantic.

Errors name the key (``adapters[1].tolerance: ...``) and never echo a value, so a secret pasted
in the wrong place cannot end up in a terminal or a log. Secrets are read from the environment
(``secrets_env = ["SLACK_SIGNING_SECRET"]``) or, for local trials, given inline
(``secrets = ["..."]``); either way they are held as `SecretStr` and never printed.
See docs/adapters.md, "serve configuration reference".

Every setting can also be given in the environment, as ``ALLIANCE_MONITOR__SECTION__KEY``
(``ALLIANCE_MONITOR__SERVER__PORT=9000``, ``ALLIANCE_MONITOR__MONITOR__WINDOW__MAX_EXCHANGES=4``,
``ALLIANCE_MONITOR__ADAPTERS__0__PATH=/hooks/chat``: a number is a position in a list). Precedence,
highest first: command-line options, the environment, the file, the defaults. Names are read
case-insensitively and the keys lower-cased; a value is taken as written (pydantic converts
``"9000"`` to a number and ``"true"`` to a boolean where the setting is one), except that a
value starting with ``[`` or ``{`` is read as a TOML array or inline table
(``ALLIANCE_MONITOR__ALERTS__ALLOWED_HOSTS=["hooks.slack.com"]``).
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from ._config import DEFAULT_MAX_PAIRS
from ._errors import ConfigError

__all__ = [
    "ENV_PREFIX",
    "AdapterSettings",
    "AdminSettings",
    "AlertSettings",
    "HttpSettings",
    "JsonlSettings",
    "MatrixSettings",
    "MonitorSettings",
    "RatingsSettings",
    "ScorerSettings",
    "ServerSettings",
    "Settings",
    "SlackSettings",
    "StreamSettings",
    "TwilioSettings",
    "ZendeskSettings",
    "env_overrides",
    "load_settings",
    "resolve_secrets",
]

#: Environment variables starting with this set settings (``ALLIANCE_MONITOR__SERVER__PORT``).
ENV_PREFIX = "ALLIANCE_MONITOR__"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class ServerSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    #: Largest request body taken (413 beyond).
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    #: Messages waiting between each webhook receiver and the monitor (503 beyond).
    queue_size: int = Field(1024, ge=1)
    #: Seconds a platform is asked to wait (Retry-After) when the queue is full.
    retry_after: int = Field(5, ge=1)
    #: Seconds to finish open requests, then to drain each queue, on shutdown.
    shutdown_timeout: float = Field(30.0, gt=0)
    #: Seconds a client has to send a request's headers; the connection is closed beyond.
    header_timeout: float = Field(10.0, gt=0, allow_inf_nan=False)
    #: Seconds a client has to send a whole request body (408 beyond).
    body_timeout: float = Field(10.0, gt=0, allow_inf_nan=False)
    #: Seconds an idle kept-alive connection stays open.
    keepalive_timeout: float = Field(5.0, gt=0, allow_inf_nan=False)
    #: Open connections at most; beyond, a new connection gets 503 and is closed.
    max_connections: int = Field(256, ge=1)
    #: Open connections from one client address at most (503 and closed beyond).
    max_connections_per_client: int = Field(64, ge=1)
    #: Connections of one client address still sending a request (headers or body) at most.
    max_slow_per_client: int = Field(8, ge=1)
    #: Reverse proxies (addresses or networks, "10.0.0.0/8") whose X-Forwarded-For names the
    #: client the per-client limits count; empty: the peer address is the client.
    trusted_proxies: list[str] = Field(default_factory=list)
    #: Seconds a platform waits for its delivery's messages to be stored before it is answered
    #: 503 with Retry-After (what was not stored by then is not acknowledged).
    ack_timeout: float = Field(10.0, gt=0, allow_inf_nan=False)
    #: The level of the library's log records on stderr (`-v` adds info-level ones).
    log_level: Literal["debug", "info", "warning", "error"] = "warning"
    #: ``all``: adapters, monitor, alerts and board in this process. ``ingest`` (scale-out):
    #: adapters verify and validate, messages go to the Redis stream of `[stream]`, no scoring
    #: (the board, when enabled, shows the workers' pairs). ``board``: only the supervisor board,
    #: read from the workers' store. `worker` processes score and alert.
    mode: Literal["all", "ingest", "board"] = "all"

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for i, entry in enumerate(value):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"entry {i} is not an address or network") from None
        return value


class MonitorSettings(_Model):
    include_text: bool = False
    workers: int = Field(2, ge=1)
    score_timeout: float = Field(120.0, gt=0)
    #: A window closing while the pair's previous one still waits for a score: ``merge`` them
    #: (one score for both, under load) or ``wait`` (every window scored on its own).
    overload: Literal["merge", "wait"] = "merge"
    idle_check_interval: float = Field(30.0, gt=0)
    #: State store URL (``sqlite:///var/lib/alliance/state.db``); none: state is in memory.
    store: str | None = None
    #: Pairs kept in memory; idle ones beyond it are evicted to the store (0: no cap).
    max_pairs: int = Field(DEFAULT_MAX_PAIRS, ge=0)
    #: End every open session (scoring its last window, sending summaries) on shutdown.
    end_sessions_on_shutdown: bool = False
    #: Erase pairs whose last message is older than this many days (state and text, from
    #: memory, the store, the alert outbox and the board); none: kept until erased.
    retention_days: float | None = Field(None, gt=0, allow_inf_nan=False)
    #: Seconds between retention sweeps.
    retention_check_interval: float = Field(3600.0, gt=0, allow_inf_nan=False)
    #: Fields of `WindowPolicy`, `SessionPolicy` and `OrderPolicy` (``max_exchanges = 6``...).
    window: dict[str, int | float] = Field(default_factory=dict)
    session: dict[str, int | float] = Field(default_factory=dict)
    order: dict[str, int | float] = Field(default_factory=dict)


class ScorerSettings(_Model):
    kind: Literal["embedded", "llm", "cascade"] = "embedded"
    base_url: str | None = None
    model: str | None = None
    #: Environment variable holding the LLM API key (none: no key is sent).
    api_key_env: str | None = None
    #: Further keyword options of `make_scorer` (timeouts, cascade policy...).
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs_server(self) -> ScorerSettings:
        if self.kind != "embedded" and not (self.base_url and self.model):
            raise ValueError(f"the {self.kind} scorer needs base_url and model")
        return self


class _Mapped(_Model):
    """Who is a counselor and which platform conversation is which pair."""

    counselors: list[str] = Field(default_factory=list)
    counselor_roles: list[str] = Field(default_factory=list)
    clients: list[str] = Field(default_factory=list)
    others: list[str] = Field(default_factory=list)
    conversations: dict[str, str] = Field(default_factory=dict)
    only_mapped: bool = False
    prefix: str = ""


class _Push(_Mapped):
    path: str
    secrets: list[SecretStr] = Field(default_factory=list)
    secrets_env: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _checks(self) -> _Push:
        if not self.path.startswith("/") or self.path in ("/healthz", "/readyz", "/metrics"):
            raise ValueError("path must start with / and not be /healthz, /readyz or /metrics")
        if not self.secrets and not self.secrets_env:
            raise ValueError("give secrets_env (or secrets): requests cannot be verified without")
        return self


class HttpSettings(_Push):
    type: Literal["http"]
    path: str = "/hooks/messages"
    tolerance: float = Field(300.0, gt=0)
    max_batch: int = Field(500, ge=1)


class SlackSettings(_Push):
    type: Literal["slack"]
    path: str = "/hooks/slack"
    tolerance: float = Field(300.0, gt=0)
    threads_as_conversations: bool = False


class TwilioSettings(_Push):
    type: Literal["twilio"]
    path: str = "/hooks/twilio"
    #: The webhook URL exactly as configured in Twilio (needed behind a proxy).
    public_url: str | None = None


class ZendeskSettings(_Push):
    type: Literal["zendesk"]
    path: str = "/hooks/zendesk"
    scheme: Literal["api_key", "signature"] = "api_key"
    tolerance: float = Field(300.0, gt=0)


class MatrixSettings(_Mapped):
    type: Literal["matrix"]
    homeserver: str
    user_id: str
    access_token_env: str | None = None
    password_env: str | None = None
    device_id: str | None = None
    backfill: bool = False
    auto_join: bool = True
    sync_timeout: float = Field(10.0, gt=0)

    @model_validator(mode="after")
    def _credentials(self) -> MatrixSettings:
        if not self.access_token_env and not self.password_env:
            raise ValueError("give access_token_env (or password_env)")
        return self


class JsonlSettings(_Model):
    type: Literal["jsonl"]
    file: str
    follow: bool = True
    poll_interval: float = Field(0.5, gt=0)


AdapterSettings = Annotated[
    HttpSettings
    | SlackSettings
    | TwilioSettings
    | ZendeskSettings
    | MatrixSettings
    | JsonlSettings,
    Field(discriminator="type"),
]


class AlertEndpointSettings(_Model):
    url: str
    secrets: list[SecretStr] = Field(default_factory=list)
    secrets_env: list[str] = Field(default_factory=list)
    #: Event types sent to this endpoint (empty: every alerting type).
    event_types: list[str] = Field(default_factory=list)
    format: Literal["standard", "slack", "teams"] = "standard"
    #: Stable name in the outbox, stats and logs (default: host + URL hash).
    name: str = ""


class AlertSettings(_Model):
    #: SQLite outbox: alerts survive restarts and endpoint outages. None: in memory.
    outbox_path: str | None = None
    #: ``redis://...``: the outbox shared by scale-out workers (`RedisOutbox`), so an alert is
    #: delivered once across workers and across a worker's death. Required by `worker`.
    outbox: str | None = None
    #: Key prefix of the shared outbox (one per deployment).
    outbox_prefix: str = Field("alliance-monitor:outbox:", min_length=1)
    #: Seconds a worker's claim on an alert lasts: a worker killed mid-delivery leaves its
    #: claimed alerts to the others after this (keep it above one delivery's time).
    outbox_claim_ttl: float = Field(60.0, gt=0, allow_inf_nan=False)
    #: If set, every endpoint host must match one entry ("*.example.org"): SSRF guard.
    allowed_hosts: list[str] | None = None
    #: Allow endpoints on loopback, private, link-local and other internal addresses (local
    #: development and tests). Off: such URLs are a configuration error (SSRF guard).
    allow_private: bool = False
    endpoints: list[AlertEndpointSettings] = Field(default_factory=list)


class SupervisorSettings(_Model):
    """The live supervisor view (pairs ranked by concern). Off by default: it lists pair and
    counselor ids and safety concerns. It is served on a listener of its own (`host`, `port`;
    loopback by default), never on the public listener the platforms reach, unless
    `listener = "public"` *and* a `token_env` is set. With `token_env`, every request needs the
    token (HTTP Basic with any user name and the token as password, or ``Authorization: Bearer``).
    Message text appears only with `monitor.include_text`."""

    enabled: bool = False
    path: str = Field("/supervisor", pattern=r"^/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$")
    listener: Literal["own", "public"] = "own"
    host: str = "127.0.0.1"
    port: int = Field(8081, ge=0, le=65535)
    #: Environment variable holding the access token (none: no token asked on its own listener).
    token_env: str | None = None

    @model_validator(mode="after")
    def _not_public_without_a_token(self) -> SupervisorSettings:
        if self.enabled and self.listener == "public" and not self.token_env:
            raise ValueError(
                'listener = "public" needs token_env: the board lists pair ids and safety '
                "concerns and must not answer anyone who can reach the platforms' webhooks"
            )
        return self


class RatingsSettings(_Model):
    """Counselors' ratings of feedback (`study.FeedbackRatings`): a signed POST endpoint,
    authenticated like the message webhooks (Standard Webhooks secrets), storing each rating
    durably in `store` (a SQLite file; none: in memory, lost on restart)."""

    enabled: bool = False
    path: str = Field("/feedback/ratings", pattern=r"^/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$")
    store: str | None = None
    secrets: list[SecretStr] = Field(default_factory=list)
    secrets_env: list[str] = Field(default_factory=list)
    tolerance: float = Field(300.0, gt=0)
    max_body_bytes: int = Field(64 * 1024, ge=1024)

    @model_validator(mode="after")
    def _checks(self) -> RatingsSettings:
        if self.enabled and not self.secrets and not self.secrets_env:
            raise ValueError("give secrets_env (or secrets): ratings cannot be verified without")
        return self


class AdminSettings(_Model):
    """The erasure endpoint: a signed POST ``{"conversation_id": ...}`` erases the pair from
    memory, the state store, the alert outbox and the board, and answers what was removed. It
    is authenticated like the message webhooks (Standard Webhooks secrets of its own)."""

    enabled: bool = False
    path: str = Field("/admin/erase", pattern=r"^/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$")
    secrets: list[SecretStr] = Field(default_factory=list)
    secrets_env: list[str] = Field(default_factory=list)
    tolerance: float = Field(300.0, gt=0)
    #: Seconds an erasure may take before the request is answered 503 (scale-out: the worker
    #: holding the pair must answer within it).
    timeout: float = Field(30.0, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _checks(self) -> AdminSettings:
        if self.enabled and not self.secrets and not self.secrets_env:
            raise ValueError("give secrets_env (or secrets): erasures cannot be verified without")
        return self


class StreamSettings(_Model):
    """The Redis stream of a scale-out deployment (``serve --mode ingest`` writes it, `worker`
    processes read it); every process of one deployment needs the same values."""

    #: ``redis://...`` of the stream (and, unless `monitor.store` says otherwise, the state).
    redis: str | None = None
    name: str = "alliance-monitor"
    shards: int = Field(16, ge=1, le=4096)
    #: Trim each shard stream to about this many entries (None: workers delete what they
    #: committed); keep it far above any backlog: an entry trimmed unread is lost.
    maxlen: int | None = Field(None, ge=1)
    #: Milliseconds a worker's shard lease lives without renewal (the takeover delay).
    lease_ms: int = Field(10_000, ge=300)


class Settings(_Model):
    server: ServerSettings = Field(default_factory=ServerSettings)
    supervisor: SupervisorSettings = Field(default_factory=SupervisorSettings)
    ratings: RatingsSettings = Field(default_factory=RatingsSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    scorer: ScorerSettings = Field(default_factory=ScorerSettings)
    adapters: list[AdapterSettings] = Field(default_factory=list)
    alerts: AlertSettings | None = None
    stream: StreamSettings = Field(default_factory=StreamSettings)

    @model_validator(mode="after")
    def _unique_paths(self) -> Settings:
        paths = [a.path for a in self.adapters if isinstance(a, _Push)]
        if len(paths) != len(set(paths)):
            raise ValueError("two adapters share a path")
        sup = self.supervisor.path
        public = self.supervisor.enabled and self.supervisor.listener == "public"
        if public and any(p == sup or p.startswith(sup + "/") for p in paths):
            raise ValueError("supervisor.path overlaps an adapter path")
        rp = self.ratings.path
        if self.ratings.enabled and (
            rp in paths
            or rp in ("/healthz", "/readyz", "/metrics")
            or (self.supervisor.enabled and (rp == sup or rp.startswith(sup + "/")))
        ):
            raise ValueError("ratings.path overlaps another path of the service")
        ap = self.admin.path
        if self.admin.enabled and (
            ap in paths
            or ap in ("/healthz", "/readyz", "/metrics")
            or (self.ratings.enabled and ap == rp)
            or (self.supervisor.enabled and (ap == sup or ap.startswith(sup + "/")))
        ):
            raise ValueError("admin.path overlaps another path of the service")
        return self


def resolve_secrets(
    secrets: list[SecretStr], names: list[str], environ: Mapping[str, str], where: str
) -> list[str]:
    """The secret values: inline ones, then those of the named environment variables."""
    values = [s.get_secret_value() for s in secrets]
    for name in names:
        value = environ.get(name)
        if not value:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        values.append(value)
    return values


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _env_value(raw: str) -> Any:
    """A value as written, or a TOML array / inline table when it starts with ``[`` / ``{``."""
    text = raw.strip()
    if text[:1] in ("[", "{"):
        try:
            return tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            pass  # a string that happens to start with a bracket
    return raw


def env_overrides(environ: Mapping[str, str]) -> dict[tuple[str | int, ...], tuple[str, Any]]:
    """The settings given in the environment: path of keys -> (variable name, value).

    ``ALLIANCE_MONITOR__MONITOR__WINDOW__MAX_EXCHANGES=4`` gives
    ``("monitor", "window", "max_exchanges") -> ("ALLIANCE_MONITOR__...", "4")``; segments made
    of digits are list positions. Variables of other programs are ignored."""
    out: dict[tuple[str | int, ...], tuple[str, Any]] = {}
    for name in environ:
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].split("__")
        if not all(parts):
            raise ConfigError(f"{name}: an empty key between '__' separators")
        path = tuple(int(p) if p.isdigit() else p.lower() for p in parts)
        if isinstance(path[0], int):
            raise ConfigError(f"{name}: the first key must be a section name")
        out[path] = (name, _env_value(environ[name]))
    # Lists grow in order of their positions (10 after 2), whatever the variables' order.
    return dict(sorted(out.items(), key=lambda kv: [(isinstance(p, str), p) for p in kv[0]]))


def _apply(data: dict[str, Any], path: tuple[str | int, ...], value: Any, name: str) -> None:
    """Set `value` at `path` in the parsed TOML `data` (creating tables and list entries)."""
    node: Any = data
    for i, key in enumerate(path):
        last = i == len(path) - 1
        if isinstance(key, int):
            if not isinstance(node, list):
                raise ConfigError(f"{name}: {_where(path[:i])} is not a list")
            if key > len(node):
                raise ConfigError(
                    f"{name}: {_where(path[: i + 1])} leaves a gap (the list has {len(node)})"
                )
            if key == len(node):
                node.append(None if last else ([] if isinstance(path[i + 1], int) else {}))
        elif not isinstance(node, dict):
            raise ConfigError(f"{name}: {_where(path[:i])} is not a table")
        elif key not in node:
            if not last:
                node[key] = [] if isinstance(path[i + 1], int) else {}
        elif not last and not isinstance(node[key], dict | list):
            raise ConfigError(f"{name}: {_where(path[: i + 1])} is a value, not a table or list")
        if last:
            node[key] = value
        else:
            node = node[key]


def load_settings(path: str | Path | None, environ: Mapping[str, str]) -> Settings:
    """Read and validate the settings: a TOML file (None: none), then the environment's
    ``ALLIANCE_MONITOR__SECTION__KEY`` overrides on top; check every named secret is set.

    Raises `ConfigError` naming the file (or the variable) and the key; values are never
    included.
    """
    data: dict[str, Any] = {}
    where = "settings"
    if path is not None:
        p = Path(path)
        where = str(p)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{p}: no such file") from None
        except tomllib.TOMLDecodeError as exc:  # its message holds a position, not the content
            raise ConfigError(f"{p}: not valid TOML ({exc})") from None
    overrides = env_overrides(environ)
    for key_path, (name, value) in overrides.items():
        _apply(data, key_path, value, name)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = [
            _problem(tuple(e["loc"]), e["msg"], overrides)
            for e in exc.errors(include_input=False, include_url=False)
        ]
        raise ConfigError(f"{where}: " + "; ".join(problems)) from None
    _check_secrets(settings, environ)
    return settings


def _problem(
    loc: tuple[int | str, ...], msg: str, overrides: Mapping[tuple[str | int, ...], tuple[str, Any]]
) -> str:
    """One validation problem, naming the environment variable when one set that key."""
    for key_path, (name, _value) in overrides.items():
        n = len(key_path)
        # pydantic puts the adapter's type tag in the location (adapters.0.slack.tolerance).
        plain = tuple(p for i, p in enumerate(loc) if not (i == 2 and loc[0] == "adapters"))
        if key_path[: len(loc)] == loc or loc[:n] == key_path or plain[:n] == key_path:
            return f"{_where(loc)}: {msg} (set by {name})"
    return f"{_where(loc)}: {msg}"


def _check_secrets(settings: Settings, environ: Mapping[str, str]) -> None:
    for i, adapter in enumerate(settings.adapters):
        where = f"adapters[{i}]"
        if isinstance(adapter, _Push):
            resolve_secrets(adapter.secrets, adapter.secrets_env, environ, where + ".secrets_env")
        elif isinstance(adapter, MatrixSettings):
            names = [n for n in (adapter.access_token_env, adapter.password_env) if n]
            resolve_secrets([], names, environ, where)
    if settings.ratings.enabled:
        r = settings.ratings
        resolve_secrets(r.secrets, r.secrets_env, environ, "ratings.secrets_env")
    if settings.admin.enabled:
        a = settings.admin
        resolve_secrets(a.secrets, a.secrets_env, environ, "admin.secrets_env")
    if settings.alerts is not None:
        for i, ep in enumerate(settings.alerts.endpoints):
            resolve_secrets(ep.secrets, ep.secrets_env, environ, f"alerts.endpoints[{i}]")
    sup = settings.supervisor
    if sup.enabled and sup.token_env:
        resolve_secrets([], [sup.token_env], environ, "supervisor.token_env")
