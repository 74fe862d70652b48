"""What the staff pages share: the permission check, a table page with its CSV export, a service's
refusal shown at the field it names, a CSV download, the money column of a table and the YYYY-MM-DD date field.
Every app's pages and admin import these from here."""

import csv
import re

import django_tables2 as tables
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.utils import pretty_name
from django.http import HttpResponse
from django.shortcuts import render
from django_tables2 import RequestConfig

from servicing.words import amount

ISO_DATE = "%Y-%m-%d"
NOT_ISO = "Enter a date as YYYY-MM-DD, such as 2026-11-27."


class IsoDateInput(forms.DateInput):
    """A date typed and shown as YYYY-MM-DD, as every page shows dates, with a button opening the
    browser's calendar (servicing/static/servicing/dates.js). A text box: the browser's own date
    input shows the user's locale (mm/dd/yyyy in the United States) however the page writes it."""

    template_name = "servicing/widgets/iso_date.html"  # in the app: the form renderer reads app templates

    def __init__(self, attrs=None):
        iso = {
            "pattern": r"\d{4}-\d{2}-\d{2}",
            "placeholder": "YYYY-MM-DD",
            "inputmode": "numeric",
            "autocomplete": "off",
            "maxlength": "10",
            "data-iso-date": "",
        }
        super().__init__(attrs={**iso, **(attrs or {})}, format=ISO_DATE)


class IsoDateField(forms.DateField):
    """A date in ISO form only: 03/04/2026 is a different day in New York and in London."""

    widget = IsoDateInput
    input_formats = [ISO_DATE]
    default_error_messages = {"invalid": NOT_ISO}


NUMBER = re.compile(r"-?[\d,]*\.?\d+%?")


def require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied(f"this needs the permission {permission}")


def add_service_errors(form, error: ValidationError, renamed: dict | None = None) -> None:
    """Show a service's refusal at the field it names (under the form's own name for it, when
    `renamed` says), or above the form when the form has no such field."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for name, messages in error.message_dict.items():
        field = (renamed or {}).get(name, name)
        for message in messages:
            add_refusal(form, field, message, also=name)


def add_refusal(form, field: str, message: str, *, also: str = "") -> None:
    """Show one refusal at its field, worded with the field's label: the services and the engine
    begin a message with the code name (`received_on 1999-01-01 is before…`), which `simulate` and the
    commands print as is, but a user of a page knows the field by its label."""
    at = field if field in form.fields else None
    label = (form.fields[field].label if at else None) or label_of(field)
    for code in {field, also} - {""}:
        message = in_words(message, code, label)
    form.add_error(at, message)


def label_of(code: str) -> str:
    """A field's code name written out as its label: received_on → Received on, notice.sent → Notice sent."""
    return pretty_name(code.replace(".", "_"))


def in_words(message: str, code: str, label: str) -> str:
    """The message with the code name it begins with (`received_on 1999-01-01…`, `ends_on: …`)
    replaced by the field's label; any other message as it is."""
    for after in (" ", ":"):
        if code and message.startswith(code + after):
            return label + message[len(code) :]
    return message


def refusal_words(error: ValidationError, labels: dict[str, str] | None = None) -> list[str]:
    """A service's refusal as a page's message above the page, each field named by its label
    (`labels`, else its code name written out), never by its code name."""
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    return [
        in_words(message, code, (labels or {}).get(code) or label_of(code))
        for code, messages in error.message_dict.items()
        for message in messages
    ]


def spreadsheet_safe(cell):
    """A cell a spreadsheet would run as a formula (=, +, -, @, tab or carriage return first) gets a
    leading apostrophe, so it shows as text; numbers, negative ones included, stay numbers."""
    text = "" if cell is None else str(cell)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_response(name: str, rows) -> HttpResponse:
    """`rows` (the first one the headings) as a CSV download `name`.csv, each cell spreadsheet-safe."""
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    csv.writer(response).writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return response


def zip_response(name: str, content: bytes) -> HttpResponse:
    """`content` as a zip download `name`.zip."""
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}.zip"'
    return response


def table_page(request, filterset, table_class, *, title: str, section: str, links=()):
    """A filtered, sorted table, 25 rows a page, or all its rows as CSV (`?export=csv`)."""
    # A filter given a value it cannot read (a date that is not one) lists nothing, rather than
    # everything, and says why at the field.
    refused = filterset.is_bound and not filterset.is_valid()
    table = table_class(filterset.queryset.none() if refused else filterset.qs)
    if refused:
        table.empty_text = "Nothing is listed: correct the filter above."
    if request.GET.get("export") == "csv":
        RequestConfig(request, paginate=False).configure(table)
        return csv_response(section, table.as_values())
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    context = {"table": table, "filter": filterset, "title": title, "section": section, "links": links}
    return render(request, "table_page.html", context)


class MoneyColumn(tables.Column):
    def __init__(self, *args, **kwargs):
        attrs = {"td": {"class": "num"}, "th": {"class": "num"}}
        super().__init__(*args, attrs=attrs, **kwargs)

    def render(self, value):
        return amount(value)  # as every page and message writes money

    def value(self, value):
        return f"{value:.2f}"  # CSV: plain figures
