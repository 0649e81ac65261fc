"""Pages: upcoming outings, one outing with its join form, creating one, the Timeline."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.views.decorators.http import require_POST

from outings import joining, services
from outings.forms import JoinForm, OutingForm
from outings.models import Outing, Tweet
from tasking import ratelimit

# 50: a screenful of tweets; older ones are a page away.
TIMELINE_PAGE_SIZE = 50


def index(request: HttpRequest) -> HttpResponse:
    """List upcoming outings."""
    outings = Outing.objects.upcoming().annotate(people=Count("participants"))
    return render(request, "outings/index.html", {"outings": outings})


def _over_the_limit(request: HttpRequest, action: str, setting: str) -> str | None:
    """Count one ``action`` of the signed-in account; say so if it is over its rate."""
    rate = ratelimit.parse_rate(getattr(settings, setting))
    wait = ratelimit.try_start(f"outings.{action}:{request.user.pk}", rate)
    if not wait:
        return None
    now = timezone.now()
    window = timeuntil(now + timedelta(seconds=rate.seconds), now)
    # Under a minute reads "0 minutes"; a minute is near enough.
    again = timeuntil(now + timedelta(seconds=max(wait, 60)), now)
    return f"You can {action} at most {rate.count} outings in {window}. Try again in {again}."


@login_required
def create(request: HttpRequest) -> HttpResponse:
    """Create an outing; its announcement is tweeted in the background."""
    form = OutingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        refused = _over_the_limit(request, "create", "OUTING_CREATE_RATE")
        if refused:
            form.add_error(None, refused)
            return render(request, "outings/create.html", {"form": form}, status=429)
        outing = services.create_outing(
            created_by=request.user,  # type: ignore[arg-type]  # login_required: a User
            **form.cleaned_data,
        )
        messages.success(request, "Outing created. Its announcement is on its way to X.")
        return redirect(outing)
    return render(request, "outings/create.html", {"form": form})


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Show an outing and its participants; signed-in users join it with their X handle."""
    outing = get_object_or_404(Outing, pk=pk)
    if request.method == "POST" and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    form = None
    status = 200
    if request.user.is_authenticated:
        form = JoinForm(request.POST or None, outing=outing, user=request.user)
    if form is not None and request.method == "POST" and form.is_valid():
        refused = _over_the_limit(request, "join", "OUTING_JOIN_RATE")
        if refused:
            form.add_error(None, refused)
            status = 429
        else:
            try:
                participant = joining.join(
                    outing_id=outing.id,
                    user=request.user,  # type: ignore[arg-type]  # login_required: a User
                    **form.cleaned_data,
                )
            except joining.JoinRefused as why:
                form.add_error(None, str(why))
            except IntegrityError:
                # Someone joined with this handle between the checks and the insert.
                form.add_error("handle", f"@{form.cleaned_data['handle']} has already joined.")
            else:
                messages.success(request, f"@{participant.handle} joined {outing.title}.")
                return redirect(outing)
    return render(
        request,
        "outings/detail.html",
        {"outing": outing, "participants": outing.participants.all(), "form": form},
        status=status,
    )


def timeline(request: HttpRequest) -> HttpResponse:
    """Show every tweet the site has sent or tried to send."""
    page = Paginator(
        Tweet.objects.select_related("outing", "participant"), TIMELINE_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    pending = any(tweet.is_pending for tweet in page)
    return render(request, "outings/timeline.html", {"page": page, "pending": pending})


@login_required
@permission_required("outings.retry_tweet", raise_exception=True)
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a failed tweet again."""
    tweet = get_object_or_404(Tweet, pk=pk)
    if services.requeue_tweets([tweet.pk]):
        messages.success(request, f"Tweet {tweet.idempotency_key} queued again.")
    else:
        messages.error(request, f"Tweet {tweet.idempotency_key} is {tweet.state}, not failed.")
    return redirect("outings:timeline")
