"""Events of Default (section 7), payment default, the cure period, and default interest (section 1)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from servicing.engine.calendar import ONE_DAY, add_business_days
from servicing.engine.money import EXACT, ZERO

if TYPE_CHECKING:
    from servicing.engine.state import Item, State
    from servicing.engine.terms import Terms

CURE_BUSINESS_DAYS = 5  # 7(a)(ii)


def default_rate(rate: Decimal, spread: Decimal, max_lawful_rate: Decimal | None) -> Decimal:
    """The lesser of the lawful rate and the spread (3 %) above the rate (section 1)."""
    higher = rate + spread
    return higher if max_lawful_rate is None else min(higher, max_lawful_rate)


def cure_deadline(breached_on: date, calendar: str) -> date:
    """The last day a covenant breach may be cured before it is an Event of Default (7(a)(ii))."""
    return add_business_days(breached_on, CURE_BUSINESS_DAYS, calendar)


def event_of_default_spans(terms: Terms, events: list) -> list[tuple[str, date, date | None]]:
    """Events of Default other than non-payment, as [start, end) spans; one covering no day is none."""
    from servicing.engine.events import CovenantBreach, Insolvency, Misrepresentation

    spans = []
    for e in events:
        match e:
            case CovenantBreach():
                spans.append(("covenant", cure_deadline(e.breached_on, terms.calendar) + ONE_DAY, e.cured_on))
            case Misrepresentation():
                spans.append(("misrepresentation", e.occurred_on, e.waived_on))
            case Insolvency():
                spans.append(("insolvency", e.occurred_on, None))
    return [span for span in spans if span[2] is None or span[2] > span[1]]


def in_event_of_default(spans: list[tuple[str, date, date | None]], d: date) -> bool:
    return any(start <= d and (end is None or d < end) for _, start, end in spans)


def past_due_items(s: State, on: date) -> list[Item]:
    """Interest and default interest unpaid at the end of its due date, as day `on` begins."""
    return [i for i in s.items if i.account != "costs" and i.due_date < on]


def principal_past_due(s: State, on: date) -> bool:
    return s.principal_due_on is not None and s.principal_due_on < on and s.principal > 0


def in_payment_default(s: State, on: date) -> bool:
    """Is principal or interest unpaid after its due date (7(a)(i))?"""
    return principal_past_due(s, on) or bool(past_due_items(s, on))


def past_due(s: State, on: date) -> tuple[Decimal, date | None]:
    """What is past due as day `on` begins (principal and interest; costs of collection are billed,
    not past due), and the first day the oldest of it was past due."""
    items = past_due_items(s, on)
    amount = sum((i.unpaid for i in items), ZERO)
    due_dates = [i.due_date for i in items]
    if principal_past_due(s, on):
        amount += s.principal
        due_dates.append(s.principal_due_on)
    return amount, (min(due_dates) + ONE_DAY if due_dates else None)


def billed_not_due(s: State, on: date) -> Decimal:
    """Interest and default interest billed and unpaid whose due date is `on` or later."""
    return sum((i.unpaid for i in s.items if i.account != "costs" and i.due_date >= on), ZERO)


def next_due(s: State, on: date) -> tuple[date | None, Decimal]:
    """The next day principal or billed interest falls due, `on` or later, and what is due that day
    (interest not yet billed is not due: it is billed when its period ends)."""
    due = [(i.due_date, i.unpaid) for i in s.items if i.account != "costs" and i.due_date >= on]
    if s.principal_due_on is not None and s.principal_due_on >= on and s.principal > 0:
        due.append((s.principal_due_on, s.principal))
    if not due:
        return None, ZERO
    first = min(day for day, _ in due)
    return first, sum((amount for day, amount in due if day == first), ZERO)


def track_payment_default(s: State, d: date) -> bool:
    """Open or close the payment-default span on day d, after the day's money moved; is d in it?"""
    in_default = in_payment_default(s, d)
    spans = s.payment_defaults
    if in_default and not (spans and spans[-1][1] is None):
        spans.append([d, None])
    elif not in_default and spans and spans[-1][1] is None:
        spans[-1][1] = d
    return in_default


def default_interest_of_day(s: State, t: Terms, d: date) -> Decimal:
    """Day d's default interest, before the division by 365: the spread on principal, and the
    default rate on regular interest past due (section 1; default interest bears none)."""
    overdue_interest = sum((i.unpaid for i in past_due_items(s, d) if i.account == "interest"), ZERO)
    spread = EXACT.multiply(s.principal, EXACT.subtract(t.default_rate, t.rate))
    return EXACT.add(spread, EXACT.multiply(overdue_interest, t.default_rate))
