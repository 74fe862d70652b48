"""The staff pages of servicing: dashboard, workflows, approvals, documents and operations.

Every page needs a logged-in user (LoginRequiredMiddleware); every action checks its permission.
The views hold no rules: they call the services and show what they refuse next to the field.
"""

from datetime import date, timedelta

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from notes.models import (
    Approval,
    Assignment,
    ClosingPrice,
    CorporateAction,
    Note,
    Participation,
    ReviewFlag,
    Warrant,
    WarrantAssignment,
    WarrantExercise,
)
from servicing import approvals, clock, documents, jobruns, lifecycle, services
from servicing import reminders as reminding
from servicing.dashboard import dashboard as dashboard_data
from servicing.deliveries import statements_run
from servicing.engine import RuleError
from servicing.forms import (
    WORKFLOWS,
    ClosingPriceForm,
    CorporateActionForm,
    ExhibitForm,
    WarrantAssignmentForm,
    WarrantExerciseForm,
)
from servicing.models import (
    APPROVE,
    AccelerationNotice,
    CollectionCost,
    Conversion,
    Cure,
    DefaultEvent,
    Document,
    JobRun,
    NoteExhibit,
    Payment,
    PaymentReversal,
    Prepayment,
    Reminder,
    StatementDelivery,
    Waiver,
)
from servicing.web import add_refusal, add_service_errors, refusal_words, require
from servicing.words import amount as amount_text
from servicing.words import percent
from servicing.words import quantity as shares_text


def dashboard(request):
    require(request.user, "notes.view_note")
    return render(request, "servicing/dashboard.html", {"d": dashboard_data(clock.today()), "section": "dashboard"})


def record(request, pk, kind):
    """Record one workflow's event on a note; the rules' refusals are shown at their fields."""
    form_class = WORKFLOWS.get(kind) or _not_found()
    require(request.user, form_class.permission)
    note = get_object_or_404(Note.objects.select_related("holder", "issuer"), pk=pk)
    unavailable = form_class.unavailable(note)
    form = form_class(request.POST or None, note=note)
    preview = []
    if unavailable:
        pass  # nothing to choose: the page says why instead of showing an empty form
    elif request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            try:
                preview = [*form.preview(), *form.unusual_dates().values()]
            except RuleError as e:
                add_refusal(form, form.fields_renamed.get(e.field, e.field), e.message, also=e.field)
        else:
            item = form.save(request.user)
            if item is not None:
                waiting = " It takes effect when another user approves it." if form_class.pending else ""
                messages.success(request, f"Recorded: {item}.{waiting}")
                return redirect(note)
    context = {"form": form, "note": note, "preview": preview, "kind": kind, "section": "notes"}
    context["unavailable"] = unavailable
    context["can_pay"] = request.user.has_perm(WORKFLOWS["payment"].permission)
    return render(request, "servicing/record.html", context)


def _act(request, act, done) -> None:
    """Do one action of a button; what it did, or the rule that refused it, is shown on the next page."""
    try:
        result = act()
    except ValidationError as e:
        messages.error(request, "; ".join(refusal_words(e)))
    else:
        messages.success(request, done(result))


def _not_found():
    raise Http404("no such workflow")


def _principal(requested) -> str:
    return "all" if requested is None else amount_text(requested)


