from django.urls import path

from outings import views

app_name = "outings"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("timeline/", views.timeline, name="timeline"),
    path("timeline/<int:pk>/retry/", views.retry, name="retry"),
]
