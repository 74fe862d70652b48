"""The ledger page (/notes/<pk>/ledger/): each entry in words with a link to what it comes from, the
balance of its account after it, a backdated event's corrections grouped, filters and the CSV."""

import csv
import io
import re
from datetime import date
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from servicing import clock, services
from servicing.close import close_books
from servicing.models import LedgerEntry
from servicing.selectors import row_balances
from tests.factories import DefaultEventFactory, UserFactory

pytestmark = pytest.mark.django_db

# The balances card's figure of each account (engine.Balances' names).
CARD = {
    "principal": "principal",
    "interest": "interest_due",
    "default_interest": "default_interest_due",
    "costs": "costs_due",
    "unapplied": "unapplied",
}


@pytest.fixture
def scenario(make_note, staff, approve, approver):
    """January's interest paid with 300.00 over (unapplied), three months closed, then an insolvency
    backdated to 25 January: the periods and the payment are re-posted (reversals and new entries)."""
    note = make_note()
    with clock.pinned(date(2024, 2, 5)):
        payment = approve(
            services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2500.00"), by=staff)
        )
    close_books(through=date(2024, 4, 5))
    with clock.pinned(date(2024, 4, 6)):
        DefaultEventFactory(
            note=note,
            kind="insolvency",
            occurred_on=date(2024, 1, 25),
            today=date(2024, 4, 6),
            approved_by=approver,
            by=staff,
        )
    note.refresh_from_db()
    return note, payment


@pytest.fixture
def viewer(db):
    return UserFactory(username="viewer", roles=["viewer"])


def url(note, query=""):
    return reverse("notes:ledger", args=[note.pk]) + query


def last_balance_by_account(html: str) -> dict[str, str]:
    """The balance after the last entry of each account, as the page shows it (rows in page order)."""
    found = {}
    for account, figure in re.findall(r'data-balance-after="(\w+)">([^<]*)<', html):
        found[account] = figure
    return found


def card(note) -> dict[str, str]:
    balances = row_balances(note)
    return {account: f"{getattr(balances, name):,.2f}" for account, name in CARD.items()}


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_ledger_says_each_entry_in_words_and_links_to_what_it_comes_from(client, scenario, viewer):
    note, payment = scenario
    client.force_login(viewer)
    page = client.get(url(note)).content.decode()
    assert "Payment received 2024-02-01" in page and "Interest from 2024-01-10" in page and "Funding" in page
    assert "payment:" not in page and "period:" not in page and "unapplied:" not in page  # no internal keys
    detail = note.get_absolute_url()
    assert f'href="{detail}#payment-{payment.pk}">Payment received 2024-02-01</a>' in page
    assert f'href="{detail}#period-2024-02-01">Interest for February 2024</a>' in page
    # A reversal names the entry it reverses, and that one says it was reversed.
    reversal = LedgerEntry.objects.filter(note=note, kind="reversal").order_by("pk").first()
    assert f"reverses no. {reversal.reverses_id}" in page and f"reversed by no. {reversal.pk}" in page


def test_the_note_page_lists_the_latest_entries_and_links_to_the_full_ledger(client, scenario, viewer):
    note, _ = scenario
    client.force_login(viewer)
    page = client.get(note.get_absolute_url()).content.decode()
    total = LedgerEntry.objects.filter(note=note).count()
    assert total > 10
    assert f'href="{url(note)}">Full ledger ({total} entries)</a>' in page
    ledger = page[page.index('id="ledger"') :]
    assert ledger.count("<tr>") == 1 + 10  # the heading and the latest ten


def test_the_running_balance_of_each_account_ends_at_the_balances_card(client, scenario, viewer):
    note, _ = scenario
    client.force_login(viewer)
    pages, n = [], 1
    while True:
        response = client.get(url(note, f"?page={n}"))
        pages.append(response.content.decode())
        if not response.context["page"].has_next():
            break
        n += 1
    last = last_balance_by_account("".join(pages))
    expected = card(note)
    assert expected["default_interest"] != "0.00"  # the backdated insolvency billed default interest
    assert {a: last.get(a, "0.00") for a in CARD} == expected
    # After the payment, before the insolvency's re-posting: 300.00 of it was unapplied.
    first = pages[0]
    payment_row = re.search(r"<tr[^>]*data-account=\"unapplied\"[^>]*>.*?</tr>", first, re.S).group(0)
    assert 'data-balance-after="unapplied">300.00<' in payment_row


def test_a_backdated_events_reversals_and_replacements_are_grouped_and_collapsed(client, scenario, viewer):
    note, payment = scenario
    client.force_login(viewer)
    page = client.get(url(note)).content.decode()
    details = re.findall(r"<details[^>]*>", page)
    assert details and all(tag == '<details class="ledger-reposting">' for tag in details)  # collapsed
    summaries = re.findall(r"<summary>(.*?)</summary>", page, re.S)
    paid = [s for s in summaries if "Payment received 2024-02-01" in s]
    # The payment was first applied to January's interest (2,200.00) and 300.00 unapplied; re-posted,
    # default interest billed since 25 January comes first, then principal, and nothing is left over.
    assert len(paid) == 1
    assert "3 entries" in paid[0]
    assert "net default interest -213.21, principal -86.79, unapplied funds -300.00" in paid[0]
    assert re.search(r"Re-posted on \d{4}-\d{2}-\d{2} by (approver|servicer): Payment received 2024-02-01", paid[0])
    reposted = LedgerEntry.objects.filter(note=note, kind="reversal").count()
    assert reposted and page.count("reverses no.") == reposted


