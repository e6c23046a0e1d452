"""NLP commands: eval, score-text, train (owned by the detectors work)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from triage.cli.app import Context, cli, pass_ctx
from triage.progress import set_reporter

__all__: list[str] = []

_DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Shared development data (default: $TRIAGE_SHARED_DATA or ../shared/data).",
)


@contextmanager
def _progress(ctx: Context) -> Iterator[None]:
    if not ctx.quiet and sys.stderr.isatty():
        from triage.cli.richprogress import RichReporter

        set_reporter(RichReporter(Console(stderr=True)))
    try:
        yield
    finally:
        set_reporter(None)


def _console() -> Console:
    """stdout console; wide enough for the table when piped (no terminal width to go by)."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def _table(report: Any, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col, justify in (("detector", "left"), ("data", "left"), ("method", "left"), ("P", "right"),
                         ("R", "right"), ("F1", "right"), ("n (pos)", "right"), ("protocol", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for m in report.metrics:
        style = "bold" if m.method == "model" else "dim"
        table.add_row(m.detector, m.dataset, m.method, f"{m.precision:.3f}", f"{m.recall:.3f}",
                      f"{m.f1:.3f}", f"{m.n} ({m.positives})", m.protocol, style=style)
    return table


@cli.command(
    "eval",
    epilog="""\b
Examples:
  triage eval                          # P/R/F1 per detector next to the baselines
  triage eval --json > eval.json       # the same as JSON
  triage eval --data-dir /data/shared  # shared data elsewhere
  triage eval --no-cv                  # skip the cross-validation re-training (faster)""",
)
@_DATA_DIR
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout instead of a table.")
@click.option("--no-cv", is_flag=True, help="Skip the cross-validated rows (ask, buying_signal).")
@pass_ctx
def eval_cmd(ctx: Context, data_dir: Path | None, as_json: bool, no_cv: bool) -> None:
    """Precision/recall/F1 of the shipped detectors on the development data, with baselines.

    Frustration: GoEmotions dev (production pipeline), VADER and keyword baselines. Asks: Parakweet,
    5-fold cross-validation. Buying signals: our seed set, 5-fold cross-validation. Plus the client-email
    sanity set. Uses nlp.models_dir and nlp.encoder_backend from the configuration.
    """
    from triage.nlp.data import shared_data_dir
    from triage.nlp.evaluate import evaluate

    n = ctx.settings.nlp
    with _progress(ctx):
        report = evaluate(shared_data_dir(data_dir), n.models_dir, backend=n.encoder_backend,
                          cache_dir=n.cache_dir, with_cv=not no_cv)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    console = _console()
    console.print(_table(report, f"Detectors ({n.encoder_backend} encoder, models in {n.models_dir})"))
    due = report.extras.get("due_dates", {})
    click.echo(f"due dates on the sanity set: {due.get('resolved_correctly', 0)}/{due.get('gold', 0)} resolved exactly")


@cli.command(
    "score-text",
    epilog="""\b
Input (stdin), one JSON object per line: {"id": ..., "text": ...}
  optional: "party": client|us|unknown (default client), "date": YYYY-MM-DD (resolves due dates)
Output (stdout), one line per input line, in order:
  {"id", "frustration", "buying_signal", "ask", "labels": {...}}   scores 0..1, labels thresholded
  {"id", "error"}                                                  for a line that cannot be scored
\b
Examples:
  echo '{"id": 1, "text": "Could you send a quote for 20 more seats?"}' | triage score-text
  triage score-text --threshold-profile precision < sentences.jsonl > scores.jsonl
  triage score-text --explain < mail.jsonl      # also the evidence sentences, subtypes, due dates""",
)
@click.option("--threshold-profile", type=click.Choice(["balanced", "precision", "recall"]),
              help="Thresholds: best F1 (balanced, default), F0.5 (precision) or F2 (recall).")
@click.option("--explain", is_flag=True, help="Add the signals (sentence, subtype, rules, due date) per text.")
@pass_ctx
def score_text(ctx: Context, threshold_profile: str | None, explain: bool) -> None:
    """Score texts from stdin (JSONL) for frustration, buying signals and asks; JSONL on stdout."""
    from triage.nlp.runtime import get_runtime, spec_from_settings
    from triage.nlp.scoring import score_stream

    spec = spec_from_settings(ctx.settings)
    if threshold_profile:
        from dataclasses import replace

        spec = replace(spec, profile=threshold_profile)
    runtime = get_runtime(spec)
    # undecodable bytes become U+FFFD instead of ending the stream
    src = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", write_through=True)
    try:
        scored, errors = score_stream(runtime, src, out, explain=explain)
    finally:
        out.detach()
        src.detach()
    if errors and not ctx.quiet:
        click.echo(f"{scored} scored, {errors} line(s) with errors", err=True)


@cli.command(
    "train",
    epilog="""\b
Examples:
  triage train                           # heads -> models/, MODEL_CARD.md, metrics.json
  triage train --data-dir /data/shared   # shared data elsewhere
  TRIAGE_NLP__ENCODER_BACKEND=torch triage train   # heads for the torch backend (not the default)

Embeddings are cached in the build dir (models/.build), so re-training takes a minute or two.""",
)
@_DATA_DIR
@pass_ctx
def train_cmd(ctx: Context, data_dir: Path | None) -> None:
    """Train the three detector heads on the development data and write the model card."""
    from triage.nlp.data import shared_data_dir
    from triage.nlp.evaluate import EvalReport, Metric
    from triage.nlp.train import train_all

    n = ctx.settings.nlp
    with _progress(ctx):
        result = train_all(shared_data_dir(data_dir), Path(n.models_dir), backend=n.encoder_backend,
                           cache_dir=n.cache_dir)
    report = EvalReport([Metric(**m) for m in result["metrics"]], result["extras"])
    console = _console()
    console.print(_table(report, f"Trained heads ({result['extras'].get('train_seconds')} s)"))
    click.echo(f"model card: {Path(n.models_dir) / 'MODEL_CARD.md'}")
