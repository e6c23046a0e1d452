"""The CLI: help with examples everywhere, library errors as one 'Error:' line with an exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from triage.cli import _register, cli, main


def _all_commands() -> list[str]:
    _register()
    return sorted(cli.commands)


def test_every_command_has_help_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _all_commands()
    assert {"run", "migrate", "check-config"} <= set(commands)
    for name in commands:
        assert main([name, "--help"]) == 0
        out = capsys.readouterr().out
        assert f"Usage: triage {name}" in out
        assert "Examples:" in out, f"`triage {name} --help` has no examples"


def test_root_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in _all_commands():
        assert name in out


def test_bad_config_is_one_error_line_and_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[database]\nfoo = 1\n", encoding="utf-8")
    assert main(["--config", str(bad), "check-config"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: invalid configuration in ")
    assert "database.foo: unknown key" in err


def test_check_config_secrets_flag_reports_missing_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRIAGE_IMAP_PASSWORD", raising=False)
    cfg = tmp_path / "c.toml"
    cfg.write_text("[[sources.imap]]\nname='main'\nhost='h'\nusername='u'\n", encoding="utf-8")
    assert main(["check-config", str(cfg)]) == 0
    assert "config OK" in capsys.readouterr().out
    assert main(["check-config", str(cfg), "--secrets"]) == 2
    assert "Error: environment variable TRIAGE_IMAP_PASSWORD is not set" in capsys.readouterr().err


def test_migrate_creates_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[database]\npath = "x.duckdb"\n', encoding="utf-8")
    assert main(["--config", str(cfg), "migrate"]) == 0
    assert "applied" in capsys.readouterr().out
    assert (tmp_path / "x.duckdb").exists()
    assert main(["--config", str(cfg), "migrate"]) == 0
    assert "schema is up to date" in capsys.readouterr().out
    assert main(["--config", str(cfg), "migrate", "--status"]) == 0
    assert "applied  0001_core" in capsys.readouterr().out


def test_usage_errors_are_click_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--as-of", "yesterday"]) == 2
    assert "Invalid value for '--as-of'" in capsys.readouterr().err


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).with_name("triage")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert "version" in out.stdout
    assert isinstance(cli, click.Group)
