from datetime import date

import pytest

from servicing.engine.calendar import (
    add_business_days,
    add_months,
    business_day_on_or_after,
    holiday_name,
    is_business_day,
)
from servicing.engine.notices import deemed_received
from tests.helpers import refused


def test_it_counts_fed_holidays_as_non_business_days():
    assert is_business_day(date(2004, 12, 31), "XFED")  # New Year's Day 2005 fell on a Saturday: not observed
    assert not is_business_day(date(2023, 1, 2), "XFED")  # New Year's Day observed on Monday
    assert not is_business_day(date(2004, 11, 25), "XFED")  # Thanksgiving
    assert not is_business_day(date(2004, 6, 19), "XFED")  # a Saturday


def test_it_names_the_holidays_it_skips_and_only_those():
    assert holiday_name(date(2026, 11, 26), "XFED") == "Thanksgiving Day"
    assert holiday_name(date(2023, 1, 2), "XFED") == "New Year's Day (observed)"
    assert holiday_name(date(2026, 11, 29), "XFED") is None  # a Sunday, no holiday
    assert holiday_name(date(2026, 11, 27), "XFED") is None  # the day after Thanksgiving is a business day


def test_it_moves_a_due_date_off_a_holiday_on_the_first_of_the_month():
    assert business_day_on_or_after(date(2024, 1, 1), "XFED") == date(2024, 1, 2)
    assert business_day_on_or_after(date(2005, 1, 1), "XFED") == date(2005, 1, 3)
    assert business_day_on_or_after(date(2004, 7, 1), "XFED") == date(2004, 7, 1)


def test_it_never_counts_the_start_day_as_a_business_day():
    assert add_business_days(date(2004, 12, 2), 3, "XFED") == date(2004, 12, 7)
    assert add_business_days(date(2004, 11, 24), 1, "XFED") == date(2004, 11, 26)  # skips Thanksgiving


def test_it_clamps_months_to_the_last_day():
    assert add_months(date(2004, 11, 30), 3) == date(2005, 2, 28)
    assert add_months(date(2023, 11, 30), 3) == date(2024, 2, 29)
    assert add_months(date(2004, 6, 15), 3) == date(2004, 9, 15)
    assert add_months(date(2004, 12, 31), -1) == date(2004, 11, 30)


@pytest.mark.parametrize(
    "method, sent, received",
    [
        ("certified_mail", date(2004, 10, 4), date(2004, 10, 9)),
        ("registered_mail", date(2004, 12, 30), date(2005, 1, 4)),
        ("overnight_courier", date(2004, 12, 1), date(2004, 12, 2)),
        ("overnight_courier", date(2004, 11, 24), date(2004, 11, 26)),  # a holiday inside the window
        ("overnight_courier", date(2004, 12, 3), date(2004, 12, 6)),  # handed over on a Friday
        ("telecopy", date(2004, 9, 7), date(2004, 9, 7)),
        ("personal_delivery", date(2004, 9, 7), date(2004, 9, 7)),
    ],
)
def test_it_computes_when_a_notice_is_deemed_received(method, sent, received):
    assert deemed_received(sent, method, "XFED") == received


def test_it_refuses_an_unknown_notice_method():
    with refused("method", "carrier_pigeon"):
        deemed_received(date(2004, 9, 7), "carrier_pigeon", "XFED")


def test_it_refuses_an_unknown_calendar():
    with refused("calendar", "NOPE"):
        is_business_day(date(2004, 9, 7), "NOPE")
