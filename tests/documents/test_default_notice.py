"""The holder's notice of default and acceleration (section 7): dated one day, produced only while an
Event of Default continues on it, its figures as of the end of that day.

The note is NoteFactory's: 365,000.00 at 10 % from 10 January 2024 (100.00 a day, Actual/365), here
with a 2 % default spread (12 % default rate; the spread on principal is 365,000 × 2 % / 365 = 20.00
a day). January's interest, 10–31 January (22 days), 2,200.00, is billed on 1 February and due
that day (a Thursday); unpaid, the note is in payment default from 2 February.
"""

import re
from datetime import date
from decimal import Decimal as D

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from servicing import clock, documents, services
from servicing.models import Document
from tests.factories import UserFactory
from tests.helpers import pdf_pages, pdf_text, refused

pytestmark = pytest.mark.django_db

BLANKS = ("—", "None", "____", "Name and title")


@pytest.fixture
def late_note(make_note, innovo):
    return make_note(issuer=innovo, default_rate_spread=D("0.02"))


def produce(note, on, **kw):
    with clock.pinned(on):
        document = documents.default_notice_produce(note=note, **kw)
    return document, pdf_text(document)


def flat(text: str) -> str:
    return " ".join(text.split())


def footers_of(document) -> set[str]:
    """The footer of each page: its last line, without "Page n of m" beside it."""
    return {re.split(r"\s{2,}", page.strip().splitlines()[-1])[0] for page in pdf_pages(document)}


def test_it_names_the_missed_payment_and_the_default_rate_from_the_note(late_note):
    document, text = produce(late_note, date(2024, 3, 20), as_of=date(2024, 2, 15))
    words = flat(text)
    assert "Date: February 15, 2024" in words
    assert "NOTICE OF DEFAULT" in words and "ACCELERATION" not in words
    assert "1. Non-payment of principal or interest (Section 7(a)(i))" in words
    assert "Interest, January 10 to 31, 2024 February 1, 2024 $2,200.00" in words
    assert "Past due at the end of February 15, 2024 $2,200.00" in words
    assert "has continued since February 2, 2024" in words
    assert "until the Company pays the past-due amount of $2,200.00" in words
    assert "(ii) two percent (2%) above the interest rate" in words
    assert "that rate is 12% a year (10% plus 2%)" in words
    assert "three percent" not in words
    assert "This notice does not accelerate the loan." in words
    for blank in BLANKS:
        assert blank not in text


def test_its_amounts_are_as_of_its_date_and_leave_out_a_later_payment(late_note, staff, approve):
    with clock.pinned(date(2024, 2, 20)):
        approve(services.payment_record(note=late_note, received_on=date(2024, 2, 20), amount=D("5000.00"), by=staff))
    _, text = produce(late_note, date(2024, 3, 20), as_of=date(2024, 2, 15))
    words = flat(text)
    # At the end of 15 February: January's 2,200.00 billed and unpaid; 1–15 February accrued,
    # 15 × 100.00 = 1,500.00; default interest of 2–15 February, 14 days of 20.00 on principal and
    # 12 % on the 2,200.00 past due: 14 × (7,300 + 264) / 365 = 290.126… → 290.13.
    assert "Amounts owing as of the end of February 15, 2024" in words
    assert "Principal outstanding $365,000.00" in words
    assert "Interest billed and unpaid $2,200.00" in words
    assert "Default interest billed and unpaid $0.00" in words
    assert "Interest accrued from February 1, 2024, not yet billed $1,500.00" in words
    assert "Default interest accrued from February 1, 2024, not yet billed $290.13" in words
    assert "Less funds received and not yet applied $0.00" in words
    assert "Total owing at the end of February 15, 2024 $368,990.13" in words
    assert "$5,000.00" not in words and "received and not yet applied $0.00" in words


def test_it_is_refused_once_the_default_is_cured_and_nothing_is_stored(late_note, staff, approve):
    with clock.pinned(date(2024, 2, 20)):
        approve(services.payment_record(note=late_note, received_on=date(2024, 2, 20), amount=D("5000.00"), by=staff))
    with (
        clock.pinned(date(2024, 2, 21)),
        refused(
            "as_of",
            "no Event of Default continues on February 21, 2024",
            "the payment default from February 2, 2024 was cured on February 20, 2024",
            unchanged=Document.objects.count,
        ),
    ):
        documents.default_notice_produce(note=late_note)


def test_it_is_refused_before_any_default(late_note, staff, approve):
    with clock.pinned(date(2024, 1, 25)):
        approve(services.default_record(note=late_note, kind="covenant", occurred_on=date(2024, 1, 22), by=staff))
    with (
        clock.pinned(date(2024, 1, 25)),
        refused(
            "as_of",
            "no Event of Default continues on January 25, 2024: none has occurred; the covenant breach of "
            "January 22, 2024 becomes one if it continues through January 29, 2024 (Section 7(a)(ii))",
        ),
    ):
        documents.default_notice_produce(note=late_note)
    assert not Document.objects.exists()


