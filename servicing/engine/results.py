"""What a replay returns: the periods billed, payments applied, conversions, prepayments, defaults
and accelerations, the ledger postings, the balances at the end, and the state to go on from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from servicing.engine.errors import RuleError
from servicing.engine.money import ZERO


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
    """What the note owes at the end of `as_of`."""

    as_of: date
    principal: Decimal
    interest_due: Decimal  # billed and unpaid, whether or not its due date has come
    default_interest_due: Decimal
    costs_due: Decimal
    accrued_interest: Decimal  # the open period's, not yet billed
    accrued_default_interest: Decimal
    unapplied: Decimal
    past_due: Decimal = ZERO  # principal and interest unpaid at the end of their due date (7(a)(i))
    past_due_since: date | None = None  # the first day the oldest of it was past due
    next_due_on: date | None = None  # the next day principal or billed interest falls due
    next_due_amount: Decimal = ZERO  # what falls due that day

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
    state: object = None  # the State at the end of the last day
    month_end: tuple[date, dict] | None = None  # the last month end passed, and the state's JSON then, if asked


class Journal:
    """Where the rules write what happened: a posting for each ledger line, a refusal for each event
    a rule refuses (raised when strict, listed otherwise, so a nightly close never stops on one note)."""

    def __init__(self, strict: bool):
        self.result = Result()
        self.strict = strict

    def post(self, d: date, kind: str, account: str, key: str, amount: Decimal) -> None:
        self.result.postings.append(Posting(d, kind, account, key, amount))

    def refuse(self, event_type: str, ref: str, field_name: str, message: str) -> None:
        if self.strict:
            raise RuleError(field_name, message)
        self.result.refused.append((event_type, ref, message))
