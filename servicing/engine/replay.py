"""The day-by-day replay of one note (servicing-rules.md, "The order of one day").

`run()` takes the note's terms, its events and a date, and returns what happened on every day
up to that date: the periods billed, how each payment was applied, conversions, prepayments,
accelerations, defaults, the ledger postings, and the state at the end of the last day. Given
that state back it goes on from the next day, so a nightly close replays only the new days.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from servicing.engine import keys
from servicing.engine.calendar import (
    ONE_DAY,
    add_business_days,
    add_months,
    business_day_on_or_after,
    check_calendar,
)
from servicing.engine.conversion import shares_for
from servicing.engine.errors import RuleError
from servicing.engine.money import CENT, EXACT, ZERO, to_cents

DAYS_IN_YEAR = Decimal(365)  # Actual/365 Fixed, also in leap years (preamble)
STATE_VERSION = 1

# The window of days a note's replay, its events and its what-ifs may name (a bound on the work one
# request can cause): from a year before the agreement date to 20 years after maturity.
YEARS_BEFORE = 1
YEARS_AFTER = 20
MAX_MONEY = Decimal("1000000000000")  # no amount of a note is a trillion or more
MIN_CONVERSION_PRICE = Decimal("0.000001")  # the conversion price is shown to six decimals
MAX_SHARES = 10**18  # what a share count column (a 64-bit integer) holds, with room to spare
# Terms no note has: an agreement date outside these years, a term of more than 50 years.
EARLIEST_YEAR, LATEST_YEAR, LONGEST_TERM_YEARS = 1900, 2200, 50

# Why a period ended, in the order that wins when several fall on one day.
REASONS = ("acceleration", "maturity", "prepayment", "conversion", "month_end")


@dataclass(frozen=True)
class Terms:
    agreement_date: date
    maturity_date: date
    principal: Decimal
    rate: Decimal
    conversion_price: Decimal
    default_rate_spread: Decimal = Decimal("0.03")
    max_lawful_rate: Decimal | None = None
    prepayment_lockout_months: int = 3
    calendar: str = "XFED"
    # A substitute note (8(j)) has the original's terms but accrues from the assignment date.
    accrues_from: date | None = None

    @property
    def first_day(self) -> date:
        return self.accrues_from or self.agreement_date

    @property
    def default_rate(self) -> Decimal:
        """The lesser of the lawful rate and 3 % above the rate (section 1)."""
        rate = self.rate + self.default_rate_spread
        if self.max_lawful_rate is not None:
            rate = min(rate, self.max_lawful_rate)
        return rate

    @property
    def prepayment_allowed_from(self) -> date:
        return add_months(self.agreement_date, self.prepayment_lockout_months)

    @property
    def earliest_day(self) -> date:
        """The first day any date about the note may name."""
        return add_months(self.agreement_date, -12 * YEARS_BEFORE)

    @property
    def last_day(self) -> date:
        """The last day the note is ever replayed to: no event, what-if or close goes past it."""
        return add_months(self.maturity_date, 12 * YEARS_AFTER)

    def check_day(self, field: str, day: date) -> None:
        """Refuse a date outside the note's window (RuleError naming `field`)."""
        if not self.earliest_day <= day <= self.last_day:
            raise RuleError(
                field,
                f"{field} {day} is outside the dates this note can have: "
                f"{self.earliest_day} (a year before its agreement date) "
                f"to {self.last_day} (20 years after its maturity)",
            )

    def check(self) -> None:
        _money("principal", self.principal)
        if not EARLIEST_YEAR <= self.agreement_date.year <= LATEST_YEAR:
            raise RuleError(
                "agreement_date",
                f"agreement date {self.agreement_date} must be in the years {EARLIEST_YEAR} to {LATEST_YEAR}",
            )
        if self.maturity_date > add_months(self.agreement_date, 12 * LONGEST_TERM_YEARS):
            raise RuleError(
                "maturity_date",
                f"maturity date {self.maturity_date} is more than {LONGEST_TERM_YEARS} years "
                f"after the agreement date {self.agreement_date}",
            )
        if self.maturity_date <= self.agreement_date:
            raise RuleError(
                "maturity_date",
                f"maturity date {self.maturity_date} must be after the agreement date {self.agreement_date}",
            )
        if self.accrues_from is not None and not self.agreement_date <= self.accrues_from < self.maturity_date:
            raise RuleError(
                "accrues_from",
                f"a note accrues from a day from its agreement date {self.agreement_date} "
                f"to before its maturity date {self.maturity_date}, not {self.accrues_from}",
            )
        if self.rate < 0:
            raise RuleError("rate", f"rate {self.rate} must not be negative")
        if self.default_rate_spread < 0:
            raise RuleError(
                "default_rate_spread", f"default rate spread {self.default_rate_spread} must not be negative"
            )
        if self.max_lawful_rate is not None and self.max_lawful_rate < self.rate:
            raise RuleError(
                "max_lawful_rate", f"maximum lawful rate {self.max_lawful_rate} must not be below the rate {self.rate}"
            )
        if self.prepayment_lockout_months < 0:
            raise RuleError("prepayment_lockout_months", "prepayment lockout months must not be negative")
        if self.conversion_price < MIN_CONVERSION_PRICE:
            raise RuleError(
                "conversion_price", f"conversion price {self.conversion_price} must be at least {MIN_CONVERSION_PRICE}"
            )
        if self.rate > 1 or self.default_rate_spread > 1:
            raise RuleError("rate", f"rate {self.rate} plus spread {self.default_rate_spread}: each at most 1 (100 %)")
        check_calendar(self.calendar)


