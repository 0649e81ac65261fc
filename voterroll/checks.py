"""System checks: roll files must live where no URL serves them."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core import checks


@checks.register()
def rolls_are_not_served(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Refuse a ROLLS_ROOT inside MEDIA_ROOT or STATIC_ROOT, which are served as they are."""
    rolls = Path(settings.ROLLS_ROOT).resolve()
    served = {"MEDIA_ROOT": settings.MEDIA_ROOT, "STATIC_ROOT": settings.STATIC_ROOT}
    return [
        checks.Error(
            f"ROLLS_ROOT ({rolls}) is inside {name} ({root}): voter rolls would be public.",
            hint=f"Set ROLLS_ROOT to a folder outside {name} (the default is DATA_DIR/rolls).",
            id="voterroll.E001",
        )
        for name, root in served.items()
        if root and rolls.is_relative_to(Path(root).resolve())
    ]
