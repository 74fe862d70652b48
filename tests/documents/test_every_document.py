"""Every kind of document, produced from the demo's world, printed page by page to PNG under
test-artifacts/every-document/ to be looked at, and read for the blanks that a fact belongs in."""

import shutil
import subprocess
from datetime import date
from decimal import Decimal as D
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from holders.models import Holder
from notes.models import Note
from servicing import approvals, documents, lifecycle, services
from servicing.close import close_books
from servicing.models import Conversion, Document
from servicing.statements import statement_for
from tests.helpers import pdf_text

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "every-document"
# What a document prints where a fact is missing: never in one sent out (issue 12).
BLANKS = ("None", "____", "Name and title", "address of —")

pytestmark = pytest.mark.django_db(transaction=True)


def _approve(item):
    return approvals.approve(item, by=approvals.system_approver())


@time_machine.travel("2026-11-27 09:00 -0500", tick=False)
def test_every_kind_of_document_prints_whole_pages_without_blanks():
    call_command("load_demo", "--no-login", stdout=StringIO())
    late = Note.objects.get(number="DEMO-LATE")
    innovo = Note.objects.get(number="DEMO-INNOVO")
    assigned = Note.objects.get(number="DEMO-CURRENT/1")
    # The assignee converts its substitute note in full; the holder of DEMO-LATE accelerates it.
    conversion = _approve(services.conversion_record(note=assigned, notice_sent=date(2026, 11, 20), method="telecopy"))
    acceleration = _approve(services.acceleration_record(note=late, notice_sent=date(2026, 11, 23), method="telecopy"))
    close_books()
    conversion.refresh_from_db()
    assert conversion.status == Conversion.Status.CONVERTED
    for document in (
        documents.conversion_notice_produce(conversion=conversion),
        documents.conversion_confirmation_produce(conversion=conversion),
    ):
        # The assignee signed no agreement: its note is the substitute issued to it (8(j)).
        words = " ".join(pdf_text(document).split())
        assert (
            'Substitute note DEMO-CURRENT/1, issued by Innovo Group Inc. (the "Company") to Northwind Partners LP '
            '(the "Holder") on October 1, 2026 under Section 8(j) in place of part of note DEMO-CURRENT' in words
        ), words
    documents.default_notice_produce(note=late, acceleration_notice=acceleration)
    for holder in Holder.objects.order_by("pk"):
        if statement_for(holder, date(2026, 10, 1)).notes:
            documents.statement_produce(holder=holder, month=date(2026, 10, 1))
    # Last: a merger replaces what every note of the issuer converts into (section 5).
    action = lifecycle.corporate_action_record(
        issuer=innovo.issuer,
        kind="merger",
        effective_on=date(2026, 11, 26),
        successor="Orchard Holdings Corp.",
        securities=[("common stock of Orchard Holdings Corp.", D("0.5"))],
        successor_jurisdiction="Nevada",
        successor_notice_address="ATTN: General Counsel\n1 Orchard Plaza\nReno, NV 89501",
        successor_signatory_name="Maria Ortega",
        successor_signatory_title="President",
    )
    _approve(action)
    action.refresh_from_db()
    agreement = action.supplemental_agreement
    documents.supplemental_agreement_produce(agreement=agreement, note=innovo)

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    kinds = set()
    for document in Document.objects.order_by("pk"):
        kinds.add(document.kind)
        name = f"{document.pk:02}-{Path(document.pdf.name).stem}"
        pdf = ARTIFACTS / f"{name}.pdf"
        pdf.write_bytes(document.pdf.open("rb").read())
        pages = int(_pdfinfo(pdf)["Pages"])
        subprocess.run(["pdftoppm", "-r", "50", "-png", pdf, ARTIFACTS / name], check=True)
        assert len(list(ARTIFACTS.glob(f"{name}-*.png"))) == pages
        for page in range(1, pages + 1):
            text = subprocess.run(
                ["pdftotext", "-layout", "-f", str(page), "-l", str(page), pdf, "-"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            assert text.strip(), f"{name}: page {page} is empty"
            found = [blank for blank in BLANKS if blank in text]
            assert not found, f"{name}: page {page} prints {found}"
    assert kinds == set(Document.Kind.values), f"not produced: {set(Document.Kind.values) - kinds}"


def _pdfinfo(pdf: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", pdf], check=True, capture_output=True, text=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}
