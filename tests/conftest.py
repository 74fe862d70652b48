import secrets
from datetime import date
from decimal import Decimal as D

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from holders.services import holder_create
from servicing import approvals, clock, services


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Documents produced by a test are written under its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def once(data: dict) -> dict:
    """A staff form's data with the one-time token a rendered form carries (servicing.once)."""
    return data | {"once": secrets.token_urlsafe(12)}


def user_in(username: str, *groups: str):
    user = get_user_model().objects.create_user(username, password=f"pw-{username}-1")
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


@pytest.fixture
def staff(db):
    """A servicer: records events, cannot approve them."""
    return user_in("servicer", "servicer")


@pytest.fixture
def approver(db):
    return user_in("approver", "approver")


@pytest.fixture
def approve(approver):
    """Approve a recorded item as the second pair of eyes; returns it."""

    def approve(item):
        return approvals.approve(item, by=approver)

    return approve


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
