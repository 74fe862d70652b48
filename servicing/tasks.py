"""Celery tasks: thin wrappers that load what they need and call one service.

Every task is safe to run twice (the close skips what is posted, reminders and deliveries are
claimed once), so they are acknowledged late: a worker that dies mid-task leaves it to run again.
The schedules are in config/celery.py.

Each task has a soft and a hard time limit (settings TASK_TIME_LIMIT, CLOSE_TIME_LIMIT,
STATEMENT_TIME_LIMIT; the soft one a tenth earlier), so a stalled SMTP server or database never
holds a worker for ever: a statement stopped at its soft limit is recorded failed and retried.
"""

import logging
from datetime import date

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import OperationalError, transaction

from servicing import alerts, clock, imports, jobruns, logs
from servicing.close import JOB as CLOSE_JOB
from servicing.close import close_books
from servicing.deliveries import retries_run, statement_deliver, statements_due, statements_run
from servicing.models import JobRun
from servicing.reminders import JOB as REMINDERS_JOB
from servicing.reminders import reminders_run

log = logging.getLogger(__name__)
TRANSIENT = (OperationalError,)
# A close with failed notes is retried for them this many times, CLOSE_RETRY_SECONDS later, then
# twice as long each time (10, 20, 40 minutes): a note broken by a passing cause closes the same night.
CLOSE_RETRIES = 3
CLOSE_RETRY_SECONDS = 600
# A job whose runs are abandoned this many times in a row (each one a take-up of the one before:
# its worker dies every time, e.g. killed by the same note) is not queued again: the staff are told.
TAKE_UPS = 3


def limits(hard: int) -> dict:
    """A task's time limits: `hard` seconds, and the soft one a tenth earlier."""
    return {"time_limit": hard, "soft_time_limit": hard - max(hard // 10, 1)}


def _run(pk: int | None) -> JobRun | None:
    """The run a retry names, by its id in the task's arguments."""
    return JobRun.objects.filter(pk=pk).first() if pk else None


class CloseFailed(Exception):
    """A close ended with notes it could not close (the run's failures say which and why)."""


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=5,
    **limits(settings.CLOSE_TIME_LIMIT),
)
def close_books_task(self, through: str | None = None, note_ids: list[int] | None = None, retry_of=None) -> dict:
    """The close. A scheduled one first takes up the runs of workers that died. A close with
    failed notes fails, after recording its run, and is retried for those notes only, up to
    CLOSE_RETRIES times, 10, 20, then 40 minutes later; each retry is a run of its own (`retry_of`).
    The staff are e-mailed once, by the run no retry follows."""
    if note_ids is None and retry_of is None:
        take_up_dead()
    retry_follows = not self.request.is_eager and self.request.retries < CLOSE_RETRIES
    run = close_books(
        through=date.fromisoformat(through) if through else None,
        note_ids=note_ids,
        retry_of=_run(retry_of),
        alert=not retry_follows,
    )
    failed = sorted({f["note"] for f in run.failures if "note" in f})
    if run.failures:
        error = CloseFailed(f"close run {run.pk} through {run.through}: {len(run.failures)} failure(s), notes {failed}")
        if retry_follows:
            raise self.retry(
                kwargs={"through": run.through.isoformat(), "note_ids": failed, "retry_of": run.pk},
                countdown=CLOSE_RETRY_SECONDS * 2**self.request.retries,
                max_retries=CLOSE_RETRIES,
                exc=error,
            )
        raise error
    return {"run": run.pk, "notes": run.notes_processed, "entries": run.entries_posted, "failures": 0}


@shared_task(
    acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5, **limits(settings.TASK_TIME_LIMIT)
)
def reminders_task(retry_of=None) -> dict:
    run = reminders_run(retry_of=_run(retry_of))
    return {"run": run.pk, **run.summary}


@shared_task(
    acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5, **limits(settings.TASK_TIME_LIMIT)
)
def statements_task() -> dict:
    """Daily: the month's statement run once the close has billed it; and the retries now due, in a
    run of their own (each a job run, with its outcomes)."""
    month = statements_due(clock.today())
    run = statements_run(month=month) if month else None
    retries = retries_run(besides=run)
    return {
        "run": run.pk if run else None,
        "retries_run": retries.pk if retries else None,
        "retried": retries.summary.get("queued", 0) if retries else 0,
    }


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=10,
    **limits(settings.STATEMENT_TIME_LIMIT),
)
def send_statement_task(self, delivery_id: int, run_id: int | None = None) -> str:
    """Try one delivery for the run that queued it (its retries too); a message queued before runs
    held deliveries has no run id, and still works."""
    if run_id is not None:  # its lines name the run ("statements" or "statement_retries")
        logs.bind_job_run(JobRun.objects.filter(pk=run_id).values_list("job", flat=True).first() or "", run_id)
    outcome = statement_deliver(delivery_id, run_id)
    if outcome.retry_in and not self.request.is_eager:
        # The delivery records when it is due again; the daily run re-queues it if this is lost.
        raise self.retry(countdown=outcome.retry_in, max_retries=None)
    return outcome.status


@shared_task(acks_late=True, **limits(settings.CLOSE_TIME_LIMIT))  # 100,000 rows take minutes, as a close does
def import_step_task(run_id: int, commit: bool, user_id: int) -> str:
    """Check or import an uploaded CSV file as the user who started the step (servicing.imports):
    safe to run twice, as a second import of the same file creates nothing."""
    return imports.step(run_id, commit=commit, by=get_user_model().objects.get(pk=user_id)).status


def take_up(runs: list[JobRun]) -> None:
    """Queue again the job of each abandoned run, as a retry of it: the close through the same day
    (safe to run twice: it skips what the dead worker posted), the reminders (claimed once). A
    statement run's deliveries are taken up by the daily statements task (retry_due). A run that
    is the last of more than TAKE_UPS abandoned in a row is not queued: the staff are e-mailed."""
    for run in runs:
        if run.job in (CLOSE_JOB, REMINDERS_JOB) and (times := abandoned_in_a_row(run)) > TAKE_UPS:
            log.error("job run %s (%s) not taken up: abandoned %s times in a row", run.pk, run.job, times)
            transaction.on_commit(lambda run=run, times=times: alerts.job_run_not_taken_up(run, times))
        elif run.job == CLOSE_JOB:
            kwargs = {"through": run.through.isoformat() if run.through else None, "retry_of": run.pk}
            transaction.on_commit(lambda kwargs=kwargs: close_books_task.apply_async(kwargs=kwargs))
        elif run.job == REMINDERS_JOB:
            transaction.on_commit(lambda pk=run.pk: reminders_task.apply_async(kwargs={"retry_of": pk}))
        else:
            log.warning("abandoned job run %s (%s) is taken up by its next schedule", run.pk, run.job)


def abandoned_in_a_row(run: JobRun) -> int:
    """How many runs, this one and those it was a retry of, were abandoned one after the other
    (counted up to TAKE_UPS + 1)."""
    times = 0
    while run is not None and run.state == JobRun.State.ABANDONED and times <= TAKE_UPS:
        times += 1
        run = run.retry_of
    return times


def take_up_dead(*, node: str | None = None) -> list[JobRun]:
    """Abandon the dead runs (with `node`, every run that node held: it has started again) and queue
    their jobs again. Called as a worker starts (config/celery.py) and by each scheduled close."""
    runs = jobruns.abandon_dead(node=node)
    take_up(runs)
    return runs
