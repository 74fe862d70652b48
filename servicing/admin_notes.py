from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.html import format_html, format_html_join

from holders.models import Holder
from notes.models import (
    Assignment,
    AssignmentPart,
    ClosingPrice,
    CorporateAction,
    Issuer,
    Note,
    Participation,
    ReviewFlag,
    SuccessorSecurity,
    SupplementalAgreement,
    Warrant,
    WarrantAssignment,
    WarrantExercise,
)
from servicing import documents, lifecycle, ocf, services
from servicing.admin_base import (
    ApprovableAdmin,
    HistoryAdmin,
    ProduceDocuments,
    ReadOnlyAdmin,
    ReadOnlyInline,
    RecordedByService,
    act_on_each,
    action_with_form,
    money_display,
    shown,
)
from servicing.selectors import notes_with_balances, warrant_shares_left
from servicing.web import add_service_errors, zip_response

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
class IssuerAdmin(HistoryAdmin):
    list_display = ["name", "jurisdiction"]
    search_fields = ["name"]
    actions = ["export_ocf"]

    @admin.action(description="Export as Open Cap Format 1.2.0 (zip)", permissions=["ocf"])
    def export_ocf(self, request, queryset):
        issuers = list(queryset.order_by("name"))
        name = f"ocf-{ocf.slug(issuers[0].name)}" if len(issuers) == 1 else "ocf"
        return zip_response(name, ocf.zip_package(issuers))

    def has_ocf_permission(self, request):
        # An export is a read of the issuer's notes: the page's own permission.
        return self.has_view_permission(request) and request.user.has_perm("notes.view_note")


