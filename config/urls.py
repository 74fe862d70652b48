from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Convertible note servicing"
admin.site.site_title = "Note servicing admin"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="notes:list", permanent=False)),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("notes/", include("notes.urls")),
    path("", include("servicing.urls")),
    path("admin/", admin.site.urls),
]
