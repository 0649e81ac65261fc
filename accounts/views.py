"""The time zone page, and staff pages: email every active user through a chunked generator job."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts import emails, services, timezones
from accounts.tasks import EMAIL_ACTIVE_USERS
from tasking.models import GeneratorJob


class NoticeForm(forms.Form):
    # 200: a subject longer than this is cut by most mail clients anyway.
    subject = forms.CharField(max_length=200)
    # "Message", as the confirmation and job pages call it; the label sits above the box.
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 10}))
    # Set by the confirmation page: the sender has seen how many people it goes to.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_subject(self) -> str:
        subject = self.cleaned_data["subject"]
        if "\n" in subject or "\r" in subject:
            # Django refuses to send a header with a line break (BadHeaderError).
            raise forms.ValidationError(
                "The subject must be a single line: remove the line breaks.", code="newline"
            )
        return subject


@login_required
@permission_required("accounts.email_all_users", raise_exception=True)
def email_all(request: HttpRequest) -> HttpResponse:
    """Show the notice form; on a valid POST ask to confirm, then start the job."""
    form = NoticeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["confirmed"]:
            job = services.email_active_users(
                subject=form.cleaned_data["subject"], body=form.cleaned_data["body"]
            )
            return redirect("email_job", job_id=job.pk)
        confirm = NoticeForm(initial={**form.cleaned_data, "confirmed": True})
        confirm.fields["subject"].widget = forms.HiddenInput()
        # A textarea, not a hidden input: it carries the message's line breaks back as typed.
        confirm.fields["body"].widget = forms.Textarea(attrs={"hidden": True})
        recipients = emails.active_users({}).count()
        return render(
            request,
            "accounts/email_confirm.html",
            {"form": confirm, "recipients": recipients, "notice": form.cleaned_data},
        )
    jobs = GeneratorJob.objects.filter(name=EMAIL_ACTIVE_USERS)[:10]
    return render(request, "accounts/email_all.html", {"form": form, "jobs": jobs})


@login_required
@permission_required("accounts.email_all_users", raise_exception=True)
def email_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """Show one job's sends and failures (the page refreshes itself until all have ended)."""
    job = get_object_or_404(GeneratorJob, pk=job_id, name=EMAIL_ACTIVE_USERS)
    return render(request, "accounts/email_job.html", {"job": job})


class TimeZoneForm(forms.Form):
    zone = forms.ChoiceField(label="Time zone", required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        browser = [("", "The one my browser reports")]
        zone = self.fields["zone"]
        assert isinstance(zone, forms.ChoiceField)
        zone.choices = browser + [(z, z) for z in sorted(timezones.known_zones())]


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else "/"


@require_http_methods(["GET", "POST"])
def time_zone(request: HttpRequest) -> HttpResponse:
    """Let a viewer pick the zone pages show times in, or go back to the browser's own."""
    chosen = request.COOKIES.get(timezones.CHOSEN_COOKIE, "")
    form = TimeZoneForm(request.POST or None, initial={"zone": chosen})
    back = _safe_next(request)
    if request.method == "POST" and form.is_valid():
        zone = form.cleaned_data["zone"]
        response = redirect(back)
        if zone:
            response.set_cookie(
                timezones.CHOSEN_COOKIE,
                zone,
                max_age=int(timedelta(days=365).total_seconds()),
                samesite="Lax",
                secure=request.is_secure(),
            )
            messages.success(request, f"Times are now shown in {zone}.")
        else:
            response.delete_cookie(timezones.CHOSEN_COOKIE, samesite="Lax")
            messages.success(request, "Times are now shown in your browser's time zone.")
        return response
    return render(
        request,
        "accounts/time_zone.html",
        {"form": form, "next": back, "zone": timezone.get_current_timezone_name()},
    )
