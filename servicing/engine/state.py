"""What a replay carries from one day to the next, and its JSON form (stored on the note, so that a
nightly close goes on from the last day posted instead of replaying the whole note)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from servicing.engine.calendar import ONE_DAY
from servicing.engine.money import ZERO
from servicing.engine.results import Acceleration

STATE_VERSION = 1


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
    def start(cls, terms) -> State:
        return cls(day=terms.first_day - ONE_DAY, principal=terms.principal, period_start=terms.first_day)

    def unpaid(self, account: str) -> Decimal:
        return sum((i.unpaid for i in self.items if i.account == account), ZERO)

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
