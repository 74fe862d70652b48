"""Money helpers: one rounding rule and one exact split."""

from decimal import ROUND_HALF_UP, Context, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Sums of daily accruals are kept exact; this precision leaves every digit of a century of
# daily amounts on a trillion-dollar note, so the one rounding per period is the only rounding.
EXACT = Context(prec=60)


def to_cents(amount: Decimal) -> Decimal:
    """Round half-up to the cent (servicing-rules.md, "Numbers")."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP, context=EXACT)


def written(amount: Decimal | int) -> str:
    """An amount as every page, message and refusal writes it: with thousands separators and two
    places, rounded as money is (half up): 50000 → 50,000.00, -0.00 → 0.00."""
    cents = to_cents(Decimal(amount))
    if not cents:
        cents = abs(cents)  # a sum of reversed entries can be -0.00
    return f"{cents:,.2f}"


def split_largest_remainder(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` (in cents) in proportion to `weights`, to the cent, adding up exactly.

    Each part gets its floor in cents; the cents left over go one by one to the largest
    remainders, ties to the party listed first (servicing-rules.md, "Numbers").
    """
    if total != to_cents(total):
        raise ValueError(f"total {total} is not a whole number of cents")
    if not weights or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("weights must be non-negative and not all zero")
    cents = int(total * 100)
    whole = sum(weights)
    exact = [EXACT.divide(EXACT.multiply(Decimal(cents), w), whole) for w in weights]
    parts = [int(e.to_integral_value(rounding="ROUND_FLOOR")) for e in exact]
    left = cents - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    result = [Decimal(p) / 100 for p in parts]
    assert sum(result) == total, (total, result)
    return [r.quantize(CENT) for r in result]
