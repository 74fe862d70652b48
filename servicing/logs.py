"""The job run a log line belongs to: `job` and `job_run_id` bound into the log context, so every
line written meanwhile (a stdlib `logging.getLogger(__name__)` logger or structlog's) carries them
beside the request_id or task_id (LOGGING in config/settings.py)."""

from contextlib import contextmanager

import structlog


def bind_job_run(job: str, run_id: int) -> None:
    """From now on in this context (the task, the request), lines name the run; the next task
    starts with a cleared context (django-structlog's worker step)."""
    structlog.contextvars.bind_contextvars(job=job, job_run_id=run_id)


def unbind_job_run() -> None:
    """Lines no longer name a run (it has ended)."""
    structlog.contextvars.unbind_contextvars("job", "job_run_id")


@contextmanager
def job_run_context(job: str, run_id: int):
    """Lines written inside name the run; after it, `job` and `job_run_id` are as they were before."""
    with structlog.contextvars.bound_contextvars(job=job, job_run_id=run_id):
        yield
