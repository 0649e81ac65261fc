from django.urls import path

from voterroll import views

app_name = "voterroll"
urlpatterns = [
    path("", views.index, name="index"),
]
