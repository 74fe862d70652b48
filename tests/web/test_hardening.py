"""What an attacker tried, refused: history that saves, actions without their permission, the system
approver's login, unbounded dates, text that overflows, numbers that collide, formulas in CSV,
foreign `next` URLs, a form sent twice, pages without a Content-Security-Policy."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from holders.models import Holder
from holders.services import holder_create
from notes.models import ClosingPrice
from servicing import approvals, clock, documents, lifecycle, services
from servicing.models import Document, JobRun, SpentToken
from servicing.selectors import note_balances
from servicing.web import spreadsheet_safe
from tests.conftest import once
from tests.factories import ClosingPriceFactory, HolderFactory, NoteFactory, UserFactory, exhibit_attached
from tests.helpers import refused, refused_at, row_counts
from tests.web.test_security import patterns

pytestmark = pytest.mark.django_db


def test_the_history_page_shows_an_old_version_and_saves_nothing_whoever_posts(client, holder):
    holder.email = "new@example.com"
    holder.save()
    old = holder.history.earliest()
    url = f"/admin/holders/holder/{holder.pk}/history/{old.history_id}/"
    for user in (
        UserFactory(username="viewer", roles=["viewer"], is_staff=True),
        UserFactory(username="servicer", roles=["servicer"], is_staff=True),
        UserFactory(username="admin", roles=["admin"], is_staff=True),
    ):
        client.force_login(user)
        assert client.get(url).status_code == 200
        response = client.post(url, {"name": holder.name, "kind": "individual", "email": "thief@example.com"})
        assert response.status_code == 403, user
    assert Holder.objects.get().email == "new@example.com"


def test_admin_actions_need_the_permission_they_change_things_with(client, make_note):
    note = make_note()
    exhibit_attached(note)  # the agreement's Exhibit A (section 4(c))
    actions = {"_selected_action": [note.pk], "index": 0}
    client.force_login(UserFactory(username="viewer", roles=["viewer"], is_staff=True))
    client.post("/admin/notes/note/", actions | {"action": "produce_agreement"})
    client.post("/admin/notes/note/", actions | {"action": "replay"})
    assert not Document.objects.exists()
    page = client.get("/admin/notes/note/").content.decode()
    assert "produce_agreement" not in page and '"replay"' not in page
    client.force_login(UserFactory(username="admin", roles=["admin"], is_staff=True))
    assert "produce_agreement" in client.get("/admin/notes/note/").content.decode()
    client.post("/admin/notes/note/", actions | {"action": "produce_agreement"})
    assert Document.objects.filter(kind="agreement", note=note).count() == 1


def test_the_system_approver_never_logs_in_whatever_its_password(client):
    user = approvals.system_approver()
    user.set_password("a-password-someone-set-1")
    user.save()
    client.post(reverse("login"), {"username": approvals.SYSTEM_APPROVER, "password": "a-password-someone-set-1"})
    assert "_auth_user_id" not in client.session


def test_users_and_their_roles_are_changed_with_a_history(client):
    admin = UserFactory(username="admin", roles=["admin"], is_staff=True)
    clerk = UserFactory(username="clerk", roles=["viewer"])
    client.force_login(admin)
    form = {
        "username": "clerk",
        "is_active": "on",
        "is_staff": "on",
        "groups": [approvals.Group.objects.get(name="approver").pk],
        "date_joined_0": "2024-01-02",
        "date_joined_1": "09:00:00",
    }
    response = client.post(f"/admin/auth/user/{clerk.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[-2000:]
    latest = get_user_model().history.filter(id=clerk.pk).latest()
    assert (latest.history_user, latest.is_staff) == (admin, True)
    assert [g.group.name for g in latest.groups.all()] == ["approver"]
    assert client.get(f"/admin/auth/user/{clerk.pk}/history/").status_code == 200


def test_an_insolvency_accelerates_only_once_another_user_approves_it(make_note, approve):
    note = make_note()
    both = UserFactory(username="both", roles=["servicer", "approver"])
    with clock.pinned(date(2024, 3, 20)):
        insolvency = services.default_record(note=note, kind="insolvency", occurred_on=date(2024, 3, 4), by=both)
        note.refresh_from_db()
        assert not hasattr(note, "acceleration") and note_balances(note).default_interest_due == D("0.00")
        with refused("approval", "a different user must approve it"):
            approvals.approve(insolvency, by=both)
        approve(insolvency)
    note.refresh_from_db()
    assert note.acceleration.date == date(2024, 3, 4)


def test_a_close_behind_a_conversion_price_is_neither_changed_nor_deleted(client, issuer, holder, staff):
    closes = [ClosingPriceFactory(issuer=issuer, date=date(2024, 1, d), close=D("2.00")) for d in (2, 3, 4, 5, 8)]
    spare = ClosingPriceFactory(issuer=issuer, date=date(2023, 12, 1), close=D("9.99"))
    NoteFactory(issuer=issuer, holder=holder, principal=D("1000.00"), conversion_price=None, by=staff)
    client.force_login(UserFactory(username="admin", roles=["admin"], is_staff=True))
    used = closes[-1]
    assert client.get(f"/admin/notes/closingprice/{used.pk}/delete/").status_code == 403
    assert client.post(f"/admin/notes/closingprice/{used.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(
        f"/admin/notes/closingprice/{used.pk}/change/", {"issuer": issuer.pk, "date": "2024-01-08", "close": "9"}
    )
    bulk = {"action": "delete_selected", "_selected_action": [used.pk], "post": "yes"}
    client.post("/admin/notes/closingprice/", bulk)
    assert ClosingPrice.objects.get(pk=used.pk).close == D("2.00")
    assert client.post(f"/admin/notes/closingprice/{spare.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not ClosingPrice.objects.filter(pk=spare.pk).exists()


def test_typed_numbers_never_take_a_substitutes_or_an_automatic_number(make_note, staff, approve, holder):
    original = make_note(number="A")
    for number, words in [("A/1", "1 to 30 letters"), ("CN-00099", "given automatically"), ("x" * 31, "1 to 30")]:
        with refused("number", words, unchanged=row_counts):
            make_note(number=number)
    make_note(number="A-1")  # what a substitute was once numbered: now an ordinary number
    bea = HolderFactory(name="Bea")
    with clock.pinned(date(2024, 3, 20)):
        assignment = approve(
            lifecycle.assignment_record(
                note=original, effective_on=date(2024, 3, 15), parts=[(bea, D("1000.00"))], by=staff
            )
        )
    assert assignment.parts.get().substitute.number == "A/1"


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("reference", "r" * 101, "at most 100 characters"),
        ("reference", "wire\n<img src=http://127.0.0.1:9/x>", "must be one line"),
        ("amount", "1e30", "Ensure that there are no more than"),
        ("received_on", "9999-12-31", "in the future"),
    ],
)
def test_bad_payment_input_is_refused_at_its_field_and_changes_nothing(client, make_note, staff, field, value, words):
    note = make_note()
    client.force_login(staff)
    data = {"received_on": "2024-02-01", "amount": "10.00", "reference": ""} | {field: value}
    before = row_counts()
    response = client.post(reverse("servicing:record", args=[note.pk, "payment"]), once(data))
    refused_at(response, field, words)
    assert words in response.content.decode()
    assert row_counts() == before and not SpentToken.objects.exists()


def test_services_refuse_text_that_does_not_fit_its_column(make_note, staff):
    note = make_note()
    with refused("reference", "at most 100 characters", unchanged=row_counts):
        services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("1.00"), reference="r" * 101)
    with refused("name", "must be one line", unchanged=row_counts):
        holder_create(name="Evil\nName")


def test_a_what_if_past_the_notes_window_is_refused_at_once(client, make_note, staff):
    note = make_note()
    client.force_login(staff)
    for on in ("9999-12-31", "2200-01-01", "1900-01-01"):
        response = client.get(note.get_absolute_url(), {"on": on})
        refused_at(response.context["quote_form"], "on", "is outside the dates this note can have")
        assert "is outside the dates this note can have" in response.content.decode(), on
        assert response.context["payoff"] is None


def test_statements_for_a_month_that_has_not_ended_are_refused(client, staff):
    client.force_login(UserFactory(username="admin", roles=["admin"]))
    page = client.post(reverse("servicing:statements"), {"month": "2400-01"}, follow=True).content.decode()
    assert "Month 2400-01 has not ended" in page  # named by its label
    assert not JobRun.objects.exists()


def test_decide_follows_next_only_to_this_site(client, make_note, staff):
    note = make_note()
    with clock.pinned(date(2024, 2, 5)):
        payment = services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("5.00"), by=staff)
    client.force_login(UserFactory(username="approver", roles=["approver"]))
    url = reverse("servicing:decide", args=["payment", payment.pk, "reject"])
    for bad in ("https://evil.example/", "javascript:alert(1)", "//evil.example/x"):
        response = client.post(url, {"reason": "no", "next": bad})
        assert response["Location"] == reverse("servicing:approvals"), bad
    response = client.post(url, {"reason": "no", "next": note.get_absolute_url()})
    assert response["Location"] == note.get_absolute_url()


def test_csv_cells_that_a_spreadsheet_would_run_are_text_and_numbers_stay_numbers(client, staff):
    assert [spreadsheet_safe(v) for v in ["=HYPERLINK(1)", "+cmd|x", "-2+3", "@SUM(1)", "\tx", "\rx"]] == [
        "'=HYPERLINK(1)",
        "'+cmd|x",
        "'-2+3",
        "'@SUM(1)",
        "'\tx",
        "'\rx",
    ]
    assert [spreadsheet_safe(v) for v in ["-120.00", "1,234.50", "7.5%", "Ann", None]] == [
        "-120.00",
        "1,234.50",
        "7.5%",
        "Ann",
        "",
    ]
    HolderFactory(name='=HYPERLINK("http://127.0.0.1:9/","x")')
    client.force_login(staff)
    body = client.get(reverse("holders:list"), {"export": "csv"}).content.decode()
    assert "'=HYPERLINK" in body and "\n=HYPERLINK" not in body


def test_a_login_lasts_a_working_day(client, staff):
    client.force_login(staff)
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE == 9 * 3600


def test_every_page_sends_a_content_security_policy_and_a_preview_is_sandboxed(client, make_note):
    note = make_note()  # the record each page about a record (pk 1) opens on
    exhibit_attached(note)
    document = documents.agreement_produce(note=note)
    preview = reverse("servicing:document_preview", args=[document.pk])
    assert client.get(reverse("login"))["Content-Security-Policy"]
    client.force_login(UserFactory(username="admin", roles=["admin"], is_staff=True))
    for url in [u for _, u in patterns() if u != preview] + ["/admin/", note.get_absolute_url()]:
        policy = client.get(url).get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, url
        assert "unsafe-inline" not in policy, url
    policy = client.get(preview)["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy


def test_an_admin_form_with_a_key_that_is_no_key_is_refused_at_its_field(client, make_note):
    make_note()
    client.force_login(UserFactory(username="admin", roles=["admin"], is_staff=True))
    form = {"note": "abc", "received_on": "2024-02-01", "amount": "1.00"}
    response = client.post("/admin/servicing/payment/add/", form)
    refused_at(response, "note", "Select a valid choice")


def test_the_close_command_posts_no_day_that_is_not_over():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="is not over yet"):
        call_command("close_books", "--through", "9999-12-31")
    assert not JobRun.objects.exists()


def test_an_admin_add_form_sent_twice_adds_once(client, make_note):
    note = make_note()
    client.force_login(UserFactory(username="admin", roles=["admin"], is_staff=True))
    page = client.get("/admin/servicing/payment/add/").content.decode()
    assert 'type="hidden" name="once"' in page
    form = once({"note": note.pk, "received_on": "2024-02-01", "amount": "1.00"})
    assert client.post("/admin/servicing/payment/add/", form).status_code == 302
    page = client.post("/admin/servicing/payment/add/", form).content.decode()
    assert "this form was already submitted" in page and note.payments.count() == 1


def test_an_old_version_of_every_kind_of_record_is_shown_read_only(client, make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 3, 20)):
        event = approve(services.default_record(note=note, kind="covenant", occurred_on=date(2024, 3, 1), by=staff))
        payment = services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("5.00"), by=staff)
    client.force_login(UserFactory(username="viewer", roles=["viewer"], is_staff=True))
    for model, obj, field in (
        ("servicing/defaultevent", event, "occurred_on"),
        ("servicing/payment", payment, "received_on"),
        ("notes/note", note, "principal"),
    ):
        old = obj.history.earliest()
        page = client.get(f"/admin/{model}/{obj.pk}/history/{old.history_id}/").content.decode()
        assert f"field-{field}" in page and f'name="{field}"' not in page, model  # shown, not editable


def test_a_login_is_no_change_to_record_and_the_history_keeps_no_password(client, staff):
    users = get_user_model().history
    before = users.count()
    client.post(reverse("login"), {"username": "servicer", "password": "pw-servicer-1"})
    assert "_auth_user_id" in client.session
    assert users.count() == before
    assert "password" not in [f.name for f in users.model._meta.fields]


def test_an_admin_list_filtered_by_a_year_no_column_holds_and_a_version_that_is_no_number_fail_nothing(
    client, make_note
):
    note = make_note()
    client.force_login(UserFactory(username="viewer", roles=["viewer"], is_staff=True))
    response = client.get("/admin/notes/note/", {"agreement_date__year": "99999999999"})
    assert response.status_code == 302 and response["Location"].endswith("?e=1")
    assert client.get(response["Location"]).status_code == 200
    assert client.get(f"/admin/notes/note/{note.pk}/history/abc/").status_code == 404


def test_a_holder_added_twice_in_the_admin_is_added_once_and_an_unchanged_note_saves_no_history(client, make_note):
    client.force_login(UserFactory(username="admin", roles=["admin"], is_staff=True))
    form = once({"kind": "individual", "name": "Dup Holder", "notice_address": "1 St", "email": "d@example.com"})
    assert client.post("/admin/holders/holder/add/", form).status_code == 302
    assert "this form was already submitted" in client.post("/admin/holders/holder/add/", form).content.decode()
    assert Holder.objects.filter(name="Dup Holder").count() == 1
    note = make_note()
    rows = note.history.count()
    client.force_login(UserFactory(username="clerk", roles=["servicer"], is_staff=True))
    assert client.post(f"/admin/notes/note/{note.pk}/change/", once({})).status_code == 403
    assert note.history.count() == rows


def test_a_note_past_its_last_day_is_closed_for_good_and_still_gets_its_statement(
    make_note, holder, staff, django_capture_on_commit_callbacks
):
    from servicing.close import close_books
    from servicing.deliveries import statements_run

    note = make_note()  # matures 2025-01-10: replayed at most to 2045-01-10
    run = close_books(through=date(2046, 3, 1))
    note.refresh_from_db()
    assert run.failures == [] and note.closed_through == date(2045, 1, 10)
    with clock.pinned(date(2046, 3, 5)), django_capture_on_commit_callbacks(execute=True):
        statements_run(month=date(2046, 2, 1), holder_ids=[holder.pk], by=staff)
    assert holder.statement_deliveries.get().status == "sent"
