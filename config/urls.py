from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from servicing import health, metrics
from servicing import views as servicing_views

admin.site.site_header = "Convertible note servicing"
admin.site.site_title = "Note servicing admin"
# Without the sidebar of every model beside each page, a list and its filters fit a laptop's
# 1280 px; the home page and the breadcrumbs lead to every model.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", servicing_views.dashboard, name="dashboard"),
    path("health/", health.health, name="health"),
    re_path(r"^metrics/?$", metrics.metrics, name="metrics"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("notes/", include("servicing.note_urls")),
    path("holders/", include("servicing.holder_urls")),
    path("", include("servicing.urls")),
    path("admin/", admin.site.urls),
]
