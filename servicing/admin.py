from axes import admin as axes_admin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils.html import format_html

# The admin of holders' and notes' models lives in servicing, beside the services it calls; Django
# looks only for <app>/admin.py, so they are registered from here (their URLs keep the app label).
from servicing import admin_holders, admin_notes, admin_schedules, documents, services  # noqa: F401
from servicing.admin_base import (
    ApprovableAdmin,
    HistoryAdmin,
    ProduceDocuments,
    ReadOnlyAdmin,
    ReadOnlyInline,
    RecordedByService,
    act_on_each,
    action_with_form,
)
from servicing.models import (
    Acceleration,
    AccelerationNotice,
    CollectionCost,
    Conversion,
    Cure,
    DefaultEvent,
    DefaultPeriod,
    Document,
    DocumentExhibit,
    JobRun,
    LedgerEntry,
    Method,
    NoteExhibit,
    Notice,
    Payment,
    PaymentReversal,
    Period,
    Prepayment,
    Reminder,
    StatementDelivery,
    StatementOutcome,
    Waiver,
)


@admin.register(Payment)
class PaymentAdmin(ApprovableAdmin):
    list_display = ["note", "received_on", "amount", "reference", "reversed_at"]
    list_filter = ["received_on", "reversed_at"]
    search_fields = ["note__number", "note__holder__name", "reference"]
    date_hierarchy = "received_on"
    add_fields = ["note", "received_on", "amount", "reference"]
    autocomplete_fields = ["note"]

    def record(self, request, data):
        return services.payment_record(
            note=data["note"],
            received_on=data["received_on"],
            amount=data["amount"],
            reference=data.get("reference", ""),
            by=request.user,
        )


@admin.register(CollectionCost)
class CollectionCostAdmin(ApprovableAdmin):
    list_display = ["note", "billed_on", "amount", "description"]
    search_fields = ["note__number", "description"]
    add_fields = ["note", "billed_on", "amount", "description"]
    autocomplete_fields = ["note"]

    def record(self, request, data):
        return services.cost_record(
            note=data["note"],
            billed_on=data["billed_on"],
            amount=data["amount"],
            description=data["description"],
            by=request.user,
        )


class WaiverInline(ReadOnlyInline):
    model = Waiver
    fields = ["waived_on", "approval", "recorded_by", "decided_by", "rejection_reason"]


class CureInline(ReadOnlyInline):
    model = Cure
    fields = ["cured_on", "approval", "recorded_by", "decided_by", "rejection_reason"]


class CuredOnForm(forms.Form):
    cured_on = forms.DateField(help_text="The day the breach was cured.")


@admin.register(DefaultEvent)
class DefaultEventAdmin(ApprovableAdmin):
    list_display = ["note", "kind", "occurred_on", "cure_deadline", "cured_on", "ended_on"]
    list_filter = ["kind"]
    search_fields = ["note__number", "description"]
    add_fields = ["note", "kind", "occurred_on", "cured_on", "description"]
    autocomplete_fields = ["note"]
    inlines = [CureInline, WaiverInline]
    actions = [*ApprovableAdmin.actions, "cure_selected"]

    def has_cure_permission(self, request):
        return request.user.has_perm("servicing.add_cure")

    @admin.action(description="Record the cure of the selected covenant breaches…", permissions=["cure"])
    def cure_selected(self, request, queryset):
        def cure(event, data):
            return services.cure_record(event=event, cured_on=data["cured_on"], by=request.user)

        intro = (
            "A breach cured within five business days never became an Event of Default (7(a)(ii)). "
            "Each cure takes effect when another user approves it:"
        )
        return action_with_form(self, request, queryset, CuredOnForm, cure, intro=intro, button="Cure", done="recorded")

    def record(self, request, data):
        return services.default_record(
            note=data["note"],
            kind=data["kind"],
            occurred_on=data["occurred_on"],
            cured_on=data.get("cured_on"),
            description=data.get("description", ""),
            by=request.user,
        )


