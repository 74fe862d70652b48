"""Each figure the agreement defines reads the same everywhere it is shown: the note page, the
notes list and its filter, the dashboard, the reminders, the statement and its e-mail all agree
with the engine's replay of the note, for every demo note and for notes with costs of collection,
in default, accelerated and converted."""

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.core.management import call_command

from notes.models import Note
from servicing import approvals, engine, services
from servicing.close import close_books
from servicing.dashboard import dashboard
from servicing.deliveries import message_body
from servicing.engine.events import effective_on
from servicing.reminders import reminders_found
from servicing.selectors import note_events, note_terms
from servicing.statements import statement_for
from servicing.templatetags.documents import money
from tests.factories import HolderFactory, IssuerFactory, NoteFactory, UserFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 27)
OCTOBER, STATEMENT_DATE = date(2026, 10, 1), date(2026, 11, 1)


@pytest.fixture
def book(django_db_blocker):
    """The demo, and four notes of 2026 that owe in other ways, posted through yesterday."""
    with time_machine.travel("2026-11-27 09:00 -0500", tick=False):
        call_command("load_demo", "--no-login", stdout=io.StringIO())
        recorder = UserFactory(username="recorder", roles=["servicer"])
        approver = UserFactory(username="checker", roles=["approver"])
        issuer = IssuerFactory(name="Innovo Group Inc.")

        def note(number, **events):
            return NoteFactory(
                number=number,
                issuer=issuer,
                holder=HolderFactory(name=f"Holder of {number}", email=f"{number.lower()}@example.com"),
                agreement_date=date(2026, 3, 2),
                principal=D("120000.00"),
                rate=D("0.0875"),
                conversion_price=D("1.75"),
                by=recorder,
            )

        def approve(item):
            approvals.approve(item, by=approver)

        costs = note("COSTS")
        approve(
            services.cost_record(
                note=costs,
                billed_on=date(2026, 10, 15),
                amount=D("1500.00"),
                description="Counsel's letter",
                by=recorder,
            )
        )
        breached = note("BREACH")
        approve(services.default_record(note=breached, kind="covenant", occurred_on=date(2026, 9, 1), by=recorder))
        accelerated = note("ACCEL")
        approve(
            services.default_record(note=accelerated, kind="insolvency", occurred_on=date(2026, 10, 20), by=recorder)
        )
        converted = note("CONVERT")
        approve(
            services.conversion_record(
                note=converted, notice_sent=date(2026, 6, 1), method="telecopy", principal=None, by=recorder
            )
        )
        close_books(through=date(2026, 11, 26))
    return list(Note.objects.order_by("number"))


def engine_balances(note, through):
    return engine.run(note_terms(note), note_events(note), min(through, note_terms(note).last_day)).balances


def figure(text: str) -> D:
    return D(text.replace(",", ""))


def test_past_due_reads_the_same_on_every_page_job_and_document(book, client):
    assert {"COSTS", "BREACH", "ACCEL", "CONVERT", "DEMO-LATE", "DEMO-CURRENT"} <= {n.number for n in book}
    expected = {n.number: engine_balances(n, date(2026, 11, 26)) for n in book}
    owing = {number for number, b in expected.items() if b.past_due}
    assert {"COSTS", "BREACH", "ACCEL", "DEMO-LATE"} <= owing and "CONVERT" not in owing
    assert expected["COSTS"].costs_due == D("1500.00")  # costs are billed, not past due

    client.force_login(UserFactory(username="viewer-1", roles=["viewer"]))
    for n in book:
        page = client.get(n.get_absolute_url()).content.decode()
        shown = re.search(r'data-balance="past_due">([^<]+)<', page).group(1)
        assert figure(shown) == expected[n.number].past_due, n.number

    rows = list(csv.DictReader(io.StringIO(client.get("/notes/?owing=past_due&export=csv").content.decode())))
    assert {r["Note"]: figure(r["Past due"]) for r in rows} == {
        number: b.past_due for number, b in expected.items() if number in owing
    }

    d = dashboard(TODAY)
    assert (d.past_due, d.notes_past_due) == (sum(b.past_due for b in expected.values()), len(owing))

    found = {r.note.number: r.message for r in reminders_found(TODAY) if r.kind == "past_due"}
    assert set(found) == owing
    for number in owing:
        b = expected[number]
        assert f"{b.past_due:,.2f} past due since {b.past_due_since}" in found[number]


def test_the_statement_and_its_email_show_the_engines_figures(book):
    for n in book:
        if n.first_day > OCTOBER:
            continue
        statement = statement_for(n.holder, OCTOBER)
        line = next((line for line in statement.notes if line.note == n), None)
        if line is None:
            continue
        if note_terms(n).last_day < STATEMENT_DATE:
            continue  # closed for good (20 years after maturity): its statements are another test's
        # Every figure is as of the end of the statement date (servicing.statements): what is past
        # due as the next day begins, and a full conversion on the next day, by the engine's replay.
        next_day = STATEMENT_DATE + timedelta(days=1)
        state = engine.run(note_terms(n), note_events(n), STATEMENT_DATE).state
        assert line.past_due_total == engine.defaults.past_due(state, next_day)[0], n.number
        known = [e for e in note_events(n) if effective_on(e) <= STATEMENT_DATE]  # nothing after the cut-off
        what_if = engine.run(
            note_terms(n),
            [*known, engine.Conversion("what-if", next_day, next_day, None)],
            next_day,
            strict=False,
        )
        converts = what_if.conversions[0].amount if what_if.conversions else D("0.00")
        assert line.conversion_amount == converts, n.number
        body = message_body(statement)
        assert (
            f"Note {n.number} ({n.issuer.name}): {line.status.word}; principal {money(line.closing_principal)}" in body
        )
        assert f"past due {money(line.past_due_total)};" in body
