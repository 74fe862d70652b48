"""The day-by-day replay of one note (servicing-rules.md, "The order of one day").

`run()` takes the note's terms, its events and a date, and returns what happened on every day up
to that date (results.py). Given the state at the end of a day back, it goes on from the next day,
so a nightly close replays only the new days. Each step of a day is a rule of its own module.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import date

from servicing.engine import acceleration, accrual, assignment, conversion, defaults, keys, prepayment, waterfall
from servicing.engine.calendar import ONE_DAY, add_months
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
    month_end: bool = False,
) -> Result:
    """Replay the note from `state` (or from its first day) through the end of `through`.

    strict: a rule broken on the day (an acceleration without an Event of Default, a conversion
    of more than is outstanding) raises RuleError; otherwise the event is skipped and listed in
    `Result.refused`, so a nightly close never stops on one note.
    month_end: keep the state's JSON at the end of the last month's last day passed
    (`Result.month_end`), for a later replay of that month to go on from.
    """
    if through > terms.last_day:
        raise RuleError("through", f"{through} is past {terms.last_day}, the last day this note is replayed to")
    return _Replay(terms, events, strict).run(through, state or State.start(terms), month_end)


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
        # Days on which something other than accrual may happen, whatever the state.
        busy = {terms.first_day, *self.by_day, *self.period_ends}
        busy.update(day for _, start, end in self.eod_spans for day in (start, end) if day is not None)
        self.busy = sorted(busy)

    def run(self, through: date, s: State, month_end: bool = False) -> Result:
        # The last month's last day to pass: `through` itself, or the day before its month began.
        last_month_end = through if (through + ONE_DAY).day == 1 else through.replace(day=1) - ONE_DAY
        d = s.day + ONE_DAY
        while d <= through:
            last = self.quiet_through(s, d, through)
            if last is None:
                self.day(s, d)
            else:
                self.quiet_days(s, d, (last - d).days + 1)
                d = last
            s.day = d
            d += ONE_DAY
            if month_end and s.day == last_month_end:
                self.j.result.month_end = (s.day, s.to_json())
        return self.result(s, through)

    def quiet_through(self, s: State, d: date, through: date) -> date | None:
        """The last of the quiet days from d on, or None when d is not quiet. On a quiet day nothing
        is billed, received or due, no default begins or ends, and nothing is payable from unapplied
        funds: the day only accrues, as the day before it did."""
        if d.day == 1 or (s.unapplied and (s.items or s.principal_due_on is not None)):
            return None
        ends = [through + ONE_DAY, add_months(d.replace(day=1), 1)]
        i = bisect_left(self.busy, d)
        if i < len(self.busy):
            ends.append(self.busy[i])
        # The day after a due date is the first day its amount is past due.
        ends += [i.due_date + ONE_DAY for i in s.items if i.due_date >= d]
        if s.principal_due_on is not None and s.principal_due_on >= d:
            ends.append(s.principal_due_on + ONE_DAY)
        last = min(ends) - ONE_DAY
        return last if last >= d else None

    def quiet_days(self, s: State, d: date, days: int) -> None:
        """Steps 1 to 7 of `days` quiet days from d in one move: only step 7 does anything."""
        in_payment_default = defaults.track_payment_default(s, d)
        in_default = in_payment_default or defaults.in_event_of_default(self.eod_spans, d)
        accrual.accrue(s, self.t, d, in_default, days)

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
        next_on, next_amount = defaults.next_due(s, through + ONE_DAY)
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
            next_due_on=next_on,
            next_due_amount=next_amount,
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
