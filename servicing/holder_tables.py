import django_filters
import django_tables2 as tables
from django.db.models import Count, Q

from holders.models import Holder
from servicing.selectors import MoneySum
from servicing.web import MoneyColumn


def holders_with_totals():
    """Holders with their notes counted and the principal each note row keeps added up."""
    return Holder.objects.annotate(
        note_count=Count("notes"), principal_outstanding=MoneySum("notes__principal_outstanding")
    )


class HolderTable(tables.Table):
    name = tables.Column(linkify=True)
    kind = tables.Column()
    email = tables.EmailColumn()
    note_count = tables.Column(verbose_name="Notes", attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    principal_outstanding = MoneyColumn(verbose_name="Principal outstanding")

    class Meta:
        model = Holder
        fields = ["name", "kind", "email", "telecopy", "note_count", "principal_outstanding"]
        attrs = {"class": "table table-sm table-hover align-middle"}
        order_by = "name"


class HolderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    kind = django_filters.ChoiceFilter(choices=Holder.Kind.choices)

    class Meta:
        model = Holder
        fields = ["q", "kind"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(email__icontains=value) | Q(notice_address__icontains=value)
        )