@admin.register(Cure)
class CureAdmin(ApprovableAdmin):
    list_display = ["default_event", "cured_on"]
    search_fields = ["default_event__note__number", "description"]
    add_fields = ["default_event", "cured_on", "description"]

    def record(self, request, data):
        return services.cure_record(
            event=data["default_event"],
            cured_on=data["cured_on"],
            description=data.get("description", ""),
            by=request.user,
        )


@admin.register(PaymentReversal)
class PaymentReversalAdmin(ApprovableAdmin):
    list_display = ["payment", "reason"]
    search_fields = ["payment__note__number", "reason"]
    add_fields = ["payment", "reason"]
    autocomplete_fields = ["payment"]

    def record(self, request, data):
        return services.reversal_record(payment=data["payment"], reason=data["reason"], by=request.user)


@admin.register(Waiver)
class WaiverAdmin(ApprovableAdmin):
    list_display = ["default_event", "waived_on"]
    search_fields = ["default_event__note__number", "description"]
    add_fields = ["default_event", "waived_on", "description"]

    def record(self, request, data):
        return services.waiver_record(
            event=data["default_event"],
            waived_on=data["waived_on"],
            description=data.get("description", ""),
            by=request.user,
        )


class NoticeForm(forms.ModelForm):
    """The notice that carries the election: its deemed-received date is computed (8(b))."""

    notice_sent = forms.DateField(help_text="The day the notice was sent.")
    method = forms.ChoiceField(choices=Method.choices)


@admin.register(Notice)
class NoticeAdmin(HistoryAdmin):
    list_display = ["note", "kind", "direction", "method", "sent_on", "deemed_received_on"]
    list_filter = ["kind", "direction", "method"]
    search_fields = ["note__number", "description"]
    date_hierarchy = "sent_on"
    readonly_fields = ["deemed_received_on"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Conversion)
class ConversionAdmin(ProduceDocuments, ApprovableAdmin):
    list_display = ["note", "conversion_date", "principal_requested", "status", "principal", "amount", "shares"]
    list_filter = ["status"]
    search_fields = ["note__number"]
    form = NoticeForm
    add_fields = ["note", "notice_sent", "method", "principal_requested"]
    autocomplete_fields = ["note"]
    actions = [*ApprovableAdmin.actions, "produce_notice", "produce_confirmation"]

    @admin.action(description="Produce the holder's notice of conversion (PDF)", permissions=["produce"])
    def produce_notice(self, request, queryset):
        act_on_each(
            request, queryset, lambda c: documents.conversion_notice_produce(conversion=c, by=request.user), "produced"
        )

    @admin.action(description="Produce the conversion confirmation (PDF)", permissions=["produce"])
    def produce_confirmation(self, request, queryset):
        produce = documents.conversion_confirmation_produce
        act_on_each(request, queryset, lambda c: produce(conversion=c, by=request.user), "produced")

    def record(self, request, data):
        return services.conversion_record(
            note=data["note"],
            notice_sent=data["notice_sent"],
            method=data["method"],
            principal=data.get("principal_requested"),
            by=request.user,
        )


@admin.register(Prepayment)
class PrepaymentAdmin(ProduceDocuments, ApprovableAdmin):
    list_display = ["note", "prepayment_date", "window_end", "principal_requested", "status", "amount"]
    list_filter = ["status"]
    search_fields = ["note__number"]
    form = NoticeForm
    add_fields = ["note", "notice_sent", "method", "prepayment_date", "principal_requested"]
    autocomplete_fields = ["note"]
    actions = [*ApprovableAdmin.actions, "produce_notice"]

    @admin.action(description="Produce the notice of prepayment (PDF)", permissions=["produce"])
    def produce_notice(self, request, queryset):
        produce = documents.prepayment_notice_produce
        act_on_each(request, queryset, lambda p: produce(prepayment=p, by=request.user), "produced")

    def record(self, request, data):
        return services.prepayment_record(
            note=data["note"],
            notice_sent=data["notice_sent"],
            method=data["method"],
            prepayment_date=data["prepayment_date"],
            principal=data.get("principal_requested"),
            by=request.user,
        )


