"""Celery tasks: thin wrappers that call one service."""

from datetime import date

from celery import shared_task
from django.db import OperationalError

from servicing.close import close_books


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def close_books_task(through: str | None = None) -> dict:
    run = close_books(through=date.fromisoformat(through) if through else None)
    return {"run": run.pk, "notes": run.notes_processed, "entries": run.entries_posted, "failures": len(run.failures)}
