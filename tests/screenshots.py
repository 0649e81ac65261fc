"""Save what a browser test sees as a small PNG under bench/results/screenshots/."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from PIL import Image

FOLDER = Path(__file__).resolve().parent.parent / "bench" / "results" / "screenshots"
# 64 colours: the pages are flat text and lines, and stay readable at a tenth of the bytes.
COLOURS = 64


def save(page, name: str, *, full_page: bool = False) -> Path:
    """Write the page as ``<name>.png``, quantized to a small palette; return the path."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    image = Image.open(BytesIO(page.screenshot(full_page=full_page)))
    path = FOLDER / f"{name}.png"
    image.convert("RGB").quantize(COLOURS).save(path, optimize=True)
    return path
