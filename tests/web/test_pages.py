from datetime import date
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from servicing import clock, services
from servicing.close import close_books
from servicing.selectors import note_balances
from tests.conftest import once
from tests.factories import HolderFactory, UserFactory
from tests.helpers import refused_at, row_counts

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["notes:list", "admin:index"])
def test_pages_need_a_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_note_page_needs_a_login(client, make_note):
    note = make_note()
    response = client.get(note.get_absolute_url())
    assert response.status_code == 302


def test_the_note_list_shows_each_note_with_its_balances(client, make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 2, 5)):
        approve(services.payment_record(note=note, received_on=date(2024, 2, 5), amount=D("1000.00"), by=staff))
    client.force_login(staff)
    page = client.get(reverse("notes:list")).content.decode()
    assert note.number in page
    assert "365,000.00" in page
    assert "1,200.00" in page  # January's 2,200.00 less the payment


def test_the_note_page_shows_terms_balances_and_ledger(client, make_note, staff):
    note = make_note()
    close_books(through=date(2024, 2, 1))
    client.force_login(staff)
    page = client.get(note.get_absolute_url()).content.decode()
    assert "<dd>2.000000</dd>" in page  # conversion price
    assert "(default 13%)" in page  # 10 % and the 3 % spread (section 1)
    assert "<dt>Prepayment from</dt><dd>2024-04-10</dd>" in page  # three months' lockout (section 3)
    assert "2,200.00" in page  # January billed
    assert "Payoff (next day)" in page
    assert 'data-balance="principal">365,000.00<' in page and 'data-balance="interest">2,200.00<' in page
    assert '<td>Interest from 2024-01-10</td><td class="num">2,200.00</td>' in page  # January billed, in the ledger


def test_the_login_page_logs_in(client, staff):
    response = client.post(reverse("login"), {"username": "servicer", "password": "pw-servicer-1"})
    assert response.status_code == 302
    assert client.get(reverse("notes:list")).status_code == 200


def test_the_note_page_shows_what_awaits_approval_and_the_chain_of_title(client, make_note, staff, approve):
    from servicing import lifecycle

    note = make_note()
    bea = HolderFactory(name="Bea Assignee")
    with clock.pinned(date(2024, 3, 15)):
        assignment = approve(
            lifecycle.assignment_record(
                note=note, effective_on=date(2024, 3, 15), parts=[(bea, D("1000.00"))], by=staff
            )
        )
        services.payment_record(note=note, received_on=date(2024, 3, 15), amount=D("123.45"), by=staff)
    client.force_login(staff)
    page = client.get(note.get_absolute_url()).content.decode()
    assert "Awaiting approval" in page and "123.45 received 2024-03-15" in page
    substitute = assignment.parts.get().substitute
    page = client.get(substitute.get_absolute_url()).content.decode()
    assert "Chain of title" in page and note.number in page and "Bea Assignee, from 2024-03-15" in page


def viewer_client(client):
    client.force_login(UserFactory(username="viewer", roles=["viewer"]))
    return client


def test_the_read_only_pages_open_for_a_viewer(client, make_note, holder):
    note = make_note()
    close_books(through=date(2024, 3, 1))
    viewer_client(client)
    for url in [
        reverse("dashboard"),
        reverse("notes:list"),
        note.get_absolute_url(),
        note.get_absolute_url() + "?on=2024-03-15&principal=1000.00",
        reverse("holders:list"),
        holder.get_absolute_url(),
        reverse("servicing:approvals"),
        reverse("servicing:statements"),
        reverse("servicing:reminders"),
        reverse("servicing:jobs"),
        reverse("servicing:closing_prices"),
        reverse("password_change"),
    ]:
        assert client.get(url).status_code == 200, url


def test_a_viewer_is_forbidden_to_record_or_approve(client, make_note, staff):
    note = make_note()
    payment = services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("10.00"), by=staff)
    viewer_client(client)
    url = reverse("servicing:record", args=[note.pk, "payment"])
    assert client.get(url).status_code == 403
    assert client.post(url, {"received_on": "2024-02-01", "amount": "5.00"}).status_code == 403
    assert client.post(reverse("servicing:decide", args=["payment", payment.pk, "approve"])).status_code == 403
    assert note.payments.count() == 1 and note.payments.get().approval == "pending"


