"""Today, in TIME_ZONE; `simulate` pins it to the scenario's as_of date."""

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, timedelta

from django.utils import timezone

_pinned: ContextVar[date | None] = ContextVar("pinned_today", default=None)


def today() -> date:
    return _pinned.get() or timezone.localdate()


def yesterday() -> date:
    return today() - timedelta(days=1)


@contextmanager
def pinned(day: date):
    token = _pinned.set(day)
    try:
        yield
    finally:
        _pinned.reset(token)
