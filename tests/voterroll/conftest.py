"""Voter-roll fixtures: this test's own roll and media folders, and a small seeded roll."""

import pytest

from voterroll.seeding import seed_voters


@pytest.fixture(autouse=True)
def rolls_root(settings, tmp_path):
    """Write roll files under this test's own folder (and media beside it); return it."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ROLLS_ROOT = tmp_path / "rolls"
    return settings.ROLLS_ROOT


@pytest.fixture
def seeded(db) -> int:
    """1,200 voters in 3 uneven centers, seed 7."""
    return seed_voters(voters=1200, centers=3, seed=7, locale="en", replace=False)
