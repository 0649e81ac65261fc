from django.urls import path

from tasking import views

app_name = "tasking"
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("tasks/", views.dashboard_view, name="dashboard"),
]
