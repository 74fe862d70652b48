from datetime import date

import pytest

from servicing.engine import keys


def test_a_key_is_built_and_read_back_in_one_place():
    assert keys.parse(keys.payment(12)) == ("payment", "12")
    assert keys.period_start(keys.period(date(2026, 10, 1))) == date(2026, 10, 1)
    with pytest.raises(ValueError):
        keys.period_start(keys.payment(12))


@pytest.mark.parametrize(
    "key, on, words",
    [
        (keys.period(date(2026, 10, 1)), None, "Interest for October 2026"),
        (keys.period(date(2026, 7, 15)), None, "Interest from 2026-07-15"),
        (keys.payment(12), date(2026, 11, 2), "Payment received 2026-11-02"),
        (keys.cost(3), date(2026, 11, 2), "Costs of collection billed 2026-11-02"),
        (keys.FUNDING, date(2026, 7, 15), "Funding"),
        (keys.unapplied(date(2026, 11, 2)), None, "Unapplied funds applied 2026-11-02"),
    ],
)
def test_a_key_reads_as_words(key, on, words):
    assert keys.describe(key, on) == words