def test_a_bad_payment_is_refused_next_to_its_field_and_nothing_is_saved(client, make_note, staff):
    note = make_note()
    client.force_login(staff)
    url = reverse("servicing:record", args=[note.pk, "payment"])
    before = row_counts()
    response = client.post(url, once({"received_on": "2024-01-02", "amount": "10.00"}))
    refused_at(response, "received_on", "Received on 2024-01-02 is before the agreement date 2024-01-10")
    page = response.content.decode()
    assert "Received on 2024-01-02 is before the agreement date 2024-01-10" in page
    assert "received_on 2024" not in page  # the field's label, not its code name
    assert 'id="id_received_on"' in page and "is-invalid" in page
    response = client.post(url, once({"received_on": "2024-02-01", "amount": "-5"}))
    refused_at(response, "amount", "Ensure this value is greater than or equal to 0.01")
    assert row_counts() == before


def test_a_notice_dated_outside_the_notes_dates_is_refused_in_the_words_of_its_label(client, make_note, staff):
    note = make_note()
    client.force_login(staff)
    url = reverse("servicing:record", args=[note.pk, "conversion"])
    data = {"notice_sent": "2020-01-01", "method": "overnight_courier", "confirm_date": "on"}
    response = client.post(url, once(data))
    said = refused_at(response, "notice_sent", "Notice sent on 2020-01-01 is outside the dates this note can have")
    assert "notice_sent" not in said and "notice.sent" not in said
    assert not note.conversions.exists()


def test_a_payment_recorded_then_approved_by_another_user_changes_the_balance(client, make_note, staff, approver):
    note = make_note()
    close_books(through=date(2024, 2, 5))
    client.force_login(staff)
    response = client.post(
        reverse("servicing:record", args=[note.pk, "payment"]), once({"received_on": "2024-02-01", "amount": "2200.00"})
    )
    assert response.status_code == 302
    payment = note.payments.get()
    note.refresh_from_db()
    assert payment.approval == "pending" and note_balances(note).interest_due == D("2200.00")
    page = client.get(reverse("servicing:approvals")).content.decode()
    assert "2,200.00 received 2024-02-01" in page and "Approve" not in page  # a servicer cannot approve
    client.force_login(approver)
    assert 'Approvals <span class="badge text-bg-warning">1</span>' in client.get(reverse("dashboard")).content.decode()
    client.post(reverse("servicing:decide", args=["payment", payment.pk, "approve"]))
    note.refresh_from_db()
    assert note_balances(note).interest_due == D("0.00")


def decided_rows(page: str) -> str:
    return page[page.index("Recently decided") :]


def test_the_approvals_page_names_the_note_and_holder_of_each_item(client, make_note, staff, approve):
    decided = make_note(holder=HolderFactory(name="Decided Holder LLC"))
    waiting = make_note(holder=HolderFactory(name="Waiting Holder LP"))
    with clock.pinned(date(2024, 2, 5)):
        approve(services.payment_record(note=decided, received_on=date(2024, 2, 1), amount=D("10.00"), by=staff))
        services.payment_record(note=waiting, received_on=date(2024, 2, 2), amount=D("20.00"), by=staff)
    client.force_login(staff)
    page = client.get(reverse("servicing:approvals")).content.decode()
    pending, recent = page[: page.index("Recently decided")], decided_rows(page)
    assert f'<a href="{decided.get_absolute_url()}">{decided.number}</a>' in recent
    assert "Decided Holder LLC" in recent and "Waiting Holder LP" not in recent
    assert f'<a href="{waiting.get_absolute_url()}">{waiting.number}</a>' in pending
    assert "Waiting Holder LP" in pending and "Decided Holder LLC" not in pending


def test_the_approvals_page_runs_as_many_queries_for_five_notes_as_for_one(client, make_note, staff, approve):
    def record_on_a_new_note():
        note = make_note(holder=HolderFactory())
        with clock.pinned(date(2024, 2, 5)):
            approve(services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("1.00"), by=staff))
            services.default_record(note=note, kind="misrepresentation", occurred_on=date(2024, 2, 1), by=staff)

    def queries() -> int:
        with CaptureQueriesContext(connection) as run:
            assert client.get(reverse("servicing:approvals")).status_code == 200
        return len(run)

    client.force_login(staff)
    record_on_a_new_note()
    one = queries()
    for _ in range(4):
        record_on_a_new_note()
    assert queries() == one


