from django.urls import path

from servicing import holder_views as views

app_name = "holders"
urlpatterns = [
    path("", views.holder_list, name="list"),
    path("<int:pk>/", views.holder_detail, name="detail"),
]
