"""Reminders to staff: found once, e-mailed once, even when the job runs twice."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core import mail

from servicing import clock, lifecycle, services
from servicing.close import close_books
from servicing.models import Reminder
from servicing.reminders import reminders_found, reminders_run

pytestmark = pytest.mark.django_db


def kinds(today):
    return sorted((r.kind, r.due_on) for r in reminders_found(today))


def test_interest_coming_due_in_five_business_days(make_note):
    make_note()
    close_books(through=date(2024, 1, 23))
    assert kinds(date(2024, 1, 24)) == []  # 1 February is six business days away
    assert kinds(date(2024, 1, 25)) == [("interest_due", date(2024, 2, 1))]


def test_a_payment_past_due(make_note):
    make_note()
    close_books(through=date(2024, 2, 2))
    assert ("past_due", date(2024, 2, 2)) in kinds(date(2024, 2, 3))


def test_maturity_in_thirty_and_in_seven_days(make_note, staff, approve):
    note = make_note()
    close_books(through=date(2024, 12, 10))
    found = kinds(date(2024, 12, 11))
    assert ("maturity_30", date(2025, 1, 10)) in found and ("maturity_7", date(2025, 1, 10)) not in found
    assert ("maturity_7", date(2025, 1, 10)) in kinds(date(2025, 1, 3))
    assert note.maturity_date == date(2025, 1, 10)


def test_a_holders_conversion_window_closing(make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 4, 12)):
        approve(
            services.prepayment_record(
                note=note,
                notice_sent=date(2024, 4, 11),
                method="overnight_courier",
                prepayment_date=date(2024, 4, 22),
                by=staff,
            )
        )
    assert ("window_closing", date(2024, 4, 17)) in kinds(date(2024, 4, 15))
    assert ("window_closing", date(2024, 4, 17)) not in kinds(date(2024, 4, 12))  # three business days away


def test_a_covenant_cure_deadline(make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 3, 4)):
        approve(services.default_record(note=note, kind="covenant", occurred_on=date(2024, 3, 1), by=staff))
    assert ("cure_deadline", date(2024, 3, 8)) in kinds(date(2024, 3, 4))


def test_a_warrant_expiring_in_thirty_days(make_note, issuer, holder, staff):
    lifecycle.warrant_issue(
        issuer=issuer,
        holder=holder,
        shares=1000,
        exercise_price=D("2.50"),
        issued_on=date(2024, 1, 10),
        expires_on=date(2024, 6, 30),
        by=staff,
    )
    assert kinds(date(2024, 5, 30)) == []
    assert kinds(date(2024, 5, 31)) == [("warrant_expiring", date(2024, 6, 30))]


def test_each_reminder_is_emailed_once_even_if_the_job_runs_twice(make_note, settings):
    settings.STAFF_EMAILS = ["ops@example.com", "cfo@example.com"]
    note = make_note()
    close_books(through=date(2024, 2, 2))
    first = reminders_run(today=date(2024, 2, 3))
    second = reminders_run(today=date(2024, 2, 3))
    assert first.summary == {"found": 1, "closed": 0, "emailed": 1}
    assert second.summary == {"found": 0, "closed": 0, "emailed": 0}
    (message,) = mail.outbox
    assert message.to == ["ops@example.com", "cfo@example.com"]
    assert f"Payment past due: {note.number} (Ann Lee): 2,200.00 past due since 2024-02-02." in message.body
    assert Reminder.objects.get().emailed_at is not None


def test_a_reminder_not_emailed_because_mail_failed_goes_out_next_time(make_note, settings):
    make_note()
    close_books(through=date(2024, 2, 2))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    run = reminders_run(today=date(2024, 2, 3))
    assert run.failures and Reminder.objects.get().emailed_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert reminders_run(today=date(2024, 2, 4)).summary == {"found": 0, "closed": 0, "emailed": 1}
    assert len(mail.outbox) == 1
