"""Documents counsel would sign: each party drafted as what it is, a document refused rather than
printed with a blank, signature blocks kept whole with the paragraph before them, every document
dated as of the day it speaks of (issue 12)."""

import shutil
import subprocess
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.urls import reverse

from holders.models import Holder
from notes.models import Issuer, Note, SupplementalAgreement
from servicing import clock, documents, lifecycle, services
from servicing.close import close_books
from servicing.models import Document
from tests.factories import ClosingPriceFactory, PaymentFactory, UserFactory, exhibit_attached
from tests.helpers import pdf_pages, pdf_text, refused, row_counts

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "documents"
# Printed where a fact belongs when the fact is missing, or a form's placeholder.
BLANKS = ("—", "Name and title", "None", "____")


def kept(document: Document, name: str) -> str:
    """The document's text, its PDF and each page as PNG kept in test-artifacts/documents/ to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(document.pdf.path, ARTIFACTS / f"{name}.pdf")
    subprocess.run(["pdftoppm", "-r", "60", "-png", document.pdf.path, ARTIFACTS / name], check=True)
    text = pdf_text(document)
    for blank in BLANKS:
        assert blank not in text, f"{name}: {blank!r} printed"
    return text


def closes_for(issuer) -> None:
    """The five closes before January 10, 2024: average 1.90, conversion price 1.10 × 1.90 = 2.09."""
    for day, close in ((3, "1.80"), (4, "1.90"), (5, "2.00"), (8, "1.95"), (9, "1.85")):
        ClosingPriceFactory(issuer=issuer, date=date(2024, 1, day), close=D(close))


def converted(note, staff, approve, *, principal=D("100000.00")):
    """February's interest paid, then `principal` converted on notice sent (and received) February 15, 2024."""
    with clock.pinned(date(2024, 2, 20)):
        approve(services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=staff))
        conversion = approve(
            services.conversion_record(
                note=note, notice_sent=date(2024, 2, 15), method="telecopy", principal=principal, by=staff
            )
        )
    conversion.refresh_from_db()
    return conversion


def prepaid(note, staff, approve):
    """A prepayment of 65,000.00 noticed April 11, 2024 for April 22, nothing paid since January."""
    with clock.pinned(date(2024, 4, 12)):
        return approve(
            services.prepayment_record(
                note=note,
                notice_sent=date(2024, 4, 11),
                method="overnight_courier",
                prepayment_date=date(2024, 4, 22),
                principal=D("65000.00"),
                by=staff,
            )
        )


def merger(issuer, staff, approve, **successor):
    facts = {
        "successor_jurisdiction": "Nevada",
        "successor_notice_address": "ATTN: General Counsel\n1 Market Street\nSan Francisco, CA 94105",
        "successor_signatory_name": "Maria Chen",
        "successor_signatory_title": "President",
    }
    approve(
        lifecycle.corporate_action_record(
            issuer=issuer,
            kind="merger",
            effective_on=date(2024, 4, 1),
            successor="Acquirer Holdings Inc.",
            securities=[("Acquirer common stock", D("0.5"))],
            by=staff,
            **(facts | successor),
        )
    )
    return SupplementalAgreement.objects.get()


# ---------------------------------------------------------------------------------------------------
# Parties drafted as what they are


def test_the_agreement_drafts_an_entity_holder_as_an_entity_signing_by_its_signatory(make_note, harbor):
    note = make_note(holder=harbor)
    exhibit_attached(note)
    text = kept(documents.agreement_produce(note=note), "agreement-entity")
    assert (
        "to pay to Harbor Point Capital LLC, a Delaware limited liability company with an address of "
        '200 Harbor Point Road, Stamford, CT 06902 ("Holder")' in text
    )
    assert 'the undersigned Innovo Group Inc., a Delaware corporation ("Company")' in text
    # The signature page, row by row as printed: the company's block beside the holder's.
    assert (
        "COMPANY: HOLDER: Innovo Group Inc. Harbor Point Capital LLC By: By: "
        "Name: Samuel J. Furrow, Jr. Name: Dana Whitfield "
        "Title: Chief Executive Officer Title: Managing Member" in text
    )


