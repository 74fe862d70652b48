"""Four-eyes: what moves money or shares takes effect only when a second user approves it."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from servicing import approvals, clock, services
from servicing.close import close_books
from servicing.models import Conversion, LedgerEntry, Payment
from servicing.selectors import note_balances
from tests.factories import UserFactory
from tests.helpers import refused

pytestmark = pytest.mark.django_db


def test_a_pending_payment_changes_no_balance_and_the_close_ignores_it(make_note, staff):
    note = make_note()
    with clock.pinned(date(2024, 2, 5)):
        payment = services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=staff)
    close_books(through=date(2024, 3, 5))
    note.refresh_from_db()
    assert payment.approval == "pending"
    assert not LedgerEntry.objects.filter(key=f"payment:{payment.pk}").exists()
    b = note_balances(note)
    assert (b.interest_due, b.default_interest_due) == (D("5100.00"), D("861.94"))  # January billed and unpaid


def test_an_approved_payment_is_applied_and_its_entries_name_the_approver(make_note, staff, approver):
    note = make_note()
    with clock.pinned(date(2024, 2, 5)):
        payment = services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=staff)
        approvals.approve(payment, by=approver)
    note.refresh_from_db()
    assert note_balances(note).interest_due == D("0.00")
    entry = LedgerEntry.objects.get(key=f"payment:{payment.pk}")
    assert (entry.posted_by, entry.approved_by) == (approver, approver)
    payment.refresh_from_db()
    assert (payment.approval, payment.recorded_by, payment.decided_by) == ("approved", staff, approver)


def test_a_user_cannot_approve_their_own_entry_even_as_an_approver(make_note):
    both = UserFactory(username="both", roles=["servicer", "approver"])
    note = make_note()
    payment = services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=both)
    with refused("approval", "a different user must approve it"):
        approvals.approve(payment, by=both)
    assert Payment.objects.get().approval == "pending"


def test_approving_needs_the_approver_permission(make_note, staff):
    other_servicer = UserFactory(username="other", roles=["servicer"])
    note = make_note()
    payment = services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=staff)
    with pytest.raises(PermissionDenied):
        approvals.approve(payment, by=other_servicer)
    assert Payment.objects.get().approval == "pending"


def test_a_rejection_is_kept_with_its_reason_and_never_takes_effect(make_note, staff, approver):
    note = make_note()
    payment = services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=staff)
    with refused("reason", "needs a reason"):
        approvals.reject(payment, by=approver, reason="  ")
    approvals.reject(payment, by=approver, reason="wire never arrived")
    payment.refresh_from_db()
    assert (payment.approval, payment.rejection_reason, payment.decided_by) == (
        "rejected",
        "wire never arrived",
        approver,
    )
    with refused("approval", "already rejected"):
        approvals.approve(payment, by=approver)
    close_books(through=date(2024, 2, 5))
    assert not LedgerEntry.objects.filter(key=f"payment:{payment.pk}").exists()


def test_approval_checks_the_rules_again_against_what_was_approved_meanwhile(make_note, staff, approver):
    note = make_note()
    with clock.pinned(date(2024, 3, 1)):
        first = services.conversion_record(
            note=note, notice_sent=date(2024, 2, 1), method="telecopy", principal=D("300000.00"), by=staff
        )
        second = services.conversion_record(
            note=note, notice_sent=date(2024, 2, 2), method="telecopy", principal=D("300000.00"), by=staff
        )
        approvals.approve(first, by=approver)
        with refused("principal", "principal outstanding is 65,000.00"):
            approvals.approve(second, by=approver)
    assert Conversion.objects.get(pk=second.pk).approval == "pending"
    assert note_balances(note).principal == D("65000.00")


def test_the_history_shows_who_recorded_and_who_approved(make_note, staff, approver):
    note = make_note()
    payment = services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=staff)
    approvals.approve(payment, by=approver)
    history = payment.history.order_by("history_date")
    assert [(h.history_user, h.approval) for h in history] == [(staff, "pending"), (approver, "approved")]


def test_the_roles_hold_the_permissions_they_should():
    def perms(name):
        group = Group.objects.get(name=name)
        return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}

    viewer, servicer, approver, admin = (perms(g) for g in ("viewer", "servicer", "approver", "admin"))
    assert "servicing.view_payment" in viewer and not any(p.split(".")[1].startswith("add_") for p in viewer)
    assert {"servicing.add_payment", "notes.add_assignment"} <= servicer
    assert approvals.APPROVE not in servicer
    assert approvals.APPROVE in approver and "servicing.add_payment" not in approver
    assert "servicing.add_ledgerentry" not in servicer
    assert {approvals.APPROVE, "auth.add_user"} <= admin
