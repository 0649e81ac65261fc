"""What the benchmarks share: their flags, a development-shaped Django, medians with ranges."""

from __future__ import annotations

import argparse
import os
import statistics


def rounds_arguments(doc: str, *, per_round: str, help: str) -> argparse.Namespace:
    """Parse ``--<per_round> N --rounds R``: N of each kind per round, in R rounds."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(f"--{per_round}", type=int, default=500, help=help)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args()


def setup_django() -> None:
    """Set Django up as the tests do: project settings, quiet logs, the development shape."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # DEBUG is off by default; the benchmarks run the development shape, with its key.
    os.environ.setdefault("DEBUG", "1")
    django.setup()


def spread(values: list[float], digits: int = 2) -> str:
    """The median, and the range when there are several values."""
    values = sorted(values)
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.{digits}f}"
    return f"{median:.{digits}f} ({values[0]:.{digits}f}-{values[-1]:.{digits}f})"
