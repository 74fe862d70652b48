"""A note's life beyond interest and payments: assignments, participations, warrants, defaults and
waivers, costs of collection and corporate actions (sections 5, 6, 7 and 8(j))."""

from datetime import date
from decimal import Decimal as D

import pytest

from notes.models import Note, ReviewFlag, SupplementalAgreement, Warrant
from servicing import clock, lifecycle, services
from servicing.close import close_books
from servicing.models import Conversion, LedgerEntry, Notice, Period
from servicing.selectors import note_balances, payment_split
from tests.factories import HolderFactory, PaymentFactory
from tests.helpers import refused, row_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def bea(db):
    return HolderFactory(name="Bea Assignee", email="bea@example.com")


@pytest.fixture
def cal(db):
    return HolderFactory(name="Cal Assignee", email="cal@example.com")


def pay_bills_on_time(note, approver, through):
    """Pay January's 2,200.00, February's 2,900.00… on their due dates, so no default runs."""
    bills = [(date(2024, 2, 1), D("2200.00")), (date(2024, 3, 1), D("2900.00")), (date(2024, 4, 1), D("3100.00"))]
    for day, amount in bills:
        if day <= through:
            PaymentFactory(note=note, received_on=day, amount=amount, approved_by=approver)


# Assignments and substitute notes (8(j)).


def assign(note, parts, approve, staff, on=date(2024, 3, 15)):
    with clock.pinned(on):
        return approve(lifecycle.assignment_record(note=note, effective_on=on, parts=parts, by=staff))


def test_a_partial_assignment_issues_substitute_notes_with_identical_terms(make_note, staff, approve, bea, cal):
    note = make_note()
    assignment = assign(note, [(bea, D("100000.01")), (cal, D("33333.33"))], approve, staff)
    subs = [part.substitute for part in assignment.parts.order_by("pk")]
    assert [(s.number, s.holder, s.principal, s.accrues_from) for s in subs] == [
        (f"{note.number}/1", bea, D("100000.01"), date(2024, 3, 15)),
        (f"{note.number}/2", cal, D("33333.33"), date(2024, 3, 15)),
    ]
    for s in subs:
        assert s.parent == note
        terms = ("agreement_date", "maturity_date", "rate", "default_rate_spread", "conversion_price", "calendar")
        assert [getattr(s, t) for t in terms] == [getattr(note, t) for t in terms]
    assert [(depth, n.number) for depth, n in subs[1].chain_of_title()] == [
        (0, note.number),
        (1, subs[0].number),
        (1, subs[1].number),
    ]


def test_after_a_partial_assignment_the_notes_carry_the_original_principal_and_interest(
    make_note, staff, approve, bea, cal
):
    """The pieces add up to the cent; each period's interest is the unassigned note's within a
    cent a note, since each note rounds on its own."""
    note, unassigned = make_note(number="A"), make_note(number="B")
    assignment = assign(note, [(bea, D("100000.01")), (cal, D("33333.33"))], approve, staff)
    close_books(through=date(2024, 8, 1))
    notes = [note, *(p.substitute for p in assignment.parts.all())]
    for n in notes:
        n.refresh_from_db()
    unassigned.refresh_from_db()
    assert sum(note_balances(n).principal for n in notes) == note_balances(unassigned).principal == D("365000.00")
    assert note_balances(note).principal == D("231666.66")
    for period in Period.objects.filter(note=unassigned):
        pieces = list(Period.objects.filter(note__in=notes, end=period.end).values_list("interest", flat=True))
        assert abs(sum(pieces) - period.interest) <= D("0.01") * len(pieces), period
    march = Period.objects.get(note=note, start=date(2024, 3, 1))
    # 14 days on 365,000.00 (1,400.00), then 17 on 231,666.66 (63.470317… a day: 1,078.995…), rounded once.
    assert march.interest == D("2479.00")


