from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from simple_history.admin import SimpleHistoryAdmin

from servicing import services
from servicing.models import (
    Acceleration,
    AccelerationNotice,
    Conversion,
    DefaultEvent,
    DefaultPeriod,
    JobRun,
    LedgerEntry,
    Notice,
    Payment,
    Period,
    Prepayment,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written only by posting: visible, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RecordedByService(SimpleHistoryAdmin):
    """Events are recorded through their service (rules checked, ledger posted) and never deleted."""

    service_fields: list[str] = []

    def has_change_permission(self, request, obj=None):
        return obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        admin_self = self

        class ServiceForm(form):
            def clean(self):
                data = super().clean()
                if self.errors:
                    return data
                try:
                    with transaction.atomic():
                        admin_self.record(request, data)
                        transaction.set_rollback(True)
                except ValidationError as e:
                    raise ValidationError(
                        {f if f in self.fields else None: m for f, m in e.message_dict.items()}
                    ) from None
                return data

        return ServiceForm

    def save_model(self, request, obj, form, change):
        created = self.record(request, form.cleaned_data)
        obj.pk = created.pk
        obj.refresh_from_db()

    def record(self, request, data):
        raise NotImplementedError


@admin.register(Payment)
class PaymentAdmin(RecordedByService):
    list_display = ["note", "received_on", "amount", "reference", "recorded_by", "reversed_at"]
    list_filter = ["received_on", "reversed_at"]
    search_fields = ["note__number", "note__holder__name", "reference"]
    date_hierarchy = "received_on"
    fields = ["note", "received_on", "amount", "reference"]
    autocomplete_fields = ["note"]

    def record(self, request, data):
        return services.payment_record(
            note=data["note"],
            received_on=data["received_on"],
            amount=data["amount"],
            reference=data.get("reference", ""),
            by=request.user,
        )


@admin.register(DefaultEvent)
class DefaultEventAdmin(RecordedByService):
    list_display = ["note", "kind", "occurred_on", "ended_on", "recorded_by"]
    list_filter = ["kind"]
    search_fields = ["note__number", "description"]
    fields = ["note", "kind", "occurred_on", "ended_on", "description"]
    autocomplete_fields = ["note"]

    def record(self, request, data):
        return services.default_record(
            note=data["note"],
            kind=data["kind"],
            occurred_on=data["occurred_on"],
            ended_on=data.get("ended_on"),
            description=data.get("description", ""),
            by=request.user,
        )


@admin.register(Notice)
class NoticeAdmin(SimpleHistoryAdmin):
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


class OutcomeAdmin(SimpleHistoryAdmin, ReadOnlyAdmin):
    pass


@admin.register(Conversion)
class ConversionAdmin(OutcomeAdmin):
    list_display = ["note", "conversion_date", "principal_requested", "status", "principal", "amount", "shares"]
    list_filter = ["status"]
    search_fields = ["note__number"]


@admin.register(Prepayment)
class PrepaymentAdmin(OutcomeAdmin):
    list_display = ["note", "prepayment_date", "window_end", "principal_requested", "status", "amount"]
    list_filter = ["status"]
    search_fields = ["note__number"]


@admin.register(AccelerationNotice)
class AccelerationNoticeAdmin(OutcomeAdmin):
    list_display = ["note", "notice", "status", "refusal"]
    list_filter = ["status"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "note",
        "effective_on",
        "kind",
        "account",
        "key",
        "amount",
        "reverses",
        "posted_by",
        "job",
        "posted_at",
    ]
    list_filter = ["kind", "account", "job"]
    search_fields = ["note__number", "key"]
    date_hierarchy = "effective_on"
    list_select_related = ["note", "posted_by"]


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
    list_display = ["job", "started_at", "finished_at", "through", "notes_processed", "entries_posted", "failure_count"]
    list_filter = ["job"]

    @admin.display(description="Failures")
    def failure_count(self, run):
        return len(run.failures)
