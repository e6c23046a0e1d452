"""Privacy commands: ``db encrypt`` (docs/privacy.md)."""

from __future__ import annotations

import click

from triage.cli.app import Context, cli, pass_ctx
from triage.errors import ConfigError

__all__: list[str] = []


@cli.group(
    epilog="""\b
Examples:
  export TRIAGE_DB_KEY="$(openssl rand -base64 32)"     # keep it in your secret store
  TRIAGE_DATABASE__ENCRYPTION_KEY_ENV=TRIAGE_DB_KEY triage db encrypt"""
)
def db() -> None:
    """Database file administration (encryption at rest)."""


@db.command(
    epilog="""\b
Examples:
  triage --config prod.toml db encrypt      # [database] encryption_key_env = "TRIAGE_DB_KEY"
Stop the nightly run and close ops sessions first: the file must not be open elsewhere.
Afterwards every process that opens it needs the key variable (ops: docs/privacy.md)."""
)
@pass_ctx
def encrypt(ctx: Context) -> None:
    """Encrypt the plain database file in place: copy, verify row counts, swap, scrub the old file."""
    from triage.db.encrypt import encrypt_database

    cfg = ctx.settings.database
    if not cfg.encryption_key_env:
        raise ConfigError(
            "database.encryption_key_env is not set: name the environment variable holding the key "
            "(e.g. encryption_key_env = \"TRIAGE_DB_KEY\" in [database], or TRIAGE_DATABASE__ENCRYPTION_KEY_ENV)"
        )
    report = encrypt_database(cfg.path, cfg.encryption_key_env)
    for table, n in report.tables.items():
        click.echo(f"{table:<24} {n:>10,} rows  verified")
    click.echo(
        f"encrypted {report.path}: {len(report.tables)} tables, {report.views} views, "
        f"{report.bytes_before:,} -> {report.bytes_after:,} bytes; the plain file was overwritten and removed"
    )