def test_it_refuses_a_date_in_the_future_or_before_the_agreement(late_note):
    with clock.pinned(date(2024, 3, 1)), refused("as_of", "2024-03-02 is in the future"):
        documents.default_notice_produce(note=late_note, as_of=date(2024, 3, 2))
    with clock.pinned(date(2024, 3, 1)), refused("as_of", "before the agreement date 2024-01-10"):
        documents.default_notice_produce(note=late_note, as_of=date(2024, 1, 9))
    # The note is replayed through 20 years after its maturity (10 January 2025) and no further.
    with clock.pinned(date(2045, 2, 1)), refused("as_of", "2045-02-01 is past 2045-01-10"):
        documents.default_notice_produce(note=late_note)


def test_cured_defaults_are_history_only(late_note, staff, approve):
    # January's 2,200.00 is paid on 20 February: the payment default of 2–19 February is cured.
    # February's bill on 1 March (interest and the default interest of 2–19 February) goes unpaid.
    with clock.pinned(date(2024, 2, 20)):
        approve(services.payment_record(note=late_note, received_on=date(2024, 2, 20), amount=D("2200.00"), by=staff))
    _, text = produce(late_note, date(2024, 3, 5))
    words = flat(text)
    assert "has continued since March 2, 2024" in words
    assert "Interest, February 1 to 29, 2024 March 1, 2024 $2,900.00" in words
    history = words.split("Earlier Events of Default, since cured or waived", 1)[1]
    assert "Payment default (7(a)(i)) February 2, 2024 Cured on February 20, 2024" in history
    assert "January 10 to 31, 2024" not in words  # the cured default's bill, paid


def test_a_covenant_breach_names_its_cure_period_and_a_waived_one_is_history(late_note, staff, approve):
    with clock.pinned(date(2024, 1, 30)):
        breach = approve(
            services.default_record(
                note=late_note,
                kind="covenant",
                occurred_on=date(2024, 1, 15),
                description="no audited accounts",
                by=staff,
            )
        )
        approve(services.waiver_record(event=breach, waived_on=date(2024, 1, 26), by=staff))
        approve(
            services.default_record(
                note=late_note, kind="covenant", occurred_on=date(2024, 1, 16), description="no insurance", by=staff
            )
        )
        approve(
            services.default_record(
                note=late_note, kind="covenant", occurred_on=date(2024, 1, 29), description="no access", by=staff
            )
        )
    _, text = produce(late_note, date(2024, 1, 30))
    words = flat(text)
    # 16 January (Tuesday) + five business days = 23 January; an Event of Default from the 24th.
    assert "On January 16, 2024 the Company defaulted" in words and ": no insurance." in words
    assert "through January 23, 2024, and has been an Event of Default since January 24, 2024" in words
    assert "1. Breach of covenant (Section 7(a)(ii))" in words
    assert "continues until the Company performs or observes that covenant" in words
    # 29 January (Monday), still within its cure period: notice of it, not as an Event of Default.
    assert "2. Breach of covenant" not in words
    assert "Breach of covenant within its cure period (Section 7(a)(ii))" in words
    assert "on January 29, 2024 the Company defaulted" in words and ": no access." in words
    assert "If that default continues through February 5, 2024 (five business days), it will be" in words
    assert "Covenant breach (7(a)(ii)) January 23, 2024 Waived on January 26, 2024" in words
    assert "no audited accounts" not in words


def test_the_acceleration_notice_declares_and_takes_effect_when_deemed_received(late_note, staff, approve):
    with clock.pinned(date(2024, 2, 15)):
        notice = approve(
            services.acceleration_record(
                note=late_note, notice_sent=date(2024, 2, 15), method="overnight_courier", by=staff
            )
        )
    document, text = produce(late_note, date(2024, 3, 1), acceleration_notice=notice)
    words = flat(text)
    assert "NOTICE OF DEFAULT AND ACCELERATION" in words
    assert "Date: February 15, 2024" in words
    assert (
        "the Holder hereby declares the unpaid principal amount of the loan to be, and the same shall "
        "forthwith become, due and payable, together with the interest accrued thereon" in words
    )
    # Sent by overnight courier on Thursday 15 February: deemed received the next business day (8(b)).
    assert "This declaration takes effect on February 16, 2024" in words
    assert "Amounts owing as of the end of February 15, 2024" in words
    title = f"Notice of Default and Acceleration · {late_note.number} · February 15, 2024"
    assert footers_of(document) == {title} and document.title == title
    for blank in BLANKS:
        assert blank not in text


