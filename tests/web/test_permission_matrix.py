"""The permission matrix: every URL of the site and of its admin, opened by every role, with GET and
with POST, each request on the same rich database and rolled back after it. Whatever a request wrote
must be something the role's permissions allow; anonymous users and viewers write nothing at all; no
request ends in a server error.

The rules for what a write needs are in `ADDED_BESIDE`, `CHANGED_BESIDE` and `DELETED_BESIDE` below:
a row of model M added, changed or deleted needs add_M, change_M or delete_M, except the rows posting,
an approval or a document makes beside the record the user wrote, listed there with the permissions
that may cause them. Deciding a record that waits for approval always needs the approver permission,
and never by the user who recorded it (four-eyes).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, transaction
from django.db.transaction import TransactionManagementError
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from simple_history.admin import SimpleHistoryAdmin

from notes.models import Note
from servicing import approvals, imports, views
from servicing.forms import WORKFLOWS
from servicing.models import APPROVE, Document, ImportRun, NoteExhibit
from tests.web.world import (
    PASSWORDS,
    ROLES,
    TODAY,
    Fingerprint,
    Sessions,
    TableChange,
    Upload,
    add_inputs,
    current_values,
    is_approvable,
    is_audit,
    is_noise,
    models_by_table,
    once,
    quiet_request_logs,
    uploads_opened,
    with_a_text_changed,
    workflow_inputs,
    world_for_module,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SUMMARY: dict = {}  # the numbers of the last run, printed at its end
T = TODAY
ISO = T.isoformat()


# ---------------------------------------------------------------------------------------------------
# The world, the roles' sessions, what each URL is opened with


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    with world_for_module(django_db_blocker, tmp_path_factory.mktemp("media")) as built:
        yield built


@pytest.fixture(autouse=True)
def media_root(world, settings):
    """The documents the world produced are read from where it wrote them."""
    settings.MEDIA_ROOT = world.media_root
    return settings.MEDIA_ROOT


@pytest.fixture(scope="module")
def sessions(world):
    return Sessions(world)


@pytest.fixture(scope="module")
def cases(world, sessions):
    return staff_cases(world, sessions) + admin_cases(world, sessions)


@dataclass(eq=False)
class Case:
    """One URL to open, and the body a POST sends (or a function of the role that gives it)."""

    url: str
    data: dict | Callable[[str], dict] = field(default_factory=dict)
    methods: tuple = ("GET", "POST")
    label: str = ""  # what the POST does, when the URL alone does not say (an admin action)

    @property
    def pattern(self) -> str:
        return resolve(self.url.split("?")[0]).route

    @property
    def name(self) -> str:
        match = resolve(self.url.split("?")[0])
        return f"{match.namespace}:{match.url_name}" if match.namespace else (match.url_name or "")

    def body(self, role: str) -> dict:
        return uploads_opened(self.data(role) if callable(self.data) else self.data)


# What every admin action is posted with: the confirmation and every value an action asks for.
ACTION_VALUES = {
    "index": "0",
    "_confirm": "1",
    "post": "yes",
    "reason": "checked with the holder",
    "cured_on": ISO,
    "ends_on": (T + timedelta(days=1)).isoformat(),
    "resolution": "reviewed: no change",
    # a successor's particulars (the corporate action's "record_successor")
    "jurisdiction": "Nevada",
    "notice_address": "1 Market Street",
    "signatory_name": "Maria Chen",
    "signatory_title": "President",
}


def four_eyes_items(world) -> list:
    """Records a role may see but not approve: the admin role's own payment, and the reversal of the
    payment the approver role approved."""
    names = ("own payment of the admin", "reversal of the approver's payment")
    return [world.named[name] for name in names if world.named.get(name) is not None]


def action_target(world, model, action: str):
    """The row an action is run on: a pending one to decide, else the model's usual row."""
    if action in ("approve_selected", "reject_selected") and is_approvable(model):
        return world.pending(model) or world.target(model)
    return world.target(model)


