"""What happens to a note: the events a replay takes, and the rules an event breaks on its own.

`ref` is the caller's stable name for an event; postings and results carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from servicing.engine import prepayment
from servicing.engine.errors import RuleError
from servicing.engine.terms import Terms, check_money, check_on_or_after


@dataclass(frozen=True)
class Payment:
    ref: str
    received_on: date
    amount: Decimal


@dataclass(frozen=True)
class Conversion:
    ref: str
    notice_sent: date
    conversion_date: date  # the day the company is deemed to receive the notice (4(b))
    principal: Decimal | None  # None: all


@dataclass(frozen=True)
class Prepayment:
    ref: str
    notice_sent: date
    holder_received: date
    date: date
    principal: Decimal | None  # None: all


@dataclass(frozen=True)
class CovenantBreach:
    ref: str
    breached_on: date
    cured_on: date | None


@dataclass(frozen=True)
class Misrepresentation:
    ref: str
    occurred_on: date
    waived_on: date | None


@dataclass(frozen=True)
class Insolvency:
    ref: str
    occurred_on: date


@dataclass(frozen=True)
class AccelerationNotice:
    ref: str
    notice_sent: date
    effective_on: date  # the day the company is deemed to receive it (7(y))


@dataclass(frozen=True)
class Assignment:
    """Principal assigned to others (8(j)): it leaves the note on `date`; interest before it stays here."""

    ref: str
    date: date
    principal: Decimal


@dataclass(frozen=True)
class Cost:
    """Costs of collection the holder incurred, billed to the company (sections 6, 7(b))."""

    ref: str
    billed_on: date
    amount: Decimal


Event = (
    Payment
    | Conversion
    | Prepayment
    | CovenantBreach
    | Misrepresentation
    | Insolvency
    | AccelerationNotice
    | Assignment
    | Cost
)


def effective_on(e: Event) -> date:
    """The day the event takes effect."""
    match e:
        case Payment():
            return e.received_on
        case Conversion():
            return e.conversion_date
        case Prepayment():
            return e.date
        case CovenantBreach():
            return e.breached_on
        case Misrepresentation() | Insolvency():
            return e.occurred_on
        case AccelerationNotice():
            return e.effective_on
        case Cost():
            return e.billed_on
        case Assignment():
            return e.date
    raise TypeError(e)


def check_events(terms: Terms, events: list[Event]) -> None:
    """The rules an event breaks on its own, whatever else happens (raises RuleError)."""
    a = terms.first_day
    for e in events:
        for name, day in event_days(e):
            terms.check_day(name, day)
        match e:
            case Payment():
                check_money("amount", e.amount)
                check_on_or_after("received_on", e.received_on, a)
            case Conversion():
                if e.principal is not None:
                    check_money("principal", e.principal)
                check_on_or_after("notice.sent", e.notice_sent, a)
            case Prepayment():
                if e.principal is not None:
                    check_money("principal", e.principal)
                prepayment.check_dates(terms, e.notice_sent, e.holder_received, e.date)
            case CovenantBreach():
                check_on_or_after("date", e.breached_on, a)
                if e.cured_on is not None:
                    check_on_or_after("cured", e.cured_on, e.breached_on, "the breach")
            case Misrepresentation():
                check_on_or_after("date", e.occurred_on, a)
                if e.waived_on is not None:
                    check_on_or_after("waived", e.waived_on, e.occurred_on, "the misrepresentation")
            case Insolvency():
                check_on_or_after("date", e.occurred_on, a)
            case AccelerationNotice():
                check_on_or_after("notice.sent", e.notice_sent, a)
            case Cost():
                check_money("amount", e.amount)
                check_on_or_after("date", e.billed_on, a)
            case Assignment():
                check_money("principal", e.principal)
                check_on_or_after("effective_on", e.date, a)
                if e.date >= terms.maturity_date:
                    raise RuleError(
                        "effective_on",
                        f"an assignment takes effect before the maturity date {terms.maturity_date}, not on {e.date}",
                    )


def event_days(e: Event) -> list[tuple[str, date]]:
    """Every date an event names, with the field that names it."""
    match e:
        case Conversion() | AccelerationNotice():
            return [("notice.sent", e.notice_sent), ("notice.received", effective_on(e))]
        case Prepayment():
            return [("notice.sent", e.notice_sent), ("notice.received", e.holder_received), ("date", e.date)]
        case CovenantBreach():
            return [("date", e.breached_on)] + ([("cured", e.cured_on)] if e.cured_on else [])
        case Misrepresentation():
            return [("date", e.occurred_on)] + ([("waived", e.waived_on)] if e.waived_on else [])
        case Payment():
            return [("received_on", e.received_on)]
        case Cost():
            return [("date", e.billed_on)]
        case Assignment():
            return [("effective_on", e.date)]
    return [("date", effective_on(e))]


def horizon(terms: Terms, events: list[Event]) -> date:
    """The last day any event or its consequence takes effect: replaying to it checks every rule."""
    days = [terms.maturity_date] + [effective_on(e) for e in events]
    days += [e.cured_on or e.breached_on for e in events if isinstance(e, CovenantBreach)]
    days += [e.waived_on or e.occurred_on for e in events if isinstance(e, Misrepresentation)]
    return min(max(days) + timedelta(days=1), terms.last_day)
