"""Celery tasks: thin wrappers that load what they need and call one service.

Every task is safe to run twice (the close skips what is posted, reminders and deliveries are
claimed once), so they are acknowledged late: a worker that dies mid-task leaves it to run again.
The schedules are in config/celery.py.

Each task has a soft and a hard time limit (settings TASK_TIME_LIMIT, CLOSE_TIME_LIMIT,
STATEMENT_TIME_LIMIT; the soft one a tenth earlier), so a stalled SMTP server or database never
holds a worker for ever: a statement stopped at its soft limit is recorded failed and retried.
"""

from datetime import date

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from servicing import clock
from servicing.close import close_books
from servicing.deliveries import retries_run, statement_deliver, statements_due, statements_run
from servicing.reminders import reminders_run

TRANSIENT = (OperationalError,)


def limits(hard: int) -> dict:
    """A task's time limits: `hard` seconds, and the soft one a tenth earlier."""
    return {"time_limit": hard, "soft_time_limit": hard - max(hard // 10, 1)}


@shared_task(
    acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5, **limits(settings.CLOSE_TIME_LIMIT)
)
def close_books_task(through: str | None = None) -> dict:
    run = close_books(through=date.fromisoformat(through) if through else None)
    return {"run": run.pk, "notes": run.notes_processed, "entries": run.entries_posted, "failures": len(run.failures)}


@shared_task(
    acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5, **limits(settings.TASK_TIME_LIMIT)
)
def reminders_task() -> dict:
    run = reminders_run()
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
    outcome = statement_deliver(delivery_id, run_id)
    if outcome.retry_in and not self.request.is_eager:
        # The delivery records when it is due again; the daily run re-queues it if this is lost.
        raise self.retry(countdown=outcome.retry_in, max_retries=None)
    return outcome.status


@shared_task(acks_late=True, **limits(settings.CLOSE_TIME_LIMIT))  # 100,000 rows take minutes, as a close does
def import_step_task(run_id: int, commit: bool, user_id: int) -> str:
    """Check or import an uploaded CSV file as the user who started the step (servicing.imports):
    safe to run twice, as a second import of the same file creates nothing."""
    from django.contrib.auth import get_user_model

    from servicing import imports

    return imports.step(run_id, commit=commit, by=get_user_model().objects.get(pk=user_id)).status