def admin_cases(world, sessions: Sessions) -> list[Case]:
    """Every page of the admin, for every registered model, and every action of each."""
    cases = [
        Case(reverse("admin:index")),
        Case(reverse("admin:login"), {"username": "viewer", "password": PASSWORDS["viewer"]}),
        Case(reverse("admin:logout")),
        Case(reverse("admin:password_change"), password_change_data),
        Case(reverse("admin:password_change_done")),
        Case(reverse("admin:jsi18n")),
        Case(
            reverse("admin:autocomplete") + "?app_label=servicing&model_name=payment&field_name=note&term=DEMO",
        ),
        Case("/admin/no-such-page/"),
    ]
    note = world.notes["DEMO-LATE"]
    cases.append(Case(reverse("admin:view_on_site", args=[ContentType.objects.get_for_model(Note).pk, note.pk])))
    for app_label in sorted({m._meta.app_label for m in admin.site._registry}):
        cases.append(Case(reverse("admin:app_list", args=[app_label])))
    adds = add_inputs(world)
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda kv: kv[0]._meta.label_lower):
        opts = model._meta
        info = f"admin:{opts.app_label}_{opts.model_name}"
        changelist, add = reverse(f"{info}_changelist"), reverse(f"{info}_add")
        cases.append(Case(changelist))
        values = adds.get(opts.label_lower)
        if values is None:
            target = world.target(model)
            values = with_a_text_changed(model, current_values(target)) if target is not None else {}
        cases.append(Case(add, sessions.form_data(add, values, f"{opts.model_name}_form") | {"_save": "Save"}))
        for action in all_actions(model_admin):
            target = action_target(world, model, action)
            selected = [str(target.pk)] if target is not None else []
            data = ACTION_VALUES | {"action": action, "_selected_action": selected}
            cases.append(Case(changelist, data, methods=("POST",), label=f"action {action}"))
        for item in four_eyes_items(world):
            if isinstance(item, model):
                data = ACTION_VALUES | {"action": "approve_selected", "_selected_action": [str(item.pk)]}
                cases.append(Case(changelist, data, methods=("POST",), label="action approve_selected, four-eyes"))
        obj = world.target(model)
        if obj is None:
            continue
        change = reverse(f"{info}_change", args=[obj.pk])
        changed = with_a_text_changed(model, sessions.form_data(change, current_values(obj), f"{opts.model_name}_form"))
        cases += [
            Case(change, changed | {"_save": "Save"}),
            Case(reverse(f"{info}_delete", args=[obj.pk]), {"post": "yes"}),
            Case(reverse(f"{info}_history", args=[obj.pk])),
            Case(f"{changelist}{obj.pk}/"),  # the old address of the change page: a redirect
        ]
        if opts.label_lower == "auth.user":
            password = {"password1": "Pass-word-4712", "password2": "Pass-word-4712"}
            cases.append(Case(reverse("admin:auth_user_password_change", args=[obj.pk]), password))
        if isinstance(model_admin, SimpleHistoryAdmin):
            record = model.history.filter(**{opts.pk.attname: obj.pk}).order_by("history_id").first()
            if record is not None:
                url = reverse(f"{info}_simple_history", args=[obj.pk, record.history_id])
                revert = sessions.form_data(url, current_values(record.instance), f"{opts.model_name}_form")
                cases.append(Case(url, with_a_text_changed(model, revert) | {"_save": "Save"}))
    return cases


def all_actions(model_admin) -> list[str]:
    """Every action of a model admin, whoever asks: the site's (delete_selected) and its own."""
    return sorted(name for _, name, _ in model_admin._get_base_actions())


def password_change_data(role: str) -> dict:
    new = "Another-pass-4713"
    return {"old_password": PASSWORDS.get(role, ""), "new_password1": new, "new_password2": new}


