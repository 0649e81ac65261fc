from django.urls import path

from operations import views

app_name = "operations"
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("tasks/", views.dashboard_view, name="dashboard"),
    path("tasks/dead/<str:task_id>", views.dead_letter_view, name="dead_letter"),
]
