"""The rules of servicing-rules.md, one by one, on a note whose daily interest is a round 100.00.

365,000.00 at 10 % accrues exactly 100.00 a day (Actual/365) and, in default at 13 %, 30.00 a
day more on principal, so every expected figure below is worked by hand.
"""

from datetime import date
from decimal import Decimal as D

import pytest

from servicing import engine
from servicing.engine import (
    AccelerationNotice,
    Assignment,
    Conversion,
    Cost,
    CovenantBreach,
    Insolvency,
    Misrepresentation,
    Payment,
    Prepayment,
    State,
    Terms,
    check_events,
    run,
)
from tests.helpers import refused


def terms(**kw):
    base = dict(
        agreement_date=date(2024, 1, 10),
        maturity_date=date(2025, 1, 10),
        principal=D("365000.00"),
        rate=D("0.10"),
        conversion_price=D("2.00"),
    )
    return Terms(**base | kw)


def periods(result):
    return [(p.start, p.end, p.due_date, p.reason, p.interest, p.default_interest) for p in result.periods]


def test_it_bills_the_stub_period_on_the_first_business_day_of_the_next_month():
    r = run(terms(), [], date(2024, 2, 1))
    assert periods(r) == [(date(2024, 1, 10), date(2024, 1, 31), date(2024, 2, 1), "month_end", D("2200.00"), D("0"))]
    assert r.balances.interest_due == D("2200.00")
    assert r.balances.accrued_interest == D("100.00")  # 1 February has accrued


def test_a_leap_february_accrues_29_days_on_a_365_day_year():
    r = run(terms(), [Payment("p", date(2024, 2, 1), D("2200.00"))], date(2024, 3, 1))
    assert periods(r)[-1] == (date(2024, 2, 1), date(2024, 2, 29), date(2024, 3, 1), "month_end", D("2900.00"), D("0"))


def test_a_holiday_on_the_first_moves_the_due_date():
    t = terms(agreement_date=date(2024, 12, 10), maturity_date=date(2025, 12, 10))
    r = run(t, [], date(2025, 1, 1))
    assert periods(r)[0][2] == date(2025, 1, 2)


def test_a_payment_before_anything_is_billed_waits_as_unapplied_funds():
    r = run(terms(), [Payment("p", date(2024, 1, 20), D("5000.00"))], date(2024, 3, 1))
    assert r.payments[0].to_unapplied == D("5000.00")
    # Applied at the February billing (2,200.00) and the March one (2,800.00 of 2,900.00).
    assert r.balances.unapplied == D("0.00")
    assert r.balances.interest_due == D("100.00")
    assert r.balances.principal == D("365000.00")  # never silently turned into principal reduction


def test_a_late_bill_puts_the_note_in_payment_default_and_accrues_default_interest():
    r = run(terms(), [], date(2024, 3, 1))
    # 2 to 29 February: 28 days × (30.00 + 2,200.00 × 13 % / 365) = 840.00 + 21.94
    assert periods(r)[-1][4:] == (D("2900.00"), D("861.94"))
    assert [(d.kind, d.start, d.end) for d in r.defaults] == [("payment", date(2024, 2, 2), None)]


def test_the_default_rate_is_capped_at_the_lawful_rate():
    r = run(terms(max_lawful_rate=D("0.11")), [], date(2024, 3, 1))
    # 28 days × (10.00 + 2,200.00 × 11 % / 365) = 280.00 + 18.56
    assert periods(r)[-1][5] == D("298.56")


def test_payments_go_to_default_interest_then_interest_oldest_due_date_first():
    events = [Payment("late", date(2024, 3, 5), D("6000.00"))]
    r = run(terms(), events, date(2024, 3, 5))
    p = r.payments[0]
    # Due 1 Feb: 2,200.00; due 1 Mar: default 861.94 first, then 2,900.00 — 5,961.94 in all.
    assert (p.to_default_interest, p.to_interest, p.to_principal, p.to_unapplied) == (
        D("861.94"),
        D("5100.00"),
        D("0.00"),
        D("38.06"),
    )
    assert r.defaults[0].end == date(2024, 3, 5)


