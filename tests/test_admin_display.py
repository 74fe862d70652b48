"""The admin as a reader sees it: amounts with separators, rates as percentages, prices with six
places, no posting internals, and a history that names who made each change."""

import re
from datetime import date
from decimal import Decimal as D

import pytest

from notes.models import Participation
from servicing import clock, services
from servicing.close import close_books
from servicing.deliveries import statements_run
from servicing.models import StatementDelivery
from tests.factories import HolderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["superuser", "admin role"])
def admin_client(request, client):
    if request.param == "superuser":
        user = UserFactory(username="boss", is_staff=True, is_superuser=True)
    else:
        user = UserFactory(username="keeper", is_staff=True, roles=["admin"])
    client.force_login(user)
    return client


@pytest.fixture
def note(make_note):
    note = make_note(principal=D("120000.00"), rate=D("0.075"), conversion_price=D("2.8"))
    close_books(through=date(2024, 3, 5))  # the job posts: balances, engine state, history
    note.refresh_from_db()
    return note


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_note_page_shows_money_rates_and_price_as_a_reader_writes_them(admin_client, note):
    page = text(admin_client.get(f"/admin/notes/note/{note.pk}/change/"))
    assert re.search(r'field-principal\b.*?<div class="readonly">120,000.00</div>', page, re.S)
    assert re.search(r'field-rate\b.*?<div class="readonly">7.5%</div>', page, re.S)
    assert re.search(r'field-default_rate_spread\b.*?<div class="readonly">3%</div>', page, re.S)
    assert re.search(r'field-conversion_price\b.*?<div class="readonly">2.800000</div>', page, re.S)
    assert re.search(r'field-conversion_premium\b.*?<div class="readonly">110%</div>', page, re.S)
    assert re.search(r'field-max_lawful_rate\b.*?<div class="readonly">-</div>', page, re.S)  # none given
    assert "2.8000000000" not in page and "0.0750000000" not in page and "120000.00" not in page


def test_the_note_page_hides_the_engine_state_and_shows_the_posted_balances_formatted(admin_client, note):
    assert note.engine_state  # posted: there is a state to hide
    page = text(admin_client.get(f"/admin/notes/note/{note.pk}/change/"))
    assert "engine_state" not in page and "Engine state" not in page
    for key in note.engine_state if isinstance(note.engine_state, dict) else []:
        assert f'"{key}"' not in page and f"&quot;{key}&quot;" not in page
    assert "Balances as posted" in page
    outstanding = f"{note.principal_outstanding:,.2f}"
    assert re.search(rf'field-principal_outstanding\b.*?<div class="readonly">{outstanding}</div>', page, re.S)
    assert re.search(r'field-closed_through\b.*?<div class="readonly">March 5, 2024</div>', page, re.S)


def test_the_notes_list_formats_amounts_and_rates(admin_client, note):
    page = text(admin_client.get("/admin/notes/note/"))
    assert re.search(r'<td class="field-principal">120,000.00</td>', page)
    assert re.search(r'<td class="field-rate">7.5%</td>', page)


def test_money_in_any_list_has_separators(admin_client, note, staff):
    services.payment_record(note=note, received_on=date(2024, 3, 1), amount=D("1234.5"), by=staff)
    page = text(admin_client.get("/admin/servicing/payment/"))
    assert '<td class="field-amount">1,234.50</td>' in page
    ledger = text(admin_client.get("/admin/servicing/ledgerentry/"))
    assert '<td class="field-amount">120,000.00</td>' in ledger  # the funding entry
    assert "120000.00" not in ledger


def test_a_participation_share_reads_as_a_percentage(admin_client, note):
    Participation.objects.create(note=note, participant=HolderFactory(), share=D("0.25"), starts_on=date(2024, 2, 1))
    page = text(admin_client.get("/admin/notes/participation/"))
    assert '<td class="field-share">25%</td>' in page


def test_the_ledger_list_has_one_column_for_who_posted_and_approved(admin_client, note):
    page = text(admin_client.get("/admin/servicing/ledgerentry/"))
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', page)
    assert headers == ["note", "effective_on", "kind", "account", "what", "amount", "by"]
    assert '<td class="field-by">servicer</td>' in page  # the funding, posted by the note's maker
    assert re.search(r'<td class="field-by">job \w+</td>', page)  # the close's entries


