"""The day-by-day replay of one note (servicing-rules.md, "The order of one day").

`run()` takes the note's terms, its events and a date, and returns what happened on every day up
to that date (results.py). Given the state at the end of a day back, it goes on from the next day,
so a nightly close replays only the new days. Each step of a day is a rule of its own module.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from servicing.engine import acceleration, accrual, assignment, conversion, defaults, keys, prepayment, waterfall
from servicing.engine.calendar import ONE_DAY
from servicing.engine.errors import RuleError
from servicing.engine.events import (
    Assignment,
    Conversion,
    Cost,
    Event,
    Payment,
    Prepayment,
    effective_on,
)
from servicing.engine.results import Balances, Default, Journal, Result
from servicing.engine.state import Item, State
from servicing.engine.terms import Terms


def run(
    terms: Terms,
    events: list[Event],
    through: date,
    state: State | None = None,
    *,
    strict: bool = True,
    month_ends: bool = False,
) -> Result:
    """Replay the note from `state` (or from its first day) through the end of `through`.

    strict: a rule broken on the day (an acceleration without an Event of Default, a conversion
    of more than is outstanding) raises RuleError; otherwise the event is skipped and listed in
    `Result.refused`, so a nightly close never stops on one note.
    month_ends: keep the state's JSON at the end of each month's last day passed
    (`Result.month_ends`), for a later replay to go on from.
    """
    if through > terms.last_day:
        raise RuleError("through", f"{through} is past {terms.last_day}, the last day this note is replayed to")
    return _Replay(terms, events, strict).run(through, state or State.start(terms), month_ends)


class _Replay:
    def __init__(self, terms: Terms, events: list[Event], strict: bool):
        self.t = terms
        self.j = Journal(strict)
        self.by_day: dict[date, list[Event]] = defaultdict(list)
        self.period_ends: dict[date, str] = {terms.maturity_date: "maturity"}
        for e in events:
            self.by_day[effective_on(e)].append(e)
            if isinstance(e, Prepayment):
                self.period_ends[e.date] = accrual.winning_reason(self.period_ends.get(e.date), "prepayment")
            elif isinstance(e, Conversion):
                d = e.conversion_date
                self.period_ends[d] = accrual.winning_reason(self.period_ends.get(d), "conversion")
        self.eod_spans = defaults.event_of_default_spans(terms, events)

    def run(self, through: date, s: State, month_ends: bool = False) -> Result:
        d = s.day + ONE_DAY
        while d <= through:
            self.day(s, d)
            s.day = d
            d += ONE_DAY
            if month_ends and d.day == 1:
                self.j.result.month_ends[s.day] = s.to_json()
        return self.result(s, through)

    def day(self, s: State, d: date) -> None:
        """The order of one day."""
        t, j = self.t, self.j
        todays = self.by_day.get(d, ())
        if d == t.first_day:
            j.post(d, "funding", "principal", keys.FUNDING, t.principal)
        accelerated = acceleration.acceleration_on(s, j, d, todays, self.eod_spans)

        # 1. the period that ended yesterday is billed; so are costs of collection billed today.
        reason = "acceleration" if accelerated else self.period_ends.get(d)
        if reason is None and d.day == 1:
            reason = "month_end"
        if reason and s.period_start < d:
            accrual.bill(s, t, j, d, reason)
        for e in todays:
            if isinstance(e, Cost):
                key = keys.cost(e.ref)
                s.items.append(Item(key, "costs", d, d, e.amount))
                j.post(d, "cost", "costs", key, e.amount)

        # 2. an acceleration makes principal and all billed interest due; maturity, principal.
        if accelerated:
            acceleration.accelerate(s, d, accelerated)
        acceleration.mature(s, t, d)

        # 3. unapplied funds go to whatever is now payable.
        waterfall.spend_unapplied(s, j, d)

        # 4. payments, in the order received; 5. conversions; 6. prepayments; then assignments.
        for e in todays:
            if isinstance(e, Payment):
                waterfall.receive(s, j, d, e)
        for e in todays:
            if isinstance(e, Conversion):
                conversion.convert(s, t.conversion_price, j, d, e)
        for e in todays:
            if isinstance(e, Prepayment):
                prepayment.prepay(s, t, j, d, e)
        for e in todays:
            if isinstance(e, Assignment):
                assignment.assign(s, j, d, e)

        # 7. is d a day in default; d accrues interest, and default interest while in default.
        in_payment_default = defaults.track_payment_default(s, d)
        accrual.accrue(s, t, d, in_payment_default or defaults.in_event_of_default(self.eod_spans, d))

    def result(self, s: State, through: date) -> Result:
        r = self.j.result
        r.state = s
        owed, since = defaults.past_due(s, through + ONE_DAY)
        r.balances = Balances(
            as_of=through,
            principal=s.principal,
            interest_due=s.unpaid("interest"),
            default_interest_due=s.unpaid("default_interest"),
            costs_due=s.unpaid("costs"),
            accrued_interest=accrual.interest(s.interest_sum),
            accrued_default_interest=accrual.interest(s.default_sum),
            unapplied=s.unapplied,
            past_due=owed,
            past_due_since=since,
        )
        spans = [Default("payment", start, end) for start, end in s.payment_defaults]
        spans += [
            Default(kind, start, end if end is not None and end <= through else None)
            for kind, start, end in self.eod_spans
            if start <= through
        ]
        r.defaults = sorted(spans, key=lambda x: (x.start, x.kind))
        r.accelerations = [s.acceleration] if s.acceleration else []
        return r
