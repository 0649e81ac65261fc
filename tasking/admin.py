from django.contrib import admin

from tasking.models import GeneratorJob, OutboxMessage


@admin.register(GeneratorJob)
class GeneratorJobAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "rows_done", "rows_total", "last_id", "created_at"]
    list_filter = ["state", "name"]
    readonly_fields = [f.name for f in GeneratorJob._meta.fields]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["task_name", "task_id", "created_at", "sent_at", "attempts"]
    list_filter = ["task_name", ("sent_at", admin.EmptyFieldListFilter)]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
