"""Station assignment follows the rules of real rolls, in bulk."""

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.factories import make_center
from voterroll.models import Assignment, Center, RollRun, Station, Voter
from voterroll.stations import NAME_ORDER, assign_stations, plan_center, split_evenly

counts = st.integers(min_value=0, max_value=3000)


@given(count=st.integers(min_value=1, max_value=20_000), station_max=st.integers(1, 600))
def test_split_is_even_and_never_over_the_maximum(count, station_max):
    sizes = split_evenly(count, station_max=station_max)

    assert sum(sizes) == count
    assert max(sizes) <= station_max
    assert max(sizes) - min(sizes) <= 1
    # The fewest stations that can hold them: one fewer would overflow.
    assert (len(sizes) - 1) * station_max < count


def test_551_voters_split_276_and_275():
    assert split_evenly(551, station_max=550) == [276, 275]


@given(male=counts, female=counts)
def test_plan_follows_the_unisex_rule(male, female):
    plan = plan_center({"M": male, "F": female}, station_max=550, unisex_threshold=25)

    genders = {gender for gender, _ in plan}
    small_gender = 0 < male < 25 or 0 < female < 25
    assert ("U" in genders) == small_gender
    if small_gender:
        assert genders == {"U"}
    assert sum(size for _, size in plan) == male + female
    assert all(size <= 550 for _, size in plan)


def _population(draw_names, center):
    return [
        Voter(
            number=f"{center.id:03d}{index:06d}",
            first_name=first,
            father_name="F",
            grandfather_name="G",
            family_name=family,
            gender=gender,
            birth_year=1970,
            center=center,
        )
        for index, (first, family, gender) in enumerate(draw_names)
    ]


voter_lists = st.lists(
    st.tuples(
        st.sampled_from(["Amal", "Badr", "Dana", "Zaid"]),
        st.sampled_from(["Ali", "Haddad", "Nasser"]),
        st.sampled_from("MF"),
    ),
    max_size=60,
)


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(centers=st.lists(voter_lists, min_size=1, max_size=3))
def test_every_voter_lands_in_exactly_one_station_in_name_order(centers):
    RollRun.objects.all().delete()
    Voter.objects.all().delete()
    Center.objects.all().delete()
    made = [make_center(f"C{n}") for n in range(len(centers))]
    for center, names in zip(made, centers, strict=True):
        Voter.objects.bulk_create(_population(names, center))
    run = RollRun.objects.create()

    assign_stations(run, station_max=7, unisex_threshold=3)

    assert Assignment.objects.filter(run=run).count() == Voter.objects.count()
    placed = Counter(Assignment.objects.filter(run=run).values_list("voter_id", flat=True))
    assert set(placed) == set(Voter.objects.values_list("id", flat=True))
    assert set(placed.values()) <= {1}
    for station in Station.objects.filter(run=run):
        rows = list(
            Assignment.objects.filter(station=station)
            .order_by("position")
            .values_list("voter_id", "voter__gender", "voter__center_id")
        )
        assert len(rows) == station.voter_count <= 7
        assert [r[2] for r in rows] == [station.center_id] * len(rows)
        if station.gender != "U":
            assert {r[1] for r in rows} == {station.gender}
        # The station's voters, in the database's name order, are its book's rows.
        expected = Voter.objects.filter(id__in=[r[0] for r in rows]).order_by(*NAME_ORDER)
        assert [r[0] for r in rows] == list(expected.values_list("id", flat=True))
    for station in Station.objects.filter(run=run):
        sizes = list(
            Station.objects.filter(
                run=run, center=station.center, gender=station.gender
            ).values_list("voter_count", flat=True)
        )
        assert max(sizes) - min(sizes) <= 1


def test_assignment_takes_a_handful_of_queries_whatever_the_size(seeded):
    run = RollRun.objects.create()

    with CaptureQueriesContext(connection) as queries:
        assign_stations(run)

    assert Assignment.objects.filter(run=run).count() == 1200
    assert len(queries) <= 8


def test_a_run_analyzes_the_tables_only_when_their_statistics_are_stale(seeded):
    assign_stations(RollRun.objects.create())

    with CaptureQueriesContext(connection) as queries:
        assign_stations(RollRun.objects.create())

    # The first run left statistics for 1,200 rows; another 1,200 keep their proportions.
    assert not [q["sql"] for q in queries if q["sql"].startswith("ANALYZE")]
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'voterroll_assignment'")
        assert cursor.fetchone()[0] >= 1200


def test_small_gender_makes_the_center_unisex(db):
    center = make_center()
    voters = [("Zaid", f"Family{n:03d}", "M") for n in range(600)]
    voters += [("Dana", f"Family{n:03d}", "F") for n in range(10)]
    Voter.objects.bulk_create(_population(voters, center))
    run = RollRun.objects.create()

    assign_stations(run)

    assert list(Station.objects.filter(run=run).values_list("gender", "voter_count")) == [
        ("U", 305),
        ("U", 305),
    ]
