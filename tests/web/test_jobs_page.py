"""Operations → Job runs and the admin's Job runs show each run's state, its retry and its worker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from servicing.models import JobRun
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(make_note):
    now = timezone.now()
    note = make_note(number="BROKEN-7")
    abandoned = JobRun.objects.create(
        job="close_books",
        state="abandoned",
        finished_at=now,
        worker="celery@web1:4711",
        failures=[{"error": "abandoned: its worker celery@web1:4711 died: node celery@web1 started again"}],
    )
    retry = JobRun.objects.create(
        job="close_books",
        state="failed",
        finished_at=now,
        retry_of=abandoned,
        worker="celery@web1:4800",
        failures=[{"note": note.pk, "error": "ValueError: <b>broken</b>"}],
    )
    silent = JobRun.objects.create(job="reminders", heartbeat_at=now - timedelta(minutes=10), worker="celery@web2:9")
    alive = JobRun.objects.create(job="statements", heartbeat_at=now, worker="celery@web2:10")
    return abandoned, retry, silent, alive


def test_the_page_shows_each_state_the_retry_and_the_worker(client, runs):
    abandoned, retry, silent, alive = runs
    client.force_login(UserFactory(username="viewer", roles=["viewer"]))
    page = client.get("/jobs/").content.decode()
    assert '<span class="badge text-bg-secondary">abandoned</span>' in page
    assert '<span class="badge text-bg-danger">failed</span>' in page
    beat = timezone.localtime(silent.heartbeat_at)
    assert f'<span class="badge text-bg-warning">running? no heartbeat since {beat:%H:%M}</span>' in page
    assert '<span class="badge text-bg-info">running</span>' in page
    assert f'<tr id="run-{abandoned.pk}">' in page
    assert f'<a href="#run-{abandoned.pk}">run {abandoned.pk}</a>' in page
    assert "celery@web1:4800" in page and "celery@web2:10" in page
    # The failed note by its number, linked; record text escaped.
    note = JobRun.objects.get(pk=retry.pk).failures[0]["note"]
    assert f'note <a href="/notes/{note}/">BROKEN-7</a>: ValueError: &lt;b&gt;broken&lt;/b&gt;' in page


def test_the_admin_lists_the_state_and_filters_by_it(client, runs):
    client.force_login(UserFactory(username="admin", roles=["admin"], is_staff=True))
    page = client.get("/admin/servicing/jobrun/", {"state__exact": "abandoned"}).content.decode()
    assert "column-state" in page and "abandoned (its worker died)" in page
    assert "?state__exact=failed" in page  # the filter offers every state
    listed = client.get("/admin/servicing/jobrun/", {"state__exact": "abandoned"}).context["cl"].result_list
    assert [r.state for r in listed] == ["abandoned"]
