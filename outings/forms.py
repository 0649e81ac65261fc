"""Forms for creating and joining outings, with errors a person can act on."""

from __future__ import annotations

import re

from django import forms
from django.utils import timezone

from outings import joining, reminders
from outings.models import Outing, Participant

# X's rule for handles: 1 to 15 letters, digits or underscores.
HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")


class OutingForm(forms.ModelForm):
    class Meta:
        model = Outing
        fields = ["title", "description", "place", "starts_at"]
        labels = {"starts_at": "Starts at"}
        widgets = {
            "starts_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "description": forms.Textarea(attrs={"rows": 4}),
        }
        error_messages = {
            "title": {"required": "Give the outing a title."},
            "place": {"required": "Say where the outing is."},
            "starts_at": {
                "required": "Say when the outing starts.",
                "invalid": "Enter the start as a date and time, like 2026-12-24 18:30.",
            },
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Typed times are read in the viewer's zone (accounts.timezones); say which one.
        zone = timezone.get_current_timezone_name()
        self.fields["starts_at"].help_text = f"Date and time in {zone}."

    def clean_starts_at(self):
        starts_at = self.cleaned_data["starts_at"]
        if starts_at <= timezone.now():
            shown = timezone.localtime(starts_at)
            raise forms.ValidationError(
                f"The start time {shown:%Y-%m-%d %H:%M} {shown.tzname()} is in the past: "
                "choose a time that is still to come.",
                code="past",
            )
        return starts_at


class JoinForm(forms.ModelForm):
    class Meta:
        model = Participant
        fields = ["name", "handle", "wants_reminder"]
        labels = {"handle": "X handle", "wants_reminder": "Tweet me a reminder"}
        error_messages = {
            "name": {"required": "Tell us your name."},
            "handle": {"required": "Enter your X handle, like @backlot_hq."},
        }

    def __init__(self, *args, outing: Outing, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.outing = outing
        self.user = user
        self.instance.outing = outing
        # Let "@name" through to clean_handle, which strips the @ and checks the length.
        self.fields["handle"].max_length = None  # type: ignore[attr-defined]  # a CharField
        self.fields["handle"].validators = []
        self.fields["handle"].widget.attrs.pop("maxlength", None)
        reminder = self.fields["wants_reminder"]
        reminder.help_text = reminders.when_reminded(outing, now=timezone.now())
        # A checkbox sits before its label: "☐ Tweet me a reminder", without a colon.
        reminder.label_suffix = ""

    def clean_handle(self):
        handle = self.cleaned_data["handle"].strip().removeprefix("@")
        if not HANDLE.fullmatch(handle):
            raise forms.ValidationError(
                "That is not an X handle: use 1 to 15 letters, digits or underscores, "
                "like @backlot_hq.",
                code="invalid_handle",
            )
        owner = joining.handle_owner_id(handle)
        if owner is not None and owner != self.user.pk:
            raise forms.ValidationError(joining.handle_taken_message(handle), code="taken")
        if self.outing.participants.filter(handle__iexact=handle).exists():
            raise forms.ValidationError(
                f"@{handle} has already joined this outing.", code="duplicate"
            )
        return handle

    def clean(self):
        cleaned = super().clean()
        if self.outing.has_started():
            raise forms.ValidationError("This outing has already started: joining is closed.")
        if self.outing.participants.filter(user=self.user).exists():
            raise forms.ValidationError("You have already joined this outing.")
        return cleaned
