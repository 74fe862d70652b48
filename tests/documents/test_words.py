from decimal import Decimal as D

import pytest

from servicing.words import dollars_words, number_words, percent_words


@pytest.mark.parametrize(
    "n, words",
    [
        (0, "zero"),
        (15, "fifteen"),
        (40, "forty"),
        (99, "ninety-nine"),
        (110, "one hundred ten"),
        (1_250, "one thousand two hundred fifty"),
        (500_000, "five hundred thousand"),
        (2_000_013, "two million thirteen"),
    ],
)
def test_whole_numbers_are_written_out(n, words):
    assert number_words(n) == words


def test_dollars_are_written_as_a_cheque_writes_them():
    assert dollars_words(D("500000.00")) == "Five Hundred Thousand and 00/100 Dollars"
    assert dollars_words(D("1250000.5")) == "One Million Two Hundred Fifty Thousand and 50/100 Dollars"
    assert dollars_words(D("0.07")) == "Zero and 07/100 Dollars"


@pytest.mark.parametrize(
    "rate, words",
    [
        (D("0.075"), "seven and one half percent (7.5%)"),
        (D("0.03"), "three percent (3%)"),
        (D("1.10"), "one hundred ten percent (110%)"),
        (D("0.0825"), "eight and one quarter percent (8.25%)"),
        (D("0.0815"), "eight point one five percent (8.15%)"),
    ],
)
def test_rates_are_written_in_words_and_figures(rate, words):
    assert percent_words(rate) == words
