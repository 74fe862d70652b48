from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from holders.models import Holder


@admin.register(Holder)
class HolderAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "email", "telecopy", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "email", "notice_address"]
