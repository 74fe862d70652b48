"""Operations → Import: upload, dry run row by row, import by the Celery task (eager here); a viewer
is refused on every URL of it, GET and POST."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from notes.models import Approval
from servicing import clock
from servicing.models import ImportRun, Payment
from tests.factories import UserFactory

GOOD = b"note,received_on,amount,reference\nP-1,2025-01-10,1000.00,wire 1\nP-1,2025-02-10,250.25,wire 2\n"
BAD = b"note,received_on,amount,reference\nP-9,2025-01-10,1000.00,\nP-1,2025-02-31,250.25,\n"


@pytest.fixture(autouse=True)
def pinned():
    with clock.pinned(date(2025, 3, 3)):
        yield


@pytest.fixture
def note(make_note):
    return make_note(number="P-1")


def upload(client, data: bytes, kind="payments") -> ImportRun:
    response = client.post(reverse("servicing:import"), {"kind": kind, "file": SimpleUploadedFile("pay.csv", data)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportRun.objects.latest("pk")


def test_upload_check_and_import_payments(client, staff, note):
    client.force_login(staff)
    page = client.get(reverse("servicing:import"))
    assert page.status_code == 200
    assert reverse("servicing:import_template", args=["payments"]) in page.content.decode()
    run = upload(client, GOOD)
    assert run.status == "uploaded" and bytes(run.content) == GOOD
    client.post(reverse("servicing:import_step", args=[run.pk, "check"]))
    run.refresh_from_db()
    assert run.status == "checked" and run.report["summary"] == "would create 2 payments, 0 unchanged"
    assert Payment.objects.count() == 0
    body = client.get(reverse("servicing:import_run", args=[run.pk])).content.decode()
    assert "payment of 250.25 on note P-1 received 2025-02-10" in body and ">Import</button>" in body
    # Another servicer imports it: the payments are recorded by who pressed Import.
    other = UserFactory(roles=["servicer"])
    client.force_login(other)
    client.post(reverse("servicing:import_step", args=[run.pk, "import"]))
    run.refresh_from_db()
    assert run.status == "imported" and run.report["summary"] == "created 2 payments, 0 unchanged"
    payments = Payment.objects.order_by("received_on")
    assert [(p.amount, p.reference, p.approval, p.recorded_by) for p in payments] == [
        (1000, "wire 1", Approval.PENDING, other),
        (250.25, "wire 2", Approval.PENDING, other),
    ]
    assert client.get(reverse("servicing:import_progress", args=[run.pk])).json() == {
        "status": "imported",
        "done": 2,
        "total": 2,
        "percent": 100,
    }
    # Once imported, it is not imported again; a new upload of the same file would create nothing.
    client.post(reverse("servicing:import_step", args=[run.pk, "import"]))
    again = upload(client, GOOD)
    client.post(reverse("servicing:import_step", args=[again.pk, "check"]))
    again.refresh_from_db()
    assert again.report["summary"] == "would create 0 payments, 2 unchanged"
    assert ">Import</button>" not in client.get(reverse("servicing:import_run", args=[again.pk])).content.decode()
    assert Payment.objects.count() == 2


def test_a_file_with_problems_shows_each_and_cannot_be_imported(client, staff, note):
    client.force_login(staff)
    run = upload(client, BAD)
    client.post(reverse("servicing:import_step", args=[run.pk, "check"]))
    body = client.get(reverse("servicing:import_run", args=[run.pk])).content.decode()
    assert "row 2, column note: no note is numbered P-9" in body
    assert "row 3, column received_on: &#x27;2025-02-31&#x27; is not a date as YYYY-MM-DD" in body
    assert ">Import</button>" not in body
    client.post(reverse("servicing:import_step", args=[run.pk, "import"]))
    assert Payment.objects.count() == 0


def test_a_kind_needs_its_add_permission(client, note):
    approver = UserFactory(roles=["approver"])  # views everything, adds nothing
    client.force_login(approver)
    assert client.get(reverse("servicing:import")).status_code == 403


def test_a_viewer_is_refused_on_every_url(client, staff, note):
    client.force_login(staff)
    run = upload(client, GOOD)
    client.force_login(UserFactory(roles=["viewer"]))
    urls = [
        reverse("servicing:import"),
        reverse("servicing:import_template", args=["payments"]),
        reverse("servicing:import_run", args=[run.pk]),
        reverse("servicing:import_progress", args=[run.pk]),
        reverse("servicing:import_step", args=[run.pk, "check"]),
        reverse("servicing:import_step", args=[run.pk, "import"]),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"kind": "payments", "file": SimpleUploadedFile("p.csv", GOOD)}).status_code == 403
    run.refresh_from_db()
    assert run.status == "uploaded" and ImportRun.objects.count() == 1 and Payment.objects.count() == 0
