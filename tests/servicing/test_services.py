from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied

from notes.models import Issuer
from servicing import approvals, clock, engine, services
from servicing.models import Conversion, LedgerEntry, Payment, Prepayment
from servicing.selectors import note_balances, note_events, note_terms
from tests.factories import ClosingPriceFactory, UserFactory
from tests.helpers import refused, row_counts

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"maturity_date": date(2023, 1, 1)}, "maturity_date", "must be after the agreement date"),
        ({"principal": D("-5.00")}, "principal", "must be above zero"),
        ({"principal": D("10.001")}, "principal", "whole number of cents"),
        ({"max_lawful_rate": D("0.05")}, "max_lawful_rate", "must not be below the rate"),
        ({"conversion_price": None}, "reference_closes", "5 closing prices before 2024-01-10"),
    ],
)
def test_a_note_with_bad_terms_is_refused_and_nothing_is_created(make_note, change, field, words):
    with refused(field, words, unchanged=row_counts):
        make_note(**change)


def test_a_note_is_funded_on_its_agreement_date(make_note, staff):
    note = make_note()
    funding = LedgerEntry.objects.get(note=note)
    assert (funding.kind, funding.account, funding.amount, funding.effective_on) == (
        "funding",
        "principal",
        D("365000.00"),
        date(2024, 1, 10),
    )
    assert funding.posted_by == staff
    assert note.history.first().history_user == staff


def test_the_conversion_price_comes_from_the_issuers_stored_closes(issuer, holder, staff):
    for day, close in [(3, "1.00"), (4, "2.00"), (5, "3.00"), (8, "4.00"), (9, "5.00"), (2, "99.00")]:
        ClosingPriceFactory(issuer=issuer, date=date(2024, 1, day), close=D(close))
    with clock.pinned(date(2024, 1, 10)):
        note = services.note_create(
            issuer=issuer,
            holder=holder,
            agreement_date=date(2024, 1, 10),
            maturity_date=date(2025, 1, 10),
            principal=D("1000.00"),
            rate=D("0.05"),
            by=staff,
        )
    assert note.conversion_price == D("3.3")  # 1.10 × 3.00
    assert sorted(c.date.day for c in note.reference_closes.all()) == [3, 4, 5, 8, 9]


def test_it_creates_an_issuer_of_a_new_name_and_refuses_a_name_taken(issuer):
    created = services.issuer_create(name="Acme Widgets Inc.")
    assert created.pk != issuer.pk and created.closing_prices.count() == 0
    with refused("name", "an issuer named Innovo Group Inc. already exists", unchanged=row_counts):
        services.issuer_create(name=issuer.name)
    assert Issuer.objects.filter(name=issuer.name).count() == 1


def test_a_second_different_close_for_a_day_is_refused(issuer):
    services.closing_price_record(issuer=issuer, date=date(2024, 1, 3), close=D("1.00"))
    with refused("close", "already has a closing price of 1.000000", unchanged=row_counts):
        services.closing_price_record(issuer=issuer, date=date(2024, 1, 3), close=D("1.50"))


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"received_on": date(2024, 1, 9), "amount": D("10.00")}, "received_on"),
        ({"received_on": date(2024, 2, 1), "amount": D("0.00")}, "amount"),
        ({"received_on": date(2024, 2, 1), "amount": D("10.005")}, "amount"),
    ],
)
def test_a_bad_payment_is_refused_and_changes_nothing(make_note, staff, kw, field):
    note = make_note()
    with refused(field, unchanged=row_counts):
        services.payment_record(note=note, by=staff, **kw)


def test_a_prepayment_inside_the_lockout_is_refused(make_note, staff):
    note = make_note()
    with refused("prepayment_date", "before 2024-04-10 (lockout)", unchanged=row_counts):
        services.prepayment_record(
            note=note, notice_sent=date(2024, 3, 1), method="telecopy", prepayment_date=date(2024, 5, 1), by=staff
        )


def test_a_conversion_of_more_than_is_outstanding_is_refused(make_note, staff):
    note = make_note()
    with refused("principal", "principal outstanding is 365,000.00", unchanged=row_counts):
        services.conversion_record(
            note=note, notice_sent=date(2024, 2, 1), method="telecopy", principal=D("400000.00"), by=staff
        )