# Events. `ref` is the caller's stable name for the event; postings and results carry it.


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


# Results.


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    days: int
    due_date: date
    reason: str
    interest: Decimal
    default_interest: Decimal


@dataclass(frozen=True)
class PaymentApplied:
    ref: str
    date: date
    amount: Decimal
    to_default_interest: Decimal
    to_interest: Decimal
    to_principal: Decimal
    to_costs: Decimal
    to_unapplied: Decimal


@dataclass(frozen=True)
class ConversionDone:
    ref: str
    notice_sent: date
    conversion_date: date
    principal: Decimal
    interest: Decimal
    default_interest: Decimal
    amount: Decimal
    price: Decimal
    shares: int


@dataclass(frozen=True)
class PrepaymentDone:
    ref: str
    notice_sent: date
    holder_received: date
    window_end: date
    date: date
    principal: Decimal
    interest: Decimal
    default_interest: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Default:
    kind: str  # payment, covenant, misrepresentation, insolvency
    start: date  # first day in default
    end: date | None  # first day no longer in default, if known by the run's last day


@dataclass(frozen=True)
class Acceleration:
    date: date
    kind: str  # automatic (insolvency) or holder_notice
    ref: str


@dataclass(frozen=True)
class Posting:
    """One ledger line: `account` moves by `amount` on `effective_on` because of `key`."""

    effective_on: date
    kind: str
    account: str  # principal, interest, default_interest, costs, unapplied
    key: str
    amount: Decimal


@dataclass(frozen=True)
class Balances:
    as_of: date
    principal: Decimal
    interest_due: Decimal
    default_interest_due: Decimal
    costs_due: Decimal
    accrued_interest: Decimal
    accrued_default_interest: Decimal
    unapplied: Decimal

    @property
    def payoff_amount(self) -> Decimal:
        """What pays everything off on the next day, never below zero."""
        owed = (
            self.principal
            + self.interest_due
            + self.default_interest_due
            + self.costs_due
            + self.accrued_interest
            + self.accrued_default_interest
        )
        return max(ZERO, owed - self.unapplied)


# State.


