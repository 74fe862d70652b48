"""Every document is an archival PDF (issue 12, section 7): PDF/A-3u, tagged, with its title and
author in the metadata, as poppler's pdfinfo reads it."""

import subprocess
from datetime import date
from decimal import Decimal as D

import pytest

from servicing import clock, documents, services
from tests.factories import exhibit_attached, exhibit_pdf

pytestmark = pytest.mark.django_db


def pdfinfo(document) -> dict:
    """pdfinfo's fields ("Title", "Author", "Tagged", "Pages"…) of the document's PDF."""
    out = subprocess.run(["pdfinfo", document.pdf.path], check=True, capture_output=True, text=True).stdout
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in out.splitlines())}


def xmp(document) -> str:
    """The document's XMP metadata, as pdfinfo -meta prints it."""
    return subprocess.run(["pdfinfo", "-meta", document.pdf.path], check=True, capture_output=True, text=True).stdout


def says_pdfa_3u(metadata: str) -> bool:
    return 'pdfaid:part="3"' in metadata and 'pdfaid:conformance="U"' in metadata


def test_the_agreement_is_tagged_pdfa_3u_titled_and_written_by_the_company(agreement_note):
    document = documents.agreement_produce(note=agreement_note)
    info = pdfinfo(document)
    assert info["Title"] == f"Convertible Note Agreement {agreement_note.number}" == document.title
    assert info["Author"] == "Innovo Group Inc."
    assert info["Tagged"] == "yes"
    assert says_pdfa_3u(xmp(document))
    assert "<dc:creator><rdf:Seq><rdf:li>Innovo Group Inc.</rdf:li>" in xmp(document)


def test_the_statement_is_tagged_pdfa_3u_and_written_by_the_servicer(make_note, holder, settings):
    settings.SERVICER_NAME = "Harbor Loan Servicing LLC"
    make_note()
    document = documents.statement_produce(holder=holder, month=date(2024, 2, 1))
    info = pdfinfo(document)
    assert info["Title"] == "Statement 2024-02 Ann Lee"
    assert info["Author"] == "Harbor Loan Servicing LLC"
    assert info["Tagged"] == "yes"
    assert says_pdfa_3u(xmp(document))


def test_the_holders_notice_of_conversion_is_written_by_the_holder(make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 2, 20)):
        conversion = approve(
            services.conversion_record(
                note=note, notice_sent=date(2024, 2, 15), method="telecopy", principal=D("100000.00"), by=staff
            )
        )
    document = documents.conversion_notice_produce(conversion=conversion)
    info = pdfinfo(document)
    assert (info["Author"], info["Tagged"]) == ("Ann Lee", "yes")
    assert says_pdfa_3u(xmp(document))


@pytest.mark.parametrize("variant", [None, "pdf/a-2b"], ids=["not PDF/A", "PDF/A-2b"])
def test_an_agreement_whose_exhibit_is_not_pdfa_u_stays_tagged_but_no_longer_claims_pdfa(agreement_note, variant):
    """Pages copied from a file that is not PDF/A may break PDF/A (a font not embedded, say), and
    level B does not promise text mapped to Unicode, as 3u does: the joined file does not claim what
    it may not be."""
    exhibit_attached(agreement_note, label="B", title="Side letter", content=exhibit_pdf(variant=variant))
    document = documents.agreement_produce(note=agreement_note)
    info = pdfinfo(document)
    assert (info["Tagged"], info["Author"], info["Title"]) == ("yes", "Innovo Group Inc.", document.title)
    assert "pdfaid:part" not in xmp(document) and "pdfaid:conformance" not in xmp(document)
    assert "<dc:title>" in xmp(document)  # the rest of the metadata is kept


def test_an_agreement_whose_exhibits_are_pdfa_at_level_u_or_a_stays_pdfa_3u(agreement_note):
    exhibit_attached(agreement_note, label="B", title="Side letter", content=exhibit_pdf(variant="pdf/a-2a"))
    assert [e.pdfa for e in agreement_note.exhibits.order_by("label")] == ["3U", "2A"]
    assert says_pdfa_3u(xmp(documents.agreement_produce(note=agreement_note)))
