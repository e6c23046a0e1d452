"""The score cache: what the model said about a sentence (or passage), so it never reaches the encoder twice.

Keyed by a 64-bit hash of the text as the encoder sees it (lower-cased, whitespace collapsed: the
uncased WordPiece tokenizer gives such variants the same ids) within a *model version* (the encoder
identity and the heads). Values are the raw head probabilities of every detector and the subtype of
each detector that has one. Rules, floors, caps and thresholds are applied after the cache, so a new
rule table or threshold reuses every entry; a new encoder or new heads start a new namespace.

Signatures, greetings, forwarded lines and every sentence of a re-run hit the cache. Encoding is
batch-invariant (one sentence per ONNX call, :mod:`triage.nlp.encoder`), so a cached score is exactly
the score a fresh computation would give: the cache changes speed, never results.

Persistence: the DuckDB table ``sentence_cache`` (hashes and numbers only, never text). The detect
stage loads the current model's entries into this process (:func:`load`) in its read phase; new entries
travel back with each batch's signals and are written with them (:func:`rows_table`), so resumed runs
and Dask workers' results are kept too. The table is bounded (``nlp.cache_max_entries``): the oldest
entries go first.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

__all__ = ["CacheRow", "ScoreCache", "VectorMemo", "get_cache", "key_of", "rows_table", "vector_memo"]

#: (raw head scores per detector, subtype index per detector with subtypes; -1 = none)
Entry = tuple[tuple[float, ...], tuple[int, ...]]


def key_of(text: str) -> int:
    """The signed 64-bit key of ``text`` as the encoder sees it."""
    norm = " ".join(text.lower().split())
    return int.from_bytes(hashlib.blake2b(norm.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


@dataclass(frozen=True)
class CacheRow:
    key: int
    scores: tuple[float, ...]
    subtypes: tuple[int, ...]


@dataclass
class ScoreCache:
    """One model version's entries in this process (thread-safe), and what was added since loading."""

    model: str
    entries: dict[int, Entry] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0
    _new: dict[int, Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get_many(self, keys: Sequence[int]) -> list[Entry | None]:
        with self._lock:
            out = [self.entries.get(k) for k in keys]
            found = sum(e is not None for e in out)
            self.hits += found
            self.misses += len(out) - found
            return out

    def has(self, key: int) -> bool:
        with self._lock:
            return key in self.entries

    def put_many(self, items: Iterable[tuple[int, Entry]]) -> None:
        with self._lock:
            for k, v in items:
                if k not in self.entries:
                    self.entries[k] = v
                    self._new[k] = v

    def take_new(self) -> list[CacheRow]:
        """The entries added since the last call (to be stored with the batch that made them)."""
        with self._lock:
            rows = [CacheRow(k, s, t) for k, (s, t) in self._new.items()]
            self._new.clear()
            return rows

    def load_table(self, table: pa.Table) -> int:
        """Replace this process's entries by the rows of a ``sentence_cache`` query (key, scores,
        subtypes): the database is the truth (a process may serve several databases, e.g. tests or
        ``triage eval``); returns how many."""
        with self._lock:
            self.entries.clear()
            self._new.clear()
        if table.num_rows == 0:
            return 0
        keys = table.column("key").to_pylist()
        scores = table.column("scores").to_pylist()
        subtypes = table.column("subtypes").to_pylist()
        with self._lock:
            for k, sc, st in zip(keys, scores, subtypes, strict=True):
                self.entries.setdefault(int(k), (tuple(float(x) for x in sc), tuple(int(x) for x in st)))
        return int(table.num_rows)


_caches: OrderedDict[str, ScoreCache] = OrderedDict()
_caches_lock = threading.Lock()
#: models kept in memory at once (a run uses one; evaluation compares a few)
_MODELS_KEPT = 4


def get_cache(model: str) -> ScoreCache:
    """This process's cache of ``model`` (created empty on first use; the least recently used go)."""
    with _caches_lock:
        cache = _caches.get(model)
        if cache is None:
            cache = _caches[model] = ScoreCache(model)
            while len(_caches) > _MODELS_KEPT:
                _caches.popitem(last=False)
        _caches.move_to_end(model)
        return cache


class VectorMemo:
    """Encoder vectors by (encoder identity, text key), kept in this process while :func:`vector_memo` is
    on: learning builds several candidate heads over one encoder, and each candidate's evaluation then
    costs the heads alone. Off in the nightly run (it holds 1.5 kB per text). A vector is what the encoder
    gives for the text (encoding is batch-invariant), so scores from it equal fresh scores exactly."""

    def __init__(self) -> None:
        self.on = 0
        self._vectors: dict[tuple[str, int], Any] = {}
        self._lock = threading.Lock()

    def get(self, encoder: str, keys: Sequence[int]) -> list[Any]:
        if not self.on:
            return [None] * len(keys)
        with self._lock:
            return [self._vectors.get((encoder, k)) for k in keys]

    def put(self, encoder: str, items: Iterable[tuple[int, Any]]) -> None:
        if not self.on:
            return
        with self._lock:
            for k, v in items:
                self._vectors[(encoder, k)] = v

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()


_memo = VectorMemo()


@contextmanager
def vector_memo() -> Iterator[VectorMemo]:
    """Keep encoder vectors in this process for the duration (nested uses share them)."""
    _memo.on += 1
    try:
        yield _memo
    finally:
        _memo.on -= 1
        if not _memo.on:
            _memo.clear()


def get_vector_memo() -> VectorMemo:
    return _memo


_SCHEMA = pa.schema([("model", pa.string()), ("key", pa.int64()), ("scores", pa.list_(pa.float32())),
                     ("subtypes", pa.list_(pa.int16()))])


def rows_table(model: str, rows: Sequence[CacheRow]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"model": model, "key": r.key, "scores": list(r.scores), "subtypes": list(r.subtypes)} for r in rows],
        schema=_SCHEMA,
    )