def test_an_acceleration_with_no_event_of_default_is_refused(make_note, staff):
    note = make_note()
    with refused("notice_sent", "no Event of Default", unchanged=row_counts):
        services.acceleration_record(note=note, notice_sent=date(2024, 1, 20), method="telecopy", by=staff)


def test_an_unknown_notice_method_is_refused(make_note, staff):
    note = make_note()
    with refused("method", "pigeon", unchanged=row_counts):
        services.conversion_record(note=note, notice_sent=date(2024, 2, 1), method="pigeon", by=staff)


def test_balances_from_the_ledger_equal_the_engine(make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 6, 30)):
        approve(services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=staff))
        approve(services.payment_record(note=note, received_on=date(2024, 3, 20), amount=D("4000.00"), by=staff))
        approve(
            services.conversion_record(
                note=note, notice_sent=date(2024, 4, 1), method="certified_mail", principal=D("65000.00"), by=staff
            )
        )
        approve(
            services.prepayment_record(
                note=note,
                notice_sent=date(2024, 5, 1),
                method="overnight_courier",
                prepayment_date=date(2024, 5, 20),
                principal=D("100000.00"),
                by=staff,
            )
        )
        approve(services.default_record(note=note, kind="misrepresentation", occurred_on=date(2024, 6, 3), by=staff))
        from servicing.close import close_books

        close_books(through=date(2024, 6, 30))
    note.refresh_from_db()
    expected = engine.run(note_terms(note), note_events(note), date(2024, 6, 30)).balances
    got = note_balances(note)
    assert (got.principal, got.interest_due, got.default_interest_due, got.unapplied) == (
        expected.principal,
        expected.interest_due,
        expected.default_interest_due,
        expected.unapplied,
    )
    assert (got.accrued_interest, got.accrued_default_interest) == (
        expected.accrued_interest,
        expected.accrued_default_interest,
    )
    assert got.principal == D("200000.00")
    assert Conversion.objects.get().status == "converted"
    assert Prepayment.objects.get().status == "paid"


def test_ledger_entries_can_be_neither_changed_nor_deleted(make_note):
    note = make_note()
    entry = LedgerEntry.objects.get(note=note)
    entry.amount = D("1.00")
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    with pytest.raises(ValueError, match="append-only"):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=D("2.00"))
    with pytest.raises(ValueError, match="append-only"):
        LedgerEntry.objects.all().delete()
    assert LedgerEntry.objects.get(pk=entry.pk).amount == D("365000.00")


def test_a_payment_keyed_in_error_is_reversed_once_someone_else_approves_and_the_note_replayed(
    make_note, staff, approve, approver
):
    second = UserFactory(username="second-approver", roles=["approver"])
    note = make_note()
    with clock.pinned(date(2024, 2, 10)):
        payment = approve(
            services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=staff)
        )
        note.refresh_from_db()
        assert note_balances(note).interest_due == D("0.00")
        reversal = services.reversal_record(payment=payment, reason="wire returned", by=second)
        note.refresh_from_db()
        assert note_balances(note).interest_due == D("0.00")  # pending: nothing moves yet
        with refused("payment", unchanged=row_counts):
            services.reversal_record(payment=payment, reason="twice", by=staff)
        with refused("approval", "different user must approve"):
            approvals.approve(reversal, by=second)  # who asked for it
        with refused("approval", "recorded or approved this payment"):
            approvals.approve(reversal, by=approver)  # who approved the payment
        with pytest.raises(PermissionDenied):
            approvals.approve(reversal, by=staff)  # who recorded it, and no approver at all
        assert Payment.objects.get().reversed_at is None
        third = UserFactory(username="third-approver", roles=["approver"])
        approvals.approve(reversal, by=third)
    note.refresh_from_db()
    assert note_balances(note).interest_due == D("2200.00")
    reversal = LedgerEntry.objects.get(kind="reversal")
    assert (reversal.key, reversal.amount, reversal.reverses.amount) == (
        f"payment:{payment.pk}",
        D("2200.00"),
        D("-2200.00"),
    )
    assert (Payment.objects.get().reversal_reason, Payment.objects.get().reversed_by) == ("wire returned", third)
    with refused("payment", unchanged=row_counts):
        services.reversal_record(payment=payment, reason="again", by=second)