def test_the_notice_form_shows_the_deemed_received_date_before_saving(client, make_note, staff):
    note = make_note()
    client.force_login(staff)
    url = reverse("servicing:record", args=[note.pk, "prepayment"])
    data = {"notice_sent": "2024-04-11", "method": "overnight_courier", "prepayment_date": "2024-04-22"}
    page = client.post(url, once(data | {"preview": "1"})).content.decode()
    assert "deemed to receive the notice on Friday 2024-04-12" in page
    assert "conversion window runs through Wednesday 2024-04-17" in page
    assert not note.prepayments.exists()


def test_the_payoff_quote_and_conversion_what_if(client, make_note, staff):
    note = make_note()
    close_books(through=date(2024, 3, 1))
    client.force_login(staff)
    page = client.get(note.get_absolute_url() + "?on=2024-02-01&principal=100000.00").content.decode()
    # Paid on 1 February: principal and January's 22 days of interest, billed that morning.
    assert "Payoff on 2024-02-01: <strong data-payoff>367,200.00</strong>" in page
    # 100,000.00 + 2,200.00 billed = 102,200.00 at 2.00: 51,100 shares.
    assert "<strong data-shares>51,100 shares</strong>" in page


def test_the_lists_export_csv(client, make_note, staff):
    note = make_note()
    client.force_login(staff)
    response = client.get(reverse("notes:list") + "?export=csv")
    assert response["Content-Type"] == "text/csv"
    rows = response.content.decode().splitlines()
    assert rows[0].startswith("Note,Holder,Issuer") and rows[1].startswith(f"{note.number},Ann Lee,")
    assert "365000.00" in rows[1]
    assert client.get(reverse("holders:list") + "?export=csv").content.decode().count("\n") == 2


def test_a_payment_keyed_in_error_is_reversed_from_the_note_page_once_someone_else_approves(
    client, make_note, staff, approve, approver
):

    note = make_note()
    close_books(through=date(2024, 2, 5))
    with clock.pinned(date(2024, 2, 5)):
        payment = approve(
            services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=staff)
        )
    url = reverse("servicing:payment_reverse", args=[payment.pk])
    client.force_login(UserFactory(username="viewer", roles=["viewer"]))
    assert client.post(url, {"reason": "wire returned"}).status_code == 403  # a viewer may not
    client.force_login(staff)
    assert "Ask to reverse" in client.get(note.get_absolute_url()).content.decode()
    page = client.post(url, {"reason": "wire returned"}, follow=True).content.decode()
    assert "takes effect when another user approves it" in page
    reversal = payment.reversals.get()
    client.force_login(approver)  # who approved the payment
    page = client.post(reverse("servicing:decide", args=["paymentreversal", reversal.pk, "approve"]), follow=True)
    assert "someone else must approve its reversal" in page.content.decode()
    client.force_login(UserFactory(username="second", roles=["approver"]))
    client.post(reverse("servicing:decide", args=["paymentreversal", reversal.pk, "approve"]))
    page = client.get(note.get_absolute_url()).content.decode()
    assert "Reversed" in page and "wire returned" in page
    note.refresh_from_db()
    assert note_balances(note).interest_due == D("2200.00")


def test_a_participation_is_ended_and_a_review_flag_cleared_from_the_note_page(
    client, make_note, issuer, staff, approve
):
    from servicing import lifecycle

    note = make_note()
    participant = HolderFactory(name="Elm Street Credit Fund")
    participation = approve(
        lifecycle.participation_record(
            note=note, participant=participant, share=D("0.2"), starts_on=date(2024, 2, 1), by=staff
        )
    )
    approve(
        lifecycle.corporate_action_record(
            issuer=issuer, kind="split", effective_on=date(2024, 3, 1), ratio=D("2"), by=staff
        )
    )
    flag = note.flags.get()
    client.force_login(staff)
    page = client.get(note.get_absolute_url()).content.decode()
    assert "Split or combination to review" in page and 'name="ends_on"' in page
    client.post(reverse("servicing:participation_end", args=[participation.pk]), {"ends_on": "2024-01-15"})
    participation.refresh_from_db()
    assert participation.ends_on is None  # before it started: refused
    client.post(reverse("servicing:participation_end", args=[participation.pk]), {"ends_on": "2024-04-01"})
    client.post(reverse("servicing:flag_clear", args=[flag.pk]), {"resolution": "no term changes; filed"})
    participation.refresh_from_db()
    flag.refresh_from_db()
    assert participation.ends_on == date(2024, 4, 1)
    assert (flag.cleared_by, flag.resolution) == (staff, "no term changes; filed")