def staff_cases(world, sessions: Sessions) -> list[Case]:
    """Every page of the staff application, each slug with every value its view accepts."""
    late = world.notes["DEMO-LATE"]
    holder = world.named["world holder"]
    cases = [
        Case(reverse("dashboard")),
        Case(reverse("login"), {"username": "viewer", "password": PASSWORDS["viewer"]}),
        Case(reverse("logout")),
        Case(reverse("password_change"), password_change_data),
        Case(reverse("password_change_done")),
        Case(reverse("notes:list")),
        Case(reverse("notes:list") + "?export=csv"),
        Case(reverse("notes:ocf")),  # the Open Cap Format zip: a read
        Case(reverse("holders:list")),
        Case(reverse("holders:list") + "?export=csv"),
        Case(reverse("holders:detail", args=[holder.pk])),
        Case(reverse("servicing:approvals")),
        Case(reverse("servicing:reminders")),
        Case(reverse("servicing:jobs")),
        # /health/ writes nothing when posted to (405); its GET answers 503 in a world with notes
        # and no close, so it is judged in tests/web/test_health.py.
        Case(reverse("health"), methods=("POST",)),
        # /metrics answers a bearer token, not a role: off here (404), judged in tests/web/test_metrics.py.
        Case(reverse("metrics")),
    ]
    for note in world.notes.values():
        cases.append(Case(reverse("notes:detail", args=[note.pk])))
    cases.append(Case(reverse("notes:detail", args=[late.pk]) + f"?on={ISO}&principal=1000.00"))
    cases.append(Case(reverse("notes:ledger", args=[late.pk]) + "?kind=payment"))
    cases.append(Case(reverse("notes:ledger", args=[late.pk]) + "?account=interest&export=csv"))
    for kind, (note, values) in workflow_inputs(world).items():
        url = reverse("servicing:record", args=[note.pk, kind])
        cases.append(Case(url, sessions.form_data(url, values) | once()))
    for kind in WORKFLOWS.keys() - workflow_inputs(world).keys():  # a workflow added since: its rendered form
        url = reverse("servicing:record", args=[late.pk, kind])
        cases.append(Case(url, sessions.form_data(url, {}) | once()))
    for kind in views.PRODUCERS:
        cases.append(Case(reverse("servicing:produce", args=[late.pk, kind])))
    conversion = world.named.get("converted conversion")
    prepayment = late.prepayments.order_by("pk").first()
    # The makers of views.record_document_produce (kept inside the view).
    for model, record in [
        ("conversion-notice", conversion),
        ("conversion-confirmation", conversion),
        ("prepayment-notice", prepayment),
    ]:
        if record is not None:
            cases.append(Case(reverse("servicing:produce_for", args=[model, record.pk])))
    for name in ("approved payment", "payment approved by the approver"):
        if world.named.get(name) is not None:
            url = reverse("servicing:payment_reverse", args=[world.named[name].pk])
            cases.append(Case(url, {"reason": "keyed in error"} | once()))
    participation = world.named.get("notes.participation")
    if participation is not None:
        url = reverse("servicing:participation_end", args=[participation.pk])
        cases.append(Case(url, {"ends_on": (T + timedelta(days=1)).isoformat()} | once()))
    flag = world.named.get("notes.reviewflag")
    if flag is not None:
        url = reverse("servicing:flag_clear", args=[flag.pk])
        cases.append(Case(url, {"resolution": "reviewed: no change"} | once()))
    warrant = world.named["notes.warrant"]
    for action, values in [
        ("exercise", {"exercised_on": ISO, "shares": "10"}),
        ("assign", {"effective_on": ISO, "assignee": holder.pk, "shares": "10"}),
    ]:
        url = reverse("servicing:warrant", args=[warrant.pk, action])
        cases.append(Case(url, sessions.form_data(url, values) | once()))
    for model_name, model in views.MODELS.items():
        item = world.pending(model)
        if item is None:
            continue
        for decision in ("approve", "reject"):
            url = reverse("servicing:decide", args=[model_name, item.pk, decision])
            cases.append(Case(url, {"reason": "not on the statement"} | once()))
    # Four-eyes: the admin role approving the payment it recorded; the approver role approving the
    # reversal of the payment it approved.
    for item in four_eyes_items(world):
        model_name = item._meta.model_name
        cases.append(Case(reverse("servicing:decide", args=[model_name, item.pk, "approve"]), once()))
    acme = world.named["acme"].pk
    url = reverse("servicing:closing_prices")
    values = {"issuer": acme, "date": (T - timedelta(days=1)).isoformat(), "close": "2.50"}
    cases.append(Case(url, sessions.form_data(url, values) | once()))
    url = reverse("servicing:corporate_action")
    values = {"issuer": acme, "kind": "combination", "effective_on": ISO, "ratio": "0.5"}
    cases.append(Case(url, sessions.form_data(url, values) | once()))
    cases.append(Case(reverse("servicing:statements"), {"month": "2025-01"} | once()))
    url = reverse("servicing:exhibit_attach", args=[late.pk])
    values = {"label": "B", "title": "Side letter", "pdf": Upload()}
    cases.append(Case(url, sessions.form_data(url, values) | once()))
    cases.append(Case(reverse("servicing:exhibit_pdf", args=[world.target(NoteExhibit).pk])))
    # Operations → Import: an upload, its file's template, and the steps of a file uploaded before.
    cases.append(Case(reverse("servicing:import"), {"kind": "closing_prices", "file": CsvUpload()}))
    for kind in imports.KINDS:
        cases.append(Case(reverse("servicing:import_template", args=[kind])))
    uploaded = ImportRun.objects.create(
        kind="closing_prices",
        filename="prices.csv",
        content=CsvUpload.content,
        created_by=get_user_model().objects.get(username="servicer"),
    )
    cases.append(Case(reverse("servicing:import_run", args=[uploaded.pk])))
    cases.append(Case(reverse("servicing:import_progress", args=[uploaded.pk])))
    for step in ("check", "import"):
        cases.append(Case(reverse("servicing:import_step", args=[uploaded.pk, step])))
    document = Document.objects.order_by("pk").first()
    cases.append(Case(reverse("servicing:document_preview", args=[document.pk])))
    cases.append(Case(reverse("servicing:document_pdf", args=[document.pk])))
    return cases


