"""Admin classes for records that are written by services and decided by approvers."""

import functools
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.text import capfirst
from simple_history.admin import SimpleHistoryAdmin

from servicing import approvals, words
from servicing.engine.conversion import price_display
from servicing.once import SubmitOnce
from servicing.templatetags.documents import percent, price, quantity
from servicing.web import add_service_errors, refusal_words

# Decimal columns that hold a fraction read as a percentage (1.10 → 110%, 0.25 → 25%), besides
# the rates; and those that hold a price per share.
PERCENT_COLUMNS = {"rate", "default_rate_spread", "max_lawful_rate", "conversion_premium", "share"}
PRICE_COLUMNS = {"close", "exercise_price", "conversion_price"}


def number_display(field: models.DecimalField, value: Decimal | None) -> str:
    """A decimal column as the staff pages show it: money with separators and two places
    (120,000.00), rates and shares as percentages (7.5%), prices per share with six places or more
    (2.800000), other quantities exactly, without the column's trailing zeros."""
    if value is None:
        return "-"  # the admin's empty value (a read-only field would write "None")
    if field.name == "conversion_price":
        rounded = price(price_display(value))  # as the staff pages and documents show it
        return rounded if Decimal(rounded) == value else f"{rounded} (unrounded {price(value)})"
    if field.name in PRICE_COLUMNS:
        return price(value)
    if field.name in PERCENT_COLUMNS:
        return percent(value)
    if field.decimal_places == 2:
        return money_display(value)
    return quantity(value)


def money_display(value: Decimal) -> str:
    """Money as the staff pages write it: 120000 → 120,000.00."""
    return words.amount(value)


@functools.cache
def number_column(model, name: str):
    """The admin column (or read-only field) that shows the decimal column `name` of `model` through
    `number_display`; the same object each time, so a form can leave it out by identity."""
    field = model._meta.get_field(name)

    def column(obj):
        return number_display(field, getattr(obj, name))

    column.__name__ = name  # the admin's CSS class, field-<name>, stays the column's
    column.short_description = capfirst(field.verbose_name)
    column.admin_order_field = name
    return column


def shown(model, name):
    """`name`, or its formatted column if it names a decimal column of `model`."""
    if not isinstance(name, str):
        return name
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # a method, a property or a related path: shown as it is
        return name
    return number_column(model, name) if isinstance(field, models.DecimalField) else name


class FormattedNumbers:
    """Every decimal column shown formatted (`number_display`) in the lists, and on a change page
    shown read only (the whole page, or an old version from the history)."""

    def get_list_display(self, request):
        return [shown(self.model, name) for name in super().get_list_display(request)]

    def all_read_only(self, request, obj) -> bool:
        if getattr(request, "history_read_only", False):
            return True
        return obj is not None and not self.has_change_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        return self.formatted_fieldsets(request, obj, super().get_fieldsets(request, obj))

    def formatted_fieldsets(self, request, obj, fieldsets):
        if not self.all_read_only(request, obj):
            return fieldsets
        # Django takes every field of a page the user may not change as read only (these columns
        # included); an old version's page takes them from get_readonly_fields, mapped the same way.
        return [
            (title, {**options, "fields": [self._shown_line(line) for line in options["fields"]]})
            for title, options in fieldsets
        ]

    def _shown_line(self, line):
        if isinstance(line, (list, tuple)):
            return type(line)(shown(self.model, name) for name in line)
        return shown(self.model, line)


class SafeAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget looks up the posted value to show it again; a value that is
    not a key at all (`note=abc`) is left out instead of failing the page (the field says why)."""

    def optgroups(self, name, value, attr=None):
        key = self.field.remote_field.model._meta.pk
        valid = []
        for v in value:
            try:
                key.to_python(v)
            except ValidationError:
                continue
            valid.append(v)
        return super().optgroups(name, valid, attr)


class SafeChangelist:
    """A list filtered by a value its column cannot hold (a year of 99999999999) is shown unfiltered
    with Django's "bad filter" notice, as for any other bad filter, instead of failing the page."""

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)
        except (OverflowError, ValueError):
            if ERROR_FLAG in request.GET:
                raise  # the list fails unfiltered too: a bug to see, not to hide
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")


