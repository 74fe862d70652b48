"""Reminders follow the facts: each closes itself when what it is about ends, and says why; the
badge counts business days from today."""

from datetime import date
from decimal import Decimal as D

import pytest

from notes.models import Note
from servicing import clock, services
from servicing.close import close_books
from servicing.dashboard import dashboard
from servicing.engine.calendar import business_days_until
from servicing.models import Reminder
from servicing.reminders import badge, reminders_found, reminders_run

pytestmark = pytest.mark.django_db


def closed(kind):
    r = Reminder.objects.get(kind=kind)
    return r.closed_at is not None, r.closed_reason


def test_a_past_due_reminder_closes_when_the_note_is_paid_and_says_when(make_note, staff, approve):
    note = make_note()
    close_books(through=date(2024, 2, 2))
    reminders_run(today=date(2024, 2, 3))
    assert closed("past_due") == (False, "")
    with clock.pinned(date(2024, 2, 5)):
        approve(services.payment_record(note=note, received_on=date(2024, 2, 5), amount=D("2300.00"), by=staff))
        # Off the dashboard as soon as the payment is approved, before any run.
        assert [r.kind for r in dashboard(date(2024, 2, 5)).reminders] == []
    assert Note.objects.get(pk=note.pk).past_due == 0
    run = reminders_run(today=date(2024, 2, 5))
    assert run.summary["closed"] == 1
    assert closed("past_due") == (True, "paid on 2024-02-05")


def test_a_page_finds_again_only_the_reminders_of_the_notes_it_shows(make_note):
    first, second = make_note(), make_note()
    close_books(through=date(2024, 2, 2))
    found = {r.note_id for r in reminders_found(date(2024, 2, 3), {first.pk})}
    assert found == {first.pk}
    assert {r.note_id for r in reminders_found(date(2024, 2, 3))} == {first.pk, second.pk}


def test_a_cure_deadline_reminder_closes_when_the_breach_is_cured(make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 3, 4)):
        event = approve(services.default_record(note=note, kind="covenant", occurred_on=date(2024, 3, 1), by=staff))
        reminders_run(today=date(2024, 3, 4))
    assert closed("cure_deadline") == (False, "")
    with clock.pinned(date(2024, 3, 5)):
        approve(services.cure_record(event=event, cured_on=date(2024, 3, 5), by=staff))
        reminders_run(today=date(2024, 3, 5))
    assert closed("cure_deadline") == (True, "cured on 2024-03-05")


def test_an_interest_reminder_closes_when_the_note_converts(make_note, staff, approve):
    note = make_note()
    close_books(through=date(2024, 1, 23))
    reminders_run(today=date(2024, 1, 25))
    assert closed("interest_due") == (False, "")
    with clock.pinned(date(2024, 1, 26)):
        approve(services.conversion_record(note=note, notice_sent=date(2024, 1, 25), method="telecopy", by=staff))
        reminders_run(today=date(2024, 1, 26))
    assert Note.objects.get(pk=note.pk).principal_outstanding == 0
    assert closed("interest_due") == (True, "converted on 2024-01-25")


def test_a_maturity_reminder_closes_when_the_note_has_matured(make_note):
    make_note()  # matures 2025-01-10
    reminders_run(today=date(2025, 1, 3))
    assert sorted(r.kind for r in Reminder.objects.filter(closed_at__isnull=True)) == ["maturity_30", "maturity_7"]
    reminders_run(today=date(2025, 1, 10))  # the day itself: still coming due
    assert closed("maturity_7") == (False, "")
    reminders_run(today=date(2025, 1, 11))
    assert closed("maturity_7") == (True, "matured on 2025-01-10")
    assert closed("maturity_30") == (True, "matured on 2025-01-10")


def test_a_window_reminder_closes_when_the_window_has_ended(make_note, staff, approve):
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
    reminders_run(today=date(2024, 4, 15))
    reminders_run(today=date(2024, 4, 17))  # its last day
    assert closed("window_closing") == (False, "")
    reminders_run(today=date(2024, 4, 18))
    assert closed("window_closing") == (True, "window ended 2024-04-17")


def test_a_closed_reminder_is_not_emailed(make_note, staff, approve, settings):
    note = make_note()
    close_books(through=date(2024, 2, 2))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    reminders_run(today=date(2024, 2, 3))  # found, the e-mail fails
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with clock.pinned(date(2024, 2, 5)):
        approve(services.payment_record(note=note, received_on=date(2024, 2, 5), amount=D("2300.00"), by=staff))
    assert reminders_run(today=date(2024, 2, 5)).summary == {"found": 0, "closed": 1, "emailed": 0}


@pytest.mark.parametrize(
    ("today", "due", "n"),
    [
        (date(2026, 11, 27), date(2026, 12, 1), 2),  # Friday to Tuesday: Monday and Tuesday
        (date(2024, 8, 30), date(2024, 9, 3), 1),  # Friday to Tuesday across Labor Day (2 September)
        (date(2026, 11, 20), date(2026, 11, 27), 4),  # a week across Thanksgiving (26 November)
        (date(2026, 11, 27), date(2026, 11, 27), 0),
        (date(2026, 11, 27), date(2026, 11, 29), 0),  # a Sunday: no business day before it
    ],
)
def test_business_days_until_counts_the_business_days_after_today_through_the_due_day(today, due, n):
    assert business_days_until(today, due, "XFED") == n


def test_each_badge_says_what_is_true_on_the_day_it_is_read():
    interest = Reminder(kind=Reminder.Kind.INTEREST_DUE, due_on=date(2026, 12, 1))
    assert badge(interest, date(2026, 11, 27)) == "due in 2 business days"  # the Friday before
    assert badge(interest, date(2026, 11, 30)) == "due in 1 business day"
    assert badge(interest, date(2026, 12, 1)) == "due today"
    assert badge(Reminder(kind=Reminder.Kind.WARRANT_EXPIRING, due_on=date(2024, 9, 3)), date(2024, 8, 30)) == (
        "due in 1 business day"
    )
    late = Reminder(kind=Reminder.Kind.PAST_DUE, due_on=date(2026, 10, 2))
    assert badge(late, date(2026, 11, 27)) == "past due since 2026-10-02"


def test_a_notes_badge_counts_on_the_notes_calendar(make_note):
    note = make_note()
    close_books(through=date(2024, 1, 23))
    reminders_run(today=date(2024, 1, 25))
    (r,) = dashboard(date(2024, 1, 25)).reminders
    # Thursday 25 January to Thursday 1 February: 26, 29, 30, 31 January and 1 February.
    assert (r.kind, r.badge) == ("interest_due", "due in 5 business days")
    assert note.calendar == "XFED"