class CsvUpload(Upload):
    """A CSV file of a closing price (Operations → Import)."""

    content = f"issuer,date,close\nAcme Widgets Inc.,{(T - timedelta(days=2)).isoformat()},2.40\n".encode()

    def file(self):
        from django.core.files.uploadedfile import SimpleUploadedFile

        return SimpleUploadedFile("prices.csv", self.content, "text/csv")


def every_route(resolver=None, prefix="") -> set[str]:
    """The route of every URL pattern, as `resolve(url).route` names it."""
    resolver = resolver or get_resolver()
    routes = set()
    for p in resolver.url_patterns:
        route = URLResolver._join_route(prefix, str(p.pattern))
        if isinstance(p, URLResolver):
            routes |= every_route(p, route)
        elif isinstance(p, URLPattern):
            routes.add(route)
    return routes


# ---------------------------------------------------------------------------------------------------
# What a write needs


def recording_permissions() -> set[str]:
    """What a servicer records (approvals.RECORDS): each add_ and change_ permission."""
    return {
        f"{app}.{verb}_{model}"
        for app, names in approvals.RECORDS.items()
        for model in names
        for verb in ("add", "change")
    }


POSTING = recording_permissions() | {APPROVE}  # posting a note's ledger follows any record or approval
DECISION = {"approval", "decided_by_id", "decided_at", "rejection_reason"}  # four-eyes: the approver's columns

