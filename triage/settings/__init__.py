"""Settings own the configuration: embedded defaults < TOML file < environment (``TRIAGE_...``).

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
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from triage.errors import ConfigError
from triage.settings.base import (
    MIN_KEY_CHARS,
    PACKAGE_DIR,
    REPO_DIR,
    default_models_dir,
    read_encryption_key,
    read_secret,
    sample_data_dir,
)
from triage.settings.scoring import ScoringSettings, ScoringWeights
from triage.settings.sections import (
    AlertSettings,
    DatabaseSettings,
    DigestSettings,
    FlowSettings,
    ImapSourceSettings,
    LearnSettings,
    LocalSourceSettings,
    NlpSettings,
    OrgSettings,
    OutputSettings,
    ParseSettings,
    RetentionSettings,
    ServeSettings,
    SourcesSettings,
    TranscriptSettings,
)

__all__ = [
    "MIN_KEY_CHARS",
    "PACKAGE_DIR",
    "REPO_DIR",
    "AlertSettings",
    "DatabaseSettings",
    "DigestSettings",
    "FlowSettings",
    "ImapSourceSettings",
    "LearnSettings",
    "LocalSourceSettings",
    "NlpSettings",
    "OrgSettings",
    "OutputSettings",
    "ParseSettings",
    "RetentionSettings",
    "ScoringSettings",
    "ScoringWeights",
    "ServeSettings",
    "Settings",
    "SourcesSettings",
    "TranscriptSettings",
    "default_models_dir",
    "load_settings",
    "read_encryption_key",
    "read_secret",
    "sample_data_dir",
    "sample_defaults",
]


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
    serve: ServeSettings = Field(default_factory=lambda: ServeSettings())
    learn: LearnSettings = Field(default_factory=lambda: LearnSettings())
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
    path_keys = {"path", "paths", "accounts_file", "models_dir", "html_path", "ca_file", "team_models_dir"}
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
