import django_filters
import django_tables2 as tables
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils.functional import cached_property

from notes.models import Issuer, Note
from servicing.models import DefaultPeriod
from servicing.selectors import STATUSES, MoneySum
from servicing.web import IsoDateField, MoneyColumn
from servicing.words import percent

TOTALLED = ("principal_outstanding", "interest_due", "default_interest_due", "past_due", "unapplied")


class NoteTable(tables.Table):
    number = tables.Column(linkify=True, verbose_name="Note")
    holder = tables.Column(
        accessor="holder__name", verbose_name="Holder", linkify=lambda record: record.holder.get_absolute_url()
    )
    issuer = tables.Column(accessor="issuer__name", verbose_name="Issuer")
    agreement_date = tables.DateColumn("Y-m-d", verbose_name="Agreed", attrs={"td": {"class": "date"}})
    maturity_date = tables.DateColumn("Y-m-d", verbose_name="Matures", attrs={"td": {"class": "date"}})
    rate = tables.Column(attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    status = tables.Column(verbose_name="Status")  # selectors.note_status, annotated
    principal_outstanding = MoneyColumn(verbose_name="Principal")
    interest_due = MoneyColumn(verbose_name="Interest")
    default_interest_due = MoneyColumn(verbose_name="Default interest")
    past_due = MoneyColumn(verbose_name="Past due")
    unapplied = MoneyColumn()
    closed_through = tables.DateColumn("Y-m-d", verbose_name="Posted to", attrs={"td": {"class": "date"}})

    class Meta:
        model = Note
        fields = [
            "number",
            "holder",
            "issuer",
            "agreement_date",
            "maturity_date",
            "rate",
            "status",
            "principal_outstanding",
            "interest_due",
            "default_interest_due",
            "past_due",
            "unapplied",
            "closed_through",
        ]
        attrs = {"class": "table table-sm table-hover align-middle"}
        order_by = "number"
        template_name = "notes/note_table.html"  # its rows written out: a tenth of the time

    def render_rate(self, value):
        return percent(value)

    def render_status(self, value):
        return render_to_string("notes/_status.html", {"status": value})

    def value_status(self, value):
        return dict(STATUSES)[value]  # CSV: the word

    @cached_property
    def totals(self) -> dict:
        """The money columns summed over every note the filter lists, all pages: one query."""
        sums = {name: MoneySum(name) for name in TOTALLED}
        return self.data.data.aggregate(count=Count("pk"), **sums)


class IsoDateFilter(django_filters.DateFilter):
    field_class = IsoDateField  # typed and shown as YYYY-MM-DD, like the forms' dates


class NoteFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    issuer = django_filters.ModelChoiceFilter(queryset=Issuer.objects.all(), empty_label="Every issuer")
    status = django_filters.ChoiceFilter(
        method="by_status",
        choices=[(word.replace(" ", "_"), label) for word, label in STATUSES],
        label="Status",
        empty_label="Any status",
    )
    owing = django_filters.ChoiceFilter(
        method="by_owing",
        choices=[
            ("outstanding", "Principal outstanding"),
            ("past_due", "Anything past due"),
            ("default", "An Event of Default continuing"),
            ("repaid", "Nothing outstanding"),
        ],
        label="Owing",
        empty_label="Anything or nothing",
    )
    matures_before = IsoDateFilter(field_name="maturity_date", lookup_expr="lte", label="Matures by")

    class Meta:
        model = Note
        fields = ["q", "issuer", "status", "owing", "matures_before"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(number__icontains=value) | Q(holder__name__icontains=value) | Q(issuer__name__icontains=value)
        )

    def by_status(self, queryset, name, value):
        return queryset.filter(status=value.replace("_", " "))  # the value spells the word with underscores

    def by_owing(self, queryset, name, value):
        if value == "outstanding":
            return queryset.filter(principal_outstanding__gt=0)
        if value == "past_due":
            return queryset.filter(past_due__gt=0)
        if value == "default":
            return queryset.filter(pk__in=DefaultPeriod.objects.filter(end__isnull=True).values("note"))
        return queryset.filter(principal_outstanding=0)
