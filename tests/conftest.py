from datetime import date
from decimal import Decimal as D

import pytest
from django.contrib.auth import get_user_model

from holders.services import holder_create
from servicing import clock, services


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("servicer", password="pw-servicer-1")


@pytest.fixture
def issuer(db):
    return services.issuer_for("Innovo Group Inc.")


@pytest.fixture
def holder(db):
    return holder_create(name="Ann Lee", email="ann@example.com", notice_address="1 Main St")


@pytest.fixture
def make_note(issuer, holder, staff):
    """A note of 365,000.00 at 10 % (100.00 a day) from 10 January 2024, posted as of `today`."""

    def make(today=date(2024, 1, 10), **kw):
        args = dict(
            issuer=issuer,
            holder=holder,
            agreement_date=date(2024, 1, 10),
            maturity_date=date(2025, 1, 10),
            principal=D("365000.00"),
            rate=D("0.10"),
            conversion_price=D("2.00"),
            by=staff,
        )
        with clock.pinned(today):
            return services.note_create(**args | kw)

    return make