@admin.register(ClosingPrice)
class ClosingPriceAdmin(RecordedByService):
    """Closes are added through their service; one a note's conversion price was taken from is
    never changed or deleted (a correction is a new note term), others may be deleted one at a time."""

    list_display = ["issuer", "date", "close"]
    list_filter = ["issuer"]
    date_hierarchy = "date"
    search_fields = ["issuer__name"]
    add_fields = ["issuer", "date", "close"]

    def record(self, request, data):
        return services.closing_price_record(
            issuer=data["issuer"], date=data["date"], close=data["close"], by=request.user
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # each deletion checks its close is not a reference close
        return actions

    def has_delete_permission(self, request, obj=None):
        if obj is None or Note.reference_closes.through.objects.filter(closingprice=obj).exists():
            return False
        return request.user.has_perm("notes.delete_closingprice")


class NoteCreationForm(forms.ModelForm):
    """A new note goes through `note_create`, which checks the terms and posts its funding."""

    # Typed, a price has at most 10 decimal places, as a close has; the column keeps more for the
    # price taken from the closes (premium × their average, unrounded).
    conversion_price = Note._meta.get_field("conversion_price").formfield(
        required=False,
        max_digits=22,
        decimal_places=10,
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
            add_service_errors(self, e)
        return data

    def _arguments(self, data):
        args = {k: data[k] for k in ["number", *TERMS] if data.get(k) is not None}
        args["conversion_price"] = data.get("conversion_price")
        return args


@admin.register(Note)
class NoteAdmin(ProduceDocuments, HistoryAdmin):
    # The agreement date is in the date bar above the list and on the note's page: without it the
    # list fits a laptop's screen.
    list_display = [
        "number",
        "holder",
        "issuer",
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
    actions = ["replay", "produce_agreement", "produce_default_notice"]

    def get_queryset(self, request):
        return notes_with_balances().order_by("number")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = NoteCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # The number and terms of a funded note are what the agreement says and the ledger was
        # posted on: they are not edited here.
        fields = [shown(Note, f.name) for f in Note._meta.fields if f.name != "id"]
        return [*fields, "reference_closes", "chain_of_title"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return super().get_fieldsets(request, obj)
        # The posted balances, without the engine's state (posting's own record of where it
        # stopped, read by no one here); an old version has no balances (history leaves them out).
        posted = [f for f in Note.POSTED if f != "engine_state"]
        terms = [f.name for f in Note._meta.fields if f.name != "id" and f.name not in Note.POSTED]
        fieldsets = [
            (None, {"fields": [*terms, "reference_closes", "chain_of_title"]}),
            ("Balances as posted", {"fields": posted}),
        ]
        if getattr(request, "history_read_only", False):
            fieldsets = fieldsets[:1]
        return self.formatted_fieldsets(request, obj, fieldsets)

    @admin.display(description="Chain of title (8(j))")
    def chain_of_title(self, note):
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{}{}{} — {}, from {}, principal {}</li>",
                (
                    (
                        "→ " * depth,
                        n.number,
                        " (this note)" if n == note else "",
                        n.holder,
                        n.first_day,
                        money_display(n.principal),
                    )
                    for depth, n in note.chain_of_title()
                ),
            ),
        )

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        note = services.note_create(**form._arguments(form.cleaned_data), by=request.user)
        obj.pk = note.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    def has_change_permission(self, request, obj=None):
        # A funded note is never edited here (its number and terms are read only); the change
        # permission on notes is what the replay action needs.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Produce the filled-in Convertible Note Agreement (PDF)", permissions=["produce"])
    def produce_agreement(self, request, queryset):
        act_on_each(request, queryset, lambda n: documents.agreement_produce(note=n, by=request.user), "produced")

    @admin.action(description="Produce a notice of default (PDF)…", permissions=["produce"])
    def produce_default_notice(self, request, queryset):
        def produce(note, data):
            return documents.default_notice_produce(note=note, as_of=data["as_of"], by=request.user)

        intro = (
            "Each notice is dated the day you give (today if left blank) and states the Events of Default "
            "continuing and the amounts owing at the end of that day; it is refused for a note with no "
            "Event of Default continuing then:"
        )
        return action_with_form(
            self, request, queryset, NoticeDateForm, produce, intro=intro, button="Produce", done="produced"
        )

    @admin.action(
        description="Replay the ledger of the selected notes (posts only corrections)", permissions=["change"]
    )
    def replay(self, request, queryset):
        posted = sum(services.note_replay(note=note, by=request.user) for note in queryset)
        messages.info(request, f"Replayed {queryset.count()} note(s); {posted} correcting entries posted.")


class PartsForm(forms.ModelForm):
    """An assignment names up to three assignees, each with the principal assigned to them."""

    assignee_1 = forms.ModelChoiceField(Holder.objects.all())
    principal_1 = forms.DecimalField(max_digits=20, decimal_places=2)
    assignee_2 = forms.ModelChoiceField(Holder.objects.all(), required=False)
    principal_2 = forms.DecimalField(max_digits=20, decimal_places=2, required=False)
    assignee_3 = forms.ModelChoiceField(Holder.objects.all(), required=False)
    principal_3 = forms.DecimalField(max_digits=20, decimal_places=2, required=False)


class AssignmentPartInline(ReadOnlyInline):
    model = AssignmentPart
    fields = ["assignee", "principal", "substitute"]


@admin.register(Assignment)
class AssignmentAdmin(ApprovableAdmin):
    list_display = ["note", "effective_on", "principal"]
    search_fields = ["note__number", "parts__assignee__name"]
    form = PartsForm
    add_fields = ["note", "effective_on", "assignee_1", "principal_1", "assignee_2", "principal_2", "assignee_3"]
    add_fields += ["principal_3", "description"]
    autocomplete_fields = ["note"]
    inlines = [AssignmentPartInline]

    def record(self, request, data):
        parts = []
        for i in (1, 2, 3):
            assignee, principal = data.get(f"assignee_{i}"), data.get(f"principal_{i}")
            if (assignee is None) != (principal is None):
                raise ValidationError({f"principal_{i}": ["give both the assignee and the principal assigned"]})
            if assignee is not None:
                parts.append((assignee, principal))
        return lifecycle.assignment_record(
            note=data["note"],
            effective_on=data["effective_on"],
            parts=parts,
            description=data.get("description", ""),
            by=request.user,
        )


class NoticeDateForm(forms.Form):
    as_of = forms.DateField(
        required=False,
        label="Date of the notice",
        help_text="Blank for today; not in the future, not before the agreement date.",
    )


class EndsOnForm(forms.Form):
    ends_on = forms.DateField(help_text="The first day the participation no longer shares in payments.")


@admin.register(Participation)
class ParticipationAdmin(ApprovableAdmin):
    list_display = ["note", "participant", "share", "starts_on", "ends_on"]
    search_fields = ["note__number", "participant__name"]
    add_fields = ["note", "participant", "share", "starts_on"]
    autocomplete_fields = ["note", "participant"]
    actions = [*ApprovableAdmin.actions, "end_selected"]

    def record(self, request, data):
        return lifecycle.participation_record(
            note=data["note"],
            participant=data["participant"],
            share=data["share"],
            starts_on=data["starts_on"],
            by=request.user,
        )

    @admin.action(description="End the selected participations…", permissions=["change"])
    def end_selected(self, request, queryset):
        def end(participation, data):
            return lifecycle.participation_end(participation=participation, ends_on=data["ends_on"], by=request.user)

        intro = "These participations stop sharing in payments received from the day you give:"
        return action_with_form(self, request, queryset, EndsOnForm, end, intro=intro, button="End", done="ended")

    def has_change_permission(self, request, obj=None):
        # Ending is the one change allowed, through the action; the record itself is never edited.
        return obj is None and request.user.has_perm("notes.change_participation")


@admin.register(Warrant)
class WarrantAdmin(RecordedByService):
    list_display = ["number", "holder", "issuer", "note", "shares", "shares_left", "exercise_price", "expires_on"]
    list_display += ["status"]
    list_filter = ["status", "issuer"]
    search_fields = ["number", "holder__name", "note__number"]
    add_fields = ["number", "issuer", "holder", "note", "shares", "exercise_price", "issued_on", "expires_on"]
    autocomplete_fields = ["note", "holder"]

    @admin.display(description="Shares left")
    def shares_left(self, warrant):
        return warrant_shares_left(warrant)

    def record(self, request, data):
        return lifecycle.warrant_issue(
            number=data.get("number", ""),
            issuer=data["issuer"],
            holder=data["holder"],
            note=data.get("note"),
            shares=data["shares"],
            exercise_price=data["exercise_price"],
            issued_on=data["issued_on"],
            expires_on=data["expires_on"],
            by=request.user,
        )


@admin.register(WarrantExercise)
class WarrantExerciseAdmin(ApprovableAdmin):
    list_display = ["warrant", "exercised_on", "shares", "price_paid"]
    search_fields = ["warrant__number"]
    add_fields = ["warrant", "exercised_on", "shares"]
    autocomplete_fields = ["warrant"]

    def record(self, request, data):
        return lifecycle.warrant_exercise_record(
            warrant=data["warrant"], exercised_on=data["exercised_on"], shares=data["shares"], by=request.user
        )


@admin.register(WarrantAssignment)
class WarrantAssignmentAdmin(ApprovableAdmin):
    list_display = ["warrant", "effective_on", "assignee", "shares", "substitute"]
    search_fields = ["warrant__number", "assignee__name"]
    add_fields = ["warrant", "effective_on", "assignee", "shares"]
    autocomplete_fields = ["warrant", "assignee"]

    def record(self, request, data):
        return lifecycle.warrant_assignment_record(
            warrant=data["warrant"],
            effective_on=data["effective_on"],
            assignee=data["assignee"],
            shares=data["shares"],
            by=request.user,
        )


class SecuritiesForm(forms.ModelForm):
    """A reclassification, merger or sale names up to three kinds of securities per common share."""

    security_1 = forms.CharField(required=False, max_length=200)
    per_share_1 = SuccessorSecurity._meta.get_field("per_share").formfield(required=False)
    security_2 = forms.CharField(required=False, max_length=200)
    per_share_2 = SuccessorSecurity._meta.get_field("per_share").formfield(required=False)
    security_3 = forms.CharField(required=False, max_length=200)
    per_share_3 = SuccessorSecurity._meta.get_field("per_share").formfield(required=False)


class SuccessorSecurityInline(ReadOnlyInline):
    model = SuccessorSecurity
    fields = ["name", "per_share"]


class SuccessorForm(forms.Form):
    jurisdiction = forms.CharField(max_length=100, label="Successor's state of incorporation")
    notice_address = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), label="Notice address")
    signatory_name = forms.CharField(max_length=200, label="Signatory name")
    signatory_title = forms.CharField(max_length=200, label="Signatory title")


