import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


def password_file() -> Path:
    """Where the demo password is kept between starts (DATA_DIR/demo_password)."""
    return Path(settings.DATA_DIR) / "demo_password"


def _new_password(path: Path) -> str:
    password = secrets.token_urlsafe(9)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    # 0600: the file holds a superuser's password.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password


class Command(BaseCommand):
    help = (
        "Create the demo superuser once, keep its password in DATA_DIR/demo_password and "
        "print it on every start; an open browser stays signed in. DEBUG only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--username", default="demo", help="Name of the demo superuser (default: demo)."
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Make a new password (signs out every session of the user) and print it.",
        )

    def handle(self, *args, username: str, reset: bool, **options):
        if not settings.DEBUG:
            raise CommandError("demo_superuser only runs with DEBUG=1: it prints a password.")
        path = password_file()
        fresh = reset or not path.exists()
        password = _new_password(path) if fresh else path.read_text().strip()
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com"}
        )
        if created or fresh:
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(password)
            user.save()
        elif not user.check_password(password):
            self.stdout.write(
                self.style.WARNING(
                    f"The password of {username!r} was changed since {path} was written; "
                    "sign in with the new one, or run manage.py demo_superuser --reset."
                )
            )
            return
        if created:
            what = "Created demo superuser"
        elif fresh:
            what = "New password for demo superuser"
        else:
            what = "Demo superuser"
        self.stdout.write(
            self.style.SUCCESS(
                f"{what}: username {username!r}, password {password!r} (kept in {path})"
            )
        )
