"""The monthly statement: its figures, and the run that e-mails it once to each holder."""

import dataclasses
from datetime import date, datetime, timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from servicing import clock, engine, lifecycle
from servicing.close import close_books
from servicing.deliveries import retry_due, statement_deliver, statements_due, statements_run
from servicing.documents import statement_produce
from servicing.models import StatementDelivery
from servicing.quotes import payoff_quote
from servicing.selectors import note_events, note_terms
from servicing.statements import statement_for
from tests.factories import HolderFactory, PaymentFactory
from tests.helpers import pdf_pages, pdf_text

pytestmark = pytest.mark.django_db
FEBRUARY = date(2024, 2, 1)


MARCH_1 = date(2024, 3, 1)  # February's statement date, a Friday: its interest is billed and due that day


@pytest.fixture
def february(make_note, staff, approve, approver):
    """January's interest paid on 1 February; 65,000.00 assigned on 15 February; February's interest
    paid on 1 March, the statement date; closed through 1 March."""
    note = make_note()
    bea = HolderFactory(name="Bea Assignee", email="bea@example.com")
    PaymentFactory(note=note, received_on=FEBRUARY, amount=D("2200.00"), approved_by=approver)
    with clock.pinned(date(2024, 2, 15)):
        approve(
            lifecycle.assignment_record(
                note=note, effective_on=date(2024, 2, 15), parts=[(bea, D("65000.00"))], by=staff
            )
        )
    PaymentFactory(note=note, received_on=MARCH_1, amount=D("2632.88"), approved_by=approver)
    close_books(through=MARCH_1)
    return note


def test_the_statement_shows_the_months_principal_interest_payments_and_assignments(february, holder):
    statement = statement_for(holder, FEBRUARY)
    assert (statement.first_day, statement.as_of) == (date(2024, 2, 2), MARCH_1)
    (line,) = statement.notes
    assert (line.opening_principal, line.closing_principal) == (D("365000.00"), D("300000.00"))
    # 14 days at 100.00 and 15 at 300,000.00 × 10 % / 365 = 82.191780…: 2,632.876… rounded once.
    assert [(p.start, p.end, p.due_date, p.interest) for p in line.periods] == [
        (date(2024, 2, 1), date(2024, 2, 29), MARCH_1, D("2632.88"))
    ]
    assert line.assigned_out == [(date(2024, 2, 15), D("65000.00"), "Bea Assignee")]
    assert (line.past_due, line.interest_due, line.closing.unapplied) == ([], D("0.00"), D("0.00"))
    # A conversion on 2 March converts principal and 1 March's interest, 82.19: 150,041.095 shares at 2.00.
    assert (line.conversion_amount, line.conversion_shares) == (D("300082.19"), 150_042)
    assert line.payoff.on == date(2024, 3, 2) and line.payoff.amount == D("300082.19")
    assert line.payoff == payoff_quote(february, date(2024, 3, 2))  # the note page's quote, replayed in full
    assert line.interest_paid_this_year == D("4832.88")  # 2,200.00 on 1 February and 2,632.88 on 1 March
    assert line.status.word == "current"


def test_a_payment_on_the_statement_date_is_in_the_balances_and_in_the_list(february, holder):
    (line,) = statement_for(holder, FEBRUARY).notes
    assert [(p.applied.date, p.applied.amount, p.applied.to_interest) for p in line.payments] == [
        (MARCH_1, D("2632.88"), D("2632.88"))
    ]
    assert line.closing.interest == D("0.00") and line.paid == D("2632.88")
    # The payment of 1 February is January's statement's (its statement date), not February's.
    (january,) = statement_for(holder, date(2024, 1, 1)).notes
    assert [p.applied.date for p in january.payments] == [FEBRUARY]
    # One statement ends where the next begins.
    assert dataclasses.replace(january.closing, label="") == dataclasses.replace(line.opening, label="")


def test_the_reconciliation_adds_up_to_the_engines_balances(february, holder):
    (line,) = statement_for(holder, FEBRUARY).notes
    # By hand: opening at the end of 1 February (January's 2,200.00 billed and paid that day), then
    # the assignment, February's bill and its payment on 1 March.
    assert [(m.label, m.principal, m.interest) for m in line.movements] == [
        ("Interest billed", D("0.00"), D("2632.88")),
        ("Payments received", D("0.00"), D("-2632.88")),
        ("Assigned", D("-65000.00"), D("0.00")),
    ]
    assert (line.opening.principal, line.opening.interest, line.opening.owed) == (
        D("365000.00"),
        D("0.00"),
        D("365000.00"),
    )
    for account in ("principal", "interest", "default_interest", "costs", "unapplied"):
        total = getattr(line.opening, account) + sum(getattr(m, account) for m in line.movements)
        assert total == getattr(line.closing, account), account
    # The closing balance is the engine's own replay of the note through the statement date.
    b = engine.run(note_terms(february), note_events(february), MARCH_1).balances
    assert (line.closing.principal, line.closing.interest, line.closing.unapplied) == (
        b.principal,
        b.interest_due,
        b.unapplied,
    )


