from celery import current_app as app
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tasking import health


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Report database, broker and workers; 503 naming the failing part if any is down."""
    body = health.report(app, worker_timeout=settings.HEALTHZ_WORKER_TIMEOUT)
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)