# Rows a request may add to a table without the model's own add permission: what posting, an approval or
# a recording service makes beside the record the user wrote, with the permissions that may cause them.
ADDED_BESIDE = {
    "servicing_ledgerentry": POSTING,
    "servicing_period": POSTING,
    "servicing_defaultperiod": POSTING,
    "servicing_monthendstate": POSTING,
    "servicing_acceleration": POSTING,
    "servicing_reminder": POSTING,
    "servicing_jobrun": POSTING | {"servicing.add_statementdelivery"},
    # the notice that carries an election is recorded with it
    "servicing_notice": {"servicing.add_conversion", "servicing.add_prepayment", "servicing.add_accelerationnotice"},
    "notes_note": {APPROVE},  # the substitute notes of an approved assignment (8(j))
    "notes_note_reference_closes": {"notes.add_note", APPROVE},
    "notes_warrant": {APPROVE},  # the substitute warrant of an approved warrant assignment
    "notes_assignmentpart": {"notes.add_assignment"},
    "notes_successorsecurity": {"notes.add_corporateaction"},
    "notes_supplementalagreement": {APPROVE},  # an approved reclassification, merger or sale (section 5)
    "notes_supplementalagreement_notes": {APPROVE},
    "servicing_documentexhibit": {"servicing.add_document"},  # the exhibits an agreement produced carries
    "notes_reviewflag": {APPROVE},  # raised by an approved corporate action
}
# Columns a request may change without the model's own change permission, and what may change them.
CHANGED_BESIDE = {
    "notes_note": (set(Note.POSTED), POSTING),  # what posting keeps on the note row
    "servicing_conversion": (
        {"status", "principal", "interest", "default_interest", "amount", "shares", "deliveries", "refusal"},
        POSTING,
    ),
    "servicing_prepayment": ({"status", "principal", "interest", "default_interest", "amount"}, POSTING),
    "servicing_accelerationnotice": ({"status", "refusal"}, POSTING),
    "servicing_payment": ({"reversed_at", "reversed_by_id", "reversal_reason"}, {APPROVE}),
    "notes_assignmentpart": ({"substitute_id"}, {APPROVE}),
    "notes_warrantassignment": ({"substitute_id"}, {APPROVE}),
    "notes_warrant": ({"status"}, POSTING),
    # a notice of supplemental agreement (section 5) clears the flag that it was due
    "notes_reviewflag": ({"cleared_at", "cleared_by_id", "resolution"}, {"servicing.add_notice"}),
    "servicing_jobrun": ({"finished_at", "notes_processed", "entries_posted", "failures", "summary"}, POSTING),
}
# Rows a replay may delete and write again.
DELETED_BESIDE = {
    "servicing_period": POSTING,
    "servicing_defaultperiod": POSTING,
    "servicing_monthendstate": POSTING,
    "servicing_acceleration": POSTING,
}
# What a user may write about themselves, whatever their role: logging in (as the login forms of the
# matrix do, as the viewer) adds a row of history for the user; changing one's password, that row's password.
SELF_SERVICE = {"login": "viewer", "admin:login": "viewer", "password_change": None, "admin:password_change": None}


def perm(verb: str, model) -> str:
    return f"{model._meta.app_label}.{verb}_{model._meta.model_name}"


def only_about(change, user_id) -> bool:
    """The change is to the user's own row of auth_user (its password) or adds to that user's history."""
    if change.deleted or change.unknown:
        return False
    if change.table == "auth_user":
        return not change.added and all(r["id"] == user_id and set(c) <= {"password"} for _, r, c in change.changed)
    if "historicaluser" in change.table:  # the user's history, and the history of its groups
        return not change.changed and all(user_id in (r.get("id"), r.get("user_id")) for r in change.added)
    return False


