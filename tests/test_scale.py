"""Scale-out: the nightly flow on a Dask LocalCluster gives exactly what the in-process thread runner gives."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psutil
import pytest

from flows.nightly import run_nightly
from flows.runners import dask_task_runner
from tests.support.flowrun import sample_config, table_keys
from triage.settings import load_settings

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 20)
BATCH_SENTENCES = 40  # small scoring batches: several tasks, so both workers get some
# what must not depend on where the scoring batches ran
STATE_QUERIES = {
    "signals": "SELECT signal_id, kind, subtype, source_type, source_key, utterance_seq, sentence_idx, sentence, "
    "round(score, 6), round(intensity, 6), account_id, party, due_date, detector, detector_version FROM signals",
    "detections": "SELECT source_type, source_key, pipeline_version, sentences FROM detections",
    "asks": "SELECT ask_id, kind, status, age_business_days, overdue FROM asks",
    "call_list": "SELECT rank, account_id, round(score, 6) FROM v_call_list_today",
}
COUNTERS = ("fetched", "parsed", "transcripts", "quarantined", "sentences", "signals", "accounts_listed")


@contextmanager
def _prefect_servers_started() -> Iterator[set[int]]:
    """The parents of every Prefect API server running below this process while the block runs."""
    parents: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.25):
            for p in psutil.Process().children(recursive=True):
                try:
                    if any("prefect.server.api.server" in a for a in p.cmdline()):
                        parents.add(p.ppid())
                except psutil.Error:
                    pass  # it ended while we looked

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield parents
    finally:
        done.set()
        watcher.join()


def _config(tmp: Path, flow: str) -> Path:
    tmp.mkdir()
    # one onnxruntime thread per process: two Dask workers and the flow share two cores
    extra = f"[nlp]\nthreads = 1\n[flow]\nnlp_batch_sentences = {BATCH_SENTENCES}\n{flow}"
    return sample_config(tmp, extra=extra)


def test_dask_local_cluster_gives_the_thread_runner_result(tmp_path: Path) -> None:
    thread_cfg = _config(tmp_path / "thread", "")
    thread = run_nightly(str(thread_cfg), AS_OF)

    dask_cfg = _config(tmp_path / "dask", 'task_runner = "dask"\ndask_workers = 2\n')
    settings = load_settings(dask_cfg)
    runner = dask_task_runner(settings)
    assert runner.cluster_kwargs["n_workers"] == 2 and runner.cluster_kwargs["processes"] is True
    with _prefect_servers_started() as server_parents:
        on_dask = run_nightly(str(dask_cfg), AS_OF, runner)
    # the workers report to the flow's (ephemeral) API instead of each starting a server of its own
    assert server_parents <= {os.getpid()}

    assert thread["status"] == on_dask["status"] == "completed", on_dask["error"]
    assert {k: on_dask[k] for k in COUNTERS} == {k: thread[k] for k in COUNTERS}
    assert thread["sentences"] > 2 * BATCH_SENTENCES  # more scoring tasks than workers
    assert thread["signals"] > 0 and thread["accounts_listed"] > 0
    for name, sql in STATE_QUERIES.items():
        want = table_keys(thread_cfg.parent / "triage.duckdb", sql)
        assert want, f"the thread run stored no {name}"
        assert table_keys(dask_cfg.parent / "triage.duckdb", sql) == want, f"{name} differ on Dask"
