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


def _table(metrics: list[Any], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col, justify in (("detector", "left"), ("data", "left"), ("method", "left"), ("P", "right"),
                         ("R", "right"), ("F1", "right"), ("false alarms", "right"), ("n (pos)", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for m in metrics:
        style = "bold" if m.method.startswith("model") else "dim"
        fa = "" if m.false_alarms is None else f"{m.false_alarms:.3f}"
        table.add_row(m.detector, m.dataset, m.method, f"{m.precision:.3f}", f"{m.recall:.3f}",
                      f"{m.f1:.3f}", fa, f"{m.n} ({m.positives})", style=style)
    return table


def _print_report(report: Any, title: str) -> None:
    console = _console()
    console.print(_table([m for m in report.metrics if m.external], f"{title}: real data written by outsiders"))
    console.print(_table([m for m in report.metrics if not m.external],
                         "Self-written sets (reported apart, optimistic)"))
    res = report.extras.get("mailex_resolution", {})
    if res:
        click.echo(f"MailEx: {res['later_turn_delivers']} of {res['asks_with_a_later_turn']} asks with a later turn "
                   f"are followed by a delivery ({res['precision_of_any_later_turn_closes_it']:.3f})")
    due = report.extras.get("due_dates", {})
    click.echo(f"due dates on the sanity set: {due.get('resolved_correctly', 0)}/{due.get('gold', 0)} resolved exactly")


def _moved(ctx: Context, data_dir: Path, metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """How the team model's metrics differ from the shipped model's, run in the same command on the same data."""
    from triage.learn.evaluate import evaluate
    from triage.learn.feedback import metrics_moved

    n = ctx.settings.nlp
    shipped = evaluate(data_dir, Path(n.models_dir).resolve(), cache_dir=n.cache_dir, baselines=False)
    return metrics_moved(shipped.as_dict()["metrics"], metrics)


def _print_moved(moved: list[dict[str, Any]]) -> None:
    table = Table(title="Team model against the shipped model", title_justify="left")
    for col in ("detector", "dataset", "F1 shipped", "F1 team", "change", "false alarms shipped", "team"):
        table.add_column(col)
    for m in moved:
        f1 = m.get("f1", {})
        fa = m.get("false_alarms", {})
        table.add_row(m["detector"], m["dataset"], _f(f1.get("before")), _f(f1.get("after")),
                      f"{f1['change']:+.3f}" if f1 else "", _f(fa.get("before")), _f(fa.get("after")))
    _console().print(table)


def _f(v: float | None) -> str:
    return "" if v is None else f"{v:.3f}"


@cli.command(
    "eval",
    epilog="""\b
Examples:
  triage eval                          # every detector, per unit, next to v1, VADER and keyword rules
  triage eval --json > eval.json       # the same as JSON
  triage eval --data-dir /data/shared  # shared data elsewhere
  triage eval --no-baselines           # the shipped model only (faster)""",
)
@_DATA_DIR
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout instead of tables.")
@click.option("--no-baselines", is_flag=True, help="Skip v1 and VADER (keyword rules still run).")
@pass_ctx
def eval_cmd(ctx: Context, data_dir: Path | None, as_json: bool, no_baselines: bool) -> None:
    """The shipped detectors on real development data, decision per unit, next to the baselines.

    Headline: complaints (tweets, fixed 20% test part), GoEmotions dev (frustration), Parakweet (fixed
    20% test part) and MailEx thread turns (asks), Berkeley Enron messages (calm messages flagged,
    negative-tone recall). Apart: our own seed sets and the client-email sanity set.
    """
    from triage.learn.data import shared_data_dir
    from triage.learn.evaluate import evaluate
    from triage.nlp.spec import spec_from_settings

    spec = spec_from_settings(ctx.settings)  # the model the runs use: the team's, else the shipped one
    models = Path(spec.models_dir)
    team = models != Path(ctx.settings.nlp.models_dir).resolve()
    cache = Path(spec.cache_dir) if spec.cache_dir else None
    data = shared_data_dir(data_dir)
    with _progress(ctx):
        report = evaluate(data, models, cache_dir=cache, baselines=not no_baselines)
        out = report.as_dict()
        moved = _moved(ctx, data, out["metrics"]) if team else None
    if as_json:
        click.echo(json.dumps({**out, "models": str(models), "moved_from_shipped": moved}, indent=2))
        return
    _print_report(report, f"Detectors ({'team model' if team else 'models'} in {models})")
    if moved:
        _print_moved(moved)


@cli.command(
    "score-text",
    epilog="""\b
Input (stdin), one JSON object per line: {"id": ..., "text": ...}
  optional: "party": client|us|unknown (default client), "date": YYYY-MM-DD (resolves due dates)
Each text is one unit (a message, an utterance), decided as the nightly run decides it: cut to
nlp.max_unit_chars, the writer's own words only (pasted articles and boilerplate do not count).
Output (stdout), exactly one line per input line, in order:
  {"id", "frustration", "complaint", "buying_signal", "ask", "labels": {...}}   unit scores 0..1, decisions
  {"id", "commitment", "labels": {...}}                  for "party": "us" (our own text: promises only)
  {"id", "error"}                                        for a line that cannot be scored (blank, not JSON)
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
    """Score texts from stdin (JSONL) for frustration, complaints, buying signals and asks; JSONL out."""
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
        scored, errors = score_stream(runtime, src, out, explain=explain, max_chars=ctx.settings.nlp.max_unit_chars)
    finally:
        out.detach()
        src.detach()
    if errors and not ctx.quiet:
        click.echo(f"{scored} scored, {errors} line(s) with errors", err=True)


@cli.command(
    "train",
    epilog="""\b
Examples:
  triage train                           # fine-tune + heads -> models/, MODEL_CARD.md, metrics.json
  triage train --data-dir /data/shared   # shared data elsewhere
  triage train --mode top --models-dir /tmp/top2   # another fine-tuning mode, somewhere else
  triage train --limit 200 --epochs 0.05 --no-eval --models-dir /tmp/smoke   # a quick smoke run
  triage train --thresholds-only         # after a rule change: thresholds, evaluation and card again
  triage train --heads-only              # the heads again on the shipped encoder (cached vectors)
  triage train --with-feedback           # a team model from the AMs' clicks, installed only if the
                                         # gate passes (docs/learning.md); `triage model rollback`

Takes about 15-25 minutes on 2 cores (see models/MODEL_CARD.md): fine-tuning, the int8 export of the
fine-tuned encoder, encoding every training row with it, thresholds through the real pipeline, and the
evaluation. models/ is replaced only when everything succeeded.""",
)
@_DATA_DIR
@click.option("--models-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Where the model goes (default: nlp.models_dir).")
@click.option("--mode", type=click.Choice(["lora", "top", "full"]), default="lora", show_default=True,
              help="Fine-tuning: LoRA adapters on every linear layer, the top blocks, or every block "
                   "(full: ~21 MB, over what may ship; for measuring).")
@click.option("--rank", type=int, default=16, show_default=True, help="LoRA rank.")
@click.option("--top-layers", type=int, default=2, show_default=True, help="Blocks trained with --mode top.")
@click.option("--epochs", type=float, default=2.0, show_default=True, help="Passes over the training rows.")
@click.option("--limit", type=int, help="At most this many rows per data source (smoke runs only).")
@click.option("--no-eval", is_flag=True, help="Skip the evaluation and the model card (smoke runs only).")
@click.option("--thresholds-only", is_flag=True,
              help="Keep the trained encoder and heads; choose the thresholds again and re-evaluate (minutes).")
@click.option("--heads-only", is_flag=True,
              help="Keep the fine-tuned encoder; fit the heads and thresholds again and re-evaluate (minutes).")
@click.option("--with-feedback", is_flag=True,
              help="Learn from the account managers' clicks in the database ('Not a problem' as negatives, "
                   "'Confirm' as positives): a team model, installed only when the gate passes "
                   "(docs/learning.md). Leaves models/ alone.")
@pass_ctx
def train_cmd(ctx: Context, data_dir: Path | None, models_dir: Path | None, mode: str, rank: int, top_layers: int,
              epochs: float, limit: int | None, no_eval: bool, thresholds_only: bool, heads_only: bool,
              with_feedback: bool) -> None:
    """Fine-tune the encoder, fit the detector heads and thresholds, evaluate, write the model card."""
    from triage.learn.data import shared_data_dir
    from triage.learn.metrics import EvalReport, Metric
    from triage.learn.train import default_options, train

    n = ctx.settings.nlp
    target = models_dir or Path(n.models_dir)
    if with_feedback:
        from triage.cli.feedback import author_of
        from triage.cli.learning import train_with_feedback

        if thresholds_only or heads_only or models_dir or no_eval or limit:
            raise click.UsageError("--with-feedback makes a team model on its own: it takes only --data-dir")
        with _progress(ctx):
            train_with_feedback(ctx, shared_data_dir(data_dir), author_of(None))
        return
    options = default_options(mode=mode, rank=rank, top_layers=top_layers, epochs=epochs, limit=limit,
                              evaluate=not no_eval, thresholds_only=thresholds_only, heads_only=heads_only)
    with _progress(ctx):
        result = train(shared_data_dir(data_dir), target, cache_dir=n.cache_dir, options=options)
    if no_eval:
        click.echo(f"trained into {target} (no evaluation): rows {result['rows']}")
        return
    report = EvalReport([Metric(**m) for m in result["metrics"]], result["extras"])
    _print_report(report, f"Trained in {result['extras'].get('train_seconds')} s")
    click.echo(f"model card: {target / 'MODEL_CARD.md'}")