def test_filters_keep_the_running_balance_of_the_whole_ledger(client, scenario, viewer):
    note, _ = scenario
    client.force_login(viewer)
    everything = read_csv(client.get(url(note, "?export=csv")))
    balance_of = {row["Entry"]: row["Balance of the account after"] for row in everything}
    payments = read_csv(client.get(url(note, "?kind=payment&export=csv")))
    assert payments and {row["Kind"] for row in payments} == {"Payment"}
    assert len(payments) == LedgerEntry.objects.filter(note=note, kind="payment").count()
    assert all(row["Balance of the account after"] == balance_of[row["Entry"]] for row in payments)
    interest = client.get(url(note, "?account=interest"))
    html = interest.content.decode()
    assert set(re.findall(r'data-account="(\w+)"', html)) == {"interest"}
    assert "Balance of Interest after" in html
    refused = client.get(url(note, "?account=nonsense")).content.decode()
    assert "Nothing is listed: correct the filter above." in refused


def test_the_csv_has_words_figures_and_who(client, scenario, viewer):
    note, payment = scenario
    client.force_login(viewer)
    response = client.get(url(note, "?export=csv"))
    assert response["Content-Type"] == "text/csv"
    assert f'filename="ledger-{note.number}.csv"' in response["Content-Disposition"]
    rows = read_csv(response)
    assert len(rows) == LedgerEntry.objects.filter(note=note).count()
    text = response.content.decode()
    assert "payment:" not in text and "period:" not in text
    last = {}
    for row in rows:
        last[row["Account"]] = row["Balance of the account after"]
    labels = dict(LedgerEntry.Account.choices)
    balances = row_balances(note)
    for account, name in CARD.items():
        assert D(last.get(labels[account], "0.00")) == getattr(balances, name)
    paid = [r for r in rows if r["What"] == "Payment received 2024-02-01" and r["Kind"] == "Payment"]
    assert paid and all(r["Approved by"] == "approver" for r in paid)
    assert all(r["Posted by"] for r in rows)
    reversal = next(r for r in rows if r["Kind"] == "Reversal")
    reversed_row = next(r for r in rows if r["Entry"] == reversal["Reverses entry"])
    assert reversed_row["Reversed by entry"] == reversal["Entry"]
    assert D(reversal["Amount"]) == -D(reversed_row["Amount"])


def test_the_csv_keeps_a_formula_as_text(client, make_note, viewer, staff):
    """A user's name is free text the CSV prints: one that a spreadsheet would run is written as text."""
    from servicing import approvals

    note = make_note()
    evil = UserFactory(username='=HYPERLINK("http://evil")', roles=["approver"])
    with clock.pinned(date(2024, 2, 5)):
        payment = services.payment_record(note=note, received_on=date(2024, 2, 1), amount=D("2200.00"), by=staff)
        approvals.approve(payment, by=evil)
    client.force_login(viewer)
    rows = list(csv.reader(io.StringIO(client.get(url(note, "?export=csv")).content.decode())))
    approved_by = rows[0].index("Approved by")
    assert '\'=HYPERLINK("http://evil")' in [row[approved_by] for row in rows[1:]]
    assert not any(cell.startswith(("=", "@", "+")) for row in rows for cell in row)
    assert any(cell.startswith("-") and D(cell) < 0 for row in rows for cell in row[5:6])  # numbers stay numbers


def test_only_staff_who_may_view_notes_read_the_ledger(client, scenario, viewer):
    note, _ = scenario
    for query in ("", "?export=csv"):
        response = client.get(url(note, query))
        assert response.status_code == 302 and "login" in response["Location"]
    nobody = UserFactory(username="nobody", roles=[])
    client.force_login(nobody)
    assert client.get(url(note)).status_code == 403
    assert client.get(url(note, "?export=csv")).status_code == 403
    client.force_login(viewer)
    assert client.get(url(note)).status_code == 200
    assert client.post(url(note)).status_code == 403  # read only


def test_a_ledger_page_costs_as_many_queries_for_years_of_entries_as_for_a_few(client, scenario, viewer):
    note, _ = scenario
    client.force_login(viewer)

    def queries(query=""):
        with CaptureQueriesContext(connection) as run:
            assert client.get(url(note, query)).status_code == 200
        return len(run)

    few = {query: queries(query) for query in ("", "?account=interest", "?kind=bill", "?page=2")}
    before = LedgerEntry.objects.filter(note=note).count()
    close_books(through=date(2027, 1, 5))  # three more years of months billed
    assert LedgerEntry.objects.filter(note=note).count() > before + 60
    many = {query: queries(query) for query in few}
    assert all(many[query] <= few[query] for query in few), (few, many)
    # Session, user, its permissions (2), the note, the count, the page, its re-postings' sizes.
    assert max(many.values()) <= 9


def test_what_the_ledger_links_to_is_a_row_of_the_note_page(client, scenario, viewer):
    note, payment = scenario
    client.force_login(viewer)
    ledger = client.get(url(note)).content.decode()
    detail = client.get(note.get_absolute_url()).content.decode()
    anchors = set(re.findall(rf'href="{note.get_absolute_url()}#([\w-]+)"', ledger))
    assert {f"payment-{payment.pk}", "period-2024-01-10", "period-2024-03-01"} <= anchors
    for anchor in anchors:
        assert f'<tr id="{anchor}">' in detail
