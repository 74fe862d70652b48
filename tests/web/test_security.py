"""Every page needs a login, every action a permission; CSRF, throttled logins, deploy settings."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db
OPEN = {"login", "health"}  # the pages open to everyone: the login and the health check


def patterns(resolver=None, prefix=""):
    """Every URL pattern as (name, a URL for it), arguments filled in with 1 or a word."""
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            if p.app_name == "admin" or str(p.pattern).startswith("static"):
                continue
            yield from patterns(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            for converter, value in (("<int:pk>", "1"), ("<slug:kind>", "payment"), ("<slug:model>", "payment")):
                route = route.replace(converter, value)
            route = route.replace("<slug:decision>", "approve").replace("<slug:action>", "exercise")
            route = route.replace("<slug:step>", "check")
            yield p.name, "/" + route


def test_every_page_but_the_login_refuses_an_anonymous_user(client):
    seen = 0
    for name, url in patterns():
        if name == "metrics":  # no login, a token instead: off (not found) unless METRICS_TOKEN is set
            assert client.get("/metrics").status_code == 404
            continue
        response = client.get(url)
        if name in OPEN:
            assert response.status_code == 200, url
        else:
            assert response.status_code == 302 and response["Location"].startswith("/login/"), (url, response)
            seen += 1
    assert seen > 15  # the walk found the application's pages
    assert client.get("/admin/").status_code == 302


def test_a_post_without_its_csrf_token_is_refused(staff, make_note):
    note = make_note()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    url = reverse("servicing:record", args=[note.pk, "payment"])
    response = client.post(url, {"received_on": "2024-02-01", "amount": "10.00"})
    assert response.status_code == 403
    assert not note.payments.exists()


def test_failed_logins_are_throttled(client, staff):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "servicer", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "servicer", "password": "pw-servicer-1"})
    assert response.status_code == 429 and "Too many failed logins" in response.content.decode()


def test_check_deploy_reports_nothing_under_production_settings(tmp_path):
    # (The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for the live server; production never does.)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"} | {
        "DEBUG": "false",
        "SECRET_KEY": "a-long-random-production-secret-" + "x7Gq2#pL9" * 6,
        "ALLOWED_HOSTS": "servicing.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
