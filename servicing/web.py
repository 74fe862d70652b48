"""What the staff pages share: the permission check, a table page with its CSV export, a service's
refusal shown at the field it names, and the money column of a table. Every app's pages and admin
import these from here."""

import csv
import re

import django_tables2 as tables
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django_tables2 import RequestConfig

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
    for field, messages in error.message_dict.items():
        field = (renamed or {}).get(field, field)
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


def spreadsheet_safe(cell):
    """A cell a spreadsheet would run as a formula (=, +, -, @, tab or carriage return first) gets a
    leading apostrophe, so it shows as text; numbers, negative ones included, stay numbers."""
    text = "" if cell is None else str(cell)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def table_page(request, filterset, table_class, *, title: str, section: str):
    """A filtered, sorted table, 25 rows a page, or all its rows as CSV (`?export=csv`)."""
    table = table_class(filterset.qs)
    if request.GET.get("export") == "csv":
        RequestConfig(request, paginate=False).configure(table)
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{section}.csv"'
        csv.writer(response).writerows([spreadsheet_safe(cell) for cell in row] for row in table.as_values())
        return response
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    context = {"table": table, "filter": filterset, "title": title, "section": section}
    return render(request, "table_page.html", context)


class MoneyColumn(tables.Column):
    def __init__(self, *args, **kwargs):
        attrs = {"td": {"class": "num"}, "th": {"class": "num"}}
        super().__init__(*args, attrs=attrs, **kwargs)

    def render(self, value):
        return f"{value:,.2f}"

    def value(self, value):
        return f"{value:.2f}"  # CSV: plain figures
