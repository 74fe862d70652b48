"""Ledger keys: what a posting is for ("period:2026-10-01", "payment:12"), built and read here only.

A key names the bill, payment, conversion… a ledger entry belongs to, so that a replay posts only
what changed. People never read keys: `describe` says the same in words.
"""

from datetime import date

FUNDING = "funding"


def period(start: date) -> str:
    """The interest (and default interest) billed for the period starting on `start`."""
    return f"period:{start.isoformat()}"


def unapplied(day: date) -> str:
    """Unapplied funds applied on `day` to what fell due."""
    return f"unapplied:{day.isoformat()}"


def payment(ref) -> str:
    return f"payment:{ref}"


def conversion(ref) -> str:
    return f"conversion:{ref}"


def prepayment(ref) -> str:
    return f"prepayment:{ref}"


def cost(ref) -> str:
    return f"cost:{ref}"


def assignment(ref) -> str:
    return f"assignment:{ref}"


def parse(key: str) -> tuple[str, str]:
    """("period", "2026-10-01"), ("payment", "12"), ("funding", "")…"""
    kind, _, value = key.partition(":")
    return kind, value


def period_start(key: str) -> date:
    kind, value = parse(key)
    if kind != "period":
        raise ValueError(f"{key!r} is not a period's key")
    return date.fromisoformat(value)


WORDS = {
    "payment": "Payment received",
    "conversion": "Conversion on",
    "prepayment": "Prepayment on",
    "cost": "Costs of collection billed",
    "assignment": "Assignment effective",
}


def describe(key: str, on: date | None = None) -> str:
    """The key in words: "Interest for October 2026", "Payment received 2026-11-02" (its day `on`)."""
    kind, value = parse(key)
    if kind == FUNDING:
        return "Funding"
    if kind == "period":
        start = date.fromisoformat(value)
        return f"Interest for {start:%B %Y}" if start.day == 1 else f"Interest from {start.isoformat()}"
    if kind == "unapplied":
        return f"Unapplied funds applied {value}"
    words = WORDS.get(kind, kind.capitalize())
    return f"{words} {on.isoformat()}" if on else words
