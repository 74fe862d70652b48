"""Prepayment (section 3) and the holder's conversion window it opens (section 4(a))."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from servicing.engine import conversion, keys
from servicing.engine.calendar import add_business_days, add_months
from servicing.engine.errors import RuleError
from servicing.engine.results import Journal, PrepaymentDone
from servicing.engine.state import State

if TYPE_CHECKING:
    from servicing.engine.terms import Terms

WINDOW_BUSINESS_DAYS = 3


def allowed_from(agreement_date: date, lockout_months: int) -> date:
    """The first day the company may send a prepayment notice or prepay (3: "Thereafter")."""
    return add_months(agreement_date, lockout_months)


def conversion_window(holder_received: date, calendar: str) -> tuple[date, date]:
    """The days the holder may convert before a prepayment (4(a)): from the day the holder is
    deemed to receive the company's notice through the third business day after it."""
    return holder_received, add_business_days(holder_received, WINDOW_BUSINESS_DAYS, calendar)


def check_dates(terms: Terms, notice_sent: date, holder_received: date, prepayment_date: date) -> None:
    allowed = terms.prepayment_allowed_from
    if notice_sent < allowed or prepayment_date < allowed:
        raise RuleError("date", f"prepayment notice and prepayment not permitted before {allowed} (lockout)")
    _, window_end = conversion_window(holder_received, terms.calendar)
    if prepayment_date <= window_end:
        raise RuleError(
            "date",
            f"prepayment date {prepayment_date} must be after the holder's conversion window, "
            f"which runs {holder_received} through {window_end} (section 4(a))",
        )


def prepay(s: State, t: Terms, j: Journal, d: date, e) -> None:
    """On the prepayment date the company pays all billed and unpaid interest and the principal
    prepaid: the amount named, up to what is still outstanding, or all of it (section 3)."""
    principal = s.principal if e.principal is None else min(e.principal, s.principal)
    interest, default_interest = conversion.take_interest(s)
    s.principal -= principal
    conversion.post_reduction(j, d, "prepayment", keys.prepayment(e.ref), principal, interest, default_interest)
    _, window_end = conversion_window(e.holder_received, t.calendar)
    j.result.prepayments.append(
        PrepaymentDone(
            e.ref,
            e.notice_sent,
            e.holder_received,
            window_end,
            d,
            principal,
            interest,
            default_interest,
            principal + interest + default_interest,
        )
    )
