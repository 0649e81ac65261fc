"""Staff pages: email every active user through a chunked generator job."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.tasks import EMAIL_ACTIVE_USERS
from tasking import generators
from tasking.models import GeneratorJob


class NoticeForm(forms.Form):
    # 200: a subject longer than this is cut by most mail clients anyway.
    subject = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea)


@login_required
@permission_required("accounts.email_all_users", raise_exception=True)
def email_all(request: HttpRequest) -> HttpResponse:
    """Show the notice form and past jobs; start a job on a valid POST."""
    form = NoticeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        job = generators.start(EMAIL_ACTIVE_USERS, form.cleaned_data)
        return redirect("email_job", job_id=job.pk)
    jobs = GeneratorJob.objects.filter(name=EMAIL_ACTIVE_USERS)[:10]
    return render(request, "accounts/email_all.html", {"form": form, "jobs": jobs})


@login_required
@permission_required("accounts.email_all_users", raise_exception=True)
def email_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """Show one job's progress (the page refreshes itself until the job is done)."""
    job = get_object_or_404(GeneratorJob, pk=job_id, name=EMAIL_ACTIVE_USERS)
    return render(request, "accounts/email_job.html", {"job": job})