def test_the_agreement_has_an_individual_holder_sign_in_her_own_name(agreement_note):
    text = kept(documents.agreement_produce(note=agreement_note), "agreement-individual")
    assert 'Ann Lee, an individual with an address of 18 Orchard Lane, Knoxville, TN 37919 ("Holder")' in text
    # The holder signs over her name, beside the company's officer; no "By:" or "Name:" of hers.
    assert (
        "COMPANY: HOLDER: Innovo Group Inc. By: Name: Samuel J. Furrow, Jr. Ann Lee "
        "Title: Chief Executive Officer Convertible Note Agreement" in text
    )


def test_the_conversion_notice_is_signed_by_the_entity_holder_and_dated_the_day_it_is_sent(
    make_note, issuer, harbor, staff, approve
):
    closes_for(issuer)
    conversion = converted(make_note(holder=harbor, conversion_price=None), staff, approve)
    document = documents.conversion_notice_produce(conversion=conversion)
    text = kept(document, "conversion-notice-entity")
    assert document.title == f"Notice of conversion {conversion.note.number}, dated February 15, 2024"
    for said in (
        "Date: February 15, 2024",
        "elects to convert $100,000.00 of the principal amount",
        "conversion price of $2.090000 per share",
        "Harbor Point Capital LLC By: Name: Dana Whitfield Title: Managing Member",
        f"Notice of conversion {conversion.note.number}, dated February 15, 2024 Page 1 of 1",
    ):
        assert said in text, said


def test_the_conversion_confirmation_is_dated_as_of_the_conversion_date_with_its_figures(
    make_note, issuer, holder, staff, approve
):
    closes_for(issuer)
    conversion = converted(make_note(conversion_price=None), staff, approve)
    with clock.pinned(date(2026, 11, 27)):  # produced long after: still speaks as of February 15, 2024
        document = documents.conversion_confirmation_produce(conversion=conversion)
    text = kept(document, "conversion-confirmation-individual")
    assert document.title == f"Confirmation of conversion {conversion.note.number}, as of February 15, 2024"
    # 100,000.00 + the interest of 1–14 February (14 days at 100.00) = 101,400.00; ÷ 2.09 = 48,516.7… → 48,517.
    for said in (
        "Dated as of: February 15, 2024",
        "Principal converted $100,000.00",
        "Unpaid and accrued interest $1,400.00",
        "Amount converted $101,400.00",
        "January 3, 2024 $1.800000",
        "Average of the five closes $1.900000",
        "Conversion price per share $2.090000",
        "$101,400.00 ÷ $2.090000",
        "48,517 shares",
        "Principal outstanding after the conversion: $265,000.00",
        "Innovo Group Inc. By: Name: Samuel J. Furrow, Jr. Title: Chief Executive Officer",
    ):
        assert said in text, said
    assert "2026" not in text and "$$" not in text


def test_the_prepayment_notice_is_dated_the_day_it_is_sent_and_calculated_as_of_that_day(
    make_note, harbor, staff, approve, approver
):
    note = make_note(holder=harbor)
    prepayment = prepaid(note, staff, approve)
    # Paid after the notice was sent: the notice still states what was owed as of its date.
    PaymentFactory(note=note, received_on=date(2024, 4, 15), amount=D("8200.00"), approved_by=approver)
    with clock.pinned(date(2026, 11, 27)):
        document = documents.prepayment_notice_produce(prepayment=prepayment)
    text = kept(document, "prepayment-notice-entity")
    assert document.title == f"Notice of prepayment {note.number}, dated April 11, 2024"
    for said in (
        "Date: April 11, 2024",
        "elects to prepay $65,000.00 of the principal amount",
        "at $2.000000 per share",
        # Jan 2,200 + Feb 2,900 + Mar 3,100 billed and unpaid (with default interest), April 1–21: 2,100.00.
        "Unpaid and accrued interest $10,300.00",
        "Total payable on April 22, 2024",
        "Calculated as of the date of this notice, April 11, 2024",
        "Innovo Group Inc. By: Name: Samuel J. Furrow, Jr. Title: Chief Executive Officer",
        f"Notice of prepayment {note.number}, dated April 11, 2024",
    ):
        assert said in text, said
    assert "2026" not in text and "Calculated on" not in text


