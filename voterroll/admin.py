"""Admin pages for centers, voters and roll runs, with the "Generate roll" action."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from voterroll import services
from voterroll.models import Center, RollRun, Station, Voter


@admin.register(Center)
class CenterAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "office", "locale"]
    search_fields = ["code", "name", "office"]
    actions = ["generate_roll"]

    def has_generate_roll_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("voterroll.generate_roll")

    @admin.action(description="Generate roll", permissions=["generate_roll"])
    def generate_roll(self, request: HttpRequest, queryset: QuerySet[Center]) -> None:
        run = services.queue_run(
            strategy=RollRun.Strategy.BATCHED,
            center_ids=list(queryset.values_list("id", flat=True)),
        )
        self.message_user(
            request,
            f"Roll run {run.id} started for {queryset.count()} centers.",
            messages.SUCCESS,
        )


@admin.register(Voter)
class VoterAdmin(admin.ModelAdmin):
    list_display = ["number", "family_name", "first_name", "father_name", "gender", "center"]
    list_filter = ["gender", "center"]
    search_fields = ["number", "family_name", "first_name"]
    list_select_related = ["center"]
    raw_id_fields = ["center"]


class StationInline(admin.TabularInline):
    model = Station
    fields = (
        "center",
        "number",
        "gender",
        "voter_count",
        "first_voter_name",
        "last_voter_name",
        "pages",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(RollRun)
class RollRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "strategy",
        "state",
        "stations_done",
        "stations_count",
        "voters_count",
        "pages_count",
        "created_at",
    ]
    list_filter = ["state", "strategy"]
    readonly_fields = [f.name for f in RollRun._meta.fields]
    exclude = ["centers"]
    inlines = [StationInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Runs start from the Rolls page or the Center action, which enqueue the work.
        return False
