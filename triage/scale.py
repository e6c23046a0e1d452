"""Scale-out: the Prefect task runner that runs NLP scoring batches.

Threads in-process by default. With the ``dask`` extra (``pip install 'triage[dask]'``) scoring batches
run on a Dask cluster: ``flow.dask_address`` names a running scheduler, or, when empty, a LocalCluster
of ``flow.dask_workers`` worker processes is started for the run. Only the settings and the text units
cross to the workers (no database handles), and each worker loads the detectors once.
"""

from __future__ import annotations

from typing import Any

from triage.errors import ConfigError
from triage.settings import Settings

__all__ = ["dask_task_runner"]


def dask_task_runner(settings: Settings) -> Any:
    """A ``prefect_dask.DaskTaskRunner`` for the configured cluster (ConfigError if not installed)."""
    try:
        from prefect_dask.task_runners import DaskTaskRunner
    except ImportError as e:
        raise ConfigError(
            "flow.task_runner = 'dask' needs the dask extra: pip install 'triage[dask]' "
            "(prefect-dask and dask[distributed])"
        ) from e
    cfg = settings.flow
    if cfg.dask_address:
        return DaskTaskRunner(address=cfg.dask_address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": cfg.dask_workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        },
    )