def test_interest_accrued_before_the_assignment_stays_billable_and_payable_to_the_assignor(
    make_note, staff, approve, bea
):
    note = make_note()
    assign(note, [(bea, D("365000.00"))], approve, staff)
    close_books(through=date(2024, 4, 1))
    note.refresh_from_db()
    b = note_balances(note)
    assert b.principal == D("0.00")
    assert b.interest_due == D("2200.00") + D("2900.00") + D("1400.00")  # Jan, Feb, 1–14 March
    owed = b.interest_due + b.default_interest_due
    with clock.pinned(date(2024, 4, 1)):
        approve(services.payment_record(note=note, received_on=date(2024, 4, 1), amount=owed, by=staff))
    note.refresh_from_db()
    assert (note_balances(note).interest_due, note_balances(note).default_interest_due) == (D("0.00"), D("0.00"))


def test_a_pending_assignment_moves_nothing(make_note, staff, bea):
    note = make_note()
    with clock.pinned(date(2024, 3, 15)):
        lifecycle.assignment_record(note=note, effective_on=date(2024, 3, 15), parts=[(bea, D("1000.00"))], by=staff)
    assert not Note.objects.filter(parent=note).exists()
    close_books(through=date(2024, 4, 1))
    note.refresh_from_db()
    assert note_balances(note).principal == D("365000.00")


def test_bad_assignments_are_refused_naming_the_field(make_note, staff, holder, bea):
    note = make_note()
    on = date(2024, 3, 15)
    args = {"note": note, "effective_on": on, "by": staff}
    for field, words, change in [
        ("principal", ["365,000.00"], {"parts": [(bea, D("365000.01"))]}),
        ("assignee", [], {"parts": [(holder, D("10.00"))]}),
        ("assignee", [], {"parts": [(bea, D("10.00")), (bea, D("5.00"))]}),
        ("principal", [], {"parts": [(bea, D("10.001"))]}),
        ("parts", [], {"parts": []}),
        ("effective_on", [], {"parts": [(bea, D("10.00"))], "effective_on": date(2025, 1, 10)}),
    ]:
        with refused(field, *words, unchanged=row_counts):
            lifecycle.assignment_record(**args | change)
    assert not note.assignments.exists()


# Participations (8(j)).


def test_each_payment_is_split_among_holder_and_participants_to_the_cent(make_note, staff, approve, holder, bea, cal):
    note = make_note()
    for participant, share in ((bea, D("0.333333")), (cal, D("0.25"))):
        approve(
            lifecycle.participation_record(
                note=note, participant=participant, share=share, starts_on=date(2024, 2, 1), by=staff
            )
        )
    with clock.pinned(date(2024, 2, 5)):
        payment = approve(
            services.payment_record(note=note, received_on=date(2024, 2, 5), amount=D("100.00"), by=staff)
        )
    split = payment_split(payment)
    assert [(party, amount) for party, _, amount in split] == [
        (holder, D("41.67")),
        (bea, D("33.33")),
        (cal, D("25.00")),
    ]
    assert sum(amount for *_, amount in split) == payment.amount


def test_a_participation_ends_and_later_payments_go_to_the_holder(make_note, staff, approve, holder, bea):
    note = make_note()
    p = approve(
        lifecycle.participation_record(note=note, participant=bea, share=D("0.5"), starts_on=date(2024, 2, 1), by=staff)
    )
    lifecycle.participation_end(participation=p, ends_on=date(2024, 3, 1), by=staff)
    with clock.pinned(date(2024, 3, 2)):
        before = approve(services.payment_record(note=note, received_on=date(2024, 2, 29), amount=D("9.99"), by=staff))
        after = approve(services.payment_record(note=note, received_on=date(2024, 3, 1), amount=D("9.99"), by=staff))
    assert [(party, amount) for party, _, amount in payment_split(before)] == [(holder, D("5.00")), (bea, D("4.99"))]
    assert [(party, amount) for party, _, amount in payment_split(after)] == [(holder, D("9.99"))]


def test_participations_cannot_add_up_to_more_than_the_note(make_note, staff, approve, holder, bea, cal):
    note = make_note()
    approve(
        lifecycle.participation_record(note=note, participant=bea, share=D("0.6"), starts_on=date(2024, 2, 1), by=staff)
    )
    march = {"note": note, "starts_on": date(2024, 3, 1), "by": staff}
    with refused("share", "more than the whole note"):
        lifecycle.participation_record(participant=cal, share=D("0.5"), **march)
    with refused("participant"):
        lifecycle.participation_record(participant=holder, share=D("0.1"), **march)
    with refused("share"):
        lifecycle.participation_record(participant=cal, share=D("0"), **march)