@dataclass
class Item:
    """A billed amount still unpaid: a period's interest or default interest, or a cost."""

    key: str
    account: str  # interest, default_interest, costs
    due_date: date
    billed_on: date
    unpaid: Decimal


@dataclass
class State:
    day: date  # the last day fully processed
    principal: Decimal
    period_start: date
    interest_sum: Decimal = ZERO  # Σ principal × rate over the open period's days
    default_sum: Decimal = ZERO  # Σ the default-interest numerator over the same days
    unapplied: Decimal = ZERO
    principal_due_on: date | None = None
    acceleration: Acceleration | None = None
    items: list[Item] = field(default_factory=list)
    payment_defaults: list[list[date | None]] = field(default_factory=list)  # [start, end]

    @classmethod
    def start(cls, terms: Terms) -> State:
        return cls(day=terms.first_day - ONE_DAY, principal=terms.principal, period_start=terms.first_day)

    def to_json(self) -> dict:
        a = self.acceleration
        return _encode(
            {
                "version": STATE_VERSION,
                "day": self.day,
                "principal": self.principal,
                "period_start": self.period_start,
                "interest_sum": self.interest_sum,
                "default_sum": self.default_sum,
                "unapplied": self.unapplied,
                "principal_due_on": self.principal_due_on,
                "acceleration": {"date": a.date, "kind": a.kind, "ref": a.ref} if a else None,
                "items": [vars(i) for i in self.items],
                "payment_defaults": self.payment_defaults,
            }
        )

    @classmethod
    def from_json(cls, data: dict) -> State | None:
        """The stored state, or None when it was written by another version of the engine."""
        if data.get("version") != STATE_VERSION:
            return None
        d = _decode(data)
        return cls(
            day=d["day"],
            principal=d["principal"],
            period_start=d["period_start"],
            interest_sum=d["interest_sum"],
            default_sum=d["default_sum"],
            unapplied=d["unapplied"],
            principal_due_on=d["principal_due_on"],
            acceleration=Acceleration(**d["acceleration"]) if d["acceleration"] else None,
            items=[Item(**i) for i in d["items"]],
            payment_defaults=[list(s) for s in d["payment_defaults"]],
        )


@dataclass
class Result:
    periods: list[Period] = field(default_factory=list)
    payments: list[PaymentApplied] = field(default_factory=list)
    conversions: list[ConversionDone] = field(default_factory=list)
    prepayments: list[PrepaymentDone] = field(default_factory=list)
    postings: list[Posting] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # (event type, ref, why), when not strict
    defaults: list[Default] = field(default_factory=list)
    accelerations: list[Acceleration] = field(default_factory=list)
    balances: Balances | None = None
    state: State | None = None


def check_events(terms: Terms, events: list[Event]) -> None:
    """The rules an event breaks on its own, whatever else happens (raises RuleError)."""
    a = terms.first_day
    allowed = terms.prepayment_allowed_from
    for e in events:
        for name, day in _event_days(e):
            terms.check_day(name, day)
        match e:
            case Payment():
                _money("amount", e.amount)
                _on_or_after("received_on", e.received_on, a)
            case Conversion():
                if e.principal is not None:
                    _money("principal", e.principal)
                _on_or_after("notice.sent", e.notice_sent, a)
            case Prepayment():
                if e.principal is not None:
                    _money("principal", e.principal)
                if e.notice_sent < allowed or e.date < allowed:
                    raise RuleError(
                        "date", f"prepayment notice and prepayment not permitted before {allowed} (lockout)"
                    )
                window_end = add_business_days(e.holder_received, 3, terms.calendar)
                if e.date <= window_end:
                    raise RuleError(
                        "date",
                        f"prepayment date {e.date} must be after the holder's conversion window, "
                        f"which runs {e.holder_received} through {window_end} (section 4(a))",
                    )
            case CovenantBreach():
                _on_or_after("date", e.breached_on, a)
                if e.cured_on is not None:
                    _on_or_after("cured", e.cured_on, e.breached_on, "the breach")
            case Misrepresentation():
                _on_or_after("date", e.occurred_on, a)
                if e.waived_on is not None:
                    _on_or_after("waived", e.waived_on, e.occurred_on, "the misrepresentation")
            case Insolvency():
                _on_or_after("date", e.occurred_on, a)
            case AccelerationNotice():
                _on_or_after("notice.sent", e.notice_sent, a)
            case Cost():
                _money("amount", e.amount)
                _on_or_after("date", e.billed_on, a)
            case Assignment():
                _money("principal", e.principal)
                _on_or_after("effective_on", e.date, a)
                if e.date >= terms.maturity_date:
                    raise RuleError(
                        "effective_on",
                        f"an assignment takes effect before the maturity date {terms.maturity_date}, not on {e.date}",
                    )


