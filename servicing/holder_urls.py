from django.urls import path

from holders import views

app_name = "holders"
urlpatterns = [
    path("", views.holder_list, name="list"),
    path("<int:pk>/", views.holder_detail, name="detail"),
]
