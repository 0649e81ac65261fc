from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from posts import services
from posts.models import Thumbnail, UserPost


class ThumbnailInline(admin.TabularInline):
    model = Thumbnail
    extra = 0
    can_delete = False
    fields = readonly_fields = ("box_width", "box_height", "width", "height", "file")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(UserPost)
class UserPostAdmin(admin.ModelAdmin):
    list_display = ["id", "caption", "author", "state", "created"]
    list_filter = ["state"]
    search_fields = ["caption", "author__username"]
    # The upload has no URL (it is never served), so it is shown by name only.
    fields = readonly_fields = (
        "author",
        "upload",
        "caption",
        "created",
        "state",
        "failure_reason",
    )
    inlines = [ThumbnailInline]
    actions = ["regenerate_thumbnails"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="upload")
    def upload(self, post: UserPost) -> str:
        return post.image.name or ""

    @admin.action(description="Re-generate thumbnails", permissions=["change"])
    def regenerate_thumbnails(self, request: HttpRequest, queryset: QuerySet[UserPost]) -> None:
        count = services.regenerate_thumbnails(queryset.values_list("id", flat=True))
        self.message_user(request, f"Queued thumbnails for {count} post(s).", messages.SUCCESS)