@admin.register(AccelerationNotice)
class AccelerationNoticeAdmin(ProduceDocuments, ApprovableAdmin):
    list_display = ["note", "notice", "status", "refusal"]
    list_filter = ["status"]
    search_fields = ["note__number"]
    form = NoticeForm
    add_fields = ["note", "notice_sent", "method"]
    autocomplete_fields = ["note"]
    actions = [*ApprovableAdmin.actions, "produce_notice"]

    @admin.action(description="Produce the notice of default and acceleration (PDF)", permissions=["produce"])
    def produce_notice(self, request, queryset):
        def produce(a):
            return documents.default_notice_produce(note=a.note, acceleration_notice=a, by=request.user)

        act_on_each(request, queryset, produce, "produced")

    def record(self, request, data):
        return services.acceleration_record(
            note=data["note"], notice_sent=data["notice_sent"], method=data["method"], by=request.user
        )


class JobFilter(admin.SimpleListFilter):
    """Filter by the job that made a row; the rows a person made (no job) are listed by name, not
    as an empty link."""

    title = "job"
    parameter_name = "job"
    PERSON = "-"

    def lookups(self, request, model_admin):
        jobs = set(model_admin.get_queryset(request).order_by().values_list("job", flat=True).distinct())
        return [(job or self.PERSON, job or "none (by a person)") for job in sorted(jobs)]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(job="" if self.value() == self.PERSON else self.value())


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    # Seven columns fit a laptop's screen; who posted and approved an entry share one, and the
    # time it was posted is on the entry's own page.
    list_display = ["note", "effective_on", "kind", "account", "what", "amount", "by"]
    list_filter = ["kind", "account", JobFilter]
    search_fields = ["note__number", "key"]
    date_hierarchy = "effective_on"
    list_select_related = ["note", "posted_by", "approved_by"]

    @admin.display(description="For", ordering="key")
    def what(self, entry):
        if entry.reverses_id is None:
            return entry.what
        return format_html("{} <small>(reverses entry {})</small>", entry.what, entry.reverses_id)

    @admin.display(description="By")
    def by(self, entry):
        poster = entry.posted_by or f"job {entry.job}"
        if entry.approved_by is None:
            return poster
        return format_html("{}<br><small>approved by {}</small>", poster, entry.approved_by)


@admin.register(Period)
class PeriodAdmin(ReadOnlyAdmin):
    list_display = ["note", "start", "end", "days", "due_date", "reason", "interest", "default_interest"]
    list_filter = ["reason"]
    search_fields = ["note__number"]
    date_hierarchy = "start"


@admin.register(DefaultPeriod)
class DefaultPeriodAdmin(ReadOnlyAdmin):
    list_display = ["note", "kind", "start", "end"]
    list_filter = ["kind"]
    search_fields = ["note__number"]


