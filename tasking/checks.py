"""System checks of the task layer's requirements on the database."""

from __future__ import annotations

import sqlite3
from typing import Any

from django.conf import settings
from django.core import checks

# The result backend's chord votes use INSERT/UPDATE ... RETURNING (tasking/results.py).
SQLITE_RETURNING = (3, 35)


@checks.register()
def sqlite_supports_returning(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """On the embedded SQLite default, fail at start rather than at a chord's first vote."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if not engine.endswith("sqlite3") or sqlite3.sqlite_version_info >= SQLITE_RETURNING:
        return []
    return [
        checks.Error(
            f"SQLite {sqlite3.sqlite_version} is too old: chord votes need 3.35 or newer "
            "(RETURNING).",
            hint="Use a Python linked with a newer SQLite, or set DATABASE_URL to PostgreSQL.",
            id="tasking.E001",
        )
    ]
