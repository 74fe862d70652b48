"""What the web tests that walk every page and form share: a rich database, a client per role, valid
input for every form, a fingerprint of every table that tells what a request wrote, and a reader of the
forms a page renders.

`build_world()` loads the demo on a fixed day and adds what the demo lacks, so that every model of the
admin has a row and every kind of record that waits for a second pair of eyes has one pending. A step
the rules refuse is kept in `World.problems` instead of stopping the build: the tests report it.
"""

import functools
import json
import logging
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from http.cookies import SimpleCookie

import pytest
import time_machine
from django.apps import apps
from django.contrib import admin
from django.db import connection, models, transaction
from django.forms.models import model_to_dict
from django.test import Client, override_settings
from django.utils import timezone

from notes.models import Approval, Note, Warrant
from servicing import approvals, clock, lifecycle, services
from servicing.deliveries import statements_run
from servicing.demo import load_demo
from tests.factories import (
    DefaultEventFactory,
    HolderFactory,
    IssuerFactory,
    NoteFactory,
    PaymentFactory,
    UserFactory,
    exhibit_pdf,
)

# A Wednesday. The demo dates its notes around today; its first note (agreement 2004, maturity 2005) can
# be replayed only to 20 years after its maturity, so the world lives before 2025-06-15.
TODAY = date(2025, 3, 12)
ROLES = ("anonymous", "viewer", "servicer", "approver", "admin", "superuser")
PENDING = Approval.PENDING


# ---------------------------------------------------------------------------------------------------
# The world


@dataclass
class World:
    users: dict = field(default_factory=dict)  # role → user (no entry for anonymous)
    notes: dict = field(default_factory=dict)  # number → Note
    named: dict = field(default_factory=dict)  # what a test needs by name: "approved payment", "acme"…
    problems: list = field(default_factory=list)  # the steps the rules refused, with why

    def pending(self, model):
        return model.objects.filter(approval=PENDING, recorded_by=self.users["recorder"]).order_by("pk").first()

    def target(self, model):
        """The row of `model` a page about one record is opened on: the named one, a pending one
        for what waits for approval, else the first."""
        label = model._meta.label_lower
        if label in self.named:
            return self.named[label]
        if is_approvable(model):
            return self.pending(model) or model.objects.order_by("pk").first()
        return model.objects.order_by("pk").first()


def is_approvable(model) -> bool:
    return any(f.name == "approval" for f in model._meta.get_fields()) and hasattr(model, "recorded_by")


def build_world() -> World:
    """The demo, loaded on TODAY, and a record of every kind beside it (call with the clock frozen)."""
    world = World()
    with clock.pinned(TODAY):
        load_demo()
        world.notes = {n.number: n for n in Note.objects.all()}
        _users(world)
        _extras(world)
        _third_party_rows(world)
    for number, note in list(world.notes.items()):
        world.notes[number] = Note.objects.get(pk=note.pk)
    return world


def _users(world: World) -> None:
    # Staff users, since the admin site opens only to them; what each may do there comes from its groups.
    for role in ROLES[1:-1]:
        world.users[role] = UserFactory(username=role, roles=[role], is_staff=True)
    world.users["superuser"] = UserFactory(username="root", is_staff=True, is_superuser=True)
    # Records what waits for approval, so that every role that may approve meets something it did not record.
    world.users["recorder"] = UserFactory(username="recorder", roles=["servicer"], is_staff=True)


def _step(world: World, what: str, do):
    """Run one step of the build in a savepoint; a refusal is kept as a problem, not raised."""
    try:
        with transaction.atomic():
            return do()
    except Exception as e:  # the build goes on; the tests report what it could not make
        world.problems.append(f"{what}: {type(e).__name__}: {e}")
        return None


def _approve(item):
    if item is not None and getattr(item, "approval", None) == PENDING:
        approvals.approve(item, by=approvals.system_approver())
    return item