# Warrants (section 6).


@pytest.fixture
def warrant(make_note, issuer, holder, staff):
    note = make_note()
    return lifecycle.warrant_issue(
        issuer=issuer,
        holder=holder,
        note=note,
        shares=10_000,
        exercise_price=D("2.125"),
        issued_on=date(2024, 1, 10),
        expires_on=date(2026, 1, 9),
        by=staff,
    )


def test_a_warrant_is_exercised_in_part_for_shares_times_the_exercise_price(warrant, staff, approve):
    exercise = approve(
        lifecycle.warrant_exercise_record(warrant=warrant, exercised_on=date(2024, 6, 3), shares=4001, by=staff)
    )
    assert exercise.price_paid == D("8502.13")  # 4,001 × 2.125 = 8,502.125, to the cent
    with refused("shares", "5,999 left"):
        lifecycle.warrant_exercise_record(warrant=warrant, exercised_on=date(2024, 6, 4), shares=6000, by=staff)
    with refused("exercised_on"):
        lifecycle.warrant_exercise_record(warrant=warrant, exercised_on=date(2026, 1, 10), shares=1, by=staff)


def test_a_warrant_is_assigned_in_part_to_a_substitute_warrant(warrant, staff, approve, bea):
    assignment = approve(
        lifecycle.warrant_assignment_record(
            warrant=warrant, effective_on=date(2024, 5, 1), assignee=bea, shares=2500, by=staff
        )
    )
    sub = assignment.substitute
    assert (sub.number, sub.holder, sub.shares, sub.exercise_price, sub.expires_on, sub.parent) == (
        f"{warrant.number}/1",
        bea,
        2500,
        warrant.exercise_price,
        warrant.expires_on,
        warrant,
    )
    with refused("shares", "7,500 left"):
        lifecycle.warrant_exercise_record(warrant=warrant, exercised_on=date(2024, 6, 4), shares=7501, by=staff)


def test_the_close_records_a_warrants_expiry(warrant):
    close_books(through=date(2026, 1, 8))
    assert Warrant.objects.get().status == "outstanding"
    run = close_books(through=date(2026, 1, 9))
    assert Warrant.objects.get().status == "expired"
    assert run.summary["warrants_expired"] == 1


# Defaults and waivers (section 7).


def test_a_covenant_breach_shows_its_cure_deadline_and_a_cure_in_time_costs_nothing(make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 3, 20)):
        breach = approve(services.default_record(note=note, kind="covenant", occurred_on=date(2024, 2, 14), by=staff))
        assert breach.cure_deadline == date(2024, 2, 22)  # five business days; 19 February is a holiday
        approve(services.cure_record(event=breach, cured_on=date(2024, 2, 22), by=staff))
        late = approve(services.default_record(note=note, kind="covenant", occurred_on=date(2024, 3, 1), by=staff))
        approve(services.cure_record(event=late, cured_on=date(2024, 3, 11), by=staff))  # deadline 8 March
    assert list(note.default_periods.filter(kind="covenant").values_list("start", "end")) == [
        (date(2024, 3, 9), date(2024, 3, 11))
    ]


def test_a_waiver_ends_a_misrepresentation_only_once_approved(make_note, staff, approve, approver):
    note = make_note()
    pay_bills_on_time(note, approver, through=date(2024, 3, 1))
    with clock.pinned(date(2024, 3, 20)):
        misrep = approve(
            services.default_record(note=note, kind="misrepresentation", occurred_on=date(2024, 3, 4), by=staff)
        )
        waiver = services.waiver_record(event=misrep, waived_on=date(2024, 3, 11), by=staff)
        close_books(through=date(2024, 3, 19))
        note.refresh_from_db()
        assert list(note.default_periods.values_list("kind", "end")) == [("misrepresentation", None)]
        assert note.accrued_default_interest == D("480.00")  # 16 days × 30.00 while the waiver waits
        approve(waiver)
    note.refresh_from_db()
    assert list(note.default_periods.values_list("kind", "start", "end")) == [
        ("misrepresentation", date(2024, 3, 4), date(2024, 3, 11))
    ]
    assert note.accrued_default_interest == D("210.00")  # 7 days × 30.00


