"""Privacy commands: ``db encrypt``, ``forget``, ``purge`` (docs/privacy.md)."""

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


@cli.command(
    epilog="""\b
Examples:
  triage forget priya.shah@acme-logistics.example --dry-run   # what would go, per table
  triage forget priya.shah@acme-logistics.example             # erase her, for good
  triage forget --account acme --dry-run
Removes the person's mail (from, to, cc or mentioning the address), their meeting turns (by the
speaker names of the address), signals, asks, feedback and quarantine rows; rebuilds the lists that
quoted them; rewrites the database file so no byte stays; records the erasure (salted hash, no
address) and keeps the address out of every later sync. Remove them from the accounts file too.""",
)
@click.argument("address", required=False)
@click.option("--account", "account", metavar="ID", help="Erase a whole account instead of one person.")
@click.option("--dry-run", is_flag=True, help="Only count what would be removed (nothing changes).")
@click.option("--author", help="Who asked for it / ran it (default: the current user).")
@pass_ctx
def forget(ctx: Context, address: str | None, account: str | None, dry_run: bool, author: str | None) -> None:
    """Erase everything of one person (ADDRESS) or one account (--account ID); GDPR art. 17 / CCPA."""
    from triage.app import forget as do_forget
    from triage.app import open_db
    from triage.cli.feedback import author_of

    if (address is None) == (account is None):
        raise click.UsageError("give an ADDRESS or --account ID (one of them)")
    db = open_db(ctx.settings)
    result = do_forget(ctx.settings, db, address=address, account=account, dry_run=dry_run,
                       author=author_of(author))
    for table, n in result.counts.items():
        if n:
            click.echo(f"{table:<20} {n:>8,}")
    who = "the address" if address else f"account {account}"
    if dry_run:
        click.echo(f"dry run: {result.total:,} rows of {who} would be removed; nothing changed")
        return
    click.echo(f"erased {result.total:,} rows of {who} (erasure {result.erasure_id}); "
               "it stays out of later syncs")
    if result.rebuilt_days:
        click.echo(f"rebuilt the call list of {', '.join(d.isoformat() for d in result.rebuilt_days)}")
    if result.bytes_before:
        click.echo(f"rewrote the database file: {result.bytes_before:,} -> {result.bytes_after:,} bytes")
    if result.in_accounts_file or account:
        click.echo("remove them from the accounts file (org.accounts_file) too; until then the loader skips "
                   "them", err=True)


@cli.command(
    epilog="""\b
Examples:
  triage purge --dry-run                  # what the [retention] windows remove today, per table
  triage purge                            # remove it now (the nightly run does this at its end)
  triage purge --as-of 2027-03-01 --dry-run
Windows: [retention] raw_days (mail as received, meeting text) and derived_days (signals, asks,
meeting turns, old lists); 0 = forever. Purged messages are never fetched again.""",
)
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Day the ages count from (default: today).")
@click.option("--dry-run", is_flag=True, help="Only count what would go (nothing changes).")
@pass_ctx
def purge(ctx: Context, as_of: object, dry_run: bool) -> None:
    """Apply the retention windows: drop raw bytes and derived rows older than configured."""
    from datetime import date

    from triage.app import open_db
    from triage.app import purge as do_purge

    cfg = ctx.settings.retention
    if not cfg.raw_days and not cfg.derived_days:
        raise ConfigError("no retention window is set: [retention] raw_days and derived_days are 0 (keep forever)")
    day = as_of.date() if as_of is not None else date.today()  # type: ignore[attr-defined]
    result = do_purge(ctx.settings, open_db(ctx.settings), day, dry_run=dry_run)
    for what, n in result.counts.items():
        click.echo(f"{what:<22} {n:>8,}")
    windows = ", ".join(
        f"{name} before {cut.date().isoformat()}"
        for name, cut in (("raw", result.raw_cutoff), ("derived", result.derived_cutoff)) if cut is not None
    )
    if dry_run:
        click.echo(f"dry run as of {day.isoformat()} ({windows}): {result.total:,} rows would change; nothing changed")
        return
    click.echo(f"purged as of {day.isoformat()} ({windows}): {result.total:,} rows")
    if result.bytes_before:
        click.echo(f"rewrote the database file: {result.bytes_before:,} -> {result.bytes_after:,} bytes")
