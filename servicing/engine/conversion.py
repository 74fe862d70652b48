"""Conversion (sections 4 and 5): the conversion price, the amount converted, and the shares."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from servicing.engine import keys
from servicing.engine.errors import RuleError
from servicing.engine.money import EXACT, ZERO, written
from servicing.engine.results import Balances, ConversionDone, Journal
from servicing.engine.state import State

PRICE_PLACES = Decimal("0.000001")
REFERENCE_CLOSES = 5
MAX_SHARES = 10**18  # what a share count column (a 64-bit integer) holds, with room to spare


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


def reference_average(closes: list[Decimal]) -> Decimal:
    """The average of the reference closes, unrounded."""
    if not closes or any(c <= 0 for c in closes):
        raise RuleError("reference_closes", "every closing price must be above zero")
    return EXACT.divide(sum(closes), Decimal(len(closes)))


def conversion_price(closes: list[Decimal], premium: Decimal) -> Decimal:
    """premium × the average close, unrounded; shown with `price_display`."""
    return EXACT.multiply(premium, reference_average(closes))


def price_display(price: Decimal) -> Decimal:
    return price.quantize(PRICE_PLACES, rounding=ROUND_HALF_UP, context=EXACT)


def shares_for(amount: Decimal, price: Decimal) -> int:
    """Fractional shares round up (4(b))."""
    return int(EXACT.divide(amount, price).to_integral_value(rounding=ROUND_CEILING))


def successor_units(shares: int, per_share: Decimal) -> int:
    """What a supplemental agreement (section 5) delivers for `shares` common shares: the kind and
    amount a holder of those shares received, each rounded up to a whole unit as 4(b) rounds shares."""
    return int(EXACT.multiply(Decimal(shares), per_share).to_integral_value(rounding=ROUND_CEILING))


def conversion_amount(b: Balances) -> Decimal:
    """What converting all principal on the day after `b.as_of` converts (4(a)): the principal and
    all unpaid and accrued interest, the open period's billed on the Conversion Date itself; unapplied
    funds pay interest first that day (step 3), and are never converted."""
    billed = b.interest_due + b.default_interest_due
    accrued = b.accrued_interest + b.accrued_default_interest
    # Unapplied funds are left only when no billed interest is unpaid (they pay any of it at once).
    return b.principal + billed + max(ZERO, accrued - b.unapplied) if b.principal else ZERO


def take_interest(s: State) -> tuple[Decimal, Decimal]:
    """All billed and unpaid regular and default interest, as a conversion or prepayment takes it."""
    regular, default = s.unpaid("interest"), s.unpaid("default_interest")
    s.items = [i for i in s.items if i.account == "costs"]
    return regular, default


def post_reduction(j: Journal, d: date, kind: str, key: str, principal, interest, default_interest) -> None:
    """What a conversion or prepayment takes off principal and billed interest."""
    for account, value in (("principal", principal), ("interest", interest), ("default_interest", default_interest)):
        if value:
            j.post(d, kind, account, key, -value)


def convert(s: State, price: Decimal, j: Journal, d: date, e) -> None:
    """The principal named (or all) converts on its Conversion Date with all billed and unpaid
    interest (4(a)); fractional shares round up (4(b))."""
    principal = s.principal if e.principal is None else e.principal
    if s.principal <= 0 or principal > s.principal:
        j.refuse(
            "conversion",
            e.ref,
            "principal",
            f"conversion on {d} of {written(principal)} refused: principal outstanding is {written(s.principal)} "
            "(section 4(a))",
        )
        return
    owed = s.unpaid("interest") + s.unpaid("default_interest")
    if shares_for(principal + owed, price) > MAX_SHARES:
        j.refuse(
            "conversion",
            e.ref,
            "principal",
            f"conversion on {d} of {written(principal)} refused: it would issue more than {MAX_SHARES:,} shares",
        )
        return
    interest, default_interest = take_interest(s)
    s.principal -= principal
    amount = principal + interest + default_interest
    post_reduction(j, d, "conversion", keys.conversion(e.ref), principal, interest, default_interest)
    j.result.conversions.append(
        ConversionDone(
            e.ref,
            e.notice_sent,
            d,
            principal,
            interest,
            default_interest,
            amount,
            price,
            shares_for(amount, price),
        )
    )