def test_the_supplemental_agreement_is_made_by_the_successor_as_of_its_effective_date(
    make_note, issuer, harbor, staff, approve
):
    note = make_note(holder=harbor)
    converted(note, staff, approve, principal=D("100000.00"))
    agreement = merger(issuer, staff, approve)
    # Before the books are closed through the effective date, the illustration says how far they are.
    note = Note.objects.get(pk=note.pk)
    closed = note.closed_through
    text = pdf_text(documents.supplemental_agreement_produce(agreement=agreement, note=note), layout=False)
    assert closed < date(2024, 4, 1)
    assert f"The principal outstanding on {closed:%B} {closed.day}, 2024, $265,000.00, converts into 132,500" in text
    with clock.pinned(date(2024, 4, 20)):
        close_books()
    note.refresh_from_db()
    document = documents.supplemental_agreement_produce(agreement=agreement, note=note)
    text = kept(document, "supplemental-agreement-entity")
    assert document.title == f"Supplemental agreement {note.number}, as of April 1, 2024"
    for said in (
        'made as of April 1, 2024 by Acquirer Holdings Inc., a Nevada corporation (the "Successor")',
        'Innovo Group Inc., a Delaware corporation (the "Company")',
        "Harbor Point Capital LLC, a Delaware limited liability company with an address of 200 Harbor Point Road",
        "Acquirer common stock 0.5",
        # 265,000.00 on April 1 (100,000.00 converted February 15) at 2.00: 132,500 shares, 66,250 of the successor's.
        "The principal outstanding on April 1, 2024, $265,000.00, converts into 132,500 shares",
        "Acquirer common stock 66,250",
        "Notices to the Successor under Section 8(b) of the Agreement shall be addressed to it at: "
        "Acquirer Holdings Inc. ATTN: General Counsel 1 Market Street San Francisco, CA 94105",
    ):
        assert said in pdf_text(document, layout=False), said
    # The successor signs; the holder, an entity, acknowledges through its signatory.
    assert (
        "SUCCESSOR: ACKNOWLEDGED BY THE HOLDER: Acquirer Holdings Inc. Harbor Point Capital LLC By: By: "
        "Name: Maria Chen Name: Dana Whitfield Title: President Title: Managing Member" in text
    )


# ---------------------------------------------------------------------------------------------------
# Refused, never printed with a blank


def stored() -> tuple[dict, list]:
    """Every model's row count and every PDF on disk: what a refused document must leave as it was."""
    from django.conf import settings

    return row_counts(), sorted(Path(settings.MEDIA_ROOT).rglob("*.pdf"))


def test_it_refuses_the_agreement_naming_every_missing_fact_and_stores_nothing(make_note, issuer, harbor):
    note = make_note(holder=harbor)
    Issuer.objects.filter(pk=issuer.pk).update(jurisdiction="")
    Holder.objects.filter(pk=harbor.pk).update(notice_address="", signatory_title="")
    note.refresh_from_db()
    with refused(
        "document",
        "Convertible Note Agreement cannot be produced",
        "issuer Innovo Group Inc.'s state of incorporation",
        "holder Harbor Point Capital LLC's notice address",
        "holder Harbor Point Capital LLC's signatory title",
        unchanged=stored,
    ):
        documents.agreement_produce(note=note)


def test_it_refuses_the_agreement_of_an_entity_holder_without_its_type_and_state(make_note, harbor):
    Holder.objects.filter(pk=harbor.pk).update(entity_type="", organized_in="")
    note = make_note(holder=Holder.objects.get(pk=harbor.pk))
    with refused("document", "entity type", "state of organization", unchanged=stored):
        documents.agreement_produce(note=note)


def test_it_refuses_the_notice_of_conversion_without_the_entity_holders_signatory(
    make_note, issuer, harbor, staff, approve
):
    closes_for(issuer)
    conversion = converted(make_note(holder=harbor, conversion_price=None), staff, approve)
    Holder.objects.filter(pk=harbor.pk).update(signatory_name="")
    conversion.note.holder.refresh_from_db()
    with refused(
        "document", "notice of conversion", "holder Harbor Point Capital LLC's signatory name", unchanged=stored
    ):
        documents.conversion_notice_produce(conversion=conversion)


def test_the_notice_of_conversion_needs_no_company_officer_because_the_holder_signs_it(
    make_note, issuer, holder, staff, approve
):
    closes_for(issuer)
    conversion = converted(make_note(conversion_price=None), staff, approve)
    Issuer.objects.filter(pk=issuer.pk).update(signatory_name="", signatory_title="", jurisdiction="")
    conversion.note.issuer.refresh_from_db()
    text = kept(documents.conversion_notice_produce(conversion=conversion), "conversion-notice-individual")
    assert "Ann Lee" in text.split("Registrable Securities")[1]  # she signs below the last paragraph


