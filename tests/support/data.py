"""A smaller copy of the shared labelled data: every ``step``-th row, item or file of each real dataset,
in the same layout, so the loaders, splits and evaluation run unchanged on real text in seconds.

Used by the tests of ``triage train --with-feedback``, whose full run (two evaluations and the training
rows of every dataset) takes minutes. Nothing is written or changed: rows are only left out. Small files
(licences, label lists, provenance) are copied whole.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

__all__ = ["thin_data"]

_WHOLE = 20_000  # bytes: label lists, licences, provenance


def _thin_file(src: Path, dst: Path, step: int) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.stat().st_size <= _WHOLE:
        shutil.copyfile(src, dst)
    elif src.suffix == ".json":
        items = json.loads(src.read_text(encoding="utf-8"))
        if isinstance(items, list):
            items = items[::step]
        dst.write_text(json.dumps(items), encoding="utf-8")
    elif src.suffix in {".tsv", ".txt", ".csv"}:
        # the shared TSVs have no header row
        dst.write_bytes(b"".join(src.read_bytes().splitlines(keepends=True)[::step]))
    else:
        shutil.copyfile(src, dst)


def _thin_dir(src: Path, dst: Path, step: int) -> None:
    entries = sorted(src.iterdir())
    files = [p for p in entries if p.is_file()]
    stems = sorted({p.stem for p in files})
    # a folder of many small documents (mail, meetings, labelled messages): every step-th document,
    # a document's files (174517.txt and 174517.cats) kept together
    keep = set(stems[::step]) if len(stems) > 2 * step else set(stems)
    for p in files:
        if p.stem in keep:
            _thin_file(p, dst / p.name, step)
    for p in entries:
        if p.is_dir():
            _thin_dir(p, dst / p.name, step)


def thin_data(src: Path, dst: Path, step: int = 8) -> Path:
    """``dst``: ``src`` with every ``step``-th row, item or document; returns ``dst``."""
    for p in sorted(src.iterdir()):
        if p.is_dir():
            # a dataset folder: its files are thinned by rows, its sub-folders by documents
            for f in sorted(p.iterdir()):
                if f.is_file():
                    _thin_file(f, dst / p.name / f.name, step)
                else:
                    _thin_dir(f, dst / p.name / f.name, step)
        else:
            _thin_file(p, dst / p.name, step)
    return dst
