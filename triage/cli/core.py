"""Commands that run and administer the pipeline: run, migrate, check-config."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from rich.console import Console

from triage.app import finish_privacy_jobs, open_db
from triage.cli.app import Context, cli, pass_ctx
from triage.db import applied_migrations, migrate, open_database, registered_migrations
from triage.log import quiet_run_failures
from triage.progress import set_reporter
from triage.settings import load_settings

__all__: list[str] = []


def _task_runner(ctx: Context, name: str | None) -> object | None:
    """The Prefect task runner for NLP scoring: threads (default) or Dask (prefect-dask extra)."""
    choice = name or ctx.settings.flow.task_runner
    if choice == "thread":
        return None
    from flows.runners import dask_task_runner

    runner: object = dask_task_runner(ctx.settings)
    return runner


@cli.command(
    epilog="""\b
Examples:
  triage run                          # bundled sample, prints the morning list
  triage run --as-of 2026-11-20       # the list as it was due that day
  triage --config prod.toml run -q    # scheduled use: no bars, summary only
  triage run --summary-json run.json  # write the run summary for monitoring"""
)
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Day the list is for (default: today).")
@click.option("--task-runner", type=click.Choice(["thread", "dask"]), help="Override flow.task_runner.")
@click.option("--no-list", is_flag=True, help="Do not print the list after the run.")
@click.option("--summary-json", type=click.Path(path_type=Path, dir_okay=False), help="Write the run summary here.")
@pass_ctx
def run(ctx: Context, as_of: object, task_runner: str | None, no_list: bool, summary_json: Path | None) -> None:
    """Run the nightly flow once: ingest, parse, detect, score, publish; then print the list.

    Re-running is safe: nothing already stored is stored again, and a run that crashed or lost its
    IMAP connection continues where it stopped.
    """
    from flows.nightly import run_nightly

    quiet_run_failures(ctx.verbose)  # again, now that Prefect has configured its loggers
    settings = ctx.settings  # fail on a bad config before Prefect starts
    day = as_of.date() if as_of is not None else None  # type: ignore[attr-defined]
    console = Console(stderr=True)
    if not ctx.quiet and sys.stderr.isatty():
        from triage.cli.richprogress import RichReporter

        set_reporter(RichReporter(console))
    try:
        summary = run_nightly(
            str(settings.config_file) if settings.config_file else None, day, _task_runner(ctx, task_runner)
        )
    finally:
        set_reporter(None)
    if summary_json:
        summary_json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    console.print(
        f"[bold]run {summary['status']}[/] in {summary['duration_s']:.1f}s: "
        f"{summary['fetched']} fetched, {summary['parsed']} parsed, {summary['transcripts']} transcripts, "
        f"{summary['quarantined']} quarantined, {summary['signals']} signals, "
        f"{summary['accounts_listed']} accounts to call"
    )
    if not no_list:
        from triage.publish import load_call_list
        from triage.publish.terminal import print_call_list

        db = open_db(settings, migrate=False)
        print_call_list(load_call_list(db, as_of=date.fromisoformat(summary["as_of"])), Console())


@cli.command(
    epilog="""\b
Examples:
  triage migrate            # apply pending migrations to the configured database
  triage migrate --status   # list applied and pending migrations"""
)
@click.option("--status", is_flag=True, help="Only show applied and pending migrations.")
@pass_ctx
def migrate_cmd(ctx: Context, status: bool) -> None:
    """Create or upgrade the DuckDB schema (recorded migrations, each in one transaction)."""
    db = open_db(ctx.settings, migrate=False) if status else open_database(ctx.settings, migrate_now=False)
    if status:
        done = set(applied_migrations(db))
        for m in registered_migrations():
            click.echo(f"{'applied' if m.name in done else 'pending'}  {m.name}")
        return
    applied = migrate(db)
    finish_privacy_jobs(ctx.settings, db)  # an erasure or purge a killed process left half-done
    click.echo(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "schema is up to date")


migrate_cmd.name = "migrate"


@cli.command(
    "check-config",
    epilog="""\b
Examples:
  triage check-config                 # the embedded defaults (bundled sample)
  triage check-config prod.toml       # a file; exit code 2 and the reasons if invalid
  triage check-config prod.toml --secrets   # also check the secret env variables are set""",
)
@click.argument("path", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--secrets", is_flag=True, help="Also check that every named secret variable is set.")
@pass_ctx
def check_config(ctx: Context, path: Path | None, secrets: bool) -> None:
    """Validate a config file, its accounts file and mail folders; show the effective settings.

    Secrets are never shown. Exit code 2 and every problem listed when something is wrong.
    """
    from triage.app.setupcheck import check_setup

    settings = load_settings(path) if path else ctx.settings
    accounts = check_setup(settings)
    if secrets:
        for src in settings.sources.imap:
            src.oauth2_token() if src.oauth2_token_env else src.password()
        if settings.digest.enabled:
            settings.digest.password()
        settings.database.encryption_key()
    origin = settings.config_file or "embedded defaults (bundled sample)"
    click.echo(f"config OK: {origin} ({accounts} account(s))")
    click.echo(
        json.dumps(
            settings.model_dump(mode="json", exclude={"config_file"}),
            indent=2,
        )
    )