def test_it_refuses_the_conversion_confirmation_without_the_companys_signatory(
    make_note, issuer, holder, staff, approve
):
    closes_for(issuer)
    conversion = converted(make_note(conversion_price=None), staff, approve)
    Issuer.objects.filter(pk=issuer.pk).update(signatory_title="")
    conversion.note.issuer.refresh_from_db()
    with refused(
        "document", "confirmation of conversion", "issuer Innovo Group Inc.'s signatory title", unchanged=stored
    ):
        documents.conversion_confirmation_produce(conversion=conversion)


def test_it_refuses_the_prepayment_notice_without_the_holders_notice_address(make_note, holder, staff, approve):
    prepayment = prepaid(make_note(), staff, approve)
    Holder.objects.filter(pk=holder.pk).update(notice_address=" \n ")
    prepayment.note.holder.refresh_from_db()
    with refused("document", "notice of prepayment", "holder Ann Lee's notice address", unchanged=stored):
        documents.prepayment_notice_produce(prepayment=prepayment)


def test_it_refuses_the_supplemental_agreement_without_the_successors_facts(make_note, issuer, staff, approve):
    note = make_note()
    agreement = merger(issuer, staff, approve, successor_jurisdiction="", successor_signatory_title="")
    with refused(
        "document",
        f"supplemental agreement for note {note.number}",
        "successor Acquirer Holdings Inc.'s state of incorporation",
        "successor Acquirer Holdings Inc.'s signatory title",
        unchanged=stored,
    ):
        documents.supplemental_agreement_produce(agreement=agreement, note=note)


def test_it_produces_no_supplemental_agreement_while_one_of_its_notes_lacks_a_fact(
    make_note, issuer, holder, harbor, staff, approve
):
    make_note()
    make_note(holder=harbor)
    agreement = merger(issuer, staff, approve)
    Holder.objects.filter(pk=harbor.pk).update(signatory_name="")
    with refused("document", "holder Harbor Point Capital LLC's signatory name", unchanged=stored):
        documents.supplemental_agreements_produce(agreement=agreement)
    Holder.objects.filter(pk=harbor.pk).update(signatory_name="Dana Whitfield")
    made = documents.supplemental_agreements_produce(agreement=agreement)
    assert [d.holder.name for d in made] == ["Ann Lee", "Harbor Point Capital LLC"]


def test_the_supplemental_agreement_is_signed_by_the_company_when_there_is_no_successor(
    make_note, issuer, holder, staff, approve
):
    note = make_note()
    approve(
        lifecycle.corporate_action_record(
            issuer=issuer,
            kind="reclassification",
            effective_on=date(2024, 4, 1),
            securities=[("Class A common stock", D("1"))],
            by=staff,
        )
    )
    agreement = SupplementalAgreement.objects.get()
    text = kept(documents.supplemental_agreement_produce(agreement=agreement, note=note), "supplemental-individual")
    assert 'made as of April 1, 2024 by Innovo Group Inc., a Delaware corporation (the "Company")' in pdf_text(
        Document.objects.get(), layout=False
    )
    assert "COMPANY: ACKNOWLEDGED BY THE HOLDER: Innovo Group Inc. By: Name: Samuel J. Furrow, Jr. Ann Lee" in text
    assert "Successor" not in text


def test_a_refused_document_is_explained_on_the_staff_page_and_nothing_is_stored(client, make_note, issuer):
    note = make_note()
    Issuer.objects.filter(pk=issuer.pk).update(jurisdiction="")
    client.force_login(UserFactory(username="clerk", roles=["admin"]))  # documents are the admin role's
    before = stored()
    page = client.post(reverse("servicing:produce", args=[note.pk, "agreement"]), follow=True)
    said = [str(m) for m in page.context["messages"]]
    # One message names every fact and exhibit missing.
    assert said == [
        "the Convertible Note Agreement cannot be produced until these are recorded: "
        "issuer Innovo Group Inc.'s state of incorporation; the agreement says Exhibit A, the Registration "
        f"Rights Agreement (section 4(c)) is attached hereto; attach it to {note} first"
    ]
    assert "issuer Innovo Group Inc.&#x27;s state of incorporation" in page.content.decode()
    assert stored() == before


