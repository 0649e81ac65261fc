"""seed_voters: deterministic fake voters in uneven centers."""

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from voterroll import drawing, rolls
from voterroll.models import Center, RollRun, Voter
from voterroll.pdfs import needs_arabic

pytestmark = pytest.mark.django_db


def _snapshot() -> list[tuple]:
    return list(
        Voter.objects.order_by("number").values_list(
            "number", "first_name", "family_name", "gender", "birth_year", "center__code"
        )
    )


def test_same_seed_gives_the_same_voters_and_centers_are_uneven():
    call_command("seed_voters", voters=3000, centers=8, seed=3)
    first = _snapshot()
    call_command("seed_voters", voters=3000, centers=8, seed=3, replace=True)

    assert _snapshot() == first
    sizes = sorted(Center.objects.annotate(n=Count("voters")).values_list("n", flat=True))
    assert sum(sizes) == 3000
    assert sizes[-1] >= 2 * sizes[0]
    assert set(Voter.objects.values_list("gender", flat=True)) == {"M", "F"}


def test_other_seed_gives_other_voters():
    call_command("seed_voters", voters=500, centers=2, seed=1)
    first = _snapshot()
    call_command("seed_voters", voters=500, centers=2, seed=2, replace=True)

    assert _snapshot() != first


def test_arabic_locale_gives_arabic_names():
    call_command("seed_voters", voters=100, centers=2, seed=1, locale="ar")

    voter = Voter.objects.first()
    assert needs_arabic(voter.first_name) and needs_arabic(voter.family_name)
    assert set(Center.objects.values_list("locale", flat=True)) == {"ar"}


def test_seeding_over_existing_voters_asks_for_replace():
    call_command("seed_voters", voters=10, centers=1)

    with pytest.raises(CommandError, match="--replace"):
        call_command("seed_voters", voters=10, centers=1)


def test_replacing_the_voters_deletes_the_replaced_runs_files(rolls_root):
    call_command("seed_voters", voters=300, centers=2, seed=1)
    run = rolls.assign(rolls.create_run(strategy="single").id)
    drawing.draw_all(run.id)
    run = rolls.finalize(run.id)
    kept = rolls_root / "kept-by-someone-else.txt"
    kept.write_text("not a run's file")
    assert (rolls_root / run.zip_file).is_file()

    call_command("seed_voters", voters=300, centers=2, seed=1, replace=True)

    assert not RollRun.objects.exists()
    assert [p.name for p in rolls_root.iterdir()] == [kept.name]