def test_a_covenant_breach_becomes_an_event_of_default_after_five_business_days():
    paid = [Payment("feb", date(2024, 2, 1), D("2200.00")), Payment("mar", date(2024, 3, 1), D("2900.00"))]
    # Breach Wednesday 6 March; five business days end Wednesday 13 March; default 14–19 March.
    events = paid + [CovenantBreach("c", date(2024, 3, 6), date(2024, 3, 20))]
    r = run(terms(), events, date(2024, 4, 1))
    assert periods(r)[-1][5] == D("180.00")
    assert [(d.kind, d.start, d.end) for d in r.defaults] == [("covenant", date(2024, 3, 14), date(2024, 3, 20))]


def test_a_covenant_breach_cured_within_its_cure_period_is_no_default():
    events = [Payment("feb", date(2024, 2, 1), D("2200.00")), CovenantBreach("c", date(2024, 2, 6), date(2024, 2, 13))]
    r = run(terms(), events, date(2024, 3, 1))
    assert r.defaults == []
    assert periods(r)[-1][5] == D("0")


def test_a_holiday_inside_the_cure_period_extends_it():
    t = terms(agreement_date=date(2024, 11, 1), maturity_date=date(2025, 11, 1))
    # Friday 22 November 2024: 25, 26, 27, (28 Thanksgiving), 29 November, 2 December.
    r = run(t, [CovenantBreach("c", date(2024, 11, 22), None)], date(2024, 12, 5))
    covenant = [(d.start, d.end) for d in r.defaults if d.kind == "covenant"]
    assert covenant == [(date(2024, 12, 3), None)]


def test_a_misrepresentation_runs_until_the_holders_written_waiver():
    events = [
        Payment("feb", date(2024, 2, 1), D("2200.00")),
        Misrepresentation("m", date(2024, 2, 10), date(2024, 2, 15)),
    ]
    r = run(terms(), events, date(2024, 3, 1))
    assert periods(r)[-1][5] == D("150.00")  # 10–14 February
    waived_at_once = run(terms(), [Misrepresentation("m", date(2024, 2, 10), date(2024, 2, 10))], date(2024, 3, 1))
    assert [d.kind for d in waived_at_once.defaults] == ["payment"]


def test_insolvency_accelerates_automatically_and_brings_due_dates_forward():
    events = [Payment("feb", date(2024, 2, 1), D("2200.00")), Insolvency("i", date(2024, 2, 20))]
    r = run(terms(), events, date(2024, 2, 21))
    assert periods(r)[-1] == (
        date(2024, 2, 1),
        date(2024, 2, 19),
        date(2024, 2, 20),
        "acceleration",
        D("1900.00"),
        D("0"),
    )
    assert [(a.date, a.kind) for a in r.accelerations] == [(date(2024, 2, 20), "automatic")]
    # 20 Feb: default on principal (30.00); 21 Feb: also principal and 1,900.00 past due.
    assert r.balances.accrued_default_interest == D("60.00") + D("0.68")
    kinds = [(d.kind, d.start) for d in r.defaults]
    assert kinds == [("insolvency", date(2024, 2, 20)), ("payment", date(2024, 2, 21))]


def test_acceleration_makes_later_billed_interest_due_at_once():
    t = terms(agreement_date=date(2024, 6, 1), maturity_date=date(2025, 6, 1))
    # June's 3,000.00 is billed and due Monday 1 July, unpaid; the holder's notice takes effect 2 July.
    events = [AccelerationNotice("a", date(2024, 7, 2), date(2024, 7, 2))]
    r = run(t, events, date(2024, 7, 2))
    assert [(a.date, a.kind) for a in r.accelerations] == [(date(2024, 7, 2), "holder_notice")]
    assert r.balances.principal == D("365000.00")
    assert r.balances.interest_due == D("3000.00") + D("100.00")  # June, and 1 July's accel. period


def test_acceleration_without_an_event_of_default_is_refused():
    events = [AccelerationNotice("a", date(2024, 1, 20), date(2024, 1, 20))]
    with refused("notice.sent", "no Event of Default"):
        run(terms(), events, date(2024, 1, 31))
    lenient = run(terms(), events, date(2024, 1, 31), strict=False)
    assert lenient.accelerations == []
    assert lenient.refused[0][:2] == ("acceleration", "a")


def test_only_the_first_acceleration_counts():
    events = [Insolvency("i", date(2024, 2, 20)), AccelerationNotice("a", date(2024, 3, 1), date(2024, 3, 5))]
    r = run(terms(), events, date(2024, 3, 10))
    assert [(a.date, a.kind) for a in r.accelerations] == [(date(2024, 2, 20), "automatic")]
    assert [p.reason for p in r.periods].count("acceleration") == 1


