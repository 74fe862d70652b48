"""Filters for documents: prices and rates written as a reader expects them."""

from decimal import Decimal

from django import template

from servicing import selectors

register = template.Library()


@register.filter
def price(value: Decimal) -> str:
    """A price with at least two decimals and no trailing zeros beyond them: 2.10, 2.3232, 2.323200 → 2.3232."""
    text = f"{value.normalize():f}"
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


@register.filter
def percent(rate: Decimal) -> str:
    """0.075 → 7.5%."""
    return f"{(rate * 100).normalize():f}%"


@register.filter
def conversion_price_display(note) -> Decimal:
    """The note's conversion price as pages and documents show it."""
    return selectors.conversion_price_display(note)
