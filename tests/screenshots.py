"""Screenshots the browser tests take of the pages they check, for people to look at.

They land in bench/results/screenshots/ (not tracked); docs/screenshots/ keeps a reviewed set.
"""

from __future__ import annotations

from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parent.parent / "bench" / "results" / "screenshots"


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save the page as bench/results/screenshots/<name>.png and return the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
