"""A job run's life: started by a worker, kept alive by its heartbeat, ended finished or failed,
or found abandoned when its worker died.

A run is *running* only while its worker says so: `start` records the worker (its Celery node and
process) and a first heartbeat, `running` renews the heartbeat every JOB_HEARTBEAT_SECONDS while
the work goes on, and `finish` ends it, *failed* when it recorded failures (then the staff are
told by e-mail, servicing.alerts). A run whose heartbeat is older than JOB_STALE_SECONDS, or whose
worker node has started again since, is dead: `abandon_dead` marks it *abandoned*, once, and the
caller queues its job again (servicing.tasks.take_up).
"""

import logging
import os
import socket
import threading
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from servicing import alerts, logs
from servicing.models import JobRun

log = logging.getLogger(__name__)
State = JobRun.State
# Jobs whose run fans out to tasks (servicing.deliveries: "statements", "statement_retries"): no one
# worker holds such a run, so it has no heartbeat; it is running until every delivery it queued has
# an outcome, and a delivery whose worker died is taken up by its claim expiring, not by abandoning.
FANNED_OUT = ("statements", "statement_retries")


def heartbeat_seconds() -> int:
    return settings.JOB_HEARTBEAT_SECONDS


def stale_seconds() -> int:
    """How old a running run's heartbeat may be before its worker counts as dead."""
    beat, stale = settings.JOB_HEARTBEAT_SECONDS, settings.JOB_STALE_SECONDS
    if not 0 < beat < stale:
        raise ImproperlyConfigured(
            f"JOB_STALE_SECONDS ({stale}) must be more than JOB_HEARTBEAT_SECONDS ({beat}), which must be more than 0"
        )
    return stale


def this_node() -> str:
    """The Celery node this code runs in (`-n name@host`), or the host outside a worker."""
    from celery import current_task

    request = getattr(current_task, "request", None) if current_task else None
    return getattr(request, "hostname", None) or socket.gethostname()


def this_worker() -> str:
    """The node and process this code runs in, as a run records it: `node:pid`."""
    return f"{this_node()}:{os.getpid()}"


def start(job: str, *, through=None, by=None, retry_of: JobRun | None = None) -> JobRun:
    """A new run of `job`, running in this process from now."""
    now = timezone.now()
    run = JobRun.objects.create(
        job=job, through=through, started_by=by, retry_of=retry_of, worker=this_worker()[:200], heartbeat_at=now
    )
    logs.bind_job_run(job, run.pk)  # the lines logged while it runs carry job and job_run_id
    log.info("job run %s (%s) started on %s", run.pk, job, run.worker)
    return run


def finish(run: JobRun, *, alert: bool = True) -> JobRun:
    """End the run: *failed* if it recorded failures, else *finished*. A failed run is told to the
    staff by e-mail unless `alert` is off (a retry of it follows: the last one tells). A run already
    ended (found abandoned meanwhile) is ended again with what it did."""
    now = timezone.now()
    run.finished_at = now
    run.heartbeat_at = now
    run.state = State.FAILED if run.failures else State.FINISHED
    run.save()
    log.log(
        logging.WARNING if run.failures else logging.INFO,
        "job run %s (%s) %s: %s notes, %s entries, %s failure(s)",
        run.pk,
        run.job,
        run.state,
        run.notes_processed,
        run.entries_posted,
        len(run.failures),
    )
    logs.unbind_job_run()
    if run.state == State.FAILED and alert:
        transaction.on_commit(lambda: _alert(run))
    return run


def _alert(run: JobRun) -> None:
    try:
        alerts.job_run_failed(run)
    except Exception:  # noqa: BLE001 - the run's record is the truth; a broken alert must not fail the job
        log.exception("alert for job run %s not sent", run.pk)


def beat(run_id: int) -> bool:
    """Renew a running run's heartbeat; False when it is no longer running (ended, or abandoned)."""
    return JobRun.objects.filter(pk=run_id, state=State.RUNNING).update(heartbeat_at=timezone.now()) == 1


