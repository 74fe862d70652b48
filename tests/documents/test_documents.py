"""Notices, confirmations and statements: produced from templates, kept, never altered."""

import hashlib
from datetime import date
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from servicing import clock, documents, services
from servicing.models import Document
from tests.factories import ClosingPriceFactory, UserFactory
from tests.helpers import pdf_pages, pdf_text

pytestmark = pytest.mark.django_db


def test_a_document_is_kept_with_its_sha256_and_never_altered(agreement_note):
    first = documents.agreement_produce(note=agreement_note)
    with open(first.pdf.path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == first.sha256
    with pytest.raises(ValueError, match="never altered"):
        first.save()
    with pytest.raises(ValueError, match="never deleted"):
        first.delete()
    with pytest.raises(ValueError, match="never altered"):
        Document.objects.filter(pk=first.pk).update(title="x")
    second = documents.agreement_produce(note=agreement_note)
    assert (first.version, second.version) == (1, 2)
    assert first.pdf.name != second.pdf.name and Document.objects.get(pk=first.pk).sha256 == first.sha256


def test_the_kept_html_holds_its_stylesheet_and_prints_alone_as_the_document_was_printed(agreement_note):
    """The printer is given the stylesheet parsed once instead of the copy in the HTML; the HTML kept
    still has that copy, and WeasyPrint alone prints it line for line as the stored PDF's pages
    before its exhibit (a cover page and the exhibit's two pages)."""
    from weasyprint import HTML

    document = documents.agreement_produce(note=agreement_note)
    assert f"<style>\n{render_to_string(documents.PRINT_CSS)}</style>" in document.html
    alone = pdf_pages(HTML(string=document.html, base_url=str(settings.BASE_DIR)).write_pdf())
    stored = pdf_pages(document)
    assert stored[: len(alone)] == alone and len(stored) == len(alone) + 3


def test_the_conversion_confirmation_shows_the_calculation(make_note, issuer, staff, approve):
    for day, close in ((3, "1.80"), (4, "1.90"), (5, "2.00"), (8, "1.95"), (9, "1.85")):
        ClosingPriceFactory(issuer=issuer, date=date(2024, 1, day), close=D(close))
    note = make_note(conversion_price=None)  # 1.10 × 1.90 = 2.09
    with clock.pinned(date(2024, 2, 20)):
        for day, amount in ((date(2024, 2, 1), D("2200.00")),):
            approve(services.payment_record(note=note, received_on=day, amount=amount, by=staff))
        conversion = approve(
            services.conversion_record(
                note=note, notice_sent=date(2024, 2, 15), method="telecopy", principal=D("100000.00"), by=staff
            )
        )
    conversion.refresh_from_db()
    text = pdf_text(documents.conversion_confirmation_produce(conversion=conversion))
    # 100,000.00 + the interest of 1–14 February (14 days at 100.00) = 101,400.00; ÷ 2.09 = 48,516.7… → 48,517.
    for figure in (
        "Principal converted $100,000.00",
        "Unpaid and accrued interest $1,400.00",
        "Amount converted $101,400.00",
        "January 3, 2024 $1.800000",
        "January 9, 2024 $1.850000",
        "Average of the five closes $1.900000",
        "Premium (Section 4(a)) 110%",
        "Conversion price per share $2.090000",
        "48,517 shares",
        "Conversion Date, February 15, 2024",
        "Principal outstanding after the conversion: $265,000.00",
    ):
        assert figure in text, text


def test_the_prepayment_notice_shows_the_window_and_the_payoff(make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 4, 12)):
        prepayment = approve(
            services.prepayment_record(
                note=note,
                notice_sent=date(2024, 4, 11),
                method="overnight_courier",
                prepayment_date=date(2024, 4, 22),
                principal=D("65000.00"),
                by=staff,
            )
        )
    text = pdf_text(documents.prepayment_notice_produce(prepayment=prepayment))
    # Received 12 April (next business day); window through 17 April (three business days).
    assert "This notice is deemed received (Section 8(b)) April 12, 2024" in text
    assert "Your conversion window closes at the end of April 17, 2024" in text
    # Jan 2,200 + Feb 2,900 + Mar 3,100 billed and unpaid (with default interest), April 1–21: 2,100.00.
    assert "Principal prepaid $65,000.00" in text
    assert "Unpaid and accrued interest $10,300.00" in text


def test_a_document_is_previewed_and_downloaded_by_staff_only(client, agreement_note):
    document = documents.agreement_produce(note=agreement_note)
    preview = reverse("servicing:document_preview", args=[document.pk])
    pdf = reverse("servicing:document_pdf", args=[document.pk])
    assert client.get(preview).status_code == 302  # to the login
    client.force_login(UserFactory(username="outsider"))
    assert client.get(pdf).status_code == 403
    client.force_login(UserFactory(username="viewer", roles=["viewer"]))
    assert "CONVERTIBLE NOTE AGREEMENT" in client.get(preview).content.decode()
    response = client.get(pdf)
    assert response["Content-Type"] == "application/pdf"
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == document.sha256
