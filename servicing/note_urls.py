from django.urls import path

from servicing import note_views as views

app_name = "notes"
urlpatterns = [
    path("", views.note_list, name="list"),
    path("<int:pk>/", views.note_detail, name="detail"),
    path("<int:pk>/ledger/", views.note_ledger, name="ledger"),
    path("ocf.zip", views.ocf_export, name="ocf"),
]
