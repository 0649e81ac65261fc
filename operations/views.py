from celery import current_app as app
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from prometheus_client import CONTENT_TYPE_LATEST

from operations import dashboard, deadletters, health, metrics

# Held by the "Operators" group: the dashboard, /metrics and the details of /healthz.
# Declared on tasking's StoredResult (the pages show task results), where groups were
# first granted it.
OPERATIONS = "tasking.view_operations"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Report database, broker, workers, queue coverage and beat; 503 when one is down.

    Anyone sees ok or down per part; operators and the metrics token also see why
    (exception text, worker names, queues), which would help an attacker map the site.
    """
    body = health.report(
        app,
        worker_timeout=settings.HEALTHZ_WORKER_TIMEOUT,
        beat_max_age=settings.HEALTHZ_BEAT_MAX_AGE,
        broker_max_age=settings.HEALTHZ_CACHE_SECONDS,
    )
    status = 200 if body["status"] == "ok" else 503
    if not (request.user.has_perm(OPERATIONS) or _has_metrics_token(request)):
        body = health.states_only(body)
    return JsonResponse(body, status=status)


def _has_metrics_token(request: HttpRequest) -> bool:
    return metrics.bearer_token_matches(request.headers.get("Authorization", ""))


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve Prometheus metrics to staff or to a scraper holding METRICS_TOKEN."""
    if not (request.user.has_perm(OPERATIONS) or _has_metrics_token(request)):
        response = HttpResponse("A staff session or a bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = metrics.exposition(app, worker_timeout=settings.METRICS_WORKER_TIMEOUT)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


@never_cache
@require_GET
def dashboard_view(request: HttpRequest) -> HttpResponse:
    """Show staff whether the background work is healthy, refreshing itself."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.has_perm(OPERATIONS):
        raise PermissionDenied("The Tasks dashboard needs the view_operations permission.")
    context = dashboard.snapshot(
        app,
        worker_timeout=settings.METRICS_WORKER_TIMEOUT,
        max_age=settings.DASHBOARD_CACHE_SECONDS,
    )
    context["refresh_seconds"] = settings.DASHBOARD_REFRESH_SECONDS
    return render(request, "operations/dashboard.html", context)


@require_POST
def dead_letter_view(request: HttpRequest, task_id: str) -> HttpResponse:
    """Requeue or drop one dead letter, then go back to the dashboard."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("operations:dashboard"))
    if not request.user.has_perm(OPERATIONS):
        raise PermissionDenied("Dead letters need the view_operations permission.")
    action = request.POST.get("action")
    if action not in {"requeue", "drop"}:
        return HttpResponse("action must be 'requeue' or 'drop'.\n", status=400)
    done = (deadletters.requeue if action == "requeue" else deadletters.drop)(app, task_id)
    if done:
        verb = "requeued" if action == "requeue" else "dropped"
        messages.success(request, f"Dead letter {task_id} {verb}.")
    else:
        messages.warning(request, f"No dead letter {task_id}: someone handled it already.")
    return HttpResponseRedirect(reverse("operations:dashboard") + "#dead-letters")
