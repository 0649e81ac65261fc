"""The staff groups: each gets the permissions of one job, so nobody needs all of them.

Permissions are normally created after the last migration (post_migrate); they are
created here first so the groups can be given them on a fresh database.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "Roll officers": [
        "voterroll.view_rollrun",
        "voterroll.generate_roll",
        "voterroll.download_roll",
        "voterroll.view_center",
        "voterroll.view_voter",
    ],
    "Communications": [
        "accounts.email_all_users",
        "accounts.send_password_resets",
        "auth.view_user",
        "outings.view_outing",
        "outings.view_tweet",
        "outings.retry_tweet",
    ],
    "Operators": [
        "tasking.view_operations",
        "tasking.view_generatorjob",
        "tasking.view_outboxmessage",
        "django_celery_results.view_taskresult",
        "django_celery_beat.view_periodictask",
        "posts.view_userpost",
        "posts.change_userpost",
    ],
}


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_recipient_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("voterroll", "0003_roll_permissions"),
        ("outings", "0002_tweet_retry_permission"),
        ("tasking", "0004_operations_permission"),
        ("posts", "0001_initial"),
        ("django_celery_results", "0014_alter_taskresult_status"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