def effective_on(e: Event) -> date:
    match e:
        case Payment():
            return e.received_on
        case Conversion():
            return e.conversion_date
        case Prepayment():
            return e.date
        case CovenantBreach():
            return e.breached_on
        case Misrepresentation():
            return e.occurred_on
        case Insolvency():
            return e.occurred_on
        case AccelerationNotice():
            return e.effective_on
        case Cost():
            return e.billed_on
        case Assignment():
            return e.date
    raise TypeError(e)


def _event_days(e: Event) -> list[tuple[str, date]]:
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


def run(terms: Terms, events: list[Event], through: date, state: State | None = None, *, strict: bool = True) -> Result:
    """Replay the note from `state` (or from its agreement date) through the end of `through`.

    strict: a rule broken on the day (an acceleration without an Event of Default, a conversion
    of more than is outstanding) raises RuleError; otherwise the event is skipped and listed in
    `Result.refused`, so a nightly close never stops on one note.
    """
    if through > terms.last_day:
        raise RuleError("through", f"{through} is past {terms.last_day}, the last day this note is replayed to")
    return _Replay(terms, events, strict).run(through, state or State.start(terms))


class _Replay:
    def __init__(self, terms: Terms, events: list[Event], strict: bool):
        self.t = terms
        self.strict = strict
        self.default_extra = terms.default_rate - terms.rate
        self.by_day: dict[date, list[Event]] = defaultdict(list)
        self.breaks: dict[date, str] = {terms.maturity_date: "maturity"}
        for e in events:
            self.by_day[effective_on(e)].append(e)
            if isinstance(e, Prepayment):
                self._break(e.date, "prepayment")
            elif isinstance(e, Conversion):
                self._break(e.conversion_date, "conversion")
        self.eod_spans = _event_of_default_spans(terms, events)

    def _break(self, d: date, reason: str) -> None:
        if d not in self.breaks or REASONS.index(reason) < REASONS.index(self.breaks[d]):
            self.breaks[d] = reason

    def run(self, through: date, s: State) -> Result:
        self.s = s
        self.r = Result()
        d = s.day + ONE_DAY
        while d <= through:
            self._day(d)
            s.day = d
            d += ONE_DAY
        r = self.r
        r.state = s
        r.balances = Balances(
            as_of=through,
            principal=s.principal,
            interest_due=self._unpaid("interest"),
            default_interest_due=self._unpaid("default_interest"),
            costs_due=self._unpaid("costs"),
            accrued_interest=_interest(s.interest_sum),
            accrued_default_interest=_interest(s.default_sum),
            unapplied=s.unapplied,
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

    # The order of one day.

    def _day(self, d: date) -> None:
        s, t = self.s, self.t
        todays = self.by_day.get(d, ())
        if d == t.first_day:
            self._post(d, "funding", "principal", keys.FUNDING, t.principal)
        acceleration = self._acceleration_on(d, todays) if s.acceleration is None else None

        # 1. the period that ended yesterday is billed; so are costs billed today.
        reason = "acceleration" if acceleration else self.breaks.get(d)
        if reason is None and d.day == 1:
            reason = "month_end"
        if reason and s.period_start < d:
            self._bill(d, reason)
        for e in todays:
            if isinstance(e, Cost):
                key = keys.cost(e.ref)
                s.items.append(Item(key, "costs", d, d, e.amount))
                self._post(d, "cost", "costs", key, e.amount)

        # 2. acceleration and maturity make principal (and, on acceleration, all billed interest) due.
        if acceleration:
            s.acceleration = acceleration
            for item in s.items:
                if item.account != "costs" and item.due_date > d:
                    item.due_date = d
            if s.principal_due_on is None:
                s.principal_due_on = d
        if d == t.maturity_date and s.principal_due_on is None:
            s.principal_due_on = d

        # 3. unapplied funds go to whatever is now payable.
        if s.unapplied:
            applied = self._apply(d, s.unapplied)
            if applied:
                total = sum(applied.values())
                s.unapplied -= total
                key = keys.unapplied(d)
                self._post(d, "unapplied_applied", "unapplied", key, -total)
                for account, amount in applied.items():
                    self._post(d, "unapplied_applied", account, key, -amount)

        # 4. payments, in the order received; 5. conversions; 6. prepayments; then assignments.
        for e in todays:
            if isinstance(e, Payment):
                self._payment(d, e)
        for e in todays:
            if isinstance(e, Conversion):
                self._conversion(d, e)
        for e in todays:
            if isinstance(e, Prepayment):
                self._prepayment(d, e)
        for e in todays:
            if isinstance(e, Assignment):
                self._assignment(d, e)

        # 7. is d a day in default; d accrues interest and default interest.
        in_payment_default = self._in_payment_default(d)
        spans = s.payment_defaults
        if in_payment_default and not (spans and spans[-1][1] is None):
            spans.append([d, None])
        elif not in_payment_default and spans and spans[-1][1] is None:
            spans[-1][1] = d
        s.interest_sum += s.principal * t.rate
        if in_payment_default or self._event_of_default_on(d):
            past_due_interest = sum((i.unpaid for i in s.items if i.account == "interest" and i.due_date < d), ZERO)
            s.default_sum += s.principal * self.default_extra + past_due_interest * t.default_rate

    def _acceleration_on(self, d: date, todays) -> Acceleration | None:
        """The first acceleration takes effect on d: insolvency (7(x)) or the holder's notice (7(y))."""
        for e in todays:
            if isinstance(e, Insolvency):
                return Acceleration(d, "automatic", e.ref)
        for e in todays:
            if isinstance(e, AccelerationNotice):
                if self._in_payment_default(d) or self._event_of_default_on(d):
                    return Acceleration(d, "holder_notice", e.ref)
                self._refuse(
                    "acceleration",
                    e.ref,
                    "notice.sent",
                    f"acceleration effective {d} refused: no Event of Default continues on that day (section 7(y))",
                )
        return None

    def _in_payment_default(self, d: date) -> bool:
        """Is an amount of principal or interest unpaid after its due date (7(a)(i))?"""
        s = self.s
        if s.principal_due_on is not None and s.principal_due_on < d and s.principal > 0:
            return True
        return any(i.due_date < d for i in s.items if i.account != "costs")

    def _event_of_default_on(self, d: date) -> bool:
        return any(start <= d and (end is None or d < end) for _, start, end in self.eod_spans)

    def _bill(self, d: date, reason: str) -> None:
        s, t = self.s, self.t
        start, end = s.period_start, d - ONE_DAY
        interest, default_interest = _interest(s.interest_sum), _interest(s.default_sum)
        s.period_start, s.interest_sum, s.default_sum = d, ZERO, ZERO
        if not interest and not default_interest:
            return  # a period in which nothing accrued is not billed
        if reason == "month_end":
            due = business_day_on_or_after(d, t.calendar)
        else:
            due = d  # the Maturity Date, acceleration, prepayment or Conversion Date itself
        self.r.periods.append(Period(start, end, (end - start).days + 1, due, reason, interest, default_interest))
        key = keys.period(start)
        for account, amount in (("interest", interest), ("default_interest", default_interest)):
            if amount:
                s.items.append(Item(key, account, due, d, amount))
                self._post(d, "bill", account, key, amount)

    def _apply(self, d: date, amount: Decimal) -> dict[str, Decimal]:
        """The payment order of section 1; returns what went to each account."""
        s = self.s
        applied: dict[str, Decimal] = {}

        def take(account: str, owed: Decimal) -> Decimal:
            nonlocal amount
            paid = min(amount, owed)
            if paid:
                amount -= paid
                applied[account] = applied.get(account, ZERO) + paid
            return paid

        interest = [i for i in s.items if i.account != "costs"]
        interest.sort(key=lambda i: (i.due_date, i.account != "default_interest", i.key))
        for item in interest:
            if not amount:
                break
            item.unpaid -= take(item.account, item.unpaid)
        if amount and s.principal_due_on is not None and s.principal_due_on <= d:
            s.principal -= take("principal", s.principal)
        for item in sorted((i for i in s.items if i.account == "costs"), key=lambda i: (i.billed_on, i.key)):
            if not amount:
                break
            item.unpaid -= take("costs", item.unpaid)
        s.items = [i for i in s.items if i.unpaid]
        return applied

    def _payment(self, d: date, e: Payment) -> None:
        s = self.s
        applied = self._apply(d, e.amount)
        left = e.amount - sum(applied.values(), ZERO)
        s.unapplied += left
        key = keys.payment(e.ref)
        for account, amount in applied.items():
            self._post(d, "payment", account, key, -amount)
        if left:
            self._post(d, "payment", "unapplied", key, left)
        self.r.payments.append(
            PaymentApplied(
                e.ref,
                d,
                e.amount,
                to_default_interest=applied.get("default_interest", ZERO),
                to_interest=applied.get("interest", ZERO),
                to_principal=applied.get("principal", ZERO),
                to_costs=applied.get("costs", ZERO),
                to_unapplied=left,
            )
        )

    def _take_interest(self) -> tuple[Decimal, Decimal]:
        """All billed and unpaid regular and default interest, as a conversion or prepayment takes it."""
        s = self.s
        interest = sum((i.unpaid for i in s.items if i.account == "interest"), ZERO)
        default_interest = sum((i.unpaid for i in s.items if i.account == "default_interest"), ZERO)
        s.items = [i for i in s.items if i.account == "costs"]
        return interest, default_interest

    def _conversion(self, d: date, e: Conversion) -> None:
        s, t = self.s, self.t
        principal = s.principal if e.principal is None else e.principal
        if s.principal <= 0 or principal > s.principal:
            self._refuse(
                "conversion",
                e.ref,
                "principal",
                f"conversion on {d} of {principal} refused: principal outstanding is {s.principal} (section 4(a))",
            )
            return
        owed = sum((i.unpaid for i in s.items if i.account in ("interest", "default_interest")), ZERO)
        if shares_for(principal + owed, t.conversion_price) > MAX_SHARES:
            self._refuse(
                "conversion",
                e.ref,
                "principal",
                f"conversion on {d} of {principal} refused: it would issue more than {MAX_SHARES:,} shares",
            )
            return
        interest, default_interest = self._take_interest()
        s.principal -= principal
        amount = principal + interest + default_interest
        key = keys.conversion(e.ref)
        self._post_reduction(d, "conversion", key, principal, interest, default_interest)
        self.r.conversions.append(
            ConversionDone(
                e.ref,
                e.notice_sent,
                d,
                principal,
                interest,
                default_interest,
                amount,
                t.conversion_price,
                shares_for(amount, t.conversion_price),
            )
        )

    def _prepayment(self, d: date, e: Prepayment) -> None:
        s, t = self.s, self.t
        principal = s.principal if e.principal is None else min(e.principal, s.principal)
        interest, default_interest = self._take_interest()
        s.principal -= principal
        key = keys.prepayment(e.ref)
        self._post_reduction(d, "prepayment", key, principal, interest, default_interest)
        self.r.prepayments.append(
            PrepaymentDone(
                e.ref,
                e.notice_sent,
                e.holder_received,
                add_business_days(e.holder_received, 3, t.calendar),
                d,
                principal,
                interest,
                default_interest,
                principal + interest + default_interest,
            )
        )

    def _assignment(self, d: date, e: Assignment) -> None:
        s = self.s
        if s.principal_due_on is not None:
            self._refuse(
                "assignment",
                e.ref,
                "effective_on",
                f"assignment on {d} refused: the principal fell due on {s.principal_due_on} and is no longer a "
                "loan that runs to maturity",
            )
        elif e.principal > s.principal:
            self._refuse(
                "assignment",
                e.ref,
                "principal",
                f"assignment on {d} of {e.principal} refused: principal outstanding is {s.principal}",
            )
        else:
            s.principal -= e.principal
            self._post(d, "assignment", "principal", keys.assignment(e.ref), -e.principal)

    def _post_reduction(self, d, kind, key, principal, interest, default_interest) -> None:
        """What a conversion or prepayment takes off principal and billed interest."""
        for account, value in (
            ("principal", principal),
            ("interest", interest),
            ("default_interest", default_interest),
        ):
            if value:
                self._post(d, kind, account, key, -value)

    def _unpaid(self, account: str) -> Decimal:
        return sum((i.unpaid for i in self.s.items if i.account == account), ZERO)

    def _post(self, d: date, kind: str, account: str, key: str, amount: Decimal) -> None:
        self.r.postings.append(Posting(d, kind, account, key, amount))

    def _refuse(self, event_type: str, ref: str, field_name: str, message: str) -> None:
        if self.strict:
            raise RuleError(field_name, message)
        self.r.refused.append((event_type, ref, message))


def _event_of_default_spans(terms: Terms, events: list[Event]) -> list[tuple[str, date, date | None]]:
    """Events of Default other than non-payment, as [start, end) spans (section 7)."""
    spans = []
    for e in events:
        match e:
            case CovenantBreach():
                # 7(a)(ii): an Event of Default only if not cured within 5 business days.
                start = add_business_days(e.breached_on, 5, terms.calendar) + ONE_DAY
                spans.append(("covenant", start, e.cured_on))
            case Misrepresentation():
                spans.append(("misrepresentation", e.occurred_on, e.waived_on))
            case Insolvency():
                spans.append(("insolvency", e.occurred_on, None))
    return [span for span in spans if span[2] is None or span[2] > span[1]]


def _interest(total: Decimal) -> Decimal:
    return to_cents(EXACT.divide(total, DAYS_IN_YEAR))


def _money(name: str, amount: Decimal) -> None:
    if amount <= 0:
        raise RuleError(name, f"{name} {amount} must be above zero")
    if amount > MAX_MONEY:
        raise RuleError(name, f"{name} {amount} is more than {MAX_MONEY:,}, the most a note can carry")
    if amount != amount.quantize(CENT):
        raise RuleError(name, f"{name} {amount} must be a whole number of cents")


def _on_or_after(name: str, d: date, earliest: date, what: str = "the agreement date") -> None:
    if d < earliest:
        raise RuleError(name, f"{name} {d} is before {what} {earliest}")


def _encode(value):
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, date):
        return {"$t": value.isoformat()}
    return value


def _decode(value):
    if isinstance(value, dict):
        if "$d" in value:
            return Decimal(value["$d"])
        if "$t" in value:
            return date.fromisoformat(value["$t"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
