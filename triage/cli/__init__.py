"""The ``triage`` command line: a thin layer over the application layer and the library.

Library errors (:class:`triage.errors.TriageError`) become one ``Error: ...`` line on stderr and the
error's exit code; nothing else of the library prints.
"""

from __future__ import annotations

import sys

import click

from triage.cli.app import cli
from triage.errors import TriageError

__all__ = ["cli", "main"]


def _register() -> None:
    # each module adds its commands to `cli`; imported here so `triage --help` lists them all
    from triage.cli import account, core, feedback, learning, nlp, outputs, privacy, web  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    _register()
    try:
        cli.main(args=argv, prog_name="triage", standalone_mode=False)
    except TriageError as e:
        click.echo(f"Error: {e}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
