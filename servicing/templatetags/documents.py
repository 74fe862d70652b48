"""Filters for documents: money, prices and rates written as a reader expects them."""

from decimal import Decimal

from django import template

from servicing import selectors
from servicing.engine.conversion import PRICE_PLACES
from servicing.engine.money import to_cents

register = template.Library()


@register.filter
def money(value: Decimal | int | None) -> str:
    """Dollars as a document prints them: 1234.5 → $1,234.50, -12 → -$12.00, -0.00 → $0.00."""
    if value is None:
        return ""
    cents = to_cents(Decimal(value))  # the one rounding of money: half up
    if not cents:
        cents = abs(cents)  # a sum of reversed entries can be -0.00
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents):,.2f}"


@register.filter
def price(value: Decimal) -> str:
    """A price per share as every page and document shows it: never fewer places than the conversion
    price's six (servicing-rules.md, "Conversion"), more only where a closing price was given with
    more, so that nothing is rounded: 2.1 → 2.100000, 2.3232 → 2.323200, 0.0703125 → 0.0703125."""
    places = max(-PRICE_PLACES.as_tuple().exponent, -value.normalize().as_tuple().exponent)
    return f"{value:.{places}f}"


@register.filter
def percent(rate: Decimal) -> str:
    """0.075 → 7.5%."""
    return f"{(rate * 100).normalize():f}%"


@register.filter
def conversion_price_display(note) -> Decimal:
    """The note's conversion price as pages and documents show it."""
    return selectors.conversion_price_display(note)


@register.filter
def quantity(value: Decimal | str) -> str:
    """An amount of a security per share, exactly as recorded, without the column's trailing
    zeros: 0.5000000000 → 0.5, 1250 → 1,250."""
    exact = Decimal(value).normalize()
    places = max(0, -exact.as_tuple().exponent)
    return f"{exact:,.{places}f}"