def _extras(world: World) -> None:
    """What the demo lacks: a default of each kind, a conversion done, corporate actions approved and
    pending, an acceleration, statements, and one pending record of every approvable kind."""
    t = TODAY
    recorder, by_recorder = world.users["recorder"], {"by": world.users["recorder"]}
    innovo, late, current = (world.notes[n] for n in ("DEMO-INNOVO", "DEMO-LATE", "DEMO-CURRENT"))
    substitute = current.substitutes.order_by("pk").first()
    holder = HolderFactory(name="Wren Holdings LLC", kind="entity", email="wren@example.com", notice_address="9 Elm")
    world.named["world holder"] = holder
    other_issuer = world.named["acme"] = IssuerFactory(name="Acme Widgets Inc.")

    def note(number, issuer, days_ago):
        agreed = t - timedelta(days=days_ago)
        return NoteFactory(
            number=number,
            issuer=issuer,
            holder=holder,
            agreement_date=agreed,
            maturity_date=agreed + timedelta(days=730),
            principal=Decimal("100000.00"),
            rate=Decimal("0.08"),
            by=recorder,
        )

    defaults = _step(world, "note WORLD-DEFAULTS", lambda: note("WORLD-DEFAULTS", innovo.issuer, 150))
    accelerated = _step(world, "note WORLD-ACCELERATED", lambda: note("WORLD-ACCELERATED", innovo.issuer, 150))
    acme = _step(world, "note WORLD-ACME", lambda: note("WORLD-ACME", other_issuer, 120))

    def default(on, kind, days_ago, approved_by=None):
        return DefaultEventFactory(
            note=on,
            kind=kind,
            occurred_on=t - timedelta(days=days_ago),
            today=t,
            approved_by=approved_by,
            **by_recorder,
        )

    system = approvals.system_approver()
    breach = misrepresentation = None
    if defaults:
        breach = _step(world, "covenant breach", lambda: default(defaults, "covenant", 20, system))
        world.named["open covenant breach"] = _step(
            world, "second covenant breach", lambda: default(defaults, "covenant", 18, system)
        )
        misrepresentation = _step(
            world, "misrepresentation", lambda: default(defaults, "misrepresentation", 30, system)
        )
        world.named["converted conversion"] = _step(
            world,
            "approved conversion",
            lambda: _approve(
                services.conversion_record(
                    note=defaults,
                    notice_sent=t - timedelta(days=10),
                    method="personal_delivery",
                    principal=Decimal("10000.00"),
                    **by_recorder,
                )
            ),
        )
    if accelerated:
        _step(world, "insolvency", lambda: default(accelerated, "insolvency", 15, system))
    if acme:
        split = {"kind": "split", "ratio": Decimal("2")}
        _step(
            world,
            "approved split",
            lambda: _approve(
                lifecycle.corporate_action_record(
                    issuer=other_issuer, effective_on=t - timedelta(days=7), **split, **by_recorder
                )
            ),
        )
        _step(
            world,
            "approved merger",
            lambda: _approve(
                lifecycle.corporate_action_record(
                    issuer=other_issuer,
                    kind="merger",
                    effective_on=t - timedelta(days=5),
                    successor="Acquirer Corp",
                    securities=[("Acquirer common stock", Decimal("0.5"))],
                    **by_recorder,
                )
            ),
        )
    _step(world, "statement run", lambda: statements_run(month=(t.replace(day=1) - timedelta(days=1)).replace(day=1)))

    # Payments to reverse: one approved by the system approver, one by the approver role (who may not
    # reverse what they approved), and one the admin role recorded (which they may not approve).
    world.named["approved payment"] = late.payments.filter(approval=Approval.APPROVED).order_by("pk").first()
    world.named["payment approved by the approver"] = _step(
        world,
        "payment approved by the approver role",
        lambda: PaymentFactory(
            note=late,
            received_on=t - timedelta(days=1),
            amount=Decimal("100.00"),
            today=t,
            approved_by=world.users["approver"],
            **by_recorder,
        ),
    )
    world.named["own payment of the admin"] = _step(
        world,
        "payment recorded by the admin role",
        lambda: PaymentFactory(note=late, received_on=t, amount=Decimal("5.00"), by=world.users["admin"]),
    )

    warrant = Warrant.objects.get(number="DEMO-W-1")
    pending_steps = {
        "payment": lambda: PaymentFactory(
            note=late, received_on=t, amount=Decimal("750.00"), reference="wire", **by_recorder
        ),
        "conversion": lambda: services.conversion_record(
            note=current, notice_sent=t, method="personal_delivery", principal=Decimal("1000.00"), **by_recorder
        ),
        "prepayment": lambda: services.prepayment_record(
            note=substitute,
            notice_sent=t,
            method="overnight_courier",
            prepayment_date=t + timedelta(days=21),
            principal=Decimal("1000.00"),
            **by_recorder,
        ),
        "acceleration notice": lambda: services.acceleration_record(
            note=defaults, notice_sent=t, method="personal_delivery", **by_recorder
        ),
        "covenant breach": lambda: default(current, "covenant", 1),
        "cure": lambda: services.cure_record(event=breach, cured_on=t, **by_recorder),
        "waiver": lambda: services.waiver_record(event=misrepresentation, waived_on=t, **by_recorder),
        "collection cost": lambda: services.cost_record(
            note=late, billed_on=t, amount=Decimal("250.00"), description="counsel", **by_recorder
        ),
        "payment reversal": lambda: services.reversal_record(
            payment=current.payments.filter(approval=Approval.APPROVED).order_by("pk").first(),
            reason="keyed twice",
            **by_recorder,
        ),
        "assignment": lambda: lifecycle.assignment_record(
            note=current, effective_on=t, parts=[(holder, Decimal("1000.00"))], **by_recorder
        ),
        "participation": lambda: lifecycle.participation_record(
            note=late, participant=holder, share=Decimal("0.1"), starts_on=t, **by_recorder
        ),
        "warrant exercise": lambda: lifecycle.warrant_exercise_record(
            warrant=warrant, exercised_on=t, shares=100, **by_recorder
        ),
        "warrant assignment": lambda: lifecycle.warrant_assignment_record(
            warrant=warrant, effective_on=t, assignee=holder, shares=100, **by_recorder
        ),
        "corporate action": lambda: lifecycle.corporate_action_record(
            issuer=other_issuer, kind="split", effective_on=t, ratio=Decimal("3"), **by_recorder
        ),
    }
    for what, do in pending_steps.items():
        _step(world, f"pending {what}", do)
    # After the pending records above, so that World.pending() finds those first.
    world.named["reversal of the approver's payment"] = _step(
        world,
        "a reversal asked of the payment the approver role approved",
        lambda: services.reversal_record(
            payment=world.named["payment approved by the approver"], reason="keyed twice", **by_recorder
        ),
    )
    world.named["servicing.defaultevent"] = world.named.get("open covenant breach")
    world.named["notes.participation"] = current.participations.filter(approval=Approval.APPROVED).first()
    world.named["notes.reviewflag"] = (
        apps.get_model("notes", "ReviewFlag").objects.filter(cleared_at__isnull=True).order_by("pk").first()
    )
    world.named["notes.warrant"] = warrant
    world.named["notes.note"] = late