def judge(role: str, user, case: Case, method: str, changes: dict, tables: dict, world) -> list[str]:
    """Why each write of the request was not allowed (an empty list: every write was)."""
    if method == "POST" and case.name in SELF_SERVICE:
        who = SELF_SERVICE[case.name]
        who = world.users[who] if who else user
        if who is not None:
            changes = {t: c for t, c in changes.items() if not only_about(c, who.pk)}
    wrong = []
    for table, change in changes.items():
        if is_noise(table):
            continue
        if role in ("anonymous", "viewer"):
            wrong.append(f"{change} ({'an anonymous user' if role == 'anonymous' else 'a viewer'} writes nothing)")
            continue
        if is_audit(table):
            continue
        model = tables.get(table, (None, None))[1]
        if model is None or change.unknown:
            if not user.is_superuser:
                wrong.append(f"{change} (a table no permission names)")
            continue
        wrong += [f"{table}: {why}" for why in row_faults(user, model, change)]
    return wrong


def has_any(user, permissions) -> bool:
    return any(user.has_perm(p) for p in permissions)


def row_faults(user, model, change) -> list[str]:
    table = change.table
    faults = []
    auto = model._meta.db_table != table  # an automatic many-to-many table: changing the model it belongs to
    if change.added and not has_any(
        user, {perm("add", model) if not auto else perm("change", model)} | ADDED_BESIDE.get(table, set())
    ):
        faults.append(f"{len(change.added)} row(s) added without {perm('add', model)}")
    if change.deleted and not has_any(
        user, {perm("delete", model) if not auto else perm("change", model)} | DELETED_BESIDE.get(table, set())
    ):
        faults.append(f"{len(change.deleted)} row(s) deleted without {perm('delete', model)}")
    beside_columns, beside_permissions = CHANGED_BESIDE.get(table, (set(), set()))
    for before, after, columns in change.changed:
        columns = set(columns)
        if is_approvable(model) and columns & DECISION:
            if not user.has_perm(APPROVE):
                decided = ", ".join(sorted(columns & DECISION))
                faults.append(f"row {after.get('id')} decided ({decided}) without {APPROVE}")
            if before.get("approval") != "pending":
                faults.append(f"row {after.get('id')} decided again (it was {before.get('approval')})")
        rest = columns - DECISION
        if rest & beside_columns and has_any(user, beside_permissions):
            rest -= beside_columns
        if rest and not user.has_perm(perm("change", model)):
            faults.append(f"row {after.get('id')} changed ({', '.join(sorted(rest))}) without {perm('change', model)}")
    if is_approvable(model):
        for row in change.added + [after for _, after, _ in change.changed]:
            if row.get("decided_by_id") is not None and row.get("decided_by_id") == row.get("recorded_by_id"):
                faults.append(f"row {row.get('id')} decided by the user who recorded it (four-eyes)")
        for row in change.added:
            if row.get("approval") not in (None, "pending"):
                faults.append(f"row {row.get('id')} added already {row.get('approval')} (four-eyes)")
    if table == "servicing_payment":
        for _, row, _ in change.changed:
            if row.get("reversed_by_id") is not None and row["reversed_by_id"] in (
                row.get("recorded_by_id"),
                row.get("decided_by_id"),
            ):
                faults.append(f"payment {row['id']} reversed by the user who recorded or approved it")
    return sorted(set(faults))


# ---------------------------------------------------------------------------------------------------
# One request, rolled back


def lines(found: dict) -> list[str]:
    """One line per URL, method and finding, with the roles it was found for."""
    return [
        f"{method} {case.url}{f' [{case.label}]' if case.label else ''} as {', '.join(roles)} ({case.pattern}): {what}"
        for (method, case, what), roles in found.items()
    ]


@dataclass
class Outcome:
    case: Case
    role: str
    method: str
    status: int
    changes: dict  # table → TableChange
    error: str = ""  # the exception of a server error, or why the fingerprint could not be read


def run(case: Case, role: str, method: str, sessions: Sessions, fingerprint: Fingerprint) -> Outcome:
    """Send the request in a savepoint, see what it wrote, and roll it back."""
    client = sessions.client(role)
    error = ""
    with transaction.atomic():
        since = fingerprint.counters()
        response = client.get(case.url) if method == "GET" else client.post(case.url, case.body(role))
        try:
            changes = fingerprint.changes(since)
        except (DatabaseError, TransactionManagementError) as e:
            changes, error = {}, f"the request broke the transaction ({type(e).__name__})"
        transaction.set_rollback(True)
    if client.error is not None:
        error = f"{type(client.error).__name__}: {client.error}"
    return Outcome(case, role, method, response.status_code, changes, error)


