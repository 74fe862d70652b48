"""The Open Cap Format 1.2.0 package: it validates against the OCF schemas (read from
../shared/ocf-1.2.0, never copied into the project), its ids are stable, and it reads back."""

import hashlib
import io
import json
import zipfile
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from holders.models import Holder
from notes.models import Assignment, Issuer, Note, Warrant
from servicing import approvals, lifecycle, ocf
from tests.factories import UserFactory

SCHEMAS = Path(settings.BASE_DIR).parent / "shared" / "ocf-1.2.0" / "schema"
TODAY = "2026-11-27 09:00 -0500"


def schemas() -> tuple[Registry, dict, dict]:
    """Every schema keyed by its $id; the file schemas by file_type; the object schemas by object_type."""
    registry, by_file, by_object = Registry(), {}, {}
    assert SCHEMAS.is_dir(), f"the OCF 1.2.0 schemas are read from {SCHEMAS} (../shared beside the project)"
    for path in sorted(SCHEMAS.rglob("*.schema.json")):
        schema = json.loads(path.read_text())
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7))
        const = schema.get("properties", {})
        if path.parent == SCHEMAS / "files":
            by_file[const["file_type"]["const"]] = schema
        elif "object_type" in const and "const" in const["object_type"]:
            by_object[const["object_type"]["const"]] = schema
    return registry, by_file, by_object


