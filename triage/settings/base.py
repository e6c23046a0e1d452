"""Paths of the package, secrets read from the environment, and the base of every settings section."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

from triage.errors import ConfigError
from triage.log import register_secret

__all__ = [
    "MIN_KEY_CHARS",
    "PACKAGE_DIR",
    "REPO_DIR",
    "Section",
    "default_models_dir",
    "read_encryption_key",
    "read_secret",
    "sample_data_dir",
]

PACKAGE_DIR = Path(__file__).resolve().parent.parent
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


class Section(BaseModel):
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


