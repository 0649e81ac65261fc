"""Where benchmark scripts write their machine-readable results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parent / "results"


def write(name: str, data: Any) -> Path:
    """Write ``data`` to bench/results/<name>.json (whole or not at all) and say where."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    out = FOLDER / f"{name}.json"
    partial = out.with_suffix(".json.tmp")
    partial.write_text(json.dumps(data, indent=2))
    partial.replace(out)
    print(f"wrote {out.relative_to(FOLDER.parent.parent)}")
    return out
