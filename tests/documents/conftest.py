from datetime import date
from decimal import Decimal as D

import pytest

from holders.services import holder_create
from servicing import clock, services


@pytest.fixture
def innovo(db):
    issuer = services.issuer_for("Innovo Group Inc.")
    issuer.notice_address = "ATTN: Jay Furrow, CEO\n5804 E. Slauson Avenue\nCommerce, CA 90046"
    issuer.signatory_name, issuer.signatory_title = "Samuel J. Furrow, Jr.", "Chief Executive Officer"
    issuer.save()
    return issuer


@pytest.fixture
def agreement_note(innovo, staff):
    """The agreement's own note: 500,000.00 at 7.5 % from 15 June 2004 to 15 June 2005."""
    holder = holder_create(
        name="Ann Lee", email="ann@example.com", notice_address="18 Orchard Lane\nKnoxville, TN 37919"
    )
    with clock.pinned(date(2004, 6, 15)):
        return services.note_create(
            issuer=innovo,
            holder=holder,
            agreement_date=date(2004, 6, 15),
            maturity_date=date(2005, 6, 15),
            principal=D("500000.00"),
            rate=D("0.075"),
            conversion_price=D("2.3232"),
            by=staff,
        )
