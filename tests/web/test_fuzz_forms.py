"""Junk in every field of every staff form and of every admin add form: huge and negative numbers, NaN,
Infinity, 50-digit decimals, dates at both ends of the calendar and far ahead, words for dates, long
text, text with newlines and markup, keys that are not numbers, nothing at all. Whatever is posted, no
submission ends in a server error, and a submission that is refused (at a field, by a permission, or
by a rule reported after the redirect) saves nothing.

Each submission is sent as the admin role (whom no permission stops before the form) and as a
servicer, in a savepoint rolled back after it, on the rich database of `tests.web.world`.
"""

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.messages import constants, get_messages
from django.db import DatabaseError, transaction
from django.db.transaction import TransactionManagementError
from django.test import RequestFactory
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicing import views
from servicing.forms import WORKFLOWS
from tests.web.world import (
    TODAY,
    Fingerprint,
    Sessions,
    add_inputs,
    is_noise,
    main_form,
    once,
    quiet_request_logs,
    workflow_inputs,
    world_for_module,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ISO = TODAY.isoformat()
ROLES = ("admin", "servicer")
SWEEPER = "admin"  # the role that also sends every junk value once (below), before the random mixes
EXAMPLES = 10  # random mixes of junk and valid input per form and role: the file runs in a couple of minutes

# Junk of every type, for any field.
JUNK = [
    "",
    " ",
    "0",
    "-1",
    "-0.01",
    "99999999999999999999",
    "-99999999999999999999",
    "9" * 50,
    "1" * 25 + "." + "1" * 25,
    "0.000000000000000000000000000001",
    "1e30",
    "-1e30",
    "1E-30",
    "NaN",
    "Infinity",
    "-Infinity",
    "0001-01-01",
    "9999-12-31",
    "2200-01-01",
    "1900-01-01",
    "2025-02-30",
    "2025-13-01",
    "31/12/2025",
    "yesterday",
    "x" * 300,
    "y" * 5000,
    "line one\nline two\r\n<img src=http://127.0.0.1:9/x>",
    "<script>alert(1)</script>",
    "abc",
    "1.5",
    "12abc",
    "\x00",
    "😀",
]
NOT_TYPED = {"csrfmiddlewaretoken", "once", "_save", "_continue", "_addanother"}  # sent by the page, not typed
# The admin models the admin role may add (it holds every permission of these apps, and on users).
ADMIN_APPS = ("holders", "notes", "servicing", "auth")


# ---------------------------------------------------------------------------------------------------
# The forms


@dataclass(frozen=True)
class Form:
    """A form to fill: where it is, and valid input for it (junk then replaces some of it)."""

    name: str
    url: Callable  # world → the form's URL
    values: Callable  # world → valid input, field by field
    method: str = "POST"
    form_id: str | None = None


def record(kind: str) -> Form:
    def note_and_values(world):
        return workflow_inputs(world).get(kind, (world.notes["DEMO-LATE"], {}))

    return Form(
        f"record {kind}",
        lambda world: reverse("servicing:record", args=[note_and_values(world)[0].pk, kind]),
        lambda world: note_and_values(world)[1],
    )


def admin_add(model) -> Form:
    opts = model._meta
    return Form(
        f"admin add {opts.label_lower}",
        lambda world: reverse(f"admin:{opts.app_label}_{opts.model_name}_add"),
        lambda world: add_inputs(world).get(opts.label_lower, {}),
        form_id=f"{opts.model_name}_form",
    )


class Everyone:
    """A user every permission is granted to: asks a model admin whether it adds at all."""

    is_active = is_staff = is_superuser = True

    def has_perm(self, perm, obj=None):
        return True


def addable_models() -> list:
    request = RequestFactory().get("/")
    request.user = Everyone()
    return sorted(
        (
            model
            for model, model_admin in admin.site._registry.items()
            if model._meta.app_label in ADMIN_APPS and model_admin.has_add_permission(request)
        ),
        key=lambda model: model._meta.label_lower,
    )


def pending_payment(world):
    return world.pending(views.MODELS["payment"])


STAFF_FORMS = [
    *(record(kind) for kind in WORKFLOWS),
    Form(
        "warrant exercise",
        lambda world: reverse("servicing:warrant", args=[world.named["notes.warrant"].pk, "exercise"]),
        lambda world: {"exercised_on": ISO, "shares": "10"},
    ),
    Form(
        "warrant assign",
        lambda world: reverse("servicing:warrant", args=[world.named["notes.warrant"].pk, "assign"]),
        lambda world: {"effective_on": ISO, "assignee": world.named["world holder"].pk, "shares": "10"},
    ),
    Form(
        "closing prices",
        lambda world: reverse("servicing:closing_prices"),
        lambda world: {
            "issuer": world.named["acme"].pk,
            "date": (TODAY - timedelta(days=1)).isoformat(),
            "close": "2.5",
        },
    ),
    Form(
        "corporate action",
        lambda world: reverse("servicing:corporate_action"),
        lambda world: {"issuer": world.named["acme"].pk, "kind": "combination", "effective_on": ISO, "ratio": "0.5"},
    ),
    Form("statements month", lambda world: reverse("servicing:statements"), lambda world: {"month": "2025-01"}),
    Form(
        "payment reverse reason",
        lambda world: reverse("servicing:payment_reverse", args=[world.named["approved payment"].pk]),
        lambda world: {"reason": "keyed in error"},
    ),
    Form(
        "participation end",
        lambda world: reverse("servicing:participation_end", args=[world.named["notes.participation"].pk]),
        lambda world: {"ends_on": (TODAY + timedelta(days=1)).isoformat()},
    ),
    Form(
        "flag clear",
        lambda world: reverse("servicing:flag_clear", args=[world.named["notes.reviewflag"].pk]),
        lambda world: {"resolution": "reviewed: no change"},
    ),
    Form(
        "approvals reject reason",
        lambda world: reverse("servicing:decide", args=["payment", pending_payment(world).pk, "reject"]),
        lambda world: {"reason": "not on the statement"},
    ),
    Form(
        "note what-if",
        lambda world: reverse("notes:detail", args=[world.notes["DEMO-LATE"].pk]),
        lambda world: {"on": ISO, "principal": "1000.00"},
        method="GET",
    ),
]
FORMS = STAFF_FORMS + [admin_add(model) for model in addable_models()]


# ---------------------------------------------------------------------------------------------------
# The world, and what a submission did

TALLY: Counter = Counter()  # every submission of the module, by what became of it


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    with world_for_module(django_db_blocker, tmp_path_factory.mktemp("media")) as built:
        yield built
    print(
        "\nfuzzed forms: "
        + ", ".join(f"{what} {TALLY[what]}" for what in ("submissions", "refused at a field", "refused", "accepted"))
        + f", shown 200 {TALLY['shown']}, server errors {TALLY['server error']}, saved on a refusal {TALLY['saved']}"
    )


@pytest.fixture(autouse=True)
def media_root(world, settings):
    settings.MEDIA_ROOT = world.media_root
    return settings.MEDIA_ROOT


@pytest.fixture(scope="module")
def sessions(world):
    return Sessions(world)


@pytest.fixture(scope="module")
def fingerprint(sessions):
    """Taken once the roles are logged in: the state every submission starts from."""
    return Fingerprint()


# Where a page says what it refused: a field's error, a warning.
REFUSAL = re.compile(r'class="[^"]*(?:invalid-feedback|alert-warning)[^"]*"[^>]*>(.*?)</(?:span|div|p)>', re.S)
ERROR_MARKS = ("is-invalid", "invalid-feedback", "errorlist", "errornote", "alert-danger")


def outcome(response) -> str:
    """What became of a submission: accepted (a redirect with no error), refused at a field (the form
    shown again with its errors), refused (a permission, a missing record, a rule reported after the
    redirect), shown (a page with no error), or a server error."""
    status = response.status_code
    if status >= 500:
        return "server error"
    if status in (301, 302, 303):
        refused = any(m.level >= constants.ERROR for m in get_messages(response.wsgi_request))
        return "refused" if refused else "accepted"
    if status == 200:
        page = (
            response.content.decode(errors="replace")
            if response.get("Content-Type", "").startswith("text/html")
            else ""
        )
        return "refused at a field" if any(mark in page for mark in ERROR_MARKS) else "shown"
    return "refused"


def submit(client, form: Form, url: str, data: dict, fingerprint: Fingerprint) -> tuple[str, list, str]:
    """Send one submission in a savepoint rolled back after it: what became of it, the tables it
    changed, and the exception of a server error."""
    with transaction.atomic():
        since = fingerprint.counters()
        if form.method == "GET":
            response = client.get(url, data)
        else:
            response = client.post(url, data | once())
        try:
            changed = [str(c) for t, c in fingerprint.changes(since).items() if not is_noise(t)]
        except (DatabaseError, TransactionManagementError) as e:
            changed = [f"the request broke the transaction ({type(e).__name__})"]
        transaction.set_rollback(True)
    error = f"{type(client.error).__name__}: {client.error}" if client.error is not None else ""
    return outcome(response), changed, error


def abridged(value, limit=60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}…({len(value)} characters)"


# ---------------------------------------------------------------------------------------------------
# The tests


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
def test_junk_in_any_field_never_breaks_the_form_nor_saves_when_refused(world, sessions, fingerprint, form, role):
    url, valid = form.url(world), form.values(world)
    rendered = main_form(sessions.page(url), form.form_id) if form.method == "POST" else None
    names = sorted(({*rendered["names"]} if rendered else set()) - NOT_TYPED | valid.keys())
    assert names, f"{form.name}: no field to fill at {url}"
    base = ({k: v[0] if len(v) == 1 else v for k, v in rendered["fields"].items()} if rendered else {}) | valid
    failures = []

    def send(values: dict) -> None:
        what, changed, error = submit(sessions.client(role), form, url, base | values, fingerprint)
        typed = {k: abridged(v) for k, v in values.items() if v != base.get(k, "")}
        TALLY["submissions"] += 1
        TALLY[what] += 1
        if what == "server error":
            failures.append(f"server error {error[:300]} for {typed}")
        elif what != "accepted" and changed:
            TALLY["saved"] += 1
            failures.append(f"{what}, yet saved: {', '.join(changed)} for {typed}")

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        st.fixed_dictionaries({name: st.one_of(st.just(base.get(name, "")), st.sampled_from(JUNK)) for name in names})
    )
    def junk_anywhere(values):
        send(values)

    with quiet_request_logs():
        if role == SWEEPER:
            # Every junk value once, each in the next field in turn, the other fields valid.
            for i, value in enumerate(JUNK):
                send({names[i % len(names)]: value})
        junk_anywhere()
    if failures:
        distinct = sorted({re.sub(r" for \{.*", "", f) for f in failures})
        report = [f"{form.name} as {role}:", *distinct, "", "The first inputs:", *failures[:5]]
        pytest.fail("\n".join(report), pytrace=False)


@pytest.mark.parametrize("far", ["9999-12-31", "2200-01-01"])
def test_the_what_if_refuses_a_date_far_beyond_the_note_and_says_why(world, sessions, far):
    url = reverse("notes:detail", args=[world.notes["DEMO-LATE"].pk])
    with quiet_request_logs(), transaction.atomic():
        response = sessions.client("admin").get(url, {"on": far, "principal": "1000.00"})
        transaction.set_rollback(True)
    assert response.status_code == 200
    page = response.content.decode()
    refusals = [re.sub(r"<[^>]+>", "", text).strip() for text in REFUSAL.findall(page)]
    assert [text for text in refusals if text], "no refusal shown for the what-if on " + far
    assert "data-payoff" not in page and "data-shares" not in page  # no figure for a day the note never reaches
