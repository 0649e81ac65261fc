"""Tasks of the tasking layer itself."""

from tasking.base import task


@task(name="tasking.beat_heartbeat", ignore_result=True)
def beat_heartbeat(**kwargs) -> None:
    """Do nothing: beat publishing this task every 30 s is the heartbeat /healthz reads."""
