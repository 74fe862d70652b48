"""The statement as a holder receives it: who gets one, the e-mail's headers and parts, and the
PDF's words and figures."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from holders.models import Holder
from servicing import approvals, clock, lifecycle, services
from servicing.close import close_books
from servicing.deliveries import statements_run
from servicing.documents import statement_produce
from servicing.models import StatementDelivery
from servicing.statements import notes_to_report, statement_for
from tests.factories import DefaultEventFactory, HolderFactory, IssuerFactory, PaymentFactory
from tests.helpers import pdf_text

pytestmark = pytest.mark.django_db
FEBRUARY, MARCH = date(2024, 2, 1), date(2024, 3, 1)


def run(month, capture):
    with capture(execute=True):
        return statements_run(month=month)


def test_a_holder_whose_note_was_converted_in_full_gets_no_later_statement(
    make_note, holder, staff, approver, django_capture_on_commit_callbacks
):
    note = make_note()
    with clock.pinned(date(2024, 2, 15)):
        conversion = services.conversion_record(
            note=note, notice_sent=date(2024, 2, 15), method="telecopy", principal=None, by=staff
        )
        approvals.approve(conversion, by=approver)
    close_books(through=date(2024, 4, 1))
    # February: the conversion is reported, and the note says how it ended.
    (line,) = statement_for(holder, FEBRUARY).notes
    assert line.status.word == "converted" and line.closing.owed == 0
    # March: every account sums to zero (its interest, on SQLite, to "-0.00" before MoneySum's cents).
    assert not notes_to_report(MARCH).filter(pk=note.pk).exists()
    assert statement_for(holder, MARCH).notes == []
    assert run(MARCH, django_capture_on_commit_callbacks).summary["deliveries_created"] == 0
    assert mail.outbox == [] and not StatementDelivery.objects.exists()


def test_only_holders_with_something_to_report_get_an_email(make_note, django_capture_on_commit_callbacks):
    make_note()
    idle = HolderFactory(name="Idle Holder", email="idle@example.com")  # holds nothing
    close_books(through=MARCH)
    run(FEBRUARY, django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]
    with pytest.raises(ValidationError, match="Idle Holder has nothing to report for February 2024"):
        statement_produce(holder=idle, month=FEBRUARY)
    assert not idle.documents.exists()


@pytest.fixture
def two_issuers(make_note, holder, staff, approve, approver):
    """Ann holds a note of Innovo Group Inc. (February's interest paid on 1 March, the statement
    date) and one of Other Corp.; a participant shares a fifth of the first one's payments, and a
    warrant of Innovo's expires in April."""
    first = make_note()
    other = make_note(issuer=IssuerFactory(name="Other Corp."))
    elm = HolderFactory(name="Elm Street Credit Fund", email="credit@elm.example")
    approve(lifecycle.participation_record(note=first, participant=elm, share=D("0.2"), starts_on=FEBRUARY, by=staff))
    for day, amount in ((FEBRUARY, D("2200.00")), (MARCH, D("2900.00"))):
        PaymentFactory(note=first, received_on=day, amount=amount, reference="wire 7", approved_by=approver)
    lifecycle.warrant_issue(
        issuer=first.issuer,
        holder=holder,
        note=first,
        number="ANN-W7",
        shares=25_000,
        exercise_price=D("2.5"),
        issued_on=date(2024, 1, 10),
        expires_on=date(2024, 4, 30),
    )
    close_books(through=MARCH)
    return first, other


def test_the_email_names_the_month_notes_and_issuers_and_carries_no_internal_id(
    two_issuers, holder, settings, django_capture_on_commit_callbacks
):
    first, other = two_issuers
    settings.STATEMENT_FROM_EMAIL = "Note Servicing <servicing@example.com>"
    settings.STATEMENT_REPLY_TO = "desk@example.com"
    Holder.objects.filter(pk=holder.pk).update(name="Ann <img src=http://127.0.0.1:1/>\nLee")  # stored before the check
    run(FEBRUARY, django_capture_on_commit_callbacks)
    (message,) = [m for m in mail.outbox if m.to == ["ann@example.com"]]
    assert message.subject == (
        f"Statement for February 2024 — Note {first.number}, Innovo Group Inc.; Note {other.number}, Other Corp."
    )
    assert (message.from_email, message.reply_to) == ("Note Servicing <servicing@example.com>", ["desk@example.com"])
    headers = message.message()
    assert headers["From"] == "Note Servicing <servicing@example.com>" and headers["Reply-To"] == "desk@example.com"
    # No X-Statement, nor any other header of ours: only those every message has.
    assert "X-Statement" not in headers
    assert sorted(headers.keys()) == ["Content-Type", "Date", "From", "MIME-Version", "Message-ID", "Reply-To"] + [
        "Subject",
        "To",
    ]
    # The plain text: $ amounts, what is due and when, the servicer's contact.
    body = message.body
    assert "Past due, due now: $" in body  # the other note was never paid
    assert settings.SERVICER_PHONE in body and settings.SERVICER_EMAIL in body and "within 30 days" in body
    # The HTML alternative, with the holder's name escaped, and the PDF.
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    assert "Dear Ann &lt;img src=http://127.0.0.1:1/&gt;\nLee," in html and "<img" not in html
    ((name, pdf, kind),) = message.attachments
    assert (name, kind) == ("statement-2024-02.pdf", "application/pdf") and pdf.startswith(b"%PDF")


