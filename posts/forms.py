from __future__ import annotations

from django import forms
from django.conf import settings

from posts.models import UserPost
from posts.uploads import inspect_upload, storage_name


class UserPostForm(forms.ModelForm):
    class Meta:
        model = UserPost
        fields = ["image", "caption"]
        widgets = {
            "image": forms.ClearableFileInput(
                attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}
            ),
            "caption": forms.Textarea(attrs={"rows": 3}),
        }
        error_messages = {
            "caption": {"required": "Write a caption for your image."},
            "image": {"required": "Choose an image to upload."},
        }

    def clean_caption(self) -> str:
        caption = self.cleaned_data["caption"].strip()
        if not caption:
            raise forms.ValidationError("Write a caption for your image.", code="required")
        return caption

    def clean_image(self):
        upload = self.cleaned_data["image"]
        info = inspect_upload(
            upload,
            max_bytes=settings.POST_MAX_UPLOAD_BYTES,
            max_pixels=settings.POST_MAX_PIXELS,
        )
        upload.name = storage_name(info)
        return upload
