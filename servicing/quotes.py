"""What-ifs from the note page: the payoff on a date, and the shares a conversion would give.

Both replay the note's approved events with the engine; nothing is recorded.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from notes.models import Note
from servicing import engine
from servicing.selectors import conversion_price_display, note_events, note_terms


@dataclass
class Payoff:
    on: date
    balances: engine.Balances

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
    return Payoff(on=on, balances=result.balances)


@dataclass
class ConversionQuote:
    on: date
    principal: Decimal | None = None
    interest: Decimal | None = None
    amount: Decimal | None = None
    price: Decimal | None = None
    shares: int | None = None
    refusal: str = ""


def conversion_quote(note: Note, on: date, principal: Decimal | None) -> ConversionQuote:
    """The shares a conversion with `on` as its Conversion Date would give (4(a), 4(b))."""
    events = [*note_events(note), engine.Conversion("what-if", on, on, principal)]
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