@admin.register(CorporateAction)
class CorporateActionAdmin(ApprovableAdmin):
    list_display = ["issuer", "kind", "effective_on", "ratio", "successor"]
    list_filter = ["kind", "issuer"]
    search_fields = ["issuer__name", "successor", "description"]
    form = SecuritiesForm
    add_fields = ["issuer", "kind", "effective_on", "ratio", "successor", *CorporateAction.SUCCESSOR_FACTS]
    add_fields += ["security_1", "per_share_1", "security_2", "per_share_2", "security_3", "per_share_3"]
    add_fields += ["description"]
    inlines = [SuccessorSecurityInline]
    actions = [*ApprovableAdmin.actions, "record_successor"]

    @admin.action(
        description="Record the successor's particulars (it signs the supplemental agreement)…",
        permissions=["change"],
    )
    def record_successor(self, request, queryset):
        def record(action, data):
            return lifecycle.corporate_action_successor_record(action=action, by=request.user, **data)

        intro = "The supplemental agreement names the successor by its state and is signed by its officer:"
        return action_with_form(
            self, request, queryset, SuccessorForm, record, intro=intro, button="Record", done="recorded"
        )

    def record(self, request, data):
        securities = []
        for i in (1, 2, 3):
            name, per_share = data.get(f"security_{i}") or "", data.get(f"per_share_{i}")
            if bool(name.strip()) != (per_share is not None):
                raise ValidationError({f"per_share_{i}": ["give both the security and the amount per common share"]})
            if per_share is not None:
                securities.append((name, per_share))
        return lifecycle.corporate_action_record(
            issuer=data["issuer"],
            kind=data["kind"],
            effective_on=data["effective_on"],
            ratio=data.get("ratio"),
            successor=data.get("successor", ""),
            **{field: data.get(field, "") for field in CorporateAction.SUCCESSOR_FACTS},
            securities=securities,
            description=data.get("description", ""),
            by=request.user,
        )


