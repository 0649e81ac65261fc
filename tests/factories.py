"""Factories for test rows, mirroring the apps."""

from __future__ import annotations

import itertools

from voterroll.models import Center, Voter

_numbers = itertools.count(500_000_001)


def make_center(code: str = "C0001", *, name: str = "Central School", locale: str = "en") -> Center:
    return Center.objects.create(code=code, name=name, office="Office 01", locale=locale)


def make_voters(
    center: Center,
    names: list[tuple[str, str]],
    *,
    father: str = "Omar",
    grandfather: str = "Ali",
    birth_year: int = 1980,
) -> list[Voter]:
    """Create one voter per (first name, family name) pair; genders alternate M, F."""
    return Voter.objects.bulk_create(
        Voter(
            number=str(next(_numbers)),
            first_name=first,
            father_name=father,
            grandfather_name=grandfather,
            family_name=family,
            gender="MF"[index % 2],
            birth_year=birth_year,
            center=center,
        )
        for index, (first, family) in enumerate(names)
    )
