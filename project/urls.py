"""Top-level URL configuration."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import TemplateView
from django.views.static import serve


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Send /favicon.ico, asked for by pages without a <link rel=icon> (JSON), to the icon."""
    return HttpResponseRedirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("posts/", include("posts.urls")),
    path("outings/", include("outings.urls")),
    path("rolls/", include("voterroll.urls")),
    path("", include("operations.urls")),
]


def media(request: HttpRequest, path: str) -> HttpResponseBase:
    """Serve a public file (thumbnails) from MEDIA_ROOT; nothing private is ever there."""
    return serve(request, path, document_root=str(settings.MEDIA_ROOT))


if settings.SERVE_MEDIA:
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", media)]
