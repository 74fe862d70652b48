"""Numbers and dates written out as a legal document writes them: "Five Hundred Thousand and 00/100
Dollars", "seven and one half percent (7.5%)", "November 27, 2026"; and the figures every page, table,
message and document writes the same way: amounts 50,000.00, rates 20%, prices 2.500000, shares 1,250."""

from datetime import date
from decimal import Decimal

from notes.figures import percent, quantity  # noqa: F401 (written here too, one definition)
from servicing.engine.conversion import PRICE_PLACES
from servicing.engine.money import written


def amount(value: Decimal | int) -> str:
    """An amount of money as every staff page and message writes it, with thousands separators and
    two places, rounded half up (the one rounding of money): 50000 → 50,000.00, -12 → -12.00,
    -0.00 → 0.00."""
    return written(value)


def price(value: Decimal) -> str:
    """A price per share as every page and document shows it: never fewer places than the conversion
    price's six (servicing-rules.md, "Conversion"), more only where a closing price was given with
    more, so that nothing is rounded: 2.1 → 2.100000, 2.3232 → 2.323200, 0.0703125 → 0.0703125."""
    value = Decimal(value)
    places = max(-PRICE_PLACES.as_tuple().exponent, -value.normalize().as_tuple().exponent)
    return f"{value:.{places}f}"


ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
FRACTIONS = {Decimal("0.25"): "one quarter", Decimal("0.5"): "one half", Decimal("0.75"): "three quarters"}


def number_words(n: int) -> str:
    """A whole number in words: 1_250 → "one thousand two hundred fifty"."""
    if n < 0:
        raise ValueError(f"{n} is negative")
    if n < 20:
        return ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return TENS[tens] + (f"-{ONES[ones]}" if ones else "")
    for scale, name in SCALES:
        if n >= scale:
            count, rest = divmod(n, scale)
            return f"{number_words(count)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError(n)


def dollars_words(amount: Decimal) -> str:
    """500000.00 → "Five Hundred Thousand and 00/100 Dollars", as cheques and notes write it."""
    dollars, cents = divmod(amount.quantize(Decimal("0.01")) * 100, 100)
    return f"{number_words(int(dollars)).title()} and {int(cents):02d}/100 Dollars"


def percent_words(rate: Decimal) -> str:
    """0.075 → "seven and one half percent (7.5%)"; 1.10 → "one hundred ten percent (110%)"."""
    hundredths = (rate * 100).normalize()
    whole = int(hundredths)
    fraction = hundredths - whole
    if not fraction:
        words = number_words(whole)
    elif fraction in FRACTIONS:
        words = f"{number_words(whole)} and {FRACTIONS[fraction]}"
    else:
        digits = " ".join(ONES[int(d)] for d in str(fraction).split(".")[1])
        words = f"{number_words(whole)} point {digits}"
    return f"{words} percent ({hundredths:f}%)"


def long_date(d: date) -> str:
    """2026-11-27 → November 27, 2026."""
    return f"{d:%B} {d.day}, {d.year}"
