"""What-ifs from the note page: the payoff on a date, and the shares a conversion would give.

Both replay the note's approved events with the engine; nothing is recorded. The what-if says what
it assumes: the scheduled items it includes (a prepayment or conversion dated after today), what
awaits approval and is left out unless chosen, and each bill it takes to be unpaid by the quote date.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from notes.models import Approval, Note
from servicing import engine
from servicing.engine.events import effective_on
from servicing.models import Conversion, Payment, Prepayment
from servicing.selectors import (
    conversion_event,
    conversion_price_display,
    note_events,
    note_terms,
    payment_event,
    prepayment_event,
)
from servicing.words import amount as amount_text


@dataclass
class Payoff:
    on: date
    balances: engine.Balances
    # The replay's workings, for the what-if's words: a payoff is its date and balances, so two
    # replays that agree on those are equal whichever day they went on from.
    periods: list = field(default_factory=list, compare=False)  # the periods the replay billed
    refused: list = field(default_factory=list, compare=False)  # (event type, ref, why) it did not apply

    @property
    def amount(self) -> Decimal:
        return self.balances.payoff_amount


def payoff_quote(note: Note, on: date, *, state: engine.State | None = None, events=None) -> Payoff:
    """What pays the note off on `on`: everything owed at the end of the day before (a payment is
    applied before the day accrues). A caller that has them gives the replay's state at the end of a
    day not after the day before, to go on from instead of the first day, and the note's events (the
    statement has both at its cut-off)."""
    day_before = max(on, note.first_day) - timedelta(days=1)
    events = note_events(note) if events is None else events
    result = engine.run(note_terms(note), events, day_before, state, strict=False)
    return Payoff(on=on, balances=result.balances, periods=result.periods, refused=result.refused)


@dataclass
class ConversionQuote:
    on: date
    principal: Decimal | None = None
    interest: Decimal | None = None
    amount: Decimal | None = None
    price: Decimal | None = None
    shares: int | None = None
    refusal: str = ""


def conversion_quote(note: Note, on: date, principal: Decimal | None, *, events=None) -> ConversionQuote:
    """The shares a conversion with `on` as its Conversion Date would give (4(a), 4(b)), after the
    note's events (or the what-if's chosen ones)."""
    events = [*(note_events(note) if events is None else events), engine.Conversion("what-if", on, on, principal)]
    try:
        engine.check_events(note_terms(note), events[-1:])
    except engine.RuleError as e:
        return ConversionQuote(on=on, refusal=e.message)
    result = engine.run(note_terms(note), events, on, strict=False)
    done = next((c for c in result.conversions if c.ref == "what-if"), None)
    if done is None:
        why = next((why for kind, ref, why in result.refused if ref == "what-if"), "no principal to convert")
        return ConversionQuote(on=on, refusal=why)
    return ConversionQuote(
        on=on,
        principal=done.principal,
        interest=done.interest + done.default_interest,
        amount=done.amount,
        price=conversion_price_display(note),
        shares=done.shares,
    )


@dataclass(frozen=True)
class Choice:
    """A scheduled or pending item the what-if may include or leave out. A scheduled one (approved,
    dated after today) is included unless left out; one awaiting approval only when chosen."""

    key: str  # the form's value: "prepayment-12"
    words: str
    event: engine.Event
    approved: bool


def _money(amount: Decimal | None) -> str:
    return "all principal" if amount is None else f"{amount_text(amount)} principal"


def choices(note: Note, today: date) -> list[Choice]:
    """The note's prepayments and conversions dated after today, and its payments, prepayments and
    conversions awaiting approval; only this note's, so a key of another note's item matches none."""
    items = []
    live = Approval.APPROVED, Approval.PENDING
    for p in Prepayment.objects.filter(note=note, approval__in=live).select_related("notice").order_by("pk"):
        approved = p.approval == Approval.APPROVED
        if approved and p.prepayment_date <= today:
            continue  # done: a fact, not an assumption
        state = "approved, scheduled" if approved else "awaiting approval"
        on = p.prepayment_date
        words = (
            f"a prepayment of {_money(p.principal_requested)} on {on:%Y-%m-%d}, with the interest owed then ({state})"
        )
        items.append(Choice(f"prepayment-{p.pk}", words, prepayment_event(p), approved))
    for c in Conversion.objects.filter(note=note, approval__in=live).select_related("notice").order_by("pk"):
        approved = c.approval == Approval.APPROVED
        if approved and c.notice.deemed_received_on <= today:
            continue
        state = "notice given" if approved else "notice awaiting approval"
        on = c.notice.deemed_received_on
        words = f"a conversion of {_money(c.principal_requested)} on {on:%Y-%m-%d} ({state})"
        items.append(Choice(f"conversion-{c.pk}", words, conversion_event(c), approved))
    payments = Payment.objects.filter(note=note, approval=Approval.PENDING, reversed_at__isnull=True)
    for p in payments.order_by("received_on", "pk"):
        words = f"a payment of {amount_text(p.amount)} received {p.received_on:%Y-%m-%d} (awaiting approval)"
        items.append(Choice(f"payment-{p.pk}", words, payment_event(p), False))
    return items


@dataclass
class WhatIf:
    on: date
    payoff: Payoff
    conversion: ConversionQuote
    choices: list[tuple[Choice, bool]]  # each item and whether it is included
    assumptions: list[str]


def what_if(note: Note, on: date, principal: Decimal | None, chosen: Iterable[str] | None, today: date) -> WhatIf:
    """The payoff and the conversion on `on` with the items `chosen` (their keys; None: the scheduled
    ones), and the words for what the figures assume. A key not among the note's items is ignored."""
    items = choices(note, today)
    if chosen is None:
        included = {c.key for c in items if c.approved}
    else:
        included = set(chosen) & {c.key for c in items}
    left_out = {(type(c.event), c.event.ref) for c in items if c.approved and c.key not in included}
    events = [e for e in note_events(note) if (type(e), e.ref) not in left_out]
    events += [c.event for c in items if not c.approved and c.key in included]
    payoff = payoff_quote(note, on, events=events)
    conversion = conversion_quote(note, on, principal, events=events)
    marked = [(c, c.key in included) for c in items]
    return WhatIf(on=on, payoff=payoff, conversion=conversion, choices=marked, assumptions=assumptions(payoff, marked))


