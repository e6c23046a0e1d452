"""Measure quote/signature stripping on real Enron mail (``python -m bench.quote_eval``).

Compares methods on a hand-checked set (``tests/fixtures/parse/enron_new_text.jsonl``: one Enron dev
message per line with the new text written down by hand, either literally or as a span of the body
with parts dropped) and, over every Enron dev file, counts outputs that still contain quote markers.

Methods:

* ``rules``: :func:`triage.parse.quotes.new_text` without the library step;
* ``mail_parser_reply_headers+rules``: :func:`triage.parse.quotes.new_text` (what the pipeline
  uses): mail-parser-reply's multilingual reply-header cut, then the rules;
* ``mail_parser_reply``: ``EmailReplyParser(languages=["en"]).read(text).replies[0].body``;
* ``quotequail``: the first, not-quoted part of ``quotequail.quote(text)``;
* ``quotequail+rules``: quotequail's cut, then the rules.

Metrics per method: exact-ish match (token precision and recall both >= 0.95, or both empty),
residual quote markers (:func:`triage.parse.quotes.quote_markers`), lost new text (token recall
< 0.9), extra text (token precision < 0.9), mean token precision / recall. Writes JSON and a
markdown table (for docs/parsing.md).
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from triage.parse.mime import parse_mail
from triage.parse.quotes import new_text
from triage.parse.text import normalise_text

__all__ = ["METHODS", "evaluate", "expected_text", "main", "quote_markers", "token_scores"]

DEV_CUSTODIANS = ("allen-p", "arnold-j", "arora-h")  # badeer-r is held out: never read it


def _mail_parser_reply(text: str) -> str:
    from mailparser_reply import EmailReplyParser

    msg = EmailReplyParser(languages=["en"]).read(text)
    return msg.replies[0].body if msg.replies else ""


def _quotequail(text: str) -> str:
    import quotequail

    parts = quotequail.quote(text)
    return "\n".join(t for expanded, t in parts if expanded).strip()


METHODS: dict[str, Callable[[str], str]] = {
    "rules": lambda t: new_text(t, use_library=False),
    "mail_parser_reply_headers+rules": new_text,
    "mail_parser_reply": _mail_parser_reply,
    "quotequail": _quotequail,
    "quotequail+rules": lambda t: new_text(_quotequail(t), use_library=False),
}


_MARK_QUOTED = re.compile(r"^\s*>", re.M)
_MARK_PHRASE = re.compile(
    r"original message|forwarded by|forwarded message|begin forwarded|(?:wrote|writes)\s*:\s*$", re.I | re.M
)
_MARK_HEADER = re.compile(r"^\s*\*?(?:from|sent|to|cc|subject)\*?\s*:", re.I)


def quote_markers(text: str) -> list[str]:
    """Quote/forward markers left in ``text``: deliberately simple and independent of the rules
    in :mod:`triage.parse.quotes`, so that it can catch what they miss."""
    found = ["quoted_line"] * len(_MARK_QUOTED.findall(text))
    found += [m.group(0).strip().lower() for m in _MARK_PHRASE.finditer(text)]
    lines = text.split("\n")
    for i in range(len(lines)):
        if _MARK_HEADER.match(lines[i]) and sum(bool(_MARK_HEADER.match(x)) for x in lines[i : i + 6]) >= 2:
            found.append("header_block")
            break
    return found


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def token_scores(output: str, expected: str) -> tuple[float, float]:
    """(precision, recall) of output tokens against expected tokens (order-aware matching)."""
    out, exp = _tokens(output), _tokens(expected)
    if not out and not exp:
        return 1.0, 1.0
    sm = difflib.SequenceMatcher(None, out, exp, autojunk=False)
    matched = sum(b.size for b in sm.get_matching_blocks())
    return (matched / len(out) if out else 1.0), (matched / len(exp) if exp else 1.0)


def expected_text(row: dict[str, Any], body: str) -> str:
    """The hand-written expectation: literal ``expected``, or ``span`` of the body minus ``drop``."""
    if "expected" in row:
        return str(row["expected"])
    start, end = row["span"]
    i = body.index(start)
    j = body.index(end, i) + len(end)
    text = body[i:j]
    for d in row.get("drop", []):
        text = text.replace(d, "")
    return text


def _body(path: Path) -> str:
    return parse_mail(path.read_bytes()).body_text


def _load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score_set(enron_dir: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-method metrics over one hand-checked set."""
    results: dict[str, Any] = {"labelled": len(rows), "methods": {}}
    bodies = {r["file"]: _body(enron_dir / r["file"]) for r in rows}
    for name, fn in METHODS.items():
        exact = residual = lost = extra = 0
        precs, recs, failures = [], [], []
        t0 = time.perf_counter()
        for r in rows:
            body = bodies[r["file"]]
            exp = normalise_text(expected_text(r, body))
            out = fn(body)
            p, rc = token_scores(out, exp)
            precs.append(p)
            recs.append(rc)
            ok = p >= 0.95 and rc >= 0.95
            exact += ok
            residual += bool(quote_markers(out))
            lost += rc < 0.9
            extra += p < 0.9
            if not ok:
                failures.append({"file": r["file"], "precision": round(p, 3), "recall": round(rc, 3)})
        n = len(rows)
        results["methods"][name] = {
            "exact_ish": exact / n,
            "residual_quote_markers": residual / n,
            "lost_new_text": lost / n,
            "extra_text": extra / n,
            "mean_precision": sum(precs) / n,
            "mean_recall": sum(recs) / n,
            "ms_per_message": 1000 * (time.perf_counter() - t0) / n,
            "failures": failures,
        }
    return results