def test_at_maturity_principal_falls_due_and_interest_goes_on_until_it_is_paid():
    t = terms(agreement_date=date(2024, 1, 10), maturity_date=date(2024, 3, 15))
    events = [Payment("feb", date(2024, 2, 1), D("2200.00")), Payment("mar", date(2024, 3, 1), D("2900.00"))]
    r = run(t, events, date(2024, 4, 1))
    assert periods(r)[2] == (date(2024, 3, 1), date(2024, 3, 14), date(2024, 3, 15), "maturity", D("1400.00"), D("0"))
    # 15 March accrues (principal unpaid); from 16 March the note is in payment default.
    assert periods(r)[3][:4] == (date(2024, 3, 15), date(2024, 3, 31), date(2024, 4, 1), "month_end")
    assert periods(r)[3][4] == D("1700.00")
    assert r.defaults[0].start == date(2024, 3, 16)


def test_a_conversion_takes_principal_and_all_billed_interest_at_the_price_rounding_shares_up():
    events = [Conversion("c", date(2024, 2, 10), date(2024, 2, 15), D("100000.00"))]
    r = run(terms(), events, date(2024, 2, 29))
    c = r.conversions[0]
    # Billed: January 2,200.00 (+ default 2–14 Feb: 13 × (30 + 2,200 × 13 %/365) = 390.00 + 10.19)
    # and 1–14 February 1,400.00 on the Conversion Date itself.
    assert (c.principal, c.interest, c.default_interest) == (D("100000.00"), D("3600.00"), D("400.19"))
    assert c.amount == D("104000.19")
    assert c.shares == 52001  # 104,000.19 / 2.00 = 52,000.095, rounded up
    # The Conversion Date accrues on the reduced principal only: 15–29 Feb on 265,000.00.
    assert r.balances.accrued_interest == D("1089.04")
    assert r.balances.principal == D("265000.00")


def test_converting_more_than_is_outstanding_is_refused():
    events = [Conversion("c", date(2024, 2, 10), date(2024, 2, 15), D("365000.01"))]
    with refused("principal", "principal outstanding is 365,000.00"):
        run(terms(), events, date(2024, 2, 29))


def test_the_lockout_ends_on_a_short_month_clamped_to_its_last_day():
    t = terms(agreement_date=date(2004, 11, 30), maturity_date=date(2005, 11, 30))
    assert t.prepayment_allowed_from == date(2005, 2, 28)
    too_soon = Prepayment("p", date(2005, 2, 25), date(2005, 2, 25), date(2005, 3, 10), None)
    with refused("date", "not permitted before 2005-02-28"):
        check_events(t, [too_soon])
    # Telecopy on 28 February: the window runs 28 February through 3 March.
    in_window = Prepayment("p", date(2005, 2, 28), date(2005, 2, 28), date(2005, 3, 3), None)
    with refused("date", "through 2005-03-03"):
        check_events(t, [in_window])
    check_events(t, [Prepayment("p", date(2005, 2, 28), date(2005, 2, 28), date(2005, 3, 4), None)])


def test_a_prepayment_pays_billed_interest_and_the_principal_named_limited_to_what_is_left():
    events = [
        Payment("feb", date(2024, 2, 1), D("2200.00")),
        Payment("mar", date(2024, 3, 1), D("2900.00")),
        Conversion("c", date(2024, 4, 10), date(2024, 4, 15), D("300000.00")),
        Prepayment("p", date(2024, 4, 20), date(2024, 4, 22), date(2024, 4, 30), D("100000.00")),
    ]
    r = run(terms(), events, date(2024, 5, 1))
    p = r.prepayments[0]
    assert p.principal == D("65000.00")
    # 15–29 April on 65,000.00: 15 × 17.808219… = 267.12; plus nothing else unpaid.
    assert (p.interest, p.default_interest, p.amount) == (D("267.12"), D("0"), D("65267.12"))
    assert p.window_end == date(2024, 4, 25)
    assert r.balances.principal == D("0.00")
    assert r.balances.payoff_amount == D("0.00")


def test_costs_of_collection_are_paid_after_due_principal():
    events = [Cost("k", date(2024, 2, 5), D("750.00")), Payment("p", date(2024, 2, 6), D("3000.00"))]
    r = run(terms(), events, date(2024, 2, 6))
    p = r.payments[0]
    assert (p.to_interest, p.to_costs, p.to_unapplied) == (D("2200.00"), D("750.00"), D("50.00"))


