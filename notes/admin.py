from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from simple_history.admin import SimpleHistoryAdmin

from notes.models import ClosingPrice, Issuer, Note
from servicing import services
from servicing.selectors import notes_with_balances

TERMS = [
    "issuer",
    "holder",
    "agreement_date",
    "maturity_date",
    "principal",
    "rate",
    "default_rate_spread",
    "max_lawful_rate",
    "prepayment_lockout_months",
    "conversion_premium",
    "calendar",
]


@admin.register(Issuer)
class IssuerAdmin(SimpleHistoryAdmin):
    list_display = ["name", "jurisdiction"]
    search_fields = ["name"]


@admin.register(ClosingPrice)
class ClosingPriceAdmin(SimpleHistoryAdmin):
    list_display = ["issuer", "date", "close"]
    list_filter = ["issuer"]
    date_hierarchy = "date"
    search_fields = ["issuer__name"]


class NoteCreationForm(forms.ModelForm):
    """A new note goes through `note_create`, which checks the terms and posts its funding."""

    conversion_price = forms.DecimalField(
        required=False,
        max_digits=30,
        decimal_places=12,
        help_text="Leave empty to take 110% of the average of the issuer's five closes before the agreement date.",
    )

    class Meta:
        model = Note
        fields = ["number", *TERMS]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            # A dry run in a savepoint: the note is created only in save_model.
            with transaction.atomic():
                services.note_create(**self._arguments(data), job="admin")
                transaction.set_rollback(True)
        except ValidationError as e:
            raise ValidationError({f if f in self.fields else None: m for f, m in e.message_dict.items()}) from None
        return data

    def _arguments(self, data):
        args = {k: data[k] for k in ["number", *TERMS] if data.get(k) is not None}
        args["conversion_price"] = data.get("conversion_price")
        return args


@admin.register(Note)
class NoteAdmin(SimpleHistoryAdmin):
    list_display = [
        "number",
        "holder",
        "issuer",
        "agreement_date",
        "maturity_date",
        "principal",
        "rate",
        "principal_outstanding",
        "closed_through",
    ]
    list_filter = ["issuer", "maturity_date", "agreement_date"]
    search_fields = ["number", "holder__name", "issuer__name"]
    date_hierarchy = "agreement_date"
    list_select_related = ["holder", "issuer"]
    actions = ["replay"]

    def get_queryset(self, request):
        return notes_with_balances()

    @admin.display(description="Principal outstanding", ordering="principal_outstanding")
    def principal_outstanding(self, note):
        return note.principal_outstanding

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = NoteCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # The terms of a funded note are what the ledger was posted on: they are not edited here.
        return [f.name for f in Note._meta.fields if f.name not in ("id", "number")] + ["reference_closes"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        note = services.note_create(**form._arguments(form.cleaned_data), by=request.user)
        obj.pk = note.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Replay the ledger of the selected notes (posts only corrections)")
    def replay(self, request, queryset):
        posted = sum(services.note_replay(note=note, by=request.user) for note in queryset)
        messages.info(request, f"Replayed {queryset.count()} note(s); {posted} correcting entries posted.")
