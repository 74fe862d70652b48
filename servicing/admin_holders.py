from django.contrib import admin

from holders.models import Holder
from servicing.admin_base import HistoryAdmin


@admin.register(Holder)
class HolderAdmin(HistoryAdmin):
    list_display = ["name", "kind", "email", "telecopy", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "email", "notice_address"]
    fieldsets = [
        (None, {"fields": ["kind", "name", "notice_address", "email", "telecopy"]}),
        (
            "An entity, as documents name it and as it signs",
            {"fields": ["entity_type", "organized_in", "signatory_name", "signatory_title"]},
        ),
    ]
