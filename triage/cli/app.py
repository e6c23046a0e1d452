"""The root ``triage`` command group and what every command shares (config, logging, output)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import click

from triage.log import quiet_run_failures
from triage.settings import Settings, load_settings

__all__ = ["Context", "cli", "pass_ctx"]


@dataclass
class Context:
    config_path: Path | None
    verbose: int
    quiet: bool
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """Loaded on first use, so `--help` works even with a broken config."""
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings


pass_ctx = click.make_pass_decorator(Context)


#: Prefect's background services log their shutdown progress ("Still processing items ...") as warnings
#: under their class names; nothing a user can act on, shown with -v only
_PREFECT_SERVICE_LOGGERS = ("EventsWorker", "APILogWorker")


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = (
        logging.ERROR if quiet else (logging.DEBUG if verbose >= 2 else logging.INFO if verbose else logging.WARNING)
    )
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("triage").setLevel(level)
    for name in _PREFECT_SERVICE_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.ERROR)
    # an expected error is one `Error: ...` line: Prefect's own failure records (with tracebacks)
    # only show with -v (without the traceback) or -vv (with it)
    quiet_run_failures(verbose)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  triage run                      # the bundled sample -> ./triage.duckdb, prints the list
  triage --config prod.toml run   # your sources and accounts
  triage list --json              # today's list for scripts
  triage check-config prod.toml   # validate a config file without running

Configuration: --config FILE or $TRIAGE_CONFIG (TOML, see config.example.toml);
any key can be overridden as TRIAGE_SECTION__KEY=value. Secrets come from the environment only.""",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="TRIAGE_CONFIG",
    help="TOML config file (default: the bundled sample).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors, no progress bars.")
@click.version_option(package_name="triage")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int, quiet: bool) -> None:
    """Nightly triage of client e-mail and meeting notes: who does an account manager call today, and why."""
    _setup_logging(verbose, quiet)
    # offline, quiet Prefect unless the user configured it otherwise
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_UI_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "WARNING")
    ctx.obj = Context(config_path=config_path, verbose=verbose, quiet=quiet)