def evaluate(enron_dir: Path, labelled: list[Path]) -> dict[str, Any]:
    results: dict[str, Any] = {"sets": {p.stem: score_set(enron_dir, _load(p)) for p in labelled}}
    files = [f for c in DEV_CUSTODIANS for f in sorted((enron_dir / c).rglob("*")) if f.is_file()]
    all_bodies = [_body(f) for f in files]
    results["all_dev_files"] = len(files)
    results["input_with_markers"] = sum(bool(quote_markers(b)) for b in all_bodies) / len(files)
    results["residual_all"] = {
        name: sum(bool(quote_markers(fn(b))) for b in all_bodies) / len(files) for name, fn in METHODS.items()
    }
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = []
    for set_name, res in results["sets"].items():
        lines += [
            f"Set `{set_name}`: {res['labelled']} hand-checked Enron dev messages.",
            "",
            "| method | exact-ish | residual quote markers | lost new text | extra text | token P | token R | ms/msg |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, m in res["methods"].items():
            lines.append(
                f"| {name} | {m['exact_ish']:.0%} | {m['residual_quote_markers']:.0%} "
                f"| {m['lost_new_text']:.0%} | {m['extra_text']:.0%} | {m['mean_precision']:.3f} "
                f"| {m['mean_recall']:.3f} "
                f"| {m['ms_per_message']:.2f} |"
            )
        lines.append("")
    lines += [
        "",
        f"All {results['all_dev_files']} Enron dev files: {results['input_with_markers']:.1%} of the"
        f" bodies contain "
        "quote markers before stripping; share still containing them after:",
        "",
        "| method | outputs with quote markers |",
        "|---|---|",
    ]
    lines += [f"| {name} | {share:.1%} |" for name, share in results["residual_all"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    repo = Path(__file__).resolve().parents[2]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enron", type=Path, default=repo.parent / "shared" / "data" / "enron-maildir")
    fixtures = repo / "tests" / "fixtures" / "parse"
    ap.add_argument(
        "--labelled",
        type=Path,
        nargs="+",
        default=[fixtures / "enron_new_text.jsonl", fixtures / "enron_new_text_validation.jsonl"],
    )
    ap.add_argument("--out", type=Path, default=Path("quote_eval.json"))
    args = ap.parse_args(argv)
    results = evaluate(args.enron, args.labelled)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    md = markdown(results)
    args.out.with_suffix(".md").write_text(md, encoding="utf-8")
    print(md, end="")


if __name__ == "__main__":
    main()
