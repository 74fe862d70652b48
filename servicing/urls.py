from django.urls import path

from servicing import views

app_name = "servicing"
urlpatterns = [
    path("documents/<int:pk>/", views.document_preview, name="document_preview"),
    path("documents/<int:pk>/pdf/", views.document_pdf, name="document_pdf"),
]