# What the approvals queue lists, and how each is described.
QUEUE = [
    (Payment, "Payment", lambda p: f"{amount_text(p.amount)} received {p.received_on}"),
    (
        Conversion,
        "Conversion",
        lambda c: f"notice sent {c.notice.sent_on}, principal {_principal(c.principal_requested)}",
    ),
    (
        Prepayment,
        "Prepayment",
        lambda p: f"on {p.prepayment_date}, principal {_principal(p.principal_requested)}; window to {p.window_end}",
    ),
    (AccelerationNotice, "Acceleration notice", lambda a: f"effective {a.notice.deemed_received_on}"),
    (DefaultEvent, "Default", lambda d: f"{d}: {d.description}" if d.description else str(d)),
    (Cure, "Cure", lambda c: f"{c.default_event} cured {c.cured_on}"),
    (Waiver, "Waiver", lambda w: f"{w.default_event} waived {w.waived_on}"),
    (
        PaymentReversal,
        "Payment reversal",
        lambda r: f"{amount_text(r.payment.amount)} received {r.payment.received_on}: {r.reason}",
    ),
    (CollectionCost, "Costs of collection", lambda c: f"{amount_text(c.amount)} billed {c.billed_on}: {c.description}"),
    (
        Assignment,
        "Assignment",
        lambda a: (
            f"{amount_text(a.principal)} effective {a.effective_on} to "
            + ", ".join(p.assignee.name for p in a.parts.all())
        ),
    ),
    (Participation, "Participation", lambda p: f"{percent(p.share)} to {p.participant} from {p.starts_on}"),
    (
        WarrantExercise,
        "Warrant exercise",
        lambda e: f"{shares_text(e.shares)} shares of {e.warrant} on {e.exercised_on}",
    ),
    (
        WarrantAssignment,
        "Warrant assignment",
        lambda a: f"{shares_text(a.shares)} shares of {a.warrant} to {a.assignee}",
    ),
    (CorporateAction, "Corporate action", lambda a: str(a)),
]
MODELS = {model._meta.model_name: model for model, _, _ in QUEUE}


# What each kind's description, note and holder read, loaded with it (one query a kind, not a row).
RELATED = {
    Payment: ["note__holder"],
    Conversion: ["note__holder", "notice"],
    Prepayment: ["note__holder", "notice"],
    AccelerationNotice: ["note__holder", "notice"],
    DefaultEvent: ["note__holder"],
    Cure: ["default_event__note__holder"],
    Waiver: ["default_event__note__holder"],
    PaymentReversal: ["payment__note__holder"],
    CollectionCost: ["note__holder"],
    Assignment: ["note__holder"],
    Participation: ["note__holder", "participant"],
    WarrantExercise: ["warrant__note", "warrant__holder"],
    WarrantAssignment: ["warrant__note", "warrant__holder", "assignee"],
}


def _note_and_holder(item):
    """The note an item is about and its holder (a warrant's own holder); neither for a corporate action."""
    if isinstance(item, (WarrantExercise, WarrantAssignment)):
        return item.warrant.note, item.warrant.holder
    for path in ("note", "default_event.note", "payment.note"):
        value = item
        for name in path.split("."):
            value = getattr(value, name, None)
        if value is not None:
            return value, value.holder
    return None, None


def approvals_queue(request):
    require(request.user, "servicing.view_payment")
    can_approve = request.user.has_perm(APPROVE)
    # Only the buttons that would work: why this user may not decide an item is written instead.
    rows = [
        {
            **row,
            "model": row["item"]._meta.model_name,
            "refused": can_approve and approvals.decide_refused(row["item"], request.user),
            "approve_refused": can_approve and approvals.decide_refused(row["item"], request.user, approving=True),
        }
        for row in _queue_rows(lambda qs: qs.filter(approval=Approval.PENDING))
    ]
    rows.sort(key=lambda r: r["item"].recorded_at)
    decided = list(_queue_rows(lambda qs: qs.exclude(approval=Approval.PENDING).order_by("-decided_at")[:10]))
    decided.sort(key=lambda r: r["item"].decided_at, reverse=True)
    context = {"rows": rows, "decided": decided[:15], "can_approve": can_approve, "section": "approvals"}
    return render(request, "servicing/approvals.html", context)


def _queue_rows(narrow):
    """Each kind's rows `narrow` keeps, with its note and holder loaded in the same query."""
    for model, label, describe in QUEUE:
        queryset = model.objects.select_related("recorded_by", "decided_by", *RELATED.get(model, ()))
        if model is Assignment:
            queryset = queryset.prefetch_related(Prefetch("parts__assignee"))
        for item in narrow(queryset):
            note, holder = _note_and_holder(item)
            yield {"item": item, "kind": label, "what": describe(item), "note": note, "holder": holder}


