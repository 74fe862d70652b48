"""The notes pages: the table of notes, and a note's page with its what-ifs."""

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import ExtractYear
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import urlencode

from notes.models import Approval, Issuer, Note
from servicing import charts, clock, ledger, ocf
from servicing.forms import WORKFLOWS, QuoteForm
from servicing.models import Conversion, DefaultEvent, LedgerEntry, Payment, PaymentReversal, Period, Prepayment
from servicing.note_tables import NoteFilter, NoteTable
from servicing.quotes import choices, what_if
from servicing.selectors import (
    MoneySum,
    note_status,
    note_terms,
    notes_with_balances,
    pending_for_note,
    row_balances,
)
from servicing.services import reversal_refused
from servicing.web import csv_response, require, table_page, zip_response

LATEST_ENTRIES = 10  # the ledger's latest entries on the note's page; the ledger page has them all
BILLED = ("interest", "default_interest")


def note_list(request):
    require(request.user, "notes.view_note")
    notes = NoteFilter(request.GET, queryset=notes_with_balances())
    # The Open Cap Format package of the issuer the list is filtered on, or of every issuer.
    issuer = notes.form.cleaned_data.get("issuer") if notes.is_bound and notes.is_valid() else None
    ocf_url = reverse("notes:ocf") + (f"?{urlencode({'issuer': issuer.pk})}" if issuer else "")
    links = [("Export OCF (zip)", ocf_url)]
    return table_page(request, notes, NoteTable, title="Notes", section="notes", links=links)


def ocf_export(request):
    """The Open Cap Format 1.2.0 package of one issuer (`?issuer=`) or of each issuer, as a zip: a read."""
    require(request.user, "notes.view_note")
    if request.method != "GET":
        raise PermissionDenied("the Open Cap Format package is a download: it is read with GET")
    issuers = Issuer.objects.order_by("name")
    wanted = request.GET.get("issuer", "")
    if wanted:
        if not wanted.isdigit() or len(wanted) > 18:
            raise Http404("no such issuer")
        issuers = issuers.filter(pk=int(wanted))
    issuers = list(issuers)
    if not issuers:
        raise Http404("no issuer to export")
    name = f"ocf-{ocf.slug(issuers[0].name)}" if len(issuers) == 1 else "ocf"
    return zip_response(name, ocf.zip_package(issuers))


def note_detail(request, pk):
    require(request.user, "notes.view_note")
    notes = Note.objects.select_related("issuer", "holder", "parent").defer("engine_state")
    note = get_object_or_404(notes.annotate(status=note_status()), pk=pk)
    quote_form = QuoteForm(request.GET if "on" in request.GET else None, note=note)
    what = None
    if quote_form.is_valid():
        # The card's checkboxes send the items kept in ("include"); a bare ?on= link keeps the scheduled ones.
        chosen = request.GET.getlist("include") if "choices" in request.GET else None
        on, principal = quote_form.cleaned_data["on"], quote_form.cleaned_data["principal"]
        what = what_if(note, on, principal, chosen, clock.today())
    latest = note.entries.select_related("posted_by", "approved_by").order_by("-effective_on", "-pk")
    context = {
        "note": note,
        "terms": note_terms(note),
        "section": "notes",
        "balances": row_balances(note),  # equal to its ledger's: manage.py verify_ledger
        "quote_form": quote_form,
        "what": what,
        "what_choices": what.choices if what else [(c, c.approved) for c in choices(note, clock.today())],
        "payoff": what and what.payoff,
        "conversion": what and what.conversion,
        "period_years": _period_years(note),
        "ledger_latest": latest[:LATEST_ENTRIES],
        "ledger_count": note.entries.count(),
        "pending": pending_for_note(note),
        "chain": note.chain_of_title() if note.parent_id or note.substitutes.exists() else [],
        "participations": note.participations.filter(approval=Approval.APPROVED).select_related("participant"),
        "warrants": note.warrants.select_related("holder"),
        "flags": note.flags.filter(cleared_at__isnull=True).select_related("action"),
        "notices": note.notices.order_by("-sent_on", "-pk"),
        "payments": _payments(note),
        "can_reverse": request.user.has_perm("servicing.add_paymentreversal"),
        "conversions": Conversion.objects.filter(note=note).select_related("notice").order_by("-pk"),
        "prepayments": Prepayment.objects.filter(note=note).select_related("notice").order_by("-pk"),
        "default_events": DefaultEvent.objects.filter(note=note).prefetch_related("waivers").order_by("-occurred_on"),
        "default_periods": note.default_periods.order_by("start"),
        "documents": note.documents.order_by("-created_at", "-pk")[:20],
        "exhibits": note.exhibits.select_related("uploaded_by"),
        # Each workflow the user may record, with why it cannot be used on this note now (or None).
        "actions": [
            (kind, form.title, form.unavailable(note))
            for kind, form in WORKFLOWS.items()
            if request.user.has_perm(form.permission)
        ],
        "chart": _note_chart(note),
    }
    return render(request, "notes/note_detail.html", context)