def _third_party_rows(world: World) -> None:
    """A row for each admin model of the installed packages (schedules, login attempts) that has none."""
    makers = {
        "django_celery_beat.intervalschedule": lambda m: m.objects.create(every=10, period="seconds"),
        "django_celery_beat.crontabschedule": lambda m: m.objects.create(minute="5", hour="4"),
        "django_celery_beat.solarschedule": lambda m: m.objects.create(event="sunrise", latitude=40, longitude=-74),
        "django_celery_beat.clockedschedule": lambda m: m.objects.create(clocked_time=timezone.now()),
        "axes.accessattempt": lambda m: m.objects.create(
            username="someone", ip_address="127.0.0.1", failures_since_start=1
        ),
        "axes.accesslog": lambda m: m.objects.create(username="someone", ip_address="127.0.0.1"),
        "axes.accessfailurelog": lambda m: m.objects.create(username="someone", ip_address="127.0.0.1"),
    }
    for model in admin.site._registry:
        label = model._meta.label_lower
        if not model.objects.exists() and label in makers:
            _step(world, f"a row of {label}", lambda m=model, make=makers[label]: make(m))
    periodic = apps.get_model("django_celery_beat", "PeriodicTask")
    if not periodic.objects.exists():
        interval = apps.get_model("django_celery_beat", "IntervalSchedule").objects.first()
        _step(world, "a periodic task", lambda: periodic.objects.create(name="t", task="t", interval=interval))


# ---------------------------------------------------------------------------------------------------
# The world for a test module


