"""Fill the database with fake centers and voters, deterministic for a seed."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

from django.db import connection, transaction
from faker import Faker

from voterroll import run_files
from voterroll.models import Assignment, Center, Gender, RollRun, Station, Voter

LOCALES = {"en": "en_US", "ar": "ar_AA"}
# Name pools drawn once from Faker, then sampled: calling Faker per voter would take
# minutes at a million voters, and a few hundred names per pool still give realistic
# collisions (voters sharing a family name) for the name-order tests.
POOL_FIRST_NAMES = 400
POOL_FAMILY_NAMES = 1500
# 10_000: rows per COPY or bulk insert, a few MB of memory at most.
BATCH = 10_000
# 1 in 10 centers has very few women or men, as in rural centers of real rolls.
LOPSIDED_SHARE = 0.1


class SeedError(Exception):
    """The seed command cannot run as asked."""


def _center_sizes(rng: random.Random, voters: int, centers: int) -> list[int]:
    # Pareto weights: a few big city centers and many small village ones.
    weights = [rng.paretovariate(1.2) for _ in range(centers)]
    total = sum(weights)
    sizes = [max(1, int(voters * w / total)) for w in weights]
    # Hand the rounding difference to the biggest center so the total is exact.
    sizes[sizes.index(max(sizes))] += voters - sum(sizes)
    return sizes


def _pool(make, size: int) -> list[str]:
    return sorted({make() for _ in range(size)})


def _voter_rows(
    rng: random.Random, fake: Faker, sizes: list[int], center_ids: list[int]
) -> Iterator[tuple]:
    male = _pool(fake.first_name_male, POOL_FIRST_NAMES)
    female = _pool(fake.first_name_female, POOL_FIRST_NAMES)
    family = _pool(fake.last_name, POOL_FAMILY_NAMES)
    number = 100_000_000
    for center_id, size in zip(center_ids, sizes, strict=True):
        female_share = rng.choice((0.01, 0.99)) if rng.random() < LOPSIDED_SHARE else 0.5
        for _ in range(size):
            number += 1
            is_female = rng.random() < female_share
            yield (
                str(number),
                rng.choice(female if is_female else male),
                rng.choice(male),
                rng.choice(male),
                rng.choice(family),
                Gender.FEMALE if is_female else Gender.MALE,
                rng.randint(1930, 2008),
                center_id,
            )


COLUMNS = (
    "number",
    "first_name",
    "father_name",
    "grandfather_name",
    "family_name",
    "gender",
    "birth_year",
    "center_id",
)


def _insert(rows: list[tuple]) -> None:
    if connection.vendor == "postgresql":
        # COPY is several times faster than INSERT at a million rows.
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(str(value) for value in row))
            buffer.write("\n")
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.copy_expert(
                f"COPY {Voter._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN",
                buffer,
            )
    else:
        Voter.objects.bulk_create(
            [Voter(**dict(zip(COLUMNS, row, strict=True))) for row in rows], batch_size=BATCH
        )


def _delete_everything() -> None:
    if connection.vendor == "postgresql":
        # One TRUNCATE instead of deleting a million assignments and voters row by row.
        tables = [model._meta.db_table for model in (Assignment, Station, RollRun, Voter, Center)]
        tables.append(RollRun.centers.through._meta.db_table)
        with connection.cursor() as cursor:
            # Run the deferred foreign-key checks of earlier inserts in this transaction
            # now: PostgreSQL refuses to truncate a table with checks still pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
    else:
        RollRun.objects.all().delete()
        Voter.objects.all().delete()
        Center.objects.all().delete()


def seed_voters(*, voters: int, centers: int, seed: int, locale: str, replace: bool) -> int:
    """Create ``centers`` centers of uneven size holding ``voters`` voters; return the count."""
    if locale not in LOCALES:
        raise SeedError(f"Unknown locale {locale!r}: use one of {', '.join(LOCALES)}.")
    if voters < 1 or centers < 1:
        raise SeedError("--voters and --centers must be at least 1.")
    if centers > voters:
        raise SeedError(f"{centers} centers need at least {centers} voters.")
    # Fake data, reproducible per seed: not a security use of randomness.
    rng = random.Random(seed)  # noqa: S311
    fake = Faker(LOCALES[locale])
    fake.seed_instance(seed)
    replaced_runs: list[int] = []
    with transaction.atomic():
        if Voter.objects.exists() or Center.objects.exists():
            if not replace:
                raise SeedError(
                    "Voters already exist. Pass --replace to delete every voter, center "
                    "and roll run first."
                )
            replaced_runs = list(RollRun.objects.values_list("id", flat=True))
            _delete_everything()
        made = Center.objects.bulk_create(
            [
                Center(
                    code=f"C{n:04d}",
                    name=(
                        f"مدرسة {fake.last_name()}" if locale == "ar" else f"{fake.city()} School"
                    ),
                    # An Arabic center's office is named in Arabic too: its books print
                    # no Latin word.
                    office=f"مكتب {n // 10 + 1:02d}"
                    if locale == "ar"
                    else f"Office {n // 10 + 1:02d}",
                    locale=locale,
                )
                for n in range(1, centers + 1)
            ]
        )
        sizes = _center_sizes(rng, voters, centers)
        batch: list[tuple] = []
        for row in _voter_rows(rng, fake, sizes, [center.id for center in made]):
            batch.append(row)
            if len(batch) == BATCH:
                _insert(batch)
                batch = []
        if batch:
            _insert(batch)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Fresh statistics, so the assignment's window query gets a good plan.
            cursor.execute(f"ANALYZE {Voter._meta.db_table}")
    # Once the rows are gone for good: a failed seeding keeps the old runs and their files.
    for run_id in replaced_runs:
        run_files.delete_files(run_id)
    return voters
