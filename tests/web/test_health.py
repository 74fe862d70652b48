"""/health/: 200 only when the database, Redis, the documents' storage and a recent close are right."""

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from servicing.models import JobRun

pytestmark = pytest.mark.django_db
URL = "/health/"


def closed(hours_ago: float, state: str = "finished", **fields) -> JobRun:
    run = JobRun.objects.create(job="close_books", through=timezone.localdate(), **fields)
    JobRun.objects.filter(pk=run.pk).update(state=state, finished_at=timezone.now() - timedelta(hours=hours_ago))
    return run


def redis_listening() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


def test_all_right_answers_200_with_one_entry_per_check(client, make_note, media_root):
    make_note()
    closed(hours_ago=2)
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert set(body) == {"database", "redis", "storage", "close"}
    assert all(entry["ok"] is True for entry in body.values()), body
    assert body["redis"] == {"ok": True, "used": False}  # the embedded default: no broker
    assert body["close"]["max_age_hours"] == 36 and body["close"]["state"] == "finished"
    assert list(media_root.iterdir()) == []  # the storage check's file is gone again


def test_anonymous_is_not_redirected_to_the_login(client):
    response = client.get(URL)
    assert response.status_code == 200 and "Location" not in response
    assert response.json()["close"] == {"ok": True, "needed": False}  # no notes: no close needed


def test_post_is_not_allowed(client):
    assert client.post(URL).status_code == 405
    assert client.head(URL).status_code == 200


def test_a_close_older_than_the_limit_answers_503(client, make_note, settings):
    make_note()
    closed(hours_ago=37)
    JobRun.objects.create(job="close_books")  # a later close still running does not count
    JobRun.objects.create(job="statements", state="finished", finished_at=timezone.now())  # nor another job
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["close"]["ok"] is False and body["database"]["ok"] is True
    settings.HEALTH_CLOSE_MAX_AGE_HOURS = 48
    assert client.get(URL).status_code == 200


def test_notes_and_no_close_at_all_answers_503(client, make_note):
    make_note()
    response = client.get(URL)
    assert response.status_code == 503
    assert response.json()["close"] == {"ok": False, "max_age_hours": 36, "state": None, "finished_at": None}


@pytest.mark.parametrize("state", ["failed", "abandoned"])
def test_a_latest_close_that_failed_or_was_abandoned_answers_503_until_a_later_one_finishes(client, make_note, state):
    make_note()
    closed(hours_ago=30)
    bad = closed(hours_ago=2, state=state, failures=[{"note": 1, "error": "ValueError: broken"}])
    JobRun.objects.create(job="close_books")  # its retry, still running: not yet an answer
    response = client.get(URL)
    assert response.status_code == 503
    close = response.json()["close"]
    assert (close["ok"], close["state"]) == (False, state)
    assert "broken" not in response.content.decode()  # the failures stay on the job runs page
    closed(hours_ago=1, retry_of=bad)
    response = client.get(URL)
    assert response.status_code == 200
    assert (response.json()["close"]["ok"], response.json()["close"]["state"]) == (True, "finished")


def test_storage_not_writable_answers_503(client, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # root writes anywhere; no one makes a folder inside a file
    settings.MEDIA_ROOT = blocker / "media"
    response = client.get(URL)
    assert response.status_code == 503
    body = response.json()
    assert body["storage"]["ok"] is False and body["database"]["ok"] is True
    assert str(tmp_path) not in response.content.decode()


def test_a_broker_that_does_not_answer_answers_503(client, settings):
    settings.CELERY_BROKER_URL = "redis://:s3cret-pass@127.0.0.1:1/0"
    response = client.get(URL)
    assert response.status_code == 503
    assert response.json()["redis"] == {"ok": False, "error": "ConnectionError"}
    assert "s3cret" not in response.content.decode()


@pytest.mark.skipif(not redis_listening(), reason="no Redis on 127.0.0.1:6379")
def test_a_live_redis_is_right(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    assert client.get(URL).json()["redis"] == {"ok": True, "used": True}


def test_database_down_answers_503(tmp_path):
    """The site started against a database that is not there (a wrong DATABASE_URL)."""
    script = (
        "from django.test import Client\n"
        "r = Client().get('/health/', HTTP_HOST='localhost')\n"
        "print(r.status_code)\n"
        "print(r.content.decode())\n"
    )
    env = os.environ | {
        "DATABASE_URL": "postgres://postgres:db-pass@127.0.0.1:1/nothing",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "CELERY_BROKER_URL": "",
        "DEBUG": "true",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    status, body = result.stdout.strip().split("\n", 1)
    assert status == "503"
    checks = json.loads(body)
    assert checks["database"] == {"ok": False, "error": "OperationalError"}
    assert checks["storage"]["ok"] is True
    assert "db-pass" not in body and "127.0.0.1" not in body


def test_a_monitor_on_plain_http_is_not_redirected_to_https(settings):
    from django.test import Client

    settings.SECURE_SSL_REDIRECT = True  # DEBUG off, as in production
    client = Client()  # its middleware is built on the first request, with these settings
    assert client.get("/login/").status_code == 301  # every other page goes to https
    response = client.get(URL)
    assert response.status_code == 200 and response.json()["database"]["ok"] is True