@require_POST
def decide(request, model, pk, decision):
    item = get_object_or_404(MODELS.get(model) or _not_found(), pk=pk)
    try:
        if decision == "approve":
            approvals.approve(item, by=request.user)
            messages.success(request, f"Approved: {item}.")
        else:
            approvals.reject(item, by=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, f"Rejected: {item}.")
    except ValidationError as e:
        messages.error(request, f"{item}: {'; '.join(refusal_words(e))}")
    return redirect(_safe_next(request, "servicing:approvals"))


def _safe_next(request, default: str) -> str:
    """Where to go after an action: `next` only when it is a page of this site."""
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse(default)


@require_POST
def payment_reverse(request, pk):
    """Ask for a payment keyed in error to be reversed, with the reason; it is reversed when someone
    other than whoever recorded or approved the payment approves the reversal."""
    require(request.user, "servicing.add_paymentreversal")
    payment = get_object_or_404(Payment, pk=pk)
    _act(
        request,
        lambda: services.reversal_record(payment=payment, reason=request.POST.get("reason", ""), by=request.user),
        lambda reversal: f"Recorded: {reversal}. It takes effect when another user approves it.",
    )
    return redirect(reverse("notes:detail", args=[payment.note_id]) + "#payments")


@require_POST
def participation_end(request, pk):
    require(request.user, "notes.change_participation")
    participation = get_object_or_404(Participation, pk=pk)
    try:
        ends_on = date.fromisoformat(request.POST.get("ends_on", ""))
    except ValueError:
        messages.error(request, "Ends on: give the date the participation stops sharing (YYYY-MM-DD)")
    else:
        _act(
            request,
            lambda: lifecycle.participation_end(participation=participation, ends_on=ends_on, by=request.user),
            lambda ended: f"Ended: {ended} from {ends_on}.",
        )
    return redirect(participation.note)


@require_POST
def flag_clear(request, pk):
    require(request.user, "notes.change_reviewflag")
    flag = get_object_or_404(ReviewFlag, pk=pk)
    _act(
        request,
        lambda: lifecycle.flag_clear(flag=flag, resolution=request.POST.get("resolution", ""), by=request.user),
        lambda cleared: f"Cleared: {cleared}.",
    )
    return redirect(flag.note)


def warrant_action(request, pk, action):
    warrant = get_object_or_404(Warrant.objects.select_related("holder", "note"), pk=pk)
    if action == "exercise":
        require(request.user, "notes.add_warrantexercise")
        form = WarrantExerciseForm(request.POST or None)
    elif action == "assign":
        require(request.user, "notes.add_warrantassignment")
        form = WarrantAssignmentForm(request.POST or None)
    else:
        raise Http404("no such warrant action")
    if request.method == "POST" and form.is_valid():
        record = lifecycle.warrant_exercise_record if action == "exercise" else lifecycle.warrant_assignment_record
        try:
            item = form.record_once(lambda: record(warrant=warrant, by=request.user, **form.cleaned_data))
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            messages.success(request, f"Recorded: {item}. It takes effect when another user approves it.")
            return redirect(warrant.note or "dashboard")
    title = f"{'Exercise' if action == 'exercise' else 'Assign'} warrant {warrant.number}"
    context = {"form": form, "title": title, "warrant": warrant, "note": warrant.note, "section": "notes"}
    return render(request, "servicing/simple_form.html", context)


def closing_prices(request):
    require(request.user, "notes.view_closingprice")
    form = ClosingPriceForm(request.POST or None)
    if request.method == "POST":
        require(request.user, "notes.add_closingprice")
        if form.is_valid():
            try:
                price = form.record_once(lambda: services.closing_price_record(by=request.user, **form.cleaned_data))
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                messages.success(request, f"Recorded: {price}.")
                return redirect("servicing:closing_prices")
    prices = Paginator(ClosingPrice.objects.select_related("issuer").order_by("-date", "issuer"), 25)
    page = prices.get_page(request.GET.get("page"))
    return render(request, "servicing/closing_prices.html", {"form": form, "page": page, "section": "operations"})


