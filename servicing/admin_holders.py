from django.contrib import admin

from holders.models import Holder
from servicing.admin_base import HistoryAdmin


@admin.register(Holder)
class HolderAdmin(HistoryAdmin):
    list_display = ["name", "kind", "email", "telecopy", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "email", "notice_address"]
