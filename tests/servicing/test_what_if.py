"""The note page's what-if: it says what it assumes, and each scheduled or pending item is the
user's to include or leave out. The expected figures come from the engine run here on the events
the test builds, not from the view."""

import re
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from servicing import clock, engine, services
from servicing.quotes import what_if
from servicing.selectors import note_terms

pytestmark = pytest.mark.django_db
TODAY = date(2024, 4, 12)
QUOTE_ON = date(2024, 5, 1)


@pytest.fixture
def scheduled(make_note, staff, approve):
    """A note with an approved prepayment of 100,000.00 on 2024-04-22, after today."""
    note = make_note()
    with clock.pinned(TODAY):
        prepayment = approve(
            services.prepayment_record(
                note=note,
                notice_sent=date(2024, 4, 11),
                method="overnight_courier",
                prepayment_date=date(2024, 4, 22),
                principal=D("100000.00"),
                by=staff,
            )
        )
    return note, prepayment


def engine_payoff(note, events, on=QUOTE_ON):
    """The payoff on `on` as the engine gives it for exactly these events."""
    return engine.run(note_terms(note), events, on - timedelta(days=1), strict=False).balances


def prepayment_event(p):
    n = p.notice
    return engine.Prepayment(str(p.pk), n.sent_on, n.deemed_received_on, p.prepayment_date, p.principal_requested)


def quote_page(client, note, *include, choices=True, on=QUOTE_ON):
    url = f"{note.get_absolute_url()}?on={on}" + ("&choices=1" if choices else "")
    url += "".join(f"&include={key}" for key in include)
    with clock.pinned(TODAY):
        return client.get(url).content.decode()


def shown_payoff(page):
    return re.search(r"<strong data-payoff>([\d,.]+)</strong>", page).group(1)


def money(amount):
    return f"{amount:,.2f}"


def test_the_scheduled_prepayment_is_included_unless_left_out(client, staff, scheduled):
    note, prepayment = scheduled
    client.force_login(staff)
    with_it = engine_payoff(note, [prepayment_event(prepayment)])
    without = engine_payoff(note, [])
    assert with_it.principal == D("265000.00") and without.principal == D("365000.00")

    assert shown_payoff(quote_page(client, note, choices=False)) == money(with_it.payoff_amount)  # a bare link
    assert shown_payoff(quote_page(client, note, f"prepayment-{prepayment.pk}")) == money(with_it.payoff_amount)
    left_out = quote_page(client, note)
    assert shown_payoff(left_out) == money(without.payoff_amount)
    assert f'value="prepayment-{prepayment.pk}" id="include-prepayment-{prepayment.pk}">' in left_out  # unchecked


def test_the_what_if_says_what_it_assumes(scheduled):
    note, prepayment = scheduled
    included = what_if(note, QUOTE_ON, None, None, TODAY).assumptions
    assert included == [
        "Includes a prepayment of 100,000.00 principal on 2024-04-22, with the interest owed then "
        "(approved, scheduled)."
    ]
    left_out = what_if(note, QUOTE_ON, None, [], TODAY).assumptions
    assert left_out[0] == (
        "Leaves out a prepayment of 100,000.00 principal on 2024-04-22, with the interest owed then "
        "(approved, scheduled)."
    )
    # Nothing pays the bills of 1 February (22 days at 100.00), 1 March (29 days) and 1 April (31 days).
    assert left_out[1:4] == [
        "Interest billed on 2024-02-01 (2,200.00), due 2024-02-01, is assumed unpaid by the quote date.",
        "Interest billed on 2024-03-01 (2,900.00), due 2024-03-01, is assumed unpaid by the quote date.",
        "Interest billed on 2024-04-01 (3,100.00), due 2024-04-01, is assumed unpaid by the quote date.",
    ]


def test_an_item_after_the_quote_date_is_said_to_change_nothing(scheduled):
    note, _ = scheduled
    lines = what_if(note, date(2024, 4, 15), None, None, TODAY).assumptions
    assert lines[0].endswith("(approved, scheduled), after the quote date: it changes nothing here.")