def problems(schema: dict, instance, registry: Registry) -> list[str]:
    validator = Draft7Validator(schema, registry=registry, format_checker=Draft7Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def valid(package: dict[str, dict]) -> set[str]:
    """Check each file against its file schema and each object against its object_type's schema;
    return the object types checked."""
    registry, by_file, by_object = schemas()
    manifest = package[ocf.MANIFEST]
    named = [e["filepath"] for key, value in manifest.items() if key.endswith("_files") for e in value]
    assert sorted(named) == sorted(set(package) - {ocf.MANIFEST})
    checked = set()
    for name, content in package.items():
        assert problems(by_file[content["file_type"]], content, registry) == [], name
        for obj in [manifest["issuer"]] if name == ocf.MANIFEST else content["items"]:
            assert problems(by_object[obj["object_type"]], obj, registry) == [], obj["id"]
            checked.add(obj["object_type"])
    return checked


def load(files: dict[str, bytes]) -> dict[str, dict]:
    return {name: json.loads(content) for name, content in files.items()}


@pytest.fixture
def demo():
    with time_machine.travel(TODAY, tick=False):
        call_command("load_demo", "--no-login", stdout=StringIO())
        yield Issuer.objects.get()


@pytest.mark.django_db(transaction=True)
def test_the_demo_package_validates_against_every_schema_it_names(demo):
    package = load(ocf.package(demo))
    assert valid(package) == {
        "ISSUER",
        "STAKEHOLDER",
        "STOCK_CLASS",
        "TX_CONVERTIBLE_ISSUANCE",
        "TX_CONVERTIBLE_TRANSFER",
        "TX_CONVERTIBLE_CONVERSION",
        "TX_STOCK_ISSUANCE",
        "TX_WARRANT_ISSUANCE",
    }
    transactions = package[ocf.TRANSACTIONS]["items"]
    issued = {i["security_id"]: i for i in transactions if i["object_type"].endswith("_ISSUANCE")}
    current = issued["note-DEMO-CURRENT"]
    assert current["investment_amount"] == {"amount": "250000.00", "currency": "USD"}
    mechanism = current["conversion_triggers"][0]["conversion_right"]["conversion_mechanism"]
    assert (mechanism["type"], mechanism["interest_rates"][0]["rate"]) == ("CONVERTIBLE_NOTE_CONVERSION", "0.08")
    assert 'conversion_price="3.25"' in current["comments"]
    # Every id another object names is in the package: stakeholders, stock class, securities, triggers.
    ids = {o["id"] for c in package.values() for o in c.get("items", [])}
    for obj in transactions:
        for key in ("stakeholder_id", "stock_class_id"):
            assert obj.get(key, next(iter(ids))) in ids
        for security in [*obj.get("resulting_security_ids", []), obj.get("balance_security_id")]:
            assert security is None or security in issued
    (transfer,) = [i for i in transactions if i["object_type"] == "TX_CONVERTIBLE_TRANSFER"]
    assert transfer["resulting_security_ids"] == ["note-DEMO-CURRENT/1"]
    assert issued[transfer["balance_security_id"]]["investment_amount"]["amount"] == "187500.00"
    (conversion,) = [i for i in transactions if i["object_type"] == "TX_CONVERTIBLE_CONVERSION"]
    innovo = Note.objects.get(number="DEMO-INNOVO").conversions.get()
    (stock,) = conversion["resulting_security_ids"]
    assert issued[stock]["quantity"] == str(innovo.shares)
    assert conversion["quantity_converted"] == "200000"
    assert issued[conversion["balance_security_id"]]["investment_amount"]["amount"] == "300000.00"
    assert issued["warrant-DEMO-W-1"]["quantity"] == "25000"


def without_generation(files: dict[str, bytes]) -> dict:
    """The package less what an export generates anew: its time, and the checksums that follow the files."""
    package = load(files)
    manifest = package[ocf.MANIFEST]
    del manifest["generated_at"]
    for key, value in manifest.items():
        if key.endswith("_files"):
            for entry in value:
                del entry["md5"]
    return package


@pytest.mark.django_db(transaction=True)
def test_ids_are_the_same_in_two_exports_and_the_package_too_apart_from_its_time(demo):
    with time_machine.travel(TODAY, tick=False):
        first = ocf.package(demo)
    with time_machine.travel("2026-11-27 17:30 -0500", tick=False):
        second = ocf.package(demo)
    assert load(first)[ocf.MANIFEST]["generated_at"] != load(second)[ocf.MANIFEST]["generated_at"]
    files = [{k: v for k, v in package.items() if k != ocf.MANIFEST} for package in (first, second)]
    assert files[0] == files[1]
    assert without_generation(first) == without_generation(second)
    ids = [o["id"] for o in load(first)[ocf.TRANSACTIONS]["items"]]
    assert "note-DEMO-CURRENT-issuance" in ids and len(ids) == len(set(ids))


@pytest.mark.django_db(transaction=True)
def test_export_import_into_an_empty_database_export_gives_the_same_package(demo, tmp_path):
    before, after = tmp_path / "before", tmp_path / "after"
    with time_machine.travel(TODAY, tick=False):
        call_command("export_ocf", str(before), stdout=StringIO())
        call_command("flush", interactive=False, verbosity=0)
        assert not Note.objects.exists() and not Holder.objects.exists()
        out = StringIO()
        call_command("import_ocf", str(before), stdout=out)
        said = "imported 3 holder(s), 3 note(s), 1 warrant(s); 1 transfer(s) recorded pending approval"
        assert said in out.getvalue()
        assert "Payments are not in OCF" in out.getvalue()
        # The transfer waits for a second pair of eyes, like any other assignment.
        assignment = Assignment.objects.get(approval="pending")
        approvals.approve(assignment, by=approvals.system_approver())
        call_command("export_ocf", str(after), stdout=StringIO())
    exported, imported = without_generation(read(before)), without_generation(read(after))
    # What OCF cannot bring back (payments, hence conversions and what they made) is left out of the first.
    items = exported[ocf.TRANSACTIONS]["items"]
    conversion = next(i for i in items if i["object_type"] == "TX_CONVERTIBLE_CONVERSION")
    made = {conversion["id"], *conversion["resulting_security_ids"], conversion["balance_security_id"]}
    exported[ocf.TRANSACTIONS]["items"] = [i for i in items if i["id"] not in made and i.get("security_id") not in made]
    assert len(exported[ocf.TRANSACTIONS]["items"]) == len(items) - 3
    assert imported == exported
    substitute = Note.objects.get(number="DEMO-CURRENT/1")
    assert (substitute.principal, substitute.holder.name, substitute.parent.number) == (
        Decimal("62500.00"),
        "Northwind Partners LP",
        "DEMO-CURRENT",
    )
    assert Warrant.objects.get().note.number == "DEMO-INNOVO"


def read(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


@pytest.mark.django_db(transaction=True)
def test_import_refuses_a_book_that_has_the_issuer_and_changes_nothing(demo, tmp_path):
    with time_machine.travel(TODAY, tick=False):
        call_command("export_ocf", str(tmp_path), "--issuer", demo.name, stdout=StringIO())
        counts = (Holder.objects.count(), Note.objects.count())
        with pytest.raises(CommandError, match="an issuer named Innovo Group Inc. is already here"):
            call_command("import_ocf", str(tmp_path), stdout=StringIO())
    assert (Holder.objects.count(), Note.objects.count()) == counts


@pytest.mark.django_db
def test_export_refuses_an_unknown_issuer_and_a_file_for_a_folder(make_note, tmp_path):
    make_note()
    with pytest.raises(CommandError, match="no issuer is named 'Nobody'"):
        call_command("export_ocf", str(tmp_path), "--issuer", "Nobody")
    (tmp_path / "taken").write_text("")
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("export_ocf", str(tmp_path / "taken"))
    out = StringIO()
    call_command("export_ocf", str(tmp_path / "package"), stdout=out)
    assert sorted(p.name for p in (tmp_path / "package").iterdir()) == sorted(
        [ocf.MANIFEST, ocf.STAKEHOLDERS, ocf.STOCK_CLASSES, ocf.TRANSACTIONS]
    )


def zip_names(response) -> list[str]:
    assert response["Content-Type"] == "application/zip"
    return sorted(zipfile.ZipFile(io.BytesIO(response.content)).namelist())


@pytest.mark.django_db
def test_the_notes_list_links_the_zip_and_a_viewer_downloads_it(client, make_note, issuer):
    make_note(number="N-7")
    viewer = UserFactory(username="viewer", roles=["viewer"])
    client.force_login(viewer)
    page = client.get(reverse("notes:list"), {"issuer": issuer.pk})
    url = f"{reverse('notes:ocf')}?issuer={issuer.pk}"
    assert f'href="{url}"'.encode() in page.content.replace(b"&amp;", b"&")
    response = client.get(url)
    assert response.status_code == 200
    assert 'filename="ocf-innovo-group-inc.zip"' in response["Content-Disposition"]
    assert zip_names(response) == sorted([ocf.MANIFEST, ocf.STAKEHOLDERS, ocf.STOCK_CLASSES, ocf.TRANSACTIONS])
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read(ocf.MANIFEST))
    assert manifest["issuer"]["legal_name"] == "Innovo Group Inc."
    assert client.get(reverse("notes:ocf"), {"issuer": "x1"}).status_code == 404
    assert client.post(reverse("notes:ocf")).status_code == 403


@pytest.mark.django_db
def test_the_zip_is_refused_without_the_permission_to_see_notes(client, make_note):
    make_note()
    client.force_login(UserFactory(username="nobody", roles=[]))
    assert client.get(reverse("notes:ocf")).status_code == 403


@pytest.mark.django_db
def test_the_admin_action_downloads_the_zip_and_is_refused_without_permission(client, make_note, issuer):
    make_note()
    other = Issuer.objects.create(name="Other Corp")
    url = reverse("admin:notes_issuer_changelist")
    data = {"action": "export_ocf", "_selected_action": [issuer.pk, other.pk]}
    client.force_login(UserFactory(username="viewer", roles=["viewer"], is_staff=True))
    response = client.post(url, data)
    assert response.status_code == 200
    assert zip_names(response) == sorted(
        f"{folder}/{name}"
        for folder in ("innovo-group-inc", "other-corp")
        for name in (ocf.MANIFEST, ocf.STAKEHOLDERS, ocf.STOCK_CLASSES, ocf.TRANSACTIONS)
    )
    client.force_login(UserFactory(username="nobody", roles=[], is_staff=True))
    assert client.post(url, data).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_number_given_automatically_comes_back_the_same(make_note, tmp_path):
    # Each second of its kind here, each first when imported: its number comes from the package.
    make_note(number="N-1")
    note = make_note()
    terms = {"issuer": note.issuer, "holder": note.holder, "note": note, "shares": 10}
    terms |= {"exercise_price": Decimal("2.5"), "issued_on": note.agreement_date, "expires_on": note.maturity_date}
    lifecycle.warrant_issue(**terms, number="X-1")
    warrant = lifecycle.warrant_issue(**terms)
    assert (note.number, warrant.number) == (f"CN-{note.pk:05d}", f"W-{warrant.pk:05d}")
    before = ocf.package(note.issuer)
    call_command("flush", interactive=False, verbosity=0)
    (tmp_path / "p").mkdir()
    for name, content in before.items():
        (tmp_path / "p" / name).write_bytes(content)
    call_command("import_ocf", str(tmp_path / "p"), stdout=StringIO())
    assert sorted(Note.objects.values_list("number", flat=True)) == [note.number, "N-1"]
    assert sorted(Warrant.objects.values_list("number", flat=True)) == [warrant.number, "X-1"]
    assert without_generation(ocf.package(Issuer.objects.get())) == without_generation(before)


@pytest.mark.django_db(transaction=True)  # flush: TRUNCATE, outside a test's transaction on PostgreSQL
def test_import_refuses_a_package_whose_files_do_not_match_the_manifest_and_changes_nothing(make_note, tmp_path):
    make_note()
    files = ocf.package(Issuer.objects.get())
    call_command("flush", interactive=False, verbosity=0)
    with pytest.raises(CommandError, match="manifest.ocf.json not found"):
        call_command("import_ocf", str(tmp_path))
    for name, content in files.items():
        (tmp_path / name).write_bytes(content.replace(b'"365000.00"', b'"1.00"'))
    with pytest.raises(CommandError, match="transactions.ocf.json: its MD5 is not the manifest's"):
        call_command("import_ocf", str(tmp_path))
    manifest = json.loads(files[ocf.MANIFEST])
    manifest["issuer"]["legal_name"] = "New Co"
    (tmp_path / ocf.TRANSACTIONS).write_bytes(files[ocf.TRANSACTIONS].replace(b'"2024-01-10"', b'"2024-13-10"'))
    manifest["transactions_files"][0]["md5"] = hashlib.md5((tmp_path / ocf.TRANSACTIONS).read_bytes()).hexdigest()
    (tmp_path / ocf.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match="not one this book can read: ValueError"):
        call_command("import_ocf", str(tmp_path))
    assert not Issuer.objects.exists() and not Holder.objects.exists()


@pytest.mark.django_db
def test_a_warrant_assigned_in_part_then_exercised_is_a_transfer_and_an_exercise_of_the_rest(make_note, approve):
    note = make_note(number="N-1")
    other = Holder.objects.create(name="Bo Chen", email="bo@example.com")
    with time_machine.travel("2024-06-03 12:00 -0400", tick=False):
        warrant = lifecycle.warrant_issue(
            issuer=note.issuer, holder=note.holder, note=note, number="WT-1", shares=10,
            exercise_price=Decimal("2.5"), issued_on=note.agreement_date, expires_on=note.maturity_date,
        )  # fmt: skip
        approve(
            lifecycle.warrant_assignment_record(
                warrant=warrant, effective_on=date(2024, 3, 1), assignee=other, shares=4
            )
        )
        approve(lifecycle.warrant_exercise_record(warrant=warrant, exercised_on=date(2024, 4, 1), shares=3))
        package = load(ocf.package(note.issuer))
    assert {"TX_WARRANT_TRANSFER", "TX_WARRANT_EXERCISE", "TX_WARRANT_ISSUANCE"} <= valid(package)
    items = {i["id"]: i for i in package[ocf.TRANSACTIONS]["items"]}
    transfer, exercise = items["warrant-WT-1-transfer-1"], items["warrant-WT-1-exercise-2"]
    assert (transfer["quantity"], transfer["resulting_security_ids"]) == ("4", ["warrant-WT-1/1"])
    assert items["warrant-WT-1/1-issuance"]["quantity"] == "4"
    # The rest after the transfer is a new security, which the exercise then draws on.
    assert items["warrant-WT-1-balance-1-issuance"]["quantity"] == "6"
    assert exercise["security_id"] == "warrant-WT-1-balance-1"
    assert exercise["trigger_id"] == "warrant-WT-1-balance-1-exercise"
    (stock,) = exercise["resulting_security_ids"]
    assert items[f"{stock}-issuance"]["quantity"] == "3"
    assert items[f"{stock}-issuance"]["share_price"] == {"amount": "2.5", "currency": "USD"}
    assert items["warrant-WT-1-balance-2-issuance"]["quantity"] == "3"
    order = list(items)
    assert order.index(exercise["id"]) + 1 == order.index(f"{stock}-issuance")  # the shares follow the exercise


@pytest.mark.django_db(transaction=True)  # flush: TRUNCATE, outside a test's transaction on PostgreSQL
def test_import_records_as_the_user_named_who_may_add_the_records(make_note, tmp_path):
    make_note(number="N-1")
    for name, content in ocf.package(Issuer.objects.get()).items():
        (tmp_path / name).write_bytes(content)
    call_command("flush", interactive=False, verbosity=0)
    UserFactory(username="viewer", roles=["viewer"])
    servicer = UserFactory(username="servicer", roles=["servicer"])
    with pytest.raises(CommandError, match="viewer may not add issuers, holders and notes"):
        call_command("import_ocf", str(tmp_path), "--user", "viewer")
    with pytest.raises(CommandError, match="no active user is named 'ghost'"):
        call_command("import_ocf", str(tmp_path), "--user", "ghost")
    call_command("import_ocf", str(tmp_path), "--user", "servicer", stdout=StringIO())
    note = Note.objects.get()
    assert (note.number, note.created_by, note.principal) == ("N-1", servicer, Decimal("365000.00"))
    assert {h.history_user for h in Issuer.history.all()} == {servicer}