# ---------------------------------------------------------------------------------------------------
# The tests


def test_the_rules_let_a_viewer_write_nothing_and_decide_only_with_the_approver_permission(world):
    """The judge of the matrix itself: what it refuses and what it lets through."""
    tables = models_by_table()
    case = Case("/approvals/")
    payment = {"id": 1, "approval": "approved", "decided_by_id": 7, "recorded_by_id": 8}
    decided = TableChange("servicing_payment", changed=[(payment | {"approval": "pending"}, payment, ["approval"])])
    posted = TableChange("servicing_ledgerentry", added=[{"id": 1}])

    def faults(role, *changes):
        return judge(role, world.users.get(role), case, "POST", {c.table: c for c in changes}, tables, world)

    assert faults("viewer", posted) and faults("anonymous", posted)
    assert faults("servicer", decided)  # change_payment is not the approver's permission
    assert not faults("approver", decided, posted)  # approving posts the ledger
    assert not faults("servicer", posted)  # recording posts the ledger
    own = TableChange("servicing_payment", changed=[(payment, payment | {"decided_by_id": 8}, ["decided_by_id"])])
    assert "four-eyes" in " ".join(faults("approver", own))
    again = TableChange("servicing_payment", changed=[(payment, payment | {"approval": "rejected"}, ["approval"])])
    assert "decided again" in " ".join(faults("approver", again))


def test_each_role_writes_only_what_its_permissions_allow(world, sessions, cases):
    started = time.perf_counter()
    tables = models_by_table()
    fingerprint = Fingerprint()
    with quiet_request_logs():
        outcomes = [
            run(case, role, method, sessions, fingerprint)
            for case in cases
            for role in ROLES
            for method in case.methods
        ]
    assert fingerprint.unchanged(), "a request was not rolled back"

    violations, errors, writes, audit = {}, {}, 0, 0
    for o in outcomes:
        if o.status >= 500 or o.error:
            errors.setdefault((o.method, o.case, f"{o.status} {o.error}"), []).append(o.role)
        real = {t: c for t, c in o.changes.items() if not is_noise(t)}
        writes += any(not is_audit(t) for t in real)
        audit += any(is_audit(t) for t in real)
        faults = judge(o.role, world.users.get(o.role), o.case, o.method, real, tables, world)
        if faults:
            violations.setdefault((o.method, o.case, "; ".join(faults)), []).append(o.role)

    SUMMARY.update(
        urls=len({c.url for c in cases}),
        url_patterns=len({c.pattern for c in cases}),
        url_role_method_triples_tried=len(outcomes),
        requests_that_wrote=writes,
        requests_that_wrote_history_or_admin_log=audit,
        violations=sum(len(roles) for roles in violations.values()),
        server_errors=sum(len(roles) for roles in errors.values()),
        seconds=round(time.perf_counter() - started),
    )
    print("\npermission matrix:", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in SUMMARY.items()))
    if violations or errors:
        report = ["Writes the role may not make:", *(lines(violations) or ["(none)"]), ""]
        report += ["Server errors:", *(lines(errors) or ["(none)"])]
        pytest.fail("\n".join(report), pytrace=False)


def test_the_matrix_opens_every_url_pattern(cases):
    assert sorted(every_route() - {case.pattern for case in cases}) == []


def test_the_world_has_a_record_of_every_kind(world):
    """Every admin model has a row and every approvable kind one pending: the matrix opens them all."""
    empty = [m._meta.label for m in admin.site._registry if not m.objects.exists()]
    not_pending = [m._meta.label for m in approvals.ON_APPROVAL if world.pending(m) is None]
    assert (world.problems, empty, not_pending) == ([], [], [])
