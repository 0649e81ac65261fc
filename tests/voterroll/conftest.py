"""Voter-roll fixtures: a private media folder and a small seeded roll."""

import pytest

from voterroll.seeding import seed_voters


@pytest.fixture(autouse=True)
def roll_media(settings, tmp_path):
    """Write roll files under this test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def seeded(db) -> int:
    """1,200 voters in 3 uneven centers, seed 7."""
    return seed_voters(voters=1200, centers=3, seed=7, locale="en", replace=False)
