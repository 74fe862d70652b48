"""A job run's life: started by a worker, kept alive by its heartbeat, ended finished or failed,
or found abandoned when its worker died.

A run is *running* only while its worker says so: `start` records the worker (host and process)
and a first heartbeat, `beat` renews it while the work goes on, and `finish` ends it, *failed*
when it recorded failures (then the staff are told by e-mail, servicing.alerts). A run whose
heartbeat is older than JOB_STALE_SECONDS, or whose worker has started again since, is
*abandoned*: see `abandon_dead`.
"""

import logging
import os
import socket

from django.db import transaction
from django.utils import timezone

from servicing import alerts
from servicing.models import JobRun

log = logging.getLogger(__name__)
State = JobRun.State


def this_worker() -> str:
    """The host and process this code runs in, as a run records it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def start(job: str, *, through=None, by=None, retry_of: JobRun | None = None) -> JobRun:
    """A new run of `job`, running in this process from now."""
    now = timezone.now()
    return JobRun.objects.create(
        job=job, through=through, started_by=by, retry_of=retry_of, worker=this_worker()[:200], heartbeat_at=now
    )


def finish(run: JobRun) -> JobRun:
    """End the run: *failed* if it recorded failures (and the staff are told), else *finished*. A
    run already ended (found abandoned meanwhile) is ended again with what it did."""
    run.finished_at = timezone.now()
    run.state = State.FAILED if run.failures else State.FINISHED
    run.save()
    if run.state == State.FAILED:
        transaction.on_commit(lambda: alerts.job_run_failed(run))
    return run
