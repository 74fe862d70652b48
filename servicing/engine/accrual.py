"""Interest: what each day accrues, and the accrual periods billed (servicing-rules.md, "Accrual" and
"Accrual periods and billing"; the preamble of the agreement)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from servicing.engine import defaults, keys
from servicing.engine.calendar import ONE_DAY, add_months, business_day_on_or_after
from servicing.engine.money import EXACT, to_cents
from servicing.engine.results import Journal, Period
from servicing.engine.state import Item, State
from servicing.engine.terms import Terms

DAYS_IN_YEAR = Decimal(365)  # Actual/365 Fixed, also in leap years (preamble)

# Why a period ended, in the order that wins when several fall on one day.
REASONS = ("acceleration", "maturity", "prepayment", "conversion", "month_end")


def interest(total: Decimal) -> Decimal:
    """A period's interest: the exact sum of its days' principal × rate, over 365, rounded once."""
    return to_cents(EXACT.divide(total, DAYS_IN_YEAR))


def next_due_date(day: date, calendar: str) -> date:
    """When the interest of the month holding `day` is due: the first business day of the next
    month (preamble), if the period runs to the month's end."""
    return business_day_on_or_after(add_months(day.replace(day=1), 1), calendar)


def due_date(reason: str, billed_on: date, calendar: str) -> date:
    if reason == "month_end":
        return business_day_on_or_after(billed_on, calendar)
    return billed_on  # the Maturity Date, acceleration, prepayment or Conversion Date itself


def winning_reason(current: str | None, reason: str) -> str:
    if current is None or REASONS.index(reason) < REASONS.index(current):
        return reason
    return current


def bill(s: State, t: Terms, j: Journal, d: date, reason: str) -> None:
    """The period that ended yesterday is billed today; a period in which nothing accrued is not."""
    start, end = s.period_start, d - ONE_DAY
    regular, default = interest(s.interest_sum), interest(s.default_sum)
    s.period_start, s.interest_sum, s.default_sum = d, Decimal(0), Decimal(0)
    if not regular and not default:
        return
    due = due_date(reason, d, t.calendar)
    j.result.periods.append(Period(start, end, (end - start).days + 1, due, reason, regular, default))
    key = keys.period(start)
    for account, amount in (("interest", regular), ("default_interest", default)):
        if amount:
            s.items.append(Item(key, account, due, d, amount))
            j.post(d, "bill", account, key, amount)


def accrue(s: State, t: Terms, d: date, in_default: bool, days: int = 1) -> None:
    """Day d accrues on the principal outstanding after its events; default interest too while an
    Event of Default continues. `days` quiet days from d accrue as d does, each the same amount:
    the sums are exact, so adding them one by one or at once gives the same figure."""
    n = Decimal(days)
    s.interest_sum = EXACT.add(s.interest_sum, EXACT.multiply(EXACT.multiply(s.principal, t.rate), n))
    if in_default:
        s.default_sum = EXACT.add(s.default_sum, EXACT.multiply(defaults.default_interest_of_day(s, t, d), n))
