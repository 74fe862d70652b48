"""The filters every document prints figures with: one way to write money, one way to write a price."""

from decimal import Decimal as D

import pytest

from servicing.templatetags.documents import money, price, quantity


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (D("1234.5"), "$1,234.50"),
        (D("1234567.891"), "$1,234,567.89"),
        (D("-12"), "-$12.00"),
        (D("-0.00"), "$0.00"),  # a sum of reversed entries
        (D("0.005"), "$0.01"),
        (0, "$0.00"),
        (None, ""),
    ],
)
def test_money_is_printed_with_its_dollar_sign_and_cents(value, printed):
    assert money(value) == printed


@pytest.mark.parametrize(
    ("value", "printed"),
    [(D("2.1"), "2.100000"), (D("2.3232"), "2.323200"), (D("0.0703125"), "0.0703125"), (D("3.25"), "3.250000")],
)
def test_a_price_has_the_conversion_prices_six_places_or_more_never_fewer(value, printed):
    assert price(value) == printed


@pytest.mark.parametrize(
    ("value", "printed"),
    [(D("0.5000000000"), "0.5"), (D("1250"), "1,250"), ("2.50", "2.5"), (D("1E+1"), "10"), (D("0.0001"), "0.0001")],
)
def test_an_amount_per_share_is_printed_exactly_without_trailing_zeros(value, printed):
    assert quantity(value) == printed