def test_a_declaration_effective_on_its_date_rests_on_the_defaults_before_it(late_note, staff, approve):
    """By telecopy the declaration takes effect the day it is sent: what it makes due (the principal,
    the open period's interest) is what it declares, not a payment the Company failed to make."""
    with clock.pinned(date(2024, 2, 15)):
        notice = approve(
            services.acceleration_record(note=late_note, notice_sent=date(2024, 2, 15), method="telecopy", by=staff)
        )
    _, text = produce(late_note, date(2024, 2, 16), acceleration_notice=notice)
    words = flat(text)
    assert "This declaration takes effect on February 15, 2024" in words
    assert "Interest, January 10 to 31, 2024 February 1, 2024 $2,200.00" in words
    assert "due on acceleration" not in words
    # Owing before it takes effect: the principal, and January's 2,200.00 billed (February's interest
    # is accrued, not billed: the declaration has not yet made it due).
    assert "Principal outstanding $365,000.00" in words
    assert "Interest billed and unpaid $2,200.00" in words


def test_an_automatic_acceleration_is_stated_as_having_occurred(late_note, staff, approve):
    with clock.pinned(date(2024, 3, 20)):
        approve(services.default_record(note=late_note, kind="insolvency", occurred_on=date(2024, 3, 4), by=staff))
    document, text = produce(late_note, date(2024, 3, 20))
    words = flat(text)
    assert "NOTICE OF DEFAULT AND ACCELERATION" in words
    assert "Insolvency (Section 7(a)(iii))" in words
    assert "became automatically and immediately due and payable on March 4, 2024" in words
    assert "Principal, due on acceleration March 4, 2024 $365,000.00" in words
    # Billed at the acceleration: January's 2,200.00, February's 2,900.00 and 1–3 March's 300.00;
    # default interest of 2–29 February, 28 days of 20.00 on principal and 12 % on January's 2,200.00
    # past due, 28 × (7,300 + 264) / 365 = 580.252… → 580.25, and of 1–3 March, 7,564 on the 1st and
    # 7,300 + 12 % of 5,100.00 = 7,912 on the 2nd and 3rd, 23,388 / 365 = 64.076… → 64.08: 644.33.
    assert "Interest billed and unpaid $5,400.00" in words
    assert "Default interest billed and unpaid $644.33" in words
    assert "hereby declares" not in words
    assert footers_of(document) == {f"Notice of Default and Acceleration · {late_note.number} · March 20, 2024"}


def test_the_footer_and_title_name_the_notice_as_titled(late_note):
    document, text = produce(late_note, date(2024, 2, 15))
    title = f"Notice of Default · {late_note.number} · February 15, 2024"
    assert footers_of(document) == {title}
    assert document.title == title and f"<title>{title}</title>" in document.html
    assert "NOTICE OF DEFAULT" in text and "ACCELERATION" not in text


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_note_page_produces_it_dated_the_day_staff_choose_and_shows_a_refusal(client, late_note):
    client.force_login(UserFactory(username="producer", roles=["admin"]))
    url = reverse("servicing:produce", args=[late_note.pk, "default_notice"])
    with clock.pinned(date(2024, 3, 20)):
        produced = client.post(url, {"as_of": "2024-02-15"})
        refused_page = client.post(url, {"as_of": "2024-01-20"})
        bad = client.post(url, {"as_of": "15/02/2024"})
    assert produced.status_code == 302
    document = Document.objects.get()
    assert document.title == f"Notice of Default · {late_note.number} · February 15, 2024"
    assert any("no Event of Default continues on January 20, 2024" in m for m in _messages(refused_page))
    assert any("'15/02/2024' is not a date" in m for m in _messages(bad))
    assert Document.objects.count() == 1


def test_the_note_page_names_a_long_text_given_as_the_date_only_by_its_beginning(client, late_note):
    client.force_login(UserFactory(username="producer", roles=["admin"]))
    url = reverse("servicing:produce", args=[late_note.pk, "default_notice"])
    (message,) = _messages(client.post(url, {"as_of": "2024-02-15" + "9" * 100_000}))
    assert message.startswith("the date of the notice '2024-02-159999") and "is not a date (YYYY-MM-DD)" in message
    assert len(message) < 120 and not Document.objects.exists()


def test_the_admin_action_asks_for_the_date_of_the_notice(admin_client, late_note):
    url = reverse("admin:notes_note_changelist")
    chosen = {"action": "produce_default_notice", "_selected_action": [late_note.pk]}
    with clock.pinned(date(2024, 3, 20)):
        asked = admin_client.post(url, chosen)
        assert "Date of the notice" in asked.content.decode() and not Document.objects.exists()
        admin_client.post(url, chosen | {"_confirm": "1", "as_of": "2024-02-15"})
    assert Document.objects.get().title == f"Notice of Default · {late_note.number} · February 15, 2024"


def test_it_refuses_to_declare_an_acceleration_that_has_no_effect(late_note, staff, approve):
    with clock.pinned(date(2024, 3, 20)):
        approve(services.default_record(note=late_note, kind="insolvency", occurred_on=date(2024, 3, 4), by=staff))
        notice = approve(
            services.acceleration_record(note=late_note, notice_sent=date(2024, 3, 18), method="telecopy", by=staff)
        )
    notice.refresh_from_db()
    with clock.pinned(date(2024, 3, 20)), refused("acceleration_notice", "has no effect"):
        documents.default_notice_produce(note=late_note, acceleration_notice=notice)
    assert not Document.objects.exists()
