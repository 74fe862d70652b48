"""`manage.py verify_ledger`: the balances each note row keeps, proved equal to its ledger and to a
full replay after every kind of posting, and a corrupted row found and named."""

from datetime import date
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from notes.models import Note
from servicing import clock, lifecycle, services
from servicing.close import close_books
from tests.factories import HolderFactory, UserFactory

pytestmark = pytest.mark.django_db


def verify(*numbers) -> str:
    out = StringIO()
    call_command("verify_ledger", *[f"--note={n}" for n in numbers], stdout=out)
    return out.getvalue()


def test_every_kind_of_posting_leaves_the_rows_equal_to_the_ledger_and_a_replay(make_note, staff, approve):
    bea = HolderFactory(name="Bea Cole")
    paid, breached, waived, accelerated, converted, prepaid, assigned = notes = [make_note() for _ in range(7)]
    close_books(through=date(2024, 3, 31))  # what follows lands on posted days: full replays
    assert verify() == "7 note(s) agree with their ledger and a full replay\n"

    with clock.pinned(date(2024, 6, 30)):
        payment = approve(services.payment_record(note=paid, received_on=date(2024, 2, 1), amount=D("2200"), by=staff))
        assert verify().startswith("7 note(s) agree")
        second, third = UserFactory(roles=["approver"]), UserFactory(roles=["approver"])
        reversal = services.reversal_record(payment=payment, reason="wire returned", by=second)
        services.reversal_apply(reversal=reversal, by=third)
        approve(services.cost_record(note=paid, billed_on=date(2024, 2, 5), amount=D("750"), description="x", by=staff))
        assert verify().startswith("7 note(s) agree")

        breach = approve(
            services.default_record(note=breached, kind="covenant", occurred_on=date(2024, 2, 1), by=staff)
        )
        approve(services.cure_record(event=breach, cured_on=date(2024, 2, 20), by=staff))
        lie = approve(
            services.default_record(note=waived, kind="misrepresentation", occurred_on=date(2024, 2, 1), by=staff)
        )
        approve(services.waiver_record(event=lie, waived_on=date(2024, 3, 1), by=staff))
        assert verify().startswith("7 note(s) agree")

        approve(
            services.default_record(note=accelerated, kind="misrepresentation", occurred_on=date(2024, 2, 1), by=staff)
        )
        approve(
            services.acceleration_record(note=accelerated, notice_sent=date(2024, 2, 5), method="telecopy", by=staff)
        )
        assert verify().startswith("7 note(s) agree")

        approve(
            services.conversion_record(
                note=converted, notice_sent=date(2024, 3, 1), method="telecopy", principal=D("65000"), by=staff
            )
        )
        approve(
            services.prepayment_record(
                note=prepaid,
                notice_sent=date(2024, 5, 1),
                method="overnight_courier",
                prepayment_date=date(2024, 5, 20),
                principal=D("100000"),
                by=staff,
            )
        )
        approve(
            lifecycle.assignment_record(
                note=assigned, effective_on=date(2024, 3, 15), parts=[(bea, D("100000"))], by=staff
            )
        )
        assert verify().startswith("8 note(s) agree")  # and the substitute note

        close_books(through=date(2024, 6, 30))  # on from each stored state
    assert verify() == "8 note(s) agree with their ledger and a full replay\n"
    assert verify(converted.number, prepaid.number) == "2 note(s) agree with their ledger and a full replay\n"
    assert [n.refresh_from_db() or n.principal_outstanding for n in notes] == [
        D("365000.00"), D("365000.00"), D("365000.00"), D("365000.00"), D("300000.00"), D("265000.00"), D("265000.00")
    ]  # fmt: skip
    assert accelerated.past_due > D("365000.00")  # all of it fell due on acceleration


def test_a_row_that_disagrees_is_named_by_note_and_column_and_exits_1(make_note):
    note, other = make_note(), make_note()
    close_books(through=date(2024, 3, 31))
    posted = Note.objects.get(pk=note.pk).interest_due
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE notes_note SET interest_due = %s, accrued_interest = %s WHERE id = %s",
            [str(posted + 1), "2.00", note.pk],
        )
    out = StringIO()
    with pytest.raises(CommandError, match="3 difference") as raised:
        call_command("verify_ledger", stdout=out)
    assert raised.value.returncode == 1
    assert out.getvalue().splitlines() == [
        f"{note.number} interest_due: row {posted + 1}, ledger {posted}",
        f"{note.number} interest_due: row {posted + 1}, replay {posted}",
        f"{note.number} accrued_interest: row 2.00, replay 3100.00",
    ]
    assert verify(other.number).startswith("1 note(s) agree")