def _beat_until(run_id: int, every: float, stop: threading.Event) -> None:
    """The heartbeat thread: on its own database connection, closed when it ends."""
    try:
        while not stop.wait(every):
            try:
                if not beat(run_id):
                    log.warning("job run %s not running (ended, abandoned, uncommitted): its heartbeat stops", run_id)
                    return
            except Exception:  # noqa: BLE001 - a missed beat must not stop the job; the next one tries again
                log.exception("heartbeat of job run %s not recorded", run_id)
                connection.close()  # a broken connection is opened afresh on the next beat
    finally:
        connection.close()


@contextmanager
def running(run: JobRun):
    """While the block runs, a daemon thread renews the run's heartbeat every JOB_HEARTBEAT_SECONDS:
    a worker that dies (killed, its machine gone) stops beating, and its run goes stale."""
    stale_seconds()  # refuse a setting that would make live runs look dead
    stop = threading.Event()
    thread = threading.Thread(
        target=_beat_until, args=(run.pk, heartbeat_seconds(), stop), name=f"heartbeat-{run.pk}", daemon=True
    )
    thread.start()
    try:
        yield run
    finally:
        stop.set()
        thread.join(timeout=10)


def dead_runs(*, node: str | None = None, now=None) -> Q:
    """Running runs whose heartbeat is stale; with `node`, also every running run of that node (it
    has started again, so the process that held them is gone)."""
    now = now or timezone.now()
    cut = now - timedelta(seconds=stale_seconds())
    dead = Q(heartbeat_at__lt=cut) | Q(heartbeat_at__isnull=True, started_at__lt=cut)
    if node:
        dead |= Q(worker__startswith=f"{node}:")
    return Q(state=State.RUNNING) & dead & ~Q(job__in=FANNED_OUT)


def abandon_dead(*, node: str | None = None) -> list[JobRun]:
    """Mark dead runs (see `dead_runs`) *abandoned*, ended now with a failure saying why, and return
    the ones this call took (see `abandon`)."""
    now = timezone.now()
    candidates = JobRun.objects.filter(dead_runs(node=node, now=now)).order_by("pk")
    return [run for run in candidates if abandon(run, node=node, now=now)]


def abandon(run: JobRun, *, node: str | None = None, now=None) -> bool:
    """Take a dead run, as read: one conditional update, so of two workers taking it at once only
    one does, and a run whose heartbeat was renewed since it was read (alive after all) is left."""
    now = now or timezone.now()
    since = run.heartbeat_at or run.started_at
    if node and run.worker.startswith(f"{node}:"):
        why = f"its worker {run.worker} died: node {node} started again (last heartbeat {_at(since)})"
    else:
        why = f"its worker {run.worker or '(unknown)'} died: no heartbeat since {_at(since)}"
    failures = [*(run.failures or []), {"error": f"abandoned: {why}"}]
    same = JobRun.objects.filter(pk=run.pk, state=State.RUNNING, heartbeat_at=run.heartbeat_at)
    if run.heartbeat_at is None:
        same = JobRun.objects.filter(pk=run.pk, state=State.RUNNING, heartbeat_at__isnull=True)
    if same.update(state=State.ABANDONED, finished_at=now, failures=failures) != 1:
        return False
    run.state, run.finished_at, run.failures = State.ABANDONED, now, failures
    log.warning("job run %s (%s) abandoned: %s", run.pk, run.job, why)
    return True


def is_stale(run: JobRun, *, now=None) -> bool:
    """A run said running whose heartbeat is older than JOB_STALE_SECONDS (not yet abandoned)."""
    if run.state != State.RUNNING or run.job in FANNED_OUT:
        return False
    since = run.heartbeat_at or run.started_at
    return (now or timezone.now()) - since > timedelta(seconds=stale_seconds())


def state_words(run: JobRun, *, now=None) -> str:
    """A run's state as the job runs page and `manage.py jobs` say it: a run said running whose
    heartbeat is stale is doubted ("running? no heartbeat since HH:MM")."""
    if is_stale(run, now=now):
        return f"running? no heartbeat since {timezone.localtime(run.heartbeat_at or run.started_at):%H:%M}"
    return run.state


def _at(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S %Z}"
