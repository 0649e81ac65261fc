"""The announcement tweet of a new outing."""

from __future__ import annotations

from django.utils import timezone

from outings import tweets
from outings.models import Outing, Tweet


def announcement_text(outing: Outing) -> str:
    """Compose the announcement: when and where first, so shortening cuts only the extras."""
    when = timezone.localtime(outing.starts_at)
    text = f"New outing {when:%a %d %b %H:%M} {when.tzname()} at {outing.place}: {outing.title}."
    if outing.description:
        text += f" {outing.description}"
    return text


def record_announcement(*, outing_id: int) -> Tweet | None:
    """Write the outing's announcement tweet (once, ever); None if the outing is gone."""
    outing = Outing.objects.filter(pk=outing_id).first()
    if outing is None:
        return None
    tweet, _ = tweets.record(
        key=f"announce:{outing.pk}",
        kind=Tweet.Kind.ANNOUNCEMENT,
        text=announcement_text(outing),
        outing=outing,
    )
    return tweet