@admin.register(SupplementalAgreement)
class SupplementalAgreementAdmin(ProduceDocuments, HistoryAdmin, ReadOnlyAdmin):
    list_display = ["issuer", "effective_on", "action", "created_at"]
    filter_horizontal = ["notes"]
    actions = ["produce_documents"]

    @admin.action(description="Produce the supplemental agreement of each note (PDF)", permissions=["produce"])
    def produce_documents(self, request, queryset):
        def produce(agreement):
            documents.supplemental_agreements_produce(agreement=agreement, by=request.user)

        act_on_each(request, queryset, produce, "produced")


class ResolutionForm(forms.Form):
    resolution = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


@admin.register(ReviewFlag)
class ReviewFlagAdmin(HistoryAdmin, ReadOnlyAdmin):
    list_display = ["note", "kind", "action", "raised_on", "cleared_at", "cleared_by", "resolution"]
    list_filter = ["kind", ("cleared_at", admin.EmptyFieldListFilter)]
    search_fields = ["note__number", "resolution"]
    actions = ["clear_selected"]

    def has_clear_permission(self, request):
        return request.user.has_perm("notes.change_reviewflag")

    @admin.action(description="Clear the selected flags…", permissions=["clear"])
    def clear_selected(self, request, queryset):
        def clear(flag, data):
            return lifecycle.flag_clear(flag=flag, resolution=data["resolution"], by=request.user)

        intro = "Say what was done about these:"
        return action_with_form(
            self, request, queryset, ResolutionForm, clear, intro=intro, button="Clear", done="cleared"
        )