def test_the_assignee_gets_a_statement_of_the_substitute_note(february):
    bea = february.substitutes.get().holder
    (line,) = statement_for(bea, FEBRUARY).notes
    assert line.assigned_in == (date(2024, 2, 15), february.number)
    assert (line.opening_principal, line.closing_principal) == (D("0.00"), D("65000.00"))
    assert [(m.label, m.principal) for m in line.movements][0] == ("Funded", D("65000.00"))
    assert [p.interest for p in line.periods] == [D("267.12")]  # 15 days × 17.808219…


def test_past_due_amounts_are_listed_with_their_due_dates(make_note, holder):
    note = make_note()
    close_books(through=MARCH_1)
    (line,) = statement_for(holder, FEBRUARY).notes
    # At the end of 1 March both bills are unpaid after their due dates.
    assert [(x.due, x.what, x.interest) for x in line.past_due] == [
        ("Feb 1, 2024", "From Jan 10, 2024", D("2200.00")),  # the first period, from the agreement date
        ("Mar 1, 2024", "February 2024", D("2900.00")),
    ]
    state = engine.run(note_terms(note), note_events(note), MARCH_1).state
    assert (
        line.past_due_total
        == sum(x.total for x in line.past_due)
        == engine.defaults.past_due(state, date(2024, 3, 2))[0]
    )
    assert line.status.word == "in default" and line.status.default_rate == D("0.13")


def test_past_due_periods_of_earlier_years_are_one_line_a_year(make_note, holder):
    make_note()  # never paid: 10 January 2024 to maturity on 10 January 2025
    close_books(through=date(2026, 3, 1))
    (line,) = statement_for(holder, date(2026, 2, 1)).notes
    rows = [(x.due, x.what) for x in line.past_due]
    # January to November 2024 were due in 2024: 326 days at 100.00.
    assert rows[0] == ("in 2024", "11 interest periods") and line.past_due[0].interest == D("32600.00")
    assert rows[1][0] == "in 2025" and rows[-1] == ("Jan 10, 2025", "Principal")
    assert [due for due, _ in rows[2:-1]] == ["Jan 2, 2026", "Feb 2, 2026"]  # this year's, each on its line
    assert line.past_due_total == sum(x.total for x in line.past_due)
    assert line.status.word == "matured" and "Matured on January 10, 2025" in line.status.text


def test_the_statement_run_emails_one_pdf_per_holder_once(february, holder, django_capture_on_commit_callbacks):
    number = february.number
    with django_capture_on_commit_callbacks(execute=True):
        run = statements_run(month=FEBRUARY)
    run.refresh_from_db()  # the tasks ran after commit, and ended the run
    assert run.summary == {
        "month": "2024-02",
        "deliveries_created": 2,
        **{"queued": 2, "sent": 2, "failed": 0, "given_up": 0, "skipped": 0, "passed_on": 0, "waiting": 0},
    }
    assert (run.state, run.failures) == ("finished", [])
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.com", "bea@example.com"]
    message = next(m for m in mail.outbox if m.to == ["ann@example.com"])
    assert (
        f"Note {number} (Innovo Group Inc.): current; principal $300,000.00; past due $0.00; "
        "nothing billed falls due later."
    ) in message.body
    (name, content, mimetype) = message.attachments[0]
    assert (name, mimetype) == ("statement-2024-02.pdf", "application/pdf")
    text = pdf_text(content)
    assert "Assigned on February 15, 2024: principal $65,000.00 to Bea Assignee" in text
    assert "Feb 1 – Feb 29, 2024 29 Mar 1, 2024 $2,632.88" in text
    assert "Mar 1, 2024 $2,632.88 $0.00 $2,632.88" in text  # the payment on the statement date
    assert all(d.status == "sent" and d.attempts == 1 for d in StatementDelivery.objects.all())

    with django_capture_on_commit_callbacks(execute=True):
        again = statements_run(month=FEBRUARY)
    assert again.summary["deliveries_created"] == 0 and len(mail.outbox) == 2  # nothing new


