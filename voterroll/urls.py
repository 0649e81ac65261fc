from django.urls import path

from voterroll import views

app_name = "voterroll"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.run_detail, name="run"),
    path("<int:pk>/progress.json", views.progress, name="progress"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/files/<path:name>", views.download, name="file"),
]
