"""The job run a log line belongs to: `job` and `job_run_id` bound into the log context, so every
line written meanwhile (a stdlib `logging.getLogger(__name__)` logger or structlog's) carries them
beside the request_id or task_id (LOGGING in config/settings.py)."""

from contextlib import contextmanager

import structlog


def bind_job_run(run) -> None:
    """From now on in this context (the task, the request), lines name the run; the next task
    starts with a cleared context (django-structlog's worker step)."""
    structlog.contextvars.bind_contextvars(job=run.job, job_run_id=run.pk)


@contextmanager
def job_run_context(run):
    """Lines written inside name the run; after it, `job` and `job_run_id` are as they were before."""
    with structlog.contextvars.bound_contextvars(job=run.job, job_run_id=run.pk):
        yield
