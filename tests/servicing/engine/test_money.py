from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from servicing.engine.conversion import conversion_price, price_display, reference_closes, shares_for
from servicing.engine.money import split_largest_remainder, to_cents
from tests.helpers import refused


def test_it_rounds_half_up_to_the_cent():
    assert to_cents(D("1.005")) == D("1.01")
    assert to_cents(D("1.00499999")) == D("1.00")
    assert to_cents(D("-1.005")) == D("-1.01")


def test_it_splits_with_the_largest_remainder_and_ties_to_the_first():
    assert split_largest_remainder(D("100.00"), [D(1), D(1), D(1)]) == [D("33.34"), D("33.33"), D("33.33")]
    assert split_largest_remainder(D("0.05"), [D(1), D(1)]) == [D("0.03"), D("0.02")]
    assert split_largest_remainder(D("10.00"), [D("0.7"), D("0.3")]) == [D("7.00"), D("3.00")]


@given(
    total=st.decimals(min_value=0, max_value=10**9, places=2),
    weights=st.lists(st.decimals(min_value=0, max_value=10**6, places=4), min_size=1, max_size=8),
)
def test_a_split_always_adds_up_to_the_cent(total, weights):
    if sum(weights) <= 0:
        return
    parts = split_largest_remainder(total, weights)
    assert sum(parts) == total
    assert all(p >= 0 for p in parts)


def test_the_conversion_price_is_110_percent_of_the_five_closes_before_the_agreement():
    closes = [
        (d, D(c))
        for d, c in [
            ("2004-06-04", "2.05"),
            ("2004-06-07", "2.10"),
            ("2004-06-08", "2.08"),
            ("2004-06-09", "2.12"),
            ("2004-06-10", "2.15"),
            ("2004-06-14", "2.11"),
            ("2004-06-15", "9.99"),
        ]
    ]
    from datetime import date

    closes = [(date.fromisoformat(d), c) for d, c in closes]
    picked = reference_closes(closes, date(2004, 6, 15))
    assert [c for _, c in picked] == [D("2.10"), D("2.08"), D("2.12"), D("2.15"), D("2.11")]
    price = conversion_price([c for _, c in picked], D("1.10"))
    assert price == D("2.3232")
    assert str(price_display(D("1.10") * D("2.1111111"))) == "2.322222"


def test_it_refuses_too_few_closes():
    from datetime import date

    with refused("reference_closes", "1 given"):
        reference_closes([(date(2004, 6, 14), D("2"))], date(2004, 6, 15))


def test_fractional_shares_round_up():
    assert shares_for(D("204519.02"), D("2.3232")) == 88034
    assert shares_for(D("232.32"), D("2.3232")) == 100


@given(
    amount=st.decimals(min_value=D("0.01"), max_value=10**9, places=2),
    price=st.decimals(min_value=D("0.0001"), max_value=1000, places=6),
)
def test_shares_times_price_covers_the_amount_converted(amount, price):
    shares = shares_for(amount, price)
    assert shares * price >= amount
    assert (shares - 1) * price < amount
