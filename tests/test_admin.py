import re
from datetime import date
from decimal import Decimal as D

import pytest
import time_machine

from notes.models import Note
from servicing import services
from servicing.close import close_books
from servicing.models import LedgerEntry, Payment
from tests.conftest import once
from tests.factories import HolderFactory, UserFactory
from tests.helpers import refused_at, row_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@time_machine.travel("2024-02-05 12:00 -0500", tick=False)
def test_a_payment_added_in_the_admin_waits_for_another_users_approval(admin_client, client, make_note, approver):
    note = make_note()
    form = {"note": note.pk, "received_on": "2024-02-05", "amount": "2200.00", "reference": "wire 1"}
    response = admin_client.post("/admin/servicing/payment/add/", once(form))
    assert response.status_code == 302, response.content.decode()[:2000]
    payment = Payment.objects.get()
    assert (payment.recorded_by.username, payment.approval) == ("boss", "pending")
    assert not LedgerEntry.objects.filter(key=f"payment:{payment.pk}").exists()

    action = {"action": "approve_selected", "_selected_action": [payment.pk]}
    response = admin_client.post("/admin/servicing/payment/", action, follow=True)
    assert "a different user must approve it" in response.content.decode()
    assert Payment.objects.get().approval == "pending"

    approver.is_staff = True
    approver.save()
    client.force_login(approver)
    response = client.post("/admin/servicing/payment/", action, follow=True)
    assert "1 item(s) approved" in response.content.decode()
    entry = LedgerEntry.objects.get(key=f"payment:{payment.pk}")
    assert (entry.account, entry.amount, entry.posted_by, entry.approved_by) == (
        "interest",
        D("-2200.00"),
        approver,
        approver,
    )


def test_a_rejection_in_the_admin_asks_for_the_reason_and_keeps_it(client, make_note, staff, approver):
    note = make_note()
    payment = services.payment_record(note=note, received_on=date(2024, 2, 5), amount=D("5.00"), by=staff)
    approver.is_staff = True
    approver.save()
    client.force_login(approver)
    action = {"action": "reject_selected", "_selected_action": [payment.pk]}
    page = client.post("/admin/servicing/payment/", action)
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    assert Payment.objects.get().approval == "pending"  # asked for the reason first
    client.post("/admin/servicing/payment/", action | {"_confirm": "1", "reason": "no such wire"})
    payment.refresh_from_db()
    assert (payment.approval, payment.rejection_reason, payment.decided_by) == ("rejected", "no such wire", approver)


def test_a_viewer_sees_records_in_the_admin_but_cannot_add_or_approve(client, make_note, staff):
    note = make_note()
    payment = services.payment_record(note=note, received_on=date(2024, 2, 5), amount=D("5.00"), by=staff)
    viewer = UserFactory(username="viewer", roles=["viewer"], is_staff=True)
    client.force_login(viewer)
    assert client.get("/admin/servicing/payment/").status_code == 200
    assert client.get("/admin/servicing/payment/add/").status_code == 403
    client.post("/admin/servicing/payment/", {"action": "approve_selected", "_selected_action": [payment.pk]})
    assert Payment.objects.get().approval == "pending"


def test_a_bad_payment_in_the_admin_is_shown_next_to_its_field_and_changes_nothing(admin_client, make_note):
    note = make_note()
    form = {"note": note.pk, "received_on": "2024-01-01", "amount": "10.00"}
    before = row_counts()
    response = admin_client.post("/admin/servicing/payment/add/", once(form))
    words = "Received on 2024-01-01 is before the agreement date 2024-01-10"
    refused_at(response, "received_on", words)
    assert words in response.content.decode()
    assert row_counts() == before


@time_machine.travel("2024-03-01 12:00 -0500", tick=False)
def test_a_note_added_in_the_admin_is_checked_and_funded(admin_client, issuer, holder):
    form = {
        "number": "CN-ADMIN",
        "issuer": issuer.pk,
        "holder": holder.pk,
        "agreement_date": "2024-02-15",
        "maturity_date": "2025-02-15",
        "principal": "100000.00",
        "rate": "0.075",
        "default_rate_spread": "0.03",
        "prepayment_lockout_months": "3",
        "conversion_premium": "1.10",
        "conversion_price": "2.50",
        "calendar": "XFED",
    }
    response = admin_client.post("/admin/notes/note/add/", once(form | {"maturity_date": "2024-01-01"}))
    refused_at(response, "maturity_date", "must be after the agreement date")
    assert not Note.objects.exists()
    response = admin_client.post("/admin/notes/note/add/", once(form))
    assert response.status_code == 302, response.content.decode()[:2000]
    note = Note.objects.get(number="CN-ADMIN")
    assert note.closed_through == date(2024, 2, 15)  # funded; the close takes it from there
    assert LedgerEntry.objects.get(note=note).kind == "funding"
    close_books(through=date(2024, 3, 1))
    assert LedgerEntry.objects.filter(note=note, kind="bill").get().amount == D("308.22")  # 15 days × 20.547945…


