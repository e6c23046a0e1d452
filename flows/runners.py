"""Scale-out: the Prefect task runner that runs NLP scoring batches.

Threads in-process by default. With the ``dask`` extra (``pip install 'triage[dask]'``) scoring batches
run on a Dask cluster: ``flow.dask_address`` names a running scheduler, or, when empty, a LocalCluster
of ``flow.dask_workers`` worker processes is started for the run. Only the settings and the text units
cross to the workers (no database handles), and each worker loads the detectors once.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from triage.errors import ConfigError
from triage.settings import Settings

__all__ = ["dask_task_runner"]

try:
    from prefect_dask.task_runners import DaskTaskRunner
except ImportError:  # the optional dask extra: dask_task_runner says how to install it
    _HAVE_DASK = False
else:
    _HAVE_DASK = True

    class LocalClusterTaskRunner(DaskTaskRunner):
        """A DaskTaskRunner whose LocalCluster workers report to the flow's own Prefect API.

        Without ``PREFECT_API_URL`` a flow runs against an ephemeral Prefect server, and the settings
        Prefect hands to the workers carry no API URL: every worker process would then start an
        ephemeral server of its own (15 s and more each, on the same PREFECT_HOME database). Workers
        of a LocalCluster run on this machine, so they are given the flow's server instead.
        """

        def __enter__(self) -> LocalClusterTaskRunner:
            from prefect.client.orchestration import get_client
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with ExitStack() as stack:
                if not PREFECT_API_URL.value():
                    with get_client(sync_client=True) as client:  # the server this process talks to
                        url = str(client.api_url).rstrip("/")
                    stack.enter_context(temporary_settings(updates={PREFECT_API_URL: url}))
                super().__enter__()  # type: ignore[no-untyped-call]
                self._api = stack.pop_all()
            return self

        def __exit__(self, *exc: Any) -> None:
            try:
                super().__exit__(*exc)
            finally:
                self._api.close()


def dask_task_runner(settings: Settings) -> Any:
    """A ``prefect_dask.DaskTaskRunner`` for the configured cluster (ConfigError if not installed)."""
    if not _HAVE_DASK:
        raise ConfigError(
            "flow.task_runner = 'dask' needs the dask extra: pip install 'triage[dask]' "
            "(prefect-dask and dask[distributed])"
        )
    cfg = settings.flow
    if cfg.dask_address:
        return DaskTaskRunner(address=cfg.dask_address)
    return LocalClusterTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": cfg.dask_workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        },
    )
