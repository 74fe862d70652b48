"""What a replay carries from one day to the next, and its JSON form (stored on the note, so that a
nightly close goes on from the last day posted instead of replaying the whole note)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from servicing.engine.calendar import ONE_DAY
from servicing.engine.money import ZERO
from servicing.engine.results import Acceleration

STATE_VERSION = 2


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
        """The state as JSON: numbers as strings (exact), dates in ISO form, items as rows."""
        a = self.acceleration
        return {
            "version": STATE_VERSION,
            "day": self.day.isoformat(),
            "principal": str(self.principal),
            "period_start": self.period_start.isoformat(),
            "interest_sum": str(self.interest_sum),
            "default_sum": str(self.default_sum),
            "unapplied": str(self.unapplied),
            "principal_due_on": _iso(self.principal_due_on),
            "acceleration": [a.date.isoformat(), a.kind, a.ref] if a else None,
            "items": [
                [i.key, i.account, i.due_date.isoformat(), i.billed_on.isoformat(), str(i.unpaid)] for i in self.items
            ],
            "payment_defaults": [[start.isoformat(), _iso(end)] for start, end in self.payment_defaults],
        }

    @classmethod
    def from_json(cls, data: dict) -> State | None:
        """The stored state, or None when it was written by another version of the engine."""
        if data.get("version") == 1:
            data = _from_version_1(data)
        elif data.get("version") != STATE_VERSION:
            return None
        day, a = date.fromisoformat, data["acceleration"]
        return cls(
            day=day(data["day"]),
            principal=Decimal(data["principal"]),
            period_start=day(data["period_start"]),
            interest_sum=Decimal(data["interest_sum"]),
            default_sum=Decimal(data["default_sum"]),
            unapplied=Decimal(data["unapplied"]),
            principal_due_on=_date(data["principal_due_on"]),
            acceleration=Acceleration(day(a[0]), a[1], a[2]) if a else None,
            items=[
                Item(key, account, day(due), day(billed), Decimal(unpaid))
                for key, account, due, billed, unpaid in data["items"]
            ],
            payment_defaults=[[day(start), _date(end)] for start, end in data["payment_defaults"]],
        )


def dumps(data: dict) -> str:
    """A state's JSON as text, without spaces."""
    return json.dumps(data, separators=(",", ":"))


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _from_version_1(data: dict) -> dict:
    """Version 1 wrapped each number and date ({"$d": "1.00"}, {"$t": "2026-01-01"}), and items as objects."""

    def plain(value):
        if isinstance(value, dict):
            if "$d" in value:
                return value["$d"]
            if "$t" in value:
                return value["$t"]
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    v = plain(data)
    a = v["acceleration"]
    v["acceleration"] = [a["date"], a["kind"], a["ref"]] if a else None
    v["items"] = [[i["key"], i["account"], i["due_date"], i["billed_on"], i["unpaid"]] for i in v["items"]]
    return v
