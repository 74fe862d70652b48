from django.shortcuts import get_object_or_404, render

from holders.models import Holder
from servicing.holder_tables import HolderFilter, HolderTable, holders_with_totals
from servicing.selectors import notes_with_balances
from servicing.web import require, table_page


def holder_list(request):
    require(request.user, "holders.view_holder")
    holders = HolderFilter(request.GET, queryset=holders_with_totals())
    return table_page(request, holders, HolderTable, title="Holders", section="holders")


def holder_detail(request, pk):
    require(request.user, "holders.view_holder")
    holder = get_object_or_404(Holder, pk=pk)
    context = {
        "holder": holder,
        "notes": notes_with_balances().filter(holder=holder).order_by("number"),
        "statements": holder.documents.filter(kind="statement").order_by("-month", "-version"),
        "deliveries": holder.statement_deliveries.order_by("-month"),
        "participations": holder.participations.select_related("note"),
        "warrants": holder.warrants.all(),
        "section": "holders",
    }
    return render(request, "holders/holder_detail.html", context)
