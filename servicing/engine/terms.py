"""A note's terms (the agreement's blanks and its defaults), and the bounds on any figure or date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from servicing.engine import defaults, prepayment
from servicing.engine.calendar import add_months, check_calendar
from servicing.engine.errors import RuleError
from servicing.engine.money import CENT

# The window of days a note's replay, its events and its what-ifs may name (a bound on the work one
# request can cause): from a year before the agreement date to 20 years after maturity.
YEARS_BEFORE = 1
YEARS_AFTER = 20
MAX_MONEY = Decimal("1000000000000")  # no amount of a note is a trillion or more
MIN_CONVERSION_PRICE = Decimal("0.000001")  # the conversion price is shown to six decimals
# Terms no note has: an agreement date outside these years, a term of more than 50 years.
EARLIEST_YEAR, LATEST_YEAR, LONGEST_TERM_YEARS = 1900, 2200, 50


@dataclass(frozen=True)
class Terms:
    agreement_date: date
    maturity_date: date
    principal: Decimal
    rate: Decimal
    conversion_price: Decimal
    default_rate_spread: Decimal = Decimal("0.03")
    max_lawful_rate: Decimal | None = None
    prepayment_lockout_months: int = 3
    calendar: str = "XFED"
    # A substitute note (8(j)) has the original's terms but accrues from the assignment date.
    accrues_from: date | None = None

    @property
    def first_day(self) -> date:
        return self.accrues_from or self.agreement_date

    @property
    def default_rate(self) -> Decimal:
        return defaults.default_rate(self.rate, self.default_rate_spread, self.max_lawful_rate)

    @property
    def prepayment_allowed_from(self) -> date:
        return prepayment.allowed_from(self.agreement_date, self.prepayment_lockout_months)

    @property
    def earliest_day(self) -> date:
        """The first day any date about the note may name."""
        return add_months(self.agreement_date, -12 * YEARS_BEFORE)

    @property
    def last_day(self) -> date:
        """The last day the note is ever replayed to: no event, what-if or close goes past it."""
        return add_months(self.maturity_date, 12 * YEARS_AFTER)

    def check_day(self, field: str, day: date) -> None:
        """Refuse a date outside the note's window (RuleError naming `field`)."""
        if not self.earliest_day <= day <= self.last_day:
            raise RuleError(
                field,
                f"{field} {day} is outside the dates this note can have: "
                f"{self.earliest_day} (a year before its agreement date) "
                f"to {self.last_day} (20 years after its maturity)",
            )

    def check(self) -> None:
        check_money("principal", self.principal)
        if not EARLIEST_YEAR <= self.agreement_date.year <= LATEST_YEAR:
            raise RuleError(
                "agreement_date",
                f"agreement date {self.agreement_date} must be in the years {EARLIEST_YEAR} to {LATEST_YEAR}",
            )
        if self.maturity_date > add_months(self.agreement_date, 12 * LONGEST_TERM_YEARS):
            raise RuleError(
                "maturity_date",
                f"maturity date {self.maturity_date} is more than {LONGEST_TERM_YEARS} years "
                f"after the agreement date {self.agreement_date}",
            )
        if self.maturity_date <= self.agreement_date:
            raise RuleError(
                "maturity_date",
                f"maturity date {self.maturity_date} must be after the agreement date {self.agreement_date}",
            )
        if self.accrues_from is not None and not self.agreement_date <= self.accrues_from < self.maturity_date:
            raise RuleError(
                "accrues_from",
                f"a note accrues from a day from its agreement date {self.agreement_date} "
                f"to before its maturity date {self.maturity_date}, not {self.accrues_from}",
            )
        if self.rate < 0:
            raise RuleError("rate", f"rate {self.rate} must not be negative")
        if self.default_rate_spread < 0:
            raise RuleError(
                "default_rate_spread", f"default rate spread {self.default_rate_spread} must not be negative"
            )
        if self.max_lawful_rate is not None and self.max_lawful_rate < self.rate:
            raise RuleError(
                "max_lawful_rate", f"maximum lawful rate {self.max_lawful_rate} must not be below the rate {self.rate}"
            )
        if self.prepayment_lockout_months < 0:
            raise RuleError("prepayment_lockout_months", "prepayment lockout months must not be negative")
        if self.conversion_price < MIN_CONVERSION_PRICE:
            raise RuleError(
                "conversion_price", f"conversion price {self.conversion_price} must be at least {MIN_CONVERSION_PRICE}"
            )
        if self.rate > 1 or self.default_rate_spread > 1:
            raise RuleError("rate", f"rate {self.rate} plus spread {self.default_rate_spread}: each at most 1 (100 %)")
        check_calendar(self.calendar)


def check_money(name: str, amount: Decimal) -> None:
    if amount <= 0:
        raise RuleError(name, f"{name} {amount} must be above zero")
    if amount > MAX_MONEY:
        raise RuleError(name, f"{name} {amount} is more than {MAX_MONEY:,}, the most a note can carry")
    if amount != amount.quantize(CENT):
        raise RuleError(name, f"{name} {amount} must be a whole number of cents")


def check_on_or_after(name: str, d: date, earliest: date, what: str = "the agreement date") -> None:
    if d < earliest:
        raise RuleError(name, f"{name} {d} is before {what} {earliest}")
