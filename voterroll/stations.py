"""Split each center's voters into stations by the rules of real rolls, in bulk."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Count

from voterroll.models import Assignment, Gender, RollRun, Station, StationGender, Voter

# Name order of a station book; the same order in SQL and in the ORM.
NAME_ORDER = ("family_name", "first_name", "father_name", "grandfather_name", "number")


def split_evenly(count: int, *, station_max: int) -> list[int]:
    """Return the sizes of the fewest stations holding ``count`` voters, as even as possible."""
    if count <= 0:
        return []
    stations = -(-count // station_max)
    size, extra = divmod(count, stations)
    return [size + 1] * extra + [size] * (stations - extra)


def plan_center(
    counts: dict[str, int], *, station_max: int, unisex_threshold: int
) -> list[tuple[str, int]]:
    """Return (station gender, voter count) for each station of one center, in number order.

    A gender with a few voters (0 < n < threshold) cannot staff a desk of its own: the
    whole center then votes at unisex stations, so no station is left nearly empty.
    """
    male, female = counts.get(Gender.MALE, 0), counts.get(Gender.FEMALE, 0)
    if 0 < male < unisex_threshold or 0 < female < unisex_threshold:
        return [
            (StationGender.UNISEX, size)
            for size in split_evenly(male + female, station_max=station_max)
        ]
    return [
        (gender, size)
        for gender, count in ((StationGender.MALE, male), (StationGender.FEMALE, female))
        for size in split_evenly(count, station_max=station_max)
    ]


def _scope_sql(center_ids: list[int]) -> tuple[str, list[int]]:
    if not center_ids:
        return "", []
    return f"WHERE v.center_id IN ({', '.join(['%s'] * len(center_ids))})", list(center_ids)


def _rows_analyzed(cursor, table: str) -> float:
    """The rows a table held when its statistics were last gathered (0: never)."""
    if connection.vendor != "postgresql":
        # SQLite plans these queries by their indexes without statistics.
        return float("inf")
    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
    return max(0.0, cursor.fetchone()[0])


def assign_stations(
    run: RollRun,
    *,
    station_max: int | None = None,
    unisex_threshold: int | None = None,
) -> list[Station]:
    """Create the run's stations and place every voter in scope in exactly one of them.

    Seven queries whatever the size: counts per center and gender, one bulk insert of
    stations, one ``INSERT … SELECT`` ranking voters with window functions, one
    ``UPDATE`` of each station's first and last voters' names, ``ANALYZE`` of the two
    tables written when their statistics are stale, and the run's totals. The caller
    holds the transaction.
    """
    station_max = station_max or settings.ROLL_STATION_MAX
    unisex_threshold = unisex_threshold or settings.ROLL_UNISEX_THRESHOLD
    center_ids = list(run.centers.values_list("id", flat=True))
    counts = _count_voters(center_ids)
    stations, unisex_centers = _plan_stations(
        run, counts, station_max=station_max, unisex_threshold=unisex_threshold
    )
    Station.objects.bulk_create(stations, batch_size=2000)
    run.centers_count = len(counts)
    run.stations_count = len(stations)
    run.voters_count = sum(station.voter_count for station in stations)
    with connection.cursor() as cursor:
        _insert_assignments(
            cursor, run, center_ids, unisex_centers=unisex_centers, station_max=station_max
        )
        _name_first_and_last_voters(cursor, run)
        _refresh_statistics(cursor, run)
    RollRun.objects.filter(id=run.id).update(
        centers_count=run.centers_count,
        stations_count=run.stations_count,
        voters_count=run.voters_count,
    )
    return stations


_TABLES = {
    "assignment": Assignment._meta.db_table,
    "station": Station._meta.db_table,
    "voter": Voter._meta.db_table,
}


def _count_voters(center_ids: list[int]) -> dict[int, dict[str, int]]:
    """Count the voters in scope per center and gender (every center when none is given)."""
    voters = Voter.objects.all()
    if center_ids:
        voters = voters.filter(center_id__in=center_ids)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in voters.values("center_id", "gender").annotate(n=Count("id")).order_by():
        counts[row["center_id"]][row["gender"]] = row["n"]
    return counts


def _plan_stations(
    run: RollRun, counts: dict[int, dict[str, int]], *, station_max: int, unisex_threshold: int
) -> tuple[list[Station], list[int]]:
    """Return the unsaved stations of every center, and the centers whose stations are unisex.

    Each station covers a range of ranks within its center's gender group (the voters
    in name order), ``first_rank`` to ``last_rank``.
    """
    stations: list[Station] = []
    unisex_centers: list[int] = []
    for center_id in sorted(counts):
        plan = plan_center(
            counts[center_id], station_max=station_max, unisex_threshold=unisex_threshold
        )
        rank: defaultdict[str, int] = defaultdict(int)
        for number, (gender, size) in enumerate(plan, start=1):
            if gender == StationGender.UNISEX and number == 1:
                unisex_centers.append(center_id)
            stations.append(
                Station(
                    run=run,
                    center_id=center_id,
                    number=number,
                    gender=gender,
                    voter_count=size,
                    first_rank=rank[gender] + 1,
                    last_rank=rank[gender] + size,
                )
            )
            rank[gender] += size
    return stations, unisex_centers


def _insert_assignments(
    cursor: CursorWrapper,
    run: RollRun,
    center_ids: list[int],
    *,
    unisex_centers: list[int],
    station_max: int,
) -> None:
    """Place every voter in scope in its station with one ``INSERT … SELECT``."""
    scope, scope_params = _scope_sql(center_ids)
    if unisex_centers:
        placeholders = ", ".join(["%s"] * len(unisex_centers))
        group = f"CASE WHEN v.center_id IN ({placeholders}) THEN 'U' ELSE v.gender END"
    else:
        group = "v.gender"
    order = ", ".join(f"v.{column}" for column in NAME_ORDER)
    assignment, station, voter = _TABLES["assignment"], _TABLES["station"], _TABLES["voter"]
    # Each voter's station is found by arithmetic, not a range join: with n voters
    # in a group split into k stations, the first n % k stations hold n // k + 1.
    # That gives the first rank of the voter's station, an equality the planner
    # can hash-join on (a BETWEEN join rescans the stations for every voter);
    # MATERIALIZED keeps the planner from merge-joining into the window's sort.
    params = [*unisex_centers, station_max, station_max, *scope_params, *unisex_centers]
    cursor.execute(
        f"""
        WITH r AS MATERIALIZED (
            SELECT g.id, g.center_id, g.grp, g.rank,
                   CASE WHEN g.rank <= g.extra * (g.size + 1)
                        THEN (g.rank - 1) / (g.size + 1) * (g.size + 1) + 1
                        ELSE g.extra * (g.size + 1)
                             + (g.rank - 1 - g.extra * (g.size + 1)) / g.size * g.size + 1
                   END AS first_rank
            FROM (
                SELECT w.*, w.n / w.k AS size, w.n %% w.k AS extra
                FROM (
                    SELECT v.id, v.center_id, {group} AS grp,
                           ROW_NUMBER() OVER (grp_window ORDER BY {order}) AS rank,
                           COUNT(*) OVER grp_window AS n,
                           (COUNT(*) OVER grp_window + %s - 1) / %s AS k
                    FROM {voter} v {scope}
                    WINDOW grp_window AS (PARTITION BY v.center_id, {group})
                ) w
            ) g
        )
        INSERT INTO {assignment} (run_id, station_id, voter_id, position)
        SELECT %s, s.id, r.id, r.rank - s.first_rank + 1
        FROM r
        JOIN {station} s
          ON s.run_id = %s AND s.center_id = r.center_id AND s.gender = r.grp
         AND s.first_rank = r.first_rank
        """,  # noqa: S608 - only table names and placeholders are interpolated
        [*params, run.id, run.id],
    )


def _name_first_and_last_voters(cursor: CursorWrapper, run: RollRun) -> None:
    """Write each station's first and last voters' names, for its door sign and lists."""
    assignment, station, voter = _TABLES["assignment"], _TABLES["station"], _TABLES["voter"]
    cursor.execute(
        f"""
        UPDATE {station} SET
            first_voter_name = (
                SELECT v.family_name || ' ' || v.first_name FROM {assignment} a
                JOIN {voter} v ON v.id = a.voter_id
                WHERE a.station_id = {station}.id AND a.position = 1),
            last_voter_name = (
                SELECT v.family_name || ' ' || v.first_name FROM {assignment} a
                JOIN {voter} v ON v.id = a.voter_id
                WHERE a.station_id = {station}.id AND a.position = {station}.voter_count)
        WHERE run_id = %s
        """,  # noqa: S608 - only table names are interpolated
        [run.id],
    )


def _refresh_statistics(cursor: CursorWrapper, run: RollRun) -> None:
    """ANALYZE the tables just written when they hold more rows than the last ANALYZE saw."""
    assignment, station = _TABLES["assignment"], _TABLES["station"]
    # Fresh statistics when the rows just written outnumber those the last ANALYZE
    # saw (the first runs; the station table grows with the assignments): without
    # them the planner guesses thousands of rows per station and plans each station
    # task's query as a parallel scan, 28 ms instead of 1 ms at a million voters.
    # Later runs leave the statistics true in proportion (rows per station), and
    # ANALYZE would cost them 70 ms at 10,000 voters and 0.2 s at a million.
    if _rows_analyzed(cursor, assignment) < run.voters_count:
        cursor.execute(f"ANALYZE {assignment}, {station}")
