from django.urls import path

from tasking import views

app_name = "tasking"
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
]