def test_a_partly_paid_bill_is_assumed_unpaid_for_the_rest(make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 2, 1)):
        approve(services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("1000.00"), by=staff))
    lines = what_if(note, date(2024, 2, 20), None, None, date(2024, 2, 1)).assumptions
    assert lines == ["Interest billed on 2024-02-01 (1,200.00), due 2024-02-01, is assumed unpaid by the quote date."]


def test_a_payment_awaiting_approval_counts_only_when_chosen(client, make_note, staff):
    note = make_note()
    with clock.pinned(TODAY):
        payment = services.payment_record(note=note, received_on=date(2024, 4, 1), amount=D("8200.00"), by=staff)
    client.force_login(staff)
    paid = engine_payoff(note, [engine.Payment(str(payment.pk), payment.received_on, payment.amount)])
    unpaid = engine_payoff(note, [])
    assert paid.payoff_amount != unpaid.payoff_amount

    page = quote_page(client, note, choices=False)
    assert shown_payoff(page) == money(unpaid.payoff_amount)
    assert "Leaves out a payment of 8,200.00 received 2024-04-01 (awaiting approval)." in page
    page = quote_page(client, note, f"payment-{payment.pk}")
    assert shown_payoff(page) == money(paid.payoff_amount)
    assert "Includes a payment of 8,200.00 received 2024-04-01 (awaiting approval)." in page


def test_another_notes_item_is_not_used(client, make_note, staff, scheduled):
    note, _ = scheduled
    other = make_note(number="OTHER-1")
    with clock.pinned(TODAY):
        theirs = services.payment_record(note=other, received_on=date(2024, 4, 1), amount=D("8123.45"), by=staff)
    client.force_login(staff)
    alone = engine_payoff(note, [])
    page = quote_page(client, note, f"payment-{theirs.pk}")
    assert shown_payoff(page) == money(alone.payoff_amount)
    assert "8,123.45" not in page
    what = what_if(note, QUOTE_ON, None, [f"payment-{theirs.pk}"], TODAY)
    assert [item.key for item, _ in what.choices] == [f"prepayment-{note.prepayments.get().pk}"]
    assert what.payoff.balances == alone


def test_the_conversion_what_if_follows_the_same_choices(scheduled):
    note, prepayment = scheduled
    on = date(2024, 4, 25)
    principal = D("10000.00")
    conversion = engine.Conversion("what-if", on, on, principal)
    for chosen, events in ((None, [prepayment_event(prepayment), conversion]), ([], [conversion])):
        result = engine.run(note_terms(note), events, on, strict=False)
        expected = next(c for c in result.conversions if c.ref == "what-if")
        assert what_if(note, on, principal, chosen, TODAY).conversion.shares == expected.shares


def test_a_quote_date_outside_the_notes_life_is_refused(client, staff, scheduled):
    note, _ = scheduled
    client.force_login(staff)
    page = quote_page(client, note, on=date(2046, 1, 1))
    assert "is outside the dates this note can have" in page
    assert "data-payoff" not in page


def test_a_conversion_dated_after_today_is_included_unless_left_out(make_note, staff, approve):
    note = make_note()
    with clock.pinned(TODAY):  # a Friday: the notice is deemed received on Monday 2024-04-15
        conversion = approve(
            services.conversion_record(
                note=note, notice_sent=TODAY, method="overnight_courier", principal=D("65000.00"), by=staff
            )
        )
    n = conversion.notice
    event = engine.Conversion(str(conversion.pk), n.sent_on, n.deemed_received_on, D("65000.00"))
    included = what_if(note, QUOTE_ON, None, None, TODAY)
    assert included.payoff.balances == engine_payoff(note, [event])
    assert included.payoff.balances.principal == D("300000.00")
    assert included.assumptions[0] == "Includes a conversion of 65,000.00 principal on 2024-04-15 (notice given)."
    assert what_if(note, QUOTE_ON, None, [], TODAY).payoff.balances == engine_payoff(note, [])
    # Once its date has passed, it is a fact: no longer offered to leave out.
    assert what_if(note, QUOTE_ON, None, None, date(2024, 4, 15)).choices == []
