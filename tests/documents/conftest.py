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
def issuer(innovo):
    """The tests' issuer with every fact a document prints: documents refuse one without them."""
    return innovo


@pytest.fixture
def harbor(db):
    """An entity holder, drafted as one and signing through its managing member."""
    return HolderFactory(
        name="Harbor Point Capital LLC",
        kind="entity",
        email="notices@harborpoint.example",
        notice_address="200 Harbor Point Road\nStamford, CT 06902",
        entity_type="limited liability company",
        organized_in="Delaware",
        signatory_name="Dana Whitfield",
        signatory_title="Managing Member",
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