def assumptions(payoff: Payoff, items: list[tuple[Choice, bool]]) -> list[str]:
    """What the payoff on `payoff.on` takes as given, in words."""
    lines = []
    day_before = payoff.on - timedelta(days=1)
    refused = {(kind, ref): why for kind, ref, why in payoff.refused}
    for c, included in items:
        if not included:
            lines.append(f"Leaves out {c.words}.")
        elif effective_on(c.event) > day_before:
            lines.append(f"Includes {c.words}, after the quote date: it changes nothing here.")
        elif why := refused.get((type(c.event).__name__.lower(), c.event.ref)):
            lines.append(f"Includes {c.words}, but the engine does not apply it: {why}")
        else:
            lines.append(f"Includes {c.words}.")
    lines += [
        f"Interest billed on {p.end + timedelta(days=1):%Y-%m-%d} ({amount_text(unpaid)}), due {p.due_date:%Y-%m-%d}, "
        "is assumed unpaid by the quote date."
        for p, unpaid in unpaid_bills(payoff)
    ]
    if default := payoff.balances.default_interest_due:
        lines.append(f"Default interest billed ({amount_text(default)}) is assumed unpaid by the quote date.")
    return lines


def unpaid_bills(payoff: Payoff) -> list[tuple[engine.results.Period, Decimal]]:
    """Each bill of interest due before the quote date with nothing recorded to pay it, and what of it
    is unpaid, oldest first. Payments take the oldest interest first (section 1), so what the replay
    leaves unpaid is the newest bills' interest."""
    left, unpaid = payoff.balances.interest_due, []
    for p in reversed(payoff.periods):
        if left <= 0:
            break
        part = min(left, p.interest)
        left -= part
        if part and p.due_date < payoff.on:
            unpaid.append((p, part))
    return unpaid[::-1]
