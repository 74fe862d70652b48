from datetime import date
from decimal import Decimal as D

import pytest

from tests.factories import HolderFactory, IssuerFactory, NoteFactory, exhibit_attached


@pytest.fixture
def innovo(db):
    return IssuerFactory(
        name="Innovo Group Inc.",
        notice_address="ATTN: Jay Furrow, CEO\n5804 E. Slauson Avenue\nCommerce, CA 90046",
        signatory_name="Samuel J. Furrow, Jr.",
        signatory_title="Chief Executive Officer",
        jurisdiction="Delaware",
    )


@pytest.fixture
def bare_agreement_note(innovo, staff):
    """The agreement's own note: 500,000.00 at 7.5 % from 15 June 2004 to 15 June 2005, no exhibit
    attached."""
    holder = HolderFactory(
        name="Ann Lee", email="ann@example.com", notice_address="18 Orchard Lane\nKnoxville, TN 37919"
    )
    return NoteFactory(
        issuer=innovo,
        holder=holder,
        agreement_date=date(2004, 6, 15),
        principal=D("500000.00"),
        rate=D("0.075"),
        conversion_price=D("2.3232"),
        by=staff,
    )


@pytest.fixture
def agreement_note(bare_agreement_note):
    """The agreement's own note with its Exhibit A, the Registration Rights Agreement (two pages)."""
    exhibit_attached(bare_agreement_note)
    return bare_agreement_note