@admin.register(Acceleration)
class AccelerationAdmin(ReadOnlyAdmin):
    list_display = ["note", "date", "kind"]
    list_filter = ["kind"]


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    # When it finished, its worker and heartbeat are on the run's page: without them the list fits a laptop's screen.
    list_display = [
        "job",
        "state",
        "started_at",
        "through",
        "notes_processed",
        "entries_posted",
        "failure_count",
        "counts",
    ]
    list_filter = ["job", "state"]

    @admin.display(description="Summary")
    def counts(self, run):
        if not isinstance(run.summary, dict):
            return run.summary
        return ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in run.summary.items())

    @admin.display(description="Failures")
    def failure_count(self, run):
        return len(run.failures)


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "version", "note", "holder", "month", "created_at", "created_by", "job", "files"]
    list_filter = ["kind", JobFilter]
    search_fields = ["title", "subject", "note__number", "holder__name", "sha256"]
    date_hierarchy = "created_at"
    list_select_related = ["note", "holder", "created_by"]
    exclude = ["html"]
    readonly_fields = ["exhibits_carried"]

    @admin.display(description="Exhibits carried after its last page")
    def exhibits_carried(self, document):
        return "; ".join(str(e) for e in document.exhibits.order_by("label")) or "none"

    @admin.display(description="Files")
    def files(self, document):
        return format_html(
            '<a href="{}">preview</a> · <a href="{}">PDF</a>',
            reverse("servicing:document_preview", args=[document.pk]),
            reverse("servicing:document_pdf", args=[document.pk]),
        )


@admin.register(NoteExhibit)
class NoteExhibitAdmin(RecordedByService):
    """Exhibits to a note's agreement, attached through their service (the file checked); one that no
    produced document carries may be deleted, to attach another under its label."""

    list_display = ["note", "label", "title", "pages", "pdfa", "uploaded_at", "uploaded_by", "job", "file"]
    search_fields = ["note__number", "label", "title", "sha256"]
    list_select_related = ["note", "uploaded_by"]
    add_fields = ["note", "label", "title", "pdf"]
    autocomplete_fields = ["note"]
    readonly_fields = ["file"]

    @admin.display(description="File")
    def file(self, exhibit):
        return format_html('<a href="{}">PDF</a>', reverse("servicing:exhibit_pdf", args=[exhibit.pk]))

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        # The file by its link: media files are not served by URL, the link checks the permission.
        return [("file" if f == "pdf" else f) for f in fields] if obj is not None else fields

    def has_delete_permission(self, request, obj=None):
        carried = obj is not None and DocumentExhibit.objects.filter(exhibit=obj).exists()
        return admin.ModelAdmin.has_delete_permission(self, request, obj) and not carried

    def record(self, request, data):
        upload = data["pdf"]
        upload.seek(0)  # read again after the form's dry run; never more than the service accepts
        return documents.exhibit_attach(
            note=data["note"],
            label=data["label"],
            title=data["title"],
            content=upload.read(documents.EXHIBIT_MAX_BYTES + 1),
            by=request.user,
        )


@admin.register(StatementDelivery)
class StatementDeliveryAdmin(HistoryAdmin, ReadOnlyAdmin):
    list_display = ["month", "holder", "email", "status", "attempts", "sent_at", "next_attempt_at", "last_error"]
    list_filter = ["status", "month"]
    search_fields = ["holder__name", "email", "last_error"]
    list_select_related = ["holder"]


@admin.register(StatementOutcome)
class StatementOutcomeAdmin(ReadOnlyAdmin):
    """What each statement run did with each delivery it queued (its summary counts these)."""

    list_display = ["run", "delivery", "outcome", "tries", "failed", "error", "queued_at", "finished_at"]
    list_filter = ["outcome", "run__job"]
    search_fields = ["delivery__holder__name", "error"]
    list_select_related = ["run", "delivery__holder"]


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ["due_on", "kind", "message", "created_on", "emailed_at"]
    list_filter = ["kind", ("emailed_at", admin.EmptyFieldListFilter)]
    search_fields = ["message", "key"]
    date_hierarchy = "due_on"


class UserAdmin(HistoryAdmin, auth_admin.UserAdmin):
    """Users and their roles, with the history of every change (who granted what, and when)."""


class GroupAdmin(HistoryAdmin, auth_admin.GroupAdmin):
    pass


admin.site.unregister(User)
admin.site.register(User, UserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, GroupAdmin)


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    """Failed logins (django-axes), without its "clean up expired attempts" action, which fails
    outside a login request; expired lockouts lapse by themselves (AXES_COOLOFF_TIME)."""

    actions = []


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, AccessAttemptAdmin)
