"""The filled-in Convertible Note Agreement says what the reference agreement says, word for word."""

import re
from pathlib import Path

import pytest

from servicing import documents
from tests.helpers import pdf_pages, pdf_text

pytestmark = pytest.mark.django_db

REFERENCE = Path(__file__).with_name("convertible-note-agreement.txt")
# The filing's furniture, not the agreement's words.
FILING_FURNITURE = {"EXHIBIT 4.1", "<PAGE>", "</END>"}


def reference_pattern() -> list[str]:
    """A regular expression piece for each word of the reference up to the signature blocks' labels
    ("COMPANY: HOLDER:"): a blank (underscores) matches whatever was filled in. The filing's blocks
    below the labels ("By: ___ / Samuel J. Furrow, Jr. / Name / Chief Executive Officer") are drafted
    as documents._signature.html drafts every party's (an officer's Name: and Title:, an individual
    over her name), and checked on their own."""
    lines = [line for line in REFERENCE.read_text().splitlines() if line.strip() not in FILING_FURNITURE]
    words = " ".join(lines).split()
    words = words[: words.index("HOLDER:") + 1]
    pieces = []
    for word in words:
        if not word.strip("_"):
            pieces.append(r"(?:\s+.*?)?")  # an empty blank may be filled with nothing on the line
        elif "_" in word:
            pieces.append(r"\s+" + re.sub(r"(\\_)+|_+", ".*?", re.escape(word)))
        else:
            pieces.append(r"\s+" + re.escape(word))
    return pieces


def agreement_text(document) -> str:
    """The text of the agreement's own pages ("Page 1 of N" to N), without the exhibits after them."""
    pages = pdf_pages(document)
    count = int(re.search(r"Page 1 of (\d+)", pages[0]).group(1))
    return " ".join(" ".join(pages[:count]).split())


def without_page_furniture(text: str, number: str) -> str:
    text = re.sub(rf"Convertible Note Agreement {re.escape(number)}", " ", text)
    return " ".join(re.sub(r"Page \d+ of \d+", " ", text).split())


def test_the_agreement_pdf_has_the_reference_words_in_order_with_the_blanks_filled(agreement_note):
    document = documents.agreement_produce(note=agreement_note)
    text = " " + without_page_furniture(agreement_text(document), agreement_note.number)
    pieces = reference_pattern()
    signed = re.fullmatch("".join(pieces) + r"\s+(?P<blocks>.*)", text)
    if not signed:
        # Say where they part: the longest run of reference words the PDF still matches.
        good, bad = 0, len(pieces)  # a prefix that matches, and one that does not
        while bad - good > 1:
            middle = (good + bad) // 2
            good, bad = (middle, bad) if re.match("".join(pieces[:middle]), text) else (good, middle)
        context = " ".join(p.replace("\\", "") for p in pieces[good : good + 8])
        pytest.fail(f"the PDF departs from the reference after {good} of {len(pieces)} words, at: {context}")
    for filled in (
        "$500,000.00 (Five Hundred Thousand and 00/100 Dollars)",
        "June 15, 2005",
        'Ann Lee, an individual with an address of 18 Orchard Lane, Knoxville, TN 37919 ("Holder")',
        "Date: June 15, 2004",
        "If to Holder: Ann Lee 18 Orchard Lane Knoxville, TN 37919",
        "seven and one half percent (7.5%)",
        "commencing on July 1, 2004",
    ):
        assert filled in text, filled
    # The signature blocks, row by row as printed: the company's officer beside the holder's line.
    assert (
        signed["blocks"] == "Innovo Group Inc. By: Name: Samuel J. Furrow, Jr. Ann Lee Title: Chief Executive Officer"
    )


def test_the_agreement_is_laid_out_with_page_numbers_and_a_signature_page(agreement_note):
    document = documents.agreement_produce(note=agreement_note)
    text = pdf_text(document)
    pages = int(re.search(r"Page 1 of (\d+)", text).group(1))
    assert pages >= 5
    assert f"Page {pages} of {pages}" in text
    last = text.rsplit(f"Page {pages - 1} of {pages}", 1)[1]
    assert last.split()[:4] == ["IN", "WITNESS", "WHEREOF,", "the"]  # the signature block has its own page


def test_a_note_with_other_terms_fills_them_in(agreement_note, innovo):
    from decimal import Decimal as D

    from holders.models import Holder

    agreement_note.rate, agreement_note.principal = D("0.0815"), D("1250000.50")
    Holder.objects.filter(pk=agreement_note.holder_id).update(
        kind="entity",
        name="Lee Family Partners LP",
        entity_type="limited partnership",
        organized_in="Tennessee",
        signatory_name="Ann Lee",
        signatory_title="General Partner",
    )
    agreement_note.holder.refresh_from_db()
    text = pdf_text(documents.agreement_produce(note=agreement_note))
    assert "eight point one five percent (8.15%)" in text
    assert "$1,250,000.50 (One Million Two Hundred Fifty Thousand and 50/100 Dollars)" in text
    assert "Lee Family Partners LP, a Tennessee limited partnership with an address of 18 Orchard Lane" in text
    assert "Name: Samuel J. Furrow, Jr. Name: Ann Lee Title: Chief Executive Officer Title: General Partner" in text
