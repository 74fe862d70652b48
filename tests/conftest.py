import secrets

import pytest
from django.core.cache import cache

from servicing import approvals
from tests.factories import HolderFactory, IssuerFactory, NoteFactory, UserFactory


@pytest.fixture(autouse=True)
def empty_cache():
    """What a page kept (the dashboard's charts) is not seen by the next test, whose ledger may
    reuse the same ids (SQLite)."""
    cache.clear()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Documents produced by a test are written under its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def once(data: dict) -> dict:
    """A staff form's data with the one-time token a rendered form carries (servicing.once)."""
    return data | {"once": secrets.token_urlsafe(12)}


@pytest.fixture
def staff(db):
    """A servicer: records events, cannot approve them."""
    return UserFactory(username="servicer", roles=["servicer"])


@pytest.fixture
def approver(db):
    return UserFactory(username="approver", roles=["approver"])


@pytest.fixture
def approve(approver):
    """Approve a recorded item as the second pair of eyes; returns it."""

    def approve(item):
        return approvals.approve(item, by=approver)

    return approve


@pytest.fixture
def issuer(db):
    """The reference agreement's company, with every fact its documents print (they refuse a blank)."""
    return IssuerFactory(
        name="Innovo Group Inc.",
        notice_address="ATTN: Jay Furrow, CEO\n5804 E. Slauson Avenue\nCommerce, CA 90046",
        signatory_name="Samuel J. Furrow, Jr.",
        signatory_title="Chief Executive Officer",
        jurisdiction="Delaware",
    )


@pytest.fixture
def holder(db):
    return HolderFactory(name="Ann Lee", email="ann@example.com", notice_address="1 Main St")


@pytest.fixture
def make_note(issuer, holder, staff):
    """NoteFactory's note (365,000.00 at 10 %, 100.00 a day, from 10 January 2024) of this test's
    issuer and holder, made by `staff`."""

    def make(**kw):
        return NoteFactory(**{"issuer": issuer, "holder": holder, "by": staff} | kw)

    return make
