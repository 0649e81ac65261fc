from django.urls import path

from outings import views

app_name = "outings"
urlpatterns = [
    path("", views.index, name="index"),
]