@contextmanager
def world_for_module(django_db_blocker, media_root):
    """The world, built once for a module with the clock frozen on TODAY, and rolled back after it."""
    with (
        django_db_blocker.unblock(),
        time_machine.travel(f"{TODAY.isoformat()} 10:00 -0400", tick=False),
        # Passwords hashed quickly: the tests log in and change passwords many times.
        override_settings(MEDIA_ROOT=media_root, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        if connection.vendor != "postgresql":
            pytest.skip("the fingerprint of the tables needs PostgreSQL: run with DATABASE_URL=postgres://… (CI does)")
        world = build_world()
        world.media_root = media_root
        yield world
        transaction.set_rollback(True)


@contextmanager
def quiet_request_logs():
    """Refusals (403, 404) and server errors are counted by the tests, not logged one by one. (All
    logging is off meanwhile: a Celery task run from the admin configures the loggers afresh.)"""
    before = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(before)


# ---------------------------------------------------------------------------------------------------
# The roles' clients

PASSWORDS = {"superuser": "pw-root-1"} | {role: f"pw-{role}-1" for role in ROLES[1:-1]}


class RecordingClient(Client):
    """A test client that answers a server error with the 500 page, and keeps the exception."""

    def __init__(self, **kwargs):
        super().__init__(raise_request_exception=False, **kwargs)
        self.error = None

    def store_exc_info(self, **kwargs):
        super().store_exc_info(**kwargs)
        self.error = self.exc_info[1]


class Sessions:
    """One client per role, logged in once; each request starts from the role's session as it was
    logged in (a request that logs out or changes the password does not carry over)."""

    def __init__(self, world: World):
        self.clients, self.cookies = {}, {}
        for role in ROLES:
            client = RecordingClient()
            if role != "anonymous":
                client.force_login(world.users[role])
            self.clients[role] = client
            self.cookies[role] = {key: morsel.value for key, morsel in client.cookies.items()}

    def client(self, role: str) -> RecordingClient:
        client = self.clients[role]
        client.cookies = SimpleCookie(self.cookies[role])
        client.error = None
        return client

    def page(self, url: str) -> str:
        """A page as the superuser sees it (in a savepoint rolled back): where forms are read from."""
        with quiet_request_logs(), transaction.atomic():
            response = self.client("superuser").get(url)
            transaction.set_rollback(True)
        return response.content.decode() if response.status_code == 200 else ""

    def form_data(self, url: str, values: dict, form_id: str | None = None) -> dict:
        """What a user submits on the form at `url`: the fields it renders, with `values` typed in."""
        form = main_form(self.page(url), form_id)
        return (as_post(form["fields"]) if form else {}) | values


# ---------------------------------------------------------------------------------------------------
# Plausible input


@dataclass(frozen=True)
class Upload:
    """A PDF file in a form's data: each request sends a fresh copy (a file is read once)."""

    name: str = "exhibit.pdf"

    def file(self):
        from django.core.files.uploadedfile import SimpleUploadedFile

        return SimpleUploadedFile(self.name, side_letter(), "application/pdf")


@functools.cache
def side_letter() -> bytes:
    return exhibit_pdf(pages=1, heading="SIDE LETTER")


def uploads_opened(data: dict) -> dict:
    """`data` with each Upload replaced by a file to send."""
    return {k: v.file() if isinstance(v, Upload) else v for k, v in data.items()}


def workflow_inputs(world: World) -> dict:
    """Valid input for each staff workflow (servicing.forms.WORKFLOWS), with the note it is recorded on."""
    t = TODAY.isoformat()
    holder = world.named["world holder"].pk
    breach = getattr(world.named.get("open covenant breach"), "pk", "")
    later = (TODAY + timedelta(days=21)).isoformat()
    current, late = world.notes["DEMO-CURRENT"], world.notes["DEMO-LATE"]
    substitute = current.substitutes.order_by("pk").first() or current
    defaults = world.notes.get("WORLD-DEFAULTS", late)
    notice = {"kind": "other", "direction": "company_to_holder", "method": "personal_delivery", "sent_on": t}
    return {
        "payment": (late, {"received_on": t, "amount": "10.00", "reference": "wire 77"}),
        "notice": (current, notice),
        "conversion": (current, {"notice_sent": t, "method": "personal_delivery", "principal": "500.00"}),
        "prepayment": (
            substitute,
            {"notice_sent": t, "method": "overnight_courier", "prepayment_date": later, "principal": "500.00"},
        ),
        "covenant": (current, {"occurred_on": t, "description": "late accounts"}),
        "cure": (defaults, {"event": breach, "cured_on": t}),
        "misrepresentation": (current, {"occurred_on": t, "description": "false statement"}),
        "insolvency": (current, {"occurred_on": t}),
        "acceleration": (defaults, {"notice_sent": t, "method": "personal_delivery"}),
        "waiver": (defaults, {"event": breach, "waived_on": t, "description": "in writing"}),
        "cost": (late, {"billed_on": t, "amount": "10.00", "description": "filing fees"}),
        "assignment": (current, {"effective_on": t, "assignee_1": holder, "principal_1": "500.00"}),
        "participation": (late, {"participant": holder, "share": "0.05", "starts_on": t}),
    }


def add_inputs(world: World) -> dict:
    """Valid input for each admin add form, by model."""
    t, later, year_on = (d.isoformat() for d in (TODAY, TODAY + timedelta(days=21), TODAY + timedelta(days=365)))
    holder, late, current = world.named["world holder"].pk, world.notes["DEMO-LATE"], world.notes["DEMO-CURRENT"]
    issuer, acme = late.issuer_id, world.named["acme"].pk
    warrant = world.named["notes.warrant"].pk
    breach = getattr(world.named.get("open covenant breach"), "pk", "")
    approved = getattr(world.named.get("approved payment"), "pk", "")
    interval = apps.get_model("django_celery_beat", "IntervalSchedule").objects.values_list("pk", flat=True).first()
    substitute = current.substitutes.order_by("pk").first() or current
    return {
        "holders.holder": {"name": "New Holder", "kind": "individual", "email": "new@example.com"},
        "notes.issuer": {"name": "New Issuer Inc.", "jurisdiction": "Delaware"},
        "notes.closingprice": {"issuer": acme, "date": (TODAY - timedelta(days=1)).isoformat(), "close": "2.50"},
        "notes.note": {
            "number": "WORLD-NEW",
            "issuer": issuer,
            "holder": holder,
            "agreement_date": t,
            "maturity_date": year_on,
            "principal": "50000.00",
            "rate": "0.08",
            "default_rate_spread": "0.03",
            "prepayment_lockout_months": "3",
            "conversion_premium": "1.10",
            "conversion_price": "2.00",
            "calendar": "XFED",
        },
        "notes.assignment": {"note": current.pk, "effective_on": t, "assignee_1": holder, "principal_1": "500.00"},
        "notes.participation": {"note": late.pk, "participant": holder, "share": "0.05", "starts_on": t},
        "notes.warrant": {
            "number": "WORLD-W-NEW",
            "issuer": issuer,
            "holder": holder,
            "note": late.pk,
            "shares": "1000",
            "exercise_price": "2.50",
            "issued_on": t,
            "expires_on": year_on,
        },
        "notes.warrantexercise": {"warrant": warrant, "exercised_on": t, "shares": "10"},
        "notes.warrantassignment": {"warrant": warrant, "effective_on": t, "assignee": holder, "shares": "10"},
        "notes.corporateaction": {"issuer": acme, "kind": "combination", "effective_on": t, "ratio": "0.5"},
        "servicing.payment": {"note": late.pk, "received_on": t, "amount": "10.00", "reference": "wire 78"},
        "servicing.collectioncost": {"note": late.pk, "billed_on": t, "amount": "10.00", "description": "fees"},
        "servicing.defaultevent": {"note": current.pk, "kind": "misrepresentation", "occurred_on": t},
        "servicing.waiver": {"default_event": breach, "waived_on": t, "description": "in writing"},
        "servicing.cure": {"default_event": breach, "cured_on": t},
        "servicing.paymentreversal": {"payment": approved, "reason": "keyed in error"},
        "servicing.conversion": {
            "note": current.pk,
            "notice_sent": t,
            "method": "personal_delivery",
            "principal_requested": "500.00",
        },
        "servicing.prepayment": {
            "note": substitute.pk,
            "notice_sent": t,
            "method": "overnight_courier",
            "prepayment_date": later,
            "principal_requested": "500.00",
        },
        "servicing.accelerationnotice": {"note": late.pk, "notice_sent": t, "method": "personal_delivery"},
        "servicing.noteexhibit": {"note": late.pk, "label": "B", "title": "Side letter", "pdf": Upload()},
        "auth.user": {"username": "newcomer", "password1": "Pass-word-4711", "password2": "Pass-word-4711"},
        "auth.group": {"name": "newcomers"},
        "django_celery_beat.periodictask": {
            "name": "new task",
            "task": "servicing.tasks.close_books_task",
            "interval": interval,
            "enabled": "on",
        },
        "django_celery_beat.intervalschedule": {"every": "5", "period": "minutes"},
        "django_celery_beat.crontabschedule": {
            "minute": "1",
            "hour": "2",
            "day_of_week": "*",
            "day_of_month": "*",
            "month_of_year": "*",
            "timezone": "UTC",
        },
        "django_celery_beat.solarschedule": {"event": "sunset", "latitude": "10", "longitude": "10"},
        "django_celery_beat.clockedschedule": {"clocked_time_0": t, "clocked_time_1": "10:00:00"},
    }


# ---------------------------------------------------------------------------------------------------
# What a request wrote: a fingerprint of every table

# Tables any request may write: the session, django-axes' record of logins, the one-time form tokens.
NOISE = ("django_session", "axes_", "formtoken", "once", "spenttoken")
# Written beside every change, by whoever may make it: reported apart from the tables they record.
AUDIT = ("historical", "django_admin_log")
# Columns written by logging in, not by what the user did.
SKIPPED_COLUMNS = {"auth_user": ["last_login"]}


def is_noise(table: str) -> bool:
    return any(part in table for part in NOISE)


def is_audit(table: str) -> bool:
    return any(part in table for part in AUDIT)


def models_by_table() -> dict:
    """Each table's model, and the model whose permissions answer for it: an automatic many-to-many
    table answers for the model that declares the field."""
    found = {}
    for model in apps.get_models(include_auto_created=True):
        found[model._meta.db_table] = (model, model._meta.auto_created or model)
    return found


class Fingerprint:
    """The state of every table as a request finds it: its row count and a hash of its rows, and the
    rows themselves. `changes(since)` names what differs after a request, row by row.

    PostgreSQL counts the rows each table had inserted, updated or deleted in the current transaction
    (pg_stat_xact_user_tables, rolled-back savepoints included): only the tables whose counts moved
    are hashed again, and a table counts as changed only if its rows differ."""

    def __init__(self):
        self.tables = sorted(t for t in connection.introspection.table_names() if t != "django_migrations")
        by_table = models_by_table()
        self.keys = {t: by_table[t][0]._meta.pk.column if t in by_table else "id" for t in self.tables}
        self.baseline = self.hashes(self.tables)
        self.rows_before = {t: self.rows(t) for t in self.tables if not is_noise(t)}

    def _row(self, table: str) -> str:
        skipped = "".join(f" - '{column}'" for column in SKIPPED_COLUMNS.get(table, []))
        return f"(to_jsonb(x){skipped})::text"

    def counters(self) -> dict:
        with connection.cursor() as cursor:
            cursor.execute("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables")
            return {table: counts for table, *counts in cursor.fetchall()}

    def hashes(self, tables) -> dict:
        def digest(t):
            row = f"md5({self._row(t)})"
            return f"SELECT '{t}', count(*), coalesce(md5(string_agg({row}, ',' ORDER BY {row})), '') FROM \"{t}\" x"

        parts = [digest(t) for t in tables]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts))
            return {table: (count, digest) for table, count, digest in cursor.fetchall()}

    def rows(self, table: str) -> dict:
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT {self._row(table)} FROM "{table}" x')
            found = [json.loads(text) for (text,) in cursor.fetchall()]
        key = self.keys[table]
        return {row.get(key, json.dumps(row, sort_keys=True)): row for row in found}

    def changes(self, since: dict) -> dict:
        """What the tables whose write counts moved `since` (counters()) now hold that differs."""
        now = self.counters()
        touched = [t for t in self.tables if now.get(t) != since.get(t)]
        if not touched:
            return {}
        hashes = self.hashes(touched)
        return {t: self._diff(t) for t in touched if hashes[t] != self.baseline[t]}

    def unchanged(self) -> bool:
        return self.hashes(self.tables) == self.baseline

    def _diff(self, table: str) -> "TableChange":
        if is_noise(table):
            return TableChange(table, unknown=True)
        old, new = self.rows_before[table], self.rows(table)
        change = TableChange(table)
        for key, row in new.items():
            if key not in old:
                change.added.append(row)
            elif row != old[key]:
                change.changed.append((old[key], row, sorted(c for c in row if row[c] != old[key].get(c))))
        change.deleted = [row for key, row in old.items() if key not in new]
        return change