def test_a_refused_document_is_explained_in_the_admin_and_nothing_is_stored(client, make_note, issuer, holder):
    note = make_note()
    exhibit_attached(note)
    Holder.objects.filter(pk=holder.pk).update(notice_address="")
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    before = stored()
    action = {"action": "produce_agreement", "_selected_action": [note.pk]}
    page = client.post("/admin/notes/note/", action, follow=True)
    said = [str(m) for m in page.context["messages"]]
    assert said == [
        f"{note}: the Convertible Note Agreement cannot be produced until these are recorded: "
        "holder Ann Lee's notice address"
    ]
    assert stored() == before


# ---------------------------------------------------------------------------------------------------
# Layout


def test_the_conversion_confirmation_never_parts_the_company_from_its_signature_lines(
    make_note, issuer, holder, staff, approve
):
    """The holder's address grows a line at a time until the signature block no longer fits on the
    first page: at every length, the company's name, "By:", its officer's name and title and the
    paragraph before them are on one page."""
    conversion = converted(make_note(conversion_price=D("2.09")), staff, approve)
    page_counts = set()
    for lines in range(1, 30, 2):
        address = "\n".join(f"Building {n}, Floor {n}" for n in range(lines)) + "\nKnoxville, TN 37919"
        Holder.objects.filter(pk=holder.pk).update(notice_address=address)
        conversion.note.holder.refresh_from_db()
        pages = pdf_pages(documents.conversion_confirmation_produce(conversion=conversion), layout=False)
        page_counts.add(len(pages))
        signed = [" ".join(page.split()) for page in pages if "By:" in page]
        assert len(signed) == 1, f"{lines} lines: 'By:' on {len(signed)} pages"
        for said in (
            "Principal outstanding after the conversion: $265,000.00",
            "Innovo Group Inc. By: Name: Samuel J. Furrow, Jr. Title: Chief Executive Officer",
        ):
            assert said in signed[0], f"{lines} address lines: {said!r} not on the page of 'By:'"
    assert page_counts == {1, 2}, f"the block never crossed a page end: {page_counts}"


def test_a_table_that_runs_onto_another_page_repeats_its_headings(make_note, issuer, staff, approve):
    """A supplemental agreement naming many successor securities: the table's headings are printed
    again at the top of the next page."""
    note = make_note()
    securities = [(f"Acquirer Series {n} preferred stock", D("0.01") * n) for n in range(1, 61)]
    approve(
        lifecycle.corporate_action_record(
            issuer=issuer,
            kind="reclassification",
            effective_on=date(2024, 4, 1),
            securities=securities,
            by=staff,
        )
    )
    agreement = SupplementalAgreement.objects.get()
    pages = pdf_pages(documents.supplemental_agreement_produce(agreement=agreement, note=note))
    assert len(pages) >= 3
    with_rows = [page for page in pages if "Acquirer Series" in page]
    assert len(with_rows) >= 2
    for page in with_rows:
        assert "Security" in page and ("Amount per share of common stock" in page or "Amount for the principal" in page)


# ---------------------------------------------------------------------------------------------------
# Where staff record the facts


def test_staff_record_a_successors_facts_with_its_merger(client, issuer):
    from notes.models import CorporateAction
    from tests.conftest import once

    client.force_login(UserFactory(username="clerk", roles=["servicer"]))
    form = {
        "issuer": issuer.pk,
        "kind": "merger",
        "effective_on": "2024-04-01",
        "successor": "Acquirer Holdings Inc.",
        "successor_jurisdiction": "Nevada",
        "successor_notice_address": "1 Market Street\r\nSan Francisco, CA 94105",
        "successor_signatory_name": "Maria Chen",
        "successor_signatory_title": "President",
        "security_1": "Acquirer common stock",
        "per_share_1": "0.5",
    }
    response = client.post(reverse("servicing:corporate_action"), once(form))
    assert response.status_code == 302, response.content.decode()[:3000]
    action = CorporateAction.objects.get()
    recorded = [getattr(action, field) for field in CorporateAction.SUCCESSOR_FACTS]
    assert recorded == ["Nevada", "1 Market Street\r\nSan Francisco, CA 94105", "Maria Chen", "President"]


