"""Screenshots the browser tests take of the pages they check, for people to look at.

They land in bench/results/screenshots/ (not tracked) on every run; docs/screenshots/
keeps a reviewed set.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from PIL import Image

SCREENSHOTS = Path(__file__).resolve().parent.parent / "bench" / "results" / "screenshots"
# 64 colours: the pages are flat text and lines, and stay readable at a tenth of the bytes.
COLOURS = 64


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save the page as bench/results/screenshots/<name>.png, quantized to a small palette."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image = Image.open(BytesIO(page.screenshot(full_page=full_page)))
    path = SCREENSHOTS / f"{name}.png"
    image.convert("RGB").quantize(COLOURS).save(path, optimize=True)
    return path
