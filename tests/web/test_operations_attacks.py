"""The operations pages as an attacker tries them: job runs and statement outcomes are never
changed or deleted through the admin (bulk action and history included), record text renders
escaped, a user without the permission sees no runs, and a viewer's posts write nothing."""

from datetime import date

import pytest
from django.utils import timezone

from servicing.models import JobRun, StatementDelivery, StatementOutcome
from tests.factories import HolderFactory, UserFactory

pytestmark = pytest.mark.django_db
EVIL = "<img src=http://127.0.0.1:1/>\nline two"


@pytest.fixture
def records():
    run = JobRun.objects.create(
        job="statements",
        state="failed",
        finished_at=timezone.now(),
        failures=[{"note": 999999, "error": EVIL}],
        summary={"given_up": 1, "<b>key</b>": EVIL},
    )
    holder = HolderFactory(name="Holder <img src=http://127.0.0.1:1/>")  # one line: names are validated
    delivery = StatementDelivery.objects.create(holder=holder, month=date(2026, 1, 1), status="gave_up")
    outcome = StatementOutcome.objects.create(run=run, delivery=delivery, outcome="gave_up", tries=5, error=EVIL)
    return run, outcome


@pytest.fixture
def superuser(client):
    user = UserFactory(username="root", roles=["admin"], is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def snapshot(run, outcome):
    run.refresh_from_db()
    outcome.refresh_from_db()
    return (run.state, run.failures, run.summary, outcome.outcome, outcome.error, outcome.tries)


def test_not_even_a_superuser_changes_or_deletes_a_run_or_an_outcome_in_the_admin(client, superuser, records):
    run, outcome = records
    before = snapshot(run, outcome)
    for model, obj in (("jobrun", run), ("statementoutcome", outcome)):
        base = f"/admin/servicing/{model}/"
        assert client.get(f"{base}add/").status_code == 403
        assert client.post(f"{base}add/", {"job": "x"}).status_code == 403
        assert client.post(f"{base}{obj.pk}/delete/", {"post": "yes"}).status_code == 403
        changed = client.post(f"{base}{obj.pk}/change/", {"state": "finished", "outcome": "sent", "error": ""})
        assert changed.status_code == 403
        bulk = client.post(base, {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
        assert bulk.status_code in (200, 302)
        listing = client.get(base).content.decode()
        assert "delete_selected" not in listing  # no bulk delete offered
        history = client.get(f"{base}{obj.pk}/history/")
        assert history.status_code == 200
    assert JobRun.objects.filter(pk=run.pk).exists() and StatementOutcome.objects.filter(pk=outcome.pk).exists()
    assert snapshot(run, outcome) == before


def test_record_text_renders_escaped_on_the_jobs_page_and_in_the_admin(client, superuser, records):
    run, outcome = records
    pages = [
        client.get("/jobs/"),
        client.get("/admin/servicing/jobrun/"),
        client.get(f"/admin/servicing/jobrun/{run.pk}/change/"),
        client.get("/admin/servicing/statementoutcome/"),
        client.get(f"/admin/servicing/statementoutcome/{outcome.pk}/change/"),
        client.get("/admin/servicing/statementoutcome/", {"q": "127.0.0.1"}),
    ]
    for response in pages:
        assert response.status_code == 200, response
        body = response.content.decode()
        assert "<img src=http://127.0.0.1:1/>" not in body and "<b>key</b>" not in body
    assert "&lt;img src=http://127.0.0.1:1/&gt;" in pages[0].content.decode()
    assert "&lt;img src=http://127.0.0.1:1/&gt;" in pages[3].content.decode()


def test_without_the_permission_the_jobs_page_is_refused(client, records):
    client.force_login(UserFactory(username="nobody"))
    response = client.get("/jobs/")
    assert response.status_code == 403
    assert "127.0.0.1:1" not in response.content.decode()


def test_a_viewers_posts_to_the_operations_pages_write_nothing(client, records, settings):
    run, outcome = records
    settings.METRICS_TOKEN = "t0ken-for-the-viewer-test"
    client.force_login(UserFactory(username="viewer", roles=["viewer"]))
    before = (JobRun.objects.count(), StatementOutcome.objects.count(), snapshot(run, outcome))
    auth = {"Authorization": f"Bearer {settings.METRICS_TOKEN}"}
    assert client.post("/jobs/", {"state": "finished"}).status_code in (200, 403, 405)
    assert client.post("/health/").status_code == 405
    assert client.post("/metrics", headers=auth).status_code == 405
    assert client.post("/metrics/", headers=auth).status_code == 405
    assert client.post(f"/admin/servicing/jobrun/{run.pk}/delete/", {"post": "yes"}).status_code in (302, 403)
    assert (JobRun.objects.count(), StatementOutcome.objects.count(), snapshot(run, outcome)) == before