@pytest.mark.parametrize(
    "kind, data, made",
    [
        # 2024-02-10 is a Saturday: the notices sent on it are recorded once the date is confirmed.
        ("notice", {"kind": "default", "direction": "holder_to_company", "method": "telecopy", "sent_on": "2024-02-10",
                    "confirm_date": "on"}, "notices"),
        ("conversion", {"notice_sent": "2024-02-10", "method": "telecopy", "principal": "1000.00",
                        "confirm_date": "on"}, "conversions"),
        ("prepayment", {"notice_sent": "2024-04-11", "method": "overnight_courier", "prepayment_date": "2024-04-22"},
         "prepayments"),
        ("covenant", {"occurred_on": "2024-02-10"}, "default_events"),
        ("misrepresentation", {"occurred_on": "2024-02-10"}, "default_events"),
        ("insolvency", {"occurred_on": "2024-02-10"}, "default_events"),
        ("acceleration", {"notice_sent": "2024-02-10", "method": "telecopy", "confirm_date": "on"},
         "acceleration_notices"),
        ("cost", {"billed_on": "2024-02-10", "amount": "500.00", "description": "counsel"}, "collection_costs"),
        ("assignment", {"effective_on": "2024-02-15", "principal_1": "1000.00"}, "assignments"),
        ("participation", {"share": "0.25", "starts_on": "2024-02-01"}, "participations"),
    ],
)  # fmt: skip
def test_each_workflow_form_records_through_its_service(client, make_note, staff, kind, data, made):

    note = make_note()
    close_books(through=date(2024, 2, 5))  # January's interest is past due: an Event of Default runs
    other = HolderFactory(name="Bea Other")
    data = data | {"assignee_1": other.pk, "participant": other.pk}
    client.force_login(staff)
    response = client.post(reverse("servicing:record", args=[note.pk, kind]), once(data))
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert getattr(note, made).count() == 1


def test_the_cure_and_waiver_forms_record_an_end_to_a_default_for_approval(client, make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 3, 20)):
        breach = approve(services.default_record(note=note, kind="covenant", occurred_on=date(2024, 3, 1), by=staff))
        misrep = approve(
            services.default_record(note=note, kind="misrepresentation", occurred_on=date(2024, 3, 4), by=staff)
        )
    client.force_login(staff)
    url = reverse("servicing:record", args=[note.pk, "cure"])
    client.post(url, once({"event": breach.pk, "cured_on": "2024-03-08"}))
    client.post(
        reverse("servicing:record", args=[note.pk, "waiver"]), once({"event": misrep.pk, "waived_on": "2024-03-11"})
    )
    assert (breach.cures.get().cured_on, breach.cures.get().approval) == (date(2024, 3, 8), "pending")
    assert misrep.waivers.get().approval == "pending"
    with clock.pinned(date(2024, 3, 20)):
        approve(breach.cures.get())
    breach.refresh_from_db()
    assert breach.ended_on == date(2024, 3, 8)


def test_a_form_submitted_twice_records_once(client, make_note, staff):
    note = make_note()
    client.force_login(staff)
    url = reverse("servicing:record", args=[note.pk, "payment"])
    data = once({"received_on": "2024-02-01", "amount": "2200.00"})
    assert client.post(url, data).status_code == 302
    page = client.post(url, data).content.decode()
    assert "this form was already submitted" in page
    assert note.payments.count() == 1
    page = client.post(url, {"received_on": "2024-02-01", "amount": "2200.00"}).content.decode()  # no token
    assert "this page is out of date" in page and note.payments.count() == 1


def test_the_notes_lists_rows_are_the_cells_django_tables2_would_render(rf, make_note, staff, approve):
    from django_tables2 import RequestConfig

    from servicing.note_tables import NoteTable
    from servicing.selectors import notes_with_balances

    make_note(number="OTHER", rate=D("0.0725"))
    note = make_note()
    with clock.pinned(date(2024, 2, 5)):
        approve(services.payment_record(note=note, received_on=date(2024, 2, 5), amount=D("9999.99"), by=staff))

    def rows(template_name):
        table = NoteTable(notes_with_balances(), template_name=template_name)
        RequestConfig(rf.get("/notes/"), paginate={"per_page": 25}).configure(table)
        html = table.as_html(rf.get("/notes/"))
        return "".join(html[html.index("<tbody") : html.index("</tbody>")].replace("<td >", "<td>").split())

    ours = rows(NoteTable.Meta.template_name)
    assert ours == rows("django_tables2/bootstrap5-responsive.html")
    assert ">OTHER</a>" in ours and ">7.25%<" in ours and ">7,799.99<" in ours