def test_assigned_principal_leaves_the_note_on_the_assignment_date_and_earlier_interest_stays():
    # 146,000.00 of 365,000.00 leaves on 15 February: 14 days at 100.00, then 15 at 60.00.
    r = run(terms(), [Assignment("a", date(2024, 2, 15), D("146000.00"))], date(2024, 3, 1))
    assert periods(r)[-1][:5] == (date(2024, 2, 1), date(2024, 2, 29), date(2024, 3, 1), "month_end", D("2300.00"))
    assert r.balances.principal == D("219000.00")
    assert [p for p in r.postings if p.kind == "assignment"] == [
        engine.Posting(date(2024, 2, 15), "assignment", "principal", "assignment:a", D("-146000.00"))
    ]


def test_a_substitute_note_accrues_from_the_assignment_date_inclusive():
    t = terms(principal=D("146000.00"), accrues_from=date(2024, 2, 15))  # 40.00 a day
    r = run(t, [], date(2024, 3, 1))
    assert periods(r) == [(date(2024, 2, 15), date(2024, 2, 29), date(2024, 3, 1), "month_end", D("600.00"), D("0.00"))]
    assert r.postings[0] == engine.Posting(date(2024, 2, 15), "funding", "principal", "funding", D("146000.00"))


def test_an_assignment_of_more_than_is_outstanding_or_after_principal_fell_due_is_refused():
    with refused("principal", "principal outstanding is 365,000.00"):
        run(terms(), [Assignment("a", date(2024, 2, 15), D("365000.01"))], date(2024, 3, 1))
    insolvent = [Insolvency("i", date(2024, 2, 1)), Assignment("a", date(2024, 2, 15), D("1000.00"))]
    with refused("effective_on", "fell due on 2024-02-01"):
        run(terms(), insolvent, date(2024, 3, 1))


def test_going_on_from_a_stored_state_gives_what_one_replay_gives():
    events = [
        Payment("a", date(2024, 2, 12), D("1000.00")),
        Conversion("c", date(2024, 3, 10), date(2024, 3, 15), D("50000.00")),
        Payment("b", date(2024, 4, 2), D("9000.00")),
    ]
    whole = run(terms(), events, date(2024, 5, 31))
    first = run(terms(), events, date(2024, 3, 20))
    state = State.from_json(first.state.to_json())
    rest = run(terms(), events, date(2024, 5, 31), state)
    assert first.postings + rest.postings == whole.postings
    assert first.periods + rest.periods == whole.periods
    assert rest.balances == whole.balances
    assert rest.defaults == whole.defaults


def test_a_state_of_another_engine_version_is_not_used():
    assert State.from_json({"version": -1}) is None


@pytest.mark.parametrize(
    "event, field",
    [
        (Payment("p", date(2024, 1, 5), D("10.00")), "received_on"),
        (Payment("p", date(2024, 2, 5), D("0")), "amount"),
        (Payment("p", date(2024, 2, 5), D("10.001")), "amount"),
        (CovenantBreach("c", date(2024, 2, 5), date(2024, 2, 1)), "cured"),
        (Cost("k", date(2024, 2, 5), D("-1")), "amount"),
        (Assignment("a", date(2024, 1, 9), D("10.00")), "effective_on"),
        (Assignment("a", date(2025, 1, 10), D("10.00")), "effective_on"),
        (Assignment("a", date(2024, 2, 5), D("0.001")), "principal"),
    ],
)
def test_bad_events_are_refused_naming_the_field(event, field):
    with refused(field):
        check_events(terms(), [event])


@pytest.mark.parametrize(
    "change, field",
    [
        ({"maturity_date": date(2024, 1, 10)}, "maturity_date"),
        ({"rate": D("-0.01")}, "rate"),
        ({"max_lawful_rate": D("0.05")}, "max_lawful_rate"),
        ({"principal": D("0")}, "principal"),
        ({"calendar": "NOPE"}, "calendar"),
        ({"accrues_from": date(2024, 1, 9)}, "accrues_from"),
        ({"accrues_from": date(2025, 1, 10)}, "accrues_from"),
    ],
)
def test_bad_terms_are_refused_naming_the_field(change, field):
    with refused(field):
        terms(**change).check()


def test_the_engine_uses_no_float():
    from pathlib import Path

    for module in Path(engine.__file__).parent.glob("*.py"):
        assert "float" not in module.read_text(), module.name
    assert engine.Terms.__dataclass_fields__["rate"].type == "Decimal"
