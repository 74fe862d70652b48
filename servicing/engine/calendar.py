"""Business days and month arithmetic (servicing-rules.md, "Calendar")."""

import calendar as _calendar
from datetime import date, timedelta
from functools import lru_cache

import holidays

from servicing.engine.errors import RuleError

ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=32)
def _holidays(code: str, year: int) -> dict[date, str]:
    """The calendar's holidays of a year, each with its name ("Thanksgiving Day")."""
    try:
        return dict(holidays.financial_holidays(code, years=year))
    except NotImplementedError:
        raise RuleError("calendar", f"unknown holiday calendar {code!r}") from None


def check_calendar(code: str) -> None:
    _holidays(code, 2000)


def is_business_day(d: date, code: str) -> bool:
    return d.weekday() < 5 and d not in _holidays(code, d.year)


def holiday_name(d: date, code: str) -> str | None:
    """The name of the calendar's holiday on d, or None: the holidays `is_business_day` skips."""
    return _holidays(code, d.year).get(d)


def add_business_days(d: date, n: int, code: str) -> date:
    """The n-th business day after d; d itself never counts."""
    while n > 0:
        d += ONE_DAY
        if is_business_day(d, code):
            n -= 1
    return d


def business_days_until(start: date, end: date, code: str) -> int:
    """How many business days after `start` up to and including `end` (0 when `end` is not after
    `start`): the n for which add_business_days(start, n) is the first business day on or after `end`."""
    n, d = 0, start
    while d < end:
        d += ONE_DAY
        if is_business_day(d, code):
            n += 1
    return n


def business_day_on_or_after(d: date, code: str) -> date:
    while not is_business_day(d, code):
        d += ONE_DAY
    return d


def add_months(d: date, n: int) -> date:
    """Same day of month n months later, clamped to the month's last day."""
    months = d.year * 12 + d.month - 1 + n
    year, month = divmod(months, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(d.day, last))
