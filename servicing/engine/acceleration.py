"""Acceleration (7(x), 7(y)) and maturity: when principal, and all billed interest, fall due."""

from __future__ import annotations

from datetime import date

from servicing.engine import defaults
from servicing.engine.events import AccelerationNotice, Insolvency
from servicing.engine.results import Acceleration, Journal
from servicing.engine.state import State
from servicing.engine.terms import Terms


def acceleration_on(s: State, j: Journal, d: date, todays: list, eod_spans: list) -> Acceleration | None:
    """The first acceleration takes effect on d: insolvency at once (7(x)), or the holder's notice
    (7(y)) if an Event of Default continues as the day begins; a later one changes nothing."""
    if s.acceleration is not None:
        return None
    for e in todays:
        if isinstance(e, Insolvency):
            return Acceleration(d, "automatic", e.ref)
    for e in todays:
        if isinstance(e, AccelerationNotice):
            if defaults.in_payment_default(s, d) or defaults.in_event_of_default(eod_spans, d):
                return Acceleration(d, "holder_notice", e.ref)
            j.refuse(
                "acceleration",
                e.ref,
                "notice.sent",
                f"acceleration effective {d} refused: no Event of Default continues on that day (section 7(y))",
            )
    return None


def accelerate(s: State, d: date, acceleration: Acceleration) -> None:
    """All principal and all billed interest are due on the acceleration date, even interest
    billed with a later due date."""
    s.acceleration = acceleration
    for item in s.items:
        if item.account != "costs" and item.due_date > d:
            item.due_date = d
    if s.principal_due_on is None:
        s.principal_due_on = d


def mature(s: State, t: Terms, d: date) -> None:
    """On the Maturity Date all outstanding principal becomes due."""
    if d == t.maturity_date and s.principal_due_on is None:
        s.principal_due_on = d