def test_a_holder_without_an_email_address_is_left_visible(make_note, holder, django_capture_on_commit_callbacks):
    holder.email = ""
    holder.save()
    make_note()
    close_books(through=date(2024, 3, 1))
    with django_capture_on_commit_callbacks(execute=True):
        statements_run(month=FEBRUARY)
    delivery = StatementDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("gave_up", "the holder has no e-mail address; send it by post")
    assert delivery.document is not None
    # No statement went out: the staff were told, of the statement given up and of the run that failed.
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["servicing@localhost"], "Statement given up: Ann Lee, February 2024"),
        (["servicing@localhost"], "Job run failed: statements (1 failure(s))"),
    ]


def test_a_failed_email_is_retried_with_backoff_then_given_up(make_note, settings, django_capture_on_commit_callbacks):
    make_note()
    close_books(through=date(2024, 3, 1))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    settings.STATEMENT_MAX_ATTEMPTS, settings.STATEMENT_RETRY_SECONDS = 3, 60
    start = datetime(2024, 3, 4, 9, 0).astimezone()
    with time_machine.travel(start, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            statements_run(month=FEBRUARY)
        delivery = StatementDelivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("failed", 1)
        assert "Connection refused" in delivery.last_error or "Errno" in delivery.last_error
        assert delivery.next_attempt_at == start + timedelta(seconds=60)
        assert statement_deliver(delivery.pk).status == "skipped"  # not due yet
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert statement_deliver(delivery.pk).retry_in == 120  # second failure: twice as long
    with time_machine.travel(start + timedelta(seconds=200), tick=False):
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        with django_capture_on_commit_callbacks(execute=True):
            assert retry_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(mail.outbox)) == ("sent", 3, 1)


def test_the_third_failure_gives_up(make_note, settings):
    make_note()
    close_books(through=date(2024, 3, 1))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    settings.STATEMENT_MAX_ATTEMPTS, settings.STATEMENT_RETRY_SECONDS = 2, 0
    statements_run(month=FEBRUARY, enqueue=lambda pk: None)
    delivery = StatementDelivery.objects.get()
    statement_deliver(delivery.pk)
    statement_deliver(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("gave_up", 2)
    assert statement_deliver(delivery.pk).status == "skipped"


def test_send_statements_command_names_a_bad_month(capsys):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--month: '2024-13' is not a month"):
        call_command("send_statements", "--month", "2024-13")


def test_statements_are_due_on_the_first_business_day_after_the_close_bills_the_month(make_note):
    make_note()
    assert statements_due(date(2024, 3, 1)) is None  # the close through 1 March has not run
    close_books(through=date(2024, 3, 1))
    assert statements_due(date(2024, 3, 2)) is None  # a Saturday
    assert statements_due(date(2024, 3, 4)) == FEBRUARY
    statements_run(month=FEBRUARY, enqueue=lambda pk: None)
    assert statements_due(date(2024, 3, 5)) is None  # done


def test_a_statement_that_fails_to_print_is_recorded_and_retried(make_note, monkeypatch, settings):
    make_note()
    close_books(through=date(2024, 3, 1))
    statements_run(month=FEBRUARY, enqueue=lambda pk: None)
    delivery = StatementDelivery.objects.get()

    def broken(**kwargs):
        raise RuntimeError("the printer is on fire")

    monkeypatch.setattr("servicing.deliveries.statement_produce", broken)
    outcome = statement_deliver(delivery.pk)
    delivery.refresh_from_db()
    assert (outcome.status, delivery.status, delivery.last_error) == (
        "failed",
        "failed",
        "RuntimeError: the printer is on fire",
    )
    assert mail.outbox == []
    assert outcome.retry_in == settings.STATEMENT_RETRY_SECONDS and delivery.next_attempt_at is not None
    monkeypatch.undo()  # the printer mended
    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1), tick=False):
        assert statement_deliver(delivery.pk).status == "sent"
    assert len(mail.outbox) == 1


def test_twenty_years_of_default_fit_on_a_few_pages_with_headings_on_each(make_note, holder):
    make_note()  # never paid: past due since February 2024, matured January 2025
    close_books(through=date(2044, 3, 1))
    (line,) = statement_for(holder, date(2044, 2, 1)).notes
    assert [x.due for x in line.past_due][:3] == ["in 2024", "in 2025", "in 2026"]
    # 2024–2043 a line each; those due in 2044 (December's on January 4, January's on February 1,
    # February's on March 1, the statement date) each on its own; principal.
    assert len(line.past_due) == 20 + 3 + 1
    pages = pdf_pages(statement_produce(holder=holder, month=date(2044, 2, 1)).pdf.read())
    assert len(pages) <= 3
    # Every page the past-due table runs onto has its headings ("Default interest" wraps in its cell).
    showing = [" ".join(p.split()) for p in pages if "interest periods" in p]
    assert showing and all("Due Past due for Interest" in p for p in showing)