def test_the_admin_shows_every_fact_a_document_prints_of_a_party(client, issuer, harbor):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    holder_page = client.get(f"/admin/holders/holder/{harbor.pk}/change/").content.decode()
    for field in ("notice_address", "entity_type", "organized_in", "signatory_name", "signatory_title"):
        assert f'name="{field}"' in holder_page, field
    issuer_page = client.get(f"/admin/notes/issuer/{issuer.pk}/change/").content.decode()
    for field in ("jurisdiction", "notice_address", "signatory_name", "signatory_title"):
        assert f'name="{field}"' in issuer_page, field
    action_page = client.get("/admin/notes/corporateaction/add/").content.decode()
    for field in ("successor", "successor_jurisdiction", "successor_notice_address", "successor_signatory_name"):
        assert f'name="{field}"' in action_page, field


def test_the_successors_particulars_are_recorded_after_its_merger_in_the_admin(
    client, make_note, issuer, staff, approve
):
    from notes.models import CorporateAction

    note = make_note()
    agreement = merger(issuer, staff, approve, successor_signatory_name="", successor_signatory_title="")
    with refused("document", "successor Acquirer Holdings Inc.'s signatory name"):
        documents.supplemental_agreement_produce(agreement=agreement, note=note)
    client.force_login(UserFactory(username="clerk", is_staff=True, roles=["servicer"]))
    action = {"action": "record_successor", "_selected_action": [agreement.action_id], "_confirm": "1"}
    facts = {"jurisdiction": "Nevada", "notice_address": "1 Market Street", "signatory_name": "Maria Chen"}
    page = client.post("/admin/notes/corporateaction/", action | facts | {"signatory_title": "President"}, follow=True)
    assert [str(m) for m in page.context["messages"]] == ["1 item(s) recorded."]
    recorded = CorporateAction.objects.get(pk=agreement.action_id)
    assert (recorded.successor_signatory_name, recorded.successor_signatory_title) == ("Maria Chen", "President")
    latest = recorded.history.first()  # the history keeps who gave the particulars, and what was there before
    assert latest.history_user.username == "clerk" and latest.prev_record.successor_signatory_name == ""
    agreement.refresh_from_db()
    document = documents.supplemental_agreement_produce(agreement=agreement, note=note)
    text = kept(document, "supplemental-after-particulars")
    assert "Name: Maria Chen" in text


def test_each_document_names_itself_alike_in_its_title_its_footers_and_its_row(
    make_note, issuer, harbor, staff, approve
):
    closes_for(issuer)
    note = make_note(holder=harbor, conversion_price=None)
    exhibit_attached(note)
    conversion = converted(note, staff, approve)
    agreement = merger(issuer, staff, approve)
    made = {
        "CONVERTIBLE NOTE AGREEMENT": documents.agreement_produce(note=note),
        "NOTICE OF CONVERSION": documents.conversion_notice_produce(conversion=conversion),
        "CONFIRMATION OF CONVERSION": documents.conversion_confirmation_produce(conversion=conversion),
        "NOTICE OF PREPAYMENT": documents.prepayment_notice_produce(prepayment=prepaid(make_note(), staff, approve)),
        "SUPPLEMENTAL AGREEMENT": documents.supplemental_agreement_produce(agreement=agreement, note=note),
    }
    for heading, document in made.items():
        kept(document, f"titled-{document.kind}")  # no blank printed (the prepayment's holder is Ann Lee)
        assert document.title.upper().startswith(heading), (heading, document.title)
        assert f"<title>{document.title}</title>" in document.html
        pages = pdf_pages(document)
        # The agreement's exhibits follow its own numbered pages, with their own numbering.
        own = len(pages) - (3 if document.kind == "agreement" else 0)  # a cover and a 2-page exhibit
        for number, page in enumerate(pages[:own], 1):
            assert f"{document.title} Page {number} of {own}" in " ".join(page.split()), (heading, number)


def test_the_admin_refuses_every_supplemental_agreement_of_a_merger_while_one_lacks_a_fact(
    client, make_note, issuer, holder, harbor, staff, approve
):
    make_note()
    make_note(holder=harbor)
    agreement = merger(issuer, staff, approve)
    Holder.objects.filter(pk=holder.pk).update(notice_address="")
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    before = stored()
    action = {"action": "produce_documents", "_selected_action": [agreement.pk]}
    page = client.post("/admin/notes/supplementalagreement/", action, follow=True)
    [said] = [str(m) for m in page.context["messages"]]
    assert said.startswith(f"{agreement}: the supplemental agreement for note ")
    assert said.endswith("cannot be produced until these are recorded: holder Ann Lee's notice address")
    assert stored() == before
