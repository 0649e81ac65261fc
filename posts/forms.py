from __future__ import annotations

from django import forms
from django.conf import settings

from posts.models import UserPost
from posts.uploads import inspect_upload, storage_name, too_big_message


class UserPostForm(forms.ModelForm):
    class Meta:
        model = UserPost
        # The caption first: a browser sends fields in this order, so the caption is read
        # even when the file after it is cut off for being too big.
        fields = ["caption", "image"]
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

    def __init__(self, *args, cut_off_at: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if cut_off_at is not None:
            # The upload handler dropped the file part way: the image is missing because
            # it was too big, and that is what the form says.
            self.fields["image"].error_messages["required"] = too_big_message(cut_off_at)

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
