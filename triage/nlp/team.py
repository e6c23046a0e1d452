"""The team's own models: what ``triage train --with-feedback`` installed, which one the runs use, and
the way back (``triage model status | rollback``).

Layout of ``[learn] team_models_dir`` (default: ``team-models`` beside the database file)::

    versions/<stamp>/      encoder/ (the shipped adapter), heads.json, heads.npz, metrics.json, learning.json
    CURRENT                the version the runs use (absent or empty: the shipped model)
    HISTORY.jsonl          one line per event: installed, refused, rolled back, retired

A version is made for one shipped model (``learning.json`` names the shipped heads' file hash): after
an upgrade of the shipped model the team version is *stale* and the runs use the shipped model again
(with a warning) until the next ``train --with-feedback``. Only the heads change; the encoder is the
shipped one, so its int8 export (in the shipped model's build directory) is reused.

Files hold weights, thresholds, counts and feedback ids, never client text.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage.errors import TriageError
from triage.log import get_logger
from triage.nlp.heads import head_file_hash

__all__ = [
    "TeamModels",
    "TeamVersion",
    "active_models_dir",
    "team_models",
]

log = get_logger("nlp.team")

CURRENT = "CURRENT"
HISTORY = "HISTORY.jsonl"
VERSIONS = "versions"
LEARNING = "learning.json"
#: the files a version holds (the encoder adapter is a directory)
VERSION_FILES = ("heads.json", "heads.npz", "metrics.json", LEARNING)
_warned: set[str] = set()


@dataclass(frozen=True)
class TeamVersion:
    name: str
    path: Path
    meta: dict[str, Any]

    @property
    def base_heads(self) -> str:
        return str(self.meta.get("base_heads_hash", ""))

    @property
    def feedback_ids(self) -> frozenset[str]:
        return frozenset(self.meta.get("feedback_ids", []))


class TeamModels:
    """One team's models directory (see the module docstring)."""

    def __init__(self, root: Path, shipped: Path) -> None:
        self.root = root
        self.shipped = shipped

    # --- reading -------------------------------------------------------------------------------------
    def versions(self) -> list[TeamVersion]:
        out = []
        base = self.root / VERSIONS
        if not base.is_dir():
            return []
        for path in sorted(base.iterdir()):
            meta_file = path / LEARNING
            if path.is_dir() and not path.is_symlink() and meta_file.is_file():
                try:
                    meta = json.loads(meta_file.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                out.append(TeamVersion(path.name, path, meta if isinstance(meta, dict) else {}))
        return out

    def current_name(self) -> str | None:
        try:
            name = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return name or None

    def current(self) -> TeamVersion | None:
        """The installed version, or None (the shipped model); a stale or missing one counts as None."""
        name = self.current_name()
        if name is None:
            return None
        found = next((v for v in self.versions() if v.name == name), None)
        if found is None:
            self._warn(name, f"team model {name} named in {self.root / CURRENT} is missing; using the shipped model")
            return None
        if found.base_heads != head_file_hash(self.shipped):
            self._warn(name, f"team model {name} was made for another shipped model; using the shipped model "
                             "until the next `triage train --with-feedback`")
            return None
        return found

    def history(self, last: int | None = None) -> list[dict[str, Any]]:
        try:
            lines = (self.root / HISTORY).read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict):
                out.append(item)
        return out[-last:] if last else out

    # --- writing -------------------------------------------------------------------------------------
    def record(self, event: str, **facts: Any) -> dict[str, Any]:
        """Append one event to the history (``fsync``-ed: a crash keeps every finished line)."""
        self.root.mkdir(parents=True, exist_ok=True)
        item = {"at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "event": event, **facts}
        with (self.root / HISTORY).open("a", encoding="utf-8") as f:
            f.write(json.dumps(item, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return item

    def add_version(self, staged: Path, name: str) -> TeamVersion:
        """Move a finished staging directory in as ``versions/<name>`` (one rename: all or nothing)."""
        dest = self.root / VERSIONS / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            raise TriageError(f"team model {name} exists already")
        os.replace(staged, dest)
        meta = json.loads((dest / LEARNING).read_text(encoding="utf-8"))
        return TeamVersion(name, dest, meta)

    def set_current(self, name: str | None) -> None:
        """Point the runs at ``name`` (None: the shipped model), atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".current-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write((name or "") + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / CURRENT)

    def rollback(self, *, by: str | None = None) -> str | None:
        """Back to the version installed before the current one (or the shipped model); returns its name."""
        now = self.current_name()
        installed = [h["version"] for h in self.history() if h.get("event") == "installed" and h.get("version")]
        known = {v.name for v in self.versions()}
        if now is None:
            raise TriageError("the shipped model is in use already: nothing to roll back")
        upto = max((i for i, n in enumerate(installed) if n == now), default=len(installed))
        before = next((n for n in reversed(installed[:upto]) if n != now and n in known), None)
        self.set_current(before)
        self.record("rolled back", version=now, to=before or "shipped", by=by)
        return before

    def retire(self, names: set[str], *, why: str) -> str | None:
        """Delete versions (e.g. trained on an erased account's feedback); when the current one goes, the
        newest remaining installed version (or the shipped model) takes over. Returns what is now current."""
        now = self.current_name()
        for v in self.versions():
            if v.name in names:
                shutil.rmtree(v.path, ignore_errors=True)
                self.record("retired", version=v.name, why=why)
        if now in names:
            known = {v.name for v in self.versions()}
            installed = [h["version"] for h in self.history() if h.get("event") == "installed"]
            left = [n for n in installed if n in known]
            self.set_current(left[-1] if left else None)
            return left[-1] if left else None
        return now

    def _warn(self, key: str, message: str) -> None:
        if key not in _warned:
            _warned.add(key)
            log.warning(message)


def team_dir(database_path: Path, configured: Path | None) -> Path:
    return configured if configured is not None else Path(database_path).resolve().parent / "team-models"


def team_models(settings: Any) -> TeamModels:
    """The team models of ``settings`` (``[learn] team_models_dir``, ``[nlp] models_dir``)."""
    return TeamModels(team_dir(settings.database.path, settings.learn.team_models_dir),
                      Path(settings.nlp.models_dir).resolve())


def active_models_dir(settings: Any) -> tuple[Path, bool]:
    """(the models directory the runs use, whether it is a team version)."""
    team = team_models(settings)
    current = team.current()
    if current is None:
        return team.shipped, False
    return current.path, True