def test_history_names_the_user_or_says_a_job_made_the_change(admin_client, note, staff):
    note_history = text(admin_client.get(f"/admin/notes/note/{note.pk}/history/"))
    table = note_history[note_history.index('id="change-history"') :]
    assert staff.username in table
    assert not re.search(r"<td>\s*None\s*</td>", table)


def test_a_change_no_user_made_is_named_as_a_scheduled_job(admin_client, note):
    note.history.update(history_user=None)  # as a job's save leaves it
    page = text(admin_client.get(f"/admin/notes/note/{note.pk}/history/"))
    table = page[page.index('id="change-history"') :]
    assert "a scheduled job" in table
    assert not re.search(r"<td>\s*None\s*</td>", table)


def test_an_old_version_of_a_note_shows_its_terms_formatted(admin_client, note):
    version = note.history.earliest("history_date")
    page = text(admin_client.get(f"/admin/notes/note/{note.pk}/history/{version.pk}/"))
    assert re.search(r'field-principal\b.*?<div class="readonly">120,000.00</div>', page, re.S)
    assert "engine_state" not in page


def test_a_delivery_the_statements_job_made_names_the_job_in_its_history(admin_client, note):
    statements_run(month=date(2024, 2, 1), enqueue=lambda delivery_id: None)  # no user: the monthly job
    delivery = StatementDelivery.objects.get()
    assert delivery.history.get().history_user is None
    page = text(admin_client.get(f"/admin/servicing/statementdelivery/{delivery.pk}/history/"))
    table = page[page.index('id="change-history"') :]
    assert re.search(r"<td>\s*job statements\s*</td>", table)  # which job, not just "a job"
    assert not re.search(r"<td>\s*None\s*</td>", table)


def test_a_conversion_price_that_rounds_shows_its_unrounded_value_beside_it(admin_client, make_note):
    note = make_note(conversion_price=D("2.3232323232"))
    page = text(admin_client.get(f"/admin/notes/note/{note.pk}/change/"))
    assert re.search(
        r'field-conversion_price\b.*?<div class="readonly">2.323232 \(unrounded 2.3232323232\)</div>', page, re.S
    )


def test_an_acceleration_the_close_made_effective_names_the_close_in_history(admin_client, make_note, staff, approve):
    note = make_note()
    with clock.pinned(date(2024, 2, 1)):
        approve(services.default_record(note=note, kind="misrepresentation", occurred_on=date(2024, 1, 20), by=staff))
        notice = approve(
            services.acceleration_record(note=note, notice_sent=date(2024, 1, 31), method="certified_mail", by=staff)
        )
    with clock.pinned(date(2024, 2, 20)):
        close_books(through=date(2024, 2, 19))  # the notice is deemed received after the 1st: the close applies it
    notice.refresh_from_db()
    assert notice.status == notice.Status.EFFECTIVE
    page = text(admin_client.get(f"/admin/servicing/accelerationnotice/{notice.pk}/history/"))
    table = page[page.index('id="change-history"') :]
    assert re.search(r"<td>\s*job close_books\s*</td>", table)


def test_the_job_filter_names_the_entries_a_person_posted_and_lists_them(admin_client, note):
    page = text(admin_client.get("/admin/servicing/ledgerentry/"))
    assert 'href="?job="' not in page  # no link without a name (axe-core: link-name)
    assert re.search(r'<a href="\?job=-">\s*none \(by a person\)\s*</a>', page)

    def rows(query):
        listed = text(admin_client.get(f"/admin/servicing/ledgerentry/?{query}"))
        return listed[listed.index('id="result_list"') : listed.index("</table>", listed.index('id="result_list"'))]

    by_person, by_job = rows("job=-"), rows("job=close_books")
    assert "Funding" in by_person and "Interest billed" not in by_person  # the servicer funded it
    assert "Interest billed" in by_job and "Funding" not in by_job


def test_a_version_saved_before_its_name_is_a_link_one_can_read(admin_client, note):
    page = text(admin_client.get(f"/admin/notes/note/{note.pk}/history/"))
    table = page[page.index('id="change-history"') :]
    assert not re.search(r"<a [^>]*>\s*</a>", table)
