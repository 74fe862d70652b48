"""Filters for pages and documents: money, prices, rates and shares written as a reader expects them,
each by the one function of servicing/words.py that also writes them in tables and messages."""

from decimal import Decimal

from django import template

from servicing import selectors, words

register = template.Library()


@register.filter
def money(value: Decimal | int | None) -> str:
    """Dollars as a document prints them: 1234.5 → $1,234.50, -12 → -$12.00, -0.00 → $0.00."""
    if value is None:
        return ""
    figure = words.amount(value)
    return f"-${figure[1:]}" if figure.startswith("-") else f"${figure}"


@register.filter
def amount(value: Decimal | int | None) -> str:
    """Money as every staff page writes it, without the dollar sign of a document: 50000 → 50,000.00."""
    if value is None or value == "":
        return ""
    return words.amount(value)


@register.filter
def price(value: Decimal) -> str:
    """A price per share, never fewer than six places: 2.1 → 2.100000 (words.price)."""
    return words.price(value)


@register.filter
def percent(rate: Decimal) -> str:
    """0.075 → 7.5%."""
    return words.percent(rate)


@register.filter
def conversion_price_display(note) -> Decimal:
    """The note's conversion price as pages and documents show it."""
    return selectors.conversion_price_display(note)


@register.filter
def quantity(value: Decimal | str) -> str:
    """An amount of a security per share, or a count of shares, exactly as recorded, without the
    column's trailing zeros: 0.5000000000 → 0.5, 1250 → 1,250."""
    if value is None or value == "":
        return ""
    return words.quantity(value)
