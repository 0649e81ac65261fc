from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("voterroll", "0006_merge_0004_rolls_out_of_media_0005_batched_by_default")]

    operations = [
        migrations.RenameField("station", "first_name", "first_voter_name"),
        migrations.RenameField("station", "last_name", "last_voter_name"),
        migrations.RemoveField("rollrun", "output_dir"),
    ]
