"""Exact figures written for people, without rounding: what the register's own records say of
themselves (their `__str__`), and what servicing.words builds its page and document figures on."""

from decimal import Decimal


def percent(rate: Decimal) -> str:
    """A rate or a share as a percentage, exactly: 0.075 → 7.5%, 0.200000 → 20%."""
    return f"{(Decimal(rate) * 100).normalize():f}%"


def quantity(value: Decimal | int | str) -> str:
    """A count of shares, or an amount of a security per share, exactly as recorded, with thousands
    separators and without the column's trailing zeros: 0.5000000000 → 0.5, 1250 → 1,250."""
    exact = Decimal(value).normalize()
    places = max(0, -exact.as_tuple().exponent)
    return f"{exact:,.{places}f}"


def cents(value: Decimal) -> str:
    """An amount stored to the cent, with thousands separators: 62500.00 → 62,500.00. Nothing is
    rounded (the column holds two places); a computed amount is written by servicing.words.amount."""
    return f"{Decimal(value):,.2f}"
