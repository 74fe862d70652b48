"""Demo data for the embedded default: the agreement's note and two notes dated around today."""

import json
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from holders.services import holder_create
from notes.models import Note
from servicing import approvals, clock, documents, engine, lifecycle, services
from servicing.close import close_books
from servicing.engine.calendar import add_business_days, add_months
from servicing.reminders import reminders_run
from servicing.selectors import note_events, note_terms
from servicing.simulate import simulate

SCENARIO = Path(__file__).with_name("demo_scenario.json")
JOB = "load_demo"


@transaction.atomic
def load_demo() -> list[Note]:
    """Create the demo notes (once) and post them through yesterday."""
    if Note.objects.filter(number__startswith="DEMO-").exists():
        close_books()
        return list(Note.objects.filter(number__startswith="DEMO-"))
    innovo, _ = simulate(json.loads(SCENARIO.read_text()))
    Note.objects.filter(pk=innovo.pk).update(number="DEMO-INNOVO")
    innovo.refresh_from_db()
    issuer = innovo.issuer
    issuer.notice_address = "ATTN: Jay Furrow, CEO\n5804 E. Slauson Avenue\nCommerce, CA 90046"
    issuer.signatory_name, issuer.signatory_title = "Samuel J. Furrow, Jr.", "Chief Executive Officer"
    issuer.jurisdiction = "Delaware"
    issuer.save()
    innovo.holder.notice_address = "18 Orchard Lane\nKnoxville, TN 37919"
    innovo.holder.save()
    holder = holder_create(
        name="Harbor Point Capital LLC",
        kind="entity",
        email="notices@harborpoint.example",
        notice_address="200 Harbor Point Road\nStamford, CT 06902",
        telecopy="+1 203 555 0142",
        entity_type="limited liability company",
        organized_in="Delaware",
        signatory_name="Dana Whitfield",
        signatory_title="Managing Member",
    )
    today = clock.today()
    # A note in good standing: every bill paid on its due date; the next interest falls due soon.
    start = add_months(today.replace(day=15), -4)
    current = services.note_create(
        number="DEMO-CURRENT",
        issuer=issuer,
        holder=holder,
        agreement_date=start,
        maturity_date=add_months(start, 24),
        principal=Decimal("250000.00"),
        rate=Decimal("0.08"),
        conversion_price=Decimal("3.25"),
        job=JOB,
    )
    # A quarter of it was assigned last month (8(j)) and a participation sold in the rest.
    northwind = holder_create(
        name="Northwind Partners LP",
        kind="entity",
        email="ops@northwind.example",
        notice_address="55 Water Street\nNew York, NY 10041",
        entity_type="limited partnership",
        organized_in="Delaware",
        signatory_name="Priya Raman",
        signatory_title="Authorized Signatory",
    )
    assigned_on = add_months(today.replace(day=1), -1)
    _approve(
        lifecycle.assignment_record(note=current, effective_on=assigned_on, parts=[(northwind, Decimal("62500.00"))])
    )
    participant = holder_create(name="Elm Street Credit Fund", kind="entity", email="credit@elmstreet.example")
    _approve(
        lifecycle.participation_record(
            note=current, participant=participant, share=Decimal("0.2"), starts_on=assigned_on
        )
    )
    for note in (current, *current.substitutes.all()):
        _pay_bills(note, before=today)
    # A note past due on last month's interest, with the company's prepayment notice just sent:
    # the holder's conversion window is open.
    start = add_months(today.replace(day=10), -5)
    late = services.note_create(
        number="DEMO-LATE",
        issuer=issuer,
        holder=holder,
        agreement_date=start,
        maturity_date=add_months(start, 18),
        principal=Decimal("120000.00"),
        rate=Decimal("0.075"),
        conversion_price=Decimal("2.80"),
        job=JOB,
    )
    _pay_bills(late, before=add_months(today.replace(day=1), -1))
    sent = today - timedelta(days=1)
    received = add_business_days(sent, 1, late.calendar)
    prepayment = services.prepayment_record(
        note=late,
        notice_sent=sent,
        method="overnight_courier",
        prepayment_date=add_business_days(received, 10, late.calendar),
        principal=Decimal("50000.00"),
    )
    _approve(prepayment)
    # The warrant delivered with the agreement's note (section 6).
    lifecycle.warrant_issue(
        issuer=issuer,
        holder=innovo.holder,
        note=innovo,
        number="DEMO-W-1",
        shares=25_000,
        exercise_price=Decimal("2.50"),
        issued_on=innovo.agreement_date,
        expires_on=add_months(today, 2),
    )
    close_books()
    # Section 4(c) says Exhibit A is attached: the demo attaches a page that says it stands in for it.
    documents.exhibit_attach(
        note=innovo, label="A", title="Registration Rights Agreement", content=placeholder_exhibit(), job=JOB
    )
    documents.agreement_produce(note=innovo, job=JOB)
    documents.prepayment_notice_produce(prepayment=prepayment, job=JOB)
    reminders_run()
    # A payment keyed in by a servicer, waiting for the second pair of eyes.
    servicer = get_user_model().objects.create_user("demo-servicer", first_name="Demo", last_name="Servicer")
    servicer.groups.add(Group.objects.get(name="servicer"))  # no password: it never logs in
    with clock.pinned(today):
        services.payment_record(note=late, received_on=today, amount=Decimal("750.00"), reference="wire", by=servicer)
    return list(Note.objects.filter(number__startswith="DEMO-").order_by("pk"))


def placeholder_exhibit() -> bytes:
    """A one-page PDF that says it is the demo's stand-in for the Registration Rights Agreement."""
    return documents.pdf_from_html(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo placeholder</title>'
        "<style>@page { size: Letter; margin: 1in; } body { font-family: 'DejaVu Serif'; font-size: 11pt; }"
        "h1 { font-size: 14pt; text-align: center; } p { text-align: center; }</style></head><body>"
        "<h1>DEMO PLACEHOLDER</h1><p>This page stands in for the Registration Rights Agreement "
        "between the Company and Holder in the demo data. It is not that agreement.</p></body></html>",
        title="Demo placeholder for the Registration Rights Agreement",
    )


def _pay_bills(note: Note, *, before) -> None:
    """Pay each period's interest on its due date, for bills due before `before`."""
    for period in engine.run(note_terms(note), note_events(note), before).periods:
        if period.due_date < before:
            _approve(
                services.payment_record(
                    note=note, received_on=period.due_date, amount=period.interest, reference="wire"
                )
            )


def _approve(item):
    return approvals.approve(item, by=approvals.system_approver())


def staff_login(username: str = "staff", *, groups=("servicer", "admin"), superuser=True) -> tuple[str, str]:
    """A demo login with a new random password each time: `staff` records (and administers),
    `approver` is the second pair of eyes."""
    password = secrets.token_urlsafe(9)
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": f"{username}@localhost"})
    user.is_staff = user.is_superuser = superuser
    user.set_password(password)
    user.save()
    user.groups.set(Group.objects.filter(name__in=groups))
    return username, password
