"""Settings: embedded defaults, TOML, environment overrides, secrets, clear errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from triage.errors import ConfigError
from triage.log import get_logger, register_secret
from triage.settings import load_settings, sample_data_dir


def test_embedded_defaults_run_the_bundled_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIAGE_CONFIG", raising=False)
    s = load_settings()
    assert s.config_file is None
    assert [src.name for src in s.sources.local] == ["sample"]
    assert s.sources.local[0].path == sample_data_dir() / "mail"
    assert s.transcripts.paths == [sample_data_dir() / "transcripts"]
    assert s.org.accounts_file == sample_data_dir() / "accounts.toml"
    assert s.database.path == Path("triage.duckdb")
    assert s.sources.imap == []


def test_config_file_replaces_the_sample_and_resolves_relative_paths(tmp_path: Path, make_settings) -> None:
    s = make_settings(
        """
[database]
path = "data/t.duckdb"
[org]
our_domains = ["@Northwind.Example", " other.example "]
accounts_file = "accounts.csv"
[[sources.imap]]
name = "main"
host = "imap.example.com"
username = "amy"
folders = ["INBOX", "Clients/Acme"]
"""
    )
    assert s.database.path == tmp_path / "data" / "t.duckdb"
    assert s.org.accounts_file == tmp_path / "accounts.csv"
    assert s.org.our_domains == ["northwind.example", "other.example"]
    assert s.sources.local == []  # no sample leaks into a real config
    imap = s.sources.imap[0]
    assert (imap.security, imap.effective_port, imap.sent_folders) == ("tls", 993, ["Sent"])


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch, make_settings) -> None:
    monkeypatch.setenv("TRIAGE_SCORING__MAX_ACCOUNTS", "7")
    monkeypatch.setenv("TRIAGE_DATABASE__PATH", "/srv/triage/prod.duckdb")
    s = make_settings("[scoring]\nmax_accounts = 3\nhalf_life_days = 5\n")
    assert s.scoring.max_accounts == 7
    assert s.scoring.half_life_days == 5
    assert s.database.path == Path("/srv/triage/prod.duckdb")


def test_config_path_from_environment(monkeypatch: pytest.MonkeyPatch, write_config) -> None:
    path = write_config("[org]\nname = 'Env Co'\n")
    monkeypatch.setenv("TRIAGE_CONFIG", str(path))
    assert load_settings().org.name == "Env Co"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[database\npath=1", "is not valid TOML"),
        ("[databse]\npath = 'x'", "databse: unknown key (valid keys: alerts, config_file, database, digest,"),
        ("[database]\npaht = 'x'", "database.paht: unknown key (valid keys: encryption_key_env, lock_timeout_seconds,"),
        ("[nlp]\nencoder_backend = 'gpu'", "nlp.encoder_backend: Input should be 'onnx' or 'torch', got 'gpu'"),
        ("[scoring]\nmax_accounts = 0", "scoring.max_accounts: Input should be greater than 0"),
        (
            "[[sources.imap]]\nname='a'\nhost='h'\nusername='u'\npassword='hunter22'",
            "secrets are not allowed in the config file (password)",
        ),
        (
            "[[sources.imap]]\nname='a'\nhost='h'\nusername='u'\nsecurity='plain'",
            "security = 'plain' sends the password in clear",
        ),
        (
            "[[sources.local]]\nname='a'\npath='x'\n[[sources.imap]]\nname='a'\nhost='h'\nusername='u'",
            "source names must be unique, repeated: a",
        ),
    ],
)
def test_bad_config_gives_one_clear_error(make_settings, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_settings(text)
    assert expected in str(err.value)
    assert "hunter22" not in str(err.value)


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_secret_comes_from_the_environment_and_is_redacted_from_logs(
    monkeypatch: pytest.MonkeyPatch, make_settings, caplog: pytest.LogCaptureFixture
) -> None:
    s = make_settings("[[sources.imap]]\nname='a'\nhost='h'\nusername='u'\npassword_env='MY_IMAP_PW'\n")
    with pytest.raises(ConfigError, match="MY_IMAP_PW is not set"):
        s.sources.imap[0].password()
    monkeypatch.setenv("MY_IMAP_PW", "s3cr3t-Value")
    pw = s.sources.imap[0].password()
    assert pw.get_secret_value() == "s3cr3t-Value"
    assert "s3cr3t" not in repr(pw) and "s3cr3t" not in str(s.sources.imap[0])
    with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="triage"):
        get_logger("test").info("login with %s failed", "s3cr3t-Value")
        logging.getLogger("other.library").warning("raw line: LOGIN u s3cr3t-Value")
    assert "s3cr3t-Value" not in caplog.text
    assert caplog.text.count("***") == 2


def test_short_values_are_not_registered_as_secrets(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("ab")
    with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="triage"):
        get_logger("test").info("about tabs")
    assert "about tabs" in caplog.text


def _leaf_keys(model: type, prefix: str = "") -> set[str]:
    from pydantic import BaseModel

    keys: set[str] = set()
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        ann = field.annotation
        candidates = [ann, *getattr(ann, "__args__", ())]
        sub = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if sub is not None and sub is not model:
            keys |= _leaf_keys(sub, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def test_config_example_is_valid_and_documents_every_setting() -> None:
    """config.example.toml is the reference: it must load, and name every setting there is."""
    import re
    import tomllib

    from triage.settings import Settings

    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    s = load_settings(example, use_env_config=False)
    assert s.sources.imap[0].security == "tls" and s.sources.local[0].name == "archive"
    text = example.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    # keys present, or mentioned in a comment (optional ones shown commented out)
    commented = set(re.findall(r"^#\s*([a-z0-9_]+)\s*=", text, flags=re.M))

    def present(key: str) -> bool:
        node: object = data
        parts = key.replace("sources.local.", "sources.local.0.").replace("sources.imap.", "sources.imap.0.").split(".")
        for p in parts:
            if isinstance(node, list):
                node = node[int(p)] if p.isdigit() else None
            elif isinstance(node, dict) and p in node:
                node = node[p]
            else:
                return parts[-1] in commented
        return True

    missing = sorted(k for k in _leaf_keys(Settings) if k != "config_file" and not present(k))
    assert missing == [], f"config.example.toml does not document: {missing}"


def test_config_example_shows_the_real_defaults() -> None:
    """Where the example does not show an example value (sources, org, digest server), it shows the default."""
    from triage.settings import Settings

    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    s = load_settings(example, use_env_config=False)
    d = Settings()
    for section in ("database", "parse", "nlp", "scoring", "output", "flow", "alerts"):
        got = getattr(s, section).model_dump(exclude={"models_dir", "path", "html_path"})
        want = getattr(d, section).model_dump(exclude={"models_dir", "path", "html_path"})
        assert got == want, f"[{section}] in config.example.toml differs from the defaults"
    assert s.transcripts.max_bytes == d.transcripts.max_bytes
