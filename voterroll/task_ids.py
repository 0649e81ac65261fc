"""Task ids of a roll run's tasks, derived from the run so cancel can revoke tasks it never
saw sent."""

from __future__ import annotations


def station_task_id(run_id: int, station_id: int) -> str:
    return f"voterroll-{run_id}-station-{station_id}"


def center_task_id(run_id: int, center_id: int) -> str:
    return f"voterroll-{run_id}-center-{center_id}"


def batch_task_id(run_id: int, first_station_id: int) -> str:
    return f"voterroll-{run_id}-batch-{first_station_id}"


def finalize_task_id(run_id: int) -> str:
    return f"voterroll-{run_id}-finalize"