class HistoryAdmin(FormattedNumbers, SafeChangelist, SimpleHistoryAdmin):
    """A record's change history, read only. django-simple-history's history page would otherwise
    save whatever is posted to it with only the view permission checked; a change is made through
    the record's own form and service instead (rules checked, four-eyes where it applies).

    An add form carries a one-time token (servicing.once), spent once the form is otherwise valid,
    in the admin's transaction: an add form sent twice adds once."""

    def get_form(self, request, obj=None, **kwargs):
        base = kwargs.get("form") or getattr(self, "add_form", None) or self.form  # add_form: the user admin's
        if obj is not None or issubclass(base, SubmitOnce):
            return super().get_form(request, obj, **kwargs)
        kwargs["form"] = type(base.__name__, (SubmitOnce, base), {})
        form = super().get_form(request, obj, **kwargs)

        class AddOnce(form):
            def _post_clean(self):
                # After every check of the form and of its service's dry run (clean), never before.
                super()._post_clean()
                if not self.errors:
                    try:
                        self.spend()
                    except ValidationError as e:
                        self.add_error(None, e)

        return AddOnce

    def save_model(self, request, obj, form, change):
        if change and not form.has_changed():
            return  # nothing changed: no history row that says nothing
        super().save_model(request, obj, form, change)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name in self.get_autocomplete_fields(request) and "widget" not in kwargs:
            kwargs["widget"] = SafeAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied("history is read only: change the record through its own form")
        if not (str(object_id).isdigit() and str(version_id).isdigit()):
            raise Http404("no such version")
        request.history_read_only = True  # an old version is shown, every field read only
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if getattr(request, "history_read_only", False):
            opts = self.model._meta
            names = [*fields, *(f.name for f in [*opts.fields, *opts.many_to_many])]
            return [shown(self.model, name) for name in names]
        return fields


class ReadOnlyAdmin(FormattedNumbers, SafeChangelist, admin.ModelAdmin):
    """Records written only by posting: visible, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """What a service made beside a record (its parts, its waivers), shown under it, never edited."""

    extra = 0
    can_delete = False

    def get_fields(self, request, obj=None):
        return [shown(self.model, name) for name in self.fields]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request, obj=None):
        return False


class RecordedByService(HistoryAdmin):
    """Records added through their service (rules checked, nothing saved on bad input), then only
    viewed: never edited or deleted here. `add_fields` are the add form's fields; `record` calls
    the service."""

    add_fields: list[str] = []

    def get_fields(self, request, obj=None):
        if obj is None:
            return [*self.add_fields, "once"]  # the one-time token: an add form sent twice adds once
        return [f.name for f in self.model._meta.fields if f.name != "id"]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # what the service made, shown once made

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

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
                    # A dry run in a savepoint: the record is made only in save_model.
                    with transaction.atomic():
                        admin_self.record(request, data)
                        transaction.set_rollback(True)
                except ValidationError as e:
                    add_service_errors(self, e)
                return data

        return ServiceForm

    def save_model(self, request, obj, form, change):
        created = self.record(request, form.cleaned_data)
        obj.pk = created.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass  # the service saved everything

    def record(self, request, data):
        raise NotImplementedError


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


class ApprovableAdmin(RecordedByService):
    """Four-eyes records: approve or reject the selected ones (never your own)."""

    actions = ["approve_selected", "reject_selected"]
    approval_columns = ["approval", "recorded_by", "decided_by"]

    def get_list_display(self, request):
        return [*super().get_list_display(request), *self.approval_columns]

    def get_list_filter(self, request):
        return [*super().get_list_filter(request), "approval"]

    def has_approve_permission(self, request):
        return request.user.has_perm(approvals.APPROVE)

    @admin.action(description="Approve the selected items", permissions=["approve"])
    def approve_selected(self, request, queryset):
        self._decide(request, queryset, lambda item: approvals.approve(item, by=request.user), "approved")

    @admin.action(description="Reject the selected items…", permissions=["approve"])
    def reject_selected(self, request, queryset):
        def reject(item, data):
            return approvals.reject(item, by=request.user, reason=data["reason"])

        intro = "These items will be kept, marked rejected with your reason, and never take effect:"
        return action_with_form(
            self, request, queryset, ReasonForm, reject, intro=intro, button="Reject", done="rejected"
        )

    def _decide(self, request, queryset, decide, done: str) -> None:
        act_on_each(request, queryset, decide, done)


class ProduceDocuments:
    """Admin actions that produce documents need `servicing.add_document`, as on the staff pages."""

    def has_produce_permission(self, request):
        return request.user.has_perm("servicing.add_document")


def act_on_each(request, queryset, do, done: str) -> None:
    """Call `do` on each item; report each refusal with its reason, and how many were done."""
    count = 0
    for item in queryset.order_by("pk"):
        try:
            do(item)
            count += 1
        except (ValidationError, PermissionDenied) as e:
            why = "; ".join(refusal_words(e)) if isinstance(e, ValidationError) else str(e)
            messages.error(request, f"{item}: {why}")
    if count:
        messages.success(request, f"{count} item(s) {done}.")


def action_with_form(model_admin, request, queryset, form_class, do, *, intro: str, button: str, done: str):
    """An admin action that first asks for a few values (a reason, a date) on a page of its own."""
    action = request.POST.get("action")
    form = form_class(request.POST if "_confirm" in request.POST else None)
    if form.is_valid():
        act_on_each(request, queryset, lambda item: do(item, form.cleaned_data), done)
        return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": button,
        "intro": intro,
        "queryset": queryset,
        "form": form,
        "opts": model_admin.model._meta,
        "action": action,
        "button": button,
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
    }
    return TemplateResponse(request, "admin/action_form.html", context)