def corporate_action(request):
    require(request.user, "notes.add_corporateaction")
    form = CorporateActionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            action = form.record_once(
                lambda: lifecycle.corporate_action_record(
                    issuer=d["issuer"],
                    kind=d["kind"],
                    effective_on=d["effective_on"],
                    ratio=d["ratio"],
                    successor=d["successor"],
                    **{field: d[field] for field in CorporateAction.SUCCESSOR_FACTS},
                    securities=form.securities(),
                    description=d["description"],
                    by=request.user,
                )
            )
        except ValidationError as e:
            add_service_errors(form, e, {"securities": "security_1"})
        else:
            messages.success(request, f"Recorded: {action}. It takes effect when another user approves it.")
            return redirect("servicing:approvals")
    context = {"form": form, "title": "Record a corporate action (section 5)", "section": "operations"}
    return render(request, "servicing/simple_form.html", context)


def statements(request):
    require(request.user, "servicing.view_statementdelivery")
    if request.method == "POST":
        require(request.user, "servicing.add_statementdelivery")
        try:
            month = date.fromisoformat(f"{request.POST.get('month', '')[:7]}-01")
        except ValueError:
            messages.error(request, "Month: give the month as YYYY-MM")
        else:
            try:
                run = statements_run(month=month, by=request.user)
            except ValidationError as e:
                messages.error(request, "; ".join(refusal_words(e)))
            else:
                s = run.summary
                messages.success(
                    request,
                    f"Statements for {s['month']}: {s['deliveries_created']} new, {s['queued']} queued to send.",
                )
        return redirect("servicing:statements")
    deliveries = StatementDelivery.objects.select_related("holder", "document").order_by("-month", "holder__name")
    page = Paginator(deliveries, 50).get_page(request.GET.get("page"))
    last_month = (clock.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    context = {"page": page, "section": "operations", "default_month": f"{last_month:%Y-%m}"}
    return render(request, "servicing/statements.html", context)


CLOSED_SHOWN_DAYS = 30
CLOSED_LISTED = 100  # the most recently closed; the count says how many in all
REMINDERS_PAGED = 50


def reminders(request):
    """The open reminders a page at a time, paged in the database (due day, then id); only the page's
    are checked by `reminders.holding`, so a page costs the same however many are open. Those on it
    that ended since the last run are shown there as ended, with why."""
    require(request.user, "servicing.view_reminder")
    today = clock.today()
    page = Paginator(reminding.open_reminders().order_by("due_on", "pk"), REMINDERS_PAGED).get_page(
        request.GET.get("page")
    )
    shown = list(page.object_list)
    _, over = reminding.holding(shown, today)
    ended = {r.pk for r in over}
    for r in shown:
        r.ended = r.pk in ended
        if not r.ended:
            r.badge = reminding.badge(r, today)
    page.object_list = shown
    closed = (
        Reminder.objects.filter(closed_at__gte=timezone.now() - timedelta(days=CLOSED_SHOWN_DAYS))
        .select_related("note")
        .defer("note__engine_state")
        .order_by("-closed_at", "-pk")
    )
    context = {
        "page": page,
        "closed": list(closed[:CLOSED_LISTED]),
        "closed_count": closed.count(),
        "closed_days": CLOSED_SHOWN_DAYS,
        "section": "operations",
    }
    return render(request, "servicing/reminders.html", context)


def jobs(request):
    require(request.user, "servicing.view_jobrun")
    page = Paginator(JobRun.objects.select_related("started_by"), 50).get_page(request.GET.get("page"))
    now = timezone.now()
    failed_notes = {f["note"] for run in page for f in run.failures[:1] if isinstance(f, dict) and "note" in f}
    notes = Note.objects.in_bulk(failed_notes)
    for run in page:
        run.stale = jobruns.is_stale(run, now=now)  # said running, but its worker stopped beating
        run.state_words = jobruns.state_words(run, now=now)
        first = run.failures[0] if run.failures else None
        run.first_note = notes.get(first.get("note")) if isinstance(first, dict) else None
    return render(request, "servicing/jobs.html", {"page": page, "section": "operations"})


# A preview is the stored HTML of a document: shown sandboxed (no script, no form, no navigation),
# with its own style block and nothing fetched from anywhere.
PREVIEW_POLICY = {
    "default-src": [NONE],
    "style-src": [UNSAFE_INLINE],
    "img-src": [SELF, "data:"],
    "sandbox": True,
    "frame-ancestors": [SELF],
}


@csp(PREVIEW_POLICY)
def document_preview(request, pk):
    """The HTML the PDF was printed from, as it was printed."""
    require(request.user, "servicing.view_document")
    return HttpResponse(get_object_or_404(Document, pk=pk).html)


def document_pdf(request, pk):
    require(request.user, "servicing.view_document")
    document = get_object_or_404(Document, pk=pk)
    name = document.pdf.name.rsplit("/", 1)[-1]
    return FileResponse(document.pdf.open("rb"), as_attachment=True, filename=name, content_type="application/pdf")


def _notice_date(data) -> date | None:
    """The notice date a "produce" button was given, or None (blank: today)."""
    text = data.get("as_of", "").strip()
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        # Named by its beginning: the message is kept in the session until shown.
        shown = text if len(text) <= 20 else f"{text[:20]}…"
        raise ValidationError({"as_of": [f"the date of the notice {shown!r} is not a date (YYYY-MM-DD)"]}) from None


# What each "produce" button on a note page makes, from the note, the user and the form's data.
PRODUCERS = {
    "agreement": lambda note, by, data: documents.agreement_produce(note=note, by=by),
    "default_notice": lambda note, by, data: documents.default_notice_produce(
        note=note, as_of=_notice_date(data), by=by
    ),
}


@require_POST
def document_produce(request, pk, kind):
    require(request.user, "servicing.add_document")
    note = get_object_or_404(Note, pk=pk)
    produce = PRODUCERS.get(kind) or _not_found()
    _act(request, lambda: produce(note, request.user, request.POST), lambda document: f"Produced {document}.")
    return redirect(reverse("notes:detail", args=[note.pk]) + "#documents")


def exhibit_attach(request, pk):
    """Attach a PDF exhibit to a note; its agreement carries it after the signature page."""
    require(request.user, "servicing.add_noteexhibit")
    note = get_object_or_404(Note, pk=pk)
    form = ExhibitForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        # Read one byte past the most an exhibit may be: the service refuses a longer file, and a
        # larger upload is never read whole into memory.
        content = d["pdf"].read(documents.EXHIBIT_MAX_BYTES + 1)
        try:
            exhibit = form.record_once(
                lambda: documents.exhibit_attach(
                    note=note, label=d["label"], title=d["title"], content=content, by=request.user
                )
            )
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            messages.success(request, f"Attached {exhibit}.")
            return redirect(reverse("notes:detail", args=[note.pk]) + "#documents")
    context = {"form": form, "note": note, "title": "Attach an exhibit", "section": "notes"}
    return render(request, "servicing/exhibit_form.html", context)


def exhibit_pdf(request, pk):
    require(request.user, "servicing.view_noteexhibit")
    exhibit = get_object_or_404(NoteExhibit, pk=pk)
    name = f"exhibit-{exhibit.label}-{exhibit.note.number}.pdf".replace("/", "-")
    return FileResponse(exhibit.pdf.open("rb"), as_attachment=True, filename=name, content_type="application/pdf")


@require_POST
def record_document_produce(request, model, pk):
    """The notice of conversion, the confirmation, the prepayment notice, for one record."""
    require(request.user, "servicing.add_document")
    makers = {
        "conversion-notice": (Conversion, lambda c, by: documents.conversion_notice_produce(conversion=c, by=by)),
        "conversion-confirmation": (
            Conversion,
            lambda c, by: documents.conversion_confirmation_produce(conversion=c, by=by),
        ),
        "prepayment-notice": (Prepayment, lambda p, by: documents.prepayment_notice_produce(prepayment=p, by=by)),
    }
    record_model, produce = makers.get(model) or _not_found()
    item = get_object_or_404(record_model, pk=pk)
    _act(request, lambda: produce(item, request.user), lambda document: f"Produced {document}.")
    return redirect(reverse("notes:detail", args=[item.note_id]) + "#documents")
