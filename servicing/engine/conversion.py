"""Conversion price and shares (section 4)."""

from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from servicing.engine.errors import RuleError
from servicing.engine.money import EXACT

PRICE_PLACES = Decimal("0.000001")
REFERENCE_CLOSES = 5


def reference_closes(closes: list[tuple[date, Decimal]], agreement_date: date) -> list[tuple[date, Decimal]]:
    """The five latest closes dated before the agreement date, oldest first (4(a))."""
    before = sorted((c for c in closes if c[0] < agreement_date), key=lambda c: c[0])
    if len(before) < REFERENCE_CLOSES:
        raise RuleError(
            "reference_closes",
            f"{REFERENCE_CLOSES} closing prices before {agreement_date} are needed for the conversion price, "
            f"{len(before)} given",
        )
    return before[-REFERENCE_CLOSES:]


def conversion_price(closes: list[Decimal], premium: Decimal) -> Decimal:
    """premium × the average close, unrounded; shown with `price_display`."""
    if any(c <= 0 for c in closes):
        raise RuleError("reference_closes", "every closing price must be above zero")
    return EXACT.divide(EXACT.multiply(premium, sum(closes)), Decimal(len(closes)))


def price_display(price: Decimal) -> Decimal:
    return price.quantize(PRICE_PLACES, rounding=ROUND_HALF_UP, context=EXACT)


def shares_for(amount: Decimal, price: Decimal) -> int:
    """Fractional shares round up (4(b))."""
    return int(EXACT.divide(amount, price).to_integral_value(rounding=ROUND_CEILING))


def successor_units(shares: int, per_share: Decimal) -> int:
    """What a supplemental agreement (section 5) delivers for `shares` common shares: the kind and
    amount a holder of those shares received, each rounded up to a whole unit as 4(b) rounds shares."""
    return int(EXACT.multiply(Decimal(shares), per_share).to_integral_value(rounding=ROUND_CEILING))
