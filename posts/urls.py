from django.urls import path

from posts import views

app_name = "posts"
urlpatterns = [
    path("", views.index, name="index"),
    path("mine/", views.mine, name="mine"),
    path("new/", views.create, name="create"),
    path("<int:post_id>/", views.detail, name="detail"),
    path("<int:post_id>/status/", views.status, name="status"),
    path("<int:post_id>/delete/", views.delete, name="delete"),
    path("<int:post_id>/retry/", views.retry, name="retry"),
]