def test_an_insolvency_is_not_waived_here(make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 3, 20)):
        insolvency = approve(
            services.default_record(note=note, kind="insolvency", occurred_on=date(2024, 3, 4), by=staff)
        )
    with refused("default_event"):
        services.waiver_record(event=insolvency, waived_on=date(2024, 3, 11), by=staff)


# Costs of collection (sections 6, 7(b), 8(k)).


def test_costs_are_billed_once_approved_and_paid_after_due_principal(make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 2, 5)):
        cost = services.cost_record(
            note=note, billed_on=date(2024, 2, 5), amount=D("750.00"), description="Counsel, demand letter", by=staff
        )
        assert note_balances(note).costs_due == D("0.00")
        approve(cost)
        approve(services.payment_record(note=note, received_on=date(2024, 2, 5), amount=D("2500.00"), by=staff))
    note.refresh_from_db()
    b = note_balances(note)
    assert (b.interest_due, b.costs_due) == (D("0.00"), D("450.00"))
    assert LedgerEntry.objects.get(key=f"cost:{cost.pk}").approved_by is not None
    with refused("description"):
        services.cost_record(note=note, billed_on=date(2024, 2, 5), amount=D("1.00"), description=" ", by=staff)


# Corporate actions (section 5).


def test_a_split_flags_the_notes_for_review_and_changes_no_conversion_term(make_note, issuer, staff, approve):
    note = make_note()
    price = note.conversion_price
    approve(
        lifecycle.corporate_action_record(
            issuer=issuer, kind="split", effective_on=date(2024, 4, 1), ratio=D("2"), by=staff
        )
    )
    note.refresh_from_db()
    assert note.conversion_price == price
    assert list(note.flags.values_list("kind", "cleared_at")) == [("split_review", None)]
    with refused("ratio"):
        lifecycle.corporate_action_record(
            issuer=issuer, kind="split", effective_on=date(2024, 4, 1), ratio=D("0.5"), by=staff
        )


def test_a_merger_makes_a_supplemental_agreement_and_later_conversions_deliver_successor_securities(
    make_note, issuer, staff, approve, approver
):
    note = make_note()
    pay_bills_on_time(note, approver, through=date(2024, 4, 1))
    approve(
        lifecycle.corporate_action_record(
            issuer=issuer,
            kind="merger",
            effective_on=date(2024, 4, 1),
            successor="Acquirer Holdings Inc.",
            securities=[("Acquirer common stock", D("0.3333")), ("Acquirer preferred stock", D("0.15"))],
            by=staff,
        )
    )
    agreement = SupplementalAgreement.objects.get()
    assert list(agreement.notes.all()) == [note]
    flag = note.flags.get()
    assert flag.kind == "notice_due"
    with clock.pinned(date(2024, 4, 20)):
        conversion = approve(
            services.conversion_record(
                note=note, notice_sent=date(2024, 4, 15), method="telecopy", principal=D("10000.00"), by=staff
            )
        )
        services.notice_record(
            note=note,
            kind=Notice.Kind.SUPPLEMENTAL,
            direction=Notice.Direction.COMPANY_TO_HOLDER,
            method="telecopy",
            sent_on=date(2024, 4, 2),
            by=staff,
        )
    conversion = Conversion.objects.get(pk=conversion.pk)
    # 10,000.00 + the interest of 1–14 April (1,400.00) = 11,400.00 at 2.00: 5,700 shares, which
    # became 1,899.81 (rounded up: 1,900) common and 855 preferred shares of the acquirer.
    assert (conversion.amount, conversion.shares) == (D("11400.00"), 5700)
    assert conversion.deliveries == [
        {"security": "Acquirer common stock", "per_share": "0.3333000000", "units": 1900},
        {"security": "Acquirer preferred stock", "per_share": "0.1500000000", "units": 855},
    ]
    assert ReviewFlag.objects.get(pk=flag.pk).cleared_at is not None


def test_a_reclassification_needs_its_successor_securities(issuer, staff):
    with refused("securities"):
        lifecycle.corporate_action_record(
            issuer=issuer, kind="reclassification", effective_on=date(2024, 4, 1), by=staff
        )
