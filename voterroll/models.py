"""Polling centers, voters, and the roll runs that split them into printed station books."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Gender(models.TextChoices):
    MALE = "M", "male"
    FEMALE = "F", "female"


class StationGender(models.TextChoices):
    MALE = "M", "male"
    FEMALE = "F", "female"
    UNISEX = "U", "unisex"


class Center(models.Model):
    """A polling center: one building, split into stations on each roll run."""

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    office = models.CharField(max_length=200)
    # Set by seed_voters: an "ar" center's names are Arabic and need the Arabic font.
    locale = models.CharField(max_length=8, default="en")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Voter(models.Model):
    """One registered voter, voting at one center."""

    number = models.CharField(max_length=16, unique=True)
    first_name = models.CharField(max_length=100)
    father_name = models.CharField(max_length=100)
    grandfather_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    gender = models.CharField(max_length=1, choices=Gender.choices)
    birth_year = models.PositiveSmallIntegerField()
    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="voters")

    class Meta:
        ordering = ["family_name", "first_name", "father_name", "grandfather_name", "number"]
        indexes = [models.Index(fields=["center", "gender"], name="voter_center_gender")]

    def __str__(self) -> str:
        return f"{self.number} {self.full_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.father_name} {self.grandfather_name} {self.family_name}"


class RollRunQuerySet(models.QuerySet):
    def active(self) -> RollRunQuerySet:
        return self.filter(state__in=RollRun.ACTIVE_STATES)


class RollRun(models.Model):
    """One generation of the station books of every (or some) centers."""

    class Strategy(models.TextChoices):
        BATCHED = "batched", "batches of stations (group | chord)"
        PER_STATION = "per_station", "per station (group | chord)"
        PER_CENTER = "per_center", "per center (group | chord)"
        STARMAP = "starmap", "starmap (sequential in one task)"
        SINGLE = "single", "single task"

    class State(models.TextChoices):
        QUEUED = "queued"
        ASSIGNING = "assigning"
        RENDERING = "rendering"
        FINALIZING = "finalizing"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE_STATES = (State.QUEUED, State.ASSIGNING, State.RENDERING, State.FINALIZING)

    strategy = models.CharField(max_length=16, choices=Strategy.choices, default=Strategy.BATCHED)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    # Empty means every center.
    centers = models.ManyToManyField(Center, blank=True, related_name="+")
    centers_count = models.PositiveIntegerField(default=0)
    stations_count = models.PositiveIntegerField(default=0)
    voters_count = models.PositiveIntegerField(default=0)
    pages_count = models.PositiveIntegerField(default=0)
    stations_done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    assign_started_at = models.DateTimeField(null=True, blank=True)
    render_started_at = models.DateTimeField(null=True, blank=True)
    finalize_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Names in the rolls storage (filestore ROLLS): <run id>, <run id>/metadata.json,
    # <run id>/roll-<run id>.zip
    metadata_file = models.CharField(max_length=200, blank=True)
    zip_file = models.CharField(max_length=200, blank=True)
    zip_sha256 = models.CharField(max_length=64, blank=True)
    # Set once the fan-out is published, so a redelivered start task never sends it twice.
    launched_at = models.DateTimeField(null=True, blank=True)

    objects = RollRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state"], name="rollrun_state")]
        # Seeing runs is view_rollrun; these two gate what a run does with personal data.
        permissions = [
            ("generate_roll", "Can start and cancel roll generations"),
            ("download_roll", "Can download roll files (personal data)"),
        ]

    def __str__(self) -> str:
        return f"roll run {self.pk} ({self.strategy}, {self.state})"

    @property
    def progress_percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        if not self.stations_count:
            return 0
        # The last percent belongs to finalizing (metadata and zip).
        return min(99, 100 * self.stations_done // self.stations_count)

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    def phase_seconds(self) -> dict[str, float | None]:
        """Return the seconds spent in each phase (None while it has not ended)."""
        marks = [
            ("queued", self.created_at, self.assign_started_at),
            ("assigning", self.assign_started_at, self.render_started_at),
            ("rendering", self.render_started_at, self.finalize_started_at),
            ("finalizing", self.finalize_started_at, self.finished_at),
        ]
        return {
            name: (end - start).total_seconds() if start and end else None
            for name, start, end in marks
        }


class Station(models.Model):
    """One polling desk of a center in one run, and one printed book."""

    run = models.ForeignKey(RollRun, on_delete=models.CASCADE, related_name="stations")
    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="stations")
    number = models.PositiveSmallIntegerField()
    gender = models.CharField(max_length=1, choices=StationGender.choices)
    voter_count = models.PositiveIntegerField()
    # Rank range of this station's voters within its center and gender, in name order.
    first_rank = models.PositiveIntegerField()
    last_rank = models.PositiveIntegerField()
    # "Family first" names of the station's first and last voters, for door signs and lists.
    first_voter_name = models.CharField(max_length=420, blank=True)
    last_voter_name = models.CharField(max_length=420, blank=True)
    book_file = models.CharField(max_length=200, blank=True)
    door_file = models.CharField(max_length=200, blank=True)
    pages = models.PositiveIntegerField(default=0)
    bytes = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["center__code", "number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "center", "number"], name="station_number"),
        ]

    def __str__(self) -> str:
        return f"{self.center.code} station {self.number}"

    # Paths inside the run's folder, as the download view takes them.
    @property
    def book_name(self) -> str:
        return self.book_file.removeprefix(f"{self.run_id}/")

    @property
    def door_name(self) -> str:
        return self.door_file.removeprefix(f"{self.run_id}/")


class AssignmentQuerySet(models.QuerySet):
    def book_rows_of(self, station_ids: list[int]) -> dict[int, list[tuple]]:
        """Return each station's voters in book order, in one query: (position, number,
        first, father, grandfather, family, birth year) rows by station id."""
        rows: dict[int, list[tuple]] = {}
        query = (
            self.filter(station_id__in=station_ids)
            .order_by("station_id", "position")
            .values_list(
                "station_id",
                "position",
                "voter__number",
                "voter__first_name",
                "voter__father_name",
                "voter__grandfather_name",
                "voter__family_name",
                "voter__birth_year",
            )
        )
        for station_id, *row in query:
            rows.setdefault(station_id, []).append(tuple(row))
        return rows


class Assignment(models.Model):
    """One voter's place in one station's book; a voter is in one station per run."""

    # Indexes only on columns that grow with the insert (run, station and position),
    # so each of the million rows of an assignment lands at the right edge of its index.
    # An index on voter, or a unique one on (run, voter), is written in name order,
    # that is at random: at a million voters on top of a few earlier runs, the two
    # doubled the assignment's time (6 s of PostgreSQL CPU against 10-12 s). A voter is
    # in one station per run by construction: the INSERT … SELECT reads each voter row
    # once. Without a voter index, deleting a voter (PROTECT) scans the assignments.
    # No foreign-key constraints either: rows are only written by the assignment's one
    # INSERT … SELECT, which takes every id from a join on the station and voter tables
    # in the same transaction, so each id exists. A constraint would re-check that per
    # row and key at commit (three index probes and row locks per voter: 250 of the
    # 350 ms of assigning 10,000 voters). Django still applies on_delete itself.
    run = models.ForeignKey(
        RollRun, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    station = models.ForeignKey(
        Station,
        on_delete=models.CASCADE,
        related_name="assignments",
        db_index=False,
        db_constraint=False,
    )
    voter = models.ForeignKey(
        Voter, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    # 1-based row in the station's book.
    position = models.PositiveIntegerField()

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["station", "position"], name="one_voter_per_row"),
        ]
        # Deleting a run deletes its assignments by run.
        indexes = [models.Index(fields=["run"], name="assignment_run")]

    def __str__(self) -> str:
        return f"voter {self.voter_id} at row {self.position} of station {self.station_id}"