def test_the_pdf_holds_the_figures_names_and_contacts_and_no_blanks(two_issuers, holder, settings):
    first, other = two_issuers
    text = pdf_text(statement_produce(holder=holder, month=FEBRUARY).pdf.read())
    for words in (
        "Ann Lee",
        "Statement date: March 1, 2024",
        "Covers February 2 – March 1, 2024",
        "a payment received on the statement date is in the balances and in the list of payments",
        f"Note {first.number}, Innovo Group Inc.",
        f"Note {other.number}, Other Corp.",
        # 1 March: February's 2,900.00, shared 4/5 to Ann and 1/5 to Elm Street.
        "Mar 1, 2024 (wire 7) $2,900.00 $0.00 $2,900.00",
        "Ann Lee 80%, $2,320.00; Elm Street Credit Fund 20%, $580.00",
        "Interest paid in 2024, all notes $5,100.00",  # 2,200.00 and 2,900.00 of the first note
        "ANN-W7 Apr 30, 2024 25,000 $2.500000 Innovo Group Inc. expires within 90 days",  # two-line cells
        "Conversion price $2.000000 per share",
        settings.SERVICER_NAME,
        f"telephone {settings.SERVICER_PHONE}",
        "within 30 days of the statement date",
        settings.SERVICER_PAYMENT_INSTRUCTIONS.split(",")[0],
    ):
        assert words in text, words
    for blank in ("—", "None", "____", "Name and title"):
        assert blank not in text, blank


def test_an_accelerated_note_says_so_and_shows_no_maturity(make_note, holder, approver):
    note = make_note()
    DefaultEventFactory(note=note, kind="insolvency", occurred_on=date(2024, 3, 4), approved_by=approver)
    close_books(through=date(2024, 4, 1))
    (line,) = statement_for(holder, MARCH).notes
    assert line.status.word == "accelerated" and line.status.accelerated_on == date(2024, 3, 4)
    assert line.past_due_since is not None and line.next_due_on != note.maturity_date
    text = pdf_text(statement_produce(holder=holder, month=MARCH).pdf.read())
    assert "Accelerated on March 4, 2024: all principal and interest became due that day." in text
    assert "January 10, 2025" not in text and "Maturity date" not in text
    assert "default interest accrues while an event of default continues at 13% a year" in text.lower()


def test_after_a_merger_the_statement_says_what_the_note_now_converts_into(make_note, holder, staff, approve):
    note = make_note()
    approve(
        lifecycle.corporate_action_record(
            issuer=note.issuer,
            kind="merger",
            effective_on=date(2024, 3, 15),
            successor="Acquirer Holdings Inc.",
            securities=[("Acquirer common stock", D("0.5"))],
            by=staff,
        )
    )
    close_books(through=date(2024, 4, 1))
    (line,) = statement_for(holder, MARCH).notes
    # Half an Acquirer share for each common share a full conversion gives, rounded up.
    assert line.conversion_shares > 0
    assert line.successor == [("Acquirer common stock", (line.conversion_shares + 1) // 2)]
    assert line.successor_since == date(2024, 3, 15)
    text = pdf_text(statement_produce(holder=holder, month=MARCH).pdf.read())
    assert f"{(line.conversion_shares + 1) // 2:,} Acquirer common stock" in text
    assert "supplemental agreement of March 15, 2024 (section 5)" in text
    # February's statement, dated March 1, is before the merger: common shares only.
    (before,) = statement_for(holder, FEBRUARY).notes
    assert before.successor == [] and before.conversion_shares > 0


def test_a_delivery_left_with_nothing_to_report_sends_nothing(make_note, holder):
    from servicing.deliveries import statement_deliver

    make_note()  # funded on 10 January 2024
    close_books(through=MARCH)
    # A delivery with nothing behind it (as a reversal approved after the run would leave one):
    # November 2023, before the note was funded.
    delivery = StatementDelivery.objects.create(holder=holder, month=date(2023, 11, 1), email=holder.email)
    assert statement_deliver(delivery.pk).status == "gave_up"
    delivery.refresh_from_db()
    assert delivery.last_error == "nothing to report for the month: no statement made"
    assert delivery.document is None and mail.outbox == []