def test_every_admin_list_add_and_change_page_opens(admin_client, make_note, staff, approve):
    """The list, add and change pages of every record, with a record of each kind made by the services."""
    from django.contrib import admin as django_admin

    from servicing import lifecycle

    note = make_note()
    other = HolderFactory(name="Bea Assignee")
    with time_machine.travel("2024-03-20 12:00 -0500", tick=False):
        approve(
            lifecycle.assignment_record(
                note=note, effective_on=date(2024, 3, 15), parts=[(other, D("10.00"))], by=staff
            )
        )
        approve(lifecycle.corporate_action_record(issuer=note.issuer, kind="sale", effective_on=date(2024, 3, 18),
                                                  successor="Buyer Inc.", securities=[("Buyer stock", D("1.5"))],
                                                  by=staff))  # fmt: skip
        event = approve(
            services.default_record(note=note, kind="misrepresentation", occurred_on=date(2024, 3, 4), by=staff)
        )
        services.waiver_record(event=event, waived_on=date(2024, 3, 8), by=staff)
    for model in django_admin.site._registry:
        meta = model._meta
        base = f"/admin/{meta.app_label}/{meta.model_name}/"
        assert admin_client.get(base).status_code == 200, base
        assert admin_client.get(base + "add/").status_code in (200, 403), base
        obj = model.objects.first()
        if obj is not None:
            assert admin_client.get(f"{base}{obj.pk}/change/").status_code == 200, base


def test_an_assignment_added_in_the_admin_names_its_assignees(admin_client, make_note):
    from notes.models import Assignment

    note = make_note()
    bea, cal = HolderFactory(name="Bea"), HolderFactory(name="Cal")
    form = {"note": note.pk, "effective_on": "2024-03-15", "assignee_1": bea.pk, "principal_1": "1000.00"}
    response = admin_client.post("/admin/notes/assignment/add/", once(form | {"assignee_2": cal.pk}))
    refused_at(response, "principal_2", "give both the assignee and the principal assigned")
    response = admin_client.post(
        "/admin/notes/assignment/add/", once(form | {"assignee_2": cal.pk, "principal_2": "5.00"})
    )
    assert response.status_code == 302, re.findall(r"errorlist.*?</ul>", response.content.decode(), re.S)
    assignment = Assignment.objects.get()
    assert [(p.assignee, p.principal) for p in assignment.parts.all()] == [(bea, D("1000.00")), (cal, D("5.00"))]
    assert assignment.approval == "pending"


def test_a_covenant_cure_is_recorded_from_the_admin_with_its_date_and_waits_for_approval(
    admin_client, make_note, staff, approve
):
    from servicing import clock
    from servicing.models import Cure, DefaultEvent

    note = make_note()
    with clock.pinned(date(2024, 3, 20)):
        breach = approve(services.default_record(note=note, kind="covenant", occurred_on=date(2024, 3, 1), by=staff))
    action = {"action": "cure_selected", "_selected_action": [breach.pk]}
    page = admin_client.get("/admin/servicing/defaultevent/").content.decode()
    assert "2024-03-08" in page or "March 8, 2024" in page  # the cure deadline
    admin_client.post("/admin/servicing/defaultevent/", action | {"_confirm": "1", "cured_on": "2024-02-01"})
    assert not Cure.objects.exists()  # before the breach: refused
    admin_client.post("/admin/servicing/defaultevent/", action | {"_confirm": "1", "cured_on": "2024-03-11"})
    cure = Cure.objects.get()
    assert (cure.cured_on, cure.approval, DefaultEvent.objects.get().ended_on) == (date(2024, 3, 11), "pending", None)
    with clock.pinned(date(2024, 3, 20)):
        approve(cure)
    assert DefaultEvent.objects.get().ended_on == date(2024, 3, 11)