def note_ledger(request, pk):
    """The note's ledger as an auditor reads it (servicing.ledger), 25 entries a page, or every entry
    the filter keeps as CSV (`?export=csv`)."""
    require(request.user, "notes.view_note")
    if request.method not in ("GET", "HEAD"):
        raise PermissionDenied("the ledger is read only: a correction is recorded, and posting reverses")
    note = get_object_or_404(Note.objects.select_related("holder").defer("engine_state"), pk=pk)
    entries = ledger.ledger_entries(note).select_related("posted_by", "approved_by", "reversed_by")
    filterset = ledger.LedgerFilter(request.GET, queryset=entries)
    # A filter given a value it does not know lists nothing, and says why at the field (as table_page).
    entries = filterset.qs if filterset.is_valid() else entries.none()
    if request.GET.get("export") == "csv":
        return csv_response(f"ledger-{note.number}", ledger.csv_rows(entries))
    page = Paginator(entries, 25).get_page(request.GET.get("page"))
    kept = request.GET.copy()
    kept.pop("page", None)
    context = {
        "note": note,
        "section": "notes",
        "filter": filterset,
        "page": page,
        "rows": ledger.grouped(list(page)),
        "account": dict(LedgerEntry.Account.choices).get(filterset.form.cleaned_data.get("account"))
        if filterset.is_valid()
        else None,
        "query": kept.urlencode(),
        "pager_extra": f"&{kept.urlencode()}" if kept else "",
    }
    return render(request, "notes/note_ledger.html", context)


def _period_years(note) -> list[tuple[dict, list[Period]]]:
    """The note's periods by the year they start in, latest first: each year's count and billed
    totals summed by the database ({"year", "count", "interest", "default_interest"}), and its
    periods. Two queries, however many periods."""
    totals = (
        Period.objects.filter(note=note)
        .annotate(year=ExtractYear("start"))
        .values("year")
        .annotate(count=Count("pk"), **{name: MoneySum(name) for name in BILLED})
        .order_by("-year")
    )
    by_year: dict[int, list[Period]] = {}
    for period in Period.objects.filter(note=note).order_by("-start"):
        by_year.setdefault(period.start.year, []).append(period)
    return [(year, by_year.get(year["year"], [])) for year in totals]


def _payments(note) -> list[Payment]:
    """The note's latest payments, each with why a reversal of it may not be asked for now (None: the
    page offers *Ask to reverse*), by the check the service makes."""
    pending = PaymentReversal.objects.filter(payment=OuterRef("pk"), approval=Approval.PENDING)
    payments = list(
        note.payments.select_related("recorded_by", "decided_by")
        .annotate(reversal_pending=Exists(pending))
        .order_by("-received_on", "-pk")[:50]
    )
    for p in payments:
        p.reverse_refused = reversal_refused(p, pending=p.reversal_pending)
    return payments


def _note_chart(note) -> str:
    """The note over time, period by period: principal outstanding at each period's end, and the
    interest and default interest billed for it."""
    periods = list(Period.objects.filter(note=note).order_by("start").values_list("start", "end", *BILLED))
    if not periods:
        return ""
    # Principal moves on a few days only (funding, conversions, prepayments, assignments).
    principal_entries = note.entries.filter(account="principal").values("effective_on").order_by("effective_on")
    moves = list(principal_entries.annotate(total=MoneySum("amount")).values_list("effective_on", "total"))
    principal, running, i = [], Decimal(0), 0
    for _, end, *_ in periods:
        while i < len(moves) and moves[i][0] <= end:
            running += moves[i][1]
            i += 1
        principal.append(running)
    labels = [f"{start:%b %y}" for start, *_ in periods]
    interest = {"Interest": [p[2] for p in periods], "Default interest": [p[3] for p in periods]}
    return charts.lines(labels, {"Principal outstanding": principal}, "Principal over time") + charts.bars(
        labels, interest, "Interest billed by period"
    )