@dataclass
class TableChange:
    table: str
    added: list = field(default_factory=list)
    changed: list = field(default_factory=list)  # (row before, row after, columns changed)
    deleted: list = field(default_factory=list)
    unknown: bool = False  # rows not compared (a table of noise)

    def __str__(self):
        columns = sorted({c for _, _, cs in self.changed for c in cs})
        said = [f"+{len(self.added)}" if self.added else "", f"-{len(self.deleted)}" if self.deleted else ""]
        if self.changed:
            said.append(f"~{len(self.changed)} ({', '.join(columns)})")
        return f"{self.table} {' '.join(s for s in said if s)}".strip()


# ---------------------------------------------------------------------------------------------------
# The forms a page renders


class FormReader(HTMLParser):
    """The forms of a page as a browser would submit them: each form's action, method and fields
    (inputs with their values, checked boxes, selected options, text areas)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(
                {
                    "id": a.get("id", ""),
                    "action": a.get("action", ""),
                    "method": a.get("method", "get").lower(),
                    "fields": {},
                    "names": [],
                }
            )
            return
        if not self.forms:
            return
        fields, names = self.forms[-1]["fields"], self.forms[-1]["names"]
        name = a.get("name")
        if tag == "input" and name:
            names.append(name)
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            fields.setdefault(name, []).append(a.get("value", "on" if kind in ("checkbox", "radio") else ""))
        elif tag == "select" and name:
            names.append(name)
            self._select = {"name": name, "multiple": "multiple" in a, "first": None, "chosen": []}
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in a:
                self._select["chosen"].append(value)
        elif tag == "textarea" and name:
            names.append(name)
            self._textarea = name
            fields[name] = [""]

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            s = self._select
            chosen = s["chosen"] or ([] if s["multiple"] or s["first"] is None else [s["first"]])
            if chosen:
                self.forms[-1]["fields"][s["name"]] = chosen
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self.forms[-1]["fields"][self._textarea][0] += data


def page_forms(html: str) -> list[dict]:
    reader = FormReader()
    reader.feed(html)
    return reader.forms


def main_form(html: str, form_id: str | None = None) -> dict | None:
    """The form a page is about: the one with `form_id`, else the POST form with the most fields
    (not the navigation's logout button)."""
    forms = [f for f in page_forms(html) if f["method"] == "post" and "logout" not in f["action"]]
    if form_id is not None:
        forms = [f for f in forms if f["id"] == form_id]
    return max(forms, key=lambda f: len(f["names"]), default=None)


def as_post(fields: dict) -> dict:
    """A form's fields as test-client POST data: one value as is, several as a list."""
    return {name: values[0] if len(values) == 1 else values for name, values in fields.items()}


def once() -> dict:
    """The one-time token a rendered staff form carries (servicing.once), fresh."""
    return {"once": secrets.token_urlsafe(12)}


# ---------------------------------------------------------------------------------------------------
# A record's values, as a form posts them


def current_values(obj) -> dict:
    """The record's editable values as form data (foreign keys as primary keys, dates ISO)."""
    data = {}
    for name, value in model_to_dict(obj).items():
        if value is None:
            data[name] = ""
        elif isinstance(value, list):
            data[name] = [str(getattr(v, "pk", v)) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, dict | list):
            data[name] = json.dumps(value)
        else:
            data[name] = str(getattr(value, "pk", value))
    return data


def a_text_field(model, data: dict) -> str | None:
    """The first free-text field of `model` present in `data`: the one a change alters."""
    for f in model._meta.fields:
        if (
            isinstance(f, models.CharField | models.TextField)
            and not f.choices
            and f.editable
            and f.name in data
            and f.name not in ("password",)
            and not isinstance(f, models.EmailField)
        ):
            return f.name
    return None


def with_a_text_changed(model, data: dict) -> dict:
    name = a_text_field(model, data)
    if name is None:
        return data
    value = data[name] if isinstance(data[name], str) else ""
    limit = getattr(model._meta.get_field(name), "max_length", None) or 200
    return data | {name: (value + " changed")[-limit:]}
