"""The engine's public rule functions, the ones pages, documents and jobs ask for a figure."""

from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from servicing.engine import (
    Conversion,
    CovenantBreach,
    Insolvency,
    Payment,
    Terms,
    accrual,
    conversion,
    defaults,
    prepayment,
    run,
)

START = date(2023, 12, 15)


def terms(**kw):
    return Terms(
        **{
            "agreement_date": START,
            "maturity_date": date(2024, 12, 16),
            "principal": D("365000.00"),
            "rate": D("0.10"),
            "conversion_price": D("3.00"),
        }
        | kw
    )


def test_it_sets_the_cure_deadline_five_business_days_after_the_breach():
    # Thursday 2024-11-21; Thanksgiving (28th) is not a business day: 22, 25, 26, 27, 29.
    assert defaults.cure_deadline(date(2024, 11, 21), "XFED") == date(2024, 11, 29)


def test_a_breach_not_cured_by_its_deadline_is_an_event_of_default_from_the_next_day():
    breach = CovenantBreach("b", date(2024, 11, 21), None)
    (span,) = defaults.event_of_default_spans(terms(), [breach])
    assert span == ("covenant", date(2024, 11, 30), None)


def test_the_holders_conversion_window_runs_three_business_days_after_receipt():
    # Received Friday 2024-12-20: 23, 24, 26 (Christmas is a holiday).
    assert prepayment.conversion_window(date(2024, 12, 20), "XFED") == (date(2024, 12, 20), date(2024, 12, 26))


def test_the_next_due_date_is_the_first_business_day_of_the_next_month():
    assert accrual.next_due_date(date(2022, 12, 15), "XFED") == date(2023, 1, 3)  # 1 Jan Sunday, 2 Jan observed
    assert accrual.next_due_date(date(2024, 1, 31), "XFED") == date(2024, 2, 1)


def test_the_reference_average_is_the_plain_average_unrounded():
    assert conversion.reference_average([D("2.11"), D("2.10"), D("2.12"), D("2.00"), D("2.23")]) == D("2.112")
    assert conversion.reference_average([D("1"), D("1"), D("2")]) * 3 == D("4.000000000000000000000000000000")


def test_past_due_is_principal_and_interest_unpaid_after_their_due_date_not_costs():
    # January's 2,200.00 (22 days × 100.00) is due 1 February; at the end of 1 February it is unpaid.
    t = terms(agreement_date=date(2024, 1, 10), maturity_date=date(2025, 1, 10))
    r = run(t, [], date(2024, 2, 1))
    assert defaults.past_due(r.state, date(2024, 2, 1)) == (D("0.00"), None)
    assert defaults.past_due(r.state, date(2024, 2, 2)) == (D("2200.00"), date(2024, 2, 2))
    assert (r.balances.past_due, r.balances.past_due_since) == (D("2200.00"), date(2024, 2, 2))
    paid = run(t, [Payment("p", date(2024, 2, 1), D("2200.00"))], date(2024, 2, 1))
    assert paid.balances.past_due == D("0.00") and paid.balances.past_due_since is None


def test_after_acceleration_all_principal_and_billed_interest_are_past_due_the_next_day():
    t = terms(agreement_date=date(2024, 1, 10), maturity_date=date(2025, 1, 10))
    r = run(t, [Insolvency("i", date(2024, 1, 20))], date(2024, 1, 20))
    # 10 days at 100.00 billed on the 20th and due that day; principal due that day.
    assert (r.balances.past_due, r.balances.past_due_since) == (D("366000.00"), date(2024, 1, 21))


@settings(max_examples=60, deadline=None)
@given(
    paid=st.lists(
        st.tuples(st.integers(0, 300), st.decimals(min_value=D("0.01"), max_value=D("9000.00"), places=2)), max_size=6
    ),
    breach=st.none() | st.integers(0, 300),
    day=st.integers(0, 330),
)
def test_the_conversion_amount_is_what_a_full_conversion_the_next_day_converts(paid, breach, day):
    """conversion_amount (read by the dashboard and the statement) against the replay of a conversion."""
    t = terms()
    # Money received on the Conversion Date itself is applied before the conversion (steps 4, 5):
    # the figure is of what the note owes when that day begins.
    events = [Payment(str(i), START + timedelta(days=o), amount) for i, (o, amount) in enumerate(paid) if o <= day]
    if breach is not None:
        events.append(CovenantBreach("b", START + timedelta(days=breach), None))
    on = START + timedelta(days=day)
    before = run(t, events, on).balances
    next_day = on + timedelta(days=1)
    converted = run(t, [*events, Conversion("all", next_day, next_day, None)], next_day, strict=False)
    done = converted.conversions[0].amount if converted.conversions else D("0.00")
    assert conversion.conversion_amount(before) == done
