from django.urls import path

from servicing import import_views, views

app_name = "servicing"
urlpatterns = [
    path("notes/<int:pk>/record/<slug:kind>/", views.record, name="record"),
    path("notes/<int:pk>/produce/<slug:kind>/", views.document_produce, name="produce"),
    path("notes/<int:pk>/exhibits/new/", views.exhibit_attach, name="exhibit_attach"),
    path("exhibits/<int:pk>/pdf/", views.exhibit_pdf, name="exhibit_pdf"),
    path("records/<slug:model>/<int:pk>/produce/", views.record_document_produce, name="produce_for"),
    path("payments/<int:pk>/reverse/", views.payment_reverse, name="payment_reverse"),
    path("participations/<int:pk>/end/", views.participation_end, name="participation_end"),
    path("flags/<int:pk>/clear/", views.flag_clear, name="flag_clear"),
    path("warrants/<int:pk>/<slug:action>/", views.warrant_action, name="warrant"),
    path("approvals/", views.approvals_queue, name="approvals"),
    path("approvals/<slug:model>/<int:pk>/<slug:decision>/", views.decide, name="decide"),
    path("closing-prices/", views.closing_prices, name="closing_prices"),
    path("corporate-actions/new/", views.corporate_action, name="corporate_action"),
    path("statements/", views.statements, name="statements"),
    path("reminders/", views.reminders, name="reminders"),
    path("jobs/", views.jobs, name="jobs"),
    path("import/", import_views.import_upload, name="import"),
    path("import/template/<slug:kind>.csv", import_views.import_template, name="import_template"),
    path("import/<int:pk>/", import_views.import_run, name="import_run"),
    path("import/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("import/<int:pk>/<slug:step>/", import_views.import_step, name="import_step"),
    path("documents/<int:pk>/", views.document_preview, name="document_preview"),
    path("documents/<int:pk>/pdf/", views.document_pdf, name="document_pdf"),
]
